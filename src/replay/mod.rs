//! Replay: reads segments through the read engine (io_uring with reads in
//! flight ahead of the consumer), verifies every record, and hands entries out
//! by the batch, borrowed from the read buffers (`batch`, `reader`), or one
//! by one as owned [`Entry`]s, pulled in the caller's thread or fed into a
//! bounded channel by a thread of its own ([`Replay::receiver`]).

mod batch;
mod follow;
mod plan;
mod reader;
mod scan;
mod tail;

pub use batch::Batch;
pub use tail::Tail;

use crate::error::{Error, Result};
use crate::ids::{CheckpointId, Lsn, SegmentId};
use crate::shared::Shared;
use crossbeam_channel::{Receiver, Sender};
use parking_lot::Mutex;
use reader::Reader;
use std::sync::{Arc, OnceLock};

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
/// let first = wal.replay(ReplayOptions::all())?.next().transpose()?;
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
/// let lsns = |direction| -> xwal::Result<Vec<xwal::Lsn>> {
///     Ok(wal.replay(ReplayOptions::all().direction(direction))?.map(|e| e.map(|e| e.lsn)).collect::<xwal::Result<Vec<_>>>()?)
/// };
/// assert_eq!(lsns(Direction::Forward)?, [1, 2, 3]);
/// assert_eq!(lsns(Direction::Backward)?, [3, 2, 1]);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
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
/// use xwal::{CheckpointId, Config, Error, Lsn, ReplayOptions, ReplayRange, Wal};
///
/// let dir = tempfile::tempdir_in(".").unwrap();
/// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
/// let (wal, _) = Wal::open(config)?;
/// wal.append_batch(["a", "b", "c", "d"])?;
/// let cp = wal.create_checkpoint()?;
/// wal.append(b"e")?;
///
/// let lsns = |range| -> xwal::Result<Vec<xwal::Lsn>> {
///     Ok(wal.replay(ReplayOptions::all().range(range))?.map(|e| e.map(|e| e.lsn)).collect::<xwal::Result<Vec<_>>>()?)
/// };
/// assert_eq!(lsns(ReplayRange::All)?, [1, 2, 3, 4, 5]);
/// assert_eq!(lsns(ReplayRange::Lsns { from: Lsn(2), to: Lsn(3) })?, [2, 3]);
/// assert_eq!(lsns(ReplayRange::ToCheckpoint(cp))?, [1, 2, 3, 4]);
/// assert_eq!(lsns(ReplayRange::FromCheckpoint(cp))?, [1, 2, 3, 4, 5]);
/// let after = cp.segment().next();
/// assert_eq!(lsns(ReplayRange::Segments { start: after, end: after })?, [5]);
/// // A checkpoint that does not exist is an error at once, not an empty replay.
/// let missing = wal.replay(ReplayOptions::all().range(ReplayRange::ToCheckpoint(CheckpointId(cp.0 + 9))));
/// assert!(matches!(missing, Err(Error::NotFound { what: "checkpoint", .. })));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ReplayRange {
    /// Everything present.
    #[default]
    All,
    /// Segments `start..=end`; `start = 0` means the first segment present (Go's `ReplayFromRange`).
    Segments {
        /// First segment (0 = first present).
        start: SegmentId,
        /// Last segment, inclusive; clamped to the last present.
        end: SegmentId,
    },
    /// LSNs `from..=to`.
    Lsns {
        /// First LSN.
        from: Lsn,
        /// Last LSN, inclusive.
        to: Lsn,
    },
    /// From checkpoint segment `cp` to the end, inclusive (Go's `ReplayFromCheckpoint`).
    FromCheckpoint(CheckpointId),
    /// From the beginning to checkpoint segment `cp`, inclusive (Go's `ReplayToCheckpoint`).
    ToCheckpoint(CheckpointId),
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
///     .range(ReplayRange::Lsns { from: xwal::Lsn(10), to: xwal::Lsn(20) });
/// assert_eq!(opts.direction, Direction::Backward);
/// assert_eq!(opts.range, ReplayRange::Lsns { from: xwal::Lsn(10), to: xwal::Lsn(20) });
/// assert!(!opts.consume);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
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
    /// let newest = wal.replay(ReplayOptions::all().backward())?.next().transpose()?;
    /// assert_eq!(newest.map(|e| e.data), Some(b"newest".to_vec()));
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
    /// let opts = ReplayOptions::all().range(ReplayRange::FromCheckpoint(xwal::CheckpointId(7)));
    /// assert_eq!(opts.range, ReplayRange::FromCheckpoint(xwal::CheckpointId(7)));
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
/// assert_eq!(summary.segments, [cp.segment(), cp.segment().next()]);
/// assert!(summary.consumed.is_empty());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReplaySummary {
    /// Entries delivered.
    pub entries: u64,
    /// Payload bytes delivered.
    pub bytes: u64,
    /// Segments read, in read order.
    pub segments: Vec<SegmentId>,
    /// Segments deleted by `consume`.
    pub consumed: Vec<SegmentId>,
}

/// A running replay: pull its entries by the batch ([`Replay::next_batch`],
/// [`Replay::batches`]: borrowed or shared, no copy), one by one as owned
/// [`Entry`]s (iterate it), or from a channel ([`Replay::receiver`]); then
/// call [`Replay::finish`] for the outcome. Reading happens as entries are
/// pulled, with reads in flight ahead. An error (corruption, say) ends the
/// stream early and is returned by `finish` (and by `next_batch`).
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
///     seen.push(entry?.data); // corruption is an Err item: never a short log
/// }
/// assert_eq!(seen, [b"a".to_vec(), b"b".to_vec()]);
/// assert_eq!(replay.finish()?.entries, 2);
/// # Ok(()) }
/// ```
#[must_use = "call finish() to learn whether the replay succeeded"]
pub struct Replay {
    pull: Mutex<Pull>,
    /// Set once [`Replay::receiver`] moved the reading to a thread.
    feeder: OnceLock<Feeder>,
    shared: Arc<Shared>,
}

/// The reading state while entries are pulled in the caller's thread.
struct Pull {
    /// None once handed to the feeder thread.
    reader: Option<Reader>,
    /// The batch the entry iterator is in.
    current: Batch,
    pos: usize,
    failure: Option<Error>,
    /// The entry iterator has yielded `failure` (it yields it once, then ends).
    failure_yielded: bool,
    ended: bool,
}

type Outcome = Result<(ReplaySummary, Vec<u64>)>;

struct Feeder {
    rx: Receiver<Entry>,
    handle: Option<std::thread::JoinHandle<Outcome>>,
}

impl Pull {
    /// Reading with `reader`; without one (it moved to the feeder), ended.
    fn new(reader: Option<Reader>) -> Pull {
        Pull {
            ended: reader.is_none(),
            reader,
            current: Batch::default(),
            pos: 0,
            failure: None,
            failure_yielded: false,
        }
    }

    /// The next batch, or the rest of the one the entry iterator is in.
    fn next_batch(&mut self) -> Result<Option<Batch>> {
        if let Some(e) = &self.failure {
            return Err(e.clone());
        }
        if self.pos < self.current.len() {
            let mut rest = std::mem::take(&mut self.current);
            rest.skip_front(self.pos);
            self.pos = 0;
            return Ok(Some(rest));
        }
        let Some(reader) = self.reader.as_mut() else {
            return Err(Error::InvalidArgument(
                "the entries of this replay go to its receiver()".into(),
            ));
        };
        if self.ended {
            return Ok(None);
        }
        match reader.next_batch() {
            Ok(None) => {
                self.ended = true;
                Ok(None)
            }
            Ok(b) => Ok(b),
            Err(e) => {
                self.failure = Some(e.clone());
                Err(e)
            }
        }
    }

    /// The next entry; a failure once (then the end), so that an iterator
    /// chain cannot end short without an `Err` in it.
    fn next_entry(&mut self) -> Option<Result<Entry>> {
        while self.pos >= self.current.len() {
            match self.next_batch() {
                Ok(Some(b)) => {
                    self.current = b;
                    self.pos = 0;
                }
                Ok(None) => return None,
                Err(_) if self.failure_yielded => return None,
                Err(e) => {
                    self.failure_yielded = true;
                    return Some(Err(e));
                }
            }
        }
        let (lsn, data) = self.current.get(self.pos)?;
        self.pos += 1;
        Some(Ok(Entry {
            lsn,
            data: data.to_vec(),
        }))
    }

    /// The outcome once the consumer stopped: an error, an entry left
    /// undelivered, or the summary and the segments a consume may delete.
    fn outcome(&mut self) -> Outcome {
        let undelivered = self.next_batch()?.is_some_and(|b| !b.is_empty());
        let reader = self.reader.as_mut().ok_or(Error::Closed)?;
        let consumable = reader.consumable.clone()?;
        if undelivered {
            return Err(Error::ReceiverDropped);
        }
        Ok((std::mem::take(&mut reader.summary), consumable))
    }
}

impl Replay {
    /// The next batch of entries, in replay order; `None` at the end. Every
    /// record in it was checked (CRC32C, salt, LSN); corruption is an error
    /// naming the segment and offset, and ends the replay.
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
    /// let mut replay = wal.replay(ReplayOptions::all().backward())?;
    /// let mut lsns = Vec::new();
    /// while let Some(batch) = replay.next_batch()? {
    ///     lsns.extend(batch.iter().map(|(lsn, _)| lsn));
    /// }
    /// assert_eq!(lsns, [3, 2, 1]);
    /// assert_eq!(replay.finish()?.entries, 3);
    /// # Ok(()) }
    /// ```
    pub fn next_batch(&mut self) -> Result<Option<Batch>> {
        self.pull.get_mut().next_batch()
    }

    /// The batches as an iterator of results; it ends after the first error.
    pub fn batches(&mut self) -> impl Iterator<Item = Result<Batch>> + '_ {
        let mut failed = false;
        std::iter::from_fn(move || {
            if failed {
                return None;
            }
            let next = self.next_batch();
            failed = next.is_err();
            next.transpose()
        })
    }

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
        &self.feeder.get_or_init(|| self.start_feeder()).rx
    }

    /// Moves the reading to a thread that feeds the channel, starting with
    /// what the entry iterator had not yet taken.
    fn start_feeder(&self) -> Feeder {
        let (tx, rx) = crossbeam_channel::bounded(self.shared.config.replay_channel_capacity);
        let mut pull = std::mem::replace(&mut *self.pull.lock(), Pull::new(None));
        let handle = std::thread::Builder::new()
            .name("xwal-replay".into())
            .spawn(move || feed(&mut pull, &tx))
            .ok();
        Feeder { rx, handle }
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
        let (mut summary, consumable) = match self.feeder.take() {
            Some(feeder) => feeder.outcome()?,
            None => self.pull.get_mut().outcome()?,
        };
        summary.consumed = crate::ids::wrap_all(self.shared.consume_segments(&consumable)?);
        Ok(summary)
    }
}

impl Feeder {
    /// Waits, without polling, until the feeder thread has sent everything
    /// (its sender is gone) or an entry is waiting unreceived.
    fn outcome(mut self) -> Outcome {
        // An entry here is undelivered for sure; a disconnect means every
        // entry sent was received (the sender goes only after the last send).
        let undelivered = self.rx.recv().is_ok();
        // Unblocks a thread stuck on a full channel.
        drop(std::mem::replace(&mut self.rx, crossbeam_channel::never()));
        let outcome = match self.handle.take().map(|h| h.join()) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Err(Error::Io {
                context: "replay thread panicked".into(),
                source: std::io::Error::other("panic").into(),
            }),
            None => Err(Error::io(
                "spawning the replay thread",
                std::io::Error::other("thread refused"),
            )),
        };
        let result = outcome?;
        if undelivered {
            return Err(Error::ReceiverDropped);
        }
        Ok(result)
    }
}

/// The feeder thread: sends every entry, then the outcome.
fn feed(pull: &mut Pull, tx: &Sender<Entry>) -> Outcome {
    while let Some(batch) = pull.next_batch()? {
        for (lsn, data) in batch.iter() {
            let entry = Entry {
                lsn,
                data: data.to_vec(),
            };
            tx.send(entry).map_err(|_| Error::ReceiverDropped)?;
        }
    }
    pull.outcome()
}

/// Entries in replay order. Corruption (or any failure) is an `Err` item,
/// after which the iterator ends: collecting into `Result<Vec<_>>` or using
/// `?` in the loop cannot mistake a damaged log for a shorter one.
/// [`Replay::finish`] still reports the outcome (and runs a consume). Once
/// [`Replay::receiver`] took the entries, this yields what the channel holds
/// and the failure comes from `finish`.
impl Iterator for Replay {
    type Item = Result<Entry>;
    fn next(&mut self) -> Option<Result<Entry>> {
        match self.feeder.get() {
            Some(f) => f.rx.recv().ok().map(Ok),
            None => self.pull.get_mut().next_entry(),
        }
    }
}

impl Drop for Replay {
    fn drop(&mut self) {
        if let Some(mut f) = self.feeder.take() {
            drop(std::mem::replace(&mut f.rx, crossbeam_channel::never()));
            if let Some(h) = f.handle.take() {
                let _ = h.join();
            }
        }
    }
}

/// Starts a replay; a range that names nothing fails here.
pub(crate) fn spawn(shared: Arc<Shared>, opts: ReplayOptions) -> Result<Replay> {
    let reader = Reader::new(shared.clone(), opts)?;
    Ok(Replay {
        pull: Mutex::new(Pull::new(Some(reader))),
        feeder: OnceLock::new(),
        shared,
    })
}

/// Runs a replay into `tx` on the calling thread. Returns the summary and the
/// segments a consume may delete.
pub(crate) fn run(
    shared: &Arc<Shared>,
    opts: ReplayOptions,
    tx: &Sender<Entry>,
) -> Result<(ReplaySummary, Vec<u64>)> {
    let _span = tracing::debug_span!("replay", ?opts).entered();
    let mut pull = Pull::new(Some(Reader::new(shared.clone(), opts)?));
    feed(&mut pull, tx)
}
