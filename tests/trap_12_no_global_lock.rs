//! Trap 12 (Go xwal): one global lock: every writer waits behind fsync and
//! replay, and a replay callback that writes deadlocks. Here a replay consumer
//! may append (and checkpoint) from inside its loop, and appends from other
//! threads proceed while a replay is paused on a full channel.
use crate::common;
use common::*;
use std::sync::Arc;
use std::time::Duration;
use xwal::*;

const HANG: Duration = Duration::from_secs(30);

/// Runs `f` on a thread; fails the test if it does not finish within 30 s.
fn within_deadline<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = crossbeam_channel::bounded(1);
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(HANG) {
        Ok(v) => v,
        Err(_) => panic!("{what}: no progress after {HANG:?} (deadlock?)"),
    }
}

fn filled(engine: IoEngine, n: u64, cap: usize) -> (tempfile::TempDir, Arc<Wal>) {
    let d = tempdir();
    let wal = open(&small(d.path(), engine).replay_channel_capacity(cap));
    append_n_checked(&wal, 1..=n, 200);
    (d, Arc::new(wal))
}

#[test]
fn consumer_that_appends_does_not_deadlock() {
    for engine in ENGINES {
        let (_d, wal) = filled(engine, 1000, 4);
        let w = wal.clone();
        let (seen, summary) = within_deadline("replay consumer appending", move || {
            let r = w.replay(ReplayOptions::all()).unwrap();
            let mut seen = Vec::new();
            for e in r.receiver().iter() {
                seen.push(e.lsn);
                let lsn = w.append(&payload(e.lsn.0 + 1000, 200)).unwrap();
                assert_eq!(lsn, e.lsn + 1000);
                if e.lsn == 500 {
                    // A checkpoint renames a segment this replay has yet to read.
                    w.create_checkpoint().unwrap();
                }
            }
            (seen, r.finish().unwrap())
        });
        // The replay covers what was written when it started.
        assert_eq!(seen, (1..=1000).collect::<Vec<_>>());
        assert_eq!(summary.entries, 1000);
        let all = replay_all(&*wal, ReplayOptions::all());
        assert_eq!(lsns(&all), (1..=2000).collect::<Vec<_>>());
        for e in &all {
            assert_eq!(e.data, payload(e.lsn.0, 200));
        }
    }
}

#[test]
fn go_style_consumer_that_appends_does_not_deadlock() {
    for engine in ENGINES {
        let (_d, wal) = filled(engine, 1000, 4);
        let w = wal.clone();
        within_deadline("replay_into with an appending consumer", move || {
            let (tx, rx) = crossbeam_channel::bounded::<Entry>(1);
            let w2 = w.clone();
            let consumer = std::thread::spawn(move || {
                let mut seen = Vec::new();
                for e in rx {
                    seen.push(e.lsn);
                    w2.append(&payload(e.lsn.0 + 1000, 200)).unwrap();
                }
                seen
            });
            WalBackend::replay(&*w, &tx, false).unwrap();
            drop(tx);
            assert_eq!(consumer.join().unwrap(), (1..=1000).collect::<Vec<_>>());
        });
        assert_eq!(
            lsns(&replay_all(&*wal, ReplayOptions::all())),
            (1..=2000).collect::<Vec<_>>()
        );
    }
}

#[test]
fn appends_proceed_while_a_replay_is_paused() {
    for engine in ENGINES {
        let (_d, wal) = filled(engine, 2000, 4);
        // The consumer reads a few entries, then stops reading for a while.
        let mut r = wal.replay(ReplayOptions::all()).unwrap();
        let head: Vec<u64> = r.by_ref().take(3).map(|e| e.unwrap().lsn.0).collect();
        assert_eq!(head, vec![1, 2, 3]);
        let w = wal.clone();
        within_deadline(
            "appends, flush and checkpoint during a paused replay",
            move || {
                let t: Vec<_> = (0..4u64)
                    .map(|t| {
                        let w = w.clone();
                        std::thread::spawn(move || {
                            (0..50u64)
                                .map(|i| w.append(&payload(10_000 + t * 100 + i, 200)).unwrap().0)
                                .collect::<Vec<_>>()
                        })
                    })
                    .collect();
                let mut got: Vec<u64> = t.into_iter().flat_map(|h| h.join().unwrap()).collect();
                got.sort();
                assert_eq!(got, (2001..=2200).collect::<Vec<_>>());
                w.flush().unwrap();
                w.create_checkpoint().unwrap();
                assert_eq!(w.append(b"x").unwrap(), 2201);
            },
        );
        // The paused replay resumes and delivers exactly its snapshot.
        let rest: Vec<u64> = r.by_ref().map(|e| e.unwrap().lsn.0).collect();
        assert_eq!(rest, (4..=2000).collect::<Vec<_>>());
        r.finish().unwrap();
    }
}

#[test]
fn concurrent_appenders_get_dense_unique_lsns() {
    for engine in ENGINES {
        let d = tempdir();
        let wal = Arc::new(open(&small(d.path(), engine)));
        let w = wal.clone();
        let assigned = within_deadline("8 concurrent appenders", move || {
            let hs: Vec<_> = (0..8u64)
                .map(|t| {
                    let w = w.clone();
                    std::thread::spawn(move || {
                        (0..200u64)
                            .map(|i| {
                                let data = format!("t{t}-{i}").into_bytes();
                                (w.append(&data).unwrap().0, data)
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            hs.into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect::<Vec<_>>()
        });
        let mut lsn_list: Vec<u64> = assigned.iter().map(|a| a.0).collect();
        lsn_list.sort();
        assert_eq!(lsn_list, (1..=1600).collect::<Vec<_>>());
        let got = replay_all(&*wal, ReplayOptions::all());
        let by_lsn: std::collections::HashMap<u64, Vec<u8>> = assigned.into_iter().collect();
        assert_eq!(got.len(), 1600);
        for e in &got {
            assert_eq!(&e.data, &by_lsn[&e.lsn.0], "LSN {}", e.lsn);
        }
    }
}
