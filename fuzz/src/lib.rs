//! The fuzz targets of voltaic and a small deterministic mutation fuzzer that drives them on stable Rust.
//!
//! Every target is a pure function of bytes that must return (a result or an error) without panicking,
//! and, for the round trips, give back what it was given. [`run`] mutates seed inputs (the real fixtures
//! and every past finding) byte by byte and splices them, calls the target under `catch_unwind`, and
//! reports the first input that panics. `voltaic-fuzz` is the command; `tests/regressions.rs` replays
//! every seed and every saved finding on each `cargo test`.

use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use voltaic_core::decode::{self, macos, windows};
use voltaic_core::record::{self, RawDevice};
use voltaic_core::replay;

/// One fuzz target: a name and a function that panics when it finds a bug.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// The name used on the command line and for the regression directory.
    pub name: &'static str,
    /// Runs the target on one input; panics on a bug.
    pub run: fn(&[u8]),
}

/// Every target.
pub const TARGETS: &[Target] = &[
    Target {
        name: "recording",
        run: recording,
    },
    Target {
        name: "record-text",
        run: record_text,
    },
    Target {
        name: "uevent",
        run: uevent,
    },
    Target {
        name: "uevent-in-place",
        run: uevent_in_place,
    },
    Target {
        name: "events",
        run: events,
    },
    Target {
        name: "ioreg-text",
        run: ioreg_text,
    },
    Target {
        name: "ioreg-plist",
        run: ioreg_plist,
    },
    Target {
        name: "windows",
        run: windows_captures,
    },
    Target {
        name: "bsd",
        run: bsd_outputs,
    },
    Target {
        name: "round-trip",
        run: round_trip,
    },
];

/// The target called `name`.
#[must_use]
pub fn target(name: &str) -> Option<Target> {
    TARGETS.iter().copied().find(|t| t.name == name)
}

/// Any recording, detected and decoded as `voltaic --replay` does.
fn recording(bytes: &[u8]) {
    if let Ok(devices) = replay::parse_recording(bytes) {
        check_decoded(&decode::decode(&devices));
    }
}

/// The `voltaic record` text form: whatever parses prints and parses back to the same devices.
fn record_text(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    if let Ok(devices) = record::parse(&text) {
        assert_round_trip(&devices);
    }
}

fn uevent(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    if let Ok(devices) = decode::linux::parse_uevent_text(&text) {
        check_decoded(&decode::decode(&devices));
    }
}

/// One device's uevent text decoded in place (the live sysfs path: indexed slots, no record) must give
/// what its record decodes to (the replay path), and a second indexing of the same text must agree.
fn uevent_in_place(bytes: &[u8]) {
    use voltaic_core::decode::linux::{Index, Properties, Span, decode_properties};
    let text = String::from_utf8_lossy(bytes);
    let spans = [Span::uevent(0, text.len())];
    let index = Index::of(text.as_bytes(), &spans);
    let properties = Properties::indexed(&text, &spans, &index);
    let mut in_place = decode::Decoded::default();
    decode_properties(&[("BAT0", properties)], &mut in_place);
    check_decoded(&in_place);
    let device = RawDevice::new(record::Os::Linux, "BAT0", properties.to_record());
    assert_eq!(
        in_place,
        decode::decode(&[device]),
        "in place and from the record differ"
    );
    assert!(Index::still_indexes(text.as_bytes(), text.as_bytes()));
}

/// The change-notification decoders (OpenBSD apm kevent data, NetBSD power(4) records and dictionaries,
/// Windows power-setting notifications): an answer or an error, never a panic.
fn events(bytes: &[u8]) {
    use voltaic_core::bsd_event;
    if let Some(word) = bytes.first_chunk::<8>() {
        let _ = bsd_event::parse_apm_event(i64::from_le_bytes(*word));
    }
    let _ = bsd_event::parse_power_event(bytes);
    if let Ok(info) = bsd_event::parse_power_dictionary(&String::from_utf8_lossy(bytes)) {
        let _ = info.about_power();
    }
    let _ = windows::notify::parse_power_setting(bytes);
}

fn ioreg_text(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    if let Ok(devices) = macos::ioreg::parse_text(&text) {
        check_decoded(&decode::decode(&devices));
    }
}

fn ioreg_plist(bytes: &[u8]) {
    if let Ok(devices) = macos::ioreg::parse_plist(bytes) {
        check_decoded(&decode::decode(&devices));
    }
}

fn windows_captures(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    for devices in [
        windows::capture::parse_battery_query(&text).ok(),
        windows::capture::parse_win32_battery(&text).ok(),
        Some(windows::capture::parse_battery_report(&text)),
    ]
    .into_iter()
    .flatten()
    {
        check_decoded(&decode::decode(&devices));
    }
}

fn bsd_outputs(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    for devices in [
        decode::freebsd::parse_acpiconf(&text),
        decode::openbsd::parse_sysctl_apm(&text),
        decode::netbsd::parse_envstat(&text),
        decode::netbsd::parse_envsys_xml(&text),
    ]
    .into_iter()
    .flatten()
    {
        check_decoded(&decode::decode(&devices));
    }
}

/// decode → record → parse: any recording, printed with `voltaic record`, reads back to the same devices
/// and decodes to the same model.
fn round_trip(bytes: &[u8]) {
    if let Ok(devices) = replay::parse_recording(bytes) {
        assert_round_trip(&devices);
    }
}

fn assert_round_trip(devices: &[RawDevice]) {
    let text = record::print(devices);
    let back = record::parse(&text)
        .unwrap_or_else(|e| panic!("printed record does not parse: {e}\n{text}"));
    // NaN is never equal to itself: compare the printed forms, which are exact for every other value.
    assert_eq!(
        record::print(&back),
        text,
        "record round trip changed the devices"
    );
    let (a, b) = (decode::decode(devices), decode::decode(&back));
    assert_eq!(
        format!("{a:?}"),
        format!("{b:?}"),
        "decoding changed after a round trip"
    );
    check_decoded(&a);
}

/// The model's promises: no NaN or infinity anywhere, percentages within 0–100.
fn check_decoded(decoded: &decode::Decoded) {
    for b in &decoded.batteries {
        let text = format!("{b:?}");
        // Floats are `Some(…)` in the model: a non-finite one prints as `Some(NaN)` / `Some(inf)`.
        assert!(
            !["(NaN)", "(inf)", "(-inf)"]
                .iter()
                .any(|bad| text.contains(bad)),
            "non-finite value in {text}"
        );
        if let Some(p) = b.percentage {
            assert!((0.0..=100.0).contains(&p), "percentage {p}");
        }
    }
}

/// The seed inputs of every target: the real fixtures of `voltaic-core` and the regression files.
#[must_use]
pub fn seeds(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut dirs = vec![
        root.join("crates/voltaic-core/tests/fixtures"),
        root.join("fuzz/regressions"),
    ];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for path in paths {
            if path.is_dir() {
                dirs.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                out.push((path, bytes));
            }
        }
    }
    out
}

/// Runs `target` on `input`; the panic message when it panics.
#[must_use]
pub fn check(target: Target, input: &[u8]) -> Option<String> {
    panic::catch_unwind(AssertUnwindSafe(|| (target.run)(input)))
        .err()
        .map(|e| {
            e.downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "panic".to_owned())
        })
}

/// A small deterministic pseudo-random generator (xorshift64*): the same seed gives the same run.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (0 is replaced, xorshift needs a non-zero state).
    #[must_use]
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number below `n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

/// Bytes that often matter to the parsers: delimiters, escapes, controls, digits, sign bytes.
const INTERESTING: &[u8] = b"\0\n\r\t \"'\\=<>[]{}()#:;,.-+0123456789eE\x1b\x7f\xff/$xXuU";

/// Longest input a mutation may produce.
const MAX_INPUT: usize = 1 << 16;

/// One random mutation of `input`, possibly splicing in a piece of `other`.
pub fn mutate(rng: &mut Rng, input: &mut Vec<u8>, other: &[u8]) {
    let len = input.len();
    match rng.below(9) {
        0 if len > 0 => {
            let i = rng.below(len);
            input[i] ^= 1 << rng.below(8);
        }
        1 if len > 0 => {
            let i = rng.below(len);
            input[i] = INTERESTING[rng.below(INTERESTING.len())];
        }
        2 => {
            let i = rng.below(len + 1);
            input.insert(i, INTERESTING[rng.below(INTERESTING.len())]);
        }
        3 if len > 0 => {
            let i = rng.below(len);
            let n = 1 + rng.below((len - i).min(64));
            input.drain(i..i + n);
        }
        4 if len > 0 => {
            // Duplicate a chunk (repeated lines, nested containers).
            let i = rng.below(len);
            let n = 1 + rng.below((len - i).min(256));
            let chunk: Vec<u8> = input[i..i + n].to_vec();
            let at = rng.below(len + 1);
            input.splice(at..at, chunk);
        }
        5 if !other.is_empty() => {
            let i = rng.below(other.len());
            let n = 1 + rng.below((other.len() - i).min(512));
            let at = rng.below(len + 1);
            input.splice(at..at, other[i..i + n].iter().copied());
        }
        6 if len > 0 => input.truncate(rng.below(len)),
        7 if len > 0 => {
            // Replace a decimal digit run with an extreme number.
            let i = rng.below(len);
            let extreme: &[u8] = match rng.below(4) {
                0 => b"18446744073709551615",
                1 => b"-9223372036854775808",
                2 => b"1e308",
                _ => b"65535",
            };
            input.splice(i..i, extreme.iter().copied());
        }
        _ if len > 1 => {
            let (a, b) = (rng.below(len), rng.below(len));
            input.swap(a, b);
        }
        _ => input.push(INTERESTING[rng.below(INTERESTING.len())]),
    }
    input.truncate(MAX_INPUT);
}

/// What a fuzzing run found.
#[derive(Debug)]
pub struct Finding {
    /// The input that made the target panic, or took longer than the slow limit.
    pub input: Vec<u8>,
    /// The panic message, or why the input counts as slow.
    pub message: String,
}

/// What a run did.
#[derive(Debug, Default)]
pub struct Summary {
    /// Inputs run.
    pub runs: u64,
    /// The first finding, if any.
    pub finding: Option<Finding>,
}

/// Fuzzes `target` for `duration` from `seeds`, with the generator seeded by `seed`. An input that runs
/// longer than `slow` counts as a finding (inputs are at most 64 KiB: every parser should take
/// milliseconds).
#[must_use]
pub fn run(
    target: Target,
    seeds: &[Vec<u8>],
    seed: u64,
    duration: Duration,
    slow: Duration,
) -> Summary {
    let mut rng = Rng::new(seed);
    let mut summary = Summary::default();
    let fallback = vec![Vec::new()];
    let seeds = if seeds.is_empty() { &fallback } else { seeds };
    for input in seeds {
        if let Some(message) = check(target, input) {
            summary.finding = Some(Finding {
                input: input.clone(),
                message,
            });
            return summary;
        }
    }
    let start = Instant::now();
    while start.elapsed() < duration {
        let mut input = seeds[rng.below(seeds.len())].clone();
        let other = &seeds[rng.below(seeds.len())];
        for _ in 0..=rng.below(8) {
            mutate(&mut rng, &mut input, other);
        }
        let began = Instant::now();
        let result = check(target, &input);
        summary.runs += 1;
        if let Some(message) = result {
            summary.finding = Some(Finding { input, message });
            return summary;
        }
        let took = began.elapsed();
        if took > slow {
            summary.finding = Some(Finding {
                input,
                message: format!("slow input: {} ms", took.as_millis()),
            });
            return summary;
        }
    }
    summary
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations_are_deterministic_and_bounded() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        let (mut x, mut y) = (
            b"POWER_SUPPLY_NAME=BAT0\n".to_vec(),
            b"POWER_SUPPLY_NAME=BAT0\n".to_vec(),
        );
        for _ in 0..10_000 {
            mutate(&mut a, &mut x, b"other");
            mutate(&mut b, &mut y, b"other");
        }
        assert_eq!(x, y);
        assert!(x.len() <= MAX_INPUT);
    }

    #[test]
    fn every_target_has_a_unique_name() {
        for t in TARGETS {
            assert_eq!(target(t.name).map(|f| f.name), Some(t.name));
        }
    }
}
