//! Config files: TOML with one key per [`Config`] field.
//!
//! ```toml
//! dir = "/var/lib/app/wal"        # optional; `xwal` subcommands take DIR instead
//! segment_size = "128MiB"         # sizes: integer bytes, or a string with B, KiB, MiB, GiB, TiB
//! max_entry_size = "64MiB"
//! max_batch_bytes = "4MiB"
//! max_batch_entries = 65536
//! commit_delay = "0ms"            # durations: integer milliseconds, or a string with ns, us, ms, s, m, h
//! queue_depth = 4096
//! commits_in_flight = 1           # group commits in flight at once (1 to 4)
//! sync = "interval"               # always | dsync | interval | never
//! sync_interval = "10ms"          # required with sync = "interval", refused otherwise
//! io_engine = "uring"             # uring | sync | auto
//! zero_fill = true
//! max_dir_bytes = "20GiB"         # or "none" (the default): no limit; nothing is ever evicted
//! replay_channel_capacity = 1024
//! replay_chunk_size = "1MiB"
//! replay_read_ahead = 4
//! backend = "local_filesystem"    # local_filesystem | aws_s3
//!
//! [s3]                            # the S3 archive tier (cargo feature `s3`); sets backend = "aws_s3"
//! bucket = "my-wal-archive"       # required in [s3]
//! prefix = "prod/orders"
//! region = "us-east-1"
//! endpoint = "http://127.0.0.1:9000"   # S3-compatible servers; omit for AWS
//! path_style = true
//! profile = "wal-writer"          # keys from ~/.aws/credentials; omit for the AWS environment
//! connect_timeout = "5s"
//! request_timeout = "120s"
//! max_backoff = "30s"
//! poll_interval = "200ms"
//! max_backlog = 64
//! backlog_full = "keep_local"     # keep_local | slow_appends
//! slow_appends_max_wait = "50ms"  # only with backlog_full = "slow_appends"
//! keep_newest = 4                 # local retention: keep the newest N sealed segments; omit to keep all
//! fetch_dir = "/var/tmp/xwal-fetch"
//! ```
//!
//! Keys are never read from a config file: `[s3]` takes a `profile` or the
//! AWS environment, so a secret never sits in a file that is copied around.
//!
//! Every key is optional (missing keys keep [`Config::new`]'s defaults).
//! Unknown keys are refused, and a Go xwal name (`segmentsFileSize`, ...) is
//! answered with the xwal key to use. The result is checked with
//! [`Config::validate`], so every message says what to change.

use crate::config::{BackendType, Config, IoEngine, SyncPolicy};
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Every key a config file may hold, in the order of the README table.
pub(crate) const KEYS: &[&str] = &[
    "dir",
    "segment_size",
    "max_entry_size",
    "sync",
    "sync_interval",
    "max_batch_bytes",
    "max_batch_entries",
    "commit_delay",
    "queue_depth",
    "commits_in_flight",
    "io_engine",
    "zero_fill",
    "max_dir_bytes",
    "replay_channel_capacity",
    "replay_chunk_size",
    "replay_read_ahead",
    "backend",
    "s3",
];

/// Every key of the `[s3]` table, in the order of the README table.
#[cfg(feature = "s3")]
pub(crate) const S3_KEYS: &[&str] = &[
    "bucket",
    "prefix",
    "region",
    "endpoint",
    "path_style",
    "profile",
    "connect_timeout",
    "request_timeout",
    "max_backoff",
    "poll_interval",
    "max_backlog",
    "backlog_full",
    "slow_appends_max_wait",
    "keep_newest",
    "fetch_dir",
];

/// Names under which people put S3 keys into config files (refused, with a hint).
/// A configuration file longer than this is refused unread.
const CONFIG_FILE_LIMIT_BYTES: usize = 1 << 20;

const SECRET_KEY_NAMES: &[&str] = &[
    "accessKey",
    "secretKey",
    "access_key_id",
    "secret_access_key",
    "aws_access_key_id",
    "aws_secret_access_key",
    "session_token",
];

/// What to say about a Go xwal setting name.
fn go_hint(key: &str) -> Option<&'static str> {
    Some(match key {
        "bufferSize" | "buffer_size" => {
            "Go's bufferSize (MB) is max_batch_bytes here, in bytes or with a unit: max_batch_bytes = \"32MiB\""
        }
        "bufferEntriesLength" | "buffer_entries_length" => {
            "Go's bufferEntriesLength is max_batch_entries here"
        }
        "flushFrequency" | "flush_frequency" => {
            "Go's flushFrequency is sync = \"interval\" with sync_interval = \"1s\" here (the default, sync = \"always\", syncs every commit)"
        }
        "dirPath" | "dir_path" => "Go's dirPath is dir here (there is no /tmp default)",
        "segmentsFileSize" | "segments_file_size" => {
            "Go's segmentsFileSize (MB) is segment_size here, in bytes or with a unit: segment_size = \"1000MiB\""
        }
        "segmentsDirSizeGB" | "segments_dir_size_gb" => {
            "Go's segmentsDirSizeGB is max_dir_bytes here, e.g. max_dir_bytes = \"20GiB\"; xwal then refuses appends instead of deleting unreplayed segments"
        }
        "logLevel" | "log_level" => {
            "log levels are set in the application's tracing subscriber (xwal logs through tracing and never prints), not in the WAL config"
        }
        "bucketName" | "bucket_name" | "region" | "profile" | "endpoint" | "credentials" | "S3" => {
            "S3 settings go in an [s3] table: [s3] bucket = \"...\", region = \"...\", profile = \"...\""
        }
        k if SECRET_KEY_NAMES.contains(&k) => {
            "keys are never read from a config file: use [s3] profile = \"NAME\" (~/.aws/credentials) or the AWS environment variables"
        }
        _ => return None,
    })
}

fn bad(key: &str, msg: impl std::fmt::Display) -> Error {
    Error::Config(format!("{key}: {msg}"))
}

fn type_name(v: &toml::Value) -> &'static str {
    match v {
        toml::Value::String(_) => "a string",
        toml::Value::Integer(_) => "an integer",
        toml::Value::Float(_) => "a float",
        toml::Value::Boolean(_) => "a boolean",
        toml::Value::Datetime(_) => "a date",
        toml::Value::Array(_) => "an array",
        toml::Value::Table(_) => "a table",
    }
}

/// Splits "12.5 MiB" into ("12.5", "MiB").
fn split_number(s: &str) -> (&str, &str) {
    let s = s.trim();
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
        .unwrap_or(s.len());
    (s[..end].trim(), s[end..].trim())
}

/// Parses "<digits>[.<digits>]" times `unit` into an integer, exactly for integers.
fn scaled(number: &str, unit: u128) -> Option<u128> {
    let number = number.replace('_', "");
    match number.split_once('.') {
        None => number.parse::<u128>().ok()?.checked_mul(unit),
        Some((int, frac)) => {
            if frac.is_empty() || !frac.bytes().all(|b| b.is_ascii_digit()) || frac.len() > 18 {
                return None;
            }
            let int: u128 = if int.is_empty() { 0 } else { int.parse().ok()? };
            let scale = 10u128.pow(frac.len() as u32);
            let frac: u128 = frac.parse().ok()?;
            Some(int.checked_mul(unit)? + frac.checked_mul(unit)? / scale)
        }
    }
}

/// A size: integer bytes, or a string with a binary unit.
fn size(key: &str, v: &toml::Value) -> Result<u64> {
    let units =
        "use an integer number of bytes or a string with B, KiB, MiB, GiB or TiB, like \"128MiB\"";
    match v {
        toml::Value::Integer(n) => {
            u64::try_from(*n).map_err(|_| bad(key, format!("{n} is negative; {units}")))
        }
        toml::Value::String(s) => {
            let (number, unit) = split_number(s);
            let mult: u128 = match unit {
                "" | "B" => 1,
                "KiB" => 1 << 10,
                "MiB" => 1 << 20,
                "GiB" => 1 << 30,
                "TiB" => 1 << 40,
                "K" | "KB" | "kB" | "M" | "MB" | "G" | "GB" | "T" | "TB" | "k" | "m" | "g" => {
                    return Err(bad(
                        key,
                        format!(
                            "\"{s}\": the unit `{unit}` is ambiguous (powers of 1000 or 1024?); write KiB, MiB, GiB or TiB (powers of 1024), or an integer number of bytes"
                        ),
                    ));
                }
                _ => return Err(bad(key, format!("\"{s}\": unknown unit `{unit}`; {units}"))),
            };
            if number.is_empty() {
                return Err(bad(key, format!("\"{s}\" has no number; {units}")));
            }
            scaled(number, mult)
                .and_then(|n| u64::try_from(n).ok())
                .ok_or_else(|| bad(key, format!("\"{s}\" is not a size; {units}")))
        }
        other => Err(bad(
            key,
            format!("expected a size, found {}; {units}", type_name(other)),
        )),
    }
}

fn size_usize(key: &str, v: &toml::Value) -> Result<usize> {
    let n = size(key, v)?;
    usize::try_from(n).map_err(|_| bad(key, format!("{n} is too large for this platform")))
}

/// A duration: integer milliseconds, or a string with a unit.
fn duration(key: &str, v: &toml::Value) -> Result<Duration> {
    let units = "use an integer number of milliseconds or a string with ns, us, ms, s, m or h, like \"10ms\"";
    match v {
        toml::Value::Integer(n) => u64::try_from(*n)
            .map(Duration::from_millis)
            .map_err(|_| bad(key, format!("{n} is negative; {units}"))),
        toml::Value::String(s) => {
            let (number, unit) = split_number(s);
            let nanos: u128 = match unit {
                "ns" => 1,
                "us" | "µs" => 1_000,
                "ms" => 1_000_000,
                "s" => 1_000_000_000,
                "m" | "min" => 60_000_000_000,
                "h" => 3_600_000_000_000,
                "" => {
                    return Err(bad(
                        key,
                        format!(
                            "\"{s}\" has no unit; {units} (a bare integer, unquoted, means milliseconds)"
                        ),
                    ));
                }
                _ => return Err(bad(key, format!("\"{s}\": unknown unit `{unit}`; {units}"))),
            };
            if number.is_empty() {
                return Err(bad(key, format!("\"{s}\" has no number; {units}")));
            }
            let n = scaled(number, nanos)
                .ok_or_else(|| bad(key, format!("\"{s}\" is not a duration; {units}")))?;
            let secs = u64::try_from(n / 1_000_000_000)
                .map_err(|_| bad(key, format!("\"{s}\" is too long")))?;
            Ok(Duration::new(secs, (n % 1_000_000_000) as u32))
        }
        other => Err(bad(
            key,
            format!("expected a duration, found {}; {units}", type_name(other)),
        )),
    }
}

fn count(key: &str, v: &toml::Value) -> Result<usize> {
    match v {
        toml::Value::Integer(n) => {
            usize::try_from(*n).map_err(|_| bad(key, format!("{n} is negative; use a count >= 1")))
        }
        other => Err(bad(
            key,
            format!("expected an integer, found {}", type_name(other)),
        )),
    }
}

fn string<'a>(key: &str, v: &'a toml::Value, choices: &str) -> Result<&'a str> {
    match v {
        toml::Value::String(s) => Ok(s),
        other => Err(bad(
            key,
            format!("expected a string ({choices}), found {}", type_name(other)),
        )),
    }
}

/// A boolean, unquoted.
fn boolean(key: &str, v: &toml::Value) -> Result<bool> {
    match v {
        toml::Value::Boolean(b) => Ok(*b),
        other => Err(bad(
            key,
            format!(
                "expected true or false (unquoted), found {}",
                type_name(other)
            ),
        )),
    }
}

/// Line and column (1-based) of a byte offset.
fn line_col(text: &str, at: usize) -> (usize, usize) {
    let before = &text[..at.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, col)
}

fn parse_table(text: &str) -> Result<toml::Table> {
    text.parse::<toml::Table>().map_err(|e| {
        let msg = e.message().trim().replace('\n', "; ");
        match e.span() {
            Some(span) => {
                let (line, col) = line_col(text, span.start);
                Error::Config(format!(
                    "TOML syntax error at line {line}, column {col}: {msg}"
                ))
            }
            None => Error::Config(format!("TOML syntax error: {msg}")),
        }
    })
}

/// Applies the keys of `table` onto `cfg`. Does not validate.
fn apply(mut cfg: Config, table: &toml::Table) -> Result<Config> {
    for key in table.keys() {
        if !KEYS.contains(&key.as_str()) {
            let msg = match go_hint(key) {
                Some(hint) => format!("unknown key `{key}`: {hint}"),
                None => format!("unknown key `{key}`; the keys are: {}", KEYS.join(", ")),
            };
            return Err(Error::Config(msg));
        }
    }
    let get = |k: &str| table.get(k);
    if let Some(v) = get("dir") {
        let s = string("dir", v, "a path")?;
        if s.is_empty() {
            return Err(bad("dir", "is empty; give the WAL directory's path"));
        }
        cfg.dir = PathBuf::from(s);
    }
    if let Some(v) = get("segment_size") {
        // The setter: an unset max_entry_size follows the segment size.
        cfg = cfg.segment_size(size("segment_size", v)?);
    }
    if let Some(v) = get("max_entry_size") {
        cfg = cfg.max_entry_size(size("max_entry_size", v)?);
    }
    if let Some(v) = get("max_batch_bytes") {
        cfg.max_batch_bytes = size_usize("max_batch_bytes", v)?;
    }
    if let Some(v) = get("max_batch_entries") {
        cfg.max_batch_entries = count("max_batch_entries", v)?;
    }
    if let Some(v) = get("commit_delay") {
        cfg.commit_delay = duration("commit_delay", v)?;
    }
    if let Some(v) = get("queue_depth") {
        cfg.queue_depth = count("queue_depth", v)?;
    }
    if let Some(v) = get("commits_in_flight") {
        cfg.commits_in_flight = count("commits_in_flight", v)?;
    }
    let interval = match get("sync_interval") {
        Some(v) => Some(duration("sync_interval", v)?),
        None => None,
    };
    let policies = "always, dsync, interval or never";
    match get("sync") {
        Some(v) => {
            let s = string("sync", v, policies)?;
            cfg.sync = match (s, interval) {
                ("always", None) => SyncPolicy::Always,
                ("dsync", None) => SyncPolicy::Dsync,
                ("never", None) => SyncPolicy::Never,
                ("interval", Some(d)) => SyncPolicy::Interval(d),
                ("interval", None) => {
                    return Err(bad(
                        "sync",
                        "\"interval\" needs sync_interval, like sync_interval = \"10ms\"",
                    ));
                }
                ("always" | "dsync" | "never", Some(_)) => {
                    return Err(bad(
                        "sync_interval",
                        format!(
                            "is set but sync is \"{s}\": set sync = \"interval\" or remove sync_interval"
                        ),
                    ));
                }
                _ => {
                    return Err(bad(
                        "sync",
                        format!("\"{s}\" is not a policy; use {policies}"),
                    ));
                }
            };
        }
        None => {
            if interval.is_some() {
                return Err(bad(
                    "sync_interval",
                    "is set without sync = \"interval\"; add it (the default policy is \"always\")",
                ));
            }
        }
    }
    if let Some(v) = get("io_engine") {
        let choices = "uring, sync or auto";
        cfg.io_engine = match string("io_engine", v, choices)? {
            "uring" | "io_uring" => IoEngine::Uring,
            "sync" => IoEngine::Sync,
            "auto" => IoEngine::Auto,
            s => {
                return Err(bad(
                    "io_engine",
                    format!("\"{s}\" is not an engine; use {choices}"),
                ));
            }
        };
    }
    if let Some(v) = get("zero_fill") {
        cfg.zero_fill = boolean("zero_fill", v)?;
    }
    if let Some(v) = get("max_dir_bytes") {
        cfg.max_dir_bytes = match v {
            toml::Value::String(s) if s == "none" => None,
            v => Some(size("max_dir_bytes", v)?),
        };
    }
    if let Some(v) = get("replay_channel_capacity") {
        cfg.replay_channel_capacity = count("replay_channel_capacity", v)?;
    }
    if let Some(v) = get("replay_chunk_size") {
        cfg.replay_chunk_size = size_usize("replay_chunk_size", v)?;
    }
    if let Some(v) = get("replay_read_ahead") {
        cfg.replay_read_ahead = count("replay_read_ahead", v)?;
    }
    if let Some(v) = get("backend") {
        let choices = "local_filesystem or aws_s3";
        cfg.backend = match string("backend", v, choices)? {
            "local_filesystem" => BackendType::LocalFilesystem,
            "aws_s3" => BackendType::AwsS3,
            s => {
                return Err(bad(
                    "backend",
                    format!("\"{s}\" is not a backend; use {choices}"),
                ));
            }
        };
    }
    if let Some(v) = get("s3") {
        let toml::Value::Table(t) = v else {
            return Err(bad(
                "s3",
                format!(
                    "expected a table ([s3] on its own line, then its keys), found {}",
                    type_name(v)
                ),
            ));
        };
        if get("backend").is_some() && cfg.backend != BackendType::AwsS3 {
            return Err(bad(
                "backend",
                "is \"local_filesystem\" but an [s3] table is set: remove one of them",
            ));
        }
        cfg = apply_s3(cfg, t)?;
    }
    Ok(cfg)
}

/// The `[s3]` table. Without the `s3` feature, a clear refusal.
#[cfg(not(feature = "s3"))]
fn apply_s3(_cfg: Config, _t: &toml::Table) -> Result<Config> {
    Err(bad(
        "s3",
        "this build of xwal has no S3 archive tier: rebuild with `--features s3` or remove the [s3] table",
    ))
}

/// The `[s3]` table onto [`Config::s3`] (and `backend = aws_s3`).
#[cfg(feature = "s3")]
fn apply_s3(cfg: Config, t: &toml::Table) -> Result<Config> {
    use crate::config::s3::{BacklogFull, LocalRetention, S3Config, S3Credentials};
    for key in t.keys() {
        if !S3_KEYS.contains(&key.as_str()) {
            let msg = match go_hint(key) {
                Some(hint) if SECRET_KEY_NAMES.contains(&key.as_str()) => {
                    format!("unknown key `s3.{key}`: {hint}")
                }
                _ => format!(
                    "unknown key `s3.{key}`; the keys of [s3] are: {}",
                    S3_KEYS.join(", ")
                ),
            };
            return Err(Error::Config(msg));
        }
    }
    let get = |k: &str| t.get(k);
    let name = |k: &str| format!("s3.{k}");
    let Some(bucket) = get("bucket") else {
        return Err(bad("s3", "has no bucket: add bucket = \"NAME\" to [s3]"));
    };
    let mut s3 = S3Config::new(string(&name("bucket"), bucket, "a bucket name")?);
    if let Some(v) = get("prefix") {
        s3.prefix = string(&name("prefix"), v, "a key prefix")?.to_string();
    }
    if let Some(v) = get("region") {
        s3.region = string(&name("region"), v, "a region, like us-east-1")?.to_string();
    }
    if let Some(v) = get("endpoint") {
        s3.endpoint = Some(string(&name("endpoint"), v, "an http:// or https:// URL")?.to_string());
    }
    if let Some(v) = get("path_style") {
        s3.path_style = boolean(&name("path_style"), v)?;
    }
    if let Some(v) = get("profile") {
        let p = string(&name("profile"), v, "a profile of ~/.aws/credentials")?;
        s3.credentials = S3Credentials::Profile(p.to_string());
    }
    if let Some(v) = get("connect_timeout") {
        s3.connect_timeout = duration(&name("connect_timeout"), v)?;
    }
    if let Some(v) = get("request_timeout") {
        s3.request_timeout = duration(&name("request_timeout"), v)?;
    }
    if let Some(v) = get("max_backoff") {
        s3.max_backoff = duration(&name("max_backoff"), v)?;
    }
    if let Some(v) = get("poll_interval") {
        s3.poll_interval = duration(&name("poll_interval"), v)?;
    }
    if let Some(v) = get("max_backlog") {
        s3.max_backlog = count(&name("max_backlog"), v)?;
    }
    let max_wait = match get("slow_appends_max_wait") {
        Some(v) => Some(duration(&name("slow_appends_max_wait"), v)?),
        None => None,
    };
    let choices = "keep_local or slow_appends";
    s3.backlog_full = match (get("backlog_full"), max_wait) {
        (None, None) => BacklogFull::KeepLocalAndWarn,
        (Some(v), w) => match (string(&name("backlog_full"), v, choices)?, w) {
            ("keep_local", None) => BacklogFull::KeepLocalAndWarn,
            ("slow_appends", Some(max_wait)) => BacklogFull::SlowAppends { max_wait },
            ("slow_appends", None) => {
                return Err(bad(
                    "s3.backlog_full",
                    "\"slow_appends\" needs slow_appends_max_wait, like slow_appends_max_wait = \"50ms\"",
                ));
            }
            ("keep_local", Some(_)) => {
                return Err(bad(
                    "s3.slow_appends_max_wait",
                    "is set but backlog_full is \"keep_local\": set backlog_full = \"slow_appends\" or remove it",
                ));
            }
            (s, _) => {
                return Err(bad(
                    "s3.backlog_full",
                    format!("\"{s}\" is not a choice; use {choices}"),
                ));
            }
        },
        (None, Some(_)) => {
            return Err(bad(
                "s3.slow_appends_max_wait",
                "is set without backlog_full = \"slow_appends\"; add it",
            ));
        }
    };
    if let Some(v) = get("keep_newest") {
        s3.retention = LocalRetention::KeepNewest(count(&name("keep_newest"), v)?);
    }
    if let Some(v) = get("fetch_dir") {
        let d = string(&name("fetch_dir"), v, "a path")?;
        if d.is_empty() {
            return Err(bad(
                "s3.fetch_dir",
                "is empty; give a directory or remove the key",
            ));
        }
        s3.fetch_dir = Some(PathBuf::from(d));
    }
    s3.validate()?;
    Ok(cfg.s3(s3))
}

/// Validates, standing in a placeholder for a missing `dir` (the caller sets it).
fn validate_without_dir(cfg: &Config) -> Result<()> {
    if cfg.dir.as_os_str().is_empty() {
        let mut probe = cfg.clone();
        probe.dir = PathBuf::from(".");
        probe.validate()
    } else {
        cfg.validate()
    }
}

impl Config {
    /// Reads a TOML config (format in the README and in this module's source).
    /// Missing keys keep the defaults of [`Config::new`]; unknown keys, wrong
    /// types, bad units and invalid values are [`Error::Config`] with a message
    /// that says what to change. Without a `dir` key, `dir` is left empty: set
    /// it before [`crate::Wal::open`].
    ///
    /// ```
    /// use std::time::Duration;
    /// let cfg = xwal::Config::from_toml_str(r#"
    ///     dir = "/var/lib/app/wal"
    ///     segment_size = "256MiB"
    ///     sync = "interval"
    ///     sync_interval = "10ms"
    ///     commit_delay = 1        # milliseconds
    /// "#)?;
    /// assert_eq!(cfg.segment_size, 256 << 20);
    /// assert_eq!(cfg.sync, xwal::SyncPolicy::Interval(Duration::from_millis(10)));
    /// assert_eq!(cfg.commit_delay, Duration::from_millis(1));
    ///
    /// let err = xwal::Config::from_toml_str("segmentsFileSize = 1000").unwrap_err();
    /// assert!(err.to_string().contains("segment_size"));
    /// # Ok::<(), xwal::Error>(())
    /// ```
    pub fn from_toml_str(text: &str) -> Result<Config> {
        Config::new(PathBuf::new()).merge_toml_str(text)
    }

    /// Applies the keys of a TOML config onto this config, then validates.
    /// Keys the text does not have keep their current values.
    ///
    /// ```
    /// let cfg = xwal::Config::new("/var/lib/app/wal").merge_toml_str("queue_depth = 64")?;
    /// assert_eq!(cfg.queue_depth, 64);
    /// assert_eq!(cfg.dir, std::path::PathBuf::from("/var/lib/app/wal"));
    /// # Ok::<(), xwal::Error>(())
    /// ```
    pub fn merge_toml_str(self, text: &str) -> Result<Config> {
        let table = parse_table(text)?;
        let cfg = apply(self, &table)?;
        validate_without_dir(&cfg)?;
        Ok(cfg)
    }

    /// Reads a TOML config file; see [`Config::from_toml_str`]. Messages start
    /// with the file's path.
    ///
    /// ```
    /// let d = tempfile::tempdir_in(".").unwrap();
    /// let path = d.path().join("wal.toml");
    /// std::fs::write(&path, "max_entry_size = \"1MiB\"\nsegment_size = \"8MiB\"\n").unwrap();
    /// assert_eq!(xwal::Config::from_file(&path)?.max_entry_size, 1 << 20);
    /// # Ok::<(), xwal::Error>(())
    /// ```
    pub fn from_file(path: impl AsRef<Path>) -> Result<Config> {
        let path = path.as_ref();
        let text = crate::io::fs::read_user_text(path, CONFIG_FILE_LIMIT_BYTES)
            .map_err(|e| Error::io(format!("reading config file {}", path.display()), e))?;
        Config::from_toml_str(&text).map_err(|e| match e {
            Error::Config(m) => Error::Config(format!("{}: {m}", path.display())),
            other => other,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        Config::from_toml_str(text).unwrap_err().to_string()
    }

    #[test]
    fn sizes_and_durations() {
        let c = Config::from_toml_str(
            "segment_size = \"1.5GiB\"\nmax_batch_bytes = 65536\ncommit_delay = \"250us\"",
        )
        .unwrap();
        assert_eq!(c.segment_size, 3 << 29);
        assert_eq!(c.max_batch_bytes, 65536);
        assert_eq!(c.commit_delay, Duration::from_micros(250));
        let c = Config::from_toml_str("commit_delay = \"2s\"").unwrap_err();
        assert!(c.to_string().contains("commit_delay"), "{c}");
        let c = Config::from_toml_str("commit_delay = \"0.5ms\"").unwrap();
        assert_eq!(c.commit_delay, Duration::from_micros(500));
    }

    #[test]
    fn messages() {
        assert!(err("segment_size = \"128MB\"").contains("ambiguous"));
        assert!(err("segment_size = \"128 parsecs\"").contains("unknown unit"));
        assert!(err("segment_size = -1").contains("negative"));
        assert!(err("commit_delay = \"10\"").contains("no unit"));
        assert!(err("bufferSize = 32").contains("max_batch_bytes"));
        assert!(err("nonsense = 1").contains("the keys are"));
        assert!(err("sync = \"interval\"").contains("sync_interval"));
        assert!(err("sync_interval = \"1s\"").contains("without sync"));
        assert!(err("segment_size = [").contains("line 1"));
        assert!(err("segment_size = 5000").contains("multiple of 4096"));
        assert!(err("zero_fill = \"yes\"").contains("true or false"));
    }

    #[test]
    fn line_col_counts_from_one() {
        assert_eq!(line_col("a\nbc", 3), (2, 2));
        assert_eq!(line_col("abc", 0), (1, 1));
    }
}
