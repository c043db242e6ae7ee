//! The power notifications of OpenBSD (apm(4) events through kqueue) and NetBSD (power(4) events),
//! decoded: which event the kernel posted, and whether the watcher should read again.
//!
//! Pure like [`crate::event`]: the shells hand over the kevent `data` word, the 32 bytes of a
//! `power_event_t` and the event's dictionary text; nothing here panics on any input, and what is not
//! understood comes back as a [`BadEvent`] saying why.

use std::fmt;

use crate::decode::netbsd::plist;
use crate::record::Value;

/// A notification that could not be understood, and why. The watcher treats it as "something
/// happened": reading again costs one read, missing a change costs a stale display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadEvent(pub String);

impl fmt::Display for BadEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadEvent {}

// OpenBSD: apm(4) events.

/// The APM event types of OpenBSD's `machine/apmvar.h` (`APM_GET_PM_EVENT` results, the names after
/// `APM_`), as the acpi(4) and apm(4) drivers post them to `/dev/apm` readers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ApmEventKind {
    /// `APM_NOEVENT` (0): nothing; also what a freshly added kevent reports before any event.
    NoEvent,
    /// `APM_STANDBY_REQ` (1).
    StandbyRequest,
    /// `APM_SUSPEND_REQ` (2).
    SuspendRequest,
    /// `APM_NORMAL_RESUME` (3): the machine woke up (acpi(4) posts it after every resume).
    NormalResume,
    /// `APM_CRIT_RESUME` (4): a suspend and resume happened without the driver.
    CriticalResume,
    /// `APM_BATTERY_LOW` (5).
    BatteryLow,
    /// `APM_POWER_CHANGE` (6): the AC adapter or a battery changed (acpiac, acpibat and acpisbs post
    /// it on their ACPI notifications).
    PowerChange,
    /// `APM_UPDATE_TIME` (7).
    UpdateTime,
    /// `APM_CRIT_SUSPEND_REQ` (8).
    CriticalSuspendRequest,
    /// `APM_USER_STANDBY_REQ` (9).
    UserStandbyRequest,
    /// `APM_USER_SUSPEND_REQ` (10): a suspend key was pressed.
    UserSuspendRequest,
    /// `APM_SYS_STANDBY_RESUME` (11).
    StandbyResume,
    /// `APM_CAPABILITY_CHANGE` (12, APM 1.2).
    CapabilityChange,
}

impl ApmEventKind {
    /// The header's name of the type (`APM_POWER_CHANGE`).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            ApmEventKind::NoEvent => "APM_NOEVENT",
            ApmEventKind::StandbyRequest => "APM_STANDBY_REQ",
            ApmEventKind::SuspendRequest => "APM_SUSPEND_REQ",
            ApmEventKind::NormalResume => "APM_NORMAL_RESUME",
            ApmEventKind::CriticalResume => "APM_CRIT_RESUME",
            ApmEventKind::BatteryLow => "APM_BATTERY_LOW",
            ApmEventKind::PowerChange => "APM_POWER_CHANGE",
            ApmEventKind::UpdateTime => "APM_UPDATE_TIME",
            ApmEventKind::CriticalSuspendRequest => "APM_CRIT_SUSPEND_REQ",
            ApmEventKind::UserStandbyRequest => "APM_USER_STANDBY_REQ",
            ApmEventKind::UserSuspendRequest => "APM_USER_SUSPEND_REQ",
            ApmEventKind::StandbyResume => "APM_SYS_STANDBY_RESUME",
            ApmEventKind::CapabilityChange => "APM_CAPABILITY_CHANGE",
        }
    }

    fn from_type(t: u16) -> Option<ApmEventKind> {
        Some(match t {
            0 => ApmEventKind::NoEvent,
            1 => ApmEventKind::StandbyRequest,
            2 => ApmEventKind::SuspendRequest,
            3 => ApmEventKind::NormalResume,
            4 => ApmEventKind::CriticalResume,
            5 => ApmEventKind::BatteryLow,
            6 => ApmEventKind::PowerChange,
            7 => ApmEventKind::UpdateTime,
            8 => ApmEventKind::CriticalSuspendRequest,
            9 => ApmEventKind::UserStandbyRequest,
            10 => ApmEventKind::UserSuspendRequest,
            11 => ApmEventKind::StandbyResume,
            12 => ApmEventKind::CapabilityChange,
            _ => return None,
        })
    }
}

/// One APM event as a kqueue `EVFILT_READ` on `/dev/apm` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ApmEvent {
    /// The event type.
    pub kind: ApmEventKind,
    /// The driver's running event count (15 bits, wrapping), which apmd(8) ignores too.
    pub index: u16,
}

impl ApmEvent {
    /// Whether the watcher should read the batteries again: for every event but `APM_NOEVENT`.
    ///
    /// Not only for `APM_POWER_CHANGE`: the read filter keeps the *first* event posted since the last
    /// retrieval and drops the rest (`acpi_filtread` in `sys/dev/acpi/acpi_apm.c` sets `kn_data` only
    /// while it is 0), so a power change right after a suspend key or a resume arrives as that event.
    #[must_use]
    pub fn needs_reading(&self) -> bool {
        self.kind != ApmEventKind::NoEvent
    }
}

/// Decodes the `data` of a kevent from `/dev/apm`: `APM_EVENT_COMPOSE(type, index)` of
/// `machine/apmvar.h`, that is `((index & 0x7fff) << 16) | (type & 0xffff)`, as `acpi_record_event`
/// (`sys/dev/acpi/acpi.c`) and apm(4) post it; apmd(8) takes it apart with `APM_EVENT_TYPE` and
/// `APM_EVENT_INDEX`.
///
/// # Errors
/// A [`BadEvent`] for a value no composition gives (negative, or above 31 bits) and for a type the
/// header does not define.
pub fn parse_apm_event(data: i64) -> Result<ApmEvent, BadEvent> {
    let Ok(word) = u32::try_from(data) else {
        return Err(BadEvent(format!(
            "APM event data {data} is not a composed event (0 to 0x7fffffff)"
        )));
    };
    if word > 0x7fff_ffff {
        return Err(BadEvent(format!(
            "APM event data {word:#x} is not a composed event (the index has 15 bits)"
        )));
    }
    let t = (word & 0xffff) as u16;
    let index = (word >> 16) as u16;
    let kind = ApmEventKind::from_type(t)
        .ok_or_else(|| BadEvent(format!("unknown APM event type {t:#06x} (index {index})")))?;
    Ok(ApmEvent { kind, index })
}

// NetBSD: power(4) events.

/// `POWER_EVENT_MSG_SIZE` (`sys/sys/power.h`): every `power_event_t` read from `/dev/power` is
/// exactly this long (`sysmonread_power` refuses any other read size with `EINVAL`).
pub const POWER_EVENT_MSG_SIZE: usize = 32;

/// The `pev_type` of a `power_event_t` (`sys/sys/power.h`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PowerEventType {
    /// `POWER_EVENT_SWITCH_STATE_CHANGE` (0): a power switch (button, lid, AC adapter, hotkey).
    Switch,
    /// `POWER_EVENT_ENVSYS_STATE_CHANGE` (1): an envsys(4) sensor crossed a limit or changed state.
    Envsys,
}

/// Decodes one `power_event_t` read from `/dev/power` (native byte order): its `pev_type`. The rest
/// of the record is only filled in by kernels built with `COMPAT_40` (`sysmon_power_daemon_task` in
/// `sys/dev/sysmon/sysmon_power.c`); what the event is about comes with its dictionary
/// ([`parse_power_dictionary`]).
///
/// # Errors
/// A [`BadEvent`] when the record is not 32 bytes or its type is neither 0 nor 1.
pub fn parse_power_event(record: &[u8]) -> Result<PowerEventType, BadEvent> {
    if record.len() != POWER_EVENT_MSG_SIZE {
        return Err(BadEvent(format!(
            "a power event is {POWER_EVENT_MSG_SIZE} bytes, this one {}",
            record.len()
        )));
    }
    let mut word = [0u8; 4];
    word.copy_from_slice(&record[..4]);
    match i32::from_ne_bytes(word) {
        0 => Ok(PowerEventType::Switch),
        1 => Ok(PowerEventType::Envsys),
        t => Err(BadEvent(format!("unknown power event type {t}"))),
    }
}

/// What a power event's dictionary (`POWER_EVENT_RECVDICT`) says, as `sysmon_power_make_dictionary`
/// (`sys/dev/sysmon/sysmon_power.c`) fills it in and powerd(8) reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PowerEventInfo {
    /// `powerd-script-name`: the switch type (`acadapter`, `lid_switch`, `power_button`, …) or the
    /// sensor type (`sensor_battery`, `sensor_temperature`, …); powerd runs the script of that name.
    pub script: String,
    /// `powerd-event-name`: `pressed`/`released` for switches (for the AC adapter: pressed is
    /// "unplugged", power.h), `state-changed`, `critical-capacity`, `normal`, … for sensors.
    pub event: String,
    /// `driver-name`: the device (`acpiacad0`, `acpibat0`).
    pub driver: Option<String>,
    /// `sensor-name`, for envsys events.
    pub sensor: Option<String>,
}

impl PowerEventInfo {
    /// Whether the event can mean a battery or power source changed: the AC adapter switch, and
    /// envsys events of every sensor type but those that never describe a battery or charger
    /// (temperature, fan, drive, resistance). Lid, buttons and hotkeys are not.
    #[must_use]
    pub fn about_power(&self) -> bool {
        match self.script.as_str() {
            "acadapter" => true,
            "sensor_temperature" | "sensor_fan" | "sensor_drive" | "sensor_resistance" => false,
            s => s.starts_with("sensor_"),
        }
    }
}

/// The longest power event dictionary read (a real one is a few hundred bytes).
pub const MAX_POWER_DICTIONARY: usize = 16 * 1024;

/// Reads the externalized dictionary of a power event (proplib XML).
///
/// # Errors
/// A [`BadEvent`] when the text is too long, not a property list dictionary, or has no
/// `powerd-script-name` / `powerd-event-name` string (the kernel leaves a name out for a type its
/// tables do not know).
pub fn parse_power_dictionary(text: &str) -> Result<PowerEventInfo, BadEvent> {
    if text.len() > MAX_POWER_DICTIONARY {
        return Err(BadEvent(format!(
            "a power event dictionary of {} bytes is not one (at most {MAX_POWER_DICTIONARY})",
            text.len()
        )));
    }
    let root = plist::parse(text).map_err(|e| BadEvent(format!("power event dictionary: {e}")))?;
    let Some(dict) = root.as_dict() else {
        return Err(BadEvent(
            "a power event dictionary is not a dictionary".into(),
        ));
    };
    let text_of = |key: &str| match dict.get(key) {
        Some(Value::Str(s)) => Some(s.clone()),
        _ => None,
    };
    let required = |key: &str| {
        text_of(key).ok_or_else(|| BadEvent(format!("power event dictionary without {key}")))
    };
    Ok(PowerEventInfo {
        script: required("powerd-script-name")?,
        event: required("powerd-event-name")?,
        driver: text_of("driver-name"),
        sensor: text_of("sensor-name"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `APM_EVENT_COMPOSE(t, i)` of `machine/apmvar.h`, written out for the tests.
    fn compose(t: u32, i: u32) -> i64 {
        i64::from(((i & 0x7fff) << 16) | (t & 0xffff))
    }

    #[test]
    fn apm_events_decode_by_type_and_index() {
        let e = parse_apm_event(compose(6, 1)).expect("a power change");
        assert_eq!(
            e,
            ApmEvent {
                kind: ApmEventKind::PowerChange,
                index: 1
            }
        );
        assert_eq!(e.kind.name(), "APM_POWER_CHANGE");
        assert!(e.needs_reading());
        let resume = parse_apm_event(compose(3, 0x7fff)).expect("a resume");
        assert_eq!(resume.kind, ApmEventKind::NormalResume);
        assert_eq!(resume.index, 0x7fff);
        // The index wraps at 15 bits in the composition: index 0x8001 arrives as 1.
        assert_eq!(parse_apm_event(compose(10, 0x8001)).map(|e| e.index), Ok(1));
        for t in 0..=12u32 {
            let kind = parse_apm_event(compose(t, 7))
                .expect("every header type")
                .kind;
            assert!(kind.name().starts_with("APM_"));
            assert_eq!(
                ApmEvent { kind, index: 7 }.needs_reading(),
                t != 0,
                "type {t}"
            );
        }
    }

    #[test]
    fn a_fresh_kevent_without_data_is_no_event() {
        // acpi_filtread returns 1 with kn_data 0 when the knote is first attached.
        let e = parse_apm_event(0).expect("APM_NOEVENT");
        assert_eq!(e.kind, ApmEventKind::NoEvent);
        assert!(!e.needs_reading());
    }

    #[test]
    fn impossible_apm_values_are_reasons() {
        let unknown = parse_apm_event(compose(0x0d, 2)).expect_err("type 13 is reserved");
        assert!(unknown.0.contains("0x000d"), "{unknown}");
        assert!(parse_apm_event(compose(0x0200, 2)).is_err(), "OEM events");
        assert!(parse_apm_event(-1).is_err());
        assert!(parse_apm_event(0x8000_0000).is_err());
        assert!(parse_apm_event(i64::MAX).is_err());
        assert!(parse_apm_event(i64::MIN).is_err());
    }

    fn power_event(t: i32) -> [u8; POWER_EVENT_MSG_SIZE] {
        let mut record = [0u8; POWER_EVENT_MSG_SIZE];
        record[..4].copy_from_slice(&t.to_ne_bytes());
        record
    }

    #[test]
    fn power_event_records_decode_their_type() {
        assert_eq!(
            parse_power_event(&power_event(0)),
            Ok(PowerEventType::Switch)
        );
        assert_eq!(
            parse_power_event(&power_event(1)),
            Ok(PowerEventType::Envsys)
        );
        assert!(parse_power_event(&power_event(2)).is_err());
        assert!(parse_power_event(&power_event(-1)).is_err());
        assert!(parse_power_event(&[0u8; 31]).is_err());
        assert!(parse_power_event(&[0u8; 33]).is_err());
        assert!(parse_power_event(&[]).is_err());
    }

    /// A dictionary as proplib externalizes it (`prop_dictionary_externalize`: XML plist, keys in
    /// sorted order), with the keys `sysmon_power_make_dictionary` sets.
    fn dictionary(pairs: &[(&str, &str)]) -> String {
        let mut body = String::new();
        for (k, v) in pairs {
            for part in ["\t<key>", k, "</key>\n\t<string>", v, "</string>\n"] {
                body.push_str(part);
            }
        }
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE plist PUBLIC \"-//Apple Computer//DTD \
             PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n<plist version=\"1.0\">\n\
             <dict>\n{body}</dict>\n</plist>\n"
        )
    }

    #[test]
    fn ac_adapter_switch_is_about_power() {
        let info = parse_power_dictionary(&dictionary(&[
            ("driver-name", "acpiacad0"),
            ("power-type", "pswitch"),
            ("powerd-event-name", "released"),
            ("powerd-script-name", "acadapter"),
        ]))
        .expect("a switch dictionary");
        assert_eq!(info.script, "acadapter");
        assert_eq!(info.event, "released");
        assert_eq!(info.driver.as_deref(), Some("acpiacad0"));
        assert_eq!(info.sensor, None);
        assert!(info.about_power());
    }

    #[test]
    fn battery_sensor_events_are_about_power_and_others_not() {
        let battery = parse_power_dictionary(&dictionary(&[
            ("driver-name", "acpibat0"),
            ("power-type", "envsys"),
            ("powerd-event-name", "critical-capacity"),
            ("powerd-script-name", "sensor_battery"),
            ("sensor-name", "charge"),
            ("state-description", "critical"),
        ]))
        .expect("an envsys dictionary");
        assert_eq!(battery.sensor.as_deref(), Some("charge"));
        assert!(battery.about_power());
        for (script, power) in [
            ("lid_switch", false),
            ("power_button", false),
            ("sleep_button", false),
            ("hotkey_button", false),
            ("sensor_temperature", false),
            ("sensor_fan", false),
            ("sensor_drive", false),
            ("sensor_indicator", true),
            ("sensor_power", true),
            ("sensor_voltage", true),
        ] {
            let info = parse_power_dictionary(&dictionary(&[
                ("powerd-event-name", "state-changed"),
                ("powerd-script-name", script),
            ]))
            .expect("a dictionary");
            assert_eq!(info.about_power(), power, "{script}");
        }
    }

    #[test]
    fn broken_dictionaries_are_reasons() {
        let missing = parse_power_dictionary(&dictionary(&[("powerd-event-name", "pressed")]))
            .expect_err("no script name");
        assert!(missing.0.contains("powerd-script-name"), "{missing}");
        assert!(parse_power_dictionary("").is_err());
        assert!(parse_power_dictionary("<plist><array/></plist>").is_err());
        assert!(parse_power_dictionary("<plist><dict><key>a</key>").is_err());
        let huge = "x".repeat(MAX_POWER_DICTIONARY + 1);
        assert!(parse_power_dictionary(&huge).is_err());
        // A name that is not a string is not taken.
        let wrong = "<plist><dict><key>powerd-script-name</key><integer>4</integer>\
                     <key>powerd-event-name</key><string>pressed</string></dict></plist>";
        assert!(parse_power_dictionary(wrong).is_err());
    }
}
