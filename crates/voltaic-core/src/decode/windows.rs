//! Windows: battery-class IOCTL records → model; Win32_Battery and battery-report records for replay.
//!
//! # Record forms
//!
//! The **primary** form is what `voltaic/src/sys/windows.rs` reads from each battery device with
//! `DeviceIoControl`: the output of `IOCTL_BATTERY_QUERY_TAG`, `IOCTL_BATTERY_QUERY_INFORMATION` (one key
//! per information level, `BATTERY_INFORMATION` fields as `BatteryInformation.<field>`) and
//! `IOCTL_BATTERY_QUERY_STATUS` (`BatteryStatus.<field>`), values exactly as the structures held them
//! (see [`key`]). The AC line is its own device ([`AC_ID`]) holding the `SYSTEM_POWER_STATUS` fields of
//! `GetSystemPowerStatus`. The BatteryQuery tool's text dump (forderud/BatterySimulator) is parsed into
//! this same form, since it prints the same structures.
//!
//! Two more forms exist **only for replay**, because they are what Windows users paste into bug reports:
//! a `Win32_Battery` WMI instance (`wmic path Win32_Battery get /format:list`), and a `<Battery>` element
//! of `powercfg /batteryreport /xml` (nested under [`key::BATTERY_REPORT`], merged into the WMI instance
//! of the same battery when both are pasted). The shell never produces them: WMI rounds to whole percent
//! and minutes, often leaves capacities empty and has no rate, voltage or temperature. The decoder tells
//! the forms apart by their keys, so all of them decode under [`Os::Windows`](crate::record::Os).
//!
//! # Units (Microsoft docs: BATTERY_INFORMATION, BATTERY_STATUS, IOCTL_BATTERY_QUERY_INFORMATION)
//!
//! Capacities mWh (or relative units when `BATTERY_CAPACITY_RELATIVE` is set), voltage mV, rate signed mW,
//! temperature tenths of a kelvin, estimated time seconds. `0xFFFFFFFF` is "unknown" for capacity,
//! voltage and time; `0x80000000` (`BATTERY_UNKNOWN_RATE`, `i32::MIN`) for the rate. Win32_Battery:
//! percent, minutes, mWh, with 71582788 minutes (`0xFFFFFFFF` seconds ÷ 60) for "no estimate".

pub mod capture;
pub mod notify;

use std::time::Duration;

use super::{Decoded, Skipped, clean_text};
use crate::battery::{Battery, Date, Kind, State, Technology};
use crate::decode::linux::FULL_THRESHOLD_PERCENT;
use crate::derived::{self, Field};
use crate::record::{RawDevice, Record, Value};
use crate::source::{PowerSource, SourceKind};

/// The device id of the AC line record (the `GetSystemPowerStatus` fields).
pub const AC_ID: &str = "AC";

/// Raw record keys, in Windows' own names: the fields of the battery-class structures (`batclass.h`) and
/// of `SYSTEM_POWER_STATUS` (`winbase.h`), and the WMI / battery-report names for the replay-only forms.
pub mod key {
    /// `IOCTL_BATTERY_QUERY_TAG` output (ULONG): the battery's tag; 0 = `BATTERY_TAG_INVALID`, no battery.
    pub const TAG: &str = "Tag";
    /// The Win32 error of a failed `IOCTL_BATTERY_QUERY_TAG`, recorded instead of [`TAG`]
    /// (`ERROR_FILE_NOT_FOUND` is how the class driver says "no battery in this slot").
    pub const TAG_ERROR: &str = "TagError";
    /// `BATTERY_INFORMATION.Capabilities` (ULONG flags: `BATTERY_SYSTEM_BATTERY` 0x80000000,
    /// `BATTERY_CAPACITY_RELATIVE` 0x40000000, `BATTERY_IS_SHORT_TERM` 0x20000000, `BATTERY_SET_*` 1/2/4).
    pub const CAPABILITIES: &str = "BatteryInformation.Capabilities";
    /// `BATTERY_INFORMATION.Technology` (UCHAR): 0 primary (non-rechargeable), 1 rechargeable.
    pub const TECHNOLOGY: &str = "BatteryInformation.Technology";
    /// `BATTERY_INFORMATION.Chemistry` (4 ASCII bytes, not NUL-terminated: `LION`, `Li-I`, `PbAc`, …),
    /// recorded as text with one char per byte.
    pub const CHEMISTRY: &str = "BatteryInformation.Chemistry";
    /// `BATTERY_INFORMATION.DesignedCapacity` (ULONG mWh, or relative units).
    pub const DESIGNED_CAPACITY: &str = "BatteryInformation.DesignedCapacity";
    /// `BATTERY_INFORMATION.FullChargedCapacity` (ULONG mWh, or relative units).
    pub const FULL_CHARGED_CAPACITY: &str = "BatteryInformation.FullChargedCapacity";
    /// `BATTERY_INFORMATION.DefaultAlert1` (ULONG mWh): the maker's suggested low-battery alert.
    pub const DEFAULT_ALERT1: &str = "BatteryInformation.DefaultAlert1";
    /// `BATTERY_INFORMATION.DefaultAlert2` (ULONG mWh): the maker's suggested warning alert.
    pub const DEFAULT_ALERT2: &str = "BatteryInformation.DefaultAlert2";
    /// `BATTERY_INFORMATION.CriticalBias` (ULONG mWh): reserve the firmware keeps below "empty".
    pub const CRITICAL_BIAS: &str = "BatteryInformation.CriticalBias";
    /// `BATTERY_INFORMATION.CycleCount` (ULONG); 0 = not counted (ACPI `_BIF` has no cycle count).
    pub const CYCLE_COUNT: &str = "BatteryInformation.CycleCount";
    /// `BatteryDeviceName` level (WCHAR string): the pack's model name.
    pub const DEVICE_NAME: &str = "DeviceName";
    /// `BatteryManufactureName` level (WCHAR string): the pack's maker.
    pub const MANUFACTURE_NAME: &str = "ManufactureName";
    /// `BatteryManufactureDate` level: `BATTERY_MANUFACTURE_DATE.Day` (UCHAR).
    pub const MANUFACTURE_DAY: &str = "ManufactureDate.Day";
    /// `BatteryManufactureDate` level: `BATTERY_MANUFACTURE_DATE.Month` (UCHAR).
    pub const MANUFACTURE_MONTH: &str = "ManufactureDate.Month";
    /// `BatteryManufactureDate` level: `BATTERY_MANUFACTURE_DATE.Year` (USHORT).
    pub const MANUFACTURE_YEAR: &str = "ManufactureDate.Year";
    /// `BatterySerialNumber` level (WCHAR string).
    pub const SERIAL_NUMBER: &str = "SerialNumber";
    /// `BatteryUniqueID` level (WCHAR string; typically serial + maker + model run together).
    pub const UNIQUE_ID: &str = "UniqueID";
    /// `BatteryTemperature` level (ULONG, tenths of a kelvin); often unsupported (ACPI has none).
    pub const TEMPERATURE: &str = "Temperature";
    /// `BatteryEstimatedTime` level at the present rate (ULONG seconds to empty; `0xFFFFFFFF` unknown).
    pub const ESTIMATED_TIME: &str = "EstimatedTime";
    /// `BatteryGranularityInformation` level: an array of `{Granularity, Capacity}` (mWh) scales.
    pub const GRANULARITY: &str = "GranularityInformation";
    /// `BATTERY_STATUS.PowerState` (ULONG flags: `BATTERY_POWER_ON_LINE` 1, `BATTERY_DISCHARGING` 2,
    /// `BATTERY_CHARGING` 4, `BATTERY_CRITICAL` 8).
    pub const POWER_STATE: &str = "BatteryStatus.PowerState";
    /// `BATTERY_STATUS.Capacity` (ULONG mWh or relative; `0xFFFFFFFF` unknown).
    pub const CAPACITY: &str = "BatteryStatus.Capacity";
    /// `BATTERY_STATUS.Voltage` (ULONG mV; `0xFFFFFFFF` unknown).
    pub const VOLTAGE: &str = "BatteryStatus.Voltage";
    /// `BATTERY_STATUS.Rate` (LONG mW, + charging / − discharging; `0x80000000` unknown).
    pub const RATE: &str = "BatteryStatus.Rate";
    /// A failure the capture itself reported for this device (BatteryQuery's `ERROR:` lines).
    pub const ERROR: &str = "Error";

    /// `SYSTEM_POWER_STATUS.ACLineStatus` (BYTE): 0 offline, 1 online, 255 unknown.
    pub const AC_LINE_STATUS: &str = "ACLineStatus";
    /// `SYSTEM_POWER_STATUS.BatteryFlag` (BYTE flags, aggregate of all batteries; kept for diagnostics).
    pub const BATTERY_FLAG: &str = "BatteryFlag";
    /// `SYSTEM_POWER_STATUS.BatteryLifePercent` (BYTE, aggregate; 255 unknown; kept for diagnostics).
    pub const BATTERY_LIFE_PERCENT: &str = "BatteryLifePercent";
    /// `SYSTEM_POWER_STATUS.SystemStatusFlag` (BYTE; 1 = battery saver on).
    pub const SYSTEM_STATUS_FLAG: &str = "SystemStatusFlag";
    /// `SYSTEM_POWER_STATUS.BatteryLifeTime` (DWORD seconds, aggregate; `0xFFFFFFFF` unknown or on AC).
    pub const BATTERY_LIFE_TIME: &str = "BatteryLifeTime";
    /// `SYSTEM_POWER_STATUS.BatteryFullLifeTime` (DWORD seconds, aggregate; usually `0xFFFFFFFF`).
    pub const BATTERY_FULL_LIFE_TIME: &str = "BatteryFullLifeTime";

    /// Win32_Battery `EstimatedChargeRemaining` (uint16 percent). Replay only.
    pub const WMI_CHARGE_REMAINING: &str = "EstimatedChargeRemaining";
    /// Win32_Battery `BatteryStatus` (uint16 code, 1–11). Replay only.
    pub const WMI_BATTERY_STATUS: &str = "BatteryStatus";
    /// Win32_Battery `EstimatedRunTime` (uint32 minutes; 71582788 = no estimate). Replay only.
    pub const WMI_RUN_TIME: &str = "EstimatedRunTime";
    /// Win32_Battery `TimeToFullCharge` (uint32 minutes). Replay only.
    pub const WMI_TIME_TO_FULL: &str = "TimeToFullCharge";
    /// Win32_Battery `DesignCapacity` (uint32 mWh; often empty). Replay only.
    pub const WMI_DESIGN_CAPACITY: &str = "DesignCapacity";
    /// Win32_Battery `FullChargeCapacity` (uint32 mWh; often empty). Replay only.
    pub const WMI_FULL_CHARGE_CAPACITY: &str = "FullChargeCapacity";
    /// Win32_Battery `Chemistry` (uint16 code: 1 Other, 2 Unknown, 3 lead acid … 8 lithium polymer).
    pub const WMI_CHEMISTRY: &str = "Chemistry";
    /// Win32_Battery `DeviceID` (WMI's key; serial + maker + name run together). Replay only.
    pub const WMI_DEVICE_ID: &str = "DeviceID";
    /// Win32_Battery `Name` (the pack's model name). Replay only.
    pub const WMI_NAME: &str = "Name";
    /// Win32_Battery `CreationClassName` (`Win32_Battery`). Replay only.
    pub const WMI_CLASS: &str = "CreationClassName";
    /// A `<Battery>` element of `powercfg /batteryreport /xml`, as a dictionary of its child elements
    /// (`Id`, `Manufacturer`, `SerialNumber`, `ManufactureDate`, `Chemistry`, `LongTerm`,
    /// `RelativeCapacity`, `DesignCapacity` and `FullChargeCapacity` in mWh, `CycleCount`). Replay only.
    pub const BATTERY_REPORT: &str = "BatteryReport";
}

/// `BATTERY_SYSTEM_BATTERY`: the battery can run the system (batclass.h).
pub const BATTERY_SYSTEM_BATTERY: u32 = 0x8000_0000;
/// `BATTERY_CAPACITY_RELATIVE`: capacities and rate are in relative units, not mWh / mW (batclass.h).
pub const BATTERY_CAPACITY_RELATIVE: u32 = 0x4000_0000;
/// `BATTERY_IS_SHORT_TERM`: a short-term source such as a UPS (batclass.h).
pub const BATTERY_IS_SHORT_TERM: u32 = 0x2000_0000;
/// `BATTERY_POWER_ON_LINE`: the system has AC power (batclass.h).
pub const BATTERY_POWER_ON_LINE: u32 = 1;
/// `BATTERY_DISCHARGING` (batclass.h).
pub const BATTERY_DISCHARGING: u32 = 2;
/// `BATTERY_CHARGING` (batclass.h).
pub const BATTERY_CHARGING: u32 = 4;
/// `BATTERY_CRITICAL`: critically low, shutdown imminent (batclass.h).
pub const BATTERY_CRITICAL: u32 = 8;
/// `BATTERY_UNKNOWN_CAPACITY` = `BATTERY_UNKNOWN_VOLTAGE` = `BATTERY_UNKNOWN_TIME` (batclass.h).
pub const BATTERY_UNKNOWN_U32: u32 = 0xFFFF_FFFF;
/// `BATTERY_UNKNOWN_RATE`: `0x80000000`, i.e. `i32::MIN` in the signed `Rate` (batclass.h).
pub const BATTERY_UNKNOWN_RATE: i64 = 0x8000_0000;
/// Win32_Battery `EstimatedRunTime` when there is no estimate: `0xFFFFFFFF` seconds ÷ 60, seen on AC
/// (glpi-project/glpi-agent#240, both batteries of a T470s on AC).
pub const WMI_NO_ESTIMATE_MINUTES: i64 = 71_582_788;

/// Win32 errors with which `IOCTL_BATTERY_QUERY_TAG` says "no battery in this slot": the class driver's
/// `STATUS_NO_SUCH_DEVICE` reaches user mode as `ERROR_FILE_NOT_FOUND`; `ERROR_NO_SUCH_DEVICE` and
/// `ERROR_DEVICE_NOT_CONNECTED` are taken the same way.
const EMPTY_SLOT_ERRORS: [i64; 3] = [2, 433, 1167];

/// Decodes the Windows devices of one machine: the AC line first, so that batteries without a status
/// of their own can know whether the machine is on external power.
pub fn decode(devices: &[&RawDevice], out: &mut Decoded) {
    let mut sources = Vec::new();
    let mut batteries = Vec::new();
    for device in devices {
        let r = &device.record;
        match form(r) {
            Form::AcLine => sources.push(decode_ac(&device.id, r)),
            Form::Ioctl => batteries.push((*device, Form::Ioctl)),
            Form::Wmi => batteries.push((*device, Form::Wmi)),
            Form::Failed(reason) => out.skipped.push(Skipped::new(device.id.clone(), reason)),
            Form::Unknown => out.skipped.push(Skipped::new(
                device.id.clone(),
                "no Windows battery or power-status keys in the record",
            )),
        }
    }
    let ac = sources
        .iter()
        .find(|s: &&PowerSource| s.kind == SourceKind::Mains)
        .and_then(|s| s.online);
    for (device, form) in batteries {
        let (id, r) = (device.id.as_str(), &device.record);
        if let Some(ups) = ups(id, r) {
            sources.push(ups);
            continue;
        }
        let decoded = match form {
            Form::Ioctl => decode_ioctl(id, r, ac),
            _ => Ok(decode_wmi(id, r, ac)),
        };
        out.push(decoded);
    }
    out.power_sources.extend(sources);
}

enum Form {
    AcLine,
    Ioctl,
    Wmi,
    Failed(String),
    Unknown,
}

/// Which record form this is, by its keys (see the module docs).
fn form(r: &Record) -> Form {
    if r.contains(key::AC_LINE_STATUS) {
        return Form::AcLine;
    }
    let ioctl = r.contains(key::TAG)
        || r.contains(key::TAG_ERROR)
        || r.iter()
            .any(|(k, _)| k.starts_with("BatteryInformation.") || k.starts_with("BatteryStatus."));
    if ioctl {
        return Form::Ioctl;
    }
    let wmi = [
        key::WMI_CHARGE_REMAINING,
        key::WMI_BATTERY_STATUS,
        key::WMI_RUN_TIME,
        key::BATTERY_REPORT,
    ]
    .iter()
    .any(|k| r.contains(k))
        || r.text(key::WMI_CLASS).as_deref() == Some("Win32_Battery");
    if wmi {
        return Form::Wmi;
    }
    match r.text(key::ERROR) {
        Some(e) => Form::Failed(format!("the capture could not read this battery: {e}")),
        None => Form::Unknown,
    }
}

/// A ULONG field: present, an integer, and within `u32`.
fn ulong(r: &Record, key: &str) -> Option<u32> {
    r.int(key).and_then(|v| u32::try_from(v).ok())
}

/// A ULONG field that may hold `0xFFFFFFFF` for "unknown".
fn known(r: &Record, key: &str) -> Option<u32> {
    ulong(r, key).filter(|v| *v != BATTERY_UNKNOWN_U32)
}

/// `BATTERY_STATUS.Rate` in mW, signed. The sentinel is tested on the raw value first, before any
/// magnitude is taken: `i32::MIN.abs()` overflows (platforms.md 3.3). A record that holds the LONG as
/// its unsigned DWORD bits (4294934905 for −32391) reads the same.
fn rate_mw(r: &Record) -> Option<i64> {
    let raw = r.int(key::RATE)?;
    if raw == i64::from(i32::MIN) || raw == BATTERY_UNKNOWN_RATE {
        return None;
    }
    if let Ok(v) = i32::try_from(raw) {
        return Some(i64::from(v));
    }
    // The DWORD bits of a LONG: reinterpret (`SYSTEM_BATTERY_STATE.Rate` is documented that way).
    let bits = u32::try_from(raw).ok()?;
    Some(i64::from(i32::from_ne_bytes(bits.to_ne_bytes())))
}

/// The words for `BATTERY_STATUS.PowerState` flags, as batclass.h names them (kept as `state_raw`).
fn power_state_words(flags: u32) -> String {
    let names = [
        (BATTERY_POWER_ON_LINE, "POWER_ON_LINE"),
        (BATTERY_DISCHARGING, "DISCHARGING"),
        (BATTERY_CHARGING, "CHARGING"),
        (BATTERY_CRITICAL, "CRITICAL"),
    ];
    let mut words: Vec<String> = names
        .iter()
        .filter(|(bit, _)| flags & bit != 0)
        .map(|(_, name)| (*name).to_owned())
        .collect();
    let rest = flags & !0xF;
    if rest != 0 {
        words.push(format!("{rest:#x}"));
    }
    if words.is_empty() {
        "0".to_owned()
    } else {
        words.join(" | ")
    }
}

fn decode_ac(id: &str, r: &Record) -> PowerSource {
    let mut s = PowerSource::new(id, SourceKind::Mains);
    // ACLineStatus: 0 offline, 1 online, 255 unknown (MS docs SYSTEM_POWER_STATUS); anything else is
    // not a value Windows defines.
    s.online = match r.int(key::AC_LINE_STATUS) {
        Some(0) => Some(false),
        Some(1) => Some(true),
        _ => None,
    };
    s
}

/// A short-term battery is a UPS (hidbatt.sys sets `BATTERY_IS_SHORT_TERM`; MS docs
/// BATTERY_INFORMATION; the battery report writes it as `LongTerm` 0). It is an external source for this
/// machine, not a battery of it, so it is reported as a power source of kind Ups (as a Linux `type=UPS`
/// supply is), never mixed with the notebook's batteries. `online` says whether mains power reaches it
/// (`BATTERY_POWER_ON_LINE`); false means it is running this machine from its own cells.
fn ups(id: &str, r: &Record) -> Option<PowerSource> {
    let report = r.dict(key::BATTERY_REPORT);
    let short_term = ulong(r, key::CAPABILITIES).is_some_and(|c| c & BATTERY_IS_SHORT_TERM != 0)
        || report.is_some_and(|d| d.int("LongTerm") == Some(0));
    if !short_term || r.int(key::TAG) == Some(0) {
        return None;
    }
    let mut s = PowerSource::new(id, SourceKind::Ups);
    s.online = ulong(r, key::POWER_STATE).map(|p| p & BATTERY_POWER_ON_LINE != 0);
    s.name = text(r, key::DEVICE_NAME)
        .or_else(|| text(r, key::WMI_NAME))
        .or_else(|| report.and_then(|d| text(d, "Id")));
    s.vendor =
        text(r, key::MANUFACTURE_NAME).or_else(|| report.and_then(|d| text(d, "Manufacturer")));
    s.serial = text(r, key::SERIAL_NUMBER).or_else(|| report.and_then(|d| text(d, "SerialNumber")));
    Some(s)
}

#[allow(clippy::too_many_lines, clippy::many_single_char_names)] // one table of rules, read top to bottom
fn decode_ioctl(id: &str, r: &Record, ac: Option<bool>) -> Result<Battery, Skipped> {
    // Tag 0 (BATTERY_TAG_INVALID) or a failed tag query: an empty bay or slot, not an error
    // (MS docs IOCTL_BATTERY_QUERY_TAG; the MS enumeration sample skips these too).
    match (r.int(key::TAG), r.int(key::TAG_ERROR)) {
        (Some(0), _) => {
            return Err(Skipped::new(
                id,
                "no battery in this slot (tag 0, BATTERY_TAG_INVALID)",
            ));
        }
        (None, Some(e)) if EMPTY_SLOT_ERRORS.contains(&e) => {
            return Err(Skipped::new(
                id,
                format!("no battery in this slot (IOCTL_BATTERY_QUERY_TAG: Win32 error {e})"),
            ));
        }
        (None, Some(e)) => {
            return Err(Skipped::new(
                id,
                format!("could not read the battery tag (Win32 error {e})"),
            ));
        }
        _ => {}
    }
    let caps = ulong(r, key::CAPABILITIES);
    let has = |flag: u32| caps.is_some_and(|c| c & flag != 0);
    let power_state = ulong(r, key::POWER_STATE);
    let on_line = power_state.map(|p| p & BATTERY_POWER_ON_LINE != 0);
    // A battery that cannot run the system (BATTERY_SYSTEM_BATTERY clear) belongs to a device.
    let kind = if caps.is_some_and(|c| c & BATTERY_SYSTEM_BATTERY == 0) {
        Kind::Peripheral
    } else {
        Kind::System
    };
    let mut b = Battery::new(id, kind);
    // The status's own ON_LINE bit is the system's AC state as the battery class saw it at this read;
    // the AC line record is the fallback when the status could not be read.
    b.external_power = on_line.or(ac);

    // Relative batteries give capacities on an unspecified scale (usually 0–100) and the rate in
    // relative units per hour (MS docs BATTERY_STATUS): a percentage, never energy, power or health.
    let relative = has(BATTERY_CAPACITY_RELATIVE);
    let design = known(r, key::DESIGNED_CAPACITY).filter(|v| *v > 0);
    let full = known(r, key::FULL_CHARGED_CAPACITY).filter(|v| *v > 0);
    let capacity = known(r, key::CAPACITY);
    if !relative {
        b.energy_full_design_wh = design.map(|v| f64::from(v) / 1000.0);
        b.energy_full_wh = full.map(|v| f64::from(v) / 1000.0);
        b.energy_wh = capacity.map(|v| f64::from(v) / 1000.0);
        b.health_percent = full
            .zip(design)
            .and_then(|(f, d)| derived::health(f64::from(f), f64::from(d)));
    }
    // Windows has no per-battery percentage: it is Capacity ÷ FullChargedCapacity (MS docs; the same
    // ratio on either scale).
    b.percentage = capacity
        .zip(full)
        .and_then(|(c, f)| derived::percentage_from(f64::from(c), f64::from(f)));
    b.derived
        .insert_if(Field::Percentage, b.percentage.is_some());

    b.voltage_v = known(r, key::VOLTAGE)
        .filter(|v| *v > 0)
        .map(|v| f64::from(v) / 1000.0);
    if !relative {
        // The sign says charge (+) or discharge (−) but drivers disagree ("some batteries report only
        // discharge rates", MS docs BATTERY_STATUS): the magnitude is kept, the direction is the state.
        b.power_w = rate_mw(r).and_then(|mw| derived::rate(mw.unsigned_abs() as f64 / 1000.0));
        if let (Some(w), Some(v)) = (b.power_w, b.voltage_v) {
            b.current_a = derived::finite(w / v);
            b.derived.insert(Field::Current);
        }
    }

    decode_power_state(&mut b, power_state, capacity);

    // Times: Windows' own estimate to empty (seconds at the present rate) while discharging, when it
    // is not BATTERY_UNKNOWN_TIME; else energy ÷ power. There is no level for time to full.
    match b.state {
        State::Discharging => {
            b.time_to_empty = known(r, key::ESTIMATED_TIME)
                .filter(|s| *s > 0)
                .map(|s| Duration::from_secs(u64::from(s)))
                .filter(|d| *d <= derived::MAX_TIME_TO_EMPTY);
            if b.time_to_empty.is_none() {
                b.time_to_empty = b
                    .energy_wh
                    .zip(b.power_w)
                    .and_then(|(e, w)| derived::time_to_empty(e, w));
                b.derived
                    .insert_if(Field::TimeToEmpty, b.time_to_empty.is_some());
            }
        }
        State::Charging => {
            b.time_to_full = match (b.energy_wh, b.energy_full_wh, b.power_w) {
                (Some(e), Some(f), Some(w)) => derived::time_to_full(e, f, w),
                _ => None,
            };
            b.derived
                .insert_if(Field::TimeToFull, b.time_to_full.is_some());
        }
        _ => {}
    }

    // Condition and identity.
    b.cycle_count = ulong(r, key::CYCLE_COUNT).filter(|c| *c > 0);
    // Tenths of a kelvin (MS docs IOCTL_BATTERY_QUERY_INFORMATION); 0 is what drivers without a sensor
    // leave, and values outside −50…150 °C are not a battery's.
    b.temperature_c = ulong(r, key::TEMPERATURE)
        .filter(|t| *t > 0)
        .and_then(|t| derived::finite(f64::from(t) / 10.0 - 273.15))
        .filter(|c| (-50.0..=150.0).contains(c));
    b.model = text(r, key::DEVICE_NAME);
    b.vendor = text(r, key::MANUFACTURE_NAME);
    b.serial = text(r, key::SERIAL_NUMBER);
    b.technology = r
        .text(key::CHEMISTRY)
        .map_or(Technology::Unknown, |c| Technology::parse(&c));
    b.manufacture_date = Date::new(
        r.int(key::MANUFACTURE_YEAR).unwrap_or(0),
        r.int(key::MANUFACTURE_MONTH).unwrap_or(0),
        r.int(key::MANUFACTURE_DAY).unwrap_or(0),
    );
    Ok(b)
}

/// State from `BATTERY_STATUS.PowerState` (platforms.md 3.4): CHARGING, then DISCHARGING (Empty at
/// capacity 0), then on line with neither bit: Full at a full charge, else NotCharging (a vendor charge
/// limit or a hold: Lenovo Conservation, Dell, Surface "Battery Limit"). CRITICAL only adds a reason, so
/// a critical battery that is charging stays Charging.
fn decode_power_state(b: &mut Battery, power_state: Option<u32>, capacity: Option<u32>) {
    let Some(flags) = power_state else {
        return;
    };
    b.state_raw = Some(power_state_words(flags));
    b.state = if flags & BATTERY_CHARGING != 0 {
        State::Charging
    } else if flags & BATTERY_DISCHARGING != 0 {
        if capacity == Some(0) {
            b.derived.insert(Field::State);
            State::Empty
        } else {
            State::Discharging
        }
    } else if flags & BATTERY_POWER_ON_LINE != 0 {
        match b.percentage {
            Some(p) if p >= FULL_THRESHOLD_PERCENT => {
                b.derived.insert(Field::State);
                State::Full
            }
            Some(_) => {
                b.derived.insert(Field::State);
                b.state_reason = Some(
                    "on AC power, neither charging nor discharging, below full: a charge limit or \
                     charge hold"
                        .into(),
                );
                State::NotCharging
            }
            None => State::Unknown,
        }
    } else {
        b.state_reason = Some(
            "on battery power, but this battery is neither charging nor discharging (another \
             battery may be running the machine)"
                .into(),
        );
        State::Unknown
    };
    if flags & BATTERY_CRITICAL != 0 {
        b.state_reason = Some("critically low (BATTERY_CRITICAL)".into());
    }
}

fn text(r: &Record, key: &str) -> Option<String> {
    r.text(key).and_then(|t| clean_text(&t))
}

/// Win32_Battery `BatteryStatus` codes (MS docs Win32_Battery) → state, whether it is derived, and
/// what the code means.
fn wmi_state(code: i64) -> (State, bool, &'static str) {
    match code {
        1 => (State::Discharging, false, "discharging"),
        2 => (State::Unknown, false, "on AC, not necessarily charging"),
        3 => (State::Full, false, "fully charged"),
        // Low and Critical have charging variants of their own (8, 9), so these are not charging;
        // Win32_Battery has no other field to say so.
        4 => (State::Discharging, true, "low"),
        5 => (State::Discharging, true, "critical"),
        6 => (State::Charging, false, "charging"),
        7 => (State::Charging, false, "charging and high"),
        8 => (State::Charging, false, "charging and low"),
        9 => (State::Charging, false, "charging and critical"),
        11 => (State::Unknown, false, "partially charged"),
        _ => (State::Unknown, false, "undefined"),
    }
}

/// A WMI uint32 that is present and positive (WMI leaves unknown capacities empty).
fn wmi_positive(r: &Record, key: &str) -> Option<u32> {
    ulong(r, key).filter(|v| *v > 0)
}

/// A time in minutes: not the "no estimate" value, positive, within `cap`.
fn wmi_minutes(r: &Record, key: &str, cap: Duration) -> Option<Duration> {
    r.int(key)
        .filter(|m| *m > 0 && *m != WMI_NO_ESTIMATE_MINUTES)
        .and_then(|m| u64::try_from(m).ok())
        .map(|m| Duration::from_secs(m.saturating_mul(60)))
        .filter(|d| *d <= cap)
}

/// Decodes a Win32_Battery instance, a battery-report `<Battery>`, or both merged (replay only).
fn decode_wmi(id: &str, r: &Record, ac: Option<bool>) -> Battery {
    let empty = Record::new();
    let report = r.dict(key::BATTERY_REPORT).unwrap_or(&empty);
    // batteryreport writes RelativeCapacity = BATTERY_CAPACITY_RELATIVE, from the same
    // BATTERY_INFORMATION the IOCTL path reads.
    let relative = report.int("RelativeCapacity").is_some_and(|v| v != 0);
    let mut b = Battery::new(id, Kind::System);
    b.external_power = ac;

    if !relative {
        let design = wmi_positive(r, key::WMI_DESIGN_CAPACITY)
            .or_else(|| wmi_positive(report, "DesignCapacity"));
        let full = wmi_positive(r, key::WMI_FULL_CHARGE_CAPACITY)
            .or_else(|| wmi_positive(report, "FullChargeCapacity"));
        b.energy_full_design_wh = design.map(|v| f64::from(v) / 1000.0);
        b.energy_full_wh = full.map(|v| f64::from(v) / 1000.0);
        b.health_percent = full
            .zip(design)
            .and_then(|(f, d)| derived::health(f64::from(f), f64::from(d)));
    }
    b.percentage = r
        .int(key::WMI_CHARGE_REMAINING)
        .and_then(|p| derived::sane_percentage(p as f64));
    if let (Some(p), Some(full)) = (b.percentage, b.energy_full_wh) {
        b.energy_wh = derived::finite(p / 100.0 * full);
        b.derived.insert(Field::Energy);
    }

    if let Some(code) = r.int(key::WMI_BATTERY_STATUS) {
        let (state, inferred, meaning) = wmi_state(code);
        b.state_raw = Some(format!("BatteryStatus {code} ({meaning})"));
        b.state = state;
        b.derived.insert_if(Field::State, inferred);
        if code == 2 {
            // "The system has access to AC so no battery is being discharged. However, the battery is
            // not necessarily charging" (MS docs): full at a full charge, else held.
            b.external_power = Some(true);
            match b.percentage {
                Some(p) if p >= FULL_THRESHOLD_PERCENT => b.state = State::Full,
                Some(_) => {
                    b.state = State::NotCharging;
                    b.state_reason = Some(
                        "on AC power and not charging, below full: a charge limit or hold".into(),
                    );
                }
                None => {}
            }
            b.derived.insert_if(Field::State, b.percentage.is_some());
        }
        if code == 1 {
            b.external_power = Some(false);
        }
    }
    match b.state {
        State::Discharging => {
            b.time_to_empty = wmi_minutes(r, key::WMI_RUN_TIME, derived::MAX_TIME_TO_EMPTY);
        }
        State::Charging => {
            b.time_to_full = wmi_minutes(r, key::WMI_TIME_TO_FULL, derived::MAX_TIME_TO_FULL);
        }
        _ => {}
    }

    b.cycle_count = ulong(report, "CycleCount").filter(|c| *c > 0);
    b.model = text(r, key::WMI_NAME).or_else(|| text(report, "Id"));
    b.vendor = text(report, "Manufacturer");
    b.serial = text(report, "SerialNumber");
    // CIM_Battery Chemistry codes; 1 (Other) and 2 (Unknown) defer to the report's chemistry text
    // (the T470s says 2 in WMI and `LiP` in its battery report).
    b.technology = match r.int(key::WMI_CHEMISTRY) {
        Some(3) => Technology::LeadAcid,
        Some(4) => Technology::NickelCadmium,
        Some(5) => Technology::NickelMetalHydride,
        Some(6) => Technology::LithiumIon,
        Some(8) => Technology::LithiumPolymer,
        _ => report
            .text("Chemistry")
            .map_or(Technology::Unknown, |c| Technology::parse(&c)),
    };
    b.manufacture_date = report.text("ManufactureDate").and_then(|d| parse_date(&d));
    b
}

/// A `YYYY-MM-DD` (or `YYYY-M-D`) date, as the battery report and BatteryQuery print it.
fn parse_date(text: &str) -> Option<Date> {
    let mut parts = text.trim().splitn(3, '-').map(|p| p.trim().parse::<i64>());
    match (parts.next(), parts.next(), parts.next()) {
        (Some(Ok(y)), Some(Ok(m)), Some(Ok(d))) => Date::new(y, m, d),
        _ => None,
    }
}

/// An integer record value, for building records (capture parsers, tests).
pub(crate) fn int(v: impl Into<i64>) -> Value {
    Value::Int(v.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Os;

    fn device(id: &str, entries: &[(&str, Value)]) -> RawDevice {
        let mut r = Record::new();
        for (k, v) in entries {
            r.push(*k, v.clone());
        }
        RawDevice::new(Os::Windows, id, r)
    }

    /// A discharging ACPI battery like the Dell Latitude 5330 capture.
    fn dell(extra: &[(&str, Value)]) -> RawDevice {
        let mut entries = vec![
            (key::TAG, int(1)),
            (key::CAPABILITIES, int(BATTERY_SYSTEM_BATTERY)),
            (key::TECHNOLOGY, int(1)),
            (key::CHEMISTRY, Value::Str("LiP\0".into())),
            (key::DESIGNED_CAPACITY, int(58003)),
            (key::FULL_CHARGED_CAPACITY, int(40371)),
            (key::CYCLE_COUNT, int(363)),
            (key::POWER_STATE, int(BATTERY_DISCHARGING)),
            (key::CAPACITY, int(38441)),
            (key::VOLTAGE, int(15329)),
            (key::RATE, int(-32391)),
        ];
        for (k, v) in extra {
            entries.retain(|(e, _)| e != k);
            entries.push((k, v.clone()));
        }
        device("BAT", &entries)
    }

    fn decode_all(devices: &[RawDevice]) -> Decoded {
        crate::decode::decode(devices)
    }

    fn one(d: RawDevice) -> Battery {
        let out = decode_all(&[d]);
        assert_eq!(out.batteries.len(), 1, "{out:?}");
        out.batteries[0].clone()
    }

    #[test]
    fn units_mwh_mv_mw_become_wh_v_w() {
        let b = one(dell(&[]));
        assert_eq!(b.energy_wh, Some(38.441));
        assert_eq!(b.energy_full_wh, Some(40.371));
        assert_eq!(b.energy_full_design_wh, Some(58.003));
        assert_eq!(b.voltage_v, Some(15.329));
        assert_eq!(b.power_w, Some(32.391));
        assert_eq!(b.state, State::Discharging);
        assert_eq!(b.percentage.map(|p| (p * 10.0).round()), Some(952.0));
        assert!(b.derived.contains(Field::Percentage));
        assert_eq!(b.health_percent.map(|h| (h * 10.0).round()), Some(696.0));
        assert_eq!(b.technology, Technology::LithiumPolymer);
        assert_eq!(b.cycle_count, Some(363));
        assert_eq!(b.kind, Kind::System);
    }

    #[test]
    fn negative_rate_is_a_magnitude_and_state_gives_direction() {
        let b = one(dell(&[(key::RATE, int(-20000))]));
        assert_eq!(b.power_w, Some(20.0));
        assert_eq!(b.current_a.map(|a| (a * 1000.0).round()), Some(1305.0));
        // 38.441 Wh / 20 W = 1.922 h, computed since no EstimatedTime was given.
        assert_eq!(b.time_to_empty, Some(Duration::from_secs(6919)));
        assert!(b.derived.contains(Field::TimeToEmpty));
    }

    #[test]
    fn unknown_rate_sentinel_is_tested_before_the_magnitude() {
        // i32::MIN as the signed LONG, and 0x80000000 as its DWORD bits: both unknown, no overflow.
        for raw in [i64::from(i32::MIN), 0x8000_0000] {
            let b = one(dell(&[(key::RATE, int(raw))]));
            assert_eq!(b.power_w, None, "{raw}");
            assert_eq!(b.current_a, None);
            assert_eq!(b.time_to_empty, None);
        }
        // The DWORD bits of a real negative rate read as that rate.
        let b = one(dell(&[(key::RATE, int(4_294_934_905_i64))]));
        assert_eq!(b.power_w, Some(32.391));
        // Beyond 32 bits is nonsense.
        let b = one(dell(&[(key::RATE, int(1_i64 << 40))]));
        assert_eq!(b.power_w, None);
    }

    #[test]
    fn unknown_capacity_voltage_and_time_sentinels_are_none() {
        let b = one(dell(&[
            (key::CAPACITY, int(BATTERY_UNKNOWN_U32)),
            (key::VOLTAGE, int(BATTERY_UNKNOWN_U32)),
            (key::ESTIMATED_TIME, int(BATTERY_UNKNOWN_U32)),
        ]));
        assert_eq!(b.energy_wh, None);
        assert_eq!(b.percentage, None);
        assert_eq!(b.voltage_v, None);
        assert_eq!(b.current_a, None);
        assert_eq!(b.time_to_empty, None);
        let b = one(dell(&[
            (key::DESIGNED_CAPACITY, int(BATTERY_UNKNOWN_U32)),
            (key::FULL_CHARGED_CAPACITY, int(BATTERY_UNKNOWN_U32)),
        ]));
        assert_eq!(b.energy_full_wh, None);
        assert_eq!(b.energy_full_design_wh, None);
        assert_eq!(b.health_percent, None);
        assert_eq!(b.percentage, None, "never a percentage of design");
    }

    #[test]
    fn estimated_time_is_the_os_time_to_empty_when_valid() {
        let b = one(dell(&[(key::ESTIMATED_TIME, int(4012))]));
        assert_eq!(b.time_to_empty, Some(Duration::from_secs(4012)));
        assert!(!b.derived.contains(Field::TimeToEmpty));
        // 0 is no estimate: computed instead (38.441 / 32.391 h).
        let b = one(dell(&[(key::ESTIMATED_TIME, int(0))]));
        assert_eq!(b.time_to_empty, Some(Duration::from_secs(4272)));
        assert!(b.derived.contains(Field::TimeToEmpty));
        // Not used while charging (Windows gives no time to full).
        let b = one(dell(&[
            (key::ESTIMATED_TIME, int(4012)),
            (
                key::POWER_STATE,
                int(BATTERY_POWER_ON_LINE | BATTERY_CHARGING),
            ),
            (key::RATE, int(19000)),
        ]));
        assert_eq!(b.time_to_empty, None);
        // (40.371 − 38.441) Wh / 19 W = 366 s.
        assert_eq!(b.time_to_full, Some(Duration::from_secs(366)));
        assert_eq!(b.state, State::Charging);
    }

    #[test]
    fn relative_capacity_gives_a_percentage_and_never_energy() {
        let b = one(dell(&[
            (
                key::CAPABILITIES,
                int(BATTERY_SYSTEM_BATTERY | BATTERY_CAPACITY_RELATIVE),
            ),
            (key::DESIGNED_CAPACITY, int(100)),
            (key::FULL_CHARGED_CAPACITY, int(100)),
            (key::CAPACITY, int(57)),
            (key::RATE, int(-12)),
        ]));
        assert_eq!(b.percentage, Some(57.0));
        assert_eq!(b.energy_wh, None);
        assert_eq!(b.energy_full_wh, None);
        assert_eq!(b.energy_full_design_wh, None);
        assert_eq!(b.health_percent, None);
        assert_eq!(b.power_w, None);
        assert_eq!(b.time_to_empty, None);
        assert_eq!(b.voltage_v, Some(15.329), "the voltage is still mV");
    }

    #[test]
    fn energy_above_full_and_impossible_values_are_dropped() {
        // 38 Wh now of a 4 Wh full battery: the now value is a gauge bug, and the percentage worked out
        // from it (100 %) with it.
        let b = one(dell(&[
            (key::FULL_CHARGED_CAPACITY, int(4000)),
            (key::CAPACITY, int(38441)),
            (key::CYCLE_COUNT, int(i64::from(u32::MAX))),
            (key::VOLTAGE, int(i64::from(u32::MAX) - 1)),
        ]));
        assert_eq!(b.energy_full_wh, Some(4.0));
        assert_eq!(b.energy_wh, None);
        assert_eq!(b.percentage, None);
        assert_eq!(b.time_to_empty, None);
        assert_eq!(b.cycle_count, None);
        assert_eq!(b.voltage_v, None);
    }

    #[test]
    fn temperature_is_tenths_of_a_kelvin() {
        let b = one(dell(&[(key::TEMPERATURE, int(3001))]));
        assert_eq!(b.temperature_c.map(|t| (t * 100.0).round()), Some(2695.0));
        let b = one(dell(&[(key::TEMPERATURE, int(0))]));
        assert_eq!(b.temperature_c, None, "0 K is a driver without a sensor");
        let b = one(dell(&[(key::TEMPERATURE, int(9000))]));
        assert_eq!(b.temperature_c, None, "626.85 °C is not a battery's");
    }

    #[test]
    fn chemistry_codes_map_to_technology() {
        for (code, tech) in [
            ("LION", Technology::LithiumIon),
            ("Li-I", Technology::LithiumIon),
            ("LiP\0", Technology::LithiumPolymer),
            ("LIP ", Technology::LithiumPolymer),
            ("NiMH", Technology::NickelMetalHydride),
            ("NiCd", Technology::NickelCadmium),
            ("PbAc", Technology::LeadAcid),
            ("NiZn", Technology::NickelZinc),
            ("RAM\0", Technology::RechargeableAlkaline),
            ("\u{ff}\u{0}ab", Technology::Unknown),
        ] {
            let b = one(dell(&[(key::CHEMISTRY, Value::Str(code.into()))]));
            assert_eq!(b.technology, tech, "{code:?}");
        }
    }

    #[test]
    fn tag_zero_and_failed_tag_are_skipped_slots() {
        let out = decode_all(&[
            device("slot0", &[(key::TAG, int(0))]),
            device("slot1", &[(key::TAG_ERROR, int(2))]),
            device("slot2", &[(key::TAG_ERROR, int(5))]),
        ]);
        assert!(out.batteries.is_empty());
        assert_eq!(out.skipped.len(), 3);
        assert!(out.skipped[0].reason.contains("tag 0"));
        assert!(out.skipped[1].reason.contains("no battery in this slot"));
        assert!(
            out.skipped[2]
                .reason
                .contains("could not read the battery tag")
        );
    }

    #[test]
    fn short_term_battery_is_a_ups_source() {
        let out = decode_all(&[device(
            "ups",
            &[
                (key::TAG, int(7)),
                (
                    key::CAPABILITIES,
                    int(BATTERY_SYSTEM_BATTERY | BATTERY_IS_SHORT_TERM | BATTERY_CAPACITY_RELATIVE),
                ),
                (key::DEVICE_NAME, Value::Str("Back-UPS ES 700G".into())),
                (key::POWER_STATE, int(BATTERY_DISCHARGING)),
            ],
        )]);
        assert!(out.batteries.is_empty());
        let ups = &out.power_sources[0];
        assert_eq!(ups.kind, SourceKind::Ups);
        assert_eq!(ups.online, Some(false));
        assert_eq!(ups.name.as_deref(), Some("Back-UPS ES 700G"));
    }

    #[test]
    fn non_system_battery_is_a_peripheral() {
        let b = one(dell(&[(key::CAPABILITIES, int(0))]));
        assert_eq!(b.kind, Kind::Peripheral);
    }

    #[test]
    fn on_line_neither_bit_is_full_or_not_charging_by_level() {
        let b = one(dell(&[(key::POWER_STATE, int(BATTERY_POWER_ON_LINE))]));
        assert_eq!(b.state, State::Full, "95.2 % resting on AC");
        assert_eq!(b.external_power, Some(true));
        let b = one(dell(&[
            (key::POWER_STATE, int(BATTERY_POWER_ON_LINE)),
            (key::CAPACITY, int(32000)),
        ]));
        assert_eq!(b.state, State::NotCharging, "79 %: held by a limit");
        assert!(b.derived.contains(Field::State));
        assert!(b.state_reason.is_some());
        assert_eq!((b.time_to_empty, b.time_to_full), (None, None));
        let b = one(dell(&[(key::POWER_STATE, int(0))]));
        assert_eq!(b.state, State::Unknown);
        assert_eq!(b.external_power, Some(false));
        assert_eq!(b.state_raw.as_deref(), Some("0"));
    }

    #[test]
    fn critical_adds_a_reason_and_empty_needs_zero_capacity() {
        let b = one(dell(&[(
            key::POWER_STATE,
            int(BATTERY_POWER_ON_LINE | BATTERY_CHARGING | BATTERY_CRITICAL),
        )]));
        assert_eq!(b.state, State::Charging);
        assert_eq!(
            b.state_raw.as_deref(),
            Some("POWER_ON_LINE | CHARGING | CRITICAL")
        );
        assert!(b.state_reason.is_some_and(|r| r.contains("critical")));
        let b = one(dell(&[
            (
                key::POWER_STATE,
                int(BATTERY_DISCHARGING | BATTERY_CRITICAL),
            ),
            (key::CAPACITY, int(0)),
        ]));
        assert_eq!(b.state, State::Empty);
        assert_eq!(b.percentage, Some(0.0));
    }

    #[test]
    fn ac_line_status_values() {
        for (v, online) in [(0, Some(false)), (1, Some(true)), (255, None), (7, None)] {
            let out = decode_all(&[device(AC_ID, &[(key::AC_LINE_STATUS, int(v))])]);
            assert_eq!(out.power_sources[0].online, online, "{v}");
            assert_eq!(out.power_sources[0].kind, SourceKind::Mains);
        }
        // A battery without a status takes AC from the AC line record.
        let out = decode_all(&[
            device(AC_ID, &[(key::AC_LINE_STATUS, int(1))]),
            device("BAT", &[(key::TAG, int(3))]),
        ]);
        assert_eq!(out.batteries[0].external_power, Some(true));
    }

    #[test]
    fn identity_and_manufacture_date() {
        let b = one(dell(&[
            (key::DEVICE_NAME, Value::Str("DELL Y86WG26".into())),
            (key::MANUFACTURE_NAME, Value::Str("SMP\0".into())),
            (key::SERIAL_NUMBER, Value::Str("  9616 ".into())),
            (key::MANUFACTURE_YEAR, int(2022)),
            (key::MANUFACTURE_MONTH, int(6)),
            (key::MANUFACTURE_DAY, int(1)),
        ]));
        assert_eq!(b.model.as_deref(), Some("DELL Y86WG26"));
        assert_eq!(b.vendor.as_deref(), Some("SMP"));
        assert_eq!(b.serial.as_deref(), Some("9616"));
        assert_eq!(
            b.manufacture_date.map(|d| d.to_string()).as_deref(),
            Some("2022-06-01")
        );
        let b = one(dell(&[(key::MANUFACTURE_YEAR, int(0))]));
        assert_eq!(b.manufacture_date, None);
    }

    #[test]
    fn cycle_count_zero_is_not_counted() {
        let b = one(dell(&[(key::CYCLE_COUNT, int(0))]));
        assert_eq!(b.cycle_count, None);
    }

    #[test]
    fn wmi_status_codes_and_run_time_sentinel() {
        let wmi = |status: i64, pct: i64, run: i64| {
            device(
                "541SMP00HW023",
                &[
                    (key::WMI_BATTERY_STATUS, int(status)),
                    (key::WMI_CHARGE_REMAINING, int(pct)),
                    (key::WMI_RUN_TIME, int(run)),
                    (key::WMI_TIME_TO_FULL, int(run)),
                    (key::WMI_DESIGN_CAPACITY, Value::Str(String::new())),
                ],
            )
        };
        let b = one(wmi(2, 100, WMI_NO_ESTIMATE_MINUTES));
        assert_eq!(b.state, State::Full);
        assert_eq!(b.external_power, Some(true));
        assert_eq!((b.time_to_empty, b.health_percent), (None, None));
        assert_eq!(one(wmi(2, 80, 0)).state, State::NotCharging);
        let b = one(wmi(1, 60, 95));
        assert_eq!(b.state, State::Discharging);
        assert_eq!(b.time_to_empty, Some(Duration::from_secs(95 * 60)));
        let b = one(wmi(1, 60, WMI_NO_ESTIMATE_MINUTES));
        assert_eq!(b.time_to_empty, None);
        let b = one(wmi(8, 20, 50));
        assert_eq!(b.state, State::Charging);
        assert_eq!(b.time_to_full, Some(Duration::from_secs(3000)));
        assert_eq!(one(wmi(3, 100, 0)).state, State::Full);
        let b = one(wmi(4, 9, 10));
        assert_eq!(b.state, State::Discharging);
        assert!(b.derived.contains(Field::State));
        assert_eq!(one(wmi(10, 50, 0)).state, State::Unknown);
        assert_eq!(one(wmi(2, 250, 0)).percentage, None);
    }

    #[test]
    fn wmi_capacities_chemistry_and_report_merge() {
        let mut report = Record::new();
        report.push("Id", Value::Str("00HW023".into()));
        report.push("Manufacturer", Value::Str("SMP".into()));
        report.push("SerialNumber", Value::Str("  541".into()));
        report.push("Chemistry", Value::Str("LiP".into()));
        report.push("DesignCapacity", int(24000));
        report.push("FullChargeCapacity", int(21000));
        report.push("CycleCount", int(312));
        let b = one(device(
            "x",
            &[
                (key::WMI_CHARGE_REMAINING, int(50)),
                (key::WMI_CHEMISTRY, int(2)),
                (key::BATTERY_REPORT, Value::Dict(report.clone())),
            ],
        ));
        assert_eq!(b.technology, Technology::LithiumPolymer);
        assert_eq!(b.health_percent, Some(87.5));
        assert_eq!(b.energy_wh, Some(10.5));
        assert!(b.derived.contains(Field::Energy));
        assert_eq!(b.serial.as_deref(), Some("541"));
        assert_eq!(b.cycle_count, Some(312));
        assert_eq!(b.model.as_deref(), Some("00HW023"));
        let b = one(device(
            "y",
            &[
                (key::WMI_BATTERY_STATUS, int(1)),
                (key::WMI_CHEMISTRY, int(6)),
                (key::WMI_DESIGN_CAPACITY, int(50000)),
                (key::WMI_FULL_CHARGE_CAPACITY, int(45000)),
            ],
        ));
        assert_eq!(b.technology, Technology::LithiumIon);
        assert_eq!(b.health_percent, Some(90.0));
        // A relative report has no energies; a short-term one is a UPS.
        report.push("RelativeCapacity", int(1));
        let b = one(device(
            "z",
            &[(key::BATTERY_REPORT, Value::Dict(report.clone()))],
        ));
        assert_eq!(b.health_percent, None);
        report.push("LongTerm", int(0));
        let out = decode_all(&[device("u", &[(key::BATTERY_REPORT, Value::Dict(report))])]);
        assert_eq!(out.power_sources[0].kind, SourceKind::Ups);
    }

    #[test]
    fn records_without_windows_keys_or_with_a_capture_error_are_skipped() {
        let out = decode_all(&[
            device("a", &[("Foo", int(1))]),
            device(
                "b",
                &[(key::ERROR, Value::Str("CreateFileW (err 5).".into()))],
            ),
        ]);
        assert!(out.batteries.is_empty());
        assert!(out.skipped[1].reason.contains("err 5"));
    }

    /// The record text form (`voltaic record` → `--replay`) keeps every Windows record exactly: the shell's
    /// IOCTL form with a device-path id and a NUL in the chemistry bytes, and both capture forms.
    #[test]
    fn record_text_round_trips_every_form() {
        let mut shell = vec![
            dell(&[
                (key::DEVICE_NAME, Value::Str("DELL Y86WG26".into())),
                (key::ESTIMATED_TIME, int(BATTERY_UNKNOWN_U32)),
            ]),
            device(
                AC_ID,
                &[(key::AC_LINE_STATUS, int(1)), (key::BATTERY_FLAG, int(8))],
            ),
        ];
        shell[0].id = r"\\?\acpi#pnp0c0a#1#{72631e54-78a4-11d0-bcf7-00aa00b7b32a}".into();
        let captures = [
            include_str!(
                "../../tests/fixtures/windows/windows-dell-latitude-5330-ioctl-battery-query.txt"
            ),
            include_str!(
                "../../tests/fixtures/windows/windows-thinkpad-t470s-two-batteries-win32-battery.txt"
            ),
        ];
        let mut all = vec![shell];
        for text in captures {
            all.push(crate::replay::parse_recording(text.as_bytes()).unwrap_or_default());
        }
        for devices in all {
            assert!(!devices.is_empty());
            let printed = crate::record::print(&devices);
            let back = crate::replay::parse_recording(printed.as_bytes());
            assert_eq!(back.as_ref(), Ok(&devices), "{printed}");
            let back = back.unwrap_or_default();
            assert_eq!(decode_all(&back), decode_all(&devices));
        }
    }

    #[test]
    fn garbage_never_panics_or_yields_nan() {
        let values = [
            int(i64::MIN),
            int(i64::MAX),
            int(-1),
            int(0),
            Value::Float(f64::NAN),
            Value::Float(1e300),
            Value::Str("abc".into()),
            Value::Str(String::new()),
            Value::Bool(true),
            Value::Data(vec![0xff; 3]),
            Value::Array(vec![]),
            Value::Dict(Record::new()),
        ];
        let keys = [
            key::TAG,
            key::CAPABILITIES,
            key::CHEMISTRY,
            key::DESIGNED_CAPACITY,
            key::FULL_CHARGED_CAPACITY,
            key::CYCLE_COUNT,
            key::POWER_STATE,
            key::CAPACITY,
            key::VOLTAGE,
            key::RATE,
            key::TEMPERATURE,
            key::ESTIMATED_TIME,
            key::MANUFACTURE_YEAR,
            key::WMI_CHARGE_REMAINING,
            key::WMI_BATTERY_STATUS,
            key::WMI_RUN_TIME,
            key::BATTERY_REPORT,
            key::AC_LINE_STATUS,
        ];
        for v in &values {
            let entries: Vec<(&str, Value)> = keys.iter().map(|k| (*k, v.clone())).collect();
            for d in [
                device("g", &entries),
                device("h", &entries[1..]),
                device("i", &entries[13..17]),
            ] {
                let out = decode_all(&[d]);
                for b in &out.batteries {
                    for x in [
                        b.percentage,
                        b.energy_wh,
                        b.energy_full_wh,
                        b.power_w,
                        b.voltage_v,
                        b.current_a,
                        b.health_percent,
                    ]
                    .into_iter()
                    .flatten()
                    {
                        assert!(x.is_finite() && x >= 0.0, "{x} from {v:?}");
                    }
                    assert!(b.temperature_c.is_none_or(f64::is_finite));
                }
            }
        }
    }
}
