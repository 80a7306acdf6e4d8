//! Zero heap allocations per append in steady state: `append(&[u8])` and
//! `submit` of a borrowed slice, counted by a global allocator. The producer
//! thread must allocate nothing at all; the whole process (the writer thread
//! included) less than once per hundred appends (amortised growth, such as a
//! replay anchor about every replay chunk, is all that is left).
mod common;
use common::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use xwal::*;

struct Counting;

static ALL: AtomicU64 = AtomicU64::new(0);
thread_local! {
    static MINE: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; the counters allocate nothing.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALL.fetch_add(1, Ordering::Relaxed);
        let _ = MINE.try_with(|c| c.set(c.get() + 1));
        // SAFETY: the caller's layout contract is passed on unchanged.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALL.fetch_add(1, Ordering::Relaxed);
        let _ = MINE.try_with(|c| c.set(c.get() + 1));
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator, which is the system's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALL.fetch_add(1, Ordering::Relaxed);
        let _ = MINE.try_with(|c| c.set(c.get() + 1));
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn mine() -> u64 {
    MINE.with(|c| c.get())
}

/// Allocations (this thread's, the process's) over `n` calls of `f`.
fn count(n: u64, mut f: impl FnMut(u64)) -> (u64, u64) {
    let (m0, a0) = (mine(), ALL.load(Ordering::SeqCst));
    for i in 0..n {
        f(i);
    }
    (mine() - m0, ALL.load(Ordering::SeqCst) - a0)
}

const STEADY: u64 = 3000;

fn config(dir: &std::path::Path, engine: IoEngine) -> Config {
    // Big enough that no rollover falls in the measured window.
    small(dir, engine)
        .segment_size(64 << 20)
        .sync(SyncPolicy::Never)
}

/// One test: the process-wide count must not see another test's allocations.
#[test]
fn steady_state_appends_allocate_nothing() {
    append_of_a_borrowed_slice_allocates_nothing();
    submit_of_a_borrowed_slice_allocates_nothing();
}

fn append_of_a_borrowed_slice_allocates_nothing() {
    for engine in ENGINES {
        let d = tempdir();
        let wal = open(&config(d.path(), engine));
        let data = [7u8; 128];
        count(500, |_| {
            wal.append(&data).unwrap();
        });
        let (own, all) = count(STEADY, |_| {
            wal.append(&data).unwrap();
        });
        assert_eq!(
            own, 0,
            "{engine:?}: the producer allocated {own} times in {STEADY} appends"
        );
        assert!(
            all * 100 < STEADY,
            "{engine:?}: {all} allocations in {STEADY} appends"
        );
        wal.close().unwrap();
    }
}

fn submit_of_a_borrowed_slice_allocates_nothing() {
    let d = tempdir();
    let wal = open(&config(d.path(), IoEngine::Uring).sync(SyncPolicy::Always));
    let data = [9u8; 128];
    let window = |_| {
        let a = wal.submit(&data[..]).unwrap();
        let b = wal.submit(data).unwrap();
        assert_eq!(b.lsn(), a.lsn() + 1);
        a.wait().unwrap();
        b.wait().unwrap();
    };
    count(300, window);
    let (own, all) = count(STEADY / 2, window);
    assert_eq!(
        own, 0,
        "the producer allocated {own} times in {STEADY} submits"
    );
    assert!(all * 100 < STEADY, "{all} allocations in {STEADY} submits");
    wal.close().unwrap();
}
