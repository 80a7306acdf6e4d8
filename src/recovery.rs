//! Open-time recovery: read every segment header, scan only the tail segment,
//! cut a torn or zero tail, and refuse corruption below the durable point.

use crate::config::Config;
use crate::cursor::RecordCursor;
use crate::dir::{self, ListedSegment};
use crate::error::{Error, Result};
use crate::format::{
    BLOCK_SIZE, DecodeError, EvidenceScan, HeaderDecode, RECORD_ALIGN, RECORD_HEADER_LEN,
    RecordDecode, SegmentHeader, align_down, align_up, decode_record, flip_could_be_tear,
    foreign_bytes, single_bit_flip, tear_possible,
};
use crate::ids::{Lsn, SegmentId};
use crate::io::{AlignedBuf, ReadEngine, Seams, WriteEngine, WriteOp};
use crate::shared::SegmentMeta;
use std::collections::BTreeMap;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// What `open` found and repaired.
///
/// # Examples
///
/// ```
/// # fn main() -> xwal::Result<()> {
/// use xwal::{Config, Wal};
///
/// let dir = tempfile::tempdir_in(".").unwrap();
/// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
/// let (wal, report) = Wal::open(config.clone())?;
/// assert_eq!((report.segments, report.last_lsn), (0, xwal::Lsn(0))); // a new WAL
/// wal.append_batch(["a", "b", "c"])?;
/// let active = wal.segments()[0].segment;
/// wal.close()?;
///
/// let (_wal, report) = Wal::open(config)?;
/// assert_eq!(report.last_lsn, 3);
/// assert_eq!(report.tail_segment, Some(active));
/// assert!(report.truncation.is_none()); // a clean close leaves nothing to cut
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecoveryReport {
    /// Segments with a valid header.
    pub segments: usize,
    /// The segment scanned record by record.
    pub tail_segment: Option<SegmentId>,
    /// Last LSN present after recovery (0 for a new WAL).
    pub last_lsn: Lsn,
    /// Bytes scanned in the tail segment.
    pub scanned_bytes: u64,
    /// A torn or incomplete tail that was cut, if any.
    pub truncation: Option<Truncation>,
    /// The tail segment's file is shorter than its header's capacity.
    pub short_file: Option<ShortFile>,
    /// Where a directory that [`Wal::open`](crate::Wal::open) refuses stops
    /// being readable: set only by [`Wal::open_read_only`](crate::Wal::open_read_only),
    /// which opens such a directory to give every intact record before it
    /// (its replays end with this as an error). `xwal repair` continues the log.
    pub damage: Option<Damage>,
    /// Files removed or set aside (leftover preparations, torn new segments).
    pub removed_files: Vec<PathBuf>,
    /// Time spent.
    pub elapsed: Duration,
}

/// A cut tail.
///
/// # Examples
///
/// ```
/// # fn main() -> xwal::Result<()> {
/// use std::os::unix::fs::FileExt;
/// use xwal::format::{encoded_record_len, entry_body_len, BLOCK_SIZE};
/// use xwal::{Config, ReplayOptions, Wal};
///
/// let dir = tempfile::tempdir_in(".").unwrap();
/// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
/// let (wal, _) = Wal::open(config.clone())?;
/// wal.append(b"a")?;
/// wal.append(b"b")?;
/// let segment = wal.segments()[0].segment;
/// wal.close()?;
///
/// // Tear the last record, as a power cut would: its end never reached the disk.
/// let second = (BLOCK_SIZE + encoded_record_len(entry_body_len(1, 1))) as u64;
/// let path = xwal::format::segment_path(dir.path(), segment.0, false);
/// let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
/// file.write_all_at(&[0; 16], second + 24).unwrap();
///
/// let (wal, report) = Wal::open(config)?;
/// let cut = report.truncation.expect("the torn tail is cut");
/// assert_eq!((cut.segment, cut.offset), (segment, second));
/// assert_eq!(report.last_lsn, 1);
/// let data: Vec<_> = wal.replay(ReplayOptions::all())?.map(|e| e.map(|e| e.data)).collect::<xwal::Result<Vec<_>>>()?;
/// assert_eq!(data, [b"a".to_vec()]);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Truncation {
    /// Segment number.
    pub segment: SegmentId,
    /// Byte offset the segment now ends at.
    pub offset: u64,
    /// Where the first undecodable byte was.
    pub first_bad_offset: u64,
    /// Why it stopped decoding there.
    pub reason: &'static str,
    /// Valid records dropped because their atomic group was incomplete.
    pub dropped_records: u64,
    /// Non-zero bytes zeroed after the cut.
    pub zeroed_bytes: u64,
}

/// A tail segment file shorter than the capacity its header names. A crash
/// cannot do this to a preallocated file: it is a restored or shrunk sealed
/// segment, or a copy, restore or backup that was cut short.
///
/// # Examples
///
/// ```
/// # fn main() -> xwal::Result<()> {
/// use xwal::{Config, Error, Wal};
///
/// let dir = tempfile::tempdir_in(".").unwrap();
/// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
/// let (wal, _) = Wal::open(config.clone())?;
/// for _ in 0..10 {
///     wal.append(&[7u8; 1000])?;
/// }
/// let segment = wal.segments()[0].segment;
/// wal.close()?;
///
/// // A copy cut inside the tenth record: the nine before it are all there.
/// let path = xwal::format::segment_path(dir.path(), segment.0, false);
/// std::fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(4096 + 9 * 1040 + 500).unwrap();
/// let (view, report) = Wal::open_read_only(config.clone())?;
/// let short = report.short_file.expect("reported");
/// assert!(!short.clean);
/// assert_eq!(view.last_index(), 9);
/// // LSN 10 was handed out and later ones may have been: writing is refused.
/// assert!(matches!(Wal::open(config), Err(Error::Corruption { .. })));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShortFile {
    /// Segment number.
    pub segment: SegmentId,
    /// The file's length.
    pub file_len: u64,
    /// The capacity its header names.
    pub capacity: u64,
    /// Where its last complete record (group) ends.
    pub data_end: u64,
    /// True if the file holds the whole block after its last record and
    /// nothing but zeros follows it: the log provably ended there (a restored
    /// or shrunk sealed segment). False if it is cut inside a record or inside
    /// the block where its last record ends, so later entries may be missing.
    /// (A copy cut exactly at a block boundary that is also a record's end
    /// cannot be told from a shrunk segment.)
    pub clean: bool,
}

/// The first damage in a WAL directory that [`Wal::open`](crate::Wal::open)
/// refuses: a record damaged in place, a segment file cut short inside its
/// data, a header that cannot be trusted, a segment missing from the
/// sequence, an unsafe file, an interrupted restore. Everything before it is
/// intact; nothing at or after it is read.
///
/// # Examples
///
/// ```
/// # fn main() -> xwal::Result<()> {
/// use xwal::{Config, Error, ReplayOptions, Wal};
///
/// let dir = tempfile::tempdir_in(".").unwrap();
/// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
/// let (wal, _) = Wal::open(config.clone())?;
/// for data in ["a", "b", "c"] {
///     wal.append(data.as_bytes())?;
/// }
/// let segment = wal.segments()[0].segment;
/// wal.close()?;
/// // Flip one bit of the last (acknowledged) record: damage, not a torn write.
/// let path = xwal::format::segment_path(dir.path(), segment.0, false);
/// let mut bytes = std::fs::read(&path).unwrap();
/// bytes[4096 + 2 * 40 + 33] ^= 1;
/// std::fs::write(&path, &bytes).unwrap();
///
/// assert!(matches!(Wal::open(config.clone()), Err(Error::Corruption { .. })));
/// let (view, report) = Wal::open_read_only(config)?;
/// let damage = report.damage.expect("reported");
/// assert_eq!((damage.segment, damage.offset, damage.last_intact_lsn), (segment, 4096 + 80, xwal::Lsn(2)));
/// // The view gives every intact record, then the damage as an error.
/// let mut replay = view.replay(ReplayOptions::all())?;
/// let data: Vec<_> = replay.by_ref().map_while(Result::ok).map(|e| e.data).collect();
/// assert_eq!(data, [b"a".to_vec(), b"b".to_vec()]);
/// assert!(matches!(replay.finish(), Err(Error::Corruption { .. })));
/// // Collected as results, the damage cannot pass for the end of the log.
/// let all = view.replay(ReplayOptions::all())?.collect::<xwal::Result<Vec<_>>>();
/// assert!(matches!(all, Err(Error::Corruption { .. })));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Damage {
    /// The segment the damage is in (for a missing segment, its number).
    pub segment: SegmentId,
    /// Byte offset in that segment (0: the segment as a whole).
    pub offset: u64,
    /// What is wrong.
    pub reason: String,
    /// The last LSN before the damage that is intact (0: none).
    pub last_intact_lsn: Lsn,
}

impl Damage {
    /// The damage of an error that refuses a whole directory or segment, if
    /// it is one: what a read-only view reads up to.
    pub(crate) fn of(e: &Error) -> Option<Damage> {
        let (segment, offset, reason) = match e {
            Error::Corruption {
                segment,
                offset,
                reason,
            } => (*segment, *offset, reason.clone()),
            Error::UnsafeFile { path, reason } => {
                let name = path.file_name()?.to_str()?;
                let crate::format::FileKind::Segment { segment, .. } =
                    crate::format::classify(name)
                else {
                    return None;
                };
                (
                    SegmentId(segment),
                    0,
                    format!("{}: {reason}", path.display()),
                )
            }
            _ => return None,
        };
        Some(Damage {
            segment,
            offset,
            reason,
            last_intact_lsn: Lsn(0),
        })
    }

    /// The error a view's replay ends with once it reaches the damage.
    pub fn to_error(&self) -> Error {
        Error::Corruption {
            segment: self.segment,
            offset: self.offset,
            reason: self.reason.clone(),
        }
    }
}

/// Where the writer resumes.
pub(crate) struct Resume {
    pub meta: SegmentMeta,
    pub write_pos: u64,
    pub tail_block: Vec<u8>,
}

pub(crate) struct Recovered {
    pub report: RecoveryReport,
    pub table: BTreeMap<u64, SegmentMeta>,
    pub last_lsn: u64,
    /// Append into this segment, or start `next_segment` if None.
    pub resume: Option<Resume>,
    pub next_segment: u64,
    /// `next_segment` already exists, prepared and zero.
    pub next_prepared: bool,
    /// `(segment, file length)` of the segments shorter than their capacity
    /// (sealed and shrunk, or restored): what they count against `max_dir_bytes`.
    pub short_lens: Vec<(u64, u64)>,
}

/// Runs recovery on `cfg.dir`, which must already be locked. `writer` is the
/// engine its repairs and syncs go through (the writer's own, so that a test's
/// simulated disk sees them); `None` for a read-only view, which changes nothing.
///
/// A read-only view reads segments numbered below `below` only (if given), and reports
/// damage it can read up to instead of refusing (see [`Damage`]).
pub(crate) fn recover(
    cfg: &Config,
    seams: &Seams,
    reader: &mut dyn ReadEngine,
    mut writer: Option<&mut dyn WriteEngine>,
    below: Option<u64>,
) -> Result<Recovered> {
    let read_only = writer.is_none();
    debug_assert!(read_only || below.is_none());
    let started = Instant::now();
    let mut report = RecoveryReport::default();
    // A view of an interrupted restore reads what was restored (each segment
    // was verified before it got its name); what may be missing follows it.
    // Of an interrupted repair: what it kept (the cut is not made yet).
    let restore_incomplete = match dir::check_no_unfinished_work(&cfg.dir, cfg.importing) {
        Err(e) if read_only => Some(e),
        r => {
            r?;
            None
        }
    };
    let (listed, leftovers) = dir::list_below(&cfg.dir, below)?;
    for p in leftovers {
        if !read_only {
            dir::remove_file(&p)?;
        }
        report.removed_files.push(p);
    }
    let headers = read_headers(cfg, listed, read_only)?;
    let built = build_table(cfg, &headers, reader, read_only, &mut report)?;
    report.segments = built.table.len();
    let (last_lsn, resume) = match built.table.values().next_back() {
        Some(tail) => {
            let window = evidence_window(&headers, tail.segment);
            let io = TailIo {
                reader: &mut *reader,
                writer: writer.as_mut().map(|w| &mut **w as &mut dyn WriteEngine),
            };
            recover_tail(cfg, seams, tail, window, io, &mut report)?
        }
        None => (0, None),
    };
    if let Some(w) = writer {
        make_durable(cfg, built.table.values().next_back(), w)?;
    }
    if let Some(e) = restore_incomplete.filter(|_| report.damage.is_none()) {
        report.damage = Some(Damage {
            segment: SegmentId(built.next_segment),
            offset: 0,
            reason: format!("{e}; what follows may be missing"),
            last_intact_lsn: Lsn(0),
        });
    }
    if let Some(d) = report.damage.as_mut() {
        d.last_intact_lsn = Lsn(last_lsn);
    }
    // New segments go above every listed one, and appends only to the newest.
    let newest = built.table.keys().next_back();
    debug_assert!(newest.is_none_or(|&n| n < built.next_segment));
    debug_assert!(
        resume
            .as_ref()
            .is_none_or(|r| newest == Some(&r.meta.segment))
    );
    report.elapsed = started.elapsed();
    Ok(Recovered {
        report,
        table: built.table,
        last_lsn,
        resume,
        next_segment: built.next_segment,
        next_prepared: built.next_prepared,
        short_lens: built.short_lens,
    })
}

/// How far past the end of the tail's data recovery looks for proof that it
/// had been durable: the in-flight bound its writer recorded (ARCHITECTURE.md,
/// "Recovery"), or the whole segment for a header without one.
fn evidence_window(headers: &[(ListedSegment, HeaderDecode)], segment: u64) -> u64 {
    headers
        .iter()
        .find_map(|(s, h)| match h {
            HeaderDecode::Valid(h) if s.segment == segment && h.inflight_bytes > 0 => {
                Some(h.inflight_bytes)
            }
            _ => None,
        })
        .unwrap_or(u64::MAX)
}

/// Reads and classifies the header block of every listed segment, in order.
fn read_headers(
    cfg: &Config,
    listed: Vec<ListedSegment>,
    read_only: bool,
) -> Result<Vec<(ListedSegment, HeaderDecode)>> {
    let mut headers = Vec::with_capacity(listed.len());
    for s in listed {
        let block = follow_checkpoint_rename(cfg, s.segment, s.checkpoint, read_only, |p| {
            dir::read_header_block(p)
        })?;
        let h = classify_header(&s, &block)?;
        headers.push((s, h));
    }
    Ok(headers)
}

/// The segments with a valid header, and where the writer's next segment goes.
struct Table {
    table: BTreeMap<u64, SegmentMeta>,
    short_lens: Vec<(u64, u64)>,
    next_segment: u64,
    next_prepared: bool,
    /// The zero preparation taken as `next_segment`, if any.
    prepared: Option<u64>,
}

/// Builds the segment table from the headers. Only the trailing segments may
/// lack a valid header: those are torn new segments, set aside, or zero
/// preparations. An invalid header before a valid one cannot be a tear, since
/// a new segment is written only after the one before it was synced.
fn build_table(
    cfg: &Config,
    headers: &[(ListedSegment, HeaderDecode)],
    reader: &mut dyn ReadEngine,
    read_only: bool,
    report: &mut RecoveryReport,
) -> Result<Table> {
    let last_valid = headers
        .iter()
        .rposition(|(_, h)| matches!(h, HeaderDecode::Valid(_)));
    let mut out = Table {
        table: BTreeMap::new(),
        short_lens: Vec::new(),
        next_segment: 0,
        next_prepared: false,
        prepared: None,
    };
    for (i, (s, h)) in headers.iter().enumerate() {
        match h {
            HeaderDecode::Valid(h) => {
                let meta = check_valid_header(s, h, out.table.values().next_back())?;
                if s.file_size < h.capacity {
                    out.short_lens.push((s.segment, s.file_size));
                }
                out.table.insert(s.segment, meta);
                out.next_segment = s.segment + 1;
            }
            _ if last_valid.is_some_and(|lv| i < lv) => {
                let why = match h {
                    HeaderDecode::Invalid(r) => *r,
                    _ => "zero header",
                };
                return Err(Error::Corruption {
                    segment: SegmentId(s.segment),
                    offset: 0,
                    reason: format!(
                        "segment header is invalid ({why}) but later segments are valid"
                    ),
                });
            }
            HeaderDecode::Zero
                if !s.checkpoint
                    && !out.next_prepared
                    && s.segment == out.next_segment
                    && s.file_size == cfg.segment_size =>
            {
                // Renamed into place only after zero-fill and sync: complete.
                out.next_prepared = true;
                out.prepared = Some(s.segment);
            }
            _ => {
                set_aside(cfg, s, h, reader, read_only, report)?;
                if s.segment >= out.next_segment && out.table.is_empty() {
                    out.next_segment = s.segment + 1;
                }
            }
        }
    }
    drop_stale_preparation(cfg, &mut out, read_only, report)?;
    Ok(out)
}

/// A zero preparation is the next segment only if nothing set aside after it
/// pushed the numbering past it (a new WAL whose first header never reached
/// the disk, beside later preparations or a torn segment): numbers go above
/// what was set aside, so a stale preparation (all zero: nothing in it) is
/// removed rather than left before the segments to come.
fn drop_stale_preparation(
    cfg: &Config,
    out: &mut Table,
    read_only: bool,
    report: &mut RecoveryReport,
) -> Result<()> {
    let Some(n) = out.prepared.filter(|&n| n != out.next_segment) else {
        return Ok(());
    };
    debug_assert!(out.table.is_empty() && n < out.next_segment);
    out.next_prepared = false;
    let path = dir::segment_path(&cfg.dir, n, false);
    if !read_only {
        dir::remove_file(&path)?;
        dir::sync_dir(&cfg.dir)?;
    }
    report.removed_files.push(path);
    Ok(())
}

/// The table entry of a segment with a valid header, checked against its
/// file name and the segment before it: numbers must be consecutive and
/// first LSNs must not go back.
fn check_valid_header(
    s: &ListedSegment,
    h: &SegmentHeader,
    prev: Option<&SegmentMeta>,
) -> Result<SegmentMeta> {
    if h.segment != s.segment {
        return Err(Error::Corruption {
            segment: SegmentId(s.segment),
            offset: 0,
            reason: format!(
                "header names segment {} but the file is segment {}",
                h.segment, s.segment
            ),
        });
    }
    if let Some(p) = prev {
        if s.segment != p.segment + 1 {
            return Err(Error::Corruption {
                segment: SegmentId(p.segment + 1),
                offset: 0,
                reason: format!(
                    "segment {} is missing between {} and {}",
                    p.segment + 1,
                    p.segment,
                    s.segment
                ),
            });
        }
        if h.first_lsn < p.first_lsn {
            return Err(Error::Corruption {
                segment: SegmentId(s.segment),
                offset: 24,
                reason: format!(
                    "first LSN {} goes back from segment {}'s {}",
                    h.first_lsn, p.segment, p.first_lsn
                ),
            });
        }
    }
    Ok(SegmentMeta::of_header(s.segment, s.checkpoint, h))
}

/// Deals with a trailing segment without a usable header: a torn first write
/// of a new segment (header and first records are one write, never
/// acknowledged unless synced) or an unusable preparation. Unless its records
/// prove they had been synced: then the header was too, and this is corruption.
fn set_aside(
    cfg: &Config,
    s: &ListedSegment,
    h: &HeaderDecode,
    reader: &mut dyn ReadEngine,
    read_only: bool,
    report: &mut RecoveryReport,
) -> Result<()> {
    debug_assert!(!matches!(h, HeaderDecode::Valid(_)));
    let synced = follow_checkpoint_rename(cfg, s.segment, s.checkpoint, read_only, |p| {
        synced_records_without_header(cfg, p, reader)
    })?;
    if let Some((offset, lsn)) = synced {
        return Err(Error::Corruption {
            segment: SegmentId(s.segment),
            offset: 0,
            reason: format!(
                "segment header is damaged, but the record at offset {offset} (LSN {lsn}) was synced, so the header was too"
            ),
        });
    }
    let path = dir::segment_path(&cfg.dir, s.segment, s.checkpoint);
    // A zero preparation holds nothing: deleted. A damaged header is set
    // aside, not deleted, so nothing is destroyed on a guess.
    if matches!(h, HeaderDecode::Zero) {
        if !read_only {
            dir::remove_file(&path)?;
            dir::sync_dir(&cfg.dir)?;
        }
        report.removed_files.push(path);
    } else if !read_only {
        let aside = path.with_extension("seg.discarded");
        dir::rename_durable(&cfg.dir, &path, &aside)?;
        report.removed_files.push(aside);
    } else {
        report.removed_files.push(path);
    }
    Ok(())
}

/// Syncs what recovery keeps before anything is declared durable: the
/// records it found in the tail may be writes of a process that died before
/// its fdatasync, still in the device's volatile cache, and they become
/// durable to `durable_index()`, to tails and, through the next writer's
/// durable-LSN field, to followers. Every other segment was synced before
/// the one after it was written. The directory too: the dead process may
/// have created or renamed files no directory sync covered yet.
fn make_durable(
    cfg: &Config,
    tail: Option<&SegmentMeta>,
    writer: &mut dyn WriteEngine,
) -> Result<()> {
    if let Some(t) = tail {
        let path = t.path(&cfg.dir);
        let file = dir::open_for_write(&path, false)?;
        writer
            .sync_data(file.as_raw_fd())
            .map_err(|e| Error::io(format!("syncing recovered tail {}", path.display()), e))?;
    }
    dir::sync_dir(&cfg.dir)
}

/// What the tail's recovery reads and writes through.
struct TailIo<'a> {
    reader: &'a mut dyn ReadEngine,
    /// `None` for a read-only view.
    writer: Option<&'a mut dyn WriteEngine>,
}

/// Scans the tail segment (the only one that can hold unsynced data, since
/// rollover syncs a segment before the next is written) and decides where
/// the writer resumes.
fn recover_tail(
    cfg: &Config,
    seams: &Seams,
    tail: &SegmentMeta,
    window: u64,
    mut io: TailIo<'_>,
    report: &mut RecoveryReport,
) -> Result<(u64, Option<Resume>)> {
    report.tail_segment = Some(SegmentId(tail.segment));
    let read_only = io.writer.is_none();
    let scan = follow_checkpoint_rename(cfg, tail.segment, tail.checkpoint, read_only, |p| {
        scan_tail(seams, tail, p, window, &mut io)
    })?;
    debug_assert!(scan.last_lsn + 1 >= tail.first_lsn && scan.end >= BLOCK_SIZE as u64);
    report.scanned_bytes = scan.scanned_bytes;
    report.last_lsn = Lsn(scan.last_lsn);
    report.truncation = scan.truncation;
    report.short_file = scan.short_file;
    if scan.damage.is_some() {
        report.damage = scan.damage;
    }
    // A checkpoint is sealed for good; a short file was not preallocated by us.
    // A segment written under a smaller entry limit must not receive larger
    // records: its header bounds every length on read. Start a new segment.
    // Nor more in flight than its header promises recovery.
    let bound = match cfg.sync.acks_are_durable() {
        true => crate::format::inflight_bound(
            cfg.commits_in_flight,
            cfg.max_batch_bytes,
            cfg.max_entry_size,
        ),
        false => u64::MAX,
    };
    let sealed = tail.checkpoint
        || report.short_file.is_some()
        || read_only
        || (tail.max_entry_size as u64) < cfg.max_entry_size
        || window < bound;
    let resume = (!sealed).then_some(Resume {
        meta: *tail,
        write_pos: scan.end,
        tail_block: scan.tail_block,
    });
    Ok((scan.last_lsn, resume))
}

/// Decodes a segment's header block, refusing what no torn write can leave.
/// A torn (or never completed) first write of a new segment leaves a header
/// that fails its checksum, or zeros, in a full preallocated file. A header
/// whose checksum holds but whose numbers are refused (no room left for the
/// LSN or segment sequence, limits above the hard ones) was written that way
/// or crafted; a non-zero file too short to hold a header was cut short.
/// Either is `Corruption`, not a torn tail to set aside.
fn classify_header(s: &ListedSegment, block: &[u8]) -> Result<HeaderDecode> {
    let h = SegmentHeader::decode(block);
    let corrupt = |reason: String| Error::Corruption {
        segment: SegmentId(s.segment),
        offset: 0,
        reason,
    };
    match h {
        HeaderDecode::Invalid(why) if SegmentHeader::checksum_ok(block) => {
            Err(corrupt(format!("segment header refused: {why}")))
        }
        HeaderDecode::Invalid(_) if block.iter().all(|&b| b == 0) => Ok(HeaderDecode::Zero),
        HeaderDecode::Invalid(_) if s.file_size < BLOCK_SIZE as u64 => Err(corrupt(format!(
            "segment file is {} bytes, cut inside its header block: its records are lost and the LSNs they held are unknown",
            s.file_size
        ))),
        h => Ok(h),
    }
}

/// Runs `f` on a listed segment's path. A read-only view has no lock: a writer
/// beside it may have renamed the segment to its checkpoint name since the
/// listing (the only rename of a segment with a final name), so a vanished
/// plain name is followed there once.
fn follow_checkpoint_rename<T>(
    cfg: &Config,
    segment: u64,
    checkpoint: bool,
    read_only: bool,
    mut f: impl FnMut(&std::path::Path) -> Result<T>,
) -> Result<T> {
    match f(&dir::segment_path(&cfg.dir, segment, checkpoint)) {
        Err(Error::Io { source, .. })
            if read_only && !checkpoint && source.kind() == std::io::ErrorKind::NotFound =>
        {
            f(&dir::segment_path(&cfg.dir, segment, true))
        }
        r => r,
    }
}

/// Where the intact records of segment `meta` end: the end of the last
/// complete atomic group before its first bad record (or the end of its
/// records), and the last LSN of that group. What `Wal::repair` keeps.
pub(crate) fn intact_prefix(
    dir: &std::path::Path,
    meta: &SegmentMeta,
    reader: &mut dyn ReadEngine,
) -> Result<(u64, u64)> {
    let path = meta.path(dir);
    let (file, size) = open_with_size(&path)?;
    // No evidence window: the scan stops at the first bad record.
    let sc = scan_records(meta, &path, &file, size, 0, reader)?;
    debug_assert!(sc.group_end_pos >= BLOCK_SIZE as u64 && sc.group_end_lsn + 1 >= meta.first_lsn);
    Ok((sc.group_end_pos, sc.group_end_lsn))
}

/// Opens a segment for O_DIRECT reads, with its size.
fn open_with_size(path: &std::path::Path) -> Result<(std::fs::File, u64)> {
    let file = dir::open_for_read(path)
        .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    let size = file
        .metadata()
        .map_err(|e| Error::io(format!("stat {}", path.display()), e))?
        .len();
    Ok((file, size))
}

/// Scans a segment whose header is unusable for two valid records of one salt
/// where the later claims the earlier durable. Returns the earlier one's offset and LSN.
fn synced_records_without_header(
    cfg: &Config,
    path: &std::path::Path,
    reader: &mut dyn ReadEngine,
) -> Result<Option<(u64, u64)>> {
    let (file, size) = open_with_size(path)?;
    let end = align_down(size, BLOCK_SIZE as u64);
    let mut scan = EvidenceScan::without_header(BLOCK_SIZE as u64, cfg.max_entry_size as u32);
    let io_error = |e| Error::io(format!("reading {}", path.display()), e);
    reader
        .begin(file.as_raw_fd(), BLOCK_SIZE as u64, end)
        .map_err(io_error)?;
    while let Some(chunk) = reader.next_chunk().map_err(io_error)? {
        if scan.push(chunk.offset(), chunk.as_slice()).is_some() {
            break;
        }
    }
    Ok(scan.evidence().map(|e| (e.lsn_offset, e.lsn)))
}

struct TailScan {
    /// Damage a read-only view reads up to (see [`Damage`]).
    damage: Option<Damage>,
    end: u64,
    last_lsn: u64,
    tail_block: Vec<u8>,
    scanned_bytes: u64,
    truncation: Option<Truncation>,
    short_file: Option<ShortFile>,
}

enum Phase {
    Records,
    /// Past the first bad record: looking for proof that it had been durable.
    /// `tear` says whether the bad record has the shape a torn write leaves.
    Evidence {
        bad_at: u64,
        reason: &'static str,
        tear: bool,
        /// Boxed: its fixed-size table of salts dwarfs the other variant.
        scan: Box<EvidenceScan>,
    },
}

/// What the record scan of a tail segment found.
struct Scanned {
    phase: Phase,
    /// LSN expected next (one past the last valid record in sequence).
    expected: u64,
    group_end_pos: u64,
    group_end_lsn: u64,
    /// End of the last valid record in sequence.
    data_end: u64,
    last_nonzero_end: u64,
    scanned: u64,
    /// Bytes after `data_end` that never formed a record (an incomplete
    /// one), while no bad record was found.
    leftover: Vec<u8>,
}

impl Scanned {
    /// Where the record that proves the bad one durable starts, if found.
    fn evidence(&self) -> Option<u64> {
        match &self.phase {
            Phase::Evidence { scan, .. } => scan.evidence().map(|e| e.proof_offset),
            Phase::Records => None,
        }
    }
}

/// The record scan of a tail segment, fed the file chunk by chunk: records in
/// LSN sequence, then, past the first bad one, the evidence scan.
struct TailScanner {
    salt: u32,
    max_body: u32,
    /// Bytes past the first bad record to look for evidence in.
    window: u64,
    /// Holds the bytes of the record being decoded; unused past a bad record.
    cursor: RecordCursor,
    out: Scanned,
}

impl TailScanner {
    fn new(meta: &SegmentMeta, window: u64) -> Self {
        // A valid header's first LSN is at least 1, so `first_lsn - 1` is the
        // LSN before the segment (0 for a new WAL).
        debug_assert!(meta.first_lsn >= 1);
        TailScanner {
            salt: meta.salt,
            max_body: meta.max_entry_size,
            window,
            cursor: RecordCursor::new(BLOCK_SIZE as u64),
            out: Scanned {
                phase: Phase::Records,
                expected: meta.first_lsn,
                group_end_pos: BLOCK_SIZE as u64,
                group_end_lsn: meta.first_lsn - 1,
                data_end: BLOCK_SIZE as u64,
                last_nonzero_end: BLOCK_SIZE as u64,
                scanned: 0,
                leftover: Vec::new(),
            },
        }
    }

    /// Takes the chunk read at `off`; false once evidence was found, since
    /// nothing read later can change the verdict, or once the evidence scan
    /// has covered the window past the first bad record (no write in flight
    /// at the crash reached further).
    fn push(&mut self, off: u64, chunk: &[u8]) -> bool {
        if self.out.evidence().is_some() || self.past_window(off) {
            return false;
        }
        self.out.scanned += chunk.len() as u64;
        if let Some(i) = chunk.iter().rposition(|&b| b != 0) {
            self.out.last_nonzero_end = off + i as u64 + 1;
        }
        match &mut self.out.phase {
            Phase::Records => {
                self.cursor.push(off, chunk);
                self.decode_in_sequence();
            }
            Phase::Evidence { scan, .. } => {
                scan.push(off, chunk);
            }
        }
        self.out.evidence().is_none()
    }

    /// Decodes records while their LSNs follow each other; at the first bad
    /// record, judges it and hands the bytes after it to the evidence scan.
    fn decode_in_sequence(&mut self) {
        loop {
            let at = self.cursor.offset();
            let avail = self.cursor.available();
            let (reason, tear) = match decode_record(avail, self.salt, self.max_body) {
                RecordDecode::Record(r) if r.header.lsn == self.out.expected => {
                    let (len, group_end) = (r.len, r.header.is_group_end());
                    self.accept(len, group_end);
                    continue;
                }
                // A tear leaves final or old (zero) bytes, never a valid
                // record with another LSN.
                RecordDecode::Record(_) => ("record LSN breaks the sequence", false),
                RecordDecode::NeedMore(_) => return,
                RecordDecode::Invalid(e) => {
                    let (tear, reason) = judge_bad_record(
                        avail,
                        at,
                        self.salt,
                        self.max_body,
                        self.out.expected,
                        e.describe(),
                    );
                    (reason, tear)
                }
            };
            self.start_evidence_scan(at, reason, tear);
            return;
        }
    }

    /// Where the evidence window ends, once a bad record was found.
    fn window_end(&self) -> Option<u64> {
        match &self.out.phase {
            Phase::Evidence { bad_at, .. } => Some(bad_at.saturating_add(self.window)),
            Phase::Records => None,
        }
    }

    /// True if `off` lies past the evidence window of the first bad record.
    fn past_window(&self, off: u64) -> bool {
        match &self.out.phase {
            Phase::Evidence { bad_at, .. } => off >= bad_at.saturating_add(self.window),
            Phase::Records => false,
        }
    }

    fn accept(&mut self, len: usize, group_end: bool) {
        self.out.expected += 1;
        self.cursor.advance(len);
        self.out.data_end = self.cursor.offset();
        if group_end {
            self.out.group_end_pos = self.out.data_end;
            self.out.group_end_lsn = self.out.expected - 1;
        }
        debug_assert!(self.out.group_end_pos <= self.out.data_end);
        debug_assert!(self.out.group_end_lsn < self.out.expected);
    }

    fn start_evidence_scan(&mut self, bad_at: u64, reason: &'static str, tear: bool) {
        let (salt, lsn) = (self.salt, self.out.expected);
        let mut scan = EvidenceScan::past_bad_record(bad_at, salt, lsn, self.max_body);
        // A bad record is one only once its header was read whole.
        let held = std::mem::replace(&mut self.cursor, RecordCursor::new(0));
        let avail = held.available();
        assert!(avail.len() >= RECORD_HEADER_LEN && held.offset() == bad_at);
        scan.push(bad_at + RECORD_ALIGN as u64, &avail[RECORD_ALIGN..]);
        self.out.phase = Phase::Evidence {
            bad_at,
            reason,
            tear,
            scan: Box::new(scan),
        };
    }

    fn finish(mut self) -> Scanned {
        if matches!(self.out.phase, Phase::Records) {
            self.out.leftover = self.cursor.available().to_vec();
        }
        self.out
    }
}

/// Reads the tail segment record by record: keeps the longest prefix of
/// complete groups, and past the first bad record looks for proof that it had
/// been durable. Reads the whole file, the partial last block of a short file
/// included.
fn scan_records(
    meta: &SegmentMeta,
    path: &std::path::Path,
    file: &std::fs::File,
    size: u64,
    window: u64,
    reader: &mut dyn ReadEngine,
) -> Result<Scanned> {
    let end_of_data = size.min(meta.capacity);
    let aligned_end = align_down(end_of_data, BLOCK_SIZE as u64);
    let mut scanner = TailScanner::new(meta, window);
    let io_error = |e| Error::io(format!("reading tail segment {}", path.display()), e);
    reader
        .begin(file.as_raw_fd(), BLOCK_SIZE as u64, aligned_end)
        .map_err(io_error)?;
    let mut end = aligned_end;
    while let Some(chunk) = reader.next_chunk().map_err(io_error)? {
        let chunk_end = chunk.offset() + chunk.len() as u64;
        if !scanner.push(chunk.offset(), chunk.as_slice()) {
            break;
        }
        // Past the first bad record only its evidence window is read: the
        // reads queued beyond it are dropped.
        let limit = scanner
            .window_end()
            .map_or(end, |w| align_up(w.min(end), BLOCK_SIZE as u64).min(end));
        if limit < end {
            end = limit;
            reader
                .begin(file.as_raw_fd(), chunk_end.min(end), end)
                .map_err(io_error)?;
        }
    }
    if end_of_data > aligned_end && aligned_end >= BLOCK_SIZE as u64 {
        // O_DIRECT reads whole blocks only: the partial last block of a
        // short file goes through the page cache.
        let rest = dir::read_at(path, aligned_end, (end_of_data - aligned_end) as usize)?;
        scanner.push(aligned_end, &rest);
    }
    Ok(scanner.finish())
}

/// Scans the tail segment and decides: intact, a torn tail to cut, a short
/// file, or corruption.
fn scan_tail(
    seams: &Seams,
    meta: &SegmentMeta,
    path: &std::path::Path,
    window: u64,
    io: &mut TailIo<'_>,
) -> Result<TailScan> {
    let read_only = io.writer.is_none();
    let (file, size) = open_with_size(path)?;
    let sc = scan_records(meta, path, &file, size, window, &mut *io.reader)?;
    drop(file);
    let leftover_zero = sc.leftover.iter().all(|&b| b == 0);
    let (bad_at, reason, tear) = match sc.phase {
        Phase::Evidence {
            bad_at,
            reason,
            tear,
            ..
        } => (Some(bad_at), reason, tear),
        Phase::Records if !leftover_zero => {
            // A record that runs past the end of the data: in a file of full
            // size its length claims more than the segment holds.
            let (tear, reason) = judge_bad_record(
                &sc.leftover,
                sc.data_end,
                meta.salt,
                meta.max_entry_size,
                sc.expected,
                "record cut off at the end of the file",
            );
            (Some(sc.data_end), reason, tear)
        }
        Phase::Records if !sc.leftover.is_empty() => {
            (Some(sc.data_end), DecodeError::Zero.describe(), true)
        }
        Phase::Records => (None, "", true),
    };
    let short_file = (size < meta.capacity).then(|| ShortFile {
        segment: SegmentId(meta.segment),
        file_len: size,
        capacity: meta.capacity,
        data_end: sc.group_end_pos,
        clean: sc.last_nonzero_end <= sc.data_end
            && sc.group_end_pos == sc.data_end
            && size >= align_up(sc.data_end, BLOCK_SIZE as u64),
    });
    // A read-only view reads up to damage that `open` refuses, and reports it.
    let mut damage = None;
    let mut refuse = |e: Error| match read_only {
        true => {
            damage = damage.take().or_else(|| Damage::of(&e));
            Ok(())
        }
        false => Err(e),
    };
    if !seams.corruption_as_torn()
        && let Err(e) = check_not_corrupt(meta, &sc, bad_at, reason, tear, short_file.as_ref())
    {
        refuse(e)?;
    }
    if let Some(sf) = short_file.as_ref().filter(|sf| !sf.clean) {
        tracing::warn!(
            segment = sf.segment.0,
            file_len = sf.file_len,
            capacity = sf.capacity,
            "tail segment file is cut short"
        );
        refuse(short_file_error(sf, sc.group_end_lsn))?;
    }
    // Damage is no torn tail that the next open would cut.
    let cut = Cut {
        bad_at: bad_at.filter(|_| damage.is_none()),
        reason,
    };
    let writer = io.writer.as_mut().map(|w| &mut **w as &mut dyn WriteEngine);
    let mut scan = finish_tail(path, meta, &sc, cut, short_file, writer)?;
    scan.damage = damage;
    Ok(scan)
}

/// Where the first bad record of the tail is, if any, and why.
struct Cut {
    bad_at: Option<u64>,
    reason: &'static str,
}

/// Whether the first bad record of the tail can be a torn write, and why it
/// is bad. Bytes that are no record of ours (neither salt nor LSN, or a
/// whole record of another salt) end the log as a tear does. A record of
/// ours one flipped bit away from valid is damage, unless that bit lies
/// where a tear leaves zeros ([`flip_could_be_tear`]). Otherwise it is a
/// tear only if it has the shape of one (zero sectors, or a zero end), see
/// [`tear_possible`].
fn judge_bad_record(
    avail: &[u8],
    offset: u64,
    salt: u32,
    max_body: u32,
    expected: u64,
    why: &'static str,
) -> (bool, &'static str) {
    if foreign_bytes(avail, salt, expected, max_body) {
        return (true, why);
    }
    if let Some(bit) = single_bit_flip(avail, max_body)
        && !flip_could_be_tear(avail, offset, bit, salt, max_body)
    {
        return (false, "one bit of the record is flipped");
    }
    (tear_possible(avail, offset, salt, max_body), why)
}

/// Refuses damage that cannot be a torn tail: proof later in the segment
/// that the bad record had been durable, or a bad record without the shape a
/// torn write leaves.
fn check_not_corrupt(
    meta: &SegmentMeta,
    sc: &Scanned,
    bad_at: Option<u64>,
    reason: &str,
    tear: bool,
    short_file: Option<&ShortFile>,
) -> Result<()> {
    let Some(bad) = bad_at else {
        return Ok(());
    };
    let expected = sc.expected;
    if let Some(ev) = sc.evidence() {
        return Err(Error::Corruption {
            segment: SegmentId(meta.segment),
            offset: bad,
            reason: format!(
                "{reason}; the valid record at offset {ev} shows LSN {expected} had been made durable, so this is not a torn tail"
            ),
        });
    }
    // A file cut short ends inside its last record: that is reported as a
    // short file, not judged by the shape of the cut.
    let cut_by_file_end = short_file.is_some() && matches!(sc.phase, Phase::Records);
    if !tear && !cut_by_file_end {
        return Err(Error::Corruption {
            segment: SegmentId(meta.segment),
            offset: bad,
            reason: format!(
                "{reason} (LSN {expected}); a torn write leaves whole sectors of old, zero content and this record has none, so the written data was damaged"
            ),
        });
    }
    Ok(())
}

fn short_file_error(sf: &ShortFile, last_lsn: u64) -> Error {
    Error::Corruption {
        segment: sf.segment,
        offset: sf.file_len,
        reason: format!(
            "segment file is {} bytes, shorter than its capacity of {} bytes, and cut inside its data (complete records up to LSN {last_lsn} end at offset {}): later entries may be lost and their LSNs were handed out, so the WAL cannot continue; Wal::open_read_only reads what is left",
            sf.file_len, sf.capacity, sf.data_end
        ),
    }
}

/// Cuts a torn tail (zeroing what follows, then syncing) and reads the block
/// the writer resumes in.
fn finish_tail(
    path: &std::path::Path,
    meta: &SegmentMeta,
    sc: &Scanned,
    Cut { bad_at, reason }: Cut,
    short_file: Option<ShortFile>,
    writer: Option<&mut dyn WriteEngine>,
) -> Result<TailScan> {
    let (group_end_pos, group_end_lsn) = (sc.group_end_pos, sc.group_end_lsn);
    let dropped_records = sc.expected - 1 - group_end_lsn;
    let zero_to = align_up(sc.last_nonzero_end, BLOCK_SIZE as u64).max(group_end_pos);
    let needs_zeroing = sc.last_nonzero_end > group_end_pos;
    let truncation = if bad_at.is_some() && (needs_zeroing || dropped_records > 0) {
        Some(Truncation {
            segment: SegmentId(meta.segment),
            offset: group_end_pos,
            first_bad_offset: bad_at.unwrap_or(group_end_pos),
            reason,
            dropped_records,
            zeroed_bytes: if needs_zeroing {
                sc.last_nonzero_end - group_end_pos
            } else {
                0
            },
        })
    } else {
        None
    };
    if let Some(t) = &truncation {
        tracing::warn!(
            segment = t.segment.0,
            offset = t.offset,
            dropped = t.dropped_records,
            reason = t.reason,
            "cut torn tail"
        );
    }
    let resumable = short_file.is_none();
    let tail_block = match writer {
        Some(w) if resumable => {
            let wfile = dir::open_for_write(path, false)?;
            if needs_zeroing {
                zero_range(w, path, &wfile, group_end_pos, zero_to).map_err(|e| {
                    Error::io(format!("zeroing torn tail of {}", path.display()), e)
                })?;
            }
            read_tail_block(path, &wfile, group_end_pos)
                .map_err(|e| Error::io(format!("reading {}", path.display()), e))?
        }
        _ => vec![0u8; BLOCK_SIZE],
    };
    Ok(TailScan {
        damage: None,
        end: group_end_pos,
        last_lsn: group_end_lsn,
        tail_block,
        scanned_bytes: sc.scanned,
        truncation,
        short_file,
    })
}

/// The block holding `pos`, with every byte from `pos` on zero.
fn read_tail_block(
    path: &std::path::Path,
    file: &std::fs::File,
    pos: u64,
) -> std::io::Result<Vec<u8>> {
    let start = align_down(pos, BLOCK_SIZE as u64);
    // Aligned: the file is open O_DIRECT.
    let mut b = AlignedBuf::new(BLOCK_SIZE);
    crate::io::fs::read_at(path, file, b.as_mut_slice(), start)?;
    let mut v = b.as_slice().to_vec();
    v[(pos - start) as usize..].fill(0);
    Ok(v)
}

/// Zeroes `[from, to)` (to is block-aligned), keeping bytes before `from`
/// in its block, through the writer's engine; [`make_durable`] syncs it.
/// Without this, stale records of the torn attempt could line up behind new
/// ones after a later crash.
pub(crate) fn zero_range(
    writer: &mut dyn WriteEngine,
    path: &std::path::Path,
    file: &std::fs::File,
    from: u64,
    to: u64,
) -> std::io::Result<()> {
    const ZERO_WRITE_BYTES: usize = 1 << 20;
    let fd = file.as_raw_fd();
    let first = align_down(from, BLOCK_SIZE as u64);
    debug_assert!(to.is_multiple_of(BLOCK_SIZE as u64) && to > first);
    let head = read_tail_block(path, file, from)?;
    let mut buf = AlignedBuf::new(BLOCK_SIZE);
    buf.as_mut_slice().copy_from_slice(&head);
    let mut buf = write_through(writer, fd, buf, BLOCK_SIZE, first)?;
    let mut off = first + BLOCK_SIZE as u64;
    if off < to {
        buf = AlignedBuf::new(ZERO_WRITE_BYTES);
    }
    while off < to {
        let n = (ZERO_WRITE_BYTES as u64).min(to - off) as usize;
        buf = write_through(writer, fd, buf, n, off)?;
        off += n as u64;
    }
    Ok(())
}

/// One write of `buf[..len]` at `offset`, run to completion; the buffer back.
pub(crate) fn write_through(
    writer: &mut dyn WriteEngine,
    fd: std::os::fd::RawFd,
    buf: AlignedBuf,
    len: usize,
    offset: u64,
) -> std::io::Result<AlignedBuf> {
    let op = WriteOp {
        fd,
        offset,
        buf,
        len,
        sync: false,
        inline: true,
    };
    op.assert_aligned();
    writer.start(op);
    let (buf, result) = writer.finish();
    result.map(|()| buf)
}
