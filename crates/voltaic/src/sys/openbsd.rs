#![allow(unsafe_code)]
//! OpenBSD shell: `hw.sensors` through sysctl(2), the apm(4) power ioctl, and the `hw.power` /
//! `hw.battery.*` sysctls.
//!
//! Sensor devices are walked by number with MIB `{CTL_HW, HW_SENSORS, dev}` (`ENXIO` = a hole, `ENOENT` =
//! the end, as sysctl(8) does); each power device (see `Sensordev::is_power_device`) has its sensors
//! read with `{CTL_HW, HW_SENSORS, dev, type, numt}`. `struct sensordev` grows with `SENSOR_MAX_TYPES`
//! from release to release (`sys/sys/sensors.h`), and `struct sensor` may grow at its end, so both are
//! read into buffers larger than any release's and sized by the length the kernel returns. Nothing
//! here needs privilege; `/dev/apm` is opened read-only and skipped when it cannot be.

use std::ffi::{c_char, c_int, c_uint, c_ulong, c_void};
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

use voltaic_core::decode::openbsd::{APM, Sensordev, sensor_type_name};
use voltaic_core::record::{Os, RawDevice, Record, Value};

use super::Reading;
use crate::error::{Error, ErrorKind, Result};

pub(crate) const SUPPORTED: bool = true;

// `sys/sys/sysctl.h`.
const CTL_HW: c_int = 6;
const HW_SENSORS: c_int = 11;
const HW_POWER: c_int = 26;
const HW_BATTERY: c_int = 27;
const HW_BATTERY_CHARGEMODE: c_int = 1;
const HW_BATTERY_CHARGESTART: c_int = 2;
const HW_BATTERY_CHARGESTOP: c_int = 3;
const _: () = assert!(CTL_HW == libc::CTL_HW);

/// More sensor devices than this and the walk stops (a machine has a few dozen).
const MAX_SENSORDEVS: c_int = 1024;

/// The common start of `struct sensor` in every release (`sys/sys/sensors.h`): later releases append
/// fields (a `char string[32]`), which the larger read buffer absorbs.
#[repr(C)]
#[derive(Clone, Copy)]
struct SensorPrefix {
    desc: [c_char; 32],
    tv: libc::timeval,
    value: i64,
    kind: c_int,
    status: c_int,
    numt: c_int,
    flags: c_int,
}

/// `struct apm_power_info` (`machine/apmvar.h`).
#[repr(C)]
#[derive(Clone, Copy)]
struct ApmPowerInfo {
    battery_state: u8,
    ac_state: u8,
    battery_life: u8,
    spare1: u8,
    minutes_left: c_uint,
    spare2: [c_uint; 6],
}

// ioctl encoding, `sys/sys/ioccom.h`: direction bits, 13-bit size at bit 16, group, number.
const IOC_OUT: u64 = 0x4000_0000;
const IOCPARM_MASK: u64 = 0x1fff;
const fn ioc(inout: u64, group: u8, num: u8, len: usize) -> c_ulong {
    (inout | ((len as u64 & IOCPARM_MASK) << 16) | ((group as u64) << 8) | num as u64) as c_ulong
}
/// `APM_IOC_GETPOWER`: `_IOR('A', 3, struct apm_power_info)`.
const APM_IOC_GETPOWER: c_ulong = ioc(IOC_OUT, b'A', 3, size_of::<ApmPowerInfo>());
const _: () = assert!(size_of::<ApmPowerInfo>() == 32);
const _: () = assert!(APM_IOC_GETPOWER == 0x4020_4103);

const APM_DEV: &str = "/dev/apm";

/// sysctl(2) into `buf`; the length the kernel returned, or the errno.
fn sysctl(mib: &[c_int], buf: &mut [u64]) -> io::Result<usize> {
    let mut len = std::mem::size_of_val(buf);
    // SAFETY: `mib` and `buf` are valid for their lengths for the whole call; `len` tells the kernel how
    // many bytes `buf` holds and receives how many it wrote; nothing is written to the kernel.
    let rc = unsafe {
        libc::sysctl(
            mib.as_ptr(),
            mib.len() as c_uint,
            buf.as_mut_ptr().cast::<c_void>(),
            &raw mut len,
            std::ptr::null_mut(),
            0,
        )
    };
    if rc == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(len.min(std::mem::size_of_val(buf)))
    }
}

fn sysctl_int(mib: &[c_int]) -> Option<i64> {
    let mut buf = [0u64; 1];
    let len = sysctl(mib, &mut buf).ok()?;
    (len == size_of::<c_int>()).then(|| {
        let bytes = buf[0].to_ne_bytes();
        i64::from(c_int::from_ne_bytes([
            bytes[0], bytes[1], bytes[2], bytes[3],
        ]))
    })
}

/// The first `len` bytes of `buf`, copied into `out` (on the stack: no allocation).
fn bytes<'a>(buf: &[u64], len: usize, out: &'a mut [u8; 512]) -> &'a [u8] {
    for (chunk, word) in out.chunks_exact_mut(8).zip(buf) {
        chunk.copy_from_slice(&word.to_ne_bytes());
    }
    &out[..len.min(out.len())]
}

/// Sensor device `dev`: `Ok(None)` for a hole (ENXIO), `Err` with ENOENT past the last one.
fn sensordev(dev: c_int) -> io::Result<Option<Sensordev>> {
    let mut buf = [0u64; 64];
    let mut out = [0u8; 512];
    match sysctl(&[CTL_HW, HW_SENSORS, dev], &mut buf) {
        Ok(len) => Ok(Sensordev::parse(bytes(&buf, len, &mut out))),
        Err(e) if e.raw_os_error() == Some(libc::ENXIO) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Every sensor of a device, as record entries named like sysctl(8) names them.
fn read_sensors(sd: &Sensordev) -> Record {
    let mut r = Record::new();
    for (t, count) in sd.maxnumt.iter().enumerate() {
        let Ok(kind) = c_int::try_from(t) else { break };
        for numt in 0..(*count).clamp(0, 256) {
            let mut buf = [0u64; 32];
            let Ok(len) = sysctl(&[CTL_HW, HW_SENSORS, sd.num, kind, numt], &mut buf) else {
                continue;
            };
            if len < size_of::<SensorPrefix>() {
                continue;
            }
            // SAFETY: the buffer is 8-byte aligned, at least `size_of::<SensorPrefix>()` bytes of it were
            // written by the kernel, and every bit pattern is valid for the prefix's integer fields.
            let s: SensorPrefix = unsafe { std::ptr::read(buf.as_ptr().cast::<SensorPrefix>()) };
            let mut desc = [0u8; 32];
            for (b, c) in desc.iter_mut().zip(&s.desc) {
                *b = c.to_ne_bytes()[0];
            }
            let end = desc.iter().position(|b| *b == 0).unwrap_or(desc.len());
            let mut d = Record::new();
            d.push(
                "desc",
                Value::Str(String::from_utf8_lossy(&desc[..end]).into_owned()),
            );
            d.push("value", Value::Int(s.value));
            d.push("status", Value::Int(i64::from(s.status)));
            d.push("flags", Value::Int(i64::from(s.flags)));
            let key = match sensor_type_name(t) {
                Some(name) => format!("{name}{numt}"),
                None => format!("type{t}_{numt}"),
            };
            r.push(key, Value::Dict(d));
        }
    }
    r
}

/// Walks the sensor devices and reads the power-related ones, or only the one named `only` (the walk
/// then stops there). Each device read is also remembered in `seen` (its name and sensor device
/// number).
fn walk(only: Option<&str>, seen: &mut Vec<(String, c_int)>) -> Result<Vec<RawDevice>> {
    let mut out = Vec::new();
    for dev in 0..MAX_SENSORDEVS {
        match sensordev(dev) {
            Ok(Some(sd)) if sd.is_power_device() && only.is_none_or(|name| sd.xname == name) => {
                let record = read_sensors(&sd);
                remember(seen, &sd.xname, sd.num);
                out.push(RawDevice::new(Os::OpenBsd, sd.xname, record));
                if only.is_some() {
                    break;
                }
            }
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => break,
            Err(e) => {
                return Err(Error::new(
                    ErrorKind::Io,
                    format!("reading sensor device {dev} (hw.sensors)"),
                )
                .with_source(e));
            }
        }
    }
    Ok(out)
}

/// Keeps `name` → sensor device number `num` in `seen` (replacing an older number).
fn remember(seen: &mut Vec<(String, c_int)>, name: &str, num: c_int) {
    if let Some(entry) = seen.iter_mut().find(|(n, _)| n == name) {
        entry.1 = num;
    } else if seen.len() < 64 {
        // A machine has a handful of power devices; the bound keeps a changing one from growing this.
        seen.push((name.to_owned(), num));
    }
}

/// The machine-wide record: apm's power info and the `hw.power` / `hw.battery` sysctls that exist.
fn apm_record(apm: &mut Option<File>) -> Option<Record> {
    let mut r = Record::new();
    if let Some(info) = apm_power(apm) {
        r.push("battery_state", Value::Int(i64::from(info.battery_state)));
        r.push("ac_state", Value::Int(i64::from(info.ac_state)));
        r.push("battery_life", Value::Int(i64::from(info.battery_life)));
        r.push("minutes_left", Value::Int(i64::from(info.minutes_left)));
    }
    if let Some(v) = sysctl_int(&[CTL_HW, HW_POWER]) {
        r.push("hw.power", Value::Int(v));
    }
    for (name, leaf) in [
        ("hw.battery.chargemode", HW_BATTERY_CHARGEMODE),
        ("hw.battery.chargestart", HW_BATTERY_CHARGESTART),
        ("hw.battery.chargestop", HW_BATTERY_CHARGESTOP),
    ] {
        if let Some(v) = sysctl_int(&[CTL_HW, HW_BATTERY, leaf]) {
            r.push(name, Value::Int(v));
        }
    }
    (!r.is_empty()).then_some(r)
}

/// `APM_IOC_GETPOWER` on `/dev/apm` (read-only, opened once and kept in `apm`); `None` when there is no
/// apm device or no access.
fn apm_power(apm: &mut Option<File>) -> Option<ApmPowerInfo> {
    if apm.is_none() {
        *apm = File::open(APM_DEV).ok();
    }
    let file = apm.as_ref()?;
    let mut info = ApmPowerInfo {
        battery_state: 0,
        ac_state: 0,
        battery_life: 0,
        spare1: 0,
        minutes_left: 0,
        spare2: [0; 6],
    };
    // SAFETY: GET_POWER writes one `struct apm_power_info` (its size is in the command) into `info`,
    // which lives for the call; the descriptor is open (closed by `File` when dropped).
    let rc = unsafe { libc::ioctl(file.as_raw_fd(), APM_IOC_GETPOWER, &raw mut info) };
    if rc != 0 {
        // Open again next time (the device may have gone with a suspend/resume of the driver).
        *apm = None;
        return None;
    }
    Some(info)
}

/// The `hw.battery` leaf named `name` (`hw.battery.chargestart`, …).
fn battery_leaf(name: &str) -> Option<c_int> {
    match name {
        "hw.battery.chargemode" => Some(HW_BATTERY_CHARGEMODE),
        "hw.battery.chargestart" => Some(HW_BATTERY_CHARGESTART),
        "hw.battery.chargestop" => Some(HW_BATTERY_CHARGESTOP),
        _ => None,
    }
}

/// Reads one `hw.battery.*` sysctl; `None` when it does not exist (no driver offers it).
pub(crate) fn read_battery_sysctl(name: &str) -> Option<i64> {
    sysctl_int(&[CTL_HW, HW_BATTERY, battery_leaf(name)?])
}

/// Sets one `hw.battery.*` sysctl (root only). The errno comes back as it is: EPERM without privilege,
/// EINVAL for a value the kernel refuses, EOPNOTSUPP/ENOENT when no driver offers it (sysctl(2)).
pub(crate) fn write_battery_sysctl(name: &str, value: i32) -> io::Result<()> {
    let leaf = battery_leaf(name).ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
    let mib = [CTL_HW, HW_BATTERY, leaf];
    let mut new: c_int = value;
    // SAFETY: `mib` is valid for its length; `new` is one int the kernel only reads, for the size given;
    // no old value is asked for (null pointer and length pointer).
    let rc = unsafe {
        libc::sysctl(
            mib.as_ptr(),
            mib.len() as c_uint,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            (&raw mut new).cast::<c_void>(),
            size_of::<c_int>(),
        )
    };
    if rc == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

pub(crate) fn read_all() -> Result<Reading> {
    let mut seen = Vec::new();
    let mut reading = Reading {
        devices: walk(None, &mut seen)?,
        unreadable: Vec::new(),
    };
    if let Some(r) = apm_record(&mut None) {
        reading.devices.push(RawDevice::new(Os::OpenBsd, APM, r));
    }
    Ok(reading)
}

/// What this shell keeps between refreshes: the sensor device number of each battery and adapter
/// read (`hw.sensors.N`), and `/dev/apm`, open.
///
/// A refresh reads the remembered number's `struct sensordev` (one sysctl) and checks that the name
/// there is still the device's: sensor device numbers are handed out in attach order
/// (`sensordev_install` in `sys/kern/kern_sensors.c`) and a number can be taken by another device
/// after a detach, so only a matching name is trusted; otherwise the devices are walked again, as on
/// the first read. The sensors are then read by type and index as `maxnumt` lists them.
#[derive(Debug, Default)]
pub(crate) struct Handles {
    sensordevs: Vec<(String, c_int)>,
    apm: Option<File>,
}

/// Re-reads device `id` for `Manager::refresh`, through what `handles` keeps.
pub(crate) fn read_kept(handles: &mut Handles, id: &str) -> Result<Option<RawDevice>> {
    if id == APM {
        return Ok(apm_record(&mut handles.apm).map(|r| RawDevice::new(Os::OpenBsd, APM, r)));
    }
    if let Some(&(_, num)) = handles.sensordevs.iter().find(|(n, _)| n == id) {
        match sensordev(num) {
            Ok(Some(sd)) if sd.xname == id && sd.is_power_device() => {
                let record = read_sensors(&sd);
                return Ok(Some(RawDevice::new(Os::OpenBsd, sd.xname, record)));
            }
            // Gone, replaced by another device, or unreadable: forget the number and walk.
            _ => handles.sensordevs.retain(|(n, _)| n != id),
        }
    }
    Ok(walk(Some(id), &mut handles.sensordevs)?.into_iter().next())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembered_numbers_are_replaced_and_bounded() {
        let mut seen = Vec::new();
        remember(&mut seen, "acpibat0", 3);
        remember(&mut seen, "acpiac0", 2);
        remember(&mut seen, "acpibat0", 7);
        assert_eq!(
            seen,
            [("acpibat0".to_owned(), 7), ("acpiac0".to_owned(), 2)]
        );
        for n in 0..100 {
            remember(&mut seen, &format!("dev{n}"), n);
        }
        assert_eq!(seen.len(), 64);
    }

    #[test]
    fn sysctl_words_become_bytes_in_memory_order() {
        let buf = [
            u64::from_ne_bytes(*b"acpibat0"),
            u64::from_ne_bytes(*b"\0\0\0\0\0\0\0\0"),
        ];
        let mut out = [0u8; 512];
        assert_eq!(bytes(&buf, 10, &mut out), b"acpibat0\0\0");
        assert_eq!(bytes(&buf, 4096, &mut out).len(), 512);
    }
}
