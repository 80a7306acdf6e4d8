//! Every method of `WalBackend` (Go xwal's `WALBackendInterface`), called
//! through the trait with a consumer thread on the channel, as a Go user would.
use crate::common;
use common::*;
use crossbeam_channel::{Sender, bounded};
use xwal::*;

/// Runs a Go-style replay call with a consumer thread; returns the call's result and the LSNs received.
fn collect(f: impl FnOnce(&Sender<Entry>) -> Result<()>) -> (Result<()>, Vec<Entry>) {
    let (tx, rx) = bounded::<Entry>(2);
    let consumer = std::thread::spawn(move || rx.iter().collect::<Vec<_>>());
    let r = f(&tx);
    drop(tx);
    (r, consumer.join().unwrap())
}

fn ok_lsns(f: impl FnOnce(&Sender<Entry>) -> Result<()>) -> Vec<u64> {
    let (r, v) = collect(f);
    r.unwrap();
    lsns(&v)
}

fn rev(v: Vec<u64>) -> Vec<u64> {
    v.into_iter().rev().collect()
}

/// Writes `n` batches of 5 entries; returns the last LSN.
fn write_batches<B: WalBackend>(b: &B, from: u64, n: u64) -> u64 {
    let mut next = from;
    for _ in 0..n {
        let batch: Vec<Vec<u8>> = (next..next + 5).map(|l| payload(l, 400)).collect();
        assert_eq!(b.write(batch).unwrap(), Lsn(next)..=Lsn(next + 4));
        next += 5;
    }
    next - 1
}

fn seg_last(wal: &Wal, seg: u64) -> u64 {
    let segs = wal.segments();
    let i = segs.iter().position(|s| s.segment == seg).unwrap();
    segs.get(i + 1)
        .map(|s| s.first_lsn - 1)
        .unwrap_or(wal.last_index())
        .0
}

fn seg_first(wal: &Wal, seg: u64) -> u64 {
    wal.segments()
        .iter()
        .find(|s| s.segment == seg)
        .unwrap()
        .first_lsn
        .0
}

fn range(a: u64, b: u64) -> Vec<u64> {
    (a..=b).collect()
}

#[test]
fn every_backend_method() {
    for engine in ENGINES {
        let d = tempdir();
        let cfg = small(d.path(), engine);
        let (wal, rep) = <Wal as WalBackend>::open(cfg.clone()).unwrap();
        assert_eq!(rep.last_lsn, 0);
        assert_eq!(WalBackend::last_index(&wal), 0);
        assert_eq!(WalBackend::backend_type(&wal).as_str(), "local_filesystem");
        assert_eq!(WalBackend::backend_type(&wal), BackendType::LocalFilesystem);
        assert_eq!(
            WalBackend::backend_type(&wal).to_string(),
            "local_filesystem"
        );
        assert!(ok_lsns(|tx| WalBackend::replay(&wal, tx, false)).is_empty());

        // write
        let a = write_batches(&wal, 1, 200);
        assert_eq!(a, 1000);
        assert_eq!(WalBackend::last_index(&wal), 1000);
        let cp1 = WalBackend::create_checkpoint(&wal).unwrap();
        let b = write_batches(&wal, 1001, 200);
        let cp2 = WalBackend::create_checkpoint(&wal).unwrap();
        let c = write_batches(&wal, b + 1, 100);
        assert_eq!(c, 2500);
        assert!(
            cp2.0 > cp1.0 + 1,
            "test needs segments between the checkpoints: {cp1} {cp2}"
        );

        // replay, both directions
        let fwd = collect(|tx| WalBackend::replay(&wal, tx, false));
        fwd.0.unwrap();
        assert_eq!(lsns(&fwd.1), range(1, c));
        for e in &fwd.1 {
            assert_eq!(e.data, payload(e.lsn.0, 400));
        }
        assert_eq!(
            ok_lsns(|tx| WalBackend::replay(&wal, tx, true)),
            rev(range(1, c))
        );

        // replay_from_range: segment numbers, inclusive, 0 = first present
        let (s1, s2) = (cp1.segment() + 1, cp2.segment());
        assert_eq!(
            ok_lsns(|tx| WalBackend::replay_from_range(&wal, tx, false, s1, s2)),
            range(seg_first(&wal, s1.0), seg_last(&wal, s2.0))
        );
        assert_eq!(
            ok_lsns(|tx| WalBackend::replay_from_range(&wal, tx, true, s1, s2)),
            rev(range(seg_first(&wal, s1.0), seg_last(&wal, s2.0)))
        );
        assert_eq!(
            ok_lsns(|tx| WalBackend::replay_from_range(
                &wal,
                tx,
                false,
                SegmentId(0),
                cp1.segment()
            )),
            range(1, 1000)
        );

        // replay_from_checkpoint / replay_to_checkpoint
        assert_eq!(
            ok_lsns(|tx| WalBackend::replay_from_checkpoint(&wal, tx, cp2, false)),
            range(seg_first(&wal, cp2.0), c)
        );
        assert_eq!(
            ok_lsns(|tx| WalBackend::replay_from_checkpoint(&wal, tx, cp1, true)),
            rev(range(seg_first(&wal, cp1.0), c))
        );
        assert_eq!(
            ok_lsns(|tx| WalBackend::replay_to_checkpoint(&wal, tx, cp1, false)),
            range(1, 1000)
        );
        assert_eq!(
            ok_lsns(|tx| WalBackend::replay_to_checkpoint(&wal, tx, cp2, true)),
            rev(range(1, b))
        );
        // A segment that is not a checkpoint.
        let (r, v) =
            collect(|tx| WalBackend::replay_from_checkpoint(&wal, tx, CheckpointId(s1.0), false));
        assert!(
            matches!(r, Err(Error::NotFound { what: "checkpoint", number }) if number == s1),
            "{r:?}"
        );
        assert!(v.is_empty());
        let (r, _) = collect(|tx| {
            WalBackend::replay_to_checkpoint(&wal, tx, xwal::CheckpointId(9999), false)
        });
        assert!(matches!(r, Err(Error::NotFound { .. })), "{r:?}");

        // inc_last_index: consumes an LSN, durably, without an entry
        assert_eq!(WalBackend::inc_last_index(&wal).unwrap(), c + 1);
        assert_eq!(WalBackend::last_index(&wal), c + 1);
        assert_eq!(
            wal.write(vec![payload(c + 2, 400)]).unwrap(),
            Lsn(c + 2)..=Lsn(c + 2)
        );
        assert_eq!(WalBackend::inc_last_index(&wal).unwrap(), c + 3);
        let mut expect = range(1, c);
        expect.push(c + 2);
        assert_eq!(ok_lsns(|tx| WalBackend::replay(&wal, tx, false)), expect);
        assert_eq!(
            ok_lsns(|tx| WalBackend::replay(&wal, tx, true)),
            rev(expect.clone())
        );
        WalBackend::close(&wal).unwrap();
        drop(wal);

        // Across a reopen: the skipped LSNs stay consumed, and the last one (a skip) counts.
        let (wal, rep) = <Wal as WalBackend>::open(cfg.clone()).unwrap();
        assert_eq!(rep.last_lsn, c + 3, "{rep:?}");
        assert_eq!(WalBackend::last_index(&wal), c + 3);
        assert_eq!(ok_lsns(|tx| WalBackend::replay(&wal, tx, false)), expect);
        assert_eq!(
            wal.write(vec![payload(c + 4, 400)]).unwrap(),
            Lsn(c + 4)..=Lsn(c + 4)
        );
        expect.push(c + 4);
        assert_eq!(ok_lsns(|tx| WalBackend::replay(&wal, tx, false)), expect);
        assert_eq!(
            ok_lsns(|tx| WalBackend::replay_from_checkpoint(&wal, tx, cp2, false)).first(),
            Some(&seg_first(&wal, cp2.0))
        );
        WalBackend::close(&wal).unwrap();
        WalBackend::close(&wal).unwrap();
    }
}

#[test]
fn inc_last_index_on_a_fresh_wal_persists() {
    for engine in ENGINES {
        let d = tempdir();
        let cfg = small(d.path(), engine);
        {
            let (wal, _) = <Wal as WalBackend>::open(cfg.clone()).unwrap();
            assert_eq!(WalBackend::inc_last_index(&wal).unwrap(), 1);
            assert_eq!(WalBackend::inc_last_index(&wal).unwrap(), 2);
            WalBackend::close(&wal).unwrap();
        }
        let (wal, rep) = <Wal as WalBackend>::open(cfg.clone()).unwrap();
        assert_eq!(rep.last_lsn, 2, "{rep:?}");
        assert!(ok_lsns(|tx| WalBackend::replay(&wal, tx, false)).is_empty());
        assert_eq!(wal.write(vec![b"x".to_vec()]).unwrap(), Lsn(3)..=Lsn(3));
        assert_eq!(ok_lsns(|tx| WalBackend::replay(&wal, tx, false)), vec![3]);
    }
}
