//! Linux (and Android) shell: the `power_supply` class in sysfs.
//!
//! Enumerates `/sys/class/power_supply` and reads each device with [`crate::sysfs`]. Reading needs no
//! privilege. Android 7+ denies apps this directory (SELinux; Powerlevel9k #820): that is reported as
//! "unsupported", not as a crash.

use std::path::Path;

use voltaic_core::decode::{Decoded, Skipped};
use voltaic_core::record::RawDevice;

use super::Reading;
use crate::error::{Error, ErrorKind, Result};
use crate::sysfs;

/// The power-supply class directory (Documentation/ABI/testing/sysfs-class-power).
pub(crate) const ROOT: &str = "/sys/class/power_supply";

pub(crate) const SUPPORTED: bool = true;

/// `Manager` reads and refreshes this directory through [`crate::sysfs`] in place.
pub(crate) const SYSFS_ROOT: Option<&str> = Some(ROOT);

pub(crate) fn read_all() -> Result<Reading> {
    match sysfs::read_tree(Path::new(ROOT)) {
        Ok(tree) => Ok(Reading {
            devices: tree.devices,
            unreadable: tree.unreadable,
        }),
        Err(e) => class_dir_error(e).map(|()| Reading::default()),
    }
}

/// Every device read and decoded in place (no records built): what a snapshot costs.
pub(crate) fn decode_all() -> Result<(Decoded, Vec<Skipped>)> {
    sysfs::decode_tree(Path::new(ROOT))
        .or_else(|e| class_dir_error(e).map(|()| (Decoded::default(), Vec::new())))
}

/// What a failure to list the class directory means: `Ok` (no batteries) when it does not exist.
fn class_dir_error(e: Error) -> Result<()> {
    match e.kind() {
        // No class directory: a container or a kernel without power-supply support has no batteries.
        ErrorKind::NotFound => Ok(()),
        ErrorKind::PermissionDenied => Err(Error::new(
            ErrorKind::Unsupported,
            "this system does not let programs read the power-supply class (Android restricts it to the \
             system; a sandbox may too)",
        )
        .with_path(ROOT)),
        _ => Err(e),
    }
}

pub(crate) fn read_one(id: &str) -> Result<Option<RawDevice>> {
    sysfs::read_device(Path::new(ROOT), id).map_err(|reason| {
        Error::new(
            ErrorKind::Io,
            format!("reading power supply {id}: {reason}"),
        )
        .with_path(ROOT)
    })
}

/// Nothing: on Linux `Manager` refreshes through the descriptors [`crate::sysfs`] keeps (`SYSFS_ROOT`),
/// and this path is never taken.
#[derive(Debug, Default)]
pub(crate) struct Handles;

/// Re-reads device `id` for `Manager::refresh`, through what `handles` keeps.
pub(crate) fn read_kept(_handles: &mut Handles, id: &str) -> Result<Option<RawDevice>> {
    read_one(id)
}

/// The machine's DMI product name (`/sys/devices/virtual/dmi/id/product_name`, absent on device-tree
/// machines), read once per process: it cannot change while the machine runs. The decoder's Intel MacBook
/// rule needs it (UPower's `is_macbook()`, src/linux/up-enumerator-udev.c).
pub(crate) fn machine_name() -> Option<&'static str> {
    static NAME: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    NAME.get_or_init(|| {
        // Opened and read into a stack buffer: nothing allocated on machines without it. A DMI string
        // is at most 255 bytes (SMBIOS strings, drivers/firmware/dmi_scan.c `dmi_string`).
        let fd = open_at(
            libc::AT_FDCWD,
            b"/sys/devices/virtual/dmi/id/product_name",
            libc::O_RDONLY | libc::O_NONBLOCK | libc::O_CLOEXEC,
        )
        .ok()?;
        let mut buf = [0u8; 512];
        let n = std::io::Read::read(&mut std::fs::File::from(fd), &mut buf).ok()?;
        let name = std::str::from_utf8(&buf[..n]).ok()?.trim();
        (!name.is_empty()).then(|| name.to_owned())
    })
    .as_deref()
}

/// How a directory is opened: never blocking, and O_DIRECTORY refuses anything else (a FIFO) before
/// opening it.
const DIR_FLAGS: libc::c_int =
    libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NONBLOCK | libc::O_CLOEXEC;

/// A directory held open, whose entries are opened relative to it (openat(2)): a device's files are
/// opened by their bare names, with no path built and converted for each.
#[derive(Debug)]
pub(crate) struct Dir(std::os::fd::OwnedFd);

impl Dir {
    /// Opens the directory at `path` (following symlinks: the class directory's entries are links to
    /// the device directories), never blocking: O_DIRECTORY refuses anything else before opening it.
    pub(crate) fn open(path: &Path) -> std::io::Result<Dir> {
        use std::os::unix::ffi::OsStrExt;
        use std::os::unix::fs::OpenOptionsExt;
        let bytes = path.as_os_str().as_bytes();
        if bytes.len() < NAME_BUF {
            return Ok(Dir(open_at(libc::AT_FDCWD, bytes, DIR_FLAGS)?));
        }
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(DIR_FLAGS)
            .open(path)?;
        Ok(Dir(file.into()))
    }

    /// Opens the subdirectory `name` (one path component), as [`Dir::open`] does.
    pub(crate) fn open_dir(&self, name: &str) -> std::io::Result<Dir> {
        use std::os::fd::AsRawFd;
        let fd = open_at(self.0.as_raw_fd(), name.as_bytes(), DIR_FLAGS)?;
        Ok(Dir(fd))
    }

    /// Opens the file `name` (one path component) for reading, never blocking and never following a final
    /// symlink (the flags of `open_flags`).
    pub(crate) fn open_file(&self, name: &str) -> std::io::Result<std::fs::File> {
        use std::os::fd::AsRawFd;
        let fd = open_at(
            self.0.as_raw_fd(),
            name.as_bytes(),
            libc::O_RDONLY | super::FILE_OPEN_FLAGS,
        )?;
        Ok(std::fs::File::from(fd))
    }

    /// Calls `each` with the name of every entry that starts with `prefix` (`.` and `..` included when it
    /// is empty), read with getdents64(2) into a stack buffer: no allocation per entry. Reads from the
    /// descriptor's current position (a fresh `Dir` lists once).
    pub(crate) fn each_name(
        &self,
        prefix: &[u8],
        mut each: impl FnMut(&[u8]),
    ) -> std::io::Result<()> {
        let mut space = [std::mem::MaybeUninit::<u8>::uninit(); 4096];
        loop {
            let buf = self.getdents(&mut space)?;
            let n = buf.len();
            if n == 0 {
                return Ok(());
            }
            // struct linux_dirent64 { u64 d_ino; s64 d_off; u16 d_reclen; u8 d_type; char d_name[]; }
            // (include/linux/dirent.h); the kernel aligns each record to 8 bytes.
            let mut at = 0;
            while at + 19 < n {
                let reclen = usize::from(u16::from_ne_bytes([buf[at + 16], buf[at + 17]]));
                if at + reclen > n {
                    return Err(std::io::Error::from(std::io::ErrorKind::InvalidData));
                }
                if reclen < 24 {
                    return Err(std::io::Error::from(std::io::ErrorKind::InvalidData));
                }
                // The name region holds the name, its NUL and padding: a shorter name fails here too.
                let name_region = &buf[at + 19..at + reclen];
                if prefix
                    .first()
                    .is_some_and(|&b| b != name_region[0] || !name_region.starts_with(prefix))
                {
                    at += reclen;
                    continue;
                }
                // The name is NUL-terminated and padded to the record's 8-byte alignment, so its NUL is
                // in the record's last 8 bytes: found in one word (the lowest zero byte; bytes before
                // the name, the record length and type, are counted as non-zero).
                let last = at + reclen - 8;
                let mut word = [0u8; 8];
                word.copy_from_slice(&buf[last..at + reclen]);
                let mut word = u64::from_le_bytes(word);
                let before_name = (at + 19).saturating_sub(last);
                if before_name > 0 {
                    word |= u64::MAX >> (64 - 8 * before_name);
                }
                let zeros =
                    word.wrapping_sub(0x0101_0101_0101_0101) & !word & 0x8080_8080_8080_8080;
                let end = if zeros == 0 {
                    at + reclen
                } else {
                    last + (zeros.trailing_zeros() / 8) as usize
                };
                each(&buf[at + 19..end]);
                at += reclen;
            }
        }
    }

    #[allow(unsafe_code)]
    fn getdents<'b>(&self, buf: &'b mut [std::mem::MaybeUninit<u8>]) -> std::io::Result<&'b [u8]> {
        use std::os::fd::AsRawFd;
        // SAFETY: the kernel writes at most `buf.len()` bytes into `buf`, which outlives the call;
        // `self.0` is an open descriptor owned by `self`.
        let n = unsafe {
            libc::syscall(
                libc::SYS_getdents64,
                self.0.as_raw_fd(),
                buf.as_mut_ptr(),
                buf.len(),
            )
        };
        if n < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let n = (n as usize).min(buf.len());
        // SAFETY: the kernel initialized the first `n` bytes of `buf` (getdents64 returns how many it
        // wrote), and `n` is within `buf`.
        Ok(unsafe { std::slice::from_raw_parts(buf.as_ptr().cast::<u8>(), n) })
    }
}

/// The longest name [`open_at`] takes with its NUL (NAME_MAX is 255 on Linux; longer paths go through std).
const NAME_BUF: usize = 256;

/// openat(2) of `name` relative to the descriptor `dir` (or the working directory: `AT_FDCWD`), the name
/// and its NUL in a stack buffer: no allocation, no conversion.
#[allow(unsafe_code)]
fn open_at(
    dir: std::os::fd::RawFd,
    name: &[u8],
    flags: libc::c_int,
) -> std::io::Result<std::os::fd::OwnedFd> {
    use std::mem::MaybeUninit;
    use std::os::fd::FromRawFd;
    // Not zeroed first: only the name and its NUL are written and read.
    let mut buf = [MaybeUninit::<u8>::uninit(); NAME_BUF];
    let bytes = name;
    if bytes.len() >= buf.len() {
        return Err(std::io::Error::from_raw_os_error(libc::ENAMETOOLONG));
    }
    if bytes.contains(&0) {
        return Err(std::io::Error::from_raw_os_error(libc::EINVAL));
    }
    for (slot, &b) in buf.iter_mut().zip(bytes) {
        slot.write(b);
    }
    buf[bytes.len()].write(0);
    // SAFETY: `buf` holds the name (no NUL of its own) and its NUL, all written above; the kernel reads
    // no further than that NUL; `buf` lives across the call; `dir` is an open descriptor of the caller's
    // or AT_FDCWD.
    let fd = unsafe { libc::openat(dir, buf.as_ptr().cast(), flags) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by openat and is owned by nobody else.
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) })
}
