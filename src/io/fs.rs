//! The storage seam for everything but the writer's and replay's data path:
//! every create, open, metadata lookup, listing, rename, unlink, truncate,
//! fallocate, small read or write, sync of a file or of a directory and lock
//! that xwal does goes through a [`FileSystem`] (as raft-engine's
//! `FileSystem` and redb's `StorageBackend`). The data path has its own seam,
//! [`WriteEngine`](super::WriteEngine) and [`ReadEngine`](super::ReadEngine).
//!
//! Which file system serves a path: [`StdFs`] (the kernel) unless a test
//! installed another one for a directory above it (feature `test-seams`,
//! [`install`]), the way SQLite registers a VFS. Without the feature the
//! choice is a constant and the registry does not exist.
//!
//! `tests/module_layers.rs` fails on any `std::fs` or libc file call in
//! `src/` outside `src/io/`.

use std::ffi::OsString;
use std::fs::{File, Metadata, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How [`FileSystem::open`] opens a file. Every open is `O_CLOEXEC` and,
/// unless `follow`, `O_NOFOLLOW` (a symlink in the last component is refused);
/// a created file is mode 0600.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct OpenHow {
    /// Open for writing as well as reading.
    pub write: bool,
    /// Create the file if it is missing.
    pub create: bool,
    /// Create the file; fail if it exists.
    pub create_new: bool,
    /// Cut the file to zero bytes.
    pub truncate: bool,
    /// `O_DIRECT`: block-aligned I/O past the page cache.
    pub direct: bool,
    /// `O_DSYNC`: each write returns once durable.
    pub dsync: bool,
    /// `O_DIRECTORY`: the path must be a directory (for `fsync` and `flock`).
    pub directory: bool,
    /// Follow a symlink (only for files a user names: configuration, credentials).
    pub follow: bool,
}

impl OpenHow {
    /// Read only.
    pub const READ: OpenHow = OpenHow {
        write: false,
        create: false,
        create_new: false,
        truncate: false,
        direct: false,
        dsync: false,
        directory: false,
        follow: false,
    };
    /// Read and write an existing file.
    pub const WRITE: OpenHow = OpenHow {
        write: true,
        ..OpenHow::READ
    };
    /// A new file for reading and writing; fails if the name exists.
    pub const CREATE_NEW: OpenHow = OpenHow {
        write: true,
        create_new: true,
        ..OpenHow::READ
    };
    /// A directory, for `fsync` and `flock` (a symlink followed: the WAL
    /// directory a user names may be one).
    pub const DIRECTORY: OpenHow = OpenHow {
        directory: true,
        follow: true,
        ..OpenHow::READ
    };

    /// A file a user named, read only, a symlink followed.
    pub const READ_FOLLOWING: OpenHow = OpenHow {
        follow: true,
        ..OpenHow::READ
    };

    /// The same with `O_DIRECT`.
    pub const fn direct(self) -> OpenHow {
        OpenHow {
            direct: true,
            ..self
        }
    }

    /// The same with `O_DSYNC` if `on`.
    pub const fn dsync(self, on: bool) -> OpenHow {
        OpenHow { dsync: on, ..self }
    }
}

/// A lock request on an open file or directory, never blocking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockHow {
    /// `flock(LOCK_EX | LOCK_NB)`.
    Exclusive,
    /// `flock(LOCK_SH | LOCK_NB)`.
    Shared,
    /// `flock(LOCK_UN)`.
    Unlock,
}

/// Every file operation xwal does outside the data path. Implementations must
/// be the kernel's semantics or a model of them: a simulated disk records what
/// each call would leave after a power cut.
pub trait FileSystem: Send + Sync + std::fmt::Debug {
    /// Opens `path` as `how` says.
    fn open(&self, path: &Path, how: OpenHow) -> io::Result<File>;
    /// `lstat`: the metadata of `path` itself, a symlink not followed.
    fn metadata(&self, path: &Path) -> io::Result<Metadata>;
    /// `stat`: the metadata of what `path` names, symlinks followed (for a
    /// directory the user gave, which may be a link).
    fn stat(&self, path: &Path) -> io::Result<Metadata>;
    /// The names in directory `dir`, in no order.
    fn list(&self, dir: &Path) -> io::Result<Vec<OsString>>;
    /// `rename(2)`: atomic, replaces `to`; durable only once the directory is synced.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// `unlink(2)`; durable only once the directory is synced.
    fn unlink(&self, path: &Path) -> io::Result<()>;
    /// Creates `dir` and its missing parents.
    fn create_dir_all(&self, dir: &Path) -> io::Result<()>;
    /// Removes `dir` and everything below it.
    fn remove_dir_all(&self, dir: &Path) -> io::Result<()>;
    /// `fsync` of directory `dir`: its entries (creates, renames, unlinks) are durable.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
    /// `fdatasync` (`data_only`) or `fsync` of an open file.
    fn sync_file(&self, path: &Path, file: &File, data_only: bool) -> io::Result<()>;
    /// Reserves `len` bytes from offset 0 (`fallocate`, else `ftruncate` where
    /// the file system cannot).
    fn fallocate(&self, path: &Path, file: &File, len: u64) -> io::Result<()>;
    /// `ftruncate`: the file's size becomes `len`.
    fn truncate(&self, path: &Path, file: &File, len: u64) -> io::Result<()>;
    /// Reads at `offset` until `buf` is full or the file ends; the bytes read.
    fn read_at(&self, path: &Path, file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize>;
    /// Writes all of `buf` at `offset`.
    fn write_at(&self, path: &Path, file: &File, buf: &[u8], offset: u64) -> io::Result<()>;
    /// A non-blocking `flock`; `Ok(false)` when another holder refuses it.
    fn lock(&self, path: &Path, file: &File, how: LockHow) -> io::Result<bool>;
}

/// The kernel: `std::fs` and libc.
#[derive(Debug, Clone, Copy, Default)]
pub struct StdFs;

impl FileSystem for StdFs {
    fn open(&self, path: &Path, how: OpenHow) -> io::Result<File> {
        let mut flags = libc::O_CLOEXEC;
        if !how.follow {
            flags |= libc::O_NOFOLLOW;
        }
        if how.direct {
            flags |= libc::O_DIRECT;
        }
        if how.dsync {
            flags |= libc::O_DSYNC;
        }
        if how.directory {
            flags |= libc::O_DIRECTORY;
        }
        OpenOptions::new()
            .read(true)
            .write(how.write)
            .create(how.create)
            .create_new(how.create_new)
            .truncate(how.truncate)
            .mode(0o600)
            .custom_flags(flags)
            .open(path)
    }

    fn metadata(&self, path: &Path) -> io::Result<Metadata> {
        std::fs::symlink_metadata(path)
    }

    fn stat(&self, path: &Path) -> io::Result<Metadata> {
        std::fs::metadata(path)
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<OsString>> {
        std::fs::read_dir(dir)?
            .map(|e| e.map(|e| e.file_name()))
            .collect()
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::rename(from, to)
    }

    fn unlink(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_file(path)
    }

    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        std::fs::create_dir_all(dir)
    }

    fn remove_dir_all(&self, dir: &Path) -> io::Result<()> {
        std::fs::remove_dir_all(dir)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        self.open(dir, OpenHow::DIRECTORY)?.sync_all()
    }

    fn sync_file(&self, _path: &Path, file: &File, data_only: bool) -> io::Result<()> {
        match data_only {
            true => file.sync_data(),
            false => file.sync_all(),
        }
    }

    fn fallocate(&self, _path: &Path, file: &File, len: u64) -> io::Result<()> {
        let len_off = libc::off_t::try_from(len).map_err(io::Error::other)?;
        // SAFETY: a plain syscall on a descriptor `file` keeps open.
        if unsafe { libc::fallocate(file.as_raw_fd(), 0, 0, len_off) } == 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        // File systems without fallocate (some FUSE, old tmpfs): a sparse size.
        match e.raw_os_error() == Some(libc::EOPNOTSUPP) {
            true => file.set_len(len),
            false => Err(e),
        }
    }

    fn truncate(&self, _path: &Path, file: &File, len: u64) -> io::Result<()> {
        file.set_len(len)
    }

    fn read_at(&self, _path: &Path, file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let mut done = 0;
        while done < buf.len() {
            match file.read_at(&mut buf[done..], offset + done as u64) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(done)
    }

    fn write_at(&self, _path: &Path, file: &File, buf: &[u8], offset: u64) -> io::Result<()> {
        file.write_all_at(buf, offset)
    }

    fn lock(&self, _path: &Path, file: &File, how: LockHow) -> io::Result<bool> {
        let op = match how {
            LockHow::Exclusive => libc::LOCK_EX | libc::LOCK_NB,
            LockHow::Shared => libc::LOCK_SH | libc::LOCK_NB,
            LockHow::Unlock => libc::LOCK_UN,
        };
        // SAFETY: a plain syscall on a descriptor `file` keeps open.
        if unsafe { libc::flock(file.as_raw_fd(), op) } == 0 {
            return Ok(true);
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() == Some(libc::EWOULDBLOCK) {
            true => Ok(false),
            false => Err(e),
        }
    }
}

/// The file systems tests installed: (id, root, file system).
#[cfg(feature = "test-seams")]
type Registry = Vec<(u64, PathBuf, Arc<dyn FileSystem>)>;

#[cfg(feature = "test-seams")]
static INSTALLED: parking_lot::RwLock<Registry> = parking_lot::RwLock::new(Vec::new());

/// At most this many file systems installed at once: a leaked guard shows.
#[cfg(feature = "test-seams")]
const INSTALLED_LIMIT: usize = 1024;

/// Serves every path below `root` with `fs` until the guard drops (feature
/// `test-seams`). The deepest root above a path wins; of two equal ones, the
/// one installed last.
#[cfg(feature = "test-seams")]
pub fn install(root: &Path, fs: Arc<dyn FileSystem>) -> Installed {
    static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let id = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut all = INSTALLED.write();
    assert!(
        all.len() < INSTALLED_LIMIT,
        "file systems installed and never removed"
    );
    all.push((id, root.to_path_buf(), fs));
    Installed { id }
}

/// A [`WriteEngine`](super::WriteEngine) over one open file whose writes
/// and syncs go through the storage seam (positioned write, then a data
/// sync when asked): for the few block writes outside the writer (repair's
/// cut and header), so a simulated disk sees and can cut them.
pub(crate) struct SeamWriteEngine<'a> {
    path: &'a Path,
    file: &'a File,
    done: Option<(super::AlignedBuf, io::Result<()>)>,
}

impl<'a> SeamWriteEngine<'a> {
    pub(crate) fn new(path: &'a Path, file: &'a File) -> Self {
        SeamWriteEngine {
            path,
            file,
            done: None,
        }
    }
}

impl super::WriteEngine for SeamWriteEngine<'_> {
    fn name(&self) -> &'static str {
        "seam"
    }

    fn wait_written(&mut self) -> bool {
        self.done.as_ref().is_none_or(|(_, r)| r.is_ok())
    }

    fn start(&mut self, op: super::WriteOp) {
        op.assert_aligned();
        assert_eq!(op.fd, self.file.as_raw_fd(), "one file per engine");
        assert!(self.done.is_none(), "one op in flight at a time");
        let r = write_at(
            self.path,
            self.file,
            &op.buf.as_slice()[..op.len],
            op.offset,
        )
        .and_then(|()| match op.sync {
            true => sync_file(self.path, self.file, true),
            false => Ok(()),
        });
        self.done = Some((op.buf, r));
    }

    fn finish(&mut self) -> (super::AlignedBuf, io::Result<()>) {
        self.done.take().expect("finish without start")
    }

    fn sync_data(&mut self, fd: std::os::fd::RawFd) -> io::Result<()> {
        assert_eq!(fd, self.file.as_raw_fd(), "one file per engine");
        sync_file(self.path, self.file, true)
    }
}

/// Removes its file system when dropped (see [`install`]).
#[cfg(feature = "test-seams")]
#[derive(Debug)]
#[must_use = "the file system is removed when this drops"]
pub struct Installed {
    id: u64,
}

#[cfg(feature = "test-seams")]
impl Drop for Installed {
    fn drop(&mut self) {
        INSTALLED.write().retain(|(id, _, _)| *id != self.id);
    }
}

/// The file system that serves `path`.
#[cfg_attr(not(feature = "test-seams"), allow(unused_variables))]
pub fn resolve(path: &Path) -> Arc<dyn FileSystem> {
    #[cfg(feature = "test-seams")]
    {
        let all = INSTALLED.read();
        let best = all
            .iter()
            .filter(|(_, root, _)| path.starts_with(root))
            .max_by_key(|(id, root, _)| (root.components().count(), *id));
        if let Some((_, _, fs)) = best {
            return Arc::clone(fs);
        }
    }
    std_fs()
}

fn std_fs() -> Arc<dyn FileSystem> {
    static STD: std::sync::LazyLock<Arc<dyn FileSystem>> =
        std::sync::LazyLock::new(|| Arc::new(StdFs));
    Arc::clone(&STD)
}

/// Opens `path` (see [`FileSystem::open`]).
pub fn open(path: &Path, how: OpenHow) -> io::Result<File> {
    resolve(path).open(path, how)
}

/// `lstat` of `path`.
pub fn metadata(path: &Path) -> io::Result<Metadata> {
    resolve(path).metadata(path)
}

/// `stat` of `path`, symlinks followed.
pub fn stat(path: &Path) -> io::Result<Metadata> {
    resolve(path).stat(path)
}

/// Whether `path` is a directory, a symlink followed (a directory the user named).
pub fn is_dir(path: &Path) -> bool {
    stat(path).is_ok_and(|m| m.is_dir())
}

/// Whether `path` names anything (a dangling symlink counts).
pub fn exists(path: &Path) -> bool {
    metadata(path).is_ok()
}

/// The paths in directory `dir`, in no order.
pub fn list(dir: &Path) -> io::Result<Vec<PathBuf>> {
    Ok(resolve(dir)
        .list(dir)?
        .into_iter()
        .map(|n| dir.join(n))
        .collect())
}

/// `rename(2)` (not yet durable: see [`replace_durably`] and [`sync_dir`]).
pub fn rename(from: &Path, to: &Path) -> io::Result<()> {
    resolve(from).rename(from, to)
}

/// `unlink(2)` (not yet durable: sync the directory).
pub fn unlink(path: &Path) -> io::Result<()> {
    resolve(path).unlink(path)
}

/// `unlink(2)` where a missing file is success.
pub fn unlink_if_present(path: &Path) -> io::Result<()> {
    match unlink(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// Creates `dir` and its missing parents.
pub fn create_dir_all(dir: &Path) -> io::Result<()> {
    resolve(dir).create_dir_all(dir)
}

/// Removes `dir` and everything below it.
pub fn remove_dir_all(dir: &Path) -> io::Result<()> {
    resolve(dir).remove_dir_all(dir)
}

/// `fsync` of directory `dir`.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    resolve(dir).sync_dir(dir)
}

/// `fdatasync` (`data_only`) or `fsync` of `file`, opened from `path`.
pub fn sync_file(path: &Path, file: &File, data_only: bool) -> io::Result<()> {
    resolve(path).sync_file(path, file, data_only)
}

/// Reserves `len` bytes of `file`, opened from `path`.
pub fn fallocate(path: &Path, file: &File, len: u64) -> io::Result<()> {
    resolve(path).fallocate(path, file, len)
}

/// Sets the size of `file`, opened from `path`, to `len`.
pub fn truncate(path: &Path, file: &File, len: u64) -> io::Result<()> {
    resolve(path).truncate(path, file, len)
}

/// Reads at `offset` until `buf` is full or the file ends; the bytes read.
pub fn read_at(path: &Path, file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    resolve(path).read_at(path, file, buf, offset)
}

/// Writes all of `buf` at `offset` of `file`, opened from `path`.
pub fn write_at(path: &Path, file: &File, buf: &[u8], offset: u64) -> io::Result<()> {
    resolve(path).write_at(path, file, buf, offset)
}

/// A non-blocking `flock`; `Ok(false)` when another holder refuses it.
pub fn lock(path: &Path, file: &File, how: LockHow) -> io::Result<bool> {
    resolve(path).lock(path, file, how)
}

/// The whole of a file, at most `limit_bytes`; a longer file is an error
/// of kind `InvalidData`, read no further than one byte past the limit.
pub fn read_small(path: &Path, limit_bytes: usize) -> io::Result<Vec<u8>> {
    read_small_as(path, OpenHow::READ, limit_bytes)
}

/// [`read_small`] of a file a user named (a symlink followed), as UTF-8.
pub fn read_user_text(path: &Path, limit_bytes: usize) -> io::Result<String> {
    let bytes = read_small_as(path, OpenHow::READ_FOLLOWING, limit_bytes)?;
    String::from_utf8(bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

fn read_small_as(path: &Path, how: OpenHow, limit_bytes: usize) -> io::Result<Vec<u8>> {
    let file = open(path, how)?;
    // Sized by the file, not the limit (an anchor index's limit is far above
    // its usual size, and replay reads one per segment); grown if the file
    // grew meanwhile, up to one byte past the limit.
    let len_now = usize::try_from(file.metadata()?.len()).unwrap_or(usize::MAX);
    let mut buf = vec![0u8; len_now.min(limit_bytes) + 1];
    let mut n = 0;
    loop {
        n += read_at(path, &file, &mut buf[n..], n as u64)?;
        if n < buf.len() || buf.len() > limit_bytes {
            break;
        }
        buf.resize((buf.len() * 2).min(limit_bytes + 1), 0);
    }
    if n > limit_bytes {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} is longer than {limit_bytes} bytes", path.display()),
        ));
    }
    buf.truncate(n);
    Ok(buf)
}

/// Writes a new file `path` with `bytes` (created, or cut and rewritten), no
/// sync: for hints that may be lost.
pub fn write_small(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let how = OpenHow {
        create: true,
        truncate: true,
        ..OpenHow::WRITE
    };
    let file = open(path, how)?;
    write_at(path, &file, bytes, 0)
}

/// Replaces `path` atomically and durably, the one way xwal does it: writes
/// `path.tmp`, syncs it, renames it over `path`, syncs the directory. A
/// crash leaves the old file or the new one, never a mix, and once this
/// returns the new one survives a power cut.
pub fn replace_durably(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(".tmp");
    replace_durably_via(&path.with_file_name(tmp_name), path, bytes)
}

/// [`replace_durably`] through the temporary name `tmp` (in the same directory).
pub fn replace_durably_via(tmp: &Path, path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = parent_of(path);
    debug_assert_eq!(parent_of(tmp), dir, "a rename within one directory");
    unlink_if_present(tmp)?;
    let file = open(tmp, OpenHow::CREATE_NEW)?;
    let written = write_at(tmp, &file, bytes, 0).and_then(|()| sync_file(tmp, &file, false));
    drop(file);
    if let Err(e) = written.and_then(|()| rename(tmp, path)) {
        let _ = unlink(tmp);
        return Err(e);
    }
    sync_dir(dir)
}

/// An unnamed file in `dir` holding `bytes` (gone when the last handle
/// closes; nothing to clean up after a crash).
#[cfg(feature = "s3")]
pub fn unnamed_file_with(dir: &Path, bytes: &[u8]) -> io::Result<File> {
    let file = tempfile::tempfile_in(dir)?;
    file.write_all_at(bytes, 0)?;
    Ok(file)
}

/// Tells the kernel the pages of `file` are not needed again (advice only:
/// a sealed segment read once for its upload).
pub fn drop_cached_pages(file: &File) {
    // SAFETY: a plain syscall on a descriptor `file` keeps open; advice only.
    unsafe {
        libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED);
    }
}

/// A sequential reader of a file through the seam (for `BufReader`).
#[derive(Debug)]
pub struct SeamReader {
    path: PathBuf,
    file: File,
    at_bytes: u64,
}

impl SeamReader {
    /// Opens `path` for reading from its start.
    pub fn open(path: &Path) -> io::Result<SeamReader> {
        let file = open(path, OpenHow::READ)?;
        Ok(SeamReader {
            path: path.to_path_buf(),
            file,
            at_bytes: 0,
        })
    }

    /// The file's size now.
    pub fn len_bytes(&self) -> io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }
}

impl io::Read for SeamReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = read_at(&self.path, &self.file, buf, self.at_bytes)?;
        self.at_bytes += n as u64;
        Ok(n)
    }
}

/// Bytes [`copy_new`] moves per read and write.
const COPY_CHUNK_BYTES: usize = 1 << 20;

/// Copies `from` into a new file `to` (which must not exist) and syncs it;
/// the bytes copied. Not yet durable as a name: sync the directory.
pub fn copy_new(from: &Path, to: &Path) -> io::Result<u64> {
    let src = open(from, OpenHow::READ)?;
    let dst = open(to, OpenHow::CREATE_NEW)?;
    let mut buf = vec![0u8; COPY_CHUNK_BYTES];
    let mut at = 0u64;
    loop {
        let n = read_at(from, &src, &mut buf, at)?;
        write_at(to, &dst, &buf[..n], at)?;
        at += n as u64;
        if n < buf.len() {
            break;
        }
    }
    sync_file(to, &dst, false)?;
    Ok(at)
}

/// The directory holding `path` (`.` for a bare name).
pub fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_durably_leaves_only_the_new_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state");
        replace_durably(&path, b"one").unwrap();
        replace_durably(&path, b"two").unwrap();
        assert_eq!(read_small(&path, 16).unwrap(), b"two");
        assert_eq!(list(dir.path()).unwrap(), vec![path]);
    }

    #[test]
    fn read_small_refuses_a_file_past_its_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big");
        write_small(&path, &[7u8; 100]).unwrap();
        assert_eq!(read_small(&path, 100).unwrap().len(), 100);
        let e = read_small(&path, 99).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn open_never_follows_a_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        write_small(&target, b"x").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(open(&link, OpenHow::READ).is_err());
        assert!(metadata(&link).unwrap().file_type().is_symlink());
    }
}
