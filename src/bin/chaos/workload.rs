//! Workers: each runs one workload's operations against the cluster, one at
//! a time, each with a deadline, and records them in the history. A worker
//! that is refused (READONLY, MASTERDOWN) or loses its connection moves on
//! to the next node, as a client library asking its sentinels would.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::history::{Op, Outcome, F};
use crate::resp::{Conn, Val};
use crate::wgl::RegOp;

/// Operations per register, list or set key before the workload moves on
/// to fresh keys: keeps each key's history small enough to check.
pub const OPS_PER_KEY: u64 = 100;
/// Keys of a kind in use at once.
const LIVE_KEYS: u64 = 3;
pub const COUNTER_KEYS: u64 = 3;
pub const TXN_PAIRS: u64 = 4;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Register,
    Counter,
    ListAppend,
    Set,
    Txn,
    Ttl,
}

impl Kind {
    pub fn parse(s: &str) -> Option<Kind> {
        Some(match s {
            "register" => Kind::Register,
            "counter" => Kind::Counter,
            "list-append" => Kind::ListAppend,
            "set" => Kind::Set,
            "txn" => Kind::Txn,
            "ttl" => Kind::Ttl,
            _ => return None,
        })
    }
}

/// What every worker shares.
pub struct Shared {
    pub start: Instant,
    pub nodes: Vec<SocketAddr>,
    pub stop: AtomicBool,
    pub history: Mutex<Vec<Op>>,
    /// Per-kind operation sequence numbers (key rotation, unique values).
    seq: [AtomicU64; 6],
    pub timeout: Duration,
}

impl Shared {
    pub fn new(start: Instant, nodes: Vec<SocketAddr>, timeout: Duration) -> Shared {
        Shared {
            start,
            nodes,
            stop: AtomicBool::new(false),
            history: Mutex::new(Vec::new()),
            seq: Default::default(),
            timeout,
        }
    }

    pub fn now(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }

    fn next(&self, kind: Kind) -> u64 {
        self.seq[kind as usize].fetch_add(1, Relaxed)
    }

    pub fn record(&self, op: Op) {
        self.history.lock().expect("history").push(op);
    }
}

/// Keys for the n-th operation of a rotating workload.
fn rotating_key(prefix: &str, n: u64) -> String {
    let generation = n / (OPS_PER_KEY * LIVE_KEYS);
    format!("{prefix}:{}", generation * LIVE_KEYS + n % LIVE_KEYS)
}

pub fn txn_keys(pair: u64) -> (String, String) {
    (format!("txa:{pair}"), format!("txb:{pair}"))
}

/// A command to send and how to read its reply into the history.
struct Plan {
    key: String,
    /// One command, or with `multi` the commands MULTI ... EXEC queues.
    cmds: Vec<Vec<Vec<u8>>>,
    multi: bool,
    f: F,
}

fn args(parts: &[&str]) -> Vec<Vec<u8>> {
    parts.iter().map(|p| p.as_bytes().to_vec()).collect()
}

fn plan(kind: Kind, sh: &Shared, rng: &mut u64, due: &mut Due) -> Plan {
    let r = xorshift(rng);
    let n = sh.next(kind);
    match kind {
        Kind::Register => {
            let key = rotating_key("reg", n);
            let v = n + 1;
            let (a, f) = match r % 8 {
                0..=2 => (args(&["GET", &key]), F::Reg(RegOp::Read(None))),
                3..=4 => (
                    args(&["SET", &key, &v.to_string()]),
                    F::Reg(RegOp::Write(v)),
                ),
                5 => (
                    args(&["SET", &key, &v.to_string(), "NX"]),
                    F::Reg(RegOp::SetNx(v, None)),
                ),
                _ => (
                    args(&["SET", &key, &v.to_string(), "XX", "GET"]),
                    F::Reg(RegOp::Swap(v, None)),
                ),
            };
            Plan {
                key,
                cmds: vec![a],
                multi: false,
                f,
            }
        }
        Kind::Counter => {
            let key = format!("ctr:{}", r % COUNTER_KEYS);
            if r.is_multiple_of(4) {
                Plan {
                    cmds: vec![args(&["GET", &key])],
                    key,
                    multi: false,
                    f: F::CounterRead(None),
                }
            } else {
                Plan {
                    cmds: vec![args(&["INCR", &key])],
                    key,
                    multi: false,
                    f: F::Incr(None),
                }
            }
        }
        Kind::ListAppend if r.is_multiple_of(2) => list_txn(sh, n, r),
        Kind::ListAppend => {
            let key = rotating_key("list", n);
            if r.is_multiple_of(3) {
                Plan {
                    cmds: vec![args(&["LRANGE", &key, "0", "-1"])],
                    key,
                    multi: false,
                    f: F::ListRead(None),
                }
            } else {
                let e = n + 1;
                Plan {
                    cmds: vec![args(&["RPUSH", &key, &e.to_string()])],
                    key,
                    multi: false,
                    f: F::Append(e, None),
                }
            }
        }
        Kind::Set => {
            let key = rotating_key("set", n);
            if r.is_multiple_of(3) {
                Plan {
                    cmds: vec![args(&["SMEMBERS", &key])],
                    key,
                    multi: false,
                    f: F::SetRead(None),
                }
            } else {
                let e = n + 1;
                Plan {
                    cmds: vec![args(&["SADD", &key, &e.to_string()])],
                    key,
                    multi: false,
                    f: F::SAdd(e),
                }
            }
        }
        Kind::Ttl => ttl_plan(sh, n, r, due),
        Kind::Txn => {
            let pair = r % TXN_PAIRS;
            let (a, b) = txn_keys(pair);
            let read = r.is_multiple_of(3);
            let cmd = if read { "GET" } else { "INCR" };
            Plan {
                key: format!("tx:{pair}"),
                cmds: vec![args(&[cmd, &a]), args(&[cmd, &b])],
                multi: true,
                f: if read {
                    F::TxnRead(None)
                } else {
                    F::TxnIncr(None)
                },
            }
        }
    }
}

/// A list-append transaction: two or three of the live list keys (so
/// usually on different shards), each appended to or read, in MULTI/EXEC.
/// Each key appears once per transaction, so a step never reads its own
/// transaction's append. Appended elements are unique across the run.
fn list_txn(sh: &Shared, n: u64, r: u64) -> Plan {
    let generation = n / (OPS_PER_KEY * LIVE_KEYS);
    let len = 2 + (r >> 4) % (LIVE_KEYS - 1);
    let first = (r >> 8) % LIVE_KEYS;
    let (mut cmds, mut steps) = (Vec::new(), Vec::new());
    for i in 0..len {
        let key = format!("list:{}", generation * LIVE_KEYS + (first + i) % LIVE_KEYS);
        if (r >> (16 + i)) & 1 == 0 {
            cmds.push(args(&["LRANGE", &key, "0", "-1"]));
            steps.push((key, F::ListRead(None)));
        } else {
            let e = sh.next(Kind::ListAppend) + 1;
            cmds.push(args(&["RPUSH", &key, &e.to_string()]));
            steps.push((key, F::Append(e, None)));
        }
    }
    let keys: Vec<&str> = steps.iter().map(|(k, _)| k.as_str()).collect();
    Plan {
        key: keys.join(","),
        cmds,
        multi: true,
        f: F::ListTxn(steps),
    }
}

/// TTL keys of this worker waiting for their second write: (key number,
/// when, in run nanoseconds).
type Due = std::collections::VecDeque<(u64, u64)>;

/// Each TTL key is written twice: `SET k v PX ttl`, then near its deadline
/// (up to 600 ms either side) `SET k v2 NX` without a TTL, which sets only
/// if the key has expired. Replicas that judged the deadline differently
/// keep different keys for good (one holds v2 forever, another lets v
/// expire), which the digests show. Reads look at keys still in play.
fn ttl_plan(sh: &Shared, n: u64, r: u64, due: &mut Due) -> Plan {
    let now = sh.now();
    let value = n + 1;
    if let Some(&(k, at)) = due.front() {
        if now >= at {
            due.pop_front();
            let key = format!("ttl:{k}");
            return Plan {
                cmds: vec![args(&["SET", &key, &value.to_string(), "NX"])],
                key,
                multi: false,
                f: F::TtlSet {
                    value,
                    ttl_ms: None,
                    nx: true,
                    set: None,
                },
            };
        }
        if r.is_multiple_of(2) {
            let key = format!("ttl:{k}");
            return Plan {
                cmds: vec![args(&["GET", &key]), args(&["PTTL", &key])],
                key,
                multi: true,
                f: F::TtlGet(None),
            };
        }
    }
    let ttl_ms = 200 + (r >> 8) % 800;
    let jitter = ((r >> 20) % 1201) as i64 - 600;
    let at = now as i64 + (ttl_ms as i64 + jitter) * 1_000_000;
    due.push_back((n, at.max(0) as u64));
    let key = format!("ttl:{n}");
    Plan {
        cmds: vec![args(&[
            "SET",
            &key,
            &value.to_string(),
            "PX",
            &ttl_ms.to_string(),
        ])],
        key,
        multi: false,
        f: F::TtlSet {
            value,
            ttl_ms: Some(ttl_ms),
            nx: false,
            set: None,
        },
    }
}

pub fn xorshift(s: &mut u64) -> u64 {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    *s
}

/// Errors that say the command was refused before anything was proposed.
fn definite(err: &str) -> bool {
    err.starts_with("READONLY")
        || err.starts_with("MASTERDOWN")
        || err.starts_with("LOADING")
        || err.starts_with("EXECABORT")
        || err.starts_with("ERR no leader")
}

fn int_of(v: &Val) -> Option<i64> {
    v.as_int()
}

fn ints(v: &Val) -> Option<Vec<u64>> {
    match v {
        Val::Array(Some(items)) => items.iter().map(|i| i.as_int().map(|x| x as u64)).collect(),
        _ => None,
    }
}

/// Fill in what the reply says; `Err` with the error text when the reply
/// is an error.
fn read_reply(f: &mut F, reply: Val) -> Result<(), String> {
    if let Val::Err(e) = &reply {
        return Err(e.clone());
    }
    let unexpected = |reply: &Val| format!("unexpected reply {reply:?}");
    match f {
        F::Reg(RegOp::Read(v)) => *v = reply.as_int().map(|x| x as u64),
        F::Reg(RegOp::Write(_)) | F::SAdd(_) => {}
        F::TtlSet { set, .. } => *set = Some(matches!(reply, Val::Ok(_))),
        F::TtlGet(v) => {
            let a = exec_replies(reply, 2)?;
            let pttl = a[1].as_int().ok_or_else(|| unexpected(&a[1]))?;
            *v = Some((a[0].as_int().map(|x| x as u64), pttl));
        }
        F::Reg(RegOp::SetNx(_, set)) => *set = Some(matches!(reply, Val::Ok(_))),
        F::Reg(RegOp::Swap(_, old)) => *old = Some(reply.as_int().map(|x| x as u64)),
        F::Incr(v) => *v = int_of(&reply),
        F::CounterRead(v) => *v = Some(int_of(&reply).unwrap_or(0)),
        F::Append(_, len) => *len = int_of(&reply),
        F::ListRead(v) => *v = Some(ints(&reply).ok_or_else(|| unexpected(&reply))?),
        F::SetRead(v) => {
            let mut items = ints(&reply).ok_or_else(|| unexpected(&reply))?;
            items.sort_unstable();
            *v = Some(items);
        }
        F::TxnIncr(v) | F::TxnRead(v) => {
            let a = exec_replies(reply, 2)?;
            *v = Some((a[0].as_int().unwrap_or(0), a[1].as_int().unwrap_or(0)));
        }
        F::ListTxn(steps) => {
            let replies = exec_replies(reply, steps.len())?;
            for ((_, step), reply) in steps.iter_mut().zip(replies) {
                read_reply(step, reply)?;
            }
        }
    }
    Ok(())
}

/// EXEC's reply with `n` results, none of them an error.
fn exec_replies(reply: Val, n: usize) -> Result<Vec<Val>, String> {
    match reply {
        Val::Array(Some(a)) if a.len() == n => {
            if let Some(Val::Err(e)) = a.iter().find(|x| matches!(x, Val::Err(_))) {
                return Err(e.clone());
            }
            Ok(a)
        }
        Val::Array(None) => Err("EXEC aborted".into()),
        other => Err(format!("unexpected reply {other:?}")),
    }
}

/// Send one planned operation; the reply or the error that ended it.
fn exchange(conn: &mut Conn, p: &Plan) -> std::io::Result<Val> {
    if !p.multi {
        return conn.call(&p.cmds[0]);
    }
    conn.send(&[b"MULTI".as_slice()])?;
    for cmd in &p.cmds {
        conn.send(cmd)?;
    }
    conn.send(&[b"EXEC".as_slice()])?;
    // +OK, +QUEUED per command, then EXEC's reply: the first error wins.
    let mut first_err = None;
    for _ in 0..=p.cmds.len() {
        if let Val::Err(e) = conn.read()? {
            first_err.get_or_insert(e);
        }
    }
    let exec = conn.read()?;
    Ok(match first_err {
        Some(e) if !matches!(exec, Val::Err(_)) => Val::Err(e),
        _ => exec,
    })
}

/// One worker's loop, until told to stop. Writes go to the node the
/// worker takes for the leader (it moves on when refused or cut off);
/// half the reads go to a random node, as clients that read from replicas
/// do (a correct cluster refuses them there).
pub fn worker(id: usize, kind: Kind, sh: Arc<Shared>, seed: u64) {
    let mut rng = seed | 1;
    let n = sh.nodes.len();
    let mut at = id % n;
    let mut conns: Vec<Option<Conn>> = (0..n).map(|_| None).collect();
    let mut due = Due::new();
    while !sh.stop.load(Relaxed) {
        let mut p = plan(kind, &sh, &mut rng, &mut due);
        let target = if p.f.is_read() && xorshift(&mut rng).is_multiple_of(2) {
            (xorshift(&mut rng) % n as u64) as usize
        } else {
            at
        };
        if conns[target].is_none() {
            match Conn::connect(sh.nodes[target], sh.timeout) {
                Ok(c) => conns[target] = Some(c),
                Err(_) => {
                    if target == at {
                        at = (at + 1) % n;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                }
            }
        }
        let c = conns[target].as_mut().expect("connected");
        let call = sh.now();
        let result = exchange(c, &p);
        let ret = sh.now();
        let (outcome, error, move_on) = match result {
            Ok(reply) => match read_reply(&mut p.f, reply) {
                Ok(()) => (Outcome::Ok, String::new(), false),
                Err(e) if definite(&e) => (Outcome::Fail, e, true),
                Err(e) => {
                    let unknown = e.contains("outcome unknown");
                    (Outcome::Info, e, unknown)
                }
            },
            Err(e) => (Outcome::Info, e.to_string(), true),
        };
        if move_on {
            conns[target] = None;
            if target == at {
                at = (at + 1) % n;
            }
        }
        sh.record(Op {
            worker: id,
            node: target as u64 + 1,
            key: p.key,
            f: p.f,
            outcome,
            call,
            ret: (outcome != Outcome::Info).then_some(ret),
            error,
        });
        if outcome != Outcome::Ok {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// After healing: read every key a checker needs a final value for, on the
/// leader, recording the reads in the history.
pub fn final_reads(sh: &Shared, leader: SocketAddr) -> Result<(), String> {
    let mut plans: Vec<Plan> = Vec::new();
    let history = sh.history.lock().expect("history").clone();
    let mut seen = std::collections::BTreeSet::new();
    let single = |key: &str, cmd: &[&str], f: F| Plan {
        key: key.to_string(),
        cmds: vec![args(cmd)],
        multi: false,
        f,
    };
    for op in &history {
        // A transaction's lists are read one by one.
        for (key, _) in op.f.list_steps(&op.key) {
            if seen.insert(key.to_string()) {
                plans.push(single(key, &["LRANGE", key, "0", "-1"], F::ListRead(None)));
            }
        }
        if !seen.insert(op.key.clone()) {
            continue;
        }
        let key = op.key.as_str();
        match op.f {
            F::Incr(_) | F::CounterRead(_) => {
                plans.push(single(key, &["GET", key], F::CounterRead(None)))
            }
            F::SAdd(_) | F::SetRead(_) => {
                plans.push(single(key, &["SMEMBERS", key], F::SetRead(None)))
            }
            F::TxnIncr(_) | F::TxnRead(_) => {
                let pair: u64 = key.trim_start_matches("tx:").parse().unwrap_or(0);
                let (a, b) = txn_keys(pair);
                plans.push(Plan {
                    key: key.to_string(),
                    cmds: vec![args(&["GET", &a]), args(&["GET", &b])],
                    multi: true,
                    f: F::TxnRead(None),
                });
            }
            F::Reg(_) => plans.push(single(key, &["GET", key], F::Reg(RegOp::Read(None)))),
            // Lists are read above; expiring keys need no final value: the
            // digests compare them.
            F::Append(..) | F::ListRead(_) | F::ListTxn(_) | F::TtlSet { .. } | F::TtlGet(_) => {}
        }
    }
    let mut conn = Conn::connect(leader, Duration::from_secs(5)).map_err(|e| e.to_string())?;
    for p in plans {
        let mut f = p.f.clone();
        let call = sh.now();
        let reply = exchange(&mut conn, &p).map_err(|e| format!("final read of {}: {e}", p.key))?;
        read_reply(&mut f, reply).map_err(|e| format!("final read of {}: {e}", p.key))?;
        let ret = sh.now();
        sh.record(Op {
            worker: usize::MAX,
            node: 0,
            key: p.key,
            f,
            outcome: Outcome::Ok,
            call,
            ret: Some(ret),
            error: String::new(),
        });
    }
    Ok(())
}
