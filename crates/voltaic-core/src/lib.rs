//! voltaic-core: the pure heart of voltaic.
//!
//! It turns each OS's raw battery record ([`record::RawDevice`]) into one model ([`Battery`],
//! [`PowerSource`]) with plain SI numbers, `None` for everything unknown, and a flag on every value that
//! was worked out rather than reported. It does no IO, reads no clock and contains no `unsafe`: the OS
//! shells in the `voltaic` crate read, this crate decides what the numbers mean. That is why every rule
//! here is tested on Linux CI from recordings of real machines.
//!
//! ```
//! use voltaic_core::{decode::decode, replay::parse_recording, State};
//!
//! let uevent = "POWER_SUPPLY_NAME=BAT0\nPOWER_SUPPLY_TYPE=Battery\nPOWER_SUPPLY_STATUS=Not charging\n\
//!               POWER_SUPPLY_CAPACITY=94\nPOWER_SUPPLY_CHARGE_FULL=2871000\n\
//!               POWER_SUPPLY_CHARGE_FULL_DESIGN=8509000\nPOWER_SUPPLY_VOLTAGE_MIN_DESIGN=11400000\n";
//! let decoded = decode(&parse_recording(uevent.as_bytes())?);
//! let battery = &decoded.batteries[0];
//! assert_eq!(battery.state, State::NotCharging);
//! assert_eq!(battery.percentage, Some(94.0));
//! assert_eq!(battery.health_percent.map(f64::round), Some(34.0));
//! # Ok::<(), voltaic_core::record::ParseError>(())
//! ```
//!
//! # Features
//!
//! - `replay` (default): the [`replay`] module, reading recordings in every form voltaic knows (its record
//!   form, Linux uevent text, `ioreg` plists and text, Windows, FreeBSD, OpenBSD and NetBSD captures).
//!   The ioreg plist reader brings in the `plist` crate (with `time` and `quick-xml`); without the feature
//!   neither is compiled.
//! - `serde`: `Serialize` and `Deserialize` for the model.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
// docs.rs builds with `--cfg docsrs` (Cargo.toml): items behind a feature get a badge saying so.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod battery;
pub mod bsd_event;
pub mod decode;
pub mod derived;
pub mod estimate;
pub mod event;
pub mod limits;
pub mod names;
pub mod record;
#[cfg(feature = "replay")]
pub mod replay;
#[cfg(feature = "serde")]
pub mod serde_impl;
pub mod source;
pub mod summary;
pub mod text;
pub mod warning;

pub use battery::{Battery, ChargeBehaviour, Date, Kind, Level, PeripheralKind, State, Technology};
pub use derived::{Derived, Field};
pub use event::Event;
pub use limits::ChargeLimits;
pub use source::{PowerSource, SourceKind};
pub use summary::Summary;
pub use warning::{WarningConfig, WarningLevel};
