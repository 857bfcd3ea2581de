//! The Sysroot object (the OS object is in `os.rs`), the errors and option helpers both use, with
//! the real interface's names, signatures and argument names
//! (rpm-ostree's `src/daemon/org.projectatomic.rpmostree1.xml`), under an ObjectManager at
//! `/org/projectatomic/rpmostree1` as rpm-ostreed has it.

use std::collections::HashMap;
use std::sync::Arc;

use zbus::message::Header;
use zbus::zvariant::{OwnedObjectPath, OwnedValue};

use super::os::{OsExperimentalIface, OsIface};
use super::state::Fail;
use super::{BASE_PATH, Daemon, active_values, gv};

pub const SYSROOT_PATH: &str = "/org/projectatomic/rpmostree1/Sysroot";
pub const SYSROOT_INTERFACE: &str = "org.projectatomic.rpmostree1.Sysroot";
pub const OS_INTERFACE: &str = "org.projectatomic.rpmostree1.OS";

pub(super) type Options = HashMap<String, OwnedValue>;

/// The errors rpm-ostreed sends: GLib errors without a D-Bus name (GDBus's "unmapped" names,
/// `…Quark._g_2dio_2derror_2dquark.CodeN` for GIO error N) and GDBus's own.
#[derive(Debug, zbus::DBusError)]
#[zbus(prefix = "org")]
pub enum DoubleError {
    #[zbus(error)]
    ZBus(zbus::Error),
    /// `G_IO_ERROR_FAILED`.
    #[zbus(name = "gtk.GDBus.UnmappedGError.Quark._g_2dio_2derror_2dquark.Code0")]
    Failed(String),
    /// `G_IO_ERROR_BUSY`: another transaction is active.
    #[zbus(name = "gtk.GDBus.UnmappedGError.Quark._g_2dio_2derror_2dquark.Code26")]
    Busy(String),
    /// What polkit's refusal becomes.
    #[zbus(name = "freedesktop.DBus.Error.AccessDenied")]
    AccessDenied(String),
    #[zbus(name = "freedesktop.DBus.Error.InvalidArgs")]
    InvalidArgs(String),
}

impl DoubleError {
    pub fn failed(message: impl Into<String>) -> Self {
        Self::Failed(message.into())
    }

    pub fn busy(title: &str) -> Self {
        Self::Busy(format!(
            "Transaction in progress: {title}\n You can cancel the current transaction with `rpm-ostree cancel`"
        ))
    }
}

impl From<Fail> for DoubleError {
    fn from(fail: Fail) -> Self {
        Self::Failed(fail.message)
    }
}

/// Named `Result` so that zbus's interface macro sees the error type.
pub(super) type Result<T> = std::result::Result<T, DoubleError>;

pub async fn serve(daemon: &Arc<Daemon>) -> zbus::Result<()> {
    let server = daemon.bus.object_server();
    server.at(BASE_PATH, zbus::fdo::ObjectManager).await?;
    server
        .at(
            SYSROOT_PATH,
            SysrootIface {
                daemon: daemon.clone(),
            },
        )
        .await?;
    let os = daemon.os_path();
    server.at(os.as_str(), OsIface::new(daemon)).await?;
    server.at(os.as_str(), OsExperimentalIface).await?;
    Ok(())
}

/// Polkit's answer for a method that needs it (the `--deny-authorization` hook refuses all).
pub(super) fn authorize(daemon: &Daemon, object: &str, method: &str) -> Result<()> {
    if daemon.hooks.deny_authorization {
        return Err(DoubleError::AccessDenied(format!(
            "rpmostreed {object} operation {method} not allowed for user"
        )));
    }
    Ok(())
}

pub(super) fn sender(header: &Header<'_>) -> String {
    header.sender().map(|s| s.to_string()).unwrap_or_default()
}

pub(super) fn bool_option(options: &Options, key: &str) -> bool {
    options
        .get(key)
        .and_then(|v| bool::try_from(v).ok())
        .unwrap_or(false)
}

pub(super) fn string_option(options: &Options, key: &str) -> Option<String> {
    options
        .get(key)
        .and_then(|v| String::try_from(v.clone()).ok())
}

pub(super) fn strv_option(options: &Options, key: &str) -> Option<Vec<String>> {
    options
        .get(key)
        .and_then(|v| <Vec<String>>::try_from(v.clone()).ok())
}

/// A stable text of a method's arguments: an identical call joins the active transaction.
pub(super) fn arguments_key(parts: &[String]) -> String {
    parts.join("\u{1f}")
}

pub(super) fn options_key(options: &Options) -> String {
    let mut entries: Vec<String> = options.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    entries.sort();
    entries.join(",")
}

pub struct SysrootIface {
    daemon: Arc<Daemon>,
}

#[zbus::interface(name = "org.projectatomic.rpmostree1.Sysroot")]
impl SysrootIface {
    #[zbus(property)]
    fn booted(&self) -> OwnedObjectPath {
        let path = if self.daemon.snapshot().booted.n_children() > 0 {
            self.daemon.os_path()
        } else {
            "/".to_owned()
        };
        OwnedObjectPath::try_from(path).expect("a valid object path")
    }

    #[zbus(property)]
    fn path(&self) -> String {
        self.daemon.sysroot_path()
    }

    #[zbus(property)]
    fn active_transaction(&self) -> (String, String, String) {
        active_values(self.daemon.active().as_deref()).1
    }

    #[zbus(property)]
    fn active_transaction_path(&self) -> String {
        active_values(self.daemon.active().as_deref()).0
    }

    #[zbus(property)]
    fn automatic_update_policy(&self) -> String {
        self.daemon.options.automatic_update_policy.clone()
    }

    #[zbus(property)]
    fn deployments(&self) -> Vec<HashMap<String, OwnedValue>> {
        self.daemon
            .snapshot()
            .deployments
            .iter()
            .map(gv::vardict)
            .collect()
    }

    fn register_client(&self, options: Options, #[zbus(header)] header: Header<'_>) {
        let id = string_option(&options, "id").unwrap_or_default();
        self.daemon.clients().insert(sender(&header), id);
    }

    fn unregister_client(&self, options: Options, #[zbus(header)] header: Header<'_>) {
        let _ = options;
        self.daemon.clients().remove(&sender(&header));
    }

    async fn reload(&self) -> Result<()> {
        let daemon = self.daemon.clone();
        daemon.backend(|b| b.reload()).await?;
        let refreshed = self.daemon.clone();
        let (tx, rx) = async_channel::bounded(1);
        std::thread::spawn(move || {
            refreshed.refresh();
            let _ = tx.send_blocking(());
        });
        let _ = rx.recv().await;
        Ok(())
    }

    async fn reload_config(&self) -> Result<()> {
        authorize(&self.daemon, "Sysroot", "ReloadConfig")?;
        self.reload().await
    }

    #[zbus(name = "GetOS", out_args("object_path"))]
    fn get_os(&self, name: &str) -> Result<OwnedObjectPath> {
        let osname = self.daemon.snapshot().osname.clone();
        if !name.is_empty() && name != osname {
            return Err(DoubleError::failed(format!("OS name {name} not found")));
        }
        Ok(OwnedObjectPath::try_from(super::os_path(&osname)).expect("a valid object path"))
    }
}
