//! openraft's own storage test suite (`openraft::testing::Suite::test_all`,
//! 0.9.25) against the xwal log store and the key-value state machine.

use openraft::testing::{StoreBuilder, Suite};
use tempfile::TempDir;
use xwal_openraft::{KvStateMachine, StorageError, TypeConfig, XwalLogStore};

struct Builder;

impl StoreBuilder<TypeConfig, XwalLogStore, KvStateMachine, TempDir> for Builder {
    async fn build(&self) -> Result<(TempDir, XwalLogStore, KvStateMachine), StorageError> {
        let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir");
        // Small segments, so purges delete whole segments.
        let config = xwal::Config::new(dir.path())
            .segment_size(256 << 10)
            .max_entry_size(64 << 10);
        let store = XwalLogStore::open(config)?;
        Ok((dir, store, KvStateMachine::default()))
    }
}

#[test]
#[allow(clippy::result_large_err)] // openraft's error type, as its suite returns it
fn openraft_storage_suite() -> Result<(), StorageError> {
    Suite::test_all(Builder)?;
    Ok(())
}
