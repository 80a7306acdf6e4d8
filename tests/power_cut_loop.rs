//! A real power cut for the plain pwrite engine and the directory fsyncs:
//! ext4 on a loop device with writeback disabled; the writer is frozen with
//! SIGSTOP at a random moment, the loop device drains, and a copy of the image
//! (what the disk holds: unsynced data and unsynced new files are missing) is
//! checked with e2fsck, mounted, and recovered. Every acknowledged entry must
//! be there. Needs root and loop devices (as on CI); elsewhere it skips.
//! XWAL_POWERCUT_CYCLES sets the cycles (default 3); scripts/power-cut.sh runs more.
use crate::common;
use common::child::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use xwal::IoEngine;

fn sh(cmd: &str, args: &[&str]) -> Result<String, String> {
    let o = Command::new(cmd)
        .args(args)
        .output()
        .map_err(|e| format!("{cmd}: {e}"))?;
    if !o.status.success() {
        return Err(format!(
            "{cmd} {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&o.stdout).trim().to_string())
}

/// Restores vm.dirty_writeback_centisecs and unmounts on drop.
struct Guard {
    old_writeback: Option<String>,
    mounts: Vec<PathBuf>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        for m in self.mounts.iter().rev() {
            let _ = Command::new("umount").arg(m).status();
        }
        if let Some(v) = &self.old_writeback {
            let _ = std::fs::write("/proc/sys/vm/dirty_writeback_centisecs", v);
        }
    }
}

fn wait_loop_idle(mnt: &Path) -> Result<(), String> {
    let src = sh("findmnt", &["-n", "-o", "SOURCE", mnt.to_str().unwrap()])?;
    let dev = src.trim_start_matches("/dev/");
    let inflight = format!("/sys/block/{dev}/inflight");
    let start = Instant::now();
    loop {
        let s = std::fs::read_to_string(&inflight).map_err(|e| format!("{inflight}: {e}"))?;
        if s.split_whitespace().all(|x| x == "0") {
            return Ok(());
        }
        if start.elapsed() > Duration::from_secs(10) {
            return Err(format!("loop device {dev} never drained: {s}"));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn child() {
    child_main();
}

#[test]
fn power_cut_on_loop_ext4() {
    if std::env::var_os(CHILD_DIR).is_some() {
        return;
    }
    let cycles: u64 = std::env::var("XWAL_POWERCUT_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let d = common::tempdir();
    let img = d.path().join("disk.img");
    let copy = d.path().join("copy.img");
    let mnt = d.path().join("mnt");
    let mnt2 = d.path().join("mnt2");
    std::fs::create_dir_all(&mnt).unwrap();
    std::fs::create_dir_all(&mnt2).unwrap();
    let mut guard = Guard {
        old_writeback: None,
        mounts: vec![],
    };
    let setup = (|| -> Result<(), String> {
        sh("truncate", &["-s", "96M", img.to_str().unwrap()])?;
        sh("mkfs.ext4", &["-q", img.to_str().unwrap()])?;
        sh(
            "mount",
            &["-o", "loop", img.to_str().unwrap(), mnt.to_str().unwrap()],
        )?;
        guard.mounts.push(mnt.clone());
        let old = std::fs::read_to_string("/proc/sys/vm/dirty_writeback_centisecs")
            .map_err(|e| e.to_string())?;
        std::fs::write("/proc/sys/vm/dirty_writeback_centisecs", "0").map_err(|e| e.to_string())?;
        guard.old_writeback = Some(old.trim().to_string());
        Ok(())
    })();
    if let Err(e) = setup {
        eprintln!(
            "SKIPPED: cannot set up a loop-mounted ext4 with writeback off (needs root): {e}"
        );
        return;
    }
    let wal_dir = mnt.join("wal");
    let mut all = vec![];
    let mut rng = 0x9e37_79b9_u64 ^ std::process::id() as u64;
    let mut total = 0;
    for cycle in 0..cycles {
        let mut c = spawn_child(
            &common::test_name(module_path!(), "child"),
            &wal_dir,
            "sync",
        );
        let reader = read_acks(c.stdout.take().unwrap());
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        std::thread::sleep(Duration::from_millis(150 + rng % 400));
        // Freeze the writer: from here nothing new reaches the disk.
        sh("kill", &["-STOP", &c.id().to_string()]).unwrap();
        wait_loop_idle(&mnt).unwrap();
        // What was acknowledged before the freeze; lines still in the pipe count too.
        std::fs::copy(&img, &copy).unwrap();
        c.kill().unwrap();
        c.wait().unwrap();
        let acks = reader.join().unwrap();
        total += acks.len();
        all.extend(acks);
        // e2fsck exits 1 when it fixed something: that is what a power cut leaves.
        let st = Command::new("e2fsck")
            .args(["-fy", copy.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(
            st.status.code().unwrap_or(8) <= 1,
            "e2fsck: {}",
            String::from_utf8_lossy(&st.stdout)
        );
        sh(
            "mount",
            &["-o", "loop", copy.to_str().unwrap(), mnt2.to_str().unwrap()],
        )
        .unwrap();
        let r = verify_acks(&mnt2.join("wal"), IoEngine::Sync, &all);
        sh("umount", &[mnt2.to_str().unwrap()]).unwrap();
        if let Err(e) = r {
            panic!(
                "cycle {cycle}: after the power cut: {e}\nreproduce with: scripts/power-cut.sh --cycles {cycles}"
            );
        }
    }
    eprintln!(
        "power-cut: {cycles} cycles, {total} acknowledged appends verified on the cut image, 0 lost"
    );
    assert!(total > 0);
}
