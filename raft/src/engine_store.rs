//! [`RaftEngineLogStore`]: openraft's log store on raft-engine 0.4, TiKV's
//! Raft log engine: the durable store a Rust user would otherwise pick, set
//! beside the xwal store by `xwal-raft-bench` (same nodes, network, batching
//! and state machine). Feature `raft-engine`.
//!
//! The mapping is the plain one a user would write:
//! - entries are raft-engine entries of one region (its memtable indexes
//!   them; the data stays in its files), each the entry's JSON behind its
//!   index;
//! - the vote, the committed and purged log ids, and a pending truncation are
//!   raft-engine key-values;
//! - every `append` is one `LogBatch` written with `sync = true` on tokio's
//!   blocking pool, then openraft's flushed callback: one synced write per
//!   append, raft-engine's own group commit merging concurrent ones.

use crate::{Entry, LogId, StorageError, TypeConfig, io_error};
use openraft::storage::{LogFlushed, LogState, RaftLogStorage};
use openraft::{ErrorVerb, OptionalSend, RaftLogReader, Vote};
use protobuf::well_known_types::BytesValue;
use raft_engine::{Engine, LogBatch, MessageExt};
use std::fmt::Debug;
use std::ops::{Bound, RangeBounds};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// The one Raft group (raft-engine "region") of the store.
const REGION: u64 = 1;
const VOTE: &[u8] = b"vote";
const COMMITTED: &[u8] = b"committed";
const PURGED: &[u8] = b"purged";
/// Entries from this index on are gone (a truncation not yet overwritten).
const TRUNCATED_FROM: &[u8] = b"truncated_from";

/// An entry as raft-engine keeps it: its index (8 bytes, big-endian), then
/// the entry's JSON, in a protobuf `BytesValue`.
struct EntryMessage;

impl MessageExt for EntryMessage {
    type Entry = BytesValue;

    fn index(e: &BytesValue) -> u64 {
        let mut b = [0u8; 8];
        let n = e.value.len().min(8);
        b[..n].copy_from_slice(&e.value[..n]);
        u64::from_be_bytes(b)
    }
}

fn encode_entry(e: &Entry) -> Result<BytesValue, StorageError> {
    let mut value = e.log_id.index.to_be_bytes().to_vec();
    serde_json::to_writer(&mut value, e).map_err(|e| io_error(ErrorVerb::Write, e))?;
    let mut m = BytesValue::new();
    m.value = value;
    Ok(m)
}

fn decode_entry(m: &BytesValue) -> Result<Entry, StorageError> {
    let json = m.value.get(8..).unwrap_or_default();
    serde_json::from_slice(json).map_err(|e| io_error(ErrorVerb::Read, e))
}

/// See the module documentation. Clones share the engine.
#[derive(Clone)]
pub struct RaftEngineLogStore {
    engine: Arc<Engine>,
    commits: Arc<AtomicU64>,
    entries: Arc<AtomicU64>,
}

impl RaftEngineLogStore {
    /// Opens (or creates) a raft-engine directory at `dir`, with raft-engine's
    /// default configuration.
    pub fn open(dir: &std::path::Path) -> Result<RaftEngineLogStore, StorageError> {
        // raft-engine creates its directory, not the parents.
        std::fs::create_dir_all(dir).map_err(|e| io_error(ErrorVerb::Write, e))?;
        let config = raft_engine::Config {
            dir: dir.to_string_lossy().into_owned(),
            ..Default::default()
        };
        let engine = Engine::open(config).map_err(|e| io_error(ErrorVerb::Read, e))?;
        Ok(RaftEngineLogStore {
            engine: Arc::new(engine),
            commits: Arc::default(),
            entries: Arc::default(),
        })
    }

    /// `(synced writes of entries, entries they carried)` so far.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.commits.load(Ordering::Relaxed),
            self.entries.load(Ordering::Relaxed),
        )
    }

    fn get<T: serde::de::DeserializeOwned>(&self, key: &[u8]) -> Result<Option<T>, StorageError> {
        match self.engine.get(REGION, key) {
            None => Ok(None),
            Some(v) => serde_json::from_slice(&v)
                .map(Some)
                .map_err(|e| io_error(ErrorVerb::Read, e)),
        }
    }

    /// Writes one key-value, synced or not.
    fn put<T: serde::Serialize>(&self, key: &[u8], v: &T, sync: bool) -> Result<(), StorageError> {
        let bytes = serde_json::to_vec(v).map_err(|e| io_error(ErrorVerb::Write, e))?;
        let mut b = LogBatch::default();
        b.put(REGION, key.to_vec(), bytes)
            .map_err(|e| io_error(ErrorVerb::Write, e))?;
        self.engine
            .write(&mut b, sync)
            .map_err(|e| io_error(ErrorVerb::Write, e))?;
        Ok(())
    }

    /// The indexes present: `[first, end)`, past a pending truncation.
    fn span(&self) -> Result<Option<(u64, u64)>, StorageError> {
        let (Some(first), Some(last)) = (
            self.engine.first_index(REGION),
            self.engine.last_index(REGION),
        ) else {
            return Ok(None);
        };
        let end = match self.get::<u64>(TRUNCATED_FROM)? {
            Some(t) => (last + 1).min(t),
            None => last + 1,
        };
        Ok((first < end).then_some((first, end)))
    }

    fn read(&self, from: u64, to: u64) -> Result<Vec<Entry>, StorageError> {
        let mut raw = Vec::new();
        self.engine
            .fetch_entries_to::<EntryMessage>(REGION, from, to, None, &mut raw)
            .map_err(|e| io_error(ErrorVerb::Read, e))?;
        raw.iter().map(decode_entry).collect()
    }
}

impl RaftLogReader<TypeConfig> for RaftEngineLogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError> {
        let Some((first, end)) = self.span()? else {
            return Ok(vec![]);
        };
        let lo = match range.start_bound() {
            Bound::Included(&s) => s,
            Bound::Excluded(&s) => s + 1,
            Bound::Unbounded => 0,
        }
        .max(first);
        let hi = match range.end_bound() {
            Bound::Included(&e) => e.saturating_add(1),
            Bound::Excluded(&e) => e,
            Bound::Unbounded => u64::MAX,
        }
        .min(end);
        if lo >= hi {
            return Ok(vec![]);
        }
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.read(lo, hi))
            .await
            .map_err(|e| io_error(ErrorVerb::Read, e))?
    }
}

impl RaftLogStorage<TypeConfig> for RaftEngineLogStore {
    type LogReader = Self;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError> {
        let last_purged: Option<LogId> = self.get(PURGED)?;
        let last = match self.span()? {
            Some((_, end)) => self.read(end - 1, end)?.first().map(|e| e.log_id),
            None => None,
        };
        Ok(LogState {
            last_purged_log_id: last_purged,
            last_log_id: last.or(last_purged),
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<u64>) -> Result<(), StorageError> {
        self.put(VOTE, vote, true)
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<u64>>, StorageError> {
        self.get(VOTE)
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), StorageError> {
        // Durable with the next synced write.
        self.put(COMMITTED, &committed, false)
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, StorageError> {
        Ok(self.get::<Option<LogId>>(COMMITTED)?.flatten())
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
        let msgs: Vec<BytesValue> = entries
            .into_iter()
            .map(|e| encode_entry(&e))
            .collect::<Result<_, _>>()?;
        if msgs.is_empty() {
            callback.log_io_completed(Ok(()));
            return Ok(());
        }
        let mut batch = LogBatch::default();
        batch
            .add_entries::<EntryMessage>(REGION, &msgs)
            .map_err(|e| io_error(ErrorVerb::Write, e))?;
        // The entries overwrite a pending truncation's range.
        batch.delete(REGION, TRUNCATED_FROM.to_vec());
        let (engine, commits, entries) = (
            self.engine.clone(),
            self.commits.clone(),
            self.entries.clone(),
        );
        let n = msgs.len() as u64;
        tokio::task::spawn_blocking(move || {
            let r = engine.write(&mut batch, true).map(|_| ());
            commits.fetch_add(1, Ordering::Relaxed);
            entries.fetch_add(n, Ordering::Relaxed);
            callback.log_io_completed(r.map_err(std::io::Error::other));
        });
        Ok(())
    }

    async fn truncate(&mut self, log_id: LogId) -> Result<(), StorageError> {
        let pending: Option<u64> = self.get(TRUNCATED_FROM)?;
        let from = pending.map_or(log_id.index, |p| p.min(log_id.index));
        self.put(TRUNCATED_FROM, &from, true)
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), StorageError> {
        self.put(PURGED, &log_id, true)?;
        self.engine.compact_to(REGION, log_id.index + 1);
        Ok(())
    }
}
