//! Settings of the S3 archive tier. Secrets are wrapped in [`Secret`], whose
//! `Debug` prints `<redacted>`, and nothing here implements `Display` for them.

use crate::error::{Error, Result};
use std::path::PathBuf;
use std::time::Duration;

/// A secret string (an S3 secret key, a session token, an access key ID). Its
/// `Debug` output is `<redacted>` and it has no `Display`, so it cannot end up
/// in a log line, an error message or a `{:?}` by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    /// The secret itself. Only the S3 client calls this.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Where the S3 credentials come from.
#[derive(Clone, Default)]
pub enum S3Credentials {
    /// The usual AWS environment: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
    /// `AWS_SESSION_TOKEN`, web identity (`AWS_WEB_IDENTITY_TOKEN_FILE`), the ECS
    /// container endpoint, then the EC2 instance metadata service. The default.
    #[default]
    Environment,
    /// Static keys of a named profile in the shared credentials file
    /// (`AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials`). Only
    /// `aws_access_key_id`, `aws_secret_access_key` and `aws_session_token` are
    /// read (no SSO or role chaining).
    Profile(String),
    /// Keys given in code.
    Static {
        /// Access key ID.
        access_key_id: Secret,
        /// Secret access key.
        secret_access_key: Secret,
        /// Session token, for temporary credentials.
        session_token: Option<Secret>,
    },
}

impl std::fmt::Debug for S3Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            S3Credentials::Environment => f.write_str("Environment"),
            S3Credentials::Profile(p) => f.debug_tuple("Profile").field(p).finish(),
            S3Credentials::Static { session_token, .. } => f
                .debug_struct("Static")
                .field("access_key_id", &"<redacted>")
                .field("secret_access_key", &"<redacted>")
                .field(
                    "session_token",
                    &session_token.as_ref().map(|_| "<redacted>"),
                )
                .finish(),
        }
    }
}

impl S3Credentials {
    /// Static keys.
    pub fn static_keys(access_key_id: impl Into<String>, secret: impl Into<String>) -> Self {
        S3Credentials::Static {
            access_key_id: Secret::new(access_key_id),
            secret_access_key: Secret::new(secret),
            session_token: None,
        }
    }

    /// The secret strings, for redaction of server messages.
    pub(crate) fn secrets(&self) -> Vec<String> {
        match self {
            S3Credentials::Static {
                access_key_id,
                secret_access_key,
                session_token,
            } => {
                let mut v = vec![
                    access_key_id.expose_secret().to_string(),
                    secret_access_key.expose_secret().to_string(),
                ];
                if let Some(t) = session_token {
                    v.push(t.expose_secret().to_string());
                }
                v
            }
            _ => vec![],
        }
    }
}

/// What happens when more sealed segments wait for upload than
/// [`S3Config::max_backlog`] (S3 down or slower than the appends).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BacklogFull {
    /// Keep the segments on local disk (nothing unarchived is ever deleted), log a
    /// warning, and report `backlog_full` in `Wal::archive_status`. Appends are not
    /// slowed: the local disk absorbs the backlog. The default.
    #[default]
    KeepLocalAndWarn,
    /// Also delay each append by up to `max_wait` while the backlog is full, so
    /// that producers slow down instead of filling the disk. Appends never fail
    /// because of S3: after `max_wait` they go ahead.
    SlowAppends {
        /// Longest delay added to one append.
        max_wait: Duration,
    },
}

/// Which archived segments stay on local disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LocalRetention {
    /// Keep every segment locally; the archive is a copy. The default.
    #[default]
    KeepAll,
    /// Keep the newest `n` sealed segments (and the active one) locally; older
    /// segments are deleted once their upload is confirmed by the manifest.
    /// Replay fetches them from S3.
    KeepNewest(usize),
}

/// Largest segment the archive tier accepts: one S3 PUT carries at most 5 GiB.
pub const MAX_SEGMENT_SIZE: u64 = 5 << 30;

/// Settings of the S3 archive tier. Build with [`S3Config::new`] and the setters.
///
/// ```
/// use xwal::archive::{LocalRetention, S3Config, S3Credentials};
/// let s3 = S3Config::new("my-bucket")
///     .prefix("prod/orders-wal")
///     .region("eu-west-1")
///     .credentials(S3Credentials::Profile("wal-writer".into()))
///     .retention(LocalRetention::KeepNewest(4));
/// assert!(s3.validate().is_ok());
/// assert!(!format!("{:?}", S3Credentials::static_keys("AKIAEXAMPLE", "s3cr3t")).contains("s3cr3t"));
/// ```
#[derive(Clone)]
pub struct S3Config {
    /// Bucket name.
    pub bucket: String,
    /// Key prefix inside the bucket (no leading or trailing `/` needed); "" for the bucket root.
    pub prefix: String,
    /// Region. Default `us-east-1`.
    pub region: String,
    /// Endpoint URL for S3-compatible servers (`http://127.0.0.1:9000`); `None` for AWS.
    /// `http://` endpoints are allowed (plain HTTP), as is needed for local servers.
    pub endpoint: Option<String>,
    /// Path-style requests (`endpoint/bucket/key`) instead of virtual-hosted style
    /// (`bucket.endpoint/key`). Most S3-compatible servers need path style. Default false.
    pub path_style: bool,
    /// Where the credentials come from.
    pub credentials: S3Credentials,
    /// TCP connect timeout. Default 5 s.
    pub connect_timeout: Duration,
    /// Timeout of one request (a whole segment upload included). Default 120 s.
    pub request_timeout: Duration,
    /// Longest pause between two retries of a failed upload (backoff doubles up to it). Default 30 s.
    pub max_backoff: Duration,
    /// How often the archiver looks for newly sealed segments. Default 200 ms.
    pub poll_interval: Duration,
    /// Sealed segments waiting for upload before [`S3Config::backlog_full`] applies. Default 64.
    pub max_backlog: usize,
    /// What happens when the backlog is full.
    pub backlog_full: BacklogFull,
    /// Which archived segments stay on local disk.
    pub retention: LocalRetention,
    /// Directory for segments fetched from S3 during replay (unnamed temp files,
    /// gone when closed). Default: the system temp directory.
    pub fetch_dir: Option<PathBuf>,
    /// Test seam: upload segments but stop before writing the manifest, as if the
    /// process died in between. Never set in production.
    #[doc(hidden)]
    pub crash_before_manifest: bool,
}

impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Config")
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .field("path_style", &self.path_style)
            .field("credentials", &self.credentials)
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("max_backoff", &self.max_backoff)
            .field("poll_interval", &self.poll_interval)
            .field("max_backlog", &self.max_backlog)
            .field("backlog_full", &self.backlog_full)
            .field("retention", &self.retention)
            .field("fetch_dir", &self.fetch_dir)
            .finish()
    }
}

impl S3Config {
    /// Settings for `bucket` with the defaults.
    pub fn new(bucket: impl Into<String>) -> Self {
        S3Config {
            bucket: bucket.into(),
            prefix: String::new(),
            region: "us-east-1".into(),
            endpoint: None,
            path_style: false,
            credentials: S3Credentials::Environment,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(120),
            max_backoff: Duration::from_secs(30),
            poll_interval: Duration::from_millis(200),
            max_backlog: 64,
            backlog_full: BacklogFull::KeepLocalAndWarn,
            retention: LocalRetention::KeepAll,
            fetch_dir: None,
            crash_before_manifest: false,
        }
    }
    /// Sets [`S3Config::prefix`].
    pub fn prefix(mut self, p: impl Into<String>) -> Self {
        self.prefix = p.into();
        self
    }
    /// Sets [`S3Config::region`].
    pub fn region(mut self, r: impl Into<String>) -> Self {
        self.region = r.into();
        self
    }
    /// Sets [`S3Config::endpoint`].
    pub fn endpoint(mut self, e: impl Into<String>) -> Self {
        self.endpoint = Some(e.into());
        self
    }
    /// Sets [`S3Config::path_style`].
    pub fn path_style(mut self, on: bool) -> Self {
        self.path_style = on;
        self
    }
    /// Sets [`S3Config::credentials`].
    pub fn credentials(mut self, c: S3Credentials) -> Self {
        self.credentials = c;
        self
    }
    /// Sets [`S3Config::connect_timeout`] and [`S3Config::request_timeout`].
    pub fn timeouts(mut self, connect: Duration, request: Duration) -> Self {
        self.connect_timeout = connect;
        self.request_timeout = request;
        self
    }
    /// Sets [`S3Config::max_backoff`].
    pub fn max_backoff(mut self, d: Duration) -> Self {
        self.max_backoff = d;
        self
    }
    /// Sets [`S3Config::poll_interval`].
    pub fn poll_interval(mut self, d: Duration) -> Self {
        self.poll_interval = d;
        self
    }
    /// Sets [`S3Config::max_backlog`] and [`S3Config::backlog_full`].
    pub fn backlog(mut self, max_segments: usize, when_full: BacklogFull) -> Self {
        self.max_backlog = max_segments;
        self.backlog_full = when_full;
        self
    }
    /// Sets [`S3Config::retention`].
    pub fn retention(mut self, r: LocalRetention) -> Self {
        self.retention = r;
        self
    }
    /// Sets [`S3Config::fetch_dir`].
    pub fn fetch_dir(mut self, d: impl Into<PathBuf>) -> Self {
        self.fetch_dir = Some(d.into());
        self
    }

    /// The prefix without leading or trailing slashes.
    pub(crate) fn clean_prefix(&self) -> String {
        self.prefix.trim_matches('/').to_string()
    }

    /// Checks every value; the error says what to change.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Config(format!("s3: {m}")));
        let b = &self.bucket;
        if b.len() < 3
            || b.len() > 63
            || !b
                .bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'.')
        {
            return bad(format!(
                "bucket {b:?} is not a valid bucket name (3 to 63 characters: a-z, 0-9, '-', '.')"
            ));
        }
        let p = self.clean_prefix();
        if p.split('/').any(|part| part.is_empty() && !p.is_empty())
            || p.split('/').any(|part| part == "." || part == "..")
        {
            return bad(format!(
                "prefix {:?} has an empty, '.' or '..' path part",
                self.prefix
            ));
        }
        if self.region.is_empty() {
            return bad("region is empty: set it (for example us-east-1)".into());
        }
        if let Some(e) = &self.endpoint {
            if !(e.starts_with("http://") || e.starts_with("https://")) {
                return bad(format!(
                    "endpoint {e:?} must start with http:// or https://"
                ));
            }
        }
        if let S3Credentials::Profile(name) = &self.credentials {
            if name.is_empty() {
                return bad("credentials profile name is empty".into());
            }
        }
        for (name, d) in [
            ("connect_timeout", self.connect_timeout),
            ("request_timeout", self.request_timeout),
            ("max_backoff", self.max_backoff),
            ("poll_interval", self.poll_interval),
        ] {
            if d.is_zero() || d > Duration::from_secs(3600) {
                return bad(format!("{name} {d:?} must be between 1 ns and 1 hour"));
            }
        }
        if self.max_backlog == 0 {
            return bad("max_backlog must be at least 1 segment".into());
        }
        if let BacklogFull::SlowAppends { max_wait } = self.backlog_full {
            if max_wait.is_zero() || max_wait > Duration::from_secs(60) {
                return bad(format!(
                    "BacklogFull::SlowAppends max_wait {max_wait:?} must be between 1 ns and 60 s"
                ));
            }
        }
        Ok(())
    }
}

/// Reads static keys of `profile` from the shared credentials file.
pub(crate) fn load_profile(profile: &str) -> Result<(Secret, Secret, Option<Secret>)> {
    let path =
        match std::env::var_os("AWS_SHARED_CREDENTIALS_FILE") {
            Some(p) => PathBuf::from(p),
            None => match std::env::var_os("HOME") {
                Some(h) => PathBuf::from(h).join(".aws").join("credentials"),
                None => return Err(Error::Config(
                    "s3: credentials profile: neither AWS_SHARED_CREDENTIALS_FILE nor HOME is set"
                        .into(),
                )),
            },
        };
    let text = std::fs::read_to_string(&path).map_err(|e| {
        Error::io(
            format!("reading AWS credentials file {}", path.display()),
            e,
        )
    })?;
    parse_profile(&text, profile).ok_or_else(|| {
        Error::Config(format!(
            "s3: profile [{profile}] with aws_access_key_id and aws_secret_access_key not found in {}",
            path.display()
        ))
    })
}

/// Parses the INI shared credentials format for one profile.
fn parse_profile(text: &str, profile: &str) -> Option<(Secret, Secret, Option<Secret>)> {
    let (mut key, mut secret, mut token) = (None, None, None);
    let mut inside = false;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let section = section.trim();
            inside = section == profile || section.strip_prefix("profile ") == Some(profile);
            continue;
        }
        if !inside {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let v = Secret::new(v.trim());
        match k.trim() {
            "aws_access_key_id" => key = Some(v),
            "aws_secret_access_key" => secret = Some(v),
            "aws_session_token" => token = Some(v),
            _ => {}
        }
    }
    Some((key?, secret?, token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_secrets() {
        let c = S3Config::new("bucket-a").credentials(S3Credentials::Static {
            access_key_id: Secret::new("AKIAVERYSECRETID"),
            secret_access_key: Secret::new("wJalrXUtnFEMI/K7MDENG"),
            session_token: Some(Secret::new("FwoGZXIvYXdzEBYaD")),
        });
        let d = format!("{c:?} {:#?} {:?}", c, c.credentials);
        for s in ["AKIAVERYSECRETID", "wJalrXUtnFEMI", "FwoGZXIvYXdzEBYaD"] {
            assert!(!d.contains(s), "{d}");
        }
        assert!(d.contains("<redacted>"));
        let cfg = crate::Config::new("/x").s3(c);
        let d = format!("{cfg:?}");
        assert!(
            !d.contains("wJalrXUtnFEMI") && !d.contains("AKIAVERYSECRETID"),
            "{d}"
        );
    }

    #[test]
    fn profile_parsing() {
        let text = "[default]\naws_access_key_id = A1\naws_secret_access_key = S1\n\n[profile other]\naws_access_key_id=A2\naws_secret_access_key=S2\naws_session_token=T2\n";
        let (a, s, t) = parse_profile(text, "default").unwrap();
        assert_eq!((a.expose_secret(), s.expose_secret()), ("A1", "S1"));
        assert!(t.is_none());
        let (a, _, t) = parse_profile(text, "other").unwrap();
        assert_eq!(a.expose_secret(), "A2");
        assert_eq!(t.unwrap().expose_secret(), "T2");
        assert!(parse_profile(text, "missing").is_none());
    }

    #[test]
    fn validation_messages() {
        let e = S3Config::new("B").validate().unwrap_err().to_string();
        assert!(e.contains("bucket"), "{e}");
        let e = S3Config::new("bucket")
            .endpoint("127.0.0.1:9000")
            .validate()
            .unwrap_err()
            .to_string();
        assert!(e.contains("http://"), "{e}");
        let e = S3Config::new("bucket")
            .prefix("a//b")
            .validate()
            .unwrap_err()
            .to_string();
        assert!(e.contains("prefix"), "{e}");
        assert!(S3Config::new("bucket").prefix("/a/b/").validate().is_ok());
        assert_eq!(
            S3Config::new("bucket").prefix("/a/b/").clean_prefix(),
            "a/b"
        );
    }
}
