//! List commands: parsing, shard operations and replies, with Redis 7.0's
//! semantics (LPOP with a count, LPOS, LMOVE, LMPOP...).

use cachecat_io::Reply;

use super::access::{drop_if_empty, modify, read, write};
use super::args::{int, is, parse_mpop, take};
use super::{bulk, fail, Cmd, Key, ParseCtx};
use crate::keyspace::Db;
use crate::types::{range, ListVal};
use crate::{OpCtx, Status};

#[derive(Clone, Debug, PartialEq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub enum ListCmd {
    /// LPUSH, RPUSH, and with `exists_only` LPUSHX, RPUSHX.
    Push {
        key: Key,
        vals: Vec<Vec<u8>>,
        left: bool,
        exists_only: bool,
    },
    /// LPOP, RPOP; `count` given or not changes the reply's shape.
    Pop {
        key: Key,
        left: bool,
        count: Option<usize>,
    },
    Len {
        key: Key,
    },
    Range {
        key: Key,
        start: i64,
        end: i64,
    },
    /// LINDEX and LSET check the key before the index (None: not an
    /// integer), as Redis does.
    Index {
        key: Key,
        index: Option<i64>,
    },
    Set {
        key: Key,
        index: Option<i64>,
        val: Vec<u8>,
    },
    Rem {
        key: Key,
        count: i64,
        val: Vec<u8>,
    },
    Trim {
        key: Key,
        start: i64,
        end: i64,
    },
    Insert {
        key: Key,
        before: bool,
        pivot: Vec<u8>,
        val: Vec<u8>,
    },
    Pos {
        key: Key,
        val: Vec<u8>,
        rank: i64,
        count: Option<i64>,
        maxlen: i64,
    },
    /// LMOVE, RPOPLPUSH.
    Move {
        src: Key,
        dst: Key,
        from_left: bool,
        to_left: bool,
    },
    /// LMPOP: pop from the first non-empty list.
    MPop {
        keys: Vec<Key>,
        left: bool,
        count: usize,
    },
}

impl ListCmd {
    pub fn is_write(&self) -> bool {
        use ListCmd::*;
        !matches!(self, Len { .. } | Range { .. } | Index { .. } | Pos { .. })
    }

    pub fn keys(&self) -> Vec<&[u8]> {
        match self {
            ListCmd::Move { src, dst, .. } => vec![src, dst],
            ListCmd::MPop { keys, .. } => keys.iter().map(|k| k.as_slice()).collect(),
            _ => self.single_key().into_iter().collect(),
        }
    }

    pub fn single_key(&self) -> Option<&[u8]> {
        use ListCmd::*;
        match self {
            Push { key, .. }
            | Pop { key, .. }
            | Len { key }
            | Range { key, .. }
            | Index { key, .. }
            | Set { key, .. }
            | Rem { key, .. }
            | Trim { key, .. }
            | Insert { key, .. }
            | Pos { key, .. } => Some(key),
            MPop { keys, .. } => (keys.len() == 1).then(|| keys[0].as_slice()),
            Move { .. } => None,
        }
    }

    pub fn name(&self) -> &'static str {
        use ListCmd::*;
        match self {
            Push {
                left, exists_only, ..
            } => match (left, exists_only) {
                (true, false) => "lpush",
                (false, false) => "rpush",
                (true, true) => "lpushx",
                (false, true) => "rpushx",
            },
            Pop { left: true, .. } => "lpop",
            Pop { left: false, .. } => "rpop",
            Len { .. } => "llen",
            Range { .. } => "lrange",
            Index { .. } => "lindex",
            Set { .. } => "lset",
            Rem { .. } => "lrem",
            Trim { .. } => "ltrim",
            Insert { .. } => "linsert",
            Pos { .. } => "lpos",
            Move { .. } => "lmove",
            MPop { .. } => "lmpop",
        }
    }
}

fn l(c: ListCmd) -> Result<Cmd, Reply> {
    Ok(Cmd::Lists(Box::new(c)))
}

fn push(a: &mut [Vec<u8>], left: bool, exists_only: bool) -> Result<Cmd, Reply> {
    l(ListCmd::Push {
        key: take(&mut a[1]),
        vals: a[2..].iter_mut().map(take).collect(),
        left,
        exists_only,
    })
}

pub fn parse_lpush(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    push(a, true, false)
}
pub fn parse_rpush(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    push(a, false, false)
}
pub fn parse_lpushx(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    push(a, true, true)
}
pub fn parse_rpushx(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    push(a, false, true)
}

fn positive(arg: &[u8], msg: Status) -> Result<usize, Status> {
    match int(arg) {
        Ok(n) if n >= 0 => Ok(n as usize),
        _ => Err(msg),
    }
}

fn pop(a: &mut [Vec<u8>], left: bool) -> Result<Cmd, Reply> {
    let name = if left { "lpop" } else { "rpop" };
    let count = match a.len() {
        2 => None,
        3 => Some(positive(&a[2], Status::MustBePositive).map_err(|s| fail(s, name))?),
        _ => return Err(fail(Status::Arity, name)),
    };
    l(ListCmd::Pop {
        key: take(&mut a[1]),
        left,
        count,
    })
}

pub fn parse_lpop(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    pop(a, true)
}
pub fn parse_rpop(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    pop(a, false)
}

pub fn parse_llen(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    l(ListCmd::Len {
        key: take(&mut a[1]),
    })
}

fn ints(a: &[Vec<u8>], name: &str) -> Result<(i64, i64), Reply> {
    let x = int(&a[2]).map_err(|s| fail(s, name))?;
    let y = int(&a[3]).map_err(|s| fail(s, name))?;
    Ok((x, y))
}

pub fn parse_lrange(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    let (start, end) = ints(a, "lrange")?;
    l(ListCmd::Range {
        key: take(&mut a[1]),
        start,
        end,
    })
}

pub fn parse_ltrim(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    let (start, end) = ints(a, "ltrim")?;
    l(ListCmd::Trim {
        key: take(&mut a[1]),
        start,
        end,
    })
}

pub fn parse_lindex(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    l(ListCmd::Index {
        index: int(&a[2]).ok(),
        key: take(&mut a[1]),
    })
}

pub fn parse_lset(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    l(ListCmd::Set {
        index: int(&a[2]).ok(),
        key: take(&mut a[1]),
        val: take(&mut a[3]),
    })
}

pub fn parse_lrem(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    l(ListCmd::Rem {
        count: int(&a[2]).map_err(|s| fail(s, "lrem"))?,
        key: take(&mut a[1]),
        val: take(&mut a[3]),
    })
}

pub fn parse_linsert(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    let before = if is(&a[2], "BEFORE") {
        true
    } else if is(&a[2], "AFTER") {
        false
    } else {
        return Err(fail(Status::Syntax, "linsert"));
    };
    l(ListCmd::Insert {
        key: take(&mut a[1]),
        before,
        pivot: take(&mut a[3]),
        val: take(&mut a[4]),
    })
}

/// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len].
pub fn parse_lpos(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    let (mut rank, mut count, mut maxlen) = (1, None, 0);
    let mut i = 3;
    while i < a.len() {
        let more = i + 1 < a.len();
        let e = |s| fail(s, "lpos");
        if is(&a[i], "RANK") && more {
            rank = int(&a[i + 1]).map_err(e)?;
            if rank == 0 {
                return Err(e(Status::RankZero));
            }
        } else if is(&a[i], "COUNT") && more {
            count = Some(positive(&a[i + 1], Status::CountNegative).map_err(e)? as i64);
        } else if is(&a[i], "MAXLEN") && more {
            maxlen = positive(&a[i + 1], Status::MaxlenNegative).map_err(e)? as i64;
        } else {
            return Err(e(Status::Syntax));
        }
        i += 2;
    }
    l(ListCmd::Pos {
        key: take(&mut a[1]),
        val: take(&mut a[2]),
        rank,
        count,
        maxlen,
    })
}

/// LEFT or RIGHT: true for LEFT.
pub fn side(arg: &[u8], name: &str) -> Result<bool, Reply> {
    if is(arg, "LEFT") {
        Ok(true)
    } else if is(arg, "RIGHT") {
        Ok(false)
    } else {
        Err(fail(Status::Syntax, name))
    }
}

pub fn parse_lmove(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    let from_left = side(&a[3], "lmove")?;
    let to_left = side(&a[4], "lmove")?;
    l(ListCmd::Move {
        src: take(&mut a[1]),
        dst: take(&mut a[2]),
        from_left,
        to_left,
    })
}

pub fn parse_rpoplpush(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    l(ListCmd::Move {
        src: take(&mut a[1]),
        dst: take(&mut a[2]),
        from_left: false,
        to_left: true,
    })
}

pub fn parse_lmpop(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    let (keys, left, count) = parse_mpop(a, "lmpop", |w| side(w, "lmpop"))?;
    l(ListCmd::MPop { keys, left, count })
}

/// Pop up to `n` elements from the list at `key` (which must hold one),
/// dropping the key when it empties.
fn pop_n(db: &mut Db, key: &[u8], left: bool, n: usize, ctx: OpCtx) -> Vec<Reply> {
    let list = modify::<ListVal>(db, key, ctx)
        .ok()
        .flatten()
        .expect("caller checked the list exists");
    let n = n.min(list.len());
    let out = (0..n)
        .filter_map(|_| list.pop(left))
        .map(|v| Reply::bulk(v.into_vec()))
        .collect();
    drop_if_empty::<ListVal>(db, key, ctx.index);
    out
}

pub fn execute(cmd: &mut ListCmd, db: &mut Db, ctx: OpCtx) -> Result<Reply, Status> {
    let now = ctx.now;
    Ok(match cmd {
        ListCmd::Push {
            key,
            vals,
            left,
            exists_only,
        } => {
            let list = if *exists_only {
                match modify::<ListVal>(db, key, ctx)? {
                    Some(l) => l,
                    None => return Ok(Reply::Int(0)),
                }
            } else {
                write::<ListVal>(db, key, ctx)?
            };
            for v in vals.iter() {
                list.push(v, *left);
            }
            Reply::Int(list.len() as i64)
        }
        ListCmd::Pop { key, left, count } => {
            let len = read::<ListVal>(db, key, now)?.map(|l| l.len());
            match (len, *count) {
                (None, None) => Reply::Nil,
                (None, Some(_)) => Reply::NilArray,
                (Some(_), None) => pop_n(db, key, *left, 1, ctx).pop().expect("non-empty"),
                (Some(_), Some(0)) => Reply::Array(vec![]),
                (Some(_), Some(n)) => Reply::Array(pop_n(db, key, *left, n, ctx)),
            }
        }
        ListCmd::Len { key } => {
            Reply::Int(read::<ListVal>(db, key, now)?.map_or(0, |l| l.len()) as i64)
        }
        ListCmd::Range { key, start, end } => {
            let Some(list) = read::<ListVal>(db, key, now)? else {
                return Ok(Reply::Array(vec![]));
            };
            match range(*start, *end, list.len()) {
                Some((s, e)) => Reply::Array(list.items.range(s..=e).map(|v| bulk(v)).collect()),
                None => Reply::Array(vec![]),
            }
        }
        ListCmd::Index { key, index } => {
            let Some(list) = read::<ListVal>(db, key, now)? else {
                return Ok(Reply::Nil);
            };
            let index = index.ok_or(Status::NotInteger)?;
            match list.index(index).map(|i| &list.items[i]) {
                Some(v) => bulk(v),
                None => Reply::Nil,
            }
        }
        ListCmd::Set { key, index, val } => {
            let Some(list) = read::<ListVal>(db, key, now)? else {
                return Err(Status::NoSuchKey);
            };
            let Some(i) = list.index(index.ok_or(Status::NotInteger)?) else {
                return Err(Status::IndexOutOfRange);
            };
            let list = modify::<ListVal>(db, key, ctx)?.expect("checked");
            list.items[i] = std::mem::take(val).into_boxed_slice();
            Reply::Ok
        }
        ListCmd::Rem { key, count, val } => {
            let Some(list) = read::<ListVal>(db, key, now)? else {
                return Ok(Reply::Int(0));
            };
            let limit = if *count == 0 {
                usize::MAX
            } else {
                count.unsigned_abs() as usize
            };
            let hits: Vec<usize> = if *count >= 0 {
                let it = list.items.iter().enumerate();
                it.filter(|(_, v)| v[..] == val[..])
                    .map(|(i, _)| i)
                    .take(limit)
                    .collect()
            } else {
                let it = list.items.iter().enumerate().rev();
                it.filter(|(_, v)| v[..] == val[..])
                    .map(|(i, _)| i)
                    .take(limit)
                    .collect()
            };
            if hits.is_empty() {
                return Ok(Reply::Int(0));
            }
            let list = modify::<ListVal>(db, key, ctx)?.expect("checked");
            let mut gone = vec![false; list.len()];
            hits.iter().for_each(|&i| gone[i] = true);
            let mut i = 0;
            list.items.retain(|_| {
                i += 1;
                !gone[i - 1]
            });
            drop_if_empty::<ListVal>(db, key, ctx.index);
            Reply::Int(hits.len() as i64)
        }
        ListCmd::Trim { key, start, end } => {
            let Some(list) = modify::<ListVal>(db, key, ctx)? else {
                return Ok(Reply::Ok);
            };
            match range(*start, *end, list.len()) {
                Some((s, e)) => {
                    list.items.truncate(e + 1);
                    list.items.drain(..s);
                }
                None => list.items.clear(),
            }
            drop_if_empty::<ListVal>(db, key, ctx.index);
            Reply::Ok
        }
        ListCmd::Insert {
            key,
            before,
            pivot,
            val,
        } => {
            let Some(list) = read::<ListVal>(db, key, now)? else {
                return Ok(Reply::Int(0));
            };
            let Some(at) = list.items.iter().position(|v| v[..] == pivot[..]) else {
                return Ok(Reply::Int(-1));
            };
            let list = modify::<ListVal>(db, key, ctx)?.expect("checked");
            let at = if *before { at } else { at + 1 };
            list.items
                .insert(at, std::mem::take(val).into_boxed_slice());
            Reply::Int(list.len() as i64)
        }
        ListCmd::Pos {
            key,
            val,
            rank,
            count,
            maxlen,
        } => {
            let Some(list) = read::<ListVal>(db, key, now)? else {
                return Ok(if count.is_some() {
                    Reply::Array(vec![])
                } else {
                    Reply::Nil
                });
            };
            let matches = lpos(list, val, *rank, count.unwrap_or(1), *maxlen);
            match count {
                Some(_) => {
                    Reply::Array(matches.into_iter().map(|i| Reply::Int(i as i64)).collect())
                }
                None => matches
                    .first()
                    .map_or(Reply::Nil, |&i| Reply::Int(i as i64)),
            }
        }
        ListCmd::Move {
            src,
            dst,
            from_left,
            to_left,
        } => {
            if read::<ListVal>(db, src, now)?.is_none() {
                return Ok(Reply::Nil);
            }
            read::<ListVal>(db, dst, now)?;
            if src == dst {
                // A rotation: the list never empties, so it keeps its TTL.
                let list = modify::<ListVal>(db, src, ctx)?.expect("checked");
                let v = list.pop(*from_left).expect("non-empty");
                list.push(&v, *to_left);
                return Ok(Reply::bulk(v.into_vec()));
            }
            let v = pop_n(db, src, *from_left, 1, ctx).pop().expect("non-empty");
            let Reply::Bulk(bytes) = &v else {
                unreachable!("pop yields bulks")
            };
            write::<ListVal>(db, dst, ctx)?.push(bytes, *to_left);
            v
        }
        ListCmd::MPop { keys, left, count } => {
            for k in keys.iter() {
                if read::<ListVal>(db, k, now)?.is_some() {
                    let items = pop_n(db, k, *left, *count, ctx);
                    return Ok(Reply::Array(vec![bulk(k), Reply::Array(items)]));
                }
            }
            Reply::NilArray
        }
    })
}

/// LPOS's search: positions of `val`, skipping the first |rank|-1 matches
/// (from the tail when rank < 0), at most `count` of them (0: all), looking
/// at no more than `maxlen` elements (0: all).
fn lpos(list: &ListVal, val: &[u8], rank: i64, count: i64, maxlen: i64) -> Vec<usize> {
    let len = list.len();
    let limit = if maxlen == 0 {
        len
    } else {
        (maxlen as usize).min(len)
    };
    let want = if count == 0 {
        usize::MAX
    } else {
        count as usize
    };
    let skip = (rank.unsigned_abs() - 1) as usize;
    let order: Box<dyn Iterator<Item = usize>> = if rank > 0 {
        Box::new(0..limit)
    } else {
        Box::new((len - limit..len).rev())
    };
    order
        .filter(|&i| list.items[i][..] == *val)
        .skip(skip)
        .take(want)
        .collect()
}

#[cfg(test)]
#[path = "list_tests.rs"]
mod tests;
