//! Reassembles records from file chunks that do not respect record boundaries.

/// A window over consecutive file bytes, `buf[pos..]` unread.
pub(crate) struct RecordCursor {
    buf: Vec<u8>,
    base: u64,
    pos: usize,
}

impl RecordCursor {
    /// A cursor whose first byte will be file offset `start`.
    pub fn new(start: u64) -> Self {
        RecordCursor {
            buf: Vec::new(),
            base: start,
            pos: 0,
        }
    }

    /// File offset of the first unread byte.
    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// Appends the chunk read at `off`, which must follow the bytes held.
    pub fn push(&mut self, off: u64, chunk: &[u8]) {
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.base += self.pos as u64;
            self.pos = 0;
        }
        assert_eq!(
            self.base + self.buf.len() as u64,
            off,
            "chunks must be contiguous"
        );
        self.buf.extend_from_slice(chunk);
    }

    /// Unread bytes.
    pub fn available(&self) -> &[u8] {
        &self.buf[self.pos..]
    }

    /// Skips a run of zero bytes, staying `align`-aligned (a power of two).
    /// Returns true if anything was skipped. Scanners use it to cross zero fill fast.
    pub fn skip_zeros(&mut self, align: usize) -> bool {
        debug_assert!(align.is_power_of_two());
        let avail = self.available();
        let skip = avail.iter().position(|&b| b != 0).unwrap_or(avail.len()) & !(align - 1);
        self.advance(skip);
        skip > 0
    }

    /// Consumes `n` bytes.
    pub fn advance(&mut self, n: usize) {
        assert!(self.pos + n <= self.buf.len());
        self.pos += n;
    }
}
