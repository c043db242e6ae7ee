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
//! - `read_one(id) -> Result<Option<RawDevice>>`: re-read the device `read_all` named `id` (for
//!   `Manager::refresh`); `Ok(None)` when it has gone.
//!
//! No unit conversion, sentinel handling or decision about battery meaning happens here: that is
//! `voltaic_core::decode::<os>`, which is tested on every OS from recordings.

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

pub(crate) use imp::{SUPPORTED, read_all, read_one};

// Change notifications (the watcher): `Wake::open() -> Result<Option<Wake>>` (`None`: poll instead),
// `Wake::wait(timeout) -> Result<bool>` (`true`: the OS announced a power change), and `AsFd` on Unix.

#[cfg(any(target_os = "linux", target_os = "android"))]
#[path = "sys/linux_watch.rs"]
mod watch_imp;

#[cfg(any(target_os = "freebsd", target_os = "dragonfly"))]
#[path = "sys/freebsd_watch.rs"]
mod watch_imp;

#[cfg(any(target_os = "macos", target_os = "ios"))]
#[path = "sys/macos_watch.rs"]
mod watch_imp;

#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "dragonfly",
    target_os = "macos",
    target_os = "ios"
)))]
#[path = "sys/poll_watch.rs"]
mod watch_imp;

pub(crate) use watch_imp::Wake;

/// Whether this target has a clock and can sleep: wasm32-unknown-unknown has neither (`Instant::now`
/// and `thread::sleep` panic there), so a watcher is refused with a clear error instead.
pub(crate) const CAN_WAIT: bool = !cfg!(all(target_family = "wasm", target_os = "unknown"));
