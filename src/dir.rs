//! The WAL directory: file names, the exclusive lock, listing, segment preparation.

use crate::error::{Error, Result};
use crate::format::BLOCK_SIZE;
pub(crate) use crate::format::names::{
    FileKind, IMPORT_MARKER, LOCK_FILE, REPAIR_MARKER, RESTORE_MARKER, anchor_index_path, classify,
    segment_path,
};
use crate::format::names::{PREFIX, PREPARING_SUFFIX};
use crate::io::AlignedBuf;
use crate::io::fs::{self, LockHow, OpenHow};
use std::fs::File;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

/// Replaces file `name` of `dir` atomically and durably: writes a temporary
/// file, syncs it, renames it over `name`, syncs the directory. A crash
/// leaves the old file or the new one, never a mix.
///
/// # Examples
///
/// ```
/// # fn main() -> xwal::Result<()> {
/// use xwal::internals::dir::write_durable;
///
/// let dir = tempfile::tempdir().unwrap();
/// write_durable(dir.path(), "state", b"one")?;
/// write_durable(dir.path(), "state", b"two")?;
/// assert_eq!(std::fs::read(dir.path().join("state")).unwrap(), b"two");
/// assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
/// # Ok(()) }
/// ```
pub fn write_durable(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    let path = dir.join(name);
    fs::replace_durably(&path, bytes)
        .map_err(|e| Error::io(format!("replacing {} durably", path.display()), e))
}

/// Reads segment `segment`'s anchor index, if there is a valid one for this
/// incarnation (`salt`). Anything else (missing, too long, torn, stale) is `None`:
/// the index is a hint.
///
/// # Examples
///
/// ```
/// use xwal::internals::dir::{anchor_index_path, read_anchor_index};
/// use xwal::format::encode_anchor_index;
///
/// let dir = tempfile::tempdir().unwrap();
/// assert_eq!(read_anchor_index(dir.path(), 1, 9, 1 << 20), None);
/// std::fs::write(anchor_index_path(dir.path(), 1), encode_anchor_index(1, 9, &[(8192, 3)])).unwrap();
/// assert_eq!(read_anchor_index(dir.path(), 1, 9, 1 << 20), Some(vec![(8192, 3)]));
/// ```
pub fn read_anchor_index(
    dir: &Path,
    segment: u64,
    salt: u32,
    capacity: u64,
) -> Option<Vec<(u64, u64)>> {
    let limit = crate::format::anchor_index_len_limit(capacity);
    // A too-long file is refused without reading it all.
    let bytes = fs::read_small(&anchor_index_path(dir, segment), limit).ok()?;
    crate::format::decode_anchor_index(&bytes, segment, salt, capacity)
}

/// A segment file found in the directory.
///
/// # Examples
///
/// ```
/// # fn main() -> xwal::Result<()> {
/// use xwal::internals::dir::{list, prepare_segment, ListedSegment};
///
/// let dir = tempfile::tempdir_in(".").unwrap();
/// prepare_segment(dir.path(), 5, 64 << 10, false)?;
/// let (segments, _leftovers) = list(dir.path())?;
/// let expected = ListedSegment { segment: 5, checkpoint: false, file_size: 64 << 10 };
/// assert_eq!(segments, [expected]);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedSegment {
    /// Segment number.
    pub segment: u64,
    /// Marked as a checkpoint.
    pub checkpoint: bool,
    /// Size of the file.
    pub file_size: u64,
}

/// Lists segments in number order. Symlinks or non-regular files with segment
/// names are refused; `*.preparing` leftovers are returned for deletion.
///
/// # Examples
///
/// ```
/// # fn main() -> xwal::Result<()> {
/// use xwal::internals::dir::{list, prepare_segment, rename_durable, segment_path};
///
/// let dir = tempfile::tempdir_in(".").unwrap();
/// prepare_segment(dir.path(), 2, 64 << 10, false)?;
/// prepare_segment(dir.path(), 1, 64 << 10, false)?;
/// let (one, cp) = (segment_path(dir.path(), 1, false), segment_path(dir.path(), 1, true));
/// rename_durable(dir.path(), &one, &cp)?;
/// std::fs::write(dir.path().join("wal-00000000000000000003.seg.preparing"), b"").unwrap();
/// std::fs::write(dir.path().join("notes.txt"), b"not ours").unwrap();
///
/// let (segments, leftovers) = list(dir.path())?;
/// let numbers: Vec<_> = segments.iter().map(|s| (s.segment, s.checkpoint)).collect();
/// assert_eq!(numbers, [(1, true), (2, false)]); // in number order; notes.txt ignored
/// assert_eq!(leftovers.len(), 1);
/// # Ok(()) }
/// ```
pub fn list(dir: &Path) -> Result<(Vec<ListedSegment>, Vec<PathBuf>)> {
    list_below(dir, None)
}

/// [`list`], leaving out segments numbered `below` or higher, if given (a
/// read-only view of a damaged directory reads up to the first damaged segment).
pub(crate) fn list_below(
    dir: &Path,
    below: Option<u64>,
) -> Result<(Vec<ListedSegment>, Vec<PathBuf>)> {
    let listed = fs::list(dir).map_err(|e| Error::io(format!("listing {}", dir.display()), e))?;
    let mut segs = Vec::new();
    let mut leftovers = Vec::new();
    for ent in listed {
        let Some(name) = ent.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let kind = classify(name);
        if kind == FileKind::Foreign
            || matches!(kind, FileKind::Segment { segment, .. } if below.is_some_and(|b| segment >= b))
        {
            continue;
        }
        let mut path = ent.clone();
        let mut kind = kind;
        let meta = match fs::metadata(&path) {
            Ok(m) => m,
            // Renamed since the directory was read, by a writer beside this
            // (read-only) listing: a prepared segment taking its final name, or
            // a segment becoming a checkpoint. Follow the checkpoint rename;
            // a vanished `.preparing` file is simply gone.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => match kind {
                FileKind::Segment {
                    segment,
                    checkpoint,
                } => {
                    let twin = segment_path(dir, segment, !checkpoint);
                    match fs::metadata(&twin) {
                        Ok(m) => {
                            path = twin;
                            kind = FileKind::Segment {
                                segment,
                                checkpoint: !checkpoint,
                            };
                            m
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                        Err(e) => return Err(Error::io(format!("stat {}", twin.display()), e)),
                    }
                }
                _ => continue,
            },
            Err(e) => return Err(Error::io(format!("stat {}", path.display()), e)),
        };
        let ft = meta.file_type();
        if ft.is_symlink() {
            return Err(Error::UnsafeFile {
                path,
                reason: "segment name is a symlink; xwal never follows links",
            });
        }
        if !ft.is_file() || ft.is_fifo() {
            return Err(Error::UnsafeFile {
                path,
                reason: "segment name is not a regular file",
            });
        }
        match kind {
            FileKind::Segment {
                segment,
                checkpoint,
            } => segs.push(ListedSegment {
                segment,
                checkpoint,
                file_size: meta.len(),
            }),
            FileKind::Preparing => leftovers.push(path),
            FileKind::Foreign => {}
        }
    }
    segs.sort_by_key(|s| s.segment);
    // A renamed segment followed above may also be listed under its new name.
    segs.dedup_by(|a, b| a.segment == b.segment && a.checkpoint == b.checkpoint);
    // readdir during a rename may return both the old and the new name. A
    // writer only ever renames a plain segment to its checkpoint name, so a
    // plain name that is gone by now was renamed; both still present is real.
    let mut i = 0;
    while i + 1 < segs.len() {
        if segs[i].segment != segs[i + 1].segment {
            i += 1;
            continue;
        }
        let plain = if segs[i].checkpoint { i + 1 } else { i };
        debug_assert!(!segs[plain].checkpoint);
        match fs::metadata(&segment_path(dir, segs[plain].segment, false)) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                segs.remove(plain);
            }
            _ => {
                return Err(Error::Corruption {
                    segment: crate::SegmentId(segs[i].segment),
                    offset: 0,
                    reason: "segment present both as checkpoint and plain file".into(),
                });
            }
        }
    }
    Ok((segs, leftovers))
}

/// fsyncs a directory so that creates, renames and deletes in it are durable.
///
/// # Examples
///
/// ```
/// # fn main() -> xwal::Result<()> {
/// use xwal::internals::dir::sync_dir;
///
/// let dir = tempfile::tempdir().unwrap();
/// std::fs::write(dir.path().join("new-file"), b"data").unwrap();
/// sync_dir(dir.path())?; // the file's directory entry is now durable
/// assert!(sync_dir(&dir.path().join("missing")).is_err());
/// # Ok(()) }
/// ```
pub fn sync_dir(dir: &Path) -> Result<()> {
    fs::sync_dir(dir).map_err(|e| Error::io(format!("fsync of directory {}", dir.display()), e))
}

/// The exclusive directory lock (flock on `LOCK`), released on drop.
///
/// # Examples
///
/// ```
/// # fn main() -> xwal::Result<()> {
/// use xwal::internals::dir::DirLock;
/// use xwal::Error;
///
/// let dir = tempfile::tempdir().unwrap();
/// let lock = DirLock::acquire(dir.path())?;
/// assert!(matches!(DirLock::acquire(dir.path()), Err(Error::Locked { .. })));
/// drop(lock); // released on drop
/// DirLock::acquire(dir.path())?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct DirLock {
    /// `LOCK`, once it exists.
    _file: Option<File>,
    _dir: File,
}

impl DirLock {
    /// Takes the lock or fails with [`Error::Locked`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::internals::dir::{DirLock, LOCK_FILE};
    /// use xwal::Error;
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let _lock = DirLock::acquire(dir.path())?;
    /// assert!(dir.path().join(LOCK_FILE).exists());
    /// match DirLock::acquire(dir.path()) {
    ///     Err(Error::Locked { lock_file, .. }) => {
    ///         assert_eq!(lock_file, dir.path().join(LOCK_FILE))
    ///     }
    ///     other => panic!("expected Locked, got {other:?}"),
    /// }
    /// # Ok(()) }
    /// ```
    pub fn acquire(dir: &Path) -> Result<DirLock> {
        let mut lock = DirLock::acquire_leaving_files(dir)?;
        lock.take_lock_file(dir)?;
        Ok(lock)
    }

    /// Takes the lock on the directory itself, and on `LOCK` only if it
    /// exists: nothing is created, so an operation that may still refuse
    /// (a restore into a directory that holds another WAL) leaves no trace.
    /// [`DirLock::take_lock_file`] completes it.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::internals::dir::{DirLock, LOCK_FILE};
    /// use xwal::Error;
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let mut lock = DirLock::acquire_leaving_files(dir.path())?;
    /// assert!(!dir.path().join(LOCK_FILE).exists());
    /// assert!(matches!(DirLock::acquire(dir.path()), Err(Error::Locked { .. })));
    /// lock.take_lock_file(dir.path())?;
    /// assert!(dir.path().join(LOCK_FILE).exists());
    /// # Ok(()) }
    /// ```
    pub fn acquire_leaving_files(dir: &Path) -> Result<DirLock> {
        let path = dir.join(LOCK_FILE);
        // The directory itself is locked first: `LOCK` can be unlinked or
        // replaced while a writer holds it (a second opener would then lock a
        // new inode and get in), the directory a writer works in cannot.
        let dir_file = open_dir(dir)?;
        flock_exclusive(&dir_file, dir, &path)?;
        let file = match open_lock_file(&path, false) {
            Ok(f) => {
                flock_exclusive(&f, dir, &path)?;
                Some(f)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                return Err(Error::io(
                    format!("opening lock file {}", path.display()),
                    e,
                ));
            }
        };
        Ok(DirLock {
            _file: file,
            _dir: dir_file,
        })
    }

    /// Creates `LOCK` if missing and locks it too (for tools that look at it).
    pub fn take_lock_file(&mut self, dir: &Path) -> Result<()> {
        if self._file.is_some() {
            return Ok(());
        }
        let path = dir.join(LOCK_FILE);
        let existed = fs::exists(&path);
        let file = open_lock_file(&path, true)
            .map_err(|e| Error::io(format!("opening lock file {}", path.display()), e))?;
        flock_exclusive(&file, dir, &path)?;
        if !existed {
            sync_dir(dir)?;
        }
        self._file = Some(file);
        Ok(())
    }
}

fn open_lock_file(path: &Path, create: bool) -> std::io::Result<File> {
    fs::open(
        path,
        OpenHow {
            create,
            ..OpenHow::WRITE
        },
    )
}

/// Tries to take the lock this long before answering `Locked`: a follower
/// looks whether a writer holds it with a shared lock held for microseconds
/// ([`writer_holds_lock`]); a writer holds it as long as it runs.
const LOCK_PATIENCE_TRIES: u32 = 10;

/// `flock(LOCK_EX | LOCK_NB)`, or `Error::Locked` naming the WAL's lock file.
fn flock_exclusive(file: &File, dir: &Path, lock_file: &Path) -> Result<()> {
    for attempt in 1.. {
        match fs::lock(lock_file, file, LockHow::Exclusive) {
            Ok(true) => return Ok(()),
            Ok(false) => {}
            Err(e) => return Err(Error::io(format!("locking {}", lock_file.display()), e)),
        }
        if attempt >= LOCK_PATIENCE_TRIES {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    Err(Error::Locked {
        dir: dir.to_path_buf(),
        lock_file: lock_file.to_path_buf(),
    })
}

/// True if a writer holds the lock of the directory open as `dir`: a shared
/// lock cannot be taken beside its exclusive one. If it can, it is let go at
/// once (a writer opening meanwhile retries for longer than that).
pub(crate) fn writer_holds_lock(path: &Path, dir: &File) -> std::io::Result<bool> {
    if !fs::lock(path, dir, LockHow::Shared)? {
        return Ok(true);
    }
    fs::lock(path, dir, LockHow::Unlock)?;
    Ok(false)
}

/// Opens a directory (for its lock, or to sync it).
pub(crate) fn open_dir(dir: &Path) -> Result<File> {
    fs::open(dir, OpenHow::DIRECTORY)
        .map_err(|e| Error::io(format!("opening WAL directory {}", dir.display()), e))
}

/// Opens a segment for the writer: O_DIRECT, never following links, optionally O_DSYNC.
///
/// # Examples
///
/// ```
/// # fn main() -> xwal::Result<()> {
/// use xwal::internals::dir::{open_for_write, prepare_segment};
///
/// let dir = tempfile::tempdir_in(".").unwrap();
/// let path = prepare_segment(dir.path(), 1, 64 << 10, true)?;
/// let file = open_for_write(&path, false)?;
/// assert_eq!(file.metadata().unwrap().len(), 64 << 10);
/// // Never follows links, never creates.
/// let link = dir.path().join("link.seg");
/// std::os::unix::fs::symlink(&path, &link).unwrap();
/// assert!(open_for_write(&link, false).is_err());
/// assert!(open_for_write(&dir.path().join("absent.seg"), false).is_err());
/// # Ok(()) }
/// ```
pub fn open_for_write(path: &Path, dsync: bool) -> Result<File> {
    fs::open(path, OpenHow::WRITE.direct().dsync(dsync))
        .map_err(|e| Error::io(format!("opening segment {}", path.display()), e))
}

/// Opens a segment for reading with O_DIRECT.
///
/// # Examples
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::os::fd::AsRawFd;
/// use xwal::internals::dir::{open_for_read, prepare_segment};
/// use xwal::internals::io::AlignedBuf;
///
/// let dir = tempfile::tempdir_in(".")?;
/// let path = prepare_segment(dir.path(), 1, 64 << 10, true)?;
/// let file = open_for_read(&path)?;
/// // O_DIRECT: reads go through a block-aligned buffer.
/// let mut buf = AlignedBuf::new(4096);
/// // SAFETY: the buffer holds 4096 writable bytes.
/// let n = unsafe { libc::pread(file.as_raw_fd(), buf.as_mut_ptr().cast(), 4096, 0) };
/// assert_eq!(n, 4096);
/// assert!(buf.as_slice().iter().all(|&b| b == 0));
/// # Ok(()) }
/// ```
pub fn open_for_read(path: &Path) -> std::io::Result<File> {
    fs::open(path, OpenHow::READ.direct())
}

/// Bytes zeroed per write while preparing a segment: small enough that a
/// commit waiting behind one waits little.
const ZERO_FILL_CHUNK: usize = 256 << 10;

/// What a segment's zero-fill does next, asked before each chunk with the
/// bytes zeroed so far (see [`prepare_segment_with`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fill {
    /// Write the next chunk.
    Now,
    /// Ahead of need: ask again after this long.
    After(std::time::Duration),
    /// The writer needs the segment now: the rest stays fallocated.
    Stop,
}

/// Creates segment `segment` of `capacity` bytes, allocated and (optionally)
/// zero-filled, under a temporary name, then renames it into place and fsyncs
/// the directory. A crash leaves either a `*.preparing` leftover or a complete,
/// all-zero segment, never a half-prepared one under a segment name.
///
/// # Examples
///
/// ```
/// # fn main() -> xwal::Result<()> {
/// use xwal::internals::dir::{classify, prepare_segment, segment_path, FileKind};
///
/// let dir = tempfile::tempdir_in(".").unwrap();
/// let path = prepare_segment(dir.path(), 9, 64 << 10, true)?;
/// assert_eq!(path, segment_path(dir.path(), 9, false));
/// let name = path.file_name().unwrap().to_str().unwrap();
/// assert_eq!(classify(name), FileKind::Segment { segment: 9, checkpoint: false });
/// let bytes = std::fs::read(&path).unwrap();
/// assert_eq!(bytes.len(), 64 << 10);
/// assert!(bytes.iter().all(|&b| b == 0));
/// # Ok(()) }
/// ```
pub fn prepare_segment(
    dir: &Path,
    segment: u64,
    capacity: u64,
    zero_fill: bool,
) -> Result<PathBuf> {
    prepare_segment_with(dir, segment, capacity, zero_fill, None)
}

/// [`prepare_segment`], whose zero-fill `pace` paces: before each chunk it
/// says whether to write it now, later (the fill is ahead of need: each
/// chunk converts extents through the journal that the writer's syncs
/// commit, so a fill at full speed slows the commits beside it), or to stop
/// (the writer caught up and waits for this segment). The rest of the
/// segment then stays fallocated only, exactly as with `zero_fill` off (it
/// reads as zeros; a sync into it costs more, which a writer outrunning the
/// zero-fill amortizes over large commits).
pub(crate) fn prepare_segment_with(
    dir: &Path,
    segment: u64,
    capacity: u64,
    zero_fill: bool,
    pace: Option<&dyn Fn(u64) -> Fill>,
) -> Result<PathBuf> {
    let final_path = segment_path(dir, segment, false);
    let tmp = dir.join(format!("{PREFIX}{segment:020}{PREPARING_SUFFIX}"));
    let ctx = |what: &str| format!("{what} new segment {}", tmp.display());
    fs::unlink_if_present(&tmp).map_err(|e| Error::io(ctx("removing a stale"), e))?;
    let file =
        fs::open(&tmp, OpenHow::CREATE_NEW.direct()).map_err(|e| Error::io(ctx("creating"), e))?;
    let result = (|| {
        fs::fallocate(&tmp, &file, capacity).map_err(|e| Error::io(ctx("allocating"), e))?;
        if zero_fill {
            // Writing zeros converts the unwritten extents now, off the commit path;
            // a sync into an only-fallocated extent costs ~50% more (FACTS.md).
            let zeros = AlignedBuf::new(ZERO_FILL_CHUNK.min(capacity as usize));
            let mut off = 0u64;
            while off < capacity {
                match pace.map_or(Fill::Now, |p| p(off)) {
                    Fill::Now => {}
                    Fill::After(d) => {
                        std::thread::sleep(d);
                        continue;
                    }
                    Fill::Stop => {
                        tracing::debug!(
                            segment,
                            zeroed = off,
                            "zero-fill cut short: the writer needs the segment"
                        );
                        break;
                    }
                }
                let n = (zeros.capacity() as u64).min(capacity - off) as usize;
                fs::write_at(&tmp, &file, &zeros.as_slice()[..n], off)
                    .map_err(|e| Error::io(ctx("zero-filling"), e))?;
                off += n as u64;
            }
        }
        fs::sync_file(&tmp, &file, true).map_err(|e| Error::io(ctx("syncing"), e))?;
        fs::rename(&tmp, &final_path).map_err(|e| Error::io(ctx("renaming"), e))?;
        sync_dir(dir)
    })();
    if result.is_err() {
        let _ = fs::unlink(&tmp);
    }
    result.map(|_| final_path)
}

/// Renames a file and fsyncs the directory.
///
/// # Examples
///
/// ```
/// # fn main() -> xwal::Result<()> {
/// use xwal::internals::dir::rename_durable;
///
/// let dir = tempfile::tempdir().unwrap();
/// let (from, to) = (dir.path().join("a"), dir.path().join("b"));
/// std::fs::write(&from, b"contents").unwrap();
/// rename_durable(dir.path(), &from, &to)?;
/// assert!(!from.exists());
/// assert_eq!(std::fs::read(&to).unwrap(), b"contents");
/// # Ok(()) }
/// ```
pub fn rename_durable(dir: &Path, from: &Path, to: &Path) -> Result<()> {
    fs::rename(from, to).map_err(|e| {
        Error::io(
            format!("renaming {} to {}", from.display(), to.display()),
            e,
        )
    })?;
    sync_dir(dir)
}

/// Creates the directory (and parents) if missing, fsyncing the parent.
///
/// # Examples
///
/// ```
/// # fn main() -> xwal::Result<()> {
/// use xwal::internals::dir::create_dir;
/// use xwal::Error;
///
/// let root = tempfile::tempdir().unwrap();
/// let wal_dir = root.path().join("deep/wal");
/// create_dir(&wal_dir)?;
/// assert!(wal_dir.is_dir());
/// create_dir(&wal_dir)?; // already there: fine
/// let file = root.path().join("file");
/// std::fs::write(&file, b"").unwrap();
/// assert!(matches!(create_dir(&file), Err(Error::Config(_))));
/// # Ok(()) }
/// ```
pub fn create_dir(dir: &Path) -> Result<()> {
    if let Ok(meta) = fs::stat(dir) {
        if !meta.is_dir() {
            return Err(Error::Config(format!(
                "dir {} exists and is not a directory",
                dir.display()
            )));
        }
        return Ok(());
    }
    fs::create_dir_all(dir)
        .map_err(|e| Error::io(format!("creating WAL directory {}", dir.display()), e))?;
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        sync_dir(parent)?;
    }
    Ok(())
}

/// Random non-zero 32-bit salt from the kernel.
///
/// # Examples
///
/// ```
/// use xwal::internals::dir::random_salt;
///
/// let salts: Vec<u32> = (0..8).map(|_| random_salt()).collect();
/// assert!(salts.iter().all(|&s| s != 0));
/// assert!(salts.windows(2).any(|w| w[0] != w[1]));
/// ```
pub fn random_salt() -> u32 {
    loop {
        let mut b = [0u8; 4];
        // SAFETY: b is valid for 4 bytes.
        let n = unsafe { libc::getrandom(b.as_mut_ptr().cast(), 4, 0) };
        let v = if n == 4 {
            u32::from_le_bytes(b)
        } else {
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(1);
            (t as u32) ^ std::process::id().rotate_left(16)
        };
        if v != 0 {
            return v;
        }
    }
}

/// Reads the first block of a file (header) with a plain read.
///
/// # Examples
///
/// ```
/// # fn main() -> xwal::Result<()> {
/// use xwal::internals::dir::{prepare_segment, read_header_block};
/// use xwal::format::{HeaderDecode, SegmentHeader, BLOCK_SIZE};
///
/// let dir = tempfile::tempdir_in(".").unwrap();
/// let path = prepare_segment(dir.path(), 1, 64 << 10, true)?;
/// let block = read_header_block(&path)?;
/// assert_eq!(block.len(), BLOCK_SIZE);
/// // A prepared segment nobody has written to yet.
/// assert_eq!(SegmentHeader::decode(&block), HeaderDecode::Zero);
/// # Ok(()) }
/// ```
pub fn read_header_block(path: &Path) -> Result<Vec<u8>> {
    read_at(path, 0, BLOCK_SIZE)
}

/// Fails with [`Error::RestoreIncomplete`], [`Error::RepairIncomplete`] or
/// [`Error::ImportIncomplete`] if `dir` holds that work interrupted (the
/// import's own open passes `importing`).
pub(crate) fn check_no_unfinished_work(dir: &Path, importing: bool) -> Result<()> {
    let marker = dir.join(IMPORT_MARKER);
    if !importing && fs::exists(&marker) {
        return Err(Error::ImportIncomplete {
            dir: dir.to_path_buf(),
            marker,
        });
    }
    let marker = dir.join(RESTORE_MARKER);
    if fs::exists(&marker) {
        return Err(Error::RestoreIncomplete {
            dir: dir.to_path_buf(),
            marker,
        });
    }
    let marker = dir.join(REPAIR_MARKER);
    if fs::exists(&marker) {
        return Err(Error::RepairIncomplete {
            dir: dir.to_path_buf(),
            marker,
        });
    }
    Ok(())
}

/// Gives back the space of a sealed segment past its data: truncates it to
/// `len` (the block-aligned end of its last record) and syncs. Crash-safe at
/// every step: the file is either whole or shrunk, and recovery takes both
/// (a short file that ends cleanly after its last record is sealed). A file
/// already deleted (consumed, released) or already short is left alone.
pub(crate) fn shrink_segment(path: &Path, len: u64) -> Result<()> {
    debug_assert!(len.is_multiple_of(BLOCK_SIZE as u64) && len >= BLOCK_SIZE as u64);
    let f = match fs::open(path, OpenHow::WRITE) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(format!("opening {}", path.display()), e)),
    };
    let ctx = || format!("shrinking sealed segment {}", path.display());
    let size = f.metadata().map_err(|e| Error::io(ctx(), e))?.len();
    if size <= len {
        return Ok(());
    }
    fs::truncate(path, &f, len).map_err(|e| Error::io(ctx(), e))?;
    // The size is metadata: fsync, not fdatasync. The directory entry is unchanged.
    fs::sync_file(path, &f, false).map_err(|e| Error::io(ctx(), e))
}

/// Reads up to `len` bytes at `offset` through the page cache (for the last,
/// partial block of a file shorter than a block multiple, which O_DIRECT
/// cannot read). Returns fewer bytes at the end of the file.
pub(crate) fn read_at(path: &Path, offset: u64, len: usize) -> Result<Vec<u8>> {
    debug_assert!(len <= BLOCK_SIZE, "only for a partial block");
    let f = fs::open(path, OpenHow::READ)
        .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    let mut buf = vec![0u8; len];
    let n = fs::read_at(path, &f, &mut buf, offset)
        .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    buf.truncate(n);
    Ok(buf)
}

/// Removes a file if present; used for leftovers and consumed segments.
///
/// # Examples
///
/// ```
/// # fn main() -> xwal::Result<()> {
/// use xwal::internals::dir::remove_file;
///
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("leftover");
/// std::fs::write(&path, b"").unwrap();
/// remove_file(&path)?;
/// assert!(!path.exists());
/// remove_file(&path)?; // already gone: not an error
/// # Ok(()) }
/// ```
pub fn remove_file(path: &Path) -> Result<()> {
    fs::unlink_if_present(path).map_err(|e| Error::io(format!("removing {}", path.display()), e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::segment_file_name;
    use std::os::fd::AsRawFd;

    #[test]
    fn names_round_trip() {
        assert_eq!(
            classify(&segment_file_name(42, false)),
            FileKind::Segment {
                segment: 42,
                checkpoint: false
            }
        );
        assert_eq!(
            classify(&segment_file_name(42, true)),
            FileKind::Segment {
                segment: 42,
                checkpoint: true
            }
        );
        assert_eq!(
            classify("wal-00000000000000000042.seg.preparing"),
            FileKind::Preparing
        );
        assert_eq!(classify("wal_42"), FileKind::Foreign);
        assert_eq!(classify("wal-42.seg"), FileKind::Foreign);
        assert_eq!(classify("notes.txt"), FileKind::Foreign);
    }

    #[test]
    fn both_names_present_is_corruption() {
        let d = tempfile::tempdir().unwrap();
        prepare_segment(d.path(), 1, 64 << 10, false).unwrap();
        std::fs::copy(
            segment_path(d.path(), 1, false),
            segment_path(d.path(), 1, true),
        )
        .unwrap();
        match list(d.path()) {
            Err(Error::Corruption {
                segment: crate::SegmentId(1),
                ..
            }) => {}
            other => panic!("expected corruption, got {other:?}"),
        }
        // Once the plain name is gone, the checkpoint is the one segment 1.
        std::fs::remove_file(segment_path(d.path(), 1, false)).unwrap();
        let (segs, _) = list(d.path()).unwrap();
        assert_eq!(segs.len(), 1);
        assert!(segs[0].checkpoint);
    }

    /// Bytes of `path` in unwritten (fallocated, never written) extents, via FIEMAP.
    fn unwritten_bytes(path: &Path) -> u64 {
        const FS_IOC_FIEMAP: libc::c_ulong = 0xC020_660B;
        const FIEMAP_FLAG_SYNC: u32 = 1;
        const FIEMAP_EXTENT_UNWRITTEN: u32 = 0x800;
        const N: usize = 256;
        // struct fiemap (32 bytes) + N struct fiemap_extent (56 bytes each), as u64 words.
        let mut buf = vec![0u64; (32 + 56 * N) / 8];
        buf[1] = u64::MAX; // fm_length
        buf[2] = u64::from(FIEMAP_FLAG_SYNC); // fm_flags (fm_mapped_extents is the upper half)
        buf[3] = N as u64; // fm_extent_count
        let f = File::open(path).unwrap();
        // SAFETY: buf is a properly sized, 8-aligned fiemap buffer for N extents.
        let r = unsafe { libc::ioctl(f.as_raw_fd(), FS_IOC_FIEMAP, buf.as_mut_ptr()) };
        assert_eq!(r, 0, "FIEMAP: {}", std::io::Error::last_os_error());
        let mapped = (buf[2] >> 32) as usize;
        assert!(mapped < N, "too many extents to count");
        (0..mapped)
            .map(|i| {
                let e = &buf[4 + i * 7..4 + (i + 1) * 7];
                let flags = e[5] as u32;
                if flags & FIEMAP_EXTENT_UNWRITTEN != 0 {
                    e[2]
                } else {
                    0
                }
            })
            .sum()
    }

    #[test]
    fn zero_fill_stops_when_the_writer_needs_the_segment() {
        // The package root: a real filesystem (FIEMAP, O_DIRECT), not tmpfs.
        let d = tempfile::tempdir_in(".").unwrap();
        let cap = 8 << 20;
        let full = prepare_segment_with(d.path(), 1, cap, true, None).unwrap();
        assert_eq!(
            unwritten_bytes(&full),
            0,
            "a full zero-fill leaves no unwritten extent"
        );
        let stop = |_zeroed: u64| Fill::Stop;
        let cut = prepare_segment_with(d.path(), 2, cap, true, Some(&stop)).unwrap();
        assert_eq!(
            unwritten_bytes(&cut),
            cap,
            "a stopped zero-fill writes nothing"
        );
        // Paced: half now, the rest once asked again.
        let asked = std::sync::atomic::AtomicU64::new(0);
        let half = |zeroed: u64| {
            let n = asked.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            match zeroed < cap / 2 || n > 1000 {
                true => Fill::Now,
                false => Fill::After(std::time::Duration::from_micros(10)),
            }
        };
        let paced = prepare_segment_with(d.path(), 3, cap, true, Some(&half)).unwrap();
        assert_eq!(unwritten_bytes(&paced), 0, "a paced zero-fill completes");
        assert!(asked.load(std::sync::atomic::Ordering::Relaxed) > 1000);
        // Either way a whole, listed segment that reads as zeros.
        for p in [&full, &cut, &paced] {
            let bytes = std::fs::read(p).unwrap();
            assert_eq!(bytes.len() as u64, cap);
            assert!(bytes.iter().all(|&b| b == 0));
        }
        let (segs, leftovers) = list(d.path()).unwrap();
        assert_eq!((segs.len(), leftovers.len()), (3, 0));
    }
}
