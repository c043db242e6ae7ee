//! How values are written: human units (Wh, °C, "3 h 05 min") or SI units (J, K, seconds).

use std::time::Duration;

/// The units values are shown in; `u` switches between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Units {
    /// Watt-hours, watts, degrees Celsius, hours and minutes.
    #[default]
    Human,
    /// Joules, watts, kelvins, seconds.
    Si,
}

impl Units {
    /// The other system.
    #[must_use]
    pub fn toggled(self) -> Units {
        match self {
            Units::Human => Units::Si,
            Units::Si => Units::Human,
        }
    }

    /// Energy, given in watt-hours.
    #[must_use]
    pub fn energy(self, wh: f64) -> String {
        match self {
            Units::Human => format!("{wh:.2} Wh"),
            Units::Si => format!("{:.0} J", wh * 3600.0),
        }
    }

    /// Power, in watts (the same in both systems).
    #[must_use]
    pub fn power(self, w: f64) -> String {
        format!("{w:.2} W")
    }

    /// A temperature, given in degrees Celsius.
    #[must_use]
    pub fn temperature(self, c: f64) -> String {
        match self {
            Units::Human => format!("{c:.1} °C"),
            Units::Si => format!("{:.2} K", self.temperature_value(c)),
        }
    }

    /// A temperature in this system's unit (°C or K), for the chart.
    #[must_use]
    pub fn temperature_value(self, c: f64) -> f64 {
        match self {
            Units::Human => c,
            // 0 °C = 273.15 K (SI Brochure, 9th edition, 2.3.1).
            Units::Si => c + 273.15,
        }
    }

    /// The temperature unit's symbol.
    #[must_use]
    pub fn temperature_unit(self) -> &'static str {
        match self {
            Units::Human => "°C",
            Units::Si => "K",
        }
    }

    /// A duration: `3 h 05 min`, `12 min`, `40 s`; or whole seconds (`11100 s`).
    #[must_use]
    pub fn duration(self, d: Duration) -> String {
        let secs = d.as_secs();
        match self {
            Units::Si => format!("{secs} s"),
            Units::Human => {
                let (h, m) = (secs / 3600, (secs % 3600) / 60);
                if h > 0 {
                    format!("{h} h {m:02} min")
                } else if m > 0 {
                    format!("{m} min")
                } else {
                    format!("{secs} s")
                }
            }
        }
    }

    /// A sampling interval: `250 ms`, `1 s`, `2.5 s` (both systems).
    #[must_use]
    pub fn interval(d: Duration) -> String {
        let ms = d.as_millis();
        if ms < 1000 {
            format!("{ms} ms")
        } else {
            let secs = format!("{:.2}", d.as_secs_f64());
            format!("{} s", secs.trim_end_matches('0').trim_end_matches('.'))
        }
    }

    /// The short name: `human` or `SI`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Units::Human => "human",
            Units::Si => "SI",
        }
    }

    /// The name with its units, shown in the status line.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Units::Human => "human (Wh, W, °C, h min)",
            Units::Si => "SI (J, W, K, s)",
        }
    }
}

/// A percentage as the device gave it: `94 %` for whole numbers, `72.4 %` otherwise.
#[must_use]
pub fn percent(p: f64) -> String {
    if p.fract() == 0.0 {
        format!("{p:.0} %")
    } else {
        format!("{p:.1} %")
    }
}

/// A wall-clock time of day, `HH:MM:SS`, for `unix_secs` at UTC offset `offset_s`.
#[must_use]
pub fn clock(unix_secs: f64, offset_s: i32) -> String {
    let local = unix_secs.floor() as i64 + i64::from(offset_s);
    let day = local.rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", day / 3600, (day % 3600) / 60, day % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_and_si_energy() {
        assert_eq!(Units::Human.energy(28.93), "28.93 Wh");
        assert_eq!(Units::Si.energy(28.93), "104148 J");
    }

    #[test]
    fn human_and_si_durations() {
        assert_eq!(
            Units::Human.duration(Duration::from_secs(48300)),
            "13 h 25 min"
        );
        assert_eq!(
            Units::Human.duration(Duration::from_secs(11100)),
            "3 h 05 min"
        );
        assert_eq!(Units::Human.duration(Duration::from_secs(720)), "12 min");
        assert_eq!(Units::Human.duration(Duration::from_secs(40)), "40 s");
        assert_eq!(Units::Si.duration(Duration::from_secs(48300)), "48300 s");
    }

    #[test]
    fn temperatures_in_celsius_or_kelvin() {
        assert_eq!(Units::Human.temperature(27.2), "27.2 °C");
        assert_eq!(Units::Si.temperature(27.2), "300.35 K");
    }

    #[test]
    fn intervals_read_naturally() {
        assert_eq!(Units::interval(Duration::from_millis(250)), "250 ms");
        assert_eq!(Units::interval(Duration::from_secs(1)), "1 s");
        assert_eq!(Units::interval(Duration::from_millis(2500)), "2.5 s");
        assert_eq!(Units::interval(Duration::from_millis(1250)), "1.25 s");
        assert_eq!(Units::interval(Duration::from_secs(60)), "60 s");
    }

    #[test]
    fn percentages_keep_the_device_precision() {
        assert_eq!(percent(71.0), "71 %");
        assert_eq!(percent(72.44), "72.4 %");
    }

    #[test]
    fn clock_applies_the_offset_and_wraps_the_day() {
        // 2024-02-04T12:00:03Z
        let t = 1_707_048_003.0;
        assert_eq!(clock(t, 0), "12:00:03");
        assert_eq!(clock(t, 3600), "13:00:03");
        assert_eq!(clock(t, -13 * 3600), "23:00:03");
        assert_eq!(clock(t + 0.9, 0), "12:00:03");
    }
}
