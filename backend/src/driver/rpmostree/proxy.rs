//! The parts of rpm-ostreed's D-Bus interface Keel uses, written from
//! `org.projectatomic.rpmostree1.xml` (names and signatures as the daemon has them).
//!
//! The `Transaction` interface lives on a peer-to-peer connection, not on the bus, so it is spoken
//! with plain method calls and a message stream in `host.rs` rather than through a proxy.

use std::collections::HashMap;

use zbus::zvariant::{OwnedObjectPath, OwnedValue, Value};

pub const BUS_NAME: &str = "org.projectatomic.rpmostree1";
pub const SYSROOT_PATH: &str = "/org/projectatomic/rpmostree1/Sysroot";
pub const TRANSACTION_INTERFACE: &str = "org.projectatomic.rpmostree1.Transaction";

/// A deployment, the cached update, an option set: `a{sv}` as the daemon sends it.
pub type Dict = HashMap<String, OwnedValue>;
/// Options as Keel sends them.
pub type Options<'a> = HashMap<&'a str, Value<'a>>;
/// `GetDeploymentsRpmDiff`'s entries: name, change (0 added, 1 removed, 2 upgraded, 3 downgraded),
/// and `PreviousPackage`/`NewPackage` as (name, evr, arch).
pub type RpmDiff = Vec<(String, u32, Dict)>;

#[zbus::proxy(
    interface = "org.projectatomic.rpmostree1.Sysroot",
    default_service = "org.projectatomic.rpmostree1",
    default_path = "/org/projectatomic/rpmostree1/Sysroot",
    gen_async = false
)]
pub trait Sysroot {
    fn register_client(&self, options: Options<'_>) -> zbus::Result<()>;
    fn unregister_client(&self, options: Options<'_>) -> zbus::Result<()>;
    fn reload(&self) -> zbus::Result<()>;
    #[zbus(name = "GetOS")]
    fn get_os(&self, name: &str) -> zbus::Result<OwnedObjectPath>;
    #[zbus(property)]
    fn booted(&self) -> zbus::Result<OwnedObjectPath>;
    #[zbus(property)]
    fn path(&self) -> zbus::Result<String>;
    /// (method, the caller's unique name, the OS object); empty strings when idle.
    #[zbus(property)]
    fn active_transaction(&self) -> zbus::Result<(String, String, String)>;
    /// The running transaction's peer address; empty when idle.
    #[zbus(property)]
    fn active_transaction_path(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn deployments(&self) -> zbus::Result<Vec<Dict>>;
}

#[zbus::proxy(
    interface = "org.projectatomic.rpmostree1.OS",
    default_service = "org.projectatomic.rpmostree1",
    gen_async = false
)]
pub trait OS {
    fn automatic_update_trigger(&self, options: Options<'_>) -> zbus::Result<(bool, String)>;
    fn get_deployments_rpm_diff(&self, deployid0: &str, deployid1: &str) -> zbus::Result<RpmDiff>;
    fn upgrade(&self, options: Options<'_>) -> zbus::Result<String>;
    fn rollback(&self, options: Options<'_>) -> zbus::Result<String>;
    fn cleanup(&self, elements: &[&str]) -> zbus::Result<String>;
    fn update_deployment(
        &self,
        modifiers: Options<'_>,
        options: Options<'_>,
    ) -> zbus::Result<String>;
    fn search(&self, names: &[&str]) -> zbus::Result<Vec<Dict>>;
    #[zbus(property)]
    fn name(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn cached_update(&self) -> zbus::Result<Dict>;
}
