//! The public handle.

use crate::append_buffer::Claim;
use crate::config::BackendType;
use crate::dir::DirLock;
use crate::error::{Error, Result};
use crate::fence;
use crate::format::{BLOCK_SIZE, encoded_record_len, entry_body_len};
use crate::ids::{CheckpointId, Lsn, SegmentId, wrap_all};
use crate::replay::{self, Entry, Replay, ReplayOptions, ReplaySummary, Tail};
use crate::shared::{SegmentMeta, Shared};
use crate::sync::Mutex;
use crate::ticket::{self, Ack, CommitTicket};
use crate::writer::batch::{Entry as OneEntry, Group, Skip};
use crate::writer::{Request, Writer, WriterCell, WriterStart};
use crossbeam_channel::Sender;
use std::ops::RangeInclusive;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;

/// What [`Wal::segments`] tells about one segment.
///
/// # Examples
///
/// ```
/// # fn main() -> xwal::Result<()> {
/// use xwal::{Config, SegmentInfo, Wal};
///
/// let dir = tempfile::tempdir_in(".").unwrap();
/// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
/// let (wal, _) = Wal::open(config)?;
/// wal.append_batch(["a", "b"])?;
/// let cp = wal.create_checkpoint()?;
/// let segments: Vec<SegmentInfo> = wal.segments();
/// let sealed = segments[0];
/// assert_eq!(sealed.segment, cp.segment());
/// assert_eq!((sealed.first_lsn, sealed.checkpoint), (xwal::Lsn(1), true));
/// assert_eq!(sealed.capacity, 1 << 20);
/// assert_eq!(segments[1].first_lsn, 3); // the next append goes there
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SegmentInfo {
    /// Its number (the number in its file name).
    pub segment: SegmentId,
    /// The first LSN stored in it (or that would be, while it is empty).
    pub first_lsn: Lsn,
    /// Its file's capacity in bytes (the segment size it was created with).
    pub capacity: u64,
    /// The entry size limit it was written with, in bytes.
    pub max_entry_size: u32,
    /// Whether it is a checkpoint ([`Wal::create_checkpoint`]).
    pub checkpoint: bool,
}

impl From<SegmentMeta> for SegmentInfo {
    fn from(m: SegmentMeta) -> Self {
        SegmentInfo {
            segment: SegmentId(m.segment),
            first_lsn: Lsn(m.first_lsn),
            capacity: m.capacity,
            max_entry_size: m.max_entry_size,
            checkpoint: m.checkpoint,
        }
    }
}

/// A write-ahead log. `Send + Sync`: share it with `Arc` and append from any thread.
///
/// ```
/// # fn main() -> xwal::Result<()> {
/// let dir = tempfile::tempdir_in(".").unwrap();
/// let (wal, _report) = xwal::Wal::open(xwal::Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10))?;
/// let lsn = wal.append(b"hello")?;           // durable when it returns
/// let cp = wal.create_checkpoint()?;
/// let replay = wal.replay(xwal::ReplayOptions::all())?;
/// let entries = replay.collect::<xwal::Result<Vec<_>>>()?; // a damaged log is an Err
/// assert_eq!(entries[0].lsn, lsn);
/// # let _ = cp;
/// wal.close()?;
/// # Ok(()) }
/// ```
pub struct Wal {
    shared: Arc<Shared>,
    tx: Sender<Request>,
    /// A second receiver of the writer's queue, to answer requests that reach
    /// the queue after the writer's last drain (see `send`). `None` without a writer.
    orphans: Option<crossbeam_channel::Receiver<Request>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    /// The writer itself, for a producer that commits as leader while the
    /// writer thread sleeps. `None` without a writer.
    cell: Option<Arc<WriterCell>>,
    /// Released by `close`, after the writer has stopped and closed the files.
    lock: Mutex<Option<DirLock>>,
}

/// The writer thread of a `Wal` that can write, with its queue.
pub(crate) struct RunningWriter {
    pub tx: Sender<Request>,
    pub orphans: crossbeam_channel::Receiver<Request>,
    pub handle: JoinHandle<()>,
    pub cell: Arc<WriterCell>,
}

impl Wal {
    /// The one place a `Wal` is put together. Without a writer (read-only
    /// views) every request is answered Closed: its queue has no receiver.
    pub(crate) fn assemble(
        shared: Arc<Shared>,
        writer: Option<RunningWriter>,
        lock: Option<DirLock>,
    ) -> Wal {
        debug_assert_eq!(writer.is_none(), shared.read_only);
        let (tx, orphans, handle, cell) = match writer {
            Some(w) => (w.tx, Some(w.orphans), Some(w.handle), Some(w.cell)),
            None => (crossbeam_channel::bounded(1).0, None, None, None),
        };
        Wal {
            shared,
            tx,
            orphans,
            writer: Mutex::new(handle),
            cell,
            lock: Mutex::new(lock),
        }
    }

    /// The state shared with the writer and replays (for the archive tier's API).
    #[cfg_attr(not(feature = "s3"), allow(dead_code))]
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }
}

/// Starts the writer thread on `shared`. However it ends (a panic included),
/// the WAL is marked closed and everything queued is answered.
pub(crate) fn spawn_writer(
    shared: &Arc<Shared>,
    engine: Box<dyn crate::io::WriteEngine>,
    start: WriterStart,
) -> Result<RunningWriter> {
    let (tx, rx) = crossbeam_channel::bounded(shared.config.queue_depth);
    let orphans = rx.clone();
    let writer_queue = rx.clone();
    let writer_shared = shared.clone();
    let writer = Writer::new(shared.clone(), rx, engine, start)?;
    let cell = Arc::new(WriterCell::new(Some(writer)));
    let writer_cell = cell.clone();
    let handle = std::thread::Builder::new()
        .name("xwal-writer".into())
        .spawn(move || {
            // Later requests must see `closed`: the queue has a second
            // receiver (`orphans`), so sending into it no longer fails by itself.
            let _closed_on_exit = WriterExit {
                shared: writer_shared.clone(),
                queue: writer_queue,
            };
            let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                Writer::run(&writer_cell)
            }));
            // Whatever ended it, the writer goes: its requests are answered
            // and no producer leads it any more.
            drop(writer_cell.lock().take());
            if let Err(payload) = run {
                // The writer's acks in flight were answered (Closed) as it
                // unwound; the fence makes every later call fail and
                // nothing is acknowledged again.
                writer_shared.set_fence(Error::Fenced {
                    op: "writer thread",
                    cause: format!("panicked: {}", panic_message(payload.as_ref())),
                });
            }
        })
        .map_err(|e| Error::io("spawning the writer thread", e))?;
    Ok(RunningWriter {
        tx,
        orphans,
        handle,
        cell,
    })
}

impl Wal {
    /// True for the `Wal` inside a [`crate::ReadOnlyWal`].
    pub(crate) fn is_read_only(&self) -> bool {
        self.shared.read_only
    }

    fn send(&self, req: Request) -> Result<()> {
        self.shared.check_writable()?;
        // A full queue blocks here. If the writer is gone, the request (and
        // its ack) is dropped, which answers Closed.
        self.tx.send(req).map_err(|_| Error::Closed)?;
        self.shared.appends.kick();
        self.drain_if_closed();
        Ok(())
    }

    /// Claims LSNs for `records` and stages them in the writer's next write;
    /// the first LSN. Blocks while the append buffer is full (backpressure).
    /// Wakes the writer thread if it sleeps.
    fn stage(&self, records: &dyn crate::append_buffer::Records) -> Result<Claim> {
        self.stage_with(records, true)
    }

    /// [`Wal::stage`] without waking the writer thread: the caller then
    /// either commits as leader or wakes it ([`Wal::lead_or_wait`]).
    fn stage_quietly(&self, records: &dyn crate::append_buffer::Records) -> Result<Claim> {
        self.stage_with(records, false)
    }

    fn stage_with(&self, records: &dyn crate::append_buffer::Records, wake: bool) -> Result<Claim> {
        self.shared.check_writable()?;
        // A tier that falls behind may slow appends (S3: BacklogFull::SlowAppends).
        if let Some(t) = &self.shared.tier {
            t.throttle_appends();
        }
        // Read before the claim: below every LSN the claim hands out.
        let durable = self.shared.durable_lsn.load(Ordering::Acquire);
        let claim = match wake {
            true => self.shared.appends.claim(records, durable)?,
            false => self.shared.appends.claim_quietly(records, durable)?,
        };
        let last = claim.lsn + records.count() - 1;
        self.shared.last_lsn.fetch_max(last, Ordering::AcqRel);
        Ok(claim)
    }

    /// The writer sets `closed`, then drains the queue one last time and
    /// stops. A request that slipped in after that drain would never be
    /// answered: the queue keeps its ack alive as long as a sender exists.
    /// So a sender that sees `closed` after sending drains what is left,
    /// its own request included (SeqCst on both sides: at least one of the
    /// two drains sees the request).
    fn drain_if_closed(&self) {
        if let Some(rx) = &self.orphans {
            fence::drain_if_closed(&self.shared.closed, &self.shared.fence, rx.try_iter());
        }
    }

    /// Waits until `lsn` is acknowledged. If the writer thread sleeps (its
    /// cell is free), this thread commits what is staged itself first
    /// ([`Writer::commit_as_leader`]): no hand-off to the writer and back,
    /// which on a busy machine can each cost a scheduler slice. Otherwise the
    /// writer thread is woken (after the attempt to lead, so a writer that
    /// was about to sleep sees the record) and this thread parks.
    fn lead_or_wait(&self, lsn: u64, epoch: u64) -> Result<Lsn> {
        let singles = self.shared.single_batches.load(Ordering::Relaxed);
        let alone = singles >= crate::shared::LEAD_AFTER_SINGLES;
        if alone
            && self.shared.commits.acked() < lsn
            && let Some(mut guard) = self.cell.as_ref().and_then(|c| c.try_lock())
            && let Some(w) = guard.as_mut()
        {
            let led =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| w.commit_as_leader()));
            if let Err(payload) = led {
                // A bug in the commit path: as when the writer
                // thread dies, the WAL is fenced and every waiter
                // answered; the writer thread then stops.
                drop(guard.take());
                self.shared.set_fence(Error::Fenced {
                    op: "writer thread",
                    cause: format!("panicked: {}", panic_message(payload.as_ref())),
                });
                let end = self.shared.fence_error().unwrap_or(Error::Closed);
                drop(self.shared.appends.close(end.clone(), 0));
                self.shared.commits.end(end.clone());
                self.shared.feed.end(end);
            }
        }
        if self.shared.commits.acked() < lsn {
            self.shared.appends.kick();
        }
        let r = self.shared.commits.wait(lsn, epoch);
        debug_assert!(
            r.is_err()
                || !self.shared.config.sync.acks_are_durable()
                || self.shared.durable_lsn.load(Ordering::Acquire) >= lsn,
            "LSN {lsn} acknowledged before it is durable"
        );
        r.map(Lsn)
    }

    fn request(&self, make: impl FnOnce(Ack) -> Request) -> Result<(u64, u64)> {
        let (ack, slot) = Ack::new();
        self.send(make(ack))?;
        ticket::wait(&slot)
    }

    fn check_entry(&self, len: usize) -> Result<()> {
        let limit = self.shared.config.max_entry_size;
        if len as u64 > limit {
            return Err(Error::EntryTooLarge {
                size: len as u64,
                limit,
            });
        }
        Ok(())
    }

    /// Queues one entry without waiting. The ticket resolves to its LSN when it
    /// is durable. Blocks only while the submission queue is full.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::{Config, Wal};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
    /// let (wal, _) = Wal::open(config)?;
    /// // Queue three entries, then wait for all of them: they can share one commit.
    /// let tickets = (0..3u8).map(|i| wal.submit(vec![i])).collect::<xwal::Result<Vec<_>>>()?;
    /// let lsns = tickets.into_iter().map(|t| t.wait()).collect::<xwal::Result<Vec<_>>>()?;
    /// assert_eq!(lsns, [1, 2, 3]);
    /// # Ok(()) }
    /// ```
    pub fn submit(&self, data: impl AsRef<[u8]>) -> Result<CommitTicket> {
        let data = data.as_ref();
        self.check_entry(data.len())?;
        let c = self.stage(&OneEntry(data))?;
        Ok(CommitTicket::new(
            c.lsn,
            c.epoch,
            self.shared.commits.clone(),
        ))
    }

    /// Appends one entry and returns its LSN once it is durable (per the sync policy).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::{Config, Wal};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
    /// let (wal, _) = Wal::open(config)?;
    /// let lsn = wal.append(b"put k1 v1")?;
    /// assert_eq!(lsn, 1);
    /// // With the default SyncPolicy::Always, acknowledged means durable.
    /// assert!(wal.durable_index() >= lsn);
    /// # Ok(()) }
    /// ```
    pub fn append(&self, data: &[u8]) -> Result<Lsn> {
        self.check_entry(data.len())?;
        let c = self.stage_quietly(&OneEntry(data))?;
        self.lead_or_wait(c.lsn, c.epoch)
    }

    /// Appends entries as one atomic group: after a crash either all of them are
    /// present or none. Returns their LSNs. The group's encoded size is at most
    /// [`crate::Config::max_batch_bytes`] plus one record of [`crate::Config::max_entry_size`]
    /// (and fits a segment), else [`Error::EntryTooLarge`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::{Config, Error, Lsn, Wal};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
    /// let (wal, _) = Wal::open(config)?;
    /// assert_eq!(wal.append_batch(["debit a", "credit b"])?, Lsn(1)..=Lsn(2));
    /// assert_eq!(wal.append_batch(vec![b"c".to_vec()])?, Lsn(3)..=Lsn(3));
    /// let empty = wal.append_batch(Vec::<Vec<u8>>::new());
    /// assert!(matches!(empty, Err(Error::InvalidBatch { count: 0, .. })));
    /// # Ok(()) }
    /// ```
    pub fn append_batch<I, D>(&self, entries: I) -> Result<RangeInclusive<Lsn>>
    where
        I: IntoIterator<Item = D>,
        D: AsRef<[u8]>,
    {
        let items: Vec<D> = entries.into_iter().collect();
        self.check_batch(&items)?;
        let c = self.stage_quietly(&Group(&items))?;
        let (first, last) = (c.lsn, c.lsn + items.len() as u64 - 1);
        debug_assert!(first >= 1 && first <= last);
        self.lead_or_wait(last, c.epoch)?;
        Ok(Lsn(first)..=Lsn(last))
    }

    /// [`Wal::append_batch`] without waiting: the entries get consecutive
    /// LSNs, all or none, and the ticket answers for the last one (acks come
    /// in LSN order, so when it is durable all are). The first LSN is
    /// `ticket.lsn() - n + 1` for `n` entries.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::{Config, Wal};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
    /// let (wal, _) = Wal::open(config)?;
    /// let ticket = wal.submit_batch([b"a", b"b", b"c"])?; // does not block
    /// assert_eq!(ticket.lsn(), 3);
    /// assert_eq!(ticket.wait()?, 3); // all three durable
    /// # Ok(()) }
    /// ```
    pub fn submit_batch<I, D>(&self, entries: I) -> Result<CommitTicket>
    where
        I: IntoIterator<Item = D>,
        D: AsRef<[u8]>,
    {
        let items: Vec<D> = entries.into_iter().collect();
        self.check_batch(&items)?;
        let c = self.stage(&Group(&items))?;
        let last = c.lsn + items.len() as u64 - 1;
        Ok(CommitTicket::new(
            last,
            c.epoch,
            self.shared.commits.clone(),
        ))
    }

    /// A batch is at least one entry, each within the entry limit, and all
    /// of them one write: within a segment and the in-flight bound the
    /// segment headers promise recovery (a batch plus one record of the
    /// largest entry; ARCHITECTURE.md, "Recovery").
    fn check_batch<D: AsRef<[u8]>>(&self, items: &[D]) -> Result<()> {
        if items.is_empty() {
            return Err(Error::InvalidBatch {
                count: 0,
                reason: "a batch needs at least one entry",
            });
        }
        let mut total = 0u64;
        for d in items {
            let len = d.as_ref().len();
            self.check_entry(len)?;
            total += encoded_record_len(entry_body_len(u64::MAX, len)) as u64;
        }
        let c = &self.shared.config;
        let largest = encoded_record_len(entry_body_len(u64::MAX, c.max_entry_size as usize));
        let limit = (c.segment_size - BLOCK_SIZE as u64).min((c.max_batch_bytes + largest) as u64);
        match total > limit {
            true => Err(Error::EntryTooLarge { size: total, limit }),
            false => Ok(()),
        }
    }

    /// Makes everything accepted so far durable, whatever the sync policy. Returns the durable LSN.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::{Config, SyncPolicy, Wal};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let config = Config::new(dir.path())
    ///     .segment_size(1 << 20)
    ///     .max_entry_size(64 << 10)
    ///     .sync(SyncPolicy::Never);
    /// let (wal, _) = Wal::open(config)?;
    /// let lsn = wal.append(b"acknowledged when written")?;
    /// let durable = wal.flush()?;
    /// assert!(durable >= lsn);
    /// assert!(wal.durable_index() >= lsn);
    /// # Ok(()) }
    /// ```
    pub fn flush(&self) -> Result<Lsn> {
        self.request(|ack| Request::Flush { ack })
            .map(|(l, _)| Lsn(l))
    }

    /// LSN of the last entry written (0 for a new WAL). Survives restarts.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::{Config, Wal};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
    /// let (wal, _) = Wal::open(config.clone())?;
    /// assert_eq!(wal.last_index(), 0);
    /// wal.append_batch(["a", "b"])?;
    /// assert_eq!(wal.last_index(), 2);
    /// wal.close()?;
    ///
    /// let (wal, _) = Wal::open(config)?;
    /// assert_eq!(wal.last_index(), 2);
    /// # Ok(()) }
    /// ```
    pub fn last_index(&self) -> Lsn {
        Lsn(self.shared.last_lsn.load(Ordering::Acquire))
    }

    /// Highest LSN known durable.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::{Config, Wal};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
    /// let (wal, _) = Wal::open(config)?;
    /// assert_eq!(wal.durable_index(), 0);
    /// let lsn = wal.append(b"entry")?;
    /// assert!(wal.durable_index() >= lsn);
    /// assert!(wal.durable_index() <= wal.last_index());
    /// # Ok(()) }
    /// ```
    pub fn durable_index(&self) -> Lsn {
        Lsn(self.shared.durable_lsn.load(Ordering::Acquire))
    }

    /// Consumes one LSN without an entry (Go's `IncLastIndex`), durably, and returns it.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::{Config, ReplayOptions, Wal};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
    /// let (wal, _) = Wal::open(config)?;
    /// wal.append(b"one")?;
    /// assert_eq!(wal.inc_last_index()?, 2);
    /// assert_eq!(wal.append(b"three")?, 3);
    /// // The skipped LSN has no entry to replay.
    /// let lsns: Vec<_> = wal.replay(ReplayOptions::all())?.map(|e| e.map(|e| e.lsn)).collect::<xwal::Result<Vec<_>>>()?;
    /// assert_eq!(lsns, [1, 3]);
    /// # Ok(()) }
    /// ```
    pub fn inc_last_index(&self) -> Result<Lsn> {
        let c = self.stage_quietly(&Skip)?;
        self.lead_or_wait(c.lsn, c.epoch)
    }

    /// `local_filesystem` or `aws_s3`.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::{BackendType, Config, Wal};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
    /// let (wal, _) = Wal::open(config)?;
    /// assert_eq!(wal.backend_type(), BackendType::LocalFilesystem);
    /// assert_eq!(wal.backend_type().as_str(), "local_filesystem");
    /// # Ok(()) }
    /// ```
    pub fn backend_type(&self) -> BackendType {
        self.shared.config.backend
    }

    /// Which I/O engine is in use: `io_uring` or `sync`.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::{Config, IoEngine, Wal};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let config = Config::new(dir.path())
    ///     .segment_size(1 << 20)
    ///     .max_entry_size(64 << 10)
    ///     .io_engine(IoEngine::Auto);
    /// let (wal, _) = Wal::open(config)?;
    /// // Auto falls back to the sync engine where the kernel refuses io_uring.
    /// assert!(["io_uring", "sync"].contains(&wal.io_engine_name()));
    /// # Ok(()) }
    /// ```
    pub fn io_engine_name(&self) -> &'static str {
        if self.shared.uring {
            "io_uring"
        } else {
            "sync"
        }
    }

    /// Makes everything written durable, seals and marks the current segment as a
    /// checkpoint (rename + directory fsync), starts a new segment, and returns
    /// the checkpoint's segment number.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::{Config, ReplayOptions, ReplayRange, Wal};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
    /// let (wal, _) = Wal::open(config)?;
    /// wal.append(b"state")?;
    /// let cp = wal.create_checkpoint()?;
    /// assert_eq!(wal.checkpoints(), [cp]);
    /// wal.append(b"after")?;
    /// // Appends continue in a new segment.
    /// assert!(wal.segments().last().unwrap().segment > cp.segment());
    /// let upto = ReplayOptions::all().range(ReplayRange::ToCheckpoint(cp));
    /// let data: Vec<_> = wal.replay(upto)?.map(|e| e.map(|e| e.data)).collect::<xwal::Result<Vec<_>>>()?;
    /// assert_eq!(data, [b"state".to_vec()]);
    /// # Ok(()) }
    /// ```
    pub fn create_checkpoint(&self) -> Result<CheckpointId> {
        self.request(|ack| Request::Checkpoint { ack })
            .map(|(n, _)| CheckpointId(n))
    }

    /// Checkpoint segment numbers present, oldest first.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::{Config, Wal};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
    /// let (wal, _) = Wal::open(config)?;
    /// assert!(wal.checkpoints().is_empty());
    /// wal.append(b"a")?;
    /// let first = wal.create_checkpoint()?;
    /// wal.append(b"b")?;
    /// let second = wal.create_checkpoint()?;
    /// assert!(first < second);
    /// assert_eq!(wal.checkpoints(), [first, second]);
    /// # Ok(()) }
    /// ```
    pub fn checkpoints(&self) -> Vec<CheckpointId> {
        self.segments()
            .iter()
            .filter(|m| m.checkpoint)
            .map(|m| CheckpointId(m.segment.0))
            .collect()
    }

    /// Segments present, oldest first; the last is the active one. On an
    /// `aws_s3` WAL: those replay covers, archived ones no longer on local disk
    /// included (as far as known without contacting S3).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::{Config, Wal};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
    /// let (wal, _) = Wal::open(config)?;
    /// wal.append(b"a")?;
    /// let cp = wal.create_checkpoint()?;
    /// wal.append(b"b")?;
    /// let segments = wal.segments();
    /// assert_eq!(segments.len(), 2);
    /// assert!(segments[0].segment == cp.segment() && segments[0].checkpoint);
    /// assert!(!segments[1].checkpoint); // the active one
    /// assert_eq!(segments[1].first_lsn, 2);
    /// # Ok(()) }
    /// ```
    pub fn segments(&self) -> Vec<SegmentInfo> {
        let local: Vec<SegmentMeta> = self.shared.table.lock().values().copied().collect();
        let visible = match &self.shared.tier {
            Some(t) => t.visible_now(local),
            None => local,
        };
        visible.into_iter().map(SegmentInfo::from).collect()
    }

    /// The lowest segment number replay covers (`segments().first()`), or
    /// `None` for an empty WAL.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::{Config, Wal};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let (wal, _) = Wal::open(Config::new(dir.path()).segment_size(1 << 20))?;
    /// wal.append(b"a")?;
    /// let sealed = wal.rotate()?.expect("the active segment held an entry");
    /// assert_eq!(wal.first_segment(), Some(sealed));
    /// assert_eq!(wal.last_segment(), Some(sealed.next()));
    /// assert_eq!(wal.active_segment(), Some(sealed.next()));
    /// # Ok(()) }
    /// ```
    pub fn first_segment(&self) -> Option<SegmentId> {
        self.segments().first().map(|s| s.segment)
    }

    /// The highest segment number present, or `None` for an empty WAL.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let (wal, _) = xwal::Wal::open(xwal::Config::new(dir.path()).segment_size(1 << 20))?;
    /// assert_eq!(wal.last_segment(), Some(xwal::SegmentId(0))); // a new WAL starts segment 0 at open
    /// # Ok(()) }
    /// ```
    pub fn last_segment(&self) -> Option<SegmentId> {
        self.shared
            .table
            .lock()
            .keys()
            .next_back()
            .copied()
            .map(SegmentId)
    }

    /// The segment appends go to (the last one). A [`crate::ReadOnlyWal`]
    /// has none.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::{Config, Wal};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let config = Config::new(dir.path()).segment_size(1 << 20);
    /// let (wal, _) = Wal::open(config.clone())?;
    /// assert_eq!(wal.active_segment(), Some(xwal::SegmentId(0)));
    /// wal.append(b"x")?;
    /// wal.rotate()?;
    /// assert_eq!(wal.active_segment(), Some(xwal::SegmentId(1)));
    /// # Ok(()) }
    /// ```
    pub fn active_segment(&self) -> Option<SegmentId> {
        debug_assert!(!self.shared.read_only, "a view has no active segment");
        self.last_segment()
    }

    /// Seals the active segment without making it a checkpoint (Go xwal's
    /// rotation), if it holds anything; appends continue in the next one.
    /// Returns the sealed segment, or `None` if the active segment was empty.
    /// Counts against `max_dir_bytes` like any new segment.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::{Config, Wal};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let (wal, _) = Wal::open(Config::new(dir.path()).segment_size(1 << 20))?;
    /// assert_eq!(wal.rotate()?, None); // nothing to seal yet
    /// wal.append(b"a")?;
    /// assert_eq!(wal.rotate()?, Some(xwal::SegmentId(0)));
    /// assert!(wal.checkpoints().is_empty());
    /// assert_eq!(wal.append(b"b")?, 2);
    /// # Ok(()) }
    /// ```
    pub fn rotate(&self) -> Result<Option<SegmentId>> {
        let (segment, sealed) = self.request(|ack| Request::Rotate {
            ack,
            over_limit: false,
        })?;
        Ok((sealed == 1).then_some(SegmentId(segment)))
    }

    /// The WAL directory.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::{Config, Wal};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
    /// let (wal, _) = Wal::open(config)?;
    /// assert_eq!(wal.dir(), dir.path());
    /// assert!(wal.dir().join(xwal::format::LOCK_FILE).exists());
    /// # Ok(()) }
    /// ```
    pub fn dir(&self) -> &std::path::Path {
        &self.shared.dir
    }

    /// Follows the log: every entry from `from_lsn` on (1 or 0: from the
    /// start), first from the segments, then each new entry once it is
    /// durable under the WAL's policy. It runs beside the writer without
    /// slowing it: the writer copies each commit's records for live tails (a
    /// bounded copy, only while one exists), and a tail that falls behind
    /// those copies reads the segments instead. It follows rollovers and
    /// checkpoints; see [`Tail`] for how it ends.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::{Config, Error, Lsn, Wal};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
    /// let (wal, _) = Wal::open(config)?;
    /// let wal = std::sync::Arc::new(wal);
    /// let mut tail = wal.tail(Lsn(0))?;
    /// let writer = {
    ///     let wal = wal.clone();
    ///     std::thread::spawn(move || {
    ///         for i in 0..100u32 {
    ///             wal.append(&i.to_le_bytes()).unwrap();
    ///         }
    ///         wal.close().unwrap();
    ///     })
    /// };
    /// let mut lsns = Vec::new();
    /// for entry in tail.by_ref() {
    ///     match entry {
    ///         Ok(e) => lsns.push(e.lsn),
    ///         Err(Error::Closed) => break, // everything durable was delivered
    ///         Err(e) => return Err(e),
    ///     }
    /// }
    /// writer.join().unwrap();
    /// assert_eq!(lsns, (1..=100).map(Lsn).collect::<Vec<_>>());
    /// # Ok(()) }
    /// ```
    pub fn tail(&self, from_lsn: Lsn) -> Result<Tail> {
        self.shared.check_open()?;
        Tail::new(self.shared.clone(), from_lsn.0)
    }

    /// Starts a replay; entries are read as they are pulled (by the batch or
    /// one by one), or fed into a bounded channel by a thread of its own once
    /// [`Replay::receiver`] is asked for. Appends may run meanwhile, also from
    /// the consumer. Replays what was written when it started.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::{Config, ReplayOptions, Wal};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
    /// let (wal, _) = Wal::open(config)?;
    /// wal.append_batch(["a", "b", "c"])?;
    ///
    /// let mut replay = wal.replay(ReplayOptions::all().backward())?;
    /// let lsns: Vec<_> = replay.by_ref().map(|e| e.map(|e| e.lsn)).collect::<xwal::Result<Vec<_>>>()?;
    /// assert_eq!(lsns, [3, 2, 1]);
    /// let summary = replay.finish()?;
    /// assert_eq!(summary.entries, 3);
    /// # Ok(()) }
    /// ```
    pub fn replay(&self, opts: ReplayOptions) -> Result<Replay> {
        self.shared.check_open()?;
        if opts.consume {
            self.shared.check_writable()?;
            self.request(|ack| Request::Rotate {
                ack,
                over_limit: true,
            })?;
        }
        replay::spawn(self.shared.clone(), opts)
    }

    /// Replays into the caller's channel from the calling thread, like Go xwal:
    /// someone must be receiving. With `consume`, segments are deleted once
    /// every entry has been handed to the channel.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::{Config, ReplayOptions, Wal};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
    /// let (wal, _) = Wal::open(config)?;
    /// wal.append_batch(["a", "b"])?;
    ///
    /// // An unbounded channel needs no receiver running meanwhile.
    /// let (tx, rx) = xwal::channel::unbounded();
    /// let summary = wal.replay_into(&tx, ReplayOptions::all())?;
    /// drop(tx);
    /// let data: Vec<_> = rx.iter().map(|e| e.data).collect();
    /// assert_eq!(data, [b"a".to_vec(), b"b".to_vec()]);
    /// assert_eq!((summary.entries, summary.bytes), (2, 2));
    /// # Ok(()) }
    /// ```
    pub fn replay_into(&self, tx: &Sender<Entry>, opts: ReplayOptions) -> Result<ReplaySummary> {
        self.shared.check_open()?;
        if opts.consume {
            self.shared.check_writable()?;
            self.request(|ack| Request::Rotate {
                ack,
                over_limit: true,
            })?;
        }
        let (mut summary, consumable) = replay::run(&self.shared, opts, tx)?;
        summary.consumed = wrap_all(self.shared.consume_segments(&consumable)?);
        Ok(summary)
    }

    /// Deletes every sealed segment whose entries all have an LSN of `lsn` or
    /// lower (for example once a replica or a snapshot holds them): the
    /// caller names a position in the log, not a file. Entries above `lsn`
    /// that share a segment with older ones stay, as do the active segment's.
    /// Returns the segments deleted.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::{Config, Lsn, ReplayOptions, Wal};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
    /// let (wal, _) = Wal::open(config)?;
    /// wal.append(b"one")?;
    /// wal.append(b"two")?;
    /// wal.rotate()?;
    /// wal.append(b"three")?;
    /// assert!(wal.purge_through_lsn(Lsn(1))?.is_empty()); // LSN 2 shares the segment
    /// assert_eq!(wal.purge_through_lsn(Lsn(2))?.len(), 1);
    /// let lsns: Vec<_> = wal.replay(ReplayOptions::all())?.map(|e| e.map(|e| e.lsn)).collect::<xwal::Result<Vec<_>>>()?;
    /// assert_eq!(lsns, [3]);
    /// # Ok(()) }
    /// ```
    pub fn purge_through_lsn(&self, lsn: Lsn) -> Result<Vec<SegmentId>> {
        let through = {
            let table = self.shared.table.lock();
            let metas: Vec<SegmentMeta> = table.values().copied().collect();
            // A segment's entries end below the next one's first LSN; the
            // last (active) segment has no next and is never purged.
            metas
                .windows(2)
                .take_while(|w| w[1].first_lsn.saturating_sub(1) <= lsn.0)
                .last()
                .map(|w| SegmentId(w[0].segment))
        };
        match through {
            Some(segment) => self.purge_through(segment),
            None => Ok(Vec::new()),
        }
    }

    /// Deletes sealed segments numbered `segment` or lower (for example after a
    /// checkpoint has been applied elsewhere: a [`CheckpointId`] names its
    /// segment). Never the active segment. Returns
    /// what was deleted.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::{Config, ReplayOptions, Wal};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
    /// let (wal, _) = Wal::open(config)?;
    /// wal.append(b"applied elsewhere")?;
    /// let cp = wal.create_checkpoint()?;
    /// wal.append(b"still needed")?;
    ///
    /// assert_eq!(wal.purge_through(cp)?, [cp.segment()]);
    /// let data: Vec<_> = wal.replay(ReplayOptions::all())?.map(|e| e.map(|e| e.data)).collect::<xwal::Result<Vec<_>>>()?;
    /// assert_eq!(data, [b"still needed".to_vec()]);
    /// # Ok(()) }
    /// ```
    pub fn purge_through(&self, segment: impl Into<SegmentId>) -> Result<Vec<SegmentId>> {
        self.purge_through_raw(segment.into().0).map(wrap_all)
    }

    fn purge_through_raw(&self, segment: u64) -> Result<Vec<u64>> {
        self.shared.check_writable()?;
        // A tier releases instead (S3: hidden now, deleted locally once archived).
        if let Some(r) = self
            .shared
            .tier
            .as_ref()
            .and_then(|t| t.release(&self.shared, Some(segment)))
        {
            return r;
        }
        let list: Vec<u64> = self
            .shared
            .table
            .lock()
            .keys()
            .copied()
            .filter(|s| *s <= segment)
            .collect();
        self.shared.consume_segments(&list)
    }

    /// Drains and makes durable every accepted entry, stops the writer, closes
    /// the files and releases the lock. Later calls get [`Error::Closed`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::{Config, Error, Wal};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
    /// let (wal, _) = Wal::open(config.clone())?;
    /// wal.append(b"kept")?;
    /// wal.close()?;
    /// assert!(matches!(wal.append(b"late"), Err(Error::Closed)));
    /// // The lock is released: the directory opens again.
    /// let (wal, _) = Wal::open(config)?;
    /// assert_eq!(wal.last_index(), 1);
    /// # Ok(()) }
    /// ```
    pub fn close(&self) -> Result<()> {
        if let Some(stop) = &self.shared.view_closed {
            // A view has no writer: later calls see `closed`, and its
            // followers' waits end now.
            self.shared.closed.store(true, Ordering::SeqCst);
            stop.set();
            return Ok(());
        }
        let Some(handle) = self.writer.lock().take() else {
            return Ok(());
        };
        let (ack, slot) = Ack::new();
        // A writer that already ended (a panic included) answers nothing more;
        // its exit drained the queue, so this send cannot block for good, and
        // a request that slips in after that drain is drained here.
        let result = if self.shared.closed.load(Ordering::SeqCst) {
            drop(ack);
            self.shared.fence_error().map_or(Ok(()), Err)
        } else {
            match self.tx.send(Request::Close { ack }) {
                Ok(()) => {
                    self.shared.appends.kick();
                    self.drain_if_closed();
                    match ticket::wait(&slot) {
                        Err(Error::Closed) => Ok(()),
                        r => r.map(|_| ()),
                    }
                }
                Err(_) => Ok(()),
            }
        };
        self.shared.closed.store(true, Ordering::Release);
        let _ = handle.join();
        // The tier's thread (S3: the archiver) stops before the lock is released.
        if let Some(t) = &self.shared.tier {
            t.stop();
        }
        self.lock.lock().take();
        result
    }
}

/// Runs however the writer thread ends: marks the WAL closed and answers
/// whatever is still queued, so no producer waits on a writer that is gone,
/// and one blocked on a full queue gets room (and then sees `closed`).
struct WriterExit {
    shared: Arc<Shared>,
    queue: crossbeam_channel::Receiver<Request>,
}

impl Drop for WriterExit {
    fn drop(&mut self) {
        // Staged records the writer will never write: refused, and their
        // waiters answered, as is every claim from now on.
        let end = self.shared.fence_error().unwrap_or(Error::Closed);
        drop(self.shared.appends.close(end.clone(), 0));
        self.shared.commits.end(end.clone());
        self.shared.feed.end(end);
        fence::close_and_drain(
            &self.shared.closed,
            &self.shared.fence,
            self.queue.try_iter(),
        );
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}

impl Drop for Wal {
    fn drop(&mut self) {
        if let Err(e) = self.close() {
            tracing::warn!(error = %e, "close on drop failed");
        }
    }
}

impl std::fmt::Debug for Wal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wal")
            .field("dir", &self.shared.dir)
            .field("last_index", &self.last_index())
            .field("engine", &self.io_engine_name())
            .finish()
    }
}
