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
    args: Vec<Vec<u8>>,
    /// MULTI ... EXEC: the commands in between are queued.
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
                args: a,
                multi: false,
                f,
            }
        }
        Kind::Counter => {
            let key = format!("ctr:{}", r % COUNTER_KEYS);
            if r.is_multiple_of(4) {
                Plan {
                    args: args(&["GET", &key]),
                    key,
                    multi: false,
                    f: F::CounterRead(None),
                }
            } else {
                Plan {
                    args: args(&["INCR", &key]),
                    key,
                    multi: false,
                    f: F::Incr(None),
                }
            }
        }
        Kind::ListAppend => {
            let key = rotating_key("list", n);
            if r.is_multiple_of(3) {
                Plan {
                    args: args(&["LRANGE", &key, "0", "-1"]),
                    key,
                    multi: false,
                    f: F::ListRead(None),
                }
            } else {
                let e = n + 1;
                Plan {
                    args: args(&["RPUSH", &key, &e.to_string()]),
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
                    args: args(&["SMEMBERS", &key]),
                    key,
                    multi: false,
                    f: F::SetRead(None),
                }
            } else {
                let e = n + 1;
                Plan {
                    args: args(&["SADD", &key, &e.to_string()]),
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
            let mut v = args(&[cmd, &a]);
            v.extend(args(&[cmd, &b]));
            Plan {
                key: format!("tx:{pair}"),
                args: v,
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
                args: args(&["SET", &key, &value.to_string(), "NX"]),
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
                args: args(&["GET", &key]),
                key,
                multi: false,
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
        args: args(&["SET", &key, &value.to_string(), "PX", &ttl_ms.to_string()]),
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
    match f {
        F::Reg(RegOp::Read(v)) => *v = reply.as_int().map(|x| x as u64),
        F::Reg(RegOp::Write(_)) | F::SAdd(_) => {}
        F::TtlSet { set, .. } => *set = Some(matches!(reply, Val::Ok(_))),
        F::TtlGet(v) => *v = reply.as_int().map(|x| x as u64),
        F::Reg(RegOp::SetNx(_, set)) => *set = Some(matches!(reply, Val::Ok(_))),
        F::Reg(RegOp::Swap(_, old)) => *old = Some(reply.as_int().map(|x| x as u64)),
        F::Incr(v) => *v = int_of(&reply),
        F::CounterRead(v) => *v = Some(int_of(&reply).unwrap_or(0)),
        F::Append(_, len) => *len = int_of(&reply),
        F::ListRead(v) => {
            *v = Some(ints(&reply).ok_or_else(|| format!("unexpected reply {reply:?}"))?);
        }
        F::SetRead(v) => {
            let mut items = ints(&reply).ok_or_else(|| format!("unexpected reply {reply:?}"))?;
            items.sort_unstable();
            *v = Some(items);
        }
        F::TxnIncr(v) | F::TxnRead(v) => match &reply {
            Val::Array(Some(a)) if a.len() == 2 => {
                if let Some(Val::Err(e)) = a.iter().find(|x| matches!(x, Val::Err(_))) {
                    return Err(e.clone());
                }
                *v = Some((a[0].as_int().unwrap_or(0), a[1].as_int().unwrap_or(0)));
            }
            Val::Array(None) => return Err("EXEC aborted".into()),
            other => return Err(format!("unexpected reply {other:?}")),
        },
    }
    Ok(())
}

/// Send one planned operation; the reply or the error that ended it.
fn exchange(conn: &mut Conn, p: &Plan) -> std::io::Result<Val> {
    if !p.multi {
        return conn.call(&p.args);
    }
    conn.send(&[b"MULTI".as_slice()])?;
    for cmd in p.args.chunks(2) {
        conn.send(cmd)?;
    }
    conn.send(&[b"EXEC".as_slice()])?;
    // +OK, +QUEUED per command, then EXEC's reply: the first error wins.
    let mut first_err = None;
    for _ in 0..=p.args.len() / 2 {
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
    let mut keys: Vec<(String, F, Vec<Vec<u8>>, bool)> = Vec::new();
    let history = sh.history.lock().expect("history").clone();
    let mut seen = std::collections::BTreeSet::new();
    for op in &history {
        if !seen.insert(op.key.clone()) {
            continue;
        }
        match op.f {
            F::Incr(_) | F::CounterRead(_) => keys.push((
                op.key.clone(),
                F::CounterRead(None),
                args(&["GET", &op.key]),
                false,
            )),
            F::Append(..) | F::ListRead(_) => keys.push((
                op.key.clone(),
                F::ListRead(None),
                args(&["LRANGE", &op.key, "0", "-1"]),
                false,
            )),
            F::SAdd(_) | F::SetRead(_) => keys.push((
                op.key.clone(),
                F::SetRead(None),
                args(&["SMEMBERS", &op.key]),
                false,
            )),
            F::TxnIncr(_) | F::TxnRead(_) => {
                let pair: u64 = op.key.trim_start_matches("tx:").parse().unwrap_or(0);
                let (a, b) = txn_keys(pair);
                let mut v = args(&["GET", &a]);
                v.extend(args(&["GET", &b]));
                keys.push((op.key.clone(), F::TxnRead(None), v, true));
            }
            F::Reg(_) => keys.push((
                op.key.clone(),
                F::Reg(RegOp::Read(None)),
                args(&["GET", &op.key]),
                false,
            )),
            // Expiring keys need no final value: the digests compare them.
            F::TtlSet { .. } | F::TtlGet(_) => {}
        }
    }
    let mut conn = Conn::connect(leader, Duration::from_secs(5)).map_err(|e| e.to_string())?;
    for (key, f, a, multi) in keys {
        let p = Plan {
            key,
            args: a,
            multi,
            f,
        };
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
