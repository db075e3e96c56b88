// A fixed source for the snapshot of a code block: excerpts of the servers'
// own sources would move with every edit of theirs.

struct Pool {
    size: usize,
}

impl Pool {
    /// Starts the workers, each on its own.
    fn start(&self) {
        for _ in 0..self.size {
            work();
        }
    }
}

fn work() {}
