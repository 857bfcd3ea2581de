//! `keel-devtools`: tools for Keel's developers, kept out of the shipped binaries. The benchmark
//! times Keel against the `ostree` command; `fedora-scale` makes a sysroot of Fedora's size for it
//! and for the UI benchmark (build-aux/bench-ui). Built with the workspace, never installed.

mod apps_bench;
mod bench;
mod bench_rpmostree;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use keel_devtools::scale;

#[derive(Parser)]
#[command(name = "keel-devtools", version, about = "Tools for Keel's developers")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Time Keel's operations against the ostree command on identical sysroots; prints tables.
    Bench {
        /// Tree sizes, in files.
        #[arg(long, value_delimiter = ',', default_values_t = [1000, 10000, 50000])]
        sizes: Vec<usize>,
        /// Measured runs per size (the median is shown).
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Where to build the scratch sysroots (default: the temporary folder).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Also time GetStatus and GetPackages over D-Bus, on the demo and at Fedora's scale
        /// (needs dbus-daemon and keel-backend beside this program or on PATH).
        #[arg(long)]
        dbus: bool,
    },
    /// Time listing the installed Flatpaks, Keel against `flatpak list`, on a real installation
    /// of N apps built for it; prints a table.
    BenchApps {
        /// How many apps to install (plus their runtime).
        #[arg(long, default_value_t = 200)]
        refs: usize,
        /// Measured runs of each listing.
        #[arg(long, default_value_t = 30)]
        runs: usize,
        /// Where to build the installation (default: the temporary folder).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Make a sysroot at Fedora's scale in PATH (PATH/sysroot, PATH/remote): deployments whose
    /// commits carry package lists of Silverblue's size. Open it with `keel --sysroot PATH/sysroot`.
    FedoraScale {
        path: PathBuf,
        #[arg(long, default_value_t = 5)]
        deployments: usize,
        #[arg(long, default_value_t = 2000)]
        packages: usize,
        /// Also put a newer version on the remote and fetch its metadata (as a check does).
        #[arg(long)]
        update: bool,
    },
    /// Delete what fedora-scale made in PATH (its deployments are immutable to a plain `rm`).
    Remove { path: PathBuf },
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Bench {
            sizes,
            runs,
            dir,
            dbus,
        } => bench::run(&bench::Options {
            sizes,
            runs: runs.max(1),
            dir,
            dbus,
        }),
        Command::BenchApps { refs, runs, dir } => {
            bench::scratch(dir.as_deref()).and_then(|scratch| {
                apps_bench::run(
                    &apps_bench::Options {
                        refs,
                        runs: runs.max(1),
                    },
                    scratch.path(),
                )
            })
        }
        Command::FedoraScale {
            path,
            deployments,
            packages,
            update,
        } => scale::make(
            &path,
            scale::Scale {
                deployments,
                packages,
                waiting_update: update,
            },
        )
        .map(|sysroot| {
            println!(
                "Made {deployments} deployments of {packages} packages in {}",
                sysroot.display()
            );
        }),
        Command::Remove { path } => keel_backend::demo::remove_tree(&path),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", err.message());
            ExitCode::FAILURE
        }
    }
}
