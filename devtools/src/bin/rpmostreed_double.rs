//! `keel-rpmostreed-double`: a **test double** of rpm-ostreed for Keel's tests, serving
//! `org.projectatomic.rpmostree1` on a private system bus over a temporary sysroot. Never shipped;
//! see `keel_devtools::rpmostreed` for what it reproduces and what it does not.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use keel_devtools::rpmostreed::{self, DEFAULT_TRANSACTION_SOCKET, Hooks, Options};

#[derive(Parser)]
#[command(
    name = "keel-rpmostreed-double",
    about = "A test double of rpm-ostreed (for Keel's tests only)"
)]
struct Cli {
    /// The sysroot to manage.
    #[arg(long)]
    sysroot: PathBuf,
    /// The system bus to serve on (default: $DBUS_SYSTEM_BUS_ADDRESS).
    #[arg(long)]
    bus: Option<String>,
    /// Where transactions listen (rpm-ostreed: /run/rpm-ostree-transaction.sock).
    #[arg(long, default_value = DEFAULT_TRANSACTION_SOCKET)]
    transaction_socket: PathBuf,
    /// The AutomaticUpdatePolicy property (none, check, stage).
    #[arg(long, default_value = "none")]
    automatic_update_policy: String,
    /// A file with the cached update's advisories, GVariant text of type a(suuasa{sv}).
    #[arg(long)]
    advisories: Option<PathBuf>,
    /// Test hook: every method that asks polkit fails as when polkit refuses.
    #[arg(long)]
    deny_authorization: bool,
    /// Test hook: exit in the middle of this operation (check, upgrade, rollback, cleanup,
    /// packages), without Finished, as the recorded daemon crash.
    #[arg(long, value_name = "OPERATION")]
    crash_during: Option<String>,
    /// Test hook: pause this many milliseconds before each step of a transaction (time to cancel
    /// it or to start another).
    #[arg(long, value_name = "MS", default_value_t = 0)]
    slow: u64,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let options = Options {
        bus: cli.bus,
        sysroot: cli.sysroot,
        transaction_socket: cli.transaction_socket,
        automatic_update_policy: cli.automatic_update_policy,
        advisories: cli.advisories,
        hooks: Hooks {
            deny_authorization: cli.deny_authorization,
            crash_during: cli.crash_during,
            step_delay: Duration::from_millis(cli.slow),
        },
    };
    match rpmostreed::run(options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("keel-rpmostreed-double: {err}");
            ExitCode::FAILURE
        }
    }
}
