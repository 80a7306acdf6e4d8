//! A second *process* opening the same directory gets `Locked`.
use std::process::Command;
use xwal::*;

const CHILD: &str = "XWAL_LOCK_CHILD_DIR";

#[test]
fn child_opener() {
    let Ok(dir) = std::env::var(CHILD) else {
        return;
    };
    match Wal::open(
        Config::new(&dir)
            .segment_size(256 << 10)
            .max_entry_size(4096),
    ) {
        Err(Error::Locked { .. }) => println!("CHILD: Locked"),
        Err(e) => println!("CHILD: other error {e}"),
        Ok(_) => println!("CHILD: opened"),
    }
}

fn child(dir: &std::path::Path) -> String {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            &crate::common::test_name(module_path!(), "child_opener"),
            "--nocapture",
        ])
        .env(CHILD, dir)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[test]
fn second_process_is_locked_out() {
    let d = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let (wal, _) = Wal::open(
        Config::new(d.path())
            .segment_size(256 << 10)
            .max_entry_size(4096),
    )
    .unwrap();
    wal.append(b"held").unwrap();
    let s = child(d.path());
    assert!(s.contains("CHILD: Locked"), "{s}");
    wal.close().unwrap();
    drop(wal);
    let s = child(d.path());
    assert!(s.contains("CHILD: opened"), "{s}");
}
