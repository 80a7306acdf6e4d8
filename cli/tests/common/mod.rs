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

/// Runs `xwal ARGS...`.
pub fn xwal<S: AsRef<OsStr>>(args: &[S]) -> Output {
    Command::new(XWAL).args(args).output().unwrap()
}

/// Runs `xwal ARGS...`, asserts that it succeeded, and returns its stdout.
pub fn xwal_ok<S: AsRef<OsStr> + std::fmt::Debug>(args: &[S]) -> String {
    let out = xwal(args);
    assert!(
        out.status.success(),
        "xwal {args:?} failed: {}",
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

/// The config most command tests write with: 256 KiB segments, pwrite/fdatasync.
pub fn cli_config(dir: &Path) -> Config {
    small(dir, IoEngine::Sync)
}

/// Writes `payload(lsn, len)` for LSN 1..=`n` into a new WAL in `dir` with
/// [`cli_config`], sealing a checkpoint after each LSN in `checkpoints_at`.
pub fn build_wal(dir: &Path, n: u64, len: usize, checkpoints_at: &[u64]) {
    let (wal, _) = Wal::open(cli_config(dir)).unwrap();
    for lsn in 1..=n {
        assert_eq!(wal.append(&payload(lsn, len)).unwrap(), lsn);
        if checkpoints_at.contains(&lsn) {
            wal.create_checkpoint().unwrap();
        }
    }
    wal.close().unwrap();
}

/// Runs `xwal ARGS...` with an S3 server's keys in the environment.
#[cfg(feature = "s3")]
pub fn xwal_s3<S: AsRef<OsStr>>(env: &s3_support::S3Env, args: &[S]) -> Output {
    env.command(XWAL).args(args).output().unwrap()
}
