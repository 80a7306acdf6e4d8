//! Real Go xwal output (shared/testdata/go-xwal, written by Go xwal v0.6.1):
//! every entry read matches expected.json (LSN, Go CRC, data), and the import
//! keeps LSNs and checkpoint numbers [0, 1].
use std::path::{Path, PathBuf};
use xwal::import_go::{self, ImportOptions};
use xwal::{Config, IoEngine, ReplayOptions, ReplayRange, Wal};

fn testdata() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/testdata/go-xwal");
    assert!(
        p.join("expected.json").is_file(),
        "Go xwal test data missing at {} (the shared/ directory beside the repository)",
        p.display()
    );
    p
}

/// The test data is read-only: work on a copy.
fn copy_wal(dest: &Path) {
    std::fs::create_dir_all(dest).unwrap();
    for e in std::fs::read_dir(testdata().join("wal")).unwrap() {
        let p = e.unwrap().path();
        let to = dest.join(p.file_name().unwrap());
        std::fs::copy(&p, &to).unwrap();
        let mut perm = std::fs::metadata(&to).unwrap().permissions();
        #[allow(clippy::permissions_set_readonly_false)]
        perm.set_readonly(false);
        std::fs::set_permissions(&to, perm).unwrap();
    }
}

struct Expected {
    lsn: u64,
    crc: u32,
    data: Vec<u8>,
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn expected() -> (Vec<Expected>, Vec<u64>) {
    let text = std::fs::read_to_string(testdata().join("expected.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let entries = v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| Expected {
            lsn: e["lsn"].as_u64().unwrap(),
            crc: e["crc"].as_u64().unwrap() as u32,
            data: unhex(e["data_hex"].as_str().unwrap()),
        })
        .collect();
    let cps = v["checkpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_u64().unwrap())
        .collect();
    (entries, cps)
}

#[test]
fn every_entry_reads_as_expected() {
    let d = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    copy_wal(d.path());
    let (want, _) = expected();
    assert_eq!(want.len(), 2600);
    let listed = import_go::list_dir(d.path()).unwrap();
    let shape: Vec<(u64, bool)> = listed
        .files
        .iter()
        .map(|f| (f.number, f.checkpoint))
        .collect();
    assert_eq!(shape, vec![(0, true), (1, true), (2, false)]);
    let mut got = Vec::new();
    for f in &listed.files {
        let parsed = f.read().unwrap();
        assert!(parsed.bad.is_empty(), "{}: {:?}", f.name(), parsed.bad);
        got.extend(parsed.entries);
    }
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g.lsn, w.lsn);
        assert_eq!(g.crc, w.crc, "LSN {}", w.lsn);
        assert_eq!(import_go::go_crc(g.lsn, &g.data), w.crc, "LSN {}", w.lsn);
        assert_eq!(g.data, w.data, "LSN {}", w.lsn);
    }
    assert_eq!(got[1500].data.len(), 100_000, "LSN 1501 is the large entry");
}

#[test]
fn import_keeps_lsns_and_checkpoints() {
    let d = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let go = d.path().join("go");
    copy_wal(&go);
    let (want, want_cps) = expected();
    assert_eq!(want_cps, vec![0, 1]);
    let opts = ImportOptions::default();
    let plan = import_go::plan(&go, opts).unwrap();
    assert!(plan.bad.is_empty());
    assert_eq!(plan.numbering, Ok(()));
    assert_eq!(
        (plan.entries, plan.skipped_lsns, plan.last_lsn()),
        (2600, 0, 2600)
    );

    let dest = d.path().join("xwal");
    // Sizes smaller than the data needs: the import raises them so that no Go
    // file is split (the 100,000-byte entry needs a larger max entry size).
    let cfg = Config::new(&dest)
        .segment_size(256 << 10)
        .max_entry_size(4096)
        .io_engine(IoEngine::Sync);
    let report = import_go::import(&plan, cfg.clone(), opts).unwrap();
    assert_eq!(report.entries, 2600);
    assert_eq!(report.last_lsn, 2600);
    assert_eq!(
        report.checkpoints,
        vec![(0, xwal::CheckpointId(0)), (1, xwal::CheckpointId(1))]
    );
    assert!(report.max_entry_size >= 100_000);

    let (wal, _) = Wal::open(cfg).unwrap();
    assert_eq!(wal.checkpoints(), want_cps);
    assert_eq!(wal.last_index(), 2600);
    let replay = wal.replay(ReplayOptions::all()).unwrap();
    let got: Vec<_> = replay.receiver().iter().collect();
    replay.finish().unwrap();
    assert_eq!(got.len(), 2600);
    for (g, w) in got.iter().zip(&want) {
        assert_eq!((g.lsn.0, &g.data), (w.lsn, &w.data));
    }
    // Checkpoint ranges mean what they meant in Go.
    let replay = wal
        .replay(ReplayOptions::all().range(ReplayRange::FromCheckpoint(xwal::CheckpointId(1))))
        .unwrap();
    let from1: Vec<u64> = replay.receiver().iter().map(|e| e.lsn.0).collect();
    replay.finish().unwrap();
    assert_eq!(from1, (1001..=2600).collect::<Vec<_>>());
    let replay = wal
        .replay(ReplayOptions::all().range(ReplayRange::ToCheckpoint(xwal::CheckpointId(0))))
        .unwrap();
    let to0: Vec<u64> = replay.receiver().iter().map(|e| e.lsn.0).collect();
    replay.finish().unwrap();
    assert_eq!(to0, (1..=1000).collect::<Vec<_>>());
    assert_eq!(wal.append(b"after import").unwrap(), 2601);
    wal.close().unwrap();
}
