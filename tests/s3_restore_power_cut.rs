//! S3 archive tier: a power cut anywhere inside a restore. The simulated
//! disk serves the directory being restored (`SimDisk::serve`) and every
//! operation count is tried as the cut point until the restore completes
//! without reaching it. After each cut (unsynced creates, renames, unlinks
//! and bytes kept or lost): a read-only view opens and gives the archived
//! log whole, a prefix of it with an error at its end, or nothing; an open
//! refuses the interrupted restore or gives the log whole or empty; the
//! restore run again gives exactly the archived log.
#![cfg(all(feature = "s3", feature = "test-seams"))]

use crate::common;
use crate::s3_support;

use common::small;
use std::path::Path;
use std::time::Duration;
use xwal::seams::SimDisk;
use xwal::{Error, IoEngine, ReplayOptions, Wal, archive};

/// More cut points than a restore of this log has.
const CUT_POINT_LIMIT: u64 = 2_000;

/// Every entry a read-only view gives, and whether its replay ended clean.
fn view_of(dir: &Path) -> (Vec<(u64, Vec<u8>)>, bool) {
    let (view, _) = Wal::open_read_only(small(dir, IoEngine::Sync)).unwrap();
    let mut r = view.replay(ReplayOptions::all()).unwrap();
    // Up to the first error (a view of interrupted work may end in one).
    let got = r
        .by_ref()
        .map_while(Result::ok)
        .map(|e| (e.lsn.0, e.data))
        .collect();
    (got, r.finish().is_ok())
}

#[test]
fn a_restore_cut_anywhere_is_completed_by_running_it_again() {
    let Some(env) = s3_support::env() else { return };
    let s3 = env.config("restore-power-cut");
    let source = common::tempdir();
    let (wal, _) = Wal::open(small(source.path(), IoEngine::Uring).s3(s3.clone())).unwrap();
    common::append_n(&wal, 1..=600, 1000);
    wal.create_checkpoint().unwrap();
    wal.wait_archived(Duration::from_secs(60)).unwrap();
    wal.close().unwrap();

    let root = common::tempdir();
    let reference = root.path().join("reference");
    let report = archive::restore(&s3, &reference).unwrap();
    assert!(report.restored.len() >= 3, "{report:?}");
    let (want, clean) = view_of(&reference);
    assert!(clean && want.len() >= 500, "{} entries", want.len());

    for k in 0..CUT_POINT_LIMIT {
        let into = root.path().join(format!("cut-{k}"));
        std::fs::create_dir(&into).unwrap();
        let sim = SimDisk::new();
        sim.set_phase("S3 restore");
        let served = sim.serve(&into).unwrap();
        sim.cut_after(k);
        let restored = archive::restore(&s3, &into);
        drop(served);
        if !sim.is_dead() {
            restored.unwrap();
            assert_eq!(view_of(&into), (want.clone(), true));
            assert!(k > 10, "only {k} cut points: is the restore served?");
            println!("restore: {k} power cuts, each recovered");
            return;
        }
        sim.crash_image(&into, &mut common::xorshift(k)).unwrap();

        // A refused directory can still be read, and never passes for whole.
        let (seen, clean) = view_of(&into);
        assert_eq!(seen[..], want[..seen.len()], "cut {k}: the view's prefix");
        assert!(
            !clean || seen.is_empty() || seen == want,
            "cut {k}: a view of {} entries ended clean",
            seen.len()
        );
        let probe = root.path().join(format!("probe-{k}"));
        let copied = std::process::Command::new("cp")
            .arg("-a")
            .arg(&into)
            .arg(&probe)
            .status()
            .unwrap();
        assert!(copied.success());
        match Wal::open(small(&probe, IoEngine::Sync)) {
            Ok((wal, _)) => {
                let mut r = wal.replay(ReplayOptions::all()).unwrap();
                let n = r.by_ref().count();
                r.finish().unwrap();
                assert!(n == 0 || n == want.len(), "cut {k}: opened {n} entries");
            }
            Err(Error::RestoreIncomplete { .. }) => {}
            Err(e) => panic!("cut {k}: open after the cut: {e}"),
        }
        if let Err(e) = archive::restore(&s3, &into) {
            let ls = std::process::Command::new("ls")
                .arg("-la")
                .arg(&into)
                .output()
                .unwrap();
            let rl = std::process::Command::new("ls")
                .arg("-la")
                .arg(&reference)
                .output()
                .unwrap();
            panic!(
                "cut {k}: restore again: {e}\n{}\nreference:\n{}",
                String::from_utf8_lossy(&ls.stdout),
                String::from_utf8_lossy(&rl.stdout)
            );
        }
        assert_eq!(view_of(&into), (want.clone(), true), "cut {k}");
        std::fs::remove_dir_all(&into).unwrap();
        std::fs::remove_dir_all(&probe).unwrap();
    }
    panic!("the restore never completed within {CUT_POINT_LIMIT} cut points");
}
