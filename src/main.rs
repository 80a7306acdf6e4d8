//! The `xwal` command.

mod cli;

use clap::Parser;

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
    let args = cli::Cli::parse();
    if let Err(e) = install_log_subscriber().and_then(|()| cli::run(args)) {
        eprintln!("xwal: {e}");
        std::process::exit(1);
    }
}
