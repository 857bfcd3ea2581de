//! `keel-devtools bench-apps`: listing the installed Flatpaks with Keel (`apps::list`, which reads
//! the installations on disk) against `flatpak list` on the same installation. The installation is
//! real: a runtime and N small apps built offline and installed with the flatpak command.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use keel_backend::apps::{self, Installations};
use keel_backend::demo::flatpak::{Repo, Source, run_user};
use keel_backend::error::{Context, Error, Result};

use crate::bench::Timing;

pub struct Options {
    pub refs: usize,
    pub runs: usize,
}

const RUNTIME: &str = "org.keelbench.Platform";
const REMOTE: &str = "bench";

/// The columns a listing like Keel's needs from `flatpak list` (Warehouse asks for these, plus
/// the commits that tell an update).
const COLUMNS: &str = "--columns=name,application,version,branch,arch,origin,installation,ref,active,latest,size,options";

pub fn run(options: &Options, scratch: &Path) -> Result<()> {
    let installations = Installations::at(
        Some(&scratch.join("system")),
        &scratch.join("user"),
        Some(&scratch.join("config")),
    );
    eprintln!(
        "bench-apps: building and installing {} apps …",
        options.refs
    );
    let started = Instant::now();
    install(&installations, scratch, options.refs)?;
    eprintln!(
        "bench-apps: installed in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let listed = apps::list(&installations)?;
    if listed.len() != options.refs + 1 || listed.iter().any(|a| !a.broken.is_empty()) {
        return Err(Error::Failed(format!(
            "Keel listed {} entries ({} broken) where {} are installed",
            listed.len(),
            listed.iter().filter(|a| !a.broken.is_empty()).count(),
            options.refs + 1
        )));
    }
    let env: Vec<(&str, std::path::PathBuf)> = vec![
        ("FLATPAK_SYSTEM_DIR", scratch.join("system")),
        ("FLATPAK_USER_DIR", scratch.join("user")),
        ("FLATPAK_CONFIG_DIR", scratch.join("config")),
    ];
    let flatpak_list = |columns: Option<&str>| -> Result<()> {
        let mut command = Command::new("flatpak");
        command
            .arg("list")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env("LC_ALL", "C.UTF-8");
        command.args(columns);
        let out = command.output()?;
        let rows = String::from_utf8_lossy(&out.stdout).lines().count();
        if !out.status.success() || rows != options.refs + 1 {
            return Err(Error::Failed(format!(
                "flatpak list gave {rows} rows: {}",
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        Ok(())
    };

    // Once each before measuring, so both read from a warm page cache.
    apps::list(&installations)?;
    flatpak_list(Some(COLUMNS))?;
    let keel = time(options.runs, || apps::list(&installations).map(drop))?;
    let columns = time(options.runs, || flatpak_list(Some(COLUMNS)))?;
    let plain = time(options.runs, || flatpak_list(None))?;
    print_table(
        options.refs,
        &keel,
        &[
            ("flatpak list --columns=… (12)", &columns),
            ("flatpak list", &plain),
        ],
    );
    Ok(())
}

fn install(installations: &Installations, scratch: &Path, refs: usize) -> Result<()> {
    let repo = Repo::new(&scratch.join("repo"), installations)?;
    let arch = repo.arch.clone();
    repo.export(&Source {
        id: RUNTIME.into(),
        branch: "1".into(),
        name: "Bench Platform".into(),
        summary: "The benchmark's runtime".into(),
        version: "1.0".into(),
        ..Source::default()
    })?;
    let mut ids = Vec::with_capacity(refs);
    for n in 0..refs {
        let id = format!("org.keelbench.App{n:04}");
        repo.export(&Source {
            id: id.clone(),
            branch: "stable".into(),
            name: format!("Bench App {n}"),
            summary: "An app of the benchmark".into(),
            version: format!("1.{n}"),
            runtime: Some(format!("{RUNTIME}/{arch}/1")),
            color: Some(format!("#{:06x}", (n * 0x2f3a5) & 0xffffff)),
            ..Source::default()
        })
        .context(&format!("Building {id}"))?;
        ids.push(format!("app/{id}/{arch}/stable"));
    }
    repo.update_summary()?;
    let url = format!("file://{}", repo.path.display());
    run_user(
        installations,
        &["remote-add", "--no-gpg-verify", REMOTE, &url],
    )?;
    let mut args = vec!["install", "-y", "--noninteractive", REMOTE];
    args.extend(ids.iter().map(String::as_str));
    run_user(installations, &args)?;
    Ok(())
}

fn time(runs: usize, mut f: impl FnMut() -> Result<()>) -> Result<Timing> {
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        f()?;
        samples.push(started.elapsed());
    }
    Ok(Timing::of(samples))
}

fn print_table(refs: usize, keel: &Timing, others: &[(&str, &Timing)]) {
    let ms = |d: Duration| format!("{:.2}", d.as_secs_f64() * 1000.0);
    println!(
        "| {:<32} | {:>5} | {:>8} | {:>8} | {:>13} |",
        "listing", "refs", "p50 ms", "p99 ms", "Keel ÷ this"
    );
    println!(
        "|{:-<34}|{:->7}|{:->10}|{:->10}|{:->15}|",
        "", "", "", "", ""
    );
    println!(
        "| {:<32} | {:>5} | {:>8} | {:>8} | {:>13} |",
        "Keel apps::list (disk)",
        refs + 1,
        ms(keel.p50),
        ms(keel.p99),
        "-"
    );
    for (name, timing) in others {
        println!(
            "| {:<32} | {:>5} | {:>8} | {:>8} | {:>12.2}× |",
            name,
            refs + 1,
            ms(timing.p50),
            ms(timing.p99),
            keel.p50.as_secs_f64() / timing.p50.as_secs_f64()
        );
    }
    println!(
        "Target: Keel's p50 ≤ 0.5× flatpak list's. Keel also finds icons, unused runtimes and waiting updates."
    );
}
