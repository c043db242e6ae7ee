//! Recordings: the files users paste into bug reports, read back into raw records.
//!
//! [`parse_recording`] recognises the form by its content, so `voltaic --replay FILE` needs no flag saying
//! what the file is. A directory laid out like `/sys/class/power_supply` is read by the `voltaic` crate
//! (that is IO), not here.

use crate::decode::Skipped;
use crate::decode::macos;
use crate::record::{self, ParseError, RawDevice};

/// The forms of recording [`parse_recording`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Format {
    /// The `voltaic record` text form ([`crate::record`]).
    Record,
    /// Linux uevent text: `POWER_SUPPLY_*=` lines, one or several devices concatenated.
    LinuxUevent,
    /// FreeBSD / DragonFly `acpiconf -i N` output.
    FreeBsdAcpiconf,
    /// OpenBSD `sysctl hw.sensors…` output and/or `apm` output.
    OpenBsdSensors,
    /// NetBSD `envstat` / `envstat -d DEV` output.
    NetBsdEnvstat,
    /// NetBSD's envsys property list (`envstat -x`, or what `ENVSYS_GETDICTIONARY` returns).
    NetBsdEnvsysXml,
    /// The BatteryQuery tool's dump of Windows `IOCTL_BATTERY_QUERY_*` results.
    WindowsBatteryQuery,
    /// A Windows `Win32_Battery` listing (`wmic … /format:list` or PowerShell `Format-List`), optionally
    /// followed by a `powercfg /batteryreport /xml` report.
    WindowsWin32Battery,
    /// A Windows `powercfg /batteryreport /xml` report.
    WindowsBatteryReport,
    /// An `ioreg -a` property list (`ioreg -r -a -c AppleSmartBattery > battery.plist`), XML or binary.
    MacIoregPlist,
    /// `ioreg` text (`ioreg -rn AppleSmartBattery`, `-brc`, `-l`), or `"Key" = value` lines grepped from it.
    MacIoregText,
}

/// Which form `bytes` is in, judged from the first meaningful line (for ioreg text: from any line, since
/// pasted dumps start with prompts and other output); `None` when it is none we read.
#[must_use]
pub fn detect(bytes: &[u8]) -> Option<Format> {
    let text = String::from_utf8_lossy(bytes);
    // NetBSD's envsys dictionary is a property list like macOS's ioreg -a: told apart by its keys.
    if text.contains("<plist")
        && (text.contains("<key>cur-value</key>") || text.contains("<key>device-properties</key>"))
    {
        return Some(Format::NetBsdEnvsysXml);
    }
    // Windows battery reports are XML too; everything else starting like XML here is an ioreg plist.
    if macos::ioreg::plist_start(bytes).is_some() && !text.contains("<BatteryReport") {
        return Some(Format::MacIoregPlist);
    }
    // Shell prompt lines (`$ envstat -d acpibat0`) are skipped like comments.
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with("$ "))?;
    if first == record::MAGIC {
        Some(Format::Record)
    } else if first.starts_with("POWER_SUPPLY_") || first.starts_with("DEVTYPE=") {
        Some(Format::LinuxUevent)
    } else if first.starts_with("Design capacity:") {
        Some(Format::FreeBsdAcpiconf)
    } else if [
        "hw.sensors.",
        "hw.battery.",
        "hw.power=",
        "Battery state:",
        "Battery charge state:",
        "Battery remaining:",
        "Battery life estimate:",
        "AC adapter state:",
        "A/C adapter state:",
    ]
    .iter()
    .any(|p| first.starts_with(p))
    {
        Some(Format::OpenBsdSensors)
    } else if first.starts_with("Current") && first.contains("Unit")
        || (first.starts_with('[') && first.ends_with(']') && !first.contains(' '))
        || crate::decode::netbsd::looks_like_envstat_line(first)
    {
        Some(Format::NetBsdEnvstat)
    } else if macos::ioreg::looks_like_text(&text) {
        Some(Format::MacIoregText)
    } else {
        use crate::decode::windows::capture::{self, CaptureForm};
        capture::detect(&text).map(|form| match form {
            CaptureForm::BatteryQuery => Format::WindowsBatteryQuery,
            CaptureForm::Win32Battery => Format::WindowsWin32Battery,
            CaptureForm::BatteryReport => Format::WindowsBatteryReport,
        })
    }
}

/// Reads a recording in any form [`detect`] knows.
///
/// # Errors
/// A [`ParseError`] naming the line where the text stops making sense, or saying that the form is not one
/// voltaic reads.
pub fn parse_recording(bytes: &[u8]) -> Result<Vec<RawDevice>, ParseError> {
    read_recording(bytes).map(|r| r.devices)
}

/// A recording read by [`read_recording`]: its devices, and the fields that could not be read.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct Recording {
    /// Every device, with a distinct id.
    pub devices: Vec<RawDevice>,
    /// Fields kept as text because their value could not be read (naming the device and the line): shown
    /// with the skipped devices (`voltaic -v`).
    pub problems: Vec<Skipped>,
}

/// Reads a recording like [`parse_recording`], and also says which fields could not be read. In the
/// `voltaic record` text form and ioreg text, one mangled value (a cut line, a bad escape) is kept as text
/// and listed instead of rejecting the whole recording.
///
/// # Errors
/// As [`parse_recording`].
pub fn read_recording(bytes: &[u8]) -> Result<Recording, ParseError> {
    let mut recording = parse_form(bytes)?;
    if recording.devices.len() > MAX_DEVICES {
        return Err(too_many_devices());
    }
    make_ids_unique(&mut recording.devices);
    Ok(recording)
}

// The device and entry bounds live with the record codec (they apply to uevent text too, which is not
// behind the `replay` feature).
use crate::record::too_many_devices;
pub use crate::record::{MAX_DEVICES, MAX_ENTRIES};

/// Gives every device a distinct id, deterministically: the first keeps its id, a later device with the
/// same id becomes `ID#2`, `ID#3` … (skipping any id the recording already uses). Refresh finds a device
/// by its id, and the viewer keeps one history per id: two `BAT0` records must not become one battery.
pub fn make_ids_unique(devices: &mut [RawDevice]) {
    use std::collections::{HashMap, HashSet};
    let mut taken: HashSet<String> = HashSet::with_capacity(devices.len());
    let mut dups = Vec::new();
    for (i, d) in devices.iter().enumerate() {
        if !taken.insert(d.id.clone()) {
            dups.push(i);
        }
    }
    let mut next: HashMap<String, usize> = HashMap::new();
    for i in dups {
        let base = devices[i].id.clone();
        let n = next.entry(base.clone()).or_insert(2);
        let id = loop {
            let candidate = format!("{base}#{n}");
            *n += 1;
            if taken.insert(candidate.clone()) {
                break candidate;
            }
        };
        devices[i].id = id;
    }
}

/// At most this many lines in a `voltaic record` file, uevent text or `ioreg` text (a full `ioreg -l` is
/// some 100 000): every line can become a value, so the bound keeps the parsed records of any input of up
/// to 32 MiB far below 200 MB.
pub const MAX_LINES: usize = 500_000;

/// At most this many lines of a BSD or Windows tool's output (`acpiconf`, `sysctl hw.sensors`, `apm`,
/// `envstat`, BatteryQuery, Win32_Battery): one machine's output is a few hundred lines, and these
/// parsers keep a richer record per line.
pub const MAX_TOOL_LINES: usize = 20_000;

/// At most this many bytes of an XML form other than an ioreg plist (NetBSD's envsys dictionary, a
/// Windows battery report): both are well below 1 MiB on a real machine; their parsers build a tree.
pub const MAX_XML_BYTES: usize = 8 << 20;

fn parse_form(bytes: &[u8]) -> Result<Recording, ParseError> {
    let form = detect(bytes);
    let (max_lines, max_bytes) = match form {
        Some(Format::MacIoregPlist) => (usize::MAX, usize::MAX),
        Some(Format::Record | Format::LinuxUevent | Format::MacIoregText) => {
            (MAX_LINES, usize::MAX)
        }
        Some(
            Format::NetBsdEnvsysXml | Format::WindowsBatteryReport | Format::WindowsWin32Battery,
        ) => (usize::MAX, MAX_XML_BYTES),
        _ => (MAX_TOOL_LINES, usize::MAX),
    };
    if bytes.len() > max_bytes {
        return Err(ParseError::new(
            0,
            format!(
                "larger than {} MiB: not this form's output for one machine",
                max_bytes >> 20
            ),
        ));
    }
    if max_lines != usize::MAX && bytes.split(|b| *b == b'\n').nth(max_lines).is_some() {
        return Err(ParseError::new(
            max_lines,
            format!("more than {max_lines} lines: not a recording of one machine's power supplies"),
        ));
    }
    let text = String::from_utf8_lossy(bytes);
    let (devices, problems) = match form {
        Some(Format::Record) => record::parse_lenient(&text)?,
        Some(Format::MacIoregText) => macos::ioreg::parse_text_lenient(&text)?,
        _ => (parse_strict(form, bytes, &text)?, Vec::new()),
    };
    Ok(Recording { devices, problems })
}

fn parse_strict(
    form: Option<Format>,
    bytes: &[u8],
    text: &str,
) -> Result<Vec<RawDevice>, ParseError> {
    match form {
        Some(Format::Record) => record::parse(text),
        Some(Format::LinuxUevent) => crate::decode::linux::parse_uevent_text(text),
        Some(Format::FreeBsdAcpiconf) => crate::decode::freebsd::parse_acpiconf(text),
        Some(Format::OpenBsdSensors) => crate::decode::openbsd::parse_sysctl_apm(text),
        Some(Format::NetBsdEnvstat) => crate::decode::netbsd::parse_envstat(text),
        Some(Format::NetBsdEnvsysXml) => crate::decode::netbsd::parse_envsys_xml(text),
        Some(Format::WindowsBatteryQuery) => {
            crate::decode::windows::capture::parse_battery_query(text)
        }
        Some(Format::WindowsWin32Battery) => {
            crate::decode::windows::capture::parse_win32_battery(text)
        }
        Some(Format::WindowsBatteryReport) => {
            Ok(crate::decode::windows::capture::parse_battery_report(text))
        }
        Some(Format::MacIoregPlist) => macos::ioreg::parse_plist(bytes),
        Some(Format::MacIoregText) => macos::ioreg::parse_text(text),
        None => Err(ParseError::new(
            0,
            "not a recording voltaic reads: expected a `voltaic record` file, Linux uevent text \
             (POWER_SUPPLY_* lines), ioreg output (`ioreg -r -a -c AppleSmartBattery`, \
             `ioreg -rn AppleSmartBattery`), acpiconf -i, sysctl hw.sensors / apm or envstat output, \
             or a Windows BatteryQuery dump, Win32_Battery listing or battery report",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_each_form() {
        assert_eq!(
            detect(b"# comment\nvoltaic-record 1\n"),
            Some(Format::Record)
        );
        assert_eq!(
            detect(b"POWER_SUPPLY_NAME=BAT0\n"),
            Some(Format::LinuxUevent)
        );
        assert_eq!(
            detect(b"DEVTYPE=power_supply\nPOWER_SUPPLY_NAME=AC\n"),
            Some(Format::LinuxUevent)
        );
        assert_eq!(
            detect(b"# source: x\nDesign capacity:\t71100 mWh\n"),
            Some(Format::FreeBsdAcpiconf)
        );
        assert_eq!(
            detect(b"hw.sensors.acpibat0.volt0=10.80 VDC (voltage)\n"),
            Some(Format::OpenBsdSensors)
        );
        assert_eq!(
            detect(b"Battery state: high, 90% remaining, unknown life estimate\n"),
            Some(Format::OpenBsdSensors)
        );
        assert_eq!(
            detect(b"# x\n$ envstat -d acpibat0\n        Current  CritMax  WarnMax  WarnMin  CritMin Unit\n"),
            Some(Format::NetBsdEnvstat)
        );
        assert_eq!(detect(b"[acpibat0]\n"), Some(Format::NetBsdEnvstat));
        assert_eq!(
            detect(b"       present:      ON\ndesign voltage:  14.400   V\n"),
            Some(Format::NetBsdEnvstat)
        );
        assert_eq!(
            detect(b"<?xml version=\"1.0\"?>\n<plist version=\"1.0\">\n<dict><key>acpibat0</key><array><dict><key>cur-value</key>"),
            Some(Format::NetBsdEnvsysXml)
        );
        assert_eq!(
            detect(
                b"# source: x\n/usr/sbin/ioreg -arn AppleSmartBattery\n<?xml version=\"1.0\"?>\n"
            ),
            Some(Format::MacIoregPlist)
        );
        assert_eq!(detect(b"bplist00\x01"), Some(Format::MacIoregPlist));
        assert_eq!(
            detect(b"$ ioreg -brc AppleSmartBattery\n+-o AppleSmartBattery  <class AppleSmartBattery>\n"),
            Some(Format::MacIoregText)
        );
        assert_eq!(
            detect(b"  \"CurrentCapacity\" = 34\n"),
            Some(Format::MacIoregText)
        );
        assert_eq!(detect(b"hello"), None);
        assert_eq!(detect(b""), None);
    }

    #[test]
    fn ioreg_plist_replays_and_decodes() {
        let plist = "# source: a test\n<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<plist version=\"1.0\">\n<array>\n<dict>\n\
            <key>IORegistryEntryName</key><string>AppleSmartBattery</string>\n\
            <key>ExternalConnected</key><true/>\n<key>IsCharging</key><false/>\n<key>FullyCharged</key><false/>\n\
            <key>CurrentCapacity</key><integer>80</integer>\n<key>MaxCapacity</key><integer>100</integer>\n\
            <key>Amperage</key><integer>-3</integer>\n</dict>\n</array>\n</plist>\n";
        let devices = parse_recording(plist.as_bytes()).unwrap_or_default();
        let decoded = crate::decode::decode(&devices);
        let b = &decoded.batteries[0];
        assert_eq!(
            (b.id.as_str(), b.percentage),
            ("AppleSmartBattery", Some(80.0))
        );
        assert_eq!(b.state, crate::State::NotCharging);
        // Cut after the percentage: what was read is kept.
        let cut = &plist[..plist.find("<key>Amperage").unwrap_or(0)];
        let devices = parse_recording(cut.as_bytes()).unwrap_or_default();
        assert_eq!(devices[0].record.int("CurrentCapacity"), Some(80));
        // Bad XML names its line.
        let bad = plist.replace("<integer>80</integer>", "<integer>eighty</integer>");
        assert_eq!(
            parse_recording(bad.as_bytes()).err().map(|e| e.line),
            Some(10)
        );
    }

    #[test]
    fn ioreg_text_replays_and_decodes() {
        let text = "$ ioreg -rn AppleSmartBattery\n+-o AppleSmartBattery  <class AppleSmartBattery, id 0x1, registered>\n\
            {\n  \"ExternalConnected\" = No\n  \"CurrentCapacity\" = 5932\n  \"MaxCapacity\" = 6077\n  \
            \"Amperage\" = 18446744073709550084\n  \"Voltage\" = 12000\n  \"AvgTimeToEmpty\" = 65535\n}\n";
        let devices = parse_recording(text.as_bytes()).unwrap_or_default();
        let b = &crate::decode::decode(&devices).batteries[0];
        assert_eq!(b.state, crate::State::Discharging);
        assert_eq!(b.current_a, Some(1.532));
        assert!(b.percentage.is_some_and(|p| (p - 97.6).abs() < 0.1));
        // 65535 is "not available": the estimate is charge ÷ current, never 45 days.
        assert!(b.time_to_empty.is_some_and(|t| t.as_secs() < 5 * 3600));
        // One mangled value (no comma between dictionary entries) keeps the battery: the field is kept
        // as text and listed with its line.
        let recording = read_recording(
            b"  \"CurrentCapacity\" = 34\n  \"BatteryData\" = {\"Ra03\"=0 \"Ra10\"=0}\n",
        )
        .unwrap_or_default();
        assert_eq!(recording.devices[0].record.int("CurrentCapacity"), Some(34));
        assert_eq!(
            recording.devices[0].record.text("BatteryData").as_deref(),
            Some("{\"Ra03\"=0 \"Ra10\"=0}")
        );
        assert_eq!(recording.problems.len(), 1);
        assert!(
            recording.problems[0]
                .reason
                .starts_with("line 2: \"BatteryData\"")
        );
        // Strictly read, it is an error naming the line.
        let err = macos::ioreg::parse_text("  \"BatteryData\" = {\"Ra03\"=0 \"Ra10\"=0}\n").err();
        assert_eq!(err.map(|e| e.line), Some(1));
    }

    /// A binary plist of `levels` arrays, each holding the previous one twice (a "DAG bomb": a few hundred
    /// bytes that expand to 2^levels values), built per Apple's `CFBinaryPList.c` layout.
    fn dag_bomb(levels: u8) -> Vec<u8> {
        let mut out = b"bplist00".to_vec();
        let mut offsets = vec![out.len()];
        out.push(0x09); // object 0: true
        for k in 1..=levels {
            offsets.push(out.len());
            out.extend([0xA2, k - 1, k - 1]); // object k: [k-1, k-1]
        }
        let table = out.len();
        for o in &offsets {
            out.extend(u16::try_from(*o).unwrap().to_be_bytes());
        }
        out.extend([0; 6]);
        out.extend([2, 1]); // offset size, reference size
        out.extend((offsets.len() as u64).to_be_bytes());
        out.extend(u64::from(levels).to_be_bytes()); // top object
        out.extend((table as u64).to_be_bytes());
        out
    }

    #[test]
    fn binary_plist_dag_bomb_is_refused() {
        let bomb = dag_bomb(40);
        assert!(bomb.len() < 400);
        let err = parse_recording(&bomb).err().map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("more than 500000 values once shared objects are expanded")
        );
        // Shared references within the bound still read (and are no power source here).
        let small = parse_recording(&dag_bomb(10)).err().map(|e| e.to_string());
        assert!(small.is_some_and(|e| e.contains("no AppleSmartBattery")));
    }

    #[test]
    fn xml_plist_value_count_is_bounded() {
        let mut xml = String::from("<?xml version=\"1.0\"?>\n<plist version=\"1.0\">\n<array>\n");
        for _ in 0..600_000 {
            xml.push_str("<true/>");
        }
        xml.push_str("</array></plist>\n");
        let err = parse_recording(xml.as_bytes()).err().map(|e| e.to_string());
        assert_eq!(err.as_deref(), Some("line 4: more than 500000 values"));
    }

    #[test]
    fn many_same_named_ioreg_entries_are_named_in_one_pass() {
        let entry = "+-o AppleSmartBattery  <class AppleSmartBattery>\n  {\n    \"CurrentCapacity\" = 5\n  }\n";
        let text = entry.repeat(80_000);
        let devices = macos::ioreg::parse_text(&text).unwrap_or_default();
        assert_eq!(devices.len(), 80_000);
        assert_eq!(devices[79_999].id, "AppleSmartBattery-80000");
        // As a recording it is refused for its device count, saying so.
        let err = parse_recording(text.as_bytes())
            .err()
            .map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.starts_with("more than 1024 devices")));
    }

    #[test]
    fn uevent_device_count_and_size_are_bounded() {
        // 2 000 tiny devices: refused with the reason, before they are all built.
        let text = "POWER_SUPPLY_NAME=x\nPOWER_SUPPLY_TYPE=Battery\n".repeat(2_000);
        let err = parse_recording(text.as_bytes())
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("more than 1024 devices: not a recording of one machine's power supplies")
        );
        // 32 MiB of one-key devices (700 000 of them): refused by its line count.
        let text = "POWER_SUPPLY_NAME=abcdefghijklmnopqrstuvwxyz0123456789012345\n"
            .repeat(32 * 1024 * 1024 / 48);
        let err = parse_recording(text.as_bytes())
            .err()
            .map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("more than 500000 lines")));
        // One device with endless keys.
        let mut text = String::from("POWER_SUPPLY_NAME=BAT0\n");
        for i in 0..20_000 {
            text.push_str("POWER_SUPPLY_K");
            text.push_str(&i.to_string());
            text.push_str("=1\n");
        }
        let err = parse_recording(text.as_bytes())
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("line 10001: more than 10000 entries in one device")
        );
    }

    #[test]
    fn tool_outputs_and_xml_forms_have_their_own_bounds() {
        // 499 000 envstat lines built a 600 MB record; a tool's output of one machine is short.
        let text = format!("[acpibat0]\n{}", "       present:      ON\n".repeat(30_000));
        let err = parse_recording(text.as_bytes())
            .err()
            .map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("more than 20000 lines")));
        let xml = format!(
            "<?xml version=\"1.0\"?>\n<plist version=\"1.0\">\n<dict><key>acpibat0</key><array>{}</array></dict></plist>\n",
            "<dict><key>cur-value</key><integer>1</integer></dict>".repeat(200_000)
        );
        let err = parse_recording(xml.as_bytes()).err().map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("larger than 8 MiB: not this form's output for one machine")
        );
    }

    #[test]
    fn duplicate_ids_become_unique_in_every_form() {
        let uevent = "POWER_SUPPLY_NAME=BAT0\nPOWER_SUPPLY_TYPE=Battery\nPOWER_SUPPLY_CAPACITY=10\n\
                      POWER_SUPPLY_NAME=BAT0\nPOWER_SUPPLY_TYPE=Battery\nPOWER_SUPPLY_CAPACITY=90\n\
                      POWER_SUPPLY_NAME=BAT0#2\nPOWER_SUPPLY_TYPE=Battery\nPOWER_SUPPLY_CAPACITY=50\n";
        let record = "voltaic-record 1\n[linux BAT0]\nPOWER_SUPPLY_CAPACITY = \"10\"\n\
                      [linux BAT0]\nPOWER_SUPPLY_CAPACITY = \"90\"\n[linux BAT0#2]\nPOWER_SUPPLY_CAPACITY = \"50\"\n";
        for text in [uevent, record] {
            let devices = parse_recording(text.as_bytes()).unwrap_or_default();
            let ids: Vec<&str> = devices.iter().map(|d| d.id.as_str()).collect();
            assert_eq!(ids, ["BAT0", "BAT0#3", "BAT0#2"]);
            let decoded = crate::decode::decode(&devices);
            let second = decoded.batteries.iter().find(|b| b.id == "BAT0#3");
            assert_eq!(second.and_then(|b| b.percentage), Some(90.0));
        }
    }

    #[test]
    fn one_bad_value_in_a_record_keeps_the_device() {
        let text = "voltaic-record 1\n[macos AppleSmartBattery]\nCurrentCapacity = 80\nMaxCapacity = 100\n\
                    Serial = <zz>\nName = \"cut short\nDesignCapacity = \"bad \\q escape\"\n";
        let recording = read_recording(text.as_bytes()).unwrap_or_default();
        let d = &recording.devices[0];
        assert_eq!(d.record.int("CurrentCapacity"), Some(80));
        assert_eq!(d.record.text("Serial").as_deref(), Some("<zz>"));
        let lines: Vec<&str> = recording
            .problems
            .iter()
            .map(|p| p.reason.split(':').next().unwrap_or(""))
            .collect();
        assert_eq!(lines, ["line 5", "line 6", "line 7"]);
        assert!(
            recording
                .problems
                .iter()
                .all(|p| p.id == "AppleSmartBattery")
        );
        let b = &crate::decode::decode(&recording.devices).batteries[0];
        assert_eq!(b.percentage, Some(80.0));
        // The strict reader still refuses it.
        assert_eq!(record::parse(text).err().map(|e| e.line), Some(5));
    }

    #[test]
    fn unknown_form_is_a_clear_error() {
        let err = parse_recording(b"\x00\x01garbage")
            .err()
            .map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("not a recording voltaic reads")));
    }
}
