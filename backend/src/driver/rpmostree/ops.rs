//! The operations rpm-ostreed performs, each on the route this process takes, and what Keel says
//! and records about them afterwards.

use zbus::zvariant::Value;

use super::{Route, RpmOstreeDriver, host, options, sandbox};
use crate::driver::{self, Cancel, CleanupSet, SystemDriver, UpdateOutcome};
use crate::error::{Error, Result};
use crate::history;
use crate::model::{Deployment, HistoryEntry, SystemStatus};
use crate::progress::Phases;
use keel_api::Operation;
use keel_api::i18n::{fill, gettext};

/// One request to rpm-ostreed.
#[derive(Clone, Debug)]
pub(super) enum Op {
    Check,
    Upgrade { download_only: bool },
    Rollback,
    Install(Vec<String>),
    Uninstall(Vec<String>),
    Reset,
    Cleanup(CleanupSet),
}

impl Op {
    /// What it is called in progress and in errors (already translated).
    pub fn action(&self) -> String {
        match self {
            Op::Check => gettext("Checking for updates"),
            Op::Upgrade {
                download_only: true,
            } => gettext("Downloading the update"),
            Op::Upgrade { .. } => gettext("Updating the system"),
            Op::Rollback => gettext("Rolling back"),
            Op::Install(_) | Op::Uninstall(_) | Op::Reset => gettext("Changing layered packages"),
            Op::Cleanup(_) => gettext("Cleaning up"),
        }
    }

    /// The `rpm-ostree` command's arguments (the sandbox route).
    pub fn command(&self) -> Vec<String> {
        let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        match self {
            Op::Check => words(&["upgrade", "--check"]),
            Op::Upgrade {
                download_only: true,
            } => words(&["upgrade", "--download-only"]),
            Op::Upgrade { .. } => words(&["upgrade"]),
            Op::Rollback => words(&["rollback"]),
            Op::Install(p) => [
                words(&["install", "--idempotent", "--allow-inactive"]),
                p.clone(),
            ]
            .concat(),
            Op::Uninstall(p) => [words(&["uninstall"]), p.clone()].concat(),
            Op::Reset => words(&["uninstall", "--all"]),
            Op::Cleanup(what) => {
                let mut args = words(&["cleanup"]);
                if what.pending {
                    args.push("-p".into());
                }
                if what.rollback {
                    args.push("-r".into());
                }
                if what.repo {
                    args.extend(["-b".into(), "-m".into()]);
                }
                args
            }
        }
    }
}

impl RpmOstreeDriver {
    /// Runs one request on this process's route and has rpm-ostreed read the system again.
    pub(super) fn perform(&self, op: Op, phases: &Phases, cancel: &Cancel) -> Result<String> {
        tracing::info!("{op:?} by the {:?} route", self.route);
        let result = match self.route {
            Route::Host => host::run(self, &op, phases, cancel),
            Route::Sandbox => sandbox::run(self, &op, phases, cancel),
        };
        self.refresh();
        result
    }

    pub(super) fn update_op(
        &self,
        download_only: bool,
        phases: &Phases,
        cancel: &Cancel,
    ) -> Result<UpdateOutcome> {
        let before = self.status()?;
        let result = self.perform(Op::Upgrade { download_only }, phases, cancel);
        let after = self.status_after(&before);
        let outcome = result.map(|_| {
            let new = after
                .deployments
                .first()
                .filter(|d| !before.deployments.iter().any(|b| b.id == d.id));
            match (download_only, new, &after.cached_update) {
                (false, Some(d), _) => UpdateOutcome::Deployed {
                    id: d.id.clone(),
                    version: d.base_version.clone().or(d.version.clone()),
                },
                (true, _, Some(u)) => UpdateOutcome::Downloaded {
                    version: u.version.clone(),
                },
                _ => UpdateOutcome::UpToDate,
            }
        });
        let operation = if download_only {
            Operation::Download
        } else {
            Operation::Update
        };
        let message = match &outcome {
            Ok(o) => Ok(o.message()),
            Err(e) => Err(Error::Failed(e.message().to_owned())),
        };
        self.record(operation, &before, &after, &message);
        outcome
    }

    pub(super) fn rollback_op(&self, target: Option<&str>, phases: &Phases) -> Result<Deployment> {
        let before = self.status()?;
        let Some(goal) = driver::rollback_target(&before).cloned() else {
            return Err(Error::InvalidArgument(gettext(
                "There is no deployment to roll back to.",
            )));
        };
        if let Some(target) = target {
            let asked = driver::resolve(&before, target)?;
            if asked.id != goal.id {
                return Err(Error::InvalidArgument(fill(
                    // Translators: {deployment} is a version or a checksum.
                    &gettext(
                        "rpm-ostree rolls back to {deployment} only; another deployment cannot be made to boot next here.",
                    ),
                    &[("deployment", &driver::name(&goal))],
                )));
            }
        }
        let cancel = Cancel::default();
        // rpm-ostree refuses to roll back past a staged deployment; the window has said it goes.
        let result = if before.deployments.iter().any(|d| d.staged) {
            let discard = CleanupSet {
                pending: true,
                ..Default::default()
            };
            self.perform(Op::Cleanup(discard), phases, &cancel)
                .and_then(|_| self.perform(Op::Rollback, phases, &cancel))
        } else {
            self.perform(Op::Rollback, phases, &cancel)
        };
        let after = self.status_after(&before);
        let message = result.map(|_| {
            fill(
                // Translators: {deployment} is a version or a checksum.
                &gettext("{deployment} boots next."),
                &[("deployment", &driver::name(&goal))],
            )
        });
        self.record(Operation::Rollback, &before, &after, &message);
        message?;
        after
            .deployments
            .into_iter()
            .find(|d| d.checksum == goal.checksum && d.serial == goal.serial)
            .ok_or_else(|| Error::Failed(gettext("The deployment rolled back to has gone.")))
    }

    pub(super) fn cleanup_op(&self, what: CleanupSet, cancel: &Cancel) -> Result<u64> {
        let before = self.status()?;
        let phases = Phases::new(std::sync::Arc::new(crate::progress::Silent));
        let result = self.perform(Op::Cleanup(what), &phases, cancel);
        let freed = result.as_ref().map_or(0, |text| freed_bytes(text));
        let after = self.status_after(&before);
        let message = result.map(|_| {
            fill(
                // Translators: {size} is an amount of disk space, "1.5 GB".
                &gettext("Freed {size}."),
                &[("size", &crate::format::size(freed))],
            )
        });
        self.record(Operation::Cleanup, &before, &after, &message);
        message.map(|_| freed)
    }

    /// Install, uninstall or reset; returns the id of the deployment that boots next.
    pub(super) fn layering_op(&self, op: Op, phases: &Phases, cancel: &Cancel) -> Result<String> {
        let before = self.status()?;
        let next = before.deployments.first().cloned().unwrap_or_default();
        let op = match op {
            Op::Install(p) | Op::Uninstall(p) if p.is_empty() => {
                return Err(Error::InvalidArgument(gettext("No packages were given.")));
            }
            Op::Install(p) => {
                p.iter()
                    .try_for_each(|n| driver::validate_package_name(n))?;
                Op::Install(p)
            }
            // Asking to remove what is not layered changes nothing, as asking twice should.
            Op::Uninstall(p) => {
                p.iter()
                    .try_for_each(|n| driver::validate_package_name(n))?;
                let layered: Vec<String> = p
                    .into_iter()
                    .filter(|n| next.requested_packages.contains(n))
                    .collect();
                if layered.is_empty() {
                    return Ok(next.id);
                }
                Op::Uninstall(layered)
            }
            Op::Reset if next.requested_packages.is_empty() && next.local_packages.is_empty() => {
                return Ok(next.id);
            }
            other => other,
        };
        let operation = match &op {
            Op::Install(_) => Operation::Install,
            Op::Uninstall(_) => Operation::Uninstall,
            _ => Operation::ResetPackages,
        };
        let result = self.perform(op, phases, cancel);
        let after = self.status_after(&before);
        let message =
            result.map(|_| gettext("Packages changed; they take effect at the next boot."));
        self.record(operation, &before, &after, &message);
        message?;
        Ok(after
            .deployments
            .first()
            .map(|d| d.id.clone())
            .unwrap_or_default())
    }

    /// The status after an operation; the one before when rpm-ostreed cannot say (it crashed), so
    /// that the operation's own error is what the caller hears.
    fn status_after(&self, before: &SystemStatus) -> SystemStatus {
        self.status().unwrap_or_else(|err| {
            tracing::warn!("no status after the operation: {err}");
            before.clone()
        })
    }

    /// The request's method call on the host route: its transaction address.
    pub(super) fn call(&self, op: &Op) -> zbus::Result<String> {
        let os = &self.os;
        match op {
            Op::Check => {
                let (_, address) = os.automatic_update_trigger(options(&[
                    ("mode", Value::from("check")),
                    ("output-to-self", Value::from(false)),
                ]))?;
                Ok(address)
            }
            // A plain upgrade is `Upgrade({})`, as other clients ask for it, so that the same
            // request from two programs is one transaction (rpm-ostreed joins only equal calls).
            Op::Upgrade {
                download_only: true,
            } => os.upgrade(options(&[("download-only", Value::from(true))])),
            Op::Upgrade { .. } => os.upgrade(options(&[])),
            Op::Rollback => os.rollback(options(&[])),
            Op::Install(p) => os.update_deployment(
                options(&[("install-packages", Value::from(p.clone()))]),
                options(&[
                    ("no-pull-base", Value::from(true)),
                    ("idempotent-layering", Value::from(true)),
                    ("allow-inactive", Value::from(true)),
                ]),
            ),
            Op::Uninstall(p) => os.update_deployment(
                options(&[("uninstall-packages", Value::from(p.clone()))]),
                options(&[("no-pull-base", Value::from(true))]),
            ),
            Op::Reset => os.update_deployment(
                options(&[]),
                options(&[
                    ("no-pull-base", Value::from(true)),
                    ("no-layering", Value::from(true)),
                ]),
            ),
            Op::Cleanup(what) => {
                let mut elements = Vec::new();
                if what.pending {
                    elements.push("pending-deploy");
                }
                if what.rollback {
                    elements.push("rollback-deploy");
                }
                if what.repo {
                    elements.extend(["base", "repomd"]);
                }
                os.cleanup(&elements)
            }
        }
    }

    /// Appends to Keel's history; a failure to write it is only logged.
    fn record(
        &self,
        operation: Operation,
        before: &SystemStatus,
        after: &SystemStatus,
        result: &Result<String>,
    ) {
        let version = |s: &SystemStatus| s.deployments.first().and_then(|d| d.version.clone());
        let (from, to) = (version(before), version(after));
        let entry = HistoryEntry {
            time: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            operation,
            to_version: (to != from).then_some(to).flatten(),
            from_version: from,
            success: result.is_ok(),
            message: match result {
                Ok(m) => m.clone(),
                Err(e) => e.message().to_owned(),
            },
            diff: None,
        };
        if let Err(err) = history::append(&self.history_path, &entry) {
            tracing::warn!("could not write the history journal: {err}");
        }
    }
}

/// The space a cleanup reports freeing: rpm-ostree says `Freed: 12.3 MB (…)`, in SI units.
pub(super) fn freed_bytes(text: &str) -> u64 {
    let Some(rest) = text.split("Freed:").nth(1) else {
        return 0;
    };
    let mut words = rest.split_whitespace();
    let (Some(number), Some(unit)) = (words.next(), words.next()) else {
        return 0;
    };
    let Ok(number) = number.parse::<f64>() else {
        return 0;
    };
    let scale = match unit.trim_end_matches([',', ')']) {
        "kB" | "KB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "TB" => 1e12,
        _ => 1.0,
    };
    (number * scale) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_commands_are_the_agreed_argument_lists() {
        let cases = [
            (Op::Check, "upgrade --check"),
            (
                Op::Upgrade {
                    download_only: true,
                },
                "upgrade --download-only",
            ),
            (
                Op::Upgrade {
                    download_only: false,
                },
                "upgrade",
            ),
            (Op::Rollback, "rollback"),
            (
                Op::Install(vec!["htop".into(), "fish".into()]),
                "install --idempotent --allow-inactive htop fish",
            ),
            (Op::Uninstall(vec!["htop".into()]), "uninstall htop"),
            (Op::Reset, "uninstall --all"),
            (
                Op::Cleanup(CleanupSet {
                    pending: true,
                    rollback: true,
                    repo: false,
                }),
                "cleanup -p -r",
            ),
        ];
        for (op, line) in cases {
            assert_eq!(op.command().join(" "), line);
        }
    }

    #[test]
    fn freed_space_is_read_from_rpm_ostree_s_words() {
        assert_eq!(
            freed_bytes("Freed: 12.5 MB (pkgcache branches: 0)"),
            12_500_000
        );
        assert_eq!(freed_bytes("Deployments unchanged.\nFreed: 3 kB"), 3_000);
        assert_eq!(freed_bytes("Nothing here"), 0);
    }
}
