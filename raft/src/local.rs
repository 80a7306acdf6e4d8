//! A cluster of `xwal-raft-node` processes on 127.0.0.1, for the cluster
//! test and the benchmark: start, SIGKILL, find the leader, write through it
//! (following redirects), wait for a node to catch up, read back.

use crate::Request;
use crate::cluster::{Conn, Message, NodeStats, Reply};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Three nodes, each with its own directory under `root`.
pub struct LocalCluster {
    node_bin: PathBuf,
    root: PathBuf,
    /// Node id -> address.
    pub addrs: BTreeMap<u64, String>,
    children: BTreeMap<u64, Child>,
    /// The nodes' log store: `xwal`, `mem` or `raft-engine` (`--store`).
    pub store: String,
    /// More arguments for every node (the proposer's bounds, `--trace`).
    pub node_args: Vec<String>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

impl LocalCluster {
    /// Three nodes (not started) of `node_bin`, their directories under
    /// `root`, their log on `store` (`xwal`, `mem` or `raft-engine`).
    pub fn new(node_bin: PathBuf, root: PathBuf, store: &str) -> LocalCluster {
        let addrs = (1..=3u64)
            .map(|i| (i, format!("127.0.0.1:{}", free_port())))
            .collect();
        LocalCluster {
            node_bin,
            root,
            addrs,
            children: BTreeMap::new(),
            store: store.to_string(),
            node_args: Vec::new(),
        }
    }

    /// Starts node `id` (`init`: it initializes the cluster).
    pub fn start(&mut self, id: u64, init: bool) {
        let nodes: Vec<String> = self.addrs.iter().map(|(i, a)| format!("{i}={a}")).collect();
        let mut c = Command::new(&self.node_bin);
        c.args(["--id", &id.to_string(), "--dir"])
            .arg(self.root.join(format!("node-{id}")))
            .args(["--nodes", &nodes.join(",")])
            .args(["--store", &self.store])
            .args(&self.node_args)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if init {
            c.arg("--init");
        }
        if let Ok(child) = c.spawn() {
            self.children.insert(id, child);
        }
    }

    /// The nodes running.
    pub fn running(&self) -> Vec<u64> {
        self.children.keys().copied().collect()
    }

    /// The process id of node `id`, if it runs.
    pub fn pid(&self, id: u64) -> Option<u32> {
        self.children.get(&id).map(Child::id)
    }

    /// Node `id`'s counters.
    pub async fn stats(&self, id: u64) -> Option<NodeStats> {
        match Conn::new(id, &self.addrs[&id]).call(&Message::Stats).await {
            Ok(Reply::Stats(s)) => Some(s),
            _ => None,
        }
    }

    /// SIGKILLs node `id`.
    pub fn kill(&mut self, id: u64) {
        if let Some(mut c) = self.children.remove(&id) {
            let _ = c.kill(); // SIGKILL
            let _ = c.wait();
        }
    }

    /// Node `id`'s leader and last applied index.
    pub async fn status(&self, id: u64) -> Option<(Option<u64>, u64)> {
        match Conn::new(id, &self.addrs[&id]).call(&Message::Status).await {
            Ok(Reply::Status(l, a)) => Some((l, a)),
            _ => None,
        }
    }

    /// The node every running node names as leader, other than `not`.
    pub async fn leader(&self, not: Option<u64>) -> Result<u64, String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            let mut views = Vec::new();
            for &id in self.children.keys() {
                views.push(self.status(id).await.and_then(|s| s.0));
            }
            if let Some(Some(l)) = views.first() {
                let agreed = views.iter().all(|v| *v == Some(*l));
                if agreed && Some(*l) != not && self.children.contains_key(l) {
                    return Ok(*l);
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err("no leader within 30 s".into())
    }

    /// Writes `key` through `conn` to the leader, following redirects;
    /// returns the leader that acknowledged it.
    pub async fn write(
        &self,
        conn: &mut Conn,
        mut leader: u64,
        key: &str,
        value: &str,
    ) -> Result<u64, String> {
        let req = Request {
            key: key.into(),
            value: value.into(),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            match conn.call(&Message::Write(req.clone())).await {
                Ok(Reply::Write(Ok(_))) => return Ok(leader),
                Ok(Reply::Write(Err(e))) => match e.forward_to_leader().and_then(|f| f.leader_id) {
                    Some(l) if self.children.contains_key(&l) => leader = l,
                    _ => leader = self.leader(None).await?,
                },
                _ => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    leader = self.leader(None).await?;
                }
            }
            *conn = Conn::new(leader, &self.addrs[&leader]);
        }
        Err(format!("write of {key} not acknowledged within 30 s"))
    }

    /// Waits until node `id` applied what the leader applied.
    pub async fn caught_up(&self, id: u64, leader: u64) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let (Some((_, la)), Some((_, fa))) =
                (self.status(leader).await, self.status(id).await)
                && fa >= la
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(format!("node {id} did not catch up within 60 s"))
    }

    /// Checks that node `id` holds every acknowledged key.
    pub async fn check(&self, id: u64, acked: &BTreeMap<String, String>) -> Result<(), String> {
        let mut c = Conn::new(id, &self.addrs[&id]);
        for (k, v) in acked {
            match c.call(&Message::Read(k.clone())).await {
                Ok(Reply::Read(Some(got))) if &got == v => {}
                other => return Err(format!("node {id}: acknowledged {k} lost: {other:?}")),
            }
        }
        Ok(())
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        for id in 1..=3 {
            self.kill(id);
        }
    }
}
