//! After `close()` every call gets `Error::Closed` (never a panic), close is
//! idempotent, and every entry accepted before close is durable and replayable.
use crate::common;
use common::*;
use std::sync::Arc;
use xwal::*;

#[test]
fn calls_after_close_get_closed() {
    for engine in ENGINES {
        let d = tempdir();
        let cfg = small(d.path(), engine);
        let wal = open(&cfg);
        append_n(&wal, 1..=5, 10);
        wal.close().unwrap();
        assert!(matches!(wal.append(b"x"), Err(Error::Closed)));
        assert!(matches!(wal.submit(b"x"), Err(Error::Closed)));
        assert!(matches!(
            wal.append_batch(vec![b"x".to_vec()]),
            Err(Error::Closed)
        ));
        assert!(matches!(wal.flush(), Err(Error::Closed)));
        assert!(matches!(wal.create_checkpoint(), Err(Error::Closed)));
        assert!(matches!(wal.inc_last_index(), Err(Error::Closed)));
        assert!(matches!(
            wal.purge_through(xwal::SegmentId(0)),
            Err(Error::Closed)
        ));
        assert!(matches!(
            wal.replay(ReplayOptions::all()),
            Err(Error::Closed)
        ));
        assert!(matches!(
            wal.replay(ReplayOptions::all().consume(true)),
            Err(Error::Closed)
        ));
        let (tx, _rx) = crossbeam_channel::unbounded();
        assert!(matches!(
            wal.replay_into(&tx, ReplayOptions::all()),
            Err(Error::Closed)
        ));
        assert!(matches!(
            WalBackend::write(&wal, vec![b"x".to_vec()]),
            Err(Error::Closed)
        ));
        assert!(matches!(
            WalBackend::replay(&wal, &tx, true),
            Err(Error::Closed)
        ));
        assert!(matches!(
            WalBackend::replay_from_range(&wal, &tx, false, SegmentId(0), SegmentId(9)),
            Err(Error::Closed)
        ));
        assert!(matches!(
            WalBackend::create_checkpoint(&wal),
            Err(Error::Closed)
        ));
        assert!(matches!(
            WalBackend::inc_last_index(&wal),
            Err(Error::Closed)
        ));
        // Close is idempotent, by either path; read-only accessors still answer.
        wal.close().unwrap();
        WalBackend::close(&wal).unwrap();
        assert_eq!(wal.last_index(), 5);
        let _ = format!("{wal:?}");
        drop(wal);
        let (wal, rep) = Wal::open(cfg.clone()).unwrap();
        assert_eq!(rep.last_lsn, 5);
        assert_eq!(wal.append(b"y").unwrap(), 6);
    }
}

#[test]
fn calls_racing_close_from_other_threads_never_panic() {
    for engine in ENGINES {
        let d = tempdir();
        let wal = Arc::new(open(&small(d.path(), engine)));
        let hs: Vec<_> = (0..4)
            .map(|t| {
                let w = wal.clone();
                std::thread::spawn(move || {
                    for i in 0u64.. {
                        let r = match (t + i) % 4 {
                            0 => w.flush().map(|_| ()),
                            1 => w.create_checkpoint().map(|_| ()),
                            2 => w
                                .replay(ReplayOptions::all())
                                .and_then(|r| {
                                    let _ = r.receiver().iter().count();
                                    r.finish()
                                })
                                .map(|_| ()),
                            _ => w.append(b"r").map(|_| ()),
                        };
                        match r {
                            Ok(()) => {}
                            Err(Error::Closed) => return i,
                            Err(e) => panic!("thread {t}: unexpected error {e}"),
                        }
                    }
                    unreachable!()
                })
            })
            .collect();
        std::thread::sleep(std::time::Duration::from_millis(50));
        wal.close().unwrap();
        for h in hs {
            h.join()
                .expect("a thread panicked while the WAL was closing");
        }
    }
}

#[test]
fn tickets_submitted_before_close_are_durable() {
    for engine in ENGINES {
        let d = tempdir();
        let cfg = small(d.path(), engine);
        let tickets: Vec<CommitTicket>;
        {
            let wal = open(&cfg);
            tickets = (1..=2000u64)
                .map(|i| wal.submit(payload(i, 100)).unwrap())
                .collect();
            // Close without waiting for any ticket.
            wal.close().unwrap();
            assert!(
                tickets.iter().all(|t| t.is_done()),
                "close returned before answering every ticket"
            );
        }
        let got: Vec<u64> = tickets.into_iter().map(|t| t.wait().unwrap().0).collect();
        assert_eq!(got, (1..=2000).collect::<Vec<_>>());
        let (wal, rep) = Wal::open(cfg.clone()).unwrap();
        assert_eq!(rep.last_lsn, 2000, "{rep:?}");
        let all = replay_all(&wal, ReplayOptions::all());
        assert_eq!(lsns(&all), (1..=2000).collect::<Vec<_>>());
        for e in &all {
            assert_eq!(e.data, payload(e.lsn.0, 100));
        }
    }
}

#[test]
fn acknowledged_appends_racing_close_are_durable() {
    for engine in ENGINES {
        let d = tempdir();
        let cfg = small(d.path(), engine);
        let wal = Arc::new(open(&cfg));
        let hs: Vec<_> = (0..4u64)
            .map(|t| {
                let w = wal.clone();
                std::thread::spawn(move || {
                    let mut acked = Vec::new();
                    for i in 0u64.. {
                        let data = format!("t{t}-{i}").into_bytes();
                        let r = if i % 2 == 0 {
                            w.append(&data)
                        } else {
                            w.submit(data.clone()).and_then(|t| t.wait())
                        };
                        match r {
                            Ok(lsn) => acked.push((lsn.0, data)),
                            Err(Error::Closed) => break,
                            Err(e) => panic!("unexpected error {e}"),
                        }
                    }
                    acked
                })
            })
            .collect();
        std::thread::sleep(std::time::Duration::from_millis(100));
        wal.close().unwrap();
        let acked: Vec<(u64, Vec<u8>)> = hs.into_iter().flat_map(|h| h.join().unwrap()).collect();
        assert!(!acked.is_empty());
        drop(wal);
        let (wal, rep) = Wal::open(cfg.clone()).unwrap();
        let all = replay_all(&wal, ReplayOptions::all());
        // Dense from 1, and every acknowledged entry is there with its data.
        assert_eq!(lsns(&all), (1..=rep.last_lsn.0).collect::<Vec<_>>());
        for (lsn, data) in &acked {
            let e = all
                .get((*lsn - 1) as usize)
                .unwrap_or_else(|| panic!("acknowledged LSN {lsn} lost"));
            assert_eq!(&e.data, data, "LSN {lsn}");
        }
    }
}
