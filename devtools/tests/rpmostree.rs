//! Keel's rpm-ostree driver, through Keel's own D-Bus API: `keel-backend --system serve` on a
//! private session bus, its system bus being the harness's, where the rpm-ostreed test double
//! manages a real temporary sysroot. Each operation is checked against the sysroot itself.

mod on_double;

use std::collections::HashMap;
use std::time::Duration;

use keel_devtools::double::{Harness, Hooks, Options, double_exe};
use on_double::*;
use zbus::blocking::Proxy;
use zbus::zvariant::{OwnedObjectPath, Value};

/// Each test runs on both routes: `host::NAME` and `sandbox::NAME`.
macro_rules! on_both_routes {
    ($($name:ident),+ $(,)?) => {
        mod host {
            $(#[test] fn $name() { super::$name("host") })+
        }
        mod sandbox {
            $(#[test] fn $name() { super::$name("sandbox") })+
        }
    };
}

on_both_routes!(
    status_comes_from_rpm_ostreed,
    check_then_update_with_progress,
    rollback_discards_a_staged_deployment,
    rollback_without_a_staged_deployment,
    pin_follows_the_deployment_when_the_order_changed,
    remove_takes_the_deployment_asked_for,
    pinning_refused_by_polkit_changes_nothing,
    an_update_refused_by_polkit_is_permission_denied,
    a_daemon_crash_mid_update_fails_clearly_and_keel_goes_on,
    layering_install_uninstall_and_reset,
    cleanup_removes_the_rollback_deployment,
    busy_names_another_programs_transaction,
    cancel_stops_an_update,
);

fn status_comes_from_rpm_ostreed(route: &str) {
    let keel = Keel::start(Options::default(), route);
    let conn = keel.connect();
    let status = keel.status(&conn);
    assert_eq!(text(&status, "driver"), "rpm-ostree");
    assert_eq!(
        text(&status, "sysroot"),
        keel.harness.sysroot().display().to_string()
    );
    let list = deployments(&status);
    let checksums: Vec<String> = list.iter().map(|d| text(d, "checksum")).collect();
    assert_eq!(checksums, on_disk(&keel.harness));
    assert!(flag(&list[0], "booted"));
    assert!(flag(&list[1], "rollback"));
    assert!(
        u32::try_from(&list[0]["package-count"]).unwrap() > 0,
        "read from the commit"
    );
}

fn check_then_update_with_progress(route: &str) {
    // Steps slow enough for progress between them to reach the client.
    let keel = Keel::start(
        Options {
            hooks: Hooks {
                step_delay: Duration::from_millis(120),
                ..Default::default()
            },
            ..Default::default()
        },
        route,
    );
    let conn = keel.connect();
    let version = keel.harness.publish();
    let check = keel.run(&conn, "Check", &());
    assert!(check.success, "{check:?}");
    let status = keel.status(&conn);
    let update = Dict::try_from(status["cached-update"].try_clone().unwrap()).unwrap();
    assert_eq!(text(&update, "version"), version);

    let update = keel.run(&conn, "Update", &(none(),));
    assert!(update.success, "{update:?}");
    let fractions = &update.fractions;
    assert!(
        fractions.iter().any(|f| *f > 0.0 && *f < 1.0),
        "progress between start and end: {fractions:?}"
    );
    assert_eq!(fractions.last(), Some(&1.0), "{fractions:?}");
    assert!(fractions.windows(2).all(|w| w[0] <= w[1]), "{fractions:?}");
    let list = deployments(&keel.status(&conn));
    assert_eq!(text(&list[0], "version"), version);
    assert!(flag(&list[0], "staged"));
    assert_eq!(on_disk(&keel.harness)[0], text(&list[0], "checksum"));
    let status = keel.status(&conn);
    assert!(
        !status.contains_key("cached-update"),
        "what is staged no longer waits"
    );
}

fn rollback_discards_a_staged_deployment(route: &str) {
    let keel = Keel::start(Options::default(), route);
    let conn = keel.connect();
    let before = on_disk(&keel.harness);
    keel.harness.publish();
    assert!(keel.run(&conn, "Update", &(none(),)).success);
    assert_eq!(on_disk(&keel.harness).len(), 3);
    let rollback = keel.run(&conn, "Rollback", &("",));
    assert!(rollback.success, "{rollback:?}");
    // The staged deployment went; the old rollback deployment boots next.
    assert_eq!(
        on_disk(&keel.harness),
        vec![before[1].clone(), before[0].clone()]
    );
}

fn pin_follows_the_deployment_when_the_order_changed(route: &str) {
    let keel = Keel::start(Options::default(), route);
    let conn = keel.connect();
    let list = deployments(&keel.status(&conn));
    let rollback_id = text(&list[1], "id");
    // Another program reorders the deployments right before the request.
    keel.harness.ostree_admin(&["set-default", "1"]);
    let pin = keel.run(&conn, "Pin", &(rollback_id.as_str(),));
    assert!(pin.success, "{pin:?}");
    let status = keel_backend::driver::SystemDriver::status(&keel.harness.driver()).unwrap();
    let pinned: Vec<bool> = status.deployments.iter().map(|d| d.pinned).collect();
    assert_eq!(
        pinned,
        [true, false],
        "the deployment asked for, now first, is pinned"
    );
    let unpin = keel.run(&conn, "Unpin", &(rollback_id.as_str(),));
    assert!(unpin.success, "{unpin:?}");
    let status = keel_backend::driver::SystemDriver::status(&keel.harness.driver()).unwrap();
    assert!(status.deployments.iter().all(|d| !d.pinned));
}

fn remove_takes_the_deployment_asked_for(route: &str) {
    let keel = Keel::start(Options::default(), route);
    let conn = keel.connect();
    let list = deployments(&keel.status(&conn));
    let booted = text(&list[0], "checksum");
    let remove = keel.run(&conn, "Remove", &(text(&list[1], "id").as_str(),));
    assert!(remove.success, "{remove:?}");
    assert_eq!(on_disk(&keel.harness), vec![booted]);
}

fn pinning_refused_by_polkit_changes_nothing(route: &str) {
    // The pkexec double refuses as pkexec does when polkit says no.
    let keel = Keel::start_with(Options::default(), route, &[("KEEL_TEST_POLKIT", "deny")]);
    let conn = keel.connect();
    let list = deployments(&keel.status(&conn));
    let pin = keel.run(&conn, "Pin", &(text(&list[1], "id").as_str(),));
    assert!(!pin.success);
    assert!(pin.error.ends_with("PermissionDenied"), "{pin:?}");
    assert!(pin.message.contains("nothing was changed"), "{pin:?}");
    let status = keel_backend::driver::SystemDriver::status(&keel.harness.driver()).unwrap();
    assert!(status.deployments.iter().all(|d| !d.pinned));
}

fn an_update_refused_by_polkit_is_permission_denied(route: &str) {
    let keel = Keel::start(
        Options {
            hooks: Hooks {
                deny_authorization: true,
                ..Default::default()
            },
            ..Default::default()
        },
        route,
    );
    let conn = keel.connect();
    let before = on_disk(&keel.harness);
    keel.harness.publish();
    let update = keel.run(&conn, "Update", &(none(),));
    assert!(!update.success);
    assert!(update.error.ends_with("PermissionDenied"), "{update:?}");
    assert!(update.message.contains("nothing was changed"), "{update:?}");
    assert_eq!(on_disk(&keel.harness), before);
}

fn a_daemon_crash_mid_update_fails_clearly_and_keel_goes_on(route: &str) {
    let mut keel = Keel::start(
        Options {
            hooks: Hooks {
                crash_during: Some("upgrade".to_owned()),
                ..Default::default()
            },
            ..Default::default()
        },
        route,
    );
    let conn = keel.connect();
    keel.harness.publish();
    let update = keel.run(&conn, "Update", &(none(),));
    assert!(!update.success);
    assert!(update.error.ends_with("Failed"), "{update:?}");
    assert!(
        update.message.contains("stopped before it finished"),
        "{update:?}"
    );
    keel.harness.options.hooks.crash_during = None;
    keel.harness.restart_daemon();
    let status = keel.status(&conn);
    assert_eq!(text(&status, "driver"), "rpm-ostree");
    let check = keel.run(&conn, "Check", &());
    assert!(
        check.success,
        "after the restart Keel works again: {check:?}"
    );
}

fn layering_install_uninstall_and_reset(route: &str) {
    let keel = Keel::start(Options::default(), route);
    let conn = keel.connect();
    let available: Vec<(String, String, String, String)> =
        proxy(&conn).call("ListPackages", &()).unwrap();
    let name = available
        .first()
        .expect("the source offers packages")
        .0
        .clone();
    let install = keel.run(&conn, "InstallPackages", &(vec![name.as_str()],));
    assert!(install.success, "{install:?}");
    let list = deployments(&keel.status(&conn));
    let requested =
        Vec::<String>::try_from(list[0]["requested-packages"].try_clone().unwrap()).unwrap();
    assert_eq!(requested, [name.as_str()]);
    // Asking again changes nothing and succeeds.
    let again = keel.run(&conn, "InstallPackages", &(vec![name.as_str()],));
    assert!(again.success, "{again:?}");
    let reset = keel.run(&conn, "ResetPackages", &());
    assert!(reset.success, "{reset:?}");
    let list = deployments(&keel.status(&conn));
    let requested =
        Vec::<String>::try_from(list[0]["requested-packages"].try_clone().unwrap()).unwrap();
    assert!(requested.is_empty(), "{requested:?}");
}

fn cleanup_removes_the_rollback_deployment(route: &str) {
    let keel = Keel::start(Options::default(), route);
    let conn = keel.connect();
    let booted = on_disk(&keel.harness)[0].clone();
    let options: HashMap<&str, Value> = [("rollback", Value::from(true))].into_iter().collect();
    let cleanup = keel.run(&conn, "Cleanup", &(options,));
    assert!(cleanup.success, "{cleanup:?}");
    assert_eq!(on_disk(&keel.harness), vec![booted]);
}

fn busy_names_another_programs_transaction(route: &str) {
    let keel = Keel::start(
        Options {
            hooks: Hooks {
                step_delay: Duration::from_millis(400),
                ..Default::default()
            },
            ..Default::default()
        },
        route,
    );
    let conn = keel.connect();
    keel.harness.publish();
    // Another client (as `rpm-ostree upgrade` in a terminal would) starts an upgrade.
    let system = keel.harness.connect();
    let sysroot = Proxy::new(
        &system,
        "org.projectatomic.rpmostree1",
        "/org/projectatomic/rpmostree1/Sysroot",
        "org.projectatomic.rpmostree1.Sysroot",
    )
    .unwrap();
    let booted: OwnedObjectPath = sysroot.get_property("Booted").unwrap();
    let os = Proxy::new(
        &system,
        "org.projectatomic.rpmostree1",
        booted,
        "org.projectatomic.rpmostree1.OS",
    )
    .unwrap();
    let address: String = os.call("Upgrade", &(none(),)).unwrap();
    let peer = zbus::blocking::connection::Builder::address(address.as_str())
        .unwrap()
        .p2p()
        .build()
        .unwrap();
    let _: bool = peer
        .call_method(
            None::<&str>,
            "/",
            Some("org.projectatomic.rpmostree1.Transaction"),
            "Start",
            &(),
        )
        .unwrap()
        .body()
        .deserialize()
        .unwrap();
    let rollback = keel.run(&conn, "Rollback", &("",));
    assert!(!rollback.success);
    assert!(rollback.error.ends_with("Busy"), "{rollback:?}");
    assert!(
        rollback.message.contains("upgrade"),
        "names what runs: {rollback:?}"
    );
    if route == "sandbox" {
        // Whether the command's upgrade joins is the command's business.
        return;
    }
    // The identical request (Keel asks `Upgrade({})`, as the other client did) joins the running
    // upgrade and ends with it.
    let update = keel.run(&conn, "Update", &(none(),));
    assert!(update.success, "{update:?}");
}

fn rollback_without_a_staged_deployment(route: &str) {
    let keel = Keel::start(Options::default(), route);
    let conn = keel.connect();
    let before = on_disk(&keel.harness);
    let rollback = keel.run(&conn, "Rollback", &("",));
    assert!(rollback.success, "{rollback:?}");
    assert_eq!(
        on_disk(&keel.harness),
        vec![before[1].clone(), before[0].clone()]
    );
    let list = deployments(&keel.status(&conn));
    assert!(flag(&list[1], "booted") && flag(&list[0], "pending"));
    // Rolling back again puts the booted deployment back on top, as rpm-ostree does.
    let again = keel.run(&conn, "Rollback", &("",));
    assert!(again.success, "{again:?}");
    assert_eq!(on_disk(&keel.harness), before);
}

fn cancel_stops_an_update(route: &str) {
    let keel = Keel::start(
        Options {
            hooks: Hooks {
                step_delay: Duration::from_millis(500),
                ..Default::default()
            },
            ..Default::default()
        },
        route,
    );
    let conn = keel.connect();
    let before = on_disk(&keel.harness);
    keel.harness.publish();
    let path: OwnedObjectPath = proxy(&conn).call("Update", &(none(),)).unwrap();
    // Once rpm-ostree has begun.
    std::thread::sleep(Duration::from_millis(300));
    let tx = Proxy::new(&conn, NAME, path.clone(), TX_IFACE).unwrap();
    let _: () = tx.call("Cancel", &()).unwrap();
    let outcome = follow(&conn, &path);
    assert!(!outcome.success);
    assert!(outcome.error.ends_with("Cancelled"), "{outcome:?}");
    assert_eq!(on_disk(&keel.harness), before, "nothing was deployed");
}

#[test]
fn advisories_and_the_driver_show_in_the_status() {
    let keel = Keel::start(
        Options {
            advisories: Some(
                "[('FEDORA-2026-0001', uint32 1, uint32 2, ['bash-5.2-2.x86_64'], @a{sv} {}), \
                 ('FEDORA-2026-0002', uint32 1, uint32 4, ['kernel-6.12-1.x86_64'], @a{sv} {})]"
                    .to_owned(),
            ),
            ..Default::default()
        },
        "host",
    );
    let conn = keel.connect();
    keel.harness.publish();
    assert!(keel.run(&conn, "Check", &()).success);
    let status = keel.status(&conn);
    let update = Dict::try_from(status["cached-update"].try_clone().unwrap()).unwrap();
    let advisories = Vec::<Dict>::try_from(update["advisories"].try_clone().unwrap()).unwrap();
    let seen: Vec<(String, u32)> = advisories
        .iter()
        .map(|a| (text(a, "id"), u32::try_from(&a["severity"]).unwrap()))
        .collect();
    assert_eq!(
        seen,
        [
            ("FEDORA-2026-0002".to_owned(), 4),
            ("FEDORA-2026-0001".to_owned(), 2)
        ],
        "most severe first"
    );
}

#[test]
fn keel_follows_a_restarted_daemon_and_outside_changes() {
    let mut keel = Keel::start(Options::default(), "host");
    let conn = keel.connect();
    let signals = zbus::blocking::MessageIterator::for_match_rule(
        zbus::MatchRule::builder()
            .msg_type(zbus::message::Type::Signal)
            .member("StatusChanged")
            .unwrap()
            .build(),
        &conn,
        None,
    )
    .unwrap();
    keel.harness.restart_daemon();
    // Another program pins a deployment: the restarted daemon says so, Keel announces it.
    keel.harness.ostree_admin(&["pin", "1"]);
    // Read on a thread of its own, so a missing signal fails the test rather than hanging it.
    let (heard, announced) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut signals = signals;
        let _ = heard.send(signals.next().is_some());
    });
    wait_for("Keel to announce the change", || {
        let list = deployments(&keel.status(&conn));
        flag(&list[1], "pinned")
    });
    assert_eq!(
        announced.recv_timeout(std::time::Duration::from_secs(30)),
        Ok(true),
        "StatusChanged was sent"
    );
}

#[test]
fn the_command_line_reads_rpm_ostreed() {
    let harness = Harness::start(Options::default());
    let out = harness
        .command(double_exe("keel-backend"))
        .env("LANGUAGE", "C")
        .args(["--system", "status"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("Managed by: rpm-ostree"), "{text}");
    for checksum in on_disk(&harness) {
        assert!(text.contains(&checksum), "{text}");
    }
}

#[test]
fn a_container_image_origin_shows_in_the_status() {
    let keel = Keel::start(Options::default(), "host");
    let reference = "ostree-image-signed:docker://ghcr.io/ublue-os/bluefin:stable";
    keel.harness.set_container_origin(0, reference);
    let conn = keel.connect();
    wait_for("Keel to see the new origin", || {
        let list = deployments(&keel.status(&conn));
        text(&list[0], "container-image") == reference && !list[0].contains_key("origin")
    });
}
