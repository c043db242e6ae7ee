//! Windows shell: the battery class (one device per battery, read with IOCTLs) and the AC line.
//!
//! Lists the battery device interfaces with SetupAPI (`GUID_DEVCLASS_BATTERY`), opens each one and records
//! what `IOCTL_BATTERY_QUERY_TAG`, `IOCTL_BATTERY_QUERY_INFORMATION` and `IOCTL_BATTERY_QUERY_STATUS`
//! return, field by field, under the structures' own names ([`voltaic_core::decode::windows::key`]); the
//! AC line is one more device holding the `SYSTEM_POWER_STATUS` of `GetSystemPowerStatus`. Units,
//! sentinels and state are the decoder's business. Reading needs no privilege (MS docs "Enumerating
//! Battery Devices"; platforms.md 3.1).
//!
//! A battery's id is its interface's device path, so [`read_one`] reopens that very battery: the
//! `battery` and `starship-battery` crates reopened interface 0 on refresh, which reads the wrong pack
//! on two-battery ThinkPads. `Manager::refresh` goes through [`Handles`], which keeps the device open
//! with its tag, so that a steady refresh is one status query.

#![allow(unsafe_code)]

use std::ffi::c_void;
use std::mem::size_of;
use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle};
use std::path::Path;
use std::ptr;

use voltaic_core::decode::Skipped;
use voltaic_core::decode::windows::{AC_ID, key};
use voltaic_core::record::{Os, RawDevice, Record, Value};
use windows_sys::Win32::Devices::DeviceAndDriverInstallation::{
    DIGCF_DEVICEINTERFACE, DIGCF_PRESENT, GUID_DEVCLASS_BATTERY, HDEVINFO,
    SP_DEVICE_INTERFACE_DATA, SP_DEVICE_INTERFACE_DETAIL_DATA_W, SetupDiDestroyDeviceInfoList,
    SetupDiEnumDeviceInterfaces, SetupDiGetClassDevsW, SetupDiGetDeviceInterfaceDetailW,
};
use windows_sys::Win32::Foundation::{
    ERROR_DEVICE_NOT_CONNECTED, ERROR_FILE_NOT_FOUND, ERROR_INSUFFICIENT_BUFFER,
    ERROR_INVALID_NAME, ERROR_NO_MORE_ITEMS, ERROR_NO_SUCH_DEVICE, ERROR_PATH_NOT_FOUND,
    GENERIC_READ, GetLastError, INVALID_HANDLE_VALUE,
};
use windows_sys::Win32::Storage::FileSystem::{
    CreateFileW, FILE_ATTRIBUTE_NORMAL, FILE_SHARE_READ, FILE_SHARE_WRITE, OPEN_EXISTING,
};
use windows_sys::Win32::System::IO::DeviceIoControl;
use windows_sys::Win32::System::Power::{
    BATTERY_CHARGING, BATTERY_DISCHARGING, BATTERY_INFORMATION, BATTERY_MANUFACTURE_DATE,
    BATTERY_QUERY_INFORMATION, BATTERY_QUERY_INFORMATION_LEVEL, BATTERY_STATUS,
    BATTERY_WAIT_STATUS, BatteryDeviceName, BatteryEstimatedTime, BatteryInformation,
    BatteryManufactureDate, BatteryManufactureName, BatterySerialNumber, BatteryTemperature,
    BatteryUniqueID, GetSystemPowerStatus, IOCTL_BATTERY_QUERY_INFORMATION,
    IOCTL_BATTERY_QUERY_STATUS, IOCTL_BATTERY_QUERY_TAG, SYSTEM_POWER_STATUS,
};
use windows_sys::core::GUID;

use super::Reading;
use crate::error::{Error, ErrorKind, Result};

pub(crate) const SUPPORTED: bool = true;

/// The battery device class and interface GUID, {72631E54-78A4-11D0-BCF7-00AA00B7B32A} (one GUID serves as
/// both, MS docs "Enumerating Battery Devices"), in a static so the calls can take its address.
static BATTERY_CLASS: GUID = GUID_DEVCLASS_BATTERY;

/// The MS enumeration sample stops at 100 interfaces; no machine has that many batteries.
const MAX_INTERFACES: u32 = 100;

/// Consecutive failures of `SetupDiEnumDeviceInterfaces` after which the listing gives up (one failing
/// index does not end it, platforms.md 3.1; a broken device set would otherwise fill the report).
const MAX_ENUM_FAILURES: u32 = 4;

/// Room for one battery string level: `MAX_BATTERY_STRING_SIZE` is 128 (batclass.h); BatteryQuery and
/// the MS sample pass far more, as drivers have returned longer names.
const STRING_UNITS: usize = 512;

pub(crate) fn read_all() -> Result<Reading> {
    let mut reading = Reading::default();
    let set = DeviceInfoSet::batteries()?;
    let mut failures = 0;
    for index in 0..MAX_INTERFACES {
        match set.interface_path(index) {
            Ok(None) => break,
            Ok(Some(path)) => {
                failures = 0;
                let id = wide_to_string(&path);
                match read_battery(&path, &id) {
                    Ok(Some(device)) => reading.devices.push(device),
                    Ok(None) => reading.unreadable.push(Skipped::new(
                        id,
                        "the battery device went away while it was being listed",
                    )),
                    Err(e) => reading.unreadable.push(Skipped::new(id, e.to_string())),
                }
            }
            Err(code) => {
                reading.unreadable.push(Skipped::new(
                    format!("battery interface #{index}"),
                    format!("listing the battery interface failed: {}", os_error(code)),
                ));
                failures += 1;
                if failures >= MAX_ENUM_FAILURES {
                    break;
                }
            }
        }
    }
    match read_ac() {
        Ok(device) => reading.devices.push(device),
        Err(e) => reading.unreadable.push(Skipped::new(AC_ID, e.to_string())),
    }
    Ok(reading)
}

pub(crate) fn read_one(id: &str) -> Result<Option<RawDevice>> {
    if id == AC_ID {
        return read_ac().map(Some);
    }
    let path: Vec<u16> = id.encode_utf16().chain(std::iter::once(0)).collect();
    read_battery(&path, id)
}

/// At most this many batteries are kept open for refreshes (the least recently read goes first).
const MAX_KEPT: usize = 8;

/// What this shell keeps between refreshes: per battery (by id, its device path) the open device, the
/// tag of the pack in it and the record of the last full read.
///
/// A steady refresh is then one `IOCTL_BATTERY_QUERY_STATUS` with the kept tag (plus the estimated
/// time while discharging and the temperature, where the battery answered those levels): no tag query,
/// since the status query takes the tag and fails when it is stale. The static levels
/// (`BATTERY_INFORMATION`, names, serial, manufacture date) are kept: the battery class issues a new
/// tag whenever a pack is inserted and may issue one when normally static data changes, such as the
/// full-charge capacity after a charge (MS docs "Battery Information", "Battery Tags"). A stale tag makes
/// everything be read again on the same handle; any other failure drops the handle and opens the device
/// afresh, and a device that is gone (or holds no battery) is not kept.
#[derive(Debug, Default)]
pub(crate) struct Handles {
    kept: Vec<Kept>,
}

/// One battery kept open.
#[derive(Debug)]
struct Kept {
    id: String,
    device: Device,
    full: Full,
}

/// A battery read in full with a valid tag: what a steady refresh repeats only part of.
#[derive(Debug)]
struct Full {
    tag: u32,
    /// The whole record; a refresh overwrites the changing entries in place.
    record: Record,
    /// Whether the battery answered the `BatteryTemperature` level.
    temperature: bool,
    /// Whether the battery answered the `BatteryEstimatedTime` level.
    estimated_time: bool,
}

/// Re-reads device `id` for `Manager::refresh`, through what `handles` keeps (see [`Handles`]).
pub(crate) fn read_kept(handles: &mut Handles, id: &str) -> Result<Option<RawDevice>> {
    if id == AC_ID {
        // Nothing to keep: GetSystemPowerStatus is one call without a handle.
        return read_one(id);
    }
    if let Some(i) = handles.kept.iter().position(|k| k.id == id) {
        let mut kept = handles.kept.remove(i);
        match kept.refresh() {
            Ok(()) => {
                let device = RawDevice::new(Os::Windows, id, kept.full.record.clone());
                handles.kept.push(kept);
                return Ok(Some(device));
            }
            Err(ReadError::StaleTag) => match read_full(&kept.device, id)? {
                Read::Full(full) => {
                    kept.full = full;
                    let device = RawDevice::new(Os::Windows, id, kept.full.record.clone());
                    handles.kept.push(kept);
                    return Ok(Some(device));
                }
                // The slot is empty now, or its tag cannot be read: reported, not kept.
                Read::NoTag(record) => return Ok(Some(RawDevice::new(Os::Windows, id, record))),
            },
            // The handle no longer answers (the device may have gone): open the path afresh.
            Err(ReadError::Failed(..)) => {}
        }
    }
    let path: Vec<u16> = id.encode_utf16().chain(std::iter::once(0)).collect();
    let Some(device) = open_battery(&path, id)? else {
        return Ok(None);
    };
    match read_full(&device, id)? {
        Read::Full(full) => {
            let raw = RawDevice::new(Os::Windows, id, full.record.clone());
            if handles.kept.len() >= MAX_KEPT {
                handles.kept.remove(0);
            }
            handles.kept.push(Kept {
                id: id.to_owned(),
                device,
                full,
            });
            Ok(Some(raw))
        }
        Read::NoTag(record) => Ok(Some(RawDevice::new(Os::Windows, id, record))),
    }
}

impl Kept {
    /// The steady refresh: the status with the kept tag, and the changing levels the decoder uses.
    fn refresh(&mut self) -> std::result::Result<(), ReadError> {
        let (d, full) = (&self.device, &mut self.full);
        let status = d.query_status(full.tag)?;
        let r = &mut full.record;
        if full.temperature
            && let Some(t) = d.query_struct::<u32>(full.tag, BatteryTemperature)?
        {
            r.set(key::TEMPERATURE, int(t));
        }
        if full.estimated_time {
            // The decoder reads the estimate only while discharging; otherwise it is not asked for
            // and recorded as BATTERY_UNKNOWN_TIME. A battery that does not answer it while
            // discharging is not asked again until its next full read.
            let estimate = if discharging(&status) {
                let estimate = d.query_struct::<u32>(full.tag, BatteryEstimatedTime)?;
                full.estimated_time = estimate.is_some();
                estimate
            } else {
                None
            };
            r.set(key::ESTIMATED_TIME, int(estimate.unwrap_or(u32::MAX)));
        }
        set_status(r, &status);
        Ok(())
    }
}

/// The calling thread's last Win32 error.
fn last_error() -> u32 {
    // SAFETY: GetLastError only reads the calling thread's error slot.
    unsafe { GetLastError() }
}

fn os_error(code: u32) -> std::io::Error {
    std::io::Error::from_raw_os_error(i32::from_ne_bytes(code.to_ne_bytes()))
}

/// UTF-16 up to the first NUL, as text; unpaired surrogates become U+FFFD instead of failing.
fn wide_to_string(units: &[u16]) -> String {
    let end = units.iter().position(|&u| u == 0).unwrap_or(units.len());
    String::from_utf16_lossy(&units[..end])
}

/// The set of present battery interfaces, destroyed on drop.
struct DeviceInfoSet(HDEVINFO);

impl DeviceInfoSet {
    fn batteries() -> Result<DeviceInfoSet> {
        // SAFETY: the GUID is a static that outlives the call; a null enumerator and parent window are
        // documented as "none"; the flags are the documented DIGCF values.
        let set = unsafe {
            SetupDiGetClassDevsW(
                &raw const BATTERY_CLASS,
                ptr::null(),
                ptr::null_mut(),
                DIGCF_PRESENT | DIGCF_DEVICEINTERFACE,
            )
        };
        if set == INVALID_HANDLE_VALUE as HDEVINFO {
            return Err(Error::new(
                ErrorKind::Io,
                "listing the battery devices (SetupDiGetClassDevsW)",
            )
            .with_source(os_error(last_error())));
        }
        Ok(DeviceInfoSet(set))
    }

    /// The device path of interface `index` (NUL-terminated UTF-16); `Ok(None)` past the last one.
    fn interface_path(&self, index: u32) -> std::result::Result<Option<Vec<u16>>, u32> {
        let mut data = SP_DEVICE_INTERFACE_DATA {
            cbSize: size_of::<SP_DEVICE_INTERFACE_DATA>() as u32,
            ..Default::default()
        };
        // SAFETY: `self.0` is a live device set; `data` is a valid SP_DEVICE_INTERFACE_DATA with cbSize
        // set, the GUID a static; no device-info filter (null).
        let ok = unsafe {
            SetupDiEnumDeviceInterfaces(
                self.0,
                ptr::null(),
                &raw const BATTERY_CLASS,
                index,
                &raw mut data,
            )
        };
        if ok == 0 {
            return match last_error() {
                ERROR_NO_MORE_ITEMS => Ok(None),
                code => Err(code),
            };
        }
        // First call without a buffer: it fails with ERROR_INSUFFICIENT_BUFFER and gives the size.
        let mut required = 0u32;
        // SAFETY: a null detail buffer of size 0 is the documented way to ask for the size; `data` came
        // from SetupDiEnumDeviceInterfaces on this set.
        let ok = unsafe {
            SetupDiGetDeviceInterfaceDetailW(
                self.0,
                &raw const data,
                ptr::null_mut(),
                0,
                &raw mut required,
                ptr::null_mut(),
            )
        };
        if ok == 0 {
            let code = last_error();
            if code != ERROR_INSUFFICIENT_BUFFER {
                return Err(code);
            }
        }
        // cbSize is the size of the fixed part (8 on 64-bit, 6 on 32-bit), not of the buffer
        // (MS docs SP_DEVICE_INTERFACE_DETAIL_DATA_W). u32 words keep the buffer aligned for it.
        let header = size_of::<SP_DEVICE_INTERFACE_DETAIL_DATA_W>();
        let bytes = (required as usize).max(header);
        let mut buf = vec![0u32; bytes.div_ceil(4)];
        buf[0] = header as u32;
        // SAFETY: `buf` is at least `required` bytes, 4-aligned, and begins with cbSize; the size passed
        // is the buffer's real size, so SetupAPI writes inside it.
        let ok = unsafe {
            SetupDiGetDeviceInterfaceDetailW(
                self.0,
                &raw const data,
                buf.as_mut_ptr().cast::<SP_DEVICE_INTERFACE_DETAIL_DATA_W>(),
                (buf.len() * 4) as u32,
                ptr::null_mut(),
                ptr::null_mut(),
            )
        };
        if ok == 0 {
            return Err(last_error());
        }
        // DevicePath follows the 4-byte cbSize; NUL-terminated, but never read past the buffer.
        let mut path: Vec<u16> = buf
            .iter()
            .flat_map(|w| {
                let b = w.to_ne_bytes();
                [
                    u16::from_ne_bytes([b[0], b[1]]),
                    u16::from_ne_bytes([b[2], b[3]]),
                ]
            })
            .skip(2)
            .take_while(|&u| u != 0)
            .collect();
        path.push(0);
        Ok(Some(path))
    }
}

impl Drop for DeviceInfoSet {
    fn drop(&mut self) {
        // SAFETY: `self.0` came from SetupDiGetClassDevsW, is valid and is destroyed exactly once here.
        unsafe {
            SetupDiDestroyDeviceInfoList(self.0);
        }
    }
}

/// An open battery device, closed on drop. `OwnedHandle` makes it `Send` (a kernel handle is not tied
/// to the thread that opened it), which `Handles` needs: a `Manager` is shared between threads.
#[derive(Debug)]
struct Device(OwnedHandle);

/// Why a tagged read stopped.
enum ReadError {
    /// The tag no longer names the battery in the slot (it was swapped or re-seated).
    StaleTag,
    /// An IOCTL failed with this Win32 error.
    Failed(&'static str, u32),
}

/// `STATUS_NO_SUCH_DEVICE`, the battery class's answer to a stale tag, reaches user mode as
/// `ERROR_FILE_NOT_FOUND` (MS docs IOCTL_BATTERY_QUERY_STATUS: the tag must match the battery's
/// current tag); `ERROR_NO_SUCH_DEVICE` is taken the same way.
fn is_stale(code: u32) -> bool {
    code == ERROR_FILE_NOT_FOUND || code == ERROR_NO_SUCH_DEVICE
}

impl Device {
    /// Opens the device at `path` (NUL-terminated UTF-16). Read access is enough: the query IOCTLs are
    /// FILE_READ_ACCESS codes (0x2940xx), so no write access is asked for.
    fn open(path: &[u16]) -> std::result::Result<Device, u32> {
        if path.last() != Some(&0) {
            return Err(ERROR_INVALID_NAME);
        }
        // SAFETY: `path` is NUL-terminated and outlives the call; null security attributes and
        // template are documented as "none".
        let handle = unsafe {
            CreateFileW(
                path.as_ptr(),
                GENERIC_READ,
                FILE_SHARE_READ | FILE_SHARE_WRITE,
                ptr::null(),
                OPEN_EXISTING,
                FILE_ATTRIBUTE_NORMAL,
                ptr::null_mut(),
            )
        };
        if handle == INVALID_HANDLE_VALUE || handle.is_null() {
            return Err(last_error());
        }
        // SAFETY: CreateFileW returned a valid handle that nothing else owns; it is closed once, when
        // the OwnedHandle drops.
        Ok(Device(unsafe { OwnedHandle::from_raw_handle(handle) }))
    }

    /// One `DeviceIoControl` with plain-data input and output; the bytes written on success.
    fn ioctl<I: Copy, O: Copy>(
        &self,
        code: u32,
        input: &I,
        output: &mut O,
    ) -> std::result::Result<usize, u32> {
        let mut returned = 0u32;
        // SAFETY: the handle is open; input and output point to live `Copy` (plain-data) values whose
        // exact sizes are passed, so the driver reads and writes inside them; synchronous (no OVERLAPPED).
        let ok = unsafe {
            DeviceIoControl(
                self.0.as_raw_handle(),
                code,
                ptr::from_ref(input).cast::<c_void>(),
                size_of::<I>() as u32,
                ptr::from_mut(output).cast::<c_void>(),
                size_of::<O>() as u32,
                &raw mut returned,
                ptr::null_mut(),
            )
        };
        if ok == 0 {
            return Err(last_error());
        }
        Ok((returned as usize).min(size_of::<O>()))
    }

    /// `IOCTL_BATTERY_QUERY_TAG` with a 0 ms wait: answer at once, do not wait for a battery.
    fn query_tag(&self) -> std::result::Result<u32, u32> {
        let wait = 0u32;
        let mut tag = 0u32;
        self.ioctl(IOCTL_BATTERY_QUERY_TAG, &wait, &mut tag)?;
        Ok(tag)
    }

    /// One `IOCTL_BATTERY_QUERY_INFORMATION` level into `output`; `Ok(None)` when the level is not
    /// supported (ERROR_INVALID_FUNCTION, ERROR_NOT_SUPPORTED…) or came back short: the value is absent.
    fn query_info<O: Copy>(
        &self,
        tag: u32,
        level: BATTERY_QUERY_INFORMATION_LEVEL,
        output: &mut O,
    ) -> std::result::Result<Option<usize>, ReadError> {
        let query = BATTERY_QUERY_INFORMATION {
            BatteryTag: tag,
            InformationLevel: level,
            AtRate: 0,
        };
        match self.ioctl(IOCTL_BATTERY_QUERY_INFORMATION, &query, output) {
            Ok(n) => Ok(Some(n)),
            Err(code) if is_stale(code) => Err(ReadError::StaleTag),
            Err(_) => Ok(None),
        }
    }

    /// A fixed-size level, only when the driver filled all of it.
    fn query_struct<O: Copy + Default>(
        &self,
        tag: u32,
        level: BATTERY_QUERY_INFORMATION_LEVEL,
    ) -> std::result::Result<Option<O>, ReadError> {
        let mut out = O::default();
        let filled = self.query_info(tag, level, &mut out)?;
        Ok(filled.filter(|n| *n >= size_of::<O>()).map(|_| out))
    }

    /// A string level (WCHARs, NUL-terminated or sized by the bytes returned).
    fn query_string(
        &self,
        tag: u32,
        level: BATTERY_QUERY_INFORMATION_LEVEL,
    ) -> std::result::Result<Option<String>, ReadError> {
        let mut buf = [0u16; STRING_UNITS];
        let filled = self.query_info(tag, level, &mut buf)?;
        Ok(filled.map(|bytes| wide_to_string(&buf[..(bytes / 2).min(STRING_UNITS)])))
    }

    /// `IOCTL_BATTERY_QUERY_STATUS` with a 0 ms timeout: the status now, without waiting for a change.
    fn query_status(&self, tag: u32) -> std::result::Result<BATTERY_STATUS, ReadError> {
        let wait = BATTERY_WAIT_STATUS {
            BatteryTag: tag,
            ..Default::default()
        };
        let mut status = BATTERY_STATUS::default();
        match self.ioctl(IOCTL_BATTERY_QUERY_STATUS, &wait, &mut status) {
            Ok(n) if n >= size_of::<BATTERY_STATUS>() => Ok(status),
            Ok(_) => Err(ReadError::Failed(
                "IOCTL_BATTERY_QUERY_STATUS returned too little",
                0,
            )),
            Err(code) if is_stale(code) => Err(ReadError::StaleTag),
            Err(code) => Err(ReadError::Failed("IOCTL_BATTERY_QUERY_STATUS", code)),
        }
    }
}

fn int(v: impl Into<i64>) -> Value {
    Value::Int(v.into())
}

/// Opens the battery device at `path`; `Ok(None)` when the device path no longer exists.
fn open_battery(path: &[u16], id: &str) -> Result<Option<Device>> {
    match Device::open(path) {
        Ok(d) => Ok(Some(d)),
        Err(
            ERROR_FILE_NOT_FOUND
            | ERROR_PATH_NOT_FOUND
            | ERROR_NO_SUCH_DEVICE
            | ERROR_DEVICE_NOT_CONNECTED
            | ERROR_INVALID_NAME,
        ) => Ok(None),
        Err(code) => Err(Error::io(
            "opening the battery device",
            Path::new(id),
            os_error(code),
        )),
    }
}

/// Opens and reads one battery; `Ok(None)` when the device path no longer exists.
fn read_battery(path: &[u16], id: &str) -> Result<Option<RawDevice>> {
    let Some(device) = open_battery(path, id)? else {
        return Ok(None);
    };
    let record = match read_full(&device, id)? {
        Read::Full(full) => full.record,
        Read::NoTag(record) => record,
    };
    Ok(Some(RawDevice::new(Os::Windows, id, record)))
}

/// What a full read of an open battery device gave.
enum Read {
    /// A battery with a valid tag, read in full.
    Full(Full),
    /// No battery to read: the tag query failed (its error recorded) or answered 0.
    NoTag(Record),
}

/// Reads the tag, every information level and the status of an open battery device.
fn read_full(device: &Device, id: &str) -> Result<Read> {
    // A swapped or re-seated battery gets a new tag and every IOCTL with the old one fails: query the
    // tag again, once (MS docs IOCTL_BATTERY_QUERY_TAG).
    for _ in 0..2 {
        let mut record = Record::new();
        let tag = match device.query_tag() {
            Ok(tag) => tag,
            Err(code) => {
                record.push(key::TAG_ERROR, int(code));
                return Ok(Read::NoTag(record));
            }
        };
        record.push(key::TAG, int(tag));
        if tag == 0 {
            // BATTERY_TAG_INVALID: no battery in this slot; nothing else can be asked.
            return Ok(Read::NoTag(record));
        }
        match read_tagged(device, tag, &mut record) {
            Ok((temperature, estimated_time)) => {
                return Ok(Read::Full(Full {
                    tag,
                    record,
                    temperature,
                    estimated_time,
                }));
            }
            Err(ReadError::StaleTag) => {}
            Err(ReadError::Failed(what, code)) => {
                return Err(Error::io(what, Path::new(id), os_error(code)));
            }
        }
    }
    Err(Error::new(
        ErrorKind::DeviceGone,
        "the battery's tag changed twice while it was being read (battery swapped?)",
    )
    .with_path(id))
}

/// The `BATTERY_STATUS` fields, set in `r` (replacing the previous reading's).
fn set_status(r: &mut Record, status: &BATTERY_STATUS) {
    r.set(key::POWER_STATE, int(status.PowerState));
    r.set(key::CAPACITY, int(status.Capacity));
    r.set(key::VOLTAGE, int(status.Voltage));
    r.set(key::RATE, int(status.Rate));
}

/// Every information level and the status, for `tag`, into `r` (levels a driver lacks are left out).
/// Also says whether the temperature and estimated-time levels answered (a refresh asks only those).
fn read_tagged(
    d: &Device,
    tag: u32,
    r: &mut Record,
) -> std::result::Result<(bool, bool), ReadError> {
    if let Some(info) = d.query_struct::<BATTERY_INFORMATION>(tag, BatteryInformation)? {
        r.push(key::CAPABILITIES, int(info.Capabilities));
        r.push(key::TECHNOLOGY, int(info.Technology));
        // Four ASCII bytes, not NUL-terminated: one char per byte keeps them all, never fails.
        let chemistry: String = info.Chemistry.iter().map(|&b| char::from(b)).collect();
        r.push(key::CHEMISTRY, Value::Str(chemistry));
        r.push(key::DESIGNED_CAPACITY, int(info.DesignedCapacity));
        r.push(key::FULL_CHARGED_CAPACITY, int(info.FullChargedCapacity));
        r.push(key::DEFAULT_ALERT1, int(info.DefaultAlert1));
        r.push(key::DEFAULT_ALERT2, int(info.DefaultAlert2));
        r.push(key::CRITICAL_BIAS, int(info.CriticalBias));
        r.push(key::CYCLE_COUNT, int(info.CycleCount));
    }
    for (level, name) in [
        (BatteryDeviceName, key::DEVICE_NAME),
        (BatteryManufactureName, key::MANUFACTURE_NAME),
        (BatterySerialNumber, key::SERIAL_NUMBER),
        (BatteryUniqueID, key::UNIQUE_ID),
    ] {
        if let Some(text) = d.query_string(tag, level)? {
            r.push(name, Value::Str(text));
        }
    }
    if let Some(date) = d.query_struct::<BATTERY_MANUFACTURE_DATE>(tag, BatteryManufactureDate)? {
        r.push(key::MANUFACTURE_DAY, int(date.Day));
        r.push(key::MANUFACTURE_MONTH, int(date.Month));
        r.push(key::MANUFACTURE_YEAR, int(date.Year));
    }
    let temperature = d.query_struct::<u32>(tag, BatteryTemperature)?;
    if let Some(t) = temperature {
        r.push(key::TEMPERATURE, int(t));
    }
    // AtRate 0: the estimate at the present rate.
    let estimate = d.query_struct::<u32>(tag, BatteryEstimatedTime)?;
    if let Some(s) = estimate {
        r.push(key::ESTIMATED_TIME, int(s));
    }
    let status = d.query_status(tag)?;
    set_status(r, &status);
    // A driver may answer the estimate only while discharging: unless it was asked then and failed,
    // a refresh asks again.
    Ok((
        temperature.is_some(),
        estimate.is_some() || !discharging(&status),
    ))
}

/// Whether the decoder will call this status discharging (the estimated time is used only then).
fn discharging(status: &BATTERY_STATUS) -> bool {
    status.PowerState & BATTERY_DISCHARGING != 0 && status.PowerState & BATTERY_CHARGING == 0
}

/// The AC line: `GetSystemPowerStatus`, every field as returned.
fn read_ac() -> Result<RawDevice> {
    let mut status = SYSTEM_POWER_STATUS::default();
    // SAFETY: `status` is a valid, writable SYSTEM_POWER_STATUS.
    if unsafe { GetSystemPowerStatus(&raw mut status) } == 0 {
        return Err(Error::new(
            ErrorKind::Io,
            "reading the AC line status (GetSystemPowerStatus)",
        )
        .with_source(os_error(last_error())));
    }
    let mut r = Record::new();
    r.push(key::AC_LINE_STATUS, int(status.ACLineStatus));
    r.push(key::BATTERY_FLAG, int(status.BatteryFlag));
    r.push(key::BATTERY_LIFE_PERCENT, int(status.BatteryLifePercent));
    r.push(key::SYSTEM_STATUS_FLAG, int(status.SystemStatusFlag));
    r.push(key::BATTERY_LIFE_TIME, int(status.BatteryLifeTime));
    r.push(key::BATTERY_FULL_LIFE_TIME, int(status.BatteryFullLifeTime));
    Ok(RawDevice::new(Os::Windows, AC_ID, r))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lists this machine (under Wine in CI: usually no battery device at all) without an error or a
    /// panic, re-reads every device by its id, and decodes the lot.
    #[test]
    fn enumerating_this_system_neither_fails_nor_panics() {
        let reading = read_all().expect("listing this machine's batteries");
        println!("{}", voltaic_core::record::print(&reading.devices));
        for skip in &reading.unreadable {
            println!("unreadable {}: {}", skip.id, skip.reason);
        }
        assert!(
            reading.devices.iter().any(|d| d.id == AC_ID)
                || reading.unreadable.iter().any(|s| s.id == AC_ID),
            "the AC line is always reported"
        );
        let mut handles = Handles::default();
        for device in &reading.devices {
            let again = read_one(&device.id).expect("re-reading a listed device");
            assert!(again.is_some_and(|d| d.id == device.id), "{}", device.id);
            // The first kept read opens and reads in full, the second is the steady refresh.
            for _ in 0..2 {
                let kept = read_kept(&mut handles, &device.id).expect("a kept re-read");
                assert!(kept.is_some_and(|d| d.id == device.id), "{}", device.id);
            }
        }
        let decoded = voltaic_core::decode::decode(&reading.devices);
        println!("{decoded:#?}");
        let snapshot = crate::Manager::new()
            .and_then(|m| m.snapshot())
            .expect("a snapshot of this machine");
        assert_eq!(snapshot.power_sources.len(), decoded.power_sources.len());
    }

    #[test]
    fn a_path_that_does_not_exist_is_gone_not_an_error() {
        let gone = read_one(r"\\?\acpi#pnp0c0a#99#{72631e54-78a4-11d0-bcf7-00aa00b7b32a}");
        assert!(matches!(gone, Ok(None)), "{gone:?}");
        assert!(matches!(read_one("not a path"), Ok(None)));
    }

    #[test]
    fn handles_are_send_and_a_kept_device_that_stops_answering_is_dropped() {
        fn send<T: Send>() {}
        send::<Handles>();

        let gone = r"\\?\acpi#pnp0c0a#98#{72631e54-78a4-11d0-bcf7-00aa00b7b32a}";
        let mut handles = Handles::default();
        assert!(matches!(read_kept(&mut handles, gone), Ok(None)));
        assert!(
            handles.kept.is_empty(),
            "nothing is kept for a path that does not exist"
        );

        // A kept handle whose device no longer answers battery IOCTLs (here: a plain file, which
        // Wine and Windows both refuse them on) and whose path has gone: the refresh drops it.
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("not-a-battery");
        std::fs::write(&file, b"x").expect("write");
        let wide: Vec<u16> = file
            .to_string_lossy()
            .encode_utf16()
            .chain(std::iter::once(0))
            .collect();
        let device = Device::open(&wide).expect("opening a plain file");
        assert!(device.query_status(1).is_err(), "a file is no battery");
        let mut record = Record::new();
        record.push(key::TAG, int(1));
        handles.kept.push(Kept {
            id: gone.to_owned(),
            device,
            full: Full {
                tag: 1,
                record,
                temperature: false,
                estimated_time: false,
            },
        });
        match read_kept(&mut handles, gone).expect("a refresh that finds the device gone") {
            None => {}
            // A refusal read as a stale tag: the tag query on the same handle fails, and is recorded.
            Some(d) => assert!(d.record.contains(key::TAG_ERROR), "{d:?}"),
        }
        assert!(
            handles.kept.is_empty(),
            "the handle of a gone device is dropped"
        );
        let _ac = read_kept(&mut handles, AC_ID);
        assert!(
            handles.kept.is_empty(),
            "the AC line is read afresh, never kept"
        );
    }

    #[test]
    fn wide_strings_stop_at_nul_and_survive_bad_utf16() {
        assert_eq!(wide_to_string(&[0x41, 0x42, 0, 0x43]), "AB");
        assert_eq!(wide_to_string(&[0xD800, 0x41]), "\u{FFFD}A");
        assert_eq!(wide_to_string(&[]), "");
    }
}
