//! The checks, in the order they run. Each compares voltaic with what the kernel itself says.

use std::fs::{self, File};
use std::io::{self, BufRead as _, BufReader, Write as _};
use std::os::unix::fs::FileExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;
use voltaic::{Battery, ChargeBehaviour, ChargeLimits, ErrorKind, Event, Manager, Watcher};

use crate::Report;
use crate::netlink::{Uevent, UeventSocket};

/// Paths the checks need.
#[derive(Debug)]
pub struct Env {
    /// The `voltaic` binary.
    pub voltaic: PathBuf,
    /// Where the live recording and its JSON go for the host to replay.
    pub artifacts: PathBuf,
}

const CLASS: &str = "/sys/class/power_supply";
const TEST_POWER: &str = "/sys/module/test_power/parameters";
const FIXTURE: &str = "/sys/module/voltaic_fixture/parameters";
/// The latency the event design promises: a plug-in shows within 100 ms.
const EVENT_LIMIT: Duration = Duration::from_millis(100);
/// How long a check waits for an event before calling it missing.
const EVENT_WAIT: Duration = Duration::from_secs(2);
/// Linux errno values the checks expect (asm-generic/errno-base.h).
const ENODEV: i32 = 19;
const EINVAL: i32 = 22;
const EACCES: i32 = 13;

type Check<T = String> = Result<T, String>;

pub fn run_all(env: &Env, report: &mut Report) {
    cli_lists_devices(env, report);
    cli_follows_changes(env, report);
    record_replays(env, report);
    refresh_follows_changes(report);
    steady_refresh_is_one_read(report);
    kept_descriptors_are_fresh(report);
    netlink_announces_changes(report);
    watcher_reports_changes(report);
    watch_command_reports_changes(env, report);
    history_logger_wakes_on_changes(env, report);
    fixture_values(env, report);
    device_disappears(report);
    threshold_writes(report);
    limits_through_the_library(report);
    limits_through_the_command(env, report);
    limit_write_races_removal(report);
    refresh_races_rmmod(env, report);
}

// ----- helpers -------------------------------------------------------------------------------------

fn attr(device: &str, name: &str) -> Check {
    fs::read_to_string(Path::new(CLASS).join(device).join(name))
        .map(|s| s.trim_end().to_owned())
        .map_err(|e| format!("reading {device}/{name}: {e}"))
}

fn set_param(dir: &str, name: &str, value: &str) -> Check<()> {
    fs::write(Path::new(dir).join(name), value).map_err(|e| format!("writing {name}={value}: {e}"))
}

fn run_voltaic(env: &Env, args: &[&str]) -> Check {
    let out = Command::new(&env.voltaic)
        .args(args)
        .output()
        .map_err(|e| format!("running voltaic {args:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "voltaic {args:?} exited {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    String::from_utf8(out.stdout).map_err(|e| format!("voltaic {args:?}: output not UTF-8: {e}"))
}

fn voltaic_json(env: &Env, args: &[&str]) -> Check<Value> {
    let text = run_voltaic(env, args)?;
    serde_json::from_str(&text).map_err(|e| format!("voltaic {args:?}: not JSON: {e}"))
}

fn entry<'a>(doc: &'a Value, list: &str, id: &str) -> Check<&'a Value> {
    doc[list]
        .as_array()
        .and_then(|items| items.iter().find(|b| b["id"] == id))
        .ok_or_else(|| format!("{id} is not in {list}"))
}

/// `got[key]` must equal `want`; numbers compare to 1e-6 (the JSON view rounds to 4 decimals).
fn expect(got: &Value, key: &str, want: &Value) -> Check<()> {
    let value = &got[key];
    let same = match (value.as_f64(), want.as_f64()) {
        (Some(a), Some(b)) => (a - b).abs() <= 1e-4 * b.abs().max(1.0),
        _ => value == want,
    };
    if same {
        Ok(())
    } else {
        Err(format!(
            "{} {key} = {value}, the kernel says {want}",
            got["id"]
        ))
    }
}

fn expect_all(got: &Value, pairs: &[(&str, Value)]) -> Check<()> {
    pairs.iter().try_for_each(|(k, v)| expect(got, k, v))
}

/// An attribute in the kernel's micro-units as the SI value.
fn micro(device: &str, name: &str) -> Check<Value> {
    let raw: f64 = attr(device, name)?
        .parse()
        .map_err(|e| format!("{device}/{name}: {e}"))?;
    Ok(Value::from(raw / 1e6))
}

fn int_attr(device: &str, name: &str) -> Check<Value> {
    let raw: i64 = attr(device, name)?
        .parse()
        .map_err(|e| format!("{device}/{name}: {e}"))?;
    Ok(Value::from(raw))
}

fn system_battery(manager: &Manager, id: &str) -> Check<Battery> {
    manager
        .batteries()
        .map_err(|e| format!("batteries(): {e}"))?
        .into_iter()
        .find(|b| b.id == id)
        .ok_or_else(|| format!("{id} not among the system batteries"))
}

fn same_percentage(battery: &Battery, want: f64) -> Check<()> {
    match battery.percentage {
        Some(p) if (p - want).abs() < 1e-9 => Ok(()),
        other => Err(format!("{} percentage {other:?}, want {want}", battery.id)),
    }
}

fn is_change_of(ev: &Uevent, device: &str) -> bool {
    ev.header.starts_with("change@")
        && ev.action_and_name() == ("change", device)
        && ev.get("SUBSYSTEM") == Some("power_supply")
}

fn os_error(result: io::Result<()>) -> Option<i32> {
    result.err().and_then(|e| e.raw_os_error())
}

fn write_attr(device: &str, name: &str, value: &str) -> io::Result<()> {
    // One write(2) of the whole value, as sysfs expects (a short write would be a partial store).
    let mut file = fs::OpenOptions::new()
        .write(true)
        .open(Path::new(CLASS).join(device).join(name))?;
    file.write_all(value.as_bytes())
}

// ----- the checks ------------------------------------------------------------------------------------

/// `voltaic --json --all` lists test_power's three supplies and the fixture's two, with the kernel's values.
fn cli_lists_devices(env: &Env, report: &mut Report) {
    let result = (|| -> Check {
        let doc = voltaic_json(env, &["--json", "--all"])?;
        let bat = entry(&doc, "batteries", "test_battery")?;
        expect_all(
            bat,
            &[
                ("kind", "system".into()),
                ("state", "discharging".into()),
                ("percentage", int_attr("test_battery", "capacity")?),
                ("voltage_v", micro("test_battery", "voltage_now")?),
                ("vendor", attr("test_battery", "manufacturer")?.into()),
                ("model", attr("test_battery", "model_name")?.into()),
            ],
        )?;
        for source in ["test_ac", "test_usb"] {
            let s = entry(&doc, "power_sources", source)?;
            let online = attr(source, "online")? == "1";
            expect(s, "online", &online.into())?;
        }
        entry(&doc, "batteries", "vfix_bat")?;
        entry(&doc, "batteries", "vfix_mouse")?;
        Ok(format!(
            "{} batteries, {} power sources",
            doc["batteries"].as_array().map_or(0, Vec::len),
            doc["power_sources"].as_array().map_or(0, Vec::len)
        ))
    })();
    report.check("voltaic --json --all lists the live devices", result);
}

/// After the module parameters change, a new `voltaic --json` shows the new values.
fn cli_follows_changes(env: &Env, report: &mut Report) {
    let result = (|| -> Check {
        set_param(TEST_POWER, "battery_capacity", "37")?;
        set_param(TEST_POWER, "battery_status", "charging")?;
        set_param(TEST_POWER, "battery_voltage", "4200")?;
        set_param(TEST_POWER, "battery_current", "2500")?;
        set_param(TEST_POWER, "ac_online", "off")?;
        set_param(TEST_POWER, "usb_online", "on")?;
        let doc = voltaic_json(env, &["--json", "--all"])?;
        let bat = entry(&doc, "batteries", "test_battery")?;
        expect_all(
            bat,
            &[
                ("percentage", 37.into()),
                ("state", "charging".into()),
                ("voltage_v", 0.0042.into()),
                ("current_a", 0.0025.into()),
            ],
        )?;
        expect(
            entry(&doc, "power_sources", "test_ac")?,
            "online",
            &false.into(),
        )?;
        expect(
            entry(&doc, "power_sources", "test_usb")?,
            "online",
            &true.into(),
        )?;
        Ok("capacity 37, charging, 4.2 mV, 2.5 mA, AC off, USB on".into())
    })();
    report.check("voltaic follows module parameter changes", result);
}

/// `voltaic record` of the live tree replays (here, and on the host from the artifact file) to the same JSON.
fn record_replays(env: &Env, report: &mut Report) {
    let result = (|| -> Check {
        let record = run_voltaic(env, &["record"])?;
        let live = run_voltaic(env, &["--json", "--all"])?;
        let path = Path::new("/tmp/live.record");
        fs::write(path, &record).map_err(|e| format!("writing {}: {e}", path.display()))?;
        let replayed = run_voltaic(env, &["--replay", "/tmp/live.record", "--json", "--all"])?;
        let (a, b) = (parse(&live)?, parse(&replayed)?);
        for list in ["batteries", "power_sources"] {
            if a[list] != b[list] {
                return Err(format!(
                    "{list} differ:\nlive     {}\nreplayed {}",
                    a[list], b[list]
                ));
            }
        }
        let mut out = File::create(&env.artifacts)
            .map_err(|e| format!("opening {}: {e}", env.artifacts.display()))?;
        write!(out, "--- record\n{record}--- json\n{live}--- end\n")
            .map_err(|e| format!("writing {}: {e}", env.artifacts.display()))?;
        Ok(format!("{} bytes of record", record.len()))
    })();
    report.check(
        "voltaic record of the live tree replays to the same JSON",
        result,
    );
}

fn parse(text: &str) -> Check<Value> {
    serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))
}

/// `Manager::refresh` after a parameter change returns the new values.
fn refresh_follows_changes(report: &mut Report) {
    let result = (|| -> Check {
        let manager = Manager::new().map_err(|e| e.to_string())?;
        let mut battery = system_battery(&manager, "test_battery")?;
        let mut seen = Vec::new();
        for capacity in [21, 22, 95] {
            set_param(TEST_POWER, "battery_capacity", &capacity.to_string())?;
            manager
                .refresh(&mut battery)
                .map_err(|e| format!("refresh: {e}"))?;
            same_percentage(&battery, f64::from(capacity))?;
            seen.push(capacity.to_string());
        }
        set_param(TEST_POWER, "battery_status", "discharging")?;
        manager
            .refresh(&mut battery)
            .map_err(|e| format!("refresh: {e}"))?;
        if battery.state != voltaic::State::Discharging {
            return Err(format!(
                "state {:?} after status discharging",
                battery.state
            ));
        }
        Ok(format!("percentages {} then discharging", seen.join(", ")))
    })();
    report.check("Manager::refresh returns the new values", result);
}

/// A descriptor kept open on `uevent` or on an attribute and re-read with pread at offset 0 gives fresh values.
fn kept_descriptors_are_fresh(report: &mut Report) {
    let result = (|| -> Check {
        let dir = Path::new(CLASS).join("test_battery");
        let uevent = File::open(dir.join("uevent")).map_err(|e| format!("open uevent: {e}"))?;
        let capacity =
            File::open(dir.join("capacity")).map_err(|e| format!("open capacity: {e}"))?;
        let mut buf = [0u8; 4096];
        for value in ["42", "43"] {
            set_param(TEST_POWER, "battery_capacity", value)?;
            let n = uevent
                .read_at(&mut buf, 0)
                .map_err(|e| format!("pread uevent: {e}"))?;
            let text = String::from_utf8_lossy(&buf[..n]);
            if !text
                .lines()
                .any(|l| l == format!("POWER_SUPPLY_CAPACITY={value}"))
            {
                return Err(format!("kept uevent says {text:?} after capacity {value}"));
            }
            let n = capacity
                .read_at(&mut buf, 0)
                .map_err(|e| format!("pread capacity: {e}"))?;
            if String::from_utf8_lossy(&buf[..n]).trim_end() != value {
                return Err(format!("kept capacity fd stale after {value}"));
            }
        }
        Ok("uevent and capacity re-read at offset 0 after two changes: fresh both times".into())
    })();
    report.check("pread at offset 0 on a kept descriptor is fresh", result);
}

/// A NETLINK_KOBJECT_UEVENT socket receives the power_supply change within 100 ms of the parameter write.
fn netlink_announces_changes(report: &mut Report) {
    let result = (|| -> Check {
        let sock = UeventSocket::open().map_err(|e| format!("netlink socket: {e}"))?;
        sock.drain(Duration::from_millis(200), EVENT_WAIT)
            .map_err(|e| e.to_string())?;
        let mut latencies = Vec::new();
        for value in ["33", "34", "35", "36", "37"] {
            let start = Instant::now();
            set_param(TEST_POWER, "battery_capacity", value)?;
            let (took, ev) = sock
                .wait_for(start, EVENT_WAIT, |ev| is_change_of(ev, "test_battery"))
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("no change event for capacity {value}"))?;
            if ev.get("POWER_SUPPLY_CAPACITY") != Some(value) {
                return Err(format!("event carries {:?}, want {value}", ev.fields));
            }
            if took > EVENT_LIMIT {
                return Err(format!("event after {took:?}, over {EVENT_LIMIT:?}"));
            }
            latencies.push(took);
        }
        latencies.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        Ok(format!(
            "5 change events, latency median {:.2} ms, max {:.2} ms",
            ms(latencies[2]),
            ms(latencies[4])
        ))
    })();
    report.check("netlink uevent within 100 ms of a change", result);
}

/// The fixture module's values: energy in µWh, power_now, thresholds, behaviour, a level-only peripheral.
fn fixture_values(env: &Env, report: &mut Report) {
    let result = (|| -> Check {
        let doc = voltaic_json(env, &["--json", "--all"])?;
        let bat = entry(&doc, "batteries", "vfix_bat")?;
        expect_all(
            bat,
            &[
                ("kind", "system".into()),
                ("state", "discharging".into()),
                ("percentage", int_attr("vfix_bat", "capacity")?),
                ("energy_wh", micro("vfix_bat", "energy_now")?),
                ("energy_full_wh", micro("vfix_bat", "energy_full")?),
                (
                    "energy_full_design_wh",
                    micro("vfix_bat", "energy_full_design")?,
                ),
                ("power_w", micro("vfix_bat", "power_now")?),
                ("voltage_v", micro("vfix_bat", "voltage_now")?),
                ("cycle_count", int_attr("vfix_bat", "cycle_count")?),
                ("health_percent", 90.into()),
                ("time_to_empty_s", 11520.into()),
                (
                    "charge_start_threshold",
                    int_attr("vfix_bat", "charge_control_start_threshold")?,
                ),
                (
                    "charge_end_threshold",
                    int_attr("vfix_bat", "charge_control_end_threshold")?,
                ),
                ("charge_behaviour", "auto".into()),
                ("serial", "VFIX-0001".into()),
            ],
        )?;
        let mouse = entry(&doc, "batteries", "vfix_mouse")?;
        expect_all(
            mouse,
            &[
                ("kind", "peripheral".into()),
                ("level", "normal".into()),
                ("percentage", Value::Null),
            ],
        )?;
        let plain = voltaic_json(env, &["--json"])?;
        if entry(&plain, "batteries", "vfix_mouse").is_ok() {
            return Err("the peripheral is listed without --all".into());
        }
        set_param(FIXTURE, "mouse_level", "Low")?;
        let doc = voltaic_json(env, &["--json", "--all"])?;
        expect(
            entry(&doc, "batteries", "vfix_mouse")?,
            "level",
            &"low".into(),
        )?;
        set_param(FIXTURE, "mouse_level", "Normal")?;
        Ok(
            "µWh energies, 9 W, 90 % health, 3 h 12 min derived, thresholds, level-only mouse"
                .into(),
        )
    })();
    report.check(
        "fixture battery and peripheral decode as the kernel says",
        result,
    );
}

/// A device that goes away: remove event, refresh says DeviceGone, a kept descriptor reads ENODEV; it comes back.
fn device_disappears(report: &mut Report) {
    let result = (|| -> Check {
        let manager = Manager::new().map_err(|e| e.to_string())?;
        let mut battery = system_battery(&manager, "vfix_bat")?;
        let kept =
            File::open(Path::new(CLASS).join("vfix_bat/uevent")).map_err(|e| e.to_string())?;
        let sock = UeventSocket::open().map_err(|e| format!("netlink socket: {e}"))?;
        sock.drain(Duration::from_millis(200), EVENT_WAIT)
            .map_err(|e| e.to_string())?;
        let start = Instant::now();
        set_param(FIXTURE, "bat_registered", "0")?;
        let (took, _) = sock
            .wait_for(start, EVENT_WAIT, |ev| {
                ev.action_and_name() == ("remove", "vfix_bat")
            })
            .map_err(|e| e.to_string())?
            .ok_or("no remove event for vfix_bat")?;
        match manager.refresh(&mut battery) {
            Err(e) if e.kind() == ErrorKind::DeviceGone => {}
            Err(e) => return Err(format!("refresh of a removed battery: {:?} {e}", e.kind())),
            Ok(()) => return Err("refresh of a removed battery returned values".into()),
        }
        let mut buf = [0u8; 256];
        match kept.read_at(&mut buf, 0) {
            Err(e) if e.raw_os_error() == Some(ENODEV) => {}
            other => {
                return Err(format!(
                    "kept descriptor after removal: {other:?}, want ENODEV"
                ));
            }
        }
        let snap = manager.snapshot().map_err(|e| e.to_string())?;
        if snap.batteries.iter().any(|b| b.id == "vfix_bat") {
            return Err("snapshot still lists the removed battery".into());
        }
        // A registering power supply's own "add" uevent is dropped on 6.1: while device_add() runs, reading
        // any property returns -EAGAIN (power_supply_get_property before `initialized`), which makes
        // power_supply_uevent fail and kobject_uevent_env discard the event. What announces the new device
        // is the "change" the deferred registration work sends right after (power_supply_core.c). So a
        // change for a device not seen before must count as "added".
        let back = Instant::now();
        set_param(FIXTURE, "bat_registered", "1")?;
        let (took_back, ev) = sock
            .wait_for(back, EVENT_WAIT, |ev| {
                matches!(ev.action_and_name(), ("add" | "change", "vfix_bat"))
            })
            .map_err(|e| e.to_string())?
            .ok_or("no add or change event for vfix_bat after it registered")?;
        let seen: Vec<String> = sock
            .drain(Duration::from_millis(300), EVENT_WAIT)
            .map_err(|e| e.to_string())?
            .iter()
            .chain(std::iter::once(&ev))
            .map(|e| e.header.clone())
            .collect();
        manager
            .refresh(&mut battery)
            .map_err(|e| format!("refresh after re-add: {e}"))?;
        same_percentage(&battery, 64.0)?;
        Ok(format!(
            "remove event after {:.2} ms; DeviceGone; ENODEV on the kept fd; on re-registration \
             {} after {:.2} ms (events: {})",
            took.as_secs_f64() * 1000.0,
            ev.action_and_name().0,
            took_back.as_secs_f64() * 1000.0,
            seen.join(", ")
        ))
    })();
    report.check("a removed device is gone, never stale", result);
}

/// The kernel's side of charge-limit writes on the fixture: stores, range checks (EINVAL), permissions (EACCES).
fn threshold_writes(report: &mut Report) {
    let result = (|| -> Check {
        let dev = "vfix_bat";
        let start = "charge_control_start_threshold";
        let end = "charge_control_end_threshold";
        write_attr(dev, end, "80").map_err(|e| format!("end=80: {e}"))?;
        write_attr(dev, start, "75").map_err(|e| format!("start=75: {e}"))?;
        if (attr(dev, start)?, attr(dev, end)?) != ("75".into(), "80".into()) {
            return Err("thresholds did not read back 75/80".into());
        }
        if os_error(write_attr(dev, start, "85")) != Some(EINVAL) {
            return Err("start 85 above end 80 was not refused with EINVAL".into());
        }
        if os_error(write_attr(dev, end, "101")) != Some(EINVAL) {
            return Err("end 101 was not refused with EINVAL".into());
        }
        write_attr(dev, "charge_behaviour", "inhibit-charge")
            .map_err(|e| format!("behaviour: {e}"))?;
        if attr(dev, "charge_behaviour")? != "inhibit-charge" {
            return Err("charge_behaviour did not read back inhibit-charge".into());
        }
        if os_error(write_attr(dev, "charge_behaviour", "force-discharge")) != Some(EINVAL) {
            return Err("force-discharge (not offered) was not refused with EINVAL".into());
        }
        let unprivileged = as_user(&Path::new(CLASS).join(dev).join(end), "70")?;
        if unprivileged != Some(EACCES) {
            return Err(format!(
                "unprivileged write gave {unprivileged:?}, want EACCES"
            ));
        }
        // Back to the defaults, lowering start first so the pair stays valid.
        write_attr(dev, start, "0").map_err(|e| e.to_string())?;
        write_attr(dev, end, "100").map_err(|e| e.to_string())?;
        write_attr(dev, "charge_behaviour", "auto").map_err(|e| e.to_string())?;
        Ok("75/80 stored; 85 and 101 EINVAL; force-discharge EINVAL; uid 1000 EACCES".into())
    })();
    report.check(
        "threshold writes: kernel range checks and permissions",
        result,
    );
}

/// Writes `value` to `path` as uid/gid 1000 (this program re-run with `--try-write`); the errno, if any.
fn as_user(path: &Path, value: &str) -> Check<Option<i32>> {
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = Command::new(me)
        .arg("--try-write")
        .arg(path)
        .arg(value)
        .uid(1000)
        .gid(1000)
        .output()
        .map_err(|e| format!("running as uid 1000: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    match text.trim() {
        "ok" => Ok(None),
        errno => errno
            .parse()
            .map(Some)
            .map_err(|_| format!("unexpected --try-write output {text:?}")),
    }
}

/// `--try-write PATH VALUE`: one write, printing `ok` or the errno (used by [`as_user`]).
pub fn try_write(path: &Path, value: &str) {
    let result = fs::OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|mut f| f.write_all(value.as_bytes()));
    match result {
        Ok(()) => println!("ok"),
        Err(e) => println!("{}", e.raw_os_error().unwrap_or(-1)),
    }
}

/// `Manager::refresh` racing `rmmod test_power`: values while the device lives, then DeviceGone, never
/// another error, never stale values after it has gone.
fn refresh_races_rmmod(env: &Env, report: &mut Report) {
    let result = (|| -> Check {
        let manager = Manager::new().map_err(|e| e.to_string())?;
        let mut battery = system_battery(&manager, "test_battery")?;
        let kept = File::open(Path::new(CLASS).join("test_battery/capacity"))
            .map_err(|e| e.to_string())?;
        let mut watcher = manager.watch().map_err(|e| format!("watch: {e}"))?;
        // test_power_exit sends a last change (ac off, discharging), sleeps 10 s, then unregisters.
        let mut rmmod = Command::new("rmmod")
            .arg("test_power")
            .spawn()
            .map_err(|e| format!("rmmod: {e}"))?;
        let (mut live, mut gone) = (0u32, 0u32);
        let status = loop {
            match manager.refresh(&mut battery) {
                Ok(()) => live += 1,
                Err(e) if e.kind() == ErrorKind::DeviceGone => gone += 1,
                Err(e) => return Err(format!("refresh during removal: {:?} {e}", e.kind())),
            }
            if let Some(status) = rmmod.try_wait().map_err(|e| e.to_string())? {
                break status;
            }
            thread::sleep(Duration::from_millis(20));
        };
        if !status.success() {
            return Err(format!("rmmod test_power: {status}"));
        }
        for _ in 0..3 {
            match manager.refresh(&mut battery) {
                Err(e) if e.kind() == ErrorKind::DeviceGone => {}
                other => return Err(format!("refresh after rmmod: {other:?}, want DeviceGone")),
            }
        }
        let mut buf = [0u8; 16];
        match kept.read_at(&mut buf, 0) {
            Err(e) if e.raw_os_error() == Some(ENODEV) => {}
            other => {
                return Err(format!(
                    "kept descriptor after rmmod: {other:?}, want ENODEV"
                ));
            }
        }
        let doc = voltaic_json(env, &["--json", "--all"])?;
        if entry(&doc, "batteries", "test_battery").is_ok() {
            return Err("voltaic still lists test_battery after rmmod".into());
        }
        let mut seen = Vec::new();
        let removed = Event::BatteryRemoved {
            id: "test_battery".into(),
        };
        while !seen.contains(&removed) {
            let events = watcher
                .wait(Some(Duration::from_secs(2)))
                .map_err(|e| e.to_string())?;
            if events.is_empty() {
                return Err(format!(
                    "the watcher saw [{}], no battery_removed(test_battery)",
                    names(&seen)
                ));
            }
            seen.extend(events);
        }
        Ok(format!(
            "{live} live refreshes, {gone} DeviceGone during removal, then DeviceGone; kept fd ENODEV; \
             the watcher saw battery_removed(test_battery)"
        ))
    })();
    report.check(
        "refresh racing rmmod: values, then DeviceGone; the watcher sees the removal",
        result,
    );
}

fn thresholds_now() -> Check<(String, String)> {
    Ok((
        attr("vfix_bat", "charge_control_start_threshold")?,
        attr("vfix_bat", "charge_control_end_threshold")?,
    ))
}

/// `Manager::set_charge_limits` / `set_charge_behaviour` on the live fixture battery: every move of the pair
/// (raise, lower, clear) succeeds because the writes are ordered so the driver never sees start ≥ end; a bad
/// pair is refused before any write; a behaviour the driver refuses is `Rejected`.
fn limits_through_the_library(report: &mut Report) {
    let result = (|| -> Check {
        let manager = Manager::new().map_err(|e| e.to_string())?;
        let mut battery = system_battery(&manager, "vfix_bat")?;
        let mut steps = Vec::new();
        // From 0/100: lower the end below the old start's future value, raise both, lower both, clear.
        for (start, end) in [(75, 80), (85, 95), (40, 60), (20, 30)] {
            manager
                .refresh(&mut battery)
                .map_err(|e| format!("refresh: {e}"))?;
            let kept = manager
                .set_charge_limits(&battery, ChargeLimits::new(Some(start), Some(end)))
                .map_err(|e| format!("set {start}/{end}: {:?} {e}", e.kind()))?;
            if (kept.start, kept.end) != (Some(start), Some(end)) {
                return Err(format!("asked {start}/{end}, read back {kept}"));
            }
            if thresholds_now()? != (start.to_string(), end.to_string()) {
                return Err(format!("sysfs does not say {start}/{end} after the write"));
            }
            steps.push(format!("{start}/{end}"));
        }
        manager.refresh(&mut battery).map_err(|e| e.to_string())?;
        match manager.set_charge_limits(&battery, ChargeLimits::new(Some(90), Some(80))) {
            Err(e) if e.kind() == ErrorKind::InvalidInput => {}
            other => {
                return Err(format!(
                    "start 90 above end 80: {other:?}, want InvalidInput"
                ));
            }
        }
        if thresholds_now()? != ("20".into(), "30".into()) {
            return Err("a refused request changed the thresholds".into());
        }
        let full = manager
            .full_charge_limits(&battery)
            .map_err(|e| e.to_string())?;
        let cleared = manager
            .set_charge_limits(&battery, full)
            .map_err(|e| format!("clear: {e}"))?;
        if (cleared.start, cleared.end) != (Some(0), Some(100)) {
            return Err(format!("clear read back {cleared}"));
        }
        let inhibit = manager
            .set_charge_behaviour(&battery, ChargeBehaviour::InhibitCharge)
            .map_err(|e| format!("inhibit-charge: {:?} {e}", e.kind()))?;
        if inhibit != ChargeBehaviour::InhibitCharge
            || attr("vfix_bat", "charge_behaviour")? != "inhibit-charge"
        {
            return Err(format!("inhibit-charge read back {inhibit:?}"));
        }
        match manager.set_charge_behaviour(&battery, ChargeBehaviour::ForceDischarge) {
            Err(e) if e.kind() == ErrorKind::Rejected => {}
            other => {
                return Err(format!(
                    "force-discharge: {other:?}, want Rejected (the driver's EINVAL)"
                ));
            }
        }
        manager
            .set_charge_behaviour(&battery, ChargeBehaviour::Auto)
            .map_err(|e| format!("auto: {e}"))?;
        Ok(format!(
            "{} then cleared to 0/100; 90/80 refused before writing; inhibit-charge set; force-discharge Rejected",
            steps.join(" → ")
        ))
    })();
    report.check(
        "charge limits set through the library on a live battery",
        result,
    );
}

/// `voltaic limit set/clear/behaviour` as root, and as an unprivileged user (PermissionDenied with advice).
fn limits_through_the_command(env: &Env, report: &mut Report) {
    let result = (|| -> Check {
        let set = voltaic_json(
            env,
            &[
                "limit",
                "set",
                "--start",
                "60",
                "--end",
                "80",
                "--battery",
                "vfix_bat",
                "--json",
            ],
        )?;
        if thresholds_now()? != ("60".into(), "80".into()) {
            return Err(format!(
                "after `voltaic limit set`: {:?}; it printed {set}",
                thresholds_now()?
            ));
        }
        run_voltaic(
            env,
            &[
                "limit",
                "behaviour",
                "inhibit-charge",
                "--battery",
                "vfix_bat",
            ],
        )?;
        if attr("vfix_bat", "charge_behaviour")? != "inhibit-charge" {
            return Err("`voltaic limit behaviour inhibit-charge` did not take".into());
        }
        let out = Command::new(&env.voltaic)
            .args(["limit", "set", "--end", "70", "--battery", "vfix_bat"])
            .uid(1000)
            .gid(1000)
            .output()
            .map_err(|e| format!("running voltaic as uid 1000: {e}"))?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.code() != Some(1) || !stderr.contains("needs root") {
            return Err(format!(
                "as uid 1000: exit {:?}, stderr {stderr:?}",
                out.status.code()
            ));
        }
        if thresholds_now()?.1 != "80" {
            return Err("the refused unprivileged write changed the end threshold".into());
        }
        run_voltaic(env, &["limit", "clear", "--battery", "vfix_bat"])?;
        if thresholds_now()? != ("0".into(), "100".into())
            || attr("vfix_bat", "charge_behaviour")? != "auto"
        {
            return Err("`voltaic limit clear` did not restore 0/100 and auto".into());
        }
        Ok("set 60/80, behaviour inhibit-charge, uid 1000 refused with the advice, clear back to 0/100 auto".into())
    })();
    report.check(
        "voltaic limit on a live battery, as root and as a user",
        result,
    );
}

/// Limit writes while the battery unregisters: each write succeeds or says DeviceGone, never another error.
fn limit_write_races_removal(report: &mut Report) {
    let result = (|| -> Check {
        let manager = Manager::new().map_err(|e| e.to_string())?;
        let mut battery = system_battery(&manager, "vfix_bat")?;
        let remover = thread::spawn(|| {
            thread::sleep(Duration::from_millis(300));
            set_param(FIXTURE, "bat_registered", "0")
        });
        let (mut written, mut gone) = (0u32, 0u32);
        let pairs = [(70, 90), (20, 40)];
        let deadline = Instant::now() + Duration::from_secs(10);
        while gone == 0 && Instant::now() < deadline {
            let (start, end) = pairs[written as usize % 2];
            // The plan orders writes from the values last read, so read them first (as `voltaic limit` does).
            if let Err(e) = manager.refresh(&mut battery) {
                if e.kind() == ErrorKind::DeviceGone {
                    gone += 1;
                    break;
                }
                return Err(format!("refresh: {:?} {e}", e.kind()));
            }
            match manager.set_charge_limits(&battery, ChargeLimits::new(Some(start), Some(end))) {
                Ok(_) => written += 1,
                Err(e) if e.kind() == ErrorKind::DeviceGone => gone += 1,
                Err(e) => return Err(format!("write during removal: {:?} {e}", e.kind())),
            }
        }
        remover
            .join()
            .map_err(|_| "remover thread panicked".to_owned())??;
        match manager.set_charge_limits(&battery, ChargeLimits::new(Some(40), Some(80))) {
            Err(e) if e.kind() == ErrorKind::DeviceGone => {}
            other => return Err(format!("write after removal: {other:?}, want DeviceGone")),
        }
        set_param(FIXTURE, "bat_registered", "1")?;
        if gone == 0 {
            return Err(format!("{written} writes and the battery never went"));
        }
        Ok(format!("{written} pairs written, then DeviceGone"))
    })();
    report.check("limit writes racing removal: written or DeviceGone", result);
}

/// How often this thread has blocked so far (`voluntary_ctxt_switches`, proc(5)): a thread asleep in
/// poll(2) adds one per wake-up, so the difference over a wait counts the watcher's wake-ups.
fn voluntary_switches() -> Check<u64> {
    let status = fs::read_to_string("/proc/thread-self/status").map_err(|e| e.to_string())?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| "no voluntary_ctxt_switches in /proc/thread-self/status".into())
}

/// Waits up to `limit` for events; returns them with the time from `start` to the first batch.
fn events_within(
    watcher: &mut Watcher,
    start: Instant,
    limit: Duration,
) -> Check<(Duration, Vec<Event>)> {
    let events = watcher
        .wait(Some(limit))
        .map_err(|e| format!("wait: {:?} {e}", e.kind()))?;
    Ok((start.elapsed(), events))
}

fn names(events: &[Event]) -> String {
    let shown: Vec<String> = events
        .iter()
        .map(|e| format!("{}({})", e.kind(), e.id().unwrap_or("machine")))
        .collect();
    shown.join(", ")
}

/// `Manager::watch` on the live kernel: no wake-up while nothing changes, exactly the expected events within
/// 100 ms of a change, BatteryRemoved / BatteryAdded when a battery unregisters and comes back.
fn watcher_reports_changes(report: &mut Report) {
    let result = (|| -> Check {
        // Nothing charging or discharging: the watcher has no reason to poll, only to listen.
        set_param(TEST_POWER, "battery_status", "full")?;
        set_param(FIXTURE, "bat_status", "Full")?;
        set_param(TEST_POWER, "ac_online", "on")?;
        let manager = Manager::new().map_err(|e| e.to_string())?;
        let mut watcher = manager.watch().map_err(|e| format!("watch: {e}"))?;
        if !watcher.is_native() {
            return Err("the watcher polls: no uevent socket".into());
        }
        if let Some(poll) = watcher.next_poll() {
            return Err(format!(
                "the watcher would poll in {poll:?} while nothing charges"
            ));
        }
        let before = voluntary_switches()?;
        let idle = watcher
            .wait(Some(Duration::from_secs(3)))
            .map_err(|e| e.to_string())?;
        let wakeups = voluntary_switches()? - before;
        if !idle.is_empty() || wakeups > 2 {
            return Err(format!(
                "idle 3 s: events [{}], {wakeups} wake-ups",
                names(&idle)
            ));
        }

        let start = Instant::now();
        set_param(TEST_POWER, "battery_capacity", "61")?;
        let (took, events) = events_within(&mut watcher, start, EVENT_WAIT)?;
        let want = [Event::BatteryChanged {
            id: "test_battery".into(),
        }];
        if events != want || took > EVENT_LIMIT {
            return Err(format!(
                "capacity change: [{}] after {took:?}",
                names(&events)
            ));
        }
        let change_ms = took.as_secs_f64() * 1000.0;

        let start = Instant::now();
        set_param(TEST_POWER, "ac_online", "off")?;
        let (took, events) = events_within(&mut watcher, start, EVENT_WAIT)?;
        let plugged = events.contains(&Event::PowerSourceChanged {
            id: "test_ac".into(),
        });
        let others_are_battery_changes = events.iter().all(|e| {
            matches!(e, Event::PowerSourceChanged { id } if id == "test_ac")
                || matches!(e, Event::BatteryChanged { .. })
        });
        if !plugged || !others_are_battery_changes || took > EVENT_LIMIT {
            return Err(format!("unplug: [{}] after {took:?}", names(&events)));
        }
        let unplug_ms = took.as_secs_f64() * 1000.0;

        set_param(FIXTURE, "bat_registered", "0")?;
        let (_, events) = events_within(&mut watcher, Instant::now(), EVENT_WAIT)?;
        if !events.contains(&Event::BatteryRemoved {
            id: "vfix_bat".into(),
        }) {
            return Err(format!(
                "unregister: [{}], want battery_removed(vfix_bat)",
                names(&events)
            ));
        }
        set_param(FIXTURE, "bat_registered", "1")?;
        // The kernel drops a new power supply's "add" uevent (see PLATFORMS.md): its first "change" announces it.
        let (_, events) = events_within(&mut watcher, Instant::now(), EVENT_WAIT)?;
        if !events.contains(&Event::BatteryAdded {
            id: "vfix_bat".into(),
        }) {
            return Err(format!(
                "re-register: [{}], want battery_added(vfix_bat)",
                names(&events)
            ));
        }

        let before = voluntary_switches()?;
        let idle = watcher
            .wait(Some(Duration::from_secs(2)))
            .map_err(|e| e.to_string())?;
        let wakeups_after = voluntary_switches()? - before;
        if !idle.is_empty() || wakeups_after > 2 {
            return Err(format!(
                "idle again: [{}], {wakeups_after} wake-ups",
                names(&idle)
            ));
        }
        set_param(TEST_POWER, "battery_status", "discharging")?;
        set_param(FIXTURE, "bat_status", "Discharging")?;
        set_param(TEST_POWER, "ac_online", "on")?;
        Ok(format!(
            "idle 3 s: {wakeups} wake-up(s), no event; capacity → battery_changed(test_battery) in {change_ms:.1} ms; \
             unplug → power_source_changed(test_ac) in {unplug_ms:.1} ms; removed and added; idle 2 s: {wakeups_after}"
        ))
    })();
    report.check(
        "Manager::watch: events within 100 ms, no wake-ups while idle",
        result,
    );
}

/// `voltaic watch --json --count 2`: the present state, then one document for a capacity change.
fn watch_command_reports_changes(env: &Env, report: &mut Report) {
    let result = (|| -> Check {
        let mut child = Command::new(&env.voltaic)
            .args(["watch", "--json", "--count", "2"])
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("voltaic watch: {e}"))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let first = lines
            .next()
            .ok_or("voltaic watch printed nothing")?
            .map_err(|e| e.to_string())?;
        parse(&first)?;
        let start = Instant::now();
        set_param(TEST_POWER, "battery_capacity", "58")?;
        let second = lines
            .next()
            .ok_or("no second document")?
            .map_err(|e| e.to_string())?;
        let took = start.elapsed();
        let doc = parse(&second)?;
        let changed = doc["events"].as_array().is_some_and(|ev| {
            ev.iter()
                .any(|e| e["event"] == "battery_changed" && e["id"] == "test_battery")
        });
        if !changed {
            return Err(format!("second document: {second}"));
        }
        let status = child.wait().map_err(|e| e.to_string())?;
        if !status.success() {
            return Err(format!("voltaic watch --count 2 exited {status}"));
        }
        Ok(format!(
            "change printed {:.1} ms after the write; exit 0 after 2 documents",
            took.as_secs_f64() * 1000.0
        ))
    })();
    report.check("voltaic watch prints a change as it happens", result);
}

/// Read system calls this thread has made so far (`syscr` of /proc/thread-self/io, proc(5)).
fn read_syscalls() -> Check<u64> {
    let io = fs::read_to_string("/proc/thread-self/io").map_err(|e| e.to_string())?;
    io.lines()
        .find_map(|l| l.strip_prefix("syscr:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| "no syscr in /proc/thread-self/io".into())
}

/// A steady `Manager::refresh` on live sysfs is one read system call per battery (a pread of the kept
/// uevent descriptor), for test_power's battery and for the fixture's, whose thresholds are in its uevent.
fn steady_refresh_is_one_read(report: &mut Report) {
    let result = (|| -> Check {
        let manager = Manager::new().map_err(|e| e.to_string())?;
        let mut counts = Vec::new();
        for id in ["test_battery", "vfix_bat"] {
            let mut battery = system_battery(&manager, id)?;
            // The first refresh opens and keeps the descriptors; the steady ones only read.
            manager
                .refresh(&mut battery)
                .map_err(|e| format!("refresh {id}: {e}"))?;
            let before = read_syscalls()?;
            for _ in 0..10 {
                manager
                    .refresh(&mut battery)
                    .map_err(|e| format!("refresh {id}: {e}"))?;
            }
            let reads = read_syscalls()? - before;
            // Reading /proc/thread-self/io itself adds the reads of that file to the second count.
            let probe = {
                let a = read_syscalls()?;
                read_syscalls()? - a
            };
            let per_refresh = (reads - probe) as f64 / 10.0;
            if (per_refresh - 1.0).abs() > f64::EPSILON {
                return Err(format!(
                    "{id}: {per_refresh} read calls per steady refresh, want 1"
                ));
            }
            counts.push(format!("{id} {per_refresh}"));
        }
        Ok(format!(
            "read system calls per steady refresh: {}",
            counts.join(", ")
        ))
    })();
    report.check("a steady refresh on live sysfs is one read", result);
}

/// `voltaic log` sleeps in the watcher: a change is stored at once (not at its 10 s polling interval), and
/// `voltaic history` reads the stored samples back.
fn history_logger_wakes_on_changes(env: &Env, report: &mut Report) {
    let result = (|| -> Check {
        let db = "/tmp/history.sqlite";
        let mut child = Command::new(&env.voltaic)
            .args(["log", "--db", db, "--count", "2", "-v"])
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("voltaic log: {e}"))?;
        let stderr = child.stderr.take().ok_or("no stderr")?;
        let mut lines = BufReader::new(stderr).lines();
        lines
            .next()
            .ok_or("voltaic log printed nothing")?
            .map_err(|e| e.to_string())?;
        // The first reading is stored right after the banner; give it time to reach its wait.
        thread::sleep(Duration::from_millis(500));
        let start = Instant::now();
        set_param(TEST_POWER, "battery_capacity", "57")?;
        let deadline = start + Duration::from_secs(5);
        let status = loop {
            if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                return Err(
                    "voltaic log did not store the change within 5 s (polling, not events?)".into(),
                );
            }
            thread::sleep(Duration::from_millis(10));
        };
        let took = start.elapsed();
        if !status.success() {
            let rest: Vec<String> = lines.map_while(Result::ok).collect();
            return Err(format!("voltaic log exited {status}: {}", rest.join(" | ")));
        }
        let history = voltaic_json(env, &["history", "--db", db, "--json"])?;
        let text = history.to_string();
        if !text.contains("Test battery") {
            return Err(format!(
                "voltaic history does not show the test battery: {text}"
            ));
        }
        Ok(format!(
            "the change was stored {:.0} ms after the write; history reads it back",
            took.as_secs_f64() * 1000.0
        ))
    })();
    report.check("voltaic log stores a live change as it happens", result);
}
