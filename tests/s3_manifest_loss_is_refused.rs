//! S3 archive tier: a manifest deleted, or replaced by an older one, after
//! segments were archived is refused with a clear status (BadManifest), and
//! never rewritten to list only the local segments (which would forget the
//! archive); the archiver does not spin on conflicts, and recovers once the
//! newer manifest is back. A remote-only view refuses a manifest that does
//! not list every segment object under the prefix.
#![cfg(feature = "s3")]

use crate::common;
use crate::s3_support;

use common::{lsns, replay_all, small};
use std::time::Duration;
use xwal::{ArchiveErrorKind, Error, IoEngine, ReplayOptions, Wal};

fn bad_manifest(e: &Option<Error>) -> bool {
    matches!(
        e,
        Some(Error::Archive {
            kind: ArchiveErrorKind::BadManifest,
            ..
        })
    )
}

#[test]
fn a_lost_or_older_manifest_is_refused_not_rewritten() {
    let Some(env) = s3_support::env() else { return };
    let s3 = env.config("manifest-loss");
    let store = env.store();
    let key = s3_support::manifest_key(&s3);
    let dir = common::tempdir();
    let cfg = small(dir.path(), IoEngine::Uring).s3(s3.clone());
    let (wal, _) = Wal::open(cfg.clone()).unwrap();
    common::append_n(&wal, 1..=300, 1000);
    wal.create_checkpoint().unwrap();
    wal.wait_archived(Duration::from_secs(60)).unwrap();
    let older = s3_support::get(&store, &key).expect("manifest");
    common::append_n(&wal, 301..=600, 1000);
    wal.create_checkpoint().unwrap();
    wal.wait_archived(Duration::from_secs(60)).unwrap();
    let mut newer = s3_support::get(&store, &key).expect("manifest");
    wal.close().unwrap();

    for (what, damage) in [("deleted", None), ("older", Some(older.clone()))] {
        match &damage {
            None => s3_support::delete(&store, &key),
            Some(m) => s3_support::put(&store, &key, m.clone()),
        }
        let (wal, _) = Wal::open(cfg.clone()).unwrap();
        wal.append(b"more").unwrap();
        wal.create_checkpoint().unwrap();
        s3_support::wait_until(30, "the archiver to refuse the manifest", || {
            bad_manifest(&wal.archive_status().unwrap().last_error)
        });
        std::thread::sleep(Duration::from_millis(500));
        // Not rewritten from the local segments.
        assert_eq!(
            s3_support::get(&store, &key),
            damage,
            "{what} manifest was rewritten"
        );
        let st = wal.archive_status().unwrap();
        assert!(st.errors < 50, "{what}: the archiver spins: {st:?}");
        // The newer manifest back: the archiver recovers and lists the new segment.
        s3_support::put(&store, &key, newer.clone());
        let st = wal.wait_archived(Duration::from_secs(60)).unwrap();
        assert!(st.last_error.is_none(), "{what}: {st:?}");
        wal.close().unwrap();
        let remote = Wal::open_archive(s3.clone()).unwrap();
        let all = lsns(&replay_all(&remote, ReplayOptions::all()));
        assert_eq!(all, (1..=*all.last().unwrap()).collect::<Vec<_>>());
        assert!(all.len() > 600, "{what}: {}", all.len());
        drop(remote);
        // What the archive lists now is the newest manifest for the next round.
        newer = s3_support::get(&store, &key).unwrap();
    }
    // A remote-only view with the older manifest put back: objects beyond it.
    s3_support::put(&store, &key, older);
    match Wal::open_archive(s3) {
        Err(Error::Archive {
            kind: ArchiveErrorKind::BadManifest,
            message,
        }) => {
            assert!(message.contains("does not list"), "{message}")
        }
        other => panic!("{:?}", other.map(|_| ())),
    }
}

#[test]
fn a_gap_in_the_manifest_is_an_error_not_a_shorter_archive() {
    let Some(env) = s3_support::env() else { return };
    let s3 = env.config("manifest-gap");
    let store = env.store();
    let key = s3_support::manifest_key(&s3);
    let dir = common::tempdir();
    let cfg = small(dir.path(), IoEngine::Uring).s3(s3.clone());
    let (wal, _) = Wal::open(cfg).unwrap();
    common::append_n(&wal, 1..=600, 1000);
    wal.create_checkpoint().unwrap();
    wal.wait_archived(Duration::from_secs(60)).unwrap();
    wal.close().unwrap();
    // An entry far ahead of the others, for a segment that does not exist.
    let text = String::from_utf8(s3_support::get(&store, &key).unwrap()).unwrap();
    let mut m = xwal::archive::Manifest::decode(text.as_bytes()).unwrap();
    let mut far = *m.entries.values().next_back().unwrap();
    far.segment += 20;
    far.first_lsn = far.last_lsn + 1000;
    far.last_lsn = far.first_lsn + 5;
    m.entries.insert(far.segment, far);
    s3_support::put(&store, &key, m.encode());
    match Wal::open_archive(s3.clone()) {
        Err(Error::Archive {
            kind: ArchiveErrorKind::BadManifest,
            message,
        }) => {
            assert!(message.contains("gap"), "{message}")
        }
        other => panic!("{:?}", other.map(|_| ())),
    }
    let target = common::tempdir();
    let r = xwal::archive::restore(&s3, &target.path().join("restored"));
    assert!(
        matches!(
            r,
            Err(Error::Archive {
                kind: ArchiveErrorKind::BadManifest,
                ..
            })
        ),
        "{r:?}"
    );
}
