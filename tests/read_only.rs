//! `Wal::open_read_only`: no lock, nothing on disk changed, replay works while
//! another handle writes, and every write operation says ReadOnly.
use crate::common;
use common::*;
use xwal::*;

fn files(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().to_string(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn reads_beside_a_writer_without_the_lock() {
    for engine in ENGINES {
        let d = tempdir();
        let cfg = small(d.path(), engine);
        let wal = open(&cfg);
        append_n(&wal, 1..=300, 500);
        let cp = wal.create_checkpoint().unwrap();
        let (ro, rep) = Wal::open_read_only(cfg.clone()).unwrap();
        assert_eq!(rep.last_lsn, 300);
        assert_eq!(ro.checkpoints(), vec![cp]);
        // The writer keeps going while the read-only view replays.
        append_n(&wal, 301..=400, 500);
        let got = replay_all(&ro, ReplayOptions::all());
        assert_eq!(lsns(&got), (1..=300).collect::<Vec<_>>());
        assert!(got.iter().all(|e| e.data == payload(e.lsn.0, 500)));
        // Writes do not exist on a view (ReadOnlyWal's compile_fail doc
        // test); a consuming replay, which would delete, is refused.
        assert!(matches!(
            ro.replay(ReplayOptions::all().consume(true)),
            Err(Error::ReadOnly)
        ));
        ro.close().unwrap();
        wal.close().unwrap();
    }
}

#[test]
fn changes_nothing_on_a_torn_tail() {
    let d = tempdir();
    let cfg = small(d.path(), IoEngine::Uring);
    {
        let wal = open(&cfg);
        append_n(&wal, 1..=50, 100);
    }
    // Garbage after the last record of segment 0, as a torn write would leave.
    let seg = d.path().join(xwal::format::segment_file_name(0, false));
    let mut bytes = std::fs::read(&seg).unwrap();
    let end = bytes.iter().rposition(|&b| b != 0).unwrap();
    let at = (end + 8) / 8 * 8 + 64;
    bytes[at..at + 100].fill(0x77);
    std::fs::write(&seg, &bytes).unwrap();
    let before = files(d.path());
    let (ro, rep) = Wal::open_read_only(cfg.clone()).unwrap();
    assert!(rep.truncation.is_some(), "{rep:?}");
    assert_eq!(rep.last_lsn, 50);
    assert_eq!(replay_all(&ro, ReplayOptions::all()).len(), 50);
    drop(ro);
    assert!(
        files(d.path()) == before,
        "read-only open modified the directory"
    );
}

#[test]
fn missing_directory_is_an_error_not_created() {
    let d = tempdir();
    let missing = d.path().join("nope");
    assert!(Wal::open_read_only(Config::new(&missing)).is_err());
    assert!(!missing.exists());
}

#[test]
fn follows_a_checkpoint_rename_by_another_handle() {
    let d = tempdir();
    let cfg = small(d.path(), IoEngine::Uring);
    let wal = open(&cfg);
    append_n(&wal, 1..=20, 10);
    let (ro, _) = Wal::open_read_only(cfg.clone()).unwrap();
    // The writer renames segment 0 to its checkpoint name after the view opened.
    assert_eq!(wal.create_checkpoint().unwrap(), 0);
    assert_eq!(replay_all(&ro, ReplayOptions::all()).len(), 20);
}
