//! The readers: replay in both directions, batches, read-only views, tails and
//! followers beside a writer, and the replay model.
//!
//! One test binary per area (linking one per file cost the suite minutes);
//! each module is one file of this directory.

mod common;

mod follow_beside_a_killed_writer;
mod follow_healthy_log;
mod follow_property;
mod model;
mod read_only;
mod read_only_beside_rollover;
mod replay_backward_anchors;
mod replay_batches;
mod replay_finish_race;
mod tail_behind_a_purge;
mod tail_keeps_up_with_writers;
