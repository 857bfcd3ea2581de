//! `keel-backend`: performs tree operations for Keel and for people at a terminal.

use std::process::ExitCode;

fn main() -> ExitCode {
    let arg = std::env::args().nth(1);
    match arg.as_deref() {
        Some("--version") => {
            println!("keel-backend {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("usage: keel-backend --version");
            ExitCode::from(2)
        }
    }
}
