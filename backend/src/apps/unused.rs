//! Which runtimes nothing needs any more — what `flatpak uninstall --unused` would remove — worked
//! out the way flatpak does it (`find_used_refs` in flatpak-dir.c): starting from every installed
//! app and every pinned runtime, a ref uses its runtime, its SDK, the runtime an extra-data
//! extension needs, and the installed extensions its `[Extension …]` groups name (locales, GL
//! drivers, plugins). For the system installation and the configured ones the user's apps count
//! too: they may run on a system runtime.
//!
//! One difference on purpose: an extension flatpak would prune because its `autoprune-unless`
//! condition (the active GL driver, a GPU…) does not hold on this host is still counted as used;
//! Keel cannot see those conditions from inside a sandbox, and "unused" must never be claimed of
//! something flatpak keeps.

use std::collections::{HashMap, HashSet, VecDeque};

use super::AppKind;
use super::read::{Deps, Installed};

/// Sets `unused` on every runtime of `entries` that nothing needs.
pub fn mark(entries: &mut [Installed]) {
    let installations: HashSet<String> =
        entries.iter().map(|e| e.app.installation.clone()).collect();
    let mut unused = Vec::new();
    for name in &installations {
        let used = used_in(entries, name);
        for (index, entry) in entries.iter().enumerate() {
            let app = &entry.app;
            if app.installation == *name
                && app.kind == AppKind::Runtime
                && !app.reference.is_empty()
                && app.broken.is_empty()
                && !used.contains(app.reference.as_str())
            {
                unused.push(index);
            }
        }
    }
    for index in unused {
        entries[index].app.unused = true;
    }
}

/// The refs of installation `name` that something needs.
fn used_in<'a>(entries: &'a [Installed], name: &str) -> HashSet<&'a str> {
    let here: HashMap<&str, &Installed> = entries
        .iter()
        .filter(|e| e.app.installation == name)
        .map(|e| (e.app.reference.as_str(), e))
        .collect();
    // The user's refs shadow the others' (flatpak looks there first), and all count as roots.
    let shadow: HashMap<&str, &Installed> = if name == "user" {
        HashMap::new()
    } else {
        entries
            .iter()
            .filter(|e| e.app.installation == "user")
            .map(|e| (e.app.reference.as_str(), e))
            .collect()
    };
    let mut queue: VecDeque<String> = VecDeque::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut push = |reference: String, queue: &mut VecDeque<String>| {
        if seen.insert(reference.clone()) {
            queue.push_back(reference);
        }
    };
    for entry in here.values() {
        if entry.app.kind == AppKind::App || entry.pinned {
            push(entry.app.reference.clone(), &mut queue);
        }
    }
    for reference in shadow.keys() {
        push((*reference).to_owned(), &mut queue);
    }

    let mut used = HashSet::new();
    while let Some(reference) = queue.pop_front() {
        let entry = match (shadow.get(reference.as_str()), here.get(reference.as_str())) {
            (Some(shadowing), _) => *shadowing,
            (None, Some(entry)) => {
                used.insert(entry.app.reference.as_str());
                *entry
            }
            // Something needs a ref that is not installed here (an SDK, often): fine.
            (None, None) => continue,
        };
        for needed in needs(&entry.app.reference, &entry.deps, &here) {
            push(needed, &mut queue);
        }
    }
    used
}

/// The refs `reference` needs directly, its extensions looked up among `installed`.
fn needs(reference: &str, deps: &Deps, installed: &HashMap<&str, &Installed>) -> Vec<String> {
    let mut needed: Vec<String> = [&deps.runtime, &deps.sdk, &deps.extra_data_runtime]
        .into_iter()
        .flatten()
        .filter(|r| r.as_str() != reference)
        .cloned()
        .collect();
    let mut parts = reference.split('/').skip(2);
    let (arch, own_branch) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    for point in &deps.extensions {
        let branches: Vec<&str> = if point.branches.is_empty() {
            vec![own_branch]
        } else {
            point.branches.iter().map(String::as_str).collect()
        };
        for branch in branches {
            let exact = format!("runtime/{}/{arch}/{branch}", point.id);
            if installed.contains_key(exact.as_str()) {
                needed.push(exact);
            } else if point.subdirectories {
                let prefix = format!("runtime/{}.", point.id);
                let suffix = format!("/{arch}/{branch}");
                needed.extend(
                    installed
                        .keys()
                        .filter(|r| r.starts_with(&prefix) && r.ends_with(&suffix))
                        .filter(|r| !r[prefix.len()..r.len() - suffix.len()].contains('/'))
                        .map(|r| (*r).to_owned()),
                );
            }
        }
    }
    needed
}

#[cfg(test)]
mod tests {
    use super::super::App;
    use super::super::read::ExtensionPoint;
    use super::*;

    fn entry(installation: &str, reference: &str, deps: Deps) -> Installed {
        let kind = if reference.starts_with("app/") {
            AppKind::App
        } else {
            AppKind::Runtime
        };
        Installed {
            app: App {
                reference: reference.to_owned(),
                installation: installation.to_owned(),
                kind,
                ..App::default()
            },
            deps,
            pinned: false,
        }
    }

    fn runtime(reference: &str) -> Deps {
        Deps {
            runtime: Some(reference.to_owned()),
            ..Deps::default()
        }
    }

    fn unused(entries: &[Installed]) -> Vec<String> {
        let mut list: Vec<String> = entries
            .iter()
            .filter(|e| e.app.unused)
            .map(|e| format!("{}:{}", e.app.installation, e.app.reference))
            .collect();
        list.sort();
        list
    }

    #[test]
    fn runtimes_extensions_and_sdks_in_use_are_kept() {
        let platform = Deps {
            sdk: Some("runtime/org.x.Sdk/x86_64/1".into()),
            extensions: vec![
                ExtensionPoint {
                    id: "org.x.Platform.Locale".into(),
                    branches: vec![],
                    subdirectories: false,
                },
                ExtensionPoint {
                    id: "org.x.Platform.GL".into(),
                    branches: vec!["1".into(), "1.4".into()],
                    subdirectories: true,
                },
            ],
            ..Deps::default()
        };
        let mut entries = vec![
            entry(
                "user",
                "app/org.a/x86_64/stable",
                runtime("runtime/org.x.Platform/x86_64/1"),
            ),
            entry("user", "runtime/org.x.Platform/x86_64/1", platform),
            entry(
                "user",
                "runtime/org.x.Platform.Locale/x86_64/1",
                Deps::default(),
            ),
            entry(
                "user",
                "runtime/org.x.Platform.GL.default/x86_64/1.4",
                Deps::default(),
            ),
            entry("user", "runtime/org.x.Sdk/x86_64/1", Deps::default()),
            entry("user", "runtime/org.x.Platform/x86_64/0", Deps::default()),
            entry(
                "user",
                "runtime/org.x.Platform.Locale/x86_64/0",
                Deps::default(),
            ),
            entry(
                "user",
                "runtime/org.x.Platform.GL.default/x86_64/9",
                Deps::default(),
            ),
        ];
        mark(&mut entries);
        assert_eq!(
            unused(&entries),
            [
                "user:runtime/org.x.Platform.GL.default/x86_64/9",
                "user:runtime/org.x.Platform.Locale/x86_64/0",
                "user:runtime/org.x.Platform/x86_64/0",
            ]
        );
    }

    #[test]
    fn user_apps_keep_system_runtimes_but_not_the_other_way_round() {
        let mut entries = vec![
            entry(
                "user",
                "app/org.a/x86_64/stable",
                runtime("runtime/org.sys/x86_64/1"),
            ),
            entry("system", "runtime/org.sys/x86_64/1", Deps::default()),
            entry(
                "system",
                "app/org.b/x86_64/stable",
                runtime("runtime/org.usr/x86_64/1"),
            ),
            entry("user", "runtime/org.usr/x86_64/1", Deps::default()),
            entry("extra", "runtime/org.sys/x86_64/1", Deps::default()),
        ];
        mark(&mut entries);
        assert_eq!(unused(&entries), ["user:runtime/org.usr/x86_64/1"]);
    }

    #[test]
    fn pinned_runtimes_and_broken_entries_are_never_unused() {
        let mut pinned = entry(
            "user",
            "runtime/org.pinned/x86_64/1",
            runtime("runtime/org.base/x86_64/1"),
        );
        pinned.pinned = true;
        let mut broken = entry("user", "runtime/org.broken/x86_64/1", Deps::default());
        broken.app.broken = "Its metadata file is missing.".into();
        let mut entries = vec![
            pinned,
            broken,
            entry("user", "runtime/org.base/x86_64/1", Deps::default()),
            entry("user", "runtime/org.lonely/x86_64/1", Deps::default()),
        ];
        mark(&mut entries);
        assert_eq!(unused(&entries), ["user:runtime/org.lonely/x86_64/1"]);
    }
}
