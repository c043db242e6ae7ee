//! A raw `NETLINK_KOBJECT_UEVENT` socket: the kernel's own change announcements, read without any
//! voltaic code in between, so the guest can check the facts the event design rests on.
//!
//! Message format (lib/kobject_uevent.c, `kobject_uevent_env`): `ACTION@DEVPATH\0KEY=VALUE\0…`, sent to
//! multicast group 1. udevd re-broadcasts on group 2 with a `libudev` header; this socket only joins group 1.
#![allow(unsafe_code)] // socket(2), bind(2), poll(2), recv(2); each block says why it is sound.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

/// One kernel uevent: the header (`change@/devices/…`) and its `KEY=VALUE` fields.
#[derive(Debug, Clone)]
pub struct Uevent {
    pub header: String,
    pub fields: Vec<String>,
}

impl Uevent {
    fn parse(bytes: &[u8]) -> Uevent {
        let mut parts = bytes
            .split(|&b| b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| String::from_utf8_lossy(p).into_owned());
        let header = parts.next().unwrap_or_default();
        Uevent {
            header,
            fields: parts.collect(),
        }
    }

    /// The value of `key`, if the event carries it.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find_map(|f| f.strip_prefix(key)?.strip_prefix('='))
    }

    /// `ACTION` and the device name (last path component of `DEVPATH`).
    pub fn action_and_name(&self) -> (&str, &str) {
        let action = self.get("ACTION").unwrap_or("");
        let name = self
            .get("DEVPATH")
            .and_then(|p| p.rsplit('/').next())
            .unwrap_or("");
        (action, name)
    }
}

/// A socket bound to the kernel's uevent multicast group.
#[derive(Debug)]
pub struct UeventSocket {
    fd: OwnedFd,
}

impl UeventSocket {
    pub fn open() -> io::Result<UeventSocket> {
        // SAFETY: socket(2) with constant arguments; the result is checked before use.
        let raw = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
                libc::NETLINK_KOBJECT_UEVENT,
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a descriptor socket(2) just returned; nothing else owns it.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: sockaddr_nl is plain data; all-zero is its documented "unbound" value.
        let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        addr.nl_groups = 1;
        // SAFETY: `addr` is a valid sockaddr_nl and the length passed is its size.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&raw const addr).cast::<libc::sockaddr>(),
                std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(UeventSocket { fd })
    }

    /// Waits at most `timeout` for the next message; `Ok(None)` on timeout.
    pub fn recv(&self, timeout: Duration) -> io::Result<Option<Uevent>> {
        let mut pfd = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
        // SAFETY: one valid pollfd, count 1.
        let rc = unsafe { libc::poll(&raw mut pfd, 1, ms) };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        if rc == 0 {
            return Ok(None);
        }
        let mut buf = [0u8; 8192];
        // SAFETY: `buf` is writable for its whole length, which is what is passed.
        let n = unsafe { libc::recv(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Some(Uevent::parse(&buf[..n as usize])))
    }

    /// Every message until `quiet` passes with none, or `limit` has passed since the call.
    pub fn drain(&self, quiet: Duration, limit: Duration) -> io::Result<Vec<Uevent>> {
        let start = Instant::now();
        let mut out = Vec::new();
        while start.elapsed() < limit {
            match self.recv(quiet)? {
                Some(ev) => out.push(ev),
                None => break,
            }
        }
        Ok(out)
    }

    /// Waits up to `limit` for a message matching `want`; returns it with the time it took from `since`.
    pub fn wait_for(
        &self,
        since: Instant,
        limit: Duration,
        want: impl Fn(&Uevent) -> bool,
    ) -> io::Result<Option<(Duration, Uevent)>> {
        loop {
            let left = limit.saturating_sub(since.elapsed());
            if left.is_zero() {
                return Ok(None);
            }
            match self.recv(left)? {
                Some(ev) if want(&ev) => return Ok(Some((since.elapsed(), ev))),
                Some(_) => {}
                None => return Ok(None),
            }
        }
    }
}
