//! The example cluster's network: openraft's RPCs and the clients' requests
//! as JSON messages in length-delimited frames (tokio-util's
//! `LengthDelimitedCodec`) over TCP, one connection per peer.
//!
//! A reply can never be credited to the wrong request: every request carries
//! an id that its reply echoes and the caller checks, and a connection lives
//! only inside the call that uses it. openraft drops an RPC's future when its
//! timeout (the heartbeat interval) expires; a call dropped mid-flight drops
//! its connection with it, so the next call never reads a late reply or a
//! half-sent frame.

use crate::proposer::Proposer;
use crate::{KvStateMachine, Request, Response, TypeConfig};
use futures_util::{SinkExt, StreamExt};
use openraft::error::{
    ClientWriteError, InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError,
    Unreachable,
};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use openraft::{BasicNode, Raft};
use serde::{Deserialize, Serialize};
use std::io;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::{Framed, LengthDelimitedCodec};

/// A Raft node of [`TypeConfig`].
pub type KvRaft = Raft<TypeConfig>;

/// Longest wait for one reply.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(2);
/// Largest frame (a snapshot chunk or a batch of entries).
pub const MAX_FRAME_BYTES: usize = 64 << 20;

/// What a connection carries to a node.
#[derive(Debug, Serialize, Deserialize)]
pub enum Message {
    /// openraft's RPCs.
    AppendEntries(AppendEntriesRequest<TypeConfig>),
    /// openraft's RPCs.
    Vote(VoteRequest<u64>),
    /// openraft's RPCs.
    InstallSnapshot(InstallSnapshotRequest<TypeConfig>),
    /// A client write (only the leader takes it).
    Write(Request),
    /// A read of the node's state machine.
    Read(String),
    /// The node's view: leader and last applied index.
    Status,
    /// The node's counters.
    Stats,
}

/// A node's counters, for the benchmark.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct NodeStats {
    /// Log commits (one write made durable: an xwal group commit, a
    /// raft-engine synced write).
    pub log_commits: u64,
    /// Entries those commits carried.
    pub log_entries: u64,
    /// Client requests this node proposed as leader.
    pub requests: u64,
    /// Batches (Raft entries) this node proposed as leader.
    pub batches: u64,
}

/// A request and its id, as it goes on the wire.
#[derive(Debug, Serialize, Deserialize)]
pub struct Envelope<T> {
    /// Chosen by the caller, echoed by the reply.
    pub id: u64,
    /// The message or the reply.
    pub body: T,
}

/// The answers.
#[derive(Debug, Serialize, Deserialize)]
pub enum Reply {
    /// To [`Message::AppendEntries`].
    AppendEntries(Result<AppendEntriesResponse<u64>, RaftError<u64>>),
    /// To [`Message::Vote`].
    Vote(Result<VoteResponse<u64>, RaftError<u64>>),
    /// To [`Message::InstallSnapshot`].
    InstallSnapshot(Result<InstallSnapshotResponse<u64>, RaftError<u64, InstallSnapshotError>>),
    /// To [`Message::Write`]: the response, or the error (a `ForwardToLeader` names the leader).
    Write(Result<Response, RaftError<u64, ClientWriteError<u64, BasicNode>>>),
    /// To [`Message::Read`].
    Read(Option<String>),
    /// To [`Message::Status`]: current leader, last applied index.
    Status(Option<u64>, u64),
    /// To [`Message::Stats`].
    Stats(NodeStats),
}

/// A connection to one node, opened on first use and again after a failure
/// or a cancelled call.
pub struct Conn {
    target: u64,
    addr: String,
    framed: Option<Framed<TcpStream, LengthDelimitedCodec>>,
    next_id: u64,
}

impl Conn {
    /// A connection to node `target` at `addr` (not opened yet).
    pub fn new(target: u64, addr: impl Into<String>) -> Conn {
        Conn {
            target,
            addr: addr.into(),
            framed: None,
            next_id: 1,
        }
    }

    fn codec() -> LengthDelimitedCodec {
        LengthDelimitedCodec::builder()
            .max_frame_length(MAX_FRAME_BYTES)
            .new_codec()
    }

    /// Sends `m` and waits for its reply, at most [`CALL_TIMEOUT`].
    ///
    /// The connection is taken out of `self` for the call and put back only
    /// when the call completes: if the caller drops this future (a timeout
    /// around it), the connection goes with it.
    pub async fn call(&mut self, m: &Message) -> io::Result<Reply> {
        let id = self.next_id;
        self.next_id += 1;
        let framed = self.framed.take();
        let r = tokio::time::timeout(CALL_TIMEOUT, self.exchange(framed, id, m)).await;
        match r {
            Ok(Ok((framed, reply))) => {
                self.framed = Some(framed);
                Ok(reply)
            }
            Ok(Err(e)) => Err(e),
            Err(_) => Err(io::Error::new(io::ErrorKind::TimedOut, "no reply")),
        }
    }

    /// One request and its reply on `framed` (or a new connection).
    async fn exchange(
        &self,
        framed: Option<Framed<TcpStream, LengthDelimitedCodec>>,
        id: u64,
        m: &Message,
    ) -> io::Result<(Framed<TcpStream, LengthDelimitedCodec>, Reply)> {
        let mut f = match framed {
            Some(f) => f,
            None => {
                let s = TcpStream::connect(&self.addr).await?;
                s.set_nodelay(true)?;
                Framed::new(s, Self::codec())
            }
        };
        let bytes = serde_json::to_vec(&Envelope { id, body: m })?;
        f.send(tokio_util::bytes::Bytes::from(bytes)).await?;
        let b = match f.next().await {
            Some(b) => b?,
            None => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed",
                ));
            }
        };
        let reply: Envelope<Reply> = serde_json::from_slice(&b).map_err(io::Error::other)?;
        if reply.id != id {
            // Cannot happen on a connection used by one call at a time; if a
            // peer ever answers out of turn, the connection is dropped.
            return Err(io::Error::other(format!(
                "reply {} to request {id}",
                reply.id
            )));
        }
        Ok((f, reply.body))
    }

    fn unexpected<E: std::error::Error>(&self) -> RPCError<u64, BasicNode, E> {
        RPCError::Network(NetworkError::new(&io::Error::other("unexpected reply")))
    }
}

/// Opens a [`Conn`] per peer.
#[derive(Debug, Clone, Default)]
pub struct Network;

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = Conn;

    async fn new_client(&mut self, target: u64, node: &BasicNode) -> Conn {
        Conn::new(target, node.addr.clone())
    }
}

impl Conn {
    /// One openraft RPC: `pick` takes the answer out of the matching reply.
    async fn rpc<T, E: std::error::Error>(
        &mut self,
        m: Message,
        pick: impl FnOnce(Reply) -> Option<Result<T, RaftError<u64, E>>>,
    ) -> Result<T, RPCError<u64, BasicNode, RaftError<u64, E>>> {
        match self.call(&m).await.map(pick) {
            Ok(Some(r)) => r.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e))),
            Ok(None) => Err(self.unexpected()),
            Err(e) => Err(RPCError::Unreachable(Unreachable::new(&e))),
        }
    }
}

impl RaftNetwork<TypeConfig> for Conn {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        _option: RPCOption,
    ) -> Result<AppendEntriesResponse<u64>, RPCError<u64, BasicNode, RaftError<u64>>> {
        self.rpc(Message::AppendEntries(rpc), |r| match r {
            Reply::AppendEntries(r) => Some(r),
            _ => None,
        })
        .await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        _option: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<u64>,
        RPCError<u64, BasicNode, RaftError<u64, InstallSnapshotError>>,
    > {
        self.rpc(Message::InstallSnapshot(rpc), |r| match r {
            Reply::InstallSnapshot(r) => Some(r),
            _ => None,
        })
        .await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<u64>,
        _option: RPCOption,
    ) -> Result<VoteResponse<u64>, RPCError<u64, BasicNode, RaftError<u64>>> {
        self.rpc(Message::Vote(rpc), |r| match r {
            Reply::Vote(r) => Some(r),
            _ => None,
        })
        .await
    }
}

/// What a node serves: its Raft, its state machine, its proposer, and where
/// its counters come from.
#[derive(Clone)]
pub struct Node {
    /// The node's Raft.
    pub raft: KvRaft,
    /// Its state machine (reads are answered from it).
    pub sm: KvStateMachine,
    /// Client writes go through it.
    pub proposer: Proposer,
    /// The log store's counters (commits, entries).
    pub log_stats: std::sync::Arc<dyn Fn() -> (u64, u64) + Send + Sync>,
}

/// Serves `node` on `listener` until the process ends: one task per
/// connection, requests answered in turn, each reply tagged with its
/// request's id.
pub async fn serve(node: Node, listener: TcpListener) -> io::Result<()> {
    loop {
        let (s, _) = listener.accept().await?;
        s.set_nodelay(true)?;
        let node = node.clone();
        tokio::spawn(async move {
            let mut f = Framed::new(s, Conn::codec());
            while let Some(Ok(b)) = f.next().await {
                let Ok(m) = serde_json::from_slice::<Envelope<Message>>(&b) else {
                    break;
                };
                let reply = Envelope {
                    id: m.id,
                    body: answer(&node, m.body).await,
                };
                let Ok(bytes) = serde_json::to_vec(&reply) else {
                    break;
                };
                if f.send(tokio_util::bytes::Bytes::from(bytes)).await.is_err() {
                    break;
                }
            }
        });
    }
}

async fn answer(node: &Node, m: Message) -> Reply {
    let raft = &node.raft;
    match m {
        Message::AppendEntries(r) => Reply::AppendEntries(raft.append_entries(r).await),
        Message::Vote(r) => Reply::Vote(raft.vote(r).await),
        Message::InstallSnapshot(r) => Reply::InstallSnapshot(raft.install_snapshot(r).await),
        Message::Write(r) => Reply::Write(node.proposer.write(r).await),
        Message::Read(k) => Reply::Read(node.sm.get(&k)),
        Message::Status => {
            let m = raft.metrics().borrow().clone();
            Reply::Status(m.current_leader, m.last_applied.map_or(0, |l| l.index))
        }
        Message::Stats => {
            let (log_commits, log_entries) = (node.log_stats)();
            let (requests, batches) = node.proposer.counts();
            Reply::Stats(NodeStats {
                log_commits,
                log_entries,
                requests,
                batches,
            })
        }
    }
}
