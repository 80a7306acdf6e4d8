//! Below the API (cargo feature `internals`): the segment files, the I/O
//! engines and the fuzz entry points, for the `xwal` command's crate (`cli/`)
//! and the fuzz targets (`fuzz/`). An embedder never needs these; they follow
//! the engine's internals and are not covered by semver.
//!
//! # Examples
//!
//! ```
//! # fn main() -> xwal::Result<()> {
//! use xwal::internals::dir::{list, prepare_segment};
//!
//! let dir = tempfile::tempdir_in(".").unwrap();
//! prepare_segment(dir.path(), 1, 64 << 10, false)?;
//! assert_eq!(list(dir.path())?.0.len(), 1);
//! # Ok(()) }
//! ```

/// The WAL directory: the lock, listing, preparing, opening and removing segment files.
pub mod dir {
    pub use crate::dir::{
        DirLock, ListedSegment, create_dir, list, open_for_read, open_for_write, prepare_segment,
        random_salt, read_anchor_index, read_header_block, remove_file, rename_durable, sync_dir,
        write_durable,
    };
    pub use crate::format::{
        FileKind, LOCK_FILE, anchor_index_path, classify, segment_file_name, segment_path,
    };
}

/// The I/O seam: aligned buffers and the write and read engines.
pub mod io {
    pub use crate::io::{
        AlignedBuf, BufPool, Chunk, DirWatch, ReadEngine, Wakeup, WriteEngine, WriteOp,
    };

    /// The storage seam of every file operation outside the data path.
    pub mod fs {
        pub use crate::io::fs::*;
    }

    /// Plain syscalls: `pwrite` + `fdatasync`, `pread`.
    pub mod sync {
        pub use crate::io::sync::{SyncReadEngine, SyncWriteEngine};
    }

    /// io_uring: linked write + fsync, batched reads.
    pub mod uring {
        pub use crate::io::uring::{UringReadEngine, UringWriteEngine};
    }
}

/// Entry points of the cargo-fuzz targets and the corpus regression test.
pub mod fuzzing {
    pub use crate::fuzzing::{
        anchor_index, evidence_scan, record_decoder, recovery, segment_header,
    };
}
