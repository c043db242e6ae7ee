#![allow(unsafe_code)]
//! FreeBSD and DragonFly change notifications: devd(8)'s seqpacket socket.
//!
//! devd passes every kernel event to the clients of `/var/run/devd.seqpacket.pipe`, one event per
//! packet (devd(8), "FILES"). The ACPI drivers announce adapter changes (`system=ACPI subsystem=ACAD`,
//! sys/dev/acpica/acpi_acad.c) and battery status/information changes (`subsystem=CMBAT`,
//! acpi_cmbat.c) there; `voltaic_core::event::parse_devd` says which lines matter. Connecting needs no
//! privilege (the socket is mode 0666). Without devd (a jail, devd stopped) `open` answers "poll".
//!
//! Only type-checked by cross-compilation so far (PLATFORMS.md).

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::time::Duration;

use voltaic_core::event::{MAX_DEVD_LINE, parse_devd};

use crate::error::{Error, ErrorKind, Result};

const DEVD_SOCKET: &[u8] = b"/var/run/devd.seqpacket.pipe";

/// A connection to devd.
#[derive(Debug)]
pub(crate) struct Wake {
    fd: OwnedFd,
    buf: Vec<u8>,
}

impl Wake {
    /// Connects to devd; `Ok(None)` when it does not run (then the watcher polls).
    pub(crate) fn open() -> Result<Option<Wake>> {
        match connect() {
            Ok(fd) => Ok(Some(Wake {
                fd,
                buf: vec![0; MAX_DEVD_LINE + 1],
            })),
            Err(e) => match e.raw_os_error() {
                Some(
                    libc::ENOENT
                    | libc::ECONNREFUSED
                    | libc::EACCES
                    | libc::EPERM
                    | libc::EPROTONOSUPPORT,
                ) => Ok(None),
                _ => Err(Error::new(ErrorKind::Io, "connecting to devd").with_source(e)),
            },
        }
    }

    /// Waits up to `timeout` for devd events, takes every queued one; `true` when one was about power.
    pub(crate) fn wait(&mut self, timeout: Option<Duration>) -> Result<bool> {
        match super::poll_fd::wait_readable(self.fd.as_fd(), timeout) {
            Ok(true) => {}
            Ok(false) => return Ok(false),
            Err(err) => {
                return Err(Error::new(ErrorKind::Io, "waiting for devd events").with_source(err));
            }
        }
        let mut announced = false;
        loop {
            // SAFETY: `buf` is writable for its length; `fd` is open.
            let n = unsafe {
                libc::recv(
                    self.fd.as_raw_fd(),
                    self.buf.as_mut_ptr().cast(),
                    self.buf.len(),
                    libc::MSG_DONTWAIT,
                )
            };
            match usize::try_from(n) {
                // devd closed the connection (restarted): connect again; until it is back, the
                // wait is a plain sleep and every wake-up a re-read.
                Ok(0) => {
                    match connect() {
                        Ok(fd) => self.fd = fd,
                        Err(_) => std::thread::sleep(timeout.unwrap_or(Duration::from_secs(30))),
                    }
                    return Ok(true);
                }
                Ok(n) => {
                    // A packet longer than any devd line was cut by recv: not one to believe.
                    if n <= MAX_DEVD_LINE && parse_devd(&self.buf[..n]).is_some() {
                        announced = true;
                    }
                }
                Err(_) => {
                    let err = io::Error::last_os_error();
                    return match err.raw_os_error() {
                        Some(libc::EAGAIN | libc::EINTR) => Ok(announced),
                        _ => Err(Error::new(ErrorKind::Io, "reading devd events").with_source(err)),
                    };
                }
            }
        }
    }
}

impl AsFd for Wake {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// A non-blocking seqpacket connection to devd.
fn connect() -> io::Result<OwnedFd> {
    // SAFETY: socket(2) with constant arguments; it returns a new descriptor or -1.
    let raw = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC, 0) };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `raw` is a descriptor socket(2) just returned, owned by nothing else.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    // SAFETY: sockaddr_un is plain data; all-zero is valid.
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    for (dst, src) in addr.sun_path.iter_mut().zip(DEVD_SOCKET) {
        *dst = libc::c_char::from_ne_bytes([*src]);
    }
    let len = size_of::<libc::sockaddr_un>();
    addr.sun_len = len as u8;
    // SAFETY: `addr` is a valid sockaddr_un with a NUL-terminated path (the array is longer than
    // the path and zeroed); the length is its size.
    let rc = unsafe {
        libc::connect(
            fd.as_raw_fd(),
            (&raw const addr).cast::<libc::sockaddr>(),
            len as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(fd)
}
