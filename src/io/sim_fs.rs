//! The simulated disk's file-system side (feature `test-seams`): metadata
//! that a power cut can lose.
//!
//! [`SimDisk`] installs a [`SimFs`] for the WAL directory (`Wal::open_with`).
//! It passes every call to the kernel and journals what a cut could undo:
//! - a create, rename or unlink in the directory that no later `fsync` of the
//!   directory covers: at the cut each is kept or lost, independently, and the
//!   directory becomes the one its last sync left with the kept operations
//!   replayed on it in their order (an operation whose source is gone by then
//!   does nothing). So a rename may be lost while a later unlink is kept;
//!   ext4 and XFS journal metadata in order and would never lose an earlier
//!   operation while keeping a later one, so this is stricter than they are;
//! - bytes written through the seam (zero-fill, hints, temporary files):
//!   the same sector model as the write engine's, until a sync of the file.
//!
//! Reads pass through even after the cut (their results no longer matter to
//! anything durable). Files in subdirectories are passed through unmodelled.

use super::fs::{FileSystem, LockHow, OpenHow, StdFs};
use super::sim::SimDisk;
use std::collections::{BTreeMap, HashMap};
use std::ffi::OsString;
use std::fs::{File, Metadata};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// A file's identity while the journal lives: a number given when xwal
/// creates it (or first sees it). Not the inode: a file system reuses the
/// inode of an unlinked file for the next one created.
pub(super) type FileId = u64;

/// (device, inode).
type Inode = (u64, u64);

/// One change to the directory's names.
#[derive(Debug, Clone)]
pub(super) enum MetaOp {
    Create {
        name: OsString,
        id: FileId,
    },
    Rename {
        from: OsString,
        to: OsString,
        id: FileId,
    },
    Unlink {
        name: OsString,
        id: FileId,
    },
}

/// The directory's names since its last sync, and what a cut needs to undo them.
#[derive(Debug, Default)]
pub(super) struct MetaJournal {
    /// The directory modelled; `None` until a WAL opens on the disk.
    pub(super) root: Option<PathBuf>,
    /// Its names at its last sync.
    synced: BTreeMap<OsString, FileId>,
    /// Changes since, in order.
    ops: Vec<MetaOp>,
    /// Contents of files unlinked or replaced since (a lost unlink brings them back).
    saved: HashMap<FileId, Vec<u8>>,
    /// A negative control: a sync of the directory right after a rename does nothing.
    pub(super) skip_dir_sync_after_rename: bool,
    /// The identity of each inode now linked (or last seen).
    ids: HashMap<Inode, FileId>,
    next_id: FileId,
}

/// At most this many bytes of one file are kept for a lost unlink to restore.
const SAVED_FILE_LIMIT_BYTES: u64 = 64 << 20;

fn inode_of(m: &Metadata) -> Inode {
    (m.dev(), m.ino())
}

/// The regular files of `dir`, by name.
fn names_of(dir: &Path) -> io::Result<BTreeMap<OsString, Inode>> {
    let mut out = BTreeMap::new();
    for name in StdFs.list(dir)? {
        if let Ok(m) = StdFs.metadata(&dir.join(&name))
            && m.is_file()
        {
            out.insert(name, inode_of(&m));
        }
    }
    Ok(out)
}

fn read_whole(path: &Path) -> io::Result<Vec<u8>> {
    let file = StdFs.open(path, OpenHow::READ)?;
    let len = file.metadata()?.len();
    if len > SAVED_FILE_LIMIT_BYTES {
        return Err(io::Error::other("sim: file too large to keep"));
    }
    let mut buf = vec![0u8; len as usize];
    let n = StdFs.read_at(path, &file, &mut buf, 0)?;
    buf.truncate(n);
    Ok(buf)
}

impl MetaJournal {
    /// Starts modelling `root`: what is there now counts as synced.
    pub(super) fn begin(&mut self, root: &Path) -> io::Result<()> {
        if self.root.is_none() {
            let names = match names_of(root) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => BTreeMap::new(),
                other => other?,
            };
            self.synced = self.identify(names);
            self.root = Some(root.to_path_buf());
        }
        Ok(())
    }

    /// The identity of the file at `inode` (a new one if unseen).
    fn id_of(&mut self, inode: Inode) -> FileId {
        let next = &mut self.next_id;
        *self.ids.entry(inode).or_insert_with(|| {
            *next += 1;
            *next
        })
    }

    /// A new identity for a file just created at `inode`.
    fn new_id(&mut self, inode: Inode) -> FileId {
        self.next_id += 1;
        self.ids.insert(inode, self.next_id);
        self.next_id
    }

    fn identify(&mut self, names: BTreeMap<OsString, Inode>) -> BTreeMap<OsString, FileId> {
        names
            .into_iter()
            .map(|(n, inode)| (n, self.id_of(inode)))
            .collect()
    }

    /// The name of `path` if it is directly in the modelled directory.
    fn name_in_root(&self, path: &Path) -> Option<OsString> {
        let root = self.root.as_ref()?;
        (path.parent()? == root).then(|| path.file_name().map(|n| n.to_os_string()))?
    }

    fn save(&mut self, path: &Path, id: FileId) {
        if let std::collections::hash_map::Entry::Vacant(slot) = self.saved.entry(id)
            && let Ok(bytes) = read_whole(path)
        {
            slot.insert(bytes);
        }
    }

    fn synced_now(&mut self) -> io::Result<()> {
        if let Some(root) = self.root.clone() {
            let names = names_of(&root)?;
            self.synced = self.identify(names);
            self.ops.clear();
            self.saved.clear();
        }
        Ok(())
    }

    /// The names a cut leaves: each change kept or lost by `rng`. Returns
    /// (kept, lost).
    fn names_after_cut(
        &self,
        rng: &mut dyn FnMut() -> u64,
    ) -> (BTreeMap<OsString, FileId>, u64, u64) {
        let mut names = self.synced.clone();
        let (mut kept, mut lost) = (0, 0);
        for op in &self.ops {
            if rng().is_multiple_of(2) {
                lost += 1;
                continue;
            }
            kept += 1;
            match op {
                MetaOp::Create { name, id } => {
                    names.insert(name.clone(), *id);
                }
                MetaOp::Rename { from, to, id } => {
                    if names.get(from) == Some(id) {
                        names.remove(from);
                        names.insert(to.clone(), *id);
                    }
                }
                MetaOp::Unlink { name, id } => {
                    if names.get(name) == Some(id) {
                        names.remove(name);
                    }
                }
            }
        }
        (names, kept, lost)
    }

    /// Rewrites the directory's names as a cut leaves them; (kept, lost).
    pub(super) fn cut(&mut self, rng: &mut dyn FnMut() -> u64) -> io::Result<(u64, u64)> {
        let Some(root) = self.root.clone() else {
            return Ok((0, 0));
        };
        let names = names_of(&root)?;
        let now = self.identify(names);
        let (after, kept, lost) = self.names_after_cut(rng);
        let path_of: HashMap<FileId, PathBuf> =
            now.iter().map(|(n, id)| (*id, root.join(n))).collect();
        let mut contents: HashMap<FileId, Vec<u8>> = HashMap::new();
        for id in after.values() {
            let bytes = match path_of.get(id) {
                Some(p) => read_whole(p).ok(),
                None => self.saved.get(id).cloned(),
            };
            if let Some(b) = bytes {
                contents.insert(*id, b);
            }
        }
        for (name, id) in &now {
            if after.get(name) != Some(id) {
                StdFs.unlink(&root.join(name))?;
            }
        }
        for (name, id) in &after {
            if now.get(name) == Some(id) {
                continue;
            }
            let Some(bytes) = contents.get(id) else {
                continue;
            };
            let path = root.join(name);
            let how = OpenHow {
                create: true,
                truncate: true,
                ..OpenHow::WRITE
            };
            let f = StdFs.open(&path, how)?;
            StdFs.write_at(&path, &f, bytes, 0)?;
            StdFs.sync_file(&path, &f, false)?;
        }
        StdFs.sync_dir(&root)?;
        self.ops.clear();
        self.saved.clear();
        self.root = None;
        Ok((kept, lost))
    }
}

/// The simulated disk as a [`FileSystem`]: see the module documentation.
#[derive(Debug, Clone)]
pub struct SimFs(pub(super) SimDisk);

impl SimFs {
    /// Counts a changing operation: `Err` once the power is gone; `Ok(true)`
    /// if the power fails at this one (it still reaches the volatile cache).
    fn tick(&self, what: &str, path: &Path) -> io::Result<bool> {
        let (powered, cut_here) = self.0.tick_named(what, path);
        match (powered, cut_here) {
            (_, true) => Ok(true),
            (true, false) => Ok(false),
            (false, false) => Err(super::sim::power_failure()),
        }
    }

    /// The result of an operation the power failed at (`cut`), else `r`.
    fn after<T>(cut: bool, r: io::Result<T>) -> io::Result<T> {
        match cut {
            true => r.and(Err(super::sim::power_failure())),
            false => r,
        }
    }
}

impl FileSystem for SimFs {
    fn open(&self, path: &Path, how: OpenHow) -> io::Result<File> {
        if !(how.create || how.create_new || how.truncate) {
            return StdFs.open(path, how);
        }
        let cut = self.tick("create", path)?;
        let existed = StdFs.metadata(path).is_ok();
        let f = StdFs.open(path, how)?;
        let mut s = self.0.state();
        if let (Some(name), false) = (s.meta.name_in_root(path), existed) {
            let inode = inode_of(&f.metadata()?);
            // An unlinked file's unsynced writes are not this new file's.
            s.journal.remove(&inode);
            let id = s.meta.new_id(inode);
            s.meta.ops.push(MetaOp::Create { name, id });
        }
        drop(s);
        Self::after(cut, Ok(f))
    }

    fn metadata(&self, path: &Path) -> io::Result<Metadata> {
        StdFs.metadata(path)
    }

    fn stat(&self, path: &Path) -> io::Result<Metadata> {
        StdFs.stat(path)
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<OsString>> {
        StdFs.list(dir)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let cut = self.tick("rename", to)?;
        let inode = inode_of(&StdFs.metadata(from)?);
        let mut s = self.0.state();
        let id = s.meta.id_of(inode);
        let names = (s.meta.name_in_root(from), s.meta.name_in_root(to));
        if let (Some(_), Some(_)) = &names
            && let Ok(m) = StdFs.metadata(to)
        {
            let displaced = s.meta.id_of(inode_of(&m));
            s.meta.save(to, displaced);
        }
        StdFs.rename(from, to)?;
        if let (Some(from), Some(to)) = names {
            s.meta.ops.push(MetaOp::Rename { from, to, id });
        }
        drop(s);
        Self::after(cut, Ok(()))
    }

    fn unlink(&self, path: &Path) -> io::Result<()> {
        let cut = self.tick("unlink", path)?;
        let mut s = self.0.state();
        let name = s.meta.name_in_root(path);
        let inode = StdFs.metadata(path).map(|m| inode_of(&m));
        if let (Some(name), Ok(inode)) = (name, inode) {
            let id = s.meta.id_of(inode);
            s.meta.save(path, id);
            StdFs.unlink(path)?;
            // Its inode may come back for another file: its writes go with it
            // (a lost unlink brings back the contents saved above).
            s.journal.remove(&inode);
            s.meta.ops.push(MetaOp::Unlink { name, id });
        } else {
            StdFs.unlink(path)?;
        }
        drop(s);
        Self::after(cut, Ok(()))
    }

    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        let cut = self.tick("mkdir", dir)?;
        Self::after(cut, StdFs.create_dir_all(dir))
    }

    fn remove_dir_all(&self, dir: &Path) -> io::Result<()> {
        let cut = self.tick("rmdir", dir)?;
        Self::after(cut, StdFs.remove_dir_all(dir))
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        if self.tick("sync_dir", dir)? {
            return Err(super::sim::power_failure());
        }
        StdFs.sync_dir(dir)?;
        let mut s = self.0.state();
        if s.meta.root.as_deref() == Some(dir) {
            let after_rename = matches!(s.meta.ops.last(), Some(MetaOp::Rename { .. }));
            if !(s.meta.skip_dir_sync_after_rename && after_rename) {
                s.meta.synced_now()?;
            }
        }
        Ok(())
    }

    fn sync_file(&self, path: &Path, file: &File, data_only: bool) -> io::Result<()> {
        if self.tick("sync_file", path)? {
            return Err(super::sim::power_failure());
        }
        StdFs.sync_file(path, file, data_only)?;
        let inode = inode_of(&file.metadata()?);
        self.0.state().journal.remove(&inode);
        Ok(())
    }

    fn fallocate(&self, path: &Path, file: &File, len: u64) -> io::Result<()> {
        let cut = self.tick("fallocate", path)?;
        Self::after(cut, StdFs.fallocate(path, file, len))
    }

    fn truncate(&self, path: &Path, file: &File, len: u64) -> io::Result<()> {
        let cut = self.tick("truncate", path)?;
        let r = StdFs.truncate(path, file, len);
        if r.is_ok() {
            let inode = inode_of(&file.metadata()?);
            self.0.state().shrunk.insert(inode);
        }
        Self::after(cut, r)
    }

    fn read_at(&self, path: &Path, file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        StdFs.read_at(path, file, buf, offset)
    }

    fn write_at(&self, path: &Path, file: &File, buf: &[u8], offset: u64) -> io::Result<()> {
        let cut = self.tick("write", path)?;
        // Aligned: the file may be open O_DIRECT (a repair's block writes).
        let block = crate::format::BLOCK_SIZE;
        let mut aligned = super::AlignedBuf::new(buf.len().div_ceil(block).max(1) * block);
        let old = &mut aligned.as_mut_slice()[..buf.len()];
        let n = StdFs.read_at(path, file, old, offset)?;
        old[n..].fill(0);
        let old = old.to_vec();
        StdFs.write_at(path, file, buf, offset)?;
        // Whole sectors only: the journal's unit (a partial one is padded
        // with what the file holds around it).
        let inode = inode_of(&file.metadata()?);
        self.0.journal_unsynced(inode, offset, old, buf.to_vec());
        Self::after(cut, Ok(()))
    }

    fn lock(&self, path: &Path, file: &File, how: LockHow) -> io::Result<bool> {
        StdFs.lock(path, file, how)
    }
}
