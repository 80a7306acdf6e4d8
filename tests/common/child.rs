//! A child process that appends under load and reports each acknowledged LSN
//! on stdout ("A <lsn> <thread> <seq> <len>"), for the kill and power-cut tests.
#![allow(dead_code)]

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use xwal::*;

pub const CHILD_DIR: &str = "XWAL_CHILD_DIR";
pub const CHILD_ENGINE: &str = "XWAL_CHILD_ENGINE";

pub fn child_payload(thread: u64, seq: u64, len: usize) -> Vec<u8> {
    let mut v = thread.to_le_bytes().to_vec();
    v.extend_from_slice(&seq.to_le_bytes());
    v.extend((0..len.saturating_sub(16)).map(|i| (thread * 131 + seq * 7 + i as u64) as u8));
    v
}

/// Runs the child workload forever if this process is the child; returns otherwise.
pub fn child_main() {
    let Ok(dir) = std::env::var(CHILD_DIR) else {
        return;
    };
    let engine = match std::env::var(CHILD_ENGINE).as_deref() {
        Ok("sync") => IoEngine::Sync,
        _ => IoEngine::Uring,
    };
    let cfg = Config::new(&dir)
        .segment_size(256 << 10)
        .max_entry_size(16 << 10)
        .io_engine(engine);
    let (wal, _) = Wal::open(cfg).expect("child open");
    let wal = Arc::new(wal);
    let out = Arc::new(Mutex::new(std::io::stdout()));
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            let (wal, out) = (wal.clone(), out.clone());
            std::thread::spawn(move || {
                let pid = std::process::id() as u64;
                for seq in 0u64.. {
                    let len = 16 + ((seq * 37 + t * 11) % 2000) as usize;
                    let tag = pid << 8 | t;
                    let data = child_payload(tag, seq, len);
                    let lsn = wal.append(&data).expect("child append");
                    let mut o = out.lock().unwrap();
                    writeln!(o, "A {lsn} {tag} {seq} {len}").unwrap();
                    o.flush().unwrap();
                    if t == 0 && seq % 97 == 96 {
                        wal.create_checkpoint().expect("child checkpoint");
                    }
                }
            })
        })
        .collect();
    for t in threads {
        let _ = t.join();
    }
}

/// Starts this test binary as the child on `dir`.
pub fn spawn_child(test_name: &str, dir: &std::path::Path, engine: &str) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test_name, "--nocapture", "--test-threads=1"])
        .env(CHILD_DIR, dir)
        .env(CHILD_ENGINE, engine)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Reads acknowledgements until the pipe closes. Incomplete last lines are dropped.
pub fn read_acks(
    out: std::process::ChildStdout,
) -> std::thread::JoinHandle<Vec<(u64, u64, u64, usize)>> {
    std::thread::spawn(move || {
        use std::io::BufRead;
        let mut v = vec![];
        for line in std::io::BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            let f: Vec<&str> = line.split(' ').collect();
            if f.len() == 5
                && f[0] == "A"
                && let (Ok(l), Ok(t), Ok(s), Ok(n)) =
                    (f[1].parse(), f[2].parse(), f[3].parse(), f[4].parse())
            {
                v.push((l, t, s, n));
            }
        }
        v
    })
}

/// Checks every acknowledged entry against a replay of `dir`.
pub fn verify_acks(
    dir: &std::path::Path,
    engine: IoEngine,
    acks: &[(u64, u64, u64, usize)],
) -> Result<u64, String> {
    let cfg = Config::new(dir)
        .segment_size(256 << 10)
        .max_entry_size(16 << 10)
        .io_engine(engine);
    let (wal, _) = Wal::open(cfg).map_err(|e| format!("reopen failed: {e}"))?;
    let r = wal
        .replay(ReplayOptions::all())
        .map_err(|e| e.to_string())?;
    let got: std::collections::HashMap<u64, Vec<u8>> =
        r.receiver().iter().map(|e| (e.lsn.0, e.data)).collect();
    r.finish().map_err(|e| format!("replay failed: {e}"))?;
    for &(lsn, t, s, n) in acks {
        match got.get(&lsn) {
            None => return Err(format!("acknowledged LSN {lsn} lost")),
            Some(d) if *d != child_payload(t, s, n) => {
                return Err(format!("acknowledged LSN {lsn} corrupt"));
            }
            _ => {}
        }
    }
    wal.close().map_err(|e| e.to_string())?;
    Ok(got.len() as u64)
}
