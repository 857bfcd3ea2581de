//! `keel-pkexec-double`: a **test double** of pkexec for Keel's tests (tests put it on PATH as
//! `pkexec`). It runs its argument list as given — no polkit, no change of user — or, when
//! `KEEL_TEST_POLKIT` is `deny` or `dismiss`, says what pkexec says when polkit refuses or the
//! password dialog is dismissed and exits as pkexec does (127 and 126, see pkexec(1)).

use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1).peekable();
    // pkexec's own options come before the program.
    while let Some(arg) = args.peek() {
        match arg.as_str() {
            "--disable-internal-agent" | "--keep-cwd" => {
                args.next();
            }
            "--user" | "-u" => {
                args.next();
                args.next();
            }
            _ => break,
        }
    }
    let Some(program) = args.next() else {
        eprintln!(
            "pkexec --version |\n       --help |\n       --disable-internal-agent |\n       [--keep-cwd] [--user username] [PROGRAM] [ARGUMENTS...]"
        );
        return ExitCode::from(127);
    };
    match std::env::var("KEEL_TEST_POLKIT").as_deref() {
        Ok("deny") => {
            eprintln!("Error executing command as another user: Not authorized");
            eprintln!("\nThis incident has been reported.");
            return ExitCode::from(127);
        }
        Ok("dismiss") => {
            eprintln!("Error executing command as another user: Request dismissed");
            return ExitCode::from(126);
        }
        _ => {}
    }
    match Command::new(&program).args(args).status() {
        Ok(status) => ExitCode::from(status.code().map_or(127, |c| c as u8)),
        Err(err) => {
            eprintln!("Cannot run program {program}: {err}");
            ExitCode::from(127)
        }
    }
}
