//! The history journal: one JSON object a line, only ever appended, kept inside the sysroot.

use std::io::Write;
use std::path::Path;

use crate::error::Result;
use crate::model::HistoryEntry;

pub const FILE_NAME: &str = "history.jsonl";

/// Appends one entry and syncs it, so a crash loses at most the line being written.
pub fn append(path: &Path, entry: &HistoryEntry) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut line = serde_json::to_string(entry).map_err(|e| crate::Error::Failed(e.to_string()))?;
    line.push('\n');
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    file.write_all(line.as_bytes())?;
    file.sync_data()?;
    Ok(())
}

/// Changes whenever an entry is appended: the journal's length (it is only ever appended to), so a
/// status can carry it for the price of one stat. 0 when there is no journal yet.
pub fn mark(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// Every entry, oldest first. A damaged line (a torn write, a hand edit) is skipped with a warning
/// rather than hiding the rest of the history.
pub fn read(path: &Path) -> Result<Vec<HistoryEntry>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(err.into()),
    };
    Ok(text
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .filter_map(|(n, line)| match serde_json::from_str(line) {
            Ok(entry) => Some(entry),
            Err(err) => {
                tracing::warn!(
                    "{}:{}: skipping a damaged history line: {err}",
                    path.display(),
                    n + 1
                );
                None
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_api::Operation;

    fn entry(operation: Operation) -> HistoryEntry {
        HistoryEntry {
            time: 1_764_000_000,
            operation,
            from_version: Some("41.20261112.0".to_owned()),
            to_version: Some("41.20261125.0".to_owned()),
            success: true,
            message: "Deployed; boots next".to_owned(),
            diff: None,
        }
    }

    #[test]
    fn appends_and_reads_back_skipping_damaged_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keel").join(FILE_NAME);
        assert!(read(&path).unwrap().is_empty());
        append(&path, &entry(Operation::Update)).unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{\"time\": 12, \"operat")
            .unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"\n")
            .unwrap();
        append(&path, &entry(Operation::Rollback)).unwrap();
        let entries = read(&path).unwrap();
        let ops: Vec<Operation> = entries.iter().map(|e| e.operation).collect();
        assert_eq!(ops, [Operation::Update, Operation::Rollback]);
    }

    #[test]
    fn the_mark_changes_with_every_entry() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keel").join(FILE_NAME);
        assert_eq!(mark(&path), 0);
        append(&path, &entry(Operation::Update)).unwrap();
        let first = mark(&path);
        assert!(first > 0);
        append(&path, &entry(Operation::Pin)).unwrap();
        assert!(mark(&path) > first);
    }
}
