//! What a producer stages, and how the writer sends a batch: pure, tested
//! without I/O.

use crate::append_buffer::Records;
use crate::format::{
    FLAG_GROUP_END, encode_entry_record, encode_skip_record, encoded_record_len, entry_body_len,
};

/// Batches of at most this many LSNs, with nothing else in flight, run
/// inline even when several commits may be in flight.
pub(crate) const INLINE_MAX_LSNS: usize = 4;

/// True if a batch taken now should run inline: the writer thread issues the
/// `pwrite` and the `fdatasync` itself instead of a linked chain in the ring.
///
/// With one commit in flight (the default) every batch does: io_uring runs
/// the chain's fdatasync on an io-wq worker thread, one more hand-off, and
/// on a busy machine each hand-off can wait for a scheduler slice. Measured
/// with 64 blocking writers, 3 s runs (`examples`-style loop, this 2-core
/// VM): idle 98.7-102.7k appends/s inline against 100.4k through the ring;
/// beside two busy threads 57-59k inline against 40k through the ring. (The
/// ring used to win idle because the writer woke its waiters while the disk
/// worked; a batch's waiters now cost it one wake-up call, see
/// `EventCount`.) With more commits in flight, only a small batch with
/// nothing in flight runs inline: the others overlap in the ring.
pub(crate) fn runs_inline(in_flight: usize, depth: usize, staged: usize) -> bool {
    in_flight == 0 && (depth == 1 || staged <= INLINE_MAX_LSNS)
}

/// One entry.
pub(crate) struct Entry<'a>(pub &'a [u8]);

impl Records for Entry<'_> {
    fn count(&self) -> u64 {
        1
    }
    fn encoded_len(&self, first_lsn: u64) -> usize {
        encoded_record_len(entry_body_len(first_lsn, self.0.len()))
    }
    fn encode(&self, out: &mut [u8], lsn: u64, durable_lsn: u64, salt: u32) {
        encode_entry_record(out, lsn, durable_lsn, FLAG_GROUP_END, salt, self.0);
    }
}

/// An atomic group: consecutive LSNs, in one segment, the last record flagged.
pub(crate) struct Group<'a, D: AsRef<[u8]>>(pub &'a [D]);

impl<D: AsRef<[u8]>> Records for Group<'_, D> {
    fn count(&self) -> u64 {
        self.0.len() as u64
    }
    fn encoded_len(&self, first_lsn: u64) -> usize {
        let lens = self.0.iter().enumerate();
        lens.map(|(i, d)| {
            encoded_record_len(entry_body_len(first_lsn + i as u64, d.as_ref().len()))
        })
        .sum()
    }
    fn encode(&self, out: &mut [u8], first_lsn: u64, durable_lsn: u64, salt: u32) {
        let last = self.0.len() - 1;
        let mut pos = 0;
        for (i, d) in self.0.iter().enumerate() {
            let flags = if i == last { FLAG_GROUP_END } else { 0 };
            let lsn = first_lsn + i as u64;
            pos += encode_entry_record(&mut out[pos..], lsn, durable_lsn, flags, salt, d.as_ref());
        }
        debug_assert_eq!(pos, out.len());
    }
}

/// An LSN consumed without an entry (`inc_last_index`).
pub(crate) struct Skip;

impl Records for Skip {
    fn count(&self) -> u64 {
        1
    }
    fn encoded_len(&self, _first_lsn: u64) -> usize {
        encoded_record_len(0)
    }
    fn encode(&self, out: &mut [u8], lsn: u64, durable_lsn: u64, salt: u32) {
        encode_skip_record(out, lsn, durable_lsn, salt);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{RecordDecode, decode_record};

    #[test]
    fn a_group_encodes_consecutive_lsns_and_flags_only_its_last_record() {
        let items = [b"a".as_slice(), b"bb", b"ccc"];
        let g = Group(&items);
        let mut out = vec![0u8; g.encoded_len(10)];
        g.encode(&mut out, 10, 9, 0x5A17);
        let mut pos = 0;
        for (i, want) in items.iter().enumerate() {
            let RecordDecode::Record(r) = decode_record(&out[pos..], 0x5A17, 1024) else {
                panic!("record {i} does not decode");
            };
            assert_eq!(r.header.lsn, 10 + i as u64);
            assert_eq!(r.header.is_group_end(), i == 2);
            assert_eq!(r.data().unwrap(), *want);
            pos += r.len;
        }
        assert_eq!(pos, out.len());
    }

    #[test]
    fn only_small_batches_with_nothing_in_flight_run_inline() {
        // One commit in flight: every batch.
        assert!(runs_inline(0, 1, 1));
        assert!(runs_inline(0, 1, 10_000));
        // More: only small ones, with nothing in flight.
        assert!(runs_inline(0, 2, 1));
        assert!(runs_inline(0, 2, INLINE_MAX_LSNS));
        assert!(!runs_inline(0, 2, INLINE_MAX_LSNS + 1));
        assert!(!runs_inline(1, 2, 1));
    }
}
