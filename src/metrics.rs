//! Metrics, through the [`metrics`](https://docs.rs/metrics) facade.
//!
//! xwal only records; it installs no recorder. Without one (the default) every
//! call here is a cheap no-op. An application that wants the numbers installs
//! a recorder (for example `metrics-exporter-prometheus`, see
//! `examples/prometheus_metrics.rs`) and may call [`describe`] once for help
//! texts and units.
//!
//! | name | kind | unit | what |
//! |---|---|---|---|
//! | `xwal_appends_total` | counter | entries | entries made durable (per the sync policy) |
//! | `xwal_bytes_total` | counter | bytes | payload bytes of those entries |
//! | `xwal_fsyncs_total` | counter | | `fdatasync` calls completed |
//! | `xwal_batch_entries` | histogram | entries | entries per group commit |
//! | `xwal_batch_bytes` | histogram | bytes | encoded bytes per group commit |
//! | `xwal_commit_latency_seconds` | histogram | seconds | from a batch's submission to its completion |
//! | `xwal_fsync_latency_seconds` | histogram | seconds | one `fdatasync` |
//! | `xwal_queue_depth` | gauge | entries | entries staged for the writer's next batch, at each submission |
//! | `xwal_segments` | gauge | segments | segment files in the directory |
//! | `xwal_archive_backlog` | gauge | segments | sealed segments not yet archived |
//!
//! ```
//! // An exporter finds every name here; without a recorder xwal's updates cost next to nothing.
//! assert!(xwal::metrics::ALL.contains(&xwal::metrics::FSYNCS_TOTAL));
//! xwal::metrics::describe();
//! ```

use std::time::Duration;

/// Counter: entries appended (made durable per the sync policy).
pub const APPENDS_TOTAL: &str = "xwal_appends_total";
/// Counter: payload bytes appended.
pub const BYTES_TOTAL: &str = "xwal_bytes_total";
/// Counter: `fdatasync` calls completed.
pub const FSYNCS_TOTAL: &str = "xwal_fsyncs_total";
/// Histogram: entries per group commit.
pub const BATCH_ENTRIES: &str = "xwal_batch_entries";
/// Histogram: encoded bytes per group commit.
pub const BATCH_BYTES: &str = "xwal_batch_bytes";
/// Histogram: seconds from a batch's submission to its completion.
pub const COMMIT_LATENCY_SECONDS: &str = "xwal_commit_latency_seconds";
/// Histogram: seconds per `fdatasync`.
pub const FSYNC_LATENCY_SECONDS: &str = "xwal_fsync_latency_seconds";
/// Gauge: requests waiting in the submission queue.
pub const QUEUE_DEPTH: &str = "xwal_queue_depth";
/// Gauge: segment files present.
pub const SEGMENTS: &str = "xwal_segments";
/// Gauge: sealed segments waiting to be archived.
pub const ARCHIVE_BACKLOG: &str = "xwal_archive_backlog";

/// Every metric name, for exporters and tests.
pub const ALL: &[&str] = &[
    APPENDS_TOTAL,
    BYTES_TOTAL,
    FSYNCS_TOTAL,
    BATCH_ENTRIES,
    BATCH_BYTES,
    COMMIT_LATENCY_SECONDS,
    FSYNC_LATENCY_SECONDS,
    QUEUE_DEPTH,
    SEGMENTS,
    ARCHIVE_BACKLOG,
];

/// Registers units and help texts with the installed recorder. Call it once
/// after installing one; without a recorder it does nothing.
///
/// ```
/// xwal::metrics::describe();
/// ```
pub fn describe() {
    use ::metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        APPENDS_TOTAL,
        Unit::Count,
        "Entries appended and acknowledged."
    );
    describe_counter!(BYTES_TOTAL, Unit::Bytes, "Payload bytes appended.");
    describe_counter!(FSYNCS_TOTAL, Unit::Count, "fdatasync calls completed.");
    describe_histogram!(BATCH_ENTRIES, Unit::Count, "Entries per group commit.");
    describe_histogram!(BATCH_BYTES, Unit::Bytes, "Encoded bytes per group commit.");
    describe_histogram!(
        COMMIT_LATENCY_SECONDS,
        Unit::Seconds,
        "Time from a batch's submission to its completion."
    );
    describe_histogram!(
        FSYNC_LATENCY_SECONDS,
        Unit::Seconds,
        "Time of one fdatasync."
    );
    describe_gauge!(
        QUEUE_DEPTH,
        Unit::Count,
        "Entries staged for the writer's next batch."
    );
    describe_gauge!(SEGMENTS, Unit::Count, "Segment files present.");
    describe_gauge!(
        ARCHIVE_BACKLOG,
        Unit::Count,
        "Sealed segments waiting to be archived."
    );
}

/// Counts `entries` appended entries carrying `bytes` payload bytes.
#[inline]
pub(crate) fn record_append(entries: u64, bytes: u64) {
    ::metrics::counter!(APPENDS_TOTAL).increment(entries);
    ::metrics::counter!(BYTES_TOTAL).increment(bytes);
}

/// Records one completed group commit: its entries, its encoded bytes, and the
/// time from its submission to its completion.
#[inline]
pub(crate) fn record_commit(batch_entries: usize, batch_bytes: usize, latency: Duration) {
    ::metrics::histogram!(BATCH_ENTRIES).record(batch_entries as f64);
    ::metrics::histogram!(BATCH_BYTES).record(batch_bytes as f64);
    ::metrics::histogram!(COMMIT_LATENCY_SECONDS).record(latency.as_secs_f64());
}

/// Records one completed `fdatasync` and its duration.
#[inline]
pub(crate) fn record_fsync(latency: Duration) {
    ::metrics::counter!(FSYNCS_TOTAL).increment(1);
    ::metrics::histogram!(FSYNC_LATENCY_SECONDS).record(latency.as_secs_f64());
}

/// Sets the number of requests waiting in the submission queue.
#[inline]
pub(crate) fn set_queue_depth(n: usize) {
    ::metrics::gauge!(QUEUE_DEPTH).set(n as f64);
}

/// Sets the number of segment files present.
#[inline]
pub(crate) fn set_segments(n: usize) {
    ::metrics::gauge!(SEGMENTS).set(n as f64);
}

/// Sets the number of sealed segments waiting to be archived.
#[cfg(feature = "s3")]
#[inline]
pub(crate) fn set_archive_backlog(n: usize) {
    ::metrics::gauge!(ARCHIVE_BACKLOG).set(n as f64);
}
