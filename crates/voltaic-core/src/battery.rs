//! The battery snapshot: what one battery said at one moment, in our vocabulary.

use std::fmt;
use std::time::Duration;

use crate::derived::Derived;

/// One battery at one moment.
///
/// Every value is an `Option`: `None` means the OS did not give it, gave a sentinel, or gave nonsense.
/// Numbers are plain SI values with the unit in the field name; none is ever NaN or infinite, and 0 never
/// stands in for "unknown". Values that voltaic computed rather than read are listed in [`Battery::derived`].
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Battery {
    /// The OS's name for the device (`BAT0`, `hidpp_battery_5`, `AppleSmartBattery`, a Windows device path, `acpibat0`).
    pub id: String,
    /// A system battery (powers this machine) or a peripheral's (mouse, game pad, headset).
    pub kind: Kind,
    /// What kind of peripheral this battery powers (`None` for a system battery).
    pub peripheral: Option<PeripheralKind>,
    /// Charging, discharging, full, held by a limit, …
    pub state: State,
    /// The OS's own words for the state, kept for diagnostics (`Not charging`, `Unknown`, `FullyCharged=Yes`).
    pub state_raw: Option<String>,
    /// Why the battery is [`State::NotCharging`] or why the state was inferred, when known.
    pub state_reason: Option<String>,
    /// State of charge, 0–100 %.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_impl::rounded"))]
    pub percentage: Option<f64>,
    /// A coarse charge level, for devices that give no number (many peripherals).
    pub level: Option<Level>,
    /// Energy now, in watt-hours.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_impl::rounded"))]
    pub energy_wh: Option<f64>,
    /// Energy when last full, in watt-hours.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_impl::rounded"))]
    pub energy_full_wh: Option<f64>,
    /// Design energy, in watt-hours.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_impl::rounded"))]
    pub energy_full_design_wh: Option<f64>,
    /// Magnitude of the charge or discharge rate, in watts (≥ 0; the direction is [`Battery::state`]).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_impl::rounded"))]
    pub power_w: Option<f64>,
    /// Terminal voltage now, in volts.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_impl::rounded"))]
    pub voltage_v: Option<f64>,
    /// Magnitude of the current, in amperes (≥ 0; the direction is [`Battery::state`]).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_impl::rounded"))]
    pub current_a: Option<f64>,
    /// Full ÷ design, in percent. Not clamped: a new pack really can hold more than its design energy.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_impl::rounded"))]
    pub health_percent: Option<f64>,
    /// Time until empty at the present rate; only while discharging.
    #[cfg_attr(
        feature = "serde",
        serde(rename = "time_to_empty_s", with = "crate::serde_impl::seconds")
    )]
    pub time_to_empty: Option<Duration>,
    /// Time until full at the present rate; only while charging.
    #[cfg_attr(
        feature = "serde",
        serde(rename = "time_to_full_s", with = "crate::serde_impl::seconds")
    )]
    pub time_to_full: Option<Duration>,
    /// Charge cycles counted by the pack (a reported 0 means "not counted" on most systems and is `None`).
    pub cycle_count: Option<u32>,
    /// Pack temperature, in degrees Celsius.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_impl::rounded"))]
    pub temperature_c: Option<f64>,
    /// Maker of the pack.
    pub vendor: Option<String>,
    /// Model or FRU name of the pack.
    pub model: Option<String>,
    /// Serial number of the pack.
    pub serial: Option<String>,
    /// Cell chemistry.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_impl::technology"))]
    pub technology: Technology,
    /// When the pack was made.
    pub manufacture_date: Option<Date>,
    /// Charging starts only below this charge, in percent (a user or firmware limit).
    pub charge_start_threshold: Option<u8>,
    /// Charging stops at this charge, in percent (a user or firmware limit).
    pub charge_end_threshold: Option<u8>,
    /// What the charger is told to do (auto, inhibit, force discharge), where the OS says.
    pub charge_behaviour: Option<ChargeBehaviour>,
    /// Whether the machine was on external power when this battery was read, if known.
    pub external_power: Option<bool>,
    /// Which of the values above were computed rather than reported.
    pub derived: Derived,
}

impl Battery {
    /// An empty snapshot for device `id`: every value unknown.
    #[must_use]
    pub fn new(id: impl Into<String>, kind: Kind) -> Self {
        Battery {
            id: id.into(),
            kind,
            peripheral: None,
            state: State::Unknown,
            state_raw: None,
            state_reason: None,
            percentage: None,
            level: None,
            energy_wh: None,
            energy_full_wh: None,
            energy_full_design_wh: None,
            power_w: None,
            voltage_v: None,
            current_a: None,
            health_percent: None,
            time_to_empty: None,
            time_to_full: None,
            cycle_count: None,
            temperature_c: None,
            vendor: None,
            model: None,
            serial: None,
            technology: Technology::Unknown,
            manufacture_date: None,
            charge_start_threshold: None,
            charge_end_threshold: None,
            charge_behaviour: None,
            external_power: None,
            derived: Derived::default(),
        }
    }

    /// A short human name: the model, else the vendor, else the serial, else the device id.
    #[must_use]
    pub fn display_name(&self) -> &str {
        [&self.model, &self.vendor, &self.serial]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .find(|s| !s.is_empty())
            .unwrap_or(&self.id)
    }
}

/// Who the battery powers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
#[non_exhaustive]
pub enum Kind {
    /// Powers this machine (a notebook's internal or removable pack).
    System,
    /// Powers a peripheral: mouse, keyboard, game pad, headset, pen.
    Peripheral,
}

impl Kind {
    /// The lower-case word used in text and JSON output.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::System => "system",
            Kind::Peripheral => "peripheral",
        }
    }
}

/// What a peripheral battery powers, as far as the OS tells: the driver (a game-pad or pen driver names
/// its supply after itself) or the device's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
#[non_exhaustive]
pub enum PeripheralKind {
    /// A mouse or trackball.
    Mouse,
    /// A keyboard.
    Keyboard,
    /// A separate touchpad (Magic Trackpad).
    Touchpad,
    /// A drawing tablet or its pen.
    TabletPen,
    /// A game pad or controller.
    GamePad,
    /// A headset, headphones or earbuds.
    Headset,
    /// Anything else, or not told.
    Other,
}

impl PeripheralKind {
    /// The lower-case word used in JSON output (`game_pad`, `tablet_pen`, …).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            PeripheralKind::Mouse => "mouse",
            PeripheralKind::Keyboard => "keyboard",
            PeripheralKind::Touchpad => "touchpad",
            PeripheralKind::TabletPen => "tablet_pen",
            PeripheralKind::GamePad => "game_pad",
            PeripheralKind::Headset => "headset",
            PeripheralKind::Other => "other",
        }
    }

    /// The kind a device's name says (`Wireless Mouse M560`, `Xbox Wireless Controller`, `Magic
    /// Trackpad`), by whole words in any case; `None` when no word tells.
    #[must_use]
    pub fn from_name(name: &str) -> Option<PeripheralKind> {
        let lower = name.to_lowercase();
        let words: Vec<&str> = lower
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        let has = |list: &[&str]| words.iter().any(|w| list.contains(w));
        if has(&["mouse", "trackball"]) {
            Some(PeripheralKind::Mouse)
        } else if has(&["keyboard", "keypad"]) {
            Some(PeripheralKind::Keyboard)
        } else if has(&["touchpad", "trackpad"]) {
            Some(PeripheralKind::Touchpad)
        } else if has(&[
            "controller",
            "gamepad",
            "joystick",
            "joycon",
            "dualsense",
            "dualshock",
        ]) {
            Some(PeripheralKind::GamePad)
        } else if has(&["headset", "headphones", "headphone", "earbuds", "airpods"]) {
            Some(PeripheralKind::Headset)
        } else if has(&["pen", "stylus", "tablet", "pencil"]) {
            Some(PeripheralKind::TabletPen)
        } else {
            None
        }
    }
}

/// What the battery is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
#[non_exhaustive]
pub enum State {
    /// Taking charge.
    Charging,
    /// Giving charge.
    Discharging,
    /// Full and on external power.
    Full,
    /// On external power, neither charging nor full: a charge limit, optimized charging, an inhibit, a weak adapter.
    NotCharging,
    /// Empty.
    Empty,
    /// The OS does not say and nothing lets us tell.
    Unknown,
}

impl State {
    /// The snake-case word used in text and JSON output (`not_charging`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            State::Charging => "charging",
            State::Discharging => "discharging",
            State::Full => "full",
            State::NotCharging => "not_charging",
            State::Empty => "empty",
            State::Unknown => "unknown",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::NotCharging => "not charging",
            other => other.as_str(),
        })
    }
}

/// A coarse charge level (Linux `capacity_level`), for devices that report no percentage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
#[non_exhaustive]
pub enum Level {
    /// Critically low.
    Critical,
    /// Low.
    Low,
    /// Neither low nor high.
    Normal,
    /// High.
    High,
    /// Full.
    Full,
}

impl Level {
    /// The lower-case word used in text and JSON output.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Critical => "critical",
            Level::Low => "low",
            Level::Normal => "normal",
            Level::High => "high",
            Level::Full => "full",
        }
    }
}

/// Cell chemistry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
#[non_exhaustive]
pub enum Technology {
    /// Lithium-ion.
    LithiumIon,
    /// Lithium-polymer.
    LithiumPolymer,
    /// Lithium iron phosphate (LiFePO4).
    LithiumIronPhosphate,
    /// Lithium manganese oxide.
    LithiumManganese,
    /// Nickel-metal hydride.
    NickelMetalHydride,
    /// Nickel-cadmium.
    NickelCadmium,
    /// Nickel-zinc.
    NickelZinc,
    /// Lead-acid (UPS packs).
    LeadAcid,
    /// Rechargeable alkaline manganese.
    RechargeableAlkaline,
    /// Not reported or not recognised.
    Unknown,
}

impl Technology {
    /// Reads the chemistry names used by Linux (`Li-ion`, `Li-poly`, `LiFe`, `NiMH`, `NiCd`, `LiMn`), ACPI
    /// `_BIF` type strings (`LION`, `LiP`, `LIP`), Windows chemistry codes (`LION`, `PbAc`, `NiZn`, `RAM`) and
    /// the BSDs' (`Lithium Ion`). Case and punctuation do not matter; anything else is [`Technology::Unknown`].
    #[must_use]
    pub fn parse(text: &str) -> Technology {
        // Lower-cased letters and digits, gathered on the stack (refresh decodes this every time): no
        // known name has more than 32 of them.
        let mut buf = [0u8; 32];
        let mut len = 0;
        for c in text.bytes().filter(u8::is_ascii_alphanumeric) {
            let Some(slot) = buf.get_mut(len) else {
                return Technology::Unknown;
            };
            *slot = c.to_ascii_lowercase();
            len += 1;
        }
        match &buf[..len] {
            // `Li-I` is the second Windows code for lithium-ion (MS docs BATTERY_INFORMATION).
            b"liion" | b"lion" | b"lii" | b"lithiumion" | b"li" => Technology::LithiumIon,
            b"lipoly" | b"lip" | b"lipo" | b"lipol" | b"lithiumpolymer" | b"lipolymer" => {
                Technology::LithiumPolymer
            }
            b"life" | b"lifepo4" | b"lithiumironphosphate" => Technology::LithiumIronPhosphate,
            b"limn" | b"lithiummanganese" => Technology::LithiumManganese,
            b"nimh" | b"nickelmetalhydride" => Technology::NickelMetalHydride,
            b"nicd" | b"nickelcadmium" => Technology::NickelCadmium,
            b"nizn" | b"nickelzinc" => Technology::NickelZinc,
            b"pbac" | b"pb" | b"leadacid" => Technology::LeadAcid,
            b"ram" | b"rechargeablealkaline" | b"rechargeablealkalinemanganese" => {
                Technology::RechargeableAlkaline
            }
            _ => Technology::Unknown,
        }
    }

    /// The snake-case word used in text and JSON output (`lithium_ion`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Technology::LithiumIon => "lithium_ion",
            Technology::LithiumPolymer => "lithium_polymer",
            Technology::LithiumIronPhosphate => "lithium_iron_phosphate",
            Technology::LithiumManganese => "lithium_manganese",
            Technology::NickelMetalHydride => "nickel_metal_hydride",
            Technology::NickelCadmium => "nickel_cadmium",
            Technology::NickelZinc => "nickel_zinc",
            Technology::LeadAcid => "lead_acid",
            Technology::RechargeableAlkaline => "rechargeable_alkaline",
            Technology::Unknown => "unknown",
        }
    }
}

/// What the charger has been told to do (Linux `charge_behaviour`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
#[non_exhaustive]
pub enum ChargeBehaviour {
    /// Charge normally (within any thresholds).
    Auto,
    /// Do not charge although external power is present.
    InhibitCharge,
    /// Run from the battery although external power is present.
    ForceDischarge,
}

impl ChargeBehaviour {
    /// The snake-case word used in text and JSON output.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            ChargeBehaviour::Auto => "auto",
            ChargeBehaviour::InhibitCharge => "inhibit_charge",
            ChargeBehaviour::ForceDischarge => "force_discharge",
        }
    }
}

/// A calendar date (the pack's manufacture date). Only dates that exist are built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub struct Date {
    /// Year, e.g. 2019.
    pub year: u16,
    /// Month, 1–12.
    pub month: u8,
    /// Day of the month, 1–31.
    pub day: u8,
}

impl Date {
    /// The date, if it exists on the calendar and the year is plausible for a battery (1990–2100).
    #[must_use]
    pub fn new(year: i64, month: i64, day: i64) -> Option<Date> {
        if !(1990..=2100).contains(&year) || !(1..=12).contains(&month) || day < 1 {
            return None;
        }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let days = match month {
            2 if leap => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        (day <= days).then_some(Date {
            year: year as u16,
            month: month as u8,
            day: day as u8,
        })
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for Date {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn technology_names_from_every_os() {
        assert_eq!(Technology::parse("Li-ion"), Technology::LithiumIon);
        assert_eq!(Technology::parse("LION"), Technology::LithiumIon);
        assert_eq!(Technology::parse("Li-I"), Technology::LithiumIon);
        assert_eq!(Technology::parse("Li-poly"), Technology::LithiumPolymer);
        assert_eq!(Technology::parse("LiP"), Technology::LithiumPolymer);
        assert_eq!(Technology::parse("LiFe"), Technology::LithiumIronPhosphate);
        assert_eq!(Technology::parse("NiMH"), Technology::NickelMetalHydride);
        assert_eq!(Technology::parse("PbAc"), Technology::LeadAcid);
        assert_eq!(Technology::parse("Lithium Ion"), Technology::LithiumIon);
        assert_eq!(Technology::parse("Unknown"), Technology::Unknown);
        assert_eq!(Technology::parse(""), Technology::Unknown);
    }

    #[test]
    fn dates_that_do_not_exist_are_rejected() {
        assert_eq!(
            Date::new(2019, 7, 29).map(|d| d.to_string()),
            Some("2019-07-29".into())
        );
        assert_eq!(Date::new(2019, 2, 29), None);
        assert!(Date::new(2020, 2, 29).is_some());
        assert_eq!(Date::new(1980, 1, 1), None);
        assert_eq!(Date::new(2019, 13, 1), None);
        assert_eq!(Date::new(2019, 4, 31), None);
    }

    #[test]
    fn display_name_falls_back_model_vendor_serial_id() {
        let mut b = Battery::new("BAT0", Kind::System);
        assert_eq!(b.display_name(), "BAT0");
        b.serial = Some("123".into());
        assert_eq!(b.display_name(), "123");
        b.vendor = Some("SMP".into());
        assert_eq!(b.display_name(), "SMP");
        b.model = Some(String::new());
        assert_eq!(b.display_name(), "SMP");
        b.model = Some("42T4977".into());
        assert_eq!(b.display_name(), "42T4977");
    }
}
