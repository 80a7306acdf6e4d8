//! The S3 client: object_store's `AmazonS3` driven by a small current-thread
//! tokio runtime on its own I/O thread. The rest of xwal stays synchronous: a
//! call spawns the request on that runtime and waits on a channel, so the
//! archiver thread and any replay thread can use one client (one connection
//! pool) at the same time.
//!
//! Every error is mapped to [`Error::Archive`] with a kind and a message that
//! says what to change; configured secrets are cut out of server messages.

use crate::config::s3::{S3Config, S3Credentials, load_profile};
use crate::error::{ArchiveErrorKind, Error, Result};
use object_store::aws::{AmazonS3, AmazonS3Builder, Checksum};
use object_store::path::Path;
use object_store::{
    Attribute, AttributeValue, Attributes, BackoffConfig, ClientOptions, ObjectStore,
    ObjectStoreExt, PutMode, PutOptions, PutPayload, RetryConfig, UpdateVersion,
};
use std::future::Future;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// Object key of segment `n` under `prefix`: 20 digits, so keys sort in segment order.
pub(crate) fn segment_key(prefix: &str, n: u64) -> String {
    join(prefix, &format!("segments/{n:020}.seg"))
}

/// Object key of the manifest under `prefix`.
pub(crate) fn manifest_key(prefix: &str) -> String {
    join(prefix, "manifest")
}

/// Object key of the manifest chunk whose first segment is `first`.
pub(crate) fn manifest_chunk_key(prefix: &str, first: u64) -> String {
    join(prefix, &format!("manifest.d/{first:020}"))
}

fn join(prefix: &str, rest: &str) -> String {
    if prefix.is_empty() {
        rest.to_string()
    } else {
        format!("{prefix}/{rest}")
    }
}

/// Result of a create-only PUT.
pub(crate) enum Created {
    /// Written; the server's ETag, if it sent one.
    New(Option<String>),
    /// An object already had that key: nothing was written.
    AlreadyExists,
}

/// An object read back, with its ETag.
pub(crate) struct Fetched {
    pub bytes: Vec<u8>,
    pub e_tag: Option<String>,
}

/// A way to stop waiting for a call (the archiver's stop signal).
pub(crate) type Cancel<'a> = Option<&'a crossbeam_channel::Receiver<()>>;

pub(crate) struct Remote {
    store: Arc<AmazonS3>,
    handle: tokio::runtime::Handle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    /// Secrets to cut out of any message.
    secrets: Vec<String>,
    pub bucket: String,
    pub prefix: String,
    /// Where the server is, for messages ("AWS" or the endpoint URL).
    where_: String,
    /// Upper bound of one call, retries included.
    call_timeout: Duration,
    /// Calls waiting for an answer: id -> (started, what), so that a hung
    /// server shows in the status before the first call times out.
    in_flight: parking_lot::Mutex<std::collections::BTreeMap<u64, (std::time::Instant, String)>>,
    next_call: std::sync::atomic::AtomicU64,
}

/// A request outstanding longer than this is reported in the archive status
/// as a server that may be hung, long before `request_timeout` ends it.
pub(crate) const HEALTH_BOUND: Duration = Duration::from_secs(5);

impl Remote {
    /// Builds the client and starts its I/O thread. Does not contact the server.
    pub fn new(cfg: &S3Config) -> Result<Remote> {
        cfg.validate()?;
        let mut secrets = cfg.credentials.secrets();
        let mut b = match &cfg.credentials {
            S3Credentials::Environment => AmazonS3Builder::from_env(),
            S3Credentials::Profile(name) => {
                let (key, secret, token) = load_profile(name)?;
                secrets.push(key.expose_secret().to_string());
                secrets.push(secret.expose_secret().to_string());
                let mut b = AmazonS3Builder::new()
                    .with_access_key_id(key.expose_secret())
                    .with_secret_access_key(secret.expose_secret());
                if let Some(t) = token {
                    secrets.push(t.expose_secret().to_string());
                    b = b.with_token(t.expose_secret());
                }
                b
            }
            S3Credentials::Static {
                access_key_id,
                secret_access_key,
                session_token,
            } => {
                let mut b = AmazonS3Builder::new()
                    .with_access_key_id(access_key_id.expose_secret())
                    .with_secret_access_key(secret_access_key.expose_secret());
                if let Some(t) = session_token {
                    b = b.with_token(t.expose_secret());
                }
                b
            }
        };
        if matches!(cfg.credentials, S3Credentials::Environment) {
            for var in [
                "AWS_ACCESS_KEY_ID",
                "AWS_SECRET_ACCESS_KEY",
                "AWS_SESSION_TOKEN",
            ] {
                if let Ok(v) = std::env::var(var) {
                    secrets.push(v);
                }
            }
        }
        secrets.retain(|s| s.len() >= 4);
        b = b
            .with_bucket_name(&cfg.bucket)
            .with_region(&cfg.region)
            .with_virtual_hosted_style_request(!cfg.path_style)
            // The server checks this SHA-256 of the body (x-amz-checksum-sha256) and
            // refuses a damaged upload; object_store offers SHA-256 or CRC64NVME, not MD5.
            .with_checksum_algorithm(Checksum::SHA256)
            .with_client_options(
                ClientOptions::new()
                    .with_connect_timeout(cfg.connect_timeout)
                    .with_timeout(cfg.request_timeout)
                    .with_allow_http(
                        cfg.endpoint
                            .as_deref()
                            .is_some_and(|e| e.starts_with("http://")),
                    ),
            )
            // A few quick retries inside one call; the archiver retries with its own
            // longer backoff, so a down server costs one short call per attempt.
            .with_retry(RetryConfig {
                backoff: BackoffConfig {
                    init_backoff: Duration::from_millis(100),
                    max_backoff: Duration::from_secs(2),
                    base: 2.0,
                },
                max_retries: 2,
                retry_timeout: cfg.request_timeout,
            });
        let where_ = match &cfg.endpoint {
            Some(e) => {
                b = b.with_endpoint(e);
                e.clone()
            }
            None => format!("AWS S3 ({})", cfg.region),
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::io("starting the S3 client runtime", e))?;
        let handle = rt.handle().clone();
        let store = {
            let _guard = handle.enter();
            b.build().map_err(|e| Error::Archive {
                kind: ArchiveErrorKind::Other,
                message: redact(
                    &secrets,
                    &format!("building the S3 client for bucket {}: {e}", cfg.bucket),
                ),
            })?
        };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("xwal-s3-io".into())
            .spawn(move || {
                rt.block_on(async {
                    let _ = stopped.await;
                });
                rt.shutdown_background();
            })
            .map_err(|e| Error::io("spawning the S3 I/O thread", e))?;
        // Retries inside one call are bounded by retry_timeout; leave room for the
        // last attempt and the connects.
        let call_timeout = cfg.request_timeout * 2 + cfg.connect_timeout * 3;
        Ok(Remote {
            store: Arc::new(store),
            handle,
            stop: Some(stop),
            thread: Some(thread),
            secrets,
            bucket: cfg.bucket.clone(),
            prefix: cfg.clean_prefix(),
            where_,
            call_timeout,
            in_flight: parking_lot::Mutex::new(std::collections::BTreeMap::new()),
            next_call: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// The oldest call outstanding for longer than `bound`: its age and what it does.
    pub fn stalled(&self, bound: Duration) -> Option<(Duration, String)> {
        let calls = self.in_flight.lock();
        let (started, what) = calls.values().min_by_key(|c| c.0)?;
        let age = started.elapsed();
        (age > bound).then(|| (age, what.clone()))
    }

    /// `s3://bucket/key`, for messages.
    pub fn url(&self, key: &str) -> String {
        format!("s3://{}/{}", self.bucket, key)
    }

    /// Runs `fut` on the I/O thread and waits for it, or for `cancel`.
    fn call<T: Send + 'static>(
        &self,
        what: &str,
        cancel: Cancel<'_>,
        fut: impl Future<Output = object_store::Result<T>> + Send + 'static,
    ) -> Result<object_store::Result<T>> {
        let (tx, rx) = crossbeam_channel::bounded(1);
        let limit = self.call_timeout;
        let task = self.handle.spawn(async move {
            let r = tokio::time::timeout(limit, fut).await;
            let _ = tx.send(r);
        });
        let never = crossbeam_channel::never();
        let cancel = cancel.unwrap_or(&never);
        let id = self
            .next_call
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.in_flight
            .lock()
            .insert(id, (std::time::Instant::now(), what.to_string()));
        struct Done<'a>(&'a Remote, u64);
        impl Drop for Done<'_> {
            fn drop(&mut self) {
                self.0.in_flight.lock().remove(&self.1);
            }
        }
        let _done = Done(self, id);
        crossbeam_channel::select! {
            recv(rx) -> r => match r {
                Ok(Ok(r)) => Ok(r),
                Ok(Err(_elapsed)) => Err(Error::Archive {
                    kind: ArchiveErrorKind::Unreachable,
                    message: format!("{what}: no answer from {} within {:?}", self.where_, limit),
                }),
                Err(_) => Err(Error::Archive {
                    kind: ArchiveErrorKind::Other,
                    message: format!("{what}: the S3 I/O thread has stopped"),
                }),
            },
            recv(cancel) -> _ => {
                task.abort();
                Err(Error::Closed)
            }
        }
    }

    /// Maps an object_store error to [`Error::Archive`], with what to change.
    pub fn error(&self, what: &str, e: object_store::Error) -> Error {
        use object_store::Error as E;
        // Redact before cutting: a cut through a secret would leave its
        // prefix, which no longer matches the secret.
        let text = compact(&redact(&self.secrets, &e.to_string()));
        let (kind, hint) = match &e {
            E::NotFound { .. } if text.contains("NoSuchBucket") => (
                ArchiveErrorKind::NoSuchBucket,
                format!(
                    "bucket {:?} does not exist at {}: create it or fix S3Config::bucket",
                    self.bucket, self.where_
                ),
            ),
            E::NotFound { .. } => (ArchiveErrorKind::NotFound, "not found".to_string()),
            E::PermissionDenied { .. } | E::Unauthenticated { .. } => (
                ArchiveErrorKind::AccessDenied,
                format!(
                    "access denied by {} (the access key is unknown, the secret is wrong, or the key may not use bucket {:?}): check S3Config::credentials and the bucket policy",
                    self.where_, self.bucket
                ),
            ),
            E::AlreadyExists { .. } | E::Precondition { .. } => (
                ArchiveErrorKind::Conflict,
                "the object changed under us (another writer?)".to_string(),
            ),
            _ if looks_unreachable(&e) => (
                ArchiveErrorKind::Unreachable,
                format!("cannot reach {}", self.where_),
            ),
            _ => (ArchiveErrorKind::Other, "request failed".to_string()),
        };
        Error::Archive {
            kind,
            message: redact(&self.secrets, &format!("{what}: {hint}: {text}")),
        }
    }

    /// Reads an object; `None` if it does not exist (a missing bucket is an error).
    pub fn get(&self, key: &str, cancel: Cancel<'_>) -> Result<Option<Fetched>> {
        let store = self.store.clone();
        let path = Path::from(key);
        let what = format!("reading {}", self.url(key));
        let r = self.call(&what, cancel, async move {
            let r = store.get(&path).await?;
            let e_tag = r.meta.e_tag.clone();
            let bytes = r.bytes().await?;
            Ok((bytes, e_tag))
        })?;
        match r {
            Ok((bytes, e_tag)) => Ok(Some(Fetched {
                bytes: bytes.to_vec(),
                e_tag,
            })),
            Err(e) => match self.error(&what, e) {
                Error::Archive {
                    kind: ArchiveErrorKind::NotFound,
                    ..
                } => Ok(None),
                other => Err(other),
            },
        }
    }

    /// Fails with `NoSuchBucket` (or `AccessDenied`, `Unreachable`) unless the
    /// bucket can be listed.
    pub fn check_bucket(&self, cancel: Cancel<'_>) -> Result<()> {
        let store = self.store.clone();
        let prefix = (!self.prefix.is_empty()).then(|| Path::from(self.prefix.as_str()));
        let what = format!("listing s3://{}/{}", self.bucket, self.prefix);
        match self.call(&what, cancel, async move {
            store.list_with_delimiter(prefix.as_ref()).await
        })? {
            Ok(_) => Ok(()),
            Err(e @ object_store::Error::NotFound { .. }) => {
                let mut err = self.error(&what, e);
                if let Error::Archive { kind, message } = &mut err {
                    *kind = ArchiveErrorKind::NoSuchBucket;
                    *message = redact(
                        &self.secrets,
                        &format!(
                            "{what}: bucket {:?} does not exist at {}: create it or fix S3Config::bucket",
                            self.bucket, self.where_
                        ),
                    );
                }
                Err(err)
            }
            Err(e) => Err(self.error(&what, e)),
        }
    }

    /// The segment numbers of the objects under `prefix/segments/`, sorted.
    pub fn list_segments(&self, cancel: Cancel<'_>) -> Result<Vec<u64>> {
        let store = self.store.clone();
        let dir = Path::from(join(&self.prefix, "segments"));
        let what = format!("listing s3://{}/{}", self.bucket, dir);
        let listed = match self.call(&what, cancel, async move {
            store.list_with_delimiter(Some(&dir)).await
        })? {
            Ok(l) => l,
            Err(e) => return Err(self.error(&what, e)),
        };
        let mut out: Vec<u64> = listed
            .objects
            .iter()
            .filter_map(|o| o.location.filename()?.strip_suffix(".seg")?.parse().ok())
            .collect();
        out.sort_unstable();
        Ok(out)
    }

    /// Create-only PUT (`If-None-Match: *`): never replaces an object.
    pub fn put_create(
        &self,
        key: &str,
        data: Vec<u8>,
        metadata: Vec<(&'static str, String)>,
        cancel: Cancel<'_>,
    ) -> Result<Created> {
        let store = self.store.clone();
        let path = Path::from(key);
        let mut attributes = Attributes::new();
        for (k, v) in metadata {
            attributes.insert(Attribute::Metadata(k.into()), AttributeValue::from(v));
        }
        let opts = PutOptions {
            mode: PutMode::Create,
            attributes,
            ..Default::default()
        };
        let what = format!("uploading {}", self.url(key));
        match self.call(&what, cancel, async move {
            store.put_opts(&path, PutPayload::from(data), opts).await
        })? {
            Ok(r) => Ok(Created::New(r.e_tag)),
            Err(object_store::Error::AlreadyExists { .. }) => Ok(Created::AlreadyExists),
            Err(e) => Err(self.error(&what, e)),
        }
    }

    /// Writes the manifest: create-only if `e_tag` is `None`, else only over
    /// that version (`If-Match`). Returns the new ETag; `Conflict` if someone
    /// else wrote it in between.
    pub fn put_manifest(
        &self,
        data: Vec<u8>,
        e_tag: Option<String>,
        cancel: Cancel<'_>,
    ) -> Result<Option<String>> {
        let store = self.store.clone();
        let key = manifest_key(&self.prefix);
        let path = Path::from(key.as_str());
        let mode = match e_tag {
            None => PutMode::Create,
            Some(t) => PutMode::Update(UpdateVersion {
                e_tag: Some(t),
                version: None,
            }),
        };
        let opts = PutOptions {
            mode,
            ..Default::default()
        };
        let what = format!("writing {}", self.url(&key));
        match self.call(&what, cancel, async move {
            store.put_opts(&path, PutPayload::from(data), opts).await
        })? {
            Ok(r) => Ok(r.e_tag),
            Err(e) => Err(self.error(&what, e)),
        }
    }
}

impl Drop for Remote {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// True if the error is a transport failure (connect, timeout, reset).
fn looks_unreachable(e: &object_store::Error) -> bool {
    let mut text = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        text.push_str(&s.to_string());
        src = s.source();
    }
    let t = text.to_ascii_lowercase();
    [
        "error sending request",
        "connect",
        "timed out",
        "timeout",
        "connection reset",
        "connection closed",
        "broken pipe",
        "dns error",
    ]
    .iter()
    .any(|p| t.contains(p))
}

/// One line, the server's error code first, at most ~500 characters.
fn compact(text: &str) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let code = one_line
        .split_once("<Code>")
        .and_then(|(_, rest)| rest.split_once("</Code>"))
        .map(|(code, _)| code.to_string());
    let mut out = match code {
        Some(c) => format!("S3 error code {c}: {one_line}"),
        None => one_line,
    };
    if out.len() > 500 {
        let mut cut = 500;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push_str("...");
    }
    out
}

/// Cuts every secret out of `text`, and whatever a server echoes as an access
/// key id (`<AWSAccessKeyId>…</AWSAccessKeyId>`, `Credential=…/`), known or not.
pub(crate) fn redact(secrets: &[String], text: &str) -> String {
    let mut out = text.to_string();
    for s in secrets {
        if !s.is_empty() && out.contains(s.as_str()) {
            out = out.replace(s.as_str(), "<redacted>");
        }
    }
    for (open, close) in [
        ("<AWSAccessKeyId>", "</AWSAccessKeyId>"),
        ("Credential=", "/"),
    ] {
        out = redact_between(&out, open, close);
    }
    out
}

/// Replaces what stands between each `open` and the next `close` (or the end).
fn redact_between(text: &str, open: &str, close: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(open) {
        out.push_str(&rest[..i + open.len()]);
        let after = &rest[i + open.len()..];
        let end = after.find(close).unwrap_or(after.len());
        if end > 0 && &after[..end] != "<redacted>" {
            out.push_str("<redacted>");
        } else {
            out.push_str(&after[..end]);
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_one_line_and_redacted() {
        let body = "403 Forbidden: <?xml version=\"1.0\"?>\n<Error>\n  <Code>SignatureDoesNotMatch</Code>\n  <AWSAccessKeyId>AKIASECRETID</AWSAccessKeyId>\n</Error>";
        let c = compact(body);
        assert!(!c.contains('\n'));
        assert!(
            c.starts_with("S3 error code SignatureDoesNotMatch: "),
            "{c}"
        );
        let r = redact(&["AKIASECRETID".to_string()], &c);
        assert!(
            !r.contains("AKIASECRETID") && r.contains("<redacted>"),
            "{r}"
        );
        let long = "x".repeat(2000);
        assert!(compact(&long).len() < 520);
    }

    #[test]
    fn no_prefix_of_a_key_survives_the_cut() {
        let key = "AKIAIOSFODNN7EXAMPLE";
        let secrets = vec![
            key.to_string(),
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".to_string(),
        ];
        for pad in 0..600 {
            let body = format!(
                "403 Forbidden: {}<Error><Code>SignatureDoesNotMatch</Code><AWSAccessKeyId>{key}</AWSAccessKeyId></Error>",
                "p".repeat(pad)
            );
            let out = compact(&redact(&secrets, &body));
            for n in 4..=key.len() {
                assert!(!out.contains(&key[..n]), "pad {pad}: {out}");
            }
        }
        // A key id the server echoes that is not ours is cut too.
        let other = redact(
            &secrets,
            "<AWSAccessKeyId>AKIAOTHERKEY</AWSAccessKeyId> Credential=AKIAX/2026",
        );
        assert!(
            !other.contains("AKIAOTHERKEY") && !other.contains("AKIAX"),
            "{other}"
        );
    }

    #[test]
    fn keys_sort_in_segment_order() {
        assert_eq!(segment_key("", 42), "segments/00000000000000000042.seg");
        assert_eq!(manifest_key("a/b"), "a/b/manifest");
        let mut keys: Vec<String> = [10u64, 9, 100, 1]
            .iter()
            .map(|n| segment_key("p", *n))
            .collect();
        keys.sort();
        assert_eq!(keys[0], segment_key("p", 1));
        assert_eq!(keys[3], segment_key("p", 100));
    }
}
