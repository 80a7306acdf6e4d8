//! The log store under SIGKILL: a child process drives it through appends
//! (each reported once openraft's flushed callback fired), truncations,
//! purges and votes (each reported once it returned); the parent kills it at
//! random moments, reopens the directory and checks that everything it was
//! told is there: every flushed entry not truncated or purged since, with
//! its log id; no truncated entry ever comes back; the vote and the purge
//! point are at least what was reported. XWAL_RAFT_KILL_CYCLES sets the
//! cycles (default 8).
//!
//! A kill can land between a truncation's durable record and the line that
//! reports it, so the child announces each truncation before it starts
//! (`t`): the parent then accepts the suffix from there whole or gone
//! (never part of it), and a suffix gone counts as truncated from then on.

use openraft::storage::{RaftLogStorage, RaftLogStorageExt};
use openraft::{CommittedLeaderId, EntryPayload, RaftLogReader, Vote};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;
use xwal_openraft::{Batch, Entry, LogId, Request, XwalLogStore};

const CHILD_DIR: &str = "XWAL_RAFT_CHILD_DIR";

fn config(dir: &std::path::Path) -> xwal::Config {
    xwal::Config::new(dir)
        .segment_size(256 << 10)
        .max_entry_size(64 << 10)
}

/// An entry as the proposer makes them: a batch of 1 to 64 requests.
fn entry(term: u64, index: u64) -> Entry {
    let requests = (0..1 + index % 64)
        .map(|i| Request {
            key: format!("k{index}-{i}"),
            value: "v".repeat(((index + i) % 300) as usize),
        })
        .collect();
    Entry {
        log_id: LogId::new(CommittedLeaderId::new(term, 1), index),
        payload: EntryPayload::Normal(Batch { requests }),
    }
}

/// The child: runs until killed, printing what the store acknowledged.
async fn child(dir: &str) {
    let mut store = XwalLogStore::open(config(std::path::Path::new(dir))).expect("open");
    let state = store.get_log_state().await.expect("state");
    let mut last = state.last_log_id.map_or(0, |l| l.index);
    let mut term = state.last_log_id.map_or(1, |l| l.leader_id.term) + 1;
    let mut purged = state.last_purged_log_id.map_or(0, |l| l.index);
    let vote = store
        .read_vote()
        .await
        .expect("vote")
        .map_or(0, |v| v.leader_id.term);
    let mut x = std::process::id() as u64 | 1;
    let mut out = std::io::stdout();
    for round in 0u64.. {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        match x % 20 {
            0 if last > 5 && last - 5 > purged => {
                let at = last - x % 5;
                writeln!(out, "@t {at}").unwrap();
                out.flush().unwrap();
                store
                    .truncate(LogId::new(CommittedLeaderId::new(term, 1), at))
                    .await
                    .expect("truncate");
                last = at - 1;
                term += 1;
                writeln!(out, "@T {at}").unwrap();
                out.flush().unwrap();
                // A kill in this pause finds the truncation with nothing
                // appended after it: only its own record keeps it.
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            1 if last > 100 && last - 60 > purged => {
                let upto = last - 60;
                purged = upto;
                let log_id = store.try_get_log_entries(upto..=upto).await.expect("read")[0].log_id;
                store.purge(log_id).await.expect("purge");
                writeln!(out, "@P {upto}").unwrap();
                out.flush().unwrap();
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            2 => {
                let v = Vote::new(vote + round + 1, 1);
                store.save_vote(&v).await.expect("vote");
                writeln!(out, "@V {}", v.leader_id.term).unwrap();
            }
            _ => {
                let n = 1 + x % 16;
                let batch: Vec<Entry> = (last + 1..=last + n).map(|i| entry(term, i)).collect();
                store.blocking_append(batch).await.expect("append");
                last += n;
                writeln!(out, "@F {} {} {term}", last - n + 1, last).unwrap();
            }
        }
        out.flush().unwrap();
    }
}

#[test]
fn child_process() {
    if let Ok(dir) = std::env::var(CHILD_DIR) {
        tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(child(&dir));
    }
}

/// What the store must hold: index -> log id; and what must never come back.
#[derive(Default)]
struct Model {
    acked: BTreeMap<u64, LogId>,
    truncated: BTreeSet<LogId>,
    /// A truncation announced and not reported: it may or may not have run.
    truncating: Option<u64>,
    purged: u64,
    vote: u64,
}

impl Model {
    fn apply(&mut self, line: &str) {
        let f: Vec<u64> = line[1..]
            .split(' ')
            .filter_map(|v| v.parse().ok())
            .collect();
        match (line.as_bytes()[0], f.as_slice()) {
            (b'F', [a, b, term]) => {
                for i in *a..=*b {
                    self.acked
                        .insert(i, LogId::new(CommittedLeaderId::new(*term, 1), i));
                }
            }
            (b't', [at]) => self.truncating = Some(*at),
            (b'T', [at]) => {
                self.truncating = None;
                let gone = self.acked.split_off(at);
                self.truncated.extend(gone.into_values());
            }
            (b'P', [upto]) => {
                self.purged = self.purged.max(*upto);
                self.acked = self.acked.split_off(&(upto + 1));
            }
            (b'V', [term]) => self.vote = self.vote.max(*term),
            _ => {}
        }
    }

    /// Settles an announced truncation by what the store holds: the acked
    /// suffix from its index on is all there (it did not run) or all gone.
    fn settle_truncation(&mut self, got: &BTreeMap<u64, LogId>, cycle: u64) {
        let Some(at) = self.truncating.take() else {
            return;
        };
        let kept = self.acked.range(at..).filter(|(i, _)| got.contains_key(i));
        let (kept, suffix) = (kept.count(), self.acked.range(at..).count());
        assert!(
            kept == 0 || kept == suffix,
            "cycle {cycle}: a truncation from {at} kept {kept} of {suffix} entries"
        );
        if kept == 0 {
            let gone = self.acked.split_off(&at);
            self.truncated.extend(gone.into_values());
        }
    }
}

async fn check(dir: &std::path::Path, model: &mut Model, cycle: u64) -> u64 {
    let mut store = XwalLogStore::open(config(dir)).expect("reopen");
    let state = store.get_log_state().await.unwrap();
    let purged = state.last_purged_log_id.map_or(0, |l| l.index);
    assert!(
        purged >= model.purged,
        "cycle {cycle}: purged {purged} < reported {}",
        model.purged
    );
    let vote = store
        .read_vote()
        .await
        .unwrap()
        .map_or(0, |v| v.leader_id.term);
    assert!(
        vote >= model.vote,
        "cycle {cycle}: vote {vote} < reported {}",
        model.vote
    );
    let entries = store.try_get_log_entries(..).await.unwrap();
    let got: BTreeMap<u64, LogId> = entries.iter().map(|e| (e.log_id.index, e.log_id)).collect();
    model.settle_truncation(&got, cycle);
    for (i, id) in &model.acked {
        if *i > purged {
            assert_eq!(
                got.get(i),
                Some(id),
                "cycle {cycle}: flushed entry {i} lost or changed"
            );
        }
    }
    // Every batch comes back whole: each of its requests, in order.
    for e in &entries {
        let want = entry(e.log_id.leader_id.term, e.log_id.index);
        assert_eq!(
            serde_json::to_string(&e.payload).unwrap(),
            serde_json::to_string(&want.payload).unwrap(),
            "cycle {cycle}: entry {} holds another batch",
            e.log_id.index
        );
    }
    for id in got.values() {
        assert!(
            !model.truncated.contains(id),
            "cycle {cycle}: truncated {id} came back"
        );
    }
    let indexes: Vec<u64> = got.keys().copied().collect();
    assert!(
        indexes.windows(2).all(|w| w[1] == w[0] + 1),
        "cycle {cycle}: a hole in the log"
    );
    entries.len() as u64
}

#[test]
fn sigkill_keeps_what_openraft_was_told() {
    if std::env::var_os(CHILD_DIR).is_some() {
        return;
    }
    let cycles: u64 = std::env::var("XWAL_RAFT_KILL_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    let d = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let mut model = Model::default();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut lines_seen = 0;
    let mut kinds = BTreeMap::<u8, usize>::new();
    for cycle in 0..cycles {
        let mut c = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "child_process",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_DIR, d.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let out = c.stdout.take().unwrap();
        // Only whole lines: one cut by the kill may have lost digits.
        let reader = std::thread::spawn(move || {
            let mut all = String::new();
            let _ = std::io::Read::read_to_string(&mut std::io::BufReader::new(out), &mut all);
            let mut lines: Vec<String> = all.split('\n').map(str::to_string).collect();
            lines.pop();
            lines
        });
        std::thread::sleep(Duration::from_millis(150 + (cycle * 97) % 300));
        let early = c.try_wait().unwrap();
        assert!(
            early.is_none(),
            "cycle {cycle}: the child stopped by itself: {early:?}"
        );
        c.kill().unwrap(); // SIGKILL
        c.wait().unwrap();
        let lines = reader.join().unwrap();
        lines_seen += lines.len();
        // The child's own lines start at an '@' (the test harness prints
        // its "test child_process ... " before the first on the same line).
        for l in lines.iter().filter_map(|l| l.split_once('@').map(|s| s.1)) {
            model.apply(l);
            *kinds.entry(l.as_bytes()[0]).or_default() += 1;
        }
        rt.block_on(check(d.path(), &mut model, cycle));
    }
    assert!(
        lines_seen > 50,
        "the child did work: {lines_seen} acknowledgements"
    );
    for k in [b'F', b't', b'T', b'P', b'V'] {
        assert!(
            kinds.get(&k).is_some_and(|n| *n > 0),
            "no {} was acknowledged: {kinds:?}",
            k as char
        );
    }
}
