//! The raw record: what the OS said about one device, in the OS's own key names, and its text form.
//!
//! A shell reads one [`RawDevice`] per device; a decoder in [`crate::decode`] turns it into the model. The
//! text form (`voltaic record` prints it, `--replay` reads it) lets any user's machine be replayed anywhere:
//!
//! ```text
//! voltaic-record 1
//! # anything after '#' at the start of a line is a comment
//! [linux BAT0]
//! POWER_SUPPLY_STATUS = "Not charging"
//! POWER_SUPPLY_CAPACITY = "94"
//! [macos AppleSmartBattery]
//! CurrentCapacity = 80
//! Amperage = -1532
//! FullyCharged = false
//! BatteryData = {
//!   DesignCapacity = 4563
//!   CellVoltage = [
//!     4101
//!     4099
//!   ]
//! }
//! Serial = <0a1b>
//! ```
//!
//! Values are a quoted string (`"…"`, with `\\`, `\"`, `\n`, `\t`, `\u{…}` escapes), an integer, a float, `true` /
//! `false`, hex bytes in `<…>`, a `{` … `}` dictionary or a `[` … `]` array (one element per line). A value
//! that is none of these is read as bare text to the end of the line, so a hand-edited record stays usable.

use std::fmt::{self, Write as _};

use crate::decode::Skipped;

/// The operating system whose vocabulary a record speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Os {
    /// Linux `power_supply` class (uevent keys).
    Linux,
    /// macOS / iOS IOKit registry (AppleSmartBattery properties) or the IOPowerSources API.
    MacOs,
    /// Windows battery IOCTLs.
    Windows,
    /// FreeBSD and DragonFly `/dev/acpi` battery ioctls.
    FreeBsd,
    /// OpenBSD `hw.sensors` and apm.
    OpenBsd,
    /// NetBSD envsys (sysmon) dictionaries.
    NetBsd,
}

impl Os {
    /// All systems, in a fixed order.
    pub const ALL: [Os; 6] = [
        Os::Linux,
        Os::MacOs,
        Os::Windows,
        Os::FreeBsd,
        Os::OpenBsd,
        Os::NetBsd,
    ];

    /// The word used in the record text form (`linux`, `macos`, …).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Os::Linux => "linux",
            Os::MacOs => "macos",
            Os::Windows => "windows",
            Os::FreeBsd => "freebsd",
            Os::OpenBsd => "openbsd",
            Os::NetBsd => "netbsd",
        }
    }

    /// The system named by `word` (as printed by [`Os::as_str`]; `dragonfly` reads as FreeBSD).
    #[must_use]
    pub fn parse(word: &str) -> Option<Os> {
        match word {
            "dragonfly" => Some(Os::FreeBsd),
            "ios" => Some(Os::MacOs),
            _ => Os::ALL.into_iter().find(|os| os.as_str() == word),
        }
    }
}

/// One raw value, typed as the OS typed it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Value {
    /// Text (every Linux value is text, as sysfs gives it).
    Str(String),
    /// A signed integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// Raw bytes.
    Data(Vec<u8>),
    /// An ordered list.
    Array(Vec<Value>),
    /// A nested dictionary.
    Dict(Record),
}

impl Value {
    /// The value as text: strings as they are, numbers and booleans in decimal / `true`; `None` for the rest.
    #[must_use]
    pub fn as_text(&self) -> Option<std::borrow::Cow<'_, str>> {
        use std::borrow::Cow;
        match self {
            Value::Str(s) => Some(Cow::Borrowed(s)),
            Value::Int(i) => Some(Cow::Owned(i.to_string())),
            Value::Float(f) => Some(Cow::Owned(f.to_string())),
            Value::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
            _ => None,
        }
    }

    /// The value as an integer: integers, integral floats, and text holding a decimal integer.
    #[must_use]
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Float(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15 => {
                Some(*f as i64)
            }
            Value::Str(s) => s.trim().parse().ok(),
            Value::Bool(b) => Some(i64::from(*b)),
            _ => None,
        }
    }

    /// The value as a finite float: numbers, and text holding a decimal number.
    #[must_use]
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            Value::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
        .filter(|f: &f64| f.is_finite())
    }

    /// The value as a boolean: booleans, 0/1, and the words `yes`/`no`/`true`/`false` in any case.
    #[must_use]
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            Value::Int(0) => Some(false),
            Value::Int(1) => Some(true),
            Value::Str(s) => match s.trim().to_ascii_lowercase().as_str() {
                "yes" | "true" | "1" => Some(true),
                "no" | "false" | "0" => Some(false),
                _ => None,
            },
            _ => None,
        }
    }

    /// The nested dictionary, if this is one.
    #[must_use]
    pub fn as_dict(&self) -> Option<&Record> {
        match self {
            Value::Dict(d) => Some(d),
            _ => None,
        }
    }

    /// The elements, if this is an array.
    #[must_use]
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }
}

impl Value {
    fn is_container(&self) -> bool {
        matches!(self, Value::Array(a) if !a.is_empty())
            || matches!(self, Value::Dict(d) if !d.is_empty())
    }
}

/// Dropping a value nested however deep (a library user can build one) uses a heap stack, not the call
/// stack: children are moved out and dropped one level at a time. Values without nested containers (every
/// Linux record) return at once.
impl Drop for Value {
    fn drop(&mut self) {
        let children = match self {
            Value::Array(items) if items.iter().any(Value::is_container) => std::mem::take(items),
            Value::Dict(record) if record.entries.iter().any(|(_, v)| v.is_container()) => {
                std::mem::take(&mut record.entries)
                    .into_iter()
                    .map(|(_, v)| v)
                    .collect()
            }
            _ => return,
        };
        let mut stack = children;
        while let Some(mut value) = stack.pop() {
            match &mut value {
                Value::Array(items) => stack.append(items),
                Value::Dict(record) => stack.extend(record.entries.drain(..).map(|(_, v)| v)),
                _ => {}
            }
        }
    }
}

/// An ordered map from the OS's key names to raw values. Duplicate keys are kept; lookups take the last.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Record {
    entries: Vec<(String, Value)>,
}

impl Record {
    /// An empty record.
    #[must_use]
    pub fn new() -> Self {
        Record::default()
    }

    /// Appends `key = value` (a repeated key is kept; lookups see the last one).
    pub fn push(&mut self, key: impl Into<String>, value: Value) {
        self.entries.push((key.into(), value));
    }

    /// Sets `key` to `value`, replacing every earlier entry with that key.
    pub fn set(&mut self, key: impl Into<String>, value: Value) {
        let key = key.into();
        self.entries.retain(|(k, _)| *k != key);
        self.entries.push((key, value));
    }

    /// The value of `key` (the last one, when the OS repeated it).
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.entries
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// Whether `key` is present.
    #[must_use]
    pub fn contains(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// `key` as text (see [`Value::as_text`]).
    #[must_use]
    pub fn text(&self, key: &str) -> Option<std::borrow::Cow<'_, str>> {
        self.get(key).and_then(Value::as_text)
    }

    /// `key` as an integer (see [`Value::as_int`]).
    #[must_use]
    pub fn int(&self, key: &str) -> Option<i64> {
        self.get(key).and_then(Value::as_int)
    }

    /// `key` as a finite float (see [`Value::as_f64`]).
    #[must_use]
    pub fn float(&self, key: &str) -> Option<f64> {
        self.get(key).and_then(Value::as_f64)
    }

    /// `key` as a boolean (see [`Value::as_bool`]).
    #[must_use]
    pub fn bool(&self, key: &str) -> Option<bool> {
        self.get(key).and_then(Value::as_bool)
    }

    /// `key` as a nested dictionary.
    #[must_use]
    pub fn dict(&self, key: &str) -> Option<&Record> {
        self.get(key).and_then(Value::as_dict)
    }

    /// Every entry in order.
    #[must_use]
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&str, &Value)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The number of entries.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the record has no entries.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl FromIterator<(String, Value)> for Record {
    fn from_iter<I: IntoIterator<Item = (String, Value)>>(iter: I) -> Self {
        Record {
            entries: iter.into_iter().collect(),
        }
    }
}

/// One device's raw record, with the OS it came from and the OS's name for the device.
#[derive(Debug, Clone, PartialEq)]
pub struct RawDevice {
    /// Whose vocabulary the record uses.
    pub os: Os,
    /// The OS's name for the device (`BAT0`, a device path, `acpibat0`).
    pub id: String,
    /// What the OS said.
    pub record: Record,
}

impl RawDevice {
    /// A device record.
    #[must_use]
    pub fn new(os: Os, id: impl Into<String>, record: Record) -> Self {
        RawDevice {
            os,
            id: id.into(),
            record,
        }
    }
}

/// A recording that could not be read, with the 1-based line where reading stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// The 1-based line number (0 when the problem is not tied to a line).
    pub line: usize,
    /// What was wrong.
    pub message: String,
}

impl ParseError {
    /// An error at `line`.
    #[must_use]
    pub fn new(line: usize, message: impl Into<String>) -> Self {
        ParseError {
            line,
            message: message.into(),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The message may quote the recording: shown through the one escaping rule.
        let message = crate::text::escape(&self.message);
        if self.line == 0 {
            f.write_str(&message)
        } else {
            write!(f, "line {}: {message}", self.line)
        }
    }
}

impl std::error::Error for ParseError {}

/// The first line of every record file.
pub const MAGIC: &str = "voltaic-record 1";

/// Prints devices in the record text form (see the module docs). [`parse`] reads it back unchanged.
#[must_use]
pub fn print(devices: &[RawDevice]) -> String {
    let mut out = String::new();
    out.push_str(MAGIC);
    out.push('\n');
    for device in devices {
        let _ = write!(out, "[{} ", device.os.as_str());
        if is_plain_id(&device.id) {
            out.push_str(&device.id);
        } else {
            quote(&mut out, &device.id);
        }
        out.push_str("]\n");
        print_entries(&mut out, &device.record);
    }
    out
}

/// One open container of the printer: its remaining entries or items, and its nesting depth.
enum Open<'a> {
    Entries(std::slice::Iter<'a, (String, Value)>, usize),
    Items(std::slice::Iter<'a, Value>, usize),
}

/// Prints a record's entries with an explicit stack, so a value nested however deep (a library user can
/// build one) never exhausts the call stack.
fn print_entries(out: &mut String, record: &Record) {
    let mut stack = vec![Open::Entries(record.entries.iter(), 0)];
    while let Some(top) = stack.last_mut() {
        let (value, depth) = match top {
            Open::Entries(entries, depth) => {
                let depth = *depth;
                let Some((key, value)) = entries.next() else {
                    stack.pop();
                    close(out, &stack, '}');
                    continue;
                };
                indent(out, depth);
                if is_plain_key(key) {
                    out.push_str(key);
                } else {
                    quote(out, key);
                }
                out.push_str(" = ");
                (value, depth)
            }
            Open::Items(items, depth) => {
                let depth = *depth;
                let Some(value) = items.next() else {
                    stack.pop();
                    close(out, &stack, ']');
                    continue;
                };
                indent(out, depth);
                (value, depth)
            }
        };
        match value {
            Value::Dict(d) => {
                out.push_str("{\n");
                stack.push(Open::Entries(d.entries.iter(), depth + 1));
            }
            Value::Array(items) => {
                out.push_str("[\n");
                stack.push(Open::Items(items.iter(), depth + 1));
            }
            scalar => {
                print_scalar(out, scalar);
                out.push('\n');
            }
        }
    }
}

/// Closes the container just finished (`}` or `]` on its own line), unless it was the device's record.
fn close(out: &mut String, stack: &[Open<'_>], bracket: char) {
    if let Some(parent) = stack.last() {
        let depth = match parent {
            Open::Entries(_, d) | Open::Items(_, d) => *d,
        };
        indent(out, depth);
        out.push(bracket);
        out.push('\n');
    }
}

fn print_scalar(out: &mut String, value: &Value) {
    match value {
        Value::Str(s) => quote(out, s),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f) => {
            // `{:?}` always keeps a '.' or exponent, so a float reads back as a float; `inf`, `-inf`
            // and `NaN` are read back as floats too.
            let _ = write!(out, "{f:?}");
        }
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Data(bytes) => {
            out.push('<');
            for b in bytes {
                let _ = write!(out, "{b:02x}");
            }
            out.push('>');
        }
        // Containers are opened by `print_entries`.
        Value::Dict(_) | Value::Array(_) => {}
    }
}

/// Two spaces per level, at most [`MAX_DEPTH`] levels: indentation is only for the reader (the parser trims
/// lines), and a capped indent keeps the output of a deep value linear in its size.
fn indent(out: &mut String, depth: usize) {
    for _ in 0..depth.min(MAX_DEPTH) {
        out.push_str("  ");
    }
}

fn is_plain_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':' | '/'))
}

/// Whether a device id can stand unquoted in a section header: it reads back the same after the line is
/// trimmed, and holds nothing a terminal would act on.
fn is_plain_id(id: &str) -> bool {
    !id.is_empty()
        && !id.starts_with('"')
        && id.trim() == id
        && !id.chars().any(crate::text::is_unsafe)
}

fn quote(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if crate::text::is_unsafe(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Reads the record text form (see the module docs).
///
/// # Errors
/// A [`ParseError`] naming the line for a missing header, a value outside a device section, an unclosed
/// `{` or `[`, a bad escape or bad hex bytes.
pub fn parse(text: &str) -> Result<Vec<RawDevice>, ParseError> {
    parse_with(text, &mut None)
}

/// Reads the record text form like [`parse`], but a value that cannot be read (a bad escape, bad hex bytes,
/// a quote never closed: a hand-edited or cut paste) is kept as the text it was, and listed with its line
/// and device, so one broken field does not lose the recording.
///
/// # Errors
/// A [`ParseError`] for what breaks the structure: a missing header, a value outside a device section, an
/// unclosed `{` or `[`, nesting or counts beyond the bounds.
pub fn parse_lenient(text: &str) -> Result<(Vec<RawDevice>, Vec<Skipped>), ParseError> {
    let mut problems = Some(Vec::new());
    let devices = parse_with(text, &mut problems)?;
    Ok((devices, problems.unwrap_or_default()))
}

/// `None`: a bad value is an error. `Some`: it is kept as text and listed here.
type Problems = Option<Vec<Skipped>>;

fn parse_with(text: &str, problems: &mut Problems) -> Result<Vec<RawDevice>, ParseError> {
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'));
    match lines.next() {
        Some((_, MAGIC)) => {}
        Some((n, other)) => {
            return Err(ParseError::new(
                n,
                format!(
                    "expected `{MAGIC}` as the first line, found `{}`",
                    clip(other)
                ),
            ));
        }
        None => return Err(ParseError::new(0, "the recording is empty")),
    }
    let mut devices = Vec::new();
    let mut lines = lines.peekable();
    while let Some((n, line)) = lines.next() {
        let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) else {
            return Err(ParseError::new(
                n,
                format!(
                    "expected a `[os device]` section header, found `{}`",
                    clip(line)
                ),
            ));
        };
        let (os_word, id) = header.split_once(' ').unwrap_or((header, ""));
        let os = Os::parse(os_word.trim())
            .ok_or_else(|| ParseError::new(n, format!("unknown system `{}`", clip(os_word))))?;
        let id = id.trim();
        let id = if let Some(quoted) = id.strip_prefix('"') {
            // A quoted id (empty, padded, or holding control characters) reads back exactly.
            let (id, used) = unquote(n, quoted)?;
            if !quoted[used..].trim().is_empty() {
                return Err(ParseError::new(n, "text after the quoted device id"));
            }
            id
        } else if id.is_empty() {
            return Err(ParseError::new(n, "the section header names no device"));
        } else {
            id.to_owned()
        };
        let mut record = Record::new();
        // A key is plain (never starting with `[`) or quoted, so a line in brackets is the next header.
        while let Some(&(_, next)) = lines.peek() {
            if next.starts_with('[') && next.ends_with(']') {
                break;
            }
            let (n, line) = lines.next().unwrap_or((n, next));
            if record.len() >= MAX_ENTRIES {
                return Err(too_many_entries(n));
            }
            let mut bad = problems.as_ref().map(|_| Vec::new());
            let (key, value) = parse_entry(n, line, &mut lines, 0, &mut bad)?;
            if let (Some(all), Some(bad)) = (problems.as_mut(), bad) {
                all.extend(
                    bad.into_iter()
                        .map(|e| Skipped::new(id.clone(), format!("{e}: kept as text, not read"))),
                );
            }
            record.push(key, value);
        }
        if devices.len() >= MAX_DEVICES {
            return Err(too_many_devices());
        }
        devices.push(RawDevice::new(os, id, record));
    }
    Ok(devices)
}

type Lines<'a, I> = std::iter::Peekable<I>;

/// How deep `{` and `[` may nest in the text form: far deeper than any OS's record (ioreg nests 4 deep),
/// and shallow enough that parsing, printing and dropping never exhaust a thread's stack. The ioreg
/// parsers use the same bound.
pub const MAX_DEPTH: usize = 64;

fn parse_entry<'a, I: Iterator<Item = (usize, &'a str)>>(
    n: usize,
    line: &'a str,
    lines: &mut Lines<'a, I>,
    depth: usize,
    bad: &mut Option<Vec<ParseError>>,
) -> Result<(String, Value), ParseError> {
    let (key, rest) = if let Some(quoted) = line.strip_prefix('"') {
        // A quoted key may be empty: `voltaic record` prints whatever key the OS used.
        let (key, used) = unquote(n, quoted)?;
        let rest = quoted[used..].trim_start();
        let rest = rest
            .strip_prefix('=')
            .ok_or_else(|| ParseError::new(n, "expected `=` after the quoted key"))?;
        (key, rest)
    } else {
        let (key, rest) = line.split_once('=').ok_or_else(|| {
            ParseError::new(n, format!("expected `key = value`, found `{}`", clip(line)))
        })?;
        let key = key.trim();
        if key.is_empty() {
            return Err(ParseError::new(n, "empty key (quote it: `\"\" = …`)"));
        }
        (key.to_owned(), rest)
    };
    let value = parse_value(n, rest.trim(), lines, depth, bad)?;
    Ok((key, value))
}

fn parse_value<'a, I: Iterator<Item = (usize, &'a str)>>(
    n: usize,
    text: &'a str,
    lines: &mut Lines<'a, I>,
    depth: usize,
    bad: &mut Option<Vec<ParseError>>,
) -> Result<Value, ParseError> {
    if matches!(text, "{" | "[") && depth >= MAX_DEPTH {
        return Err(ParseError::new(
            n,
            format!("values nested more than {MAX_DEPTH} deep"),
        ));
    }
    match text {
        "{" => {
            let mut dict = Record::new();
            loop {
                let (m, line) = lines
                    .next()
                    .ok_or_else(|| ParseError::new(n, "`{` is never closed"))?;
                if line == "}" {
                    return Ok(Value::Dict(dict));
                }
                let (k, v) = parse_entry(m, line, lines, depth + 1, bad)?;
                dict.push(k, v);
            }
        }
        "[" => {
            let mut items = Vec::new();
            loop {
                let (m, line) = lines
                    .next()
                    .ok_or_else(|| ParseError::new(n, "`[` is never closed"))?;
                if line == "]" {
                    return Ok(Value::Array(items));
                }
                items.push(parse_value(m, line, lines, depth + 1, bad)?);
            }
        }
        "true" => Ok(Value::Bool(true)),
        "false" => Ok(Value::Bool(false)),
        // How the printer writes non-finite floats (an OS can report one; decoders ignore them).
        "inf" => Ok(Value::Float(f64::INFINITY)),
        "-inf" => Ok(Value::Float(f64::NEG_INFINITY)),
        "NaN" => Ok(Value::Float(f64::NAN)),
        _ => match (parse_scalar(n, text), bad.as_mut()) {
            (Err(e), Some(bad)) => {
                bad.push(e);
                Ok(Value::Str(text.to_owned()))
            }
            (result, _) => result,
        },
    }
}

fn parse_scalar(n: usize, text: &str) -> Result<Value, ParseError> {
    if let Some(quoted) = text.strip_prefix('"') {
        let (s, used) = unquote(n, quoted)?;
        if !quoted[used..].trim().is_empty() {
            return Err(ParseError::new(n, "text after the closing quote"));
        }
        return Ok(Value::Str(s));
    }
    if let Some(hex) = text.strip_prefix('<').and_then(|t| t.strip_suffix('>')) {
        return parse_hex(hex)
            .map(Value::Data)
            .ok_or_else(|| ParseError::new(n, format!("bad hex bytes `<{}>`", clip(hex))));
    }
    if let Ok(i) = text.parse::<i64>() {
        return Ok(Value::Int(i));
    }
    if text.contains(['.', 'e', 'E'])
        && let Ok(f) = text.parse::<f64>()
        && f.is_finite()
    {
        return Ok(Value::Float(f));
    }
    Ok(Value::Str(text.to_owned()))
}

/// Reads a quoted string whose opening quote is already consumed; returns it and the bytes used (incl. the
/// closing quote).
fn unquote(n: usize, text: &str) -> Result<(String, usize), ParseError> {
    let mut out = String::new();
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((out, i + 1)),
            '\\' => match chars.next() {
                Some((_, 'n')) => out.push('\n'),
                Some((_, 't')) => out.push('\t'),
                Some((_, '\\')) => out.push('\\'),
                Some((_, '"')) => out.push('"'),
                Some((_, 'u')) => {
                    let rest = &text[i + 2..];
                    let code = rest
                        .strip_prefix('{')
                        .and_then(|r| r.split_once('}'))
                        .and_then(|(hex, _)| {
                            u32::from_str_radix(hex, 16).ok().map(|c| (c, hex.len()))
                        })
                        .and_then(|(c, len)| char::from_u32(c).map(|c| (c, len)));
                    let (c, len) = code.ok_or_else(|| ParseError::new(n, "bad `\\u{…}` escape"))?;
                    out.push(c);
                    for _ in 0..len + 2 {
                        chars.next();
                    }
                }
                _ => return Err(ParseError::new(n, "bad escape in a quoted string")),
            },
            c => out.push(c),
        }
    }
    Err(ParseError::new(n, "the quoted string is never closed"))
}

fn parse_hex(hex: &str) -> Option<Vec<u8>> {
    let hex: String = hex.chars().filter(|c| !c.is_whitespace()).collect();
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

/// At most 60 characters of `s`, for error messages, escaped like every printed device string
/// ([`crate::text::escape`]): an error quoting a hostile recording never writes a control character.
pub(crate) fn clip(s: &str) -> String {
    let mut out: String = s.chars().take(60).collect();
    if s.chars().nth(60).is_some() {
        out.push('…');
    }
    crate::text::escape(&out).into_owned()
}

/// At most this many devices in one recording. A machine has a handful of power supplies (a desk of
/// peripherals a few dozen); the bound keeps 32 MiB of tiny devices from taking gigabytes.
pub const MAX_DEVICES: usize = 1024;

/// At most this many entries in one device's record (a Linux battery has some 30 keys, an
/// AppleSmartBattery about 100): keeps one endless device from taking gigabytes.
pub const MAX_ENTRIES: usize = 10_000;

pub(crate) fn too_many_devices() -> ParseError {
    ParseError::new(
        0,
        format!("more than {MAX_DEVICES} devices: not a recording of one machine's power supplies"),
    )
}

pub(crate) fn too_many_entries(line: usize) -> ParseError {
    ParseError::new(
        line,
        format!("more than {MAX_ENTRIES} entries in one device"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<RawDevice> {
        let mut inner = Record::new();
        inner.push("DesignCapacity", Value::Int(4563));
        inner.push(
            "CellVoltage",
            Value::Array(vec![Value::Int(4101), Value::Int(4099)]),
        );
        let mut mac = Record::new();
        mac.push("Amperage", Value::Int(-1532));
        mac.push("FullyCharged", Value::Bool(false));
        mac.push("Ratio", Value::Float(1.0));
        mac.push("Serial", Value::Data(vec![0x0a, 0x1b]));
        mac.push(
            "Name with space",
            Value::Str("a \"quoted\"\n\u{1} text".into()),
        );
        mac.push("BatteryData", Value::Dict(inner));
        let mut lin = Record::new();
        lin.push("POWER_SUPPLY_STATUS", Value::Str("Not charging".into()));
        lin.push("POWER_SUPPLY_SERIAL_NUMBER", Value::Str("  973".into()));
        vec![
            RawDevice::new(Os::Linux, "BAT0", lin),
            RawDevice::new(Os::MacOs, "AppleSmartBattery", mac),
        ]
    }

    #[test]
    fn print_then_parse_is_identity() {
        let devices = sample();
        let text = print(&devices);
        assert_eq!(parse(&text), Ok(devices));
    }

    #[test]
    fn odd_ids_and_keys_round_trip_exactly() {
        let mut r = Record::new();
        r.push("", Value::Str("empty key".into()));
        r.push("a=b", Value::Str("x = y".into()));
        r.push("[not a header]", Value::Int(1));
        r.push("line\nbreak", Value::Str("\u{202e}rtl\u{1b}[2J".into()));
        r.push("F", Value::Float(f64::INFINITY));
        let devices: Vec<RawDevice> = [
            "",
            " padded ",
            "a=b",
            "x]y",
            "[z]",
            "\"quoted",
            "new\nline",
            "esc\u{1b}]0;t\u{7}",
            "\\\\?\\acpi#1",
        ]
        .into_iter()
        .map(|id| RawDevice::new(Os::Linux, id, r.clone()))
        .collect();
        let text = print(&devices);
        assert!(!text.chars().any(|c| c != '\n' && crate::text::is_unsafe(c)));
        assert_eq!(parse(&text), Ok(devices));
    }

    /// Builds `depth` nested one-element arrays (a dict at every other level).
    fn deep(depth: usize) -> Value {
        let mut v = Value::Int(1);
        for i in 0..depth {
            v = if i % 2 == 0 {
                Value::Array(vec![v])
            } else {
                let mut r = Record::new();
                r.push("k", v);
                Value::Dict(r)
            };
        }
        v
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        // 20 000 levels of `[` in 160 kB: refused with the line, not parsed recursively.
        let mut text = String::from("voltaic-record 1\n[linux X]\nA = [\n");
        for _ in 0..20_000 {
            text.push_str("[\n");
        }
        let err = parse(&text).err();
        assert_eq!(
            err.map(|e| e.to_string()),
            Some(format!(
                "line {}: values nested more than 64 deep",
                3 + MAX_DEPTH
            ))
        );
        // Exactly at the bound still reads.
        let mut r = Record::new();
        r.push("A", deep(MAX_DEPTH));
        let devices = vec![RawDevice::new(Os::MacOs, "X", r)];
        assert_eq!(parse(&print(&devices)), Ok(devices));
    }

    #[test]
    fn deep_values_print_and_drop_without_recursion() {
        let mut r = Record::new();
        r.push("A", deep(50_000));
        let devices = vec![RawDevice::new(Os::MacOs, "X", r)];
        let text = print(&devices);
        assert_eq!(text.lines().filter(|l| l.trim() == "]").count(), 25_000);
        drop(devices);
    }

    #[test]
    fn bare_values_are_typed_for_hand_edited_records() {
        let devices = parse(
            "voltaic-record 1\n[linux BAT0]\nPOWER_SUPPLY_STATUS = Not charging\nX=12\nY = 1.5\n",
        )
        .unwrap_or_default();
        let r = &devices[0].record;
        assert_eq!(
            r.text("POWER_SUPPLY_STATUS").as_deref(),
            Some("Not charging")
        );
        assert_eq!(r.get("X"), Some(&Value::Int(12)));
        assert_eq!(r.get("Y"), Some(&Value::Float(1.5)));
    }

    #[test]
    fn errors_name_the_line() {
        let err = parse("voltaic-record 1\n[linux BAT0]\nA = {\nB = 1\n").err();
        assert_eq!(err.map(|e| e.line), Some(3));
        let err = parse("voltaic-record 1\nA = 1\n").err();
        assert_eq!(
            err.map(|e| e.to_string()),
            Some("line 2: expected a `[os device]` section header, found `A = 1`".into())
        );
        let err = parse("hello").err();
        assert_eq!(err.map(|e| e.line), Some(1));
        let err = parse("voltaic-record 1\n[beos X]\n").err();
        assert_eq!(
            err.map(|e| e.to_string()),
            Some("line 2: unknown system `beos`".into())
        );
        let err = parse("voltaic-record 1\n[linux X]\nA = \"open\n").err();
        assert_eq!(err.map(|e| e.line), Some(3));
    }

    #[test]
    fn lookups_take_the_last_duplicate() {
        let mut r = Record::new();
        r.push("POWER_SUPPLY_TYPE", Value::Str("Battery".into()));
        r.push("POWER_SUPPLY_TYPE", Value::Str("Mains".into()));
        assert_eq!(r.text("POWER_SUPPLY_TYPE").as_deref(), Some("Mains"));
        r.set("POWER_SUPPLY_TYPE", Value::Str("USB".into()));
        assert_eq!(r.len(), 1);
    }

    #[test]
    fn value_conversions() {
        assert_eq!(Value::Str(" 42 ".into()).as_int(), Some(42));
        assert_eq!(Value::Str("Yes".into()).as_bool(), Some(true));
        assert_eq!(Value::Float(f64::NAN).as_f64(), None);
        assert_eq!(Value::Float(3.0).as_int(), Some(3));
        assert_eq!(Value::Str("x".into()).as_f64(), None);
    }
}
