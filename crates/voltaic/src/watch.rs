//! Waiting for changes: [`Watcher`] sleeps until the OS announces a power change, then reads once and
//! says what changed ([`Event`]s). It also keeps what a status bar shows: the last reading with steady
//! time estimates ([`Watcher::snapshot`]), warning levels and the machine [`Summary`].
//!
//! See [`Watcher`].

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use voltaic_core::estimate::{Estimator, EstimatorConfig};
use voltaic_core::event::{self, Event};
use voltaic_core::summary::Summary;
use voltaic_core::warning::{Charge, WarningConfig, WarningLevel};
use voltaic_core::{Battery, Kind, PowerSource, State};

use crate::error::Result;
use crate::manager::{Manager, Snapshot};
use crate::sys;

/// Where nothing announces changes, the watcher re-reads this often.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(5);

/// Where the OS announces changes, a charging or discharging battery is still re-read this often:
/// ACPI firmwares commonly notify on plug/unplug and alarm levels but not on every percent. UPower
/// polls for the same reason, every 30 s (`UP_DEVICE_SUPPLY_REFRESH_TIMEOUT`,
/// src/linux/up-device-supply.c). An idle battery, and a machine without one, are never polled.
pub const ACTIVE_POLL_INTERVAL: Duration = Duration::from_secs(30);

impl Manager {
    /// A [`Watcher`] of this manager's batteries and power sources: it reads once now, then
    /// [`Watcher::wait`] returns what changed.
    ///
    /// # Errors
    /// The errors of [`Manager::snapshot`]; an OS error when the notification source cannot be opened
    /// (a sandbox without it is not an error: the watcher polls); [`ErrorKind::Unsupported`] on
    /// targets without a clock (wasm32-unknown-unknown).
    ///
    /// [`ErrorKind::Unsupported`]: crate::ErrorKind::Unsupported
    pub fn watch(&self) -> Result<Watcher> {
        Watcher::new(self.clone())
    }
}

/// Waits for changes of the batteries and power sources: it sleeps until the OS announces a power
/// change, then reads once and says what changed ([`Event`]s). It also keeps what a status bar shows:
/// the last reading with steady time estimates ([`Watcher::snapshot`]), warning levels and the machine
/// [`Summary`].
///
/// # Where the events come from
///
/// | system | notification | polling |
/// |---|---|---|
/// | Linux, Android | kernel uevents (`NETLINK_KOBJECT_UEVENT`, `SUBSYSTEM=power_supply`) | only while a system battery charges or discharges, every 30 s (many ACPI firmwares do not announce every percent); none otherwise |
/// | macOS, iOS | notify(3) power-source keys (`com.apple.system.powersources*`) on one descriptor | none while registered; every 5 s if notifyd refuses |
/// | FreeBSD, DragonFly | devd(8) `ACAD` and `CMBAT` notifications on its seqpacket socket | while a system battery charges or discharges, every 30 s; every 5 s when devd does not run |
/// | Windows | power-setting callbacks (AC/DC source, combined battery percentage) and battery device arrival/removal, on an event object | only while a system battery charges or discharges, every 30 s; every 5 s if the registration is refused |
/// | OpenBSD | apm(4) events, a kqueue on `/dev/apm` | while a system battery charges or discharges, every 30 s; always, every 5 s, when `/dev/apm` has no events |
/// | NetBSD | with the `netbsd-power-events` feature: power(4) events on `/dev/power` (see the feature's note: it takes the power daemon's place) | as OpenBSD; always, every 5 s, without the feature or while powerd holds the device |
/// | a recording ([`Manager::replay`]) | none | always, every 5 s (a sysfs-like directory can change) |
///
/// [`Watcher::set_poll_interval`] changes the interval; [`Watcher::is_native`] says which case applies.
///
/// # A status bar that sleeps until something changes
///
/// ```no_run
/// use std::time::Duration;
///
/// let manager = voltaic::Manager::new()?;
/// let mut watcher = manager.watch()?;
/// loop {
///     let summary = watcher.summary();
///     match summary.percentage {
///         Some(p) if summary.batteries > 0 => {
///             let plug = if summary.on_battery == Some(false) { "⚡" } else { "" };
///             let left = summary
///                 .time_to_empty
///                 .map(|t| format!(" {}:{:02}", t.as_secs() / 3600, t.as_secs() / 60 % 60))
///                 .unwrap_or_default();
///             println!("{plug}{p:.0}%{left} [{}]", summary.warning);
///         }
///         _ => println!("no battery"),
///     }
///     // Blocks without waking until the OS announces a change (or the fallback poll is due).
///     for event in watcher.wait(None)? {
///         eprintln!("{}: {:?}", event.kind(), event.id());
///     }
/// }
/// # Ok::<(), voltaic::Error>(())
/// ```
///
/// With an event loop (mio, tokio's `AsyncFd`) on Unix: wait until the watcher's descriptor
/// ([`AsFd`](std::os::fd::AsFd)) is readable or [`Watcher::next_poll`] has passed, then call
/// `watcher.wait(Some(Duration::ZERO))`, which never blocks. On Windows the watcher is an event object
/// (`AsHandle` / `AsRawHandle`): pass its handle to `WaitForMultipleObjects` (or a thread-pool wait)
/// with a timeout of [`Watcher::next_poll`], then call `watcher.wait(Some(Duration::ZERO))`. The event
/// is manual-reset, so that your wait leaves it signalled for the watcher's; do not reset it yourself.
/// Or run [`Watcher::wait`] in a thread of its own (the watcher is `Send`) and send the events over. With
/// the `async` feature, `Watcher::into_stream` does that for any executor, on every system.
///
/// Made by [`Manager::watch`]. It owns an OS notification source where there is one (a netlink socket
/// on Linux, notification registrations and an event on Windows), released when the watcher is
/// dropped. It is also an iterator of events, blocking until the next one.
#[derive(Debug)]
pub struct Watcher {
    manager: Manager,
    wake: Wakeup,
    /// The last reading as read (what changes are detected against).
    raw: (Vec<Battery>, Vec<PowerSource>),
    /// The last reading with steady estimates.
    snapshot: Snapshot,
    summary: Summary,
    estimators: Vec<(String, Estimator)>,
    warnings: Vec<(String, WarningLevel)>,
    warning_config: WarningConfig,
    estimator_config: EstimatorConfig,
    poll_interval: Duration,
    start: Instant,
    last_read: Instant,
    queue: VecDeque<Event>,
}

impl Watcher {
    fn new(manager: Manager) -> Result<Watcher> {
        if !sys::CAN_WAIT {
            return Err(crate::Error::new(
                crate::ErrorKind::Unsupported,
                "watching needs a clock and a way to sleep, which this target does not have",
            ));
        }
        let os = if manager.is_replay() {
            None
        } else {
            sys::Wake::open()?
        };
        let (wake, poll_interval) = match os {
            Some(os) => (Wakeup::Os(os), ACTIVE_POLL_INTERVAL),
            None => (Wakeup::poll()?, DEFAULT_POLL_INTERVAL),
        };
        let now = Instant::now();
        let mut watcher = Watcher {
            manager,
            wake,
            raw: (Vec::new(), Vec::new()),
            snapshot: Snapshot::default(),
            summary: Summary::new(&[], &[], &WarningConfig::default(), WarningLevel::None),
            estimators: Vec::new(),
            warnings: Vec::new(),
            warning_config: WarningConfig::default(),
            estimator_config: EstimatorConfig::default(),
            poll_interval,
            start: now,
            last_read: now,
            queue: VecDeque::new(),
        };
        watcher.read()?;
        Ok(watcher)
    }

    /// Waits until something changed, for at most `timeout` (`None`: as long as it takes), and returns
    /// the changes: an empty list when the time ran out. While nothing happens it blocks in the OS
    /// without waking (see [`Watcher`] for the fallback polling).
    ///
    /// `wait(Some(Duration::ZERO))` never blocks: it takes what the OS announced and polls if due.
    pub fn wait(&mut self, timeout: Option<Duration>) -> Result<Vec<Event>> {
        if !self.queue.is_empty() {
            return Ok(self.queue.drain(..).collect());
        }
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        loop {
            let now = Instant::now();
            let until_deadline = deadline.map(|d| d.saturating_duration_since(now));
            let wait_for = match (self.next_poll(), until_deadline) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let announced = match &mut self.wake {
                Wakeup::Os(wake) => wake.wait(wait_for)?,
                Wakeup::Poll(..) => {
                    // Without an OS source and without a poll or deadline, nothing can happen: sleep
                    // in long steps rather than spin.
                    std::thread::sleep(wait_for.unwrap_or(Duration::from_secs(3600)));
                    false
                }
            };
            if announced || self.next_poll() == Some(Duration::ZERO) {
                let events = self.read()?;
                if !events.is_empty() {
                    return Ok(events);
                }
            }
            if deadline.is_some_and(|d| Instant::now() >= d) || timeout.is_some_and(|t| t.is_zero())
            {
                return Ok(Vec::new());
            }
        }
    }

    /// How long until the watcher re-reads on its own, if it will: the longest an event loop may wait
    /// on the descriptor before calling [`Watcher::wait`] with a zero timeout. `None` while the OS
    /// announces every change that matters (on Linux: no battery charges or discharges).
    #[must_use]
    pub fn next_poll(&self) -> Option<Duration> {
        let active = self.raw.0.iter().any(|b| {
            b.kind == Kind::System && matches!(b.state, State::Charging | State::Discharging)
        });
        if self.is_native() && !active {
            return None;
        }
        // An interval too long to add (`Duration::MAX`) means "never poll".
        let due = self.last_read.checked_add(self.poll_interval)?;
        Some(due.saturating_duration_since(Instant::now()))
    }

    /// Whether the OS announces changes to this watcher (`false`: it polls every
    /// [`Watcher::poll_interval`]).
    #[must_use]
    pub fn is_native(&self) -> bool {
        matches!(self.wake, Wakeup::Os(_))
    }

    /// The fallback polling interval (see [`Watcher`]).
    #[must_use]
    pub fn poll_interval(&self) -> Duration {
        self.poll_interval
    }

    /// Sets the fallback polling interval (at least 10 ms; `Duration::MAX`: never poll, only wait for
    /// the OS's announcements).
    pub fn set_poll_interval(&mut self, interval: Duration) {
        self.poll_interval = interval.max(Duration::from_millis(10));
    }

    /// Sets the warning thresholds (UPower's by default: 20 %, 5 %, 2 %).
    pub fn set_warning_config(&mut self, config: WarningConfig) {
        self.warning_config = config;
    }

    /// Sets how time estimates are smoothed (applies to batteries seen from now on).
    pub fn set_estimator_config(&mut self, config: EstimatorConfig) {
        self.estimator_config = config;
        self.estimators.clear();
    }

    /// The last reading: all batteries (system first, then peripherals) with steady time estimates
    /// (marked derived where computed), the power sources, and the skipped devices.
    #[must_use]
    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    /// The system batteries of the last reading taken together.
    #[must_use]
    pub fn summary(&self) -> &Summary {
        &self.summary
    }

    /// The warning level of battery `id` in the last reading (`None` when there is no such battery).
    #[must_use]
    pub fn warning(&self, id: &str) -> Option<WarningLevel> {
        self.warnings
            .iter()
            .find(|(i, _)| i == id)
            .map(|(_, level)| *level)
    }

    /// Reads now and returns what changed since the last reading.
    fn read(&mut self) -> Result<Vec<Event>> {
        let mut shown = self.manager.snapshot()?;
        let now = Instant::now();
        let at = now.saturating_duration_since(self.start);
        self.last_read = now;
        let mut events = event::diff(
            (&self.raw.0, &self.raw.1),
            (&shown.batteries, &shown.power_sources),
        );
        self.raw = (shown.batteries.clone(), shown.power_sources.clone());

        self.estimators
            .retain(|(id, _)| shown.batteries.iter().any(|b| &b.id == id));
        self.warnings
            .retain(|(id, _)| shown.batteries.iter().any(|b| &b.id == id));
        for battery in &mut shown.batteries {
            let i = self
                .estimators
                .iter()
                .position(|(id, _)| *id == battery.id)
                .unwrap_or_else(|| {
                    let fresh = Estimator::new(self.estimator_config);
                    self.estimators.push((battery.id.clone(), fresh));
                    self.estimators.len() - 1
                });
            self.estimators[i].1.apply(at, battery);

            let charge = Charge::of(battery);
            if let Some((_, level)) = self.warnings.iter_mut().find(|(id, _)| *id == battery.id) {
                let to = self.warning_config.level(&charge, *level);
                if to != *level {
                    events.push(Event::WarningChanged {
                        id: Some(battery.id.clone()),
                        from: *level,
                        to,
                    });
                    *level = to;
                }
            } else {
                let to = self.warning_config.level(&charge, WarningLevel::None);
                self.warnings.push((battery.id.clone(), to));
            }
        }
        let summary = Summary::new(
            &shown.batteries,
            &shown.power_sources,
            &self.warning_config,
            self.summary.warning,
        );
        if summary.warning != self.summary.warning {
            events.push(Event::WarningChanged {
                id: None,
                from: self.summary.warning,
                to: summary.warning,
            });
        }
        self.summary = summary;
        self.snapshot = shown;
        Ok(events)
    }
}

/// What the watcher sleeps on.
#[derive(Debug)]
enum Wakeup {
    /// The OS's notification source.
    Os(sys::Wake),
    /// A timer. On Unix with a descriptor that never becomes readable, on Windows with an event that
    /// is never signalled, so that `AsFd` / `AsHandle` work everywhere ([`Watcher::next_poll`] says
    /// when to poll).
    Poll(
        #[cfg(unix)] std::os::unix::net::UnixDatagram,
        #[cfg(windows)] std::os::windows::io::OwnedHandle,
    ),
}

impl Wakeup {
    #[allow(clippy::unnecessary_wraps)] // fails only where it makes a descriptor or handle
    fn poll() -> Result<Wakeup> {
        #[cfg(unix)]
        {
            let (idle, _) = std::os::unix::net::UnixDatagram::pair().map_err(|e| {
                crate::Error::new(crate::ErrorKind::Io, "creating the watcher's descriptor")
                    .with_source(e)
            })?;
            Ok(Wakeup::Poll(idle))
        }
        #[cfg(windows)]
        {
            let idle = sys::idle_event().map_err(|e| {
                crate::Error::new(crate::ErrorKind::Io, "creating the watcher's event")
                    .with_source(e)
            })?;
            Ok(Wakeup::Poll(idle))
        }
        #[cfg(not(any(unix, windows)))]
        Ok(Wakeup::Poll())
    }
}

impl Iterator for Watcher {
    type Item = Result<Event>;

    /// The next change, blocking until there is one.
    fn next(&mut self) -> Option<Result<Event>> {
        loop {
            if let Some(event) = self.queue.pop_front() {
                return Some(Ok(event));
            }
            match self.wait(None) {
                Ok(events) => self.queue.extend(events),
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

/// The OS notification descriptor (a netlink socket on Linux), for mio or tokio's `AsyncFd`. Where
/// the watcher polls ([`Watcher::is_native`] is false) it is a descriptor that never becomes
/// readable: wake up after [`Watcher::next_poll`] instead. Either way, then call
/// `wait(Some(Duration::ZERO))`.
#[cfg(unix)]
impl std::os::fd::AsFd for Watcher {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        match &self.wake {
            Wakeup::Os(wake) => wake.as_fd(),
            Wakeup::Poll(idle) => idle.as_fd(),
        }
    }
}

#[cfg(unix)]
impl std::os::fd::AsRawFd for Watcher {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        std::os::fd::AsFd::as_fd(self).as_raw_fd()
    }
}

/// The watcher's event object on Windows, for `WaitForMultipleObjects` or a thread-pool wait: signalled
/// when a power setting changed or a battery arrived or went. Where the watcher polls
/// ([`Watcher::is_native`] is false) it is an event that is never signalled: wake up after
/// [`Watcher::next_poll`] instead. Either way, then call `wait(Some(Duration::ZERO))`. The event is
/// manual-reset and owned by the watcher: wait on it, never reset, signal or close it.
#[cfg(windows)]
impl std::os::windows::io::AsHandle for Watcher {
    fn as_handle(&self) -> std::os::windows::io::BorrowedHandle<'_> {
        match &self.wake {
            Wakeup::Os(wake) => wake.as_handle(),
            Wakeup::Poll(idle) => idle.as_handle(),
        }
    }
}

/// The raw form of the watcher's event handle (see its `AsHandle`).
#[cfg(windows)]
impl std::os::windows::io::AsRawHandle for Watcher {
    fn as_raw_handle(&self) -> std::os::windows::io::RawHandle {
        use std::os::windows::io::AsHandle;
        self.as_handle().as_raw_handle()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        let bat = dir.path().join("BAT0");
        fs::create_dir(&bat).expect("mkdir");
        fs::write(
            bat.join("uevent"),
            "POWER_SUPPLY_NAME=BAT0\nPOWER_SUPPLY_TYPE=Battery\nPOWER_SUPPLY_PRESENT=1\n\
             POWER_SUPPLY_STATUS=Discharging\nPOWER_SUPPLY_CAPACITY=21\n\
             POWER_SUPPLY_ENERGY_NOW=9790000\nPOWER_SUPPLY_ENERGY_FULL=46590000\n\
             POWER_SUPPLY_POWER_NOW=5156000\n",
        )
        .expect("write");
        dir
    }

    /// Replaces values in the battery's uevent file at once (a rename, so a poll never sees half).
    fn set(dir: &tempfile::TempDir, changes: &[(&str, &str)]) {
        let path = dir.path().join("BAT0/uevent");
        let mut text = fs::read_to_string(&path).expect("read");
        for (from, to) in changes {
            text = text.replace(from, to);
        }
        let tmp = dir.path().join("uevent.new");
        fs::write(&tmp, text).expect("write");
        fs::rename(&tmp, &path).expect("rename");
    }

    #[test]
    fn a_replayed_tree_is_polled_and_changes_become_events() {
        let dir = tree();
        let manager = Manager::replay(dir.path()).expect("replay");
        let mut watcher = manager.watch().expect("watch");
        assert!(!watcher.is_native());
        watcher.set_poll_interval(Duration::from_millis(10));
        assert_eq!(watcher.summary().batteries, 1);
        assert_eq!(watcher.warning("BAT0"), Some(WarningLevel::None));
        assert!(
            watcher
                .wait(Some(Duration::from_millis(30)))
                .expect("wait")
                .is_empty()
        );

        set(
            &dir,
            &[
                ("CAPACITY=21", "CAPACITY=19"),
                ("ENERGY_NOW=9790000", "ENERGY_NOW=8850000"),
            ],
        );
        let events = watcher.wait(Some(Duration::from_secs(10))).expect("wait");
        assert_eq!(
            events,
            [
                Event::BatteryChanged { id: "BAT0".into() },
                Event::WarningChanged {
                    id: Some("BAT0".into()),
                    from: WarningLevel::None,
                    to: WarningLevel::Low
                },
                Event::WarningChanged {
                    id: None,
                    from: WarningLevel::None,
                    to: WarningLevel::Low
                },
            ]
        );
        assert_eq!(watcher.snapshot().batteries[0].percentage, Some(19.0));

        fs::remove_dir_all(dir.path().join("BAT0")).expect("rm");
        let events: Vec<Event> = watcher
            .by_ref()
            .take(1)
            .map(|e| e.expect("event"))
            .collect();
        assert_eq!(events, [Event::BatteryRemoved { id: "BAT0".into() }]);
        assert_eq!(watcher.summary().batteries, 0);
    }

    #[test]
    fn zero_timeout_never_blocks_and_the_descriptor_is_idle() {
        let dir = tree();
        let mut watcher = Manager::replay(dir.path())
            .and_then(|m| m.watch())
            .expect("watch");
        watcher.set_poll_interval(Duration::from_secs(3600));
        assert!(watcher.wait(Some(Duration::ZERO)).expect("wait").is_empty());
        let next = watcher.next_poll().expect("a polling watcher polls");
        assert!(next > Duration::from_secs(3000));
        watcher.set_poll_interval(Duration::MAX);
        assert_eq!(watcher.next_poll(), None);
        assert!(
            watcher
                .wait(Some(Duration::from_millis(1)))
                .expect("wait")
                .is_empty()
        );
        #[cfg(unix)]
        {
            use std::os::fd::AsRawFd;
            assert!(watcher.as_raw_fd() >= 0);
        }
        #[cfg(windows)]
        {
            use std::os::windows::io::AsRawHandle;
            assert!(!watcher.as_raw_handle().is_null());
        }
    }

    #[test]
    fn estimates_in_the_snapshot_are_steady_and_marked_derived() {
        let dir = tree();
        let mut watcher = Manager::replay(dir.path())
            .and_then(|m| m.watch())
            .expect("watch");
        watcher.set_poll_interval(Duration::from_millis(10));
        // A one-reading spike of the rate (27.758 W, a real reading under load) barely moves it.
        let before = watcher.snapshot().batteries[0].time_to_empty.expect("time");
        set(&dir, &[("POWER_NOW=5156000", "POWER_NOW=27758000")]);
        watcher.wait(Some(Duration::from_secs(10))).expect("wait");
        let b = &watcher.snapshot().batteries[0];
        let after = b.time_to_empty.expect("time");
        assert!(b.derived.contains(voltaic_core::Field::TimeToEmpty));
        assert!(
            after.as_secs_f64() > before.as_secs_f64() * 0.9,
            "{after:?} vs {before:?}"
        );
    }
}
