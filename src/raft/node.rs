//! The Raft node on the raft core (core 0): openraft over our log store,
//! state machine and transport, and the glue to the rest of the server.
//!
//! - **Proposals.** Writes reach the raft core (`Core::sequence`) and wait
//!   in a batch until the executor has run everything else that was ready;
//!   the batch then becomes one log entry with one logical time (a
//!   [`Proposal`]). Its clients are remembered by the proposal's number and
//!   answered by the shards once the entry is applied (`propose.rs`).
//! - **Apply.** Committed proposals come back through the state machine
//!   ([`CoreApplier`]) in log order and go to every owning shard's apply
//!   queue, as the single-node sequencer fed them before. An operation's
//!   version is `index << 16 | position in the entry`.
//! - **Leadership.** openraft's metrics are watched: role, leader, term and
//!   the read lease are published to every core (`status.rs`). A new leader
//!   proposes its first Tick and serves once it is applied on every shard;
//!   a deposed one answers its in-flight writes "outcome unknown" and has
//!   its normal clients disconnected.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io;
use std::rc::{Rc, Weak};
use std::sync::atomic::Ordering::*;
use std::sync::Arc;
use std::time::Duration;

use cachecat_io::Reply;
use cachecat_shards::cmd::Merge;
use cachecat_shards::op::LogOp;
use openraft::async_runtime::watch::WatchReceiver;
use openraft::storage::RaftLogStorage;
use openraft::{RaftMetrics, ServerState};

use super::network::Network;
use super::settings::{raft_config, timing};
use super::sm::{Applier, LocalFuture, StateMachine};
use super::status::{self, RaftStatus};
use super::store::LogStore;
use super::types::{PeerAddr, Proposal, TypeConfig};
use crate::config::Config;
use crate::core::Core;

/// C of the design notes (ms): the read clock never runs more than this
/// ahead of the last applied entry's time, and a new leader's first Tick is
/// this far past every time in its log. An idle leader ticks every C/2.
pub const CLOCK_LEAD_MS: u64 = 500;

/// A write not applied within this (a leader cut off from its quorum, a
/// stalled disk) is answered "outcome unknown": it may still commit.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// Bits of an operation's version that number it within its entry.
pub const POS_BITS: u32 = 16;
/// Most operations in one entry (a bigger batch becomes several entries).
pub(super) const MAX_OPS_PER_ENTRY: usize = 4096;
/// Proposals of this node between proposing and applying at any time;
/// writes arriving meanwhile wait and form the next, bigger, entry.
pub(super) const MAX_IN_FLIGHT: u64 = 2;
/// How long `RAFT DIGEST index` waits for the index to be applied.
const DIGEST_WAIT: Duration = Duration::from_secs(10);

pub type Raft = openraft::Raft<TypeConfig, StateMachine>;

/// A waiting client: (core, request id).
pub type Origin = Option<(usize, u32)>;

#[derive(Default)]
pub(super) struct NodeState {
    pub(super) next_seq: u64,
    /// The last of this node's proposals applied (or given up on).
    pub(super) settled: u64,
    pub(super) batch: Vec<(LogOp, Origin)>,
    /// Reads that came after writes still in `batch`.
    pub(super) batch_reads: Vec<(LogOp, Origin)>,
    /// Reads waiting for this node's proposal (the number) to be applied.
    pub(super) held: std::collections::VecDeque<(u64, LogOp, Origin)>,
    /// Proposals in order, for the task that hands them to openraft.
    pub(super) outbox: std::collections::VecDeque<(Proposal, WriteResponder)>,
    pub(super) flush_scheduled: bool,
    /// Proposals of this process not yet applied: their operations (applied
    /// from here, not decoded from the log) and clients, by operation.
    pub(super) waiting: HashMap<u64, Waiting>,
    /// The term this node leads (0: not leader).
    pub(super) leading_term: u64,
    /// This term's first Tick.
    pub(super) first_tick: Option<u64>,
    /// `RAFT DIGEST index` callers, by the index they wait for: answered
    /// with the digest right after the first operation entry at or past it.
    pub(super) digest_waits: std::collections::BTreeMap<u64, Vec<DigestWait>>,
    /// `mono_ns` of the last proposal (idle Ticks).
    pub(super) last_proposal: u64,
    /// Voters of the effective membership.
    pub(super) voters: BTreeSet<u64>,
    /// The lease is revoked and must not be renewed (a leadership transfer
    /// or the leader's removal is under way).
    pub(super) lease_on_hold: bool,
    /// `mono_ns` of the last append accepted from a leader (Sentinel's view
    /// of whether the master is up).
    pub(super) leader_contact: u64,
    /// The term of the last Tick applied here.
    pub(super) tick_term: u64,
    /// What the Sentinel events last announced.
    pub(super) sentinel: super::sentinel_events::Seen,
}

/// Where a digest taken at an exact index goes: (index, digest).
pub(super) type DigestWait = tokio::sync::oneshot::Sender<(u64, u64)>;

pub(super) struct Waiting {
    pub(super) ops: Vec<LogOp>,
    pub(super) origins: Vec<Origin>,
}

pub(super) type WriteResponder =
    openraft::impls::ProgressResponder<TypeConfig, openraft::raft::ClientWriteResult<TypeConfig>>;

pub struct RaftNode {
    pub raft: Raft,
    /// Wakes the task that hands proposals to openraft.
    pub(super) outbox_wake: crate::local::WaitList,
    pub id: u64,
    /// Random per process: tells this process's proposals from those made
    /// before a restart.
    pub(super) instance: u64,
    pub(super) store: LogStore,
    /// The state machine openraft drives (a handle on the same state).
    pub(super) sm: StateMachine,
    pub(super) st: RefCell<NodeState>,
}

fn peer_addr(p: &crate::config::Peer) -> PeerAddr {
    PeerAddr {
        client: format!("{}:{}", p.host, p.client_port),
        raft: format!("{}:{}", p.host, p.raft_port),
    }
}

impl RaftNode {
    /// Open the log and state machine in the data directory, start openraft
    /// and, for a new cluster this node is an initial member of, propose
    /// the initial membership.
    pub async fn start(
        core: &Rc<Core>,
        cfg: &Config,
        instance: u64,
    ) -> anyhow::Result<Rc<RaftNode>> {
        core.shared.raft.me.store(cfg.node_id, Release);
        let dir = cfg.dir.join("raft");
        let fsync = match cfg.appendfsync {
            // The planted ack-before-fsync bug: write, acknowledge, and
            // fdatasync only once a second.
            super::store::Fsync::Always if crate::faults::ack_before_fsync() => {
                super::store::Fsync::EverySec
            }
            f => f,
        };
        let store = LogStore::open(&dir, fsync).await?;
        let applier = Rc::new(CoreApplier {
            core: Rc::downgrade(core),
        });
        let sm = StateMachine::new(&dir.join("sm"), applier)?;
        sm.restore().await?;
        let mut probe = store.clone();
        let fresh = probe.get_log_state().await?.last_log_id.is_none() && sm.applied().is_none();
        let network = Network;
        let raft = Raft::new(
            cfg.node_id,
            Arc::new(raft_config(cfg)?),
            network,
            store.clone(),
            sm.clone(),
        )
        .await
        .map_err(|e| anyhow::anyhow!("starting raft: {e}"))?;
        let mut listeners = Vec::new();
        for host in &cfg.bind {
            let addr = format!("{host}:{}", cfg.raft_port());
            listeners.push(
                glommio::net::TcpListener::bind(addr.as_str())
                    .map_err(|e| anyhow::anyhow!("cannot listen for peers on {addr}: {e}"))?,
            );
        }
        let members = cfg.members();
        if fresh && members.iter().any(|p| p.id == cfg.node_id) {
            let nodes: BTreeMap<u64, PeerAddr> =
                members.iter().map(|p| (p.id, peer_addr(p))).collect();
            if let Err(e) = raft.initialize(nodes).await {
                // Another initial member's entry got here first: the same
                // membership, nothing to do.
                tracing::info!("cluster already initialized: {e}");
            }
        }
        let node = Rc::new(RaftNode {
            raft,
            outbox_wake: Default::default(),
            id: cfg.node_id,
            instance,
            store,
            sm,
            st: RefCell::new(NodeState::default()),
        });
        glommio::spawn_local(follow_metrics(Rc::downgrade(core), node.clone())).detach();
        glommio::spawn_local(super::propose::hand_over(node.clone())).detach();
        for l in listeners {
            glommio::spawn_local(super::peer_server::serve(node.clone(), l, dir.join("sm")))
                .detach();
        }
        glommio::spawn_local(super::propose::idle_ticks(
            Rc::downgrade(core),
            Rc::downgrade(&node),
        ))
        .detach();
        glommio::spawn_local(super::sentinel_events::watch(
            Rc::downgrade(core),
            node.clone(),
        ))
        .detach();
        Ok(node)
    }

    pub(super) fn status<'a>(&self, core: &'a Core) -> &'a RaftStatus {
        &core.shared.raft
    }

    /// Track openraft's view: publish it, and act on leadership changes.
    fn observe(self: &Rc<Self>, core: &Rc<Core>, m: &RaftMetrics<TypeConfig>) {
        let status = self.status(core);
        status.term.store(m.current_term, Release);
        let leader = m.current_leader.unwrap_or(0);
        status.leader.store(leader, Release);
        let addr = m
            .membership_config
            .membership()
            .get_node(&leader)
            .map(|n| n.client.clone())
            .unwrap_or_default();
        *status.leader_addr.lock().expect("leader address") = addr;
        if let Some(c) = &m.local_committed {
            status.commit_index.store(c.index, Release);
        }
        if let Some(a) = &m.last_applied {
            status.applied_index.store(a.index, Release);
        }
        let voters: BTreeSet<u64> = m.membership_config.membership().voter_ids().collect();
        let leading = m.state == ServerState::Leader;
        let was = self.st.borrow().leading_term;
        if leading && was != m.current_term {
            if was != 0 {
                self.step_down(core);
            }
            // A new term: serve nothing until the first Tick, stamped after
            // every time in our log by C, is applied everywhere.
            status.role.store(status::LEADER_PENDING, Release);
            if crate::faults::reads_before_tick() {
                // The planted bug: serve at once, before the first Tick
                // (and so perhaps before the last term's commits) is applied.
                status.role.store(status::LEADER, Release);
                let until = crate::clock::mono_ns() + timing().lease_ms * 1_000_000;
                status.lease_until.fetch_max(until, AcqRel);
            }
            let ts = crate::clock::physical_ms().max(self.store.max_ts() + CLOCK_LEAD_MS);
            self.st.borrow_mut().leading_term = m.current_term;
            core.raise_time(ts);
            let seq = self.tick(core, ts);
            self.st.borrow_mut().first_tick = Some(seq);
            tracing::info!(term = m.current_term, "elected leader");
        } else if !leading && was != 0 {
            self.step_down(core);
        }
        if leading && !self.st.borrow().lease_on_hold {
            let until = if voters.len() == 1 && voters.contains(&self.id) {
                // Alone: no other leader can exist without us.
                u64::MAX
            } else {
                match &m.last_quorum_acked {
                    Some(t) => crate::clock::mono_ns_of(**t) + timing().lease_ms * 1_000_000,
                    None => 0,
                }
            };
            let now = crate::clock::mono_ns();
            let lapsed = status.lease_until.load(Acquire) < now;
            if lapsed && until > now && status.role() == status::LEADER {
                // Leading all along, but no quorum for longer than the
                // lease: nothing committed meanwhile, so the read clock
                // stood still. Serve again only once a fresh Tick is
                // applied, or keys would outlive their TTLs by the outage.
                status.role.store(status::LEADER_PENDING, Release);
                let ts = core.stamp_time();
                let seq = self.tick(core, ts);
                self.st.borrow_mut().first_tick = Some(seq);
                tracing::info!(
                    term = m.current_term,
                    "quorum regained: serving after a Tick"
                );
            }
            status.lease_until.fetch_max(until, AcqRel);
        }
        self.st.borrow_mut().voters = voters;
    }

    /// No longer leader: revoke the lease, answer what is in flight, and
    /// have normal clients reconnect.
    fn step_down(self: &Rc<Self>, core: &Rc<Core>) {
        let status = self.status(core);
        status.role.store(status::FOLLOWER, Release);
        status.lease_until.store(0, Release);
        let (waiting, refused) = {
            let mut st = self.st.borrow_mut();
            st.leading_term = 0;
            st.first_tick = None;
            st.lease_on_hold = false;
            st.settled = st.next_seq;
            let mut refused: Vec<Origin> = std::mem::take(&mut st.batch)
                .into_iter()
                .chain(std::mem::take(&mut st.batch_reads))
                .map(|(_, o)| o)
                .collect();
            refused.extend(std::mem::take(&mut st.held).into_iter().map(|(_, _, o)| o));
            (std::mem::take(&mut st.waiting), refused)
        };
        for origin in waiting.into_values().flat_map(|w| w.origins) {
            core.deliver(origin, Reply::err(status::OUTCOME_UNKNOWN));
        }
        let refusal = self.refusal(core);
        for origin in refused {
            core.deliver(origin, refusal.clone());
        }
        core.forget_proposed();
        status.deposed.fetch_add(1, AcqRel);
        tracing::info!("stepped down");
        // Once the answers above are written, drop the normal clients (as
        // Sentinel has a demoted master do): they reconnect and find the
        // new leader. Subscribers stay: events reach them on every node.
        let shared = core.shared.clone();
        let at = crate::clock::monotonic();
        glommio::spawn_local(async move {
            glommio::timer::sleep(Duration::from_millis(100)).await;
            for m in shared.all_clients() {
                if m.created <= at && !m.is_subscriber() {
                    m.kill();
                }
            }
        })
        .detach();
    }

    /// Stop serving reads and make sure no core is still evaluating one
    /// under the old lease: every core has acknowledged the revocation when
    /// this returns. The lease stays revoked until `release_lease`.
    pub async fn revoke_lease(&self, core: &Rc<Core>) {
        self.st.borrow_mut().lease_on_hold = true;
        self.status(core).lease_until.store(0, Release);
        core.ping_all_cores().await;
    }

    /// A transfer or removal did not happen: serve again (the next quorum
    /// acknowledgement renews the lease).
    pub fn release_lease(&self) {
        self.st.borrow_mut().lease_on_hold = false;
    }

    /// The voters of the effective membership.
    pub fn voters(&self) -> BTreeSet<u64> {
        self.st.borrow().voters.clone()
    }

    /// The index of the last entry handed to the shards.
    pub fn applied_index(&self) -> u64 {
        self.sm.applied().map_or(0, |l| l.index)
    }

    /// Digests asked for at `index` or before: routed now, right behind
    /// entry `index`, so every replica answers for the same state.
    fn answer_digests(&self, core: &Rc<Core>, index: u64) {
        let due = {
            let mut st = self.st.borrow_mut();
            if st
                .digest_waits
                .first_key_value()
                .is_none_or(|(&k, _)| k > index)
            {
                return;
            }
            let later = st.digest_waits.split_off(&(index + 1));
            std::mem::replace(&mut st.digest_waits, later)
        };
        let req = core.start_digest();
        let core = core.clone();
        glommio::spawn_local(async move {
            let digest = core.finish_digest(req).await;
            for tx in due.into_values().flatten() {
                let _ = tx.send((index, digest));
            }
        })
        .detach();
    }

    /// Wait for the digest right after the first operation entry at or
    /// past `index` (which must not be applied yet).
    pub async fn digest_at(&self, index: u64) -> Result<(u64, u64), String> {
        let applied = self.applied_index();
        if index <= applied {
            return Err(format!(
                "ERR index {index} is already applied here (applied index {applied})"
            ));
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.st
            .borrow_mut()
            .digest_waits
            .entry(index)
            .or_default()
            .push(tx);
        let wait = async { rx.await.map_err(|_| "ERR digest abandoned".to_string()) };
        futures_lite::future::or(wait, async {
            glommio::timer::sleep(DIGEST_WAIT).await;
            Err(format!(
                "ERR index {index} was not applied within {DIGEST_WAIT:?}"
            ))
        })
        .await
    }

    /// An append from the leader was accepted: it is alive.
    pub fn note_leader_contact(&self) {
        self.st.borrow_mut().leader_contact = crate::clock::mono_ns();
    }

    pub fn is_leading(&self) -> bool {
        self.st.borrow().leading_term != 0
    }

    /// This term's first Tick is applied (routed): once every shard has
    /// applied everything before it, start serving.
    fn first_tick_applied(self: &Rc<Self>, core: &Rc<Core>, version: u64, ts: u64) {
        let term = self.st.borrow().leading_term;
        let req = core.pending.register(core.n as u32, Merge::Sum);
        core.route_barrier(version, ts, req);
        let (node, core) = (self.clone(), core.clone());
        glommio::spawn_local(async move {
            core.pending.wait(req).await;
            if node.st.borrow().leading_term == term && term != 0 {
                core.shared.raft.role.store(status::LEADER, Release);
                core.shared.raft.last_tick_ts.store(ts, Release);
                tracing::info!(term, "serving as leader");
                super::sentinel_events::check(&core, &node);
            }
        })
        .detach();
    }
}

async fn follow_metrics(core: Weak<Core>, node: Rc<RaftNode>) {
    let mut rx = node.raft.metrics();
    loop {
        let m = rx.borrow_watched().clone();
        let Some(c) = core.upgrade() else { return };
        node.observe(&c, &m);
        drop(c);
        if rx.changed().await.is_err() {
            return;
        }
    }
}

/// Feeds committed proposals to the shards (the state machine's side).
pub struct CoreApplier {
    core: Weak<Core>,
}

impl Applier for CoreApplier {
    fn apply(&self, index: u64, term: u64, p: Proposal) {
        let Some(core) = self.core.upgrade() else {
            return;
        };
        let Some(node) = core.raft.get().cloned() else {
            return;
        };
        let mine = p.instance == node.instance;
        let waiting = if mine {
            node.st.borrow_mut().waiting.remove(&p.seq)
        } else {
            None
        };
        let base = index << POS_BITS;
        core.note_applied(p.ts, mine.then_some(p.seq));
        if p.is_tick() {
            if mine && node.st.borrow().first_tick == Some(p.seq) {
                node.first_tick_applied(&core, base, p.ts);
            }
            if mine {
                node.settle(&core, p.seq);
            }
            node.answer_digests(&core, index);
            let fresh = {
                let mut st = node.st.borrow_mut();
                let fresh = term > st.tick_term;
                st.tick_term = st.tick_term.max(term);
                fresh
            };
            if fresh {
                super::sentinel_events::check(&core, &node);
            }
            return;
        }
        let (ops, origins) = match waiting {
            Some(w) => (w.ops, w.origins),
            None => match super::types::unarchive_ops(&p.ops) {
                Ok(ops) => (ops, Vec::new()),
                Err(e) => {
                    // It passed its checksum: a bug or a foreign log.
                    // Stopping beats diverging.
                    tracing::error!(index, "undecodable log entry: {e}");
                    std::process::abort();
                }
            },
        };
        if ops.len() >= 1 << POS_BITS {
            tracing::error!(index, "log entry with too many operations");
            std::process::abort();
        }
        let leader = mine && node.st.borrow().leading_term != 0;
        for (pos, op) in ops.into_iter().enumerate() {
            let origin = origins.get(pos).copied().flatten();
            core.route_committed(base | pos as u64, p.ts, op, origin, leader);
        }
        if mine {
            node.settle(&core, p.seq);
        }
        node.answer_digests(&core, index);
    }

    fn dump<'a>(
        &'a self,
        out: std::fs::File,
        dir: &'a std::path::Path,
    ) -> LocalFuture<'a, io::Result<std::fs::File>> {
        Box::pin(async move {
            let core = self
                .core
                .upgrade()
                .ok_or_else(|| io::Error::other("shutting down"))?;
            let id = crate::clock::mono_ns();
            let ts = core.applied_ts();
            core.dump_keyspace(out, ts, dir.to_path_buf(), id).await
        })
    }

    fn load<'a>(
        &'a self,
        input: std::fs::File,
        last: Option<super::types::LogId>,
    ) -> LocalFuture<'a, io::Result<()>> {
        Box::pin(async move {
            let core = self
                .core
                .upgrade()
                .ok_or_else(|| io::Error::other("shutting down"))?;
            // Everything in the snapshot counts as applied at its last entry.
            let applied = last.map_or(0, |l| (l.index << POS_BITS) | ((1 << POS_BITS) - 1));
            let ts = core.load_keyspace(input, applied).await?;
            core.note_applied(ts, None);
            if let Some(node) = core.raft.get() {
                node.store.raise_max_ts(ts);
            }
            Ok(())
        })
    }
}
