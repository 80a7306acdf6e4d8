//! S3 archive tier: the manifest's cost stays bounded as the archive grows.
//! Its head holds at most `manifest_chunk_entries` entries; older ones move to
//! immutable chunk objects that the head names (with their CRC). Replay and
//! restore read the chunks; a missing chunk is `BadManifest`.
#![cfg(all(feature = "s3", feature = "test-seams"))]

use crate::common;
use crate::s3_support;

use common::{lsns, payload, replay_all, small};
use std::time::Duration;
use xwal::{ArchiveErrorKind, Error, IoEngine, ReplayOptions, Wal, archive};

#[test]
fn the_head_stays_small_and_chunks_replay() {
    let Some(env) = s3_support::env() else { return };
    let s3 = env.config("manifest-chunks");
    let store = env.store();
    let key = s3_support::manifest_key(&s3);
    let dir = common::tempdir();
    // A head of 3 entries makes chunks out of a few segments.
    let seams = xwal::seams::Seams {
        manifest_chunk_entries: Some(3),
        ..Default::default()
    };
    let (wal, _) =
        Wal::open_with(small(dir.path(), IoEngine::Uring).s3(s3.clone()), seams).unwrap();
    let mut heads = vec![];
    for round in 0..4u64 {
        for i in 1..=600u64 {
            wal.append(&payload(round * 600 + i, 1000)).unwrap();
        }
        wal.create_checkpoint().unwrap();
        wal.wait_archived(Duration::from_secs(60)).unwrap();
        heads.push(s3_support::get(&store, &key).unwrap());
    }
    let st = wal.archive_status().unwrap();
    assert!(st.uploaded_segments >= 10, "{st:?}");
    wal.close().unwrap();
    for head in &heads {
        let text = String::from_utf8(head.clone()).unwrap();
        let entry_lines = text
            .lines()
            .filter(|l| l.split(' ').count() == 9 && !l.starts_with("segment"))
            .count();
        assert!(
            entry_lines <= 3,
            "head holds {entry_lines} entries:\n{text}"
        );
    }
    let last = String::from_utf8(heads.last().unwrap().clone()).unwrap();
    assert!(
        last.lines().filter(|l| l.starts_with("chunk ")).count() >= 3,
        "{last}"
    );
    let remote = Wal::open_archive(s3.clone()).unwrap();
    let all = lsns(&replay_all(&remote, ReplayOptions::all()));
    assert_eq!(all, (1..=2400).collect::<Vec<_>>());
    drop(remote);
    let target = common::tempdir();
    let report = archive::restore(&s3, &target.path().join("r")).unwrap();
    assert_eq!(report.last_lsn, 2400);
    // A chunk object gone: refused, never a shorter archive.
    s3_support::delete(
        &store,
        &format!("{}/manifest.d/{:020}", s3.prefix.trim_matches('/'), 0),
    );
    match Wal::open_archive(s3) {
        Err(Error::Archive {
            kind: ArchiveErrorKind::BadManifest,
            message,
        }) => {
            assert!(message.contains("missing"), "{message}")
        }
        other => panic!("{:?}", other.map(|_| ())),
    }
}
