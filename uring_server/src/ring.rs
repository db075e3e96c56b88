//! The io_uring plumbing that is not the strategy itself: what a completion
//! is about (the `user_data` encoding), the submission queue with room for
//! more than it holds, and the provided-buffer ring that reads land in.

use std::alloc::{self, Layout};
use std::io;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU16, Ordering};

use io_uring::types::BufRingEntry;
use io_uring::{IoUring, squeue};

/// What an operation was, carried in the top byte of its `user_data`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The multishot accept on the listener.
    Accept = 1,
    /// The poll on the signal pipe.
    Stop = 2,
    /// The loop's one timer.
    Timer = 3,
    /// A change of that timer's expiry; its own completion says nothing.
    TimerUpdate = 4,
    /// A connection's receive.
    Recv = 5,
    /// A connection's send.
    Send = 6,
    /// A request to cancel a connection's operation; only the cancelled
    /// operation's own completion matters.
    Cancel = 7,
}

/// Tags wrap at 24 bits; an operation would have to stay in flight while
/// sixteen million others start for two to be confused.
const TAG_BITS: u32 = 24;
const TAG_MASK: u32 = (1 << TAG_BITS) - 1;

/// What a completion is about: a kind, a connection slot, and the tag of the
/// operation. The kernel hands `user_data` back unchanged, so this is all the
/// loop knows when a completion arrives.
///
/// The tag is new for every operation a connection starts. A slot is reused
/// by the next client once its connection closes, and `AsyncCancel` finds its
/// target by `user_data`: without the tag, a cancel that reached the kernel
/// late could cancel the next operation of the slot, or the new client's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token {
    pub kind: Kind,
    pub slot: u32,
    pub tag: u32,
}

impl Token {
    pub fn new(kind: Kind, slot: usize, tag: u32) -> Token {
        Token {
            kind,
            slot: slot as u32,
            tag: tag & TAG_MASK,
        }
    }

    pub fn pack(self) -> u64 {
        ((self.kind as u64) << 56) | (u64::from(self.tag) << 32) | u64::from(self.slot)
    }

    /// `None` for a value this loop never submitted.
    pub fn unpack(user_data: u64) -> Option<Token> {
        let kind = match user_data >> 56 {
            1 => Kind::Accept,
            2 => Kind::Stop,
            3 => Kind::Timer,
            4 => Kind::TimerUpdate,
            5 => Kind::Recv,
            6 => Kind::Send,
            7 => Kind::Cancel,
            _ => return None,
        };
        Some(Token {
            kind,
            slot: user_data as u32,
            tag: (user_data >> 32) as u32 & TAG_MASK,
        })
    }
}

/// The next operation tag, wrapping.
pub fn next_tag(counter: &mut u32) -> u32 {
    *counter = counter.wrapping_add(1) & TAG_MASK;
    *counter
}

/// Submission queue entries that did not fit in the ring yet. One batch of
/// completions can ask for more operations than the queue holds (a thousand
/// clients all answered at once); those wait here until the next
/// `io_uring_enter` has made room, instead of being lost or ending the loop.
#[derive(Default)]
pub struct Backlog {
    waiting: Vec<squeue::Entry>,
}

impl Backlog {
    /// Queues `entry` for the kernel.
    ///
    /// # Safety
    ///
    /// Whatever memory `entry` points to must stay valid, and unmoved, until
    /// its completion arrives: the kernel reads and writes it meanwhile.
    pub unsafe fn push(&mut self, ring: &mut IoUring, entry: squeue::Entry) {
        if !self.waiting.is_empty() {
            self.waiting.push(entry);
            return;
        }
        // SAFETY: the caller vouches for the memory the entry points to.
        if unsafe { ring.submission().push(&entry) }.is_err() {
            self.waiting.push(entry);
        }
    }

    /// Moves what waits into the submission queue, submitting (without
    /// waiting) as often as it fills up.
    pub fn flush(&mut self, ring: &mut IoUring) -> io::Result<()> {
        let mut next = 0;
        while next < self.waiting.len() {
            {
                let mut sq = ring.submission();
                while next < self.waiting.len() {
                    // SAFETY: every entry here was queued through `push`,
                    // whose caller vouched for its memory.
                    if unsafe { sq.push(&self.waiting[next]) }.is_err() {
                        break;
                    }
                    next += 1;
                }
            }
            if next < self.waiting.len() {
                ring.submit()?;
            }
        }
        self.waiting.clear();
        Ok(())
    }
}

/// A provided-buffer ring (`IORING_REGISTER_PBUF_RING`, Linux 5.19; not the
/// older `ProvideBuffers` operation, which costs a submission per returned
/// buffer). A receive names the group instead of a buffer, and the kernel
/// takes a buffer from the ring only when data has arrived. So a thousand
/// idle connections, each with a receive in flight, hold no buffer at all;
/// the loop copies the bytes into the connection's session and gives the
/// buffer back at once.
///
/// Two allocations, both owned here and never moved: the ring of entries
/// (page-aligned, as the kernel requires), shared with the kernel, which
/// reads the entries and the tail; and the buffers it points to, which the
/// kernel writes into.
pub struct BufRing {
    entries: NonNull<BufRingEntry>,
    entries_layout: Layout,
    buffers: NonNull<u8>,
    buffers_layout: Layout,
    count: u16,
    size: usize,
    /// Our copy of the tail: the kernel only reads it.
    tail: u16,
    group: u16,
}

impl BufRing {
    /// `count` buffers (a power of two) of `size` bytes each, for buffer
    /// group `group`; not usable until [`BufRing::register`].
    pub fn new(count: u16, size: usize, group: u16) -> io::Result<BufRing> {
        let too_big = || io::Error::other("buffer ring too large");
        let entries_layout =
            Layout::from_size_align(usize::from(count) * size_of::<BufRingEntry>(), 4096)
                .map_err(|_| too_big())?;
        let buffers_layout =
            Layout::from_size_align(usize::from(count) * size, 64).map_err(|_| too_big())?;
        // SAFETY: both layouts have a non-zero size (count and size are
        // constants greater than zero).
        let (entries, buffers) = unsafe {
            (
                alloc::alloc_zeroed(entries_layout),
                alloc::alloc_zeroed(buffers_layout),
            )
        };
        let (Some(entries), Some(buffers)) = (NonNull::new(entries), NonNull::new(buffers)) else {
            return Err(io::Error::from(io::ErrorKind::OutOfMemory));
        };
        Ok(BufRing {
            entries: entries.cast(),
            entries_layout,
            buffers,
            buffers_layout,
            count,
            size,
            tail: 0,
            group,
        })
    }

    pub fn group(&self) -> u16 {
        self.group
    }

    /// Registers the ring with `ring`'s kernel side and hands it every buffer.
    pub fn register(&mut self, ring: &IoUring) -> io::Result<()> {
        // SAFETY: the entries stay allocated, unmoved, for as long as self;
        // the server drops its IoUring (which unregisters everything) before
        // its BufRing, see the field order of `Server`.
        unsafe {
            ring.submitter().register_buf_ring_with_flags(
                self.entries.as_ptr() as u64,
                self.count,
                self.group,
                0,
            )?;
        }
        for bid in 0..self.count {
            self.give_back(bid);
        }
        Ok(())
    }

    /// The bytes the kernel put in buffer `bid`.
    ///
    /// Only for a buffer id that a completion just named: the kernel has
    /// handed that buffer over and will not write it again until it is
    /// given back.
    pub fn bytes(&self, bid: u16, len: usize) -> &[u8] {
        if bid >= self.count {
            return &[];
        }
        let len = len.min(self.size);
        // SAFETY: in bounds (bid < count, len <= size); the kernel is done
        // with this buffer until `give_back`, which takes `&mut self` and so
        // cannot run while the slice lives.
        unsafe {
            std::slice::from_raw_parts(self.buffers.as_ptr().add(usize::from(bid) * self.size), len)
        }
    }

    /// Puts buffer `bid` back in the ring for the kernel to use again.
    pub fn give_back(&mut self, bid: u16) {
        if bid >= self.count {
            return;
        }
        let mask = self.count - 1;
        let index = usize::from(self.tail & mask);
        // SAFETY: index < count, inside the entries allocation. Only the
        // three fields are written: the `resv` field of entry 0 is the ring's
        // tail, which the kernel reads.
        unsafe {
            let entry = &mut *self.entries.as_ptr().add(index);
            entry.set_addr(self.buffers.as_ptr().add(usize::from(bid) * self.size) as u64);
            entry.set_len(self.size as u32);
            entry.set_bid(bid);
        }
        self.tail = self.tail.wrapping_add(1);
        // SAFETY: the tail is a naturally aligned u16 inside the entries
        // allocation, which the kernel reads concurrently: hence an atomic
        // store, with release ordering so that the entry is visible first.
        unsafe {
            let tail = BufRingEntry::tail(self.entries.as_ptr()) as *const AtomicU16;
            (*tail).store(self.tail, Ordering::Release);
        }
    }
}

impl Drop for BufRing {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with these layouts; the ring that used
        // them is gone (see `register`).
        unsafe {
            alloc::dealloc(self.entries.as_ptr().cast(), self.entries_layout);
            alloc::dealloc(self.buffers.as_ptr(), self.buffers_layout);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_survive_the_round_trip() {
        let token = Token::new(Kind::Send, 12345, 0xAB_CDEF);
        assert_eq!(Token::unpack(token.pack()), Some(token));
        assert_eq!(Token::unpack(0), None);
    }
}
