//! Helpers of the `xwal` command's tests: the library's test helpers, the
//! on-disk readers, and one runner for the command.
#![allow(dead_code)]

#[path = "../../../tests/common/mod.rs"]
mod library;
#[path = "../../../tests/ondisk/mod.rs"]
pub mod ondisk;
#[cfg(feature = "s3")]
#[path = "../../../tests/s3_support/mod.rs"]
pub mod s3_support;

pub use library::*;

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Output};
use xwal::{Config, IoEngine, Wal};

/// The `xwal` binary under test.
pub const XWAL: &str = env!("CARGO_BIN_EXE_xwal");

/// `xwal ARGS...`, not yet run: for a test that sets the environment.
pub fn xwal_cmd<S: AsRef<OsStr>>(args: &[S]) -> Command {
    let mut c = Command::new(XWAL);
    c.args(args);
    c
}

/// Runs `xwal ARGS...`.
pub fn xwal<S: AsRef<OsStr>>(args: &[S]) -> Output {
    xwal_cmd(args).output().unwrap()
}

/// Runs `xwal ARGS...`, asserts that it succeeded, and returns its stdout.
pub fn xwal_ok<S: AsRef<OsStr> + std::fmt::Debug>(args: &[S]) -> String {
    let out = xwal(args);
    assert!(
        out.status.success(),
        "xwal {args:?} failed ({}): {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs `xwal ARGS...`, asserts that it failed, and returns (exit code, stderr).
pub fn xwal_err<S: AsRef<OsStr> + std::fmt::Debug>(args: &[S]) -> (i32, String) {
    let out = xwal(args);
    assert!(!out.status.success(), "xwal {args:?} succeeded");
    let code = out.status.code().unwrap_or(-1);
    (code, String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Runs `xwal ARGS...` with `RUST_BACKTRACE=1` and asserts the shape of a
/// command error: a non-zero exit, nothing on stdout, one line `xwal: ...` on
/// stderr that contains `must_contain`, no panic and no backtrace. Returns the
/// exit code.
pub fn xwal_one_line_err(args: &[&str], must_contain: &str) -> i32 {
    let out = xwal_cmd(args).env("RUST_BACKTRACE", "1").output().unwrap();
    let code = out.status.code();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
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
    code.unwrap()
}

/// The config most command tests write with: 256 KiB segments, pwrite/fdatasync.
pub fn cli_config(dir: &Path) -> Config {
    small(dir, IoEngine::Sync)
}

/// Writes `data(lsn)` for LSN 1..=`n` into a new WAL in `dir` with
/// [`cli_config`], sealing a checkpoint after each LSN in `checkpoints_at`,
/// and returns the WAL still open.
pub fn write_wal(dir: &Path, n: u64, checkpoints_at: &[u64], data: impl Fn(u64) -> Vec<u8>) -> Wal {
    let (wal, _) = Wal::open(cli_config(dir)).unwrap();
    for lsn in 1..=n {
        assert_eq!(wal.append(&data(lsn)).unwrap(), lsn);
        if checkpoints_at.contains(&lsn) {
            wal.create_checkpoint().unwrap();
        }
    }
    wal
}

/// [`write_wal`] with `payload(lsn, len)`, closed.
pub fn build_wal(dir: &Path, n: u64, len: usize, checkpoints_at: &[u64]) {
    write_wal(dir, n, checkpoints_at, |lsn| payload(lsn, len))
        .close()
        .unwrap();
}

/// Runs `xwal ARGS...` with an S3 server's keys in the environment.
#[cfg(feature = "s3")]
pub fn xwal_s3<S: AsRef<OsStr>>(env: &s3_support::S3Env, args: &[S]) -> Output {
    env.command(XWAL).args(args).output().unwrap()
}
