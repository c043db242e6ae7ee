//! The sysfs reader and `Manager` end to end on fake `/sys/class/power_supply` trees in temp dirs,
//! including the faults real machines produce: unreadable uevents, vanished devices, huge files,
//! non-UTF-8 text.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::fs;
use std::path::Path;

use voltaic::{ErrorKind, Kind, Manager, State};

const BAT0: &str = "POWER_SUPPLY_NAME=BAT0\nPOWER_SUPPLY_TYPE=Battery\nPOWER_SUPPLY_STATUS=Discharging\n\
POWER_SUPPLY_ENERGY_NOW=20000000\nPOWER_SUPPLY_ENERGY_FULL=40000000\nPOWER_SUPPLY_ENERGY_FULL_DESIGN=50000000\n\
POWER_SUPPLY_POWER_NOW=10000000\nPOWER_SUPPLY_CAPACITY=50\n";

fn device(root: &Path, name: &str, uevent: &str) {
    let dir = root.join(name);
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("uevent"), uevent).unwrap();
}

fn attr(root: &Path, name: &str, attr: &str, value: &[u8]) {
    let dir = root.join(name);
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join(attr), value).unwrap();
}

#[test]
fn reads_a_tree_and_refreshes_one_device() {
    let tmp = tempfile::tempdir().unwrap();
    device(tmp.path(), "BAT0", BAT0);
    device(
        tmp.path(),
        "AC",
        "POWER_SUPPLY_NAME=AC\nPOWER_SUPPLY_TYPE=Mains\nPOWER_SUPPLY_ONLINE=0\n",
    );
    let m = Manager::replay(tmp.path()).unwrap();
    let mut batteries = m.batteries().unwrap();
    assert_eq!(batteries.len(), 1);
    let b = &mut batteries[0];
    assert_eq!(
        (b.id.as_str(), b.state, b.percentage),
        ("BAT0", State::Discharging, Some(50.0))
    );
    assert_eq!(b.time_to_empty.map(|t| t.as_secs()), Some(7200));
    assert_eq!(m.power_sources().unwrap()[0].online, Some(false));

    device(
        tmp.path(),
        "BAT0",
        &BAT0.replace("CAPACITY=50", "CAPACITY=49"),
    );
    m.refresh(b).unwrap();
    assert_eq!(b.percentage, Some(49.0));

    fs::remove_dir_all(tmp.path().join("BAT0")).unwrap();
    let err = m.refresh(b).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DeviceGone);
    assert_eq!(
        b.percentage,
        Some(49.0),
        "a failed refresh leaves the battery as it was"
    );
}

#[test]
#[cfg(unix)]
fn unreadable_uevent_falls_back_to_attributes() {
    let tmp = tempfile::tempdir().unwrap();
    device(tmp.path(), "BAT0", BAT0);
    // EISDIR on read: the uevent is a directory.
    fs::create_dir_all(tmp.path().join("BAT1/uevent")).unwrap();
    attr(tmp.path(), "BAT1", "type", b"Battery\n");
    attr(tmp.path(), "BAT1", "status", b"Not charging\n");
    attr(tmp.path(), "BAT1", "capacity", b"80\n");
    // EIO on read: /proc/self/mem cannot be read at offset 0 (the kernel's answer to an unmapped page).
    fs::create_dir_all(tmp.path().join("BAT2")).unwrap();
    std::os::unix::fs::symlink("/proc/self/mem", tmp.path().join("BAT2/uevent")).unwrap();
    attr(tmp.path(), "BAT2", "type", b"Battery\n");
    attr(tmp.path(), "BAT2", "capacity", b"33\n");
    let snap = Manager::replay(tmp.path()).unwrap().snapshot().unwrap();
    let pct = |id: &str| {
        snap.batteries
            .iter()
            .find(|b| b.id == id)
            .and_then(|b| b.percentage)
    };
    assert_eq!(pct("BAT0"), Some(50.0));
    assert_eq!(pct("BAT1"), Some(80.0));
    assert_eq!(pct("BAT2"), Some(33.0));
    let bat1 = snap.batteries.iter().find(|b| b.id == "BAT1").unwrap();
    assert_eq!(bat1.state, State::NotCharging);
}

#[test]
#[cfg(unix)]
fn device_with_nothing_readable_is_skipped_with_a_reason_and_others_stay() {
    let tmp = tempfile::tempdir().unwrap();
    device(tmp.path(), "BAT0", BAT0);
    fs::create_dir_all(tmp.path().join("BAT1")).unwrap();
    std::os::unix::fs::symlink("/proc/self/mem", tmp.path().join("BAT1/uevent")).unwrap();
    let snap = Manager::replay(tmp.path()).unwrap().snapshot().unwrap();
    assert_eq!(snap.batteries.len(), 1);
    let skipped = snap
        .skipped
        .iter()
        .find(|s| s.id == "BAT1")
        .expect("BAT1 reported");
    assert!(
        skipped.reason.contains("uevent unreadable"),
        "{}",
        skipped.reason
    );
}

#[test]
#[cfg(unix)]
fn vanished_device_is_simply_gone() {
    let tmp = tempfile::tempdir().unwrap();
    device(tmp.path(), "BAT0", BAT0);
    // Class entries are symlinks to the device; a device removed after listing leaves a dangling one.
    std::os::unix::fs::symlink(tmp.path().join("gone"), tmp.path().join("hidpp_battery_1"))
        .unwrap();
    let snap = Manager::replay(tmp.path()).unwrap().snapshot().unwrap();
    assert_eq!(snap.batteries.len(), 1);
    assert!(snap.skipped.is_empty(), "{:?}", snap.skipped);
}

#[test]
fn non_utf8_and_huge_files_do_not_break_reading() {
    let tmp = tempfile::tempdir().unwrap();
    let mut uevent = BAT0.as_bytes().to_vec();
    uevent.extend_from_slice(b"POWER_SUPPLY_MODEL_NAME=DELL \xff\xfe42\n");
    attr(tmp.path(), "BAT0", "uevent", &uevent);
    let mut huge = BAT0.replace("BAT0", "BAT1").into_bytes();
    huge.extend(std::iter::repeat_n(b'x', 1 << 20));
    attr(tmp.path(), "BAT1", "uevent", &huge);
    let snap = Manager::replay(tmp.path()).unwrap().snapshot().unwrap();
    let bat0 = snap.batteries.iter().find(|b| b.id == "BAT0").unwrap();
    assert_eq!(bat0.model.as_deref(), Some("DELL \u{fffd}\u{fffd}42"));
    let bat1 = snap.batteries.iter().find(|b| b.id == "BAT1").unwrap();
    assert_eq!(bat1.percentage, Some(50.0));
}

#[test]
#[cfg(unix)]
fn fifo_in_a_replayed_tree_does_not_block() {
    let tmp = tempfile::tempdir().unwrap();
    device(tmp.path(), "BAT0", BAT0);
    fs::create_dir_all(tmp.path().join("BAT1")).unwrap();
    let fifo = tmp.path().join("BAT1/uevent");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    let snap = Manager::replay(tmp.path()).unwrap().snapshot().unwrap();
    assert_eq!(snap.batteries.len(), 1);
    assert!(snap.skipped.iter().any(|s| s.id == "BAT1"));
}

#[test]
fn thresholds_and_type_come_from_attributes_the_uevent_lacks() {
    let tmp = tempfile::tempdir().unwrap();
    // thinkpad_acpi adds thresholds as device attributes, not uevent properties; old kernels left TYPE out.
    device(
        tmp.path(),
        "BAT0",
        &BAT0
            .replace("POWER_SUPPLY_TYPE=Battery\n", "")
            .replace("Discharging", "Not charging"),
    );
    attr(tmp.path(), "BAT0", "type", b"Battery\n");
    attr(
        tmp.path(),
        "BAT0",
        "charge_control_start_threshold",
        b"40\n",
    );
    attr(tmp.path(), "BAT0", "charge_control_end_threshold", b"50\n");
    attr(
        tmp.path(),
        "BAT0",
        "charge_behaviour",
        b"[auto] inhibit-charge force-discharge\n",
    );
    let b = &Manager::replay(tmp.path()).unwrap().batteries().unwrap()[0];
    assert_eq!(
        (b.charge_start_threshold, b.charge_end_threshold),
        (Some(40), Some(50))
    );
    assert_eq!(
        b.state_reason.as_deref(),
        Some("held by the charge limit (50 %)")
    );
    assert_eq!(b.charge_behaviour, Some(voltaic::ChargeBehaviour::Auto));
}

#[test]
#[cfg(unix)]
fn permission_denied_on_one_attribute_is_absent_not_fatal() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    device(tmp.path(), "BAT0", BAT0);
    attr(tmp.path(), "BAT0", "charge_control_end_threshold", b"80\n");
    let path = tmp.path().join("BAT0/charge_control_end_threshold");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o000)).unwrap();
    let readable = fs::read(&path).is_ok(); // root reads anyway
    let b = &Manager::replay(tmp.path()).unwrap().batteries().unwrap()[0];
    assert_eq!(b.percentage, Some(50.0));
    assert_eq!(b.charge_end_threshold, readable.then_some(80));
}

#[test]
fn peripherals_are_kept_apart() {
    let tmp = tempfile::tempdir().unwrap();
    device(tmp.path(), "BAT0", BAT0);
    device(
        tmp.path(),
        "hidpp_battery_0",
        "POWER_SUPPLY_NAME=hidpp_battery_0\nPOWER_SUPPLY_TYPE=Battery\nPOWER_SUPPLY_SCOPE=Device\nPOWER_SUPPLY_CAPACITY=70\n",
    );
    let m = Manager::replay(tmp.path()).unwrap();
    assert_eq!(m.batteries().unwrap().len(), 1);
    let p = m.peripherals().unwrap();
    assert_eq!((p.len(), p[0].kind), (1, Kind::Peripheral));
}

#[test]
fn replay_errors_name_the_path() {
    let err = Manager::replay("/nonexistent/voltaic").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.to_string().contains("/nonexistent/voltaic"));
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("junk.txt");
    fs::write(&file, "hello world\n").unwrap();
    let err = Manager::replay(&file).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidRecording);
    assert!(err.to_string().contains("junk.txt"), "{err}");
}

#[test]
fn this_machine_reads_without_error() {
    // CI machines have no battery: the class directory lists nothing or only AC. Either way no error.
    let m = Manager::new().unwrap();
    let snap = m.snapshot().unwrap();
    assert!(
        snap.batteries
            .iter()
            .all(|b| b.percentage.is_none_or(|p| (0.0..=100.0).contains(&p)))
    );
}

/// A headset's receiver stays plugged in when the headset is off; the USB interface above its HID device
/// says `disconnected`, and the last charge is not shown as live. (Unix: the tree needs a symlink.)
#[cfg(unix)]
#[test]
fn a_disconnected_wireless_peripheral_is_skipped() {
    let tmp = tempfile::tempdir().unwrap();
    let sys = tmp.path().join("sys");
    let hid = sys.join("usb1/1-1/1-1:1.3/0003:1038:12B6.0004");
    fs::create_dir_all(&hid).unwrap();
    fs::write(
        sys.join("usb1/1-1/1-1:1.3/wireless_status"),
        "disconnected\n",
    )
    .unwrap();
    let class = tmp.path().join("class");
    device(
        &class,
        "hid-headset-battery",
        "POWER_SUPPLY_NAME=hid-headset-battery\nPOWER_SUPPLY_TYPE=Battery\nPOWER_SUPPLY_SCOPE=Device\n\
         POWER_SUPPLY_CAPACITY=69\n",
    );
    std::os::unix::fs::symlink(&hid, class.join("hid-headset-battery/device")).unwrap();
    let snapshot = Manager::replay(&class).unwrap().snapshot().unwrap();
    assert!(snapshot.batteries.is_empty(), "{snapshot:?}");
    assert!(
        snapshot
            .skipped
            .iter()
            .any(|s| s.id == "hid-headset-battery" && s.reason.contains("wireless_status"))
    );
    fs::write(sys.join("usb1/1-1/1-1:1.3/wireless_status"), "connected\n").unwrap();
    let snapshot = Manager::replay(&class).unwrap().snapshot().unwrap();
    assert_eq!(snapshot.batteries[0].percentage, Some(69.0));
}

/// A game pad's supply has no model or serial; the input device beside it under the HID device has.
#[cfg(unix)]
#[test]
fn a_game_pad_takes_name_and_serial_from_its_input_device() {
    let tmp = tempfile::tempdir().unwrap();
    let hid = tmp.path().join("sys/0005:054C:0CE6.0004");
    fs::create_dir_all(hid.join("input/input21")).unwrap();
    fs::write(
        hid.join("input/input21/name"),
        "DualSense Wireless Controller\n",
    )
    .unwrap();
    fs::write(hid.join("input/input21/uniq"), "48:18:8d:24:b6:a9\n").unwrap();
    let class = tmp.path().join("class");
    let id = "ps-controller-battery-48:18:8d:24:b6:a9";
    device(
        &class,
        id,
        "POWER_SUPPLY_TYPE=Battery\nPOWER_SUPPLY_SCOPE=Device\nPOWER_SUPPLY_CAPACITY=35\n",
    );
    std::os::unix::fs::symlink(&hid, class.join(id).join("device")).unwrap();
    let snapshot = Manager::replay(&class).unwrap().snapshot().unwrap();
    let pad = &snapshot.batteries[0];
    assert_eq!(pad.model.as_deref(), Some("DualSense Wireless Controller"));
    assert_eq!(pad.serial.as_deref(), Some("48:18:8d:24:b6:a9"));
    assert_eq!(pad.peripheral, Some(voltaic::PeripheralKind::GamePad));
}
