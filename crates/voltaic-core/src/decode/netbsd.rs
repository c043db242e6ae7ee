//! NetBSD: envsys(4) sensor dictionaries from `/dev/sysmon` → model.
//!
//! `ENVSYS_GETDICTIONARY` hands back an XML property list (proplib): a dictionary from device name to an
//! array of sensor dictionaries, the last one holding `device-properties` (`sys/dev/sysmon/
//! sysmon_envsys.c`). The shell passes that XML to [`parse_envsys_xml`] (pure), which keeps the power
//! devices and gives one record per device, one entry per sensor keyed by its `index`, with the
//! kernel's own keys:
//!
//! ```text
//! [netbsd acpibat0]
//! sensor5 = {
//!   description = "charge"
//!   type = "Watt hour"        # sysmon_envsys_tables.c: Watt hour, Ampere hour, Watts, Ampere, Voltage DC, …
//!   state = "valid"           # valid, invalid, unknown, critical, critical-under, warning-under, …
//!   cur-value = 47910000      # µWh, µAh, µW, µA, µV; indicators 0/1
//!   max-value = 48260000
//!   want-percentage = true
//! }
//! device-properties = { device-class = "battery" refresh-timeout = 30 }
//! ```
//!
//! `acpibat(4)` (`sys/dev/acpi/acpi_bat.c`) names its sensors "present", "design voltage", "voltage",
//! "design cap", "last full cap", "charge", "charge rate", "discharge rate", "charging", "charge state";
//! `acpiacad(4)` has "connected". Sensors are matched by description, never by index. Pasted
//! `envstat` output reads back into the same records ([`parse_envstat`]).

use super::acpi::{self, Context};
use super::{Decoded, Skipped};
use crate::battery::{Battery, Kind, Level, State};
use crate::derived::{self, Field};
use crate::record::{Os, ParseError, RawDevice, Record, Value, clip};
use crate::source::{PowerSource, SourceKind};

/// The key of the per-device properties entry.
pub const DEVICE_PROPERTIES: &str = "device-properties";

/// envsys `Battery capacity` values (`sys/envsys.h` `ENVSYS_BATTERY_CAPACITY_*`).
const CAPACITY_WORDS: [(&str, i64); 5] = [
    ("NORMAL", 1),
    ("WARNING", 2),
    ("LOW", 3),
    ("CRITICAL", 4),
    ("HIGH", 5),
];

/// One sensor of a record, as far as it matters here.
#[derive(Debug, Clone)]
struct Sensor {
    desc: String,
    kind: String,
    /// `cur-value`, or `None` when the sensor's state is "invalid"/"unknown" (envstat prints N/A).
    value: Option<i64>,
    max: Option<i64>,
    capacity: Option<String>,
}

fn sensors(r: &Record) -> Vec<Sensor> {
    r.iter()
        .filter(|(k, _)| *k != DEVICE_PROPERTIES)
        .filter_map(|(_, v)| {
            let d = v.as_dict()?;
            let state = d.text("state").map(|s| s.trim().to_ascii_lowercase());
            let valid = !matches!(state.as_deref(), Some("invalid" | "unknown"));
            Some(Sensor {
                desc: d.text("description")?.trim().to_ascii_lowercase(),
                kind: d
                    .text("type")
                    .map(|t| t.trim().to_owned())
                    .unwrap_or_default(),
                value: d.int("cur-value").filter(|_| valid),
                max: d.int("max-value").filter(|_| valid),
                capacity: d
                    .text("battery-capacity")
                    .map(|s| s.trim().to_ascii_uppercase()),
            })
        })
        .collect()
}

fn device_class(r: &Record) -> Option<String> {
    r.dict(DEVICE_PROPERTIES)?
        .text("device-class")
        .map(std::borrow::Cow::into_owned)
}

/// Whether a device record is a battery: its class says so, or it has acpibat's capacity sensors.
fn is_battery(id: &str, r: &Record) -> bool {
    device_class(r).as_deref() == Some("battery")
        || id.starts_with("acpibat")
        || sensors(r)
            .iter()
            .any(|s| matches!(s.desc.as_str(), "last full cap" | "design cap" | "charge"))
}

fn is_adapter(id: &str, r: &Record) -> bool {
    device_class(r).as_deref() == Some("ac-adapter")
        || id.starts_with("acpiacad")
        || sensors(r).iter().any(|s| s.desc == "connected")
}

/// Decodes the NetBSD devices of one machine (AC adapters first, for the batteries' context).
pub fn decode(devices: &[&RawDevice], out: &mut Decoded) {
    let mut batteries = Vec::new();
    let mut external_power: Option<bool> = None;
    for device in devices {
        let r = &device.record;
        if is_battery(&device.id, r) {
            batteries.push(*device);
        } else if is_adapter(&device.id, r) {
            let mut s = PowerSource::new(device.id.clone(), SourceKind::Mains);
            s.online = sensors(r)
                .iter()
                .find(|s| s.desc == "connected")
                .and_then(|s| s.value)
                .map(|v| v != 0);
            if let Some(on) = s.online {
                external_power = Some(external_power.unwrap_or(false) || on);
            }
            out.power_sources.push(s);
        } else {
            out.skipped.push(Skipped::new(
                device.id.clone(),
                "neither a battery nor an AC adapter envsys device",
            ));
        }
    }
    for device in batteries {
        out.push(decode_one(device, external_power));
    }
}

/// Decodes one battery device record, given what is known about external power.
///
/// # Errors
/// A [`Skipped`] when the battery is not present or the record is no battery.
#[allow(clippy::too_many_lines)] // one table of rules, read top to bottom
pub fn decode_one(device: &RawDevice, external_power: Option<bool>) -> Result<Battery, Skipped> {
    let id = device.id.as_str();
    if !is_battery(id, &device.record) {
        return Err(Skipped::new(id, "not a battery envsys device"));
    }
    let all = sensors(&device.record);
    let find = |desc: &str| all.iter().find(|s| s.desc == desc);
    let val = |desc: &str| find(desc).and_then(|s| s.value);
    if val("present") == Some(0) {
        return Err(Skipped::new(
            id,
            "battery not present (envsys \"present\" is 0)",
        ));
    }
    let amp_hours = ["last full cap", "design cap", "charge"]
        .iter()
        .filter_map(|d| find(d))
        .any(|s| s.kind == "Ampere hour");
    let micro = |desc: &str| val(desc).map(|v| v as f64 / 1e6);

    let mut b = Battery::new(id, Kind::System);
    b.external_power = external_power;
    let design_v = micro("design voltage").filter(|v| *v > 0.0);
    b.voltage_v = micro("voltage").filter(|v| *v > 0.0);
    // Ah → Wh with the design voltage (the present one when the design voltage is unknown).
    let conv_v = design_v.or(b.voltage_v);
    // "charge" carries the last full capacity as its max-value (acpi_bat.c sets value_max = LFC).
    let full_raw = micro("last full cap")
        .or_else(|| find("charge").and_then(|s| s.max).map(|v| v as f64 / 1e6));
    let design_raw = micro("design cap");
    let now_raw = micro("charge");
    acpi::apply_capacities(
        &mut b,
        &acpi::Capacities {
            now: now_raw,
            full: full_raw,
            design: design_raw,
            amp_hours,
            volts: conv_v,
        },
    );

    // The driver makes "charge rate" valid only while charging and "discharge rate" only while
    // discharging (acpibat_get_status); the value is _BST rate × 1000 in an int32, so an unknown rate
    // (0xffffffff) comes out negative or absurd.
    let charge_rate = micro("charge rate").filter(|v| *v >= 0.0);
    let discharge_rate = micro("discharge rate").filter(|v| *v >= 0.0);
    let charging = val("charging");
    let rate = if charging == Some(1) {
        charge_rate
    } else {
        discharge_rate.or(charge_rate)
    };
    if amp_hours {
        b.current_a = rate.filter(|a| *a < 100.0);
        b.power_w = b
            .current_a
            .zip(conv_v)
            .and_then(|(a, v)| derived::rate(a * v));
        b.derived.insert_if(Field::Power, b.power_w.is_some());
    } else {
        b.power_w = rate.and_then(derived::rate);
        if let (Some(w), Some(v)) = (b.power_w, b.voltage_v) {
            b.current_a = derived::finite(w / v);
            b.derived.insert(Field::Current);
        }
    }

    // State: rebuild the _BST bits the driver consumed: charging indicator → CHARGING, a valid discharge
    // rate → DISCHARGING, "charge state" CRITICAL → CRITICAL (set only from the _BST critical bit).
    let charge_state = find("charge state");
    let critical = charge_state.is_some_and(|s| {
        s.capacity.as_deref() == Some("CRITICAL") || (s.capacity.is_none() && s.value == Some(4))
    });
    b.level = charge_state.and_then(|s| {
        let word = s.capacity.clone().or_else(|| {
            CAPACITY_WORDS
                .iter()
                .find(|(_, n)| Some(*n) == s.value)
                .map(|(w, _)| (*w).to_owned())
        })?;
        match word.as_str() {
            "CRITICAL" => Some(Level::Critical),
            "LOW" | "WARNING" => Some(Level::Low),
            "NORMAL" => Some(Level::Normal),
            "HIGH" => Some(Level::High),
            _ => None,
        }
    });
    let has_direction = find("charging").is_some() || find("discharge rate").is_some();
    let bits = has_direction.then(|| {
        let mut bits = 0;
        if charging == Some(1) {
            bits |= acpi::STAT_CHARGING;
        } else if find("discharge rate").is_some_and(|s| s.value.is_some()) {
            bits |= acpi::STAT_DISCHARGING;
        }
        if critical {
            bits |= acpi::STAT_CRITICAL;
        }
        bits
    });
    b.state_raw = Some(format!(
        "charging={} discharge rate {}{}",
        charging.map_or_else(|| "?".to_owned(), |c| c.to_string()),
        if discharge_rate.is_some() {
            "valid"
        } else {
            "N/A"
        },
        charge_state
            .and_then(|s| s.capacity.clone())
            .map(|c| format!(", charge state {c}"))
            .unwrap_or_default()
    ));
    if let Some(bits) = bits {
        let verdict = acpi::state(
            bits,
            Context {
                full: acpi::is_full(now_raw, full_raw, b.percentage),
                external_power: b.external_power,
                percentage: b.percentage,
            },
        );
        b.state = verdict.state;
        b.state_reason = verdict.reason;
        b.derived.insert_if(Field::State, verdict.inferred);
    }

    // envsys gives no time estimates: computed in the battery's own unit.
    let native_rate = rate.filter(|v| *v > 0.0);
    match b.state {
        State::Discharging => {
            b.time_to_empty = now_raw
                .zip(native_rate)
                .and_then(|(n, r)| derived::time_to_empty(n, r));
            b.derived
                .insert_if(Field::TimeToEmpty, b.time_to_empty.is_some());
        }
        State::Charging => {
            b.time_to_full = match (now_raw, full_raw, native_rate) {
                (Some(n), Some(f), Some(r)) => derived::time_to_full(n, f, r),
                _ => None,
            };
            b.derived
                .insert_if(Field::TimeToFull, b.time_to_full.is_some());
        }
        _ => {}
    }
    Ok(b)
}

/// Reads the envsys property list (`ENVSYS_GETDICTIONARY`, or `envstat -x`) into one record per power
/// device: batteries (`device-class` battery, or acpibat's sensors) and AC adapters. Other devices
/// (temperatures, fans, disks) are left out.
///
/// # Errors
/// A [`ParseError`] naming the line where the XML stops making sense, or when it is not a dictionary.
pub fn parse_envsys_xml(text: &str) -> Result<Vec<RawDevice>, ParseError> {
    let root = plist::parse(text)?;
    let top = envsys_top(&root)?;
    Ok(top
        .iter()
        .filter_map(|(dev, v)| envsys_device(dev, v))
        .collect())
}

/// [`parse_envsys_xml`] for one device: the record of power device `id`, `None` when the dictionary
/// has no such power device. A refresh reads the whole dictionary (envsys has no per-device read),
/// but only that device's entry is parsed into values; the others are stepped over.
///
/// # Errors
/// As [`parse_envsys_xml`].
pub fn parse_envsys_xml_device(text: &str, id: &str) -> Result<Option<RawDevice>, ParseError> {
    let Some(device) = plist::parse_root_entry(text, id)? else {
        return Ok(None);
    };
    Ok(envsys_device(id, &device))
}

fn envsys_top(root: &Value) -> Result<&Record, ParseError> {
    root.as_dict()
        .ok_or_else(|| ParseError::new(0, "the envsys property list is not a dictionary"))
}

/// One device of the envsys dictionary (an array of sensor dictionaries) as a record; `None` when it
/// is neither a battery nor an AC adapter.
fn envsys_device(dev: &str, v: &Value) -> Option<RawDevice> {
    let items = v.as_array()?;
    let mut r = Record::new();
    for (i, item) in items.iter().enumerate() {
        let Some(d) = item.as_dict() else { continue };
        if let Some(props) = d.get(DEVICE_PROPERTIES) {
            r.push(DEVICE_PROPERTIES, props.clone());
            continue;
        }
        let key = d
            .text("index")
            .map_or_else(|| format!("sensor{i}"), std::borrow::Cow::into_owned);
        r.push(key, Value::Dict(d.clone()));
    }
    (is_battery(dev, &r) || is_adapter(dev, &r)).then(|| RawDevice::new(Os::NetBsd, dev, r))
}

/// Reads `envstat` / `envstat -d DEV` output into records.
///
/// Each line is `description: value [limits] [unit] [(pct%)]` as `print_sensors` in
/// `usr.sbin/envstat/envstat.c` writes it: values back to micro-units, the unit column back to the
/// envsys type, `N/A` to state "invalid", ON/OFF (TRUE/FALSE in older envstat) to 1/0, a battery
/// capacity word to its number. `[dev]` lines start a device; with `-d DEV` the device is named by
/// a `$ envstat -d DEV` prompt line, else guessed from the sensors (`acpibat0`, `acpiacad0`). The
/// limit columns are not read. Sensor keys are `sensorN` in print order (envstat does not print the
/// index).
///
/// # Errors
/// A [`ParseError`] naming the first line that is not `description: value`.
pub fn parse_envstat(text: &str) -> Result<Vec<RawDevice>, ParseError> {
    let mut devices: Vec<(Option<String>, Record)> = Vec::new();
    let mut named: Option<String> = None;
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(cmd) = line.strip_prefix('$').or_else(|| line.strip_prefix('%')) {
            named = cmd
                .split_whitespace()
                .skip_while(|w| *w != "-d")
                .nth(1)
                .map(str::to_owned);
            continue;
        }
        if line.starts_with("Current") {
            continue;
        }
        if let Some(dev) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            devices.push((Some(dev.trim().to_owned()), Record::new()));
            continue;
        }
        let Some((desc, rest)) = line.split_once(':') else {
            return Err(ParseError::new(
                n,
                format!(
                    "expected an envstat `description: value` line, found `{}`",
                    clip(line)
                ),
            ));
        };
        if devices.is_empty() {
            devices.push((named.take(), Record::new()));
        }
        let sensor = envstat_sensor(desc.trim(), rest.trim()).ok_or_else(|| {
            ParseError::new(n, format!("cannot read envstat value `{}`", clip(rest)))
        })?;
        if let Some((_, r)) = devices.last_mut() {
            let key = format!("sensor{}", r.len());
            r.push(key, Value::Dict(sensor));
        }
    }
    if devices.is_empty() {
        return Err(ParseError::new(0, "no envstat sensor lines found"));
    }
    Ok(devices
        .into_iter()
        .enumerate()
        .filter_map(|(i, (name, r))| {
            let id = name.unwrap_or_else(|| {
                if sensors(&r).iter().any(|s| s.desc == "connected") {
                    format!("acpiacad{i}")
                } else {
                    format!("acpibat{i}")
                }
            });
            (is_battery(&id, &r) || is_adapter(&id, &r)).then(|| RawDevice::new(Os::NetBsd, id, r))
        })
        .collect())
}

/// Whether `line` reads like one of envstat's sensor lines (`charge:  47.910  Wh (99.27%)`, `present: ON`),
/// for telling pasted envstat output from other `Label: value` text.
#[must_use]
pub fn looks_like_envstat_line(line: &str) -> bool {
    let Some((desc, rest)) = line.split_once(':') else {
        return false;
    };
    if desc.trim().is_empty() {
        return false;
    }
    envstat_sensor(desc.trim(), rest.trim())
        .is_some_and(|d| d.contains("type") || d.text("state").as_deref() == Some("invalid"))
}

fn envstat_sensor(desc: &str, rest: &str) -> Option<Record> {
    let mut d = Record::new();
    d.push("description", Value::Str(desc.to_owned()));
    // Drop a trailing percentage of max-value, `(99.27%)` or `( 9.27%)`.
    let rest = match rest.rfind('(') {
        Some(open) if rest.ends_with("%)") => {
            d.push("want-percentage", Value::Bool(true));
            rest[..open].trim_end()
        }
        _ => rest,
    };
    let mut words = rest.split_whitespace();
    let first = words.next()?;
    let unit = rest
        .split_whitespace()
        .last()
        .filter(|_| rest.split_whitespace().count() > 1);
    let (kind, state, value) = match first {
        "N/A" => ("", "invalid", None),
        "ON" | "TRUE" => ("Indicator", "valid", Some(1)),
        "OFF" | "FALSE" => ("Indicator", "valid", Some(0)),
        w if CAPACITY_WORDS.iter().any(|(c, _)| *c == w) => {
            d.push("battery-capacity", Value::Str(w.to_owned()));
            let n = CAPACITY_WORDS
                .iter()
                .find(|(c, _)| *c == w)
                .map(|(_, n)| *n);
            ("Battery capacity", "valid", n)
        }
        number => {
            let kind = match unit {
                Some("V") => "Voltage DC",
                Some("VAC") => "Voltage AC",
                Some("A") => "Ampere",
                Some("W") => "Watts",
                Some("Wh") => "Watt hour",
                Some("Ah") => "Ampere hour",
                Some("Ohms") => "Ohms",
                Some("RPM") => "Fan",
                Some("none") => "Integer",
                Some("degC" | "degF" | "K") => "Temperature",
                _ => "",
            };
            let v: f64 = number.parse().ok()?;
            let micro = match kind {
                "Integer" | "Fan" => v,
                "Temperature" => return Some(d),
                _ => (v * 1e6).round(),
            };
            if !micro.is_finite() || micro.abs() > 9.0e18 {
                return None;
            }
            (kind, "valid", Some(micro as i64))
        }
    };
    if !kind.is_empty() {
        d.push("type", Value::Str(kind.to_owned()));
    }
    d.push("state", Value::Str(state.to_owned()));
    if let Some(v) = value {
        d.push("cur-value", Value::Int(v));
    }
    Some(d)
}

/// A small reader for the XML property lists NetBSD's proplib writes (`prop_object_externalize`):
/// `<dict>`, `<array>`, `<key>`, `<string>`, `<integer>` (decimal, or `0x` hex for unsigned numbers),
/// `<real>`, `<true/>`, `<false/>`, `<data>` (base64), `<date>`. Never panics; nesting is limited.
pub(crate) mod plist {
    use crate::record::{ParseError, Record, Value};

    const MAX_DEPTH: usize = 32;

    struct Reader<'a> {
        text: &'a str,
        pos: usize,
    }

    /// Parses the document's root object.
    pub(crate) fn parse(text: &str) -> Result<Value, ParseError> {
        let mut r = Reader { text, pos: 0 };
        loop {
            let tag = r
                .next_tag()?
                .ok_or_else(|| r.err("no property list object found"))?;
            match tag.name {
                "plist" if !tag.closing => {}
                name if !tag.closing => return r.object(&tag, name, 0),
                _ => return Err(r.err("unexpected closing tag")),
            }
        }
    }

    /// The value under `key` in the document's root dictionary, `None` when there is no such key. The
    /// other entries are stepped over tag by tag without building them; the root must be a dictionary.
    pub(crate) fn parse_root_entry(text: &str, key: &str) -> Result<Option<Value>, ParseError> {
        let mut r = Reader { text, pos: 0 };
        let root = loop {
            let tag = r
                .next_tag()?
                .ok_or_else(|| r.err("no property list object found"))?;
            match tag.name {
                "plist" if !tag.closing => {}
                _ if !tag.closing => break tag,
                _ => return Err(r.err("unexpected closing tag")),
            }
        };
        if root.name != "dict" {
            return Err(r.err("the property list is not a dictionary"));
        }
        if root.empty {
            return Ok(None);
        }
        loop {
            let t = r
                .next_tag()?
                .ok_or_else(|| r.err("<dict> is never closed"))?;
            if t.closing && t.name == "dict" {
                return Ok(None);
            }
            if t.name != "key" || t.closing {
                return Err(r.err("expected <key> in <dict>"));
            }
            let found = if t.empty {
                key.is_empty()
            } else {
                r.text_until("key")? == key
            };
            let v = r.next_tag()?.ok_or_else(|| r.err("a <key> has no value"))?;
            if v.closing {
                return Err(r.err("a <key> has no value"));
            }
            if found {
                return r.object(&v, v.name, 1).map(Some);
            }
            r.skip(&v)?;
        }
    }

    /// An element tag; the name is borrowed from the text (no allocation per tag).
    struct Tag<'a> {
        name: &'a str,
        closing: bool,
        empty: bool,
    }

    impl<'a> Reader<'a> {
        fn err(&self, what: &str) -> ParseError {
            let line = self.text[..self.pos.min(self.text.len())]
                .matches('\n')
                .count()
                + 1;
            ParseError::new(line, format!("envsys XML: {what}"))
        }

        /// The next element tag, skipping the XML declaration, DOCTYPE and comments; `None` at the end.
        fn next_tag(&mut self) -> Result<Option<Tag<'a>>, ParseError> {
            let text: &'a str = self.text;
            loop {
                let Some(off) = text[self.pos..].find('<') else {
                    return Ok(None);
                };
                self.pos += off;
                let rest = &text[self.pos..];
                if rest.starts_with("<!--") {
                    let end = rest
                        .find("-->")
                        .ok_or_else(|| self.err("unclosed comment"))?;
                    self.pos += end + 3;
                    continue;
                }
                let end = rest.find('>').ok_or_else(|| self.err("unclosed tag"))?;
                let inner = &rest[1..end];
                self.pos += end + 1;
                if inner.starts_with('?') || inner.starts_with('!') {
                    continue;
                }
                let closing = inner.starts_with('/');
                let empty = inner.ends_with('/');
                let name = inner
                    .trim_start_matches('/')
                    .trim_end_matches('/')
                    .split_whitespace()
                    .next()
                    .unwrap_or("");
                return Ok(Some(Tag {
                    name,
                    closing,
                    empty,
                }));
            }
        }

        /// Steps over the element `tag` opened, to just past its end (the same depth bound as parsing).
        fn skip(&mut self, tag: &Tag) -> Result<(), ParseError> {
            if tag.empty {
                return Ok(());
            }
            let mut depth = 1usize;
            while depth > 0 {
                let t = self
                    .next_tag()?
                    .ok_or_else(|| self.err(&format!("<{}> is never closed", tag.name)))?;
                if t.closing {
                    depth -= 1;
                } else if !t.empty {
                    depth += 1;
                    if depth > MAX_DEPTH {
                        return Err(self.err("nested too deeply"));
                    }
                }
            }
            Ok(())
        }

        /// The text up to the closing tag `name`, entities decoded.
        fn text_until(&mut self, name: &str) -> Result<String, ParseError> {
            let rest = &self.text[self.pos..];
            // The first `</name>`, found without building the string.
            let end = rest
                .match_indices("</")
                .map(|(i, _)| i)
                .find(|&i| {
                    rest[i + 2..]
                        .strip_prefix(name)
                        .is_some_and(|after| after.starts_with('>'))
                })
                .ok_or_else(|| self.err(&format!("<{name}> is never closed")))?;
            let raw = &rest[..end];
            self.pos += end + 2 + name.len() + 1;
            unescape(raw).ok_or_else(|| self.err("bad character reference"))
        }

        fn object(&mut self, tag: &Tag, name: &str, depth: usize) -> Result<Value, ParseError> {
            if depth > MAX_DEPTH {
                return Err(self.err("nested too deeply"));
            }
            match name {
                "true" | "false" => {
                    if !tag.empty {
                        self.text_until(name)?;
                    }
                    Ok(Value::Bool(name == "true"))
                }
                "dict" => {
                    let mut d = Record::new();
                    if tag.empty {
                        return Ok(Value::Dict(d));
                    }
                    loop {
                        let t = self
                            .next_tag()?
                            .ok_or_else(|| self.err("<dict> is never closed"))?;
                        if t.closing && t.name == "dict" {
                            return Ok(Value::Dict(d));
                        }
                        if t.name != "key" || t.closing {
                            return Err(self.err("expected <key> in <dict>"));
                        }
                        let key = if t.empty {
                            String::new()
                        } else {
                            self.text_until("key")?
                        };
                        let v = self
                            .next_tag()?
                            .ok_or_else(|| self.err("a <key> has no value"))?;
                        if v.closing {
                            return Err(self.err("a <key> has no value"));
                        }
                        let value = self.object(&v, v.name, depth + 1)?;
                        d.push(key, value);
                    }
                }
                "array" => {
                    let mut items = Vec::new();
                    if tag.empty {
                        return Ok(Value::Array(items));
                    }
                    loop {
                        let t = self
                            .next_tag()?
                            .ok_or_else(|| self.err("<array> is never closed"))?;
                        if t.closing && t.name == "array" {
                            return Ok(Value::Array(items));
                        }
                        if t.closing {
                            return Err(self.err("unexpected closing tag in <array>"));
                        }
                        items.push(self.object(&t, t.name, depth + 1)?);
                    }
                }
                "string" | "date" | "key" => {
                    if tag.empty {
                        return Ok(Value::Str(String::new()));
                    }
                    self.text_until(name).map(Value::Str)
                }
                "integer" => {
                    let t = self.text_until(name)?;
                    integer(t.trim())
                        .ok_or_else(|| self.err(&format!("bad integer `{}`", t.trim())))
                }
                "real" => {
                    let t = self.text_until(name)?;
                    t.trim()
                        .parse::<f64>()
                        .ok()
                        .filter(|f| f.is_finite())
                        .map(Value::Float)
                        .ok_or_else(|| self.err("bad real"))
                }
                "data" => {
                    if tag.empty {
                        return Ok(Value::Data(Vec::new()));
                    }
                    let t = self.text_until(name)?;
                    base64(&t)
                        .map(Value::Data)
                        .ok_or_else(|| self.err("bad base64 data"))
                }
                other => Err(self.err(&format!("unknown element <{other}>"))),
            }
        }
    }

    /// proplib integers: signed decimal, or `0x` hex for unsigned values (`prop_number.c`). Unsigned values
    /// beyond `i64` are kept as floats rather than wrapped.
    fn integer(t: &str) -> Option<Value> {
        if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
            let u = u64::from_str_radix(hex, 16).ok()?;
            return Some(i64::try_from(u).map_or(Value::Float(u as f64), Value::Int));
        }
        if let Ok(i) = t.parse::<i64>() {
            return Some(Value::Int(i));
        }
        t.parse::<u64>().ok().map(|u| Value::Float(u as f64))
    }

    fn unescape(raw: &str) -> Option<String> {
        let mut out = String::with_capacity(raw.len());
        let mut rest = raw;
        while let Some(amp) = rest.find('&') {
            out.push_str(&rest[..amp]);
            let after = &rest[amp + 1..];
            let semi = after.find(';')?;
            let ent = &after[..semi];
            let c = match ent {
                "lt" => '<',
                "gt" => '>',
                "amp" => '&',
                "quot" => '"',
                "apos" => '\'',
                _ => {
                    let code = if let Some(h) =
                        ent.strip_prefix("#x").or_else(|| ent.strip_prefix("#X"))
                    {
                        u32::from_str_radix(h, 16).ok()?
                    } else {
                        ent.strip_prefix('#')?.parse::<u32>().ok()?
                    };
                    char::from_u32(code)?
                }
            };
            out.push(c);
            rest = &after[semi + 1..];
        }
        out.push_str(rest);
        Some(out)
    }

    fn base64(t: &str) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        let mut acc: u32 = 0;
        let mut bits = 0;
        for c in t.bytes().filter(|c| !c.is_ascii_whitespace() && *c != b'=') {
            let v = match c {
                b'A'..=b'Z' => c - b'A',
                b'a'..=b'z' => c - b'a' + 26,
                b'0'..=b'9' => c - b'0' + 52,
                b'+' => 62,
                b'/' => 63,
                _ => return None,
            };
            acc = (acc << 6) | u32::from(v);
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                out.push((acc >> bits) as u8);
                acc &= (1 << bits) - 1;
            }
        }
        Some(out)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn reads_proplib_shapes() {
            let v = parse(
                "<?xml version=\"1.0\"?>\n<!DOCTYPE plist>\n<plist version=\"1.0\">\n<dict>\n\
                 <!-- c -->\n<key>a&amp;b</key><integer>-5</integer><key>h</key><integer>0x1e</integer>\
                 <key>t</key><true/><key>e</key><array/><key>d</key><data>AQI=</data>\
                 <key>s</key><string/></dict></plist>",
            )
            .unwrap_or(Value::Bool(false));
            let d = v.as_dict().cloned().unwrap_or_default();
            assert_eq!(d.int("a&b"), Some(-5));
            assert_eq!(d.int("h"), Some(30));
            assert_eq!(d.bool("t"), Some(true));
            assert_eq!(d.get("d"), Some(&Value::Data(vec![1, 2])));
            assert_eq!(d.text("s").as_deref(), Some(""));
        }

        #[test]
        fn bad_xml_is_an_error_not_a_panic() {
            for bad in [
                "",
                "<plist><dict><key>a</key>",
                "<plist><dict><integer>1</integer></dict></plist>",
                "<plist><dict><key>a</key><integer>x</integer></dict></plist>",
                "<plist><dict><key>a</key><string>&bogus;</string></dict></plist>",
                "<plist><weird/></plist>",
                "<",
            ] {
                assert!(parse(bad).is_err(), "{bad}");
            }
            let deep = "<array>".repeat(100);
            assert!(parse(&deep).is_err());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::record;

    const MANPAGE: &str = "$ envstat -d acpibat0\n\
        \x20               Current  CritMax  WarnMax  WarnMin  CritMin Unit\n\
        \x20      present:      ON\n\
        design voltage:  14.400                                        V\n\
        \x20      voltage:  16.267                                        V\n\
        \x20   design cap:  74.880                                       Wh\n\
        \x20last full cap:  48.260                                       Wh\n\
        \x20       charge:  47.910                      5.000%   0.414%  Wh (99.27%)\n\
        \x20  charge rate:     N/A\n\
        discharge rate:  16.641                                        W\n\
        \x20     charging:     OFF\n\
        \x20 charge state:  NORMAL\n";

    fn xml_sensor(index: usize, desc: &str, kind: &str, state: &str, value: i64) -> String {
        format!(
            "<dict><key>cur-value</key><integer>{value}</integer><key>description</key><string>{desc}</string>\
             <key>index</key><string>sensor{index}</string><key>state</key><string>{state}</string>\
             <key>type</key><string>{kind}</string></dict>"
        )
    }

    fn xml(charging: i64, drate_state: &str, crate_state: &str, connected: i64) -> String {
        let bat = [
            xml_sensor(0, "present", "Indicator", "valid", 1),
            xml_sensor(1, "design voltage", "Voltage DC", "valid", 11_100_000),
            xml_sensor(2, "voltage", "Voltage DC", "valid", 12_000_000),
            xml_sensor(3, "design cap", "Ampere hour", "valid", 5_000_000),
            xml_sensor(4, "last full cap", "Ampere hour", "valid", 4_000_000),
            xml_sensor(5, "charge", "Ampere hour", "critical-under", 2_000_000),
            xml_sensor(6, "charge rate", "Ampere", crate_state, 1_000_000),
            xml_sensor(7, "discharge rate", "Ampere", drate_state, 1_000_000),
            xml_sensor(8, "charging", "Battery charge", "valid", charging),
            "<dict><key>battery-capacity</key><string>NORMAL</string><key>cur-value</key><integer>1</integer>\
             <key>description</key><string>charge state</string><key>index</key><string>sensor9</string>\
             <key>state</key><string>valid</string><key>type</key><string>Battery capacity</string></dict>"
                .to_owned(),
            "<dict><key>device-properties</key><dict><key>device-class</key><string>battery</string>\
             <key>refresh-timeout</key><integer>0x1e</integer></dict></dict>"
                .to_owned(),
        ]
        .concat();
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE plist PUBLIC \"-//Apple Computer//DTD PLIST 1.0//EN\" \
             \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n<plist version=\"1.0\">\n<dict>\n\
             <key>acpiacad0</key><array>{}<dict><key>device-properties</key><dict><key>device-class</key>\
             <string>ac-adapter</string></dict></dict></array>\n\
             <key>acpibat0</key><array>{bat}</array>\n\
             <key>coretemp0</key><array>{}</array>\n</dict>\n</plist>\n",
            xml_sensor(0, "connected", "Indicator", "valid", connected),
            xml_sensor(0, "cpu0 temperature", "Temperature", "valid", 320_000_000),
        )
    }

    #[test]
    fn envstat_manpage_output_reads_back() {
        let devs = parse_envstat(MANPAGE).unwrap_or_default();
        assert_eq!(devs.len(), 1);
        assert_eq!(devs[0].id, "acpibat0");
        let s = sensors(&devs[0].record);
        let charge = s.iter().find(|s| s.desc == "charge").cloned();
        assert_eq!(charge.as_ref().and_then(|c| c.value), Some(47_910_000));
        assert_eq!(charge.map(|c| c.kind), Some("Watt hour".into()));
        assert!(
            s.iter()
                .any(|s| s.desc == "charge rate" && s.value.is_none())
        );
        let b = decode_one(&devs[0], None).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(b.state, State::Discharging);
        assert_eq!(b.percentage.map(|p| (p * 100.0).round()), Some(9927.0));
        assert_eq!(b.power_w, Some(16.641));
        assert_eq!(b.health_percent.map(|h| (h * 10.0).round()), Some(644.0));
        assert_eq!(b.level, Some(Level::Normal));
        assert!(
            b.time_to_empty
                .is_some_and(|t| t.as_secs().abs_diff(10365) <= 2)
        );
    }

    #[test]
    fn envstat_all_devices_and_errors() {
        let text = "                 Current  CritMax  WarnMax  WarnMin  CritMin Unit\n[acpiacad0]\n\
            \x20 connected:     TRUE\n[acpibat0]\n  present:     TRUE\n  last full cap:  4.000  Ah\n\
            \x20 charge:  2.000   Ah ( 50.00%)\n  charging:   FALSE\n  discharge rate:  N/A\n[coretemp0]\n\
            \x20 cpu0 temperature:  47.000   degC\n";
        let devs = parse_envstat(text).unwrap_or_default();
        assert_eq!(
            devs.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(),
            ["acpiacad0", "acpibat0"]
        );
        let d = crate::decode::decode(&devs);
        assert_eq!(d.power_sources[0].online, Some(true));
        assert_eq!(d.batteries[0].state, State::NotCharging);
        assert_eq!(d.batteries[0].percentage, Some(50.0));
        assert!(looks_like_envstat_line("       present:      ON"));
        assert!(looks_like_envstat_line(" last full cap:  48.260     Wh"));
        assert!(looks_like_envstat_line("   charge rate:     N/A"));
        assert!(!looks_like_envstat_line("Design capacity:\t71100 mWh"));
        assert!(!looks_like_envstat_line("hello: world"));
        let err = parse_envstat("  charge:  47.910  Wh\nnonsense\n").err();
        assert_eq!(err.map(|e| e.line), Some(2));
        assert!(parse_envstat("  charge:  lots  Wh\n").is_err());
    }

    #[test]
    fn xml_dictionary_keeps_power_devices_only() {
        let devs = parse_envsys_xml(&xml(0, "valid", "invalid", 0)).unwrap_or_default();
        assert_eq!(
            devs.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(),
            ["acpiacad0", "acpibat0"]
        );
        let bat = &devs[1].record;
        assert_eq!(
            bat.dict("sensor5").and_then(|s| s.int("cur-value")),
            Some(2_000_000)
        );
        assert_eq!(
            bat.dict(DEVICE_PROPERTIES)
                .and_then(|p| p.int("refresh-timeout")),
            Some(30)
        );
    }

    #[test]
    fn one_device_read_equals_the_full_read() {
        let text = xml(1, "valid", "valid", 1);
        let all = parse_envsys_xml(&text).expect("the dictionary parses");
        for device in &all {
            let one = parse_envsys_xml_device(&text, &device.id).expect("the dictionary parses");
            assert_eq!(one.as_ref(), Some(device));
        }
        // A device that is not a power device, or not there at all, is no record.
        assert_eq!(parse_envsys_xml_device(&text, "coretemp0"), Ok(None));
        assert_eq!(parse_envsys_xml_device(&text, "acpibat9"), Ok(None));
        assert!(parse_envsys_xml_device("<plist><array/></plist>", "acpibat0").is_err());
        assert_eq!(
            parse_envsys_xml_device("<plist><dict/></plist>", "acpibat0"),
            Ok(None)
        );
        // Broken XML in the entry read, or before it, is an error; unclosed skipped entries too.
        assert!(parse_envsys_xml_device(&text.replace("</array>", ""), "acpibat0").is_err());
        let deep = format!(
            "<plist><dict><key>x</key>{}</dict></plist>",
            "<array>".repeat(100)
        );
        assert!(parse_envsys_xml_device(&deep, "acpibat0").is_err());
    }

    #[test]
    fn xml_replays_through_parse_recording() {
        let text = xml(0, "valid", "invalid", 0);
        let replayed = crate::replay::parse_recording(text.as_bytes()).unwrap_or_default();
        assert_eq!(replayed, parse_envsys_xml(&text).unwrap_or_default());
        assert_eq!(replayed.len(), 2);
    }

    #[test]
    fn ampere_hours_convert_with_design_voltage() {
        let d = crate::decode::decode(
            &parse_envsys_xml(&xml(0, "valid", "invalid", 0)).unwrap_or_default(),
        );
        let b = &d.batteries[0];
        assert_eq!(b.state, State::Discharging);
        assert_eq!(
            b.energy_full_wh.map(|e| (e * 1000.0).round()),
            Some(44400.0)
        );
        assert!(b.derived.contains(Field::EnergyFull));
        assert_eq!(b.current_a, Some(1.0));
        assert_eq!(b.power_w.map(|p| (p * 1000.0).round()), Some(11100.0));
        assert_eq!(b.time_to_empty, Some(Duration::from_secs(7200)));
        assert_eq!(
            b.percentage,
            Some(50.0),
            "critical-under is a valid value, not N/A"
        );
    }

    #[test]
    fn charging_indicator_and_rate_validity_decide_direction() {
        let d = crate::decode::decode(
            &parse_envsys_xml(&xml(1, "invalid", "valid", 1)).unwrap_or_default(),
        );
        let b = &d.batteries[0];
        assert_eq!(b.state, State::Charging);
        assert_eq!(b.time_to_full, Some(Duration::from_secs(7200)));
        // Neither: idle on AC → not charging (not full at 50 %).
        let d = crate::decode::decode(
            &parse_envsys_xml(&xml(0, "invalid", "invalid", 1)).unwrap_or_default(),
        );
        assert_eq!(d.batteries[0].state, State::NotCharging);
        assert_eq!(d.batteries[0].external_power, Some(true));
        assert_eq!(d.batteries[0].power_w, None);
    }

    #[test]
    fn negative_overflowed_rate_is_unknown() {
        let text = xml(0, "valid", "invalid", 0).replace(
            "<integer>1000000</integer><key>description</key><string>discharge rate</string>",
            "<integer>-1000</integer><key>description</key><string>discharge rate</string>",
        );
        let d = crate::decode::decode(&parse_envsys_xml(&text).unwrap_or_default());
        assert_eq!(d.batteries[0].state, State::Discharging);
        assert_eq!(d.batteries[0].power_w, None);
        assert_eq!(d.batteries[0].time_to_empty, None);
    }

    #[test]
    fn absent_battery_is_skipped() {
        let text = xml(0, "invalid", "invalid", 1).replace(
            "<integer>1</integer><key>description</key><string>present</string>",
            "<integer>0</integer><key>description</key><string>present</string>",
        );
        let d = crate::decode::decode(&parse_envsys_xml(&text).unwrap_or_default());
        assert!(d.batteries.is_empty());
        assert!(d.skipped.iter().any(|s| s.reason.contains("not present")));
    }

    #[test]
    fn record_round_trip_decodes_identically() {
        for devices in [
            parse_envstat(MANPAGE).unwrap_or_default(),
            parse_envsys_xml(&xml(1, "invalid", "valid", 1)).unwrap_or_default(),
        ] {
            let text = record::print(&devices);
            let back = crate::replay::parse_recording(text.as_bytes()).unwrap_or_default();
            assert_eq!(back, devices);
            assert_eq!(
                crate::decode::decode(&back),
                crate::decode::decode(&devices)
            );
        }
    }
}
