//! The OS shells. This file is the only place that names target systems.
//!
//! # The shell contract
//!
//! Each `sys/<os>.rs` module exposes the same three items, and does nothing but enumerate and read:
//!
//! - `SUPPORTED: bool`: whether this build can read batteries at all;
//! - `read_all() -> Result<Reading>`: one [`RawDevice`] per battery or power source the OS lists, in the
//!   OS's own vocabulary, plus the devices that were listed but could not be read. One device failing
//!   never aborts the listing;
//! - `read_one(id) -> Result<Option<RawDevice>>`: re-read the device `read_all` named `id`; `Ok(None)`
//!   when it has gone (the BSD shells have only `read_kept`, which does the same with what it keeps);
//! - `Handles` (`Default + Send`) and `read_kept(&mut Handles, id) -> Result<Option<RawDevice>>`: the same
//!   re-read for `Manager::refresh`, through what the shell keeps between refreshes (an open device, a
//!   unit number, a registry entry), so that a steady refresh repeats no lookup. A kept item whose
//!   device went is dropped, and a device that answers differently (another pack) is never read stale.
//!
//! No unit conversion, sentinel handling or decision about battery meaning happens here: that is
//! `voltaic_core::decode::<os>`, which is tested on every OS from recordings.
//!
//! Charge-limit writes are not part of that contract: [`LIMITS`] below says, per system, where they go
//! (a sysfs directory, OpenBSD's sysctls) or why there is nowhere (`crate::limits` does the writing).

use voltaic_core::decode::Skipped;
use voltaic_core::record::RawDevice;

/// What a shell read: device records, and devices it listed but could not read (with the reason).
#[derive(Debug, Default)]
pub(crate) struct Reading {
    pub devices: Vec<RawDevice>,
    pub unreadable: Vec<Skipped>,
}

#[cfg(any(target_os = "linux", target_os = "android"))]
#[path = "sys/linux.rs"]
mod imp;

#[cfg(any(target_os = "freebsd", target_os = "dragonfly"))]
#[path = "sys/freebsd.rs"]
mod imp;

#[cfg(target_os = "openbsd")]
#[path = "sys/openbsd.rs"]
mod imp;

#[cfg(target_os = "netbsd")]
#[path = "sys/netbsd.rs"]
mod imp;

#[cfg(target_os = "windows")]
#[path = "sys/windows.rs"]
mod imp;

#[cfg(any(target_os = "macos", target_os = "ios"))]
#[path = "sys/macos.rs"]
mod imp;

#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_os = "windows",
    target_os = "freebsd",
    target_os = "dragonfly",
    target_os = "openbsd",
    target_os = "netbsd",
    target_os = "macos",
    target_os = "ios"
)))]
#[path = "sys/unsupported.rs"]
mod imp;

pub(crate) use imp::{Handles, SUPPORTED, read_all, read_kept};

/// The sysfs-like class directory this system's batteries are read from, where there is one (Linux):
/// `Manager` reads it through [`crate::sysfs`] directly, in place, and keeps handles for refresh.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) use imp::{SYSFS_ROOT, decode_all, machine_name};

/// The machine's product name, where a shell reads one for the decoder (Linux DMI).
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn machine_name() -> Option<&'static str> {
    None
}

/// Systems without a sysfs: `Manager` refreshes through `read_kept`.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) const SYSFS_ROOT: Option<&str> = None;

/// Reads and decodes every device (the shells without an in-place path build records).
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn decode_all() -> crate::error::Result<(voltaic_core::decode::Decoded, Vec<Skipped>)> {
    let reading = read_all()?;
    Ok((
        voltaic_core::decode::decode(&reading.devices),
        reading.unreadable,
    ))
}

// Reading files of a sysfs-like tree (crate::sysfs runs on every OS, for `--replay DIR`).

/// The flags every file of a tree is opened with (beside O_RDONLY), by path or relative to a directory.
#[cfg(unix)]
pub(crate) const FILE_OPEN_FLAGS: libc::c_int =
    libc::O_NONBLOCK | libc::O_NOFOLLOW | libc::O_CLOEXEC;

/// Opening never blocks (a FIFO opens at once, and is then refused as not a regular file) and never
/// follows a final symlink (open(2) O_NONBLOCK, O_NOFOLLOW).
#[cfg(unix)]
pub(crate) fn open_flags(options: &mut std::fs::OpenOptions) {
    use std::os::unix::fs::OpenOptionsExt;
    options.custom_flags(FILE_OPEN_FLAGS);
}

/// Windows opens no FIFOs by path and follows reparse points like any reader.
#[cfg(not(unix))]
pub(crate) fn open_flags(_options: &mut std::fs::OpenOptions) {}

#[cfg(unix)]
#[path = "sys/unix_read.rs"]
mod unix_read;

#[cfg(unix)]
pub(crate) use unix_read::append_at;

/// Appends to `buf` what one positioned read of at most `max` bytes at `offset` gives.
#[cfg(not(unix))]
pub(crate) fn append_at(
    file: &std::fs::File,
    buf: &mut Vec<u8>,
    max: usize,
    offset: u64,
) -> std::io::Result<usize> {
    let start = buf.len();
    buf.resize(start + max, 0);
    let read = read_at(file, &mut buf[start..], offset);
    buf.truncate(start + *read.as_ref().unwrap_or(&0));
    read
}

/// One positioned read (pread(2)): the file offset is left alone, so a kept handle needs no seek.
#[cfg(unix)]
pub(crate) fn read_at(file: &std::fs::File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, offset)
}

/// One positioned read (ReadFile with an offset).
#[cfg(windows)]
pub(crate) fn read_at(file: &std::fs::File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, offset)
}

/// Elsewhere: seek, then read.
#[cfg(not(any(unix, windows)))]
pub(crate) fn read_at(file: &std::fs::File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = file;
    file.seek(SeekFrom::Start(offset))?;
    file.read(buf)
}

/// The errno of a read on a deleted kernel object (kernfs answers ENODEV once a device is gone).
#[cfg(unix)]
pub(crate) const ENODEV: Option<i32> = Some(libc::ENODEV);

/// No kernfs: no such errno.
#[cfg(not(unix))]
pub(crate) const ENODEV: Option<i32> = None;

/// Whether an open file has been unlinked or replaced (st_nlink 0): a replayed tree's file that a
/// kept handle must no longer read.
#[cfg(unix)]
pub(crate) fn unlinked(file: &std::fs::File) -> std::io::Result<bool> {
    use std::os::unix::fs::MetadataExt;
    Ok(file.metadata()?.nlink() == 0)
}

/// Windows does not delete a file while it is open.
#[cfg(not(unix))]
#[allow(clippy::unnecessary_wraps)] // the signature of the Unix version
pub(crate) fn unlinked(_file: &std::fs::File) -> std::io::Result<bool> {
    Ok(false)
}
/// Where this system takes charge-limit writes.
#[derive(Debug, Clone, Copy)]
#[allow(dead_code)] // each target builds one variant
pub(crate) enum LimitBackend {
    /// A power-supply class directory: thresholds are attribute files of each battery.
    Sysfs(&'static str),
    /// Machine-wide integer sysctls, written and read by name.
    Sysctl {
        write: fn(&str, i32) -> std::io::Result<()>,
        read: fn(&str) -> Option<i64>,
    },
    /// No interface: why not.
    Unsupported(&'static str),
}

#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) const LIMITS: LimitBackend = LimitBackend::Sysfs(imp::ROOT);

#[cfg(target_os = "openbsd")]
pub(crate) const LIMITS: LimitBackend = LimitBackend::Sysctl {
    write: imp::write_battery_sysctl,
    read: imp::read_battery_sysctl,
};

#[cfg(target_os = "windows")]
pub(crate) const LIMITS: LimitBackend = LimitBackend::Unsupported(
    "Windows has no public interface for charge thresholds; vendors set them through their own tools \
     (Lenovo Vantage, MyASUS, Dell Power Manager, Surface UEFI)",
);

#[cfg(any(target_os = "macos", target_os = "ios"))]
pub(crate) const LIMITS: LimitBackend = LimitBackend::Unsupported(
    "macOS and iOS have no public interface for charge limits (Optimized Charging and the charge limit \
     are set in System Settings; tools that do more write private SMC keys)",
);

#[cfg(any(target_os = "freebsd", target_os = "dragonfly"))]
pub(crate) const LIMITS: LimitBackend = LimitBackend::Unsupported(
    "FreeBSD and DragonFly have no interface for charge thresholds (acpi_ibm and acpi(4) offer none)",
);

#[cfg(target_os = "netbsd")]
pub(crate) const LIMITS: LimitBackend = LimitBackend::Unsupported(
    "NetBSD has no interface for charge thresholds (envsys(4) only reads)",
);

#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_os = "windows",
    target_os = "freebsd",
    target_os = "dragonfly",
    target_os = "openbsd",
    target_os = "netbsd",
    target_os = "macos",
    target_os = "ios"
)))]
pub(crate) const LIMITS: LimitBackend =
    LimitBackend::Unsupported("voltaic has no battery backend for this system");

// Change notifications (the watcher): `Wake::open() -> Result<Option<Wake>>` (`None`: poll instead),
// `Wake::wait(timeout) -> Result<bool>` (`true`: the OS announced a power change), and `AsFd` on Unix,
// `AsHandle` (an event object) on Windows.

/// poll(2) on one descriptor, shared by the Unix watchers (and, with the `async` feature, by the event
/// stream's thread on every Unix; NetBSD without `netbsd-power-events` has no native watcher).
#[cfg(unix)]
#[cfg_attr(
    not(any(
        target_os = "linux",
        target_os = "android",
        target_os = "freebsd",
        target_os = "dragonfly",
        target_os = "macos",
        target_os = "ios",
        target_os = "openbsd",
        all(target_os = "netbsd", feature = "netbsd-power-events")
    )),
    allow(dead_code)
)]
#[path = "sys/poll_fd.rs"]
mod poll_fd;

/// The event stream's wait: the watcher's descriptor or the stream's stop socket.
#[cfg(all(unix, feature = "async"))]
pub(crate) use poll_fd::wait_either;

#[cfg(any(target_os = "linux", target_os = "android"))]
#[path = "sys/linux_watch.rs"]
mod watch_imp;

#[cfg(any(target_os = "freebsd", target_os = "dragonfly"))]
#[path = "sys/freebsd_watch.rs"]
mod watch_imp;

#[cfg(any(target_os = "macos", target_os = "ios"))]
#[path = "sys/macos_watch.rs"]
mod watch_imp;

#[cfg(target_os = "openbsd")]
#[path = "sys/openbsd_watch.rs"]
mod watch_imp;

/// NetBSD's power(4) events take the power daemon's place, so they are opt-in (Cargo.toml).
#[cfg(all(target_os = "netbsd", feature = "netbsd-power-events"))]
#[path = "sys/netbsd_watch.rs"]
mod watch_imp;

#[cfg(target_os = "windows")]
#[path = "sys/windows_watch.rs"]
mod watch_imp;

#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "dragonfly",
    target_os = "macos",
    target_os = "ios",
    target_os = "openbsd",
    all(target_os = "netbsd", feature = "netbsd-power-events"),
    target_os = "windows"
)))]
#[path = "sys/poll_watch.rs"]
mod watch_imp;

pub(crate) use watch_imp::Wake;

/// Windows: a manual-reset event that is never signalled, the handle a polling watcher offers.
#[cfg(target_os = "windows")]
pub(crate) use watch_imp::manual_event as idle_event;

/// The event stream's wait on Windows: the watcher's event or the stream's stop event.
#[cfg(all(target_os = "windows", feature = "async"))]
pub(crate) use watch_imp::{set_event, wait_either};

/// Whether this target has a clock and can sleep: wasm32-unknown-unknown has neither (`Instant::now`
/// and `thread::sleep` panic there), so a watcher is refused with a clear error instead.
pub(crate) const CAN_WAIT: bool = !cfg!(all(target_family = "wasm", target_os = "unknown"));

/// A directory of a sysfs-like tree whose entries are opened by name: on Linux a descriptor (openat(2)).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) use imp::Dir;

/// A directory of a sysfs-like tree whose entries are opened by name: elsewhere its path.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
#[derive(Debug)]
pub(crate) struct Dir(std::path::PathBuf);

#[cfg(not(any(target_os = "linux", target_os = "android")))]
impl Dir {
    pub(crate) fn open(path: &std::path::Path) -> std::io::Result<Dir> {
        if std::fs::metadata(path)?.is_dir() {
            Ok(Dir(path.to_path_buf()))
        } else {
            Err(std::io::Error::from(std::io::ErrorKind::NotADirectory))
        }
    }

    pub(crate) fn open_dir(&self, name: &str) -> std::io::Result<Dir> {
        Dir::open(&self.0.join(name))
    }

    pub(crate) fn open_file(&self, name: &str) -> std::io::Result<std::fs::File> {
        let mut options = std::fs::OpenOptions::new();
        options.read(true);
        open_flags(&mut options);
        options.open(self.0.join(name))
    }

    pub(crate) fn each_name(
        &self,
        prefix: &[u8],
        mut each: impl FnMut(&[u8]),
    ) -> std::io::Result<()> {
        for entry in std::fs::read_dir(&self.0)? {
            let name = entry?.file_name();
            if name.as_encoded_bytes().starts_with(prefix) {
                each(name.as_encoded_bytes());
            }
        }
        Ok(())
    }
}
