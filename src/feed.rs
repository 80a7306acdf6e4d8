//! What live tails learn from the writer: the durable LSN as it rises, the
//! end of the writer, and, while a tail is registered, a copy of the records
//! of recent commits so a tail that keeps up never reads the disk.
//!
//! The writer never waits here: it copies a batch's records (one memcpy,
//! only while a tail is registered) when it submits the batch, and publishes
//! the copy under a short lock when the batch is durable. The copies are
//! bounded ([`FEED_LIMIT_BYTES`]); the oldest go first, and a tail that
//! falls behind them reads the segments instead.

use crate::error::Error;
use crate::sync::{Condvar, Mutex};
use bytes::Bytes;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// Bytes of recent records kept for tails.
pub const FEED_LIMIT_BYTES: usize = 8 << 20;

/// The records of one commit, as written.
#[derive(Debug, Clone)]
pub(crate) struct Committed {
    pub segment: u64,
    /// The segment's salt and entry limit, to decode the records by.
    pub salt: u32,
    pub max_entry_size: u32,
    /// File offset of the first record.
    pub offset: u64,
    pub first_lsn: u64,
    pub last_lsn: u64,
    /// The encoded records, back to back.
    pub records: Bytes,
}

#[derive(Default)]
struct State {
    durable: u64,
    ended: Option<Error>,
    /// Durable commits, oldest first, with gaps where no tail was registered.
    recent: VecDeque<Committed>,
    /// Written but not yet durable (policies that do not sync every batch).
    pending: VecDeque<Committed>,
    bytes: usize,
}

/// Drops the oldest copies, durable ones first, until the bound holds. A
/// tail that needs a dropped copy reads the segments.
fn trim(s: &mut State) {
    while s.bytes > FEED_LIMIT_BYTES {
        let Some(old) = s.recent.pop_front().or_else(|| s.pending.pop_front()) else {
            break;
        };
        s.bytes -= old.records.len();
    }
}

/// See the module documentation.
#[derive(Default)]
pub(crate) struct CommitFeed {
    state: Mutex<State>,
    changed: Condvar,
    tails: AtomicUsize,
}

/// What a tail waiting for `lsn` found.
pub(crate) enum Wait {
    /// `lsn` is durable; the durable LSN.
    Durable(u64),
    /// The deadline passed first.
    TimedOut,
    /// The writer ended (closed, fenced, died) before `lsn` became durable.
    Ended(Error),
}

impl CommitFeed {
    pub fn new(durable: u64) -> Self {
        let feed = CommitFeed::default();
        feed.state.lock().durable = durable;
        feed
    }

    /// True while a tail is registered: the writer then copies its batches.
    pub fn wanted(&self) -> bool {
        self.tails.load(Ordering::Acquire) > 0
    }

    pub fn register(&self) {
        self.tails.fetch_add(1, Ordering::AcqRel);
    }

    pub fn unregister(&self) {
        let before = self.tails.fetch_sub(1, Ordering::AcqRel);
        debug_assert!(before > 0);
        if before == 1 {
            let mut s = self.state.lock();
            s.recent.clear();
            s.pending.clear();
            s.bytes = 0;
        }
    }

    /// A batch whose write completed; `durable` if its sync did too.
    pub fn written(&self, copy: Option<Committed>, last_lsn: u64, durable: bool) {
        if copy.is_none() && !durable {
            return;
        }
        let mut s = self.state.lock();
        if let Some(c) = copy {
            debug_assert_eq!(c.last_lsn, last_lsn);
            s.bytes += c.records.len();
            s.pending.push_back(c);
            // Policies that do not sync every batch may write many commits
            // before one is durable: those copies count against the bound too.
            trim(&mut s);
        }
        if durable {
            self.raise_locked(&mut s, last_lsn);
        }
        debug_assert!(s.bytes <= FEED_LIMIT_BYTES);
    }

    /// The durable LSN rose to `lsn` (a sync of what was written before).
    pub fn durable(&self, lsn: u64) {
        let mut s = self.state.lock();
        self.raise_locked(&mut s, lsn);
    }

    fn raise_locked(&self, s: &mut State, lsn: u64) {
        if lsn <= s.durable {
            return;
        }
        s.durable = lsn;
        while s.pending.front().is_some_and(|c| c.last_lsn <= lsn) {
            if let Some(c) = s.pending.pop_front() {
                s.recent.push_back(c);
            }
        }
        trim(s);
        self.changed.notify_all();
    }

    /// The writer is gone: every waiting tail returns.
    pub fn end(&self, e: Error) {
        let mut s = self.state.lock();
        if s.ended.is_none() {
            s.ended = Some(e);
        }
        self.changed.notify_all();
    }

    /// Blocks until `lsn` is durable, the writer ended, or `deadline`.
    pub fn wait(&self, lsn: u64, deadline: Option<Instant>) -> Wait {
        let mut s = self.state.lock();
        loop {
            if s.durable >= lsn {
                return Wait::Durable(s.durable);
            }
            if let Some(e) = &s.ended {
                return Wait::Ended(e.clone());
            }
            match deadline {
                Some(d) => {
                    if crate::sync::wait_until(&self.changed, &mut s, d) && s.durable < lsn {
                        return Wait::TimedOut;
                    }
                }
                None => self.changed.wait(&mut s),
            }
        }
    }

    /// The durable commit holding `lsn`, if still kept.
    pub fn find(&self, lsn: u64) -> Option<Committed> {
        let s = self.state.lock();
        let i = s.recent.partition_point(|c| c.last_lsn < lsn);
        s.recent.get(i).filter(|c| c.first_lsn <= lsn).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(first: u64, last: u64) -> Committed {
        Committed {
            segment: 0,
            salt: 1,
            max_entry_size: 100,
            offset: 4096,
            first_lsn: first,
            last_lsn: last,
            records: Bytes::from(vec![0u8; 100]),
        }
    }

    #[test]
    fn a_commit_is_found_only_once_durable() {
        let f = CommitFeed::new(0);
        f.register();
        f.written(Some(c(1, 3)), 3, false);
        assert!(f.find(2).is_none());
        assert!(matches!(f.wait(1, Some(Instant::now())), Wait::TimedOut));
        f.durable(3);
        assert_eq!(f.find(2).map(|c| c.first_lsn), Some(1));
        assert!(matches!(f.wait(3, None), Wait::Durable(3)));
        assert!(f.find(4).is_none());
    }

    #[test]
    fn the_end_wakes_a_waiter() {
        let f = std::sync::Arc::new(CommitFeed::new(0));
        let g = f.clone();
        let t = std::thread::spawn(move || matches!(g.wait(1, None), Wait::Ended(_)));
        std::thread::sleep(std::time::Duration::from_millis(20));
        f.end(Error::Closed);
        assert!(t.join().unwrap());
    }

    #[test]
    fn copies_are_bounded() {
        let f = CommitFeed::new(0);
        f.register();
        let big = FEED_LIMIT_BYTES / 4 + 1;
        for i in 1..=10u64 {
            let mut x = c(i, i);
            x.records = Bytes::from(vec![0u8; big]);
            f.written(Some(x), i, true);
        }
        assert!(f.state.lock().bytes <= FEED_LIMIT_BYTES);
        assert!(f.find(1).is_none() && f.find(10).is_some());
    }

    /// Under `Interval` and `Never` commits are written long before a sync
    /// makes them durable: those copies are bounded too.
    #[test]
    fn copies_not_yet_durable_are_bounded() {
        let f = CommitFeed::new(0);
        f.register();
        let big = FEED_LIMIT_BYTES / 4 + 1;
        for i in 1..=40u64 {
            let mut x = c(i, i);
            x.records = Bytes::from(vec![0u8; big]);
            f.written(Some(x), i, false);
            assert!(f.state.lock().bytes <= FEED_LIMIT_BYTES, "after commit {i}");
        }
        f.durable(40);
        assert!(f.find(1).is_none() && f.find(40).is_some());
    }
}
