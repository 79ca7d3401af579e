//! The progress bar of a replay, on stderr and only when stderr is a terminal: bytes of logs read out of the
//! total, redrawn at most ten times a second.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

pub struct Progress {
    total: u64,
    done: u64,
    drawn: Instant,
}

impl Progress {
    /// A bar for `total` bytes, or `None` when stderr is not a terminal.
    pub fn on_terminal(total: u64) -> Option<Progress> {
        std::io::stderr().is_terminal().then(|| Progress {
            total: total.max(1),
            done: 0,
            drawn: Instant::now() - Duration::from_secs(1),
        })
    }

    /// `done` bytes of the total were read.
    pub fn set(&mut self, done: u64) {
        self.done = done.min(self.total);
        if self.drawn.elapsed() >= Duration::from_millis(100) {
            self.drawn = Instant::now();
            let filled = (self.done * 40 / self.total) as usize;
            eprint!(
                "\rreplaying [{}{}] {:>3}%",
                "#".repeat(filled),
                " ".repeat(40 - filled),
                self.done * 100 / self.total
            );
            let _ = std::io::stderr().flush();
        }
    }

    /// Clears the bar.
    pub fn finish(self) {
        eprint!("\r{}\r", " ".repeat(60));
        let _ = std::io::stderr().flush();
    }
}
