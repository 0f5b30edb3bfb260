//! Sorted-set commands: the typed commands and their parsing, with Redis
//! 7.0's argument rules and error texts. Running them is in `zset_exec.rs`.

use cachecat_io::Reply;

use super::args::{int, is, parse_mpop, take};
use super::set::signed_count;
use super::zrange::{lex_range, score_range};
pub use super::zrange::{By, Lex, LexRange, ScoreRange};
use super::{fail, Cmd, Key, ParseCtx};
use crate::float::parse_score;
use crate::Status;

/// ZUNION/ZINTER's AGGREGATE.
#[derive(Clone, Copy, Debug, PartialEq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub enum Agg {
    Sum,
    Min,
    Max,
}

#[derive(Clone, Copy, Debug, PartialEq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub enum ZOp {
    Union,
    Inter,
    Diff,
}

/// ZADD's options (ZINCRBY is ZADD INCR).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize,
)]
pub struct AddFlags {
    pub nx: bool,
    pub xx: bool,
    pub gt: bool,
    pub lt: bool,
    pub ch: bool,
    pub incr: bool,
}

#[derive(Clone, Debug, PartialEq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub enum ZCmd {
    Add {
        key: Key,
        flags: AddFlags,
        pairs: Vec<(f64, Vec<u8>)>,
    },
    Rem {
        key: Key,
        members: Vec<Vec<u8>>,
    },
    Score {
        key: Key,
        member: Vec<u8>,
    },
    MScore {
        key: Key,
        members: Vec<Vec<u8>>,
    },
    Card {
        key: Key,
    },
    /// ZCOUNT (a score range) and ZLEXCOUNT (a lex range).
    Count {
        key: Key,
        by: By,
    },
    Rank {
        key: Key,
        member: Vec<u8>,
        rev: bool,
    },
    /// Every ZRANGE form, and ZRANGESTORE with a destination. `limit` is
    /// (offset, count), count < 0 meaning all.
    Range {
        key: Key,
        by: By,
        rev: bool,
        limit: Option<(i64, i64)>,
        withscores: bool,
        dst: Option<Key>,
    },
    Pop {
        key: Key,
        max: bool,
        count: Option<usize>,
    },
    MPop {
        keys: Vec<Key>,
        max: bool,
        count: usize,
    },
    RemRange {
        key: Key,
        by: By,
    },
    Combine {
        op: ZOp,
        keys: Vec<Key>,
        weights: Vec<f64>,
        agg: Agg,
        withscores: bool,
        dst: Option<Key>,
        /// An option error, reported only once every key's type is known
        /// to be valid (Redis checks the keys first).
        error: Option<String>,
    },
    RandMember {
        key: Key,
        count: Option<i64>,
        withscores: bool,
        seed: u64,
    },
}

impl ZCmd {
    pub fn is_write(&self) -> bool {
        use ZCmd::*;
        match self {
            Add { .. } | Rem { .. } | Pop { .. } | MPop { .. } | RemRange { .. } => true,
            Range { dst, .. } | Combine { dst, .. } => dst.is_some(),
            _ => false,
        }
    }

    pub fn keys(&self) -> Vec<&[u8]> {
        match self {
            ZCmd::Range {
                key, dst: Some(d), ..
            } => vec![d, key],
            ZCmd::Combine { keys, dst, .. } => dst
                .iter()
                .chain(keys.iter())
                .map(|k| k.as_slice())
                .collect(),
            ZCmd::MPop { keys, .. } => keys.iter().map(|k| k.as_slice()).collect(),
            _ => self.single_key().into_iter().collect(),
        }
    }

    pub fn single_key(&self) -> Option<&[u8]> {
        use ZCmd::*;
        match self {
            Add { key, .. }
            | Rem { key, .. }
            | Score { key, .. }
            | MScore { key, .. }
            | Card { key }
            | Count { key, .. }
            | Rank { key, .. }
            | Range { key, dst: None, .. }
            | Pop { key, .. }
            | RemRange { key, .. }
            | RandMember { key, .. } => Some(key),
            MPop { keys, .. }
            | Combine {
                keys, dst: None, ..
            } => (keys.len() == 1).then(|| keys[0].as_slice()),
            Range { .. } | Combine { .. } => None,
        }
    }

    pub fn name(&self) -> &'static str {
        use ZCmd::*;
        match self {
            Add { .. } => "zadd",
            Rem { .. } => "zrem",
            Score { .. } => "zscore",
            MScore { .. } => "zmscore",
            Card { .. } => "zcard",
            Count { by: By::Lex(_), .. } => "zlexcount",
            Count { .. } => "zcount",
            Rank { rev: false, .. } => "zrank",
            Rank { rev: true, .. } => "zrevrank",
            Range { dst: Some(_), .. } => "zrangestore",
            Range { .. } => "zrange",
            Pop { max: false, .. } => "zpopmin",
            Pop { max: true, .. } => "zpopmax",
            MPop { .. } => "zmpop",
            RemRange {
                by: By::Rank(..), ..
            } => "zremrangebyrank",
            RemRange {
                by: By::Score(_), ..
            } => "zremrangebyscore",
            RemRange { .. } => "zremrangebylex",
            Combine { op, dst, .. } => match (op, dst.is_some()) {
                (ZOp::Union, false) => "zunion",
                (ZOp::Inter, false) => "zinter",
                (ZOp::Diff, false) => "zdiff",
                (ZOp::Union, true) => "zunionstore",
                (ZOp::Inter, true) => "zinterstore",
                (ZOp::Diff, true) => "zdiffstore",
            },
            RandMember { .. } => "zrandmember",
        }
    }
}

pub(super) fn z(c: ZCmd) -> Result<Cmd, Reply> {
    Ok(Cmd::ZSets(Box::new(c)))
}

pub(super) fn err(text: &'static str) -> Reply {
    Reply::err(text)
}

fn score(arg: &[u8]) -> Result<f64, Reply> {
    parse_score(arg).ok_or_else(|| fail(Status::NotFloat, "zadd"))
}

/// ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...].
pub fn parse_zadd(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    let mut f = AddFlags::default();
    let mut i = 2;
    while i < a.len() {
        let o = &a[i];
        let flag = if is(o, "NX") {
            &mut f.nx
        } else if is(o, "XX") {
            &mut f.xx
        } else if is(o, "GT") {
            &mut f.gt
        } else if is(o, "LT") {
            &mut f.lt
        } else if is(o, "CH") {
            &mut f.ch
        } else if is(o, "INCR") {
            &mut f.incr
        } else {
            break;
        };
        *flag = true;
        i += 1;
    }
    let elements = a.len() - i;
    if elements == 0 || elements % 2 == 1 {
        return Err(fail(Status::Syntax, "zadd"));
    }
    if f.nx && f.xx {
        return Err(err(
            "ERR XX and NX options at the same time are not compatible",
        ));
    }
    if [f.gt, f.lt, f.nx].iter().filter(|&&x| x).count() > 1 {
        return Err(err(
            "ERR GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    if f.incr && elements > 2 {
        return Err(err(
            "ERR INCR option supports a single increment-element pair",
        ));
    }
    let mut pairs = Vec::with_capacity(elements / 2);
    for p in a[i..].chunks_mut(2) {
        pairs.push((score(&p[0])?, take(&mut p[1])));
    }
    z(ZCmd::Add {
        key: take(&mut a[1]),
        flags: f,
        pairs,
    })
}

pub fn parse_zincrby(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    let by = score(&a[2])?;
    z(ZCmd::Add {
        key: take(&mut a[1]),
        flags: AddFlags {
            incr: true,
            ..AddFlags::default()
        },
        pairs: vec![(by, take(&mut a[3]))],
    })
}

fn members(a: &mut [Vec<u8>]) -> Vec<Vec<u8>> {
    a[2..].iter_mut().map(take).collect()
}

pub fn parse_zrem(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    z(ZCmd::Rem {
        members: members(a),
        key: take(&mut a[1]),
    })
}

pub fn parse_zscore(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    z(ZCmd::Score {
        key: take(&mut a[1]),
        member: take(&mut a[2]),
    })
}

pub fn parse_zmscore(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    z(ZCmd::MScore {
        members: members(a),
        key: take(&mut a[1]),
    })
}

pub fn parse_zcard(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    z(ZCmd::Card {
        key: take(&mut a[1]),
    })
}

pub fn parse_zcount(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    let by = By::Score(score_range(&a[2], &a[3])?);
    z(ZCmd::Count {
        key: take(&mut a[1]),
        by,
    })
}

pub fn parse_zlexcount(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    let by = By::Lex(lex_range(&a[2], &a[3])?);
    z(ZCmd::Count {
        key: take(&mut a[1]),
        by,
    })
}

fn rank(a: &mut [Vec<u8>], rev: bool) -> Result<Cmd, Reply> {
    z(ZCmd::Rank {
        key: take(&mut a[1]),
        member: take(&mut a[2]),
        rev,
    })
}

pub fn parse_zrank(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    rank(a, false)
}
pub fn parse_zrevrank(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    rank(a, true)
}

fn pop(a: &mut [Vec<u8>], max: bool) -> Result<Cmd, Reply> {
    let name = if max { "zpopmax" } else { "zpopmin" };
    let count = match a.len() {
        2 => None,
        3 => match int(&a[2]) {
            Ok(n) if n >= 0 => Some(n as usize),
            _ => return Err(fail(Status::MustBePositive, name)),
        },
        _ => return Err(fail(Status::Syntax, name)),
    };
    z(ZCmd::Pop {
        key: take(&mut a[1]),
        max,
        count,
    })
}

pub fn parse_zpopmin(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    pop(a, false)
}
pub fn parse_zpopmax(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    pop(a, true)
}

pub fn parse_zmpop(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    let (keys, max, count) = parse_mpop(a, "zmpop", |w| {
        if is(w, "MIN") {
            Ok(false)
        } else if is(w, "MAX") {
            Ok(true)
        } else {
            Err(fail(Status::Syntax, "zmpop"))
        }
    })?;
    z(ZCmd::MPop { keys, max, count })
}

fn remrange(a: &mut [Vec<u8>], by: By) -> Result<Cmd, Reply> {
    z(ZCmd::RemRange {
        key: take(&mut a[1]),
        by,
    })
}

pub fn parse_zremrangebyrank(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    let e = |s| fail(s, "zremrangebyrank");
    let by = By::Rank(int(&a[2]).map_err(e)?, int(&a[3]).map_err(e)?);
    remrange(a, by)
}
pub fn parse_zremrangebyscore(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    let by = By::Score(score_range(&a[2], &a[3])?);
    remrange(a, by)
}
pub fn parse_zremrangebylex(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    let by = By::Lex(lex_range(&a[2], &a[3])?);
    remrange(a, by)
}

/// ZUNION/ZINTER/ZDIFF and their STORE forms: `[dst] numkeys key...
/// [WEIGHTS w...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]`. The keys' types
/// are checked before the options are (in execute), as Redis does; this
/// parser keeps an option error to report after that check.
fn combine(a: &mut [Vec<u8>], op: ZOp, store: bool, name: &'static str) -> Result<Cmd, Reply> {
    let nk = if store { 2 } else { 1 };
    let n = int(&a[nk]).map_err(|s| fail(s, name))?;
    if n < 1 {
        return Err(Reply::Error(
            format!("ERR at least 1 input key is needed for '{name}' command").into(),
        ));
    }
    let n = n as usize;
    if n > a.len() - nk - 1 {
        return Err(fail(Status::Syntax, name));
    }
    let keys: Vec<Key> = a[nk + 1..nk + 1 + n].iter_mut().map(take).collect();
    let mut weights = vec![1.0; n];
    let mut agg = Agg::Sum;
    let mut withscores = false;
    let mut j = nk + 1 + n;
    let mut bad: Option<Reply> = None;
    while j < a.len() && bad.is_none() {
        let left = a.len() - j;
        if op != ZOp::Diff && left > n && is(&a[j], "WEIGHTS") {
            for (i, w) in weights.iter_mut().enumerate() {
                match parse_score(&a[j + 1 + i]) {
                    Some(v) => *w = v,
                    None => {
                        bad = Some(err("ERR weight value is not a float"));
                        break;
                    }
                }
            }
            j += 1 + n;
        } else if op != ZOp::Diff && left >= 2 && is(&a[j], "AGGREGATE") {
            agg = if is(&a[j + 1], "SUM") {
                Agg::Sum
            } else if is(&a[j + 1], "MIN") {
                Agg::Min
            } else if is(&a[j + 1], "MAX") {
                Agg::Max
            } else {
                bad = Some(fail(Status::Syntax, name));
                Agg::Sum
            };
            j += 2;
        } else if !store && is(&a[j], "WITHSCORES") {
            withscores = true;
            j += 1;
        } else {
            bad = Some(fail(Status::Syntax, name));
        }
    }
    let error = bad.map(|e| match e {
        Reply::Error(t) => t.into_owned(),
        _ => unreachable!("option errors are errors"),
    });
    z(ZCmd::Combine {
        op,
        keys,
        weights,
        agg,
        withscores,
        dst: store.then(|| take(&mut a[1])),
        error,
    })
}

pub fn parse_zunion(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    combine(a, ZOp::Union, false, "zunion")
}
pub fn parse_zinter(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    combine(a, ZOp::Inter, false, "zinter")
}
pub fn parse_zdiff(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    combine(a, ZOp::Diff, false, "zdiff")
}
pub fn parse_zunionstore(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    combine(a, ZOp::Union, true, "zunionstore")
}
pub fn parse_zinterstore(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    combine(a, ZOp::Inter, true, "zinterstore")
}
pub fn parse_zdiffstore(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    combine(a, ZOp::Diff, true, "zdiffstore")
}

/// ZRANDMEMBER key [count [WITHSCORES]].
pub fn parse_zrandmember(a: &mut [Vec<u8>], pc: &ParseCtx) -> Result<Cmd, Reply> {
    let count = match a.get(2) {
        Some(c) => Some(signed_count(c, "zrandmember")?),
        None => None,
    };
    let withscores = match a.len() {
        2 | 3 => false,
        4 if is(&a[3], "WITHSCORES") => true,
        _ => return Err(fail(Status::Syntax, "zrandmember")),
    };
    if let (Some(c), true) = (count, withscores) {
        if !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&c) {
            return Err(fail(Status::OutOfRange, "zrandmember"));
        }
    }
    z(ZCmd::RandMember {
        key: take(&mut a[1]),
        count,
        withscores,
        seed: pc.seed,
    })
}
