//! The `xwal` command: every subcommand of the binary.
//!
//! Every failure is one line on stderr, `xwal: <message>`, and a non-zero exit
//! (2 for bad arguments, 1 otherwise): argument errors from clap are folded
//! into one line here, everything else is returned to `main` as a message.

mod baseline;
mod bench;
mod checkpoint;
mod common;
mod dump;
mod follow;
mod import_go;
mod inspect;
mod repair;
mod replay;
mod verify;
// S3 archive tier (feature `s3`): `xwal restore`.
#[cfg(feature = "s3")]
mod restore;

use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand};
use std::path::PathBuf;

/// xwal: an io_uring write-ahead log.
#[derive(Parser, Debug)]
#[command(name = "xwal", version, about)]
pub struct Args {
    /// Config file (TOML) for the WAL; see the README. Without it, the
    /// subcommands that open a WAL keep the sizes found on disk.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

// Parsed once per run: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
enum Command {
    /// Measure append throughput and latency against the disk's own write+fdatasync limit.
    Bench(bench::BenchArgs),
    /// Show segments, LSN ranges, checkpoints, sizes and the recovery state (read-only, no lock).
    Inspect(inspect::InspectArgs),
    /// Check every record of every segment; exit non-zero and list each bad location.
    Verify(verify::VerifyArgs),
    /// Print entries as text, hex or JSON lines (read-only, no lock: safe beside a writer).
    Dump(dump::DumpArgs),
    /// Create a checkpoint (opens the WAL for writing) and print its number.
    Checkpoint(checkpoint::CheckpointArgs),
    /// Write entries to stdout as JSON lines {"lsn":N,"data_hex":"..."}, for scripts.
    Replay(replay::ReplayArgs),
    /// Import a Go xwal directory into a new xwal WAL, keeping LSNs and checkpoints.
    ImportGo(import_go::ImportGoArgs),
    /// Continue a WAL that open refuses: keep the intact prefix, move the rest aside, reserve its LSNs.
    Repair(repair::RepairArgs),
    /// Rebuild a WAL directory from its S3 archive, checking every object (feature `s3`).
    #[cfg(feature = "s3")]
    Restore(restore::RestoreArgs),
}

/// The parsed command line. `Cli::parse()` prints argument errors as one line.
#[derive(Debug)]
pub struct Cli(Args);

impl CommandFactory for Cli {
    fn command() -> clap::Command {
        Args::command()
    }
    fn command_for_update() -> clap::Command {
        Args::command_for_update()
    }
}

impl FromArgMatches for Cli {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        Args::from_arg_matches(m).map(Cli)
    }
    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        self.0.update_from_arg_matches(m)
    }
}

impl Parser for Cli {
    /// Like clap's, but a usage error is one line `xwal: <message>` and exit 2.
    /// `--help` and `--version` print as usual.
    fn parse() -> Self {
        match Args::try_parse() {
            Ok(a) => Cli(a),
            Err(e) => {
                use clap::error::ErrorKind;
                match e.kind() {
                    ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => e.exit(),
                    _ => {
                        eprintln!("xwal: {}", one_line(&e));
                        std::process::exit(2);
                    }
                }
            }
        }
    }
}

/// Folds clap's multi-line error into one line.
fn one_line(e: &clap::Error) -> String {
    use clap::error::ErrorKind;
    if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        return "a subcommand is required (inspect, verify, dump, checkpoint, replay, import-go, repair, bench); see 'xwal --help'".into();
    }
    let text = e.to_string();
    let mut parts: Vec<&str> = Vec::new();
    for line in text.lines() {
        let t = line.trim();
        if t.is_empty() {
            if parts.is_empty() {
                continue;
            }
            break;
        }
        parts.push(t);
    }
    let msg = parts.join(" ");
    let msg = msg.strip_prefix("error: ").unwrap_or(&msg);
    format!("{msg}; see 'xwal --help'")
}

pub fn run(cli: Cli) -> Result<(), String> {
    let Args { config, command } = cli.0;
    let config = config.as_deref();
    let r = match command {
        Command::Bench(a) => bench::run(a),
        Command::Inspect(a) => inspect::run(a, config),
        Command::Verify(a) => verify::run(a, config),
        Command::Dump(a) => dump::run(a, config),
        Command::Checkpoint(a) => checkpoint::run(a, config),
        Command::Replay(a) => replay::run(a, config),
        Command::ImportGo(a) => import_go::run(a, config),
        Command::Repair(a) => repair::run(a, config),
        #[cfg(feature = "s3")]
        Command::Restore(a) => restore::run(a),
    };
    r.map_err(|e| e.replace('\n', " "))
}

/// Sends the library's `tracing` events to stderr. The filter comes from
/// `XWAL_LOG` (`RUST_LOG` syntax, e.g. `XWAL_LOG=xwal=debug`); the default
/// shows warnings and errors, such as a torn tail cut at open. A bad filter is
/// a one-line error, like every other usage error.
fn install_log_subscriber() -> Result<(), String> {
    use tracing_subscriber::EnvFilter;
    let filter = match std::env::var("XWAL_LOG") {
        Ok(spec) => EnvFilter::try_new(&spec).map_err(|e| {
            format!("XWAL_LOG={spec:?} is not a log filter ({e}); try XWAL_LOG=info")
        })?,
        Err(_) => EnvFilter::new("warn"),
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init()
        .map_err(|e| format!("installing the log subscriber: {e}"))
}

fn main() {
    let args = Cli::parse();
    if let Err(e) = install_log_subscriber().and_then(|()| run(args)) {
        eprintln!("xwal: {e}");
        std::process::exit(1);
    }
}
