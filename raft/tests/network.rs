//! The cluster network never credits a reply to the wrong request.
//!
//! openraft wraps each RPC in a timeout (the heartbeat interval) and drops
//! the call's future when it expires. A call dropped mid-flight must not
//! leave its late reply (or half a frame) on a connection that the next call
//! then reads.

use futures_util::{SinkExt, StreamExt};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::codec::{Framed, LengthDelimitedCodec};
use xwal_openraft::cluster::{Conn, Envelope, Message, Reply};

/// A node that answers `Read(key)` with the key itself, after 300 ms when
/// the key is "slow": one task per connection, requests in turn.
async fn echo_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        loop {
            let (s, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let mut f = Framed::new(s, LengthDelimitedCodec::new());
                while let Some(Ok(b)) = f.next().await {
                    let m: Envelope<Message> = serde_json::from_slice(&b).unwrap();
                    let Message::Read(key) = m.body else { break };
                    if key == "slow" {
                        tokio::time::sleep(Duration::from_millis(300)).await;
                    }
                    let reply = Envelope {
                        id: m.id,
                        body: Reply::Read(Some(key)),
                    };
                    let bytes = serde_json::to_vec(&reply).unwrap();
                    if f.send(tokio_util::bytes::Bytes::from(bytes)).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    addr
}

async fn read(conn: &mut Conn, key: &str) -> Option<String> {
    match conn.call(&Message::Read(key.into())).await {
        Ok(Reply::Read(v)) => v,
        other => panic!("read {key}: {other:?}"),
    }
}

#[tokio::test]
async fn a_call_cancelled_mid_flight_leaves_the_next_call_its_own_reply() {
    let addr = echo_server().await;
    let mut conn = Conn::new(1, &addr);
    assert_eq!(read(&mut conn, "first").await.as_deref(), Some("first"));
    // openraft's timeout around an RPC: the future is dropped mid-flight.
    let cancelled = tokio::time::timeout(
        Duration::from_millis(50),
        conn.call(&Message::Read("slow".into())),
    )
    .await;
    assert!(cancelled.is_err(), "the slow call was cancelled");
    // The late reply to "slow" arrives while this call waits (on the old
    // connection it would be read as this call's answer).
    for key in ["fast", "next", "last"] {
        assert_eq!(read(&mut conn, key).await.as_deref(), Some(key));
    }
}
