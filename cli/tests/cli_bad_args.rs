//! Bad arguments, missing directories and bad config files: one line
//! `xwal: <message>` on stderr, a non-zero exit, nothing on stdout, no panic
//! and no backtrace (even with RUST_BACKTRACE=1), and nothing created.
mod common;
use std::process::Command;

fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(common::XWAL)
        .args(args)
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn assert_one_line_error(args: &[&str], must_contain: &str) {
    let (code, stdout, stderr) = run(args);
    assert!(code.is_some_and(|c| c != 0), "{args:?}: exit {code:?}");
    assert!(stdout.is_empty(), "{args:?}: stdout {stdout:?}");
    assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr:?}");
    assert!(stderr.starts_with("xwal: "), "{args:?}: {stderr:?}");
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr:?}");
    assert!(!stderr.contains("backtrace"), "{args:?}: {stderr:?}");
    assert!(
        stderr.contains(must_contain),
        "{args:?}: {stderr:?} lacks {must_contain:?}"
    );
}

#[test]
fn every_bad_invocation_is_one_line() {
    let d = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let wal = d.path().join("wal");
    let (w, _) = xwal::Wal::open(
        xwal::Config::new(&wal)
            .segment_size(256 << 10)
            .max_entry_size(4096),
    )
    .unwrap();
    w.append(b"one").unwrap();
    w.close().unwrap();
    drop(w);
    let wal = wal.to_str().unwrap();
    let missing = d.path().join("missing");
    let missing = missing.to_str().unwrap();
    let bad_toml = d.path().join("bad.toml");
    std::fs::write(&bad_toml, "segment_size = \"128MB\"\n").unwrap();
    let bad_toml = bad_toml.to_str().unwrap();

    assert_one_line_error(&[], "subcommand");
    assert_one_line_error(&["frobnicate"], "frobnicate");
    assert_one_line_error(&["dump", "--bogus", wal], "--bogus");
    assert_one_line_error(&["dump", wal, "--from-lsn", "ten"], "--from-lsn");
    assert_one_line_error(&["dump", wal, "--format", "xml"], "xml");
    assert_one_line_error(&["dump", wal, "--segments", "a..b"], "segment");
    assert_one_line_error(&["dump", wal, "--from-lsn", "9", "--to-lsn", "3"], "empty");
    assert_one_line_error(
        &["replay", wal, "--from-lsn", "1", "--segments", "0..1"],
        "one kind of range",
    );
    assert_one_line_error(&["dump"], "DIR");
    for cmd in ["inspect", "verify", "dump", "checkpoint", "replay"] {
        assert_one_line_error(&[cmd, missing], "no such directory");
    }
    assert_one_line_error(&["import-go", missing, wal], "no such directory");
    assert_one_line_error(&["import-go", wal], "DEST");
    let dest = d.path().join("dest");
    assert_one_line_error(
        &["import-go", wal, dest.to_str().unwrap()],
        "no Go xwal segment files",
    );
    assert!(!dest.exists());
    assert_one_line_error(&["inspect", "--config", bad_toml, wal], "segment_size");
    assert_one_line_error(&["--config", "/nonexistent/x.toml", "dump", wal], "x.toml");
    assert_one_line_error(
        &["dump", wal, "--from-checkpoint", "3"],
        "checkpoint 3 not found",
    );
    assert!(
        !std::path::Path::new(missing).exists(),
        "a subcommand created the missing directory"
    );
}

#[test]
fn help_works_on_every_subcommand() {
    for cmd in [
        "inspect",
        "verify",
        "dump",
        "checkpoint",
        "replay",
        "import-go",
        "bench",
    ] {
        let (code, stdout, _) = run(&[cmd, "--help"]);
        assert_eq!(code, Some(0), "{cmd}");
        assert!(stdout.contains("Usage: xwal"), "{cmd}: {stdout}");
    }
    let (code, stdout, _) = run(&["--help"]);
    assert_eq!(code, Some(0));
    for cmd in [
        "inspect",
        "verify",
        "dump",
        "checkpoint",
        "replay",
        "import-go",
    ] {
        assert!(stdout.contains(cmd), "{stdout}");
    }
}
