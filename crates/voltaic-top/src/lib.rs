//! voltaic-top: the terminal viewer behind `voltaic top`.
//!
//! A tab per battery (and an overview when there are several) with a charge gauge, charts over time of
//! charge, power, voltage and temperature, the pack's details and the power sources; readable on light
//! and dark terminals; on Windows, macOS, Linux and the BSDs (crossterm).
//!
//! The shape is the usual one for testable terminal programs: [`App`] holds the state and
//! [`App::update`] applies one [`Event`] (a key, a click, a resize, or a [`Sample`] from the sampler
//! thread, which carries its own time); [`render`] only draws an `App`. [`run`] owns the terminal and
//! the threads.
//!
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! use ratatui::{Terminal, backend::TestBackend};
//! use voltaic_top::{App, Event, Key, Options, Sample};
//!
//! # let tree = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/samples/chromebook");
//! let manager = voltaic::Manager::replay(tree)?;
//! let mut app = App::new(Options::default());
//! app.update(Event::Sample(Sample {
//!     at: UNIX_EPOCH + Duration::from_secs(1_707_048_003),
//!     utc_offset_s: 0,
//!     reading: manager.snapshot().map_err(|e| e.to_string()),
//! }));
//! app.update(Event::Key(Key::Char('u')));
//!
//! let mut terminal = Terminal::new(TestBackend::new(80, 24))?;
//! terminal.draw(|frame| voltaic_top::render(&app, frame))?;
//! let top_row: String = (0..80)
//!     .map(|x| terminal.backend().buffer()[(x, 0)].symbol().to_owned())
//!     .collect();
//! assert!(top_row.contains("L17M3PB0"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

mod app;
mod theme;
mod ui;
mod units;

// The one place that names targets: crossterm drives the terminals of Unix and Windows; elsewhere
// (wasm) `run` says there is no terminal, and the rest of the crate still builds.
#[cfg(any(unix, windows))]
mod term;
#[cfg(not(any(unix, windows)))]
#[path = "term/unsupported.rs"]
mod term;

pub use app::{
    Action, App, Event, HISTORY_LEN, Key, MAX_INTERVAL, MIN_INTERVAL, Notice, Options, Point,
    Sample, Tab, clamp_interval,
};
pub use term::run;
pub use theme::{Palette, Theme};
pub use ui::{MIN_SIZE, render};
pub use units::Units;
