//! The example cluster: three `xwal-raft-node` processes on 127.0.0.1, each
//! with its own xwal directory. Writes keys through the leader, SIGKILLs a
//! follower, writes more, restarts it and waits until it caught up; SIGKILLs
//! the leader, waits for a new one, writes more; then checks that no
//! acknowledged write is lost, on the new leader and on both restarted nodes.
//! XWAL_RAFT_KEYS sets the keys per phase (default 200);
//! `scripts/raft-cluster.sh --keys N` runs more.

use std::collections::BTreeMap;
use xwal_openraft::cluster::Conn;
use xwal_openraft::local::LocalCluster;

async fn write_phase(
    cl: &LocalCluster,
    leader: u64,
    tag: &str,
    keys: usize,
    acked: &mut BTreeMap<String, String>,
) -> u64 {
    let mut leader = leader;
    let mut conn = Conn::new(leader, &cl.addrs[&leader]);
    for i in 0..keys {
        let (k, v) = (format!("{tag}{i}"), format!("v{i}"));
        leader = cl.write(&mut conn, leader, &k, &v).await.unwrap();
        acked.insert(k, v);
    }
    leader
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_survive_a_killed_follower_and_a_killed_leader() {
    let keys: usize = std::env::var("XWAL_RAFT_KEYS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let root = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let bin = std::path::PathBuf::from(env!("CARGO_BIN_EXE_xwal-raft-node"));
    let mut cl = LocalCluster::new(bin, root.path().to_path_buf(), false);
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
    cl.check(new, &acked).await.unwrap();
    cl.start(leader, false);
    cl.caught_up(leader, new).await.unwrap();
    cl.check(leader, &acked).await.unwrap();
    assert_eq!(acked.len(), 3 * keys);
}
