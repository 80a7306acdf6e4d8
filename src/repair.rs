//! `Wal::repair`: the way forward for a directory that `Wal::open` refuses
//! (models: RocksDB's WAL recovery modes, `etcdutl`'s repair).
//!
//! It keeps the intact prefix of the log, moves what it cuts aside (never
//! deleting it), reserves every LSN that could have been handed out past
//! the cut, and reports exactly what left the log. The steps are recorded
//! first in `repair.incomplete`, which every open refuses, so a repair
//! interrupted at any point is completed by the next one, with the same plan.

use crate::config::Config;
use crate::dir::{self, DirLock};
use crate::error::{Error, Result};
use crate::format::{
    ARCHIVE_STATE_FILE, BLOCK_SIZE, HeaderDecode, MAX_LSN, RECORD_ALIGN, RECORD_HEADER_LEN,
    REPAIR_MARKER, RecordDecode, SegmentHeader, align_down, align_up, decode_record,
};
use crate::ids::{Lsn, SegmentId};
use crate::io::{AlignedBuf, WriteEngine, fs};

/// A repair marker longer than this is not one xwal wrote.
const PLAN_LIMIT_BYTES: usize = 1 << 20;
use crate::recovery::Damage;
use crate::replay::ReplayOptions;
use crate::shared::SegmentMeta;
use crate::wal::Wal;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// Bytes read at a time while counting the records in what is cut.
const SCAN_CHUNK_BYTES: usize = 4 << 20;

/// What [`Wal::repair`] found and did.
///
/// # Examples
///
/// ```
/// # fn main() -> xwal::Result<()> {
/// use xwal::{Config, Wal};
///
/// let dir = tempfile::tempdir_in(".").unwrap();
/// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
/// let (wal, _) = Wal::open(config.clone())?;
/// wal.append(b"intact")?;
/// wal.close()?;
/// // Nothing to repair: nothing is changed.
/// let report = Wal::repair(config)?;
/// assert!(report.damage.is_none() && report.aside.is_none());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RepairReport {
    /// The first damage found; `None` if the directory opens as it is (then
    /// nothing was changed).
    pub damage: Option<Damage>,
    /// The last LSN the log keeps: every entry up to it is intact and stays.
    pub kept_through: Lsn,
    /// The LSNs after `kept_through` that could have been handed out before
    /// the damage, up to this one: they leave the log and are never handed
    /// out again (the log continues at `reserved_through + 1`).
    pub reserved_through: Lsn,
    /// Valid records found in what was cut (so the entries known to have
    /// left the log; the rest of the reserved range may never have existed).
    pub found_after_cut: u64,
    /// Their lowest and highest LSN, if any.
    pub found_lsns: Option<(Lsn, Lsn)>,
    /// The segment cut inside its data (kept up to `cut_offset`), if any;
    /// `None` if whole segments were moved aside.
    pub cut_segment: Option<SegmentId>,
    /// Where that segment now ends.
    pub cut_offset: u64,
    /// The directory holding what was cut, byte for byte: a copy of the cut
    /// segment as it was, and the files of every later segment.
    pub aside: Option<PathBuf>,
    /// The files moved or copied there.
    pub moved: Vec<PathBuf>,
}

/// The recorded plan of one repair (what `repair.incomplete` holds).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Plan {
    /// The segment cut inside its data, or the first one moved whole.
    segment: u64,
    /// True if `segment` keeps its records before `cut`.
    keeps_prefix: bool,
    cut: u64,
    kept_through: u64,
    reserved_through: u64,
    /// Name of the aside directory, inside the WAL directory.
    aside: String,
}

impl Plan {
    fn encode(&self) -> String {
        format!(
            "xwal-repair 1\nsegment {}\nkeeps_prefix {}\ncut {}\nkept_through {}\nreserved_through {}\naside {}\n",
            self.segment,
            u8::from(self.keeps_prefix),
            self.cut,
            self.kept_through,
            self.reserved_through,
            self.aside
        )
    }

    fn decode(text: &str, path: &Path) -> Result<Plan> {
        let bad = || {
            Error::Config(format!(
                "{} is damaged: it holds the plan of an interrupted repair; restore it from a backup, or remove it and the cut may be made again with other numbers",
                path.display()
            ))
        };
        let mut lines = text.lines();
        if lines.next() != Some("xwal-repair 1") {
            return Err(bad());
        }
        let mut field = |name: &str| -> Result<String> {
            let line = lines.next().ok_or_else(bad)?;
            let (k, v) = line.split_once(' ').ok_or_else(bad)?;
            if k != name {
                return Err(bad());
            }
            Ok(v.to_string())
        };
        let num = |v: String| v.parse::<u64>().map_err(|_| bad());
        let plan = Plan {
            segment: num(field("segment")?)?,
            keeps_prefix: num(field("keeps_prefix")?)? == 1,
            cut: num(field("cut")?)?,
            kept_through: num(field("kept_through")?)?,
            reserved_through: num(field("reserved_through")?)?,
            aside: field("aside")?,
        };
        let sane = plan.aside.starts_with("repair-")
            && !plan.aside.contains('/')
            && plan.reserved_through >= plan.kept_through
            && plan.reserved_through < MAX_LSN
            && plan.cut.is_multiple_of(RECORD_ALIGN as u64);
        if !sane {
            return Err(bad());
        }
        Ok(plan)
    }
}

impl Wal {
    /// Continues a WAL that [`Wal::open`] refuses: a record damaged in
    /// place, a segment file cut short inside its data, a header that cannot
    /// be trusted, a segment missing from the sequence, an unsafe file.
    ///
    /// It reads the whole log to find the first damage (the directory lock
    /// is held, so no writer runs), then keeps every intact entry before it
    /// (up to the end of the last complete atomic group), moves what it cuts
    /// into a `repair-<time>` directory inside the WAL directory (a copy of
    /// the cut segment as it was, and every later segment's files: nothing
    /// is deleted), and starts a new segment whose header reserves every LSN
    /// that could have been handed out past the cut: the next append gets an
    /// LSN above all of them, so no LSN names two different entries.
    ///
    /// The reserved range is bounded by what the cut segments could hold:
    /// one LSN per 32 bytes (the smallest record) of each segment's
    /// capacity, past its first LSN. A directory that opens as it is is not
    /// changed. A directory that archives to S3 (`archive.state`) is refused:
    /// restore it from the archive instead.
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
    /// // The last record is damaged in place: `open` refuses the directory.
    /// let path = xwal::format::segment_path(dir.path(), segment.0, false);
    /// let mut bytes = std::fs::read(&path).unwrap();
    /// bytes[4096 + 2 * 40 + 33] ^= 1;
    /// std::fs::write(&path, &bytes).unwrap();
    /// assert!(matches!(Wal::open(config.clone()), Err(Error::Corruption { .. })));
    ///
    /// let report = Wal::repair(config.clone())?;
    /// assert_eq!(report.kept_through, 2);
    /// assert!(report.reserved_through >= 3);
    /// assert!(report.aside.expect("the cut is kept aside").is_dir());
    ///
    /// let (wal, _) = Wal::open(config)?;
    /// let data: Vec<_> = wal.replay(ReplayOptions::all())?.map(|e| e.map(|e| e.data)).collect::<xwal::Result<Vec<_>>>()?;
    /// assert_eq!(data, [b"a".to_vec(), b"b".to_vec()]);
    /// assert_eq!(wal.append(b"d")?, report.reserved_through + 1);
    /// # Ok(()) }
    /// ```
    pub fn repair(config: Config) -> Result<RepairReport> {
        let config = config.resolved();
        config.validate()?;
        let dir = config.dir.clone();
        if !fs::is_dir(&dir) {
            return Err(Error::io(
                format!("opening WAL directory {}", dir.display()),
                std::io::Error::from(std::io::ErrorKind::NotFound),
            ));
        }
        let _span = tracing::info_span!("repair", dir = %dir.display()).entered();
        let mut lock = DirLock::acquire_leaving_files(&dir)?;
        if fs::exists(&dir.join(ARCHIVE_STATE_FILE)) {
            return Err(Error::Config(format!(
                "{} archives to S3 ({ARCHIVE_STATE_FILE} is present): its sealed segments are in the archive, so rebuild it with `xwal restore` instead of cutting it. Nothing was changed",
                dir.display()
            )));
        }
        let marker = dir.join(REPAIR_MARKER);
        let (plan, mut report) = match fs::read_small(&marker, PLAN_LIMIT_BYTES) {
            Ok(bytes) => (
                Plan::decode(&String::from_utf8_lossy(&bytes), &marker)?,
                RepairReport::default(),
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let Some(damage) = first_damage(&config)? else {
                    return Ok(RepairReport::default());
                };
                let (plan, report) = make_plan(&config, damage)?;
                lock.take_lock_file(&dir)?;
                dir::write_durable(&dir, REPAIR_MARKER, plan.encode().as_bytes())?;
                (plan, report)
            }
            Err(e) => return Err(Error::io(format!("reading {}", marker.display()), e)),
        };
        lock.take_lock_file(&dir)?;
        report.moved = execute(&config, &plan)?;
        dir::remove_file(&marker)?;
        dir::sync_dir(&dir)?;
        report.kept_through = Lsn(plan.kept_through);
        report.reserved_through = Lsn(plan.reserved_through);
        report.cut_segment = plan.keeps_prefix.then_some(SegmentId(plan.segment));
        report.cut_offset = if plan.keeps_prefix { plan.cut } else { 0 };
        report.aside = Some(dir.join(&plan.aside));
        tracing::warn!(
            kept_through = plan.kept_through,
            reserved_through = plan.reserved_through,
            aside = %plan.aside,
            "repaired: the log continues after the reserved LSNs"
        );
        Ok(report)
    }
}

/// The first damage in the directory, reading every record: the damage a
/// read-only view stops at, or a damaged record in a sealed segment (found
/// only by reading it), whichever comes first.
fn first_damage(config: &Config) -> Result<Option<Damage>> {
    let (view, opened) = Wal::open_read_only(config.clone())?;
    let mut replay = view.replay(ReplayOptions::all())?;
    for _ in replay.by_ref() {}
    match replay.finish() {
        Ok(_) => Ok(opened.damage),
        Err(e) => match Damage::of(&e) {
            Some(mut d) => {
                d.last_intact_lsn = opened.damage.map_or(Lsn(0), |o| o.last_intact_lsn);
                Ok(Some(d))
            }
            None => Err(e),
        },
    }
}

/// Where to cut and what to reserve for `damage`.
fn make_plan(config: &Config, damage: Damage) -> Result<(Plan, RepairReport)> {
    let dir = &config.dir;
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut aside = format!("repair-{stamp}");
    for n in 1.. {
        if !fs::exists(&dir.join(&aside)) {
            break;
        }
        aside = format!("repair-{stamp}-{n}");
    }
    let damaged = header_of(dir, damage.segment.0);
    let (keeps_prefix, cut, kept_through) = match damaged {
        // A damaged record inside a segment whose header is good: keep the
        // complete groups before it.
        Some(meta) if damage.offset > 0 => {
            let mut reader = crate::io::read_engine(false, SCAN_CHUNK_BYTES, 1)?;
            let (cut, last) = crate::recovery::intact_prefix(dir, &meta, reader.as_mut())?;
            (true, cut, last)
        }
        _ => (false, 0, previous_last(dir, damage.segment.0)?),
    };
    let mut report = RepairReport {
        damage: Some(damage.clone()),
        ..RepairReport::default()
    };
    let reserved = reserve(
        dir,
        damage.segment.0,
        kept_through,
        keeps_prefix.then_some(cut),
        &mut report,
    )?;
    let plan = Plan {
        segment: damage.segment.0,
        keeps_prefix,
        cut,
        kept_through,
        reserved_through: reserved,
        aside,
    };
    debug_assert!(plan.reserved_through >= plan.kept_through);
    Ok((plan, report))
}

/// The last LSN of the intact log before segment `segment`, which is moved
/// whole: where the records of the segment before it end (read through).
fn previous_last(dir: &Path, segment: u64) -> Result<u64> {
    let Some(prev) = segment.checked_sub(1).and_then(|p| header_of(dir, p)) else {
        return Ok(0);
    };
    let mut reader = crate::io::read_engine(false, SCAN_CHUNK_BYTES, 1)?;
    Ok(crate::recovery::intact_prefix(dir, &prev, reader.as_mut())?.1)
}

/// The valid header of segment `segment` as its table entry, if it has one.
fn header_of(dir: &Path, segment: u64) -> Option<SegmentMeta> {
    for checkpoint in [false, true] {
        let path = dir::segment_path(dir, segment, checkpoint);
        if let Ok(block) = dir::read_header_block(&path)
            && let HeaderDecode::Valid(h) = SegmentHeader::decode(&block)
        {
            return (h.segment == segment).then(|| SegmentMeta::of_header(segment, checkpoint, &h));
        }
    }
    None
}

/// The highest LSN that could have been handed out at or after the cut:
/// each segment from `from` on holds at most one record per 32 bytes of its
/// capacity past its first LSN (or, with no header to trust, past the
/// highest LSN known before it, for its file's size). Counts the valid
/// records found in what is cut into `report`.
fn reserve(
    dir: &Path,
    from: u64,
    kept_through: u64,
    cut: Option<u64>,
    report: &mut RepairReport,
) -> Result<u64> {
    let min_record = (RECORD_HEADER_LEN as u64).max(RECORD_ALIGN as u64);
    let mut high = kept_through;
    for (segment, path) in files_from(dir, from)? {
        let Some(seg_path) = path.filter(|p| is_segment_file(p)) else {
            continue;
        };
        let size = fs::metadata(&seg_path).map_or(0, |m| m.len());
        let (first_before, capacity, salt) = match header_of(dir, segment) {
            Some(m) => (
                m.first_lsn - 1,
                m.capacity.max(size),
                Some((m.salt, m.max_entry_size)),
            ),
            None => (high, size, None),
        };
        let room = capacity.saturating_sub(BLOCK_SIZE as u64) / min_record;
        high = high.max(first_before).saturating_add(room);
        if let Some((salt, max_body)) = salt {
            let start = if segment == from {
                cut.unwrap_or(BLOCK_SIZE as u64)
            } else {
                BLOCK_SIZE as u64
            };
            count_records(&seg_path, start, salt, max_body, kept_through, report)?;
        }
    }
    if let Some((_, hi)) = report.found_lsns {
        high = high.max(hi.0);
    }
    Ok(high.min(MAX_LSN - 1))
}

fn is_segment_file(p: &Path) -> bool {
    p.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.ends_with(".seg"))
}

/// The files of every segment numbered `from` or higher (segment files,
/// anchor indexes, preparations, set-aside files), by segment number.
fn files_from(dir: &Path, from: u64) -> Result<Vec<(u64, Option<PathBuf>)>> {
    let listed = fs::list(dir).map_err(|e| Error::io(format!("listing {}", dir.display()), e))?;
    let mut out = Vec::new();
    for ent in listed {
        let Some(name) = ent.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some(n) = segment_number(name) else {
            continue;
        };
        if n >= from {
            out.push((n, Some(ent.clone())));
        }
    }
    out.sort();
    Ok(out)
}

/// The segment number of a file of the WAL directory named `wal-<20 digits>...`.
fn segment_number(name: &str) -> Option<u64> {
    let digits = name.strip_prefix("wal-")?.get(..20)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Counts the records of `salt` that decode anywhere in `path` from `start`
/// on (every 8-byte position), with an LSN above `above`: entries that left
/// the log. Memory: one chunk plus one record.
fn count_records(
    path: &Path,
    start: u64,
    salt: u32,
    max_body: u32,
    above: u64,
    report: &mut RepairReport,
) -> Result<()> {
    let file = fs::open(path, fs::OpenHow::READ)
        .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    let len = file
        .metadata()
        .map_err(|e| Error::io(format!("stat {}", path.display()), e))?
        .len();
    let mut at = align_down(start, RECORD_ALIGN as u64);
    let mut buf: Vec<u8> = Vec::new();
    let mut buf_at = at;
    while at < len {
        // Keep the bytes from `at` on; read the next chunk after them.
        buf.drain(..(at - buf_at) as usize);
        buf_at = at;
        let want = (SCAN_CHUNK_BYTES as u64).min(len - (buf_at + buf.len() as u64)) as usize;
        let read_at = buf_at + buf.len() as u64;
        let old = buf.len();
        buf.resize(old + want, 0);
        let got = fs::read_at(path, &file, &mut buf[old..], read_at)
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        buf.truncate(old + got);
        if got < want {
            break;
        }
        let end_of_file = buf_at + buf.len() as u64 >= len;
        let mut pos = 0usize;
        while pos + RECORD_HEADER_LEN <= buf.len() {
            match decode_record(&buf[pos..], salt, max_body) {
                RecordDecode::Record(r) => {
                    let lsn = r.header.lsn;
                    if lsn > above {
                        report.found_after_cut += 1;
                        let (lo, hi) = report.found_lsns.unwrap_or((Lsn(lsn), Lsn(lsn)));
                        report.found_lsns = Some((lo.min(Lsn(lsn)), hi.max(Lsn(lsn))));
                    }
                    pos += r.len;
                }
                RecordDecode::NeedMore(_) if !end_of_file => break,
                _ => pos += RECORD_ALIGN,
            }
        }
        at = buf_at + pos as u64;
        if end_of_file || want == 0 {
            break;
        }
    }
    Ok(())
}

/// Carries out `plan` (again, after an interruption: every step checks
/// what is done). Returns the files moved or copied aside.
fn execute(config: &Config, plan: &Plan) -> Result<Vec<PathBuf>> {
    let dir = &config.dir;
    let aside = dir.join(&plan.aside);
    dir::create_dir(&aside)?;
    let mut moved = Vec::new();
    if plan.keeps_prefix {
        moved.push(copy_aside(dir, &aside, plan.segment)?);
    }
    let first_moved = if plan.keeps_prefix {
        plan.segment + 1
    } else {
        plan.segment
    };
    // The new segment is made after every move: once it is there, the moves
    // are done (and it must not be moved itself).
    let gap_done = header_of(dir, first_moved)
        .is_some_and(|m| m.lsn_gap_before && m.first_lsn == plan.reserved_through + 1);
    let to_move = match gap_done {
        true => Vec::new(),
        false => files_from(dir, plan.segment)?,
    };
    for (_, path) in to_move {
        let Some(path) = path else { continue };
        let name = path.file_name().map(|n| n.to_owned()).unwrap_or_default();
        let n = segment_number(&name.to_string_lossy()).unwrap_or(0);
        // The kept segment's anchor index may point past the cut: a hint only.
        let anchors_of_kept = n == plan.segment && !is_segment_file(&path);
        if n >= first_moved || anchors_of_kept {
            let to = aside.join(&name);
            fs::rename(&path, &to).map_err(|e| {
                Error::io(format!("moving {} to {}", path.display(), to.display()), e)
            })?;
            moved.push(to);
        }
    }
    dir::sync_dir(&aside)?;
    dir::sync_dir(dir)?;
    start_gap_segment(config, first_moved, plan.reserved_through + 1)?;
    if plan.keeps_prefix {
        zero_after_cut(dir, plan.segment, plan.cut)?;
    }
    Ok(moved)
}

/// Copies segment `segment` as it is into `aside` (once: a copy already
/// there is the original, since the cut is made only after it).
fn copy_aside(dir: &Path, aside: &Path, segment: u64) -> Result<PathBuf> {
    let meta = header_of(dir, segment).ok_or_else(|| Error::Corruption {
        segment: SegmentId(segment),
        offset: 0,
        reason: "the segment to cut has no valid header any more".into(),
    })?;
    let from = meta.path(dir);
    let name = from.file_name().map(|n| n.to_owned()).unwrap_or_default();
    let to = aside.join(&name);
    if fs::exists(&to) {
        return Ok(to);
    }
    let tmp = aside.join(format!("{}.copying", name.to_string_lossy()));
    fs::unlink_if_present(&tmp)
        .and_then(|()| fs::copy_new(&from, &tmp))
        .map_err(|e| {
            Error::io(
                format!("copying {} to {}", from.display(), tmp.display()),
                e,
            )
        })?;
    dir::rename_durable(aside, &tmp, &to)?;
    Ok(to)
}

/// Creates segment `segment`, empty, whose header starts at `first_lsn`
/// after a reserved gap (unless it exists already, from an interrupted run).
fn start_gap_segment(config: &Config, segment: u64, first_lsn: u64) -> Result<()> {
    if let Some(m) = header_of(&config.dir, segment)
        && m.lsn_gap_before
        && m.first_lsn == first_lsn
    {
        return Ok(());
    }
    let path = dir::segment_path(&config.dir, segment, false);
    if !fs::exists(&path) {
        dir::prepare_segment(&config.dir, segment, config.segment_size, true)?;
    }
    let header = SegmentHeader {
        segment,
        first_lsn,
        salt: dir::random_salt(),
        max_entry_size: config.max_entry_size as u32,
        capacity: config.segment_size,
        inflight_bytes: crate::format::inflight_bound(
            config.commits_in_flight,
            config.max_batch_bytes,
            config.max_entry_size,
        ),
        lsn_gap_before: true,
    };
    let mut buf = AlignedBuf::new(BLOCK_SIZE);
    header.encode(buf.as_mut_slice());
    let file = dir::open_for_write(&path, false)?;
    write_synced(&file, buf, 0, &path)?;
    dir::sync_dir(&config.dir)
}

/// Zeroes segment `segment` from `cut` to the end of its file, keeping the
/// bytes before `cut` in its block, and syncs it.
fn zero_after_cut(dir: &Path, segment: u64, cut: u64) -> Result<()> {
    let meta = header_of(dir, segment).ok_or_else(|| Error::Corruption {
        segment: SegmentId(segment),
        offset: 0,
        reason: "the segment to cut has no valid header any more".into(),
    })?;
    let path = meta.path(dir);
    let file = dir::open_for_write(&path, false)?;
    let len = file
        .metadata()
        .map_err(|e| Error::io(format!("stat {}", path.display()), e))?
        .len();
    let end = align_up(len.max(cut + 1), BLOCK_SIZE as u64);
    // Through the storage seam: a simulated disk can cut the power here too.
    let mut engine = fs::SeamWriteEngine::new(&path, &file);
    let io = |e| Error::io(format!("zeroing {} after the cut", path.display()), e);
    crate::recovery::zero_range(&mut engine, &path, &file, cut, end).map_err(io)?;
    engine.sync_data(file.as_raw_fd()).map_err(io)
}

/// Writes `buf` (one block) at `offset` and syncs it.
fn write_synced(file: &std::fs::File, buf: AlignedBuf, offset: u64, path: &Path) -> Result<()> {
    let mut engine = fs::SeamWriteEngine::new(path, file);
    crate::recovery::write_through(&mut engine, file.as_raw_fd(), buf, BLOCK_SIZE, offset)
        .and_then(|_| engine.sync_data(file.as_raw_fd()))
        .map_err(|e| Error::io(format!("writing the header of {}", path.display()), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_round_trip() {
        let p = Plan {
            segment: 4,
            keeps_prefix: true,
            cut: 8192,
            kept_through: 99,
            reserved_through: 4000,
            aside: "repair-17".into(),
        };
        assert_eq!(Plan::decode(&p.encode(), Path::new("m")).unwrap(), p);
        for bad in ["", "xwal-repair 1\n", "xwal-repair 1\nsegment x\n"] {
            assert!(Plan::decode(bad, Path::new("m")).is_err(), "{bad:?}");
        }
        let escape = Plan {
            aside: "../x".into(),
            ..p
        };
        assert!(Plan::decode(&escape.encode(), Path::new("m")).is_err());
    }

    #[test]
    fn segment_numbers_of_file_names() {
        assert_eq!(segment_number("wal-00000000000000000007.seg"), Some(7));
        assert_eq!(segment_number("wal-00000000000000000007.anchors"), Some(7));
        assert_eq!(segment_number("wal-7.seg"), None);
        assert_eq!(segment_number("LOCK"), None);
    }
}
