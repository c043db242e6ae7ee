//! Runs the built `voltaic` binary on the bundled sample trees and on recordings, and checks its text,
//! JSON (against the shipped JSON Schema), exit codes and pipe behaviour.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// The test data: `tests/samples` (a link to the workspace's `samples/`, stored in the package) and a
/// fixture linked from voltaic-core's, so that the packaged crate's tests run on their own.
fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests")
}

fn sample(name: &str) -> PathBuf {
    data().join("samples").join(name)
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
    validate_against(doc, "voltaic.schema.json");
}

/// Validates a document against the shipped schema file `name`.
fn validate_against(doc: &Value, name: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("schema")
        .join(name);
    let schema: Value =
        serde_json::from_slice(&std::fs::read(&path).expect("schema")).expect("schema JSON");
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler.add_resource(name, schema).expect("add schema");
    let index = compiler
        .compile(name, &mut schemas)
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
        "peripheral",
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
    for entry in std::fs::read_dir(data().join("samples")).expect("samples") {
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
    let fixture = data().join("linux-dell-xps15-9560-ac-bat0-not-charging.uevent");
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
        // A broken structure (one bad value is only listed: see below).
        "voltaic-record 1\n[linux BAT0]\nPOWER_SUPPLY_STATUS = {\n",
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
    let with_no_color = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_voltaic"))
            .args(["--replay", tree.to_str().unwrap()])
            .args(args)
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    };
    // https://no-color.org: an explicit flag wins over NO_COLOR; NO_COLOR wins over `auto`.
    assert!(stdout(&with_no_color(&["--color", "always"])).contains("\x1b["));
    assert!(!stdout(&with_no_color(&["--color", "auto"])).contains('\x1b'));
    assert!(!stdout(&with_no_color(&["--color", "never"])).contains('\x1b'));
}

#[test]
fn a_directory_without_power_supplies_is_an_error_an_empty_one_is_no_battery() {
    let dir = tempfile::tempdir().unwrap();
    let out = voltaic(&["--replay", dir.path().to_str().unwrap()]);
    assert!(out.status.success());
    assert_eq!(stdout(&out), "No battery found.\n");
    std::fs::write(dir.path().join("notes.txt"), "not a battery").unwrap();
    let out = voltaic(&["--replay", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(dir.path().to_str().unwrap()) && err.contains("not a power_supply directory"),
        "{err}"
    );
}

#[test]
fn an_error_cause_is_printed_once() {
    let out = voltaic(&["--replay", "/nonexistent/voltaic-test"]);
    let err = String::from_utf8_lossy(&out.stderr);
    // The OS's words for ENOENT, whatever the language: the part anyhow's chain adds last.
    let cause = std::io::Error::from_raw_os_error(2).to_string();
    assert_eq!(err.matches(cause.as_str()).count(), 1, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn verbose_lists_the_hidden_peripherals() {
    let tree = sample("logitech-mouse");
    let out = voltaic(&["--replay", tree.to_str().unwrap(), "-v"]);
    let text = stdout(&out);
    assert!(
        text.contains(
            "skipped hidpp_battery_5: peripheral battery (Wireless Mouse M560): --all shows it"
        ),
        "{text}"
    );
    let out = voltaic(&["--replay", tree.to_str().unwrap(), "-v", "--all"]);
    assert!(!stdout(&out).contains("skipped hidpp_battery_5"));
}

#[test]
fn record_refuses_json_and_help_names_every_replay_form() {
    let tree = sample("thinkpad-ac");
    for args in [["record", "--json"], ["record", "--format=json"]] {
        let out = voltaic(&[&["--replay", tree.to_str().unwrap()], &args[..]].concat());
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("`voltaic record` writes"));
    }
    let help = stdout(&voltaic(&["--help"]));
    for form in [
        "power_supply",
        "voltaic record",
        "uevent",
        "ioreg -a",
        "ioreg` text",
        "BatteryQuery",
        "Win32_Battery",
        "batteryreport",
        "acpiconf",
        "hw.sensors",
        "apm",
        "envstat",
    ] {
        assert!(help.contains(form), "{form} missing from\n{help}");
    }
}

#[test]
fn version_completions_and_manual() {
    let version = stdout(&voltaic(&["--version"]));
    assert_eq!(version, format!("voltaic {}\n", env!("CARGO_PKG_VERSION")));
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = voltaic(&["completions", shell]);
        assert!(out.status.success(), "{shell}");
        assert!(stdout(&out).contains("--replay"), "{shell}");
    }
    assert_eq!(voltaic(&["completions", "tcsh"]).status.code(), Some(2));
    let man = stdout(&voltaic(&["man"]));
    assert!(
        man.starts_with(".ie") && man.contains(".TH voltaic 1"),
        "{man}"
    );
    assert!(man.contains("completions") && man.contains("serve"));
}

#[test]
fn openmetrics_format_of_a_sample() {
    let tree = sample("thinkpad-ac");
    let out = voltaic(&[
        "--replay",
        tree.to_str().unwrap(),
        "--format",
        "openmetrics",
    ]);
    assert!(out.status.success());
    let text = stdout(&out);
    let labels = r#"id="BAT0",kind="system",vendor="SMP",model="42T4977",serial="973""#;
    for line in [
        format!("voltaic_battery_charge_ratio{{{labels}}} 0.32"),
        format!("voltaic_battery_state{{{labels},state=\"not_charging\"}} 1"),
        r#"voltaic_power_source_online{id="AC",kind="mains"} 1"#.to_owned(),
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "{line} missing from\n{text}"
        );
    }
    assert!(text.ends_with("# EOF\n"));
    assert_eq!(
        voltaic(&["--json", "--format", "text"]).status.code(),
        Some(2),
        "--json is --format json"
    );
    // Peripherals only when asked.
    let mouse = sample("logitech-mouse");
    let hidden = stdout(&voltaic(&[
        "--replay",
        mouse.to_str().unwrap(),
        "--format=openmetrics",
    ]));
    assert!(!hidden.contains("hidpp_battery_5"));
    let shown = stdout(&voltaic(&[
        "--replay",
        mouse.to_str().unwrap(),
        "--format=openmetrics",
        "--all",
    ]));
    assert!(shown.contains(r#"voltaic_battery_level{id="hidpp_battery_5",kind="peripheral""#));
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
    for flag in ["--json", "-v", "--verbose", "--format=json"] {
        let out = voltaic(&["--replay", tree, "top", flag]);
        assert_eq!(out.status.code(), Some(2), "{flag}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("do not apply to `voltaic top`"));
    }
    let out = voltaic(&["--json", "--replay", tree, "top"]);
    assert_eq!(out.status.code(), Some(2));
    // `top --help` names only what top takes.
    let help = stdout(&voltaic(&["top", "--help"]));
    for taken in [
        "--interval",
        "--units",
        "--theme",
        "--replay",
        "--all",
        "--color",
    ] {
        assert!(help.contains(taken), "{taken} missing from\n{help}");
    }
    for ignored in ["--json", "--format", "--verbose"] {
        assert!(!help.contains(ignored), "{ignored} in\n{help}");
    }
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

/// The library's serde form of a snapshot is the `--json` document, and reads back into the model.
#[test]
fn model_serde_is_the_json_document() {
    for entry in std::fs::read_dir(data().join("samples")).unwrap() {
        let tree = entry.unwrap().path();
        let tree = tree.to_str().unwrap();
        let from_cli = json(&["--replay", tree, "--json", "--all"]);
        let snapshot = voltaic::Manager::replay(tree).unwrap().snapshot().unwrap();
        let from_model = serde_json::to_value(&snapshot).unwrap();
        validate(&from_model);
        assert_eq!(from_model, from_cli, "{tree}");
        let back: voltaic::Snapshot = serde_json::from_value(from_cli).unwrap();
        assert_eq!(serde_json::to_value(&back).unwrap(), from_model, "{tree}");
    }
}

/// `voltaic serve` on a port the kernel picks: a scrape, a refused POST, another path, a client that
/// sends nothing (which must not hold up the next scrape), and an oversized request.
#[test]
fn serve_answers_get_metrics_only() {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpStream;
    use std::time::Duration;

    let tree = sample("thinkpad-ac");
    let mut child = Command::new(env!("CARGO_BIN_EXE_voltaic"))
        .args(["serve", "--listen", "127.0.0.1:0", "--replay"])
        .arg(&tree)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("voltaic: serving http://")
        .and_then(|l| l.strip_suffix("/metrics"))
        .unwrap_or_else(|| panic!("{line}"))
        .to_owned();
    let request = |text: &[u8]| -> String {
        let mut s = TcpStream::connect(&addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        s.write_all(text).unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).unwrap();
        answer
    };
    let _silent = TcpStream::connect(&addr).unwrap();
    let ok = request(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(ok.starts_with("HTTP/1.1 200 OK\r\n"), "{ok}");
    assert!(
        ok.contains("Content-Type: text/plain; version=0.0.4"),
        "{ok}"
    );
    assert!(
        ok.contains("\nvoltaic_battery_charge_ratio{id=\"BAT0\""),
        "{ok}"
    );
    assert!(!ok.contains("# EOF"));
    let om = request(
        b"GET /metrics HTTP/1.1\r\nAccept: application/openmetrics-text;version=1.0.0\r\n\r\n",
    );
    assert!(om.contains("Content-Type: application/openmetrics-text") && om.ends_with("# EOF\n"));
    let help = stdout(&voltaic(&["serve", "--help"]));
    assert!(help.contains("--listen") && !help.contains("--json") && !help.contains("--verbose"));
    for flag in ["--json", "-v", "--format=openmetrics"] {
        let out = voltaic(&["serve", flag]);
        assert_eq!(out.status.code(), Some(2), "{flag}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("do not apply to `voltaic serve`"));
    }
    let post = request(b"POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
    assert!(
        post.starts_with("HTTP/1.1 405 ") && post.contains("Allow: GET"),
        "{post}"
    );
    assert!(request(b"GET / HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404 "));
    let huge = format!(
        "GET /metrics HTTP/1.1\r\nX: {}\r\n\r\n",
        "a".repeat(16 * 1024)
    );
    let mut s = TcpStream::connect(&addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    // The server may close before taking it all; what it answered before closing is what counts.
    let _ = s.write_all(huge.as_bytes());
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 431 "), "{answer}");
    child.kill().unwrap();
    child.wait().unwrap();
}
/// `voltaic limit` on writable copies of fake trees.
#[path = "cli/limit.rs"]
mod limit;
/// `voltaic log` on a replayed tree, then `history` and `report` on what it stored.
#[test]
fn log_then_history_and_report() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("sub/history.sqlite");
    let db_s = db.to_str().unwrap();
    let tree = sample("dell-charge-limit");
    let tree = tree.to_str().unwrap();
    let out = voltaic(&[
        "--replay",
        tree,
        "log",
        "--db",
        db_s,
        "--count",
        "2",
        "--interval",
        "0.1",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("logging to"));
    assert!(db.exists(), "the data directory is created");

    let out = voltaic(&["history", "--db", db_s, "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let battery = &doc["batteries"][0];
    assert_eq!(battery["identity"]["vendor"], "SMP");
    assert_eq!(battery["identity"]["model"], "DELL GPM0365");
    assert_eq!(battery["identity"]["serial"], "79");
    // Two identical readings: the first is stored, the second is neither a change nor idle long enough.
    assert_eq!(battery["samples"], 1);

    let text = stdout(&voltaic(&["history", "--db", db_s]));
    assert!(text.starts_with("SMP DELL GPM0365 (serial 79)"), "{text}");
    assert!(text.contains("too few days for a trend"), "{text}");
    let csv = stdout(&voltaic(&["history", "--db", db_s, "--csv"]));
    let mut lines = csv.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("vendor,model,serial,date,health_percent")
    );
    assert!(
        lines.next().unwrap().starts_with("SMP,DELL GPM0365,79,"),
        "{csv}"
    );

    let report = dir.path().join("report.html");
    let out = voltaic(&["report", "--db", db_s, "-o", report.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(
        html.contains("<h2>SMP DELL GPM0365 (serial 79)</h2>"),
        "{html}"
    );
    // One reading: a single-day health chart (no trend), no discharge for the power chart.
    assert!(html.contains(">Health over time</title>"), "{html}");
    assert!(html.contains("Fewer than three days of data"), "{html}");
    assert!(html.contains("No discharge readings"), "{html}");
    let piped = stdout(&voltaic(&["report", "--db", db_s, "-o", "-"]));
    assert!(piped.starts_with("<!DOCTYPE html>"));
}

#[test]
fn history_without_a_database_says_how_to_start_one() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("none.sqlite");
    let out = voltaic(&["history", "--db", db.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("none.sqlite") && err.contains("voltaic log"),
        "{err}"
    );
    assert!(!db.exists(), "reading never creates the database");
    let out = voltaic(&["history", "--db", db.to_str().unwrap(), "--since", "7x"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_second_logger_names_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.sqlite");
    let db_s = db.to_str().unwrap();
    let tree = sample("dell-charge-limit");
    let mut first = Command::new(env!("CARGO_BIN_EXE_voltaic"))
        .args([
            "--replay",
            tree.to_str().unwrap(),
            "log",
            "--db",
            db_s,
            "--interval",
            "0.2",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The first logger announces itself once it holds the lock and has opened the database.
    let mut announced = String::new();
    let mut stderr = std::io::BufReader::new(first.stderr.take().unwrap());
    std::io::BufRead::read_line(&mut stderr, &mut announced).unwrap();
    assert!(announced.contains("logging to"), "{announced}");
    let out = voltaic(&[
        "--replay",
        tree.to_str().unwrap(),
        "log",
        "--db",
        db_s,
        "--count",
        "1",
    ]);
    first.kill().unwrap();
    first.wait().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("process {}", first.id())), "{err}");
}

/// Whether `text` holds a character no output of voltaic may write from a device: C0 controls other than
/// the report's own newlines, DEL, C1 controls, bidi overrides and isolates.
fn has_unsafe_char(text: &str) -> bool {
    text.chars().any(|c| {
        c != '\n'
            && (c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'))
    })
}

/// A peripheral names itself: escape sequences in its strings (clear the screen, set the title, write the
/// clipboard with OSC 52), a bidi override and a newline that would forge a line of the report.
const HOSTILE_UEVENT: &str = "POWER_SUPPLY_NAME=hid-evil-battery\n\
    POWER_SUPPLY_TYPE=Battery\nPOWER_SUPPLY_SCOPE=Device\nPOWER_SUPPLY_STATUS=Discharging\n\
    POWER_SUPPLY_PRESENT=1\nPOWER_SUPPLY_CAPACITY=69\n\
    POWER_SUPPLY_MODEL_NAME=M\x1b[2J\x1b[HCLEARED\x1b]0;pwned\x07T\n\
    POWER_SUPPLY_MANUFACTURER=V\x1b]52;c;cHduZWQ=\x07CLIP\n\
    POWER_SUPPLY_SERIAL_NUMBER=S\u{202e}LAIRES\u{9b}31m\n\
    POWER_SUPPLY_NAME=odd\n\
    POWER_SUPPLY_TYPE=Weird\x1b[31m\n";

/// The same through the record form, where the device id itself is hostile too.
const HOSTILE_RECORD: &str = "voltaic-record 1\n\
    [linux \"BAT\\u{1b}]0;pwned\\u{7}\\nforged line\"]\n\
    POWER_SUPPLY_TYPE = \"Battery\"\nPOWER_SUPPLY_STATUS = \"Charging\"\nPOWER_SUPPLY_CAPACITY = \"50\"\n\
    POWER_SUPPLY_MODEL_NAME = \"M\\u{1b}[2JT\"\n\
    [linux \"AC\\u{1b}[H\"]\n\
    POWER_SUPPLY_TYPE = \"Mains\"\nPOWER_SUPPLY_ONLINE = \"1\"\n\
    POWER_SUPPLY_MODEL_NAME = \"A\\u{202e}C\"\n";

#[test]
fn no_output_path_writes_a_control_character_from_a_device() {
    let dir = tempfile::tempdir().unwrap();
    let uevent = dir.path().join("hostile.uevent");
    std::fs::write(&uevent, HOSTILE_UEVENT).unwrap();
    let record = dir.path().join("hostile.record");
    std::fs::write(&record, HOSTILE_RECORD).unwrap();
    for file in [&uevent, &record] {
        let file = file.to_str().unwrap();
        for args in [
            vec!["--all"],
            vec!["--all", "-v"],
            vec!["--all", "-v", "--color", "always"],
            vec!["watch", "--all", "-v", "--count", "1"],
            vec!["record"],
        ] {
            let mut all = args.clone();
            all.extend(["--replay", file]);
            let out = voltaic(&all);
            assert!(
                out.status.success(),
                "{all:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let mut text = stdout(&out);
            if args.contains(&"always") {
                // voltaic's own colour codes are the only escapes allowed.
                for code in [
                    "\x1b[0m", "\x1b[1m", "\x1b[2m", "\x1b[32m", "\x1b[33m", "\x1b[0m",
                ] {
                    text = text.replace(code, "");
                }
            }
            assert!(
                !has_unsafe_char(&text),
                "{all:?} wrote a control character:\n{text:?}"
            );
            assert!(
                !text.contains("\nforged line"),
                "{all:?}: a value forged a line"
            );
            // An id cannot be cleaned (refresh finds the device by it), a skip reason quotes the
            // device: both are shown escaped.
            if args[0] != "record" && (file.ends_with(".record") || args.contains(&"-v")) {
                assert!(text.contains("\\x1b"), "{all:?} shows the escape: {text}");
            }
        }
        // JSON keeps serde_json's escaping: valid, schema-conform, no raw control character.
        let out = voltaic(&["--all", "-v", "--json", "--replay", file]);
        let text = stdout(&out);
        assert!(!has_unsafe_char(&text.replace('\u{202e}', "")), "{text}");
        validate(&serde_json::from_str(&text).unwrap());
    }
    // The model keeps identity strings cleaned (controls removed), the record keeps the raw bytes.
    let out = stdout(&voltaic(&["--all", "--replay", uevent.to_str().unwrap()]));
    assert!(out.contains("M[2J[HCLEARED]0;pwnedT"), "{out}");
    let raw = stdout(&voltaic(&["record", "--replay", uevent.to_str().unwrap()]));
    assert!(raw.contains(r"V\u{1b}]52;c;cHduZWQ=\u{7}CLIP"), "{raw}");
    // The skipped device's reason quotes its type escaped.
    let verbose = stdout(&voltaic(&[
        "--all",
        "-v",
        "--replay",
        uevent.to_str().unwrap(),
    ]));
    assert!(verbose.contains("Weird\\x1b[31m"), "{verbose}");
}

#[test]
fn error_messages_quote_input_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.record");
    std::fs::write(&bad, "voltaic-record 1\n\x1b]0;pwned\x07 = \u{202e}\n").unwrap();
    let out = voltaic(&["--replay", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(!has_unsafe_char(&err), "{err:?}");
    assert!(err.contains("\\x1b]0;pwned\\x07"), "{err}");
    // A path with a control character in its name is quoted escaped too.
    let missing = dir.path().join("no\x1b[2Jsuch");
    let out = voltaic(&["--replay", missing.to_str().unwrap()]);
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(!has_unsafe_char(&err), "{err:?}");
    assert!(err.contains("no\\x1b[2Jsuch"), "{err}");
}

/// Runs voltaic and kills it if it has not ended after a generous grace period: a hang fails the test
/// instead of stalling the suite (no duration is asserted).
fn voltaic_or_kill(args: &[&str]) -> Option<Output> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_voltaic"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run voltaic");
    for _ in 0..600 {
        if child.try_wait().expect("wait").is_some() {
            return Some(child.wait_with_output().expect("output"));
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

#[test]
fn replaying_a_fifo_or_device_is_refused_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    for path in [fifo.to_str().unwrap(), "/dev/zero", "/dev/null"] {
        let out = voltaic_or_kill(&["--replay", path]).unwrap_or_else(|| panic!("{path} blocked"));
        assert_eq!(out.status.code(), Some(1), "{path}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("not a regular file"), "{path}: {err}");
        assert!(err.contains(path), "the error names the path: {err}");
    }
}

#[test]
fn one_bad_field_keeps_the_recording_and_is_listed_with_v() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pasted.txt");
    std::fs::write(
        &file,
        "$ ioreg -rn AppleSmartBattery\n+-o AppleSmartBattery  <class AppleSmartBattery>\n{\n  \
         \"ExternalConnected\" = No\n  \"CurrentCapacity\" = 60\n  \"MaxCapacity\" = 100\n  \
         \"BatteryData\" = {\"Ra03\"=0 \"Ra10\"=0}\n}\n",
    )
    .unwrap();
    let out = voltaic(&["-v", "--replay", file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = stdout(&out);
    assert!(text.contains("charge         60 %"), "{text}");
    assert!(
        text.contains("skipped AppleSmartBattery: line 7: \"BatteryData\""),
        "{text}"
    );
}
