//! Real processes: a child appends under load and reports each acknowledged LSN
//! over a pipe; the parent SIGKILLs it at random moments, reopens the directory
//! and verifies every acknowledged LSN. XWAL_KILL_CYCLES sets the cycles
//! (default 12); scripts/crash-kill.sh --cycles N runs more.
use crate::common;
use common::child::*;
use xwal::IoEngine;

#[test]
fn child() {
    child_main();
}

#[test]
fn sigkill_loses_nothing_acknowledged() {
    if std::env::var_os(CHILD_DIR).is_some() {
        return;
    }
    let cycles: u64 = std::env::var("XWAL_KILL_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12);
    let d = common::tempdir();
    let mut all = vec![];
    let mut rng = 0x1234_5678_u64 ^ std::process::id() as u64;
    let (mut max_lsn, mut total_acks) = (0u64, 0usize);
    for cycle in 0..cycles {
        let engine = if cycle % 2 == 0 { "uring" } else { "sync" };
        let mut c = spawn_child(
            &common::test_name(module_path!(), "child"),
            d.path(),
            engine,
        );
        let reader = read_acks(c.stdout.take().unwrap());
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        std::thread::sleep(std::time::Duration::from_millis(20 + rng % 250));
        c.kill().unwrap(); // SIGKILL
        c.wait().unwrap();
        let acks = reader.join().unwrap();
        let mut fresh: Vec<u64> = acks.iter().map(|a| a.0).collect();
        fresh.sort_unstable();
        fresh.dedup();
        assert_eq!(
            fresh.len(),
            acks.len(),
            "cycle {cycle}: an LSN was acknowledged twice"
        );
        assert!(
            fresh.first().is_none_or(|l| *l > max_lsn),
            "cycle {cycle}: LSN reused after restart"
        );
        max_lsn = max_lsn.max(acks.iter().map(|a| a.0).max().unwrap_or(0));
        total_acks += acks.len();
        all.extend(acks);
        let eng = if engine == "uring" {
            IoEngine::Uring
        } else {
            IoEngine::Sync
        };
        if let Err(e) = verify_acks(d.path(), eng, &all) {
            panic!("cycle {cycle}: {e}\nreproduce with: scripts/crash-kill.sh --cycles {cycles}");
        }
    }
    eprintln!(
        "crash-kill: {cycles} SIGKILL cycles, {total_acks} acknowledged appends verified, 0 lost, 0 corrupt"
    );
    assert!(total_acks > 0, "the child never acknowledged anything");
}
