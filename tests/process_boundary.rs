//! The UI process talks to the backend over D-Bus only: `keel` must not link libostree.

#[test]
fn keel_does_not_link_libostree() {
    let out = std::process::Command::new("ldd")
        .arg(env!("CARGO_BIN_EXE_keel"))
        .output()
        .expect("ldd runs");
    let libraries = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "ldd failed: {libraries}");
    assert!(
        libraries.contains("libgtk-4"),
        "ldd lists the libraries: {libraries}"
    );
    assert!(
        !libraries.contains("libostree"),
        "keel links libostree:\n{libraries}"
    );
}
