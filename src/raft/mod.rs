//! Raft replication (in progress): openraft driven on a glommio executor.
//! `runtime.rs` is openraft's async runtime on glommio; `record.rs` the log's
//! on-disk record format and its recovery scan; `segment.rs` a log segment
//! on DmaFile (group commit, torn-tail recovery); `vote.rs` the vote's
//! two-slot durable file; `log.rs` the log over segments (roll, recover,
//! truncate, purge). openraft's storage traits over these, the peer
//! transport and the state machine follow.

pub mod admin;
#[allow(dead_code)]
pub mod log;
pub mod network;
pub mod node;
#[allow(dead_code)]
pub mod record;
#[allow(dead_code)]
pub mod runtime;
#[allow(dead_code)]
pub mod segment;
pub mod sm;
pub mod status;
pub mod store;
pub mod types;
#[allow(dead_code)]
pub mod vote;
pub mod wire;

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
