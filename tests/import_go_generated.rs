//! Go xwal files made from the format description: the zero-padded name form,
//! `*.garbage` and foreign files skipped, LSN gaps kept (as skip records),
//! several bad records each reported with file and offset, a torn tail that
//! may be left out, LSN restarts, duplicate names, and checkpoint numbering.
use std::path::Path;
use xwal::format::WalEntry;
use xwal::import_go::{self, ImportOptions, Problem};
use xwal::{Config, IoEngine, ReplayOptions, Wal};

fn rec(lsn: u64, data: &[u8]) -> Vec<u8> {
    import_go::encode_record(&WalEntry {
        lsn,
        data: data.to_vec(),
        crc: import_go::go_crc(lsn, data),
    })
}

fn file(dir: &Path, name: &str, lsns: &[u64]) -> Vec<usize> {
    let mut bytes = Vec::new();
    let mut offsets = Vec::new();
    for &l in lsns {
        offsets.push(bytes.len());
        bytes.extend(rec(l, format!("go-{l}").as_bytes()));
    }
    std::fs::write(dir.join(name), bytes).unwrap();
    offsets
}

fn cfg(dir: &Path) -> Config {
    Config::new(dir)
        .segment_size(128 << 10)
        .max_entry_size(4096)
        .io_engine(IoEngine::Sync)
}

fn replayed(dir: &Path) -> Vec<(u64, Vec<u8>)> {
    let (wal, _) = Wal::open(cfg(dir)).unwrap();
    let r = wal.replay(ReplayOptions::all()).unwrap();
    let v = r.receiver().iter().map(|e| (e.lsn.0, e.data)).collect();
    r.finish().unwrap();
    wal.close().unwrap();
    v
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap()
}

#[test]
fn padded_names_garbage_and_gaps() {
    let d = tempdir();
    let go = d.path().join("go");
    std::fs::create_dir(&go).unwrap();
    file(&go, "wal_00000.checkpoint", &[3, 4, 5]); // LSNs 1 and 2 were consumed by Go
    file(&go, "wal_00001", &[6, 9]); // 7 and 8 are missing
    std::fs::write(go.join("wal_2.garbage"), b"\xff\xff\xff not a segment").unwrap();
    std::fs::write(go.join("README"), b"notes").unwrap();

    let plan = import_go::plan(&go, ImportOptions::default()).unwrap();
    assert!(plan.bad.is_empty(), "{:?}", plan.bad);
    assert_eq!(
        plan.files.iter().map(|f| f.file.number).collect::<Vec<_>>(),
        vec![0, 1]
    );
    assert_eq!(plan.garbage.len(), 1);
    assert_eq!(plan.other.len(), 1);
    assert_eq!((plan.entries, plan.skipped_lsns), (5, 4));
    assert_eq!(plan.numbering, Ok(()));

    let dest = d.path().join("xwal");
    let report = import_go::import(&plan, cfg(&dest), ImportOptions::default()).unwrap();
    assert_eq!(report.checkpoints, vec![(0, xwal::CheckpointId(0))]);
    assert_eq!(
        (report.entries, report.skipped_lsns, report.last_lsn.0),
        (5, 4, 9)
    );
    let got = replayed(&dest);
    assert_eq!(
        got.iter().map(|e| e.0).collect::<Vec<_>>(),
        vec![3, 4, 5, 6, 9]
    );
    assert_eq!(got[4].1, b"go-9");
    let (wal, _) = Wal::open(cfg(&dest)).unwrap();
    assert_eq!(wal.checkpoints(), vec![0]);
    assert_eq!(wal.append(b"next").unwrap(), 10, "LSNs continue after Go's");
    wal.close().unwrap();
}

#[test]
fn bad_records_are_reported_with_file_and_offset_and_nothing_is_written() {
    let d = tempdir();
    let go = d.path().join("go");
    std::fs::create_dir(&go).unwrap();
    // File 0: LSN 2's data is damaged (CRC mismatch); reading goes on after it.
    let offs0 = file(&go, "wal_0.checkpoint", &[1, 2, 3]);
    let p0 = go.join("wal_0.checkpoint");
    let mut b = std::fs::read(&p0).unwrap();
    b[offs0[2] - 1] ^= 0x01; // the last byte of LSN 2's record: inside the CRC field
    std::fs::write(&p0, &b).unwrap();
    // File 1: LSN 5 is cut short (a torn write).
    let offs1 = file(&go, "wal_1", &[4, 5]);
    let p1 = go.join("wal_1");
    let b = std::fs::read(&p1).unwrap();
    std::fs::write(&p1, &b[..b.len() - 3]).unwrap();

    let plan = import_go::plan(&go, ImportOptions::default()).unwrap();
    assert_eq!(plan.bad.len(), 2, "{:?}", plan.bad);
    assert_eq!(plan.bad[0].path, p0);
    assert_eq!(plan.bad[0].record.offset, offs0[1] as u64);
    assert_eq!(plan.bad[0].record.lsn, Some(2));
    assert!(matches!(
        plan.bad[0].record.problem,
        Problem::CrcMismatch { .. }
    ));
    assert_eq!(plan.bad[1].path, p1);
    assert_eq!(plan.bad[1].record.offset, offs1[1] as u64);
    assert!(matches!(
        plan.bad[1].record.problem,
        Problem::Truncated { .. }
    ));
    let shown = plan.bad[0].to_string();
    assert!(
        shown.contains("wal_0.checkpoint") && shown.contains(&format!("offset {}", offs0[1])),
        "{shown}"
    );

    let dest = d.path().join("xwal");
    let err = import_go::import(&plan, cfg(&dest), ImportOptions::default()).unwrap_err();
    assert!(err.to_string().contains("2 bad record"), "{err}");
    assert!(!dest.exists(), "the refused import created the destination");

    // Leaving out the torn tail is not enough: the CRC mismatch remains.
    let opts = ImportOptions {
        drop_torn_tail: true,
        ..Default::default()
    };
    let plan = import_go::plan(&go, opts).unwrap();
    assert_eq!(plan.bad.len(), 1);
    assert!(plan.dropped_tail.is_some());
    assert!(import_go::import(&plan, cfg(&dest), opts).is_err());
    assert!(!dest.exists());
}

#[test]
fn a_torn_tail_of_the_last_file_can_be_left_out() {
    let d = tempdir();
    let go = d.path().join("go");
    std::fs::create_dir(&go).unwrap();
    file(&go, "wal_0.checkpoint", &[1, 2]);
    file(&go, "wal_1", &[3, 4]);
    let p1 = go.join("wal_1");
    let mut b = std::fs::read(&p1).unwrap();
    b.extend([0u8; 64]); // a zero-filled tail: Go reads phantom LSN 0 entries here
    std::fs::write(&p1, &b).unwrap();

    let strict = import_go::plan(&go, ImportOptions::default()).unwrap();
    assert_eq!(strict.bad.len(), 1);
    assert_eq!(strict.bad[0].record.problem, Problem::ZeroFill { len: 64 });

    let opts = ImportOptions {
        drop_torn_tail: true,
        ..Default::default()
    };
    let plan = import_go::plan(&go, opts).unwrap();
    assert!(plan.bad.is_empty());
    let dest = d.path().join("xwal");
    let report = import_go::import(&plan, cfg(&dest), opts).unwrap();
    assert_eq!(report.last_lsn, 4);
    assert_eq!(replayed(&dest).len(), 4);
}

#[test]
fn bad_varint_and_lsn_restart_are_bad_records() {
    let d = tempdir();
    let go = d.path().join("go");
    std::fs::create_dir(&go).unwrap();
    file(&go, "wal_0.checkpoint", &[1, 2, 3]);
    let offs = file(&go, "wal_1.checkpoint", &[1, 2]); // Go trap 2: LSNs restarted
    std::fs::write(go.join("wal_2"), [0xffu8; 12]).unwrap();
    let plan = import_go::plan(&go, ImportOptions::default()).unwrap();
    let probs: Vec<_> = plan
        .bad
        .iter()
        .map(|b| {
            (
                b.path.file_name().unwrap().to_str().unwrap().to_string(),
                b.record.offset,
                b.record.problem.clone(),
            )
        })
        .collect();
    assert_eq!(
        probs,
        vec![
            (
                "wal_1.checkpoint".into(),
                offs[0] as u64,
                Problem::LsnNotIncreasing { previous: 3 }
            ),
            (
                "wal_1.checkpoint".into(),
                offs[1] as u64,
                Problem::LsnNotIncreasing { previous: 3 }
            ),
            ("wal_2".into(), 0, Problem::BadVarint),
        ]
    );
}

#[test]
fn duplicate_numbers_are_refused() {
    let d = tempdir();
    file(d.path(), "wal_1", &[1]);
    file(d.path(), "wal_00001", &[1]);
    let err = import_go::list_dir(d.path()).unwrap_err().to_string();
    assert!(err.contains("two files for segment 1"), "{err}");
}

#[test]
fn checkpoint_numbers_that_cannot_be_kept_need_renumber() {
    let d = tempdir();
    let go = d.path().join("go");
    std::fs::create_dir(&go).unwrap();
    file(&go, "wal_3.checkpoint", &[1, 2]); // files 0..2 were consumed by Go
    file(&go, "wal_4", &[3]);
    let plan = import_go::plan(&go, ImportOptions::default()).unwrap();
    assert!(plan.numbering.is_err());
    let dest = d.path().join("xwal");
    let err = import_go::import(&plan, cfg(&dest), ImportOptions::default()).unwrap_err();
    assert!(err.to_string().contains("renumber"), "{err}");
    assert!(!dest.exists());

    let opts = ImportOptions {
        renumber: true,
        ..Default::default()
    };
    let report = import_go::import(&plan, cfg(&dest), opts).unwrap();
    assert_eq!(report.checkpoints, vec![(3, xwal::CheckpointId(0))]);
    assert_eq!(
        replayed(&dest).iter().map(|e| e.0).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );

    // A non-checkpoint file followed by another one cannot keep numbers either.
    let go2 = d.path().join("go2");
    std::fs::create_dir(&go2).unwrap();
    file(&go2, "wal_0", &[1]);
    file(&go2, "wal_1.checkpoint", &[2]);
    let plan = import_go::plan(&go2, ImportOptions::default()).unwrap();
    assert!(
        plan.numbering
            .as_ref()
            .unwrap_err()
            .contains("wal_0 is not a checkpoint")
    );
}
