//! [`Manager`]: the entry point that reads batteries from this machine or from a recording.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use voltaic_core::decode::{self, Decoded, Skipped};
use voltaic_core::record::RawDevice;
use voltaic_core::{Battery, Kind, PowerSource};

use crate::error::{Error, ErrorKind, Result};
use crate::{sys, sysfs};

/// Recordings larger than this are not battery recordings (a full `ioreg -l` is a few MiB).
const MAX_RECORDING: u64 = 32 * 1024 * 1024;

/// Reads batteries and power sources, from this machine or from a recording.
///
/// A `Manager` is cheap to create, to clone and to share between threads (`Send + Sync`). Every call
/// reads afresh. On Linux (and for a replayed sysfs-like directory) it keeps the files of the batteries
/// it has [refreshed](Manager::refresh) open, so that a steady refresh is one `pread` of the battery's
/// `uevent`, decoded in place without allocating; clones share these handles (behind a mutex). A
/// handle is dropped when its device goes; a battery whose maker, model or serial changed is read
/// afresh. On macOS and iOS it keeps each battery's IOKit registry entry the same way, so that a refresh
/// reads that entry's properties without walking the registry.
///
/// On Windows it keeps each refreshed battery's device handle and battery tag the same way: a steady
/// refresh is one status query with the kept tag, and a new tag (another pack, or changed static data)
/// makes it read everything again. On FreeBSD and DragonFly it keeps `/dev/acpi` open and each battery's
/// unit, on OpenBSD each battery's sensor device number (checked by name) and `/dev/apm`, on NetBSD
/// `/dev/sysmon` (one dictionary read per refresh).
///
/// ```no_run
/// let manager = voltaic::Manager::new()?;
/// for battery in manager.batteries()? {
///     println!("{}: {:?} %", battery.display_name(), battery.percentage);
/// }
/// # Ok::<(), voltaic::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Manager {
    pub(crate) source: Source,
    /// What refreshes keep, shared by clones (one allocation for both kinds).
    cache: Arc<Cache>,
    /// Whether charge-limit writes may go into a replayed directory ([`Manager::replay_writable`]).
    pub(crate) writable: bool,
}

/// What a manager keeps between refreshes.
#[derive(Debug, Default)]
struct Cache {
    /// Open handles of refreshed batteries (sysfs sources).
    kept: Mutex<sysfs::Kept>,
    /// What the OS shell keeps for refreshes (systems without a sysfs).
    handles: Mutex<sys::Handles>,
}

#[derive(Debug, Clone)]
pub(crate) enum Source {
    System,
    /// A directory laid out like `/sys/class/power_supply`.
    SysfsTree(PathBuf),
    /// A parsed recording file (record text form, uevent text, …): fixed values, and the fields that could
    /// not be read (listed as skipped).
    Recording(Arc<Vec<RawDevice>>, Arc<Vec<Skipped>>),
}

/// Everything read at one moment: batteries (system and peripheral), power sources, and the devices
/// that were seen but are not shown, with the reason.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct Snapshot {
    /// All batteries, system first, in the OS's order within each kind.
    pub batteries: Vec<Battery>,
    /// External power sources.
    pub power_sources: Vec<PowerSource>,
    /// Devices not shown, and why (not a battery, not present, unreadable).
    pub skipped: Vec<Skipped>,
}

impl Manager {
    /// A manager for this machine's batteries.
    ///
    /// # Errors
    /// [`ErrorKind::Unsupported`] on a system voltaic has no backend for (use [`Manager::replay`] there).
    pub fn new() -> Result<Manager> {
        if !sys::SUPPORTED {
            return sys::read_all().map(|_| Manager::of(Source::System));
        }
        Ok(Manager::of(Source::System))
    }

    fn of(source: Source) -> Manager {
        Manager {
            source,
            cache: Arc::default(),
            writable: false,
        }
    }

    /// A manager that reads a recording instead of this machine: a directory laid out like
    /// `/sys/class/power_supply`, or a file in any form [`voltaic_core::replay::parse_recording`] reads.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] when `path` does not exist, [`ErrorKind::InvalidRecording`] (naming the
    /// line) when a file is not a recording or when a directory has entries and none of them is a power
    /// supply (an empty directory is a machine without any), [`ErrorKind::Unsupported`] for a file when
    /// the `replay` feature is off.
    pub fn replay(path: impl AsRef<Path>) -> Result<Manager> {
        let path = path.as_ref();
        let meta = fs::metadata(path).map_err(|e| Error::io("opening the recording", path, e))?;
        if meta.is_dir() {
            check_power_supply_dir(path)?;
            return Ok(Manager::of(Source::SysfsTree(path.to_owned())));
        }
        let mut bytes = Vec::new();
        open_recording(path)?
            .take(MAX_RECORDING + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::io("reading the recording", path, e))?;
        if bytes.len() as u64 > MAX_RECORDING {
            return Err(Error::new(
                ErrorKind::InvalidRecording,
                format!("the recording is larger than {} MiB", MAX_RECORDING >> 20),
            )
            .with_path(path));
        }
        let (devices, problems) = parse_recording(&bytes).map_err(|e| e.with_path(path))?;
        Ok(Manager::of(Source::Recording(
            Arc::new(devices),
            Arc::new(problems),
        )))
    }

    /// Whether this manager replays a recording rather than reading this machine.
    #[must_use]
    pub fn is_replay(&self) -> bool {
        !matches!(self.source, Source::System)
    }

    /// The raw records as the OS gave them (what `voltaic record` prints), and the devices that could
    /// not be read.
    pub fn raw(&self) -> Result<(Vec<RawDevice>, Vec<Skipped>)> {
        match &self.source {
            Source::System => sys::read_all().map(|r| (r.devices, r.unreadable)),
            Source::SysfsTree(root) => sysfs::read_tree(root).map(|t| (t.devices, t.unreadable)),
            Source::Recording(devices, problems) => Ok((devices.to_vec(), problems.to_vec())),
        }
    }

    /// Everything at this moment: all batteries (system and peripheral), power sources, skipped devices.
    pub fn snapshot(&self) -> Result<Snapshot> {
        // sysfs sources are decoded in place (no records built); recordings from their records.
        let (decoded, unreadable) = match &self.source {
            Source::System => sys::decode_all()?,
            Source::SysfsTree(root) => sysfs::decode_tree(root)?,
            Source::Recording(devices, problems) => (decode::decode(devices), problems.to_vec()),
        };
        let Decoded {
            mut batteries,
            power_sources,
            mut skipped,
            ..
        } = decoded;
        // Stable sort: system batteries first, each kind in the OS's order.
        batteries.sort_by_key(|b| b.kind != Kind::System);
        skipped.extend(unreadable);
        Ok(Snapshot {
            batteries,
            power_sources,
            skipped,
        })
    }

    /// The batteries that power this machine (peripherals left out). An empty list on a desktop.
    pub fn batteries(&self) -> Result<Vec<Battery>> {
        // In place: nothing moves while no battery is left out.
        let mut batteries = self.snapshot()?.batteries;
        batteries.retain(|b| b.kind == Kind::System);
        Ok(batteries)
    }

    /// Peripheral batteries (mice, keyboards, game pads, headsets), where the OS exposes them.
    pub fn peripherals(&self) -> Result<Vec<Battery>> {
        Ok(self
            .snapshot()?
            .batteries
            .into_iter()
            .filter(|b| b.kind == Kind::Peripheral)
            .collect())
    }

    /// External power sources (AC adapters, USB-C ports, wireless chargers, UPSes).
    pub fn power_sources(&self) -> Result<Vec<PowerSource>> {
        Ok(self.snapshot()?.power_sources)
    }

    /// Re-reads `battery` in place, from the same device only.
    ///
    /// # Errors
    /// [`ErrorKind::DeviceGone`] when the device has gone or no longer reports a battery; on error
    /// `battery` is left as it was.
    pub fn refresh(&self, battery: &mut Battery) -> Result<()> {
        let device = match &self.source {
            Source::System => {
                if let Some(root) = sys::SYSFS_ROOT {
                    return self.refresh_sysfs(Path::new(root), battery, false);
                }
                let mut handles = self
                    .cache
                    .handles
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                sys::read_kept(&mut handles, &battery.id)?
            }
            Source::SysfsTree(root) => return self.refresh_sysfs(root, battery, true),
            Source::Recording(devices, _) => devices.iter().find(|d| d.id == battery.id).cloned(),
        };
        Self::decode_refreshed(device, battery)
    }

    /// Refreshes through the kept handles; reads the device afresh when they cannot serve it.
    fn refresh_sysfs(&self, root: &Path, battery: &mut Battery, replayed: bool) -> Result<()> {
        let miss = {
            let mut kept = self
                .cache
                .kept
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            match kept.refresh(root, battery, replayed) {
                Ok(()) => return Ok(()),
                Err(miss) => miss,
            }
        };
        let gone = |what: &str| {
            Error::new(
                ErrorKind::DeviceGone,
                format!("battery {} {what}", battery.id),
            )
            .with_path(root)
        };
        match miss {
            sysfs::Miss::Gone => Err(gone("has gone")),
            sysfs::Miss::NotBattery(skip) => {
                Err(gone(&format!("is no battery now: {}", skip.reason)))
            }
            sysfs::Miss::ReadAfresh => {
                let device = sysfs::read_device(root, &battery.id).map_err(|reason| {
                    Error::new(
                        ErrorKind::Io,
                        format!("reading power supply {}: {reason}", battery.id),
                    )
                    .with_path(root)
                })?;
                Self::decode_refreshed(device, battery)
            }
        }
    }

    fn decode_refreshed(device: Option<RawDevice>, battery: &mut Battery) -> Result<()> {
        let gone = || {
            Error::new(
                ErrorKind::DeviceGone,
                format!("battery {} has gone", battery.id),
            )
        };
        let device = device.ok_or_else(gone)?;
        *battery = decode::decode_battery(&device, battery).map_err(|skip| {
            Error::new(
                ErrorKind::DeviceGone,
                format!("battery {}: {}", battery.id, skip.reason),
            )
        })?;
        Ok(())
    }
}

/// Directory entries looked at to tell a power_supply copy from another directory.
const MAX_DIR_ENTRIES: usize = 4096;

/// A directory given to [`Manager::replay`] must look like `/sys/class/power_supply`: empty (a machine
/// without power supplies), or with at least one entry holding a `uevent` or `type` file (every power
/// supply device has both; see the kernel's Documentation/ABI/testing/sysfs-class-power). A directory
/// with entries and none of them a device (a typo, `/tmp`) is not a recording.
fn check_power_supply_dir(path: &Path) -> Result<()> {
    let entries = fs::read_dir(path).map_err(|e| Error::io("reading the directory", path, e))?;
    let mut seen = 0usize;
    for entry in entries.take(MAX_DIR_ENTRIES) {
        let Ok(entry) = entry else { continue };
        seen += 1;
        let dir = entry.path();
        if dir.join("uevent").is_file() || dir.join("type").is_file() {
            return Ok(());
        }
    }
    if seen == 0 {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::InvalidRecording,
        "not a power_supply directory: none of its entries has a uevent or type file",
    )
    .with_path(path))
}

#[cfg(feature = "replay")]
fn parse_recording(bytes: &[u8]) -> Result<(Vec<RawDevice>, Vec<Skipped>)> {
    voltaic_core::replay::read_recording(bytes)
        .map(|r| (r.devices, r.problems))
        .map_err(|e| {
            Error::new(ErrorKind::InvalidRecording, "reading the recording").with_source(e)
        })
}

/// Without the `replay` feature only directories are replayed.
#[cfg(not(feature = "replay"))]
fn parse_recording(_bytes: &[u8]) -> Result<(Vec<RawDevice>, Vec<Skipped>)> {
    Err(Error::new(
        ErrorKind::Unsupported,
        "reading recording files needs voltaic's `replay` feature (a directory laid out like /sys/class/power_supply replays without it)",
    ))
}

/// Opens a recording file without ever blocking: non-blocking on Unix (a FIFO has no writer, a device waits
/// for data), then the opened handle (not the path, which could be swapped) must be a regular file.
fn open_recording(path: &Path) -> Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let file = options
        .open(path)
        .map_err(|e| Error::io("opening the recording", path, e))?;
    let meta = file
        .metadata()
        .map_err(|e| Error::io("opening the recording", path, e))?;
    if !meta.is_file() {
        return Err(Error::new(
            ErrorKind::InvalidRecording,
            "not a regular file or directory (a FIFO, socket or device is never read as a recording)",
        )
        .with_path(path));
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync + Clone>() {}

    #[test]
    fn a_directory_without_power_supplies_is_not_a_recording_but_an_empty_one_is() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Manager::replay(dir.path()).is_ok_and(|m| m.batteries().unwrap().is_empty()));
        fs::create_dir(dir.path().join("notes")).unwrap();
        fs::write(dir.path().join("notes.txt"), "hello").unwrap();
        let err = Manager::replay(dir.path()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidRecording);
        assert_eq!(err.path(), Some(dir.path()));
        fs::create_dir(dir.path().join("BAT0")).unwrap();
        fs::write(dir.path().join("BAT0/type"), "Battery\n").unwrap();
        assert!(Manager::replay(dir.path()).is_ok());
    }

    #[test]
    fn manager_and_model_are_send_sync_clone() {
        assert_send_sync::<Manager>();
        assert_send_sync::<Battery>();
        assert_send_sync::<PowerSource>();
        assert_send_sync::<Snapshot>();
    }
}
