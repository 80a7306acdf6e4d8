//! Fault injection at the I/O seam: wraps any [`WriteEngine`] and rewrites the
//! results of chosen operations. strace cannot inject into io_uring ops, so this
//! is how the io_uring engine's failure handling is tested.

use super::{AlignedBuf, WriteEngine, WriteOp};
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::io;
use std::os::fd::RawFd;
use std::sync::Arc;

/// What to do to an operation.
///
/// # Examples
///
/// ```
/// # fn main() -> xwal::Result<()> {
/// use xwal::seams::{Fault, FaultInjector, Seams};
/// use xwal::{Config, Error, Wal};
///
/// let dir = tempfile::tempdir_in(".").unwrap();
/// let faults = FaultInjector::new();
/// // Test seams exist only with the `test-seams` feature.
/// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
/// let (wal, _) = Wal::open_with(config.clone(), Seams { faults: Some(faults.clone()), ..Seams::default() })?;
/// wal.append(b"durable")?;
///
/// faults.arm(0, Fault::FailSync(libc::EIO));
/// // A failed fdatasync fences the WAL: nothing more is acknowledged.
/// assert!(matches!(wal.append(b"unacknowledged"), Err(Error::Fenced { .. })));
/// assert!(matches!(wal.append(b"later"), Err(Error::Fenced { .. })));
/// drop(wal);
///
/// // Reopening recovers everything acknowledged.
/// let (wal, report) = Wal::open(config)?;
/// assert!(report.last_lsn >= 1);
/// assert_eq!(wal.replay(xwal::ReplayOptions::all())?.next().unwrap()?.data, b"durable");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The write itself fails with this errno; nothing is written.
    FailWrite(i32),
    /// The data is written but the fdatasync fails with this errno.
    FailSync(i32),
    /// Only the first this-many 4 KiB blocks are written, then the device
    /// stops (`WriteZero`): a short write the engine cannot complete.
    ShortWrite(usize),
}

#[derive(Debug, Default)]
struct Plan {
    /// (operations to let through first, fault), consumed in order.
    rules: Vec<(u64, Fault)>,
    ops: u64,
    injected: u64,
}

/// Shared handle: tests arm faults while the WAL runs.
///
/// # Examples
///
/// ```
/// # fn main() -> xwal::Result<()> {
/// use xwal::seams::{Fault, FaultInjector, Seams};
/// use xwal::{Config, Error, Wal};
///
/// let dir = tempfile::tempdir_in(".").unwrap();
/// let faults = FaultInjector::new();
/// let config = Config::new(dir.path())
///     .segment_size(1 << 20)
///     .max_entry_size(64 << 10);
/// let seams = Seams { faults: Some(faults.clone()), ..Seams::default() };
/// let (wal, _) = Wal::open_with(config, seams)?;
/// // The WAL holds a clone: arming this handle reaches its writer.
/// faults.arm(0, Fault::FailWrite(libc::EIO));
/// assert!(matches!(wal.append(b"refused"), Err(Error::Fenced { .. })));
/// assert_eq!(faults.injected(), 1);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default)]
pub struct FaultInjector(Arc<Mutex<Plan>>);

impl FaultInjector {
    /// A new injector with nothing armed.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::seams::{FaultInjector, Seams};
    /// use xwal::{Config, Wal};
    ///
    /// let faults = FaultInjector::new();
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let config = Config::new(dir.path())
    ///     .segment_size(1 << 20)
    ///     .max_entry_size(64 << 10);
    /// let seams = Seams { faults: Some(faults.clone()), ..Seams::default() };
    /// let (wal, _) = Wal::open_with(config, seams)?;
    /// // Nothing armed: the WAL works as usual.
    /// assert_eq!(wal.append(b"fine")?, 1);
    /// assert_eq!(faults.injected(), 0);
    /// # Ok(()) }
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Fails the operation that comes `after` operations from now.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::seams::{Fault, FaultInjector, Seams};
    /// use xwal::{Config, Error, Wal};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let faults = FaultInjector::new();
    /// let config = Config::new(dir.path())
    ///     .segment_size(1 << 20)
    ///     .max_entry_size(64 << 10);
    /// let seams = Seams { faults: Some(faults.clone()), ..Seams::default() };
    /// let (wal, _) = Wal::open_with(config, seams)?;
    /// // Let one operation through (the first append's write and sync), fail the next.
    /// faults.arm(1, Fault::FailWrite(libc::EIO));
    /// assert_eq!(wal.append(b"first")?, 1);
    /// assert!(matches!(wal.append(b"second"), Err(Error::Fenced { .. })));
    /// # Ok(()) }
    /// ```
    pub fn arm(&self, after: u64, fault: Fault) {
        let mut p = self.0.lock();
        let at = p.ops + after;
        p.rules.push((at, fault));
    }

    /// Removes armed faults.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::seams::{Fault, FaultInjector, Seams};
    /// use xwal::{Config, Wal};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let faults = FaultInjector::new();
    /// let config = Config::new(dir.path())
    ///     .segment_size(1 << 20)
    ///     .max_entry_size(64 << 10);
    /// let seams = Seams { faults: Some(faults.clone()), ..Seams::default() };
    /// let (wal, _) = Wal::open_with(config, seams)?;
    /// faults.arm(0, Fault::FailSync(libc::EIO));
    /// faults.disarm();
    /// assert_eq!(wal.append(b"unharmed")?, 1);
    /// assert_eq!(faults.injected(), 0);
    /// # Ok(()) }
    /// ```
    pub fn disarm(&self) {
        self.0.lock().rules.clear();
    }

    /// How many faults fired.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::seams::{Fault, FaultInjector, Seams};
    /// use xwal::{Config, Wal};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let faults = FaultInjector::new();
    /// let config = Config::new(dir.path())
    ///     .segment_size(1 << 20)
    ///     .max_entry_size(64 << 10);
    /// let seams = Seams { faults: Some(faults.clone()), ..Seams::default() };
    /// let (wal, _) = Wal::open_with(config, seams)?;
    /// wal.append(b"ok")?;
    /// assert_eq!(faults.injected(), 0);
    /// faults.arm(0, Fault::ShortWrite(0));
    /// assert!(wal.append(b"torn").is_err());
    /// assert_eq!(faults.injected(), 1);
    /// # Ok(()) }
    /// ```
    pub fn injected(&self) -> u64 {
        self.0.lock().injected
    }

    fn next(&self) -> Option<Fault> {
        let mut p = self.0.lock();
        let now = p.ops;
        p.ops += 1;
        let i = p.rules.iter().position(|(at, _)| *at <= now)?;
        p.injected += 1;
        Some(p.rules.remove(i).1)
    }

    pub(crate) fn wrap(&self, inner: Box<dyn WriteEngine>) -> Box<dyn WriteEngine> {
        Box::new(FaultyWriteEngine {
            inner,
            faults: self.clone(),
            pending: VecDeque::new(),
        })
    }
}

/// An operation of the wrapped engine, in start order.
enum Pending {
    /// Started on the inner engine; a sync error to report instead of its success.
    Inner { sync_error: Option<io::Error> },
    /// Never reached the inner engine: the injected answer.
    Injected(AlignedBuf, io::Error),
}

struct FaultyWriteEngine {
    inner: Box<dyn WriteEngine>,
    faults: FaultInjector,
    pending: VecDeque<Pending>,
}

impl WriteEngine for FaultyWriteEngine {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn depth(&self) -> usize {
        self.inner.depth()
    }

    fn wait_written(&mut self) -> bool {
        match self.pending.back() {
            None => true,
            Some(Pending::Injected(..)) => false,
            Some(Pending::Inner { .. }) => self.inner.wait_written(),
        }
    }

    fn start(&mut self, mut op: WriteOp) {
        let p = match self.faults.next() {
            Some(Fault::FailWrite(errno)) => {
                Pending::Injected(op.buf, io::Error::from_raw_os_error(errno))
            }
            Some(Fault::FailSync(errno)) => {
                op.sync = false;
                self.inner.start(op);
                Pending::Inner {
                    sync_error: Some(io::Error::from_raw_os_error(errno)),
                }
            }
            Some(Fault::ShortWrite(blocks)) => {
                // Earlier writes must have landed first, as the engines guarantee.
                let earlier_ok = self.wait_written();
                let n = (blocks * crate::format::BLOCK_SIZE).min(op.len);
                let r = if earlier_ok {
                    super::sync::pwrite_all(op.fd, &op.buf.as_slice()[..n], op.offset)
                } else {
                    Ok(())
                };
                let e = r.err().unwrap_or_else(|| {
                    io::Error::new(
                        io::ErrorKind::WriteZero,
                        format!("short write: {n} of {} bytes", op.len),
                    )
                });
                Pending::Injected(op.buf, e)
            }
            None => {
                self.inner.start(op);
                Pending::Inner { sync_error: None }
            }
        };
        self.pending.push_back(p);
    }

    fn finish(&mut self) -> (AlignedBuf, io::Result<()>) {
        match self.pending.pop_front().expect("finish without start") {
            Pending::Injected(buf, e) => (buf, Err(e)),
            Pending::Inner { sync_error } => match (self.inner.finish(), sync_error) {
                ((buf, Ok(())), Some(e)) => (buf, Err(e)),
                (done, _) => done,
            },
        }
    }
    fn sync_data(&mut self, fd: RawFd) -> io::Result<()> {
        match self.faults.next() {
            Some(Fault::FailWrite(errno)) | Some(Fault::FailSync(errno)) => {
                Err(io::Error::from_raw_os_error(errno))
            }
            Some(Fault::ShortWrite(_)) => {
                Err(io::Error::new(io::ErrorKind::WriteZero, "short write"))
            }
            None => self.inner.sync_data(fd),
        }
    }
}
