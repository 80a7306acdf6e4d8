//! Acknowledgements. An append is acknowledged by watermark: its
//! [`CommitTicket`] is its LSN and a handle on the [`Watermark`], which the
//! writer raises once per commit and which wakes only the waiters that commit
//! covers. No allocation and no lock per append. Requests that are not appends
//! (flush, checkpoint, rotate, close) are rare and answer through an [`Ack`].

use crate::error::{Error, Result};
use crate::ids::Lsn;
use crate::sync::Arc;
use crate::sync::{AtomicBool, AtomicU64, Condvar, EventCount, Mutex, Ordering};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// First and last value of an acknowledged request (LSNs, or a segment number).
pub type AckValue = (u64, u64);

#[derive(Default)]
struct SlotState {
    result: Option<Result<AckValue>>,
    waker: Option<Waker>,
}

#[derive(Default)]
pub(crate) struct AckSlot {
    state: Mutex<SlotState>,
    done: Condvar,
}

impl AckSlot {
    fn set(&self, r: Result<AckValue>) {
        let waker = {
            let mut s = self.state.lock();
            debug_assert!(s.result.is_none(), "an ack is completed once");
            s.result = Some(r);
            s.waker.take()
        };
        self.done.notify_all();
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Parks until answered. It never spins: beside a runnable thread of the
    /// same priority a spinning (yielding) waiter gives it the CPU for a whole
    /// scheduler slice and loses the wake-up credit a sleeper keeps.
    fn wait(&self) -> Result<AckValue> {
        let mut s = self.state.lock();
        loop {
            if let Some(r) = s.result.take() {
                return r;
            }
            self.done.wait(&mut s);
        }
    }
}

/// The writer's half. Dropping it unanswered answers [`Error::Closed`], so no
/// producer waits forever on a request that the writer never saw.
pub struct Ack(Option<Arc<AckSlot>>);

impl Ack {
    pub(crate) fn new() -> (Ack, Arc<AckSlot>) {
        let slot = Arc::new(AckSlot::default());
        (Ack(Some(slot.clone())), slot)
    }

    /// Answers the producer: wakes a thread in [`CommitTicket::wait`] or the
    /// task awaiting the ticket.
    pub fn complete(mut self, r: Result<AckValue>) {
        if let Some(s) = self.0.take() {
            s.set(r);
        }
    }
}

impl Drop for Ack {
    fn drop(&mut self) {
        if let Some(s) = self.0.take() {
            s.set(Err(Error::Closed));
        }
    }
}

/// Blocks until the writer answers.
pub(crate) fn wait(slot: &AckSlot) -> Result<AckValue> {
    slot.wait()
}

/// Waiters sleep in the slot of their batch: the append buffer's epoch when
/// they claimed (every record staged in one epoch goes out in the one batch
/// the writer takes), modulo `WAKE_SLOTS`. So the writer wakes a whole batch
/// with one call, whatever its size; a batch sharing a slot with another
/// (`WAKE_SLOTS` apart) only makes those waiters look again. loom's model
/// uses two slots, so that two batches can share one.
#[cfg(not(loom))]
pub const WAKE_SLOTS: usize = 64;
#[cfg(loom)]
pub const WAKE_SLOTS: usize = 2;

/// One wake slot: threads sleep on its event count; async waiters leave
/// their waker in its list.
#[derive(Default)]
struct WakeSlot {
    threads: EventCount,
    /// `(lsn, waker)` of the async waiters in this slot. Its capacity is kept,
    /// so registering allocates nothing in steady state.
    wakers: Mutex<Vec<(u64, Waker)>>,
}

/// The LSN through which appends are acknowledged, and the waiters below it.
///
/// Raised by the writer (or a producer committing as leader), after a
/// batch's write (and, for the durable policies, its sync) completed. Once
/// ended (closed, fenced, the writer dead) it never rises again and every
/// waiter above it gets the end's error.
pub struct Watermark {
    acked: AtomicU64,
    ended: AtomicBool,
    end_error: Mutex<Option<Error>>,
    slots: Box<[WakeSlot]>,
}

impl Watermark {
    /// A watermark at `acked` (what recovery found: all of it durable).
    pub fn new(acked: u64) -> Self {
        Watermark {
            acked: AtomicU64::new(acked),
            ended: AtomicBool::new(false),
            end_error: Mutex::new(None),
            slots: (0..WAKE_SLOTS).map(|_| WakeSlot::default()).collect(),
        }
    }

    /// The highest acknowledged LSN.
    pub fn acked(&self) -> u64 {
        self.acked.load(Ordering::SeqCst)
    }

    /// Raises the watermark to `lsn` (never lowers it). Waiters that look see
    /// it at once; sleeping ones when [`Watermark::wake`] runs.
    pub fn raise(&self, lsn: u64) {
        debug_assert!(!self.ended.load(Ordering::SeqCst) || lsn <= self.acked());
        self.acked.fetch_max(lsn, Ordering::SeqCst);
    }

    fn slot(&self, epoch: u64) -> &WakeSlot {
        &self.slots[(epoch % WAKE_SLOTS as u64) as usize]
    }

    /// Wakes the waiters of the batch of `epoch`, which [`Watermark::raise`]
    /// covered: every thread in its slot with one call, and its async waiters
    /// of LSNs up to the watermark. `woken` is the caller's scratch list
    /// (kept, so no allocation).
    pub fn wake(&self, epoch: u64, woken: &mut Vec<Waker>) {
        let slot = self.slot(epoch);
        slot.threads.notify_all();
        Self::take_wakers(slot, self.acked(), woken);
        for w in woken.drain(..) {
            w.wake();
        }
    }

    /// Takes the wakers of `slot` of LSNs up to `to`.
    fn take_wakers(slot: &WakeSlot, to: u64, woken: &mut Vec<Waker>) {
        let mut wakers = slot.wakers.lock();
        let mut i = 0;
        while i < wakers.len() {
            if wakers[i].0 <= to {
                woken.push(wakers.swap_remove(i).1);
            } else {
                i += 1;
            }
        }
    }

    /// Ends the watermark: nothing above it will be acknowledged. The first
    /// error is kept and answers every waiter above the watermark.
    pub fn end(&self, e: Error) {
        {
            let mut end = self.end_error.lock();
            if end.is_none() {
                *end = Some(e);
            }
        }
        self.ended.store(true, Ordering::SeqCst);
        let mut woken = Vec::new();
        for slot in self.slots.iter() {
            slot.threads.notify_all();
            Self::take_wakers(slot, u64::MAX, &mut woken);
        }
        for w in woken {
            w.wake();
        }
    }

    /// The answer for `lsn` if there is one yet. The end is read before the
    /// watermark: an LSN acknowledged before the end is still answered Ok.
    fn outcome(&self, lsn: u64) -> Option<Result<u64>> {
        let ended = self.ended.load(Ordering::SeqCst);
        if self.acked.load(Ordering::SeqCst) >= lsn {
            return Some(Ok(lsn));
        }
        if ended {
            let e = self.end_error.lock().clone();
            return Some(Err(e.unwrap_or(Error::Closed)));
        }
        None
    }

    /// Blocks until `lsn`, claimed in `epoch`, is acknowledged or the
    /// watermark ends. An answered ticket returns at once; otherwise the
    /// thread sleeps in its batch's slot (never spins: see [`AckSlot::wait`]).
    pub fn wait(&self, lsn: u64, epoch: u64) -> Result<u64> {
        let slot = self.slot(epoch);
        loop {
            if let Some(r) = self.outcome(lsn) {
                return r;
            }
            let token = slot.threads.prepare();
            if let Some(r) = self.outcome(lsn) {
                slot.threads.done();
                return r;
            }
            slot.threads.wait(token);
            slot.threads.done();
        }
    }

    /// The future's side of [`Watermark::wait`]: leaves (or refreshes) the
    /// task's waker in the slot, then looks again under the slot's lock.
    fn poll(&self, lsn: u64, epoch: u64, cx: &mut Context<'_>) -> Poll<Result<u64>> {
        if let Some(r) = self.outcome(lsn) {
            return Poll::Ready(r);
        }
        let mut wakers = self.slot(epoch).wakers.lock();
        match wakers.iter_mut().find(|(l, _)| *l == lsn) {
            Some((_, w)) if w.will_wake(cx.waker()) => {}
            Some((_, w)) => *w = cx.waker().clone(),
            None => wakers.push((lsn, cx.waker().clone())),
        }
        match self.outcome(lsn) {
            Some(r) => {
                if let Some(i) = wakers.iter().position(|(l, _)| *l == lsn) {
                    wakers.swap_remove(i);
                }
                Poll::Ready(r)
            }
            None => Poll::Pending,
        }
    }
}

/// A pending append, from [`crate::Wal::submit`]: its LSN, resolved once the
/// entry is durable (per the sync policy), or the error that prevented it.
///
/// `wait()` parks the thread; `.await` does not, and needs no particular runtime.
///
/// # Examples
///
/// ```
/// # fn main() -> xwal::Result<()> {
/// use xwal::{Config, Wal};
///
/// let dir = tempfile::tempdir_in(".").unwrap();
/// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
/// let (wal, _) = Wal::open(config)?;
///
/// // Blocking:
/// let ticket = wal.submit(b"first")?;
/// assert_eq!(ticket.lsn(), 1);
/// assert_eq!(ticket.wait()?, 1);
///
/// // Async, here on a current-thread tokio runtime:
/// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// let lsn = rt.block_on(async { wal.submit(b"second")?.await })?;
/// assert_eq!(lsn, 2);
/// # Ok(()) }
/// ```
#[must_use = "a ticket says nothing until waited on"]
pub struct CommitTicket {
    lsn: u64,
    /// The append buffer's epoch at the claim: the batch it goes out in.
    epoch: u64,
    commits: Arc<Watermark>,
}

impl CommitTicket {
    pub(crate) fn new(lsn: u64, epoch: u64, commits: Arc<Watermark>) -> Self {
        CommitTicket {
            lsn,
            epoch,
            commits,
        }
    }

    /// The entry's LSN, known at submission (the entry is not durable yet).
    pub fn lsn(&self) -> Lsn {
        Lsn(self.lsn)
    }

    /// Blocks until the entry is durable and returns its LSN.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::{Config, Wal};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
    /// let (wal, _) = Wal::open(config)?;
    /// let ticket = wal.submit(b"entry")?;
    /// let lsn = ticket.wait()?;
    /// assert_eq!(lsn, 1);
    /// assert!(wal.durable_index() >= lsn);
    /// # Ok(()) }
    /// ```
    pub fn wait(self) -> Result<Lsn> {
        self.commits.wait(self.lsn, self.epoch).map(Lsn)
    }

    /// True once the writer has answered (success or error).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::{Config, Wal};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
    /// let (wal, _) = Wal::open(config)?;
    /// let ticket = wal.submit(b"entry")?;
    /// // Poll without blocking; the writer answers shortly.
    /// while !ticket.is_done() {
    ///     std::thread::sleep(std::time::Duration::from_millis(1));
    /// }
    /// assert_eq!(ticket.wait()?, 1);
    /// # Ok(()) }
    /// ```
    pub fn is_done(&self) -> bool {
        self.commits.outcome(self.lsn).is_some()
    }
}

impl CommitTicket {
    /// Calls `f` with the ticket's answer once there is one, without a thread
    /// or a task waiting for it: `f` runs on the thread that makes the entry
    /// durable (the writer, or a producer committing as leader), or at once
    /// on the caller's thread if the answer is already known. Tickets resolve
    /// in LSN order, so callbacks run in LSN order too.
    ///
    /// Keep `f` short and non-blocking (send on a channel, wake a task): it
    /// delays the acknowledgement of every later batch while it runs. A panic
    /// in `f` is caught and dropped, so it cannot take the writer down.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::{Config, Wal};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
    /// let (wal, _) = Wal::open(config)?;
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// wal.submit(b"entry")?.on_durable(move |r| {
    ///     let _ = tx.send(r);
    /// });
    /// assert_eq!(rx.recv().unwrap()?, 1);
    /// # Ok(()) }
    /// ```
    pub fn on_durable(self, f: impl FnOnce(Result<Lsn>) + Send + 'static) {
        let call = std::sync::Arc::new(OnDurable {
            lsn: self.lsn,
            epoch: self.epoch,
            commits: self.commits.clone(),
            f: std::sync::Mutex::new(Some(Box::new(f))),
        });
        call.attempt();
    }
}

/// A callback waiting in a wake slot as an async waiter does: its waker
/// calls it. The slot holds the only other reference until the wake (or the
/// watermark's end) takes it, so nothing outlives the answer.
/// What `on_durable` runs, once.
type DurableCallback = Box<dyn FnOnce(Result<Lsn>) + Send>;

struct OnDurable {
    lsn: u64,
    epoch: u64,
    commits: Arc<Watermark>,
    f: std::sync::Mutex<Option<DurableCallback>>,
}

impl OnDurable {
    /// Runs the callback if the answer is known; otherwise leaves the waker.
    fn attempt(self: std::sync::Arc<Self>) {
        let waker = Waker::from(self.clone());
        let mut cx = Context::from_waker(&waker);
        if let Poll::Ready(r) = self.commits.poll(self.lsn, self.epoch, &mut cx) {
            let f = self.f.lock().unwrap_or_else(|e| e.into_inner()).take();
            if let Some(f) = f {
                // A panicking callback must not unwind into the writer.
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(r.map(Lsn))));
            }
        }
    }
}

impl std::task::Wake for OnDurable {
    fn wake(self: std::sync::Arc<Self>) {
        self.attempt();
    }
}

impl Future for CommitTicket {
    type Output = Result<Lsn>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.commits
            .poll(self.lsn, self.epoch, cx)
            .map(|r| r.map(Lsn))
    }
}

impl std::fmt::Debug for CommitTicket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommitTicket")
            .field("lsn", &self.lsn)
            .field("done", &self.is_done())
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// An answered ticket returns without touching its slot: it never sleeps
    /// (and nothing on the path spins), whatever other threads do.
    #[test]
    fn a_ready_ticket_returns_without_sleeping() {
        let w = Arc::new(Watermark::new(0));
        w.raise(5);
        let slot = w.slot(3);
        // Another thread sleeps in the same slot for a later LSN meanwhile.
        let other = {
            let w = w.clone();
            std::thread::spawn(move || w.wait(9, 3))
        };
        while slot.threads.sleepers() == 0 {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert_eq!(w.wait(4, 3).unwrap(), 4);
        assert_eq!(slot.threads.sleepers(), 1, "the ready ticket never slept");
        w.raise(9);
        w.wake(3, &mut Vec::new());
        assert_eq!(other.join().unwrap().unwrap(), 9);
        assert_eq!(slot.threads.sleepers(), 0);
    }

    /// A sleeping waiter is woken by its batch's wake-up alone: one call
    /// wakes every thread of the batch, and a wake of another batch does not
    /// answer it.
    #[test]
    fn one_wake_answers_a_whole_batch() {
        let w = Arc::new(Watermark::new(0));
        let waiters: Vec<_> = (1..=8u64)
            .map(|lsn| {
                let w = w.clone();
                std::thread::spawn(move || w.wait(lsn, 7))
            })
            .collect();
        let slot = w.slot(7);
        while slot.threads.sleepers() < 8 {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        // Another batch's wake-up: they look, and sleep again.
        w.wake(8, &mut Vec::new());
        w.raise(8);
        w.wake(7, &mut Vec::new());
        let lsns: Vec<u64> = waiters
            .into_iter()
            .map(|t| t.join().unwrap().unwrap())
            .collect();
        assert_eq!(lsns, (1..=8).collect::<Vec<_>>());
    }

    /// A callback runs on the thread that wakes its batch, once, with the
    /// LSN; a ticket already answered calls it at once on the caller's thread.
    #[test]
    fn on_durable_runs_at_the_wake_and_at_once_when_answered() {
        let w = Arc::new(Watermark::new(0));
        let (tx, rx) = std::sync::mpsc::channel();
        let t = tx.clone();
        CommitTicket::new(3, 1, w.clone()).on_durable(move |r| {
            let _ = t.send((r.ok(), std::thread::current().id()));
        });
        assert!(rx.try_recv().is_err(), "not answered yet");
        let waker = std::thread::spawn(move || {
            w.raise(3);
            w.wake(1, &mut Vec::new());
            let me = std::thread::current().id();
            CommitTicket::new(2, 1, w).on_durable(move |r| {
                let _ = tx.send((r.ok(), std::thread::current().id()));
            });
            me
        });
        let waker_id = waker.join().unwrap();
        assert_eq!(rx.recv().unwrap(), (Some(Lsn(3)), waker_id));
        assert_eq!(rx.recv().unwrap(), (Some(Lsn(2)), waker_id));
        assert!(rx.try_recv().is_err(), "each callback runs once");
    }

    /// The end answers a waiting callback with the error, and a panicking
    /// callback does not unwind into the thread that woke it.
    #[test]
    fn on_durable_gets_the_end_and_its_panic_is_contained() {
        let w = Arc::new(Watermark::new(0));
        let (tx, rx) = std::sync::mpsc::channel();
        CommitTicket::new(1, 0, w.clone()).on_durable(|_| panic!("a careless callback"));
        CommitTicket::new(2, 0, w.clone()).on_durable(move |r| {
            let _ = tx.send(r);
        });
        w.end(Error::Closed);
        assert!(matches!(rx.recv().unwrap(), Err(Error::Closed)));
    }

    /// The end answers every sleeper with its error.
    #[test]
    fn the_end_answers_sleepers() {
        let w = Arc::new(Watermark::new(0));
        let t = {
            let w = w.clone();
            std::thread::spawn(move || w.wait(1, 0))
        };
        while w.slot(0).threads.sleepers() == 0 {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        w.end(Error::Closed);
        assert!(matches!(t.join().unwrap(), Err(Error::Closed)));
    }
}
