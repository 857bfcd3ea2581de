//! Progress of a long operation as one 0–1 figure for the whole of it, plus the phase and bytes.

use std::sync::{Arc, Mutex};

use keel_api::i18n::gettext;

/// Where an operation reports how far it is.
pub trait Progress: Send + Sync {
    fn report(&self, update: &ProgressUpdate);
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProgressUpdate {
    /// 0.0–1.0 over the whole operation; never goes down.
    pub fraction: f64,
    pub phase: String,
    pub message: String,
    pub bytes_done: u64,
    pub bytes_total: u64,
}

/// Reports nothing (library callers that do not care).
pub struct Silent;

impl Progress for Silent {
    fn report(&self, _: &ProgressUpdate) {}
}

/// Maps phases onto slices of the 0–1 range and keeps the figure monotonic. Cheap to clone: clones
/// share the sink and the last figure reported.
#[derive(Clone)]
pub struct Phases {
    sink: Arc<dyn Progress>,
    last: Arc<Mutex<f64>>,
}

impl Phases {
    pub fn new(sink: Arc<dyn Progress>) -> Self {
        Self {
            sink,
            last: Arc::new(Mutex::new(0.0)),
        }
    }

    /// Reports `within` (0–1) of the phase that spans `start..end` of the whole; the phase's name
    /// and the message are already translated.
    pub fn at(
        &self,
        start: f64,
        end: f64,
        within: f64,
        phase: &str,
        message: &str,
        bytes: (u64, u64),
    ) {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let fraction = (start + (end - start) * within.clamp(0.0, 1.0))
            .max(*last)
            .min(1.0);
        *last = fraction;
        self.sink.report(&ProgressUpdate {
            fraction,
            phase: phase.to_owned(),
            message: message.to_owned(),
            bytes_done: bytes.0,
            bytes_total: bytes.1,
        });
    }

    /// Whether the whole operation has been reported done (the figure reached 1).
    pub fn finished(&self) -> bool {
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) >= 1.0
    }

    /// Phases for one part of a longer operation: the part's 0–1 becomes `start..end` of this
    /// whole, so a driver that reports its own 0–1 (and its own "done") fits inside it.
    pub fn part(&self, start: f64, end: f64) -> Phases {
        Phases::new(Arc::new(Part {
            whole: self.clone(),
            start,
            end,
        }))
    }

    pub fn done(&self, message: &str) {
        // Translators: the last progress phase: the operation has finished.
        self.at(1.0, 1.0, 1.0, &gettext("Done"), message, (0, 0));
    }
}

/// Where [`Phases::part`] reports: into its slice of the whole.
struct Part {
    whole: Phases,
    start: f64,
    end: f64,
}

impl Progress for Part {
    fn report(&self, update: &ProgressUpdate) {
        self.whole.at(
            self.start,
            self.end,
            update.fraction,
            &update.phase,
            &update.message,
            (update.bytes_done, update.bytes_total),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Record(Mutex<Vec<f64>>);

    impl Progress for Record {
        fn report(&self, update: &ProgressUpdate) {
            self.0.lock().unwrap().push(update.fraction);
        }
    }

    #[test]
    fn a_part_reports_inside_its_slice_of_the_whole() {
        let sink = Arc::new(Record(Mutex::new(Vec::new())));
        let whole = Phases::new(sink.clone());
        let first = whole.part(0.0, 0.6);
        first.at(0.0, 1.0, 0.5, "Downloading", "", (0, 0));
        first.done("");
        assert!(
            first.finished() && !whole.finished(),
            "the part's end is not the whole's"
        );
        whole
            .part(0.6, 1.0)
            .at(0.0, 0.5, 1.0, "Updating", "", (0, 0));
        whole.done("");
        let seen = sink.0.lock().unwrap().clone();
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
        assert!(
            seen.iter()
                .zip([0.3, 0.6, 0.8, 1.0])
                .all(|(&a, b)| close(a, b))
                && seen.len() == 4,
            "{seen:?}"
        );
    }
}
