//! Subcommands of the `xwal` binary.

mod baseline;
mod bench;

use clap::{Parser, Subcommand};

/// xwal: an io_uring write-ahead log.
#[derive(Parser, Debug)]
#[command(name = "xwal", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Measure append throughput and latency against the disk's own write+fdatasync limit.
    Bench(bench::BenchArgs),
}

pub fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Bench(a) => bench::run(a),
    }
}
