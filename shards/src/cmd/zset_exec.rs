//! Running sorted-set commands against a database: the shard operations and
//! their replies (parsing is in `zset.rs`).

use cachecat_io::Reply;

use super::access::{drop_if_empty, modify, read, store, write};
use super::bulk;
use super::zset::{AddFlags, Agg, By, LexRange, ScoreRange, ZCmd, ZOp};
use crate::keyspace::{Db, Value};
use crate::types::{range, Rng};
use crate::zset::Member as Key;
use crate::zset::ZSetVal;
use crate::{OpCtx, Status};

/// Members, or member/score pairs (flat in RESP2, nested in RESP3).
fn listing<'a>(items: impl Iterator<Item = (f64, &'a Key)>, withscores: bool) -> Reply {
    if withscores {
        Reply::Pairs(items.map(|(s, m)| (bulk(m), Reply::Double(s))).collect())
    } else {
        Reply::Array(items.map(|(_, m)| bulk(m)).collect())
    }
}

/// Ascending ranks `[start, end)` of the members in a score range.
fn score_span(z: &ZSetVal, r: &ScoreRange) -> (usize, usize) {
    if r.is_empty() {
        return (0, 0);
    }
    let start = z.order.count_while(|s, _| !r.above_min(s));
    let end = z.order.count_while(|s, _| r.below_max(s));
    (start, end.max(start))
}

/// Ascending ranks `[start, end)` of the members in a lex range, found from
/// the low end or, with `rev`, from the high end. Lex ranges are meant for
/// members of equal score; on mixed scores Redis's small (listpack) sets
/// scan linearly from one end, and so does this for them, so the result is
/// the same. Big sets use binary search, as a skiplist's search does.
fn lex_span(z: &ZSetVal, r: &LexRange, rev: bool) -> (usize, usize) {
    let n = z.len();
    if r.is_empty() || n == 0 {
        return (0, 0);
    }
    if z.big {
        let start = z.order.count_while(|_, m| !r.above_min(m));
        let end = z.order.count_while(|_, m| r.below_max(m));
        return (start, end.max(start));
    }
    let items: Vec<&[u8]> = z.order.iter().map(|(_, m)| &m[..]).collect();
    if !r.above_min(items[n - 1]) || !r.below_max(items[0]) {
        return (0, 0);
    }
    if rev {
        let Some(e) = items.iter().rposition(|m| r.below_max(m)) else {
            return (0, 0);
        };
        let run = items[..=e]
            .iter()
            .rev()
            .take_while(|m| r.above_min(m))
            .count();
        (e + 1 - run, e + 1)
    } else {
        let Some(s) = items.iter().position(|m| r.above_min(m)) else {
            return (0, 0);
        };
        let run = items[s..].iter().take_while(|m| r.below_max(m)).count();
        (s, s + run)
    }
}

/// The members a range selects, in reply order.
fn select<'a>(
    z: &'a ZSetVal,
    by: &By,
    rev: bool,
    limit: Option<(i64, i64)>,
) -> Vec<(f64, &'a Key)> {
    let (a, b) = match by {
        By::Rank(start, end) => {
            return match range(*start, *end, z.len()) {
                Some((s, e)) => z.by_rank(s, e, rev),
                None => vec![],
            };
        }
        By::Score(r) => score_span(z, r),
        By::Lex(r) => lex_span(z, r, rev),
    };
    let (offset, count) = limit.unwrap_or((0, -1));
    if offset < 0 || a >= b {
        return vec![];
    }
    let take = if count < 0 {
        usize::MAX
    } else {
        count as usize
    };
    let n = (b - a).saturating_sub(offset as usize).min(take);
    let out: Vec<(f64, &Key)> = if rev {
        let top = b - 1;
        z.order
            .iter_down_from(top)
            .skip(offset as usize)
            .take(n)
            .map(|(s, m)| (*s, m))
            .collect()
    } else {
        z.order
            .iter_from(a)
            .skip(offset as usize)
            .take(n)
            .map(|(s, m)| (*s, m))
            .collect()
    };
    out
}

/// Ascending rank span a ZREMRANGEBY* removes.
fn span(z: &ZSetVal, by: &By) -> (usize, usize) {
    match by {
        By::Rank(s, e) => range(*s, *e, z.len()).map_or((0, 0), |(s, e)| (s, e + 1)),
        By::Score(r) => score_span(z, r),
        By::Lex(r) => lex_span(z, r, false),
    }
}

fn aggregate(t: &mut f64, v: f64, agg: Agg) {
    match agg {
        Agg::Sum => {
            *t += v;
            if t.is_nan() {
                *t = 0.0;
            }
        }
        Agg::Min => {
            if v < *t {
                *t = v
            }
        }
        Agg::Max => {
            if v > *t {
                *t = v
            }
        }
    }
}

/// A ZUNION/ZINTER/ZDIFF input: a sorted set, or a set whose members all
/// score 1.
enum Src<'a> {
    None,
    Z(&'a ZSetVal),
    S(&'a crate::types::SetVal),
}

impl Src<'_> {
    fn len(&self) -> usize {
        match self {
            Src::None => 0,
            Src::Z(z) => z.len(),
            Src::S(s) => s.len(),
        }
    }

    fn score(&self, m: &[u8]) -> Option<f64> {
        match self {
            Src::None => None,
            Src::Z(z) => z.score(m),
            Src::S(s) => s.contains(m).then_some(1.0),
        }
    }

    fn each(&self, mut f: impl FnMut(&[u8], f64)) {
        match self {
            Src::None => {}
            Src::Z(z) => z.order.iter().for_each(|(s, m)| f(m, *s)),
            Src::S(s) => s.iter().for_each(|m| f(m, 1.0)),
        }
    }
}

fn sources<'a>(db: &'a Db, keys: &[Vec<u8>], now: u64) -> Result<Vec<Src<'a>>, Status> {
    keys.iter()
        .map(|k| match db.get(k, now).map(|e| &e.value) {
            None => Ok(Src::None),
            Some(Value::ZSet(z)) => Ok(Src::Z(z)),
            Some(Value::Set(s)) => Ok(Src::S(s)),
            Some(_) => Err(Status::WrongType),
        })
        .collect()
}

fn combine(op: ZOp, srcs: &[Src], weights: &[f64], agg: Agg) -> ZSetVal {
    let mut acc: indexmap::IndexMap<Key, f64, crate::keyspace::Hasher> = Default::default();
    match op {
        ZOp::Union => {
            for (src, w) in srcs.iter().zip(weights) {
                src.each(|m, s| {
                    let mut v = w * s;
                    if v.is_nan() {
                        v = 0.0;
                    }
                    match acc.get_mut(m) {
                        Some(t) => aggregate(t, v, agg),
                        None => {
                            acc.insert(m.into(), v);
                        }
                    }
                });
            }
        }
        ZOp::Inter => {
            let mut order: Vec<usize> = (0..srcs.len()).collect();
            order.sort_by_key(|&i| srcs[i].len());
            let (first, rest) = order.split_first().expect("at least one key");
            srcs[*first].each(|m, s| {
                let mut t = weights[*first] * s;
                if t.is_nan() {
                    t = 0.0;
                }
                for &j in rest {
                    match srcs[j].score(m) {
                        Some(v) => aggregate(&mut t, v * weights[j], agg),
                        None => return,
                    }
                }
                acc.insert(m.into(), t);
            });
        }
        ZOp::Diff => {
            srcs[0].each(|m, s| {
                if srcs[1..].iter().all(|o| o.score(m).is_none()) {
                    acc.insert(m.into(), s);
                }
            });
        }
    }
    let mut out = ZSetVal::default();
    for (m, s) in acc {
        out.set(&m, s);
    }
    out.compacted()
}

pub fn execute(cmd: &mut ZCmd, db: &mut Db, ctx: OpCtx) -> Result<Reply, Status> {
    let now = ctx.now;
    Ok(match cmd {
        ZCmd::Add { key, flags, pairs } => {
            let AddFlags {
                nx,
                xx,
                gt,
                lt,
                ch,
                incr,
            } = *flags;
            let exists = read::<ZSetVal>(db, key, now)?.is_some();
            if !exists && xx {
                return Ok(if incr { Reply::Nil } else { Reply::Int(0) });
            }
            let z = write::<ZSetVal>(db, key, ctx)?;
            let (mut added, mut updated) = (0, 0);
            let mut last = None;
            for (score, m) in pairs.iter() {
                match z.score(m) {
                    Some(cur) => {
                        if nx {
                            continue;
                        }
                        let new = if incr { cur + score } else { *score };
                        if new.is_nan() {
                            drop_if_empty::<ZSetVal>(db, key, ctx.index);
                            return Err(Status::ScoreNaN);
                        }
                        if (gt && new <= cur) || (lt && new >= cur) {
                            continue;
                        }
                        if new != cur {
                            z.set(m, new);
                            updated += 1;
                        }
                        last = Some(new);
                    }
                    None => {
                        if xx {
                            continue;
                        }
                        z.set(m, *score);
                        added += 1;
                        last = Some(*score);
                    }
                }
            }
            drop_if_empty::<ZSetVal>(db, key, ctx.index);
            if incr {
                last.map_or(Reply::Nil, Reply::Double)
            } else {
                Reply::Int(if ch { added + updated } else { added })
            }
        }
        ZCmd::Rem { key, members } => {
            let Some(z) = read::<ZSetVal>(db, key, now)? else {
                return Ok(Reply::Int(0));
            };
            if !members.iter().any(|m| z.score(m).is_some()) {
                return Ok(Reply::Int(0));
            }
            let z = modify::<ZSetVal>(db, key, ctx)?.expect("checked");
            let n = members.iter().filter(|m| z.remove(m)).count();
            drop_if_empty::<ZSetVal>(db, key, ctx.index);
            Reply::Int(n as i64)
        }
        ZCmd::Score { key, member } => read::<ZSetVal>(db, key, now)?
            .and_then(|z| z.score(member))
            .map_or(Reply::Nil, Reply::Double),
        ZCmd::MScore { key, members } => {
            let z = read::<ZSetVal>(db, key, now)?;
            Reply::Array(
                members
                    .iter()
                    .map(|m| z.and_then(|z| z.score(m)).map_or(Reply::Nil, Reply::Double))
                    .collect(),
            )
        }
        ZCmd::Card { key } => {
            Reply::Int(read::<ZSetVal>(db, key, now)?.map_or(0, |z| z.len()) as i64)
        }
        ZCmd::Count { key, by } => {
            let Some(z) = read::<ZSetVal>(db, key, now)? else {
                return Ok(Reply::Int(0));
            };
            let (a, b) = span(z, by);
            Reply::Int((b - a) as i64)
        }
        ZCmd::Rank { key, member, rev } => {
            let Some(z) = read::<ZSetVal>(db, key, now)? else {
                return Ok(Reply::Nil);
            };
            match z.rank(member) {
                Some(r) if *rev => Reply::Int((z.len() - 1 - r) as i64),
                Some(r) => Reply::Int(r as i64),
                None => Reply::Nil,
            }
        }
        ZCmd::Range {
            key,
            by,
            rev,
            limit,
            withscores,
            dst,
            ..
        } => {
            let z = read::<ZSetVal>(db, key, now)?;
            let picked = z.map(|z| select(z, by, *rev, *limit)).unwrap_or_default();
            match dst {
                None => listing(picked.into_iter(), *withscores),
                Some(dst) => {
                    let mut out = ZSetVal::default();
                    for (s, m) in &picked {
                        out.set(m, *s);
                    }
                    let n = out.len();
                    store(db, dst, out.compacted(), ctx.index);
                    Reply::Int(n as i64)
                }
            }
        }
        ZCmd::Pop { key, max, count } => {
            if read::<ZSetVal>(db, key, now)?.is_none() || *count == Some(0) {
                return Ok(Reply::Array(vec![]));
            }
            let popped = pop_n(db, key, *max, count.unwrap_or(1), ctx);
            match count {
                None => {
                    let (m, s) = popped.into_iter().next().expect("one");
                    Reply::Array(vec![m, s])
                }
                Some(_) => Reply::Pairs(popped),
            }
        }
        ZCmd::MPop { keys, max, count } => {
            for k in keys.iter() {
                if read::<ZSetVal>(db, k, now)?.is_some() {
                    let popped = pop_n(db, k, *max, *count, ctx);
                    // Nested pairs in RESP2 too, unlike ZPOPMIN's.
                    let pairs = popped.into_iter().map(|(m, s)| Reply::Array(vec![m, s]));
                    return Ok(Reply::Array(vec![bulk(k), Reply::Array(pairs.collect())]));
                }
            }
            Reply::NilArray
        }
        ZCmd::RemRange { key, by } => {
            let Some(z) = read::<ZSetVal>(db, key, now)? else {
                return Ok(Reply::Int(0));
            };
            let (a, b) = span(z, by);
            if a >= b {
                return Ok(Reply::Int(0));
            }
            let doomed: Vec<Key> = z
                .order
                .iter_from(a)
                .take(b - a)
                .map(|(_, m)| m.clone())
                .collect();
            let z = modify::<ZSetVal>(db, key, ctx)?.expect("checked");
            for m in &doomed {
                z.remove(m);
            }
            drop_if_empty::<ZSetVal>(db, key, ctx.index);
            Reply::Int(doomed.len() as i64)
        }
        ZCmd::Combine {
            op,
            keys,
            weights,
            agg,
            withscores,
            dst,
            error,
        } => {
            let srcs = sources(db, keys, now)?;
            if let Some(e) = error {
                return Ok(Reply::Error(e.clone().into()));
            }
            let out = combine(*op, &srcs, weights, *agg);
            match dst {
                None => listing(out.order.iter().map(|(s, m)| (*s, m)), *withscores),
                Some(dst) => {
                    let n = out.len();
                    store(db, dst, out, ctx.index);
                    Reply::Int(n as i64)
                }
            }
        }
        ZCmd::RandMember {
            key,
            count,
            withscores,
            seed,
        } => randmember(read::<ZSetVal>(db, key, now)?, *count, *withscores, *seed),
    })
}

/// Pop up to `n` lowest (or highest) members of the sorted set at `key`
/// (which must hold one) as (member, score) replies.
fn pop_n(db: &mut Db, key: &[u8], max: bool, n: usize, ctx: OpCtx) -> Vec<(Reply, Reply)> {
    let z = modify::<ZSetVal>(db, key, ctx)
        .ok()
        .flatten()
        .expect("caller checked the sorted set exists");
    let n = n.min(z.len());
    let out = (0..n)
        .filter_map(|_| z.pop(max))
        .map(|(s, m)| (Reply::bulk(m.to_vec()), Reply::Double(s)))
        .collect();
    drop_if_empty::<ZSetVal>(db, key, ctx.index);
    out
}

fn randmember(z: Option<&ZSetVal>, count: Option<i64>, withscores: bool, seed: u64) -> Reply {
    let mut rng = Rng(seed);
    let Some(count) = count else {
        return match z {
            Some(z) => bulk(z.dict.get_index(rng.below(z.len())).expect("non-empty").0),
            None => Reply::Nil,
        };
    };
    let Some(z) = z else {
        return Reply::Array(vec![]);
    };
    let n = z.len();
    if count >= 0 && count as usize >= n {
        return listing(z.order.iter().map(|(s, m)| (*s, m)), withscores);
    }
    let picks: Vec<usize> = if count < 0 {
        (0..count.unsigned_abs()).map(|_| rng.below(n)).collect()
    } else {
        rng.distinct(n, count as usize)
    };
    listing(
        picks.into_iter().map(|i| {
            let (m, s) = z.dict.get_index(i).expect("in range");
            (*s, m)
        }),
        withscores,
    )
}

#[cfg(test)]
#[path = "zset_tests.rs"]
mod tests;
