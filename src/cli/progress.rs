//! Progress of long commands (`backfill`, `import`): a bar redrawn in place
//! when stderr is a terminal, plain log lines otherwise (a systemd journal
//! or a CI log has no use for carriage returns).

use std::io::{IsTerminal, Write};
use std::time::Instant;

pub struct Progress {
    label: &'static str,
    total: usize,
    done: usize,
    tty: bool,
    started: Instant,
}

/// Width of the bar in characters.
const WIDTH: usize = 30;

impl Progress {
    pub fn new(label: &'static str, total: usize) -> Progress {
        Progress {
            label,
            total,
            done: 0,
            tty: std::io::stderr().is_terminal(),
            started: Instant::now(),
        }
    }

    /// Whether the bar is drawn (per-item lines are then left out).
    pub fn is_bar(&self) -> bool {
        self.tty
    }

    /// One more item done.
    pub fn tick(&mut self, item: &str) {
        self.done += 1;
        if self.tty {
            let filled = (self.done * WIDTH).checked_div(self.total).unwrap_or(WIDTH);
            let bar: String =
                "#".repeat(filled.min(WIDTH)) + &" ".repeat(WIDTH - filled.min(WIDTH));
            let mut err = std::io::stderr().lock();
            let _ = write!(
                err,
                "\r{} [{bar}] {}/{} {item:<24} {:>5.0}s",
                self.label,
                self.done,
                self.total,
                self.started.elapsed().as_secs_f64()
            );
            let _ = err.flush();
        } else {
            tracing::info!(
                done = self.done,
                total = self.total,
                item,
                elapsed_secs = self.started.elapsed().as_secs(),
                "{}",
                self.label
            );
        }
    }

    /// Ends the bar's line.
    pub fn finish(&self) {
        if self.tty {
            say!();
        }
    }
}
