//! Warning levels: none, low, critical, action — for one battery or for the machine.
//!
//! The thresholds are UPower's defaults (`etc/UPower.conf`: PercentageLow=20, PercentageCritical=5,
//! PercentageAction=2, TimeLow=1200, TimeCritical=300, TimeAction=120; `UsePercentageForPolicy=true`, so
//! percentages decide unless told otherwise). A level becomes less severe only once the value is a
//! margin past the threshold (hysteresis), so a gauge that wobbles between 20 % and 19 % does not flap.

use std::time::Duration;

use crate::{Battery, Kind, Level, State};

/// How urgent the charge situation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(rename_all = "snake_case")
)]
#[non_exhaustive]
pub enum WarningLevel {
    /// Nothing to say (also on external power).
    #[default]
    None,
    /// Low: time to look for a charger.
    Low,
    /// Critical: save work now.
    Critical,
    /// Action: the system should hibernate or power off now.
    Action,
}

impl WarningLevel {
    /// The lower-case word used in text and JSON output.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            WarningLevel::None => "none",
            WarningLevel::Low => "low",
            WarningLevel::Critical => "critical",
            WarningLevel::Action => "action",
        }
    }
}

impl std::fmt::Display for WarningLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What decides the level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Policy {
    /// The percentage (UPower's default, `UsePercentageForPolicy=true`).
    #[default]
    Percentage,
    /// The time to empty when it is known, else the percentage.
    TimeWhenKnown,
}

/// Warning thresholds: a level applies at or below its threshold.
#[derive(Debug, Clone, Copy, PartialEq)]
// Not non_exhaustive: users build it with `..Default::default()`.
pub struct WarningConfig {
    /// What decides the level.
    pub policy: Policy,
    /// Low at or below this percentage (UPower: 20).
    pub low_percent: f64,
    /// Critical at or below this percentage (UPower: 5).
    pub critical_percent: f64,
    /// Action at or below this percentage (UPower: 2).
    pub action_percent: f64,
    /// Low at or below this time to empty (UPower: 1200 s).
    pub low_time: Duration,
    /// Critical at or below this time to empty (UPower: 300 s).
    pub critical_time: Duration,
    /// Action at or below this time to empty (UPower: 120 s).
    pub action_time: Duration,
    /// A level is left only this many percentage points above its threshold (default 1).
    pub hysteresis_percent: f64,
    /// A level is left only this much time above its threshold (default 60 s).
    pub hysteresis_time: Duration,
}

impl Default for WarningConfig {
    fn default() -> Self {
        WarningConfig {
            policy: Policy::Percentage,
            low_percent: 20.0,
            critical_percent: 5.0,
            action_percent: 2.0,
            low_time: Duration::from_secs(1200),
            critical_time: Duration::from_secs(300),
            action_time: Duration::from_secs(120),
            hysteresis_percent: 1.0,
            hysteresis_time: Duration::from_secs(60),
        }
    }
}

/// What a level is computed from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Charge {
    /// The state (no warning unless discharging, or unknown for a peripheral).
    pub state: State,
    /// Percentage, 0–100.
    pub percentage: Option<f64>,
    /// Time to empty.
    pub time_to_empty: Option<Duration>,
    /// A coarse level, for devices without a percentage.
    pub level: Option<Level>,
    /// A peripheral: warned about in any state but charging or full (its host's power does not charge it).
    pub peripheral: bool,
}

impl Charge {
    /// What `battery` says.
    #[must_use]
    pub fn of(battery: &Battery) -> Charge {
        Charge {
            state: battery.state,
            percentage: battery.percentage,
            time_to_empty: battery.time_to_empty,
            level: battery.level,
            peripheral: battery.kind == Kind::Peripheral,
        }
    }
}

impl WarningConfig {
    /// The level for `charge`, given the level it had before (`WarningLevel::None` the first time).
    #[must_use]
    pub fn level(&self, charge: &Charge, before: WarningLevel) -> WarningLevel {
        let draining = match charge.state {
            State::Discharging | State::Empty => true,
            // A system battery on external power is never a warning (UPower warns only on battery).
            State::Charging | State::Full | State::NotCharging => false,
            State::Unknown => charge.peripheral,
        };
        if !draining {
            return WarningLevel::None;
        }
        if let (Policy::TimeWhenKnown, Some(t)) = (self.policy, charge.time_to_empty) {
            let margin = self.hysteresis_time.as_secs_f64();
            return step(
                t.as_secs_f64(),
                [
                    self.action_time.as_secs_f64(),
                    self.critical_time.as_secs_f64(),
                    self.low_time.as_secs_f64(),
                ],
                margin,
                before,
            );
        }
        if let Some(p) = charge.percentage {
            return step(
                p,
                [self.action_percent, self.critical_percent, self.low_percent],
                self.hysteresis_percent,
                before,
            );
        }
        if charge.state == State::Empty {
            return WarningLevel::Action;
        }
        // Coarse levels (peripherals): what the device says, no hysteresis needed (it has its own).
        match charge.level {
            Some(Level::Critical) => WarningLevel::Critical,
            Some(Level::Low) => WarningLevel::Low,
            _ => WarningLevel::None,
        }
    }
}

/// The level for `value` against thresholds `[action, critical, low]` (ascending), where a level
/// already reached holds until `value` is `margin` past its threshold.
fn step(value: f64, thresholds: [f64; 3], margin: f64, before: WarningLevel) -> WarningLevel {
    let levels = [
        WarningLevel::Action,
        WarningLevel::Critical,
        WarningLevel::Low,
    ];
    for (level, threshold) in levels.into_iter().zip(thresholds) {
        let limit = if before >= level {
            threshold + margin
        } else {
            threshold
        };
        if value <= limit {
            return level;
        }
    }
    WarningLevel::None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn discharging(p: f64) -> Charge {
        Charge {
            state: State::Discharging,
            percentage: Some(p),
            time_to_empty: None,
            level: None,
            peripheral: false,
        }
    }

    #[test]
    fn upower_percentage_defaults() {
        let c = WarningConfig::default();
        let none = WarningLevel::None;
        assert_eq!(c.level(&discharging(50.0), none), WarningLevel::None);
        assert_eq!(c.level(&discharging(20.0), none), WarningLevel::Low);
        assert_eq!(c.level(&discharging(5.0), none), WarningLevel::Critical);
        assert_eq!(c.level(&discharging(2.0), none), WarningLevel::Action);
        assert_eq!(c.level(&discharging(0.0), none), WarningLevel::Action);
    }

    #[test]
    fn hysteresis_keeps_a_level_until_a_margin_past_it() {
        use WarningLevel::{Low, None};
        let c = WarningConfig::default();
        // A gauge wobbling 20 → 20.5 → 19.8 → 21.2 on a discharge: low once, left only above 21 %.
        let mut level = WarningLevel::None;
        let mut seen = Vec::new();
        for p in [21.5, 20.0, 20.5, 19.8, 20.9, 21.2] {
            level = c.level(&discharging(p), level);
            seen.push(level);
        }
        assert_eq!(seen, [None, Low, Low, Low, Low, None]);
        // Going down is never delayed.
        assert_eq!(c.level(&discharging(4.9), Low), WarningLevel::Critical);
    }

    #[test]
    fn no_warning_on_external_power() {
        let c = WarningConfig::default();
        let mut charge = discharging(1.0);
        for state in [
            State::Charging,
            State::Full,
            State::NotCharging,
            State::Unknown,
        ] {
            charge.state = state;
            assert_eq!(c.level(&charge, WarningLevel::Action), WarningLevel::None);
        }
    }

    #[test]
    fn time_policy_uses_time_when_known() {
        let c = WarningConfig {
            policy: Policy::TimeWhenKnown,
            ..WarningConfig::default()
        };
        let mut charge = discharging(50.0);
        charge.time_to_empty = Some(Duration::from_secs(1000));
        assert_eq!(c.level(&charge, WarningLevel::None), WarningLevel::Low);
        charge.time_to_empty = Some(Duration::from_secs(100));
        assert_eq!(c.level(&charge, WarningLevel::None), WarningLevel::Action);
        // 1230 s is within the 60 s margin of low (1200 s): stays low once low.
        charge.time_to_empty = Some(Duration::from_secs(1230));
        assert_eq!(c.level(&charge, WarningLevel::Low), WarningLevel::Low);
        assert_eq!(c.level(&charge, WarningLevel::None), WarningLevel::None);
        charge.time_to_empty = None;
        charge.percentage = Some(4.0);
        assert_eq!(c.level(&charge, WarningLevel::None), WarningLevel::Critical);
    }

    #[test]
    fn peripherals_use_their_coarse_level() {
        let c = WarningConfig::default();
        let pad = Charge {
            state: State::Unknown,
            percentage: None,
            time_to_empty: None,
            level: Some(Level::Critical),
            peripheral: true,
        };
        assert_eq!(c.level(&pad, WarningLevel::None), WarningLevel::Critical);
        let low = Charge {
            level: Some(Level::Low),
            ..pad
        };
        assert_eq!(c.level(&low, WarningLevel::None), WarningLevel::Low);
        let normal = Charge {
            level: Some(Level::Normal),
            ..pad
        };
        assert_eq!(c.level(&normal, WarningLevel::None), WarningLevel::None);
        let charging = Charge {
            state: State::Charging,
            ..pad
        };
        assert_eq!(c.level(&charging, WarningLevel::None), WarningLevel::None);
    }
}
