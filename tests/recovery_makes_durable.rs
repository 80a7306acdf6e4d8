//! Recovery declares what it keeps durable, so it syncs it first: records a
//! dead process wrote but never synced may still sit in the device's
//! volatile cache. Crash (the power stays on), recover, cut the power:
//! nothing recovery declared durable may be lost.
#![cfg(feature = "test-seams")]

use crate::common;

use common::{ENGINES, payload, tempdir};
use xwal::seams::{Seams, SimDisk};
use xwal::{Config, IoEngine, SyncPolicy, Wal};

fn config(dir: &std::path::Path, engine: IoEngine) -> Config {
    Config::new(dir)
        .segment_size(64 << 10)
        .max_entry_size(8 << 10)
        .io_engine(engine)
}

fn on(sim: &SimDisk) -> Seams {
    Seams {
        sim_disk: Some(sim.clone()),
        ..Seams::default()
    }
}

/// Every sector no sync covered goes back to what it held before.
fn cut_power(sim: &SimDisk, wal: Wal, dir: &std::path::Path) {
    sim.cut_now();
    drop(wal);
    sim.crash_image(dir, &mut || 0).unwrap();
}

#[test]
fn what_recovery_declares_durable_survives_a_power_cut() {
    for engine in ENGINES {
        let d = tempdir();
        let sim = SimDisk::new();
        // A process writes without syncing (across a rollover), then dies
        // with the power on.
        let cfg = config(d.path(), engine).sync(SyncPolicy::Never);
        let (wal, _) = Wal::open_with(cfg, on(&sim)).unwrap();
        for i in 1..=60 {
            wal.append(&payload(i, 2000)).unwrap();
        }
        sim.cut_now();
        drop(wal);
        sim.revive();

        let cfg = config(d.path(), engine);
        let (wal, report) = Wal::open_with(cfg.clone(), on(&sim)).unwrap();
        assert_eq!(report.last_lsn, 60);
        let declared = wal.durable_index();
        assert_eq!(declared, 60, "{engine:?}");
        cut_power(&sim, wal, d.path());

        let (wal, report) = Wal::open(cfg).unwrap();
        assert!(
            report.last_lsn >= declared,
            "{engine:?}: recovery declared LSN {declared} durable, a power cut left {}",
            report.last_lsn
        );
        let data: Vec<_> = wal
            .replay(xwal::ReplayOptions::all())
            .unwrap()
            .map(|e| e.unwrap().data)
            .collect();
        assert_eq!(data, (1..=60).map(|i| payload(i, 2000)).collect::<Vec<_>>());
    }
}

/// A new WAL whose first header write never reached the disk, while the
/// segment after it had been prepared: two zero segments. The first is the
/// next segment; the second, a preparation ahead of need, holds nothing.
#[test]
fn a_new_wal_whose_first_header_was_lost_opens() {
    let d = tempdir();
    let cfg = config(d.path(), IoEngine::Sync);
    for n in 0..2u64 {
        let path = d.path().join(xwal::format::segment_file_name(n, false));
        std::fs::write(path, vec![0u8; 64 << 10]).unwrap();
    }
    let (wal, report) = Wal::open(cfg.clone()).unwrap();
    assert_eq!(report.last_lsn, 0);
    assert_eq!(wal.append(b"first").unwrap(), 1);
    wal.close().unwrap();
    let (wal, _) = Wal::open(cfg).unwrap();
    assert_eq!(wal.last_index(), 1);
}
