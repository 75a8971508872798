//! The `ferrid` command: parses the command line and runs it.

use clap::Parser;

fn main() -> std::process::ExitCode {
    match ferrid::run(ferrid::cli::Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
