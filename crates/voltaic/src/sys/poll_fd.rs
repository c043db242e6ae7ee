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
    let ms = poll_ms(timeout);
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

/// Waits up to `timeout` (`None`: for ever) until `fd` or `stop` is readable (a closed peer counts:
/// poll(2) reports POLLHUP). `Ok(true)` when `stop` is, `Ok(false)` otherwise (`fd` readable, the
/// timeout, or a signal). The `async` stream's thread sleeps here on the watcher's descriptor and on
/// the stream's stop socket, so that dropping the stream wakes it at once and an idle watcher costs
/// no wake-up.
#[cfg(feature = "async")]
pub(crate) fn wait_either(
    fd: BorrowedFd<'_>,
    stop: BorrowedFd<'_>,
    timeout: Option<Duration>,
) -> io::Result<bool> {
    let mut fds = [fd, stop].map(|fd| libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    });
    let ms = poll_ms(timeout);
    // SAFETY: two valid pollfds, count 2.
    let rc = unsafe { libc::poll(fds.as_mut_ptr(), 2, ms) };
    if rc < 0 {
        let err = io::Error::last_os_error();
        if err.kind() == io::ErrorKind::Interrupted {
            return Ok(false);
        }
        return Err(err);
    }
    Ok(fds[1].revents != 0)
}

/// poll(2)'s timeout: whole milliseconds rounded up, -1 for ever.
fn poll_ms(timeout: Option<Duration>) -> libc::c_int {
    timeout.map_or(-1, |t| {
        libc::c_int::try_from(t.as_nanos().div_ceil(1_000_000)).unwrap_or(libc::c_int::MAX)
    })
}
