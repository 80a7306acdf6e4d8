//! Records: a 32-byte header followed by a body, padded to 8 bytes.
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | CRC32C of bytes 4..32 and the body |
//! | 4 | 4 | body length in bytes |
//! | 8 | 8 | LSN |
//! | 16 | 8 | durable LSN: highest LSN whose fdatasync had completed when this record was encoded |
//! | 24 | 1 | kind: 1 = entry, 2 = skip (an LSN consumed by `inc_last_index`) |
//! | 25 | 1 | flags: bit 0 = last record of an atomic group |
//! | 26 | 2 | reserved, zero |
//! | 28 | 4 | segment salt (copy of the header's) |
//!
//! The body of an entry record is the protobuf `WALEntry { LSN, Data }` (CRC = 0).
//! Zero fill fails the salt check (salts are never 0); stale bytes from an
//! earlier use of the file carry another salt; a torn write fails the CRC,
//! which covers the length. The durable LSN lets recovery tell a torn tail
//! (nothing later claims it durable) from mid-log corruption (a later valid
//! record proves the damaged one had been synced): see `evidence.rs`.

use super::WalEntry;
use super::segment_header::{le_u32, le_u64};
use prost::Message;

/// Size of the fixed record header.
pub const RECORD_HEADER_LEN: usize = 32;
/// Every record starts at a multiple of this within the segment.
pub const RECORD_ALIGN: usize = 8;
/// Flag: this record ends an atomic group (a single append, or the last entry of a batch).
pub const FLAG_GROUP_END: u8 = 1;

/// The kind of a record.
///
/// # Examples
///
/// ```
/// use xwal::format::{decode_record, encode_skip_record, RecordDecode, RecordKind};
///
/// let mut buf = [0u8; 32];
/// encode_skip_record(&mut buf, 5, 4, 0x5A17);
/// match decode_record(&buf, 0x5A17, 1024) {
///     RecordDecode::Record(r) => assert_eq!(r.header.kind, RecordKind::Skip),
///     other => panic!("{other:?}"),
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum RecordKind {
    /// A user entry; the body is a protobuf `WALEntry`.
    Entry = 1,
    /// An LSN consumed by `inc_last_index`; no body, never replayed.
    Skip = 2,
}

/// The parsed fixed header of a record.
///
/// # Examples
///
/// ```
/// use xwal::format::*;
///
/// let data = b"payload";
/// let mut buf = vec![0u8; encoded_record_len(entry_body_len(3, data.len()))];
/// encode_entry_record(&mut buf, 3, 2, FLAG_GROUP_END, 0x5A17, data);
/// let RecordDecode::Record(r) = decode_record(&buf, 0x5A17, 1024) else { panic!() };
/// let h: RecordHeader = r.header;
/// assert_eq!((h.lsn, h.durable_lsn, h.salt), (3, 2, 0x5A17));
/// assert_eq!(h.kind, RecordKind::Entry);
/// assert_eq!(h.body_len as usize, entry_body_len(3, data.len()));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader {
    /// Stored checksum.
    pub crc: u32,
    /// Body length in bytes.
    pub body_len: u32,
    /// The record's LSN.
    pub lsn: u64,
    /// Durable watermark at encode time.
    pub durable_lsn: u64,
    /// Record kind.
    pub kind: RecordKind,
    /// Flag bits.
    pub flags: u8,
    /// Segment salt.
    pub salt: u32,
}

impl RecordHeader {
    /// True if this record closes an atomic group.
    ///
    /// # Examples
    ///
    /// ```
    /// use xwal::format::{decode_record, encode_entry_record, RecordDecode, FLAG_GROUP_END};
    ///
    /// let mut buf = [0u8; 64];
    /// for (flags, group_end) in [(0, false), (FLAG_GROUP_END, true)] {
    ///     encode_entry_record(&mut buf, 1, 0, flags, 0x5A17, b"x");
    ///     let RecordDecode::Record(r) = decode_record(&buf, 0x5A17, 1024) else { panic!() };
    ///     assert_eq!(r.header.is_group_end(), group_end);
    /// }
    /// ```
    pub fn is_group_end(&self) -> bool {
        self.flags & FLAG_GROUP_END != 0
    }
}

/// Why bytes did not decode as a record.
///
/// # Examples
///
/// ```
/// use xwal::format::{decode_record, encode_entry_record, DecodeError, RecordDecode};
///
/// let salt = 0x5A17;
/// let mut buf = [0u8; 64];
/// // Preallocated space reads as zeros: the normal end of data.
/// let zero = decode_record(&buf, salt, 1024);
/// assert!(matches!(zero, RecordDecode::Invalid(DecodeError::Zero)));
///
/// encode_entry_record(&mut buf, 1, 0, 0, salt, b"x");
/// // The same bytes read under another segment's salt are stale.
/// let stale = decode_record(&buf, 0x0BAD, 1024);
/// assert!(matches!(stale, RecordDecode::Invalid(DecodeError::BadSalt)));
/// // A flipped payload byte fails the checksum.
/// buf[36] ^= 1;
/// let torn = decode_record(&buf, salt, 1024);
/// assert!(matches!(torn, RecordDecode::Invalid(DecodeError::BadCrc)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// The header bytes are all zero: preallocated space, the normal end of data.
    Zero,
    /// The salt differs from the segment's: stale or foreign bytes.
    BadSalt,
    /// Unknown kind, unknown flags or non-zero reserved bytes.
    BadHeader,
    /// The length field exceeds the segment's limit.
    TooLong,
    /// The checksum does not match.
    BadCrc,
    /// Padding after the body is not zero.
    BadPadding,
    /// The body is not a valid `WALEntry`, or its LSN differs from the header's.
    BadBody,
}

impl DecodeError {
    /// A short human description.
    ///
    /// # Examples
    ///
    /// ```
    /// use xwal::format::DecodeError;
    ///
    /// assert_eq!(DecodeError::BadCrc.describe(), "record checksum mismatch");
    /// assert!(DecodeError::Zero.describe().starts_with("zero bytes"));
    /// ```
    pub fn describe(self) -> &'static str {
        match self {
            DecodeError::Zero => "zero bytes where a record was expected",
            DecodeError::BadSalt => {
                "record salt does not match the segment (stale or foreign bytes)"
            }
            DecodeError::BadHeader => "record header has unknown kind, flags or reserved bytes",
            DecodeError::TooLong => "record length exceeds the segment's entry size limit",
            DecodeError::BadCrc => "record checksum mismatch",
            DecodeError::BadPadding => "record padding is not zero",
            DecodeError::BadBody => "record body is not a valid WALEntry for its LSN",
        }
    }
}

/// A record that passed every check.
///
/// # Examples
///
/// ```
/// use xwal::format::{decode_record, encode_entry_record, RecordDecode};
///
/// let mut buf = [0u8; 64];
/// let used = encode_entry_record(&mut buf, 9, 8, 0, 0x5A17, b"abc");
/// let RecordDecode::Record(r) = decode_record(&buf, 0x5A17, 1024) else { panic!() };
/// assert_eq!(r.len, used);
/// assert_eq!(r.len % 8, 0);
/// assert_eq!(r.body.len(), r.header.body_len as usize);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct DecodedRecord<'a> {
    /// The header.
    pub header: RecordHeader,
    /// The body bytes.
    pub body: &'a [u8],
    /// Bytes the record occupies, padding included.
    pub len: usize,
}

impl<'a> DecodedRecord<'a> {
    /// The entry payload, borrowed from the record where it is stored as the
    /// writer stores it (always, for records xwal wrote), else decoded by
    /// prost into an owned copy. Only valid for [`RecordKind::Entry`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::borrow::Cow;
    /// use xwal::format::{decode_record, encode_entry_record, RecordDecode};
    ///
    /// let mut buf = [0u8; 64];
    /// encode_entry_record(&mut buf, 9, 8, 0, 0x5A17, b"abc");
    /// let RecordDecode::Record(r) = decode_record(&buf, 0x5A17, 1024) else { panic!() };
    /// assert!(matches!(r.payload(), Ok(Cow::Borrowed(b"abc"))));
    /// ```
    pub fn payload(&self) -> Result<std::borrow::Cow<'a, [u8]>, DecodeError> {
        if self.header.kind != RecordKind::Entry {
            return Err(DecodeError::BadBody);
        }
        if let Some(data) = canonical_payload(self.body, self.header.lsn) {
            return Ok(std::borrow::Cow::Borrowed(data));
        }
        prost_payload(self.body, self.header.lsn).map(std::borrow::Cow::Owned)
    }

    /// Decodes the entry payload. Only valid for [`RecordKind::Entry`].
    ///
    /// # Examples
    ///
    /// ```
    /// use xwal::format::{decode_record, encode_entry_record, encode_skip_record};
    /// use xwal::format::{DecodeError, RecordDecode};
    ///
    /// let mut buf = [0u8; 64];
    /// encode_entry_record(&mut buf, 9, 8, 0, 0x5A17, b"abc");
    /// let RecordDecode::Record(r) = decode_record(&buf, 0x5A17, 1024) else { panic!() };
    /// assert_eq!(r.data(), Ok(b"abc".to_vec()));
    ///
    /// // A skip record carries no payload.
    /// encode_skip_record(&mut buf, 10, 9, 0x5A17);
    /// let RecordDecode::Record(r) = decode_record(&buf, 0x5A17, 1024) else { panic!() };
    /// assert_eq!(r.data(), Err(DecodeError::BadBody));
    /// ```
    pub fn data(&self) -> Result<Vec<u8>, DecodeError> {
        if self.header.kind != RecordKind::Entry {
            return Err(DecodeError::BadBody);
        }
        if let Some(data) = canonical_payload(self.body, self.header.lsn) {
            return Ok(data.to_vec());
        }
        prost_payload(self.body, self.header.lsn)
    }
}

/// The payload via prost: any valid protobuf encoding of `WALEntry`.
fn prost_payload(body: &[u8], lsn: u64) -> Result<Vec<u8>, DecodeError> {
    let e = WalEntry::decode(body).map_err(|_| DecodeError::BadBody)?;
    if e.lsn != lsn || e.crc != 0 {
        return Err(DecodeError::BadBody);
    }
    Ok(e.data)
}

/// Reads a varint of at most 10 bytes at `pos`; returns it and the next position.
fn get_varint(buf: &[u8], mut pos: usize) -> Option<(u64, usize)> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *buf.get(pos)?;
        pos += 1;
        if shift == 63 && b > 1 {
            return None; // more than 64 bits: invalid, as prost says
        }
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return Some((v, pos));
        }
    }
    None
}

/// The payload of a body in exactly the form [`encode_entry_record`] writes
/// (field 1 = `lsn`, then field 2 unless the payload is empty, nothing else),
/// without prost's generic decoder: replay spends most of its time per entry,
/// and this is the only form xwal writes. `None` for any other form, which
/// [`prost_payload`] then decodes (or refuses) as before.
fn canonical_payload(body: &[u8], lsn: u64) -> Option<&[u8]> {
    if body.first() != Some(&0x08) {
        return None;
    }
    let (v, pos) = get_varint(body, 1)?;
    if v != lsn {
        return None;
    }
    if pos == body.len() {
        return Some(&[]);
    }
    if body[pos] != 0x12 {
        return None;
    }
    let (len, start) = get_varint(body, pos + 1)?;
    let rest = body.len() - start;
    // Zero-length data is never written (field 2 is omitted); let prost judge it.
    (len != 0 && len == rest as u64).then(|| &body[start..])
}

/// Result of trying to decode one record from the front of a buffer.
///
/// # Examples
///
/// ```
/// use xwal::format::{decode_record, encode_entry_record, RecordDecode, RECORD_HEADER_LEN};
///
/// let mut buf = [0u8; 64];
/// let used = encode_entry_record(&mut buf, 1, 0, 0, 0x5A17, &[7; 20]);
/// // Less than a header: the header is needed first.
/// let short = decode_record(&buf[..10], 0x5A17, 1024);
/// assert!(matches!(short, RecordDecode::NeedMore(n) if n == RECORD_HEADER_LEN));
/// // A header and part of the body: the whole record is needed.
/// let partial = decode_record(&buf[..40], 0x5A17, 1024);
/// assert!(matches!(partial, RecordDecode::NeedMore(n) if n == used));
/// assert!(matches!(decode_record(&buf[..used], 0x5A17, 1024), RecordDecode::Record(_)));
/// ```
#[derive(Debug, Clone, Copy)]
pub enum RecordDecode<'a> {
    /// A complete valid record.
    Record(DecodedRecord<'a>),
    /// The buffer holds a plausible prefix; this many bytes in total are needed.
    NeedMore(usize),
    /// Not a valid record.
    Invalid(DecodeError),
}

/// Bytes a record with a body of `body_len` bytes occupies.
///
/// # Examples
///
/// ```
/// use xwal::format::{encoded_record_len, RECORD_HEADER_LEN};
///
/// assert_eq!(encoded_record_len(0), RECORD_HEADER_LEN);
/// assert_eq!(encoded_record_len(1), 40);
/// assert_eq!(encoded_record_len(8), 40);
/// assert_eq!(encoded_record_len(9), 48);
/// ```
#[inline]
pub const fn encoded_record_len(body_len: usize) -> usize {
    (RECORD_HEADER_LEN + body_len + RECORD_ALIGN - 1) & !(RECORD_ALIGN - 1)
}

const fn varint_len(v: u64) -> usize {
    let bits = 64 - (v | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

/// Length of the protobuf body for an entry with this LSN and payload length.
///
/// # Examples
///
/// ```
/// use prost::Message;
/// use xwal::format::{entry_body_len, WalEntry};
///
/// let entry = WalEntry { lsn: 300, data: vec![1; 200], crc: 0 };
/// assert_eq!(entry_body_len(300, 200), entry.encoded_len());
/// // An empty payload leaves only the LSN field (tag and one varint byte).
/// assert_eq!(entry_body_len(1, 0), 2);
/// ```
#[inline]
pub const fn entry_body_len(lsn: u64, data_len: usize) -> usize {
    let lsn_part = if lsn == 0 { 0 } else { 1 + varint_len(lsn) };
    let data_part = if data_len == 0 {
        0
    } else {
        1 + varint_len(data_len as u64) + data_len
    };
    lsn_part + data_part
}

fn put_varint(out: &mut [u8], mut pos: usize, mut v: u64) -> usize {
    while v >= 0x80 {
        out[pos] = (v as u8) | 0x80;
        v >>= 7;
        pos += 1;
    }
    out[pos] = v as u8;
    pos + 1
}

#[allow(clippy::too_many_arguments)]
fn write_header(
    out: &mut [u8],
    body_len: usize,
    lsn: u64,
    durable_lsn: u64,
    kind: RecordKind,
    flags: u8,
    salt: u32,
) {
    out[4..8].copy_from_slice(&(body_len as u32).to_le_bytes());
    out[8..16].copy_from_slice(&lsn.to_le_bytes());
    out[16..24].copy_from_slice(&durable_lsn.to_le_bytes());
    out[24] = kind as u8;
    out[25] = flags;
    out[26] = 0;
    out[27] = 0;
    out[28..32].copy_from_slice(&salt.to_le_bytes());
}

fn seal(out: &mut [u8], body_len: usize) -> usize {
    let total = encoded_record_len(body_len);
    out[RECORD_HEADER_LEN + body_len..total].fill(0);
    let crc = crc32c::crc32c(&out[4..RECORD_HEADER_LEN + body_len]);
    out[0..4].copy_from_slice(&crc.to_le_bytes());
    total
}

/// Encodes an entry record at the start of `out` and returns the bytes used.
/// `out` must hold at least `encoded_record_len(entry_body_len(lsn, data.len()))` bytes.
///
/// # Examples
///
/// ```
/// use xwal::format::*;
///
/// let data = b"hello";
/// let mut buf = vec![0u8; encoded_record_len(entry_body_len(42, data.len()))];
/// let used = encode_entry_record(&mut buf, 42, 41, FLAG_GROUP_END, 0x5A17, data);
/// assert_eq!(used, buf.len());
/// let RecordDecode::Record(r) = decode_record(&buf, 0x5A17, 1024) else { panic!() };
/// assert_eq!(r.header.lsn, 42);
/// assert_eq!(r.data().unwrap(), data);
/// ```
pub fn encode_entry_record(
    out: &mut [u8],
    lsn: u64,
    durable_lsn: u64,
    flags: u8,
    salt: u32,
    data: &[u8],
) -> usize {
    assert!(lsn > 0 && salt != 0);
    debug_assert!(
        durable_lsn < lsn,
        "a record can only claim earlier LSNs durable"
    );
    let body_len = entry_body_len(lsn, data.len());
    assert!(out.len() >= encoded_record_len(body_len));
    write_header(
        out,
        body_len,
        lsn,
        durable_lsn,
        RecordKind::Entry,
        flags,
        salt,
    );
    let mut pos = RECORD_HEADER_LEN;
    out[pos] = 0x08; // field 1 (LSN), varint
    pos = put_varint(out, pos + 1, lsn);
    if !data.is_empty() {
        out[pos] = 0x12; // field 2 (Data), length-delimited
        pos = put_varint(out, pos + 1, data.len() as u64);
        out[pos..pos + data.len()].copy_from_slice(data);
        pos += data.len();
    }
    debug_assert_eq!(pos, RECORD_HEADER_LEN + body_len);
    seal(out, body_len)
}

/// Encodes a skip record (an LSN consumed without an entry) and returns the bytes used.
///
/// # Examples
///
/// ```
/// use xwal::format::{decode_record, encode_skip_record, encoded_record_len};
/// use xwal::format::{RecordDecode, RecordKind};
///
/// let mut buf = [0u8; 32];
/// assert_eq!(encode_skip_record(&mut buf, 7, 6, 0x5A17), encoded_record_len(0));
/// let RecordDecode::Record(r) = decode_record(&buf, 0x5A17, 1024) else { panic!() };
/// assert_eq!((r.header.kind, r.header.lsn, r.body.len()), (RecordKind::Skip, 7, 0));
/// assert!(r.header.is_group_end());
/// ```
pub fn encode_skip_record(out: &mut [u8], lsn: u64, durable_lsn: u64, salt: u32) -> usize {
    assert!(lsn > 0 && salt != 0);
    assert!(out.len() >= encoded_record_len(0));
    write_header(
        out,
        0,
        lsn,
        durable_lsn,
        RecordKind::Skip,
        FLAG_GROUP_END,
        salt,
    );
    seal(out, 0)
}

/// Decodes one record from the front of `buf`.
///
/// `salt` is the segment's; `max_body` bounds the length field before any
/// buffer is sized from it. Never panics, whatever `buf` holds.
///
/// # Examples
///
/// ```
/// use xwal::format::*;
///
/// let mut buf = vec![0u8; 4096];
/// let first = encode_entry_record(&mut buf, 1, 0, FLAG_GROUP_END, 0x5A17, b"first");
/// encode_entry_record(&mut buf[first..], 2, 1, FLAG_GROUP_END, 0x5A17, b"second");
///
/// let mut pos = 0;
/// let mut payloads = Vec::new();
/// while let RecordDecode::Record(r) = decode_record(&buf[pos..], 0x5A17, 1024) {
///     payloads.push(r.data().unwrap());
///     pos += r.len;
/// }
/// assert_eq!(payloads, [b"first".to_vec(), b"second".to_vec()]);
/// // The zeros after the last record end the scan.
/// let end = decode_record(&buf[pos..], 0x5A17, 1024);
/// assert!(matches!(end, RecordDecode::Invalid(DecodeError::Zero)));
/// // A length above the limit is refused before anything is sized from it.
/// encode_entry_record(&mut buf, 1, 0, FLAG_GROUP_END, 0x5A17, &[1; 100]);
/// let too_long = decode_record(&buf, 0x5A17, 16);
/// assert!(matches!(too_long, RecordDecode::Invalid(DecodeError::TooLong)));
/// ```
pub fn decode_record(buf: &[u8], salt: u32, max_body: u32) -> RecordDecode<'_> {
    if buf.len() < RECORD_HEADER_LEN {
        return RecordDecode::NeedMore(RECORD_HEADER_LEN);
    }
    let h = &buf[..RECORD_HEADER_LEN];
    let stored_salt = le_u32(h, 28);
    if stored_salt != salt {
        if h.iter().all(|&b| b == 0) {
            return RecordDecode::Invalid(DecodeError::Zero);
        }
        return RecordDecode::Invalid(DecodeError::BadSalt);
    }
    let kind = match h[24] {
        1 => RecordKind::Entry,
        2 => RecordKind::Skip,
        _ => return RecordDecode::Invalid(DecodeError::BadHeader),
    };
    let flags = h[25];
    if flags & !FLAG_GROUP_END != 0 || h[26] != 0 || h[27] != 0 {
        return RecordDecode::Invalid(DecodeError::BadHeader);
    }
    let body_len = le_u32(h, 4);
    // An entry body holds at least the LSN field plus a length prefix; allow their few bytes.
    if body_len as u64 > max_body as u64 + 32 {
        return RecordDecode::Invalid(DecodeError::TooLong);
    }
    let body_len = body_len as usize;
    let total = encoded_record_len(body_len);
    if buf.len() < total {
        return RecordDecode::NeedMore(total);
    }
    let end = RECORD_HEADER_LEN + body_len;
    let stored_crc = le_u32(h, 0);
    if crc32c::crc32c(&buf[4..end]) != stored_crc {
        return RecordDecode::Invalid(DecodeError::BadCrc);
    }
    if buf[end..total].iter().any(|&b| b != 0) {
        return RecordDecode::Invalid(DecodeError::BadPadding);
    }
    let header = RecordHeader {
        crc: stored_crc,
        body_len: body_len as u32,
        lsn: le_u64(h, 8),
        durable_lsn: le_u64(h, 16),
        kind,
        flags,
        salt: stored_salt,
    };
    if header.lsn == 0
        || header.durable_lsn >= header.lsn
        || (kind == RecordKind::Skip && body_len != 0)
    {
        return RecordDecode::Invalid(DecodeError::BadHeader);
    }
    RecordDecode::Record(DecodedRecord {
        header,
        body: &buf[RECORD_HEADER_LEN..end],
        len: total,
    })
}

/// Rewrites the durable LSN of the record at the front of `record` and fixes
/// its CRC without reading the body again.
///
/// The writer encodes a batch while the previous one is still in flight, and
/// submits it only once that one completed: patching the batch's first record
/// at submission lets it prove everything acknowledged before it. CRC-32C is
/// linear (for messages of one length, `crc(a ^ b) = crc(a) ^ crc(b) ^ crc(0)`),
/// so the new CRC is the old one plus the CRC of the 8 changed bytes shifted
/// over the rest of the message, whatever the body's size.
///
/// # Examples
///
/// ```
/// use xwal::format::*;
///
/// let mut buf = vec![0u8; 4096];
/// encode_entry_record(&mut buf, 9, 3, FLAG_GROUP_END, 0x5A17, &[7; 3000]);
/// patch_durable_lsn(&mut buf, 8);
/// let RecordDecode::Record(r) = decode_record(&buf, 0x5A17, 4096) else { panic!() };
/// assert_eq!(r.header.durable_lsn, 8);
/// ```
pub fn patch_durable_lsn(record: &mut [u8], durable_lsn: u64) {
    let body_len = le_u32(record, 4) as usize;
    let lsn = le_u64(record, 8);
    assert!(
        durable_lsn < lsn,
        "a record can only claim earlier LSNs durable"
    );
    let msg_len = RECORD_HEADER_LEN - 4 + body_len;
    assert!(record.len() >= RECORD_HEADER_LEN + body_len);
    let old = le_u64(record, 16);
    // The message starts at byte 4; the durable LSN sits at message bytes 12..20.
    let mut delta = [0u8; 20];
    delta[12..20].copy_from_slice(&(old ^ durable_lsn).to_le_bytes());
    let shifted = crc32c::crc32c(&delta) ^ crc32c::crc32c(&[0u8; 20]);
    let fix = crc32c::crc32c_combine(shifted, 0, msg_len - 20);
    let crc = le_u32(record, 0) ^ fix;
    record[16..24].copy_from_slice(&durable_lsn.to_le_bytes());
    record[0..4].copy_from_slice(&crc.to_le_bytes());
    debug_assert_eq!(
        crc,
        crc32c::crc32c(&record[4..RECORD_HEADER_LEN + body_len])
    );
}

/// Sector size a torn write is assumed to keep or lose whole (the logical
/// block size of every Linux block device; a 4096-byte atomic unit is a
/// multiple of it, so the check holds there too).
pub const TEAR_SECTOR: usize = 512;

/// Whether the invalid record at the front of `buf` (at file offset `offset`)
/// can be what a torn write leaves: the record's final bytes with some whole
/// sectors still holding their old content. Old content past the written end
/// of a segment is zero (the file was zero-filled or fallocated, and recovery
/// zeroes whatever follows a cut), so a torn record has at least one sector
/// whose part inside the record reads as zeros. Damage to written data (a bit
/// flip, a stray write) leaves no such sector and returns `false`.
///
/// The record's extent is its header plus the body length it claims, if the
/// salt matches and the length is within `max_body`; otherwise the header
/// alone (a tear leaves each 8-byte header word either final or zero, so a
/// wrong non-zero salt or length is not a tear). Only the part of the extent
/// inside `buf` is looked at.
///
/// A record that ends in a zero byte is also taken as torn: a write that
/// stopped part way leaves a zero suffix at any granularity.
///
/// What this cannot tell apart by itself: a damaged record whose own final
/// content ends in a zero byte or has a sector part that is all zero.
/// [`single_bit_flip`] settles the commonest such damage, one flipped bit.
///
/// # Examples
///
/// ```
/// use xwal::format::*;
///
/// let mut buf = vec![0u8; 4096];
/// let len = encode_entry_record(&mut buf, 1, 0, FLAG_GROUP_END, 0x5A17, &[7; 1500]);
/// let mut flipped = buf.clone();
/// flipped[700] ^= 1;
/// assert!(!tear_possible(&flipped[..len], 4096, 0x5A17, 4096));
/// let mut torn = buf.clone();
/// torn[512..1024].fill(0); // one sector of the write never reached the disk
/// assert!(tear_possible(&torn[..len], 4096, 0x5A17, 4096));
/// ```
pub fn tear_possible(buf: &[u8], offset: u64, salt: u32, max_body: u32) -> bool {
    let extent = record_extent(buf, salt, max_body);
    // A write that stopped part way (at any granularity) leaves a zero suffix.
    if extent > 0 && buf[extent - 1] == 0 {
        return true;
    }
    let mut start = 0usize;
    while start < extent {
        let sector_end = TEAR_SECTOR - ((offset as usize + start) % TEAR_SECTOR);
        let end = (start + sector_end).min(extent);
        if buf[start..end].iter().all(|&b| b == 0) {
            return true;
        }
        start = end;
    }
    false
}

/// True if the one flipped bit [`single_bit_flip`] found (`bit`, from the
/// record's start) may just as well be a tear: the repair sets a bit in a
/// part of the record that a tear could have left zero, a sector part that
/// is all zero or the zero suffix of a write that stopped part way. A
/// record whose lost sector held a single set bit is one bit away from
/// valid; recovery must not call that tear damage. (What this gives up: a
/// real flip that clears the only set bit of such a part, in a record
/// nothing later proves durable, is cut as a tear.)
///
/// # Examples
///
/// ```
/// use xwal::format::*;
///
/// let mut buf = vec![0u8; 1024];
/// let mut payload = vec![0u8; 600];
/// payload[550] = 4; // the only set bit of the record's second sector
/// let len = encode_entry_record(&mut buf, 1, 0, FLAG_GROUP_END, 0x5A17, &payload);
/// let mut torn = buf[..len].to_vec();
/// torn[512..].fill(0); // the second sector never reached the disk
/// let bit = single_bit_flip(&torn, 4096).expect("one bit away from valid");
/// assert!(flip_could_be_tear(&torn, 4096, bit, 0x5A17, 4096));
/// let mut flipped = buf[..len].to_vec();
/// flipped[100] ^= 1; // a flip in a part that holds data
/// let bit = single_bit_flip(&flipped, 4096).unwrap();
/// assert!(!flip_could_be_tear(&flipped, 4096, bit, 0x5A17, 4096));
/// ```
pub fn flip_could_be_tear(buf: &[u8], offset: u64, bit: u64, salt: u32, max_body: u32) -> bool {
    let at = (bit / 8) as usize;
    let Some(&byte) = buf.get(at) else {
        return false;
    };
    if byte & (1 << (bit % 8)) != 0 {
        // The repair clears a bit: a tear only ever leaves bytes zero.
        return false;
    }
    let extent = record_extent(buf, salt, max_body);
    if at >= extent {
        return false;
    }
    if buf[at..extent].iter().all(|&b| b == 0) {
        return true;
    }
    // The part of `at`'s sector inside the record.
    let into = (offset as usize + at) % TEAR_SECTOR;
    let start = at.saturating_sub(into);
    let end = (at + TEAR_SECTOR - into).min(extent);
    debug_assert!(start <= at && at < end);
    buf[start..end].iter().all(|&b| b == 0)
}

/// How many bytes of `buf` the record at its front spans, as far as its
/// header can be believed: the whole record if the salt is this segment's
/// and the length within bounds, else the header alone.
fn record_extent(buf: &[u8], salt: u32, max_body: u32) -> usize {
    let header = buf.len().min(RECORD_HEADER_LEN);
    if buf.len() >= RECORD_HEADER_LEN && le_u32(buf, 28) == salt {
        let body_len = le_u32(buf, 4) as u64;
        if body_len <= max_body as u64 + 32 {
            return (RECORD_HEADER_LEN as u64 + body_len).min(buf.len() as u64) as usize;
        }
    }
    header
}

/// True if the bytes at the front of `buf` are not a record of this segment
/// at this position, damaged or not: neither the salt nor the LSN word is the
/// one expected there, or they are a whole record, CRC intact, of another
/// salt (left by an earlier use of the file: its LSN may well be the one
/// expected here). One flipped bit changes at most one of the two words, and
/// a record's salt cannot change with its CRC still holding, so damage to a
/// record of this segment is never taken for foreign bytes. Bytes too short
/// to show both words are not called foreign. `max_body` bounds the length
/// field as in [`decode_record`].
///
/// # Examples
///
/// ```
/// use xwal::format::*;
///
/// let mut buf = vec![0u8; 64];
/// encode_entry_record(&mut buf, 5, 4, FLAG_GROUP_END, 0x5A17, b"abc");
/// assert!(!foreign_bytes(&buf, 0x5A17, 5, 1024));
/// // A whole record of another incarnation of the file, at the LSN expected.
/// assert!(foreign_bytes(&buf, 0x0BAD, 5, 1024));
/// buf[28] ^= 1; // the salt is damaged, the LSN still says 5
/// assert!(!foreign_bytes(&buf, 0x5A17, 5, 1024));
/// assert!(foreign_bytes(&[0xAB; 64], 0x5A17, 5, 1024));
/// ```
pub fn foreign_bytes(buf: &[u8], salt: u32, lsn: u64, max_body: u32) -> bool {
    if buf.len() < RECORD_HEADER_LEN {
        return false;
    }
    let stored_salt = le_u32(buf, 28);
    if stored_salt == salt {
        return false;
    }
    le_u64(buf, 8) != lsn
        || matches!(
            decode_record(buf, stored_salt, max_body),
            RecordDecode::Record(_)
        )
}

/// Bodies above this size are not searched for a single flipped bit (the
/// search costs eight cheap steps per byte); their damage is judged by shape alone.
pub const BIT_FLIP_SEARCH_LIMIT: usize = 16 << 20;

const CRC32C_POLY_REFLECTED: u32 = 0x82F6_3B78;

/// If the record at the front of `buf` fails its CRC only because of one
/// flipped bit, returns that bit's position (bit `i` of byte `i / 8` from the
/// record's start). Also finds a flipped bit in the CRC itself and in the
/// length field (which moves the record's end). A torn write zeroes whole
/// sectors and is never one bit away from a valid record; damage that is,
/// is damage.
///
/// CRC-32C is linear: flipping message bit `k` changes the CRC by a value
/// that depends only on how many bits follow `k`, so one pass from the end
/// compares each bit's effect with the observed difference.
///
/// # Examples
///
/// ```
/// use xwal::format::*;
///
/// let mut buf = vec![0u8; 128];
/// let len = encode_entry_record(&mut buf, 3, 2, FLAG_GROUP_END, 0x5A17, &[0; 60]);
/// assert_eq!(single_bit_flip(&buf[..len], 1024), None); // intact: nothing to find
/// buf[70] ^= 0x10;
/// assert_eq!(single_bit_flip(&buf[..len], 1024), Some(70 * 8 + 4));
/// ```
pub fn single_bit_flip(buf: &[u8], max_body: u32) -> Option<u64> {
    if buf.len() < RECORD_HEADER_LEN {
        return None;
    }
    let stored = le_u32(buf, 0);
    let body_len = le_u32(buf, 4) as usize;
    let fits =
        |len: usize| len as u64 <= max_body as u64 + 32 && RECORD_HEADER_LEN + len <= buf.len();
    if fits(body_len) && body_len <= BIT_FLIP_SEARCH_LIMIT {
        let msg = &buf[4..RECORD_HEADER_LEN + body_len];
        let syndrome = crc32c::crc32c(msg) ^ stored;
        if syndrome == 0 {
            return None;
        }
        if syndrome.count_ones() == 1 {
            return Some(syndrome.trailing_zeros() as u64); // the stored CRC itself
        }
        let mut effect = CRC32C_POLY_REFLECTED; // the message's last bit
        for k in (0..msg.len() as u64 * 8).rev() {
            if effect == syndrome {
                return Some(32 + k);
            }
            effect = if effect & 1 == 1 {
                (effect >> 1) ^ CRC32C_POLY_REFLECTED
            } else {
                effect >> 1
            };
        }
    }
    // A flipped bit in the length field: the record really ends elsewhere.
    for bit in 0..32u32 {
        let len = body_len ^ (1usize << bit);
        if !fits(len) || len > BIT_FLIP_SEARCH_LIMIT {
            continue;
        }
        let crc = crc32c::crc32c_append(
            crc32c::crc32c(&(len as u32).to_le_bytes()),
            &buf[8..RECORD_HEADER_LEN + len],
        );
        if crc == stored {
            return Some(32 + bit as u64);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn a_single_flipped_bit_is_found(data in proptest::collection::vec(any::<u8>(), 0..3000), pick in any::<u64>(), durable in 0u64..100) {
            let mut buf = vec![0u8; 4096];
            let len = encode_entry_record(&mut buf, 100, durable, FLAG_GROUP_END, 0x5A17, &data);
            let body_len = len; // flip anywhere in header or body, not the padding
            let body_end = RECORD_HEADER_LEN + le_u32(&buf, 4) as usize;
            let bit = pick % (body_end as u64 * 8);
            buf[(bit / 8) as usize] ^= 1 << (bit % 8);
            prop_assert_eq!(single_bit_flip(&buf[..body_len.max(body_end)], 4096), Some(bit));
        }

        #[test]
        fn patched_durable_lsn_matches_a_fresh_encode(data in proptest::collection::vec(any::<u8>(), 0..3000), old in 0u64..50, new in 0u64..99) {
            let mut a = vec![0u8; 4096];
            let mut b = vec![0u8; 4096];
            encode_entry_record(&mut a, 99, old, FLAG_GROUP_END, 0x5A17, &data);
            encode_entry_record(&mut b, 99, new, FLAG_GROUP_END, 0x5A17, &data);
            patch_durable_lsn(&mut a, new);
            prop_assert_eq!(a, b);
        }
    }

    const SALT: u32 = 0x1234_5678;

    fn encode(lsn: u64, durable: u64, data: &[u8]) -> Vec<u8> {
        let mut out = vec![0u8; encoded_record_len(entry_body_len(lsn, data.len()))];
        let n = encode_entry_record(&mut out, lsn, durable, FLAG_GROUP_END, SALT, data);
        assert_eq!(n, out.len());
        out
    }

    #[test]
    fn body_is_the_go_protobuf_encoding() {
        let rec = encode(1, 0, b"test data");
        let body = match decode_record(&rec, SALT, 1 << 20) {
            RecordDecode::Record(r) => r.body.to_vec(),
            other => panic!("{other:?}"),
        };
        let expect = WalEntry {
            lsn: 1,
            data: b"test data".to_vec(),
            crc: 0,
        }
        .encode_to_vec();
        assert_eq!(body, expect);
    }

    #[test]
    fn zero_fill_is_never_a_record() {
        for len in [32usize, 64, 4096] {
            assert!(matches!(
                decode_record(&vec![0u8; len], SALT, 1 << 20),
                RecordDecode::Invalid(DecodeError::Zero)
            ));
        }
    }

    #[test]
    fn other_salt_is_stale() {
        let rec = encode(5, 4, b"x");
        assert!(matches!(
            decode_record(&rec, SALT ^ 1, 1 << 20),
            RecordDecode::Invalid(DecodeError::BadSalt)
        ));
    }

    #[test]
    fn length_is_bounded_before_use() {
        let mut rec = encode(5, 4, b"abc");
        rec[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            decode_record(&rec, SALT, 1 << 20),
            RecordDecode::Invalid(DecodeError::TooLong)
        ));
    }

    #[test]
    fn skip_record_round_trip() {
        let mut out = vec![0u8; 64];
        let n = encode_skip_record(&mut out, 9, 3, SALT);
        assert_eq!(n, 32);
        match decode_record(&out, SALT, 100) {
            RecordDecode::Record(r) => {
                assert_eq!(r.header.kind, RecordKind::Skip);
                assert_eq!(r.header.lsn, 9);
            }
            other => panic!("{other:?}"),
        }
    }

    proptest! {
        #[test]
        fn round_trip(lsn in 1u64..u64::MAX, data in proptest::collection::vec(any::<u8>(), 0..3000), group in any::<bool>()) {
            let durable = lsn - 1;
            let flags = if group { FLAG_GROUP_END } else { 0 };
            let mut out = vec![0u8; encoded_record_len(entry_body_len(lsn, data.len())) + 8];
            let n = encode_entry_record(&mut out, lsn, durable, flags, SALT, &data);
            prop_assert_eq!(n % RECORD_ALIGN, 0);
            match decode_record(&out[..n], SALT, 4096) {
                RecordDecode::Record(r) => {
                    prop_assert_eq!(r.len, n);
                    prop_assert_eq!(r.header.lsn, lsn);
                    prop_assert_eq!(r.header.durable_lsn, durable);
                    prop_assert_eq!(r.header.is_group_end(), group);
                    prop_assert_eq!(r.data().unwrap(), data);
                }
                other => prop_assert!(false, "{:?}", other),
            }
        }

        #[test]
        fn any_bit_flip_is_detected(data in proptest::collection::vec(any::<u8>(), 0..512), bit in any::<proptest::sample::Index>()) {
            let rec = encode(77, 70, &data);
            let mut bad = rec.clone();
            let b = bit.index(rec.len() * 8);
            bad[b / 8] ^= 1 << (b % 8);
            if let RecordDecode::Record(r) = decode_record(&bad, SALT, 4096) { prop_assert!(false, "flip at bit {} decoded as {:?}", b, r.header) }
        }

        #[test]
        fn truncation_is_never_a_record(data in proptest::collection::vec(any::<u8>(), 1..512), cut in any::<proptest::sample::Index>()) {
            let rec = encode(3, 2, &data);
            let at = cut.index(rec.len());
            prop_assert!(!matches!(decode_record(&rec[..at], SALT, 4096), RecordDecode::Record(_)));
        }

        #[test]
        fn canonical_payload_agrees_with_prost(lsn in 1u64..u64::MAX, data in proptest::collection::vec(any::<u8>(), 0..600)) {
            let mut body = vec![0u8; entry_body_len(lsn, data.len()) + RECORD_HEADER_LEN + 8];
            // The body as encode_entry_record writes it, after the header.
            let n = encode_entry_record(&mut body, lsn, 0, 0, 7, &data);
            let body_len = u32::from_le_bytes(body[4..8].try_into().unwrap()) as usize;
            let b = &body[RECORD_HEADER_LEN..RECORD_HEADER_LEN + body_len];
            prop_assert!(n >= body_len);
            prop_assert_eq!(canonical_payload(b, lsn), Some(&data[..]));
            prop_assert_eq!(prost_payload(b, lsn).unwrap(), data);
            prop_assert_eq!(canonical_payload(b, lsn.wrapping_add(1)), None);
        }

        #[test]
        fn canonical_payload_never_disagrees(body in proptest::collection::vec(any::<u8>(), 0..64), lsn in 0u64..300) {
            // Where the fast path answers, prost must give the same payload.
            if let Some(d) = canonical_payload(&body, lsn) {
                prop_assert_eq!(prost_payload(&body, lsn).ok(), Some(d.to_vec()));
            }
        }

        #[test]
        fn canonical_payload_never_disagrees_near_the_canonical_form(
            lsn in 1u64..1 << 40,
            data in proptest::collection::vec(any::<u8>(), 0..40),
            len_delta in -2i64..3,
            tail in proptest::collection::vec(any::<u8>(), 0..6),
        ) {
            // Bodies one step from what the encoder writes: a wrong length, extra fields.
            let mut body = vec![0x08];
            let mut v = [0u8; 10];
            let n = put_varint(&mut v, 0, lsn);
            body.extend_from_slice(&v[..n]);
            body.push(0x12);
            let n = put_varint(&mut v, 0, (data.len() as i64 + len_delta).max(0) as u64);
            body.extend_from_slice(&v[..n]);
            body.extend_from_slice(&data);
            body.extend_from_slice(&tail);
            if let Some(d) = canonical_payload(&body, lsn) {
                prop_assert_eq!(prost_payload(&body, lsn).ok(), Some(d.to_vec()));
            }
        }

        #[test]
        fn decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256), salt in any::<u32>(), max in any::<u32>()) {
            let _ = decode_record(&bytes, salt, max);
        }
    }
}
