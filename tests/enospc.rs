//! A full disk, for real: a small loop-mounted ext4. Appends get a clear
//! `NoSpace` error, nothing unacknowledged is acknowledged, the WAL reopens
//! while the disk is still full, and works again once space is freed.
//! Needs root and loop devices (as on CI); elsewhere it says so and skips.
use crate::common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use xwal::*;

struct LoopMount {
    mnt: PathBuf,
    _dir: tempfile::TempDir,
}

impl LoopMount {
    fn new(size_mb: u32) -> Option<LoopMount> {
        let dir = tempdir();
        let img = dir.path().join("fs.img");
        let mnt = dir.path().join("mnt");
        std::fs::create_dir(&mnt).ok()?;
        let ok = |c: &mut Command| c.output().map(|o| o.status.success()).unwrap_or(false);
        if !ok(Command::new("truncate")
            .arg("-s")
            .arg(format!("{size_mb}M"))
            .arg(&img))
            || !ok(Command::new("mkfs.ext4").arg("-q").arg(&img))
            || !ok(Command::new("mount")
                .arg("-o")
                .arg("loop")
                .arg(&img)
                .arg(&mnt))
        {
            return None;
        }
        Some(LoopMount { mnt, _dir: dir })
    }
}

impl Drop for LoopMount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.mnt).status();
    }
}

fn fill(path: &Path, leave_bytes: u64) {
    // SAFETY: statvfs fills the struct.
    let c = std::ffi::CString::new(path.parent().unwrap().as_os_str().as_encoded_bytes()).unwrap();
    let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
    assert_eq!(unsafe { libc::statvfs(c.as_ptr(), &mut s) }, 0);
    let free = s.f_bavail * s.f_frsize;
    let f = std::fs::File::create(path).unwrap();
    f.set_len(0).unwrap();
    let want = free.saturating_sub(leave_bytes);
    // SAFETY: plain syscall.
    let r = unsafe { libc::fallocate(std::os::fd::AsRawFd::as_raw_fd(&f), 0, 0, want as i64) };
    assert_eq!(r, 0, "fallocate filler");
    f.sync_all().unwrap();
}

#[test]
fn full_disk_is_a_clear_error_and_recoverable() {
    for engine in ENGINES {
        let Some(m) = LoopMount::new(24) else {
            eprintln!("SKIPPED: cannot mount a loop ext4 image here (needs root)");
            return;
        };
        let filler = m.mnt.join("filler");
        fill(&filler, 5 << 20);
        let dir = m.mnt.join("wal");
        let cfg = Config::new(&dir)
            .segment_size(1 << 20)
            .max_entry_size(64 << 10)
            .io_engine(engine);
        let wal = open(&cfg);
        let mut acked = Vec::new();
        let err = loop {
            let lsn = acked.len() as u64 + 1;
            match wal.append(&payload(lsn, 700)) {
                Ok(l) => {
                    assert_eq!(l, lsn);
                    acked.push(l);
                }
                Err(e) => break e,
            }
            assert!(acked.len() < 20_000, "disk never filled");
        };
        assert!(matches!(err, Error::NoSpace { .. }), "{err}");
        assert!(err.to_string().contains("no space left"), "{err}");
        assert!(acked.len() > 1000, "only {} appended", acked.len());
        // A batch that needs the new segment is refused whole.
        let before = wal.last_index();
        assert!(matches!(
            wal.append_batch(vec![vec![1u8; 700]; 50]),
            Err(Error::NoSpace { .. })
        ));
        assert_eq!(
            wal.last_index(),
            before,
            "nothing of the refused batch was acknowledged"
        );
        wal.close().unwrap();
        drop(wal);

        // Reopen while the disk is still full: recovery needs no new space.
        let (wal, rep) = Wal::open(cfg.clone()).unwrap();
        assert_eq!(rep.last_lsn, *acked.last().unwrap());
        let got = replay_all(&wal, ReplayOptions::all());
        assert_eq!(lsns(&got), acked);
        for e in &got {
            assert_eq!(e.data, payload(e.lsn.0, 700));
        }
        // Free space: appends work again, LSNs continue.
        std::fs::remove_file(&filler).unwrap();
        let next = wal.append(b"after space freed").unwrap();
        assert_eq!(next, *acked.last().unwrap() + 1);
        for i in 0..3000u64 {
            wal.append(&payload(next.0 + 1 + i, 700)).unwrap();
        }
        wal.close().unwrap();
    }
}
