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

pub(crate) use imp::{SUPPORTED, read_all, read_one};

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
