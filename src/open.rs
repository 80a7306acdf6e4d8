//! Opening a WAL: the one place that puts the layers together (recovery, the
//! shared state, the writer thread, the tier beyond the local directory).
//! It sits above the archive tier so that no core module names it.

use crate::config::Config;
use crate::dir::{self, DirLock};
use crate::error::{Error, Result};
use crate::io::Seams;
use crate::read_only::ReadOnlyWal;
use crate::recovery::{self, Damage, Recovered, RecoveryReport};
use crate::shared::{SegmentTier, Shared};
use crate::wal::{Wal, spawn_writer};
use crate::writer::WriterStart;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// How often [`Wal::open_read_only`] retakes its view when a writer beside it
/// renames segments under the listing.
const READ_ONLY_OPEN_ATTEMPTS: u32 = 8;

/// Bytes per read while recovery scans the tail.
const RECOVERY_CHUNK_BYTES: usize = 4 << 20;
/// Recovery reads in flight.
const RECOVERY_READ_DEPTH: usize = 2;

impl Wal {
    /// Opens (creating if needed) and recovers the WAL in `config.dir`.
    ///
    /// Takes an exclusive lock on the directory ([`Error::Locked`] if held),
    /// scans only the tail segment, cuts a torn or zero tail, and continues the
    /// LSN sequence. Corruption below the durable point is an error, never cut.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::{Config, Error, Wal};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
    /// let (wal, report) = Wal::open(config.clone())?;
    /// assert_eq!(report.last_lsn, 0); // a new WAL
    /// wal.append(b"first")?;
    /// // A second opener, even in this process, finds the directory locked.
    /// assert!(matches!(Wal::open(config.clone()), Err(Error::Locked { .. })));
    /// wal.close()?;
    ///
    /// // Reopening recovers and continues the LSN sequence.
    /// let (wal, report) = Wal::open(config)?;
    /// assert_eq!(report.last_lsn, 1);
    /// assert_eq!(wal.append(b"second")?, 2);
    /// # Ok(()) }
    /// ```
    pub fn open(config: Config) -> Result<(Wal, RecoveryReport)> {
        open_writable(config, Seams::default())
    }

    /// [`Wal::open`] with test seams injected (feature `test-seams`, for this
    /// repository's tests only): faults, a simulated disk, negative controls.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::seams::{FaultInjector, Seams};
    /// use xwal::{Config, Wal};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
    /// let faults = FaultInjector::new();
    /// let (wal, _) = Wal::open_with(config, Seams { faults: Some(faults), ..Seams::default() })?;
    /// assert_eq!(wal.append(b"x")?, 1);
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "test-seams")]
    pub fn open_with(config: Config, seams: Seams) -> Result<(Wal, RecoveryReport)> {
        open_writable(config, seams)
    }

    /// Opens the WAL for reading only: no lock is taken and nothing on disk is
    /// changed, so it is safe on a directory another process has open for
    /// writing. Recovery runs as usual but its repairs are only reported;
    /// replay covers what was valid when it opened. Appends and checkpoints
    /// fail with [`Error::ReadOnly`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::{Config, Error, ReplayOptions, Wal};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
    /// let (writer, _) = Wal::open(config.clone())?;
    /// writer.append(b"entry")?;
    /// writer.close()?;
    ///
    /// let (reader, _) = Wal::open_read_only(config.clone())?;
    /// let entries: Vec<_> = reader.replay(ReplayOptions::all())?.collect::<xwal::Result<Vec<_>>>()?;
    /// assert_eq!(entries[0].data, b"entry");
    /// // It takes no lock: a writer can open the directory meanwhile.
    /// let (writer, _) = Wal::open(config)?;
    /// assert_eq!(writer.append(b"more")?, 2);
    /// # Ok(()) }
    /// ```
    pub fn open_read_only(config: Config) -> Result<(ReadOnlyWal, RecoveryReport)> {
        let config = config.resolved();
        config.validate()?;
        if !crate::io::fs::is_dir(&config.dir) {
            return Err(Error::Io {
                context: format!("opening WAL directory {}", config.dir.display()),
                source: std::io::Error::from(std::io::ErrorKind::NotFound).into(),
            });
        }
        let uring = crate::io::reads_use_uring(config.io_engine);
        let rec = recover_read_only(&config, uring)?;
        let mut shared = Shared::new(config, Seams::default(), rec.table, rec.last_lsn, uring);
        shared.read_only = true;
        shared.damage = rec.report.damage.as_ref().map(Damage::to_error);
        shared.view_closed =
            Some(crate::io::Wakeup::new().map_err(|e| Error::io("creating an eventfd", e))?);
        // Replay covers what the tier holds (no archiver runs, nothing is deleted).
        shared.tier = tier_for(&shared)?;
        let view = Wal::assemble(Arc::new(shared), None, None);
        Ok((ReadOnlyWal::new(view), rec.report))
    }
}

fn open_writable(config: Config, seams: Seams) -> Result<(Wal, RecoveryReport)> {
    let config = config.resolved();
    config.validate()?;
    let _span = tracing::info_span!("open", dir = %config.dir.display()).entered();
    let fs_guard = seams
        .install_file_system(&config.dir)
        .map_err(|e| Error::io("installing the test's file system", e))?;
    dir::create_dir(&config.dir)?;
    let lock = DirLock::acquire(&config.dir)?;
    let mut engine = crate::io::write_engine(config.io_engine, config.commits_in_flight, &seams)?;
    let engine_name = engine.name();
    let uring = engine_name == "io_uring";
    let mut reader = crate::io::read_engine(uring, RECOVERY_CHUNK_BYTES, RECOVERY_READ_DEPTH)?;
    let rec = recovery::recover(
        &config,
        &seams,
        reader.as_mut(),
        Some(engine.as_mut()),
        None,
    )?;
    drop(reader);
    let mut shared = Shared::new(config, seams, rec.table, rec.last_lsn, uring);
    shared.fs_guard = fs_guard;
    shared.tier = tier_for(&shared)?;
    // Sealed segments shrunk to their data count as such against max_dir_bytes.
    for &(segment, len) in &rec.short_lens {
        shared.set_sealed_len(segment, len);
    }
    let shared = Arc::new(shared);
    let mut start = WriterStart {
        resume: rec.resume,
        next_segment: rec.next_segment,
        next_prepared: rec.next_prepared,
        last_lsn: rec.last_lsn,
    };
    // What was handed to the tier is sealed for good.
    let floor = shared.tier.as_ref().and_then(|t| t.sealed_floor());
    apply_sealed_floor(&mut start, floor, &shared)?;
    let writer = spawn_writer(&shared, engine, start)?;
    if let Some(t) = &shared.tier {
        t.clone().start(&shared)?;
    }
    tracing::info!(last_lsn = rec.last_lsn, engine = engine_name, "opened");
    let wal = Wal::assemble(shared, Some(writer), Some(lock));
    Ok((wal, rec.report))
}

/// Recovery for a view beside a writer, which retakes the view when the
/// writer renames files under it.
fn recover_read_only(config: &Config, uring: bool) -> Result<Recovered> {
    let mut reader = crate::io::read_engine(uring, RECOVERY_CHUNK_BYTES, RECOVERY_READ_DEPTH)?;
    // A writer beside this view may rename a segment (prepared -> final,
    // active -> checkpoint) between listing the directory and opening the
    // file, and readdir during a rename may return both names or neither.
    // Either shows as a vanished file or a listing-level inconsistency
    // (offset 0: a segment missing from the sequence, or listed twice);
    // the view is then simply taken again. Real damage persists and is
    // reported after the last attempt.
    let mut attempt = 0;
    // Damage that `open` refuses: the view reads the segments before it.
    let mut below: Option<u64> = None;
    let mut damage: Option<Damage> = None;
    loop {
        match recovery::recover(config, &Seams::default(), reader.as_mut(), None, below) {
            Err(Error::Io { source, context })
                if source.kind() == std::io::ErrorKind::NotFound
                    && attempt < READ_ONLY_OPEN_ATTEMPTS =>
            {
                attempt += 1;
                tracing::debug!(%context, attempt, "a segment was renamed under a read-only open; retrying");
            }
            Err(Error::Corruption {
                segment,
                offset: 0,
                reason,
            }) if attempt < READ_ONLY_OPEN_ATTEMPTS => {
                attempt += 1;
                tracing::debug!(segment = segment.0, %reason, attempt, "directory listing changed under a read-only open; retrying");
            }
            Err(e) => match Damage::of(&e)
                .filter(|d| d.offset == 0 && below.is_none_or(|b| d.segment < b))
            {
                Some(d) => {
                    tracing::warn!(segment = d.segment.0, reason = %d.reason, "damage: the view reads the segments before it");
                    below = Some(d.segment.0);
                    damage = Some(d);
                }
                None => return Err(e),
            },
            Ok(mut rec) => {
                // The first damage is the one reported.
                let earlier =
                    |own: &Damage, d: &Damage| (own.segment, own.offset) < (d.segment, d.offset);
                if let Some(mut d) = damage
                    && !rec
                        .report
                        .damage
                        .as_ref()
                        .is_some_and(|own| earlier(own, &d))
                {
                    d.last_intact_lsn = crate::Lsn(rec.last_lsn);
                    rec.report.damage = Some(d);
                }
                return Ok(rec);
            }
        }
    }
}

/// The tier beyond the local directory, if the config asks for one.
fn tier_for(shared: &Shared) -> Result<Option<Arc<dyn SegmentTier>>> {
    #[cfg(feature = "s3")]
    return crate::archive::tier_for(shared);
    #[cfg(not(feature = "s3"))]
    {
        if shared.config.backend == crate::BackendType::AwsS3 {
            tracing::warn!("backend aws_s3 needs the `s3` cargo feature: nothing is archived");
        }
        Ok(None)
    }
}

/// Raises the writer's start to `(segment, last LSN)`, the newest segment known
/// sealed and handed to the archive: that segment (or an older one) is never
/// appended to again, and no LSN or segment number at or below it is handed
/// out again, even if a power cut took the unsynced tail that followed it.
fn apply_sealed_floor(
    start: &mut WriterStart,
    floor: Option<(u64, u64)>,
    shared: &Shared,
) -> Result<()> {
    let Some((segment, last_lsn)) = floor else {
        return Ok(());
    };
    let local_first = shared.table.lock().values().next().copied();
    if let Some(first) = local_first.filter(|m| m.segment > segment + 1) {
        return Err(Error::Corruption {
            segment: crate::SegmentId(first.segment),
            offset: 0,
            reason: format!(
                "archive.state records segment {segment} as the newest handed to the archive, but the local segments start at {}: segment {} is missing",
                first.segment,
                segment + 1
            ),
        });
    }
    if local_first.is_none() {
        // Nothing valid is left locally (the files after the floor held no
        // header): the log continues right after the archive, without a gap.
        start.next_segment = segment + 1;
        start.next_prepared = false;
    }
    if start
        .resume
        .as_ref()
        .is_some_and(|r| r.meta.segment <= segment)
    {
        tracing::warn!(
            segment,
            "the tail segment was already handed to the archive: starting a new one"
        );
        start.resume = None;
    }
    if start.next_segment <= segment {
        start.next_segment = segment + 1;
        start.next_prepared = false;
    }
    if start.last_lsn < last_lsn {
        tracing::warn!(
            local = start.last_lsn,
            archived = last_lsn,
            "the local log ends before what was archived: continuing after the archive"
        );
        start.last_lsn = last_lsn;
        for w in [&shared.readable_lsn, &shared.durable_lsn, &shared.last_lsn] {
            w.fetch_max(last_lsn, Ordering::SeqCst);
        }
        shared.commits.raise(last_lsn);
        shared.feed.durable(last_lsn);
    }
    Ok(())
}
