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
    /// The part of the whole this handle reports on (see [`Phases::within`]).
    range: (f64, f64),
}

impl Phases {
    pub fn new(sink: Arc<dyn Progress>) -> Self {
        Self {
            sink,
            last: Arc::new(Mutex::new(0.0)),
            range: (0.0, 1.0),
        }
    }

    /// A handle whose whole 0–1 is `start..end` of this one's, for one part of a bigger
    /// operation (Update All: the OS, then the apps); its `done` reaches only `end`.
    pub fn within(&self, start: f64, end: f64) -> Phases {
        let (from, to) = self.range;
        let span = to - from;
        Phases {
            sink: self.sink.clone(),
            last: self.last.clone(),
            range: (from + span * start, from + span * end),
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
        let (from, to) = self.range;
        let (start, end) = (from + (to - from) * start, from + (to - from) * end);
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

    /// Whether this handle's part has been reported done (the figure reached its end; 1 for
    /// the whole operation).
    pub fn finished(&self) -> bool {
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) >= self.range.1
    }

    pub fn done(&self, message: &str) {
        // Translators: the last progress phase: the operation has finished.
        self.at(1.0, 1.0, 1.0, &gettext("Done"), message, (0, 0));
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
    fn parts_report_within_their_share_and_never_go_back() {
        let record = Arc::new(Record(Mutex::new(Vec::new())));
        let whole = Phases::new(record.clone());
        let os = whole.within(0.0, 0.6);
        let apps = whole.within(0.6, 1.0);
        os.at(0.0, 0.5, 1.0, "", "", (0, 0));
        os.done("");
        assert!(os.finished() && !whole.finished());
        apps.at(0.5, 1.0, 0.0, "", "", (0, 0));
        apps.within(0.0, 0.5).at(0.0, 1.0, 0.5, "", "", (0, 0));
        os.at(0.0, 1.0, 0.1, "", "", (0, 0));
        apps.done("");
        let got: Vec<String> = record
            .0
            .lock()
            .unwrap()
            .iter()
            .map(|f| format!("{f:.2}"))
            .collect();
        assert_eq!(got, ["0.30", "0.60", "0.80", "0.80", "0.80", "1.00"]);
        assert!(whole.finished());
    }
}
