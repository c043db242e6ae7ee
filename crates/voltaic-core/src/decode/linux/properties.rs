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
    #[inline]
    fn of(name: &[u8], fold: bool) -> Option<Key> {
        let i = usize::from(HASHED[hash(name)]).checked_sub(1)?;
        let want = NAMES[i].as_bytes();
        // An attribute file's name is the lower-case name: compared as such first.
        let same = same_bytes(want, name)
            || fold
                && (same_bytes(&LOWER[i][..want.len()], name) || want.eq_ignore_ascii_case(name));
        // `i` indexes NAMES, which has one entry per variant, in order.
        same.then(|| ALL[i])
    }
}

// `Index::still_indexes` relies on it: a digit changed never makes a line name another property.
const _: () = {
    let mut i = 0;
    while i < NAMES.len() {
        let name = NAMES[i].as_bytes();
        let mut j = 0;
        while j < name.len() {
            assert!(!name[j].is_ascii_digit(), "a property name with a digit");
            j += 1;
        }
        i += 1;
    }
};

/// Each name of [`NAMES`] in lower case (an attribute file's name), padded.
const LOWER: [[u8; 32]; NAMES.len()] = {
    let mut lower = [[0u8; 32]; NAMES.len()];
    let mut i = 0;
    while i < NAMES.len() {
        let name = NAMES[i].as_bytes();
        assert!(
            name.len() <= 32,
            "a property name longer than `LOWER` holds"
        );
        let mut j = 0;
        while j < name.len() {
            lower[i][j] = name[j].to_ascii_lowercase();
            j += 1;
        }
        i += 1;
    }
    lower
};

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

/// A name's first 16 bytes (zeros after its end) as two little-endian words: what a uevent line is matched
/// on first (see [`Index::add_uevent`]).
const fn window(name: &[u8]) -> (u64, u64) {
    let mut bytes = [0u8; 16];
    let mut i = 0;
    while i < name.len() && i < 16 {
        bytes[i] = name[i];
        i += 1;
    }
    let mut words = [0u64; 2];
    let mut j = 0;
    while j < 16 {
        words[j / 8] |= (bytes[j] as u64) << (8 * (j % 8));
        j += 1;
    }
    (words[0], words[1])
}

/// A hash of a [`window`] that tells every [`NAMES`] entry apart (the table below fails to compile
/// otherwise): a multiplicative hash of the two words, its top seven bits.
const fn window_hash((first, second): (u64, u64)) -> usize {
    const MULTIPLIER: u64 = 0x7a71_282c_7d8b_ff25;
    (first
        .wrapping_add(second.wrapping_mul(3))
        .wrapping_mul(MULTIPLIER)
        >> 57) as usize
}

/// The [`window`] of each name, indexed like [`NAMES`].
const WINDOWS: [(u64, u64); NAMES.len()] = {
    let mut windows = [(0, 0); NAMES.len()];
    let mut i = 0;
    while i < NAMES.len() {
        windows[i] = window(NAMES[i].as_bytes());
        i += 1;
    }
    windows
};

/// [`Key`] index + 1 per [`window_hash`] slot (0: none).
const BY_WINDOW: [u8; 128] = {
    let mut table = [0u8; 128];
    let mut i = 0;
    while i < NAMES.len() {
        let h = window_hash(WINDOWS[i]);
        assert!(
            table[h] == 0,
            "two property names share a window hash slot: change `window_hash`"
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
    /// The index of everything `spans` locate in `text`.
    #[must_use]
    pub fn of(text: &[u8], spans: &[Span]) -> Index {
        let mut index = Index::default();
        for span in spans {
            index.add(text, *span);
        }
        index
    }

    /// Whether an index of `old` also indexes `new`, so that a refresh need not read the lines again:
    /// the same length, and every byte that differs is a digit in both (a reading whose numbers moved).
    /// Lines, `=` signs and white space are then where they were, and no name the decoder reads holds a
    /// digit, so every line still names the property it named.
    #[must_use]
    pub fn still_indexes(old: &[u8], new: &[u8]) -> bool {
        if old.len() != new.len() {
            return false;
        }
        // Nothing moved (one library comparison), or look at the words that differ.
        if old == new {
            return true;
        }
        let moved = |a: &[u8], b: &[u8]| {
            a.iter()
                .zip(b)
                .all(|(a, b)| a == b || a.is_ascii_digit() && b.is_ascii_digit())
        };
        let (mut olds, mut news) = (old.chunks_exact(8), new.chunks_exact(8));
        for (a, b) in olds.by_ref().zip(news.by_ref()) {
            if a != b && !moved(a, b) {
                return false;
            }
        }
        moved(olds.remainder(), news.remainder())
    }

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

    /// Puts each `KEY=VALUE` line of `text[start..end]` the decoder reads into its slot. A line as the
    /// kernel writes it (`POWER_SUPPLY_` + a name the decoder reads + `=`) is recognised from a few words
    /// loaded at fixed places ([`Index::kernel_line`]); any other line is split byte by byte.
    fn add_uevent(&mut self, text: &[u8], start: usize, end: usize) {
        let bytes = &text[..end.min(text.len())];
        let mut at = start.min(bytes.len());
        while at < bytes.len() {
            if let Some(next) = self.kernel_line(bytes, at) {
                at = next;
                continue;
            }
            let rest = &bytes[at..];
            let len = find_byte(rest, b'\n').unwrap_or(rest.len());
            let eq = rest[..len]
                .iter()
                .position(|&b| b == b'=')
                .map_or(usize::MAX, |eq| at + eq);
            self.add_line(bytes, at, eq, at + len);
            at += len + 1;
        }
    }

    /// The line at `at` when it is `POWER_SUPPLY_` + the name of a [`Key`] + `=`: its value is put in
    /// the key's slot and the start of the next line returned. `None` for any other line.
    #[inline]
    fn kernel_line(&mut self, bytes: &[u8], at: usize) -> Option<usize> {
        const PREFIX_WORDS: (u64, u64) = (
            u64::from_le_bytes(*b"POWER_SU"),
            u64::from_le_bytes(*b"_SUPPLY_"),
        );
        // The prefix as two overlapping words (bytes 0–7 and 5–12).
        if (load(bytes, at), load(bytes, at + 5)) != PREFIX_WORDS {
            return None;
        }
        let name_at = at + PREFIX.len();
        let (mut first, mut second) = (load(bytes, name_at), load(bytes, name_at + 8));
        // Zero every byte from the first `=` on: the window of a name up to 16 bytes long.
        let eq_first = zero_bytes(first ^ (LO * u64::from(b'=')));
        if eq_first != 0 {
            first &= (eq_first & eq_first.wrapping_neg()).wrapping_sub(1) >> 7;
            second = 0;
        } else {
            let eq_second = zero_bytes(second ^ (LO * u64::from(b'=')));
            if eq_second != 0 {
                second &= (eq_second & eq_second.wrapping_neg()).wrapping_sub(1) >> 7;
            }
        }
        let i = usize::from(BY_WINDOW[window_hash((first, second))]).checked_sub(1)?;
        if WINDOWS[i] != (first, second) {
            return None;
        }
        let name = NAMES[i].as_bytes();
        let value_at = name_at + name.len() + 1;
        // Names longer than the window: the rest of the name, then the `=`.
        if name.len() > 16 && !same_bytes(&name[16..], bytes.get(name_at + 16..value_at - 1)?) {
            return None;
        }
        if bytes.get(value_at - 1) != Some(&b'=') {
            return None;
        }
        let rest = bytes.get(value_at..)?;
        let len = find_byte(rest, b'\n').unwrap_or(rest.len());
        let mut value_end = value_at + len;
        if len > 0 && bytes[value_end - 1] == b'\r' {
            value_end -= 1;
        }
        self.set(bytes, i, value_at, value_end);
        Some(value_at + len + 1)
    }

    /// The line `text[start..end]` (without its `\n`) whose first `=` is at `eq` (`usize::MAX`: none; such
    /// a line is no property: the kernel never writes one).
    #[inline]
    fn add_line(&mut self, text: &[u8], start: usize, eq: usize, end: usize) {
        if eq >= end {
            return;
        }
        // A `\r` before the `\n` is not part of the value.
        let value_end = if end > eq + 1 && text[end - 1] == b'\r' {
            end - 1
        } else {
            end
        };
        let key = &text[start..eq];
        let slot = match key {
            // The kernel's form: `POWER_SUPPLY_NAME`, no white space around it.
            [b'P', .., last]
                if key.starts_with(PREFIX.as_bytes()) && last.is_ascii_alphanumeric() =>
            {
                Key::of(&key[PREFIX.len()..], false).map(|key| key as usize)
            }
            _ => {
                let key = key.trim_ascii();
                match key.strip_prefix(PREFIX.as_bytes()) {
                    Some(short) if !short.is_empty() => {
                        Key::of(short, false).map(|key| key as usize)
                    }
                    _ => Extra::of(key).map(Extra::slot),
                }
            }
        };
        if let Some(slot) = slot {
            self.set(text, slot, eq + 1, value_end);
        }
    }

    #[inline]
    fn set(&mut self, text: &[u8], slot: usize, start: usize, end: usize) {
        self.slots[slot] = trimmed(text, start, end);
        self.present |= 1 << slot;
    }

    /// The range of slot `slot`'s value, when it is set.
    #[inline]
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
    index: &'a Index,
}

impl<'a> Properties<'a> {
    /// The properties `spans` locate in `text`, as `index` (what [`Index::of`] or [`Index::add`] made of
    /// the spans) finds them.
    #[must_use]
    pub fn indexed(text: &'a str, spans: &'a [Span], index: &'a Index) -> Self {
        Properties { text, spans, index }
    }

    #[inline]
    fn slot(&self, slot: usize) -> Option<&'a str> {
        self.text.get(self.index.range(slot)?)
    }

    /// The value of `POWER_SUPPLY_` + `key`, trimmed, as bytes.
    #[inline]
    pub(crate) fn bytes(&self, key: Key) -> Option<&'a [u8]> {
        self.slot(key as usize).map(str::as_bytes)
    }

    /// The value of `POWER_SUPPLY_` + `key`, trimmed; `None` when absent or not UTF-8.
    #[inline]
    pub(crate) fn text(&self, key: Key) -> Option<&'a str> {
        self.slot(key as usize)
    }

    /// Whether `POWER_SUPPLY_` + `key` is there (whatever its value).
    #[inline]
    pub(crate) fn has(&self, key: Key) -> bool {
        self.index.present & (1 << key as usize) != 0
    }

    /// The value of an added key, trimmed.
    #[inline]
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
#[inline]
fn trimmed(text: &[u8], start: usize, end: usize) -> (u32, u32) {
    let plain = |b: Option<&u8>| b.is_none_or(u8::is_ascii_graphic);
    if end <= start || (plain(text.get(start)) && plain(text.get(end - 1))) {
        return (start as u32, end as u32);
    }
    trimmed_slowly(text, start, end)
}

/// [`trimmed`] of a value with white space or other characters at either end.
#[cold]
#[inline(never)]
fn trimmed_slowly(text: &[u8], start: usize, end: usize) -> (u32, u32) {
    let Some(Ok(value)) = text.get(start..end).map(std::str::from_utf8) else {
        return (start as u32, end as u32);
    };
    let lead = value.len() - value.trim_start().len();
    (
        (start + lead) as u32,
        (start + lead + value.trim().len()) as u32,
    )
}

const LO: u64 = 0x0101_0101_0101_0101;

/// The zero bytes of `word`, flagged by their high bit (exactly: no carry crosses a byte).
fn zero_bytes(word: u64) -> u64 {
    const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    !(((word & LOW7) + LOW7) | word | LOW7)
}

/// The eight bytes of `bytes` at `at` as a little-endian word, zeros past the end.
#[inline]
fn load(bytes: &[u8], at: usize) -> u64 {
    match bytes.get(at..at + 8).map(<[u8; 8]>::try_from) {
        Some(Ok(eight)) => u64::from_le_bytes(eight),
        _ => load_tail(bytes, at),
    }
}

/// [`load`] near the end of the text.
#[cold]
#[inline(never)]
fn load_tail(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0u8; 8];
    let rest = bytes.get(at..).unwrap_or_default();
    let n = rest.len().min(8);
    word[..n].copy_from_slice(&rest[..n]);
    u64::from_le_bytes(word)
}

/// The index of the first `needle` in `hay`, eight bytes at a time (the lowest flagged byte of
/// [`zero_bytes`] is the first match).
fn find_byte(hay: &[u8], needle: u8) -> Option<usize> {
    let pattern = LO * u64::from(needle);
    let mut at = 0;
    while at < hay.len() {
        let found = zero_bytes(load(hay, at) ^ pattern);
        if found != 0 {
            let i = at + (found.trailing_zeros() / 8) as usize;
            // A zero byte padded past the end never matches a needle other than 0.
            return (i < hay.len()).then_some(i);
        }
        at += 8;
    }
    None
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

    /// The word-at-a-time scan agrees with reading the text line by line (what the record is made of), on
    /// texts put together from the pieces that matter: keys, `=`, line ends, `\r`, white space.
    #[test]
    fn the_scan_reads_what_the_lines_say() {
        let pieces = [
            "POWER_SUPPLY_CAPACITY",
            "POWER_SUPPLY_STATUS",
            "POWER_SUPPLY_CHARGE_CONTROL_START_THRESHOLD",
            "POWER_SUPPLY_TYPE",
            " POWER_SUPPLY_TEMP ",
            "DMI_PRODUCT_NAME",
            "INPUT_NAME",
            "POWER_SUPPLY_",
            "POWER_SUPPLY_capacity",
            "DEVTYPE",
            "=",
            "==",
            "\n",
            "\r\n",
            "\r",
            " ",
            "12",
            "Li-ion",
            "a=b",
            "Ünï",
            "\t",
            "",
            "POWER_SUPPLY_TIME_TO_FULL_NOW",
            "POWER_SUPPLY_ENERGY_FULL_DESIGN",
            "POWER_SUPPLY_ENERGY_FULL",
            "POWER_SUPPLY_TEMPX",
            "\0",
            "POWER_SUPPLY_CHARGE_CONTROL_START",
            "_THRESHOLD",
            "POWER_SUPPLY_MANUFACTURER",
            "POWER",
        ];
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20000 {
            let mut text = String::new();
            for _ in 0..(seed % 40) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                text.push_str(pieces[(seed % pieces.len() as u64) as usize]);
            }
            let spans = [Span::uevent(0, text.len())];
            let index = Index::of(text.as_bytes(), &spans);
            let props = Properties::indexed(&text, &spans, &index);
            let record = props.to_record();
            for (i, name) in NAMES.iter().enumerate() {
                let want = record
                    .iter()
                    .rev()
                    .find(|(k, _)| k.strip_prefix(PREFIX) == Some(name))
                    .and_then(|(_, v)| v.as_text())
                    .map(|v| v.trim().to_owned());
                assert_eq!(
                    props.text(ALL[i]).map(str::to_owned),
                    want,
                    "{text:?} {name}"
                );
            }
            for extra in Extra::ALL {
                let want = record.text(extra.key()).map(|v| v.trim().to_owned());
                assert_eq!(props.extra(extra).map(str::to_owned), want, "{text:?}");
            }
        }
    }

    #[test]
    fn an_index_holds_while_only_digits_move() {
        let old = "POWER_SUPPLY_VOLTAGE_NOW=14526000\nPOWER_SUPPLY_STATUS=Discharging\nPOWER_SUPPLY_CAPACITY=32\n";
        let same = old.replace("14526000", "14519000").replace("=32", "=31");
        assert!(Index::still_indexes(old.as_bytes(), same.as_bytes()));
        assert!(Index::still_indexes(old.as_bytes(), old.as_bytes()));
        for other in [
            old.replace("=32", "=3 "),
            old.replace("Discharging", "Charging   "),
            old.replace("=32\n", "=320"),
            old.replace("14526000", "9999000"),
            old.replace("VOLTAGE_NOW=", "VOLTAGE_NOW1"),
        ] {
            assert!(
                !Index::still_indexes(old.as_bytes(), other.as_bytes()),
                "{other}"
            );
        }
        // What the check allows keeps every property where it was.
        let a = Index::of(old.as_bytes(), &[Span::uevent(0, old.len())]);
        let b = Index::of(same.as_bytes(), &[Span::uevent(0, same.len())]);
        assert_eq!(a.slots, b.slots);
        assert_eq!(a.present, b.present);
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
        let index = Index::of(text.as_bytes(), &spans);
        let p = Properties::indexed(text, &spans, &index);
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
