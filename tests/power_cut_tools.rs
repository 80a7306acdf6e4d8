//! Power cuts inside the work that runs beside a `Wal`: the salvage
//! (`Wal::repair`) and the Go import. The simulated disk serves the
//! directory (`SimDisk::serve`), and every operation count is tried as the
//! cut point, until the work completes without reaching it. After each cut
//! the disk keeps or loses what no sync covered ([`SimDisk::crash_image`]);
//! then:
//! - an open gives the whole result, or refuses with the interrupted work's
//!   own error, never a shorter log taken for a whole one;
//! - a read-only view still opens and gives an intact prefix;
//! - running the work again gives exactly what one uncut run gives.
#![cfg(feature = "test-seams")]

use crate::common;
use crate::ondisk;

use common::payload;
use std::path::Path;
use xwal::import_go::{self, ImportOptions};
use xwal::seams::SimDisk;
use xwal::{Config, Error, IoEngine, ReplayOptions, Wal};

/// More cut points than any of these runs has: a run that never completes fails.
const CUT_POINT_LIMIT: u64 = 2_000;

fn config(dir: &Path) -> Config {
    Config::new(dir)
        .segment_size(64 << 10)
        .max_entry_size(8 << 10)
        .io_engine(IoEngine::Sync)
}

fn copy_dir(from: &Path, to: &Path) {
    let ok = std::process::Command::new("cp")
        .args(["-a"])
        .arg(from)
        .arg(to)
        .status()
        .unwrap()
        .success();
    assert!(ok, "copying {}", from.display());
}

/// Every entry and how the replay ended (a view of interrupted work may end
/// with an error after an intact prefix).
fn entries(
    wal: &dyn xwal::ReadableWal,
) -> (Vec<(u64, Vec<u8>)>, xwal::Result<xwal::ReplaySummary>) {
    let mut r = wal.replay(ReplayOptions::all()).unwrap();
    // Up to the first error (a view of interrupted work may end in one).
    let got = r
        .by_ref()
        .map_while(Result::ok)
        .map(|e| (e.lsn.0, e.data))
        .collect();
    (got, r.finish())
}

/// The whole log, from a writable open, and the LSN the next append gets.
fn log_and_next(dir: &Path) -> (Vec<(u64, Vec<u8>)>, u64) {
    let (wal, _) = Wal::open(config(dir)).unwrap();
    let (got, end) = entries(&wal);
    end.unwrap();
    let next = wal.append(b"after").unwrap();
    wal.close().unwrap();
    (got, next.0)
}

/// `n` entries of 1000 bytes (about 60 per segment), the record at `damaged`
/// flipped in place: a directory `Wal::open` refuses and `Wal::repair` cuts.
fn damaged_log(dir: &Path, n: u64, damaged: u64) {
    let (wal, _) = Wal::open(config(dir)).unwrap();
    for i in 1..=n {
        assert_eq!(wal.append(&payload(i, 1000)).unwrap(), i);
    }
    wal.close().unwrap();
    for (seg, _) in ondisk::written_segments(dir) {
        let (_, recs, _) = ondisk::records(&seg.path);
        if let Some(r) = recs.iter().find(|r| r.lsn == damaged) {
            let at = r.offset + 40 + 500;
            let mut b = ondisk::read_at(&seg.path, at, 1);
            b[0] ^= 0x10;
            ondisk::write_at(&seg.path, at, &b);
            return;
        }
    }
    panic!("no record with LSN {damaged}");
}

/// The bytes kept aside by a finished repair, by file name (a segment being
/// prepared when the power failed is moved aside with the rest: not data).
fn aside_sizes(dir: &Path) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            for f in std::fs::read_dir(&p).unwrap() {
                let f = f.unwrap();
                let name = f.file_name().to_string_lossy().into_owned();
                if name.ends_with(".preparing") {
                    continue;
                }
                out.push((name, f.metadata().unwrap().len()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn a_repair_cut_anywhere_is_completed_by_running_it_again() {
    let root = common::tempdir();
    let template = root.path().join("template");
    std::fs::create_dir(&template).unwrap();
    // The damage sits in a sealed segment: the repair cuts it and moves the
    // later segments aside.
    damaged_log(&template, 200, 100);
    let reference = root.path().join("reference");
    copy_dir(&template, &reference);
    let report = Wal::repair(config(&reference)).unwrap();
    assert_eq!(report.kept_through, 99, "{report:?}");
    let (want, want_next) = log_and_next(&reference);
    let want_aside = aside_sizes(&reference);
    assert!(!want_aside.is_empty());

    for k in 0..CUT_POINT_LIMIT {
        let work = root.path().join(format!("cut-{k}"));
        copy_dir(&template, &work);
        let sim = SimDisk::new();
        sim.set_phase("salvage (repair)");
        let served = sim.serve(&work).unwrap();
        sim.cut_after(k);
        let repaired = Wal::repair(config(&work));
        drop(served);
        if !sim.is_dead() {
            repaired.unwrap();
            assert_eq!(log_and_next(&work), (want.clone(), want_next));
            assert!(k > 10, "only {k} cut points: is the repair served?");
            println!("repair: {k} power cuts, each recovered");
            return;
        }
        // One image per cut (the disk model knows files by their inodes,
        // which a copy changes); each cut keeps and loses differently.
        sim.crash_image(&work, &mut common::xorshift(k)).unwrap();
        check_cut_repair(root.path(), &work, k, &want, want_next, &want_aside);
        std::fs::remove_dir_all(&work).unwrap();
    }
    panic!("the repair never completed within {CUT_POINT_LIMIT} cut points");
}

/// After a cut inside a repair: readable, refused or whole, and whole once
/// the repair runs again.
fn check_cut_repair(
    root: &Path,
    work: &Path,
    k: u64,
    want: &[(u64, Vec<u8>)],
    want_next: u64,
    want_aside: &[(String, u64)],
) {
    {
        // A refused directory can still be read: its intact prefix at least.
        let (view, _) = Wal::open_read_only(config(work)).unwrap();
        let (seen, _) = entries(&view);
        assert!(
            seen.len() >= 99,
            "cut {k}: the view gave {} entries",
            seen.len()
        );
        assert_eq!(seen[..99], want[..99], "cut {k}: the view's prefix");
        drop(view);
        let probe = root.join(format!("probe-{k}"));
        copy_dir(work, &probe);
        match Wal::open(config(&probe)) {
            Ok((wal, _)) => assert_eq!(entries(&wal).0, want, "cut {k}: opened short"),
            Err(Error::RepairIncomplete { .. } | Error::Corruption { .. }) => {}
            Err(e) => panic!("cut {k}: open after the cut: {e}"),
        }
        std::fs::remove_dir_all(&probe).unwrap();
    }
    Wal::repair(config(work)).unwrap_or_else(|e| panic!("cut {k}: repair again: {e}"));
    assert_eq!(log_and_next(work), (want.to_vec(), want_next), "cut {k}");
    assert_eq!(
        aside_sizes(work),
        want_aside,
        "cut {k}: what was cut is kept"
    );
}

fn go_record(lsn: u64) -> Vec<u8> {
    let data = payload(lsn, 700);
    import_go::encode_record(&xwal::format::WalEntry {
        lsn,
        crc: import_go::go_crc(lsn, &data),
        data,
    })
}

/// A Go xwal directory of three files, 240 entries of 700 bytes.
fn go_dir(dir: &Path) {
    std::fs::create_dir(dir).unwrap();
    for (name, lsns) in [
        ("wal_0.checkpoint", 1..=80u64),
        ("wal_1.checkpoint", 81..=160),
        ("wal_2", 161..=240),
    ] {
        let bytes: Vec<u8> = lsns.flat_map(go_record).collect();
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}

#[test]
fn an_import_cut_anywhere_is_refused_then_completed_by_running_it_again() {
    let root = common::tempdir();
    let go = root.path().join("go");
    go_dir(&go);
    let opts = ImportOptions::default();
    let plan = import_go::plan(&go, opts).unwrap();
    let reference = root.path().join("reference");
    import_go::import(&plan, config(&reference), opts).unwrap();
    let (want, want_next) = log_and_next(&reference);
    assert_eq!(want.len(), 240);

    for k in 0..CUT_POINT_LIMIT {
        let dest = root.path().join(format!("cut-{k}"));
        std::fs::create_dir(&dest).unwrap();
        let sim = SimDisk::new();
        sim.set_phase("import-go");
        let served = sim.serve(&dest).unwrap();
        sim.cut_after(k);
        let imported = import_go::import(&plan, config(&dest), opts);
        drop(served);
        if !sim.is_dead() {
            imported.unwrap();
            assert_eq!(log_and_next(&dest), (want.clone(), want_next));
            assert!(k > 10, "only {k} cut points: is the import served?");
            println!("import: {k} power cuts, each recovered");
            return;
        }
        sim.crash_image(&dest, &mut common::xorshift(k)).unwrap();

        let probe = root.path().join(format!("probe-{k}"));
        copy_dir(&dest, &probe);
        let finished = match Wal::open(config(&probe)) {
            // Either nothing was imported yet (the marker was not durable,
            // so nothing after it was), or all of it.
            Ok((wal, _)) => {
                let got = entries(&wal).0;
                assert!(
                    got.is_empty() || got == want,
                    "cut {k}: opened {} entries",
                    got.len()
                );
                !got.is_empty()
            }
            Err(Error::ImportIncomplete { .. }) => {
                let (view, _) = Wal::open_read_only(config(&dest)).unwrap();
                let (seen, end) = entries(&view);
                assert!(end.is_err(), "cut {k}: the view of a cut import ends clean");
                assert_eq!(seen[..], want[..seen.len()], "cut {k}: the view's prefix");
                false
            }
            Err(e) => panic!("cut {k}: open after the cut: {e}"),
        };
        if !finished {
            import_go::import(&plan, config(&dest), opts)
                .unwrap_or_else(|e| panic!("cut {k}: import again: {e}"));
        }
        assert_eq!(log_and_next(&dest), (want.clone(), want_next), "cut {k}");
        std::fs::remove_dir_all(&dest).unwrap();
        std::fs::remove_dir_all(&probe).unwrap();
    }
    panic!("the import never completed within {CUT_POINT_LIMIT} cut points");
}
