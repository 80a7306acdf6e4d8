//! xwal: a write-ahead log for Linux.
//!
//! A dedicated writer thread owns an io_uring ring and group-commits batches
//! from a bounded submission queue into preallocated O_DIRECT segments; each
//! append is acknowledged only once its write and fdatasync have completed.
//! Replay reads segments through io_uring into a bounded crossbeam channel.
//! See ARCHITECTURE.md for the format and the commit protocol.
#![deny(missing_docs)]
#![deny(clippy::unwrap_used)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod backend;
mod config;
mod cursor;
pub mod dir;
mod error;
pub mod format;
#[doc(hidden)]
pub mod fuzzing;
pub mod io;
mod recovery;
mod replay;
mod shared;
mod ticket;
mod wal;
mod writer;

pub use backend::WalBackend;
pub use config::{BackendType, Chaos, Config, IoEngine, SyncPolicy};
pub use error::{Error, Result};
pub use recovery::{RecoveryReport, Truncation};
pub use replay::{Direction, Entry, Replay, ReplayOptions, ReplayRange, ReplaySummary};
pub use ticket::CommitTicket;
pub use wal::{SegmentInfo, Wal};

/// Log sequence number: 1 for the first entry, dense, never reused.
pub type Lsn = u64;
