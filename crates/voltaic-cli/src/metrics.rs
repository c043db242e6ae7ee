//! The Prometheus / OpenMetrics exposition of a snapshot (`voltaic --format openmetrics`, `voltaic serve`).
//!
//! Names follow the Prometheus naming conventions (<https://prometheus.io/docs/practices/naming/>): a
//! `voltaic_` prefix, so that node_exporter's `node_power_supply_*` can run beside it, and the base unit
//! as a suffix: `_joules` (not watt-hours: `promtool check metrics` asks for base units, and Grafana
//! shows joules as Wh), `_watts`, `_volts`, `_amperes`, `_celsius`, `_seconds`, and `_ratio` for 0–1
//! (charge, health; health above 1 is a pack that beats its design).
//!
//! Every sample is a gauge, so that one text is both a valid Prometheus text exposition (0.0.4, what
//! node_exporter's textfile collector reads) and a valid OpenMetrics 1.0 exposition: the state is a
//! state set written the classic way, one series per state with the state as a label, 1 for the current
//! one and 0 for the others. The OpenMetrics form only adds the closing `# EOF`.
//!
//! Values that voltaic worked out rather than read are marked by a `voltaic_battery_derived` /
//! `voltaic_power_source_derived` series naming the metric, so that a dashboard can tell them apart
//! without the value series changing identity.
//!
//! Hand-written rather than through `prometheus-client`: that crate is built around long-lived
//! registries of typed metrics updated in place, has no state-set type in its text encoder, and would
//! add a proc-macro crate to the build; the exposition of one snapshot is a few loops. Label values
//! are escaped per the exposition formats (`\\`, `\"`, `\n`); other control characters from device
//! strings are replaced by U+FFFD, never printed.

use std::fmt::Write as _;

use voltaic::{Battery, Field, Level, PowerSource, Snapshot, State};

/// The content type of the Prometheus text exposition.
pub const CONTENT_TYPE_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";
/// The content type of the OpenMetrics text exposition.
pub const CONTENT_TYPE_OPENMETRICS: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Which exposition to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// Prometheus text format 0.0.4.
    Prometheus,
    /// OpenMetrics 1.0 (the same samples, ending with `# EOF`).
    OpenMetrics,
}

/// Every state, in the order the state set lists them.
const STATES: [State; 6] = [
    State::Charging,
    State::Discharging,
    State::Full,
    State::NotCharging,
    State::Empty,
    State::Unknown,
];

/// Every warning level, in the order the state set lists them.
const LEVELS: [Level; 5] = [
    Level::Critical,
    Level::Low,
    Level::Normal,
    Level::High,
    Level::Full,
];

/// A battery gauge: name, help, the value in the metric's unit, and the model field that marks it derived.
struct Gauge<T> {
    name: &'static str,
    help: &'static str,
    value: fn(&T) -> Option<f64>,
    derived: Option<Field>,
}

const JOULES_PER_WH: f64 = 3600.0;

const BATTERY_GAUGES: [Gauge<Battery>; 12] = [
    Gauge {
        name: "voltaic_battery_charge_ratio",
        help: "State of charge, 0 to 1.",
        value: |b| b.percentage.map(|p| p / 100.0),
        derived: Some(Field::Percentage),
    },
    Gauge {
        name: "voltaic_battery_energy_joules",
        help: "Energy stored now.",
        value: |b| b.energy_wh.map(|e| e * JOULES_PER_WH),
        derived: Some(Field::Energy),
    },
    Gauge {
        name: "voltaic_battery_energy_full_joules",
        help: "Energy stored when full, as the pack is now.",
        value: |b| b.energy_full_wh.map(|e| e * JOULES_PER_WH),
        derived: Some(Field::EnergyFull),
    },
    Gauge {
        name: "voltaic_battery_energy_full_design_joules",
        help: "Energy stored when full, as designed.",
        value: |b| b.energy_full_design_wh.map(|e| e * JOULES_PER_WH),
        derived: Some(Field::EnergyFullDesign),
    },
    Gauge {
        name: "voltaic_battery_health_ratio",
        help: "Full energy over design energy (above 1 for a pack that beats its design).",
        value: |b| b.health_percent.map(|h| h / 100.0),
        derived: None,
    },
    Gauge {
        name: "voltaic_battery_cycles",
        help: "Charge cycles the pack has counted.",
        value: |b| b.cycle_count.map(f64::from),
        derived: None,
    },
    Gauge {
        name: "voltaic_battery_power_watts",
        help: "Rate of charge or discharge (always positive; the state says which).",
        value: |b| b.power_w,
        derived: Some(Field::Power),
    },
    Gauge {
        name: "voltaic_battery_voltage_volts",
        help: "Voltage now.",
        value: |b| b.voltage_v,
        derived: None,
    },
    Gauge {
        name: "voltaic_battery_current_amperes",
        help: "Current now (always positive; the state says which way).",
        value: |b| b.current_a,
        derived: Some(Field::Current),
    },
    Gauge {
        name: "voltaic_battery_temperature_celsius",
        help: "Pack temperature.",
        value: |b| b.temperature_c,
        derived: None,
    },
    Gauge {
        name: "voltaic_battery_time_to_empty_seconds",
        help: "Time until empty at the present rate.",
        value: |b| b.time_to_empty.map(|d| d.as_secs_f64()),
        derived: Some(Field::TimeToEmpty),
    },
    Gauge {
        name: "voltaic_battery_time_to_full_seconds",
        help: "Time until full at the present rate.",
        value: |b| b.time_to_full.map(|d| d.as_secs_f64()),
        derived: Some(Field::TimeToFull),
    },
];

const SOURCE_GAUGES: [Gauge<PowerSource>; 5] = [
    Gauge {
        name: "voltaic_power_source_online",
        help: "1 when the source supplies power, 0 when not.",
        value: |s| s.online.map(f64::from),
        derived: None,
    },
    Gauge {
        name: "voltaic_power_source_power_watts",
        help: "Power delivered now (USB Power Delivery: as negotiated).",
        value: |s| s.power_w,
        derived: Some(Field::Power),
    },
    Gauge {
        name: "voltaic_power_source_voltage_volts",
        help: "Voltage now.",
        value: |s| s.voltage_v,
        derived: None,
    },
    Gauge {
        name: "voltaic_power_source_current_amperes",
        help: "Current now.",
        value: |s| s.current_a,
        derived: Some(Field::Current),
    },
    Gauge {
        name: "voltaic_power_source_power_max_watts",
        help: "Most power the source offers.",
        value: |s| s.power_max_w,
        derived: None,
    },
];

/// The exposition of `snapshot` (its batteries as given: the caller leaves peripherals out unless asked).
#[must_use]
pub fn render(snapshot: &Snapshot, flavor: Flavor) -> String {
    let mut out = String::with_capacity(4096);
    let batteries: Vec<(&Battery, String)> = snapshot
        .batteries
        .iter()
        .map(|b| (b, battery_labels(b)))
        .collect();
    let sources: Vec<(&PowerSource, String)> = snapshot
        .power_sources
        .iter()
        .map(|s| (s, source_labels(s)))
        .collect();

    gauges(&mut out, &BATTERY_GAUGES, &batteries);
    state_set(
        &mut out,
        "voltaic_battery_state",
        "What the battery is doing: 1 for the current state, 0 for the others.",
        "state",
        &batteries,
        &STATES.map(State::as_str),
        |b| Some(b.state.as_str()),
    );
    state_set(
        &mut out,
        "voltaic_battery_level",
        "Coarse charge level, where the device reports one: 1 for the current level.",
        "level",
        &batteries,
        &LEVELS.map(Level::as_str),
        |b| b.level.map(Level::as_str),
    );
    derived(
        &mut out,
        "voltaic_battery_derived",
        &BATTERY_GAUGES,
        &batteries,
        |b| {
            b.derived
                .contains(Field::State)
                .then_some("voltaic_battery_state")
        },
    );
    gauges(&mut out, &SOURCE_GAUGES, &sources);
    derived(
        &mut out,
        "voltaic_power_source_derived",
        &SOURCE_GAUGES,
        &sources,
        |_| None,
    );
    if flavor == Flavor::OpenMetrics {
        out.push_str("# EOF\n");
    }
    out
}

fn header(out: &mut String, name: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
}

fn gauges<T>(out: &mut String, table: &[Gauge<T>], devices: &[(&T, String)]) {
    for gauge in table {
        let values: Vec<(&str, f64)> = devices
            .iter()
            .filter_map(|(d, labels)| {
                (gauge.value)(d)
                    .filter(|v| v.is_finite())
                    .map(|v| (labels.as_str(), v))
            })
            .collect();
        if values.is_empty() {
            continue;
        }
        header(out, gauge.name, gauge.help);
        for (labels, v) in values {
            let _ = writeln!(out, "{}{{{labels}}} {}", gauge.name, number(v));
        }
    }
}

fn state_set<T>(
    out: &mut String,
    name: &str,
    help: &str,
    label: &str,
    devices: &[(&T, String)],
    all: &[&str],
    current: impl Fn(&T) -> Option<&'static str>,
) {
    let mut wrote_header = false;
    for (d, labels) in devices {
        let Some(now) = current(d) else { continue };
        if !wrote_header {
            header(out, name, help);
            wrote_header = true;
        }
        for state in all {
            let _ = writeln!(
                out,
                "{name}{{{labels},{label}=\"{state}\"}} {}",
                u8::from(*state == now)
            );
        }
    }
}

/// Batteries and power sources both carry the set of fields voltaic worked out.
trait HasDerived {
    fn derived_has(&self, field: Field) -> bool;
}

impl HasDerived for Battery {
    fn derived_has(&self, field: Field) -> bool {
        self.derived.contains(field)
    }
}

impl HasDerived for PowerSource {
    fn derived_has(&self, field: Field) -> bool {
        self.derived.contains(field)
    }
}

fn derived<T: HasDerived>(
    out: &mut String,
    name: &str,
    table: &[Gauge<T>],
    devices: &[(&T, String)],
    extra: impl Fn(&T) -> Option<&'static str>,
) {
    let mut lines = Vec::new();
    for (d, labels) in devices {
        for gauge in table {
            let marked = gauge.derived.is_some_and(|f| d.derived_has(f));
            if marked && (gauge.value)(d).is_some_and(f64::is_finite) {
                lines.push(format!("{name}{{{labels},metric=\"{}\"}} 1", gauge.name));
            }
        }
        if let Some(metric) = extra(d) {
            lines.push(format!("{name}{{{labels},metric=\"{metric}\"}} 1"));
        }
    }
    if lines.is_empty() {
        return;
    }
    header(
        out,
        name,
        "1 for each metric whose value voltaic worked out rather than read from the device.",
    );
    for line in lines {
        out.push_str(&line);
        out.push('\n');
    }
}

fn battery_labels(b: &Battery) -> String {
    let mut labels = String::new();
    label(&mut labels, "id", Some(&b.id));
    label(&mut labels, "kind", Some(b.kind.as_str()));
    label(&mut labels, "vendor", b.vendor.as_deref());
    label(&mut labels, "model", b.model.as_deref());
    label(&mut labels, "serial", b.serial.as_deref());
    labels
}

fn source_labels(s: &PowerSource) -> String {
    let mut labels = String::new();
    label(&mut labels, "id", Some(&s.id));
    label(&mut labels, "kind", Some(s.kind.as_str()));
    label(&mut labels, "vendor", s.vendor.as_deref());
    label(&mut labels, "model", s.name.as_deref());
    label(&mut labels, "serial", s.serial.as_deref());
    labels
}

/// Appends `name="value"` (comma-separated), escaped; an absent value is no label (the same series to
/// Prometheus as an empty one).
fn label(out: &mut String, name: &str, value: Option<&str>) {
    let Some(value) = value else { return };
    if !out.is_empty() {
        out.push(',');
    }
    out.push_str(name);
    out.push_str("=\"");
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A sample value: rounded to 6 decimals (below any gauge's resolution; avoids `0.30000000000000004`),
/// written without exponent. Callers pass finite values only.
fn number(v: f64) -> String {
    let r = (v * 1e6).round() / 1e6;
    if r == 0.0 {
        "0".to_owned()
    } else {
        r.to_string()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use voltaic::Kind;

    use super::*;

    fn battery() -> Battery {
        let mut b = Battery::new("BAT0", Kind::System);
        b.state = State::Discharging;
        b.percentage = Some(71.0);
        b.energy_wh = Some(28.93);
        b.power_w = Some(2.39);
        b.time_to_empty = Some(Duration::from_secs(48_300));
        b.derived.insert(Field::Power);
        b.model = Some("L17M3PB0".to_owned());
        b.vendor = Some("A \"quoted\\\" vendor\nwith\u{7}bell".to_owned());
        b
    }

    fn snapshot() -> Snapshot {
        let mut s = Snapshot::default();
        s.batteries.push(battery());
        let mut ac = PowerSource::new("AC", voltaic::SourceKind::Mains);
        ac.online = Some(true);
        s.power_sources.push(ac);
        s
    }

    #[test]
    fn values_in_base_units_with_escaped_labels() {
        let text = render(&snapshot(), Flavor::Prometheus);
        let labels =
            r#"id="BAT0",kind="system",vendor="A \"quoted\\\" vendor\nwith�bell",model="L17M3PB0""#;
        for line in [
            format!("voltaic_battery_charge_ratio{{{labels}}} 0.71"),
            format!("voltaic_battery_energy_joules{{{labels}}} 104148"),
            format!("voltaic_battery_time_to_empty_seconds{{{labels}}} 48300"),
            format!("voltaic_battery_state{{{labels},state=\"discharging\"}} 1"),
            format!("voltaic_battery_state{{{labels},state=\"charging\"}} 0"),
            format!("voltaic_battery_derived{{{labels},metric=\"voltaic_battery_power_watts\"}} 1"),
            r#"voltaic_power_source_online{id="AC",kind="mains"} 1"#.to_owned(),
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line} in\n{text}");
        }
        assert!(!text.contains('\u{7}'));
        assert!(!text.contains("# EOF"));
    }

    #[test]
    fn unknown_values_are_left_out_never_zero() {
        let text = render(&snapshot(), Flavor::Prometheus);
        for absent in [
            "voltaic_battery_temperature_celsius",
            "voltaic_battery_voltage_volts",
            "voltaic_battery_level",
            "voltaic_power_source_power_watts",
        ] {
            assert!(!text.contains(absent), "{absent} in\n{text}");
        }
    }

    #[test]
    fn every_family_has_help_and_type_before_its_samples_and_openmetrics_ends_with_eof() {
        let text = render(&snapshot(), Flavor::OpenMetrics);
        assert!(text.ends_with("# EOF\n"));
        let mut declared: Vec<&str> = Vec::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let name = rest.split(' ').next().unwrap_or_default();
                assert!(!declared.contains(&name), "{name} declared twice");
                declared.push(name);
            } else if !line.starts_with('#') {
                let name = line.split('{').next().unwrap_or_default();
                assert_eq!(declared.last(), Some(&name), "{line} outside its family");
            }
        }
    }

    #[test]
    fn numbers_are_rounded_and_plain() {
        assert_eq!(number(0.1 + 0.2), "0.3");
        assert_eq!(number(1e-9), "0");
        assert_eq!(number(104_148.0), "104148");
        assert_eq!(number(-2.5), "-2.5");
    }
}
