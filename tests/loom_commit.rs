//! loom model of the commit path, running the engine's own code (`xwal::loom_api`,
//! which exists only in a `--cfg loom` build, where src/sync.rs hands that code
//! loom's mutexes, condvars and atomics):
//! - src/ticket.rs: the ack hand-off (`Ack::complete` stores the result under the
//!   slot lock, publishes `ready` and notifies; `CommitTicket::wait` spins on
//!   `ready`, one yield under loom, then parks; `.await` registers a waker), the
//!   spinner count, and `deliver`;
//! - src/fence.rs: the fence (`Fence::settle`: a failed sync fences, and a later
//!   success then answers the fence too) and the close hand-off
//!   (`close_and_drain`, run by the writer however it ends, and
//!   `drain_if_closed`, run by each sender after queueing).
//!
//! What stands in for the rest: the bounded crossbeam submission queue (loom
//! cannot model it) is a `Mutex<VecDeque>` that blocks a sender while full, as
//! the channel does; the writer's I/O loop is a few lines that take what is
//! queued as one batch, assign LSNs, settle the batch's outcome, publish the
//! durable watermark and deliver, as `Writer::finish_oldest` and `deliver` do.
//!
//! In every interleaving within the preemption bound, loom checks:
//! - no lost wake-up: every waiter returns (loom reports a deadlock otherwise);
//! - an acknowledged LSN is never above the durable watermark the producer then sees;
//! - acknowledged LSNs are unique and dense;
//! - after a failed sync nothing is acknowledged, even when a later sync succeeds;
//! - when the writer closes or dies, every request is answered (`Closed` or the
//!   fence error), one queued after the writer's last drain included.
//!
//! Run: `RUSTFLAGS="--cfg loom" cargo test --release --test loom_commit`
//! (a separate target dir keeps the normal build's cache). The preemption bound
//! is 2, or `XWAL_LOOM_PREEMPTIONS`.
#![cfg(loom)]

use loom::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use loom::sync::{Arc, Condvar, Mutex};
use loom::thread;
use std::collections::VecDeque;
use xwal::loom_api::{self, Ack, Fence, close_and_drain, deliver, drain_if_closed};
use xwal::{Error, Result};

/// Stand-in for the bounded crossbeam channel between `Wal` and the writer.
struct Queue {
    items: Mutex<VecDeque<Ack>>,
    changed: Condvar,
    cap: usize,
}

impl Queue {
    /// Blocks while the queue is full: the backpressure of `Wal::send`.
    fn send(&self, ack: Ack) {
        let mut q = self.items.lock().unwrap();
        while q.len() >= self.cap {
            q = self.changed.wait(q).unwrap();
        }
        q.push_back(ack);
        self.changed.notify_all();
    }

    /// Everything queued (one group commit), waiting while empty.
    fn recv_batch(&self) -> Vec<Ack> {
        let mut q = self.items.lock().unwrap();
        while q.is_empty() {
            q = self.changed.wait(q).unwrap();
        }
        let batch = q.drain(..).collect();
        self.changed.notify_all();
        batch
    }

    /// What `Receiver::try_iter` yields: the queue's content, without waiting.
    fn try_iter(&self) -> impl Iterator<Item = Ack> + '_ {
        std::iter::from_fn(|| {
            let mut q = self.items.lock().unwrap();
            let r = q.pop_front();
            self.changed.notify_all();
            r
        })
    }
}

/// The state `Shared` holds for the commit path.
struct Wal {
    queue: Queue,
    fence: Fence,
    closed: AtomicBool,
    durable: AtomicU64,
}

/// How the model's writer ends.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Scenario {
    /// Every sync succeeds; the writer serves every producer.
    GroupCommit,
    /// The first batch's sync fails, later ones succeed; the writer serves every producer.
    FailedSync,
    /// The writer serves one batch, then closes (a `Close` request).
    Close,
    /// The writer takes one batch and dies before writing it (a panic):
    /// unwinding drops the batch's acks, `Wal::open`'s thread fences, and
    /// `WriterExit` closes.
    WriterDeath,
}

/// The writer's loop without its I/O.
fn writer(wal: &Wal, producers: usize, scenario: Scenario) {
    let (mut next, mut served, mut batches) = (1u64, 0, 0);
    while served < producers {
        let batch = wal.queue.recv_batch();
        served += batch.len();
        if scenario == Scenario::WriterDeath {
            drop(batch);
            wal.fence.set(Error::Fenced {
                op: "writer thread",
                cause: "panicked: model".into(),
            });
            break;
        }
        let acks: Vec<_> = batch
            .into_iter()
            .map(|ack| {
                next += 1;
                (ack, next - 1, next - 1)
            })
            .collect();
        let last = next - 1;
        // The write and its linked fdatasync complete here.
        let io = if scenario == Scenario::FailedSync && batches == 0 {
            Err(std::io::Error::from_raw_os_error(5)) // EIO
        } else {
            Ok(())
        };
        batches += 1;
        let r = wal.fence.settle(io, "write+fdatasync");
        if r.is_ok() {
            wal.durable.store(last, Ordering::Release);
        }
        deliver([(acks, r)]);
        if scenario == Scenario::Close {
            break;
        }
    }
    close_and_drain(&wal.closed, &wal.fence, wal.queue.try_iter());
}

/// A producer: `Wal::submit` (queue, then the close check), then the ticket.
fn produce(wal: &Wal, by_await: bool) -> Result<u64> {
    let (ack, ticket) = loom_api::request();
    wal.queue.send(ack);
    drain_if_closed(&wal.closed, &wal.fence, wal.queue.try_iter());
    let r = if by_await {
        loom::future::block_on(ticket)
    } else {
        ticket.wait()
    };
    if let Ok(lsn) = r {
        assert!(
            wal.durable.load(Ordering::Acquire) >= lsn,
            "ack of {lsn} ran ahead of the durable watermark"
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
        let wal = Arc::new(Wal {
            queue: Queue {
                items: Mutex::new(VecDeque::new()),
                changed: Condvar::new(),
                cap: 1,
            },
            fence: Fence::default(),
            closed: AtomicBool::new(false),
            durable: AtomicU64::new(0),
        });
        let handles: Vec<_> = (0..producers)
            .map(|i| {
                let wal = wal.clone();
                thread::spawn(move || produce(&wal, first_awaits && i == 0))
            })
            .collect();
        writer(&wal, producers, scenario);
        let answers: Vec<Result<u64>> = handles.into_iter().map(|h| h.join().unwrap()).collect();
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
                (Scenario::GroupCommit, Ok(_)) => {}
                (Scenario::Close, Ok(_) | Err(Error::Closed)) => {}
                (Scenario::FailedSync, Err(Error::Fenced { op, .. })) => {
                    assert_eq!(*op, "write+fdatasync")
                }
                (Scenario::WriterDeath, Err(Error::Closed)) => {}
                (Scenario::WriterDeath, Err(Error::Fenced { op, .. })) => {
                    assert_eq!(*op, "writer thread")
                }
                (s, r) => panic!("{s:?}: answered {r:?}"),
            }
        }
        if scenario == Scenario::GroupCommit {
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
}
