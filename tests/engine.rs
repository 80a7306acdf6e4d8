//! The write path and the API: opening, appending, group commit, sync policies,
//! tickets, closing, locking, configuration, and what fences the WAL.
//!
//! One test binary per area (linking one per file cost the suite minutes);
//! each module is one file of this directory.

mod common;

mod api_parity;
mod append_buffer_shapes;
mod async_ticket;
mod close_race_no_lost_ack;
mod close_semantics;
mod concurrency;
mod config_errors;
mod config_file;
mod consume_on_a_full_directory;
mod enospc;
mod fsync_failure_fences;
mod go_port_api;
mod io_uring_refused;
mod lock_survives_unlink;
mod locked;
mod locked_process;
mod oversized_entry;
mod reopen_larger_entry_limit;
mod smoke;
mod storage_seam;
mod submit_batch;
mod sync_policies;
mod writer_death_fences;
