//! Checkers over the history. Each returns the anomalies it found, as
//! lines a person can read; an empty list is a pass.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::history::{Op, Outcome, F};
use crate::wgl::{self, Entry, RegOp, Verdict};

/// Steps the linearizability search may take per key before giving up
/// (which is reported as an anomaly, never a pass).
pub const WGL_BUDGET: u64 = 5_000_000;

fn by_key(h: &[Op], pick: impl Fn(&F) -> bool) -> BTreeMap<&str, Vec<&Op>> {
    let mut m: BTreeMap<&str, Vec<&Op>> = BTreeMap::new();
    for op in h
        .iter()
        .filter(|o| pick(&o.f) && o.outcome != Outcome::Fail)
    {
        m.entry(op.key.as_str()).or_default().push(op);
    }
    m
}

/// Registers: each key's history is linearizable.
pub fn registers(h: &[Op]) -> Vec<String> {
    let mut out = Vec::new();
    for (key, ops) in by_key(h, |f| matches!(f, F::Reg(_))) {
        let entries: Vec<Entry> = ops
            .iter()
            .enumerate()
            .filter_map(|(i, o)| match &o.f {
                F::Reg(op) => Some(Entry {
                    op: match (o.outcome, op) {
                        // An unknown outcome: the reply was never seen.
                        (Outcome::Info, RegOp::SetNx(v, _)) => RegOp::SetNx(*v, None),
                        (Outcome::Info, RegOp::Swap(v, _)) => RegOp::Swap(*v, None),
                        _ => op.clone(),
                    },
                    call: o.call,
                    ret: o.ret.filter(|_| o.outcome == Outcome::Ok),
                    id: i,
                }),
                _ => None,
            })
            .collect();
        if entries.len() > 128 {
            out.push(format!(
                "register {key}: {} operations, more than the checker takes",
                entries.len()
            ));
            continue;
        }
        match check_register(&entries) {
            Verdict::Linearizable => {}
            Verdict::Unknown => out.push(format!(
                "register {key}: linearizability unknown (search budget of {WGL_BUDGET} steps ran out)"
            )),
            Verdict::NotLinearizable { stuck_at } => {
                let near: Vec<String> = stuck_at
                    .iter()
                    .map(|&i| {
                        let o = ops[i];
                        format!("{} {:?} at {:.3}s", o.f.name(), o.f, o.call as f64 / 1e9)
                    })
                    .collect();
                out.push(format!(
                    "register {key}: not linearizable ({} operations; no order explains {})",
                    entries.len(),
                    if near.is_empty() { "the history".to_string() } else { near.join(", ") }
                ));
            }
        }
    }
    out
}

/// One register's verdict. Unknown writes whose value no operation saw
/// can be left out: an order of the rest is an order of the whole in
/// which they never took effect. That first, cheap search settles most
/// histories; long outages leave dozens of unknown writes on a key, which
/// the full search must try at every position. Only when the reduced
/// history fails does the full one decide.
fn check_register(entries: &[Entry]) -> Verdict {
    let seen: HashSet<u64> = entries
        .iter()
        .filter_map(|e| match e.op {
            RegOp::Read(Some(v)) | RegOp::Swap(_, Some(Some(v))) => Some(v),
            _ => None,
        })
        .collect();
    let unseen_unknown = |e: &Entry| {
        e.ret.is_none()
            && match e.op {
                RegOp::Write(v) | RegOp::SetNx(v, _) | RegOp::Swap(v, _) => !seen.contains(&v),
                RegOp::Read(_) => true,
            }
    };
    if entries.iter().any(unseen_unknown) {
        let reduced: Vec<Entry> = entries
            .iter()
            .filter(|e| !unseen_unknown(e))
            .cloned()
            .collect();
        if wgl::check(&reduced, WGL_BUDGET) == Verdict::Linearizable {
            return Verdict::Linearizable;
        }
    }
    wgl::check(entries, WGL_BUDGET)
}

/// The largest value seen by an operation that returned before `t`, over
/// ops sorted by return time: a sweep helper for real-time order checks.
struct Before {
    rets: Vec<(u64, i64)>,
    prefix_max: Vec<i64>,
}

impl Before {
    fn new(mut rets: Vec<(u64, i64)>) -> Before {
        rets.sort_unstable();
        let mut m = i64::MIN;
        let prefix_max = rets
            .iter()
            .map(|&(_, v)| {
                m = m.max(v);
                m
            })
            .collect();
        Before { rets, prefix_max }
    }

    fn max_before(&self, t: u64) -> Option<i64> {
        let n = self.rets.partition_point(|&(r, _)| r < t);
        (n > 0).then(|| self.prefix_max[n - 1])
    }
}

/// How many of the writes `is_write` picks were acknowledged, and how many
/// have an unknown outcome.
fn tally(ops: &[&Op], is_write: impl Fn(&F) -> bool) -> (i64, i64) {
    let count = |outcome| {
        ops.iter()
            .filter(|o| is_write(&o.f) && o.outcome == outcome)
            .count() as i64
    };
    (count(Outcome::Ok), count(Outcome::Info))
}

/// Counters: INCR results are distinct, every value (INCR or GET) is at
/// least what any operation that finished earlier saw, and the final value
/// counts every acknowledged INCR and no more than were attempted.
pub fn counters(h: &[Op]) -> Vec<String> {
    let mut out = Vec::new();
    for (key, ops) in by_key(h, |f| matches!(f, F::Incr(_) | F::CounterRead(_))) {
        let (acked, maybe) = tally(&ops, |f| matches!(f, F::Incr(_)));
        let seen: Vec<(&Op, i64)> = ops
            .iter()
            .filter(|o| o.outcome == Outcome::Ok)
            .filter_map(|o| match o.f {
                F::Incr(Some(v)) | F::CounterRead(Some(v)) => Some((*o, v)),
                _ => None,
            })
            .collect();
        let mut results = HashSet::new();
        for (o, v) in &seen {
            if matches!(o.f, F::Incr(_)) && !results.insert(*v) {
                out.push(format!("counter {key}: two INCRs returned {v}"));
            }
            if *v > acked + maybe {
                out.push(format!(
                    "counter {key}: saw {v} but only {} increments were attempted",
                    acked + maybe
                ));
            }
        }
        let before = Before::new(
            seen.iter()
                .map(|(o, v)| (o.ret.expect("ok op returned"), *v))
                .collect(),
        );
        for (o, v) in &seen {
            if let Some(m) = before.max_before(o.call) {
                let stale = if matches!(o.f, F::Incr(_)) {
                    *v <= m
                } else {
                    *v < m
                };
                if stale {
                    out.push(format!(
                        "counter {key}: {} at {:.3}s saw {v} after an operation that had finished saw {m}",
                        o.f.name(),
                        o.call as f64 / 1e9
                    ));
                }
            }
        }
        if let Some((_, last)) = seen.iter().rfind(|(o, _)| o.worker == usize::MAX) {
            if *last < acked {
                out.push(format!("counter {key}: final value {last} but {acked} INCRs were acknowledged (lost writes)"));
            }
        } else {
            out.push(format!("counter {key}: no final read"));
        }
    }
    out
}

/// A collection key after the shared checks: its key, final contents, and
/// every successful read with what it saw.
type Checked<'a> = (String, Vec<u64>, Vec<(&'a Op, Vec<u64>)>);

/// What lists and sets share: every element read was attempted, every
/// acknowledged element is in the final read, and every read that began
/// after an element was acknowledged contains it. `label` names the kind.
fn collections<'a>(
    h: &'a [Op],
    label: &str,
    pick: impl Fn(&F) -> bool,
    out: &mut Vec<String>,
) -> Vec<Checked<'a>> {
    let mut done = Vec::new();
    for (key, ops) in by_key(h, pick) {
        let attempted: HashSet<u64> = ops.iter().filter_map(|o| o.f.element()).collect();
        let reads: Vec<(&Op, Vec<u64>)> = ops
            .iter()
            .filter(|o| o.outcome == Outcome::Ok)
            .filter_map(|o| o.f.elements().map(|v| (*o, v.clone())))
            .collect();
        let Some(fin) = reads
            .iter()
            .rev()
            .find(|(o, _)| o.worker == usize::MAX)
            .map(|r| r.1.clone())
        else {
            out.push(format!("{label} {key}: no final read"));
            continue;
        };
        for e in &fin {
            if !attempted.contains(e) {
                out.push(format!("{label} {key}: element {e} was never written"));
            }
        }
        for o in ops.iter().filter(|o| o.outcome == Outcome::Ok) {
            let (Some(e), Some(acked)) = (o.f.element(), o.ret) else {
                continue;
            };
            if !fin.contains(&e) {
                out.push(format!(
                    "{label} {key}: acknowledged write of {e} is missing (lost write)"
                ));
                continue;
            }
            for (r, items) in &reads {
                if r.call > acked && !items.contains(&e) {
                    out.push(format!(
                        "{label} {key}: read at {:.3}s misses {e}, acknowledged at {:.3}s (stale read)",
                        r.call as f64 / 1e9,
                        acked as f64 / 1e9
                    ));
                }
            }
        }
        done.push((key.to_string(), fin, reads));
    }
    done
}

/// Lists built by RPUSH of unique elements: besides what every collection
/// must hold, every read is a prefix of the final list (no reordering),
/// nothing is duplicated, an acknowledged append sits where its reply said
/// (its new length), and a read never has fewer elements than a read that
/// finished before it began.
/// Steps of list transactions count as operations of their own here.
pub fn lists(h: &[Op]) -> Vec<String> {
    let flat = crate::serial::list_ops(h);
    let h = &flat[..];
    let mut out = Vec::new();
    let lists = collections(
        h,
        "list",
        |f| matches!(f, F::Append(..) | F::ListRead(_)),
        &mut out,
    );
    let appends: HashMap<(&str, u64), Option<i64>> = h
        .iter()
        .filter(|o| o.outcome == Outcome::Ok)
        .filter_map(|o| match o.f {
            F::Append(e, len) => Some(((o.key.as_str(), e), len)),
            _ => None,
        })
        .collect();
    for (key, fin, reads) in lists {
        let mut seen = HashSet::new();
        for (i, e) in fin.iter().enumerate() {
            if !seen.insert(*e) {
                out.push(format!("list {key}: {e} appears twice in {fin:?}"));
            }
            if let Some(Some(len)) = appends.get(&(key.as_str(), *e)) {
                if *len as usize != i + 1 {
                    out.push(format!(
                        "list {key}: append of {e} replied length {len} but sits at position {}",
                        i + 1
                    ));
                }
            }
        }
        for (o, r) in &reads {
            if fin.len() < r.len() || fin[..r.len()] != r[..] {
                out.push(format!(
                    "list {key}: read at {:.3}s {r:?} is not a prefix of the final list {fin:?}",
                    o.call as f64 / 1e9
                ));
            }
        }
        let before = Before::new(
            reads
                .iter()
                .map(|(o, r)| (o.ret.expect("ok"), r.len() as i64))
                .collect(),
        );
        for (o, r) in &reads {
            if let Some(m) = before.max_before(o.call) {
                if (r.len() as i64) < m {
                    out.push(format!(
                        "list {key}: read at {:.3}s has {} elements after a finished read had {m} (stale read)",
                        o.call as f64 / 1e9,
                        r.len()
                    ));
                }
            }
        }
    }
    out
}

/// Sets built by SADD of unique elements: what every collection must hold.
pub fn sets(h: &[Op]) -> Vec<String> {
    let mut out = Vec::new();
    collections(
        h,
        "set",
        |f| matches!(f, F::SAdd(_) | F::SetRead(_)),
        &mut out,
    );
    out
}

/// Transactions that INCR two keys together: every read of the pair sees
/// them equal (no partial transaction), and the final values count every
/// acknowledged transaction.
pub fn txns(h: &[Op]) -> Vec<String> {
    let mut out = Vec::new();
    for (key, ops) in by_key(h, |f| matches!(f, F::TxnIncr(_) | F::TxnRead(_))) {
        let (acked, maybe) = tally(&ops, |f| matches!(f, F::TxnIncr(_)));
        let mut last = None;
        for o in ops.iter().filter(|o| o.outcome == Outcome::Ok) {
            let (F::TxnIncr(Some((a, b))) | F::TxnRead(Some((a, b)))) = o.f else {
                continue;
            };
            if a != b {
                out.push(format!(
                    "txn {key}: {} at {:.3}s saw {a} and {b}: a partial transaction",
                    o.f.name(),
                    o.call as f64 / 1e9
                ));
            }
            if a > acked + maybe {
                out.push(format!(
                    "txn {key}: saw {a} but only {} were attempted",
                    acked + maybe
                ));
            }
            if o.worker == usize::MAX {
                last = Some(a);
            }
        }
        match last {
            Some(v) if v < acked => {
                out.push(format!("txn {key}: final value {v} but {acked} transactions were acknowledged (lost writes)"))
            }
            None => out.push(format!("txn {key}: no final read")),
            _ => {}
        }
    }
    out
}

/// How far past a key's deadline (measured from its write's
/// acknowledgement) a read may still see it: the entry's logical time may
/// run ahead of real time by the clock lead C and a skewed leader clock,
/// and the read clock may lag by as much.
pub const TTL_SLACK_NS: u64 = 2_500_000_000;

/// Keys with TTLs, read with GET and PTTL in one transaction: a key the
/// read clock shows has time left, no more than its write gave it (so the
/// read clock is past the write's and short of the deadline); and a read
/// that began well after the deadline of the last write that could have
/// set the key (and no write to it overlapped) sees nothing, which bounds
/// how far the read clock lags real time. Divergent expiry between
/// replicas shows in the digests.
pub fn ttls(h: &[Op]) -> Vec<String> {
    let mut out = Vec::new();
    for (key, ops) in by_key(h, |f| matches!(f, F::TtlSet { .. } | F::TtlGet(_))) {
        // Writes that may have set the key: acknowledged ones that set, and
        // unknown ones (which may apply until the end).
        let writes: Vec<(u64, u64, u64)> = ops
            .iter()
            .filter_map(|o| match o.f {
                // Without a TTL the key may live forever.
                F::TtlSet { ttl_ms, set, .. } if set != Some(false) => Some((
                    o.call,
                    o.ret.unwrap_or(u64::MAX),
                    ttl_ms.unwrap_or(u64::MAX / 4_000_000),
                )),
                _ => None,
            })
            .collect();
        let ttl_of: HashMap<u64, Option<u64>> = ops
            .iter()
            .filter_map(|o| match o.f {
                F::TtlSet { value, ttl_ms, .. } => Some((value, ttl_ms)),
                _ => None,
            })
            .collect();
        for r in ops.iter().filter(|o| o.outcome == Outcome::Ok) {
            let F::TtlGet(Some((seen, pttl))) = r.f else {
                continue;
            };
            let at = r.call as f64 / 1e9;
            // GET and PTTL ran at one read clock: a visible key has time
            // left, no more than the write that set it gave it.
            let consistent = match (seen, ttl_of.get(&seen.unwrap_or(0))) {
                (None, _) => pttl == -2,
                (Some(_), Some(Some(ttl))) => pttl > 0 && pttl as u64 <= *ttl,
                (Some(_), Some(None)) => pttl == -1,
                (Some(_), None) => true,
            };
            if !consistent {
                out.push(format!(
                    "ttl {key}: read at {at:.3}s saw {seen:?} with PTTL {pttl}: not what the write that set it allows at the read's clock"
                ));
            }
            let Some(v) = seen else { continue };
            // The latest moment any write invoked before the read returned
            // could keep the key alive.
            let alive_until = writes
                .iter()
                .filter(|(call, _, _)| *call < r.ret.unwrap_or(u64::MAX))
                .map(|(_, ret, ttl)| ret.saturating_add(ttl * 1_000_000 + TTL_SLACK_NS))
                .max();
            if alive_until.is_none_or(|t| r.call > t) {
                out.push(format!(
                    "ttl {key}: read at {at:.3}s saw {v}, past the deadline of every write that could have set it"
                ));
            }
        }
    }
    out
}

#[cfg(test)]
#[path = "check_tests.rs"]
mod tests;
