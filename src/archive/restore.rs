//! Restore: rebuilds a WAL directory from the archive, verifying every object
//! against the manifest (size, CRC32C, header) before it gets a segment name.

use super::manifest::ManifestEntry;
use super::store::{self, Remote};
use crate::config::s3::S3Config;
use crate::dir::{self, DirLock};
use crate::error::{ArchiveErrorKind, Error, Result};
use crate::ids::{Lsn, SegmentId};
use crate::io::fs;
use std::path::Path;

/// What [`restore`] did.
///
/// # Examples
///
/// ```no_run
/// # fn main() -> xwal::Result<()> {
/// use std::path::Path;
/// use xwal::archive::{restore, S3Config};
///
/// // Needs a reachable bucket that an xwal archiver has written to.
/// let s3 = S3Config::new("my-bucket").prefix("orders-wal").region("eu-west-1");
/// let dir = Path::new("/var/lib/app/wal-restored");
/// let report = restore(&s3, dir)?;
/// assert_eq!(report.location, "s3://my-bucket/orders-wal/");
/// assert!(!report.restored.is_empty() && report.first_lsn <= report.last_lsn);
/// // Run again (say, after an interruption): what is there is checked, not fetched again.
/// let again = restore(&s3, dir)?;
/// assert!(again.restored.is_empty());
/// assert_eq!(again.already_present, report.restored);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RestoreReport {
    /// `s3://bucket/prefix/` restored from.
    pub location: String,
    /// Segments written, in order.
    pub restored: Vec<SegmentId>,
    /// Segments already present and identical (a restore that was interrupted and run again).
    pub already_present: Vec<SegmentId>,
    /// Bytes downloaded.
    pub bytes: u64,
    /// First LSN of the restored log.
    pub first_lsn: Lsn,
    /// Last LSN of the restored log.
    pub last_lsn: Lsn,
    /// Older archived segments left out because a gap separates them from the
    /// newest run (a WAL directory cannot hold a gap).
    pub unreachable: Vec<SegmentId>,
}

/// Rebuilds the WAL directory `dir` from the archive described by `s3`.
///
/// `dir` is created if missing and locked; it must hold no segment, except
/// segments of this archive left by an interrupted restore (checked byte for
/// byte). Every object is checked against the manifest before it is renamed
/// into place, and synced. The restored directory opens with [`crate::Wal::open`]
/// (which starts a new segment after the last archived one, so that archiving
/// can continue on the same prefix) or [`crate::Wal::open_read_only`].
///
/// # Examples
///
/// ```no_run
/// # fn main() -> xwal::Result<()> {
/// use std::path::Path;
/// use xwal::archive::{restore, S3Config};
/// use xwal::{Config, Wal};
///
/// // On a new machine: rebuild the WAL directory from the archive, then open it.
/// // Needs a reachable bucket that an xwal archiver has written to.
/// let s3 = S3Config::new("my-bucket").prefix("orders-wal").region("eu-west-1");
/// let dir = Path::new("/var/lib/app/wal-restored");
/// let report = restore(&s3, dir)?;
/// let (wal, _) = Wal::open_read_only(Config::new(dir))?;
/// assert_eq!(wal.last_index(), report.last_lsn);
/// # Ok(()) }
/// ```
pub fn restore(s3: &S3Config, dir: &Path) -> Result<RestoreReport> {
    let _span = tracing::info_span!("restore", dir = %dir.display()).entered();
    let remote = Remote::new(s3)?;
    let location = super::location_of(s3);
    let manifest = checked_manifest(&remote, &location)?;
    let run = manifest.newest_run();
    let mut report = report_of_run(location, &manifest, &run)?;
    let last = run[run.len() - 1];
    // Nothing local changes before every check passed: a refused restore
    // leaves the directory as it was (no LOCK, no marker, no leftover gone).
    let mut lock = lock_for_restore(dir)?;
    let (listed, leftovers) = dir::list(dir)?;
    let present = segments_of_this_archive(dir, &listed, &run)?;
    check_state_is_ours(dir, &report.location)?;
    lock.take_lock_file(dir)?;
    // Marked until complete: an interrupted restore is refused by every open,
    // never taken for a shorter WAL.
    let marker = dir.join(dir::RESTORE_MARKER);
    fs::write_small(&marker, b"")
        .map_err(|e| Error::io(format!("creating {}", marker.display()), e))?;
    dir::sync_dir(dir)?;
    for p in leftovers {
        dir::remove_file(&p)?;
    }
    for e in run.iter().filter(|e| !present.contains(&e.segment)) {
        report.bytes += fetch_segment(&remote, dir, e)?;
        report.restored.push(SegmentId(e.segment));
    }
    report.already_present = present.into_iter().map(SegmentId).collect();
    // Every segment of the run is in the directory now, each written once.
    debug_assert_eq!(
        report.restored.len() + report.already_present.len(),
        run.len()
    );
    dir::sync_dir(dir)?;
    // The restored segments are archived: the directory's floor (never append
    // to them, never hand out their LSNs again) and what the manifest lists.
    let state = super::LocalState {
        location: report.location.clone(),
        sealed_through: Some((last.segment, last.last_lsn)),
        listed_through: Some(last.segment),
        writer: manifest.writer,
        ..Default::default()
    };
    state.store(dir)?;
    dir::remove_file(&marker)?;
    dir::sync_dir(dir)?;
    tracing::info!(
        restored = report.restored.len(),
        bytes = report.bytes,
        last_lsn = report.last_lsn.get(),
        "restore complete"
    );
    Ok(report)
}

/// The archive's manifest, if it can be restored from: present, without a
/// gap, and listing every segment object the archive holds.
fn checked_manifest(remote: &Remote, location: &str) -> Result<super::manifest::Manifest> {
    let key = store::manifest_key(&remote.prefix);
    let manifest = match super::read_manifest(remote, None)? {
        Some((m, _)) => m,
        None => {
            remote.check_bucket(None)?;
            return Err(Error::Archive {
                kind: ArchiveErrorKind::NotFound,
                message: format!(
                    "no archive at {location}: {} does not exist; check the bucket and prefix",
                    remote.url(&key)
                ),
            });
        }
    };
    if let Some((before, after)) = manifest.first_gap() {
        return Err(Error::Archive {
            kind: ArchiveErrorKind::BadManifest,
            message: format!(
                "the manifest {} has a gap: segment {before} is followed by {after}; an archive never deletes objects, so an object was lost or the manifest was altered. Nothing was restored",
                remote.url(&key)
            ),
        });
    }
    let newest = manifest.entries.keys().next_back().copied();
    if let Some(o) = remote
        .list_segments(None)?
        .into_iter()
        .find(|&o| newest.is_none_or(|n| o > n))
    {
        return Err(Error::Archive {
            kind: ArchiveErrorKind::BadManifest,
            message: format!(
                "the archive at {location} holds segment {o}, which its manifest does not list: the manifest was replaced by an older one, or a writer has not listed its uploads yet. Nothing was restored"
            ),
        });
    }
    Ok(manifest)
}

/// The report of a restore of `run`, the manifest's newest run, before
/// anything is fetched: its LSNs, and the older segments a gap cuts off.
fn report_of_run(
    location: String,
    manifest: &super::manifest::Manifest,
    run: &[ManifestEntry],
) -> Result<RestoreReport> {
    let (Some(first), Some(last)) = (run.first(), run.last()) else {
        return Err(Error::Archive {
            kind: ArchiveErrorKind::NotFound,
            message: format!("the archive at {location} lists no segment"),
        });
    };
    let report = RestoreReport {
        location,
        first_lsn: Lsn(first.first_lsn),
        last_lsn: Lsn(last.last_lsn),
        unreachable: manifest
            .entries
            .keys()
            .filter(|s| **s < first.segment)
            .map(|s| SegmentId(*s))
            .collect(),
        ..Default::default()
    };
    if !report.unreachable.is_empty() {
        tracing::warn!(
            segments = ?report.unreachable,
            "older archived segments are separated from the newest run by a gap and are not restored"
        );
    }
    Ok(report)
}

/// Downloads segment `e`, checks it against its manifest entry and writes
/// it into `dir` under its name; returns its bytes.
fn fetch_segment(remote: &Remote, dir: &Path, e: &ManifestEntry) -> Result<u64> {
    let bytes = super::fetch_verified(remote, e, None)?;
    write_segment(dir, e, &bytes)?;
    tracing::debug!(segment = e.segment, bytes = bytes.len(), "restored");
    Ok(bytes.len() as u64)
}

/// Locks `dir` for a restore, creating it if missing (a new directory has
/// nothing to refuse); an existing one gets no `LOCK` file yet.
fn lock_for_restore(dir: &Path) -> Result<DirLock> {
    dir::create_dir(dir)?; // also refuses a path that is not a directory
    DirLock::acquire_leaving_files(dir)
}

/// The segments already in `dir`, each of which must be the archived
/// object of `run` (left by an interrupted restore), else the restore is
/// refused: the directory holds another WAL.
fn segments_of_this_archive(
    dir: &Path,
    listed: &[dir::ListedSegment],
    run: &[ManifestEntry],
) -> Result<Vec<u64>> {
    let mut present = Vec::new();
    for s in listed {
        let path = dir::segment_path(dir, s.segment, s.checkpoint);
        match run.iter().find(|e| e.segment == s.segment) {
            Some(e) if e.checkpoint == s.checkpoint && same_file(&path, e)? => {
                present.push(s.segment)
            }
            _ => {
                return Err(Error::Config(format!(
                    "{} holds {} which is not part of the archive (or differs from it): restore into an empty directory. Nothing was changed",
                    dir.display(),
                    path.display()
                )));
            }
        }
    }
    Ok(present)
}

/// An `archive.state` left in `dir` must be of this archive: another's
/// belongs to another WAL (whose segments may live only in its archive).
fn check_state_is_ours(dir: &Path, location: &str) -> Result<()> {
    match super::LocalState::read(dir)? {
        Some(st) if st.location != location => Err(Error::Config(format!(
            "{} holds the archive state of {}, not of {location}: restore into an empty directory. Nothing was changed",
            dir.display(),
            st.location
        ))),
        _ => Ok(()),
    }
}

/// Writes a verified object under a temporary name, syncs it, renames it into place.
fn write_segment(dir: &Path, e: &ManifestEntry, bytes: &[u8]) -> Result<()> {
    let final_path = dir::segment_path(dir, e.segment, e.checkpoint);
    // A `.seg.preparing` leftover is deleted by the next open or restore.
    let tmp = dir.join(format!(
        "{}.preparing",
        crate::format::segment_file_name(e.segment, false)
    ));
    fs::replace_durably_via(&tmp, &final_path, bytes).map_err(|err| {
        Error::io(
            format!("writing {} through {}", final_path.display(), tmp.display()),
            err,
        )
    })
}

/// True if the file at `path` is exactly the archived object of `e`.
fn same_file(path: &Path, e: &ManifestEntry) -> Result<bool> {
    // One byte past the archived size tells a longer file apart.
    let limit = usize::try_from(e.size.saturating_add(1)).unwrap_or(usize::MAX);
    let data = match fs::read_small(path, limit) {
        Ok(d) => d,
        Err(err) if err.kind() == std::io::ErrorKind::InvalidData => return Ok(false),
        Err(err) => return Err(Error::io(format!("reading {}", path.display()), err)),
    };
    Ok(data.len() as u64 == e.size && crc32c::crc32c(&data) == e.crc32c)
}
