//! The manifest: one small text object per archive listing every segment whose
//! upload was confirmed. It is written after the segments it lists, so a
//! segment in the manifest is always complete in S3; a segment uploaded but not
//! yet listed (a crash in between) is found again by the archiver's create-only
//! PUT and verified before it is listed.
//!
//! ```text
//! xwal-archive-manifest 1
//! segment first_lsn last_lsn checkpoint size crc32c capacity salt max_entry_size
//! 0 1 1200 0 262144 8f3a0c11 262144 5d2e9a01 65536
//! 1 1201 1201 1 8192 0b5e77c2 262144 a0c4f3d9 65536
//! end 2 4c1d2e3f
//! ```
//!
//! `size` and `crc32c` (hex) describe the object exactly (the segment file up to
//! the block holding its last record); the last line carries the CRC32C of every
//! byte before it, so a torn or edited manifest is refused, never half-read.

use crate::error::{ArchiveErrorKind, Error, Result};
use crate::shared::SegmentMeta;
use std::collections::BTreeMap;

const MAGIC: &str = "xwal-archive-manifest 1";
const COLUMNS: &str =
    "segment first_lsn last_lsn checkpoint size crc32c capacity salt max_entry_size";

/// One archived segment.
///
/// # Examples
///
/// ```
/// use xwal::archive::{Manifest, ManifestEntry};
///
/// let entry = ManifestEntry {
///     segment: 4,
///     first_lsn: 1001,
///     last_lsn: 1200,
///     checkpoint: true,
///     size: 262_144,
///     crc32c: 0x8f3a_0c11,
///     capacity: 1 << 20,
///     salt: 0x5d2e_9a01,
///     max_entry_size: 65_536,
///     lsn_gap_before: false,
/// };
/// let mut manifest = Manifest::default();
/// manifest.entries.insert(entry.segment, entry);
/// let decoded = Manifest::decode(&manifest.encode()).unwrap();
/// assert_eq!(decoded.entries[&4], entry);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ManifestEntry {
    /// Segment number.
    pub segment: u64,
    /// First LSN it holds (from its header).
    pub first_lsn: u64,
    /// Last LSN it holds (`first_lsn - 1` if it holds none).
    pub last_lsn: u64,
    /// Sealed by `create_checkpoint`.
    pub checkpoint: bool,
    /// Object size in bytes.
    pub size: u64,
    /// CRC32C of the object.
    pub crc32c: u32,
    /// The segment's capacity (from its header).
    pub capacity: u64,
    /// The segment's salt (from its header): identifies this segment of this WAL.
    pub salt: u32,
    /// The segment's max entry size (from its header).
    pub max_entry_size: u32,
    /// Its header reserves the LSNs between the previous segment's last one
    /// and its first one (a repair; see `SegmentHeader::lsn_gap_before`).
    /// In the manifest: bit 1 of the `checkpoint` column.
    pub lsn_gap_before: bool,
}

impl ManifestEntry {
    /// The segment as replay sees it.
    pub(crate) fn meta(&self) -> SegmentMeta {
        SegmentMeta {
            segment: self.segment,
            first_lsn: self.first_lsn,
            salt: self.salt,
            max_entry_size: self.max_entry_size,
            capacity: self.capacity,
            checkpoint: self.checkpoint,
            lsn_gap_before: self.lsn_gap_before,
        }
    }

    /// True if this segment's LSNs continue a segment whose last LSN is
    /// `prev_last`: right after it, or after a gap its header reserved.
    pub(crate) fn continues(&self, prev_last: u64) -> bool {
        prev_last + 1 == self.first_lsn || (self.lsn_gap_before && prev_last < self.first_lsn)
    }

    /// True if `m` (a local segment) is the segment this entry describes.
    pub(crate) fn same_segment(&self, m: &SegmentMeta) -> bool {
        self.segment == m.segment && self.first_lsn == m.first_lsn && self.salt == m.salt
    }
}

/// Every archived segment, by number.
///
/// # Examples
///
/// ```
/// use xwal::archive::{Manifest, ManifestEntry};
///
/// let entry = |segment: u64, first_lsn: u64, last_lsn: u64| ManifestEntry {
///     segment,
///     first_lsn,
///     last_lsn,
///     checkpoint: false,
///     size: 8192,
///     crc32c: 0x1234_5678,
///     capacity: 1 << 20,
///     salt: 7,
///     max_entry_size: 4096,
///     lsn_gap_before: false,
/// };
/// let mut manifest = Manifest::default();
/// for e in [entry(1, 11, 20), entry(0, 1, 10)] {
///     manifest.entries.insert(e.segment, e);
/// }
/// // Kept by segment number, whatever the insertion order.
/// assert_eq!(manifest.entries.keys().copied().collect::<Vec<_>>(), [0, 1]);
/// assert_eq!(Manifest::decode(&manifest.encode()).unwrap(), manifest);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    /// The entries.
    pub entries: BTreeMap<u64, ManifestEntry>,
    /// The identity of the WAL that writes this archive (random, chosen at
    /// its first manifest write, kept in its `archive.state`): a second
    /// writer on the same prefix fails with `Conflict`, whatever its
    /// segment numbers. `None` in a manifest not written yet.
    pub writer: Option<u64>,
    /// Entries moved out of the head into immutable chunk objects, oldest
    /// first (their entries are in `entries` once loaded). The head is what
    /// is rewritten; so a write costs at most one chunk's entries plus one
    /// line per chunk, however large the archive grows.
    pub chunks: Vec<ChunkRef>,
}

/// One immutable chunk object of the manifest: segments `first..=last`.
///
/// # Examples
///
/// ```
/// use xwal::archive::{ChunkRef, Manifest, ManifestEntry};
///
/// let entry = |segment: u64| ManifestEntry {
///     segment, first_lsn: segment * 10 + 1, last_lsn: segment * 10 + 10, checkpoint: false,
///     size: 8192, crc32c: 0, capacity: 1 << 20, salt: 7, max_entry_size: 4096, lsn_gap_before: false,
/// };
/// let mut m = Manifest::default();
/// for s in 0..5 {
///     m.entries.insert(s, entry(s));
/// }
/// let (chunk, bytes): (ChunkRef, Vec<u8>) = m.seal_chunk(4).expect("4 entries make a chunk");
/// assert_eq!((chunk.first, chunk.last, chunk.count), (0, 3, 4));
/// let mut head = Manifest::decode(&m.encode()).unwrap();
/// assert_eq!(head.entries.len(), 1); // only segment 4 is in the head
/// head.merge_chunk(&head.chunks[0].clone(), &bytes).unwrap();
/// assert_eq!(head.entries, m.entries);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkRef {
    /// First segment in it.
    pub first: u64,
    /// Last segment in it.
    pub last: u64,
    /// Entries in it.
    pub count: u64,
    /// CRC32C of the chunk object.
    pub crc32c: u32,
}

fn bad(reason: String) -> Error {
    Error::Archive {
        kind: ArchiveErrorKind::BadManifest,
        message: format!("the manifest is invalid: {reason}; nothing was changed"),
    }
}

impl Manifest {
    /// Encodes the manifest.
    ///
    /// # Examples
    ///
    /// ```
    /// use xwal::archive::{Manifest, ManifestEntry};
    ///
    /// let mut manifest = Manifest::default();
    /// let entry = ManifestEntry {
    ///     segment: 0,
    ///     first_lsn: 1,
    ///     last_lsn: 1200,
    ///     checkpoint: false,
    ///     size: 262_144,
    ///     crc32c: 0x8f3a_0c11,
    ///     capacity: 262_144,
    ///     salt: 0x5d2e_9a01,
    ///     max_entry_size: 65_536,
    ///     lsn_gap_before: false,
    /// };
    /// manifest.entries.insert(0, entry);
    /// let text = String::from_utf8(manifest.encode()).unwrap();
    /// let lines: Vec<&str> = text.lines().collect();
    /// assert_eq!(lines[0], "xwal-archive-manifest 1");
    /// assert_eq!(lines[2], "0 1 1200 0 262144 8f3a0c11 262144 5d2e9a01 65536");
    /// assert!(lines[3].starts_with("end 1 "));
    /// ```
    pub fn encode(&self) -> Vec<u8> {
        let mut s = String::with_capacity(64 + self.entries.len() * 80);
        s.push_str(MAGIC);
        s.push('\n');
        s.push_str(COLUMNS);
        s.push('\n');
        if let Some(w) = self.writer {
            s.push_str(&format!("writer {w:016x}\n"));
        }
        for c in &self.chunks {
            s.push_str(&format!(
                "chunk {} {} {} {:08x}\n",
                c.first, c.last, c.count, c.crc32c
            ));
        }
        let inline_from = self.chunks.last().map_or(0, |c| c.last + 1);
        let mut inline = 0usize;
        for e in self.entries.range(inline_from..).map(|(_, e)| e) {
            inline += 1;
            s.push_str(&format!(
                "{} {} {} {} {} {:08x} {} {:08x} {}\n",
                e.segment,
                e.first_lsn,
                e.last_lsn,
                u8::from(e.checkpoint) | u8::from(e.lsn_gap_before) << 1,
                e.size,
                e.crc32c,
                e.capacity,
                e.salt,
                e.max_entry_size
            ));
        }
        let crc = crc32c::crc32c(s.as_bytes());
        s.push_str(&format!("end {inline} {crc:08x}\n"));
        s.into_bytes()
    }

    /// Moves the oldest `max_inline` head entries into a new chunk, if the
    /// head holds that many; returns it and the chunk object's bytes, which
    /// must be stored (create-only) before the head that names it.
    pub fn seal_chunk(&mut self, max_inline: usize) -> Option<(ChunkRef, Vec<u8>)> {
        let inline_from = self.chunks.last().map_or(0, |c| c.last + 1);
        let inline: Vec<ManifestEntry> =
            self.entries.range(inline_from..).map(|(_, e)| *e).collect();
        if max_inline == 0 || inline.len() < max_inline {
            return None;
        }
        let part = Manifest {
            entries: inline[..max_inline]
                .iter()
                .map(|e| (e.segment, *e))
                .collect(),
            ..Default::default()
        };
        let bytes = part.encode();
        let c = ChunkRef {
            first: inline[0].segment,
            last: inline[max_inline - 1].segment,
            count: max_inline as u64,
            crc32c: crc32c::crc32c(&bytes),
        };
        // Chunks cover disjoint segment ranges, oldest first.
        debug_assert!(c.first <= c.last && self.chunks.last().is_none_or(|p| p.last < c.first));
        self.chunks.push(c);
        Some((c, bytes))
    }

    /// Adds the entries of a chunk object named by the head, after checking it
    /// is exactly what the head says (CRC, count, range).
    pub fn merge_chunk(&mut self, chunk: &ChunkRef, bytes: &[u8]) -> Result<()> {
        if crc32c::crc32c(bytes) != chunk.crc32c {
            return Err(bad(format!(
                "chunk {}..={} does not match its CRC32C in the head",
                chunk.first, chunk.last
            )));
        }
        let part = Manifest::decode(bytes)?;
        let fits = part.entries.len() as u64 == chunk.count
            && part.writer.is_none()
            && part.chunks.is_empty()
            && part.entries.keys().next() == Some(&chunk.first)
            && part.entries.keys().next_back() == Some(&chunk.last);
        if !fits {
            return Err(bad(format!(
                "chunk {}..={} does not hold what the head says",
                chunk.first, chunk.last
            )));
        }
        self.entries.extend(part.entries);
        Ok(())
    }

    /// Decodes a manifest, checking its CRC and every field.
    ///
    /// # Examples
    ///
    /// ```
    /// use xwal::archive::Manifest;
    /// use xwal::{ArchiveErrorKind, Error};
    ///
    /// let empty = Manifest::default().encode();
    /// assert_eq!(Manifest::decode(&empty).unwrap(), Manifest::default());
    /// // Torn or edited: refused as a whole, never half-read.
    /// let torn = Manifest::decode(&empty[..empty.len() - 3]);
    /// assert!(matches!(torn, Err(Error::Archive { kind: ArchiveErrorKind::BadManifest, .. })));
    /// let mut edited = empty.clone();
    /// edited[0] = b'X';
    /// assert!(Manifest::decode(&edited).is_err());
    /// ```
    pub fn decode(bytes: &[u8]) -> Result<Manifest> {
        let text = std::str::from_utf8(bytes).map_err(|_| bad("not UTF-8".into()))?;
        let body_end = text
            .trim_end_matches('\n')
            .rfind('\n')
            .map(|i| i + 1)
            .ok_or_else(|| bad("too short".into()))?;
        let (body, last) = text.split_at(body_end);
        let mut end = last.trim_end().split(' ');
        let (Some("end"), Some(count), Some(crc), None) =
            (end.next(), end.next(), end.next(), end.next())
        else {
            return Err(bad(
                "the last line is not 'end <count> <crc32c>' (truncated?)".into(),
            ));
        };
        let crc = u32::from_str_radix(crc, 16).map_err(|_| bad("bad CRC field".into()))?;
        if crc32c::crc32c(body.as_bytes()) != crc {
            return Err(bad("CRC32C mismatch (damaged or edited)".into()));
        }
        let mut lines = body.lines();
        if lines.next() != Some(MAGIC) {
            return Err(bad(format!("the first line is not {MAGIC:?}")));
        }
        if lines.next() != Some(COLUMNS) {
            return Err(bad("unknown columns".into()));
        }
        let mut entries = BTreeMap::new();
        let mut writer = None;
        let mut lines = lines.peekable();
        if let Some(w) = lines.peek().and_then(|l| l.strip_prefix("writer ")) {
            writer = Some(u64::from_str_radix(w, 16).map_err(|_| bad("bad writer id".into()))?);
            lines.next();
        }
        let mut chunks: Vec<ChunkRef> = Vec::new();
        while let Some(c) = lines.peek().and_then(|l| l.strip_prefix("chunk ")) {
            let f: Vec<&str> = c.split(' ').collect();
            let parsed = (f.len() == 4)
                .then(|| {
                    Some(ChunkRef {
                        first: f[0].parse().ok()?,
                        last: f[1].parse().ok()?,
                        count: f[2].parse().ok()?,
                        crc32c: u32::from_str_radix(f[3], 16).ok()?,
                    })
                })
                .flatten()
                .ok_or_else(|| bad("bad chunk line".into()))?;
            let after_prev = chunks.last().is_none_or(|p| parsed.first > p.last);
            if parsed.last < parsed.first || parsed.count == 0 || !after_prev {
                return Err(bad("chunk lines out of order".into()));
            }
            chunks.push(parsed);
            lines.next();
        }
        let first_entry_line = 3 + usize::from(writer.is_some()) + chunks.len();
        let inline_from = chunks.last().map_or(0, |c| c.last + 1);
        for (i, line) in lines.enumerate() {
            let f: Vec<&str> = line.split(' ').collect();
            let line_no = i + first_entry_line;
            if f.len() != 9 {
                return Err(bad(format!("line {line_no} has {} fields, not 9", f.len())));
            }
            let num = |s: &str| -> Result<u64> {
                s.parse()
                    .map_err(|_| bad(format!("line {line_no}: {s:?} is not a number")))
            };
            let hex = |s: &str| -> Result<u32> {
                u32::from_str_radix(s, 16)
                    .map_err(|_| bad(format!("line {line_no}: {s:?} is not hex")))
            };
            let e = ManifestEntry {
                segment: num(f[0])?,
                first_lsn: num(f[1])?,
                last_lsn: num(f[2])?,
                checkpoint: matches!(f[3], "1" | "3"),
                lsn_gap_before: match f[3] {
                    "0" | "1" => false,
                    "2" | "3" => true,
                    o => return Err(bad(format!("line {line_no}: checkpoint {o:?}"))),
                },
                size: num(f[4])?,
                crc32c: hex(f[5])?,
                capacity: num(f[6])?,
                salt: hex(f[7])?,
                max_entry_size: u32::try_from(num(f[8])?)
                    .map_err(|_| bad(format!("line {line_no}: max_entry_size")))?,
            };
            if e.last_lsn + 1 < e.first_lsn || e.size > e.capacity || e.size == 0 {
                return Err(bad(format!("line {line_no}: inconsistent fields")));
            }
            if e.segment < inline_from {
                return Err(bad(format!(
                    "line {line_no}: segment {} belongs to a chunk",
                    e.segment
                )));
            }
            if entries.insert(e.segment, e).is_some() {
                return Err(bad(format!("segment {} listed twice", e.segment)));
            }
        }
        if entries.len().to_string() != count {
            return Err(bad(format!(
                "it lists {} segments but its end line says {count}",
                entries.len()
            )));
        }
        Ok(Manifest {
            entries,
            writer,
            chunks,
        })
    }

    /// The newest run of consecutive segments (what a replay or restore can use
    /// when older segments are missing from the archive).
    ///
    /// # Examples
    ///
    /// ```
    /// use xwal::archive::{Manifest, ManifestEntry};
    ///
    /// let entry = |segment: u64, first_lsn: u64, last_lsn: u64| ManifestEntry {
    ///     segment,
    ///     first_lsn,
    ///     last_lsn,
    ///     checkpoint: false,
    ///     size: 8192,
    ///     crc32c: 0,
    ///     capacity: 1 << 20,
    ///     salt: 7,
    ///     max_entry_size: 4096,
    ///     lsn_gap_before: false,
    /// };
    /// let mut manifest = Manifest::default();
    /// // Segment 2 is missing from the archive.
    /// for e in [entry(0, 1, 9), entry(1, 10, 19), entry(3, 30, 39), entry(4, 40, 49)] {
    ///     manifest.entries.insert(e.segment, e);
    /// }
    /// let run: Vec<u64> = manifest.newest_run().iter().map(|e| e.segment).collect();
    /// assert_eq!(run, [3, 4]);
    /// ```
    pub fn newest_run(&self) -> Vec<ManifestEntry> {
        self.runs_from_newest()
    }

    /// The first gap, if the listed segments are not one run of consecutive
    /// numbers whose LSNs continue: `(last segment before it, first after it)`.
    /// An archive never deletes objects, so a gap means a lost object or a
    /// tampered manifest (or a foreign entry), never a normal state.
    ///
    /// ```
    /// use xwal::archive::{Manifest, ManifestEntry};
    ///
    /// let entry = |segment: u64, first_lsn: u64, last_lsn: u64| ManifestEntry {
    ///     segment, first_lsn, last_lsn, checkpoint: false, size: 8192, crc32c: 0,
    ///     capacity: 1 << 20, salt: 7, max_entry_size: 4096, lsn_gap_before: false,
    /// };
    /// let mut m = Manifest::default();
    /// for e in [entry(0, 1, 9), entry(1, 10, 19)] {
    ///     m.entries.insert(e.segment, e);
    /// }
    /// assert_eq!(m.first_gap(), None);
    /// m.entries.insert(25, entry(25, 250, 259));
    /// assert_eq!(m.first_gap(), Some((1, 25)));
    /// ```
    pub fn first_gap(&self) -> Option<(u64, u64)> {
        let mut prev: Option<&ManifestEntry> = None;
        for e in self.entries.values() {
            if let Some(p) = prev
                && (p.segment + 1 != e.segment || !e.continues(p.last_lsn))
            {
                return Some((p.segment, e.segment));
            }
            prev = Some(e);
        }
        None
    }

    fn runs_from_newest(&self) -> Vec<ManifestEntry> {
        let mut run: Vec<ManifestEntry> = Vec::new();
        for e in self.entries.values().rev() {
            if let Some(prev) = run.last()
                && (e.segment + 1 != prev.segment || !prev.continues(e.last_lsn))
            {
                break;
            }
            run.push(*e);
        }
        run.reverse();
        debug_assert!(run.windows(2).all(|w| w[0].segment + 1 == w[1].segment));
        run
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(segment: u64, first: u64, last: u64) -> ManifestEntry {
        ManifestEntry {
            segment,
            first_lsn: first,
            last_lsn: last,
            checkpoint: segment % 2 == 1,
            size: 8192,
            crc32c: 0xdead_beef,
            capacity: 1 << 20,
            salt: 7,
            max_entry_size: 1000,
            lsn_gap_before: false,
        }
    }

    #[test]
    fn round_trip_and_damage() {
        let mut m = Manifest::default();
        for (s, f, l) in [(3, 10, 19), (4, 20, 20), (5, 21, 20)] {
            m.entries.insert(s, e(s, f, l));
        }
        let bytes = m.encode();
        assert_eq!(Manifest::decode(&bytes).unwrap(), m);
        // Truncated, flipped, or appended to: refused.
        assert!(Manifest::decode(&bytes[..bytes.len() - 5]).is_err());
        let mut flipped = bytes.clone();
        flipped[60] ^= 1;
        assert!(Manifest::decode(&flipped).is_err());
        let mut cut = bytes.clone();
        let pos = String::from_utf8(bytes.clone())
            .unwrap()
            .find("4 20")
            .unwrap();
        cut.drain(pos..pos + 2);
        assert!(Manifest::decode(&cut).is_err());
        assert!(Manifest::decode(b"").is_err());
        assert!(Manifest::decode(&Manifest::default().encode()).is_ok());
    }

    #[test]
    fn newest_run_stops_at_a_gap() {
        let mut m = Manifest::default();
        for (s, f, l) in [(0, 1, 9), (1, 10, 19), (3, 30, 39), (4, 40, 49)] {
            m.entries.insert(s, e(s, f, l));
        }
        let run: Vec<u64> = m.newest_run().iter().map(|e| e.segment).collect();
        assert_eq!(run, vec![3, 4]);
    }
}
