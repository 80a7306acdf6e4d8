//! A live tail: every entry from an LSN on, first from the segments, then
//! each new one once it is durable, read from the writer's copies of recent
//! commits (no disk read while the tail keeps up) or, behind them, from disk.

use super::batch::{Batch, BatchBuilder};
use super::follow::Follower;
use super::reader::Reader;
use super::scan::ChunkScanner;
use super::{Entry, ReplayOptions, ReplayRange};
use crate::error::{Error, Result};
use crate::feed::{Committed, Wait};
use crate::ids::Lsn;
use crate::shared::Shared;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Follows the log from an LSN on; see [`Wal::tail`](crate::Wal::tail). On a
/// read-only view ([`Wal::open_read_only`](crate::Wal::open_read_only)) it
/// follows what another process writes: an entry is delivered once the log
/// proves it durable (a later record names it durable, or the segment was
/// sealed), and new records are noticed through inotify on the directory
/// (with a look at least every 100 ms).
///
/// Entries come by the batch ([`Tail::next_batch`], [`Tail::next_batch_timeout`])
/// or one by one (it is an [`Iterator`] of `Result<Entry>`). Every entry is
/// delivered once, in LSN order, and only once it is durable: never one that
/// a crash could still take back. It ends with an error: [`Error::Closed`]
/// once the WAL is closed and everything durable was delivered, the fence
/// error if a write failed, [`Error::TailBehindRemoval`] if segments it
/// still needed were removed.
///
/// # Examples
///
/// ```
/// # fn main() -> xwal::Result<()> {
/// use std::time::Duration;
/// use xwal::{Config, Wal};
///
/// let dir = tempfile::tempdir_in(".").unwrap();
/// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
/// let (wal, _) = Wal::open(config)?;
/// wal.append(b"before")?;
/// let mut tail = wal.tail(xwal::Lsn(1))?;
/// wal.append(b"after")?;
/// let mut seen = Vec::new();
/// while seen.len() < 2 {
///     if let Some(batch) = tail.next_batch_timeout(Duration::from_secs(10))? {
///         seen.extend(batch.iter().map(|(lsn, data)| (lsn.get(), data.to_vec())));
///     }
/// }
/// assert_eq!(seen, [(1, b"before".to_vec()), (2, b"after".to_vec())]);
/// // Nothing new: the wait times out.
/// assert!(tail.next_batch_timeout(Duration::from_millis(1))?.is_none());
/// # Ok(()) }
/// ```
pub struct Tail {
    shared: Arc<Shared>,
    /// The next LSN to look at (everything below was delivered or skipped).
    next: u64,
    /// Reading from the segments up to the LSN the reader was started for.
    catch_up: Option<(Reader, u64)>,
    /// On a read-only view: follows another process's writes.
    follower: Option<Follower>,
    /// Entries of the batch the iterator is in.
    current: Batch,
    pos: usize,
    failure: Option<Error>,
}

impl Tail {
    pub(crate) fn new(shared: Arc<Shared>, from: u64) -> Result<Tail> {
        let follower = match shared.read_only {
            true => Some(Follower::new(shared.clone(), from)?),
            false => {
                shared.feed.register();
                None
            }
        };
        Ok(Tail {
            shared,
            next: from.max(1),
            catch_up: None,
            follower,
            current: Batch::default(),
            pos: 0,
            failure: None,
        })
    }

    /// The next LSN the tail will look at.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use std::time::Duration;
    /// use xwal::{Config, Wal};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
    /// let (wal, _) = Wal::open(config)?;
    /// wal.append_batch(["a", "b"])?;
    /// let mut tail = wal.tail(xwal::Lsn(2))?;
    /// assert_eq!(tail.next_lsn(), 2);
    /// tail.next_batch()?;
    /// assert_eq!(tail.next_lsn(), 3);
    /// # Ok(()) }
    /// ```
    pub fn next_lsn(&self) -> Lsn {
        Lsn(self.next)
    }

    /// The next batch of durable entries, waiting as long as it takes.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use std::time::Duration;
    /// use xwal::{Config, Wal};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
    /// let (wal, _) = Wal::open(config)?;
    /// wal.append_batch(["a", "b"])?;
    /// let mut tail = wal.tail(xwal::Lsn(2))?;
    /// let batch = tail.next_batch()?;
    /// assert_eq!(batch.get(0), Some((xwal::Lsn(2), &b"b"[..])));
    /// # Ok(()) }
    /// ```
    pub fn next_batch(&mut self) -> Result<Batch> {
        loop {
            if let Some(b) = self.next_batch_until(None)? {
                return Ok(b);
            }
        }
    }

    /// The next batch of durable entries, or `None` if none arrived within `timeout`.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use std::time::Duration;
    /// use xwal::{Config, Wal};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
    /// let (wal, _) = Wal::open(config)?;
    /// wal.append_batch(["a", "b"])?;
    /// let mut tail = wal.tail(xwal::Lsn(2))?;
    /// assert!(tail.next_batch_timeout(Duration::from_secs(10))?.is_some());
    /// assert!(tail.next_batch_timeout(Duration::from_millis(1))?.is_none());
    /// # Ok(()) }
    /// ```
    pub fn next_batch_timeout(&mut self, timeout: Duration) -> Result<Option<Batch>> {
        self.next_batch_until(Some(Instant::now() + timeout))
    }

    fn next_batch_until(&mut self, deadline: Option<Instant>) -> Result<Option<Batch>> {
        if let Some(e) = &self.failure {
            return Err(e.clone());
        }
        let from = self.next;
        let r = self.step(deadline);
        match &r {
            Err(e) => self.failure = Some(e.clone()),
            Ok(Some(b)) => check_delivery(b, from, self.next),
            Ok(None) => {}
        }
        r
    }

    fn step(&mut self, deadline: Option<Instant>) -> Result<Option<Batch>> {
        if let Some(f) = self.follower.as_mut() {
            let b = f.next_batch(deadline)?;
            self.next = f.next;
            return Ok(b);
        }
        loop {
            if let Some(b) = self.read_catch_up()? {
                return Ok(Some(b));
            }
            let durable = match self.shared.feed.wait(self.next, deadline) {
                Wait::Durable(d) => d,
                Wait::TimedOut => return Ok(None),
                Wait::Ended(e) => return Err(e),
            };
            if let Some(c) = self.shared.feed.find(self.next) {
                let b = self.batch_of_copy(&c, durable)?;
                if !b.is_empty() {
                    return Ok(Some(b));
                }
                continue;
            }
            self.start_catch_up(durable)?;
        }
    }

    /// The next batch of the catch-up read, if one is running.
    fn read_catch_up(&mut self) -> Result<Option<Batch>> {
        let Some((reader, to)) = self.catch_up.as_mut() else {
            return Ok(None);
        };
        let next = self.next;
        let read = reader.next_batch().map_err(|e| match e {
            // Removed between the plan and the read: say so, as for one
            // removed before.
            Error::NotFound {
                what: "segment", ..
            } => Error::TailBehindRemoval {
                needed: Lsn(next),
                first_present: Lsn(first_present_lsn(&self.shared).unwrap_or(next)),
            },
            e => e,
        })?;
        match read {
            Some(b) => {
                if let Some((_, last)) = b.lsns() {
                    self.next = last.0 + 1;
                }
                Ok(Some(b))
            }
            None => {
                self.next = *to + 1;
                self.catch_up = None;
                Ok(None)
            }
        }
    }

    /// Reads `next..=durable` from the segments (behind the writer's copies).
    fn start_catch_up(&mut self, durable: u64) -> Result<()> {
        let range = ReplayRange::Lsns {
            from: Lsn(self.next),
            to: Lsn(durable),
        };
        let reader = Reader::new(self.shared.clone(), ReplayOptions::all().range(range))?;
        match reader.first_present {
            Some(first) if first > self.next => Err(Error::TailBehindRemoval {
                needed: Lsn(self.next),
                first_present: Lsn(first),
            }),
            None => Err(Error::TailBehindRemoval {
                needed: Lsn(self.next),
                first_present: Lsn(durable + 1),
            }),
            Some(_) => {
                self.catch_up = Some((reader, durable));
                Ok(())
            }
        }
    }

    /// The entries `next..=durable` of a commit the writer copied.
    fn batch_of_copy(&mut self, c: &Committed, durable: u64) -> Result<Batch> {
        // The copy carries what decoding needs: its segment may be gone by now.
        let meta = crate::shared::SegmentMeta {
            segment: c.segment,
            first_lsn: c.first_lsn,
            salt: c.salt,
            max_entry_size: c.max_entry_size,
            capacity: u64::MAX,
            checkpoint: false,
            lsn_gap_before: false,
        };
        let stop = c.last_lsn.min(durable);
        debug_assert!(c.first_lsn <= self.next && self.next <= stop);
        let mut scanner = ChunkScanner::new(&meta, c.offset, c.first_lsn, stop);
        let mut b = BatchBuilder::new(self.next, stop);
        b.add_bytes(&mut scanner, c.offset, c.records.clone())?;
        if !scanner.done() {
            return Err(scanner.ended_early());
        }
        self.next = stop + 1;
        Ok(b.finish(false))
    }
}

/// The first LSN of the oldest segment present, locally or in the tier.
/// A tail hands out each LSN once, in order: a batch starts at or after the
/// LSN it was asked for (skipped LSNs hold no entry), and the tail moves past
/// its last entry.
fn check_delivery(b: &Batch, from: u64, next: u64) {
    if let Some((first, last)) = b.lsns() {
        assert!(
            from <= first.get() && first <= last && last.get() < next,
            "tail batch {first}..={last} asked from {from}, next {next}"
        );
    }
}

fn first_present_lsn(shared: &Shared) -> Option<u64> {
    let (local, _) = shared.snapshot();
    let all = match &shared.tier {
        Some(t) => t.visible_now(local),
        None => local,
    };
    all.first().map(|m| m.first_lsn)
}

impl Iterator for Tail {
    type Item = Result<Entry>;

    /// The next durable entry, waiting for it; `None` after an error was returned.
    fn next(&mut self) -> Option<Result<Entry>> {
        while self.pos >= self.current.len() {
            if self.failure.is_some() {
                return None;
            }
            match self.next_batch() {
                Ok(b) => (self.current, self.pos) = (b, 0),
                Err(e) => return Some(Err(e)),
            }
        }
        let (lsn, data) = self.current.get(self.pos)?;
        self.pos += 1;
        Some(Ok(Entry {
            lsn,
            data: data.to_vec(),
        }))
    }
}

impl Drop for Tail {
    fn drop(&mut self) {
        if self.follower.is_none() {
            self.shared.feed.unregister();
        }
    }
}
