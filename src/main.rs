//! The `storepulse` binary: parses the command line and hands over to
//! [`storepulse::cli`], which owns every command and the exit codes.

// A monthly run allocates and frees millions of small strings (a month of
// order and product rows, a year of purchases folded per member) on two
// threads at once; mimalloc does that work with about a tenth less CPU
// than the system allocator (measured on the large shop, benches/).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    storepulse::cli::main()
}
