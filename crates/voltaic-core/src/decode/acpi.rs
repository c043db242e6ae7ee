//! The ACPI Control Method Battery rules the BSD decoders share.
//!
//! FreeBSD's `/dev/acpi` ioctls, OpenBSD's `acpibat(4)` sensors and NetBSD's `acpibat(4)` envsys sensors all
//! pass on the same two ACPI objects: `_BIF`/`_BIX` (static information) and `_BST` (status). What the
//! `_BST` state bits mean, which values are the "unknown" word, and when a battery that is neither charging
//! nor discharging counts as full are decided here once (ACPI 6.4 §10.2.2.11 `_BST`; FreeBSD
//! `sys/dev/acpica/acpiio.h`; OpenBSD `sys/dev/acpi/acpibat.c`; NetBSD `sys/dev/acpi/acpi_bat.c`).

use crate::battery::{Battery, State};
use crate::decode::linux::FULL_THRESHOLD_PERCENT;
use crate::derived::{self, Field};

/// The ACPI "value unknown" word, used in every `_BIF`/`_BIX`/`_BST` field (FreeBSD `ACPI_BATT_UNKNOWN`,
/// OpenBSD `BIF_UNKNOWN`/`BST_UNKNOWN`, NetBSD `ACPIBAT_VAL_UNKNOWN`).
pub(crate) const UNKNOWN: i64 = 0xffff_ffff;

/// `_BST` state bit 0: discharging (`ACPI_BATT_STAT_DISCHARG`).
pub(crate) const STAT_DISCHARGING: i64 = 0x1;
/// `_BST` state bit 1: charging (`ACPI_BATT_STAT_CHARGING`).
pub(crate) const STAT_CHARGING: i64 = 0x2;
/// `_BST` state bit 2: critical energy state (`ACPI_BATT_STAT_CRITICAL`).
pub(crate) const STAT_CRITICAL: i64 = 0x4;
/// `_BST` state bit 3 (ACPI 6.4): the charger is limiting the charge. FreeBSD's `acpi_cmbat.c` masks it
/// off (`ACPI_BATT_STAT_BST_MASK`) and its `acpiio.h` has no name for it, but OpenBSD passes `_BST`
/// through unmasked and recordings may carry it.
pub(crate) const STAT_CHARGE_LIMITING: i64 = 0x8;

/// At or below this charge a battery flagged critical and not on external power is empty.
const EMPTY_PERCENT: f64 = 5.0;

/// An ACPI battery's capacities as its OS reports them (remaining, last full, design), all in Wh or all in
/// Ah, with the voltage that turns Ah into Wh (the design voltage, else the present one).
pub(crate) struct Capacities {
    pub now: Option<f64>,
    pub full: Option<f64>,
    pub design: Option<f64>,
    pub amp_hours: bool,
    pub volts: Option<f64>,
}

/// Sets energies (marked derived when converted from Ah), health and percentage (charge ÷ last full,
/// derived) from `c`. A remaining capacity over 1.5 × last full is nonsense and left out. One voltage for
/// all three keeps energy ÷ power equal to charge ÷ current.
pub(crate) fn apply_capacities(b: &mut Battery, c: &Capacities) {
    let full = c.full.filter(|v| *v > 0.0);
    let design = c.design.filter(|v| *v > 0.0);
    let now = c
        .now
        .filter(|v| *v >= 0.0 && full.is_none_or(|f| *v <= f * 1.5));
    let to_wh = |x: f64| -> Option<f64> {
        if c.amp_hours {
            derived::finite(x * c.volts?)
        } else {
            Some(x)
        }
    };
    b.energy_full_wh = full.and_then(to_wh);
    b.energy_full_design_wh = design.and_then(to_wh);
    b.energy_wh = now.and_then(to_wh);
    for (field, set) in [
        (Field::EnergyFull, b.energy_full_wh.is_some()),
        (Field::EnergyFullDesign, b.energy_full_design_wh.is_some()),
        (Field::Energy, b.energy_wh.is_some()),
    ] {
        b.derived.insert_if(field, c.amp_hours && set);
    }
    b.health_percent = full.zip(design).and_then(|(f, d)| derived::health(f, d));
    b.percentage = now
        .zip(full)
        .and_then(|(n, f)| derived::percentage_from(n, f));
    b.derived
        .insert_if(Field::Percentage, b.percentage.is_some());
}

/// An ACPI integer field, or `None` for the unknown word. Values that are the unknown word read as a
/// signed 32-bit number (`-1`, as FreeBSD's `int` fields and some recordings hold it) are unknown too;
/// anything outside `u32` is nonsense.
pub(crate) fn field(raw: Option<i64>) -> Option<u32> {
    let v = raw?;
    if v == UNKNOWN || v == -1 {
        return None;
    }
    u32::try_from(v).ok()
}

/// What the `_BST` state bits and their context say the battery is doing.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Verdict {
    /// The state.
    pub state: State,
    /// Why, when it was inferred or is odd.
    pub reason: Option<String>,
    /// Whether the state was inferred from context (capacity, external power) rather than read.
    pub inferred: bool,
}

/// The context a state decision may use besides the bits.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Context {
    /// Whether the remaining capacity has reached the last-full capacity (or the charge is at least
    /// [`FULL_THRESHOLD_PERCENT`]); `None` when unknown.
    pub full: Option<bool>,
    /// Whether the machine is on external power; `None` when unknown.
    pub external_power: Option<bool>,
    /// The state of charge, if known.
    pub percentage: Option<f64>,
}

/// Whether a battery is full by its capacity: remaining ≥ [`FULL_THRESHOLD_PERCENT`] % of last full
/// (the same units on both sides), else by its percentage.
pub(crate) fn is_full(
    remaining: Option<f64>,
    last_full: Option<f64>,
    percentage: Option<f64>,
) -> Option<bool> {
    match (remaining, last_full) {
        (Some(now), Some(full)) if full > 0.0 => Some(now * 100.0 >= full * FULL_THRESHOLD_PERCENT),
        _ => percentage.map(|p| p >= FULL_THRESHOLD_PERCENT),
    }
}

/// The state from `_BST` state bits.
///
/// - Discharging and charging both set is invalid per ACPI; FreeBSD's `acpi_battery.c` then ignores the
///   charging bit, and so do we.
/// - Neither bit: full when the capacity says so, held ("not charging") on external power, unknown
///   otherwise (an idle second battery, or a firmware that clears the bits). UPower, starship-battery and
///   distatus/battery all map this straight to Full, which calls a battery held at 60 % by a charge limit
///   "full" (platforms.md §4.3).
/// - The critical bit is a condition, not a direction: it is kept in the reason. Alone and off external
///   power it means empty when the charge is low or unknown.
pub(crate) fn state(bits: i64, ctx: Context) -> Verdict {
    let critical = bits & STAT_CRITICAL != 0;
    let critical_note = |base: Option<String>| -> Option<String> {
        if !critical {
            return base;
        }
        Some(match base {
            Some(b) => format!("{b}; the firmware flags the battery critical"),
            None => "the firmware flags the battery critical".into(),
        })
    };
    if bits & STAT_DISCHARGING != 0 {
        let reason = (bits & STAT_CHARGING != 0).then(|| {
            "the firmware set both charging and discharging; discharging wins, as in FreeBSD \
             acpi_battery.c"
                .to_owned()
        });
        return Verdict {
            state: State::Discharging,
            reason: critical_note(reason),
            inferred: false,
        };
    }
    if bits & STAT_CHARGING != 0 {
        return Verdict {
            state: State::Charging,
            reason: critical_note(None),
            inferred: false,
        };
    }
    if bits & STAT_CHARGE_LIMITING != 0 {
        return Verdict {
            state: State::NotCharging,
            reason: critical_note(Some(
                "the charger is limiting the charge (_BST bit 3)".into(),
            )),
            inferred: false,
        };
    }
    if ctx.full == Some(true) && !critical {
        return Verdict {
            state: State::Full,
            reason: None,
            inferred: true,
        };
    }
    match ctx.external_power {
        Some(true) if ctx.full == Some(true) => Verdict {
            state: State::Full,
            reason: critical_note(None),
            inferred: true,
        },
        Some(true) => Verdict {
            state: State::NotCharging,
            reason: critical_note(Some(
                "idle on external power, not full".into(),
            )),
            inferred: true,
        },
        _ if critical && ctx.percentage.is_none_or(|p| p <= EMPTY_PERCENT) => Verdict {
            state: State::Empty,
            reason: critical_note(None),
            inferred: true,
        },
        Some(false) => Verdict {
            state: State::Unknown,
            reason: critical_note(Some(
                "neither charging nor discharging while off external power (an idle second battery?)"
                    .into(),
            )),
            inferred: false,
        },
        None => Verdict {
            state: State::Unknown,
            reason: critical_note(Some(
                "neither charging nor discharging, and whether external power is present is unknown"
                    .into(),
            )),
            inferred: false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(full: Option<bool>, ac: Option<bool>, pct: Option<f64>) -> Context {
        Context {
            full,
            external_power: ac,
            percentage: pct,
        }
    }

    #[test]
    fn unknown_word_in_both_spellings() {
        assert_eq!(field(Some(0xffff_ffff)), None);
        assert_eq!(field(Some(-1)), None);
        assert_eq!(field(Some(-2)), None);
        assert_eq!(field(Some(1 << 40)), None);
        assert_eq!(field(Some(71100)), Some(71100));
        assert_eq!(field(None), None);
    }

    #[test]
    fn direction_bits() {
        assert_eq!(state(1, Context::default()).state, State::Discharging);
        assert_eq!(state(2, Context::default()).state, State::Charging);
        let both = state(3, Context::default());
        assert_eq!(both.state, State::Discharging);
        assert!(both.reason.is_some());
        let crit = state(5, Context::default());
        assert_eq!(crit.state, State::Discharging);
        assert!(crit.reason.is_some_and(|r| r.contains("critical")));
    }

    #[test]
    fn no_bits_is_full_held_or_unknown() {
        assert_eq!(state(0, ctx(Some(true), None, None)).state, State::Full);
        let held = state(0, ctx(Some(false), Some(true), Some(60.0)));
        assert_eq!(held.state, State::NotCharging);
        assert!(held.inferred);
        assert_eq!(
            state(0, ctx(Some(false), Some(false), Some(60.0))).state,
            State::Unknown
        );
        assert_eq!(
            state(0, ctx(Some(false), None, Some(60.0))).state,
            State::Unknown
        );
    }

    #[test]
    fn charge_limiting_bit_is_not_charging() {
        assert_eq!(state(8, Context::default()).state, State::NotCharging);
    }

    #[test]
    fn critical_alone_is_a_condition_not_a_direction() {
        // The dead ThinkPad T420 pack: on AC, 90 %, firmware says critical.
        let v = state(4, ctx(Some(false), Some(true), Some(90.0)));
        assert_eq!(v.state, State::NotCharging);
        assert!(v.reason.is_some_and(|r| r.contains("critical")));
        assert_eq!(
            state(4, ctx(Some(false), Some(false), Some(2.0))).state,
            State::Empty
        );
        assert_eq!(state(4, ctx(None, None, None)).state, State::Empty);
        assert_eq!(
            state(4, ctx(Some(false), Some(false), Some(50.0))).state,
            State::Unknown
        );
        // Full and critical on AC: full, with the flag kept in the reason.
        let v = state(4, ctx(Some(true), Some(true), Some(100.0)));
        assert_eq!(v.state, State::Full);
        assert!(v.reason.is_some());
    }

    #[test]
    fn fullness_by_capacity_then_percentage() {
        assert_eq!(is_full(Some(96.0), Some(100.0), None), Some(true));
        assert_eq!(is_full(Some(90.0), Some(100.0), Some(99.0)), Some(false));
        assert_eq!(is_full(None, Some(100.0), Some(99.0)), Some(true));
        assert_eq!(is_full(None, None, None), None);
    }
}
