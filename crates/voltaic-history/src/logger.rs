//! [`Logger`]: decides which readings are stored, notices events, and compacts on schedule.
//!
//! The logger is fed readings by its caller; it does not read batteries or wait itself. The `voltaic log`
//! loop waits for "the next change or a timeout" (OS change events where the library has them, polling as
//! the fallback) and hands each reading to [`Logger::observe`]. A sample is stored when something a user
//! would notice changed (state, whole percent, full capacity, cycle count, external power) and otherwise at
//! most once per idle interval, so a machine left on its charger for a week costs a few hundred rows.

use std::collections::HashMap;
use std::time::Duration;

use voltaic::{Battery, State};

use crate::error::Result;
use crate::store::{Event, EventKind, Identity, Retention, Sample, Store};

/// How often compaction runs while logging.
const COMPACT_EVERY: i64 = 3600;

/// What one call of [`Logger::observe`] stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Observed {
    /// Samples written.
    pub samples: usize,
    /// Events written.
    pub events: usize,
    /// Samples folded into hourly rows by a compaction that ran in this call.
    pub compacted: u64,
}

#[derive(Debug)]
struct Last {
    sample: Sample,
    written: i64,
}

/// The logger's memory of what it last stored for each battery.
#[derive(Debug)]
pub struct Logger {
    idle: i64,
    retention: Retention,
    last: HashMap<Identity, Last>,
    last_compaction: Option<i64>,
}

impl Logger {
    /// A logger that stores a sample at least every `idle` while nothing changes, and keeps data per
    /// `retention`.
    #[must_use]
    pub fn new(idle: Duration, retention: Retention) -> Logger {
        Logger {
            idle: i64::try_from(idle.as_secs()).unwrap_or(i64::MAX).max(1),
            retention,
            last: HashMap::new(),
            last_compaction: None,
        }
    }

    /// Takes the batteries read at `now` (Unix seconds): stores those that changed or were idle long
    /// enough, and the events seen since the previous reading, in one transaction; compacts once an hour.
    pub fn observe(
        &mut self,
        store: &mut Store,
        now: i64,
        batteries: &[Battery],
    ) -> Result<Observed> {
        let mut samples = Vec::new();
        let mut events = Vec::new();
        for battery in batteries {
            let identity = Identity::of(battery);
            let sample = Sample::from_battery(battery, now);
            let write = match self.last.get(&identity) {
                None => true,
                Some(last) => {
                    for kind in events_between(&last.sample, &sample) {
                        events.push((
                            identity.clone(),
                            Event {
                                time: now,
                                kind,
                                percentage: sample.percentage,
                            },
                        ));
                    }
                    changed(&last.sample, &sample) || now - last.written >= self.idle
                }
            };
            if write {
                samples.push((identity, sample));
            } else if let Some(last) = self.last.get_mut(&identity) {
                // Events compare with the latest reading, stored or not, so each is reported once.
                last.sample = sample;
            }
        }
        if !samples.is_empty() || !events.is_empty() {
            store.insert(&samples, &events)?;
        }
        let observed = Observed {
            samples: samples.len(),
            events: events.len(),
            compacted: 0,
        };
        for (identity, sample) in samples {
            self.last.insert(
                identity,
                Last {
                    sample,
                    written: now,
                },
            );
        }
        let compacted = if self
            .last_compaction
            .is_none_or(|t| now - t >= COMPACT_EVERY)
        {
            self.last_compaction = Some(now);
            store.compact(now, &self.retention)?.samples
        } else {
            0
        };
        Ok(Observed {
            compacted,
            ..observed
        })
    }
}

/// Whether `now` differs from `before` in a way worth a row of its own.
fn changed(before: &Sample, now: &Sample) -> bool {
    let whole = |p: Option<f64>| p.map(|v| v.round() as i64);
    let mwh = |e: Option<f64>| e.map(|v| (v * 1000.0).round() as i64);
    before.state != now.state
        || whole(before.percentage) != whole(now.percentage)
        || before.cycle_count != now.cycle_count
        || mwh(before.energy_full_wh) != mwh(now.energy_full_wh)
        || before.external_power != now.external_power
}

/// Whether the machine is on external power: the OS's answer when it gives one, else what the state implies
/// (charging, full and not-charging need a charger; discharging means none).
fn on_power(s: &Sample) -> Option<bool> {
    s.external_power.or(match s.state {
        State::Charging | State::Full | State::NotCharging => Some(true),
        State::Discharging => Some(false),
        _ => None,
    })
}

fn events_between(before: &Sample, now: &Sample) -> Vec<EventKind> {
    let mut out = Vec::new();
    match (on_power(before), on_power(now)) {
        (Some(false), Some(true)) => out.push(EventKind::Plugged),
        (Some(true), Some(false)) => out.push(EventKind::Unplugged),
        _ => {}
    }
    if now.state == State::Full && before.state != State::Full {
        out.push(EventKind::Full);
    }
    // Charging that stops below full with the charger still connected: a charge limit (or the firmware's
    // optimized charging) holding the battery.
    if now.state == State::NotCharging
        && before.state == State::Charging
        && now.percentage.is_some_and(|p| p < 99.5)
    {
        out.push(EventKind::LimitReached);
    }
    out
}
