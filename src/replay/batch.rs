//! A batch of replayed entries that borrow from, or share, the read buffers.

use super::scan::{ChunkScanner, Found};
use crate::error::{Error, Result};
use crate::format::RecordKind;
use crate::ids::Lsn;
use crate::io::Chunk;
use bytes::Bytes;
use std::borrow::Cow;

/// Where one entry's payload is: `bufs[buf][start..start + len]`.
#[derive(Debug, Clone, Copy)]
struct Item {
    lsn: u64,
    buf: u32,
    start: u32,
    len: u32,
}

/// Entries of one read (a chunk forward, a window backward) in replay order.
/// Their payloads stay in the buffers they were read into: [`Batch::iter`]
/// lends them, [`Batch::iter_bytes`] shares them as [`Bytes`] without a copy.
/// A buffer goes back to the reader's pool when the batch and every `Bytes`
/// cut from it are dropped.
///
/// # Examples
///
/// ```
/// # fn main() -> xwal::Result<()> {
/// use xwal::{Config, ReplayOptions, Wal};
///
/// let dir = tempfile::tempdir_in(".").unwrap();
/// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
/// let (wal, _) = Wal::open(config)?;
/// wal.append_batch(["a", "bb", "ccc"])?;
///
/// let mut replay = wal.replay(ReplayOptions::all())?;
/// let mut seen = Vec::new();
/// for batch in replay.batches() {
///     for (lsn, data) in batch?.iter() {
///         seen.push((lsn.0, data.len()));
///     }
/// }
/// assert_eq!(seen, [(1, 1), (2, 2), (3, 3)]);
/// assert_eq!(replay.finish()?.entries, 3);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default)]
pub struct Batch {
    bufs: Vec<Bytes>,
    items: Vec<Item>,
}

impl Batch {
    /// Entries in the batch.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::{Config, ReplayOptions, Wal};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
    /// let (wal, _) = Wal::open(config)?;
    /// wal.append_batch(["ab", "cde"])?;
    /// let batch = wal.replay(ReplayOptions::all())?.next_batch()?.unwrap();
    /// assert_eq!((batch.len(), batch.is_empty()), (2, false));
    /// # Ok(()) }
    /// ```
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True if it holds no entry.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::{Config, ReplayOptions, Wal};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
    /// let (wal, _) = Wal::open(config)?;
    /// wal.append_batch(["ab", "cde"])?;
    /// let batch = wal.replay(ReplayOptions::all())?.next_batch()?.unwrap();
    /// assert!(!batch.is_empty());
    /// assert!(xwal::Batch::default().is_empty());
    /// # Ok(()) }
    /// ```
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Payload bytes in the batch.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::{Config, ReplayOptions, Wal};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
    /// let (wal, _) = Wal::open(config)?;
    /// wal.append_batch(["ab", "cde"])?;
    /// let batch = wal.replay(ReplayOptions::all())?.next_batch()?.unwrap();
    /// assert_eq!(batch.payload_bytes(), 5);
    /// # Ok(()) }
    /// ```
    pub fn payload_bytes(&self) -> u64 {
        self.items.iter().map(|i| i.len as u64).sum()
    }

    fn slice(&self, i: &Item) -> &[u8] {
        let start = i.start as usize;
        &self.bufs[i.buf as usize][start..start + i.len as usize]
    }

    /// Entry `index` (in replay order), borrowed.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::{Config, ReplayOptions, Wal};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
    /// let (wal, _) = Wal::open(config)?;
    /// wal.append_batch(["x", "y"])?;
    /// let batch = wal.replay(ReplayOptions::all().backward())?.next_batch()?.unwrap();
    /// assert_eq!(batch.get(0), Some((xwal::Lsn(2), &b"y"[..])));
    /// assert_eq!(batch.get(2), None);
    /// # Ok(()) }
    /// ```
    pub fn get(&self, index: usize) -> Option<(Lsn, &[u8])> {
        self.items.get(index).map(|i| (Lsn(i.lsn), self.slice(i)))
    }

    /// The entries in replay order, borrowed from the read buffers.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::{Config, ReplayOptions, Wal};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
    /// let (wal, _) = Wal::open(config)?;
    /// wal.append_batch(["ab", "cde"])?;
    /// let batch = wal.replay(ReplayOptions::all())?.next_batch()?.unwrap();
    /// let lens: Vec<(u64, usize)> = batch.iter().map(|(lsn, d)| (lsn.0, d.len())).collect();
    /// assert_eq!(lens, [(1, 2), (2, 3)]);
    /// assert_eq!(batch.iter().rev().next().map(|e| e.0), Some(xwal::Lsn(2)));
    /// # Ok(()) }
    /// ```
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (Lsn, &[u8])> + ExactSizeIterator {
        self.items.iter().map(|i| (Lsn(i.lsn), self.slice(i)))
    }

    /// The entries in replay order as [`Bytes`] that share the read buffers:
    /// owned, `'static`, and no payload is copied.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::{Config, ReplayOptions, Wal};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
    /// let (wal, _) = Wal::open(config)?;
    /// wal.append_batch(["kept", "also kept"])?;
    /// let mut replay = wal.replay(ReplayOptions::all())?;
    /// let kept: Vec<(xwal::Lsn, bytes::Bytes)> = replay.next_batch()?.unwrap().iter_bytes().collect();
    /// drop(replay); // the entries outlive the replay
    /// assert_eq!(kept[1], (xwal::Lsn(2), bytes::Bytes::from_static(b"also kept")));
    /// # Ok(()) }
    /// ```
    pub fn iter_bytes(
        &self,
    ) -> impl DoubleEndedIterator<Item = (Lsn, Bytes)> + ExactSizeIterator + '_ {
        self.items.iter().map(|i| {
            let start = i.start as usize;
            (
                Lsn(i.lsn),
                self.bufs[i.buf as usize].slice(start..start + i.len as usize),
            )
        })
    }

    /// Drops the first `n` entries.
    pub(crate) fn skip_front(&mut self, n: usize) {
        self.items.drain(..n.min(self.items.len()));
    }

    /// The first entry's LSN and the last's, in replay order.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::{Config, ReplayOptions, Wal};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
    /// let (wal, _) = Wal::open(config)?;
    /// wal.append_batch(["ab", "cde"])?;
    /// let batch = wal.replay(ReplayOptions::all())?.next_batch()?.unwrap();
    /// assert_eq!(batch.lsns(), Some((xwal::Lsn(1), xwal::Lsn(2))));
    /// # Ok(()) }
    /// ```
    pub fn lsns(&self) -> Option<(Lsn, Lsn)> {
        Some((Lsn(self.items.first()?.lsn), Lsn(self.items.last()?.lsn)))
    }
}

/// Collects the entries of one or more chunks into a [`Batch`].
pub(crate) struct BatchBuilder {
    batch: Batch,
    /// Payloads that are not inside a chunk: straddlers, prost-decoded bodies.
    extra: Vec<u8>,
    extra_items: Vec<usize>,
    lo: u64,
    hi: u64,
}

impl BatchBuilder {
    pub fn new(lo: u64, hi: u64) -> Self {
        BatchBuilder {
            batch: Batch::default(),
            extra: Vec::new(),
            extra_items: Vec::new(),
            lo,
            hi,
        }
    }

    /// Decodes the records of `chunk` through `scanner`, keeping the entries
    /// in `[lo, hi]`. On an error the entries before the bad record stay in
    /// the batch, so a caller can deliver them before the error.
    pub fn add_chunk(&mut self, scanner: &mut ChunkScanner, chunk: Chunk) -> Result<()> {
        let offset = chunk.offset();
        self.add_bytes(scanner, offset, chunk.into_bytes())
    }

    /// As [`BatchBuilder::add_chunk`] for bytes read at `offset` of the segment.
    pub fn add_bytes(
        &mut self,
        scanner: &mut ChunkScanner,
        offset: u64,
        bytes: Bytes,
    ) -> Result<()> {
        let buf = self.batch.bufs.len();
        self.batch.bufs.push(bytes.clone());
        let segment = scanner.segment();
        let mut pos = scanner.start_in(offset);
        while let Some(found) = scanner.next_record(&bytes, offset, &mut pos)? {
            self.add(&bytes, buf, &found, segment)?;
        }
        Ok(())
    }

    fn add(&mut self, chunk: &[u8], buf: usize, found: &Found<'_>, segment: u64) -> Result<()> {
        let h = &found.record.header;
        if h.kind != RecordKind::Entry || h.lsn < self.lo || h.lsn > self.hi {
            return Ok(());
        }
        let payload = found.record.payload().map_err(|e| Error::Corruption {
            segment: crate::SegmentId(segment),
            offset: found.offset,
            reason: e.describe().into(),
        });
        let payload = payload?;
        let item = match payload {
            Cow::Borrowed(p) if found.in_chunk => Item {
                lsn: h.lsn,
                buf: buf as u32,
                start: offset_in(chunk, p) as u32,
                len: p.len() as u32,
            },
            p => {
                self.extra_items.push(self.batch.items.len());
                let start = self.extra.len();
                self.extra.extend_from_slice(&p);
                Item {
                    lsn: h.lsn,
                    buf: u32::MAX,
                    start: start as u32,
                    len: p.len() as u32,
                }
            }
        };
        self.batch.items.push(item);
        Ok(())
    }

    /// The batch; newest first if `reverse`.
    pub fn finish(mut self, reverse: bool) -> Batch {
        if !self.extra_items.is_empty() {
            let buf = self.batch.bufs.len() as u32;
            for &i in &self.extra_items {
                self.batch.items[i].buf = buf;
            }
            self.batch.bufs.push(Bytes::from(self.extra));
        }
        if reverse {
            self.batch.items.reverse();
        }
        debug_assert!(self.batch.items.iter().all(|i| i.buf != u32::MAX));
        self.batch
    }
}

/// Where `inner` starts within `outer`; `inner` must be a sub-slice of it.
fn offset_in(outer: &[u8], inner: &[u8]) -> usize {
    if inner.is_empty() {
        return 0; // an empty payload may be any empty slice
    }
    let at = (inner.as_ptr() as usize).wrapping_sub(outer.as_ptr() as usize);
    assert!(at + inner.len() <= outer.len(), "payload outside its chunk");
    at
}
