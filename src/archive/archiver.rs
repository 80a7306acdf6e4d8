//! The archiver thread: uploads sealed segments in order, lists them in the
//! manifest, applies local retention. Never on the commit path: it reads the
//! segment table (a short lock) and sealed files, which never change.
//!
//! One step:
//! 1. Read the manifest once (absent = empty archive, once the bucket exists).
//! 2. Sealed local segments (all but the last in the table) not in the manifest
//!    are the backlog. A local segment the manifest lists with another salt or
//!    first LSN is a conflict: nothing is uploaded or deleted.
//! 3. Upload the oldest: read the file, check its header and every record up to
//!    its last LSN, trim it after the block holding the last record, and PUT it
//!    create-only with a SHA-256 the server checks. The ETag must be the MD5 of
//!    what was sent (else the object is read back and compared). An object that
//!    already exists (uploaded before a crash) is read back and must be
//!    identical.
//! 4. After a few uploads, or when the backlog is empty, write the manifest
//!    (conditional on the version read, so two writers cannot both win).
//! 5. Retention deletes a prefix of confirmed segments locally.
//!
//! Failures are recorded in the status and retried with exponential backoff.

use super::manifest::{Manifest, ManifestEntry};
use super::store::{self, Created};
use super::{Archive, LocalRetention};
use crate::error::{ArchiveErrorKind, Error, Result};
use crate::format::{
    BLOCK_SIZE, DecodeError, HeaderDecode, RecordDecode, SegmentHeader, align_up, decode_record,
};
use crate::io::fs;
use crate::shared::{SegmentMeta, Shared};
use md5::{Digest, Md5};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Uploads between two manifest writes while a backlog drains.
const MANIFEST_BATCH: usize = 8;

impl Archive {
    /// The thread body.
    pub(super) fn run(self: Arc<Self>, shared: Arc<Shared>) {
        let first_backoff = Duration::from_millis(100).min(self.cfg.max_backoff);
        let mut backoff = first_backoff;
        let mut unconfirmed: Vec<ManifestEntry> = Vec::new();
        loop {
            if self.stopping() || self.crashed.load(Ordering::Acquire) {
                break;
            }
            match self.step(&shared, &mut unconfirmed) {
                Ok(true) => backoff = first_backoff,
                Ok(false) => {
                    backoff = first_backoff;
                    self.sleep(self.cfg.poll_interval);
                }
                Err(Error::Closed) => break,
                Err(e) => {
                    self.record_error(e);
                    self.sleep(backoff);
                    backoff = (backoff * 2).min(self.cfg.max_backoff);
                }
            }
        }
        tracing::debug!("archiver stopped");
    }

    fn sleep(&self, d: Duration) {
        crossbeam_channel::select! {
            recv(self.wake_rx) -> _ => {},
            recv(self.stop_rx) -> _ => {},
            default(d) => {},
        }
    }

    fn record_error(&self, e: Error) {
        let mut st = self.status.lock();
        // A new kind of failure is a warning; the same one again, every retry, is debug.
        let key = |e: &Error| match e {
            Error::Archive { kind, .. } => format!("{kind:?}"),
            other => other.to_string(),
        };
        let same = st.last_error.as_ref().map(key) == Some(key(&e));
        if same {
            tracing::debug!(error = %e, failures = st.errors + 1, "archiving failed again; will retry");
        } else {
            tracing::warn!(error = %e, "archiving failed; will retry");
        }
        st.errors += 1;
        st.last_error = Some(e);
        drop(st);
        self.changed.notify_all();
    }

    fn clear_error(&self) {
        let mut st = self.status.lock();
        if st.last_error.take().is_some() {
            tracing::info!("archiving recovered");
        }
    }

    fn set_pending(&self, pending: usize) {
        let mut st = self.status.lock();
        let full = pending > self.cfg.max_backlog;
        if full && !st.backlog_full {
            tracing::warn!(
                pending,
                max_backlog = self.cfg.max_backlog,
                behaviour = ?self.cfg.backlog_full,
                "S3 archive backlog is full: sealed segments stay on local disk until they are uploaded"
            );
        } else if !full && st.backlog_full {
            tracing::info!(pending, "S3 archive backlog is below its limit again");
        }
        st.pending = pending;
        st.backlog_full = full;
        drop(st);
        crate::metrics::set_archive_backlog(pending);
        self.changed.notify_all();
    }

    /// Reads the manifest; until it is read, every sealed segment counts as pending.
    fn load_view_counting_pending(
        &self,
        shared: &Shared,
        cancel: store::Cancel<'_>,
    ) -> Result<Arc<Manifest>> {
        self.set_pending(shared.table.lock().len().saturating_sub(1));
        self.load_view(cancel)
    }

    /// One unit of work; true if something was done (run again at once).
    fn step(&self, shared: &Shared, unconfirmed: &mut Vec<ManifestEntry>) -> Result<bool> {
        let cancel = Some(&self.stop_rx);
        let manifest = match self.manifest() {
            Some(m) => m,
            None => match self.load_view_counting_pending(shared, cancel) {
                Ok(m) => {
                    self.clear_error();
                    m
                }
                Err(e) => {
                    // Until the manifest is read, every sealed segment counts as pending.
                    let sealed = shared.table.lock().len().saturating_sub(1);
                    self.set_pending(sealed);
                    return Err(e);
                }
            },
        };
        let table: Vec<SegmentMeta> = shared.table.lock().values().copied().collect();
        self.check_writer(&manifest, &table)?;
        let sealed = table.len().saturating_sub(1);
        let mut pending: Vec<(SegmentMeta, u64, bool)> = Vec::new();
        for (i, m) in table[..sealed].iter().enumerate() {
            match manifest.entries.get(&m.segment) {
                Some(e) if e.same_segment(m) => {}
                Some(e) => {
                    return Err(Error::Archive {
                        kind: ArchiveErrorKind::Conflict,
                        message: format!(
                            "local segment {} (first LSN {}) is not the segment {} archived at {} (first LSN {}): another WAL archives to this prefix, or it belongs to an earlier WAL in this directory; use another prefix. Nothing is uploaded or deleted",
                            m.segment,
                            m.first_lsn,
                            e.segment,
                            self.location(),
                            e.first_lsn
                        ),
                    });
                }
                None if unconfirmed.iter().any(|u| u.segment == m.segment) => {}
                None => {
                    // Before an LSN gap a repair reserved, the records end
                    // where they end; the floor still covers the gap.
                    let next = &table[i + 1];
                    pending.push((*m, next.first_lsn.saturating_sub(1), next.lsn_gap_before));
                }
            }
        }
        self.set_pending(pending.len() + unconfirmed.len());
        if let Some((meta, last_lsn, open_end)) = pending.first().copied() {
            // Durably first: this segment is sealed for good and its LSNs were
            // handed out, whatever the local files lose later.
            let known = self.local.lock().sealed_through;
            if known.is_none_or(|(s, _)| s < meta.segment) {
                self.update_local(|st| st.sealed_through = Some((meta.segment, last_lsn)))?;
            }
            let entry = self.upload(shared, &meta, last_lsn, open_end)?;
            debug_assert!(
                unconfirmed.last().is_none_or(|u| u.segment < entry.segment),
                "segments are archived oldest first"
            );
            unconfirmed.push(entry);
            if unconfirmed.len() >= MANIFEST_BATCH || pending.len() == 1 {
                self.write_manifest(unconfirmed)?;
                self.set_pending(pending.len() - 1);
            }
            self.clear_error();
            return Ok(true);
        }
        if !unconfirmed.is_empty() {
            self.write_manifest(unconfirmed)?;
            self.set_pending(0);
            self.clear_error();
            return Ok(true);
        }
        Ok(self.apply_retention(shared)? > 0)
    }

    /// The archive belongs to one WAL: the manifest's writer id must be this
    /// directory's. A directory without one (new, or its archive.state lost)
    /// takes the manifest's only if one of its segments is listed there with
    /// the same salt (the same WAL, proven by its data); an archive with
    /// segments and another id is another WAL's: `Conflict`, nothing uploaded.
    fn check_writer(&self, manifest: &Manifest, table: &[SegmentMeta]) -> Result<()> {
        let mine = self.local.lock().writer;
        let conflict = |why: String| Error::Archive {
            kind: ArchiveErrorKind::Conflict,
            message: format!(
                "the archive at {} {why}: another WAL archives to this prefix; use another prefix. Nothing is uploaded or deleted",
                self.location()
            ),
        };
        match (manifest.writer, mine) {
            (Some(w), Some(m)) if w == m => Ok(()),
            (Some(w), Some(m)) => Err(conflict(format!(
                "is written by WAL {w:016x}, this directory is WAL {m:016x}"
            ))),
            (None, Some(m)) if !manifest.entries.is_empty() => Err(conflict(format!(
                "has a manifest without a writer id, but this directory (WAL {m:016x}) wrote it with one"
            ))),
            (None, _) => Ok(()),
            (Some(w), None) => {
                let proven = manifest.entries.is_empty()
                    || table.iter().any(|m| {
                        manifest
                            .entries
                            .get(&m.segment)
                            .is_some_and(|e| e.same_segment(m))
                    });
                if !proven {
                    return Err(conflict(format!(
                        "is written by WAL {w:016x}, and none of this directory's segments is in it"
                    )));
                }
                self.update_local(|st| st.writer = Some(w))
            }
        }
    }

    /// Uploads one sealed segment; returns its manifest entry once the object
    /// in S3 is known to hold exactly its bytes.
    fn upload(
        &self,
        shared: &Shared,
        meta: &SegmentMeta,
        last_lsn: u64,
        open_end: bool,
    ) -> Result<ManifestEntry> {
        let cancel = Some(&self.stop_rx);
        let started = Instant::now();
        let mut data = read_local(shared, meta)?;
        let (size, last_lsn) = sealed_len(&data, meta, last_lsn, open_end)?;
        assert!(
            BLOCK_SIZE <= size && size <= data.len() && meta.first_lsn <= last_lsn + 1,
            "segment {} archived as {size} bytes through LSN {last_lsn}",
            meta.segment
        );
        data.truncate(size);
        let crc = crc32c::crc32c(&data);
        let md5 = hex(&Md5::digest(&data));
        let entry = ManifestEntry {
            segment: meta.segment,
            first_lsn: meta.first_lsn,
            last_lsn,
            checkpoint: meta.checkpoint,
            size: size as u64,
            crc32c: crc,
            capacity: meta.capacity,
            salt: meta.salt,
            max_entry_size: meta.max_entry_size,
            lsn_gap_before: meta.lsn_gap_before,
        };
        let key = store::segment_key(&self.remote.prefix, meta.segment);
        let url = self.remote.url(&key);
        let metadata = vec![
            ("xwal-first-lsn", meta.first_lsn.to_string()),
            ("xwal-last-lsn", last_lsn.to_string()),
            ("xwal-checkpoint", u8::from(meta.checkpoint).to_string()),
            ("xwal-crc32c", format!("{crc:08x}")),
        ];
        let verified_by = match self.remote.put_create(&key, data, metadata, cancel)? {
            Created::New(Some(tag)) if tag.trim_matches('"').eq_ignore_ascii_case(&md5) => "etag",
            Created::New(_) => {
                // The ETag is not a plain MD5 (SSE-KMS, for one): read it back.
                self.same_object(&entry, &key, "the object just uploaded")?;
                "read-back"
            }
            Created::AlreadyExists => {
                // Uploaded before a crash (the manifest write did not happen), or
                // by someone else: it must hold exactly these bytes.
                self.same_object(&entry, &key, "an object already at this key")?;
                tracing::info!(segment = meta.segment, %url, "segment was already archived (verified)");
                "existing"
            }
        };
        tracing::debug!(
            segment = meta.segment,
            bytes = size,
            verified_by,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "archived segment"
        );
        Ok(entry)
    }

    /// Reads `key` back and compares it with `entry`.
    fn same_object(&self, entry: &ManifestEntry, key: &str, what: &str) -> Result<()> {
        let url = self.remote.url(key);
        let Some(obj) = self.remote.get(key, Some(&self.stop_rx))? else {
            return Err(Error::Archive {
                kind: ArchiveErrorKind::NotFound,
                message: format!("{what} ({url}) vanished while being verified; retrying"),
            });
        };
        if obj.bytes.len() as u64 != entry.size || crc32c::crc32c(&obj.bytes) != entry.crc32c {
            return Err(Error::Archive {
                kind: ArchiveErrorKind::Conflict,
                message: format!(
                    "{what} ({url}, {} bytes) differs from local segment {} ({} bytes, CRC32C {:08x}): another WAL archives to this prefix, or the object was replaced; nothing is overwritten or deleted",
                    obj.bytes.len(),
                    entry.segment,
                    entry.size,
                    entry.crc32c
                ),
            });
        }
        Ok(())
    }

    /// Lists `unconfirmed` in the manifest (a conditional write on the version
    /// read), then makes them part of the view.
    fn write_manifest(&self, unconfirmed: &mut Vec<ManifestEntry>) -> Result<()> {
        if self.crash_before_manifest {
            tracing::warn!(
                "test seam crash_before_manifest: the archiver stops before writing the manifest"
            );
            self.crashed.store(true, Ordering::Release);
            return Err(Error::Closed);
        }
        let cancel = Some(&self.stop_rx);
        let (current, e_tag) = {
            let v = self.view.lock();
            match v.as_ref() {
                Some(v) => (v.manifest.clone(), v.e_tag.clone()),
                None => (Arc::new(Manifest::default()), None),
            }
        };
        let mut next = (*current).clone();
        for e in unconfirmed.iter() {
            let before = next.entries.insert(e.segment, *e);
            // A segment's entry never changes once listed (a conflict is
            // refused before it gets here).
            debug_assert!(before.is_none_or(|b| b == *e));
        }
        // The first write of a new archive names its writer.
        if next.writer.is_none() {
            let id = match self.local.lock().writer {
                Some(id) => id,
                None => {
                    (u64::from(crate::dir::random_salt()) << 32)
                        | u64::from(crate::dir::random_salt())
                }
            };
            self.update_local(|st| st.writer = Some(id))?;
            next.writer = Some(id);
        }
        // A full head moves its oldest entries into an immutable chunk, stored
        // (create-only) before the head that names it: every head write stays
        // small however large the archive grows.
        while let Some((chunk, bytes)) = next.seal_chunk(self.manifest_chunk_entries) {
            self.store_chunk(&chunk, bytes)?;
        }
        match self.remote.put_manifest(next.encode(), e_tag, cancel) {
            Ok(tag) => self.manifest_written(next, tag, unconfirmed),
            Err(Error::Archive {
                kind: ArchiveErrorKind::Conflict,
                message,
            }) => Err(self.manifest_conflict(unconfirmed, message)),
            Err(e) => Err(e),
        }
    }

    /// The manifest `next` is in S3 under `tag`: it becomes the view, and the
    /// entries it confirmed leave `unconfirmed`.
    fn manifest_written(
        &self,
        next: Manifest,
        tag: Option<String>,
        unconfirmed: &mut Vec<ManifestEntry>,
    ) -> Result<()> {
        debug_assert!(
            unconfirmed
                .iter()
                .all(|e| next.entries.contains_key(&e.segment))
        );
        *self.view.lock() = Some(super::View {
            manifest: Arc::new(next),
            e_tag: tag,
        });
        tracing::debug!(listed = unconfirmed.len(), "manifest written");
        let newest = unconfirmed.iter().map(|e| e.segment).max();
        if let Some(n) = newest {
            self.update_local(|st| {
                st.listed_through = st.listed_through.max(Some(n));
            })?;
        }
        {
            let mut st = self.status.lock();
            st.pending = st.pending.saturating_sub(unconfirmed.len());
        }
        unconfirmed.clear();
        self.changed.notify_all();
        Ok(())
    }

    /// The manifest changed since it was read: our own earlier write whose
    /// answer was lost, or another writer. Reads it again; the next try merges
    /// our entries if they agree with it.
    fn manifest_conflict(&self, unconfirmed: &[ManifestEntry], message: String) -> Error {
        let fresh = match self.load_view(Some(&self.stop_rx)) {
            Ok(m) => m,
            Err(e) => return e,
        };
        for e in unconfirmed {
            if fresh.entries.get(&e.segment).is_some_and(|x| x != e) {
                return Error::Archive {
                    kind: ArchiveErrorKind::Conflict,
                    message: format!(
                        "the manifest at {} lists segment {} with other contents: another WAL archives to this prefix",
                        self.location(),
                        e.segment
                    ),
                };
            }
        }
        Error::Archive {
            kind: ArchiveErrorKind::Conflict,
            message: format!("{message}; read it again and will retry"),
        }
    }

    /// Stores a manifest chunk create-only; one already there (an earlier try
    /// whose head write failed) must hold exactly these bytes.
    fn store_chunk(&self, chunk: &super::ChunkRef, bytes: Vec<u8>) -> Result<()> {
        let cancel = Some(&self.stop_rx);
        let key = store::manifest_chunk_key(&self.remote.prefix, chunk.first);
        match self
            .remote
            .put_create(&key, bytes.clone(), vec![], cancel)?
        {
            Created::New(_) => Ok(()),
            Created::AlreadyExists => match self.remote.get(&key, cancel)? {
                Some(f) if f.bytes == bytes => Ok(()),
                _ => Err(Error::Archive {
                    kind: ArchiveErrorKind::Conflict,
                    message: format!(
                        "manifest chunk {} already exists with other contents: another WAL archives to this prefix",
                        self.remote.url(&key)
                    ),
                }),
            },
        }
    }

    /// Deletes, oldest first, the local segments that are listed in the
    /// manifest and that the retention policy (or a user release) lets go.
    /// Never the active segment, never a gap. Returns how many were deleted.
    pub(super) fn apply_retention(&self, shared: &Shared) -> Result<usize> {
        let _one_at_a_time = self.retention_lock.lock();
        let Some(manifest) = self.manifest() else {
            return Ok(0);
        };
        let released = self.local.lock().released_through;
        let table: Vec<SegmentMeta> = shared.table.lock().values().copied().collect();
        let sealed = &table[..table.len().saturating_sub(1)];
        // The oldest `deletable` sealed segments may go by policy.
        let deletable = match self.cfg.retention {
            LocalRetention::KeepAll => 0,
            LocalRetention::KeepNewest(n) => sealed.len().saturating_sub(n),
        };
        let mut victims = Vec::new();
        for (i, m) in sealed.iter().enumerate() {
            let allowed = i < deletable || released.is_some_and(|r| m.segment <= r);
            let archived = manifest
                .entries
                .get(&m.segment)
                .is_some_and(|e| e.same_segment(m));
            if !(allowed && archived) {
                break;
            }
            victims.push(m.segment);
        }
        let (Some(&lo), Some(&hi)) = (victims.first(), victims.last()) else {
            return Ok(0);
        };
        // The active segment is never archived, so never a victim.
        assert!(
            table.last().is_some_and(|active| hi < active.segment),
            "retention reached the active segment"
        );
        // Record first that these now live only in S3, so that a restart looks there.
        self.update_local(|st| {
            st.remote_only = Some(match st.remote_only {
                Some((a, b)) => (a.min(lo), b.max(hi)),
                None => (lo, hi),
            })
        })?;
        let done = shared.delete_prefix(&victims)?;
        self.status.lock().local_deleted += done.len() as u64;
        if !done.is_empty() {
            tracing::info!(segments = ?done, "deleted archived segments locally");
        }
        Ok(done.len())
    }
}

/// Reads a sealed segment file (following a checkpoint rename) and drops it
/// from the page cache afterwards.
fn read_local(shared: &Shared, meta: &SegmentMeta) -> Result<Vec<u8>> {
    for checkpoint in [meta.checkpoint, !meta.checkpoint] {
        let path = crate::dir::segment_path(&shared.dir, meta.segment, checkpoint);
        let f = match fs::open(&path, fs::OpenHow::READ) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io(format!("opening {}", path.display()), e)),
        };
        let read = || -> std::io::Result<Vec<u8>> {
            let len = usize::try_from(f.metadata()?.len()).map_err(std::io::Error::other)?;
            let mut data = vec![0u8; len];
            let n = fs::read_at(&path, &f, &mut data, 0)?;
            data.truncate(n);
            Ok(data)
        };
        let data = read().map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        fs::drop_cached_pages(&f);
        return Ok(data);
    }
    Err(Error::NotFound {
        what: "segment",
        number: meta.segment,
    })
}

/// Checks a sealed segment's header and every record through `last_lsn`, and
/// returns the length to archive: up to the end of the block holding the last
/// record (what follows is zero fill). Corrupt data is never archived.
/// The object's length (the segment up to the block holding its last
/// record) and its last LSN: `last_lsn`, or with `open_end` (an LSN gap
/// follows) wherever its records end before it.
fn sealed_len(
    data: &[u8],
    meta: &SegmentMeta,
    last_lsn: u64,
    open_end: bool,
) -> Result<(usize, u64)> {
    let corrupt = |offset: usize, reason: String| Error::Corruption {
        segment: crate::SegmentId(meta.segment),
        offset: offset as u64,
        reason: format!("{reason} (found while archiving; the segment is not uploaded)"),
    };
    match SegmentHeader::decode(data) {
        HeaderDecode::Valid(h)
            if h.segment == meta.segment
                && h.first_lsn == meta.first_lsn
                && h.salt == meta.salt => {}
        _ => {
            return Err(corrupt(
                0,
                "segment header does not match the segment table".into(),
            ));
        }
    }
    let mut off = BLOCK_SIZE;
    let mut lsn = meta.first_lsn;
    while lsn <= last_lsn {
        let rest = data.get(off..).unwrap_or(&[]);
        match decode_record(rest, meta.salt, meta.max_entry_size) {
            RecordDecode::Record(r) if r.header.lsn == lsn => {
                off += r.len;
                lsn += 1;
            }
            RecordDecode::Record(r) => {
                return Err(corrupt(
                    off,
                    format!("expected LSN {lsn}, found {}", r.header.lsn),
                ));
            }
            RecordDecode::NeedMore(_) | RecordDecode::Invalid(DecodeError::Zero) if open_end => {
                break;
            }
            RecordDecode::NeedMore(_) => {
                return Err(corrupt(off, format!("segment ends before LSN {lsn}")));
            }
            RecordDecode::Invalid(e) => {
                return Err(corrupt(
                    off,
                    format!("{} (expected LSN {lsn})", e.describe()),
                ));
            }
        }
    }
    let size = (align_up(off as u64, BLOCK_SIZE as u64) as usize).min(data.len());
    Ok((size, lsn - 1))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
