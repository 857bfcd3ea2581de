//! Pin, unpin and remove: rpm-ostreed offers no call for them, so `ostree admin pin [-u] N` and
//! `ostree admin undeploy N` run through pkexec (which asks polkit), through `flatpak-spawn
//! --host` in the sandbox. N is the deployment's place in boot order, read again right before the
//! call and checked against its checksum, since the list may have changed since the request.

use super::sandbox::{command_error, host_command, spawn};
use super::{RpmOstreeDriver, bus_error, status};
use crate::driver::{self, Cancel, SystemDriver};
use crate::error::{Error, Result};
use crate::model::Deployment;
use keel_api::i18n::{fill, gettext};

/// pkexec's exit statuses when authorisation was refused or the dialog dismissed.
const PKEXEC_REFUSED: [i32; 2] = [126, 127];

impl RpmOstreeDriver {
    pub(super) fn pin_op(&self, deployment: &str, pinned: bool) -> Result<Deployment> {
        let d = driver::resolve(&self.status()?, deployment)?.clone();
        if d.staged {
            return Err(Error::InvalidArgument(gettext(
                "A staged deployment cannot be pinned; restart into it first.",
            )));
        }
        let (action, verb) = if pinned {
            (gettext("Pinning"), vec!["pin"])
        } else {
            (gettext("Unpinning"), vec!["pin", "--unpin"])
        };
        self.admin(&d, &action, &verb)?;
        self.status()?
            .deployments
            .into_iter()
            .find(|x| x.id == d.id)
            .ok_or_else(|| Error::Failed(gettext("The deployment has gone.")))
    }

    pub(super) fn remove_op(&self, deployment: &str) -> Result<u64> {
        let d = driver::resolve(&self.status()?, deployment)?.clone();
        if d.booted || d.pinned {
            return Err(Error::InvalidArgument(gettext(
                "The booted deployment and pinned deployments cannot be removed; unpin it first.",
            )));
        }
        self.admin(&d, &gettext("Removing a deployment"), &["undeploy"])?;
        // ostree does not say what it freed.
        Ok(0)
    }

    /// `ostree admin VERB… N` for one deployment, by its place in the list as it is now.
    fn admin(&self, d: &Deployment, action: &str, verb: &[&str]) -> Result<()> {
        let now = status::deployments(&self.sysroot.deployments().map_err(bus_error)?);
        let index = now
            .iter()
            .position(|x| x.id == d.id && x.checksum == d.checksum)
            .ok_or_else(|| {
                Error::NotFound(fill(
                    // Translators: {deployment} is a version or a checksum.
                    &gettext("{deployment} is no longer there; nothing was changed."),
                    &[("deployment", &driver::name(d))],
                ))
            })?;
        let mut args: Vec<String> = ["ostree", "admin"].iter().map(|s| s.to_string()).collect();
        args.extend(verb.iter().map(|s| s.to_string()));
        if self.path != std::path::Path::new("/") {
            args.push(format!("--sysroot={}", self.path.display()));
        }
        args.push(index.to_string());
        tracing::info!(
            "{action} {} (index {index}) by the {:?} route",
            d.id,
            self.route
        );
        let argv = host_command(self.route, "pkexec", &args);
        let ran = spawn(&argv, |_| {})?;
        self.refresh();
        match ran.code {
            0 => Ok(()),
            code if PKEXEC_REFUSED.contains(&code) => Err(super::host::refused(action)),
            _ => Err(command_error(self, action, &ran, &Cancel::default())),
        }
    }
}
