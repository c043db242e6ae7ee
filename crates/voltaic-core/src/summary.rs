//! The machine summary: the system batteries taken together, as a status bar shows them (UPower's
//! "display device", src/up-daemon.c `up_daemon_update_display_battery`).

use std::time::Duration;

use crate::derived;
use crate::warning::{Charge, WarningConfig, WarningLevel};
use crate::{Battery, Kind, PowerSource, SourceKind, State};

/// The system batteries taken together.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Summary {
    /// How many system batteries there are (peripherals never count).
    pub batteries: usize,
    /// Whether the machine runs on its batteries now; `None` when nothing says.
    pub on_battery: Option<bool>,
    /// Combined charge, 0–100 %: with one battery its own percentage; with several Σ energy ÷ Σ full
    /// when every battery gives both, else the percentages averaged, weighted by each pack's full
    /// energy where all give one.
    pub percentage: Option<f64>,
    /// Σ energy now, in watt-hours, when every system battery gives it.
    pub energy_wh: Option<f64>,
    /// Σ energy when full, in watt-hours, when every system battery gives it.
    pub energy_full_wh: Option<f64>,
    /// Combined state: charging if any charges, else discharging if any discharges, else full when all
    /// are full, else not charging when any is held, else unknown.
    pub state: State,
    /// Σ energy ÷ Σ discharge rate, while discharging.
    pub time_to_empty: Option<Duration>,
    /// Σ missing energy ÷ Σ charge rate, while charging.
    pub time_to_full: Option<Duration>,
    /// The warning level of the combined charge.
    pub warning: WarningLevel,
}

impl Summary {
    /// Summarises the system batteries in `batteries` (peripherals are ignored) and the power sources.
    /// `warning_before` is the summary's previous warning level (for hysteresis; `None` the first time).
    #[must_use]
    pub fn new(
        batteries: &[Battery],
        sources: &[PowerSource],
        config: &WarningConfig,
        warning_before: WarningLevel,
    ) -> Summary {
        let system: Vec<&Battery> = batteries
            .iter()
            .filter(|b| b.kind == Kind::System)
            .collect();
        let energy_wh = sum(system.iter().map(|b| b.energy_wh));
        let energy_full_wh = sum(system.iter().map(|b| b.energy_full_wh));
        let percentage = match (system.as_slice(), energy_wh, energy_full_wh) {
            // One pack: its own percentage (the gauge's, which may differ from energy ÷ full by the
            // reserve it hides), as the battery itself shows it.
            ([one], ..) if one.percentage.is_some() => one.percentage,
            ([_, _, ..], Some(e), Some(f)) => derived::percentage_from(e, f),
            _ => weighted_percentage(&system),
        };
        let state = combined_state(&system);
        let on_battery = on_battery(&system, sources, state);
        let (mut time_to_empty, mut time_to_full) = (None, None);
        match state {
            State::Discharging => {
                let rate = sum(discharge_rates(&system, State::Discharging));
                if let (Some(e), Some(r)) = (energy_wh, rate) {
                    time_to_empty = derived::time_to_empty(e, r);
                } else if let [one] = system.as_slice() {
                    time_to_empty = one.time_to_empty;
                }
            }
            State::Charging => {
                let rate = sum(discharge_rates(&system, State::Charging));
                if let (Some(e), Some(f), Some(r)) = (energy_wh, energy_full_wh, rate) {
                    time_to_full = derived::time_to_full(e, f, r);
                } else if let [one] = system.as_slice() {
                    time_to_full = one.time_to_full;
                }
            }
            _ => {}
        }
        let warning = if system.is_empty() {
            WarningLevel::None
        } else {
            config.level(
                &Charge {
                    state,
                    percentage,
                    time_to_empty,
                    level: None,
                    peripheral: false,
                },
                warning_before,
            )
        };
        Summary {
            batteries: system.len(),
            on_battery,
            percentage,
            energy_wh,
            energy_full_wh,
            state,
            time_to_empty,
            time_to_full,
            warning,
        }
    }
}

/// Σ of the values when every one is known (and there is at least one).
fn sum(values: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    let mut total = None;
    for v in values {
        total = Some(total.unwrap_or(0.0) + v?);
    }
    total
}

/// The rates of the batteries in `state`, each as a magnitude (a pack in another state adds nothing).
fn discharge_rates<'a>(
    system: &'a [&'a Battery],
    state: State,
) -> impl Iterator<Item = Option<f64>> + 'a {
    system.iter().map(move |b| {
        if b.state == state {
            b.power_w
        } else {
            Some(0.0)
        }
    })
}

/// Mean of the percentages, weighted by full energy when every battery gives one, else plain.
fn weighted_percentage(system: &[&Battery]) -> Option<f64> {
    let percents: Option<Vec<f64>> = system.iter().map(|b| b.percentage).collect();
    let percents = percents.filter(|p| !p.is_empty())?;
    let weights: Vec<f64> = match sum(system.iter().map(|b| b.energy_full_wh)) {
        Some(total) if total > 0.0 => system
            .iter()
            .map(|b| b.energy_full_wh.unwrap_or(0.0))
            .collect(),
        _ => vec![1.0; percents.len()],
    };
    let total: f64 = weights.iter().sum();
    let mean = percents
        .iter()
        .zip(&weights)
        .map(|(p, w)| p * w)
        .sum::<f64>()
        / total;
    derived::finite(mean).map(|p| p.clamp(0.0, 100.0))
}

fn combined_state(system: &[&Battery]) -> State {
    let any = |s: State| system.iter().any(|b| b.state == s);
    if system.is_empty() {
        State::Unknown
    } else if any(State::Charging) {
        State::Charging
    } else if any(State::Discharging) {
        State::Discharging
    } else if system.iter().all(|b| b.state == State::Full) {
        State::Full
    } else if any(State::NotCharging) {
        State::NotCharging
    } else if system.iter().all(|b| b.state == State::Empty) {
        State::Empty
    } else {
        State::Unknown
    }
}

/// On battery when a battery discharges and no mains/USB/wireless source is online; on external power
/// when such a source is online or a battery charges, is full or is held; else what the batteries'
/// `external_power` say.
fn on_battery(system: &[&Battery], sources: &[PowerSource], state: State) -> Option<bool> {
    let feeding = |s: &&PowerSource| s.kind != SourceKind::Ups;
    if sources
        .iter()
        .filter(feeding)
        .any(|s| s.online == Some(true))
    {
        return Some(false);
    }
    match state {
        State::Discharging | State::Empty => return Some(true),
        State::Charging | State::Full | State::NotCharging => return Some(false),
        _ => {}
    }
    if let Some(ext) = system.iter().find_map(|b| b.external_power) {
        return Some(!ext);
    }
    let known: Vec<_> = sources.iter().filter(feeding).collect();
    if !known.is_empty() && known.iter().all(|s| s.online == Some(false)) && !system.is_empty() {
        return Some(true);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn battery(id: &str, state: State, energy: Option<(f64, f64)>, power: Option<f64>) -> Battery {
        let mut b = Battery::new(id, Kind::System);
        b.state = state;
        if let Some((e, f)) = energy {
            b.energy_wh = Some(e);
            b.energy_full_wh = Some(f);
            b.percentage = derived::percentage_from(e, f);
        }
        b.power_w = power;
        b
    }

    #[test]
    fn two_thinkpad_packs_combine_by_energy() {
        // The 00HW022 two-pack ThinkPad (xmobar#315): BAT0 discharging at 27.758 W with 2.42 of
        // 25.86 Wh; a second pack's energies (BAT1 not captured) stand in as 20 of 23.2 Wh, idle.
        let bat0 = battery(
            "BAT0",
            State::Discharging,
            Some((2.42, 25.86)),
            Some(27.758),
        );
        let bat1 = battery("BAT1", State::Unknown, Some((20.0, 23.2)), Some(0.0));
        let mut mouse = battery("hid", State::Discharging, Some((0.1, 1.0)), None);
        mouse.kind = Kind::Peripheral;
        let s = Summary::new(
            &[bat0, bat1, mouse],
            &[],
            &WarningConfig::default(),
            WarningLevel::None,
        );
        assert_eq!(s.batteries, 2);
        assert_eq!(s.state, State::Discharging);
        assert_eq!(s.on_battery, Some(true));
        let p = s.percentage.unwrap();
        assert!((p - 100.0 * 22.42 / 49.06).abs() < 1e-9, "{p}");
        assert_eq!(
            s.time_to_empty,
            derived::time_to_empty(22.42, 27.758),
            "Σ energy ÷ Σ rate"
        );
        assert_eq!(s.warning, WarningLevel::None);
    }

    #[test]
    fn percentages_are_weighted_when_energies_are_unknown() {
        let mut a = battery("BAT0", State::Discharging, None, None);
        a.percentage = Some(10.0);
        let mut b = battery("BAT1", State::Discharging, None, None);
        b.percentage = Some(30.0);
        let s = Summary::new(
            &[a.clone(), b.clone()],
            &[],
            &WarningConfig::default(),
            WarningLevel::None,
        );
        assert_eq!(s.percentage, Some(20.0));
        assert_eq!(s.warning, WarningLevel::Low);
        assert_eq!(s.time_to_empty, None);
        a.energy_full_wh = Some(30.0);
        b.energy_full_wh = Some(10.0);
        let s = Summary::new(&[a, b], &[], &WarningConfig::default(), WarningLevel::None);
        assert_eq!(s.percentage, Some(15.0));
    }

    #[test]
    fn charging_plugged_and_desktop() {
        let bat = battery("BAT0", State::Charging, Some((16.7, 24.04)), Some(30.021));
        let mut ac = PowerSource::new("AC", SourceKind::Mains);
        ac.online = Some(true);
        let s = Summary::new(
            &[bat],
            &[ac.clone()],
            &WarningConfig::default(),
            WarningLevel::None,
        );
        assert_eq!(s.on_battery, Some(false));
        assert_eq!(s.time_to_full, derived::time_to_full(16.7, 24.04, 30.021));
        let desktop = Summary::new(&[], &[ac], &WarningConfig::default(), WarningLevel::None);
        assert_eq!(desktop.batteries, 0);
        assert_eq!(desktop.percentage, None);
        assert_eq!(desktop.state, State::Unknown);
        assert_eq!(desktop.on_battery, Some(false));
        assert_eq!(
            Summary::new(&[], &[], &WarningConfig::default(), WarningLevel::None).on_battery,
            None
        );
    }

    #[test]
    fn idle_pack_with_adapter_off_is_on_battery_and_full_packs_are_full() {
        let idle = battery("BAT0", State::Unknown, Some((10.0, 40.0)), None);
        let mut ac = PowerSource::new("AC", SourceKind::Mains);
        ac.online = Some(false);
        let s = Summary::new(
            &[idle],
            &[ac],
            &WarningConfig::default(),
            WarningLevel::None,
        );
        assert_eq!(s.on_battery, Some(true));
        let a = battery("BAT0", State::Full, Some((40.0, 40.0)), None);
        let b = battery("BAT1", State::Full, Some((20.0, 20.0)), None);
        let s = Summary::new(&[a, b], &[], &WarningConfig::default(), WarningLevel::None);
        assert_eq!((s.state, s.percentage), (State::Full, Some(100.0)));
    }
}
