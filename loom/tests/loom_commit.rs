//! loom model of the commit path, running the engine's own code (`xwal::loom_api`,
//! which exists only in a `--cfg loom` build, where src/sync.rs hands that code
//! loom's mutexes, condvars and atomics):
//! - src/append_buffer.rs: a producer's claim (LSN and bytes claimed, record
//!   encoded and published in one step; backpressure while a batch is full),
//!   the writer's wait for work and its take, and the close that refuses
//!   every later claim;
//! - src/ticket.rs: the watermark (`raise`, the per-slot `wake` that skips
//!   slots nobody waits in, `end`), and `CommitTicket::wait` (parked in its
//!   slot; nothing spins) and `.await` (a waker left
//!   in the slot);
//! - src/fence.rs: `Fence::settle` (a failed sync fences, and a later
//!   success then answers the fence too).
//!
//! What stands in for the rest: the writer's I/O loop is a few lines that take
//! what is staged as one batch, settle its outcome, raise the watermark and
//! wake, as `Writer::commit_staged`, `finish_oldest` and `wake_acked` do.
//!
//! In every interleaving within the preemption bound, loom checks:
//! - no lost wake-up: every producer and the writer return (loom reports a
//!   deadlock otherwise), with two producers sharing a wake slot;
//! - an acknowledged LSN is never above the watermark the producer then sees;
//! - acknowledged LSNs are unique and dense;
//! - after a failed sync nothing is acknowledged, even when a later sync succeeds;
//! - when the writer closes or dies, every producer is answered (`Closed` or
//!   the fence error), one that claims after the close included.
//!
//! Run: `RUSTFLAGS="--cfg loom" cargo test -p xwal-loom --target <host triple>`
//! (the explicit target keeps the flagged build beside the normal one). The preemption bound
//! is 2, or `XWAL_LOOM_PREEMPTIONS`.
#![cfg(loom)]

use loom::sync::Arc;
use loom::thread;
use xwal::loom_api::{Batch, CommitPath, Fence};
use xwal::{Error, Result};

/// How the model's writer ends.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Scenario {
    /// Every sync succeeds; the writer serves every producer.
    GroupCommit,
    /// The first batch's sync fails: the writer fences and stops.
    FailedSync,
    /// The writer serves one batch, then closes (writing what is staged).
    Close,
    /// The writer takes one batch and dies before writing it (a panic):
    /// `WriterExit` fences, refuses claims and ends the watermark.
    WriterDeath,
    /// Producers append (`Wal::append`): each commits as leader when it finds
    /// the writer's cell free, else wakes the writer, which sleeps without
    /// its cell. No wake-up may be lost between the two.
    Leaders,
}

struct Model {
    path: CommitPath,
    fence: Fence,
    /// Set (after every producer returned) to stop the leaders' writer.
    closed: loom::sync::atomic::AtomicBool,
}

/// Serves one taken batch: its I/O outcome settles, then the watermark.
fn serve(m: &Model, batch: Batch, io: std::io::Result<()>) -> bool {
    match m.fence.settle(io, "write+fdatasync") {
        Ok(()) => {
            m.path.commit(batch);
            true
        }
        Err(e) => {
            m.path.close(e.clone());
            m.path.end(e);
            false
        }
    }
}

/// The writer's loop without its I/O.
fn writer(m: &Model, producers: u64, scenario: Scenario) {
    let (mut served, mut batches) = (0u64, 0);
    while served < producers {
        m.path.wait_for_work();
        let Some(batch) = m.path.take() else {
            continue;
        };
        served += batch.last + 1 - batch.first;
        if scenario == Scenario::WriterDeath {
            let e = Error::Fenced {
                op: "writer thread",
                cause: "panicked: model".into(),
            };
            m.fence.set(e.clone());
            m.path.close(e.clone());
            m.path.end(e);
            return;
        }
        let io = if scenario == Scenario::FailedSync && batches == 0 {
            Err(std::io::Error::from_raw_os_error(5)) // EIO
        } else {
            Ok(())
        };
        batches += 1;
        if !serve(m, batch, io) {
            return;
        }
        if scenario == Scenario::Close {
            if let Some(rest) = m.path.close(Error::Closed) {
                serve(m, rest, Ok(()));
            }
            m.path.end(Error::Closed);
            return;
        }
    }
}

/// The writer as `Writer::run` holds its cell: while it works, never while
/// it sleeps; it stops once the model closes the path.
fn leading_writer(m: &Model) {
    let mut cell = Some(m.path.writer_lock());
    loop {
        if let Some(batch) = m.path.take() {
            serve(m, batch, Ok(()));
            continue;
        }
        if m.closed.load(std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        drop(cell.take());
        m.path.wait_for_work();
        cell = Some(m.path.writer_lock());
    }
}

/// A producer: `Wal::submit`, then the ticket.
fn produce(m: &Model, by_await: bool) -> Result<u64> {
    let ticket = m.path.submit(b"entry")?;
    let r = if by_await {
        loom::future::block_on(ticket)
    } else {
        ticket.wait()
    }
    .map(|lsn| lsn.get());
    if let Ok(lsn) = r {
        assert!(
            m.path.acked() >= lsn,
            "ack of {lsn} ran ahead of the watermark"
        );
    }
    r
}

/// A producer: `Wal::append`, committing as leader when it can.
fn lead(m: &Model) -> Result<u64> {
    let r = m.path.append(b"entry");
    if let Ok(lsn) = r {
        assert!(
            m.path.acked() >= lsn,
            "ack of {lsn} ran ahead of the watermark"
        );
    }
    r
}

fn preemption_bound() -> usize {
    std::env::var("XWAL_LOOM_PREEMPTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2)
}

/// Runs `producers` producers (the first one awaiting if `first_awaits`)
/// against the model's writer and checks every answer.
fn model(producers: usize, scenario: Scenario, first_awaits: bool) {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(preemption_bound());
    let started = std::time::Instant::now();
    let executions = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = executions.clone();
    b.check(move || {
        counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // Batches of one LSN: a second producer meets the backpressure.
        let wal = Arc::new(Model {
            path: CommitPath::new(1),
            fence: Fence::default(),
            closed: loom::sync::atomic::AtomicBool::new(false),
        });
        let handles: Vec<_> = (0..producers)
            .map(|i| {
                let wal = wal.clone();
                thread::spawn(move || match scenario {
                    Scenario::Leaders => lead(&wal),
                    _ => produce(&wal, first_awaits && i == 0),
                })
            })
            .collect();
        let answers: Vec<Result<u64>> = if scenario == Scenario::Leaders {
            let w = wal.clone();
            let writer = thread::spawn(move || leading_writer(&w));
            let answers = handles.into_iter().map(|h| h.join().unwrap()).collect();
            wal.closed.store(true, std::sync::atomic::Ordering::SeqCst);
            wal.path.close(Error::Closed);
            writer.join().unwrap();
            answers
        } else {
            writer(&wal, producers as u64, scenario);
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        };
        let mut lsns: Vec<u64> = answers
            .iter()
            .filter_map(|r| r.as_ref().ok().copied())
            .collect();
        lsns.sort_unstable();
        // Unique and dense: whatever was acknowledged is 1..=n.
        assert_eq!(
            lsns,
            (1..=lsns.len() as u64).collect::<Vec<_>>(),
            "{answers:?}"
        );
        for r in &answers {
            match (scenario, r) {
                (Scenario::GroupCommit | Scenario::Leaders, Ok(_)) => {}
                (Scenario::Close, Ok(_) | Err(Error::Closed)) => {}
                (Scenario::FailedSync, Err(Error::Fenced { op, .. })) => {
                    assert_eq!(*op, "write+fdatasync")
                }
                (Scenario::WriterDeath, Err(Error::Fenced { op, .. })) => {
                    assert_eq!(*op, "writer thread")
                }
                (s, r) => panic!("{s:?}: answered {r:?}"),
            }
        }
        if matches!(scenario, Scenario::GroupCommit | Scenario::Leaders) {
            assert_eq!(lsns.len(), producers);
        }
        if scenario == Scenario::Close {
            assert!(
                !lsns.is_empty(),
                "the batch served before the close was acknowledged"
            );
        }
    });
    eprintln!(
        "{scenario:?} ({producers} producers{}): {} executions in {:.1?}, preemption bound {}",
        if first_awaits { ", one awaiting" } else { "" },
        executions.load(std::sync::atomic::Ordering::Relaxed),
        started.elapsed(),
        preemption_bound(),
    );
}

/// One `#[test]` per row: name, scenario, whether the first producer awaits.
macro_rules! models {
    ($($name:ident: $scenario:ident, $first_awaits:expr;)*) => {
        $(
            #[test]
            fn $name() {
                model(2, Scenario::$scenario, $first_awaits);
            }
        )*
    };
}

models! {
    loom_group_commit_two_producers: GroupCommit, false;
    loom_group_commit_awaited_ticket: GroupCommit, true;
    loom_fence_acknowledges_nothing: FailedSync, false;
    loom_close_answers_every_waiter: Close, false;
    loom_writer_death_answers_every_waiter: WriterDeath, false;
    loom_leaders_and_the_writer_lose_no_wake_up: Leaders, false;
}
