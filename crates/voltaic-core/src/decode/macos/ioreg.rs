//! What Mac users paste: `ioreg` output, as XML / binary plist (`ioreg -a`) or as text (`ioreg -r`, `-l`,
//! `-b`, grep fragments), read into raw records with the registry's own key names.
//!
//! Both forms describe the same registry entries, so both produce the same records: integers as `i64`
//! (the text form prints a negative `Amperage` as its unsigned 64-bit pattern, `18446744073709550084` for
//! −1532; anything above `i64::MAX` is wrapped back), `Yes`/`No` as booleans, `<…>` as bytes, `{…}` and `(…)`
//! as nested dictionaries and arrays.
//!
//! Pasted dumps are often cut. What a cut capture still holds is kept, and nothing is guessed:
//! - a nested value cut at the end of its line keeps its complete elements and loses the cut one;
//! - a property block whose closing `}` never came was cut, and its last line may have been cut inside
//!   its value (a corpus dump ends `"CurrentCapacity" = 55` where the number had four digits), so that
//!   last line is dropped;
//! - an XML plist that stops early keeps every value read before the cut.
//!
//! A line that is not ioreg output at all (a shell prompt, `...`, another tool's report) is skipped; a
//! property line that cannot be read is a [`ParseError`] naming it.

// Without the `replay` feature only the plist reader (and the helpers only it uses) is left out.
#![cfg_attr(not(feature = "replay"), allow(dead_code, unused_imports))]

use std::io::Cursor;

use crate::record::{Os, ParseError, RawDevice, Record, Value, clip};

/// The registry entry name a fragment without a `+-o` header is taken to come from: users grep the
/// AppleSmartBattery entry (`ioreg -rn AppleSmartBattery | grep …`).
pub const DEFAULT_ENTRY: &str = "AppleSmartBattery";

/// Registry classes whose entries are power sources (`IOPM.h`; the battery driver's own class). Its
/// parent, `AppleSmartBatteryManager`, is not one.
const POWER_SOURCE_CLASSES: [&str; 2] = ["AppleSmartBattery", "IOPMPowerSource"];

/// Keys that only a power-source entry carries (`IOPM.h` `kIOPMPS…Key`, `kIOBatteryInfoKey`). An entry of
/// any other class holding one of these is kept (old PMU Macs publish `IOBatteryInfo` on another node).
const POWER_SOURCE_KEYS: [&str; 14] = [
    "BatteryInstalled",
    "ExternalConnected",
    "IsCharging",
    "FullyCharged",
    "CurrentCapacity",
    "MaxCapacity",
    "DesignCapacity",
    "AppleRawCurrentCapacity",
    "AppleRawMaxCapacity",
    "NominalChargeCapacity",
    "BatteryData",
    "IOBatteryInfo",
    "LegacyBatteryInfo",
    "AdapterDetails",
];

/// Nesting deeper than this is not ioreg output (the registry nests a few levels at most); refusing it
/// keeps hostile input from exhausting the stack.
const MAX_DEPTH: usize = 64;

/// At most this many values (containers, keys and scalars, each counted wherever it is referenced) in a
/// property list. A full `ioreg -l -a` of a MacBook is some 60 000; the bound keeps a binary plist whose
/// objects share references ("DAG bomb": 350 bytes expanding to gigabytes) or 32 MiB of `<true/>` from
/// building a tree larger than a few hundred MB.
const MAX_NODES: u64 = 500_000;

/// Whether `record` (from an entry of class `class`, when known) describes a power source.
#[must_use]
pub fn is_power_source(class: Option<&str>, record: &Record) -> bool {
    class.is_some_and(|c| POWER_SOURCE_CLASSES.contains(&c))
        || POWER_SOURCE_KEYS.iter().any(|k| record.contains(k))
}

/// Whether `text` looks like `ioreg` text output: some line is a `+-o Name  <class …>` entry header or a
/// `"Key" = value` property line (after the `|` tree guides ioreg draws).
#[must_use]
pub fn looks_like_text(text: &str) -> bool {
    text.lines().any(|raw| {
        if raw.trim_start().starts_with('#') {
            return false;
        }
        let t = strip_tree(raw);
        t.starts_with("+-o ") || (t.starts_with('"') && property_key(t).is_some())
    })
}

/// The byte offset where an XML (`<?xml`, `<plist`) or binary (`bplist`) property list starts, after
/// any leading `#` comment lines and a pasted command line; `None` when `bytes` hold no plist there.
#[must_use]
pub fn plist_start(bytes: &[u8]) -> Option<usize> {
    const MARKERS: [&[u8]; 4] = [b"bplist", b"<?xml", b"<plist", b"<!DOCTYPE plist"];
    // At most two lines of preamble besides `#` comments: the command that was run, a blank prompt.
    let mut preamble = 0;
    let mut offset = 0;
    while offset < bytes.len() {
        let rest = &bytes[offset..];
        let end = rest
            .iter()
            .position(|b| *b == b'\n')
            .map_or(rest.len(), |p| p + 1);
        let indent = rest
            .iter()
            .take_while(|b| matches!(b, b' ' | b'\t' | b'\r'))
            .count();
        let line = &rest[indent..];
        if MARKERS.iter().any(|m| line.starts_with(m)) {
            return Some(offset + indent);
        }
        let blank = line.first().is_none_or(|b| *b == b'\n');
        if !blank && line.first() != Some(&b'#') {
            preamble += 1;
            if preamble > 2 {
                return None;
            }
        }
        offset += end;
    }
    None
}

/// Reads an `ioreg -a` property list (XML or binary): a top-level array of entry dictionaries
/// (`ioreg -r -a -c AppleSmartBattery`) or a tree with `IORegistryEntryChildren` (`ioreg -l -a`). Leading
/// `#` lines are skipped. Every power-source entry becomes one record, named by `IORegistryEntryName`.
///
/// An XML plist that lacks its closing `</plist>` was cut: it is closed after its last complete value
/// (a key whose value was cut is dropped) and read as that.
///
/// # Errors
/// A [`ParseError`] naming the line for malformed XML, or saying that the plist holds no power-source entry.
#[cfg(feature = "replay")]
pub fn parse_plist(bytes: &[u8]) -> Result<Vec<RawDevice>, ParseError> {
    let start = plist_start(bytes).ok_or_else(|| ParseError::new(0, "no property list found"))?;
    let body = &bytes[start..];
    let line_of =
        |offset: usize| 1 + bytecount_newlines(&bytes[..(start + offset).min(bytes.len())]);
    let root = if body.starts_with(b"bplist") {
        binary_depth_ok(body).map_err(|msg| ParseError::new(0, msg))?;
        plist::Value::from_reader(Cursor::new(body))
            .map_err(|e| ParseError::new(0, format!("not a readable binary property list: {e}")))?
    } else {
        let scan = scan_xml(body).map_err(|(offset, msg)| ParseError::new(line_of(offset), msg))?;
        match plist::Value::from_reader_xml(Cursor::new(body)) {
            Ok(value) => value,
            Err(_) if !scan.closed => {
                let mut repaired = body[..scan.safe_end].to_vec();
                repaired.extend_from_slice(&scan.closing);
                plist::Value::from_reader_xml(Cursor::new(&repaired)).map_err(|e| {
                    ParseError::new(
                        line_of(error_offset(&e).unwrap_or(scan.safe_end).min(scan.safe_end)),
                        format!("not a readable property list (it is also cut short): {e}"),
                    )
                })?
            }
            Err(e) => {
                return Err(ParseError::new(
                    error_offset(&e).map_or(0, line_of),
                    format!("not a readable property list: {e}"),
                ));
            }
        }
    };
    let mut entries = Vec::new();
    collect_plist_entries(from_plist(root), &mut entries);
    if entries.is_empty() {
        return Err(ParseError::new(
            line_of(0),
            "the property list holds no AppleSmartBattery / IOPMPowerSource entry",
        ));
    }
    Ok(name_devices(entries))
}

fn bytecount_newlines(bytes: &[u8]) -> usize {
    bytes.split(|b| *b == b'\n').count() - 1
}

/// The byte offset a plist error names, read from its message (`… (offset 123)`): the crate keeps the
/// position private.
#[cfg(feature = "replay")]
fn error_offset(err: &plist::Error) -> Option<usize> {
    let text = err.to_string();
    let tail = text.rsplit_once("(offset ")?.1;
    tail.trim_end_matches(')').parse().ok()
}

/// What a scan of XML plist tags found: whether the document closes, and where and how to close it
/// after its last complete value when it does not.
struct XmlScan {
    closed: bool,
    safe_end: usize,
    closing: Vec<u8>,
}

/// Scans the tags of an XML plist (its values hold no raw `<`: XML escapes it) for nesting depth and for
/// the last point where every open container could be closed and leave a valid document.
fn scan_xml(body: &[u8]) -> Result<XmlScan, (usize, String)> {
    // (is a dict, a key waits for its value)
    let mut stack: Vec<(bool, bool)> = Vec::new();
    let mut in_plist = false;
    let mut closed = false;
    let mut safe: (usize, Vec<bool>, bool) = (0, Vec::new(), false);
    let mut nodes = 0_u64;
    let mut i = 0;
    while let Some(lt) = body[i..].iter().position(|b| *b == b'<').map(|p| p + i) {
        let Some(gt) = body[lt..].iter().position(|b| *b == b'>').map(|p| p + lt) else {
            break;
        };
        let tag = &body[lt + 1..gt];
        i = gt + 1;
        if tag.first().is_some_and(|b| matches!(b, b'?' | b'!')) {
            continue;
        }
        let end_tag = tag.first() == Some(&b'/');
        let empty = tag.last() == Some(&b'/');
        let name: Vec<u8> = tag
            .iter()
            .skip(usize::from(end_tag))
            .take_while(|b| b.is_ascii_alphanumeric())
            .copied()
            .collect();
        let mut value_done = false;
        match (name.as_slice(), end_tag, empty) {
            (b"plist", false, _) => in_plist = true,
            (b"plist", true, _) => closed = true,
            (b"array" | b"dict", false, false) => {
                if stack.len() >= MAX_DEPTH {
                    return Err((lt, format!("values nested more than {MAX_DEPTH} deep")));
                }
                stack.push((name == b"dict", false));
            }
            (b"array" | b"dict", true, _) => {
                stack.pop();
                value_done = true;
            }
            (b"key", true, _) => {
                if let Some(top) = stack.last_mut() {
                    top.1 = true;
                }
                continue;
            }
            (_, true, _) | (_, false, true) => value_done = true,
            // The start of a key or scalar: not a point to close at.
            _ => continue,
        }
        if value_done {
            nodes += 1;
            if nodes > MAX_NODES {
                return Err((lt, format!("more than {MAX_NODES} values")));
            }
        }
        if value_done && let Some(top) = stack.last_mut() {
            top.1 = false;
        }
        if stack.last().is_none_or(|top| !top.1) {
            safe = (i, stack.iter().map(|(dict, _)| *dict).collect(), in_plist);
        }
    }
    let (safe_end, open, plist_open) = safe;
    let mut closing = Vec::new();
    for dict in open.iter().rev() {
        closing.extend_from_slice(if *dict { b"</dict>" } else { b"</array>" });
    }
    if plist_open && !closed {
        closing.extend_from_slice(b"</plist>");
    }
    Ok(XmlScan {
        closed,
        safe_end,
        closing,
    })
}

/// Checks that a binary plist nests containers at most [`MAX_DEPTH`] deep, and expands to at most
/// [`MAX_NODES`] values (a shared object counts at every reference: the plist crate copies it there),
/// before the plist crate builds (and later drops, recursively) its value tree. Layout per Apple's `CFBinaryPList.c`: a 32-byte
/// trailer (offset size, reference size, object count, top object, offset-table position), an offset
/// table, objects whose marker's high nibble 0xA / 0xC / 0xD is an array / set / dict of references.
#[allow(clippy::too_many_lines)] // one walk: trailer checks, children of an object, the bounded DFS
fn binary_depth_ok(b: &[u8]) -> Result<(), String> {
    let bad = || "not a readable binary property list".to_owned();
    let be = |bytes: &[u8]| {
        bytes.iter().fold(0_usize, |acc, x| {
            acc.saturating_mul(256).saturating_add(usize::from(*x))
        })
    };
    let n = b.len();
    if n < 40 {
        return Err(bad());
    }
    let trailer = &b[n - 32..];
    let (off_size, ref_size) = (usize::from(trailer[6]), usize::from(trailer[7]));
    let (count, top, table) = (
        be(&trailer[8..16]),
        be(&trailer[16..24]),
        be(&trailer[24..32]),
    );
    if !(1..=8).contains(&off_size) || !(1..=8).contains(&ref_size) || count > n || top >= count {
        return Err(bad());
    }
    count
        .checked_mul(off_size)
        .and_then(|len| table.checked_add(len))
        .filter(|end| *end <= n - 32)
        .ok_or_else(bad)?;
    let children = |object: usize| -> Result<Vec<usize>, String> {
        let at = be(&b[table + object * off_size..][..off_size]);
        let marker = *b.get(at).ok_or_else(bad)?;
        let refs_per = match marker >> 4 {
            0xA..=0xC => 1,
            0xD => 2,
            _ => return Ok(Vec::new()),
        };
        let (len, mut pos) = if marker & 0xF == 0xF {
            let int_marker = *b.get(at + 1).ok_or_else(bad)?;
            let width = 1_usize << (int_marker & 0xF).min(3);
            (
                be(b.get(at + 2..at + 2 + width).ok_or_else(bad)?),
                at + 2 + width,
            )
        } else {
            (usize::from(marker & 0xF), at + 1)
        };
        let total = len
            .checked_mul(refs_per)
            .filter(|t| *t <= n)
            .ok_or_else(bad)?;
        let mut out = Vec::with_capacity(total);
        for _ in 0..total {
            let r = be(b.get(pos..pos + ref_size).ok_or_else(bad)?);
            if r >= count {
                return Err(bad());
            }
            out.push(r);
            pos += ref_size;
        }
        Ok(out)
    };
    // Iterative depth-first walk with memoised depths and expanded sizes; a cycle is malformed.
    let mut depth: Vec<Option<usize>> = vec![None; count];
    let mut size: Vec<u64> = vec![0; count];
    let mut on_path = vec![false; count];
    let too_many = || format!("more than {MAX_NODES} values once shared objects are expanded");
    // (object, its children, next child to visit, deepest child so far, expanded size so far)
    let mut stack: Vec<(usize, Vec<usize>, usize, usize, u64)> =
        vec![(top, children(top)?, 0, 0, 1)];
    on_path[top] = true;
    while let Some(frame) = stack.last_mut() {
        let (node, next) = (frame.0, frame.1.get(frame.2).copied());
        if let Some(kid) = next {
            frame.2 += 1;
            if let Some(d) = depth[kid] {
                frame.3 = frame.3.max(d);
                frame.4 = frame.4.saturating_add(size[kid]);
                if frame.4 > MAX_NODES {
                    return Err(too_many());
                }
            } else {
                if on_path[kid] {
                    return Err(bad());
                }
                on_path[kid] = true;
                let grandchildren = children(kid)?;
                stack.push((kid, grandchildren, 0, 0, 1));
                if stack.len() > MAX_DEPTH + 1 {
                    return Err(format!("values nested more than {MAX_DEPTH} deep"));
                }
            }
        } else {
            let own = frame.3 + 1;
            let expanded = frame.4;
            depth[node] = Some(own);
            size[node] = expanded;
            on_path[node] = false;
            stack.pop();
            if let Some(parent) = stack.last_mut() {
                parent.3 = parent.3.max(own);
                parent.4 = parent.4.saturating_add(expanded);
                if parent.4 > MAX_NODES {
                    return Err(too_many());
                }
            }
        }
    }
    Ok(())
}

/// The plist crate's value as a raw record value. Integers above `i64::MAX` (unsigned 64-bit) are
/// wrapped like the text form's; dates become their XML text. Nesting was bounded by the scans.
#[cfg(feature = "replay")]
fn from_plist(value: plist::Value) -> Value {
    match value {
        plist::Value::Array(items) => Value::Array(items.into_iter().map(from_plist).collect()),
        plist::Value::Dictionary(dict) => {
            Value::Dict(dict.into_iter().map(|(k, v)| (k, from_plist(v))).collect())
        }
        plist::Value::Boolean(b) => Value::Bool(b),
        plist::Value::Data(d) => Value::Data(d),
        plist::Value::Date(d) => Value::Str(d.to_xml_format()),
        plist::Value::Real(f) => Value::Float(f),
        plist::Value::Integer(i) => Value::Int(
            i.as_signed()
                .or_else(|| i.as_unsigned().map(wrap))
                .unwrap_or_default(),
        ),
        plist::Value::String(s) => Value::Str(s),
        plist::Value::Uid(u) => Value::Int(wrap(u.get())),
        _ => Value::Str(String::new()),
    }
}

/// Power-source entries anywhere in a plist tree: the top-level array of `ioreg -r -a`, or the children
/// of `ioreg -l -a` (each entry is kept without its `IORegistryEntryChildren`).
fn collect_plist_entries(mut value: Value, out: &mut Vec<(Option<String>, Record)>) {
    match &mut value {
        Value::Array(items) => {
            for item in std::mem::take(items) {
                collect_plist_entries(item, out);
            }
        }
        Value::Dict(record) => {
            let record = std::mem::take(record);
            let mut own = Record::new();
            let mut children = Vec::new();
            for (key, value) in record.iter() {
                let (key, value) = (key.to_owned(), value.clone());
                if key == "IORegistryEntryChildren" {
                    children.push(value);
                } else {
                    own.push(key, value);
                }
            }
            let class = own.text("IOObjectClass").map(std::borrow::Cow::into_owned);
            if is_power_source(class.as_deref(), &own) {
                let name = own
                    .text("IORegistryEntryName")
                    .or_else(|| own.text("IOObjectClass"))
                    .map(|n| n.trim().to_owned())
                    .filter(|n| !n.is_empty());
                out.push((name, own));
            }
            for child in children {
                collect_plist_entries(child, out);
            }
        }
        _ => {}
    }
}

/// Device records from named entries, a name seen again getting a `-2`, `-3` … suffix so that every id is
/// unique (as the live shell names them). An unnamed entry is [`DEFAULT_ENTRY`], except a bare
/// `IOBatteryInfo` line: that property of pre-2006 PMU Macs lives on another entry, so it is named by
/// itself rather than as an AppleSmartBattery it is not.
fn name_devices(entries: Vec<(Option<String>, Record)>) -> Vec<RawDevice> {
    // Counted per name in a map: linear in the number of entries, however many share a name.
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    entries
        .into_iter()
        .map(|(name, record)| {
            let base = name.unwrap_or_else(|| {
                if record.contains("IOBatteryInfo") && record.len() == 1 {
                    "IOBatteryInfo".to_owned()
                } else {
                    DEFAULT_ENTRY.to_owned()
                }
            });
            let slot = seen.entry(base.clone()).or_default();
            let count = *slot;
            *slot += 1;
            let id = if count == 0 {
                base
            } else {
                format!("{base}-{}", count + 1)
            };
            RawDevice::new(Os::MacOs, id, record)
        })
        .collect()
}

/// `u64` → `i64` keeping the bit pattern: IOKit numbers are signed 64-bit, and ioreg prints them unsigned.
fn wrap(u: u64) -> i64 {
    i64::from_ne_bytes(u.to_ne_bytes())
}

/// One registry entry being read from text.
#[derive(Default)]
struct TextEntry {
    name: Option<String>,
    class: Option<String>,
    record: Record,
    opened: bool,
    closed: bool,
    has_header: bool,
}

impl TextEntry {
    fn is_empty(&self) -> bool {
        !self.has_header && self.record.is_empty()
    }
}

/// Reads `ioreg` text: `ioreg -rn AppleSmartBattery`, `-brc`, `-l` (whole tree), or grep fragments.
///
/// Each `+-o Name  <class …>` header starts an entry; lines before any header form one entry named
/// [`DEFAULT_ENTRY`]. Only power-source entries are kept. ANSI colour codes (`ioreg -b`) and the `|` tree
/// guides are ignored.
///
/// # Errors
/// A [`ParseError`] naming the first property line that cannot be read, or saying no ioreg property was found.
pub fn parse_text(text: &str) -> Result<Vec<RawDevice>, ParseError> {
    parse_text_with(text, &mut None)
}

/// Reads `ioreg` text like [`parse_text`], but a property whose value cannot be read (a cut or mangled
/// line in a pasted dump) is kept as the text it was and listed with its line, so one broken field does
/// not lose the battery.
///
/// # Errors
/// As [`parse_text`], except for unreadable property values.
pub fn parse_text_lenient(
    text: &str,
) -> Result<(Vec<RawDevice>, Vec<crate::decode::Skipped>), ParseError> {
    let mut problems = Some(Vec::new());
    let devices = parse_text_with(text, &mut problems)?;
    Ok((devices, problems.unwrap_or_default()))
}

fn parse_text_with(
    text: &str,
    problems: &mut Option<Vec<crate::decode::Skipped>>,
) -> Result<Vec<RawDevice>, ParseError> {
    let mut entries: Vec<TextEntry> = Vec::new();
    let mut current = TextEntry::default();
    let mut properties = 0usize;
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        if raw.trim_start().starts_with('#') {
            continue;
        }
        let plain = strip_ansi(raw);
        let t = strip_tree(&plain).trim_end();
        if let Some(header) = t.strip_prefix("+-o ") {
            if !current.is_empty() {
                entries.push(std::mem::take(&mut current));
            }
            let (name, class) = parse_header(header);
            current = TextEntry {
                name,
                class,
                has_header: true,
                ..TextEntry::default()
            };
        } else if t == "{" {
            current.opened = true;
        } else if t == "}" {
            current.closed = true;
        } else if t.starts_with('"') {
            if current.closed {
                // Properties after a closed block belong to no entry: a second fragment pasted below.
                entries.push(std::mem::take(&mut current));
            }
            let Some((key, rest)) = property_key(t) else {
                return Err(ParseError::new(
                    n,
                    format!("expected `\"Key\" = value`, found `{}`", clip(t)),
                ));
            };
            let mut cursor = ValueCursor::new(rest);
            let value = match (cursor.top_value(), problems.as_mut()) {
                (Ok(value), _) => value,
                (Err(msg), Some(problems)) => {
                    let entry = current.name.as_deref().unwrap_or(DEFAULT_ENTRY);
                    problems.push(crate::decode::Skipped::new(
                        entry,
                        format!(
                            "line {n}: \"{}\": {msg}: kept as text, not read",
                            clip(&key)
                        ),
                    ));
                    Some(Value::Str(rest.trim().to_owned()))
                }
                (Err(msg), None) => {
                    return Err(ParseError::new(n, format!("\"{}\": {msg}", clip(&key))));
                }
            };
            properties += 1;
            if let Some(value) = value {
                current.record.push(key, value);
            }
        } else if t.starts_with('{') || t.starts_with('(') {
            return Err(ParseError::new(
                n,
                "a value with no `\"Key\" =` before it (was the start of the line lost?)",
            ));
        }
        // Anything else is not ioreg output (prompts, `...`, another tool's report) and is skipped.
    }
    if !current.is_empty() {
        entries.push(current);
    }
    if properties == 0 && !entries.iter().any(|e| e.has_header) {
        return Err(ParseError::new(0, "no ioreg `\"Key\" = value` lines found"));
    }
    let kept = entries
        .into_iter()
        .filter_map(|mut e| {
            if e.opened && !e.closed {
                // Cut dump: its last line may have been cut inside its value.
                e.record = e
                    .record
                    .iter()
                    .take(e.record.len().saturating_sub(1))
                    .map(|(k, v)| (k.to_owned(), v.clone()))
                    .collect();
            }
            is_power_source(e.class.as_deref(), &e.record).then_some((e.name, e.record))
        })
        .collect();
    Ok(name_devices(kept))
}

/// A line without the `|` / space tree guides ioreg draws before properties and headers.
fn strip_tree(line: &str) -> &str {
    line.trim_start_matches(|c: char| c.is_whitespace() || c == '|')
}

/// Drops ANSI escape sequences (`ioreg -b` prints entry names in bold).
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ parameters final-byte (0x40–0x7e).
            if chars.next() == Some('[') {
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `AppleSmartBattery  <class AppleSmartBattery, id 0x…, …>` → name and class. A header clipped by the
/// terminal (`… registered, ma$`) still names both.
fn parse_header(header: &str) -> (Option<String>, Option<String>) {
    let (name, rest) = match header.find("  <").or_else(|| header.find(" <class")) {
        Some(i) => (&header[..i], &header[i..]),
        None => (header, ""),
    };
    let class = rest
        .trim_start()
        .strip_prefix("<class ")
        .map(|c| {
            c.split([',', '>'])
                .next()
                .unwrap_or_default()
                .trim()
                .to_owned()
        })
        .filter(|c| !c.is_empty());
    let name = Some(name.trim().to_owned()).filter(|n| !n.is_empty());
    (name, class)
}

/// `"Key" = rest` → the key and the text after `=`; `None` when the line is not a property.
fn property_key(line: &str) -> Option<(String, &str)> {
    let inner = line.strip_prefix('"')?;
    let end = inner.find('"')?;
    let rest = inner[end + 1..].trim_start().strip_prefix('=')?;
    Some((inner[..end].to_owned(), rest))
}

/// A cursor over one property's value text (everything after `=` on its line).
struct ValueCursor<'a> {
    text: &'a str,
    pos: usize,
    depth: usize,
}

impl<'a> ValueCursor<'a> {
    fn new(text: &'a str) -> Self {
        ValueCursor {
            text,
            pos: 0,
            depth: 0,
        }
    }

    fn rest(&self) -> &'a str {
        &self.text[self.pos..]
    }

    fn skip_ws(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start().len();
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn bump(&mut self) {
        if let Some(c) = self.peek() {
            self.pos += c.len_utf8();
        }
    }

    /// Marks the rest of the line as cut: every enclosing container ends here with what it holds.
    fn cut<T>(&mut self) -> Option<T> {
        self.pos = self.text.len();
        None
    }

    /// The value of a whole property line. `Ok(None)`: the value was cut before anything usable.
    fn top_value(&mut self) -> Result<Option<Value>, String> {
        let value = self.value()?;
        self.skip_ws();
        if value.is_some() && self.peek().is_some() {
            return Err(format!(
                "unexpected `{}` after the value",
                clip(self.rest())
            ));
        }
        Ok(value)
    }

    /// One value. `Ok(None)` when the text ends inside it (a cut line); a container cut part-way is
    /// returned with its complete elements.
    fn value(&mut self) -> Result<Option<Value>, String> {
        self.skip_ws();
        match self.peek() {
            None => Ok(None),
            Some('"') => {
                self.bump();
                let rest = self.rest();
                match rest.find('"') {
                    Some(end) => {
                        self.pos += end + 1;
                        Ok(Some(Value::Str(rest[..end].to_owned())))
                    }
                    None => Ok(self.cut()),
                }
            }
            Some('<') => self.data(),
            Some('{') => self.container(true),
            Some('(') => self.container(false),
            Some(_) => self.bare(),
        }
    }

    /// `<hex bytes>` or `<"text">` (ioreg shows data that reads as text in quotes).
    fn data(&mut self) -> Result<Option<Value>, String> {
        self.bump();
        let rest = self.rest();
        if let Some(quoted) = rest.strip_prefix('"') {
            return Ok(match quoted.find("\">") {
                Some(end) => {
                    self.pos += end + 3;
                    Some(Value::Data(quoted.as_bytes()[..end].to_vec()))
                }
                None => self.cut(),
            });
        }
        let Some(end) = rest.find('>') else {
            return Ok(self.cut());
        };
        let hex: String = rest[..end].chars().filter(|c| !c.is_whitespace()).collect();
        self.pos += end + 1;
        if !hex.len().is_multiple_of(2) || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(format!("bad hex bytes `<{}>`", clip(&hex)));
        }
        let bytes = (0..hex.len())
            .step_by(2)
            .filter_map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
            .collect();
        Ok(Some(Value::Data(bytes)))
    }

    /// `{"k"=v,…}` (`dict`) or `(v,…)`.
    fn container(&mut self, dict: bool) -> Result<Option<Value>, String> {
        if self.depth >= MAX_DEPTH {
            return Err(format!("values nested more than {MAX_DEPTH} deep"));
        }
        self.depth += 1;
        self.bump();
        let close = if dict { '}' } else { ')' };
        let mut record = Record::new();
        let mut items = Vec::new();
        let finish = |record: Record, items: Vec<Value>| {
            Some(if dict {
                Value::Dict(record)
            } else {
                Value::Array(items)
            })
        };
        loop {
            self.skip_ws();
            match self.peek() {
                None => {
                    self.depth -= 1;
                    return Ok(finish(record, items));
                }
                Some(c) if c == close => {
                    self.bump();
                    self.depth -= 1;
                    return Ok(finish(record, items));
                }
                _ => {}
            }
            if dict {
                let Some((key, used)) = self
                    .rest()
                    .strip_prefix('"')
                    .and_then(|r| r.find('"').map(|end| (r[..end].to_owned(), end + 2)))
                else {
                    if self.rest().starts_with('"') {
                        // The key itself was cut.
                        self.depth -= 1;
                        self.cut::<()>();
                        return Ok(finish(record, items));
                    }
                    return Err(format!(
                        "expected a quoted key in `{{…}}`, found `{}`",
                        clip(self.rest())
                    ));
                };
                self.pos += used;
                self.skip_ws();
                match self.peek() {
                    Some('=') => self.bump(),
                    None => {
                        self.depth -= 1;
                        return Ok(finish(record, items));
                    }
                    Some(_) => {
                        return Err(format!("expected `=` after \"{}\"", clip(&key)));
                    }
                }
                let Some(v) = self.value()? else {
                    self.depth -= 1;
                    return Ok(finish(record, items));
                };
                record.push(key, v);
            } else {
                let Some(v) = self.value()? else {
                    self.depth -= 1;
                    return Ok(finish(record, items));
                };
                items.push(v);
            }
            self.skip_ws();
            match self.peek() {
                Some(',') => self.bump(),
                Some(c) if c == close => {}
                None => {
                    self.depth -= 1;
                    return Ok(finish(record, items));
                }
                Some(_) => {
                    return Err(format!(
                        "expected `,` or `{close}`, found `{}`",
                        clip(self.rest())
                    ));
                }
            }
        }
    }

    /// A number, `Yes` / `No`, or other bare word. Inside a container, a word that runs into the end of
    /// the line may have been cut, so it is dropped.
    fn bare(&mut self) -> Result<Option<Value>, String> {
        let rest = self.rest();
        let len = rest
            .find(|c: char| c.is_whitespace() || matches!(c, ',' | ')' | '}' | '='))
            .unwrap_or(rest.len());
        let word = &rest[..len];
        if word.is_empty() {
            return Err(format!("unexpected `{}`", clip(rest)));
        }
        self.pos += len;
        if self.depth > 0 && self.pos == self.text.len() {
            return Ok(None);
        }
        Ok(Some(bare_value(word)))
    }
}

/// A bare ioreg word: a decimal or `0x` hex integer (wrapped from unsigned 64-bit when above `i64::MAX`),
/// a decimal float, `Yes` / `No`, or else the word as text.
fn bare_value(word: &str) -> Value {
    if let Ok(i) = word.parse::<i64>() {
        return Value::Int(i);
    }
    if let Ok(u) = word.parse::<u64>() {
        return Value::Int(wrap(u));
    }
    if let Some(hex) = word.strip_prefix("0x").or_else(|| word.strip_prefix("0X"))
        && let Ok(u) = u64::from_str_radix(hex, 16)
    {
        return Value::Int(wrap(u));
    }
    match word {
        "Yes" => return Value::Bool(true),
        "No" => return Value::Bool(false),
        _ => {}
    }
    if word.contains('.')
        && let Ok(f) = word.parse::<f64>()
        && f.is_finite()
    {
        return Value::Float(f);
    }
    Value::Str(word.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Record {
        let devices = parse_text(text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(devices.len(), 1, "{devices:?}");
        devices
            .into_iter()
            .next()
            .map(|d| d.record)
            .unwrap_or_default()
    }

    #[test]
    fn unsigned_wrapped_negatives_become_signed() {
        let r = one("\"Amperage\" = 18446744073709550084\n\"CurrentCapacity\" = 34\n");
        assert_eq!(r.int("Amperage"), Some(-1532));
        // FamilyCode: a negative 32-bit IOReturn-style code printed as unsigned 64-bit.
        let r = one("\"AdapterDetails\" = {\"FamilyCode\"=18446744073172697098}\n");
        assert_eq!(
            r.dict("AdapterDetails").and_then(|d| d.int("FamilyCode")),
            Some(-536_854_518)
        );
        // Larger than u64: not a number ioreg prints; kept as text, never a panic.
        let r = one("\"CurrentCapacity\" = 99999999999999999999999\n");
        assert!(matches!(r.get("CurrentCapacity"), Some(Value::Str(_))));
    }

    #[test]
    fn tree_guides_headers_yes_no_data_and_nesting() {
        let text = "+-o Root  <class IORegistryEntry, id 0x100000100, retain 21>\n\
            | {\n\
            |   \"IOKitBuildVersion\" = \"Darwin\"\n\
            | }\n\
            | +-o \u{1b}[1mAppleSmartBattery\u{1b}[0m  <class AppleSmartBattery, id 0x10000091e, registered>\n\
            | |   {\n\
            | |     \"ExternalConnected\" = Yes\n\
            | |     \"IsCharging\" = No\n\
            | |     \"Power Source State\" = \"AC Power\"\n\
            | |     \"ManufacturerData\" = <000a12>\n\
            | |     \"Name\" = <\"bq20z451\">\n\
            | |     \"Legacy\" = {\"Amperage\" =18446744073709550895, \"Cycle Count\"=61,\"Nested\"=((1,2),{})}\n\
            | |     \"CellVoltage\" = (4298,4292,4299,0)\n\
            | |   }\n";
        let devices = parse_text(text).unwrap_or_default();
        assert_eq!(devices.len(), 1, "the root entry is not a power source");
        let d = &devices[0];
        assert_eq!(d.id, "AppleSmartBattery");
        assert_eq!(d.record.bool("ExternalConnected"), Some(true));
        assert_eq!(d.record.bool("IsCharging"), Some(false));
        assert_eq!(
            d.record.text("Power Source State").as_deref(),
            Some("AC Power")
        );
        assert_eq!(
            d.record.get("ManufacturerData"),
            Some(&Value::Data(vec![0, 10, 18]))
        );
        assert_eq!(
            d.record.get("Name"),
            Some(&Value::Data(b"bq20z451".to_vec()))
        );
        let legacy = d.record.dict("Legacy").cloned().unwrap_or_default();
        assert_eq!(legacy.int("Amperage"), Some(-721));
        assert_eq!(legacy.int("Cycle Count"), Some(61));
        assert_eq!(
            legacy.get("Nested"),
            Some(&Value::Array(vec![
                Value::Array(vec![Value::Int(1), Value::Int(2)]),
                Value::Dict(Record::new())
            ]))
        );
        assert_eq!(
            d.record
                .get("CellVoltage")
                .and_then(Value::as_array)
                .map(<[Value]>::len),
            Some(4)
        );
    }

    #[test]
    fn a_block_that_never_closes_loses_its_possibly_cut_last_line() {
        let r = one(
            "+-o AppleSmartBattery  <class AppleSmartBattery, id 0x100000254, registered, ma$\n{\n  \"MaxCapacity\" = 5524\n  \"CurrentCapacity\" = 55\n",
        );
        assert_eq!(r.int("MaxCapacity"), Some(5524));
        assert_eq!(r.get("CurrentCapacity"), None);
        // A closed block keeps every line.
        let r = one("{\n  \"MaxCapacity\" = 5524\n  \"CurrentCapacity\" = 5500\n}\n");
        assert_eq!(r.int("CurrentCapacity"), Some(5500));
    }

    #[test]
    fn a_nested_value_cut_mid_line_keeps_its_complete_elements() {
        let r = one(
            "  \"CurrentCapacity\" = 34\n      \"BatteryData\" = {\"Ra03\"=0,\"CellWom\"=(0,0),\"RaTableRaw\"=(<0001>,<00020003>,<0000007600",
        );
        let bd = r.dict("BatteryData").cloned().unwrap_or_default();
        assert_eq!(bd.int("Ra03"), Some(0));
        assert_eq!(
            bd.get("RaTableRaw")
                .and_then(Value::as_array)
                .map(<[Value]>::len),
            Some(2)
        );
        // A number at the cut is dropped (it may have lost digits); a cut string or key too.
        for cut in [
            "{\"A\"=1,\"B\"=12",
            "{\"A\"=1,\"B\"=\"tex",
            "{\"A\"=1,\"B",
            "{\"A\"=1,\"B\"=",
            "{\"A\"=1,",
        ] {
            let r = one(&format!("\"BatteryData\" = {cut}\n"));
            let x = r.dict("BatteryData").cloned().unwrap_or_default();
            assert_eq!(x.int("A"), Some(1), "{cut}");
            assert_eq!(x.len(), 1, "{cut}");
        }
    }

    #[test]
    fn noise_lines_are_skipped_and_bad_property_lines_name_the_line() {
        let r = one(
            "$ ioreg -rn AppleSmartBattery | grep '\"MaxCapacity\" ='\n      \"MaxCapacity\" = 6077\n...\nBattery status:\n  Current charge: 80%\n",
        );
        assert_eq!(r.int("MaxCapacity"), Some(6077));
        let err = parse_text("\"MaxCapacity\" = 6077\n\"BatteryData\" = {\"A\"=1;\"B\"=2}\n").err();
        assert_eq!(err.as_ref().map(|e| e.line), Some(2), "{err:?}");
        let err = parse_text("\"MaxCapacity\" = 6077\n\"Name\" = <zz>\n").err();
        assert_eq!(err.map(|e| e.line), Some(2));
        let err = parse_text("\"MaxCapacity\" = 6077\n{\"Ra03\"=0}\n").err();
        assert_eq!(err.map(|e| e.line), Some(2));
        let err = parse_text("\"MaxCapacity\" 6077\n").err();
        assert_eq!(err.map(|e| e.line), Some(1));
        assert!(parse_text("hello\nworld\n").is_err());
    }

    #[test]
    fn entries_are_named_and_suffixed() {
        let text = "+-o AppleSmartBattery  <class AppleSmartBattery>\n{\n\"CurrentCapacity\" = 50\n}\n+-o AppleSmartBattery  <class AppleSmartBattery>\n{\n\"CurrentCapacity\" = 60\n}\n+-o IOUSBHostDevice  <class IOUSBHostDevice>\n{\n\"Voltage\" = 5000\n}\n";
        let devices = parse_text(text).unwrap_or_default();
        let ids: Vec<&str> = devices.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(ids, ["AppleSmartBattery", "AppleSmartBattery-2"]);
    }

    #[test]
    fn garbage_never_panics() {
        let samples = [
            "\"",
            "\"A\" = (((((((",
            "\"A\" = {\"",
            "\"A\" = <\"",
            "\"A\" = {\"a\"=(1,{\"b\"=<00",
            "\"A\" = ,",
            "\"A\" = }",
            "+-o",
            "+-o   <class",
            "\"A\" = 0xZZ",
            "\"A\" = \u{1b}[",
            "\"é\" = \"ü\"",
        ];
        for s in samples {
            let _ = parse_text(s);
            let _ = parse_plist(s.as_bytes());
        }
        let deep = format!("\"A\" = {}", "(".repeat(10_000));
        assert!(parse_text(&deep).is_err());
    }

    const PLIST: &str = r#"# source: test
/usr/sbin/ioreg -arn AppleSmartBattery
<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<array>
	<dict>
		<key>Amperage</key>
		<integer>-1889</integer>
		<key>FamilyCode</key>
		<integer>18446744073172697098</integer>
		<key>IORegistryEntryName</key>
		<string>AppleSmartBattery</string>
		<key>ExternalConnected</key>
		<false/>
		<key>Ratio</key>
		<real>0.5</real>
		<key>Blob</key>
		<data>AAEC</data>
		<key>BatteryData</key>
		<dict>
			<key>CellVoltage</key>
			<array>
				<integer>3824</integer>
				<integer>3888</integer>
			</array>
		</dict>
	</dict>
</array>
</plist>
"#;

    #[test]
    fn xml_plist_after_comment_and_command_lines() {
        let devices = parse_plist(PLIST.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(devices.len(), 1);
        let r = &devices[0].record;
        assert_eq!(devices[0].id, "AppleSmartBattery");
        assert_eq!(r.int("Amperage"), Some(-1889));
        assert_eq!(r.int("FamilyCode"), Some(-536_854_518));
        assert_eq!(r.bool("ExternalConnected"), Some(false));
        assert_eq!(r.get("Ratio"), Some(&Value::Float(0.5)));
        assert_eq!(r.get("Blob"), Some(&Value::Data(vec![0, 1, 2])));
    }

    #[test]
    fn cut_xml_plist_keeps_what_was_read() {
        for cut_at in [
            "<integer>3888</integer>",
            "<integer>38",
            "<key>Blob",
            "<data>AAEC</data>",
        ] {
            let end = PLIST.find(cut_at).unwrap_or(0) + cut_at.len();
            let devices =
                parse_plist(&PLIST.as_bytes()[..end]).unwrap_or_else(|e| panic!("{cut_at}: {e}"));
            assert_eq!(devices[0].record.int("Amperage"), Some(-1889), "{cut_at}");
        }
        let cut = &PLIST[..PLIST.find("<integer>3888</integer>").unwrap_or(0) + 23];
        let devices = parse_plist(cut.as_bytes()).unwrap_or_default();
        let cells = devices[0]
            .record
            .dict("BatteryData")
            .and_then(|d| d.get("CellVoltage"))
            .and_then(Value::as_array)
            .map(<[Value]>::len);
        assert_eq!(cells, Some(2));
    }

    #[test]
    fn bad_xml_names_its_line_and_foreign_plists_are_refused() {
        let bad = PLIST.replace("<integer>-1889</integer>", "<integer>abc</integer>");
        let err = parse_plist(bad.as_bytes()).err();
        assert_eq!(err.as_ref().map(|e| e.line), Some(9), "{err:?}");
        let foreign = "<?xml version=\"1.0\"?>\n<plist version=\"1.0\"><dict><key>CFBundleName</key><string>X</string></dict></plist>\n";
        let err = parse_plist(foreign.as_bytes()).err().map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("no AppleSmartBattery")));
    }

    #[test]
    fn ioreg_l_plist_tree_is_walked() {
        let tree = "<?xml version=\"1.0\"?>\n<plist version=\"1.0\"><dict><key>IORegistryEntryName</key><string>Root</string>\
            <key>IORegistryEntryChildren</key><array><dict><key>IOObjectClass</key><string>AppleSmartBattery</string>\
            <key>IORegistryEntryName</key><string>AppleSmartBattery</string><key>BatteryInstalled</key><true/></dict></array></dict></plist>";
        let devices = parse_plist(tree.as_bytes()).unwrap_or_default();
        assert_eq!(devices.len(), 1);
        assert_eq!(devices[0].record.bool("BatteryInstalled"), Some(true));
        assert!(!devices[0].record.contains("IORegistryEntryChildren"));
    }

    #[test]
    fn binary_plist_comes_free() {
        // `plutil -convert binary1` of [{"CurrentCapacity"=80}], built by the plist crate's own writer.
        let mut dict = plist::Dictionary::new();
        dict.insert("CurrentCapacity".into(), plist::Value::Integer(80.into()));
        dict.insert("Amperage".into(), plist::Value::Integer((-1532_i64).into()));
        let mut bytes = Vec::new();
        let ok = plist::Value::Array(vec![plist::Value::Dictionary(dict)])
            .to_writer_binary(&mut bytes)
            .is_ok();
        assert!(ok);
        let devices = parse_plist(&bytes).unwrap_or_default();
        assert_eq!(devices[0].record.int("CurrentCapacity"), Some(80));
        assert_eq!(devices[0].record.int("Amperage"), Some(-1532));
    }

    #[test]
    fn detection_helpers() {
        assert!(looks_like_text("$ ioreg\n  \"CurrentCapacity\" = 34\n"));
        assert!(looks_like_text(
            "| | | \"IOBatteryInfo\" = ({\"Capacity\"=3971})\n"
        ));
        assert!(!looks_like_text("# \"A\" = 1\nPOWER_SUPPLY_NAME=BAT0\n"));
        assert_eq!(plist_start(b"# a\n# b\n<?xml version"), Some(8));
        assert_eq!(plist_start(b"bplist00..."), Some(0));
        assert_eq!(plist_start(b"one\ntwo\nthree\n<?xml"), None);
    }
}
