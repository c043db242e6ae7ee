//! How long one reading takes: what a status bar or shell prompt pays for each refresh.
//!
//! `cargo bench -p voltaic` prints the median and 99th percentile of
//! - `snapshot`: list + read + decode of a sample tree (the same syscalls as on a real machine's sysfs),
//! - `refresh`: re-reading one battery,
//! - `decode`: decoding alone (no IO).
//!
//! Target: a reading well under 1 ms, so a prompt never stalls on it (a 30 ms stall is a bug).

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

fn measure(name: &str, iterations: usize, mut f: impl FnMut()) {
    for _ in 0..iterations / 10 {
        f();
    }
    let mut times: Vec<Duration> = (0..iterations)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    let median = times[times.len() / 2];
    let p99 = times[times.len() * 99 / 100];
    println!(
        "{name:<40} median {:>9.1} µs   p99 {:>9.1} µs   ({iterations} runs)",
        micros(median),
        micros(p99)
    );
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn main() {
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    for name in ["thinkpad-ac", "dell-charge-limit", "chromebook"] {
        let tree = samples.join(name);
        let Ok(manager) = voltaic::Manager::replay(&tree) else {
            eprintln!("cannot open {}", tree.display());
            continue;
        };
        measure(&format!("snapshot {name}"), 2000, || {
            black_box(manager.snapshot().map_or(0, |s| s.batteries.len()));
        });
        if let Some(mut battery) = manager.batteries().ok().and_then(|b| b.into_iter().next()) {
            measure(&format!("refresh {name}"), 2000, || {
                black_box(manager.refresh(&mut battery).is_ok());
            });
        }
        if let Ok((devices, _)) = manager.raw() {
            measure(&format!("decode {name}"), 20000, || {
                black_box(
                    voltaic::core::decode::decode(black_box(&devices))
                        .batteries
                        .len(),
                );
            });
        }
    }
    if let Ok(manager) = voltaic::Manager::new() {
        measure("snapshot this machine", 2000, || {
            black_box(manager.snapshot().map_or(0, |s| s.batteries.len()));
        });
    }
}
