//! Crash safety: `keel-backend` is killed with SIGKILL at random moments during update, rollback,
//! pin, cleanup and layering; after each kill the system must still be whole and usable.
//!
//! `KEEL_CRASH_RUNS` sets how many kills (default 20; use 200 or more for a soak),
//! `KEEL_CRASH_SEED` replays a run.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Demo, Rng, bin, stop, text};

const OPERATIONS: &[&[&str]] = &[
    &["update"],
    &["rollback"],
    &["pin", "1"],
    &["cleanup", "--rollback"],
    &["install", "htop"],
];

fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    let status = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(status.success());
}

/// Everything a user needs after a crash: libostree can read the system, the repository is
/// intact, the boot entries match the deployments, something is booted, and work can go on.
fn assert_whole(demo: &Demo, context: &str) {
    demo.assert_agrees_with_ostree();
    let fsck = Command::new("ostree")
        .args(["fsck", "--repo"])
        .arg(demo.sysroot().join("ostree/repo"))
        .output()
        .unwrap();
    assert!(
        fsck.status.success(),
        "{context}: ostree fsck: {}",
        text(&fsck)
    );
    let status = demo.status();
    let booted = status
        .booted()
        .unwrap_or_else(|| panic!("{context}: nothing is booted"));
    let dir = demo.deployment_dir(
        &format!("{}.{}", booted.checksum, booted.serial),
        &booted.osname,
    );
    assert!(
        dir.join("usr/lib/os-release").exists(),
        "{context}: the booted tree is gone"
    );
    for entry in std::fs::read_dir(demo.sysroot().join("boot/loader/entries")).unwrap() {
        let conf = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let linux = conf.lines().find_map(|l| l.strip_prefix("linux ")).unwrap();
        let kernel = demo
            .sysroot()
            .join("boot")
            .join(linux.trim_start_matches('/'));
        assert!(
            kernel.exists(),
            "{context}: boot entry names a missing kernel {linux}"
        );
    }
    // The next operation works.
    demo.ok(&["pin", "0"]);
    demo.ok(&["unpin", "0"]);
}

#[test]
fn sigkill_at_random_moments_leaves_a_working_system() {
    let runs: u64 = std::env::var("KEEL_CRASH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    eprintln!("crash test: {runs} runs");
    let (mut rng, seed) = Rng::seeded("KEEL_CRASH_SEED", 0x6b65_656c_0001);
    let template = Demo::new();
    template.ok(&["check"]);

    // How long each operation takes when left alone, to aim the kills inside it.
    let mut durations = Vec::new();
    for op in OPERATIONS {
        let scratch = tempfile::tempdir().unwrap();
        copy_tree(&template.root(), &scratch.path().join("demo"));
        let demo = Demo::adopt(scratch);
        let started = Instant::now();
        demo.ok(op);
        durations.push(started.elapsed());
    }

    let mut killed_midway = 0;
    for run in 0..runs {
        let which = rng.below(OPERATIONS.len() as u64) as usize;
        let op = OPERATIONS[which];
        let scratch = tempfile::tempdir().unwrap();
        copy_tree(&template.root(), &scratch.path().join("demo"));
        let demo = Demo::adopt(scratch);
        let budget = durations[which].as_micros().max(1) as u64;
        // Within the time the operation takes when left alone, so nearly every kill lands mid-way.
        let delay = Duration::from_micros(rng.below(budget));
        let mut child = Command::new(bin())
            .arg("--sysroot")
            .arg(demo.sysroot())
            .args(op)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        if child.try_wait().unwrap().is_none() {
            killed_midway += 1;
        }
        stop(&mut child);
        assert_whole(
            &demo,
            &format!("run {run} ({op:?} killed after {delay:?}, seed {seed})"),
        );
    }
    eprintln!("crash test: {killed_midway} of {runs} kills landed while the operation ran");
    assert!(
        runs < 10 || killed_midway * 2 >= runs,
        "most kills should land mid-operation ({killed_midway} of {runs})"
    );
}
