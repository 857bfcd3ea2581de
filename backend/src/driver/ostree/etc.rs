//! `/etc` changes: a deployment's `/etc` against its image's defaults in `/usr/etc`.

use std::collections::BTreeSet;
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
        config_diff(&root.join("usr/etc"), &root.join("etc"))
    }
}

pub(super) fn config_diff(defaults: &Path, etc: &Path) -> Result<ConfigDiff> {
    pub(super) fn collect(root: &Path, dir: &Path, out: &mut BTreeSet<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let relative = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .to_string_lossy()
                .into_owned();
            let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
            if is_dir {
                collect(root, &path, out);
            } else {
                out.insert(relative);
            }
        }
    }
    let (mut old, mut new) = (BTreeSet::new(), BTreeSet::new());
    collect(defaults, defaults, &mut old);
    collect(etc, etc, &mut new);
    let same = |relative: &str| -> bool {
        let (a, b) = (defaults.join(relative), etc.join(relative));
        match (std::fs::symlink_metadata(&a), std::fs::symlink_metadata(&b)) {
            (Ok(ma), Ok(mb)) => {
                if ma.file_type().is_symlink() || mb.file_type().is_symlink() {
                    std::fs::read_link(&a).ok() == std::fs::read_link(&b).ok()
                } else {
                    ma.mode() == mb.mode() && std::fs::read(&a).ok() == std::fs::read(&b).ok()
                }
            }
            _ => false,
        }
    };
    Ok(ConfigDiff {
        modified: old
            .intersection(&new)
            .filter(|p| !same(p))
            .cloned()
            .collect(),
        added: new.difference(&old).cloned().collect(),
        removed: old.difference(&new).cloned().collect(),
    })
}
