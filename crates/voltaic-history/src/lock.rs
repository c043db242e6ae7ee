//! [`LoggerLock`]: one logger per database.
//!
//! SQLite alone keeps two writers from corrupting the file, but two loggers would store every sample twice
//! and fight over compaction. The logger therefore holds an exclusive lock on `<database>.lock` for as long
//! as it runs, with its process id written inside so the second one can say who holds it. The lock is the
//! OS's advisory file lock (`flock` on Unix, `LockFileEx` on Windows, through `File::try_lock`): the OS
//! drops it when the process ends, even on `kill -9`, so a stale lock file never blocks a new logger.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, Result};

/// Longest lock-file content read back (a process id and a newline).
const MAX_LOCK_CONTENT: u64 = 64;

/// An exclusive claim on a database for one logger; released when dropped or when the process ends.
#[derive(Debug)]
pub struct LoggerLock {
    file: File,
    path: PathBuf,
}

impl LoggerLock {
    /// Takes the logger lock of the database at `database`.
    ///
    /// # Errors
    /// [`ErrorKind::Locked`] when another logger holds it (the message names its process id when known),
    /// [`ErrorKind::Io`] when the lock file cannot be opened.
    pub fn acquire(database: &Path) -> Result<LoggerLock> {
        let mut name = database.as_os_str().to_owned();
        name.push(".lock");
        let path = PathBuf::from(name);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| Error::io("opening the lock file", &path, e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                // The holder writes its pid right after locking; an empty or unreadable file still gives
                // a clear message, only without the number.
                let _ = (&file).take(MAX_LOCK_CONTENT).read_to_string(&mut text);
                let holder = text.trim().parse::<u32>().map_or_else(
                    |_| "another process".to_owned(),
                    |pid| format!("process {pid}"),
                );
                return Err(Error::new(
                    ErrorKind::Locked,
                    format!(
                        "another voltaic logger ({holder}) is writing to {}; stop it first (lock file {})",
                        database.display(),
                        path.display()
                    ),
                ));
            }
            Err(TryLockError::Error(e)) => return Err(Error::io("locking", &path, e)),
        }
        let write = |file: &mut File| -> std::io::Result<()> {
            file.set_len(0)?;
            file.seek(SeekFrom::Start(0))?;
            writeln!(file, "{}", std::process::id())?;
            file.flush()
        };
        write(&mut file).map_err(|e| Error::io("writing the lock file", &path, e))?;
        Ok(LoggerLock { file, path })
    }

    /// The lock file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for LoggerLock {
    fn drop(&mut self) {
        // Closing the file releases the lock; unlocking first makes the release explicit on every OS.
        let _ = self.file.unlock();
    }
}
