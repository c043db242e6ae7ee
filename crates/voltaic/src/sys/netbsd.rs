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

use std::ffi::{c_ulong, c_void};
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

use voltaic_core::decode::netbsd::parse_envsys_xml;
use voltaic_core::record::RawDevice;

use super::Reading;
use crate::error::{Error, ErrorKind, Result};

pub(crate) const SUPPORTED: bool = true;

const SYSMON_DEV: &str = "/dev/sysmon";

/// `struct plistref` (`sys/plistref.h`): where the kernel put the externalized plist, and its length
/// including the terminating NUL.
#[repr(C)]
struct Plistref {
    pref_plist: *mut c_void,
    pref_len: usize,
}

// ioctl encoding, `sys/sys/ioccom.h`: direction bits, 13-bit size at bit 16, group, number.
const IOC_INOUT: u64 = 0xc000_0000;
const IOCPARM_MASK: u64 = 0x1fff;
const fn ioc(inout: u64, group: u8, num: u8, len: usize) -> c_ulong {
    (inout | ((len as u64 & IOCPARM_MASK) << 16) | ((group as u64) << 8) | num as u64) as c_ulong
}
/// `ENVSYS_GETDICTIONARY`: `_IOWR('E', 0, struct plistref)` (`sys/envsys.h`); 0xc0104500 on LP64.
const ENVSYS_GETDICTIONARY: c_ulong = ioc(IOC_INOUT, b'E', 0, size_of::<Plistref>());

/// The kernel's mapping of the externalized dictionary; unmapped on drop, on every path.
struct Mapping {
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

/// The envsys dictionary as XML text; `None` when the machine has no `/dev/sysmon`.
fn dictionary() -> Result<Option<String>> {
    let sysmon = match File::open(SYSMON_DEV) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(Error::io(
                "opening the sysmon device",
                SYSMON_DEV.as_ref(),
                e,
            ));
        }
    };
    let mut pref = Plistref {
        pref_plist: std::ptr::null_mut(),
        pref_len: 0,
    };
    // SAFETY: `pref` is the `struct plistref` the command's size encodes, live for the call; the kernel
    // fills in a pointer to a fresh mapping and its length. The descriptor is open (closed by `File`).
    let rc = unsafe { libc::ioctl(sysmon.as_raw_fd(), ENVSYS_GETDICTIONARY, &raw mut pref) };
    if rc == -1 {
        return Err(Error::io(
            "asking envsys for its dictionary (ENVSYS_GETDICTIONARY)",
            SYSMON_DEV.as_ref(),
            io::Error::last_os_error(),
        ));
    }
    let mapping = Mapping {
        ptr: pref.pref_plist,
        len: pref.pref_len,
    };
    let bytes = mapping.bytes();
    let text = bytes.split(|b| *b == 0).next().unwrap_or_default();
    Ok(Some(String::from_utf8_lossy(text).into_owned()))
}

fn devices() -> Result<Vec<RawDevice>> {
    let Some(xml) = dictionary()? else {
        return Ok(Vec::new());
    };
    parse_envsys_xml(&xml).map_err(|e| {
        Error::new(ErrorKind::Io, format!("reading the envsys dictionary: {e}"))
            .with_path(SYSMON_DEV)
    })
}

pub(crate) fn read_all() -> Result<Reading> {
    Ok(Reading {
        devices: devices()?,
        unreadable: Vec::new(),
    })
}

pub(crate) fn read_one(id: &str) -> Result<Option<RawDevice>> {
    Ok(devices()?.into_iter().find(|d| d.id == id))
}

/// What this shell keeps between refreshes of one battery (nothing yet: each refresh reads afresh).
#[derive(Debug, Default)]
pub(crate) struct Handles;

/// Re-reads device `id` for `Manager::refresh`, through what `handles` keeps.
pub(crate) fn read_kept(_handles: &mut Handles, id: &str) -> Result<Option<RawDevice>> {
    read_one(id)
}
