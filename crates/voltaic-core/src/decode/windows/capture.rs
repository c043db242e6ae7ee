//! The Windows text forms users paste into bug reports, read into Windows raw records.
//!
//! - **BatteryQuery** (forderud/BatterySimulator `BatteryQuery.exe`): a dump of `IOCTL_BATTERY_QUERY_*`
//!   results. It prints the same structures the shell reads, so it becomes the primary IOCTL form, with
//!   the tool's presentation undone: flag names back to bits, `<unknown>` back to the sentinel it stood
//!   for, `27 Celsius` back to tenths of a kelvin (the tool subtracts 2731).
//! - **Win32_Battery** (`wmic path Win32_Battery get /format:list`, or PowerShell `Format-List`): one
//!   record per instance, keys as WMI names them. A `powercfg /batteryreport /xml` pasted after it is
//!   merged into the instance of the same battery (report `Id` = WMI `Name`).
//! - **Battery report** (`powercfg /batteryreport /xml`) alone: one record per `<Battery>` element.
//!
//! A capture cut in the middle of its last line keeps everything before that line.

use super::{int, key};
use crate::decode::clean_text;
use crate::record::{Os, ParseError, RawDevice, Record, Value, clip};

/// Which Windows capture a text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CaptureForm {
    /// The BatteryQuery tool's IOCTL dump.
    BatteryQuery,
    /// A Win32_Battery listing (optionally followed by a battery report).
    Win32Battery,
    /// A `powercfg /batteryreport /xml` report.
    BatteryReport,
}

/// The Windows capture `text` is, judged from its first meaningful line (and, for a WMI listing, from
/// its Win32_Battery keys); `None` when it is none of them.
#[must_use]
pub fn detect(text: &str) -> Option<CaptureForm> {
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))?;
    let battery_query = first == "Querying all batteries:"
        || (first.starts_with("Opening ") && first.ends_with(':'))
        || (first.ends_with("parameters:")
            && (first.contains("IOCTL_BATTERY_QUERY_INFORMATION")
                || first.starts_with("BATTERY_INFORMATION")
                || first.starts_with("BATTERY_STATUS")));
    if battery_query {
        return Some(CaptureForm::BatteryQuery);
    }
    if first.starts_with('<') {
        return text
            .contains("<BatteryReport")
            .then_some(CaptureForm::BatteryReport);
    }
    let win32_key = text.lines().any(|l| {
        split_entry(l)
            .is_some_and(|(k, _)| k == key::WMI_CHARGE_REMAINING || k == key::WMI_BATTERY_STATUS)
    });
    (win32_key && split_entry(first).is_some()).then_some(CaptureForm::Win32Battery)
}

/// Reads the capture `text` in the form [`detect`] finds.
///
/// # Errors
/// A [`ParseError`] naming the first line that is not part of the form, or saying the text is none.
pub fn parse(text: &str) -> Result<Vec<RawDevice>, ParseError> {
    match detect(text) {
        Some(CaptureForm::BatteryQuery) => parse_battery_query(text),
        Some(CaptureForm::Win32Battery) => parse_win32_battery(text),
        Some(CaptureForm::BatteryReport) => Ok(parse_battery_report(text)),
        None => Err(ParseError::new(0, "not a Windows battery capture")),
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Section {
    Misc,
    Information,
    Status,
}

/// The number of the last meaningful line (a cut capture ends there).
fn last_line(text: &str) -> usize {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(|(i, _)| i + 1)
        .last()
        .unwrap_or(0)
}

/// Reads a BatteryQuery dump: one device per `Opening <instance path>:` block.
///
/// # Errors
/// A [`ParseError`] naming a line (other than a cut last line) that is neither a section heading nor a
/// `name: value` / `name=value` line.
pub fn parse_battery_query(text: &str) -> Result<Vec<RawDevice>, ParseError> {
    let last = last_line(text);
    let mut devices: Vec<(String, Record)> = Vec::new();
    let mut section = Section::Misc;
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw.trim();
        if line.is_empty()
            || line.starts_with('#')
            || line == "Querying all batteries:"
            || line.starts_with("WARNING:")
            || line.starts_with("Continuing battery scan")
        {
            continue;
        }
        if let Some(rest) = line.strip_prefix("Opening ") {
            let id = rest.strip_suffix(':').unwrap_or(rest).trim();
            devices.push((id.to_owned(), Record::new()));
            section = Section::Misc;
            continue;
        }
        if line.ends_with(':') && line.contains("parameters") {
            section = if line.contains("BATTERY_INFORMATION ") {
                Section::Information
            } else if line.contains("BATTERY_STATUS") {
                Section::Status
            } else {
                Section::Misc
            };
            continue;
        }
        if devices.is_empty() {
            devices.push((format!("battery{}", devices.len()), Record::new()));
        }
        let at = devices.len() - 1;
        let record = &mut devices[at].1;
        if let Some(msg) = line.strip_prefix("ERROR:") {
            record.push(key::ERROR, Value::Str(msg.trim().to_owned()));
            continue;
        }
        if let Some(rest) = line.strip_prefix("BatteryGranularityInformation") {
            push_granularity(record, rest);
            continue;
        }
        let Some(at) = line.find([':', '=']) else {
            if n == last {
                break; // the capture was cut in the middle of this line
            }
            return Err(ParseError::new(
                n,
                format!(
                    "expected a BatteryQuery `name: value` or `name=value` line, found `{}`",
                    clip(line)
                ),
            ));
        };
        let name = line[..at].trim();
        let value = line[at + 1..].trim();
        push_query_value(record, section, name, value);
    }
    Ok(devices
        .into_iter()
        .map(|(id, r)| RawDevice::new(Os::Windows, id, r))
        .collect())
}

/// `<unknown>`: what BatteryQuery prints for a sentinel or a failed level.
fn is_unknown(value: &str) -> bool {
    value.starts_with("<unknown")
}

/// The integer a value starts with (`38441 mWh`, `-32391 mW`, `4012 s`).
fn leading_int(value: &str) -> Option<i64> {
    let end = value
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || (i == 0 && c == '-')))
        .map_or(value.len(), |(i, _)| i);
    value[..end].parse().ok()
}

/// The value as the number it starts with, or as text when it does not start with one.
fn number_or_text(value: &str) -> Value {
    leading_int(value).map_or_else(|| Value::Str(value.to_owned()), Value::Int)
}

/// A flags value as BatteryQuery prints it (`| SYSTEM_BATTERY | RELATIVE`, residual bits in hex, `0`),
/// or a plain decimal number, back to the ULONG.
fn flags(value: &str, names: &[(&str, u32)]) -> Option<u32> {
    if !value.contains('|') {
        if let Ok(v) = value.parse() {
            return Some(v);
        }
        return names
            .iter()
            .find(|(n, _)| *n == value.trim_start_matches("BATTERY_"))
            .map(|(_, bit)| *bit);
    }
    let mut bits = 0u32;
    for token in value.split('|').map(str::trim).filter(|t| !t.is_empty()) {
        let token = token.trim_start_matches("BATTERY_");
        bits |= match names.iter().find(|(n, _)| *n == token) {
            Some((_, bit)) => *bit,
            None => u32::from_str_radix(token.trim_start_matches("0x"), 16).ok()?,
        };
    }
    Some(bits)
}

const CAPABILITY_NAMES: [(&str, u32); 7] = [
    ("SYSTEM_BATTERY", super::BATTERY_SYSTEM_BATTERY),
    ("RELATIVE", super::BATTERY_CAPACITY_RELATIVE),
    ("CAPACITY_RELATIVE", super::BATTERY_CAPACITY_RELATIVE),
    ("IS_SHORT_TERM", super::BATTERY_IS_SHORT_TERM),
    ("SET_CHARGE_SUPPORTED", 1),
    ("SET_DISCHARGE_SUPPORTED", 2),
    ("SET_RESUME_SUPPORTED", 4),
];

const POWER_STATE_NAMES: [(&str, u32); 4] = [
    ("POWER_ON_LINE", super::BATTERY_POWER_ON_LINE),
    ("DISCHARGING", super::BATTERY_DISCHARGING),
    ("CHARGING", super::BATTERY_CHARGING),
    ("CRITICAL", super::BATTERY_CRITICAL),
];

fn push_flags(record: &mut Record, key: &str, value: &str, names: &[(&str, u32)]) {
    let v = flags(value, names).map_or_else(|| Value::Str(value.to_owned()), int);
    record.push(key, v);
}

fn push_granularity(record: &mut Record, rest: &str) {
    // ` 0: Resolution=578 mWh for Capacity<=1748 mWh`, or `: <unknown>`.
    let scale = rest
        .split_once("Resolution=")
        .and_then(|(_, r)| r.split_once("Capacity<="))
        .and_then(|(g, c)| Some((leading_int(g.trim())?, leading_int(c.trim())?)));
    let Some((granularity, capacity)) = scale else {
        return;
    };
    let mut entry = Record::new();
    entry.push("Granularity", Value::Int(granularity));
    entry.push("Capacity", Value::Int(capacity));
    let mut items = record
        .get(key::GRANULARITY)
        .and_then(Value::as_array)
        .map(<[Value]>::to_vec)
        .unwrap_or_default();
    items.push(Value::Dict(entry));
    record.set(key::GRANULARITY, Value::Array(items));
}

fn push_query_value(record: &mut Record, section: Section, name: &str, value: &str) {
    let unknown = is_unknown(value);
    let sentinel = int(super::BATTERY_UNKNOWN_U32);
    match (section, name) {
        (_, "BatteryDeviceName") => record.push(key::DEVICE_NAME, Value::Str(value.to_owned())),
        (_, "BatteryManufactureName") => {
            record.push(key::MANUFACTURE_NAME, Value::Str(value.to_owned()));
        }
        (_, "BatterySerialNumber") => {
            record.push(key::SERIAL_NUMBER, Value::Str(value.to_owned()));
        }
        (_, "BatteryUniqueID") => record.push(key::UNIQUE_ID, Value::Str(value.to_owned())),
        (_, "BatteryEstimatedTime") if unknown => record.push(key::ESTIMATED_TIME, sentinel),
        (_, "BatteryEstimatedTime") => record.push(key::ESTIMATED_TIME, number_or_text(value)),
        (_, "BatteryManufactureDate") => {
            // Printed year-month-day; `<unknown>` when the year is 0 or the level failed.
            let parts: Vec<Option<i64>> = value.splitn(3, '-').map(leading_int).collect();
            if let [Some(y), Some(m), Some(d)] = parts[..] {
                record.push(key::MANUFACTURE_DAY, Value::Int(d));
                record.push(key::MANUFACTURE_MONTH, Value::Int(m));
                record.push(key::MANUFACTURE_YEAR, Value::Int(y));
            }
        }
        (_, "BatteryTemperature") if unknown => {}
        (_, "BatteryTemperature") => {
            // Newer versions print (T − 2731) / 10 as `%.1f Celsius` or `%i Celsius`; the first printed
            // the raw tenths of a kelvin. Undo the tool's conversion with its own offset.
            let celsius = value
                .strip_suffix("Celsius")
                .and_then(|c| c.trim().parse::<f64>().ok())
                .filter(|c| c.is_finite() && c.abs() < 1e6);
            let v = match celsius {
                Some(c) => Value::Int(2731 + (c * 10.0).round() as i64),
                None => number_or_text(value),
            };
            record.push(key::TEMPERATURE, v);
        }
        (Section::Information, "Capabilities") => {
            push_flags(record, key::CAPABILITIES, value, &CAPABILITY_NAMES);
        }
        (Section::Information, "Technology") => {
            let v = match value {
                "Nonrechargeable" => int(0),
                "Rechargeable" => int(1),
                _ if unknown => return,
                other => number_or_text(other),
            };
            record.push(key::TECHNOLOGY, v);
        }
        (Section::Information, "Chemistry") => {
            record.push(key::CHEMISTRY, Value::Str(value.to_owned()));
        }
        (Section::Information, "CycleCount") if unknown => record.push(key::CYCLE_COUNT, int(0)),
        (Section::Information, field) => {
            record.push(format!("BatteryInformation.{field}"), number_or_text(value));
        }
        (Section::Status, "PowerState") => {
            push_flags(record, key::POWER_STATE, value, &POWER_STATE_NAMES);
        }
        (Section::Status, "(Dis)Charge Rate" | "Rate") if unknown => {
            record.push(key::RATE, Value::Int(i64::from(i32::MIN)));
        }
        (Section::Status, "(Dis)Charge Rate" | "Rate") => {
            record.push(key::RATE, number_or_text(value));
        }
        (Section::Status, field) if unknown => {
            record.push(format!("BatteryStatus.{field}"), sentinel);
        }
        (Section::Status, field) => {
            record.push(format!("BatteryStatus.{field}"), number_or_text(value));
        }
        // Anything else the tool prints (driver description, version…) is kept under its own name.
        (Section::Misc, other) => record.push(other, Value::Str(value.to_owned())),
    }
}

/// A WMI listing line: `Name=Value` (wmic) or `Name : Value` (PowerShell `Format-List`); the name is an
/// identifier. wmic values are taken exactly (`DeviceID=  541SMP00HW023` keeps its spaces).
fn split_entry(line: &str) -> Option<(&str, &str)> {
    let line = line.trim_end_matches('\r');
    let is_name =
        |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if let Some((name, value)) = line.split_once('=')
        && is_name(name)
    {
        return Some((name, value));
    }
    let (name, value) = line.split_once(':')?;
    let name = name.trim();
    is_name(name).then(|| (name, value.strip_prefix(' ').unwrap_or(value)))
}

/// A WMI or report value: an integer when it is exactly one, else the text as given.
fn wmi_value(value: &str) -> Value {
    value
        .parse::<i64>()
        .map_or_else(|_| Value::Str(value.to_owned()), Value::Int)
}

/// Reads a Win32_Battery listing (instances separated by blank lines or by a repeated name), and a
/// battery report that follows it.
///
/// # Errors
/// A [`ParseError`] naming a line of the listing (other than a cut last line) that is not `Name=Value`.
pub fn parse_win32_battery(text: &str) -> Result<Vec<RawDevice>, ParseError> {
    let xml_at = text
        .find("<?xml")
        .or_else(|| text.find("<BatteryReport"))
        .unwrap_or(text.len());
    let (listing, xml) = text.split_at(xml_at);
    let last = last_line(listing);
    let mut instances: Vec<Record> = Vec::new();
    let mut current = Record::new();
    for (i, raw) in listing.lines().enumerate() {
        let n = i + 1;
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() {
            if !current.is_empty() {
                instances.push(std::mem::take(&mut current));
            }
            continue;
        }
        if line.trim_start().starts_with('#') {
            continue;
        }
        let Some((name, value)) = split_entry(line) else {
            if n == last {
                break; // the capture was cut in the middle of this line
            }
            return Err(ParseError::new(
                n,
                format!(
                    "expected a Win32_Battery `Name=Value` line, found `{}`",
                    clip(line)
                ),
            ));
        };
        if current.contains(name) {
            instances.push(std::mem::take(&mut current));
        }
        current.push(name, wmi_value(value));
    }
    if !current.is_empty() {
        instances.push(current);
    }
    let mut devices: Vec<RawDevice> = instances
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            let id = [key::WMI_DEVICE_ID, key::WMI_NAME]
                .iter()
                .find_map(|k| r.text(k).and_then(|t| clean_text(&t)))
                .unwrap_or_else(|| format!("battery{i}"));
            RawDevice::new(Os::Windows, id, r)
        })
        .collect();
    for report in parse_battery_report(xml) {
        let Some(dict) = report.record.dict(key::BATTERY_REPORT) else {
            continue;
        };
        let report_id = dict.text("Id").and_then(|t| clean_text(&t));
        let same = devices.iter_mut().find(|d| {
            !d.record.contains(key::BATTERY_REPORT)
                && report_id.is_some()
                && d.record.text(key::WMI_NAME).and_then(|t| clean_text(&t)) == report_id
        });
        match same {
            Some(d) => d
                .record
                .push(key::BATTERY_REPORT, Value::Dict(dict.clone())),
            None => devices.push(report),
        }
    }
    Ok(devices)
}

/// Reads the `<Battery>` elements of a `powercfg /batteryreport /xml` report, one device each, the
/// element's children in a [`key::BATTERY_REPORT`] dictionary. A cut element keeps its complete children.
#[must_use]
pub fn parse_battery_report(xml: &str) -> Vec<RawDevice> {
    let mut devices = Vec::new();
    let mut rest = xml;
    while let Some(start) = find_battery_open(rest) {
        let body = &rest[start..];
        let end = body.find("</Battery>").unwrap_or(body.len());
        let element = &body[..end];
        rest = &body[end..];
        let children = xml_children(element);
        let id = children
            .text("Id")
            .and_then(|t| clean_text(&t))
            .unwrap_or_else(|| format!("battery{}", devices.len()));
        let mut record = Record::new();
        record.push(key::BATTERY_REPORT, Value::Dict(children));
        devices.push(RawDevice::new(Os::Windows, id, record));
        if rest.is_empty() {
            break;
        }
        rest = &rest["</Battery>".len().min(rest.len())..];
    }
    devices
}

/// The offset just after the next `<Battery>` (or `<Battery …>`) opening tag.
fn find_battery_open(text: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(at) = text[from..].find("<Battery") {
        let after = from + at + "<Battery".len();
        let next = text[after..].chars().next()?;
        if next == '>' || next.is_whitespace() {
            let close = text[after..].find('>')?;
            return Some(after + close + 1);
        }
        from = after;
    }
    None
}

/// The simple child elements of an element body (`<Name>text</Name>`, `<Name/>`), in order.
fn xml_children(body: &str) -> Record {
    let mut record = Record::new();
    let mut rest = body;
    while let Some(open) = rest.find('<') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('>') else {
            break; // cut inside a tag
        };
        let tag = &after[..close];
        rest = &after[close + 1..];
        if tag.starts_with(['/', '?', '!']) {
            continue;
        }
        if let Some(name) = tag.strip_suffix('/') {
            record.push(name.trim(), Value::Str(String::new()));
            continue;
        }
        let name = tag.split_whitespace().next().unwrap_or_default();
        let end_tag = format!("</{name}>");
        let Some(end) = rest.find(&end_tag) else {
            break; // cut inside the element
        };
        let value = unescape(&rest[..end]);
        rest = &rest[end + end_tag.len()..];
        if !name.is_empty() {
            record.push(name, wmi_value(&value));
        }
    }
    record
}

/// XML character references and the five predefined entities.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let entity = after.find(';').map(|end| (&after[..end], end));
        let decoded = entity.and_then(|(name, end)| {
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => name
                    .strip_prefix("#x")
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .or_else(|| name.strip_prefix('#').and_then(|d| d.parse().ok()))
                    .and_then(char::from_u32),
            };
            c.map(|c| (c, end))
        });
        if let Some((c, end)) = decoded {
            out.push(c);
            rest = &after[end + 1..];
        } else {
            out.push('&');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DUMP: &str = "Querying all batteries:\n\nOpening ACPI\\PNP0C0A\\1:\n\n\
        Misc. IOCTL_BATTERY_QUERY_INFORMATION parameters:\n  BatteryDeviceName:      DELL Y86WG26\n\
        \x20 BatteryEstimatedTime:   <unknown>\n  BatteryManufactureDate: <unknown>\n\
        \x20 BatteryTemperature:     30.5 Celsius\n\n\
        BATTERY_INFORMATION parameters:\n  Capabilities=| RELATIVE | SYSTEM_BATTERY | 4 \n\
        \x20 Technology=Nonrechargeable\n  Chemistry=PbAc\n  DesignedCapacity=100\n  CycleCount=<unknown>\n\n\
        BATTERY_STATUS parameters:\n  PowerState=| CHARGING | POWER_ON_LINE \n  Capacity=<unknown>\n\
        \x20 Voltage=12000 mV\n  (Dis)Charge Rate=<unknown>\n\n\
        Opening ACPI\\PNP0C0A\\2:\nERROR: CreateFileW (err 2).\n";

    #[test]
    fn detects_each_form() {
        assert_eq!(detect(DUMP), Some(CaptureForm::BatteryQuery));
        assert_eq!(
            detect("# x\nBATTERY_STATUS parameters:\n  PowerState=0\n"),
            Some(CaptureForm::BatteryQuery)
        );
        assert_eq!(
            detect("Availability=2\nBatteryStatus=2\n"),
            Some(CaptureForm::Win32Battery)
        );
        assert_eq!(
            detect("Availability           : 2\nEstimatedChargeRemaining : 80\n"),
            Some(CaptureForm::Win32Battery)
        );
        assert_eq!(
            detect("<?xml version=\"1.0\"?>\n<BatteryReport>"),
            Some(CaptureForm::BatteryReport)
        );
        assert_eq!(detect("<?xml version=\"1.0\"?>\n<plist>"), None);
        assert_eq!(detect("Availability=2\n"), None);
        assert_eq!(detect("POWER_SUPPLY_NAME=BAT0\n"), None);
        assert_eq!(detect(""), None);
    }

    #[test]
    fn battery_query_unknowns_flags_and_celsius_are_undone() {
        let devices = parse_battery_query(DUMP).unwrap_or_default();
        assert_eq!(devices.len(), 2);
        let r = &devices[0].record;
        assert_eq!(devices[0].id, "ACPI\\PNP0C0A\\1");
        assert_eq!(r.int(key::ESTIMATED_TIME), Some(0xFFFF_FFFF));
        assert!(!r.contains(key::MANUFACTURE_YEAR));
        assert_eq!(r.int(key::TEMPERATURE), Some(3036));
        assert_eq!(r.int(key::CAPABILITIES), Some(0xC000_0004));
        assert_eq!(r.int(key::TECHNOLOGY), Some(0));
        assert_eq!(r.int(key::CYCLE_COUNT), Some(0));
        assert_eq!(r.int(key::POWER_STATE), Some(5));
        assert_eq!(r.int(key::CAPACITY), Some(0xFFFF_FFFF));
        assert_eq!(r.int(key::VOLTAGE), Some(12000));
        assert_eq!(r.int(key::RATE), Some(i64::from(i32::MIN)));
        assert_eq!(
            devices[1].record.text(key::ERROR).as_deref(),
            Some("CreateFileW (err 2).")
        );
    }

    #[test]
    fn battery_query_cut_last_line_and_bad_lines() {
        let cut = "BATTERY_STATUS parameters:\n  PowerState=| DISCHARGING\n  Capac";
        let devices = parse_battery_query(cut).unwrap_or_default();
        assert_eq!(devices[0].record.int(key::POWER_STATE), Some(2));
        let err =
            parse_battery_query("BATTERY_STATUS parameters:\n  garbage line\n  Voltage=1\n").err();
        assert_eq!(err.map(|e| e.line), Some(2));
        // Unknown flag names do not become bits.
        let devices = parse_battery_query("BATTERY_STATUS parameters:\n  PowerState=| BOGUS\n")
            .unwrap_or_default();
        assert_eq!(
            devices[0].record.text(key::POWER_STATE).as_deref(),
            Some("| BOGUS")
        );
    }

    #[test]
    fn win32_listing_instances_cut_line_and_powershell_form() {
        let text = "Availability=2\r\r\nBatteryStatus=2\r\r\nDeviceID=  541SMP00HW023\r\r\nName=00HW023\r\r\n\r\r\n\
                    Availability=2\r\nBatteryStatus=1\r\nDesignCapacity=\r\nName=01AV406\r\nTimeO";
        let devices = parse_win32_battery(text).unwrap_or_default();
        assert_eq!(devices.len(), 2);
        assert_eq!(devices[0].id, "541SMP00HW023");
        assert_eq!(
            devices[0].record.text(key::WMI_DEVICE_ID).as_deref(),
            Some("  541SMP00HW023")
        );
        assert_eq!(devices[1].id, "01AV406");
        assert_eq!(
            devices[1].record.get(key::WMI_DESIGN_CAPACITY),
            Some(&Value::Str(String::new()))
        );
        let ps = "\nAvailability             : 2\nBatteryStatus            : 1\nEstimatedChargeRemaining : 61\n";
        let devices = parse_win32_battery(ps).unwrap_or_default();
        assert_eq!(devices[0].record.int(key::WMI_CHARGE_REMAINING), Some(61));
        let err = parse_win32_battery("BatteryStatus=2\n-- more --\nName=x\n").err();
        assert_eq!(err.map(|e| e.line), Some(2));
    }

    #[test]
    fn battery_report_elements_cut_and_merged() {
        let xml = "<?xml version=\"1.0\"?><BatteryReport><Batteries><Battery><Id>A&amp;B</Id>\
                   <ManufactureDate/><DesignCapacity>42401</DesignCapacity></Battery>\
                   <Battery><Id>01AV406</Id><Manufacturer>SMP</Manu";
        let devices = parse_battery_report(xml);
        assert_eq!(devices.len(), 2);
        assert_eq!(devices[0].id, "A&B");
        let d = devices[0].record.dict(key::BATTERY_REPORT);
        assert_eq!(d.and_then(|d| d.int("DesignCapacity")), Some(42401));
        assert_eq!(devices[1].id, "01AV406");
        let d = devices[1].record.dict(key::BATTERY_REPORT);
        assert_eq!(
            d.map(Record::len),
            Some(1),
            "the cut element keeps its complete children"
        );
        // After a WMI listing: merged into the instance with the same Name.
        let text = format!("BatteryStatus=2\nName=01AV406\n{xml}");
        let devices = parse_win32_battery(&text).unwrap_or_default();
        assert_eq!(devices.len(), 2);
        assert!(devices[0].record.contains(key::BATTERY_REPORT));
        assert_eq!(devices[1].id, "A&B");
        // Element names only: <Batteries> and <BatteryReport> are not batteries.
        assert!(parse_battery_report("<BatteryReport><Batteries/></BatteryReport>").is_empty());
    }

    #[test]
    fn replay_reads_each_windows_form() {
        use crate::replay::{Format, detect as replay_detect, parse_recording};
        let report = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<BatteryReport xmlns=\"http://schemas.microsoft.com/battery/2012\">\
            <Batteries><Battery><Id>DELL 01RR3YM</Id><Manufacturer>SMP</Manufacturer><SerialNumber>1857</SerialNumber>\
            <ManufactureDate></ManufactureDate><Chemistry>LiP</Chemistry><LongTerm>1</LongTerm>\
            <RelativeCapacity>0</RelativeCapacity><DesignCapacity>95065</DesignCapacity>\
            <FullChargeCapacity>52166</FullChargeCapacity><CycleCount>0</CycleCount></Battery></Batteries>\
            <RuntimeEstimates><DesignCapacity><Capacity>95065</Capacity></DesignCapacity></RuntimeEstimates></BatteryReport>";
        for (text, format) in [
            (DUMP, Format::WindowsBatteryQuery),
            (
                "BatteryStatus=1\nEstimatedChargeRemaining=40\n",
                Format::WindowsWin32Battery,
            ),
            (report, Format::WindowsBatteryReport),
        ] {
            assert_eq!(replay_detect(text.as_bytes()), Some(format));
            assert!(parse_recording(text.as_bytes()).is_ok_and(|d| !d.is_empty()));
        }
        let devices = parse_recording(report.as_bytes()).unwrap_or_default();
        let decoded = crate::decode::decode(&devices);
        let b = &decoded.batteries[0];
        assert_eq!(b.id, "DELL 01RR3YM");
        assert_eq!(b.health_percent.map(f64::round), Some(55.0));
        assert_eq!(b.percentage, None, "a report has no present charge");
        assert_eq!(b.cycle_count, None);
    }

    #[test]
    fn unescape_references() {
        assert_eq!(
            unescape("a&lt;b&gt;&quot;&#65;&#x42;&bogus;&"),
            "a<b>\"AB&bogus;&"
        );
    }

    #[test]
    fn garbage_never_panics() {
        for text in [
            "Opening :\n",
            "Opening",
            "BATTERY_INFORMATION parameters:\nCapabilities=| | 0xZZ\nChemistry=\u{1F600}\n",
            "Misc. IOCTL_BATTERY_QUERY_INFORMATION parameters:\nBatteryTemperature: 1e400 Celsius\nBatteryManufactureDate: ---\nBatteryGranularityInformation 0: Resolution=\n",
            "<Battery",
            "<Battery><",
            "<Battery><Id>",
            "<Battery x><Id>1</Id></Battery></Battery><Battery>",
            "BatteryStatus=\u{0}\n=\n:\n",
        ] {
            let _ = parse(text);
            let _ = parse_battery_query(text);
            let _ = parse_win32_battery(text);
            let _ = parse_battery_report(text);
        }
    }
}
