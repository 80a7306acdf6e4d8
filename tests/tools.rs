//! The work beside a `Wal`: salvage (`Wal::repair`) and the Go import, with
//! power cuts inside both.
//!
//! One test binary per area (linking one per file cost the suite minutes);
//! each module is one file of this directory.

mod common;
mod ondisk;

mod import_go_generated;
mod import_go_testdata;
mod power_cut_tools;
mod salvage_and_repair;
