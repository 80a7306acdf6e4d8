//! S3 archive tier: a WAL repaired before it was archived (an LSN gap
//! reserved between two segments) archives, restores and replays across
//! the gap: the manifest carries the segment's gap flag.
#![cfg(feature = "s3")]

use crate::common;
use crate::ondisk;
use crate::s3_support;

use common::{lsns, payload, replay_all, small};
use std::time::Duration;
use xwal::{IoEngine, ReplayOptions, Wal, archive};

#[test]
fn a_repaired_wal_archives_and_restores_across_its_gap() {
    let Some(env) = s3_support::env() else { return };
    let s3 = env.config("repaired");
    let dir = common::tempdir();
    let cfg = small(dir.path(), IoEngine::Sync);
    common::append_n(&common::open(&cfg), 1..=40, 1000);
    // The last record damaged in place, then repaired.
    let (tail, _) = ondisk::tail_segment(dir.path());
    let (_, recs, _) = ondisk::records(&tail.path);
    ondisk::flip_byte(&tail.path, recs[39].offset + 500);
    let r = Wal::repair(cfg.clone()).unwrap();
    assert_eq!(r.kept_through, 39);
    let next = r.reserved_through + 1;

    let (wal, _) = Wal::open(cfg.clone().s3(s3.clone())).unwrap();
    for i in 0..5 {
        assert_eq!(wal.append(&payload(next.0 + i, 1000)).unwrap(), next + i);
    }
    wal.create_checkpoint().unwrap();
    let st = wal.wait_archived(Duration::from_secs(60)).unwrap();
    assert!(st.last_error.is_none(), "{st:?}");
    wal.close().unwrap();

    let other = common::tempdir();
    let into = other.path().join("restored");
    archive::restore(&s3, &into).unwrap();
    let (view, _) = Wal::open_read_only(small(&into, IoEngine::Sync)).unwrap();
    let want: Vec<u64> = (1..=39).chain(next.0..next.0 + 5).collect();
    assert_eq!(lsns(&replay_all(&view, ReplayOptions::all())), want);
    let mut back = want.clone();
    back.reverse();
    assert_eq!(
        lsns(&replay_all(&view, ReplayOptions::all().backward())),
        back
    );
}
