//! [`WalBackend`]: Go xwal's `WALBackendInterface`, operation by operation.

use crate::config::{BackendType, Config};
use crate::error::Result;
use crate::recovery::RecoveryReport;
use crate::replay::{Direction, Entry, ReplayOptions, ReplayRange};
use crate::wal::Wal;
use crate::Lsn;
use crossbeam_channel::Sender;
use std::ops::RangeInclusive;

/// The Go interface, method for method. Replays block the calling thread and
/// send into the caller's channel, as Go's do; a consumer must be receiving.
pub trait WalBackend: Sized {
    /// Go `Open()`: create or open, and recover.
    fn open(config: Config) -> Result<(Self, RecoveryReport)>;
    /// Go `Write(entries)`: one atomic, durable batch. LSNs are assigned here.
    fn write(&self, entries: Vec<Vec<u8>>) -> Result<RangeInclusive<Lsn>>;
    /// Go `Replay(ch, backwards)`: every entry, non-destructive.
    fn replay(&self, tx: &Sender<Entry>, backwards: bool) -> Result<()>;
    /// Go `ReplayFromRange(ch, backwards, start, end)`: segments `start..=end` (0 = first present).
    fn replay_from_range(
        &self,
        tx: &Sender<Entry>,
        backwards: bool,
        start: u64,
        end: u64,
    ) -> Result<()>;
    /// Go `CreateCheckpoint()`.
    fn create_checkpoint(&self) -> Result<u64>;
    /// Go `ReplayFromCheckpoint(ch, checkpoint, backwards)`.
    fn replay_from_checkpoint(
        &self,
        tx: &Sender<Entry>,
        checkpoint: u64,
        backwards: bool,
    ) -> Result<()>;
    /// Go `ReplayToCheckpoint(ch, checkpoint, backwards)`.
    fn replay_to_checkpoint(
        &self,
        tx: &Sender<Entry>,
        checkpoint: u64,
        backwards: bool,
    ) -> Result<()>;
    /// Go `Close()`.
    fn close(&self) -> Result<()>;
    /// Go `LastIndex()`.
    fn last_index(&self) -> Lsn;
    /// Go `IncLastIndex()`.
    fn inc_last_index(&self) -> Result<Lsn>;
    /// Go `Type()`.
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
        start: u64,
        end: u64,
    ) -> Result<()> {
        let o = ReplayOptions::all()
            .direction(dir(backwards))
            .range(ReplayRange::Segments { start, end });
        self.replay_into(tx, o).map(|_| ())
    }
    fn create_checkpoint(&self) -> Result<u64> {
        Wal::create_checkpoint(self)
    }
    fn replay_from_checkpoint(
        &self,
        tx: &Sender<Entry>,
        checkpoint: u64,
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
        checkpoint: u64,
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
