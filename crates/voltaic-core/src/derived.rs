//! Values worked out rather than read, and the shared rules every decoder uses to work them out.
//!
//! Each rule cites where it comes from. The decoders call these so that every OS computes percentage,
//! health and time estimates the same way.

use std::time::Duration;

/// A model value that can be derived. Its name is the key used in JSON output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Field {
    /// `energy_wh`
    Energy,
    /// `energy_full_wh`
    EnergyFull,
    /// `energy_full_design_wh`
    EnergyFullDesign,
    /// `percentage`
    Percentage,
    /// `power_w`
    Power,
    /// `current_a`
    Current,
    /// `time_to_empty_s`
    TimeToEmpty,
    /// `time_to_full_s`
    TimeToFull,
    /// `state`
    State,
}

impl Field {
    /// Every field, in the order of the model.
    pub(crate) const ALL: [Field; 9] = [
        Field::Energy,
        Field::EnergyFull,
        Field::EnergyFullDesign,
        Field::Percentage,
        Field::Power,
        Field::Current,
        Field::TimeToEmpty,
        Field::TimeToFull,
        Field::State,
    ];

    /// The JSON key of the field.
    #[must_use]
    pub fn key(self) -> &'static str {
        match self {
            Field::Energy => "energy_wh",
            Field::EnergyFull => "energy_full_wh",
            Field::EnergyFullDesign => "energy_full_design_wh",
            Field::Percentage => "percentage",
            Field::Power => "power_w",
            Field::Current => "current_a",
            Field::TimeToEmpty => "time_to_empty_s",
            Field::TimeToFull => "time_to_full_s",
            Field::State => "state",
        }
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// The set of fields of one snapshot that voltaic computed rather than the OS reported.
#[derive(Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Derived(u16);

impl std::fmt::Debug for Derived {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.iter().map(Field::key)).finish()
    }
}

impl Derived {
    /// Marks `field` as derived.
    pub fn insert(&mut self, field: Field) {
        self.0 |= field.bit();
    }

    /// Marks `field` as derived when `derived` holds (a value was computed and is present).
    pub fn insert_if(&mut self, field: Field, derived: bool) {
        if derived {
            self.insert(field);
        }
    }

    /// Marks `field` as reported (undoes [`Derived::insert`]).
    pub fn remove(&mut self, field: Field) {
        self.0 &= !field.bit();
    }

    /// Whether `field` was derived.
    #[must_use]
    pub fn contains(self, field: Field) -> bool {
        self.0 & field.bit() != 0
    }

    /// The derived fields, in a fixed order.
    pub fn iter(self) -> impl Iterator<Item = Field> {
        Field::ALL.into_iter().filter(move |f| self.contains(*f))
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for Derived {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter().map(Field::key))
    }
}

/// The largest battery charge or discharge rate we believe, in watts.
///
/// The biggest notebook adapters are 330–400 W and a 99.9 Wh pack (the airline limit) cannot discharge much
/// faster than 3 C. UPower's old 100 W cap (copied by the `battery` crate) wrongly drops real rates of 140 W
/// machines; drivers that report garbage (65535 W, `0xFFFF` "Ones" from ACPI) are far above this.
pub const MAX_RATE_W: f64 = 500.0;

/// Below this rate no time estimate is made: UPower's 0.01 W floor (`up-device-battery.c`).
pub const MIN_RATE_W: f64 = 0.01;

/// Time-to-empty estimates beyond this are dropped (UPower's 240 h cap, `up-device-battery.c`).
pub const MAX_TIME_TO_EMPTY: Duration = Duration::from_secs(240 * 3600);

/// Time-to-full estimates beyond this are dropped (UPower's 20 h cap, `up-device-battery.c`).
pub const MAX_TIME_TO_FULL: Duration = Duration::from_secs(20 * 3600);

/// `Some(x)` when `x` is a finite number, else `None`: no NaN or infinity ever reaches the model.
#[must_use]
pub fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// `Some(x)` when `x` is finite and strictly positive.
#[must_use]
pub fn positive(x: f64) -> Option<f64> {
    finite(x).filter(|v| *v > 0.0)
}

/// A believable rate magnitude in watts: finite, not above [`MAX_RATE_W`]. Zero is kept (idle is a real value).
#[must_use]
pub fn rate(watts: f64) -> Option<f64> {
    finite(watts.abs()).filter(|w| *w <= MAX_RATE_W)
}

/// Percentage from energy now ÷ energy full, clamped to 0–100 (UPower `up-device-battery.c`).
#[must_use]
pub fn percentage_from(now: f64, full: f64) -> Option<f64> {
    if full <= 0.0 || now < 0.0 {
        return None;
    }
    finite(100.0 * now / full).map(|p| p.clamp(0.0, 100.0))
}

/// A reported percentage, accepted when it lies in 0–100 (a reading of 101 % is rounded gauge noise and
/// clamped; anything further out is nonsense and dropped).
#[must_use]
pub fn sane_percentage(p: f64) -> Option<f64> {
    finite(p)
        .filter(|p| (0.0..=102.0).contains(p))
        .map(|p| p.min(100.0))
}

/// Health: full ÷ design in percent. Not clamped (new packs exceed 100 %); `None` without a design value.
#[must_use]
pub fn health(full: f64, design: f64) -> Option<f64> {
    if full <= 0.0 || design <= 0.0 {
        return None;
    }
    finite(100.0 * full / design)
}

/// Time to empty = energy ÷ rate, when the rate is meaningful and the result under [`MAX_TIME_TO_EMPTY`].
#[must_use]
pub fn time_to_empty(energy_wh: f64, rate_w: f64) -> Option<Duration> {
    if rate_w < MIN_RATE_W || energy_wh < 0.0 {
        return None;
    }
    duration_hours(energy_wh / rate_w).filter(|d| *d <= MAX_TIME_TO_EMPTY)
}

/// Time to full = (full − now) ÷ rate, when the rate is meaningful and the result under [`MAX_TIME_TO_FULL`].
#[must_use]
pub fn time_to_full(energy_wh: f64, energy_full_wh: f64, rate_w: f64) -> Option<Duration> {
    if rate_w < MIN_RATE_W {
        return None;
    }
    let missing = (energy_full_wh - energy_wh).max(0.0);
    duration_hours(missing / rate_w).filter(|d| *d <= MAX_TIME_TO_FULL)
}

/// A duration from hours, rounded to whole seconds; `None` for negative or non-finite input.
#[must_use]
pub fn duration_hours(hours: f64) -> Option<Duration> {
    let secs = finite(hours * 3600.0)?;
    (0.0..1e12)
        .contains(&secs)
        .then(|| Duration::from_secs(secs.round() as u64))
}

/// Above this a battery energy is not a battery a notebook, phone or peripheral carries (the largest
/// notebook packs are 99.9 Wh, the airline limit; e-bike packs ~1 kWh): 10 kWh is a reading error.
pub const MAX_ENERGY_WH: f64 = 10_000.0;
/// Above this a battery or charger voltage is a reading error (USB PD stops at 48 V, packs at ~60 V).
pub const MAX_VOLTAGE_V: f64 = 1_000.0;
/// Above this a current in amperes is a reading error (the Linux decoder drops ≥ 100 A already).
pub const MAX_CURRENT_A: f64 = 1_000.0;
/// Health above this is not a worn or new battery but a wrong design capacity (new packs read ~100–110 %).
pub const MAX_HEALTH_PERCENT: f64 = 1_000.0;
/// Cycle counts above this are a sentinel or garbage (Li-ion packs are rated for 300–1 000 cycles).
pub const MAX_CYCLES: u32 = 100_000;
/// Above this a power source's power is a reading error (a USB-C port gives at most 240 W, a notebook
/// adapter a few hundred).
pub const MAX_SOURCE_W: f64 = 100_000.0;
/// Battery temperatures outside this range (°C) are a reading error.
pub const TEMPERATURE_RANGE_C: std::ops::RangeInclusive<f64> = -100.0..=200.0;
/// Energy now may exceed last-full energy by this factor (gauge slack) before it is a gauge bug.
pub const ENERGY_SLACK: f64 = 1.1;

/// The one plausibility rule every decoder's battery passes through (run by [`crate::decode::decode`]
/// and [`crate::decode::decode_battery`]): a physically impossible value is dropped (`None`), never
/// shown. The reasons are the bounds above: energies above 10 kWh, voltages above 1 kV, currents above
/// 1 kA, health above 1 000 %, cycle counts above 100 000, temperatures outside −100…200 °C, and energy
/// now above last-full energy (+10 %), whether it was reported or computed from charge × voltage. What
/// was worked out from a dropped value (a percentage from energy ÷ full, a time from energy ÷ rate) is
/// dropped with it.
pub fn plausible_battery(b: &mut crate::Battery) {
    let had_energy = b.energy_wh.is_some();
    for energy in [
        &mut b.energy_wh,
        &mut b.energy_full_wh,
        &mut b.energy_full_design_wh,
    ] {
        *energy = energy.filter(|e| (0.0..=MAX_ENERGY_WH).contains(e));
    }
    b.voltage_v = b.voltage_v.filter(|v| (0.0..=MAX_VOLTAGE_V).contains(v));
    b.current_a = b.current_a.filter(|a| (0.0..=MAX_CURRENT_A).contains(a));
    b.power_w = b.power_w.and_then(rate);
    b.health_percent = b
        .health_percent
        .filter(|h| (0.0..=MAX_HEALTH_PERCENT).contains(h));
    b.cycle_count = b.cycle_count.filter(|c| *c <= MAX_CYCLES);
    b.temperature_c = b.temperature_c.filter(|t| TEMPERATURE_RANGE_C.contains(t));
    if let (Some(now), Some(full)) = (b.energy_wh, b.energy_full_wh)
        && now > full * ENERGY_SLACK
    {
        b.energy_wh = None;
    }
    // Values worked out from the energy just dropped go with it.
    if had_energy && b.energy_wh.is_none() {
        for field in [Field::Percentage, Field::TimeToEmpty, Field::TimeToFull] {
            if b.derived.contains(field) {
                match field {
                    Field::Percentage => b.percentage = None,
                    Field::TimeToEmpty => b.time_to_empty = None,
                    _ => b.time_to_full = None,
                }
            }
        }
    }
    for (field, present) in [
        (Field::Energy, b.energy_wh.is_some()),
        (Field::EnergyFull, b.energy_full_wh.is_some()),
        (Field::EnergyFullDesign, b.energy_full_design_wh.is_some()),
        (Field::Power, b.power_w.is_some()),
        (Field::Current, b.current_a.is_some()),
        (Field::Percentage, b.percentage.is_some()),
        (Field::TimeToEmpty, b.time_to_empty.is_some()),
        (Field::TimeToFull, b.time_to_full.is_some()),
    ] {
        if !present {
            b.derived.remove(field);
        }
    }
}

/// The same rule for a power source: voltages above 1 kV, currents above 1 kA and powers above 100 kW
/// are dropped.
pub fn plausible_source(s: &mut crate::PowerSource) {
    for v in [&mut s.voltage_v, &mut s.voltage_max_v] {
        *v = v.filter(|v| (0.0..=MAX_VOLTAGE_V).contains(v));
    }
    for a in [&mut s.current_a, &mut s.current_max_a] {
        *a = a.filter(|a| (0.0..=MAX_CURRENT_A).contains(a));
    }
    for w in [&mut s.power_w, &mut s.power_max_w] {
        *w = w.filter(|w| (0.0..=MAX_SOURCE_W).contains(w));
    }
    if s.power_w.is_none() {
        s.derived.remove(Field::Power);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impossible_values_are_dropped_by_one_rule() {
        let mut b = crate::Battery::new("BAT0", crate::Kind::System);
        b.energy_wh = Some(38.0);
        b.energy_full_wh = Some(4.0);
        b.energy_full_design_wh = Some(9e12);
        b.voltage_v = Some(9e12);
        b.health_percent = Some(9e20);
        b.cycle_count = Some(u32::MAX);
        b.percentage = Some(100.0);
        b.derived.insert(Field::Percentage);
        b.derived.insert(Field::Energy);
        plausible_battery(&mut b);
        assert_eq!(
            (b.energy_wh, b.energy_full_wh, b.energy_full_design_wh),
            (None, Some(4.0), None)
        );
        assert_eq!(
            (b.voltage_v, b.health_percent, b.cycle_count),
            (None, None, None)
        );
        assert_eq!(b.percentage, None, "worked out from the dropped energy");
        assert!(b.derived.iter().next().is_none());
        let mut ok = crate::Battery::new("BAT0", crate::Kind::System);
        ok.energy_wh = Some(43.0);
        ok.energy_full_wh = Some(40.0);
        ok.cycle_count = Some(1200);
        ok.health_percent = Some(104.0);
        let before = ok.clone();
        plausible_battery(&mut ok);
        assert_eq!(ok, before);
        let mut s = crate::PowerSource::new("usb", crate::SourceKind::Usb);
        s.power_w = Some(8.5e25);
        s.power_max_w = Some(100.0);
        s.voltage_v = Some(20.0);
        plausible_source(&mut s);
        assert_eq!(
            (s.power_w, s.power_max_w, s.voltage_v),
            (None, Some(100.0), Some(20.0))
        );
    }

    #[test]
    fn derived_set_round_trips() {
        let mut d = Derived::default();
        assert!(!d.contains(Field::Energy));
        d.insert(Field::Energy);
        d.insert(Field::TimeToFull);
        assert_eq!(
            d.iter().map(Field::key).collect::<Vec<_>>(),
            ["energy_wh", "time_to_full_s"]
        );
        d.remove(Field::Energy);
        assert!(!d.contains(Field::Energy));
    }

    #[test]
    fn rates_above_a_notebook_are_dropped_but_140_w_is_kept() {
        assert_eq!(rate(140.0), Some(140.0));
        assert_eq!(rate(-27.758), Some(27.758));
        assert_eq!(rate(65535.0), None);
        assert_eq!(rate(f64::NAN), None);
        assert_eq!(rate(0.0), Some(0.0));
    }

    #[test]
    fn percentage_is_clamped_and_never_nan() {
        assert_eq!(percentage_from(5.0, 10.0), Some(50.0));
        assert_eq!(percentage_from(12.0, 10.0), Some(100.0));
        assert_eq!(percentage_from(1.0, 0.0), None);
        assert_eq!(sane_percentage(101.0), Some(100.0));
        assert_eq!(sane_percentage(150.0), None);
        assert_eq!(sane_percentage(-1.0), None);
    }

    #[test]
    fn health_is_not_clamped() {
        assert_eq!(
            health(94.86, 93.96).map(|h| (h * 10.0).round()),
            Some(1010.0)
        );
        assert_eq!(health(1.0, 0.0), None);
    }

    #[test]
    fn time_estimates_respect_floor_and_caps() {
        assert_eq!(time_to_empty(10.0, 5.0), Some(Duration::from_secs(7200)));
        assert_eq!(time_to_empty(10.0, 0.0), None);
        assert_eq!(time_to_empty(50.0, 0.02), None, "2500 h is beyond the cap");
        assert_eq!(
            time_to_full(5.0, 10.0, 5.0),
            Some(Duration::from_secs(3600))
        );
        assert_eq!(time_to_full(10.0, 10.0, 5.0), Some(Duration::ZERO));
        assert_eq!(
            time_to_full(0.0, 100.0, 1.0),
            None,
            "100 h is beyond the cap"
        );
    }
}
