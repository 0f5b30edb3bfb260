//! How openraft is set up from Cache-Cat's configuration: Raft's timing
//! (heartbeat, election timeout, read lease), which the rest of the server
//! also reads through `timing()`, and openraft's policies.

use std::io;

use openraft::SnapshotPolicy;

use crate::config::Config;

/// Raft's timing, set once from the configuration when the node starts
/// (`--raft-heartbeat-ms`, `--raft-election-timeout-ms`).
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    pub heartbeat_ms: u64,
    /// An election timeout is drawn between `election_min_ms` and twice
    /// that. A follower also refuses votes for `election_max_ms` after it
    /// last heard from its leader (openraft's leader lease).
    pub election_min_ms: u64,
    pub election_max_ms: u64,
    /// How long a quorum's acknowledgement keeps the leader's read lease:
    /// less than the minimum election timeout (no other leader can be
    /// elected sooner) by a fifth of it, a margin for clock-rate drift and
    /// scheduling.
    pub lease_ms: u64,
}

impl Timing {
    pub fn new(heartbeat_ms: u64, election_min_ms: u64) -> Timing {
        Timing {
            heartbeat_ms,
            election_min_ms,
            election_max_ms: 2 * election_min_ms,
            lease_ms: election_min_ms - election_min_ms / 5,
        }
    }
}

static TIMING: std::sync::OnceLock<Timing> = std::sync::OnceLock::new();

/// The node's Raft timing (the defaults until the node starts).
pub fn timing() -> Timing {
    *TIMING.get_or_init(|| Timing::new(100, 500))
}

/// openraft's configuration for this node; sets `timing()`.
pub(super) fn raft_config(cfg: &Config) -> io::Result<openraft::Config> {
    let t = Timing::new(cfg.raft_heartbeat_ms, cfg.raft_election_timeout_ms);
    // The first node of the process sets it; tests that start several in
    // one process use the defaults.
    let _ = TIMING.set(t);
    let t = timing();
    openraft::Config {
        cluster_name: "cachecat".into(),
        heartbeat_interval: t.heartbeat_ms,
        election_timeout_min: t.election_min_ms,
        election_timeout_max: t.election_max_ms,
        snapshot_policy: SnapshotPolicy::LogsSinceLast(cfg.raft_snapshot_entries),
        // Entries a lagging follower may still fetch from the log after a
        // snapshot; further behind, it gets the snapshot.
        max_in_snapshot_log_to_keep: cfg.raft_snapshot_entries.min(1000),
        max_payload_entries: 256,
        // Per snapshot chunk sent to a follower (appends are bounded by the
        // heartbeat interval, votes by the election timeout).
        install_snapshot_timeout: 1000,
        // A node cut off and back does not disrupt a healthy leader.
        enable_pre_vote: Some(true),
        // With `appendfsync everysec|no` a follower that lost power comes
        // back with less log than it acknowledged (never fdatasynced).
        // openraft's leader takes that for a bug unless told otherwise, and
        // then retries that follower forever: allowed, it starts the
        // follower's replication over and refills it. With `always` a log
        // that went back means the disk lied; the follower stays out.
        allow_log_reversion: Some(cfg.appendfsync != super::store::Fsync::Always),
        ..Default::default()
    }
    .validate()
    .map_err(io::Error::other)
}
