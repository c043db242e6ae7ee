//! The checks `scripts/kernel-test.sh` runs inside a real Linux kernel booted under QEMU, with the kernel's
//! `test_power` driver and the project's `voltaic_fixture` module (tests/kernel/voltaic_fixture.c) loaded.
//!
//! Every check prints one line, `ok - NAME: DETAIL` or `not ok - NAME: DETAIL`; the host counts them. The
//! truth each check compares against is what the kernel itself says: the attribute files, the module
//! parameters that drive the drivers, and the errno of the system calls.
//!
//! Usage: `voltaic-kernel-guest VOLTAIC_BINARY ARTIFACT_FILE` — the artifact file (the VM's second serial
//! port) receives a `voltaic record` of the live tree and its `--json --all`, which the host replays.

mod checks;
mod netlink;

use std::fmt::Display;
use std::path::PathBuf;
use std::process::ExitCode;

/// Counts and prints check results.
#[derive(Debug, Default)]
pub struct Report {
    passed: u32,
    failed: u32,
}

impl Report {
    /// Records one check: `Ok(detail)` passes, `Err(detail)` fails.
    pub fn check<D: Display, E: Display>(&mut self, name: &str, result: Result<D, E>) {
        match result {
            Ok(detail) => {
                self.passed += 1;
                println!("ok - {name}: {detail}");
            }
            Err(detail) => {
                self.failed += 1;
                println!("not ok - {name}: {detail}");
            }
        }
    }
}

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let first = args.next();
    if first.as_deref() == Some("--try-write".as_ref()) {
        let (Some(path), Some(value)) = (args.next(), args.next()) else {
            return ExitCode::from(2);
        };
        checks::try_write(path.as_ref(), &value.to_string_lossy());
        return ExitCode::SUCCESS;
    }
    let mut args = first.into_iter().chain(args);
    let (Some(voltaic), Some(artifacts)) = (args.next(), args.next()) else {
        eprintln!("usage: voltaic-kernel-guest VOLTAIC_BINARY ARTIFACT_FILE");
        return ExitCode::from(2);
    };
    let env = checks::Env {
        voltaic: PathBuf::from(voltaic),
        artifacts: PathBuf::from(artifacts),
    };
    let mut report = Report::default();
    checks::run_all(&env, &mut report);
    println!(
        "guest checks: {} passed, {} failed",
        report.passed, report.failed
    );
    if report.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
