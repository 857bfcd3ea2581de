//! `keel-rpm-ostree-double`: a **test double** of the `rpm-ostree` command for Keel's tests (tests
//! put it on PATH as `rpm-ostree`). Like the real CLI it talks to the daemon — here the rpm-ostreed
//! double — over the system bus (`DBUS_SYSTEM_BUS_ADDRESS`), follows the transaction on its peer
//! socket, and prints what the recorded rpm-ostree v2025.6 printed (tests/data/rpmostreed/cli-*),
//! with its exit codes (77: nothing new for `upgrade --check`, 1: an error).
//!
//! Subcommands (those Keel's sandbox route runs): `upgrade [--check | --download-only]`,
//! `rollback`, `install [--idempotent] [--allow-inactive] PKG…`, `uninstall PKG… | --all`,
//! `cleanup [-p] [-r] [-b] [-m]`, `cancel`, `search TERM…`, `status [--json]`.

use std::collections::HashMap;
use std::process::ExitCode;

use zbus::blocking::{Connection, Proxy};
use zbus::zvariant::{OwnedValue, Value};

const NAME: &str = "org.projectatomic.rpmostree1";
const SYSROOT: &str = "/org/projectatomic/rpmostree1/Sysroot";
const SYSROOT_IFACE: &str = "org.projectatomic.rpmostree1.Sysroot";
const OS_IFACE: &str = "org.projectatomic.rpmostree1.OS";
const TXN_IFACE: &str = "org.projectatomic.rpmostree1.Transaction";
/// rpm-ostree's exit code for "nothing changed".
const EXIT_UNCHANGED: u8 = 77;
/// Keys of `rpm-ostree status` and the cached update are right-aligned to this width.
const KEY_WIDTH: usize = 15;

type Dict = HashMap<String, OwnedValue>;

struct Failure(String);

impl From<zbus::Error> for Failure {
    fn from(err: zbus::Error) -> Self {
        match err {
            zbus::Error::MethodError(_, Some(message), _) => Failure(message),
            other => Failure(other.to_string()),
        }
    }
}

impl From<zbus::fdo::Error> for Failure {
    fn from(err: zbus::fdo::Error) -> Self {
        Failure(zbus::Error::from(err).to_string())
    }
}

struct Cli {
    bus: Connection,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = Connection::system()
        .map_err(Failure::from)
        .and_then(|bus| Cli { bus }.run(&args));
    match result {
        Ok(code) => ExitCode::from(code),
        Err(Failure(message)) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn options(pairs: &[(&str, Value<'_>)]) -> HashMap<String, OwnedValue> {
    pairs
        .iter()
        .map(|(k, v)| {
            (
                (*k).to_owned(),
                OwnedValue::try_from(v.clone()).expect("plain values"),
            )
        })
        .collect()
}

fn has(args: &[String], flags: &[&str]) -> bool {
    args.iter().any(|a| flags.contains(&a.as_str()))
}

fn operands(args: &[String]) -> Vec<String> {
    args.iter()
        .filter(|a| !a.starts_with('-'))
        .cloned()
        .collect()
}

impl Cli {
    fn run(&self, args: &[String]) -> Result<u8, Failure> {
        let (command, rest) = args
            .split_first()
            .ok_or_else(|| Failure("No command specified".to_owned()))?;
        match command.as_str() {
            "upgrade" | "update" if has(rest, &["--check", "--preview"]) => self.check(rest),
            "upgrade" | "update" => {
                let download_only = has(rest, &["--download-only"]);
                let options = options(&[("download-only", Value::from(download_only))]);
                let before = self.default_id()?;
                self.transaction("Upgrade", &(options,))?;
                if !download_only {
                    self.report_new_default(&before, "Run \"systemctl reboot\" to start a reboot")?;
                }
                Ok(0)
            }
            "rollback" => {
                let before = self.default_id()?;
                self.transaction("Rollback", &(options(&[]),))?;
                self.report_new_default(&before, QUEUED)?;
                Ok(0)
            }
            "install" => self.packages(rest, operands(rest), Vec::new()),
            "uninstall" if has(rest, &["--all"]) => {
                let before = self.default_id()?;
                let opts = options(&[
                    ("no-layering", Value::from(true)),
                    ("initiating-command-line", Value::from(command_line(args))),
                ]);
                self.transaction("UpdateDeployment", &(options(&[]), opts))?;
                self.report_new_default(&before, QUEUED)?;
                Ok(0)
            }
            "uninstall" => self.packages(rest, Vec::new(), operands(rest)),
            "cleanup" => self.cleanup(rest),
            "cancel" => self.cancel(),
            "search" => self.search(&operands(rest)),
            "status" if has(rest, &["--json"]) => self.status_json(),
            "status" => self.status(),
            other => Err(Failure(format!("Unknown command '{other}'"))),
        }
    }

    fn sysroot(&self) -> Result<Proxy<'_>, Failure> {
        Ok(Proxy::new(&self.bus, NAME, SYSROOT, SYSROOT_IFACE)?)
    }

    fn os(&self) -> Result<Proxy<'_>, Failure> {
        let path: zbus::zvariant::OwnedObjectPath = self.sysroot()?.get_property("Booted")?;
        Ok(Proxy::new(&self.bus, NAME, path.to_string(), OS_IFACE)?)
    }

    fn default_id(&self) -> Result<String, Failure> {
        let default: Dict = self.os()?.get_property("DefaultDeployment")?;
        Ok(text(&default, "id"))
    }

    /// Calls a transaction method and follows the transaction to its end, printing its output as
    /// rpm-ostree does.
    fn transaction<B>(&self, method: &str, body: &B) -> Result<(), Failure>
    where
        B: serde::Serialize + zbus::zvariant::DynamicType,
    {
        let sysroot = self.sysroot()?;
        sysroot.call_method("RegisterClient", &(options(&[("id", Value::from("cli"))]),))?;
        let reply = self.os()?.call_method(method, body)?;
        let address: String = match reply.body().signature().to_string().as_str() {
            "(bs)" => reply.body().deserialize::<(bool, String)>()?.1,
            _ => reply.body().deserialize::<String>()?,
        };
        let result = follow(&address);
        let _ = sysroot.call_method("Reload", &());
        let _ = sysroot.call_method("UnregisterClient", &(options(&[]),));
        result
    }

    fn check(&self, args: &[String]) -> Result<u8, Failure> {
        let opts = options(&[
            ("mode", Value::from("check")),
            ("output-to-self", Value::from(false)),
        ]);
        self.transaction("AutomaticUpdateTrigger", &(opts,))?;
        eprintln!(
            "Note: --check and --preview may be unreliable.  See https://github.com/coreos/rpm-ostree/issues/1579"
        );
        let os = self.os()?;
        if !os.get_property::<bool>("HasCachedUpdateRpmDiff")? {
            println!("No updates available.");
            return Ok(EXIT_UNCHANGED);
        }
        let update: Dict = os.get_property("CachedUpdate")?;
        print_cached_update(&update, has(args, &["--preview"]));
        Ok(0)
    }

    fn packages(
        &self,
        args: &[String],
        install: Vec<String>,
        uninstall: Vec<String>,
    ) -> Result<u8, Failure> {
        let mut words = vec![
            if install.is_empty() {
                "uninstall"
            } else {
                "install"
            }
            .to_owned(),
        ];
        words.extend(args.iter().cloned());
        let opts = options(&[
            ("reboot", Value::from(false)),
            ("cache-only", Value::from(false)),
            ("download-only", Value::from(false)),
            ("no-pull-base", Value::from(true)),
            ("dry-run", Value::from(false)),
            ("print-interactive", Value::from(false)),
            (
                "allow-inactive",
                Value::from(has(args, &["--allow-inactive"])),
            ),
            ("no-layering", Value::from(false)),
            (
                "idempotent-layering",
                Value::from(has(args, &["--idempotent"])),
            ),
            ("lock-finalization", Value::from(false)),
            ("initiating-command-line", Value::from(command_line(&words))),
        ]);
        let before = self.default_id()?;
        self.transaction("PkgChange", &(opts, install, uninstall))?;
        self.report_new_default(&before, QUEUED)?;
        Ok(0)
    }

    fn cleanup(&self, args: &[String]) -> Result<u8, Failure> {
        let mut elements = Vec::new();
        for (flags, element) in [
            (&["-b", "--base"][..], "base"),
            (&["-p", "--pending"][..], "pending-deploy"),
            (&["-r", "--rollback"][..], "rollback-deploy"),
            (&["-m", "--repomd"][..], "repomd"),
        ] {
            if has(args, flags) {
                elements.push(element.to_owned());
            }
        }
        if elements.is_empty() {
            return Err(Failure(
                "At least one cleanup option must be specified".to_owned(),
            ));
        }
        self.transaction("Cleanup", &(elements,))?;
        Ok(0)
    }

    fn cancel(&self) -> Result<u8, Failure> {
        let sysroot = self.sysroot()?;
        let address: String = sysroot.get_property("ActiveTransactionPath")?;
        if address.is_empty() {
            println!("No active transaction.");
            return Ok(0);
        }
        let peer = peer(&address)?;
        let txn = Proxy::new(&peer, NAME, "/", TXN_IFACE)?;
        let title: String = txn.get_property("Title")?;
        println!("Cancelling transaction: {title}");
        txn.call_method("Cancel", &())?;
        drop(txn);
        drop(peer);
        // Done when the daemon lets go of the transaction.
        let mut changes = sysroot.receive_property_changed::<String>("ActiveTransactionPath");
        while sysroot.get_property::<String>("ActiveTransactionPath")? == address {
            changes.next();
        }
        println!("Cancelled.");
        Ok(0)
    }

    fn search(&self, terms: &[String]) -> Result<u8, Failure> {
        let reply = self.os()?.call_method("Search", &(terms,))?;
        let found: Vec<Dict> = reply.body().deserialize()?;
        let mut groups_seen = Vec::new();
        for package in &found {
            let group = match text(package, "key").as_str() {
                "match_group_a" => "Summary & Name",
                "match_group_b" => "Name",
                _ => "Summary",
            };
            if !groups_seen.contains(&group) {
                groups_seen.push(group);
                println!("\n===== {group} Matched =====");
            }
            println!("{} : {}", text(package, "name"), text(package, "summary"));
        }
        if found.is_empty() {
            println!("No matches found.");
        }
        Ok(0)
    }

    fn status(&self) -> Result<u8, Failure> {
        let sysroot = self.sysroot()?;
        let active: String = sysroot.get_property("ActiveTransactionPath")?;
        println!("State: {}", if active.is_empty() { "idle" } else { "busy" });
        let deployments: Vec<Dict> = sysroot.get_property("Deployments")?;
        println!("Deployments:");
        for (index, d) in deployments.iter().enumerate() {
            let booted = if flag(d, "booted") { "●" } else { " " };
            println!("{booted} {} (index: {index})", text(d, "origin"));
            let version = text(d, "version");
            let time = utc(number(d, "timestamp"));
            kv("Version", &format!("{version} ({time})"));
            kv("Commit", &text(d, "checksum"));
            if flag(d, "pinned") {
                kv("Pinned", "yes");
            }
            println!();
        }
        Ok(0)
    }

    fn status_json(&self) -> Result<u8, Failure> {
        let sysroot = self.sysroot()?;
        let deployments: Vec<Dict> = sysroot.get_property("Deployments")?;
        let active: (String, String, String) = sysroot.get_property("ActiveTransaction")?;
        let cached: Dict = self.os()?.get_property("CachedUpdate")?;
        let transaction = if active.0.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::json!([active.0, active.1, active.2])
        };
        let cached = if cached.is_empty() {
            serde_json::Value::Null
        } else {
            dict_json(&cached)
        };
        let status = serde_json::json!({
            "deployments": deployments.iter().map(dict_json).collect::<Vec<_>>(),
            "transaction": transaction,
            "cached-update": cached,
            "update-driver": null,
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&status).expect("JSON from values")
        );
        Ok(0)
    }

    /// After a change to the next boot: the package changes and the hint to restart, when the
    /// default deployment changed.
    fn report_new_default(&self, before: &str, hint: &str) -> Result<(), Failure> {
        let os = self.os()?;
        let default: Dict = os.get_property("DefaultDeployment")?;
        if text(&default, "id") == before {
            return Ok(());
        }
        let booted: Dict = os.get_property("BootedDeployment")?;
        let reply = os.call_method(
            "GetDeploymentsRpmDiff",
            &(text(&booted, "id"), text(&default, "id")),
        )?;
        let diff: Vec<(String, u32, Dict)> = reply.body().deserialize()?;
        for (kind, header) in [
            (2, "Upgraded"),
            (3, "Downgraded"),
            (1, "Removed"),
            (0, "Added"),
        ] {
            let entries: Vec<_> = diff.iter().filter(|(_, k, _)| *k == kind).collect();
            if !entries.is_empty() {
                println!("{header}:");
            }
            for (name, _, pkgs) in entries {
                let pkg = |key: &str| {
                    pkgs.get(key)
                        .and_then(|v| <(String, String, String)>::try_from(v.clone()).ok())
                        .unwrap_or_default()
                };
                match kind {
                    0 => {
                        let (n, evr, arch) = pkg("NewPackage");
                        println!("  {n}-{evr}.{arch}");
                    }
                    1 => {
                        let (n, evr, arch) = pkg("PreviousPackage");
                        println!("  {n}-{evr}.{arch}");
                    }
                    _ => println!(
                        "  {name} {} -> {}",
                        pkg("PreviousPackage").1,
                        pkg("NewPackage").1
                    ),
                }
            }
        }
        println!("{hint}");
        Ok(())
    }
}

const QUEUED: &str = "Changes queued for next boot. Run \"systemctl reboot\" to start a reboot";

fn command_line(args: &[String]) -> String {
    let mut words = vec!["rpm-ostree".to_owned()];
    words.extend(args.iter().cloned());
    words.join(" ")
}

fn peer(address: &str) -> Result<Connection, Failure> {
    Ok(zbus::blocking::connection::Builder::address(address)?
        .p2p()
        .build()?)
}

/// Follows a transaction: Start(), then its signals, printed as rpm-ostree prints them when its
/// output is not a terminal, until Finished — or until the daemon vanishes.
fn follow(address: &str) -> Result<(), Failure> {
    let peer = peer(address)?;
    let messages = zbus::blocking::MessageIterator::from(&peer);
    let txn = Proxy::new(&peer, NAME, "/", TXN_IFACE)?;
    txn.call_method("Start", &())?;
    let mut in_progress = false;
    for message in messages {
        let Ok(message) = message else { break };
        let header = message.header();
        if header.message_type() != zbus::message::Type::Signal
            || header.interface().map(|i| i.as_str()) != Some(TXN_IFACE)
        {
            continue;
        }
        let body = message.body();
        match header.member().map(|m| m.as_str()).unwrap_or_default() {
            "Message" => println!("{}", body.deserialize::<String>()?),
            "TaskBegin" => {
                print!("{}...", body.deserialize::<String>()?);
                in_progress = true;
            }
            "TaskEnd" if in_progress => {
                println!("{}", body.deserialize::<String>()?);
                in_progress = false;
            }
            "PercentProgress" if !in_progress => {
                let (text, _): (String, u32) = body.deserialize()?;
                print!("{text}...");
                in_progress = true;
            }
            "ProgressEnd" if in_progress => {
                println!("done");
                in_progress = false;
            }
            "Finished" => {
                let (success, error): (bool, String) = body.deserialize()?;
                return if success { Ok(()) } else { Err(Failure(error)) };
            }
            _ => {}
        }
    }
    if in_progress {
        println!();
    }
    Err(Failure(
        "Bus owner changed, aborting. This likely means the daemon crashed; check logs with `journalctl -xe`."
            .to_owned(),
    ))
}

fn print_cached_update(update: &Dict, verbose: bool) {
    println!("AvailableUpdate:");
    if flag(update, "ref-has-new-commit") {
        let time = utc(number(update, "timestamp"));
        kv("Version", &format!("{} ({time})", text(update, "version")));
        kv("Commit", &text(update, "checksum"));
    }
    if let Some(advisories) = update.get("advisories") {
        print_advisories(advisories);
    }
    let Some(Ok(diff)) = update.get("rpm-diff").map(|v| Dict::try_from(v.clone())) else {
        return;
    };
    let count = |key: &str| match diff.get(key).map(|v| &**v) {
        Some(Value::Array(a)) => a.len(),
        _ => 0,
    };
    if verbose {
        for (key, header) in [("upgraded", "Upgraded"), ("downgraded", "Downgraded")] {
            let Some(Ok(list)) = diff.get(key).map(|v| {
                <Vec<(u32, String, (String, String), (String, String))>>::try_from(v.clone())
            }) else {
                continue;
            };
            for (_, name, old, new) in list {
                kv(header, &format!("{name} {} -> {}", old.0, new.0));
            }
        }
        for (key, header) in [("removed", "Removed"), ("added", "Added")] {
            let Some(Ok(list)) = diff
                .get(key)
                .map(|v| <Vec<(u32, String, String, String)>>::try_from(v.clone()))
            else {
                continue;
            };
            for (_, name, evr, arch) in list {
                kv(header, &format!("{name}-{evr}.{arch}"));
            }
        }
        return;
    }
    let parts: Vec<String> = ["upgraded", "downgraded", "removed", "added"]
        .iter()
        .filter(|k| count(k) > 0)
        .map(|k| format!("{} {k}", count(k)))
        .collect();
    if !parts.is_empty() {
        kv("Diff", &parts.join(", "));
    }
}

/// `SecAdvisories: 1 important, 2 moderate`: security advisories (kind 1) by severity.
fn print_advisories(advisories: &OwnedValue) {
    type Advisory = (String, u32, u32, Vec<String>, Dict);
    let Ok(list) = <Vec<Advisory>>::try_from(advisories.clone()) else {
        return;
    };
    let names = [
        "unknown severity",
        "low",
        "moderate",
        "important",
        "critical",
    ];
    let mut counts = [0usize; 5];
    for (_, kind, severity, _, _) in &list {
        if *kind == 1 {
            counts[(*severity as usize).min(4)] += 1;
        }
    }
    let parts: Vec<String> = names
        .iter()
        .zip(counts)
        .filter(|(_, n)| *n > 0)
        .map(|(name, n)| format!("{n} {name}"))
        .collect();
    if !parts.is_empty() {
        kv("SecAdvisories", &parts.join(", "));
    }
}

fn kv(key: &str, value: &str) {
    println!("{key:>KEY_WIDTH$}: {value}");
}

fn text(dict: &Dict, key: &str) -> String {
    dict.get(key)
        .and_then(|v| String::try_from(v.clone()).ok())
        .unwrap_or_default()
}

fn flag(dict: &Dict, key: &str) -> bool {
    dict.get(key)
        .and_then(|v| bool::try_from(v).ok())
        .unwrap_or(false)
}

fn number(dict: &Dict, key: &str) -> u64 {
    dict.get(key)
        .and_then(|v| u64::try_from(v).ok())
        .unwrap_or(0)
}

/// `2026-12-02T02:45:15Z`.
fn utc(seconds: u64) -> String {
    ostree::glib::DateTime::from_unix_utc(seconds as i64)
        .and_then(|t| t.format("%Y-%m-%dT%H:%M:%SZ"))
        .map(|s| s.to_string())
        .unwrap_or_default()
}

fn dict_json(dict: &Dict) -> serde_json::Value {
    serde_json::Value::Object(
        dict.iter()
            .map(|(k, v)| (k.clone(), value_json(v)))
            .collect(),
    )
}

/// A D-Bus value as rpm-ostree's JSON shows it (json-glib's GVariant serialisation).
fn value_json(value: &Value<'_>) -> serde_json::Value {
    use serde_json::Value as J;
    match value {
        Value::Bool(b) => J::from(*b),
        Value::U8(n) => J::from(*n),
        Value::I16(n) => J::from(*n),
        Value::U16(n) => J::from(*n),
        Value::I32(n) => J::from(*n),
        Value::U32(n) => J::from(*n),
        Value::I64(n) => J::from(*n),
        Value::U64(n) => J::from(*n),
        Value::F64(n) => J::from(*n),
        Value::Str(s) => J::from(s.as_str()),
        Value::ObjectPath(p) => J::from(p.as_str()),
        Value::Signature(s) => J::from(s.to_string()),
        Value::Value(inner) => value_json(inner),
        Value::Array(a) => J::Array(a.iter().map(value_json).collect()),
        Value::Dict(d) => J::Object(
            d.iter()
                .map(|(k, v)| {
                    let key = match k {
                        Value::Str(s) => s.to_string(),
                        other => value_json(other).to_string(),
                    };
                    (key, value_json(v))
                })
                .collect(),
        ),
        Value::Structure(s) => J::Array(s.fields().iter().map(value_json).collect()),
        _ => J::Null,
    }
}
