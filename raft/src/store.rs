//! [`XwalLogStore`]: openraft's `RaftLogStorage` and `RaftLogReader` on a
//! `Wal` (see the crate documentation for the mapping).

use crate::records::Record;
use crate::{Entry, LogId, StorageError, TypeConfig, io_error, wal_error};
use openraft::storage::{LogFlushed, LogState, RaftLogStorage};
use openraft::{CommittedLeaderId, ErrorVerb, OptionalSend, RaftLogReader, Vote};
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::ops::{Bound, RangeBounds};
use std::sync::{Arc, Mutex, MutexGuard};
use xwal::{CommitTicket, Config, Lsn, ReplayOptions, ReplayRange, Wal};

/// Recent entries kept in memory, so a leader replicating what it just
/// appended does not read the disk.
pub const CACHE_ENTRIES: usize = 8192;

/// Consecutive Raft indexes at consecutive LSNs.
#[derive(Debug, Clone)]
struct Run {
    first_index: u64,
    first_lsn: Lsn,
    count: u64,
    /// `(index, leader)` wherever the leader changes; the first is at `first_index`.
    leaders: Vec<(u64, CommittedLeaderId<u64>)>,
}

impl Run {
    /// One past the last index.
    fn end(&self) -> u64 {
        self.first_index + self.count
    }

    fn lsn_of(&self, index: u64) -> Lsn {
        debug_assert!(index >= self.first_index && index < self.end());
        self.first_lsn + (index - self.first_index)
    }

    fn log_id_of(&self, index: u64) -> LogId {
        let at = self.leaders.partition_point(|l| l.0 <= index).max(1) - 1;
        LogId::new(self.leaders[at].1, index)
    }

    /// Keeps the indexes below `index`.
    fn keep_below(&mut self, index: u64) {
        self.count = index.saturating_sub(self.first_index).min(self.count);
        self.leaders.retain(|l| l.0 < index);
    }

    /// Keeps the indexes from `index` on.
    fn keep_from(&mut self, index: u64) {
        let drop = index.saturating_sub(self.first_index).min(self.count);
        let leader = self
            .log_id_of(index.min(self.end().saturating_sub(1)))
            .leader_id;
        self.first_index += drop;
        self.first_lsn += drop;
        self.count -= drop;
        self.leaders.retain(|l| l.0 > self.first_index);
        self.leaders.insert(0, (self.first_index, leader));
    }
}

/// What the store knows without reading the WAL: rebuilt at open.
#[derive(Debug, Default)]
struct Index {
    runs: Vec<Run>,
    last_entry: Option<LogId>,
    last_purged: Option<LogId>,
    /// The vote and the LSN of its record.
    vote: Option<(Vote<u64>, Lsn)>,
    committed: Option<LogId>,
    cache: BTreeMap<u64, Entry>,
}

impl Index {
    fn add_entry(&mut self, entry: &Entry, lsn: Lsn) {
        let index = entry.log_id.index;
        // Every overwrite is preceded by a Truncate record; this only guards.
        if self.last_entry.is_some_and(|l| index <= l.index) {
            self.truncate(index);
        }
        let leader = entry.log_id.leader_id;
        match self.runs.last_mut() {
            Some(r) if r.end() == index && r.first_lsn + r.count == lsn => {
                r.count += 1;
                if r.leaders.last().is_none_or(|l| l.1 != leader) {
                    r.leaders.push((index, leader));
                }
            }
            _ => self.runs.push(Run {
                first_index: index,
                first_lsn: lsn,
                count: 1,
                leaders: vec![(index, leader)],
            }),
        }
        self.last_entry = Some(entry.log_id);
        self.cache.insert(index, entry.clone());
        while self.cache.len() > CACHE_ENTRIES {
            self.cache.pop_first();
        }
    }

    fn truncate(&mut self, index: u64) {
        while let Some(r) = self.runs.last_mut() {
            if r.first_index >= index {
                self.runs.pop();
                continue;
            }
            if r.end() > index {
                r.keep_below(index);
            }
            break;
        }
        self.cache.split_off(&index);
        self.last_entry = self.runs.last().map(|r| r.log_id_of(r.end() - 1));
    }

    fn purge(&mut self, log_id: LogId) {
        if self.last_purged.is_some_and(|p| p.index >= log_id.index) {
            return;
        }
        self.last_purged = Some(log_id);
        let from = log_id.index + 1;
        self.runs.retain(|r| r.end() > from);
        if let Some(r) = self.runs.first_mut()
            && r.first_index < from
        {
            r.keep_from(from);
        }
        self.cache = self.cache.split_off(&from);
        if self.last_entry.is_some_and(|l| l.index < from) {
            self.last_entry = None;
        }
    }

    fn last_log_id(&self) -> Option<LogId> {
        self.last_entry.or(self.last_purged)
    }

    fn run_of(&self, index: u64) -> Option<&Run> {
        let at = self.runs.partition_point(|r| r.end() <= index);
        self.runs.get(at).filter(|r| r.first_index <= index)
    }

    fn apply(&mut self, rec: Record, lsn: Lsn) {
        match rec {
            Record::Entry { entry, committed } => {
                if committed > self.committed {
                    self.committed = committed;
                }
                self.add_entry(&entry, lsn);
            }
            Record::Vote(v) => self.vote = Some((v, lsn)),
            Record::Truncate(i) => self.truncate(i),
            Record::Purge(l) => self.purge(l),
        }
    }
}

/// openraft's log store on an xwal `Wal`. Clones share the WAL and the index
/// (a clone is the log reader).
#[derive(Clone)]
pub struct XwalLogStore {
    wal: Arc<Wal>,
    index: Arc<Mutex<Index>>,
    /// Runs at every read from the WAL (tests: on which thread it runs).
    #[cfg(test)]
    wal_read_hook: Option<Arc<dyn Fn() + Send + Sync>>,
}

impl XwalLogStore {
    /// Opens (or creates) the WAL and rebuilds the index by replaying it once.
    pub fn open(config: Config) -> Result<XwalLogStore, StorageError> {
        let read = |e: xwal::Error| wal_error(ErrorVerb::Read, e);
        let (wal, _) = Wal::open(config).map_err(read)?;
        let mut index = Index::default();
        let mut replay = wal.replay(ReplayOptions::all()).map_err(read)?;
        while let Some(batch) = replay.next_batch().map_err(read)? {
            for (lsn, data) in batch.iter() {
                let rec = Record::decode(data).map_err(|e| {
                    io_error(
                        ErrorVerb::Read,
                        format!("LSN {lsn} is no record of this store: {e}"),
                    )
                })?;
                index.apply(rec, lsn);
            }
        }
        replay.finish().map_err(read)?;
        Ok(XwalLogStore {
            wal: Arc::new(wal),
            index: Arc::new(Mutex::new(index)),
            #[cfg(test)]
            wal_read_hook: None,
        })
    }

    /// The WAL underneath.
    pub fn wal(&self) -> &Arc<Wal> {
        &self.wal
    }

    fn lock(&self) -> MutexGuard<'_, Index> {
        self.index.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn submit(&self, rec: &Record) -> Result<CommitTicket, StorageError> {
        self.wal
            .submit(rec.encode())
            .map_err(|e| wal_error(ErrorVerb::Write, e))
    }

    /// Writes `rec` and waits until it is durable.
    async fn write_durable(&self, rec: &Record) -> Result<Lsn, StorageError> {
        let t = self.submit(rec)?;
        t.await.map_err(|e| wal_error(ErrorVerb::Write, e))
    }

    /// Reads entries `[from, to)` from the WAL (below the cache). Blocks on
    /// the disk: never called on an async worker.
    fn read_from_wal(&self, from: u64, to: u64) -> Result<Vec<Entry>, StorageError> {
        #[cfg(test)]
        if let Some(hook) = &self.wal_read_hook {
            hook();
        }
        let runs: Vec<Run> = {
            let g = self.lock();
            g.runs
                .iter()
                .filter(|r| r.end() > from && r.first_index < to)
                .cloned()
                .collect()
        };
        let read = |e: xwal::Error| wal_error(ErrorVerb::Read, e);
        let mut out = Vec::new();
        for r in runs {
            let (a, b) = (from.max(r.first_index), to.min(r.end()));
            let range = ReplayRange::Lsns {
                from: r.lsn_of(a),
                to: r.lsn_of(b - 1),
            };
            let mut replay = self
                .wal
                .replay(ReplayOptions::all().range(range))
                .map_err(read)?;
            let mut expected = a;
            while let Some(batch) = replay.next_batch().map_err(read)? {
                for (lsn, data) in batch.iter() {
                    let Ok(Record::Entry { entry, .. }) = Record::decode(data) else {
                        return Err(io_error(
                            ErrorVerb::Read,
                            format!("LSN {lsn} holds no entry"),
                        ));
                    };
                    if entry.log_id.index != expected {
                        return Err(io_error(
                            ErrorVerb::Read,
                            format!(
                                "LSN {lsn} holds index {}, expected {expected}",
                                entry.log_id.index
                            ),
                        ));
                    }
                    expected += 1;
                    out.push(entry);
                }
            }
            replay.finish().map_err(read)?;
        }
        Ok(out)
    }

    /// [`XwalLogStore::read_from_wal`] on tokio's blocking pool: a follower
    /// lagging past the cache is read from disk without holding a worker
    /// that the network and openraft's core need meanwhile.
    async fn read_off_the_workers(&self, from: u64, to: u64) -> Result<Vec<Entry>, StorageError> {
        if tokio::runtime::Handle::try_current().is_err() {
            // Polled by another executor: there is no pool to move to.
            return self.read_from_wal(from, to);
        }
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.read_from_wal(from, to))
            .await
            .map_err(|e| io_error(ErrorVerb::Read, e))?
    }

    /// The segments a purge through `lsn` may delete: sealed ones whose last LSN is at most `lsn`.
    fn purgeable_through(&self, lsn: Lsn) -> Option<(xwal::SegmentId, Lsn)> {
        let segs = self.wal.segments();
        let mut best = None;
        for w in segs.windows(2) {
            let last = w[1].first_lsn.saturating_sub(1);
            if last <= lsn {
                best = Some((w[0].segment, last));
            }
        }
        best
    }
}

fn bounds(range: &impl RangeBounds<u64>) -> (u64, u64) {
    let start = match range.start_bound() {
        Bound::Included(&s) => s,
        Bound::Excluded(&s) => s + 1,
        Bound::Unbounded => 0,
    };
    let end = match range.end_bound() {
        Bound::Included(&e) => e.saturating_add(1),
        Bound::Excluded(&e) => e,
        Bound::Unbounded => u64::MAX,
    };
    (start, end)
}

impl RaftLogReader<TypeConfig> for XwalLogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError> {
        let (start, end) = bounds(&range);
        let (lo, hi, cached_from, mut cached) = {
            let g = self.lock();
            let lo = start.max(g.last_purged.map_or(0, |p| p.index + 1));
            let hi = end.min(g.last_entry.map_or(0, |l| l.index + 1));
            if lo >= hi {
                return Ok(vec![]);
            }
            let cached_from = g
                .cache
                .first_key_value()
                .map_or(hi, |(k, _)| (*k).clamp(lo, hi));
            let cached: Vec<Entry> = g
                .cache
                .range(cached_from..hi)
                .map(|(_, e)| e.clone())
                .collect();
            (lo, hi, cached_from, cached)
        };
        debug_assert!(lo <= cached_from && cached_from <= hi);
        let mut out = if lo < cached_from {
            self.read_off_the_workers(lo, cached_from).await?
        } else {
            Vec::new()
        };
        out.append(&mut cached);
        Ok(out)
    }
}

impl RaftLogStorage<TypeConfig> for XwalLogStore {
    type LogReader = Self;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError> {
        let g = self.lock();
        Ok(LogState {
            last_purged_log_id: g.last_purged,
            last_log_id: g.last_log_id(),
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<u64>) -> Result<(), StorageError> {
        let lsn = self.write_durable(&Record::Vote(*vote)).await?;
        self.lock().vote = Some((*vote, lsn));
        Ok(())
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<u64>>, StorageError> {
        Ok(self.lock().vote.map(|v| v.0))
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), StorageError> {
        // Made durable with the next record written (an entry carries it).
        let mut g = self.lock();
        if committed > g.committed {
            g.committed = committed;
        }
        Ok(())
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, StorageError> {
        Ok(self.lock().committed)
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut last: Option<CommitTicket> = None;
        {
            let mut g = self.lock();
            for entry in entries {
                let rec = Record::Entry {
                    entry,
                    committed: g.committed,
                };
                let t = self.submit(&rec)?;
                if let Record::Entry { entry, .. } = &rec {
                    g.add_entry(entry, t.lsn());
                }
                last = Some(t);
            }
        }
        match last {
            // xwal acknowledges in LSN order: the last durable means all are.
            // The callback runs where the ticket resolves (the WAL's writer,
            // or a producer committing as leader): no task per append.
            Some(t) => t.on_durable(move |r| {
                callback.log_io_completed(r.map(|_| ()).map_err(std::io::Error::other));
            }),
            None => callback.log_io_completed(Ok(())),
        }
        Ok(())
    }

    async fn truncate(&mut self, log_id: LogId) -> Result<(), StorageError> {
        let t = {
            let mut g = self.lock();
            let t = self.submit(&Record::Truncate(log_id.index))?;
            g.truncate(log_id.index);
            t
        };
        t.await.map_err(|e| wal_error(ErrorVerb::Write, e))?;
        Ok(())
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), StorageError> {
        let (t, cut) = {
            let mut g = self.lock();
            let cut = g.run_of(log_id.index).map(|r| r.lsn_of(log_id.index));
            let t = self.submit(&Record::Purge(log_id))?;
            g.purge(log_id);
            (t, cut)
        };
        t.await.map_err(|e| wal_error(ErrorVerb::Write, e))?;
        let Some((segment, last_lsn)) = cut.and_then(|lsn| self.purgeable_through(lsn)) else {
            return Ok(());
        };
        // The vote must outlive the segments that go: write it again after them.
        let vote = self.lock().vote.filter(|v| v.1 <= last_lsn);
        if let Some((v, _)) = vote {
            let lsn = self.write_durable(&Record::Vote(v)).await?;
            self.lock().vote = Some((v, lsn));
        }
        self.wal
            .purge_through(segment)
            .map_err(|e| wal_error(ErrorVerb::Delete, e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openraft::EntryPayload;
    use openraft::storage::RaftLogStorageExt;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    fn blank(index: u64) -> Entry {
        Entry {
            log_id: LogId::new(CommittedLeaderId::new(1, 1), index),
            payload: EntryPayload::Blank,
        }
    }

    /// Polls `f` to completion on this thread, outside any tokio runtime.
    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        struct Unpark(std::thread::Thread);
        impl std::task::Wake for Unpark {
            fn wake(self: Arc<Self>) {
                self.0.unpark();
            }
        }
        let waker = std::task::Waker::from(Arc::new(Unpark(std::thread::current())));
        let mut cx = std::task::Context::from_waker(&waker);
        let mut f = std::pin::pin!(f);
        loop {
            if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
            std::thread::park();
        }
    }

    /// openraft's flushed callback fires from where the WAL's ticket
    /// resolves: an append completes with no tokio task spawned for it, here
    /// with no tokio runtime at all.
    #[test]
    fn the_flushed_callback_needs_no_task() {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = Config::new(dir.path())
            .segment_size(1 << 20)
            .max_entry_size(64 << 10);
        let mut store = XwalLogStore::open(config).expect("open");
        for from in [1u64, 11, 21] {
            block_on(store.blocking_append((from..from + 10).map(blank))).expect("append");
        }
        assert_eq!(store.wal().durable_index(), 30);
    }

    /// A read below the cache (a lagging follower) runs off the async
    /// workers: on a runtime of one thread, the read waits for a task on that
    /// thread, which can only run if the read does not hold it.
    #[test]
    fn a_lagging_read_runs_off_the_async_workers() {
        let dir = tempfile::tempdir().expect("temp dir");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let blocked = Arc::new(AtomicBool::new(false));
        rt.block_on(async {
            let config = Config::new(dir.path())
                .segment_size(1 << 20)
                .max_entry_size(64 << 10);
            let mut store = XwalLogStore::open(config).expect("open");
            let n = CACHE_ENTRIES as u64 + 10;
            store
                .blocking_append((1..=n).map(blank))
                .await
                .expect("append");
            let (tx, rx) = std::sync::mpsc::channel::<()>();
            let rx = Mutex::new(rx);
            let b = blocked.clone();
            store.wal_read_hook = Some(Arc::new(move || {
                let rx = rx.lock().unwrap_or_else(|e| e.into_inner());
                if rx.recv_timeout(Duration::from_secs(3)).is_err() {
                    b.store(true, Ordering::SeqCst);
                }
            }));
            let mut reader = store.clone();
            let read = tokio::spawn(async move { reader.try_get_log_entries(1..=5).await });
            tokio::task::yield_now().await;
            let _ = tx.send(());
            let got = read.await.expect("join").expect("read");
            assert_eq!(
                got.iter().map(|e| e.log_id.index).collect::<Vec<_>>(),
                [1, 2, 3, 4, 5]
            );
        });
        assert!(
            !blocked.load(Ordering::SeqCst),
            "the read from the WAL held the runtime's only thread"
        );
    }
}
