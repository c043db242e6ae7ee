//! Fallback shell for systems without a battery backend. It compiles on every target (never
//! `compile_error!`, which broke every Android/Termux/OpenBSD user of the old `battery` crate) and
//! answers with a clear "unsupported" error. `--replay` still works here.

use voltaic_core::record::RawDevice;

use super::Reading;
use crate::error::{Error, ErrorKind, Result};

pub(crate) const SUPPORTED: bool = false;

fn unsupported() -> Error {
    Error::new(
        ErrorKind::Unsupported,
        format!(
            "voltaic has no battery backend for this system ({}); replaying a recording still works",
            std::env::consts::OS
        ),
    )
}

pub(crate) fn read_all() -> Result<Reading> {
    Err(unsupported())
}

pub(crate) fn read_one(_id: &str) -> Result<Option<RawDevice>> {
    Err(unsupported())
}

/// What this shell keeps between refreshes of one battery (nothing yet: each refresh reads afresh).
#[derive(Debug, Default)]
pub(crate) struct Handles;

/// Re-reads device `id` for `Manager::refresh`, through what `handles` keeps.
pub(crate) fn read_kept(_handles: &mut Handles, id: &str) -> Result<Option<RawDevice>> {
    read_one(id)
}
