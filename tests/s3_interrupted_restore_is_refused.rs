//! S3 archive tier: a restore marks the directory until it completes, so an
//! interrupted restore is refused by `open` (never taken for a shorter WAL);
//! `open_read_only` reads what was restored and reports that more may be
//! missing, its replays ending with that as an error; rerunning the restore
//! completes it. A completed restore
//! records its floor: the restored WAL continues after the archive.
#![cfg(feature = "s3")]

use crate::common;
use crate::s3_support;

use common::{lsns, replay_all, small};
use std::time::Duration;
use xwal::{Error, IoEngine, ReplayOptions, Wal, archive};

#[test]
fn an_interrupted_restore_is_refused_until_rerun() {
    let Some(env) = s3_support::env() else { return };
    let s3 = env.config("restore-marker");
    let dir = common::tempdir();
    let (wal, _) = Wal::open(small(dir.path(), IoEngine::Uring).s3(s3.clone())).unwrap();
    common::append_n(&wal, 1..=900, 1000);
    wal.create_checkpoint().unwrap();
    wal.wait_archived(Duration::from_secs(60)).unwrap();
    wal.close().unwrap();

    let target = common::tempdir();
    let into = target.path().join("restored");
    let report = archive::restore(&s3, &into).unwrap();
    assert!(report.restored.len() >= 3, "{report:?}");
    // The state an interruption leaves: the marker, and a segment not yet written.
    std::fs::write(into.join(xwal::format::RESTORE_MARKER), b"").unwrap();
    let last = *report.restored.last().unwrap();
    let missing = xwal::format::segment_path(&into, last.0, true);
    let missing = if missing.exists() {
        missing
    } else {
        xwal::format::segment_path(&into, last.0, false)
    };
    std::fs::remove_file(&missing).unwrap();
    let cfg = small(&into, IoEngine::Uring);
    let (view, opened) = Wal::open_read_only(cfg.clone()).unwrap();
    let damage = opened.damage.expect("the interrupted restore is reported");
    assert!(damage.reason.contains("interrupted restore"), "{damage:?}");
    let mut r = view.replay(ReplayOptions::all()).unwrap();
    assert!(r.by_ref().count() > 0);
    assert!(
        r.finish().is_err(),
        "a replay never ends short without saying so"
    );
    drop(view);
    assert!(matches!(
        Wal::open(cfg.clone()),
        Err(Error::RestoreIncomplete { .. })
    ));
    let again = archive::restore(&s3, &into).unwrap();
    assert_eq!(again.restored, [last]);
    assert!(!into.join(xwal::format::RESTORE_MARKER).exists());
    let (wal, _) = Wal::open(cfg.s3(s3)).unwrap();
    let got = replay_all(&wal, ReplayOptions::all());
    assert_eq!(lsns(&got), (1..=900).collect::<Vec<_>>());
    assert_eq!(wal.append(b"after the restore").unwrap(), 901);
}
