//! Real Flatpak installations for the Apps tests: the demo's repository and installation (a
//! runtime, three apps, an unused runtime branch), built once per test binary with the real
//! `flatpak` command and copied for each test, so tests can change theirs freely.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};

use keel_backend::apps::{self, App, Installations};
use keel_backend::demo;
use keel_backend::progress::{Phases, Progress, ProgressUpdate};

pub const NOTES: &str = "io.github.keelapp.demo.Notes";
pub const WEATHER: &str = "io.github.keelapp.demo.Weather";
pub const SKETCH: &str = "io.github.keelapp.demo.Sketch";
pub const PLATFORM: &str = "io.github.keelapp.demo.Platform";

/// A copy of the demo's Flatpaks in a folder of its own: `DIR/flatpak/{repo,user}`.
pub struct Apps {
    pub dir: tempfile::TempDir,
    pub installations: Installations,
}

fn template() -> &'static Path {
    static TEMPLATE: OnceLock<PathBuf> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("keel-apps-template-")
            .tempdir()
            .unwrap()
            .keep();
        let started = std::time::Instant::now();
        assert!(
            demo::apps::init(&dir, &dir).unwrap(),
            "the apps tests need the flatpak command"
        );
        eprintln!("demo Flatpaks built in {:?}", started.elapsed());
        dir
    })
}

impl Apps {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        output(
            Command::new("cp")
                .arg("-a")
                .arg(template().join(apps::DEMO_FLATPAK))
                .arg(dir.path()),
        );
        let installations = Installations::demo(dir.path());
        let copy = Self { dir, installations };
        let url = format!("--url=file://{}", copy.repo().display());
        copy.flatpak(&["remote-modify", "--user", &url, demo::apps::REMOTE]);
        copy
    }

    pub fn repo(&self) -> PathBuf {
        self.dir.path().join("flatpak/repo")
    }

    pub fn user_dir(&self) -> PathBuf {
        self.dir.path().join("flatpak/user")
    }

    pub fn arch(&self) -> String {
        let out = self.flatpak(&["--default-arch"]);
        out.trim().to_owned()
    }

    /// `flatpak ARGS` on this copy's installations; must succeed; its output.
    pub fn flatpak(&self, args: &[&str]) -> String {
        output(&mut self.flatpak_command(args))
    }

    pub fn flatpak_command(&self, args: &[&str]) -> Command {
        let root = self.dir.path().join("flatpak");
        std::fs::create_dir_all(root.join("triggers")).unwrap();
        let mut command = Command::new("flatpak");
        command
            .args(args)
            .env("FLATPAK_USER_DIR", self.user_dir())
            .env("FLATPAK_SYSTEM_DIR", root.join("system"))
            .env("FLATPAK_CONFIG_DIR", root.join("config"))
            .env("FLATPAK_TRIGGERSDIR", root.join("triggers"))
            .env("LC_ALL", "C.UTF-8")
            .stdin(std::process::Stdio::null());
        command
    }

    /// flatpak's own view: `ref → (version, origin, active commit, options)`, the independent
    /// witness Keel's listing is compared with.
    pub fn flatpak_list(&self) -> Vec<(String, String, String, String, String)> {
        let text = self.flatpak(&[
            "list",
            "--user",
            "--columns=ref,version,origin,active,options",
        ]);
        let mut rows: Vec<_> = text
            .lines()
            .map(|line| {
                let cells: Vec<&str> = line.split('\t').collect();
                let kind = if cells[4].contains("runtime") {
                    "runtime"
                } else {
                    "app"
                };
                (
                    format!("{kind}/{}", cells[0]),
                    cells[1].to_owned(),
                    cells[2].to_owned(),
                    cells[3].to_owned(),
                    cells[4].to_owned(),
                )
            })
            .collect();
        rows.sort();
        rows
    }

    pub fn list(&self) -> Vec<App> {
        apps::list(&self.installations).unwrap()
    }

    pub fn find(&self, id: &str) -> App {
        self.list()
            .into_iter()
            .find(|a| a.id == id && a.kind == apps::AppKind::App)
            .unwrap_or_else(|| panic!("{id} is not listed"))
    }

    /// The commit the demo's repository holds for `reference` (what an update brings).
    pub fn published_commit(&self, reference: &str) -> String {
        let repo = format!("--repo={}", self.repo().display());
        output(Command::new("ostree").args([&repo, "rev-parse", reference]))
            .trim()
            .to_owned()
    }
}

/// A folder holding executable scripts (test doubles of commands), for `Flatpak::search_path`.
pub fn scripts(scripts: &[(&str, &str)]) -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    for (name, body) in scripts {
        let path = dir.path().join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    dir
}

/// The standard output of `command`, which must succeed.
pub fn output(command: &mut Command) -> String {
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Every progress report, in order.
#[derive(Default)]
pub struct Recorder(pub Mutex<Vec<ProgressUpdate>>);

impl Progress for Recorder {
    fn report(&self, update: &ProgressUpdate) {
        self.0.lock().unwrap().push(update.clone());
    }
}

/// A progress handle whose reports are kept, and where they are kept.
pub fn recorded() -> (Arc<Recorder>, Phases) {
    let recorder = Arc::new(Recorder::default());
    (recorder.clone(), Phases::new(recorder))
}

/// The reports never went back, and ended at 1.
pub fn assert_rises_to_one(recorder: &Recorder) {
    let updates = recorder.0.lock().unwrap();
    assert!(!updates.is_empty());
    for pair in updates.windows(2) {
        assert!(pair[0].fraction <= pair[1].fraction, "{updates:?}");
    }
    assert_eq!(updates.last().unwrap().fraction, 1.0);
}
