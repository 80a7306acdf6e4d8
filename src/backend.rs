//! [`WalBackend`]: Go xwal's `WALBackendInterface`, operation by operation.

use crate::config::{BackendType, Config};
use crate::error::Result;
use crate::recovery::RecoveryReport;
use crate::replay::{Direction, Entry, ReplayOptions, ReplayRange};
use crate::wal::Wal;
use crate::{CheckpointId, Lsn, SegmentId};
use crossbeam_channel::Sender;
use std::ops::RangeInclusive;

/// The Go interface, method for method. Replays block the calling thread and
/// send into the caller's channel, as Go's do; a consumer must be receiving.
///
/// # Examples
///
/// ```
/// # fn main() -> xwal::Result<()> {
/// use xwal::{Config, Wal, WalBackend};
///
/// // Code written against the Go interface runs on any backend.
/// fn log_and_count<B: WalBackend>(backend: &B) -> xwal::Result<usize> {
///     backend.write(vec![b"put k v".to_vec()])?;
///     let (tx, rx) = xwal::channel::unbounded();
///     backend.replay(&tx, false)?;
///     Ok(rx.try_iter().count())
/// }
///
/// let dir = tempfile::tempdir_in(".").unwrap();
/// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
/// let (wal, _) = <Wal as WalBackend>::open(config)?;
/// assert_eq!(log_and_count(&wal)?, 1);
/// # Ok(()) }
/// ```
pub trait WalBackend: Sized {
    /// Go `Open()`: create or open, and recover.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::{Config, Wal, WalBackend};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
    /// let (wal, report) = <Wal as WalBackend>::open(config)?;
    /// assert_eq!(report.last_lsn, 0);
    /// assert_eq!(WalBackend::last_index(&wal), 0);
    /// # Ok(()) }
    /// ```
    fn open(config: Config) -> Result<(Self, RecoveryReport)>;
    /// Go `Write(entries)`: one atomic, durable batch. LSNs are assigned here.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::{Config, Lsn, Wal, WalBackend};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
    /// let (wal, _) = <Wal as WalBackend>::open(config)?;
    /// let lsns = wal.write(vec![b"a".to_vec(), b"b".to_vec()])?;
    /// assert_eq!(lsns, Lsn(1)..=Lsn(2));
    /// assert_eq!(WalBackend::last_index(&wal), 2);
    /// # Ok(()) }
    /// ```
    fn write(&self, entries: Vec<Vec<u8>>) -> Result<RangeInclusive<Lsn>>;
    /// Go `Replay(ch, backwards)`: every entry, non-destructive.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::{Config, Wal, WalBackend};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
    /// let (wal, _) = <Wal as WalBackend>::open(config)?;
    /// wal.write(vec![b"a".to_vec(), b"b".to_vec()])?;
    ///
    /// let (tx, rx) = xwal::channel::unbounded();
    /// WalBackend::replay(&wal, &tx, true)?;
    /// let lsns: Vec<_> = rx.try_iter().map(|e| e.lsn).collect();
    /// assert_eq!(lsns, [2, 1]);
    /// # Ok(()) }
    /// ```
    fn replay(&self, tx: &Sender<Entry>, backwards: bool) -> Result<()>;
    /// Go `ReplayFromRange(ch, backwards, start, end)`: segments `start..=end` (0 = first present).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::{Config, Wal, WalBackend};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
    /// let (wal, _) = <Wal as WalBackend>::open(config)?;
    /// wal.write(vec![b"a".to_vec()])?;
    /// let cp = WalBackend::create_checkpoint(&wal)?;
    /// wal.write(vec![b"b".to_vec()])?;
    ///
    /// let (tx, rx) = xwal::channel::unbounded();
    /// // Segment 0 means "the first present".
    /// wal.replay_from_range(&tx, false, xwal::SegmentId(0), cp.segment())?;
    /// let data: Vec<_> = rx.try_iter().map(|e| e.data).collect();
    /// assert_eq!(data, [b"a".to_vec()]);
    /// # Ok(()) }
    /// ```
    fn replay_from_range(
        &self,
        tx: &Sender<Entry>,
        backwards: bool,
        start: SegmentId,
        end: SegmentId,
    ) -> Result<()>;
    /// Go `CreateCheckpoint()`.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::{Config, Wal, WalBackend};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
    /// let (wal, _) = <Wal as WalBackend>::open(config)?;
    /// wal.write(vec![b"state".to_vec()])?;
    /// let cp = WalBackend::create_checkpoint(&wal)?;
    /// assert_eq!(wal.checkpoints(), [cp]);
    /// # Ok(()) }
    /// ```
    fn create_checkpoint(&self) -> Result<CheckpointId>;
    /// Go `ReplayFromCheckpoint(ch, checkpoint, backwards)`.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::{Config, Wal, WalBackend};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
    /// let (wal, _) = <Wal as WalBackend>::open(config)?;
    /// wal.write(vec![b"before".to_vec()])?;
    /// WalBackend::create_checkpoint(&wal)?;
    /// wal.write(vec![b"a".to_vec()])?;
    /// let cp = WalBackend::create_checkpoint(&wal)?;
    /// wal.write(vec![b"b".to_vec()])?;
    ///
    /// // The checkpoint segment itself is included.
    /// let (tx, rx) = xwal::channel::unbounded();
    /// wal.replay_from_checkpoint(&tx, cp, false)?;
    /// let data: Vec<_> = rx.try_iter().map(|e| e.data).collect();
    /// assert_eq!(data, [b"a".to_vec(), b"b".to_vec()]);
    /// # Ok(()) }
    /// ```
    fn replay_from_checkpoint(
        &self,
        tx: &Sender<Entry>,
        checkpoint: CheckpointId,
        backwards: bool,
    ) -> Result<()>;
    /// Go `ReplayToCheckpoint(ch, checkpoint, backwards)`.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::{Config, Wal, WalBackend};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
    /// let (wal, _) = <Wal as WalBackend>::open(config)?;
    /// wal.write(vec![b"a".to_vec()])?;
    /// let cp = WalBackend::create_checkpoint(&wal)?;
    /// wal.write(vec![b"b".to_vec()])?;
    ///
    /// let (tx, rx) = xwal::channel::unbounded();
    /// wal.replay_to_checkpoint(&tx, cp, true)?;
    /// let data: Vec<_> = rx.try_iter().map(|e| e.data).collect();
    /// assert_eq!(data, [b"a".to_vec()]);
    /// # Ok(()) }
    /// ```
    fn replay_to_checkpoint(
        &self,
        tx: &Sender<Entry>,
        checkpoint: CheckpointId,
        backwards: bool,
    ) -> Result<()>;
    /// Go `Close()`.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::{Config, Error, Wal, WalBackend};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
    /// let (wal, _) = <Wal as WalBackend>::open(config)?;
    /// WalBackend::close(&wal)?;
    /// assert!(matches!(wal.write(vec![b"late".to_vec()]), Err(Error::Closed)));
    /// # Ok(()) }
    /// ```
    fn close(&self) -> Result<()>;
    /// Go `LastIndex()`.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::{Config, Wal, WalBackend};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
    /// let (wal, _) = <Wal as WalBackend>::open(config)?;
    /// assert_eq!(WalBackend::last_index(&wal), 0);
    /// wal.write(vec![b"a".to_vec(), b"b".to_vec()])?;
    /// assert_eq!(WalBackend::last_index(&wal), 2);
    /// # Ok(()) }
    /// ```
    fn last_index(&self) -> Lsn;
    /// Go `IncLastIndex()`.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::{Config, Wal, WalBackend};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
    /// let (wal, _) = <Wal as WalBackend>::open(config)?;
    /// assert_eq!(WalBackend::inc_last_index(&wal)?, 1);
    /// assert_eq!(wal.write(vec![b"a".to_vec()])?, xwal::Lsn(2)..=xwal::Lsn(2));
    /// # Ok(()) }
    /// ```
    fn inc_last_index(&self) -> Result<Lsn>;
    /// Go `Type()`.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::{BackendType, Config, Wal, WalBackend};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
    /// let (wal, _) = <Wal as WalBackend>::open(config)?;
    /// assert_eq!(WalBackend::backend_type(&wal), BackendType::LocalFilesystem);
    /// assert_eq!(WalBackend::backend_type(&wal).to_string(), "local_filesystem");
    /// # Ok(()) }
    /// ```
    fn backend_type(&self) -> BackendType;
}

fn dir(backwards: bool) -> Direction {
    if backwards {
        Direction::Backward
    } else {
        Direction::Forward
    }
}

impl WalBackend for Wal {
    fn open(config: Config) -> Result<(Self, RecoveryReport)> {
        Wal::open(config)
    }
    fn write(&self, entries: Vec<Vec<u8>>) -> Result<RangeInclusive<Lsn>> {
        self.append_batch(entries)
    }
    fn replay(&self, tx: &Sender<Entry>, backwards: bool) -> Result<()> {
        self.replay_into(tx, ReplayOptions::all().direction(dir(backwards)))
            .map(|_| ())
    }
    fn replay_from_range(
        &self,
        tx: &Sender<Entry>,
        backwards: bool,
        start: SegmentId,
        end: SegmentId,
    ) -> Result<()> {
        let o = ReplayOptions::all()
            .direction(dir(backwards))
            .range(ReplayRange::Segments { start, end });
        self.replay_into(tx, o).map(|_| ())
    }
    fn create_checkpoint(&self) -> Result<CheckpointId> {
        Wal::create_checkpoint(self)
    }
    fn replay_from_checkpoint(
        &self,
        tx: &Sender<Entry>,
        checkpoint: CheckpointId,
        backwards: bool,
    ) -> Result<()> {
        let o = ReplayOptions::all()
            .direction(dir(backwards))
            .range(ReplayRange::FromCheckpoint(checkpoint));
        self.replay_into(tx, o).map(|_| ())
    }
    fn replay_to_checkpoint(
        &self,
        tx: &Sender<Entry>,
        checkpoint: CheckpointId,
        backwards: bool,
    ) -> Result<()> {
        let o = ReplayOptions::all()
            .direction(dir(backwards))
            .range(ReplayRange::ToCheckpoint(checkpoint));
        self.replay_into(tx, o).map(|_| ())
    }
    fn close(&self) -> Result<()> {
        Wal::close(self)
    }
    fn last_index(&self) -> Lsn {
        Wal::last_index(self)
    }
    fn inc_last_index(&self) -> Result<Lsn> {
        Wal::inc_last_index(self)
    }
    fn backend_type(&self) -> BackendType {
        Wal::backend_type(self)
    }
}
