//! A live tail that starts behind (the first entries are in sealed segments),
//! catches up, and keeps up while 8 writers append and a ninth thread makes
//! checkpoints: it delivers every entry exactly once, in LSN order, with the
//! bytes that replay returns, across rollovers and checkpoints, and ends with
//! `Closed` after the last durable entry.

use crate::common;

use common::{ENGINES, payload, replay_all, small, tempdir};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use xwal::{Error, ReplayOptions, Wal};

const WRITERS: u64 = 8;
const PER_WRITER: u64 = 600;
const BEFORE: u64 = 1500;

#[test]
fn a_tail_catches_up_and_keeps_up_with_eight_writers() {
    for engine in ENGINES {
        let d = tempdir();
        let (wal, _) = Wal::open(small(d.path(), engine)).unwrap();
        let wal = Arc::new(wal);
        for i in 1..=BEFORE {
            wal.append(&payload(i, 200 + (i as usize % 300))).unwrap();
        }
        assert!(
            wal.segments().len() >= 3,
            "the tail starts in sealed segments"
        );
        let mut tail = wal.tail(xwal::Lsn(1)).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let checkpoints = {
            let (wal, stop) = (wal.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::Acquire) {
                    wal.create_checkpoint().unwrap();
                    n += 1;
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                n
            })
        };
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let wal = wal.clone();
                std::thread::spawn(move || {
                    for i in 0..PER_WRITER {
                        wal.append(&payload(w * 10_000 + i, 100 + (i as usize % 700)))
                            .unwrap();
                    }
                })
            })
            .collect();
        let mut got = Vec::new();
        // Catch up while the writers run.
        while got.len() < (BEFORE + 100) as usize {
            let b = tail.next_batch().unwrap();
            got.extend(b.iter().map(|(lsn, data)| (lsn, data.to_vec())));
        }
        for w in writers {
            w.join().unwrap();
        }
        stop.store(true, Ordering::Release);
        assert!(checkpoints.join().unwrap() > 0);
        let reference = replay_all(&*wal, ReplayOptions::all());
        let wal = Arc::try_unwrap(wal).expect("one owner left");
        wal.close().unwrap();
        loop {
            match tail.next_batch() {
                Ok(b) => got.extend(b.iter().map(|(lsn, data)| (lsn, data.to_vec()))),
                Err(Error::Closed) => break,
                Err(e) => panic!("{engine:?}: tail failed: {e}"),
            }
        }
        let total = BEFORE + WRITERS * PER_WRITER;
        assert_eq!(got.len() as u64, total, "{engine:?}: every entry once");
        assert_eq!(reference.len() as u64, total);
        for (i, ((lsn, data), r)) in got.iter().zip(&reference).enumerate() {
            assert_eq!(*lsn, i as u64 + 1, "{engine:?}: in LSN order, none twice");
            assert_eq!(
                (*lsn, data),
                (r.lsn, &r.data),
                "{engine:?}: the bytes replay returns"
            );
        }
        // The iterator form answers the same after the end.
        assert!(matches!(tail.next(), None | Some(Err(Error::Closed))));
    }
}

/// A tail started past the end waits for the next entry; one started in the
/// middle begins exactly there; skipped LSNs (inc_last_index) are passed over.
#[test]
fn a_tail_starts_where_it_is_asked_and_skips_what_holds_no_entry() {
    let d = tempdir();
    let (wal, _) = Wal::open(small(d.path(), xwal::IoEngine::Uring)).unwrap();
    for i in 1..=10 {
        wal.append(&payload(i, 10)).unwrap();
    }
    let mut from_middle = wal.tail(xwal::Lsn(7)).unwrap();
    let mut from_end = wal.tail(xwal::Lsn(11)).unwrap();
    let t = std::time::Duration::from_millis(20);
    assert!(from_end.next_batch_timeout(t).unwrap().is_none());
    wal.inc_last_index().unwrap(); // LSN 11 holds no entry
    wal.append(&payload(12, 10)).unwrap();
    let b = from_end.next_batch().unwrap();
    assert_eq!(b.iter().map(|e| e.0).collect::<Vec<_>>(), [12]);
    let mut lsns = Vec::new();
    while lsns.last() != Some(&12) {
        lsns.extend(from_middle.next_batch().unwrap().iter().map(|e| e.0.0));
    }
    assert_eq!(lsns, [7, 8, 9, 10, 12]);
    assert!(from_middle.next_batch_timeout(t).unwrap().is_none());
    assert_eq!(from_middle.next_lsn(), 13);
}
