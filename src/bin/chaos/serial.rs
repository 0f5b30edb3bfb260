//! Strict serializability of list-append histories, after the analysis of
//! Jepsen's Elle: every RPUSH appends a unique element, so a list read names
//! exactly which appends it saw and in which order. From the final, longest
//! read of each key we know the order of its appends; from that order and
//! each read we infer dependencies between transactions:
//!
//! - ww: the append of the element before → the append of the next one;
//! - wr: the append of the last element a read saw → the reading transaction;
//! - rw: a reading transaction → the append of the first element it missed;
//! - rt: a transaction that returned → every transaction invoked after.
//!
//! A strictly serializable history has an order of transactions that
//! respects all four, so any cycle in this graph is an anomaly. Single
//! RPUSH and LRANGE operations are transactions of one step. What the
//! per-key list checker reports (lost appends, duplicates, reads that are
//! not prefixes) is left to it; this one looks for cycles and for reads of
//! appends that were refused.

use std::collections::{HashMap, HashSet, VecDeque};

use crate::history::{Op, Outcome, F};

/// Every list step as an operation of its own, with its transaction's
/// times and outcome: what the per-key list checker reads.
pub fn list_ops(h: &[Op]) -> Vec<Op> {
    let mut out = Vec::new();
    for op in h {
        for (key, f) in op.f.list_steps(&op.key) {
            out.push(Op {
                key: key.to_string(),
                f: f.clone(),
                ..op.clone()
            });
        }
    }
    out
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dep {
    Ww,
    Wr,
    Rw,
    Rt,
}

impl Dep {
    fn name(self) -> &'static str {
        match self {
            Dep::Ww => "ww",
            Dep::Wr => "wr",
            Dep::Rw => "rw",
            Dep::Rt => "rt",
        }
    }
}

/// The dependency graph: transactions are nodes `0..txns`, followed by one
/// node per completed transaction in order of return time, which carry
/// real-time order in O(n) edges (see `real_time`).
struct Graph {
    edges: Vec<Vec<(usize, Dep, u32)>>,
    /// Keys named by edges, by index.
    keys: Vec<String>,
    txns: usize,
}

impl Graph {
    fn add(&mut self, from: usize, to: usize, dep: Dep, key: u32) {
        if from != to {
            self.edges[from].push((to, dep, key));
        }
    }
}

/// Real time: with completed transactions ranked by return time, node
/// `txns + i` stands for "after the i-th return". Each completed
/// transaction leads to its own rank, each rank to the next, and the last
/// rank before a transaction's invocation leads to it; so a path from A
/// to B through these nodes exists exactly when A returned before B began.
fn real_time(g: &mut Graph, ops: &[&Op]) {
    let mut rets: Vec<(u64, usize)> = ops
        .iter()
        .enumerate()
        .filter(|(_, o)| o.outcome == Outcome::Ok)
        .filter_map(|(i, o)| o.ret.map(|r| (r, i)))
        .collect();
    rets.sort_unstable();
    let base = g.txns;
    g.edges.resize(base + rets.len(), Vec::new());
    for (rank, &(_, t)) in rets.iter().enumerate() {
        g.add(t, base + rank, Dep::Rt, u32::MAX);
        if rank + 1 < rets.len() {
            g.add(base + rank, base + rank + 1, Dep::Rt, u32::MAX);
        }
    }
    for (i, o) in ops.iter().enumerate() {
        let before = rets.partition_point(|&(r, _)| r < o.call);
        if before > 0 {
            g.add(base + before - 1, i, Dep::Rt, u32::MAX);
        }
    }
}

/// Strongly connected components with more than one node (Tarjan's
/// algorithm, iterative: histories have tens of thousands of nodes).
fn cyclic_components(edges: &[Vec<(usize, Dep, u32)>]) -> Vec<Vec<usize>> {
    let n = edges.len();
    let (mut index, mut low) = (vec![usize::MAX; n], vec![0; n]);
    let mut on_stack = vec![false; n];
    let (mut stack, mut out, mut next) = (Vec::new(), Vec::new(), 0);
    for root in 0..n {
        if index[root] != usize::MAX {
            continue;
        }
        let mut call: Vec<(usize, usize)> = vec![(root, 0)];
        index[root] = next;
        low[root] = next;
        next += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some(&mut (v, ref mut i)) = call.last_mut() {
            if let Some(&(w, _, _)) = edges[v].get(*i) {
                *i += 1;
                if index[w] == usize::MAX {
                    index[w] = next;
                    low[w] = next;
                    next += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    call.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            call.pop();
            if let Some(&(parent, _)) = call.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == index[v] {
                let mut comp = Vec::new();
                loop {
                    let w = stack.pop().expect("tarjan stack");
                    on_stack[w] = false;
                    comp.push(w);
                    if w == v {
                        break;
                    }
                }
                if comp.len() > 1 {
                    out.push(comp);
                }
            }
        }
    }
    out
}

/// A shortest cycle through `start` inside one component, as the edges
/// taken.
fn cycle_through(g: &Graph, comp: &HashSet<usize>, start: usize) -> Vec<(usize, Dep, u32)> {
    let mut prev: HashMap<usize, (usize, Dep, u32)> = HashMap::new();
    let mut queue = VecDeque::from([start]);
    while let Some(v) = queue.pop_front() {
        for &(w, dep, key) in &g.edges[v] {
            if !comp.contains(&w) || prev.contains_key(&w) {
                continue;
            }
            prev.insert(w, (v, dep, key));
            if w == start {
                let mut path = Vec::new();
                let mut at = start;
                loop {
                    let (from, dep, key) = prev[&at];
                    path.push((at, dep, key));
                    at = from;
                    if at == start {
                        break;
                    }
                }
                path.reverse();
                return path;
            }
            queue.push_back(w);
        }
    }
    Vec::new()
}

fn describe(o: &Op) -> String {
    let steps: Vec<String> =
        o.f.list_steps(&o.key)
            .iter()
            .map(|(k, f)| match f {
                F::Append(e, _) => format!("append {e} to {k}"),
                F::ListRead(Some(v)) if v.len() > 4 => {
                    let tail: Vec<String> = v[v.len() - 3..].iter().map(u64::to_string).collect();
                    format!(
                        "read {k} = [.., {}] ({} elements)",
                        tail.join(", "),
                        v.len()
                    )
                }
                F::ListRead(Some(v)) => format!("read {k} = {v:?}"),
                _ => format!("read {k}"),
            })
            .collect();
    let who = if o.worker == usize::MAX {
        "final read".to_string()
    } else {
        format!("worker {}", o.worker)
    };
    let ret = o
        .ret
        .map_or("?".to_string(), |r| format!("{:.3}s", r as f64 / 1e9));
    format!(
        "[{who}: {} at {:.3}s..{ret}]",
        steps.join(", "),
        o.call as f64 / 1e9
    )
}

/// The anomaly a cycle shows, by Adya's names: only write dependencies is
/// G0, with read dependencies G1c, with one anti-dependency G-single,
/// more G2; a cycle that needs real-time order breaks strict
/// serializability only.
fn classify(path: &[(usize, Dep, u32)]) -> String {
    let count = |d| path.iter().filter(|(_, dep, _)| *dep == d).count();
    let name = match (count(Dep::Wr), count(Dep::Rw)) {
        (0, 0) => "G0 (write cycle)",
        (_, 0) => "G1c (circular information flow)",
        (_, 1) => "G-single (read skew)",
        _ => "G2 (anti-dependency cycle)",
    };
    if count(Dep::Rt) > 0 {
        format!("{name} with real-time order: not strictly serializable")
    } else {
        format!("{name}: not serializable")
    }
}

/// Cycles reported in full; beyond this only counted.
const SHOWN: usize = 5;

/// Strict serializability of every list operation and list transaction.
pub fn list_txns(h: &[Op]) -> Vec<String> {
    let mut out = Vec::new();
    let ops: Vec<&Op> = h
        .iter()
        .filter(|o| o.outcome != Outcome::Fail && !o.f.list_steps(&o.key).is_empty())
        .collect();
    let refused: HashSet<u64> = h
        .iter()
        .filter(|o| o.outcome == Outcome::Fail)
        .flat_map(|o| o.f.list_steps(&o.key))
        .filter_map(|(_, f)| f.element())
        .collect();
    let mut writer: HashMap<u64, usize> = HashMap::new();
    // Per key: every completed read, as (transaction, elements).
    let mut reads: HashMap<&str, Vec<(usize, &Vec<u64>)>> = HashMap::new();
    for (i, o) in ops.iter().enumerate() {
        for (key, f) in o.f.list_steps(&o.key) {
            if let Some(e) = f.element() {
                writer.insert(e, i);
            }
            if let (Outcome::Ok, Some(v)) = (o.outcome, f.elements()) {
                reads.entry(key).or_default().push((i, v));
            }
        }
    }
    let mut g = Graph {
        edges: vec![Vec::new(); ops.len()],
        keys: Vec::new(),
        txns: ops.len(),
    };
    let mut keys: Vec<&str> = reads.keys().copied().collect();
    keys.sort_unstable();
    for key in keys {
        let rs = &reads[key];
        let k = g.keys.len() as u32;
        g.keys.push(key.to_string());
        let order = rs
            .iter()
            .map(|(_, v)| *v)
            .max_by_key(|v| v.len())
            .expect("a read");
        for (r, v) in rs {
            for e in v.iter().filter(|e| refused.contains(e)) {
                out.push(format!(
                    "list {key}: {} saw {e}, whose append was refused (G1a, aborted read)",
                    describe(ops[*r])
                ));
            }
        }
        for pair in order.windows(2) {
            if let (Some(&a), Some(&b)) = (writer.get(&pair[0]), writer.get(&pair[1])) {
                g.add(a, b, Dep::Ww, k);
            }
        }
        for &(r, v) in rs {
            // Reads that are no prefix of the order are the list checker's.
            if v.len() > order.len() || order[..v.len()] != v[..] {
                continue;
            }
            if let Some(&w) = v.last().and_then(|e| writer.get(e)) {
                g.add(w, r, Dep::Wr, k);
            }
            if let Some(&w) = order.get(v.len()).and_then(|e| writer.get(e)) {
                g.add(r, w, Dep::Rw, k);
            }
        }
    }
    real_time(&mut g, &ops);
    let comps = cyclic_components(&g.edges);
    for comp in comps.iter().take(SHOWN) {
        let members: HashSet<usize> = comp.iter().copied().collect();
        // The shortest cycle through a few of its transactions.
        let Some((start, path)) = comp
            .iter()
            .filter(|&&v| v < g.txns)
            .take(20)
            .map(|&v| (v, cycle_through(&g, &members, v)))
            .filter(|(_, p)| !p.is_empty())
            .min_by_key(|(_, p)| p.iter().filter(|(to, _, _)| *to < g.txns).count())
        else {
            continue;
        };
        // Real-time hops pass through rank nodes: show them as one edge.
        let mut text = describe(ops[start]);
        for &(to, dep, key) in path.iter().filter(|(to, _, _)| *to < g.txns) {
            let label = if dep == Dep::Rt {
                "rt".to_string()
            } else {
                format!("{} {}", dep.name(), g.keys[key as usize])
            };
            text.push_str(&format!(" -{label}-> {}", describe(ops[to])));
        }
        out.push(format!(
            "list transactions: {}; {} transactions depend on each other in cycles, one is: {text}",
            classify(&path),
            comp.iter().filter(|&&v| v < g.txns).count()
        ));
    }
    if comps.len() > SHOWN {
        out.push(format!(
            "list transactions: {} more dependency cycles not shown",
            comps.len() - SHOWN
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(worker: usize, steps: Vec<(&str, F)>, outcome: Outcome, call: u64, ret: u64) -> Op {
        Op {
            worker,
            node: 1,
            key: "txn".into(),
            f: F::ListTxn(steps.into_iter().map(|(k, f)| (k.to_string(), f)).collect()),
            outcome,
            call,
            ret: (outcome != Outcome::Info).then_some(ret),
            error: String::new(),
        }
    }
    fn read(v: &[u64]) -> F {
        F::ListRead(Some(v.to_vec()))
    }
    fn append(e: u64) -> F {
        F::Append(e, None)
    }
    const FINAL: usize = usize::MAX;

    fn finals(x: &[u64], y: &[u64]) -> Vec<Op> {
        vec![
            op(FINAL, vec![("x", read(x))], Outcome::Ok, 100, 101),
            op(FINAL, vec![("y", read(y))], Outcome::Ok, 102, 103),
        ]
    }

    #[test]
    fn serial_histories_pass() {
        let mut h = vec![
            op(
                0,
                vec![("x", append(1)), ("y", append(2))],
                Outcome::Ok,
                0,
                5,
            ),
            op(
                1,
                vec![("x", read(&[1])), ("y", read(&[2]))],
                Outcome::Ok,
                3,
                8,
            ),
            op(
                2,
                vec![("x", append(3)), ("y", read(&[]))],
                Outcome::Info,
                1,
                0,
            ),
            op(3, vec![("y", append(4))], Outcome::Ok, 9, 10),
        ];
        h.extend(finals(&[1, 3], &[2, 4]));
        assert_eq!(list_txns(&h), Vec::<String>::new());
        assert_eq!(crate::check::lists(&h), Vec::<String>::new());
    }

    #[test]
    fn read_skew_is_a_cycle() {
        // T1 appends to both; T2 sees T1's append to x but not to y.
        let mut h = vec![
            op(
                0,
                vec![("x", append(1)), ("y", append(2))],
                Outcome::Ok,
                0,
                5,
            ),
            op(
                1,
                vec![("x", read(&[1])), ("y", read(&[]))],
                Outcome::Ok,
                1,
                6,
            ),
        ];
        h.extend(finals(&[1], &[2]));
        let found = list_txns(&h);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("G-single"), "{found:?}");
    }

    #[test]
    fn stale_read_breaks_real_time_order() {
        // A read that began after the append returned misses it.
        let mut h = vec![
            op(0, vec![("x", append(1))], Outcome::Ok, 0, 5),
            op(1, vec![("x", read(&[]))], Outcome::Ok, 6, 7),
        ];
        h.extend(finals(&[1], &[]));
        let found = list_txns(&h);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("not strictly serializable"), "{found:?}");
        // Overlapping in time, the same read is fine.
        h[1].call = 4;
        assert_eq!(list_txns(&h), Vec::<String>::new());
    }

    #[test]
    fn write_cycles_and_refused_reads_are_caught() {
        // x orders T1 before T2, y orders T2 before T1.
        let mut h = vec![
            op(
                0,
                vec![("x", append(1)), ("y", append(4))],
                Outcome::Ok,
                0,
                5,
            ),
            op(
                1,
                vec![("x", append(2)), ("y", append(3))],
                Outcome::Ok,
                0,
                5,
            ),
            op(2, vec![("x", append(9))], Outcome::Fail, 0, 1),
        ];
        h.extend(finals(&[1, 2, 9], &[3, 4]));
        let found = list_txns(&h);
        assert!(found.iter().any(|a| a.contains("G0")), "{found:?}");
        assert!(found.iter().any(|a| a.contains("G1a")), "{found:?}");
    }
}
