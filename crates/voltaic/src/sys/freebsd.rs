#![allow(unsafe_code)]
//! FreeBSD and DragonFly shell: the `/dev/acpi` battery ioctls and the `hw.acpi.acline` sysctl.
//!
//! Per logical battery unit it reads `ACPIIO_BATT_GET_BIX` (falling back to `GET_BIF` where the kernel
//! has no `_BIX` ioctl: DragonFly, FreeBSD before 13), `ACPIIO_BATT_GET_BST` and the unit's
//! `ACPIIO_BATT_GET_BATTINFO`, and puts every field into the record under the kernel's struct and field
//! name (`bix.dcap`, `bst.rate`, `battinfo.min`). Meaning is decided in `voltaic_core::decode::freebsd`.
//! The ioctls need no privilege (`acpi_battery.c`: "information retrieval only"); `/dev/acpi` is opened
//! read-only. A machine without ACPI has no `/dev/acpi`: that is "no batteries", not an error.

use std::ffi::{CStr, c_char, c_int, c_ulong};
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

use voltaic_core::decode::Skipped;
use voltaic_core::decode::freebsd::ACLINE;
use voltaic_core::record::{Os, RawDevice, Record, Value};

use super::Reading;
use crate::error::{Error, ErrorKind, Result};

pub(crate) const SUPPORTED: bool = true;

const ACPI_DEV: &str = "/dev/acpi";
/// The id of the AC adapter record (`acpi_acad(4)` registers `hw.acpi.acline` for `acpi_acad0`).
const AC_ID: &str = "acpi_acad0";
const UNIT_PREFIX: &str = "battery";

// ioctl command encoding, `sys/sys/ioccom.h` (FreeBSD and DragonFly alike): direction in the top 3 bits,
// the argument's size in the 13 bits from bit 16, the group letter and number in the low 16 bits.
const IOC_OUT: u64 = 0x4000_0000;
const IOC_INOUT: u64 = 0xc000_0000;
const IOCPARM_MASK: u64 = 0x1fff;

const fn ioc(inout: u64, group: u8, num: u8, len: usize) -> c_ulong {
    (inout | ((len as u64 & IOCPARM_MASK) << 16) | ((group as u64) << 8) | num as u64) as c_ulong
}

// Structures of `sys/dev/acpica/acpiio.h` (FreeBSD 13+; DragonFly's header has only the `_BIF` subset).

const ACPI_CMBAT_MAXSTRLEN: usize = 32;

/// `struct acpi_battinfo`: processed values, −1 unknown.
#[repr(C)]
#[derive(Clone, Copy)]
struct AcpiBattinfo {
    cap: c_int,
    min: c_int,
    state: c_int,
    rate: c_int,
}

/// `struct acpi_bif` (`_BIF`): 9 × `uint32_t` then four 32-byte strings, 164 bytes.
#[repr(C)]
#[derive(Clone, Copy)]
struct AcpiBif {
    units: u32,
    dcap: u32,
    lfcap: u32,
    btech: u32,
    dvol: u32,
    wcap: u32,
    lcap: u32,
    gra1: u32,
    gra2: u32,
    model: [c_char; ACPI_CMBAT_MAXSTRLEN],
    serial: [c_char; ACPI_CMBAT_MAXSTRLEN],
    kind: [c_char; ACPI_CMBAT_MAXSTRLEN],
    oeminfo: [c_char; ACPI_CMBAT_MAXSTRLEN],
}

/// `struct acpi_bix` (`_BIX`): the `_BIF` fields first, then `uint16_t rev`, the ACPI 4.0/6.0 fields
/// and `uint8_t bix_reserved[58]`, 256 bytes.
#[repr(C)]
#[derive(Clone, Copy)]
struct AcpiBix {
    bif: AcpiBif,
    rev: u16,
    cycles: u32,
    accuracy: u32,
    stmax: u32,
    stmin: u32,
    aimax: u32,
    aimin: u32,
    scap: u32,
    bix_reserved: [u8; 58],
}

/// `struct acpi_bst` (`_BST`).
#[repr(C)]
#[derive(Clone, Copy)]
struct AcpiBst {
    state: u32,
    rate: u32,
    cap: u32,
    volt: u32,
}

/// `union acpi_battery_ioctl_arg` (256 bytes): `int unit` in, the result out.
#[repr(C)]
union IoctlArg {
    unit: c_int,
    battinfo: AcpiBattinfo,
    bix: AcpiBix,
    bif: AcpiBif,
    bst: AcpiBst,
}

/// `union acpi_battery_ioctl_arg_v1` (164 bytes): the union before `_BIX`, and DragonFly's union.
#[repr(C)]
union IoctlArgV1 {
    unit: c_int,
    battinfo: AcpiBattinfo,
    bif: AcpiBif,
    bst: AcpiBst,
}

const _: () = assert!(size_of::<AcpiBif>() == 164);
const _: () = assert!(size_of::<AcpiBix>() == 256);
const _: () = assert!(size_of::<IoctlArg>() == 256);
const _: () = assert!(size_of::<IoctlArgV1>() == 164);

/// `ACPIIO_BATT_GET_UNITS`: `_IOR('B', 0x01, int)`.
const ACPIIO_BATT_GET_UNITS: c_ulong = ioc(IOC_OUT, b'B', 0x01, size_of::<c_int>());
/// `ACPIIO_BATT_GET_BATTINFO_V1`: `_IOWR('B', 0x03, union acpi_battery_ioctl_arg_v1)`. The 164-byte
/// form is registered by every FreeBSD since the `_BIX` change and is the only form on DragonFly and
/// older FreeBSD; the result (`struct acpi_battinfo`) is the same.
const ACPIIO_BATT_GET_BATTINFO_V1: c_ulong = ioc(IOC_INOUT, b'B', 0x03, size_of::<IoctlArgV1>());
/// `ACPIIO_BATT_GET_BIX`: `_IOWR('B', 0x10, union acpi_battery_ioctl_arg)`; the same number as
/// `GET_BIF`, told apart by the size field.
const ACPIIO_BATT_GET_BIX: c_ulong = ioc(IOC_INOUT, b'B', 0x10, size_of::<IoctlArg>());
/// `ACPIIO_BATT_GET_BIF`: `_IOWR('B', 0x10, union acpi_battery_ioctl_arg_v1)`.
const ACPIIO_BATT_GET_BIF: c_ulong = ioc(IOC_INOUT, b'B', 0x10, size_of::<IoctlArgV1>());
/// `ACPIIO_BATT_GET_BST_V1`: `_IOWR('B', 0x11, union acpi_battery_ioctl_arg_v1)` (see BATTINFO_V1).
const ACPIIO_BATT_GET_BST_V1: c_ulong = ioc(IOC_INOUT, b'B', 0x11, size_of::<IoctlArgV1>());

const _: () = assert!(ACPIIO_BATT_GET_UNITS == 0x4004_4201);
const _: () = assert!(ACPIIO_BATT_GET_BIX == 0xc100_4210);
const _: () = assert!(ACPIIO_BATT_GET_BIF == 0xc0a4_4210);
const _: () = assert!(ACPIIO_BATT_GET_BST_V1 == 0xc0a4_4211);
const _: () = assert!(ACPIIO_BATT_GET_BATTINFO_V1 == 0xc0a4_4203);

/// The record keys of the `_BIF` fields, in `struct acpi_bif` order, under `bix.` (from `GET_BIX`) or
/// `bif.` (from `GET_BIF`): written out so that building a record formats nothing.
const BIX_KEYS: [&str; 13] = [
    "bix.units",
    "bix.dcap",
    "bix.lfcap",
    "bix.btech",
    "bix.dvol",
    "bix.wcap",
    "bix.lcap",
    "bix.gra1",
    "bix.gra2",
    "bix.model",
    "bix.serial",
    "bix.type",
    "bix.oeminfo",
];
const BIF_KEYS: [&str; 13] = [
    "bif.units",
    "bif.dcap",
    "bif.lfcap",
    "bif.btech",
    "bif.dvol",
    "bif.wcap",
    "bif.lcap",
    "bif.gra1",
    "bif.gra2",
    "bif.model",
    "bif.serial",
    "bif.type",
    "bif.oeminfo",
];

pub(crate) fn read_all() -> Result<Reading> {
    let mut reading = Reading::default();
    if let Some(acpi) = open_acpi()? {
        let units = battery_units(&acpi)?;
        let mut no_bix = false;
        for unit in 0..units {
            let id = format!("{UNIT_PREFIX}{unit}");
            match read_unit(&acpi, unit, &mut no_bix) {
                Ok(record) => reading
                    .devices
                    .push(RawDevice::new(Os::FreeBsd, id, record)),
                Err(e) => reading
                    .unreadable
                    .push(Skipped::new(id, format!("reading the battery ioctls: {e}"))),
            }
        }
    }
    if let Some(record) = ac_record() {
        reading
            .devices
            .push(RawDevice::new(Os::FreeBsd, AC_ID, record));
    }
    Ok(reading)
}

/// What this shell keeps between refreshes: `/dev/acpi`, open. The unit of a battery is its id's
/// number (`battery1` is unit 1, as `read_all` named it), so a refresh looks nothing up: it is the three
/// ioctls of that unit on the kept descriptor, with no open, close or enumeration.
///
/// `_BIX`/`_BIF` is read again on every refresh, on purpose: the ioctl copies the driver's cached copy
/// (`acpi_cmbat_bix` in `sys/dev/acpica/acpi_cmbat.c`: "Just copy the data ... we only update when we
/// get a notify that says the info has changed"), so it costs one syscall and no ACPI evaluation, and
/// it is the only place a different pack in the same bay shows (its design capacity, model, serial).
/// Skipping it would save that one syscall at the price of reading a swapped pack stale.
#[derive(Debug, Default)]
pub(crate) struct Handles {
    acpi: Option<File>,
    /// The kernel has no `_BIX` ioctl (see `read_unit`).
    no_bix: bool,
}

/// Re-reads device `id` for `Manager::refresh`, through the kept `/dev/acpi`.
pub(crate) fn read_kept(handles: &mut Handles, id: &str) -> Result<Option<RawDevice>> {
    if id == AC_ID {
        return Ok(ac_record().map(|r| RawDevice::new(Os::FreeBsd, AC_ID, r)));
    }
    let Some(unit) = id
        .strip_prefix(UNIT_PREFIX)
        .and_then(|u| u.parse::<c_int>().ok())
    else {
        return Ok(None);
    };
    if handles.acpi.is_none() {
        handles.acpi = open_acpi()?;
    }
    let Some(acpi) = &handles.acpi else {
        return Ok(None);
    };
    match read_unit(acpi, unit, &mut handles.no_bix) {
        Ok(record) => Ok(Some(RawDevice::new(Os::FreeBsd, id, record))),
        // ENXIO: no such logical unit any more (acpi_battery_ioctl).
        Err(e) if e.raw_os_error() == Some(libc::ENXIO) => Ok(None),
        Err(e) => {
            // Drop the descriptor: the next refresh opens the device again and asks for _BIX again.
            handles.acpi = None;
            handles.no_bix = false;
            Err(
                Error::new(ErrorKind::Io, format!("reading battery unit {unit}"))
                    .with_path(ACPI_DEV)
                    .with_source(e),
            )
        }
    }
}

/// `/dev/acpi` opened read-only; `None` on a machine without ACPI. The `File` closes it on every path.
fn open_acpi() -> Result<Option<File>> {
    match File::open(ACPI_DEV) {
        Ok(f) => Ok(Some(f)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("opening the ACPI device", ACPI_DEV.as_ref(), e)),
    }
}

fn battery_units(acpi: &File) -> Result<c_int> {
    let mut units: c_int = 0;
    // SAFETY: GET_UNITS writes one int (its size is encoded in the command) into `units`, which lives
    // for the call; the descriptor is open.
    let rc = unsafe { libc::ioctl(acpi.as_raw_fd(), ACPIIO_BATT_GET_UNITS, &raw mut units) };
    if rc == -1 {
        return Err(Error::io(
            "asking the ACPI driver for its battery units",
            ACPI_DEV.as_ref(),
            io::Error::last_os_error(),
        ));
    }
    Ok(units.clamp(0, 64))
}

/// One logical battery unit's ioctl results, under the kernel's field names.
///
/// `_BIX` is asked for first, then `_BIF`; `no_bix` remembers a kernel without the `_BIX` ioctl (the
/// `_BIX` command failed where `_BIF`, served by the same handler in `acpi_battery_ioctl`, worked:
/// DragonFly, FreeBSD before 13), so that later reads skip the failing call.
fn read_unit(acpi: &File, unit: c_int, no_bix: &mut bool) -> io::Result<Record> {
    let mut r = Record::new();
    let int = |v: u32| Value::Int(i64::from(v));
    let mut arg = IoctlArg { unit };
    // SAFETY: `arg` is a 256-byte union, the size GET_BIX declares; the kernel reads `unit` and writes a
    // `struct acpi_bix` into it. The union lives for the call.
    let bix = if !*no_bix
        && unsafe { libc::ioctl(acpi.as_raw_fd(), ACPIIO_BATT_GET_BIX, &raw mut arg) } == 0
    {
        // SAFETY: the ioctl succeeded, so the kernel wrote the `bix` member (every bit pattern is valid
        // for its integer and char fields).
        Some(unsafe { arg.bix })
    } else {
        None
    };
    let (keys, bif) = if let Some(bix) = bix {
        r.push("bix.rev", int(u32::from(bix.rev)));
        for (k, v) in [
            ("bix.cycles", bix.cycles),
            ("bix.accuracy", bix.accuracy),
            ("bix.stmax", bix.stmax),
            ("bix.stmin", bix.stmin),
            ("bix.aimax", bix.aimax),
            ("bix.aimin", bix.aimin),
            ("bix.scap", bix.scap),
        ] {
            r.push(k, int(v));
        }
        (&BIX_KEYS, bix.bif)
    } else {
        let mut arg = IoctlArgV1 { unit };
        // SAFETY: `arg` is the 164-byte union GET_BIF declares; the kernel writes a `struct acpi_bif`.
        if unsafe { libc::ioctl(acpi.as_raw_fd(), ACPIIO_BATT_GET_BIF, &raw mut arg) } != 0 {
            return Err(io::Error::last_os_error());
        }
        *no_bix = true;
        // SAFETY: the ioctl succeeded and wrote the `bif` member (plain integers and chars).
        (&BIF_KEYS, unsafe { arg.bif })
    };
    let values = [
        bif.units, bif.dcap, bif.lfcap, bif.btech, bif.dvol, bif.wcap, bif.lcap, bif.gra1, bif.gra2,
    ];
    for (k, v) in keys[..9].iter().zip(values) {
        r.push(*k, int(v));
    }
    for (k, v) in keys[9..]
        .iter()
        .zip([&bif.model, &bif.serial, &bif.kind, &bif.oeminfo])
    {
        r.push(*k, Value::Str(c_string(v)));
    }

    let mut arg = IoctlArgV1 { unit };
    // SAFETY: the 164-byte union GET_BST_V1 declares; the kernel writes a `struct acpi_bst`.
    if unsafe { libc::ioctl(acpi.as_raw_fd(), ACPIIO_BATT_GET_BST_V1, &raw mut arg) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the ioctl succeeded and wrote the `bst` member (four integers).
    let bst = unsafe { arg.bst };
    for (k, v) in [
        ("bst.state", bst.state),
        ("bst.rate", bst.rate),
        ("bst.cap", bst.cap),
        ("bst.volt", bst.volt),
    ] {
        r.push(k, int(v));
    }

    let mut arg = IoctlArgV1 { unit };
    // SAFETY: the 164-byte union GET_BATTINFO_V1 declares; the kernel writes a `struct acpi_battinfo`.
    if unsafe { libc::ioctl(acpi.as_raw_fd(), ACPIIO_BATT_GET_BATTINFO_V1, &raw mut arg) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the ioctl succeeded and wrote the `battinfo` member (four ints).
    let info = unsafe { arg.battinfo };
    for (k, v) in [
        ("battinfo.cap", info.cap),
        ("battinfo.min", info.min),
        ("battinfo.state", info.state),
        ("battinfo.rate", info.rate),
    ] {
        r.push(k, Value::Int(i64::from(v)));
    }
    Ok(r)
}

/// A NUL-padded `char[32]` as text (the kernel already replaced unprintable bytes with '?'); one
/// allocation, for the `String` itself.
fn c_string(chars: &[c_char; ACPI_CMBAT_MAXSTRLEN]) -> String {
    let mut bytes = [0u8; ACPI_CMBAT_MAXSTRLEN];
    for (b, c) in bytes.iter_mut().zip(chars) {
        *b = c.to_ne_bytes()[0];
    }
    let end = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

/// The `hw.acpi.acline` record, if the sysctl exists (it needs `acpi_acad(4)`).
fn ac_record() -> Option<Record> {
    let name: &CStr = c"hw.acpi.acline";
    let mut value: c_int = 0;
    let mut len = size_of::<c_int>();
    // SAFETY: `name` is NUL-terminated; `value`/`len` describe a buffer of exactly one int that lives
    // for the call; no new value is written (null, 0).
    let rc = unsafe {
        libc::sysctlbyname(
            name.as_ptr(),
            (&raw mut value).cast(),
            &raw mut len,
            std::ptr::null(),
            0,
        )
    };
    (rc == 0 && len == size_of::<c_int>()).then(|| {
        let mut r = Record::new();
        r.push(ACLINE, Value::Int(i64::from(value)));
        r
    })
}
