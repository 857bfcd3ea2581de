//! Reading one installation's deployed refs from disk: `KIND/ID/ARCH/BRANCH/active/` with its
//! `deploy` and `metadata` files, the icons it exports, and the remote ref its repository last
//! pulled (which differs from the deployed commit when an update waits).

use std::path::{Path, PathBuf};

use keel_api::i18n::{fill, gettext};
use ostree::glib;

use super::deploy::{self, Kind};
use super::{App, AppKind, Installation, appstream};

/// What an installed ref needs, for finding the runtimes nothing needs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Deps {
    /// Full refs (`runtime/ID/ARCH/BRANCH`).
    pub runtime: Option<String>,
    pub sdk: Option<String>,
    /// The runtime an extra-data extension needs when it is installed.
    pub extra_data_runtime: Option<String>,
    pub extensions: Vec<ExtensionPoint>,
}

/// An `[Extension ID]` group of a metadata file: which extension runtimes belong to this ref.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtensionPoint {
    pub id: String,
    pub branches: Vec<String>,
    /// Any installed runtime whose id starts with `ID.` matches too.
    pub subdirectories: bool,
}

/// One deployed ref as read, before the unused runtimes are known.
#[derive(Clone, Debug)]
pub struct Installed {
    pub app: App,
    pub deps: Deps,
    /// `flatpak pin` keeps it even when nothing uses it.
    pub pinned: bool,
}

/// Every deployed ref of `installation`. An installation that does not exist has none; one whose
/// folders cannot be read gives one broken entry saying so.
pub fn installation(installation: &Installation, locales: &[String]) -> Vec<Installed> {
    let base = &installation.path;
    if !base.exists() {
        return Vec::new();
    }
    let pins = pins(base);
    let mut found = Vec::new();
    for kind in [AppKind::App, AppKind::Runtime] {
        let top = base.join(kind.as_str());
        let ids = match list_dirs(&top) {
            Ok(ids) => ids,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
            Err(err) => {
                found.push(unreadable_installation(installation, &top, &err));
                break;
            }
        };
        for id in ids {
            read_id(installation, kind, &id, locales, &pins, &mut found);
        }
    }
    found
}

fn read_id(
    installation: &Installation,
    kind: AppKind,
    id: &str,
    locales: &[String],
    pins: &[String],
    found: &mut Vec<Installed>,
) {
    let id_dir = installation.path.join(kind.as_str()).join(id);
    let arches = match list_dirs(&id_dir) {
        Ok(arches) => arches,
        Err(err) => {
            let reference = format!("{kind}/{id}");
            found.push(broken_folder(installation, kind, &reference, &id_dir, &err));
            return;
        }
    };
    for arch in arches {
        let arch_dir = id_dir.join(&arch);
        let branches = match list_dirs(&arch_dir) {
            Ok(branches) => branches,
            Err(err) => {
                let reference = format!("{kind}/{id}/{arch}");
                found.push(broken_folder(
                    installation,
                    kind,
                    &reference,
                    &arch_dir,
                    &err,
                ));
                continue;
            }
        };
        for branch in branches {
            let active = arch_dir.join(&branch).join("active");
            // flatpak's own test of "installed": the active link exists.
            if active.symlink_metadata().is_err() {
                continue;
            }
            let reference = format!("{kind}/{id}/{arch}/{branch}");
            let mut entry = read_ref(installation, kind, &reference, &active, locales);
            entry.pinned =
                kind == AppKind::Runtime && pins.iter().any(|p| pin_matches(p, &reference));
            found.push(entry);
        }
    }
}

/// Reads one deployment; what cannot be read makes it broken, with the rest filled in as far as
/// it goes.
fn read_ref(
    installation: &Installation,
    kind: AppKind,
    reference: &str,
    deploy_dir: &Path,
    locales: &[String],
) -> Installed {
    let mut parts = reference.splitn(4, '/').skip(1);
    let (id, arch, branch) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    let mut app = App {
        key: format!("{}:{reference}", installation.name),
        reference: reference.to_owned(),
        kind,
        id: id.to_owned(),
        name: id.to_owned(),
        branch: branch.to_owned(),
        arch: arch.to_owned(),
        installation: installation.name.clone(),
        ..App::default()
    };
    let mut deps = Deps::default();
    let mut problems = Vec::new();

    let data = match std::fs::read(deploy_dir.join("deploy")) {
        Ok(bytes) => deploy::parse(&bytes).map_err(|detail| {
            fill(
                // Translators: {detail} says what is wrong, in English (from the file format).
                &gettext("Its deploy file is damaged: {detail}."),
                &[("detail", &detail)],
            )
        }),
        Err(err) => Err(fill(
            // Translators: {error} is the system’s reason.
            &gettext("Its deploy file cannot be read: {error}."),
            &[("error", &err.to_string())],
        )),
    };
    match &data {
        Ok(data) => {
            app.origin = data.origin.clone();
            app.commit = data.commit.clone();
            app.installed_size = data.installed_size;
            app.name = data.localized(Kind::Name, locales).unwrap_or(id).to_owned();
            app.summary = data
                .localized(Kind::Summary, locales)
                .unwrap_or_default()
                .to_owned();
            app.version = data.version.clone().unwrap_or_default();
            app.end_of_life = data.end_of_life.clone().unwrap_or_default();
            app.end_of_life_rebase = data.end_of_life_rebase.clone().unwrap_or_default();
            if kind == AppKind::App {
                app.runtime = data.runtime.as_deref().map(runtime_ref).unwrap_or_default();
            }
        }
        Err(problem) => problems.push(problem.clone()),
    }

    match read_metadata(&deploy_dir.join("metadata"), kind) {
        Ok(found) => {
            if app.runtime.is_empty() && kind == AppKind::App {
                app.runtime = found.runtime.clone().unwrap_or_default();
            }
            deps = found;
        }
        Err(problem) => problems.push(problem),
    }
    if kind == AppKind::App && deps.runtime.is_none() && !app.runtime.is_empty() {
        deps.runtime = Some(app.runtime.clone());
    }

    let data_has_text = data
        .as_ref()
        .is_ok_and(|d| d.name.is_some() && d.version.is_some());
    if !data_has_text && let Some(found) = appstream::read(&deploy_dir.join("files"), id, locales) {
        if app.name == id {
            app.name = found.name.unwrap_or(app.name);
        }
        if app.summary.is_empty() {
            app.summary = found.summary.unwrap_or_default();
        }
        if app.version.is_empty() {
            app.version = found.version.unwrap_or_default();
        }
    }
    if kind == AppKind::App {
        app.icon = icon(&deploy_dir.join("export/share/icons/hicolor"), id)
            .map(|p| p.display().to_string())
            .unwrap_or_default();
    }
    if !app.origin.is_empty() {
        let remote_ref = installation
            .path
            .join("repo/refs/remotes")
            .join(&app.origin)
            .join(reference);
        if let Ok(text) = std::fs::read_to_string(remote_ref) {
            let latest = text.trim();
            if is_checksum(latest) && latest != app.commit && !app.commit.is_empty() {
                app.update_commit = latest.to_owned();
                pulled_end_of_life(&installation.path, &mut app);
            }
        }
    }
    app.broken = problems.join(" ");
    Installed {
        app,
        deps,
        pinned: false,
    }
}

/// A pulled update that ends the ref's life says so before it is deployed (as GNOME Software
/// shows it): the notice is read from the update's commit object in the installation's repository.
fn pulled_end_of_life(base: &Path, app: &mut App) {
    let (head, tail) = app.update_commit.split_at(2);
    let object = base.join(format!("repo/objects/{head}/{tail}.commit"));
    let Some((reason, rebase)) = std::fs::read(object)
        .ok()
        .and_then(|bytes| deploy::commit_end_of_life(&bytes))
    else {
        return;
    };
    if app.end_of_life.is_empty() && app.end_of_life_rebase.is_empty() {
        app.end_of_life = reason.unwrap_or_default();
        app.end_of_life_rebase = rebase.unwrap_or_default();
    }
}

/// `ID/ARCH/BRANCH` (or already a full ref) as `runtime/ID/ARCH/BRANCH`.
fn runtime_ref(partial: &str) -> String {
    if partial.starts_with("runtime/") {
        partial.to_owned()
    } else {
        format!("runtime/{partial}")
    }
}

fn read_metadata(path: &Path, kind: AppKind) -> Result<Deps, String> {
    let keyfile = glib::KeyFile::new();
    if let Err(err) = keyfile.load_from_file(path, glib::KeyFileFlags::NONE) {
        return Err(if !path.exists() {
            gettext("Its metadata file is missing.")
        } else {
            fill(
                // Translators: {error} is the system’s or the file parser’s reason.
                &gettext("Its metadata file cannot be read: {error}."),
                &[("error", err.message())],
            )
        });
    }
    let get = |group: &str, key: &str| keyfile.string(group, key).ok().map(|v| v.to_string());
    let main = if kind == AppKind::App {
        "Application"
    } else {
        "Runtime"
    };
    let mut deps = Deps {
        runtime: (kind == AppKind::App)
            .then(|| get("Application", "runtime"))
            .flatten()
            .map(|r| runtime_ref(&r)),
        sdk: get(main, "sdk").map(|r| runtime_ref(&r)),
        ..Deps::default()
    };
    if keyfile.has_group("Extra Data")
        && !keyfile.boolean("Extra Data", "NoRuntime").unwrap_or(false)
    {
        deps.extra_data_runtime = get("ExtensionOf", "runtime").map(|r| runtime_ref(&r));
    }
    for group in keyfile.groups().iter() {
        let group = group.as_str();
        let Some(tagged) = group.strip_prefix("Extension ").filter(|t| !t.is_empty()) else {
            continue;
        };
        let id = tagged.split('@').next().unwrap_or(tagged).to_owned();
        let branches = match keyfile.string_list(group, "versions") {
            Ok(list) => list.iter().map(|v| v.to_string()).collect(),
            Err(_) => get(group, "version").into_iter().collect(),
        };
        deps.extensions.push(ExtensionPoint {
            id,
            branches,
            subdirectories: keyfile.boolean(group, "subdirectories").unwrap_or(false),
        });
    }
    Ok(deps)
}

/// The app's largest exported icon: the scalable one, else the biggest `NxN` PNG.
pub fn icon(hicolor: &Path, id: &str) -> Option<PathBuf> {
    let svg = hicolor.join(format!("scalable/apps/{id}.svg"));
    if svg.exists() {
        return Some(svg);
    }
    let sizes = std::fs::read_dir(hicolor).ok()?;
    sizes
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let (size, scale) = match name.split_once('@') {
                Some((size, scale)) => (size.to_owned(), scale.parse::<u32>().ok()?),
                None => (name.clone(), 1),
            };
            let (width, _) = size.split_once('x')?;
            let pixels = width.parse::<u32>().ok()? * scale;
            let path = entry.path().join(format!("apps/{id}.png"));
            path.exists().then_some((pixels, path))
        })
        .max_by_key(|(pixels, _)| *pixels)
        .map(|(_, path)| path)
}

/// `flatpak pin` patterns of the installation (`[core] xa.pinned` of its repository config).
fn pins(base: &Path) -> Vec<String> {
    let keyfile = glib::KeyFile::new();
    if keyfile
        .load_from_file(base.join("repo/config"), glib::KeyFileFlags::NONE)
        .is_err()
    {
        return Vec::new();
    }
    keyfile
        .string("core", "xa.pinned")
        .map(|list| {
            list.split(';')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Whether a pin pattern (`[runtime/]ID[/ARCH[/BRANCH]]`, `*` in the id) covers a runtime ref.
pub fn pin_matches(pattern: &str, reference: &str) -> bool {
    let pattern = pattern.strip_prefix("runtime/").unwrap_or(pattern);
    let Some(reference) = reference.strip_prefix("runtime/") else {
        return false;
    };
    let mut want = pattern.split('/');
    let mut have = reference.split('/');
    let id_ok = glob(
        want.next().unwrap_or_default(),
        have.next().unwrap_or_default(),
    );
    id_ok && want.zip(have).all(|(w, h)| w.is_empty() || glob(w, h))
}

fn glob(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, tail)) => {
            let Some(rest) = text.strip_prefix(head) else {
                return false;
            };
            (0..=rest.len())
                .filter(|&i| rest.is_char_boundary(i))
                .any(|i| glob(tail, &rest[i..]))
        }
    }
}

fn is_checksum(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Folder names in `dir`, sorted; symbolic links (`current`, `active`) and files are left out.
fn list_dirs(dir: &Path) -> std::io::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir()
            && let Ok(name) = entry.file_name().into_string()
        {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

fn broken_folder(
    installation: &Installation,
    kind: AppKind,
    reference: &str,
    dir: &Path,
    err: &std::io::Error,
) -> Installed {
    let id = reference.split('/').nth(1).unwrap_or_default();
    Installed {
        app: App {
            key: format!("{}:{reference}", installation.name),
            reference: reference.to_owned(),
            kind,
            id: id.to_owned(),
            name: id.to_owned(),
            installation: installation.name.clone(),
            broken: fill(
                // Translators: {path} is a folder, {error} the system’s reason.
                &gettext("Its folder {path} cannot be read: {error}."),
                &[
                    ("path", &dir.display().to_string()),
                    ("error", &err.to_string()),
                ],
            ),
            ..App::default()
        },
        deps: Deps::default(),
        pinned: false,
    }
}

/// The entry that stands for a whole installation that cannot be read: its key has no ref.
fn unreadable_installation(
    installation: &Installation,
    dir: &Path,
    err: &std::io::Error,
) -> Installed {
    Installed {
        app: App {
            key: format!("{}:", installation.name),
            kind: AppKind::Runtime,
            name: installation.path.display().to_string(),
            installation: installation.name.clone(),
            broken: fill(
                // Translators: {name} is "system", "user" or a configured installation’s name,
                // {path} a folder, {error} the system’s reason.
                &gettext(
                    "The Flatpak installation “{name}” cannot be read ({path}: {error}); its apps are not listed.",
                ),
                &[
                    ("name", &installation.name),
                    ("path", &dir.display().to_string()),
                    ("error", &err.to_string()),
                ],
            ),
            ..App::default()
        },
        deps: Deps::default(),
        pinned: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_match_as_flatpak_pin_writes_them() {
        let r = "runtime/org.gnome.Platform/x86_64/47";
        assert!(pin_matches("runtime/org.gnome.Platform/x86_64/47", r));
        assert!(pin_matches("org.gnome.Platform", r));
        assert!(pin_matches("org.gnome.*//47", r));
        assert!(!pin_matches("org.gnome.Platform//46", r));
        assert!(!pin_matches("org.gnome.Sdk", r));
        assert!(!pin_matches(
            "org.gnome.Platform",
            "app/org.gnome.Platform/x86_64/47"
        ));
    }

    #[test]
    fn the_largest_icon_wins() {
        let dir = tempfile::tempdir().unwrap();
        let hicolor = dir.path();
        for size in ["64x64", "128x128", "32x32@2", "256x256"] {
            std::fs::create_dir_all(hicolor.join(size).join("apps")).unwrap();
        }
        for size in ["64x64", "128x128", "32x32@2"] {
            std::fs::write(hicolor.join(format!("{size}/apps/org.x.png")), b"png").unwrap();
        }
        assert_eq!(
            icon(hicolor, "org.x"),
            Some(hicolor.join("128x128/apps/org.x.png"))
        );
        std::fs::create_dir_all(hicolor.join("scalable/apps")).unwrap();
        std::fs::write(hicolor.join("scalable/apps/org.x.svg"), b"<svg/>").unwrap();
        assert_eq!(
            icon(hicolor, "org.x"),
            Some(hicolor.join("scalable/apps/org.x.svg"))
        );
        assert_eq!(icon(hicolor, "org.y"), None);
    }
}
