//! Bad arguments, missing directories and bad config files: one line
//! `xwal: <message>` on stderr, a non-zero exit, nothing on stdout, no panic
//! and no backtrace (even with RUST_BACKTRACE=1), and nothing created.
use crate::common;
use common::*;

#[test]
fn every_bad_invocation_is_one_line() {
    let d = tempdir();
    let wal = d.path().join("wal");
    let w = open(&cli_config(&wal));
    w.append(b"one").unwrap();
    w.close().unwrap();
    drop(w);
    let wal = wal.to_str().unwrap();
    let missing = d.path().join("missing");
    let missing = missing.to_str().unwrap();
    let bad_toml = d.path().join("bad.toml");
    std::fs::write(&bad_toml, "segment_size = \"128MB\"\n").unwrap();
    let bad_toml = bad_toml.to_str().unwrap();

    xwal_one_line_err(&[], "subcommand");
    xwal_one_line_err(&["frobnicate"], "frobnicate");
    xwal_one_line_err(&["dump", "--bogus", wal], "--bogus");
    xwal_one_line_err(&["dump", wal, "--from-lsn", "ten"], "--from-lsn");
    xwal_one_line_err(&["dump", wal, "--format", "xml"], "xml");
    xwal_one_line_err(&["dump", wal, "--segments", "a..b"], "segment");
    xwal_one_line_err(&["dump", wal, "--from-lsn", "9", "--to-lsn", "3"], "empty");
    xwal_one_line_err(
        &["replay", wal, "--from-lsn", "1", "--segments", "0..1"],
        "one kind of range",
    );
    xwal_one_line_err(&["dump"], "DIR");
    for cmd in ["inspect", "verify", "dump", "checkpoint", "replay"] {
        xwal_one_line_err(&[cmd, missing], "no such directory");
    }
    xwal_one_line_err(&["import-go", missing, wal], "no such directory");
    xwal_one_line_err(&["import-go", wal], "DEST");
    let dest = d.path().join("dest");
    xwal_one_line_err(
        &["import-go", wal, dest.to_str().unwrap()],
        "no Go xwal segment files",
    );
    assert!(!dest.exists());
    xwal_one_line_err(&["inspect", "--config", bad_toml, wal], "segment_size");
    xwal_one_line_err(&["--config", "/nonexistent/x.toml", "dump", wal], "x.toml");
    xwal_one_line_err(
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
        let stdout = xwal_ok(&[cmd, "--help"]);
        assert!(stdout.contains("Usage: xwal"), "{cmd}: {stdout}");
    }
    let stdout = xwal_ok(&["--help"]);
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
