//! loom model of the commit protocol: the bounded submission queue, the writer
//! assigning LSNs and publishing the durable watermark, and the ack hand-off
//! (result stored under the slot lock, `ready` flag published, condvar
//! notified; the producer spins on `ready` and then parks, as src/ticket.rs
//! does). loom runs every interleaving and checks for lost wake-ups
//! (deadlocks) and for these invariants:
//! - an acknowledged LSN is never above the durable watermark the producer sees;
//! - acknowledged LSNs are unique and dense;
//! - after a failed sync (the fence) no request is acknowledged.
use loom::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use loom::sync::{Arc, Condvar, Mutex};
use loom::thread;
use std::collections::VecDeque;

struct Slot {
    result: Mutex<Option<Result<u64, ()>>>,
    done: Condvar,
    ready: AtomicBool,
}

impl Slot {
    fn new() -> Arc<Slot> {
        Arc::new(Slot {
            result: Mutex::new(None),
            done: Condvar::new(),
            ready: AtomicBool::new(false),
        })
    }
    fn complete(&self, r: Result<u64, ()>) {
        *self.result.lock().unwrap() = Some(r);
        self.ready.store(true, Ordering::Release);
        self.done.notify_all();
    }
    fn wait(&self) -> Result<u64, ()> {
        // Bounded spin on `ready`, then park: both paths must see the result.
        if !self.ready.load(Ordering::Acquire) {
            thread::yield_now();
        }
        let mut g = self.result.lock().unwrap();
        loop {
            if let Some(r) = g.take() {
                return r;
            }
            g = self.done.wait(g).unwrap();
        }
    }
}

struct Queue {
    items: Mutex<VecDeque<Arc<Slot>>>,
    changed: Condvar,
    cap: usize,
}

impl Queue {
    fn push(&self, s: Arc<Slot>) {
        let mut q = self.items.lock().unwrap();
        while q.len() >= self.cap {
            q = self.changed.wait(q).unwrap(); // backpressure
        }
        q.push_back(s);
        self.changed.notify_all();
    }
    /// Takes everything queued (one group commit), waiting while empty.
    fn take_all(&self) -> Vec<Arc<Slot>> {
        let mut q = self.items.lock().unwrap();
        while q.is_empty() {
            q = self.changed.wait(q).unwrap();
        }
        let batch: Vec<_> = q.drain(..).collect();
        self.changed.notify_all();
        batch
    }
}

fn model(producers: usize, fail_first_sync: bool) {
    // A preemption bound of 2 (3 via XWAL_LOOM_PREEMPTIONS) covers the known classes of lost wake-up and
    // ordering bugs while keeping the search finite on a 2-core CI machine.
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(
        std::env::var("XWAL_LOOM_PREEMPTIONS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(2),
    );
    b.check(move || {
        let queue = Arc::new(Queue {
            items: Mutex::new(VecDeque::new()),
            changed: Condvar::new(),
            cap: 1,
        });
        let durable = Arc::new(AtomicU64::new(0));
        let writer = {
            let (queue, durable) = (queue.clone(), durable.clone());
            thread::spawn(move || {
                let (mut next, mut served, mut fenced) = (1u64, 0, false);
                while served < producers {
                    let batch = queue.take_all();
                    served += batch.len();
                    let first = next;
                    next += batch.len() as u64;
                    // The write + linked fdatasync happen here.
                    if fail_first_sync || fenced {
                        fenced = true;
                        for s in batch {
                            s.complete(Err(()));
                        }
                        continue;
                    }
                    durable.store(next - 1, Ordering::Release);
                    for (i, s) in batch.into_iter().enumerate() {
                        s.complete(Ok(first + i as u64));
                    }
                }
            })
        };
        let handles: Vec<_> = (0..producers)
            .map(|_| {
                let (queue, durable) = (queue.clone(), durable.clone());
                thread::spawn(move || {
                    let s = Slot::new();
                    queue.push(s.clone());
                    let r = s.wait();
                    if let Ok(lsn) = r {
                        assert!(
                            durable.load(Ordering::Acquire) >= lsn,
                            "ack ran ahead of the durable watermark"
                        );
                    }
                    r
                })
            })
            .collect();
        let mut lsns: Vec<u64> = vec![];
        for h in handles {
            match h.join().unwrap() {
                Ok(l) => lsns.push(l),
                Err(()) => assert!(fail_first_sync, "an error without a fault"),
            }
        }
        writer.join().unwrap();
        if fail_first_sync {
            assert!(lsns.is_empty(), "acknowledged after the fence: {lsns:?}");
        } else {
            lsns.sort_unstable();
            assert_eq!(
                lsns,
                (1..=producers as u64).collect::<Vec<_>>(),
                "LSNs unique and dense"
            );
        }
    });
}

#[test]
fn loom_group_commit_two_producers() {
    model(2, false);
}

#[test]
fn loom_fence_acknowledges_nothing() {
    model(2, true);
}
