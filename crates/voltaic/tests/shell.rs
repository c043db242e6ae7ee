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
    // Kept handles: a number that moved (the lines where they were), then one of another length.
    for capacity in ["38", "7", "100"] {
        device(
            tmp.path(),
            "BAT0",
            &BAT0.replace("CAPACITY=50", &format!("CAPACITY={capacity}")),
        );
        m.refresh(b).unwrap();
        assert_eq!(b.percentage, capacity.parse().ok());
    }

    fs::remove_dir_all(tmp.path().join("BAT0")).unwrap();
    let err = m.refresh(b).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DeviceGone);
    assert_eq!(
        b.percentage,
        Some(100.0),
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

/// The refresh hot path, counted (allocations per thread, never time).
mod steady_refresh {
    use super::*;

    fn samples() -> std::path::PathBuf {
        // The crate's own link to the samples, so that the packaged crate carries them.
        Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")
    }

    fn allocations_per_refresh(m: &Manager, b: &mut voltaic::Battery) -> u64 {
        // Warm up: the first refresh opens and keeps the files, the second grows nothing.
        m.refresh(b).unwrap();
        m.refresh(b).unwrap();
        // The counter counts (an allocation on this thread is seen), so a 0 below means none.
        let probe = allocation_counter::measure(|| drop(std::hint::black_box(vec![0u8; 16])));
        assert_eq!(probe.count_total, 1);
        let info = allocation_counter::measure(|| {
            for _ in 0..10 {
                m.refresh(b).unwrap();
            }
        });
        info.count_total
    }

    #[test]
    fn a_steady_refresh_allocates_nothing() {
        for sample in ["thinkpad-ac", "dell-charge-limit", "chromebook"] {
            let m = Manager::replay(samples().join(sample)).unwrap();
            let mut b = m.snapshot().unwrap().batteries.remove(0);
            let before = b.clone();
            assert_eq!(allocations_per_refresh(&m, &mut b), 0, "{sample}");
            assert_eq!(
                b, before,
                "{sample}: a refresh of unchanged files changes nothing"
            );
        }
    }

    #[test]
    fn a_battery_held_by_a_limit_refreshes_without_allocating() {
        let tmp = tempfile::tempdir().unwrap();
        device(
            tmp.path(),
            "BAT0",
            &BAT0.replace("Discharging", "Not charging"),
        );
        attr(tmp.path(), "BAT0", "charge_control_end_threshold", b"50\n");
        attr(
            tmp.path(),
            "BAT0",
            "charge_behaviour",
            b"[auto] inhibit-charge\n",
        );
        let m = Manager::replay(tmp.path()).unwrap();
        let mut b = m.batteries().unwrap().remove(0);
        assert_eq!(allocations_per_refresh(&m, &mut b), 0);
        assert_eq!(
            b.state_reason.as_deref(),
            Some("held by the charge limit (50 %)")
        );
        // A write to a kept attribute is seen at the next refresh.
        attr(tmp.path(), "BAT0", "charge_control_end_threshold", b"80\n");
        m.refresh(&mut b).unwrap();
        assert_eq!(b.charge_end_threshold, Some(80));
        assert_eq!(b.state_reason, None);
    }

    #[test]
    fn a_different_pack_in_the_bay_is_read_afresh() {
        let tmp = tempfile::tempdir().unwrap();
        let first = format!(
            "{BAT0}POWER_SUPPLY_MANUFACTURER=SMP\nPOWER_SUPPLY_MODEL_NAME=45N1029\nPOWER_SUPPLY_SERIAL_NUMBER=973\n"
        );
        device(tmp.path(), "BAT0", &first);
        let m = Manager::replay(tmp.path()).unwrap();
        let mut b = m.batteries().unwrap().remove(0);
        m.refresh(&mut b).unwrap();
        let second = first
            .replace("SMP", "LGC")
            .replace("45N1029", "01AV430")
            .replace("=973", "=12")
            .replace("CAPACITY=50", "CAPACITY=77");
        device(tmp.path(), "BAT0", &second);
        m.refresh(&mut b).unwrap();
        assert_eq!(
            (b.vendor.as_deref(), b.model.as_deref(), b.serial.as_deref()),
            (Some("LGC"), Some("01AV430"), Some("12"))
        );
        assert_eq!(b.percentage, Some(77.0));
    }

    #[test]
    #[cfg(unix)]
    fn a_replaced_file_is_read_not_the_kept_one() {
        let tmp = tempfile::tempdir().unwrap();
        device(tmp.path(), "BAT0", BAT0);
        let m = Manager::replay(tmp.path()).unwrap();
        let mut b = m.batteries().unwrap().remove(0);
        m.refresh(&mut b).unwrap();
        // Replaced by rename (a new file, a new inode): the kept handle still reads the old text.
        let fresh = tmp.path().join("uevent.new");
        fs::write(&fresh, BAT0.replace("CAPACITY=50", "CAPACITY=31")).unwrap();
        fs::rename(&fresh, tmp.path().join("BAT0/uevent")).unwrap();
        m.refresh(&mut b).unwrap();
        assert_eq!(b.percentage, Some(31.0));
    }

    #[test]
    fn a_device_whose_files_went_is_gone_not_an_io_error() {
        let tmp = tempfile::tempdir().unwrap();
        device(tmp.path(), "BAT0", BAT0);
        // The charger keeps the tree a power_supply directory once BAT0's files are gone.
        device(
            tmp.path(),
            "AC",
            "POWER_SUPPLY_TYPE=Mains\nPOWER_SUPPLY_ONLINE=1\n",
        );
        let m = Manager::replay(tmp.path()).unwrap();
        let mut b = m.batteries().unwrap().remove(0);
        m.refresh(&mut b).unwrap();
        // The directory is still there (kernfs removes a device's files first), its uevent is not.
        fs::remove_file(tmp.path().join("BAT0/uevent")).unwrap();
        let err = m.refresh(&mut b).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::DeviceGone, "{err}");
        // A fresh manager (nothing kept) says the same.
        let err = Manager::replay(tmp.path())
            .unwrap()
            .refresh(&mut b)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::DeviceGone, "{err}");
    }

    #[test]
    fn clones_share_the_kept_handles_and_stay_correct() {
        let tmp = tempfile::tempdir().unwrap();
        device(tmp.path(), "BAT0", BAT0);
        let m = Manager::replay(tmp.path()).unwrap();
        let mut b = m.batteries().unwrap().remove(0);
        m.refresh(&mut b).unwrap();
        let clone = m.clone();
        device(
            tmp.path(),
            "BAT0",
            &BAT0.replace("CAPACITY=50", "CAPACITY=12"),
        );
        std::thread::spawn(move || {
            let mut b2 = b.clone();
            clone.refresh(&mut b2).unwrap();
            assert_eq!(b2.percentage, Some(12.0));
        })
        .join()
        .unwrap();
    }
}

/// A replayed tree is a stranger's directory: reading it is bounded and never blocks. (Unix: the trees are
/// built with symlinks and FIFOs.)
#[cfg(unix)]
mod hostile_trees {
    use super::*;

    #[test]
    fn many_links_to_one_big_device_read_a_bounded_amount() {
        let tmp = tempfile::tempdir().unwrap();
        // One 60 KiB uevent (a battery, then padding), and 2000 class entries linking to its directory:
        // 120 MB if every entry were read.
        let mut uevent = BAT0.to_owned();
        while uevent.len() < 60 * 1024 {
            uevent.push_str(
                "POWER_SUPPLY_PADDING=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n",
            );
        }
        let real = tmp.path().join("devices/BAT");
        fs::create_dir_all(&real).unwrap();
        fs::write(real.join("uevent"), &uevent).unwrap();
        let class = tmp.path().join("class");
        fs::create_dir_all(&class).unwrap();
        for i in 0..2000 {
            std::os::unix::fs::symlink(&real, class.join(format!("BAT{i:04}"))).unwrap();
        }
        let snap = Manager::replay(&class).unwrap().snapshot().unwrap();
        // 4 MiB of tree budget: about 70 of these devices, then one entry saying what was left out.
        assert!(
            (60..=80).contains(&snap.batteries.len()),
            "{} batteries read",
            snap.batteries.len()
        );
        let skipped = snap
            .skipped
            .iter()
            .find(|s| s.reason.contains("not read"))
            .expect("the rest is reported");
        assert!(
            skipped.reason.contains("devices after it"),
            "{}",
            skipped.reason
        );
    }

    #[test]
    fn without_a_uevent_only_power_supply_attributes_are_read() {
        let tmp = tempfile::tempdir().unwrap();
        fs::create_dir_all(tmp.path().join("BAT0")).unwrap();
        std::os::unix::fs::symlink("/proc/self/mem", tmp.path().join("BAT0/uevent")).unwrap();
        attr(tmp.path(), "BAT0", "type", b"Battery\n");
        attr(tmp.path(), "BAT0", "capacity", b"40\n");
        for i in 0..50 {
            attr(tmp.path(), "BAT0", &format!("junk{i}"), b"1\n");
        }
        let (devices, _) = Manager::replay(tmp.path()).unwrap().raw().unwrap();
        let keys: Vec<&str> = devices[0].record.iter().map(|(k, _)| k).collect();
        assert!(keys.contains(&"POWER_SUPPLY_CAPACITY"), "{keys:?}");
        assert!(!keys.iter().any(|k| k.contains("JUNK")), "{keys:?}");
    }

    #[test]
    fn special_files_are_refused_by_name_without_blocking() {
        let tmp = tempfile::tempdir().unwrap();
        device(tmp.path(), "BAT0", BAT0);
        // A FIFO with no writer blocks a plain open for reading forever.
        let fifo = tmp.path().join("BAT0/charge_control_end_threshold");
        let mkfifo = |path: &Path| {
            let status = std::process::Command::new("mkfifo")
                .arg(path)
                .status()
                .unwrap();
            assert!(status.success());
        };
        mkfifo(&fifo);
        fs::create_dir_all(tmp.path().join("BAT1")).unwrap();
        mkfifo(&tmp.path().join("BAT1/uevent"));
        let m = Manager::replay(tmp.path()).unwrap();
        let snap = m.snapshot().unwrap();
        let bat0 = snap.batteries.iter().find(|b| b.id == "BAT0").unwrap();
        assert_eq!(bat0.charge_end_threshold, None);
        let mut bat0 = bat0.clone();
        m.refresh(&mut bat0).unwrap();
        let bat1 = snap.skipped.iter().find(|s| s.id == "BAT1").unwrap();
        assert!(
            bat1.reason.contains("BAT1/uevent is not a regular file"),
            "{}",
            bat1.reason
        );
    }
}
/// Charge-limit writes into writable fake trees.
#[path = "shell/limits.rs"]
mod limits;
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
