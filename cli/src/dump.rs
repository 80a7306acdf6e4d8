//! `xwal dump DIR`: prints entries as text, hex or JSON lines. Uses
//! `Wal::open_read_only`: takes no lock and changes nothing, so it is safe on
//! a WAL another process has open for writing (it shows what was written when
//! it started).

use super::common::{self, CliResult, RangeArgs};
use clap::{Args, ValueEnum};
use std::io::Write;
use std::path::{Path, PathBuf};
use xwal::Wal;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    /// `lsn=N len=L data="..."`, non-printable bytes escaped.
    Text,
    /// `lsn=N len=L` then a hexdump of the payload.
    Hex,
    /// One JSON object per line: {"lsn":N,"len":L,"data_hex":"..."}.
    Json,
}

#[derive(Args, Debug)]
pub struct DumpArgs {
    /// The WAL directory (default: `dir` of the --config file).
    dir: Option<PathBuf>,
    #[command(flatten)]
    range: RangeArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Show at most this many payload bytes per entry (`len` still tells the full size).
    #[arg(long, value_name = "N")]
    max_bytes: Option<usize>,
    /// Keep going like `tail -f`: after the entries from --from-lsn (default:
    /// the first), print each new one once the log proves it durable, until
    /// SIGINT or SIGTERM. Read-only and lock-free: the writer runs beside it.
    #[arg(long, conflicts_with_all = ["to_lsn", "segments", "start_segment", "end_segment", "from_checkpoint", "to_checkpoint", "backwards"])]
    follow: bool,
}

fn write_entry(
    out: &mut impl Write,
    format: Format,
    lsn: u64,
    data: &[u8],
    len: usize,
) -> std::io::Result<()> {
    match format {
        Format::Text => {
            let more = if data.len() < len { "..." } else { "" };
            writeln!(
                out,
                "lsn={lsn} len={len} data=\"{}\"{more}",
                data.escape_ascii()
            )
        }
        Format::Hex => {
            writeln!(out, "lsn={lsn} len={len}")?;
            for (i, chunk) in data.chunks(16).enumerate() {
                let mut hex = String::with_capacity(49);
                for (j, b) in chunk.iter().enumerate() {
                    if j == 8 {
                        hex.push(' ');
                    }
                    hex.push_str(&format!("{b:02x} "));
                }
                let ascii: String = chunk
                    .iter()
                    .map(|&b| {
                        if b.is_ascii_graphic() || b == b' ' {
                            b as char
                        } else {
                            '.'
                        }
                    })
                    .collect();
                writeln!(out, "  {:08x}  {hex:<49} |{ascii}|", i * 16)?;
            }
            if data.len() < len {
                writeln!(out, "  ... {} more bytes", len - data.len())?;
            }
            Ok(())
        }
        Format::Json => writeln!(
            out,
            "{{\"lsn\":{lsn},\"len\":{len},\"data_hex\":\"{}\"}}",
            common::hex(data)
        ),
    }
}

pub fn run(a: DumpArgs, config_file: Option<&Path>) -> CliResult {
    let dir = common::wal_dir(a.dir.as_deref(), config_file)?;
    common::require_dir(&dir)?;
    let opts = a.range.options()?;
    let cfg = common::load_config(&dir, config_file)?;
    if a.follow {
        let max = a.max_bytes.unwrap_or(usize::MAX);
        return crate::follow::follow(cfg, a.range.from_lsn.unwrap_or(1), |out, lsn, data| {
            let mut out = out;
            write_entry(
                &mut out,
                a.format,
                lsn,
                &data[..max.min(data.len())],
                data.len(),
            )
        });
    }
    let (wal, _) = Wal::open_read_only(cfg).map_err(|e| e.to_string())?;
    let replay = wal.replay(opts).map_err(|e| e.to_string())?;
    let mut out = common::stdout();
    let mut open = true;
    for e in replay.receiver().iter() {
        let shown = &e.data[..a.max_bytes.unwrap_or(usize::MAX).min(e.data.len())];
        if !common::out_ok(write_entry(
            &mut out,
            a.format,
            e.lsn.0,
            shown,
            e.data.len(),
        ))? {
            open = false;
            break;
        }
    }
    if !open {
        // The reader went away (`| head`): stop quietly.
        drop(replay);
        return Ok(());
    }
    common::finish_output(out)?;
    replay.finish().map_err(|e| e.to_string())?;
    Ok(())
}
