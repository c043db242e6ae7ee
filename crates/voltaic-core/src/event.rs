//! Change events: what changed between two readings, and the OS notification messages that say
//! "something changed" (Linux kernel uevents, FreeBSD/DragonFly devd lines).
//!
//! Everything here is pure: the shells receive the bytes, these functions say what they mean, and the
//! watcher compares readings. Every parser is bounded (message size, field count) and total: any input,
//! however broken, gives `None` or a value, never a panic.

use crate::warning::WarningLevel;
use crate::{Battery, PowerSource};

/// One change seen by a watcher.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Event {
    /// A battery appeared (a pack inserted, a peripheral connected, a driver loaded).
    BatteryAdded {
        /// The device id ([`Battery::id`]).
        id: String,
    },
    /// A battery went away.
    BatteryRemoved {
        /// The device id it had.
        id: String,
    },
    /// A value of a battery changed (charge, state, rate, …).
    BatteryChanged {
        /// The device id.
        id: String,
    },
    /// A power source appeared, went away, or changed (plugged in, unplugged, a new USB contract).
    PowerSourceChanged {
        /// The power source id ([`PowerSource::id`]).
        id: String,
    },
    /// The warning level of a battery, or of the machine, changed.
    WarningChanged {
        /// The battery, or `None` for the machine as a whole (the summary).
        id: Option<String>,
        /// The level before.
        from: WarningLevel,
        /// The level now.
        to: WarningLevel,
    },
}

impl Event {
    /// The snake-case name of the event (`battery_changed`), used in NDJSON output.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Event::BatteryAdded { .. } => "battery_added",
            Event::BatteryRemoved { .. } => "battery_removed",
            Event::BatteryChanged { .. } => "battery_changed",
            Event::PowerSourceChanged { .. } => "power_source_changed",
            Event::WarningChanged { .. } => "warning_changed",
        }
    }

    /// The device the event is about, or `None` for the machine as a whole.
    #[must_use]
    pub fn id(&self) -> Option<&str> {
        match self {
            Event::BatteryAdded { id }
            | Event::BatteryRemoved { id }
            | Event::BatteryChanged { id }
            | Event::PowerSourceChanged { id } => Some(id),
            Event::WarningChanged { id, .. } => id.as_deref(),
        }
    }
}

/// The events that turn reading `before` into reading `after`, batteries first, each in `after`'s
/// order (removals in `before`'s order). Devices are matched by id; a battery whose values are all
/// equal gives no event.
#[must_use]
pub fn diff(
    before: (&[Battery], &[PowerSource]),
    after: (&[Battery], &[PowerSource]),
) -> Vec<Event> {
    let mut events = Vec::new();
    for b in after.0 {
        match before.0.iter().find(|old| old.id == b.id) {
            None => events.push(Event::BatteryAdded { id: b.id.clone() }),
            Some(old) if old != b => events.push(Event::BatteryChanged { id: b.id.clone() }),
            Some(_) => {}
        }
    }
    for old in before.0 {
        if !after.0.iter().any(|b| b.id == old.id) {
            events.push(Event::BatteryRemoved { id: old.id.clone() });
        }
    }
    for s in after.1 {
        if before.1.iter().find(|old| old.id == s.id) != Some(s) {
            events.push(Event::PowerSourceChanged { id: s.id.clone() });
        }
    }
    for old in before.1 {
        if !after.1.iter().any(|s| s.id == old.id) {
            events.push(Event::PowerSourceChanged { id: old.id.clone() });
        }
    }
    events
}

/// The largest kernel uevent message read: the kernel builds the environment in a 2048-byte buffer
/// (`UEVENT_BUFFER_SIZE`, include/linux/kobject.h) after an `ACTION@DEVPATH` header of at most a path.
pub const MAX_UEVENT_MESSAGE: usize = 8192;

/// At most this many `KEY=VALUE` fields are looked at (`UEVENT_NUM_ENVP` is 64, include/linux/kobject.h).
const MAX_UEVENT_FIELDS: usize = 64;

/// What a kernel uevent says happened to a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UeventAction {
    /// `add`: the device appeared.
    Add,
    /// `remove`: the device went away.
    Remove,
    /// `change`: a value changed (power_supply_changed() in drivers/power/supply/power_supply_core.c).
    Change,
    /// Any other action (`bind`, `unbind`, `move`, `online`, `offline`).
    Other,
}

/// A kernel uevent message about a power supply, as the kernel sends it on `NETLINK_KOBJECT_UEVENT`
/// multicast group 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Uevent<'a> {
    /// What happened.
    pub action: UeventAction,
    /// The sysfs path without `/sys` (`/devices/LNXSYSTM:00/…/power_supply/BAT0`).
    pub devpath: &'a str,
    /// The device's name under `/sys/class/power_supply`: `POWER_SUPPLY_NAME`, else the last part of
    /// the path (a `remove` carries no `POWER_SUPPLY_*` keys).
    pub name: &'a str,
}

/// Reads one kernel uevent message and returns it when it is about a power supply.
///
/// The kernel's format (`lib/kobject_uevent.c`, `kobject_uevent_env`): a header `ACTION@DEVPATH`, a
/// NUL, then `KEY=VALUE` strings each ended by a NUL (`ACTION`, `DEVPATH`, `SUBSYSTEM`, `SEQNUM`, and the
/// driver's own keys; power_supply adds `POWER_SUPPLY_NAME` and the values). udevd re-sends processed
/// events starting with the magic `libudev\0` on group 2; such a message, or anything else that does not
/// start with a header, gives `None`, as do messages about other subsystems and oversized messages.
#[must_use]
pub fn parse_uevent(message: &[u8]) -> Option<Uevent<'_>> {
    if message.len() > MAX_UEVENT_MESSAGE {
        return None;
    }
    let mut parts = message.split(|&b| b == 0);
    let header = std::str::from_utf8(parts.next()?).ok()?;
    let (action, devpath) = header.split_once('@')?;
    if !devpath.starts_with('/') {
        return None;
    }
    let action = match action {
        "add" => UeventAction::Add,
        "remove" => UeventAction::Remove,
        "change" => UeventAction::Change,
        a if !a.is_empty() && a.bytes().all(|b| b.is_ascii_lowercase()) => UeventAction::Other,
        _ => return None,
    };
    let mut subsystem = None;
    let mut name = None;
    for field in parts.take(MAX_UEVENT_FIELDS) {
        let Ok(field) = std::str::from_utf8(field) else {
            continue;
        };
        if let Some(v) = field.strip_prefix("SUBSYSTEM=") {
            subsystem = Some(v);
        } else if let Some(v) = field.strip_prefix("POWER_SUPPLY_NAME=") {
            name = Some(v);
        }
    }
    if subsystem != Some("power_supply") {
        return None;
    }
    let name = name
        .or_else(|| devpath.rsplit('/').next())
        .filter(|n| !n.is_empty())?;
    Some(Uevent {
        action,
        devpath,
        name,
    })
}

/// What a devd notification says about power (FreeBSD, DragonFly).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DevdPower<'a> {
    /// The AC adapter changed: `system=ACPI subsystem=ACAD`, `notify=0x01` online, `0x00` offline.
    AcLine {
        /// Whether the adapter is now online, when the notify value says so.
        online: Option<bool>,
    },
    /// A control-method battery announced a change: `system=ACPI subsystem=CMBAT` (status `0x80`,
    /// information `0x81`).
    Battery {
        /// The ACPI path of the battery (`\_SB_.BAT0`), as devd gives it.
        handle: &'a str,
    },
}

/// The longest devd event line looked at (devd's own buffer is 1024 bytes, sbin/devd/devd.cc).
pub const MAX_DEVD_LINE: usize = 1024;

/// Reads one line from devd's socket (`/var/run/devd.seqpacket.pipe`) and returns it when it is a
/// power notification.
///
/// devd(8) sends each kernel event as one line; notifications start with `!` and carry
/// `system=… subsystem=… type=… notify=…` (devd.conf(5), "notify" events; the ACPI driver emits them
/// through `acpi_UserNotify`, sys/dev/acpica/acpi.c, with the device's ACPI path as `type`). Device
/// attach (`+`), detach (`-`) and no-match (`?`) lines, other systems, malformed or oversized lines give
/// `None`.
#[must_use]
pub fn parse_devd(line: &[u8]) -> Option<DevdPower<'_>> {
    if line.len() > MAX_DEVD_LINE {
        return None;
    }
    let line = std::str::from_utf8(line).ok()?;
    let body = line.trim_end_matches(['\n', '\0']).strip_prefix('!')?;
    let (mut system, mut subsystem, mut kind, mut notify) = (None, None, None, None);
    for pair in body.split(' ').take(16) {
        let Some((key, value)) = pair.split_once('=') else {
            continue;
        };
        match key {
            "system" => system = Some(value),
            "subsystem" => subsystem = Some(value),
            "type" => kind = Some(value),
            "notify" => notify = Some(value),
            _ => {}
        }
    }
    if system != Some("ACPI") {
        return None;
    }
    let notify = notify
        .and_then(|n| n.strip_prefix("0x"))
        .and_then(|n| u32::from_str_radix(n, 16).ok());
    match subsystem? {
        "ACAD" => Some(DevdPower::AcLine {
            online: match notify {
                Some(0) => Some(false),
                Some(1) => Some(true),
                _ => None,
            },
        }),
        "CMBAT" => Some(DevdPower::Battery {
            handle: kind.filter(|k| !k.is_empty())?,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Kind, SourceKind};

    /// The message the real kernel (6.1.0, test_power module) sent when its capacity parameter was
    /// written, as received on group 1 (kernel-probe capture). The keys between SUBSYSTEM and
    /// POWER_SUPPLY_CAPACITY are the ones power_supply_uevent() adds, in its order.
    const TEST_POWER_CHANGE: &[u8] = b"change@/devices/virtual/power_supply/test_battery\0\
ACTION=change\0DEVPATH=/devices/virtual/power_supply/test_battery\0SUBSYSTEM=power_supply\0\
POWER_SUPPLY_NAME=test_battery\0POWER_SUPPLY_TYPE=Battery\0POWER_SUPPLY_STATUS=Discharging\0\
POWER_SUPPLY_CAPACITY=37\0SEQNUM=2310\0";

    #[test]
    fn real_kernel_change_message() {
        let u = parse_uevent(TEST_POWER_CHANGE).expect("a power_supply uevent");
        assert_eq!(u.action, UeventAction::Change);
        assert_eq!(u.devpath, "/devices/virtual/power_supply/test_battery");
        assert_eq!(u.name, "test_battery");
    }

    #[test]
    fn add_and_remove_of_an_acpi_battery() {
        // Shape from Documentation/ABI/testing/sysfs-class-power and lib/kobject_uevent.c: `add` carries
        // the values, `remove` only the path keys (the device is gone when it is sent).
        let add =
            b"add@/devices/LNXSYSTM:00/LNXSYBUS:00/PNP0C0A:00/power_supply/BAT0\0ACTION=add\0\
DEVPATH=/devices/LNXSYSTM:00/LNXSYBUS:00/PNP0C0A:00/power_supply/BAT0\0SUBSYSTEM=power_supply\0\
POWER_SUPPLY_NAME=BAT0\0POWER_SUPPLY_TYPE=Battery\0POWER_SUPPLY_PRESENT=1\0SEQNUM=1712\0";
        let u = parse_uevent(add).expect("add");
        assert_eq!((u.action, u.name), (UeventAction::Add, "BAT0"));
        let remove = b"remove@/devices/LNXSYSTM:00/LNXSYBUS:00/PNP0C0A:00/power_supply/BAT0\0\
ACTION=remove\0DEVPATH=/devices/LNXSYSTM:00/LNXSYBUS:00/PNP0C0A:00/power_supply/BAT0\0\
SUBSYSTEM=power_supply\0SEQNUM=1713\0";
        let u = parse_uevent(remove).expect("remove");
        assert_eq!((u.action, u.name), (UeventAction::Remove, "BAT0"));
    }

    #[test]
    fn other_subsystems_udev_rebroadcasts_and_garbage_are_ignored() {
        let usb = b"add@/devices/pci0000:00/usb1/1-1\0ACTION=add\0SUBSYSTEM=usb\0SEQNUM=9\0";
        assert_eq!(parse_uevent(usb), None);
        // udevd's group-2 format: magic, then a binary header (libudev/libudev-monitor.c).
        let udev = b"libudev\0\xfe\xed\xca\xfe\x28\0\0\0SUBSYSTEM=power_supply\0";
        assert_eq!(parse_uevent(udev), None);
        for junk in [
            &b""[..],
            b"\0",
            b"@",
            b"change@",
            b"change@relative/path\0SUBSYSTEM=power_supply\0",
            b"CHANGE@/x\0SUBSYSTEM=power_supply\0",
            b"\xff\xfe@/x\0SUBSYSTEM=power_supply\0",
            b"change@/\0SUBSYSTEM=power_supply\0",
        ] {
            assert_eq!(parse_uevent(junk), None, "{junk:?}");
        }
        let mut huge = TEST_POWER_CHANGE.to_vec();
        huge.resize(MAX_UEVENT_MESSAGE + 1, b'x');
        assert_eq!(parse_uevent(&huge), None);
        // Non-UTF-8 values are skipped, not fatal.
        let odd = b"change@/devices/virtual/power_supply/bat\0MODEL=\xff\0SUBSYSTEM=power_supply\0";
        assert_eq!(parse_uevent(odd).map(|u| u.name), Some("bat"));
    }

    #[test]
    fn devd_acpi_notifications() {
        // The notify lines devd.conf(5) matches on ("system" "ACPI", "subsystem" "ACAD"/"CMBAT"), in the
        // form devd(8) passes to clients of its seqpacket socket; ACAD's notify 0x00/0x01 is the
        // adapter's new state (sys/dev/acpica/acpi_acad.c), CMBAT's 0x80 a _BST change (acpi_cmbat.c).
        assert_eq!(
            parse_devd(b"!system=ACPI subsystem=ACAD type=\\_SB_.PCI0.LPC.EC.AC notify=0x01\n"),
            Some(DevdPower::AcLine { online: Some(true) })
        );
        assert_eq!(
            parse_devd(b"!system=ACPI subsystem=ACAD type=\\_SB_.AC notify=0x00"),
            Some(DevdPower::AcLine {
                online: Some(false)
            })
        );
        assert_eq!(
            parse_devd(b"!system=ACPI subsystem=CMBAT type=\\_SB_.PCI0.LPC.EC.BAT0 notify=0x80\n"),
            Some(DevdPower::Battery {
                handle: "\\_SB_.PCI0.LPC.EC.BAT0"
            })
        );
        for other in [
            &b"+uhid0 at bus=0 sernum=\"\" on uhub0"[..],
            b"!system=IFNET subsystem=em0 type=LINK_UP",
            b"!system=ACPI subsystem=Lid type=\\_SB_.LID0 notify=0x00",
            b"!system=ACPI subsystem=CMBAT notify=0x80",
            b"",
            b"!",
            b"\xff!system=ACPI",
        ] {
            assert_eq!(parse_devd(other), None, "{other:?}");
        }
        assert_eq!(
            parse_devd(b"!system=ACPI subsystem=ACAD type=x notify=zz"),
            Some(DevdPower::AcLine { online: None })
        );
    }

    #[test]
    fn diff_names_what_changed() {
        let mut bat = Battery::new("BAT0", Kind::System);
        bat.percentage = Some(50.0);
        let mut ac = PowerSource::new("AC", SourceKind::Mains);
        ac.online = Some(false);
        let before = (vec![bat.clone()], vec![ac.clone()]);
        assert!(diff((&before.0, &before.1), (&before.0, &before.1)).is_empty());

        let mut later = bat.clone();
        later.percentage = Some(49.0);
        let mut plugged = ac.clone();
        plugged.online = Some(true);
        let mouse = Battery::new("hid-1", Kind::Peripheral);
        let after = (vec![later, mouse], vec![plugged]);
        assert_eq!(
            diff((&before.0, &before.1), (&after.0, &after.1)),
            [
                Event::BatteryChanged { id: "BAT0".into() },
                Event::BatteryAdded { id: "hid-1".into() },
                Event::PowerSourceChanged { id: "AC".into() },
            ]
        );
        let gone = diff((&after.0, &after.1), (&[], &[]));
        assert_eq!(
            gone.iter().map(Event::kind).collect::<Vec<_>>(),
            ["battery_removed", "battery_removed", "power_source_changed"]
        );
        assert_eq!(gone[1].id(), Some("hid-1"));
    }
}
