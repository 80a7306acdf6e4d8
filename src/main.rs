//! The `xwal` command.

mod cli;

use clap::Parser;

fn main() {
    let args = cli::Cli::parse();
    if let Err(e) = cli::run(args) {
        eprintln!("xwal: {e}");
        std::process::exit(1);
    }
}
