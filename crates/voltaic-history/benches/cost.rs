//! Cost of the history: disk size of a month of one-minute samples for two batteries, and the time
//! `voltaic report` spends on it (open, analyse, render). Targets: under 10 MB, under 1 s.
//!
//! `cargo bench -p voltaic-history --bench cost` prints the numbers; it asserts nothing about time.
//!
//! Data: `voltaic_history::synth` readings every 60 s for 30 days, stored directly (no change filter, so
//! this is the worst case a logger with `--idle 1` could write). Battery 1 is the ThinkPad SANYO 00HW022
//! from its two real recordings (27.758 W discharging, 30.021 W charging). Battery 2 is the ThinkPad
//! 01AV413 from its two real discharging recordings (5.156 W, 5.022 W); it has no charging recording, so
//! its charge power is battery 1's charge rate (1.25 C) applied to its 46.59 Wh.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Instant;

use voltaic_history::synth::{Generator, Profile, profile_from_recordings};
use voltaic_history::{Identity, Sample, Store, analyse, report};

const DAY: i64 = 86_400;

fn main() {
    let fixtures =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../voltaic-core/tests/fixtures/linux");
    let first = profile_from_recordings(&[
        &fixtures.join("linux-thinkpad-00hw022-bat0-a-discharging.uevent"),
        &fixtures.join("linux-thinkpad-00hw022-bat0-b-charging.uevent"),
    ])
    .unwrap();
    let mut readings = Vec::new();
    for name in [
        "linux-thinkpad-01av413-bat0-61pct.uevent",
        "linux-thinkpad-01av413-bat0-15pct.uevent",
    ] {
        let m = voltaic::Manager::replay(fixtures.join(name)).unwrap();
        readings.extend(m.batteries().unwrap());
    }
    let mut template = readings[0].clone();
    template.model = Some("01AV413".into());
    let c_rate = first.charge_w[0] / first.energy_full_wh;
    let second = Profile {
        energy_full_wh: template.energy_full_wh.unwrap(),
        energy_full_design_wh: template.energy_full_design_wh.unwrap(),
        voltage_v: None,
        cycle_count: None,
        discharge_w: readings.iter().filter_map(|b| b.power_w).collect(),
        charge_w: vec![c_rate * template.energy_full_wh.unwrap()],
        template,
    };

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.sqlite");
    let now = 1_767_225_600; // 2026-01-01
    let start = now - 30 * DAY;
    let mut store = Store::open(&path).unwrap();
    let began = Instant::now();
    let mut total = 0;
    for (seed, profile) in [(1, first), (2, second)] {
        let rows: Vec<(Identity, Sample)> = Generator::new(profile, start, 60, seed)
            .take_while(|(t, _)| *t < now)
            .map(|(t, b)| (Identity::of(&b), Sample::from_battery(&b, t)))
            .collect();
        for chunk in rows.chunks(1440) {
            store.insert(chunk, &[]).unwrap();
        }
        total += rows.len();
    }
    let write = began.elapsed();
    drop(store);
    let bytes = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len());
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    let size = bytes(&path) + bytes(Path::new(&wal));
    println!("samples:      {total} (30 days, one a minute, 2 batteries)");
    println!(
        "write:        {:.2} s (one transaction per battery-day)",
        write.as_secs_f64()
    );
    println!(
        "disk:         {:.2} MB ({:.1} bytes a sample)",
        size as f64 / 1e6,
        size as f64 / total as f64
    );

    let mut times = Vec::new();
    let mut html_len = 0;
    for _ in 0..5 {
        let t = Instant::now();
        let store = Store::open(&path).unwrap();
        let histories = analyse(&store, now - 365 * DAY, now).unwrap();
        let html = report::render(&histories, now);
        times.push(t.elapsed().as_secs_f64());
        html_len = html.len();
    }
    times.sort_by(f64::total_cmp);
    println!(
        "report:       {:.3} s median of 5 (open + analyse + render; min {:.3} s), {} kB of HTML",
        times[2],
        times[0],
        html_len / 1000
    );
}
