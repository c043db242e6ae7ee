//! Systems where voltaic has no change notification (yet): the watcher re-reads on a timer.
//!
//! Used on NetBSD without the `netbsd-power-events` feature and on every unsupported target;
//! `PLATFORMS.md` says per OS which notification the OS offers. There is no OS object to wait on, so
//! [`Wake`] has no values: `open` always answers "poll".

use std::time::Duration;

use crate::error::Result;

/// No notification source exists on this system (the type has no values).
#[derive(Debug)]
pub(crate) enum Wake {}

impl Wake {
    /// Always `Ok(None)`: the watcher polls.
    #[allow(clippy::unnecessary_wraps)] // same signature as the shells that can fail
    pub(crate) fn open() -> Result<Option<Wake>> {
        Ok(None)
    }

    pub(crate) fn wait(&mut self, _timeout: Option<Duration>) -> Result<bool> {
        match *self {}
    }
}

#[cfg(unix)]
impl std::os::fd::AsFd for Wake {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        match *self {}
    }
}
