//! Waiting for a directory to change without polling it: inotify on the WAL
//! directory, whose watch also reports writes to the files in it (O_DIRECT
//! and io_uring writes included). A follower reads the directory only when
//! it changed, or after `max_wait` at the latest, as a safety net for a
//! filesystem that does not report (network filesystems, some FUSE).

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;
use std::time::Duration;

/// An inotify watch on one directory.
#[derive(Debug)]
pub struct DirWatch {
    fd: OwnedFd,
}

impl DirWatch {
    /// Watches `dir` for writes to its files, and for files created,
    /// renamed or removed.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// use std::time::Duration;
    /// use xwal::internals::io::DirWatch;
    ///
    /// let dir = tempfile::tempdir_in(".")?;
    /// let watch = DirWatch::new(dir.path())?;
    /// assert!(!watch.wait(Duration::from_millis(1))?);
    /// std::fs::write(dir.path().join("f"), b"x")?;
    /// assert!(watch.wait(Duration::from_secs(10))?);
    /// # Ok(()) }
    /// ```
    pub fn new(dir: &Path) -> io::Result<DirWatch> {
        use std::os::unix::ffi::OsStrExt;
        let path = std::ffi::CString::new(dir.as_os_str().as_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in path"))?;
        // SAFETY: plain syscall; the descriptor is owned below.
        let raw = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a fresh descriptor nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let mask = libc::IN_MODIFY
            | libc::IN_CREATE
            | libc::IN_MOVED_TO
            | libc::IN_MOVED_FROM
            | libc::IN_DELETE
            | libc::IN_CLOSE_WRITE;
        // SAFETY: `path` is a valid NUL-terminated string for the call's duration.
        let wd = unsafe { libc::inotify_add_watch(fd.as_raw_fd(), path.as_ptr(), mask) };
        if wd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(DirWatch { fd })
    }

    /// Waits until something changed (true) or `max_wait` passed (false),
    /// and forgets the events read: the caller rereads what it follows.
    pub fn wait(&self, max_wait: Duration) -> io::Result<bool> {
        let mut pfd = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = max_wait.as_millis().min(i32::MAX as u128) as i32;
        // SAFETY: one valid pollfd, for the call's duration.
        let n = unsafe { libc::poll(&mut pfd, 1, ms) };
        if n < 0 {
            let e = io::Error::last_os_error();
            return if e.kind() == io::ErrorKind::Interrupted {
                Ok(true)
            } else {
                Err(e)
            };
        }
        if n == 0 {
            return Ok(false);
        }
        self.drain();
        Ok(true)
    }

    /// Reads (and drops) every pending event.
    fn drain(&self) {
        let mut buf = [0u8; 4096];
        loop {
            // SAFETY: `buf` is valid for `buf.len()` bytes; the fd is non-blocking.
            let n = unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                return;
            }
        }
    }
}
