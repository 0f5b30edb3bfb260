//! The sequencer: the one place that gives every write its position (log
//! index) and logical time, and that advances the read clock.
//!
//! It lives on core 0. Write time is `max(last_ts, read_clock, physical)`;
//! the read clock advances to `min(physical, ts of the oldest sequenced but
//! not yet applied write)`, so no read is evaluated later than a write that
//! will be applied after it. Raft (a later stage) puts the log between
//! sequencing and applying; the apply queues already see one ordered stream.

use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use cachecat_io::Reply;
use cachecat_shards::op::{apply, watches_hold, LogOp};
use cachecat_shards::OpCtx;

use crate::core::{Core, Msg, Seq};

#[derive(Default)]
pub struct Sequencer {
    /// Operations sequenced so far, reads included.
    count: u64,
    last_index: u64,
    last_ts: u64,
    /// (index, ts, shard mask) of writes sequenced and not yet applied by
    /// every shard involved, oldest first.
    inflight: VecDeque<(u64, u64, u64)>,
}

impl Core {
    /// Advance the published read clock as far as is safe (core 0 only).
    pub fn advance_read_clock(&self) {
        self.advance_read_clock_at(crate::clock::physical_ms());
    }

    /// `advance_read_clock` with the physical time already read.
    fn advance_read_clock_at(&self, physical: u64) {
        let Some(seq) = &self.sequencer else { return };
        let mut s = seq.borrow_mut();
        let applied = &self.shared.applied;
        while let Some(&(index, _, mask)) = s.inflight.front() {
            let done = (0..self.n)
                .filter(|i| mask & (1 << i) != 0)
                .all(|i| applied[i].load(Ordering::Acquire) >= index);
            if !done {
                break;
            }
            s.inflight.pop_front();
        }
        let candidate = match s.inflight.front() {
            Some(&(_, ts, _)) => ts.min(physical),
            None => physical,
        };
        self.shared
            .read_clock
            .fetch_max(candidate, Ordering::AcqRel);
    }

    /// The shards an operation touches (bit s for shard s), and whether it is
    /// a whole-database command.
    fn mask_of(&self, op: &LogOp) -> (u64, bool) {
        if op.all_shards() {
            let all = if self.n == 64 {
                u64::MAX
            } else {
                (1u64 << self.n) - 1
            };
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

    /// Assign the next id, log index (writes only) and logical time, and
    /// stamp the operation's deadlines. `track` records the write as in
    /// flight for the read clock (not needed when it is applied at once).
    /// `physical` is the wall clock in ms (a recent reading is enough: it
    /// only keeps logical time close to wall time).
    fn assign(
        &self,
        op: &mut LogOp,
        read_only: bool,
        mask: u64,
        track: bool,
        physical: u64,
    ) -> (u64, u64, u64) {
        let mut s = self
            .sequencer
            .as_ref()
            .expect("sequencer core")
            .borrow_mut();
        s.count += 1;
        let id = s.count;
        let r = self.read_now();
        if read_only {
            return (id, s.last_index, r);
        }
        let ts = s.last_ts.max(r).max(physical);
        op.stamp(ts);
        s.last_ts = ts;
        s.last_index += 1;
        let index = s.last_index;
        if track {
            s.inflight.push_back((index, ts, mask));
        }
        (id, index, ts)
    }

    /// Sequence and apply `op` right here, when this core is the sequencer,
    /// owns every key of it and has nothing queued: the common case with one
    /// thread, and for keys of core 0 with several. Otherwise the op comes
    /// back unchanged.
    pub fn try_apply_local(self: &Rc<Self>, mut op: LogOp) -> Result<Reply, LogOp> {
        if self.sequencer.is_none()
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
        let read_only = !op.is_write();
        // The connection read the clock for this batch a moment ago.
        let (_, index, ts) = self.assign(&mut op, read_only, mask, false, self.clock_hint.get());
        let ctx = OpCtx {
            now: ts,
            index: if read_only { 0 } else { index },
        };
        let reply = {
            let mut shard = self.shard.borrow_mut();
            let ok = watches_hold(&op, &shard, ts, |_| true);
            apply(&mut op, &mut shard, ctx, ok)
        };
        if !read_only {
            self.shared.applied[self.id].fetch_max(index, Ordering::AcqRel);
            // Applied already, so time may move up to it: a read that follows
            // this write sees at least the write's own time.
            self.advance_read_clock_at(ts);
        }
        Ok(reply)
    }

    /// Give `op` its position and time and hand it to every shard it touches.
    pub fn sequence(self: &Rc<Self>, mut op: LogOp, origin: Option<(usize, u32)>) {
        self.advance_read_clock();
        let read_only = !op.is_write();
        let (mask, all) = self.mask_of(&op);
        let physical = crate::clock::physical_ms();
        let (id, index, ts) = self.assign(&mut op, read_only, mask, true, physical);
        let seq = Arc::new(Seq {
            id,
            index,
            ts,
            op,
            mask,
            all,
            read_only,
            origin,
        });
        // The last recipient gets the original, so a single-shard op arrives
        // with one holder and is applied in place.
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
            self.send(shard, Msg::Apply(seq));
        }
    }
}
