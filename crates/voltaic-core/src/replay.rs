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
    /// The BatteryQuery tool's dump of Windows `IOCTL_BATTERY_QUERY_*` results.
    WindowsBatteryQuery,
    /// A Windows `Win32_Battery` listing (`wmic … /format:list` or PowerShell `Format-List`), optionally
    /// followed by a `powercfg /batteryreport /xml` report.
    WindowsWin32Battery,
    /// A Windows `powercfg /batteryreport /xml` report.
    WindowsBatteryReport,
}

/// Which form `bytes` is in, judged from the first meaningful line; `None` when it is none we read.
#[must_use]
pub fn detect(bytes: &[u8]) -> Option<Format> {
    let text = String::from_utf8_lossy(bytes);
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))?;
    if first == record::MAGIC {
        Some(Format::Record)
    } else if first.starts_with("POWER_SUPPLY_") || first.starts_with("DEVTYPE=") {
        Some(Format::LinuxUevent)
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
    let text = String::from_utf8_lossy(bytes);
    match detect(bytes) {
        Some(Format::Record) => record::parse(&text),
        Some(Format::LinuxUevent) => crate::decode::linux::parse_uevent_text(&text),
        Some(Format::WindowsBatteryQuery) => {
            crate::decode::windows::capture::parse_battery_query(&text)
        }
        Some(Format::WindowsWin32Battery) => {
            crate::decode::windows::capture::parse_win32_battery(&text)
        }
        Some(Format::WindowsBatteryReport) => {
            Ok(crate::decode::windows::capture::parse_battery_report(&text))
        }
        None => Err(ParseError::new(
            0,
            "not a recording voltaic reads: expected a `voltaic record` file, Linux uevent text \
             (POWER_SUPPLY_* lines), or a Windows BatteryQuery dump, Win32_Battery listing or \
             battery report",
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
