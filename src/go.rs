//! Go xwal's API for code being ported: [`GoWal`] answers Go's method names
//! with Go's shapes (`wal.replay(&tx, false)`, `wal.write(entries)`), so a
//! port compiles without the fully qualified `WalBackend::replay(&wal, ..)`
//! that [`Wal`]'s own, differently shaped `replay` would need. Everything else
//! of [`Wal`] is reachable through `Deref`.
//!
//! ```
//! # fn main() -> xwal::Result<()> {
//! use xwal::go::GoWal;
//! use xwal::Config;
//!
//! let dir = tempfile::tempdir_in(".").unwrap();
//! let (wal, _) = GoWal::open(Config::new(dir.path()).segment_size(1 << 20))?;
//! wal.write(vec![b"a".to_vec(), b"b".to_vec()])?;
//! let (tx, rx) = xwal::channel::unbounded();
//! wal.replay(&tx, false)?;
//! assert_eq!(rx.try_iter().count(), 2);
//! assert_eq!(wal.segments().len(), 1); // a `Wal` method, through Deref
//! # Ok(()) }
//! ```

pub use crate::backend::WalBackend;
use crate::config::{BackendType, Config};
use crate::error::Result;
use crate::recovery::RecoveryReport;
use crate::replay::Entry;
use crate::wal::Wal;
use crate::{CheckpointId, Lsn, SegmentId};
use crossbeam_channel::Sender;
use std::ops::RangeInclusive;

/// A [`Wal`] whose methods have Go xwal's names and shapes; see the module.
///
/// # Examples
///
/// ```
/// # fn main() -> xwal::Result<()> {
/// let dir = tempfile::tempdir_in(".").unwrap();
/// let (wal, _) = xwal::go::GoWal::open(xwal::Config::new(dir.path()).segment_size(1 << 20))?;
/// assert_eq!(wal.inc_last_index()?, 1);
/// let _plain: &xwal::Wal = wal.as_wal();
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct GoWal(Wal);

/// Each method is [`WalBackend`]'s, which documents it: an inherent method
/// (so Go's call shapes resolve before `Wal`'s) and the trait's, from one list.
macro_rules! go_methods {
    ($($name:ident($($arg:ident: $ty:ty),*) -> $ret:ty;)*) => {
        impl GoWal {
            $(
                #[doc = concat!("Go's `", stringify!($name), "`; see [`WalBackend::", stringify!($name), "`].")]
                ///
                /// ```
                /// # fn main() -> xwal::Result<()> {
                /// let dir = tempfile::tempdir_in(".").unwrap();
                /// let (wal, _) = xwal::go::GoWal::open(xwal::Config::new(dir.path()).segment_size(1 << 20))?;
                /// wal.write(vec![b"x".to_vec()])?;
                /// # Ok(()) }
                /// ```
                pub fn $name(&self, $($arg: $ty),*) -> $ret {
                    WalBackend::$name(&self.0, $($arg),*)
                }
            )*
        }

        impl WalBackend for GoWal {
            fn open(config: Config) -> Result<(Self, RecoveryReport)> {
                GoWal::open(config)
            }
            $(
                fn $name(&self, $($arg: $ty),*) -> $ret {
                    WalBackend::$name(&self.0, $($arg),*)
                }
            )*
        }
    };
}

go_methods! {
    write(entries: Vec<Vec<u8>>) -> Result<RangeInclusive<Lsn>>;
    replay(tx: &Sender<Entry>, backwards: bool) -> Result<()>;
    replay_from_range(tx: &Sender<Entry>, backwards: bool, start: SegmentId, end: SegmentId) -> Result<()>;
    create_checkpoint() -> Result<CheckpointId>;
    replay_from_checkpoint(tx: &Sender<Entry>, checkpoint: CheckpointId, backwards: bool) -> Result<()>;
    replay_to_checkpoint(tx: &Sender<Entry>, checkpoint: CheckpointId, backwards: bool) -> Result<()>;
    close() -> Result<()>;
    last_index() -> Lsn;
    inc_last_index() -> Result<Lsn>;
    backend_type() -> BackendType;
}

impl GoWal {
    /// Go's `Open`: opens (and recovers) the WAL.
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let (wal, report) = xwal::go::GoWal::open(xwal::Config::new(dir.path()))?;
    /// assert_eq!((report.last_lsn, wal.last_index()), (xwal::Lsn(0), xwal::Lsn(0)));
    /// # Ok(()) }
    /// ```
    pub fn open(config: Config) -> Result<(GoWal, RecoveryReport)> {
        Wal::open(config).map(|(w, r)| (GoWal(w), r))
    }

    /// The [`Wal`] underneath.
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let (wal, _) = xwal::go::GoWal::open(xwal::Config::new(dir.path()))?;
    /// let _: xwal::Wal = wal.into_wal();
    /// # Ok(()) }
    /// ```
    pub fn into_wal(self) -> Wal {
        self.0
    }

    /// The [`Wal`] underneath, borrowed.
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let (wal, _) = xwal::go::GoWal::open(xwal::Config::new(dir.path()))?;
    /// assert_eq!(wal.as_wal().last_index(), 0);
    /// # Ok(()) }
    /// ```
    pub fn as_wal(&self) -> &Wal {
        &self.0
    }
}

impl std::ops::Deref for GoWal {
    type Target = Wal;
    fn deref(&self) -> &Wal {
        &self.0
    }
}
