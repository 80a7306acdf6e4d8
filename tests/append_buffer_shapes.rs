//! The append buffer under the shapes that stress it, from many threads at
//! once, on both engines: entries larger than a batch among small ones,
//! atomic groups that do not fit the rest of a segment, and rollovers racing
//! claims. Everything acknowledged replays, in LSN order, dense, with its data,
//! and no group is split across segments.
use crate::common;
use common::*;
use std::collections::BTreeMap;
use std::sync::Arc;
use xwal::*;

const THREADS: u64 = 6;
const PER_THREAD: u64 = 60;

/// Appends from `THREADS` threads: `shape(t, i)` says what thread `t` appends
/// at its step `i`: one entry of that size, or a group of that many 900-byte entries.
type Acked = (BTreeMap<u64, Vec<u8>>, Vec<std::ops::RangeInclusive<u64>>);

fn race(wal: &Arc<Wal>, shape: fn(u64, u64) -> (usize, bool)) -> Acked {
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let wal = wal.clone();
            std::thread::spawn(move || {
                let (mut mine, mut groups) = (Vec::new(), Vec::new());
                for i in 0..PER_THREAD {
                    let tag = t * 1_000 + i;
                    match shape(t, i) {
                        (len, false) => {
                            let data = payload(tag, len);
                            mine.push((wal.append(&data).unwrap().0, data));
                        }
                        (n, true) => {
                            let items: Vec<Vec<u8>> =
                                (0..n as u64).map(|k| payload(tag * 7 + k, 900)).collect();
                            let lsns = raw_range(wal.append_batch(&items).unwrap());
                            assert_eq!(lsns.clone().count(), n);
                            groups.push(lsns.clone());
                            mine.extend(lsns.zip(items));
                        }
                    }
                }
                (mine, groups)
            })
        })
        .collect();
    let (mut acked, mut all_groups) = (BTreeMap::new(), Vec::new());
    for h in handles {
        let (mine, groups) = h.join().unwrap();
        acked.extend(mine);
        all_groups.extend(groups);
    }
    (acked, all_groups)
}

fn check(wal: &Wal, acked: &BTreeMap<u64, Vec<u8>>) {
    let got = replay_all(wal, ReplayOptions::all());
    assert_eq!(lsns(&got), (1..=acked.len() as u64).collect::<Vec<_>>());
    for e in &got {
        assert_eq!(&e.data[..], &acked[&e.lsn.0][..], "LSN {}", e.lsn);
    }
}

#[test]
fn entries_larger_than_a_batch_among_small_ones() {
    for engine in ENGINES {
        let d = tempdir();
        let cfg = small(d.path(), engine).max_batch_bytes(8 << 10);
        let wal = Arc::new(open(&cfg));
        let (acked, _) = race(&wal, |t, i| {
            let big = (t + i) % 5 == 0;
            (
                if big {
                    40 << 10
                } else {
                    100 + (i as usize % 300)
                },
                false,
            )
        });
        check(&wal, &acked);
        wal.close().unwrap();
        let wal = open(&cfg);
        check(&wal, &acked);
    }
}

#[test]
fn groups_stay_whole_across_racing_rollovers() {
    for engine in ENGINES {
        let d = tempdir();
        // 64 KiB segments: a group of up to 24 x 900 bytes often misses the rest of one.
        let cfg = Config::new(d.path())
            .segment_size(64 << 10)
            .max_entry_size(16 << 10)
            .io_engine(engine);
        let wal = Arc::new(open(&cfg));
        let (acked, groups) = race(&wal, |t, i| match (t + i) % 3 {
            0 => (1 + ((t * 7 + i) % 24) as usize, true),
            _ => (200 + (i as usize * 37) % 3000, false),
        });
        check(&wal, &acked);
        let segments = wal.segments();
        assert!(segments.len() > 10, "only {} segments", segments.len());
        let seg_of = |lsn: u64| {
            let s = segments.iter().rev().find(|s| s.first_lsn <= lsn).unwrap();
            s.segment
        };
        for g in &groups {
            assert_eq!(
                seg_of(*g.start()),
                seg_of(*g.end()),
                "group {g:?} is split across segments"
            );
        }
        wal.close().unwrap();
    }
}
