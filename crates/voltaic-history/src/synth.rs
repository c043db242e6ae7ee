//! Months of plausible battery history built from real readings, for tests, the benchmark and the report's
//! demonstration.
//!
//! A [`Profile`] takes a pack's identity, design and full energy, voltage and cycle count from real
//! readings, and the discharge and charge powers it was seen at. The [`Generator`] then plays a routine
//! day after day: off the charger once each weekday morning at one of the recorded discharge powers (varied
//! by ±50 %, changing every 10–40 minutes as a workload would), back on in the evening or when low, charging
//! at a recorded charge power that tapers above 80 % (the constant-voltage phase of Li-ion charging), full
//! overnight; weekends on the charger. Full capacity wears with the cycles counted (0.04 % of the first
//! full capacity per cycle, with ±0.3 % gauge noise from day to day). Deterministic for a seed.

use voltaic::{Battery, Kind, State};

/// A pack as seen in real readings.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// A reading whose identity, technology and design values the generated readings copy.
    pub template: Battery,
    /// Energy when full at the start, Wh.
    pub energy_full_wh: f64,
    /// Design energy, Wh.
    pub energy_full_design_wh: f64,
    /// Voltage of a reading, V (scaled with the charge).
    pub voltage_v: Option<f64>,
    /// Cycle count at the start.
    pub cycle_count: Option<u32>,
    /// Discharge powers seen, W.
    pub discharge_w: Vec<f64>,
    /// Charge powers seen, W.
    pub charge_w: Vec<f64>,
}

impl Profile {
    /// A profile from readings of one pack: `None` unless at least one reading discharges and one charges
    /// with a power, and one gives full and design energy.
    #[must_use]
    pub fn from_readings(readings: &[Battery]) -> Option<Profile> {
        let with = |state: State| -> Vec<f64> {
            readings
                .iter()
                .filter(|b| b.state == state)
                .filter_map(|b| b.power_w)
                .filter(|p| *p > 0.0)
                .collect()
        };
        let (discharge_w, charge_w) = (with(State::Discharging), with(State::Charging));
        let template = readings
            .iter()
            .find(|b| b.energy_full_wh.is_some() && b.energy_full_design_wh.is_some())?;
        if discharge_w.is_empty() || charge_w.is_empty() {
            return None;
        }
        Some(Profile {
            energy_full_wh: template.energy_full_wh?,
            energy_full_design_wh: template.energy_full_design_wh?,
            voltage_v: readings.iter().find_map(|b| b.voltage_v),
            cycle_count: readings.iter().find_map(|b| b.cycle_count),
            template: template.clone(),
            discharge_w,
            charge_w,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    Discharging,
    Charging,
    Full,
}

/// An endless stream of readings, one per step: `(Unix time, battery)`.
#[derive(Debug, Clone)]
pub struct Generator {
    profile: Profile,
    rng: u64,
    t: i64,
    step: i64,
    energy: f64,
    full0: f64,
    cycles: f64,
    phase: Phase,
    /// Discharge ends at this percentage or at `unplug_until`, whichever first.
    low: f64,
    unplug_until: i64,
    power: f64,
    power_until: i64,
    gauge_noise: f64,
    noise_day: i64,
    /// When today's discharge starts (a weekday morning), and the day it was drawn for.
    unplug_at: i64,
    unplug_day: i64,
}

impl Generator {
    /// Readings of `profile` every `step` seconds from `start` (Unix seconds), deterministic for `seed`.
    #[must_use]
    pub fn new(profile: Profile, start: i64, step: i64, seed: u64) -> Generator {
        let full0 = profile.energy_full_wh;
        Generator {
            cycles: f64::from(profile.cycle_count.unwrap_or(0)),
            profile,
            rng: seed ^ 0x9E37_79B9_7F4A_7C15,
            t: start,
            step: step.max(1),
            energy: full0,
            full0,
            phase: Phase::Full,
            low: 20.0,
            unplug_until: start,
            power: 0.0,
            power_until: start,
            gauge_noise: 0.0,
            noise_day: i64::MIN,
            unplug_at: i64::MAX,
            unplug_day: i64::MIN,
        }
    }

    /// splitmix64 (Steele, Lea, Flood: "Fast splittable pseudorandom number generators", OOPSLA 2014).
    fn next_u64(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[lo, hi)`.
    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64)
    }

    fn pick(&mut self, charging: bool) -> f64 {
        let len = if charging {
            self.profile.charge_w.len()
        } else {
            self.profile.discharge_w.len()
        };
        let i = (self.next_u64() % len.max(1) as u64) as usize;
        let values = if charging {
            &self.profile.charge_w
        } else {
            &self.profile.discharge_w
        };
        values.get(i).copied().unwrap_or(0.0)
    }

    fn full(&self) -> f64 {
        (self.full0
            * (1.0 - 0.0004 * (self.cycles - f64::from(self.profile.cycle_count.unwrap_or(0)))))
        .max(self.full0 * 0.3)
    }

    fn advance(&mut self) {
        let full = self.full();
        let day = self.t.div_euclid(86_400);
        let weekend = (day + 3).rem_euclid(7) >= 5; // 1970-01-01 was a Thursday
        let pct = self.energy / full * 100.0;
        if day != self.unplug_day {
            // Leaves the charger once each weekday, some time in the 8 o'clock hour.
            self.unplug_day = day;
            self.unplug_at = if weekend {
                i64::MAX
            } else {
                day * 86_400 + 8 * 3600 + (self.uniform(0.0, 3600.0) as i64)
            };
        }
        match self.phase {
            Phase::Full | Phase::Charging if self.t >= self.unplug_at => {
                self.unplug_at = i64::MAX;
                self.phase = Phase::Discharging;
                self.low = self.uniform(8.0, 35.0);
                self.unplug_until = self.t + (self.uniform(7.0, 10.0) * 3600.0) as i64;
                self.power_until = self.t;
            }
            Phase::Discharging if pct <= self.low || self.t >= self.unplug_until => {
                self.phase = Phase::Charging;
            }
            Phase::Charging if pct >= 99.9 => {
                self.phase = Phase::Full;
                self.energy = full;
            }
            _ => {}
        }
        let dt = self.step as f64 / 3600.0;
        match self.phase {
            Phase::Discharging => {
                if self.t >= self.power_until {
                    let base = self.pick(false);
                    self.power = base * self.uniform(0.5, 1.5);
                    self.power_until = self.t + (self.uniform(10.0, 40.0) * 60.0) as i64;
                }
                let used = (self.power * dt).min(self.energy);
                self.energy -= used;
                self.cycles += used / full;
            }
            Phase::Charging => {
                let base = self.pick(true);
                let taper = if pct > 80.0 {
                    ((100.0 - pct) / 20.0).max(0.05)
                } else {
                    1.0
                };
                self.power = base * taper;
                self.energy = (self.energy + self.power * dt).min(full);
            }
            Phase::Full => {
                self.power = 0.0;
                self.energy = full;
            }
        }
        if day != self.noise_day {
            self.noise_day = day;
            self.gauge_noise = self.uniform(-0.003, 0.003);
        }
    }

    fn reading(&self) -> Battery {
        let full = self.full();
        let reported_full = full * (1.0 + self.gauge_noise);
        let pct = (self.energy / full * 100.0).clamp(0.0, 100.0);
        let mut b = Battery::new(self.profile.template.id.clone(), Kind::System);
        b.vendor.clone_from(&self.profile.template.vendor);
        b.model.clone_from(&self.profile.template.model);
        b.serial.clone_from(&self.profile.template.serial);
        b.technology = self.profile.template.technology;
        b.state = match self.phase {
            Phase::Discharging => State::Discharging,
            Phase::Charging => State::Charging,
            Phase::Full => State::Full,
        };
        b.percentage = Some((pct * 10.0).round() / 10.0);
        b.energy_wh = Some(self.energy * (1.0 + self.gauge_noise));
        b.energy_full_wh = Some(reported_full);
        b.energy_full_design_wh = Some(self.profile.energy_full_design_wh);
        b.health_percent = Some(reported_full / self.profile.energy_full_design_wh * 100.0);
        b.power_w = Some(self.power);
        // Li-ion terminal voltage rises with the charge, roughly ±6 % around the recorded value.
        b.voltage_v = self
            .profile
            .voltage_v
            .map(|v| v * (0.94 + 0.12 * pct / 100.0));
        b.cycle_count = Some(self.cycles.floor() as u32);
        b.external_power = Some(self.phase != Phase::Discharging);
        b
    }
}

impl Iterator for Generator {
    type Item = (i64, Battery);

    fn next(&mut self) -> Option<(i64, Battery)> {
        self.advance();
        let out = (self.t, self.reading());
        self.t += self.step;
        Some(out)
    }
}

/// A profile from recordings that `voltaic --replay` reads (fixture files, `voltaic record` output), all
/// of the same pack: the system batteries of every recording are the readings.
///
/// # Errors
/// A message naming the recording that cannot be read, or saying why the readings make no profile.
pub fn profile_from_recordings(paths: &[&std::path::Path]) -> Result<Profile, String> {
    let mut readings = Vec::new();
    for path in paths {
        let manager =
            voltaic::Manager::replay(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let batteries = manager
            .batteries()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        readings.extend(batteries.into_iter().filter(|b| b.kind == Kind::System));
    }
    Profile::from_readings(&readings).ok_or_else(|| {
        "the recordings need a discharging and a charging reading with power, and full and design energy"
            .to_owned()
    })
}
