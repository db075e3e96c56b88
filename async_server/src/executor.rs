//! The executor: a run queue of tasks, polled one after another on this thread.
//!
//! A task is a future plus what it takes to put it back in the queue. Its
//! [`Waker`] is the task itself (`Arc<Task>`, through [`std::task::Wake`]):
//! waking it pushes that `Arc` onto the run queue, and the loop in
//! [`block_on`] pops it and polls the future again. When the queue is empty
//! there is nothing to do until the outside world changes, so the loop hands
//! over to the reactor, which sleeps in `epoll_wait`.
//!
//! ```text
//!   spawn(future) ──▶ ┌────────────┐  pop  ┌─────────────┐ Pending: waker left
//!                     │ run queue  │──────▶│ task.poll() │──────────▶ reactor
//!   waker.wake()  ──▶ └────────────┘       └─────────────┘               │
//!        ▲                                                               │
//!        └────────────── event or deadline: reactor::turn() ─────────────┘
//! ```
//!
//! Every wake in this server happens on the executor's own thread (the
//! reactor wakes tasks, and tasks wake each other), so the run queue is a
//! plain `VecDeque` that only this thread touches. A `Waker` may still be
//! sent to another thread and woken there; such a wake goes through a
//! channel and rouses the reactor (see [`Remote`]).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::{Future, poll_fn};
use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};

use crate::reactor;

type BoxedFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// One spawned future: for a server, one connection.
struct Task {
    /// `None` once the future has finished. The mutex is never contended (one
    /// thread); it is there because a `Waker` must be `Send + Sync`.
    future: Mutex<Option<BoxedFuture>>,
    /// Set while the task sits in the run queue, so that several wakes before
    /// it runs (a socket event and a timer, say) queue it only once.
    queued: AtomicBool,
    /// The executor this task belongs to.
    home: Arc<Remote>,
}

/// How a thread other than the executor's puts a task back in its queue.
struct Remote {
    tasks: Sender<Arc<Task>>,
    /// Interrupts the reactor's `epoll_wait`, so the task runs now rather
    /// than at the next event.
    wake_reactor: reactor::Wakeup,
}

impl Task {
    fn schedule(self: &Arc<Self>) {
        if self.queued.swap(true, Ordering::AcqRel) {
            return;
        }
        let local = RUN_QUEUE.with(|queue| match queue.borrow_mut().as_mut() {
            // The usual case: a push, no atomic operation, no system call.
            Some(local) if Arc::ptr_eq(&local.home, &self.home) => {
                local.ready.push_back(Arc::clone(self));
                true
            }
            _ => false,
        });
        if !local {
            // The channel is gone only when the executor has stopped.
            if self.home.tasks.send(Arc::clone(self)).is_ok() {
                self.home.wake_reactor.wake();
            }
        }
    }

    fn run(self: Arc<Self>) {
        // Cleared before polling, so a wake that happens during the poll
        // queues the task again instead of being lost.
        self.queued.store(false, Ordering::Release);
        crate::time::tick();
        // No allocation: the waker is this task's Arc, one more reference.
        let waker = Waker::from(Arc::clone(&self));
        let mut cx = Context::from_waker(&waker);
        let mut slot = self.future.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(future) = slot.as_mut() else {
            return; // Finished already; this was a late wake.
        };
        // A bug that panics in one connection's code ends that connection,
        // not the server. (The panic message still goes to stderr.)
        match catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(&mut cx))) {
            Ok(Poll::Pending) => {}
            Ok(Poll::Ready(())) | Err(_) => *slot = None,
        }
    }
}

impl Wake for Task {
    fn wake(self: Arc<Self>) {
        self.schedule();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.schedule();
    }
}

/// The run queue of the executor running on this thread.
struct LocalQueue {
    home: Arc<Remote>,
    ready: VecDeque<Arc<Task>>,
    /// Tasks that stepped aside in [`yield_now`]: woken only after the
    /// reactor's next look, so that what it finds ready goes before them.
    yielded: Vec<Waker>,
}

thread_local! {
    /// Set by [`block_on`] for as long as it runs; reached by [`spawn`] and
    /// by every wake on this thread.
    static RUN_QUEUE: RefCell<Option<LocalQueue>> = const { RefCell::new(None) };
}

/// Starts `future` as a new task on this thread's executor.
///
/// Panics outside [`block_on`], which is a bug in the program.
pub fn spawn(future: impl Future<Output = ()> + Send + 'static) {
    let home = RUN_QUEUE
        .with(|queue| queue.borrow().as_ref().map(|local| Arc::clone(&local.home)))
        .expect("spawn called outside executor::block_on");
    let task = Arc::new(Task {
        future: Mutex::new(Some(Box::pin(future))),
        queued: AtomicBool::new(false),
        home,
    });
    task.schedule();
}

/// Lets every other task that is ready run before the calling task goes on,
/// including those the reactor is about to find ready: the task steps aside
/// once, and its wake is held back until the reactor has looked at the
/// sockets and timers, so it rejoins the run queue behind what that look woke.
///
/// Waking itself at once would put it *ahead* of them: the look comes after
/// the wake, and a fresh connection would wait one more turn of a greedy one.
pub async fn yield_now() {
    let mut stepped_aside = false;
    poll_fn(|cx| {
        if stepped_aside {
            return Poll::Ready(());
        }
        stepped_aside = true;
        let held = RUN_QUEUE.with(|queue| match queue.borrow_mut().as_mut() {
            Some(local) => {
                local.yielded.push(cx.waker().clone());
                true
            }
            None => false,
        });
        if !held {
            // Polled outside an executor (a test's own poll, say): no
            // reactor look to wait for.
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    })
    .await
}

/// Runs `root`, and every task spawned from it, on this thread, until `root`
/// finishes (`Some(output)`) or a stop signal arrives (`None`: the tasks
/// still pending are dropped, which closes their sockets).
pub fn block_on<T: Send + 'static>(
    root: impl Future<Output = T> + Send + 'static,
) -> io::Result<Option<T>> {
    let _reactor = reactor::enter()?;
    let (tasks, from_elsewhere) = crossbeam_channel::unbounded();
    let home = Arc::new(Remote {
        tasks,
        wake_reactor: reactor::wakeup()?,
    });
    let _queue = InstalledQueue::new(home);
    let output = Arc::new(Mutex::new(None));
    let slot = Arc::clone(&output);
    spawn(async move {
        let value = root.await;
        *slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(value);
    });
    loop {
        run_ready_tasks(&from_elsewhere);
        if let Some(value) = output.lock().unwrap_or_else(PoisonError::into_inner).take() {
            return Ok(Some(value));
        }
        if common::signals::requested() {
            return Ok(None);
        }
        // Tasks woken while the batch ran go next, after a look at the
        // sockets that does not block; otherwise sleep until something happens.
        let wait = if queued() == 0 && !any_yielded() {
            None
        } else {
            Some(Duration::ZERO)
        };
        reactor::turn(wait)?;
        wake_yielded();
    }
}

/// Whether a task stepped aside in the batch that just ran.
fn any_yielded() -> bool {
    RUN_QUEUE.with(|queue| {
        queue
            .borrow()
            .as_ref()
            .is_some_and(|local| !local.yielded.is_empty())
    })
}

/// Queues the tasks that stepped aside, behind those the reactor just woke.
fn wake_yielded() {
    // Taken out first: each wake borrows the queue to push.
    let yielded = RUN_QUEUE.with(|queue| {
        queue
            .borrow_mut()
            .as_mut()
            .map(|local| std::mem::take(&mut local.yielded))
    });
    for waker in yielded.into_iter().flatten() {
        waker.wake();
    }
}

/// How many tasks wait in this thread's run queue.
fn queued() -> usize {
    RUN_QUEUE.with(|queue| queue.borrow().as_ref().map_or(0, |local| local.ready.len()))
}

/// Polls the tasks that are in the queue now. Tasks they wake wait for the
/// next round, so a task that keeps waking itself cannot starve the reactor.
fn run_ready_tasks(from_elsewhere: &Receiver<Arc<Task>>) {
    let next = || RUN_QUEUE.with(|queue| queue.borrow_mut().as_mut()?.ready.pop_front());
    for task in from_elsewhere.try_iter() {
        // Queued by `schedule` already: the flag is set, the push is ours.
        RUN_QUEUE.with(|queue| {
            if let Some(local) = queue.borrow_mut().as_mut() {
                local.ready.push_back(task);
            }
        });
    }
    // The queue is borrowed only to pop: a task's poll pushes to it.
    for _ in 0..queued() {
        let Some(task) = next() else { break };
        task.run();
    }
}

/// Makes the run queue reachable from [`spawn`] and wakes until dropped.
struct InstalledQueue;

impl InstalledQueue {
    fn new(home: Arc<Remote>) -> Self {
        RUN_QUEUE.with(|queue| {
            *queue.borrow_mut() = Some(LocalQueue {
                home,
                ready: VecDeque::new(),
                yielded: Vec::new(),
            })
        });
        InstalledQueue
    }
}

impl Drop for InstalledQueue {
    fn drop(&mut self) {
        // Taken out first and dropped outside the borrow: dropping a task
        // drops its future, whose sockets and timers may look for the queue.
        let local = RUN_QUEUE.with(|queue| queue.borrow_mut().take());
        drop(local);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn block_on_returns_the_root_output() {
        assert_eq!(block_on(async { 6 * 7 }).unwrap(), Some(42));
    }

    #[test]
    fn spawned_tasks_all_complete() {
        let done = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&done);
        let finished = block_on(async move {
            for _ in 0..100 {
                let counter = Arc::clone(&counter);
                spawn(async move {
                    counter.fetch_add(1, Ordering::SeqCst);
                });
            }
            // Wait, by waking ourselves, until the others have run.
            poll_fn(|cx| {
                if counter.load(Ordering::SeqCst) == 100 {
                    Poll::Ready(())
                } else {
                    cx.waker().wake_by_ref();
                    Poll::Pending
                }
            })
            .await;
        })
        .unwrap();
        assert_eq!(finished, Some(()));
        assert_eq!(done.load(Ordering::SeqCst), 100);
    }

    #[test]
    fn a_wake_from_another_task_requeues_the_sleeper_once() {
        let polls = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&polls);
        block_on(async move {
            let mut first = true;
            poll_fn(|cx| {
                counted.fetch_add(1, Ordering::SeqCst);
                if !first {
                    return Poll::Ready(());
                }
                first = false;
                // Another task wakes this one twice before it runs again.
                let waker = cx.waker().clone();
                spawn(async move {
                    waker.wake_by_ref();
                    waker.wake();
                });
                Poll::Pending
            })
            .await;
        })
        .unwrap();
        // Once at the start, once for both wakes together.
        assert_eq!(polls.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn what_the_reactor_wakes_goes_before_a_task_that_yielded() {
        let log = Arc::new(Mutex::new(String::new()));
        let greedy = Arc::clone(&log);
        let sleeper = Arc::clone(&log);
        block_on(async move {
            spawn(async move {
                crate::time::sleep(Duration::from_millis(1)).await;
                sleeper.lock().unwrap().push('s');
            });
            for _ in 0..4 {
                // A turn of work that outlasts the sleeper's timer, as a
                // pipelined `/cpu` request outlasts a fresh client's wait.
                std::thread::sleep(Duration::from_millis(5));
                greedy.lock().unwrap().push('g');
                yield_now().await;
            }
        })
        .unwrap();
        // The sleeper sets its timer in the second round, during which it
        // expires; the reactor's look after that round finds it, and it runs
        // before the greedy task's third turn, not after it.
        assert_eq!(*log.lock().unwrap(), "ggsgg");
    }

    #[test]
    fn a_wake_from_another_thread_runs_the_task_at_once() {
        let elapsed = block_on(async {
            // Without it the reactor would sleep with no deadline at all; with
            // it, a wake that does not rouse the reactor shows as two seconds.
            spawn(async {
                crate::time::sleep(Duration::from_secs(2)).await;
            });
            let start = std::time::Instant::now();
            let mut sent = false;
            poll_fn(|cx| {
                if sent {
                    return Poll::Ready(());
                }
                sent = true;
                let waker = cx.waker().clone();
                std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_millis(20));
                    waker.wake();
                });
                Poll::Pending
            })
            .await;
            start.elapsed()
        })
        .unwrap()
        .unwrap();
        assert!(elapsed < Duration::from_secs(1), "{elapsed:?}");
    }

    #[test]
    fn a_panicking_task_does_not_stop_the_others() {
        let result = block_on(async {
            spawn(async { panic!("one bad task (expected in this test)") });
            crate::time::sleep(Duration::from_millis(5)).await;
            "still running"
        });
        assert_eq!(result.unwrap(), Some("still running"));
    }
}
