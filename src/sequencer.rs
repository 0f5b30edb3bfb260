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
use cachecat_shards::op::LogOp;

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
        let physical = crate::clock::physical_ms();
        let candidate = match s.inflight.front() {
            Some(&(_, ts, _)) => ts.min(physical),
            None => physical,
        };
        self.shared
            .read_clock
            .fetch_max(candidate, Ordering::AcqRel);
    }

    /// Give `op` its position and time and hand it to every shard it touches.
    pub fn sequence(self: &Rc<Self>, mut op: LogOp, origin: Option<(usize, u32)>) {
        self.advance_read_clock();
        let read_only = !op.is_write();
        let all = op.all_shards();
        let all_mask = if self.n == 64 {
            u64::MAX
        } else {
            (1u64 << self.n) - 1
        };
        let mut mask = if all { all_mask } else { 0 };
        if !all {
            for (_, k) in op.db_keys() {
                mask |= 1 << self.owner(k);
            }
            if mask == 0 {
                mask = 1 << self.id;
            }
        }
        let r = self.read_now();
        let (id, index, ts) = {
            let mut s = self
                .sequencer
                .as_ref()
                .expect("sequencer core")
                .borrow_mut();
            s.count += 1;
            let id = s.count;
            let (index, ts) = if read_only {
                (s.last_index, r)
            } else {
                let ts = s.last_ts.max(r).max(crate::clock::physical_ms());
                if let Err((status, name)) = op.stamp(ts) {
                    drop(s);
                    self.deliver_error(origin, Reply::Error(status.text(name)), all);
                    return;
                }
                s.last_ts = ts;
                s.last_index += 1;
                let index = s.last_index;
                s.inflight.push_back((index, ts, mask));
                (index, ts)
            };
            (id, index, ts)
        };
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
        for shard in 0..self.n {
            if mask & (1 << shard) == 0 {
                continue;
            }
            if shard == self.id {
                self.enqueue(seq.clone());
            } else {
                self.send(shard, Msg::Apply(seq.clone()));
            }
        }
    }

    /// Reply with an error to a request that expected `n` parts.
    fn deliver_error(&self, origin: Option<(usize, u32)>, err: Reply, all: bool) {
        let parts = if all { self.n } else { 1 };
        for _ in 0..parts {
            self.deliver(origin, err.clone());
        }
    }
}
