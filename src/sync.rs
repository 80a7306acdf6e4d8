//! The synchronisation primitives of the commit path ([`crate::ticket`],
//! [`crate::fence`]): parking_lot and std in a normal build, loom's under
//! `--cfg loom`, so that `tests/loom_commit.rs` model-checks the code that runs.
//!
//! Both map to one small API, parking_lot's shape: `Mutex` and `Condvar` made
//! by `Default`, `lock()` returning the guard (no poisoning),
//! `Condvar::wait(&mut guard)` and `notify_all()`; the atomics, `fence` and
//! `Arc` are std's. There is no `yield_now`: nothing on the commit path spins.

#[cfg(not(loom))]
pub(crate) use parking_lot::{Condvar, Mutex, MutexGuard};
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

/// A count that threads sleep on until it moves: the waiters of one batch
/// all sleep on one, and the writer wakes them all with one call (one
/// `FUTEX_WAKE` system call however many there are, made only if some sleep).
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
    }

    impl EventCount {
        /// Counts the caller as a sleeper; the token to wait on.
        pub(crate) fn prepare(&self) -> u32 {
            self.sleepers.fetch_add(1, SeqCst);
            self.count.load(SeqCst)
        }

        /// Sleeps until the count differs from `token` (or a spurious wake-up).
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

        /// Moves the count and wakes every sleeper, if there is one.
        pub(crate) fn notify_all(&self) {
            self.count.fetch_add(1, SeqCst);
            if self.sleepers.load(SeqCst) > 0 {
                // SAFETY: as in `wait`; FUTEX_WAKE touches no memory.
                unsafe {
                    libc::syscall(
                        libc::SYS_futex,
                        self.count.as_ptr(),
                        libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
                        i32::MAX,
                    );
                }
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
    cv.wait_until(guard, deadline).timed_out()
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

/// loom's `Mutex` and `Condvar` behind parking_lot's API: `lock()` hands out
/// the guard (poisoning is ignored: parking_lot has none), and `wait` takes
/// the guard by reference.
#[cfg(loom)]
mod model {
    use std::ops::{Deref, DerefMut};
    use std::sync::PoisonError;

    #[derive(Default)]
    pub(crate) struct Mutex<T>(loom::sync::Mutex<T>);

    impl<T> Mutex<T> {
        pub(crate) fn new(value: T) -> Self {
            Mutex(loom::sync::Mutex::new(value))
        }

        pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
            MutexGuard(Some(self.0.lock().unwrap_or_else(PoisonError::into_inner)))
        }
    }

    /// Holds loom's guard; empty only inside [`Condvar::wait`].
    pub(crate) struct MutexGuard<'a, T>(Option<loom::sync::MutexGuard<'a, T>>);

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

    #[derive(Default)]
    pub(crate) struct Condvar(loom::sync::Condvar);

    impl Condvar {
        pub(crate) fn wait<T>(&self, guard: &mut MutexGuard<'_, T>) {
            let held = guard.0.take().expect("a guard waits once at a time");
            guard.0 = Some(self.0.wait(held).unwrap_or_else(PoisonError::into_inner));
        }

        pub(crate) fn notify_all(&self) {
            self.0.notify_all();
        }
    }
}
