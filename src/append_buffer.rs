//! The append buffer: where producers put their records, in the writer's next write.
//!
//! A producer claims its LSN and its bytes and encodes its record (header,
//! payload, CRC32C) straight into the aligned buffer the writer will submit,
//! all in one short critical section: claim and publish are one step, so a
//! producer that panics half way has published nothing, and the writer never
//! waits for a straggler nor writes a hole. The writer takes the buffer whole
//! ([`AppendBuffer::take`]) and hands a fresh one in, carrying the partial last
//! block over so the next write rewrites it byte for byte.
//!
//! Backpressure: a producer waits while the buffer holds a full batch
//! (`max_batch_bytes`, `max_batch_entries`), while the writer is between
//! segments (frozen for a barrier or a rollover), and while its record needs a
//! new segment. Records never cross a segment's end: a record that does not
//! fit asks the writer for a rollover and waits for its outcome.

use crate::error::{Error, Result};
use crate::format::{BLOCK_SIZE, MAX_LSN, RECORD_HEADER_LEN, align_down, align_up};
use crate::io::AlignedBuf;
use crate::sync::{AtomicUsize, Condvar, Mutex, Ordering};

/// The segment records are staged for: what a record's bytes depend on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SegmentView {
    pub segment: u64,
    pub salt: u32,
    pub capacity: u64,
}

/// A batch the writer took: whole blocks, ready to write at `offset`.
pub(crate) struct Taken {
    pub buf: AlignedBuf,
    /// File offset of `buf[0]` (a block multiple).
    pub offset: u64,
    /// Bytes to write: the carried prefix, the records, zeros to the block end.
    pub len: usize,
    /// File offset just past the last record.
    pub end: u64,
    /// Where the first record starts in `buf`.
    pub first_record: usize,
    pub first_lsn: u64,
    pub last_lsn: u64,
    pub segment: u64,
    /// The epoch its records were claimed in.
    pub epoch: u64,
}

/// What a claim got: its first LSN, and the epoch of the buffer it went in
/// (every record of one epoch goes out in the one batch the writer takes
/// next: waiters of a batch share its wake slot).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Claim {
    pub lsn: u64,
    pub epoch: u64,
}

/// Limits of one batch, from the configuration.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BatchLimits {
    pub bytes: usize,
    pub entries: usize,
}

struct State {
    buf: AlignedBuf,
    /// File offset of `buf[0]`; a block multiple.
    base: u64,
    /// Bytes of `buf` in use: the carried prefix, then the staged records.
    len: usize,
    /// Where the staged records start (the prefix's length).
    first_record: usize,
    /// LSNs staged (a group counts each of its records).
    entries: usize,
    first_lsn: u64,
    next_lsn: u64,
    segment: Option<SegmentView>,
    /// The writer is between batches for a barrier or a rollover.
    frozen: bool,
    /// A record did not fit this segment (0: no segment): a rollover is wanted.
    roll_wanted: Option<u64>,
    /// Rollovers the writer attempted, and the outcome of the latest.
    roll_attempts: u64,
    roll_error: Option<Error>,
    /// Set when the writer stops or fences: every claim answers it.
    closed: Option<Error>,
    writer_asleep: bool,
    /// A producer led a commit while the writer slept and left a sync owed:
    /// the writer must wake and sleep again with the interval's deadline.
    rearm: bool,
    /// Buffers the writer gave back, of the normal capacity.
    spares: Vec<AlignedBuf>,
    /// Bumped at each take: tells a chaos claim that its buffer left.
    epoch: u64,
}

/// See the module documentation.
pub(crate) struct AppendBuffer {
    state: Mutex<State>,
    /// Producers waiting for room, a thaw or a rollover.
    producers: Condvar,
    /// The writer waiting for work.
    writer: Condvar,
    limits: BatchLimits,
    /// Capacity of a normal buffer: one batch, one carried block, one pad block.
    capacity: usize,
    /// LSNs staged now, readable without the lock (how full the next batch is).
    staged: AtomicUsize,
    staged_bytes: AtomicUsize,
    /// Chaos (test seam): publish a record before its payload is written.
    publish_early: bool,
}

/// What a claim needs from the caller: how many LSNs, how many bytes at a
/// given first LSN, and how to encode them there.
pub(crate) trait Records {
    /// LSNs the records take.
    fn count(&self) -> u64;
    /// Encoded bytes when the first record gets `first_lsn`.
    fn encoded_len(&self, first_lsn: u64) -> usize;
    /// Encodes into `out` (exactly `encoded_len(first_lsn)` bytes).
    fn encode(&self, out: &mut [u8], first_lsn: u64, durable_lsn: u64, salt: u32);
}

impl AppendBuffer {
    pub fn new(next_lsn: u64, limits: BatchLimits, publish_early: bool) -> Self {
        assert!(limits.bytes > 0 && limits.entries > 0);
        let capacity = align_up(limits.bytes as u64, BLOCK_SIZE as u64) as usize + 2 * BLOCK_SIZE;
        AppendBuffer {
            state: Mutex::new(State {
                buf: AlignedBuf::new(BLOCK_SIZE),
                base: 0,
                len: 0,
                first_record: 0,
                entries: 0,
                first_lsn: next_lsn,
                next_lsn,
                segment: None,
                frozen: false,
                roll_wanted: None,
                roll_attempts: 0,
                roll_error: None,
                closed: None,
                writer_asleep: false,
                rearm: false,
                spares: Vec::new(),
                epoch: 0,
            }),
            producers: Condvar::default(),
            writer: Condvar::default(),
            limits,
            capacity,
            staged: AtomicUsize::new(0),
            staged_bytes: AtomicUsize::new(0),
            publish_early,
        }
    }

    /// Claims LSNs and bytes for `records`, encodes them in place and
    /// publishes them to the writer. Returns the first LSN. `durable_lsn` is
    /// a durable LSN read before the call (so below every LSN claimed here).
    pub fn claim(&self, records: &dyn Records, durable_lsn: u64) -> Result<Claim> {
        self.claim_with(records, durable_lsn, true)
    }

    /// [`AppendBuffer::claim`] that does not wake a sleeping writer for the
    /// record: the caller commits it as leader, or wakes the writer
    /// ([`AppendBuffer::kick`]) after trying. (Waits for room or a rollover
    /// still wake the writer: they need it.)
    pub fn claim_quietly(&self, records: &dyn Records, durable_lsn: u64) -> Result<Claim> {
        self.claim_with(records, durable_lsn, false)
    }

    fn claim_with(&self, records: &dyn Records, durable_lsn: u64, wake: bool) -> Result<Claim> {
        let n = records.count();
        debug_assert!(n >= 1);
        let mut s = self.state.lock();
        let mut awaited_roll: Option<u64> = None;
        loop {
            if let Some(e) = &s.closed {
                return Err(e.clone());
            }
            if awaited_roll.is_some_and(|at| s.roll_attempts > at) {
                if let Some(e) = &s.roll_error {
                    return Err(e.clone());
                }
                awaited_roll = None;
            }
            if s.frozen {
                self.producers.wait(&mut s);
                continue;
            }
            let first = s.next_lsn;
            if first > MAX_LSN || MAX_LSN - first < n - 1 {
                return Err(Error::Exhausted {
                    what: "LSNs",
                    limit: MAX_LSN,
                });
            }
            let len = records.encoded_len(first);
            let fits_segment = s
                .segment
                .is_some_and(|v| s.base + (s.len + len) as u64 <= v.capacity);
            if !fits_segment && s.segment.is_some() && s.base + s.len as u64 <= BLOCK_SIZE as u64 {
                // Alone in a fresh segment and still too big: no rollover helps.
                return Err(Error::EntryTooLarge {
                    size: len as u64,
                    limit: s.segment.map_or(0, |v| v.capacity) - BLOCK_SIZE as u64,
                });
            }
            if !fits_segment {
                awaited_roll.get_or_insert(s.roll_attempts);
                s.roll_wanted = Some(s.segment.map_or(0, |v| v.segment));
                self.writer.notify_all();
                self.producers.wait(&mut s);
                continue;
            }
            if s.entries > 0 && !self.has_room(&s, len, n) {
                self.writer.notify_all();
                self.producers.wait(&mut s);
                continue;
            }
            if s.len + len > s.buf.capacity() {
                Self::grow(&mut s, len);
            }
            let salt = s.segment.map_or(0, |v| v.salt);
            let epoch = s.epoch;
            if self.publish_early {
                let lsn = self.publish_before_payload(s, records, first, len, durable_lsn);
                return Ok(Claim { lsn, epoch });
            }
            let at = s.len;
            records.encode(
                &mut s.buf.as_mut_slice()[at..at + len],
                first,
                durable_lsn,
                salt,
            );
            self.publish(&mut s, first, n, len, wake);
            return Ok(Claim { lsn: first, epoch });
        }
    }

    /// True if a record of `len` bytes and `n` LSNs joins the staged batch
    /// without passing the batch limits (a lone record always fits: it grows the buffer).
    fn has_room(&self, s: &State, len: usize, n: u64) -> bool {
        let bytes = s.len - s.first_record + len;
        s.len + len <= s.buf.capacity()
            && bytes <= self.limits.bytes
            && s.entries + n as usize <= self.limits.entries
    }

    /// Makes room for one record larger than a normal buffer (only when
    /// nothing else is staged; the caller's data bounds the size).
    fn grow(s: &mut State, len: usize) {
        debug_assert_eq!(s.entries, 0);
        let mut bigger = AlignedBuf::new(s.len + len + BLOCK_SIZE);
        bigger.as_mut_slice()[..s.len].copy_from_slice(&s.buf.as_slice()[..s.len]);
        s.buf = bigger;
    }

    fn publish(&self, s: &mut State, first: u64, n: u64, len: usize, wake: bool) {
        if s.entries == 0 {
            s.first_lsn = first;
        }
        s.len += len;
        s.entries += n as usize;
        s.next_lsn = first + n;
        self.staged.store(s.entries, Ordering::Release);
        self.staged_bytes
            .store(s.len - s.first_record, Ordering::Release);
        if wake && s.writer_asleep {
            self.writer.notify_all();
        }
    }

    /// The negative control of the crash simulator: the record is published
    /// with its header only, and its payload written after the lock was let
    /// go, if its buffer has not left by then. A writer that takes the buffer
    /// in between writes a record whose checksum fails, and acknowledges it.
    fn publish_before_payload(
        &self,
        mut s: crate::sync::MutexGuard<'_, State>,
        records: &dyn Records,
        first: u64,
        len: usize,
        durable_lsn: u64,
    ) -> u64 {
        let at = s.len;
        let salt = s.segment.map_or(0, |v| v.salt);
        let epoch = s.epoch;
        let mut record = vec![0u8; len];
        records.encode(&mut record, first, durable_lsn, salt);
        s.buf.as_mut_slice()[at..at + RECORD_HEADER_LEN]
            .copy_from_slice(&record[..RECORD_HEADER_LEN]);
        s.buf.as_mut_slice()[at + RECORD_HEADER_LEN..at + len].fill(0);
        self.publish(&mut s, first, records.count(), len, true);
        drop(s);
        std::thread::sleep(std::time::Duration::from_micros(200));
        let mut s = self.state.lock();
        if s.epoch == epoch {
            s.buf.as_mut_slice()[at..at + len].copy_from_slice(&record);
        }
        first
    }

    /// Sets the next LSN before the first claim (the writer's start, after
    /// recovery and the archive's floor).
    pub fn reset_next_lsn(&self, next_lsn: u64) {
        let mut s = self.state.lock();
        assert_eq!(s.entries, 0, "records staged before the writer started");
        s.next_lsn = next_lsn;
        s.first_lsn = next_lsn;
    }

    /// LSNs staged now (without the lock).
    pub fn staged(&self) -> usize {
        self.staged.load(Ordering::Acquire)
    }

    /// True if the staged records fill a batch.
    pub fn batch_is_full(&self) -> bool {
        self.staged() >= self.limits.entries
            || self.staged_bytes.load(Ordering::Acquire) >= self.limits.bytes
    }

    /// The LSN the next claim gets.
    pub fn next_lsn(&self) -> u64 {
        self.state.lock().next_lsn
    }

    /// Takes the staged records as one write and installs a fresh buffer
    /// that carries the last partial block. `durable_lsn`, if above what the
    /// first record says, is patched into it: recovery then proves the earlier
    /// batches durable. `None` if nothing is staged.
    pub fn take(&self, durable_lsn: u64) -> Option<Taken> {
        let mut s = self.state.lock();
        let taken = self.take_locked(&mut s, durable_lsn);
        if taken.is_some() {
            self.producers.notify_all();
        }
        taken
    }

    fn take_locked(&self, s: &mut State, durable_lsn: u64) -> Option<Taken> {
        if s.entries == 0 {
            return None;
        }
        let segment = s.segment.map_or(0, |v| v.segment);
        let fresh = s
            .spares
            .pop()
            .unwrap_or_else(|| AlignedBuf::new(self.capacity));
        let mut buf = std::mem::replace(&mut s.buf, fresh);
        let (len, first_record) = (s.len, s.first_record);
        let padded = align_up(len as u64, BLOCK_SIZE as u64) as usize;
        buf.as_mut_slice()[len..padded].fill(0);
        let record = &mut buf.as_mut_slice()[first_record..len];
        let claimed = u64::from_le_bytes(record[16..24].try_into().unwrap_or([0; 8]));
        if durable_lsn > claimed && durable_lsn < s.first_lsn {
            crate::format::patch_durable_lsn(record, durable_lsn);
        }
        // The next write rewrites the partial last block with exactly these bytes.
        let tail = align_down(len as u64, BLOCK_SIZE as u64) as usize;
        let carried = len - tail;
        s.buf.as_mut_slice()[..carried].copy_from_slice(&buf.as_slice()[tail..len]);
        let taken = Taken {
            buf,
            offset: s.base,
            len: padded,
            end: s.base + len as u64,
            first_record,
            first_lsn: s.first_lsn,
            last_lsn: s.next_lsn - 1,
            segment,
            epoch: s.epoch,
        };
        s.base += tail as u64;
        s.len = carried;
        s.first_record = carried;
        s.entries = 0;
        s.first_lsn = s.next_lsn;
        s.epoch += 1;
        self.staged.store(0, Ordering::Release);
        self.staged_bytes.store(0, Ordering::Release);
        Some(taken)
    }

    /// Stops claims (a barrier or a rollover is next) and takes what is staged.
    pub fn freeze(&self, durable_lsn: u64) -> Option<Taken> {
        let mut s = self.state.lock();
        s.frozen = true;
        self.take_locked(&mut s, durable_lsn)
    }

    /// Lets claims go on after [`AppendBuffer::freeze`].
    pub fn thaw(&self) {
        let mut s = self.state.lock();
        s.frozen = false;
        self.producers.notify_all();
    }

    /// Points the buffer at `segment` (or at none), its next record at file
    /// offset `base + prefix.len()`, `prefix` being the bytes before it in
    /// its block (a new segment's header block, or a resumed tail). Only
    /// while nothing is staged.
    pub fn install(&self, segment: Option<SegmentView>, base: u64, prefix: &[u8]) {
        assert_eq!(base % BLOCK_SIZE as u64, 0, "the buffer starts on a block");
        let mut s = self.state.lock();
        assert_eq!(s.entries, 0, "install with records staged");
        if s.buf.capacity() < self.capacity {
            s.buf = AlignedBuf::new(self.capacity);
        }
        s.buf.as_mut_slice()[..prefix.len()].copy_from_slice(prefix);
        s.segment = segment;
        s.base = base;
        s.len = prefix.len();
        s.first_record = prefix.len();
    }

    /// The segment a producer's record did not fit (0: none active), if a
    /// producer waits for a new one.
    pub fn roll_wanted(&self) -> Option<u64> {
        self.state.lock().roll_wanted
    }

    /// The outcome of the rollover producers asked for; wakes them.
    pub fn roll_done(&self, r: Result<()>) {
        let mut s = self.state.lock();
        s.roll_wanted = None;
        s.roll_attempts += 1;
        s.roll_error = r.err();
        self.producers.notify_all();
    }

    /// Refuses every claim from now on with `e`, and takes what is staged
    /// (a close writes it; a fence drops it). Wakes everyone.
    pub fn close(&self, e: Error, durable_lsn: u64) -> Option<Taken> {
        let mut s = self.state.lock();
        if s.closed.is_none() {
            s.closed = Some(e);
        }
        let taken = self.take_locked(&mut s, durable_lsn);
        self.producers.notify_all();
        self.writer.notify_all();
        taken
    }

    /// A buffer back from the engine, for reuse.
    pub fn give_back(&self, buf: AlignedBuf) {
        if buf.capacity() == self.capacity {
            let mut s = self.state.lock();
            if s.spares.len() < crate::io::MAX_COMMITS_IN_FLIGHT + 1 {
                s.spares.push(buf);
            }
        }
    }

    /// Wakes the writer if it waits for work (a request was queued beside).
    pub fn kick(&self) {
        let s = self.state.lock();
        if s.writer_asleep {
            self.writer.notify_all();
        }
    }

    /// Tells a sleeping writer that its deadline is stale (a producer led a
    /// commit and left a sync owed): its wait returns as if timed out.
    pub fn rearm_writer(&self) {
        let mut s = self.state.lock();
        s.rearm = true;
        if s.writer_asleep {
            self.writer.notify_all();
        }
    }

    /// The writer's wait for work: records staged, a rollover wanted, the
    /// buffer closed, or `other()` (a queued request). False on `deadline`,
    /// or when [`AppendBuffer::rearm_writer`] asked for a new deadline.
    pub fn wait_for_work(
        &self,
        other: &mut dyn FnMut() -> bool,
        deadline: Option<std::time::Instant>,
    ) -> bool {
        // No spin before sleeping: a yielding writer beside a busy thread
        // loses a whole scheduler slice, and its wake-up credit with it.
        let mut s = self.state.lock();
        loop {
            if s.entries > 0 || s.roll_wanted.is_some() || s.closed.is_some() || other() {
                return true;
            }
            if std::mem::take(&mut s.rearm) {
                return false;
            }
            s.writer_asleep = true;
            let timed_out = match deadline {
                Some(d) => crate::sync::wait_until(&self.writer, &mut s, d),
                None => {
                    self.writer.wait(&mut s);
                    false
                }
            };
            s.writer_asleep = false;
            if timed_out {
                return false;
            }
        }
    }

    /// The writer's commit delay: waits until `deadline` or a full batch.
    pub fn wait_to_fill(&self, deadline: std::time::Instant) {
        let mut s = self.state.lock();
        while s.roll_wanted.is_none() && s.closed.is_none() && !self.batch_is_full() {
            s.writer_asleep = true;
            let timed_out = crate::sync::wait_until(&self.writer, &mut s, deadline);
            s.writer_asleep = false;
            if timed_out {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{encoded_record_len, entry_body_len};

    // Test-only: the writer's record shapes (layering counts code outside tests).
    use crate::writer::batch::Entry as One;

    fn buffer(bytes: usize, entries: usize) -> AppendBuffer {
        let b = AppendBuffer::new(1, BatchLimits { bytes, entries }, false);
        let view = SegmentView {
            segment: 1,
            salt: 7,
            capacity: 1 << 20,
        };
        b.install(Some(view), 0, &[0xAB; BLOCK_SIZE]);
        b
    }

    #[test]
    fn records_follow_the_carried_prefix_and_the_tail_block_carries_over() {
        let b = buffer(1 << 16, 1000);
        assert_eq!(b.claim(&One(b"one"), 0).unwrap().lsn, 1);
        assert_eq!(b.claim(&One(b"two"), 0).unwrap().lsn, 2);
        let t = b.take(1).unwrap();
        assert_eq!((t.offset, t.first_lsn, t.last_lsn), (0, 1, 2));
        assert_eq!(t.first_record, BLOCK_SIZE);
        assert_eq!(t.len, 2 * BLOCK_SIZE);
        let rec = encoded_record_len(entry_body_len(1, 3));
        assert_eq!(t.end, (BLOCK_SIZE + 2 * rec) as u64);
        assert!(t.buf.as_slice()[..BLOCK_SIZE].iter().all(|&x| x == 0xAB));
        // The next batch starts at the block holding the end, with its bytes.
        assert_eq!(b.claim(&One(b"three"), 1).unwrap().lsn, 3);
        let u = b.take(1).unwrap();
        assert_eq!(u.offset, BLOCK_SIZE as u64);
        assert_eq!(u.first_record, 2 * rec);
        assert_eq!(
            &u.buf.as_slice()[..2 * rec],
            &t.buf.as_slice()[BLOCK_SIZE..BLOCK_SIZE + 2 * rec]
        );
        assert!(b.take(1).is_none());
    }

    #[test]
    fn a_record_that_passes_the_segment_end_asks_for_a_rollover() {
        let b = AppendBuffer::new(
            1,
            BatchLimits {
                bytes: 1 << 16,
                entries: 100,
            },
            false,
        );
        let view = SegmentView {
            segment: 1,
            salt: 7,
            capacity: 2 * BLOCK_SIZE as u64,
        };
        b.install(Some(view), 0, &[0; BLOCK_SIZE]);
        // Alone in a fresh segment, a record that cannot fit is refused outright.
        assert!(matches!(
            b.claim(&One(&[1; 5000]), 0),
            Err(Error::EntryTooLarge { .. })
        ));
        assert_eq!(b.claim(&One(b"small"), 0).unwrap().lsn, 1);
        std::thread::scope(|scope| {
            let claim = scope.spawn(|| b.claim(&One(&[1; 5000]), 0));
            while b.roll_wanted().is_none() {
                std::thread::sleep(std::time::Duration::from_micros(50));
            }
            b.roll_done(Err(Error::DirectoryFull { size: 3, limit: 2 }));
            assert!(matches!(
                claim.join().unwrap(),
                Err(Error::DirectoryFull { .. })
            ));
        });
        // The LSN was not consumed.
        assert_eq!(b.next_lsn(), 2);
    }

    #[test]
    fn a_lone_record_larger_than_a_batch_grows_the_buffer() {
        let b = buffer(BLOCK_SIZE, 1000);
        let big = vec![9u8; 3 * BLOCK_SIZE];
        assert_eq!(b.claim(&One(&big), 0).unwrap().lsn, 1);
        let t = b.take(0).unwrap();
        assert!(t.len >= BLOCK_SIZE + big.len());
    }

    /// Encodes half its record, then panics: a producer dying between claim and publish.
    struct Dies;

    impl Records for Dies {
        fn count(&self) -> u64 {
            1
        }
        fn encoded_len(&self, _: u64) -> usize {
            64
        }
        fn encode(&self, out: &mut [u8], _: u64, _: u64, _: u32) {
            out[..32].fill(0xEE);
            panic!("producer dies mid-record");
        }
    }

    #[test]
    fn a_producer_that_dies_mid_record_publishes_nothing() {
        let b = buffer(1 << 16, 100);
        assert_eq!(b.claim(&One(b"before"), 0).unwrap().lsn, 1);
        let died = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| b.claim(&Dies, 0)));
        assert!(died.is_err());
        // Its LSN is not consumed, its bytes are not in the batch, nothing waits for it.
        assert_eq!(b.claim(&One(b"after"), 0).unwrap().lsn, 2);
        let t = b.take(0).unwrap();
        assert_eq!((t.first_lsn, t.last_lsn), (1, 2));
        let rec = |lsn, d: &[u8]| encoded_record_len(entry_body_len(lsn, d.len()));
        assert_eq!(
            t.end,
            (BLOCK_SIZE + rec(1, b"before") + rec(2, b"after")) as u64
        );
        assert!(
            !t.buf.as_slice()[..t.len]
                .windows(32)
                .any(|w| w.iter().all(|&x| x == 0xEE))
        );
    }

    #[test]
    fn a_full_batch_holds_the_next_producer_until_the_writer_takes_it() {
        let b = buffer(1 << 16, 2);
        b.claim(&One(b"a"), 0).unwrap();
        b.claim(&One(b"b"), 0).unwrap();
        assert!(b.batch_is_full());
        std::thread::scope(|scope| {
            let third = scope.spawn(|| b.claim(&One(b"c"), 0));
            std::thread::sleep(std::time::Duration::from_millis(50));
            assert!(!third.is_finished(), "a claim passed the batch limit");
            let t = b.take(0).unwrap();
            assert_eq!((t.first_lsn, t.last_lsn), (1, 2));
            assert_eq!(third.join().unwrap().unwrap().lsn, 3);
        });
    }

    #[test]
    fn a_closed_buffer_refuses_claims() {
        let b = buffer(1 << 16, 10);
        b.claim(&One(b"x"), 0).unwrap();
        let t = b.close(Error::Closed, 0).unwrap();
        assert_eq!(t.last_lsn, 1);
        assert!(matches!(b.claim(&One(b"y"), 0), Err(Error::Closed)));
    }
}
