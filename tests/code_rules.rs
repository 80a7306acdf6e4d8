//! Rules read from the library's source: one-way module layers, no spinning.
//!
//! One test binary per area (linking one per file cost the suite minutes);
//! each module is one file of this directory.

mod module_layers;
mod no_spinning;
