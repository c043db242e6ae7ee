//! Battery history for voltaic: what a pack did over months.
//!
//! - [`Store`]: one SQLite file (WAL, versioned schema with migrations) holding samples, events and hourly
//!   summaries per pack, keyed by vendor, model and serial rather than the OS's device name.
//! - [`Logger`]: decides which readings to keep (every change, at most one per idle interval otherwise),
//!   notices plug/unplug/full/limit events, and compacts old samples into hourly min/max/mean.
//! - [`LoggerLock`]: one logger per database, naming the process that holds it.
//! - [`analyse`]: capacity trend, cycles, charge and discharge sessions, time on battery per day.
//! - [`report::render`]: a self-contained HTML report with inline SVG charts.
//! - [`synth`]: months of plausible history generated from real readings, for tests and demonstrations.
//!
//! ```no_run
//! use voltaic_history::{Store, analyse, report};
//! let store = Store::open(voltaic_history::default_path().ok_or("no data directory")?)?;
//! let now = 1_767_225_600;
//! let html = report::render(&analyse(&store, now - 90 * 86_400, now)?, now);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod analysis;
mod error;
mod lock;
mod logger;
pub mod report;
mod store;
pub mod synth;

use std::path::PathBuf;

pub use analysis::{
    BatteryHistory, DayCapacity, DayOnBattery, HEALTH_THRESHOLD, LEVEL_WINDOW, MAX_GAP,
    PowerHistogram, Session, SessionKind, Trend, analyse, date, date_time,
};
pub use error::{Error, ErrorKind, Result};
pub use lock::LoggerLock;
pub use logger::{Logger, Observed};
pub use store::{
    Compacted, Event, EventKind, Hourly, Identity, Retention, SCHEMA_VERSION, Sample, Stat, Store,
};

/// File name of the database inside the data directory.
pub const FILE_NAME: &str = "history.sqlite";

/// Where the database lives when no path is given: `$XDG_DATA_HOME/voltaic/history.sqlite` (else
/// `~/.local/share/voltaic/…`) on Linux and the BSDs, `~/Library/Application Support/voltaic/…` on macOS
/// and iOS, `%LOCALAPPDATA%\voltaic\…` on Windows. `None` when the environment names no home.
///
/// Sources: the XDG Base Directory Specification
/// (<https://specifications.freedesktop.org/basedir-spec/latest/>), Apple's File System Programming Guide
/// ("Application Support"), Microsoft's KNOWNFOLDERID documentation (FOLDERID_LocalAppData).
#[must_use]
pub fn default_path() -> Option<PathBuf> {
    let var = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let dir = match std::env::consts::OS {
        "windows" => var("LOCALAPPDATA")?,
        "macos" | "ios" => var("HOME")?.join("Library").join("Application Support"),
        // The spec says a relative XDG_DATA_HOME is invalid and must be ignored.
        _ => var("XDG_DATA_HOME")
            .filter(|p| p.is_absolute())
            .or_else(|| var("HOME").map(|h| h.join(".local").join("share")))?,
    };
    Some(dir.join("voltaic").join(FILE_NAME))
}
