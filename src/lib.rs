//! xwal: a write-ahead log for Linux.
//!
//! A dedicated writer thread owns an io_uring ring and group-commits batches
//! from a bounded submission queue into preallocated O_DIRECT segments; each
//! append is acknowledged only once its write and fdatasync have completed.
//! Replay reads segments through io_uring into a bounded crossbeam channel.
//! See ARCHITECTURE.md for the format and the commit protocol.
//!
//! # Examples
//!
//! ```
//! # fn main() -> xwal::Result<()> {
//! use xwal::{Config, ReplayOptions, Wal};
//!
//! let dir = tempfile::tempdir_in(".").unwrap();
//! let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
//! let (wal, _report) = Wal::open(config.clone())?;
//! let lsn = wal.append(b"put k1 v1")?; // durable when it returns
//! let batch = wal.append_batch(["put k2 v2", "del k1"])?; // all or nothing
//! let ticket = wal.submit(b"put k3 v3".to_vec())?; // does not block
//! assert_eq!((lsn, batch, ticket.wait()?), (1, 2..=3, 4));
//! wal.close()?;
//!
//! // After a restart, replay rebuilds the state.
//! let (wal, report) = Wal::open(config)?;
//! assert_eq!(report.last_lsn, 4);
//! let data: Vec<_> = wal.replay(ReplayOptions::all())?.map(|e| e.data).collect();
//! assert_eq!(data.len(), 4);
//! assert_eq!(data[0], b"put k1 v1");
//! # Ok(()) }
//! ```
//!
//! # Cargo features
//!
//! Every feature is off by default, so an embedder's build holds the engine
//! alone: `s3` (the archive tier, [`archive`]), `config-file` (TOML config
//! files: `Config::from_file`), `internals` (the layers below the API, for
//! the `xwal` command's crate and the fuzz targets; not covered by semver)
//! and `test-seams` (fault injection, the simulated disk and the crash
//! simulator's negative controls, for this repository's tests only).
#![cfg_attr(
    not(feature = "test-seams"),
    doc = r#"
Without `test-seams` there is no way to weaken durability: the test seams
and `Wal::open_with` do not exist (this example must fail to compile).

```compile_fail
let _ = xwal::seams::Seams::default();
```

```compile_fail
# let config = xwal::Config::new("/tmp/x");
let _ = xwal::Wal::open_with(config, Default::default());
```
"#
)]
#![deny(missing_docs)]
#![deny(clippy::unwrap_used)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod append_buffer;
/// The S3 archive tier (cargo feature `s3`): settings, status, restore.
#[cfg(feature = "s3")]
pub mod archive;
mod backend;
mod config;
#[cfg(feature = "config-file")]
mod config_file;
mod cursor;
mod dir;
mod error;
mod fence;
pub mod format;
#[cfg(feature = "internals")]
mod fuzzing;
pub mod go;
pub mod import_go;
#[cfg(feature = "internals")]
pub mod internals;
mod io;
pub mod metrics;
mod open;
mod recovery;
mod replay;
#[cfg(feature = "test-seams")]
pub mod seams {
    //! Test seams (feature `test-seams`, for this repository's tests only):
    //! injected with [`crate::Wal::open_with`].
    pub use crate::io::seams::{Chaos, CrashStats, Fault, FaultInjector, Seams, SimDisk};
}
mod shared;
mod sync;
mod ticket;
mod wal;
mod writer;

pub use backend::WalBackend;
pub use config::{BackendType, Config, IoEngine, MAX_COMMITS_IN_FLIGHT, SyncPolicy};
pub use error::{ArchiveErrorKind, Error, Result};
pub use recovery::{RecoveryReport, ShortFile, Truncation};
pub use replay::{Direction, Entry, Replay, ReplayOptions, ReplayRange, ReplaySummary};
pub use ticket::CommitTicket;
pub use wal::{SegmentInfo, Wal};

/// The commit path's own code for `tests/loom_commit.rs`, which model-checks
/// it: only in a `--cfg loom` build (where `crate::sync` is loom's).
#[cfg(loom)]
#[doc(hidden)]
pub mod loom_api {
    pub use crate::CommitTicket;
    pub use crate::fence::{Fence, close_and_drain, drain_if_closed};
    pub use crate::ticket::{Ack, deliver};

    /// A request's two halves, as `Wal::submit` makes them: the writer's
    /// [`Ack`] and the producer's [`CommitTicket`].
    pub fn request() -> (Ack, CommitTicket) {
        let (ack, slot) = crate::ticket::Ack::new();
        (ack, CommitTicket::new(slot))
    }
}

/// Log sequence number: 1 for the first entry, dense, never reused.
pub type Lsn = u64;
