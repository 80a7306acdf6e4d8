//! The writer thread: owns the segment files and the I/O engine, takes the
//! records producers staged in the append buffer as one group commit, and
//! raises the acknowledgement watermark only when their data is durable (per
//! the sync policy).
//!
//! Up to `commits_in_flight` batches are in flight: producers fill the next
//! batch while the disk works, and it is submitted as soon as the previous
//! batch's write has completed, while that batch's fdatasync still runs. The
//! watermark rises only after a batch's write and linked fdatasync have both
//! completed, and after every earlier batch's, so no ack runs ahead of the disk.
//!
//! Jobs, one module each: [`batch`] (what a producer stages, and whether a
//! batch runs inline), [`pipeline`] (the batches in flight, their outcome, the
//! fence and the wake-up), [`segment`] (rollover, checkpoint, header, anchors,
//! seal) and [`preparer`] (the thread that makes segments ahead of need).
//! This file is the run loop and the barriers.

pub(crate) mod batch;
mod pipeline;
mod preparer;
mod segment;

use crate::config::SyncPolicy;
use crate::error::{Error, Result};
use crate::fence;
use crate::io::WriteEngine;
use crate::shared::Shared;
use crate::ticket::Ack;
use crossbeam_channel::{Receiver, TryRecvError};
use pipeline::InFlight;
use preparer::Preparer;
use segment::Active;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::Waker;
use std::time::Instant;

/// What goes through the writer's queue: everything but appends, which the
/// append buffer carries.
pub(crate) enum Request {
    Flush {
        ack: Ack,
    },
    Checkpoint {
        ack: Ack,
    },
    /// Seal the active segment if it holds anything; answers the last sealed segment.
    Rotate {
        ack: Ack,
        /// A consume seals before it frees what it replayed: its new segment
        /// may pass `max_dir_bytes` by one segment for that moment, or a full
        /// directory could never be consumed.
        over_limit: bool,
    },
    Close {
        ack: Ack,
    },
}

impl crate::fence::Answer for Request {
    fn fail(self, e: Error) {
        Request::fail(self, e);
    }
}

impl Request {
    pub(crate) fn fail(self, e: Error) {
        let ack = match self {
            Request::Flush { ack }
            | Request::Checkpoint { ack }
            | Request::Rotate { ack, .. }
            | Request::Close { ack } => ack,
        };
        ack.complete(Err(e));
    }
}

pub(crate) struct Writer {
    shared: Arc<Shared>,
    rx: Receiver<Request>,
    engine: Box<dyn WriteEngine>,
    active: Option<Active>,
    next_segment: u64,
    /// Batches submitted and not yet finished, oldest first.
    inflight: VecDeque<InFlight>,
    /// Most batches in flight: `commits_in_flight` under `Always` (bounded by
    /// the engine), else 1 (a write without a sync leaves nothing to overlap).
    depth: usize,
    /// A request taken off the queue, served once the staged records are out.
    pending: Option<Request>,
    preparer: Preparer,
    /// Written but not yet fdatasynced (Interval and Never).
    unsynced: bool,
    last_sync: Instant,
    disconnected: bool,
    /// The watermark as raised.
    acked: u64,
    /// Epochs of the batches finished whose waiters are not woken yet (at
    /// most the batches in flight, and one).
    to_wake: Vec<u64>,
    /// Scratch list of async waiters to wake (kept: no allocation per commit).
    wakers: Vec<Waker>,
}

/// What the writer's sleep brought: a request it took off the queue, or the
/// queue's end, and whether there is work (false: the interval sync is due).
#[derive(Default)]
struct Woken {
    request: Option<Request>,
    disconnected: bool,
    ready: bool,
}

/// The writer, shared by its thread and the producers that commit as leaders
/// while it sleeps; `None` once its thread has ended.
pub(crate) type WriterCell = crate::sync::Mutex<Option<Writer>>;

/// Where the writer starts after recovery.
pub(crate) struct WriterStart {
    pub resume: Option<crate::recovery::Resume>,
    pub next_segment: u64,
    pub next_prepared: bool,
    pub last_lsn: u64,
}

impl Writer {
    /// Builds the writer and makes sure a segment with a durable header exists,
    /// so the LSN sequence survives a restart even before the first append.
    pub fn new(
        shared: Arc<Shared>,
        rx: Receiver<Request>,
        engine: Box<dyn WriteEngine>,
        start: WriterStart,
    ) -> Result<Writer> {
        let ready = start.next_prepared.then_some(start.next_segment);
        let preparer = Preparer::spawn(&shared, ready)?;
        let depth = if shared.config.sync == SyncPolicy::Always {
            shared.config.commits_in_flight.min(engine.depth()).max(1)
        } else {
            1
        };
        shared.appends.reset_next_lsn(start.last_lsn + 1);
        let active = match &start.resume {
            Some(r) => Some(Active::resume(&shared, r)?),
            None => None,
        };
        let mut w = Writer {
            shared,
            rx,
            engine,
            active,
            next_segment: start.next_segment,
            inflight: VecDeque::with_capacity(depth),
            depth,
            pending: None,
            preparer,
            unsynced: false,
            last_sync: Instant::now(),
            disconnected: false,
            acked: start.last_lsn,
            to_wake: Vec::with_capacity(crate::io::MAX_COMMITS_IN_FLIGHT + 1),
            wakers: Vec::new(),
        };
        match start.resume {
            None => w.rollover()?,
            Some(r) => {
                w.install_resumed(&r);
                w.prepare_next_if_room(w.next_segment, 1);
            }
        }
        Ok(w)
    }

    /// The writer thread's loop. It holds the writer for as long as it
    /// works, and lets go of it only to sleep: a producer that finds it free
    /// may commit what is staged itself ([`Writer::commit_as_leader`]).
    pub fn run(cell: &WriterCell) {
        let Some(mut writer) = cell.lock().take() else {
            return;
        };
        // Holds the cell (the guard) while working: a producer's try_lock
        // fails and it wakes this thread instead.
        let mut held = cell.lock();
        loop {
            if writer.inflight.is_empty() && !writer.has_work() {
                let (shared, rx) = (writer.shared.clone(), writer.rx.clone());
                let deadline = writer.sleep_deadline();
                *held = Some(writer);
                drop(held);
                let woken = Self::sleep(&shared, &rx, deadline);
                held = cell.lock();
                let Some(back) = held.take() else {
                    return;
                };
                writer = back;
                let ready = writer.woke(woken);
                if !ready {
                    writer.maybe_interval_sync();
                    continue;
                }
                writer.commit_delay();
            }
            if writer.step() {
                return;
            }
        }
    }

    /// When the interval policy's sync is due, if one is owed.
    fn sleep_deadline(&self) -> Option<Instant> {
        match self.shared.config.sync {
            SyncPolicy::Interval(d) if self.unsynced => Some(self.last_sync + d),
            _ => None,
        }
    }

    /// Sleeps (without the writer's cell) until there is work or `deadline`.
    fn sleep(shared: &Shared, rx: &Receiver<Request>, deadline: Option<Instant>) -> Woken {
        let mut woken = Woken::default();
        let mut other = || match rx.try_recv() {
            Ok(r) => {
                woken.request = Some(r);
                true
            }
            Err(TryRecvError::Empty) => false,
            Err(TryRecvError::Disconnected) => {
                woken.disconnected = true;
                true
            }
        };
        woken.ready = shared.appends.wait_for_work(&mut other, deadline);
        woken
    }

    /// Takes in what woke it; false if the interval sync is due.
    fn woke(&mut self, w: Woken) -> bool {
        debug_assert!(w.request.is_none() || self.pending.is_none());
        if w.request.is_some() {
            self.pending = w.request;
        }
        self.disconnected |= w.disconnected;
        w.ready
    }

    /// One turn of the loop with work to do; true once the writer stopped.
    fn step(&mut self) -> bool {
        self.let_the_disk_work();
        if let Some(e) = self.shared.fence_error() {
            self.serve_fenced(e);
            return true;
        }
        if self.pending.is_some() || self.poll_queue() {
            return self.serve_request();
        }
        if let Some(full) = self.shared.appends.roll_wanted() {
            self.roll_for_producers(full);
            return false;
        }
        if self.shared.appends.staged() > 0 {
            self.commit_staged();
        } else {
            self.wake_acked();
            if self.disconnected && self.inflight.is_empty() {
                self.shutdown(None);
                return true;
            }
        }
        false
    }

    /// A producer that found the writer asleep (its cell free) commits what
    /// is staged on its own thread, as RocksDB's write-group leader does: a
    /// lone append then costs what a `pwrite` + `fdatasync` loop costs, with
    /// no hand-off to the writer thread and back. Only with nothing in flight,
    /// queued or unusual (a request, a rollover, a fence, a commit delay):
    /// those stay the writer thread's.
    pub(crate) fn commit_as_leader(&mut self) {
        let appends = &self.shared.appends;
        if !self.inflight.is_empty()
            || self.pending.is_some()
            || self.disconnected
            || appends.staged() == 0
            || appends.roll_wanted().is_some()
            || !self.shared.config.commit_delay.is_zero()
            || self.shared.fence_error().is_some()
            || !self.rx.is_empty()
        {
            return;
        }
        self.commit_staged();
        self.complete_inflight();
        debug_assert!(self.inflight.is_empty());
        if self.sleep_deadline().is_some() {
            // The writer thread sleeps with the deadline it computed before
            // this commit (none): it must recompute it or never sync.
            self.shared.appends.rearm_writer();
        }
    }

    /// Unless the next batch is already full, lets the disk work a little
    /// first: what producers stage meanwhile joins the next batch. With room
    /// in the pipeline it waits only for the newest write (the next batch may
    /// go out while its fdatasync runs); otherwise, or if nothing came, for
    /// the oldest commit.
    fn let_the_disk_work(&mut self) {
        if self.inflight.is_empty() || self.shared.appends.batch_is_full() {
            return;
        }
        if self.inflight.len() < self.depth {
            self.engine.wait_written();
        }
        if self.shared.appends.staged() == 0 || self.inflight.len() >= self.depth {
            self.finish_oldest();
            self.maybe_interval_sync();
        }
    }

    fn has_work(&mut self) -> bool {
        self.shared.appends.staged() > 0
            || self.pending.is_some()
            || self.poll_queue()
            || self.disconnected
            || self.shared.appends.roll_wanted().is_some()
    }

    /// Takes one request off the queue into `pending`; true if one is pending.
    fn poll_queue(&mut self) -> bool {
        if self.pending.is_none() {
            match self.rx.try_recv() {
                Ok(r) => self.pending = Some(r),
                Err(TryRecvError::Empty) => {}
                Err(TryRecvError::Disconnected) => self.disconnected = true,
            }
        }
        self.pending.is_some()
    }

    fn commit_delay(&self) {
        let delay = self.shared.config.commit_delay;
        if !delay.is_zero() && self.pending.is_none() {
            self.shared.appends.wait_to_fill(Instant::now() + delay);
        }
    }

    /// Serves the pending request after everything staged before it is out.
    /// True once the writer has shut down (a close).
    fn serve_request(&mut self) -> bool {
        let Some(req) = self.pending.take() else {
            return false;
        };
        self.drain_staged();
        if let Some(e) = self.shared.fence_error() {
            self.pending = Some(req);
            self.serve_fenced(e);
            return true;
        }
        match req {
            Request::Close { ack } => {
                self.shutdown(Some(ack));
                return true;
            }
            Request::Flush { ack } => {
                let r = self.sync_active().map(|_| {
                    let d = self.shared.durable_lsn.load(Ordering::Acquire);
                    (d, d)
                });
                ack.complete(r);
            }
            Request::Checkpoint { ack } => {
                let r = self.checkpoint();
                ack.complete(r.map(|n| (n, n)));
            }
            Request::Rotate { ack, over_limit } => ack.complete(self.rotate(over_limit)),
        }
        self.shared.appends.thaw();
        false
    }

    /// A producer's record did not fit segment `full`: seals it and starts
    /// the next, unless a barrier already did.
    fn roll_for_producers(&mut self, full: u64) {
        self.drain_staged();
        let r = match self.shared.fence_error() {
            Some(e) => Err(e),
            None if self.active_segment() != full => Ok(()),
            None => self.rollover().inspect_err(|e| {
                // Not a fence: nothing was written. Refuse what needed the space.
                tracing::warn!(error = %e, "cannot start a new segment");
            }),
        };
        self.shared.appends.roll_done(r);
        self.shared.appends.thaw();
    }

    fn active_segment(&self) -> u64 {
        self.active.as_ref().map_or(0, |a| a.meta.segment)
    }

    /// After a failed write or sync: nothing more is written or acknowledged.
    /// Staged records are dropped (their waiters get the fence error), and
    /// requests are answered with it until the close.
    fn serve_fenced(&mut self, e: Error) {
        if let Some(t) = self.shared.appends.close(e.clone(), 0) {
            self.shared.appends.give_back(t.buf);
        }
        self.complete_inflight();
        self.shared.commits.end(e.clone());
        self.shared.feed.end(e.clone());
        loop {
            let req = match self.pending.take() {
                Some(r) => r,
                None => match self.rx.recv() {
                    Ok(r) => r,
                    Err(_) => break,
                },
            };
            match req {
                Request::Close { ack } => {
                    self.shutdown(Some(ack));
                    return;
                }
                other => other.fail(e.clone()),
            }
        }
        self.shutdown(None);
    }

    fn shutdown(&mut self, ack: Option<Ack>) {
        let durable = self.shared.durable_lsn.load(Ordering::Acquire);
        if let Some(t) = self.shared.appends.close(Error::Closed, durable) {
            self.submit_when_room(t);
        }
        self.complete_inflight();
        let mut result = match self.shared.fence_error() {
            Some(e) => Err(e),
            None => Ok(()),
        };
        if result.is_ok() {
            result = self.sync_active();
        }
        if result.is_ok() {
            self.write_anchor_index();
        }
        self.shared
            .commits
            .end(self.shared.fence_error().unwrap_or(Error::Closed));
        // Whatever is still queued gets an answer, never silence; a sender
        // that enqueued after this drain sees `closed` (see `Wal::send`).
        let pending = self.pending.take();
        fence::close_and_drain(
            &self.shared.closed,
            &self.shared.fence,
            pending.into_iter().chain(self.rx.try_iter()),
        );
        let l = self.shared.durable_lsn.load(Ordering::Acquire);
        if let Some(ack) = ack {
            ack.complete(result.map(|_| (l, l)));
        }
        self.active = None;
    }
}
