//! The one error type of the `voltaic` library.

use std::fmt;
use std::path::{Path, PathBuf};

/// What went wrong, broadly. Match on this; read the message for the details.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// This platform has no battery backend (or the OS hides batteries from this process, as Android does).
    Unsupported,
    /// The OS refused access.
    PermissionDenied,
    /// The device went away (battery removed, peripheral disconnected) between two reads.
    DeviceGone,
    /// A replay path does not exist.
    NotFound,
    /// A recording could not be read as any recording form voltaic knows.
    InvalidRecording,
    /// The values asked for are not valid (a charge start not below the end, a percentage above 100, a
    /// behaviour the battery does not offer): nothing was written.
    InvalidInput,
    /// The driver or firmware refused a value it was sent (Linux `EINVAL`); the message says which
    /// values drivers are known to accept.
    Rejected,
    /// Any other failure talking to the OS.
    Io,
}

/// An error from the `voltaic` library: what was being done, on which path or device, and why.
///
/// `Display` says what was being done and on which path; the cause (an IO error, a parse error naming the
/// line) is [`source()`](std::error::Error::source), as the std convention has it, so that `anyhow`'s
/// `{:#}`, `eyre` and `miette` print each cause once.
///
/// A value the OS did not give is never an error (it is `None` in the model); an error means voltaic
/// could not talk to the OS at all, or a recording could not be read.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    path: Option<PathBuf>,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Error {
    /// An error of `kind` with a message saying what was being done.
    #[must_use]
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            path: None,
            source: None,
        }
    }

    /// An IO failure while doing `what` on `path`; the kind follows the IO error.
    #[must_use]
    pub fn io(what: &str, path: &Path, err: std::io::Error) -> Self {
        let kind = match err.kind() {
            std::io::ErrorKind::NotFound => ErrorKind::NotFound,
            std::io::ErrorKind::PermissionDenied => ErrorKind::PermissionDenied,
            _ => ErrorKind::Io,
        };
        Error {
            kind,
            message: what.to_owned(),
            path: Some(path.to_owned()),
            source: Some(Box::new(err)),
        }
    }

    /// Attaches the path the error is about.
    #[must_use]
    pub fn with_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// Attaches the underlying cause.
    #[must_use]
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// What sort of failure this is.
    #[must_use]
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The file or device path the error is about, if any.
    #[must_use]
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Messages and paths can quote a device or a recording: escaped like every printed device string.
        use voltaic_core::text::escape;
        f.write_str(&escape(&self.message))?;
        if let Some(path) = &self.path {
            write!(f, " ({})", escape(&path.display().to_string()))?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_names_path_and_cause() {
        let e = Error::io(
            "reading the battery",
            Path::new("/sys/class/power_supply/BAT0/uevent"),
            std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        );
        assert_eq!(e.kind(), ErrorKind::PermissionDenied);
        assert_eq!(
            e.to_string(),
            "reading the battery (/sys/class/power_supply/BAT0/uevent)"
        );
        let cause = std::error::Error::source(&e).map(ToString::to_string);
        assert_eq!(cause.as_deref(), Some("permission denied"));
    }

    #[test]
    fn a_cause_is_printed_once_through_a_chain() {
        let e = Error::io(
            "opening the recording",
            Path::new("/nowhere"),
            std::io::Error::from(std::io::ErrorKind::NotFound),
        );
        // What `anyhow`'s `{:#}` prints: each error of the source chain once, joined by ": ".
        let mut chain = vec![e.to_string()];
        let mut next = std::error::Error::source(&e);
        while let Some(cause) = next {
            chain.push(cause.to_string());
            next = cause.source();
        }
        assert_eq!(
            chain.join(": "),
            "opening the recording (/nowhere): entity not found"
        );
    }
}
