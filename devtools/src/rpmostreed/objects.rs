//! The Sysroot and OS objects, with the real interface's names, signatures and argument names
//! (rpm-ostree's `src/daemon/org.projectatomic.rpmostree1.xml`), under an ObjectManager at
//! `/org/projectatomic/rpmostree1` as rpm-ostreed has it.

use std::collections::HashMap;
use std::sync::Arc;

use ostree::glib;
use zbus::message::Header;
use zbus::zvariant::{OwnedObjectPath, OwnedValue};

use super::state::{Fail, Res, method_rpm_diff, origin_refspec};
use super::transaction::{NewTxn, Operation};
use super::{BASE_PATH, Daemon, active_values, gv};

pub const SYSROOT_PATH: &str = "/org/projectatomic/rpmostree1/Sysroot";
pub const SYSROOT_INTERFACE: &str = "org.projectatomic.rpmostree1.Sysroot";
pub const OS_INTERFACE: &str = "org.projectatomic.rpmostree1.OS";

type Options = HashMap<String, OwnedValue>;
type RpmDiff = Vec<(String, u32, HashMap<String, OwnedValue>)>;

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
type Result<T> = std::result::Result<T, DoubleError>;

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
    server
        .at(
            os.as_str(),
            OsIface {
                daemon: daemon.clone(),
            },
        )
        .await?;
    server.at(os.as_str(), OsExperimentalIface).await?;
    Ok(())
}

/// Polkit's answer for a method that needs it (the `--deny-authorization` hook refuses all).
fn authorize(daemon: &Daemon, object: &str, method: &str) -> Result<()> {
    if daemon.hooks.deny_authorization {
        return Err(DoubleError::AccessDenied(format!(
            "rpmostreed {object} operation {method} not allowed for user"
        )));
    }
    Ok(())
}

fn sender(header: &Header<'_>) -> String {
    header.sender().map(|s| s.to_string()).unwrap_or_default()
}

fn bool_option(options: &Options, key: &str) -> bool {
    options
        .get(key)
        .and_then(|v| bool::try_from(v).ok())
        .unwrap_or(false)
}

fn string_option(options: &Options, key: &str) -> Option<String> {
    options
        .get(key)
        .and_then(|v| String::try_from(v.clone()).ok())
}

fn strv_option(options: &Options, key: &str) -> Option<Vec<String>> {
    options
        .get(key)
        .and_then(|v| <Vec<String>>::try_from(v.clone()).ok())
}

/// A stable text of a method's arguments: an identical call joins the active transaction.
fn arguments_key(parts: &[String]) -> String {
    parts.join("\u{1f}")
}

fn options_key(options: &Options) -> String {
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

pub struct OsIface {
    daemon: Arc<Daemon>,
}

impl OsIface {
    /// Starts (or joins) a transaction for a method call.
    async fn transaction(
        &self,
        header: &Header<'_>,
        method: &str,
        arguments: String,
        operation: Operation,
        titles: (&str, String),
    ) -> Result<String> {
        let sender = sender(header);
        let id = self.daemon.clients().get(&sender).cloned();
        let uid = match header.sender() {
            Some(name) => zbus::fdo::DBusProxy::new(&self.daemon.bus)
                .await?
                .get_connection_unix_user(name.clone().into())
                .await
                .unwrap_or(0),
            None => 0,
        };
        let bus_name = sender.trim_start_matches(':');
        let client_description = match id {
            Some(id) => format!("client(id:{id} dbus:{bus_name} uid:{uid})"),
            None => format!("client(dbus:{bus_name} uid:{uid})"),
        };
        self.daemon.begin(NewTxn {
            method: method.to_owned(),
            arguments,
            sender,
            os_path: self.daemon.os_path(),
            operation,
            title: titles.0.to_owned(),
            start_title: titles.1,
            client_description,
        })
    }

    /// The deploy-type transaction of Upgrade, AutomaticUpdateTrigger, PkgChange and
    /// UpdateDeployment: `new-deployment` until Start, then the command line or a title made of
    /// what it does (rpm-ostreed's `deploy_transaction_execute`).
    async fn deploy_transaction(
        &self,
        header: &Header<'_>,
        method: &str,
        arguments: String,
        operation: Operation,
        options: &Options,
    ) -> Result<String> {
        let title = string_option(options, "initiating-command-line").unwrap_or_else(|| {
            let base = match &operation {
                Operation::Packages { install, .. } if !install.is_empty() => "install",
                Operation::Packages { uninstall, .. } if !uninstall.is_empty() => "uninstall",
                _ => "upgrade",
            };
            let suffix = match &operation {
                Operation::Check => " (check only)",
                Operation::Upgrade {
                    download_only: true,
                } => " (download only)",
                _ if bool_option(options, "cache-only") => " (cache only)",
                _ => "",
            };
            let mut title = format!("{base}{suffix}");
            if let Operation::Packages { uninstall, .. } = &operation
                && !uninstall.is_empty()
            {
                title.push_str(&format!("; uninstall: {}", uninstall.len()));
            }
            title
        });
        self.transaction(
            header,
            method,
            arguments,
            operation,
            ("new-deployment", title),
        )
        .await
    }

    fn unsupported(&self, method: &str) -> DoubleError {
        DoubleError::failed(format!(
            "{method} is not implemented by Keel's rpm-ostreed test double"
        ))
    }
}

#[zbus::interface(name = "org.projectatomic.rpmostree1.OS")]
impl OsIface {
    #[zbus(property)]
    fn booted_deployment(&self) -> HashMap<String, OwnedValue> {
        gv::vardict(&self.daemon.snapshot().booted)
    }

    #[zbus(property)]
    fn default_deployment(&self) -> HashMap<String, OwnedValue> {
        gv::vardict(&self.daemon.snapshot().default)
    }

    #[zbus(property)]
    fn rollback_deployment(&self) -> HashMap<String, OwnedValue> {
        gv::vardict(&self.daemon.snapshot().rollback)
    }

    #[zbus(property)]
    fn cached_update(&self) -> HashMap<String, OwnedValue> {
        gv::vardict(&self.daemon.snapshot().cached_update)
    }

    #[zbus(property)]
    fn has_cached_update_rpm_diff(&self) -> bool {
        self.daemon.snapshot().has_cached_update()
    }

    #[zbus(property)]
    fn name(&self) -> String {
        self.daemon.snapshot().osname.clone()
    }

    #[zbus(out_args("enabled", "transaction_address"))]
    async fn automatic_update_trigger(
        &self,
        options: Options,
        #[zbus(header)] header: Header<'_>,
    ) -> Result<(bool, String)> {
        authorize(&self.daemon, "OS", "AutomaticUpdateTrigger")?;
        let policy = self.daemon.options.automatic_update_policy.clone();
        let mode = string_option(&options, "mode").unwrap_or_else(|| "auto".to_owned());
        let mode = if mode == "auto" { policy } else { mode };
        let operation = match mode.as_str() {
            "none" => return Ok((false, String::new())),
            "check" => Operation::Check,
            "stage" | "apply" => Operation::Upgrade {
                download_only: false,
            },
            other => {
                return Err(DoubleError::InvalidArgs(format!(
                    "Invalid automatic update mode: {other}"
                )));
            }
        };
        let key = arguments_key(&[options_key(&options)]);
        let address = self
            .deploy_transaction(&header, "AutomaticUpdateTrigger", key, operation, &options)
            .await?;
        Ok((true, address))
    }

    #[zbus(out_args("result"))]
    async fn get_deployments_rpm_diff(&self, deployid0: &str, deployid1: &str) -> Result<RpmDiff> {
        authorize(&self.daemon, "OS", "GetDeploymentsRpmDiff")?;
        let (a, b) = (deployid0.to_owned(), deployid1.to_owned());
        let diff = self
            .daemon
            .backend(move |backend| -> Res<glib::Variant> {
                let rows = backend.rows()?;
                let checksum = |id: &str| {
                    rows.iter()
                        .find(|r| r.id == id)
                        .map(|r| r.deployment.csum().to_string())
                        .ok_or_else(|| Fail::failed(format!("Deployment with id '{id}' not found")))
                };
                let (from, to) = (checksum(&a)?, checksum(&b)?);
                Ok(method_rpm_diff(&backend.diff(&from, &to)?))
            })
            .await?;
        Ok(rpm_diff_value(&diff))
    }

    #[zbus(out_args("transaction_address"))]
    fn deploy(&self, revision: &str, options: Options) -> Result<String> {
        let _ = (revision, options);
        Err(self.unsupported("Deploy"))
    }

    #[zbus(out_args("result", "details"))]
    fn get_cached_deploy_rpm_diff(
        &self,
        revision: &str,
        packages: Vec<String>,
    ) -> Result<(RpmDiff, Options)> {
        let _ = (revision, packages);
        Err(self.unsupported("GetCachedDeployRpmDiff"))
    }

    #[zbus(out_args("transaction_address"))]
    fn download_deploy_rpm_diff(&self, revision: &str, packages: Vec<String>) -> Result<String> {
        let _ = (revision, packages);
        Err(self.unsupported("DownloadDeployRpmDiff"))
    }

    #[zbus(out_args("transaction_address"))]
    async fn upgrade(
        &self,
        options: Options,
        #[zbus(header)] header: Header<'_>,
    ) -> Result<String> {
        authorize(&self.daemon, "OS", "Upgrade")?;
        let operation = Operation::Upgrade {
            download_only: bool_option(&options, "download-only"),
        };
        let key = arguments_key(&[options_key(&options)]);
        self.deploy_transaction(&header, "Upgrade", key, operation, &options)
            .await
    }

    #[zbus(out_args("result", "details"))]
    async fn get_cached_update_rpm_diff(&self, deployid: &str) -> Result<(RpmDiff, Options)> {
        authorize(&self.daemon, "OS", "GetCachedUpdateRpmDiff")?;
        let id = deployid.to_owned();
        let (diff, details) = self
            .daemon
            .backend(move |backend| -> Res<(glib::Variant, glib::Variant)> {
                let rows = backend.rows()?;
                let base = if id.is_empty() {
                    rows.iter().find(|r| r.booted).or(rows.first())
                } else {
                    rows.iter().find(|r| r.id == id)
                }
                .ok_or_else(|| Fail::failed(format!("Deployment with id '{id}' not found")))?;
                let refspec = base
                    .deployment
                    .origin()
                    .as_ref()
                    .and_then(origin_refspec)
                    .ok_or_else(|| Fail::failed("No origin refspec"))?;
                let repo = backend.repo();
                let tip = repo.require_rev(&refspec)?.to_string();
                let diff = backend.diff(base.deployment.csum().as_str(), &tip)?;
                Ok((
                    method_rpm_diff(&diff),
                    backend.commit_details_dict(&repo, &refspec, &tip)?,
                ))
            })
            .await?;
        Ok((rpm_diff_value(&diff), gv::vardict(&details)))
    }

    #[zbus(out_args("transaction_address"))]
    fn download_update_rpm_diff(&self) -> Result<String> {
        Err(self.unsupported("DownloadUpdateRpmDiff"))
    }

    #[zbus(out_args("transaction_address"))]
    async fn rollback(
        &self,
        options: Options,
        #[zbus(header)] header: Header<'_>,
    ) -> Result<String> {
        authorize(&self.daemon, "OS", "Rollback")?;
        let key = arguments_key(&[options_key(&options)]);
        let titles = ("rollback", "rollback".to_owned());
        self.transaction(&header, "Rollback", key, Operation::Rollback, titles)
            .await
    }

    #[zbus(out_args("transaction_address"))]
    fn clear_rollback_target(&self, options: Options) -> Result<String> {
        let _ = options;
        Err(self.unsupported("ClearRollbackTarget"))
    }

    #[zbus(out_args("transaction_address"))]
    fn rebase(&self, options: Options, refspec: &str, packages: Vec<String>) -> Result<String> {
        let _ = (options, refspec, packages);
        Err(self.unsupported("Rebase"))
    }

    #[zbus(out_args("result", "details"))]
    fn get_cached_rebase_rpm_diff(
        &self,
        refspec: &str,
        packages: Vec<String>,
    ) -> Result<(RpmDiff, Options)> {
        let _ = (refspec, packages);
        Err(self.unsupported("GetCachedRebaseRpmDiff"))
    }

    #[zbus(out_args("transaction_address"))]
    fn download_rebase_rpm_diff(&self, refspec: &str, packages: Vec<String>) -> Result<String> {
        let _ = (refspec, packages);
        Err(self.unsupported("DownloadRebaseRpmDiff"))
    }

    #[zbus(out_args("transaction_address"))]
    async fn pkg_change(
        &self,
        options: Options,
        packages_added: Vec<String>,
        packages_removed: Vec<String>,
        #[zbus(header)] header: Header<'_>,
    ) -> Result<String> {
        authorize(&self.daemon, "OS", "PkgChange")?;
        let key = arguments_key(&[
            options_key(&options),
            packages_added.join(","),
            packages_removed.join(","),
        ]);
        let operation = Operation::Packages {
            install: packages_added,
            uninstall: packages_removed,
            reset: false,
            idempotent: bool_option(&options, "idempotent-layering"),
        };
        self.deploy_transaction(&header, "PkgChange", key, operation, &options)
            .await
    }

    #[zbus(out_args("transaction_address"))]
    fn set_initramfs_state(
        &self,
        regenerate: bool,
        args: Vec<String>,
        options: Options,
    ) -> Result<String> {
        let _ = (regenerate, args, options);
        Err(self.unsupported("SetInitramfsState"))
    }

    #[zbus(out_args("transaction_address"))]
    fn initramfs_etc(
        &self,
        track: Vec<String>,
        untrack: Vec<String>,
        untrack_all: bool,
        force_sync: bool,
        options: Options,
    ) -> Result<String> {
        let _ = (track, untrack, untrack_all, force_sync, options);
        Err(self.unsupported("InitramfsEtc"))
    }

    #[zbus(out_args("transaction_address"))]
    fn kernel_args(
        &self,
        existing_kernel_arg_string: &str,
        kernel_args_added: Vec<String>,
        kernel_args_replaced: Vec<String>,
        kernel_args_removed: Vec<String>,
        options: Options,
    ) -> Result<String> {
        let _ = (
            existing_kernel_arg_string,
            kernel_args_added,
            kernel_args_replaced,
            kernel_args_removed,
            options,
        );
        Err(self.unsupported("KernelArgs"))
    }

    #[zbus(out_args("bootconfig"))]
    fn get_deployment_boot_config(&self, deployid: &str, is_pending: bool) -> Result<Options> {
        let _ = (deployid, is_pending);
        Err(self.unsupported("GetDeploymentBootConfig"))
    }

    #[zbus(out_args("transaction_address"))]
    async fn cleanup(
        &self,
        elements: Vec<String>,
        #[zbus(header)] header: Header<'_>,
    ) -> Result<String> {
        authorize(&self.daemon, "OS", "Cleanup")?;
        if let Some(bad) = elements.iter().find(|e| {
            !matches!(
                e.as_str(),
                "base" | "pending-deploy" | "rollback-deploy" | "repomd"
            )
        }) {
            return Err(DoubleError::failed(format!("Invalid cleanup type: {bad}")));
        }
        let key = arguments_key(&[elements.join(",")]);
        let titles = ("cleanup", "cleanup".to_owned());
        self.transaction(
            &header,
            "Cleanup",
            key,
            Operation::Cleanup { elements },
            titles,
        )
        .await
    }

    #[zbus(out_args("transaction_address"))]
    fn refresh_md(&self, options: Options) -> Result<String> {
        let _ = options;
        Err(self.unsupported("RefreshMd"))
    }

    #[zbus(out_args("transaction_address"))]
    fn modify_yum_repo(&self, repo_id: &str, settings: HashMap<String, String>) -> Result<String> {
        let _ = (repo_id, settings);
        Err(self.unsupported("ModifyYumRepo"))
    }

    #[zbus(out_args("repos"))]
    fn list_repos(&self) -> Result<Vec<Options>> {
        Err(self.unsupported("ListRepos"))
    }

    #[zbus(out_args("transaction_address"))]
    async fn update_deployment(
        &self,
        modifiers: Options,
        options: Options,
        #[zbus(header)] header: Header<'_>,
    ) -> Result<String> {
        authorize(&self.daemon, "OS", "UpdateDeployment")?;
        let install = strv_option(&modifiers, "install-packages").unwrap_or_default();
        let uninstall = strv_option(&modifiers, "uninstall-packages").unwrap_or_default();
        let reset = bool_option(&options, "no-layering");
        if install.is_empty() && uninstall.is_empty() && !reset {
            return Err(self.unsupported("UpdateDeployment without packages or no-layering"));
        }
        let key = arguments_key(&[options_key(&modifiers), options_key(&options)]);
        let operation = Operation::Packages {
            install,
            uninstall,
            reset,
            idempotent: bool_option(&options, "idempotent-layering"),
        };
        self.deploy_transaction(&header, "UpdateDeployment", key, operation, &options)
            .await
    }

    #[zbus(out_args("transaction_address"))]
    fn finalize_deployment(&self, options: Options) -> Result<String> {
        let _ = options;
        Err(self.unsupported("FinalizeDeployment"))
    }

    #[zbus(out_args("packages"))]
    fn what_provides(&self, provides: Vec<String>) -> Result<Vec<Options>> {
        let _ = provides;
        Err(self.unsupported("WhatProvides"))
    }

    #[zbus(out_args("packages"))]
    fn get_packages(&self, names: Vec<String>) -> Result<Vec<Options>> {
        let _ = names;
        Err(self.unsupported("GetPackages"))
    }

    /// Packages of the package source whose name or summary holds one of `names`.
    #[zbus(out_args("packages"))]
    async fn search(&self, names: Vec<String>) -> Result<Vec<Options>> {
        let found = self
            .daemon
            .backend(move |backend| -> Res<Vec<glib::Variant>> {
                super::ops::search(backend, &names)
            })
            .await?;
        Ok(found.iter().map(gv::vardict).collect())
    }
}

fn rpm_diff_value(diff: &glib::Variant) -> RpmDiff {
    diff.iter()
        .map(|entry| {
            (
                entry.child_value(0).str().unwrap_or_default().to_owned(),
                entry.child_value(1).get::<u32>().unwrap_or_default(),
                gv::vardict(&entry.child_value(2)),
            )
        })
        .collect()
}

/// `org.projectatomic.rpmostree1.OSExperimental`: present as on rpm-ostreed, refused by the bus
/// policy there for everyone but root; Keel never calls it.
pub struct OsExperimentalIface;

#[zbus::interface(name = "org.projectatomic.rpmostree1.OSExperimental")]
impl OsExperimentalIface {
    #[zbus(out_args("result"))]
    fn moo(&self, utf8: bool) -> String {
        if utf8 { "🐄\n" } else { "moo\n" }.to_owned()
    }

    #[zbus(out_args("transaction_address"))]
    fn live_fs(&self, options: Options) -> Result<String> {
        let _ = options;
        Err(DoubleError::failed(
            "LiveFs is not implemented by Keel's rpm-ostreed test double",
        ))
    }

    fn download_packages(&self, queries: Vec<String>, source: &str) -> Result<()> {
        let _ = (queries, source);
        Err(DoubleError::failed(
            "DownloadPackages is not implemented by Keel's rpm-ostreed test double",
        ))
    }
}
