//! Charge limits: what may be written, and in which order, before anything is written.
//!
//! Everything here is pure: [`plan`] turns the present thresholds, the request and the attributes a
//! battery offers into the ordered list of writes, or says why nothing may be written. The `voltaic`
//! crate does the writes and reads the values back.
//!
//! The order matters because drivers that enforce `start < end` check each write against the value
//! already set (thinkpad_acpi `tpacpi_battery_store` refuses a start above the present stop with
//! `-EINVAL`): raising both thresholds writes the end first, lowering both writes the start first, so
//! the pair is valid after every single write.

use std::fmt;

use crate::battery::ChargeBehaviour;

/// A charge start and end threshold, in percent. `None` means "leave as it is" in a request and
/// "not reported" in a value read back.
///
/// ```
/// use voltaic_core::limits::ChargeLimits;
/// let only_end = ChargeLimits::new(None, Some(80));
/// assert_eq!((only_end.start, only_end.end), (None, Some(80)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct ChargeLimits {
    /// Charging starts only below this charge.
    pub start: Option<u8>,
    /// Charging stops at this charge.
    pub end: Option<u8>,
}

impl ChargeLimits {
    /// Thresholds `start` and `end` (`None`: leave that one alone).
    #[must_use]
    pub const fn new(start: Option<u8>, end: Option<u8>) -> Self {
        ChargeLimits { start, end }
    }
}

impl fmt::Display for ChargeLimits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |v: Option<u8>| v.map_or_else(|| "-".to_owned(), |v| format!("{v} %"));
        write!(f, "start {}, end {}", show(self.start), show(self.end))
    }
}

/// Which threshold a write sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Threshold {
    /// The start threshold.
    Start,
    /// The end (stop) threshold.
    End,
}

impl Threshold {
    /// `start` or `end`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Threshold::Start => "start",
            Threshold::End => "end",
        }
    }
}

/// The names under which a battery takes its thresholds: sysfs attribute names on Linux, sysctl names
/// on OpenBSD. `None` when the battery has no such threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Names {
    /// Where the start threshold is written.
    pub start: Option<&'static str>,
    /// Where the end threshold is written.
    pub end: Option<&'static str>,
}

/// The Linux attributes, newest name first: `charge_control_*_threshold` is the power-supply ABI
/// (Documentation/ABI/testing/sysfs-class-power); `charge_start_threshold` / `charge_stop_threshold` are
/// the older thinkpad_acpi names it still creates as aliases.
pub const LINUX_START: [&str; 2] = ["charge_control_start_threshold", "charge_start_threshold"];
/// See [`LINUX_START`].
pub const LINUX_END: [&str; 2] = ["charge_control_end_threshold", "charge_stop_threshold"];
/// The Linux charge behaviour attribute (`auto`, `inhibit-charge`, `force-discharge`).
pub const LINUX_BEHAVIOUR: &str = "charge_behaviour";

/// OpenBSD's machine-wide sysctls (sys/sys/sysctl.h `HW_BATTERY_*`).
pub const OPENBSD: Names = Names {
    start: Some("hw.battery.chargestart"),
    end: Some("hw.battery.chargestop"),
};
/// OpenBSD's charge mode sysctl.
pub const OPENBSD_MODE: &str = "hw.battery.chargemode";

/// One write: set `name` to `value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Write {
    /// Which threshold this is.
    pub threshold: Threshold,
    /// The attribute or sysctl name.
    pub name: &'static str,
    /// The value, in percent.
    pub value: u8,
}

/// Why a request is refused before anything is written.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PlanError {
    /// Neither threshold was given.
    Empty,
    /// A value above 100 %.
    OutOfRange {
        /// Which threshold.
        threshold: Threshold,
        /// The value asked for.
        value: u8,
    },
    /// The start would not be below the end (`end` may be the one already set).
    StartNotBelowEnd {
        /// The start that would result.
        start: u8,
        /// The end that would result.
        end: u8,
    },
    /// The battery has no such threshold (many drivers offer only the end).
    NotOffered(Threshold),
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlanError::Empty => f.write_str("no threshold given (give a start, an end, or both)"),
            PlanError::OutOfRange { threshold, value } => write!(
                f,
                "the {} threshold must be between 0 and 100 %, not {value}",
                threshold.as_str()
            ),
            PlanError::StartNotBelowEnd { start, end } => write!(
                f,
                "the start threshold ({start} %) must be below the end threshold ({end} %)"
            ),
            PlanError::NotOffered(t) => {
                write!(f, "this battery has no {} threshold to set", t.as_str())
            }
        }
    }
}

impl std::error::Error for PlanError {}

/// The writes that take a battery from `current` to `request`, in an order that keeps `start < end`
/// after each one; or why the request is refused (nothing may then be written).
///
/// Values of `request` left `None` stay as they are and are checked against `current`. When a present
/// value is unknown, only what is known is checked, and the end goes first when it rises.
pub fn plan(
    current: ChargeLimits,
    request: ChargeLimits,
    names: Names,
) -> Result<Vec<Write>, PlanError> {
    if request.start.is_none() && request.end.is_none() {
        return Err(PlanError::Empty);
    }
    for (threshold, value) in [
        (Threshold::Start, request.start),
        (Threshold::End, request.end),
    ] {
        if let Some(value) = value.filter(|v| *v > 100) {
            return Err(PlanError::OutOfRange { threshold, value });
        }
    }
    let start_write = match request.start {
        Some(value) => Some(Write {
            threshold: Threshold::Start,
            name: names.start.ok_or(PlanError::NotOffered(Threshold::Start))?,
            value,
        }),
        None => None,
    };
    let end_write = match request.end {
        Some(value) => Some(Write {
            threshold: Threshold::End,
            name: names.end.ok_or(PlanError::NotOffered(Threshold::End))?,
            value,
        }),
        None => None,
    };
    // The pair after both writes. A present start with no start attribute cannot be changed, but a
    // driver that reports one still checks against it.
    let start = request.start.or(current.start);
    let end = request.end.or(current.end);
    if let (Some(start), Some(end)) = (start, end)
        && start >= end
    {
        return Err(PlanError::StartNotBelowEnd { start, end });
    }
    Ok(match (start_write, end_write) {
        (Some(s), Some(e)) => {
            // End first unless that would leave the old start at or above the new end (lowering).
            let end_first = match current.start {
                Some(old_start) => old_start < e.value,
                None => current.end.is_none_or(|old_end| e.value >= old_end),
            };
            if end_first { vec![e, s] } else { vec![s, e] }
        }
        (Some(w), None) | (None, Some(w)) => vec![w],
        (None, None) => Vec::new(),
    })
}

/// The limits that mean "charge to full": end 100 %, and the start at 0 % where the battery has a start
/// threshold, so that no start threshold holds charging back either (thinkpad_acpi and system76_acpi
/// treat these as "no threshold").
#[must_use]
pub fn full(names: Names) -> ChargeLimits {
    ChargeLimits {
        start: names.start.map(|_| 0),
        end: names.end.map(|_| 100),
    }
}

/// The writes a boot-time rule makes when the present values are not known: start, end, start again.
///
/// Whatever pair the firmware kept, one of the first two writes is valid, and after the second the
/// third is: when the new start is below the old end, start then end succeed; otherwise the first
/// start is refused, the end (above the old start) succeeds, and the start is then below it.
#[must_use]
pub fn boot_sequence(limits: ChargeLimits, names: Names) -> Vec<Write> {
    let start = limits.start.zip(names.start).map(|(value, name)| Write {
        threshold: Threshold::Start,
        name,
        value,
    });
    let end = limits.end.zip(names.end).map(|(value, name)| Write {
        threshold: Threshold::End,
        name,
        value,
    });
    match (start, end) {
        (Some(s), Some(e)) => vec![s, e, s],
        (Some(w), None) | (None, Some(w)) => vec![w],
        (None, None) => Vec::new(),
    }
}

/// The word Linux's `charge_behaviour` takes (drivers/power/supply/power_supply_sysfs.c
/// `POWER_SUPPLY_CHARGE_BEHAVIOUR_TEXT`).
#[must_use]
pub fn linux_behaviour_word(behaviour: ChargeBehaviour) -> &'static str {
    match behaviour {
        ChargeBehaviour::Auto => "auto",
        ChargeBehaviour::InhibitCharge => "inhibit-charge",
        ChargeBehaviour::ForceDischarge => "force-discharge",
    }
}

/// The `charge_behaviour` attribute's text: the behaviours a battery offers and the active one in
/// brackets (`[auto] inhibit-charge force-discharge`, power_supply_sysfs.c
/// `power_supply_charge_behaviour_show`). Unknown words are left out; at most 16 words are read.
#[must_use]
pub fn parse_behaviours(text: &str) -> (Option<ChargeBehaviour>, Vec<ChargeBehaviour>) {
    let mut active = None;
    let mut offered = Vec::new();
    for word in text.split_ascii_whitespace().take(16) {
        let bare = word.trim_start_matches('[').trim_end_matches(']');
        let behaviour = match bare {
            "auto" => ChargeBehaviour::Auto,
            // `inhibit-charge-awake` (power_supply.h) inhibits only while the machine runs.
            "inhibit-charge" | "inhibit-charge-awake" => ChargeBehaviour::InhibitCharge,
            "force-discharge" => ChargeBehaviour::ForceDischarge,
            _ => continue,
        };
        if word.starts_with('[') && word.ends_with(']') {
            active = Some(behaviour);
        }
        if !offered.contains(&behaviour) {
            offered.push(behaviour);
        }
    }
    // A lone word without brackets (a copied tree holding what was written) is the active one.
    if active.is_none() && text.split_ascii_whitespace().count() == 1 {
        active = offered.first().copied();
    }
    (active, offered)
}

/// OpenBSD's `hw.battery.chargemode` value for a behaviour (sysctl(2): -1 discharge, 0 inhibit, 1 auto).
#[must_use]
pub fn openbsd_chargemode(behaviour: ChargeBehaviour) -> i32 {
    match behaviour {
        ChargeBehaviour::Auto => 1,
        ChargeBehaviour::InhibitCharge => 0,
        ChargeBehaviour::ForceDischarge => -1,
    }
}

/// What Linux platform drivers are known to accept, for the message when a driver refuses a value
/// (`EINVAL`). The battery's record does not name its driver, so all are listed. Sources: the
/// `*_store` functions of each driver in drivers/platform/x86/.
pub const KNOWN_DRIVER_RULES: &[(&str, &str)] = &[
    (
        "thinkpad_acpi",
        "start 0–99, end 1–100, start not above end",
    ),
    ("lg-laptop", "end 80 or 100 only"),
    (
        "fujitsu-laptop",
        "end only, up to 100 (below 50 is raised to 50)",
    ),
    ("msi-ec", "a model-specific range for start and end"),
    ("huawei-wmi", "start and end sent to the firmware together"),
    ("toshiba_acpi", "end only, 1–100 (kept as 80 or 100)"),
    ("asus-wmi", "end only, 0–100"),
];

/// The message for a value a driver refused: what was asked and what drivers are known to accept.
#[must_use]
pub fn rejected_message(threshold: &str, value: &str) -> String {
    let mut msg = format!(
        "the driver refused {threshold} = {value}; drivers accept only some values (known: "
    );
    for (i, (driver, rule)) in KNOWN_DRIVER_RULES.iter().enumerate() {
        if i > 0 {
            msg.push_str("; ");
        }
        msg.push_str(driver);
        msg.push_str(": ");
        msg.push_str(rule);
    }
    msg.push(')');
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOTH: Names = Names {
        start: Some(LINUX_START[0]),
        end: Some(LINUX_END[0]),
    };
    const END_ONLY: Names = Names {
        start: None,
        end: Some(LINUX_END[0]),
    };

    fn lim(start: Option<u8>, end: Option<u8>) -> ChargeLimits {
        ChargeLimits::new(start, end)
    }

    fn order(writes: &[Write]) -> Vec<(Threshold, u8)> {
        writes.iter().map(|w| (w.threshold, w.value)).collect()
    }

    /// Applies the writes one by one and checks the pair is valid after each.
    fn always_valid(current: ChargeLimits, writes: &[Write]) -> bool {
        let (mut s, mut e) = (current.start, current.end);
        writes.iter().all(|w| {
            match w.threshold {
                Threshold::Start => s = Some(w.value),
                Threshold::End => e = Some(w.value),
            }
            s.zip(e).is_none_or(|(s, e)| s < e)
        })
    }

    #[test]
    fn raising_writes_end_first_lowering_start_first() {
        let raise = plan(lim(Some(40), Some(50)), lim(Some(75), Some(80)), BOTH).unwrap();
        assert_eq!(
            order(&raise),
            [(Threshold::End, 80), (Threshold::Start, 75)]
        );
        let lower = plan(lim(Some(75), Some(80)), lim(Some(40), Some(50)), BOTH).unwrap();
        assert_eq!(
            order(&lower),
            [(Threshold::Start, 40), (Threshold::End, 50)]
        );
        assert_eq!(raise[0].name, "charge_control_end_threshold");
    }

    #[test]
    fn every_valid_request_from_every_valid_pair_stays_valid_in_between() {
        let steps = [0u8, 10, 40, 50, 75, 80, 95, 100];
        for (cs, ce) in steps
            .iter()
            .flat_map(|a| steps.iter().map(move |b| (*a, *b)))
        {
            for (rs, re) in steps
                .iter()
                .flat_map(|a| steps.iter().map(move |b| (*a, *b)))
            {
                let current = lim(Some(cs), Some(ce));
                let result = plan(current, lim(Some(rs), Some(re)), BOTH);
                if rs < re {
                    let writes = result.unwrap();
                    if cs < ce {
                        assert!(always_valid(current, &writes), "{current:?} -> {rs},{re}");
                    }
                } else {
                    assert_eq!(
                        result,
                        Err(PlanError::StartNotBelowEnd { start: rs, end: re })
                    );
                }
            }
        }
    }

    #[test]
    fn one_value_is_checked_against_the_other_present_value() {
        assert_eq!(
            plan(lim(Some(75), Some(80)), lim(None, Some(70)), BOTH),
            Err(PlanError::StartNotBelowEnd { start: 75, end: 70 })
        );
        assert_eq!(
            plan(lim(Some(40), Some(50)), lim(Some(60), None), BOTH),
            Err(PlanError::StartNotBelowEnd { start: 60, end: 50 })
        );
        let w = plan(lim(Some(40), Some(50)), lim(None, Some(90)), BOTH).unwrap();
        assert_eq!(order(&w), [(Threshold::End, 90)]);
        // Unknown present values: only the request itself is checked.
        let w = plan(lim(None, None), lim(Some(60), None), BOTH).unwrap();
        assert_eq!(order(&w), [(Threshold::Start, 60)]);
    }

    #[test]
    fn out_of_range_empty_and_missing_attributes_are_refused() {
        assert_eq!(
            plan(lim(None, None), lim(None, Some(101)), BOTH),
            Err(PlanError::OutOfRange {
                threshold: Threshold::End,
                value: 101
            })
        );
        assert_eq!(
            plan(lim(None, None), lim(None, None), BOTH),
            Err(PlanError::Empty)
        );
        assert_eq!(
            plan(lim(None, Some(100)), lim(Some(60), Some(80)), END_ONLY),
            Err(PlanError::NotOffered(Threshold::Start))
        );
        assert_eq!(
            PlanError::StartNotBelowEnd { start: 80, end: 80 }.to_string(),
            "the start threshold (80 %) must be below the end threshold (80 %)"
        );
    }

    #[test]
    fn full_charge_sets_what_the_battery_has() {
        assert_eq!(full(BOTH), lim(Some(0), Some(100)));
        assert_eq!(full(END_ONLY), lim(None, Some(100)));
        let w = plan(lim(Some(75), Some(80)), full(BOTH), BOTH).unwrap();
        assert_eq!(order(&w), [(Threshold::End, 100), (Threshold::Start, 0)]);
    }

    #[test]
    fn boot_sequence_reaches_the_pair_from_any_firmware_state() {
        let seq = boot_sequence(lim(Some(75), Some(80)), BOTH);
        assert_eq!(
            order(&seq),
            [
                (Threshold::Start, 75),
                (Threshold::End, 80),
                (Threshold::Start, 75)
            ]
        );
        // Simulate a driver that refuses any write leaving start >= end.
        for (cs, ce) in [(0u8, 100u8), (40, 50), (90, 95), (76, 79), (85, 100)] {
            let (mut s, mut e) = (cs, ce);
            for w in &seq {
                match w.threshold {
                    Threshold::Start if w.value < e => s = w.value,
                    Threshold::End if s < w.value => e = w.value,
                    _ => {}
                }
            }
            assert_eq!((s, e), (75, 80), "from {cs},{ce}");
        }
        assert_eq!(
            order(&boot_sequence(lim(None, Some(80)), END_ONLY)),
            [(Threshold::End, 80)]
        );
    }

    #[test]
    fn behaviour_text_lists_offered_and_active() {
        let (active, offered) = parse_behaviours("auto [inhibit-charge] force-discharge\n");
        assert_eq!(active, Some(ChargeBehaviour::InhibitCharge));
        assert_eq!(
            offered,
            [
                ChargeBehaviour::Auto,
                ChargeBehaviour::InhibitCharge,
                ChargeBehaviour::ForceDischarge
            ]
        );
        let (active, offered) = parse_behaviours("[auto] bogus");
        assert_eq!((active, offered.len()), (Some(ChargeBehaviour::Auto), 1));
        assert_eq!(
            parse_behaviours("inhibit-charge\n").0,
            Some(ChargeBehaviour::InhibitCharge)
        );
        assert_eq!(parse_behaviours("auto inhibit-charge").0, None);
        assert_eq!(
            linux_behaviour_word(ChargeBehaviour::ForceDischarge),
            "force-discharge"
        );
        assert_eq!(openbsd_chargemode(ChargeBehaviour::InhibitCharge), 0);
    }

    #[test]
    fn rejection_names_known_driver_rules() {
        let m = rejected_message("charge_control_end_threshold", "75");
        assert!(
            m.starts_with("the driver refused charge_control_end_threshold = 75;"),
            "{m}"
        );
        assert!(m.contains("lg-laptop: end 80 or 100 only"), "{m}");
    }
}
