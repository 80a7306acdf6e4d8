//! Backward replay reads a segment once, window by window from the end, when
//! its record boundaries are known: from this process's writer, or after a
//! reopen from the `wal-N.anchors` index beside it. Without them (index gone,
//! or damaged) it takes a verifying forward pass first. Every route must give
//! exactly the forward replay reversed, for every LSN range, and report damage
//! in a sealed segment.
use crate::common;
use common::*;
use xwal::*;

fn cfg(dir: &std::path::Path, engine: IoEngine) -> Config {
    // Small replay chunks: many anchors per segment, many windows.
    small(dir, engine).replay_chunk_size(16 << 10)
}

fn fill(wal: &Wal) -> u64 {
    let mut last = 0;
    for i in 1..=600u64 {
        // Sizes from a few bytes to 9 KB, single appends and batches.
        let len = ((i * 7919) % 9000) as usize + 1;
        if i % 5 == 0 {
            let lsns = wal
                .append_batch(vec![payload(last + 1, len), payload(last + 2, 3)])
                .unwrap();
            last = lsns.end().0;
        } else {
            last = wal.append(&payload(last + 1, len)).unwrap().0;
        }
    }
    last
}

fn check_ranges(wal: &dyn xwal::ReadableWal, last: u64) {
    let forward = replay_all(wal, ReplayOptions::all());
    assert_eq!(lsns(&forward), (1..=last).collect::<Vec<_>>());
    for (from, to) in [
        (0, u64::MAX),
        (1, last),
        (2, last - 1),
        (last / 3, last / 2),
        (last / 2, last / 2),
        (last - 5, last + 100),
    ] {
        let back = replay_all(
            wal,
            ReplayOptions::all()
                .range(ReplayRange::Lsns {
                    from: xwal::Lsn(from),
                    to: xwal::Lsn(to),
                })
                .backward(),
        );
        let want: Vec<&Entry> = forward
            .iter()
            .rev()
            .filter(|e| e.lsn >= from && e.lsn <= to)
            .collect();
        assert_eq!(back.len(), want.len(), "range {from}..={to}");
        for (b, w) in back.iter().zip(want) {
            assert_eq!(b.lsn, w.lsn, "range {from}..={to}");
            assert_eq!(b.data, w.data, "LSN {}", b.lsn);
        }
    }
}

#[test]
fn backward_equals_forward_reversed_with_and_without_anchors() {
    for engine in ENGINES {
        let d = tempdir();
        let wal = open(&cfg(d.path(), engine));
        let last = fill(&wal);
        assert!(wal.segments().len() >= 4, "{:?}", wal.segments());
        check_ranges(&wal, last); // one pass, at the writer's anchors
        wal.close().unwrap();
        let indexes = anchor_indexes(d.path());
        assert!(indexes.len() >= 4, "{indexes:?}");
        let wal = open(&cfg(d.path(), engine));
        check_ranges(&wal, last); // one pass, at the indexes' anchors
        wal.close().unwrap();
        // A torn index and a missing one: forward pass first.
        let bytes = std::fs::read(&indexes[0]).unwrap();
        std::fs::write(&indexes[0], &bytes[..bytes.len() / 2]).unwrap();
        std::fs::remove_file(&indexes[1]).unwrap();
        let wal = Wal::open_read_only(cfg(d.path(), engine)).unwrap().0;
        check_ranges(&wal, last);
    }
}

fn anchor_indexes(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "anchors"))
        .collect();
    v.sort();
    v
}

/// Damage in the middle of a sealed segment is an error on every route.
#[test]
fn backward_reports_damage_with_and_without_anchors() {
    for route in ["writer", "index", "forward pass"] {
        let d = tempdir();
        let mut wal = open(&cfg(d.path(), IoEngine::Uring));
        fill(&wal);
        let first = wal.segments()[0];
        if route != "writer" {
            wal.close().unwrap();
            if route == "forward pass" {
                for p in anchor_indexes(d.path()) {
                    std::fs::remove_file(p).unwrap();
                }
            }
            wal = open(&cfg(d.path(), IoEngine::Uring));
        }
        let path = d.path().join(format!("wal-{:020}.seg", first.segment));
        let mut bytes = std::fs::read(&path).unwrap();
        // Inside the records, between anchors, well before the end of the data.
        bytes[40_000] ^= 0x20;
        std::fs::write(&path, &bytes).unwrap();
        let r = wal
            .replay(
                ReplayOptions::all()
                    .range(ReplayRange::Segments {
                        start: first.segment,
                        end: first.segment,
                    })
                    .backward(),
            )
            .unwrap();
        let _: Vec<Entry> = r.receiver().iter().collect();
        match r.finish() {
            Err(Error::Corruption { segment, .. }) => assert_eq!(segment, first.segment),
            other => panic!("{route}: expected corruption, got {other:?}"),
        }
    }
}
