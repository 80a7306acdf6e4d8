//! Go xwal's traps, one module each: what Go gets wrong and xwal must not.
//!
//! One test binary per area (linking one per file cost the suite minutes);
//! each module is one file of this directory.

mod common;
mod ondisk;

mod trap_01_full_replay_after_checkpoint;
mod trap_02_lsn_continues_after_restart;
mod trap_03_half_written_last_record;
mod trap_04_zero_tail_no_phantom_entries;
mod trap_05_large_entries_read_back;
mod trap_06_failed_replay_deletes_nothing;
mod trap_07_replay_to_checkpoint_keeps_later_segments;
mod trap_08_crc_mismatch_is_an_error;
mod trap_09_range_from_zero_after_purge;
mod trap_10_directory_and_file_safety;
mod trap_11_no_size_eviction;
mod trap_12_no_global_lock;
mod trap_13_no_signal_handlers;
