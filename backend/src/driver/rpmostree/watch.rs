//! Following rpm-ostreed: every PropertiesChanged it sends, and its restarts (NameOwnerChanged),
//! bump a generation number the driver compares, so a status is read again only after a change.
//! A restarted daemon forgets its clients: Keel registers again, so it does not idle-exit under us.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use zbus::MatchRule;
use zbus::blocking::{Connection, MessageIterator};

use super::proxy::{BUS_NAME, Options, SysrootProxy};
use crate::error::{Error, Result};

/// Starts the two listeners; they live as long as the connection.
pub(super) fn start(conn: &Connection, generation: Arc<AtomicU64>) -> Result<()> {
    // By path, not by sender: a rule naming the well-known sender is tied to the owner it had
    // when it was made, so after a restart the new daemon's changes went unheard.
    let changes = MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .path_namespace("/org/projectatomic/rpmostree1")
        .and_then(|b| b.interface("org.freedesktop.DBus.Properties"))
        .and_then(|b| b.member("PropertiesChanged"))
        .map(|b| b.build())
        .map_err(|e| Error::Failed(e.to_string()))?;
    let owner = MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .sender("org.freedesktop.DBus")
        .and_then(|b| b.interface("org.freedesktop.DBus"))
        .and_then(|b| b.member("NameOwnerChanged"))
        .and_then(|b| b.arg(0, BUS_NAME))
        .map(|b| b.build())
        .map_err(|e| Error::Failed(e.to_string()))?;
    let changes = MessageIterator::for_match_rule(changes, conn, Some(64))
        .map_err(|e| Error::Failed(e.to_string()))?;
    let owners = MessageIterator::for_match_rule(owner, conn, Some(16))
        .map_err(|e| Error::Failed(e.to_string()))?;
    let bump = generation.clone();
    std::thread::Builder::new()
        .name("keel-rpmostree-changes".to_owned())
        .spawn(move || {
            for _ in changes {
                bump.fetch_add(1, Ordering::SeqCst);
            }
        })?;
    let conn = conn.clone();
    std::thread::Builder::new()
        .name("keel-rpmostree-owner".to_owned())
        .spawn(move || {
            for message in owners.flatten() {
                generation.fetch_add(1, Ordering::SeqCst);
                let new_owner = message
                    .body()
                    .deserialize::<(String, String, String)>()
                    .map(|(_, _, new)| new)
                    .unwrap_or_default();
                if new_owner.is_empty() {
                    tracing::warn!("rpm-ostreed left the system bus");
                } else {
                    tracing::info!("rpm-ostreed (re)started as {new_owner}");
                    if let Ok(sysroot) = SysrootProxy::new(&conn) {
                        register(&sysroot);
                    }
                }
            }
        })?;
    Ok(())
}

/// Tells rpm-ostreed a client is watching, so it stays up between transactions.
pub(super) fn register(sysroot: &SysrootProxy<'_>) {
    let options: Options<'_> = [("id", "keel".into())].into_iter().collect();
    if let Err(err) = sysroot.register_client(options) {
        tracing::warn!("rpm-ostreed did not register Keel as a client: {err}");
    }
}
