//! Timers as futures: `sleep`, `sleep_until`, and a deadline raced against
//! another future.
//!
//! A [`Timer`] is a slot in the reactor's timer heap. Awaiting it returns
//! `Pending` (leaving the task's waker in the slot) until the reactor sees
//! the deadline pass; it is never ready early, because the reactor only fires
//! a timer once `Instant::now()` has reached its deadline.

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
    /// One timer per connection serves every request on it: re-arming it for
    /// a later deadline costs no heap push (see `Reactor::reset_timer`).
    pub async fn within<F: Future>(&mut self, deadline: Instant, future: F) -> Option<F::Output> {
        self.handle.reset(deadline);
        let mut future = pin!(future);
        let output = poll_fn(|cx| {
            // The work first: if the bytes and the deadline are both there,
            // the bytes win.
            if let Poll::Ready(output) = future.as_mut().poll(cx) {
                return Poll::Ready(Some(output));
            }
            self.handle.poll(cx).map(|()| None)
        })
        .await;
        if output.is_some() {
            self.handle.disarm();
        }
        output
    }
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
