//! One node of the example cluster: `xwal-raft-node --id N --dir DIR
//! --nodes 1=127.0.0.1:PORT,2=...,3=... [--init] [--mem]`. Its log is an xwal WAL in
//! DIR; its state machine is the in-memory key-value map (snapshots off, so a
//! restarted node rebuilds it from the log).

use openraft::{BasicNode, SnapshotPolicy};
use std::collections::BTreeMap;
use std::sync::Arc;
use xwal_openraft::cluster::{Network, serve};
use xwal_openraft::{KvStateMachine, MemLogStore, XwalLogStore};

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let id: u64 = arg("--id").ok_or("--id N")?.parse()?;
    let dir = arg("--dir").ok_or("--dir DIR")?;
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
    let init = std::env::args().any(|a| a == "--init");
    let addr = nodes.get(&id).ok_or("--id is not in --nodes")?.addr.clone();
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
        let config = Arc::new(config);
        let raft = if std::env::args().any(|a| a == "--mem") {
            // The baseline of the benchmark: openraft's kind of in-memory log.
            openraft::Raft::new(id, config, Network, MemLogStore::default(), sm.clone()).await?
        } else {
            let wal = xwal::Config::new(&dir)
                .segment_size(8 << 20)
                .max_entry_size(1 << 20);
            let store = XwalLogStore::open(wal)?;
            openraft::Raft::new(id, config, Network, store, sm.clone()).await?
        };
        let listener = tokio::net::TcpListener::bind(&addr).await?;
        if init {
            // Refused harmlessly once the cluster was initialized before.
            let _ = raft.initialize(nodes).await;
        }
        serve(raft, sm, listener).await?;
        Ok::<(), Box<dyn std::error::Error>>(())
    })
}
