//! The reactor: the one place where this thread waits.
//!
//! It owns a `mio::Poll` (epoll on Linux) and a timer heap. Futures that
//! cannot make progress leave a [`Waker`] here: an I/O future next to its
//! socket's token, a timer next to its deadline. [`turn`] blocks in
//! `epoll_wait` until a socket is ready or the nearest deadline passes, then
//! wakes whoever was waiting for that. It never runs a future itself; that is
//! the executor's job.
//!
//! ```text
//!   sources[token] ── readable? writable? ── reader / writer Waker
//!   timers[id]     ── deadline, fired?    ── Waker
//!   heap           ── (deadline, id), nearest first: the epoll_wait timeout
//! ```
//!
//! The reactor lives in a thread-local, installed by `executor::block_on`,
//! so that `stream.read(..)` and `sleep(..)` can reach it without every
//! `async fn` passing a handle around (tokio does the same).

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Events, Interest, Token};

/// The token of the stop-signal pipe (`common::signals::wakeup_fd`).
const WAKEUP: Token = Token(usize::MAX);
/// The token of [`Wakeup`]: a task woken on another thread.
const REMOTE: Token = Token(usize::MAX - 1);
/// Events taken from the kernel per `epoll_wait`.
const EVENTS_PER_TURN: usize = 1024;

/// Which half of a socket a future waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Read,
    Write,
}

/// What the reactor knows about one registered socket.
///
/// `ready` is a cache of the kernel's answer: set by an event, cleared by the
/// owner when a call says `WouldBlock` (or a read comes back short). While it
/// is set, a future tries its system call at once instead of waiting; this is
/// what keeps a keep-alive request down to one `read` and one `write`.
#[derive(Default)]
struct Source {
    readable: bool,
    writable: bool,
    /// The peer has sent FIN (or the socket failed). Reads now return what
    /// is left and then 0, and no further edge will say so: the socket stays
    /// readable for good, or a half-closed connection would wait, unread,
    /// for its idle timeout.
    hung_up: bool,
    /// Whether epoll reports writability too (see [`Reactor::clear_ready`]).
    watching_writes: bool,
    reader: Option<Waker>,
    writer: Option<Waker>,
}

/// One timer. Its deadline can move later without touching the heap; see
/// [`Reactor::reset_timer`].
struct TimerSlot {
    in_use: bool,
    deadline: Instant,
    /// The deadline of this timer's entry in the heap, if it has one.
    queued: Option<Instant>,
    fired: bool,
    waker: Option<Waker>,
}

pub struct Reactor {
    poll: mio::Poll,
    events: Events,
    sources: Vec<Source>,
    free_sources: Vec<usize>,
    timers: Vec<TimerSlot>,
    free_timers: Vec<usize>,
    heap: BinaryHeap<Reverse<(Instant, usize)>>,
}

thread_local! {
    static CURRENT: RefCell<Option<Reactor>> = const { RefCell::new(None) };
}

/// Installs a new reactor on this thread until the returned guard is dropped.
pub fn enter() -> io::Result<Entered> {
    let reactor = Reactor::new()?;
    CURRENT.with(|current| *current.borrow_mut() = Some(reactor));
    Ok(Entered(()))
}

/// Removes the thread's reactor when dropped.
pub struct Entered(());

impl Drop for Entered {
    fn drop(&mut self) {
        // Taken out first and dropped outside the borrow: dropping it drops
        // the wakers of tasks still pending, and with them their sockets and
        // timers, whose own `Drop` looks for the reactor and finds none.
        let reactor = CURRENT.with(|current| current.borrow_mut().take());
        drop(reactor);
    }
}

/// Runs `f` on this thread's reactor.
///
/// Panics outside `executor::block_on`: that is a bug in the program, not
/// something a client can cause.
pub fn with<R>(f: impl FnOnce(&mut Reactor) -> R) -> R {
    CURRENT.with(|current| {
        let mut current = current.borrow_mut();
        let reactor = current
            .as_mut()
            .expect("async I/O used outside executor::block_on");
        f(reactor)
    })
}

/// Like [`with`], but does nothing if the reactor is gone (for `Drop`).
fn with_if_running(f: impl FnOnce(&mut Reactor)) {
    let _ = CURRENT.try_with(|current| {
        if let Ok(mut current) = current.try_borrow_mut() {
            if let Some(reactor) = current.as_mut() {
                f(reactor);
            }
        }
    });
}

/// Interrupts the reactor's wait from any thread.
pub struct Wakeup(mio::Waker);

impl Wakeup {
    pub fn wake(&self) {
        // It fails only if the eventfd is gone, when the reactor is too.
        let _ = self.0.wake();
    }
}

/// The one [`Wakeup`] of this thread's reactor (mio allows one per `Poll`).
pub fn wakeup() -> io::Result<Wakeup> {
    with(|reactor| mio::Waker::new(reactor.poll.registry(), REMOTE).map(Wakeup))
}

/// Waits for events or the nearest deadline (or at most `wait`), then wakes
/// the futures concerned.
pub fn turn(wait: Option<Duration>) -> io::Result<()> {
    with(|reactor| reactor.turn(wait))
}

impl Reactor {
    fn new() -> io::Result<Reactor> {
        let poll = mio::Poll::new()?;
        // A stop signal writes a byte to this pipe, so a SIGTERM that arrives
        // while epoll_wait sleeps (or just before it) still wakes the loop.
        let wakeup = common::signals::wakeup_fd();
        if wakeup >= 0 {
            poll.registry()
                .register(&mut SourceFd(&wakeup), WAKEUP, Interest::READABLE)?;
        }
        Ok(Reactor {
            poll,
            events: Events::with_capacity(EVENTS_PER_TURN),
            sources: Vec::new(),
            free_sources: Vec::new(),
            timers: Vec::new(),
            free_timers: Vec::new(),
            heap: BinaryHeap::new(),
        })
    }

    fn turn(&mut self, wait: Option<Duration>) -> io::Result<()> {
        let now = Instant::now();
        let until_timer = self
            .heap
            .peek()
            .map(|Reverse((deadline, _))| deadline.saturating_duration_since(now));
        let timeout = match (wait, until_timer) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        match self.poll.poll(&mut self.events, timeout) {
            Ok(()) => {}
            // A signal: the executor checks whether it was a stop request.
            Err(err) if common::io::interrupted(&err) => return Ok(()),
            Err(err) => return Err(err),
        }
        for event in self.events.iter() {
            let Some(source) = self.sources.get_mut(event.token().0) else {
                // WAKEUP: the executor sees the stop flag. REMOTE: it finds
                // the task in its channel.
                continue;
            };
            // An error or a hang-up is "ready" too: the next call reports it.
            source.hung_up |= event.is_read_closed() || event.is_error();
            if event.is_readable() || source.hung_up {
                source.readable = true;
                if let Some(waker) = source.reader.take() {
                    waker.wake();
                }
            }
            if event.is_writable() || event.is_write_closed() || event.is_error() {
                source.writable = true;
                if let Some(waker) = source.writer.take() {
                    waker.wake();
                }
            }
        }
        self.fire_timers(Instant::now());
        Ok(())
    }

    // ---- sockets ------------------------------------------------------

    /// Registers a socket for edge-triggered readiness (mio always asks epoll
    /// for `EPOLLET`) and returns its token.
    pub fn register(
        &mut self,
        io: &mut impl mio::event::Source,
        interest: Interest,
    ) -> io::Result<Token> {
        let index = self.free_sources.pop().unwrap_or(self.sources.len());
        let token = Token(index);
        self.poll.registry().register(io, token, interest)?;
        // Optimistic: a new socket may already have bytes waiting (the
        // request usually arrives with the connection), so try the call first.
        let source = Source {
            readable: true,
            writable: true,
            ..Source::default()
        };
        if index == self.sources.len() {
            self.sources.push(source);
        } else {
            self.sources[index] = source;
        }
        Ok(token)
    }

    /// Forgets a socket. There is no `EPOLL_CTL_DEL`: closing the descriptor,
    /// which the caller does next, removes it from the epoll set by itself,
    /// and saves a system call per connection.
    fn release(&mut self, token: Token) {
        if let Some(source) = self.sources.get_mut(token.0) {
            *source = Source::default();
            self.free_sources.push(token.0);
        }
    }

    /// `Ready` if the socket may be ready for `direction`; otherwise keeps
    /// the task's waker for the next event and says `Pending`.
    pub fn poll_ready(&mut self, token: Token, direction: Direction, cx: &Context<'_>) -> Poll<()> {
        let Some(source) = self.sources.get_mut(token.0) else {
            return Poll::Ready(());
        };
        let (ready, waiter) = match direction {
            Direction::Read => (source.readable, &mut source.reader),
            Direction::Write => (source.writable, &mut source.writer),
        };
        if ready {
            return Poll::Ready(());
        }
        remember(waiter, cx);
        Poll::Pending
    }

    /// The socket said `WouldBlock` (or is known to be drained): wait for the
    /// next edge before trying again.
    ///
    /// Sockets are registered for reading only. Asking epoll for writability
    /// from the start would make every ACK that frees room in a send buffer
    /// an event, and a wake-up of this thread, while nobody waits to write;
    /// a client that keeps up never fills its buffer. The first write that
    /// finds it full adds writability to the socket's interest, for good.
    pub fn clear_ready(&mut self, token: Token, direction: Direction, fd: RawFd) -> io::Result<()> {
        let Some(source) = self.sources.get_mut(token.0) else {
            return Ok(());
        };
        match direction {
            Direction::Read => source.readable = source.hung_up,
            Direction::Write => {
                source.writable = false;
                if !source.watching_writes {
                    source.watching_writes = true;
                    let both = Interest::READABLE | Interest::WRITABLE;
                    self.poll
                        .registry()
                        .reregister(&mut SourceFd(&fd), token, both)?;
                }
            }
        }
        Ok(())
    }

    // ---- timers -------------------------------------------------------

    /// A new timer, not armed.
    pub fn new_timer(&mut self) -> usize {
        let slot = TimerSlot {
            in_use: true,
            deadline: Instant::now(),
            queued: None,
            fired: false,
            waker: None,
        };
        match self.free_timers.pop() {
            Some(id) => {
                self.timers[id] = slot;
                id
            }
            None => {
                self.timers.push(slot);
                self.timers.len() - 1
            }
        }
    }

    /// Arms the timer for `deadline`.
    ///
    /// A connection re-arms its timer on every request, always a little later
    /// than before. Pushing a heap entry each time would grow the heap by one
    /// entry per request; instead, a later deadline only updates the slot.
    /// When the old entry comes due, [`Reactor::fire_timers`] sees the slot's
    /// real deadline is later and pushes it then: one heap push per timeout
    /// period per connection, however many requests it serves.
    pub fn reset_timer(&mut self, id: usize, deadline: Instant) {
        let Some(slot) = self.timers.get_mut(id) else {
            return;
        };
        slot.fired = false;
        slot.deadline = deadline;
        if slot.queued.is_none_or(|queued| deadline < queued) {
            slot.queued = Some(deadline);
            self.heap.push(Reverse((deadline, id)));
        }
    }

    /// `Ready` once the timer's deadline has passed.
    pub fn poll_timer(&mut self, id: usize, cx: &Context<'_>) -> Poll<()> {
        match self.timers.get_mut(id) {
            Some(slot) if !slot.fired => {
                remember(&mut slot.waker, cx);
                Poll::Pending
            }
            _ => Poll::Ready(()),
        }
    }

    fn drop_timer(&mut self, id: usize) {
        if let Some(slot) = self.timers.get_mut(id) {
            // The heap entry, if any, stays; `queued` no longer matches it
            // once the slot is reused, so it is skipped when it comes up.
            slot.in_use = false;
            slot.queued = None;
            slot.waker = None;
            self.free_timers.push(id);
        }
    }

    /// The deadline of the earliest heap entry (for tests).
    #[cfg(test)]
    pub fn nearest_deadline(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((deadline, _))| *deadline)
    }

    fn fire_timers(&mut self, now: Instant) {
        while let Some(&Reverse((due, id))) = self.heap.peek() {
            if due > now {
                break;
            }
            self.heap.pop();
            let Some(slot) = self.timers.get_mut(id) else {
                continue;
            };
            if !slot.in_use || slot.queued != Some(due) {
                continue; // Stale: superseded by an earlier entry, or dropped.
            }
            slot.queued = None;
            if slot.deadline > now {
                // The deadline moved later since this entry was pushed.
                slot.queued = Some(slot.deadline);
                self.heap.push(Reverse((slot.deadline, id)));
                continue;
            }
            slot.fired = true;
            if let Some(waker) = slot.waker.take() {
                waker.wake();
            }
        }
    }
}

/// Keeps the task's waker, cloning it (an `Arc` increment, no allocation)
/// only if a different task is waiting now.
fn remember(slot: &mut Option<Waker>, cx: &Context<'_>) {
    match slot {
        Some(waker) if waker.will_wake(cx.waker()) => {}
        _ => *slot = Some(cx.waker().clone()),
    }
}

/// A socket's place in the reactor; forgets it when dropped.
pub struct Registration {
    token: Token,
    fd: RawFd,
}

impl Registration {
    /// Registers `io` for reading (see [`Reactor::clear_ready`] for writing).
    pub fn new(io: &mut (impl mio::event::Source + AsRawFd)) -> io::Result<Self> {
        let fd = io.as_raw_fd();
        let token = with(|reactor| reactor.register(io, Interest::READABLE))?;
        Ok(Registration { token, fd })
    }

    pub fn poll_ready(&self, direction: Direction, cx: &Context<'_>) -> Poll<()> {
        with(|reactor| reactor.poll_ready(self.token, direction, cx))
    }

    pub fn clear_ready(&self, direction: Direction) -> io::Result<()> {
        with(|reactor| reactor.clear_ready(self.token, direction, self.fd))
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let token = self.token;
        with_if_running(|reactor| reactor.release(token));
    }
}

/// A timer's place in the reactor; forgets it when dropped.
pub struct TimerHandle {
    id: usize,
}

impl TimerHandle {
    pub fn new() -> Self {
        TimerHandle {
            id: with(|reactor| reactor.new_timer()),
        }
    }

    pub fn reset(&self, deadline: Instant) {
        with(|reactor| reactor.reset_timer(self.id, deadline));
    }

    pub fn poll(&self, cx: &Context<'_>) -> Poll<()> {
        with(|reactor| reactor.poll_timer(self.id, cx))
    }
}

impl Drop for TimerHandle {
    fn drop(&mut self) {
        let id = self.id;
        with_if_running(|reactor| reactor.drop_timer(id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// A new timer of `reactor`, armed for `at`.
    fn armed(reactor: &mut Reactor, at: Instant) -> usize {
        let id = reactor.new_timer();
        reactor.reset_timer(id, at);
        id
    }

    #[test]
    fn the_nearest_deadline_is_the_poll_timeout() {
        let mut reactor = Reactor::new().unwrap();
        let now = Instant::now();
        assert_eq!(reactor.nearest_deadline(), None);
        for delay in [50, 10, 30] {
            armed(&mut reactor, now + ms(delay));
        }
        assert_eq!(reactor.nearest_deadline(), Some(now + ms(10)));
    }

    #[test]
    fn timers_fire_in_order_and_only_when_due() {
        let mut reactor = Reactor::new().unwrap();
        let now = Instant::now();
        let ids: Vec<usize> = [30, 10, 20]
            .iter()
            .map(|&delay| armed(&mut reactor, now + ms(delay)))
            .collect();
        let fired = |reactor: &Reactor| -> Vec<bool> {
            ids.iter().map(|&id| reactor.timers[id].fired).collect()
        };
        reactor.fire_timers(now + ms(9));
        assert_eq!(fired(&reactor), [false, false, false]);
        reactor.fire_timers(now + ms(10));
        assert_eq!(fired(&reactor), [false, true, false]);
        reactor.fire_timers(now + ms(25));
        assert_eq!(fired(&reactor), [false, true, true]);
        assert_eq!(reactor.nearest_deadline(), Some(now + ms(30)));
    }

    #[test]
    fn moving_a_deadline_later_costs_no_heap_entry() {
        let mut reactor = Reactor::new().unwrap();
        let now = Instant::now();
        let id = armed(&mut reactor, now + ms(10));
        // A thousand requests on one connection, each pushing the deadline on.
        for i in 1..=1000 {
            reactor.reset_timer(id, now + ms(10 + i));
        }
        assert_eq!(reactor.heap.len(), 1);
        // The old entry comes due: the timer is not fired but queued again.
        reactor.fire_timers(now + ms(10));
        assert!(!reactor.timers[id].fired);
        assert_eq!(reactor.nearest_deadline(), Some(now + ms(1010)));
        reactor.fire_timers(now + ms(1010));
        assert!(reactor.timers[id].fired);
    }

    #[test]
    fn a_dropped_timer_does_not_fire() {
        let mut reactor = Reactor::new().unwrap();
        let now = Instant::now();
        let dropped = armed(&mut reactor, now + ms(5));
        reactor.drop_timer(dropped);
        reactor.fire_timers(now + ms(5));
        assert!(!reactor.timers[dropped].fired);
        assert!(reactor.heap.is_empty());
    }
}
