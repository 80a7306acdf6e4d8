//! xwal as the log store of [openraft](https://docs.rs/openraft/0.9): an
//! implementation of `RaftLogStorage` and `RaftLogReader` on an xwal `Wal`
//! ([`XwalLogStore`]), and a small in-memory key-value state machine
//! ([`KvStateMachine`]) for the tests and the example.
//!
//! # How a Raft log maps onto an append-only WAL
//!
//! Every change is one xwal entry holding one [`Record`] (JSON):
//!
//! - `Entry`: one Raft entry, with the committed log id known when it was
//!   written (so `save_committed` costs nothing: it rides on the next write);
//! - `Vote`: the vote, written and made durable before `save_vote` returns;
//! - `Truncate(i)`: every entry from index `i` on is gone (a conflicting
//!   suffix). Entries written before it with index `>= i` are dead;
//! - `Purge(log_id)`: everything up to `log_id` is gone.
//!
//! At open the store replays the WAL once and rebuilds its index: a list of
//! *runs*, each a stretch of consecutive Raft indexes at consecutive LSNs
//! (`index i -> LSN first_lsn + (i - first_index)`), with the leader ids at
//! which the term changes. The index is bounded by the number of elections,
//! truncations and purges, not by the log's length. A range of Raft entries
//! is read with xwal's LSN-range replay (or from a bounded cache of recent
//! entries), never by replaying the whole log.
//!
//! `purge` writes its marker, then deletes the sealed segments whose entries
//! all lie at or below the purged index with `Wal::purge_through`; the vote is
//! written again first if its record would go with them.
//!
//! `append` hands each entry to xwal with `Wal::submit` (no waiting) and
//! calls openraft's flushed callback from where the last ticket resolves
//! (`CommitTicket::on_durable`: the WAL's writer thread, no task per append),
//! so group commit works across openraft's pipeline: xwal acks in LSN order,
//! so the last ticket durable means all are. Entries older than the cache
//! (a lagging follower) are read on tokio's blocking pool, never on a worker.
//!
//! # Proposal batching
//!
//! openraft 0.9 makes each `client_write` its own one-entry append and waits
//! for its flush before the next, so the leader's log would commit one client
//! request at a time. A Raft entry here carries a [`Batch`] of requests: the
//! leader's [`proposer::Proposer`] queues client requests and proposes what
//! queued while earlier batches were in flight (see its module).
// openraft's StorageError and RaftError are large by design and fixed by its
// traits' signatures; boxing them here would only add an allocation.
#![allow(clippy::result_large_err)]

pub mod cluster;
#[cfg(feature = "raft-engine")]
mod engine_store;
pub mod local;
mod mem_store;
pub mod proposer;
mod records;
mod state_machine;
pub mod stats;
mod store;

#[cfg(feature = "raft-engine")]
pub use engine_store::RaftEngineLogStore;
pub use mem_store::MemLogStore;
pub use records::Record;
pub use state_machine::{Batch, BatchResponse, KvStateMachine, Request, Response};
pub use store::XwalLogStore;

use std::io::Cursor;

openraft::declare_raft_types!(
    /// The type configuration of the store and the example cluster.
    pub TypeConfig:
        D = Batch,
        R = BatchResponse,
);

/// A Raft entry of [`TypeConfig`].
pub type Entry = openraft::Entry<TypeConfig>;
/// A log id of [`TypeConfig`].
pub type LogId = openraft::LogId<u64>;
/// A storage error of [`TypeConfig`].
pub type StorageError = openraft::StorageError<u64>;

/// An encoding or other error, known by its message, as openraft's storage error.
pub(crate) fn io_error(
    what: openraft::ErrorVerb,
    e: impl std::fmt::Display,
) -> openraft::StorageError<u64> {
    let e = std::io::Error::other(e.to_string());
    openraft::StorageError::from_io_error(openraft::ErrorSubject::Logs, what, e)
}

/// An xwal error as openraft's storage error, through xwal's own
/// `From<xwal::Error> for io::Error` (the kind follows the variant).
pub(crate) fn wal_error(what: openraft::ErrorVerb, e: xwal::Error) -> openraft::StorageError<u64> {
    openraft::StorageError::from_io_error(openraft::ErrorSubject::Logs, what, e.into())
}
