//! The `candor` command line: the only place that prints.

mod commands;

use clap::Parser;

/// mimalloc instead of the system allocator: serving and audience runs allocate many small,
/// short-lived values across threads, where glibc's malloc spends much of its time on its own
/// bookkeeping (see docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = commands::Cli::parse();
    commands::init_logging();
    match commands::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
