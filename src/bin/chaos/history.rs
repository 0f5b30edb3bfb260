//! The history: every operation a worker made, with when it was invoked,
//! when (if ever) it returned, and what it saw.

use std::fmt::Write as _;

use crate::wgl::{RegOp, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Completed: the reply says what happened.
    Ok,
    /// Definitely did not happen (refused before anything was proposed).
    Fail,
    /// May or may not have happened (timeout, lost connection, outcome
    /// unknown).
    Info,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum F {
    Reg(RegOp),
    /// INCR: the new value, when known.
    Incr(Option<i64>),
    /// GET of a counter.
    CounterRead(Option<i64>),
    /// RPUSH of a unique element: the list's new length, when known.
    Append(u64, Option<i64>),
    /// LRANGE 0 -1.
    ListRead(Option<Vec<u64>>),
    /// SADD of a unique element.
    SAdd(u64),
    /// SMEMBERS.
    SetRead(Option<Vec<u64>>),
    /// MULTI INCR a INCR b EXEC: the two new values, when known.
    TxnIncr(Option<(i64, i64)>),
    /// MULTI GET a GET b EXEC.
    TxnRead(Option<(i64, i64)>),
    /// SET k v PX ttl, or SET k v NX (no TTL): whether it set (unknown:
    /// `None`).
    TtlSet {
        value: u64,
        ttl_ms: Option<u64>,
        nx: bool,
        set: Option<bool>,
    },
    /// MULTI GET k PTTL k EXEC on a key with a TTL: the value and the time
    /// left (both at one read clock), when known.
    TtlGet(Option<(Option<u64>, i64)>),
    /// MULTI ... EXEC over distinct list keys, each step an `Append` or a
    /// `ListRead` of its key: a transaction of Jepsen's list-append kind.
    ListTxn(Vec<(String, F)>),
}

impl F {
    pub fn is_read(&self) -> bool {
        match self {
            F::ListTxn(steps) => steps.iter().all(|(_, f)| f.is_read()),
            _ => matches!(
                self,
                F::Reg(RegOp::Read(_))
                    | F::CounterRead(_)
                    | F::ListRead(_)
                    | F::SetRead(_)
                    | F::TxnRead(_)
                    | F::TtlGet(_)
            ),
        }
    }

    /// The element an RPUSH or SADD adds.
    pub fn element(&self) -> Option<u64> {
        match self {
            F::Append(e, _) | F::SAdd(e) => Some(*e),
            _ => None,
        }
    }

    /// What an LRANGE or SMEMBERS saw.
    pub fn elements(&self) -> Option<&Vec<u64>> {
        match self {
            F::ListRead(Some(v)) | F::SetRead(Some(v)) => Some(v),
            _ => None,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            F::Reg(RegOp::Read(_)) => "get",
            F::Reg(RegOp::Write(_)) => "set",
            F::Reg(RegOp::SetNx(..)) => "set-nx",
            F::Reg(RegOp::Swap(..)) => "set-xx-get",
            F::Incr(_) => "incr",
            F::CounterRead(_) => "counter-get",
            F::Append(..) => "rpush",
            F::ListRead(_) => "lrange",
            F::SAdd(_) => "sadd",
            F::SetRead(_) => "smembers",
            F::TxnIncr(_) => "txn-incr",
            F::TxnRead(_) => "txn-read",
            F::TtlSet { nx: false, .. } => "set-px",
            F::TtlSet { nx: true, .. } => "set-nx-px",
            F::TtlGet(_) => "ttl-get",
            F::ListTxn(_) => "list-txn",
        }
    }

    /// The list steps an operation is made of, with their keys: the steps
    /// of a transaction, or the operation itself.
    pub fn list_steps<'a>(&'a self, key: &'a str) -> Vec<(&'a str, &'a F)> {
        match self {
            F::ListTxn(steps) => steps.iter().map(|(k, f)| (k.as_str(), f)).collect(),
            F::Append(..) | F::ListRead(_) => vec![(key, self)],
            _ => Vec::new(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Op {
    pub worker: usize,
    /// The node the command was sent to (1-based id).
    pub node: u64,
    pub key: String,
    pub f: F,
    pub outcome: Outcome,
    /// Nanoseconds since the run started.
    pub call: u64,
    /// `None` unless the outcome is Ok or Fail.
    pub ret: Option<u64>,
    /// The error text, for failed and unknown operations.
    pub error: String,
}

fn value(v: &Value) -> String {
    v.map_or_else(|| "null".to_string(), |x| x.to_string())
}

fn list(v: &[u64]) -> String {
    let items: Vec<String> = v.iter().map(u64::to_string).collect();
    format!("[{}]", items.join(","))
}

fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

impl Op {
    /// The operation's argument and what it saw, as JSON values.
    fn args(&self) -> (String, String) {
        let opt_int = |v: &Option<i64>| v.map_or("null".to_string(), |x| x.to_string());
        let pair =
            |v: &Option<(i64, i64)>| v.map_or("null".to_string(), |(a, b)| format!("[{a},{b}]"));
        match &self.f {
            F::Reg(RegOp::Read(v)) => ("null".into(), value(v)),
            F::Reg(RegOp::Write(v)) => (v.to_string(), "null".into()),
            F::Reg(RegOp::SetNx(v, set)) => {
                (v.to_string(), set.map_or("null".into(), |b| b.to_string()))
            }
            F::Reg(RegOp::Swap(v, old)) => {
                (v.to_string(), old.as_ref().map_or("null".into(), value))
            }
            F::Incr(r) | F::CounterRead(r) => ("null".into(), opt_int(r)),
            F::Append(e, len) => (e.to_string(), opt_int(len)),
            F::ListRead(v) | F::SetRead(v) => {
                ("null".into(), v.as_deref().map_or("null".into(), list))
            }
            F::SAdd(e) => (e.to_string(), "null".into()),
            F::TxnIncr(v) | F::TxnRead(v) => ("null".into(), pair(v)),
            F::TtlSet {
                value, ttl_ms, set, ..
            } => (
                format!(
                    "[{value},{}]",
                    ttl_ms.map_or("null".into(), |t| t.to_string())
                ),
                set.map_or("null".into(), |b| b.to_string()),
            ),
            F::TtlGet(v) => (
                "null".into(),
                v.as_ref()
                    .map_or("null".into(), |(x, pttl)| format!("[{},{pttl}]", value(x))),
            ),
            F::ListTxn(steps) => {
                let (mut args, mut saw) = (Vec::new(), Vec::new());
                for (k, f) in steps {
                    let (a, s) = match f {
                        F::Append(e, len) => {
                            (format!("[\"append\",{},{e}]", json_str(k)), opt_int(len))
                        }
                        F::ListRead(v) => (
                            format!("[\"read\",{}]", json_str(k)),
                            v.as_deref().map_or("null".into(), list),
                        ),
                        _ => unreachable!("a list transaction holds only list steps"),
                    };
                    args.push(a);
                    saw.push(s);
                }
                (
                    format!("[{}]", args.join(",")),
                    format!("[{}]", saw.join(",")),
                )
            }
        }
    }

    pub fn to_json(&self) -> String {
        let (arg, saw) = self.args();
        let outcome = match self.outcome {
            Outcome::Ok => "ok",
            Outcome::Fail => "fail",
            Outcome::Info => "info",
        };
        format!(
            "{{\"worker\":{},\"node\":{},\"f\":\"{}\",\"key\":{},\"arg\":{},\"saw\":{},\"outcome\":\"{}\",\"call_ns\":{},\"ret_ns\":{},\"error\":{}}}",
            self.worker,
            self.node,
            self.f.name(),
            json_str(&self.key),
            arg,
            saw,
            outcome,
            self.call,
            self.ret.map_or("null".to_string(), |r| r.to_string()),
            json_str(&self.error)
        )
    }
}

pub fn json_string(s: &str) -> String {
    json_str(s)
}
