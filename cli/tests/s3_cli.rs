//! The `xwal` command's S3 subcommands (feature `s3`) against a real S3 server.
//!
//! One test binary per area (linking one per file cost the suite minutes);
//! each module is one file of this directory.

mod common;

mod s3_cli_checkpoint;
mod s3_cli_inspect;
mod s3_cli_restore;
