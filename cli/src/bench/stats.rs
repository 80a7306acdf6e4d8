//! Measurement helpers shared by `xwal bench` and the peers benchmark
//! (`benches/peers` includes this file with `#[path]`): a fixed-size latency
//! histogram, so recording costs no memory that grows with the run, and the
//! process's peak RSS from /proc.

#![allow(dead_code)]

/// Sub-bucket bits: 2^(SUB_BITS-1) linear buckets per power of two, so a
/// recorded value is known to within 1/128 (0.8 %).
const SUB_BITS: u32 = 8;
const HALF: u64 = 1 << (SUB_BITS - 1);
const BUCKETS: usize = ((64 - SUB_BITS + 1) as usize + 1) * HALF as usize;

/// Latency histogram in nanoseconds: log-linear buckets, fixed size (about
/// 60 KiB), mergeable. Percentiles use the nearest-rank method and report the
/// middle of the bucket, clamped to the exact minimum and maximum.
#[derive(Clone)]
pub struct Histogram {
    counts: Vec<u64>,
    count: u64,
    sum: u128,
    min: u64,
    max: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram::new()
    }
}

fn bucket_of(v: u64) -> usize {
    if v < 2 * HALF {
        return v as usize;
    }
    let msb = 63 - v.leading_zeros();
    let shift = msb - (SUB_BITS - 1);
    let mantissa = v >> shift; // in [HALF, 2*HALF)
    (shift as u64 * HALF + mantissa) as usize
}

fn bucket_mid(i: usize) -> u64 {
    let i = i as u64;
    if i < 2 * HALF {
        return i;
    }
    let shift = i / HALF - 1;
    let mantissa = i - shift * HALF;
    (mantissa << shift) + ((1u64 << shift) >> 1)
}

impl Histogram {
    /// An empty histogram.
    pub fn new() -> Self {
        Histogram {
            counts: vec![0; BUCKETS],
            count: 0,
            sum: 0,
            min: u64::MAX,
            max: 0,
        }
    }

    /// Records one value (nanoseconds).
    #[inline]
    pub fn record(&mut self, ns: u64) {
        self.counts[bucket_of(ns)] += 1;
        self.count += 1;
        self.sum += ns as u128;
        self.min = self.min.min(ns);
        self.max = self.max.max(ns);
    }

    /// Records the same value `n` times.
    pub fn record_n(&mut self, ns: u64, n: u64) {
        if n == 0 {
            return;
        }
        self.counts[bucket_of(ns)] += n;
        self.count += n;
        self.sum += ns as u128 * n as u128;
        self.min = self.min.min(ns);
        self.max = self.max.max(ns);
    }

    /// Adds another histogram's values.
    pub fn merge(&mut self, o: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&o.counts) {
            *a += b;
        }
        self.count += o.count;
        self.sum += o.sum;
        self.min = self.min.min(o.min);
        self.max = self.max.max(o.max);
    }

    /// Values recorded.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Mean in nanoseconds (0 if empty).
    pub fn mean_ns(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum as f64 / self.count as f64
        }
    }

    /// Largest value in nanoseconds (0 if empty).
    pub fn max_ns(&self) -> u64 {
        self.max
    }

    /// The `p` quantile (0..=1) in nanoseconds, nearest rank (0 if empty).
    pub fn quantile_ns(&self, p: f64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        if p >= 1.0 {
            return self.max;
        }
        let rank = ((p * self.count as f64).ceil() as u64).clamp(1, self.count);
        let mut seen = 0u64;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return bucket_mid(i).clamp(self.min, self.max);
            }
        }
        self.max
    }

    /// The `p` quantile in microseconds.
    pub fn quantile_us(&self, p: f64) -> f64 {
        self.quantile_ns(p) as f64 / 1000.0
    }
}

/// A field of /proc/self/status in KiB (VmHWM, VmRSS), if readable.
pub fn proc_status_kib(field: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// Peak resident set size (VmHWM) in MiB.
pub fn peak_rss_mib() -> f64 {
    proc_status_kib("VmHWM").unwrap_or(0) as f64 / 1024.0
}

/// Current resident set size (VmRSS) in MiB.
pub fn rss_mib() -> f64 {
    proc_status_kib("VmRSS").unwrap_or(0) as f64 / 1024.0
}

/// Returns freed heap memory to the kernel (glibc `malloc_trim`), so that
/// what an earlier run freed but the allocator kept does not count as the next
/// run's resident memory.
pub fn trim_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory of the allocator.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Resets the peak RSS to the current RSS (Linux 4.0+: writing 5 to
/// /proc/self/clear_refs), so the next [`peak_rss_mib`] is the peak of what
/// ran in between. Returns false if the kernel refused.
pub fn reset_peak_rss() -> bool {
    trim_heap();
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// The load averages from /proc/loadavg, as printed by `uptime`.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "?".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotonic_and_precise() {
        let mut last = 0;
        for v in (0..5_000_000u64)
            .step_by(997)
            .chain([u64::MAX / 3, u64::MAX])
        {
            let b = bucket_of(v);
            assert!(b >= last);
            assert!(b < BUCKETS, "{v} -> {b}");
            last = b;
            let mid = bucket_mid(b) as f64;
            if v > 0 {
                assert!(
                    (mid - v as f64).abs() / v as f64 <= 1.0 / 128.0 + 1e-9,
                    "{v} {mid}"
                );
            }
        }
    }

    #[test]
    fn quantiles() {
        let mut h = Histogram::new();
        for v in 1..=10_000u64 {
            h.record(v * 1000);
        }
        let p50 = h.quantile_ns(0.5) as f64;
        assert!((p50 - 5_000_000.0).abs() / 5e6 < 0.01, "{p50}");
        assert_eq!(h.quantile_ns(1.0), 10_000_000);
        assert!(h.quantile_ns(0.99) >= h.quantile_ns(0.5));
        let mut g = Histogram::new();
        g.merge(&h);
        assert_eq!(g.count(), 10_000);
        assert_eq!(Histogram::new().quantile_ns(0.5), 0);
    }
}
