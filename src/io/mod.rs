//! The I/O layer: the seam between the engine and the kernel.
//!
//! The writer thread talks to a [`WriteEngine`]; replay and recovery read through
//! a [`ReadEngine`]. Two implementations of each: io_uring ([`uring`]) and plain
//! syscalls ([`sync`]). Tests wrap an engine to rewrite completion results
//! (fault injection) without touching the engine code.

pub mod aligned;
pub mod fault;
pub mod sim;
pub mod sync;
pub mod uring;

pub use aligned::AlignedBuf;

use crate::format::BLOCK_SIZE;
use std::io;
use std::os::fd::RawFd;

/// One write of whole blocks, optionally followed by an fdatasync ordered after it.
///
/// # Examples
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::os::fd::AsRawFd;
/// use xwal::io::sync::SyncWriteEngine;
/// use xwal::io::{AlignedBuf, WriteEngine, WriteOp};
///
/// let dir = tempfile::tempdir_in(".")?;
/// let path = xwal::dir::prepare_segment(dir.path(), 1, 64 << 10, true)?;
/// let file = xwal::dir::open_for_write(&path, false)?;
///
/// let mut buf = AlignedBuf::new(4096);
/// buf.as_mut_slice()[..5].copy_from_slice(b"hello");
/// let op = WriteOp { fd: file.as_raw_fd(), offset: 8192, buf, len: 4096, sync: true };
/// let mut engine = SyncWriteEngine::default();
/// engine.start(op);
/// let (_buf, result) = engine.finish();
/// result?;
/// assert_eq!(&std::fs::read(&path)?[8192..8197], b"hello");
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct WriteOp {
    /// File descriptor (opened with O_DIRECT).
    pub fd: RawFd,
    /// File offset; a multiple of 4096.
    pub offset: u64,
    /// The data; `buf[..len]` is written.
    pub buf: AlignedBuf,
    /// Bytes to write; a multiple of 4096.
    pub len: usize,
    /// Issue an fdatasync that starts only after the write completed.
    pub sync: bool,
}

impl WriteOp {
    /// Checks O_DIRECT alignment. tmpfs accepts misaligned O_DIRECT I/O that ext4
    /// refuses with EINVAL, so the engine checks instead of relying on the kernel.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::panic::{catch_unwind, AssertUnwindSafe};
    /// use xwal::io::{AlignedBuf, WriteOp};
    ///
    /// let op = |offset, len| {
    ///     WriteOp { fd: -1, offset, buf: AlignedBuf::new(8192), len, sync: false }
    /// };
    /// op(4096, 8192).assert_aligned();
    /// let misaligned = op(100, 4096);
    /// assert!(catch_unwind(AssertUnwindSafe(|| misaligned.assert_aligned())).is_err());
    /// let ragged = op(0, 5000);
    /// assert!(catch_unwind(AssertUnwindSafe(|| ragged.assert_aligned())).is_err());
    /// ```
    pub fn assert_aligned(&self) {
        assert_eq!(
            self.offset % BLOCK_SIZE as u64,
            0,
            "write offset not block-aligned"
        );
        assert_eq!(self.len % BLOCK_SIZE, 0, "write length not block-aligned");
        assert!(self.len > 0 && self.len <= self.buf.capacity());
        assert_eq!(
            self.buf.as_ptr() as usize % BLOCK_SIZE,
            0,
            "write buffer not block-aligned"
        );
    }
}

/// Executes the writer thread's I/O. Up to [`WriteEngine::depth`] operations are
/// in flight; they complete in the order they were started ([`WriteEngine::finish`]
/// answers the oldest). A write is submitted only once every earlier write has
/// completed successfully, so two writes of the same block are never in flight
/// together; an earlier write's fdatasync may still be running.
///
/// # Examples
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::io;
/// use std::os::fd::{AsRawFd, RawFd};
/// use xwal::io::sync::SyncWriteEngine;
/// use xwal::io::{AlignedBuf, WriteEngine, WriteOp};
///
/// // Writes `data` into block `n` of `fd` through any engine, synced.
/// fn put_block(engine: &mut dyn WriteEngine, fd: RawFd, n: u64, data: &[u8]) -> io::Result<()> {
///     let mut buf = AlignedBuf::new(4096);
///     buf.as_mut_slice()[..data.len()].copy_from_slice(data);
///     engine.start(WriteOp { fd, offset: n * 4096, buf, len: 4096, sync: true });
///     engine.finish().1
/// }
///
/// let dir = tempfile::tempdir_in(".")?;
/// let path = xwal::dir::prepare_segment(dir.path(), 1, 64 << 10, true)?;
/// let file = xwal::dir::open_for_write(&path, false)?;
/// put_block(&mut SyncWriteEngine::default(), file.as_raw_fd(), 2, b"block two")?;
/// assert_eq!(&std::fs::read(&path)?[8192..8201], b"block two");
/// # Ok(()) }
/// ```
pub trait WriteEngine: Send {
    /// Engine name for logs.
    ///
    /// # Examples
    ///
    /// ```
    /// use xwal::io::sync::SyncWriteEngine;
    /// use xwal::io::WriteEngine;
    ///
    /// assert_eq!(SyncWriteEngine::default().name(), "sync");
    /// ```
    fn name(&self) -> &'static str;
    /// How many operations may be in flight at once. Engines that run each
    /// operation to completion inside [`WriteEngine::start`] answer 1.
    ///
    /// # Examples
    ///
    /// ```
    /// use xwal::io::sync::SyncWriteEngine;
    /// use xwal::io::WriteEngine;
    ///
    /// assert_eq!(SyncWriteEngine::default().depth(), 1);
    /// ```
    fn depth(&self) -> usize {
        1
    }
    /// Blocks until the write of the newest operation in flight has completed
    /// (its fdatasync may still run). True if it succeeded, or if nothing is in
    /// flight; false if it failed, whose error [`WriteEngine::finish`] reports.
    /// The writer calls it to decide whether the next batch can go out now.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::os::fd::AsRawFd;
    /// use xwal::io::sync::SyncWriteEngine;
    /// use xwal::io::{AlignedBuf, WriteEngine, WriteOp};
    ///
    /// let dir = tempfile::tempdir_in(".")?;
    /// let path = xwal::dir::prepare_segment(dir.path(), 1, 64 << 10, true)?;
    /// let file = xwal::dir::open_for_write(&path, false)?;
    /// let mut engine = SyncWriteEngine::default();
    /// assert!(engine.wait_written()); // nothing in flight
    /// let buf = AlignedBuf::new(4096);
    /// engine.start(WriteOp { fd: -1, offset: 0, buf, len: 4096, sync: true });
    /// assert!(!engine.wait_written()); // EBADF: the write failed
    /// assert!(engine.finish().1.is_err());
    /// # let _ = file.as_raw_fd();
    /// # Ok(()) }
    /// ```
    fn wait_written(&mut self) -> bool;
    /// Starts `op`. Errors surface from [`WriteEngine::finish`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::os::fd::AsRawFd;
    /// use xwal::io::sync::SyncWriteEngine;
    /// use xwal::io::{AlignedBuf, WriteEngine, WriteOp};
    ///
    /// let dir = tempfile::tempdir_in(".")?;
    /// let path = xwal::dir::prepare_segment(dir.path(), 1, 64 << 10, true)?;
    /// let file = xwal::dir::open_for_write(&path, false)?;
    /// let mut engine = SyncWriteEngine::default();
    /// let mut buf = AlignedBuf::new(4096);
    /// buf.as_mut_slice().fill(7);
    /// engine.start(WriteOp { fd: file.as_raw_fd(), offset: 0, buf, len: 4096, sync: false });
    /// engine.finish().1?;
    /// assert!(std::fs::read(&path)?[..4096].iter().all(|&b| b == 7));
    /// # Ok(()) }
    /// ```
    fn start(&mut self, op: WriteOp);
    /// Waits for the oldest op in flight and returns its buffer and result. A
    /// short write is completed or reported, never passed off as success.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use xwal::io::sync::SyncWriteEngine;
    /// use xwal::io::{AlignedBuf, WriteEngine, WriteOp};
    ///
    /// // A bad descriptor: the error comes back with the buffer, for reuse.
    /// let mut engine = SyncWriteEngine::default();
    /// let buf = AlignedBuf::new(4096);
    /// engine.start(WriteOp { fd: -1, offset: 0, buf, len: 4096, sync: true });
    /// let (buf, result) = engine.finish();
    /// assert_eq!(result.unwrap_err().raw_os_error(), Some(libc::EBADF));
    /// assert_eq!(buf.capacity(), 4096);
    /// # Ok(()) }
    /// ```
    fn finish(&mut self) -> (AlignedBuf, io::Result<()>);
    /// A standalone fdatasync, blocking. It covers the writes that completed
    /// before it; operations still in flight stay in flight.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::os::fd::AsRawFd;
    /// use xwal::io::sync::SyncWriteEngine;
    /// use xwal::io::WriteEngine;
    ///
    /// let dir = tempfile::tempdir_in(".")?;
    /// let path = xwal::dir::prepare_segment(dir.path(), 1, 64 << 10, true)?;
    /// let file = xwal::dir::open_for_write(&path, false)?;
    /// let mut engine = SyncWriteEngine::default();
    /// engine.sync_data(file.as_raw_fd())?;
    /// assert!(engine.sync_data(-1).is_err());
    /// # Ok(()) }
    /// ```
    fn sync_data(&mut self, fd: RawFd) -> io::Result<()>;
}

/// Reads a byte range of a file in chunks, several in flight, delivered in order.
///
/// # Examples
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::os::fd::AsRawFd;
/// use xwal::io::sync::SyncReadEngine;
/// use xwal::io::ReadEngine;
///
/// let dir = tempfile::tempdir_in(".")?;
/// let path = xwal::dir::prepare_segment(dir.path(), 1, 64 << 10, true)?;
/// let file = xwal::dir::open_for_read(&path)?;
/// let mut engine: Box<dyn ReadEngine> = Box::new(SyncReadEngine::new(16 << 10));
/// let mut total = 0;
/// engine.read_range(file.as_raw_fd(), 0, 64 << 10, &mut |_, chunk| {
///     total += chunk.len();
///     true
/// })?;
/// assert_eq!(total, 64 << 10);
/// # Ok(()) }
/// ```
pub trait ReadEngine: Send {
    /// Reads `[start, end)` of `fd` (both multiples of 4096) in chunks of `chunk`
    /// bytes, calling `sink` with each chunk in file order until it returns false.
    /// A short read (end of file) ends the range early.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::os::fd::AsRawFd;
    /// use xwal::io::sync::SyncReadEngine;
    /// use xwal::io::ReadEngine;
    ///
    /// let dir = tempfile::tempdir_in(".")?;
    /// let path = xwal::dir::prepare_segment(dir.path(), 1, 64 << 10, true)?;
    /// let file = xwal::dir::open_for_read(&path)?;
    /// let mut engine = SyncReadEngine::new(4096);
    ///
    /// // Chunks arrive in file order; returning false stops the range.
    /// let mut offsets = Vec::new();
    /// engine.read_range(file.as_raw_fd(), 8192, 64 << 10, &mut |offset, chunk| {
    ///     assert_eq!(chunk.len(), 4096);
    ///     offsets.push(offset);
    ///     offsets.len() < 3
    /// })?;
    /// assert_eq!(offsets, [8192, 12288, 16384]);
    /// # Ok(()) }
    /// ```
    fn read_range(
        &mut self,
        fd: RawFd,
        start: u64,
        end: u64,
        sink: &mut dyn FnMut(u64, &[u8]) -> bool,
    ) -> io::Result<()>;
}

/// Creates the write engine for a config, or says why io_uring is refused.
pub(crate) fn write_engine(cfg: &crate::config::Config) -> crate::Result<Box<dyn WriteEngine>> {
    let mut engine = plain_write_engine(cfg.io_engine, cfg.commits_in_flight)?;
    if let Some(f) = &cfg.faults {
        engine = f.wrap(engine);
    }
    if let Some(d) = &cfg.sim_disk {
        engine = d.wrap(engine);
    }
    Ok(engine)
}

fn plain_write_engine(
    kind: crate::config::IoEngine,
    depth: usize,
) -> crate::Result<Box<dyn WriteEngine>> {
    use crate::config::IoEngine;
    match kind {
        IoEngine::Sync => Ok(Box::new(sync::SyncWriteEngine::default())),
        IoEngine::Uring => Ok(Box::new(uring::UringWriteEngine::with_depth(depth)?)),
        IoEngine::Auto => match uring::UringWriteEngine::with_depth(depth) {
            Ok(e) => Ok(Box::new(e)),
            Err(e) => {
                tracing::warn!(error = %e, "io_uring refused; falling back to pwrite/fdatasync");
                Ok(Box::new(sync::SyncWriteEngine::default()))
            }
        },
    }
}

/// Creates a read engine (one per replay) matching the resolved write engine name.
pub(crate) fn read_engine(
    uring: bool,
    chunk: usize,
    depth: usize,
) -> crate::Result<Box<dyn ReadEngine>> {
    if uring {
        Ok(Box::new(uring::UringReadEngine::new(chunk, depth)?))
    } else {
        Ok(Box::new(sync::SyncReadEngine::new(chunk)))
    }
}
