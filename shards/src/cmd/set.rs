//! Set commands: parsing, shard operations and replies. SPOP draws from a
//! generator seeded by the entry's log index, so every replica pops the same
//! members; SRANDMEMBER is a read and uses the command's own seed.

use cachecat_io::Reply;

use super::access::{drop_if_empty, modify, read, store, write};
use super::args::{int, is, take};
use super::{bulk, fail, Cmd, Key, ParseCtx};
use crate::keyspace::Db;
use crate::types::{Rng, SetVal};
use crate::{OpCtx, Status};

/// SINTER, SUNION or SDIFF.
#[derive(Clone, Copy, Debug, PartialEq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub enum Algebra {
    Inter,
    Union,
    Diff,
}

#[derive(Clone, Debug, PartialEq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub enum SetCmd {
    Add {
        key: Key,
        members: Vec<Vec<u8>>,
    },
    Rem {
        key: Key,
        members: Vec<Vec<u8>>,
    },
    Members {
        key: Key,
    },
    IsMember {
        key: Key,
        member: Vec<u8>,
    },
    MIsMember {
        key: Key,
        members: Vec<Vec<u8>>,
    },
    Card {
        key: Key,
    },
    Pop {
        key: Key,
        count: Option<usize>,
    },
    RandMember {
        key: Key,
        count: Option<i64>,
        seed: u64,
    },
    /// SINTER, SUNION, SDIFF and, with a destination, their STORE forms.
    Combine {
        op: Algebra,
        keys: Vec<Key>,
        dst: Option<Key>,
    },
    InterCard {
        keys: Vec<Key>,
        limit: usize,
    },
    Move {
        src: Key,
        dst: Key,
        member: Vec<u8>,
    },
}

impl SetCmd {
    pub fn is_write(&self) -> bool {
        use SetCmd::*;
        match self {
            Add { .. } | Rem { .. } | Pop { .. } | Move { .. } => true,
            Combine { dst, .. } => dst.is_some(),
            _ => false,
        }
    }

    pub fn keys(&self) -> Vec<&[u8]> {
        match self {
            SetCmd::Combine { keys, dst, .. } => dst
                .iter()
                .chain(keys.iter())
                .map(|k| k.as_slice())
                .collect(),
            SetCmd::InterCard { keys, .. } => keys.iter().map(|k| k.as_slice()).collect(),
            SetCmd::Move { src, dst, .. } => vec![src, dst],
            _ => self.single_key().into_iter().collect(),
        }
    }

    pub fn single_key(&self) -> Option<&[u8]> {
        use SetCmd::*;
        match self {
            Add { key, .. }
            | Rem { key, .. }
            | Members { key }
            | IsMember { key, .. }
            | MIsMember { key, .. }
            | Card { key }
            | Pop { key, .. }
            | RandMember { key, .. } => Some(key),
            Combine {
                keys, dst: None, ..
            }
            | InterCard { keys, .. } => (keys.len() == 1).then(|| keys[0].as_slice()),
            Combine { .. } | Move { .. } => None,
        }
    }

    pub fn name(&self) -> &'static str {
        use SetCmd::*;
        match self {
            Add { .. } => "sadd",
            Rem { .. } => "srem",
            Members { .. } => "smembers",
            IsMember { .. } => "sismember",
            MIsMember { .. } => "smismember",
            Card { .. } => "scard",
            Pop { .. } => "spop",
            RandMember { .. } => "srandmember",
            Combine { op, dst, .. } => match (op, dst.is_some()) {
                (Algebra::Inter, false) => "sinter",
                (Algebra::Union, false) => "sunion",
                (Algebra::Diff, false) => "sdiff",
                (Algebra::Inter, true) => "sinterstore",
                (Algebra::Union, true) => "sunionstore",
                (Algebra::Diff, true) => "sdiffstore",
            },
            InterCard { .. } => "sintercard",
            Move { .. } => "smove",
        }
    }
}

fn s(c: SetCmd) -> Result<Cmd, Reply> {
    Ok(Cmd::Sets(c))
}

fn rest(a: &mut [Vec<u8>], from: usize) -> Vec<Vec<u8>> {
    a[from..].iter_mut().map(take).collect()
}

pub fn parse_sadd(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    s(SetCmd::Add {
        key: take(&mut a[1]),
        members: rest(a, 2),
    })
}

pub fn parse_srem(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    s(SetCmd::Rem {
        key: take(&mut a[1]),
        members: rest(a, 2),
    })
}

pub fn parse_smembers(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    s(SetCmd::Members {
        key: take(&mut a[1]),
    })
}

pub fn parse_sismember(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    s(SetCmd::IsMember {
        key: take(&mut a[1]),
        member: take(&mut a[2]),
    })
}

pub fn parse_smismember(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    s(SetCmd::MIsMember {
        key: take(&mut a[1]),
        members: rest(a, 2),
    })
}

pub fn parse_scard(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    s(SetCmd::Card {
        key: take(&mut a[1]),
    })
}

pub fn parse_spop(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    let count = match a.len() {
        2 => None,
        3 => match int(&a[2]) {
            Ok(n) if n >= 0 => Some(n as usize),
            _ => return Err(fail(Status::MustBePositive, "spop")),
        },
        _ => return Err(fail(Status::Syntax, "spop")),
    };
    s(SetCmd::Pop {
        key: take(&mut a[1]),
        count,
    })
}

/// The most elements a negative random-member count may ask for. Redis
/// would start streaming such a reply and never finish (or run out of
/// memory); Cache-Cat answers "value is out of range" instead, since the
/// reply is built whole.
pub const MAX_RANDOM_REPEATS: i64 = 1 << 24;

/// A count that may be negative (repeats allowed) but must negate safely.
pub fn signed_count(arg: &[u8], name: &str) -> Result<i64, Reply> {
    match int(arg) {
        Ok(i64::MIN) => Err(fail(Status::CountRange, name)),
        Ok(n) if n < -MAX_RANDOM_REPEATS => Err(fail(Status::OutOfRange, name)),
        Ok(n) => Ok(n),
        Err(e) => Err(fail(e, name)),
    }
}

pub fn parse_srandmember(a: &mut [Vec<u8>], pc: &ParseCtx) -> Result<Cmd, Reply> {
    let count = match a.len() {
        2 => None,
        3 => Some(signed_count(&a[2], "srandmember")?),
        _ => return Err(fail(Status::Syntax, "srandmember")),
    };
    s(SetCmd::RandMember {
        key: take(&mut a[1]),
        count,
        seed: pc.seed,
    })
}

fn combine(a: &mut [Vec<u8>], op: Algebra, store: bool) -> Result<Cmd, Reply> {
    let dst = store.then(|| take(&mut a[1]));
    let from = if store { 2 } else { 1 };
    s(SetCmd::Combine {
        op,
        keys: rest(a, from),
        dst,
    })
}

pub fn parse_sinter(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    combine(a, Algebra::Inter, false)
}
pub fn parse_sunion(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    combine(a, Algebra::Union, false)
}
pub fn parse_sdiff(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    combine(a, Algebra::Diff, false)
}
pub fn parse_sinterstore(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    combine(a, Algebra::Inter, true)
}
pub fn parse_sunionstore(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    combine(a, Algebra::Union, true)
}
pub fn parse_sdiffstore(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    combine(a, Algebra::Diff, true)
}

/// `numkeys key...` starting at argv[1]: the keys and the index after them.
pub fn numkeys(a: &mut [Vec<u8>], name: &str) -> Result<(Vec<Key>, usize), Reply> {
    let n = match int(&a[1]) {
        Ok(n) if n > 0 => n as usize,
        _ => return Err(fail(Status::NumkeysZero, name)),
    };
    if n > a.len() - 2 {
        return Err(fail(Status::NumkeysTooMany, name));
    }
    Ok((rest(&mut a[..n + 2], 2), n + 2))
}

/// SINTERCARD numkeys key... [LIMIT limit].
pub fn parse_sintercard(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    let (keys, mut i) = numkeys(a, "sintercard")?;
    let mut limit = 0;
    while i < a.len() {
        if is(&a[i], "LIMIT") && i + 1 < a.len() {
            limit = match int(&a[i + 1]) {
                Ok(n) if n >= 0 => n as usize,
                _ => return Err(fail(Status::LimitNegative, "sintercard")),
            };
            i += 2;
        } else {
            return Err(fail(Status::Syntax, "sintercard"));
        }
    }
    s(SetCmd::InterCard { keys, limit })
}

pub fn parse_smove(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    s(SetCmd::Move {
        src: take(&mut a[1]),
        dst: take(&mut a[2]),
        member: take(&mut a[3]),
    })
}

fn members_reply<'a>(it: impl Iterator<Item = &'a crate::keyspace::Key>) -> Reply {
    Reply::Set(it.map(|m| bulk(m)).collect())
}

/// The sets at `keys` (None for a missing key), after checking every key's
/// type, as Redis does before computing anything.
fn sets<'a>(db: &'a Db, keys: &[Key], now: u64) -> Result<Vec<Option<&'a SetVal>>, Status> {
    keys.iter().map(|k| read::<SetVal>(db, k, now)).collect()
}

/// The result of SINTER / SUNION / SDIFF over `sets`, in a deterministic
/// order: intersection follows the smallest set, union and difference the
/// sets in argument order.
pub fn algebra(op: Algebra, sets: &[Option<&SetVal>]) -> SetVal {
    let mut out = SetVal::default();
    match op {
        Algebra::Inter => {
            if sets.iter().any(|s| s.is_none()) {
                return out;
            }
            let mut sorted: Vec<&SetVal> = sets.iter().flatten().copied().collect();
            sorted.sort_by_key(|s| s.len());
            let (first, others) = sorted.split_first().expect("at least one key");
            for m in first.iter() {
                if others.iter().all(|s| s.contains(m)) {
                    out.add(m);
                }
            }
        }
        Algebra::Union => {
            for m in sets.iter().flatten().flat_map(|s| s.iter()) {
                out.add(m);
            }
        }
        Algebra::Diff => {
            let Some(Some(first)) = sets.first() else {
                return out;
            };
            for m in first.iter() {
                if !sets[1..].iter().flatten().any(|s| s.contains(m)) {
                    out.add(m);
                }
            }
        }
    }
    out
}

pub fn execute(cmd: &mut SetCmd, db: &mut Db, ctx: OpCtx) -> Result<Reply, Status> {
    let now = ctx.now;
    Ok(match cmd {
        SetCmd::Add { key, members } => {
            // Adding only existing members changes nothing (WATCH holds).
            if read::<SetVal>(db, key, now)?.is_some_and(|s| members.iter().all(|m| s.contains(m)))
            {
                return Ok(Reply::Int(0));
            }
            let set = write::<SetVal>(db, key, ctx)?;
            Reply::Int(members.iter().filter(|m| set.add(m)).count() as i64)
        }
        SetCmd::Rem { key, members } => {
            let Some(set) = read::<SetVal>(db, key, now)? else {
                return Ok(Reply::Int(0));
            };
            if !members.iter().any(|m| set.contains(m)) {
                return Ok(Reply::Int(0));
            }
            let set = modify::<SetVal>(db, key, ctx)?.expect("checked");
            let n = members.iter().filter(|m| set.remove(m)).count();
            drop_if_empty::<SetVal>(db, key, ctx.index);
            Reply::Int(n as i64)
        }
        SetCmd::Members { key } => match read::<SetVal>(db, key, now)? {
            Some(set) => members_reply(set.iter()),
            None => Reply::Set(vec![]),
        },
        SetCmd::IsMember { key, member } => {
            Reply::Int(read::<SetVal>(db, key, now)?.is_some_and(|s| s.contains(member)) as i64)
        }
        SetCmd::MIsMember { key, members } => {
            let set = read::<SetVal>(db, key, now)?;
            Reply::Array(
                members
                    .iter()
                    .map(|m| Reply::Int(set.is_some_and(|s| s.contains(m)) as i64))
                    .collect(),
            )
        }
        SetCmd::Card { key } => {
            Reply::Int(read::<SetVal>(db, key, now)?.map_or(0, |s| s.len()) as i64)
        }
        SetCmd::Pop { key, count } => spop(db, key, *count, ctx)?,
        SetCmd::RandMember { key, count, seed } => {
            srandmember(read::<SetVal>(db, key, now)?, *count, *seed)
        }
        SetCmd::Combine { op, keys, dst } => {
            let result = algebra(*op, &sets(db, keys, now)?);
            match dst {
                None => members_reply(result.iter()),
                Some(dst) => {
                    let n = result.len();
                    store(db, dst, result, ctx.index);
                    Reply::Int(n as i64)
                }
            }
        }
        SetCmd::InterCard { keys, limit } => {
            let n = algebra(Algebra::Inter, &sets(db, keys, now)?).len();
            Reply::Int(if *limit > 0 { n.min(*limit) } else { n } as i64)
        }
        SetCmd::Move { src, dst, member } => {
            let Some(from) = read::<SetVal>(db, src, now)? else {
                return Ok(Reply::Int(0));
            };
            let has = from.contains(member);
            read::<SetVal>(db, dst, now)?;
            if src == dst || !has {
                return Ok(Reply::Int(has as i64));
            }
            modify::<SetVal>(db, src, ctx)?
                .expect("checked")
                .remove(member);
            drop_if_empty::<SetVal>(db, src, ctx.index);
            write::<SetVal>(db, dst, ctx)?.add(member);
            Reply::Int(1)
        }
    })
}

/// SPOP: members drawn with a generator seeded by the entry's index, so the
/// choice is part of the replicated state machine.
fn spop(db: &mut Db, key: &[u8], count: Option<usize>, ctx: OpCtx) -> Result<Reply, Status> {
    let Some(set) = read::<SetVal>(db, key, ctx.now)? else {
        return Ok(if count.is_some() {
            Reply::Set(vec![])
        } else {
            Reply::Nil
        });
    };
    let len = set.len();
    let want = count.unwrap_or(1).min(len);
    if want == 0 {
        return Ok(Reply::Set(vec![]));
    }
    if count.is_some() && want == len {
        // The whole set, in the order Redis replies it (its union with
        // nothing: an intset's members sorted).
        let all = members_reply(algebra(Algebra::Union, &[Some(set)]).iter());
        db.remove(key, ctx.index);
        return Ok(all);
    }
    let mut rng = Rng(ctx.index ^ 0x5350_4f50);
    let set = modify::<SetVal>(db, key, ctx)?.expect("checked");
    let mut popped = Vec::with_capacity(want);
    for _ in 0..want {
        let i = rng.below(set.len());
        popped.push(bulk(&set.remove_at(i).expect("in range")));
    }
    drop_if_empty::<SetVal>(db, key, ctx.index);
    Ok(match count {
        None => popped.pop().expect("one"),
        Some(_) => Reply::Set(popped),
    })
}

fn srandmember(set: Option<&SetVal>, count: Option<i64>, seed: u64) -> Reply {
    let mut rng = Rng(seed);
    let Some(count) = count else {
        return match set {
            Some(s) => bulk(s.get_index(rng.below(s.len())).expect("non-empty")),
            None => Reply::Nil,
        };
    };
    let Some(set) = set else {
        return Reply::Array(vec![]);
    };
    let n = set.len();
    let picks: Vec<usize> = if count < 0 {
        (0..count.unsigned_abs()).map(|_| rng.below(n)).collect()
    } else if count as usize >= n {
        (0..n).collect()
    } else {
        rng.distinct(n, count as usize)
    };
    Reply::Array(
        picks
            .into_iter()
            .map(|i| bulk(set.get_index(i).expect("in range")))
            .collect(),
    )
}

#[cfg(test)]
#[path = "set_tests.rs"]
mod tests;
