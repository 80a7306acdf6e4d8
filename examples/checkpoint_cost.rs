//! The cost of checkpoints on a nearly empty log (issue 15): `ROUNDS` rounds
//! of one small durable append and one `create_checkpoint`, with the default
//! config (128 MiB segments), in a temp dir under `BASE`. Prints the
//! checkpoint time percentiles and the blocks the WAL's files hold after
//! close. Run alone (a build beside it ruins the figures):
//!
//!     cargo run --release --example checkpoint_cost -- target 200
use std::os::unix::fs::MetadataExt;
use std::time::Instant;

fn main() -> xwal::Result<()> {
    let mut args = std::env::args().skip(1);
    let base = args.next().unwrap_or_else(|| ".".into());
    let rounds: usize = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(200)
        .max(2);
    let dir = tempfile::tempdir_in(base).expect("temp dir");
    let (wal, _) = xwal::Wal::open(xwal::Config::new(dir.path()))?;
    let mut ms = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        wal.append(b"domain marker")?;
        let started = Instant::now();
        wal.create_checkpoint()?;
        ms.push(started.elapsed().as_secs_f64() * 1e3);
    }
    wal.close()?;
    ms.sort_by(f64::total_cmp);
    let pct = |p: usize| ms[(ms.len() - 1) * p / 100];
    let mut allocated = 0u64;
    for e in std::fs::read_dir(dir.path()).expect("list") {
        allocated += e.expect("entry").metadata().expect("stat").blocks() * 512;
    }
    println!(
        "{rounds} checkpoints: p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms; allocated after close: {} MiB",
        pct(50),
        pct(90),
        pct(99),
        allocated >> 20
    );
    Ok(())
}
