//! Block-aligned heap buffers for O_DIRECT.

use crate::format::BLOCK_SIZE;
use std::alloc::{Layout, alloc_zeroed, dealloc};
use std::ptr::NonNull;

/// A zero-initialised buffer whose address and capacity are multiples of 4096.
///
/// # Examples
///
/// ```
/// use xwal::format::BLOCK_SIZE;
/// use xwal::internals::io::AlignedBuf;
///
/// let buf = AlignedBuf::new(5000);
/// assert_eq!(buf.capacity(), 8192);
/// assert_eq!(buf.as_ptr() as usize % BLOCK_SIZE, 0);
/// assert!(buf.as_slice().iter().all(|&b| b == 0));
/// ```
pub struct AlignedBuf {
    ptr: NonNull<u8>,
    cap: usize,
}

// SAFETY: AlignedBuf owns its allocation exclusively, like a Vec<u8>.
unsafe impl Send for AlignedBuf {}
// SAFETY: shared references only read.
unsafe impl Sync for AlignedBuf {}

impl AlignedBuf {
    /// Allocates at least `cap` bytes (rounded up to a block), zeroed.
    ///
    /// # Examples
    ///
    /// ```
    /// use xwal::internals::io::AlignedBuf;
    ///
    /// assert_eq!(AlignedBuf::new(0).capacity(), 4096);
    /// assert_eq!(AlignedBuf::new(4096).capacity(), 4096);
    /// assert_eq!(AlignedBuf::new(4097).capacity(), 8192);
    /// ```
    pub fn new(cap: usize) -> Self {
        let cap = cap.max(BLOCK_SIZE).div_ceil(BLOCK_SIZE) * BLOCK_SIZE;
        let layout = Layout::from_size_align(cap, BLOCK_SIZE).expect("aligned layout");
        // SAFETY: layout has non-zero size.
        let raw = unsafe { alloc_zeroed(layout) };
        let ptr = NonNull::new(raw).unwrap_or_else(|| std::alloc::handle_alloc_error(layout));
        AlignedBuf { ptr, cap }
    }

    /// Capacity in bytes (a multiple of 4096).
    ///
    /// # Examples
    ///
    /// ```
    /// use xwal::internals::io::AlignedBuf;
    ///
    /// let buf = AlignedBuf::new(10_000);
    /// assert_eq!(buf.capacity(), 12_288);
    /// assert_eq!(buf.capacity(), buf.as_slice().len());
    /// ```
    pub fn capacity(&self) -> usize {
        self.cap
    }

    /// The whole buffer.
    ///
    /// # Examples
    ///
    /// ```
    /// use xwal::internals::io::AlignedBuf;
    ///
    /// let buf = AlignedBuf::new(4096);
    /// assert_eq!(buf.as_slice().len(), 4096);
    /// assert!(buf.as_slice().iter().all(|&b| b == 0));
    /// ```
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: ptr is valid for cap bytes, initialised (zeroed at allocation).
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.cap) }
    }

    /// The whole buffer, mutably.
    ///
    /// # Examples
    ///
    /// ```
    /// use xwal::internals::io::AlignedBuf;
    ///
    /// let mut buf = AlignedBuf::new(4096);
    /// buf.as_mut_slice()[..5].copy_from_slice(b"hello");
    /// assert_eq!(&buf.as_slice()[..5], b"hello");
    /// ```
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as above, and &mut self gives exclusive access.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.cap) }
    }

    /// Raw pointer for I/O submission.
    ///
    /// # Examples
    ///
    /// ```
    /// use xwal::internals::io::AlignedBuf;
    ///
    /// let mut buf = AlignedBuf::new(4096);
    /// let ptr = buf.as_mut_ptr();
    /// assert_eq!(ptr as usize % 4096, 0);
    /// // SAFETY: the buffer holds 4096 bytes and nothing else borrows it.
    /// unsafe { ptr.add(10).write(42) };
    /// assert_eq!(buf.as_slice()[10], 42);
    /// ```
    pub fn as_mut_ptr(&mut self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// Raw pointer for I/O submission.
    ///
    /// # Examples
    ///
    /// ```
    /// use xwal::internals::io::AlignedBuf;
    ///
    /// let buf = AlignedBuf::new(4096);
    /// assert_eq!(buf.as_ptr(), buf.as_slice().as_ptr());
    /// assert_eq!(buf.as_ptr() as usize % 4096, 0);
    /// ```
    pub fn as_ptr(&self) -> *const u8 {
        self.ptr.as_ptr()
    }
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        let layout = Layout::from_size_align(self.cap, BLOCK_SIZE).expect("aligned layout");
        // SAFETY: allocated with this layout in new().
        unsafe { dealloc(self.ptr.as_ptr(), layout) }
    }
}

impl std::fmt::Debug for AlignedBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AlignedBuf({} bytes)", self.cap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_and_zeroed() {
        let b = AlignedBuf::new(5000);
        assert_eq!(b.capacity(), 8192);
        assert_eq!(b.as_ptr() as usize % BLOCK_SIZE, 0);
        assert!(b.as_slice().iter().all(|&x| x == 0));
    }
}
