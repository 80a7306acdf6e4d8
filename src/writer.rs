//! The writer thread: owns the segment files and the I/O engine, takes requests
//! off the submission queue, group-commits them, and answers each producer only
//! when its data is durable (per the sync policy).
//!
//! Up to `commits_in_flight` batches are in flight: the next batch is gathered
//! and encoded while the disk works, and submitted as soon as the previous
//! batch's write has completed, while that batch's fdatasync still runs. A
//! batch's acks are completed only after its write and its linked fdatasync
//! have both completed, and after every earlier batch's, so no ack ever runs
//! ahead of the disk.

use crate::config::SyncPolicy;
use crate::dir;
use crate::error::{Error, Result};
use crate::fence;
use crate::format::{
    BLOCK_SIZE, FLAG_GROUP_END, MAX_LSN, MAX_SEGMENT, SegmentHeader, align_down, align_up,
    encode_entry_record, encode_skip_record, encoded_record_len, entry_body_len,
};
use crate::io::{AlignedBuf, WriteEngine, WriteOp};
use crate::shared::{SegmentMeta, Shared};
use crate::ticket::{Ack, Finished, deliver};
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::collections::VecDeque;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

/// Entry payloads of one request.
pub(crate) enum Payload {
    One(Vec<u8>),
    /// All-or-nothing: one atomic group, placed in one segment.
    Group(Vec<Vec<u8>>),
}

/// What producers put on the submission queue.
pub(crate) enum Request {
    Append {
        payload: Payload,
        ack: Ack,
    },
    /// Consume one LSN without an entry (`inc_last_index`).
    Skip {
        ack: Ack,
    },
    Flush {
        ack: Ack,
    },
    Checkpoint {
        ack: Ack,
    },
    /// Seal the active segment if it holds anything; answers the last sealed segment.
    Rotate {
        ack: Ack,
        /// A consume seals before it frees what it replayed: its new segment
        /// may pass `max_dir_bytes` by one segment for that moment, or a full
        /// directory could never be consumed.
        over_limit: bool,
    },
    Close {
        ack: Ack,
    },
}

impl crate::fence::Answer for Request {
    fn fail(self, e: Error) {
        Request::fail(self, e);
    }
}

impl Request {
    fn is_barrier(&self) -> bool {
        !matches!(self, Request::Append { .. } | Request::Skip { .. })
    }

    pub(crate) fn fail(self, e: Error) {
        let ack = match self {
            Request::Append { ack, .. }
            | Request::Skip { ack }
            | Request::Flush { ack }
            | Request::Checkpoint { ack }
            | Request::Rotate { ack, .. }
            | Request::Close { ack } => ack,
        };
        ack.complete(Err(e));
    }
}

/// The segment being appended to.
struct Active {
    meta: SegmentMeta,
    file: File,
    /// Where the next record goes.
    write_pos: u64,
    /// The block holding `write_pos`, bytes from `write_pos` on zero. Rewritten
    /// with the same prefix by the next batch: under sector atomicity a torn
    /// rewrite leaves the prefix intact either way.
    tail_block: Vec<u8>,
    header_written: bool,
    /// Offset from which the next replay anchor is recorded; `None` for a
    /// segment resumed after a restart, whose earlier records this process
    /// never saw (backward replay then takes its verifying forward pass).
    next_anchor_at: Option<u64>,
}

struct Batch {
    buf: AlignedBuf,
    offset: u64,
    len: usize,
    acks: Vec<(Ack, u64, u64)>,
    last_lsn: u64,
    /// Where the batch's first new record starts in `buf`.
    first_record: usize,
    /// The durable LSN its records were encoded with.
    encoded_durable: u64,
}

struct InFlight {
    acks: Vec<(Ack, u64, u64)>,
    last_lsn: u64,
    durable: bool,
    synced: bool,
    entries: u64,
    bytes: usize,
    started: Instant,
}

enum Encoded {
    Batch(Batch),
    /// The request at the front needs a new segment.
    NeedRollover,
    /// The front of the queue is a barrier.
    Nothing,
    /// The request at the front would need an LSN above `MAX_LSN`.
    Exhausted,
}

/// Work for the preparer thread, done in order.
enum PrepJob {
    /// Create segment `n` (zero-filled if the flag says so).
    Prepare(u64, bool),
    /// Shrink a sealed segment to its data ([`dir::shrink_segment`]).
    Shrink(PathBuf, u64),
}

/// Prepares the next segment ahead of need, and shrinks sealed ones, on its own thread.
struct Preparer {
    tx: Option<Sender<PrepJob>>,
    rx: Receiver<(u64, Result<PathBuf>)>,
    pending: Option<u64>,
    ready: Option<u64>,
    /// Set when the writer waits for the pending segment: its zero-fill stops
    /// there. A writer that outruns the zero-fill (large entries at disk
    /// bandwidth) would otherwise wait for it, and the disk would write every
    /// byte twice; small appends never catch up and keep zero-filled segments.
    hurry: Arc<std::sync::atomic::AtomicBool>,
    /// The writer had to hurry the last preparation: the next one skips the
    /// zero-fill altogether (it would only compete with the writer for the
    /// disk). Cleared when a preparation is ready in time.
    outrun: bool,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Preparer {
    fn spawn(shared: &Arc<Shared>, ready: Option<u64>) -> Result<Preparer> {
        // Unbounded: at most one preparation is outstanding (`pending`), and
        // shrink jobs are one per sealed segment; the writer never blocks here.
        let (tx, req_rx) = crossbeam_channel::unbounded::<PrepJob>();
        let (done_tx, rx) = crossbeam_channel::bounded(1);
        let dir = shared.dir.clone();
        let cap = shared.config.segment_size;
        let zero = shared.config.zero_fill;
        let hurry = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stop = hurry.clone();
        let handle = std::thread::Builder::new()
            .name("xwal-prepare".into())
            .spawn(move || {
                for job in req_rx {
                    match job {
                        PrepJob::Prepare(n, zero_now) => {
                            let r = dir::prepare_segment_with(
                                &dir,
                                n,
                                cap,
                                zero && zero_now,
                                Some(&stop),
                            );
                            if done_tx.send((n, r)).is_err() {
                                break;
                            }
                        }
                        PrepJob::Shrink(path, len) => {
                            // A shrink that fails only leaves the space in use.
                            if let Err(e) = dir::shrink_segment(&path, len) {
                                tracing::warn!(error = %e, "could not shrink a sealed segment");
                            }
                        }
                    }
                }
            })
            .map_err(|e| Error::io("spawning the segment preparer thread", e))?;
        Ok(Preparer {
            tx: Some(tx),
            rx,
            pending: None,
            ready,
            hurry,
            outrun: false,
            handle: Some(handle),
        })
    }

    fn request(&mut self, n: u64) {
        if self.pending.is_none() && self.ready != Some(n) {
            if let Some(tx) = &self.tx {
                // Reset before the request is visible, so a hurry is never lost.
                self.hurry.store(false, Ordering::Release);
                if tx.send(PrepJob::Prepare(n, !self.outrun)).is_ok() {
                    self.pending = Some(n);
                }
            }
        }
    }

    /// The path of prepared segment `n`, preparing it now if it is not ready.
    fn take(&mut self, shared: &Shared, n: u64) -> Result<PathBuf> {
        if self.ready == Some(n) {
            self.ready = None;
            return Ok(dir::segment_path(&shared.dir, n, false));
        }
        if let Some(p) = self.pending.take() {
            let done = match self.rx.try_recv() {
                Ok(d) => {
                    self.outrun = false;
                    Ok(d)
                }
                Err(_) => {
                    self.hurry.store(true, Ordering::Release);
                    self.outrun = true;
                    self.rx.recv()
                }
            };
            match done {
                Ok((m, Ok(path))) if m == n => return Ok(path),
                Ok((m, Ok(path))) => {
                    tracing::warn!(
                        prepared = m,
                        wanted = n,
                        "discarding a segment prepared for another number"
                    );
                    dir::remove_file(&path)?;
                }
                Ok((_, Err(e))) => {
                    tracing::warn!(segment = p, error = %e, "background preparation failed; retrying inline")
                }
                Err(_) => {}
            }
        }
        dir::prepare_segment(
            &shared.dir,
            n,
            shared.config.segment_size,
            shared.config.zero_fill,
        )
    }

    /// Queues the shrink of a sealed segment, off the commit path.
    fn shrink(&self, path: PathBuf, len: u64) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(PrepJob::Shrink(path, len));
        }
    }
}

impl Drop for Preparer {
    fn drop(&mut self) {
        self.tx.take();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

pub(crate) struct Writer {
    shared: Arc<Shared>,
    rx: Receiver<Request>,
    engine: Box<dyn WriteEngine>,
    active: Option<Active>,
    next_segment: u64,
    next_lsn: u64,
    spares: Vec<AlignedBuf>,
    /// Batches submitted and not yet finished, oldest first.
    inflight: VecDeque<InFlight>,
    /// Most batches in flight: `commits_in_flight` under `Always` (bounded by
    /// the engine), else 1 (a write without a sync leaves nothing to overlap).
    depth: usize,
    carry: VecDeque<Request>,
    preparer: Preparer,
    /// Written but not yet fdatasynced (Interval and Never).
    unsynced: bool,
    last_sync: Instant,
    disconnected: bool,
}

/// Where the writer starts after recovery.
pub(crate) struct WriterStart {
    pub resume: Option<crate::recovery::Resume>,
    pub next_segment: u64,
    pub next_prepared: bool,
    pub last_lsn: u64,
}

impl Writer {
    /// Builds the writer and makes sure a segment with a durable header exists,
    /// so the LSN sequence survives a restart even before the first append.
    pub fn new(
        shared: Arc<Shared>,
        rx: Receiver<Request>,
        engine: Box<dyn WriteEngine>,
        start: WriterStart,
    ) -> Result<Writer> {
        let ready = if start.next_prepared {
            Some(start.next_segment)
        } else {
            None
        };
        let preparer = Preparer::spawn(&shared, ready)?;
        let depth = if shared.config.sync == SyncPolicy::Always {
            shared.config.commits_in_flight.min(engine.depth()).max(1)
        } else {
            1
        };
        let dsync = shared.config.sync == SyncPolicy::Dsync;
        let active = match start.resume {
            Some(r) => {
                let file = dir::open_for_write(&r.meta.path(&shared.dir), dsync)?;
                Some(Active {
                    meta: r.meta,
                    file,
                    write_pos: r.write_pos,
                    tail_block: r.tail_block,
                    header_written: true,
                    next_anchor_at: None,
                })
            }
            None => None,
        };
        let mut w = Writer {
            shared,
            rx,
            engine,
            active,
            next_segment: start.next_segment,
            next_lsn: start.last_lsn + 1,
            spares: vec![],
            inflight: VecDeque::with_capacity(depth),
            depth,
            carry: VecDeque::new(),
            preparer,
            unsynced: false,
            last_sync: Instant::now(),
            disconnected: false,
        };
        if w.active.is_none() {
            w.rollover(true)?;
        } else {
            let n = w.next_segment;
            let used = w.shared.segment_bytes();
            if w.shared
                .config
                .max_dir_bytes
                .is_none_or(|limit| used + w.shared.config.segment_size <= limit)
            {
                w.preparer.request(n);
            }
        }
        Ok(w)
    }

    pub fn run(mut self) {
        loop {
            if self.carry.is_empty() && self.inflight.is_empty() {
                self.blocking_gather();
                if self.carry.is_empty() {
                    if self.disconnected {
                        self.shutdown(None);
                        return;
                    }
                    self.maybe_interval_sync();
                    continue;
                }
            } else {
                self.try_gather();
            }

            // Unless the next batch is already full, let the disk work a little
            // first: what arrives meanwhile joins the next batch. With room in
            // the pipeline, wait only for the newest write (the next batch may
            // go out while its fdatasync runs); otherwise, or if nothing came,
            // wait for the oldest commit.
            let mut done = Vec::new();
            if !self.inflight.is_empty() && !self.carry_is_full() {
                if self.inflight.len() < self.depth && self.engine.wait_written() {
                    self.try_gather();
                }
                if self.carry.is_empty() || self.inflight.len() >= self.depth {
                    done.extend(self.finish_oldest());
                    self.try_gather();
                    self.maybe_interval_sync();
                }
            }

            if let Some(e) = self.shared.fence_error() {
                deliver(done);
                self.complete_inflight();
                while let Some(r) = self.carry.pop_front() {
                    if let Request::Close { ack } = r {
                        self.shutdown(Some(ack));
                        return;
                    }
                    r.fail(e.clone());
                }
                continue;
            }
            if self.carry.is_empty() {
                deliver(done);
                continue;
            }

            let front_is_barrier = self.carry.front().is_some_and(Request::is_barrier);
            if front_is_barrier {
                deliver(done);
                self.complete_inflight();
                if let Some(req) = self.carry.pop_front() {
                    if let Request::Close { ack } = req {
                        self.shutdown(Some(ack));
                        return;
                    }
                    self.barrier(req);
                }
                continue;
            }
            match self.encode_batch() {
                Encoded::Batch(b) => {
                    while self.inflight.len() >= self.depth {
                        done.extend(self.finish_oldest());
                    }
                    // A failed write in flight: finish everything (that fences)
                    // rather than submit behind it.
                    if !self.inflight.is_empty() && !self.engine.wait_written() {
                        while !self.inflight.is_empty() {
                            done.extend(self.finish_oldest());
                        }
                    }
                    if let Some(e) = self.shared.fence_error() {
                        deliver(done);
                        for (ack, _, _) in b.acks {
                            ack.complete(Err(e.clone()));
                        }
                        self.spares.push(b.buf);
                        continue;
                    }
                    // Submit first: waking the previous batches' producers then
                    // overlaps with the disk instead of delaying it.
                    self.submit(b);
                    deliver(done);
                }
                Encoded::NeedRollover => {
                    deliver(done);
                    self.complete_inflight();
                    if self.shared.fence_error().is_some() {
                        continue;
                    }
                    if let Err(e) = self.rollover(false) {
                        // Not a fence: nothing was written. Refuse what needed the space.
                        tracing::warn!(error = %e, "cannot start a new segment");
                        if let Some(r) = self.carry.pop_front() {
                            r.fail(e);
                        }
                    }
                }
                Encoded::Nothing => deliver(done),
                Encoded::Exhausted => {
                    deliver(done);
                    if let Some(r) = self.carry.pop_front() {
                        r.fail(Error::Exhausted {
                            what: "LSNs",
                            limit: MAX_LSN,
                        });
                    }
                }
            }
        }
    }

    fn blocking_gather(&mut self) {
        let deadline = match self.shared.config.sync {
            SyncPolicy::Interval(d) if self.unsynced => Some(self.last_sync + d),
            _ => None,
        };
        let first = match deadline {
            Some(dl) => match self.rx.recv_deadline(dl) {
                Ok(r) => r,
                Err(RecvTimeoutError::Timeout) => return,
                Err(RecvTimeoutError::Disconnected) => {
                    self.disconnected = true;
                    return;
                }
            },
            None => match self.rx.recv() {
                Ok(r) => r,
                Err(_) => {
                    self.disconnected = true;
                    return;
                }
            },
        };
        self.carry.push_back(first);
        let delay = self.shared.config.commit_delay;
        if !delay.is_zero() {
            let until = Instant::now() + delay;
            while self.carry.len() < self.shared.config.max_batch_entries {
                match self.rx.recv_deadline(until) {
                    Ok(r) => {
                        let barrier = r.is_barrier();
                        self.carry.push_back(r);
                        if barrier {
                            break;
                        }
                    }
                    Err(_) => break,
                }
            }
        }
        self.try_gather();
    }

    /// True if the queued requests already fill a batch (entries or bytes).
    fn carry_is_full(&self) -> bool {
        let cfg = &self.shared.config;
        if self.carry.len() >= cfg.max_batch_entries {
            return true;
        }
        let mut bytes = 0usize;
        for r in &self.carry {
            bytes += match r {
                Request::Append {
                    payload: Payload::One(d),
                    ..
                } => d.len() + 32,
                Request::Append {
                    payload: Payload::Group(items),
                    ..
                } => items.iter().map(|d| d.len() + 32).sum(),
                _ => 32,
            };
            if bytes >= cfg.max_batch_bytes {
                return true;
            }
        }
        false
    }

    fn try_gather(&mut self) {
        while self.carry.len() < self.shared.config.max_batch_entries {
            match self.rx.try_recv() {
                Ok(r) => self.carry.push_back(r),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    self.disconnected = true;
                    break;
                }
            }
        }
    }

    fn take_buf(&mut self, min: usize) -> AlignedBuf {
        let mut b = self.spares.pop().unwrap_or_else(|| {
            AlignedBuf::new(self.shared.config.max_batch_bytes + 2 * BLOCK_SIZE)
        });
        b.reserve_discard(min);
        b
    }

    /// Encodes as many queued appends as fit into one write.
    fn encode_batch(&mut self) -> Encoded {
        let Some(active) = self.active.as_ref() else {
            return Encoded::NeedRollover;
        };
        let cfg = &self.shared.config;
        let capacity = active.meta.capacity;
        let start = if active.header_written {
            align_down(active.write_pos, BLOCK_SIZE as u64)
        } else {
            0
        };
        let base_pos = if active.header_written {
            active.write_pos
        } else {
            BLOCK_SIZE as u64
        };
        let salt = active.meta.salt;
        let durable = self.shared.durable_lsn.load(Ordering::Acquire);

        // Size the batch first, so the buffer is allocated once.
        let mut lsn = self.next_lsn;
        let mut bytes = 0usize;
        let mut take = 0usize;
        for req in self.carry.iter() {
            let len = match req {
                Request::Append {
                    payload: Payload::One(d),
                    ..
                } => encoded_record_len(entry_body_len(lsn, d.len())),
                Request::Append {
                    payload: Payload::Group(items),
                    ..
                } => items
                    .iter()
                    .enumerate()
                    .map(|(i, d)| encoded_record_len(entry_body_len(lsn + i as u64, d.len())))
                    .sum(),
                Request::Skip { .. } => encoded_record_len(0),
                _ => break,
            };
            let n = match req {
                Request::Append {
                    payload: Payload::Group(items),
                    ..
                } => items.len() as u64,
                _ => 1,
            };
            if lsn + n - 1 > MAX_LSN {
                if take == 0 {
                    return Encoded::Exhausted;
                }
                break;
            }
            if base_pos + (bytes + len) as u64 > capacity {
                if take == 0 {
                    return Encoded::NeedRollover;
                }
                break;
            }
            if take > 0 && (bytes + len > cfg.max_batch_bytes || take >= cfg.max_batch_entries) {
                break;
            }
            bytes += len;
            lsn += n;
            take += 1;
        }
        if take == 0 {
            return Encoded::Nothing;
        }
        let prefix = (base_pos - start) as usize;
        let end = align_up((prefix + bytes) as u64, BLOCK_SIZE as u64) as usize;
        let mut buf = self.take_buf(end);
        let Some(active) = self.active.as_mut() else {
            return Encoded::Nothing;
        };
        let out = buf.as_mut_slice();
        if active.header_written {
            out[..prefix].copy_from_slice(&active.tail_block[..prefix]);
        } else {
            out[..BLOCK_SIZE].fill(0);
            SegmentHeader {
                segment: active.meta.segment,
                first_lsn: active.meta.first_lsn,
                salt,
                max_entry_size: active.meta.max_entry_size,
                capacity,
            }
            .encode(out);
        }
        // A batch start is a record boundary: about every replay chunk, remember
        // it, so backward replay of this segment needs no forward pass.
        if let Some(at) = active.next_anchor_at.filter(|at| base_pos >= *at) {
            debug_assert!(at > BLOCK_SIZE as u64);
            self.shared.record_anchor(
                active.meta.segment,
                base_pos,
                self.next_lsn,
                self.shared.config.replay_chunk_size as u64,
            );
            active.next_anchor_at = Some(base_pos + self.shared.config.replay_chunk_size as u64);
        }
        if let Some(at) = self.shared.seams.panic_writer_at_lsn() {
            assert!(
                !(self.next_lsn..lsn).contains(&at),
                "chaos: writer panics at LSN {at}"
            );
        }
        let mut pos = prefix;
        let mut acks = Vec::with_capacity(take);
        let mut lsn = self.next_lsn;
        for _ in 0..take {
            let Some(req) = self.carry.pop_front() else {
                break;
            };
            match req {
                Request::Append {
                    payload: Payload::One(d),
                    ack,
                } => {
                    pos += encode_entry_record(
                        &mut out[pos..],
                        lsn,
                        durable,
                        FLAG_GROUP_END,
                        salt,
                        &d,
                    );
                    acks.push((ack, lsn, lsn));
                    lsn += 1;
                }
                Request::Append {
                    payload: Payload::Group(items),
                    ack,
                } => {
                    let first = lsn;
                    let last_i = items.len() - 1;
                    for (i, d) in items.iter().enumerate() {
                        let flags = if i == last_i { FLAG_GROUP_END } else { 0 };
                        pos += encode_entry_record(&mut out[pos..], lsn, durable, flags, salt, d);
                        lsn += 1;
                    }
                    acks.push((ack, first, lsn - 1));
                }
                Request::Skip { ack } => {
                    pos += encode_skip_record(&mut out[pos..], lsn, durable, salt);
                    acks.push((ack, lsn, lsn));
                    lsn += 1;
                }
                other => {
                    // Sizing stopped before any barrier.
                    self.carry.push_front(other);
                    break;
                }
            }
        }
        debug_assert_eq!(pos, prefix + bytes);
        out[pos..end].fill(0);
        // `tail_block` is taken at submission (`capture_tail_block`), after the
        // first record's durable LSN may have been patched.
        active.write_pos = start + pos as u64;
        active.header_written = true;
        assert!(active.write_pos <= capacity, "batch overran the segment");
        self.next_lsn = lsn;
        self.shared.last_lsn.store(lsn - 1, Ordering::Release);
        Encoded::Batch(Batch {
            buf,
            offset: start,
            len: end,
            acks,
            last_lsn: lsn - 1,
            first_record: prefix,
            encoded_durable: durable,
        })
    }

    fn submit(&mut self, mut b: Batch) {
        if self.active.is_none() {
            return;
        }
        // The batch was encoded while earlier ones were in flight; those that
        // completed since are durable now. Saying so in the first record lets
        // recovery prove them durable (and refuse to cut them as a torn tail).
        let durable_now = self.shared.durable_lsn.load(Ordering::Acquire);
        if durable_now > b.encoded_durable {
            let first_lsn = b.acks.first().map_or(b.last_lsn, |a| a.1);
            debug_assert!(
                durable_now < first_lsn,
                "only earlier batches can be durable"
            );
            if durable_now < first_lsn {
                crate::format::patch_durable_lsn(
                    &mut b.buf.as_mut_slice()[b.first_record..b.len],
                    durable_now,
                );
            }
        }
        self.capture_tail_block(&b);
        let Some(active) = self.active.as_ref() else {
            return;
        };
        let chaos = self.shared.seams.ack_before_sync();
        let sync = self.shared.config.sync == SyncPolicy::Always && !chaos;
        let durable = self.shared.config.sync.acks_are_durable();
        tracing::trace!(
            segment = active.meta.segment,
            offset = b.offset,
            len = b.len,
            entries = b.acks.len(),
            "commit"
        );
        let entries = match (b.acks.first(), b.acks.last()) {
            (Some(f), Some(l)) => l.2 + 1 - f.1,
            _ => 0,
        };
        let len = b.len;
        crate::metrics::set_queue_depth(self.rx.len());
        debug_assert!(self.inflight.len() < self.depth);
        self.engine.start(WriteOp {
            fd: active.file.as_raw_fd(),
            offset: b.offset,
            buf: b.buf,
            len: b.len,
            sync,
        });
        self.inflight.push_back(InFlight {
            acks: b.acks,
            last_lsn: b.last_lsn,
            durable,
            synced: sync,
            entries,
            bytes: len,
            started: Instant::now(),
        });
    }

    /// Keeps the block holding `write_pos` exactly as this batch writes it:
    /// the next batch rewrites that block with this prefix, byte for byte.
    fn capture_tail_block(&mut self, b: &Batch) {
        let Some(active) = self.active.as_mut() else {
            return;
        };
        let tail_start = align_down(active.write_pos - b.offset, BLOCK_SIZE as u64) as usize;
        active.tail_block.clear();
        if tail_start < b.len {
            active
                .tail_block
                .extend_from_slice(&b.buf.as_slice()[tail_start..tail_start + BLOCK_SIZE]);
        } else {
            active.tail_block.resize(BLOCK_SIZE, 0);
        }
    }

    /// Finishes every batch in flight and completes their acks.
    fn complete_inflight(&mut self) {
        while !self.inflight.is_empty() {
            deliver(self.finish_oldest());
        }
    }

    /// Waits for the oldest batch in flight and publishes its outcome
    /// (watermarks or fence); the acks are returned for [`deliver`], so waking
    /// producers can happen after the next submission.
    fn finish_oldest(&mut self) -> Option<Finished> {
        let f = self.inflight.pop_front()?;
        let (buf, r) = self.engine.finish();
        self.spares.push(buf);
        let op = if self.shared.config.sync == SyncPolicy::Always {
            "write+fdatasync"
        } else {
            "write"
        };
        // A failure fences; once fenced, a later success answers the fence too.
        match self.shared.fence.settle(r, op) {
            Ok(()) => {
                let latency = f.started.elapsed();
                crate::metrics::record_append(f.entries, f.bytes as u64);
                crate::metrics::record_commit(f.entries as usize, f.bytes, latency);
                if f.synced {
                    // The fdatasync is linked after the write: the chain is what a commit waits for.
                    crate::metrics::record_fsync(latency);
                }
                self.shared
                    .readable_lsn
                    .store(f.last_lsn, Ordering::Release);
                if f.durable {
                    self.shared.durable_lsn.store(f.last_lsn, Ordering::Release);
                } else {
                    self.unsynced = true;
                }
                Some((f.acks, Ok(())))
            }
            Err(e) => Some((f.acks, Err(e))),
        }
    }

    /// fdatasync of the active segment for the policies that do not sync every batch.
    /// Leaves the active segment's replay anchors beside it (`wal-N.anchors`),
    /// once its records are synced. A hint for backward replay after a restart:
    /// no fsync, and a failure only costs that replay a forward pass.
    fn write_anchor_index(&self) {
        let Some(a) = self.active.as_ref() else {
            return;
        };
        let anchors = self.shared.anchors_of(a.meta.segment);
        if anchors.is_empty() || self.shared.fence_error().is_some() {
            return;
        }
        let bytes = crate::format::encode_anchor_index(a.meta.segment, a.meta.salt, &anchors);
        let path = dir::anchor_index_path(&self.shared.dir, a.meta.segment);
        if let Err(e) = dir::write_hint_file(&path, &bytes) {
            tracing::warn!(path = %path.display(), error = %e, "could not write the anchor index (a replay hint)");
        }
    }

    fn sync_active(&mut self) -> Result<()> {
        if !self.unsynced {
            return Ok(());
        }
        let Some(a) = self.active.as_ref() else {
            return Ok(());
        };
        let fd = a.file.as_raw_fd();
        let started = Instant::now();
        match self.engine.sync_data(fd) {
            Ok(()) => {
                crate::metrics::record_fsync(started.elapsed());
                self.unsynced = false;
                self.last_sync = Instant::now();
                let r = self.shared.readable_lsn.load(Ordering::Acquire);
                self.shared.durable_lsn.store(r, Ordering::Release);
                Ok(())
            }
            Err(e) => self.shared.fence.settle(Err(e), "fdatasync"),
        }
    }

    fn maybe_interval_sync(&mut self) {
        if let SyncPolicy::Interval(d) = self.shared.config.sync {
            if self.unsynced && self.last_sync.elapsed() >= d {
                let _ = self.sync_active();
            }
        }
    }

    /// Writes the active segment's header now and syncs it (outside the hot path).
    fn write_header_now(&mut self) -> Result<()> {
        debug_assert!(self.inflight.is_empty());
        let Some(a) = self.active.as_mut() else {
            return Ok(());
        };
        if a.header_written {
            return Ok(());
        }
        let mut buf = self
            .spares
            .pop()
            .unwrap_or_else(|| AlignedBuf::new(BLOCK_SIZE));
        buf.as_mut_slice()[..BLOCK_SIZE].fill(0);
        SegmentHeader {
            segment: a.meta.segment,
            first_lsn: a.meta.first_lsn,
            salt: a.meta.salt,
            max_entry_size: a.meta.max_entry_size,
            capacity: a.meta.capacity,
        }
        .encode(buf.as_mut_slice());
        let dsync = self.shared.config.sync == SyncPolicy::Dsync;
        self.engine.start(WriteOp {
            fd: a.file.as_raw_fd(),
            offset: 0,
            buf,
            len: BLOCK_SIZE,
            sync: !dsync,
        });
        let (buf, r) = self.engine.finish();
        self.spares.push(buf);
        if let Err(e) = r {
            return self.shared.fence.settle(Err(e), "segment header write");
        }
        a.header_written = true;
        a.write_pos = BLOCK_SIZE as u64;
        a.tail_block = vec![0u8; BLOCK_SIZE];
        Ok(())
    }

    /// Seals the active segment (its data synced) and activates the next one.
    /// `eager` writes the new header now; otherwise the first batch carries it.
    fn rollover(&mut self, eager: bool) -> Result<()> {
        self.rollover_with(eager, false)
    }

    fn rollover_with(&mut self, eager: bool, over_limit: bool) -> Result<()> {
        debug_assert!(self.inflight.is_empty());
        // Only the tail segment may hold unsynced data: recovery scans nothing else.
        self.sync_active()?;
        self.write_anchor_index();
        // The next header must pass recovery's checks: room left in both sequences.
        if self.next_segment > MAX_SEGMENT {
            return Err(Error::Exhausted {
                what: "segment numbers",
                limit: MAX_SEGMENT,
            });
        }
        if self.next_lsn > MAX_LSN {
            return Err(Error::Exhausted {
                what: "LSNs",
                limit: MAX_LSN,
            });
        }
        let seg_size = self.shared.config.segment_size;
        let used = self.shared.segment_bytes();
        if let Some(limit) = self.shared.config.max_dir_bytes.filter(|_| !over_limit) {
            let size = used + seg_size;
            if size > limit {
                return Err(Error::DirectoryFull { size, limit });
            }
        }
        let n = self.next_segment;
        let path = self.preparer.take(&self.shared, n)?;
        let dsync = self.shared.config.sync == SyncPolicy::Dsync;
        let file = dir::open_for_write(&path, dsync)?;
        let meta = SegmentMeta {
            segment: n,
            first_lsn: self.next_lsn,
            salt: dir::random_salt(),
            max_entry_size: self.shared.config.max_entry_size as u32,
            capacity: self.shared.config.segment_size,
            checkpoint: false,
        };
        let segments = {
            let mut t = self.shared.table.lock();
            t.insert(n, meta);
            t.len()
        };
        crate::metrics::set_segments(segments);
        if let Some(old) = self.active.take() {
            let path = old.meta.path(&self.shared.dir);
            self.seal(old, path);
        }
        self.active = Some(Active {
            meta,
            file,
            write_pos: BLOCK_SIZE as u64,
            tail_block: vec![0u8; BLOCK_SIZE],
            header_written: false,
            next_anchor_at: Some(BLOCK_SIZE as u64 + self.shared.config.replay_chunk_size as u64),
        });
        self.next_segment = n + 1;
        // Preparing ahead counts against the limit like any other segment file.
        if self
            .shared
            .config
            .max_dir_bytes
            .is_none_or(|limit| used + 2 * seg_size <= limit)
        {
            self.preparer.request(n + 1);
        }
        tracing::debug!(segment = n, first_lsn = meta.first_lsn, "activated segment");
        if eager {
            self.write_header_now()?;
        }
        Ok(())
    }

    /// The active segment is sealed for good (rollover, checkpoint): never
    /// appended to again, so the space past its data goes back, in the
    /// background. `path` is its name now.
    fn seal(&mut self, a: Active, path: PathBuf) {
        let segment = a.meta.segment;
        let written = a.header_written;
        let end = align_up(a.write_pos, BLOCK_SIZE as u64);
        drop(a);
        // A segment without its header holds nothing and keeps no LSN floor;
        // it is left whole for recovery to judge.
        if written {
            debug_assert!(end >= BLOCK_SIZE as u64);
            self.shared.set_sealed_len(segment, end);
            self.preparer.shrink(path, end);
        }
    }

    fn active_has_records(&self) -> bool {
        self.active
            .as_ref()
            .is_some_and(|a| a.header_written && a.write_pos > BLOCK_SIZE as u64)
    }

    fn barrier(&mut self, req: Request) {
        match req {
            Request::Flush { ack } => {
                let r = self.sync_active().map(|_| {
                    let d = self.shared.durable_lsn.load(Ordering::Acquire);
                    (d, d)
                });
                ack.complete(r);
            }
            Request::Checkpoint { ack } => {
                let r = self.checkpoint();
                ack.complete(r.map(|n| (n, n)));
            }
            Request::Rotate { ack, over_limit } => {
                let r = if self.active_has_records() {
                    let sealed = self.active.as_ref().map(|a| a.meta.segment).unwrap_or(0);
                    // (segment, 1): sealed now; (0, 0): nothing to seal.
                    self.rollover_with(true, over_limit).map(|_| (sealed, 1))
                } else {
                    Ok((0, 0))
                };
                ack.complete(r);
            }
            other => other.fail(Error::Closed),
        }
    }

    /// Makes everything durable, marks the active segment as a checkpoint
    /// (rename + directory fsync) and starts the next segment.
    fn checkpoint(&mut self) -> Result<u64> {
        if self.active.is_none() {
            self.rollover(true)?;
        }
        self.sync_active()?;
        self.write_header_now()?;
        self.write_anchor_index();
        let Some(a) = self.active.take() else {
            return Err(Error::Closed);
        };
        let n = a.meta.segment;
        let from = dir::segment_path(&self.shared.dir, n, false);
        let to = dir::segment_path(&self.shared.dir, n, true);
        {
            let mut t = self.shared.table.lock();
            if let Err(e) = dir::rename_durable(&self.shared.dir, &from, &to) {
                drop(t);
                self.active = Some(a);
                return Err(e);
            }
            if let Some(m) = t.get_mut(&n) {
                m.checkpoint = true;
            }
        }
        self.seal(a, to);
        tracing::info!(segment = n, "checkpoint");
        if let Err(e) = self.rollover(true) {
            // The checkpoint stands; appends retry the rollover.
            tracing::warn!(error = %e, "checkpoint sealed but the next segment could not be started");
        }
        Ok(n)
    }

    fn shutdown(&mut self, ack: Option<Ack>) {
        self.complete_inflight();
        let mut result = match self.shared.fence_error() {
            Some(e) => Err(e),
            None => Ok(()),
        };
        if result.is_ok() {
            result = self.sync_active();
        }
        if result.is_ok() {
            self.write_anchor_index();
        }
        // Whatever is still queued gets an answer, never silence; a sender
        // that enqueued after this drain sees `closed` (see `Wal::send`).
        let carried = std::mem::take(&mut self.carry);
        fence::close_and_drain(
            &self.shared.closed,
            &self.shared.fence,
            carried.into_iter().chain(self.rx.try_iter()),
        );
        let l = self.shared.durable_lsn.load(Ordering::Acquire);
        if let Some(ack) = ack {
            ack.complete(result.map(|_| (l, l)));
        }
        self.active = None;
    }
}
