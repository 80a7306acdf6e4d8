//! The S3 archive tier (cargo feature `s3`).
//!
//! * [`archiver`]: a background thread uploads every sealed segment (create-only
//!   PUT, checksummed, verified), then lists it in the manifest; it never sits on
//!   the commit path. Local retention deletes a prefix of archived segments.
//! * [`Archive::visible`] and [`Archive::fetch_segment`]: replay covers segments
//!   that are only in S3 (fetched into a temp file and verified against the
//!   manifest, then read by the normal reader).
//! * [`restore`]: rebuilds a WAL directory from the archive.
//!
//! What lives only in S3 is recorded in the WAL directory (`archive.state`), so
//! that a restart knows it must look there and never silently replays less.

mod archiver;
mod handle;
mod manifest;
mod restore;
mod store;

pub use crate::config::s3::{
    BacklogFull, LocalRetention, MAX_SEGMENT_SIZE, S3Config, S3Credentials, Secret,
};
pub use manifest::{ChunkRef, Manifest, ManifestEntry};
pub use restore::{RestoreReport, restore};

use crate::error::{ArchiveErrorKind, Error, Result};
use crate::format::{HeaderDecode, SegmentHeader};
use crate::ids::SegmentId;
use crate::io::Seams;
use crate::shared::{SegmentMeta, SegmentTier, Shared};
use crossbeam_channel::{Receiver, Sender};
use parking_lot::{Condvar, Mutex};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use store::Remote;

/// Name of the archive state file in the WAL directory (ignored by segment listing).
pub const STATE_FILE: &str = crate::format::ARCHIVE_STATE_FILE;

/// An archive state file longer than this is not one xwal wrote.
const STATE_FILE_LIMIT_BYTES: usize = 64 << 10;

/// What the archiver has done and has left to do (`Wal::archive_status`).
///
/// # Examples
///
/// ```no_run
/// # fn main() -> xwal::Result<()> {
/// use std::time::Duration;
/// use xwal::archive::{S3Config, S3Credentials};
/// use xwal::{Config, Wal};
///
/// // Needs a reachable bucket; here an S3-compatible server on this machine.
/// let s3 = S3Config::new("my-bucket")
///     .prefix("orders-wal")
///     .endpoint("http://127.0.0.1:9000")
///     .path_style(true)
///     .credentials(S3Credentials::static_keys("AKIAEXAMPLE", "s3cr3t"));
/// let (wal, _) = Wal::open(Config::new("/var/lib/app/wal").s3(s3))?;
/// wal.append(b"entry")?;
/// wal.create_checkpoint()?; // seals the segment: the archiver uploads it
/// let status = wal.wait_archived(Duration::from_secs(60))?;
/// assert_eq!(status.location, "s3://my-bucket/orders-wal/");
/// assert_eq!(status.pending, 0);
/// assert!(status.uploaded_segments >= 1 && status.last_archived.is_some());
/// assert!(status.last_error.is_none());
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct ArchiveStatus {
    /// `s3://bucket/prefix`.
    pub location: String,
    /// True once the manifest has been read (or found absent) since open.
    pub manifest_loaded: bool,
    /// Segments listed in the manifest: uploaded, verified, confirmed.
    pub uploaded_segments: u64,
    /// Their bytes in S3.
    pub uploaded_bytes: u64,
    /// Highest segment listed in the manifest.
    pub last_archived: Option<SegmentId>,
    /// Sealed local segments not yet listed in the manifest: the backlog.
    pub pending: usize,
    /// `pending` exceeds `S3Config::max_backlog`; `S3Config::backlog_full` applies.
    pub backlog_full: bool,
    /// Segments deleted locally by retention (or after a release) since open.
    pub local_deleted: u64,
    /// Failed attempts since open (each is retried with backoff).
    pub errors: u64,
    /// The most recent failure, cleared by the next success.
    pub last_error: Option<Error>,
    /// Segment numbers listed in the manifest, as inclusive runs `(first, last)`
    /// of consecutive numbers (one run unless uploads began after a gap).
    pub archived_runs: Vec<(SegmentId, SegmentId)>,
}

impl ArchiveStatus {
    /// True if the manifest lists `segment`.
    ///
    /// # Examples
    ///
    /// ```
    /// use xwal::SegmentId;
    /// use xwal::archive::ArchiveStatus;
    /// let status = ArchiveStatus {
    ///     location: "s3://orders-wal/prod/".into(),
    ///     manifest_loaded: true,
    ///     uploaded_segments: 5,
    ///     uploaded_bytes: 5 << 20,
    ///     last_archived: Some(SegmentId(9)),
    ///     pending: 0,
    ///     backlog_full: false,
    ///     local_deleted: 0,
    ///     errors: 0,
    ///     last_error: None,
    ///     archived_runs: vec![(SegmentId(2), SegmentId(4)), (SegmentId(8), SegmentId(9))],
    /// };
    /// let archived = |n| status.is_archived(SegmentId(n));
    /// assert!(archived(3) && archived(8));
    /// assert!(!archived(5) && !archived(1) && !archived(10));
    /// ```
    pub fn is_archived(&self, segment: SegmentId) -> bool {
        self.archived_runs
            .iter()
            .any(|&(lo, hi)| (lo..=hi).contains(&segment))
    }
}

impl Clone for ArchiveStatus {
    fn clone(&self) -> Self {
        ArchiveStatus {
            location: self.location.clone(),
            manifest_loaded: self.manifest_loaded,
            uploaded_segments: self.uploaded_segments,
            uploaded_bytes: self.uploaded_bytes,
            last_archived: self.last_archived,
            pending: self.pending,
            backlog_full: self.backlog_full,
            local_deleted: self.local_deleted,
            errors: self.errors,
            last_error: self.last_error.clone(),
            archived_runs: self.archived_runs.clone(),
        }
    }
}

/// Runs of consecutive numbers in an ascending sequence.
fn runs(segments: impl Iterator<Item = u64>) -> Vec<(u64, u64)> {
    let mut out: Vec<(u64, u64)> = Vec::new();
    for s in segments {
        match out.last_mut() {
            Some((_, hi)) if hi.checked_add(1) == Some(s) => *hi = s,
            _ => out.push((s, s)),
        }
    }
    out
}

/// The manifest as last read or written, with its ETag for the next conditional write.
struct View {
    manifest: Arc<Manifest>,
    e_tag: Option<String>,
}

#[derive(Default)]
struct StatusInner {
    pending: usize,
    backlog_full: bool,
    errors: u64,
    last_error: Option<Error>,
    local_deleted: u64,
}

/// Persisted in `archive.state`: what the local directory no longer holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct LocalState {
    /// `s3://bucket/prefix` the segments below were archived to.
    location: String,
    /// Segments up to this one were released by the user (`purge_through`,
    /// consume): replay no longer shows them; their files go once archived.
    released_through: Option<u64>,
    /// Segments `lo..=hi` were deleted locally by retention after their upload
    /// was confirmed: replay must fetch them from S3.
    remote_only: Option<(u64, u64)>,
    /// `(segment, last LSN)`: every segment up to this one was sealed and
    /// handed to the archive (recorded before its upload starts). Recovery
    /// never appends to such a segment again, and never hands out an LSN or
    /// a segment number at or below these, whatever the local files lost.
    sealed_through: Option<(u64, u64)>,
    /// The newest segment this directory saw listed in the manifest (after its
    /// own manifest writes). A manifest read later that lists less was deleted
    /// or replaced by an older one: it is refused, never rewritten from the
    /// local segments (that would forget the archive).
    listed_through: Option<u64>,
    /// This WAL's writer identity in the manifest (see `Manifest::writer`).
    writer: Option<u64>,
}

impl LocalState {
    fn path(dir: &Path) -> PathBuf {
        dir.join(STATE_FILE)
    }

    fn load(dir: &Path, location: &str) -> Result<LocalState> {
        let Some(mut st) = Self::read(dir)? else {
            return Ok(LocalState {
                location: location.to_string(),
                ..Default::default()
            });
        };
        if st.location != location && st.remote_only.is_some() {
            return Err(Error::Config(format!(
                "segments of this WAL were archived to {} and deleted locally, but S3Config now points to {location}; point it back (or restore them first)",
                st.location
            )));
        }
        if st.remote_only.is_none() {
            st.location = location.to_string();
        }
        Ok(st)
    }

    /// The state as recorded, if the file exists.
    fn read(dir: &Path) -> Result<Option<LocalState>> {
        let path = Self::path(dir);
        let text = match crate::io::fs::read_small(&path, STATE_FILE_LIMIT_BYTES) {
            Ok(t) => String::from_utf8_lossy(&t).into_owned(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(format!("reading {}", path.display()), e)),
        };
        let bad = || {
            Error::Config(format!(
                "{} is damaged; it records which segments live only in S3 (restore it, or remove it if no segment was deleted locally)",
                path.display()
            ))
        };
        let mut st = LocalState::default();
        let mut lines = text.lines();
        if lines.next() != Some("xwal-archive-state 1") {
            return Err(bad());
        }
        let num = |s: &str| -> Result<Option<u64>> {
            if s == "-" {
                Ok(None)
            } else {
                s.parse().map(Some).map_err(|_| bad())
            }
        };
        for line in lines {
            let (k, v) = line.split_once(' ').ok_or_else(bad)?;
            match k {
                "location" => st.location = v.to_string(),
                "released_through" => st.released_through = num(v)?,
                "listed_through" => st.listed_through = num(v)?,
                "writer" => {
                    st.writer = match v {
                        "-" => None,
                        w => Some(u64::from_str_radix(w, 16).map_err(|_| bad())?),
                    }
                }
                "remote_only" | "sealed_through" => {
                    let pair = match v.split_once(' ') {
                        Some((lo, hi)) => match (num(lo)?, num(hi)?) {
                            (Some(lo), Some(hi)) => Some((lo, hi)),
                            _ => None,
                        },
                        None if v == "-" => None,
                        None => return Err(bad()),
                    };
                    if k == "remote_only" {
                        st.remote_only = pair;
                    } else {
                        st.sealed_through = pair;
                    }
                }
                _ => return Err(bad()),
            }
        }
        Ok(Some(st))
    }

    fn store(&self, dir: &Path) -> Result<()> {
        let opt = |v: Option<u64>| v.map_or("-".to_string(), |n| n.to_string());
        let pair = |p: Option<(u64, u64)>| p.map_or("-".to_string(), |(a, b)| format!("{a} {b}"));
        let text = format!(
            "xwal-archive-state 1\nlocation {}\nreleased_through {}\nremote_only {}\nsealed_through {}\nlisted_through {}\nwriter {}\n",
            self.location,
            opt(self.released_through),
            pair(self.remote_only),
            pair(self.sealed_through),
            opt(self.listed_through),
            self.writer.map_or("-".to_string(), |w| format!("{w:016x}")),
        );
        crate::dir::write_durable(dir, STATE_FILE, text.as_bytes())
    }
}

/// The archive tier of one open WAL (or of an archive opened with `Wal::open_archive`).
pub(crate) struct Archive {
    cfg: S3Config,
    remote: Remote,
    view: Mutex<Option<View>>,
    local: Mutex<LocalState>,
    /// The WAL directory; `None` for a remote-only view (`Wal::open_archive`).
    dir: Option<PathBuf>,
    status: Mutex<StatusInner>,
    /// Signalled when the status changes (backlog, uploads).
    changed: Condvar,
    wake_tx: Sender<()>,
    wake_rx: Receiver<()>,
    /// Dropping the sender stops the archiver (its receiver then returns at once).
    stop_tx: Mutex<Option<Sender<()>>>,
    stop_rx: Receiver<()>,
    thread: Mutex<Option<JoinHandle<()>>>,
    /// Retention and releases delete one at a time.
    retention_lock: Mutex<()>,
    /// Set by the `crash_before_manifest` test seam.
    crashed: AtomicBool,
    /// Test seam (feature `test-seams`): upload, then stop before the manifest.
    crash_before_manifest: bool,
    /// Entries the manifest head holds before they move to an immutable chunk.
    manifest_chunk_entries: usize,
}

/// Entries the manifest head holds before they move to an immutable chunk
/// object: every head write stays small however large the archive grows.
const MANIFEST_CHUNK_ENTRIES: usize = 1024;

impl Archive {
    fn new(
        cfg: S3Config,
        dir: Option<PathBuf>,
        local: LocalState,
        seams: &Seams,
    ) -> Result<Archive> {
        let remote = Remote::new(&cfg)?;
        let (wake_tx, wake_rx) = crossbeam_channel::bounded(1);
        let (stop_tx, stop_rx) = crossbeam_channel::bounded(0);
        Ok(Archive {
            cfg,
            remote,
            view: Mutex::new(None),
            local: Mutex::new(local),
            dir,
            status: Mutex::new(StatusInner::default()),
            changed: Condvar::new(),
            wake_tx,
            wake_rx,
            stop_tx: Mutex::new(Some(stop_tx)),
            stop_rx,
            thread: Mutex::new(None),
            retention_lock: Mutex::new(()),
            crashed: AtomicBool::new(false),
            crash_before_manifest: seams.crash_before_manifest(),
            manifest_chunk_entries: seams
                .manifest_chunk_entries()
                .unwrap_or(MANIFEST_CHUNK_ENTRIES),
        })
    }

    /// Opens a remote-only view: reads the manifest now, so a wrong credential,
    /// a missing bucket or an empty prefix is an error here.
    pub(crate) fn open_remote(cfg: S3Config) -> Result<Archive> {
        let location = location_of(&cfg);
        let a = Archive::new(cfg, None, LocalState::default(), &Seams::default())?;
        let m = a.load_view(None)?;
        if m.entries.is_empty() {
            return Err(Error::Archive {
                kind: ArchiveErrorKind::NotFound,
                message: format!(
                    "no archive at {location}: there is no manifest (or it lists no segment); check the bucket and prefix"
                ),
            });
        }
        Ok(a)
    }

    /// `s3://bucket/prefix`.
    pub(crate) fn location(&self) -> String {
        location_of(&self.cfg)
    }

    fn manifest(&self) -> Option<Arc<Manifest>> {
        self.view.lock().as_ref().map(|v| v.manifest.clone())
    }

    /// Reads the manifest (an absent one is an empty archive, once the bucket is
    /// known to exist) and makes it the view. Manifests only grow: an older copy
    /// read concurrently with a write never replaces a newer view.
    fn load_view(&self, cancel: store::Cancel<'_>) -> Result<Arc<Manifest>> {
        let key = store::manifest_key(&self.remote.prefix);
        let (manifest, e_tag) = match read_manifest(&self.remote, cancel)? {
            Some(found) => found,
            None => {
                self.remote.check_bucket(cancel)?;
                (Manifest::default(), None)
            }
        };
        self.check_continuity(&manifest, &key)?;
        let manifest = Arc::new(manifest);
        *self.view.lock() = Some(View {
            manifest: manifest.clone(),
            e_tag,
        });
        self.changed.notify_all();
        Ok(manifest)
    }

    /// The manifest must still list what this directory saw it list; and, for
    /// a remote-only view, every segment object under the prefix. Otherwise it
    /// was deleted or an older one was put back (or the server lost its data):
    /// an error, so the archiver never rewrites it from the local segments and
    /// a replay never returns less without saying so.
    fn check_continuity(&self, manifest: &Manifest, key: &str) -> Result<()> {
        let newest = manifest.entries.keys().next_back().copied();
        let listed = self.local.lock().listed_through;
        if let Some(l) = listed.filter(|l| newest.is_none_or(|n| n < *l)) {
            return Err(Error::Archive {
                kind: ArchiveErrorKind::BadManifest,
                message: format!(
                    "the manifest {} lists segments through {}, but it listed segment {l} before: it was deleted or replaced by an older one, or the server lost objects. Nothing is written to it; put the newer manifest back, or point S3Config at a new prefix",
                    self.remote.url(key),
                    newest.map_or("none".to_string(), |n| n.to_string())
                ),
            });
        }
        if let Some((before, after)) = manifest.first_gap().filter(|_| self.dir.is_none()) {
            return Err(Error::Archive {
                kind: ArchiveErrorKind::BadManifest,
                message: format!(
                    "the manifest {} has a gap: segment {before} is followed by {after} (numbers or LSNs do not continue). An archive never deletes objects, so an object was lost or the manifest was altered; nothing is replayed",
                    self.remote.url(key)
                ),
            });
        }
        if self.dir.is_none() {
            let objects = self.remote.list_segments(None)?;
            if let Some(&o) = objects.iter().find(|&&o| newest.is_none_or(|n| o > n)) {
                return Err(Error::Archive {
                    kind: ArchiveErrorKind::BadManifest,
                    message: format!(
                        "the archive at {} holds segment {o}, which its manifest does not list (it lists through {}): the manifest was replaced by an older one, or a writer has not listed its uploads yet",
                        self.location(),
                        newest.map_or("none".to_string(), |n| n.to_string())
                    ),
                });
            }
        }
        Ok(())
    }

    /// The segments a replay sees: the local ones without the user-released
    /// ones, preceded by the archived segments that this directory deleted by
    /// retention (recorded in `archive.state`), so that the answer never depends
    /// on whether the manifest happens to be loaded. A remote-only view
    /// (`open_archive`) sees the newest run of consecutive archived segments.
    /// With `load`, reads the manifest if it is needed and not read yet; an
    /// error if S3 cannot be reached or does not list what it should: a replay
    /// never silently returns less.
    pub(crate) fn visible(&self, local: Vec<SegmentMeta>, load: bool) -> Result<Vec<SegmentMeta>> {
        let st = self.local.lock().clone();
        let released = st.released_through;
        let local: Vec<SegmentMeta> = local
            .into_iter()
            .filter(|m| released.is_none_or(|r| m.segment > r))
            .collect();
        // The lowest segment that must come from S3, if any.
        let lowest_remote = if self.dir.is_none() {
            Some(0)
        } else {
            st.remote_only.and_then(|(lo, hi)| {
                let lo = released.map_or(lo, |r| lo.max(r + 1));
                (lo <= hi).then_some(lo)
            })
        };
        // Without archive.state (removed, or lost with a disk), local history
        // that starts after LSN 1 may live in S3: the manifest says how far
        // back it goes. A replay then reads it rather than return less.
        let state_lost = lowest_remote.is_none()
            && released.is_none()
            && self.dir.is_some()
            && local.first().is_some_and(|m| m.first_lsn > 1);
        let lowest_remote = if state_lost { Some(0) } else { lowest_remote };
        let Some(lowest_remote) = lowest_remote else {
            return Ok(local);
        };
        let manifest = match self.manifest() {
            Some(m) => m,
            None if load => self.load_view(None)?,
            None => return Ok(local),
        };
        let start = match local.first() {
            Some(m) => m.segment,
            None => manifest.entries.keys().next_back().map_or(0, |k| k + 1),
        };
        // The segment the chain continues into, going down.
        let mut next: Option<SegmentMeta> = local.first().copied();
        let mut prefix: Vec<SegmentMeta> = Vec::new();
        let mut s = start;
        while s > lowest_remote {
            s -= 1;
            let listed = manifest.entries.get(&s).filter(|e| {
                next.is_none_or(|n| {
                    n.first_lsn == e.last_lsn + 1 || (n.lsn_gap_before && e.last_lsn < n.first_lsn)
                })
            });
            match listed {
                Some(e) => {
                    prefix.push(e.meta());
                    next = Some(e.meta());
                }
                // A remote-only view ends at a gap: older segments cannot be
                // chained; so does a directory whose archive.state was lost
                // (the manifest is all it knows).
                None if self.dir.is_none() || state_lost => break,
                None => {
                    return Err(Error::Archive {
                        kind: ArchiveErrorKind::NotFound,
                        message: format!(
                            "segment {s} was archived and deleted locally, but the manifest at {} does not list it (or its LSNs do not continue into segment {}); replay would miss entries",
                            self.location(),
                            s + 1
                        ),
                    });
                }
            }
        }
        prefix.reverse();
        prefix.extend(local);
        // One chain: consecutive segment numbers whose LSNs continue.
        debug_assert!(prefix.windows(2).all(|w| w[0].segment + 1 == w[1].segment));
        Ok(prefix)
    }

    /// The last LSN of the last of `visible` if the manifest lists it, else 0.
    pub(crate) fn last_lsn(&self, visible: &[SegmentMeta]) -> u64 {
        let m = self.manifest();
        visible
            .last()
            .and_then(|s| m.as_ref()?.entries.get(&s.segment).map(|e| e.last_lsn))
            .unwrap_or(0)
    }

    /// Fetches an archived segment into an unnamed temp file, verified against
    /// the manifest (size, CRC32C, header), for the normal reader.
    pub(crate) fn fetch_segment(&self, segment: u64) -> Result<File> {
        let listed = |m: &Manifest| m.entries.get(&segment).copied();
        let cached = self.manifest().and_then(|m| listed(&m));
        // A view's manifest is a snapshot: a segment archived since (and
        // deleted locally by the writer's retention) is in a newer one.
        let entry = match cached {
            Some(e) => Some(e),
            None => listed(&*self.load_view(None)?),
        };
        let Some(e) = entry else {
            return Err(Error::NotFound {
                what: "segment",
                number: segment,
            });
        };
        let bytes = self.fetch_verified(&e, None)?;
        let dir = self
            .cfg
            .fetch_dir
            .clone()
            .unwrap_or_else(std::env::temp_dir);
        let f = crate::io::fs::unnamed_file_with(&dir, &bytes).map_err(|e| {
            Error::io(
                format!(
                    "writing segment {segment} fetched from S3 to a temp file in {}",
                    dir.display()
                ),
                e,
            )
        })?;
        tracing::debug!(segment, bytes = bytes.len(), "fetched archived segment");
        Ok(f)
    }

    /// Reads an archived segment's object and checks it against its manifest entry.
    fn fetch_verified(&self, e: &ManifestEntry, cancel: store::Cancel<'_>) -> Result<Vec<u8>> {
        fetch_verified(&self.remote, e, cancel)
    }

    fn update_local(&self, f: impl FnOnce(&mut LocalState)) -> Result<()> {
        let Some(dir) = &self.dir else {
            return Ok(());
        };
        let mut st = self.local.lock();
        let mut next = st.clone();
        f(&mut next);
        if next != *st {
            next.store(dir)?;
            *st = next;
        }
        Ok(())
    }

    /// The user released segments up to `through` (`purge_through`, consume):
    /// replay stops showing them at once; their files are deleted once archived
    /// (now if they are, else by the archiver after their upload). Returns the
    /// segments newly released.
    pub(crate) fn release_through(&self, shared: &Shared, through: u64) -> Result<Vec<u64>> {
        let (local, _) = shared.snapshot();
        let Some(active) = local.last().map(|m| m.segment) else {
            return Ok(vec![]);
        };
        if active == 0 {
            return Ok(vec![]);
        }
        let through = through.min(active - 1);
        let old = self.local.lock().released_through;
        if old.is_some_and(|r| r >= through) {
            return Ok(vec![]);
        }
        let before = self.visible(local.clone(), false).unwrap_or(local);
        let released: Vec<u64> = before
            .iter()
            .map(|m| m.segment)
            .filter(|s| *s <= through && old.is_none_or(|r| *s > r))
            .collect();
        self.update_local(|st| st.released_through = Some(through))?;
        tracing::info!(through, "segments released; deleted locally once archived");
        self.apply_retention(shared)?;
        self.wake();
        Ok(released)
    }

    /// Wakes the archiver (a segment was sealed, or a caller waits).
    pub(crate) fn wake(&self) {
        let _ = self.wake_tx.try_send(());
    }

    /// Status snapshot.
    /// The status, with the backlog counted from the segment table now: the
    /// sealed segments the manifest does not list (all of them while it has
    /// not been read), so a segment sealed while the archiver waits on a hung
    /// server shows at once.
    pub(crate) fn status_of(&self, shared: &Shared) -> ArchiveStatus {
        let mut st = self.status();
        let unlisted = unlisted_sealed(shared, self.manifest().as_deref());
        st.pending = st.pending.max(unlisted);
        st
    }

    pub(crate) fn status(&self) -> ArchiveStatus {
        let m = self.manifest();
        let st = self.status.lock();
        ArchiveStatus {
            location: self.location(),
            manifest_loaded: m.is_some(),
            uploaded_segments: m.as_ref().map_or(0, |m| m.entries.len() as u64),
            uploaded_bytes: m
                .as_ref()
                .map_or(0, |m| m.entries.values().map(|e| e.size).sum()),
            last_archived: m
                .as_ref()
                .and_then(|m| m.entries.keys().next_back().copied())
                .map(SegmentId),
            pending: st.pending,
            backlog_full: st.backlog_full,
            local_deleted: st.local_deleted,
            errors: st.errors,
            last_error: st.last_error.clone().or_else(|| {
                let (age, what) = self.remote.stalled(store::HEALTH_BOUND)?;
                Some(Error::Archive {
                    kind: ArchiveErrorKind::Unreachable,
                    message: format!(
                        "{what}: no answer for {:.1} s (more than {} s): the server may be hung; the request ends after request_timeout",
                        age.as_secs_f64(),
                        store::HEALTH_BOUND.as_secs()
                    ),
                })
            }),
            archived_runs: m
                .as_ref()
                .map_or_else(Vec::new, |m| runs(m.entries.keys().copied()))
                .into_iter()
                .map(|(lo, hi)| (SegmentId(lo), SegmentId(hi)))
                .collect(),
        }
    }

    /// A status with the manifest read from S3 now. For a read-only WAL (no
    /// archiver runs) the backlog is counted here: the sealed local segments
    /// the manifest does not list.
    pub(crate) fn status_now(&self, shared: &Shared) -> Result<ArchiveStatus> {
        let m = self.load_view(None)?;
        let mut st = self.status();
        if shared.read_only {
            st.pending = unlisted_sealed(shared, Some(&m));
            st.backlog_full = st.pending > self.cfg.max_backlog;
        }
        Ok(st)
    }

    /// `BacklogFull::SlowAppends`: delays an append while the backlog is full.
    pub(crate) fn throttle_appends(&self) {
        let BacklogFull::SlowAppends { max_wait } = self.cfg.backlog_full else {
            return;
        };
        let deadline = Instant::now() + max_wait;
        let mut st = self.status.lock();
        while st.backlog_full {
            if self.changed.wait_until(&mut st, deadline).timed_out() {
                break;
            }
        }
    }

    /// Waits until every segment sealed now is listed in the manifest.
    pub(crate) fn wait_archived(
        &self,
        shared: &Shared,
        timeout: Duration,
    ) -> Result<ArchiveStatus> {
        let target: Vec<SegmentMeta> = {
            let t = shared.table.lock();
            let n = t.len().saturating_sub(1);
            t.values().take(n).copied().collect()
        };
        let deadline = Instant::now() + timeout;
        self.wake();
        loop {
            // Released segments are archived too, so "listed" is the test for all.
            let missing = match self.manifest() {
                Some(m) => target
                    .iter()
                    .filter(|s| !m.entries.get(&s.segment).is_some_and(|e| e.same_segment(s)))
                    .count(),
                None => target.len(),
            };
            if missing == 0 {
                return Ok(self.status());
            }
            let now = Instant::now();
            if now >= deadline {
                let st = self.status();
                let why = match &st.last_error {
                    None => "no error reported".to_string(),
                    Some(Error::Archive { message, .. }) => format!("last error: {message}"),
                    Some(e) => format!("last error: {e}"),
                };
                return Err(Error::Archive {
                    kind: st
                        .last_error
                        .as_ref()
                        .and_then(|e| match e {
                            Error::Archive { kind, .. } => Some(*kind),
                            _ => None,
                        })
                        .unwrap_or(ArchiveErrorKind::Unreachable),
                    message: format!(
                        "{missing} sealed segment(s) not archived to {} within {timeout:?} ({why})",
                        self.location()
                    ),
                });
            }
            let mut st = self.status.lock();
            let _ = self
                .changed
                .wait_for(&mut st, (deadline - now).min(Duration::from_millis(50)));
        }
    }

    fn stopping(&self) -> bool {
        self.stop_tx.lock().is_none()
    }
}

/// The sealed local segments (all but the last) that `manifest` does not list
/// as themselves; all of them while no manifest has been read.
fn unlisted_sealed(shared: &Shared, manifest: Option<&Manifest>) -> usize {
    let table = shared.table.lock();
    let sealed = table.len().saturating_sub(1);
    table
        .values()
        .take(sealed)
        .filter(|s| {
            !manifest.is_some_and(|m| m.entries.get(&s.segment).is_some_and(|e| e.same_segment(s)))
        })
        .count()
}

/// Reads the manifest head and every chunk it names; `None` if there is no
/// manifest. Each chunk must be exactly what the head says.
pub(crate) fn read_manifest(
    remote: &Remote,
    cancel: store::Cancel<'_>,
) -> Result<Option<(Manifest, Option<String>)>> {
    let key = store::manifest_key(&remote.prefix);
    let named = |key: &str, e: Error| match e {
        Error::Archive { kind, message } => Error::Archive {
            kind,
            message: format!("{}: {message}", remote.url(key)),
        },
        other => other,
    };
    let Some(head) = remote.get(&key, cancel)? else {
        return Ok(None);
    };
    let mut m = Manifest::decode(&head.bytes).map_err(|e| named(&key, e))?;
    for c in m.chunks.clone() {
        let ck = store::manifest_chunk_key(&remote.prefix, c.first);
        let Some(obj) = remote.get(&ck, cancel)? else {
            return Err(Error::Archive {
                kind: ArchiveErrorKind::BadManifest,
                message: format!(
                    "the manifest {} names chunk {} (segments {}..={}), which is missing",
                    remote.url(&key),
                    remote.url(&ck),
                    c.first,
                    c.last
                ),
            });
        };
        m.merge_chunk(&c, &obj.bytes).map_err(|e| named(&ck, e))?;
    }
    Ok(Some((m, head.e_tag)))
}

fn location_of(cfg: &S3Config) -> String {
    let p = cfg.clean_prefix();
    if p.is_empty() {
        format!("s3://{}/", cfg.bucket)
    } else {
        format!("s3://{}/{}/", cfg.bucket, p)
    }
}

/// Reads segment `e`'s object from `remote` and checks it against `e`.
pub(super) fn fetch_verified(
    remote: &Remote,
    e: &ManifestEntry,
    cancel: store::Cancel<'_>,
) -> Result<Vec<u8>> {
    let key = store::segment_key(&remote.prefix, e.segment);
    let url = remote.url(&key);
    let Some(obj) = remote.get(&key, cancel)? else {
        return Err(Error::Archive {
            kind: ArchiveErrorKind::NotFound,
            message: format!(
                "segment {} is listed in the manifest but {url} is missing",
                e.segment
            ),
        });
    };
    verify_object(e, &obj.bytes, &url)?;
    Ok(obj.bytes)
}

/// Checks an object against its manifest entry: size, CRC32C, header.
fn verify_object(e: &ManifestEntry, bytes: &[u8], url: &str) -> Result<()> {
    let corrupt = |offset: u64, reason: String| Error::Corruption {
        segment: crate::SegmentId(e.segment),
        offset,
        reason,
    };
    if bytes.len() as u64 != e.size {
        return Err(corrupt(
            (bytes.len() as u64).min(e.size),
            format!(
                "archived object {url} is {} bytes but the manifest says {} (truncated or replaced)",
                bytes.len(),
                e.size
            ),
        ));
    }
    let crc = crc32c::crc32c(bytes);
    if crc != e.crc32c {
        return Err(corrupt(
            0,
            format!(
                "archived object {url} fails its checksum: CRC32C {crc:08x}, the manifest says {:08x}",
                e.crc32c
            ),
        ));
    }
    match SegmentHeader::decode(bytes) {
        HeaderDecode::Valid(h)
            if h.segment == e.segment
                && h.first_lsn == e.first_lsn
                && h.salt == e.salt
                && h.capacity == e.capacity => {}
        _ => {
            return Err(corrupt(
                0,
                format!("archived object {url} has a header that does not match the manifest"),
            ));
        }
    }
    Ok(())
}

// ---- The archive as the core's segment tier. ----

/// `Wal::open` / `Wal::open_read_only`: the archive tier, if configured.
pub(crate) fn tier_for(shared: &Shared) -> Result<Option<Arc<dyn SegmentTier>>> {
    let Some(cfg) = shared.config.s3.clone() else {
        if shared.config.backend == crate::BackendType::AwsS3 {
            tracing::warn!("backend aws_s3 without S3 settings (Config::s3): nothing is archived");
        }
        return Ok(None);
    };
    let local = LocalState::load(&shared.dir, &location_of(&cfg))?;
    let a = Archive::new(cfg, Some(shared.dir.clone()), local, &shared.seams)?;
    Ok(Some(Arc::new(a)))
}

/// The archive behind a WAL's tier, if it has one.
pub(crate) fn of(shared: &Shared) -> Option<&Archive> {
    shared.tier.as_ref()?.as_any().downcast_ref::<Archive>()
}

impl SegmentTier for Archive {
    /// The floor that `archive.state` records: the local tail may have lost
    /// what a power cut took from its unsynced writes; the archive may hold more.
    fn sealed_floor(&self) -> Option<(u64, u64)> {
        self.local.lock().sealed_through
    }

    fn start(self: Arc<Self>, shared: &Arc<Shared>) -> Result<()> {
        if shared.read_only {
            return Ok(());
        }
        let s = shared.clone();
        let a = self.clone();
        let h = std::thread::Builder::new()
            .name("xwal-archiver".into())
            .spawn(move || a.run(s))
            .map_err(|e| Error::io("spawning the archiver thread", e))?;
        *self.thread.lock() = Some(h);
        tracing::info!(location = %self.location(), "archiver started");
        Ok(())
    }

    /// An upload in flight is abandoned (S3 keeps no partial object).
    fn stop(&self) {
        self.stop_tx.lock().take();
        if let Some(h) = self.thread.lock().take() {
            let _ = h.join();
        }
    }

    fn throttle_appends(&self) {
        Archive::throttle_appends(self);
    }

    fn extend_snapshot(&self, local: Vec<SegmentMeta>) -> Result<Vec<SegmentMeta>> {
        self.visible(local, true)
    }

    fn visible_now(&self, local: Vec<SegmentMeta>) -> Vec<SegmentMeta> {
        self.visible(local.clone(), false).unwrap_or(local)
    }

    fn fetch(&self, segment: u64) -> Result<File> {
        self.fetch_segment(segment)
    }

    /// Release instead of deleting unarchived data; a read-only or remote view releases nothing.
    fn release(&self, shared: &Shared, through: Option<u64>) -> Option<Result<Vec<u64>>> {
        if shared.read_only || self.dir.is_none() {
            return None;
        }
        Some(match through {
            Some(t) => self.release_through(shared, t),
            None => Ok(vec![]),
        })
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_of_consecutive_segments() {
        assert_eq!(runs([].into_iter()), vec![]);
        assert_eq!(
            runs([3, 4, 5, 9, 11, 12].into_iter()),
            vec![(3, 5), (9, 9), (11, 12)]
        );
        assert_eq!(
            runs([u64::MAX - 1, u64::MAX].into_iter()),
            vec![(u64::MAX - 1, u64::MAX)]
        );
    }

    #[test]
    fn local_state_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let st = LocalState {
            location: "s3://b/p/".into(),
            released_through: Some(4),
            remote_only: Some((2, 9)),
            sealed_through: Some((9, 12345)),
            listed_through: Some(8),
            writer: Some(0xfeed),
        };
        st.store(dir.path()).unwrap();
        assert_eq!(LocalState::load(dir.path(), "s3://b/p/").unwrap(), st);
        let e = LocalState::load(dir.path(), "s3://other/").unwrap_err();
        assert!(e.to_string().contains("point it back"), "{e}");
        std::fs::write(dir.path().join(STATE_FILE), "garbage").unwrap();
        assert!(LocalState::load(dir.path(), "s3://b/p/").is_err());
    }
}
