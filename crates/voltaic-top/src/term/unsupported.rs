//! `run` for targets crossterm has no terminal backend for (wasm): a clear error, never a build failure.

use std::io;

use voltaic::Manager;

use crate::app::Options;

/// Runs the viewer; on this target there is no terminal to run it in.
///
/// # Errors
/// Always [`io::ErrorKind::Unsupported`].
pub fn run(manager: Manager, options: Options) -> io::Result<()> {
    let _ = (manager, options);
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "voltaic top needs a terminal, and this platform has none it can drive",
    ))
}
