//! Configuration, with validation whose messages say what to change.

use crate::error::{Error, Result};
pub use crate::io::{IoEngine, MAX_COMMITS_IN_FLIGHT};

/// Settings of the S3 archive tier (re-exported as `xwal::archive`); without
/// the `s3` feature, a settings type that cannot be built.
#[cfg_attr(not(feature = "s3"), path = "config/without_s3.rs")]
pub(crate) mod s3;
use crate::format::{BLOCK_SIZE, MAX_ENTRY_SIZE_LIMIT, encoded_record_len, entry_body_len};
use std::path::PathBuf;
use std::time::Duration;

/// When an acknowledged append is durable. See the README's durability table.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use xwal::{Config, SyncPolicy};
///
/// assert_eq!(SyncPolicy::default(), SyncPolicy::Always);
/// let every_10ms = SyncPolicy::Interval(Duration::from_millis(10));
/// assert!(!every_10ms.acks_are_durable());
/// assert!(Config::new("/var/lib/app/wal").sync(every_10ms).validate().is_ok());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SyncPolicy {
    /// Group commit: every batch is written then `fdatasync`ed (linked in io_uring)
    /// before any of its appends is acknowledged. The default.
    #[default]
    Always,
    /// Segments are opened with `O_DSYNC`: each batch write is durable when it completes.
    Dsync,
    /// Appends are acknowledged when written (O_DIRECT, in the device); an `fdatasync`
    /// runs at least this often. A power cut can lose up to one interval of acknowledged appends.
    Interval(Duration),
    /// Appends are acknowledged when written; `fdatasync` only on flush, checkpoint,
    /// rotation and close. A power cut can lose any acknowledged append since then.
    Never,
}

impl SyncPolicy {
    /// True if an acknowledgement implies durability.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use xwal::SyncPolicy;
    ///
    /// assert!(SyncPolicy::Always.acks_are_durable());
    /// assert!(SyncPolicy::Dsync.acks_are_durable());
    /// assert!(!SyncPolicy::Interval(Duration::from_millis(5)).acks_are_durable());
    /// assert!(!SyncPolicy::Never.acks_are_durable());
    /// ```
    pub fn acks_are_durable(&self) -> bool {
        matches!(self, SyncPolicy::Always | SyncPolicy::Dsync)
    }
}

/// Where the WAL lives. `AwsS3` adds the S3 archive tier to the local engine.
///
/// # Examples
///
/// ```
/// use xwal::{BackendType, Config};
///
/// assert_eq!(BackendType::default(), BackendType::LocalFilesystem);
/// assert_eq!(Config::new("/var/lib/app/wal").backend, BackendType::LocalFilesystem);
/// assert_eq!(BackendType::AwsS3.to_string(), "aws_s3");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BackendType {
    /// Local directory only.
    #[default]
    LocalFilesystem,
    /// Local directory plus the S3 archive tier.
    AwsS3,
}

impl BackendType {
    /// The Go xwal name: `local_filesystem` or `aws_s3`.
    ///
    /// # Examples
    ///
    /// ```
    /// use xwal::BackendType;
    ///
    /// assert_eq!(BackendType::LocalFilesystem.as_str(), "local_filesystem");
    /// assert_eq!(BackendType::AwsS3.as_str(), "aws_s3");
    /// ```
    pub fn as_str(&self) -> &'static str {
        match self {
            BackendType::LocalFilesystem => "local_filesystem",
            BackendType::AwsS3 => "aws_s3",
        }
    }
}

impl std::fmt::Display for BackendType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Every knob of the WAL. Build with [`Config::new`] and the chainable setters.
///
/// ```
/// use xwal::{Config, SyncPolicy};
/// let cfg = Config::new("/var/lib/app/wal").segment_size(256 << 20).sync(SyncPolicy::Always);
/// assert!(cfg.validate().is_ok());
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// The WAL directory. Created if missing. There is no default: `/tmp` is not a place for a WAL.
    pub dir: PathBuf,
    /// Bytes per segment file, preallocated. Multiple of 4096. Default 128 MiB.
    pub segment_size: u64,
    /// Largest entry payload accepted by `append`, at most 1 GiB. Default
    /// 64 MiB, or the largest entry one segment holds if that is less: see
    /// [`Config::entry_limit`] (what a WAL runs with once open).
    pub max_entry_size: u64,
    /// Most bytes of encoded records in one group commit. Default 4 MiB.
    pub max_batch_bytes: usize,
    /// Most entries in one group commit. Default 65,536.
    pub max_batch_entries: usize,
    /// How long the writer waits for more appends before committing a batch. Default 0.
    pub commit_delay: Duration,
    /// Capacity of the queue of requests other than appends (flush, checkpoint,
    /// rotate, close); senders wait when it is full. Appends are staged in the
    /// writer's next write buffer and wait while it holds a full batch. Default 4096.
    pub queue_depth: usize,
    /// Group commits in flight at once under [`SyncPolicy::Always`], 1 to 4. Default 1:
    /// commits run strictly one after another. With 2 or more, the next batch's write and
    /// fdatasync are submitted as soon as the previous batch's write has completed, while
    /// its fdatasync still runs; acks still go out in LSN order. This pays off where the
    /// disk, not the CPU, is the limit (on the 2-core test machine it did not: see
    /// ARCHITECTURE.md). The plain-syscall engine always runs 1.
    pub commits_in_flight: usize,
    /// Durability of acknowledgements.
    pub sync: SyncPolicy,
    /// I/O engine.
    pub io_engine: IoEngine,
    /// Zero-fill new segments ahead of need (faster syncs later). If false, only fallocate.
    pub zero_fill: bool,
    /// Refuse appends (with [`Error::DirectoryFull`]) rather than grow beyond this many bytes.
    /// Nothing is ever evicted automatically. Default: no limit.
    pub max_dir_bytes: Option<u64>,
    /// Entries buffered in a replay channel. Default 1024.
    pub replay_channel_capacity: usize,
    /// Bytes per replay read. Default 1 MiB.
    pub replay_chunk_size: usize,
    /// Replay reads in flight ahead of the consumer. Default 8 (measured: 64 KiB
    /// replay went from 0.77-0.96x of the raw sequential read at 4 to 1.0-1.15x).
    pub replay_read_ahead: usize,
    /// Backend type reported by `backend_type()`.
    pub backend: BackendType,
    /// S3 archive tier (feature `s3`): sealed segments are uploaded in the
    /// background, and replay covers those no longer on local disk. Set with
    /// `Config::s3`, which also sets `backend` to [`BackendType::AwsS3`].
    /// Without the feature it is always `None`.
    pub s3: Option<s3::S3Config>,
    /// `max_entry_size` was set with its setter (else its default follows the
    /// segment size: see [`Config::entry_limit`]).
    max_entry_size_set: bool,
    /// Set only by the Go import on its own open: the import's marker is
    /// then expected, not refused.
    pub(crate) importing: bool,
}

/// The default [`Config::max_entry_size`], 64 MiB.
const DEFAULT_MAX_ENTRY_SIZE: u64 = 64 << 20;

/// The largest payload a segment of `segment_size` bytes holds next to its header.
fn largest_entry_in(segment_size: u64) -> u64 {
    let room = segment_size.saturating_sub(BLOCK_SIZE as u64);
    let fits = |m: u64| encoded_record_len(entry_body_len(u64::MAX, m as usize)) as u64 <= room;
    let mut m = room.saturating_sub(64);
    while m > 0 && !fits(m) {
        m -= 1;
    }
    m.max(1)
}

impl Config {
    /// A config for `dir` with the defaults.
    ///
    /// # Examples
    ///
    /// ```
    /// use xwal::{Config, IoEngine, SyncPolicy};
    ///
    /// let config = Config::new("/var/lib/app/wal");
    /// assert_eq!(config.dir, std::path::Path::new("/var/lib/app/wal"));
    /// assert_eq!(config.segment_size, 128 << 20);
    /// assert_eq!(config.sync, SyncPolicy::Always);
    /// assert_eq!(config.io_engine, IoEngine::Uring);
    /// assert!(config.validate().is_ok());
    /// ```
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Config {
            dir: dir.into(),
            segment_size: 128 << 20,
            max_entry_size: DEFAULT_MAX_ENTRY_SIZE,
            max_entry_size_set: false,
            importing: false,
            max_batch_bytes: 4 << 20,
            max_batch_entries: 65_536,
            commit_delay: Duration::ZERO,
            queue_depth: 4096,
            commits_in_flight: 1,
            sync: SyncPolicy::Always,
            io_engine: IoEngine::Uring,
            zero_fill: true,
            max_dir_bytes: None,
            replay_channel_capacity: 1024,
            replay_chunk_size: 1 << 20,
            replay_read_ahead: 8,
            backend: BackendType::LocalFilesystem,
            s3: None,
        }
    }

    /// Sets [`Config::segment_size`].
    ///
    /// # Examples
    ///
    /// ```
    /// use xwal::{Config, Error};
    ///
    /// let config = Config::new("/var/lib/app/wal").segment_size(256 << 20);
    /// assert_eq!(config.segment_size, 256 << 20);
    /// // Not a multiple of 4096.
    /// let odd = Config::new("/var/lib/app/wal").segment_size(5000);
    /// assert!(matches!(odd.validate(), Err(Error::Config(m)) if m.contains("multiple of 4096")));
    /// ```
    ///
    /// Unless the entry limit was set ([`Config::max_entry_size`]), it
    /// follows the segment size, in whichever order the two are set (see
    /// [`Config::entry_limit`]): a Go user's 1 MB segments need one setting,
    /// as in Go.
    ///
    /// ```
    /// use xwal::Config;
    ///
    /// let small = Config::new("/var/lib/app/wal").segment_size(1 << 20);
    /// assert!(small.validate().is_ok());
    /// assert!(small.entry_limit() < 1 << 20 && small.entry_limit() > 1000 << 10);
    /// assert_eq!(Config::new("/w").segment_size(1 << 30).entry_limit(), 64 << 20);
    /// ```
    pub fn segment_size(mut self, bytes: u64) -> Self {
        self.segment_size = bytes;
        self
    }

    /// The largest entry this configuration accepts: `max_entry_size` if it
    /// was set with its setter or given another value than the default;
    /// otherwise the default 64 MiB, or the largest entry one segment holds
    /// if that is less. The same whatever the order of the setters.
    ///
    /// # Examples
    ///
    /// ```
    /// use xwal::Config;
    ///
    /// let a = Config::new("/w").segment_size(1 << 20).max_entry_size(4096);
    /// let b = Config::new("/w").max_entry_size(4096).segment_size(1 << 20);
    /// assert_eq!((a.entry_limit(), b.entry_limit()), (4096, 4096));
    /// let mut c = Config::new("/w");
    /// c.segment_size = 1 << 20; // a field set directly follows the same rule
    /// assert!(c.entry_limit() < 1 << 20);
    /// ```
    pub fn entry_limit(&self) -> u64 {
        match (self.max_entry_size_set, self.max_entry_size) {
            (false, DEFAULT_MAX_ENTRY_SIZE) => {
                DEFAULT_MAX_ENTRY_SIZE.min(largest_entry_in(self.segment_size))
            }
            (_, set) => set,
        }
    }

    /// The configuration as the engine runs it: the entry limit resolved.
    pub(crate) fn resolved(mut self) -> Config {
        self.max_entry_size = self.entry_limit();
        self.max_entry_size_set = true;
        self
    }
    /// Sets [`Config::max_entry_size`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::{Config, Error, Wal};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(1024);
    /// let (wal, _) = Wal::open(config)?;
    /// wal.append(&[0; 1024])?;
    /// let refused = wal.append(&[0; 1025]);
    /// assert!(matches!(refused, Err(Error::EntryTooLarge { size: 1025, limit: 1024 })));
    /// # Ok(()) }
    /// ```
    pub fn max_entry_size(mut self, bytes: u64) -> Self {
        self.max_entry_size = bytes;
        self.max_entry_size_set = true;
        self
    }
    /// Sets [`Config::max_batch_bytes`].
    ///
    /// # Examples
    ///
    /// ```
    /// use xwal::{Config, Error};
    ///
    /// let config = Config::new("/var/lib/app/wal").max_batch_bytes(1 << 20);
    /// assert_eq!(config.max_batch_bytes, 1 << 20);
    /// // Less than one block is refused.
    /// let tiny = Config::new("/var/lib/app/wal").max_batch_bytes(1000);
    /// assert!(matches!(tiny.validate(), Err(Error::Config(m)) if m.contains("max_batch_bytes")));
    /// ```
    pub fn max_batch_bytes(mut self, bytes: usize) -> Self {
        self.max_batch_bytes = bytes;
        self
    }
    /// Sets [`Config::max_batch_entries`].
    ///
    /// # Examples
    ///
    /// ```
    /// use xwal::{Config, Error};
    ///
    /// let config = Config::new("/var/lib/app/wal").max_batch_entries(128);
    /// assert_eq!(config.max_batch_entries, 128);
    /// let zero = Config::new("/var/lib/app/wal").max_batch_entries(0);
    /// assert!(matches!(zero.validate(), Err(Error::Config(m)) if m.contains("batch_entries")));
    /// ```
    pub fn max_batch_entries(mut self, n: usize) -> Self {
        self.max_batch_entries = n;
        self
    }
    /// Sets [`Config::commit_delay`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use xwal::{Config, Error};
    ///
    /// let config = Config::new("/var/lib/app/wal").commit_delay(Duration::from_micros(50));
    /// assert!(config.validate().is_ok());
    /// // Longer than a second: SyncPolicy::Interval is the tool for that.
    /// let slow = Config::new("/var/lib/app/wal").commit_delay(Duration::from_secs(2));
    /// assert!(matches!(slow.validate(), Err(Error::Config(m)) if m.contains("Interval")));
    /// ```
    pub fn commit_delay(mut self, d: Duration) -> Self {
        self.commit_delay = d;
        self
    }
    /// Sets [`Config::queue_depth`].
    ///
    /// # Examples
    ///
    /// ```
    /// use xwal::{Config, Error};
    ///
    /// let config = Config::new("/var/lib/app/wal").queue_depth(64);
    /// assert_eq!(config.queue_depth, 64);
    /// let zero = Config::new("/var/lib/app/wal").queue_depth(0);
    /// assert!(matches!(zero.validate(), Err(Error::Config(m)) if m.contains("queue_depth")));
    /// ```
    pub fn queue_depth(mut self, n: usize) -> Self {
        self.queue_depth = n;
        self
    }
    /// Sets [`Config::commits_in_flight`].
    ///
    /// # Examples
    ///
    /// ```
    /// use xwal::{Config, Error};
    ///
    /// // Two group commits overlap: the next write goes out during the last fdatasync.
    /// let piped = Config::new("/var/lib/app/wal").commits_in_flight(2);
    /// assert_eq!(piped.commits_in_flight, 2);
    /// assert!(piped.validate().is_ok());
    /// let five = Config::new("/var/lib/app/wal").commits_in_flight(5);
    /// assert!(matches!(five.validate(), Err(Error::Config(m)) if m.contains("commits_in_flight")));
    /// ```
    pub fn commits_in_flight(mut self, n: usize) -> Self {
        self.commits_in_flight = n;
        self
    }
    /// Sets [`Config::sync`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use xwal::{Config, Error, SyncPolicy};
    ///
    /// let config = Config::new("/var/lib/app/wal").sync(SyncPolicy::Dsync);
    /// assert_eq!(config.sync, SyncPolicy::Dsync);
    /// let zero = Config::new("/var/lib/app/wal").sync(SyncPolicy::Interval(Duration::ZERO));
    /// assert!(matches!(zero.validate(), Err(Error::Config(m)) if m.contains("Interval")));
    /// ```
    pub fn sync(mut self, p: SyncPolicy) -> Self {
        self.sync = p;
        self
    }
    /// Sets [`Config::io_engine`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::{Config, IoEngine, Wal};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let config = Config::new(dir.path())
    ///     .segment_size(1 << 20)
    ///     .max_entry_size(64 << 10)
    ///     .io_engine(IoEngine::Sync);
    /// let (wal, _) = Wal::open(config)?;
    /// assert_eq!(wal.io_engine_name(), "sync");
    /// # Ok(()) }
    /// ```
    pub fn io_engine(mut self, e: IoEngine) -> Self {
        self.io_engine = e;
        self
    }
    /// Sets [`Config::zero_fill`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::{Config, ReplayOptions, Wal};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// // Only fallocate new segments: a faster open, slower first syncs.
    /// let config = Config::new(dir.path())
    ///     .segment_size(1 << 20)
    ///     .max_entry_size(64 << 10)
    ///     .zero_fill(false);
    /// assert!(!config.zero_fill);
    /// let (wal, _) = Wal::open(config)?;
    /// let lsn = wal.append(b"entry")?;
    /// let replayed: Vec<_> = wal.replay(ReplayOptions::all())?.collect::<xwal::Result<Vec<_>>>()?;
    /// assert_eq!((replayed[0].lsn, &replayed[0].data[..]), (lsn, &b"entry"[..]));
    /// # Ok(()) }
    /// ```
    pub fn zero_fill(mut self, on: bool) -> Self {
        self.zero_fill = on;
        self
    }
    /// Sets [`Config::max_dir_bytes`].
    ///
    /// # Examples
    ///
    /// ```
    /// use xwal::{Config, Error};
    ///
    /// let config = Config::new("/var/lib/app/wal").segment_size(256 << 20);
    /// assert!(config.clone().max_dir_bytes(Some(1 << 30)).validate().is_ok());
    /// // The limit must leave room for at least two segments.
    /// let cramped = config.max_dir_bytes(Some(300 << 20));
    /// assert!(matches!(cramped.validate(), Err(Error::Config(m)) if m.contains("two segments")));
    /// ```
    pub fn max_dir_bytes(mut self, limit: Option<u64>) -> Self {
        self.max_dir_bytes = limit;
        self
    }
    /// Sets [`Config::replay_channel_capacity`].
    ///
    /// # Examples
    ///
    /// ```
    /// use xwal::{Config, Error};
    ///
    /// let config = Config::new("/var/lib/app/wal").replay_channel_capacity(64);
    /// assert_eq!(config.replay_channel_capacity, 64);
    /// let zero = Config::new("/var/lib/app/wal").replay_channel_capacity(0);
    /// assert!(matches!(zero.validate(), Err(Error::Config(m)) if m.contains("replay_channel")));
    /// ```
    pub fn replay_channel_capacity(mut self, n: usize) -> Self {
        self.replay_channel_capacity = n;
        self
    }
    /// Sets [`Config::replay_chunk_size`].
    ///
    /// # Examples
    ///
    /// ```
    /// use xwal::{Config, Error};
    ///
    /// let config = Config::new("/var/lib/app/wal").replay_chunk_size(4 << 20);
    /// assert!(config.validate().is_ok());
    /// let odd = Config::new("/var/lib/app/wal").replay_chunk_size(1000);
    /// assert!(matches!(odd.validate(), Err(Error::Config(m)) if m.contains("replay_chunk_size")));
    /// ```
    pub fn replay_chunk_size(mut self, bytes: usize) -> Self {
        self.replay_chunk_size = bytes;
        self
    }
    /// Sets [`Config::replay_read_ahead`].
    ///
    /// # Examples
    ///
    /// ```
    /// use xwal::{Config, Error};
    ///
    /// let config = Config::new("/var/lib/app/wal").replay_read_ahead(8);
    /// assert!(config.validate().is_ok());
    /// let many = Config::new("/var/lib/app/wal").replay_read_ahead(65);
    /// assert!(matches!(many.validate(), Err(Error::Config(m)) if m.contains("between 1 and 64")));
    /// ```
    pub fn replay_read_ahead(mut self, n: usize) -> Self {
        self.replay_read_ahead = n;
        self
    }
    /// Sets [`Config::backend`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::{BackendType, Config, Wal};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
    /// assert_eq!(config.backend, BackendType::LocalFilesystem);
    /// let (wal, _) = Wal::open(config.backend(BackendType::AwsS3))?;
    /// // Only the label changes: the S3 tier itself comes with `Config::s3`.
    /// assert_eq!(wal.backend_type(), BackendType::AwsS3);
    /// # Ok(()) }
    /// ```
    pub fn backend(mut self, b: BackendType) -> Self {
        self.backend = b;
        self
    }

    /// Largest encoded record this config allows, header and padding included.
    pub(crate) fn max_record_len(&self) -> u64 {
        encoded_record_len(entry_body_len(u64::MAX, self.max_entry_size as usize)) as u64
    }

    /// Checks every value; the error says what to change.
    ///
    /// # Examples
    ///
    /// ```
    /// use xwal::{Config, Error};
    ///
    /// assert!(Config::new("/var/lib/app/wal").validate().is_ok());
    /// let err = Config::new("/var/lib/app/wal")
    ///     .segment_size(1 << 20)
    ///     .max_entry_size(64 << 20)
    ///     .validate()
    ///     .unwrap_err();
    /// // A 64 MiB entry limit does not fit a 1 MiB segment; the message says so.
    /// assert!(matches!(&err, Error::Config(m) if m.contains("raise segment_size")));
    /// ```
    pub fn validate(&self) -> Result<()> {
        self.clone().resolved().check()
    }

    /// [`Config::validate`] of a resolved configuration.
    fn check(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Config(m));
        if self.dir.as_os_str().is_empty() {
            return bad("dir is empty: set Config::new(\"/path/to/wal\")".into());
        }
        let block = BLOCK_SIZE as u64;
        if !self.segment_size.is_multiple_of(block) || self.segment_size < 16 * block {
            return bad(format!(
                "segment_size {} must be a multiple of {block} and at least {} (64 KiB)",
                self.segment_size,
                16 * block
            ));
        }
        if self.segment_size > 64 << 30 {
            return bad(format!(
                "segment_size {} exceeds 64 GiB; use a smaller segment",
                self.segment_size
            ));
        }
        if self.max_entry_size == 0 || self.max_entry_size > MAX_ENTRY_SIZE_LIMIT {
            return bad(format!(
                "max_entry_size {} must be between 1 and {MAX_ENTRY_SIZE_LIMIT} (1 GiB)",
                self.max_entry_size
            ));
        }
        let need = self.max_record_len() + block;
        if need > self.segment_size {
            return bad(format!(
                "segment_size {} cannot hold one entry of max_entry_size {} plus the header: raise segment_size to at least {} or lower max_entry_size",
                self.segment_size,
                self.max_entry_size,
                crate::format::align_up(need, block)
            ));
        }
        if self.max_batch_bytes < BLOCK_SIZE || self.max_batch_bytes > 1 << 30 {
            return bad(format!(
                "max_batch_bytes {} must be between 4096 and 1 GiB",
                self.max_batch_bytes
            ));
        }
        if self.max_batch_entries == 0 || self.max_batch_entries > 1 << 20 {
            return bad(format!(
                "max_batch_entries {} must be between 1 and 1048576",
                self.max_batch_entries
            ));
        }
        if self.commit_delay > Duration::from_secs(1) {
            return bad(format!(
                "commit_delay {:?} exceeds 1 s; use SyncPolicy::Interval for deferred sync",
                self.commit_delay
            ));
        }
        if self.queue_depth == 0 || self.queue_depth > 1 << 20 {
            return bad(format!(
                "queue_depth {} must be between 1 and 1048576",
                self.queue_depth
            ));
        }
        if !(1..=MAX_COMMITS_IN_FLIGHT).contains(&self.commits_in_flight) {
            return bad(format!(
                "commits_in_flight {} must be between 1 and {MAX_COMMITS_IN_FLIGHT}",
                self.commits_in_flight
            ));
        }
        if let SyncPolicy::Interval(d) = self.sync
            && (d.is_zero() || d > Duration::from_secs(3600))
        {
            return bad(format!(
                "SyncPolicy::Interval({d:?}) must be between 1 ns and 1 hour; use Always for per-write sync"
            ));
        }
        if let Some(limit) = self.max_dir_bytes
            && limit < 2 * self.segment_size
        {
            return bad(format!(
                "max_dir_bytes {limit} must be at least two segments ({} bytes)",
                2 * self.segment_size
            ));
        }
        if self.replay_channel_capacity == 0 || self.replay_channel_capacity > 1 << 20 {
            return bad(format!(
                "replay_channel_capacity {} must be between 1 and 1048576",
                self.replay_channel_capacity
            ));
        }
        if self.replay_chunk_size < BLOCK_SIZE
            || !self.replay_chunk_size.is_multiple_of(BLOCK_SIZE)
            || self.replay_chunk_size > 64 << 20
        {
            return bad(format!(
                "replay_chunk_size {} must be a multiple of 4096 up to 64 MiB",
                self.replay_chunk_size
            ));
        }
        // S3 archive tier: its own settings, and one segment must fit a single PUT.
        if let Some(s3) = &self.s3 {
            s3.validate()?;
            // Without the `s3` feature the limit is u64::MAX and this never holds.
            #[allow(clippy::absurd_extreme_comparisons)]
            let too_big = self.segment_size > s3::MAX_SEGMENT_SIZE;
            if too_big {
                return bad(format!(
                    "segment_size {} exceeds {} (5 GiB), the largest object one S3 PUT can archive; use a smaller segment",
                    self.segment_size,
                    s3::MAX_SEGMENT_SIZE
                ));
            }
        }
        if self.replay_read_ahead == 0 || self.replay_read_ahead > 64 {
            return bad(format!(
                "replay_read_ahead {} must be between 1 and 64",
                self.replay_read_ahead
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_entry_limit_does_not_depend_on_the_setters_order() {
        let sizes = [
            (1u64 << 20, 4096u64),
            (1 << 20, DEFAULT_MAX_ENTRY_SIZE),
            (1 << 30, 1 << 20),
        ];
        for (segment, entry) in sizes {
            let a = Config::new("/w")
                .segment_size(segment)
                .max_entry_size(entry);
            let b = Config::new("/w")
                .max_entry_size(entry)
                .segment_size(segment);
            assert_eq!(a.entry_limit(), b.entry_limit(), "{segment} {entry}");
            assert_eq!(
                a.validate().is_ok(),
                b.validate().is_ok(),
                "{segment} {entry}"
            );
        }
    }

    #[test]
    fn a_segment_size_set_as_a_field_shrinks_the_default_entry_limit() {
        let mut by_field = Config::new("/w");
        by_field.segment_size = 1 << 20;
        let by_setter = Config::new("/w").segment_size(1 << 20);
        assert_eq!(by_field.entry_limit(), by_setter.entry_limit());
        assert!(by_field.validate().is_ok());
    }

    #[test]
    fn defaults_are_valid() {
        Config::new("/x").validate().unwrap();
    }

    /// Every public setting has a chainable setter: a builder built from a
    /// non-default value of each field must equal the struct written by hand.
    #[test]
    fn builder_covers_every_setting() {
        let built = Config::new("/b")
            .segment_size(8 << 20)
            .max_entry_size(1 << 20)
            .max_batch_bytes(1 << 20)
            .max_batch_entries(100)
            .commit_delay(Duration::from_micros(50))
            .queue_depth(64)
            .commits_in_flight(3)
            .sync(SyncPolicy::Dsync)
            .io_engine(IoEngine::Sync)
            .zero_fill(false)
            .max_dir_bytes(Some(1 << 30))
            .replay_channel_capacity(7)
            .replay_chunk_size(64 << 10)
            .replay_read_ahead(2)
            .backend(BackendType::AwsS3);
        let mut by_hand = Config::new("/b");
        by_hand.segment_size = 8 << 20;
        by_hand.max_entry_size = 1 << 20;
        by_hand.max_batch_bytes = 1 << 20;
        by_hand.max_batch_entries = 100;
        by_hand.commit_delay = Duration::from_micros(50);
        by_hand.queue_depth = 64;
        by_hand.commits_in_flight = 3;
        by_hand.sync = SyncPolicy::Dsync;
        by_hand.io_engine = IoEngine::Sync;
        by_hand.zero_fill = false;
        by_hand.max_dir_bytes = Some(1 << 30);
        by_hand.replay_channel_capacity = 7;
        by_hand.replay_chunk_size = 64 << 10;
        by_hand.replay_read_ahead = 2;
        by_hand.backend = BackendType::AwsS3;
        // Resolved: the setter also records that the entry limit was chosen.
        let (built, by_hand) = (built.resolved(), by_hand.resolved());
        assert_eq!(format!("{built:?}"), format!("{by_hand:?}"));
        assert_ne!(format!("{built:?}"), format!("{:?}", Config::new("/b")));
    }

    #[test]
    fn messages_say_what_to_change() {
        let e = Config::new("/x")
            .segment_size(1 << 20)
            .max_entry_size(64 << 20)
            .validate()
            .unwrap_err()
            .to_string();
        assert!(e.contains("raise segment_size"), "{e}");
        let e = Config::new("/x")
            .segment_size(5000)
            .validate()
            .unwrap_err()
            .to_string();
        assert!(e.contains("multiple of 4096"), "{e}");
        let e = Config::new("").validate().unwrap_err().to_string();
        assert!(e.contains("dir is empty"), "{e}");
        let e = Config::new("/x")
            .sync(SyncPolicy::Interval(Duration::ZERO))
            .validate()
            .unwrap_err()
            .to_string();
        assert!(e.contains("Interval"), "{e}");
        let e = Config::new("/x")
            .max_entry_size(2 << 30)
            .validate()
            .unwrap_err()
            .to_string();
        assert!(e.contains("max_entry_size"), "{e}");
    }
}
