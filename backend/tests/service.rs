//! The D-Bus service on a private dbus-daemon, with the real engine on temporary demo sysroots.

mod common;

use std::collections::HashMap;
use std::process::Command;
use std::time::{Duration, Instant};

use common::bus::*;
use common::{Demo, HttpServer, Rng};
use zbus::blocking::Proxy;
use zbus::zvariant::{OwnedObjectPath, Value};

/// Asks to pin the rollback deployment while another transaction runs, which must fail: the
/// deployment's id, the error's name and its message.
fn pin_while_busy(proxy: &Proxy) -> (String, String, String) {
    let rollback = string(&deployments(&status(proxy))[1], "id");
    let err = proxy
        .call::<_, _, OwnedObjectPath>("Pin", &(rollback.as_str(),))
        .unwrap_err();
    let zbus::Error::MethodError(name, Some(message), _) = err else {
        panic!("expected a D-Bus error, got {err:?}")
    };
    (rollback, name.to_string(), message)
}

fn no_options() -> HashMap<String, Value<'static>> {
    HashMap::new()
}

type PackageTuple = (String, String, String, String, String);

/// A commit's package list as libostree reads it from the commit metadata, without Keel's code.
fn commit_pkglist(sysroot: &std::path::Path, checksum: &str) -> Vec<PackageTuple> {
    let repo = ostree::Repo::new_for_path(sysroot.join("ostree/repo"));
    repo.open(ostree::gio::Cancellable::NONE).unwrap();
    let commit = repo
        .load_variant(ostree::ObjectType::Commit, checksum)
        .unwrap();
    let meta = ostree::glib::VariantDict::new(Some(&commit.child_value(0)));
    meta.lookup_value("rpmostree.rpmdb.pkglist", None)
        .and_then(|v| v.get())
        .expect("the demo's commits carry a(sssss) package lists")
}

#[test]
fn packages_come_on_demand_not_in_the_status() {
    let service = Service::start(Demo::new());
    let conn = service.connect();
    let proxy = service.proxy(&conn);
    let list = deployments(&status(&proxy));
    assert!(
        !list[0].contains_key("packages"),
        "the status carries counts, not lists"
    );
    let (id, checksum) = (string(&list[0], "id"), string(&list[0], "checksum"));
    let expected = commit_pkglist(&service.demo.sysroot(), &checksum);
    assert!(expected.len() >= 50);
    assert_eq!(
        get::<u32>(&list[0], "package-count") as usize,
        expected.len()
    );
    for name in ["0", id.as_str(), "booted", checksum.as_str()] {
        let packages: Vec<PackageTuple> = proxy.call("GetPackages", &(name,)).unwrap();
        assert_eq!(packages, expected, "GetPackages({name})");
    }
    let rollback = string(&list[1], "checksum");
    let packages: Vec<PackageTuple> = proxy.call("GetPackages", &("rollback",)).unwrap();
    assert_eq!(packages, commit_pkglist(&service.demo.sysroot(), &rollback));
    match proxy.call::<_, _, Vec<PackageTuple>>("GetPackages", &("keeldemo-0000.0",)) {
        Err(zbus::Error::MethodError(name, Some(message), _)) => {
            assert_eq!(
                name.as_str(),
                "io.github.keelapp.Keel.Backend1.Error.NotFound"
            );
            assert!(
                message.starts_with("There is no deployment “keeldemo-0000.0”.")
                    && message.ends_with('.'),
                "{message}"
            );
        }
        other => panic!("an unknown deployment is NotFound, not {other:?}"),
    }
}

#[test]
fn status_reads_the_system() {
    let service = Service::start(Demo::new());
    let conn = service.connect();
    let proxy = service.proxy(&conn);
    let status = status(&proxy);
    assert_eq!(string(&status, "os-name"), "Keel Demo OS");
    let list = deployments(&status);
    assert_eq!(list.len(), 2);
    assert!(get::<bool>(&list[0], "booted"));
    assert_eq!(string(&list[0], "version"), "41.20261112.0");
    assert!(get::<bool>(&list[1], "rollback"));
    assert_eq!(string(&status, "rollback-target"), string(&list[1], "id"));
    let capabilities = Dict::try_from(status["capabilities"].try_clone().unwrap()).unwrap();
    assert!(get::<bool>(&capabilities, "can-layer"));
    assert!(!get::<bool>(&capabilities, "can-reboot"), "simulated");
    let packages: Vec<(String, String, String, String)> = proxy.call("ListPackages", &()).unwrap();
    assert!(packages.iter().any(|p| p.0 == "htop"));
    let diff: Dict = proxy.call("GetDiff", &("1", "0")).unwrap();
    assert!(diff.contains_key("upgraded"));
    let active: OwnedObjectPath = proxy.get_property("ActiveTransaction").unwrap();
    assert_eq!(active.as_str(), "/");
    // Estimating a cleanup names the rollback deployment and changes nothing.
    let before = service.demo.fingerprint();
    let estimate: Dict = proxy.call("EstimateCleanup", &(no_options(),)).unwrap();
    let ids = Vec::<String>::try_from(estimate["deployments"].try_clone().unwrap()).unwrap();
    assert_eq!(ids, vec![string(&list[1], "id")]);
    assert!(get::<u64>(&estimate, "bytes") > 0);
    assert_eq!(service.demo.fingerprint(), before);
    let refused = proxy.call::<_, _, Dict>(
        "EstimateCleanup",
        &(HashMap::from([("everything", Value::from(true))]),),
    );
    assert!(refused.unwrap_err().to_string().contains("InvalidArgument"));
    // The package source goes away: the next status says so (nothing stale kept).
    common::ostree_on(
        &service.demo.remote(),
        &["refs", "--delete", "packages/index"],
    );
    let capabilities =
        Dict::try_from(self::status(&proxy)["capabilities"].try_clone().unwrap()).unwrap();
    assert!(!get::<bool>(&capabilities, "can-layer"));
}

#[test]
fn update_reports_rising_progress_and_finishes() {
    let demo = Demo::new();
    let _server = HttpServer::serve_remote(&demo, 0.02);
    let service = Service::start(demo);
    let conn = service.connect();
    let proxy = service.proxy(&conn);
    let signals = transaction_signals(&conn);
    let path: OwnedObjectPath = proxy.call("Update", &(no_options(),)).unwrap();
    let mut fractions = Vec::new();
    let mut finished = None;
    for message in signals {
        let message = message.unwrap();
        let header = message.header();
        if header.path().map(|p| p.as_str()) != Some(path.as_str()) {
            continue;
        }
        match header.member().map(|m| m.as_str()) {
            Some("Progress") => {
                let (fraction, _phase, _msg, _done, _total): (f64, String, String, u64, u64) =
                    message.body().deserialize().unwrap();
                fractions.push(fraction);
            }
            Some("Finished") => {
                finished = Some(
                    message
                        .body()
                        .deserialize::<(bool, String, String)>()
                        .unwrap(),
                );
                break;
            }
            _ => {}
        }
    }
    let (success, name, message) = finished.unwrap();
    assert!(success, "{name}: {message}");
    // A sentence a person reads, never a Rust value's Debug form.
    assert!(
        message == "41.20261125.0 is deployed; it boots after a restart.",
        "{message}"
    );
    assert!(fractions.len() >= 3, "progress was reported: {fractions:?}");
    assert!(
        fractions.windows(2).all(|w| w[0] <= w[1]),
        "never goes down: {fractions:?}"
    );
    assert_eq!(*fractions.last().unwrap(), 1.0);
    let list = deployments(&status(&proxy));
    assert_eq!(string(&list[0], "version"), "41.20261125.0");
    service.demo.assert_agrees_with_ostree();
}

#[test]
fn one_transaction_at_a_time() {
    let demo = Demo::new();
    let _server = HttpServer::serve_remote(&demo, 0.1);
    let service = Service::start(demo);
    let conn = service.connect();
    let proxy = service.proxy(&conn);
    let first: OwnedObjectPath = proxy.call("Update", &(no_options(),)).unwrap();
    let joined: OwnedObjectPath = proxy.call("Update", &(no_options(),)).unwrap();
    assert_eq!(first, joined, "an identical request joins the running one");
    let active: OwnedObjectPath = proxy.get_property("ActiveTransaction").unwrap();
    assert_eq!(active, first);
    let (rollback, name, message) = pin_while_busy(&proxy);
    assert_eq!(name, "io.github.keelapp.Keel.Backend1.Error.Busy");
    assert!(message.contains("An update is running"), "{message}");
    let (success, ..) = wait_finished(&service.transaction(&conn, &first));
    assert!(success);
    let _: OwnedObjectPath = proxy.call("Pin", &(rollback.as_str(),)).unwrap();
}

/// What the window shows from the backend — a Busy error, progress phases, the transaction's
/// last sentence, a history entry — is in the language of the session that started it.
#[test]
fn a_german_session_reads_german() {
    let demo = Demo::new();
    let _server = HttpServer::serve_remote(&demo, 0.1);
    let service = Service::start_german(demo);
    let conn = service.connect();
    let proxy = service.proxy(&conn);
    let signals = transaction_signals(&conn);
    let update: OwnedObjectPath = proxy.call("Update", &(no_options(),)).unwrap();
    let (_, _, message) = pin_while_busy(&proxy);
    assert!(
        message.starts_with("Eine Aktualisierung läuft gerade. Warten Sie,"),
        "{message}"
    );
    let mut phases = std::collections::BTreeSet::new();
    for message in signals {
        let message = message.unwrap();
        if message.header().member().map(|m| m.as_str()) != Some("Progress") {
            continue;
        }
        let (fraction, phase, ..): (f64, String, String, u64, u64) =
            message.body().deserialize().unwrap();
        phases.insert(phase);
        if fraction >= 1.0 {
            break;
        }
    }
    // Progress is sent at most every 50 ms, so short phases may not show; these always do.
    for phase in ["Herunterladen", "Fertig"] {
        assert!(phases.contains(phase), "{phase} in {phases:?}");
    }
    assert!(
        !phases
            .iter()
            .any(|p| ["Downloading", "Deploying", "Done"].contains(&p.as_str())),
        "no English phase: {phases:?}"
    );
    let (success, _, _) = wait_finished(&service.transaction(&conn, &update));
    assert!(success);
    let last_phase: String = service
        .transaction(&conn, &update)
        .get_property("Phase")
        .unwrap();
    assert_eq!(last_phase, "Fertig", "the transaction ends in German");
    let said: String = service
        .transaction(&conn, &update)
        .get_property("Message")
        .unwrap();
    assert_eq!(
        said,
        "41.20261125.0 ist bereitgestellt und wird nach einem Neustart gestartet."
    );
    let history: Vec<Dict> = proxy.call("GetHistory", &()).unwrap();
    let last = history.last().expect("the update is in the history");
    assert_eq!(
        string(last, "message"),
        "Bereitgestellt; wird als Nächstes gestartet"
    );
}

#[test]
fn mutations_name_deployments_by_id() {
    let service = Service::start(Demo::new());
    let conn = service.connect();
    let proxy = service.proxy(&conn);
    for (method, place) in [
        ("Pin", "1"),
        ("Unpin", "0"),
        ("Remove", "1"),
        ("Rollback", "1"),
        ("Pin", "rollback"),
    ] {
        let err = proxy
            .call::<_, _, OwnedObjectPath>(method, &(place,))
            .unwrap_err();
        let zbus::Error::MethodError(name, Some(message), _) = err else {
            panic!("expected a D-Bus error, got {err:?}")
        };
        assert_eq!(
            name.as_str(),
            "io.github.keelapp.Keel.Backend1.Error.InvalidArgument",
            "{method}({place})"
        );
        assert!(message.contains("by its id"), "{message}");
    }
    let rollback = string(&deployments(&status(&proxy))[1], "id");
    let path: OwnedObjectPath = proxy.call("Pin", &(rollback.as_str(),)).unwrap();
    let (success, _, message) = wait_finished(&service.transaction(&conn, &path));
    assert!(success, "{message}");
    let said: String = service
        .transaction(&conn, &path)
        .get_property("Message")
        .unwrap();
    assert_eq!(said, "41.20261101.0 is pinned.", "a sentence, not an id");
    assert!(get::<bool>(&deployments(&status(&proxy))[1], "pinned"));
}

#[test]
fn cancel_during_the_download_changes_nothing() {
    let demo = Demo::new();
    let _server = HttpServer::serve_remote(&demo, 0.2);
    let service = Service::start(demo);
    let before = service.demo.fingerprint();
    let conn = service.connect();
    let proxy = service.proxy(&conn);
    let path: OwnedObjectPath = proxy.call("Update", &(no_options(),)).unwrap();
    let tx = service.transaction(&conn, &path);
    wait_for("the download to start", || {
        tx.get_property::<String>("Phase").unwrap() == "Downloading"
    });
    tx.call_method("Cancel", &()).unwrap();
    let (success, name, _) = wait_finished(&tx);
    assert!(!success);
    assert_eq!(name, "io.github.keelapp.Keel.Backend1.Error.Cancelled");
    assert_eq!(tx.get_property::<String>("State").unwrap(), "cancelled");
    assert_eq!(service.demo.fingerprint(), before);
}

#[test]
fn a_transaction_whose_signals_fail_does_not_leave_the_service_busy() {
    let service = Service::start_with(Demo::new(), &["--test-fail-progress-signals"]);
    let conn = service.connect();
    let proxy = service.proxy(&conn);
    // Read afresh each time, not from what the service announced.
    let uncached = zbus::blocking::proxy::Builder::<Proxy>::new(&conn)
        .destination(service.name.clone())
        .unwrap()
        .path(PATH)
        .unwrap()
        .interface(IFACE)
        .unwrap()
        .cache_properties(zbus::proxy::CacheProperties::No)
        .build()
        .unwrap();
    let _update: OwnedObjectPath = proxy.call("Update", &(no_options(),)).unwrap();
    // The update itself goes on; once it is over, the service takes the next request.
    wait_for("the service to be free again", || {
        let active: OwnedObjectPath = uncached.get_property("ActiveTransaction").unwrap();
        active.as_str() == "/"
    });
    assert_eq!(
        deployments(&status(&proxy)).len(),
        3,
        "the update was deployed"
    );
    let check: OwnedObjectPath = proxy.call("Check", &()).expect("a new transaction starts");
    assert_ne!(check.as_str(), "/");
}

/// A remote that takes connections and never answers; tells `accepted` of each connection.
fn silent_remote(accepted: std::sync::mpsc::Sender<()>) -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
            let _ = accepted.send(());
        }
    });
    port
}

#[test]
fn status_answers_while_the_package_source_does_not() {
    let demo = Demo::new();
    let (accepted_tx, accepted) = std::sync::mpsc::channel();
    let port = silent_remote(accepted_tx);
    demo.set_remote_url(&format!("http://127.0.0.1:{port}"));
    let service = Service::start(demo);
    // The listing runs on its own connection and hangs with the remote.
    let listing_conn = service.connect();
    let name = service.name.clone();
    std::thread::spawn(move || {
        let proxy = Proxy::new(&listing_conn, name, PATH, IFACE).unwrap();
        let _ = proxy.call::<_, _, Vec<(String, String, String, String)>>("ListPackages", &());
    });
    accepted
        .recv_timeout(Duration::from_secs(30))
        .expect("the backend asks the remote for its package source");
    let (answer_tx, answer) = std::sync::mpsc::channel();
    let conn = service.connect();
    let name = service.name.clone();
    std::thread::spawn(move || {
        let proxy = Proxy::new(&conn, name, PATH, IFACE).unwrap();
        let _ = answer_tx.send(proxy.call::<_, _, Dict>("GetStatus", &()).is_ok());
    });
    let answered = answer
        .recv_timeout(Duration::from_secs(10))
        .expect("GetStatus answers while the package source is being read");
    assert!(answered, "GetStatus failed");
}

#[test]
fn transactions_outlive_their_caller_and_others_can_attach() {
    let demo = Demo::new();
    let _server = HttpServer::serve_remote(&demo, 0.1);
    let service = Service::start(demo);
    let path = {
        let conn = service.connect();
        let proxy = service.proxy(&conn);
        let path: OwnedObjectPath = proxy.call("Update", &(no_options(),)).unwrap();
        path
        // The caller's connection closes here, mid-update.
    };
    let conn = service.connect();
    let proxy = service.proxy(&conn);
    let active: OwnedObjectPath = proxy.get_property("ActiveTransaction").unwrap();
    assert_eq!(active, path, "a new client finds the running transaction");
    let tx = service.transaction(&conn, &active);
    let mut progress = tx.receive_signal("Progress").unwrap();
    let first = progress.next().expect("the attached client hears progress");
    let (fraction, ..): (f64, String, String, u64, u64) = first.body().deserialize().unwrap();
    assert!((0.0..=1.0).contains(&fraction));
    let (success, name, message) = wait_finished(&tx);
    assert!(success, "{name}: {message}");
    assert_eq!(
        string(&deployments(&status(&proxy))[0], "version"),
        "41.20261125.0"
    );
}

#[test]
fn a_killed_service_leaves_a_valid_sysroot() {
    let demo = Demo::new();
    let _server = HttpServer::serve_remote(&demo, 0.05);
    let mut service = Service::start(demo);
    {
        let conn = service.connect();
        let proxy = service.proxy(&conn);
        let path: OwnedObjectPath = proxy.call("Update", &(no_options(),)).unwrap();
        let tx = service.transaction(&conn, &path);
        wait_for("some progress", || {
            tx.get_property::<f64>("Fraction").unwrap() > 0.1
        });
    }
    service.kill_backend();
    service.demo.assert_agrees_with_ostree();
    service.spawn_backend();
    let conn = service.connect();
    let proxy = service.proxy(&conn);
    assert!(
        deployments(&status(&proxy))
            .iter()
            .any(|d| get::<bool>(d, "booted"))
    );
    let path: OwnedObjectPath = proxy.call("Update", &(no_options(),)).unwrap();
    let (success, name, message) = wait_finished(&service.transaction(&conn, &path));
    assert!(success, "{name}: {message}");
    service.demo.assert_agrees_with_ostree();
}

#[test]
fn changes_by_other_programs_are_announced() {
    let service = Service::start(Demo::new());
    let conn = service.connect();
    let proxy = service.proxy(&conn);
    let mut changes = proxy.receive_signal("StatusChanged").unwrap();
    let out = Command::new("ostree")
        .args(["admin", "pin", "1", "--sysroot"])
        .arg(service.demo.sysroot())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::text(&out));
    changes.next().expect("a StatusChanged signal");
    assert!(get::<bool>(&deployments(&status(&proxy))[1], "pinned"));
}

trait Junk {
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T;
    fn junk(&mut self) -> String;
}

impl Junk for Rng {
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// Strings that can name no deployment and no package.
    fn junk(&mut self) -> String {
        let pieces = [
            "",
            "-1",
            "99",
            "4294967296",
            "booted2",
            "../../etc",
            "htop;rm -rf /",
            "🙂",
            "keeldemo-0.0",
            "\u{7f}",
            " ",
            "pending ",
            "a/b",
            "--help",
        ];
        let mut s = self.pick(&pieces).to_string();
        if self.next().is_multiple_of(3) {
            s.push_str(&"x".repeat((self.next() % 5000) as usize));
        }
        s
    }
}

#[test]
fn random_and_malformed_calls_change_nothing() {
    let service = Service::start(Demo::new());
    let before = service.demo.fingerprint();
    let conn = service.connect();
    let name = service.name.as_str();
    let (mut rng, seed) = Rng::seeded("KEEL_FUZZ_SEED", 0x6b65_656c_0002);
    let methods = [
        "GetStatus",
        "GetDiff",
        "GetConfigDiff",
        "GetHistory",
        "ListPackages",
        "Check",
        "Update",
        "Rollback",
        "Pin",
        "Unpin",
        "Remove",
        "InstallPackages",
        "UninstallPackages",
        "ResetPackages",
        "Cleanup",
        "EstimateCleanup",
        "Reboot",
        "RegisterClient",
        "NoSuchMethod",
    ];
    let calls = 1000;
    for _ in 0..calls {
        let method = *rng.pick(&methods);
        let junk = rng.junk();
        let options: HashMap<String, Value> = [(
            rng.junk(),
            match rng.next() % 3 {
                0 => Value::from(true),
                1 => Value::from(rng.junk()),
                _ => Value::from(7u32),
            },
        )]
        .into_iter()
        .collect();
        let names = vec![rng.junk(), rng.junk()];
        let result = match (method, rng.next() % 4) {
            // Methods that take nothing, called with something: refused by the bus layer.
            ("Check" | "ResetPackages" | "Reboot" | "GetStatus", _) => {
                conn.call_method(Some(name), PATH, Some(IFACE), method, &(junk.as_str(),))
            }
            ("Update" | "Cleanup" | "EstimateCleanup", _) => {
                conn.call_method(Some(name), PATH, Some(IFACE), method, &(options,))
            }
            ("InstallPackages" | "UninstallPackages", 0) => {
                conn.call_method(Some(name), PATH, Some(IFACE), method, &(junk.as_str(),))
            }
            ("InstallPackages" | "UninstallPackages", _) => {
                conn.call_method(Some(name), PATH, Some(IFACE), method, &(names,))
            }
            // An empty deployment means "the rollback one": a real request, so never send it.
            ("Rollback", _) => {
                let target = if junk.is_empty() {
                    "nowhere".to_owned()
                } else {
                    junk.clone()
                };
                conn.call_method(Some(name), PATH, Some(IFACE), method, &(target.as_str(),))
            }
            ("GetDiff", _) => {
                conn.call_method(Some(name), PATH, Some(IFACE), method, &(junk.as_str(), "0"))
            }
            (_, 0) => conn.call_method(
                Some(name),
                PATH,
                Some(IFACE),
                method,
                &(42u32, junk.as_str()),
            ),
            _ => conn.call_method(Some(name), PATH, Some(IFACE), method, &(junk.as_str(),)),
        };
        if let Err(zbus::Error::MethodError(name, _, _)) = &result {
            assert!(
                !name.as_str().ends_with(".Failed"),
                "{method}({junk:?}) failed instead of being refused: {result:?}"
            );
        }
    }
    let proxy = service.proxy(&conn);
    status(&proxy);
    let active: OwnedObjectPath = proxy.get_property("ActiveTransaction").unwrap();
    assert_eq!(active.as_str(), "/", "no junk started a transaction");
    assert_eq!(service.demo.fingerprint(), before, "seed {seed}");
}

#[test]
fn committed_introspection_matches_the_service() {
    let service = Service::start(Demo::new());
    let conn = service.connect();
    let live = |path: &str| -> String {
        let proxy = zbus::blocking::fdo::IntrospectableProxy::builder(&conn)
            .destination(service.name.as_str())
            .unwrap()
            .path(path)
            .unwrap()
            .build()
            .unwrap();
        proxy.introspect().unwrap()
    };
    let committed = |file: &str| {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../data/dbus")
            .join(file);
        (file.to_owned(), std::fs::read_to_string(path).unwrap())
    };
    let backend_xml = committed("io.github.keelapp.Keel.Backend1.xml");
    let apps_xml = committed("io.github.keelapp.Keel.Apps1.xml");
    let proxy = service.proxy(&conn);
    let rollback = string(&deployments(&status(&proxy))[1], "id");
    let path: OwnedObjectPath = proxy.call("Pin", &(rollback.as_str(),)).unwrap();
    wait_finished(&service.transaction(&conn, &path));
    for (xml, iface, (file, committed)) in [
        (live(PATH), IFACE, &backend_xml),
        (live(path.as_str()), TX_IFACE, &backend_xml),
        (live(PATH), APPS_IFACE, &apps_xml),
    ] {
        let block = interface_block(&xml, iface);
        assert_eq!(
            squash(&interface_block(committed, iface)),
            squash(&block),
            "data/dbus/{file} is out of date for {iface}; the service says:\n{block}"
        );
    }
}

fn interface_block(xml: &str, iface: &str) -> String {
    let start = xml
        .find(&format!("<interface name=\"{iface}\">"))
        .unwrap_or_else(|| panic!("{iface} not in:\n{xml}"));
    let end = start + xml[start..].find("</interface>").unwrap() + "</interface>".len();
    xml[start..end].to_owned()
}

/// Compares XML without caring about indentation or comments.
fn squash(xml: &str) -> String {
    let mut out = String::new();
    let mut rest = xml;
    while let Some(start) = rest.find("<!--") {
        out.push_str(&rest[..start]);
        rest = &rest[start + rest[start..].find("-->").unwrap() + 3..];
    }
    out.push_str(rest);
    out.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace("> <", "><")
}

#[test]
fn unregistered_idle_service_exits() {
    let demo = Demo::new();
    let bus = Bus::start();
    let mut backend = Command::new(common::bin())
        .arg("--sysroot")
        .arg(demo.sysroot())
        .args(["serve", "--idle-timeout", "2", "--address", &bus.address])
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = common::wait_exit(&mut backend, Duration::from_secs(60));
    assert!(status.success());
    assert!(started.elapsed() >= Duration::from_secs(2));
}
