//! FreeBSD and DragonFly: the `/dev/acpi` battery ioctls (`acpi_battery(4)`, `acpi_cmbat`) → model.
//!
//! The shell gives one record per logical battery unit, keyed by the kernel's own struct and field
//! names (`sys/dev/acpica/acpiio.h`):
//!
//! | key | source | unit |
//! |---|---|---|
//! | `bix.*` (or `bif.*`) `units dcap lfcap btech dvol wcap lcap gra1 gra2 model serial type oeminfo` | `ACPIIO_BATT_GET_BIX` (`GET_BIF` on DragonFly and FreeBSD before 13) | `units` 0 = mWh/mW, 1 = mAh/mA; `dvol` mV |
//! | `bix.rev cycles accuracy stmax stmin aimax aimin scap` | `_BIX` only | `rev` 0xffff = built from `_BIF` |
//! | `bst.state rate cap volt` | `ACPIIO_BATT_GET_BST` | state bits; rate mW or mA; cap mWh or mAh; volt mV |
//! | `battinfo.cap min state rate` | `ACPIIO_BATT_GET_BATTINFO` for the unit | %, minutes, state bits, native rate; −1 unknown |
//!
//! and one record `acpi_acad0` with `hw.acpi.acline` (0/1) for the AC adapter. Every `_BI[FX]`/`_BST` field
//! may be `ACPI_BATT_UNKNOWN` (0xffffffff).
//!
//! `acpiconf -i N` output (what users paste) is read back into the same keys by [`parse_acpiconf`].

use std::time::Duration;

use super::acpi::{self, Context};
use super::{Decoded, Skipped, clean_text};
use crate::battery::{Battery, Kind, State, Technology};
use crate::derived::{self, Field};
use crate::record::{Os, ParseError, RawDevice, Record, Value, clip};
use crate::source::{PowerSource, SourceKind};

/// The sysctl that says whether the AC adapter is online (`acpi_acad.c`).
pub const ACLINE: &str = "hw.acpi.acline";

/// `bix.rev` when the kernel built the `_BIX` structure from a `_BIF` object (`ACPI_BIX_REV_BIF`).
const BIX_REV_BIF: i64 = 0xffff;

/// `_BST`/`battinfo` state for a unit whose battery is absent or whose data is invalid
/// (`ACPI_BATT_STAT_NOT_PRESENT`, all three bits).
const STAT_NOT_PRESENT: i64 = 0x7;

/// The ACPI "Ones" 16-bit rate some firmware reports when it cannot measure the rate; UPower drops it on
/// FreeBSD too (`src/freebsd/up-device-supply.c`).
const RATE_ONES_16: u32 = 0xffff;

/// Decodes the FreeBSD/DragonFly devices of one machine: the AC record first, so that batteries know
/// whether external power is present.
pub fn decode(devices: &[&RawDevice], out: &mut Decoded) {
    let mut external_power = None;
    let mut batteries = Vec::new();
    for device in devices {
        let r = &device.record;
        if is_battery(r) {
            batteries.push(*device);
        } else if r.contains(ACLINE) {
            let mut s = PowerSource::new(device.id.clone(), SourceKind::Mains);
            s.online = r.int(ACLINE).and_then(|v| match v {
                0 => Some(false),
                1 => Some(true),
                _ => None,
            });
            external_power = external_power.or(s.online);
            out.power_sources.push(s);
        } else {
            out.skipped.push(Skipped::new(
                device.id.clone(),
                "neither battery ioctl results nor hw.acpi.acline",
            ));
        }
    }
    for device in batteries {
        out.push(decode_one(device, external_power));
    }
}

fn is_battery(r: &Record) -> bool {
    r.iter().any(|(k, _)| {
        k.starts_with("bix.")
            || k.starts_with("bif.")
            || k.starts_with("bst.")
            || k.starts_with("battinfo.")
    })
}

/// A `_BIX`/`_BIF` field: `bix.NAME`, else `bif.NAME`.
fn info(r: &Record, name: &str) -> Option<i64> {
    r.int(&format!("bix.{name}"))
        .or_else(|| r.int(&format!("bif.{name}")))
}

fn info_text(r: &Record, name: &str) -> Option<String> {
    r.text(&format!("bix.{name}"))
        .or_else(|| r.text(&format!("bif.{name}")))
        .and_then(|t| clean_text(&t))
}

/// The battery unit, as the kernel reports capacities and rates.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Units {
    /// mWh and mW (`ACPI_BIF_UNITS_MW`).
    Milliwatt,
    /// mAh and mA (`ACPI_BIF_UNITS_MA`).
    Milliamp,
}

/// Decodes one battery record, given what is known about external power.
///
/// # Errors
/// A [`Skipped`] when the unit reports no battery (`ACPI_BATT_STAT_NOT_PRESENT`).
#[allow(clippy::too_many_lines, clippy::many_single_char_names)] // one table of rules, read top to bottom
pub fn decode_one(device: &RawDevice, external_power: Option<bool>) -> Result<Battery, Skipped> {
    let r = &device.record;
    let id = device.id.as_str();
    let bst_state = r.int("bst.state").filter(|s| (0..=0xff).contains(s));
    let info_state = r.int("battinfo.state").filter(|s| (0..=0xff).contains(s));
    if bst_state.or(info_state) == Some(STAT_NOT_PRESENT) {
        return Err(Skipped::new(
            id,
            "battery not present or its data invalid (ACPI_BATT_STAT_NOT_PRESENT)",
        ));
    }
    let mut b = Battery::new(id, Kind::System);
    b.external_power = r
        .int(ACLINE)
        .and_then(|v| match v {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        })
        .or(external_power);

    let units = match info(r, "units") {
        Some(0) => Some(Units::Milliwatt),
        Some(1) => Some(Units::Milliamp),
        // Anything else is not a unit we know: keep ratios, invent no energies (starship-battery
        // panics here with `unreachable!`).
        _ => None,
    };
    let num = |key: &str| acpi::field(r.int(key)).map(f64::from);
    let dvol_v = acpi::field(info(r, "dvol"))
        .filter(|v| *v > 0)
        .map(|mv| f64::from(mv) / 1000.0);
    b.voltage_v = num("bst.volt").filter(|v| *v > 0.0).map(|mv| mv / 1000.0);
    // mAh → Wh with the design voltage, as the kernel's own all-units battinfo does (acpi_battery.c)
    // and starship-battery; the present voltage only when the design voltage is unknown.
    let conv_v = dvol_v.or(b.voltage_v);
    let to_wh = |raw: f64| -> Option<f64> {
        match units? {
            Units::Milliwatt => derived::finite(raw / 1000.0),
            Units::Milliamp => derived::finite(raw / 1000.0 * conv_v?),
        }
    };
    let mamp = units == Some(Units::Milliamp);

    let lfcap = acpi::field(info(r, "lfcap"))
        .filter(|v| *v > 0)
        .map(f64::from);
    let dcap = acpi::field(info(r, "dcap"))
        .filter(|v| *v > 0)
        .map(f64::from);
    let cap = num("bst.cap").filter(|c| lfcap.is_none_or(|full| *c <= full * 1.5));
    b.energy_full_wh = lfcap.and_then(to_wh);
    b.derived
        .insert_if(Field::EnergyFull, mamp && b.energy_full_wh.is_some());
    b.energy_full_design_wh = dcap.and_then(to_wh);
    b.derived.insert_if(
        Field::EnergyFullDesign,
        mamp && b.energy_full_design_wh.is_some(),
    );
    // Health is a ratio of two values in the same unit: no voltage needed.
    b.health_percent = lfcap.zip(dcap).and_then(|(f, d)| derived::health(f, d));

    // Percentage: the kernel's per-unit battinfo.cap (remaining ÷ last full, clamped; −1 unknown), else
    // the same ratio from _BST and _BIF.
    b.percentage = r
        .int("battinfo.cap")
        .filter(|c| *c >= 0)
        .and_then(|c| derived::sane_percentage(c as f64));
    if b.percentage.is_none() {
        b.percentage = cap
            .zip(lfcap)
            .and_then(|(c, f)| derived::percentage_from(c, f));
        b.derived
            .insert_if(Field::Percentage, b.percentage.is_some());
    }
    b.energy_wh = cap.and_then(to_wh);
    b.derived
        .insert_if(Field::Energy, mamp && b.energy_wh.is_some());
    if b.energy_wh.is_none() {
        // acpiconf prints no remaining mWh: percentage × last full.
        b.energy_wh = b
            .percentage
            .zip(b.energy_full_wh)
            .map(|(p, f)| p / 100.0 * f);
        b.derived.insert_if(Field::Energy, b.energy_wh.is_some());
    }

    // Rate: _BST rate, else the unit's battinfo.rate (the same value, native units; −1 unknown).
    let rate = acpi::field(r.int("bst.rate"))
        .or_else(|| acpi::field(r.int("battinfo.rate")))
        .filter(|v| *v != RATE_ONES_16)
        .map(f64::from);
    match units {
        Some(Units::Milliwatt) => {
            b.power_w = rate.and_then(|mw| derived::rate(mw / 1000.0));
            if let (Some(w), Some(v)) = (b.power_w, b.voltage_v) {
                b.current_a = derived::finite(w / v);
                b.derived.insert(Field::Current);
            }
        }
        Some(Units::Milliamp) => {
            b.current_a = rate.map(|ma| ma / 1000.0).filter(|a| *a < 100.0);
            b.power_w = b
                .current_a
                .zip(conv_v)
                .and_then(|(a, v)| derived::rate(a * v));
            b.derived.insert_if(Field::Power, b.power_w.is_some());
        }
        None => {}
    }

    // State: the _BST bits (else the unit's battinfo bits), with AC and fullness as context.
    let bits = bst_state.or(info_state);
    b.state_raw = bits.map(|s| format!("0x{s:x}"));
    let ctx = Context {
        full: acpi::is_full(cap, lfcap, b.percentage),
        external_power: b.external_power,
        percentage: b.percentage,
    };
    if let Some(bits) = bits {
        let verdict = acpi::state(bits, ctx);
        b.state = verdict.state;
        b.state_reason = verdict.reason;
        b.derived.insert_if(Field::State, verdict.inferred);
    }

    // Times. To empty: the kernel's battinfo.min (minutes; −1 when unknown, charging, or no rate), else
    // remaining ÷ rate in the battery's own units. To full: (last full − remaining) ÷ rate.
    let native_rate = rate.filter(|v| *v > 0.0).map(|v| v / 1000.0);
    match b.state {
        State::Discharging => {
            b.time_to_empty = r
                .int("battinfo.min")
                .filter(|m| *m > 0 || (*m == 0 && b.percentage.is_some_and(|p| p <= 1.0)))
                .and_then(|m| u64::try_from(m).ok()?.checked_mul(60))
                .map(Duration::from_secs)
                .filter(|d| *d <= derived::MAX_TIME_TO_EMPTY);
            if b.time_to_empty.is_none() {
                b.time_to_empty = match (cap, native_rate) {
                    (Some(c), Some(v)) => derived::time_to_empty(c / 1000.0, v),
                    _ => b
                        .energy_wh
                        .zip(b.power_w)
                        .and_then(|(e, w)| derived::time_to_empty(e, w)),
                };
                b.derived
                    .insert_if(Field::TimeToEmpty, b.time_to_empty.is_some());
            }
        }
        State::Charging => {
            b.time_to_full = match (cap, lfcap, native_rate) {
                (Some(c), Some(f), Some(v)) => derived::time_to_full(c / 1000.0, f / 1000.0, v),
                _ => match (b.energy_wh, b.energy_full_wh, b.power_w) {
                    (Some(e), Some(f), Some(w)) => derived::time_to_full(e, f, w),
                    _ => None,
                },
            };
            b.derived
                .insert_if(Field::TimeToFull, b.time_to_full.is_some());
        }
        _ => {}
    }

    // Identity and condition. The cycle count exists only in a real _BIX (rev 0 or 1); 0 means "not
    // counted" on most firmware.
    let rev = r.int("bix.rev");
    if rev.is_some_and(|v| v != BIX_REV_BIF) {
        b.cycle_count = acpi::field(r.int("bix.cycles")).filter(|c| *c > 0);
    }
    b.model = info_text(r, "model");
    b.serial = info_text(r, "serial");
    b.vendor = info_text(r, "oeminfo");
    b.technology = info_text(r, "type").map_or(Technology::Unknown, |t| Technology::parse(&t));
    Ok(b)
}

/// One `Label: value` line of acpiconf output: line number, label, value.
type AcpiconfLine = (usize, String, String);

/// Reads `acpiconf -i N` output (one or several batteries, as `acpiconf(8)` prints them) into records.
///
/// The labels map back to the ioctl fields acpiconf printed them from (`usr.sbin/acpi/acpiconf/acpiconf.c`):
/// "unknown" becomes `ACPI_BATT_UNKNOWN` (or −1 for the `battinfo` fields), the unit suffix (`mWh`/`mAh`)
/// becomes `units`, the state word becomes the bits acpiconf decoded it from. Lines acpiconf does not
/// print are skipped if they are shell prompts (`$ acpiconf -i 1` names the unit) and are an error
/// otherwise. Fields of the `_BIX`-only lines (cycle count, accuracy, …) make the record a `bix` one;
/// without them it is `bif`.
///
/// # Errors
/// A [`ParseError`] naming the first line that is not `Label: value`, or when there is no battery block.
pub fn parse_acpiconf(text: &str) -> Result<Vec<RawDevice>, ParseError> {
    let mut blocks: Vec<(Option<String>, Vec<AcpiconfLine>)> = Vec::new();
    let mut pending_unit: Option<String> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(cmd) = line.strip_prefix('$').or_else(|| line.strip_prefix('%')) {
            pending_unit = cmd
                .split_whitespace()
                .skip_while(|w| *w != "-i")
                .nth(1)
                .filter(|u| u.chars().all(|c| c.is_ascii_digit()))
                .map(str::to_owned);
            continue;
        }
        let Some((label, value)) = line.split_once(':') else {
            return Err(ParseError::new(
                i + 1,
                format!(
                    "expected an acpiconf `Label: value` line, found `{}`",
                    clip(line)
                ),
            ));
        };
        let label = label.trim().to_owned();
        if label == "Design capacity" || blocks.is_empty() {
            blocks.push((pending_unit.take(), Vec::new()));
        }
        if let Some(block) = blocks.last_mut() {
            block.1.push((i + 1, label, value.trim().to_owned()));
        }
    }
    if blocks.is_empty() {
        return Err(ParseError::new(0, "no acpiconf battery output found"));
    }
    Ok(blocks
        .into_iter()
        .enumerate()
        .map(|(n, (unit, lines))| {
            let id = format!("battery{}", unit.unwrap_or_else(|| n.to_string()));
            RawDevice::new(Os::FreeBsd, id, acpiconf_record(&lines))
        })
        .collect())
}

#[allow(clippy::too_many_lines)] // one arm per acpiconf label
fn acpiconf_record(lines: &[AcpiconfLine]) -> Record {
    let has_bix = lines.iter().any(|(_, l, _)| {
        matches!(
            l.as_str(),
            "Cycle Count"
                | "Measurement Accuracy"
                | "Max Sampling Time"
                | "Min Sampling Time"
                | "Max Average Interval"
                | "Min Average Interval"
                | "Battery Swappable Capability"
        )
    });
    let p = if has_bix { "bix" } else { "bif" };
    let mut r = Record::new();
    let unknown = Value::Int(acpi::UNKNOWN);
    // The first number of a value (`71100 mWh` → 71100) or the unknown word.
    let number = |v: &str| -> Option<Value> {
        if v.eq_ignore_ascii_case("unknown") {
            return Some(unknown.clone());
        }
        let n = v.split(|c: char| !c.is_ascii_digit() && c != '-').next()?;
        n.parse::<i64>().ok().map(Value::Int)
    };
    let mut units: Option<i64> = None;
    let mut note_units = |v: &str| {
        if units.is_none() {
            if v.ends_with("mWh") || v.ends_with("mW") {
                units = Some(0);
            } else if v.ends_with("mAh") || v.ends_with("mA") || v.contains(" mA (") {
                units = Some(1);
            }
        }
    };
    for (_, label, value) in lines {
        let key = match label.as_str() {
            "Design capacity" => "dcap",
            "Last full capacity" => "lfcap",
            "Design voltage" => "dvol",
            "Capacity (warn)" => "wcap",
            "Capacity (low)" => "lcap",
            "Low/warn granularity" => "gra1",
            "Warn/full granularity" => "gra2",
            "Cycle Count" => "cycles",
            "Max Sampling Time" => "stmax",
            "Min Sampling Time" => "stmin",
            "Max Average Interval" => "aimax",
            "Min Average Interval" => "aimin",
            "Model number" | "Serial number" | "Type" | "OEM info" => {
                let key = match label.as_str() {
                    "Model number" => "model",
                    "Serial number" => "serial",
                    "Type" => "type",
                    _ => "oeminfo",
                };
                r.push(format!("{p}.{key}"), Value::Str(value.clone()));
                continue;
            }
            "Technology" => {
                // acpiconf prints "primary (non-rechargeable)" for btech 0, anything else otherwise.
                let btech = i64::from(!value.starts_with("primary"));
                r.push(format!("{p}.btech"), Value::Int(btech));
                continue;
            }
            "Measurement Accuracy" => {
                // Printed as accuracy / 1000 with a % sign.
                if let Some(Value::Int(pct)) = number(value) {
                    r.push(format!("{p}.accuracy"), Value::Int(pct * 1000));
                }
                continue;
            }
            "Battery Swappable Capability" => {
                let scap = match value.as_str() {
                    "Non-swappable" => Some(0),
                    "cold swap" => Some(1),
                    "hot swap" => Some(0x10),
                    _ => None,
                };
                if let Some(s) = scap {
                    r.push(format!("{p}.scap"), Value::Int(s));
                }
                continue;
            }
            "State" => {
                // The inverse of acpiconf's switch over battinfo.state & ACPI_BATT_STAT_BST_MASK.
                let bits = match value.as_str() {
                    "high" => Some(0),
                    "discharging" => Some(1),
                    "charging" => Some(2),
                    "critical" => Some(4),
                    "critical discharging" => Some(5),
                    "critical charging" => Some(6),
                    "invalid" => Some(3),
                    "not present" => Some(STAT_NOT_PRESENT),
                    _ => None,
                };
                if let Some(bits) = bits {
                    r.push("battinfo.state", Value::Int(bits));
                }
                continue;
            }
            "Remaining capacity" => {
                let v = if value == "unknown" {
                    Some(-1)
                } else {
                    value.trim_end_matches('%').trim().parse::<i64>().ok()
                };
                if let Some(v) = v {
                    r.push("battinfo.cap", Value::Int(v));
                }
                continue;
            }
            "Remaining time" => {
                let min = if value == "unknown" {
                    Some(-1)
                } else {
                    value.split_once(':').and_then(|(h, m)| {
                        Some(h.trim().parse::<i64>().ok()? * 60 + m.trim().parse::<i64>().ok()?)
                    })
                };
                if let Some(m) = min {
                    r.push("battinfo.min", Value::Int(m));
                }
                continue;
            }
            "Present rate" => {
                note_units(value.split(" (").next().unwrap_or(value));
                let v = if value == "unknown" {
                    Some(Value::Int(-1))
                } else {
                    number(value)
                };
                if let Some(v) = v {
                    r.push("battinfo.rate", v);
                }
                continue;
            }
            "Present voltage" => {
                if let Some(v) = number(value) {
                    r.push("bst.volt", v);
                }
                continue;
            }
            _ => continue,
        };
        if matches!(key, "dcap" | "lfcap" | "wcap" | "lcap" | "gra1" | "gra2") {
            note_units(value);
        }
        if let Some(v) = number(value) {
            r.push(format!("{p}.{key}"), v);
        }
    }
    if let Some(u) = units {
        r.push(format!("{p}.units"), Value::Int(u));
    }
    if has_bix {
        // acpiconf prints the _BIX-only lines only for a real _BIX (rev ≥ 0, not synthesised from _BIF).
        let rev = i64::from(
            lines
                .iter()
                .any(|(_, l, _)| l == "Battery Swappable Capability"),
        );
        r.push("bix.rev", Value::Int(rev));
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record;

    const ACPICONF: &str = "Design capacity:\t71100 mWh\nLast full capacity:\t56610 mWh\n\
        Technology:\t\tsecondary (rechargeable)\nDesign voltage:\t\t11220 mV\nCapacity (warn):\t2830 mWh\n\
        Capacity (low):\t\t200 mWh\nLow/warn granularity:\t1 mWh\nWarn/full granularity:\t1 mWh\n\
        Model number:\t\t45N1738\nSerial number:\t\t3787\nType:\t\t\tLION\nOEM info:\t\tLGC\n\
        State:\t\t\tdischarging\nRemaining capacity:\t73%\nRemaining time:\t\t3:00\n\
        Present rate:\t\t13770 mW\nPresent voltage:\t11700 mV\n";

    fn rec(pairs: &[(&str, i64)]) -> RawDevice {
        let mut r = Record::new();
        for (k, v) in pairs {
            r.push(*k, Value::Int(*v));
        }
        RawDevice::new(Os::FreeBsd, "battery0", r)
    }

    fn one(pairs: &[(&str, i64)]) -> Battery {
        decode_one(&rec(pairs), None).unwrap_or_else(|s| panic!("{s:?}"))
    }

    const MW: [(&str, i64); 6] = [
        ("bix.units", 0),
        ("bix.dcap", 50000),
        ("bix.lfcap", 40000),
        ("bix.dvol", 11000),
        ("bst.cap", 20000),
        ("bst.volt", 12000),
    ];

    #[test]
    fn acpiconf_output_reads_back_into_ioctl_fields() {
        let devs = parse_acpiconf(ACPICONF).unwrap_or_default();
        assert_eq!(devs.len(), 1);
        let r = &devs[0].record;
        assert_eq!(devs[0].id, "battery0");
        assert_eq!(r.int("bif.units"), Some(0));
        assert_eq!(r.int("bif.dcap"), Some(71100));
        assert_eq!(r.int("battinfo.min"), Some(180));
        assert_eq!(r.int("battinfo.state"), Some(1));
        assert_eq!(r.int("battinfo.rate"), Some(13770));
        assert_eq!(r.text("bif.oeminfo").as_deref(), Some("LGC"));
        let b = decode_one(&devs[0], None).unwrap_or_else(|s| panic!("{s:?}"));
        assert_eq!(b.percentage, Some(73.0));
        assert_eq!(b.state, State::Discharging);
        assert_eq!(b.time_to_empty, Some(Duration::from_secs(10800)));
        assert_eq!(b.power_w, Some(13.77));
        assert!(b.derived.contains(Field::Energy));
    }

    #[test]
    fn acpiconf_unknowns_prompt_unit_and_ma_rate() {
        let text = "$ acpiconf -i 1\nDesign capacity:\tunknown\nLast full capacity:\t4000 mAh\n\
            Design voltage:\t\tunknown\nState:\t\t\tcharging\nRemaining capacity:\tunknown\n\
            Remaining time:\t\tunknown\nPresent rate:\t\t1000 mA (12000 mW)\nPresent voltage:\tunknown\n";
        let devs = parse_acpiconf(text).unwrap_or_default();
        assert_eq!(devs[0].id, "battery1");
        let r = &devs[0].record;
        assert_eq!(r.int("bif.dcap"), Some(acpi::UNKNOWN));
        assert_eq!(r.int("bif.units"), Some(1));
        assert_eq!(r.int("battinfo.cap"), Some(-1));
        assert_eq!(r.int("battinfo.rate"), Some(1000));
        let b = decode_one(&devs[0], None).unwrap_or_else(|s| panic!("{s:?}"));
        assert_eq!(b.percentage, None);
        assert_eq!(
            b.energy_full_wh, None,
            "no voltage at all: no invented energy"
        );
        assert_eq!(b.current_a, Some(1.0));
        assert_eq!(b.state, State::Charging);
    }

    #[test]
    fn acpiconf_garbage_line_is_an_error_with_its_number() {
        let err = parse_acpiconf("Design capacity:\t1 mWh\nthis is not acpiconf\n").err();
        assert_eq!(err.map(|e| e.line), Some(2));
        assert!(parse_acpiconf("").is_err());
    }

    #[test]
    fn milliwatt_units_read_directly() {
        let mut p = MW.to_vec();
        p.extend([("bst.state", 1), ("bst.rate", 10000)]);
        let b = one(&p);
        assert_eq!(b.energy_full_wh, Some(40.0));
        assert_eq!(b.energy_wh, Some(20.0));
        assert_eq!(b.percentage, Some(50.0));
        assert!(b.derived.contains(Field::Percentage));
        assert!(!b.derived.contains(Field::Energy));
        assert_eq!(b.power_w, Some(10.0));
        assert_eq!(b.health_percent, Some(80.0));
        assert_eq!(b.time_to_empty, Some(Duration::from_secs(7200)));
    }

    #[test]
    fn milliamp_units_convert_with_design_voltage() {
        let b = one(&[
            ("bix.units", 1),
            ("bix.dcap", 5000),
            ("bix.lfcap", 4000),
            ("bix.dvol", 11000),
            ("bst.cap", 2000),
            ("bst.volt", 12500),
            ("bst.state", 1),
            ("bst.rate", 1000),
        ]);
        assert_eq!(b.energy_full_wh, Some(44.0));
        assert_eq!(b.energy_wh, Some(22.0));
        assert!(b.derived.contains(Field::EnergyFull) && b.derived.contains(Field::Energy));
        assert_eq!(b.current_a, Some(1.0));
        assert_eq!(b.power_w, Some(11.0));
        assert!(b.derived.contains(Field::Power));
        // Time = charge ÷ current: 2 Ah ÷ 1 A.
        assert_eq!(b.time_to_empty, Some(Duration::from_secs(7200)));
        assert_eq!(b.health_percent, Some(80.0));
        // Unknown design voltage: the present voltage converts.
        let b = one(&[
            ("bix.units", 1),
            ("bix.lfcap", 4000),
            ("bix.dvol", acpi::UNKNOWN),
            ("bst.volt", 12500),
        ]);
        assert_eq!(b.energy_full_wh, Some(50.0));
    }

    #[test]
    fn unknown_unit_value_keeps_ratios_only() {
        let b = one(&[
            ("bix.units", 7),
            ("bix.dcap", 5000),
            ("bix.lfcap", 4000),
            ("bst.cap", 1000),
        ]);
        assert_eq!(b.energy_full_wh, None);
        assert_eq!(b.percentage, Some(25.0));
        assert_eq!(b.health_percent, Some(80.0));
    }

    #[test]
    fn every_sentinel_is_unknown() {
        let u = acpi::UNKNOWN;
        let b = one(&[
            ("bix.units", 0),
            ("bix.dcap", u),
            ("bix.lfcap", u),
            ("bix.dvol", u),
            ("bst.cap", u),
            ("bst.rate", u),
            ("bst.volt", u),
            ("bst.state", 1),
            ("battinfo.cap", -1),
            ("battinfo.min", -1),
            ("battinfo.rate", -1),
        ]);
        assert_eq!(
            (
                b.energy_full_design_wh,
                b.energy_full_wh,
                b.energy_wh,
                b.power_w,
                b.voltage_v
            ),
            (None, None, None, None, None)
        );
        assert_eq!(
            (b.percentage, b.time_to_empty, b.health_percent),
            (None, None, None)
        );
        // The 16-bit "Ones" rate.
        let b = one(&[("bix.units", 0), ("bst.rate", 0xffff), ("bst.state", 1)]);
        assert_eq!(b.power_w, None);
    }

    #[test]
    fn not_present_unit_is_skipped() {
        let err = decode_one(&rec(&[("bst.state", 7)]), None).err();
        assert!(err.is_some_and(|s| s.reason.contains("not present")));
    }

    #[test]
    fn no_bits_on_ac_is_not_charging_unless_full() {
        let mut p = MW.to_vec();
        p.push(("bst.state", 0));
        let held = decode_one(&rec(&p), Some(true)).unwrap_or_else(|s| panic!("{s:?}"));
        assert_eq!(held.state, State::NotCharging);
        assert!(held.derived.contains(Field::State));
        let mut p = MW.to_vec();
        p[4] = ("bst.cap", 39500);
        p.push(("bst.state", 0));
        let full = decode_one(&rec(&p), Some(true)).unwrap_or_else(|s| panic!("{s:?}"));
        assert_eq!(full.state, State::Full);
        // The battery's own hw.acpi.acline wins over the sibling AC record.
        let mut p = MW.to_vec();
        p.extend([("bst.state", 0), (ACLINE, 1)]);
        assert_eq!(one(&p).state, State::NotCharging);
    }

    #[test]
    fn charging_time_to_full_in_native_units() {
        let mut p = MW.to_vec();
        p.extend([("bst.state", 2), ("bst.rate", 20000), ("battinfo.min", -1)]);
        let b = one(&p);
        assert_eq!(b.state, State::Charging);
        assert_eq!(b.time_to_full, Some(Duration::from_secs(3600)));
        assert_eq!(b.time_to_empty, None);
    }

    #[test]
    fn kernel_minutes_preferred_and_zero_only_when_empty() {
        let mut p = MW.to_vec();
        p.extend([("bst.state", 1), ("bst.rate", 10000), ("battinfo.min", 95)]);
        assert_eq!(one(&p).time_to_empty, Some(Duration::from_secs(95 * 60)));
        let mut p = MW.to_vec();
        p.extend([
            ("bst.state", 1),
            ("bst.rate", 10000),
            ("battinfo.min", 0),
            ("battinfo.cap", 50),
        ]);
        assert_eq!(
            one(&p).time_to_empty,
            Some(Duration::from_secs(7200)),
            "0 min at 50 % is bogus"
        );
    }

    #[test]
    fn cycles_only_from_a_real_bix() {
        let b = one(&[("bix.rev", 0), ("bix.cycles", 363)]);
        assert_eq!(b.cycle_count, Some(363));
        let b = one(&[("bix.rev", 0xffff), ("bix.cycles", 363)]);
        assert_eq!(b.cycle_count, None);
        let b = one(&[("bix.rev", 1), ("bix.cycles", acpi::UNKNOWN)]);
        assert_eq!(b.cycle_count, None);
        let b = one(&[("bix.rev", 1), ("bix.cycles", 0)]);
        assert_eq!(b.cycle_count, None);
    }

    #[test]
    fn ac_record_becomes_a_source_and_context() {
        let mut ac = Record::new();
        ac.push(ACLINE, Value::Int(1));
        let mut bat = Record::new();
        for (k, v) in MW {
            bat.push(k, Value::Int(v));
        }
        bat.push("bst.state", Value::Int(0));
        let devices = vec![
            RawDevice::new(Os::FreeBsd, "battery0", bat),
            RawDevice::new(Os::FreeBsd, "acpi_acad0", ac),
        ];
        let d = crate::decode::decode(&devices);
        assert_eq!(d.power_sources.len(), 1);
        assert_eq!(d.power_sources[0].online, Some(true));
        assert_eq!(d.batteries[0].state, State::NotCharging);
        assert_eq!(d.batteries[0].external_power, Some(true));
    }

    #[test]
    fn record_round_trip_decodes_identically() {
        let mut r = Record::new();
        for (k, v) in MW {
            r.push(k, Value::Int(v));
        }
        r.push("bix.rev", Value::Int(0));
        r.push("bix.cycles", Value::Int(42));
        r.push("bix.model", Value::Str("45N1738\u{0}".into()));
        r.push("bst.state", Value::Int(2));
        r.push("bst.rate", Value::Int(15000));
        r.push("battinfo.min", Value::Int(-1));
        let devices = vec![RawDevice::new(Os::FreeBsd, "battery0", r)];
        let text = record::print(&devices);
        let back = crate::replay::parse_recording(text.as_bytes()).unwrap_or_default();
        assert_eq!(back, devices);
        assert_eq!(
            crate::decode::decode(&back),
            crate::decode::decode(&devices)
        );
    }

    #[test]
    fn garbage_never_panics_or_yields_nan() {
        let mut r = Record::new();
        r.push("bix.units", Value::Str("mW".into()));
        r.push("bix.lfcap", Value::Int(i64::MAX));
        r.push("bix.dcap", Value::Int(i64::MIN));
        r.push("bst.cap", Value::Float(f64::NAN));
        r.push("bst.rate", Value::Int(-5));
        r.push("bst.state", Value::Int(i64::MAX));
        r.push("battinfo.cap", Value::Int(1000));
        r.push("battinfo.min", Value::Int(i64::MAX));
        let b = decode_one(&RawDevice::new(Os::FreeBsd, "x", r), None)
            .unwrap_or_else(|s| panic!("{s:?}"));
        assert_eq!(
            (b.percentage, b.energy_full_wh, b.time_to_empty),
            (None, None, None)
        );
    }
}
