//! The archive tier's part of the [`Wal`] API: a read-only WAL over the
//! archive alone, the archiver's status, and waiting for it.

use super::{Archive, ArchiveStatus, S3Config};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::io::{IoEngine, Seams};
use crate::shared::Shared;
use crate::wal::Wal;
use std::sync::Arc;

impl Wal {
    /// Opens the archive described by `s3` as a read-only WAL, on any machine:
    /// no local directory, no lock. Replay (every mode) fetches the segments and
    /// verifies each against the manifest. Covers what the manifest listed when
    /// it opened (its newest run of consecutive segments). Appends and
    /// checkpoints fail with [`Error::ReadOnly`]. A wrong credential, a missing
    /// bucket or an empty prefix fails here with [`Error::Archive`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::archive::S3Config;
    /// use xwal::{ReplayOptions, Wal};
    ///
    /// // Needs a reachable S3 bucket that an xwal archiver has written to.
    /// let s3 = S3Config::new("my-bucket").prefix("prod/orders-wal").region("eu-west-1");
    /// let wal = Wal::open_archive(s3)?;
    /// let mut replay = wal.replay(ReplayOptions::all())?;
    /// let entries = replay.by_ref().count();
    /// let summary = replay.finish()?;
    /// assert_eq!(summary.entries, entries as u64);
    /// # Ok(()) }
    /// ```
    pub fn open_archive(s3: S3Config) -> Result<crate::ReadOnlyWal> {
        let scratch = s3.fetch_dir.clone().unwrap_or_else(std::env::temp_dir);
        let archive = Archive::open_remote(s3.clone())?;
        let segments = archive.visible(Vec::new(), true)?;
        let last_lsn = archive.last_lsn(&segments);
        let config = Config::new(scratch)
            .io_engine(IoEngine::Auto)
            .s3(s3)
            .resolved();
        config.validate()?;
        let uring = crate::io::reads_use_uring(IoEngine::Auto);
        let mut shared = Shared::new(
            config,
            Seams::default(),
            Default::default(),
            last_lsn,
            uring,
        );
        shared.read_only = true;
        shared.tier = Some(Arc::new(archive));
        tracing::info!(last_lsn, "opened archive");
        Ok(crate::ReadOnlyWal::new(Wal::assemble(
            Arc::new(shared),
            None,
            None,
        )))
    }

    /// What the archiver has uploaded and has left to do; `None` without an S3 config.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::{Config, Wal};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
    /// let (wal, _) = Wal::open(config)?;
    /// // Without `Config::s3` there is no archive tier to report on.
    /// assert!(wal.archive_status().is_none());
    /// # Ok(()) }
    /// ```
    pub fn archive_status(&self) -> Option<ArchiveStatus> {
        super::of(self.shared()).map(|a| a.status_of(self.shared()))
    }

    /// Like [`Wal::archive_status`], but reads the manifest from S3 first, so
    /// the answer is current even on a WAL opened with [`Wal::open_read_only`]
    /// (where no archiver runs and the backlog is counted here). `None` without
    /// an S3 config; an [`Error::Archive`] if S3 cannot be read.
    ///
    /// ```no_run
    /// use xwal::archive::S3Config;
    /// let cfg = xwal::Config::new("/var/lib/app/wal")
    ///     .s3(S3Config::new("orders-wal").prefix("prod/orders"));
    /// let (wal, _report) = xwal::Wal::open_read_only(cfg)?;
    /// let status = wal.load_archive_status().expect("S3 is configured")?;
    /// println!("{} segments archived, {} waiting", status.uploaded_segments, status.pending);
    /// # Ok::<(), xwal::Error>(())
    /// ```
    pub fn load_archive_status(&self) -> Option<Result<ArchiveStatus>> {
        super::of(self.shared()).map(|a| a.status_now(self.shared()))
    }

    /// Waits until every segment sealed at the time of the call is uploaded and
    /// listed in the manifest (seal the active one first with
    /// [`Wal::create_checkpoint`] to include it). Fails with [`Error::Archive`]
    /// naming the last failure if that takes longer than `timeout`.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use std::time::Duration;
    /// use xwal::{Config, Error, Wal};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
    /// let (wal, _) = Wal::open(config)?;
    /// // Without `Config::s3` there is nothing to wait for.
    /// let waited = wal.wait_archived(Duration::from_secs(1));
    /// assert!(matches!(waited, Err(Error::Config(m)) if m.contains("Config::s3")));
    /// # Ok(()) }
    /// ```
    pub fn wait_archived(&self, timeout: std::time::Duration) -> Result<ArchiveStatus> {
        match super::of(self.shared()) {
            Some(a) => a.wait_archived(self.shared(), timeout),
            None => Err(Error::Config(
                "wait_archived needs the S3 archive tier: set Config::s3".into(),
            )),
        }
    }
}
