//! Power-supply properties read in place: one pass over the text a shell read (uevent files, attribute
//! values) puts each property the decoder uses into a fixed slot, so that a decode looks nothing up by
//! name and builds no [`Record`].
//!
//! The decoder reads a fixed set of `POWER_SUPPLY_*` properties ([`Key`]) and four keys a shell adds from
//! outside the device's files ([`Extra`]). A line's key is matched to its slot by a perfect hash of the
//! name (checked free of collisions when the crate is compiled) and one comparison; keys the decoder
//! does not read are passed over. The same text gives the [`Record`] `voltaic record` prints
//! ([`Properties::to_record`]), line by line.

use super::PREFIX;
use crate::record::{Record, Value};

/// Declares [`Key`] and its names together, so that neither can be changed without the other.
macro_rules! keys {
    ($($key:ident = $name:literal,)*) => {
        /// A `POWER_SUPPLY_*` property the decoder reads (the name after the prefix, as the kernel's
        /// `power_supply_sysfs.c` writes it).
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[repr(u8)]
        pub(crate) enum Key {
            $(
                #[doc = concat!("`POWER_SUPPLY_", $name, "`")]
                $key,
            )*
        }

        /// The name of each [`Key`] after the prefix, in declaration order.
        const NAMES: &[&str] = &[$($name),*];

        /// Every [`Key`], indexed like [`NAMES`].
        const ALL: &[Key] = &[$(Key::$key),*];
    };
}

keys! {
    Type = "TYPE",
    Status = "STATUS",
    Present = "PRESENT",
    Online = "ONLINE",
    Scope = "SCOPE",
    Capacity = "CAPACITY",
    CapacityLevel = "CAPACITY_LEVEL",
    EnergyNow = "ENERGY_NOW",
    EnergyAvg = "ENERGY_AVG",
    EnergyFull = "ENERGY_FULL",
    EnergyFullDesign = "ENERGY_FULL_DESIGN",
    ChargeNow = "CHARGE_NOW",
    ChargeAvg = "CHARGE_AVG",
    ChargeFull = "CHARGE_FULL",
    ChargeFullDesign = "CHARGE_FULL_DESIGN",
    VoltageNow = "VOLTAGE_NOW",
    VoltageAvg = "VOLTAGE_AVG",
    VoltageMinDesign = "VOLTAGE_MIN_DESIGN",
    VoltageMaxDesign = "VOLTAGE_MAX_DESIGN",
    VoltageMax = "VOLTAGE_MAX",
    CurrentNow = "CURRENT_NOW",
    CurrentAvg = "CURRENT_AVG",
    CurrentMax = "CURRENT_MAX",
    PowerNow = "POWER_NOW",
    PowerAvg = "POWER_AVG",
    InputPowerLimit = "INPUT_POWER_LIMIT",
    UsbType = "USB_TYPE",
    ModelName = "MODEL_NAME",
    Manufacturer = "MANUFACTURER",
    SerialNumber = "SERIAL_NUMBER",
    Technology = "TECHNOLOGY",
    CycleCount = "CYCLE_COUNT",
    Temp = "TEMP",
    ChargeControlStartThreshold = "CHARGE_CONTROL_START_THRESHOLD",
    ChargeStartThreshold = "CHARGE_START_THRESHOLD",
    ChargeControlEndThreshold = "CHARGE_CONTROL_END_THRESHOLD",
    ChargeStopThreshold = "CHARGE_STOP_THRESHOLD",
    ChargeBehaviour = "CHARGE_BEHAVIOUR",
    ChargeTypes = "CHARGE_TYPES",
    TimeToEmptyNow = "TIME_TO_EMPTY_NOW",
    TimeToEmptyAvg = "TIME_TO_EMPTY_AVG",
    TimeToFullNow = "TIME_TO_FULL_NOW",
    TimeToFullAvg = "TIME_TO_FULL_AVG",
    ManufactureYear = "MANUFACTURE_YEAR",
    ManufactureMonth = "MANUFACTURE_MONTH",
    ManufactureDay = "MANUFACTURE_DAY",
}

impl Key {
    /// The name after `POWER_SUPPLY_`.
    pub(crate) fn name(self) -> &'static str {
        NAMES[self as usize]
    }

    /// The key whose name is `name`: exactly (a uevent line) or in any case (`fold`: an attribute file's
    /// lower-case name).
    fn of(name: &[u8], fold: bool) -> Option<Key> {
        let i = usize::from(HASHED[hash(name)]).checked_sub(1)?;
        let want = NAMES[i].as_bytes();
        let same = if fold {
            want.eq_ignore_ascii_case(name)
        } else {
            same_bytes(want, name)
        };
        // `i` indexes NAMES, which has one entry per variant, in order.
        same.then(|| ALL[i])
    }
}

/// `a == b`, a word at a time (property names are 4 to 30 bytes: a library call costs more than the
/// comparison).
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let len = a.len();
    if len != b.len() {
        return false;
    }
    let word = |s: &[u8], at: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&s[at..at + 8]);
        u64::from_le_bytes(w)
    };
    let half = |s: &[u8], at: usize| {
        let mut w = [0u8; 4];
        w.copy_from_slice(&s[at..at + 4]);
        u32::from_le_bytes(w)
    };
    match len {
        0..4 => a == b,
        // Two overlapping halves cover 4 to 8 bytes; words, the last one overlapping, the rest.
        4..=8 => half(a, 0) == half(b, 0) && half(a, len - 4) == half(b, len - 4),
        _ => {
            let mut at = 0;
            while at + 8 < len {
                if word(a, at) != word(b, at) {
                    return false;
                }
                at += 8;
            }
            word(a, len - 8) == word(b, len - 8)
        }
    }
}

/// Slots of the perfect hash of [`NAMES`].
const HASH_SLOTS: usize = 128;

/// A hash of a property name that is blind to ASCII case and tells every [`NAMES`] entry apart (the
/// table below fails to compile otherwise): its length, first, middle and last byte.
const fn hash(name: &[u8]) -> usize {
    let len = name.len();
    if len == 0 {
        return 0;
    }
    // `& 0xDF` folds ASCII letters to upper case; `_` (0x5F) is unchanged.
    let (first, last, middle) = (
        (name[0] & 0xDF) as usize,
        (name[len - 1] & 0xDF) as usize,
        (name[len / 2] & 0xDF) as usize,
    );
    (len * 3 + first * 55 + last * 7 + middle) % HASH_SLOTS
}

/// [`Key`] index + 1 per hash slot (0: none).
const HASHED: [u8; HASH_SLOTS] = {
    let mut table = [0u8; HASH_SLOTS];
    let mut i = 0;
    while i < NAMES.len() {
        let h = hash(NAMES[i].as_bytes());
        assert!(
            table[h] == 0,
            "two property names share a hash slot: change `hash`"
        );
        table[h] = (i + 1) as u8;
        i += 1;
    }
    table
};

/// A key a shell adds beside a device's own properties, read from outside its directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Extra {
    /// [`super::USB_WIRELESS_STATUS`]
    UsbWirelessStatus,
    /// [`super::DMI_PRODUCT_NAME`]
    DmiProductName,
    /// [`super::INPUT_NAME`]
    InputName,
    /// [`super::INPUT_UNIQ`]
    InputUniq,
}

impl Extra {
    const ALL: [Extra; 4] = [
        Extra::UsbWirelessStatus,
        Extra::DmiProductName,
        Extra::InputName,
        Extra::InputUniq,
    ];

    /// The whole key.
    pub(crate) fn key(self) -> &'static str {
        match self {
            Extra::UsbWirelessStatus => super::USB_WIRELESS_STATUS,
            Extra::DmiProductName => super::DMI_PRODUCT_NAME,
            Extra::InputName => super::INPUT_NAME,
            Extra::InputUniq => super::INPUT_UNIQ,
        }
    }

    fn of(key: &[u8]) -> Option<Extra> {
        Extra::ALL.into_iter().find(|e| e.key().as_bytes() == key)
    }

    fn slot(self) -> usize {
        NAMES.len() + self as usize
    }
}

/// One slot per [`Key`] and per [`Extra`].
const SLOTS: usize = NAMES.len() + Extra::ALL.len();
const _: () = assert!(SLOTS <= 64, "`Index::present` is one bit per slot");

/// What a shell read for one device, as a range of its text: a whole uevent file, an attribute file's
/// value (its line end left out), or a value read from outside the device's directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    kind: SpanKind,
    start: u32,
    end: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SpanKind {
    /// `KEY=VALUE` lines.
    Uevent,
    /// The value of a sysfs attribute file (`charge_control_end_threshold`): the key is `POWER_SUPPLY_` +
    /// its name upper-cased.
    Attribute(&'static str),
    /// The value of a key the shell adds ([`super::USB_WIRELESS_STATUS`], [`super::INPUT_NAME`],
    /// [`super::INPUT_UNIQ`], [`super::DMI_PRODUCT_NAME`]).
    Extra(&'static str),
}

impl Span {
    /// A uevent file's text at `start..end`.
    #[must_use]
    pub fn uevent(start: usize, end: usize) -> Span {
        Span::of(SpanKind::Uevent, start, end)
    }

    /// The property read from the attribute file `attribute` (lower case, as in sysfs), whose text is at
    /// `start..end`.
    #[must_use]
    pub fn attribute(attribute: &'static str, start: usize, end: usize) -> Span {
        Span::of(SpanKind::Attribute(attribute), start, end)
    }

    /// A value the shell read from outside the device's own files, under the key `key` (one of
    /// [`super::USB_WIRELESS_STATUS`], [`super::INPUT_NAME`], [`super::INPUT_UNIQ`],
    /// [`super::DMI_PRODUCT_NAME`]), at `start..end`.
    #[must_use]
    pub fn extra(key: &'static str, start: usize, end: usize) -> Span {
        Span::of(SpanKind::Extra(key), start, end)
    }

    fn of(kind: SpanKind, start: usize, end: usize) -> Span {
        // Texts are bounded far below 4 GiB by the shells (a device reads at most 128 KiB).
        let clamp = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
        Span {
            kind,
            start: clamp(start),
            end: clamp(end),
        }
    }
}

/// Where each property the decoder reads lies in a device's text: one slot per property, filled by
/// [`Index::add`] in one pass over each [`Span`] (a shell can so consult what it has read while it still
/// appends to the text). A key that appears twice takes its last value, as in a [`Record`].
#[derive(Debug, Clone, Copy)]
pub struct Index {
    /// Each property's value, trimmed, as a range of the text (valid where `present` has its bit).
    slots: [(u32, u32); SLOTS],
    present: u64,
}

impl Default for Index {
    fn default() -> Self {
        Index {
            slots: [(0, 0); SLOTS],
            present: 0,
        }
    }
}

impl Index {
    /// Indexes what `span` locates in `text`.
    pub fn add(&mut self, text: &[u8], span: Span) {
        let (start, end) = (span.start as usize, span.end as usize);
        match span.kind {
            SpanKind::Uevent => self.add_uevent(text, start, end),
            SpanKind::Attribute(name) => {
                if let Some(key) = Key::of(name.as_bytes(), true) {
                    self.set(text, key as usize, start, end);
                }
            }
            SpanKind::Extra(key) => {
                if let Some(extra) = Extra::of(key.as_bytes()) {
                    self.set(text, extra.slot(), start, end);
                }
            }
        }
    }

    /// Puts each `KEY=VALUE` line of `text[start..end]` the decoder reads into its slot: one scan for the
    /// first `=` or line end, one for the line end after an `=`.
    fn add_uevent(&mut self, text: &[u8], start: usize, end: usize) {
        let bytes = &text[..end.min(text.len())];
        let mut at = start.min(bytes.len());
        while at < bytes.len() {
            let rest = &bytes[at..];
            let Some(eq) = find_either(rest, b'=', b'\n').filter(|&i| rest[i] == b'=') else {
                // A line without `=` (the kernel never writes one), or the end of the text.
                at += find_byte(rest, b'\n').map_or(rest.len(), |i| i + 1);
                continue;
            };
            let len = eq + 1 + find_byte(&rest[eq + 1..], b'\n').unwrap_or(rest.len() - eq - 1);
            let body_end = if len > eq + 1 && rest[len - 1] == b'\r' {
                len - 1
            } else {
                len
            };
            let key = rest[..eq].trim_ascii();
            let slot = match key.strip_prefix(PREFIX.as_bytes()) {
                Some(short) if !short.is_empty() => Key::of(short, false).map(|key| key as usize),
                _ => Extra::of(key).map(Extra::slot),
            };
            if let Some(slot) = slot {
                self.set(text, slot, at + eq + 1, at + body_end);
            }
            at += len + 1;
        }
    }

    fn set(&mut self, text: &[u8], slot: usize, start: usize, end: usize) {
        self.slots[slot] = trimmed(text, start, end);
        self.present |= 1 << slot;
    }

    /// The range of slot `slot`'s value, when it is set.
    fn range(&self, slot: usize) -> Option<std::ops::Range<usize>> {
        (self.present & (1 << slot) != 0).then(|| {
            let (start, end) = self.slots[slot];
            start as usize..end as usize
        })
    }

    /// The value of `POWER_SUPPLY_` + `name` (`name` upper case), trimmed, in `text` (the text the index
    /// was built from): one of the properties the decoder reads (`TYPE`, `SCOPE`, `MODEL_NAME`, the
    /// charge-limit attributes …); `None` for any other name.
    #[must_use]
    pub fn get<'t>(&self, text: &'t [u8], name: &str) -> Option<&'t [u8]> {
        let key = Key::of(name.as_bytes(), false)?;
        text.get(self.range(key as usize)?)
    }

    /// Whether the property of attribute file `attribute` (lower case, `charge_behaviour`), one of those
    /// the decoder reads, is there under either spelling (a uevent line or the attribute file).
    #[must_use]
    pub fn has_attribute(&self, attribute: &str) -> bool {
        Key::of(attribute.as_bytes(), true)
            .is_some_and(|key| self.present & (1 << key as usize) != 0)
    }
}

/// One device's properties, borrowed from the text they were read into (uevent files, attribute
/// values): what [`super::refresh_battery`] and [`super::decode_properties`] read, without a [`Record`]
/// being built. Each lookup is one slot of its [`Index`].
#[derive(Debug, Clone, Copy)]
pub struct Properties<'a> {
    text: &'a str,
    spans: &'a [Span],
    index: Index,
}

impl<'a> Properties<'a> {
    /// The properties `spans` locate in `text` (values are checked to be UTF-8 only as they are read).
    #[must_use]
    pub fn new(text: &'a str, spans: &'a [Span]) -> Self {
        let mut index = Index::default();
        for span in spans {
            index.add(text.as_bytes(), *span);
        }
        Properties::indexed(text, spans, index)
    }

    /// The properties `spans` locate in `text`, already indexed (`index` is what [`Index::add`] made of
    /// each span; nothing is read again).
    #[must_use]
    pub fn indexed(text: &'a str, spans: &'a [Span], index: Index) -> Self {
        Properties { text, spans, index }
    }

    fn slot(&self, slot: usize) -> Option<&'a str> {
        self.text.get(self.index.range(slot)?)
    }

    /// The value of `POWER_SUPPLY_` + `key`, trimmed, as bytes.
    pub(crate) fn bytes(&self, key: Key) -> Option<&'a [u8]> {
        self.slot(key as usize).map(str::as_bytes)
    }

    /// The value of `POWER_SUPPLY_` + `key`, trimmed; `None` when absent or not UTF-8.
    pub(crate) fn text(&self, key: Key) -> Option<&'a str> {
        self.slot(key as usize)
    }

    /// Whether `POWER_SUPPLY_` + `key` is there (whatever its value).
    pub(crate) fn has(&self, key: Key) -> bool {
        self.index.present & (1 << key as usize) != 0
    }

    /// The value of an added key, trimmed.
    pub(crate) fn extra(&self, extra: Extra) -> Option<&'a str> {
        self.slot(extra.slot())
    }

    /// The value of `POWER_SUPPLY_` + `name` (`name` upper case), trimmed: one of the properties the
    /// decoder reads (`TYPE`, `SCOPE`, `MODEL_NAME`, `MANUFACTURER`, `SERIAL_NUMBER`, the charge-limit
    /// attributes …); `None` for any other name.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&'a str> {
        Key::of(name.as_bytes(), false).and_then(|key| self.text(key))
    }

    /// The value of a key the shell adds ([`super::USB_WIRELESS_STATUS`], [`super::DMI_PRODUCT_NAME`],
    /// [`super::INPUT_NAME`], [`super::INPUT_UNIQ`]), trimmed; `None` for any other key.
    #[must_use]
    pub fn get_key(&self, key: &str) -> Option<&'a str> {
        Extra::of(key.as_bytes()).and_then(|extra| self.extra(extra))
    }

    /// Whether the property of attribute file `attribute` (lower case, `charge_behaviour`), one of those
    /// the decoder reads, is there under either spelling (a uevent line or the attribute file).
    #[must_use]
    pub fn has_attribute(&self, attribute: &str) -> bool {
        self.index.has_attribute(attribute)
    }

    /// Every property as a record (for `voltaic record` and the replay of a sysfs tree): each uevent
    /// line's key (white space around it removed) and value as written, each attribute as
    /// `POWER_SUPPLY_` + its name upper-cased, each added key as it is.
    #[must_use]
    pub fn to_record(&self) -> Record {
        let mut record = Record::new();
        for span in self.spans {
            let value = self
                .text
                .get(span.start as usize..span.end as usize)
                .unwrap_or_default();
            match span.kind {
                SpanKind::Uevent => {
                    for (key, value) in value.split('\n').filter_map(line) {
                        record.push(key, Value::Str(value.to_owned()));
                    }
                }
                SpanKind::Attribute(name) => record.push(
                    format!("{PREFIX}{}", name.to_ascii_uppercase()),
                    Value::Str(value.to_owned()),
                ),
                SpanKind::Extra(key) => record.push(key, Value::Str(value.to_owned())),
            }
        }
        record
    }
}

/// The key (without white space around it) and the value (as written) of one uevent line (without its
/// `\n`; a `\r` before it is dropped too), split at the first `=`. Lines without one are not
/// properties: the kernel never writes them.
fn line(line: &str) -> Option<(&str, &str)> {
    let body = line.strip_suffix('\r').unwrap_or(line);
    let (key, value) = body.split_once('=')?;
    Some((key.trim_ascii(), value))
}

/// `start..end` without surrounding white space (as `str::trim`; ASCII checked first, the usual case);
/// left as it is when not UTF-8 (then it is never read).
fn trimmed(text: &[u8], start: usize, end: usize) -> (u32, u32) {
    let value = text.get(start..end).unwrap_or_default();
    let plain = |b: Option<&u8>| b.is_none_or(u8::is_ascii_graphic);
    if plain(value.first()) && plain(value.last()) {
        return (start as u32, end as u32);
    }
    let Ok(value) = std::str::from_utf8(value) else {
        return (start as u32, end as u32);
    };
    let lead = value.len() - value.trim_start().len();
    (
        (start + lead) as u32,
        (start + lead + value.trim().len()) as u32,
    )
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// The bytes of `word` equal to `byte`, flagged by their high bit (the classic "has a zero byte" test
/// on `word ^ byte×8`): the lowest flagged byte is always the first match (bytes above it may be
/// flagged falsely, after a borrow).
fn matches(word: u64, byte: u8) -> u64 {
    let x = word ^ (LO * u64::from(byte));
    x.wrapping_sub(LO) & !x & HI
}

/// The index of the first `needle` in `hay`, eight bytes at a time.
fn find_byte(hay: &[u8], needle: u8) -> Option<usize> {
    find_either(hay, needle, needle)
}

/// The index of the first `a` or `b` in `hay`, eight bytes at a time.
fn find_either(hay: &[u8], a: u8, b: u8) -> Option<usize> {
    let mut chunks = hay.chunks_exact(8);
    let mut at = 0;
    for chunk in chunks.by_ref() {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(chunk);
        let word = u64::from_le_bytes(bytes);
        let found = matches(word, a) | matches(word, b);
        if found != 0 {
            return Some(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&c| c == a || c == b)
        .map(|i| at + i)
}

/// A decimal integer as `str::parse::<i64>` reads it (an optional sign, then digits only, no overflow),
/// from bytes: no UTF-8 check is needed, since any byte outside ASCII fails the parse either way.
pub(crate) fn parse_int(bytes: &[u8]) -> Option<i64> {
    let (negative, digits) = match bytes {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        _ => (false, bytes),
    };
    if digits.is_empty() {
        return None;
    }
    // Up to 18 digits cannot overflow: plain arithmetic (every sysfs value is that short).
    if digits.len() <= 18 {
        let mut value: i64 = 0;
        for &b in digits {
            let digit = b.wrapping_sub(b'0');
            if digit > 9 {
                return None;
            }
            value = value * 10 + i64::from(digit);
        }
        return Some(if negative { -value } else { value });
    }
    let mut value: i64 = 0;
    for &b in digits {
        let digit = i64::from(b.wrapping_sub(b'0'));
        if digit > 9 {
            return None;
        }
        value = value.checked_mul(10)?;
        value = if negative {
            value.checked_sub(digit)?
        } else {
            value.checked_add(digit)?
        };
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_finds_its_key_in_either_case() {
        for (i, name) in NAMES.iter().enumerate() {
            assert_eq!(ALL[i] as usize, i);
            assert_eq!(Key::of(name.as_bytes(), false), Some(ALL[i]));
            assert_eq!(ALL[i].name(), *name);
            let lower = name.to_ascii_lowercase();
            assert_eq!(Key::of(lower.as_bytes(), true), Some(ALL[i]));
            assert_eq!(Key::of(lower.as_bytes(), false), None);
        }
        for other in [
            "",
            "X",
            "NAME",
            "CAPACITY_",
            "TYPES",
            "VOLTAGE_OCV",
            "ENERGY_NOW ",
            "TYPF",
            "TEMQ",
            "ONLINF",
            "CHARGE_CONTROL_START_THRESHOLE",
            "DHARGE_CONTROL_START_THRESHOLD",
            "CHARGE_CONTROL_STARX_THRESHOLD",
        ] {
            assert_eq!(Key::of(other.as_bytes(), true), None, "{other}");
        }
    }

    #[test]
    fn same_bytes_sees_every_byte() {
        for len in 0..40usize {
            let a: Vec<u8> = (0..len).map(|i| b'A' + (i % 26) as u8).collect();
            assert!(same_bytes(&a, &a.clone()));
            assert!(!same_bytes(&a, &a[..len.saturating_sub(1)]) || len == 0);
            for i in 0..len {
                let mut b = a.clone();
                b[i] ^= 0x20;
                assert!(!same_bytes(&a, &b), "{len} {i}");
            }
        }
    }

    #[test]
    fn integers_parse_as_str_parse_does() {
        let cases = [
            "",
            "+",
            "-",
            "0",
            "-0",
            "+7",
            "12",
            "007",
            "1 ",
            " 1",
            "1.5",
            "abc",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775808",
            "-9223372036854775809",
            "１",
            "--1",
            "+-1",
            "99999999999999999999",
            "999999999999999999",
            "-999999999999999999",
            "1000000000000000000",
            "0000000000000000000000001",
        ];
        for case in cases {
            assert_eq!(
                parse_int(case.as_bytes()),
                case.parse::<i64>().ok(),
                "{case:?}"
            );
        }
        assert_eq!(parse_int(b"\xff1"), None);
    }

    #[test]
    fn find_byte_finds_the_first_at_every_position() {
        for len in 0..40 {
            for at in 0..=len {
                let mut hay = vec![b'a'; len];
                hay.extend_from_slice(b"\n\n=");
                hay[..at].fill(0xff);
                let want = hay.iter().position(|&b| b == b'\n');
                assert_eq!(find_byte(&hay, b'\n'), want, "{len} {at}");
            }
        }
        assert_eq!(find_byte(b"", b'\n'), None);
        assert_eq!(find_byte(b"\x0b\x09\x8a\x0a", b'\n'), Some(3));
    }

    #[test]
    fn lines_attributes_and_added_keys_fill_their_slots() {
        let text = "DEVTYPE=power_supply\nPOWER_SUPPLY_TYPE = Battery\r\n POWER_SUPPLY_X=1\nno line\n\
            POWER_SUPPLY_CAPACITY=10\nPOWER_SUPPLY_capacity=30\nPOWER_SUPPLY_CAPACITY=20\nPOWER_SUPPLY_=9\n\
            DMI_PRODUCT_NAME= MacBook8,1 \n50\nX";
        let uevent_end = text.len() - 4;
        let spans = [
            Span::uevent(0, uevent_end),
            Span::attribute("charge_control_end_threshold", uevent_end, uevent_end + 2),
            Span::extra(
                super::super::USB_WIRELESS_STATUS,
                uevent_end + 3,
                text.len(),
            ),
        ];
        let p = Properties::new(text, &spans);
        assert_eq!(p.get("TYPE"), Some("Battery"));
        assert_eq!(p.get("CAPACITY"), Some("20"));
        assert_eq!(p.get("X"), None);
        assert_eq!(p.get_key("DMI_PRODUCT_NAME"), Some("MacBook8,1"));
        assert_eq!(p.get("CHARGE_CONTROL_END_THRESHOLD"), Some("50"));
        assert!(p.has_attribute("charge_control_end_threshold"));
        assert!(!p.has_attribute("charge_behaviour"));
        assert_eq!(p.get_key(super::super::USB_WIRELESS_STATUS), Some("X"));
        let record = p.to_record();
        let keys: Vec<&str> = record.iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            [
                "DEVTYPE",
                "POWER_SUPPLY_TYPE",
                "POWER_SUPPLY_X",
                "POWER_SUPPLY_CAPACITY",
                "POWER_SUPPLY_capacity",
                "POWER_SUPPLY_CAPACITY",
                "POWER_SUPPLY_",
                "DMI_PRODUCT_NAME",
                "POWER_SUPPLY_CHARGE_CONTROL_END_THRESHOLD",
                "USB_WIRELESS_STATUS"
            ]
        );
        assert_eq!(
            record.text("POWER_SUPPLY_TYPE").as_deref(),
            Some(" Battery")
        );
    }
}
