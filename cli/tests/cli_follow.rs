//! `xwal replay DIR --follow` and `xwal dump DIR --follow` beside a writer:
//! the entries so far, then each new one once the log proves it durable; a
//! SIGINT ends the command cleanly (exit 0, every line out).
use crate::common;

use common::*;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

/// Reads `n` lines from the follower, failing after 30 s.
fn lines(rx: &std::sync::mpsc::Receiver<String>, n: usize) -> Vec<String> {
    (0..n)
        .map(|_| {
            rx.recv_timeout(Duration::from_secs(30))
                .expect("a line in time")
        })
        .collect()
}

fn follow_then_sigint(args: &[&str], check: impl Fn(u64, &str)) {
    let d = tempdir();
    let wal = write_wal(d.path(), 3, &[], |lsn| payload(lsn, 20));
    let dir = d.path().to_str().unwrap();
    let mut all = vec![args[0], dir];
    all.extend_from_slice(&args[1..]);
    let mut child = xwal_cmd(&all)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        for l in BufReader::new(out).lines() {
            if tx.send(l.unwrap()).is_err() {
                break;
            }
        }
    });
    // The first two are proven durable by the third (the last waits for a later commit).
    for (i, l) in lines(&rx, 2).iter().enumerate() {
        check(i as u64 + 1, l);
    }
    for lsn in 4..=6 {
        assert_eq!(wal.append(&payload(lsn, 20)).unwrap(), lsn);
    }
    for (i, l) in lines(&rx, 3).iter().enumerate() {
        check(i as u64 + 3, l);
    }
    // SAFETY: a signal to our own child process.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let status = child.wait().unwrap();
    assert!(status.success(), "SIGINT ends --follow cleanly: {status}");
    reader.join().unwrap();
    assert!(rx.try_iter().all(|l| !l.is_empty()));
    wal.close().unwrap();
}

#[test]
fn replay_follow_prints_new_entries_and_ends_on_sigint() {
    follow_then_sigint(&["replay", "--follow"], |lsn, line| {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["lsn"], lsn, "{line}");
        let hex: String = payload(lsn, 20)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(v["data_hex"], hex.as_str());
    });
}

#[test]
fn dump_follow_prints_json_lines() {
    follow_then_sigint(&["dump", "--follow", "--format", "json"], |lsn, line| {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["lsn"], lsn, "{line}");
        assert_eq!(v["len"], 20);
    });
}

#[test]
fn follow_refuses_ranges_it_cannot_follow() {
    let d = tempdir();
    build_wal(d.path(), 2, 10, &[]);
    let dir = d.path().to_str().unwrap();
    for extra in [&["--backwards"][..], &["--to-lsn", "5"], &["--consume"]] {
        let mut args = vec!["replay", dir, "--follow"];
        args.extend_from_slice(extra);
        let (code, err) = xwal_err(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains("cannot be used with"), "{err}");
    }
}
