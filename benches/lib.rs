//! Benchmarks of voltaic's read path (see `read.rs` and `scripts/bench.sh`); no library code.
