//! The batches in flight: submission, completion in order, the fence, and
//! the watermark with its wake-up.

use super::Writer;
use super::batch::runs_inline;
use crate::append_buffer::Taken;
use crate::config::SyncPolicy;
use crate::feed::Committed;
use crate::format::BLOCK_SIZE;
use crate::io::WriteOp;
use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering;
use std::time::Instant;

/// A batch submitted and not yet finished.
pub(super) struct InFlight {
    first_lsn: u64,
    last_lsn: u64,
    /// The append buffer's epoch of its records: their waiters' wake slot.
    epoch: u64,
    /// The policy acknowledges on completion with the data durable.
    durable: bool,
    /// An fdatasync is linked after the write.
    synced: bool,
    bytes: usize,
    started: Instant,
    /// The batch's records for live tails, while one is registered.
    copy: Option<Committed>,
}

impl Writer {
    /// Submits what producers staged, as one group commit.
    pub(super) fn commit_staged(&mut self) {
        if !self.make_room() {
            return;
        }
        let inline = runs_inline(
            self.inflight.len(),
            self.depth,
            self.shared.appends.staged(),
        );
        let durable = self.shared.durable_lsn.load(Ordering::Acquire);
        let Some(t) = self.shared.appends.take(durable) else {
            return;
        };
        if inline {
            // The write runs on this thread: wake the last batch first.
            self.wake_acked();
        }
        self.submit(t, inline);
        // Submitted first: waking the previous batches' producers overlaps
        // with the disk instead of delaying it.
        self.wake_acked();
    }

    /// Stops claims and writes everything staged, then finishes every batch
    /// in flight (a barrier or a rollover comes next). Claims stay stopped
    /// until the caller thaws the buffer.
    pub(super) fn drain_staged(&mut self) {
        let durable = self.shared.durable_lsn.load(Ordering::Acquire);
        if let Some(t) = self.shared.appends.freeze(durable) {
            self.submit_when_room(t);
        }
        self.complete_inflight();
    }

    /// Submits `t` once the pipeline has room (and is not failing).
    pub(super) fn submit_when_room(&mut self, t: Taken) {
        if self.make_room() {
            self.submit(t, false);
        } else {
            self.shared.appends.give_back(t.buf);
        }
    }

    /// Waits until the pipeline has room for one more batch. A failed write
    /// in flight finishes everything (that fences) rather than submit behind
    /// it. False if the WAL is fenced.
    fn make_room(&mut self) -> bool {
        while self.inflight.len() >= self.depth {
            self.finish_oldest();
        }
        if !self.inflight.is_empty() && !self.engine.wait_written() {
            self.complete_inflight();
        }
        self.shared.fence_error().is_none()
    }

    fn submit(&mut self, t: Taken, inline: bool) {
        let Some(active) = self.active.as_mut() else {
            self.shared.appends.give_back(t.buf);
            return;
        };
        debug_assert_eq!(t.segment, active.meta.segment);
        debug_assert!(self.inflight.len() < self.depth);
        debug_assert!(t.first_lsn <= t.last_lsn, "a batch holds at least one LSN");
        debug_assert!(
            self.inflight.back().map_or(self.acked, |b| b.last_lsn) < t.first_lsn,
            "batches go out in LSN order, after everything acknowledged"
        );
        debug_assert!(t.len <= t.buf.capacity() && t.offset.is_multiple_of(BLOCK_SIZE as u64));
        if let Some(at) = self.shared.seams.panic_writer_at_lsn() {
            assert!(
                !(t.first_lsn..=t.last_lsn).contains(&at),
                "chaos: writer panics at LSN {at}"
            );
        }
        active.note_batch(&self.shared, &t);
        let singles = &self.shared.single_batches;
        match t.last_lsn == t.first_lsn {
            true => singles.fetch_add(1, Ordering::Relaxed),
            false => singles.swap(0, Ordering::Relaxed),
        };
        let chaos = self.shared.seams.ack_before_sync();
        let sync = self.shared.config.sync == SyncPolicy::Always && !chaos;
        tracing::trace!(
            segment = t.segment,
            offset = t.offset,
            len = t.len,
            entries = t.last_lsn + 1 - t.first_lsn,
            inline,
            "commit"
        );
        crate::metrics::set_queue_depth(self.shared.appends.staged());
        let copy = self
            .shared
            .feed
            .wanted()
            .then(|| copy_records(&t, &active.meta));
        self.engine.start(WriteOp {
            fd: active.file.as_raw_fd(),
            offset: t.offset,
            buf: t.buf,
            len: t.len,
            sync,
            inline,
        });
        self.inflight.push_back(InFlight {
            first_lsn: t.first_lsn,
            last_lsn: t.last_lsn,
            epoch: t.epoch,
            durable: self.shared.config.sync.acks_are_durable(),
            synced: sync,
            bytes: t.len,
            started: Instant::now(),
            copy,
        });
    }

    /// Finishes every batch in flight and wakes their waiters.
    pub(super) fn complete_inflight(&mut self) {
        while !self.inflight.is_empty() {
            self.finish_oldest();
        }
        self.wake_acked();
    }

    /// Waits for the oldest batch in flight and publishes its outcome: the
    /// watermarks, or the fence. Waking its waiters is left to
    /// [`Writer::wake_acked`], so it can follow the next submission.
    pub(super) fn finish_oldest(&mut self) {
        let Some(f) = self.inflight.pop_front() else {
            return;
        };
        let (buf, r) = self.engine.finish();
        self.shared.appends.give_back(buf);
        let op = if f.synced { "write+fdatasync" } else { "write" };
        // A failure fences; once fenced, a later success answers the fence too.
        match self.shared.fence.settle(r, op) {
            Ok(()) => {
                debug_assert!(f.last_lsn > self.acked, "the watermark only rises");
                let latency = f.started.elapsed();
                let entries = f.last_lsn + 1 - f.first_lsn;
                crate::metrics::record_append(entries, f.bytes as u64);
                crate::metrics::record_commit(entries as usize, f.bytes, latency);
                if f.synced {
                    // The fdatasync is linked after the write: the chain is what a commit waits for.
                    crate::metrics::record_fsync(latency);
                }
                self.shared
                    .readable_lsn
                    .store(f.last_lsn, Ordering::Release);
                if f.durable {
                    self.shared.durable_lsn.store(f.last_lsn, Ordering::Release);
                } else {
                    self.unsynced = true;
                }
                debug_assert!(
                    self.shared.durable_lsn.load(Ordering::Relaxed) <= f.last_lsn,
                    "nothing is durable before it is written"
                );
                self.shared.commits.raise(f.last_lsn);
                self.shared.feed.written(f.copy, f.last_lsn, f.durable);
                self.acked = f.last_lsn;
                self.to_wake.push(f.epoch);
            }
            Err(e) => {
                self.shared.commits.end(e.clone());
                self.shared.feed.end(e);
            }
        }
    }

    /// Wakes the waiters of the batches finished since the last wake-up: one
    /// call per batch, whatever its size.
    pub(super) fn wake_acked(&mut self) {
        for epoch in self.to_wake.drain(..) {
            self.shared.commits.wake(epoch, &mut self.wakers);
        }
    }
}

/// The records of a batch, copied out of the buffer before it goes to the kernel.
fn copy_records(t: &Taken, meta: &crate::shared::SegmentMeta) -> Committed {
    let end = (t.end - t.offset) as usize;
    debug_assert!(t.first_record <= end && end <= t.len);
    Committed {
        segment: t.segment,
        salt: meta.salt,
        max_entry_size: meta.max_entry_size,
        offset: t.offset + t.first_record as u64,
        first_lsn: t.first_lsn,
        last_lsn: t.last_lsn,
        records: bytes::Bytes::copy_from_slice(&t.buf.as_slice()[t.first_record..end]),
    }
}
