//! Batched replay: every form (`next_batch` borrowed, `iter_bytes` shared,
//! the `Entry` iterator, `receiver()`) returns exactly what was appended, in
//! order, forward and backward, with entries that straddle read chunks and
//! entries larger than a chunk; entries inside a chunk are not copied (the
//! borrowed and the shared forms point at the same bytes).
use crate::common;

use common::{ENGINES, payload, tempdir};
use xwal::{Config, ReplayOptions, ReplayRange, Wal};

fn sizes(n: u64) -> Vec<usize> {
    let mut x = 0x9e37_79b9_u64;
    (0..n)
        .map(|i| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            match i % 50 {
                0 => 40_000 + (x >> 40) as usize % 20_000, // larger than a 16 KiB chunk
                1..=5 => 3_000 + (x >> 40) as usize % 9_000,
                _ => (x >> 40) as usize % 300,
            }
        })
        .collect()
}

fn config(dir: &std::path::Path, engine: xwal::IoEngine) -> Config {
    Config::new(dir)
        .segment_size(512 << 10)
        .max_entry_size(64 << 10)
        .replay_chunk_size(16 << 10)
        .replay_read_ahead(3)
        .io_engine(engine)
}

fn batched(wal: &dyn xwal::ReadableWal, opts: ReplayOptions) -> Vec<(u64, Vec<u8>)> {
    let mut r = wal.replay(opts).unwrap();
    let mut out = Vec::new();
    let mut batches = 0;
    while let Some(b) = r.next_batch().unwrap() {
        batches += 1;
        assert_eq!(b.iter().len(), b.len());
        for ((l1, d1), (l2, d2)) in b.iter().zip(b.iter_bytes()) {
            assert_eq!((l1, d1), (l2, &d2[..]));
            if !d1.is_empty() {
                assert_eq!(
                    d1.as_ptr(),
                    d2.as_ptr(),
                    "the shared form is the same bytes"
                );
            }
            out.push((l1.0, d1.to_vec()));
        }
    }
    assert!(batches > 1);
    assert_eq!(r.finish().unwrap().entries, out.len() as u64);
    out
}

#[test]
fn every_form_returns_what_was_appended() {
    for engine in ENGINES {
        let d = tempdir();
        let (wal, _) = Wal::open(config(d.path(), engine)).unwrap();
        let sizes = sizes(1500);
        let mut want = Vec::new();
        for (i, &len) in sizes.iter().enumerate() {
            let lsn = i as u64 + 1;
            assert_eq!(wal.append(&payload(lsn, len)).unwrap(), lsn);
            want.push((lsn, payload(lsn, len)));
        }
        assert!(wal.segments().len() > 3, "several segments");
        let fwd = batched(&wal, ReplayOptions::all());
        assert_eq!(fwd, want, "{engine:?}: forward batches");
        let mut rev = want.clone();
        rev.reverse();
        assert_eq!(
            batched(&wal, ReplayOptions::all().backward()),
            rev,
            "{engine:?}: backward"
        );
        let entries: Vec<_> = wal
            .replay(ReplayOptions::all())
            .unwrap()
            .map(|e| e.map(|e| (e.lsn.0, e.data)))
            .collect::<xwal::Result<_>>()
            .unwrap();
        assert_eq!(entries, want, "{engine:?}: the Entry iterator");
        let r = wal.replay(ReplayOptions::all().backward()).unwrap();
        let chan: Vec<_> = r.receiver().iter().map(|e| (e.lsn.0, e.data)).collect();
        r.finish().unwrap();
        assert_eq!(chan, rev, "{engine:?}: the channel");
        let range = ReplayOptions::all().range(ReplayRange::Lsns {
            from: xwal::Lsn(77),
            to: xwal::Lsn(420),
        });
        assert_eq!(
            batched(&wal, range),
            want[76..420].to_vec(),
            "{engine:?}: an LSN range"
        );
        // Reopened, without this process's anchors: backward takes its verifying pass.
        wal.close().unwrap();
        let (view, _) = Wal::open_read_only(config(d.path(), engine)).unwrap();
        assert_eq!(
            batched(&view, ReplayOptions::all().backward()),
            rev,
            "{engine:?}: reopened"
        );
    }
}

/// Mixing the forms: part of a replay pulled as entries, the rest as batches
/// or from the channel; nothing lost or repeated.
#[test]
fn switching_forms_mid_replay_loses_nothing() {
    let d = tempdir();
    let (wal, _) = Wal::open(config(d.path(), xwal::IoEngine::Uring)).unwrap();
    for i in 1..=300u64 {
        wal.append(&payload(i, 100)).unwrap();
    }
    let mut r = wal.replay(ReplayOptions::all()).unwrap();
    let mut lsns: Vec<u64> = r.by_ref().take(10).map(|e| e.unwrap().lsn.0).collect();
    let b = r.next_batch().unwrap().unwrap();
    lsns.extend(b.iter().map(|e| e.0.0));
    lsns.extend(r.receiver().iter().map(|e| e.lsn.0));
    assert_eq!(r.finish().unwrap().entries, 300);
    assert_eq!(lsns, (1..=300).collect::<Vec<_>>());
}
