//! What the benchmark measures in a process: peak memory and main-loop stalls. Shared with the
//! yardstick window (examples/minimal_window.rs).

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use gtk::glib;

/// Peak resident memory of this process, from the kernel.
pub fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status.lines().find_map(|line| {
                line.strip_prefix("VmHWM:")
                    .and_then(|v| v.trim().trim_end_matches(" kB").parse().ok())
            })
        })
        .unwrap_or(0)
}

/// Measures the longest gap between ticks of a 1 ms timer: how long the main loop was blocked.
pub struct StallMeter {
    longest: Rc<Cell<Duration>>,
    source: Option<glib::SourceId>,
}

impl StallMeter {
    pub fn start() -> Self {
        let longest = Rc::new(Cell::new(Duration::ZERO));
        let last = Cell::new(Instant::now());
        let record = longest.clone();
        let source = glib::timeout_add_local(Duration::from_millis(1), move || {
            let now = Instant::now();
            let gap = now
                .duration_since(last.replace(now))
                .saturating_sub(Duration::from_millis(1));
            if gap > record.get() {
                record.set(gap);
            }
            glib::ControlFlow::Continue
        });
        Self {
            longest,
            source: Some(source),
        }
    }

    pub fn stop(mut self) -> Duration {
        if let Some(source) = self.source.take() {
            source.remove();
        }
        self.longest.get()
    }
}
