//! Replay: reads segments through the read engine (io_uring with reads in flight
//! ahead of the consumer), verifies every record, and sends entries into a
//! bounded crossbeam channel.

use crate::Lsn;
use crate::cursor::RecordCursor;
use crate::dir;
use crate::error::{Error, Result};
use crate::format::{BLOCK_SIZE, RecordDecode, RecordKind, align_down, align_up, decode_record};
use crate::io::ReadEngine;
use crate::shared::{SegmentMeta, Shared};
use crossbeam_channel::{Receiver, Sender};
use std::fs::File;
use std::os::fd::AsRawFd;
use std::sync::Arc;

/// One replayed entry.
///
/// # Examples
///
/// ```
/// # fn main() -> xwal::Result<()> {
/// use xwal::{Config, Entry, ReplayOptions, Wal};
///
/// let dir = tempfile::tempdir_in(".").unwrap();
/// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
/// let (wal, _) = Wal::open(config)?;
/// let lsn = wal.append(b"put k v")?;
/// let first = wal.replay(ReplayOptions::all())?.next();
/// assert_eq!(first, Some(Entry { lsn, data: b"put k v".to_vec() }));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its LSN.
    pub lsn: Lsn,
    /// Its payload.
    pub data: Vec<u8>,
}

/// Replay order.
///
/// # Examples
///
/// ```
/// # fn main() -> xwal::Result<()> {
/// use xwal::{Config, Direction, ReplayOptions, Wal};
///
/// let dir = tempfile::tempdir_in(".").unwrap();
/// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
/// let (wal, _) = Wal::open(config)?;
/// wal.append_batch(["a", "b", "c"])?;
/// assert_eq!(Direction::default(), Direction::Forward);
/// let lsns = |direction| -> xwal::Result<Vec<u64>> {
///     Ok(wal.replay(ReplayOptions::all().direction(direction))?.map(|e| e.lsn).collect())
/// };
/// assert_eq!(lsns(Direction::Forward)?, [1, 2, 3]);
/// assert_eq!(lsns(Direction::Backward)?, [3, 2, 1]);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    /// Oldest first.
    #[default]
    Forward,
    /// Newest first.
    Backward,
}

/// Which part of the log to replay.
///
/// # Examples
///
/// ```
/// # fn main() -> xwal::Result<()> {
/// use xwal::{Config, Error, ReplayOptions, ReplayRange, Wal};
///
/// let dir = tempfile::tempdir_in(".").unwrap();
/// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
/// let (wal, _) = Wal::open(config)?;
/// wal.append_batch(["a", "b", "c", "d"])?;
/// let cp = wal.create_checkpoint()?;
/// wal.append(b"e")?;
///
/// let lsns = |range| -> xwal::Result<Vec<u64>> {
///     Ok(wal.replay(ReplayOptions::all().range(range))?.map(|e| e.lsn).collect())
/// };
/// assert_eq!(lsns(ReplayRange::All)?, [1, 2, 3, 4, 5]);
/// assert_eq!(lsns(ReplayRange::Lsns { from: 2, to: 3 })?, [2, 3]);
/// assert_eq!(lsns(ReplayRange::ToCheckpoint(cp))?, [1, 2, 3, 4]);
/// assert_eq!(lsns(ReplayRange::FromCheckpoint(cp))?, [1, 2, 3, 4, 5]);
/// assert_eq!(lsns(ReplayRange::Segments { start: cp + 1, end: cp + 1 })?, [5]);
/// // A checkpoint that does not exist is an error at once, not an empty replay.
/// let missing = wal.replay(ReplayOptions::all().range(ReplayRange::ToCheckpoint(cp + 9)));
/// assert!(matches!(missing, Err(Error::NotFound { what: "checkpoint", .. })));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReplayRange {
    /// Everything present.
    #[default]
    All,
    /// Segments `start..=end`; `start = 0` means the first segment present (Go's `ReplayFromRange`).
    Segments {
        /// First segment (0 = first present).
        start: u64,
        /// Last segment, inclusive; clamped to the last present.
        end: u64,
    },
    /// LSNs `from..=to`.
    Lsns {
        /// First LSN.
        from: Lsn,
        /// Last LSN, inclusive.
        to: Lsn,
    },
    /// From checkpoint segment `cp` to the end, inclusive (Go's `ReplayFromCheckpoint`).
    FromCheckpoint(u64),
    /// From the beginning to checkpoint segment `cp`, inclusive (Go's `ReplayToCheckpoint`).
    ToCheckpoint(u64),
}

/// How to replay.
///
/// # Examples
///
/// ```
/// use xwal::{Direction, ReplayOptions, ReplayRange};
///
/// let opts = ReplayOptions::all()
///     .backward()
///     .range(ReplayRange::Lsns { from: 10, to: 20 });
/// assert_eq!(opts.direction, Direction::Backward);
/// assert_eq!(opts.range, ReplayRange::Lsns { from: 10, to: 20 });
/// assert!(!opts.consume);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReplayOptions {
    /// Order.
    pub direction: Direction,
    /// Range.
    pub range: ReplayRange,
    /// Delete the replayed segments once the whole replay has succeeded and every
    /// entry was received (Go xwal's at-most-once replay). Only for a prefix of
    /// the log, and never the active segment. Off by default.
    pub consume: bool,
}

impl ReplayOptions {
    /// Everything, oldest first, non-destructive.
    ///
    /// # Examples
    ///
    /// ```
    /// use xwal::{Direction, ReplayOptions, ReplayRange};
    ///
    /// let all = ReplayOptions::all();
    /// assert_eq!(all, ReplayOptions::default());
    /// assert_eq!(all.direction, Direction::Forward);
    /// assert_eq!(all.range, ReplayRange::All);
    /// assert!(!all.consume);
    /// ```
    pub fn all() -> Self {
        ReplayOptions::default()
    }
    /// Sets the direction.
    ///
    /// # Examples
    ///
    /// ```
    /// use xwal::{Direction, ReplayOptions};
    ///
    /// let newest_first = ReplayOptions::all().direction(Direction::Backward);
    /// assert_eq!(newest_first.direction, Direction::Backward);
    /// assert_eq!(newest_first, ReplayOptions::all().backward());
    /// assert_eq!(ReplayOptions::all().direction(Direction::Forward), ReplayOptions::all());
    /// ```
    pub fn direction(mut self, d: Direction) -> Self {
        self.direction = d;
        self
    }
    /// Newest first.
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
    /// wal.append_batch(["oldest", "newest"])?;
    /// let newest = wal.replay(ReplayOptions::all().backward())?.next().unwrap();
    /// assert_eq!(newest.data, b"newest");
    /// # Ok(()) }
    /// ```
    pub fn backward(self) -> Self {
        self.direction(Direction::Backward)
    }
    /// Sets the range.
    ///
    /// # Examples
    ///
    /// ```
    /// use xwal::{ReplayOptions, ReplayRange};
    ///
    /// let opts = ReplayOptions::all().range(ReplayRange::FromCheckpoint(7));
    /// assert_eq!(opts.range, ReplayRange::FromCheckpoint(7));
    /// assert_eq!(ReplayOptions::all().range, ReplayRange::All);
    /// ```
    pub fn range(mut self, r: ReplayRange) -> Self {
        self.range = r;
        self
    }
    /// Sets consume.
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
    /// let mut replay = wal.replay(ReplayOptions::all().consume(true))?;
    /// assert_eq!(replay.by_ref().count(), 2);
    /// let summary = replay.finish()?;
    /// // The sealed segment is deleted; the active one (started by the replay) stays.
    /// assert_eq!(summary.consumed, summary.segments[..1]);
    /// // The replayed entries are gone; the WAL goes on.
    /// assert_eq!(wal.replay(ReplayOptions::all())?.count(), 0);
    /// assert_eq!(wal.append(b"c")?, 3);
    /// # Ok(()) }
    /// ```
    pub fn consume(mut self, on: bool) -> Self {
        self.consume = on;
        self
    }
}

/// What a finished replay did.
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
/// wal.append(b"abc")?;
/// let cp = wal.create_checkpoint()?;
/// wal.append(b"de")?;
///
/// let mut replay = wal.replay(ReplayOptions::all())?;
/// replay.by_ref().for_each(drop);
/// let summary = replay.finish()?;
/// assert_eq!((summary.entries, summary.bytes), (2, 5));
/// assert_eq!(summary.segments, [cp, cp + 1]);
/// assert!(summary.consumed.is_empty());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplaySummary {
    /// Entries delivered.
    pub entries: u64,
    /// Payload bytes delivered.
    pub bytes: u64,
    /// Segments read, in read order.
    pub segments: Vec<u64>,
    /// Segments deleted by `consume`.
    pub consumed: Vec<u64>,
}

/// A running replay: iterate it (or use [`Replay::receiver`]) for entries, then
/// call [`Replay::finish`] for the outcome. An error (corruption, say) ends the
/// stream early and is returned by `finish`.
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
/// let mut replay = wal.replay(ReplayOptions::all())?;
/// let mut seen = Vec::new();
/// for entry in replay.by_ref() {
///     seen.push(entry.data);
/// }
/// assert_eq!(seen, [b"a".to_vec(), b"b".to_vec()]);
/// assert_eq!(replay.finish()?.entries, 2);
/// # Ok(()) }
/// ```
#[must_use = "call finish() to learn whether the replay succeeded"]
pub struct Replay {
    rx: Receiver<Entry>,
    handle: Option<std::thread::JoinHandle<Result<(ReplaySummary, Vec<u64>)>>>,
    shared: Arc<Shared>,
}

impl Replay {
    /// The channel the entries arrive on.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use std::time::Duration;
    /// use xwal::{Config, ReplayOptions, Wal};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
    /// let (wal, _) = Wal::open(config)?;
    /// wal.append(b"only")?;
    ///
    /// let replay = wal.replay(ReplayOptions::all())?;
    /// // A crossbeam receiver: usable with timeouts and in `select!`.
    /// let entry = replay.receiver().recv_timeout(Duration::from_secs(10)).unwrap();
    /// assert_eq!(entry.data, b"only");
    /// assert_eq!(replay.finish()?.entries, 1);
    /// # Ok(()) }
    /// ```
    pub fn receiver(&self) -> &Receiver<Entry> {
        &self.rx
    }

    /// Waits for the replay to end. With `consume`, deletes the replayed segments
    /// only if it succeeded and every entry was received.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::{Config, Error, ReplayOptions, Wal};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
    /// let (wal, _) = Wal::open(config)?;
    /// wal.append_batch(["a", "b"])?;
    ///
    /// let mut replay = wal.replay(ReplayOptions::all())?;
    /// assert_eq!(replay.by_ref().count(), 2);
    /// assert_eq!(replay.finish()?.entries, 2);
    ///
    /// // An entry left unread makes a consuming replay fail, and delete nothing.
    /// let replay = wal.replay(ReplayOptions::all().consume(true))?;
    /// let _first = replay.receiver().recv().unwrap();
    /// while replay.receiver().is_empty() {
    ///     std::thread::yield_now(); // until the second entry has arrived
    /// }
    /// assert!(matches!(replay.finish(), Err(Error::ReceiverDropped)));
    /// assert_eq!(wal.replay(ReplayOptions::all())?.count(), 2);
    /// # Ok(()) }
    /// ```
    pub fn finish(mut self) -> Result<ReplaySummary> {
        let handle = self.handle.take();
        // Whether every sent entry was received can only be known once the
        // replay thread has stopped sending; checking the channel before that
        // would miss an entry sent in between (and `consume` would then delete
        // a segment whose entry nobody received). Wait for the thread to end,
        // unless an entry is already waiting: that is undelivered for sure,
        // and dropping the receiver unblocks a thread stuck on a full channel.
        let mut undelivered = false;
        if let Some(h) = &handle {
            while !h.is_finished() {
                if !self.rx.is_empty() {
                    undelivered = true;
                    break;
                }
                std::thread::sleep(std::time::Duration::from_micros(50));
            }
        }
        undelivered |= !self.rx.is_empty();
        drop(std::mem::replace(&mut self.rx, crossbeam_channel::never()));
        let (mut summary, consumable) = match handle.map(|h| h.join()) {
            Some(Ok(r)) => r?,
            Some(Err(_)) => {
                return Err(Error::Io {
                    context: "replay thread panicked".into(),
                    source: std::io::Error::other("panic").into(),
                });
            }
            None => return Err(Error::Closed),
        };
        if undelivered {
            return Err(Error::ReceiverDropped);
        }
        summary.consumed = self.shared.consume_segments(&consumable)?;
        Ok(summary)
    }
}

impl Iterator for Replay {
    type Item = Entry;
    fn next(&mut self) -> Option<Entry> {
        self.rx.recv().ok()
    }
}

impl Drop for Replay {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            drop(std::mem::replace(&mut self.rx, crossbeam_channel::never()));
            let _ = h.join();
        }
    }
}

pub(crate) fn spawn(shared: Arc<Shared>, opts: ReplayOptions) -> Result<Replay> {
    // A range that names nothing (a missing checkpoint or segment, an empty
    // range) fails here, before any thread or channel, as `replay_into` does.
    let plan = plan(&shared, opts)?;
    let (tx, rx) = crossbeam_channel::bounded(shared.config.replay_channel_capacity);
    let s2 = shared.clone();
    let handle = std::thread::Builder::new()
        .name("xwal-replay".into())
        .spawn(move || run_plan(&s2, opts, plan, &tx))
        .map_err(|e| Error::io("spawning the replay thread", e))?;
    Ok(Replay {
        rx,
        handle: Some(handle),
        shared,
    })
}

/// Selects segments for a range; `all` is the snapshot in number order.
fn select(all: &[SegmentMeta], bound: Lsn, range: ReplayRange) -> Result<Vec<SegmentMeta>> {
    // An empty WAL still refuses a named segment or checkpoint it lacks, and
    // an empty range, exactly as a non-empty one does.
    let first = all.first().map(|m| m.segment);
    let last = all.last().map(|m| m.segment);
    let pick = |lo: u64, hi: u64| {
        all.iter()
            .filter(|m| m.segment >= lo && m.segment <= hi)
            .copied()
            .collect::<Vec<_>>()
    };
    Ok(match range {
        ReplayRange::All => all.to_vec(),
        ReplayRange::Segments { start, end } => {
            let (Some(first), Some(last)) = (first, last) else {
                if start != 0 {
                    return Err(Error::NotFound {
                        what: "segment",
                        number: start,
                    });
                }
                return Ok(vec![]);
            };
            let lo = if start == 0 { first } else { start };
            if lo > last || (start != 0 && start < first) {
                return Err(Error::NotFound {
                    what: "segment",
                    number: start,
                });
            }
            if end < lo {
                return Err(Error::InvalidArgument(format!(
                    "segment range {start}..={end} is empty: end must be >= start"
                )));
            }
            pick(lo, end)
        }
        ReplayRange::Lsns { from, to } => {
            if to < from {
                return Err(Error::InvalidArgument(format!(
                    "LSN range {from}..={to} is empty: to must be >= from"
                )));
            }
            let mut v = Vec::new();
            for (i, m) in all.iter().enumerate() {
                let seg_last = all
                    .get(i + 1)
                    .map(|n| n.first_lsn.saturating_sub(1))
                    .unwrap_or(bound);
                if m.first_lsn <= to && seg_last >= from && seg_last >= m.first_lsn {
                    v.push(*m);
                }
            }
            v
        }
        ReplayRange::FromCheckpoint(cp) | ReplayRange::ToCheckpoint(cp) => {
            if !all.iter().any(|m| m.segment == cp && m.checkpoint) {
                return Err(Error::NotFound {
                    what: "checkpoint",
                    number: cp,
                });
            }
            match range {
                ReplayRange::FromCheckpoint(_) => pick(cp, u64::MAX),
                _ => pick(0, cp),
            }
        }
    })
}

fn lsn_filter(range: ReplayRange) -> (Lsn, Lsn) {
    match range {
        ReplayRange::Lsns { from, to } => (from, to),
        _ => (0, Lsn::MAX),
    }
}

/// Runs a replay into `tx`. Returns the summary and the segments a consume may delete.
pub(crate) fn run(
    shared: &Shared,
    opts: ReplayOptions,
    tx: &Sender<Entry>,
) -> Result<(ReplaySummary, Vec<u64>)> {
    let plan = plan(shared, opts)?;
    run_plan(shared, opts, plan, tx)
}

/// What a replay reads: the snapshot of segments, its readable bound, and the
/// segments the range selects.
pub(crate) struct Plan {
    all: Vec<SegmentMeta>,
    bound: Lsn,
    selected: Vec<SegmentMeta>,
}

fn plan(shared: &Shared, opts: ReplayOptions) -> Result<Plan> {
    let (all, bound) = shared.snapshot();
    // Segments that only the tier holds (S3: archived, gone locally) come first.
    let all = match &shared.tier {
        Some(t) => t.extend_snapshot(all)?,
        None => all,
    };
    let selected = select(&all, bound, opts.range)?;
    Ok(Plan {
        all,
        bound,
        selected,
    })
}

fn run_plan(
    shared: &Shared,
    opts: ReplayOptions,
    plan: Plan,
    tx: &Sender<Entry>,
) -> Result<(ReplaySummary, Vec<u64>)> {
    let _span = tracing::debug_span!("replay", ?opts).entered();
    let Plan {
        all,
        bound,
        selected,
    } = plan;
    let (lo, hi) = lsn_filter(opts.range);
    let mut reader = crate::io::read_engine(
        shared.uring,
        shared.config.replay_chunk_size,
        shared.config.replay_read_ahead,
    )?;
    let mut summary = ReplaySummary::default();
    let order: Vec<&SegmentMeta> = match opts.direction {
        Direction::Forward => selected.iter().collect(),
        Direction::Backward => selected.iter().rev().collect(),
    };
    for meta in order {
        let idx = all
            .iter()
            .position(|m| m.segment == meta.segment)
            .unwrap_or(0);
        let last_lsn = all.get(idx + 1).map(|n| n.first_lsn - 1).unwrap_or(bound);
        if last_lsn < meta.first_lsn || last_lsn < lo || meta.first_lsn > hi {
            summary.segments.push(meta.segment);
            continue;
        }
        let file = open_segment(shared, meta)?;
        let seg = SegmentRead {
            meta,
            file: &file,
            last_lsn,
            lo,
            hi,
        };
        let mut send = |e: Entry| -> Result<()> {
            summary.entries += 1;
            summary.bytes += e.data.len() as u64;
            tx.send(e).map_err(|_| Error::ReceiverDropped)
        };
        match opts.direction {
            Direction::Forward => seg.forward(reader.as_mut(), &mut send)?,
            Direction::Backward => seg.backward(
                reader.as_mut(),
                shared.config.replay_chunk_size as u64,
                &known_anchors(shared, meta),
                &mut send,
            )?,
        }
        summary.segments.push(meta.segment);
    }
    let consumable = if opts.consume {
        let first_present = all.first().map(|m| m.segment);
        let active = all.last().map(|m| m.segment);
        if selected.first().map(|m| m.segment) != first_present {
            return Err(Error::InvalidArgument(
                "consume deletes a prefix of the log only: start the range at the first segment"
                    .into(),
            ));
        }
        selected
            .iter()
            .map(|m| m.segment)
            .filter(|s| Some(*s) != active)
            .collect()
    } else {
        vec![]
    };
    Ok((summary, consumable))
}

/// Record boundaries of a segment known without reading it: from this
/// process's writer, else from the anchor index beside the segment.
fn known_anchors(shared: &Shared, meta: &SegmentMeta) -> Vec<(u64, Lsn)> {
    let mine = shared.anchors_of(meta.segment);
    if !mine.is_empty() {
        return mine;
    }
    dir::read_anchor_index(&shared.dir, meta.segment, meta.salt, meta.capacity).unwrap_or_default()
}

/// Opens a segment, following a concurrent checkpoint rename.
fn open_segment(shared: &Shared, meta: &SegmentMeta) -> Result<File> {
    for _ in 0..3 {
        let current = shared.table.lock().get(&meta.segment).copied();
        let Some(m) = current else {
            // Not (or no longer) on local disk: the tier fetches and verifies it.
            if let Some(t) = &shared.tier {
                return t.fetch(meta.segment);
            }
            return Err(Error::NotFound {
                what: "segment",
                number: meta.segment,
            });
        };
        // A read-only view does not see another process's checkpoint rename: try both names.
        for checkpoint in [m.checkpoint, !m.checkpoint] {
            let path = dir::segment_path(&shared.dir, m.segment, checkpoint);
            match dir::open_for_read(&path) {
                Ok(f) => return Ok(f),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(Error::io(format!("opening {}", path.display()), e)),
            }
        }
    }
    // Gone under a read-only view (another process's retention or consume):
    // the tier's copy is the same segment.
    if let (Some(t), true) = (&shared.tier, shared.read_only) {
        return t.fetch(meta.segment);
    }
    Err(Error::NotFound {
        what: "segment",
        number: meta.segment,
    })
}

struct SegmentRead<'a> {
    meta: &'a SegmentMeta,
    file: &'a File,
    /// The last LSN this segment must hold.
    last_lsn: Lsn,
    lo: Lsn,
    hi: Lsn,
}

impl SegmentRead<'_> {
    fn corruption(&self, offset: u64, reason: impl Into<String>) -> Error {
        Error::Corruption {
            segment: self.meta.segment,
            offset,
            reason: reason.into(),
        }
    }

    /// Decodes records of `[start, end)` (record-aligned start) in file order,
    /// expecting LSNs from `first`, calling `each(offset, lsn, record)` until `stop_lsn`.
    fn scan(
        &self,
        reader: &mut dyn ReadEngine,
        start: u64,
        end: u64,
        first: Lsn,
        stop_lsn: Lsn,
        each: &mut dyn FnMut(u64, &crate::format::DecodedRecord<'_>) -> Result<()>,
    ) -> Result<()> {
        let aligned = align_down(start, BLOCK_SIZE as u64);
        let read_end = align_up(end, BLOCK_SIZE as u64).min(self.meta.capacity);
        let mut cursor = RecordCursor::new(aligned);
        let mut skip = (start - aligned) as usize;
        let mut expected = first;
        let mut failure: Option<Error> = None;
        let salt = self.meta.salt;
        let max = self.meta.max_entry_size;
        let mut sink = |off: u64, chunk: &[u8]| -> bool {
            cursor.push(off, chunk);
            if skip > 0 {
                let n = skip.min(cursor.available().len());
                cursor.advance(n);
                skip -= n;
            }
            while expected <= stop_lsn {
                match decode_record(cursor.available(), salt, max) {
                    RecordDecode::Record(r) => {
                        if r.header.lsn != expected {
                            failure = Some(self.corruption(
                                cursor.offset(),
                                format!("expected LSN {expected}, found {}", r.header.lsn),
                            ));
                            return false;
                        }
                        if let Err(e) = each(cursor.offset(), &r) {
                            failure = Some(e);
                            return false;
                        }
                        expected += 1;
                        cursor.advance(r.len);
                    }
                    RecordDecode::NeedMore(_) => return true,
                    RecordDecode::Invalid(e) => {
                        failure = Some(self.corruption(
                            cursor.offset(),
                            format!("{} (expected LSN {expected})", e.describe()),
                        ));
                        return false;
                    }
                }
            }
            false
        };
        reader
            .read_range(self.file.as_raw_fd(), aligned, read_end, &mut sink)
            .map_err(|e| Error::io(format!("reading segment {}", self.meta.segment), e))?;
        if let Some(e) = failure {
            return Err(e);
        }
        if expected <= stop_lsn {
            return Err(self.corruption(
                cursor.offset(),
                format!("segment ends before LSN {expected} (expected through {stop_lsn})"),
            ));
        }
        Ok(())
    }

    fn entry_of(&self, off: u64, r: &crate::format::DecodedRecord<'_>) -> Result<Option<Entry>> {
        let lsn = r.header.lsn;
        if r.header.kind != RecordKind::Entry || lsn < self.lo || lsn > self.hi {
            return Ok(None);
        }
        let data = r.data().map_err(|e| self.corruption(off, e.describe()))?;
        Ok(Some(Entry { lsn, data }))
    }

    fn forward(
        &self,
        reader: &mut dyn ReadEngine,
        send: &mut dyn FnMut(Entry) -> Result<()>,
    ) -> Result<()> {
        let stop = self.last_lsn.min(self.hi);
        self.scan(
            reader,
            BLOCK_SIZE as u64,
            self.meta.capacity,
            self.meta.first_lsn,
            stop,
            &mut |off, r| match self.entry_of(off, r)? {
                Some(e) => send(e),
                None => Ok(()),
            },
        )
    }

    /// Newest first, in bounded memory: the segment is cut into windows at
    /// anchors (offset, LSN) about `window` bytes apart, and each window is
    /// read, decoded and sent in reverse, last window first.
    ///
    /// `known` anchors come from this process's writer or from the segment's
    /// anchor index, and are checked as they are used: each window must start
    /// with the anchor's LSN and end right before the next window's, else the
    /// replay fails with `Corruption` (a wrong index that passed its CRC is a
    /// bug, not damage to paper over). Past the last known anchor (from the
    /// segment start if none is known) a verifying forward pass finds the end
    /// and more anchors, so a segment without them is read twice.
    fn backward(
        &self,
        reader: &mut dyn ReadEngine,
        window: u64,
        known: &[(u64, Lsn)],
        send: &mut dyn FnMut(Entry) -> Result<()>,
    ) -> Result<()> {
        let stop = self.last_lsn.min(self.hi);
        // The segment start, then the known anchors up to `stop`.
        let mut anchors: Vec<(u64, Lsn)> = vec![(BLOCK_SIZE as u64, self.meta.first_lsn)];
        anchors.extend(
            known
                .iter()
                .copied()
                .filter(|a| a.0 > BLOCK_SIZE as u64 && a.1 > self.meta.first_lsn && a.1 <= stop),
        );
        // A verifying forward pass from the last known anchor to `stop` finds the
        // end and the anchors past it: the whole segment when none are known,
        // about one window when the writer's or the index's cover it.
        let (from_off, from_lsn) = anchors[anchors.len() - 1];
        let mut end_off = from_off;
        self.scan(
            reader,
            from_off,
            self.meta.capacity,
            from_lsn,
            stop,
            &mut |off, r| {
                if anchors.last().is_some_and(|a| off - a.0 >= window) {
                    anchors.push((off, r.header.lsn));
                }
                end_off = off + r.len as u64;
                Ok(())
            },
        )?;
        // Windows wholly below `lo` are left out.
        let first = anchors
            .partition_point(|a| a.1 <= self.lo)
            .saturating_sub(1);
        anchors.drain(..first);
        let mut upper = (end_off, stop + 1);
        for &(off, lsn) in anchors.iter().rev() {
            let mut batch: Vec<Entry> = Vec::new();
            self.scan(reader, off, upper.0, lsn, upper.1 - 1, &mut |o, r| {
                if let Some(e) = self.entry_of(o, r)? {
                    batch.push(e);
                }
                Ok(())
            })?;
            for e in batch.into_iter().rev() {
                send(e)?;
            }
            upper = (off, lsn);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(segment: u64, first_lsn: u64, checkpoint: bool) -> SegmentMeta {
        SegmentMeta {
            segment,
            first_lsn,
            salt: 1,
            max_entry_size: 100,
            capacity: 1 << 20,
            checkpoint,
        }
    }

    #[test]
    fn range_zero_means_first_present() {
        let all = [m(5, 1, false), m(6, 10, false), m(7, 20, false)];
        let s = select(&all, 25, ReplayRange::Segments { start: 0, end: 6 }).unwrap();
        assert_eq!(s.iter().map(|x| x.segment).collect::<Vec<_>>(), vec![5, 6]);
        assert!(select(&all, 25, ReplayRange::Segments { start: 3, end: 6 }).is_err());
        assert!(select(&all, 25, ReplayRange::Segments { start: 8, end: 9 }).is_err());
    }

    #[test]
    fn lsn_range_picks_overlapping_segments() {
        let all = [m(0, 1, false), m(1, 10, false), m(2, 20, false)];
        let s = select(&all, 25, ReplayRange::Lsns { from: 9, to: 10 }).unwrap();
        assert_eq!(s.iter().map(|x| x.segment).collect::<Vec<_>>(), vec![0, 1]);
    }

    #[test]
    fn checkpoint_ranges() {
        let all = [m(0, 1, true), m(1, 10, true), m(2, 20, false)];
        let to: Vec<u64> = select(&all, 25, ReplayRange::ToCheckpoint(1))
            .unwrap()
            .iter()
            .map(|x| x.segment)
            .collect();
        assert_eq!(to, vec![0, 1]);
        let from: Vec<u64> = select(&all, 25, ReplayRange::FromCheckpoint(1))
            .unwrap()
            .iter()
            .map(|x| x.segment)
            .collect();
        assert_eq!(from, vec![1, 2]);
        assert!(matches!(
            select(&all, 25, ReplayRange::FromCheckpoint(2)),
            Err(Error::NotFound { .. })
        ));
    }

    /// An empty WAL answers as a non-empty one would: what is named must exist.
    #[test]
    fn select_on_an_empty_wal() {
        let none = |r| select(&[], 0, r);
        assert!(none(ReplayRange::All).unwrap().is_empty());
        assert!(
            none(ReplayRange::Segments { start: 0, end: 9 })
                .unwrap()
                .is_empty()
        );
        assert!(
            none(ReplayRange::Lsns { from: 1, to: 9 })
                .unwrap()
                .is_empty()
        );
        for r in [
            ReplayRange::FromCheckpoint(3),
            ReplayRange::ToCheckpoint(0),
            ReplayRange::Segments { start: 2, end: 4 },
        ] {
            assert!(matches!(none(r), Err(Error::NotFound { .. })), "{r:?}");
        }
        assert!(matches!(
            none(ReplayRange::Lsns { from: 5, to: 1 }),
            Err(Error::InvalidArgument(_))
        ));
        assert!(matches!(
            none(ReplayRange::Segments { start: 0, end: 0 }),
            Ok(v) if v.is_empty()
        ));
    }
}
