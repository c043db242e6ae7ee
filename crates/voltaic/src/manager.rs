//! [`Manager`]: the entry point that reads batteries from this machine or from a recording.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use voltaic_core::decode::{self, Decoded, Skipped};
use voltaic_core::record::RawDevice;
use voltaic_core::{Battery, Kind, PowerSource};

use crate::error::{Error, ErrorKind, Result};
use crate::{sys, sysfs};

/// Recordings larger than this are not battery recordings (a full `ioreg -l` is a few MiB).
const MAX_RECORDING: u64 = 32 * 1024 * 1024;

/// Reads batteries and power sources, from this machine or from a recording.
///
/// A `Manager` is cheap to create, to clone and to share between threads (`Send + Sync`); it keeps no
/// OS handle open between calls. Every call reads afresh.
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
    source: Source,
}

#[derive(Debug, Clone)]
enum Source {
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
            return sys::read_all().map(|_| Manager {
                source: Source::System,
            });
        }
        Ok(Manager {
            source: Source::System,
        })
    }

    /// A manager that reads a recording instead of this machine: a directory laid out like
    /// `/sys/class/power_supply`, or a file in any form [`voltaic_core::replay::parse_recording`] reads.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] when `path` does not exist, [`ErrorKind::InvalidRecording`] (naming the
    /// line) when a file is not a recording.
    pub fn replay(path: impl AsRef<Path>) -> Result<Manager> {
        let path = path.as_ref();
        let meta = fs::metadata(path).map_err(|e| Error::io("opening the recording", path, e))?;
        if meta.is_dir() {
            return Ok(Manager {
                source: Source::SysfsTree(path.to_owned()),
            });
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
        let recording = voltaic_core::replay::read_recording(&bytes).map_err(|e| {
            Error::new(ErrorKind::InvalidRecording, "reading the recording")
                .with_path(path)
                .with_source(e)
        })?;
        Ok(Manager {
            source: Source::Recording(Arc::new(recording.devices), Arc::new(recording.problems)),
        })
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
        let (devices, unreadable) = self.raw()?;
        let Decoded {
            mut batteries,
            power_sources,
            mut skipped,
            ..
        } = decode::decode(&devices);
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
        Ok(self
            .snapshot()?
            .batteries
            .into_iter()
            .filter(|b| b.kind == Kind::System)
            .collect())
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
            Source::System => sys::read_one(&battery.id)?,
            Source::SysfsTree(root) => sysfs::read_device(root, &battery.id).map_err(|reason| {
                Error::new(
                    ErrorKind::Io,
                    format!("reading power supply {}: {reason}", battery.id),
                )
                .with_path(root)
            })?,
            Source::Recording(devices, _) => devices.iter().find(|d| d.id == battery.id).cloned(),
        };
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
    fn manager_and_model_are_send_sync_clone() {
        assert_send_sync::<Manager>();
        assert_send_sync::<Battery>();
        assert_send_sync::<PowerSource>();
        assert_send_sync::<Snapshot>();
    }
}
