//! Setting charge limits and charge behaviour: [`Manager::set_charge_limits`],
//! [`Manager::set_charge_behaviour`], and what a battery lets one set ([`Manager::charge_control`]).
//!
//! What may be written and in which order is decided in [`voltaic_core::limits`]; this module finds
//! where the values go (a battery's sysfs directory, OpenBSD's `hw.battery` sysctls), writes each value
//! with one `write(2)`, and reads the result back. Nothing is ever written by reading.

use std::fs;
use std::io::{self, Read, Write as _};
use std::path::{Path, PathBuf};

use voltaic_core::limits::{self, ChargeLimits, Names, PlanError};
use voltaic_core::{Battery, ChargeBehaviour};

use crate::error::{Error, ErrorKind, Result};
use crate::manager::{Manager, Source};
use crate::sys::{self, LimitBackend};

/// Attribute files larger than this are not thresholds (sysfs attributes are at most one page).
const MAX_ATTR: u64 = 4096;

/// Linux `ENODEV`: the attribute's device has been removed while the file was open (kernfs returns it
/// for a write to a deactivated node). 19 on Linux and on the BSDs; std has no kind for it.
const ENODEV: i32 = 19;

/// The advice on a permission error (Linux).
const PERMISSION_ADVICE: &str = "writing charge limits needs root: run `sudo voltaic limit …`, or let a \
     udev rule set them when the battery appears (`voltaic limit set … --persist`)";

/// One write voltaic would make or made: where, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PlannedWrite {
    /// The file (Linux: the attribute's full path) or the sysctl name (OpenBSD).
    pub target: String,
    /// The text written (Linux) or the integer's decimal form (OpenBSD).
    pub value: String,
}

/// What a battery lets one set here, and its present values.
#[derive(Debug)]
#[non_exhaustive]
pub struct ChargeControl {
    /// The present thresholds, read now.
    pub limits: ChargeLimits,
    /// The present behaviour, read now, where the battery has one.
    pub behaviour: Option<ChargeBehaviour>,
    /// Where the start threshold is written (`None`: the battery has none).
    pub start_target: Option<String>,
    /// Where the end threshold is written (`None`: the battery has none).
    pub end_target: Option<String>,
    /// The behaviours the battery offers (empty: it has no behaviour control).
    pub behaviours: Vec<ChargeBehaviour>,
    /// Why nothing can be set here, when that is so: an unsupported system, a read-only replay,
    /// missing permission. `None` means writing is allowed.
    pub why_not: Option<Error>,
}

/// Where writes go for one battery.
enum Target {
    /// The battery's directory in a power-supply tree.
    Dir(PathBuf),
    /// OpenBSD's machine-wide sysctls.
    Sysctl {
        write: fn(&str, i32) -> io::Result<()>,
        read: fn(&str) -> Option<i64>,
    },
}

impl Manager {
    /// Like [`Manager::replay`] on a directory laid out like `/sys/class/power_supply`, but charge-limit
    /// writes go into the directory's files. For tests and fixture trees; [`Manager::replay`] refuses to
    /// write so that nobody writes into a copy by accident.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] when `path` does not exist; [`ErrorKind::InvalidInput`] when it is not a
    /// directory (a recording file cannot be written).
    pub fn replay_writable(path: impl AsRef<Path>) -> Result<Manager> {
        let path = path.as_ref();
        let meta = fs::metadata(path).map_err(|e| Error::io("opening the recording", path, e))?;
        if !meta.is_dir() {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "only a directory laid out like /sys/class/power_supply can be replayed writable",
            )
            .with_path(path));
        }
        let mut manager = Manager::replay(path)?;
        manager.writable = true;
        Ok(manager)
    }

    /// Sets `battery`'s charge thresholds and returns them as read back afterwards: what the driver
    /// kept, which may differ from what was asked (some accept only certain values). `None` in
    /// `limits` leaves that threshold as it is.
    ///
    /// The request is checked before anything is written (0–100 %, start below end, the single value
    /// against the other present one) and the writes are ordered so that the pair is valid after each.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] for a request refused before writing; [`ErrorKind::Unsupported`] on a
    /// system without an interface, for a recording, a read-only replay, or a battery without that
    /// threshold; [`ErrorKind::PermissionDenied`] (with what to do) without privilege;
    /// [`ErrorKind::Rejected`] when the driver refuses a value; [`ErrorKind::DeviceGone`] when the
    /// battery went away.
    pub fn set_charge_limits(
        &self,
        battery: &Battery,
        limits: ChargeLimits,
    ) -> Result<ChargeLimits> {
        let target = self.limit_target(battery)?;
        let writes = plan_on(&target, battery, limits)?;
        let mut done: Vec<String> = Vec::new();
        for w in &writes {
            write_one(
                &target,
                battery,
                w.name,
                &w.value.to_string(),
                i32::from(w.value),
                &done,
            )?;
            done.push(format!("{} = {}", w.name, w.value));
        }
        Ok(read_limits(&target, battery)?.0)
    }

    /// The writes [`Manager::set_charge_limits`] would make, in order, without making them
    /// (`voltaic limit set --dry-run`). The same checks apply.
    pub fn plan_charge_limits(
        &self,
        battery: &Battery,
        limits: ChargeLimits,
    ) -> Result<Vec<PlannedWrite>> {
        let target = self.limit_target(battery)?;
        let writes = plan_on(&target, battery, limits)?;
        Ok(writes
            .iter()
            .map(|w| PlannedWrite {
                target: target_name(&target, w.name),
                value: w.value.to_string(),
            })
            .collect())
    }

    /// The limits that mean "charge to full" for `battery`: end 100 %, and start 0 % where it has a
    /// start threshold ([`voltaic_core::limits::full`]).
    pub fn full_charge_limits(&self, battery: &Battery) -> Result<ChargeLimits> {
        let target = self.limit_target(battery)?;
        Ok(limits::full(read_limits(&target, battery)?.1))
    }

    /// Sets `battery`'s charge behaviour and returns the behaviour read back afterwards.
    ///
    /// # Errors
    /// As [`Manager::set_charge_limits`]; [`ErrorKind::InvalidInput`] when the battery does not offer
    /// `behaviour`.
    pub fn set_charge_behaviour(
        &self,
        battery: &Battery,
        behaviour: ChargeBehaviour,
    ) -> Result<ChargeBehaviour> {
        let target = self.limit_target(battery)?;
        let (name, value, number) = plan_behaviour(&target, battery, behaviour)?;
        write_one(&target, battery, name, &value, number, &[])?;
        read_behaviour(&target, battery)?.0.ok_or_else(|| {
            Error::new(
                ErrorKind::Io,
                format!(
                    "battery {}: the charge behaviour could not be read back",
                    battery.id
                ),
            )
        })
    }

    /// The write [`Manager::set_charge_behaviour`] would make, without making it.
    pub fn plan_charge_behaviour(
        &self,
        battery: &Battery,
        behaviour: ChargeBehaviour,
    ) -> Result<PlannedWrite> {
        let target = self.limit_target(battery)?;
        let (name, value, _) = plan_behaviour(&target, battery, behaviour)?;
        Ok(PlannedWrite {
            target: target_name(&target, name),
            value,
        })
    }

    /// What `battery` lets one set here, its present limits and behaviour, and why nothing can be set
    /// when that is so. Nothing is written: permission is tested by opening the attribute for writing
    /// and closing it again, which the kernel acts on only when data is written.
    ///
    /// # Errors
    /// [`ErrorKind::DeviceGone`] when the battery has gone; other failures reading its directory.
    pub fn charge_control(&self, battery: &Battery) -> Result<ChargeControl> {
        let target = match self.limit_target(battery) {
            Ok(t) => t,
            Err(e) if e.kind() == ErrorKind::DeviceGone => return Err(e),
            Err(e) => {
                return Ok(ChargeControl {
                    limits: ChargeLimits::new(
                        battery.charge_start_threshold,
                        battery.charge_end_threshold,
                    ),
                    behaviour: battery.charge_behaviour,
                    start_target: None,
                    end_target: None,
                    behaviours: Vec::new(),
                    why_not: Some(e),
                });
            }
        };
        let (limits, names) = read_limits(&target, battery)?;
        let (behaviour, behaviours, behaviour_name) = read_behaviour(&target, battery)?;
        let mut why_not = None;
        if let Target::Dir(dir) = &target {
            let probe = [names.end, names.start, behaviour_name]
                .into_iter()
                .flatten()
                .next();
            if let Some(name) = probe
                && let Err(e) = fs::OpenOptions::new().write(true).open(dir.join(name))
            {
                why_not = Some(write_error(battery, &dir.join(name), name, "", e, &[]));
            }
        }
        if names.start.is_none()
            && names.end.is_none()
            && behaviours.is_empty()
            && why_not.is_none()
        {
            why_not = Some(Error::new(
                ErrorKind::Unsupported,
                format!(
                    "battery {} has no charge thresholds or charge behaviour to set (no platform \
                     driver offers them for it)",
                    battery.id
                ),
            ));
        }
        Ok(ChargeControl {
            limits,
            behaviour,
            start_target: names.start.map(|n| target_name(&target, n)),
            end_target: names.end.map(|n| target_name(&target, n)),
            behaviours,
            why_not,
        })
    }

    /// Where writes for `battery` go, or why they cannot.
    fn limit_target(&self, battery: &Battery) -> Result<Target> {
        let root = match &self.source {
            Source::System => match sys::LIMITS {
                LimitBackend::Sysfs(root) => PathBuf::from(root),
                LimitBackend::Sysctl { write, read } => return Ok(Target::Sysctl { write, read }),
                LimitBackend::Unsupported(why) => {
                    return Err(Error::new(ErrorKind::Unsupported, why));
                }
            },
            Source::SysfsTree(root) if self.writable => root.clone(),
            Source::SysfsTree(root) => {
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    "this is a replayed directory, opened read-only: charge limits are not written into \
                     a copy (open it with Manager::replay_writable, or `--writable` on the command line)",
                )
                .with_path(root));
            }
            Source::Recording(..) => {
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    "a replayed recording has no charge limits to set",
                ));
            }
        };
        let dir = device_dir(&root, &battery.id)?;
        if !dir.is_dir() {
            return Err(gone(battery));
        }
        Ok(Target::Dir(dir))
    }
}

fn plan_on(
    target: &Target,
    battery: &Battery,
    request: ChargeLimits,
) -> Result<Vec<limits::Write>> {
    let (current, names) = read_limits(target, battery)?;
    limits::plan(current, request, names).map_err(|e| {
        // An attribute the battery reported that is no longer there, or a device directory without its
        // uevent: the kernel is removing the device (it takes the files away before the directory).
        if matches!(e, PlanError::NotOffered(_)) && is_going(target, battery) {
            return gone(battery);
        }
        let kind = match e {
            PlanError::NotOffered(_) => ErrorKind::Unsupported,
            _ => ErrorKind::InvalidInput,
        };
        Error::new(
            kind,
            format!("battery {}: {e}; nothing was written", battery.id),
        )
    })
}

/// `root/id`, when `id` is a plain device name (a caller's `Battery` is not trusted to stay inside
/// the tree).
fn device_dir(root: &Path, id: &str) -> Result<PathBuf> {
    let plain = !id.is_empty()
        && id != "."
        && id != ".."
        && !id.contains(['/', '\\', '\0'])
        && !id.chars().any(char::is_control);
    if plain {
        Ok(root.join(id))
    } else {
        Err(Error::new(
            ErrorKind::InvalidInput,
            format!("{id:?} is not a power-supply device name"),
        ))
    }
}

/// Whether `battery`'s device is being removed: a threshold it reported has no file any more, or its
/// directory has lost its uevent.
fn is_going(target: &Target, battery: &Battery) -> bool {
    let Target::Dir(dir) = target else {
        return false;
    };
    let reported =
        battery.charge_start_threshold.is_some() || battery.charge_end_threshold.is_some();
    let files = [limits::LINUX_START, limits::LINUX_END]
        .iter()
        .flatten()
        .any(|name| dir.join(name).exists());
    (reported && !files) || !dir.join("uevent").exists()
}

fn gone(battery: &Battery) -> Error {
    Error::new(
        ErrorKind::DeviceGone,
        format!("battery {} has gone", battery.id),
    )
}

fn target_name(target: &Target, name: &str) -> String {
    match target {
        Target::Dir(dir) => dir.join(name).display().to_string(),
        Target::Sysctl { .. } => name.to_owned(),
    }
}

/// The present thresholds and where each is written.
fn read_limits(target: &Target, battery: &Battery) -> Result<(ChargeLimits, Names)> {
    match target {
        Target::Dir(dir) => {
            let find = |candidates: [&'static str; 2]| {
                candidates.into_iter().find(|n| dir.join(n).exists())
            };
            let names = Names {
                start: find(limits::LINUX_START),
                end: find(limits::LINUX_END),
            };
            let value = |name: Option<&str>| -> Result<Option<u8>> {
                let Some(name) = name else { return Ok(None) };
                Ok(read_attr(dir, name, battery)?
                    .and_then(|t| t.trim().parse::<u8>().ok())
                    .filter(|v| *v <= 100))
            };
            Ok((
                ChargeLimits::new(value(names.start)?, value(names.end)?),
                names,
            ))
        }
        Target::Sysctl { read, .. } => {
            let get = |name: &'static str| read(name).map(|v| (name, v));
            let start = limits::OPENBSD.start.and_then(get);
            let end = limits::OPENBSD.end.and_then(get);
            let pct = |v: Option<(&str, i64)>| {
                v.and_then(|(_, v)| u8::try_from(v).ok())
                    .filter(|v| *v <= 100)
            };
            Ok((
                ChargeLimits::new(pct(start), pct(end)),
                Names {
                    start: start.map(|(n, _)| n),
                    end: end.map(|(n, _)| n),
                },
            ))
        }
    }
}

/// The present behaviour, the behaviours offered, and where the behaviour is written.
fn read_behaviour(
    target: &Target,
    battery: &Battery,
) -> Result<(
    Option<ChargeBehaviour>,
    Vec<ChargeBehaviour>,
    Option<&'static str>,
)> {
    match target {
        Target::Dir(dir) => match read_attr(dir, limits::LINUX_BEHAVIOUR, battery)? {
            Some(text) => {
                let (active, offered) = limits::parse_behaviours(&text);
                Ok((active, offered, Some(limits::LINUX_BEHAVIOUR)))
            }
            None => Ok((None, Vec::new(), None)),
        },
        Target::Sysctl { read, .. } => Ok(match read(limits::OPENBSD_MODE) {
            Some(mode) => {
                let all = [
                    ChargeBehaviour::Auto,
                    ChargeBehaviour::InhibitCharge,
                    ChargeBehaviour::ForceDischarge,
                ];
                let active = all
                    .into_iter()
                    .find(|b| i64::from(limits::openbsd_chargemode(*b)) == mode);
                (active, all.to_vec(), Some(limits::OPENBSD_MODE))
            }
            None => (None, Vec::new(), None),
        }),
    }
}

/// Checks `behaviour` against what the battery offers: the attribute name, its text and the number.
fn plan_behaviour(
    target: &Target,
    battery: &Battery,
    behaviour: ChargeBehaviour,
) -> Result<(&'static str, String, i32)> {
    let (_, offered, name) = read_behaviour(target, battery)?;
    // The kernel always brackets the active word among those offered (power_supply_sysfs.c); a lone
    // word without brackets (a copied tree holding what was written) says nothing of what else is
    // offered, so nothing is refused on its account.
    let listed = match target {
        Target::Dir(dir) => {
            read_attr(dir, limits::LINUX_BEHAVIOUR, battery)?.is_some_and(|t| t.contains('['))
        }
        Target::Sysctl { .. } => true,
    };
    let Some(name) = name else {
        return Err(Error::new(
            ErrorKind::Unsupported,
            format!("battery {} has no charge behaviour to set", battery.id),
        ));
    };
    if listed && !offered.contains(&behaviour) {
        let list: Vec<&str> = offered
            .iter()
            .map(|b| limits::linux_behaviour_word(*b))
            .collect();
        return Err(Error::new(
            ErrorKind::InvalidInput,
            format!(
                "battery {} offers the charge behaviours {}, not {}; nothing was written",
                battery.id,
                list.join(", "),
                limits::linux_behaviour_word(behaviour)
            ),
        ));
    }
    let number = limits::openbsd_chargemode(behaviour);
    let text = match target {
        Target::Dir(_) => limits::linux_behaviour_word(behaviour).to_owned(),
        Target::Sysctl { .. } => number.to_string(),
    };
    Ok((name, text, number))
}

/// Writes one value: a sysfs attribute with one `write(2)`, or a sysctl.
fn write_one(
    target: &Target,
    battery: &Battery,
    name: &str,
    text: &str,
    number: i32,
    done: &[String],
) -> Result<()> {
    match target {
        Target::Dir(dir) => {
            let path = dir.join(name);
            write_attr(&path, text).map_err(|e| write_error(battery, &path, name, text, e, done))
        }
        Target::Sysctl { write, .. } => {
            write(name, number).map_err(|e| sysctl_error(name, text, e, done))
        }
    }
}

/// Writes `text` to an existing attribute file in one `write(2)` (O_TRUNC so that a regular file in a
/// replayed tree holds just the value; sysfs ignores it). Never creates a file.
fn write_attr(path: &Path, text: &str) -> io::Result<()> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)?;
    let bytes = text.as_bytes();
    let n = file.write(bytes)?;
    if n == bytes.len() {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::WriteZero,
            format!("the driver took {n} of {} bytes", bytes.len()),
        ))
    }
}

/// What a failed attribute write means (Linux errnos; kernfs, power_supply_sysfs.c and the drivers'
/// `*_store` functions): EACCES/EPERM → permission (with what to do), ENODEV or a vanished directory →
/// the battery has gone, ENOENT with the directory present → no such attribute, EINVAL → the driver
/// refused the value (with what drivers are known to accept).
pub(crate) fn write_error(
    battery: &Battery,
    path: &Path,
    name: &str,
    value: &str,
    err: io::Error,
    done: &[String],
) -> Error {
    let dir_gone = path.parent().is_some_and(|d| !d.exists());
    let (kind, message) = match err.kind() {
        io::ErrorKind::PermissionDenied => (
            ErrorKind::PermissionDenied,
            format!(
                "permission denied writing {name} of battery {}: {PERMISSION_ADVICE}",
                battery.id
            ),
        ),
        _ if cfg!(unix) && err.raw_os_error() == Some(ENODEV) => (
            ErrorKind::DeviceGone,
            format!("battery {} has gone", battery.id),
        ),
        io::ErrorKind::NotFound if dir_gone => (
            ErrorKind::DeviceGone,
            format!("battery {} has gone", battery.id),
        ),
        io::ErrorKind::NotFound => (
            ErrorKind::Unsupported,
            format!("battery {} has no {name} attribute", battery.id),
        ),
        io::ErrorKind::InvalidInput => (
            ErrorKind::Rejected,
            format!(
                "battery {}: {}",
                battery.id,
                limits::rejected_message(name, value)
            ),
        ),
        _ => (
            ErrorKind::Io,
            format!("writing {value} to {name} of battery {}", battery.id),
        ),
    };
    Error::new(kind, with_done(message, done))
        .with_path(path)
        .with_source(err)
}

/// What a failed OpenBSD sysctl write means (sysctl(2), kern_sysctl.c `sysctl_hwbattery`).
fn sysctl_error(name: &str, value: &str, err: io::Error, done: &[String]) -> Error {
    let (kind, message) = match err.kind() {
        io::ErrorKind::PermissionDenied => (
            ErrorKind::PermissionDenied,
            format!("permission denied setting {name}: run as root (doas voltaic limit …)"),
        ),
        io::ErrorKind::InvalidInput => (
            ErrorKind::Rejected,
            format!(
                "the kernel or driver refused {name} = {value} (it takes 0–100 %, mode -1, 0 or 1)"
            ),
        ),
        io::ErrorKind::NotFound | io::ErrorKind::Unsupported => (
            ErrorKind::Unsupported,
            format!("no driver on this machine offers {name}"),
        ),
        // EOPNOTSUPP has no std kind on every release: no setter registered (kern_sysctl.c).
        _ if err.raw_os_error() == Some(45) => (
            ErrorKind::Unsupported,
            format!("no driver on this machine offers {name}"),
        ),
        _ => (ErrorKind::Io, format!("setting {name} to {value}")),
    };
    Error::new(kind, with_done(message, done)).with_source(err)
}

fn with_done(message: String, done: &[String]) -> String {
    if done.is_empty() {
        message
    } else {
        format!("{message} (already written: {})", done.join(", "))
    }
}

/// One attribute's text, at most [`MAX_ATTR`] bytes; `None` when the file does not exist. A missing
/// directory is [`ErrorKind::DeviceGone`]; a non-regular file (a FIFO in a copied tree) is not read.
fn read_attr(dir: &Path, name: &str, battery: &Battery) -> Result<Option<String>> {
    let path = dir.join(name);
    let read = || -> io::Result<String> {
        if !fs::metadata(&path)?.is_file() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a regular file",
            ));
        }
        let mut bytes = Vec::new();
        fs::File::open(&path)?
            .take(MAX_ATTR)
            .read_to_end(&mut bytes)?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    };
    match read() {
        Ok(text) => Ok(Some(text)),
        Err(_) if !dir.exists() => Err(gone(battery)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) if cfg!(unix) && e.raw_os_error() == Some(ENODEV) => Err(gone(battery)),
        // Unreadable now (EIO, ENODATA from a firmware call): the value is unknown, not the device broken.
        Err(_) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    fn bat() -> Battery {
        Battery::new("BAT0", voltaic_core::Kind::System)
    }

    #[cfg(unix)]
    fn map(err: io::Error) -> Error {
        let path = std::env::temp_dir().join("charge_control_end_threshold");
        write_error(
            &bat(),
            &path,
            "charge_control_end_threshold",
            "75",
            err,
            &[],
        )
    }

    // Root bypasses file permissions, so a test tree cannot produce EACCES for root; the mapping of each
    // errno is tested here instead. (Unix errno numbers: on Windows the same raw numbers are other Win32
    // errors, 13 is ERROR_INVALID_DATA.)
    #[cfg(unix)]
    #[test]
    fn errnos_map_to_kinds_with_advice() {
        let e = map(io::Error::from_raw_os_error(13)); // EACCES
        assert_eq!(e.kind(), ErrorKind::PermissionDenied);
        assert!(
            e.to_string().contains("needs root") && e.to_string().contains("--persist"),
            "{e}"
        );
        assert_eq!(
            map(io::Error::from_raw_os_error(1)).kind(),
            ErrorKind::PermissionDenied
        ); // EPERM
        assert_eq!(
            map(io::Error::from_raw_os_error(ENODEV)).kind(),
            ErrorKind::DeviceGone
        );
        let e = map(io::Error::from_raw_os_error(22)); // EINVAL
        assert_eq!(e.kind(), ErrorKind::Rejected);
        assert!(
            e.to_string()
                .contains("refused charge_control_end_threshold = 75"),
            "{e}"
        );
        // ENOENT with the directory present: the attribute is missing, not the battery.
        assert_eq!(
            map(io::Error::from_raw_os_error(2)).kind(),
            ErrorKind::Unsupported
        );
        assert_eq!(map(io::Error::from_raw_os_error(5)).kind(), ErrorKind::Io); // EIO
        let gone = write_error(
            &bat(),
            Path::new("/nonexistent-voltaic-dir/BAT0/charge_control_end_threshold"),
            "charge_control_end_threshold",
            "80",
            io::Error::from_raw_os_error(2),
            &["charge_control_start_threshold = 75".into()],
        );
        assert_eq!(gone.kind(), ErrorKind::DeviceGone);
        assert!(
            gone.to_string()
                .contains("already written: charge_control_start_threshold = 75")
        );
    }

    #[cfg(unix)] // Unix errno numbers (see above)
    #[test]
    fn sysctl_errnos_map_to_kinds() {
        let e = |code| {
            sysctl_error(
                "hw.battery.chargestop",
                "80",
                io::Error::from_raw_os_error(code),
                &[],
            )
        };
        assert_eq!(e(1).kind(), ErrorKind::PermissionDenied); // EPERM
        assert_eq!(e(22).kind(), ErrorKind::Rejected); // EINVAL
        assert_eq!(e(45).kind(), ErrorKind::Unsupported); // EOPNOTSUPP (OpenBSD)
    }

    #[test]
    fn device_names_stay_inside_the_tree() {
        let root = Path::new("/sys/class/power_supply");
        assert!(device_dir(root, "BAT0").is_ok());
        for bad in ["", ".", "..", "../etc", "a/b", "BAT\n0"] {
            assert_eq!(
                device_dir(root, bad).unwrap_err().kind(),
                ErrorKind::InvalidInput,
                "{bad:?}"
            );
        }
    }
}
