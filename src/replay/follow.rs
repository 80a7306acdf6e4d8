//! A follower: a live tail on a read-only view of a directory that another
//! process writes. With no writer in this process, it learns what is
//! durable from the log itself and notices new records through inotify.
//!
//! A record is delivered once it is proven durable, never earlier: by the
//! durable LSN a later record carries (each record names the highest LSN
//! whose sync had completed when it was written), or by the next segment's
//! valid header (a segment is synced before the next one is written). So the
//! newest commit is delivered once the writer commits again or rolls over.

use super::batch::{Batch, BatchBuilder};
use super::scan::ChunkScanner;
use crate::dir::{self, ListedSegment};
use crate::error::{Error, Result};
use crate::format::{BLOCK_SIZE, HeaderDecode, SegmentHeader, align_down};
use crate::io::{DirWatch, ReadEngine, sync::SyncReadEngine};
use crate::shared::{SegmentMeta, Shared};
use bytes::Bytes;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Longest wait between two looks at the directory, whatever inotify says.
pub const FOLLOW_MAX_WAIT: Duration = Duration::from_millis(100);
/// Bytes read per look before delivering (doubled while no record is proven).
const LOOK_BYTES: u64 = 4 << 20;
/// A look starts with one small read (a caught-up follower finds a few new
/// records), and goes on in large ones while the records continue.
const FIRST_READ_BYTES: usize = 16 << 10;
const CHUNK_BYTES: usize = 256 << 10;

/// What follows the segment a follower reads.
enum Next {
    /// The next segment's valid header.
    Header(SegmentHeader),
    /// The next segment was removed (a later one exists).
    Removed { first_present: u64 },
}

/// Where the next undelivered record is.
struct Position {
    meta: SegmentMeta,
    file: File,
    offset: u64,
    lsn: u64,
}

/// What one look at the current segment found.
struct Look {
    chunks: Vec<(u64, Bytes)>,
    /// Last LSN of the valid records in sequence from the position.
    last_valid: u64,
    /// Last LSN of those that ends an atomic group.
    last_group_end: u64,
    max_durable: u64,
    /// The look stopped at the end of what is written (not at its byte limit).
    at_end: bool,
}

pub(crate) struct Follower {
    shared: Arc<Shared>,
    watch: Option<DirWatch>,
    first: SyncReadEngine,
    engine: SyncReadEngine,
    pos: Option<Position>,
    /// Highest LSN proven durable.
    proven: u64,
    /// The WAL directory, to see whether a writer holds its lock.
    dir_file: Option<File>,
    pub next: u64,
}

impl Follower {
    pub fn new(shared: Arc<Shared>, from: u64) -> Result<Follower> {
        let watch = DirWatch::new(&shared.dir)
            .inspect_err(
                |e| tracing::warn!(error = %e, "no inotify: the follower looks every 100 ms"),
            )
            .ok();
        Ok(Follower {
            shared,
            watch,
            first: SyncReadEngine::new(FIRST_READ_BYTES),
            engine: SyncReadEngine::new(CHUNK_BYTES),
            pos: None,
            proven: 0,
            dir_file: None,
            next: from.max(1),
        })
    }

    /// The next batch of proven-durable entries, or `None` at `deadline`.
    pub fn next_batch(&mut self, deadline: Option<Instant>) -> Result<Option<Batch>> {
        loop {
            // The view was closed: `Closed`, as for every later call.
            self.shared.check_open()?;
            if let Some(b) = self.look()? {
                return Ok(Some(b));
            }
            let now = Instant::now();
            let left = match deadline {
                Some(d) if now >= d => return Ok(None),
                Some(d) => (d - now).min(FOLLOW_MAX_WAIT),
                None => FOLLOW_MAX_WAIT,
            };
            let stop = self.shared.view_closed.as_ref();
            match &self.watch {
                Some(w) => w.wait(left, stop).map(|_| ()),
                None => crate::io::watch::sleep_unless(left, stop),
            }
            .map_err(|e| Error::io("waiting for the directory to change", e))?;
        }
    }

    /// Reads what is new; a batch if anything could be delivered.
    fn look(&mut self) -> Result<Option<Batch>> {
        if self.pos.is_none() {
            let listed = dir::list(&self.shared.dir)?.0;
            match self.position(&listed)? {
                Some(p) => self.pos = Some(p),
                None => return Ok(None),
            }
        }
        loop {
            let look = self.read_until_proven()?;
            self.proven = self.proven.max(look.max_durable);
            let stop = self.proven.min(look.last_valid);
            if stop >= self.pos_lsn() {
                let b = self.deliver(&look, stop)?;
                if !b.is_empty() {
                    return Ok(Some(b));
                }
                continue;
            }
            // Nothing proven by durable LSNs: only a later segment proves the
            // rest (the directory is listed only now).
            let listed = dir::list(&self.shared.dir)?.0;
            let Some(next) = self.next_segment(&listed)? else {
                if look.last_valid >= self.pos_lsn() {
                    return self.prove_without_writer();
                }
                return Ok(None);
            };
            if let Some(b) = self.finish_segment(&listed, next)? {
                return Ok(Some(b));
            }
        }
    }

    /// With no writer holding the directory's lock, what is written is all
    /// there is until another writer opens (and that one's recovery syncs
    /// what it keeps before writing anything). A writer that closed synced
    /// it; one that died may have left it in the device's volatile cache, so
    /// this view syncs the segment itself (it changes no byte), then checks
    /// that no writer came meanwhile, and delivers the complete groups it
    /// read. So a follower reaches the end of a log whose writer is gone.
    fn prove_without_writer(&mut self) -> Result<Option<Batch>> {
        let io = |e| Error::io("looking for the WAL's writer", e);
        let dir_file = match &self.dir_file {
            Some(f) => f,
            None => self.dir_file.insert(dir::open_dir(&self.shared.dir)?),
        };
        if dir::writer_holds_lock(&self.shared.dir, dir_file).map_err(io)? {
            return Ok(None);
        }
        let look = self.read_written(u64::MAX)?;
        let Some(p) = self.pos.as_ref() else {
            return Ok(None);
        };
        let seg_path = p.meta.path(&self.shared.dir);
        crate::io::fs::sync_file(&seg_path, &p.file, true)
            .map_err(|e| Error::io(format!("syncing segment {}", p.meta.segment), e))?;
        let dir_file = self.dir_file.as_ref().ok_or(Error::Closed)?;
        if dir::writer_holds_lock(&self.shared.dir, dir_file).map_err(io)?
            || look.last_group_end < p.lsn
        {
            return Ok(None);
        }
        self.proven = self.proven.max(look.last_group_end);
        let b = self.deliver(&look, look.last_group_end)?;
        Ok((!b.is_empty()).then_some(b))
    }

    fn pos_lsn(&self) -> u64 {
        self.pos.as_ref().map_or(0, |p| p.lsn)
    }

    /// The current segment is complete: a later segment exists, and a
    /// segment is synced before the next one is written. Its records are
    /// read again to their end, since the look that found nothing proven may
    /// predate its last records (the later segment can have been written in
    /// between). Delivers what is left, then moves on; or ends the tail if
    /// the next segment was removed.
    fn finish_segment(&mut self, listed: &[ListedSegment], next: Next) -> Result<Option<Batch>> {
        let look = self.read_written(u64::MAX)?;
        debug_assert!(look.at_end);
        if let Next::Header(h) = &next {
            // After an LSN gap a repair reserved, the records end anywhere before it.
            let end = h.first_lsn - 1;
            let ends_right = match h.lsn_gap_before {
                true => look.last_valid <= end,
                false => look.last_valid == end,
            };
            if !ends_right {
                return Err(self.inconsistent(look.last_valid, end));
            }
        }
        if look.last_valid >= self.pos_lsn() {
            let b = self.deliver(&look, look.last_valid)?;
            if !b.is_empty() {
                return Ok(Some(b));
            }
        }
        match next {
            Next::Header(h) => {
                self.move_to(listed, h)?;
                Ok(None)
            }
            Next::Removed { first_present } => Err(Error::TailBehindRemoval {
                needed: crate::Lsn(self.next),
                first_present: crate::Lsn(first_present),
            }),
        }
    }

    /// Reads from the position until a record is proven or the records stop.
    fn read_until_proven(&mut self) -> Result<Look> {
        let mut limit = LOOK_BYTES;
        loop {
            let look = self.read_written(limit)?;
            let pos = self.pos.as_ref().map_or(0, |p| p.lsn);
            if look.at_end || self.proven.max(look.max_durable) >= pos {
                return Ok(look);
            }
            limit = limit.saturating_mul(2);
        }
    }

    /// A complete segment whose records do not end where the next begins.
    fn inconsistent(&self, last_valid: u64, end: u64) -> Error {
        let p = self.pos.as_ref();
        let reason = match last_valid < end {
            true => format!(
                "records end at LSN {last_valid}, but the next segment starts at LSN {}",
                end + 1
            ),
            false => format!(
                "records go on to LSN {last_valid}, but the next segment starts at LSN {}",
                end + 1
            ),
        };
        Error::Corruption {
            segment: crate::SegmentId(p.map_or(0, |p| p.meta.segment)),
            offset: p.map_or(0, |p| p.offset),
            reason,
        }
    }

    /// Reads from the position until the records stop (the end of what is
    /// written, for now) or `limit` bytes were read.
    fn read_written(&mut self, limit: u64) -> Result<Look> {
        let Some(p) = self.pos.as_ref() else {
            return Ok(Look {
                chunks: vec![],
                last_valid: 0,
                last_group_end: 0,
                max_durable: 0,
                at_end: true,
            });
        };
        let meta = p.meta;
        let mut scanner = ChunkScanner::new(&meta, p.offset, p.lsn, u64::MAX);
        let start = align_down(p.offset, BLOCK_SIZE as u64);
        let fd = p.file.as_raw_fd();
        let io = |e| Error::io(format!("reading segment {}", meta.segment), e);
        let first_end = (start + FIRST_READ_BYTES as u64).min(meta.capacity);
        self.first.begin(fd, start, first_end).map_err(io)?;
        self.engine
            .begin(fd, first_end, meta.capacity)
            .map_err(io)?;
        let mut look = Look {
            chunks: Vec::new(),
            last_valid: p.lsn - 1,
            last_group_end: p.lsn - 1,
            max_durable: 0,
            at_end: false,
        };
        let mut read = 0u64;
        'chunks: while read < limit {
            let chunk = match read {
                0 => self.first.next_chunk(),
                _ => self.engine.next_chunk(),
            };
            let Some(chunk) = chunk.map_err(io)? else {
                look.at_end = true;
                break;
            };
            let (off, bytes) = (chunk.offset(), chunk.into_bytes());
            read += bytes.len() as u64;
            let mut at = scanner.start_in(off);
            loop {
                match scanner.next_record(&bytes, off, &mut at) {
                    Ok(Some(f)) => {
                        look.last_valid = f.record.header.lsn;
                        if f.record.header.is_group_end() {
                            look.last_group_end = look.last_valid;
                        }
                        look.max_durable = look.max_durable.max(f.record.header.durable_lsn);
                    }
                    Ok(None) => break,
                    // Zeros, a record being written, or damage: the end for now.
                    Err(_) => {
                        look.chunks.push((off, bytes));
                        look.at_end = true;
                        break 'chunks;
                    }
                }
            }
            look.chunks.push((off, bytes));
        }
        Ok(look)
    }

    /// Builds the batch of entries `next..=stop` from the look's chunks.
    fn deliver(&mut self, look: &Look, stop: u64) -> Result<Batch> {
        let Some(p) = self.pos.as_mut() else {
            return Ok(Batch::default());
        };
        let mut scanner = ChunkScanner::new(&p.meta, p.offset, p.lsn, stop);
        let mut b = BatchBuilder::new(self.next, stop);
        for (off, bytes) in &look.chunks {
            if scanner.done() {
                break;
            }
            b.add_bytes(&mut scanner, *off, bytes.clone())?;
        }
        debug_assert!(scanner.done());
        p.offset = scanner.next_offset();
        p.lsn = scanner.expected();
        self.next = self.next.max(p.lsn);
        Ok(b.finish(false))
    }

    /// The segment holding `next`, from the start of its records.
    fn position(&self, listed: &[ListedSegment]) -> Result<Option<Position>> {
        let mut found: Option<(SegmentMeta, u64)> = None;
        let mut first_present = None;
        for s in listed {
            let Some(h) = self.header_of(s)? else {
                continue;
            };
            first_present.get_or_insert(h.first_lsn);
            if h.first_lsn <= self.next {
                found = Some((
                    SegmentMeta::of_header(s.segment, s.checkpoint, &h),
                    h.first_lsn,
                ));
            }
        }
        match (found, first_present) {
            (Some((meta, lsn)), _) => Ok(Some(self.open(meta, lsn)?)),
            (None, Some(first)) => Err(Error::TailBehindRemoval {
                needed: crate::Lsn(self.next),
                first_present: crate::Lsn(first),
            }),
            (None, None) => Ok(None),
        }
    }

    fn open(&self, meta: SegmentMeta, lsn: u64) -> Result<Position> {
        let path = dir::segment_path(&self.shared.dir, meta.segment, meta.checkpoint);
        let file = match dir::open_for_read(&path) {
            Ok(f) => f,
            // Renamed to its checkpoint name since the listing.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => dir::open_for_read(
                &dir::segment_path(&self.shared.dir, meta.segment, !meta.checkpoint),
            )
            .map_err(|e| Error::io(format!("opening segment {}", meta.segment), e))?,
            Err(e) => return Err(Error::io(format!("opening {}", path.display()), e)),
        };
        Ok(Position {
            meta,
            file,
            offset: BLOCK_SIZE as u64,
            lsn,
        })
    }

    /// What follows the current segment: the next one's valid header; or,
    /// if it is gone (purged, consumed) while a later one exists, the removal;
    /// or nothing yet.
    fn next_segment(&self, listed: &[ListedSegment]) -> Result<Option<Next>> {
        let Some(p) = self.pos.as_ref() else {
            return Ok(None);
        };
        let want = p.meta.segment + 1;
        if let Some(s) = listed.iter().find(|s| s.segment == want) {
            return Ok(self.header_of(s)?.map(Next::Header));
        }
        // A later segment with a valid header was written after `want` was
        // sealed, so `want` existed; a listing taken during a checkpoint
        // rename may miss a name, hence the check under both names.
        for s in listed.iter().filter(|s| s.segment > want) {
            let Some(h) = self.header_of(s)? else {
                continue;
            };
            if self.exists(want) {
                return Ok(None);
            }
            let first_present = self.first_present(listed)?.unwrap_or(h.first_lsn);
            return Ok(Some(Next::Removed { first_present }));
        }
        Ok(None)
    }

    fn exists(&self, segment: u64) -> bool {
        [false, true]
            .iter()
            .any(|&c| crate::io::fs::exists(&dir::segment_path(&self.shared.dir, segment, c)))
    }

    /// The first LSN of the oldest listed segment with a valid header.
    fn first_present(&self, listed: &[ListedSegment]) -> Result<Option<u64>> {
        for s in listed {
            if let Some(h) = self.header_of(s)? {
                return Ok(Some(h.first_lsn));
            }
        }
        Ok(None)
    }

    /// Moves to the next segment, which must start where this one ended.
    fn move_to(&mut self, listed: &[ListedSegment], h: SegmentHeader) -> Result<()> {
        let Some(s) = listed.iter().find(|s| s.segment == h.segment) else {
            return Ok(());
        };
        self.pos = Some(self.open(
            SegmentMeta::of_header(s.segment, s.checkpoint, &h),
            h.first_lsn,
        )?);
        self.next = self.next.max(h.first_lsn);
        Ok(())
    }

    fn header_of(&self, s: &ListedSegment) -> Result<Option<SegmentHeader>> {
        let path = dir::segment_path(&self.shared.dir, s.segment, s.checkpoint);
        let block = match dir::read_header_block(&path) {
            Ok(b) => b,
            // Renamed or removed since the listing: the next look sees it.
            Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        Ok(match SegmentHeader::decode(&block) {
            HeaderDecode::Valid(h) if h.segment == s.segment => Some(h),
            _ => None,
        })
    }
}
