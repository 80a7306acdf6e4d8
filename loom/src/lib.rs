//! Empty: the model is `tests/loom_commit.rs`, which compiles to nothing
//! without `--cfg loom` (see `scripts/test.sh`).
