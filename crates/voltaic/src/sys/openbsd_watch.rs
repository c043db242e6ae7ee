#![allow(unsafe_code)]
//! OpenBSD change notifications: apm(4) events, through a kqueue on `/dev/apm`.
//!
//! The acpi(4) driver (and apm(4) on i386) posts an event to every `EVFILT_READ` knote on `/dev/apm`:
//! `APM_POWER_CHANGE` when the AC adapter or a battery notifies (acpiac.c, acpibat.c, acpisbs.c),
//! `APM_NORMAL_RESUME` after a resume, suspend requests from keys (`acpi_record_event`,
//! `sys/dev/acpi/acpi.c`). The kevent's `data` is `APM_EVENT_COMPOSE(type, index)`;
//! `voltaic_core::bsd_event::parse_apm_event` takes it apart. This is what apmd(8) waits on.
//!
//! `/dev/apm` opened read-only needs no privilege and admits any number of readers (`acpiopen` in
//! `sys/dev/acpi/acpi_apm.c` refuses only a write open of it). Kernels without the apm interface
//! (`SMALL_KERNEL`, a machine without ACPI or APM) fail the open or the kqueue registration: then the
//! watcher polls. The kqueue descriptor is what the watcher waits on and hands out as `AsFd` (a kqueue
//! is readable while it has events, kqueue(2)).
//!
//! Only type-checked by cross-compilation so far (PLATFORMS.md).

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::time::Duration;

use voltaic_core::bsd_event::parse_apm_event;

use crate::error::{Error, ErrorKind, Result};

const APM_DEV: &str = "/dev/apm";

/// Events taken per `kevent` call (there is one knote, so one is the most there can be; a few more
/// cost nothing).
const BATCH: usize = 4;

/// A kqueue with a read filter on `/dev/apm`.
#[derive(Debug)]
pub(crate) struct Wake {
    kq: OwnedFd,
    /// Kept open: closing it would remove the knote (and the driver's reader flag).
    _apm: File,
}

impl Wake {
    /// Opens `/dev/apm` and registers for its events; `Ok(None)` when the kernel offers none (then the
    /// watcher polls).
    pub(crate) fn open() -> Result<Option<Wake>> {
        let apm = match File::open(APM_DEV) {
            Ok(f) => f,
            Err(e) => {
                return match e.raw_os_error() {
                    Some(
                        libc::ENOENT
                        | libc::ENXIO
                        | libc::ENODEV
                        | libc::EACCES
                        | libc::EPERM
                        | libc::EINVAL
                        | libc::EBUSY,
                    ) => Ok(None),
                    _ => Err(Error::io("opening the APM device", APM_DEV.as_ref(), e)),
                };
            }
        };
        // SAFETY: kqueue(2) takes no arguments and returns a new descriptor or -1.
        let raw = unsafe { libc::kqueue() };
        if raw < 0 {
            return Err(Error::new(ErrorKind::Io, "creating a kqueue")
                .with_source(io::Error::last_os_error()));
        }
        // SAFETY: `raw` is a descriptor kqueue(2) just returned, owned by nothing else.
        let kq = unsafe { OwnedFd::from_raw_fd(raw) };
        // Not inherited by programs this process executes (a kqueue is never inherited by fork).
        // SAFETY: F_SETFD with a flag on an open descriptor.
        unsafe { libc::fcntl(kq.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) };
        let Ok(ident) = libc::uintptr_t::try_from(apm.as_raw_fd()) else {
            return Ok(None);
        };
        let change = libc::kevent {
            ident,
            filter: libc::EVFILT_READ,
            // EV_CLEAR as apmd(8) registers it: the filter reports a knote as active whenever asked
            // (`acpi_filtread`), so only the reset-on-retrieval form waits for the next event.
            flags: libc::EV_ADD | libc::EV_ENABLE | libc::EV_CLEAR,
            fflags: 0,
            data: 0,
            udata: std::ptr::null_mut(),
        };
        // SAFETY: one valid change record, no event list, no timeout (registration does not block).
        let rc = unsafe {
            libc::kevent(
                kq.as_raw_fd(),
                &raw const change,
                1,
                std::ptr::null_mut(),
                0,
                std::ptr::null(),
            )
        };
        if rc < 0 {
            let err = io::Error::last_os_error();
            return match err.raw_os_error() {
                // No kqueue filter on this kernel's apm device (SMALL_KERNEL: EOPNOTSUPP).
                Some(libc::EINVAL | libc::EOPNOTSUPP | libc::ENODEV | libc::ENXIO) => Ok(None),
                _ => Err(Error::new(ErrorKind::Io, "registering for APM events")
                    .with_path(APM_DEV)
                    .with_source(err)),
            };
        }
        Ok(Some(Wake { kq, _apm: apm }))
    }

    /// Waits up to `timeout` for APM events, takes every queued one; `true` when one says to read again.
    pub(crate) fn wait(&mut self, timeout: Option<Duration>) -> Result<bool> {
        match super::poll_fd::wait_readable(self.kq.as_fd(), timeout) {
            Ok(true) => {}
            Ok(false) => return Ok(false),
            Err(err) => {
                return Err(Error::new(ErrorKind::Io, "waiting for APM events").with_source(err));
            }
        }
        let zero = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        let mut announced = false;
        loop {
            // SAFETY: kevent is plain data (integers and a pointer the kernel fills in); all-zero is
            // a valid value of it.
            let mut events: [libc::kevent; BATCH] = unsafe { std::mem::zeroed() };
            let capacity = libc::c_int::try_from(events.len()).unwrap_or(1);
            // SAFETY: no changes; `events` is writable for BATCH records; a zero timeout never blocks.
            let n = unsafe {
                libc::kevent(
                    self.kq.as_raw_fd(),
                    std::ptr::null(),
                    0,
                    events.as_mut_ptr(),
                    capacity,
                    &raw const zero,
                )
            };
            let Ok(n) = usize::try_from(n) else {
                let err = io::Error::last_os_error();
                if err.kind() == io::ErrorKind::Interrupted {
                    return Ok(announced);
                }
                return Err(Error::new(ErrorKind::Io, "reading APM events").with_source(err));
            };
            for event in &events[..n.min(BATCH)] {
                // An EV_ERROR record or a value that is no APM event: something happened that this
                // code does not understand; reading again is the safe answer.
                announced |= (event.flags & libc::EV_ERROR) != 0
                    || parse_apm_event(event.data).map_or(true, |e| e.needs_reading());
            }
            if n < BATCH {
                return Ok(announced);
            }
        }
    }
}

impl AsFd for Wake {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.kq.as_fd()
    }
}
