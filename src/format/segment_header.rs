//! The segment header: the first block of every segment file.

/// Magic bytes at offset 0 of every segment.
pub const SEGMENT_MAGIC: [u8; 8] = *b"XWALSEG\0";
/// Current format version. Version 1 (no in-flight bound) is still read.
pub const FORMAT_VERSION: u32 = 2;
/// Bytes of the header that carry meaning; the rest of block 0 is zero.
pub const HEADER_LEN: usize = 64;

/// Parsed segment header. Layout (little endian), in block 0 of the file:
///
/// | offset | size | field |
/// |---|---|---|
/// | 0 | 8 | magic `XWALSEG\0` |
/// | 8 | 4 | format version (2; 1 is read too) |
/// | 12 | 4 | flags: bit 0 = LSN gap before this segment (version 2 only) |
/// | 16 | 8 | segment number |
/// | 24 | 8 | first LSN stored in this segment |
/// | 32 | 4 | salt: random, non-zero, repeated in every record |
/// | 36 | 4 | max entry size the writer allowed |
/// | 40 | 8 | segment capacity in bytes (file size) |
/// | 48 | 8 | in-flight bound in bytes (version 2; zero and absent in 1) |
/// | 56 | 4 | reserved, zero |
/// | 60 | 4 | CRC32C of bytes 0..60 |
///
/// # Examples
///
/// ```
/// use xwal::format::{HeaderDecode, SegmentHeader, BLOCK_SIZE};
///
/// let header = SegmentHeader {
///     segment: 3,
///     first_lsn: 1001,
///     salt: 0x5A17,
///     max_entry_size: 1 << 20,
///     capacity: 64 << 20,
///     inflight_bytes: 8 << 20,
///     lsn_gap_before: false,
/// };
/// let mut block = vec![0u8; BLOCK_SIZE];
/// header.encode(&mut block);
/// assert_eq!(SegmentHeader::decode(&block), HeaderDecode::Valid(header));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentHeader {
    /// Segment number, as in the file name.
    pub segment: u64,
    /// LSN of the first record written to this segment.
    pub first_lsn: u64,
    /// Per-segment random value bound into every record's checksum.
    pub salt: u32,
    /// The largest entry payload the writer accepted.
    pub max_entry_size: u32,
    /// Capacity of the segment file in bytes.
    pub capacity: u64,
    /// How far past the end of its completed records the writer's writes in
    /// flight could reach when it stopped: at most its commits in flight,
    /// each at most a batch plus its largest record and the block it
    /// rewrites ([`inflight_bound`]). Recovery looks this far past the end of
    /// the data for proof that it had been durable, and no further. 0: not
    /// known (a version 1 header): the rest of the segment.
    pub inflight_bytes: u64,
    /// The LSNs between the end of the previous segment's records and this
    /// segment's first LSN hold no entries: `xwal repair` reserved them (they
    /// may have been handed out before the damage it cut), so the previous
    /// segment ends wherever its records end. Flags bit 0; version 2 only.
    pub lsn_gap_before: bool,
}

/// Flags bit 0: [`SegmentHeader::lsn_gap_before`].
const FLAG_LSN_GAP_BEFORE: u32 = 1;

/// What a header block decodes to.
///
/// # Examples
///
/// ```
/// use xwal::format::{HeaderDecode, SegmentHeader, BLOCK_SIZE};
///
/// let mut block = vec![0u8; BLOCK_SIZE];
/// assert_eq!(SegmentHeader::decode(&block), HeaderDecode::Zero);
///
/// let header = SegmentHeader {
///     segment: 1,
///     first_lsn: 1,
///     salt: 7,
///     max_entry_size: 4096,
///     capacity: 1 << 20,
///     inflight_bytes: 8 << 20,
///     lsn_gap_before: false,
/// };
/// header.encode(&mut block);
/// assert!(matches!(SegmentHeader::decode(&block), HeaderDecode::Valid(h) if h.segment == 1));
/// block[0] = b'Y';
/// assert_eq!(SegmentHeader::decode(&block), HeaderDecode::Invalid("bad magic"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderDecode {
    /// A valid header.
    Valid(SegmentHeader),
    /// All 64 header bytes are zero: a prepared segment never written to.
    Zero,
    /// Anything else, with the reason.
    Invalid(&'static str),
}

impl SegmentHeader {
    /// Encodes the header into the first [`HEADER_LEN`] bytes of `out`.
    ///
    /// # Examples
    ///
    /// ```
    /// use xwal::format::{SegmentHeader, FORMAT_VERSION, SEGMENT_MAGIC};
    ///
    /// let header = SegmentHeader {
    ///     segment: 2,
    ///     first_lsn: 10,
    ///     salt: 0x5A17,
    ///     max_entry_size: 4096,
    ///     capacity: 1 << 20,
    ///     inflight_bytes: 8 << 20,
    ///     lsn_gap_before: false,
    /// };
    /// let mut out = [0xFFu8; 128];
    /// header.encode(&mut out);
    /// assert_eq!(out[..8], SEGMENT_MAGIC);
    /// assert_eq!(out[8..12], FORMAT_VERSION.to_le_bytes());
    /// assert_eq!(out[16..24], 2u64.to_le_bytes());
    /// // Only the first 64 bytes are written.
    /// assert!(out[64..].iter().all(|&b| b == 0xFF));
    /// ```
    pub fn encode(&self, out: &mut [u8]) {
        assert!(out.len() >= HEADER_LEN);
        assert!(self.salt != 0, "salt 0 would let zero-filled records pass");
        let out = &mut out[..HEADER_LEN];
        out.fill(0);
        out[0..8].copy_from_slice(&SEGMENT_MAGIC);
        // A header without an in-flight bound is a version 1 header, so that
        // every header decodes and re-encodes to the same bytes.
        let version = if self.inflight_bytes == 0 {
            1
        } else {
            FORMAT_VERSION
        };
        out[8..12].copy_from_slice(&version.to_le_bytes());
        assert!(
            !self.lsn_gap_before || version == FORMAT_VERSION,
            "a version 1 header has no flags"
        );
        let flags = if self.lsn_gap_before {
            FLAG_LSN_GAP_BEFORE
        } else {
            0
        };
        out[12..16].copy_from_slice(&flags.to_le_bytes());
        out[16..24].copy_from_slice(&self.segment.to_le_bytes());
        out[24..32].copy_from_slice(&self.first_lsn.to_le_bytes());
        out[32..36].copy_from_slice(&self.salt.to_le_bytes());
        out[36..40].copy_from_slice(&self.max_entry_size.to_le_bytes());
        out[40..48].copy_from_slice(&self.capacity.to_le_bytes());
        out[48..56].copy_from_slice(&self.inflight_bytes.to_le_bytes());
        let crc = crc32c::crc32c(&out[0..60]);
        out[60..64].copy_from_slice(&crc.to_le_bytes());
    }

    /// Decodes a header from the start of `buf`. Never panics on any input.
    ///
    /// # Examples
    ///
    /// ```
    /// use xwal::format::{HeaderDecode, SegmentHeader};
    ///
    /// let header = SegmentHeader {
    ///     segment: 5,
    ///     first_lsn: 77,
    ///     salt: 0x5A17,
    ///     max_entry_size: 4096,
    ///     capacity: 1 << 20,
    ///     inflight_bytes: 8 << 20,
    ///     lsn_gap_before: false,
    /// };
    /// let mut block = [0u8; 64];
    /// header.encode(&mut block);
    /// assert_eq!(SegmentHeader::decode(&block), HeaderDecode::Valid(header));
    ///
    /// block[16] ^= 1; // the segment number no longer matches the checksum
    /// let damaged = SegmentHeader::decode(&block);
    /// assert_eq!(damaged, HeaderDecode::Invalid("header checksum mismatch"));
    /// assert!(matches!(SegmentHeader::decode(&block[..10]), HeaderDecode::Invalid(_)));
    /// ```
    pub fn decode(buf: &[u8]) -> HeaderDecode {
        if buf.len() < HEADER_LEN {
            return HeaderDecode::Invalid("header shorter than 64 bytes");
        }
        let b = &buf[..HEADER_LEN];
        if b.iter().all(|&x| x == 0) {
            return HeaderDecode::Zero;
        }
        if b[0..8] != SEGMENT_MAGIC {
            return HeaderDecode::Invalid("bad magic");
        }
        let stored = u32::from_le_bytes([b[60], b[61], b[62], b[63]]);
        if crc32c::crc32c(&b[0..60]) != stored {
            return HeaderDecode::Invalid("header checksum mismatch");
        }
        let version = le_u32(b, 8);
        if version != FORMAT_VERSION && version != 1 {
            return HeaderDecode::Invalid("unsupported format version");
        }
        let reserved = if version == 1 { &b[48..60] } else { &b[56..60] };
        let flags = le_u32(b, 12);
        let known_flags = if version == 1 { 0 } else { FLAG_LSN_GAP_BEFORE };
        if flags & !known_flags != 0 || reserved.iter().any(|&x| x != 0) {
            return HeaderDecode::Invalid("reserved header bytes are not zero");
        }
        let inflight_bytes = if version == 1 { 0 } else { le_u64(b, 48) };
        if version != 1 && (inflight_bytes == 0 || inflight_bytes % super::BLOCK_SIZE as u64 != 0) {
            return HeaderDecode::Invalid("in-flight bound is zero or not whole blocks");
        }
        let h = SegmentHeader {
            segment: le_u64(b, 16),
            first_lsn: le_u64(b, 24),
            salt: le_u32(b, 32),
            max_entry_size: le_u32(b, 36),
            capacity: le_u64(b, 40),
            inflight_bytes,
            lsn_gap_before: flags & FLAG_LSN_GAP_BEFORE != 0,
        };
        if h.salt == 0 {
            return HeaderDecode::Invalid("salt is zero");
        }
        if h.first_lsn == 0 {
            return HeaderDecode::Invalid("first LSN is zero");
        }
        if h.capacity < super::BLOCK_SIZE as u64 * 2
            || !h.capacity.is_multiple_of(super::BLOCK_SIZE as u64)
        {
            return HeaderDecode::Invalid("capacity is not a multiple of the block size");
        }
        // Every number below bounds later work (buffer sizes, LSN arithmetic,
        // the next segment's name): refuse those that leave no room.
        if h.capacity > super::MAX_SEGMENT_CAPACITY {
            return HeaderDecode::Invalid("capacity is above the 64 GiB limit");
        }
        if h.max_entry_size == 0 || h.max_entry_size as u64 > super::MAX_ENTRY_SIZE_LIMIT {
            return HeaderDecode::Invalid("max entry size is 0 or above the 1 GiB limit");
        }
        if h.max_entry_size as u64 > h.capacity {
            return HeaderDecode::Invalid("max entry size is larger than the segment");
        }
        if h.first_lsn > super::MAX_LSN {
            return HeaderDecode::Invalid("first LSN leaves no room to continue (above 2^63 - 1)");
        }
        if h.segment > super::MAX_SEGMENT {
            return HeaderDecode::Invalid(
                "segment number leaves no room to continue (above 2^63 - 1)",
            );
        }
        HeaderDecode::Valid(h)
    }

    /// True if `buf` starts with a header block as xwal wrote it: magic and
    /// checksum intact. A torn or never-written header fails this; a header
    /// that passes it but not [`SegmentHeader::decode`] was written with values
    /// this version refuses (or crafted), which is not a torn write.
    ///
    /// # Examples
    ///
    /// ```
    /// use xwal::format::{HeaderDecode, SegmentHeader};
    ///
    /// let header = SegmentHeader {
    ///     segment: 3,
    ///     first_lsn: u64::MAX,
    ///     salt: 0x5A17,
    ///     max_entry_size: 4096,
    ///     capacity: 1 << 20,
    ///     inflight_bytes: 8 << 20,
    ///     lsn_gap_before: false,
    /// };
    /// let mut block = [0u8; 64];
    /// header.encode(&mut block);
    /// assert!(SegmentHeader::checksum_ok(&block));
    /// assert!(matches!(SegmentHeader::decode(&block), HeaderDecode::Invalid(_)));
    /// block[20] ^= 1;
    /// assert!(!SegmentHeader::checksum_ok(&block));
    /// ```
    pub fn checksum_ok(buf: &[u8]) -> bool {
        buf.len() >= HEADER_LEN
            && buf[0..8] == SEGMENT_MAGIC
            && crc32c::crc32c(&buf[0..60]) == le_u32(buf, 60)
    }
}

pub(crate) fn le_u32(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}

pub(crate) fn le_u64(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

/// The in-flight bound a writer that acknowledges only durable data records
/// in its segments, for these limits. Once a record R is durable, the next
/// batch the writer takes carries a durable LSN of at least R's. Between R
/// and that batch lie at most `commits_in_flight` batches (R's own
/// included), each at most `max_batch_bytes` plus one record of the largest
/// entry (a lone record or an atomic group may pass the batch limit by that
/// much, no more); then the proving record itself, at most one such record.
/// Two blocks of slack cover block rounding.
///
/// # Examples
///
/// ```
/// use xwal::format::inflight_bound;
///
/// let one = inflight_bound(1, 4 << 20, 1 << 20);
/// assert!(one > 6 << 20 && one < 7 << 20 && one % 4096 == 0);
/// assert!(inflight_bound(4, 4 << 20, 1 << 20) > 3 * one);
/// ```
pub fn inflight_bound(
    commits_in_flight: usize,
    max_batch_bytes: usize,
    max_entry_size: u64,
) -> u64 {
    let record =
        super::encoded_record_len(super::entry_body_len(u64::MAX, max_entry_size as usize)) as u64;
    let batch = max_batch_bytes as u64 + record;
    let bytes = commits_in_flight.max(1) as u64 * batch + record + 2 * super::BLOCK_SIZE as u64;
    super::align_up(bytes, super::BLOCK_SIZE as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> SegmentHeader {
        SegmentHeader {
            segment: 7,
            first_lsn: 1001,
            salt: 0xdead_beef,
            max_entry_size: 1 << 26,
            capacity: 1 << 27,
            inflight_bytes: 8 << 20,
            lsn_gap_before: false,
        }
    }

    #[test]
    fn round_trip() {
        let mut block = vec![0u8; 4096];
        sample().encode(&mut block);
        assert_eq!(SegmentHeader::decode(&block), HeaderDecode::Valid(sample()));
    }

    #[test]
    fn zero_block_is_zero() {
        assert_eq!(SegmentHeader::decode(&[0u8; 4096]), HeaderDecode::Zero);
    }

    #[test]
    fn every_single_bit_flip_is_detected() {
        let mut block = vec![0u8; 64];
        sample().encode(&mut block);
        for bit in 0..64 * 8 {
            let mut b = block.clone();
            b[bit / 8] ^= 1 << (bit % 8);
            assert!(
                matches!(SegmentHeader::decode(&b), HeaderDecode::Invalid(_)),
                "bit {bit} undetected"
            );
        }
    }

    #[test]
    fn short_input_is_invalid() {
        assert!(matches!(
            SegmentHeader::decode(&[1, 2, 3]),
            HeaderDecode::Invalid(_)
        ));
    }
}
