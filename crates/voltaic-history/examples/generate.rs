//! Fills a history database with generated readings, for the report's browser test and demonstrations.
//!
//! `cargo run -p voltaic-history --example generate -- DB [DAYS] [STEP_SECONDS]`
//!
//! The readings come from `voltaic_history::synth`, built from two real recordings of a ThinkPad pack
//! (SANYO 00HW022, `crates/voltaic-core/tests/fixtures/linux/linux-thinkpad-00hw022-bat0-{a,b}-*.uevent`),
//! and go through the same `Logger` as `voltaic log` (samples on change, one per 10 minutes when idle,
//! events), ending now.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use voltaic_history::synth::{Generator, profile_from_recordings};
use voltaic_history::{Logger, Retention, Store};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("generate: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args_os().skip(1);
    let db = PathBuf::from(
        args.next()
            .ok_or("usage: generate DB [DAYS] [STEP_SECONDS]")?,
    );
    let number = |v: Option<std::ffi::OsString>, default: i64| -> Result<i64, String> {
        v.map_or(Ok(default), |v| {
            v.to_string_lossy()
                .parse()
                .map_err(|_| format!("not a number: {}", v.to_string_lossy()))
        })
    };
    let days = number(args.next(), 90)?.clamp(1, 3650);
    let step = number(args.next(), 60)?.clamp(1, 3600);
    let fixtures =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../voltaic-core/tests/fixtures/linux");
    let profile = profile_from_recordings(&[
        &fixtures.join("linux-thinkpad-00hw022-bat0-a-discharging.uevent"),
        &fixtures.join("linux-thinkpad-00hw022-bat0-b-charging.uevent"),
    ])?;
    let now = i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs())?;
    let start = now - days * 86_400;
    let mut store = Store::open(&db)?;
    let mut logger = Logger::new(Duration::from_secs(600), Retention::default());
    let mut readings = 0u64;
    for (t, battery) in Generator::new(profile, start, step, 1).take_while(|(t, _)| *t <= now) {
        logger.observe(&mut store, t, std::slice::from_ref(&battery))?;
        readings += 1;
    }
    eprintln!(
        "generate: {readings} readings over {days} days, {} samples stored in {}",
        store.sample_count()?,
        db.display()
    );
    Ok(())
}
