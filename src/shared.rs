//! State shared between the API handle, the writer thread and replays.

use crate::append_buffer::{AppendBuffer, BatchLimits};
use crate::config::Config;
use crate::dir;
use crate::error::{Error, Result};
use crate::fence::Fence;
use crate::io::Seams;
use crate::sync::Mutex;
use crate::ticket::Watermark;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// What the engine knows about one segment (the API shows
/// [`crate::SegmentInfo`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentMeta {
    /// Segment number.
    pub segment: u64,
    /// First LSN stored in it.
    pub first_lsn: u64,
    /// Salt bound into its records.
    pub salt: u32,
    /// Entry size limit it was written with.
    pub max_entry_size: u32,
    /// File capacity.
    pub capacity: u64,
    /// Marked as a checkpoint.
    pub checkpoint: bool,
    /// Its header says the LSNs before its first one, after the previous
    /// segment's records, hold no entries (reserved by a repair).
    pub lsn_gap_before: bool,
}

impl SegmentMeta {
    /// The entry of segment file `segment` (`checkpoint`: its name) whose valid header is `h`.
    pub(crate) fn of_header(
        segment: u64,
        checkpoint: bool,
        h: &crate::format::SegmentHeader,
    ) -> Self {
        SegmentMeta {
            segment,
            first_lsn: h.first_lsn,
            salt: h.salt,
            max_entry_size: h.max_entry_size,
            capacity: h.capacity,
            checkpoint,
            lsn_gap_before: h.lsn_gap_before,
        }
    }

    pub(crate) fn path(&self, dir: &std::path::Path) -> PathBuf {
        crate::dir::segment_path(dir, self.segment, self.checkpoint)
    }
}

/// Batches of one LSN in a row after which producers commit as leaders
/// (`Shared::single_batches`): a lone producer is always there; with a few,
/// batches of one come now and then, not eight in a row.
pub(crate) const LEAD_AFTER_SINGLES: u64 = 8;

pub(crate) struct Shared {
    pub dir: PathBuf,
    pub config: Config,
    /// What a test injects (feature `test-seams`); empty otherwise.
    pub seams: Seams,
    /// Keeps a test's file system installed for `dir` while this lives.
    pub fs_guard: crate::io::seams::FsGuard,
    /// Every segment present, the active one last.
    pub table: Mutex<BTreeMap<u64, SegmentMeta>>,
    /// Highest LSN whose write completed: what replay may read.
    pub readable_lsn: AtomicU64,
    /// Highest LSN whose fdatasync (or O_DSYNC write) completed.
    pub durable_lsn: AtomicU64,
    /// Highest LSN handed out (claimed by a producer).
    pub last_lsn: AtomicU64,
    /// Where producers stage their records for the writer's next write.
    pub appends: AppendBuffer,
    /// The acknowledgement watermark: what tickets wait on.
    /// (`crate::sync`'s `Arc`: loom's in a loom build, where tickets hold it.)
    pub commits: crate::sync::Arc<Watermark>,
    /// The durable LSN and recent commits, for live tails.
    pub feed: crate::feed::CommitFeed,
    pub fence: Fence,
    /// Set when the writer stops (the close hand-off of [`crate::fence`]).
    pub closed: crate::sync::AtomicBool,
    /// True if the io_uring engine is in use (replay uses the same kind).
    pub uring: bool,
    /// Opened with `open_read_only`: no writer, no lock, nothing modified.
    pub read_only: bool,
    /// Batches of one LSN sent in a row (the writer's or a leader's): a long
    /// run means producers append one at a time. Only then does a producer
    /// commit as leader (`Wal::lead_or_wait`): with several, the first one
    /// back after a commit would send a batch of one and the rest would wait
    /// behind it.
    pub single_batches: AtomicU64,
    /// How far the active segment is written, in 1/65536 of its capacity:
    /// what paces the zero-fill of the next one (`writer/preparer.rs`).
    pub active_fill: AtomicU64,
    /// A read-only view's close: set once, it ends its followers' waits.
    pub view_closed: Option<crate::io::Wakeup>,
    /// A read-only view of a directory `open` refuses: where it stops being
    /// readable. Replays that reach it end with it as an error.
    pub damage: Option<Error>,
    /// Replay anchors of segments written by this process: (offset, LSN) of a
    /// record boundary about every `replay_chunk_size` bytes, in offset order.
    /// At most `capacity / replay_chunk_size` per segment; dropped with the
    /// segment. Hints only: a replay checks the LSN it finds at each one.
    anchors: Mutex<BTreeMap<u64, Vec<(u64, u64)>>>,
    /// Bytes a sealed segment's file keeps once shrunk to its data (absent:
    /// its capacity). What `max_dir_bytes` counts.
    sealed_len: Mutex<BTreeMap<u64, u64>>,
    /// The tier beyond the local directory (the S3 archive, feature `s3`), set
    /// at open when configured. Replay asks it for segments no longer on local disk.
    pub tier: Option<Arc<dyn SegmentTier>>,
}

/// A tier that keeps sealed segments beyond the local directory: the S3
/// archive (feature `s3`, src/archive/). The core reaches it only through
/// these calls, made at fixed points; without a tier each is skipped.
pub(crate) trait SegmentTier: Send + Sync + 'static {
    /// Before the writer starts: `(segment, last LSN)` of the newest segment
    /// handed to the tier. No LSN or segment at or below it is handed out again.
    fn sealed_floor(&self) -> Option<(u64, u64)>;
    /// Once the writer runs: starts the tier's own thread (never on the commit path).
    fn start(self: Arc<Self>, shared: &Arc<Shared>) -> Result<()>;
    /// At close, before the directory lock is released.
    fn stop(&self);
    /// Before an append is queued: may slow appends while the tier falls behind.
    fn throttle_appends(&self);
    /// Replay's view: the local segments plus those only the tier holds.
    fn extend_snapshot(&self, local: Vec<SegmentMeta>) -> Result<Vec<SegmentMeta>>;
    /// The same view from what is known without contacting the tier.
    fn visible_now(&self, local: Vec<SegmentMeta>) -> Vec<SegmentMeta>;
    /// A segment that is not on local disk.
    fn fetch(&self, segment: u64) -> Result<std::fs::File>;
    /// `purge_through` and consumes: releases the segments through `through`
    /// to the tier instead of deleting them. `None`: plain deletion applies.
    fn release(&self, shared: &Shared, through: Option<u64>) -> Option<Result<Vec<u64>>>;
    /// The tier's own type, for its own API (`Wal::archive_status`).
    #[cfg_attr(not(feature = "s3"), allow(dead_code))]
    fn as_any(&self) -> &dyn std::any::Any;
}

impl Shared {
    pub fn new(
        config: Config,
        seams: Seams,
        table: BTreeMap<u64, SegmentMeta>,
        last_lsn: u64,
        uring: bool,
    ) -> Self {
        debug_assert_eq!(
            config.max_entry_size,
            config.entry_limit(),
            "the engine runs a resolved configuration"
        );
        let limits = BatchLimits {
            bytes: config.max_batch_bytes,
            entries: config.max_batch_entries,
        };
        let appends = AppendBuffer::new(last_lsn + 1, limits, seams.publish_before_payload());
        Shared {
            dir: config.dir.clone(),
            config,
            seams,
            fs_guard: Default::default(),
            table: Mutex::new(table),
            readable_lsn: AtomicU64::new(last_lsn),
            durable_lsn: AtomicU64::new(last_lsn),
            last_lsn: AtomicU64::new(last_lsn),
            appends,
            commits: crate::sync::Arc::new(Watermark::new(last_lsn)),
            feed: crate::feed::CommitFeed::new(last_lsn),
            fence: Fence::default(),
            closed: crate::sync::AtomicBool::new(false),
            uring,
            read_only: false,
            single_batches: AtomicU64::new(LEAD_AFTER_SINGLES),
            active_fill: AtomicU64::new(0),
            view_closed: None,
            damage: None,
            anchors: Mutex::new(BTreeMap::new()),
            sealed_len: Mutex::new(BTreeMap::new()),
            tier: None,
        }
    }

    /// The active segment is written up to `pos` of its `capacity` bytes.
    pub fn note_active_fill(&self, pos: u64, capacity: u64) {
        debug_assert!(pos <= capacity && capacity > 0);
        let fill = (pos as u128 * 65536 / capacity.max(1) as u128) as u64;
        self.active_fill.store(fill, Ordering::Relaxed);
    }

    /// Notes the length a sealed segment keeps (its shrink may still be queued).
    pub fn set_sealed_len(&self, segment: u64, len: u64) {
        self.sealed_len.lock().insert(segment, len);
    }

    /// Records a replay anchor of `segment` (see the field).
    pub fn record_anchor(&self, segment: u64, offset: u64, lsn: u64, spacing: u64) {
        let mut a = self.anchors.lock();
        let list = a.entry(segment).or_default();
        debug_assert!(
            list.last()
                .is_none_or(|l| l.0 + spacing <= offset && l.1 < lsn)
        );
        let limit = (self.config.segment_size / spacing.max(1)) as usize + 1;
        if list.len() < limit {
            list.push((offset, lsn));
        }
    }

    /// The replay anchors of `segment`; empty if this process did not write it from the start.
    pub fn anchors_of(&self, segment: u64) -> Vec<(u64, u64)> {
        self.anchors
            .lock()
            .get(&segment)
            .cloned()
            .unwrap_or_default()
    }

    /// Forgets the anchors of a segment that left the table.
    pub fn drop_anchors(&self, segment: u64) {
        self.anchors.lock().remove(&segment);
    }

    /// Marks the WAL failed. The first cause is kept.
    pub fn set_fence(&self, err: Error) {
        self.fence.set(err);
    }

    /// The fence error, if fenced.
    pub fn fence_error(&self) -> Option<Error> {
        self.fence.error()
    }

    /// Fails if the WAL cannot take writes: read-only, closed or fenced.
    pub fn check_writable(&self) -> Result<()> {
        if self.read_only {
            return Err(Error::ReadOnly);
        }
        self.check_open()
    }

    /// Fails if the WAL is closed or fenced.
    pub fn check_open(&self) -> Result<()> {
        if let Some(e) = self.fence_error() {
            return Err(e);
        }
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        Ok(())
    }

    /// Bytes the segment files in the table occupy (counted against
    /// `max_dir_bytes`): a sealed segment its data, others their capacity.
    pub fn segment_bytes(&self) -> u64 {
        let sealed = self.sealed_len.lock();
        self.table
            .lock()
            .values()
            .map(|m| {
                sealed
                    .get(&m.segment)
                    .copied()
                    .unwrap_or(m.capacity)
                    .min(m.capacity)
            })
            .sum()
    }

    /// Snapshot for a replay: the segments and the readable bound, taken together.
    pub fn snapshot(&self) -> (Vec<SegmentMeta>, u64) {
        let t = self.table.lock();
        let bound = self.readable_lsn.load(Ordering::Acquire);
        (t.values().copied().collect(), bound)
    }

    /// Deletes consumed segments (a prefix, never the active one), then fsyncs
    /// the directory. A tier releases them instead (S3: hidden at once, deleted
    /// once archived).
    pub fn consume_segments(&self, segments: &[u64]) -> Result<Vec<u64>> {
        let through = segments.iter().max().copied();
        if let Some(r) = self.tier.as_ref().and_then(|t| t.release(self, through)) {
            return r;
        }
        self.delete_prefix(segments)
    }

    /// The deletion itself: a prefix of the table, never the active segment.
    pub fn delete_prefix(&self, segments: &[u64]) -> Result<Vec<u64>> {
        if segments.is_empty() {
            return Ok(vec![]);
        }
        let mut done = Vec::new();
        {
            let mut t = self.table.lock();
            let active = t.keys().next_back().copied();
            for s in segments {
                if Some(*s) == active || t.keys().next() != Some(s) {
                    break;
                }
                if let Some(m) = t.remove(s) {
                    self.drop_anchors(*s);
                    // The hint first: a crash in between leaves no orphan index.
                    dir::remove_file(&dir::anchor_index_path(&self.dir, *s))?;
                    dir::remove_file(&m.path(&self.dir))?;
                    // Each unlink durable before the next: a power cut that
                    // keeps some unlinks and loses others (nothing orders
                    // them otherwise) must leave a shorter prefix, never a
                    // hole in the middle of the log.
                    if !self.seams.purge_unlinks_unordered() {
                        dir::sync_dir(&self.dir)?;
                    }
                    done.push(*s);
                }
            }
        }
        dir::sync_dir(&self.dir)?;
        tracing::info!(segments = ?done, "deleted segments");
        Ok(done)
    }
}
