#![allow(clippy::expect_used, clippy::unwrap_used)]
// The test harness reads fixture files; the purity rule is for the library, not its tests.
#![allow(clippy::disallowed_methods)]
//! Every recording in `tests/fixtures/<os>/` decoded and snapshotted, and checked against what the
//! capture's trusted tool said.
//!
//! A fixture is a real capture (from `../shared/corpus`, a public issue thread, a man page) in any form
//! `voltaic_core::replay::parse_recording` reads, with `#` header lines giving its provenance:
//!
//! ```text
//! # source: https://github.com/... (who, when)
//! # expect BAT0: percentage=94±1 state=not_charging health_percent=33.7±0.5 time_to_empty_s=48300±5%
//! # expect-source AC: online=true
//! # expect-skipped BAT1
//! # expect-count batteries=1 sources=1
//! ```
//!
//! `expect` lines hold the trusted tool's values (`null` = must be unknown; `±x` absolute or `±x%`
//! relative tolerance). Where that tool is known to be wrong, the fixture says so in a comment and the
//! `expect` line holds the right value.

use std::path::{Path, PathBuf};

use voltaic_core::decode::{Decoded, decode};
use voltaic_core::replay::parse_recording;
use voltaic_core::{Battery, PowerSource};

fn fixtures() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut out = Vec::new();
    let mut dirs = vec![root];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("fixture dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_none_or(|e| e != "md") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn header_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .filter_map(|l| l.trim_start().strip_prefix('#'))
        .map(str::trim)
}

#[test]
fn every_fixture_has_provenance_decodes_and_matches_its_snapshot() {
    let all = fixtures();
    assert!(all.len() >= 15, "fixtures missing: {}", all.len());
    let mut failures = Vec::new();
    let mut snapshots = Vec::new();
    for path in &all {
        let bytes = std::fs::read(path).expect("read fixture");
        let text = String::from_utf8_lossy(&bytes);
        let name = path
            .strip_prefix(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"))
            .expect("under fixtures")
            .to_string_lossy()
            .replace(['/', '.'], "__");
        if !header_lines(&text).any(|l| l.starts_with("source:")) {
            failures.push(format!("{name}: no `# source:` provenance line"));
            continue;
        }
        let devices = match parse_recording(&bytes) {
            Ok(d) => d,
            Err(e) => {
                failures.push(format!("{name}: does not parse: {e}"));
                continue;
            }
        };
        let decoded = decode(&devices);
        for b in &decoded.batteries {
            check_finite(&name, b, &mut failures);
        }
        for line in header_lines(&text) {
            if let Err(e) = check_expectation(line, &decoded) {
                failures.push(format!("{name}: `{line}`: {e}"));
            }
        }
        snapshots.push((name, decoded));
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    for (name, decoded) in snapshots {
        insta::assert_debug_snapshot!(name, decoded);
    }
}

fn check_finite(name: &str, b: &Battery, failures: &mut Vec<String>) {
    let values = [
        b.percentage,
        b.energy_wh,
        b.energy_full_wh,
        b.energy_full_design_wh,
        b.power_w,
        b.voltage_v,
        b.current_a,
        b.health_percent,
        b.temperature_c,
    ];
    if values.iter().flatten().any(|v| !v.is_finite()) {
        failures.push(format!("{name}: {} has a non-finite value", b.id));
    }
    if b.percentage.is_some_and(|p| !(0.0..=100.0).contains(&p)) {
        failures.push(format!("{name}: {} percentage out of 0..=100", b.id));
    }
    if [b.power_w, b.current_a].iter().flatten().any(|v| *v < 0.0) {
        failures.push(format!("{name}: {} negative magnitude", b.id));
    }
}

fn check_expectation(line: &str, d: &Decoded) -> Result<(), String> {
    let (head, body) = match line.split_once(": ") {
        Some((h, b)) if h.starts_with("expect") => (h.trim(), b.trim()),
        _ => return Ok(()),
    };
    let mut words = head.split_whitespace();
    let verb = words.next().unwrap_or_default();
    let id = words.collect::<Vec<_>>().join(" ");
    match verb {
        "expect" => {
            let b = d
                .batteries
                .iter()
                .find(|b| b.id == id)
                .ok_or_else(|| format!("no battery `{id}`"))?;
            check_pairs(body, |key| battery_value(b, key))
        }
        "expect-source" => {
            let s = d
                .power_sources
                .iter()
                .find(|s| s.id == id)
                .ok_or_else(|| format!("no power source `{id}`"))?;
            check_pairs(body, |key| source_value(s, key))
        }
        "expect-skipped" => {
            let id = body;
            if d.batteries.iter().any(|b| b.id == id) {
                return Err(format!("`{id}` is listed as a battery"));
            }
            Ok(())
        }
        "expect-count" => check_pairs(body, |key| match key {
            "batteries" => Ok(Some(d.batteries.len().to_string())),
            "sources" => Ok(Some(d.power_sources.len().to_string())),
            _ => Err(format!("unknown count `{key}`")),
        }),
        other => Err(format!("unknown expectation `{other}`")),
    }
}

fn check_pairs(
    body: &str,
    get: impl Fn(&str) -> Result<Option<String>, String>,
) -> Result<(), String> {
    for pair in body.split_whitespace() {
        let (key, want) = pair
            .split_once('=')
            .ok_or_else(|| format!("`{pair}` is not key=value"))?;
        let got = get(key)?;
        let ok = match (want, &got) {
            ("null", None) => true,
            ("null", Some(_)) | (_, None) => false,
            (want, Some(got)) => matches(want, got),
        };
        if !ok {
            return Err(format!(
                "{key}: expected {want}, got {}",
                got.as_deref().unwrap_or("null")
            ));
        }
    }
    Ok(())
}

fn matches(want: &str, got: &str) -> bool {
    let (value, tol) = match want.split_once('±') {
        Some((v, t)) => (v, Some(t)),
        None => (want, None),
    };
    match (value.parse::<f64>(), got.parse::<f64>()) {
        (Ok(w), Ok(g)) => {
            let tol = match tol {
                Some(t) if t.ends_with('%') => {
                    w.abs() * t.trim_end_matches('%').parse::<f64>().unwrap_or(0.0) / 100.0
                }
                Some(t) => t.parse().unwrap_or(0.0),
                None => 1e-9,
            };
            (w - g).abs() <= tol
        }
        _ => value == got,
    }
}

fn battery_value(b: &Battery, key: &str) -> Result<Option<String>, String> {
    let num = |v: Option<f64>| v.map(|v| v.to_string());
    Ok(match key {
        "percentage" => num(b.percentage),
        "state" => Some(b.state.as_str().to_owned()),
        "kind" => Some(b.kind.as_str().to_owned()),
        "level" => b.level.map(|l| l.as_str().to_owned()),
        "technology" => Some(b.technology.as_str().to_owned()),
        "energy_wh" => num(b.energy_wh),
        "energy_full_wh" => num(b.energy_full_wh),
        "energy_full_design_wh" => num(b.energy_full_design_wh),
        "power_w" => num(b.power_w),
        "voltage_v" => num(b.voltage_v),
        "current_a" => num(b.current_a),
        "health_percent" => num(b.health_percent),
        "temperature_c" => num(b.temperature_c),
        "cycle_count" => b.cycle_count.map(|c| c.to_string()),
        "time_to_empty_s" => b.time_to_empty.map(|t| t.as_secs().to_string()),
        "time_to_full_s" => b.time_to_full.map(|t| t.as_secs().to_string()),
        "vendor" => b.vendor.clone(),
        "model" => b.model.clone(),
        "serial" => b.serial.clone(),
        "manufacture_date" => b.manufacture_date.map(|d| d.to_string()),
        "charge_start_threshold" => b.charge_start_threshold.map(|v| v.to_string()),
        "charge_end_threshold" => b.charge_end_threshold.map(|v| v.to_string()),
        other => return Err(format!("unknown battery key `{other}`")),
    })
}

fn source_value(s: &PowerSource, key: &str) -> Result<Option<String>, String> {
    let num = |v: Option<f64>| v.map(|v| v.to_string());
    Ok(match key {
        "online" => s.online.map(|o| o.to_string()),
        "kind" => Some(s.kind.as_str().to_owned()),
        "usb_type" => s.usb_type.clone(),
        "voltage_v" => num(s.voltage_v),
        "current_a" => num(s.current_a),
        "power_w" => num(s.power_w),
        "power_max_w" => num(s.power_max_w),
        "voltage_max_v" => num(s.voltage_max_v),
        "current_max_a" => num(s.current_max_a),
        "name" => s.name.clone(),
        other => return Err(format!("unknown source key `{other}`")),
    })
}
