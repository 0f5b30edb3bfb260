//! The sequencer, on the raft core (core 0): gives every write its logical
//! time before it is proposed, routes committed operations (and reads that
//! need a position in the apply order) to the shards, and advances the read
//! clock.
//!
//! Write time is `max(last_ts, read_clock, physical)`. The read clock
//! advances to `min(physical, ts of the oldest write proposed but not yet
//! applied by every shard it touches, ts of the last applied entry + C)`, so
//! no read is evaluated later than a write that will be applied after it,
//! and none runs further ahead of the log than a successor leader's first
//! Tick (see `raft/node.rs`).

use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use cachecat_io::Reply;
use cachecat_shards::cmd::Cmd;
use cachecat_shards::op::LogOp;
use cachecat_shards::OpCtx;

use crate::core::{Core, Seq};
use crate::raft::node::{Origin, CLOCK_LEAD_MS};

/// A write the read clock must not pass yet.
enum Inflight {
    /// Proposed by this node (its proposal number), not yet committed.
    Proposed { seq: u64, ts: u64 },
    /// Committed and routed: done once every shard in `mask` applied it.
    Routed { index: u64, ts: u64, mask: u64 },
}

impl Inflight {
    fn ts(&self) -> u64 {
        match self {
            Inflight::Proposed { ts, .. } | Inflight::Routed { ts, .. } => *ts,
        }
    }
}

#[derive(Default)]
pub struct Sequencer {
    /// Operations routed so far, reads included (their ids).
    count: u64,
    last_ts: u64,
    /// Time of the last applied entry.
    applied_ts: u64,
    /// Oldest first; ts never decreases along it.
    inflight: VecDeque<Inflight>,
    /// Where the operations of the proposal being applied go in `inflight`.
    splice_at: Option<usize>,
}

impl Core {
    fn seq_state(&self) -> std::cell::RefMut<'_, Sequencer> {
        self.sequencer
            .as_ref()
            .expect("the raft core sequences")
            .borrow_mut()
    }

    /// Advance the published read clock as far as is safe (core 0 only).
    pub fn advance_read_clock(&self) {
        self.advance_read_clock_at(crate::clock::physical_ms());
    }

    fn advance_read_clock_at(&self, physical: u64) {
        let Some(seq) = &self.sequencer else { return };
        let mut s = seq.borrow_mut();
        let applied = &self.shared.applied;
        while let Some(&Inflight::Routed { index, mask, .. }) = s.inflight.front() {
            let done = (0..self.n)
                .filter(|i| mask & (1 << i) != 0)
                .all(|i| applied[i].load(Ordering::Acquire) >= index);
            if !done {
                break;
            }
            s.inflight.pop_front();
        }
        let mut candidate = physical.min(s.applied_ts.saturating_add(CLOCK_LEAD_MS));
        if let Some(f) = s.inflight.front() {
            candidate = candidate.min(f.ts());
        }
        self.shared
            .read_clock
            .fetch_max(candidate, Ordering::AcqRel);
    }

    /// The logical time of the last applied entry.
    pub fn applied_ts(&self) -> u64 {
        self.seq_state().applied_ts
    }

    /// The logical time for the next proposal.
    pub fn stamp_time(&self) -> u64 {
        let r = self.read_now();
        let mut s = self.seq_state();
        let ts = s.last_ts.max(r).max(crate::clock::physical_ms());
        s.last_ts = ts;
        ts
    }

    /// Later proposals are stamped at `ts` or after (a new leader's Tick).
    pub fn raise_time(&self, ts: u64) {
        let mut s = self.seq_state();
        s.last_ts = s.last_ts.max(ts);
    }

    /// A proposal of this node at `ts`: the read clock waits for it.
    pub fn track_proposed(&self, seq: u64, ts: u64) {
        self.seq_state()
            .inflight
            .push_back(Inflight::Proposed { seq, ts });
    }

    /// Leadership lost: this node's proposals will be answered elsewhere.
    pub fn forget_proposed(&self) {
        let mut s = self.seq_state();
        s.inflight.retain(|i| matches!(i, Inflight::Routed { .. }));
        s.splice_at = None;
    }

    /// A proposal of this node that will never be applied (refused before
    /// it entered the log): the read clock no longer waits for it.
    pub fn forget_proposal(&self, seq: u64) {
        self.seq_state()
            .inflight
            .retain(|i| !matches!(i, Inflight::Proposed { seq: q, .. } if *q == seq));
    }

    /// An entry at time `ts` is being applied; `mine` is its proposal number
    /// when this node proposed it, and its operations take its place in
    /// the read clock's queue.
    pub fn note_applied(&self, ts: u64, mine: Option<u64>) {
        let mut s = self.seq_state();
        s.applied_ts = s.applied_ts.max(ts);
        s.last_ts = s.last_ts.max(ts);
        s.splice_at = mine.and_then(|seq| {
            let at = s
                .inflight
                .iter()
                .position(|i| matches!(i, Inflight::Proposed { seq: q, .. } if *q == seq))?;
            s.inflight.remove(at);
            Some(at)
        });
    }

    /// The shards an operation touches (bit s for shard s), and whether it is
    /// a whole-database command.
    fn mask_of(&self, op: &LogOp) -> (u64, bool) {
        if op.all_shards() {
            let all = self.all_shards_mask();
            // A whole-database command runs on every shard, each replying a
            // part; a transaction containing one runs through the barrier
            // on every shard instead (see LogOp::whole_dbs).
            return (all, matches!(op, LogOp::Cmd { .. }));
        }
        // Single-key commands, the common case, need no key list.
        if let LogOp::Cmd { cmd, .. } = op {
            if let Some(k) = cmd.single_key() {
                return (1 << self.owner(k), false);
            }
        }
        let mut mask = 0;
        for (_, k) in op.db_keys() {
            mask |= 1 << self.owner(k);
        }
        (if mask == 0 { 1 << self.id } else { mask }, false)
    }

    fn next_id(&self) -> u64 {
        let mut s = self.seq_state();
        s.count += 1;
        s.count
    }

    /// Evaluate a read right here when this core is the sequencer, owns
    /// every key of it and has nothing queued: the common case with one
    /// thread. Writes always go through the log; they come back unchanged,
    /// as does anything else that cannot run here.
    pub fn try_apply_local(self: &Rc<Self>, mut op: LogOp) -> Result<Reply, LogOp> {
        if self.sequencer.is_none()
            || op.is_write()
            || self.stalled.get().is_some()
            || self.draining.get()
            || !self.queue.borrow().is_empty()
        {
            return Err(op);
        }
        let (mask, _) = self.mask_of(&op);
        if mask != 1 << self.id {
            return Err(op);
        }
        self.next_id();
        let ctx = OpCtx {
            now: self.read_now(),
            index: 0,
        };
        Ok(self.apply_alone(&mut op, ctx, true))
    }

    /// Writes go to the log (via the raft node's batch); reads that need a
    /// position in the apply order (multi-shard, whole-database) are routed
    /// behind everything committed so far, and behind this node's writes
    /// proposed before them (a pipeline reads its own writes).
    pub fn sequence(self: &Rc<Self>, op: LogOp, origin: Origin) {
        let Some(node) = self.raft.get().cloned() else {
            self.deliver(origin, Reply::err(crate::raft::status::NO_LEADER));
            return;
        };
        if op.is_write() {
            node.enqueue(self, op, origin);
        } else if let Some((op, origin)) = node.hold_read(op, origin) {
            self.route_read(op, origin);
        }
    }

    /// Route a read at the current apply position.
    pub fn route_read(self: &Rc<Self>, op: LogOp, origin: Origin) {
        self.advance_read_clock();
        let (mask, all) = self.mask_of(&op);
        let seq = Seq {
            id: self.next_id(),
            index: 0,
            ts: self.read_now(),
            op,
            mask,
            all,
            read_only: true,
            origin,
            job: None,
        };
        self.route_all(Arc::new(seq));
    }

    /// A committed operation, in log order: to every shard it touches.
    /// `leader`: this node proposed it and leads, so the read clock waits
    /// for it to be applied.
    pub fn route_committed(
        self: &Rc<Self>,
        version: u64,
        ts: u64,
        op: LogOp,
        origin: Origin,
        leader: bool,
    ) {
        let (mask, all) = self.mask_of(&op);
        if leader {
            let mut s = self.seq_state();
            let entry = Inflight::Routed {
                index: version,
                ts,
                mask,
            };
            match s.splice_at {
                Some(at) => {
                    s.inflight.insert(at, entry);
                    s.splice_at = Some(at + 1);
                }
                None => s.inflight.push_back(entry),
            }
        }
        if mask == 1 << self.id
            && self.stalled.get().is_none()
            && !self.draining.get()
            && self.queue.borrow().is_empty()
            && self.shared.apply_lag_us() == 0
        {
            // Only this shard, nothing queued ahead: apply it right here
            // (the common case with one thread) and answer.
            let mut op = op;
            let ctx = OpCtx {
                now: ts,
                index: version,
            };
            let reply = self.apply_alone(&mut op, ctx, false);
            self.deliver(origin, reply);
            return;
        }
        let seq = Seq {
            id: self.next_id(),
            index: version,
            ts,
            op,
            mask,
            all,
            read_only: false,
            origin,
            job: None,
        };
        self.route_all(Arc::new(seq));
    }

    /// A no-op at `version` on every shard; request `req` (registered for
    /// one part per shard) completes once all of them applied everything
    /// before it.
    pub fn route_barrier(self: &Rc<Self>, version: u64, ts: u64, req: u32) {
        self.route_everywhere(version, ts, req, None);
    }

    /// A snapshot step at the current apply position on every shard;
    /// request `req` (one part per shard) completes as each finishes it.
    pub fn route_job(self: &Rc<Self>, job: crate::snapshot::Job, req: u32) {
        self.route_everywhere(0, self.read_now(), req, Some(job));
    }

    fn route_everywhere(
        self: &Rc<Self>,
        version: u64,
        ts: u64,
        req: u32,
        job: Option<crate::snapshot::Job>,
    ) {
        let seq = Seq {
            id: self.next_id(),
            index: version,
            ts,
            op: LogOp::Cmd {
                db: 0,
                cmd: Cmd::DelIfVersion { keys: Vec::new() },
            },
            mask: self.all_shards_mask(),
            all: true,
            read_only: false,
            origin: Some((self.id, req)),
            job,
        };
        self.route_all(Arc::new(seq));
    }

    fn all_shards_mask(&self) -> u64 {
        if self.n == 64 {
            u64::MAX
        } else {
            (1u64 << self.n) - 1
        }
    }

    fn route_all(self: &Rc<Self>, seq: Arc<Seq>) {
        // The last recipient gets the original, so a single-shard op arrives
        // with one holder and is applied in place.
        let mask = seq.mask;
        let last = 63 - mask.leading_zeros() as usize;
        for shard in 0..last {
            if mask & (1 << shard) != 0 {
                self.route(shard, seq.clone());
            }
        }
        self.route(last, seq);
    }

    fn route(self: &Rc<Self>, shard: usize, seq: Arc<Seq>) {
        if shard == self.id {
            self.enqueue(seq);
        } else {
            self.send(shard, crate::core::Msg::Apply(seq));
        }
    }
}
