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

/// A level-triggered wake-up that a [`DirWatch::wait`] also returns for:
/// an eventfd, so that closing a read-only view ends a follower's wait at
/// once instead of at its next look.
///
/// # Examples
///
/// ```
/// # fn main() -> std::io::Result<()> {
/// use std::time::Duration;
/// use xwal::internals::io::{DirWatch, Wakeup};
///
/// let dir = tempfile::tempdir_in(".")?;
/// let watch = DirWatch::new(dir.path())?;
/// let stop = Wakeup::new()?;
/// assert!(!stop.is_set());
/// stop.set();
/// assert!(stop.is_set());
/// // A set wake-up ends every later wait at once.
/// assert!(watch.wait(Duration::from_secs(60), Some(&stop))?);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Wakeup {
    fd: OwnedFd,
}

impl Wakeup {
    /// A wake-up that is not set.
    pub fn new() -> io::Result<Wakeup> {
        // SAFETY: plain syscall; the descriptor is owned below.
        let raw = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a fresh descriptor nobody else owns.
        Ok(Wakeup {
            fd: unsafe { OwnedFd::from_raw_fd(raw) },
        })
    }

    /// Sets it for good: every wait on it returns from now on.
    pub fn set(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a valid u64; an eventfd write fails
        // only when the counter would overflow, which it cannot from 1s.
        let _ = unsafe { libc::write(self.fd.as_raw_fd(), (&one as *const u64).cast(), 8) };
    }

    /// True once [`Wakeup::set`] was called (the counter is never read down).
    #[cfg_attr(not(feature = "internals"), allow(dead_code))]
    pub fn is_set(&self) -> bool {
        poll_in(&mut [self.pollfd()], 0).unwrap_or(0) > 0
    }

    fn pollfd(&self) -> libc::pollfd {
        libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        }
    }
}

/// `poll` on `fds` for up to `max_wait` (milliseconds): how many are ready.
fn poll_in(fds: &mut [libc::pollfd], ms: i32) -> io::Result<usize> {
    // SAFETY: `fds` is a valid slice of pollfds for the call's duration.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
    if n < 0 {
        let e = io::Error::last_os_error();
        return match e.kind() {
            io::ErrorKind::Interrupted => Ok(1),
            _ => Err(e),
        };
    }
    Ok(n as usize)
}

/// Sleeps up to `max_wait`, or until `stop` is set: for a follower without inotify.
pub(crate) fn sleep_unless(max_wait: Duration, stop: Option<&Wakeup>) -> io::Result<()> {
    match stop {
        Some(w) => poll_in(&mut [w.pollfd()], millis(max_wait)).map(|_| ()),
        None => {
            std::thread::sleep(max_wait);
            Ok(())
        }
    }
}

fn millis(d: Duration) -> i32 {
    d.as_millis().min(i32::MAX as u128) as i32
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
    /// assert!(!watch.wait(Duration::from_millis(1), None)?);
    /// std::fs::write(dir.path().join("f"), b"x")?;
    /// assert!(watch.wait(Duration::from_secs(10), None)?);
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

    /// Waits until something changed (true), `stop` is set (true), or
    /// `max_wait` passed (false), and forgets the events read: the caller
    /// rereads what it follows.
    pub fn wait(&self, max_wait: Duration, stop: Option<&Wakeup>) -> io::Result<bool> {
        let mut fds = [
            libc::pollfd {
                fd: self.fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            match stop {
                Some(w) => w.pollfd(),
                // A negative descriptor is ignored by poll.
                None => libc::pollfd {
                    fd: -1,
                    events: 0,
                    revents: 0,
                },
            },
        ];
        if poll_in(&mut fds, millis(max_wait))? == 0 {
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
