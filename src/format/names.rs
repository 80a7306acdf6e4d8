//! File names in a WAL directory: part of the on-disk format, so that backup
//! tools and readers of their own find the same files xwal does.

use std::path::{Path, PathBuf};

/// Name of the lock file inside the WAL directory.
pub const LOCK_FILE: &str = "LOCK";
pub(crate) const PREFIX: &str = "wal-";
pub(crate) const SEGMENT_SUFFIX: &str = ".seg";
pub(crate) const CHECKPOINT_SUFFIX: &str = ".checkpoint.seg";
pub(crate) const PREPARING_SUFFIX: &str = ".seg.preparing";

/// Path of segment `segment`'s anchor index (`wal-N.anchors`, see
/// [`crate::format::decode_anchor_index`]): a replay hint beside a sealed segment.
///
/// # Examples
///
/// ```
/// use std::path::Path;
/// use xwal::format::anchor_index_path;
///
/// let p = anchor_index_path(Path::new("/w"), 7);
/// assert_eq!(p, Path::new("/w/wal-00000000000000000007.anchors"));
/// ```
pub fn anchor_index_path(dir: &Path, segment: u64) -> PathBuf {
    dir.join(format!("{PREFIX}{segment:020}.anchors"))
}

/// File name of a segment.
///
/// # Examples
///
/// ```
/// use xwal::format::segment_file_name;
///
/// assert_eq!(segment_file_name(7, false), "wal-00000000000000000007.seg");
/// assert_eq!(segment_file_name(7, true), "wal-00000000000000000007.checkpoint.seg");
/// ```
pub fn segment_file_name(segment: u64, checkpoint: bool) -> String {
    let suffix = if checkpoint {
        CHECKPOINT_SUFFIX
    } else {
        SEGMENT_SUFFIX
    };
    format!("{PREFIX}{segment:020}{suffix}")
}

/// Path of a segment inside `dir`.
///
/// # Examples
///
/// ```
/// use std::path::Path;
/// use xwal::format::segment_path;
///
/// let path = segment_path(Path::new("/var/lib/app/wal"), 3, false);
/// assert_eq!(path, Path::new("/var/lib/app/wal/wal-00000000000000000003.seg"));
/// ```
pub fn segment_path(dir: &Path, segment: u64, checkpoint: bool) -> PathBuf {
    dir.join(segment_file_name(segment, checkpoint))
}

/// What a directory entry name means to xwal.
///
/// # Examples
///
/// ```
/// use xwal::format::{classify, segment_file_name, FileKind};
///
/// let name = segment_file_name(12, true);
/// assert_eq!(classify(&name), FileKind::Segment { segment: 12, checkpoint: true });
/// assert_eq!(classify("wal-00000000000000000013.seg.preparing"), FileKind::Preparing);
/// assert_eq!(classify("LOCK"), FileKind::Foreign);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A segment, and whether it is marked as a checkpoint.
    Segment {
        /// Segment number.
        segment: u64,
        /// Marked as a checkpoint.
        checkpoint: bool,
    },
    /// A segment being prepared when the process stopped; safe to delete.
    Preparing,
    /// Not ours: left alone.
    Foreign,
}

/// Classifies a file name.
///
/// # Examples
///
/// ```
/// use xwal::format::{classify, FileKind};
///
/// let plain = classify("wal-00000000000000000042.seg");
/// assert_eq!(plain, FileKind::Segment { segment: 42, checkpoint: false });
/// // Names must match exactly: 20 digits, a known suffix.
/// assert_eq!(classify("wal-42.seg"), FileKind::Foreign);
/// assert_eq!(classify("wal-00000000000000000042.seg.bak"), FileKind::Foreign);
/// ```
pub fn classify(name: &str) -> FileKind {
    let Some(rest) = name.strip_prefix(PREFIX) else {
        return FileKind::Foreign;
    };
    let number = |s: &str| -> Option<u64> {
        if s.len() == 20 && s.bytes().all(|b| b.is_ascii_digit()) {
            s.parse().ok()
        } else {
            None
        }
    };
    if let Some(n) = rest.strip_suffix(CHECKPOINT_SUFFIX).and_then(number) {
        return FileKind::Segment {
            segment: n,
            checkpoint: true,
        };
    }
    if let Some(n) = rest.strip_suffix(SEGMENT_SUFFIX).and_then(number) {
        return FileKind::Segment {
            segment: n,
            checkpoint: false,
        };
    }
    if rest
        .strip_suffix(PREPARING_SUFFIX)
        .and_then(number)
        .is_some()
    {
        return FileKind::Preparing;
    }
    FileKind::Foreign
}

/// Present while a restore from the archive fills the directory; removed
/// (durably) when it completes. `open` and `open_read_only` refuse a directory
/// that has it.
pub const RESTORE_MARKER: &str = "restore.incomplete";

/// Present while `Wal::repair` runs: it records the repair's plan (where the
/// log is cut, the LSNs reserved, where the cut files go), so that an
/// interrupted repair is refused by every open and completed by the next.
pub const REPAIR_MARKER: &str = "repair.incomplete";

/// Present while `xwal import-go` fills a new directory; removed (durably)
/// when the import completes. `open` refuses a directory that has it (a cut
/// import is never taken for a shorter log); the import run again clears
/// what the interrupted one wrote and starts over.
pub const IMPORT_MARKER: &str = "import.incomplete";

/// The S3 archive tier's record of what lives only in S3 (feature `s3`).
pub const ARCHIVE_STATE_FILE: &str = "archive.state";
