//! Work on the whole workstation, as the service's writer and the command line both run it: the
//! operations on the Flatpak apps, and Update All (the system through its driver, then the apps).
//! Each is performed, then recorded in the system's history beside the system's own operations,
//! so the History page tells everything done to the computer.

use crate::apps::{self, Flatpak, Installations};
use crate::driver::{Cancel, SystemDriver, UpdateOutcome};
use crate::error::{Error, Result};
use crate::model::HistoryEntry;
use crate::progress::Phases;
use keel_api::Operation;
use keel_api::apps::App;
use keel_api::i18n::{fill, gettext};

/// The share of Update All's progress the system takes; the apps take the rest.
pub const SYSTEM_SHARE: f64 = 0.6;
/// The share of the system's part its check takes (a download of commit metadata only).
const CHECK_SHARE: f64 = 0.15;

/// An operation on the Flatpak apps, as a client asked for it; two equal jobs are the same
/// transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppsJob {
    /// Ask the remotes which apps and runtimes have updates.
    Check,
    /// Update these keys (`INSTALLATION:REF`); none = everything with an update.
    Update { keys: Vec<String> },
    /// Uninstall these keys; `delete_data` also deletes the apps' data in ~/.var/app.
    Uninstall {
        keys: Vec<String>,
        delete_data: bool,
    },
    /// Uninstall the runtimes no installed app uses.
    RemoveUnused,
}

impl AppsJob {
    pub fn operation(&self) -> Operation {
        match self {
            AppsJob::Check => Operation::AppsCheck,
            AppsJob::Update { .. } => Operation::AppsUpdate,
            AppsJob::Uninstall { .. } => Operation::AppsUninstall,
            AppsJob::RemoveUnused => Operation::AppsRemoveUnused,
        }
    }
}

/// The installed apps and runtimes; none where Keel uses no installation (a test sysroot).
pub fn list(installations: Option<&Installations>) -> Result<Vec<App>> {
    installations.map_or(Ok(Vec::new()), apps::list)
}

/// Runs one operation on the apps; on success, a sentence saying what was done. `flatpak` is
/// None where Keel uses no installation.
pub fn run_apps(
    system: &dyn SystemDriver,
    flatpak: Option<&Flatpak>,
    job: &AppsJob,
    phases: &Phases,
    cancel: &Cancel,
) -> Result<String> {
    let Some(flatpak) = flatpak else {
        return Err(Error::NotFound(no_installation()));
    };
    let result = match job {
        AppsJob::Check => flatpak.check(phases, cancel),
        AppsJob::Update { keys } => flatpak.update(keys, phases, cancel),
        AppsJob::Uninstall { keys, delete_data } => {
            flatpak.uninstall(keys, *delete_data, phases, cancel)
        }
        AppsJob::RemoveUnused => flatpak.remove_unused(phases, cancel),
    };
    // A check changes nothing; like the system's own check, it is no history.
    if *job != AppsJob::Check {
        record(system, job.operation(), None, None, &result);
    }
    result
}

/// Update All: checks and updates the system through its driver (the first [`SYSTEM_SHARE`] of
/// the progress), then updates every app and runtime with an update (the rest). A failure of the
/// system does not stop the apps; the sentence says what happened to each part, and the error
/// (when a part failed) is of the first part that failed.
pub fn update_all(
    system: &dyn SystemDriver,
    flatpak: Option<&Flatpak>,
    phases: &Phases,
    cancel: &Cancel,
) -> Result<String> {
    let from = booted_version(system);
    let os = update_system(system, &phases.within(0.0, SYSTEM_SHARE), cancel);
    let to = match &os {
        Ok(Some(UpdateOutcome::Deployed { version, .. })) => version.clone(),
        _ => None,
    };
    let os = os.map(|outcome| outcome.unwrap_or(UpdateOutcome::UpToDate).message());
    let apps = if matches!(os, Err(Error::Cancelled(_))) {
        // Cancelled while the system updated: the apps are not started at all.
        Err(Error::Cancelled(gettext(
            "The apps were not updated: Update All was cancelled.",
        )))
    } else if let Some(flatpak) = flatpak {
        flatpak.update(&[], &phases.within(SYSTEM_SHARE, 1.0), cancel)
    } else {
        Ok(no_installation())
    };
    let result = both_parts(os, apps);
    record(system, Operation::UpdateAll, from, to, &result);
    result
}

/// Checks the system and, when an update waits, deploys it; None when the check found none.
fn update_system(
    system: &dyn SystemDriver,
    phases: &Phases,
    cancel: &Cancel,
) -> Result<Option<UpdateOutcome>> {
    if system
        .check(&phases.within(0.0, CHECK_SHARE), cancel)?
        .is_none()
    {
        return Ok(None);
    }
    system
        .update(false, &phases.within(CHECK_SHARE, 1.0), cancel)
        .map(Some)
}

/// One sentence for the two parts of Update All; an error of the first part that failed.
fn both_parts(os: Result<String>, apps: Result<String>) -> Result<String> {
    let os_text = match &os {
        Ok(text) => text.clone(),
        Err(err) => fill(
            // Translators: the system part of Update All failed; {reason} says why.
            &gettext("The system was not updated: {reason}"),
            &[("reason", err.message())],
        ),
    };
    let apps_text = match &apps {
        Ok(text) => text.clone(),
        Err(Error::Cancelled(text)) => text.clone(),
        Err(err) => fill(
            // Translators: the apps part of Update All failed; {reason} says why.
            &gettext("The apps were not updated: {reason}"),
            &[("reason", err.message())],
        ),
    };
    let text = fill(
        // Translators: the result of Update All: {system} says what happened to the system,
        // {apps} to the apps; both are whole sentences.
        &gettext("{system} {apps}"),
        &[("system", &os_text), ("apps", &apps_text)],
    );
    match (os, apps) {
        (Ok(_), Ok(_)) => Ok(text),
        (Err(err), _) | (Ok(_), Err(err)) => Err(err.with_message(text)),
    }
}

fn no_installation() -> String {
    // Translators: said where Keel shows no Flatpak apps (a test system).
    gettext("Keel uses no Flatpak installation on this system, so there are no apps to change.")
}

fn booted_version(system: &dyn SystemDriver) -> Option<String> {
    let status = system.status().ok()?;
    status.booted()?.version.clone()
}

/// Appends an operation to the system's history. The history is a record, not part of the
/// operation: failing to write it does not fail what was done.
fn record(
    system: &dyn SystemDriver,
    operation: Operation,
    from_version: Option<String>,
    to_version: Option<String>,
    result: &Result<String>,
) {
    let (success, message) = match result {
        Ok(text) => (true, text.clone()),
        Err(err) => (false, err.message().to_owned()),
    };
    let time = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let entry = HistoryEntry {
        time,
        operation,
        from_version,
        to_version,
        success,
        message,
        diff: None,
    };
    if let Err(err) = system.record(&entry) {
        tracing::warn!("could not write the history journal: {err}");
    }
}

/// The keys of the installed entries a person names: a key (`INSTALLATION:REF`), or a ref or an
/// app id that names exactly one installed entry. Anything else is refused, listing the keys that
/// would have done.
pub fn resolve_keys(apps: &[App], specs: &[String]) -> Result<Vec<String>> {
    specs.iter().map(|spec| resolve_key(apps, spec)).collect()
}

fn resolve_key(apps: &[App], spec: &str) -> Result<String> {
    if apps.iter().any(|a| a.key == spec) {
        return Ok(spec.to_owned());
    }
    let matches: Vec<&App> = {
        let by_ref: Vec<&App> = apps.iter().filter(|a| a.reference == spec).collect();
        if by_ref.is_empty() {
            apps.iter().filter(|a| a.id == spec).collect()
        } else {
            by_ref
        }
    };
    match matches.as_slice() {
        [one] => Ok(one.key.clone()),
        [] => Err(Error::NotFound(fill(
            // Translators: {name} is what was given; `apps list` is a command, keep it.
            &gettext(
                "No installed app or runtime is “{name}”; `apps list` shows what is installed.",
            ),
            &[("name", spec)],
        ))),
        several => {
            let keys: Vec<&str> = several.iter().map(|a| a.key.as_str()).collect();
            Err(Error::InvalidArgument(fill(
                // Translators: {name} is what was given, {keys} the entries it could mean.
                &gettext("“{name}” could mean any of {keys}; give one of them."),
                &[("name", spec), ("keys", &keys.join(", "))],
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(installation: &str, reference: &str) -> App {
        let id = reference.split('/').nth(1).unwrap_or_default().to_owned();
        App {
            key: format!("{installation}:{reference}"),
            reference: reference.to_owned(),
            id,
            installation: installation.to_owned(),
            ..Default::default()
        }
    }

    #[test]
    fn people_name_entries_by_key_ref_or_id_when_it_is_unambiguous() {
        let apps = [
            app("user", "app/org.test.Hello/x86_64/master"),
            app("system", "app/org.test.Hello/x86_64/master"),
            app("user", "app/org.test.Other/x86_64/master"),
            app("user", "app/org.test.Other/x86_64/beta"),
            app("user", "runtime/org.test.Platform/x86_64/master"),
        ];
        let keys = |specs: &[&str]| {
            resolve_keys(
                &apps,
                &specs.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            )
        };
        assert_eq!(
            keys(&[
                "system:app/org.test.Hello/x86_64/master",
                "app/org.test.Other/x86_64/beta",
                "org.test.Platform",
            ])
            .unwrap(),
            [
                "system:app/org.test.Hello/x86_64/master",
                "user:app/org.test.Other/x86_64/beta",
                "user:runtime/org.test.Platform/x86_64/master",
            ]
        );
        // In two installations, or on two branches: the person must say which.
        for spec in ["app/org.test.Hello/x86_64/master", "org.test.Other"] {
            let err = keys(&[spec]).unwrap_err();
            assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
            assert!(err.message().contains(":app/org.test."), "{err}");
        }
        let err = keys(&["org.test.Missing"]).unwrap_err();
        assert!(matches!(err, Error::NotFound(_)), "{err:?}");
    }

    #[test]
    fn update_all_says_what_happened_to_each_part() {
        let os_failed = both_parts(
            Err(Error::Failed("The update server cannot be reached.".into())),
            Ok("1 app updated.".into()),
        )
        .unwrap_err();
        assert!(matches!(os_failed, Error::Failed(_)));
        assert!(
            os_failed.message().contains("cannot be reached")
                && os_failed.message().ends_with("1 app updated."),
            "{os_failed}"
        );
        let denied = both_parts(
            Ok("The system is up to date.".into()),
            Err(Error::PermissionDenied("Not allowed.".into())),
        )
        .unwrap_err();
        assert!(matches!(denied, Error::PermissionDenied(_)), "{denied:?}");
        assert!(denied.message().starts_with("The system is up to date."));
        let fine = both_parts(Ok("A.".into()), Ok("B.".into())).unwrap();
        assert_eq!(fine, "A. B.");
    }
}
