//! The example cluster's network: openraft's RPCs and the clients' requests
//! as JSON messages in length-delimited frames (tokio-util's
//! `LengthDelimitedCodec`) over TCP, one connection per peer.

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
}

/// A connection to one node, opened on first use and again after a failure.
pub struct Conn {
    target: u64,
    addr: String,
    framed: Option<Framed<TcpStream, LengthDelimitedCodec>>,
}

impl Conn {
    /// A connection to node `target` at `addr` (not opened yet).
    pub fn new(target: u64, addr: impl Into<String>) -> Conn {
        Conn {
            target,
            addr: addr.into(),
            framed: None,
        }
    }

    fn codec() -> LengthDelimitedCodec {
        LengthDelimitedCodec::builder()
            .max_frame_length(MAX_FRAME_BYTES)
            .new_codec()
    }

    /// Sends `m` and waits for the reply.
    pub async fn call(&mut self, m: &Message) -> io::Result<Reply> {
        let r = tokio::time::timeout(CALL_TIMEOUT, self.call_inner(m)).await;
        let r = r.unwrap_or_else(|_| Err(io::Error::new(io::ErrorKind::TimedOut, "no reply")));
        if r.is_err() {
            self.framed = None;
        }
        r
    }

    async fn call_inner(&mut self, m: &Message) -> io::Result<Reply> {
        if self.framed.is_none() {
            let s = TcpStream::connect(&self.addr).await?;
            s.set_nodelay(true)?;
            self.framed = Some(Framed::new(s, Self::codec()));
        }
        let Some(f) = self.framed.as_mut() else {
            return Err(io::Error::other("not connected"));
        };
        f.send(tokio_util::bytes::Bytes::from(serde_json::to_vec(m)?))
            .await?;
        match f.next().await {
            Some(Ok(b)) => serde_json::from_slice(&b).map_err(io::Error::other),
            Some(Err(e)) => Err(e),
            None => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed",
            )),
        }
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

/// Serves `raft` and `sm` on `listener` until the process ends.
pub async fn serve(raft: KvRaft, sm: KvStateMachine, listener: TcpListener) -> io::Result<()> {
    loop {
        let (s, _) = listener.accept().await?;
        s.set_nodelay(true)?;
        let (raft, sm) = (raft.clone(), sm.clone());
        tokio::spawn(async move {
            let mut f = Framed::new(s, Conn::codec());
            while let Some(Ok(b)) = f.next().await {
                let Ok(m) = serde_json::from_slice::<Message>(&b) else {
                    break;
                };
                let reply = answer(&raft, &sm, m).await;
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

async fn answer(raft: &KvRaft, sm: &KvStateMachine, m: Message) -> Reply {
    match m {
        Message::AppendEntries(r) => Reply::AppendEntries(raft.append_entries(r).await),
        Message::Vote(r) => Reply::Vote(raft.vote(r).await),
        Message::InstallSnapshot(r) => Reply::InstallSnapshot(raft.install_snapshot(r).await),
        Message::Write(r) => Reply::Write(raft.client_write(r).await.map(|w| w.data)),
        Message::Read(k) => Reply::Read(sm.get(&k)),
        Message::Status => {
            let m = raft.metrics().borrow().clone();
            Reply::Status(m.current_leader, m.last_applied.map_or(0, |l| l.index))
        }
    }
}
