//! The S3 archive tier (feature `s3`) against a real S3 server: see
//! `scripts/s3-server.sh`. Without `XWAL_S3_*` in the environment each test returns.
//!
//! One test binary per area (linking one per file cost the suite minutes);
//! each module is one file of this directory.

mod common;
mod ondisk;
mod s3_support;

mod s3_archive_restore;
mod s3_archived_tail_is_never_resumed;
mod s3_backlog_full;
mod s3_config_file;
mod s3_conflict;
mod s3_corrupt_object;
mod s3_crash_before_manifest;
mod s3_hung_server_is_reported;
mod s3_interrupted_restore_is_refused;
mod s3_lost_archive_state;
mod s3_manifest_chunks;
mod s3_manifest_loss_is_refused;
mod s3_missing_bucket;
mod s3_read_only_view_beside_retention;
mod s3_refused_restore_leaves_no_trace;
mod s3_release_waits_for_archive;
mod s3_repaired_wal_archives;
mod s3_replay_local_and_archived;
mod s3_restore_power_cut;
mod s3_second_writer_conflict;
mod s3_secrets_redacted;
mod s3_server_stopped;
mod s3_tail_from_archive;
mod s3_throughput;
mod s3_wrong_credentials;
