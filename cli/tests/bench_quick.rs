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
    let stdout = xwal_ok::<&OsStr>(&[
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
    for r in rows {
        assert!(r["entries_per_s"].as_f64().unwrap() > 0.0, "{r}");
        assert!(
            r["p99_us"].as_f64().unwrap() >= r["p50_us"].as_f64().unwrap(),
            "{r}"
        );
        // Workload t is a latency from durable to delivered: it has no baseline.
        if r["workload"] != "t" {
            assert!(r["ratio_to_baseline"].as_f64().unwrap() > 0.0, "{r}");
        }
        assert!(r["peak_rss_mib"].as_f64().unwrap() > 0.0, "{r}");
    }
    // Every workload ran, under every sync policy.
    for w in ["baseline", "floor", "a", "b", "g", "c", "d", "e", "r", "t"] {
        assert!(rows.iter().any(|r| r["workload"] == w), "no {w} row: {v}");
    }
    for p in ["always", "dsync", "interval 10ms", "never"] {
        assert!(rows.iter().any(|r| r["policy"] == p), "no {p} row: {v}");
    }
    assert!(!v["open"].as_array().unwrap().is_empty(), "{v}");
    check_raw_limit(&v);
    check_floors(&v);
    check_recommendation(&v);
    for section in [
        "raw limit:",
        "broadcast floor",
        "wake floor",
        "g: b-async",
        "recommendation for this disk",
    ] {
        assert!(stdout.contains(section), "no {section:?} in:\n{stdout}");
    }
    let targets = v["targets"].as_array().unwrap();
    assert!(targets.len() >= 10, "{v}");
    for t in targets {
        let s = t["status"].as_str().unwrap();
        assert!(["PASS", "MISS", "not run", "see peers"].contains(&s), "{t}");
    }
    // The targets of issue 12 were all measured (--quick runs 64 writers and tasks).
    for id in ["a_eps", "a_p50", "a_p999", "b_64", "g_64", "c_raw"] {
        let t = targets.iter().find(|t| t["id"] == id);
        let t = t.unwrap_or_else(|| panic!("no target {id}: {v}"));
        assert!(
            ["PASS", "MISS"].contains(&t["status"].as_str().unwrap()),
            "{t}"
        );
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

/// Four raw QD1 rows, one of them (the fastest) the raw limit, and the
/// ratios of a, b, g, r against it.
fn check_raw_limit(v: &serde_json::Value) {
    let rows = v["rows"].as_array().unwrap();
    let raw: Vec<_> = rows
        .iter()
        .filter(|r| r["workload"] == "baseline" && r["name"].as_str().unwrap().ends_with("QD1"))
        .collect();
    for s in [
        "uring O_DIRECT write+fdatasync",
        "pwrite O_DIRECT+fdatasync",
        "pwrite O_DIRECT|O_DSYNC",
        "pwrite buffered+fdatasync",
    ] {
        assert!(
            raw.iter().any(|r| r["name"].as_str().unwrap().contains(s)),
            "no raw {s} row: {raw:?}"
        );
    }
    let limits: Vec<_> = raw.iter().filter(|r| r["raw_limit"] == true).collect();
    assert_eq!(limits.len(), 1, "{raw:?}");
    let limit = limits[0];
    assert_eq!(limit["ratio_to_baseline"].as_f64(), Some(1.0));
    let best = raw
        .iter()
        .map(|r| r["entries_per_s"].as_f64().unwrap())
        .fold(0.0, f64::max);
    assert_eq!(limit["entries_per_s"].as_f64(), Some(best));
    assert_eq!(v["raw_limit"]["name"], limit["name"]);
    for r in rows
        .iter()
        .filter(|r| ["a", "b", "g", "r"].contains(&r["workload"].as_str().unwrap()))
    {
        assert_eq!(r["baseline"], limit["name"], "{r}");
    }
}

/// Both floors at 64 writers (and at b's counts); b and g relate to the broadcast floor.
fn check_floors(v: &serde_json::Value) {
    let floors = v["floors"].as_array().unwrap();
    for (kind, n) in [
        ("broadcast floor", 64),
        ("wake floor", 64),
        ("broadcast floor", 4),
    ] {
        let f = floors
            .iter()
            .find(|f| f["floor"] == kind && f["threads"] == n);
        let f = f.unwrap_or_else(|| panic!("no {kind} at {n}: {floors:?}"));
        assert!(f["appends_per_s"].as_f64().unwrap() > 0.0, "{f}");
    }
    let rows = v["rows"].as_array().unwrap();
    for r in rows
        .iter()
        .filter(|r| r["workload"] == "b" && r["threads"] == 64)
    {
        assert!(r["floor_ratio"].as_f64().unwrap() > 0.0, "{r}");
    }
    let g = rows.iter().find(|r| r["workload"] == "g").unwrap();
    assert_eq!(g["threads"], 64, "{g}");
    assert!(g["floor_ratio"].as_f64().unwrap() > 0.0, "{g}");
}

/// Two picks under durable policies, each a config file the library reads.
fn check_recommendation(v: &serde_json::Value) {
    let picks = v["recommendation"].as_array().unwrap();
    let ids: Vec<_> = picks.iter().map(|p| p["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["a_p99", "b_64"], "{picks:?}");
    for p in picks {
        let policy = p["policy"].as_str().unwrap();
        assert!(["always", "dsync"].contains(&policy), "{p}");
        let text = p["toml"].as_str().unwrap();
        let cfg = xwal::Config::from_toml_str(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        let want = if policy == "always" {
            xwal::SyncPolicy::Always
        } else {
            xwal::SyncPolicy::Dsync
        };
        assert_eq!(cfg.sync, want, "{text}");
        assert!(text.contains(&format!(
            "io_engine = \"{}\"",
            p["engine"].as_str().unwrap()
        )));
    }
    assert_eq!(picks[1]["threads"], 64, "{picks:?}");
}
