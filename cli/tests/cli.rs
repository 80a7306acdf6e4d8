//! The `xwal` command, run as a process on real directories.
//!
//! One test binary per area (linking one per file cost the suite minutes);
//! each module is one file of this directory.

mod common;

mod bench_quick;
mod bounded_memory_tools;
mod cli_bad_args;
mod cli_checkpoint;
mod cli_checkpoint_locked;
mod cli_config;
mod cli_dump;
mod cli_dump_beside_writer;
mod cli_follow;
mod cli_import_go;
mod cli_inspect;
mod cli_log;
mod cli_repair;
mod cli_replay;
mod cli_verify_corruption;
mod cli_verify_ok;
mod disk_use_follows_data;
mod short_tail_file;
