//! The evidence scan: proof, later in a segment, that a record had been made
//! durable.
//!
//! Every record carries the durable watermark of the moment it was written
//! (its *durable LSN*). A valid record whose durable LSN is at least L was
//! written after L had been synced. Recovery uses that to tell a torn tail
//! (nothing later proves it) from damage to acknowledged data (something
//! does), and to tell a torn new segment from one whose header was damaged
//! after it had been synced.
//!
//! Recovery reads a segment in chunks whose size has nothing to do with
//! record boundaries. [`EvidenceScan`] takes the chunks as they come. Between
//! chunks it holds only the bytes of the one position it has not been able to
//! decide yet (at most one record, whose length `decode_record` bounds by
//! `max_body` before asking for it), so its answer does not depend on how
//! the file was cut into chunks, and memory does not grow with the file.

use super::record::{RECORD_ALIGN, RECORD_HEADER_LEN};
use super::record::{RecordDecode, RecordHeader, decode_record};
use super::segment_header::le_u32;
use crate::cursor::RecordCursor;

/// Salts a scan [`EvidenceScan::without_header`] tracks at the most. Garbage
/// rarely passes a CRC, so a real segment shows one salt (its own) and
/// perhaps a few of an earlier use of the file; the bound keeps the state
/// fixed-size whatever the disk holds.
const SALTS_MAX: usize = 64;

/// What a scan found: a valid record at `proof_offset` whose durable LSN is
/// at least `lsn`, so the record holding `lsn` (at `lsn_offset`) had been
/// synced before the proving record was written.
///
/// # Examples
///
/// ```
/// use xwal::format::{encode_entry_record, EvidenceScan, FLAG_GROUP_END};
///
/// let mut buf = vec![0u8; 128];
/// let a = encode_entry_record(&mut buf, 7, 6, FLAG_GROUP_END, 0x5A17, b"seven");
/// encode_entry_record(&mut buf[a..], 8, 7, FLAG_GROUP_END, 0x5A17, b"eight");
/// // Say the record at offset 4096 (LSN 7) failed to decode: the next one proves it durable.
/// let mut scan = EvidenceScan::past_bad_record(4096, 0x5A17, 7, 1024);
/// let e = scan.push(4096 + 8, &buf[8..]).expect("found");
/// assert_eq!((e.proof_offset, e.lsn, e.lsn_offset), (4096 + a as u64, 7, 4096));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Evidence {
    /// File offset of the valid record whose durable-LSN claim is the proof.
    pub proof_offset: u64,
    /// The LSN proven durable.
    pub lsn: u64,
    /// File offset of the record that holds (or should hold) `lsn`.
    pub lsn_offset: u64,
}

/// An LSN to prove durable, of one salt, and where its record starts.
#[derive(Debug, Clone, Copy, Default)]
struct Claim {
    salt: u32,
    lsn: u64,
    offset: u64,
}

/// The LSNs to prove durable, one per salt: given by the caller (one), or
/// learned from the segment itself (the lowest LSN seen of each salt).
#[derive(Debug)]
struct Claims {
    claims: [Claim; SALTS_MAX],
    claims_count: usize,
    /// Learned claims. Valid records are then stepped over whole, so a
    /// payload that embeds records proves nothing. A given claim follows a
    /// damaged record, so no record boundary is trusted: every 8-byte
    /// position is a candidate, inside valid records too.
    learning: bool,
}

/// Where the scan goes after a valid record.
enum Step {
    Proof(Evidence),
    Advance(usize),
}

impl Claims {
    fn given(claim: Claim) -> Self {
        let mut claims = [Claim::default(); SALTS_MAX];
        claims[0] = claim;
        Claims {
            claims,
            claims_count: 1,
            learning: false,
        }
    }

    fn learned() -> Self {
        Claims {
            claims: [Claim::default(); SALTS_MAX],
            claims_count: 0,
            learning: true,
        }
    }

    /// Whether a record of `salt` is worth decoding.
    fn accepts(&self, salt: u32) -> bool {
        if self.learning {
            salt != 0 // zero fill, never a segment's salt
        } else {
            salt == self.claims[0].salt
        }
    }

    fn judge(&mut self, header: &RecordHeader, offset: u64, len: usize) -> Step {
        debug_assert!(self.claims_count <= SALTS_MAX);
        let seen = &mut self.claims[..self.claims_count];
        let known = seen.iter_mut().find(|c| c.salt == header.salt);
        match known {
            Some(c) if header.durable_lsn >= c.lsn => {
                return Step::Proof(Evidence {
                    proof_offset: offset,
                    lsn: c.lsn,
                    lsn_offset: c.offset,
                });
            }
            _ if !self.learning => return Step::Advance(RECORD_ALIGN),
            Some(c) if header.lsn < c.lsn => (c.lsn, c.offset) = (header.lsn, offset),
            Some(_) => {}
            None if self.claims_count < SALTS_MAX => {
                self.claims[self.claims_count] = Claim {
                    salt: header.salt,
                    lsn: header.lsn,
                    offset,
                };
                self.claims_count += 1;
            }
            None => {}
        }
        Step::Advance(len)
    }
}

/// A streaming scan for a valid record that proves an earlier one durable.
/// Fed the file's bytes chunk by chunk, in order, with [`push`](Self::push);
/// runs of zeros are skipped (staying 8-byte aligned) and every other
/// 8-byte-aligned position is tried.
///
/// Bytes held between chunks stay below one maximal record
/// (`encoded_record_len(max_body + 32)`, the most `decode_record` asks for);
/// nothing is sized from a number read from disk.
///
/// # Examples
///
/// ```
/// use xwal::format::{encode_entry_record, EvidenceScan, FLAG_GROUP_END};
///
/// let mut file = vec![0u8; 256];
/// let a = encode_entry_record(&mut file, 1, 0, FLAG_GROUP_END, 0x5A17, b"one");
/// let b = encode_entry_record(&mut file[a..], 2, 1, FLAG_GROUP_END, 0x5A17, b"two");
/// encode_entry_record(&mut file[a + b..], 3, 2, FLAG_GROUP_END, 0x5A17, b"three");
///
/// // The record at 0 (LSN 1) is taken as bad; fed 5 bytes at a time, the scan
/// // finds the second record, which claims LSN 1 durable.
/// let mut scan = EvidenceScan::past_bad_record(0, 0x5A17, 1, 1024);
/// for (i, chunk) in file[8..].chunks(5).enumerate() {
///     if scan.push(8 + 5 * i as u64, chunk).is_some() {
///         break;
///     }
/// }
/// assert_eq!(scan.evidence().map(|e| e.proof_offset), Some(a as u64));
///
/// // Nothing claims LSN 3 durable.
/// let mut scan = EvidenceScan::past_bad_record(0, 0x5A17, 3, 1024);
/// assert_eq!(scan.push(8, &file[8..]), None);
/// ```
pub struct EvidenceScan {
    cursor: RecordCursor,
    max_body: u32,
    claims: Claims,
    found: Option<Evidence>,
}

impl std::fmt::Debug for EvidenceScan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EvidenceScan")
            .field("next_offset", &self.next_offset())
            .field("held_len", &self.held_len())
            .field("max_body", &self.max_body)
            .field("claims", &self.claims)
            .field("found", &self.found)
            .finish()
    }
}

impl EvidenceScan {
    /// A scan for proof that LSN `lsn`, expected in a record of `salt` at
    /// `bad_offset` that did not decode, had been durable: a valid record of
    /// `salt` further on whose durable LSN is at least `lsn`. The scan starts
    /// at `bad_offset + 8`, where the first chunk must start.
    ///
    /// # Examples
    ///
    /// ```
    /// use xwal::format::{encode_entry_record, EvidenceScan, FLAG_GROUP_END};
    ///
    /// let mut buf = vec![0u8; 64];
    /// encode_entry_record(&mut buf, 9, 5, FLAG_GROUP_END, 0x5A17, b"nine");
    /// // A record 64 bytes past the bad one claims LSN 5 durable.
    /// let mut scan = EvidenceScan::past_bad_record(4096, 0x5A17, 5, 1024);
    /// assert_eq!(scan.next_offset(), 4104);
    /// scan.push(4104, &[0; 56]);
    /// assert_eq!(scan.push(4160, &buf).map(|e| e.proof_offset), Some(4160));
    /// ```
    pub fn past_bad_record(bad_offset: u64, salt: u32, lsn: u64, max_body: u32) -> Self {
        let claim = Claim {
            salt,
            lsn,
            offset: bad_offset,
        };
        Self::new(
            bad_offset + RECORD_ALIGN as u64,
            max_body,
            Claims::given(claim),
        )
    }

    /// A scan of a segment whose header is unusable, so neither its salt nor
    /// its first LSN is known: proof is a valid record whose durable LSN
    /// reaches the lowest LSN seen earlier in a record of the same salt. The
    /// first chunk must start at `start` (the end of the header block).
    ///
    /// # Examples
    ///
    /// ```
    /// use xwal::format::{encode_entry_record, EvidenceScan, FLAG_GROUP_END};
    ///
    /// let mut buf = vec![0u8; 128];
    /// let a = encode_entry_record(&mut buf, 20, 19, FLAG_GROUP_END, 0x5A17, b"x");
    /// encode_entry_record(&mut buf[a..], 21, 20, FLAG_GROUP_END, 0x5A17, b"y");
    /// let mut scan = EvidenceScan::without_header(4096, 1024);
    /// let e = scan.push(4096, &buf).expect("LSN 21 claims LSN 20 durable");
    /// assert_eq!((e.lsn_offset, e.lsn, e.proof_offset), (4096, 20, 4096 + a as u64));
    /// ```
    pub fn without_header(start: u64, max_body: u32) -> Self {
        Self::new(start, max_body, Claims::learned())
    }

    fn new(start: u64, max_body: u32, claims: Claims) -> Self {
        EvidenceScan {
            cursor: RecordCursor::new(start),
            max_body,
            claims,
            found: None,
        }
    }

    /// The file offset the next chunk must start at.
    ///
    /// # Examples
    ///
    /// ```
    /// use xwal::format::EvidenceScan;
    ///
    /// let mut scan = EvidenceScan::without_header(4096, 1024);
    /// scan.push(4096, &[0xAB; 100]);
    /// assert_eq!(scan.next_offset(), 4196);
    /// ```
    pub fn next_offset(&self) -> u64 {
        self.cursor.offset() + self.cursor.available().len() as u64
    }

    /// Takes the next chunk, read at file offset `offset`, and returns the
    /// evidence once found. After that, chunks are ignored and the same
    /// evidence is returned.
    ///
    /// # Panics
    ///
    /// If `offset` is not [`next_offset`](Self::next_offset) (before the
    /// evidence is found): the chunks must follow each other.
    ///
    /// # Examples
    ///
    /// ```
    /// use xwal::format::{encode_entry_record, EvidenceScan, FLAG_GROUP_END};
    ///
    /// let mut buf = vec![0u8; 64];
    /// let n = encode_entry_record(&mut buf, 4, 3, FLAG_GROUP_END, 0x5A17, b"four");
    /// let mut scan = EvidenceScan::past_bad_record(0, 0x5A17, 3, 1024);
    /// // Cut inside the record: undecided until its end arrives.
    /// assert_eq!(scan.push(8, &[0; 8]), None);
    /// assert_eq!(scan.push(16, &buf[..20]), None);
    /// let e = scan.push(36, &buf[20..n]).expect("found once the record is whole");
    /// assert_eq!(e.proof_offset, 16);
    /// ```
    pub fn push(&mut self, offset: u64, chunk: &[u8]) -> Option<Evidence> {
        if self.found.is_some() {
            return self.found;
        }
        self.cursor.push(offset, chunk);
        self.found = self.scan();
        assert!(
            self.found.is_some() || (self.held_len() as u64) < self.held_limit(),
            "an undecided position holds at most one record"
        );
        self.found
    }

    /// The evidence, if found.
    ///
    /// # Examples
    ///
    /// ```
    /// use xwal::format::EvidenceScan;
    ///
    /// let mut scan = EvidenceScan::past_bad_record(4096, 0x5A17, 1, 1024);
    /// scan.push(4104, &[0; 4096]);
    /// assert_eq!(scan.evidence(), None); // zero fill proves nothing
    /// ```
    pub fn evidence(&self) -> Option<Evidence> {
        self.found
    }

    /// Bytes held for a position not decided yet.
    pub(crate) fn held_len(&self) -> usize {
        self.cursor.available().len()
    }

    /// What `held_len` stays below: the longest record `decode_record` waits
    /// for (it refuses a longer length field before asking for the bytes).
    fn held_limit(&self) -> u64 {
        // In u64: max_body comes from disk and may be u32::MAX (refused later, but not here).
        let body_max = self.max_body as u64 + 32;
        RECORD_HEADER_LEN as u64 + body_max.next_multiple_of(RECORD_ALIGN as u64)
    }

    /// Tries positions until one needs more bytes or proves something.
    fn scan(&mut self) -> Option<Evidence> {
        loop {
            if self.cursor.skip_zeros(RECORD_ALIGN) {
                continue;
            }
            let offset = self.cursor.offset();
            let window = self.cursor.available();
            if window.len() < RECORD_HEADER_LEN {
                return None;
            }
            let salt = le_u32(window, 28);
            let step = if self.claims.accepts(salt) {
                match decode_record(window, salt, self.max_body) {
                    RecordDecode::Record(r) => match self.claims.judge(&r.header, offset, r.len) {
                        Step::Proof(e) => return Some(e),
                        Step::Advance(n) => n,
                    },
                    RecordDecode::NeedMore(n) => {
                        debug_assert!(n as u64 <= self.held_limit());
                        return None;
                    }
                    RecordDecode::Invalid(_) => RECORD_ALIGN,
                }
            } else {
                RECORD_ALIGN
            };
            debug_assert!(step % RECORD_ALIGN == 0 && step <= window.len());
            self.cursor.advance(step);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{FLAG_GROUP_END, entry_body_len};
    use crate::format::{encode_entry_record, encode_skip_record, encoded_record_len};
    use proptest::prelude::*;

    const SALT: u32 = 0x1234_5678;
    const START: u64 = 4096;
    const MAX_BODY: u32 = 1024;

    fn record(lsn: u64, durable: u64, salt: u32, data: &[u8]) -> Vec<u8> {
        let mut out = vec![0u8; encoded_record_len(entry_body_len(lsn, data.len()))];
        encode_entry_record(&mut out, lsn, durable, FLAG_GROUP_END, salt, data);
        out
    }

    /// Feeds `buf` (file bytes from `scan.next_offset()` on) in chunks of the
    /// given sizes, cycled; a size of 0 pushes an empty chunk.
    fn feed(mut scan: EvidenceScan, buf: &[u8], sizes: &[usize]) -> Option<Evidence> {
        let mut pos = 0;
        for &n in sizes.iter().cycle() {
            let end = (pos + n).min(buf.len());
            let found = scan.push(scan.next_offset(), &buf[pos..end]);
            if found.is_some() {
                return found;
            }
            assert_held_bounded(&scan);
            pos = end;
            if pos == buf.len() {
                break;
            }
        }
        scan.evidence()
    }

    fn assert_held_bounded(scan: &EvidenceScan) {
        assert!((scan.held_len() as u64) < scan.held_limit());
    }

    fn scans(past_bad: bool, max_body: u32, lsn: u64) -> EvidenceScan {
        if past_bad {
            EvidenceScan::past_bad_record(START - 8, SALT, lsn, max_body)
        } else {
            EvidenceScan::without_header(START, max_body)
        }
    }

    /// A piece of a segment: a record of ours or of another salt, zeros, or garbage.
    fn piece() -> impl Strategy<Value = Vec<u8>> {
        let rec = (
            1u64..40,
            any::<u64>(),
            any::<bool>(),
            proptest::collection::vec(any::<u8>(), 0..300),
        )
            .prop_map(|(lsn, d, ours, data)| {
                record(lsn, d % lsn, if ours { SALT } else { 0x0BAD_5A17 }, &data)
            });
        let zeros = (0usize..80).prop_map(|n| vec![0u8; n * 8]);
        let garbage = proptest::collection::vec(any::<u8>(), 0..100);
        prop_oneof![4 => rec, 1 => zeros, 1 => garbage]
    }

    fn segment() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(piece(), 0..12).prop_map(|p| p.concat())
    }

    /// Chunk sizes, the last one never 0 so that feeding ends.
    fn sizes() -> impl Strategy<Value = Vec<usize>> {
        (proptest::collection::vec(0usize..700, 0..20), 1usize..700).prop_map(|(mut v, last)| {
            v.push(last);
            v
        })
    }

    proptest! {
        #[test]
        fn chunking_does_not_change_the_answer(buf in segment(), sizes in sizes(), past_bad in any::<bool>(), lsn in 0u64..45) {
            let whole = feed(scans(past_bad, MAX_BODY, lsn), &buf, &[buf.len()]);
            prop_assert_eq!(feed(scans(past_bad, MAX_BODY, lsn), &buf, &sizes), whole);
            prop_assert_eq!(feed(scans(past_bad, MAX_BODY, lsn), &buf, &[1]), whole);
        }

        #[test]
        fn a_later_durable_claim_is_found(
            bad in proptest::collection::vec(any::<u8>(), 32..200),
            between in proptest::collection::vec(piece(), 0..6),
            lsn in 2u64..40,
            extra in 0u64..5,
            data in proptest::collection::vec(any::<u8>(), 0..300),
            sizes in sizes(),
        ) {
            // Nothing between the bad record and the proof claims lsn durable
            // (records of ours there claim less).
            let between: Vec<u8> = between
                .into_iter()
                .filter(|p| p.len() < 32 || le_u32(p, 28) != SALT)
                .collect::<Vec<_>>()
                .concat();
            let mut buf = bad[8..].to_vec();
            buf.resize(buf.len().next_multiple_of(8), 0);
            // The garbage and foreign records may not pass for ours.
            prop_assume!(feed(scans(true, MAX_BODY, lsn), &buf, &[buf.len()]).is_none());
            buf.extend_from_slice(&between);
            buf.resize(buf.len().next_multiple_of(8), 0);
            prop_assume!(feed(scans(true, MAX_BODY, lsn), &buf, &[buf.len()]).is_none());
            let at = START + buf.len() as u64;
            buf.extend_from_slice(&record(lsn + extra + 1, lsn + extra, SALT, &data));
            let found = feed(scans(true, MAX_BODY, lsn), &buf, &sizes);
            prop_assert_eq!(found, Some(Evidence { proof_offset: at, lsn, lsn_offset: START - 8 }));
        }

        #[test]
        fn random_bytes_never_panic(
            buf in proptest::collection::vec(any::<u8>(), 0..2000),
            sizes in sizes(),
            past_bad in any::<bool>(),
            max_body in prop_oneof![Just(u32::MAX), Just(0u32), 0u32..5000],
            lsn in any::<u64>(),
        ) {
            let whole = feed(scans(past_bad, max_body, lsn), &buf, &[buf.len()]);
            prop_assert_eq!(feed(scans(past_bad, max_body, lsn), &buf, &sizes), whole);
        }
    }

    #[test]
    fn a_damaged_record_is_proven_by_the_next() {
        let mut buf = record(10, 9, SALT, b"aaaa");
        let first_len = buf.len() as u64;
        buf.extend_from_slice(&record(11, 10, SALT, b"bbbb"));
        buf[34] ^= 0xff; // damage record 10 (body)
        let scan = |lsn| {
            feed(
                EvidenceScan::past_bad_record(0, SALT, lsn, 1 << 20),
                &buf[8..],
                &[9],
            )
        };
        let found = scan(10).map(|e| (e.proof_offset, e.lsn, e.lsn_offset));
        assert_eq!(found, Some((first_len, 10, 0)));
        assert_eq!(scan(11), None);
    }

    #[test]
    fn without_header_takes_the_lowest_lsn_of_each_salt() {
        let mut buf = record(5, 4, 0x0BAD_5A17, b"other");
        let ours = buf.len() as u64;
        buf.extend_from_slice(&record(8, 2, SALT, b"eight"));
        let mut skip = [0u8; 32];
        encode_skip_record(&mut skip, 9, 7, SALT); // claims less than 8
        buf.extend_from_slice(&skip);
        let proof = buf.len() as u64;
        buf.extend_from_slice(&record(12, 8, SALT, b"twelve"));
        let found = feed(EvidenceScan::without_header(START, 1024), &buf, &[13]);
        let expect = Evidence {
            proof_offset: START + proof,
            lsn: 8,
            lsn_offset: START + ours,
        };
        assert_eq!(found, Some(expect));
    }

    /// The longest record a writer with entry limit `max_body` can write.
    fn written_record_len_max(max_body: u32) -> usize {
        encoded_record_len(entry_body_len(u64::MAX, max_body as usize))
    }

    #[test]
    fn a_record_a_writer_cannot_write_is_still_waited_for() {
        // Body lengths up to max_body + 32 pass the decoder's length check,
        // a little more than any writer writes: cut anywhere, such a record
        // must be judged as it is when read whole.
        let data = vec![7u8; MAX_BODY as usize + 16];
        let rec = record(3, 2, SALT, &data);
        assert!(rec.len() > written_record_len_max(MAX_BODY));
        let mut buf = vec![0xAB; 8];
        buf.extend_from_slice(&rec);
        let whole = feed(scans(true, MAX_BODY, 2), &buf, &[buf.len()]);
        assert_eq!(whole.map(|e| e.proof_offset), Some(START + 8));
        assert_eq!(feed(scans(true, MAX_BODY, 2), &buf, &[100]), whole);
    }
}
