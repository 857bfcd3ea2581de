//! Building Flatpaks offline with the real `flatpak` command — the way flatpak's own test suite
//! does (`make-test-app.sh`): a folder with `metadata`, `files/` and `export/`, `build-export`
//! into an archive repository, `build-update-repo`. No network, no GPG, no bubblewrap: everything
//! runs with `--disable-sandbox` and the installation's triggers switched off.
//!
//! Used by the demo (its apps), by the tests (their fixtures) and by the benchmark (200 apps).

use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use ostree::{gio, glib, prelude::*};

use crate::apps::Installations;
use crate::error::{Error, Result};

/// A runtime or app to build.
#[derive(Clone, Debug, Default)]
pub struct Source {
    pub id: String,
    pub branch: String,
    pub name: String,
    pub summary: String,
    pub version: String,
    /// `ID/ARCH/BRANCH` of the runtime, for apps; None builds a runtime.
    pub runtime: Option<String>,
    /// An SVG icon's fill colour (apps only), e.g. `#3584e4`.
    pub color: Option<String>,
    /// Bytes of filler, so sizes differ as real apps' do.
    pub payload: usize,
    /// End-of-life reason, and the id that replaces it.
    pub end_of_life: Option<(String, Option<String>)>,
}

/// An archive-mode Flatpak repository being built, and the `flatpak` environment it is built with.
pub struct Repo {
    pub path: PathBuf,
    pub arch: String,
    env: Vec<(&'static str, OsString)>,
    /// Scratch space for the build folders.
    work: tempfile::TempDir,
}

impl Repo {
    /// A repository at `path` (created by the first export), built with the `flatpak` command
    /// pointed at `installations`.
    pub fn new(path: &Path, installations: &Installations) -> Result<Self> {
        let env = installations.command_env();
        let parent = path.parent().unwrap_or(Path::new("/tmp"));
        std::fs::create_dir_all(parent)?;
        let arch = run(&env, &["--default-arch"])?.trim().to_owned();
        let work = tempfile::Builder::new()
            .prefix(".keel-flatpak-build-")
            .tempdir_in(parent)?;
        Ok(Self {
            path: path.to_owned(),
            arch,
            env,
            work,
        })
    }

    /// Builds `source` and commits it to the repository (without updating its summary).
    pub fn export(&self, source: &Source) -> Result<()> {
        let dir = self
            .work
            .path()
            .join(format!("{}-{}", source.id, source.branch));
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        // A runtime's tree is committed from usr/ and deployed as files/.
        let files = dir.join(if source.runtime.is_some() {
            "files"
        } else {
            "usr"
        });
        std::fs::create_dir_all(files.join("bin"))?;
        std::fs::create_dir_all(dir.join("files"))?;
        let (group, runtime_line) = match &source.runtime {
            Some(runtime) => ("Application", format!("runtime={runtime}\nsdk={runtime}\n")),
            None => ("Runtime", String::new()),
        };
        let command = if source.runtime.is_some() {
            "command=keel-demo\n"
        } else {
            ""
        };
        let metadata = format!("[{group}]\nname={}\n{runtime_line}{command}", source.id);
        std::fs::write(dir.join("metadata"), metadata)?;
        std::fs::write(files.join("bin/keel-demo"), "#!/bin/sh\necho \"$0\"\n")?;
        set_executable(&files.join("bin/keel-demo"))?;
        if source.payload > 0 {
            std::fs::write(files.join("payload"), filler(&source.id, source.payload))?;
        }
        // `flatpak build-finish` would copy an app's icon and metainfo to export/ (what the
        // installation exports to the desktop); doing it here saves a process per app.
        let mut trees = vec![files.clone()];
        if source.runtime.is_some() {
            trees.push(dir.join("export"));
        }
        for tree in &trees {
            self.write_appstream(source, tree)?;
            if let Some(color) = &source.color {
                let icons = tree.join("share/icons/hicolor/scalable/apps");
                std::fs::create_dir_all(&icons)?;
                let svg = icons.join(format!("{}.svg", source.id));
                std::fs::write(svg, icon(color, &source.name))?;
            }
        }
        let mut export: Vec<String> = vec![
            "build-export".into(),
            "--no-update-summary".into(),
            "--disable-sandbox".into(),
            format!("--subject={} {}", source.name, source.version),
        ];
        if source.runtime.is_none() {
            export.push("--runtime".into());
        }
        if let Some((reason, rebase)) = &source.end_of_life {
            export.push(format!("--end-of-life={reason}"));
            if let Some(rebase) = rebase {
                export.push(format!("--end-of-life-rebase={rebase}"));
            }
        }
        export.push(path_str(&self.path)?);
        export.push(path_str(&dir)?);
        export.push(source.branch.clone());
        let args: Vec<&str> = export.iter().map(String::as_str).collect();
        run(&self.env, &args)?;
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }

    /// Writes the summary clients read the refs from.
    pub fn update_summary(&self) -> Result<()> {
        run(&self.env, &["build-update-repo", &path_str(&self.path)?])?;
        Ok(())
    }

    /// The metainfo file, and the composed appstream data flatpak reads names and versions from
    /// when it deploys (`files/share/app-info/xmls/ID.xml.gz`).
    fn write_appstream(&self, source: &Source, files: &Path) -> Result<()> {
        let kind = if source.runtime.is_some() {
            "desktop-application"
        } else {
            "runtime"
        };
        let component = format!(
            "<component type=\"{kind}\">\n  <id>{id}</id>\n  <name>{name}</name>\n  <summary>{summary}</summary>\n  \
             <metadata_license>CC0-1.0</metadata_license>\n  <project_license>GPL-3.0-or-later</project_license>\n  \
             <releases>\n    <release version=\"{version}\" date=\"2026-01-01\"/>\n  </releases>\n</component>\n",
            id = source.id,
            name = escape(&source.name),
            summary = escape(&source.summary),
            version = escape(&source.version),
        );
        let metainfo = files.join("share/metainfo");
        std::fs::create_dir_all(&metainfo)?;
        std::fs::write(
            metainfo.join(format!("{}.metainfo.xml", source.id)),
            format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{component}"),
        )?;
        let xmls = files.join("share/app-info/xmls");
        std::fs::create_dir_all(&xmls)?;
        let collection =
            format!("<components version=\"0.8\" origin=\"flatpak\">\n{component}</components>\n");
        std::fs::write(
            xmls.join(format!("{}.xml.gz", source.id)),
            gzip(collection.as_bytes())?,
        )?;
        Ok(())
    }
}

/// Runs `flatpak ARGS` with `env`; its standard output, or an error with what it said.
pub fn run(env: &[(&'static str, OsString)], args: &[&str]) -> Result<String> {
    let out = Command::new("flatpak")
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env("LC_ALL", "C.UTF-8")
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|err| match err.kind() {
            std::io::ErrorKind::NotFound => crate::apps::flatpak_missing(),
            _ => Error::from(err),
        })?;
    if !out.status.success() {
        return Err(Error::Failed(format!(
            "flatpak {} failed: {}",
            args.first().unwrap_or(&""),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs `flatpak ARGS --user` on the installations' user installation.
pub fn run_user(installations: &Installations, args: &[&str]) -> Result<String> {
    let mut all = args.to_vec();
    all.push("--user");
    run(&installations.command_env(), &all)
}

fn path_str(path: &Path) -> Result<String> {
    path.to_str()
        .map(str::to_owned)
        .ok_or_else(|| Error::InvalidArgument(format!("{} is not UTF-8", path.display())))
}

fn set_executable(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))?;
    Ok(())
}

/// Deterministic bytes that do not compress away (sizes stay real in the archive too).
fn filler(seed: &str, len: usize) -> Vec<u8> {
    let mut state: u64 = seed.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

fn icon(color: &str, name: &str) -> String {
    let letter = name.chars().next().unwrap_or('?');
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"128\" height=\"128\" viewBox=\"0 0 128 128\">\
         <rect x=\"8\" y=\"8\" width=\"112\" height=\"112\" rx=\"24\" fill=\"{color}\"/>\
         <text x=\"64\" y=\"86\" font-family=\"sans-serif\" font-size=\"64\" font-weight=\"bold\" \
         text-anchor=\"middle\" fill=\"#ffffff\">{}</text></svg>\n",
        escape(&letter.to_string())
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn gzip(data: &[u8]) -> Result<Vec<u8>> {
    let input = gio::MemoryInputStream::from_bytes(&glib::Bytes::from(data));
    let compressor = gio::ZlibCompressor::new(gio::ZlibCompressorFormat::Gzip, -1);
    let stream = gio::ConverterInputStream::new(&input, &compressor);
    let mut out = Vec::new();
    stream.into_read().read_to_end(&mut out)?;
    Ok(out)
}
