//! The anchor index beside a sealed segment (`wal-N.anchors`): record
//! boundaries, (offset, LSN), about one per replay chunk, so that a backward
//! replay reads the segment once, window by window from the end, instead of a
//! verifying forward pass first.
//!
//! It is a hint, never trusted: written without fsync, bound to its segment by
//! number and salt, CRC-checked, and each anchor is checked against the record
//! found there when it is used. A missing, torn or stale index only costs the
//! forward pass.
//!
//! Layout, little-endian: magic `XWALANCH` (8), version u32, salt u32,
//! segment u64, count u32, reserved u32 (zero), then `count` pairs of
//! (offset u64, LSN u64), then CRC32C (u32) of everything before it.

use super::{BLOCK_SIZE, RECORD_ALIGN};

/// First bytes of an anchor index.
pub const ANCHOR_INDEX_MAGIC: [u8; 8] = *b"XWALANCH";
const VERSION: u32 = 1;
const HEAD_LEN: usize = 32;
const PAIR_LEN: usize = 16;

/// Most anchors an index of a segment of `capacity` bytes may hold: one per block.
///
/// # Examples
///
/// ```
/// use xwal::format::max_anchors;
///
/// assert_eq!(max_anchors(64 << 10), 16);
/// ```
pub const fn max_anchors(capacity: u64) -> usize {
    (capacity / BLOCK_SIZE as u64) as usize
}

/// Largest index file of a segment of `capacity` bytes; anything longer is not one.
///
/// # Examples
///
/// ```
/// use xwal::format::{anchor_index_len_limit, encode_anchor_index};
///
/// let bytes = encode_anchor_index(7, 0x5eed, &[(8192, 10)]);
/// assert!(bytes.len() <= anchor_index_len_limit(64 << 10));
/// ```
pub const fn anchor_index_len_limit(capacity: u64) -> usize {
    HEAD_LEN + PAIR_LEN * max_anchors(capacity) + 4
}

/// Encodes the anchors of segment `segment` (salt `salt`).
///
/// # Examples
///
/// ```
/// use xwal::format::{decode_anchor_index, encode_anchor_index};
///
/// let bytes = encode_anchor_index(3, 42, &[(4096 * 300, 1000), (4096 * 600, 2000)]);
/// assert_eq!(
///     decode_anchor_index(&bytes, 3, 42, 64 << 20),
///     Some(vec![(4096 * 300, 1000), (4096 * 600, 2000)])
/// );
/// ```
pub fn encode_anchor_index(segment: u64, salt: u32, anchors: &[(u64, u64)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEAD_LEN + PAIR_LEN * anchors.len() + 4);
    out.extend_from_slice(&ANCHOR_INDEX_MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&salt.to_le_bytes());
    out.extend_from_slice(&segment.to_le_bytes());
    out.extend_from_slice(&(anchors.len() as u32).to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    for (off, lsn) in anchors {
        out.extend_from_slice(&off.to_le_bytes());
        out.extend_from_slice(&lsn.to_le_bytes());
    }
    let crc = crc32c::crc32c(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Decodes an index of segment `segment` (salt `salt`, `capacity` bytes).
/// `None` unless every check passes: magic, version, length, CRC, segment and
/// salt, and anchors strictly increasing in offset and LSN, record-aligned,
/// inside the record area. Allocates at most `max_anchors(capacity)` pairs.
///
/// # Examples
///
/// ```
/// use xwal::format::{decode_anchor_index, encode_anchor_index};
///
/// let mut bytes = encode_anchor_index(3, 42, &[(8192, 5)]);
/// assert!(decode_anchor_index(&bytes, 4, 42, 1 << 20).is_none()); // another segment
/// assert!(decode_anchor_index(&bytes, 3, 43, 1 << 20).is_none()); // another incarnation
/// bytes[33] ^= 1;
/// assert!(decode_anchor_index(&bytes, 3, 42, 1 << 20).is_none()); // CRC
/// ```
pub fn decode_anchor_index(
    bytes: &[u8],
    segment: u64,
    salt: u32,
    capacity: u64,
) -> Option<Vec<(u64, u64)>> {
    if bytes.len() < HEAD_LEN + 4 || bytes.len() > anchor_index_len_limit(capacity) {
        return None;
    }
    let u32_at = |i: usize| u32::from_le_bytes(bytes[i..i + 4].try_into().unwrap_or([0; 4]));
    let u64_at = |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().unwrap_or([0; 8]));
    if bytes[..8] != ANCHOR_INDEX_MAGIC || u32_at(8) != VERSION || u32_at(28) != 0 {
        return None;
    }
    if u32_at(12) != salt || u64_at(16) != segment {
        return None;
    }
    let count = u32_at(24) as usize;
    if count > max_anchors(capacity) || bytes.len() != HEAD_LEN + PAIR_LEN * count + 4 {
        return None;
    }
    let body = bytes.len() - 4;
    if crc32c::crc32c(&bytes[..body]) != u32_at(body) {
        return None;
    }
    let mut anchors = Vec::with_capacity(count);
    let mut prev: Option<(u64, u64)> = None;
    for i in 0..count {
        let (off, lsn) = (
            u64_at(HEAD_LEN + i * PAIR_LEN),
            u64_at(HEAD_LEN + i * PAIR_LEN + 8),
        );
        let in_area = off >= BLOCK_SIZE as u64 && off < capacity;
        let ordered = prev.is_none_or(|(po, pl)| off > po && lsn > pl);
        if !in_area || off % RECORD_ALIGN as u64 != 0 || !ordered {
            return None;
        }
        anchors.push((off, lsn));
        prev = Some((off, lsn));
    }
    Some(anchors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn round_trip(n in 0usize..64, seg in any::<u64>(), salt in any::<u32>()) {
            let anchors: Vec<(u64, u64)> = (0..n as u64).map(|i| (4096 * (i + 1), 10 * i + 1)).collect();
            let bytes = encode_anchor_index(seg, salt, &anchors);
            prop_assert_eq!(decode_anchor_index(&bytes, seg, salt, 1 << 20), Some(anchors));
        }

        /// Garbage and every truncation or bit flip of a valid index decode to None or
        /// to a well-formed list, never panic.
        #[test]
        fn damage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400), flip in 0usize..400) {
            let _ = decode_anchor_index(&bytes, 1, 2, 1 << 20);
            let mut good = encode_anchor_index(1, 2, &[(4096, 1), (8192, 9)]);
            let i = flip % good.len();
            good[i] ^= 0x10;
            prop_assert!(decode_anchor_index(&good, 1, 2, 1 << 20).is_none());
            prop_assert!(decode_anchor_index(&good[..i], 1, 2, 1 << 20).is_none());
        }
    }

    #[test]
    fn refuses_anchors_outside_the_record_area_or_out_of_order() {
        for bad in [
            vec![(0, 1)],
            vec![(4100, 1)],
            vec![(1 << 20, 1)],
            vec![(8192, 5), (8192, 6)],
            vec![(8192, 5), (12288, 5)],
        ] {
            let bytes = encode_anchor_index(1, 2, &bad);
            assert!(
                decode_anchor_index(&bytes, 1, 2, 1 << 20).is_none(),
                "{bad:?}"
            );
        }
    }
}
