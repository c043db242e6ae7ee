//! Reading into a vector's spare capacity on every Unix (crate::sysfs runs everywhere, for `--replay DIR`).

#![allow(unsafe_code)]

/// Appends to `buf` what one positioned read of at most `max` bytes at `offset` gives (pread(2) into the
/// vector's spare capacity: the space is not zeroed first); how many bytes it read.
pub(crate) fn append_at(
    file: &std::fs::File,
    buf: &mut Vec<u8>,
    max: usize,
    offset: u64,
) -> std::io::Result<usize> {
    use std::os::fd::AsRawFd;
    let offset = libc::off_t::try_from(offset)
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
    buf.reserve(max);
    let spare = buf.spare_capacity_mut();
    let max = max.min(spare.len());
    // SAFETY: `spare` has room for `max` bytes and outlives the call; the descriptor is open (`file`).
    let n = unsafe { libc::pread(file.as_raw_fd(), spare.as_mut_ptr().cast(), max, offset) };
    if n < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let n = (n as usize).min(max);
    // SAFETY: pread initialized the first `n` bytes of the spare capacity, `n` <= `max` <= its length.
    unsafe { buf.set_len(buf.len() + n) };
    Ok(n)
}
