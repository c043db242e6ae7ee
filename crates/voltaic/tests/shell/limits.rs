//! `Manager::set_charge_limits` / `set_charge_behaviour` on fake power-supply trees: what is written
//! and read back, what is refused before any write, and how failures are reported. (A regular file
//! cannot refuse a value the way a driver does with EINVAL, and root ignores file permissions, so those
//! errno mappings are unit-tested in `src/limits.rs`; the real-kernel VM test covers them on a kernel.)

use std::fs;
use std::path::Path;

use voltaic::{ChargeBehaviour, ChargeLimits, ErrorKind, Manager};

use super::{BAT0, attr, device};

fn tree(start: Option<&str>, end: Option<&str>) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    device(tmp.path(), "BAT0", BAT0);
    if let Some(v) = start {
        attr(
            tmp.path(),
            "BAT0",
            "charge_control_start_threshold",
            v.as_bytes(),
        );
    }
    if let Some(v) = end {
        attr(
            tmp.path(),
            "BAT0",
            "charge_control_end_threshold",
            v.as_bytes(),
        );
    }
    tmp
}

fn read(root: &Path, name: &str) -> String {
    fs::read_to_string(root.join("BAT0").join(name)).unwrap()
}

fn battery(m: &Manager) -> voltaic::Battery {
    m.batteries().unwrap().remove(0)
}

#[test]
fn sets_both_thresholds_and_returns_what_was_read_back() {
    let tmp = tree(Some("40\n"), Some("50\n"));
    let m = Manager::replay_writable(tmp.path()).unwrap();
    let b = battery(&m);
    // Raising both: the end goes first so that the pair stays valid in between.
    let plan = m
        .plan_charge_limits(&b, ChargeLimits::new(Some(75), Some(80)))
        .unwrap();
    let order: Vec<_> = plan
        .iter()
        .map(|w| {
            (
                Path::new(&w.target)
                    .file_name()
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .to_owned(),
                w.value.clone(),
            )
        })
        .collect();
    assert_eq!(
        order,
        [
            ("charge_control_end_threshold".to_owned(), "80".to_owned()),
            ("charge_control_start_threshold".to_owned(), "75".to_owned())
        ]
    );
    let kept = m
        .set_charge_limits(&b, ChargeLimits::new(Some(75), Some(80)))
        .unwrap();
    assert_eq!(kept, ChargeLimits::new(Some(75), Some(80)));
    assert_eq!(read(tmp.path(), "charge_control_end_threshold"), "80");
    assert_eq!(read(tmp.path(), "charge_control_start_threshold"), "75");
    // The reader sees the new values too.
    let b = battery(&m);
    assert_eq!(
        (b.charge_start_threshold, b.charge_end_threshold),
        (Some(75), Some(80))
    );
    // Back to full charge: end 100, start 0.
    let full = m.full_charge_limits(&b).unwrap();
    assert_eq!(full, ChargeLimits::new(Some(0), Some(100)));
    assert_eq!(m.set_charge_limits(&b, full).unwrap(), full);
    assert_eq!(read(tmp.path(), "charge_control_end_threshold"), "100");
}

#[test]
fn invalid_requests_are_refused_before_any_write() {
    let tmp = tree(Some("75\n"), Some("80\n"));
    let m = Manager::replay_writable(tmp.path()).unwrap();
    let b = battery(&m);
    for request in [
        ChargeLimits::new(Some(80), Some(75)),
        ChargeLimits::new(None, Some(70)), // below the present start
        ChargeLimits::new(Some(90), None), // above the present end
        ChargeLimits::new(None, Some(101)),
        ChargeLimits::new(None, None),
    ] {
        let err = m.set_charge_limits(&b, request).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{request:?}: {err}");
        assert!(err.to_string().contains("nothing was written"), "{err}");
    }
    assert_eq!(read(tmp.path(), "charge_control_start_threshold"), "75\n");
    assert_eq!(read(tmp.path(), "charge_control_end_threshold"), "80\n");
}

#[test]
fn a_battery_with_only_an_end_or_the_old_names() {
    let tmp = tree(None, Some("100\n"));
    let m = Manager::replay_writable(tmp.path()).unwrap();
    let b = battery(&m);
    let err = m
        .set_charge_limits(&b, ChargeLimits::new(Some(60), Some(80)))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    assert!(err.to_string().contains("no start threshold"), "{err}");
    assert_eq!(
        m.set_charge_limits(&b, ChargeLimits::new(None, Some(80)))
            .unwrap(),
        ChargeLimits::new(None, Some(80))
    );
    assert_eq!(
        m.full_charge_limits(&b).unwrap(),
        ChargeLimits::new(None, Some(100))
    );

    // thinkpad_acpi's older names, when the newer ones are absent.
    let tmp = tempfile::tempdir().unwrap();
    device(tmp.path(), "BAT0", BAT0);
    attr(tmp.path(), "BAT0", "charge_start_threshold", b"96\n");
    attr(tmp.path(), "BAT0", "charge_stop_threshold", b"100\n");
    let m = Manager::replay_writable(tmp.path()).unwrap();
    let b = battery(&m);
    let kept = m
        .set_charge_limits(&b, ChargeLimits::new(Some(75), Some(80)))
        .unwrap();
    assert_eq!(kept, ChargeLimits::new(Some(75), Some(80)));
    assert_eq!(read(tmp.path(), "charge_stop_threshold"), "80");
}

#[test]
#[cfg(unix)]
fn a_write_the_driver_ignores_is_reported_as_read_back() {
    // The start attribute swallows what is written and reads as nothing, like a driver that accepts a
    // write and keeps its old value: the result shows what is there, not what was asked.
    let tmp = tree(None, Some("100\n"));
    std::os::unix::fs::symlink(
        "/dev/null",
        tmp.path().join("BAT0/charge_control_start_threshold"),
    )
    .unwrap();
    let m = Manager::replay_writable(tmp.path()).unwrap();
    let b = battery(&m);
    let kept = m
        .set_charge_limits(&b, ChargeLimits::new(Some(75), Some(80)))
        .unwrap();
    assert_eq!(kept, ChargeLimits::new(None, Some(80)));
}

#[test]
fn write_failures_name_the_attribute() {
    // A directory where the attribute should be: the write fails (EISDIR) and says where.
    let tmp = tree(Some("40\n"), None);
    fs::create_dir(tmp.path().join("BAT0/charge_control_end_threshold")).unwrap();
    let m = Manager::replay_writable(tmp.path()).unwrap();
    let b = battery(&m);
    let err = m
        .set_charge_limits(&b, ChargeLimits::new(None, Some(80)))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io);
    assert!(
        err.path()
            .unwrap()
            .ends_with("BAT0/charge_control_end_threshold"),
        "{err}"
    );
}

#[test]
fn a_removed_battery_is_device_gone() {
    let tmp = tree(Some("40\n"), Some("50\n"));
    let m = Manager::replay_writable(tmp.path()).unwrap();
    let b = battery(&m);
    fs::remove_dir_all(tmp.path().join("BAT0")).unwrap();
    let err = m
        .set_charge_limits(&b, ChargeLimits::new(None, Some(80)))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DeviceGone);
    let err = m
        .set_charge_behaviour(&b, ChargeBehaviour::Auto)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DeviceGone);
    assert_eq!(
        m.charge_control(&b).unwrap_err().kind(),
        ErrorKind::DeviceGone
    );
}

#[test]
fn plain_replays_and_recordings_refuse_to_write() {
    let tmp = tree(Some("40\n"), Some("50\n"));
    let m = Manager::replay(tmp.path()).unwrap();
    let b = battery(&m);
    let err = m
        .set_charge_limits(&b, ChargeLimits::new(None, Some(80)))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    assert!(err.to_string().contains("replay_writable"), "{err}");
    assert_eq!(read(tmp.path(), "charge_control_end_threshold"), "50\n");
    let control = m.charge_control(&b).unwrap();
    assert_eq!(control.why_not.unwrap().kind(), ErrorKind::Unsupported);
    assert_eq!(control.limits, ChargeLimits::new(Some(40), Some(50)));

    let file = tmp.path().join("BAT0/uevent");
    let rec = Manager::replay(&file).unwrap();
    let b = battery(&rec);
    let err = rec
        .set_charge_behaviour(&b, ChargeBehaviour::Auto)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    assert_eq!(
        Manager::replay_writable(&file).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
}

#[test]
fn charge_behaviour_is_checked_against_what_the_battery_offers() {
    let tmp = tree(None, None);
    attr(
        tmp.path(),
        "BAT0",
        "charge_behaviour",
        b"[auto] inhibit-charge\n",
    );
    let m = Manager::replay_writable(tmp.path()).unwrap();
    let b = battery(&m);
    let control = m.charge_control(&b).unwrap();
    assert!(control.why_not.is_none(), "{:?}", control.why_not);
    assert_eq!(control.behaviour, Some(ChargeBehaviour::Auto));
    assert_eq!(
        control.behaviours,
        [ChargeBehaviour::Auto, ChargeBehaviour::InhibitCharge]
    );
    assert_eq!((control.start_target, control.end_target), (None, None));

    let err = m
        .set_charge_behaviour(&b, ChargeBehaviour::ForceDischarge)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("auto, inhibit-charge"), "{err}");
    let planned = m
        .plan_charge_behaviour(&b, ChargeBehaviour::InhibitCharge)
        .unwrap();
    assert!(planned.target.ends_with("BAT0/charge_behaviour"));
    assert_eq!(planned.value, "inhibit-charge");
    assert_eq!(
        m.set_charge_behaviour(&b, ChargeBehaviour::InhibitCharge)
            .unwrap(),
        ChargeBehaviour::InhibitCharge
    );
    assert_eq!(read(tmp.path(), "charge_behaviour"), "inhibit-charge");
}

#[test]
fn a_battery_without_controls_says_so() {
    let tmp = tree(None, None);
    let m = Manager::replay_writable(tmp.path()).unwrap();
    let b = battery(&m);
    let control = m.charge_control(&b).unwrap();
    assert_eq!(control.why_not.unwrap().kind(), ErrorKind::Unsupported);
    let err = m
        .set_charge_behaviour(&b, ChargeBehaviour::Auto)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
}
