//! S3 archive tier: an archived object that was damaged (a flipped byte) or
//! truncated in S3 is detected when a replay fetches it (checked against the
//! manifest's size and CRC32C before any record is read): the replay ends with
//! `Error::Corruption` naming the segment, in both directions, and `restore`
//! refuses it too. Nothing is skipped and nothing is "repaired" by re-upload.
#![cfg(feature = "s3")]

use crate::common;
use crate::s3_support;

use common::small;
use std::time::Duration;
use xwal::archive::LocalRetention;
use xwal::{Error, IoEngine, ReplayOptions, Wal};

fn replay_err(wal: &Wal, opts: ReplayOptions) -> Error {
    let r = wal.replay(opts).unwrap();
    let _: Vec<_> = r.receiver().iter().collect();
    r.finish().unwrap_err()
}

#[test]
fn damaged_or_truncated_objects_are_detected_on_replay() {
    let Some(env) = s3_support::env() else { return };
    let s3 = env
        .config("corrupt-object")
        .retention(LocalRetention::KeepNewest(0));
    let dir = common::tempdir();
    let (wal, _) = Wal::open(small(dir.path(), IoEngine::Uring).s3(s3.clone())).unwrap();
    common::append_n(&wal, 1..=600, 1000);
    wal.create_checkpoint().unwrap();
    let st = wal.wait_archived(Duration::from_secs(60)).unwrap();
    let last = st.last_archived.unwrap();
    assert!(last >= 2);
    s3_support::wait_until(30, "every archived segment to leave local disk", || {
        s3_support::local_segments(dir.path())[0] > last
    });
    let full: Vec<_> = {
        let r = wal.replay(ReplayOptions::all()).unwrap();
        let v: Vec<_> = r.receiver().iter().collect();
        r.finish().unwrap();
        v
    };
    assert_eq!(full.len(), 600);

    let store = env.store();
    let key = s3_support::segment_key(&s3, 1);
    let good = s3_support::get(&store, &key).unwrap();

    // One flipped bit in the middle of the object.
    let mut flipped = good.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x10;
    s3_support::put(&store, &key, flipped);
    for opts in [ReplayOptions::all(), ReplayOptions::all().backward()] {
        match replay_err(&wal, opts) {
            Error::Corruption {
                segment, reason, ..
            } => {
                assert_eq!(segment, 1);
                assert!(reason.contains("checksum"), "{reason}");
                assert!(reason.contains(&key), "{reason}");
            }
            e => panic!("expected corruption, got {e}"),
        }
    }

    // Truncated by one block.
    s3_support::put(&store, &key, good[..good.len() - 4096].to_vec());
    match replay_err(&wal, ReplayOptions::all()) {
        Error::Corruption {
            segment, reason, ..
        } => {
            assert_eq!(segment, 1);
            assert!(reason.contains("truncated"), "{reason}");
        }
        e => panic!("expected corruption, got {e}"),
    }
    // Restore refuses it too, and the archiver never overwrote it.
    let target = common::tempdir();
    let e = xwal::archive::restore(&s3, &target.path().join("r")).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Corruption {
                segment: xwal::SegmentId(1),
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(
        s3_support::get(&store, &key).unwrap().len(),
        good.len() - 4096
    );

    // With the object put back, everything replays again.
    s3_support::put(&store, &key, good);
    let r = wal.replay(ReplayOptions::all()).unwrap();
    let again: Vec<_> = r.receiver().iter().collect();
    r.finish().unwrap();
    assert_eq!(again, full);
    wal.close().unwrap();
}
