//! Export xwal's metrics as Prometheus text.
//!
//! xwal records through the `metrics` facade and installs nothing itself; the
//! application picks the recorder. Here `metrics-exporter-prometheus` renders
//! the text format (serve it on `/metrics` with any HTTP server, or enable the
//! exporter's own `http-listener` feature). Metric names: see `xwal::metrics`.
//!
//! `cargo run --example prometheus_metrics`

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
use xwal::{Config, Wal};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Latencies as Prometheus histograms (buckets from 50 µs to 1 s); other
    // histograms (batch sizes) render as summaries.
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Suffix("_seconds".into()),
            &[
                50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 50e-3, 0.25, 1.0,
            ],
        )?
        .install_recorder()?;
    xwal::metrics::describe();

    let dir = tempfile::tempdir_in(".")?;
    let (wal, _) = Wal::open(
        Config::new(dir.path())
            .segment_size(1 << 20)
            .max_entry_size(64 << 10),
    )?;
    for i in 0..200u32 {
        wal.append(format!("entry {i}").as_bytes())?;
    }
    wal.append_batch((0..50u32).map(|i| format!("batch entry {i}").into_bytes()))?;
    wal.create_checkpoint()?;
    wal.close()?;

    let text = handle.render();
    println!("# Prometheus text exposition of xwal's metrics (serve this on /metrics)");
    print!("{text}");
    let present: Vec<&str> = xwal::metrics::ALL
        .iter()
        .copied()
        .filter(|name| text.lines().any(|l| l.starts_with(name)))
        .collect();
    // Metrics appear once the engine has recorded them; a name never recorded
    // in this run (the archive backlog without S3, say) is simply absent.
    eprintln!(
        "{} of {} xwal metrics recorded in this run: {}",
        present.len(),
        xwal::metrics::ALL.len(),
        present.join(", ")
    );
    Ok(())
}
