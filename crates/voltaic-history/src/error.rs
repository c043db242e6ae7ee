//! [`Error`]: what went wrong with the history database, in words a user can act on.

use std::fmt;
use std::path::Path;

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What kind of failure, for callers that react differently (exit codes, retries).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The disk (or the database's size cap) is full; nothing of the failed write was stored.
    Full,
    /// Another logger holds the database; the message names its process.
    Locked,
    /// The database is busy (another process kept a write lock longer than the wait).
    Busy,
    /// The file is not an SQLite database.
    NotADatabase,
    /// SQLite found the file damaged.
    Corrupt,
    /// The file was written by a newer voltaic with a schema this one does not know.
    NewerSchema,
    /// A file-system error outside SQLite (the lock file, the data directory).
    Io,
    /// Any other database error.
    Database,
}

/// A history error: its kind and a message naming the file and what was being done.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
            source: None,
        }
    }

    pub(crate) fn io(action: &str, path: &Path, e: std::io::Error) -> Error {
        Error {
            kind: ErrorKind::Io,
            message: format!("{action} {}", path.display()),
            source: Some(Box::new(e)),
        }
    }

    /// Classifies an SQLite error by its primary result code (<https://www.sqlite.org/rescode.html>).
    pub(crate) fn sqlite(action: &str, path: &Path, e: rusqlite::Error) -> Error {
        use rusqlite::ErrorCode;
        let code = e.sqlite_error_code();
        let (kind, what) = match code {
            Some(ErrorCode::DiskFull) => (
                ErrorKind::Full,
                "the disk or the database's size limit is full; nothing of this write was stored, earlier data is kept",
            ),
            Some(ErrorCode::NotADatabase) => (ErrorKind::NotADatabase, "not an SQLite database"),
            Some(ErrorCode::DatabaseCorrupt) => (ErrorKind::Corrupt, "the database is damaged"),
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => (
                ErrorKind::Busy,
                "another process holds the database's write lock",
            ),
            _ => (ErrorKind::Database, ""),
        };
        let message = if what.is_empty() {
            format!("{action} {}", path.display())
        } else {
            format!("{action} {}: {what}", path.display())
        };
        Error {
            kind,
            message,
            source: Some(Box::new(e)),
        }
    }

    /// What kind of failure this is.
    #[must_use]
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}
