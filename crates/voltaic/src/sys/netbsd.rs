#![allow(unsafe_code)]
//! NetBSD shell: the envsys dictionary from `/dev/sysmon`.
//!
//! `ENVSYS_GETDICTIONARY` makes the kernel externalize its sensor dictionary as XML, map it into this
//! process (anonymous, `round_page(len)` bytes) and return where in a `struct plistref`
//! (`common/lib/libprop/prop_kern.c`, `prop_dictionary_copyout_ioctl`). The bytes are copied out and the
//! mapping is released with `munmap(pref_plist, pref_len)`, exactly as libprop's
//! `prop_dictionary_recv_ioctl` does; distatus/battery never unmaps and leaks it on every read. The XML
//! is parsed by `voltaic_core::decode::netbsd::parse_envsys_xml` (pure). No privilege is needed to read
//! (envstat(8) opens `/dev/sysmon` read-only too).

use std::borrow::Cow;
use std::ffi::{c_ulong, c_void};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

use voltaic_core::decode::netbsd::{parse_envsys_xml, parse_envsys_xml_device};
use voltaic_core::record::{ParseError, RawDevice};

use super::Reading;
use crate::error::{Error, ErrorKind, Result};

pub(crate) const SUPPORTED: bool = true;

const SYSMON_DEV: &str = "/dev/sysmon";

/// `struct plistref` (`sys/plistref.h`): where the kernel put the externalized plist, and its length
/// including the terminating NUL.
#[repr(C)]
pub(super) struct Plistref {
    pref_plist: *mut c_void,
    pref_len: usize,
}

// ioctl encoding, `sys/sys/ioccom.h`: direction bits, 13-bit size at bit 16, group, number.
pub(super) const IOC_INOUT: u64 = 0xc000_0000;
const IOCPARM_MASK: u64 = 0x1fff;
pub(super) const fn ioc(inout: u64, group: u8, num: u8, len: usize) -> c_ulong {
    (inout | ((len as u64 & IOCPARM_MASK) << 16) | ((group as u64) << 8) | num as u64) as c_ulong
}
/// `ENVSYS_GETDICTIONARY`: `_IOWR('E', 0, struct plistref)` (`sys/envsys.h`); 0xc0104500 on LP64.
const ENVSYS_GETDICTIONARY: c_ulong = ioc(IOC_INOUT, b'E', 0, size_of::<Plistref>());

/// The kernel's mapping of the externalized dictionary; unmapped on drop, on every path.
pub(super) struct Mapping {
    ptr: *mut c_void,
    len: usize,
}

impl Mapping {
    fn bytes(&self) -> &[u8] {
        if self.ptr.is_null() || self.len == 0 {
            return &[];
        }
        // SAFETY: the kernel mapped at least `len` readable bytes at `ptr` (prop_dictionary_copyout_ioctl
        // maps round_page(len)); the mapping lives until `self` is dropped.
        unsafe { std::slice::from_raw_parts(self.ptr.cast::<u8>(), self.len) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        if !self.ptr.is_null() && self.len > 0 {
            // SAFETY: `ptr`/`len` describe the mapping the kernel created for this process and nothing
            // else refers to it; munmap covers the whole pages of the range, as libprop relies on.
            unsafe {
                libc::munmap(self.ptr, self.len);
            }
        }
    }
}

/// `/dev/sysmon` opened read-only; `None` when the machine has none.
fn open_sysmon() -> Result<Option<File>> {
    match File::open(SYSMON_DEV) {
        Ok(f) => Ok(Some(f)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(
            "opening the sysmon device",
            SYSMON_DEV.as_ref(),
            e,
        )),
    }
}

/// An ioctl that answers with a `struct plistref` (`ENVSYS_GETDICTIONARY`, power(4)'s
/// `POWER_EVENT_RECVDICT`): the kernel's mapping of the externalized dictionary, released on drop.
pub(super) fn recv_plist(fd: BorrowedFd<'_>, cmd: c_ulong) -> io::Result<Mapping> {
    let mut pref = Plistref {
        pref_plist: std::ptr::null_mut(),
        pref_len: 0,
    };
    // SAFETY: `pref` is the `struct plistref` the command's size encodes, live for the call; the kernel
    // fills in a pointer to a fresh mapping and its length. The descriptor is open (borrowed).
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), cmd, &raw mut pref) };
    if rc == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(Mapping {
        ptr: pref.pref_plist,
        len: pref.pref_len,
    })
}

/// The dictionary's text: up to its terminating NUL, as UTF-8 (proplib writes UTF-8; anything else is
/// replaced, which copies).
pub(super) fn plist_text(mapping: &Mapping) -> Cow<'_, str> {
    let bytes = mapping.bytes();
    let text = bytes.split(|b| *b == 0).next().unwrap_or_default();
    String::from_utf8_lossy(text)
}

/// One `ENVSYS_GETDICTIONARY` on `sysmon` and `f` on its text (read in place, not copied).
fn with_dictionary<T>(sysmon: &File, f: impl FnOnce(&str) -> Result<T>) -> Result<T> {
    let mapping = recv_plist(sysmon.as_fd(), ENVSYS_GETDICTIONARY).map_err(|e| {
        Error::io(
            "asking envsys for its dictionary (ENVSYS_GETDICTIONARY)",
            SYSMON_DEV.as_ref(),
            e,
        )
    })?;
    f(&plist_text(&mapping))
}

fn xml_error(e: &ParseError) -> Error {
    Error::new(ErrorKind::Io, format!("reading the envsys dictionary: {e}")).with_path(SYSMON_DEV)
}

pub(crate) fn read_all() -> Result<Reading> {
    let Some(sysmon) = open_sysmon()? else {
        return Ok(Reading::default());
    };
    let devices = with_dictionary(&sysmon, |xml| {
        parse_envsys_xml(xml).map_err(|e| xml_error(&e))
    })?;
    Ok(Reading {
        devices,
        unreadable: Vec::new(),
    })
}

/// What this shell keeps between refreshes: `/dev/sysmon`, open. envsys has no per-device read, so a
/// refresh is one `ENVSYS_GETDICTIONARY` (the kernel refreshes and externalizes every sensor,
/// `sysmon_envsys.c`), read in place from the kernel's mapping, of which only the wanted device's
/// sensors become a record.
#[derive(Debug, Default)]
pub(crate) struct Handles {
    sysmon: Option<File>,
}

/// Re-reads device `id` for `Manager::refresh`: one dictionary read on the kept descriptor.
pub(crate) fn read_kept(handles: &mut Handles, id: &str) -> Result<Option<RawDevice>> {
    if handles.sysmon.is_none() {
        handles.sysmon = open_sysmon()?;
    }
    let Some(sysmon) = &handles.sysmon else {
        return Ok(None);
    };
    let read = with_dictionary(sysmon, |xml| {
        parse_envsys_xml_device(xml, id).map_err(|e| xml_error(&e))
    });
    if read.is_err() {
        // Open the device again next time.
        handles.sysmon = None;
    }
    read
}
