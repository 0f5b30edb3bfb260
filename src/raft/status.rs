//! What every core knows about this node's place in the cluster, published
//! by the raft core: role, leader, term, the read lease, and the indexes
//! INFO reports. Atomics on the hot path; the leader's address behind a
//! mutex for the rare ROLE/INFO.

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering::*};
use std::sync::Mutex;

use cachecat_io::Reply;

/// Not leader: a follower, a candidate, or a node that knows no leader.
pub const FOLLOWER: u8 = 0;
/// Elected, but its first Tick is not applied yet: serves no read.
pub const LEADER_PENDING: u8 = 1;
/// Leader with its first Tick applied.
pub const LEADER: u8 = 2;

/// The reply to a keyspace command on a node that is not the leader:
/// nothing was proposed, so a client may retry it elsewhere.
pub const READONLY: &str = "READONLY You can't write against a read only replica.";
/// No leader known within the wait (elections going on, or no quorum):
/// nothing was proposed.
pub const NO_LEADER: &str =
    "MASTERDOWN No leader is known (election in progress or no quorum): nothing was proposed";
/// A write proposed by a leader that lost leadership, or that was not
/// applied within the write timeout: it may or may not take effect.
pub const OUTCOME_UNKNOWN: &str =
    "ERR write outcome unknown: leadership was lost or the write timed out before it was applied; it may or may not take effect";

#[derive(Default)]
pub struct RaftStatus {
    /// This node's id.
    pub me: AtomicU64,
    pub role: AtomicU8,
    /// Node id of the leader this node follows or is (0: none known).
    pub leader: AtomicU64,
    pub term: AtomicU64,
    /// Reads may be served until this `clock::mono_ns` (leader only).
    pub lease_until: AtomicU64,
    /// Bumped each time this node stops being leader: its normal clients
    /// disconnect so they find the new one.
    pub deposed: AtomicU64,
    pub commit_index: AtomicU64,
    pub applied_index: AtomicU64,
    pub last_tick_ts: AtomicU64,
    /// Proposals made and the operations in them (batching, for INFO).
    pub proposals: AtomicU64,
    pub proposed_ops: AtomicU64,
    /// The leader's client address (`host:port`), empty when none is known.
    pub leader_addr: Mutex<String>,
}

impl RaftStatus {
    pub fn role(&self) -> u8 {
        self.role.load(Acquire)
    }

    /// Whether this node may answer keyspace commands right now: leader,
    /// first Tick applied, read lease valid.
    pub fn serving(&self) -> bool {
        self.serving_at(crate::clock::mono_ns())
    }

    /// `serving` at monotonic time `now` (ns, `clock::mono_ns`) read a
    /// moment ago: a connection reads the clock once per batch of commands,
    /// far inside the lease's margin.
    pub fn serving_at(&self, now: u64) -> bool {
        self.role() == LEADER && now < self.lease_until.load(Acquire)
    }

    /// Why a keyspace command cannot run here now, if it cannot: `None`
    /// while a leader may still emerge (or this node may still get its
    /// lease), so the caller waits.
    pub fn refusal(&self) -> Option<Reply> {
        let me = self.me.load(Acquire);
        match self.role() {
            FOLLOWER => {
                let l = self.leader.load(Acquire);
                (l != 0 && l != me).then(|| Reply::err(READONLY))
            }
            _ => None,
        }
    }

    /// Whether reads may be evaluated at all (checked again by the core
    /// that evaluates, without a clock read): cleared when the lease is
    /// revoked before a leadership transfer or removal, or on stepping down.
    pub fn lease_held(&self) -> bool {
        self.role() == LEADER && self.lease_until.load(Acquire) != 0
    }

    /// Wait until this node may run keyspace commands (leader, first Tick
    /// applied, lease held), or say why not: READONLY on a follower that
    /// knows its leader; MASTERDOWN when no leader emerges (or the lease is
    /// not renewed) within two maximum election timeouts.
    pub async fn admit(&self) -> Result<(), Reply> {
        if self.serving() {
            return Ok(());
        }
        let deadline = crate::clock::mono_ns()
            + 2 * crate::raft::settings::timing().election_max_ms * 1_000_000;
        loop {
            if self.serving() {
                return Ok(());
            }
            if let Some(r) = self.refusal() {
                return Err(r);
            }
            if crate::clock::mono_ns() > deadline {
                return Err(Reply::err(NO_LEADER));
            }
            glommio::timer::sleep(std::time::Duration::from_millis(5)).await;
        }
    }

    pub fn leader_addr(&self) -> String {
        self.leader_addr.lock().expect("leader address").clone()
    }
}
