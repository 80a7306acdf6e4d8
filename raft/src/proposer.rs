//! Proposal batching on the leader, as etcd and TiKV batch proposals.
//!
//! openraft 0.9 turns each `client_write` into its own one-entry append and
//! waits for that append's flush before it handles its next message, so a
//! leader fed one request per `client_write` makes one log commit per request,
//! one after another. The [`Proposer`] puts the requests of many callers into
//! one Raft entry instead:
//!
//! - callers queue their [`Request`] with [`Proposer::write`];
//! - one task takes what has queued, up to [`ProposerConfig::max_requests`]
//!   requests and [`ProposerConfig::max_bytes`], as one [`Batch`], and hands it
//!   to openraft with `client_write_ff` (no waiting for the commit);
//! - at most [`ProposerConfig::max_in_flight`] batches are proposed and not yet
//!   answered. While they are, requests queue: batches form from what arrives
//!   while the disk and the followers are busy, never from a timer. A lone
//!   request on an idle cluster goes at once;
//! - when a batch is applied, each request's answer goes back to its own
//!   caller, in order; an error (no longer leader, Raft stopped) goes to every
//!   caller of the batch.

use crate::cluster::KvRaft;
use crate::{Batch, BatchResponse, Request, Response};
use openraft::BasicNode;
use openraft::error::{ClientWriteError, Fatal, RaftError};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::{Semaphore, mpsc, oneshot};

/// What a caller of [`Proposer::write`] gets: its own answer, or why the
/// cluster did not take the request (`ForwardToLeader` names the leader).
pub type WriteResult = Result<Response, RaftError<u64, ClientWriteError<u64, BasicNode>>>;

/// Bounds of the proposer. The defaults were measured with `xwal-raft-bench`
/// on a 2-core machine (README, "Replication").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProposerConfig {
    /// Most requests in one Raft entry.
    pub max_requests: usize,
    /// Most bytes (keys and values) in one Raft entry; a single larger request
    /// still goes, alone.
    pub max_bytes: usize,
    /// Most batches proposed and not yet answered.
    pub max_in_flight: usize,
    /// Most requests waiting in the queue; callers past it wait for room.
    pub max_queued: usize,
}

impl Default for ProposerConfig {
    fn default() -> Self {
        ProposerConfig {
            max_requests: 4096,
            max_bytes: 1 << 20,
            max_in_flight: 2,
            max_queued: 65_536,
        }
    }
}

impl ProposerConfig {
    /// Sets [`ProposerConfig::max_requests`] (at least 1).
    pub fn max_requests(mut self, n: usize) -> Self {
        self.max_requests = n.max(1);
        self
    }

    /// Sets [`ProposerConfig::max_bytes`] (at least 1).
    pub fn max_bytes(mut self, n: usize) -> Self {
        self.max_bytes = n.max(1);
        self
    }

    /// Sets [`ProposerConfig::max_in_flight`] (at least 1).
    pub fn max_in_flight(mut self, n: usize) -> Self {
        self.max_in_flight = n.max(1);
        self
    }
}

struct Queued {
    request: Request,
    reply: oneshot::Sender<WriteResult>,
}

impl Queued {
    fn bytes(&self) -> usize {
        self.request.key.len() + self.request.value.len()
    }
}

/// The leader's proposal queue (every node runs one; a follower's answers
/// `ForwardToLeader` from openraft). Clones share the queue.
#[derive(Clone)]
pub struct Proposer {
    queue: mpsc::Sender<Queued>,
    counts: Arc<Counts>,
}

/// Requests and batches proposed (for the benchmark's entries per batch).
#[derive(Default)]
struct Counts {
    requests: AtomicU64,
    batches: AtomicU64,
}

impl Proposer {
    /// Starts the proposing task on the current tokio runtime.
    pub fn start(raft: KvRaft, config: ProposerConfig) -> Proposer {
        assert!(config.max_requests >= 1 && config.max_bytes >= 1 && config.max_in_flight >= 1);
        let (queue, rx) = mpsc::channel(config.max_queued.max(1));
        let counts = Arc::new(Counts::default());
        tokio::spawn(propose(raft, rx, config, counts.clone()));
        Proposer { queue, counts }
    }

    /// Requests and batches proposed so far.
    pub fn counts(&self) -> (u64, u64) {
        let c = &self.counts;
        (
            c.requests.load(Ordering::Relaxed),
            c.batches.load(Ordering::Relaxed),
        )
    }

    /// Proposes `request` (batched with whatever else queued) and waits for
    /// its answer: applied on the leader, so committed on a majority.
    pub async fn write(&self, request: Request) -> WriteResult {
        let (reply, answer) = oneshot::channel();
        let stopped = || RaftError::Fatal(Fatal::Stopped);
        self.queue
            .send(Queued { request, reply })
            .await
            .map_err(|_| stopped())?;
        answer.await.unwrap_or_else(|_| Err(stopped()))
    }
}

/// The proposing task: waits for room in flight, then for a request, then
/// takes what else queued meanwhile.
async fn propose(
    raft: KvRaft,
    mut rx: mpsc::Receiver<Queued>,
    config: ProposerConfig,
    counts: Arc<Counts>,
) {
    let in_flight = Arc::new(Semaphore::new(config.max_in_flight));
    let mut carry: Option<Queued> = None;
    loop {
        // Room first: while every slot is taken, requests keep queuing and
        // the next batch grows.
        let Ok(permit) = in_flight.clone().acquire_owned().await else {
            return;
        };
        let first = match carry.take() {
            Some(q) => q,
            None => match rx.recv().await {
                Some(q) => q,
                None => return,
            },
        };
        let (batch, replies) = take_batch(first, &mut rx, &mut carry, &config);
        debug_assert_eq!(batch.requests.len(), replies.len());
        counts.batches.fetch_add(1, Ordering::Relaxed);
        let n = batch.requests.len() as u64;
        counts.requests.fetch_add(n, Ordering::Relaxed);
        match raft.client_write_ff(batch).await {
            Ok(answer) => {
                tokio::spawn(async move {
                    let r = match answer.await {
                        Ok(r) => r.map(|w| w.data).map_err(RaftError::APIError),
                        Err(_) => Err(RaftError::Fatal(Fatal::Stopped)),
                    };
                    answer_each(r, replies);
                    drop(permit);
                });
            }
            Err(fatal) => answer_each(Err(RaftError::Fatal(fatal)), replies),
        }
    }
}

/// `first` and what queued behind it, within the bounds; a request that
/// would pass `max_bytes` waits in `carry` for the next batch.
fn take_batch(
    first: Queued,
    rx: &mut mpsc::Receiver<Queued>,
    carry: &mut Option<Queued>,
    config: &ProposerConfig,
) -> (Batch, Vec<oneshot::Sender<WriteResult>>) {
    let mut bytes = first.bytes();
    let (mut requests, mut replies) = (vec![first.request], vec![first.reply]);
    while requests.len() < config.max_requests {
        let Ok(q) = rx.try_recv() else { break };
        if bytes + q.bytes() > config.max_bytes {
            *carry = Some(q);
            break;
        }
        bytes += q.bytes();
        requests.push(q.request);
        replies.push(q.reply);
    }
    debug_assert!(requests.len() <= config.max_requests);
    (Batch { requests }, replies)
}

/// Sends each caller its own answer (the batch's answers are in its order).
fn answer_each(
    r: Result<BatchResponse, RaftError<u64, ClientWriteError<u64, BasicNode>>>,
    replies: Vec<oneshot::Sender<WriteResult>>,
) {
    match r {
        Ok(b) => {
            debug_assert_eq!(b.responses.len(), replies.len(), "one answer per request");
            let mut answers = b.responses.into_iter();
            for reply in replies {
                let a = answers.next().unwrap_or_default();
                let _ = reply.send(Ok(a));
            }
        }
        Err(e) => {
            for reply in replies {
                let _ = reply.send(Err(e.clone()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queued(key: &str, value_len: usize) -> (Queued, oneshot::Receiver<WriteResult>) {
        let (reply, rx) = oneshot::channel();
        let request = Request {
            key: key.into(),
            value: "v".repeat(value_len),
        };
        (Queued { request, reply }, rx)
    }

    #[tokio::test]
    async fn a_batch_takes_what_queued_within_its_bounds() {
        let (tx, mut rx) = mpsc::channel(16);
        let mut answers = Vec::new();
        for i in 0..5 {
            let (q, a) = queued(&format!("k{i}"), 10);
            answers.push(a);
            tx.send(q).await.unwrap();
        }
        let config = ProposerConfig::default().max_requests(3).max_bytes(1000);
        let (first, _) = queued("first", 10);
        let mut carry = None;
        let (batch, replies) = take_batch(first, &mut rx, &mut carry, &config);
        let keys: Vec<&str> = batch.requests.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(
            keys,
            ["first", "k0", "k1"],
            "oldest first, at most max_requests"
        );
        assert_eq!(replies.len(), 3);
        assert!(carry.is_none());
        // A byte bound: the request that would pass it waits for the next batch.
        let config = config.max_requests(100).max_bytes(25);
        let (first, _) = queued("next", 10);
        let (batch, _) = take_batch(first, &mut rx, &mut carry, &config);
        assert_eq!(batch.requests.len(), 1);
        assert_eq!(carry.as_ref().map(|q| q.request.key.as_str()), Some("k2"));
    }

    #[tokio::test]
    async fn each_caller_gets_its_own_answer_or_the_batch_error() {
        let (a, ra) = oneshot::channel();
        let (b, rb) = oneshot::channel();
        let answers = BatchResponse {
            responses: vec![
                Response {
                    previous: Some("a".into()),
                },
                Response { previous: None },
            ],
        };
        answer_each(Ok(answers), vec![a, b]);
        assert_eq!(ra.await.unwrap().unwrap().previous.as_deref(), Some("a"));
        assert_eq!(rb.await.unwrap().unwrap().previous, None);
        let (a, ra) = oneshot::channel();
        let (b, rb) = oneshot::channel();
        answer_each(Err(RaftError::Fatal(Fatal::Stopped)), vec![a, b]);
        assert!(ra.await.unwrap().is_err());
        assert!(rb.await.unwrap().is_err());
    }
}
