//! macOS and iOS shell: the IOKit registry and the IOPowerSources API.
//!
//! Registry: every service of class `AppleSmartBattery` (else of its base class `IOPMPowerSource`),
//! matched with `IOServiceGetMatchingServices` on the default main port, read whole with
//! `IORegistryEntryCreateCFProperties`; one record per entry, with the registry's own key names and the
//! nested `BatteryData` / `AdapterDetails` / `ChargerData` dictionaries kept nested. IOPowerSources
//! (`IOPSCopyPowerSourcesInfo`): one record per power source, id `IOPowerSources:<Name>`, for powerd's own
//! time estimate and for UPSes and accessories. Reading needs no privilege (platforms.md §2.1). On iOS
//! the same calls compile, but App Store apps are denied IOKit battery data (platforms.md §2.13): they
//! find nothing.
//!
//! `Manager::refresh` keeps the registry entry of each battery ([`Handles`]): a steady refresh is one
//! `IORegistryEntryCreateCFProperties` on the kept entry and one `IORegistryEntryInPlane` to see that it
//! was not terminated, with no matching walk and no IOPowerSources copy (the registry record is all the
//! decoder reads for a registry battery's refresh; powerd's time estimate is lent only in a snapshot).
//! IOPowerSources-only devices (UPSes, accessories) have no registry entry to keep: their description is
//! read afresh, and only that one is converted.
//!
//! Every IOKit object is held by [`IoObject`] and every CoreFoundation object by `CFRetained`, both of
//! which release on drop, so no path leaks one.
#![allow(unsafe_code)]

use std::ffi::{CStr, c_char};
use std::fmt::Write as _;
use std::ptr::{self, NonNull};

use objc2_core_foundation::{
    CFArray, CFBoolean, CFData, CFDictionary, CFMutableDictionary, CFNumber, CFRetained, CFString,
    CFType,
};
use objc2_io_kit::{
    IOIteratorNext, IOObjectRelease, IOPSCopyPowerSourcesInfo, IOPSCopyPowerSourcesList,
    IOPSGetPowerSourceDescription, IORegistryEntryCreateCFProperties, IORegistryEntryGetName,
    IORegistryEntryInPlane, IOServiceGetMatchingServices, IOServiceMatching, io_iterator_t,
    io_object_t, kIOReturnSuccess,
};
use voltaic_core::decode::Skipped;
use voltaic_core::decode::macos::ioreg::DEFAULT_ENTRY;
use voltaic_core::decode::macos::{IOPS_PREFIX, registry_device_id};
use voltaic_core::record::{Os, RawDevice, Record, Value};

use super::Reading;
use crate::error::{Error, ErrorKind, Result};

pub(crate) const SUPPORTED: bool = true;

/// Deeper nesting than this is not a battery property (the registry nests three or four levels).
const MAX_DEPTH: usize = 32;

pub(crate) fn read_all() -> Result<Reading> {
    let mut reading = Reading::default();
    for (id, entry) in registry_entries()? {
        match properties(&entry) {
            Ok(record) => reading.devices.push(RawDevice::new(Os::MacOs, id, record)),
            Err(reason) => reading.unreadable.push(Skipped::new(id, reason)),
        }
    }
    reading.devices.extend(power_sources(None));
    Ok(reading)
}

/// Reads device `id` afresh: a walk of the registry, or the IOPowerSources list.
pub(crate) fn read_one(id: &str) -> Result<Option<RawDevice>> {
    if id.starts_with(IOPS_PREFIX) {
        return Ok(power_sources(Some(id)).pop());
    }
    read_listed(&registry_entries()?, id)
}

/// The registry entries `Manager::refresh` keeps: all of those the last walk found, by device id, so
/// that refreshing several batteries walks once. An entry found terminated (or unreadable) empties the
/// list and the registry is walked again: a reloaded driver publishes a new entry, a removed battery none.
#[derive(Debug, Default)]
pub(crate) struct Handles {
    entries: Vec<(String, IoObject)>,
}

/// Re-reads device `id` for `Manager::refresh`, through the kept registry entry when there is one.
pub(crate) fn read_kept(handles: &mut Handles, id: &str) -> Result<Option<RawDevice>> {
    if id.starts_with(IOPS_PREFIX) {
        // A UPS or accessory known only to powerd has no registry entry to keep: read afresh.
        return read_one(id);
    }
    let device_id = registry_device_id(id);
    if let Some((kept_id, entry)) = handles.entries.iter().find(|(k, _)| k == device_id) {
        if let Ok(record) = read_attached(entry) {
            return Ok(Some(RawDevice::new(Os::MacOs, kept_id.as_str(), record)));
        }
        handles.entries.clear();
    }
    handles.entries = registry_entries()?;
    read_listed(&handles.entries, id)
}

/// Reads the entry that holds battery `id` from a fresh walk; `Ok(None)` when there is none.
fn read_listed(entries: &[(String, IoObject)], id: &str) -> Result<Option<RawDevice>> {
    let device_id = registry_device_id(id);
    let Some((listed_id, entry)) = entries.iter().find(|(k, _)| k == device_id) else {
        return Ok(None);
    };
    match properties(entry) {
        Ok(record) => Ok(Some(RawDevice::new(Os::MacOs, listed_id.as_str(), record))),
        Err(reason) => Err(Error::new(
            ErrorKind::Io,
            format!("reading registry entry {device_id}: {reason}"),
        )),
    }
}

/// The entry's properties, if it is still a registered service. A kept handle keeps a terminated entry
/// (the battery driver unloaded or reloaded, the battery gone) alive, and its properties stay readable
/// through it (xnu `iokit/Kernel/IOUserClient.cpp`: `is_io_registry_entry_get_properties_bin_buf` does not
/// check for termination); termination ends by detaching it from its provider in the service plane
/// (`iokit/Kernel/IOService.cpp`: `actionStop` calls `client->detach(provider)`), which
/// `IORegistryEntryInPlane` tells. Asked after the read, so the properties were read while attached
/// (at worst during a termination in progress, before the driver was stopped).
fn read_attached(entry: &IoObject) -> std::result::Result<Record, String> {
    let record = properties(entry)?;
    let mut plane: [c_char; 128] = [0; 128];
    for (to, from) in plane.iter_mut().zip(c"IOService".to_bytes()) {
        *to = c_char::from_ne_bytes([*from]);
    }
    // SAFETY: `plane` is a NUL-terminated `io_name_t` buffer (128 bytes) that outlives the call; the
    // entry handle is valid while `entry` lives.
    if unsafe { IORegistryEntryInPlane(entry.0, &raw mut plane) } {
        Ok(record)
    } else {
        Err("the registry entry was terminated".to_owned())
    }
}

/// An IOKit object handle (`io_object_t`: service, iterator) that is released when dropped.
///
/// It is `Send` (a plain `u32` port name, so the compiler derives it): a Mach port right belongs to the
/// task, not to a thread, so a handle may be used and released from any thread of the process, and the
/// IOKitLib calls made on it are thread-safe. `Handles` relies on this (a `Manager` is `Send + Sync`).
#[derive(Debug)]
struct IoObject(io_object_t);

impl IoObject {
    /// Takes ownership of `raw`; `None` for `IO_OBJECT_NULL`.
    fn new(raw: io_object_t) -> Option<IoObject> {
        (raw != 0).then_some(IoObject(raw))
    }
}

impl Drop for IoObject {
    fn drop(&mut self) {
        // Nothing to do on failure: the handle is gone either way.
        let _ = IOObjectRelease(self.0);
    }
}

/// The registry's power-source entries, each named by its entry name (a name seen again gets `-2`, `-3` …,
/// as the ioreg replay names them). Nothing is read from them yet.
fn registry_entries() -> Result<Vec<(String, IoObject)>> {
    let mut found = services(c"AppleSmartBattery")?;
    if found.is_empty() {
        // Older or other power-source drivers share the base class (IOPM.h).
        found = services(c"IOPMPowerSource")?;
    }
    let mut seen: Vec<String> = Vec::new();
    let mut entries = Vec::with_capacity(found.len());
    for (name, entry) in found {
        let base = name.unwrap_or_else(|| DEFAULT_ENTRY.to_owned());
        let count = seen.iter().filter(|s| **s == base).count();
        seen.push(base.clone());
        let id = if count == 0 {
            base
        } else {
            format!("{base}-{}", count + 1)
        };
        entries.push((id, entry));
    }
    Ok(entries)
}

/// Every registered service of `class` (or a subclass): its entry name and its handle.
fn services(class: &CStr) -> Result<Vec<(Option<String>, IoObject)>> {
    let io_error = |what: &str| {
        Error::new(
            ErrorKind::Io,
            format!("{what} for IOKit class {}", class.to_string_lossy()),
        )
    };
    // SAFETY: `class` is a NUL-terminated C string that outlives the call.
    let matching: CFRetained<CFMutableDictionary> = unsafe { IOServiceMatching(class.as_ptr()) }
        .ok_or_else(|| io_error("IOServiceMatching failed"))?;
    // The call below consumes one reference; this one is ours to give, `matching` releases its own.
    let matching: CFRetained<CFDictionary> = CFRetained::from(&*matching);
    let mut iterator: io_iterator_t = 0;
    // SAFETY: `iterator` is a valid place for the out-parameter, and the binding hands the consumed
    // reference to IOKit. 0 is the default main port: `kIOMainPortDefault` and the deprecated
    // `kIOMasterPortDefault` are both MACH_PORT_NULL (IOKitLib.h).
    let status = unsafe { IOServiceGetMatchingServices(0, Some(matching), &raw mut iterator) };
    if status != kIOReturnSuccess {
        return Err(io_error(&format!(
            "IOServiceGetMatchingServices failed ({status:#x})"
        )));
    }
    let Some(iterator) = IoObject::new(iterator) else {
        return Ok(Vec::new());
    };
    let mut entries = Vec::new();
    // Each object IOIteratorNext returns carries a reference that is ours (IOKitLib.h), released by
    // `IoObject` when the entry is no longer kept.
    while let Some(service) = IoObject::new(IOIteratorNext(iterator.0)) {
        entries.push((entry_name(&service), service));
    }
    Ok(entries)
}

/// The entry's registry name (`AppleSmartBattery`).
fn entry_name(entry: &IoObject) -> Option<String> {
    let mut name: [c_char; 128] = [0; 128];
    // SAFETY: `name` is the 128-byte `io_name_t` buffer the call writes a NUL-terminated name into.
    let status = unsafe { IORegistryEntryGetName(entry.0, &raw mut name) };
    if status != kIOReturnSuccess {
        return None;
    }
    let bytes: [u8; 128] = name.map(|c| c.to_ne_bytes()[0]);
    CStr::from_bytes_until_nul(&bytes)
        .ok()
        .map(|n| n.to_string_lossy().trim().to_owned())
        .filter(|n| !n.is_empty())
}

/// All properties of one registry entry.
fn properties(entry: &IoObject) -> std::result::Result<Record, String> {
    let mut dict: *mut CFMutableDictionary = ptr::null_mut();
    // SAFETY: `dict` is a valid place for the out-parameter; `None` is kCFAllocatorDefault; no options
    // are defined (IOKitLib.h).
    let status = unsafe { IORegistryEntryCreateCFProperties(entry.0, &raw mut dict, None, 0) };
    if status != kIOReturnSuccess {
        return Err(format!(
            "IORegistryEntryCreateCFProperties failed ({status:#x})"
        ));
    }
    let dict =
        NonNull::new(dict).ok_or("IORegistryEntryCreateCFProperties returned no dictionary")?;
    // SAFETY: the Create rule: on success the caller owns one reference to the new dictionary, which
    // `CFRetained` releases when dropped.
    let dict: CFRetained<CFMutableDictionary> = unsafe { CFRetained::from_raw(dict) };
    Ok(dict_to_record(&dict, 0))
}

/// Every IOPowerSources description (or only the one named `want`): powerd's view of the internal
/// battery, UPSes and accessories. A failure here only loses those extras, so it yields nothing rather
/// than an error.
fn power_sources(want: Option<&str>) -> Vec<RawDevice> {
    let Some(blob) = IOPSCopyPowerSourcesInfo() else {
        return Vec::new();
    };
    // SAFETY: `blob` is the snapshot IOPSCopyPowerSourcesInfo returned, alive across the call; the
    // returned list is ours (Copy rule) and `CFRetained` releases it.
    let Some(list) = (unsafe { IOPSCopyPowerSourcesList(Some(&blob)) }) else {
        return Vec::new();
    };
    // SAFETY: the list holds CF objects (power-source handles, IOPowerSources.h).
    let list: &CFArray<CFType> = unsafe { list.cast_unchecked::<CFType>() };
    let name_key = CFString::from_static_str("Name");
    let mut seen: Vec<String> = Vec::new();
    let mut devices = Vec::new();
    for (i, handle) in list.iter().enumerate() {
        // SAFETY: `blob` and `handle` are the snapshot and one of its handles, both alive across the
        // call. The description belongs to `blob` (Get rule); the binding retains it, so it stays valid.
        let Some(description) =
            (unsafe { IOPSGetPowerSourceDescription(Some(&blob), Some(&handle)) })
        else {
            continue;
        };
        let name = description_name(&description, &name_key)
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| format!("source{i}"));
        let count = seen.iter().filter(|s| **s == name).count();
        seen.push(name.clone());
        let id = if count == 0 {
            format!("{IOPS_PREFIX}{name}")
        } else {
            format!("{IOPS_PREFIX}{name}-{}", count + 1)
        };
        if want.is_some_and(|w| w != id) {
            continue;
        }
        devices.push(RawDevice::new(
            Os::MacOs,
            id,
            dict_to_record(&description, 0),
        ));
        if want.is_some() {
            break;
        }
    }
    devices
}

/// A description's `Name` as text, the same as its record's `Name` would give, without converting
/// the rest of the description.
fn description_name(description: &CFDictionary, key: &CFString) -> Option<String> {
    // SAFETY: IOPS descriptions hold CF objects as keys and values (see `dict_to_record`).
    let description: &CFDictionary<CFType, CFType> =
        unsafe { description.cast_unchecked::<CFType, CFType>() };
    // SAFETY: the description belongs to powerd's snapshot, which nothing mutates while it is read.
    let value = unsafe { description.get_unchecked(key) }?;
    to_value(value, 1)?
        .as_text()
        .map(std::borrow::Cow::into_owned)
}

/// A CFDictionary with string keys as a record, keys sorted (as `ioreg -a` prints them) so that a
/// recording reads the same each time. Entries of types a record cannot hold are left out.
///
/// Every dictionary converted here is either made for this read (`IORegistryEntryCreateCFProperties`)
/// or part of powerd's immutable snapshot, so nothing mutates it while it is read: its keys, values and
/// string bytes are borrowed rather than retained one by one, and each Rust value is allocated once at
/// its final size.
fn dict_to_record(dict: &CFDictionary, depth: usize) -> Record {
    // SAFETY: registry property and IOPS dictionaries hold CF objects as keys and values (they are made
    // with the kCFType callbacks), so viewing both as CFType is sound.
    let dict: &CFDictionary<CFType, CFType> = unsafe { dict.cast_unchecked::<CFType, CFType>() };
    // SAFETY: nothing mutates the dictionary while the borrowed keys and values are alive (above).
    let (keys, values) = unsafe { dict.to_vecs_unchecked() };
    let mut entries: Vec<(String, Value)> = Vec::with_capacity(keys.len());
    for (key, value) in keys.into_iter().zip(values) {
        let Some(key) = key.downcast_ref::<CFString>() else {
            continue;
        };
        if let Some(value) = to_value(value, depth + 1) {
            entries.push((cf_string(key), value));
        }
    }
    // Keys of a dictionary are distinct, so an unstable sort gives the same order as a stable one.
    entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    entries.into_iter().collect()
}

/// A CFString as UTF-8 text (an invalid sequence becomes U+FFFD): ASCII strings, nearly all of a
/// battery's, are copied from CF's own buffer in one allocation.
fn cf_string(s: &CFString) -> String {
    // SAFETY: the string belongs to a dictionary nothing mutates while it is read (`dict_to_record`).
    if let Some(ascii) = unsafe { s.as_str_unchecked() } {
        return ascii.to_owned();
    }
    let mut text = String::with_capacity(usize::try_from(s.length()).unwrap_or(0));
    // Writing into a String cannot fail.
    let _ = write!(text, "{s}");
    text
}

/// One CF value as a raw value: CFNumber (integer or float), CFBoolean, CFString, CFData, and nested
/// CFArray / CFDictionary. Anything else (CFDate …) is left out. Numbers and strings, most of a
/// battery's values, are tried first.
fn to_value(object: &CFType, depth: usize) -> Option<Value> {
    if depth > MAX_DEPTH {
        return None;
    }
    if let Some(n) = object.downcast_ref::<CFNumber>() {
        // IOKit numbers are 64-bit; an unsigned value above i64::MAX keeps its bit pattern, as ioreg's
        // text form does when read back.
        return if n.is_float_type() {
            n.as_f64().map(Value::Float)
        } else {
            n.as_i64().map(Value::Int)
        };
    }
    if let Some(s) = object.downcast_ref::<CFString>() {
        return Some(Value::Str(cf_string(s)));
    }
    if let Some(b) = object.downcast_ref::<CFBoolean>() {
        return Some(Value::Bool(b.as_bool()));
    }
    if let Some(d) = object.downcast_ref::<CFDictionary>() {
        return Some(Value::Dict(dict_to_record(d, depth)));
    }
    if let Some(a) = object.downcast_ref::<CFArray>() {
        // SAFETY: as for dictionaries: property arrays hold CF objects.
        let a: &CFArray<CFType> = unsafe { a.cast_unchecked::<CFType>() };
        // SAFETY: nothing mutates the array while its items are borrowed (`dict_to_record`).
        let items = unsafe { a.iter_unchecked() };
        let mut values = Vec::with_capacity(items.len());
        values.extend(items.filter_map(|item| to_value(item, depth + 1)));
        return Some(Value::Array(values));
    }
    if let Some(d) = object.downcast_ref::<CFData>() {
        return Some(Value::Data(d.to_vec()));
    }
    None
}

// These run on macOS and iOS only (elsewhere they are type-checked by cross-compilation).
#[cfg(test)]
mod tests {
    use super::*;

    fn dict(pairs: &[(&str, &CFType)]) -> CFRetained<CFDictionary<CFString, CFType>> {
        let keys: Vec<CFRetained<CFString>> =
            pairs.iter().map(|(k, _)| CFString::from_str(k)).collect();
        let keys: Vec<&CFString> = keys.iter().map(|k| &**k).collect();
        let values: Vec<&CFType> = pairs.iter().map(|(_, v)| *v).collect();
        CFDictionary::from_slices(&keys, &values)
    }

    #[test]
    fn every_cf_type_converts_to_its_value_with_keys_sorted() {
        let serial = dict(&[("Serial", &CFString::from_str("F5D1"))]);
        let (a, b) = (CFNumber::new_i64(3800), CFNumber::new_i64(3801));
        let cells = CFArray::<CFType>::from_objects(&[&*a, &*b]);
        let properties = dict(&[
            ("Temperature", &CFNumber::new_f64(30.5)),
            ("Manufacturer", &CFString::from_str("Sämsung ✓")),
            ("IsCharging", CFBoolean::new(true)),
            ("DeviceName", &CFString::from_str("bq20z451")),
            ("Data", &CFData::from_bytes(&[1, 2, 3])),
            ("CellVoltage", &cells),
            ("BatteryData", &serial),
            ("Amperage", &CFNumber::new_i64(-721)),
        ]);
        let record = dict_to_record(AsRef::<CFDictionary>::as_ref(&*properties), 0);
        let expected: Record = [
            ("Amperage", Value::Int(-721)),
            (
                "BatteryData",
                Value::Dict(
                    [("Serial".to_owned(), Value::Str("F5D1".into()))]
                        .into_iter()
                        .collect(),
                ),
            ),
            (
                "CellVoltage",
                Value::Array(vec![Value::Int(3800), Value::Int(3801)]),
            ),
            ("Data", Value::Data(vec![1, 2, 3])),
            ("DeviceName", Value::Str("bq20z451".into())),
            ("IsCharging", Value::Bool(true)),
            ("Manufacturer", Value::Str("Sämsung ✓".into())),
            ("Temperature", Value::Float(30.5)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        assert_eq!(record, expected);
    }

    #[test]
    fn a_description_name_is_its_record_name() {
        let key = CFString::from_static_str("Name");
        let cases: [(&CFType, Option<&str>); 3] = [
            (&CFString::from_str(" UPS "), Some(" UPS ")),
            (&CFNumber::new_i64(5), Some("5")),
            (&CFData::from_bytes(b"x"), None),
        ];
        for (name, text) in cases {
            let description = dict(&[("Name", name)]);
            assert_eq!(
                description_name(AsRef::<CFDictionary>::as_ref(&*description), &key).as_deref(),
                text
            );
        }
        let nameless = dict(&[("Type", &CFString::from_str("UPS"))]);
        assert_eq!(
            description_name(AsRef::<CFDictionary>::as_ref(&*nameless), &key),
            None
        );
    }

    #[test]
    fn a_kept_entry_reads_the_device_a_walk_lists() {
        let reading = read_all().expect("read_all");
        let mut handles = Handles::default();
        for device in &reading.devices {
            for _ in 0..2 {
                let kept = read_kept(&mut handles, &device.id)
                    .expect("read_kept")
                    .expect("the device is still there");
                assert_eq!((kept.os, kept.id.as_str()), (device.os, device.id.as_str()));
            }
            let registry = !device.id.starts_with(IOPS_PREFIX);
            assert_eq!(
                handles.entries.iter().any(|(id, _)| *id == device.id),
                registry,
                "{}",
                device.id
            );
        }
        assert!(
            read_kept(&mut handles, "no such battery")
                .expect("read")
                .is_none()
        );
        assert!(
            read_one("IOPowerSources:no such source")
                .expect("read")
                .is_none()
        );
    }
}
