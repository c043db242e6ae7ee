//! Instructions (callgrind) and heap blocks (DHAT) of one battery reading, voltaic against
//! starship-battery, on whatever `/sys/class/power_supply` shows.
//!
//! Both libraries read the live class directory, so `scripts/bench.sh` runs this inside a private mount
//! namespace with a sample tree (`samples/thinkpad-ac` by default) bind-mounted over it: the two
//! measure the same devices, and the script prints the ratios. Setup (building the manager, the first
//! reading a refresh starts from) runs outside the measured function.
//!
//! - `first_read`: `Manager::new()` + `batteries()`, what a shell prompt pays at every render;
//! - `snapshot`: `Manager::snapshot()` on an existing manager (voltaic only);
//! - `refresh`: `Manager::refresh(&mut battery)` after a first refresh, what a status bar pays each second.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use gungraun::{
    Callgrind, Dhat, LibraryBenchmarkConfig, library_benchmark, library_benchmark_group, main,
};

fn voltaic_manager() -> voltaic::Manager {
    voltaic::Manager::new().expect("a manager")
}

/// A manager and its first battery, refreshed once (the steady state of a status bar).
fn voltaic_refresh_setup() -> (voltaic::Manager, voltaic::Battery) {
    let manager = voltaic_manager();
    let mut battery = manager
        .batteries()
        .expect("batteries")
        .into_iter()
        .next()
        .expect("the tree has a battery");
    manager.refresh(&mut battery).expect("a first refresh");
    (manager, battery)
}

fn starship_refresh_setup() -> (starship_battery::Manager, starship_battery::Battery) {
    let manager = starship_battery::Manager::new().expect("a manager");
    let mut battery = manager
        .batteries()
        .expect("batteries")
        .next()
        .expect("the tree has a battery")
        .expect("a readable battery");
    manager.refresh(&mut battery).expect("a first refresh");
    (manager, battery)
}

#[library_benchmark]
fn voltaic_first_read() -> (voltaic::Manager, Vec<voltaic::Battery>) {
    let manager = voltaic::Manager::new().unwrap();
    let batteries = manager.batteries().unwrap();
    black_box((manager, batteries))
}

#[library_benchmark]
fn starship_first_read() -> (starship_battery::Manager, Vec<starship_battery::Battery>) {
    let manager = starship_battery::Manager::new().unwrap();
    let batteries = manager
        .batteries()
        .unwrap()
        .filter_map(Result::ok)
        .collect();
    black_box((manager, batteries))
}

#[library_benchmark]
#[bench::tree(voltaic_manager())]
fn voltaic_snapshot(manager: voltaic::Manager) -> (voltaic::Manager, voltaic::Snapshot) {
    let snapshot = manager.snapshot().unwrap();
    black_box((manager, snapshot))
}

#[library_benchmark]
#[bench::tree(voltaic_refresh_setup())]
fn voltaic_refresh(
    (manager, mut battery): (voltaic::Manager, voltaic::Battery),
) -> (voltaic::Manager, voltaic::Battery) {
    manager.refresh(black_box(&mut battery)).unwrap();
    black_box((manager, battery))
}

#[library_benchmark]
#[bench::tree(starship_refresh_setup())]
fn starship_refresh(
    (manager, mut battery): (starship_battery::Manager, starship_battery::Battery),
) -> (starship_battery::Manager, starship_battery::Battery) {
    manager.refresh(black_box(&mut battery)).unwrap();
    black_box((manager, battery))
}

library_benchmark_group!(
    name = first_read;
    benchmarks = voltaic_first_read, starship_first_read
);
library_benchmark_group!(
    name = steady;
    benchmarks = voltaic_snapshot, voltaic_refresh, starship_refresh
);

main!(
    config = LibraryBenchmarkConfig::default()
        .tool(Callgrind::default())
        .tool(Dhat::default());
    library_benchmark_groups = first_read, steady
);
