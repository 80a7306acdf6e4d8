//! A small in-memory key-value state machine, for the tests and the example.
//! Its snapshot is the whole map as JSON.

use crate::{LogId, StorageError, TypeConfig};
use openraft::storage::{RaftStateMachine, Snapshot};
use openraft::{
    BasicNode, EntryPayload, RaftSnapshotBuilder, SnapshotMeta, StorageIOError, StoredMembership,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Cursor;
use std::sync::{Arc, Mutex};

/// A client write: set `key` to `value`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// The key.
    pub key: String,
    /// The value.
    pub value: String,
}

/// The answer to a [`Request`]: the value the key had before.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    /// The previous value, if any.
    pub previous: Option<String>,
}

/// What one Raft entry carries: the requests the leader's proposer took
/// from its queue at once ([`crate::proposer`]), applied in this order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    /// The requests, oldest first.
    pub requests: Vec<Request>,
}

impl Batch {
    /// A batch of one request.
    pub fn one(request: Request) -> Batch {
        Batch {
            requests: vec![request],
        }
    }
}

/// The answers to a [`Batch`], one per request and in its order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchResponse {
    /// One answer per request of the batch.
    pub responses: Vec<Response>,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct Data {
    last_applied: Option<LogId>,
    last_membership: StoredMembership<u64, BasicNode>,
    kv: BTreeMap<String, String>,
}

#[derive(Debug, Default)]
struct Inner {
    data: Data,
    snapshot: Option<(SnapshotMeta<u64, BasicNode>, Vec<u8>)>,
    snapshots_built: u64,
}

/// See the module documentation. Clones share the same state.
#[derive(Debug, Clone, Default)]
pub struct KvStateMachine {
    inner: Arc<Mutex<Inner>>,
}

impl KvStateMachine {
    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<String> {
        self.lock().data.kv.get(key).cloned()
    }

    /// Every key and value.
    pub fn dump(&self) -> BTreeMap<String, String> {
        self.lock().data.kv.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn snapshot_error(e: impl std::fmt::Display) -> StorageError {
    StorageError::IO {
        source: StorageIOError::write_snapshot(None, &std::io::Error::other(e.to_string())),
    }
}

impl RaftSnapshotBuilder<TypeConfig> for KvStateMachine {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError> {
        let mut g = self.lock();
        let bytes = serde_json::to_vec(&g.data).map_err(snapshot_error)?;
        g.snapshots_built += 1;
        let last = g.data.last_applied;
        let meta = SnapshotMeta {
            last_log_id: last,
            last_membership: g.data.last_membership.clone(),
            snapshot_id: format!("{}-{}", last.map_or(0, |l| l.index), g.snapshots_built),
        };
        g.snapshot = Some((meta.clone(), bytes.clone()));
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(bytes)),
        })
    }
}

impl RaftStateMachine<TypeConfig> for KvStateMachine {
    type SnapshotBuilder = Self;

    async fn applied_state(
        &mut self,
    ) -> Result<(Option<LogId>, StoredMembership<u64, BasicNode>), StorageError> {
        let g = self.lock();
        Ok((g.data.last_applied, g.data.last_membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<BatchResponse>, StorageError>
    where
        I: IntoIterator<Item = crate::Entry> + Send,
        I::IntoIter: Send,
    {
        let mut g = self.lock();
        let mut out = Vec::new();
        for e in entries {
            debug_assert!(
                g.data.last_applied < Some(e.log_id),
                "applied in order, once"
            );
            g.data.last_applied = Some(e.log_id);
            match e.payload {
                EntryPayload::Blank => out.push(BatchResponse::default()),
                EntryPayload::Normal(batch) => {
                    // A batch applies as its requests, in order: a later
                    // request of the batch sees the earlier ones.
                    let responses = batch
                        .requests
                        .into_iter()
                        .map(|r| Response {
                            previous: g.data.kv.insert(r.key, r.value),
                        })
                        .collect();
                    out.push(BatchResponse { responses });
                }
                EntryPayload::Membership(m) => {
                    g.data.last_membership = StoredMembership::new(Some(e.log_id), m);
                    out.push(BatchResponse::default());
                }
            }
        }
        Ok(out)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>, StorageError> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<u64, BasicNode>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError> {
        let bytes = snapshot.into_inner();
        let data: Data = serde_json::from_slice(&bytes).map_err(snapshot_error)?;
        let mut g = self.lock();
        g.data = Data {
            last_applied: meta.last_log_id,
            last_membership: meta.last_membership.clone(),
            kv: data.kv,
        };
        g.snapshot = Some((meta.clone(), bytes));
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<TypeConfig>>, StorageError> {
        let g = self.lock();
        Ok(g.snapshot.as_ref().map(|(meta, bytes)| Snapshot {
            meta: meta.clone(),
            snapshot: Box::new(Cursor::new(bytes.clone())),
        }))
    }
}
