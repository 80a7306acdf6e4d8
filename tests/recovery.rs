//! Recovery after a crash or damage: torn tails, corruption, power cuts, kills,
//! stored damaged directories and the fuzz corpus.
//!
//! One test binary per area (linking one per file cost the suite minutes);
//! each module is one file of this directory.

mod common;
mod ondisk;

mod acked_record_damage_is_corruption;
mod crash_kill;
mod fixtures;
mod fuzz_corpus;
mod header_before_records;
mod mid_log_corruption;
mod power_cut_loop;
mod purge_survives_lost_unlinks;
mod recovery_evidence_window;
mod recovery_makes_durable;
mod recovery_scans_tail_only;
mod tail_header_damage;
mod tear_one_bit_from_valid;
mod torn_tail;
