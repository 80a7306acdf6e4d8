//! `Wal::submit_batch`: a batch's entries get consecutive LSNs without the
//! caller waiting, the ticket answers for the last, and a batch that could
//! not be one write is refused before anything is staged.
use crate::common;
use common::*;
use xwal::*;

#[test]
fn batches_from_many_threads_get_dense_disjoint_ranges() {
    let d = tempdir();
    let wal = std::sync::Arc::new(open(&small(d.path(), IoEngine::Uring)));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let wal = wal.clone();
            std::thread::spawn(move || {
                let mut ranges = Vec::new();
                for i in 0..50u64 {
                    let n = 1 + (i + t) % 5;
                    let items: Vec<Vec<u8>> =
                        (0..n).map(|k| vec![t as u8; k as usize + 1]).collect();
                    let ticket = wal.submit_batch(items).unwrap();
                    ranges.push((ticket.lsn().0 + 1 - n, ticket.wait().unwrap().0));
                }
                ranges
            })
        })
        .collect();
    let mut all: Vec<(u64, u64)> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    all.sort_unstable();
    let mut next = 1;
    for (first, last) in all {
        assert_eq!(first, next, "a gap or an overlap before LSN {first}");
        next = last + 1;
    }
    assert_eq!(wal.durable_index(), next - 1);
}

#[test]
fn an_empty_or_oversized_batch_is_refused_and_stages_nothing() {
    let d = tempdir();
    let wal = open(&small(d.path(), IoEngine::Sync));
    let empty: Vec<Vec<u8>> = Vec::new();
    assert!(matches!(
        wal.submit_batch(empty),
        Err(Error::InvalidBatch { count: 0, .. })
    ));
    let huge: Vec<Vec<u8>> = (0..64).map(|_| vec![0u8; 8 << 10]).collect();
    assert!(matches!(
        wal.submit_batch(huge),
        Err(Error::EntryTooLarge { .. })
    ));
    assert_eq!(wal.append(b"next").unwrap(), 1);
}
