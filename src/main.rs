//! The `storepulse` binary: parses the command line and hands over to
//! [`storepulse::cli`], which owns every command and the exit codes.

fn main() -> std::process::ExitCode {
    storepulse::cli::main()
}
