//! What the stored history says: capacity trend, cycles, charge and discharge sessions, time on battery.
//!
//! Days are UTC days: the store keeps Unix time and voltaic reads no time-zone database.

use serde::Serialize;
use voltaic::State;

use crate::error::Result;
use crate::store::{Event, Identity, Sample, Store};

/// Two readings further apart than this are not one session: the machine slept, was off, or the logger
/// was not running, and nothing is known about the time between.
pub const MAX_GAP: i64 = 45 * 60;

/// How far back the charge-level chart of the report looks.
pub const LEVEL_WINDOW: i64 = 7 * 86_400;

/// Most points kept for the charge-level chart (more than a chart can show).
const LEVEL_POINTS: i64 = 2000;

const DAY: i64 = 86_400;
const YEAR: f64 = 365.25 * 86_400.0;

/// The health the trend is projected to (a common warranty and replacement threshold).
pub const HEALTH_THRESHOLD: f64 = 80.0;

/// One UTC day of capacity readings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DayCapacity {
    /// The day, `YYYY-MM-DD` (UTC).
    pub date: String,
    /// Unix time of the day's start.
    pub time: i64,
    /// Mean health (full ÷ design) that day, percent.
    pub health_percent: Option<f64>,
    /// Mean energy when full, Wh.
    pub energy_full_wh: Option<f64>,
    /// Highest cycle count that day.
    pub cycle_count: Option<u32>,
}

/// A straight line fitted to the daily health values (least squares).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trend {
    /// Change per year, percentage points (negative while the pack wears).
    pub per_year: f64,
    /// The line's value at the last day with data, percent.
    pub latest_percent: f64,
    /// When the line reaches [`HEALTH_THRESHOLD`] (Unix time), if it falls and has not reached it yet.
    pub reaches_threshold: Option<i64>,
    /// Same, as `YYYY-MM-DD`.
    pub reaches_threshold_date: Option<String>,
    /// Days with data the line was fitted to.
    pub days: usize,
    /// The line: value at Unix time `t` is `intercept + slope × t`, percent (for drawing).
    #[serde(skip)]
    pub intercept: f64,
    /// Percentage points per second.
    #[serde(skip)]
    pub slope: f64,
}

/// Charging or discharging.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionKind {
    /// The battery took charge throughout.
    Charge,
    /// The battery gave charge throughout.
    Discharge,
}

impl SessionKind {
    /// The word used in CSV and text.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            SessionKind::Charge => "charge",
            SessionKind::Discharge => "discharge",
        }
    }
}

/// An uninterrupted run of charging or discharging readings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Session {
    /// Charge or discharge.
    pub kind: SessionKind,
    /// Unix time of the first reading.
    pub start: i64,
    /// Unix time of the last reading.
    pub end: i64,
    /// Charge at the start, percent.
    pub start_percentage: Option<f64>,
    /// Charge at the end, percent.
    pub end_percentage: Option<f64>,
    /// Energy taken or given (difference of the energy readings), Wh.
    pub energy_wh: Option<f64>,
    /// Time-weighted mean of the power readings, W.
    pub average_power_w: Option<f64>,
}

/// Time spent discharging on one UTC day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DayOnBattery {
    /// `YYYY-MM-DD` (UTC).
    pub date: String,
    /// Seconds on battery.
    pub seconds: i64,
}

/// Time spent discharging at each power, for the distribution chart.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PowerHistogram {
    /// Width of each bin, W; bin `i` covers `[i × width, (i + 1) × width)`.
    pub bin_w: f64,
    /// Seconds spent in each bin.
    pub seconds: Vec<i64>,
}

/// Everything known about one battery over the period asked for.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BatteryHistory {
    /// Which pack.
    pub identity: Identity,
    /// First and last reading in the period (Unix time).
    pub first: Option<i64>,
    /// Last reading in the period.
    pub last: Option<i64>,
    /// Full-detail samples in the period.
    pub samples: usize,
    /// Compacted hours in the period.
    pub hours: usize,
    /// Design energy from the latest reading that gives it, Wh.
    pub energy_full_design_wh: Option<f64>,
    /// Energy when full from the latest reading that gives it, Wh.
    pub energy_full_wh: Option<f64>,
    /// Cycle count at the start and end of the period.
    pub cycles_first: Option<u32>,
    /// Cycle count at the end of the period.
    pub cycles_last: Option<u32>,
    /// Capacity per day.
    pub capacity: Vec<DayCapacity>,
    /// The fitted health trend, when there are at least three days of health values.
    pub trend: Option<Trend>,
    /// Charge and discharge sessions (from full-detail samples).
    pub sessions: Vec<Session>,
    /// Time on battery per day.
    pub on_battery: Vec<DayOnBattery>,
    /// Discharge power distribution.
    pub power: PowerHistogram,
    /// Charge level over the last [`LEVEL_WINDOW`]: (Unix time, percent); `None` marks a gap.
    #[serde(skip)]
    pub level: Vec<Option<(i64, f64)>>,
    /// Events in the period.
    pub events: Vec<Event>,
}

/// Reads and analyses every battery's history from `since` to `now` (Unix seconds).
pub fn analyse(store: &Store, since: i64, now: i64) -> Result<Vec<BatteryHistory>> {
    let mut out = Vec::new();
    for identity in store.batteries()? {
        let samples = store.samples(&identity, since)?;
        let hourly = store.hourly(&identity, since)?;
        let events = store.events(&identity, since)?;
        if samples.is_empty() && hourly.is_empty() {
            continue;
        }
        let mut days = DayAccumulator::default();
        let mut on_battery: Vec<(i64, i64)> = Vec::new();
        for h in &hourly {
            days.add(h.hour, h.health_percent, h.energy_full_wh, h.cycle_count);
            if h.samples > 0 && h.discharging > 0 {
                add_day(
                    &mut on_battery,
                    h.hour.div_euclid(DAY),
                    3600 * i64::from(h.discharging) / i64::from(h.samples),
                );
            }
        }
        for s in &samples {
            days.add(s.time, s.health_percent, s.energy_full_wh, s.cycle_count);
        }
        for pair in samples.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            if a.state == State::Discharging && b.time - a.time <= MAX_GAP {
                split_by_day(&mut on_battery, a.time, b.time);
            }
        }
        let capacity = days.finish();
        let trend = fit(&capacity);
        let latest = |f: fn(&Sample) -> Option<f64>| samples.iter().rev().find_map(f);
        let first = hourly
            .first()
            .map(|h| h.hour)
            .or(samples.first().map(|s| s.time));
        let mut cycles = capacity.iter().filter_map(|d| d.cycle_count);
        out.push(BatteryHistory {
            first,
            last: samples
                .last()
                .map(|s| s.time)
                .or(hourly.last().map(|h| h.hour)),
            samples: samples.len(),
            hours: hourly.len(),
            energy_full_design_wh: latest(|s| s.energy_full_design_wh),
            energy_full_wh: latest(|s| s.energy_full_wh)
                .or(hourly.iter().rev().find_map(|h| h.energy_full_wh)),
            cycles_first: cycles.clone().next(),
            cycles_last: cycles.next_back(),
            trend,
            capacity,
            sessions: sessions(&samples),
            on_battery: on_battery
                .into_iter()
                .map(|(day, seconds)| DayOnBattery {
                    date: date(day * DAY),
                    seconds,
                })
                .collect(),
            power: power_histogram(&samples),
            level: level(&samples, now - LEVEL_WINDOW),
            events,
            identity,
        });
    }
    Ok(out)
}

#[derive(Default)]
struct DayAccumulator {
    /// (day, health sum, health n, full sum, full n, max cycles)
    days: Vec<(i64, f64, u32, f64, u32, Option<u32>)>,
}

impl DayAccumulator {
    fn add(&mut self, t: i64, health: Option<f64>, full: Option<f64>, cycles: Option<u32>) {
        let day = t.div_euclid(DAY);
        if self.days.last().is_none_or(|d| d.0 != day) {
            // Inputs come sorted (hourly rows, then newer samples), so a day seen before is the last one
            // or, when hourly and samples share a day, found by search.
            if let Some(pos) = self.days.iter().rposition(|d| d.0 == day) {
                let entry = self.days.remove(pos);
                self.days.push(entry);
            } else {
                self.days.push((day, 0.0, 0, 0.0, 0, None));
            }
        }
        if let Some(d) = self.days.last_mut() {
            if let Some(h) = health {
                d.1 += h;
                d.2 += 1;
            }
            if let Some(f) = full {
                d.3 += f;
                d.4 += 1;
            }
            d.5 = d.5.max(cycles);
        }
    }

    fn finish(mut self) -> Vec<DayCapacity> {
        self.days.sort_by_key(|d| d.0);
        self.days
            .into_iter()
            .map(|(day, hs, hn, fs, fnn, cycles)| DayCapacity {
                date: date(day * DAY),
                time: day * DAY,
                health_percent: (hn > 0).then(|| hs / f64::from(hn)),
                energy_full_wh: (fnn > 0).then(|| fs / f64::from(fnn)),
                cycle_count: cycles,
            })
            .collect()
    }
}

fn add_day(days: &mut Vec<(i64, i64)>, day: i64, seconds: i64) {
    if let Some(d) = days.iter_mut().rev().find(|d| d.0 == day) {
        d.1 += seconds;
    } else {
        days.push((day, seconds));
        if days.len() > 1 && days[days.len() - 2].0 > day {
            days.sort_by_key(|d| d.0);
        }
    }
}

/// Adds the interval `[from, to)` to the days it covers.
fn split_by_day(days: &mut Vec<(i64, i64)>, from: i64, to: i64) {
    let mut t = from;
    while t < to {
        let day = t.div_euclid(DAY);
        let end = ((day + 1) * DAY).min(to);
        add_day(days, day, end - t);
        t = end;
    }
}

/// Least-squares line through the daily health values; `None` below three days.
fn fit(days: &[DayCapacity]) -> Option<Trend> {
    let points: Vec<(f64, f64)> = days
        .iter()
        .filter_map(|d| d.health_percent.map(|h| ((d.time + DAY / 2) as f64, h)))
        .collect();
    if points.len() < 3 {
        return None;
    }
    let n = points.len() as f64;
    // Centre time on the first point: Unix seconds squared lose precision in f64.
    let t0 = points[0].0;
    let (sx, sy) = points
        .iter()
        .fold((0.0, 0.0), |(sx, sy), &(x, y)| (sx + (x - t0), sy + y));
    let (mx, my) = (sx / n, sy / n);
    let (sxx, sxy) = points.iter().fold((0.0, 0.0), |(sxx, sxy), &(x, y)| {
        let dx = x - t0 - mx;
        (sxx + dx * dx, sxy + dx * (y - my))
    });
    if sxx <= 0.0 {
        return None;
    }
    let slope = sxy / sxx;
    let intercept = my - slope * (mx + t0);
    let last_t = points[points.len() - 1].0;
    let latest = intercept + slope * last_t;
    let reaches = (slope < 0.0 && latest > HEALTH_THRESHOLD)
        .then(|| (HEALTH_THRESHOLD - intercept) / slope)
        // Beyond a century the projection says nothing; leave it out rather than print year 2400.
        .filter(|t| t.is_finite() && *t - last_t < 100.0 * YEAR)
        .map(|t| t as i64);
    (slope.is_finite() && intercept.is_finite()).then(|| Trend {
        per_year: slope * YEAR,
        latest_percent: latest,
        reaches_threshold: reaches,
        reaches_threshold_date: reaches.map(date),
        days: points.len(),
        intercept,
        slope,
    })
}

fn session_kind(state: State) -> Option<SessionKind> {
    match state {
        State::Charging => Some(SessionKind::Charge),
        State::Discharging => Some(SessionKind::Discharge),
        _ => None,
    }
}

fn sessions(samples: &[Sample]) -> Vec<Session> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < samples.len() {
        let Some(kind) = session_kind(samples[i].state) else {
            i += 1;
            continue;
        };
        let mut j = i;
        let (mut weighted, mut weight) = (0.0, 0i64);
        while j + 1 < samples.len()
            && session_kind(samples[j + 1].state) == Some(kind)
            && samples[j + 1].time - samples[j].time <= MAX_GAP
        {
            if let Some(p) = samples[j].power_w {
                let dt = samples[j + 1].time - samples[j].time;
                weighted += p * dt as f64;
                weight += dt;
            }
            j += 1;
        }
        let (a, b) = (&samples[i], &samples[j]);
        if b.time > a.time {
            out.push(Session {
                kind,
                start: a.time,
                end: b.time,
                start_percentage: a.percentage,
                end_percentage: b.percentage,
                energy_wh: a.energy_wh.zip(b.energy_wh).map(|(x, y)| (y - x).abs()),
                average_power_w: (weight > 0).then(|| weighted / weight as f64),
            });
        }
        i = j + 1;
    }
    out
}

fn power_histogram(samples: &[Sample]) -> PowerHistogram {
    let mut spans: Vec<(f64, i64)> = Vec::new();
    for pair in samples.windows(2) {
        let dt = pair[1].time - pair[0].time;
        if pair[0].state == State::Discharging
            && dt <= MAX_GAP
            && let Some(p) = pair[0].power_w
        {
            spans.push((p, dt));
        }
    }
    let max = spans.iter().map(|s| s.0).fold(0.0_f64, f64::max);
    // Bins of 1, 2, 5, 10, 20, 50 W: at most 25 bins for any notebook's range.
    let bin_w = [1.0, 2.0, 5.0, 10.0, 20.0, 50.0]
        .into_iter()
        .find(|w| max / w < 25.0)
        .unwrap_or(100.0);
    let bins = ((max / bin_w).floor() as usize + 1).min(100);
    let mut seconds = vec![0; if spans.is_empty() { 0 } else { bins }];
    for (p, dt) in spans {
        let i = ((p / bin_w).floor() as usize).min(bins - 1);
        seconds[i] += dt;
    }
    PowerHistogram { bin_w, seconds }
}

/// The charge level from `since` on, averaged into at most [`LEVEL_POINTS`] buckets, with `None` at gaps.
fn level(samples: &[Sample], since: i64) -> Vec<Option<(i64, f64)>> {
    let start = samples.partition_point(|s| s.time < since);
    let recent = &samples[start..];
    let (Some(first), Some(last)) = (recent.first(), recent.last()) else {
        return Vec::new();
    };
    let bucket = ((last.time - first.time) / LEVEL_POINTS).max(1);
    let mut out = Vec::new();
    let (mut sum, mut n, mut key, mut t_sum) = (0.0, 0u32, None, 0i64);
    let mut prev_t: Option<i64> = None;
    for s in recent {
        let Some(p) = s.percentage else { continue };
        if prev_t.is_some_and(|t| s.time - t > MAX_GAP) {
            if n > 0 {
                out.push(Some((t_sum / i64::from(n), sum / f64::from(n))));
            }
            out.push(None);
            (sum, n, key, t_sum) = (0.0, 0, None, 0);
        }
        prev_t = Some(s.time);
        let k = (s.time - first.time) / bucket;
        if key.is_some_and(|kk| kk != k) && n > 0 {
            out.push(Some((t_sum / i64::from(n), sum / f64::from(n))));
            (sum, n, t_sum) = (0.0, 0, 0);
        }
        key = Some(k);
        sum += p;
        n += 1;
        t_sum += s.time;
    }
    if n > 0 {
        out.push(Some((t_sum / i64::from(n), sum / f64::from(n))));
    }
    out
}

/// `YYYY-MM-DD` of Unix time `t` (UTC, proleptic Gregorian).
#[must_use]
pub fn date(t: i64) -> String {
    let (y, m, d) = civil(t.div_euclid(DAY));
    format!("{y:04}-{m:02}-{d:02}")
}

/// `YYYY-MM-DD HH:MM` of Unix time `t` (UTC).
#[must_use]
pub fn date_time(t: i64) -> String {
    let secs = t.rem_euclid(DAY);
    format!("{} {:02}:{:02}", date(t), secs / 3600, secs % 3600 / 60)
}

/// Year, month, day of a day count since 1970-01-01: the Gregorian calendar repeats every 400 years
/// (146 097 days), and counting years from March puts the leap day last.
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468; // days from 0000-03-01 to 1970-01-01
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // day of era, 0..146096
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // year of era, 0..399
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of year from March 1st
    let mp = (5 * doy + 2) / 153; // month from March, 0..11
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(951_782_400), "2000-02-29");
        assert_eq!(date(1_767_225_599), "2025-12-31");
        assert_eq!(date_time(1_767_225_600), "2026-01-01 00:00");
        assert_eq!(date(-86_400), "1969-12-31");
    }
}
