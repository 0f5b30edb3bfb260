//! Proposals: writes wait in the raft node's batch, become log entries (one
//! logical time each, at most `MAX_IN_FLIGHT` in flight: group commit by
//! flow), and are handed to openraft in the order they were made. Reads of
//! a pipeline are held behind the node's own unapplied writes. Failed
//! proposals answer their clients; an idle leader proposes Ticks.

use std::rc::{Rc, Weak};
use std::time::Duration;

use cachecat_io::Reply;
use cachecat_shards::op::LogOp;

use super::node::{
    Origin, RaftNode, Waiting, WriteResponder, CLOCK_LEAD_MS, MAX_IN_FLIGHT, MAX_OPS_PER_ENTRY,
    WRITE_TIMEOUT,
};
use super::status;
use super::types::Proposal;
use crate::core::Core;

impl RaftNode {
    /// Queue a write for the next proposal.
    pub fn enqueue(self: &Rc<Self>, core: &Rc<Core>, op: LogOp, origin: Origin) {
        self.st.borrow_mut().batch.push((op, origin));
        self.schedule_flush(core);
    }

    /// Flush the batch soon, unless enough proposals are in flight: then
    /// the batch grows until one of them is applied (group commit: the
    /// busier the node, the bigger its entries).
    pub(super) fn schedule_flush(self: &Rc<Self>, core: &Rc<Core>) {
        let mut st = self.st.borrow_mut();
        let in_flight = st.next_seq - st.settled;
        if st.flush_scheduled
            || st.batch.is_empty()
            || (in_flight >= MAX_IN_FLIGHT && st.leading_term != 0)
        {
            return;
        }
        st.flush_scheduled = true;
        drop(st);
        let (node, core) = (self.clone(), core.clone());
        glommio::spawn_local(async move {
            // Let every other ready task add its writes first, then the
            // clients whose requests have arrived meanwhile.
            futures_lite::future::yield_now().await;
            if crate::net::harvest() > 0 {
                futures_lite::future::yield_now().await;
            }
            node.flush(&core);
        })
        .detach();
    }

    /// A read that must see this node's writes proposed before it: held
    /// until they are applied, or handed back when nothing is pending.
    pub fn hold_read(&self, op: LogOp, origin: Origin) -> Option<(LogOp, Origin)> {
        let mut st = self.st.borrow_mut();
        if !st.batch.is_empty() {
            st.batch_reads.push((op, origin));
            None
        } else if st.settled < st.next_seq {
            let after = st.next_seq;
            st.held.push_back((after, op, origin));
            None
        } else {
            Some((op, origin))
        }
    }

    /// This node's proposals up to `seq` are applied or given up on: route
    /// the reads that waited for them.
    pub(super) fn settle(self: &Rc<Self>, core: &Rc<Core>, seq: u64) {
        let ready: Vec<(LogOp, Origin)> = {
            let mut st = self.st.borrow_mut();
            st.settled = st.settled.max(seq);
            let mut ready = Vec::new();
            while st.held.front().is_some_and(|(after, _, _)| *after <= seq) {
                let (_, op, origin) = st.held.pop_front().expect("front");
                ready.push((op, origin));
            }
            ready
        };
        for (op, origin) in ready {
            core.route_read(op, origin);
        }
        self.schedule_flush(core);
    }

    /// Propose the batch as one entry (or refuse it when not leader).
    pub(super) fn flush(self: &Rc<Self>, core: &Rc<Core>) {
        let (batch, reads, term) = {
            let mut st = self.st.borrow_mut();
            st.flush_scheduled = false;
            (
                std::mem::take(&mut st.batch),
                std::mem::take(&mut st.batch_reads),
                st.leading_term,
            )
        };
        if batch.is_empty() {
            return;
        }
        if term == 0 {
            for (_, origin) in reads {
                core.deliver(origin, self.refusal(core));
            }
            let refusal = self
                .status(core)
                .refusal()
                .unwrap_or_else(|| Reply::err(status::NO_LEADER));
            for (_, origin) in batch {
                core.deliver(origin, refusal.clone());
            }
            return;
        }
        let ts = core.stamp_time();
        let mut batch = batch.into_iter().peekable();
        while batch.peek().is_some() {
            let (mut ops, origins): (Vec<LogOp>, Vec<Origin>) =
                batch.by_ref().take(MAX_OPS_PER_ENTRY).unzip();
            for op in &mut ops {
                op.stamp(ts);
            }
            self.propose(core, ts, ops, origins);
        }
        let mut st = self.st.borrow_mut();
        let after = st.next_seq;
        st.held
            .extend(reads.into_iter().map(|(op, origin)| (after, op, origin)));
    }

    pub(super) fn refusal(&self, core: &Core) -> Reply {
        self.status(core)
            .refusal()
            .unwrap_or_else(|| Reply::err(status::NO_LEADER))
    }

    pub(super) fn propose(
        self: &Rc<Self>,
        core: &Rc<Core>,
        ts: u64,
        ops: Vec<LogOp>,
        origins: Vec<Origin>,
    ) -> u64 {
        let archived = super::types::archive_ops(&ops);
        let status = self.status(core);
        crate::shared::bump(&status.proposals, 1);
        crate::shared::bump(&status.proposed_ops, ops.len() as u64);
        let seq = {
            let mut st = self.st.borrow_mut();
            st.next_seq += 1;
            st.last_proposal = crate::clock::mono_ns();
            let seq = st.next_seq;
            st.waiting.insert(seq, Waiting { ops, origins });
            seq
        };
        core.track_proposed(seq, ts);
        let proposal = Proposal {
            instance: self.instance,
            seq,
            ts,
            ops: archived,
        };
        let (responder, done) = WriteResponder::complete_only();
        self.st.borrow_mut().outbox.push_back((proposal, responder));
        self.outbox_wake.wake_all();
        let (node, core) = (self.clone(), core.clone());
        glommio::spawn_local(async move {
            let outcome = futures_lite::future::or(async { Some(done.await) }, async {
                glommio::timer::sleep(WRITE_TIMEOUT).await;
                None
            })
            .await;
            match outcome {
                Some(Ok(Ok(_))) => {}
                Some(Ok(Err(e))) => {
                    // openraft refused it (not leader, or not yet
                    // acknowledged as leader): it never entered the log, so
                    // the read clock must stop waiting for it.
                    tracing::debug!(seq, "proposal refused: {e}");
                    core.forget_proposal(seq);
                    node.fail(&core, seq, status::OUTCOME_UNKNOWN);
                }
                other => {
                    tracing::debug!(seq, "proposal not applied here: {other:?}");
                    node.fail(&core, seq, status::OUTCOME_UNKNOWN);
                }
            }
        })
        .detach();
        seq
    }

    /// A proposal that will not be answered by its apply: tell its clients.
    pub(super) fn fail(self: &Rc<Self>, core: &Rc<Core>, seq: u64, why: &'static str) {
        let waiting = self.st.borrow_mut().waiting.remove(&seq);
        for origin in waiting.into_iter().flat_map(|w| w.origins) {
            core.deliver(origin, Reply::err(why));
        }
        self.settle(core, seq);
        let retry_tick = {
            let st = self.st.borrow();
            st.first_tick == Some(seq) && st.leading_term != 0
        };
        if retry_tick {
            // openraft refuses writes until a quorum has acknowledged the
            // new leader: try the first Tick again shortly.
            let (node, core) = (self.clone(), core.clone());
            glommio::spawn_local(async move {
                glommio::timer::sleep(Duration::from_millis(5)).await;
                if node.st.borrow().first_tick == Some(seq) {
                    let ts = core.stamp_time();
                    let again = node.tick(&core, ts);
                    node.st.borrow_mut().first_tick = Some(again);
                }
            })
            .detach();
        }
    }

    /// Propose a Tick: an entry with no operation that moves the clock.
    pub(super) fn tick(self: &Rc<Self>, core: &Rc<Core>, ts: u64) -> u64 {
        self.propose(core, ts, Vec::new(), Vec::new())
    }
}

/// Hand proposals to openraft one at a time, in the order they were made:
/// that is their order in the log.
pub(super) async fn hand_over(node: Rc<RaftNode>) {
    loop {
        node.outbox_wake
            .until(|| !node.st.borrow().outbox.is_empty())
            .await;
        let Some((proposal, responder)) = node.st.borrow_mut().outbox.pop_front() else {
            continue;
        };
        if let Err(e) = node.raft.client_write_ff(proposal, Some(responder)).await {
            tracing::error!("raft stopped: {e}");
            return;
        }
    }
}

/// An idle leader commits a Tick every C/2 so the read clock keeps up with
/// physical time.
pub(super) async fn idle_ticks(core: Weak<Core>, node: Weak<RaftNode>) {
    let period = Duration::from_millis(CLOCK_LEAD_MS / 2);
    loop {
        glommio::timer::sleep(period / 2).await;
        let (Some(core), Some(node)) = (core.upgrade(), node.upgrade()) else {
            return;
        };
        let (leading, last) = {
            let st = node.st.borrow();
            (st.leading_term != 0, st.last_proposal)
        };
        if leading && crate::clock::mono_ns().saturating_sub(last) >= period.as_nanos() as u64 {
            let ts = core.stamp_time();
            node.tick(&core, ts);
        }
    }
}
