//! The io_uring engine: linked write + fdatasync for commits, read-ahead for replay.

use super::{AlignedBuf, BufPool, Chunk, ReadEngine, WriteEngine, WriteOp};
use crate::error::Error;
use crate::format::BLOCK_SIZE;
use io_uring::{IoUring, Probe, opcode, squeue, types};
use std::collections::VecDeque;
use std::io;
use std::os::fd::RawFd;

// user_data = chain sequence << 2 | tag.
const WRITE_TAG: u64 = 0;
const SYNC_TAG: u64 = 1;
/// A standalone operation of `run_one` (finishing a short write, `sync_data`).
const OTHER_TAG: u64 = 2;

/// Explains why the kernel refused io_uring.
fn refusal(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(libc::EPERM) => {
            "io_uring_setup returned EPERM: sysctl kernel.io_uring_disabled is set, or a seccomp profile forbids it".into()
        }
        Some(libc::ENOSYS) => "io_uring_setup returned ENOSYS: the kernel lacks io_uring or seccomp blocks it".into(),
        Some(libc::ENOMEM) => "io_uring_setup returned ENOMEM: RLIMIT_MEMLOCK too low for the ring".into(),
        _ => format!("io_uring_setup failed: {e}"),
    }
}

fn new_ring(entries: u32, ops: &[(u8, &'static str)]) -> crate::Result<IoUring> {
    let ring =
        IoUring::new(entries).map_err(|e| Error::IoUringUnavailable { cause: refusal(&e) })?;
    let mut probe = Probe::new();
    ring.submitter()
        .register_probe(&mut probe)
        .map_err(|e| Error::IoUringUnavailable {
            cause: format!("io_uring probe failed: {e}"),
        })?;
    for (code, name) in ops {
        if !probe.is_supported(*code) {
            return Err(Error::IoUringUnavailable {
                cause: format!("kernel io_uring lacks the {name} op"),
            });
        }
    }
    Ok(ring)
}

/// Submits everything queued and waits for at least `want` completions, retrying EINTR.
fn submit_wait(ring: &IoUring, want: usize) -> io::Result<()> {
    loop {
        match ring.submit_and_wait(want) {
            Ok(_) => return Ok(()),
            Err(e)
                if e.raw_os_error() == Some(libc::EINTR)
                    || e.raw_os_error() == Some(libc::EBUSY) =>
            {
                continue;
            }
            Err(e) => return Err(e),
        }
    }
}

fn cqe_result(res: i32) -> io::Result<usize> {
    if res < 0 {
        Err(io::Error::from_raw_os_error(-res))
    } else {
        Ok(res as usize)
    }
}

/// The writer thread's ring: up to `depth` write + fdatasync chains in flight.
///
/// # Examples
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::os::fd::AsRawFd;
/// use xwal::internals::io::uring::UringWriteEngine;
/// use xwal::internals::io::{AlignedBuf, WriteEngine, WriteOp};
///
/// let dir = tempfile::tempdir_in(".")?;
/// let path = xwal::internals::dir::prepare_segment(dir.path(), 1, 64 << 10, true)?;
/// let file = xwal::internals::dir::open_for_write(&path, false)?;
/// let mut engine = UringWriteEngine::with_depth(1)?;
/// assert_eq!(engine.name(), "io_uring");
/// let mut buf = AlignedBuf::new(4096);
/// buf.as_mut_slice()[..4].copy_from_slice(b"ring");
/// // The write and a linked fdatasync are submitted; `finish` waits for both.
/// engine.start(WriteOp { fd: file.as_raw_fd(), offset: 0, buf, len: 4096, sync: true, inline: false });
/// engine.finish().1?;
/// assert_eq!(&std::fs::read(&path)?[..4], b"ring");
/// # Ok(()) }
/// ```
pub struct UringWriteEngine {
    ring: IoUring,
    depth: usize,
    /// Chains in flight, oldest first.
    chains: VecDeque<Chain>,
    next_seq: u64,
    /// Result of the standalone operation `run_one` waits for.
    other: Option<i32>,
    /// `run_one`'s operation is in the kernel and has not completed.
    other_in_flight: bool,
}

/// One write (and its linked fdatasync) in flight.
struct Chain {
    seq: u64,
    op: WriteOp,
    write: Option<i32>,
    sync: Option<i32>,
    /// The chain could not be submitted; its error is the answer.
    refused: Option<io::Error>,
    /// A short write was finished by hand: its linked fdatasync was cancelled,
    /// so a new one is owed (with the result of finishing it).
    completed_short: Option<io::Result<()>>,
    /// The write's SQE was queued for the kernel (its buffer is the kernel's
    /// until the write completes).
    submitted: bool,
}

impl Chain {
    fn complete(&self) -> bool {
        self.refused.is_some() || (self.write.is_some() && (!self.op.sync || self.sync.is_some()))
    }

    fn write_failed(&self) -> bool {
        self.refused.is_some()
            || self.write.is_some_and(|w| w < 0)
            || matches!(self.completed_short, Some(Err(_)))
    }
}

impl UringWriteEngine {
    /// Creates the ring with up to `depth` chains in flight (1 to
    /// [`crate::MAX_COMMITS_IN_FLIGHT`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use xwal::internals::io::uring::UringWriteEngine;
    /// use xwal::internals::io::WriteEngine;
    ///
    /// if let Ok(engine) = UringWriteEngine::with_depth(2) {
    ///     assert_eq!(engine.depth(), 2);
    /// }
    /// ```
    pub fn with_depth(depth: usize) -> crate::Result<Self> {
        assert!((1..=crate::io::MAX_COMMITS_IN_FLIGHT).contains(&depth));
        let ring = new_ring(
            // Two SQEs per chain, one for run_one, rounded up.
            (2 * depth as u32 + 1).next_power_of_two(),
            &[
                (opcode::Write::CODE, "write"),
                (opcode::Fsync::CODE, "fsync"),
            ],
        )?;
        Ok(UringWriteEngine {
            ring,
            depth,
            chains: VecDeque::with_capacity(depth),
            next_seq: 0,
            other: None,
            other_in_flight: false,
        })
    }

    /// Files the completions that arrived with their chains (or as `other`).
    fn reap(&mut self) {
        for cqe in self.ring.completion() {
            let (seq, tag) = (cqe.user_data() >> 2, cqe.user_data() & 3);
            if tag == OTHER_TAG {
                self.other = Some(cqe.result());
                self.other_in_flight = false;
                continue;
            }
            if let Some(c) = self.chains.iter_mut().find(|c| c.seq == seq) {
                match tag {
                    WRITE_TAG => c.write = Some(cqe.result()),
                    _ => c.sync = Some(cqe.result()),
                }
            }
        }
    }

    /// Waits (submitting whatever is queued) until `done` holds.
    fn wait_until(&mut self, done: impl Fn(&Self) -> bool) -> io::Result<()> {
        loop {
            self.reap();
            if done(self) {
                return Ok(());
            }
            submit_wait(&self.ring, 1)?;
        }
    }

    /// Runs one SQE to completion and returns its result. Chains in flight
    /// stay in flight; their completions are filed meanwhile.
    ///
    /// # Safety
    ///
    /// Every buffer `sqe` points at must stay valid (and, for a write,
    /// unchanged) until this returns, and past it if it returns an error
    /// from waiting: the kernel may then still be using it.
    unsafe fn run_one(&mut self, sqe: squeue::Entry) -> io::Result<usize> {
        let sqe = sqe.user_data(OTHER_TAG);
        self.other = None;
        // SAFETY: the caller keeps the buffers of `sqe` alive (this fn's contract).
        unsafe {
            self.ring
                .submission()
                .push(&sqe)
                .map_err(|_| io::Error::other("submission queue full"))?;
        }
        self.other_in_flight = true;
        self.wait_until(|e| e.other.is_some())?;
        cqe_result(self.other.take().unwrap_or(-libc::EIO))
    }

    fn write_sqe(fd: RawFd, ptr: *const u8, len: usize, offset: u64) -> squeue::Entry {
        opcode::Write::new(types::Fd(fd), ptr, len as u32)
            .offset(offset)
            .build()
    }

    fn sync_sqe(fd: RawFd) -> squeue::Entry {
        opcode::Fsync::new(types::Fd(fd))
            .flags(types::FsyncFlags::DATASYNC)
            .build()
    }

    /// Writes the rest of a write that came back short (`done` bytes landed).
    fn finish_short(&mut self, op: &WriteOp, mut done: usize) -> io::Result<()> {
        while done < op.len {
            if !done.is_multiple_of(crate::format::BLOCK_SIZE) {
                return Err(io::Error::other(format!(
                    "short O_DIRECT write of {done} bytes is not block-aligned"
                )));
            }
            // SAFETY: `done < op.len <= capacity`: the pointer stays inside op.buf.
            let ptr = unsafe { op.buf.as_ptr().add(done) };
            let sqe = Self::write_sqe(op.fd, ptr, op.len - done, op.offset + done as u64);
            // SAFETY: op.buf is borrowed for this whole call, so it outlives
            // run_one; on a wait error the caller's chain keeps (and leaks) it.
            let n = unsafe { self.run_one(sqe) }?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    "write returned 0 bytes",
                ));
            }
            done += n;
        }
        Ok(())
    }

    /// Runs `op` on this thread with `pwrite` and `fdatasync`: with nothing
    /// else in flight that is faster than the ring, whose fdatasync the kernel
    /// hands to an io-wq worker thread. The chain comes back complete.
    fn run_inline(seq: u64, op: WriteOp) -> Chain {
        let errno = |e: io::Error| -e.raw_os_error().unwrap_or(libc::EIO);
        let data = &op.buf.as_slice()[..op.len];
        // A durable write is one `RWF_DSYNC` write (see `pwrite_dsync_all`);
        // its failure is the write's, and a failed write cancels its sync,
        // as in the ring.
        let written = match op.sync {
            true => super::sync::pwrite_dsync_all(op.fd, data, op.offset),
            false => super::sync::pwrite_all(op.fd, data, op.offset),
        };
        let write = match written {
            Ok(()) => op.len as i32,
            Err(e) => errno(e),
        };
        let sync = match (op.sync, write >= 0) {
            (true, true) => Some(0),
            (true, false) => Some(-libc::ECANCELED),
            (false, _) => None,
        };
        Chain {
            seq,
            op,
            write: Some(write),
            sync,
            refused: None,
            completed_short: None,
            submitted: false,
        }
    }

    /// Waits for the write of chain `i` and, if it came back short, finishes it.
    fn settle_write(&mut self, i: usize) -> io::Result<()> {
        let seq = self.chains[i].seq;
        let found = |e: &Self| {
            e.chains
                .iter()
                .find(|c| c.seq == seq)
                .is_none_or(|c| c.refused.is_some() || c.write.is_some())
        };
        self.wait_until(found)?;
        let c = &self.chains[i];
        if c.refused.is_some() || c.completed_short.is_some() {
            return Ok(());
        }
        let w = c.write.unwrap_or(-libc::EIO);
        if w >= 0 && (w as usize) < c.op.len {
            // Take the op out while run_one borrows the ring; put it back after.
            let op = std::mem::replace(&mut self.chains[i].op, placeholder_op());
            let r = self.finish_short(&op, w as usize);
            self.chains[i].op = op;
            self.chains[i].completed_short = Some(r);
        }
        Ok(())
    }
}

/// Stands in for an op while its chain lends it out (never submitted).
fn placeholder_op() -> WriteOp {
    WriteOp {
        fd: -1,
        offset: 0,
        buf: AlignedBuf::new(BLOCK_SIZE),
        len: BLOCK_SIZE,
        sync: false,
        inline: false,
    }
}

impl WriteEngine for UringWriteEngine {
    fn name(&self) -> &'static str {
        "io_uring"
    }

    fn depth(&self) -> usize {
        self.depth
    }

    fn wait_written(&mut self) -> bool {
        let Some(i) = self.chains.len().checked_sub(1) else {
            return true;
        };
        match self.settle_write(i) {
            Ok(()) => !self.chains[i].write_failed(),
            Err(_) => false,
        }
    }

    fn start(&mut self, op: WriteOp) {
        op.assert_aligned();
        assert!(
            self.chains.len() < self.depth,
            "more chains than the engine's depth"
        );
        let seq = self.next_seq;
        self.next_seq += 1;
        if op.inline && self.chains.is_empty() {
            self.chains.push_back(Self::run_inline(seq, op));
            return;
        }
        // Never two writes in flight: one of a block rewritten by the next could land last.
        let earlier_ok = self.wait_written();
        let mut chain = Chain {
            seq,
            op,
            write: None,
            sync: None,
            refused: None,
            completed_short: None,
            submitted: false,
        };
        if !earlier_ok {
            chain.refused = Some(io::Error::other(
                "not submitted: an earlier write in flight failed",
            ));
            self.chains.push_back(chain);
            return;
        }
        let op = &chain.op;
        let mut write = Self::write_sqe(op.fd, op.buf.as_ptr(), op.len, op.offset)
            .user_data(seq << 2 | WRITE_TAG);
        if op.sync {
            // The fdatasync starts only after the write completed; a failed or short write cancels it.
            write = write.flags(squeue::Flags::IO_LINK);
        }
        let sync = Self::sync_sqe(op.fd).user_data(seq << 2 | SYNC_TAG);
        let needed = if op.sync { 2 } else { 1 };
        // SAFETY: op.buf stays in self.chains until finish() has reaped every completion.
        let (write_pushed, pushed) = unsafe {
            let mut sq = self.ring.submission();
            if sq.capacity() - sq.len() < needed {
                (false, false)
            } else {
                let w = sq.push(&write).is_ok();
                (w, w && (!op.sync || sq.push(&sync).is_ok()))
            }
        };
        chain.submitted = write_pushed;
        if !pushed {
            chain.refused = Some(io::Error::other("submission queue full"));
        } else if let Err(e) = self.ring.submit() {
            // EINTR/EBUSY leave the entries queued: the next wait submits them.
            if !matches!(e.raw_os_error(), Some(libc::EINTR) | Some(libc::EBUSY)) {
                chain.refused = Some(e);
            }
        }
        self.chains.push_back(chain);
    }

    fn finish(&mut self) -> (AlignedBuf, io::Result<()>) {
        assert!(!self.chains.is_empty(), "finish without start");
        let seq = self.chains[0].seq;
        let waited = self.settle_write(0).and_then(|()| {
            self.wait_until(|e| {
                e.chains
                    .front()
                    .is_none_or(|c| c.seq != seq || c.complete())
            })
        });
        let Some(chain) = self.chains.pop_front() else {
            return (
                AlignedBuf::new(BLOCK_SIZE),
                Err(io::Error::other("no chain")),
            );
        };
        if let Err(e) = waited {
            // The kernel may still own the buffer: leak it rather than free memory in use.
            let cap = chain.op.buf.capacity();
            std::mem::forget(chain.op.buf);
            return (AlignedBuf::new(cap), Err(chain.refused.unwrap_or(e)));
        }
        let Chain {
            op,
            write,
            sync,
            refused,
            completed_short,
            ..
        } = chain;
        if let Some(e) = refused {
            if write.is_none() && self.ring.submission().is_empty() {
                return (op.buf, Err(e));
            }
            // Submission failed after the entries may have reached the kernel.
            let cap = op.buf.capacity();
            std::mem::forget(op.buf);
            return (AlignedBuf::new(cap), Err(e));
        }
        let result = (|| {
            cqe_result(write.unwrap_or(-libc::EIO))?;
            if let Some(r) = completed_short {
                r?;
                // The linked fdatasync was cancelled by the short write: sync now.
                if op.sync {
                    // SAFETY: an fdatasync references no buffer.
                    unsafe { self.run_one(Self::sync_sqe(op.fd)) }?;
                }
                return Ok(());
            }
            if op.sync {
                cqe_result(sync.unwrap_or(-libc::EIO))?;
            }
            Ok(())
        })();
        (op.buf, result)
    }

    fn sync_data(&mut self, fd: RawFd) -> io::Result<()> {
        // SAFETY: an fdatasync references no buffer.
        unsafe { self.run_one(Self::sync_sqe(fd)) }.map(|_| ())
    }
}

impl UringWriteEngine {
    /// True once the kernel is done with every chain's buffer: each submitted
    /// write and linked sync has its completion.
    fn kernel_done(&self) -> bool {
        !self.other_in_flight
            && self.chains.iter().all(|c| match (&c.refused, c.submitted) {
                (Some(_), false) => true,
                // Only the write holds a buffer; a linked sync holds none.
                (Some(_), true) => c.write.is_some(),
                (None, _) => c.write.is_some() && (!c.op.sync || c.sync.is_some()),
            })
    }
}

/// Waits for every write and sync in flight before the buffers they use are
/// freed, on every exit: a writer that stops on an error or a panic drops the
/// engine with chains in flight. If waiting fails, the buffers are leaked
/// instead: memory the kernel may still read is never handed back.
impl Drop for UringWriteEngine {
    fn drop(&mut self) {
        if self.wait_until(|e| e.kernel_done()).is_ok() {
            return;
        }
        for chain in self.chains.drain(..) {
            std::mem::forget(chain.op.buf);
        }
    }
}

/// A replay reader: up to `depth` reads of `chunk` bytes in flight, handed
/// out in file order as owned [`Chunk`]s while the next reads run.
///
/// # Examples
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::os::fd::AsRawFd;
/// use xwal::internals::io::uring::UringReadEngine;
/// use xwal::internals::io::ReadEngine;
///
/// let dir = tempfile::tempdir_in(".")?;
/// let path = xwal::internals::dir::prepare_segment(dir.path(), 1, 64 << 10, true)?;
/// let file = xwal::internals::dir::open_for_read(&path)?;
/// // Four 8 KiB reads in flight; chunks still arrive in file order.
/// let mut engine = UringReadEngine::new(8192, 4)?;
/// engine.begin(file.as_raw_fd(), 0, 64 << 10)?;
/// let mut offsets = Vec::new();
/// while let Some(chunk) = engine.next_chunk()? {
///     offsets.push(chunk.offset());
/// }
/// assert_eq!(offsets, (0..8).map(|i| i * 8192).collect::<Vec<u64>>());
/// # Ok(()) }
/// ```
pub struct UringReadEngine {
    ring: IoUring,
    pool: std::sync::Arc<BufPool>,
    depth: usize,
    fd: RawFd,
    /// Next offset to submit a read for; `end` once the range stops.
    next: u64,
    end: u64,
    /// Ranges after the current one.
    ranges: VecDeque<(u64, u64)>,
    /// Reads in flight or completed and not yet handed out, in file order.
    pending: VecDeque<PendingRead>,
    /// user_data of `pending[0]`; each read gets the next number.
    front_seq: u64,
}

struct PendingRead {
    offset: u64,
    want: usize,
    buf: AlignedBuf,
    result: Option<i32>,
}

impl UringReadEngine {
    /// Creates a ring for `depth` reads of `chunk` bytes in flight.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::os::fd::AsRawFd;
    /// use xwal::internals::io::uring::UringReadEngine;
    /// use xwal::internals::io::ReadEngine;
    ///
    /// let dir = tempfile::tempdir_in(".")?;
    /// let path = xwal::internals::dir::prepare_segment(dir.path(), 1, 64 << 10, true)?;
    /// let file = xwal::internals::dir::open_for_read(&path)?;
    /// // Two reads of 16 KiB in flight: four chunks cover the 64 KiB file.
    /// let mut engine = UringReadEngine::new(16 << 10, 2)?;
    /// let mut chunks = 0;
    /// engine.read_range(file.as_raw_fd(), 0, 64 << 10, &mut |_, chunk| {
    ///     assert_eq!(chunk.len(), 16 << 10);
    ///     chunks += 1;
    ///     true
    /// })?;
    /// assert_eq!(chunks, 4);
    /// // The chunk size must be whole blocks.
    /// assert!(std::panic::catch_unwind(|| UringReadEngine::new(1000, 2)).is_err());
    /// # Ok(()) }
    /// ```
    pub fn new(chunk: usize, depth: usize) -> crate::Result<Self> {
        assert!(depth >= 1 && chunk.is_multiple_of(crate::format::BLOCK_SIZE));
        let ring = new_ring(
            depth.next_power_of_two().max(2) as u32,
            &[(opcode::Read::CODE, "read")],
        )?;
        Ok(UringReadEngine {
            ring,
            // The reads in flight, the chunk the consumer holds, one spare.
            pool: BufPool::new(chunk, depth + 2),
            depth,
            fd: -1,
            next: 0,
            end: 0,
            ranges: VecDeque::new(),
            pending: VecDeque::with_capacity(depth),
            front_seq: 0,
        })
    }

    /// Queues reads until `depth` are pending or the range is covered, and
    /// hands them to the kernel without waiting.
    fn fill(&mut self) -> io::Result<()> {
        let mut queued = false;
        while self.pending.len() < self.depth {
            if self.next >= self.end {
                match self.ranges.pop_front() {
                    Some((start, end)) => (self.next, self.end) = (start, end),
                    None => break,
                }
                continue;
            }
            let offset = self.next;
            let want = (self.pool.chunk_bytes() as u64).min(self.end - offset) as usize;
            let mut buf = self.pool.take();
            let seq = self.front_seq + self.pending.len() as u64;
            let sqe = opcode::Read::new(types::Fd(self.fd), buf.as_mut_ptr(), want as u32)
                .offset(offset)
                .build()
                .user_data(seq);
            // SAFETY: the buffer moves into `pending` below and stays there (its
            // heap block does not move) until this read's completion is reaped:
            // `drain` and `Drop` wait for every pending read before buffers go.
            if unsafe { self.ring.submission().push(&sqe) }.is_err() {
                self.pool.give(buf);
                break;
            }
            self.pending.push_back(PendingRead {
                offset,
                want,
                buf,
                result: None,
            });
            self.next += want as u64;
            queued = true;
        }
        if queued {
            submit_wait(&self.ring, 0)?;
        }
        Ok(())
    }

    /// Records the completions that have arrived.
    fn reap(&mut self) {
        for cqe in self.ring.completion() {
            let at = cqe.user_data().wrapping_sub(self.front_seq) as usize;
            debug_assert!(at < self.pending.len(), "completion of an unknown read");
            if let Some(p) = self.pending.get_mut(at) {
                p.result = Some(cqe.result());
            }
        }
    }

    /// Waits for every pending read and frees its buffer. If waiting fails,
    /// the buffers may still be the kernel's: leaked, never reused.
    fn drain(&mut self) {
        while self.pending.iter().any(|p| p.result.is_none()) {
            if submit_wait(&self.ring, 1).is_err() {
                for p in self.pending.drain(..) {
                    std::mem::forget(p.buf);
                }
                return;
            }
            self.reap();
        }
        self.front_seq += self.pending.len() as u64;
        for p in self.pending.drain(..) {
            self.pool.give(p.buf);
        }
    }

    /// Ends the range: nothing more is submitted or handed out.
    fn stop(&mut self) {
        self.next = self.end;
        self.ranges.clear();
        self.drain();
    }
}

impl ReadEngine for UringReadEngine {
    fn begin_ranges(&mut self, fd: RawFd, ranges: &[(u64, u64)]) -> io::Result<()> {
        let block = BLOCK_SIZE as u64;
        debug_assert!(ranges.iter().all(|r| r.0 % block == 0 && r.1 % block == 0));
        self.drain();
        (self.fd, self.next, self.end) = (fd, 0, 0);
        self.ranges.clear();
        self.ranges.extend(ranges.iter().copied());
        Ok(())
    }

    fn next_chunk(&mut self) -> io::Result<Option<Chunk>> {
        if let Err(e) = self.fill() {
            self.stop();
            return Err(e);
        }
        while self.pending.front().is_some_and(|p| p.result.is_none()) {
            if let Err(e) = submit_wait(&self.ring, 1) {
                self.stop();
                return Err(e);
            }
            self.reap();
        }
        let Some(p) = self.pending.pop_front() else {
            return Ok(None);
        };
        self.front_seq += 1;
        let res = p.result.map(cqe_result).unwrap_or(Ok(0));
        match res {
            Ok(n) if n > 0 => {
                if n < p.want {
                    // End of file: later reads would only find nothing.
                    self.stop();
                } else if let Err(e) = self.fill() {
                    self.stop();
                    self.pool.give(p.buf);
                    return Err(e);
                }
                Ok(Some(Chunk::new(p.offset, n, p.buf, self.pool.clone())))
            }
            other => {
                self.pool.give(p.buf);
                self.stop();
                other.map(|_| None)
            }
        }
    }
}

impl Drop for UringReadEngine {
    fn drop(&mut self) {
        // The kernel may still write into pending buffers.
        self.drain();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn dropping_the_engine_waits_for_its_writes_in_flight() {
        // A writer that stops on an error or a panic drops its engine without
        // finishing: the write must be over (its buffer no longer the
        // kernel's) when the drop returns.
        const LEN_BYTES: usize = 16 << 20;
        let dir = tempfile::tempdir_in(".").unwrap();
        let capacity = (LEN_BYTES + BLOCK_SIZE) as u64;
        let path = crate::dir::prepare_segment(dir.path(), 1, capacity, false).unwrap();
        let file = crate::dir::open_for_write(&path, false).unwrap();
        let Ok(mut engine) = UringWriteEngine::with_depth(2) else {
            return; // io_uring refused here: nothing to drain
        };
        let mut buf = AlignedBuf::new(LEN_BYTES);
        buf.as_mut_slice().fill(0xA5);
        let fd = file.as_raw_fd();
        let (offset, len, sync, inline) = (BLOCK_SIZE as u64, LEN_BYTES, true, false);
        engine.start(WriteOp {
            fd,
            offset,
            buf,
            len,
            sync,
            inline,
        });
        drop(engine);
        let mut back = AlignedBuf::new(LEN_BYTES);
        let n = crate::io::sync::pread_full(fd, back.as_mut_slice(), offset).unwrap();
        assert_eq!(n, LEN_BYTES);
        let first_other = back.as_slice().iter().position(|&b| b != 0xA5);
        assert_eq!(
            first_other, None,
            "the drop returned before its write landed"
        );
    }
}
