//! `xwal import-go GO_DIR DEST` on the real Go xwal test data, and its refusal
//! (non-zero exit, each bad record with file and offset, DEST untouched) on a
//! directory with a damaged record.
use crate::common;
use common::*;
use std::ffi::OsStr;
use std::path::Path;
use xwal::{Config, ReplayOptions, Wal};

fn copy_go_testdata(dest: &Path) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/testdata/go-xwal/wal");
    assert!(
        src.is_dir(),
        "Go xwal test data missing at {}",
        src.display()
    );
    std::fs::create_dir_all(dest).unwrap();
    for e in std::fs::read_dir(&src).unwrap() {
        let p = e.unwrap().path();
        std::fs::write(
            dest.join(p.file_name().unwrap()),
            std::fs::read(&p).unwrap(),
        )
        .unwrap();
    }
}

#[test]
fn imports_the_go_test_data() {
    let d = tempdir();
    let go = d.path().join("go");
    copy_go_testdata(&go);
    std::fs::write(go.join("wal_9.garbage"), b"consumed").unwrap();
    let toml = d.path().join("xwal.toml");
    std::fs::write(
        &toml,
        "segment_size = \"1MiB\"\nmax_entry_size = \"128KiB\"\n",
    )
    .unwrap();
    let dest = d.path().join("xwal");
    let stdout = xwal_ok::<&OsStr>(&[
        "import-go".as_ref(),
        go.as_os_str(),
        dest.as_os_str(),
        "--config".as_ref(),
        toml.as_os_str(),
    ]);
    assert!(stdout.contains("3 file(s) (wal_0.checkpoint, wal_1.checkpoint, wal_2), 2600 entries, LSN 1..2600, 0 bad record(s)"), "{stdout}");
    assert!(
        stdout.contains("skipped (consumed by Go): wal_9.garbage"),
        "{stdout}"
    );
    assert!(stdout.contains("imported 2600 entries"), "{stdout}");
    assert!(
        stdout.contains("last LSN 2600, checkpoints 0, 1,"),
        "{stdout}"
    );

    let (wal, _) = Wal::open(
        Config::from_file(&toml)
            .unwrap()
            .merge_toml_str(&format!("dir = {:?}", dest.to_str().unwrap()))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(wal.checkpoints(), vec![0, 1]);
    let r = wal.replay(ReplayOptions::all()).unwrap();
    let lsns: Vec<u64> = r.receiver().iter().map(|e| e.lsn.0).collect();
    r.finish().unwrap();
    assert_eq!(lsns, (1..=2600).collect::<Vec<_>>());
    wal.close().unwrap();
}

#[test]
fn a_bad_record_refuses_the_import() {
    let d = tempdir();
    let go = d.path().join("go");
    copy_go_testdata(&go);
    // Damage a byte in the middle of the second file's payloads.
    let p = go.join("wal_1.checkpoint");
    let mut b = std::fs::read(&p).unwrap();
    let mid = b.len() / 2;
    b[mid] ^= 0x20;
    std::fs::write(&p, &b).unwrap();
    let dest = d.path().join("xwal");
    let (code, stderr) =
        xwal_err::<&OsStr>(&["import-go".as_ref(), go.as_os_str(), dest.as_os_str()]);
    assert_eq!(code, 1, "{stderr}");
    let bad: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("xwal: bad record: "))
        .collect();
    assert!(!bad.is_empty(), "{stderr}");
    assert!(bad[0].contains("wal_1.checkpoint offset "), "{stderr}");
    assert!(
        stderr
            .lines()
            .last()
            .unwrap()
            .contains("nothing was written"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"));
    assert!(!dest.exists(), "DEST was created");
}
