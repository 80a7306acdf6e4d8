//! Many threads append while replays and checkpoints run. Every acknowledged LSN
//! is unique, the set is dense, and a final replay returns each exactly once.
use crate::common;
use common::*;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use xwal::*;

fn body(thread: u64, seq: u64) -> Vec<u8> {
    let mut v = thread.to_le_bytes().to_vec();
    v.extend_from_slice(&seq.to_le_bytes());
    v.extend(std::iter::repeat_n(
        (thread * 7 + seq) as u8,
        (seq % 50) as usize,
    ));
    v
}

#[test]
fn appends_replays_and_checkpoints_together() {
    for engine in ENGINES {
        let d = tempdir();
        let wal = Arc::new(open(&small(d.path(), engine)));
        let stop = Arc::new(AtomicBool::new(false));
        let (threads, per) = (8u64, 400u64);

        let replayer = {
            let (wal, stop) = (wal.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut rounds = 0;
                while !stop.load(Ordering::Relaxed) {
                    let got = replay_all(&*wal, ReplayOptions::all());
                    // Each replay sees a dense prefix, in order.
                    for (i, e) in got.iter().enumerate() {
                        assert_eq!(e.lsn, i as u64 + 1);
                    }
                    rounds += 1;
                }
                rounds
            })
        };
        let checkpointer = {
            let (wal, stop) = (wal.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    wal.create_checkpoint().unwrap();
                    n += 1;
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                n
            })
        };
        let writers: Vec<_> = (0..threads)
            .map(|t| {
                let wal = wal.clone();
                std::thread::spawn(move || {
                    (0..per)
                        .map(|s| (wal.append(&body(t, s)).unwrap(), t, s))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut acked: HashMap<u64, (u64, u64)> = HashMap::new();
        for w in writers {
            for (lsn, t, s) in w.join().unwrap() {
                assert!(
                    acked.insert(lsn.0, (t, s)).is_none(),
                    "LSN {lsn} acknowledged twice"
                );
            }
        }
        stop.store(true, Ordering::Relaxed);
        let rounds = replayer.join().unwrap();
        let cps = checkpointer.join().unwrap();
        assert!(rounds > 0 && cps > 0);

        let total = threads * per;
        assert_eq!(acked.len() as u64, total);
        assert_eq!(*acked.keys().max().unwrap(), total, "LSNs are dense");
        let got = replay_all(&*wal, ReplayOptions::all());
        assert_eq!(got.len() as u64, total);
        for e in got {
            let (t, s) = acked[&e.lsn.0];
            assert_eq!(e.data, body(t, s));
        }
    }
}
