//! `xwal bench --quick` runs and writes valid JSON and an SVG chart (a smoke
//! test, not a benchmark: nothing here depends on how fast the disk is).
mod common;
use common::*;
use std::ffi::OsStr;

#[test]
fn bench_quick_writes_valid_json() {
    let dir = tempdir();
    let json = dir.path().join("out.json");
    let svg = dir.path().join("out.svg");
    xwal_ok::<&OsStr>(&[
        "bench".as_ref(),
        "--quick".as_ref(),
        "--dir".as_ref(),
        dir.path().as_os_str(),
        "--json".as_ref(),
        json.as_os_str(),
        "--plot".as_ref(),
        svg.as_os_str(),
    ]);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let rows = v["rows"].as_array().unwrap();
    assert!(rows.len() >= 3, "{v}");
    assert_eq!(rows[0]["ratio_to_baseline"].as_f64(), Some(1.0));
    for r in rows {
        assert!(r["entries_per_s"].as_f64().unwrap() > 0.0, "{r}");
        assert!(
            r["p99_us"].as_f64().unwrap() >= r["p50_us"].as_f64().unwrap(),
            "{r}"
        );
        assert!(r["ratio_to_baseline"].as_f64().unwrap() > 0.0, "{r}");
        assert!(r["peak_rss_mib"].as_f64().unwrap() > 0.0, "{r}");
    }
    // Every workload ran, under every sync policy.
    for w in ["baseline", "a", "b", "c", "d", "e", "r"] {
        assert!(rows.iter().any(|r| r["workload"] == w), "no {w} row: {v}");
    }
    for p in ["always", "dsync", "interval 10ms", "never"] {
        assert!(rows.iter().any(|r| r["policy"] == p), "no {p} row: {v}");
    }
    assert!(!v["open"].as_array().unwrap().is_empty(), "{v}");
    let targets = v["targets"].as_array().unwrap();
    assert!(targets.len() >= 10, "{v}");
    for t in targets {
        let s = t["status"].as_str().unwrap();
        assert!(["PASS", "MISS", "not run", "see peers"].contains(&s), "{t}");
    }
    assert!(v["errors"].as_array().unwrap().is_empty(), "{v}");
    assert!(std::fs::read_to_string(&svg).unwrap().starts_with("<svg"));
    // The temp dir inside --dir is removed afterwards.
    let mut left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    left.sort();
    assert_eq!(
        left,
        vec![
            std::ffi::OsString::from("out.json"),
            std::ffi::OsString::from("out.svg")
        ]
    );
}
