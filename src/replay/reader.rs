//! The pull-based replay reader: segment by segment, chunk by chunk, one
//! [`Batch`] per `next_batch` call. Nothing runs between calls except the
//! reads the engine keeps in flight ahead of the consumer.

use super::batch::{Batch, BatchBuilder};
use super::plan::{self, Plan};
use super::scan::ChunkScanner;
use super::{Direction, ReplayOptions, ReplaySummary};
use crate::error::{Error, Result};
use crate::format::{BLOCK_SIZE, align_down, align_up};
use crate::io::{Chunk, ReadEngine};
use crate::shared::{SegmentMeta, Shared};
use std::collections::VecDeque;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::sync::Arc;

/// A selected segment and the last LSN it must hold.
struct Planned {
    meta: SegmentMeta,
    last_lsn: u64,
    /// Its records may end before `last_lsn`: the next segment follows an
    /// LSN gap a repair reserved.
    open_end: bool,
}

enum Current {
    Forward {
        meta: SegmentMeta,
        _file: File,
        scanner: ChunkScanner,
    },
    /// Windows `(offset, first LSN)` still to read, oldest first; the newest
    /// is read next and ends where `upper` (the window read before it) starts.
    Backward {
        meta: SegmentMeta,
        file: File,
        windows: Vec<(u64, u64)>,
        upper: (u64, u64),
    },
}

pub(crate) struct Reader {
    shared: Arc<Shared>,
    engine: Box<dyn ReadEngine>,
    direction: Direction,
    lo: u64,
    hi: u64,
    /// Bytes per backward window.
    window: u64,
    queue: VecDeque<Planned>,
    current: Option<Current>,
    /// An error found after the entries of the batch just returned.
    deferred: Option<Error>,
    /// The damage a read-only view stops at, if this replay reaches it:
    /// returned after every entry before it.
    damage: Option<Error>,
    /// The last LSN handed out, to check the order of the next batch.
    delivered: Option<u64>,
    pub summary: ReplaySummary,
    pub consumable: Result<Vec<u64>>,
    /// The first LSN of the oldest segment present (local or in the tier).
    pub first_present: Option<u64>,
}

/// Anchors `(offset, lsn)` of a segment, and where its valid records end.
type AnchorsAndEnd = (Vec<(u64, u64)>, (u64, u64));

impl Reader {
    /// Plans the replay; fails at once on a range that names nothing.
    pub fn new(shared: Arc<Shared>, opts: ReplayOptions) -> Result<Reader> {
        let plan = plan::plan(&shared, opts)?;
        let consumable = plan::consumable(&plan, opts);
        let first_present = plan.all.first().map(|m| m.first_lsn);
        let (lo, hi) = plan::lsn_filter(opts.range);
        let reaches_end = plan.selected.last() == plan.all.last() && hi > plan.bound;
        let damage = match &shared.damage {
            Some(d) if reaches_end => Some(d.clone()),
            _ => None,
        };
        let engine = crate::io::read_engine(
            shared.uring,
            shared.config.replay_chunk_size,
            shared.config.replay_read_ahead,
        )?;
        Ok(Reader {
            window: shared.config.replay_chunk_size as u64,
            queue: order(&plan, opts.direction),
            shared,
            engine,
            direction: opts.direction,
            lo,
            hi,
            current: None,
            deferred: None,
            damage,
            delivered: None,
            summary: ReplaySummary::default(),
            consumable,
            first_present,
        })
    }

    /// The next batch of entries in replay order, `None` at the end.
    pub fn next_batch(&mut self) -> Result<Option<Batch>> {
        if let Some(e) = self.deferred.take() {
            return Err(e);
        }
        loop {
            if self.current.is_none() {
                let Some(p) = self.queue.pop_front() else {
                    return match self.damage.take() {
                        Some(e) => Err(e),
                        None => Ok(None),
                    };
                };
                if p.last_lsn < p.meta.first_lsn
                    || p.last_lsn < self.lo
                    || p.meta.first_lsn > self.hi
                {
                    self.summary.segments.push(crate::SegmentId(p.meta.segment));
                    continue;
                }
                self.current = Some(self.open(p)?);
            }
            match self.step()? {
                Some(b) if b.is_empty() => continue,
                Some(b) => {
                    self.check_order(&b);
                    self.summary.entries += b.len() as u64;
                    self.summary.bytes += b.payload_bytes();
                    return Ok(Some(b));
                }
                None => {
                    if let Some(c) = self.current.take() {
                        self.summary.segments.push(crate::SegmentId(c.segment()));
                    }
                }
            }
        }
    }

    /// A batch holds LSNs of the range only, in replay order, each after
    /// every LSN already handed out: a replay never repeats or reorders.
    fn check_order(&mut self, b: &Batch) {
        let Some((first, last)) = b.lsns() else {
            return;
        };
        let (first, last) = (first.get(), last.get());
        let (lo, hi) = (first.min(last), first.max(last));
        assert!(
            self.lo <= lo && hi <= self.hi,
            "batch {lo}..={hi} outside the range"
        );
        let in_order = match self.direction {
            Direction::Forward => first <= last && self.delivered.is_none_or(|d| d < first),
            Direction::Backward => first >= last && self.delivered.is_none_or(|d| d > first),
        };
        assert!(
            in_order,
            "batch {first}..{last} out of replay order after {:?}",
            self.delivered
        );
        self.delivered = Some(last);
    }

    fn open(&mut self, p: Planned) -> Result<Current> {
        let file = plan::open_segment(&self.shared, &p.meta)?;
        let stop = p.last_lsn.min(self.hi);
        let meta = p.meta;
        match self.direction {
            Direction::Forward => {
                let start = BLOCK_SIZE as u64;
                self.begin(&file, &meta, start, meta.capacity)?;
                let scanner =
                    ChunkScanner::new(&meta, start, meta.first_lsn, stop).with_open_end(p.open_end);
                Ok(Current::Forward {
                    scanner,
                    meta,
                    _file: file,
                })
            }
            Direction::Backward => {
                let (windows, upper) = self.find_windows(&meta, &file, stop, p.open_end)?;
                // Every window's reads are queued, newest first, so the reads
                // of the next run while this one is decoded.
                let mut ranges = Vec::with_capacity(windows.len());
                let mut top = upper.0;
                for w in windows.iter().rev() {
                    let end = align_up(top, BLOCK_SIZE as u64).min(meta.capacity);
                    ranges.push((align_down(w.0, BLOCK_SIZE as u64), end));
                    top = w.0;
                }
                self.engine
                    .begin_ranges(file.as_raw_fd(), &ranges)
                    .map_err(|e| read_error(&meta, e))?;
                Ok(Current::Backward {
                    meta,
                    file,
                    windows,
                    upper,
                })
            }
        }
    }

    fn begin(&mut self, file: &File, meta: &SegmentMeta, start: u64, end: u64) -> Result<()> {
        let (start, end) = (
            align_down(start, BLOCK_SIZE as u64),
            align_up(end, BLOCK_SIZE as u64),
        );
        self.engine
            .begin(file.as_raw_fd(), start, end.min(meta.capacity))
            .map_err(|e| read_error(meta, e))
    }

    /// The next chunk; `None` where the scanner's records may end (an open end).
    fn next_chunk(
        &mut self,
        meta: &SegmentMeta,
        scanner: &mut ChunkScanner,
    ) -> Result<Option<Chunk>> {
        match self.engine.next_chunk() {
            Ok(Some(c)) => Ok(Some(c)),
            Ok(None) => scanner.end_of_data().map(|()| None),
            Err(e) => Err(read_error(meta, e)),
        }
    }

    /// One batch of the current segment, `None` once it is done.
    fn step(&mut self) -> Result<Option<Batch>> {
        let (lo, hi) = (self.lo, self.hi);
        match self.current.take() {
            Some(Current::Forward {
                meta,
                _file,
                mut scanner,
            }) => {
                if scanner.done() {
                    self.current = Some(Current::Forward {
                        meta,
                        _file,
                        scanner,
                    });
                    return Ok(None);
                }
                let Some(chunk) = self.next_chunk(&meta, &mut scanner)? else {
                    debug_assert!(scanner.done());
                    self.current = Some(Current::Forward {
                        meta,
                        _file,
                        scanner,
                    });
                    return Ok(None);
                };
                let mut b = BatchBuilder::new(lo, hi);
                // Entries before a bad record are delivered, then the error.
                if let Err(e) = b.add_chunk(&mut scanner, chunk) {
                    self.deferred = Some(e);
                }
                self.current = Some(Current::Forward {
                    meta,
                    _file,
                    scanner,
                });
                let batch = b.finish(false);
                match self.deferred.take() {
                    Some(e) if batch.is_empty() => Err(e),
                    e => {
                        self.deferred = e;
                        Ok(Some(batch))
                    }
                }
            }
            Some(Current::Backward {
                meta,
                file,
                mut windows,
                mut upper,
            }) => {
                let batch = match windows.pop() {
                    Some(w) => {
                        let b = self.read_window(&meta, w, upper)?;
                        upper = w;
                        Some(b)
                    }
                    None => None,
                };
                self.current = Some(Current::Backward {
                    meta,
                    file,
                    windows,
                    upper,
                });
                Ok(batch)
            }
            None => Ok(None),
        }
    }

    /// Decodes the window from `(offset, lsn)` up to where `upper` starts
    /// (its chunks come next: `open` queued every window's range), and
    /// returns its entries newest first. The scan ends in the range's last
    /// chunk, since the range ends at the block holding the window's end.
    fn read_window(
        &mut self,
        meta: &SegmentMeta,
        (offset, lsn): (u64, u64),
        upper: (u64, u64),
    ) -> Result<Batch> {
        debug_assert!(offset < upper.0 && lsn < upper.1);
        let mut scanner = ChunkScanner::new(meta, offset, lsn, upper.1 - 1);
        let mut b = BatchBuilder::new(self.lo, self.hi);
        while !scanner.done() {
            let Some(chunk) = self.next_chunk(meta, &mut scanner)? else {
                break;
            };
            b.add_chunk(&mut scanner, chunk)?;
        }
        Ok(b.finish(true))
    }

    /// Cuts a segment into windows at anchors `(offset, LSN)` about `window`
    /// bytes apart, so backward replay reads it in bounded memory.
    ///
    /// Known anchors come from this process's writer or from the segment's
    /// anchor index, and are checked as they are used: each window must start
    /// with the anchor's LSN and end right before the next window's, else the
    /// replay fails with `Corruption` (a wrong index that passed its CRC is a
    /// bug, not damage to paper over). Past the last known anchor (from the
    /// segment start if none is known) a verifying forward pass finds the end
    /// and more anchors, so a segment without them is read twice.
    fn find_windows(
        &mut self,
        meta: &SegmentMeta,
        file: &File,
        stop: u64,
        open_end: bool,
    ) -> Result<AnchorsAndEnd> {
        let start = (BLOCK_SIZE as u64, meta.first_lsn);
        let mut anchors = vec![start];
        let known = plan::known_anchors(&self.shared, meta);
        anchors.extend(
            known
                .into_iter()
                .filter(|a| a.0 > start.0 && a.1 > start.1 && a.1 <= stop),
        );
        let (from_off, from_lsn) = anchors[anchors.len() - 1];
        let mut scanner = ChunkScanner::new(meta, from_off, from_lsn, stop).with_open_end(open_end);
        self.begin(file, meta, from_off, meta.capacity)?;
        let mut end = from_off;
        while !scanner.done() {
            let Some(chunk) = self.next_chunk(meta, &mut scanner)? else {
                break;
            };
            let mut pos = scanner.start_in(chunk.offset());
            while let Some(f) = scanner.next_record(chunk.as_slice(), chunk.offset(), &mut pos)? {
                if anchors
                    .last()
                    .is_some_and(|a| f.offset - a.0 >= self.window)
                {
                    anchors.push((f.offset, f.record.header.lsn));
                }
                end = f.offset + f.record.len as u64;
            }
        }
        // Windows wholly below `lo` are left out.
        let first = anchors
            .partition_point(|a| a.1 <= self.lo)
            .saturating_sub(1);
        anchors.drain(..first);
        // An open end may have lowered the stop: the window past it is empty.
        let stop = scanner.stop();
        anchors.retain(|a| a.1 <= stop);
        Ok((anchors, (end, stop + 1)))
    }
}

impl Current {
    fn segment(&self) -> u64 {
        match self {
            Current::Forward { meta, .. } | Current::Backward { meta, .. } => meta.segment,
        }
    }
}

fn read_error(meta: &SegmentMeta, e: std::io::Error) -> Error {
    Error::io(format!("reading segment {}", meta.segment), e)
}

/// The selected segments in read order, each with the last LSN it must hold
/// (one before the next segment's first, or the snapshot's bound).
fn order(plan: &Plan, direction: Direction) -> VecDeque<Planned> {
    let last_of = |meta: &SegmentMeta| {
        let idx = plan
            .all
            .iter()
            .position(|m| m.segment == meta.segment)
            .unwrap_or(0);
        plan.all
            .get(idx + 1)
            .map(|n| n.first_lsn - 1)
            .unwrap_or(plan.bound)
    };
    let open_end = |meta: &SegmentMeta| {
        plan.all
            .iter()
            .find(|n| n.segment == meta.segment + 1)
            .is_some_and(|n| n.lsn_gap_before)
    };
    let planned = plan.selected.iter().map(|m| Planned {
        meta: *m,
        last_lsn: last_of(m),
        open_end: open_end(m),
    });
    match direction {
        Direction::Forward => planned.collect(),
        Direction::Backward => planned.rev().collect(),
    }
}
