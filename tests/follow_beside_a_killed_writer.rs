//! A follower process beside a writer process: the writer (a child process,
//! 4 threads appending, checkpoints) is SIGKILLed and reopened several times;
//! the follower, a read-only view in this process, tails the directory the
//! whole time. It sees exactly the durable entries, in order, none twice:
//! what it delivered is a prefix of the final log, byte for byte, and holds
//! every entry a writer acknowledged.
use crate::common;
use common::child::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use xwal::{Config, Entry, IoEngine, ReplayOptions, Wal};

#[test]
fn child() {
    child_main();
}

fn config(dir: &std::path::Path) -> Config {
    Config::new(dir)
        .segment_size(256 << 10)
        .max_entry_size(16 << 10)
}

#[test]
fn a_follower_sees_exactly_the_durable_entries_across_sigkills() {
    if std::env::var_os(CHILD_DIR).is_some() {
        return;
    }
    let d = common::tempdir();
    Wal::open(config(d.path())).unwrap().0.close().unwrap();
    let (view, _) = Wal::open_read_only(config(d.path())).unwrap();
    let mut tail = view.tail(xwal::Lsn(1)).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let follower = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut got: Vec<Entry> = Vec::new();
            loop {
                match tail.next_batch_timeout(Duration::from_millis(20)) {
                    Ok(Some(b)) => got.extend(b.iter().map(|(lsn, data)| Entry {
                        lsn,
                        data: data.to_vec(),
                    })),
                    Ok(None) if stop.load(Ordering::Acquire) => return got,
                    Ok(None) => {}
                    Err(e) => panic!("follower failed: {e}"),
                }
            }
        })
    };
    let mut acks = Vec::new();
    for cycle in 0..4u64 {
        let engine = if cycle % 2 == 0 { "uring" } else { "sync" };
        let mut c = spawn_child(
            &common::test_name(module_path!(), "child"),
            d.path(),
            engine,
        );
        let reader = read_acks(c.stdout.take().unwrap());
        std::thread::sleep(Duration::from_millis(150 + cycle * 60));
        c.kill().unwrap(); // SIGKILL
        c.wait().unwrap();
        acks.extend(reader.join().unwrap());
    }
    // A last writer commits twice: the second commit proves the first durable.
    let (wal, _) = Wal::open(config(d.path()).io_engine(IoEngine::Uring)).unwrap();
    let sentinel = wal.append(b"sentinel").unwrap();
    wal.append(b"proof").unwrap();
    let log: Vec<Entry> = wal
        .replay(ReplayOptions::all())
        .unwrap()
        .collect::<xwal::Result<_>>()
        .unwrap();
    wal.close().unwrap();
    // Sealed-segment and durable-LSN proofs reach the sentinel within a look or two.
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Release);
    let got = follower.join().unwrap();
    let upto = log.iter().position(|e| e.lsn == sentinel).unwrap() + 1;
    assert!(
        got.len() >= upto,
        "the follower reached the sentinel: {} of {upto}",
        got.len()
    );
    assert!(got.len() <= log.len());
    for (i, (g, l)) in got.iter().zip(&log).enumerate() {
        assert_eq!(
            g, l,
            "entry {i}: in order, none twice, the bytes of the final log"
        );
    }
    let delivered: std::collections::HashSet<u64> = got.iter().map(|e| e.lsn.0).collect();
    assert!(
        acks.len() > 100,
        "the writers got going: {} acks",
        acks.len()
    );
    for (lsn, t, s, n) in &acks {
        assert!(
            delivered.contains(lsn),
            "acknowledged LSN {lsn} was not delivered"
        );
        let e = &got[got.iter().position(|e| e.lsn == *lsn).unwrap()];
        assert_eq!(e.data, child_payload(*t, *s, *n));
    }
}
