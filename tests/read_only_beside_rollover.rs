//! `Wal::open_read_only` beside a live writer that rolls over and checkpoints
//! all the time: every open succeeds (a segment renamed while the directory is
//! listed, `.preparing` to its final name or to `.checkpoint.seg`, is followed
//! or skipped, never an error), and what it sees replays without a gap.
use crate::common;
use common::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use xwal::*;

#[test]
fn read_only_opens_never_fail_beside_rollovers() {
    let d = tempdir();
    let cfg = Config::new(d.path())
        .segment_size(64 << 10)
        .max_entry_size(8 << 10)
        .io_engine(IoEngine::Sync);
    let wal = Arc::new(Wal::open(cfg.clone()).unwrap().0);
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (wal, stop) = (wal.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                wal.append(&payload(i, 3000)).unwrap();
                if i.is_multiple_of(50) {
                    wal.create_checkpoint().unwrap();
                }
            }
            i
        })
    };
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut opens = 0;
    while Instant::now() < deadline {
        let (ro, _) = Wal::open_read_only(cfg.clone())
            .unwrap_or_else(|e| panic!("read-only open {opens} failed: {e}"));
        let segs = ro.segments();
        for w in segs.windows(2) {
            assert_eq!(w[1].segment, w[0].segment + 1, "gap in {segs:?}");
        }
        opens += 1;
    }
    stop.store(true, Ordering::Relaxed);
    let written = writer.join().unwrap();
    eprintln!("{opens} read-only opens beside {written} appends");
    assert!(
        opens > 50 && written > 500,
        "too little happened: {opens} opens, {written} appends"
    );
}
