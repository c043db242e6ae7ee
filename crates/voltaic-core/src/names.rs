//! `Display` and `FromStr` for the model's enums: each prints the word used in text and JSON output and
//! reads it back (`"not_charging".parse::<State>()`), so that names round-trip through configuration
//! files, command lines and logs.

use std::fmt;
use std::str::FromStr;

use crate::battery::{ChargeBehaviour, Date, Kind, Level, State, Technology};
use crate::derived::Field;
use crate::source::SourceKind;

/// A name that is not one of the type's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseNameError {
    what: &'static str,
    text: String,
}

impl ParseNameError {
    fn new(what: &'static str, text: &str) -> Self {
        // Bounded: the text may come from anywhere.
        let text = text.chars().take(64).collect();
        ParseNameError { what, text }
    }
}

impl fmt::Display for ParseNameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `{:?}` quotes and escapes control characters.
        write!(f, "{:?} is not a {}", self.text, self.what)
    }
}

impl std::error::Error for ParseNameError {}

/// `Display` as `as_str()`, `FromStr` from the same words (`extra` lists other accepted spellings).
macro_rules! names {
    ($ty:ty, $what:literal, [$($variant:expr),+ $(,)?], display: $display:tt) => {
        names!($ty, $what, all: [$($variant),+], display: $display);
    };
    ($ty:ty, $what:literal, all: $all:expr, display: $display:tt) => {
        impl FromStr for $ty {
            type Err = ParseNameError;
            fn from_str(s: &str) -> Result<Self, ParseNameError> {
                $all
                    .into_iter()
                    .find(|v| v.as_str() == s || v.to_string() == s)
                    .ok_or_else(|| ParseNameError::new($what, s))
            }
        }
        names!(@display $display, $ty);
    };
    (@display true, $ty:ty) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
    (@display false, $ty:ty) => {};
}

names!(Kind, "battery kind", [Kind::System, Kind::Peripheral], display: true);
// State's `Display` (in battery.rs) writes `not charging`; both it and `not_charging` read back.
names!(
    State,
    "battery state",
    [
        State::Charging,
        State::Discharging,
        State::Full,
        State::NotCharging,
        State::Empty,
        State::Unknown,
    ],
    display: false
);
names!(
    Level,
    "charge level",
    [Level::Critical, Level::Low, Level::Normal, Level::High, Level::Full],
    display: true
);
names!(
    Technology,
    "battery chemistry",
    [
        Technology::LithiumIon,
        Technology::LithiumPolymer,
        Technology::LithiumIronPhosphate,
        Technology::LithiumManganese,
        Technology::NickelMetalHydride,
        Technology::NickelCadmium,
        Technology::NickelZinc,
        Technology::LeadAcid,
        Technology::RechargeableAlkaline,
        Technology::Unknown,
    ],
    display: true
);
names!(
    ChargeBehaviour,
    "charge behaviour",
    [
        ChargeBehaviour::Auto,
        ChargeBehaviour::InhibitCharge,
        ChargeBehaviour::ForceDischarge,
    ],
    display: true
);
names!(
    SourceKind,
    "power source kind",
    [
        SourceKind::Mains,
        SourceKind::Usb,
        SourceKind::Wireless,
        SourceKind::Ups,
    ],
    display: true
);

impl Field {
    fn as_str(self) -> &'static str {
        self.key()
    }
}

names!(Field, "derived value key", all: Field::ALL, display: true);

impl FromStr for Date {
    type Err = ParseNameError;

    /// Reads `YYYY-MM-DD` (what `Display` writes); only dates that exist.
    fn from_str(s: &str) -> Result<Date, ParseNameError> {
        let err = || ParseNameError::new("date (YYYY-MM-DD)", s);
        let mut parts = s.splitn(3, '-');
        let mut next = |len: usize| {
            parts
                .next()
                .filter(|p| p.len() == len && p.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|p| p.parse::<i64>().ok())
        };
        let (Some(y), Some(m), Some(d)) = (next(4), next(2), next(2)) else {
            return Err(err());
        };
        Date::new(y, m, d).ok_or_else(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trips<T: FromStr + fmt::Display + PartialEq + fmt::Debug + Copy>(all: &[T])
    where
        T::Err: fmt::Debug,
    {
        for v in all {
            assert_eq!(v.to_string().parse::<T>().ok(), Some(*v), "{v:?}");
        }
    }

    #[test]
    fn every_name_reads_back() {
        round_trips(&[Kind::System, Kind::Peripheral]);
        round_trips(&[
            State::Charging,
            State::Discharging,
            State::Full,
            State::NotCharging,
            State::Empty,
            State::Unknown,
        ]);
        round_trips(&[
            Level::Critical,
            Level::Low,
            Level::Normal,
            Level::High,
            Level::Full,
        ]);
        round_trips(&[Technology::LithiumIronPhosphate, Technology::Unknown]);
        round_trips(&[
            ChargeBehaviour::InhibitCharge,
            ChargeBehaviour::ForceDischarge,
        ]);
        round_trips(&[SourceKind::Mains, SourceKind::Ups]);
        round_trips(&[Field::EnergyFullDesign, Field::TimeToFull]);
        round_trips(&[Date::new(2019, 7, 29).unwrap()]);
        assert_eq!("not_charging".parse::<State>(), Ok(State::NotCharging));
        assert_eq!("not charging".parse::<State>(), Ok(State::NotCharging));
    }

    #[test]
    fn other_text_is_an_error_that_shows_it_safely() {
        let err = "Charging\u{1b}[31m".parse::<State>().unwrap_err();
        assert_eq!(
            err.to_string(),
            r#""Charging\u{1b}[31m" is not a battery state"#
        );
        assert!("2019-02-29".parse::<Date>().is_err());
        assert!("2019-7-29".parse::<Date>().is_err());
        assert!("+019-07-29".parse::<Date>().is_err());
        assert!("lithium ion".parse::<Technology>().is_err());
    }
}
