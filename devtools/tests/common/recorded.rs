//! Reading the recordings of the real rpm-ostreed (tests/data/rpmostreed/): property values per
//! state as GVariant text, and each transaction's signals as JSON lines.

use ostree::glib;

use super::{Event, data, is_slot_change};

/// One `## Title` section of a state file and the GVariant text under it.
pub struct Section {
    pub title: String,
    pub text: String,
}

/// The sections of a state file that hold GVariant text (the CLI's text is left out).
pub fn state(file: &str) -> Vec<Section> {
    let text = std::fs::read_to_string(data(file)).unwrap();
    let mut sections = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let Some(title) = line.strip_prefix("## ") else {
            continue;
        };
        if !(title.starts_with("Sysroot.") || title.starts_with("OS.")) {
            continue;
        }
        let value = lines.next().unwrap_or_default().to_owned();
        sections.push(Section {
            title: title.to_owned(),
            text: value,
        });
    }
    sections
}

/// A property's recorded value (the variant's content), from a `(<value>,)` line.
pub fn property(section: &Section) -> glib::Variant {
    glib::Variant::parse(None, &section.text)
        .unwrap_or_else(|e| panic!("{}: {e}", section.title))
        .child_value(0)
        .as_variant()
        .expect("a variant")
}

/// One line of a transaction trace.
pub struct Line(pub serde_json::Value);

impl Line {
    pub fn kind(&self) -> &str {
        self.0["kind"].as_str().unwrap_or_default()
    }

    pub fn get(&self, key: &str) -> &str {
        self.0[key].as_str().unwrap_or_default()
    }
}

pub fn trace(file: &str) -> Vec<Line> {
    std::fs::read_to_string(data(file))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| Line(serde_json::from_str(l).unwrap()))
        .collect()
}

/// The signals of a transaction from its `Start()` until the client closed the connection: the
/// peer's and the daemon's on the bus, without the slot's changes.
pub fn signals(file: &str) -> Vec<Event> {
    let lines = trace(file);
    let start = lines
        .iter()
        .position(|l| l.kind() == "call-reply" && l.get("method").ends_with(".Start"))
        .expect("a Start() call");
    lines[start..]
        .iter()
        .take_while(|l| l.kind() != "closing-peer-connection")
        .filter(|l| {
            l.kind() == "txn-signal"
                || (l.kind() == "bus-signal"
                    && l.get("path").starts_with("/org/projectatomic/rpmostree1"))
        })
        .map(|l| Event {
            peer: l.kind() == "txn-signal",
            path: l.get("path").to_owned(),
            interface: l.get("interface").to_owned(),
            member: l.get("member").to_owned(),
            args: glib::Variant::parse(None, l.get("args")).expect("GVariant text"),
        })
        .filter(|e| !is_slot_change(e))
        .collect()
}

/// The errors the recorded calls got: (method, D-Bus error name, message).
pub fn errors(file: &str) -> Vec<(String, String, String)> {
    trace(file)
        .iter()
        .filter(|l| l.kind() == "call-error")
        .map(|l| {
            let name = l.get("dbus_error_name").to_owned();
            let raw = l.get("raw_message");
            let message = raw
                .strip_prefix(&format!("GDBus.Error:{name}: "))
                .unwrap_or(raw)
                .to_owned();
            let method = l.get("method").rsplit('.').next().unwrap().to_owned();
            (method, name, message)
        })
        .collect()
}

/// A step of the layering run with what changes between trees taken out: task names with their
/// checksums shortened away, property changes, the end.
pub fn landmarks(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter(|e| {
            matches!(
                e.member.as_str(),
                "TaskBegin" | "PropertiesChanged" | "Finished"
            )
        })
        .filter(|e| !is_slot_change(e))
        .map(|e| {
            if e.member == "TaskBegin" {
                let text = e.args.child_value(0).str().unwrap_or_default().to_owned();
                let words: Vec<&str> = text
                    .split(' ')
                    .filter(|w| !(w.len() >= 7 && w.chars().all(|c| c.is_ascii_hexdigit())))
                    .collect();
                format!("TaskBegin {}", words.join(" "))
            } else {
                e.shape()
            }
        })
        .collect()
}
