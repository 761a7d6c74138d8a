//! The command line of SPEC §2.

use std::process::ExitCode;

/// Entry point used by `main`.
pub fn main() -> ExitCode {
    ExitCode::from(2)
}
