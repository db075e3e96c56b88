//! Timers as futures: `sleep`, `sleep_until`, and a deadline raced against
//! another future.
//!
//! A [`Timer`] is a slot in the reactor's timer heap. Awaiting it returns
//! `Pending` (leaving the task's waker in the slot) until the reactor sees
//! the deadline pass; it is never ready early, because the reactor only fires
//! a timer once `Instant::now()` has reached its deadline.

use std::cell::Cell;
use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::reactor::TimerHandle;

/// A deadline the reactor watches. Reusable: [`Timer::within`] re-arms it.
pub struct Timer {
    handle: TimerHandle,
}

impl Timer {
    /// A timer that is not armed yet: it never fires until
    /// [`Timer::within`] gives it a deadline.
    pub fn new() -> Self {
        Timer {
            handle: TimerHandle::new(),
        }
    }

    /// A timer that fires at `deadline`.
    pub fn at(deadline: Instant) -> Self {
        let timer = Timer::new();
        timer.handle.reset(deadline);
        timer
    }

    /// Runs `future` until it finishes or `deadline` passes, whichever is
    /// first: `Some(output)`, or `None` if the deadline won.
    ///
    /// One timer per connection serves every request on it. It is armed only
    /// when `future` has to wait: most writes, and reads whose bytes are
    /// already there, finish on their first poll and never touch the
    /// reactor's timers. Re-arming it for a later deadline costs no heap push
    /// (see `Reactor::reset_timer`).
    ///
    /// A timer the work beat stays armed: the next wait moves its deadline
    /// on, and should it come due first the task is polled once for nothing.
    /// That is cheaper than disarming it after every request.
    pub async fn within<F: Future>(&mut self, deadline: Instant, future: F) -> Option<F::Output> {
        let mut future = pin!(future);
        let mut armed = false;
        poll_fn(|cx| {
            // The work first: if the bytes and the deadline are both there,
            // the bytes win.
            if let Poll::Ready(output) = future.as_mut().poll(cx) {
                return Poll::Ready(Some(output));
            }
            if !armed {
                armed = true;
                self.handle.reset(deadline);
            }
            self.handle.poll(cx).map(|()| None)
        })
        .await
    }
}

/// The time at which the executor began polling the current task: one
/// reading of the clock per wake-up, shared by everything the task does
/// until it next waits. (A task that computes for long between two awaits
/// sees it fall behind, as an event loop's `now` does within one event.)
pub fn now() -> Instant {
    POLL_STARTED.get()
}

/// Reads the clock for the task about to be polled (the executor calls it).
pub fn tick() {
    POLL_STARTED.set(Instant::now());
}

thread_local! {
    static POLL_STARTED: Cell<Instant> = Cell::new(Instant::now());
}

impl Future for Timer {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.handle.poll(cx)
    }
}

/// Completes at `until`, never before.
pub fn sleep_until(until: Instant) -> Timer {
    Timer::at(until)
}

/// Completes after `duration`, never sooner.
pub fn sleep(duration: Duration) -> Timer {
    Timer::at(Instant::now() + duration)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::executor::{block_on, spawn};
    use std::future::pending;
    use std::sync::{Arc, Mutex};

    #[test]
    fn a_sleep_is_never_shorter_than_asked() {
        for ms in [1, 7, 30] {
            let elapsed = block_on(async move {
                let start = Instant::now();
                sleep(Duration::from_millis(ms)).await;
                start.elapsed()
            })
            .unwrap()
            .unwrap();
            assert!(
                elapsed >= Duration::from_millis(ms),
                "{ms} ms took {elapsed:?}"
            );
        }
    }

    #[test]
    fn sleepers_wake_in_deadline_order() {
        let order = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&order);
        block_on(async move {
            for ms in [60, 20, 40, 0] {
                let seen = Arc::clone(&seen);
                spawn(async move {
                    sleep(Duration::from_millis(ms)).await;
                    seen.lock().unwrap().push(ms);
                });
            }
            sleep(Duration::from_millis(100)).await;
        })
        .unwrap();
        assert_eq!(*order.lock().unwrap(), [0, 20, 40, 60]);
    }

    #[test]
    fn within_gives_up_at_the_deadline() {
        let (output, elapsed) = block_on(async {
            let mut timer = Timer::new();
            let start = Instant::now();
            let deadline = start + Duration::from_millis(20);
            (
                timer.within(deadline, pending::<()>()).await,
                start.elapsed(),
            )
        })
        .unwrap()
        .unwrap();
        assert_eq!(output, None);
        assert!(elapsed >= Duration::from_millis(20), "{elapsed:?}");
    }

    #[test]
    fn work_that_is_done_at_once_never_arms_the_timer() {
        let deadline = block_on(async {
            let mut timer = Timer::new();
            let far = Instant::now() + Duration::from_secs(60);
            assert_eq!(timer.within(far, async { 1 }).await, Some(1));
            crate::reactor::with(|reactor| reactor.nearest_deadline())
        })
        .unwrap()
        .unwrap();
        assert_eq!(deadline, None);
    }

    #[test]
    fn within_returns_the_work_and_the_timer_is_reusable() {
        let outputs = block_on(async {
            let mut timer = Timer::new();
            let far = Instant::now() + Duration::from_secs(60);
            let first = timer.within(far, async { 1 }).await;
            // Re-armed earlier than before: the earlier deadline counts.
            let soon = Instant::now() + Duration::from_millis(10);
            let second = timer.within(soon, pending::<i32>()).await;
            let third = timer.within(far, sleep(Duration::from_millis(5))).await;
            (first, second, third)
        })
        .unwrap()
        .unwrap();
        assert_eq!(outputs, (Some(1), None, Some(())));
    }
}
