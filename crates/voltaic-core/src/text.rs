//! Untrusted text made safe to print: the one rule every text output of voltaic applies.
//!
//! Device strings come from firmware, from a Bluetooth or USB peripheral that names itself, or from a pasted
//! recording: any of them can hold terminal escape sequences (`ESC ] 52` writes the clipboard, `ESC [ 2 J`
//! clears the screen), a newline that forges an output line, or a bidi override that makes text read
//! backwards (CVE-2021-42574, "Trojan Source"). [`escape`] shows each such character as a visible escape;
//! [`clean_identity`] removes them from the identity strings of the model.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `c` must never reach a terminal as it is: C0 controls (including newline and tab), DEL, C1
/// controls, the bidi embeddings/overrides (U+202A–U+202E) and isolates (U+2066–U+2069), the bidi marks
/// (U+200E, U+200F, U+061C) and the Unicode line and paragraph separators (U+2028, U+2029), which some
/// terminals and editors treat as line breaks.
#[must_use]
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{061c}'
                | '\u{2028}'
                | '\u{2029}'
        )
}

/// `s` with every [`is_unsafe`] character written as a visible escape: `\x1b` for ASCII controls and DEL,
/// `\u{202e}` for the others. Borrowed when there is nothing to escape (the usual case).
///
/// Backslashes are kept as they are (Windows device paths are full of them), so escaping twice changes
/// nothing: `escape(escape(s)) == escape(s)`.
///
/// ```
/// use voltaic_core::text::escape;
/// assert_eq!(escape("M\x1b[2JT"), "M\\x1b[2JT");
/// assert_eq!(escape("a\u{202e}b"), "a\\u{202e}b");
/// assert_eq!(escape("line\nforged"), "line\\x0aforged");
/// ```
#[must_use]
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !is_unsafe(c) {
            out.push(c);
        } else if c.is_ascii() {
            let _ = write!(out, "\\x{:02x}", c as u32);
        } else {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
    Cow::Owned(out)
}

/// An identity string (vendor, model, serial, name) as the model keeps it: [`is_unsafe`] characters and
/// NULs removed, white space trimmed; `None` when nothing is left. UPower cleans the strings it reads from
/// sysfs the same way (`up_device_supply_make_safe_string` in `src/linux/up-device-supply.c` keeps
/// `g_ascii_isprint` bytes); voltaic keeps printable non-ASCII characters, since peripherals name themselves
/// in any script.
/// The raw record keeps the bytes as the OS gave them.
#[must_use]
pub fn clean_identity(s: &str) -> Option<String> {
    let t = s.trim_matches(|c: char| c.is_whitespace() || is_unsafe(c));
    if t.is_empty() {
        return None;
    }
    let cleaned: String = if t.chars().any(is_unsafe) {
        t.chars().filter(|&c| !is_unsafe(c)).collect()
    } else {
        t.to_owned()
    };
    let cleaned = cleaned.trim();
    (!cleaned.is_empty()).then(|| cleaned.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_every_class() {
        assert_eq!(escape("plain ÄÖ 電池"), "plain ÄÖ 電池");
        assert!(matches!(escape("plain"), Cow::Borrowed(_)));
        assert_eq!(escape("\u{7}\u{7f}\u{9b}"), "\\x07\\x7f\\u{9b}");
        assert_eq!(escape("\u{2066}x\u{2069}"), "\\u{2066}x\\u{2069}");
        assert_eq!(escape("a\u{2028}b\r\tc"), "a\\u{2028}b\\x0d\\x09c");
        assert_eq!(escape("\\\\?\\acpi#x"), "\\\\?\\acpi#x");
        let twice = escape("M\x1b]0;x\x07");
        assert_eq!(escape(&twice), twice);
    }

    #[test]
    fn escaped_text_has_no_unsafe_character() {
        for c in (0u32..0x3000).filter_map(char::from_u32) {
            let s = format!("a{c}b");
            assert!(!escape(&s).chars().any(is_unsafe), "{:x}", c as u32);
        }
    }

    #[test]
    fn identity_strings_lose_controls() {
        assert_eq!(
            clean_identity("M\x1b[2J\x1b[HCLEARED\x1b]0;pwned\x07T").as_deref(),
            Some("M[2J[HCLEARED]0;pwnedT")
        );
        assert_eq!(clean_identity(" \0DELL\0\0 ").as_deref(), Some("DELL"));
        assert_eq!(clean_identity("\x1b\n\0"), None);
        assert_eq!(clean_identity("a\u{202e}b").as_deref(), Some("ab"));
        assert_eq!(
            clean_identity("Ünïcode 鼠标").as_deref(),
            Some("Ünïcode 鼠标")
        );
    }
}
