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

/// Executes the writer thread's I/O. One operation is in flight at a time; the
/// writer encodes the next batch while it runs.
pub trait WriteEngine: Send {
    /// Engine name for logs.
    fn name(&self) -> &'static str;
    /// Starts `op`. Errors surface from [`WriteEngine::finish`].
    fn start(&mut self, op: WriteOp);
    /// Waits for the started op and returns its buffer and result. A short
    /// write is completed or reported, never passed off as success.
    fn finish(&mut self) -> (AlignedBuf, io::Result<()>);
    /// A standalone fdatasync, blocking.
    fn sync_data(&mut self, fd: RawFd) -> io::Result<()>;
}

/// Reads a byte range of a file in chunks, several in flight, delivered in order.
pub trait ReadEngine: Send {
    /// Reads `[start, end)` of `fd` (both multiples of 4096) in chunks of `chunk`
    /// bytes, calling `sink` with each chunk in file order until it returns false.
    /// A short read (end of file) ends the range early.
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
    let mut engine = plain_write_engine(cfg.io_engine)?;
    if let Some(f) = &cfg.faults {
        engine = f.wrap(engine);
    }
    if let Some(d) = &cfg.sim_disk {
        engine = d.wrap(engine);
    }
    Ok(engine)
}

fn plain_write_engine(kind: crate::config::IoEngine) -> crate::Result<Box<dyn WriteEngine>> {
    use crate::config::IoEngine;
    match kind {
        IoEngine::Sync => Ok(Box::new(sync::SyncWriteEngine::default())),
        IoEngine::Uring => Ok(Box::new(uring::UringWriteEngine::new()?)),
        IoEngine::Auto => match uring::UringWriteEngine::new() {
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
