//! Reading a directory laid out like `/sys/class/power_supply` into raw records.
//!
//! This is plain file IO and compiles everywhere: the Linux shell points it at `/sys/class/power_supply`,
//! and `--replay DIR` points it at a copy on any OS. Each device's `uevent` is read in one `read` (a
//! consistent snapshot); attribute files are read only for what the uevent lacks.

use std::fs;
use std::io::{self, Read};
use std::path::Path;

use voltaic_core::decode::Skipped;
use voltaic_core::decode::linux::PREFIX;
use voltaic_core::record::{Os, RawDevice, Record, Value};

use crate::error::{Error, Result};

/// Files larger than this are not power-supply attributes (sysfs attributes are at most one page); reading
/// stops there so that a corrupt or hostile tree cannot make us allocate without bound.
const MAX_FILE: u64 = 64 * 1024;

/// Attributes that platform drivers add to a battery outside the power-supply property list (so they are
/// never in the uevent): thinkpad_acpi, asus-wmi, dell-laptop, huawei-wmi … hook `charge_control_*` and
/// `charge_behaviour` as plain device attributes (drivers/acpi/battery.c `battery_hook_register`). The
/// `charge_{start,stop}_threshold` names are the older thinkpad_acpi aliases.
const EXTRA_BATTERY_ATTRS: [&str; 6] = [
    "charge_control_start_threshold",
    "charge_control_end_threshold",
    "charge_start_threshold",
    "charge_stop_threshold",
    "charge_behaviour",
    "charge_types",
];

/// What reading a power-supply directory gave: device records, and devices that could not be read.
#[derive(Debug, Default)]
pub(crate) struct TreeRead {
    pub devices: Vec<RawDevice>,
    pub unreadable: Vec<Skipped>,
}

/// Reads every device under `root`, sorted by name. One unreadable device never aborts the listing.
pub(crate) fn read_tree(root: &Path) -> Result<TreeRead> {
    let entries = fs::read_dir(root).map_err(|e| Error::io("listing power supplies", root, e))?;
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    let mut out = TreeRead::default();
    for name in names {
        match read_device(root, &name) {
            Ok(Some(device)) => out.devices.push(device),
            // Gone between listing and reading (a mouse switched off): simply not there.
            Ok(None) => {}
            Err(reason) => out.unreadable.push(Skipped::new(name, reason)),
        }
    }
    Ok(out)
}

/// Reads the device `name` under `root`. `Ok(None)` when it no longer exists; `Err(reason)` when it
/// exists but nothing could be read from it.
pub(crate) fn read_device(
    root: &Path,
    name: &str,
) -> std::result::Result<Option<RawDevice>, String> {
    let dir = root.join(name);
    if !dir.is_dir() {
        return if dir.exists() {
            Err("not a directory".into())
        } else {
            Ok(None)
        };
    }
    let mut record = match read_small(&dir.join("uevent")) {
        Ok(text) => uevent_record(&text),
        Err(e) if !dir.exists() => {
            let _ = e;
            return Ok(None);
        }
        // The whole uevent fails when any one property read fails with an error other than
        // ENODEV/ENODATA (power_supply_sysfs.c `power_supply_uevent`): read the attributes one by one.
        Err(uevent_err) => {
            let record = attribute_record(&dir);
            if record.is_empty() {
                if !dir.exists() {
                    return Ok(None);
                }
                return Err(format!(
                    "uevent unreadable ({}) and no attribute readable",
                    describe(&uevent_err)
                ));
            }
            record
        }
    };
    // Kernels before 4.x leave TYPE out of the uevent; the `type` attribute has always existed.
    if !record.contains("POWER_SUPPLY_TYPE")
        && let Some(ty) = read_attr(&dir, "type")
    {
        record.push("POWER_SUPPLY_TYPE", Value::Str(ty));
    }
    let is_battery = record
        .text("POWER_SUPPLY_TYPE")
        .is_none_or(|t| t.trim() == "Battery");
    if is_battery {
        for attr in EXTRA_BATTERY_ATTRS {
            let key = format!("{PREFIX}{}", attr.to_ascii_uppercase());
            if !record.contains(&key)
                && let Some(value) = read_attr(&dir, attr)
            {
                record.push(key, Value::Str(value));
            }
        }
    }
    if is_battery && record.text("POWER_SUPPLY_SCOPE").as_deref() == Some("Device") {
        peripheral_context(&dir, &mut record);
    }
    Ok(Some(RawDevice::new(Os::Linux, name, record)))
}

/// What a peripheral's power supply does not say itself. The USB interface above its HID device says
/// whether a receiver's peripheral is connected (`wireless_status`, Documentation/ABI/testing/sysfs-bus-usb,
/// Linux 6.5+); a game pad's input device (`device/input/inputN`, a sibling of the supply under the HID
/// device) has the name and Bluetooth address its supply lacks.
fn peripheral_context(dir: &Path, record: &mut Record) {
    use voltaic_core::decode::linux::{INPUT_NAME, INPUT_UNIQ, USB_WIRELESS_STATUS};
    let device = dir.join("device");
    if let Some(status) = read_attr(&device.join(".."), "wireless_status") {
        record.push(USB_WIRELESS_STATUS, Value::Str(status));
    }
    if record.contains("POWER_SUPPLY_MODEL_NAME") {
        return;
    }
    let input = fs::read_dir(device.join("input")).ok().and_then(|entries| {
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("input"))
            .take(16)
            .collect();
        names.sort();
        names.into_iter().next()
    });
    if let Some(input) = input {
        let input = device.join("input").join(input);
        for (key, attr) in [(INPUT_NAME, "name"), (INPUT_UNIQ, "uniq")] {
            if let Some(value) = read_attr(&input, attr) {
                record.push(key, Value::Str(value));
            }
        }
    }
}

fn uevent_record(text: &str) -> Record {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), Value::Str(v.to_owned())))
        .collect()
}

/// Every readable regular attribute file of `dir`, as uevent keys. Files failing with ENODEV, ENODATA,
/// EIO, EAGAIN or EACCES are left out: the value is unknown right now, not the device broken.
fn attribute_record(dir: &Path) -> Record {
    let Ok(entries) = fs::read_dir(dir) else {
        return Record::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "uevent" && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .collect();
    names.sort();
    let mut record = Record::new();
    for name in names {
        if let Some(value) = read_attr(dir, &name) {
            record.push(
                format!("{PREFIX}{}", name.to_ascii_uppercase()),
                Value::Str(value),
            );
        }
    }
    record
}

/// One attribute's text without the trailing newline; `None` when absent or unreadable.
fn read_attr(dir: &Path, name: &str) -> Option<String> {
    read_small(&dir.join(name))
        .ok()
        .map(|s| s.trim_end_matches(['\n', '\r']).to_owned())
}

/// Reads at most [`MAX_FILE`] bytes in as few reads as the kernel allows; invalid UTF-8 is replaced,
/// not an error (OEM strings are not always UTF-8: battery crate issues #60 and #72).
fn read_small(path: &Path) -> io::Result<String> {
    // Only regular files: in a replayed tree a FIFO or device node would block or never end.
    if !fs::metadata(path)?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    let mut bytes = Vec::with_capacity(4096);
    fs::File::open(path)?
        .take(MAX_FILE)
        .read_to_end(&mut bytes)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// A short name for an IO error, naming the errno where there is one (`ENODEV`, `EIO`).
fn describe(err: &io::Error) -> String {
    match err.raw_os_error() {
        Some(code) => format!("{} (os error {code})", err.kind()),
        None => err.kind().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uevent_record_splits_on_first_equals() {
        let r = uevent_record(
            "POWER_SUPPLY_STATUS=Not charging\nPOWER_SUPPLY_MODEL_NAME=a=b\nDEVTYPE=power_supply\n",
        );
        assert_eq!(
            r.text("POWER_SUPPLY_STATUS").as_deref(),
            Some("Not charging")
        );
        assert_eq!(r.text("POWER_SUPPLY_MODEL_NAME").as_deref(), Some("a=b"));
    }
}
