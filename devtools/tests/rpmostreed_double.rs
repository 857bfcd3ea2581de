//! The rpm-ostreed double behaves as rpm-ostreed on the operations Keel uses: each test drives it
//! over a private system bus, as a client would, and checks both what it said and the sysroot.

mod common;

use common::*;
use keel_devtools::double::{Harness, Hooks, Options};

fn address(reply: &ostree::glib::Variant, index: usize) -> String {
    reply.child_value(index).str().unwrap().to_owned()
}

#[test]
fn check_then_upgrade_stage_the_new_version() {
    let harness = Harness::start(Options {
        fresh: true,
        ..Default::default()
    });
    let client = Client::new(harness.bus_address());
    let os = client.os_path();
    assert!(!client.os("HasCachedUpdateRpmDiff").get::<bool>().unwrap());

    let reply = client
        .call(
            &os,
            OS_IFACE,
            "AutomaticUpdateTrigger",
            Some("({'mode': <'check'>},)"),
        )
        .unwrap();
    assert_eq!(reply.child_value(0).get::<bool>(), Some(true));
    let events = client.run(&address(&reply, 1));
    assert_eq!(
        shapes(&events),
        [
            "PC txn [\"Title\"]",
            "Message",
            "ProgressEnd",
            "Finished",
            "PC OS [\"BootedDeployment\", \"CachedUpdate\", \"DefaultDeployment\", \"HasCachedUpdateRpmDiff\"]",
            "PC Sysroot [\"Deployments\"]",
        ]
    );
    let cached = client.os("CachedUpdate");
    let version = harness.driver();
    let status = keel_backend::driver::SystemDriver::status(&version).unwrap();
    let tip = status
        .cached_update
        .expect("Keel's driver sees the update too");
    let dict = ostree::glib::VariantDict::new(Some(&cached));
    assert_eq!(
        dict.lookup::<String>("checksum").unwrap().as_deref(),
        Some(tip.checksum.as_str())
    );

    let reply = client
        .call(&os, OS_IFACE, "Upgrade", Some("(@a{sv} {},)"))
        .unwrap();
    let events = client.run(&address(&reply, 0));
    assert_eq!(
        shapes(&events),
        [
            "PC txn [\"Title\"]",
            "Message",
            "ProgressEnd",
            "TaskBegin",
            "PC OS [\"DefaultDeployment\"]",
            "PC Sysroot [\"Deployments\"]",
            "TaskEnd",
            "Finished",
            "PC OS [\"CachedUpdate\"]",
        ]
    );
    let default = ostree::glib::VariantDict::new(Some(&client.os("DefaultDeployment")));
    assert_eq!(default.lookup::<bool>("staged").unwrap(), Some(true));
    let status = keel_backend::driver::SystemDriver::status(&harness.driver()).unwrap();
    assert_eq!(status.deployments.len(), 2, "the new version was deployed");
    assert_eq!(status.deployments[0].checksum, tip.checksum);
}

fn dict(v: &ostree::glib::Variant) -> ostree::glib::VariantDict {
    ostree::glib::VariantDict::new(Some(v))
}

fn finished(events: &[Event]) -> Option<(bool, String)> {
    events.iter().rfind(|e| e.member == "Finished").map(|f| {
        (
            f.args.child_value(0).get::<bool>().unwrap(),
            f.args.child_value(1).str().unwrap().to_owned(),
        )
    })
}

/// Calls a transaction method and runs the transaction; its signals.
fn transact(client: &Client, method: &str, args: &str) -> Vec<Event> {
    let reply = client
        .call(&client.os_path(), OS_IFACE, method, Some(args))
        .unwrap_or_else(|e| panic!("{method}: {e:?}"));
    let index = if method == "AutomaticUpdateTrigger" {
        1
    } else {
        0
    };
    client.run(&address(&reply, index))
}

#[test]
fn the_slot_is_set_by_the_call_and_freed_after_the_last_peer_leaves() {
    let harness = Harness::start(Options::default());
    let client = Client::new(harness.bus_address());
    client
        .call(
            SYSROOT,
            SYSROOT_IFACE,
            "RegisterClient",
            Some("({'id': <'peer-trace'>},)"),
        )
        .unwrap();
    let os = client.os_path();
    let reply = client
        .call(
            &os,
            OS_IFACE,
            "AutomaticUpdateTrigger",
            Some("({'mode': <'check'>},)"),
        )
        .unwrap();
    let address = address(&reply, 1);
    // Set when the call returns, before anything started.
    assert_eq!(
        client.sysroot("ActiveTransactionPath").str(),
        Some(address.as_str())
    );
    let active = client.sysroot("ActiveTransaction");
    assert_eq!(
        active.print(true).as_str(),
        format!(
            "('AutomaticUpdateTrigger', '{}', '{os}')",
            client.unique_name()
        )
    );
    let peer = client.connect_peer(&address);
    let title = client.peer_call(
        &peer,
        "org.freedesktop.DBus.Properties",
        "Get",
        Some("('org.projectatomic.rpmostree1.Transaction', 'Title')"),
    );
    assert_eq!(title.print(true).as_str(), "(<'new-deployment'>,)");
    let described = client.peer_call(
        &peer,
        "org.freedesktop.DBus.Properties",
        "Get",
        Some("('org.projectatomic.rpmostree1.Transaction', 'InitiatingClientDescription')"),
    );
    let unique = client.unique_name();
    assert_eq!(
        described.child_value(0).as_variant().unwrap().str(),
        Some(
            format!(
                "client(id:peer-trace dbus:{} uid:{})",
                &unique[1..],
                own_uid()
            )
            .as_str()
        )
    );
    client.peer_call(&peer, TXN_IFACE, "Start", None);
    client.pump_until(std::time::Duration::from_secs(30), "Finished", |e| {
        e.iter().any(|e| e.member == "Finished")
    });
    // Not cleared at Finished: the peer is still connected.
    client.pump(std::time::Duration::from_millis(100));
    assert_eq!(
        client.sysroot("ActiveTransactionPath").str(),
        Some(address.as_str())
    );
    // A second Start on a finished transaction: false, and Finished again.
    let again = client.peer_call(&peer, TXN_IFACE, "Start", None);
    assert_eq!(again.print(true).as_str(), "(false,)");
    client.take_events();
    client.pump_until(std::time::Duration::from_secs(5), "Finished again", |e| {
        e.iter().any(|e| e.member == "Finished")
    });
    let closed = std::time::Instant::now();
    peer.close_sync(ostree::gio::Cancellable::NONE).unwrap();
    client.pump_until(
        std::time::Duration::from_secs(5),
        "the slot to be freed",
        |e| e.iter().any(is_slot_freed),
    );
    assert!(closed.elapsed() >= std::time::Duration::from_millis(10));
    assert_eq!(client.sysroot("ActiveTransactionPath").str(), Some(""));
    assert_eq!(
        client.sysroot("ActiveTransaction").print(true).as_str(),
        "('', '', '')"
    );
}

/// This process's user id, as the bus reports it for the test's own connection.
fn own_uid() -> u32 {
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
        .unwrap()
}

#[test]
fn refused_authorization_is_polkits_error_and_changes_nothing() {
    let harness = Harness::start(Options {
        hooks: Hooks {
            deny_authorization: true,
            ..Default::default()
        },
        ..Default::default()
    });
    let client = Client::new(harness.bus_address());
    let os = client.os_path();
    for (method, args) in [
        ("Upgrade", "(@a{sv} {},)"),
        ("Rollback", "(@a{sv} {},)"),
        ("Cleanup", "(['rollback-deploy'],)"),
        ("PkgChange", "(@a{sv} {}, ['htop'], @as [])"),
        ("UpdateDeployment", "(@a{sv} {}, {'no-layering': <true>})"),
        ("AutomaticUpdateTrigger", "({'mode': <'check'>},)"),
    ] {
        let err = client.call(&os, OS_IFACE, method, Some(args)).unwrap_err();
        assert_eq!(err.name, "org.freedesktop.DBus.Error.AccessDenied");
        assert_eq!(
            err.message,
            format!("rpmostreed OS operation {method} not allowed for user")
        );
    }
    assert_eq!(client.sysroot("ActiveTransactionPath").str(), Some(""));
    // Reading needs no authorization.
    let found = client
        .call(&os, OS_IFACE, "Search", Some("(['htop'],)"))
        .unwrap();
    assert_eq!(found.child_value(0).n_children(), 1);
    assert_eq!(client.sysroot("Deployments").n_children(), 2);
}

#[test]
fn a_crash_ends_the_transaction_without_finished() {
    let mut harness = Harness::start(Options {
        hooks: Hooks {
            crash_during: Some("packages".to_owned()),
            ..Default::default()
        },
        ..Default::default()
    });
    let client = Client::new(harness.bus_address());
    let before = client.sysroot("Deployments");
    let events = transact(&client, "PkgChange", "(@a{sv} {}, ['htop'], @as [])");
    assert_eq!(finished(&events), None, "no Finished after a crash");
    assert_eq!(
        common::recorded::landmarks(&events),
        common::recorded::landmarks(&common::recorded::signals(
            "txn-install-DAEMON-PANIC-no-fusermount.jsonl"
        ))
    );
    let has_owner = client
        .bus
        .call_sync(
            Some("org.freedesktop.DBus"),
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus",
            "NameHasOwner",
            Some(&ostree::glib::Variant::parse(None, "('org.projectatomic.rpmostree1',)").unwrap()),
            None,
            ostree::gio::DBusCallFlags::NONE,
            5000,
            ostree::gio::Cancellable::NONE,
        )
        .unwrap();
    assert_eq!(has_owner.print(true).as_str(), "(false,)");
    // Nothing was changed, and the restarted daemon goes on.
    harness.options.hooks.crash_during = None;
    harness.restart_daemon();
    assert_eq!(client.sysroot("Deployments"), before);
    let events = transact(&client, "PkgChange", "(@a{sv} {}, ['htop'], @as [])");
    assert_eq!(finished(&events), Some((true, String::new())));
}

#[test]
fn advisories_come_with_the_cached_update() {
    let harness = Harness::start(Options {
        advisories: Some(
            "[('FEDORA-2026-0001', uint32 1, uint32 3, ['fastfetch-2.29.0-1.fc41.x86_64'], {'cve_references': <[('CVE-2026-0001', 'https://example.org/CVE-2026-0001')]>}), ('FEDORA-2026-0002', 1, 2, @as [], @a{sv} {})]".to_owned(),
        ),
        ..Default::default()
    });
    let client = Client::new(harness.bus_address());
    transact(&client, "AutomaticUpdateTrigger", "({'mode': <'check'>},)");
    let advisories = dict(&client.os("CachedUpdate"))
        .lookup_value("advisories", None)
        .expect("advisories in the cached update");
    assert_eq!(advisories.type_().as_str(), "a(suuasa{sv})");
    assert_eq!(advisories.n_children(), 2);
    assert_eq!(
        advisories.child_value(0).child_value(2).get::<u32>(),
        Some(3)
    );
    let out = harness
        .command("rpm-ostree")
        .args(["upgrade", "--check"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("  SecAdvisories: 1 moderate, 1 important\n"),
        "{text}"
    );
}

#[test]
fn download_only_fetches_without_deploying() {
    let harness = Harness::start(Options::default());
    let client = Client::new(harness.bus_address());
    let count = client.sysroot("Deployments").n_children();
    let events = transact(&client, "Upgrade", "({'download-only': <true>},)");
    assert_eq!(finished(&events), Some((true, String::new())));
    let title = events
        .iter()
        .find(|e| e.peer && e.member == "PropertiesChanged")
        .unwrap();
    assert!(title.args.print(true).contains("'upgrade (download only)'"));
    assert_eq!(client.sysroot("Deployments").n_children(), count);
    let booted = dict(&client.os("BootedDeployment"));
    let pending: String = booted.lookup("pending-base-checksum").unwrap().unwrap();
    let status = keel_backend::driver::SystemDriver::status(&harness.driver()).unwrap();
    let update = status.cached_update.unwrap();
    assert_eq!(pending, update.checksum);
    assert!(update.downloaded, "the whole commit is here");
}

#[test]
fn layering_refuses_as_rpm_ostree_does() {
    let harness = Harness::start(Options::default());
    let client = Client::new(harness.bus_address());
    let cases = [
        ("(@a{sv} {}, ['nope'], @as [])", "Packages not found: nope"),
        (
            "(@a{sv} {}, @as [], ['htop'])",
            "Package/capability 'htop' is not currently requested",
        ),
    ];
    for (args, message) in cases {
        let events = transact(&client, "PkgChange", args);
        assert_eq!(finished(&events), Some((false, message.to_owned())));
    }
    let events = transact(&client, "PkgChange", "(@a{sv} {}, ['htop'], @as [])");
    assert_eq!(finished(&events), Some((true, String::new())));
    let events = transact(&client, "PkgChange", "(@a{sv} {}, ['htop'], @as [])");
    assert_eq!(
        finished(&events),
        Some((false, "Package 'htop' is already requested".to_owned()))
    );
    let default = dict(&client.os("DefaultDeployment"));
    assert_eq!(
        default.lookup::<Vec<String>>("packages").unwrap().unwrap(),
        ["htop"]
    );
    assert_eq!(default.lookup::<bool>("staged").unwrap(), Some(true));
    // Reset: no-layering takes every package away.
    let events = transact(
        &client,
        "UpdateDeployment",
        "(@a{sv} {}, {'no-layering': <true>})",
    );
    assert_eq!(finished(&events), Some((true, String::new())));
    let default = dict(&client.os("DefaultDeployment"));
    assert!(
        default
            .lookup::<Vec<String>>("requested-packages")
            .unwrap()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn nothing_to_roll_back_to_is_the_real_error() {
    let harness = Harness::start(Options {
        fresh: true,
        ..Default::default()
    });
    let client = Client::new(harness.bus_address());
    let events = transact(&client, "Rollback", "(@a{sv} {},)");
    assert_eq!(
        finished(&events),
        Some((false, "No rollback deployment found".to_owned()))
    );
    let err = client
        .call(
            &client.os_path(),
            OS_IFACE,
            "Cleanup",
            Some("(['everything'],)"),
        )
        .unwrap_err();
    assert_eq!(
        err.name,
        "org.gtk.GDBus.UnmappedGError.Quark._g_2dio_2derror_2dquark.Code0"
    );
}

#[test]
fn a_restarted_daemon_reads_the_same_state() {
    let mut harness = Harness::start(Options::default());
    let client = Client::new(harness.bus_address());
    transact(&client, "Upgrade", "(@a{sv} {},)");
    let (deployments, cached) = (client.sysroot("Deployments"), client.os("CachedUpdate"));
    harness.kill_daemon();
    harness.wait_for_name(false);
    harness.restart_daemon();
    assert_eq!(client.sysroot("Deployments"), deployments);
    assert_eq!(client.os("CachedUpdate"), cached);
}
