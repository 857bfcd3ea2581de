//! The developer tools run end to end: the benchmark prints its table, fedora-scale makes a sysroot
//! that `keel-backend` reads.

use std::process::Command;

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn bench_prints_its_table() {
    let out = Command::new(env!("CARGO_BIN_EXE_keel-devtools"))
        .args(["bench", "--sizes", "50", "--runs", "1"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let table = String::from_utf8(out.stdout).unwrap();
    for row in ["update (pull + deploy)", "rollback", "status (in process)"] {
        assert!(table.contains(row), "{table}");
    }
}

#[test]
fn fedora_scale_makes_a_sysroot_keel_reads() {
    // A relative path, as people type it (its remote's URL must still name a local path).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scale");
    let out = Command::new(env!("CARGO_BIN_EXE_keel-devtools"))
        .current_dir(dir.path())
        .arg("fedora-scale")
        .arg("scale")
        .args(["--deployments", "2", "--packages", "300"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let sysroot = path.join("sysroot");
    let driver = keel_backend::driver::open(&keel_backend::driver::Target {
        path: sysroot.clone(),
        demo: false,
    })
    .unwrap();
    let status = driver.status().unwrap();
    assert_eq!(status.deployments.len(), 2);
    assert!(status.deployments.iter().all(|d| d.package_count == 300));
    assert_eq!(driver.packages("1").unwrap().len(), 300);
    drop(driver);
    let out = Command::new(env!("CARGO_BIN_EXE_keel-devtools"))
        .arg("remove")
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(!path.exists());
}
