//! Disk usage: what a cleanup would free (worked out without changing anything), the cleanup
//! itself, and the inode tally both share with the removal of one deployment.

use std::collections::{HashMap, HashSet};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use ostree::gio;

use super::Engine;
use crate::driver::CleanupSet;
use crate::error::Result;
use crate::model::{CleanupEstimate, SystemStatus};
use keel_api::Operation;

impl Engine {
    /// What `cleanup(what)` would remove and the space it would free, found without changing
    /// anything: the removed deployments' folders and the objects no kept commit reaches, counting
    /// a file only when all its hard links are among them.
    pub fn cleanup_estimate(&self, what: CleanupSet) -> Result<CleanupEstimate> {
        let status = self.status()?;
        let remove = cleanup_indices(&status, what);
        let deployments = self.deployments();
        let mut doomed: Vec<PathBuf> = Vec::new();
        for &i in &remove {
            let dir = self
                .path
                .join(self.sysroot.deployment_dirpath(&deployments[i]).as_str());
            let mut origin = dir.clone().into_os_string();
            origin.push(".origin");
            doomed.push(dir);
            doomed.push(origin.into());
        }
        if what.repo || !remove.is_empty() {
            let kept: Vec<ostree::Deployment> = deployments
                .iter()
                .enumerate()
                .filter(|(i, _)| !remove.contains(i))
                .map(|(_, d)| d.clone())
                .collect();
            let repo = self.repo();
            let mut reachable = HashSet::new();
            for commit in self.prune_roots(&kept)? {
                reachable.extend(repo.traverse_commit(&commit, 0, gio::Cancellable::NONE)?);
            }
            let objects = self.path.join("ostree/repo/objects");
            let all = repo.list_objects(
                ostree::ffi::OSTREE_REPO_LIST_OBJECTS_ALL,
                gio::Cancellable::NONE,
            )?;
            for name in all.keys().filter(|n| !reachable.contains(*n)) {
                let checksum = name.checksum();
                let kind = ostree::object_type_to_string(name.object_type());
                doomed.push(
                    objects
                        .join(&checksum[..2])
                        .join(format!("{}.{kind}", &checksum[2..])),
                );
            }
        }
        Ok(CleanupEstimate {
            deployments: remove
                .iter()
                .map(|&i| status.deployments[i].id.clone())
                .collect(),
            bytes: Usage::of(&doomed).exclusive_bytes(),
        })
    }

    /// Removes pending and/or rollback deployments (never booted or pinned ones) and prunes the
    /// repository; returns the bytes freed.
    pub fn cleanup(&self, what: CleanupSet, cancel: Option<&gio::Cancellable>) -> Result<u64> {
        let _lock = self.lock()?;
        let before = self.status()?;
        let remove = cleanup_indices(&before, what);
        let result = self.remove_indices(&before, &remove, what.repo || !remove.is_empty(), cancel);
        self.journal_freed(Operation::Cleanup, &before, &result);
        result
    }
}

/// Indices of the deployments a cleanup removes: never the booted or a pinned one.
pub(super) fn cleanup_indices(status: &SystemStatus, what: CleanupSet) -> Vec<usize> {
    status
        .deployments
        .iter()
        .filter(|d| !d.booted && !d.pinned)
        .filter(|d| (what.pending && d.pending) || (what.rollback && !d.pending))
        .map(|d| d.index as usize)
        .collect()
}

/// Files by inode, as found among some paths (files, or folders with everything in them): their
/// links found there, their links in all, their allocated bytes (as `du` counts).
pub(super) struct Usage(HashMap<(u64, u64), (u64, u64, u64)>);

impl Usage {
    pub(super) fn of(paths: &[PathBuf]) -> Self {
        let mut files = HashMap::new();
        each_file(paths, &mut |meta| {
            let entry = files.entry((meta.dev(), meta.ino())).or_insert((
                0,
                meta.nlink(),
                meta.blocks() * 512,
            ));
            entry.0 += 1;
        });
        Self(files)
    }

    /// The files with every one of their links among the paths: deleting the paths frees them.
    pub(super) fn exclusive(&self) -> impl Iterator<Item = (&(u64, u64), u64)> {
        self.0
            .iter()
            .filter(|(_, (here, links, _))| here >= links)
            .map(|(inode, (_, _, bytes))| (inode, *bytes))
    }

    /// The space deleting all the paths would free.
    pub(super) fn exclusive_bytes(&self) -> u64 {
        self.exclusive().map(|(_, bytes)| bytes).sum()
    }

    /// Space that came free since `self` was taken: files gone that had no link elsewhere (a file
    /// also linked from outside still takes its space).
    pub(super) fn freed_since(&self, now: &Usage) -> u64 {
        self.exclusive()
            .filter(|(inode, _)| !now.0.contains_key(*inode))
            .map(|(_, bytes)| bytes)
            .sum()
    }
}

/// Calls `visit` with every file (anything but a folder; links not followed) among `paths` and in
/// the folders among them, recursively. What cannot be read is skipped.
pub(super) fn each_file(paths: &[PathBuf], visit: &mut dyn FnMut(&std::fs::Metadata)) {
    let mut folders = Vec::new();
    for path in paths {
        match std::fs::symlink_metadata(path) {
            Ok(meta) if meta.is_dir() => folders.push(path.clone()),
            Ok(meta) => visit(&meta),
            Err(_) => {}
        }
    }
    while let Some(dir) = folders.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                folders.push(entry.path());
            } else {
                visit(&meta);
            }
        }
    }
}
