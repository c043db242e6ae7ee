//! Runs N steady refreshes (or N first reads) of the first battery with voltaic or starship-battery,
//! between two marker writes to stderr, so that `strace -f` output can be cut to exactly those
//! operations (`scripts/bench.sh` does it and divides by N).
//!
//! Usage: `syscalls voltaic|starship refresh|first-read N`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;

fn marker(text: &str) {
    // One write(2) per marker: the script looks for these exact strings.
    let _ = std::io::stderr().write_all(text.as_bytes());
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (lib, op) = (args[1].as_str(), args[2].as_str());
    let n: usize = args[3].parse().expect("a count");
    match (lib, op) {
        ("voltaic", "refresh") => {
            let m = voltaic::Manager::new().unwrap();
            let mut b = m.batteries().unwrap().remove(0);
            m.refresh(&mut b).unwrap();
            marker("voltaic-bench-begin\n");
            for _ in 0..n {
                m.refresh(&mut b).unwrap();
            }
            marker("voltaic-bench-end\n");
        }
        ("voltaic", "first-read") => {
            marker("voltaic-bench-begin\n");
            for _ in 0..n {
                let m = voltaic::Manager::new().unwrap();
                std::hint::black_box(m.batteries().unwrap());
            }
            marker("voltaic-bench-end\n");
        }
        ("starship", "refresh") => {
            let m = starship_battery::Manager::new().unwrap();
            let mut b = m.batteries().unwrap().next().unwrap().unwrap();
            m.refresh(&mut b).unwrap();
            marker("voltaic-bench-begin\n");
            for _ in 0..n {
                m.refresh(&mut b).unwrap();
            }
            marker("voltaic-bench-end\n");
        }
        ("starship", "first-read") => {
            marker("voltaic-bench-begin\n");
            for _ in 0..n {
                let m = starship_battery::Manager::new().unwrap();
                let all: Vec<_> = m.batteries().unwrap().collect();
                std::hint::black_box(all);
            }
            marker("voltaic-bench-end\n");
        }
        _ => {
            eprintln!("usage: syscalls voltaic|starship refresh|first-read N");
            std::process::exit(2);
        }
    }
}
