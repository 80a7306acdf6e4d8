//! Verified records out of consecutive chunks of one segment, pulled one at a
//! time. A record that lies inside a chunk is decoded where it is; only one
//! that straddles two chunks is copied, into the carry buffer.

use crate::error::{Error, Result};
use crate::format::{DecodeError, DecodedRecord, RecordDecode, decode_record};
use crate::shared::SegmentMeta;

/// A record found, and where its bytes are.
pub(crate) struct Found<'a> {
    /// File offset of the record.
    pub offset: u64,
    pub record: DecodedRecord<'a>,
    /// True if the record's bytes are in the chunk (else in the carry).
    pub in_chunk: bool,
}

/// Decodes the records of `[start, ..)` of a segment in file order, expecting
/// LSNs `first, first + 1, ...` through `stop`, and refusing anything else.
pub(crate) struct ChunkScanner {
    segment: u64,
    salt: u32,
    max_body: u32,
    /// File offset of the next record.
    next_offset: u64,
    expected: u64,
    stop: u64,
    /// The bytes of a record begun in an earlier chunk, from its start.
    carry: Vec<u8>,
    /// The carry held a whole record that was handed out: clear it first.
    carry_spent: bool,
    /// The records may end before `stop`, at zeros or the end of the file:
    /// the next segment follows an LSN gap that a repair reserved.
    open_end: bool,
}

impl ChunkScanner {
    pub fn new(meta: &SegmentMeta, start: u64, first: u64, stop: u64) -> Self {
        ChunkScanner {
            segment: meta.segment,
            salt: meta.salt,
            max_body: meta.max_entry_size,
            next_offset: start,
            expected: first,
            stop,
            carry: Vec::new(),
            carry_spent: false,
            open_end: false,
        }
    }

    /// Lets the records end before `stop` where the segment's data ends (zeros,
    /// or the end of the file): the next segment follows an LSN gap.
    pub fn with_open_end(mut self, open_end: bool) -> Self {
        self.open_end = open_end;
        self
    }

    /// The last LSN the scan stops at (lowered where an open end was found).
    pub fn stop(&self) -> u64 {
        self.stop
    }

    /// The chunks ran out: done if the records may end here, else the error.
    pub fn end_of_data(&mut self) -> Result<()> {
        if self.open_end && self.carry.is_empty() {
            self.end_here();
            return Ok(());
        }
        Err(self.ended_early())
    }

    fn end_here(&mut self) {
        debug_assert!(self.open_end);
        self.stop = self.stop.min(self.expected - 1);
    }

    pub fn segment(&self) -> u64 {
        self.segment
    }

    /// File offset of the next record.
    pub fn next_offset(&self) -> u64 {
        self.next_offset
    }

    /// The LSN expected next.
    pub fn expected(&self) -> u64 {
        self.expected
    }

    /// Every LSN through `stop` was found.
    pub fn done(&self) -> bool {
        self.expected > self.stop
    }

    /// Where to start in a chunk read at `chunk_offset`: past the bytes
    /// before the first record (a start inside the chunk's first block).
    pub fn start_in(&self, chunk_offset: u64) -> usize {
        self.next_offset.saturating_sub(chunk_offset) as usize
    }

    fn corruption(&self, offset: u64, reason: String) -> Error {
        Error::Corruption {
            segment: crate::SegmentId(self.segment),
            offset,
            reason,
        }
    }

    /// The error for a range that ended before `stop`.
    pub fn ended_early(&self) -> Error {
        self.corruption(
            self.next_offset,
            format!(
                "segment ends before LSN {} (expected through {})",
                self.expected, self.stop
            ),
        )
    }

    /// The next record of `chunk` (whose first byte is at `chunk_offset`;
    /// `pos` is the caller's place in it), `None` once the chunk is used up
    /// or the scan is done.
    pub fn next_record<'a>(
        &'a mut self,
        chunk: &'a [u8],
        chunk_offset: u64,
        pos: &mut usize,
    ) -> Result<Option<Found<'a>>> {
        if self.carry_spent {
            self.carry.clear();
            self.carry_spent = false;
        }
        if self.done() {
            return Ok(None);
        }
        if !self.carry.is_empty() {
            return self.complete_carry(chunk, pos);
        }
        let at = *pos;
        if at >= chunk.len() {
            return Ok(None);
        }
        debug_assert_eq!(chunk_offset + at as u64, self.next_offset);
        let (salt, max_body) = (self.salt, self.max_body);
        match decode_record(&chunk[at..], salt, max_body) {
            RecordDecode::Record(r) => {
                self.accept(&r)?;
                *pos = at + r.len;
                Ok(Some(Found {
                    offset: chunk_offset + at as u64,
                    record: r,
                    in_chunk: true,
                }))
            }
            RecordDecode::NeedMore(_) => {
                // Bounded: decode_record checked the length against the limit.
                self.carry.extend_from_slice(&chunk[at..]);
                *pos = chunk.len();
                Ok(None)
            }
            RecordDecode::Invalid(DecodeError::Zero) if self.open_end => {
                self.end_here();
                Ok(None)
            }
            RecordDecode::Invalid(e) => Err(self.invalid(e.describe())),
        }
    }

    /// Moves bytes from `chunk` into the carry until it holds a record.
    fn complete_carry<'a>(
        &'a mut self,
        chunk: &'a [u8],
        pos: &mut usize,
    ) -> Result<Option<Found<'a>>> {
        loop {
            match decode_record(&self.carry, self.salt, self.max_body) {
                RecordDecode::NeedMore(total) => {
                    debug_assert!(total > self.carry.len());
                    let take = (total - self.carry.len()).min(chunk.len() - *pos);
                    if take == 0 {
                        return Ok(None);
                    }
                    self.carry.extend_from_slice(&chunk[*pos..*pos + take]);
                    *pos += take;
                }
                RecordDecode::Invalid(DecodeError::Zero) if self.open_end => {
                    self.carry.clear();
                    self.end_here();
                    return Ok(None);
                }
                RecordDecode::Invalid(e) => return Err(self.invalid(e.describe())),
                RecordDecode::Record(_) => break,
            }
        }
        let offset = self.next_offset;
        let RecordDecode::Record(record) = decode_record(&self.carry, self.salt, self.max_body)
        else {
            unreachable!("decoded just above");
        };
        if record.header.lsn != self.expected {
            return Err(Error::Corruption {
                segment: crate::SegmentId(self.segment),
                offset,
                reason: format!(
                    "expected LSN {}, found {}",
                    self.expected, record.header.lsn
                ),
            });
        }
        debug_assert_eq!(record.len, self.carry.len());
        self.expected += 1;
        self.next_offset += record.len as u64;
        self.carry_spent = true;
        Ok(Some(Found {
            offset,
            record,
            in_chunk: false,
        }))
    }

    fn accept(&mut self, r: &DecodedRecord<'_>) -> Result<()> {
        if r.header.lsn != self.expected {
            return Err(self.wrong_lsn(self.next_offset, r.header.lsn));
        }
        self.expected += 1;
        self.next_offset += r.len as u64;
        Ok(())
    }

    fn wrong_lsn(&self, offset: u64, found: u64) -> Error {
        self.corruption(
            offset,
            format!("expected LSN {}, found {found}", self.expected),
        )
    }

    fn invalid(&self, why: &str) -> Error {
        self.corruption(
            self.next_offset,
            format!("{why} (expected LSN {})", self.expected),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{BLOCK_SIZE, encode_entry_record, encoded_record_len, entry_body_len};

    fn meta() -> SegmentMeta {
        SegmentMeta {
            segment: 3,
            first_lsn: 1,
            salt: 0x5A17,
            max_entry_size: 1 << 16,
            capacity: 1 << 20,
            checkpoint: false,
            lsn_gap_before: false,
        }
    }

    /// `n` records of `size` bytes from offset 4096, as a byte image from 0.
    fn image(n: u64, size: usize) -> Vec<u8> {
        let mut v =
            vec![0u8; BLOCK_SIZE + n as usize * (encoded_record_len(entry_body_len(n, size)) + 64)];
        let mut at = BLOCK_SIZE;
        for lsn in 1..=n {
            at += encode_entry_record(
                &mut v[at..],
                lsn,
                lsn - 1,
                1,
                0x5A17,
                &vec![lsn as u8; size],
            );
        }
        v
    }

    /// Every chunk size cuts records at another place; each must come out whole, once.
    #[test]
    fn records_across_every_chunk_size() {
        let img = image(40, 300);
        for chunk in [1usize, 7, 64, 333, 4096, 100_000] {
            let mut s = ChunkScanner::new(&meta(), BLOCK_SIZE as u64, 1, 40);
            let mut got = Vec::new();
            let mut off = BLOCK_SIZE;
            while off < img.len() && !s.done() {
                let c = &img[off..(off + chunk).min(img.len())];
                let mut pos = s.start_in(off as u64);
                while let Some(f) = s.next_record(c, off as u64, &mut pos).unwrap() {
                    got.push((
                        f.record.header.lsn,
                        f.record.payload().unwrap().to_vec(),
                        f.in_chunk,
                    ));
                }
                off += c.len();
            }
            assert_eq!(got.len(), 40, "chunk {chunk}");
            for (i, (lsn, data, _)) in got.iter().enumerate() {
                assert_eq!(
                    (*lsn, data.as_slice()),
                    (i as u64 + 1, &vec![*lsn as u8; 300][..])
                );
            }
            if chunk >= 4096 {
                assert!(got.iter().filter(|g| !g.2).count() <= 40 * 340 / chunk + 1);
            }
        }
    }

    #[test]
    fn a_wrong_lsn_and_a_flip_are_corruption_at_their_offset() {
        let mut img = image(3, 10);
        let mut s = ChunkScanner::new(&meta(), BLOCK_SIZE as u64, 2, 3);
        let mut pos = BLOCK_SIZE;
        let e = s.next_record(&img, 0, &mut pos).err().unwrap();
        assert!(
            matches!(
                e,
                Error::Corruption {
                    segment: crate::SegmentId(3),
                    offset: 4096,
                    ..
                }
            ),
            "{e}"
        );
        img[BLOCK_SIZE + 40] ^= 1;
        let mut s = ChunkScanner::new(&meta(), BLOCK_SIZE as u64, 1, 3);
        let mut pos = BLOCK_SIZE;
        assert!(s.next_record(&img, 0, &mut pos).is_err());
    }

    /// A huge length field is refused before any carry is sized from it.
    #[test]
    fn a_huge_length_is_refused_not_carried() {
        let mut img = image(1, 10);
        img[BLOCK_SIZE + 4..BLOCK_SIZE + 8].copy_from_slice(&u32::MAX.to_le_bytes());
        let mut s = ChunkScanner::new(&meta(), BLOCK_SIZE as u64, 1, 1);
        let mut pos = BLOCK_SIZE;
        assert!(s.next_record(&img[..BLOCK_SIZE + 40], 0, &mut pos).is_err());
        assert!(s.carry.capacity() == 0);
    }
}
