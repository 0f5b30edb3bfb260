//! Multi-shard writes are atomic as other clients see them: with two or more
//! threads, keys of a pair that live on different shards are written together
//! by MSET, and readers never see one key's new value with the other's old
//! one, whether they read both at once (MGET) or one after the other.
//!
//! With the test-only `faults-no-barrier` switch the server applies each
//! shard's part on its own, and the same checker must catch a mix: that shows
//! the test can fail.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Client, Server};

/// Find `n` key triples: `a` on one shard, `b` and `c` together on another.
fn split_pairs(c: &mut Client, n: usize) -> Vec<(String, String, String)> {
    let shard = |c: &mut Client, k: &str| c.cmd(&format!("DEBUG KEYSHARD {k}"));
    let mut pairs = Vec::new();
    let mut i = 0;
    while pairs.len() < n {
        let a = format!("a{i}");
        let sa = shard(c, &a);
        let b = (0..1000)
            .map(|j| format!("b{i}-{j}"))
            .find(|b| shard(c, b) != sa)
            .expect("a key on another shard");
        assert_ne!(shard(c, &a), shard(c, &b));
        let sb = shard(c, &b);
        let cc = (0..1000)
            .map(|j| format!("c{i}-{j}"))
            .find(|k| shard(c, k) == sb)
            .expect("a key on b's shard");
        pairs.push((a, b, cc));
        i += 1;
    }
    pairs
}

/// The integers of an MGET reply (0 for a missing key).
fn ints_of(reply: &str) -> Vec<i64> {
    let lines: Vec<&str> = reply.split("\r\n").collect();
    let mut out = Vec::new();
    let mut i = 1;
    while i < lines.len() && !lines[i].is_empty() {
        if lines[i] == "$-1" {
            out.push(0);
            i += 1;
        } else {
            out.push(lines[i + 1].parse().unwrap());
            i += 2;
        }
    }
    out
}

fn int_of(bulk: &str) -> i64 {
    // "$N\r\nVALUE\r\n" or "$-1\r\n" (0 before the first write)
    if bulk.starts_with("$-1") {
        return 0;
    }
    bulk.split("\r\n")
        .nth(1)
        .unwrap()
        .parse()
        .unwrap_or_else(|_| panic!("not a number: {bulk:?}"))
}

/// Run writers and readers for `dur`; return the number of mixes seen.
fn run_checker(server: &Server, dur: Duration) -> (u64, u64) {
    let mut c = server.client();
    let pairs = split_pairs(&mut c, 4);
    let stop = Arc::new(AtomicBool::new(false));
    let mixes = Arc::new(AtomicU64::new(0));
    let reads = Arc::new(AtomicU64::new(0));
    let mut threads = Vec::new();
    for (a, b, cc) in pairs.clone() {
        let stop = stop.clone();
        let port = server.port;
        threads.push(std::thread::spawn(move || {
            let mut w = Client::connect(port);
            let mut i = 1u64;
            while !stop.load(Ordering::Relaxed) {
                assert_eq!(w.cmd(&format!("MSET {a} {i} {b} {i} {cc} {i}")), "+OK\r\n");
                i += 1;
            }
        }));
    }
    for r in 0..4 {
        let (stop, mixes, reads) = (stop.clone(), mixes.clone(), reads.clone());
        let port = server.port;
        let pairs = pairs.clone();
        threads.push(std::thread::spawn(move || {
            let mut c = Client::connect(port);
            let mut n = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let (a, b, cc) = &pairs[(n + r) % pairs.len()];
                n += 1;
                let mixed = match n % 4 {
                    // All three at one position (a multi-shard read).
                    0 => {
                        let v = ints_of(&c.cmd(&format!("MGET {a} {b} {cc}")));
                        v[0] != v[1] || v[1] != v[2]
                    }
                    // One after the other, each read on its own shard (each
                    // GET its own request: a pipelined pair would be
                    // sequenced as one batch). What the first saw must be
                    // visible to the second.
                    1 | 2 => {
                        let (first, second) = if n % 4 == 1 { (a, b) } else { (b, a) };
                        let v1 = int_of(&c.cmd(&format!("GET {first}")));
                        let v2 = int_of(&c.cmd(&format!("GET {second}")));
                        v2 < v1
                    }
                    // Then a multi-key read that stays on one shard.
                    _ => {
                        let v1 = int_of(&c.cmd(&format!("GET {a}")));
                        let v = ints_of(&c.cmd(&format!("MGET {b} {cc}")));
                        v[0] != v[1] || v[0] < v1
                    }
                };
                if mixed {
                    mixes.fetch_add(1, Ordering::Relaxed);
                }
                reads.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let start = Instant::now();
    while start.elapsed() < dur {
        std::thread::sleep(Duration::from_millis(50));
    }
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    (mixes.load(Ordering::Relaxed), reads.load(Ordering::Relaxed))
}

#[test]
fn multi_shard_writes_are_never_seen_half_done() {
    let s = Server::start(&["--threads", "2"]);
    let (mixes, reads) = run_checker(&s, Duration::from_secs(3));
    assert!(reads > 100, "the checker ran ({reads} reads)");
    assert_eq!(mixes, 0, "{mixes} mixed reads out of {reads}");
}

/// The barrier holds even when one shard applies late (needs a server built
/// with `--features faults`).
#[cfg(feature = "faults")]
#[test]
fn the_barrier_holds_under_apply_lag() {
    let s = Server::start(&["--threads", "2", "--faults-apply-lag-us", "300"]);
    let (mixes, reads) = run_checker(&s, Duration::from_secs(3));
    assert!(reads > 100, "the checker ran ({reads} reads)");
    assert_eq!(mixes, 0, "{mixes} mixed reads out of {reads}");
}

/// Without the barrier the same checker sees mixes: the test can fail.
#[cfg(feature = "faults")]
#[test]
fn without_the_barrier_the_checker_sees_mixes() {
    let s = Server::start(&[
        "--threads",
        "2",
        "--faults-no-barrier",
        "yes",
        "--faults-apply-lag-us",
        "300",
    ]);
    let (mixes, reads) = run_checker(&s, Duration::from_secs(5));
    assert!(reads > 100, "the checker ran ({reads} reads)");
    assert!(
        mixes > 0,
        "no mix seen in {reads} reads: the checker cannot fail"
    );
}
