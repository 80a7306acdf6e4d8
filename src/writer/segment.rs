//! Segment lifecycle on the writer thread: the active segment, its header,
//! rollover, checkpoint, rotation, sealing, syncs outside the commit path and
//! the replay anchors.

use super::Writer;
use crate::append_buffer::{SegmentView, Taken};
use crate::config::SyncPolicy;
use crate::dir;
use crate::error::{Error, Result};
use crate::format::{BLOCK_SIZE, MAX_LSN, MAX_SEGMENT, SegmentHeader, align_down, align_up};
use crate::io::{AlignedBuf, WriteOp};
use crate::shared::{SegmentMeta, Shared};
use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Instant;

/// The segment being appended to.
pub(super) struct Active {
    pub meta: SegmentMeta,
    pub file: File,
    /// Where the next record goes (past the last batch submitted).
    pub write_pos: u64,
    pub header_written: bool,
    /// Offset from which the next replay anchor is recorded; `None` for a
    /// segment resumed after a restart, whose earlier records this process
    /// never saw (backward replay then takes its verifying forward pass).
    next_anchor_at: Option<u64>,
}

impl Active {
    pub fn resume(shared: &Shared, r: &crate::recovery::Resume) -> Result<Active> {
        let dsync = shared.config.sync == SyncPolicy::Dsync;
        Ok(Active {
            meta: r.meta,
            file: dir::open_for_write(&r.meta.path(&shared.dir), dsync)?,
            write_pos: r.write_pos,
            header_written: true,
            next_anchor_at: None,
        })
    }

    fn view(&self) -> SegmentView {
        SegmentView {
            segment: self.meta.segment,
            salt: self.meta.salt,
            capacity: self.meta.capacity,
        }
    }

    fn header_block(&self, config: &crate::config::Config) -> Vec<u8> {
        let mut block = vec![0u8; BLOCK_SIZE];
        SegmentHeader {
            segment: self.meta.segment,
            first_lsn: self.meta.first_lsn,
            salt: self.meta.salt,
            max_entry_size: self.meta.max_entry_size,
            capacity: self.meta.capacity,
            inflight_bytes: writer_inflight_bound(config),
            lsn_gap_before: self.meta.lsn_gap_before,
        }
        .encode(&mut block);
        block
    }

    /// A batch of this segment goes out: its end is the new write position,
    /// and about every replay chunk its start (a record boundary) is an anchor.
    pub fn note_batch(&mut self, shared: &Shared, t: &Taken) {
        let start = t.offset + t.first_record as u64;
        if let Some(at) = self.next_anchor_at.filter(|at| start >= *at) {
            debug_assert!(at > BLOCK_SIZE as u64);
            let chunk = shared.config.replay_chunk_size as u64;
            shared.record_anchor(self.meta.segment, start, t.first_lsn, chunk);
            self.next_anchor_at = Some(start + chunk);
        }
        assert!(t.end <= self.meta.capacity, "batch overran the segment");
        self.write_pos = t.end;
        self.header_written = true;
        shared.note_active_fill(t.end, self.meta.capacity);
    }
}

impl Writer {
    /// Points the append buffer at a segment resumed after a restart: its next
    /// record follows the recovered tail, in the block the tail ends in.
    pub(super) fn install_resumed(&self, r: &crate::recovery::Resume) {
        let Some(a) = self.active.as_ref() else {
            return;
        };
        let base = align_down(r.write_pos, BLOCK_SIZE as u64);
        let carried = (r.write_pos - base) as usize;
        self.shared
            .appends
            .install(Some(a.view()), base, &r.tail_block[..carried]);
    }

    /// Points the append buffer at the active segment's next record: after
    /// its header block if that is written, else after the header it carries.
    fn install_active(&self) {
        if let Some(a) = self.active.as_ref() {
            self.shared.note_active_fill(a.write_pos, a.meta.capacity);
        }
        match self.active.as_ref() {
            None => self.shared.appends.install(None, 0, &[]),
            Some(a) if a.header_written => {
                debug_assert_eq!(a.write_pos, BLOCK_SIZE as u64);
                self.shared
                    .appends
                    .install(Some(a.view()), BLOCK_SIZE as u64, &[]);
            }
            Some(a) => {
                self.shared
                    .appends
                    .install(Some(a.view()), 0, &a.header_block(&self.shared.config))
            }
        }
    }

    /// Asks the preparer for segment `n` if `segments` more fit the directory limit.
    pub(super) fn prepare_next_if_room(&mut self, n: u64, segments: u64) {
        let used = self.shared.segment_bytes();
        let size = self.shared.config.segment_size;
        if self
            .shared
            .config
            .max_dir_bytes
            .is_none_or(|limit| used + segments * size <= limit)
        {
            self.preparer.request(n);
        }
    }

    /// Leaves the active segment's replay anchors beside it (`wal-N.anchors`),
    /// once its records are synced. A hint for backward replay after a restart:
    /// no fsync, and a failure only costs that replay a forward pass.
    pub(super) fn write_anchor_index(&self) {
        let Some(a) = self.active.as_ref() else {
            return;
        };
        let anchors = self.shared.anchors_of(a.meta.segment);
        if anchors.is_empty() || self.shared.fence_error().is_some() {
            return;
        }
        let bytes = crate::format::encode_anchor_index(a.meta.segment, a.meta.salt, &anchors);
        let path = dir::anchor_index_path(&self.shared.dir, a.meta.segment);
        if let Err(e) = crate::io::fs::write_small(&path, &bytes) {
            tracing::warn!(path = %path.display(), error = %e, "could not write the anchor index (a replay hint)");
        }
    }

    /// fdatasync of the active segment for the policies that do not sync every batch.
    pub(super) fn sync_active(&mut self) -> Result<()> {
        if !self.unsynced {
            return Ok(());
        }
        let Some(a) = self.active.as_ref() else {
            return Ok(());
        };
        let fd = a.file.as_raw_fd();
        let started = Instant::now();
        match self.engine.sync_data(fd) {
            Ok(()) => {
                crate::metrics::record_fsync(started.elapsed());
                self.unsynced = false;
                self.last_sync = Instant::now();
                let r = self.shared.readable_lsn.load(Ordering::Acquire);
                self.shared.durable_lsn.store(r, Ordering::Release);
                self.shared.feed.durable(r);
                Ok(())
            }
            Err(e) => self.shared.fence.settle(Err(e), "fdatasync"),
        }
    }

    pub(super) fn maybe_interval_sync(&mut self) {
        if let SyncPolicy::Interval(d) = self.shared.config.sync
            && self.unsynced
            && self.last_sync.elapsed() >= d
        {
            let _ = self.sync_active();
        }
    }

    /// Writes the active segment's header now and syncs it (outside the hot
    /// path, nothing staged), and points the append buffer past it.
    fn write_header_now(&mut self) -> Result<()> {
        debug_assert!(self.inflight.is_empty());
        let Some(a) = self.active.as_mut() else {
            return Ok(());
        };
        if a.header_written {
            return Ok(());
        }
        let mut buf = AlignedBuf::new(BLOCK_SIZE);
        buf.as_mut_slice()[..BLOCK_SIZE].copy_from_slice(&a.header_block(&self.shared.config));
        let dsync = self.shared.config.sync == SyncPolicy::Dsync;
        self.engine.start(WriteOp {
            fd: a.file.as_raw_fd(),
            offset: 0,
            buf,
            len: BLOCK_SIZE,
            sync: !dsync,
            inline: true,
        });
        if let Err(e) = self.engine.finish().1 {
            return self.shared.fence.settle(Err(e), "segment header write");
        }
        a.header_written = true;
        a.write_pos = BLOCK_SIZE as u64;
        self.install_active();
        Ok(())
    }

    /// Seals the active segment (its data synced) and activates the next one,
    /// its header written and synced before any record: a record can then
    /// never outlive its header in a power cut, so a segment whose header
    /// is zero never held a record and recovery may reuse it as the zero
    /// preparation it looks like. (A header carried by the first batch, in
    /// one write with it, could be lost while records of that write stayed:
    /// reused, the file held them as stale bytes where the next records go.)
    /// Only with nothing staged or in flight.
    pub(super) fn rollover(&mut self) -> Result<()> {
        self.rollover_with(false)
    }

    fn rollover_with(&mut self, over_limit: bool) -> Result<()> {
        debug_assert!(self.inflight.is_empty());
        // Only the tail segment may hold unsynced data: recovery scans nothing else.
        self.sync_active()?;
        self.write_anchor_index();
        let next_lsn = self.shared.appends.next_lsn();
        self.check_room_for_next(next_lsn, over_limit)?;
        let n = self.next_segment;
        debug_assert!(
            self.active
                .as_ref()
                .is_none_or(|a| a.meta.segment < n && a.meta.first_lsn <= next_lsn),
            "segment numbers and first LSNs rise"
        );
        let path = self.preparer.take(&self.shared, n)?;
        let dsync = self.shared.config.sync == SyncPolicy::Dsync;
        let file = dir::open_for_write(&path, dsync)?;
        let meta = SegmentMeta {
            segment: n,
            first_lsn: next_lsn,
            salt: dir::random_salt(),
            max_entry_size: self.shared.config.max_entry_size as u32,
            capacity: self.shared.config.segment_size,
            checkpoint: false,
            lsn_gap_before: false,
        };
        let segments = {
            let mut t = self.shared.table.lock();
            let reused = t.insert(n, meta);
            assert!(reused.is_none(), "segment number {n} reused");
            t.len()
        };
        crate::metrics::set_segments(segments);
        if let Some(old) = self.active.take() {
            let path = old.meta.path(&self.shared.dir);
            self.seal(old, path);
        }
        let chunk = self.shared.config.replay_chunk_size as u64;
        self.active = Some(Active {
            meta,
            file,
            write_pos: BLOCK_SIZE as u64,
            header_written: false,
            next_anchor_at: Some(BLOCK_SIZE as u64 + chunk),
        });
        self.install_active();
        self.next_segment = n + 1;
        // Preparing ahead counts against the limit like any other segment file.
        self.prepare_next_if_room(n + 1, 2);
        tracing::debug!(segment = n, first_lsn = meta.first_lsn, "activated segment");
        self.write_header_now()?;
        debug_assert!(self.active.as_ref().is_some_and(|a| a.header_written));
        Ok(())
    }

    /// The next header must pass recovery's checks (room left in both
    /// sequences), and the directory limit must allow one more segment.
    fn check_room_for_next(&self, next_lsn: u64, over_limit: bool) -> Result<()> {
        if self.next_segment > MAX_SEGMENT {
            return Err(Error::Exhausted {
                what: "segment numbers",
                limit: MAX_SEGMENT,
            });
        }
        if next_lsn > MAX_LSN {
            return Err(Error::Exhausted {
                what: "LSNs",
                limit: MAX_LSN,
            });
        }
        let used = self.shared.segment_bytes();
        if let Some(limit) = self.shared.config.max_dir_bytes.filter(|_| !over_limit) {
            let size = used + self.shared.config.segment_size;
            if size > limit {
                return Err(Error::DirectoryFull { size, limit });
            }
        }
        Ok(())
    }

    /// The active segment is sealed for good (rollover, checkpoint): never
    /// appended to again, so the space past its data goes back, in the
    /// background. `path` is its name now.
    fn seal(&mut self, a: Active, path: PathBuf) {
        let segment = a.meta.segment;
        let written = a.header_written;
        let end = align_up(a.write_pos, BLOCK_SIZE as u64);
        drop(a);
        // A segment without its header holds nothing and keeps no LSN floor;
        // it is left whole for recovery to judge.
        if written {
            debug_assert!(end >= BLOCK_SIZE as u64);
            self.shared.set_sealed_len(segment, end);
            self.preparer.shrink(path, end);
        }
    }

    fn active_has_records(&self) -> bool {
        self.active
            .as_ref()
            .is_some_and(|a| a.header_written && a.write_pos > BLOCK_SIZE as u64)
    }

    /// Seals the active segment if it holds anything: `(segment, 1)`, or
    /// `(0, 0)` with nothing to seal.
    pub(super) fn rotate(&mut self, over_limit: bool) -> Result<(u64, u64)> {
        if !self.active_has_records() {
            return Ok((0, 0));
        }
        let sealed = self.active_segment();
        self.rollover_with(over_limit).map(|_| (sealed, 1))
    }

    /// Makes everything durable, marks the active segment as a checkpoint
    /// (rename + directory fsync) and starts the next segment.
    pub(super) fn checkpoint(&mut self) -> Result<u64> {
        if self.active.is_none() {
            self.rollover()?;
        }
        if !self.shared.seams.checkpoint_before_sync() {
            self.sync_active()?;
        }
        self.write_header_now()?;
        self.write_anchor_index();
        let Some(a) = self.active.take() else {
            return Err(Error::Closed);
        };
        let n = a.meta.segment;
        let from = dir::segment_path(&self.shared.dir, n, false);
        let to = dir::segment_path(&self.shared.dir, n, true);
        {
            let mut t = self.shared.table.lock();
            if let Err(e) = dir::rename_durable(&self.shared.dir, &from, &to) {
                drop(t);
                self.active = Some(a);
                return Err(e);
            }
            if let Some(m) = t.get_mut(&n) {
                m.checkpoint = true;
            }
        }
        self.seal(a, to);
        self.install_active();
        tracing::info!(segment = n, "checkpoint");
        if let Err(e) = self.rollover() {
            // The checkpoint stands; appends retry the rollover.
            tracing::warn!(error = %e, "checkpoint sealed but the next segment could not be started");
        }
        Ok(n)
    }
}

/// The in-flight bound of this writer's configuration (see
/// [`SegmentHeader::inflight_bytes`]); 0 (none) under a policy that
/// acknowledges unsynced data: any number of batches may then be written
/// between two syncs, so a proof of durability may lie anywhere later.
pub(crate) fn writer_inflight_bound(config: &crate::config::Config) -> u64 {
    if !config.sync.acks_are_durable() {
        return 0;
    }
    crate::format::inflight_bound(
        config.commits_in_flight,
        config.max_batch_bytes,
        config.max_entry_size,
    )
}
