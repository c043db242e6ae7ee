//! voltaic: read notebook batteries, chargers and (when asked) peripheral batteries.
//!
//! [`Manager`] reads this machine (Linux, Android, macOS, iOS, Windows, FreeBSD, DragonFly, OpenBSD,
//! NetBSD; see `PLATFORMS.md`) or replays a recording, and returns
//! [`Battery`] and [`PowerSource`] snapshots: plain SI numbers with the unit in the field name, `None` for
//! every value the OS did not give, never NaN, never a made-up number.
//!
//! ```
//! # let tree = concat!(env!("CARGO_MANIFEST_DIR"), "/../../samples/thinkpad-ac");
//! // `Manager::new()` reads this machine; a recording reads the same way anywhere.
//! let manager = voltaic::Manager::replay(tree)?;
//! for battery in manager.batteries()? {
//!     println!("{} {} {:?} %", battery.id, battery.state, battery.percentage);
//! }
//! # Ok::<(), voltaic::Error>(())
//! ```
#![deny(missing_docs)]

mod error;
mod manager;
mod sys;
mod sysfs;

pub use error::{Error, ErrorKind, Result};
pub use manager::{Manager, Snapshot};
pub use voltaic_core::decode::Skipped;
pub use voltaic_core::{
    Battery, ChargeBehaviour, Date, Derived, Field, Kind, Level, PeripheralKind, PowerSource,
    SourceKind, State, Technology,
};

/// The README's examples, compiled and run as doctests so they cannot drift.
#[doc = include_str!("../../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

/// The pure core: raw records, decoders and recordings (re-exported for `voltaic record` and tools).
pub use voltaic_core as core;
