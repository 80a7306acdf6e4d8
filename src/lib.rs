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
//! use xwal::{Config, Lsn, ReplayOptions, Wal};
//!
//! let dir = tempfile::tempdir_in(".").unwrap();
//! let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
//! let (wal, _report) = Wal::open(config.clone())?;
//! let lsn = wal.append(b"put k1 v1")?; // durable when it returns
//! let batch = wal.append_batch(["put k2 v2", "del k1"])?; // all or nothing
//! let ticket = wal.submit(b"put k3 v3".to_vec())?; // does not block
//! assert_eq!((lsn, batch, ticket.wait()?), (Lsn(1), Lsn(2)..=Lsn(3), Lsn(4)));
//! wal.close()?;
//!
//! // After a restart, replay rebuilds the state.
//! let (wal, report) = Wal::open(config)?;
//! assert_eq!(report.last_lsn, 4);
//! // Each item is a Result: a damaged log is an error, never a shorter log.
//! let entries = wal.replay(ReplayOptions::all())?.collect::<xwal::Result<Vec<_>>>()?;
//! let data: Vec<_> = entries.into_iter().map(|e| e.data).collect();
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
mod feed;
mod fence;
mod ids;
// Public with `internals` (not covered by semver): readers of their own, the
// command, the fuzz targets. Without it the engine uses it privately.
#[cfg(feature = "internals")]
pub mod format;
#[cfg(not(feature = "internals"))]
#[allow(dead_code, unused_imports)]
mod format;
#[cfg(feature = "internals")]
mod fuzzing;
pub mod go;
pub mod import_go;
#[cfg(feature = "internals")]
pub mod internals;
mod io;
pub mod metrics;
mod open;
mod read_only;
mod recovery;
mod repair;
mod replay;
#[cfg(feature = "test-seams")]
pub mod seams {
    //! Test seams (feature `test-seams`, for this repository's tests only):
    //! injected with [`crate::Wal::open_with`].
    pub use crate::io::fs::{FileSystem, Installed, LockHow, OpenHow, StdFs, install};
    pub use crate::io::seams::{Chaos, CrashStats, Fault, FaultInjector, Seams, SimDisk};
}
/// The README's quick start, compiled as a doctest (`cargo test --doc`).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
mod shared;
mod sync;
mod ticket;
mod wal;
mod writer;

pub use backend::WalBackend;
pub use config::{BackendType, Config, IoEngine, MAX_COMMITS_IN_FLIGHT, SyncPolicy};
/// The channel of [`Replay::receiver`], [`Wal::replay_into`] and
/// [`WalBackend`]: crossbeam-channel 0.5, re-exported on purpose so that a
/// caller names the very types xwal uses without depending on the crate
/// itself (`xwal::channel::unbounded()`, `select!`, timeouts). A new major
/// version of it is a breaking change of xwal.
pub use crossbeam_channel as channel;
pub use error::{ArchiveErrorKind, Error, Result};
pub use ids::{CheckpointId, Lsn, SegmentId};
pub use read_only::{ReadOnlyWal, ReadableWal};
pub use recovery::{Damage, RecoveryReport, ShortFile, Truncation};
pub use repair::RepairReport;
pub use replay::{
    Batch, Direction, Entry, Replay, ReplayOptions, ReplayRange, ReplaySummary, Tail,
};
pub use ticket::CommitTicket;
pub use wal::{SegmentInfo, Wal};

/// The commit path's own code for `loom/tests/loom_commit.rs`, which model-checks
/// it: only in a `--cfg loom` build (where `crate::sync` is loom's).
#[cfg(loom)]
#[doc(hidden)]
pub mod loom_api {
    pub use crate::CommitTicket;
    use crate::append_buffer::{AppendBuffer, BatchLimits, SegmentView};
    use crate::error::{Error, Result};
    pub use crate::fence::{Fence, close_and_drain, drain_if_closed};
    use crate::sync::Arc;
    pub use crate::ticket::Ack;
    use crate::ticket::Watermark;
    use crate::writer::batch::Entry;

    /// The append buffer and the watermark, as `Shared` holds them, with the
    /// calls `Wal` and the writer make on them, and the writer's cell that a
    /// producer locks to commit as leader (`Wal::lead_or_wait`).
    pub struct CommitPath {
        appends: AppendBuffer,
        commits: Arc<Watermark>,
        cell: loom::sync::Mutex<()>,
    }

    /// A batch the writer (or a leader) took: first and last LSN, and the
    /// epoch its waiters sleep under.
    #[derive(Debug, Clone, Copy)]
    pub struct Batch {
        pub first: u64,
        pub last: u64,
        pub epoch: u64,
    }

    impl CommitPath {
        /// A path whose batches hold at most `batch_entries` LSNs.
        pub fn new(batch_entries: usize) -> Self {
            let limits = BatchLimits {
                bytes: 1 << 16,
                entries: batch_entries,
            };
            let appends = AppendBuffer::new(1, limits, false);
            let view = SegmentView {
                segment: 1,
                salt: 7,
                capacity: 1 << 20,
            };
            appends.install(Some(view), 4096, &[]);
            CommitPath {
                appends,
                commits: Arc::new(Watermark::new(0)),
                cell: loom::sync::Mutex::new(()),
            }
        }

        /// `Wal::submit`: the claim, then the ticket.
        pub fn submit(&self, data: &[u8]) -> Result<CommitTicket> {
            let c = self.appends.claim(&Entry(data), 0)?;
            Ok(CommitTicket::new(c.lsn, c.epoch, self.commits.clone()))
        }

        /// `Wal::append`: the claim without waking the writer, then
        /// `lead_or_wait`: with the writer's cell free, this producer takes
        /// and commits what is staged itself (its I/O always succeeds here),
        /// else it wakes the writer; then it waits for its LSN.
        pub fn append(&self, data: &[u8]) -> Result<u64> {
            let c = self.appends.claim_quietly(&Entry(data), 0)?;
            if self.commits.acked() < c.lsn {
                if let Ok(_writer) = self.cell.try_lock() {
                    if let Some(b) = self.take() {
                        self.commit(b);
                    }
                }
            }
            if self.commits.acked() < c.lsn {
                self.appends.kick();
            }
            self.commits.wait(c.lsn, c.epoch)
        }

        /// The writer's cell: held while the writer works, let go while it
        /// sleeps in [`CommitPath::wait_for_work`].
        pub fn writer_lock(&self) -> loom::sync::MutexGuard<'_, ()> {
            self.cell
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        }

        /// The writer's wait for staged records (or a close).
        pub fn wait_for_work(&self) {
            self.appends.wait_for_work(&mut || false, None);
        }

        /// The writer takes the staged records.
        pub fn take(&self) -> Option<Batch> {
            self.appends.take(0).map(|t| Batch {
                first: t.first_lsn,
                last: t.last_lsn,
                epoch: t.epoch,
            })
        }

        /// A batch's write and sync completed: raise the watermark to its
        /// last LSN and wake its waiters.
        pub fn commit(&self, b: Batch) {
            self.commits.raise(b.last);
            self.commits.wake(b.epoch, &mut Vec::new());
        }

        /// The writer stops (close, fence or death): claims are refused with
        /// `e`; what is still staged is returned (a close writes it).
        pub fn close(&self, e: Error) -> Option<Batch> {
            self.appends.close(e, 0).map(|t| Batch {
                first: t.first_lsn,
                last: t.last_lsn,
                epoch: t.epoch,
            })
        }

        /// Nothing above the watermark will be acknowledged.
        pub fn end(&self, e: Error) {
            self.commits.end(e);
        }

        /// The acknowledged LSN.
        pub fn acked(&self) -> u64 {
            self.commits.acked()
        }
    }
}
