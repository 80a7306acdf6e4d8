//! The on-disk format, as pure code: encode and decode over byte slices, no I/O.
//!
//! A segment file is a 4096-byte header block followed by records packed at
//! 8-byte alignment. ARCHITECTURE.md describes every byte. Keeping this module
//! free of I/O makes the decoders easy to fuzz (`fuzz/`) and to property-test.

mod anchor_index;
mod entry;
mod evidence;
pub(crate) mod names;
mod record;
mod segment_header;

pub use anchor_index::{
    ANCHOR_INDEX_MAGIC, anchor_index_len_limit, decode_anchor_index, encode_anchor_index,
    max_anchors,
};
pub use entry::WalEntry;
pub use evidence::{Evidence, EvidenceScan};
pub use names::{
    ARCHIVE_STATE_FILE, FileKind, IMPORT_MARKER, LOCK_FILE, REPAIR_MARKER, RESTORE_MARKER,
    anchor_index_path, classify, segment_file_name, segment_path,
};
pub use record::{
    BIT_FLIP_SEARCH_LIMIT, DecodeError, DecodedRecord, FLAG_GROUP_END, RECORD_ALIGN,
    RECORD_HEADER_LEN, RecordDecode, RecordHeader, RecordKind, TEAR_SECTOR, decode_record,
    encode_entry_record, encode_skip_record, encoded_record_len, entry_body_len,
    flip_could_be_tear, foreign_bytes, patch_durable_lsn, single_bit_flip, tear_possible,
};
pub use segment_header::{
    FORMAT_VERSION, HeaderDecode, SEGMENT_MAGIC, SegmentHeader, inflight_bound,
};

/// Every write is a whole number of these, at an offset that is a multiple of it (O_DIRECT).
pub const BLOCK_SIZE: usize = 4096;

/// Hard ceiling on one entry's payload, whatever the config says: 1 GiB.
/// The decoder refuses any length field above the segment's own limit before allocating.
pub const MAX_ENTRY_SIZE_LIMIT: u64 = 1 << 30;

/// The highest LSN xwal hands out (2^63 - 1). A header whose first LSN is
/// above it is refused: the sequence must have room to continue, and every
/// `lsn + n` the engine computes stays far from overflow.
///
/// # Examples
///
/// ```
/// assert_eq!(xwal::format::MAX_LSN, i64::MAX as u64);
/// ```
pub const MAX_LSN: u64 = u64::MAX >> 1;

/// The highest segment number xwal creates (2^63 - 1); a header above it is refused.
///
/// # Examples
///
/// ```
/// assert_eq!(xwal::format::MAX_SEGMENT, i64::MAX as u64);
/// ```
pub const MAX_SEGMENT: u64 = u64::MAX >> 1;

/// The largest segment capacity (64 GiB); a header above it is refused.
///
/// # Examples
///
/// ```
/// assert_eq!(xwal::format::MAX_SEGMENT_CAPACITY, 64 << 30);
/// ```
pub const MAX_SEGMENT_CAPACITY: u64 = 64 << 30;

/// Rounds `n` up to a multiple of `align` (a power of two).
///
/// # Examples
///
/// ```
/// use xwal::format::{align_up, BLOCK_SIZE};
///
/// assert_eq!(align_up(1, 8), 8);
/// assert_eq!(align_up(16, 8), 16);
/// assert_eq!(align_up(4097, BLOCK_SIZE as u64), 8192);
/// ```
#[inline]
pub const fn align_up(n: u64, align: u64) -> u64 {
    debug_assert!(align.is_power_of_two());
    (n + align - 1) & !(align - 1)
}

/// Rounds `n` down to a multiple of `align` (a power of two).
///
/// # Examples
///
/// ```
/// use xwal::format::{align_down, BLOCK_SIZE};
///
/// assert_eq!(align_down(15, 8), 8);
/// assert_eq!(align_down(16, 8), 16);
/// assert_eq!(align_down(8191, BLOCK_SIZE as u64), 4096);
/// ```
#[inline]
pub const fn align_down(n: u64, align: u64) -> u64 {
    debug_assert!(align.is_power_of_two());
    n & !(align - 1)
}
