//! Linux `power_supply` class: uevent records (`POWER_SUPPLY_*` keys) → model.
//!
//! Units are the kernel ABI's (`Documentation/ABI/testing/sysfs-class-power`): µV, µA, µAh, µWh, µW,
//! seconds, tenths of °C, percent. The rules follow UPower (`src/linux/up-device-supply-battery.c`,
//! `src/up-device-battery.c`) except where it is wrong; each departure says why.
//!
//! The shell gives one record per entry of `/sys/class/power_supply`: the `uevent` file's keys, plus
//! `POWER_SUPPLY_<ATTR>` keys it read from attribute files the uevent lacks (charge thresholds are
//! attributes of the battery added by platform drivers, not uevent properties).

use std::borrow::Cow;
use std::fmt::{self, Write as _};
use std::time::Duration;

mod properties;

use properties::{Extra, Key, parse_int};
pub use properties::{Index, Properties, Span};

use super::{Decoded, Skipped, clean_text};
use crate::battery::{
    Battery, ChargeBehaviour, Date, Kind, Level, PeripheralKind, State, Technology,
};
use crate::derived::{self, Field};
use crate::record::{Os, ParseError, RawDevice, Record, Value, clip};
use crate::source::{PowerSource, SourceKind};

/// The key prefix of every power-supply property in a uevent.
pub const PREFIX: &str = "POWER_SUPPLY_";

/// At or above this charge an idle battery on external power counts as full.
///
/// Firmware "full" thresholds vary, and a pack resting on AC drifts a few percent below 100 (ThinkPads by
/// default restart charging only below 96 %). UPower uses 90 % (`UP_FULLY_CHARGED_THRESHOLD`), which calls
/// a battery held at an 80–90 % limit "full"; 95 % keeps those as "not charging" (held by a limit).
pub const FULL_THRESHOLD_PERCENT: f64 = 95.0;

/// `TIME_TO_*` values of 65535 minutes in seconds: the Smart Battery "not available" word that
/// `sbs-battery` passes through unchanged (`drivers/power/supply/sbs-battery.c`; seen as 3932100 s).
const SBS_TIME_SENTINEL_S: i64 = 65_535 * 60;

/// Name prefixes of kernel drivers that register peripheral batteries. Used only when the record has no
/// `SCOPE` (kernels before 3.15 had none); those drivers set `SCOPE=Device` since (hid-input.c,
/// hid-logitech-hidpp.c, hid-sony.c, hid-playstation.c, hid-nintendo.c, wacom_sys.c, hid-steam.c).
const PERIPHERAL_PREFIXES: [&str; 9] = [
    "hidpp_battery",
    "hid-",
    "sony_controller_battery",
    "ps-controller-battery",
    "nintendo_switch_controller_battery",
    "wacom_battery",
    "steam_controller_battery",
    "wiimote_battery",
    "xpadneo",
];

/// Reads uevent text (one device, or several concatenated as `cat */uevent` prints them) into records.
///
/// Lines are `KEY=VALUE`, split at the first `=` (values keep their spaces: `Not charging`). A new device
/// starts at each `POWER_SUPPLY_NAME` after the first, or at a `DEVTYPE` line once the current device has
/// properties. Blank lines and `#` comments are skipped.
///
/// # Errors
/// A [`ParseError`] naming the first line that is not `KEY=VALUE`.
pub fn parse_uevent_text(text: &str) -> Result<Vec<RawDevice>, ParseError> {
    let mut devices: Vec<Record> = Vec::new();
    let mut current = Record::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(ParseError::new(
                i + 1,
                format!("expected a uevent `KEY=VALUE` line, found `{}`", clip(line)),
            ));
        };
        let key = key.trim();
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(ParseError::new(
                i + 1,
                format!("`{}` is not a uevent key", clip(key)),
            ));
        }
        let starts_new = match key {
            "POWER_SUPPLY_NAME" => current.contains("POWER_SUPPLY_NAME"),
            "DEVTYPE" => current.iter().any(|(k, _)| k.starts_with(PREFIX)),
            _ => false,
        };
        if starts_new {
            devices.push(std::mem::take(&mut current));
            if devices.len() >= crate::record::MAX_DEVICES {
                return Err(crate::record::too_many_devices());
            }
        }
        if current.len() >= crate::record::MAX_ENTRIES {
            return Err(crate::record::too_many_entries(i + 1));
        }
        current.push(key, Value::Str(value.to_owned()));
    }
    if !current.is_empty() {
        devices.push(current);
    }
    Ok(devices
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            let id = r
                .text("POWER_SUPPLY_NAME")
                .and_then(|s| clean_text(&s))
                .unwrap_or_else(|| format!("device{i}"));
            RawDevice::new(Os::Linux, id, r)
        })
        .collect())
}

/// Decodes the Linux devices of one machine (sources first, so batteries know whether AC is online).
pub fn decode(devices: &[&RawDevice], out: &mut Decoded) {
    decode_props(
        devices
            .iter()
            .map(|d| (d.id.as_str(), RecordProps(&d.record))),
        out,
    );
}

/// [`decode`] for devices read in place: each device's id and its [`Properties`] (what the shell's
/// snapshot uses, so that no [`Record`] is built on the way).
pub fn decode_properties(devices: &[(&str, Properties<'_>)], out: &mut Decoded) {
    decode_props(devices.iter().map(|(id, p)| (*id, p)), out);
    // What `decode::decode` does after every system's decoder: the one plausibility rule.
    out.batteries.iter_mut().for_each(super::finish);
    out.power_sources
        .iter_mut()
        .for_each(derived::plausible_source);
}

fn decode_props<'a, P: Props<'a>>(
    devices: impl Iterator<Item = (&'a str, P)> + Clone,
    out: &mut Decoded,
) {
    // Sources first (batteries need to know whether one is online), then the batteries, in a second
    // pass over the devices: no list is built on the way. The batteries of the first 256 devices are
    // remembered by position; any further device is classified again.
    let mut batteries = [0u128; 2];
    let first_source = out.power_sources.len();
    for (i, (id, props)) in devices.clone().enumerate() {
        match classify(id, props) {
            Class::Battery => {
                if let Some(word) = batteries.get_mut(i / 128) {
                    *word |= 1 << (i % 128);
                }
            }
            Class::Source(kind) => match decode_source(id, kind, props) {
                Ok(s) => out.power_sources.push(s),
                Err(skip) => out.skipped.push(skip),
            },
            Class::Skip(reason) => out.skipped.push(Skipped::new(id, reason)),
        }
    }
    let external_power = external_power(&out.power_sources[first_source..]);
    let first = out.batteries.len();
    for (i, (id, props)) in devices.enumerate() {
        let battery = match batteries.get(i / 128) {
            Some(word) => word & (1 << (i % 128)) != 0,
            None => matches!(classify(id, props), Class::Battery),
        };
        if battery {
            out.push(decode_battery(id, props, external_power));
        }
    }
    drop_second_links(out, first);
}

/// One peripheral seen through two links (a mouse on its cable and its receiver, a pad through `hid` and
/// its vendor driver) appears as two power supplies with the same model and serial: the first is kept,
/// the others are listed as skipped. A serial is what tells two devices of one model apart, so without
/// one nothing is merged.
fn drop_second_links(out: &mut Decoded, first: usize) {
    // Only peripherals with a serial are ever merged: nothing to do without one (the usual case).
    if !out.batteries[first..]
        .iter()
        .any(|b| b.kind == Kind::Peripheral && b.serial.is_some())
    {
        return;
    }
    let mut seen: std::collections::HashMap<(String, Option<String>), String> =
        std::collections::HashMap::new();
    let mut kept = Vec::with_capacity(out.batteries.len());
    for b in out.batteries.drain(first..).collect::<Vec<_>>() {
        let key = b
            .serial
            .clone()
            .filter(|_| b.kind == Kind::Peripheral)
            .map(|serial| (serial, b.model.clone()));
        match key {
            Some(key) if seen.contains_key(&key) => {
                let other = seen.get(&key).cloned().unwrap_or_default();
                out.skipped.push(Skipped::new(
                    b.id.clone(),
                    format!(
                        "the same device as {other} (serial {}), seen through a second link",
                        key.0
                    ),
                ));
            }
            Some(key) => {
                seen.insert(key, b.id.clone());
                kept.push(b);
            }
            None => kept.push(b),
        }
    }
    out.batteries.extend(kept);
}

/// Keys under which the Linux shell carries the `name` and `uniq` of the input device beside a
/// peripheral's power supply (both children of the same HID device).
pub const INPUT_NAME: &str = "INPUT_NAME";
/// See [`INPUT_NAME`].
pub const INPUT_UNIQ: &str = "INPUT_UNIQ";

/// The peripheral kind a driver's supply name gives away: game-pad drivers (`hid-sony.c`
/// `sony_controller_battery_%pMR`, `hid-playstation.c` `ps-controller-battery-%pMR`, `hid-nintendo.c`,
/// `hid-steam.c`, `hid-wiimote`, the xpadneo driver) and the Wacom pen/tablet driver (`wacom_sys.c`
/// `wacom_battery_%ld`). Generic HID (`hid-…-battery`) and Logitech (`hidpp_battery_%d`) supplies say
/// nothing: their name does.
fn peripheral_from_driver(id: &str) -> Option<PeripheralKind> {
    const GAME_PADS: [&str; 6] = [
        "sony_controller_battery",
        "ps-controller-battery",
        "nintendo_switch_controller_battery",
        "steam_controller_battery",
        "wiimote_battery",
        "xpadneo",
    ];
    if GAME_PADS.iter().any(|p| id.starts_with(p)) {
        Some(PeripheralKind::GamePad)
    } else if id.starts_with("wacom_battery") {
        Some(PeripheralKind::TabletPen)
    } else {
        None
    }
}

/// The key under which the Linux shell carries the machine's DMI product name
/// (`/sys/devices/virtual/dmi/id/product_name`) in a battery's record: rules for one maker's hardware
/// (the Intel MacBook `capacity` quirk) need it.
pub const DMI_PRODUCT_NAME: &str = "DMI_PRODUCT_NAME";

/// The key under which a shell carries the `wireless_status` attribute of the USB interface a peripheral's
/// power supply hangs off (`connected` / `disconnected`; Documentation/ABI/testing/sysfs-bus-usb, Linux
/// 6.5+): a receiver dongle whose headset or mouse is switched off keeps reporting the last charge.
pub const USB_WIRELESS_STATUS: &str = "USB_WIRELESS_STATUS";

/// Whether the machine is on external power: any system Mains / USB / wireless source online (UPower
/// `up-device-supply.c`). `None` when the machine exposes no such source at all.
#[must_use]
pub fn external_power(sources: &[PowerSource]) -> Option<bool> {
    let mut seen = false;
    for s in sources.iter().filter(|s| s.kind != SourceKind::Ups) {
        match s.online {
            Some(true) => return Some(true),
            Some(false) => seen = true,
            None => {}
        }
    }
    seen.then_some(false)
}

/// Decodes one battery record alone, with what is known about external power (used by refresh).
///
/// # Errors
/// A [`Skipped`] when the record is not a usable battery (not present, not a battery).
pub fn decode_one(device: &RawDevice, external_power: Option<bool>) -> Result<Battery, Skipped> {
    let props = RecordProps(&device.record);
    match classify(&device.id, props) {
        Class::Battery => decode_battery(&device.id, props, external_power),
        Class::Source(_) => Err(Skipped::new(
            device.id.clone(),
            "a power source, not a battery",
        )),
        Class::Skip(reason) => Err(Skipped::new(device.id.clone(), reason)),
    }
}

/// Re-decodes `battery` in place from its device's properties, with what is known about external power
/// (the refresh path). Text fields are overwritten in their existing buffers and left alone when
/// unchanged, so a steady refresh allocates nothing.
///
/// # Errors
/// A [`Skipped`] when the properties are not a usable battery; `battery` is then left as it was.
pub fn refresh_battery(
    battery: &mut Battery,
    properties: &Properties<'_>,
    external_power: Option<bool>,
) -> Result<(), Skipped> {
    let props = properties;
    match classify(&battery.id, props) {
        Class::Battery => {
            update_battery(battery, props, external_power)?;
            super::finish(battery);
            Ok(())
        }
        Class::Source(_) => Err(Skipped::new(
            battery.id.clone(),
            "a power source, not a battery",
        )),
        Class::Skip(reason) => Err(Skipped::new(battery.id.clone(), reason)),
    }
}

/// Where the decoder looks values up: a [`Record`] (recordings, other shells' records) or
/// [`Properties`] read in place. The decoder is generic over it, so that the in-place path compiles to
/// slot reads.
trait Props<'a>: Copy {
    /// `POWER_SUPPLY_` + `key`, trimmed; borrowed where the text is.
    fn raw(self, key: Key) -> Option<Cow<'a, str>>;

    fn int(self, key: Key) -> Option<i64>;

    /// A key other than `POWER_SUPPLY_*` that the shell adds (see [`USB_WIRELESS_STATUS`]), trimmed.
    fn extra(self, extra: Extra) -> Option<Cow<'a, str>>;

    fn has(self, key: Key) -> bool;

    /// A value in µ-units as the base unit (µV → V, µWh → Wh …).
    #[inline]
    fn micro(self, key: Key) -> Option<f64> {
        self.int(key).and_then(|v| derived::finite(v as f64 / 1e6))
    }

    /// A µ-unit value that must be positive to mean anything (capacities, voltages).
    #[inline]
    fn micro_pos(self, key: Key) -> Option<f64> {
        self.micro(key).filter(|v| *v > 0.0)
    }
}

/// A record's values, found by key.
#[derive(Clone, Copy)]
struct RecordProps<'a>(&'a Record);

impl<'a> RecordProps<'a> {
    fn find(self, key: Key) -> Option<&'a Value> {
        let name = key.name();
        self.0
            .iter()
            .rev()
            .find(|(k, _)| {
                k.len() == PREFIX.len() + name.len() && k.strip_prefix(PREFIX) == Some(name)
            })
            .map(|(_, v)| v)
    }
}

/// A text value without surrounding white space, borrowed where it was.
fn trim_cow(text: Cow<'_, str>) -> Cow<'_, str> {
    match text {
        Cow::Borrowed(t) => Cow::Borrowed(t.trim()),
        Cow::Owned(t) => Cow::Owned(t.trim().to_owned()),
    }
}

impl<'a> Props<'a> for RecordProps<'a> {
    fn raw(self, key: Key) -> Option<Cow<'a, str>> {
        self.find(key).and_then(Value::as_text).map(trim_cow)
    }

    fn int(self, key: Key) -> Option<i64> {
        self.raw(key)?.parse().ok()
    }

    fn extra(self, extra: Extra) -> Option<Cow<'a, str>> {
        self.0.text(extra.key()).map(trim_cow)
    }

    fn has(self, key: Key) -> bool {
        self.find(key).is_some()
    }
}

impl<'a> Props<'a> for &'a Properties<'a> {
    #[inline]
    fn raw(self, key: Key) -> Option<Cow<'a, str>> {
        self.text(key).map(Cow::Borrowed)
    }

    /// Digits need no UTF-8 check: parsed from the bytes.
    #[inline]
    fn int(self, key: Key) -> Option<i64> {
        self.bytes(key).and_then(parse_int)
    }

    #[inline]
    fn extra(self, extra: Extra) -> Option<Cow<'a, str>> {
        Properties::extra(self, extra).map(Cow::Borrowed)
    }

    #[inline]
    fn has(self, key: Key) -> bool {
        Properties::has(self, key)
    }
}

enum Class {
    Battery,
    Source(SourceKind),
    Skip(String),
}

fn classify<'p>(id: &str, p: impl Props<'p>) -> Class {
    // `Unknown` is what the kernel prints for a driver that never set the type (POWER_SUPPLY_TYPE_UNKNOWN,
    // first in `power_supply_type_text[]` of drivers/power/supply/power_supply_sysfs.c): as good as none.
    let Some(ty) = p.raw(Key::Type).filter(|t| !t.is_empty() && t != "Unknown") else {
        // Kernels before 4.x left TYPE out of the uevent (the AC and hidpp captures): infer it from the
        // attributes, as for an `Unknown` type. `PRESENT` alone also means a battery (a bay); `ONLINE`
        // without any battery attribute a power source.
        let battery_like = [
            Key::Status,
            Key::Capacity,
            Key::CapacityLevel,
            Key::EnergyNow,
            Key::ChargeNow,
            Key::EnergyFull,
            Key::ChargeFull,
        ]
        .iter()
        .any(|&k| p.has(k));
        return if battery_like {
            Class::Battery
        } else if p.has(Key::Online) {
            Class::Source(SourceKind::Mains)
        } else if p.has(Key::Present) {
            Class::Battery
        } else {
            Class::Skip("no TYPE and no battery or supply properties".into())
        };
    };
    match &*ty {
        "Battery" => Class::Battery,
        "Mains" => Class::Source(SourceKind::Mains),
        "UPS" => Class::Source(SourceKind::Ups),
        "Wireless" => Class::Source(SourceKind::Wireless),
        // The USB family: modern drivers say `USB` + `usb_type`; older ones put the port type in `type`.
        t if t == "USB" || t.starts_with("USB_") || t == "BrickID" => {
            Class::Source(SourceKind::Usb)
        }
        other => Class::Skip(format!(
            "type `{}` is neither a battery nor a power source (id {id})",
            clip(other)
        )),
    }
}

fn is_peripheral<'p>(id: &str, p: impl Props<'p>) -> bool {
    match p.raw(Key::Scope).as_deref() {
        Some("Device") => true,
        Some(_) => false,
        // No scope: System, as UPower and the kernel assume, unless a peripheral driver named it.
        None => PERIPHERAL_PREFIXES
            .iter()
            .any(|prefix| id.starts_with(prefix)),
    }
}

fn decode_source<'p>(
    id: &str,
    kind: SourceKind,
    p: impl Props<'p>,
) -> Result<PowerSource, Skipped> {
    if p.raw(Key::Scope).as_deref() == Some("Device") {
        return Err(Skipped::new(
            id,
            "supply powers a peripheral, not this machine",
        ));
    }
    let mut s = PowerSource::new(id, kind);
    s.online = p.int(Key::Online).map(|v| v != 0);
    s.usb_type = p
        .raw(Key::UsbType)
        .and_then(|t| bracketed(&t))
        .filter(|t| t != "Unknown");
    s.voltage_v = p.micro(Key::VoltageNow).filter(|v| *v >= 0.0);
    s.current_a = p.micro(Key::CurrentNow).map(f64::abs);
    s.voltage_max_v = p.micro_pos(Key::VoltageMax);
    s.current_max_a = p.micro_pos(Key::CurrentMax);
    s.power_max_w = p.micro_pos(Key::InputPowerLimit);
    s.power_w = p.micro(Key::PowerNow).map(f64::abs);
    if s.power_w.is_none()
        && s.online == Some(true)
        && let (Some(v), Some(i)) = (s.voltage_v, s.current_a)
    {
        // UCSI reports the negotiated PD contract as voltage_now × current_now (ucsi_psy.c).
        s.power_w = derived::finite(v * i);
        s.derived.insert(Field::Power);
    }
    s.name = p.raw(Key::ModelName).and_then(|t| clean_text(&t));
    s.vendor = p.raw(Key::Manufacturer).and_then(|t| clean_text(&t));
    s.serial = p.raw(Key::SerialNumber).and_then(|t| clean_text(&t));
    Ok(s)
}

/// The active entry of a sysfs choice list (`C [PD] PD_PPS` → `PD`); a single word is itself.
fn bracketed(list: &str) -> Option<String> {
    bracketed_str(list).map(str::to_owned)
}

/// [`bracketed`], borrowed.
fn bracketed_str(list: &str) -> Option<&str> {
    if let Some(start) = list.find('[') {
        let rest = &list[start + 1..];
        return rest.find(']').map(|end| rest[..end].trim());
    }
    let single = list.trim();
    (!single.is_empty() && !single.contains(' ')).then_some(single)
}

fn decode_battery<'p>(
    id: &str,
    p: impl Props<'p>,
    external_power: Option<bool>,
) -> Result<Battery, Skipped> {
    let mut b = Battery::new(id, Kind::System);
    update_battery(&mut b, p, external_power)?;
    Ok(b)
}

/// Every value of a battery unknown again, keeping its id and the text buffers the decoder overwrites
/// in place (state words, reason, identity), so that a refresh reuses them.
fn reset_readings(b: &mut Battery, kind: Kind) {
    let old = std::mem::replace(b, Battery::new(String::new(), kind));
    b.id = old.id;
    b.state_raw = old.state_raw;
    b.state_reason = old.state_reason;
    b.vendor = old.vendor;
    b.model = old.model;
    b.serial = old.serial;
}

/// `slot = text`, reusing the slot's buffer (no allocation when the text is unchanged or fits).
fn set_text(slot: &mut Option<String>, text: Option<&str>) {
    match (slot.as_mut(), text) {
        (_, None) => *slot = None,
        (Some(s), Some(t)) => {
            if s != t {
                t.clone_into(s);
            }
        }
        (None, Some(t)) => *slot = Some(t.to_owned()),
    }
}

/// `slot = clean_text(text)`, reusing the slot's buffer.
fn set_clean(slot: &mut Option<String>, text: Option<&str>) {
    // The text the slot already holds (a refresh of the same pack): a cleaned string cleans to itself.
    if text.is_some() && slot.as_deref() == text {
        return;
    }
    // Control and bidi characters inside the text (a hostile device name): the allocating rule. Plain
    // ASCII (the usual case) is checked byte by byte: there only C0 controls and DEL are unsafe.
    let unsafe_inside = |t: &str| {
        if t.is_ascii() {
            t.bytes().any(|b| b.is_ascii_control())
        } else {
            t.chars().any(crate::text::is_unsafe)
        }
    };
    if let Some(t) = text.filter(|t| unsafe_inside(t)) {
        *slot = clean_text(t);
        return;
    }
    // Plain ASCII here has no control character left (those took the branch above): only spaces to trim,
    // byte by byte.
    let cleaned = text
        .map(|t| {
            if t.is_ascii() {
                t.trim_ascii()
            } else {
                t.trim_matches(|c: char| c.is_whitespace() || c == '\0')
            }
        })
        .filter(|t| !t.is_empty());
    set_text(slot, cleaned);
}

/// ASCII lower case of a short word in `buf` (empty when it does not fit: no state word is that long).
fn ascii_lower<'b>(text: &str, buf: &'b mut [u8; 16]) -> &'b [u8] {
    let Some(out) = buf.get_mut(..text.len()) else {
        return b"";
    };
    out.copy_from_slice(text.as_bytes());
    out.make_ascii_lowercase();
    out
}

/// Why a battery is held or its state inferred, written into the battery's reason buffer only at the end.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Reason {
    Text(&'static str),
    HeldByLimit(u8),
    AboveStart(u8),
}

impl From<&'static str> for Reason {
    fn from(text: &'static str) -> Self {
        Reason::Text(text)
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Text(t) => f.write_str(t),
            Reason::HeldByLimit(end) => write!(f, "held by the charge limit ({end} %)"),
            Reason::AboveStart(start) => write!(f, "above the charge start threshold ({start} %)"),
        }
    }
}

fn set_reason(slot: &mut Option<String>, reason: Option<Reason>) {
    match (slot.as_mut(), reason) {
        (_, None) => *slot = None,
        // The same words as last time (a steady refresh): nothing to write.
        (Some(s), Some(Reason::Text(t))) if s == t => {}
        // Plain words are copied, not formatted (one allocation of the right size).
        (Some(s), Some(Reason::Text(t))) => t.clone_into(s),
        (None, Some(Reason::Text(t))) => *slot = Some(t.to_owned()),
        (Some(s), Some(r)) => {
            s.clear();
            let _ = write!(s, "{r}");
        }
        (None, Some(r)) => *slot = Some(r.to_string()),
    }
}

/// Properties of which a battery reports at least one while it is registered.
const BATTERY_VALUES: [Key; 12] = [
    Key::Status,
    Key::Present,
    Key::Online,
    Key::Capacity,
    Key::CapacityLevel,
    Key::EnergyNow,
    Key::ChargeNow,
    Key::EnergyFull,
    Key::ChargeFull,
    Key::VoltageNow,
    Key::ModelName,
    Key::Scope,
];

#[allow(clippy::too_many_lines)] // one table of rules, read top to bottom
fn update_battery<'p>(
    b: &mut Battery,
    p: impl Props<'p>,
    external_power: Option<bool>,
) -> Result<(), Skipped> {
    if p.int(Key::Present) == Some(0) {
        return Err(Skipped::new(
            b.id.clone(),
            "battery not present (empty bay)",
        ));
    }
    // While a power supply unregisters, every property read fails with ENODEV
    // (power_supply_get_property once its use count dropped, power_supply_core.c) and the kernel's
    // uevent leaves such properties out (power_supply_uevent, power_supply_sysfs.c): what remains is the
    // name and the type. Seen in the real-kernel test as a refresh races the removal. That is a device
    // going away, not a battery without values.
    if !BATTERY_VALUES.iter().any(|&k| p.has(k)) {
        return Err(Skipped::new(
            b.id.clone(),
            "the device is being removed: the kernel reports none of its values",
        ));
    }
    if p.extra(Extra::UsbWirelessStatus)
        .is_some_and(|s| s == "disconnected")
    {
        return Err(Skipped::new(
            b.id.clone(),
            "wireless peripheral disconnected from its receiver (wireless_status): its charge is not live",
        ));
    }
    let kind = if is_peripheral(&b.id, p) {
        Kind::Peripheral
    } else {
        Kind::System
    };
    reset_readings(b, kind);
    b.external_power = external_power;

    // Voltages. The design voltage converts charge to energy: `voltage_min_design` first (the ACPI driver
    // stores the _BIF/_BIX design voltage there, drivers/acpi/battery.c), then `voltage_max_design`, then
    // the present voltage. UPower's last resort, a made-up 10 V, is not used: without a voltage we do not
    // invent energies.
    b.voltage_v = p
        .micro_pos(Key::VoltageNow)
        .or_else(|| p.micro_pos(Key::VoltageAvg));
    let design_v = p
        .micro_pos(Key::VoltageMinDesign)
        .or_else(|| p.micro_pos(Key::VoltageMaxDesign))
        .or(b.voltage_v);

    // Charges (µAh), kept for ratios and times that need no voltage at all. A charge far above the
    // last-full charge is a gauge bug, not a fuller battery (Asahi macsmc-battery reported charge_now
    // 2–12× charge_full: AsahiLinux/linux#522); up to 10 % over is normal gauge slack.
    let charge_full = p.micro_pos(Key::ChargeFull);
    let charge_full_design = p.micro_pos(Key::ChargeFullDesign);
    let charge_now = p
        .micro(Key::ChargeNow)
        .or_else(|| p.micro(Key::ChargeAvg))
        .filter(|c| *c >= 0.0 && charge_full.is_none_or(|full| *c <= full * 1.1));

    // Energy now and full come from one family: energy_now/energy_full (µWh) when the gauge reports
    // both, else charge_now/charge_full (µAh) × design voltage when it reports both; never one of each.
    // A driver giving energy_full but charge_now (or the reverse) would otherwise mix units (a
    // percentage of 7.9 % where 40 % was right); then only a value whose partner is of its own family,
    // or the capacity, is used.
    let energy_full = p.micro_pos(Key::EnergyFull);
    let energy_now = p
        .micro(Key::EnergyNow)
        .or_else(|| p.micro(Key::EnergyAvg))
        .filter(|e| *e >= 0.0 && energy_full.is_none_or(|full| *e <= full * derived::ENERGY_SLACK));
    let charge_family = charge_now.is_some() && charge_full.is_some();
    let energy_family = energy_now.is_some() && energy_full.is_some();
    let use_charge = !energy_family && charge_family && design_v.is_some();
    // Capacities: energy_* (µWh) when the gauge reports energy, else charge × design voltage.
    b.energy_full_wh = if use_charge { None } else { energy_full };
    if b.energy_full_wh.is_none() && (use_charge || energy_now.is_none()) {
        b.energy_full_wh = charge_full.zip(design_v).map(|(c, v)| c * v);
        b.derived
            .insert_if(Field::EnergyFull, b.energy_full_wh.is_some());
    }
    b.energy_full_design_wh = p.micro_pos(Key::EnergyFullDesign);
    if b.energy_full_design_wh.is_none() {
        b.energy_full_design_wh = charge_full_design.zip(design_v).map(|(c, v)| c * v);
        b.derived
            .insert_if(Field::EnergyFullDesign, b.energy_full_design_wh.is_some());
    }
    let capacity = p
        .int(Key::Capacity)
        .and_then(|c| derived::sane_percentage(c as f64));
    // Energy now: energy_now, energy_avg (PowerPC pmu_battery gives only *_avg), the charge family,
    // and last (as UPower) capacity % × full.
    b.energy_wh = if use_charge { None } else { energy_now };
    if b.energy_wh.is_none() {
        // From charge only when full is of the charge family too (or unknown).
        if !b.derived.contains(Field::EnergyFull) && b.energy_full_wh.is_some() {
            b.energy_wh = None;
        } else {
            b.energy_wh = charge_now.zip(design_v).map(|(c, v)| c * v);
        }
        if b.energy_wh.is_none() {
            b.energy_wh = capacity
                .zip(b.energy_full_wh)
                .map(|(pct, full)| pct / 100.0 * full);
        }
        b.derived.insert_if(Field::Energy, b.energy_wh.is_some());
    }

    // Percentage: the kernel's `capacity` (the gauge's own state of charge) when sane, else energy ÷
    // full, else charge ÷ full (a ratio needs no voltage).
    let ratio = match (b.energy_wh, b.energy_full_wh) {
        (Some(now), Some(full)) => derived::percentage_from(now, full),
        _ => charge_now
            .zip(charge_full)
            .and_then(|(now, full)| derived::percentage_from(now, full)),
    };
    b.percentage = capacity;
    // Intel MacBooks: `capacity` is not the state of charge there. UPower ignores it on machines whose DMI
    // product name starts with "MacBook" (`is_macbook()` sets "ignore-system-percentage",
    // src/linux/up-enumerator-udev.c). voltaic prefers the energy/charge ratio only when the two disagree
    // by more than 10 points. Apple Silicon (macsmc-battery) has no DMI and keeps `capacity`: there
    // charge_now is the bogus one (AsahiLinux/linux#522).
    let intel_macbook = p
        .extra(Extra::DmiProductName)
        .is_some_and(|n| n.starts_with("MacBook"));
    if intel_macbook
        && let (Some(c), Some(r)) = (capacity, ratio)
        && (c - r).abs() > 10.0
    {
        b.percentage = None;
    }
    if b.percentage.is_none() {
        b.percentage = ratio;
        b.derived
            .insert_if(Field::Percentage, b.percentage.is_some());
    }
    b.health_percent = match (b.energy_full_wh, b.energy_full_design_wh) {
        (Some(full), Some(design)) => derived::health(full, design),
        _ => charge_full
            .zip(charge_full_design)
            .and_then(|(full, design)| derived::health(full, design)),
    };
    b.level = p.raw(Key::CapacityLevel).and_then(|l| parse_level(&l));

    // Rate. Its sign is never trusted: the ACPI driver reports magnitudes, sbs-battery and axp20x are
    // negative on discharge, some phone gauges the other way round (platforms.md 1.6). Direction comes
    // from the state.
    let current = p
        .micro(Key::CurrentNow)
        .or_else(|| p.micro(Key::CurrentAvg))
        .map(f64::abs);
    b.current_a = current.filter(|a| a.is_finite() && *a < 100.0);
    let reported_power = p.micro(Key::PowerNow).or_else(|| p.micro(Key::PowerAvg));
    b.power_w = if let Some(w) = reported_power {
        derived::rate(w)
    } else {
        let w = b
            .current_a
            .zip(b.voltage_v.or(design_v))
            .and_then(|(a, v)| derived::rate(a * v));
        if w.is_some() {
            b.derived.insert(Field::Power);
        }
        w
    };
    if b.current_a.is_none()
        && let (Some(w), Some(v)) = (b.power_w, b.voltage_v)
    {
        b.current_a = derived::finite(w / v);
        b.derived.insert(Field::Current);
    }

    // State.
    let status = p.raw(Key::Status);
    set_text(&mut b.state_raw, status.as_deref());
    b.charge_start_threshold = threshold(
        p,
        &[Key::ChargeControlStartThreshold, Key::ChargeStartThreshold],
    );
    b.charge_end_threshold = threshold(
        p,
        &[Key::ChargeControlEndThreshold, Key::ChargeStopThreshold],
    );
    b.charge_behaviour = p
        .raw(Key::ChargeBehaviour)
        .and_then(|t| parse_behaviour(&t));
    let mut lower = [0u8; 16];
    b.state = match status.as_deref().map(|s| ascii_lower(s, &mut lower)) {
        Some(b"charging") => State::Charging,
        Some(b"discharging") => State::Discharging,
        Some(b"full") => State::Full,
        // "Not charging" in any capitalisation (older drivers wrote "Not Charging").
        Some(b"not charging") => State::NotCharging,
        Some(b"empty") => State::Empty,
        _ => State::Unknown,
    };
    let mut reason = None;
    if b.state == State::Unknown {
        infer_unknown_state(b, &mut reason);
    }
    if b.state == State::NotCharging && reason.is_none() {
        reason = not_charging_reason(b);
    }
    set_reason(&mut b.state_reason, reason);

    // Times: the gauge's own estimate (seconds) when it gives a valid one, else computed. With a charge
    // gauge and a measured current the estimate is charge ÷ current, exactly as the gauge counts (no
    // voltage needed); otherwise energy ÷ power.
    let charge_rate = if p.has(Key::PowerNow) || b.derived.contains(Field::Current) {
        None
    } else {
        b.current_a.filter(|a| *a > 0.0)
    };
    match b.state {
        State::Discharging => {
            b.time_to_empty = kernel_time(
                p,
                &[Key::TimeToEmptyNow, Key::TimeToEmptyAvg],
                derived::MAX_TIME_TO_EMPTY,
            );
            if b.time_to_empty.is_none() {
                b.time_to_empty = match (charge_now, charge_rate) {
                    (Some(now), Some(amps)) => derived::time_to_empty(now, amps),
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
            b.time_to_full = kernel_time(
                p,
                &[Key::TimeToFullNow, Key::TimeToFullAvg],
                derived::MAX_TIME_TO_FULL,
            );
            if b.time_to_full.is_none() {
                b.time_to_full = match (charge_now, charge_full, charge_rate) {
                    (Some(now), Some(full), Some(amps)) => derived::time_to_full(now, full, amps),
                    _ => match (b.energy_wh, b.energy_full_wh, b.power_w) {
                        (Some(e), Some(full), Some(w)) => derived::time_to_full(e, full, w),
                        _ => None,
                    },
                };
                b.derived
                    .insert_if(Field::TimeToFull, b.time_to_full.is_some());
            }
        }
        _ => {}
    }

    // Identity and condition.
    b.cycle_count = p
        .int(Key::CycleCount)
        .filter(|c| *c > 0)
        .and_then(|c| u32::try_from(c).ok());
    b.temperature_c = p
        .int(Key::Temp)
        .map(|t| t as f64 / 10.0)
        .filter(|t| (-50.0..=150.0).contains(t));
    set_clean(&mut b.vendor, p.raw(Key::Manufacturer).as_deref());
    set_clean(&mut b.model, p.raw(Key::ModelName).as_deref());
    set_clean(&mut b.serial, p.raw(Key::SerialNumber).as_deref());
    if kind == Kind::Peripheral {
        // Game-pad drivers set no model or serial on their supply (hid-playstation, hid-nintendo): the
        // input device beside it has them (`device/input/inputN/name` and `uniq`, the Bluetooth address),
        // which the shell carries as INPUT_NAME / INPUT_UNIQ.
        if b.model.is_none() {
            set_clean(&mut b.model, p.extra(Extra::InputName).as_deref());
        }
        if b.serial.is_none() {
            set_clean(&mut b.serial, p.extra(Extra::InputUniq).as_deref());
        }
        b.peripheral = peripheral_from_driver(&b.id)
            .or_else(|| b.model.as_deref().and_then(PeripheralKind::from_name));
    } else {
        b.peripheral = None;
    }
    b.technology = p
        .raw(Key::Technology)
        .map_or(Technology::Unknown, |t| Technology::parse(&t));
    b.manufacture_date = Date::new(
        p.int(Key::ManufactureYear).unwrap_or(0),
        p.int(Key::ManufactureMonth).unwrap_or(0),
        p.int(Key::ManufactureDay).unwrap_or(0),
    );
    Ok(())
}

/// An `Unknown` kernel status made specific where the facts allow (and marked as derived):
/// on external power a battery that is not moving is full (≥ [`FULL_THRESHOLD_PERCENT`]) or held;
/// off external power a battery delivering current is discharging.
fn infer_unknown_state(b: &mut Battery, reason: &mut Option<Reason>) {
    let moving = b.power_w.is_some_and(|w| w >= 0.5);
    match (b.external_power, b.percentage) {
        (Some(true), Some(pct)) if !moving => {
            if pct >= FULL_THRESHOLD_PERCENT {
                b.state = State::Full;
                *reason = Some("status Unknown on external power at a full charge".into());
            } else {
                b.state = State::NotCharging;
                // Say only what was observed: a measured rate of ~0, or no rate reported at all.
                let observed = if b.power_w.is_some() {
                    "status Unknown on external power with no current flowing"
                } else {
                    "status Unknown on external power; the battery reports no current"
                };
                *reason = Some(not_charging_reason(b).unwrap_or(Reason::Text(observed)));
            }
            b.derived.insert(Field::State);
        }
        (Some(false), _) if moving => {
            b.state = State::Discharging;
            *reason = Some("status Unknown while no external power is online".into());
            b.derived.insert(Field::State);
        }
        _ => {}
    }
}

fn not_charging_reason(b: &Battery) -> Option<Reason> {
    if b.charge_behaviour == Some(ChargeBehaviour::InhibitCharge) {
        return Some("charging inhibited (charge_behaviour)".into());
    }
    if b.charge_behaviour == Some(ChargeBehaviour::ForceDischarge) {
        return Some("forced discharge (charge_behaviour)".into());
    }
    let pct = b.percentage?;
    if let Some(end) = b.charge_end_threshold
        && end < 100
        && pct + 3.0 >= f64::from(end)
    {
        return Some(Reason::HeldByLimit(end));
    }
    if let Some(start) = b.charge_start_threshold
        && pct >= f64::from(start)
    {
        return Some(Reason::AboveStart(start));
    }
    None
}

/// A kernel time estimate in seconds, unless it is 0, the SBS sentinel, or beyond `cap`.
fn kernel_time<'p>(p: impl Props<'p>, names: &[Key], cap: Duration) -> Option<Duration> {
    names.iter().find_map(|name| {
        let s = p.int(*name)?;
        if s <= 0 || s == SBS_TIME_SENTINEL_S {
            return None;
        }
        Some(Duration::from_secs(s as u64)).filter(|d| *d <= cap)
    })
}

fn threshold<'p>(p: impl Props<'p>, names: &[Key]) -> Option<u8> {
    names
        .iter()
        .find_map(|&n| p.int(n))
        .filter(|v| (0..=100).contains(v))
        .map(|v| v as u8)
}

fn parse_level(text: &str) -> Option<Level> {
    match ascii_lower(text.trim(), &mut [0u8; 16]) {
        b"critical" => Some(Level::Critical),
        b"low" => Some(Level::Low),
        b"normal" => Some(Level::Normal),
        b"high" => Some(Level::High),
        b"full" => Some(Level::Full),
        _ => None,
    }
}

fn parse_behaviour(text: &str) -> Option<ChargeBehaviour> {
    match bracketed_str(text)? {
        "auto" => Some(ChargeBehaviour::Auto),
        "inhibit-charge" | "inhibit-charge-awake" => Some(ChargeBehaviour::InhibitCharge),
        "force-discharge" => Some(ChargeBehaviour::ForceDischarge),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_text(text: &str) -> Decoded {
        let devices = parse_uevent_text(text).unwrap_or_default();
        crate::decode::decode(&devices)
    }

    fn one(text: &str) -> Battery {
        let d = decode_text(text);
        assert_eq!(d.batteries.len(), 1, "{d:?}");
        d.batteries[0].clone()
    }

    const ACPI_CHARGE: &str = "POWER_SUPPLY_NAME=BAT0\nPOWER_SUPPLY_TYPE=Battery\n\
        POWER_SUPPLY_VOLTAGE_MIN_DESIGN=11400000\nPOWER_SUPPLY_VOLTAGE_NOW=12000000\n\
        POWER_SUPPLY_CHARGE_FULL_DESIGN=4000000\nPOWER_SUPPLY_CHARGE_FULL=3000000\n\
        POWER_SUPPLY_CHARGE_NOW=1500000\n";

    #[test]
    fn uevent_split_at_first_equals_and_between_devices() {
        let devs = parse_uevent_text("DEVTYPE=power_supply\nPOWER_SUPPLY_NAME=AC\nPOWER_SUPPLY_ONLINE=1\nDEVTYPE=power_supply\nPOWER_SUPPLY_NAME=BAT0\nPOWER_SUPPLY_STATUS=Not charging\nPOWER_SUPPLY_MODEL_NAME=a=b\n").unwrap_or_default();
        assert_eq!(devs.len(), 2);
        assert_eq!(devs[1].id, "BAT0");
        assert_eq!(
            devs[1].record.text("POWER_SUPPLY_STATUS").as_deref(),
            Some("Not charging")
        );
        assert_eq!(
            devs[1].record.text("POWER_SUPPLY_MODEL_NAME").as_deref(),
            Some("a=b")
        );
        let err = parse_uevent_text("POWER_SUPPLY_NAME=X\n$ cat foo\n").err();
        assert_eq!(err.map(|e| e.line), Some(2));
    }

    #[test]
    fn charge_converts_with_design_voltage_min_first() {
        let b = one(ACPI_CHARGE);
        assert_eq!(b.energy_full_wh, Some(3.0 * 11.4));
        assert_eq!(b.energy_wh, Some(1.5 * 11.4));
        assert!(b.derived.contains(Field::Energy) && b.derived.contains(Field::EnergyFull));
        assert_eq!(b.percentage, Some(50.0));
        assert!(b.derived.contains(Field::Percentage));
        assert_eq!(b.health_percent.map(f64::round), Some(75.0));
    }

    #[test]
    fn energy_avg_fallback_for_pmu_battery() {
        let b = one(
            "POWER_SUPPLY_NAME=PMU_battery_0\nPOWER_SUPPLY_TYPE=Battery\nPOWER_SUPPLY_ENERGY_AVG=20000000\nPOWER_SUPPLY_ENERGY_FULL=40000000\n",
        );
        assert_eq!(b.energy_wh, Some(20.0));
        assert_eq!(b.percentage, Some(50.0));
    }

    #[test]
    fn no_voltage_means_no_invented_energy() {
        let b = one(
            "POWER_SUPPLY_NAME=BAT0\nPOWER_SUPPLY_TYPE=Battery\nPOWER_SUPPLY_CHARGE_NOW=1000000\nPOWER_SUPPLY_CHARGE_FULL=2000000\nPOWER_SUPPLY_CAPACITY=50\n",
        );
        assert_eq!(b.energy_wh, None);
        assert_eq!(b.energy_full_wh, None);
        assert_eq!(b.percentage, Some(50.0));
    }

    #[test]
    fn capacity_percent_times_full_is_the_last_resort() {
        let b = one(
            "POWER_SUPPLY_NAME=BAT0\nPOWER_SUPPLY_TYPE=Battery\nPOWER_SUPPLY_ENERGY_FULL=40000000\nPOWER_SUPPLY_CAPACITY=25\n",
        );
        assert_eq!(b.energy_wh, Some(10.0));
        assert!(b.derived.contains(Field::Energy));
        assert!(!b.derived.contains(Field::Percentage));
    }

    #[test]
    fn charge_far_above_full_is_a_gauge_bug() {
        // AsahiLinux/linux#522 row 2: STATUS=Full, CAPACITY=100, charge_now 6.55 × charge_full.
        let b = one(
            "POWER_SUPPLY_NAME=macsmc-battery\nPOWER_SUPPLY_TYPE=Battery\nPOWER_SUPPLY_STATUS=Full\nPOWER_SUPPLY_CAPACITY=100\nPOWER_SUPPLY_VOLTAGE_NOW=13000000\nPOWER_SUPPLY_CHARGE_NOW=24078000\nPOWER_SUPPLY_CHARGE_FULL=3678000\n",
        );
        assert_eq!(b.percentage, Some(100.0));
        assert_eq!(b.energy_wh, b.energy_full_wh);
    }

    #[test]
    fn capacity_is_preferred_and_insane_capacity_falls_back() {
        let b = one(&format!("{ACPI_CHARGE}POWER_SUPPLY_CAPACITY=49\n"));
        assert_eq!(b.percentage, Some(49.0));
        let b = one(&format!("{ACPI_CHARGE}POWER_SUPPLY_CAPACITY=255\n"));
        assert_eq!(b.percentage, Some(50.0));
    }

    #[test]
    fn level_only_devices_get_a_level_not_a_percentage() {
        let b = one(
            "POWER_SUPPLY_NAME=hidpp_battery_5\nPOWER_SUPPLY_STATUS=Discharging\nPOWER_SUPPLY_SCOPE=Device\nPOWER_SUPPLY_CAPACITY_LEVEL=Normal\n",
        );
        assert_eq!(b.percentage, None);
        assert_eq!(b.level, Some(Level::Normal));
        assert_eq!(b.kind, Kind::Peripheral);
    }

    #[test]
    fn rate_from_power_now_magnitude_and_absurd_values_dropped() {
        let b = one(
            "POWER_SUPPLY_NAME=BAT0\nPOWER_SUPPLY_TYPE=Battery\nPOWER_SUPPLY_STATUS=Discharging\nPOWER_SUPPLY_POWER_NOW=-140000000\nPOWER_SUPPLY_ENERGY_NOW=50000000\nPOWER_SUPPLY_ENERGY_FULL=90000000\n",
        );
        assert_eq!(
            b.power_w,
            Some(140.0),
            "140 W laptops are real (UPower's 100 W cap is wrong)"
        );
        let b = one(
            "POWER_SUPPLY_NAME=BAT0\nPOWER_SUPPLY_TYPE=Battery\nPOWER_SUPPLY_STATUS=Discharging\nPOWER_SUPPLY_POWER_NOW=65535000000\n",
        );
        assert_eq!(b.power_w, None);
    }

    #[test]
    fn rate_from_current_times_voltage_ignores_sign() {
        let b = one(&format!(
            "{ACPI_CHARGE}POWER_SUPPLY_STATUS=Discharging\nPOWER_SUPPLY_CURRENT_NOW=-1000000\n"
        ));
        assert_eq!(b.power_w, Some(12.0));
        assert_eq!(b.current_a, Some(1.0));
        assert_eq!(b.state, State::Discharging);
        // Time = charge ÷ current = 1.5 h, as the gauge counts it.
        assert_eq!(b.time_to_empty, Some(Duration::from_secs(5400)));
        assert!(b.derived.contains(Field::TimeToEmpty));
    }

    #[test]
    fn energy_now_and_full_come_from_one_unit_family() {
        // energy_full in µWh, charge_now/charge_full in µAh, a design voltage that is a cell's: the charge
        // ratio (40 %) is right, mixing charge × voltage with energy_full (15.8 %) is not.
        let base = "POWER_SUPPLY_NAME=BAT0\nPOWER_SUPPLY_TYPE=Battery\nPOWER_SUPPLY_STATUS=Discharging\n\
                    POWER_SUPPLY_VOLTAGE_MIN_DESIGN=3800000\nPOWER_SUPPLY_ENERGY_FULL=48000000\n\
                    POWER_SUPPLY_CHARGE_NOW=2000000\n";
        let with_full = format!("{base}POWER_SUPPLY_CHARGE_FULL=5000000\n");
        let b =
            &crate::decode::decode(&parse_uevent_text(&with_full).unwrap_or_default()).batteries[0];
        assert_eq!(b.percentage.map(|p| (p * 10.0).round()), Some(400.0));
        assert_eq!(b.energy_wh.map(|e| (e * 10.0).round()), Some(76.0));
        assert_eq!(b.energy_full_wh.map(|e| (e * 10.0).round()), Some(190.0));
        // Without charge_full, charge now has no partner of its family: no energy, no percentage
        // made of mixed units.
        let b = &crate::decode::decode(&parse_uevent_text(base).unwrap_or_default()).batteries[0];
        assert_eq!(b.energy_full_wh, Some(48.0));
        assert_eq!((b.energy_wh, b.percentage), (None, None));
    }

    #[test]
    fn unknown_status_reason_says_only_what_was_observed() {
        let base = "POWER_SUPPLY_NAME=AC\nPOWER_SUPPLY_TYPE=Mains\nPOWER_SUPPLY_ONLINE=1\n\
                    POWER_SUPPLY_NAME=BAT0\nPOWER_SUPPLY_TYPE=Battery\nPOWER_SUPPLY_STATUS=Unknown\n\
                    POWER_SUPPLY_CAPACITY=60\n";
        let reason = |text: &str| {
            crate::decode::decode(&parse_uevent_text(text).unwrap_or_default()).batteries[0]
                .state_reason
                .clone()
        };
        assert_eq!(
            reason(base).as_deref(),
            Some("status Unknown on external power; the battery reports no current")
        );
        let measured = format!("{base}POWER_SUPPLY_POWER_NOW=0\n");
        assert_eq!(
            reason(&measured).as_deref(),
            Some("status Unknown on external power with no current flowing")
        );
    }

    #[test]
    fn disconnected_and_second_link_peripherals_are_not_shown() {
        let text = "POWER_SUPPLY_NAME=hid-headset-battery\nPOWER_SUPPLY_TYPE=Battery\nPOWER_SUPPLY_SCOPE=Device\n\
                    POWER_SUPPLY_CAPACITY=69\nUSB_WIRELESS_STATUS=disconnected\n\
                    POWER_SUPPLY_NAME=hid-mouse-usb-battery\nPOWER_SUPPLY_TYPE=Battery\nPOWER_SUPPLY_SCOPE=Device\n\
                    POWER_SUPPLY_CAPACITY=40\nPOWER_SUPPLY_MODEL_NAME=MX\nPOWER_SUPPLY_SERIAL_NUMBER=AB12\n\
                    POWER_SUPPLY_NAME=hidpp_battery_0\nPOWER_SUPPLY_TYPE=Battery\nPOWER_SUPPLY_SCOPE=Device\n\
                    POWER_SUPPLY_CAPACITY=40\nPOWER_SUPPLY_MODEL_NAME=MX\nPOWER_SUPPLY_SERIAL_NUMBER=AB12\n\
                    POWER_SUPPLY_NAME=hidpp_battery_1\nPOWER_SUPPLY_TYPE=Battery\nPOWER_SUPPLY_SCOPE=Device\n\
                    POWER_SUPPLY_CAPACITY=80\nPOWER_SUPPLY_MODEL_NAME=MX\n\
                    POWER_SUPPLY_NAME=hidpp_battery_2\nPOWER_SUPPLY_TYPE=Battery\nPOWER_SUPPLY_SCOPE=Device\n\
                    POWER_SUPPLY_CAPACITY=90\nPOWER_SUPPLY_MODEL_NAME=MX\nUSB_WIRELESS_STATUS=connected\n";
        let out = crate::decode::decode(&parse_uevent_text(text).unwrap_or_default());
        let ids: Vec<&str> = out.batteries.iter().map(|b| b.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "hid-mouse-usb-battery",
                "hidpp_battery_1",
                "hidpp_battery_2"
            ]
        );
        let reason = |id: &str| {
            out.skipped
                .iter()
                .find(|s| s.id == id)
                .map(|s| s.reason.clone())
        };
        assert!(reason("hid-headset-battery").is_some_and(|r| r.contains("wireless_status")));
        assert!(reason("hidpp_battery_0").is_some_and(|r| r.contains("hid-mouse-usb-battery")));
    }

    #[test]
    fn intel_macbook_capacity_yields_to_the_charge_ratio() {
        let base = "POWER_SUPPLY_NAME=BAT0\nPOWER_SUPPLY_TYPE=Battery\nPOWER_SUPPLY_STATUS=Discharging\n\
                    POWER_SUPPLY_CAPACITY=100\nPOWER_SUPPLY_CHARGE_NOW=2000000\nPOWER_SUPPLY_CHARGE_FULL=4000000\n";
        let pct = |text: &str| {
            crate::decode::decode(&parse_uevent_text(text).unwrap_or_default()).batteries[0]
                .percentage
        };
        assert_eq!(
            pct(&format!("{base}DMI_PRODUCT_NAME=MacBookPro14,1\n")),
            Some(50.0)
        );
        // Elsewhere (and on Apple Silicon, which has no DMI) the gauge's own capacity stays.
        assert_eq!(pct(base), Some(100.0));
        assert_eq!(
            pct(&format!("{base}DMI_PRODUCT_NAME=ThinkPad T480s\n")),
            Some(100.0)
        );
        // Close enough: capacity is kept on a MacBook too.
        let close = base.replace("CAPACITY=100", "CAPACITY=55");
        assert_eq!(
            pct(&format!("{close}DMI_PRODUCT_NAME=MacBookAir7,2\n")),
            Some(55.0)
        );
    }

    #[test]
    fn peripherals_get_a_kind_and_a_game_pad_its_input_name() {
        let text = "POWER_SUPPLY_NAME=ps-controller-battery-48:18:8d:24:b6:a9\nPOWER_SUPPLY_CAPACITY=35\n\
                    INPUT_NAME=DualSense Wireless Controller\nINPUT_UNIQ=48:18:8d:24:b6:a9\n\
                    POWER_SUPPLY_NAME=hidpp_battery_5\nPOWER_SUPPLY_TYPE=Battery\nPOWER_SUPPLY_SCOPE=Device\n\
                    POWER_SUPPLY_CAPACITY=60\nPOWER_SUPPLY_MODEL_NAME=Wireless Keyboard K270\n\
                    POWER_SUPPLY_NAME=hid-aa:bb-battery\nPOWER_SUPPLY_TYPE=Battery\nPOWER_SUPPLY_SCOPE=Device\n\
                    POWER_SUPPLY_CAPACITY=60\nPOWER_SUPPLY_MODEL_NAME=Arctis 7\n\
                    POWER_SUPPLY_NAME=BAT0\nPOWER_SUPPLY_TYPE=Battery\nPOWER_SUPPLY_CAPACITY=60\n";
        let out = crate::decode::decode(&parse_uevent_text(text).unwrap_or_default());
        let kinds: Vec<Option<PeripheralKind>> =
            out.batteries.iter().map(|b| b.peripheral).collect();
        assert_eq!(
            kinds,
            [
                Some(PeripheralKind::GamePad),
                Some(PeripheralKind::Keyboard),
                Some(PeripheralKind::Other),
                None
            ]
        );
        let pad = &out.batteries[0];
        assert_eq!(pad.model.as_deref(), Some("DualSense Wireless Controller"));
        assert_eq!(pad.serial.as_deref(), Some("48:18:8d:24:b6:a9"));
        assert_eq!(
            PeripheralKind::from_name("Apple Magic Trackpad"),
            Some(PeripheralKind::Touchpad)
        );
        assert_eq!(PeripheralKind::from_name("Penguin"), None);
    }

    #[test]
    fn unknown_type_is_inferred_from_the_attributes() {
        let text = "POWER_SUPPLY_NAME=BAT0\nPOWER_SUPPLY_TYPE=Unknown\nPOWER_SUPPLY_STATUS=Discharging\n\
                    POWER_SUPPLY_PRESENT=1\nPOWER_SUPPLY_CHARGE_NOW=2000000\nPOWER_SUPPLY_CHARGE_FULL=4000000\n\
                    POWER_SUPPLY_NAME=ADP1\nPOWER_SUPPLY_TYPE=Unknown\nPOWER_SUPPLY_ONLINE=1\n\
                    POWER_SUPPLY_NAME=odd\nPOWER_SUPPLY_TYPE=Unknown\n";
        let devices = parse_uevent_text(text).unwrap_or_default();
        let out = crate::decode::decode(&devices);
        assert_eq!(out.batteries.len(), 1);
        assert_eq!(out.batteries[0].percentage, Some(50.0));
        assert_eq!(out.power_sources.len(), 1);
        assert_eq!(out.power_sources[0].id, "ADP1");
        assert_eq!(out.power_sources[0].online, Some(true));
        assert!(out.skipped.iter().any(|s| s.id == "odd"));
    }

    #[test]
    fn not_charging_any_case_and_reason_from_threshold() {
        let b = one(&format!(
            "{ACPI_CHARGE}POWER_SUPPLY_STATUS=Not Charging\nPOWER_SUPPLY_CHARGE_CONTROL_END_THRESHOLD=50\n"
        ));
        assert_eq!(b.state, State::NotCharging);
        assert_eq!(
            b.state_reason.as_deref(),
            Some("held by the charge limit (50 %)")
        );
    }

    #[test]
    fn unknown_on_ac_becomes_full_or_not_charging_by_level() {
        let ac = "POWER_SUPPLY_NAME=AC\nPOWER_SUPPLY_TYPE=Mains\nPOWER_SUPPLY_ONLINE=1\n";
        let d = decode_text(&format!(
            "{ac}POWER_SUPPLY_NAME=BAT0\nPOWER_SUPPLY_TYPE=Battery\nPOWER_SUPPLY_STATUS=Unknown\nPOWER_SUPPLY_CAPACITY=32\nPOWER_SUPPLY_POWER_NOW=0\n"
        ));
        assert_eq!(d.batteries[0].state, State::NotCharging);
        assert!(d.batteries[0].derived.contains(Field::State));
        let d = decode_text(&format!(
            "{ac}POWER_SUPPLY_NAME=BAT0\nPOWER_SUPPLY_TYPE=Battery\nPOWER_SUPPLY_STATUS=Unknown\nPOWER_SUPPLY_CAPACITY=98\n"
        ));
        assert_eq!(d.batteries[0].state, State::Full);
        // Without knowledge of AC the state stays Unknown: nothing is made up.
        let b = one(
            "POWER_SUPPLY_NAME=BAT0\nPOWER_SUPPLY_TYPE=Battery\nPOWER_SUPPLY_STATUS=Unknown\nPOWER_SUPPLY_CAPACITY=98\n",
        );
        assert_eq!(b.state, State::Unknown);
    }

    #[test]
    fn unknown_off_ac_with_current_is_discharging() {
        let d = decode_text(
            "POWER_SUPPLY_NAME=AC\nPOWER_SUPPLY_TYPE=Mains\nPOWER_SUPPLY_ONLINE=0\nPOWER_SUPPLY_NAME=BAT0\nPOWER_SUPPLY_TYPE=Battery\nPOWER_SUPPLY_STATUS=Unknown\nPOWER_SUPPLY_POWER_NOW=8000000\n",
        );
        assert_eq!(d.batteries[0].state, State::Discharging);
    }

    #[test]
    fn kernel_times_in_seconds_and_sbs_sentinel() {
        let b = one(
            "POWER_SUPPLY_NAME=sbs\nPOWER_SUPPLY_TYPE=Battery\nPOWER_SUPPLY_STATUS=Discharging\nPOWER_SUPPLY_TIME_TO_EMPTY_NOW=48300\n",
        );
        assert_eq!(b.time_to_empty, Some(Duration::from_secs(48300)));
        assert!(!b.derived.contains(Field::TimeToEmpty));
        let b = one(
            "POWER_SUPPLY_NAME=sbs\nPOWER_SUPPLY_TYPE=Battery\nPOWER_SUPPLY_STATUS=Charging\nPOWER_SUPPLY_TIME_TO_FULL_AVG=3932100\n",
        );
        assert_eq!(b.time_to_full, None);
    }

    #[test]
    fn no_time_estimates_while_full_or_held() {
        let b = one(&format!(
            "{ACPI_CHARGE}POWER_SUPPLY_STATUS=Full\nPOWER_SUPPLY_CURRENT_NOW=1000\n"
        ));
        assert_eq!((b.time_to_empty, b.time_to_full), (None, None));
    }

    #[test]
    fn cycle_zero_temp_tenths_and_identity_cleanup() {
        let b = one(
            "POWER_SUPPLY_NAME=BAT0\nPOWER_SUPPLY_TYPE=Battery\nPOWER_SUPPLY_CYCLE_COUNT=0\nPOWER_SUPPLY_TEMP=272\nPOWER_SUPPLY_SERIAL_NUMBER=  973\nPOWER_SUPPLY_MODEL_NAME=\nPOWER_SUPPLY_MANUFACTURER=SMP\u{0}\u{0}\nPOWER_SUPPLY_TECHNOLOGY=Li-poly\nPOWER_SUPPLY_MANUFACTURE_YEAR=2019\nPOWER_SUPPLY_MANUFACTURE_MONTH=7\nPOWER_SUPPLY_MANUFACTURE_DAY=29\n",
        );
        assert_eq!(b.cycle_count, None);
        assert_eq!(b.temperature_c, Some(27.2));
        assert_eq!(b.serial.as_deref(), Some("973"));
        assert_eq!(b.model, None);
        assert_eq!(b.vendor.as_deref(), Some("SMP"));
        assert_eq!(b.technology, Technology::LithiumPolymer);
        assert_eq!(
            b.manufacture_date.map(|d| d.to_string()).as_deref(),
            Some("2019-07-29")
        );
    }

    #[test]
    fn health_is_not_clamped_and_needs_design() {
        let b = one(
            "POWER_SUPPLY_NAME=BAT0\nPOWER_SUPPLY_TYPE=Battery\nPOWER_SUPPLY_ENERGY_FULL=94860000\nPOWER_SUPPLY_ENERGY_FULL_DESIGN=93960000\n",
        );
        assert!(b.health_percent.is_some_and(|h| h > 100.0));
        let b = one(
            "POWER_SUPPLY_NAME=BAT0\nPOWER_SUPPLY_TYPE=Battery\nPOWER_SUPPLY_ENERGY_FULL=94860000\nPOWER_SUPPLY_ENERGY_FULL_DESIGN=0\n",
        );
        assert_eq!(b.health_percent, None);
    }

    #[test]
    fn types_and_scope_classify_devices() {
        let d = decode_text(
            "POWER_SUPPLY_NAME=bms\nPOWER_SUPPLY_TYPE=BMS\nPOWER_SUPPLY_NAME=ucsi\nPOWER_SUPPLY_TYPE=USB\nPOWER_SUPPLY_ONLINE=1\nPOWER_SUPPLY_USB_TYPE=C [PD] PD_PPS\nPOWER_SUPPLY_VOLTAGE_NOW=5000000\nPOWER_SUPPLY_CURRENT_NOW=3000000\nPOWER_SUPPLY_NAME=wl\nPOWER_SUPPLY_TYPE=Wireless\nPOWER_SUPPLY_NAME=BAT1\nPOWER_SUPPLY_TYPE=Battery\nPOWER_SUPPLY_PRESENT=0\nPOWER_SUPPLY_NAME=usb-dev\nPOWER_SUPPLY_TYPE=USB\nPOWER_SUPPLY_SCOPE=Device\n",
        );
        assert_eq!(d.batteries.len(), 0);
        assert_eq!(d.power_sources.len(), 2);
        let usb = &d.power_sources[0];
        assert_eq!(usb.kind, SourceKind::Usb);
        assert_eq!(usb.usb_type.as_deref(), Some("PD"));
        assert_eq!(usb.power_w, Some(15.0));
        assert_eq!(d.skipped.len(), 3);
        assert!(
            d.skipped
                .iter()
                .any(|s| s.id == "bms" && s.reason.contains("BMS"))
        );
        assert!(
            d.skipped
                .iter()
                .any(|s| s.id == "BAT1" && s.reason.contains("not present"))
        );
        assert!(
            d.skipped
                .iter()
                .any(|s| s.id == "usb-dev" && s.reason.contains("peripheral"))
        );
    }

    #[test]
    fn charge_behaviour_and_thresholds() {
        let b = one(&format!(
            "{ACPI_CHARGE}POWER_SUPPLY_CHARGE_BEHAVIOUR=auto [inhibit-charge] force-discharge\nPOWER_SUPPLY_CHARGE_CONTROL_START_THRESHOLD=75\nPOWER_SUPPLY_CHARGE_CONTROL_END_THRESHOLD=180\nPOWER_SUPPLY_STATUS=Not charging\n"
        ));
        assert_eq!(b.charge_behaviour, Some(ChargeBehaviour::InhibitCharge));
        assert_eq!(b.charge_start_threshold, Some(75));
        assert_eq!(b.charge_end_threshold, None);
        assert_eq!(
            b.state_reason.as_deref(),
            Some("charging inhibited (charge_behaviour)")
        );
    }

    /// The in-place path (uevent indexed, decoded from borrowed properties, refreshed into an old battery)
    /// gives exactly what the record path gives.
    #[test]
    fn properties_in_place_decode_like_records() {
        let texts = [
            ACPI_CHARGE.to_owned(),
            format!("{ACPI_CHARGE}POWER_SUPPLY_STATUS=Not Charging\nPOWER_SUPPLY_CHARGE_CONTROL_END_THRESHOLD=50\n"),
            format!("{ACPI_CHARGE}POWER_SUPPLY_CHARGE_BEHAVIOUR=auto [inhibit-charge] force-discharge\nPOWER_SUPPLY_STATUS=Not charging\n"),
            "POWER_SUPPLY_NAME=BAT0\r\nPOWER_SUPPLY_TYPE = Battery\r\nPOWER_SUPPLY_CYCLE_COUNT=0\nPOWER_SUPPLY_TEMP=272\nPOWER_SUPPLY_SERIAL_NUMBER=  973\nPOWER_SUPPLY_MODEL_NAME=\nPOWER_SUPPLY_MANUFACTURER=SMP\u{0}\u{0}\nPOWER_SUPPLY_TECHNOLOGY=Li-poly\nPOWER_SUPPLY_CAPACITY=10\nPOWER_SUPPLY_CAPACITY=20\nPOWER_SUPPLY_MODEL_NAME=a=b\n".to_owned(),
            "POWER_SUPPLY_NAME=hidpp_battery_5\nPOWER_SUPPLY_STATUS=Discharging\nPOWER_SUPPLY_SCOPE=Device\nPOWER_SUPPLY_CAPACITY_LEVEL=Normal\n".to_owned(),
            "POWER_SUPPLY_NAME=BAT1\nPOWER_SUPPLY_TYPE=Battery\nPOWER_SUPPLY_PRESENT=0\n".to_owned(),
        ];
        for text in &texts {
            let records = parse_uevent_text(text).unwrap_or_default();
            let by_record = crate::decode::decode(&records);
            let spans = [Span::uevent(0, text.len())];
            let index = Index::of(text.as_bytes(), &spans);
            let props = Properties::indexed(text, &spans, &index);
            let mut by_props = Decoded::default();
            decode_properties(&[(records[0].id.as_str(), props)], &mut by_props);
            assert_eq!(by_props, by_record, "{text}");
            assert_eq!(props.to_record(), records[0].record, "{text}");
            // Refreshed into a battery that said something else before.
            if let Some(fresh) = by_record.batteries.first() {
                let mut old = one(&format!(
                    "{ACPI_CHARGE}POWER_SUPPLY_STATUS=Unknown\nPOWER_SUPPLY_MANUFACTURER=Other\n"
                ));
                old.id.clone_from(&fresh.id);
                old.external_power = fresh.external_power;
                refresh_battery(&mut old, &props, fresh.external_power).unwrap_or_default();
                assert_eq!(&old, fresh, "{text}");
            }
        }
        // Many properties the decoder does not read: passed over.
        let many: String = (0..300)
            .map(|i| format!("POWER_SUPPLY_X{i}={i}\n"))
            .chain(std::iter::once("POWER_SUPPLY_CAPACITY=7\n".to_owned()))
            .collect();
        let spans = [Span::uevent(0, many.len())];
        let index = Index::of(many.as_bytes(), &spans);
        let props = Properties::indexed(&many, &spans, &index);
        assert_eq!(props.get("CAPACITY"), Some("7"));
        assert_eq!(props.get("X42"), None);
        assert_eq!(props.to_record().len(), 301);
    }

    #[test]
    fn garbage_never_panics_or_yields_nan() {
        let b = one(
            "POWER_SUPPLY_NAME=BAT0\nPOWER_SUPPLY_TYPE=Battery\nPOWER_SUPPLY_ENERGY_NOW=abc\nPOWER_SUPPLY_ENERGY_FULL=-5\nPOWER_SUPPLY_VOLTAGE_NOW=99999999999999999999\nPOWER_SUPPLY_CAPACITY=NaN\nPOWER_SUPPLY_POWER_NOW=9223372036854775807\nPOWER_SUPPLY_TEMP=-9223372036854775808\n",
        );
        assert_eq!(b.percentage, None);
        assert_eq!(b.energy_full_wh, None);
        assert_eq!(b.power_w, None);
        assert_eq!(b.temperature_c, None);
    }
}
