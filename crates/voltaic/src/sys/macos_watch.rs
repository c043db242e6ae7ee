#![allow(unsafe_code)]
//! macOS and iOS change notifications: notifyd keys of the power sources, on a file descriptor.
//!
//! powerd posts the keys of IOKit/ps/IOPSKeys.h whenever a power source changes
//! (`kIOPSNotifyAnyPowerSource` "com.apple.system.powersources", and the narrower `.source` for
//! AC ↔ battery, `.attach` for a source appearing or going, `.percent` for the charge). notify(3)'s
//! `notify_register_file_descriptor` delivers each post as a 4-byte token written to one descriptor
//! (`NOTIFY_REUSE` puts every key on the same one), so the watcher can sleep in poll(2) like on Linux.
//! Cancelling the last token closes the descriptor (notify(3)), so the descriptor is not owned here.
//!
//! Only type-checked by cross-compilation so far (PLATFORMS.md).

use std::ffi::{CStr, c_char, c_int};
use std::io;
use std::os::fd::{AsFd, BorrowedFd, RawFd};
use std::time::Duration;

use crate::error::{Error, ErrorKind, Result};

/// IOPSKeys.h: kIOPSNotifyAnyPowerSource, kIOPSNotifyPowerSource, kIOPSNotifyAttach,
/// kIOPSNotifyPercentChange.
const KEYS: [&CStr; 4] = [
    c"com.apple.system.powersources",
    c"com.apple.system.powersources.source",
    c"com.apple.system.powersources.attach",
    c"com.apple.system.powersources.percent",
];

/// notify.h
const NOTIFY_STATUS_OK: u32 = 0;
const NOTIFY_REUSE: c_int = 1;

// notify(3), in libSystem (libsystem_notify) on macOS and iOS.
unsafe extern "C" {
    fn notify_register_file_descriptor(
        name: *const c_char,
        notify_fd: *mut c_int,
        flags: c_int,
        out_token: *mut c_int,
    ) -> u32;
    fn notify_cancel(token: c_int) -> u32;
}

/// Registrations of the power-source keys on one descriptor.
#[derive(Debug)]
pub(crate) struct Wake {
    fd: RawFd,
    tokens: Vec<c_int>,
}

impl Wake {
    /// Registers the keys; `Ok(None)` when notifyd refuses (a sandbox): then the watcher polls.
    #[allow(clippy::unnecessary_wraps)] // same signature as the shells that can fail
    pub(crate) fn open() -> Result<Option<Wake>> {
        let mut wake = Wake {
            fd: -1,
            tokens: Vec::new(),
        };
        for key in KEYS {
            let mut token: c_int = 0;
            let flags = if wake.tokens.is_empty() {
                0
            } else {
                NOTIFY_REUSE
            };
            // SAFETY: `key` is NUL-terminated; `fd` and `token` are valid out-pointers. With
            // NOTIFY_REUSE, `fd` holds the descriptor of the first registration.
            let status = unsafe {
                notify_register_file_descriptor(
                    key.as_ptr(),
                    &raw mut wake.fd,
                    flags,
                    &raw mut token,
                )
            };
            if status != NOTIFY_STATUS_OK {
                // `wake` drops here and cancels what was registered.
                return Ok(None);
            }
            wake.tokens.push(token);
        }
        // SAFETY: `fd` is the descriptor notify_register_file_descriptor returned; only its flags
        // change (reads must not block: the watcher drains after poll).
        let ok = unsafe {
            let flags = libc::fcntl(wake.fd, libc::F_GETFL);
            flags >= 0 && libc::fcntl(wake.fd, libc::F_SETFL, flags | libc::O_NONBLOCK) >= 0
        };
        if !ok {
            return Ok(None);
        }
        Ok(Some(wake))
    }

    /// Waits up to `timeout` for a post, takes every queued token; `true` when there was one.
    pub(crate) fn wait(&mut self, timeout: Option<Duration>) -> Result<bool> {
        match super::poll_fd::wait_readable(self.as_fd(), timeout) {
            Ok(true) => {}
            Ok(false) => return Ok(false),
            Err(err) => {
                return Err(
                    Error::new(ErrorKind::Io, "waiting for power-source notifications")
                        .with_source(err),
                );
            }
        }
        let mut announced = false;
        let mut token = [0u8; 64];
        loop {
            // SAFETY: `token` is writable for its length; `fd` is open while `self` lives.
            let n = unsafe { libc::read(self.fd, token.as_mut_ptr().cast(), token.len()) };
            if n > 0 {
                // Every token on this descriptor is one of our power-source keys.
                announced = true;
                continue;
            }
            let err = io::Error::last_os_error();
            return match err.raw_os_error() {
                _ if n == 0 => Ok(announced),
                Some(libc::EAGAIN | libc::EINTR) => Ok(announced),
                _ => Err(
                    Error::new(ErrorKind::Io, "reading power-source notifications")
                        .with_source(err),
                ),
            };
        }
    }
}

impl AsFd for Wake {
    fn as_fd(&self) -> BorrowedFd<'_> {
        // SAFETY: the descriptor stays open until `drop` cancels the last registration.
        unsafe { BorrowedFd::borrow_raw(self.fd) }
    }
}

impl Drop for Wake {
    fn drop(&mut self) {
        for token in self.tokens.drain(..) {
            // SAFETY: each token came from a successful registration and is cancelled once.
            unsafe {
                notify_cancel(token);
            }
        }
    }
}
