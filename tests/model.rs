//! Property test: random appends, batches, skips, checkpoints, close/reopen and
//! replays in every mode, checked against an in-memory model of the log.
use crate::common;
use common::*;
use proptest::prelude::*;
use xwal::*;

#[derive(Debug, Clone)]
enum Op {
    Append(usize),
    Batch(Vec<usize>),
    Skip,
    Checkpoint,
    Reopen,
    Flush,
    Replay {
        backward: bool,
        mode: u8,
        a: u16,
        b: u16,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0usize..3000).prop_map(Op::Append),
        2 => proptest::collection::vec(0usize..2000, 1..20).prop_map(Op::Batch),
        1 => Just(Op::Skip),
        1 => Just(Op::Checkpoint),
        1 => Just(Op::Reopen),
        1 => Just(Op::Flush),
        3 => (any::<bool>(), 0u8..5, any::<u16>(), any::<u16>()).prop_map(|(backward, mode, a, b)| Op::Replay { backward, mode, a, b }),
    ]
}

struct Model {
    entries: Vec<(u64, Vec<u8>)>,
    last_lsn: u64,
    checkpoints: Vec<u64>,
}

fn check_replay(wal: &Wal, m: &Model, backward: bool, mode: u8, a: u16, b: u16) {
    let segs = wal.segments();
    let (range, mut expect): (ReplayRange, Vec<(u64, Vec<u8>)>) = match mode {
        0 => (ReplayRange::All, m.entries.clone()),
        1 => {
            let from = (a as u64) % (m.last_lsn + 2);
            let to = from + (b as u64) % 200;
            let e = m
                .entries
                .iter()
                .filter(|(l, _)| *l >= from && *l <= to)
                .cloned()
                .collect();
            (
                ReplayRange::Lsns {
                    from: xwal::Lsn(from),
                    to: xwal::Lsn(to),
                },
                e,
            )
        }
        2 | 3 if !m.checkpoints.is_empty() => {
            let cp = m.checkpoints[a as usize % m.checkpoints.len()];
            let seg_first = segs.iter().find(|s| s.segment == cp).unwrap().first_lsn;
            let next_first = segs
                .iter()
                .find(|s| s.segment == cp + 1)
                .map(|s| s.first_lsn)
                .unwrap_or(xwal::Lsn(u64::MAX));
            if mode == 2 {
                let e = m
                    .entries
                    .iter()
                    .filter(|(l, _)| *l >= seg_first)
                    .cloned()
                    .collect();
                (ReplayRange::FromCheckpoint(xwal::CheckpointId(cp)), e)
            } else {
                let e = m
                    .entries
                    .iter()
                    .filter(|(l, _)| *l < next_first)
                    .cloned()
                    .collect();
                (ReplayRange::ToCheckpoint(xwal::CheckpointId(cp)), e)
            }
        }
        _ => {
            // Segment range starting at 0 = first present, through a random segment.
            let last = segs.last().unwrap().segment.0;
            let end = (a as u64) % (last + 1);
            let next_first = segs
                .iter()
                .find(|s| s.segment == end + 1)
                .map(|s| s.first_lsn)
                .unwrap_or(xwal::Lsn(u64::MAX));
            let e = m
                .entries
                .iter()
                .filter(|(l, _)| *l < next_first)
                .cloned()
                .collect();
            (
                ReplayRange::Segments {
                    start: SegmentId(0),
                    end: SegmentId(end),
                },
                e,
            )
        }
    };
    let mut opts = ReplayOptions::all().range(range);
    if backward {
        opts = opts.backward();
        expect.reverse();
    }
    let got: Vec<(u64, Vec<u8>)> = replay_all(wal, opts)
        .into_iter()
        .map(|e| (e.lsn.0, e.data))
        .collect();
    assert_eq!(got.len(), expect.len(), "{range:?} backward={backward}");
    assert!(
        got == expect,
        "{range:?} backward={backward}: contents differ"
    );
}

fn run(ops: Vec<Op>, engine: IoEngine) {
    let d = tempdir();
    let cfg = small(d.path(), engine);
    let mut wal = open(&cfg);
    let mut m = Model {
        entries: vec![],
        last_lsn: 0,
        checkpoints: vec![],
    };
    for op in ops {
        match op {
            Op::Append(n) => {
                let lsn = wal.append(&payload(m.last_lsn + 1, n)).unwrap();
                assert_eq!(lsn, m.last_lsn + 1);
                m.last_lsn = lsn.0;
                m.entries.push((lsn.0, payload(lsn.0, n)));
            }
            Op::Batch(sizes) => {
                let first = m.last_lsn + 1;
                let items: Vec<Vec<u8>> = sizes
                    .iter()
                    .enumerate()
                    .map(|(i, n)| payload(first + i as u64, *n))
                    .collect();
                let r = wal.append_batch(items.clone()).unwrap();
                assert_eq!(*r.start(), first);
                assert_eq!(*r.end(), first + sizes.len() as u64 - 1);
                for (i, d) in items.into_iter().enumerate() {
                    m.entries.push((first + i as u64, d));
                }
                m.last_lsn = r.end().0;
            }
            Op::Skip => {
                let l = wal.inc_last_index().unwrap();
                assert_eq!(l, m.last_lsn + 1);
                m.last_lsn = l.0;
            }
            Op::Checkpoint => {
                let cp = wal.create_checkpoint().unwrap();
                assert!(m.checkpoints.last().is_none_or(|p| cp > *p));
                m.checkpoints.push(cp.0);
                assert_eq!(wal.checkpoints(), m.checkpoints);
            }
            Op::Reopen => {
                wal.close().unwrap();
                drop(wal);
                let (w, rep) = Wal::open(cfg.clone()).unwrap();
                assert_eq!(rep.last_lsn, m.last_lsn, "{rep:?}");
                assert!(
                    rep.truncation.is_none(),
                    "clean close left a torn tail: {rep:?}"
                );
                wal = w;
                assert_eq!(wal.checkpoints(), m.checkpoints);
            }
            Op::Flush => {
                assert_eq!(wal.flush().unwrap(), m.last_lsn);
            }
            Op::Replay {
                backward,
                mode,
                a,
                b,
            } => check_replay(&wal, &m, backward, mode, a, b),
        }
        assert_eq!(wal.last_index(), m.last_lsn);
    }
    check_replay(&wal, &m, false, 0, 0, 0);
    check_replay(&wal, &m, true, 0, 0, 0);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]
    #[test]
    fn model_uring(ops in proptest::collection::vec(op(), 1..60)) {
        run(ops, IoEngine::Uring);
    }

    #[test]
    fn model_sync(ops in proptest::collection::vec(op(), 1..60)) {
        run(ops, IoEngine::Sync);
    }
}
