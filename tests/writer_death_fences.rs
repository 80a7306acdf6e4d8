//! Whatever ends the writer thread (here a panic) fences the WAL: every
//! waiter and every later call gets an error, nothing is acknowledged again,
//! and `close` and `Drop` return. Numbers near `u64::MAX` in a header are
//! refused at open, and the writer stops before an LSN or segment number wraps.
use crate::common;
use common::*;
#[cfg(feature = "test-seams")]
use std::time::{Duration, Instant};
use xwal::format::{MAX_LSN, MAX_SEGMENT, SegmentHeader};
use xwal::*;

/// Runs `f` on a thread and fails the test if it does not return in time.
#[cfg(feature = "test-seams")]
fn within<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(30))
        .unwrap_or_else(|_| panic!("{what} did not return within 30 s"))
}

/// Opens `cfg` with a writer that panics when it takes LSN `lsn` (a stand-in
/// for any bug that kills the writer thread).
#[cfg(feature = "test-seams")]
fn open_panicking_at(cfg: &Config, lsn: u64) -> Wal {
    use xwal::seams::{Chaos, Seams};
    let chaos = Chaos {
        panic_writer_at_lsn: Some(lsn),
        ..Chaos::default()
    };
    Wal::open_with(
        cfg.clone(),
        Seams {
            chaos,
            ..Seams::default()
        },
    )
    .unwrap()
    .0
}

#[cfg(feature = "test-seams")]
#[test]
fn a_writer_panic_answers_everyone_and_close_returns() {
    for engine in ENGINES {
        let d = tempdir();
        let cfg = small(d.path(), engine).queue_depth(4);
        let wal = std::sync::Arc::new(open_panicking_at(&cfg, 3));
        assert_eq!(wal.append(b"one").unwrap(), 1);
        assert_eq!(wal.append(b"two").unwrap(), 2);
        // Producers racing the death, some blocked on the full queue.
        let producers: Vec<_> = (0..16)
            .map(|i| {
                let w = wal.clone();
                std::thread::spawn(move || w.append(format!("p{i}").as_bytes()))
            })
            .collect();
        for p in producers {
            let r = within("a producer", move || p.join().unwrap());
            assert!(r.is_err(), "acknowledged after the writer died: {r:?}");
        }
        let later = wal.append(b"late");
        assert!(matches!(later, Err(Error::Fenced { .. })), "{later:?}");
        assert!(matches!(wal.flush(), Err(Error::Fenced { .. })));
        let w = wal.clone();
        let closed = within("close", move || w.close());
        assert!(matches!(closed, Err(Error::Fenced { .. })), "{closed:?}");
        within("drop", move || drop(wal));
        // Everything acknowledged is there.
        let (wal, rep) = Wal::open(small(d.path(), engine)).unwrap();
        assert_eq!(rep.last_lsn, 2);
        assert_eq!(wal.append(b"three").unwrap(), 3);
    }
}

#[cfg(feature = "test-seams")]
#[test]
fn drop_alone_returns_after_a_writer_panic() {
    let d = tempdir();
    let cfg = small(d.path(), IoEngine::Uring);
    let wal = open_panicking_at(&cfg, 1);
    assert!(wal.append(b"dies").is_err());
    let started = Instant::now();
    within("drop", move || drop(wal));
    assert!(started.elapsed() < Duration::from_secs(30));
}

/// Writes a segment file with this header and nothing else (as a crafted or
/// damaged file would be).
fn craft_segment(cfg: &Config, segment: u64, first_lsn: u64) {
    std::fs::create_dir_all(&cfg.dir).unwrap();
    let h = SegmentHeader {
        segment,
        first_lsn,
        salt: 0x5A17_0001,
        max_entry_size: cfg.max_entry_size as u32,
        capacity: cfg.segment_size,
        inflight_bytes: xwal::format::inflight_bound(1, cfg.max_batch_bytes, cfg.max_entry_size),
        lsn_gap_before: false,
    };
    let mut file = vec![0u8; cfg.segment_size as usize];
    h.encode(&mut file);
    std::fs::write(xwal::format::segment_path(&cfg.dir, segment, false), &file).unwrap();
}

#[test]
fn headers_without_room_to_continue_are_refused() {
    for (segment, first_lsn) in [
        (0, u64::MAX),
        (0, MAX_LSN + 1),
        (u64::MAX, 1),
        (MAX_SEGMENT + 1, 1),
    ] {
        let d = tempdir();
        let cfg = small(d.path(), IoEngine::Uring);
        craft_segment(&cfg, segment, first_lsn);
        match Wal::open(cfg.clone()) {
            Err(Error::Corruption {
                segment: s, reason, ..
            }) => {
                assert_eq!(s, segment);
                assert!(reason.contains("no room"), "{reason}");
            }
            other => panic!("segment {segment} first LSN {first_lsn}: {other:?}"),
        }
        // A view opens, reads nothing past it, and reports it.
        let (view, report) = Wal::open_read_only(cfg).unwrap();
        let damage = report.damage.expect("the refused header is reported");
        assert!(damage.reason.contains("no room"), "{damage:?}");
        assert_eq!(view.last_index(), 0);
    }
}

#[test]
fn the_last_lsn_is_handed_out_once_and_never_wraps() {
    let d = tempdir();
    let cfg = small(d.path(), IoEngine::Uring);
    craft_segment(&cfg, 0, MAX_LSN - 1);
    let wal = open(&cfg);
    assert_eq!(wal.append(b"a").unwrap(), MAX_LSN - 1);
    assert_eq!(wal.append(b"b").unwrap(), MAX_LSN);
    for _ in 0..3 {
        let r = wal.append(b"c");
        assert!(matches!(r, Err(Error::Exhausted { .. })), "{r:?}");
    }
    assert!(matches!(
        wal.append_batch(["x", "y"]),
        Err(Error::Exhausted { .. })
    ));
    assert!(matches!(wal.inc_last_index(), Err(Error::Exhausted { .. })));
    wal.close().unwrap();
    let (wal, rep) = Wal::open(cfg).unwrap();
    assert_eq!(rep.last_lsn, MAX_LSN);
    let got = replay_all(&wal, ReplayOptions::all());
    assert_eq!(lsns(&got), [MAX_LSN - 1, MAX_LSN]);
}

#[test]
fn the_last_segment_number_is_never_passed() {
    let d = tempdir();
    let cfg = small(d.path(), IoEngine::Uring);
    craft_segment(&cfg, MAX_SEGMENT, 1);
    let wal = open(&cfg);
    assert_eq!(wal.append(b"a").unwrap(), 1);
    // A checkpoint seals the segment; the next one would be MAX_SEGMENT + 1.
    assert_eq!(wal.create_checkpoint().unwrap(), MAX_SEGMENT);
    let r = wal.append(b"b");
    assert!(matches!(r, Err(Error::Exhausted { .. })), "{r:?}");
    drop(wal);
    let r = Wal::open(cfg.clone());
    assert!(
        matches!(r, Err(Error::Exhausted { .. })),
        "{:?}",
        r.map(|_| ())
    );
    let (wal, rep) = Wal::open_read_only(cfg).unwrap();
    assert_eq!(rep.last_lsn, 1);
    assert_eq!(lsns(&replay_all(&wal, ReplayOptions::all())), [1]);
}
