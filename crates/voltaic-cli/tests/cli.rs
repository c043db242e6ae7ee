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

#[test]
fn watch_prints_once_while_nothing_changes() {
    let out = voltaic(&[
        "--replay",
        sample("chromebook").to_str().unwrap(),
        "watch",
        "-n",
        "0.1",
        "--count",
        "3",
        "--json",
    ]);
    assert!(out.status.success());
    let lines: Vec<&str> = std::str::from_utf8(&out.stdout).unwrap().lines().collect();
    assert_eq!(lines.len(), 1);
    validate(&serde_json::from_str(lines[0]).unwrap());
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
