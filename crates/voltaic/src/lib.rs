//! voltaic: read notebook batteries, chargers and (when asked) peripheral batteries.
//!
//! [`Manager`] reads this machine (Linux, Android, macOS, iOS, Windows, FreeBSD, DragonFly, OpenBSD,
//! NetBSD; see `PLATFORMS.md`) or replays a recording, and returns
//! [`Battery`] and [`PowerSource`] snapshots: plain SI numbers with the unit in the field name, `None` for
//! every value the OS did not give, never NaN, never a made-up number.
//!
//! ```
//! # let tree = concat!(env!("CARGO_MANIFEST_DIR"), "/samples/thinkpad-ac");
//! // `Manager::new()` reads this machine; a recording reads the same way anywhere.
//! let manager = voltaic::Manager::replay(tree)?;
//! for battery in manager.batteries()? {
//!     println!("{} {} {:?} %", battery.id, battery.state, battery.percentage);
//! }
//! # Ok::<(), voltaic::Error>(())
//! ```
//!
//! # Features
//!
//! - `replay` (default): [`Manager::replay`] of recording files in every form `voltaic record` and the
//!   OSes' own tools write (voltaic-core's parsers and the `plist` reader). Without it a directory laid
//!   out like `/sys/class/power_supply` still replays, and a file is an [`ErrorKind::Unsupported`] error.
//!   `default-features = false` leaves the plist/time stack out of a program that only reads its machine.
//! - `serde`: `Serialize` and `Deserialize` for the model ([`Battery`], [`PowerSource`], [`Snapshot`]…).
//! - `async`: `Watcher::into_stream`, the watcher's events as a `futures_core::Stream`
//!   (`EventStream`) for any executor: one background thread, no runtime dependency.
//! - `netbsd-power-events` (NetBSD only; off by default): the [`Watcher`] waits on power(4) events of
//!   `/dev/power` instead of polling. That device has one reader, the power daemon: while a watcher
//!   holds it, the kernel hands power-button and lid events to the watcher instead of acting on them
//!   (without powerd, a pressed power button no longer shuts the machine down). With powerd running,
//!   the watcher polls either way.
#![deny(missing_docs)]
// docs.rs builds with `--cfg docsrs` (Cargo.toml): items behind a feature get a badge saying so.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod error;
mod limits;
mod manager;
#[cfg(feature = "serde")]
mod snapshot_serde;
#[cfg(feature = "async")]
mod stream;
mod sys;
mod sysfs;
mod watch;

pub use error::{Error, ErrorKind, Result};
pub use limits::{ChargeControl, PlannedWrite};
pub use manager::{Manager, Snapshot};
#[cfg(feature = "serde")]
pub use snapshot_serde::SCHEMA_VERSION;
#[cfg(feature = "async")]
pub use stream::EventStream;
pub use voltaic_core::decode::Skipped;
pub use voltaic_core::estimate::EstimatorConfig;
pub use voltaic_core::event::Event;
pub use voltaic_core::names::ParseNameError;
pub use voltaic_core::summary::Summary;
pub use voltaic_core::warning::{WarningConfig, WarningLevel};
pub use voltaic_core::{
    Battery, ChargeBehaviour, ChargeLimits, Date, Derived, Field, Kind, Level, PeripheralKind,
    PowerSource, SourceKind, State, Technology,
};
pub use watch::{ACTIVE_POLL_INTERVAL, DEFAULT_POLL_INTERVAL, Watcher};

/// The README's examples, compiled and run as doctests so they cannot drift.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

/// The pure core: raw records, decoders and recordings (re-exported for `voltaic record` and tools).
pub use voltaic_core as core;
