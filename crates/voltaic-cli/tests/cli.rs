//! Runs the built `voltaic` binary on the bundled sample trees and on recordings, and checks its text,
//! JSON (against the shipped JSON Schema), exit codes and pipe behaviour.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn sample(name: &str) -> PathBuf {
    repo().join("samples").join(name)
}

fn voltaic(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_voltaic"))
        .args(args)
        .env_remove("NO_COLOR")
        .output()
        .expect("run voltaic")
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("utf-8 output")
}

fn json(args: &[&str]) -> Value {
    let out = voltaic(args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    validate(&doc);
    doc
}

/// Validates a document against the shipped schema.
fn validate(doc: &Value) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/voltaic.schema.json");
    let schema: Value =
        serde_json::from_slice(&std::fs::read(&path).expect("schema")).expect("schema JSON");
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler
        .add_resource("voltaic.schema.json", schema)
        .expect("add schema");
    let index = compiler
        .compile("voltaic.schema.json", &mut schemas)
        .expect("compile schema");
    if let Err(e) = schemas.validate(doc, index) {
        panic!("output does not match the schema: {e:#}\n{doc:#}");
    }
}

fn battery<'a>(doc: &'a Value, id: &str) -> &'a Value {
    doc["batteries"]
        .as_array()
        .expect("batteries array")
        .iter()
        .find(|b| b["id"] == id)
        .unwrap_or_else(|| panic!("no battery {id} in {doc:#}"))
}

#[test]
fn every_sample_tree_gives_schema_valid_json_with_the_fixed_keys() {
    let keys = [
        "id",
        "kind",
        "state",
        "percentage",
        "energy_wh",
        "energy_full_wh",
        "energy_full_design_wh",
        "power_w",
        "voltage_v",
        "health_percent",
        "time_to_empty_s",
        "time_to_full_s",
        "cycle_count",
        "temperature_c",
        "vendor",
        "model",
        "serial",
        "technology",
    ];
    for entry in std::fs::read_dir(repo().join("samples")).expect("samples") {
        let path = entry.expect("entry").path();
        let doc = json(&["--replay", path.to_str().expect("path"), "--json", "--all"]);
        for b in doc["batteries"].as_array().expect("array") {
            for key in keys {
                assert!(b.get(key).is_some(), "{key} missing in {}", path.display());
            }
        }
        for s in doc["power_sources"].as_array().expect("array") {
            for key in ["id", "kind", "online"] {
                assert!(s.get(key).is_some(), "{key} missing in {}", path.display());
            }
        }
    }
}

#[test]
fn dell_held_by_a_charge_limit() {
    let doc = json(&[
        "--replay",
        sample("dell-charge-limit").to_str().unwrap(),
        "--json",
    ]);
    let b = battery(&doc, "BAT0");
    assert_eq!(b["state"], "not_charging");
    assert_eq!(b["percentage"], 94.0);
    assert_eq!(b["health_percent"].as_f64().map(f64::round), Some(34.0));
    assert_eq!(b["time_to_empty_s"], Value::Null);
    assert_eq!(
        b["cycle_count"],
        Value::Null,
        "cycle_count 0 means not counted"
    );
    assert!(
        b["derived"]
            .as_array()
            .unwrap()
            .contains(&Value::from("energy_wh"))
    );
    assert_eq!(doc["power_sources"][0]["online"], true);
}

#[test]
fn thinkpad_unknown_on_ac_is_not_charging_and_text_says_why() {
    let out = voltaic(&["--replay", sample("thinkpad-ac").to_str().unwrap()]);
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(text.contains("BAT0  42T4977"), "{text}");
    assert!(text.contains("not charging*"), "{text}");
    assert!(text.contains("charge         32 %"), "{text}");
    assert!(text.contains("health         65.5 %"), "{text}");
    assert!(text.contains("AC  mains, online"), "{text}");
    assert!(!text.contains('\x1b'), "no colour when not a terminal");
}

#[test]
fn chromebook_time_and_temperature() {
    let doc = json(&["--replay", sample("chromebook").to_str().unwrap(), "--json"]);
    let b = battery(&doc, "sbs-6-000b");
    assert_eq!(b["time_to_empty_s"], 48300);
    assert_eq!(b["temperature_c"], 27.2);
    assert_eq!(b["state"], "discharging");
    assert_eq!(b["manufacture_date"], "2019-07-29");
}

#[test]
fn peripherals_only_with_all() {
    let out = voltaic(&["--replay", sample("logitech-mouse").to_str().unwrap()]);
    assert!(out.status.success(), "no battery is not an error");
    assert!(stdout(&out).starts_with("No battery found."));
    let doc = json(&[
        "--replay",
        sample("logitech-mouse").to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(doc["batteries"].as_array().map(Vec::len), Some(0));
    let doc = json(&[
        "--replay",
        sample("logitech-mouse").to_str().unwrap(),
        "--json",
        "--all",
    ]);
    let b = battery(&doc, "hidpp_battery_5");
    assert_eq!(b["kind"], "peripheral");
    assert_eq!(b["level"], "normal");
    assert_eq!(b["percentage"], Value::Null);
}

#[test]
fn record_then_replay_gives_the_same_json() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["dell-charge-limit", "thinkpad-ac", "chromebook"] {
        let tree = sample(name);
        let out = voltaic(&["--replay", tree.to_str().unwrap(), "record"]);
        assert!(out.status.success());
        let file = dir.path().join(format!("{name}.record"));
        std::fs::write(&file, &out.stdout).unwrap();
        let from_tree = json(&["--replay", tree.to_str().unwrap(), "--json", "--all"]);
        let from_file = json(&["--replay", file.to_str().unwrap(), "--json", "--all"]);
        assert_eq!(from_tree, from_file, "{name}");
    }
}

#[test]
fn pasted_uevent_text_replays() {
    let fixture = repo().join("crates/voltaic-core/tests/fixtures/linux/linux-dell-xps15-9560-ac-bat0-not-charging.uevent");
    let doc = json(&["--replay", fixture.to_str().unwrap(), "--json"]);
    assert_eq!(battery(&doc, "BAT0")["state"], "not_charging");
}

#[test]
fn errors_name_the_file_or_line_and_exit_1() {
    let out = voltaic(&["--replay", "/nonexistent/voltaic-test"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/voltaic-test"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.record");
    std::fs::write(
        &bad,
        "voltaic-record 1\n[linux BAT0]\nPOWER_SUPPLY_STATUS = \"open\n",
    )
    .unwrap();
    let out = voltaic(&["--replay", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.record") && err.contains("line 3"),
        "{err}"
    );
    assert!(!err.contains("panicked"));
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(voltaic(&["--no-such-flag"]).status.code(), Some(2));
    assert_eq!(
        voltaic(&["watch", "--interval", "NaN"]).status.code(),
        Some(2)
    );
}

#[test]
fn color_follows_flag_and_no_color() {
    let tree = sample("dell-charge-limit");
    let out = voltaic(&["--replay", tree.to_str().unwrap(), "--color", "always"]);
    assert!(stdout(&out).contains("\x1b["));
    let out = Command::new(env!("CARGO_BIN_EXE_voltaic"))
        .args(["--replay", tree.to_str().unwrap(), "--color", "always"])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(!stdout(&out).contains('\x1b'));
}

#[test]
fn closed_stdout_is_not_an_error() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_voltaic"))
        .args([
            "--replay",
            sample("chromebook").to_str().unwrap(),
            "watch",
            "--interval",
            "0.1",
            "--count",
            "50",
            "--json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `voltaic ARGS` for `secs` seconds (or until it ends) and returns what it printed.
fn run_for(args: &[&str], secs: f64) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_voltaic"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs_f64(secs);
    let mut code = None;
    while std::time::Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            code = status.code();
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    if code.is_none() {
        child.kill().unwrap();
    }
    let out = child.wait_with_output().unwrap();
    (code, String::from_utf8(out.stdout).unwrap())
}

#[test]
fn watch_prints_once_while_nothing_changes() {
    let tree = sample("chromebook");
    let (code, out) = run_for(
        &[
            "--replay",
            tree.to_str().unwrap(),
            "watch",
            "-n",
            "0.1",
            "--count",
            "3",
            "--json",
        ],
        1.0,
    );
    assert_eq!(code, None, "still waiting for a second change: {out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1);
    let doc: Value = serde_json::from_str(lines[0]).unwrap();
    validate(&doc);
    assert_eq!(doc["events"][0]["event"], "battery_added");
    assert_eq!(doc["summary"]["batteries"], 1);
    assert!(doc["time"].as_str().unwrap().ends_with('Z'));
}

/// A closed pipe ends `watch` at once even while nothing changes (it polls every hour here, so only
/// noticing the closed output can end it).
#[cfg(unix)]
#[test]
fn watch_ends_when_its_reader_goes_while_nothing_changes() {
    let tree = sample("chromebook");
    let mut child = Command::new(env!("CARGO_BIN_EXE_voltaic"))
        .args(["--replay", tree.to_str().unwrap(), "watch", "-n", "3600"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut first).unwrap();
    assert!(first.contains("battery_added"), "{first}");
    drop(stdout);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still running after its reader went"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert!(status.success());
}

#[test]
fn watch_count_zero_prints_nothing() {
    let tree = sample("chromebook");
    let out = voltaic(&["--replay", tree.to_str().unwrap(), "watch", "--count", "0"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
}

#[test]
fn watch_reports_each_change_once() {
    let dir = tempfile::tempdir().unwrap();
    let bat = dir.path().join("BAT0");
    std::fs::create_dir(&bat).unwrap();
    let uevent = "POWER_SUPPLY_NAME=BAT0\nPOWER_SUPPLY_TYPE=Battery\nPOWER_SUPPLY_PRESENT=1\n\
                  POWER_SUPPLY_STATUS=Discharging\nPOWER_SUPPLY_CAPACITY=21\n";
    std::fs::write(bat.join("uevent"), uevent).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_voltaic"))
        .args([
            "--replay",
            dir.path().to_str().unwrap(),
            "watch",
            "-n",
            "0.1",
            "--count",
            "2",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut first).unwrap();
    assert!(
        first.contains(" battery_added BAT0: discharging, 21 %"),
        "{first}"
    );
    let next = uevent.replace("CAPACITY=21", "CAPACITY=19");
    std::fs::write(dir.path().join("new"), next).unwrap();
    std::fs::rename(dir.path().join("new"), bat.join("uevent")).unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert!(child.wait().unwrap().success());
    let lines: Vec<&str> = rest.lines().collect();
    assert!(
        lines[0].contains(" battery_changed BAT0: discharging, 19 %"),
        "{rest}"
    );
    assert!(
        lines[1].contains(" warning_changed BAT0: none -> low"),
        "{rest}"
    );
    assert!(
        lines[2].contains(" warning_changed machine: none -> low"),
        "{rest}"
    );
    assert_eq!(lines.len(), 3, "{rest}");
}

#[test]
fn show_has_a_machine_summary() {
    let doc = json(&[
        "--replay",
        sample("thinkpad-ac").to_str().unwrap(),
        "--json",
    ]);
    let summary = &doc["summary"];
    assert_eq!(summary["batteries"], 1);
    assert_eq!(summary["on_battery"], false);
    assert_eq!(summary["warning_level"], "none");
    assert_eq!(summary["percentage"], doc["batteries"][0]["percentage"]);
    let out = voltaic(&["--replay", sample("thinkpad-ac").to_str().unwrap()]);
    assert!(
        stdout(&out).starts_with("Machine: on external power, 32"),
        "{}",
        stdout(&out)
    );
}

/// `voltaic top` itself runs in a terminal (crates/voltaic-top/tests/tmux.sh); here, what it does
/// without one and with wrong flags.
#[test]
fn top_needs_a_terminal_and_checks_its_flags() {
    let tree = sample("chromebook");
    let tree = tree.to_str().unwrap();
    let out = voltaic(&["--replay", tree, "top"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("standard output is not one"), "{err}");
    let out = voltaic(&["--replay", tree, "top", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--json does not apply"));
    for bad in [
        ["--interval", "0.1"],
        ["--interval", "61"],
        ["--interval", "NaN"],
        ["--theme", "purple"],
        ["--units", "imperial"],
    ] {
        let out = voltaic(&["--replay", tree, "top", bad[0], bad[1]]);
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
    }
}

#[test]
#[should_panic(expected = "does not match the schema")]
fn schema_rejects_a_wrong_document() {
    let mut doc = json(&[
        "--replay",
        sample("dell-charge-limit").to_str().unwrap(),
        "--json",
    ]);
    doc["batteries"][0]["percentage"] = Value::from("94 %");
    validate(&doc);
}
