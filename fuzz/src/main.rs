//! `voltaic-fuzz`: runs the fuzz targets of voltaic for a while and saves the first input that breaks one.
//!
//! ```text
//! cargo run -p voltaic-fuzz -- [--seconds N] [--seed S] [TARGET…|all]
//! ```
//!
//! A finding is written to `fuzz/findings/<target>-<hash>` and the command exits with status 1; move the
//! file to `fuzz/regressions/<target>/` with the fix, and `cargo test -p voltaic-fuzz` replays it forever.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use voltaic_fuzz::{TARGETS, Target, run, seeds, target};

fn main() -> ExitCode {
    let mut seconds = 10.0_f64;
    let mut seed = 0x5eed_u64;
    let mut chosen: Vec<Target> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seconds" => match args.next().and_then(|s| s.parse().ok()) {
                Some(s) if s > 0.0 && f64::is_finite(s) => seconds = s,
                _ => return usage("--seconds needs a positive number"),
            },
            "--seed" => match args.next().and_then(|s| s.parse().ok()) {
                Some(s) => seed = s,
                None => return usage("--seed needs a whole number"),
            },
            "all" => chosen.extend(TARGETS),
            "-h" | "--help" => return usage(""),
            name => match target(name) {
                Some(t) => chosen.push(t),
                None => return usage(&format!("no target `{name}`")),
            },
        }
    }
    if chosen.is_empty() {
        chosen.extend(TARGETS);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let inputs: Vec<Vec<u8>> = seeds(&root).into_iter().map(|(_, b)| b).collect();
    // Panics are expected findings: keep the default hook from printing each one twice.
    std::panic::set_hook(Box::new(|_| {}));
    let mut failed = false;
    for t in chosen {
        let summary = run(
            t,
            &inputs,
            seed,
            Duration::from_secs_f64(seconds),
            Duration::from_secs(2),
        );
        match summary.finding {
            None => println!("{:<12} {:>9} runs, nothing found", t.name, summary.runs),
            Some(finding) => {
                failed = true;
                let mut h = DefaultHasher::new();
                finding.input.hash(&mut h);
                let dir = root.join("fuzz/findings");
                let file = dir.join(format!("{}-{:016x}", t.name, h.finish()));
                let saved = std::fs::create_dir_all(&dir)
                    .and_then(|()| std::fs::write(&file, &finding.input));
                println!(
                    "{:<12} {:>9} runs, FOUND: {}\n  input: {}",
                    t.name,
                    summary.runs,
                    finding.message,
                    match saved {
                        Ok(()) => file.display().to_string(),
                        Err(e) => format!("not saved ({e}): {:?}", finding.input),
                    }
                );
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn usage(problem: &str) -> ExitCode {
    if !problem.is_empty() {
        eprintln!("voltaic-fuzz: {problem}");
    }
    let names: Vec<&str> = TARGETS.iter().map(|t| t.name).collect();
    eprintln!(
        "usage: voltaic-fuzz [--seconds N] [--seed S] [TARGET…|all]\ntargets: {}",
        names.join(", ")
    );
    if problem.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    }
}
