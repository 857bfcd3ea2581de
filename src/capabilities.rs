//! What the window offers, decided from what the system's driver says it can do (the status's
//! capabilities) and where each deployment stands. Pure functions, so the choices are tested here
//! and the pages only show or hide what these return: a control the driver cannot carry out is
//! not shown, rather than shown and failing.

use keel_api::model::{Capabilities, Deployment, SystemStatus};

use crate::pages::system::Action;

/// The menu of one deployment's row, in the order it lists them.
pub fn deployment_actions(capabilities: &Capabilities, d: &Deployment) -> Vec<Action> {
    let mut actions = Vec::new();
    // A staged deployment is written at shutdown; there is nothing to pin yet.
    if capabilities.can_pin && !d.staged {
        actions.push(if d.pinned { Action::Unpin } else { Action::Pin });
    }
    if d.index != 0 {
        actions.push(Action::BootNext);
    }
    if !d.booted {
        actions.push(Action::Compare);
    }
    if capabilities.can_config_diff {
        actions.push(Action::ConfigDiff);
    }
    if capabilities.can_cleanup && !d.booted && !d.pinned {
        actions.push(Action::Remove);
    }
    actions
}

/// The deployment a restart would start, when one waits for it: the next boot's, if it is
/// pending and the driver's changes take effect only after a restart.
pub fn restart_to_use(status: &SystemStatus) -> Option<&Deployment> {
    if !status.capabilities.update_needs_restart {
        return None;
    }
    status.deployments.first().filter(|d| d.pending)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Capabilities {
        Capabilities {
            can_layer: true,
            can_pin: true,
            can_config_diff: true,
            can_cleanup: true,
            update_needs_restart: true,
            can_reboot: true,
        }
    }

    fn deployment(index: u32, booted: bool, pinned: bool) -> Deployment {
        Deployment {
            id: format!("os-{index}"),
            index,
            booted,
            pinned,
            ..Default::default()
        }
    }

    #[test]
    fn a_driver_that_can_do_everything_offers_everything_that_applies() {
        let caps = all();
        assert_eq!(
            deployment_actions(&caps, &deployment(1, false, false)),
            [
                Action::Pin,
                Action::BootNext,
                Action::Compare,
                Action::ConfigDiff,
                Action::Remove
            ]
        );
        // The booted deployment cannot be removed, a pinned one is unpinned first.
        assert_eq!(
            deployment_actions(&caps, &deployment(0, true, true)),
            [Action::Unpin, Action::ConfigDiff]
        );
        let staged = Deployment {
            staged: true,
            ..deployment(0, false, false)
        };
        assert_eq!(
            deployment_actions(&caps, &staged),
            [Action::Compare, Action::ConfigDiff, Action::Remove]
        );
    }

    #[test]
    fn what_the_driver_cannot_do_is_not_offered() {
        let d = deployment(1, false, true);
        let no_pin = Capabilities {
            can_pin: false,
            ..all()
        };
        assert!(!deployment_actions(&no_pin, &d).contains(&Action::Unpin));
        let no_config = Capabilities {
            can_config_diff: false,
            ..all()
        };
        assert!(!deployment_actions(&no_config, &d).contains(&Action::ConfigDiff));
        let no_cleanup = Capabilities {
            can_cleanup: false,
            ..all()
        };
        let unpinned = deployment(1, false, false);
        assert!(!deployment_actions(&no_cleanup, &unpinned).contains(&Action::Remove));
        assert_eq!(
            deployment_actions(&Capabilities::default(), &unpinned),
            [Action::BootNext, Action::Compare]
        );
    }

    #[test]
    fn a_restart_is_asked_for_only_when_the_driver_needs_one() {
        let mut status = SystemStatus {
            deployments: vec![
                Deployment {
                    pending: true,
                    ..deployment(0, false, false)
                },
                deployment(1, true, false),
            ],
            capabilities: all(),
            ..Default::default()
        };
        assert_eq!(restart_to_use(&status).map(|d| d.index), Some(0));
        status.capabilities.update_needs_restart = false;
        assert!(restart_to_use(&status).is_none());
        status.capabilities.update_needs_restart = true;
        status.deployments[0].pending = false;
        assert!(restart_to_use(&status).is_none());
    }
}
