//! A read-only view: the reads of a [`Wal`] and none of its writes, so that
//! a write to a view is a compile error rather than `Error::ReadOnly` at run
//! time.

use crate::config::BackendType;
use crate::error::Result;
use crate::replay::{Entry, Replay, ReplayOptions, ReplaySummary, Tail};
use crate::wal::{SegmentInfo, Wal};
use crate::{CheckpointId, Lsn, SegmentId};
use crossbeam_channel::Sender;

/// A WAL opened for reading only ([`Wal::open_read_only`], and with the
/// feature `s3` [`Wal::open_archive`]): no lock, nothing on disk changed, safe
/// beside a writer in another process. Replay and tails read what the writer
/// makes durable; a tail follows it across rollovers.
///
/// Methods that write do not exist here. Each method does what the method of
/// the same name on [`Wal`] does.
///
/// # Examples
///
/// ```
/// # fn main() -> xwal::Result<()> {
/// use xwal::{Config, ReplayOptions, Wal};
///
/// let dir = tempfile::tempdir_in(".").unwrap();
/// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
/// let (writer, _) = Wal::open(config.clone())?;
/// writer.append(b"entry")?;
///
/// let (view, _) = Wal::open_read_only(config)?;
/// assert_eq!(view.last_index(), 1);
/// let entries = view.replay(ReplayOptions::all())?.collect::<xwal::Result<Vec<_>>>()?;
/// assert_eq!(entries[0].data, b"entry");
/// view.close()?;
/// # Ok(()) }
/// ```
///
/// A view has no method that writes:
///
/// ```compile_fail
/// # fn main() -> xwal::Result<()> {
/// let dir = tempfile::tempdir_in(".").unwrap();
/// let (view, _) = xwal::Wal::open_read_only(xwal::Config::new(dir.path()))?;
/// view.append(b"x")?;
/// # Ok(()) }
/// ```
pub struct ReadOnlyWal {
    wal: Wal,
}

impl ReadOnlyWal {
    pub(crate) fn new(wal: Wal) -> Self {
        assert!(wal.is_read_only(), "a view over a WAL that can write");
        ReadOnlyWal { wal }
    }

    /// See [`Wal::replay`]. A consuming replay is refused: a view deletes nothing.
    pub fn replay(&self, opts: ReplayOptions) -> Result<Replay> {
        self.wal.replay(opts)
    }

    /// See [`Wal::replay_into`].
    pub fn replay_into(&self, tx: &Sender<Entry>, opts: ReplayOptions) -> Result<ReplaySummary> {
        self.wal.replay_into(tx, opts)
    }

    /// See [`Wal::tail`]: follows the writer's durable entries from `from_lsn`.
    pub fn tail(&self, from_lsn: Lsn) -> Result<Tail> {
        self.wal.tail(from_lsn)
    }

    /// See [`Wal::last_index`]: the last LSN recovery found when the view opened.
    pub fn last_index(&self) -> Lsn {
        self.wal.last_index()
    }

    /// See [`Wal::durable_index`].
    pub fn durable_index(&self) -> Lsn {
        self.wal.durable_index()
    }

    /// See [`Wal::backend_type`].
    pub fn backend_type(&self) -> BackendType {
        self.wal.backend_type()
    }

    /// See [`Wal::io_engine_name`].
    pub fn io_engine_name(&self) -> &'static str {
        self.wal.io_engine_name()
    }

    /// See [`Wal::checkpoints`].
    pub fn checkpoints(&self) -> Vec<CheckpointId> {
        self.wal.checkpoints()
    }

    /// See [`Wal::segments`].
    pub fn segments(&self) -> Vec<SegmentInfo> {
        self.wal.segments()
    }

    /// See [`Wal::first_segment`].
    pub fn first_segment(&self) -> Option<SegmentId> {
        self.wal.first_segment()
    }

    /// See [`Wal::last_segment`].
    pub fn last_segment(&self) -> Option<SegmentId> {
        self.wal.last_segment()
    }

    /// See [`Wal::dir`].
    pub fn dir(&self) -> &std::path::Path {
        self.wal.dir()
    }

    /// See [`Wal::close`]: ends the view; tails waiting on it return.
    pub fn close(&self) -> Result<()> {
        self.wal.close()
    }

    /// See [`Wal::archive_status`].
    #[cfg(feature = "s3")]
    pub fn archive_status(&self) -> Option<crate::archive::ArchiveStatus> {
        self.wal.archive_status()
    }

    /// See [`Wal::load_archive_status`].
    #[cfg(feature = "s3")]
    pub fn load_archive_status(&self) -> Option<Result<crate::archive::ArchiveStatus>> {
        self.wal.load_archive_status()
    }
}

impl std::fmt::Debug for ReadOnlyWal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadOnlyWal")
            .field("dir", &self.dir())
            .field("last_index", &self.last_index())
            .finish()
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for crate::Wal {}
    impl Sealed for super::ReadOnlyWal {}
}

/// The reads a [`Wal`] and a [`ReadOnlyWal`] share, for code that takes
/// either (`&dyn ReadableWal` or `&impl ReadableWal`). Sealed: implemented by
/// those two only, so that it can grow. Each method is the inherent method of
/// the same name.
///
/// # Examples
///
/// ```
/// # fn main() -> xwal::Result<()> {
/// use xwal::{Config, ReadableWal, ReplayOptions, Wal};
///
/// fn count(wal: &dyn ReadableWal) -> xwal::Result<usize> {
///     Ok(wal.replay(ReplayOptions::all())?.collect::<xwal::Result<Vec<_>>>()?.len())
/// }
///
/// let dir = tempfile::tempdir_in(".").unwrap();
/// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
/// let (wal, _) = Wal::open(config.clone())?;
/// wal.append(b"a")?;
/// let (view, _) = Wal::open_read_only(config)?;
/// assert_eq!(count(&wal)?, 1);
/// assert_eq!(count(&view)?, 1);
/// # Ok(()) }
/// ```
pub trait ReadableWal: sealed::Sealed {
    /// See [`Wal::replay`].
    fn replay(&self, opts: ReplayOptions) -> Result<Replay>;
    /// See [`Wal::replay_into`].
    fn replay_into(&self, tx: &Sender<Entry>, opts: ReplayOptions) -> Result<ReplaySummary>;
    /// See [`Wal::tail`].
    fn tail(&self, from_lsn: Lsn) -> Result<Tail>;
    /// See [`Wal::last_index`].
    fn last_index(&self) -> Lsn;
    /// See [`Wal::segments`].
    fn segments(&self) -> Vec<SegmentInfo>;
    /// See [`Wal::checkpoints`].
    fn checkpoints(&self) -> Vec<CheckpointId>;
    /// See [`Wal::dir`].
    fn dir(&self) -> &std::path::Path;
    /// See [`Wal::close`].
    fn close(&self) -> Result<()>;
}

macro_rules! readable {
    ($t:ty) => {
        impl ReadableWal for $t {
            fn replay(&self, opts: ReplayOptions) -> Result<Replay> {
                <$t>::replay(self, opts)
            }
            fn replay_into(
                &self,
                tx: &Sender<Entry>,
                opts: ReplayOptions,
            ) -> Result<ReplaySummary> {
                <$t>::replay_into(self, tx, opts)
            }
            fn tail(&self, from_lsn: Lsn) -> Result<Tail> {
                <$t>::tail(self, from_lsn)
            }
            fn last_index(&self) -> Lsn {
                <$t>::last_index(self)
            }
            fn segments(&self) -> Vec<SegmentInfo> {
                <$t>::segments(self)
            }
            fn checkpoints(&self) -> Vec<CheckpointId> {
                <$t>::checkpoints(self)
            }
            fn dir(&self) -> &std::path::Path {
                <$t>::dir(self)
            }
            fn close(&self) -> Result<()> {
                <$t>::close(self)
            }
        }
    };
}

readable!(Wal);
readable!(ReadOnlyWal);
