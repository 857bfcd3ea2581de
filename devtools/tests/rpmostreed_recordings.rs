//! The double against the recordings of a real rpm-ostreed (tests/data/rpmostreed/): driven
//! through the recorded session — fresh, check, failed pull, upgrade, cleanup, Busy, boot, an
//! outside pin, rollback, cleanup, layering — it must show, per state, the same keys and GVariant
//! types in every property; per transaction, the same signals in the same order; and the same
//! error names and bodies. Any drift of the double from rpm-ostreed fails here.

mod common;

use std::time::{Duration, Instant};

use common::recorded::{self, Section};
use common::*;
use keel_devtools::double::{Harness, Options};
use ostree::glib;

fn address(reply: &glib::Variant, index: usize) -> String {
    reply.child_value(index).str().unwrap().to_owned()
}

/// Every property and method result of a recorded state, compared by shape.
fn assert_state(client: &Client, file: &str) {
    let os = client.os_path();
    for section in recorded::state(file) {
        let title = &section.title;
        if let Some(name) = title.strip_prefix("Sysroot.") {
            compare(
                title,
                &client.sysroot(name),
                &recorded::property(&section),
                file,
            );
        } else if let Some(call) = title.strip_prefix("OS.Get") {
            assert_call(client, &os, call, &section, file);
        } else if let Some(name) = title.strip_prefix("OS.") {
            compare(title, &client.os(name), &recorded::property(&section), file);
        }
    }
}

fn compare(what: &str, got: &glib::Variant, want: &glib::Variant, file: &str) {
    assert_eq!(shape(got), shape(want), "{what} differs from {file}");
}

/// GetCachedUpdateRpmDiff('') and GetDeploymentsRpmDiff(older, newer) as recorded.
fn assert_call(client: &Client, os: &str, call: &str, section: &Section, file: &str) {
    let (method, args) = if call.starts_with("CachedUpdateRpmDiff") {
        ("GetCachedUpdateRpmDiff", "('',)".to_owned())
    } else if call.starts_with("DeploymentsRpmDiff('peer-layer'") {
        // An id that names no deployment: the recorded error, name and body.
        let err = client
            .call(
                os,
                OS_IFACE,
                "GetDeploymentsRpmDiff",
                Some("('peer-layer', 'x')"),
            )
            .unwrap_err();
        let recorded = section.text.strip_prefix("Error: GDBus.Error:").unwrap();
        assert_eq!(format!("{}: {}", err.name, err.message), recorded);
        return;
    } else {
        let list = client.sysroot("Deployments");
        let id = |i: usize| {
            glib::VariantDict::new(Some(&list.child_value(i)))
                .lookup::<String>("id")
                .unwrap()
                .unwrap()
        };
        (
            "GetDeploymentsRpmDiff",
            format!("('{}', '{}')", id(1), id(0)),
        )
    };
    let got = client.call(os, OS_IFACE, method, Some(&args)).unwrap();
    let want = glib::Variant::parse(None, &section.text).unwrap();
    assert_eq!(got.type_(), want.type_(), "{method} in {file}");
    let (got_diff, want_diff) = (got.child_value(0), want.child_value(0));
    assert_eq!(
        got_diff.n_children() == 0,
        want_diff.n_children() == 0,
        "{method} in {file}: {} vs {}",
        got_diff.print(true),
        want_diff.print(true)
    );
    for diff in [&got_diff, &want_diff] {
        assert_diff_entries(diff);
    }
    if method == "GetCachedUpdateRpmDiff" {
        compare(method, &got.child_value(1), &want.child_value(1), file);
    }
}

/// `a(sua{sv})`: 0 added with NewPackage, 1 removed with PreviousPackage, 2 upgraded and 3
/// downgraded with both, each `(sss)`.
fn assert_diff_entries(diff: &glib::Variant) {
    for entry in diff.iter() {
        let kind = entry.child_value(1).get::<u32>().unwrap();
        let want = match kind {
            0 => "{NewPackage: (sss)}",
            1 => "{PreviousPackage: (sss)}",
            2 | 3 => "{NewPackage: (sss), PreviousPackage: (sss)}",
            other => panic!("change type {other}"),
        };
        assert_eq!(shape(&entry.child_value(2)), want, "{}", entry.print(true));
    }
}

/// A transaction's signals, exactly as recorded (from Start() to the client closing).
fn assert_signals(events: &[Event], file: &str) {
    let end = events.iter().rfind(|e| e.member == "Finished");
    assert_eq!(
        shapes(events),
        shapes(&recorded::signals(file)),
        "signals differ from {file} (ended with {:?})",
        end.map(|e| e.args.print(true))
    );
}

fn run_method(client: &Client, method: &str, args: &str, index: usize) -> Vec<Event> {
    let reply = client
        .call(&client.os_path(), OS_IFACE, method, Some(args))
        .unwrap_or_else(|e| panic!("{method}: {e:?}"));
    client.run(&address(&reply, index))
}

fn finished(events: &[Event]) -> (bool, String) {
    let f = events
        .iter()
        .rfind(|e| e.member == "Finished")
        .expect("Finished");
    (
        f.args.child_value(0).get::<bool>().unwrap(),
        f.args.child_value(1).str().unwrap().to_owned(),
    )
}

#[test]
fn follows_the_recorded_session() {
    let mut harness = Harness::start(Options {
        fresh: true,
        http: true,
        ..Default::default()
    });
    let client = Client::new(harness.bus_address());
    let check = "({'mode': <'check'>},)";
    assert_state(&client, "state-01-fresh.txt");

    let events = run_method(&client, "AutomaticUpdateTrigger", check, 1);
    assert_signals(&events, "txn-check-first-fetch.jsonl");
    assert_state(&client, "state-02-after-check.txt");
    let events = run_method(&client, "AutomaticUpdateTrigger", check, 1);
    assert_signals(&events, "txn-check.jsonl");

    harness.remote_down();
    let events = run_method(&client, "Upgrade", "(@a{sv} {},)", 0);
    assert_signals(&events, "txn-failed-upgrade-http-down.jsonl");
    let (ok, message) = finished(&events);
    assert!(!ok);
    assert!(
        message
            .starts_with("While pulling keeldemo/stable/x86_64: While fetching http://127.0.0.1:"),
        "{message}"
    );
    harness.remote_up();

    let events = run_method(&client, "Upgrade", "(@a{sv} {},)", 0);
    assert_signals(&events, "txn-upgrade.jsonl");
    assert_state(&client, "state-03-staged.txt");

    let cleanup = "(['pending-deploy', 'rollback-deploy'],)";
    let events = run_method(&client, "Cleanup", cleanup, 0);
    assert_signals(&events, "txn-cleanup-staged.jsonl");
    assert_state(&client, "state-04-after-cleanup-of-staged.txt");

    busy_probes(&client);
    assert_state(&client, "state-05-staged-again.txt");

    harness.reboot();
    let client = Client::new(harness.bus_address());
    assert_state(&client, "state-06-booted-v2-with-rollback.txt");

    external_pin(&harness, &client);
    assert_state(&client, "state-07-pinned.txt");
    harness.ostree_admin(&["pin", "--unpin", "1"]);
    client.pump(Duration::from_millis(200));

    let events = run_method(&client, "Rollback", "(@a{sv} {},)", 0);
    assert_signals(&events, "txn-rollback.jsonl");
    assert_state(&client, "state-08-after-rollback.txt");

    let events = run_method(&client, "Cleanup", cleanup, 0);
    assert_signals(&events, "txn-cleanup-after-rollback.jsonl");
    assert_state(&client, "state-09-after-cleanup.txt");

    // The recorded layering ran on a newer tree booted with a rollback behind it.
    harness.publish();
    run_method(&client, "Upgrade", "(@a{sv} {},)", 0);
    harness.reboot();
    let client = Client::new(harness.bus_address());
    let options = "{'reboot': <false>, 'cache-only': <false>, 'download-only': <false>, 'no-pull-base': <true>, 'dry-run': <false>, 'print-interactive': <false>, 'allow-inactive': <false>, 'no-layering': <false>, 'idempotent-layering': <false>, 'lock-finalization': <false>, 'initiating-command-line': <'rpm-ostree install htop'>}";
    let events = run_method(
        &client,
        "PkgChange",
        &format!("({options}, ['htop'], @as [])"),
        0,
    );
    assert_eq!(finished(&events), (true, String::new()));
    assert_eq!(
        recorded::landmarks(&events),
        recorded::landmarks(&recorded::signals("txn-install-layered-pkg.jsonl"))
    );
    assert_state(&client, "state-10-layered-staged.txt");
}

/// The recorded probes: other mutating calls get Busy (titled `new-deployment` before Start,
/// `upgrade` after), an identical Upgrade joins.
fn busy_probes(client: &Client) {
    let os = client.os_path();
    let reply = client
        .call(&os, OS_IFACE, "Upgrade", Some("(@a{sv} {},)"))
        .unwrap();
    let address = address(&reply, 0);
    let mut errors = Vec::new();
    let mut probe = |method: &str, args: &str| {
        let err = client.call(&os, OS_IFACE, method, Some(args)).unwrap_err();
        errors.push((method.to_owned(), err.name, err.message));
    };
    probe("Rollback", "(@a{sv} {},)");
    let peer = client.connect_peer(&address);
    client.take_events();
    client.peer_call(&peer, TXN_IFACE, "Start", None);
    client.pump_until(Duration::from_secs(5), "the new title", |events| {
        events
            .iter()
            .any(|e| e.peer && e.member == "PropertiesChanged")
    });
    probe("Rollback", "(@a{sv} {},)");
    probe("Cleanup", "(['rollback-deploy'],)");
    probe("AutomaticUpdateTrigger", "({'mode': <'check'>},)");
    assert_eq!(
        errors,
        recorded::errors("txn-upgrade-with-busy-probes.jsonl")
    );
    let joined = client
        .call(&os, OS_IFACE, "Upgrade", Some("(@a{sv} {},)"))
        .unwrap();
    assert_eq!(joined.child_value(0).str(), Some(address.as_str()));
    client.pump_until(Duration::from_secs(30), "Finished", |events| {
        events.iter().any(|e| e.member == "Finished")
    });
    client.pump(Duration::from_millis(150));
    let _ = peer.close_sync(ostree::gio::Cancellable::NONE);
    client.pump_until(Duration::from_secs(5), "the slot to be freed", |events| {
        events.iter().any(is_slot_freed)
    });
    client.take_events();
}

/// `ostree admin pin 1` run by another program: the double notices within ~50 ms and says so as
/// rpm-ostreed did (RollbackDeployment on the OS, then Deployments).
fn external_pin(harness: &Harness, client: &Client) {
    client.take_events();
    let started = Instant::now();
    harness.ostree_admin(&["pin", "1"]);
    client.pump_until(Duration::from_secs(2), "the pin to be noticed", |events| {
        events
            .iter()
            .any(|e| e.shape() == "PC Sysroot [\"Deployments\"]")
    });
    let noticed = started.elapsed();
    let text = std::fs::read_to_string(data("signals-external-pin.txt")).unwrap();
    let recorded: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_once(": org.freedesktop.DBus.Properties.PropertiesChanged ("))
        .map(|(_, rest)| {
            if rest.contains("'RollbackDeployment'") {
                "PC OS [\"RollbackDeployment\"]"
            } else {
                "PC Sysroot [\"Deployments\"]"
            }
        })
        .collect();
    assert_eq!(shapes(&client.take_events()), recorded);
    assert!(
        noticed < Duration::from_millis(500),
        "noticed after {noticed:?}"
    );
}
