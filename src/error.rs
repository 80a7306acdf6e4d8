//! The one error type of the crate. Each variant is something a caller can act on.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

/// Result alias used throughout xwal.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in xwal.
///
/// # Examples
///
/// ```
/// # fn main() -> xwal::Result<()> {
/// use xwal::{Config, Error, Wal};
///
/// let dir = tempfile::tempdir_in(".").unwrap();
/// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
/// let (_wal, _) = Wal::open(config.clone())?;
/// match Wal::open(config) {
///     Err(Error::Locked { dir: locked, .. }) => assert_eq!(locked, dir.path()),
///     other => panic!("expected Locked, got {other:?}"),
/// }
/// // Every message says what to change.
/// let err = Config::new("").validate().unwrap_err();
/// assert!(err.to_string().starts_with("invalid config: dir is empty"));
/// // An error is `Clone`: one failure can answer many callers.
/// assert_eq!(err.clone().to_string(), err.to_string());
/// # Ok(()) }
/// ```
///
/// A call's own arguments are checked too:
///
/// ```
/// # fn main() -> xwal::Result<()> {
/// use xwal::{Config, Error, ReplayOptions, ReplayRange, Wal};
///
/// let dir = tempfile::tempdir_in(".").unwrap();
/// let (wal, _) = Wal::open(Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10))?;
/// wal.append(b"entry")?;
/// let backwards = ReplayOptions::all().range(ReplayRange::Lsns { from: xwal::Lsn(2), to: xwal::Lsn(1) });
/// match wal.replay(backwards) {
///     Err(Error::InvalidArgument(m)) => assert!(m.contains("to must be >= from"), "{m}"),
///     Err(other) => panic!("expected InvalidArgument, got {other}"),
///     Ok(_) => panic!("an empty range was accepted"),
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is invalid; the message says what to change.
    #[error("invalid config: {0}")]
    Config(String),

    /// An argument of a call is refused: an empty replay range (its end
    /// before its start), or a consume of a range that does not start at the
    /// first segment. The message says what to change; nothing was read or
    /// deleted.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// Another process (or another `Wal` in this process) holds the directory lock.
    #[error("WAL directory {} is locked by another opener (lock file {})", dir.display(), lock_file.display())]
    Locked {
        /// The WAL directory.
        dir: PathBuf,
        /// The lock file that could not be locked.
        lock_file: PathBuf,
    },

    /// The kernel refused io_uring (sysctl `kernel.io_uring_disabled`, seccomp, or a missing op).
    #[error(
        "io_uring is unavailable: {cause}; choose IoEngine::Sync or IoEngine::Auto to use pwrite/fdatasync"
    )]
    IoUringUnavailable {
        /// What the kernel said.
        cause: String,
    },

    /// An entry or batch is larger than the configured limit. Refused at append time.
    #[error(
        "entry of {size} bytes exceeds the limit of {limit} bytes (Config::max_entry_size / segment size)"
    )]
    EntryTooLarge {
        /// Size of the refused entry or batch, in bytes.
        size: u64,
        /// The limit that applies.
        limit: u64,
    },

    /// A batch has more entries than allowed, or is empty.
    #[error("batch of {count} entries is invalid: {reason}")]
    InvalidBatch {
        /// Number of entries in the batch.
        count: usize,
        /// Why it is refused.
        reason: &'static str,
    },

    /// Data on disk failed verification below the durable point. Never silently skipped.
    #[error("corruption in segment {segment} at byte offset {offset}: {reason}")]
    Corruption {
        /// Segment number.
        segment: crate::SegmentId,
        /// Byte offset inside the segment file.
        offset: u64,
        /// What was wrong.
        reason: String,
    },

    /// The disk is full. Nothing that was not durable has been acknowledged.
    /// The WAL keeps working once space is freed.
    #[error(
        "no space left on device while {context}; free space and retry (nothing unacknowledged was lost)"
    )]
    NoSpace {
        /// What xwal was doing.
        context: String,
    },

    /// The directory grew beyond `Config::max_dir_bytes`; remove replayed segments to continue.
    #[error(
        "WAL directory size {size} bytes would exceed the limit of {limit} bytes; purge replayed segments (Wal::purge_through) or raise max_dir_bytes"
    )]
    DirectoryFull {
        /// Bytes the directory would occupy.
        size: u64,
        /// Configured limit.
        limit: u64,
    },

    /// A write or sync failed earlier; the WAL accepts nothing more. Reopen to recover.
    #[error(
        "WAL is fenced after a failed {op}: {cause}; reopen to recover everything acknowledged"
    )]
    Fenced {
        /// The operation that failed (write, fdatasync, ...).
        op: &'static str,
        /// The original error.
        cause: String,
    },

    /// The WAL has handed out its last LSN or segment number
    /// ([`crate::format::MAX_LSN`], [`crate::format::MAX_SEGMENT`]). Nothing was
    /// written; the WAL stays open for reading.
    #[error("the WAL has no {what} left (the limit is {limit}); start a new WAL")]
    Exhausted {
        /// "LSNs" or "segment numbers".
        what: &'static str,
        /// The highest value xwal hands out.
        limit: u64,
    },

    /// The directory holds a restore from the archive that did not finish
    /// (its marker file is still there): it may lack segments. Rerun the
    /// restore into it; it picks up what is already there.
    #[error("{} holds an interrupted restore ({} is present): rerun the restore to complete it", dir.display(), marker.display())]
    RestoreIncomplete {
        /// The WAL directory.
        dir: std::path::PathBuf,
        /// The marker file.
        marker: std::path::PathBuf,
    },

    /// A repair of the directory did not complete ([`Wal::repair`](crate::Wal::repair)
    /// was interrupted): every open refuses it until the repair is run again,
    /// which picks up where it stopped.
    #[error("{} holds an interrupted repair ({} is present): run the repair again to complete it", dir.display(), marker.display())]
    RepairIncomplete {
        /// The WAL directory.
        dir: std::path::PathBuf,
        /// The marker file.
        marker: std::path::PathBuf,
    },

    /// The directory holds an import from a Go xwal directory that did not
    /// finish (its marker file is still there): it may lack entries. Run the
    /// import again into it; it clears what the interrupted one wrote.
    #[error("{} holds an interrupted import ({} is present): run the import again to complete it", dir.display(), marker.display())]
    ImportIncomplete {
        /// The WAL directory.
        dir: std::path::PathBuf,
        /// The marker file.
        marker: std::path::PathBuf,
    },

    /// The WAL was closed.
    #[error("WAL is closed")]
    Closed,

    /// The WAL was opened read-only (`Wal::open_read_only`): only replay and inspection work.
    #[error("WAL is open read-only; open it with Wal::open to write")]
    ReadOnly,

    /// A live tail needs entries whose segments were removed (`purge_through`,
    /// a consuming replay, or another process's retention): it ends here
    /// rather than skip them. Start a new tail at `first_present` to go on.
    #[error(
        "tail needs LSN {needed}, but the segments holding LSNs {needed}..{first_present} were removed (purged or consumed); the oldest entry present is LSN {first_present}"
    )]
    TailBehindRemoval {
        /// The LSN the tail was about to deliver.
        needed: crate::Lsn,
        /// The first LSN still present.
        first_present: crate::Lsn,
    },

    /// A checkpoint or segment that was asked for does not exist.
    #[error("{what} {number} not found")]
    NotFound {
        /// "checkpoint" or "segment".
        what: &'static str,
        /// The number asked for.
        number: u64,
    },

    /// A file in the WAL directory is a symlink or not a regular file, and is refused.
    #[error("refusing unsafe file {}: {reason}", path.display())]
    UnsafeFile {
        /// The path.
        path: PathBuf,
        /// Why it was refused.
        reason: &'static str,
    },

    /// The replay consumer dropped its receiver before the replay finished.
    #[error("replay receiver was dropped before the replay finished")]
    ReceiverDropped,

    /// The S3 archive tier (cargo feature `s3`) failed. `kind` says what a
    /// caller can do about it; the message names the bucket and key, never a
    /// secret. Only produced when the `s3` feature is on.
    #[error("S3 archive: {message}")]
    Archive {
        /// What went wrong, for callers that branch on it.
        kind: ArchiveErrorKind,
        /// What xwal was doing, what to change, and the server's answer (secrets redacted).
        message: String,
    },

    /// Any other I/O error, with what xwal was doing.
    #[error("{context}: {source}")]
    Io {
        /// What xwal was doing.
        context: String,
        /// The OS error, shared so that [`Error`] is `Clone` (one error can
        /// answer many waiters); `source.kind()` reads it through the `Arc`.
        #[source]
        source: Arc<io::Error>,
    },
}

/// What kind of S3 archive failure an [`Error::Archive`] is (feature `s3`).
///
/// # Examples
///
/// ```
/// use xwal::{ArchiveErrorKind, Error};
///
/// // What a caller might do about an error.
/// fn advice(err: &Error) -> &'static str {
///     match err {
///         Error::Archive { kind: ArchiveErrorKind::Unreachable, .. } => "retry later",
///         Error::Archive { kind: ArchiveErrorKind::AccessDenied, .. } => "fix the credentials",
///         Error::Archive { .. } => "look at the archive",
///         _ => "not an archive error",
///     }
/// }
/// assert_eq!(advice(&Error::Closed), "not an archive error");
///
/// // With the `s3` feature: a damaged manifest is refused as BadManifest.
/// #[cfg(feature = "s3")]
/// {
///     let err = xwal::archive::Manifest::decode(b"not a manifest").unwrap_err();
///     assert!(matches!(err, Error::Archive { kind: ArchiveErrorKind::BadManifest, .. }));
///     assert_eq!(advice(&err), "look at the archive");
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ArchiveErrorKind {
    /// The server could not be reached or did not answer in time; retried with backoff.
    Unreachable,
    /// The server refused the credentials or the request (HTTP 401/403): fix the
    /// credentials or the bucket policy.
    AccessDenied,
    /// The bucket does not exist: create it or fix `S3Config::bucket`.
    NoSuchBucket,
    /// An object the archive needs (the manifest, or a segment it lists) is missing.
    NotFound,
    /// The archive holds different data under the same name (another WAL writes to
    /// this prefix, or an object was replaced): nothing is overwritten or deleted.
    Conflict,
    /// The manifest cannot be parsed.
    BadManifest,
    /// Anything else the server or the client reported.
    Other,
}

impl Error {
    /// Wraps an I/O error with context, mapping ENOSPC to [`Error::NoSpace`].
    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Self {
        let context = context.into();
        if source.raw_os_error() == Some(libc::ENOSPC) {
            Error::NoSpace { context }
        } else {
            Error::Io {
                context,
                source: Arc::new(source),
            }
        }
    }
}

/// An [`Error`] as an [`io::Error`] (for `?` in code that returns
/// `io::Result`, such as a storage trait): the kind says what a caller can do
/// about it, and the `Error` itself stays reachable as the source
/// (`get_ref().downcast_ref::<Error>()`).
///
/// # Examples
///
/// ```
/// use std::io;
///
/// let e: io::Error = xwal::Error::ReadOnly.into();
/// assert_eq!(e.kind(), io::ErrorKind::ReadOnlyFilesystem);
/// let inner = e.get_ref().and_then(|i| i.downcast_ref::<xwal::Error>());
/// assert!(matches!(inner, Some(xwal::Error::ReadOnly)));
/// ```
impl From<Error> for io::Error {
    fn from(e: Error) -> io::Error {
        let kind = match &e {
            Error::Io { source, .. } => source.kind(),
            Error::Config(_)
            | Error::InvalidArgument(_)
            | Error::EntryTooLarge { .. }
            | Error::InvalidBatch { .. } => io::ErrorKind::InvalidInput,
            Error::Corruption { .. } | Error::UnsafeFile { .. } => io::ErrorKind::InvalidData,
            Error::NoSpace { .. } | Error::DirectoryFull { .. } => io::ErrorKind::StorageFull,
            Error::Locked { .. } => io::ErrorKind::ResourceBusy,
            Error::ReadOnly => io::ErrorKind::ReadOnlyFilesystem,
            Error::NotFound { .. } | Error::TailBehindRemoval { .. } => io::ErrorKind::NotFound,
            Error::IoUringUnavailable { .. } => io::ErrorKind::Unsupported,
            Error::Closed | Error::ReceiverDropped => io::ErrorKind::BrokenPipe,
            _ => io::ErrorKind::Other,
        };
        io::Error::new(kind, e)
    }
}
