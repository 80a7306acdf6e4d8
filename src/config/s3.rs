//! Settings of the S3 archive tier. Secrets are wrapped in [`Secret`], whose
//! `Debug` prints `<redacted>`, and nothing here implements `Display` for them.

use crate::error::{Error, Result};
use std::path::PathBuf;
use std::time::Duration;

/// An AWS credentials file longer than this is refused unread.
const CREDENTIALS_LIMIT_BYTES: usize = 1 << 20;

/// A secret string (an S3 secret key, a session token, an access key ID). Its
/// `Debug` output is `<redacted>` and it has no `Display`, so it cannot end up
/// in a log line, an error message or a `{:?}` by accident.
///
/// # Examples
///
/// ```
/// use xwal::archive::Secret;
///
/// let key = Secret::new("wJalrXUtnFEMI");
/// assert_eq!(format!("{key:?}"), "<redacted>");
/// assert_eq!(key.expose_secret(), "wJalrXUtnFEMI");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    ///
    /// # Examples
    ///
    /// ```
    /// use xwal::archive::Secret;
    ///
    /// let from_str = Secret::new("token");
    /// let from_string = Secret::new(String::from("token"));
    /// assert_eq!(from_str, from_string);
    /// assert_ne!(from_str, Secret::new("other"));
    /// ```
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    /// The secret itself. Only the S3 client calls this.
    ///
    /// # Examples
    ///
    /// ```
    /// use xwal::archive::Secret;
    ///
    /// let key = Secret::new("s3cr3t");
    /// assert_eq!(key.expose_secret(), "s3cr3t");
    /// assert!(!format!("{key:?}").contains("s3cr3t"));
    /// ```
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
///
/// # Examples
///
/// ```
/// use xwal::archive::{S3Config, S3Credentials};
///
/// assert!(matches!(S3Credentials::default(), S3Credentials::Environment));
/// let keys = S3Credentials::static_keys("AKIAEXAMPLE", "s3cr3t");
/// let shown = format!("{keys:?}");
/// assert!(!shown.contains("AKIAEXAMPLE") && !shown.contains("s3cr3t"));
/// let nameless = S3Config::new("my-bucket").credentials(S3Credentials::Profile(String::new()));
/// assert!(nameless.validate().is_err());
/// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// use xwal::archive::S3Credentials;
    ///
    /// match S3Credentials::static_keys("AKIAEXAMPLE", "s3cr3t") {
    ///     S3Credentials::Static { access_key_id, secret_access_key, session_token } => {
    ///         assert_eq!(access_key_id.expose_secret(), "AKIAEXAMPLE");
    ///         assert_eq!(secret_access_key.expose_secret(), "s3cr3t");
    ///         assert!(session_token.is_none());
    ///     }
    ///     other => panic!("{other:?}"),
    /// }
    /// ```
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
///
/// `max_backlog` is a threshold, not a bound: appends never fail because of
/// S3, so neither mode stops the backlog from growing; the local disk
/// (`Config::max_dir_bytes`) bounds it.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use xwal::archive::{BacklogFull, S3Config};
///
/// assert_eq!(BacklogFull::default(), BacklogFull::KeepLocalAndWarn);
/// let slow = BacklogFull::SlowAppends { max_wait: Duration::from_millis(50) };
/// assert!(S3Config::new("my-bucket").backlog(16, slow).validate().is_ok());
/// // Appends are never held up for longer than a minute.
/// let stuck = BacklogFull::SlowAppends { max_wait: Duration::from_secs(120) };
/// assert!(S3Config::new("my-bucket").backlog(16, stuck).validate().is_err());
/// ```
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
///
/// # Examples
///
/// ```
/// use xwal::archive::{LocalRetention, S3Config};
///
/// assert_eq!(LocalRetention::default(), LocalRetention::KeepAll);
/// assert_eq!(S3Config::new("my-bucket").retention, LocalRetention::KeepAll);
/// let s3 = S3Config::new("my-bucket").retention(LocalRetention::KeepNewest(4));
/// assert_eq!(s3.retention, LocalRetention::KeepNewest(4));
/// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use xwal::archive::{LocalRetention, S3Config};
    ///
    /// let s3 = S3Config::new("my-bucket");
    /// assert_eq!((s3.bucket.as_str(), s3.region.as_str()), ("my-bucket", "us-east-1"));
    /// assert_eq!(s3.connect_timeout, Duration::from_secs(5));
    /// assert_eq!(s3.retention, LocalRetention::KeepAll);
    /// assert!(s3.endpoint.is_none() && s3.validate().is_ok());
    /// ```
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
        }
    }
    /// Sets [`S3Config::prefix`].
    ///
    /// # Examples
    ///
    /// ```
    /// use xwal::archive::S3Config;
    ///
    /// let s3 = S3Config::new("my-bucket").prefix("/prod/orders-wal/");
    /// assert_eq!(s3.prefix, "/prod/orders-wal/");
    /// assert!(s3.validate().is_ok()); // leading and trailing slashes are ignored
    /// assert!(S3Config::new("my-bucket").prefix("prod//wal").validate().is_err());
    /// assert!(S3Config::new("my-bucket").prefix("prod/../wal").validate().is_err());
    /// ```
    pub fn prefix(mut self, p: impl Into<String>) -> Self {
        self.prefix = p.into();
        self
    }
    /// Sets [`S3Config::region`].
    ///
    /// # Examples
    ///
    /// ```
    /// use xwal::archive::S3Config;
    /// use xwal::Error;
    ///
    /// assert_eq!(S3Config::new("my-bucket").region("eu-west-1").region, "eu-west-1");
    /// let empty = S3Config::new("my-bucket").region("");
    /// assert!(matches!(empty.validate(), Err(Error::Config(m)) if m.contains("region is empty")));
    /// ```
    pub fn region(mut self, r: impl Into<String>) -> Self {
        self.region = r.into();
        self
    }
    /// Sets [`S3Config::endpoint`].
    ///
    /// # Examples
    ///
    /// ```
    /// use xwal::archive::S3Config;
    ///
    /// let local = S3Config::new("my-bucket").endpoint("http://127.0.0.1:9000").path_style(true);
    /// assert_eq!(local.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
    /// assert!(local.validate().is_ok());
    /// // The scheme is required.
    /// assert!(S3Config::new("my-bucket").endpoint("127.0.0.1:9000").validate().is_err());
    /// ```
    pub fn endpoint(mut self, e: impl Into<String>) -> Self {
        self.endpoint = Some(e.into());
        self
    }
    /// Sets [`S3Config::path_style`].
    ///
    /// # Examples
    ///
    /// ```
    /// use xwal::archive::S3Config;
    ///
    /// assert!(!S3Config::new("my-bucket").path_style);
    /// let minio = S3Config::new("my-bucket").endpoint("http://127.0.0.1:9000").path_style(true);
    /// assert!(minio.path_style);
    /// ```
    pub fn path_style(mut self, on: bool) -> Self {
        self.path_style = on;
        self
    }
    /// Sets [`S3Config::credentials`].
    ///
    /// # Examples
    ///
    /// ```
    /// use xwal::archive::{S3Config, S3Credentials};
    ///
    /// let keys = S3Credentials::static_keys("AKIAEXAMPLE", "s3cr3t");
    /// let s3 = S3Config::new("my-bucket").credentials(keys);
    /// assert!(matches!(s3.credentials, S3Credentials::Static { .. }));
    /// // The whole config can be logged: the keys are redacted.
    /// let shown = format!("{s3:?}");
    /// assert!(shown.contains("my-bucket") && !shown.contains("s3cr3t"));
    /// ```
    pub fn credentials(mut self, c: S3Credentials) -> Self {
        self.credentials = c;
        self
    }
    /// Sets [`S3Config::connect_timeout`] and [`S3Config::request_timeout`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use xwal::archive::S3Config;
    ///
    /// let (connect, request) = (Duration::from_secs(2), Duration::from_secs(30));
    /// let s3 = S3Config::new("my-bucket").timeouts(connect, request);
    /// assert_eq!((s3.connect_timeout, s3.request_timeout), (connect, request));
    /// let zero = S3Config::new("my-bucket").timeouts(Duration::ZERO, Duration::from_secs(30));
    /// assert!(zero.validate().is_err());
    /// ```
    pub fn timeouts(mut self, connect: Duration, request: Duration) -> Self {
        self.connect_timeout = connect;
        self.request_timeout = request;
        self
    }
    /// Sets [`S3Config::max_backoff`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use xwal::archive::S3Config;
    /// use xwal::Error;
    ///
    /// let s3 = S3Config::new("my-bucket").max_backoff(Duration::from_secs(5));
    /// assert_eq!(s3.max_backoff, Duration::from_secs(5));
    /// let zero = S3Config::new("my-bucket").max_backoff(Duration::ZERO);
    /// assert!(matches!(zero.validate(), Err(Error::Config(m)) if m.contains("max_backoff")));
    /// ```
    pub fn max_backoff(mut self, d: Duration) -> Self {
        self.max_backoff = d;
        self
    }
    /// Sets [`S3Config::poll_interval`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use xwal::archive::S3Config;
    /// use xwal::Error;
    ///
    /// let s3 = S3Config::new("my-bucket").poll_interval(Duration::from_millis(50));
    /// assert_eq!(s3.poll_interval, Duration::from_millis(50));
    /// let rare = S3Config::new("my-bucket").poll_interval(Duration::from_secs(7200));
    /// assert!(matches!(rare.validate(), Err(Error::Config(m)) if m.contains("poll_interval")));
    /// ```
    pub fn poll_interval(mut self, d: Duration) -> Self {
        self.poll_interval = d;
        self
    }
    /// Sets [`S3Config::max_backlog`] and [`S3Config::backlog_full`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use xwal::archive::{BacklogFull, S3Config};
    ///
    /// let slow = BacklogFull::SlowAppends { max_wait: Duration::from_millis(10) };
    /// let s3 = S3Config::new("my-bucket").backlog(8, slow);
    /// assert_eq!((s3.max_backlog, s3.backlog_full), (8, slow));
    /// let none = S3Config::new("my-bucket").backlog(0, BacklogFull::KeepLocalAndWarn);
    /// assert!(none.validate().is_err());
    /// ```
    pub fn backlog(mut self, max_segments: usize, when_full: BacklogFull) -> Self {
        self.max_backlog = max_segments;
        self.backlog_full = when_full;
        self
    }
    /// Sets [`S3Config::retention`].
    ///
    /// # Examples
    ///
    /// ```
    /// use xwal::archive::{LocalRetention, S3Config};
    ///
    /// let s3 = S3Config::new("my-bucket").retention(LocalRetention::KeepNewest(2));
    /// assert_eq!(s3.retention, LocalRetention::KeepNewest(2));
    /// assert!(s3.validate().is_ok());
    /// ```
    pub fn retention(mut self, r: LocalRetention) -> Self {
        self.retention = r;
        self
    }
    /// Sets [`S3Config::fetch_dir`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::path::Path;
    /// use xwal::archive::S3Config;
    ///
    /// assert!(S3Config::new("my-bucket").fetch_dir.is_none()); // the system temp directory
    /// let s3 = S3Config::new("my-bucket").fetch_dir("/var/tmp/xwal-fetch");
    /// assert_eq!(s3.fetch_dir.as_deref(), Some(Path::new("/var/tmp/xwal-fetch")));
    /// ```
    pub fn fetch_dir(mut self, d: impl Into<PathBuf>) -> Self {
        self.fetch_dir = Some(d.into());
        self
    }

    /// The prefix without leading or trailing slashes.
    pub(crate) fn clean_prefix(&self) -> String {
        self.prefix.trim_matches('/').to_string()
    }

    /// Checks every value; the error says what to change.
    ///
    /// # Examples
    ///
    /// ```
    /// use xwal::archive::S3Config;
    /// use xwal::Error;
    ///
    /// assert!(S3Config::new("my-bucket").validate().is_ok());
    /// let err = S3Config::new("My_Bucket").validate().unwrap_err();
    /// assert!(matches!(&err, Error::Config(m) if m.contains("not a valid bucket name")));
    /// ```
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
        if let Some(e) = &self.endpoint
            && !(e.starts_with("http://") || e.starts_with("https://"))
        {
            return bad(format!(
                "endpoint {e:?} must start with http:// or https://"
            ));
        }
        if let S3Credentials::Profile(name) = &self.credentials
            && name.is_empty()
        {
            return bad("credentials profile name is empty".into());
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
        if let BacklogFull::SlowAppends { max_wait } = self.backlog_full
            && (max_wait.is_zero() || max_wait > Duration::from_secs(60))
        {
            return bad(format!(
                "BacklogFull::SlowAppends max_wait {max_wait:?} must be between 1 ns and 60 s"
            ));
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
    let text = crate::io::fs::read_user_text(&path, CREDENTIALS_LIMIT_BYTES).map_err(|e| {
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

impl crate::config::Config {
    /// Adds the S3 archive tier (feature `s3`) and sets `backend` to
    /// [`BackendType::AwsS3`](crate::BackendType::AwsS3). See the README's "S3 archive tier".
    ///
    /// # Examples
    ///
    /// ```
    /// use xwal::archive::S3Config;
    /// use xwal::{BackendType, Config};
    ///
    /// let s3 = S3Config::new("my-bucket").prefix("orders");
    /// let config = Config::new("/var/lib/app/wal").s3(s3);
    /// assert_eq!(config.backend, BackendType::AwsS3);
    /// assert_eq!(config.s3.as_ref().map(|s3| s3.bucket.as_str()), Some("my-bucket"));
    /// assert!(config.validate().is_ok());
    /// ```
    pub fn s3(mut self, s3: S3Config) -> Self {
        self.s3 = Some(s3);
        self.backend = crate::config::BackendType::AwsS3;
        self
    }
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
