//! `CommitTicket` is a `Future` that needs no particular runtime: driven here
//! by a hand-written executor (thread park/unpark waker), it resolves to the LSN.
use crate::common;
use common::*;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};
use xwal::*;

struct ThreadWaker {
    thread: std::thread::Thread,
    wakes: AtomicUsize,
}

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
        self.thread.unpark();
    }
}

fn new_waker() -> (Arc<ThreadWaker>, Waker) {
    let w = Arc::new(ThreadWaker {
        thread: std::thread::current(),
        wakes: AtomicUsize::new(0),
    });
    (w.clone(), Waker::from(w))
}

/// Polls `fut` to completion, parking between polls. Fails after 30 s.
/// Returns the output and how many polls it took.
fn block_on<F: Future>(fut: F) -> (F::Output, usize) {
    let (_, waker) = new_waker();
    let mut cx = Context::from_waker(&waker);
    let mut fut = pin!(fut);
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut polls = 0;
    loop {
        polls += 1;
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return (v, polls);
        }
        let now = Instant::now();
        assert!(now < deadline, "future not ready after 30 s: lost wakeup?");
        std::thread::park_timeout(deadline - now);
    }
}

#[test]
fn ticket_resolves_to_its_lsn() {
    for engine in ENGINES {
        let d = tempdir();
        let wal = open(&small(d.path(), engine));
        let t = wal.submit(payload(1, 100)).unwrap();
        assert_eq!(block_on(t).0.unwrap(), 1);
        let t = wal.submit(payload(2, 100)).unwrap();
        assert_eq!(block_on(t).0.unwrap(), 2);
        assert_eq!(lsns(&replay_all(&wal, ReplayOptions::all())), vec![1, 2]);
    }
}

#[test]
fn many_tickets_awaited_in_an_async_block() {
    for engine in ENGINES {
        let d = tempdir();
        let wal = open(&small(d.path(), engine));
        let tickets: Vec<CommitTicket> = (1..=500u64)
            .map(|i| wal.submit(payload(i, 100)).unwrap())
            .collect();
        let (res, _polls) = block_on(async move {
            let mut v = Vec::new();
            for t in tickets {
                v.push(t.await?);
            }
            Ok::<_, Error>(v)
        });
        assert_eq!(res.unwrap(), (1..=500).collect::<Vec<_>>());
        let got = replay_all(&wal, ReplayOptions::all());
        assert_eq!(lsns(&got), (1..=500).collect::<Vec<_>>());
    }
}

#[test]
fn pending_ticket_wakes_the_latest_waker() {
    for engine in ENGINES {
        let d = tempdir();
        let wal = open(&small(d.path(), engine));
        // Many queued entries so that the last ticket is still pending when first polled.
        let mut tickets: Vec<CommitTicket> = (1..=3000u64)
            .map(|i| wal.submit(payload(i, 100)).unwrap())
            .collect();
        let last = tickets.pop().unwrap();
        let mut last = Box::pin(last);
        let (_a, wa) = new_waker();
        let (b, wb) = new_waker();
        let first = last.as_mut().poll(&mut Context::from_waker(&wa));
        if first.is_pending() {
            eprintln!("{engine:?}: first poll pending");
            // Re-polled with another waker (a task moved between executors): that one must be woken.
            let second = last.as_mut().poll(&mut Context::from_waker(&wb));
            if second.is_pending() {
                let deadline = Instant::now() + Duration::from_secs(30);
                while b.wakes.load(Ordering::SeqCst) == 0 {
                    assert!(
                        Instant::now() < deadline,
                        "ticket completed but never woke its waker"
                    );
                    std::thread::park_timeout(Duration::from_millis(10));
                }
            }
            assert!(last.is_done() || second.is_ready());
            let v = match second {
                Poll::Ready(v) => v,
                Poll::Pending => match last.as_mut().poll(&mut Context::from_waker(&wb)) {
                    Poll::Ready(v) => v,
                    Poll::Pending => panic!("woken but still pending"),
                },
            };
            assert_eq!(v.unwrap(), 3000);
        } else {
            // Already durable at the first poll (a very fast disk): still the right LSN.
            match first {
                Poll::Ready(v) => assert_eq!(v.unwrap(), 3000),
                Poll::Pending => unreachable!(),
            }
        }
        for (i, t) in tickets.into_iter().enumerate() {
            assert_eq!(t.wait().unwrap(), i as u64 + 1);
        }
    }
}

#[test]
fn ticket_awaited_after_close_resolves() {
    for engine in ENGINES {
        let d = tempdir();
        let cfg = small(d.path(), engine);
        let wal = open(&cfg);
        let tickets: Vec<CommitTicket> = (1..=100u64)
            .map(|i| wal.submit(payload(i, 10)).unwrap())
            .collect();
        wal.close().unwrap();
        let (res, polls) = block_on(async move {
            let mut v = Vec::new();
            for t in tickets {
                v.push(t.await.unwrap());
            }
            v
        });
        assert_eq!(res, (1..=100).collect::<Vec<_>>());
        assert_eq!(
            polls, 1,
            "every ticket was answered by close, so no poll should be pending"
        );
        // A submit after close is refused up front, not a ticket that never resolves.
        assert!(matches!(wal.submit(b"x"), Err(Error::Closed)));
    }
}

#[test]
fn ticket_is_send_and_unpin() {
    fn assert_send<T: Send + Unpin + 'static>(_: &T) {}
    let d = tempdir();
    let wal = open(&small(d.path(), IoEngine::Sync));
    let t = wal.submit(b"x").unwrap();
    assert_send(&t);
    let h = std::thread::spawn(move || block_on(t).0);
    assert_eq!(h.join().unwrap().unwrap(), 1);
}
