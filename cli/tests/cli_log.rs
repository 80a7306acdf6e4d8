//! The `xwal` binary shows the library's `tracing` warnings on stderr (the
//! library itself never prints): a torn tail cut at open is reported by
//! default, `XWAL_LOG` sets the filter, and a bad filter is one line and exit 1.
use crate::common;
use common::ondisk;
use common::*;

fn checkpoint(dir: &std::path::Path, log: Option<&str>) -> std::process::Output {
    let mut c = xwal_cmd(&["checkpoint", dir.to_str().unwrap()]);
    c.env_remove("XWAL_LOG");
    if let Some(l) = log {
        c.env("XWAL_LOG", l);
    }
    c.output().unwrap()
}

/// A WAL of 20 entries whose last record is torn (its end zero, as a cut write leaves it).
fn torn_wal() -> tempfile::TempDir {
    let d = tempdir();
    build_wal(d.path(), 20, 100, &[]);
    let (seg, _) = ondisk::tail_segment(d.path());
    let (_, recs, _) = ondisk::records(&seg.path);
    let last = recs.last().unwrap();
    // The last write torn: the record's last sector never reached the disk.
    let sector = (last.offset + last.len as u64 - 1) / 512 * 512;
    let keep = sector.max(last.offset + 40);
    ondisk::write_at(
        &seg.path,
        keep,
        &vec![0u8; (last.offset + last.len as u64 - keep) as usize],
    );
    d
}

#[test]
fn warnings_reach_stderr_by_default() {
    let d = torn_wal();
    let out = checkpoint(d.path(), None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("WARN") && stderr.contains("cut torn tail"),
        "{stderr}"
    );
    assert!(
        !stderr.contains('\x1b'),
        "no colour codes when stderr is not a terminal: {stderr:?}"
    );
}

#[test]
fn xwal_log_sets_the_filter() {
    let d = torn_wal();
    let out = checkpoint(d.path(), Some("off"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // Only the command's own summary line is left; no log event.
    assert!(!stderr.contains("WARN"), "{stderr}");
    let out = checkpoint(d.path(), Some("info"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("INFO") && stderr.contains("checkpoint"),
        "{stderr}"
    );
}

#[test]
fn a_bad_filter_is_one_line_and_exit_1() {
    let d = torn_wal();
    let out = checkpoint(d.path(), Some("xwal=["));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("xwal: XWAL_LOG="), "{stderr}");
}
