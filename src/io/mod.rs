//! The I/O layer: the seam between the engine and the kernel.
//!
//! The writer thread talks to a [`WriteEngine`]; replay and recovery read through
//! a [`ReadEngine`]. Two implementations of each: io_uring ([`uring`]) and plain
//! syscalls ([`sync`]). Tests wrap an engine to rewrite completion results
//! (fault injection) without touching the engine code.

pub mod aligned;
pub mod chunk;
// Parts serve only the `internals` and `test-seams` surfaces.
#[cfg(feature = "test-seams")]
pub mod fault;
#[cfg_attr(not(feature = "internals"), allow(dead_code))]
pub mod fs;
pub mod seams;
#[cfg(feature = "test-seams")]
pub mod sim;
#[cfg(feature = "test-seams")]
pub mod sim_fs;
pub mod sync;
pub mod uring;
pub mod watch;

pub use aligned::AlignedBuf;
pub use chunk::{BufPool, Chunk};
pub(crate) use seams::Seams;
pub use watch::{DirWatch, Wakeup};

/// Upper bound of [`Config::commits_in_flight`]: the writer ring holds this many chains.
pub const MAX_COMMITS_IN_FLIGHT: usize = 4;

/// Which I/O engine the writer thread and replay use.
///
/// # Examples
///
/// ```
/// # fn main() -> xwal::Result<()> {
/// use xwal::{Config, IoEngine, Wal};
///
/// assert_eq!(IoEngine::default(), IoEngine::Uring);
/// let dir = tempfile::tempdir_in(".").unwrap();
/// let config = Config::new(dir.path())
///     .segment_size(1 << 20)
///     .max_entry_size(64 << 10)
///     .io_engine(IoEngine::Sync);
/// let (wal, _report) = Wal::open(config)?;
/// assert_eq!(wal.io_engine_name(), "sync");
/// wal.close()?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum IoEngine {
    /// io_uring; `open` fails with [`Error::IoUringUnavailable`] if the kernel refuses it.
    #[default]
    Uring,
    /// Plain `pwrite`/`fdatasync`/`pread` from the same dedicated threads.
    Sync,
    /// io_uring if the kernel allows it, else `Sync` with a logged warning.
    Auto,
}

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
/// use xwal::internals::io::sync::SyncWriteEngine;
/// use xwal::internals::io::{AlignedBuf, WriteEngine, WriteOp};
///
/// let dir = tempfile::tempdir_in(".")?;
/// let path = xwal::internals::dir::prepare_segment(dir.path(), 1, 64 << 10, true)?;
/// let file = xwal::internals::dir::open_for_write(&path, false)?;
///
/// let mut buf = AlignedBuf::new(4096);
/// buf.as_mut_slice()[..5].copy_from_slice(b"hello");
/// let op = WriteOp { fd: file.as_raw_fd(), offset: 8192, buf, len: 4096, sync: true, inline: false };
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
    /// The caller has nothing else in flight and wants the operation run to
    /// completion now, on its own thread (`pwrite` + `fdatasync`), if the
    /// engine can do it faster that way. A hint: the result still comes
    /// from [`WriteEngine::finish`].
    pub inline: bool,
}

impl WriteOp {
    /// Checks O_DIRECT alignment. tmpfs accepts misaligned O_DIRECT I/O that ext4
    /// refuses with EINVAL, so the engine checks instead of relying on the kernel.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::panic::{catch_unwind, AssertUnwindSafe};
    /// use xwal::internals::io::{AlignedBuf, WriteOp};
    ///
    /// let op = |offset, len| {
    ///     WriteOp { fd: -1, offset, buf: AlignedBuf::new(8192), len, sync: false, inline: false }
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
/// use xwal::internals::io::sync::SyncWriteEngine;
/// use xwal::internals::io::{AlignedBuf, WriteEngine, WriteOp};
///
/// // Writes `data` into block `n` of `fd` through any engine, synced.
/// fn put_block(engine: &mut dyn WriteEngine, fd: RawFd, n: u64, data: &[u8]) -> io::Result<()> {
///     let mut buf = AlignedBuf::new(4096);
///     buf.as_mut_slice()[..data.len()].copy_from_slice(data);
///     engine.start(WriteOp { fd, offset: n * 4096, buf, len: 4096, sync: true, inline: false });
///     engine.finish().1
/// }
///
/// let dir = tempfile::tempdir_in(".")?;
/// let path = xwal::internals::dir::prepare_segment(dir.path(), 1, 64 << 10, true)?;
/// let file = xwal::internals::dir::open_for_write(&path, false)?;
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
    /// use xwal::internals::io::sync::SyncWriteEngine;
    /// use xwal::internals::io::WriteEngine;
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
    /// use xwal::internals::io::sync::SyncWriteEngine;
    /// use xwal::internals::io::WriteEngine;
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
    /// use xwal::internals::io::sync::SyncWriteEngine;
    /// use xwal::internals::io::{AlignedBuf, WriteEngine, WriteOp};
    ///
    /// let dir = tempfile::tempdir_in(".")?;
    /// let path = xwal::internals::dir::prepare_segment(dir.path(), 1, 64 << 10, true)?;
    /// let file = xwal::internals::dir::open_for_write(&path, false)?;
    /// let mut engine = SyncWriteEngine::default();
    /// assert!(engine.wait_written()); // nothing in flight
    /// let buf = AlignedBuf::new(4096);
    /// engine.start(WriteOp { fd: -1, offset: 0, buf, len: 4096, sync: true, inline: false });
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
    /// use xwal::internals::io::sync::SyncWriteEngine;
    /// use xwal::internals::io::{AlignedBuf, WriteEngine, WriteOp};
    ///
    /// let dir = tempfile::tempdir_in(".")?;
    /// let path = xwal::internals::dir::prepare_segment(dir.path(), 1, 64 << 10, true)?;
    /// let file = xwal::internals::dir::open_for_write(&path, false)?;
    /// let mut engine = SyncWriteEngine::default();
    /// let mut buf = AlignedBuf::new(4096);
    /// buf.as_mut_slice().fill(7);
    /// engine.start(WriteOp { fd: file.as_raw_fd(), offset: 0, buf, len: 4096, sync: false, inline: false });
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
    /// use xwal::internals::io::sync::SyncWriteEngine;
    /// use xwal::internals::io::{AlignedBuf, WriteEngine, WriteOp};
    ///
    /// // A bad descriptor: the error comes back with the buffer, for reuse.
    /// let mut engine = SyncWriteEngine::default();
    /// let buf = AlignedBuf::new(4096);
    /// engine.start(WriteOp { fd: -1, offset: 0, buf, len: 4096, sync: true, inline: false });
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
    /// use xwal::internals::io::sync::SyncWriteEngine;
    /// use xwal::internals::io::WriteEngine;
    ///
    /// let dir = tempfile::tempdir_in(".")?;
    /// let path = xwal::internals::dir::prepare_segment(dir.path(), 1, 64 << 10, true)?;
    /// let file = xwal::internals::dir::open_for_write(&path, false)?;
    /// let mut engine = SyncWriteEngine::default();
    /// engine.sync_data(file.as_raw_fd())?;
    /// assert!(engine.sync_data(-1).is_err());
    /// # Ok(()) }
    /// ```
    fn sync_data(&mut self, fd: RawFd) -> io::Result<()>;
}

/// Reads a byte range of a file in chunks, several in flight, delivered in
/// order: pull-based, so the caller's `?` ends a scan and nothing is captured
/// in a callback.
///
/// # Examples
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::os::fd::AsRawFd;
/// use xwal::internals::io::sync::SyncReadEngine;
/// use xwal::internals::io::ReadEngine;
///
/// let dir = tempfile::tempdir_in(".")?;
/// let path = xwal::internals::dir::prepare_segment(dir.path(), 1, 64 << 10, true)?;
/// let file = xwal::internals::dir::open_for_read(&path)?;
/// let mut engine: Box<dyn ReadEngine> = Box::new(SyncReadEngine::new(16 << 10));
/// engine.begin(file.as_raw_fd(), 0, 64 << 10)?;
/// let mut total = 0;
/// while let Some(chunk) = engine.next_chunk()? {
///     total += chunk.len();
/// }
/// assert_eq!(total, 64 << 10);
/// # Ok(()) }
/// ```
pub trait ReadEngine: Send {
    /// Starts reading `[start, end)` of `fd` (both multiples of 4096). A range
    /// still being read is abandoned first: its reads in flight are waited
    /// for, so no buffer is reused while the kernel may write into it. `fd`
    /// must stay open until the range ends, the next `begin`, or the drop.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::os::fd::AsRawFd;
    /// use xwal::internals::io::sync::SyncReadEngine;
    /// use xwal::internals::io::ReadEngine;
    ///
    /// let dir = tempfile::tempdir_in(".")?;
    /// let path = xwal::internals::dir::prepare_segment(dir.path(), 1, 64 << 10, true)?;
    /// let file = xwal::internals::dir::open_for_read(&path)?;
    /// let mut engine = SyncReadEngine::new(4096);
    /// engine.begin(file.as_raw_fd(), 8192, 64 << 10)?;
    /// assert_eq!(engine.next_chunk()?.unwrap().offset(), 8192);
    /// // A new range abandons the old one.
    /// engine.begin(file.as_raw_fd(), 0, 4096)?;
    /// assert_eq!(engine.next_chunk()?.unwrap().offset(), 0);
    /// assert!(engine.next_chunk()?.is_none());
    /// # Ok(()) }
    /// ```
    fn begin(&mut self, fd: RawFd, start: u64, end: u64) -> io::Result<()> {
        self.begin_ranges(fd, &[(start, end)])
    }

    /// Like [`ReadEngine::begin`] for several ranges read one after the
    /// other, in the order given, with reads in flight across their borders
    /// (backward replay reads its windows newest first this way). A chunk
    /// never spans two ranges.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::os::fd::AsRawFd;
    /// use xwal::internals::io::sync::SyncReadEngine;
    /// use xwal::internals::io::ReadEngine;
    ///
    /// let dir = tempfile::tempdir_in(".")?;
    /// let path = xwal::internals::dir::prepare_segment(dir.path(), 1, 64 << 10, true)?;
    /// let file = xwal::internals::dir::open_for_read(&path)?;
    /// let mut engine = SyncReadEngine::new(8192);
    /// engine.begin_ranges(file.as_raw_fd(), &[(40960, 53248), (0, 8192)])?;
    /// let offsets: Vec<u64> =
    ///     std::iter::from_fn(|| engine.next_chunk().unwrap()).map(|c| c.offset()).collect();
    /// assert_eq!(offsets, [40960, 49152, 0]);
    /// # Ok(()) }
    /// ```
    fn begin_ranges(&mut self, fd: RawFd, ranges: &[(u64, u64)]) -> io::Result<()>;

    /// The next chunk of the range in file order, `None` at its end. A short
    /// read (end of file) is delivered and ends the range; an error ends it too.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::os::fd::AsRawFd;
    /// use xwal::internals::io::sync::SyncReadEngine;
    /// use xwal::internals::io::ReadEngine;
    ///
    /// let dir = tempfile::tempdir_in(".")?;
    /// let path = xwal::internals::dir::prepare_segment(dir.path(), 1, 64 << 10, true)?;
    /// let file = xwal::internals::dir::open_for_read(&path)?;
    /// let mut engine = SyncReadEngine::new(4096);
    /// // The range runs past the end of the file: it ends there.
    /// engine.begin(file.as_raw_fd(), 56 << 10, 128 << 10)?;
    /// let offsets: Vec<u64> =
    ///     std::iter::from_fn(|| engine.next_chunk().unwrap()).map(|c| c.offset()).collect();
    /// assert_eq!(offsets, [56 << 10, 60 << 10]);
    /// # Ok(()) }
    /// ```
    fn next_chunk(&mut self) -> io::Result<Option<Chunk>>;

    /// Reads `[start, end)` of `fd`, calling `sink` with each chunk in file
    /// order until it returns false: for callers with nothing to fail.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::os::fd::AsRawFd;
    /// use xwal::internals::io::sync::SyncReadEngine;
    /// use xwal::internals::io::ReadEngine;
    ///
    /// let dir = tempfile::tempdir_in(".")?;
    /// let path = xwal::internals::dir::prepare_segment(dir.path(), 1, 64 << 10, true)?;
    /// let file = xwal::internals::dir::open_for_read(&path)?;
    /// let mut engine = SyncReadEngine::new(4096);
    /// let mut offsets = Vec::new();
    /// engine.read_range(file.as_raw_fd(), 8192, 64 << 10, &mut |offset, chunk| {
    ///     assert_eq!(chunk.len(), 4096);
    ///     offsets.push(offset);
    ///     offsets.len() < 3
    /// })?;
    /// assert_eq!(offsets, [8192, 12288, 16384]);
    /// # Ok(()) }
    /// ```
    #[cfg_attr(not(feature = "internals"), allow(dead_code))]
    fn read_range(
        &mut self,
        fd: RawFd,
        start: u64,
        end: u64,
        sink: &mut dyn FnMut(u64, &[u8]) -> bool,
    ) -> io::Result<()> {
        self.begin(fd, start, end)?;
        while let Some(chunk) = self.next_chunk()? {
            if !sink(chunk.offset(), chunk.as_slice()) {
                break;
            }
        }
        Ok(())
    }
}

/// Creates the write engine of kind `kind` with `commits_in_flight` group
/// commits in flight, or says why io_uring is refused.
pub(crate) fn write_engine(
    kind: IoEngine,
    commits_in_flight: usize,
    seams: &Seams,
) -> crate::Result<Box<dyn WriteEngine>> {
    let engine: Box<dyn WriteEngine> = match kind {
        IoEngine::Sync => Box::new(sync::SyncWriteEngine::default()),
        IoEngine::Uring => Box::new(uring::UringWriteEngine::with_depth(commits_in_flight)?),
        IoEngine::Auto => match uring::UringWriteEngine::with_depth(commits_in_flight) {
            Ok(e) => Box::new(e),
            Err(e) => {
                tracing::warn!(error = %e, "io_uring refused; falling back to pwrite/fdatasync");
                Box::new(sync::SyncWriteEngine::default())
            }
        },
    };
    Ok(seams.wrap(engine))
}

/// True if reads of engine kind `kind` go through io_uring: for `Auto`, if
/// the kernel gives this process a ring.
pub(crate) fn reads_use_uring(kind: IoEngine) -> bool {
    match kind {
        IoEngine::Sync => false,
        IoEngine::Uring => true,
        IoEngine::Auto => uring::UringReadEngine::new(4096, 1).is_ok(),
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
