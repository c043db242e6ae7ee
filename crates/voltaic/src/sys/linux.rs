//! Linux (and Android) shell: the `power_supply` class in sysfs.
//!
//! Enumerates `/sys/class/power_supply` and reads each device with [`crate::sysfs`]. Reading needs no
//! privilege. Android 7+ denies apps this directory (SELinux; Powerlevel9k #820): that is reported as
//! "unsupported", not as a crash.

use std::path::Path;

use voltaic_core::decode::{Decoded, Skipped};
use voltaic_core::record::RawDevice;

use super::Reading;
use crate::error::{Error, ErrorKind, Result};
use crate::sysfs;

/// The power-supply class directory (Documentation/ABI/testing/sysfs-class-power).
pub(crate) const ROOT: &str = "/sys/class/power_supply";

pub(crate) const SUPPORTED: bool = true;

/// `Manager` reads and refreshes this directory through [`crate::sysfs`] in place.
pub(crate) const SYSFS_ROOT: Option<&str> = Some(ROOT);

pub(crate) fn read_all() -> Result<Reading> {
    match sysfs::read_tree(Path::new(ROOT)) {
        Ok(tree) => Ok(Reading {
            devices: tree.devices,
            unreadable: tree.unreadable,
        }),
        Err(e) => class_dir_error(e).map(|()| Reading::default()),
    }
}

/// Every device read and decoded in place (no records built): what a snapshot costs.
pub(crate) fn decode_all() -> Result<(Decoded, Vec<Skipped>)> {
    sysfs::decode_tree(Path::new(ROOT))
        .or_else(|e| class_dir_error(e).map(|()| (Decoded::default(), Vec::new())))
}

/// What a failure to list the class directory means: `Ok` (no batteries) when it does not exist.
fn class_dir_error(e: Error) -> Result<()> {
    match e.kind() {
        // No class directory: a container or a kernel without power-supply support has no batteries.
        ErrorKind::NotFound => Ok(()),
        ErrorKind::PermissionDenied => Err(Error::new(
            ErrorKind::Unsupported,
            "this system does not let programs read the power-supply class (Android restricts it to the \
             system; a sandbox may too)",
        )
        .with_path(ROOT)),
        _ => Err(e),
    }
}

pub(crate) fn read_one(id: &str) -> Result<Option<RawDevice>> {
    sysfs::read_device(Path::new(ROOT), id).map_err(|reason| {
        Error::new(
            ErrorKind::Io,
            format!("reading power supply {id}: {reason}"),
        )
        .with_path(ROOT)
    })
}

/// Nothing: on Linux `Manager` refreshes through the descriptors [`crate::sysfs`] keeps (`SYSFS_ROOT`),
/// and this path is never taken.
#[derive(Debug, Default)]
pub(crate) struct Handles;

/// Re-reads device `id` for `Manager::refresh`, through what `handles` keeps.
pub(crate) fn read_kept(_handles: &mut Handles, id: &str) -> Result<Option<RawDevice>> {
    read_one(id)
}

/// The machine's DMI product name (`/sys/devices/virtual/dmi/id/product_name`, absent on device-tree
/// machines), read once per process: it cannot change while the machine runs. The decoder's Intel MacBook
/// rule needs it (UPower's `is_macbook()`, src/linux/up-enumerator-udev.c).
pub(crate) fn machine_name() -> Option<&'static str> {
    static NAME: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    NAME.get_or_init(|| {
        std::fs::read_to_string("/sys/devices/virtual/dmi/id/product_name")
            .ok()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    })
    .as_deref()
}
