//! State shared between the API handle, the writer thread and replays.

use crate::config::Config;
use crate::error::{Error, Result};
use crate::fence::Fence;
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

/// What the engine knows about one segment.
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
/// assert_eq!((sealed.segment, sealed.first_lsn, sealed.checkpoint), (cp, 1, true));
/// assert_eq!(sealed.capacity, 1 << 20);
/// assert_eq!(segments[1].first_lsn, 3); // the next append goes there
/// assert_ne!(sealed.salt, segments[1].salt);
/// # Ok(()) }
/// ```
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
}

impl SegmentMeta {
    pub(crate) fn path(&self, dir: &std::path::Path) -> PathBuf {
        crate::dir::segment_path(dir, self.segment, self.checkpoint)
    }
}

pub(crate) struct Shared {
    pub dir: PathBuf,
    pub config: Config,
    /// Every segment present, the active one last.
    pub table: Mutex<BTreeMap<u64, SegmentMeta>>,
    /// Highest LSN whose write completed: what replay may read.
    pub readable_lsn: AtomicU64,
    /// Highest LSN whose fdatasync (or O_DSYNC write) completed.
    pub durable_lsn: AtomicU64,
    /// Highest LSN assigned by the writer.
    pub last_lsn: AtomicU64,
    pub fence: Fence,
    /// Set when the writer stops (the close hand-off of [`crate::fence`]).
    pub closed: crate::sync::AtomicBool,
    /// True if the io_uring engine is in use (replay uses the same kind).
    pub uring: bool,
    /// Opened with `open_read_only`: no writer, no lock, nothing modified.
    pub read_only: bool,
    /// Replay anchors of segments written by this process: (offset, LSN) of a
    /// record boundary about every `replay_chunk_size` bytes, in offset order.
    /// At most `capacity / replay_chunk_size` per segment; dropped with the
    /// segment. Hints only: a replay checks the LSN it finds at each one.
    anchors: Mutex<BTreeMap<u64, Vec<(u64, u64)>>>,
    /// Bytes a sealed segment's file keeps once shrunk to its data (absent:
    /// its capacity). What `max_dir_bytes` counts.
    sealed_len: Mutex<BTreeMap<u64, u64>>,
    /// S3 archive tier (feature `s3`): set by `Wal::open` when `Config::s3` is set.
    /// Replay asks it for segments no longer on local disk.
    #[cfg(feature = "s3")]
    pub archive: Option<std::sync::Arc<crate::archive::Archive>>,
}

impl Shared {
    pub fn new(
        dir: PathBuf,
        config: Config,
        table: BTreeMap<u64, SegmentMeta>,
        last_lsn: u64,
        uring: bool,
    ) -> Self {
        Shared {
            dir,
            config,
            table: Mutex::new(table),
            readable_lsn: AtomicU64::new(last_lsn),
            durable_lsn: AtomicU64::new(last_lsn),
            last_lsn: AtomicU64::new(last_lsn),
            fence: Fence::default(),
            closed: crate::sync::AtomicBool::new(false),
            uring,
            read_only: false,
            anchors: Mutex::new(BTreeMap::new()),
            sealed_len: Mutex::new(BTreeMap::new()),
            #[cfg(feature = "s3")]
            archive: None,
        }
    }

    /// Notes the length a sealed segment keeps (its shrink may still be queued).
    pub fn set_sealed_len(&self, segment: u64, len: u64) {
        self.sealed_len.lock().insert(segment, len);
    }

    /// Records a replay anchor of `segment` (see the field).
    pub fn record_anchor(&self, segment: u64, offset: u64, lsn: u64, spacing: u64) {
        let mut a = self.anchors.lock();
        let list = a.entry(segment).or_default();
        debug_assert!(list
            .last()
            .is_none_or(|l| l.0 + spacing <= offset && l.1 < lsn));
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
}
