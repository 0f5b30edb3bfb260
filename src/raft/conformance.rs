//! openraft's storage conformance suite run against our log store and
//! state machine, each build in a fresh directory.

use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

use openraft::testing::log::{StoreBuilder, Suite};
use openraft::type_config::TypeConfigExt;
use openraft::StorageError;

use super::sm::{NoState, StateMachine};
use super::store::{Fsync, LogStore};
use super::types::TypeConfig;

struct Builder {
    root: std::path::PathBuf,
    n: AtomicU64,
    fsync: Fsync,
    segment_bytes: u64,
}

/// Removes a build's directory when the test is done with it.
struct Cleanup(std::path::PathBuf);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl StoreBuilder<TypeConfig, LogStore, StateMachine, Cleanup> for Builder {
    async fn build(&self) -> Result<(Cleanup, LogStore, StateMachine), StorageError<TypeConfig>> {
        let dir = self
            .root
            .join(self.n.fetch_add(1, Ordering::Relaxed).to_string());
        let _ = std::fs::remove_dir_all(&dir);
        let io = |e: std::io::Error| StorageError::read(TypeConfig::err_from_error(&e));
        let store = LogStore::open_with(&dir.join("raft"), self.fsync, self.segment_bytes)
            .await
            .map_err(io)?;
        let sm = StateMachine::new(&dir.join("sm"), Rc::new(NoState)).map_err(io)?;
        Ok((Cleanup(dir), store, sm))
    }
}

fn run_suite(name: &str, fsync: Fsync, segment_bytes: u64) {
    let root = std::env::temp_dir().join(format!("cachecat-conf-{name}-{}", std::process::id()));
    let builder = Builder {
        root: root.clone(),
        n: AtomicU64::new(0),
        fsync,
        segment_bytes,
    };
    super::run_local(async move {
        Suite::test_all(builder).await.expect("conformance suite");
    });
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn log_store_passes_openraft_conformance_suite() {
    run_suite("always", Fsync::Always, 1 << 20);
}

#[test]
fn conformance_with_tiny_segments_and_no_fsync() {
    // Every few entries roll to a new segment: truncation and purge cross
    // segment boundaries.
    run_suite("tiny", Fsync::No, 4096 + 256);
}
