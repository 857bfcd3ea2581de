//! The work of each transaction, with the signals rpm-ostreed sends for it in the recorded order
//! (tests/data/rpmostreed/txn-*.jsonl): Keel's libostree driver does the changes; pulls are made
//! here with libostree so their messages and errors read as rpm-ostreed's do.

use std::sync::Arc;
use std::time::{Duration, Instant};

use keel_api::model::AvailablePackage;
use keel_backend::driver::{CleanupSet, SystemDriver, rollback_target};
use keel_backend::progress::{Phases, Silent};
use ostree::{gio, glib, prelude::*};

use super::Daemon;
use super::state::{Backend, Fail, Res, origin_refspec};
use super::transaction::{Operation, Txn};

/// Work for the daemon after `Finished`.
pub type After = Box<dyn FnOnce(&Arc<Daemon>) + Send>;

/// What a transaction ended with, and what the daemon does after `Finished` (rpm-ostreed
/// refreshes the cached update only then).
pub struct Outcome {
    pub result: Res<()>,
    pub after: Option<After>,
}

impl From<Res<()>> for Outcome {
    fn from(result: Res<()>) -> Self {
        Self {
            result,
            after: None,
        }
    }
}

const CANCELLED: &str = "Operation was cancelled";

pub fn run(daemon: &Arc<Daemon>, txn: &Arc<Txn>) -> Outcome {
    match txn.operation.clone() {
        Operation::Check => check(daemon, txn),
        Operation::Upgrade { download_only } => upgrade(daemon, txn, download_only),
        Operation::Rollback => rollback(daemon, txn).into(),
        Operation::Cleanup { elements } => cleanup(daemon, txn, &elements).into(),
        Operation::Packages {
            install,
            uninstall,
            reset,
            idempotent,
        } => packages(daemon, txn, &install, &uninstall, reset, idempotent).into(),
    }
}

/// The `--slow` hook's pause before a step; a cancel during it ends the transaction.
fn step(daemon: &Daemon, txn: &Txn) -> Res<()> {
    let until = Instant::now() + daemon.hooks.step_delay;
    while Instant::now() < until {
        if txn.cancel.is_cancelled() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    if txn.cancel.is_cancelled() {
        return Err(Fail::failed(CANCELLED));
    }
    Ok(())
}

/// The `--crash-during` hook: the daemon dies here, without `Finished`, as the recorded panic.
fn crash_point(daemon: &Daemon, txn: &Txn) {
    if daemon.hooks.crash_during.as_deref() == Some(txn.operation.hook_name()) {
        eprintln!(
            "keel-rpmostreed-double: crashing during {} (test hook)",
            txn.operation.hook_name()
        );
        std::process::exit(101);
    }
}

fn cancellable(txn: &Txn) -> gio::Cancellable {
    let cancellable = gio::Cancellable::new();
    let follower = cancellable.clone();
    txn.cancel.on_cancel(move || follower.cancel());
    cancellable
}

/// The booted deployment's remote and branch.
fn booted_branch(backend: &Backend) -> Res<(String, String)> {
    let rows = backend.rows()?;
    let row = rows
        .iter()
        .find(|r| r.booted)
        .or(rows.first())
        .ok_or_else(|| Fail::failed("No booted deployment"))?;
    let refspec = row
        .deployment
        .origin()
        .as_ref()
        .and_then(origin_refspec)
        .ok_or_else(|| Fail::failed("Booted deployment has no origin"))?;
    match refspec.split_once(':') {
        Some((remote, branch)) => Ok((remote.to_owned(), branch.to_owned())),
        None => Err(Fail::failed(format!("Refspec '{refspec}' has no remote"))),
    }
}

/// Pulls `branch` as rpm-ostreed's upgrader does and says so in its words: DownloadProgress
/// while objects are outstanding, then the summary Message and ProgressEnd.
fn pull(backend: &Backend, txn: &Arc<Txn>, commit_only: bool) -> Res<()> {
    let (remote, branch) = booted_branch(backend)?;
    let repo = backend.repo();
    let cancel = cancellable(txn);
    let started = Instant::now();
    let context = glib::MainContext::new();
    let pulled = context
        .with_thread_default(|| {
            let progress = ostree::AsyncProgress::new();
            let txn = txn.clone();
            progress.connect_changed(move |p| {
                let outstanding = p.uint("outstanding-fetches");
                if outstanding == 0 || p.status().is_some() {
                    return;
                }
                let elapsed = started.elapsed().as_secs();
                let bytes = p.uint64("bytes-transferred");
                txn.emit(
                    "DownloadProgress",
                    &(
                        (p.uint64("start-time"), elapsed),
                        (outstanding, p.uint("outstanding-writes")),
                        (
                            p.uint("scanned-metadata"),
                            p.uint("metadata-fetched"),
                            p.uint("outstanding-metadata-fetches"),
                        ),
                        (
                            p.uint("total-delta-parts"),
                            p.uint("fetched-delta-parts"),
                            p.uint("total-delta-superblocks"),
                            p.uint64("total-delta-part-size"),
                        ),
                        (p.uint("fetched"), p.uint("requested")),
                        (bytes, bytes / elapsed.max(1)),
                    ),
                );
            });
            let options = glib::VariantDict::new(None);
            options.insert_value("refs", &vec![branch.clone()].to_variant());
            let mut flags = ostree::RepoPullFlags::NONE;
            if commit_only {
                flags |= ostree::RepoPullFlags::COMMIT_ONLY;
            }
            options.insert_value("flags", &(flags.bits() as i32).to_variant());
            let result =
                repo.pull_with_options(&remote, &options.end(), Some(&progress), Some(&cancel));
            let stats = (
                progress.uint("metadata-fetched"),
                progress.uint("fetched"),
                progress.uint64("bytes-transferred"),
            );
            progress.finish();
            result.map(|()| stats)
        })
        .map_err(|_| Fail::failed("Could not set up the pull"))?;
    let (metadata, content, bytes) = pulled.map_err(|err| {
        let message = err.message();
        if message.starts_with("While pulling") {
            Fail::failed(message)
        } else {
            Fail::failed(format!("While pulling {branch}: {message}"))
        }
    })?;
    let transferred = if bytes < 1024 {
        format!("{bytes} B")
    } else {
        format!("{} KiB", bytes / 1024)
    };
    let written = if content == 0 { 0 } else { bytes };
    txn.message(&format!(
        "{metadata} metadata, {content} content objects fetched; {transferred} transferred in {} seconds; {} content written",
        started.elapsed().as_secs(),
        glib::format_size(written)
    ));
    txn.progress_end();
    Ok(())
}

/// AutomaticUpdateTrigger(check): commit metadata only; the cached update changes after Finished.
fn check(daemon: &Arc<Daemon>, txn: &Arc<Txn>) -> Outcome {
    let result = step(daemon, txn).and_then(|()| {
        crash_point(daemon, txn);
        daemon.with_backend(|b| pull(b, txn, true))
    });
    let after: Option<After> = match result {
        Ok(()) => Some(Box::new(|daemon: &Arc<Daemon>| {
            let _ = daemon.with_backend(|b| b.write_cached_update(None));
            daemon.refresh();
        })),
        Err(_) => None,
    };
    Outcome { result, after }
}

/// Upgrade: download, then (unless download-only) stage the new version as the next boot.
fn upgrade(daemon: &Arc<Daemon>, txn: &Arc<Txn>, download_only: bool) -> Outcome {
    let staged = (|| -> Res<Option<String>> {
        step(daemon, txn)?;
        daemon.with_backend(|b| pull(b, txn, false))?;
        if download_only {
            return Ok(None);
        }
        step(daemon, txn)?;
        txn.task_begin("Staging deployment");
        crash_point(daemon, txn);
        let outcome = daemon.with_backend(|b| -> Res<Option<String>> {
            let phases = Phases::new(Arc::new(Silent));
            let outcome = b.driver.update(false, &phases, &txn.cancel)?;
            Ok(match outcome {
                keel_backend::driver::UpdateOutcome::Deployed { id, .. } => {
                    b.set_staged(Some(&id))?;
                    Some(id)
                }
                _ => None,
            })
        });
        daemon.refresh();
        let id = outcome?;
        txn.task_end("done");
        Ok(id)
    })();
    let result = staged.as_ref().map(|_| ()).map_err(Clone::clone);
    let after: Option<After> = match staged {
        Ok(id) => Some(Box::new(move |daemon: &Arc<Daemon>| {
            let _ = daemon.with_backend(|b| b.write_cached_update(id.as_deref()));
            daemon.refresh();
        })),
        Err(_) => None,
    };
    Outcome { result, after }
}

/// "Bootloader updated; …" as libostree says it after writing new boot entries.
fn bootloader_message(backend: &Backend, count_before: usize, bootversion_before: i32) -> String {
    let _ = backend.reload();
    let sysroot = &backend.sysroot;
    let count = sysroot.deployments().len() as i64;
    format!(
        "Bootloader updated; bootconfig swap: {}; bootversion: boot.{}.{}, deployment count change: {}",
        if sysroot.bootversion() != bootversion_before {
            "yes"
        } else {
            "no"
        },
        sysroot.bootversion(),
        sysroot.subbootversion(),
        count - count_before as i64
    )
}

fn rollback(daemon: &Arc<Daemon>, txn: &Txn) -> Res<()> {
    step(daemon, txn)?;
    daemon.with_backend(|b| -> Res<()> {
        let rows = b.rows()?;
        if rows.iter().any(|r| r.staged) {
            return Err(Fail::failed("Staged deployment (remove with cleanup -p)"));
        }
        let status = b.driver.status()?;
        let target =
            rollback_target(&status).ok_or_else(|| Fail::failed("No rollback deployment found"))?;
        txn.message(&format!(
            "Moving '{}.{}' to be first deployment",
            target.checksum, target.serial
        ));
        crash_point(daemon, txn);
        let (count, bootversion) = (rows.len(), b.sysroot.bootversion());
        b.driver.rollback(None, &Phases::new(Arc::new(Silent)))?;
        txn.message(&bootloader_message(b, count, bootversion));
        Ok(())
    })?;
    daemon.refresh();
    Ok(())
}

fn cleanup(daemon: &Arc<Daemon>, txn: &Txn, elements: &[String]) -> Res<()> {
    step(daemon, txn)?;
    crash_point(daemon, txn);
    let has = |e: &str| elements.iter().any(|x| x == e);
    let what = CleanupSet {
        pending: has("pending-deploy"),
        rollback: has("rollback-deploy"),
        repo: has("base") || has("repomd"),
    };
    let freed = daemon.with_backend(|b| -> Res<Option<u64>> {
        let rows = b.rows()?;
        let staged = rows.iter().find(|r| r.staged).map(|r| r.id.clone());
        let (count, bootversion) = (rows.len(), b.sysroot.bootversion());
        let freed = b.driver.cleanup(what, &txn.cancel)?;
        let after = b.rows()?;
        let staged_gone = staged
            .as_ref()
            .is_some_and(|id| !after.iter().any(|r| &r.id == id));
        if staged_gone {
            b.set_staged(None)?;
        }
        // Removing only a staged deployment touches no boot entries on a real system.
        let removed = count - after.len();
        if removed > usize::from(staged_gone) {
            txn.message(&bootloader_message(b, count, bootversion));
        }
        // rpm-ostreed reports what pruning the repository freed: only when a removed
        // deployment's commit went with it.
        let repo = b.repo();
        let pruned = rows.iter().any(|r| {
            let csum = r.deployment.csum();
            !after.iter().any(|a| a.deployment.csum() == csum)
                && !repo
                    .has_object(ostree::ObjectType::Commit, &csum, gio::Cancellable::NONE)
                    .unwrap_or(true)
        });
        Ok(pruned.then_some(freed))
    })?;
    daemon.refresh();
    if let Some(freed) = freed {
        txn.message(&format!(
            "Freed: {} (pkgcache branches: 0)",
            glib::format_size(freed)
        ));
    }
    Ok(())
}

/// PkgChange and UpdateDeployment: the long run of tasks rpm-ostreed reports while it layers,
/// then Keel's driver composes and deploys the new layer, marked staged.
fn packages(
    daemon: &Arc<Daemon>,
    txn: &Txn,
    install: &[String],
    uninstall: &[String],
    reset: bool,
    idempotent: bool,
) -> Res<()> {
    step(daemon, txn)?;
    let (remote, base, requested, available) = daemon.with_backend(|b| -> Res<_> {
        let rows = b.rows()?;
        let merge = rows.first().ok_or_else(|| Fail::failed("No deployments"))?;
        let requested: Vec<String> = merge
            .deployment
            .origin()
            .and_then(|o| o.string_list("packages", "requested").ok())
            .map(|l| l.iter().map(|s| s.to_string()).collect())
            .unwrap_or_default();
        let available = b.driver.available_packages()?;
        Ok((
            booted_branch(b)?.0,
            merge.deployment.csum().to_string(),
            requested,
            available,
        ))
    })?;
    let install: Vec<String> = install
        .iter()
        .filter(|p| !(idempotent && requested.contains(p)))
        .cloned()
        .collect();
    if let Some(p) = install.iter().find(|p| requested.contains(p)) {
        return Err(Fail::failed(format!("Package '{p}' is already requested")));
    }
    let uninstall: Vec<String> = uninstall
        .iter()
        .filter(|p| !idempotent || requested.contains(p))
        .cloned()
        .collect();
    if let Some(p) = uninstall.iter().find(|p| !requested.contains(p)) {
        return Err(Fail::failed(format!(
            "Package/capability '{p}' is not currently requested"
        )));
    }
    let resets = reset && !requested.is_empty();
    if install.is_empty() && uninstall.is_empty() && !resets {
        txn.message("No changes.");
        return Ok(());
    }
    let missing: Vec<&str> = install
        .iter()
        .filter(|p| !available.iter().any(|a| &a.name == *p))
        .map(String::as_str)
        .collect();

    txn.task_begin(&format!("Checking out tree {}", &base[..7]));
    txn.task_end("done");
    txn.message(&format!("Enabled rpm-md repositories: {remote}"));
    for pct in [0, 5, 100] {
        txn.percent("Importing rpm-md", pct);
    }
    txn.progress_end();
    txn.message(&format!(
        "rpm-md repo '{remote}'; solvables: {}",
        available.len()
    ));
    txn.task_begin("Resolving dependencies");
    if !missing.is_empty() {
        return Err(Fail::failed(format!(
            "Packages not found: {}",
            missing.join(", ")
        )));
    }
    txn.task_end("done");
    step(daemon, txn)?;
    if !install.is_empty() {
        txn.message(&format!(
            "Will download: {} package{}",
            install.len(),
            if install.len() == 1 { "" } else { "s" }
        ));
        txn.percent(&format!("Downloading from '{remote}'"), 0);
        txn.percent(&format!("Downloading from '{remote}'"), 100);
        txn.progress_end();
        let n = install.len();
        txn.percent("Importing packages", 0);
        txn.percent(&format!("Importing packages ({n}/{n})"), 100);
        txn.progress_end();
    }
    for task in [
        "Running pre scripts",
        "Running post scripts",
        "Running posttrans scripts",
    ] {
        txn.task_begin(task);
        txn.task_end("done");
    }
    txn.task_begin("Writing rpmdb");
    txn.task_end("done");
    crash_point(daemon, txn);
    step(daemon, txn)?;
    txn.task_begin("Writing OSTree commit");
    txn.task_end("done");
    txn.task_begin("Staging deployment");
    let made = daemon.with_backend(|b| -> Res<()> {
        let phases = Phases::new(Arc::new(Silent));
        let cancel = &txn.cancel;
        let id = if reset && install.is_empty() && uninstall.is_empty() {
            b.driver.reset_packages(&phases, cancel)?
        } else {
            let mut id = None;
            if !uninstall.is_empty() {
                id = Some(b.driver.uninstall(&uninstall, &phases, cancel)?);
            }
            if !install.is_empty() {
                id = Some(b.driver.install(&install, &phases, cancel)?);
            }
            id.unwrap_or_default()
        };
        b.set_staged(Some(&id))
    });
    daemon.refresh();
    made?;
    txn.task_end("done");
    Ok(())
}

/// `Search`: packages of the package source Keel's driver knows, in rpm-ostreed's three groups
/// (`key`): every term in the name and the summary (`match_group_a`), in the name
/// (`match_group_b`), in the summary (`match_group_c`); each package once.
pub fn search(backend: &Backend, names: &[String]) -> Res<Vec<glib::Variant>> {
    let (remote, _) = booted_branch(backend)?;
    let mut available = backend.driver.available_packages()?;
    available.sort_by(|a, b| a.name.cmp(&b.name));
    let terms: Vec<String> = names.iter().map(|n| n.to_lowercase()).collect();
    let mut found: Vec<(&str, &AvailablePackage)> = available
        .iter()
        .filter_map(|p| match_group(p, &terms).map(|group| (group, p)))
        .collect();
    // Group a first, then b, then c; by name within each (the sort is stable).
    found.sort_by_key(|(group, _)| *group);
    Ok(found
        .into_iter()
        .map(|(group, p)| package_variant(p, group, &remote))
        .collect())
}

/// The first of rpmostreed's match groups a package falls in, if any.
fn match_group(p: &AvailablePackage, terms: &[String]) -> Option<&'static str> {
    if terms.is_empty() {
        return None;
    }
    let (name, summary) = (p.name.to_lowercase(), p.summary.to_lowercase());
    let all = |test: &dyn Fn(&str) -> bool| terms.iter().all(|t| test(t));
    let both = all(&|t| name.contains(t) && summary.contains(t))
        || (terms.len() > 1 && all(&|t| name.contains(t) || summary.contains(t)));
    if both {
        Some("match_group_a")
    } else if all(&|t| name.contains(t)) {
        Some("match_group_b")
    } else if all(&|t| summary.contains(t)) {
        Some("match_group_c")
    } else {
        None
    }
}

fn package_variant(p: &AvailablePackage, key: &str, repo: &str) -> glib::Variant {
    let (epoch, rest) = match p.evr.split_once(':') {
        Some((e, rest)) => (e.parse::<u64>().unwrap_or(0), rest),
        None => (0, p.evr.as_str()),
    };
    let version = rest.split_once('-').map_or(rest, |(v, _)| v);
    let dict = glib::VariantDict::new(None);
    dict.insert("key", key);
    dict.insert("name", p.name.as_str());
    dict.insert("epoch", epoch);
    dict.insert("version", version);
    dict.insert("arch", p.arch.as_str());
    dict.insert("nevra", format!("{}-{}.{}", p.name, p.evr, p.arch).as_str());
    dict.insert("evr", p.evr.as_str());
    dict.insert("summary", p.summary.as_str());
    dict.insert("reponame", repo);
    dict.end()
}
