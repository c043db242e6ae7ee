#![allow(unsafe_code)]
//! Linux (and Android) change notifications: the kernel's uevents for the power_supply class.
//!
//! A `NETLINK_KOBJECT_UEVENT` socket bound to multicast group 1 receives every kobject uevent the
//! kernel sends (lib/kobject_uevent.c); power-supply drivers send `change` through
//! `power_supply_changed()` (drivers/power/supply/power_supply_core.c) and the driver core sends `add`
//! and `remove`. Joining group 1 needs no privilege (the uevent socket is created with
//! `NL_CFG_F_NONROOT_RECV`). Only messages from the kernel (sender port 0) are taken; their meaning is
//! decided by `voltaic_core::event::parse_uevent`. The socket is non-blocking; `wait` blocks in
//! `poll(2)` and so costs no wake-up while nothing happens.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::time::Duration;

use voltaic_core::event::{MAX_UEVENT_MESSAGE, parse_uevent};

use crate::error::{Error, ErrorKind, Result};

/// The kernel's uevent multicast group (udevd re-sends on group 2, which is not joined).
const KERNEL_GROUP: u32 = 1;

/// A kernel uevent socket.
#[derive(Debug)]
pub(crate) struct Wake {
    fd: OwnedFd,
    buf: Vec<u8>,
    /// Take only messages sent by the kernel (false only in tests over a socket pair).
    kernel_only: bool,
    /// Messages taken so far (any subsystem), for tests and diagnostics.
    taken: u64,
}

impl Wake {
    /// Opens the uevent socket; `Ok(None)` when this kernel or sandbox has none (then the watcher
    /// polls).
    pub(crate) fn open() -> Result<Option<Wake>> {
        // SAFETY: socket(2) with constant arguments; it returns a new descriptor or -1.
        let raw = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_DGRAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
                libc::NETLINK_KOBJECT_UEVENT,
            )
        };
        if raw < 0 {
            let err = io::Error::last_os_error();
            return match err.raw_os_error() {
                // No netlink here (a seccomp sandbox, a kernel without uevents): fall back to polling.
                Some(
                    libc::EPROTONOSUPPORT
                    | libc::EAFNOSUPPORT
                    | libc::EACCES
                    | libc::EPERM
                    | libc::ENOSYS,
                ) => Ok(None),
                _ => Err(os_error("opening the kernel uevent socket", err)),
            };
        }
        // SAFETY: `raw` is a descriptor socket(2) just returned, owned by nothing else.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: sockaddr_nl is plain data; all-zero is a valid value (port 0: the kernel picks one).
        let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        addr.nl_groups = KERNEL_GROUP;
        // SAFETY: `addr` is a valid sockaddr_nl and the length passed is its size; `fd` is open.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&raw const addr).cast::<libc::sockaddr>(),
                size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            let err = io::Error::last_os_error();
            return match err.raw_os_error() {
                Some(libc::EPERM | libc::EACCES) => Ok(None),
                _ => Err(os_error("joining the kernel uevent group", err)),
            };
        }
        Ok(Some(Wake::from_fd(fd, true)))
    }

    fn from_fd(fd: OwnedFd, kernel_only: bool) -> Wake {
        Wake {
            fd,
            buf: vec![0; MAX_UEVENT_MESSAGE],
            kernel_only,
            taken: 0,
        }
    }

    /// Waits up to `timeout` (`None`: for ever) for a uevent, then takes every queued message. `true`
    /// when one was about a power supply (or messages were lost, so something may have changed).
    pub(crate) fn wait(&mut self, timeout: Option<Duration>) -> Result<bool> {
        match super::poll_fd::wait_readable(self.fd.as_fd(), timeout) {
            Ok(true) => {}
            Ok(false) => return Ok(false),
            Err(err) => return Err(os_error("waiting for kernel uevents", err)),
        }
        self.drain()
    }

    /// Reads every queued message without blocking.
    fn drain(&mut self) -> Result<bool> {
        let mut announced = false;
        loop {
            // SAFETY: sockaddr_nl is plain data; zero is valid.
            let mut from: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
            let mut from_len = size_of::<libc::sockaddr_nl>() as libc::socklen_t;
            // SAFETY: `buf` is writable for its length; `from`/`from_len` describe a valid buffer.
            let n = unsafe {
                libc::recvfrom(
                    self.fd.as_raw_fd(),
                    self.buf.as_mut_ptr().cast(),
                    self.buf.len(),
                    libc::MSG_DONTWAIT,
                    (&raw mut from).cast::<libc::sockaddr>(),
                    &raw mut from_len,
                )
            };
            let Ok(n) = usize::try_from(n) else {
                let err = io::Error::last_os_error();
                match err.raw_os_error() {
                    Some(libc::EAGAIN | libc::EINTR) => return Ok(announced),
                    // The receive queue overflowed: messages were lost, so read again to be sure.
                    Some(libc::ENOBUFS) => {
                        announced = true;
                        continue;
                    }
                    _ => return Err(os_error("reading kernel uevents", err)),
                }
            };
            // Any local process may send on netlink; the kernel's messages come from port 0.
            if self.kernel_only
                && (from.nl_family != libc::AF_NETLINK as libc::sa_family_t || from.nl_pid != 0)
            {
                continue;
            }
            self.taken += 1;
            let message = &self.buf[..n.min(self.buf.len())];
            if parse_uevent(message).is_some() {
                announced = true;
            }
        }
    }
}

impl AsFd for Wake {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

fn os_error(what: &str, err: io::Error) -> Error {
    let kind = if err.kind() == io::ErrorKind::PermissionDenied {
        ErrorKind::PermissionDenied
    } else {
        ErrorKind::Io
    };
    Error::new(kind, what).with_source(err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixDatagram;

    fn pair() -> (Wake, UnixDatagram) {
        let (ours, theirs) = UnixDatagram::pair().expect("socket pair");
        ours.set_nonblocking(true).expect("nonblocking");
        (Wake::from_fd(OwnedFd::from(ours), false), theirs)
    }

    #[test]
    fn power_supply_messages_wake_others_do_not() {
        let (mut wake, tx) = pair();
        assert!(!wake.wait(Some(Duration::from_millis(1))).expect("wait"));
        tx.send(b"add@/devices/pci0000:00/usb1/1-1\0ACTION=add\0SUBSYSTEM=usb\0")
            .expect("send");
        tx.send(b"libudev\0\xfe\xed\xca\xfeSUBSYSTEM=power_supply\0")
            .expect("send");
        assert!(!wake.wait(Some(Duration::from_secs(5))).expect("wait"));
        tx.send(
            b"change@/devices/virtual/power_supply/test_battery\0ACTION=change\0\
SUBSYSTEM=power_supply\0POWER_SUPPLY_CAPACITY=37\0",
        )
        .expect("send");
        tx.send(b"junk").expect("send");
        assert!(wake.wait(None).expect("wait"));
        // Everything was taken: nothing left to announce.
        assert!(!wake.wait(Some(Duration::ZERO)).expect("wait"));
    }

    #[test]
    fn oversized_messages_are_cut_and_ignored() {
        let (mut wake, tx) = pair();
        let mut big = b"change@/devices/virtual/power_supply/x\0SUBSYSTEM=usb\0".to_vec();
        big.resize(MAX_UEVENT_MESSAGE * 2, b'A');
        tx.send(&big).expect("send");
        assert!(!wake.wait(Some(Duration::from_secs(5))).expect("wait"));
    }

    #[test]
    fn messages_not_from_the_kernel_are_ignored() {
        // A real uevent socket: a power_supply message a local process sends to it (port != 0) is
        // not believed. Sending needs CAP_NET_ADMIN; without it (or without netlink) there is nothing
        // to check.
        let Some(mut wake) = Wake::open().expect("open") else {
            return;
        };
        // SAFETY: plain-data address buffers of the right size; descriptors are open.
        let sent = unsafe {
            let mut ours: libc::sockaddr_nl = std::mem::zeroed();
            let mut len = size_of::<libc::sockaddr_nl>() as libc::socklen_t;
            assert_eq!(
                libc::getsockname(
                    wake.fd.as_raw_fd(),
                    (&raw mut ours).cast::<libc::sockaddr>(),
                    &raw mut len
                ),
                0
            );
            let tx = libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
                libc::NETLINK_KOBJECT_UEVENT,
            );
            assert!(tx >= 0);
            let tx = OwnedFd::from_raw_fd(tx);
            let msg = b"change@/devices/virtual/power_supply/fake\0SUBSYSTEM=power_supply\0";
            libc::sendto(
                tx.as_raw_fd(),
                msg.as_ptr().cast(),
                msg.len(),
                0,
                (&raw const ours).cast::<libc::sockaddr>(),
                len,
            )
        };
        if sent < 0 {
            return;
        }
        assert!(!wake.wait(Some(Duration::from_secs(5))).expect("wait"));
    }

    #[test]
    fn real_uevents_of_other_subsystems_are_taken_but_do_not_wake() {
        // A synthetic uevent of the memory device /dev/null (subsystem `mem`): the real kernel sends
        // it when "change" is written to its uevent file (root only; otherwise nothing to check).
        let Some(mut wake) = Wake::open().expect("open") else {
            return;
        };
        let trigger = "/sys/devices/virtual/mem/null/uevent";
        let started = std::time::Instant::now();
        if std::fs::write(trigger, "change").is_err() {
            return;
        }
        assert!(!wake.wait(Some(Duration::from_secs(5))).expect("wait"));
        let taken_after = started.elapsed();
        assert!(wake.taken >= 1, "the kernel's uevent arrived");
        println!("uevent taken {taken_after:?} after the write");
    }
}
