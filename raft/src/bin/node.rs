//! One node of the example cluster: `xwal-raft-node --id N --dir DIR
//! --nodes 1=127.0.0.1:PORT,2=...,3=... [--init] [--store xwal|mem|raft-engine]
//! [--batch-requests N] [--batch-bytes N] [--in-flight N] [--trace]`.
//!
//! Its log is an xwal WAL in DIR (or, for the benchmark's baselines, the
//! in-memory store or raft-engine); its state machine is the in-memory
//! key-value map (snapshots off, so a restarted node rebuilds it from the
//! log). Client writes go through its proposer (see `xwal_openraft::proposer`).
//! `--trace` writes openraft's debug-level events, with timestamps and thread
//! names, to `DIR.trace.log`.

use openraft::{BasicNode, SnapshotPolicy};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use xwal_openraft::cluster::{Network, Node, serve};
use xwal_openraft::proposer::{Proposer, ProposerConfig};
use xwal_openraft::{KvStateMachine, MemLogStore, XwalLogStore, stats};

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn nodes() -> Result<BTreeMap<u64, BasicNode>, Box<dyn std::error::Error>> {
    let mut nodes = BTreeMap::new();
    for part in arg("--nodes")
        .ok_or("--nodes 1=ADDR,2=ADDR,...")?
        .split(',')
    {
        let (n, addr) = part.split_once('=').ok_or("--nodes N=ADDR")?;
        nodes.insert(
            n.parse::<u64>()?,
            BasicNode {
                addr: addr.to_string(),
            },
        );
    }
    Ok(nodes)
}

fn proposer_config() -> Result<ProposerConfig, Box<dyn std::error::Error>> {
    let mut c = ProposerConfig::default();
    if let Some(v) = arg("--batch-requests") {
        c = c.max_requests(v.parse()?);
    }
    if let Some(v) = arg("--batch-bytes") {
        c = c.max_bytes(v.parse()?);
    }
    if let Some(v) = arg("--in-flight") {
        c = c.max_in_flight(v.parse()?);
    }
    Ok(c)
}

type LogStats = Arc<dyn Fn() -> (u64, u64) + Send + Sync>;

/// Starts Raft on the store `--store` names; returns it and the store's counts.
async fn start_raft(
    id: u64,
    dir: &str,
    config: Arc<openraft::Config>,
    sm: KvStateMachine,
) -> Result<(xwal_openraft::cluster::KvRaft, LogStats), Box<dyn std::error::Error>> {
    let store = arg("--store").unwrap_or_else(|| {
        if std::env::args().any(|a| a == "--mem") {
            "mem".into()
        } else {
            "xwal".into()
        }
    });
    match store.as_str() {
        "mem" => {
            let raft = openraft::Raft::new(id, config, Network, MemLogStore::default(), sm).await?;
            Ok((raft, Arc::new(|| (0, 0))))
        }
        "xwal" => {
            let counts = stats::count_group_commits().ok_or("a metrics recorder is installed")?;
            let wal = xwal::Config::new(dir)
                .segment_size(8 << 20)
                .max_entry_size(1 << 20);
            let store = XwalLogStore::open(wal)?;
            let raft = openraft::Raft::new(id, config, Network, store, sm).await?;
            Ok((raft, Arc::new(move || counts.get())))
        }
        #[cfg(feature = "raft-engine")]
        "raft-engine" => {
            let store = xwal_openraft::RaftEngineLogStore::open(std::path::Path::new(dir))?;
            let counts = store.clone();
            let raft = openraft::Raft::new(id, config, Network, store, sm).await?;
            Ok((raft, Arc::new(move || counts.counts())))
        }
        other => Err(format!(
            "--store {other}: xwal, mem{}",
            if cfg!(feature = "raft-engine") {
                " or raft-engine"
            } else {
                " (raft-engine needs the feature raft-engine)"
            }
        )
        .into()),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let id: u64 = arg("--id").ok_or("--id N")?.parse()?;
    let dir = arg("--dir").ok_or("--dir DIR")?;
    let nodes = nodes()?;
    let init = std::env::args().any(|a| a == "--init");
    let addr = nodes.get(&id).ok_or("--id is not in --nodes")?.addr.clone();
    let proposer = proposer_config()?;
    if std::env::args().any(|a| a == "--trace") {
        // Beside the node's directory (never inside a WAL directory).
        let trace = PathBuf::from(format!("{dir}.trace.log"));
        if let Some(parent) = trace.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let file = std::fs::File::create(trace)?;
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_thread_names(true)
            .with_ansi(false)
            .with_writer(std::sync::Mutex::new(file))
            .init();
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let config = openraft::Config {
            heartbeat_interval: 100,
            election_timeout_min: 400,
            election_timeout_max: 800,
            snapshot_policy: SnapshotPolicy::Never,
            ..Default::default()
        }
        .validate()?;
        let sm = KvStateMachine::default();
        let (raft, log_stats) = start_raft(id, &dir, Arc::new(config), sm.clone()).await?;
        let listener = tokio::net::TcpListener::bind(&addr).await?;
        if init {
            // Refused harmlessly once the cluster was initialized before.
            let _ = raft.initialize(nodes).await;
        }
        let node = Node {
            proposer: Proposer::start(raft.clone(), proposer),
            raft,
            sm,
            log_stats,
        };
        serve(node, listener).await?;
        Ok::<(), Box<dyn std::error::Error>>(())
    })
}
