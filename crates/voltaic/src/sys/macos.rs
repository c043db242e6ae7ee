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
//! Every IOKit object is held by [`IoObject`] and every CoreFoundation object by `CFRetained`, both of
//! which release on drop, so no path leaks one.
#![allow(unsafe_code)]

use std::ffi::{CStr, c_char};
use std::ptr::{self, NonNull};

use objc2_core_foundation::{
    CFArray, CFBoolean, CFData, CFDictionary, CFMutableDictionary, CFNumber, CFRetained, CFString,
    CFType,
};
use objc2_io_kit::{
    IOIteratorNext, IOObjectRelease, IOPSCopyPowerSourcesInfo, IOPSCopyPowerSourcesList,
    IOPSGetPowerSourceDescription, IORegistryEntryCreateCFProperties, IORegistryEntryGetName,
    IOServiceGetMatchingServices, IOServiceMatching, io_iterator_t, io_object_t, kIOReturnSuccess,
};
use voltaic_core::decode::Skipped;
use voltaic_core::decode::macos::IOPS_PREFIX;
use voltaic_core::decode::macos::ioreg::DEFAULT_ENTRY;
use voltaic_core::record::{Os, RawDevice, Record, Value};

use super::Reading;
use crate::error::{Error, ErrorKind, Result};

pub(crate) const SUPPORTED: bool = true;

/// Deeper nesting than this is not a battery property (the registry nests three or four levels).
const MAX_DEPTH: usize = 32;

pub(crate) fn read_all() -> Result<Reading> {
    let (devices, unreadable) = registry()?;
    let mut reading = Reading {
        devices,
        unreadable,
    };
    reading.devices.extend(power_sources());
    Ok(reading)
}

pub(crate) fn read_one(id: &str) -> Result<Option<RawDevice>> {
    if id.starts_with(IOPS_PREFIX) {
        return Ok(power_sources().into_iter().find(|d| d.id == id));
    }
    let (devices, unreadable) = registry()?;
    if let Some(device) = devices.into_iter().find(|d| d.id == id) {
        return Ok(Some(device));
    }
    match unreadable.into_iter().find(|s| s.id == id) {
        Some(skipped) => Err(Error::new(
            ErrorKind::Io,
            format!("reading registry entry {id}: {}", skipped.reason),
        )),
        None => Ok(None),
    }
}

/// What this shell keeps between refreshes of one battery (nothing yet: each refresh reads afresh).
#[derive(Debug, Default)]
pub(crate) struct Handles;

/// Re-reads device `id` for `Manager::refresh`, through what `handles` keeps.
pub(crate) fn read_kept(_handles: &mut Handles, id: &str) -> Result<Option<RawDevice>> {
    read_one(id)
}

/// An IOKit object handle (`io_object_t`: service, iterator) that is released when dropped.
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
/// as the ioreg replay names them), and the entries whose properties could not be read.
fn registry() -> Result<(Vec<RawDevice>, Vec<Skipped>)> {
    let mut found = services(c"AppleSmartBattery")?;
    if found.is_empty() {
        // Older or other power-source drivers share the base class (IOPM.h).
        found = services(c"IOPMPowerSource")?;
    }
    let mut seen: Vec<String> = Vec::new();
    let mut devices = Vec::new();
    let mut unreadable = Vec::new();
    for (name, properties) in found {
        let base = name.unwrap_or_else(|| DEFAULT_ENTRY.to_owned());
        let count = seen.iter().filter(|s| **s == base).count();
        seen.push(base.clone());
        let id = if count == 0 {
            base
        } else {
            format!("{base}-{}", count + 1)
        };
        match properties {
            Ok(record) => devices.push(RawDevice::new(Os::MacOs, id, record)),
            Err(reason) => unreadable.push(Skipped::new(id, reason)),
        }
    }
    Ok((devices, unreadable))
}

type Entry = (Option<String>, std::result::Result<Record, String>);

/// Every registered service of `class` (or a subclass): its entry name and its properties.
fn services(class: &CStr) -> Result<Vec<Entry>> {
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
    while let Some(service) = IoObject::new(IOIteratorNext(iterator.0)) {
        entries.push((entry_name(&service), properties(&service)));
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
    let bytes: Vec<u8> = name.iter().map(|c| c.to_ne_bytes()[0]).collect();
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

/// Every IOPowerSources description: powerd's view of the internal battery, UPSes and accessories.
/// A failure here only loses those extras, so it yields nothing rather than an error.
fn power_sources() -> Vec<RawDevice> {
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
        let record = dict_to_record(&description, 0);
        let name = record
            .text("Name")
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
        devices.push(RawDevice::new(Os::MacOs, id, record));
    }
    devices
}

/// A CFDictionary with string keys as a record, keys sorted (as `ioreg -a` prints them) so that a
/// recording reads the same each time. Entries of types a record cannot hold are left out.
fn dict_to_record(dict: &CFDictionary, depth: usize) -> Record {
    // SAFETY: registry property and IOPS dictionaries hold CF objects as keys and values (they are made
    // with the kCFType callbacks), so viewing both as CFType is sound.
    let dict: &CFDictionary<CFType, CFType> = unsafe { dict.cast_unchecked::<CFType, CFType>() };
    let (keys, values) = dict.to_vecs();
    let mut entries: Vec<(String, Value)> = keys
        .iter()
        .zip(values.iter())
        .filter_map(|(key, value)| {
            let key = key.downcast_ref::<CFString>()?.to_string();
            Some((key, to_value(value, depth + 1)?))
        })
        .collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    entries.into_iter().collect()
}

/// One CF value as a raw value: CFNumber (integer or float), CFBoolean, CFString, CFData, and nested
/// CFArray / CFDictionary. Anything else (CFDate …) is left out.
fn to_value(object: &CFType, depth: usize) -> Option<Value> {
    if depth > MAX_DEPTH {
        return None;
    }
    if let Some(b) = object.downcast_ref::<CFBoolean>() {
        return Some(Value::Bool(b.as_bool()));
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
        return Some(Value::Str(s.to_string()));
    }
    if let Some(d) = object.downcast_ref::<CFData>() {
        return Some(Value::Data(d.to_vec()));
    }
    if let Some(a) = object.downcast_ref::<CFArray>() {
        // SAFETY: as for dictionaries: property arrays hold CF objects.
        let a: &CFArray<CFType> = unsafe { a.cast_unchecked::<CFType>() };
        return Some(Value::Array(
            a.iter()
                .filter_map(|item| to_value(&item, depth + 1))
                .collect(),
        ));
    }
    if let Some(d) = object.downcast_ref::<CFDictionary>() {
        return Some(Value::Dict(dict_to_record(d, depth)));
    }
    None
}
