//! macOS and iOS: IOKit registry entries (`AppleSmartBattery`, class `IOPMPowerSource`) and
//! IOPowerSources descriptions → model.
//!
//! Registry units (`IOPM.h`, `AppleSmartBatteryManager/AppleSmartBattery.cpp` in Apple's PowerManagement
//! sources; platforms.md §2.2): mAh, mV, signed mA (negative = discharging), minutes (65535 = "not
//! available", the Smart Battery convention), `Temperature` in tenths of a kelvin on macOS (§2.6, and
//! PLATFORMS.md for the evidence), `VirtualTemperature` in hundredths of a degree Celsius. On Apple Silicon
//! `CurrentCapacity` / `MaxCapacity` are percent and the mAh moved to `AppleRaw*` keys; the newest macOS
//! moves more keys into the nested `BatteryData` dictionary, so both places are read.
//!
//! IOPowerSources descriptions (`IOPSKeys.h`) come as their own devices, named `IOPowerSources:<Name>`:
//! the internal battery's one only lends powerd's time estimate (what the menu bar shows) to the registry
//! battery it describes, so that battery is never listed twice; UPSes and accessories are batteries of
//! their own.

pub mod ioreg;

use std::time::Duration;

use super::{Decoded, Skipped, clean_text};
use crate::battery::{Battery, Date, Kind, State, Technology};
use crate::derived::{self, Field};
use crate::record::{RawDevice, Record, Value};
use crate::source::{PowerSource, SourceKind};

/// The id prefix of devices that hold an IOPowerSources description (`IOPowerSources:InternalBattery-0`).
pub const IOPS_PREFIX: &str = "IOPowerSources:";

/// The Smart Battery "not available" word: times, capacities and voltages of 65535 mean "no value"
/// (SBS 1.1; the kext passes gauge registers through, `AppleSmartBattery.cpp`).
const SBS_INVALID: i64 = 65_535;

/// `UsbHvcHvcIndex` of an adapter no voltage level was chosen from (seen on the second of two attached
/// USB-PD adapters, darrylmorley/whatcable#95).
const HVC_NONE: i64 = 255;

/// Decodes the macOS devices of one machine: registry entries first, then IOPowerSources descriptions.
pub fn decode(devices: &[&RawDevice], out: &mut Decoded) {
    let (iops, registry): (Vec<&RawDevice>, Vec<&RawDevice>) =
        devices.iter().copied().partition(|d| is_iops(d));
    // Registry batteries: (index into out.batteries, serial) for pairing with IOPS descriptions.
    let mut registry_batteries: Vec<(usize, Option<String>)> = Vec::new();
    let mut no_battery_installed = false;
    for device in &registry {
        match decode_registry(device) {
            Ok((batteries, sources)) => {
                for b in batteries {
                    registry_batteries.push((out.batteries.len(), b.serial.clone()));
                    out.batteries.push(b);
                }
                out.power_sources.extend(sources);
            }
            Err(Skip {
                skipped,
                no_battery,
            }) => {
                no_battery_installed |= no_battery;
                out.skipped.push(skipped);
            }
        }
    }
    let mut paired = vec![false; registry_batteries.len()];
    for device in iops {
        let r = &device.record;
        if r.bool("Is Present") == Some(false) {
            out.skipped.push(Skipped::new(
                device.id.clone(),
                "power source not present (Is Present = No)",
            ));
            continue;
        }
        if iops_kind(r) == IopsKind::Internal && !registry.is_empty() {
            let serial = r
                .text("Hardware Serial Number")
                .and_then(|s| clean_text(&s));
            let pick = registry_batteries
                .iter()
                .enumerate()
                .position(|(i, (_, s))| !paired[i] && serial.is_some() && *s == serial)
                .or_else(|| paired.iter().position(|p| !p));
            if let Some(i) = pick {
                paired[i] = true;
                let battery = &mut out.batteries[registry_batteries[i].0];
                lend_iops_times(battery, r);
                let reason = format!(
                    "the same battery as {}: powerd's time estimate is used there",
                    battery.id
                );
                out.skipped.push(Skipped::new(device.id.clone(), reason));
                continue;
            }
            if no_battery_installed {
                out.skipped.push(Skipped::new(
                    device.id.clone(),
                    "the registry says no battery is installed",
                ));
                continue;
            }
        }
        out.push(decode_iops(device));
    }
}

/// The registry device a battery id names: the battery of each bay of an old multi-bay entry is
/// `<entry>[<bay>]` (see `decode_registry`) and is read from the entry `<entry>`; every other battery id
/// is its device's.
#[must_use]
pub fn registry_device_id(battery_id: &str) -> &str {
    battery_id
        .strip_suffix(']')
        .and_then(|rest| rest.rsplit_once('['))
        .filter(|(entry, bay)| {
            !entry.is_empty() && !bay.is_empty() && bay.bytes().all(|b| b.is_ascii_digit())
        })
        .map_or(battery_id, |(entry, _)| entry)
}

/// Whether a device holds an IOPowerSources description rather than registry properties.
fn is_iops(device: &RawDevice) -> bool {
    device.id.starts_with(IOPS_PREFIX)
        || device.record.contains("Power Source State")
        || device.record.contains("Transport Type")
}

/// A registry entry that is not shown, and whether that is because it has no battery at all.
struct Skip {
    skipped: Skipped,
    no_battery: bool,
}

impl Skip {
    fn new(id: &str, reason: impl Into<String>) -> Self {
        Skip {
            skipped: Skipped::new(id, reason),
            no_battery: false,
        }
    }
}

/// Keys that make a registry entry a battery (`IOPM.h` `kIOPMPS…`, `AppleSmartBatteryKeys.h`).
const BATTERY_KEYS: [&str; 15] = [
    "CurrentCapacity",
    "MaxCapacity",
    "DesignCapacity",
    "AppleRawCurrentCapacity",
    "AppleRawMaxCapacity",
    "NominalChargeCapacity",
    "IsCharging",
    "FullyCharged",
    "BatteryData",
    "Amperage",
    "Voltage",
    "CycleCount",
    "TimeRemaining",
    "AvgTimeToEmpty",
    "Temperature",
];

fn decode_registry(device: &RawDevice) -> Result<(Vec<Battery>, Vec<PowerSource>), Skip> {
    let id = device.id.as_str();
    let r = &device.record;
    if r.bool("BatteryInstalled") == Some(false) {
        // Desktop Macs (the M4 Mac mini) publish an AppleSmartBattery entry with no battery behind it,
        // and tools that list it show a 0 % "ghost" battery (distatus/battery#34).
        return Err(Skip {
            skipped: Skipped::new(
                id,
                "no battery installed (BatteryInstalled = No): this Mac publishes a battery entry without a battery",
            ),
            no_battery: true,
        });
    }
    let reported_external = r.bool("ExternalConnected");
    let (sources, attached) = adapter_sources(id, r, reported_external);
    // A listed adapter means external power where the flag itself was cut from a capture; adapter
    // details are cleared to zeros on unplug (raycast/extensions#15996 capture).
    let external = reported_external.or(attached.then_some(true));
    if BATTERY_KEYS.iter().any(|k| r.contains(k)) {
        return Ok((vec![decode_smart_battery(id, r, external)], sources));
    }
    if let Some(entries) = legacy_entries(r) {
        let many = entries.len() > 1;
        let mut batteries = Vec::new();
        for (i, e) in entries.into_iter().enumerate() {
            let bid = if many {
                format!("{id}[{i}]")
            } else {
                id.to_owned()
            };
            if let Some(b) = decode_legacy(bid, e, external) {
                batteries.push(b);
            }
        }
        if batteries.is_empty() {
            return Err(Skip {
                skipped: Skipped::new(
                    id,
                    "no battery installed (IOBatteryInfo Flags lack the installed bit)",
                ),
                no_battery: true,
            });
        }
        return Ok((batteries, sources));
    }
    if !sources.is_empty() {
        return Ok((Vec::new(), sources));
    }
    Err(Skip::new(
        id,
        "no battery values in this power-source entry",
    ))
}

/// What `CurrentCapacity` / `MaxCapacity` count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CapacityUnit {
    /// Apple Silicon: percent (`MaxCapacity` is always 100).
    Percent,
    /// Intel: mAh.
    MilliampHours,
}

/// Keys only the Apple Silicon branch of the battery driver publishes (`AppleSmartBattery.cpp`
/// `TARGET_OS_OSX_AS`; platforms.md §2.3). `AppleRaw*` capacities are not among them: Intel Macs publish
/// those too (equal to the mAh in `CurrentCapacity` / `MaxCapacity`).
const APPLE_SILICON_KEYS: [&str; 8] = [
    "NominalChargeCapacity",
    "AbsoluteCapacity",
    "VirtualTemperature",
    "CarrierMode",
    "KioskMode",
    "AppleRawAdapterDetails",
    "ChargerData",
    "PowerTelemetryData",
];

/// Whether `CurrentCapacity` / `MaxCapacity` are percent (Apple Silicon) or mAh (Intel).
///
/// `MaxCapacity` settles it: Apple Silicon publishes 100 whatever the wear, and no Mac pack holds only
/// 100 mAh. Without it (a cut or grepped capture) a `CurrentCapacity` above 100 is mAh; one of 100 or less
/// is percent when the entry has Apple Silicon's keys or an `AppleRawCurrentCapacity` that differs from it
/// (on Intel the two are the same mAh), mAh when they are equal, and unknown otherwise.
fn capacity_unit(r: &Record, bd: Option<&Record>) -> Option<CapacityUnit> {
    let get = |k: &str| r.int(k).or_else(|| bd.and_then(|d| d.int(k)));
    if let Some(max) = get("MaxCapacity") {
        return Some(if max <= 100 {
            CapacityUnit::Percent
        } else {
            CapacityUnit::MilliampHours
        });
    }
    let current = get("CurrentCapacity")?;
    if current > 100 {
        return Some(CapacityUnit::MilliampHours);
    }
    let raw = get("AppleRawCurrentCapacity");
    if APPLE_SILICON_KEYS.iter().any(|k| r.contains(k)) || raw.is_some_and(|raw| raw != current) {
        Some(CapacityUnit::Percent)
    } else if raw == Some(current) {
        Some(CapacityUnit::MilliampHours)
    } else {
        None
    }
}

/// Reads a key at the top level, else in `BatteryData` (where the newest macOS moves it).
#[derive(Clone, Copy)]
struct Keys<'a> {
    top: &'a Record,
    data: Option<&'a Record>,
}

impl<'a> Keys<'a> {
    fn get(self, key: &str) -> Option<&'a Value> {
        self.top
            .get(key)
            .or_else(|| self.data.and_then(|d| d.get(key)))
    }

    fn int(self, key: &str) -> Option<i64> {
        self.get(key).and_then(Value::as_int)
    }

    /// A Smart Battery word that must be positive and not the 65535 sentinel (mAh, mV, minutes).
    fn word(self, key: &str) -> Option<f64> {
        self.int(key)
            .filter(|v| (1..SBS_INVALID).contains(v))
            .map(|v| v as f64)
    }

    fn text(self, key: &str) -> Option<String> {
        self.get(key)
            .and_then(Value::as_text)
            .and_then(|t| clean_text(&t))
    }
}

#[allow(clippy::too_many_lines)] // one table of rules, read top to bottom
fn decode_smart_battery(id: &str, r: &Record, external: Option<bool>) -> Battery {
    let k = Keys {
        top: r,
        data: r.dict("BatteryData"),
    };
    let mut b = Battery::new(id, Kind::System);
    b.external_power = external;
    let unit = capacity_unit(r, k.data);

    // Charges in mAh. AppleRaw* are the gauge's mAh on both architectures; on Intel CurrentCapacity and
    // MaxCapacity are the same mAh (Apple Silicon: percent, not used here).
    let in_mah = |key: &str| {
        if unit == Some(CapacityUnit::MilliampHours) {
            k.word(key)
        } else {
            None
        }
    };
    let full = k
        .word("AppleRawMaxCapacity")
        .or_else(|| in_mah("MaxCapacity"));
    let nominal = k.word("NominalChargeCapacity");
    let design = k.word("DesignCapacity");
    // A remaining charge far above the full charge is a gauge error, not a fuller battery.
    let charge = |key: &str| {
        k.int(key)
            .filter(|v| (0..SBS_INVALID).contains(v))
            .map(|v| v as f64)
    };
    let now = charge("AppleRawCurrentCapacity")
        .or_else(|| {
            if unit == Some(CapacityUnit::MilliampHours) {
                charge("CurrentCapacity")
            } else {
                None
            }
        })
        .filter(|now| full.or(nominal).is_none_or(|f| *now <= f * 1.1));

    // Percentage: what the battery menu shows. Apple Silicon reports it (CurrentCapacity %); on Intel it
    // is CurrentCapacity ÷ MaxCapacity in mAh, as powerd computes it (BatteryTimeRemaining.m).
    let current_capacity = k.int("CurrentCapacity").map(|v| v as f64);
    let max_capacity = k.int("MaxCapacity").map(|v| v as f64);
    b.percentage = match (unit, current_capacity) {
        (Some(CapacityUnit::Percent), Some(cur)) => match max_capacity {
            Some(max) if max > 0.0 && (max - 100.0).abs() > f64::EPSILON => {
                b.derived.insert(Field::Percentage);
                derived::percentage_from(cur, max)
            }
            Some(max) if max <= 0.0 => None,
            _ => derived::sane_percentage(cur),
        },
        (Some(CapacityUnit::MilliampHours), Some(cur)) => {
            b.derived.insert(Field::Percentage);
            max_capacity.and_then(|max| derived::percentage_from(cur, max))
        }
        _ => None,
    };
    if b.percentage.is_none() {
        b.derived.remove(Field::Percentage);
        // The gauge's own state of charge (BatteryData.StateOfCharge), else mAh ÷ mAh.
        b.percentage = k
            .int("StateOfCharge")
            .and_then(|v| derived::sane_percentage(v as f64));
        if b.percentage.is_none() {
            b.percentage = now
                .zip(full.or(nominal))
                .and_then(|(now, full)| derived::percentage_from(now, full));
            b.derived
                .insert_if(Field::Percentage, b.percentage.is_some());
        }
    }

    // Health: the nominal full charge (what Settings' "Maximum Capacity" uses on Apple Silicon), else the
    // gauge's full charge, over the design charge. Never MaxCapacity on Apple Silicon: that is 100 %, and
    // 100 ÷ DesignCapacity is the "1 %" other tools print (svartalf/rust-battery#102).
    b.health_percent = nominal
        .or(full)
        .zip(design)
        .and_then(|(full, design)| derived::health(full, design));

    // Voltage (mV): the pack voltage, else BatteryData's, else the raw gauge reading.
    b.voltage_v = k
        .word("Voltage")
        .or_else(|| k.word("AppleRawBatteryVoltage"))
        .map(|mv| mv / 1000.0);

    // Energy = charge × the present pack voltage. macOS publishes no design or nominal voltage
    // (platforms.md §2.3), and one common factor keeps energy ÷ full equal to the gauge's charge ratio.
    // The watt-hours are therefore estimates (they move a few percent with load) and marked derived.
    energies_from_mah(&mut b, now, full.or(nominal), design);
    let amps_ma = current_from_amperage(&mut b, k.int("Amperage"));

    decide_state(&mut b, r, amps_ma, now, full);

    // Times: the gauge's own minutes where valid, else charge ÷ current.
    let minutes = |key: &str, cap: Duration| {
        k.word(key)
            .map(|m| Duration::from_secs(m as u64 * 60))
            .filter(|d| *d <= cap)
    };
    let now_ah = now.map(|v| v / 1000.0);
    let full_ah = full.or(nominal).map(|v| v / 1000.0);
    match b.state {
        State::Discharging => {
            // TimeRemaining is the driver's pick: time to empty whenever not on AC (AppleSmartBattery.cpp).
            b.time_to_empty = minutes("AvgTimeToEmpty", derived::MAX_TIME_TO_EMPTY)
                .or_else(|| {
                    (external != Some(true))
                        .then(|| minutes("TimeRemaining", derived::MAX_TIME_TO_EMPTY))
                        .flatten()
                })
                .or_else(|| minutes("InstantTimeToEmpty", derived::MAX_TIME_TO_EMPTY));
            if b.time_to_empty.is_none() {
                b.time_to_empty = now_ah
                    .zip(b.current_a)
                    .and_then(|(ah, a)| derived::time_to_empty(ah, a));
                b.derived
                    .insert_if(Field::TimeToEmpty, b.time_to_empty.is_some());
            }
        }
        State::Charging => {
            b.time_to_full = minutes("AvgTimeToFull", derived::MAX_TIME_TO_FULL).or_else(|| {
                (external == Some(true))
                    .then(|| minutes("TimeRemaining", derived::MAX_TIME_TO_FULL))
                    .flatten()
            });
            if b.time_to_full.is_none() {
                b.time_to_full = match (now_ah, full_ah, b.current_a) {
                    (Some(now), Some(full), Some(a)) => derived::time_to_full(now, full, a),
                    _ => None,
                };
                b.derived
                    .insert_if(Field::TimeToFull, b.time_to_full.is_some());
            }
        }
        _ => {}
    }

    b.temperature_c = temperature(k.int("Temperature"), k.int("VirtualTemperature"));
    // The gauge's CycleCount register: 0 is a real count on a new pack here (the sysfs "0 = not
    // available" convention is Linux's); 65535 is the Smart Battery "no value".
    b.cycle_count = k
        .int("CycleCount")
        .filter(|c| (0..SBS_INVALID).contains(c))
        .and_then(|c| u32::try_from(c).ok());
    b.vendor = k.text("Manufacturer");
    b.model = k.text("DeviceName");
    b.serial = k.text("Serial").or_else(|| k.text("BatterySerialNumber"));
    // No chemistry key exists: BatteryData.ChemID is an opaque gauge id (platforms.md §2.7).
    b.technology = Technology::Unknown;
    // The Smart Battery packed date; BatteryData.ManufactureDate (newer macOS) is a different,
    // undocumented encoding (libimobiledevice#1577) and is left alone.
    b.manufacture_date = r.int("ManufactureDate").and_then(sbs_date);
    b
}

/// State from the driver's flags (platforms.md §2.4): off external power → discharging (empty at 0 %);
/// on it → charging, full, or not charging (a charge limit, Optimized Battery Charging, a weak adapter).
/// Flags missing from a cut capture are inferred from the signed current and marked derived.
fn decide_state(
    b: &mut Battery,
    r: &Record,
    amps_ma: Option<f64>,
    now: Option<f64>,
    full: Option<f64>,
) {
    let charging = r.bool("IsCharging");
    let fully = r.bool("FullyCharged");
    let flags: Vec<String> = ["ExternalConnected", "IsCharging", "FullyCharged"]
        .iter()
        .filter_map(|k| {
            r.bool(k)
                .map(|v| format!("{k}={}", if v { "Yes" } else { "No" }))
        })
        .collect();
    b.state_raw = (!flags.is_empty()).then(|| flags.join(" "));
    let at_full = b.percentage.is_some_and(|p| p >= 99.5)
        || now.zip(full).is_some_and(|(now, full)| now >= full);
    match (b.external_power, charging, fully) {
        (Some(false), ..) => {
            b.state = if b.percentage == Some(0.0) {
                State::Empty
            } else {
                State::Discharging
            };
        }
        (Some(true), Some(true), _) => b.state = State::Charging,
        (Some(true), _, Some(true)) => b.state = State::Full,
        (Some(true), Some(false), Some(false)) => {
            b.state = State::NotCharging;
            b.state_reason = not_charging_reason(r);
        }
        (Some(true), Some(false), None) => {
            // FullyCharged is missing on some Macs (starship/rust-battery 0.7.9): full when the charge is.
            b.state = if at_full {
                State::Full
            } else {
                State::NotCharging
            };
            b.state_reason = not_charging_reason(r)
                .or_else(|| Some("FullyCharged not reported; judged from the charge".into()));
            b.derived.insert(Field::State);
        }
        (external, ..) => {
            let inferred = match amps_ma {
                Some(a) if a > 0.0 => Some((State::Charging, "current flows into the battery")),
                Some(a) if a < 0.0 => {
                    Some((State::Discharging, "current flows out of the battery"))
                }
                Some(_) if external == Some(true) && at_full => Some((
                    State::Full,
                    "on external power at a full charge with no current",
                )),
                Some(_) if external == Some(true) && b.percentage.is_some() => Some((
                    State::NotCharging,
                    "on external power with no current below a full charge",
                )),
                _ => None,
            };
            if let Some((state, why)) = inferred {
                b.state = state;
                b.state_reason = Some(format!("charging flags not reported: {why}"));
                b.derived.insert(Field::State);
            }
        }
    }
}

/// Why a battery on external power is neither charging nor full, where a key says.
fn not_charging_reason(r: &Record) -> Option<String> {
    if r.bool("ExternalChargeCapable") == Some(false) {
        return Some("the adapter cannot charge the battery (ExternalChargeCapable = No)".into());
    }
    // kIOPMPSBatteryChargeStatusKey: set when charging was interrupted (IOPM.h).
    if let Some(status) = r.text("ChargeStatus").and_then(|s| clean_text(&s)) {
        let why = match status.as_str() {
            "HighTemperature" => "the battery is too hot",
            "LowTemperature" => "the battery is too cold",
            "HighOrLowTemperature" => "the battery is too hot or too cold",
            "BatteryTemperatureGradient" => "the battery's temperature is uneven",
            _ => "charging interrupted",
        };
        return Some(format!("{why} (ChargeStatus = {status})"));
    }
    let charger = r.dict("ChargerData");
    let nonzero = |key: &str| {
        charger
            .and_then(|c| c.int(key))
            .or_else(|| r.int(key))
            .filter(|v| *v != 0)
    };
    if let Some(v) = nonzero("ChargerInhibitReason") {
        return Some(format!(
            "the charger is inhibited (ChargerInhibitReason = {v:#x})"
        ));
    }
    if let Some(v) = nonzero("NotChargingReason") {
        // Nonzero while a charge limit or Optimized Battery Charging holds the charge (platforms.md §2.10);
        // the bits are undocumented, so the value is shown as it is.
        return Some(format!(
            "charging held by macOS: a charge limit or Optimized Battery Charging (NotChargingReason = {v:#x})"
        ));
    }
    if r.dict("CarrierMode")
        .and_then(|c| c.int("CarrierModeStatus"))
        .is_some_and(|v| v != 0)
    {
        return Some("carrier mode holds the charge (CarrierMode)".into());
    }
    None
}

/// Pack temperature in °C.
///
/// macOS publishes the Smart Battery register unconverted: tenths of a kelvin ("OSX historically uses
/// SmartBattery format directly", `AppleSmartBattery.cpp` `kBTemperatureCmd`). iOS converts it to
/// hundredths of a degree, and both iOS and Apple Silicon Macs publish `VirtualTemperature` in hundredths
/// of a degree. So where `VirtualTemperature` exists, `Temperature` is read in whichever of the two units
/// lands nearer it; without it (Intel Macs) it is tenths of a kelvin. Values outside −40…100 °C are not a
/// working battery.
fn temperature(raw: Option<i64>, virtual_centi: Option<i64>) -> Option<f64> {
    let plausible = |c: f64| derived::finite(c).filter(|c| (-40.0..=100.0).contains(c));
    let reference = virtual_centi
        .filter(|v| *v != 0)
        .and_then(|v| plausible(v as f64 / 100.0));
    let Some(raw) = raw.filter(|v| *v > 0 && *v < SBS_INVALID) else {
        return reference;
    };
    let deci_kelvin = plausible((raw as f64 - 2731.5) / 10.0);
    let centi_celsius = plausible(raw as f64 / 100.0);
    match (reference, deci_kelvin, centi_celsius) {
        (Some(r), Some(dk), Some(cc)) => Some(if (dk - r).abs() <= (cc - r).abs() {
            dk
        } else {
            cc
        }),
        (Some(_), None, cc) => cc,
        (_, dk, _) => dk,
    }
}

/// The Smart Battery `ManufactureDate()` word: day in bits 0–4, month in bits 5–8, year − 1980 above
/// (SBS 1.1 §5.1.26; osquery `battery.mm` reads it so).
fn sbs_date(v: i64) -> Option<Date> {
    if !(1..=0xFFFF).contains(&v) {
        return None;
    }
    Date::new((v >> 9) + 1980, (v >> 5) & 0xF, v & 0x1F)
}

/// The old PMU battery dictionaries: the `IOBatteryInfo` array (one dict per bay) or `LegacyBatteryInfo`.
fn legacy_entries(r: &Record) -> Option<Vec<&Record>> {
    if let Some(items) = r.get("IOBatteryInfo").and_then(Value::as_array) {
        let dicts: Vec<&Record> = items.iter().filter_map(Value::as_dict).collect();
        if !dicts.is_empty() {
            return Some(dicts);
        }
    }
    r.dict("LegacyBatteryInfo").map(|d| vec![d])
}

/// One `IOBatteryInfo` entry (`IOPM.h` `kIOBattery…Key`: `Current`/`Capacity` mAh, `Voltage` mV, signed
/// `Amperage` mA, `Cycle Count`, `Flags` with bit 0 = charger connected, bit 1 = charging, bit 2 =
/// installed; `AbsoluteMaxCapacity` = design mAh on PMU machines). `None` when not installed.
fn decode_legacy(id: String, e: &Record, external: Option<bool>) -> Option<Battery> {
    let flags = e.int("Flags");
    if flags.is_some_and(|f| f & 4 == 0) {
        return None;
    }
    let mut b = Battery::new(id, Kind::System);
    let word = |key: &str| {
        e.int(key)
            .filter(|v| (1..SBS_INVALID).contains(v))
            .map(|v| v as f64)
    };
    let capacity = word("Capacity");
    let current = e
        .int("Current")
        .filter(|v| (0..SBS_INVALID).contains(v))
        .map(|v| v as f64)
        .filter(|c| capacity.is_none_or(|full| *c <= full * 1.1));
    b.percentage = current
        .zip(capacity)
        .and_then(|(now, full)| derived::percentage_from(now, full));
    b.derived
        .insert_if(Field::Percentage, b.percentage.is_some());
    b.health_percent = capacity
        .zip(word("AbsoluteMaxCapacity"))
        .and_then(|(full, design)| derived::health(full, design));
    b.voltage_v = word("Voltage").map(|mv| mv / 1000.0);
    // As for the registry battery: charge × the present voltage.
    energies_from_mah(&mut b, current, capacity, word("AbsoluteMaxCapacity"));
    current_from_amperage(&mut b, e.int("Amperage"));
    b.cycle_count = e
        .int("Cycle Count")
        .filter(|c| (0..SBS_INVALID).contains(c))
        .and_then(|c| u32::try_from(c).ok());
    b.external_power = flags.map(|f| f & 1 != 0).or(external);
    let charging = flags.map(|f| f & 2 != 0);
    b.state_raw = flags.map(|f| format!("Flags={f}"));
    b.state = match (b.external_power, charging) {
        (Some(false), _) if b.percentage == Some(0.0) => State::Empty,
        (Some(false), _) => State::Discharging,
        (Some(true), Some(true)) => State::Charging,
        (Some(true), Some(false)) => {
            // No "full" flag in this format: judged from the charge.
            b.derived.insert(Field::State);
            if current.zip(capacity).is_some_and(|(now, full)| now >= full) {
                State::Full
            } else {
                State::NotCharging
            }
        }
        _ => State::Unknown,
    };
    let ah = |mah: Option<f64>| mah.map(|v| v / 1000.0);
    match b.state {
        State::Discharging => {
            b.time_to_empty = ah(current)
                .zip(b.current_a)
                .and_then(|(now, a)| derived::time_to_empty(now, a));
            b.derived
                .insert_if(Field::TimeToEmpty, b.time_to_empty.is_some());
        }
        State::Charging => {
            b.time_to_full = match (ah(current), ah(capacity), b.current_a) {
                (Some(now), Some(full), Some(a)) => derived::time_to_full(now, full, a),
                _ => None,
            };
            b.derived
                .insert_if(Field::TimeToFull, b.time_to_full.is_some());
        }
        _ => {}
    }
    Some(b)
}

/// Power sources from `AppleRawAdapterDetails` (Apple Silicon: one dict per attached adapter) or, where
/// that lists none, `AdapterDetails` (the active adapter; keys in `IOPM.h`). Adapter dicts of zeros
/// (`FamilyCode` 0 = `kIOPSFamilyCodeDisconnected`) are no adapter. Also says whether any is attached.
fn adapter_sources(
    device_id: &str,
    r: &Record,
    reported_external: Option<bool>,
) -> (Vec<PowerSource>, bool) {
    let prefix = if device_id == ioreg::DEFAULT_ENTRY {
        String::new()
    } else {
        format!("{device_id}:")
    };
    let raw: Vec<(usize, &Record)> = r
        .get("AppleRawAdapterDetails")
        .and_then(Value::as_array)
        .unwrap_or_default()
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.as_dict().map(|d| (i, d)))
        .filter(|(_, d)| adapter_attached(d))
        .collect();
    let external = reported_external.or((!raw.is_empty()).then_some(true));
    let mut sources: Vec<PowerSource> = raw
        .iter()
        .map(|(i, d)| adapter_source(format!("{prefix}AppleRawAdapterDetails[{i}]"), d, external))
        .collect();
    if sources.is_empty()
        && let Some(d) = r.dict("AdapterDetails").filter(|d| adapter_attached(d))
    {
        let external = reported_external.or(Some(true));
        sources.push(adapter_source(
            format!("{prefix}AdapterDetails"),
            d,
            external,
        ));
    }
    let attached = !sources.is_empty();
    (sources, attached)
}

fn adapter_attached(d: &Record) -> bool {
    let positive = |k: &str| d.int(k).is_some_and(|v| v > 0);
    d.int("FamilyCode").is_some_and(|v| v != 0)
        || positive("Watts")
        || positive("Current")
        || positive("AdapterVoltage")
        || d.text("Name").is_some_and(|n| !n.trim().is_empty())
}

fn adapter_source(id: String, d: &Record, external: Option<bool>) -> PowerSource {
    // FamilyCode: an IOReturn-style code (IOPM.h `kIOPSFamilyCode…`): USB family 0xE0004000 + n,
    // AC 0xE0024000 + n. ioreg prints it as a 64-bit value; the low 32 bits are the code.
    let family = d.int("FamilyCode").map(|v| v & 0xFFFF_FFFF);
    let hvc_menu = d.get("UsbHvcMenu").and_then(Value::as_array);
    let (kind, usb_type) = if d.bool("IsWireless") == Some(true) {
        (SourceKind::Wireless, None)
    } else {
        match family {
            Some(f @ 0xE000_4000..=0xE000_40FF) => (
                SourceKind::Usb,
                match f & 0xFF {
                    0 | 1 => Some("SDP"),
                    4 => Some("DCP"),
                    5 => Some("CDP"),
                    8 | 9 => Some("C"),
                    10 => Some("PD"),
                    _ => None,
                },
            ),
            _ if hvc_menu.is_some() => (SourceKind::Usb, Some("PD")),
            _ => (SourceKind::Mains, None),
        }
    };
    let mut s = PowerSource::new(id, kind);
    s.usb_type = usb_type.map(str::to_owned);
    // UsbHvcHvcIndex: the voltage level chosen from this adapter's offer; 255 = none chosen, so another
    // adapter supplies the Mac.
    let selected = d.int("UsbHvcHvcIndex").map(|i| i != HVC_NONE);
    s.online = match (external, selected) {
        (Some(false), _) => Some(false),
        (_, Some(selected)) => Some(selected),
        (external, None) => external,
    };
    let positive = |k: &str| d.int(k).filter(|v| *v > 0).map(|v| v as f64);
    s.voltage_v = positive("AdapterVoltage")
        .or_else(|| positive("Voltage"))
        .map(|mv| mv / 1000.0);
    s.current_a = positive("Current").map(|ma| ma / 1000.0);
    s.power_max_w = positive("Watts");
    if let Some(menu) = hvc_menu {
        let max_of = |key: &str| {
            menu.iter()
                .filter_map(|m| m.as_dict()?.int(key))
                .filter(|v| *v > 0)
                .max()
                .map(|v| v as f64 / 1000.0)
        };
        s.voltage_max_v = max_of("MaxVoltage");
        s.current_max_a = max_of("MaxCurrent");
    }
    let text = |k: &str| d.text(k).and_then(|t| clean_text(&t));
    s.name = text("Name").or_else(|| text("Description"));
    s.vendor = text("Manufacturer");
    s.serial = match d.get("SerialString").or_else(|| d.get("SerialNumber")) {
        Some(Value::Str(t)) => clean_text(t),
        Some(Value::Int(n)) if *n > 0 => Some(n.to_string()),
        _ => None,
    };
    s
}

/// What an IOPowerSources description describes (`IOPSKeys.h` `kIOPSTypeKey`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IopsKind {
    /// `InternalBattery`: the Mac's own battery, also in the registry.
    Internal,
    /// `UPS`.
    Ups,
    /// Anything else: Bluetooth accessories and the like on newer macOS.
    Accessory,
}

fn iops_kind(r: &Record) -> IopsKind {
    if r.contains("Accessory Identifier") || r.contains("Accessory Category") {
        return IopsKind::Accessory;
    }
    match r.text("Type").as_deref() {
        Some("InternalBattery") => IopsKind::Internal,
        Some("UPS") => IopsKind::Ups,
        Some(_) => IopsKind::Accessory,
        // No type: an internal battery when it says so by transport.
        None => match r.text("Transport Type").as_deref() {
            Some("Internal") | None => IopsKind::Internal,
            Some(_) => IopsKind::Accessory,
        },
    }
}

/// An IOPS time in minutes: −1 is "still calculating" and 0 "not applicable" (`IOPSKeys.h`).
fn iops_minutes(r: &Record, key: &str, cap: Duration) -> Option<Duration> {
    r.int(key)
        .filter(|m| *m > 0 && *m < SBS_INVALID)
        .map(|m| Duration::from_secs(m as u64 * 60))
        .filter(|d| *d <= cap)
}

/// powerd's estimate (the menu bar's) replaces the gauge's or ours for the matching state.
fn lend_iops_times(b: &mut Battery, r: &Record) {
    match b.state {
        State::Discharging => {
            if let Some(t) = iops_minutes(r, "Time to Empty", derived::MAX_TIME_TO_EMPTY) {
                b.time_to_empty = Some(t);
                b.derived.remove(Field::TimeToEmpty);
            }
        }
        State::Charging => {
            if let Some(t) = iops_minutes(r, "Time to Full Charge", derived::MAX_TIME_TO_FULL) {
                b.time_to_full = Some(t);
                b.derived.remove(Field::TimeToFull);
            }
        }
        _ => {}
    }
}

/// A UPS, an accessory, or an internal battery no registry entry describes, from its IOPS description.
fn decode_iops(device: &RawDevice) -> Result<Battery, Skipped> {
    let r = &device.record;
    let kind = iops_kind(r);
    let mut b = Battery::new(
        device.id.clone(),
        if kind == IopsKind::Accessory {
            Kind::Peripheral
        } else {
            Kind::System
        },
    );
    // powerd publishes percent with Max Capacity 100 for Apple sources; others may use other scales.
    let current = r.int("Current Capacity").map(|v| v as f64);
    let max = r.int("Max Capacity").map(|v| v as f64);
    b.percentage = match (current, max) {
        (Some(cur), Some(max)) if (max - 100.0).abs() < f64::EPSILON => {
            derived::sane_percentage(cur)
        }
        (Some(cur), Some(max)) => {
            b.derived.insert(Field::Percentage);
            derived::percentage_from(cur, max)
        }
        (Some(cur), None) => derived::sane_percentage(cur),
        _ => None,
    };
    if b.percentage.is_none() {
        b.derived.remove(Field::Percentage);
    }
    let state_text = r
        .text("Power Source State")
        .map(std::borrow::Cow::into_owned);
    let charging = r.bool("Is Charging");
    let charged = r.bool("Is Charged");
    b.external_power = match state_text.as_deref() {
        Some("AC Power") => Some(true),
        Some("Battery Power") => Some(false),
        _ => None,
    };
    b.state_raw.clone_from(&state_text);
    b.state = match (state_text.as_deref(), charging, charged) {
        (Some("Battery Power"), ..) if b.percentage == Some(0.0) => State::Empty,
        (Some("Battery Power"), ..) => State::Discharging,
        (Some("AC Power"), Some(true), _) => State::Charging,
        (Some("AC Power"), _, Some(true)) => State::Full,
        (Some("AC Power"), Some(false), _) if b.percentage.is_some_and(|p| p >= 100.0) => {
            State::Full
        }
        (Some("AC Power"), Some(false), _) => State::NotCharging,
        _ => State::Unknown,
    };
    match b.state {
        State::Discharging => {
            b.time_to_empty = iops_minutes(r, "Time to Empty", derived::MAX_TIME_TO_EMPTY);
        }
        State::Charging => {
            b.time_to_full = iops_minutes(r, "Time to Full Charge", derived::MAX_TIME_TO_FULL);
        }
        _ => {}
    }
    // A UPS's Voltage is its line voltage (an APC unit shows 246000 mV, macmegasite 2024), not a pack's.
    if kind != IopsKind::Ups {
        b.voltage_v = r
            .int("Voltage")
            .filter(|v| (1..SBS_INVALID).contains(v))
            .map(|mv| mv as f64 / 1000.0);
    }
    b.current_a = r
        .int("Current")
        .filter(|a| (-32_768..=32_767).contains(a))
        .map(|ma| ma.abs() as f64 / 1000.0);
    if let (Some(a), Some(v)) = (b.current_a, b.voltage_v) {
        b.power_w = derived::rate(a * v);
        b.derived.insert_if(Field::Power, b.power_w.is_some());
    }
    // kIOPSTemperatureKey is documented in °C.
    b.temperature_c = r
        .float("Temperature")
        .filter(|c| (-40.0..=100.0).contains(c));
    let mah = |k: &str| {
        r.int(k)
            .filter(|v| (1..SBS_INVALID).contains(v))
            .map(|v| v as f64)
    };
    b.health_percent = mah("Nominal Capacity")
        .zip(mah("DesignCapacity"))
        .and_then(|(full, design)| derived::health(full, design));
    b.model = r.text("Name").and_then(|t| clean_text(&t));
    b.serial = r
        .text("Hardware Serial Number")
        .and_then(|t| clean_text(&t));
    if b.percentage.is_none() && b.state == State::Unknown {
        return Err(Skipped::new(
            device.id.clone(),
            "the power source reports neither a charge nor a state",
        ));
    }
    Ok(b)
}

/// Energies from charges in mAh × the present pack voltage, marked derived. macOS publishes no design or
/// nominal voltage (platforms.md §2.3), and one common factor keeps energy ÷ full equal to the gauge's
/// charge ratio; the watt-hours are therefore estimates that move a few percent with load.
fn energies_from_mah(b: &mut Battery, now: Option<f64>, full: Option<f64>, design: Option<f64>) {
    let Some(v) = b.voltage_v else {
        return;
    };
    b.energy_wh = now.map(|mah| mah * v / 1000.0);
    b.energy_full_wh = full.map(|mah| mah * v / 1000.0);
    b.energy_full_design_wh = design.map(|mah| mah * v / 1000.0);
    b.derived.insert_if(Field::Energy, b.energy_wh.is_some());
    b.derived
        .insert_if(Field::EnergyFull, b.energy_full_wh.is_some());
    b.derived
        .insert_if(Field::EnergyFullDesign, b.energy_full_design_wh.is_some());
}

/// Current and power from `Amperage`: the average current in mA, an int16 the driver sign-extends
/// (negative = discharging); anything outside int16 is not a gauge reading. Stores magnitudes and
/// returns the signed mA for the state rules.
fn current_from_amperage(b: &mut Battery, amperage: Option<i64>) -> Option<f64> {
    let amps_ma = amperage
        .filter(|a| (-32_768..=32_767).contains(a))
        .map(|a| a as f64);
    b.current_a = amps_ma.map(|ma| ma.abs() / 1000.0);
    if let (Some(a), Some(v)) = (b.current_a, b.voltage_v) {
        b.power_w = derived::rate(a * v);
        b.derived.insert_if(Field::Power, b.power_w.is_some());
    }
    amps_ma
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Os;

    fn rec(pairs: &[(&str, Value)]) -> Record {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    fn int(v: i64) -> Value {
        Value::Int(v)
    }

    fn yes(v: bool) -> Value {
        Value::Bool(v)
    }

    #[allow(clippy::needless_pass_by_value)] // tests build the list inline
    fn run(devices: Vec<RawDevice>) -> Decoded {
        crate::decode::decode(&devices)
    }

    fn battery(pairs: &[(&str, Value)]) -> Battery {
        let d = run(vec![RawDevice::new(
            Os::MacOs,
            "AppleSmartBattery",
            rec(pairs),
        )]);
        assert_eq!(d.batteries.len(), 1, "{d:?}");
        d.batteries[0].clone()
    }

    /// An Apple Silicon entry: percent capacities, mAh in AppleRaw*, NominalChargeCapacity.
    fn apple_silicon() -> Vec<(&'static str, Value)> {
        vec![
            ("BatteryInstalled", yes(true)),
            ("ExternalConnected", yes(false)),
            ("IsCharging", yes(false)),
            ("FullyCharged", yes(false)),
            ("CurrentCapacity", int(80)),
            ("MaxCapacity", int(100)),
            ("AppleRawCurrentCapacity", int(3600)),
            ("AppleRawMaxCapacity", int(4500)),
            ("NominalChargeCapacity", int(4470)),
            ("DesignCapacity", int(4563)),
            ("Voltage", int(12_000)),
            ("Amperage", int(-1500)),
            ("AvgTimeToEmpty", int(144)),
            ("AvgTimeToFull", int(65_535)),
            ("CycleCount", int(120)),
        ]
    }

    #[test]
    fn apple_silicon_percent_capacities_and_health_from_nominal() {
        let b = battery(&apple_silicon());
        assert_eq!(b.percentage, Some(80.0));
        assert!(!b.derived.contains(Field::Percentage));
        // 4470 / 4563, not MaxCapacity 100 / 4563 ("1 %") nor a fixed 100 %.
        assert_eq!(b.health_percent.map(|h| (h * 10.0).round()), Some(980.0));
        assert_eq!(b.energy_wh, Some(43.2));
        assert_eq!(b.energy_full_wh, Some(54.0));
        assert!(b.derived.contains(Field::Energy));
        assert_eq!(b.state, State::Discharging);
        assert_eq!(b.power_w, Some(18.0));
        assert_eq!(b.current_a, Some(1.5));
        assert_eq!(b.time_to_empty, Some(Duration::from_secs(144 * 60)));
        assert_eq!(b.time_to_full, None);
    }

    #[test]
    fn health_falls_back_to_raw_max_then_intel_max() {
        let mut pairs = apple_silicon();
        pairs.retain(|(k, _)| *k != "NominalChargeCapacity");
        let b = battery(&pairs);
        assert_eq!(b.health_percent.map(|h| (h * 10.0).round()), Some(986.0));
        let b = battery(&[
            ("CurrentCapacity", int(5932)),
            ("MaxCapacity", int(6077)),
            ("DesignCapacity", int(6559)),
        ]);
        assert_eq!(b.health_percent.map(|h| (h * 10.0).round()), Some(927.0));
        assert_eq!(b.percentage.map(|p| (p * 10.0).round()), Some(976.0));
        assert!(b.derived.contains(Field::Percentage));
    }

    #[test]
    fn percent_or_mah_is_decided_robustly() {
        let unit = |pairs: &[(&str, Value)]| capacity_unit(&rec(pairs), None);
        assert_eq!(
            unit(&[("MaxCapacity", int(100))]),
            Some(CapacityUnit::Percent)
        );
        assert_eq!(
            unit(&[("MaxCapacity", int(7171))]),
            Some(CapacityUnit::MilliampHours)
        );
        // Intel publishes AppleRaw* too: same mAh in both.
        assert_eq!(
            unit(&[
                ("CurrentCapacity", int(90)),
                ("AppleRawCurrentCapacity", int(90))
            ]),
            Some(CapacityUnit::MilliampHours)
        );
        assert_eq!(
            unit(&[
                ("CurrentCapacity", int(34)),
                ("AppleRawCurrentCapacity", int(1332))
            ]),
            Some(CapacityUnit::Percent)
        );
        assert_eq!(
            unit(&[
                ("CurrentCapacity", int(100)),
                ("CarrierMode", Value::Dict(Record::new()))
            ]),
            Some(CapacityUnit::Percent)
        );
        assert_eq!(
            unit(&[("CurrentCapacity", int(5500))]),
            Some(CapacityUnit::MilliampHours)
        );
        assert_eq!(unit(&[("CurrentCapacity", int(55))]), None);
        // Without a unit, CurrentCapacity gives no percentage at all.
        let b = battery(&[("CurrentCapacity", int(55))]);
        assert_eq!(b.percentage, None);
    }

    #[test]
    fn keys_moved_into_battery_data_are_read_there() {
        let mut data = Record::new();
        data.push("DesignCapacity", int(5103));
        data.push("CycleCount", int(42));
        data.push("Serial", Value::Str("D860422A8JXL3L2EV".into()));
        data.push("StateOfCharge", int(57));
        data.push("Voltage", int(11_800));
        let b = battery(&[
            ("MaxCapacity", int(100)),
            ("NominalChargeCapacity", int(5000)),
            ("BatteryData", Value::Dict(data)),
        ]);
        assert_eq!(b.health_percent.map(|h| (h * 10.0).round()), Some(980.0));
        assert_eq!(b.cycle_count, Some(42));
        assert_eq!(b.serial.as_deref(), Some("D860422A8JXL3L2EV"));
        assert_eq!(b.percentage, Some(57.0));
        assert_eq!(b.voltage_v, Some(11.8));
    }

    #[test]
    fn times_65535_and_zero_are_unknown_and_only_in_the_matching_state() {
        let mut pairs = apple_silicon();
        pairs.retain(|(k, _)| *k != "AvgTimeToEmpty");
        pairs.push(("AvgTimeToEmpty", int(65_535)));
        pairs.push(("TimeRemaining", int(0)));
        pairs.push(("InstantTimeToEmpty", int(65_535)));
        let b = battery(&pairs);
        // No gauge time: charge ÷ current, marked derived. Never 65535 minutes.
        assert_eq!(b.time_to_empty, Some(Duration::from_secs(8640)));
        assert!(b.derived.contains(Field::TimeToEmpty));
        // Charging: time to full from the gauge, none to empty.
        let mut pairs = apple_silicon();
        pairs.retain(|(k, _)| {
            !matches!(
                *k,
                "ExternalConnected" | "IsCharging" | "Amperage" | "AvgTimeToFull"
            )
        });
        pairs.extend([
            ("ExternalConnected", yes(true)),
            ("IsCharging", yes(true)),
            ("Amperage", int(2000)),
            ("AvgTimeToFull", int(30)),
        ]);
        let b = battery(&pairs);
        assert_eq!(b.state, State::Charging);
        assert_eq!(b.time_to_full, Some(Duration::from_secs(1800)));
        assert_eq!(b.time_to_empty, None);
        // Full: no times at all, whatever the gauge says.
        let b = battery(&[
            ("ExternalConnected", yes(true)),
            ("FullyCharged", yes(true)),
            ("IsCharging", yes(false)),
            ("MaxCapacity", int(100)),
            ("CurrentCapacity", int(100)),
            ("TimeRemaining", int(65_535)),
            ("AvgTimeToEmpty", int(500)),
        ]);
        assert_eq!(b.state, State::Full);
        assert_eq!((b.time_to_empty, b.time_to_full), (None, None));
    }

    #[test]
    fn state_rules_from_the_flags() {
        let base = |ext: bool, charging: bool, full: bool| {
            battery(&[
                ("ExternalConnected", yes(ext)),
                ("IsCharging", yes(charging)),
                ("FullyCharged", yes(full)),
                ("CurrentCapacity", int(80)),
                ("MaxCapacity", int(100)),
            ])
        };
        // pmset's "discharging" / "charging" / "AC attached; not charging" lines of
        // corpus macos-intel-elcapitan-pmset-g-batt-variants.txt are these flag sets.
        assert_eq!(base(false, false, false).state, State::Discharging);
        // Just unplugged while full: discharging (corpus macos-intel-macbookair-2012-ioreg-fully-charged).
        assert_eq!(base(false, false, true).state, State::Discharging);
        assert_eq!(base(true, true, false).state, State::Charging);
        assert_eq!(base(true, false, true).state, State::Full);
        let held = base(true, false, false);
        assert_eq!(held.state, State::NotCharging);
        assert_eq!(held.state_reason, None, "no key says why");
        assert_eq!(
            held.state_raw.as_deref(),
            Some("ExternalConnected=Yes IsCharging=No FullyCharged=No")
        );
        assert!(!held.derived.contains(Field::State));
        let empty = battery(&[
            ("ExternalConnected", yes(false)),
            ("CurrentCapacity", int(0)),
            ("MaxCapacity", int(100)),
        ]);
        assert_eq!(empty.state, State::Empty);
    }

    #[test]
    fn not_charging_reasons_from_keys() {
        let held = |extra: (&'static str, Value)| {
            battery(&[
                ("ExternalConnected", yes(true)),
                ("IsCharging", yes(false)),
                ("FullyCharged", yes(false)),
                ("CurrentCapacity", int(80)),
                ("MaxCapacity", int(100)),
                extra,
            ])
            .state_reason
            .unwrap_or_default()
        };
        let mut charger = Record::new();
        charger.push("NotChargingReason", int(0x0100_0000));
        charger.push("ChargerInhibitReason", int(0));
        assert!(
            held(("ChargerData", Value::Dict(charger))).contains("NotChargingReason = 0x1000000")
        );
        let mut charger = Record::new();
        charger.push("ChargerInhibitReason", int(2));
        assert!(held(("ChargerData", Value::Dict(charger))).contains("ChargerInhibitReason = 0x2"));
        assert!(held(("ExternalChargeCapable", yes(false))).contains("cannot charge"));
        assert!(held(("ChargeStatus", Value::Str("HighTemperature".into()))).contains("too hot"));
        let mut carrier = Record::new();
        carrier.push("CarrierModeStatus", int(1));
        assert!(held(("CarrierMode", Value::Dict(carrier))).contains("carrier mode"));
        let mut carrier = Record::new();
        carrier.push("CarrierModeStatus", int(0));
        assert_eq!(held(("CarrierMode", Value::Dict(carrier))), "");
    }

    #[test]
    fn missing_flags_are_inferred_from_the_signed_current() {
        let b = battery(&[
            ("AppleRawCurrentCapacity", int(6974)),
            ("AppleRawMaxCapacity", int(8747)),
            ("Amperage", int(-1889)),
        ]);
        assert_eq!(b.state, State::Discharging);
        assert!(b.derived.contains(Field::State));
        let b = battery(&[
            ("CurrentCapacity", int(50)),
            ("MaxCapacity", int(100)),
            ("Amperage", int(900)),
        ]);
        assert_eq!(b.state, State::Charging);
        let b = battery(&[
            ("CurrentCapacity", int(50)),
            ("MaxCapacity", int(100)),
            ("Amperage", int(0)),
        ]);
        assert_eq!(
            b.state,
            State::Unknown,
            "no current and no idea about external power"
        );
        let b = battery(&[("CurrentCapacity", int(50)), ("MaxCapacity", int(100))]);
        assert_eq!(b.state, State::Unknown);
        // FullyCharged missing on AC: judged from the charge.
        let b = battery(&[
            ("ExternalConnected", yes(true)),
            ("IsCharging", yes(false)),
            ("CurrentCapacity", int(100)),
            ("MaxCapacity", int(100)),
        ]);
        assert_eq!(b.state, State::Full);
    }

    #[test]
    fn signed_amperage_gives_magnitudes_and_garbage_is_dropped() {
        let b = battery(&[
            ("Amperage", int(-1532)),
            ("Voltage", int(12_290)),
            ("ExternalConnected", yes(false)),
        ]);
        assert_eq!(b.current_a, Some(1.532));
        assert!(b.power_w.is_some_and(|w| (w - 18.828).abs() < 0.001));
        // Sign-extended int16 only: a wrapped 64-bit value of a 32-bit code is not a current.
        let b = battery(&[("Amperage", int(-536_854_518)), ("Voltage", int(12_290))]);
        assert_eq!((b.current_a, b.power_w), (None, None));
    }

    #[test]
    fn temperature_is_deci_kelvin_on_macos_checked_against_virtual_temperature() {
        // Intel: tenths of a kelvin. 3041 → 30.95 °C (as hundredths it would be 30.41 °C).
        assert!(temperature(Some(3041), None).is_some_and(|t| (t - 30.95).abs() < 1e-9));
        // Apple Silicon: VirtualTemperature (hundredths of °C) confirms the unit.
        assert!(temperature(Some(3048), Some(3159)).is_some_and(|t| (t - 31.65).abs() < 1e-9));
        // iOS publishes hundredths: the reference picks that reading.
        assert!(temperature(Some(2650), Some(2700)).is_some_and(|t| (t - 26.5).abs() < 1e-9));
        assert_eq!(temperature(Some(0), None), None);
        assert_eq!(temperature(Some(65_535), None), None);
        assert_eq!(temperature(Some(100), None), None, "−263 °C is no battery");
        assert_eq!(temperature(None, Some(2900)), Some(29.0));
        assert_eq!(temperature(None, None), None);
    }

    #[test]
    fn sbs_manufacture_date_and_no_guess_for_battery_data_dates() {
        assert_eq!(
            sbs_date(19_700).map(|d| d.to_string()).as_deref(),
            Some("2018-07-20")
        );
        assert_eq!(
            sbs_date(17_101).map(|d| d.to_string()).as_deref(),
            Some("2013-06-13")
        );
        assert_eq!(sbs_date(0), None);
        let mut data = Record::new();
        data.push("ManufactureDate", int(55_186_843_318_322));
        let b = battery(&[
            ("MaxCapacity", int(100)),
            ("BatteryData", Value::Dict(data)),
        ]);
        assert_eq!(b.manufacture_date, None);
    }

    #[test]
    fn cycle_count_zero_is_a_count_and_65535_is_none() {
        let cycles =
            |v: i64| battery(&[("MaxCapacity", int(100)), ("CycleCount", int(v))]).cycle_count;
        assert_eq!(cycles(0), Some(0));
        assert_eq!(cycles(731), Some(731));
        assert_eq!(cycles(65_535), None);
        assert_eq!(cycles(-1), None);
    }

    #[test]
    fn ghost_battery_of_a_desktop_mac_is_never_listed() {
        // Shaped like the M4 Mac mini entry of distatus/battery#34 (platforms.md §2.2).
        let mut adapter = Record::new();
        adapter.push("FamilyCode", int(0));
        let ghost = rec(&[
            ("AdapterDetails", Value::Dict(adapter)),
            ("AdapterInfo", int(0)),
            ("Amperage", int(0)),
            ("AppleRawAdapterDetails", Value::Array(Vec::new())),
            ("BatteryInstalled", yes(false)),
            ("CurrentCapacity", int(0)),
            ("CycleCount", int(0)),
            ("ExternalChargeCapable", yes(true)),
            ("ExternalConnected", yes(true)),
            ("IOObjectClass", Value::Str("AppleSmartBattery".into())),
        ]);
        let iops = rec(&[
            ("Type", Value::Str("InternalBattery".into())),
            ("Power Source State", Value::Str("AC Power".into())),
            ("Current Capacity", int(0)),
            ("Max Capacity", int(100)),
        ]);
        let d = run(vec![
            RawDevice::new(Os::MacOs, "AppleSmartBattery", ghost),
            RawDevice::new(Os::MacOs, "IOPowerSources:InternalBattery-0", iops),
        ]);
        assert!(d.batteries.is_empty(), "{d:?}");
        assert!(d.power_sources.is_empty());
        assert_eq!(d.skipped.len(), 2);
        assert!(d.skipped[0].reason.contains("BatteryInstalled = No"));
    }

    #[test]
    fn internal_battery_is_listed_once_with_powerd_time() {
        let iops = rec(&[
            ("Type", Value::Str("InternalBattery".into())),
            ("Name", Value::Str("InternalBattery-0".into())),
            ("Power Source State", Value::Str("Battery Power".into())),
            ("Current Capacity", int(80)),
            ("Max Capacity", int(100)),
            ("Time to Empty", int(150)),
            ("Is Present", yes(true)),
        ]);
        let d = run(vec![
            RawDevice::new(Os::MacOs, "AppleSmartBattery", rec(&apple_silicon())),
            RawDevice::new(Os::MacOs, "IOPowerSources:InternalBattery-0", iops.clone()),
        ]);
        assert_eq!(d.batteries.len(), 1);
        assert_eq!(
            d.batteries[0].time_to_empty,
            Some(Duration::from_secs(9000))
        );
        assert!(
            d.skipped[0]
                .reason
                .contains("same battery as AppleSmartBattery")
        );
        // Alone (the registry could not be read), the description is the battery.
        let d = run(vec![RawDevice::new(
            Os::MacOs,
            "IOPowerSources:InternalBattery-0",
            iops,
        )]);
        assert_eq!(d.batteries.len(), 1);
        let b = &d.batteries[0];
        assert_eq!(
            (b.percentage, b.state, b.kind),
            (Some(80.0), State::Discharging, Kind::System)
        );
        assert_eq!(b.time_to_empty, Some(Duration::from_secs(9000)));
    }

    #[test]
    fn iops_states_match_pmset_lines() {
        // Each line of corpus macos-intel-elcapitan-pmset-g-batt-variants.txt is powerd's description.
        let ps = |state: &str, pct: i64, charging: bool, tte: i64, ttf: i64| {
            let d = run(vec![RawDevice::new(
                Os::MacOs,
                "IOPowerSources:InternalBattery-0",
                rec(&[
                    ("Type", Value::Str("InternalBattery".into())),
                    ("Power Source State", Value::Str(state.into())),
                    ("Current Capacity", int(pct)),
                    ("Max Capacity", int(100)),
                    ("Is Charging", yes(charging)),
                    ("Time to Empty", int(tte)),
                    ("Time to Full Charge", int(ttf)),
                ]),
            )]);
            d.batteries[0].clone()
        };
        let b = ps("Battery Power", 89, false, 287, 0); // "89%; discharging; 4:47 remaining"
        assert_eq!((b.percentage, b.state), (Some(89.0), State::Discharging));
        assert_eq!(b.time_to_empty, Some(Duration::from_secs(287 * 60)));
        let b = ps("Battery Power", 90, false, -1, 0); // "90%; discharging; (no estimate)"
        assert_eq!(b.time_to_empty, None);
        let b = ps("AC Power", 88, false, 0, 0); // "88%; AC attached; not charging"
        assert_eq!(b.state, State::NotCharging);
        let b = ps("AC Power", 90, true, 0, -1); // "90%; charging; (no estimate)"
        assert_eq!((b.state, b.time_to_full), (State::Charging, None));
        let b = ps("AC Power", 91, true, 0, 25); // "91%; charging; 0:25 remaining"
        assert_eq!(b.time_to_full, Some(Duration::from_secs(1500)));
    }

    #[test]
    fn ups_and_accessories_from_iops() {
        let d = run(vec![
            RawDevice::new(
                Os::MacOs,
                "IOPowerSources:Back-UPS ES 700",
                rec(&[
                    ("Type", Value::Str("UPS".into())),
                    ("Transport Type", Value::Str("USB".into())),
                    ("Power Source State", Value::Str("Battery Power".into())),
                    ("Current Capacity", int(97)),
                    ("Max Capacity", int(100)),
                    ("Time to Empty", int(42)),
                    ("Voltage", int(246_000)),
                ]),
            ),
            RawDevice::new(
                Os::MacOs,
                "IOPowerSources:Magic Mouse",
                rec(&[
                    ("Type", Value::Str("Accessory Source".into())),
                    ("Accessory Category", Value::Str("Mouse".into())),
                    ("Power Source State", Value::Str("Battery Power".into())),
                    ("Current Capacity", int(55)),
                    ("Max Capacity", int(100)),
                    ("Name", Value::Str("Magic Mouse".into())),
                ]),
            ),
        ]);
        assert_eq!(d.batteries.len(), 2);
        let ups = &d.batteries[0];
        assert_eq!(
            (ups.kind, ups.state, ups.voltage_v),
            (Kind::System, State::Discharging, None)
        );
        assert_eq!(ups.time_to_empty, Some(Duration::from_secs(42 * 60)));
        let mouse = &d.batteries[1];
        assert_eq!(
            (mouse.kind, mouse.percentage),
            (Kind::Peripheral, Some(55.0))
        );
        assert_eq!(mouse.model.as_deref(), Some("Magic Mouse"));
    }

    #[test]
    fn adapters_become_power_sources() {
        let menu = |v: i64, a: i64, i: i64| {
            Value::Dict(rec(&[
                ("Index", int(i)),
                ("MaxVoltage", int(v)),
                ("MaxCurrent", int(a)),
            ]))
        };
        let pd = |watts: i64, index: i64| {
            Value::Dict(rec(&[
                ("FamilyCode", int(-536_854_518)),
                ("Watts", int(watts)),
                ("AdapterVoltage", int(20_000)),
                ("Current", int(watts * 50)),
                ("UsbHvcHvcIndex", int(index)),
                (
                    "UsbHvcMenu",
                    Value::Array(vec![menu(5000, 3000, 0), menu(20_000, watts * 50, 1)]),
                ),
                ("Description", Value::Str("pd charger".into())),
            ]))
        };
        let d = run(vec![RawDevice::new(
            Os::MacOs,
            "AppleSmartBattery",
            rec(&[
                ("CurrentCapacity", int(80)),
                ("CarrierMode", Value::Dict(Record::new())),
                (
                    "AppleRawAdapterDetails",
                    Value::Array(vec![pd(60, 255), pd(100, 1)]),
                ),
            ]),
        )]);
        let ids: Vec<&str> = d.power_sources.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(
            ids,
            ["AppleRawAdapterDetails[0]", "AppleRawAdapterDetails[1]"]
        );
        let (a, b) = (&d.power_sources[0], &d.power_sources[1]);
        assert_eq!(
            (a.kind, a.usb_type.as_deref(), a.online),
            (SourceKind::Usb, Some("PD"), Some(false))
        );
        assert_eq!(
            (b.online, b.power_max_w, b.voltage_v, b.current_a),
            (Some(true), Some(100.0), Some(20.0), Some(5.0))
        );
        assert_eq!((b.voltage_max_v, b.current_max_a), (Some(20.0), Some(5.0)));
        assert_eq!(b.name.as_deref(), Some("pd charger"));
        assert_eq!(d.batteries[0].external_power, Some(true));
        // Intel: AdapterDetails with a MagSafe family code is mains; zeros are no adapter.
        let d = run(vec![RawDevice::new(
            Os::MacOs,
            "AppleSmartBattery",
            rec(&[
                ("ExternalConnected", yes(true)),
                ("MaxCapacity", int(5524)),
                (
                    "AdapterDetails",
                    Value::Dict(rec(&[
                        ("FamilyCode", int(0xE002_4000)),
                        ("Watts", int(85)),
                        ("SerialNumber", int(4_321_123)),
                    ])),
                ),
            ]),
        )]);
        let s = &d.power_sources[0];
        assert_eq!(
            (s.id.as_str(), s.kind, s.online, s.power_max_w),
            ("AdapterDetails", SourceKind::Mains, Some(true), Some(85.0))
        );
        assert_eq!(s.serial.as_deref(), Some("4321123"));
        let d = run(vec![RawDevice::new(
            Os::MacOs,
            "AppleSmartBattery",
            rec(&[
                ("MaxCapacity", int(5524)),
                (
                    "AdapterDetails",
                    Value::Dict(rec(&[("FamilyCode", int(0)), ("Watts", int(0))])),
                ),
            ]),
        )]);
        assert!(d.power_sources.is_empty());
    }

    #[test]
    fn a_bay_battery_is_read_from_its_entry() {
        for (battery, device) in [
            ("AppleSmartBattery", "AppleSmartBattery"),
            ("PMU[0]", "PMU"),
            ("PMU-2[13]", "PMU-2"),
            ("[0]", "[0]"),
            ("PMU[]", "PMU[]"),
            ("PMU[x]", "PMU[x]"),
            ("PMU]", "PMU]"),
        ] {
            assert_eq!(registry_device_id(battery), device, "{battery}");
        }
        // What the decoder names the bays of a two-bay entry maps back to that entry, and re-decoding
        // the entry gives each bay's battery (what a refresh does).
        let bay = |current: i64| {
            Value::Dict(rec(&[
                ("Capacity", int(3971)),
                ("Current", int(current)),
                ("Voltage", int(11_370)),
                ("Flags", int(4)),
            ]))
        };
        let device = RawDevice::new(
            Os::MacOs,
            "PMU",
            rec(&[("IOBatteryInfo", Value::Array(vec![bay(2160), bay(3000)]))]),
        );
        let d = run(vec![device.clone()]);
        let ids: Vec<&str> = d.batteries.iter().map(|b| b.id.as_str()).collect();
        assert_eq!(ids, ["PMU[0]", "PMU[1]"]);
        for b in &d.batteries {
            assert_eq!(registry_device_id(&b.id), device.id);
            assert_eq!(
                crate::decode::decode_battery(&device, b).as_ref(),
                Ok(b),
                "{}",
                b.id
            );
        }
    }

    #[test]
    fn old_iobatteryinfo_entries() {
        let entry = Value::Dict(rec(&[
            ("Capacity", int(3971)),
            ("Amperage", int(-721)),
            ("Cycle Count", int(61)),
            ("Current", int(2160)),
            ("Voltage", int(11_370)),
            ("Flags", int(4)),
            ("AbsoluteMaxCapacity", int(4200)),
        ]));
        let b = battery(&[("IOBatteryInfo", Value::Array(vec![entry]))]);
        assert_eq!(b.state, State::Discharging);
        assert_eq!(b.percentage.map(|p| (p * 10.0).round()), Some(544.0));
        assert_eq!(b.health_percent.map(|h| (h * 10.0).round()), Some(945.0));
        assert_eq!(b.cycle_count, Some(61));
        assert!(b.derived.contains(Field::TimeToEmpty));
        let not_installed = Value::Dict(rec(&[("Flags", int(1)), ("Capacity", int(0))]));
        let d = run(vec![RawDevice::new(
            Os::MacOs,
            "PMU",
            rec(&[("IOBatteryInfo", Value::Array(vec![not_installed]))]),
        )]);
        assert!(d.batteries.is_empty());
    }

    #[test]
    fn record_text_round_trip_decodes_identically() {
        let mut pairs = apple_silicon();
        pairs.push((
            "ChargerData",
            Value::Dict(rec(&[("NotChargingReason", int(0))])),
        ));
        pairs.push(("ManufacturerData", Value::Data(vec![0, 0x11, 0xfe])));
        pairs.push((
            "CellVoltage",
            Value::Array(vec![int(4101), int(4099), int(4100)]),
        ));
        let devices = vec![
            RawDevice::new(Os::MacOs, "AppleSmartBattery", rec(&pairs)),
            RawDevice::new(
                Os::MacOs,
                "IOPowerSources:InternalBattery-0",
                rec(&[
                    ("Type", Value::Str("InternalBattery".into())),
                    ("Power Source State", Value::Str("Battery Power".into())),
                    ("Time to Empty", int(150)),
                    ("Ratio", Value::Float(0.25)),
                ]),
            ),
        ];
        let text = crate::record::print(&devices);
        let back = crate::replay::parse_recording(text.as_bytes()).unwrap_or_default();
        assert_eq!(back, devices);
        assert_eq!(run(back), run(devices));
    }

    #[test]
    fn garbage_never_panics_or_yields_nan() {
        let junk = [
            int(i64::MIN),
            int(i64::MAX),
            int(-1),
            int(0),
            int(65_535),
            Value::Float(f64::NAN),
            Value::Str("NaN".into()),
            Value::Bool(true),
            Value::Data(vec![0xff]),
            Value::Array(vec![int(1)]),
            Value::Dict(Record::new()),
        ];
        let keys = [
            "CurrentCapacity",
            "MaxCapacity",
            "AppleRawCurrentCapacity",
            "AppleRawMaxCapacity",
            "DesignCapacity",
            "NominalChargeCapacity",
            "Voltage",
            "Amperage",
            "Temperature",
            "VirtualTemperature",
            "AvgTimeToEmpty",
            "TimeRemaining",
            "ManufactureDate",
            "ExternalConnected",
            "AppleRawAdapterDetails",
            "AdapterDetails",
            "BatteryData",
            "IOBatteryInfo",
        ];
        for v in &junk {
            let pairs: Vec<(&str, Value)> = keys.iter().map(|k| (*k, v.clone())).collect();
            let d = run(vec![
                RawDevice::new(Os::MacOs, "AppleSmartBattery", rec(&pairs)),
                RawDevice::new(
                    Os::MacOs,
                    "IOPowerSources:x",
                    rec(&[
                        ("Current Capacity", v.clone()),
                        ("Max Capacity", v.clone()),
                        ("Power Source State", v.clone()),
                    ]),
                ),
            ]);
            for b in &d.batteries {
                for x in [
                    b.percentage,
                    b.energy_wh,
                    b.energy_full_wh,
                    b.power_w,
                    b.current_a,
                    b.health_percent,
                    b.voltage_v,
                ]
                .into_iter()
                .flatten()
                {
                    assert!(x.is_finite() && x >= 0.0, "{v:?}: {b:?}");
                }
                assert!(b.temperature_c.is_none_or(f64::is_finite));
                assert!(b.percentage.is_none_or(|p| p <= 100.0));
                assert!(
                    b.time_to_empty
                        .is_none_or(|t| t <= derived::MAX_TIME_TO_EMPTY)
                );
            }
        }
    }
}
