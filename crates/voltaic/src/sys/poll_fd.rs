//! The one wait of every Unix watcher (Linux netlink, FreeBSD devd, macOS notify, OpenBSD's kqueue on
//! apm, NetBSD power events): poll(2) on one descriptor.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::time::Duration;

/// Waits up to `timeout` (`None`: for ever) until `fd` is readable. The timeout is rounded up to whole
/// milliseconds: waking a little late is harmless, waking early would spin. `Ok(false)` when a signal
/// interrupted the wait (the caller returns without reading), `Ok(true)` otherwise, a timeout included (the
/// caller then takes what is queued without blocking).
pub(crate) fn wait_readable(fd: BorrowedFd<'_>, timeout: Option<Duration>) -> io::Result<bool> {
    let mut pfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = timeout.map_or(-1, |t| {
        libc::c_int::try_from(t.as_nanos().div_ceil(1_000_000)).unwrap_or(libc::c_int::MAX)
    });
    // SAFETY: one valid pollfd, count 1.
    let rc = unsafe { libc::poll(&raw mut pfd, 1, ms) };
    if rc < 0 {
        let err = io::Error::last_os_error();
        if err.kind() == io::ErrorKind::Interrupted {
            return Ok(false);
        }
        return Err(err);
    }
    Ok(true)
}
