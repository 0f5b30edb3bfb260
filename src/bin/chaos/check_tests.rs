//! Tests of the history checkers: hand-built histories that each checker
//! must pass or flag.

use super::*;

fn op(worker: usize, key: &str, f: F, outcome: Outcome, call: u64, ret: u64) -> Op {
    Op {
        worker,
        node: 1,
        key: key.into(),
        f,
        outcome,
        call,
        ret: (outcome != Outcome::Info).then_some(ret),
        error: String::new(),
    }
}
const FINAL: usize = usize::MAX;

#[test]
fn many_unknown_writes_nobody_saw_do_not_exhaust_the_search() {
    // An outage: forty writes time out, then a completed write and
    // reads of it (values of unknown writes that are never seen).
    let mut h: Vec<Op> = (0..40)
        .map(|i| {
            op(
                i,
                "r",
                F::Reg(RegOp::Write(100 + i as u64)),
                Outcome::Info,
                i as u64,
                0,
            )
        })
        .collect();
    h.push(op(50, "r", F::Reg(RegOp::Write(1)), Outcome::Ok, 100, 101));
    for i in 0..40 {
        let t = 200 + 2 * i;
        h.push(op(
            51,
            "r",
            F::Reg(RegOp::Read(Some(1))),
            Outcome::Ok,
            t,
            t + 1,
        ));
    }
    assert_eq!(registers(&h), Vec::<String>::new());
    // A read of a value nobody wrote still fails.
    h.push(op(
        51,
        "r",
        F::Reg(RegOp::Read(Some(7))),
        Outcome::Ok,
        300,
        301,
    ));
    assert_eq!(registers(&h).len(), 1);
}

#[test]
fn counters_catch_lost_duplicate_and_stale() {
    let good = vec![
        op(0, "c", F::Incr(Some(1)), Outcome::Ok, 0, 1),
        op(1, "c", F::Incr(None), Outcome::Info, 2, 0),
        op(0, "c", F::Incr(Some(3)), Outcome::Ok, 5, 6),
        op(FINAL, "c", F::CounterRead(Some(3)), Outcome::Ok, 10, 11),
    ];
    assert_eq!(counters(&good), Vec::<String>::new());
    let lost = vec![
        op(0, "c", F::Incr(Some(1)), Outcome::Ok, 0, 1),
        op(0, "c", F::Incr(Some(2)), Outcome::Ok, 2, 3),
        op(FINAL, "c", F::CounterRead(Some(1)), Outcome::Ok, 10, 11),
    ];
    assert!(counters(&lost).iter().any(|a| a.contains("lost")));
    let dup = vec![
        op(0, "c", F::Incr(Some(1)), Outcome::Ok, 0, 3),
        op(1, "c", F::Incr(Some(1)), Outcome::Ok, 1, 4),
        op(FINAL, "c", F::CounterRead(Some(2)), Outcome::Ok, 10, 11),
    ];
    assert!(counters(&dup).iter().any(|a| a.contains("two INCRs")));
    let stale = vec![
        op(0, "c", F::Incr(Some(1)), Outcome::Ok, 0, 1),
        op(1, "c", F::CounterRead(Some(0)), Outcome::Ok, 2, 3),
        op(FINAL, "c", F::CounterRead(Some(1)), Outcome::Ok, 10, 11),
    ];
    assert!(counters(&stale)
        .iter()
        .any(|a| a.contains("after an operation")));
}

#[test]
fn lists_catch_lost_reordered_and_stale() {
    let good = vec![
        op(0, "l", F::Append(1, Some(1)), Outcome::Ok, 0, 1),
        op(1, "l", F::Append(2, None), Outcome::Info, 2, 0),
        op(2, "l", F::ListRead(Some(vec![1])), Outcome::Ok, 3, 4),
        op(
            FINAL,
            "l",
            F::ListRead(Some(vec![1, 2])),
            Outcome::Ok,
            10,
            11,
        ),
    ];
    assert_eq!(lists(&good), Vec::<String>::new());
    let lost = vec![
        op(0, "l", F::Append(1, Some(1)), Outcome::Ok, 0, 1),
        op(FINAL, "l", F::ListRead(Some(vec![])), Outcome::Ok, 10, 11),
    ];
    assert!(lists(&lost).iter().any(|a| a.contains("lost")));
    let reordered = vec![
        op(0, "l", F::Append(1, Some(1)), Outcome::Ok, 0, 1),
        op(0, "l", F::Append(2, Some(2)), Outcome::Ok, 2, 3),
        op(1, "l", F::ListRead(Some(vec![2])), Outcome::Ok, 1, 4),
        op(
            FINAL,
            "l",
            F::ListRead(Some(vec![2, 1])),
            Outcome::Ok,
            10,
            11,
        ),
    ];
    assert!(!lists(&reordered).is_empty());
    let stale = vec![
        op(0, "l", F::Append(1, Some(1)), Outcome::Ok, 0, 1),
        op(1, "l", F::ListRead(Some(vec![])), Outcome::Ok, 2, 3),
        op(FINAL, "l", F::ListRead(Some(vec![1])), Outcome::Ok, 10, 11),
    ];
    assert!(lists(&stale).iter().any(|a| a.contains("stale")));
    let phantom = vec![op(
        FINAL,
        "l",
        F::ListRead(Some(vec![9])),
        Outcome::Ok,
        10,
        11,
    )];
    assert!(lists(&phantom).iter().any(|a| a.contains("never written")));
}

#[test]
fn ttl_reads_past_every_deadline_are_caught() {
    let set = |ttl_ms| F::TtlSet {
        value: 1,
        ttl_ms: Some(ttl_ms),
        nx: false,
        set: Some(true),
    };
    let get = |v, pttl| F::TtlGet(Some((v, pttl)));
    let s = 1_000_000_000;
    let good = vec![
        op(0, "t", set(100), Outcome::Ok, 0, s),
        op(1, "t", get(Some(1), 50), Outcome::Ok, 2 * s, 2 * s + 1),
        op(1, "t", get(None, -2), Outcome::Ok, 9 * s, 9 * s + 1),
    ];
    assert_eq!(ttls(&good), Vec::<String>::new());
    let late = vec![
        op(0, "t", set(100), Outcome::Ok, 0, s),
        op(1, "t", get(Some(1), 50), Outcome::Ok, 9 * s, 9 * s + 1),
    ];
    assert_eq!(ttls(&late).len(), 1);
    // At the read's own clock: no time left, or more than was given.
    for pttl in [0, -1, 101] {
        let h = vec![
            op(0, "t", set(100), Outcome::Ok, 0, s),
            op(1, "t", get(Some(1), pttl), Outcome::Ok, s, s + 1),
        ];
        assert_eq!(ttls(&h).len(), 1, "PTTL {pttl}");
    }
}

#[test]
fn sets_and_txns_catch_anomalies() {
    let lost = vec![
        op(0, "s", F::SAdd(1), Outcome::Ok, 0, 1),
        op(FINAL, "s", F::SetRead(Some(vec![])), Outcome::Ok, 10, 11),
    ];
    assert!(sets(&lost).iter().any(|a| a.contains("lost")));
    let good = vec![
        op(0, "s", F::SAdd(1), Outcome::Ok, 0, 1),
        op(FINAL, "s", F::SetRead(Some(vec![1])), Outcome::Ok, 10, 11),
    ];
    assert_eq!(sets(&good), Vec::<String>::new());
    let partial = vec![
        op(0, "t", F::TxnIncr(Some((1, 1))), Outcome::Ok, 0, 1),
        op(1, "t", F::TxnRead(Some((1, 0))), Outcome::Ok, 2, 3),
        op(FINAL, "t", F::TxnRead(Some((1, 1))), Outcome::Ok, 10, 11),
    ];
    assert!(txns(&partial).iter().any(|a| a.contains("partial")));
}
