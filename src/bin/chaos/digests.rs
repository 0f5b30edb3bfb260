//! Replica agreement: every replica's digest at the same applied index
//! must be equal. During the run a sampler asks every node for its digest
//! at an index a little ahead of the cluster (`RAFT DIGEST index` answers
//! right after that entry is applied), so divergence that later writes
//! would paper over is still seen; after healing, the settled cluster is
//! compared once more.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::resp::{self, Val};

/// Entries ahead of a node's applied index that a sample asks for.
const AHEAD: u64 = 300;

#[derive(Default)]
pub struct Samples {
    /// Indexes at which at least two replicas answered, and agreed.
    pub agreed: u64,
    pub anomalies: Vec<String>,
}

/// `RAFT DIGEST [at]` on one node: (index, digest) or what went wrong.
fn digest_or(
    addr: SocketAddr,
    at: Option<u64>,
    timeout: Duration,
) -> Result<(u64, String), String> {
    let at = at.map(|i| i.to_string());
    let mut args = vec!["RAFT", "DIGEST"];
    if let Some(i) = &at {
        args.push(i);
    }
    match resp::once(addr, &args, timeout) {
        Ok(Val::Array(Some(a))) if a.len() == 2 => match (a[0].as_int(), a[1].as_text()) {
            (Some(i), Some(d)) => Ok((i as u64, d)),
            _ => Err(format!("unexpected reply {a:?}")),
        },
        Ok(other) => Err(format!("{other:?}")),
        Err(e) => Err(e.to_string()),
    }
}

fn digest(addr: SocketAddr, at: Option<u64>, timeout: Duration) -> Option<(u64, String)> {
    digest_or(addr, at, timeout).ok()
}

/// Every node's digest at `target`, asked at once (an index passes by).
fn all_at(nodes: &[SocketAddr], target: u64) -> Vec<Result<(u64, String), String>> {
    let asks: Vec<_> = nodes
        .iter()
        .map(|a| {
            let a = *a;
            std::thread::spawn(move || digest_or(a, Some(target), Duration::from_secs(12)))
        })
        .collect();
    asks.into_iter()
        .map(|h| {
            h.join()
                .unwrap_or_else(|_| Err("asking thread panicked".into()))
        })
        .collect()
}

/// Compare one index's answers; an anomaly when they differ.
fn compare(index: u64, ds: &BTreeMap<usize, String>) -> Option<String> {
    let first = ds.values().next()?;
    ds.values().any(|d| d != first).then(|| {
        format!("replica digests differ at applied index {index}: {ds:?} (by node index from 0)")
    })
}

/// Sample until `stop`, one round at a time.
pub fn sampler(nodes: Vec<SocketAddr>, stop: Arc<AtomicBool>, out: Arc<Mutex<Samples>>) {
    while !stop.load(Relaxed) {
        std::thread::sleep(Duration::from_millis(500));
        let Some(applied) = nodes
            .iter()
            .find_map(|a| digest(*a, None, Duration::from_secs(2)).map(|(i, _)| i))
        else {
            continue;
        };
        let mut by_index: BTreeMap<u64, BTreeMap<usize, String>> = BTreeMap::new();
        for (i, answer) in all_at(&nodes, applied + AHEAD).into_iter().enumerate() {
            if let Ok((index, d)) = answer {
                by_index.entry(index).or_default().insert(i, d);
            }
        }
        let mut o = out.lock().expect("samples");
        for (index, ds) in by_index.iter().filter(|(_, ds)| ds.len() > 1) {
            match compare(*index, ds) {
                Some(a) => o.anomalies.push(a),
                None => o.agreed += 1,
            }
        }
    }
}

/// After healing: every node must reach one index and agree there.
pub fn settled(nodes: &[SocketAddr]) -> Result<String, String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut last = String::new();
    while Instant::now() < deadline {
        let Some(applied) = nodes
            .iter()
            .filter_map(|a| digest(*a, None, Duration::from_secs(5)).map(|(i, _)| i))
            .max()
        else {
            last = "no node answered".into();
            std::thread::sleep(Duration::from_millis(200));
            continue;
        };
        // An idle leader ticks every C/2: a few entries ahead is soon.
        let target = applied + 4;
        let mut ds = BTreeMap::new();
        let mut missing = Vec::new();
        for (i, answer) in all_at(nodes, target).into_iter().enumerate() {
            match answer {
                Ok(v) => {
                    ds.insert(i, v);
                }
                Err(e) => missing.push(format!("node {}: {e}", i + 1)),
            }
        }
        let indexes: std::collections::BTreeSet<u64> = ds.values().map(|v| v.0).collect();
        if missing.is_empty() && indexes.len() == 1 {
            let index = indexes.into_iter().next().unwrap_or(0);
            let digests: BTreeMap<usize, String> =
                ds.into_iter().map(|(i, (_, d))| (i, d)).collect();
            return match compare(index, &digests) {
                Some(a) => Err(a),
                None => Ok(format!("digests at applied index {index}: {digests:?}")),
            };
        }
        if indexes.len() > 1 {
            missing.push(format!("answers at different indexes {ds:?}"));
        }
        last = missing.join(", ");
    }
    let states: Vec<String> = nodes
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let info = resp::once(*a, &["INFO", "raft"], Duration::from_secs(2))
                .ok()
                .and_then(|v| v.as_text())
                .unwrap_or_default();
            let fields: Vec<&str> = info
                .lines()
                .filter(|l| {
                    [
                        "raft_role",
                        "raft_term",
                        "raft_leader_id",
                        "raft_commit_index",
                        "raft_applied_index",
                    ]
                    .iter()
                    .any(|k| l.starts_with(k))
                })
                .collect();
            format!("node {}: {}", i + 1, fields.join(" "))
        })
        .collect();
    Err(format!(
        "replicas did not converge within 30 s of healing: {last} [{}]",
        states.join("; ")
    ))
}
