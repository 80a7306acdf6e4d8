//! The public handle.

use crate::config::{BackendType, Config};
use crate::dir::{self, DirLock};
use crate::error::{Error, Result};
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
    writer: Mutex<Option<JoinHandle<()>>>,
    engine: &'static str,
    /// Released by `close`, after the writer has stopped and closed the files.
    lock: Mutex<Option<DirLock>>,
}

impl Wal {
    /// Opens (creating if needed) and recovers the WAL in `config.dir`.
    ///
    /// Takes an exclusive lock on the directory ([`Error::Locked`] if held),
    /// scans only the tail segment, cuts a torn or zero tail, and continues the
    /// LSN sequence. Corruption below the durable point is an error, never cut.
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
        let shared = Arc::new(shared);
        let (tx, rx) = crossbeam_channel::bounded(queue_depth);
        let start = WriterStart {
            resume: rec.resume,
            next_segment: rec.next_segment,
            next_prepared: rec.next_prepared,
            last_lsn: rec.last_lsn,
        };
        let writer = Writer::new(shared.clone(), rx, engine, start)?;
        let handle = std::thread::Builder::new()
            .name("xwal-writer".into())
            .spawn(move || writer.run())
            .map_err(|e| Error::io("spawning the writer thread", e))?;
        // S3 archive tier: the archiver thread (off the commit path).
        #[cfg(feature = "s3")]
        crate::archive::start(&shared)?;
        tracing::info!(last_lsn = rec.last_lsn, engine = engine_name, "opened");
        Ok((
            Wal {
                shared,
                tx,
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
    pub fn open_read_only(config: Config) -> Result<(Wal, RecoveryReport)> {
        config.validate()?;
        if !config.dir.is_dir() {
            return Err(Error::Io {
                context: format!("opening WAL directory {}", config.dir.display()),
                source: std::io::Error::from(std::io::ErrorKind::NotFound),
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
        let rec = recovery::recover(&config, reader.as_mut(), true)?;
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
                writer: Mutex::new(None),
                engine: if uring { "io_uring" } else { "sync" },
                lock: Mutex::new(None),
            },
            rec.report,
        ))
    }

    /// True if opened with [`Wal::open_read_only`].
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
        self.tx.send(req).map_err(|_| Error::Closed)
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
    pub fn append(&self, data: &[u8]) -> Result<Lsn> {
        self.submit(data.to_vec())?.wait()
    }

    /// Appends entries as one atomic group: after a crash either all of them are
    /// present or none. Returns their LSNs.
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
    pub fn flush(&self) -> Result<Lsn> {
        self.request(|ack| Request::Flush { ack }).map(|(l, _)| l)
    }

    /// LSN of the last entry written (0 for a new WAL). Survives restarts.
    pub fn last_index(&self) -> Lsn {
        self.shared.last_lsn.load(Ordering::Acquire)
    }

    /// Highest LSN known durable.
    pub fn durable_index(&self) -> Lsn {
        self.shared.durable_lsn.load(Ordering::Acquire)
    }

    /// Consumes one LSN without an entry (Go's `IncLastIndex`), durably, and returns it.
    pub fn inc_last_index(&self) -> Result<Lsn> {
        self.request(|ack| Request::Skip { ack }).map(|(l, _)| l)
    }

    /// `local_filesystem` or `aws_s3`.
    pub fn backend_type(&self) -> BackendType {
        self.shared.config.backend
    }

    /// Which I/O engine is in use: `io_uring` or `sync`.
    pub fn io_engine_name(&self) -> &'static str {
        self.engine
    }

    /// Makes everything written durable, seals and marks the current segment as a
    /// checkpoint (rename + directory fsync), starts a new segment, and returns
    /// the checkpoint's segment number.
    pub fn create_checkpoint(&self) -> Result<u64> {
        self.request(|ack| Request::Checkpoint { ack })
            .map(|(n, _)| n)
    }

    /// Checkpoint segment numbers present, oldest first.
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
    pub fn segments(&self) -> Vec<SegmentInfo> {
        let local: Vec<SegmentInfo> = self.shared.table.lock().values().copied().collect();
        #[cfg(feature = "s3")]
        let local = crate::archive::visible_now(&self.shared, local);
        local
    }

    /// The WAL directory.
    pub fn dir(&self) -> &std::path::Path {
        &self.shared.dir
    }

    /// Starts a replay on its own thread; entries arrive on a bounded channel.
    /// Appends may run meanwhile, also from the consumer. Replays what was
    /// written when it started.
    pub fn replay(&self, opts: ReplayOptions) -> Result<Replay> {
        self.shared.check_open()?;
        if opts.consume {
            self.shared.check_writable()?;
            self.request(|ack| Request::Rotate { ack })?;
        }
        replay::spawn(self.shared.clone(), opts)
    }

    /// Replays into the caller's channel from the calling thread, like Go xwal:
    /// someone must be receiving. With `consume`, segments are deleted once
    /// every entry has been handed to the channel.
    pub fn replay_into(&self, tx: &Sender<Entry>, opts: ReplayOptions) -> Result<ReplaySummary> {
        self.shared.check_open()?;
        if opts.consume {
            self.shared.check_writable()?;
            self.request(|ack| Request::Rotate { ack })?;
        }
        let (mut summary, consumable) = replay::run(&self.shared, opts, tx)?;
        summary.consumed = replay::consume_segments(&self.shared, &consumable)?;
        Ok(summary)
    }

    /// Deletes sealed segments numbered `segment` or lower (for example after a
    /// checkpoint has been applied elsewhere). Never the active segment. Returns
    /// what was deleted.
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
    pub fn close(&self) -> Result<()> {
        let Some(handle) = self.writer.lock().take() else {
            return Ok(());
        };
        let (ack, slot) = Ack::new();
        let result = match self.tx.send(Request::Close { ack }) {
            Ok(()) => ticket::wait(&slot).map(|_| ()),
            Err(_) => Ok(()),
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
            writer: Mutex::new(None),
            engine: if uring { "io_uring" } else { "sync" },
            lock: Mutex::new(None),
        })
    }

    /// What the archiver has uploaded and has left to do; `None` without an S3 config.
    pub fn archive_status(&self) -> Option<crate::archive::ArchiveStatus> {
        self.shared.archive.as_ref().map(|a| a.status())
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
