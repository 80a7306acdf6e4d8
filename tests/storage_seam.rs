//! Every file operation of a WAL's life goes through the storage seam
//! (`xwal::seams::FileSystem`, installed for a directory): a file system
//! that records each call sees the segment preparation (create, fallocate,
//! zero-fill, sync, rename, directory sync), the lock, the checkpoint rename,
//! the anchor index, purge's unlinks, recovery's listing and reads, and
//! repair's marker. Any call that bypassed the seam would be missing here.
#![cfg(feature = "test-seams")]

use parking_lot::Mutex;
use std::ffi::OsString;
use std::fs::{File, Metadata};
use std::io;
use std::path::Path;
use std::sync::Arc;
use xwal::seams::{FileSystem, LockHow, OpenHow, StdFs, install};
use xwal::{Config, IoEngine, Wal};

/// The kernel, with every call written down as "op name".
#[derive(Debug, Default)]
struct Recording {
    calls: Mutex<Vec<String>>,
}

impl Recording {
    fn note(&self, op: &str, path: &Path) {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        self.calls.lock().push(format!("{op} {name}"));
    }

    fn saw(&self, op: &str, name_part: &str) -> bool {
        let prefix = format!("{op} ");
        self.calls
            .lock()
            .iter()
            .any(|c| c.starts_with(&prefix) && c.contains(name_part))
    }
}

impl FileSystem for Recording {
    fn open(&self, path: &Path, how: OpenHow) -> io::Result<File> {
        let op = if how.create_new || how.create {
            "create"
        } else {
            "open"
        };
        self.note(op, path);
        StdFs.open(path, how)
    }
    fn metadata(&self, path: &Path) -> io::Result<Metadata> {
        self.note("metadata", path);
        StdFs.metadata(path)
    }
    fn stat(&self, path: &Path) -> io::Result<Metadata> {
        self.note("stat", path);
        StdFs.stat(path)
    }
    fn list(&self, dir: &Path) -> io::Result<Vec<OsString>> {
        self.note("list", dir);
        StdFs.list(dir)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.note("rename", to);
        StdFs.rename(from, to)
    }
    fn unlink(&self, path: &Path) -> io::Result<()> {
        self.note("unlink", path);
        StdFs.unlink(path)
    }
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        self.note("mkdir", dir);
        StdFs.create_dir_all(dir)
    }
    fn remove_dir_all(&self, dir: &Path) -> io::Result<()> {
        self.note("rmdir", dir);
        StdFs.remove_dir_all(dir)
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        self.note("sync_dir", dir);
        StdFs.sync_dir(dir)
    }
    fn sync_file(&self, path: &Path, file: &File, data_only: bool) -> io::Result<()> {
        self.note("sync_file", path);
        StdFs.sync_file(path, file, data_only)
    }
    fn fallocate(&self, path: &Path, file: &File, len: u64) -> io::Result<()> {
        self.note("fallocate", path);
        StdFs.fallocate(path, file, len)
    }
    fn truncate(&self, path: &Path, file: &File, len: u64) -> io::Result<()> {
        self.note("truncate", path);
        StdFs.truncate(path, file, len)
    }
    fn read_at(&self, path: &Path, file: &File, buf: &mut [u8], at: u64) -> io::Result<usize> {
        self.note("read", path);
        StdFs.read_at(path, file, buf, at)
    }
    fn write_at(&self, path: &Path, file: &File, buf: &[u8], at: u64) -> io::Result<()> {
        self.note("write", path);
        StdFs.write_at(path, file, buf, at)
    }
    fn lock(&self, path: &Path, file: &File, how: LockHow) -> io::Result<bool> {
        self.note("lock", path);
        StdFs.lock(path, file, how)
    }
}

fn config(dir: &Path) -> Config {
    Config::new(dir)
        .segment_size(64 << 10)
        .max_entry_size(4 << 10)
        .io_engine(IoEngine::Sync)
}

#[test]
fn a_wals_life_goes_through_the_seam() {
    let tmp = tempfile::tempdir_in(".").unwrap();
    let dir = tmp.path().join("wal");
    let fs = Arc::new(Recording::default());
    let _installed = install(tmp.path(), fs.clone());

    let (wal, _) = Wal::open(config(&dir)).unwrap();
    for i in 0..200u32 {
        wal.append(&[i as u8; 1000]).unwrap();
    }
    wal.create_checkpoint().unwrap();
    wal.rotate().unwrap();
    let first = wal.first_segment().unwrap();
    wal.purge_through(first).unwrap();
    wal.close().unwrap();
    let (wal, _) = Wal::open(config(&dir)).unwrap();
    wal.close().unwrap();

    for (op, name) in [
        ("mkdir", "wal"),
        ("lock", "LOCK"),
        ("create", ".preparing"),
        ("fallocate", ".preparing"),
        ("write", ".preparing"),
        ("sync_file", ".preparing"),
        ("rename", ".seg"),
        ("rename", "checkpoint"),
        ("sync_dir", "wal"),
        ("unlink", ".seg"),
        ("list", "wal"),
        ("metadata", ".seg"),
    ] {
        assert!(fs.saw(op, name), "no {op} of {name} went through the seam");
    }
}

#[test]
fn a_file_system_serves_only_below_its_root() {
    let tmp = tempfile::tempdir_in(".").unwrap();
    let inside = tmp.path().join("inside");
    let outside = tempfile::tempdir_in(".").unwrap();
    let fs = Arc::new(Recording::default());
    let _installed = install(&inside, fs.clone());
    let (wal, _) = Wal::open(config(outside.path())).unwrap();
    wal.close().unwrap();
    assert!(fs.calls.lock().is_empty(), "{:?}", fs.calls.lock());
}
