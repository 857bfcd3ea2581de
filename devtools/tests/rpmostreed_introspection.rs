//! The double's interfaces are rpm-ostreed's: every interface, method, signal and property of the
//! real `org.projectatomic.rpmostree1.xml`, with the same argument names, types and directions —
//! and nothing more. The introspection of the running double is compared with the XML.

mod common;

use std::collections::BTreeMap;

use common::*;
use keel_devtools::double::{Harness, Options};

/// An interface reduced to what a client depends on.
#[derive(Debug, Default, PartialEq)]
struct Interface {
    /// name → arguments as "direction type name".
    methods: BTreeMap<String, Vec<String>>,
    /// name → arguments as "type name".
    signals: BTreeMap<String, Vec<String>>,
    /// name → "type access".
    properties: BTreeMap<String, String>,
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let end = tag[start..].find('"')? + start;
    Some(tag[start..end].to_owned())
}

/// Reads introspection XML: comments dropped, then the tags in order.
fn parse(xml: &str) -> BTreeMap<String, Interface> {
    let mut text = xml.to_owned();
    while let Some(start) = text.find("<!--") {
        let end = text[start..].find("-->").expect("a closed comment") + start + 3;
        text.replace_range(start..end, "");
    }
    let mut interfaces = BTreeMap::new();
    let mut interface: Option<(String, Interface)> = None;
    // The member whose arguments are being read: (is a signal, name).
    let mut member: Option<(bool, String)> = None;
    for piece in text.split('<').skip(1) {
        let tag = piece.split('>').next().unwrap_or_default();
        let tag = format!(" {}", tag.trim_end_matches('/'));
        let kind = tag.split_whitespace().next().unwrap_or_default().to_owned();
        let name = attribute(&tag, "name").unwrap_or_default();
        match kind.as_str() {
            "interface" => interface = Some((name, Interface::default())),
            "/interface" => {
                let (name, done) = interface.take().expect("an open interface");
                interfaces.insert(name, done);
            }
            "method" | "signal" => {
                let Some((_, iface)) = interface.as_mut() else {
                    continue;
                };
                let signal = kind == "signal";
                let list = if signal {
                    &mut iface.signals
                } else {
                    &mut iface.methods
                };
                list.insert(name.clone(), Vec::new());
                member = Some((signal, name));
            }
            "/method" | "/signal" => member = None,
            "arg" => {
                let (Some((_, iface)), Some((signal, owner))) = (interface.as_mut(), &member)
                else {
                    continue;
                };
                let ty = attribute(&tag, "type").expect("an argument type");
                if *signal {
                    iface
                        .signals
                        .get_mut(owner)
                        .unwrap()
                        .push(format!("{ty} {name}"));
                } else {
                    let direction = attribute(&tag, "direction").unwrap_or("in".to_owned());
                    iface
                        .methods
                        .get_mut(owner)
                        .unwrap()
                        .push(format!("{direction} {ty} {name}"));
                }
            }
            "property" => {
                let Some((_, iface)) = interface.as_mut() else {
                    continue;
                };
                let ty = attribute(&tag, "type").expect("a property type");
                let access = attribute(&tag, "access").expect("a property access");
                iface.properties.insert(name, format!("{ty} {access}"));
            }
            _ => {}
        }
        // A member written as <method name="X"/> has no closing tag.
        if piece.split('>').next().unwrap_or_default().ends_with('/')
            && (kind == "method" || kind == "signal")
        {
            member = None;
        }
    }
    interfaces
}

fn introspect(client: &Client, path: &str) -> BTreeMap<String, Interface> {
    let reply = client
        .call(
            path,
            "org.freedesktop.DBus.Introspectable",
            "Introspect",
            None,
        )
        .unwrap();
    parse(reply.child_value(0).str().unwrap())
}

fn reference() -> BTreeMap<String, Interface> {
    parse(&std::fs::read_to_string(data("org.projectatomic.rpmostree1.xml")).unwrap())
}

#[test]
fn the_reference_xml_is_read_whole() {
    let reference = reference();
    assert_eq!(reference.len(), 4, "{:?}", reference.keys());
    let os = &reference["org.projectatomic.rpmostree1.OS"];
    assert_eq!(os.methods.len(), 27, "{:?}", os.methods.keys());
    assert_eq!(
        os.methods["AutomaticUpdateTrigger"],
        [
            "in a{sv} options",
            "out b enabled",
            "out s transaction_address"
        ]
    );
    let txn = &reference["org.projectatomic.rpmostree1.Transaction"];
    assert_eq!(txn.signals["PercentProgress"], ["s text", "u percentage"]);
    assert_eq!(txn.signals["ProgressEnd"], Vec::<String>::new());
}

#[test]
fn every_interface_is_the_real_one() {
    let harness = Harness::start(Options::default());
    let client = Client::new(harness.bus_address());
    let reference = reference();

    let mut served = introspect(&client, SYSROOT);
    served.extend(introspect(&client, &client.os_path()));
    // The Transaction interface lives on the peer connection of a transaction.
    let reply = client
        .call(
            &client.os_path(),
            OS_IFACE,
            "AutomaticUpdateTrigger",
            Some("({'mode': <'check'>},)"),
        )
        .unwrap();
    let peer = client.connect_peer(reply.child_value(1).str().unwrap());
    let xml = client.peer_call(
        &peer,
        "org.freedesktop.DBus.Introspectable",
        "Introspect",
        None,
    );
    served.extend(parse(xml.child_value(0).str().unwrap()));

    for (name, expected) in &reference {
        let got = served
            .get(name)
            .unwrap_or_else(|| panic!("the double does not serve {name}"));
        assert_eq!(got.properties, expected.properties, "properties of {name}");
        assert_eq!(got.signals, expected.signals, "signals of {name}");
        assert_eq!(got.methods, expected.methods, "methods of {name}");
    }
    let extra: Vec<&String> = served
        .keys()
        .filter(|n| n.starts_with("org.projectatomic.") && !reference.contains_key(*n))
        .collect();
    assert!(
        extra.is_empty(),
        "interfaces rpm-ostreed does not have: {extra:?}"
    );
}

#[test]
fn the_object_manager_lists_both_objects_as_recorded() {
    let harness = Harness::start(Options {
        fresh: true,
        ..Default::default()
    });
    let client = Client::new(harness.bus_address());
    let reply = client
        .call(
            "/org/projectatomic/rpmostree1",
            "org.freedesktop.DBus.ObjectManager",
            "GetManagedObjects",
            None,
        )
        .unwrap();
    let recorded = std::fs::read_to_string(data("managed-objects-fresh.txt")).unwrap();
    let recorded = recorded.lines().find(|l| !l.starts_with('#')).unwrap();
    let recorded = ostree::glib::Variant::parse(None, recorded).unwrap();
    // Objects by their last path element (the OS object is named after the stateroot).
    let describe = |objects: &ostree::glib::Variant, osname: &str| {
        let mut list: Vec<(String, String, String)> = Vec::new();
        for entry in objects.iter() {
            let path = entry.child_value(0).str().unwrap().replace(osname, "OS");
            for iface in entry.child_value(1).iter() {
                let name = iface.child_value(0).str().unwrap().to_owned();
                if name.starts_with("org.projectatomic.") {
                    list.push((path.clone(), name, shape(&iface.child_value(1))));
                }
            }
        }
        list.sort();
        list
    };
    let osname = client.os("Name").str().unwrap().to_owned();
    let served = describe(&reply.child_value(0), &osname);
    let expected = describe(&recorded.child_value(0), "peeros");
    assert_eq!(served.len(), 3, "{served:#?}");
    for (got, want) in served.iter().zip(&expected) {
        assert_eq!(got, want);
    }
}
