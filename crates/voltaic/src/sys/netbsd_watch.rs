#![allow(unsafe_code)]
//! NetBSD change notifications: sysmon power events on `/dev/power` (power(4)), with the
//! `netbsd-power-events` feature.
//!
//! The kernel queues one `power_event_t` (32 bytes, `sys/sys/power.h`) per power switch change (the
//! AC adapter, lid, buttons) and per envsys(4) sensor event (a battery's state or capacity crossing a
//! limit), and keeps a dictionary per event that says which device and which kind
//! (`sysmon_power_daemon_task`, `sys/dev/sysmon/sysmon_power.c`). A read takes one event;
//! `POWER_EVENT_RECVDICT` takes (and frees) one dictionary, which the watcher must fetch for every
//! event or the kernel keeps them. `voltaic_core::bsd_event` decodes both.
//!
//! `/dev/power` has one reader, the power daemon (`sysmonopen_power` answers `EBUSY` to a second
//! open): with powerd(8) running, or without the permission to open it, the watcher polls. See the
//! feature's note in Cargo.toml for why this path is not on by default.
//!
//! Only type-checked by cross-compilation so far (PLATFORMS.md).

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::time::Duration;

use voltaic_core::bsd_event::{POWER_EVENT_MSG_SIZE, parse_power_dictionary, parse_power_event};

use super::imp::{IOC_INOUT, Plistref, ioc, plist_text, recv_plist};
use crate::error::{Error, ErrorKind, Result};

const POWER_DEV: &str = "/dev/power";

/// `POWER_EVENT_RECVDICT`: `_IOWR('P', 1, struct plistref)` (`sys/sys/power.h`).
const POWER_EVENT_RECVDICT: libc::c_ulong = ioc(IOC_INOUT, b'P', 1, size_of::<Plistref>());
#[cfg(target_pointer_width = "64")]
const _: () = assert!(POWER_EVENT_RECVDICT == 0xc010_5001);

/// Events taken per wake-up at most (the kernel queues 32, `SYSMON_MAX_POWER_EVENTS`).
const MAX_EVENTS: usize = 32;

/// `/dev/power`, open and non-blocking.
#[derive(Debug)]
pub(crate) struct Wake {
    power: File,
}

impl Wake {
    /// Opens `/dev/power`; `Ok(None)` when another process (powerd) holds it, or it is missing or
    /// not ours to open (then the watcher polls).
    pub(crate) fn open() -> Result<Option<Wake>> {
        let mut options = OpenOptions::new();
        options.read(true).custom_flags(libc::O_NONBLOCK);
        match options.open(POWER_DEV) {
            Ok(power) => Ok(Some(Wake { power })),
            Err(e) => match e.raw_os_error() {
                Some(
                    libc::EBUSY
                    | libc::ENOENT
                    | libc::ENXIO
                    | libc::ENODEV
                    | libc::EACCES
                    | libc::EPERM,
                ) => Ok(None),
                _ => Err(Error::io("opening the power device", POWER_DEV.as_ref(), e)),
            },
        }
    }

    /// Waits up to `timeout` for power events, takes every queued one (and its dictionary); `true`
    /// when one can be about a battery or the AC adapter.
    pub(crate) fn wait(&mut self, timeout: Option<Duration>) -> Result<bool> {
        match super::poll_fd::wait_readable(self.power.as_fd(), timeout) {
            Ok(true) => {}
            Ok(false) => return Ok(false),
            Err(err) => {
                return Err(Error::new(ErrorKind::Io, "waiting for power events").with_source(err));
            }
        }
        let mut announced = false;
        for _ in 0..MAX_EVENTS {
            let mut record = [0u8; POWER_EVENT_MSG_SIZE];
            // The driver answers a read of exactly POWER_EVENT_MSG_SIZE bytes with one whole event.
            let n = match self.power.read(&mut record) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => break,
                Err(e) => {
                    return Err(Error::io("reading power events", POWER_DEV.as_ref(), e));
                }
            };
            if n == 0 {
                break;
            }
            // An event that does not decode still happened: read again.
            let event_known = parse_power_event(&record[..n]).is_ok();
            announced |= !event_known || self.dictionary_about_power();
        }
        Ok(announced)
    }

    /// Fetches (and so frees) the dictionary of a queued event; whether it can be about power. One that
    /// cannot be fetched or read counts as "yes".
    fn dictionary_about_power(&self) -> bool {
        match recv_plist(self.power.as_fd(), POWER_EVENT_RECVDICT) {
            Ok(mapping) => parse_power_dictionary(&plist_text(&mapping))
                .map_or(true, |info| info.about_power()),
            Err(_) => true,
        }
    }
}

impl AsFd for Wake {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.power.as_fd()
    }
}
