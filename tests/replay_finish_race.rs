//! `Replay::finish` after a partial read must never report success: an entry
//! the replay thread sends just before `finish` looks at the channel is still
//! undelivered, and a consuming replay must then delete nothing. Repeated many
//! times, because the window is a few instructions wide.
use crate::common;
use common::*;
use xwal::*;

#[test]
fn finish_after_a_partial_read_never_succeeds() {
    let d = tempdir();
    // Channel of one: the thread sends entry 2 only after entry 1 was taken.
    let cfg = small(d.path(), IoEngine::Sync).replay_channel_capacity(1);
    let wal = open(&cfg);
    let mut lost = 0;
    for round in 0..400u64 {
        wal.append(&payload(2 * round + 1, 40)).unwrap();
        wal.append(&payload(2 * round + 2, 40)).unwrap();
        let before = wal.segments().len();
        let r = wal.replay(ReplayOptions::all().consume(true)).unwrap();
        let first = r.receiver().recv().unwrap();
        assert_eq!(first.lsn, 2 * round + 1);
        match r.finish() {
            Err(Error::ReceiverDropped) => {}
            Ok(s) => {
                lost += 1;
                eprintln!("round {round}: finish() succeeded with entry 2 unread: {s:?}");
            }
            Err(e) => panic!("round {round}: {e}"),
        }
        // Consume rotates; the sealed segment holding entry 2 must still be there.
        assert!(
            wal.segments().len() >= before,
            "round {round}: a segment was deleted"
        );
        // Start the next round from a WAL whose replay yields exactly two new entries.
        let r = wal.replay(ReplayOptions::all().consume(true)).unwrap();
        let all: Vec<Entry> = r.receiver().iter().collect();
        assert_eq!(all.len() as u64, 2, "round {round}");
        r.finish().unwrap();
    }
    assert_eq!(
        lost, 0,
        "finish() reported success with undelivered entries"
    );
}
