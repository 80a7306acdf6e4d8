//! A simulated power cut at the I/O seam.
//!
//! [`SimDisk`] wraps the real write engine. It journals every write that no
//! completed fdatasync (or O_DSYNC write) covers yet, with the bytes it
//! replaced. At a chosen operation the power fails: that operation and every
//! later one fail, and [`SimDisk::crash_image`] then rewrites the files as a
//! power cut could leave them: each 512-byte sector written since its file's
//! last sync holds, at random, its synced content or any value written to it
//! since. That covers dropped sectors, torn writes at any sector boundary,
//! stale bytes and reordering. What a completed sync covered is never touched.

use super::{AlignedBuf, WriteEngine, WriteOp, sync::pread_full};
use parking_lot::Mutex;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io;
use std::os::fd::RawFd;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::Arc;

/// Sector size of the simulated device: the unit that is atomic.
pub const SECTOR: usize = 512;

pub(super) struct PendingWrite {
    /// Start order of the write: a sync covers the writes started up to its own.
    seq: u64,
    offset: u64,
    old: Vec<u8>,
    new: Vec<u8>,
}

#[derive(Default)]
pub(super) struct SimState {
    ops: u64,
    cut_at: Option<u64>,
    dead: bool,
    pub(super) journal: HashMap<(u64, u64), Vec<PendingWrite>>,
    /// The directory's names, for a cut to lose (see `sim_fs`).
    pub(super) meta: super::sim_fs::MetaJournal,
    /// What the test says runs now (a cut in the data path is counted under it).
    phase: &'static str,
    /// Where the power failed, once it did.
    cut_phase: Option<&'static str>,
    /// The power fails at the directory sync this many syncs from now
    /// (0: the next one), if set.
    cut_at_dir_sync: Option<u64>,
    /// Files shrunk through the seam (by inode): only these may get their
    /// full size back at a cut (a file written short was never longer).
    pub(super) shrunk: std::collections::HashSet<(u64, u64)>,
}

/// What a power cut did.
///
/// # Examples
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use xwal::seams::{Seams, SimDisk};
/// use xwal::{Config, SyncPolicy, Wal};
///
/// let dir = tempfile::tempdir_in(".")?;
/// let sim = SimDisk::new();
/// let config = Config::new(dir.path())
///     .segment_size(1 << 20)
///     .max_entry_size(64 << 10)
///     .sync(SyncPolicy::Never);
/// let (wal, _) = Wal::open_with(config.clone(), Seams { sim_disk: Some(sim.clone()), ..Seams::default() })?;
/// wal.append(b"a")?;
/// let durable = wal.flush()?;
/// wal.append(b"b")?; // written, never synced
/// sim.cut_now();
/// drop(wal);
///
/// // A generator that always picks 0: every unsynced sector goes back to its synced value.
/// let stats = sim.crash_image(dir.path(), &mut || 0)?;
/// assert!(stats.reverted > 0);
/// assert_eq!(stats.kept + stats.intermediate, 0);
/// let (_wal, report) = Wal::open(config)?;
/// assert_eq!(report.last_lsn, durable);
/// # Ok(()) }
/// ```
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CrashStats {
    /// Unsynced sectors that kept their newest value.
    pub kept: u64,
    /// Unsynced sectors that went back to their synced value.
    pub reverted: u64,
    /// Unsynced sectors left holding an intermediate value.
    pub intermediate: u64,
    /// Unsynced creates, renames and unlinks of the directory the cut kept.
    pub meta_kept: u64,
    /// Unsynced creates, renames and unlinks of the directory the cut undid.
    pub meta_lost: u64,
}

/// Shared handle to the simulated disk of one WAL run.
///
/// # Examples
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use xwal::seams::{Seams, SimDisk};
/// use xwal::{Config, Wal};
///
/// let dir = tempfile::tempdir_in(".")?;
/// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
/// let sim = SimDisk::new();
/// let (wal, _) = Wal::open_with(config.clone(), Seams { sim_disk: Some(sim.clone()), ..Seams::default() })?;
/// let acknowledged = wal.append(b"acknowledged")?;
/// sim.cut_now();
/// assert!(wal.append(b"no power").is_err());
/// drop(wal);
///
/// // Leave the files as a power cut could, then recover on the real disk.
/// let mut state = 0x2545_f491_4f6c_dd1d_u64;
/// let mut rng = move || {
///     state ^= state << 13;
///     state ^= state >> 7;
///     state ^= state << 17;
///     state
/// };
/// sim.crash_image(dir.path(), &mut rng)?;
/// let (_wal, report) = Wal::open(config)?;
/// assert!(report.last_lsn >= acknowledged); // SyncPolicy::Always: acknowledged is durable
/// # Ok(()) }
/// ```
#[derive(Clone, Default)]
pub struct SimDisk(Arc<Mutex<SimState>>);

impl std::fmt::Debug for SimDisk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.0.lock();
        write!(
            f,
            "SimDisk(ops {}, cut_at {:?}, dead {})",
            s.ops, s.cut_at, s.dead
        )
    }
}

/// The phase of a cut at a file-system call, from what it does to which
/// file; `None` for the data path and anything else (the test's phase then).
fn phase_of(what: &str, path: &Path) -> Option<&'static str> {
    let name = path.file_name()?.to_str()?;
    Some(match what {
        _ if name.ends_with(".preparing") => "segment preparation",
        _ if name.ends_with(".anchors") => "anchor index",
        "rename" if name.contains("checkpoint") => "checkpoint",
        "truncate" => "sealing",
        "unlink" if name.ends_with(".seg") => "purge and consume",
        _ if name == crate::format::names::LOCK_FILE => "open",
        _ => return None,
    })
}

fn inode(fd: RawFd) -> io::Result<(u64, u64)> {
    // SAFETY: fstat fills the struct.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(fd, &mut st) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((st.st_dev, st.st_ino))
}

fn is_dsync(fd: RawFd) -> bool {
    // SAFETY: plain fcntl.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    flags >= 0 && flags & libc::O_DSYNC == libc::O_DSYNC
}

impl SimDisk {
    /// A disk with no power cut planned.
    ///
    /// # Examples
    ///
    /// ```
    /// use xwal::seams::{Seams, SimDisk};
    ///
    /// let sim = SimDisk::new();
    /// assert!(!sim.is_dead());
    /// assert_eq!(sim.ops(), 0);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Forgets a planned cut that has not happened.
    pub fn cancel_cut(&self) {
        let mut s = self.0.lock();
        s.cut_at = None;
        s.cut_at_dir_sync = None;
    }

    /// Names what the test does now: a cut in the data path, or in a
    /// file-system call no file name tells apart, is counted under it.
    pub fn set_phase(&self, phase: &'static str) {
        self.0.lock().phase = phase;
    }

    /// Where the power failed: a phase of [`SimDisk::set_phase`] or one read
    /// off the file-system call the cut fell on.
    pub fn cut_phase(&self) -> Option<&'static str> {
        self.0.lock().cut_phase
    }

    /// A negative control: a sync of the directory right after a rename does
    /// nothing (as if the engine left it out).
    pub fn skip_dir_sync_after_rename(&self) {
        self.0.lock().meta.skip_dir_sync_after_rename = true;
    }

    /// Serves `dir` through this disk until the guard drops: for work that
    /// runs outside a `Wal` opened with it (a repair, an import, a restore),
    /// so that a cut can fall inside it too.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::format::WalEntry;
    /// use xwal::import_go::{self, ImportOptions};
    /// use xwal::seams::SimDisk;
    /// use xwal::{Config, Error, Wal};
    ///
    /// let go = tempfile::tempdir_in(".").unwrap();
    /// let crc = import_go::go_crc(1, b"x");
    /// let record = import_go::encode_record(&WalEntry { lsn: 1, data: b"x".to_vec(), crc });
    /// std::fs::write(go.path().join("wal_0"), record).unwrap();
    /// let dest = tempfile::tempdir_in(".").unwrap();
    /// let config = Config::new(dest.path()).segment_size(1 << 20).max_entry_size(4096);
    ///
    /// let sim = SimDisk::new();
    /// let served = sim.serve(dest.path()).unwrap();
    /// sim.cut_after(3); // the power fails inside the import
    /// let opts = ImportOptions::default();
    /// assert!(import_go::import(&import_go::plan(go.path(), opts)?, config.clone(), opts).is_err());
    /// drop(served);
    /// assert!(sim.is_dead());
    /// // Its marker is there: the partial log is refused, not taken for a whole one.
    /// assert!(matches!(Wal::open(config), Err(Error::ImportIncomplete { .. })));
    /// # Ok(()) }
    /// ```
    pub fn serve(&self, dir: &Path) -> io::Result<super::fs::Installed> {
        self.0.lock().meta.begin(dir)?;
        let fs = super::sim_fs::SimFs(self.clone());
        Ok(super::fs::install(dir, std::sync::Arc::new(fs)))
    }

    pub(super) fn state(&self) -> parking_lot::MutexGuard<'_, SimState> {
        self.0.lock()
    }

    /// Counts one operation; (powered, the power fails at this one).
    pub(super) fn tick_named(&self, what: &str, path: &Path) -> (bool, bool) {
        let mut s = self.0.lock();
        let n = s.ops;
        s.ops += 1;
        if s.dead {
            return (false, false);
        }
        let at_dir_sync = what == "sync_dir" && s.cut_at_dir_sync == Some(0);
        if what == "sync_dir" {
            s.cut_at_dir_sync = s.cut_at_dir_sync.and_then(|k| k.checked_sub(1));
        }
        if s.cut_at == Some(n) || at_dir_sync {
            s.dead = true;
            s.cut_phase = Some(phase_of(what, path).unwrap_or(s.phase));
            return (false, true);
        }
        (true, false)
    }

    /// Journals a write through the file-system seam that no sync covers yet,
    /// widened to whole sectors (the rest as the file held it).
    pub(super) fn journal_unsynced(
        &self,
        key: (u64, u64),
        offset: u64,
        old: Vec<u8>,
        new: Vec<u8>,
    ) {
        debug_assert_eq!(old.len(), new.len());
        let start = offset - offset % SECTOR as u64;
        let end = (offset + new.len() as u64).div_ceil(SECTOR as u64) * SECTOR as u64;
        let mut before = vec![0u8; (end - start) as usize];
        let at = (offset - start) as usize;
        before[at..at + old.len()].copy_from_slice(&old);
        let mut after = before.clone();
        after[at..at + new.len()].copy_from_slice(&new);
        let w = PendingWrite {
            seq: 0,
            offset: start,
            old: before,
            new: after,
        };
        self.0.lock().journal.entry(key).or_default().push(w);
    }

    /// The power fails at the operation `after` operations from now (0 = the
    /// next), counting the writer's writes and syncs and every file-system
    /// call under the WAL's directory, from any thread (the preparer's too).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::seams::{Seams, SimDisk};
    /// use xwal::{Config, Wal};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let sim = SimDisk::new();
    /// let config = Config::new(dir.path())
    ///     .segment_size(1 << 20)
    ///     .max_entry_size(64 << 10);
    /// let seams = Seams { sim_disk: Some(sim.clone()), ..Seams::default() };
    /// let (wal, _) = Wal::open_with(config, seams)?;
    /// wal.append(b"written")?;
    /// sim.cut_after(0); // whatever runs next fails, and everything after it
    /// assert!(wal.append(b"cut").is_err());
    /// assert!(sim.is_dead());
    /// # Ok(()) }
    /// ```
    pub fn cut_after(&self, after: u64) {
        let mut s = self.0.lock();
        s.cut_at = Some(s.ops + after);
        s.cut_at_dir_sync = None;
    }

    /// Cuts the power at the `nth` directory sync from now (0: the next),
    /// before it runs: where the most directory changes wait unsynced (the
    /// unlinks of a purge, the renames of a checkpoint), so where an order
    /// the engine forgot to enforce shows. A cut planned with
    /// [`SimDisk::cut_after`] still happens if it comes first.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::seams::{Seams, SimDisk};
    /// use xwal::{Config, Wal};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let sim = SimDisk::new();
    /// let config = Config::new(dir.path()).segment_size(64 << 10).max_entry_size(8 << 10);
    /// let seams = Seams { sim_disk: Some(sim.clone()), ..Seams::default() };
    /// let (wal, _) = Wal::open_with(config, seams)?;
    /// sim.cut_at_dir_sync(0);
    /// // A checkpoint renames the segment and syncs the directory: the power fails there.
    /// assert!(wal.create_checkpoint().is_err());
    /// assert!(sim.is_dead());
    /// # Ok(()) }
    /// ```
    pub fn cut_at_dir_sync(&self, nth: u64) {
        self.0.lock().cut_at_dir_sync = Some(nth);
    }

    /// Cuts the power now.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::seams::{Seams, SimDisk};
    /// use xwal::{Config, Error, Wal};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let sim = SimDisk::new();
    /// let config = Config::new(dir.path())
    ///     .segment_size(1 << 20)
    ///     .max_entry_size(64 << 10);
    /// let seams = Seams { sim_disk: Some(sim.clone()), ..Seams::default() };
    /// let (wal, _) = Wal::open_with(config, seams)?;
    /// sim.cut_now();
    /// assert!(matches!(wal.append(b"no power"), Err(Error::Fenced { .. })));
    /// # Ok(()) }
    /// ```
    pub fn cut_now(&self) {
        self.0.lock().dead = true;
    }

    /// The process that ran into the failure is gone, but the power stayed
    /// on: what it wrote and never synced is still in the volatile cache
    /// (the journal), and the files read as it left them. A new process (a
    /// new `Wal` on the same `SimDisk`) runs with power; a later cut and
    /// [`SimDisk::crash_image`] can still undo what neither process synced.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use xwal::seams::{Seams, SimDisk};
    /// use xwal::{Config, SyncPolicy, Wal};
    ///
    /// let dir = tempfile::tempdir_in(".")?;
    /// let config = Config::new(dir.path())
    ///     .segment_size(1 << 20)
    ///     .max_entry_size(64 << 10)
    ///     .sync(SyncPolicy::Never);
    /// let sim = SimDisk::new();
    /// let seams = || Seams { sim_disk: Some(sim.clone()), ..Seams::default() };
    /// let (wal, _) = Wal::open_with(config.clone(), seams())?;
    /// wal.append(b"written, never synced")?;
    /// sim.cut_now(); // the process dies here: nothing more of it reaches the disk
    /// drop(wal);
    ///
    /// sim.revive();
    /// let (wal, report) = Wal::open_with(config.clone(), seams())?;
    /// assert_eq!(report.last_lsn, 1);
    /// // Recovery declared LSN 1 durable, so it synced it: a power cut now keeps it.
    /// assert_eq!(wal.durable_index(), 1);
    /// sim.cut_now();
    /// drop(wal);
    /// sim.crash_image(dir.path(), &mut || 0)?;
    /// let (_wal, report) = Wal::open(config)?;
    /// assert_eq!(report.last_lsn, 1);
    /// # Ok(()) }
    /// ```
    pub fn revive(&self) {
        let mut s = self.0.lock();
        s.dead = false;
        s.cut_at = None;
    }

    /// True once the power has failed.
    ///
    /// # Examples
    ///
    /// ```
    /// use xwal::seams::{Seams, SimDisk};
    ///
    /// let sim = SimDisk::new();
    /// assert!(!sim.is_dead());
    /// sim.cut_now();
    /// assert!(sim.is_dead());
    /// // Clones share the disk.
    /// assert!(sim.clone().is_dead());
    /// ```
    pub fn is_dead(&self) -> bool {
        self.0.lock().dead
    }

    /// Operations seen.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::seams::{Seams, SimDisk};
    /// use xwal::{Config, Wal};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let sim = SimDisk::new();
    /// let config = Config::new(dir.path())
    ///     .segment_size(1 << 20)
    ///     .max_entry_size(64 << 10);
    /// let seams = Seams { sim_disk: Some(sim.clone()), ..Seams::default() };
    /// let (wal, _) = Wal::open_with(config, seams)?;
    /// let before = sim.ops();
    /// wal.append(b"one write")?;
    /// assert!(sim.ops() > before);
    /// # Ok(()) }
    /// ```
    pub fn ops(&self) -> u64 {
        self.0.lock().ops
    }

    pub(crate) fn wrap(&self, inner: Box<dyn WriteEngine>) -> Box<dyn WriteEngine> {
        Box::new(SimEngine {
            inner,
            disk: self.clone(),
            pending: VecDeque::new(),
            next_seq: 0,
        })
    }

    /// Rewrites the files in `dir` as the power cut left them (see the module
    /// docs) and clears the journal. `rng` supplies randomness (seeded by the caller).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use xwal::seams::{Seams, SimDisk};
    /// use xwal::{Config, ReplayOptions, SyncPolicy, Wal};
    ///
    /// let dir = tempfile::tempdir_in(".")?;
    /// let config = Config::new(dir.path())
    ///     .segment_size(1 << 20)
    ///     .max_entry_size(64 << 10)
    ///     .sync(SyncPolicy::Never);
    /// let sim = SimDisk::new();
    /// let (wal, _) = Wal::open_with(config.clone(), Seams { sim_disk: Some(sim.clone()), ..Seams::default() })?;
    /// for i in 1..=20u8 {
    ///     wal.append(&[i; 100])?; // acknowledged, not synced
    /// }
    /// sim.cut_now();
    /// drop(wal);
    ///
    /// let mut n = 0u64;
    /// let stats = sim.crash_image(dir.path(), &mut || {
    ///     n += 1;
    ///     n.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32
    /// })?;
    /// assert!(stats.kept + stats.reverted + stats.intermediate > 0);
    /// // Whatever survived is a clean prefix of what was appended.
    /// let (wal, _) = Wal::open(config)?;
    /// let lsns: Vec<_> = wal.replay(ReplayOptions::all())?.map(|e| e.map(|e| e.lsn)).collect::<xwal::Result<Vec<_>>>()?;
    /// assert!(lsns.len() <= 20);
    /// assert!(lsns.iter().copied().eq(1..=lsns.len() as u64));
    /// # Ok(()) }
    /// ```
    pub fn crash_image(&self, dir: &Path, rng: &mut dyn FnMut() -> u64) -> io::Result<CrashStats> {
        let mut s = self.0.lock();
        s.dead = true;
        let mut paths = HashMap::new();
        for e in std::fs::read_dir(dir)? {
            let p = e?.path();
            if let Ok(m) = std::fs::symlink_metadata(&p)
                && m.is_file()
            {
                paths.insert((m.dev(), m.ino()), p);
            }
        }
        let mut stats = CrashStats::default();
        let mut keys: Vec<_> = s.journal.keys().copied().collect();
        keys.sort_unstable();
        for key in keys {
            let writes = s.journal.remove(&key).unwrap_or_default();
            let Some(path) = paths.get(&key) else {
                continue;
            };
            let mut sectors: BTreeMap<u64, Vec<&[u8]>> = BTreeMap::new();
            for w in &writes {
                for i in 0..w.new.len() / SECTOR {
                    let r = i * SECTOR..(i + 1) * SECTOR;
                    sectors
                        .entry(w.offset + r.start as u64)
                        .or_insert_with(|| vec![&w.old[r.clone()]])
                        .push(&w.new[r]);
                }
            }
            let f = std::fs::OpenOptions::new().write(true).open(path)?;
            // A sector past the file's end holds nothing a reader sees.
            let len = f.metadata()?.len();
            for (off, cands) in sectors {
                if off >= len {
                    continue;
                }
                let pick = (rng() % cands.len() as u64) as usize;
                match pick {
                    0 => stats.reverted += 1,
                    p if p + 1 == cands.len() => stats.kept += 1,
                    _ => stats.intermediate += 1,
                }
                let n = (len - off).min(SECTOR as u64) as usize;
                std::os::unix::fs::FileExt::write_all_at(&f, &cands[pick][..n], off)?;
            }
            f.sync_all()?;
        }
        let (meta_kept, meta_lost) = s.meta.cut(rng)?;
        stats.meta_kept = meta_kept;
        stats.meta_lost = meta_lost;
        undo_some_shrinks(dir, rng, &s.shrunk)?;
        Ok(stats)
    }
}

/// A sealed segment is shrunk to its data in the background; a power cut
/// may come before or after the truncation reached the disk. Half of the
/// shrunk segments get their full size back (the lost blocks read as zeros,
/// as fallocated ones do), so recovery sees both states.
fn undo_some_shrinks(
    dir: &Path,
    rng: &mut dyn FnMut() -> u64,
    shrunk: &std::collections::HashSet<(u64, u64)>,
) -> io::Result<()> {
    use crate::format::{HeaderDecode, SegmentHeader};
    use std::os::unix::fs::MetadataExt;
    for e in std::fs::read_dir(dir)? {
        let p = e?.path();
        if p.extension().is_none_or(|x| x != "seg") {
            continue;
        }
        let m = std::fs::metadata(&p)?;
        if !shrunk.contains(&(m.dev(), m.ino())) {
            continue;
        }
        let mut block = vec![0u8; crate::format::BLOCK_SIZE];
        let Ok(file) = std::fs::File::open(&p) else {
            continue;
        };
        if super::sync::pread_full(std::os::fd::AsRawFd::as_raw_fd(&file), &mut block, 0).is_err() {
            continue;
        }
        let HeaderDecode::Valid(h) = SegmentHeader::decode(&block) else {
            continue;
        };
        let f = std::fs::OpenOptions::new().write(true).open(&p)?;
        if f.metadata()?.len() < h.capacity && rng().is_multiple_of(2) {
            f.set_len(h.capacity)?;
            f.sync_all()?;
        }
    }
    Ok(())
}

struct SimEngine {
    inner: Box<dyn WriteEngine>,
    disk: SimDisk,
    /// Started operations, oldest first: the write has happened (into the
    /// simulated volatile cache); the sync, if any, runs at `finish`.
    pending: VecDeque<SimOp>,
    next_seq: u64,
}

struct SimOp {
    seq: u64,
    fd: RawFd,
    key: (u64, u64),
    sync: bool,
    buf: AlignedBuf,
    result: io::Result<()>,
}

pub(super) fn power_failure() -> io::Error {
    io::Error::from_raw_os_error(libc::EIO)
}

impl SimEngine {
    /// Advances the operation count; true if this operation runs with power.
    fn tick(&self) -> (bool, bool) {
        self.disk.tick_named("data", Path::new(""))
    }
}

impl SimEngine {
    /// Remembers a write that reached the volatile cache: a power cut may undo it.
    fn journal(&self, key: (u64, u64), seq: u64, offset: u64, old: Vec<u8>, new: Vec<u8>) {
        let w = PendingWrite {
            seq,
            offset,
            old,
            new,
        };
        self.disk.0.lock().journal.entry(key).or_default().push(w);
    }

    /// Forgets the journal of `key` up to write `seq`: a completed sync covers them.
    fn synced(&self, key: (u64, u64), seq: u64) {
        let mut s = self.disk.0.lock();
        if let Some(writes) = s.journal.get_mut(&key) {
            writes.retain(|w| w.seq > seq);
        }
    }
}

impl WriteEngine for SimEngine {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    /// Writes happen at `start`, syncs at `finish`: with several operations in
    /// flight, a power cut can fall after a later write and before an earlier
    /// sync, as it can on a real pipelined disk.
    fn depth(&self) -> usize {
        crate::io::MAX_COMMITS_IN_FLIGHT
    }

    fn wait_written(&mut self) -> bool {
        self.pending.back().is_none_or(|p| p.result.is_ok())
    }

    fn start(&mut self, mut op: WriteOp) {
        op.assert_aligned();
        let seq = self.next_seq;
        self.next_seq += 1;
        let (powered, cut_here) = self.tick();
        let fd = op.fd;
        let fail = |op: WriteOp, e: io::Error| SimOp {
            seq,
            fd,
            key: (0, 0),
            sync: false,
            buf: op.buf,
            result: Err(e),
        };
        if !powered && !cut_here || !self.wait_written() {
            let e = if powered {
                io::Error::other("sim: an earlier write failed")
            } else {
                power_failure()
            };
            self.pending.push_back(fail(op, e));
            return;
        }
        let key = inode(op.fd);
        let mut old = AlignedBuf::new(op.len);
        let read = pread_full(op.fd, &mut old.as_mut_slice()[..op.len], op.offset);
        let (Ok(key), Ok(_)) = (key, read) else {
            self.pending
                .push_back(fail(op, io::Error::other("sim: cannot read old contents")));
            return;
        };
        let old = old.as_slice()[..op.len].to_vec();
        let new = op.buf.as_slice()[..op.len].to_vec();
        let offset = op.offset;
        if cut_here {
            // The write reaches the volatile cache; the sync (if any) never runs.
            let r = super::sync::pwrite_all(op.fd, &new, offset);
            if r.is_ok() {
                self.journal(key, seq, offset, old, new);
            }
            self.pending.push_back(fail(op, power_failure()));
            return;
        }
        let dsync = is_dsync(op.fd);
        let sync = op.sync;
        op.sync = false;
        self.inner.start(op);
        let (buf, result) = self.inner.finish();
        if result.is_ok() {
            self.journal(key, seq, offset, old, new);
            if dsync {
                self.synced(key, seq);
            }
        }
        self.pending.push_back(SimOp {
            seq,
            fd,
            key,
            sync,
            buf,
            result,
        });
    }

    fn finish(&mut self) -> (AlignedBuf, io::Result<()>) {
        let op = self.pending.pop_front().expect("finish without start");
        if op.result.is_err() || !op.sync {
            return (op.buf, op.result);
        }
        // The linked sync: it fails if the power went since the write.
        if self.disk.is_dead() {
            return (op.buf, Err(power_failure()));
        }
        let r = self.inner.sync_data(op.fd);
        if r.is_ok() {
            self.synced(op.key, op.seq);
        }
        (op.buf, r)
    }

    fn sync_data(&mut self, fd: RawFd) -> io::Result<()> {
        let (powered, _) = self.tick();
        if !powered {
            return Err(power_failure());
        }
        self.inner.sync_data(fd)?;
        let key = inode(fd)?;
        // It covers the writes whose operations finished; those still in flight
        // might have landed after it on a real disk.
        match self.pending.front() {
            Some(p) => {
                if let Some(done) = p.seq.checked_sub(1) {
                    self.synced(key, done);
                }
            }
            None => {
                self.disk.0.lock().journal.remove(&key);
            }
        }
        Ok(())
    }
}
