//! `/etc` changes: a deployment's `/etc` against its image's defaults in `/usr/etc`.

use std::collections::BTreeSet;
use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::Engine;
use crate::driver::resolve;
use crate::error::Result;
use crate::model::ConfigDiff;

impl Engine {
    /// The local changes to `/etc` of a deployment against its image's defaults in `/usr/etc`.
    pub fn config_diff(&self, spec: &str) -> Result<ConfigDiff> {
        let status = self.status()?;
        let d = resolve(&status, spec)?;
        let od = self.ostree_deployment(d)?;
        let root = self
            .path
            .join(self.sysroot.deployment_dirpath(&od).as_str());
        Ok(config_diff(&root.join("usr/etc"), &root.join("etc")))
    }
}

/// Opens a file to compare it (tests give one that fails, as reading `/etc/shadow` does for a
/// normal user; tests run as root, who can read anything).
type Open<'a> = &'a dyn Fn(&Path) -> io::Result<Box<dyn Read>>;

/// How much of each file is compared at a time.
const CHUNK: usize = 64 * 1024;

pub(super) fn config_diff(defaults: &Path, etc: &Path) -> ConfigDiff {
    config_diff_with(defaults, etc, &|path| {
        Ok(Box::new(std::fs::File::open(path)?) as Box<dyn Read>)
    })
}

/// Files in `etc` and not in `defaults` are added, the other way removed; files in both that
/// differ are modified, and those that could not be read (or folders that could not be listed)
/// are unreadable: never counted as unchanged.
fn config_diff_with(defaults: &Path, etc: &Path, open: Open) -> ConfigDiff {
    let (mut old, mut new, mut unreadable) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    collect(defaults, defaults, &mut old, &mut unreadable);
    collect(etc, etc, &mut new, &mut unreadable);
    let mut modified = Vec::new();
    for relative in old.intersection(&new) {
        match same_file(&defaults.join(relative), &etc.join(relative), open) {
            Ok(true) => {}
            Ok(false) => modified.push(relative.clone()),
            Err(_) => {
                unreadable.insert(relative.clone());
            }
        }
    }
    ConfigDiff {
        modified,
        added: new.difference(&old).cloned().collect(),
        removed: old.difference(&new).cloned().collect(),
        unreadable: unreadable.into_iter().collect(),
    }
}

/// Every file (anything but a folder) under `dir`, relative to `root`; folders below `root` that
/// cannot be listed go to `unreadable`.
fn collect(root: &Path, dir: &Path, out: &mut BTreeSet<String>, unreadable: &mut BTreeSet<String>) {
    let relative = |path: &Path| {
        path.strip_prefix(root)
            .unwrap_or(path)
            .to_string_lossy()
            .into_owned()
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        // A missing /usr/etc or /etc is an empty one; anything else hides what is inside.
        Err(err) if dir == root && err.kind() == io::ErrorKind::NotFound => return,
        Err(_) => {
            unreadable.insert(relative(dir));
            return;
        }
    };
    for entry in entries {
        let Ok(entry) = entry else {
            unreadable.insert(relative(dir));
            continue;
        };
        let path = entry.path();
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            collect(root, &path, out, unreadable);
        } else {
            out.insert(relative(&path));
        }
    }
}

/// Whether two files are the same: type, mode, and the target of a link, the device of a
/// device, or the content of a regular file (read in chunks, and only when the sizes agree). An
/// error means one of them could not be read.
fn same_file(a: &Path, b: &Path, open: Open) -> io::Result<bool> {
    let (ma, mb) = (std::fs::symlink_metadata(a)?, std::fs::symlink_metadata(b)?);
    if ma.file_type() != mb.file_type() || ma.mode() != mb.mode() {
        return Ok(false);
    }
    if ma.file_type().is_symlink() {
        return Ok(std::fs::read_link(a)? == std::fs::read_link(b)?);
    }
    // Devices, FIFOs and sockets are never opened (a FIFO would block).
    if !ma.is_file() {
        return Ok(ma.rdev() == mb.rdev());
    }
    if ma.len() != mb.len() {
        return Ok(false);
    }
    same_content(open(a)?, open(b)?)
}

fn same_content(mut a: impl Read, mut b: impl Read) -> io::Result<bool> {
    let (mut chunk_a, mut chunk_b) = (vec![0; CHUNK], vec![0; CHUNK]);
    loop {
        let n = fill(&mut a, &mut chunk_a)?;
        if n != fill(&mut b, &mut chunk_b)? || chunk_a[..n] != chunk_b[..n] {
            return Ok(false);
        }
        if n == 0 {
            return Ok(true);
        }
    }
}

/// Reads until `buf` is full or the file ends; returns how much was read.
fn fill(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, relative: &str, content: &[u8]) {
        let path = root.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }

    #[test]
    fn files_that_cannot_be_read_are_not_counted_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let (defaults, etc) = (dir.path().join("usr/etc"), dir.path().join("etc"));
        // Same size, same mode, different content: only reading tells them apart.
        write(&defaults, "shadow", b"root:*:1:");
        write(&etc, "shadow", b"root:$6:1");
        write(&defaults, "motd", b"hello");
        write(&etc, "motd", b"hello");
        write(&defaults, "hosts", b"127.0.0.1 localhost");
        write(&etc, "hosts", b"127.0.0.1 localhost\n::1 localhost");
        // As a normal user reading /etc/shadow.
        let open: Open = &|path| {
            if path.ends_with("shadow") {
                Err(io::Error::from(io::ErrorKind::PermissionDenied))
            } else {
                Ok(Box::new(std::fs::File::open(path)?) as Box<dyn Read>)
            }
        };
        let diff = config_diff_with(&defaults, &etc, open);
        assert_eq!(diff.unreadable, ["shadow"]);
        assert_eq!(diff.modified, ["hosts"]);
        assert!(diff.added.is_empty() && diff.removed.is_empty());
    }

    #[test]
    fn content_is_compared_chunk_by_chunk() {
        let dir = tempfile::tempdir().unwrap();
        let (defaults, etc) = (dir.path().join("usr/etc"), dir.path().join("etc"));
        let big = vec![7u8; CHUNK * 2 + 10];
        let mut changed = big.clone();
        *changed.last_mut().unwrap() = 8;
        write(&defaults, "same", &big);
        write(&etc, "same", &big);
        write(&defaults, "tail", &big);
        write(&etc, "tail", &changed);
        // A reader that hands out a few bytes at a time still compares whole files.
        struct Trickle(std::fs::File);
        impl Read for Trickle {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = buf.len().min(1000);
                self.0.read(&mut buf[..n])
            }
        }
        let open: Open = &|path| Ok(Box::new(Trickle(std::fs::File::open(path)?)) as Box<dyn Read>);
        let diff = config_diff_with(&defaults, &etc, open);
        assert_eq!(diff.modified, ["tail"]);
        assert!(diff.unreadable.is_empty());
    }
}
