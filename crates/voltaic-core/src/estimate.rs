//! Steady time estimates: time to empty / full from a smoothed rate, for a battery read again and again.
//!
//! Firmware gives the rate of one moment: a compile, a screen wake or a radio burst makes `power_now`
//! jump several-fold for a second, and `energy ÷ rate` jumps with it (a pack at 23 Wh reads 4.6 h, then
//! 50 min, then 4.6 h). Right after plugging in or out the rate is also wrong for a while (the charger
//! ramps up, the gauge's own filter still holds the old direction). The [`Estimator`] keeps an
//! exponentially weighted moving average of the rate over time (time constant
//! [`EstimatorConfig::time_constant`]), restarts it when the state changes, and gives no estimate during
//! a settle period after such a change (better "unknown" than a wrong number). Estimates it computes are
//! marked derived. Where the OS reports an estimate of its own, usually averaged already (macOS
//! `AvgTimeToEmpty` and Smart Battery `AverageTimeToEmpty` are one-minute averages kept by the gauge,
//! Smart Battery Data Specification 1.1 §5.1.23), [`EstimatorConfig::prefer_reported`] passes it through.
//!
//! The estimator is pure: the caller passes the time of each reading (any monotonic clock).

use std::time::Duration;

use crate::derived::{self, Field};
use crate::{Battery, State};

/// How the estimator smooths.
#[derive(Debug, Clone, Copy, PartialEq)]
// Not non_exhaustive: users build it with `..Default::default()`.
pub struct EstimatorConfig {
    /// Time constant of the rate average: a rate step reaches 63 % of its effect after this long
    /// (default 120 s: a one-sample spike read every 5 s moves the estimate by about 4 % of its size).
    pub time_constant: Duration,
    /// After the state changes (plugged in or out), no estimate for this long (default 30 s).
    pub settle: Duration,
    /// Pass through a time estimate the OS reported itself (not derived) instead of computing one
    /// (default: yes). Gauges compute theirs with their own averaging (Smart Battery
    /// `AverageTimeToEmpty`, macOS `AvgTimeToEmpty`, Windows' estimate), and a reported value is what
    /// the user can check against the firmware. Where the OS reports no time (the ACPI battery driver
    /// on Linux, the usual case) the estimate is always computed here.
    pub prefer_reported: bool,
}

impl Default for EstimatorConfig {
    fn default() -> Self {
        EstimatorConfig {
            time_constant: Duration::from_secs(120),
            settle: Duration::from_secs(30),
            prefer_reported: true,
        }
    }
}

/// The estimate for one reading.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[non_exhaustive]
pub struct Estimate {
    /// Time until empty, while discharging.
    pub time_to_empty: Option<Duration>,
    /// Time until full, while charging.
    pub time_to_full: Option<Duration>,
    /// The smoothed rate magnitude, in watts.
    pub rate_w: Option<f64>,
    /// Within the settle period after a state change: no estimate yet.
    pub settling: bool,
    /// The times are the OS's own (see [`EstimatorConfig::prefer_reported`]), not computed here.
    pub reported: bool,
}

/// Smooths one battery's time estimates over successive readings.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimator {
    config: EstimatorConfig,
    state: Option<State>,
    rate_w: Option<f64>,
    /// Time of the last rate sample.
    rate_at: Option<Duration>,
    /// Where the energy last changed: (time, energy), for a rate from the energy slope.
    energy_anchor: Option<(Duration, f64)>,
    settle_until: Option<Duration>,
    /// Time of the last reading.
    last_at: Option<Duration>,
}

impl Estimator {
    /// An estimator that has seen nothing yet.
    #[must_use]
    pub fn new(config: EstimatorConfig) -> Estimator {
        Estimator {
            config,
            state: None,
            rate_w: None,
            rate_at: None,
            energy_anchor: None,
            settle_until: None,
            last_at: None,
        }
    }

    /// Takes the reading `battery`, made at `now`, and returns the smoothed estimate.
    ///
    /// `now` is any monotonic time (since boot, since the program started); readings must come in
    /// order. A reading older than the last is taken as a restart.
    pub fn update(&mut self, now: Duration, battery: &Battery) -> Estimate {
        let state = battery.state;
        if self.last_at.is_some_and(|t| now < t) {
            *self = Estimator::new(self.config);
        }
        self.last_at = Some(now);
        if self.state.is_some_and(|s| s != state) {
            // Plugged in or out: the old rate says nothing about the new direction.
            self.rate_w = None;
            self.rate_at = None;
            self.energy_anchor = None;
            self.settle_until = Some(now + self.config.settle);
        }
        self.state = Some(state);

        if let Some(sample) = self.rate_sample(now, battery) {
            self.rate_w = Some(match (self.rate_w, self.rate_at) {
                (Some(avg), Some(at)) => {
                    let dt = now.saturating_sub(at).as_secs_f64();
                    let tau = self.config.time_constant.as_secs_f64().max(1e-3);
                    let alpha = 1.0 - (-dt / tau).exp();
                    avg + alpha * (sample - avg)
                }
                _ => sample,
            });
            self.rate_at = Some(now);
        }

        let reported = self.config.prefer_reported
            && ((battery.time_to_empty.is_some() && !battery.derived.contains(Field::TimeToEmpty))
                || (battery.time_to_full.is_some()
                    && !battery.derived.contains(Field::TimeToFull)));
        if reported {
            return Estimate {
                time_to_empty: battery.time_to_empty,
                time_to_full: battery.time_to_full,
                rate_w: self.rate_w,
                settling: false,
                reported: true,
            };
        }
        if self.settle_until.is_some_and(|t| now < t) {
            return Estimate {
                rate_w: self.rate_w,
                settling: true,
                ..Estimate::default()
            };
        }
        self.settle_until = None;
        let (Some(rate), Some(energy)) = (self.rate_w, battery.energy_wh) else {
            return Estimate {
                rate_w: self.rate_w,
                ..Estimate::default()
            };
        };
        let mut estimate = Estimate {
            rate_w: Some(rate),
            ..Estimate::default()
        };
        match state {
            State::Discharging => estimate.time_to_empty = derived::time_to_empty(energy, rate),
            State::Charging => {
                estimate.time_to_full = battery
                    .energy_full_wh
                    .and_then(|full| derived::time_to_full(energy, full, rate));
            }
            _ => {}
        }
        estimate
    }

    /// Takes the reading like [`Estimator::update`] and writes the smoothed times into `battery`,
    /// marking them derived (unless they are the OS's own, passed through).
    pub fn apply(&mut self, now: Duration, battery: &mut Battery) -> Estimate {
        let estimate = self.update(now, battery);
        if !estimate.reported {
            battery.time_to_empty = estimate.time_to_empty;
            battery.time_to_full = estimate.time_to_full;
            battery
                .derived
                .insert_if(Field::TimeToEmpty, estimate.time_to_empty.is_some());
            battery
                .derived
                .insert_if(Field::TimeToFull, estimate.time_to_full.is_some());
        }
        estimate
    }

    /// One rate measurement from this reading: the reported rate, else the energy slope since the
    /// energy last changed (gauges step in whole mWh or %, so an unchanged energy gives no sample).
    fn rate_sample(&mut self, now: Duration, battery: &Battery) -> Option<f64> {
        if !matches!(battery.state, State::Charging | State::Discharging) {
            return None;
        }
        if let Some(w) = battery.power_w.and_then(derived::rate) {
            return Some(w);
        }
        let energy = battery.energy_wh?;
        match self.energy_anchor {
            Some((t0, e0)) if (energy - e0).abs() > f64::EPSILON && now > t0 => {
                self.energy_anchor = Some((now, energy));
                let hours = now.saturating_sub(t0).as_secs_f64() / 3600.0;
                derived::rate((energy - e0) / hours)
            }
            Some(_) => None,
            None => {
                self.energy_anchor = Some((now, energy));
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Kind;

    /// One reading of a battery in `state` with `energy` Wh of `full` and a reported rate.
    fn reading(state: State, energy: f64, full: f64, power: Option<f64>) -> Battery {
        let mut b = Battery::new("BAT0", Kind::System);
        b.state = state;
        b.energy_wh = Some(energy);
        b.energy_full_wh = Some(full);
        b.power_w = power;
        // The raw estimate, as the decoders derive it (energy ÷ rate of the moment).
        if let Some(p) = power {
            match state {
                State::Discharging => b.time_to_empty = derived::time_to_empty(energy, p),
                State::Charging => b.time_to_full = derived::time_to_full(energy, full, p),
                _ => {}
            }
        }
        b.derived
            .insert_if(Field::TimeToEmpty, b.time_to_empty.is_some());
        b.derived
            .insert_if(Field::TimeToFull, b.time_to_full.is_some());
        b
    }

    /// A plug/unplug sequence built from real readings, every 5 s.
    ///
    /// The values are real; their order and timing are constructed (the corpus has single readings,
    /// not a trace of one machine over time):
    /// - discharge: ThinkPad 01AV413, energy_full 46.59 Wh, from 23.60 Wh, power_now alternating between
    ///   its two captured readings 5.156 W and 5.022 W (tests/fixtures/linux/linux-thinkpad-01av413-*);
    /// - load spikes: once a minute one reading of 27.758 W, the discharge rate captured on a ThinkPad
    ///   00HW022 under load (linux-thinkpad-00hw022-bat0-a-discharging.uevent);
    /// - plugged in after 20 min: charging at 30.021 W, the rate captured on the same 00HW022
    ///   (…-b-charging.uevent), for 10 min; then unplugged again for 20 min.
    ///
    /// The energy integrates the rates read, so energy and rate agree as on a real gauge.
    fn plug_unplug_sequence() -> Vec<(Duration, Battery)> {
        let full = 46.59;
        let mut energy = 23.60;
        let mut out = Vec::new();
        for i in 0u32..600 {
            let t = u64::from(i) * 5;
            let (state, power) = match t {
                0..1200 | 1800.. if i % 12 == 11 => (State::Discharging, 27.758),
                0..1200 | 1800.. => (State::Discharging, if i % 2 == 0 { 5.156 } else { 5.022 }),
                _ => (State::Charging, 30.021),
            };
            out.push((
                Duration::from_secs(t),
                reading(state, energy, full, Some(power)),
            ));
            let delta = power * 5.0 / 3600.0;
            energy = match state {
                State::Charging => (energy + delta).min(full),
                _ => (energy - delta).max(0.0),
            };
        }
        out
    }

    /// UPower's estimate on the same readings: UPower (src/linux/up-device-supply.c) takes the driver's
    /// energy rate as it is at each refresh and computes time = energy ÷ rate (to full: (full − energy) ÷
    /// rate); it averages energy changes only when the driver reports no rate, which these readings do.
    fn upower(b: &Battery) -> Option<Duration> {
        let (e, full, rate) = (b.energy_wh?, b.energy_full_wh?, b.power_w?);
        match b.state {
            State::Discharging => derived::time_to_empty(e, rate),
            State::Charging => derived::time_to_full(e, full, rate),
            _ => None,
        }
    }

    /// Mean absolute change, in seconds, between consecutive estimates of the same state (a change of
    /// state is a real jump, not jitter; a missing estimate is skipped).
    fn jitter(series: &[(State, Option<Duration>)]) -> f64 {
        let steps: Vec<f64> = series
            .windows(2)
            .filter(|w| w[0].0 == w[1].0)
            .filter_map(|w| Some((w[1].1?.as_secs_f64() - w[0].1?.as_secs_f64()).abs()))
            .collect();
        steps.iter().sum::<f64>() / steps.len().max(1) as f64
    }

    #[test]
    fn smoothed_estimate_jumps_far_less_than_raw_and_upower() {
        let seq = plug_unplug_sequence();
        let mut est = Estimator::new(EstimatorConfig::default());
        let (mut raw, mut up, mut smooth) = (Vec::new(), Vec::new(), Vec::new());
        for (t, b) in &seq {
            let time = |e: Option<Duration>, f: Option<Duration>| e.or(f);
            raw.push((b.state, time(b.time_to_empty, b.time_to_full)));
            up.push((b.state, upower(b)));
            let e = est.update(*t, b);
            smooth.push((b.state, time(e.time_to_empty, e.time_to_full)));
        }
        let (j_raw, j_up, j_smooth) = (jitter(&raw), jitter(&up), jitter(&smooth));
        println!(
            "mean step between readings: raw {j_raw:.0} s, UPower {j_up:.0} s, smoothed {j_smooth:.0} s"
        );
        assert!(j_smooth * 10.0 < j_raw, "{j_smooth} vs {j_raw}");
        assert!(j_smooth * 10.0 < j_up, "{j_smooth} vs {j_up}");
        // Settle: no estimate for 30 s after plugging in (t = 1200 s), then a time to full.
        let at = |secs: u64| seq.iter().position(|(t, _)| t.as_secs() == secs).unwrap();
        assert_eq!(smooth[at(1200)].1, None);
        assert_eq!(smooth[at(1225)].1, None);
        let after = smooth[at(1230)].1.expect("time to full after settling");
        // (46.59 − energy) ÷ 30.021 W: about 50 min left at this point.
        assert!((2700..3300).contains(&after.as_secs()), "{after:?}");
        // Unplugged again: the discharge estimate returns near energy ÷ mean rate.
        // Over the last minute (one load spike), on average:
        let end = &seq[seq.len() - 6].1;
        let last = smooth[seq.len() - 12..]
            .iter()
            .map(|(_, t)| t.expect("time to empty").as_secs_f64())
            .sum::<f64>()
            / 12.0;
        let mean_rate = f64::midpoint(5.156, 5.022) * 10.0 / 12.0 + 27.758 / 12.0;
        let expect = end.energy_wh.unwrap() / mean_rate * 3600.0;
        assert!((last / expect - 1.0).abs() < 0.1, "{last} vs {expect}");
    }

    #[test]
    fn rate_from_energy_slope_when_no_rate_is_reported() {
        let mut est = Estimator::new(EstimatorConfig::default());
        // 36 Wh, losing 0.01 Wh every 6 s (6 W), rate not reported; gauge steps every 6 s, read every 2 s.
        let mut last = Estimate::default();
        for i in 0..300u64 {
            let energy = 36.0 - 0.01 * (i / 3) as f64;
            let b = reading(State::Discharging, energy, 50.0, None);
            last = est.update(Duration::from_secs(i * 2), &b);
        }
        let rate = last.rate_w.expect("a rate");
        assert!((rate - 6.0).abs() < 0.05, "{rate}");
        assert!(last.time_to_empty.is_some());
    }

    #[test]
    fn reported_estimates_pass_through_when_preferred() {
        let mut est = Estimator::new(EstimatorConfig {
            prefer_reported: true,
            ..EstimatorConfig::default()
        });
        let mut b = reading(State::Discharging, 30.0, 50.0, Some(10.0));
        // As the OS reported it (not derived).
        b.time_to_empty = Some(Duration::from_secs(9000));
        b.derived.remove(Field::TimeToEmpty);
        let e = est.apply(Duration::ZERO, &mut b);
        assert!(e.reported);
        assert_eq!(b.time_to_empty, Some(Duration::from_secs(9000)));
        assert!(!b.derived.contains(Field::TimeToEmpty));
    }

    #[test]
    fn apply_marks_derived_and_idle_states_have_no_estimate() {
        let mut est = Estimator::new(EstimatorConfig::default());
        let mut b = reading(State::Discharging, 30.0, 50.0, Some(10.0));
        est.apply(Duration::ZERO, &mut b);
        assert_eq!(b.time_to_empty, Some(Duration::from_secs(10800)));
        assert!(b.derived.contains(Field::TimeToEmpty));
        let mut full = reading(State::Full, 50.0, 50.0, Some(0.0));
        let e = est.apply(Duration::from_secs(100), &mut full);
        assert!(e.settling);
        assert_eq!((full.time_to_empty, full.time_to_full), (None, None));
        // A clock that goes back restarts the estimator instead of producing nonsense.
        let e = est.update(Duration::from_secs(1), &b);
        assert_eq!(e.time_to_empty, Some(Duration::from_secs(10800)));
    }
}
