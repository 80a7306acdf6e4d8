//! The example cluster: three `xwal-raft-node` processes on 127.0.0.1, each
//! with its own xwal directory. Writes keys through the leader from 16
//! concurrent clients (so the leader's proposer batches them), SIGKILLs a
//! follower, writes more, restarts it and waits until it caught up; SIGKILLs
//! the leader, waits for a new one, writes more; then checks that every
//! acknowledged write is on every node, and that the proposer did batch.
//! XWAL_RAFT_KEYS sets the keys per phase (default 400);
//! `scripts/raft-cluster.sh --keys N` runs more.

use std::collections::BTreeMap;
use xwal_openraft::cluster::Conn;
use xwal_openraft::local::LocalCluster;

/// Concurrent clients per phase.
const CLIENTS: usize = 16;

/// One client's share of a phase: keys `tag{c}-{i}`.
async fn client(
    cl: &LocalCluster,
    leader: u64,
    tag: &str,
    c: usize,
    keys: usize,
) -> (u64, Vec<(String, String)>) {
    let mut leader = leader;
    let mut conn = Conn::new(leader, &cl.addrs[&leader]);
    let mut acked = Vec::new();
    for i in (c..keys).step_by(CLIENTS) {
        let (k, v) = (format!("{tag}{c}-{i}"), format!("v{i}"));
        leader = cl.write(&mut conn, leader, &k, &v).await.unwrap();
        acked.push((k, v));
    }
    (leader, acked)
}

async fn write_phase(
    cl: &LocalCluster,
    leader: u64,
    tag: &str,
    keys: usize,
    acked: &mut BTreeMap<String, String>,
) -> u64 {
    let clients = (0..CLIENTS).map(|c| client(cl, leader, tag, c, keys));
    let mut last = leader;
    for (l, kv) in futures_util::future::join_all(clients).await {
        last = l;
        acked.extend(kv);
    }
    last
}

/// Requests and batches every running node proposed as leader.
async fn proposed(cl: &LocalCluster) -> (u64, u64) {
    let mut sum = (0, 0);
    for id in cl.running() {
        let s = cl.stats(id).await.unwrap();
        sum = (sum.0 + s.requests, sum.1 + s.batches);
    }
    sum
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_survive_a_killed_follower_and_a_killed_leader() {
    let keys: usize = std::env::var("XWAL_RAFT_KEYS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400);
    let root = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let bin = std::path::PathBuf::from(env!("CARGO_BIN_EXE_xwal-raft-node"));
    let mut cl = LocalCluster::new(bin, root.path().to_path_buf(), "xwal");
    cl.start(1, true);
    cl.start(2, false);
    cl.start(3, false);
    let mut acked = BTreeMap::new();
    let leader = cl.leader(None).await.unwrap();
    let leader = write_phase(&cl, leader, "a", keys, &mut acked).await;
    // A follower dies; the two others go on.
    let follower = (1..=3).find(|i| *i != leader).unwrap();
    cl.kill(follower);
    let leader = write_phase(&cl, leader, "b", keys, &mut acked).await;
    cl.start(follower, false);
    cl.caught_up(follower, leader).await.unwrap();
    cl.check(follower, &acked).await.unwrap();
    // The leader dies; a new one is elected among the two left.
    cl.kill(leader);
    let new = cl.leader(Some(leader)).await.unwrap();
    assert_ne!(new, leader);
    let new = write_phase(&cl, new, "c", keys, &mut acked).await;
    let (requests, batches) = proposed(&cl).await;
    cl.check(new, &acked).await.unwrap();
    cl.start(leader, false);
    // Every acknowledged write on every node.
    for id in 1..=3 {
        cl.caught_up(id, new).await.unwrap();
        cl.check(id, &acked).await.unwrap();
    }
    assert_eq!(acked.len(), 3 * keys);
    assert!(
        requests > batches,
        "the proposer batched: {requests} requests in {batches} Raft entries"
    );
}
