//! The public handle.

use crate::config::{BackendType, Config};
use crate::dir::{self, DirLock};
use crate::error::{Error, Result};
use crate::fence;
use crate::format::{encoded_record_len, entry_body_len, BLOCK_SIZE};
use crate::recovery::{self, RecoveryReport};
use crate::replay::{self, Entry, Replay, ReplayOptions, ReplaySummary};
use crate::shared::{SegmentMeta, Shared};
use crate::ticket::{self, Ack, CommitTicket};
use crate::writer::{Payload, Request, Writer, WriterStart};
use crate::Lsn;
use crossbeam_channel::Sender;
use parking_lot::Mutex;
use std::ops::RangeInclusive;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;

/// Public view of a segment.
pub type SegmentInfo = SegmentMeta;

/// A write-ahead log. `Send + Sync`: share it with `Arc` and append from any thread.
///
/// ```
/// # fn main() -> xwal::Result<()> {
/// let dir = tempfile::tempdir_in(".").unwrap();
/// let (wal, _report) = xwal::Wal::open(xwal::Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10))?;
/// let lsn = wal.append(b"hello")?;           // durable when it returns
/// let cp = wal.create_checkpoint()?;
/// let replay = wal.replay(xwal::ReplayOptions::all())?;
/// let entries: Vec<_> = replay.collect();
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
    engine: &'static str,
    /// Released by `close`, after the writer has stopped and closed the files.
    lock: Mutex<Option<DirLock>>,
}

/// How often [`Wal::open_read_only`] retakes its view when a writer beside it
/// renames segments under the listing.
const READ_ONLY_OPEN_ATTEMPTS: u32 = 8;

impl Wal {
    /// Opens (creating if needed) and recovers the WAL in `config.dir`.
    ///
    /// Takes an exclusive lock on the directory ([`Error::Locked`] if held),
    /// scans only the tail segment, cuts a torn or zero tail, and continues the
    /// LSN sequence. Corruption below the durable point is an error, never cut.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::{Config, Error, Wal};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
    /// let (wal, report) = Wal::open(config.clone())?;
    /// assert_eq!(report.last_lsn, 0); // a new WAL
    /// wal.append(b"first")?;
    /// // A second opener, even in this process, finds the directory locked.
    /// assert!(matches!(Wal::open(config.clone()), Err(Error::Locked { .. })));
    /// wal.close()?;
    ///
    /// // Reopening recovers and continues the LSN sequence.
    /// let (wal, report) = Wal::open(config)?;
    /// assert_eq!(report.last_lsn, 1);
    /// assert_eq!(wal.append(b"second")?, 2);
    /// # Ok(()) }
    /// ```
    pub fn open(config: Config) -> Result<(Wal, RecoveryReport)> {
        config.validate()?;
        let _span = tracing::info_span!("open", dir = %config.dir.display()).entered();
        dir::create_dir(&config.dir)?;
        let lock = DirLock::acquire(&config.dir)?;
        let engine = crate::io::write_engine(&config)?;
        let engine_name = engine.name();
        let uring = engine_name == "io_uring";
        let mut reader = crate::io::read_engine(uring, 4 << 20, 2)?;
        let rec = recovery::recover(&config, reader.as_mut(), false)?;
        drop(reader);
        let queue_depth = config.queue_depth;
        #[allow(unused_mut)]
        let mut shared = Shared::new(config.dir.clone(), config, rec.table, rec.last_lsn, uring);
        // S3 archive tier (feature `s3`): replay's view of archived segments.
        #[cfg(feature = "s3")]
        crate::archive::attach(&mut shared)?;
        // Sealed segments shrunk to their data count as such against max_dir_bytes.
        for &(segment, len) in &rec.short_lens {
            shared.set_sealed_len(segment, len);
        }
        let shared = Arc::new(shared);
        let (tx, rx) = crossbeam_channel::bounded(queue_depth);
        #[allow(unused_mut)]
        let mut start = WriterStart {
            resume: rec.resume,
            next_segment: rec.next_segment,
            next_prepared: rec.next_prepared,
            last_lsn: rec.last_lsn,
        };
        // S3 archive tier: what was handed to the archive is sealed for good.
        #[cfg(feature = "s3")]
        apply_sealed_floor(&mut start, crate::archive::sealed_floor(&shared), &shared)?;
        let orphans = Some(rx.clone());
        let writer_queue = rx.clone();
        let writer_shared = shared.clone();
        let writer = Writer::new(shared.clone(), rx, engine, start)?;
        let handle = std::thread::Builder::new()
            .name("xwal-writer".into())
            .spawn(move || {
                // However the writer ends (even by a panic), later requests must
                // see `closed`: the queue has a second receiver (`orphans`), so
                // sending into it no longer fails by itself.
                let _closed_on_exit = WriterExit {
                    shared: writer_shared.clone(),
                    queue: writer_queue,
                };
                let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| writer.run()));
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
        // S3 archive tier: the archiver thread (off the commit path).
        #[cfg(feature = "s3")]
        crate::archive::start(&shared)?;
        tracing::info!(last_lsn = rec.last_lsn, engine = engine_name, "opened");
        Ok((
            Wal {
                shared,
                tx,
                orphans,
                writer: Mutex::new(Some(handle)),
                engine: engine_name,
                lock: Mutex::new(Some(lock)),
            },
            rec.report,
        ))
    }

    /// Opens the WAL for reading only: no lock is taken and nothing on disk is
    /// changed, so it is safe on a directory another process has open for
    /// writing. Recovery runs as usual but its repairs are only reported;
    /// replay covers what was valid when it opened. Appends and checkpoints
    /// fail with [`Error::ReadOnly`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::{Config, Error, ReplayOptions, Wal};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
    /// let (writer, _) = Wal::open(config.clone())?;
    /// writer.append(b"entry")?;
    /// writer.close()?;
    ///
    /// let (reader, _) = Wal::open_read_only(config.clone())?;
    /// let entries: Vec<_> = reader.replay(ReplayOptions::all())?.collect();
    /// assert_eq!(entries[0].data, b"entry");
    /// assert!(matches!(reader.append(b"refused"), Err(Error::ReadOnly)));
    /// // It takes no lock: a writer can open the directory meanwhile.
    /// let (writer, _) = Wal::open(config)?;
    /// assert_eq!(writer.append(b"more")?, 2);
    /// # Ok(()) }
    /// ```
    pub fn open_read_only(config: Config) -> Result<(Wal, RecoveryReport)> {
        config.validate()?;
        if !config.dir.is_dir() {
            return Err(Error::Io {
                context: format!("opening WAL directory {}", config.dir.display()),
                source: std::io::Error::from(std::io::ErrorKind::NotFound).into(),
            });
        }
        let uring = match config.io_engine {
            crate::config::IoEngine::Sync => false,
            crate::config::IoEngine::Uring => true,
            crate::config::IoEngine::Auto => {
                crate::io::uring::UringReadEngine::new(4096, 1).is_ok()
            }
        };
        let mut reader = crate::io::read_engine(uring, 4 << 20, 2)?;
        // A writer beside this view may rename a segment (prepared -> final,
        // active -> checkpoint) between listing the directory and opening the
        // file, and readdir during a rename may return both names or neither.
        // Either shows as a vanished file or a listing-level inconsistency
        // (offset 0: a segment missing from the sequence, or listed twice);
        // the view is then simply taken again. Real damage persists and is
        // reported after the last attempt.
        let mut attempt = 0;
        let rec = loop {
            match recovery::recover(&config, reader.as_mut(), true) {
                Err(Error::Io { source, context })
                    if source.kind() == std::io::ErrorKind::NotFound
                        && attempt < READ_ONLY_OPEN_ATTEMPTS =>
                {
                    attempt += 1;
                    tracing::debug!(%context, attempt, "a segment was renamed under a read-only open; retrying");
                }
                Err(Error::Corruption {
                    segment,
                    offset: 0,
                    reason,
                }) if attempt < READ_ONLY_OPEN_ATTEMPTS => {
                    attempt += 1;
                    tracing::debug!(segment, %reason, attempt, "directory listing changed under a read-only open; retrying");
                }
                r => break r?,
            }
        };
        let mut shared = Shared::new(config.dir.clone(), config, rec.table, rec.last_lsn, uring);
        shared.read_only = true;
        // S3 archive tier: replay covers archived segments (no archiver, nothing deleted).
        #[cfg(feature = "s3")]
        crate::archive::attach(&mut shared)?;
        // No writer: a sender whose receiver is gone answers every request Closed.
        let (tx, _) = crossbeam_channel::bounded(1);
        Ok((
            Wal {
                shared: Arc::new(shared),
                tx,
                orphans: None,
                writer: Mutex::new(None),
                engine: if uring { "io_uring" } else { "sync" },
                lock: Mutex::new(None),
            },
            rec.report,
        ))
    }

    /// True if opened with [`Wal::open_read_only`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::{Config, Wal};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
    /// let (writer, _) = Wal::open(config.clone())?;
    /// assert!(!writer.is_read_only());
    /// writer.close()?;
    /// let (reader, _) = Wal::open_read_only(config)?;
    /// assert!(reader.is_read_only());
    /// # Ok(()) }
    /// ```
    pub fn is_read_only(&self) -> bool {
        self.shared.read_only
    }

    fn send(&self, req: Request) -> Result<()> {
        self.shared.check_writable()?;
        // S3 archive tier, BacklogFull::SlowAppends: delay appends while the backlog is full.
        #[cfg(feature = "s3")]
        if let (Some(a), Request::Append { .. }) = (&self.shared.archive, &req) {
            a.throttle_appends();
        }
        // A full queue blocks here: that is the backpressure. If the writer is
        // gone, the request (and its ack) is dropped, which answers Closed.
        self.tx.send(req).map_err(|_| Error::Closed)?;
        self.drain_if_closed();
        Ok(())
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
    pub fn submit(&self, data: impl Into<Vec<u8>>) -> Result<CommitTicket> {
        let data = data.into();
        self.check_entry(data.len())?;
        let (ack, slot) = Ack::new();
        self.send(Request::Append {
            payload: Payload::One(data),
            ack,
        })?;
        Ok(CommitTicket::new(slot))
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
        self.submit(data.to_vec())?.wait()
    }

    /// Appends entries as one atomic group: after a crash either all of them are
    /// present or none. Returns their LSNs.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::{Config, Error, Wal};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
    /// let (wal, _) = Wal::open(config)?;
    /// assert_eq!(wal.append_batch(["debit a", "credit b"])?, 1..=2);
    /// assert_eq!(wal.append_batch(vec![b"c".to_vec()])?, 3..=3);
    /// let empty = wal.append_batch(Vec::<Vec<u8>>::new());
    /// assert!(matches!(empty, Err(Error::InvalidBatch { count: 0, .. })));
    /// # Ok(()) }
    /// ```
    pub fn append_batch<I, D>(&self, entries: I) -> Result<RangeInclusive<Lsn>>
    where
        I: IntoIterator<Item = D>,
        D: Into<Vec<u8>>,
    {
        let items: Vec<Vec<u8>> = entries.into_iter().map(Into::into).collect();
        if items.is_empty() {
            return Err(Error::InvalidBatch {
                count: 0,
                reason: "a batch needs at least one entry",
            });
        }
        let mut total = 0u64;
        for d in &items {
            self.check_entry(d.len())?;
            total += encoded_record_len(entry_body_len(u64::MAX, d.len())) as u64;
        }
        let limit = self.shared.config.segment_size - BLOCK_SIZE as u64;
        if total > limit {
            return Err(Error::EntryTooLarge { size: total, limit });
        }
        let (first, last) = self.request(|ack| Request::Append {
            payload: Payload::Group(items),
            ack,
        })?;
        Ok(first..=last)
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
        self.request(|ack| Request::Flush { ack }).map(|(l, _)| l)
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
        self.shared.last_lsn.load(Ordering::Acquire)
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
        self.shared.durable_lsn.load(Ordering::Acquire)
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
    /// let lsns: Vec<_> = wal.replay(ReplayOptions::all())?.map(|e| e.lsn).collect();
    /// assert_eq!(lsns, [1, 3]);
    /// # Ok(()) }
    /// ```
    pub fn inc_last_index(&self) -> Result<Lsn> {
        self.request(|ack| Request::Skip { ack }).map(|(l, _)| l)
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
        self.engine
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
    /// assert!(wal.segments().last().unwrap().segment > cp);
    /// let upto = ReplayOptions::all().range(ReplayRange::ToCheckpoint(cp));
    /// let data: Vec<_> = wal.replay(upto)?.map(|e| e.data).collect();
    /// assert_eq!(data, [b"state".to_vec()]);
    /// # Ok(()) }
    /// ```
    pub fn create_checkpoint(&self) -> Result<u64> {
        self.request(|ack| Request::Checkpoint { ack })
            .map(|(n, _)| n)
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
    pub fn checkpoints(&self) -> Vec<u64> {
        self.segments()
            .iter()
            .filter(|m| m.checkpoint)
            .map(|m| m.segment)
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
    /// assert!(segments[0].segment == cp && segments[0].checkpoint);
    /// assert!(!segments[1].checkpoint); // the active one
    /// assert_eq!(segments[1].first_lsn, 2);
    /// # Ok(()) }
    /// ```
    pub fn segments(&self) -> Vec<SegmentInfo> {
        let local: Vec<SegmentInfo> = self.shared.table.lock().values().copied().collect();
        #[cfg(feature = "s3")]
        let local = crate::archive::visible_now(&self.shared, local);
        local
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
    /// assert_eq!(wal.last_segment(), Some(sealed + 1));
    /// assert_eq!(wal.active_segment(), Some(sealed + 1));
    /// # Ok(()) }
    /// ```
    pub fn first_segment(&self) -> Option<u64> {
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
    /// assert_eq!(wal.last_segment(), Some(0)); // a new WAL starts segment 0 at open
    /// # Ok(()) }
    /// ```
    pub fn last_segment(&self) -> Option<u64> {
        self.shared.table.lock().keys().next_back().copied()
    }

    /// The segment appends go to (the last one), or `None` for a read-only view.
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
    /// assert_eq!(wal.active_segment(), Some(0));
    /// let (view, _) = Wal::open_read_only(config)?;
    /// assert_eq!(view.active_segment(), None);
    /// # Ok(()) }
    /// ```
    pub fn active_segment(&self) -> Option<u64> {
        if self.shared.read_only {
            return None;
        }
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
    /// assert_eq!(wal.rotate()?, Some(0));
    /// assert!(wal.checkpoints().is_empty());
    /// assert_eq!(wal.append(b"b")?, 2);
    /// # Ok(()) }
    /// ```
    pub fn rotate(&self) -> Result<Option<u64>> {
        let (segment, sealed) = self.request(|ack| Request::Rotate {
            ack,
            over_limit: false,
        })?;
        Ok((sealed == 1).then_some(segment))
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
    /// assert!(wal.dir().join(xwal::dir::LOCK_FILE).exists());
    /// # Ok(()) }
    /// ```
    pub fn dir(&self) -> &std::path::Path {
        &self.shared.dir
    }

    /// Starts a replay on its own thread; entries arrive on a bounded channel.
    /// Appends may run meanwhile, also from the consumer. Replays what was
    /// written when it started.
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
    /// let lsns: Vec<_> = replay.by_ref().map(|e| e.lsn).collect();
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
    /// let (tx, rx) = crossbeam_channel::unbounded();
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
        summary.consumed = replay::consume_segments(&self.shared, &consumable)?;
        Ok(summary)
    }

    /// Deletes sealed segments numbered `segment` or lower (for example after a
    /// checkpoint has been applied elsewhere). Never the active segment. Returns
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
    /// assert_eq!(wal.purge_through(cp)?, [cp]);
    /// let data: Vec<_> = wal.replay(ReplayOptions::all())?.map(|e| e.data).collect();
    /// assert_eq!(data, [b"still needed".to_vec()]);
    /// # Ok(()) }
    /// ```
    pub fn purge_through(&self, segment: u64) -> Result<Vec<u64>> {
        self.shared.check_writable()?;
        // S3 archive tier: release (hidden now, deleted locally once archived).
        #[cfg(feature = "s3")]
        if let Some(r) = crate::archive::release(&self.shared, Some(segment)) {
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
        replay::consume_segments(&self.shared, &list)
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
        // S3 archive tier: stop the archiver before the lock is released.
        #[cfg(feature = "s3")]
        crate::archive::stop(&self.shared);
        self.lock.lock().take();
        result
    }
}

/// The S3 archive tier (feature `s3`).
#[cfg(feature = "s3")]
impl Wal {
    /// Opens the archive described by `s3` as a read-only WAL, on any machine:
    /// no local directory, no lock. Replay (every mode) fetches the segments and
    /// verifies each against the manifest. Covers what the manifest listed when
    /// it opened (its newest run of consecutive segments). Appends and
    /// checkpoints fail with [`Error::ReadOnly`]. A wrong credential, a missing
    /// bucket or an empty prefix fails here with [`Error::Archive`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::archive::S3Config;
    /// use xwal::{Error, ReplayOptions, Wal};
    ///
    /// // Needs a reachable S3 bucket that an xwal archiver has written to.
    /// let s3 = S3Config::new("my-bucket").prefix("prod/orders-wal").region("eu-west-1");
    /// let wal = Wal::open_archive(s3)?;
    /// assert!(wal.is_read_only());
    /// let mut replay = wal.replay(ReplayOptions::all())?;
    /// let entries = replay.by_ref().count();
    /// let summary = replay.finish()?;
    /// assert_eq!(summary.entries, entries as u64);
    /// assert!(matches!(wal.append(b"refused"), Err(Error::ReadOnly)));
    /// # Ok(()) }
    /// ```
    pub fn open_archive(s3: crate::archive::S3Config) -> Result<Wal> {
        let scratch = s3.fetch_dir.clone().unwrap_or_else(std::env::temp_dir);
        let archive = crate::archive::Archive::open_remote(s3.clone())?;
        let segments = archive.visible(Vec::new(), true)?;
        let last_lsn = archive.last_lsn(&segments);
        let config = Config::new(scratch)
            .io_engine(crate::config::IoEngine::Auto)
            .s3(s3);
        config.validate()?;
        let uring = crate::io::uring::UringReadEngine::new(4096, 1).is_ok();
        let mut shared = Shared::new(
            config.dir.clone(),
            config,
            Default::default(),
            last_lsn,
            uring,
        );
        shared.read_only = true;
        shared.archive = Some(Arc::new(archive));
        let (tx, _) = crossbeam_channel::bounded(1);
        tracing::info!(last_lsn, "opened archive");
        Ok(Wal {
            shared: Arc::new(shared),
            tx,
            orphans: None,
            writer: Mutex::new(None),
            engine: if uring { "io_uring" } else { "sync" },
            lock: Mutex::new(None),
        })
    }

    /// What the archiver has uploaded and has left to do; `None` without an S3 config.
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
    /// // Without `Config::s3` there is no archive tier to report on.
    /// assert!(wal.archive_status().is_none());
    /// # Ok(()) }
    /// ```
    pub fn archive_status(&self) -> Option<crate::archive::ArchiveStatus> {
        self.shared
            .archive
            .as_ref()
            .map(|a| a.status_of(&self.shared))
    }

    /// Like [`Wal::archive_status`], but reads the manifest from S3 first, so
    /// the answer is current even on a WAL opened with [`Wal::open_read_only`]
    /// (where no archiver runs and the backlog is counted here). `None` without
    /// an S3 config; an [`Error::Archive`] if S3 cannot be read.
    ///
    /// ```no_run
    /// use xwal::archive::S3Config;
    /// let cfg = xwal::Config::new("/var/lib/app/wal")
    ///     .s3(S3Config::new("orders-wal").prefix("prod/orders"));
    /// let (wal, _report) = xwal::Wal::open_read_only(cfg)?;
    /// let status = wal.load_archive_status().expect("S3 is configured")?;
    /// println!("{} segments archived, {} waiting", status.uploaded_segments, status.pending);
    /// # Ok::<(), xwal::Error>(())
    /// ```
    pub fn load_archive_status(&self) -> Option<Result<crate::archive::ArchiveStatus>> {
        crate::archive::status_now(&self.shared)
    }

    /// Waits until every segment sealed at the time of the call is uploaded and
    /// listed in the manifest (seal the active one first with
    /// [`Wal::create_checkpoint`] to include it). Fails with [`Error::Archive`]
    /// naming the last failure if that takes longer than `timeout`.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use std::time::Duration;
    /// use xwal::{Config, Error, Wal};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
    /// let (wal, _) = Wal::open(config)?;
    /// // Without `Config::s3` there is nothing to wait for.
    /// let waited = wal.wait_archived(Duration::from_secs(1));
    /// assert!(matches!(waited, Err(Error::Config(m)) if m.contains("Config::s3")));
    /// # Ok(()) }
    /// ```
    pub fn wait_archived(
        &self,
        timeout: std::time::Duration,
    ) -> Result<crate::archive::ArchiveStatus> {
        match &self.shared.archive {
            Some(a) => a.wait_archived(&self.shared, timeout),
            None => Err(Error::Config(
                "wait_archived needs the S3 archive tier: set Config::s3".into(),
            )),
        }
    }
}

/// Raises the writer's start to `(segment, last LSN)`, the newest segment known
/// sealed and handed to the archive: that segment (or an older one) is never
/// appended to again, and no LSN or segment number at or below it is handed
/// out again, even if a power cut took the unsynced tail that followed it.
#[cfg(feature = "s3")]
fn apply_sealed_floor(
    start: &mut WriterStart,
    floor: Option<(u64, u64)>,
    shared: &Shared,
) -> Result<()> {
    let Some((segment, last_lsn)) = floor else {
        return Ok(());
    };
    let local_first = shared.table.lock().values().next().copied();
    if let Some(first) = local_first.filter(|m| m.segment > segment + 1) {
        return Err(Error::Corruption {
            segment: first.segment,
            offset: 0,
            reason: format!(
                "archive.state records segment {segment} as the newest handed to the archive, but the local segments start at {}: segment {} is missing",
                first.segment,
                segment + 1
            ),
        });
    }
    if local_first.is_none() {
        // Nothing valid is left locally (the files after the floor held no
        // header): the log continues right after the archive, without a gap.
        start.next_segment = segment + 1;
        start.next_prepared = false;
    }
    if start
        .resume
        .as_ref()
        .is_some_and(|r| r.meta.segment <= segment)
    {
        tracing::warn!(
            segment,
            "the tail segment was already handed to the archive: starting a new one"
        );
        start.resume = None;
    }
    if start.next_segment <= segment {
        start.next_segment = segment + 1;
        start.next_prepared = false;
    }
    if start.last_lsn < last_lsn {
        tracing::warn!(
            local = start.last_lsn,
            archived = last_lsn,
            "the local log ends before what was archived: continuing after the archive"
        );
        start.last_lsn = last_lsn;
        for w in [&shared.readable_lsn, &shared.durable_lsn, &shared.last_lsn] {
            w.fetch_max(last_lsn, Ordering::SeqCst);
        }
    }
    Ok(())
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
            .field("engine", &self.engine)
            .finish()
    }
}
