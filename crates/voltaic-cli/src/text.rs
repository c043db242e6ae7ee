//! The human-readable report: one block per battery and per power source.

use std::fmt::Write as _;
use std::time::Duration;

use voltaic::core::text::escape;
use voltaic::{Battery, Field, Kind, PowerSource, Skipped, State};

/// ANSI styling, on only when asked (a terminal, and `NO_COLOR` unset).
#[derive(Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn paint(self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    fn bold(self, text: &str) -> String {
        self.paint("1", text)
    }

    fn dim(self, text: &str) -> String {
        self.paint("2", text)
    }

    fn state(self, state: State, text: &str) -> String {
        let code = match state {
            State::Charging | State::Full => "32",
            State::Discharging => "33",
            State::NotCharging => "36",
            State::Empty => "31",
            _ => "0",
        };
        self.paint(code, text)
    }
}

/// Marks a value voltaic worked out rather than read.
const DERIVED_MARK: &str = "*";

pub fn report(
    batteries: &[Battery],
    sources: &[PowerSource],
    skipped: &[Skipped],
    hidden_peripherals: usize,
    verbose: bool,
    style: Style,
) -> String {
    let mut out = String::new();
    let mut any_derived = false;
    if batteries.is_empty() {
        out.push_str("No battery found.");
        if hidden_peripherals > 0 {
            let noun = if hidden_peripherals == 1 {
                "battery"
            } else {
                "batteries"
            };
            let _ = write!(
                out,
                " ({hidden_peripherals} peripheral {noun} hidden: --all shows them)"
            );
        }
        out.push('\n');
    }
    for (i, b) in batteries.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        any_derived |= battery_block(&mut out, b, style);
    }
    if !sources.is_empty() {
        out.push('\n');
        for s in sources {
            any_derived |= source_line(&mut out, s, style);
        }
    }
    if verbose && !skipped.is_empty() {
        out.push('\n');
        for s in skipped {
            let _ = writeln!(
                out,
                "{}",
                style.dim(&format!("skipped {}: {}", escape(&s.id), escape(&s.reason)))
            );
        }
    }
    if any_derived {
        let _ = writeln!(
            out,
            "\n{}",
            style.dim(&format!(
                "{DERIVED_MARK} worked out by voltaic, not reported by the device"
            ))
        );
    }
    out
}

/// One line about the machine as a whole (the summary of its system batteries), or nothing when it
/// has none: `Machine: on battery, 54 % (2 batteries), 3 h 10 min left, warning low`.
pub fn summary_line(summary: &voltaic::Summary, style: Style) -> String {
    if summary.batteries == 0 {
        return String::new();
    }
    let mut parts = Vec::new();
    parts.push(
        match summary.on_battery {
            Some(true) => "on battery",
            Some(false) => "on external power",
            None => "power source unknown",
        }
        .to_owned(),
    );
    if let Some(p) = summary.percentage {
        let combined = if summary.batteries > 1 {
            format!(" ({} batteries)", summary.batteries)
        } else {
            String::new()
        };
        parts.push(format!(
            "{} %{combined}",
            fmt_percent((p * 10.0).round() / 10.0)
        ));
    }
    parts.push(style.state(summary.state, &summary.state.to_string()));
    if let Some(t) = summary.time_to_empty {
        parts.push(format!("{} left", fmt_duration(t)));
    }
    if let Some(t) = summary.time_to_full {
        parts.push(format!("{} to full", fmt_duration(t)));
    }
    if summary.warning != voltaic::WarningLevel::None {
        parts.push(style.paint("31", &format!("warning {}", summary.warning)));
    }
    format!("{} {}\n\n", style.bold("Machine:"), parts.join(", "))
}

/// Writes one battery's block; returns whether any shown value was derived.
#[allow(clippy::too_many_lines)] // one row per model field, in display order
fn battery_block(out: &mut String, b: &Battery, style: Style) -> bool {
    let mut derived_shown = false;
    let mut mark = |field: Field| {
        if b.derived.contains(field) {
            derived_shown = true;
            DERIVED_MARK
        } else {
            ""
        }
    };
    let kind = match b.kind {
        Kind::System => "",
        _ => " (peripheral)",
    };
    // Every string from a device or a recording goes through `escape`: no control character reaches the
    // terminal, no newline forges a line.
    let title = if b.display_name() == b.id {
        escape(&b.id).into_owned()
    } else {
        format!("{}  {}", escape(&b.id), escape(b.display_name()))
    };
    let _ = writeln!(out, "{}{kind}", style.bold(&title));

    let mut rows: Vec<(&str, String)> = Vec::new();
    let mut state = b.state.to_string();
    state.push_str(mark(Field::State));
    if let Some(reason) = &b.state_reason {
        let _ = write!(state, " ({})", escape(reason));
    }
    rows.push(("state", style.state(b.state, &state)));
    if let Some(p) = b.percentage {
        rows.push((
            "charge",
            format!(
                "{} %{}  {}",
                fmt_percent(p),
                mark(Field::Percentage),
                gauge(p)
            ),
        ));
    } else if let Some(level) = b.level {
        rows.push(("charge", format!("level {}", level.as_str())));
    }
    if let Some(t) = b.time_to_empty {
        rows.push((
            "time to empty",
            format!("{}{}", fmt_duration(t), mark(Field::TimeToEmpty)),
        ));
    }
    if let Some(t) = b.time_to_full {
        rows.push((
            "time to full",
            format!("{}{}", fmt_duration(t), mark(Field::TimeToFull)),
        ));
    }
    if let Some(e) = b.energy_wh {
        rows.push((
            "energy",
            format!("{} Wh{}", fmt_num(e, 2), mark(Field::Energy)),
        ));
    }
    if let Some(e) = b.energy_full_wh {
        rows.push((
            "energy full",
            format!("{} Wh{}", fmt_num(e, 2), mark(Field::EnergyFull)),
        ));
    }
    if let Some(e) = b.energy_full_design_wh {
        rows.push((
            "energy design",
            format!("{} Wh{}", fmt_num(e, 2), mark(Field::EnergyFullDesign)),
        ));
    }
    if let Some(w) = b.power_w {
        rows.push((
            "power",
            format!("{} W{}", fmt_num(w, 2), mark(Field::Power)),
        ));
    }
    if let Some(v) = b.voltage_v {
        rows.push(("voltage", format!("{} V", fmt_num(v, 2))));
    }
    if let Some(h) = b.health_percent {
        rows.push(("health", format!("{} %", fmt_num(h, 1))));
    }
    if let Some(c) = b.cycle_count {
        rows.push(("cycles", c.to_string()));
    }
    if let Some(t) = b.temperature_c {
        rows.push(("temperature", format!("{} °C", fmt_num(t, 1))));
    }
    for (label, value) in [
        ("vendor", &b.vendor),
        ("model", &b.model),
        ("serial", &b.serial),
    ] {
        if let Some(v) = value {
            rows.push((label, escape(v).into_owned()));
        }
    }
    if b.technology != voltaic::Technology::Unknown {
        rows.push(("technology", b.technology.as_str().replace('_', " ")));
    }
    if let Some(d) = b.manufacture_date {
        rows.push(("manufactured", d.to_string()));
    }
    let thresholds: Vec<String> = [
        ("start", b.charge_start_threshold),
        ("end", b.charge_end_threshold),
    ]
    .into_iter()
    .filter_map(|(name, v)| v.map(|v| format!("{name} {v} %")))
    .collect();
    if !thresholds.is_empty() {
        rows.push(("charge limits", thresholds.join(", ")));
    }
    if let Some(behaviour) = b.charge_behaviour {
        rows.push(("charge mode", behaviour.as_str().replace('_', " ")));
    }
    for (label, value) in rows {
        let _ = writeln!(out, "  {label:<14} {value}");
    }
    derived_shown
}

fn source_line(out: &mut String, s: &PowerSource, style: Style) -> bool {
    let online = match s.online {
        Some(true) => "online",
        Some(false) => "offline",
        None => "state unknown",
    };
    let mut parts = vec![s.kind.as_str().to_owned(), online.to_owned()];
    if let Some(t) = &s.usb_type {
        parts.push(escape(t).into_owned());
    }
    let derived = s.derived.contains(Field::Power) && s.power_w.is_some();
    match (s.power_w, s.voltage_v, s.current_a) {
        (Some(w), Some(v), Some(a)) => parts.push(format!(
            "{} W{} ({} V × {} A)",
            fmt_num(w, 1),
            if derived { DERIVED_MARK } else { "" },
            fmt_num(v, 2),
            fmt_num(a, 2)
        )),
        (Some(w), _, _) => parts.push(format!("{} W", fmt_num(w, 1))),
        _ => {}
    }
    if let Some(w) = s.power_max_w {
        parts.push(format!("rated {} W", fmt_num(w, 0)));
    }
    if let Some(name) = &s.name {
        parts.push(escape(name).into_owned());
    }
    let _ = writeln!(out, "{}  {}", style.bold(&escape(&s.id)), parts.join(", "));
    derived
}

/// A number with at most `decimals` decimals, trailing zeros kept for alignment of like values.
fn fmt_num(v: f64, decimals: usize) -> String {
    format!("{v:.decimals$}")
}

/// A percentage as the gauge gave it: `94` for whole numbers, `72.4` otherwise.
fn fmt_percent(p: f64) -> String {
    if p.fract() == 0.0 {
        format!("{p:.0}")
    } else {
        format!("{p:.1}")
    }
}

/// `3 h 05 min`, `12 min`, `40 s`: the same wording as the viewer.
pub fn fmt_duration(d: Duration) -> String {
    voltaic_top::Units::Human.duration(d)
}

/// A ten-cell charge bar.
fn gauge(percent: f64) -> String {
    let filled = (percent / 10.0).round().clamp(0.0, 10.0) as usize;
    format!("[{}{}]", "#".repeat(filled), ".".repeat(10 - filled))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(fmt_duration(Duration::from_secs(48300)), "13 h 25 min");
        assert_eq!(fmt_duration(Duration::from_secs(720)), "12 min");
        assert_eq!(fmt_duration(Duration::from_secs(40)), "40 s");
    }

    #[test]
    fn gauge_is_clamped() {
        assert_eq!(gauge(94.0), "[#########.]");
        assert_eq!(gauge(0.0), "[..........]");
        assert_eq!(gauge(100.0), "[##########]");
    }

    #[test]
    fn no_color_means_no_escape_codes() {
        let b = Battery::new("BAT0", Kind::System);
        let text = report(&[b], &[], &[], 0, false, Style { color: false });
        assert!(!text.contains('\x1b'));
        assert!(text.contains("state          unknown"));
    }
}
