//! `xwal bench --quick` runs and writes valid JSON and an SVG chart (a smoke
//! test, not a benchmark: nothing here depends on how fast the disk is).
use crate::common;
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

/// `--cpu-hog 1`: every job ran idle and beside one busy thread; the loaded
/// rows, the idle/loaded comparison and the busy_ targets are printed, and the
/// JSON holds both sets (their rows exist and their figures are positive; no
/// timing is asserted).
#[test]
fn bench_cpu_hog_runs_idle_and_loaded() {
    let dir = tempdir();
    let json = dir.path().join("hog.json");
    let stdout = xwal_ok::<&OsStr>(&[
        "bench".as_ref(),
        "--quick".as_ref(),
        "--workloads".as_ref(),
        "a".as_ref(),
        "--policies".as_ref(),
        "always".as_ref(),
        "--engine".as_ref(),
        "uring".as_ref(),
        "--cpu-hog".as_ref(),
        "1".as_ref(),
        "--seconds".as_ref(),
        "0.2".as_ref(),
        "--dir".as_ref(),
        dir.path().as_os_str(),
        "--json".as_ref(),
        json.as_os_str(),
    ]);
    for section in [
        "beside 1 busy thread (the raw baselines and floors measured beside them too)",
        "idle / beside 1 busy thread",
        "targets beside 1 busy thread (busy_",
        "(a) one writer, always, beside 1 busy thread: >= 0.9x the raw limit's throughput",
        "best peer (loaded)",
        "judged by the worse of its idle ratio and its ratio beside 1 busy thread",
    ] {
        assert!(stdout.contains(section), "no {section:?} in:\n{stdout}");
    }
    // The comparison table has workload a's row: "idle / loaded" entries/s.
    let cmp = stdout.split("idle / beside 1 busy thread").nth(1).unwrap();
    assert!(
        cmp.lines()
            .any(|l| l.starts_with("a: ") && l.contains(" / ")),
        "{cmp}"
    );

    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["cpu_hog"], 1, "{v}");
    for set in ["idle", "loaded"] {
        let s = &v[set];
        let rows = s["rows"]
            .as_array()
            .unwrap_or_else(|| panic!("no {set}: {v}"));
        assert!(rows.iter().any(|r| r["workload"] == "a"), "{set}: {s}");
        assert!(rows.iter().any(|r| r["raw_limit"] == true), "{set}: {s}");
        for r in rows {
            assert!(r["entries_per_s"].as_f64().unwrap() > 0.0, "{set}: {r}");
            assert!(r["ratio_to_baseline"].as_f64().unwrap() > 0.0, "{set}: {r}");
        }
        assert!(s["raw_limit"]["entries_per_s"].as_f64().unwrap() > 0.0);
        assert!(s["errors"].as_array().unwrap().is_empty(), "{set}: {s}");
    }
    // Each loaded ratio is to the loaded raw limit, not the idle one.
    let a = |set: &str| {
        v[set]["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["workload"] == "a")
            .unwrap()
            .clone()
    };
    let loaded = a("loaded");
    let want = loaded["entries_per_s"].as_f64().unwrap()
        / v["loaded"]["raw_limit"]["entries_per_s"].as_f64().unwrap();
    let got = loaded["ratio_to_baseline"].as_f64().unwrap();
    assert!((got - want).abs() <= 1e-9 * want, "{got} vs {want}");
    let cmp = v["comparison"].as_array().unwrap();
    assert!(!cmp.is_empty(), "{v}");
    for c in cmp {
        for side in ["idle", "loaded"] {
            assert!(c[side]["entries_per_s"].as_f64().unwrap() > 0.0, "{c}");
            assert!(c[side]["p99_ratio"].as_f64().unwrap() > 0.0, "{c}");
        }
    }
    let busy = v["busy_targets"].as_array().unwrap();
    for id in ["busy_a_eps", "busy_a_p50", "busy_a_p99", "busy_idle_a_eps"] {
        let t = busy.iter().find(|t| t["id"] == id);
        let t = t.unwrap_or_else(|| panic!("no target {id}: {v}"));
        assert!(
            ["PASS", "MISS"].contains(&t["status"].as_str().unwrap()),
            "{t}"
        );
    }
    for id in ["busy_b_peers", "busy_idle_peers"] {
        let t = busy.iter().find(|t| t["id"] == id).unwrap();
        assert_eq!(t["status"], "see peers", "{t}");
    }
    // b and t did not run.
    for id in [
        "busy_b_64",
        "busy_idle_b_64",
        "busy_t_tail",
        "busy_idle_t_tail",
    ] {
        let t = busy.iter().find(|t| t["id"] == id).unwrap();
        assert_eq!(t["status"], "not run", "{t}");
    }
    let picks = v["recommendation"].as_array().unwrap();
    assert_eq!(picks[0]["id"], "a_p99", "{picks:?}");
    assert!(picks[0]["loaded"]["entries_per_s"].as_f64().unwrap() > 0.0);
    // The snippet, with its loaded figures as a comment, is still a config file.
    let text = picks[0]["toml"].as_str().unwrap();
    assert!(text.contains("# beside 1 busy thread: "), "{text}");
    xwal::Config::from_toml_str(text).unwrap_or_else(|e| panic!("{text}: {e}"));
}
