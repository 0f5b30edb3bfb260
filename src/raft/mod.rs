//! Raft replication: openraft driven on the raft core's glommio executor.
//! `runtime.rs` is openraft's async runtime on glommio; `types.rs` the type
//! configuration and entry codec; `record.rs`, `segment.rs`, `log.rs` and
//! `vote.rs` the durable log (records with checksums on DmaFile segments,
//! group commit, torn-tail recovery) under `store.rs`, openraft's log store;
//! `sm.rs` its state machine and snapshot files; `node.rs` the glue to the
//! server (leadership, apply) and `propose.rs` its proposals; `settings.rs`
//! openraft's configuration and Raft's timing; `network.rs`
//! (client), `peer_server.rs` (raft port) and `wire.rs` the peer transport; `admin.rs` the RAFT commands; `status.rs` what every core
//! knows of this node's role.

pub mod admin;
#[allow(dead_code)]
pub mod log;
pub mod network;
pub mod node;
pub mod peer_server;
pub mod propose;
#[allow(dead_code)]
pub mod record;
#[allow(dead_code)]
pub mod runtime;
#[allow(dead_code)]
pub mod segment;
pub mod sentinel;
mod sentinel_events;
pub mod settings;
pub mod sm;
pub mod status;
pub mod store;
pub mod types;
#[allow(dead_code)]
pub mod vote;
pub mod wire;

/// Why a data directory written by an earlier format is refused: its log or
/// snapshot holds archives this version would misread.
pub(crate) const OLD_FORMAT: &str = "written by an earlier Cache-Cat in log and snapshot \
     format 1, which this version (format 2) does not read: start this node on an empty data \
     directory (a cluster member then catches up from the others)";

/// The error for a log segment or snapshot of the earlier format.
pub(crate) fn old_format() -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, OLD_FORMAT)
}

#[cfg(test)]
mod conformance;

/// Run a future on a fresh glommio executor on this thread (tests).
#[cfg(test)]
pub(crate) fn run_local<T>(f: impl std::future::Future<Output = T>) -> T {
    glommio::LocalExecutorBuilder::default()
        .make()
        .expect("a glommio executor")
        .run(f)
}

/// A recognisable payload of varied size for log entry `i` (tests).
#[cfg(test)]
pub(crate) fn test_payload(i: u64) -> Vec<u8> {
    format!("entry {i} {}", "p".repeat((i % 7) as usize * 300)).into_bytes()
}

/// Entries `from..to` of `term` with [`test_payload`]s, and their borrowed
/// form as appends take them (tests).
#[cfg(test)]
pub(crate) fn test_entries(from: u64, to: u64, term: u64) -> Vec<(u64, u64, Vec<u8>)> {
    (from..to).map(|i| (i, term, test_payload(i))).collect()
}

#[cfg(test)]
pub(crate) fn as_refs(entries: &[(u64, u64, Vec<u8>)]) -> Vec<(u64, u64, &[u8])> {
    entries.iter().map(|(i, t, p)| (*i, *t, &p[..])).collect()
}
