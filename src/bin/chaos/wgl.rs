//! Linearizability of one register's history: the Wing-Gong search with
//! Lowe's memoization (the algorithm Knossos and Porcupine use).
//!
//! Every operation has an invocation time and, when it completed, a return
//! time. An operation whose outcome is unknown (a timeout, a connection
//! lost after sending, `outcome unknown`) has no return: it may take effect
//! at any point after its invocation, or never. The search linearizes
//! operations one at a time, always choosing among those invoked before the
//! earliest pending return, and backtracks when a return is reached whose
//! operation could not be placed. Visited (placed set, state) pairs are
//! remembered, so the search is exponential only in the overlap of
//! concurrent operations. It gives up after a step budget: the caller counts
//! that as a failure, never a pass.

use std::collections::HashSet;

/// A register's value: absent, or one of the workload's integers.
pub type Value = Option<u64>;

/// What an operation did to the register, with what the client saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegOp {
    /// GET: saw `Value`.
    Read(Value),
    /// SET k v.
    Write(u64),
    /// SET k v NX: `true` when it set (reply OK), `false` when the key
    /// existed (nil reply). Unknown outcome: `None`.
    SetNx(u64, Option<bool>),
    /// SET k v XX GET: the old value it returned (nil: nothing set).
    /// Unknown outcome: `None`.
    Swap(u64, Option<Value>),
}

#[derive(Clone, Debug)]
pub struct Entry {
    pub op: RegOp,
    pub call: u64,
    /// `None`: the outcome is unknown.
    pub ret: Option<u64>,
    /// Index in the caller's history, for reports.
    pub id: usize,
}

/// The register's next state if `op` may take effect in `state` with what
/// the client saw, or `None` when it cannot.
fn step(state: Value, op: &RegOp) -> Option<Value> {
    match op {
        RegOp::Read(v) => (*v == state).then_some(state),
        RegOp::Write(v) => Some(Some(*v)),
        RegOp::SetNx(v, seen) => {
            let sets = state.is_none();
            match seen {
                Some(s) if *s != sets => None,
                _ => Some(if sets { Some(*v) } else { state }),
            }
        }
        RegOp::Swap(v, seen) => match seen {
            Some(old) if *old != state => None,
            _ => Some(if state.is_some() { Some(*v) } else { state }),
        },
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Linearizable,
    /// No order exists; the operations that completed last before the
    /// search could go no further (indices into the caller's history).
    NotLinearizable {
        stuck_at: Vec<usize>,
    },
    /// The step budget ran out.
    Unknown,
}

const NONE: usize = usize::MAX;

/// One event of the doubly linked list the search walks.
#[derive(Clone, Copy)]
struct Ev {
    op: usize,
    is_call: bool,
    /// For a call, its return event (`NONE` for an unknown outcome).
    partner: usize,
    prev: usize,
    next: usize,
}

/// Check one register's history, starting from an absent key. At most 128
/// operations (the workload bounds each key's history below that).
pub fn check(entries: &[Entry], budget: u64) -> Verdict {
    assert!(entries.len() <= 128, "split histories per key");
    // Reads with unknown outcome constrain nothing: drop them.
    let ops: Vec<&Entry> = entries
        .iter()
        .filter(|e| e.ret.is_some() || !matches!(e.op, RegOp::Read(_)))
        .collect();
    let mut times: Vec<(u64, bool, usize)> = Vec::new();
    for (i, e) in ops.iter().enumerate() {
        times.push((e.call, true, i));
        if let Some(r) = e.ret {
            times.push((r, false, i));
        }
    }
    // At equal times a return comes first: the operations did not overlap.
    times.sort_by_key(|&(t, is_call, i)| (t, is_call, i));
    // Event 0 is the list head sentinel.
    let mut ev = vec![Ev {
        op: NONE,
        is_call: false,
        partner: NONE,
        prev: NONE,
        next: NONE,
    }];
    let mut call_of = vec![NONE; ops.len()];
    let mut ret_of = vec![NONE; ops.len()];
    for &(_, is_call, i) in &times {
        let id = ev.len();
        let prev = id - 1;
        ev[prev].next = id;
        ev.push(Ev {
            op: i,
            is_call,
            partner: NONE,
            prev,
            next: NONE,
        });
        if is_call {
            call_of[i] = id;
        } else {
            ret_of[i] = id;
        }
    }
    for i in 0..ops.len() {
        ev[call_of[i]].partner = ret_of[i];
    }
    let mut pending_returns = ret_of.iter().filter(|&&r| r != NONE).count();

    fn unlink(ev: &mut [Ev], e: usize) {
        let (p, n) = (ev[e].prev, ev[e].next);
        ev[p].next = n;
        if n != NONE {
            ev[n].prev = p;
        }
    }
    fn relink(ev: &mut [Ev], e: usize) {
        let (p, n) = (ev[e].prev, ev[e].next);
        ev[p].next = e;
        if n != NONE {
            ev[n].prev = e;
        }
    }

    let mut placed: u128 = 0;
    let mut state: Value = None;
    let mut seen: HashSet<(u128, Value)> = HashSet::new();
    let mut stack: Vec<(usize, Value)> = Vec::new();
    let mut cur = ev[0].next;
    let mut steps = 0u64;
    while pending_returns > 0 {
        steps += 1;
        if steps > budget {
            return Verdict::Unknown;
        }
        if cur == NONE {
            // Only calls of unknown outcome are left ahead: backtrack.
            let Some((call, prev_state)) = stack.pop() else {
                return Verdict::NotLinearizable { stuck_at: vec![] };
            };
            undo(&mut ev, call, &mut placed, &mut pending_returns);
            state = prev_state;
            cur = ev[call].next;
            continue;
        }
        let e = ev[cur];
        if e.is_call {
            let op = &ops[e.op].op;
            if let Some(next) = step(state, op) {
                let bits = placed | (1u128 << e.op);
                if seen.insert((bits, next)) {
                    stack.push((cur, state));
                    placed = bits;
                    state = next;
                    unlink(&mut ev, cur);
                    if e.partner != NONE {
                        unlink(&mut ev, e.partner);
                        pending_returns -= 1;
                    }
                    cur = ev[0].next;
                    continue;
                }
            }
            cur = e.next;
        } else {
            // A return whose operation is not placed yet: undo the last
            // choice and try the next candidate after it.
            let Some((call, prev_state)) = stack.pop() else {
                let stuck = ops[e.op].id;
                return Verdict::NotLinearizable {
                    stuck_at: vec![stuck],
                };
            };
            undo(&mut ev, call, &mut placed, &mut pending_returns);
            state = prev_state;
            cur = ev[call].next;
        }
    }
    return Verdict::Linearizable;

    fn undo(ev: &mut [Ev], call: usize, placed: &mut u128, pending: &mut usize) {
        let partner = ev[call].partner;
        if partner != NONE {
            relink(ev, partner);
            *pending += 1;
        }
        relink(ev, call);
        *placed &= !(1u128 << ev[call].op);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(id: usize, op: RegOp, call: u64, ret: Option<u64>) -> Entry {
        Entry { op, call, ret, id }
    }

    #[test]
    fn sequential_history_is_linearizable() {
        let h = vec![
            e(0, RegOp::Read(None), 0, Some(1)),
            e(1, RegOp::Write(1), 2, Some(3)),
            e(2, RegOp::Read(Some(1)), 4, Some(5)),
            e(3, RegOp::SetNx(2, Some(false)), 6, Some(7)),
            e(4, RegOp::Swap(3, Some(Some(1))), 8, Some(9)),
            e(5, RegOp::Read(Some(3)), 10, Some(11)),
        ];
        assert_eq!(check(&h, 1_000_000), Verdict::Linearizable);
    }

    #[test]
    fn stale_read_after_a_completed_write_is_caught() {
        let h = vec![
            e(0, RegOp::Write(1), 0, Some(1)),
            e(1, RegOp::Write(2), 2, Some(3)),
            e(2, RegOp::Read(Some(1)), 4, Some(5)),
        ];
        assert!(matches!(
            check(&h, 1_000_000),
            Verdict::NotLinearizable { .. }
        ));
    }

    #[test]
    fn concurrent_operations_may_take_either_order() {
        // The read overlaps both writes: it may see either.
        let h = vec![
            e(0, RegOp::Write(1), 0, Some(10)),
            e(1, RegOp::Write(2), 1, Some(9)),
            e(2, RegOp::Read(Some(1)), 2, Some(8)),
            e(3, RegOp::Read(Some(1)), 11, Some(12)),
        ];
        assert_eq!(check(&h, 1_000_000), Verdict::Linearizable);
        // ...but two later reads cannot disagree.
        let mut h2 = h.clone();
        h2.push(e(4, RegOp::Read(Some(2)), 13, Some(14)));
        assert!(matches!(
            check(&h2, 1_000_000),
            Verdict::NotLinearizable { .. }
        ));
    }

    #[test]
    fn unknown_outcomes_may_apply_late_or_never() {
        // A write that timed out shows up long after its invocation...
        let late = vec![
            e(0, RegOp::Write(7), 0, None),
            e(1, RegOp::Read(None), 5, Some(6)),
            e(2, RegOp::Read(Some(7)), 20, Some(21)),
        ];
        assert_eq!(check(&late, 1_000_000), Verdict::Linearizable);
        // ...or never.
        let never = vec![
            e(0, RegOp::Write(7), 0, None),
            e(1, RegOp::Read(None), 5, Some(6)),
        ];
        assert_eq!(check(&never, 1_000_000), Verdict::Linearizable);
        // But it cannot be seen before it was sent.
        let early = vec![
            e(0, RegOp::Read(Some(7)), 0, Some(1)),
            e(1, RegOp::Write(7), 5, None),
        ];
        assert!(matches!(
            check(&early, 1_000_000),
            Verdict::NotLinearizable { .. }
        ));
    }

    #[test]
    fn a_lost_acknowledged_write_is_caught() {
        // The write was acknowledged; a later read sees the key absent.
        let h = vec![
            e(0, RegOp::SetNx(4, Some(true)), 0, Some(1)),
            e(1, RegOp::Read(None), 2, Some(3)),
        ];
        assert!(matches!(
            check(&h, 1_000_000),
            Verdict::NotLinearizable { .. }
        ));
    }

    #[test]
    fn swap_returns_the_old_value_or_sets_nothing() {
        let ok = vec![
            e(0, RegOp::Swap(5, Some(None)), 0, Some(1)),
            e(1, RegOp::Read(None), 2, Some(3)),
        ];
        assert_eq!(check(&ok, 1_000_000), Verdict::Linearizable);
        let bad = vec![
            e(0, RegOp::Swap(5, Some(None)), 0, Some(1)),
            e(1, RegOp::Read(Some(5)), 2, Some(3)),
        ];
        assert!(matches!(
            check(&bad, 1_000_000),
            Verdict::NotLinearizable { .. }
        ));
    }

    #[test]
    fn an_exhausted_budget_is_not_a_pass() {
        // Many concurrent writes and a read nothing could produce.
        let mut h: Vec<Entry> = (0..40)
            .map(|i| e(i, RegOp::Write(i as u64), i as u64, Some(1000 + i as u64)))
            .collect();
        h.push(e(40, RegOp::Read(Some(999)), 2000, Some(2001)));
        assert_ne!(check(&h, 1000), Verdict::Linearizable);
    }
}
