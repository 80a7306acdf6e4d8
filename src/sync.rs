//! The synchronisation primitives of the commit path ([`crate::ticket`],
//! [`crate::fence`], the append buffer, the writer's cell, the tail feed,
//! the shared state): std's in a normal build, loom's under `--cfg loom`, so
//! that `loom/tests/loom_commit.rs` model-checks the code that runs.
//!
//! Both map to one small API, parking_lot's shape: `Mutex` and `Condvar` made
//! by `Default`, `lock()` returning the guard (no poisoning),
//! `Condvar::wait(&mut guard)` and `notify_all()`; the atomics, `fence` and
//! `Arc` are std's. There is no `yield_now`: nothing on the commit path spins.
//!
//! Not parking_lot's mutex: under contention it spins with `sched_yield` (up
//! to seven calls, `parking_lot_core::SpinWait`) before it parks, and beside a
//! busy thread of the same priority each yield hands over a whole scheduler
//! slice. std's futex mutex spins briefly on the CPU, then sleeps in the kernel.

#[cfg(not(loom))]
pub(crate) use model::{Condvar, Mutex, MutexGuard};
#[cfg(not(loom))]
pub(crate) use std::sync::Arc;
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering, fence};

#[cfg(loom)]
pub(crate) use loom::sync::Arc;
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering, fence};
#[cfg(loom)]
pub(crate) use model::{Condvar, Mutex, MutexGuard};

pub(crate) use event_count::EventCount;

/// Sleepers one wake-up wakes directly (see [`EventCount`]). Measured with
/// 64 blocking writers beside two busy threads (2 s runs, three rounds):
/// 45-50k appends/s with 2, 42-51k with 4, 36-41k with 8; idle, 2 and 4
/// were alike (noise of about 20 % on this disk).
pub(crate) const WAKE_FAN_OUT: i32 = 2;

/// A count that threads sleep on until it moves: the waiters of one batch
/// all sleep on one, and the writer wakes them all with one call that
/// costs it a bounded amount, however many sleep: it wakes
/// [`WAKE_FAN_OUT`] of them (one `FUTEX_WAKE`, only if some sleep), and each
/// sleeper woken by a move wakes as many more before it leaves (a wake-up
/// tree). Waking 64 threads one by one costs the waker about as long as an
/// `fdatasync` on this class of machine (`perf`: `try_to_wake_up` under
/// `futex_wake`), and a thread that burns CPU loses the wake-up credit that
/// lets it preempt a busy thread; spread over the woken, that work overlaps.
///
/// The protocol of a waiter, which makes a lost wake-up impossible: take a
/// token with [`EventCount::prepare`] (counting itself a sleeper), check the
/// condition again, then [`EventCount::wait`] on the token (the kernel
/// returns at once if the count moved since the token), and [`EventCount::done`].
/// The waker makes the condition true, then calls [`EventCount::notify_all`].
/// All of it in sequentially consistent order: either the waiter's check sees
/// the condition, or the waker's notify sees the sleeper and a moved count.
#[cfg(not(loom))]
mod event_count {
    use std::sync::atomic::{AtomicU32, Ordering::SeqCst};

    #[derive(Default)]
    pub(crate) struct EventCount {
        count: AtomicU32,
        sleepers: AtomicU32,
        /// The count at which a wake-up found nobody left to wake: the
        /// sleepers still counted are on their way out, so no one passes
        /// the wake-up on for this move any more.
        drained: AtomicU32,
    }

    impl EventCount {
        /// Counts the caller as a sleeper; the token to wait on.
        pub(crate) fn prepare(&self) -> u32 {
            self.sleepers.fetch_add(1, SeqCst);
            self.count.load(SeqCst)
        }

        /// Sleeps until the count differs from `token` (or a spurious
        /// wake-up). Woken by a move, it passes the wake-up on to more
        /// sleepers, if any are left.
        pub(crate) fn wait(&self, token: u32) {
            // SAFETY: `count` is a live, aligned u32 for the whole call;
            // FUTEX_WAIT only reads it and sleeps while it equals `token`.
            unsafe {
                libc::syscall(
                    libc::SYS_futex,
                    self.count.as_ptr(),
                    libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
                    token,
                    std::ptr::null::<libc::timespec>(),
                );
            }
            // This one is counted until `done`: more than it sleep.
            let now = self.count.load(SeqCst);
            if now != token && self.sleepers.load(SeqCst) > 1 && self.drained.load(SeqCst) != now {
                self.wake(now);
            }
        }

        /// Wakes [`WAKE_FAN_OUT`] sleepers of move `now`; notes when that
        /// found fewer.
        fn wake(&self, now: u32) {
            let n = super::WAKE_FAN_OUT;
            // SAFETY: as in `wait`; FUTEX_WAKE touches no memory.
            let woken = unsafe {
                libc::syscall(
                    libc::SYS_futex,
                    self.count.as_ptr(),
                    libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
                    n,
                )
            };
            if woken < n as libc::c_long {
                self.drained.store(now, SeqCst);
            }
        }

        /// The caller no longer sleeps here (after `wait`, or instead of it).
        pub(crate) fn done(&self) {
            let before = self.sleepers.fetch_sub(1, SeqCst);
            debug_assert!(before > 0);
        }

        /// Threads between `prepare` and `done` now (for tests of the waits).
        #[cfg(test)]
        pub(crate) fn sleepers(&self) -> u32 {
            self.sleepers.load(SeqCst)
        }

        /// Moves the count and wakes the sleepers: [`WAKE_FAN_OUT`]
        /// directly, the rest through them.
        pub(crate) fn notify_all(&self) {
            let now = self.count.fetch_add(1, SeqCst).wrapping_add(1);
            if self.sleepers.load(SeqCst) > 0 {
                self.wake(now);
            }
        }
    }
}

/// loom models no futex: the same protocol on loom's mutex and condvar.
#[cfg(loom)]
mod event_count {
    use super::{Condvar, Mutex};
    use loom::sync::atomic::{AtomicU32, Ordering::SeqCst};

    #[derive(Default)]
    pub(crate) struct EventCount {
        count: Mutex<u32>,
        changed: Condvar,
        sleepers: AtomicU32,
    }

    impl EventCount {
        pub(crate) fn prepare(&self) -> u32 {
            self.sleepers.fetch_add(1, SeqCst);
            *self.count.lock()
        }

        pub(crate) fn wait(&self, token: u32) {
            let mut c = self.count.lock();
            while *c == token {
                self.changed.wait(&mut c);
            }
        }

        pub(crate) fn done(&self) {
            self.sleepers.fetch_sub(1, SeqCst);
        }

        pub(crate) fn notify_all(&self) {
            *self.count.lock() += 1;
            if self.sleepers.load(SeqCst) > 0 {
                self.changed.notify_all();
            }
        }
    }
}

/// Waits on `cv` until notified or `deadline`; true if the deadline passed.
#[cfg(not(loom))]
pub(crate) fn wait_until<T>(
    cv: &Condvar,
    guard: &mut MutexGuard<'_, T>,
    deadline: std::time::Instant,
) -> bool {
    cv.wait_until(guard, deadline)
}

/// loom models no time: a deadline wait is a plain wait.
#[cfg(loom)]
pub(crate) fn wait_until<T>(
    cv: &Condvar,
    guard: &mut MutexGuard<'_, T>,
    _deadline: std::time::Instant,
) -> bool {
    cv.wait(guard);
    false
}

/// std's (or loom's) `Mutex` and `Condvar` behind parking_lot's API:
/// `lock()` hands out the guard (poisoning is ignored: a panic while holding
/// one of these leaves state that is still consistent or is fenced), and
/// `wait` takes the guard by reference.
mod model {
    #[cfg(loom)]
    use loom::sync as imp;
    use std::ops::{Deref, DerefMut};
    #[cfg(not(loom))]
    use std::sync as imp;
    use std::sync::PoisonError;

    #[derive(Default)]
    pub(crate) struct Mutex<T>(imp::Mutex<T>);

    impl<T> Mutex<T> {
        pub(crate) fn new(value: T) -> Self {
            Mutex(imp::Mutex::new(value))
        }

        pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
            MutexGuard(Some(self.0.lock().unwrap_or_else(PoisonError::into_inner)))
        }

        /// The lock if it is free now, without waiting.
        pub(crate) fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
            match self.0.try_lock() {
                Ok(g) => Some(MutexGuard(Some(g))),
                Err(std::sync::TryLockError::Poisoned(p)) => Some(MutexGuard(Some(p.into_inner()))),
                Err(std::sync::TryLockError::WouldBlock) => None,
            }
        }
    }

    /// Holds the inner guard; empty only inside [`Condvar::wait`].
    pub(crate) struct MutexGuard<'a, T>(Option<imp::MutexGuard<'a, T>>);

    impl<T> Deref for MutexGuard<'_, T> {
        type Target = T;
        fn deref(&self) -> &T {
            self.0
                .as_ref()
                .expect("guard taken only inside Condvar::wait")
        }
    }

    impl<T> DerefMut for MutexGuard<'_, T> {
        fn deref_mut(&mut self) -> &mut T {
            self.0
                .as_mut()
                .expect("guard taken only inside Condvar::wait")
        }
    }

    /// std's condvar makes a `FUTEX_WAKE` system call at every notify,
    /// waiters or not: this one counts its waiters (under the caller's
    /// mutex, before they sleep) and skips the call when there are none.
    /// Every state a waiter waits for is changed under that same mutex, so
    /// a notify that reads no waiter comes after any waiter rechecked it.
    #[derive(Default)]
    pub(crate) struct Condvar {
        cv: imp::Condvar,
        waiters: imp::atomic::AtomicUsize,
    }

    impl Condvar {
        pub(crate) fn wait<T>(&self, guard: &mut MutexGuard<'_, T>) {
            let held = guard.0.take().expect("a guard waits once at a time");
            self.waiters.fetch_add(1, imp::atomic::Ordering::SeqCst);
            let back = self.cv.wait(held).unwrap_or_else(PoisonError::into_inner);
            self.waiters.fetch_sub(1, imp::atomic::Ordering::SeqCst);
            guard.0 = Some(back);
        }

        /// Waits until notified or `deadline`; true if the deadline passed.
        #[cfg(not(loom))]
        pub(crate) fn wait_until<T>(
            &self,
            guard: &mut MutexGuard<'_, T>,
            deadline: std::time::Instant,
        ) -> bool {
            let held = guard.0.take().expect("a guard waits once at a time");
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            self.waiters.fetch_add(1, imp::atomic::Ordering::SeqCst);
            let (g, r) = self
                .cv
                .wait_timeout(held, left)
                .unwrap_or_else(PoisonError::into_inner);
            self.waiters.fetch_sub(1, imp::atomic::Ordering::SeqCst);
            guard.0 = Some(g);
            r.timed_out()
        }

        pub(crate) fn notify_all(&self) {
            if self.waiters.load(imp::atomic::Ordering::SeqCst) > 0 {
                self.cv.notify_all();
            }
        }
    }
}
