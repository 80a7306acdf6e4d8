//! The node's count of xwal group commits: a `metrics` recorder that keeps
//! only `xwal_batch_entries` (one record per group commit, its value the
//! entries it carried). The benchmark reads it from every node to report
//! entries per WAL commit.

use metrics::{
    Counter, Gauge, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder, SharedString, Unit,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Group commits and the entries they carried.
#[derive(Debug, Default)]
pub struct CommitCounts {
    commits: AtomicU64,
    entries: AtomicU64,
}

impl CommitCounts {
    /// `(group commits, entries)` so far.
    pub fn get(&self) -> (u64, u64) {
        (
            self.commits.load(Ordering::Relaxed),
            self.entries.load(Ordering::Relaxed),
        )
    }
}

impl HistogramFn for CommitCounts {
    fn record(&self, entries: f64) {
        self.commits.fetch_add(1, Ordering::Relaxed);
        self.entries.fetch_add(entries as u64, Ordering::Relaxed);
    }
}

/// The recorder: `xwal_batch_entries` into [`CommitCounts`], the rest nowhere.
struct BatchRecorder(Arc<CommitCounts>);

impl Recorder for BatchRecorder {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, _: &Key, _: &Metadata<'_>) -> Counter {
        Counter::noop()
    }

    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::noop()
    }

    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        if key.name() == xwal::metrics::BATCH_ENTRIES {
            Histogram::from_arc(self.0.clone())
        } else {
            Histogram::noop()
        }
    }
}

/// Installs the recorder for the process (once; a second call fails and
/// returns `None`) and returns its counts.
pub fn count_group_commits() -> Option<Arc<CommitCounts>> {
    let counts = Arc::new(CommitCounts::default());
    metrics::set_global_recorder(BatchRecorder(counts.clone())).ok()?;
    Some(counts)
}
