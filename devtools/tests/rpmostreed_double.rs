//! The rpm-ostreed double behaves as rpm-ostreed on the operations Keel uses: each test drives it
//! over a private system bus, as a client would, and checks both what it said and the sysroot.

mod common;

use common::*;
use keel_devtools::double::{Harness, Options};

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
