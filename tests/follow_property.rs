//! A follower beside a writer process doing random things: appends of random
//! sizes, atomic groups, checkpoints, rotations, purges, consuming replays,
//! in tiny segments (rollovers every few appends), SIGKILLed at random
//! moments and reopened. Each run ends with what the follower delivered
//! being a prefix of the final log, byte for byte, or with a named error
//! (`TailBehindRemoval` when a purge or consume took what it still needed);
//! never `Corruption` on a log nobody damaged, and never a wait that
//! outlives the log's end.
//!
//! XWAL_FOLLOW_SEEDS (default 4) sets how many seeds run.
use crate::common;

use common::child::child_payload;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use xwal::{Config, Error, ReplayOptions, Wal};

const SEED_VAR: &str = "XWAL_FOLLOW_CHILD_SEED";
const DIR_VAR: &str = "XWAL_FOLLOW_CHILD_DIR";

fn config(dir: &std::path::Path) -> Config {
    Config::new(dir)
        .segment_size(64 << 10)
        .max_entry_size(8 << 10)
}

struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

/// The child: a writer running a random script until it is killed.
#[test]
fn child() {
    let (Ok(dir), Ok(seed)) = (std::env::var(DIR_VAR), std::env::var(SEED_VAR)) else {
        return;
    };
    let mut rng = Rng(seed.parse::<u64>().unwrap() | 1);
    let (wal, _) = Wal::open(config(dir.as_ref())).expect("child open");
    let tag = std::process::id() as u64;
    for seq in 0u64.. {
        match rng.below(100) {
            0..=59 => {
                let len = 16 + rng.below(3000) as usize;
                wal.append(&child_payload(tag, seq, len)).expect("append");
            }
            60..=69 => {
                let n = 2 + rng.below(4);
                let group: Vec<_> = (0..n)
                    .map(|i| child_payload(tag, seq * 8 + i, 200))
                    .collect();
                wal.append_batch(group).expect("append_batch");
            }
            70..=77 => {
                wal.create_checkpoint().expect("checkpoint");
            }
            78..=83 => {
                wal.rotate().expect("rotate");
            }
            84..=88 => {
                // The oldest segments, keeping the newest eight.
                let segs = wal.segments();
                if segs.len() > 10 {
                    wal.purge_through(segs[segs.len() - 9].segment)
                        .expect("purge");
                }
            }
            89 if wal.segments().len() > 40 => {
                let mut r = wal
                    .replay(ReplayOptions::all().consume(true))
                    .expect("consume");
                for _ in r.by_ref() {}
                r.finish().expect("consume");
            }
            _ => std::thread::sleep(Duration::from_micros(300)),
        }
    }
}

/// What the follower delivered, and the error it ended with.
type Followed = (Vec<(u64, Vec<u8>)>, Option<Error>);

fn follow(mut tail: xwal::Tail, target: Arc<AtomicU64>) -> Followed {
    let mut got: Vec<(u64, Vec<u8>)> = Vec::new();
    let mut deadline: Option<Instant> = None;
    loop {
        let want = target.load(Ordering::Acquire);
        if got.last().is_some_and(|(l, _)| *l >= want) {
            return (got, None);
        }
        if want != u64::MAX {
            // The log has ended: the follower must get there, not wait on.
            let d = *deadline.get_or_insert_with(|| Instant::now() + Duration::from_secs(30));
            assert!(
                Instant::now() < d,
                "the follower waited past the log's end (LSN {want}), at {:?}",
                got.last().map(|e| e.0)
            );
        }
        match tail.next_batch_timeout(Duration::from_millis(20)) {
            Ok(Some(b)) => got.extend(b.iter().map(|(l, d)| (l.0, d.to_vec()))),
            Ok(None) => {}
            Err(e) => return (got, Some(e)),
        }
    }
}

fn run_seed(seed: u64) -> Result<String, String> {
    let d = common::tempdir();
    Wal::open(config(d.path())).unwrap().0.close().unwrap();
    let (view, _) = Wal::open_read_only(config(d.path())).unwrap();
    let tail = view.tail(xwal::Lsn(1)).unwrap();
    let target = Arc::new(AtomicU64::new(u64::MAX));
    let follower = {
        let target = target.clone();
        std::thread::spawn(move || follow(tail, target))
    };
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    for cycle in 0..3u64 {
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                &common::test_name(module_path!(), "child"),
                "--nocapture",
                "--test-threads=1",
            ])
            .env(DIR_VAR, d.path())
            .env(SEED_VAR, (seed * 10 + cycle).to_string())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(150 + rng.below(350)));
        if let Ok(Some(status)) = child.try_wait() {
            let mut err = String::new();
            std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).ok();
            return Err(format!("the writer exited on its own ({status}): {err}"));
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
    }
    // The log's end: recovered and closed. Nothing later proves its last
    // commit; the follower sees that no writer is left.
    let (wal, _) = Wal::open(config(d.path())).map_err(|e| format!("reopen: {e}"))?;
    let last = wal.last_index();
    let log: BTreeMap<u64, Vec<u8>> = wal
        .replay(ReplayOptions::all())
        .unwrap()
        .map(|e| e.map(|e| (e.lsn.0, e.data)))
        .collect::<xwal::Result<_>>()
        .map_err(|e| format!("replay: {e}"))?;
    wal.close().unwrap();
    target.store(last.0, Ordering::Release);
    let (got, err) = follower
        .join()
        .map_err(|_| "the follower panicked".to_string())?;
    match &err {
        None | Some(Error::TailBehindRemoval { .. }) => {}
        Some(e) => return Err(format!("after {} entries: {e}", got.len())),
    }
    for (i, (lsn, data)) in got.iter().enumerate() {
        if *lsn != i as u64 + 1 {
            return Err(format!(
                "delivered LSN {lsn} at position {i}: skipped or repeated"
            ));
        }
        if let Some(want) = log.get(lsn) {
            if want != data {
                return Err(format!(
                    "LSN {lsn} delivered with other bytes than the log holds"
                ));
            }
        } else if log.keys().next().is_some_and(|first| lsn >= first) {
            return Err(format!("LSN {lsn} was delivered but is not in the log"));
        }
    }
    let first_in_log = log.keys().next().copied().unwrap_or(1);
    if err.is_none() && got.iter().filter(|(l, _)| *l >= first_in_log).count() != log.len() {
        return Err("the follower ended without the whole log".into());
    }
    Ok(format!(
        "seed {seed}: {} delivered, log {}..={last}, ended {:?}",
        got.len(),
        first_in_log,
        err.map(|e| e.to_string())
    ))
}

#[test]
fn a_follower_beside_a_random_writer_delivers_a_prefix_of_the_log() {
    if std::env::var_os(DIR_VAR).is_some() {
        return;
    }
    let seeds: u64 = std::env::var("XWAL_FOLLOW_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4);
    for seed in 1..=seeds {
        match run_seed(seed) {
            Ok(summary) => eprintln!("{summary}"),
            Err(e) => panic!("seed {seed}: {e}"),
        }
    }
}
