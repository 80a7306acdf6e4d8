//! What the log store writes into the WAL: one [`Record`] per xwal entry.

use crate::{Entry, LogId};
use openraft::Vote;
use serde::{Deserialize, Serialize};

/// One change of the Raft log store, as one xwal entry (JSON).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Record {
    /// A Raft entry, and the committed log id known when it was written.
    Entry {
        /// The entry.
        entry: Entry,
        /// `save_committed`'s last value, made durable with this record.
        committed: Option<LogId>,
    },
    /// The vote.
    Vote(Vote<u64>),
    /// Entries from this Raft index on were removed (a conflicting suffix).
    Truncate(u64),
    /// Entries up to this log id were removed (a prefix, behind a snapshot).
    Purge(LogId),
}

impl Record {
    /// The record's bytes.
    pub fn encode(&self) -> Vec<u8> {
        // A record of this crate's own types always serializes.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Decodes a record; an xwal entry that is not one is an error.
    pub fn decode(bytes: &[u8]) -> Result<Record, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}
