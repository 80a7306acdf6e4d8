//! Chunks a [`ReadEngine`](super::ReadEngine) hands out: owned, block-aligned
//! buffers that go back to their pool when the last holder lets go, directly
//! or as the owner behind a [`bytes::Bytes`].
//!
//! Owning the chunk (instead of lending it to a callback) is what lets replay
//! hand out entries that borrow from, or share, the read buffer: the reader
//! keeps reading ahead into other buffers while the consumer holds this one.

use super::AlignedBuf;
use parking_lot::Mutex;
use std::sync::Arc;

/// Buffers kept for reuse. Holders that keep chunks make the pool allocate
/// more; at most `keep` come back, so memory stays bounded by what is held.
#[derive(Debug)]
pub struct BufPool {
    free: Mutex<Vec<AlignedBuf>>,
    chunk_bytes: usize,
    keep: usize,
}

impl BufPool {
    /// A pool of `chunk_bytes` buffers (whole blocks) that keeps at most `keep`.
    ///
    /// # Examples
    ///
    /// ```
    /// use xwal::internals::io::BufPool;
    ///
    /// let pool = BufPool::new(8192, 2);
    /// let buf = pool.take();
    /// assert_eq!(buf.capacity(), 8192);
    /// ```
    pub fn new(chunk_bytes: usize, keep: usize) -> Arc<Self> {
        assert!(chunk_bytes > 0 && chunk_bytes.is_multiple_of(crate::format::BLOCK_SIZE));
        Arc::new(BufPool {
            free: Mutex::new(Vec::with_capacity(keep)),
            chunk_bytes,
            keep,
        })
    }

    /// A free buffer, or a new one.
    pub fn take(&self) -> AlignedBuf {
        self.free
            .lock()
            .pop()
            .unwrap_or_else(|| AlignedBuf::new(self.chunk_bytes))
    }

    /// Returns a buffer; dropped if the pool holds `keep` already.
    pub fn give(&self, buf: AlignedBuf) {
        debug_assert_eq!(buf.capacity(), self.chunk_bytes);
        let mut free = self.free.lock();
        if free.len() < self.keep {
            free.push(buf);
        }
    }

    /// Size of each buffer.
    pub fn chunk_bytes(&self) -> usize {
        self.chunk_bytes
    }
}

/// `len` bytes read at file offset `offset`, in a pooled buffer.
///
/// # Examples
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::os::fd::AsRawFd;
/// use xwal::internals::io::sync::SyncReadEngine;
/// use xwal::internals::io::ReadEngine;
///
/// let dir = tempfile::tempdir_in(".")?;
/// let path = xwal::internals::dir::prepare_segment(dir.path(), 1, 64 << 10, true)?;
/// let file = xwal::internals::dir::open_for_read(&path)?;
/// let mut engine = SyncReadEngine::new(16 << 10);
/// engine.begin(file.as_raw_fd(), 16 << 10, 64 << 10)?;
/// let chunk = engine.next_chunk()?.expect("a chunk");
/// assert_eq!((chunk.offset(), chunk.len()), (16 << 10, 16 << 10));
/// // Shared without a copy: the buffer returns to the pool when the last Bytes goes.
/// let bytes = chunk.into_bytes();
/// assert_eq!(bytes.len(), 16 << 10);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Chunk {
    offset: u64,
    len: usize,
    /// Some until dropped.
    buf: Option<AlignedBuf>,
    pool: Arc<BufPool>,
}

impl Chunk {
    pub(crate) fn new(offset: u64, len: usize, buf: AlignedBuf, pool: Arc<BufPool>) -> Self {
        assert!(len <= buf.capacity());
        Chunk {
            offset,
            len,
            buf: Some(buf),
            pool,
        }
    }

    /// File offset of the first byte.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Bytes held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if it holds nothing.
    #[cfg_attr(not(feature = "internals"), allow(dead_code))]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        match &self.buf {
            Some(b) => &b.as_slice()[..self.len],
            None => &[],
        }
    }

    /// The chunk as shared bytes, without a copy; the buffer goes back to
    /// its pool when the last clone or slice is dropped.
    pub fn into_bytes(self) -> bytes::Bytes {
        bytes::Bytes::from_owner(self)
    }
}

impl AsRef<[u8]> for Chunk {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl Drop for Chunk {
    fn drop(&mut self) {
        if let Some(b) = self.buf.take() {
            self.pool.give(b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_keeps_at_most_keep() {
        let pool = BufPool::new(4096, 1);
        let (a, b) = (pool.take(), pool.take());
        pool.give(a);
        pool.give(b);
        assert_eq!(pool.free.lock().len(), 1);
    }

    #[test]
    fn bytes_give_the_buffer_back_when_the_last_slice_goes() {
        let pool = BufPool::new(4096, 4);
        let chunk = Chunk::new(0, 100, pool.take(), pool.clone());
        let bytes = chunk.into_bytes();
        let part = bytes.slice(10..20);
        drop(bytes);
        assert_eq!(pool.free.lock().len(), 0, "a slice still holds it");
        drop(part);
        assert_eq!(pool.free.lock().len(), 1);
    }
}
