//! `voltaic limit` end to end on fake trees in temp dirs: text and JSON output, exit codes, dry runs,
//! the refusal to write into a plain replay, and `--persist` with the rules directory overridden.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use super::validate_against;

const UEVENT: &str = "POWER_SUPPLY_NAME=BAT0\nPOWER_SUPPLY_TYPE=Battery\nPOWER_SUPPLY_STATUS=Discharging\n\
POWER_SUPPLY_CAPACITY=50\n";

/// A tree with BAT0 at start 40 %, end 50 %, behaviour auto.
fn tree() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let bat = tmp.path().join("BAT0");
    fs::create_dir(&bat).unwrap();
    fs::write(bat.join("uevent"), UEVENT).unwrap();
    fs::write(bat.join("charge_control_start_threshold"), "40\n").unwrap();
    fs::write(bat.join("charge_control_end_threshold"), "50\n").unwrap();
    fs::write(
        bat.join("charge_behaviour"),
        "[auto] inhibit-charge force-discharge\n",
    )
    .unwrap();
    tmp
}

fn limit(root: &Path, rules: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_voltaic"))
        .arg("--replay")
        .arg(root)
        .arg("limit")
        .args(args)
        .env("VOLTAIC_UDEV_RULES_DIR", rules)
        .env_remove("NO_COLOR")
        .output()
        .unwrap()
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8(out.stdout.clone()).unwrap(),
        String::from_utf8(out.stderr.clone()).unwrap(),
    )
}

fn attr(root: &Path, name: &str) -> String {
    fs::read_to_string(root.join("BAT0").join(name)).unwrap()
}

fn json_doc(out: &Output) -> Value {
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    validate_against(&doc, "limit.schema.json");
    doc
}

#[test]
fn show_says_what_can_be_set_and_why_not() {
    let tmp = tree();
    let out = limit(tmp.path(), tmp.path(), &["--writable"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text(&out).0,
        "BAT0: charge start 40 %, end 50 %, behaviour auto\n  can set: start, end, behaviour (auto, inhibit-charge, force-discharge)\n"
    );
    // A plain replay is never written: show says so, set fails with exit 1 and leaves the files.
    let out = limit(tmp.path(), tmp.path(), &[]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out)
            .0
            .contains("  cannot set here: this is a replayed directory, opened read-only")
    );
    let out = limit(tmp.path(), tmp.path(), &["set", "--end", "80"]);
    assert_eq!(out.status.code(), Some(1));
    let (stdout, stderr) = text(&out);
    assert!(
        stdout.starts_with("BAT0: charge start 40 %, end 50 %"),
        "{stdout}"
    );
    assert!(
        stderr.starts_with("voltaic: error: BAT0: this is a replayed directory"),
        "{stderr}"
    );
    assert_eq!(attr(tmp.path(), "charge_control_end_threshold"), "50\n");

    let doc = json_doc(&limit(tmp.path(), tmp.path(), &["--json"]));
    assert_eq!(doc["action"], "show");
    assert_eq!(doc["batteries"][0]["why_not"]["kind"], "unsupported");
    assert_eq!(doc["batteries"][0]["end"], 50);
}

#[test]
fn dry_run_prints_the_writes_in_order_and_writes_nothing() {
    let tmp = tree();
    let rules = tempfile::tempdir().unwrap();
    let out = limit(
        tmp.path(),
        rules.path(),
        &[
            "set",
            "--end",
            "80",
            "--start",
            "75",
            "--writable",
            "--dry-run",
            "--persist",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    let bat = tmp.path().join("BAT0");
    let file = rules.path().join("90-voltaic-charge-limits.rules");
    let expected = format!(
        "BAT0: charge start 40 %, end 50 %, behaviour auto\n\
         \x20 would write 80 to {}\n\
         \x20 would write 75 to {}\n\
         would write {}:\n\
         # Written by `voltaic limit set --persist`; removed by `voltaic limit clear --persist`.\n\
         # Sets the charge limits again when each battery appears (limits reset at boot on most machines).\n\
         ACTION==\"add\", SUBSYSTEM==\"power_supply\", KERNEL==\"BAT0\", \
         ATTR{{charge_control_start_threshold}}=\"75\", ATTR{{charge_control_end_threshold}}=\"80\", \
         ATTR{{charge_control_start_threshold}}=\"75\"\n",
        bat.join("charge_control_end_threshold").display(),
        bat.join("charge_control_start_threshold").display(),
        file.display(),
    );
    assert_eq!(text(&out).0, expected);
    assert_eq!(attr(tmp.path(), "charge_control_end_threshold"), "50\n");
    assert!(!file.exists());

    let doc = json_doc(&limit(
        tmp.path(),
        rules.path(),
        &[
            "behaviour",
            "inhibit-charge",
            "--writable",
            "--dry-run",
            "--json",
        ],
    ));
    assert_eq!(doc["dry_run"], true);
    assert_eq!(doc["batteries"][0]["writes"][0]["value"], "inhibit-charge");
    assert_eq!(doc["batteries"][0]["kept_as_asked"], Value::Null);
    assert_eq!(
        attr(tmp.path(), "charge_behaviour"),
        "[auto] inhibit-charge force-discharge\n"
    );
}

#[test]
fn set_persist_then_clear_persist() {
    let tmp = tree();
    let rules = tempfile::tempdir().unwrap();
    let file = rules.path().join("90-voltaic-charge-limits.rules");
    let out = limit(
        tmp.path(),
        rules.path(),
        &[
            "set",
            "--end",
            "80",
            "--start",
            "75",
            "--battery",
            "BAT0",
            "--writable",
            "--persist",
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    let doc = json_doc(&out);
    let b = &doc["batteries"][0];
    assert_eq!(
        (b["start"].as_u64(), b["end"].as_u64()),
        (Some(75), Some(80))
    );
    assert_eq!(b["kept_as_asked"], true);
    assert_eq!(doc["rule_file"]["action"], "written");
    assert_eq!(
        doc["rule_file"]["content"].as_str().unwrap(),
        fs::read_to_string(&file).unwrap()
    );
    assert_eq!(attr(tmp.path(), "charge_control_start_threshold"), "75");
    assert_eq!(attr(tmp.path(), "charge_control_end_threshold"), "80");

    let out = limit(
        tmp.path(),
        rules.path(),
        &["behaviour", "inhibit-charge", "--writable"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    assert!(text(&out).0.contains("behaviour inhibit-charge"));

    // Clear: end back to 100, start to 0, behaviour back to auto, the rule file removed.
    let out = limit(
        tmp.path(),
        rules.path(),
        &["clear", "--writable", "--persist"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    let (stdout, _) = text(&out);
    assert!(
        stdout.starts_with("BAT0: charge start 0 %, end 100 %, behaviour auto\n"),
        "{stdout}"
    );
    assert!(
        stdout.ends_with(&format!("removed {}\n", file.display())),
        "{stdout}"
    );
    assert!(!file.exists());
    assert_eq!(attr(tmp.path(), "charge_behaviour"), "auto");
    // Nothing left to remove.
    let out = limit(
        tmp.path(),
        rules.path(),
        &["clear", "--writable", "--persist"],
    );
    assert!(text(&out).0.contains("does not exist; nothing to remove"));
}

#[test]
fn refusals_exit_1_and_write_nothing() {
    let tmp = tree();
    let rules = tempfile::tempdir().unwrap();
    let out = limit(
        tmp.path(),
        rules.path(),
        &["set", "--start", "60", "--writable", "--persist"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out).1,
        "voltaic: error: BAT0: battery BAT0: the start threshold (60 %) must be below the end threshold \
         (50 %); nothing was written\n"
    );
    assert_eq!(attr(tmp.path(), "charge_control_start_threshold"), "40\n");
    assert!(!rules.path().join("90-voltaic-charge-limits.rules").exists());

    let doc = json_doc(&limit(
        tmp.path(),
        rules.path(),
        &["set", "--end", "30", "--writable", "--json"],
    ));
    assert_eq!(doc["batteries"][0]["error"]["kind"], "invalid_input");

    let out = limit(
        tmp.path(),
        rules.path(),
        &["set", "--end", "101", "--writable"],
    );
    assert_eq!(out.status.code(), Some(2));
    let out = limit(tmp.path(), rules.path(), &["--battery", "BAT9"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out).1,
        "voltaic: error: no battery BAT9 here (batteries: BAT0)\n"
    );
}

#[test]
fn no_battery_shows_so_and_setting_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let out = limit(tmp.path(), tmp.path(), &[]);
    assert_eq!(
        (out.status.code(), text(&out).0.as_str()),
        (Some(0), "No battery found.\n")
    );
    let out = limit(tmp.path(), tmp.path(), &["clear", "--writable"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out).1,
        "voltaic: error: no battery found: there are no charge limits to set\n"
    );
}

#[test]
#[cfg(unix)]
fn permission_denied_says_what_to_do() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tree();
    let rules = tempfile::tempdir().unwrap();
    for dir in [tmp.path().to_owned(), tmp.path().join("BAT0")] {
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
    }
    let end = tmp.path().join("BAT0/charge_control_end_threshold");
    fs::set_permissions(&end, fs::Permissions::from_mode(0o444)).unwrap();
    let args = ["set", "--end", "80", "--writable"];
    let mut out = limit(tmp.path(), rules.path(), &args);
    if out.status.success() {
        // Root ignores file modes: ask again as the unprivileged user `nobody` (util-linux setpriv).
        out = Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(env!("CARGO_BIN_EXE_voltaic"))
            .arg("--replay")
            .arg(tmp.path())
            .arg("limit")
            .args(args)
            .output()
            .expect("setpriv (util-linux) to run the command as nobody");
    }
    assert_eq!(out.status.code(), Some(1));
    let (_, stderr) = text(&out);
    assert!(
        stderr.starts_with(
            "voltaic: error: BAT0: permission denied writing charge_control_end_threshold of battery \
             BAT0: writing charge limits needs root: run `sudo voltaic limit …`, or let a udev rule set \
             them when the battery appears (`voltaic limit set … --persist`)"
        ),
        "{stderr}"
    );
}
