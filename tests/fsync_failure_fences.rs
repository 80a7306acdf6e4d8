//! A failed fdatasync (or write) fences the WAL: every waiting and later append
//! gets an error, nothing more is acknowledged, and a reopen recovers everything
//! acknowledged before the failure. Faults are injected at the engine seam, so
//! this runs against the real io_uring engine as well as pwrite/fdatasync.
#![cfg(feature = "test-seams")]
use crate::common;
use common::*;
use xwal::seams::{Fault, FaultInjector, Seams};
use xwal::*;

/// Opens `cfg` with `faults` at the engine seam.
fn open_faulty(cfg: &Config, faults: &FaultInjector) -> Wal {
    let seams = Seams {
        faults: Some(faults.clone()),
        ..Seams::default()
    };
    Wal::open_with(cfg.clone(), seams).unwrap().0
}

fn run(engine: IoEngine, fault: Fault) {
    // Serial commits, and a pipeline where later batches are already in flight
    // (and may complete fine) when the earlier one fails.
    for depth in [1, 3] {
        run_at_depth(engine, fault, depth);
    }
}

fn run_at_depth(engine: IoEngine, fault: Fault, depth: usize) {
    let d = tempdir();
    let faults = FaultInjector::new();
    let cfg = small(d.path(), engine)
        .commits_in_flight(depth)
        .max_batch_entries(2);
    let wal = open_faulty(&cfg, &faults);
    append_n_checked(&wal, 1..=50, 40);
    faults.arm(0, fault);
    // Many producers waiting at once: all must see the error, either from the
    // ticket or, once the fence is up, from submit itself.
    let tickets: Vec<_> = (0..20u64)
        .map(|i| wal.submit(payload(100 + i, 40)))
        .collect();
    let mut errors = 0;
    for t in tickets {
        match t.and_then(|t| t.wait()) {
            Err(Error::Fenced { .. }) => errors += 1,
            Ok(lsn) => panic!("acknowledged LSN {lsn} at or after a failed sync"),
            Err(e) => panic!("unexpected error {e}"),
        }
    }
    assert_eq!(errors, 20);
    assert_eq!(faults.injected(), 1);
    // Nothing is acknowledged afterwards, even though the disk works again.
    assert!(matches!(wal.append(b"after"), Err(Error::Fenced { .. })));
    assert!(matches!(wal.flush(), Err(Error::Fenced { .. })));
    assert!(matches!(wal.create_checkpoint(), Err(Error::Fenced { .. })));
    assert!(matches!(wal.submit(b"x"), Err(Error::Fenced { .. })));
    assert!(matches!(wal.close(), Err(Error::Fenced { .. })));
    drop(wal);

    let (wal, _) = Wal::open(small(d.path(), engine)).unwrap();
    let got = replay_all(&wal, ReplayOptions::all());
    assert!(got.len() >= 50);
    for (i, e) in got.iter().take(50).enumerate() {
        assert_eq!(e.lsn, i as u64 + 1);
        assert_eq!(e.data, payload(e.lsn.0, 40));
    }
    // LSNs continue after whatever survived, never reused.
    let next = wal.append(b"again").unwrap();
    assert_eq!(next, got.last().unwrap().lsn + 1);
}

#[test]
fn fsync_eio_fences() {
    for engine in ENGINES {
        run(engine, Fault::FailSync(libc::EIO));
    }
}

#[test]
fn write_eio_fences() {
    for engine in ENGINES {
        run(engine, Fault::FailWrite(libc::EIO));
    }
}

#[test]
fn interval_policy_sync_failure_fences() {
    for engine in ENGINES {
        let d = tempdir();
        let faults = FaultInjector::new();
        let cfg = small(d.path(), engine).sync(SyncPolicy::Never);
        let wal = open_faulty(&cfg, &faults);
        wal.append(b"a").unwrap();
        faults.arm(0, Fault::FailSync(libc::EIO));
        assert!(matches!(
            wal.flush(),
            Err(Error::Fenced {
                op: "fdatasync",
                ..
            })
        ));
        assert!(matches!(wal.append(b"b"), Err(Error::Fenced { .. })));
    }
}

#[test]
fn short_write_fences() {
    for engine in ENGINES {
        run(engine, Fault::ShortWrite(0));
    }
}

/// A big batch cut short after its first block: the acknowledged prefix of the
/// log survives, the torn batch is never acknowledged, recovery cuts it.
#[test]
fn short_write_mid_batch_is_recovered() {
    for engine in ENGINES {
        let d = tempdir();
        let faults = FaultInjector::new();
        let cfg = small(d.path(), engine);
        let wal = open_faulty(&cfg, &faults);
        append_n(&wal, 1..=10, 3000);
        faults.arm(0, Fault::ShortWrite(1));
        let r = wal.append_batch((11..=30u64).map(|i| payload(i, 3000)).collect::<Vec<_>>());
        assert!(matches!(r, Err(Error::Fenced { .. })), "{r:?}");
        drop(wal);
        let (wal, rep) = Wal::open(small(d.path(), engine)).unwrap();
        assert_eq!(rep.last_lsn, 10, "{rep:?}");
        let got = replay_all(&wal, ReplayOptions::all());
        assert_eq!(lsns(&got), (1..=10).collect::<Vec<_>>());
        assert_eq!(wal.append(b"next").unwrap(), 11);
    }
}
