//! Test seams: fault injection, the simulated disk and the crash simulator's
//! negative controls. They exist only with the `test-seams` cargo feature and
//! reach the engine through one entry point, `Wal::open_with(config, seams)`.
//! Without the feature, [`Seams`] is an empty type whose queries are constant
//! `false`/`None`, so the optimizer removes every branch on them and a default
//! build has no switch that weakens durability.

use super::WriteEngine;

#[cfg(feature = "test-seams")]
pub use super::fault::{Fault, FaultInjector};
#[cfg(feature = "test-seams")]
pub use super::sim::{CrashStats, SimDisk};

/// What a test injects into one WAL (feature `test-seams` only).
///
/// # Examples
///
/// ```
/// # fn main() -> xwal::Result<()> {
/// use xwal::seams::{Chaos, Seams};
/// use xwal::{Config, Wal};
///
/// let dir = tempfile::tempdir_in(".").unwrap();
/// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
/// let seams = Seams { chaos: Chaos { panic_writer_at_lsn: Some(2), ..Chaos::default() }, ..Seams::default() };
/// let (wal, _) = Wal::open_with(config, seams)?;
/// assert_eq!(wal.append(b"one")?, 1);
/// assert!(wal.append(b"two").is_err()); // the writer died; the call still returned
/// # Ok(()) }
/// ```
#[cfg(feature = "test-seams")]
#[derive(Debug, Clone, Default)]
pub struct Seams {
    /// Rewrites I/O results to inject faults.
    pub faults: Option<FaultInjector>,
    /// A simulated disk that can lose power.
    pub sim_disk: Option<SimDisk>,
    /// Deliberate bugs, for the negative controls.
    pub chaos: Chaos,
    /// The S3 archiver uploads segments but stops before writing the
    /// manifest, as if the process died in between.
    #[cfg(feature = "s3")]
    pub crash_before_manifest: bool,
    /// Entries the S3 manifest head holds before they move to a chunk object
    /// (small in tests, to make chunks with few segments).
    #[cfg(feature = "s3")]
    pub manifest_chunk_entries: Option<usize>,
}

/// Deliberate bugs that the crash harness must catch (negative controls).
///
/// # Examples
///
/// ```
/// let chaos = xwal::seams::Chaos { ack_before_sync: true, ..Default::default() };
/// assert!(!chaos.corruption_as_torn);
/// ```
#[cfg(feature = "test-seams")]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Chaos {
    /// Acknowledge `Always` appends when written, without the fdatasync.
    pub ack_before_sync: bool,
    /// Treat proven mid-log corruption in the tail as a torn tail and cut it.
    pub corruption_as_torn: bool,
    /// Panic the writer thread when it takes the append with this LSN (a
    /// stand-in for any bug that kills it: everything must still get an answer).
    pub panic_writer_at_lsn: Option<u64>,
    /// A producer publishes its record with the header only and writes the
    /// payload after (the crash simulator's negative control for the append
    /// buffer: acknowledged entries then fail their checksum).
    pub publish_before_payload: bool,
    /// A checkpoint renames its segment before the segment's data is synced
    /// (the marker before the data it marks).
    pub checkpoint_before_sync: bool,
    /// A purge unlinks all its segments under one directory sync, so a cut
    /// may keep a later unlink and lose an earlier one (a hole in the log).
    pub purge_unlinks_unordered: bool,
}

/// What keeps a test's file system installed for a WAL's directory while the
/// WAL lives (nothing without the feature).
#[cfg(feature = "test-seams")]
pub(crate) type FsGuard = Option<super::fs::Installed>;
/// What keeps a test's file system installed (nothing without the feature:
/// always `None`).
#[cfg(not(feature = "test-seams"))]
pub(crate) type FsGuard = Option<std::convert::Infallible>;

/// Without the `test-seams` feature: nothing to inject. (Not a unit struct,
/// so that `Seams::default()` reads the same with and without the feature.)
#[cfg(not(feature = "test-seams"))]
#[derive(Debug, Clone, Default)]
pub(crate) struct Seams {
    _nothing: (),
}

#[cfg(feature = "test-seams")]
impl Seams {
    pub(crate) fn ack_before_sync(&self) -> bool {
        self.chaos.ack_before_sync
    }

    pub(crate) fn corruption_as_torn(&self) -> bool {
        self.chaos.corruption_as_torn
    }

    pub(crate) fn panic_writer_at_lsn(&self) -> Option<u64> {
        self.chaos.panic_writer_at_lsn
    }

    pub(crate) fn publish_before_payload(&self) -> bool {
        self.chaos.publish_before_payload
    }

    pub(crate) fn checkpoint_before_sync(&self) -> bool {
        self.chaos.checkpoint_before_sync
    }

    pub(crate) fn purge_unlinks_unordered(&self) -> bool {
        self.chaos.purge_unlinks_unordered
    }

    #[cfg(feature = "s3")]
    pub(crate) fn crash_before_manifest(&self) -> bool {
        self.crash_before_manifest
    }

    #[cfg(feature = "s3")]
    pub(crate) fn manifest_chunk_entries(&self) -> Option<usize> {
        self.manifest_chunk_entries
    }

    /// Routes the file-system calls under `dir` through the simulated disk,
    /// if there is one, until the guard drops.
    pub(crate) fn install_file_system(&self, dir: &std::path::Path) -> std::io::Result<FsGuard> {
        let Some(d) = &self.sim_disk else {
            return Ok(None);
        };
        d.serve(dir).map(Some)
    }

    /// The engine as the test wants it seen: faults first, then the simulated disk.
    pub(crate) fn wrap(&self, mut engine: Box<dyn WriteEngine>) -> Box<dyn WriteEngine> {
        if let Some(f) = &self.faults {
            engine = f.wrap(engine);
        }
        if let Some(d) = &self.sim_disk {
            engine = d.wrap(engine);
        }
        engine
    }
}

#[cfg(not(feature = "test-seams"))]
impl Seams {
    pub(crate) const fn ack_before_sync(&self) -> bool {
        false
    }

    pub(crate) const fn corruption_as_torn(&self) -> bool {
        false
    }

    pub(crate) const fn panic_writer_at_lsn(&self) -> Option<u64> {
        None
    }

    pub(crate) const fn publish_before_payload(&self) -> bool {
        false
    }

    pub(crate) const fn checkpoint_before_sync(&self) -> bool {
        false
    }

    pub(crate) const fn purge_unlinks_unordered(&self) -> bool {
        false
    }

    #[cfg(feature = "s3")]
    pub(crate) const fn crash_before_manifest(&self) -> bool {
        false
    }

    #[cfg(feature = "s3")]
    pub(crate) const fn manifest_chunk_entries(&self) -> Option<usize> {
        None
    }

    pub(crate) fn wrap(&self, engine: Box<dyn WriteEngine>) -> Box<dyn WriteEngine> {
        engine
    }

    pub(crate) fn install_file_system(&self, _dir: &std::path::Path) -> std::io::Result<FsGuard> {
        Ok(None)
    }
}
