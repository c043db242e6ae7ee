//! Recordings: the files users paste into bug reports, read back into raw records.
//!
//! [`parse_recording`] recognises the form by its content, so `voltaic --replay FILE` needs no flag saying
//! what the file is. A directory laid out like `/sys/class/power_supply` is read by the `voltaic` crate
//! (that is IO), not here.

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
}

/// Which form `bytes` is in, judged from the first meaningful line; `None` when it is none we read.
#[must_use]
pub fn detect(bytes: &[u8]) -> Option<Format> {
    let text = String::from_utf8_lossy(bytes);
    // NetBSD's envsys dictionary is a property list like macOS's ioreg -a: told apart by its keys.
    if text.contains("<plist")
        && (text.contains("<key>cur-value</key>") || text.contains("<key>device-properties</key>"))
    {
        return Some(Format::NetBsdEnvsysXml);
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
    } else {
        None
    }
}

/// Reads a recording in any form [`detect`] knows.
///
/// # Errors
/// A [`ParseError`] naming the line where the text stops making sense, or saying that the form is not one
/// voltaic reads.
pub fn parse_recording(bytes: &[u8]) -> Result<Vec<RawDevice>, ParseError> {
    let text = String::from_utf8_lossy(bytes);
    match detect(bytes) {
        Some(Format::Record) => record::parse(&text),
        Some(Format::LinuxUevent) => crate::decode::linux::parse_uevent_text(&text),
        Some(Format::FreeBsdAcpiconf) => crate::decode::freebsd::parse_acpiconf(&text),
        Some(Format::OpenBsdSensors) => crate::decode::openbsd::parse_sysctl_apm(&text),
        Some(Format::NetBsdEnvstat) => crate::decode::netbsd::parse_envstat(&text),
        Some(Format::NetBsdEnvsysXml) => crate::decode::netbsd::parse_envsys_xml(&text),
        None => Err(ParseError::new(
            0,
            "not a recording voltaic reads: expected a `voltaic record` file, Linux uevent text \
             (POWER_SUPPLY_* lines), acpiconf -i, sysctl hw.sensors / apm, or envstat output",
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
        assert_eq!(detect(b"hello"), None);
        assert_eq!(detect(b""), None);
    }

    #[test]
    fn unknown_form_is_a_clear_error() {
        let err = parse_recording(b"\x00\x01garbage")
            .err()
            .map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("not a recording voltaic reads")));
    }
}
