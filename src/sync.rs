//! The synchronisation primitives of the commit path ([`crate::ticket`],
//! [`crate::fence`]): parking_lot and std in a normal build, loom's under
//! `--cfg loom`, so that `tests/loom_commit.rs` model-checks the code that runs.
//!
//! Both map to one small API, parking_lot's shape: `Mutex` and `Condvar` made
//! by `Default`, `lock()` returning the guard (no poisoning),
//! `Condvar::wait(&mut guard)` and `notify_all()`; the atomics, `fence`, `Arc`
//! and `yield_now` are std's.

#[cfg(not(loom))]
pub(crate) use parking_lot::{Condvar, Mutex, MutexGuard};
#[cfg(not(loom))]
pub(crate) use std::sync::Arc;
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering, fence};
#[cfg(not(loom))]
pub(crate) use std::thread::yield_now;

#[cfg(loom)]
pub(crate) use loom::sync::Arc;
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering, fence};
#[cfg(loom)]
pub(crate) use loom::thread::yield_now;
#[cfg(loom)]
pub(crate) use model::{Condvar, Mutex, MutexGuard};

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
