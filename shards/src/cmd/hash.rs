//! Hash commands: parsing, shard operations and replies. Small hashes keep
//! insertion order, as Redis's listpack encoding does.

use cachecat_io::Reply;

use super::access::{drop_if_empty, read, write};
use super::args::{int, is, parse_i64, take};
use super::{bulk, fail, Cmd, ParseCtx};
use crate::float::{check_float, incr_by_float, IncrFloatError};
use crate::keyspace::{Db, HashVal};
use crate::types::Rng;
use crate::{OpCtx, Status};

pub fn parse_hset(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    hset_like(a, "hset", false)
}

pub fn parse_hmset(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    hset_like(a, "hmset", true)
}

fn hset_like(a: &mut [Vec<u8>], name: &str, hmset: bool) -> Result<Cmd, Reply> {
    if !a.len().is_multiple_of(2) {
        return Err(Reply::Error(
            format!("ERR wrong number of arguments for '{name}' command").into(),
        ));
    }
    Ok(Cmd::HSet {
        key: take(&mut a[1]),
        pairs: a[2..]
            .chunks_mut(2)
            .map(|p| (take(&mut p[0]), take(&mut p[1])))
            .collect(),
        hmset,
    })
}

pub fn parse_hsetnx(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    Ok(Cmd::HSetNx {
        key: take(&mut a[1]),
        field: take(&mut a[2]),
        val: take(&mut a[3]),
    })
}

macro_rules! key_field {
    ($fn:ident, $var:ident) => {
        pub fn $fn(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
            Ok(Cmd::$var {
                key: take(&mut a[1]),
                field: take(&mut a[2]),
            })
        }
    };
}
key_field!(parse_hget, HGet);
key_field!(parse_hexists, HExists);
key_field!(parse_hstrlen, HStrlen);

macro_rules! key_only {
    ($fn:ident, $var:ident) => {
        pub fn $fn(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
            Ok(Cmd::$var {
                key: take(&mut a[1]),
            })
        }
    };
}
key_only!(parse_hlen, HLen);
key_only!(parse_hkeys, HKeys);
key_only!(parse_hvals, HVals);
key_only!(parse_hgetall, HGetAll);

pub fn parse_hmget(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    Ok(Cmd::HMGet {
        key: take(&mut a[1]),
        fields: a[2..].iter_mut().map(take).collect(),
    })
}

pub fn parse_hdel(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    Ok(Cmd::HDel {
        key: take(&mut a[1]),
        fields: a[2..].iter_mut().map(take).collect(),
    })
}

pub fn parse_hincrby(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    Ok(Cmd::HIncrBy {
        key: take(&mut a[1]),
        field: take(&mut a[2]),
        by: int(&a[3]).map_err(|s| fail(s, "hincrby"))?,
    })
}

/// The increment is checked here, before the key is looked at, as Redis does.
pub fn parse_hincrbyfloat(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    match check_float(&a[3]) {
        Err(s) => return Err(fail(s, "hincrbyfloat")),
        Ok(true) => return Err(fail(Status::HashIncrNanOrInfinity, "hincrbyfloat")),
        Ok(false) => {}
    }
    Ok(Cmd::HIncrByFloat {
        key: take(&mut a[1]),
        field: take(&mut a[2]),
        by: take(&mut a[3]),
    })
}

/// HRANDFIELD key [count [WITHVALUES]].
pub fn parse_hrandfield(a: &mut [Vec<u8>], pc: &ParseCtx) -> Result<Cmd, Reply> {
    let count = match a.get(2) {
        Some(c) => Some(int(c).map_err(|s| fail(s, "hrandfield"))?),
        None => None,
    };
    let with_values = match a.len() {
        2 | 3 => false,
        4 if is(&a[3], "WITHVALUES") => true,
        _ => return Err(fail(Status::Syntax, "hrandfield")),
    };
    if let Some(c) = count {
        if c == i64::MIN {
            return Err(fail(Status::CountRange, "hrandfield"));
        }
        // Redis bounds the count so count*2 replies cannot overflow; a
        // reply is built whole here, so repeats are bounded too.
        if (with_values && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&c))
            || c < -super::set::MAX_RANDOM_REPEATS
        {
            return Err(fail(Status::OutOfRange, "hrandfield"));
        }
    }
    Ok(Cmd::HRandField {
        key: take(&mut a[1]),
        count,
        with_values,
        seed: pc.seed,
    })
}

pub fn execute(cmd: &mut Cmd, db: &mut Db, ctx: OpCtx) -> Result<Reply, Status> {
    let now = ctx.now;
    Ok(match cmd {
        Cmd::HSet { key, pairs, hmset } => {
            let h = write::<HashVal>(db, key, ctx)?;
            let mut added = 0;
            for (f, v) in pairs.iter_mut() {
                added += h.set(f, std::mem::take(v)) as i64;
            }
            if *hmset {
                Reply::Ok
            } else {
                Reply::Int(added)
            }
        }
        Cmd::HSetNx { key, field, val } => {
            if read::<HashVal>(db, key, now)?.is_some_and(|h| h.map.contains_key(&field[..])) {
                return Ok(Reply::Int(0));
            }
            write::<HashVal>(db, key, ctx)?.set(field, std::mem::take(val));
            Reply::Int(1)
        }
        Cmd::HGet { key, field } => {
            match read::<HashVal>(db, key, now)?.and_then(|h| h.map.get(&field[..])) {
                Some(v) => bulk(v),
                None => Reply::Nil,
            }
        }
        Cmd::HMGet { key, fields } => {
            let h = read::<HashVal>(db, key, now)?;
            Reply::Array(
                fields
                    .iter()
                    .map(|f| {
                        h.and_then(|h| h.map.get(&f[..]))
                            .map_or(Reply::Nil, |v| bulk(v))
                    })
                    .collect(),
            )
        }
        Cmd::HDel { key, fields } => {
            if read::<HashVal>(db, key, now)?.is_none() {
                return Ok(Reply::Int(0));
            }
            let h = write::<HashVal>(db, key, ctx)?;
            let n = fields.iter().filter(|f| h.remove(f)).count();
            drop_if_empty::<HashVal>(db, key, ctx.index);
            Reply::Int(n as i64)
        }
        Cmd::HExists { key, field } => Reply::Int(
            read::<HashVal>(db, key, now)?.is_some_and(|h| h.map.contains_key(&field[..])) as i64,
        ),
        Cmd::HLen { key } => {
            Reply::Int(read::<HashVal>(db, key, now)?.map_or(0, |h| h.map.len()) as i64)
        }
        Cmd::HKeys { key } => Reply::Array(
            read::<HashVal>(db, key, now)?
                .map(|h| h.map.keys().map(|k| bulk(k)).collect())
                .unwrap_or_default(),
        ),
        Cmd::HVals { key } => Reply::Array(
            read::<HashVal>(db, key, now)?
                .map(|h| h.map.values().map(|v| bulk(v)).collect())
                .unwrap_or_default(),
        ),
        Cmd::HGetAll { key } => Reply::Map(
            read::<HashVal>(db, key, now)?
                .map(|h| h.map.iter().map(|(k, v)| (bulk(k), bulk(v))).collect())
                .unwrap_or_default(),
        ),
        Cmd::HIncrBy { key, field, by } => {
            let cur = match read::<HashVal>(db, key, now)?.and_then(|h| h.map.get(&field[..])) {
                Some(v) => parse_i64(v).map_err(|_| Status::HashNotInteger)?,
                None => 0,
            };
            let new = cur.checked_add(*by).ok_or(Status::Overflow)?;
            let mut buf = itoa::Buffer::new();
            write::<HashVal>(db, key, ctx)?.set(field, buf.format(new).as_bytes().to_vec());
            Reply::Int(new)
        }
        Cmd::HIncrByFloat { key, field, by } => {
            let cur = read::<HashVal>(db, key, now)?.and_then(|h| h.map.get(&field[..]));
            let new = incr_by_float(cur.map(|v| v.as_slice()), by).map_err(|e| match e {
                IncrFloatError::CurrentNotFloat => Status::HashNotFloat,
                IncrFloatError::IncrementNotFloat => Status::NotFloat,
                IncrFloatError::NanOrInfinity => Status::NanOrInfinity,
            })?;
            let r = bulk(&new);
            write::<HashVal>(db, key, ctx)?.set(field, new);
            r
        }
        Cmd::HStrlen { key, field } => Reply::Int(
            read::<HashVal>(db, key, now)?
                .and_then(|h| h.map.get(&field[..]))
                .map_or(0, |v| v.len()) as i64,
        ),
        Cmd::HRandField {
            key,
            count,
            with_values,
            seed,
        } => randfield(read::<HashVal>(db, key, now)?, *count, *with_values, *seed),
        _ => unreachable!("not a hash command"),
    })
}

fn randfield(h: Option<&HashVal>, count: Option<i64>, with_values: bool, seed: u64) -> Reply {
    let mut rng = Rng(seed);
    let Some(count) = count else {
        return match h {
            Some(h) => bulk(
                h.map
                    .get_index(rng.below(h.map.len()))
                    .expect("non-empty")
                    .0,
            ),
            None => Reply::Nil,
        };
    };
    let Some(h) = h else {
        return Reply::Array(vec![]);
    };
    let n = h.map.len();
    let picks: Vec<usize> = if count < 0 {
        (0..count.unsigned_abs()).map(|_| rng.below(n)).collect()
    } else if count as usize >= n {
        (0..n).collect()
    } else {
        rng.distinct(n, count as usize)
    };
    let item = |i: usize| h.map.get_index(i).expect("in range");
    if with_values {
        Reply::Pairs(
            picks
                .into_iter()
                .map(|i| {
                    let (k, v) = item(i);
                    (bulk(k), bulk(v))
                })
                .collect(),
        )
    } else {
        Reply::Array(picks.into_iter().map(|i| bulk(item(i).0)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyspace::{Entry, Value};
    use crate::Shard;

    fn run(shard: &mut Shard, line: &str, index: u64) -> Reply {
        let mut a: Vec<Vec<u8>> = line.split(' ').map(|p| p.as_bytes().to_vec()).collect();
        let spec = crate::table::lookup(&a[0].to_ascii_lowercase()).unwrap();
        let mut cmd =
            (spec.parse.unwrap())(&mut a, &ParseCtx::test()).unwrap_or_else(|e| e.into_cmd_err());
        super::super::execute(&mut cmd, shard, 0, OpCtx { now: 10, index })
    }

    trait IntoCmdErr {
        fn into_cmd_err(self) -> Cmd;
    }
    impl IntoCmdErr for Reply {
        fn into_cmd_err(self) -> Cmd {
            panic!("parse error {self:?}")
        }
    }

    fn b(s: &str) -> Reply {
        Reply::bulk(s.as_bytes().to_vec())
    }

    #[test]
    fn hset_hget_hdel_order() {
        let mut s = Shard::new(1);
        assert_eq!(run(&mut s, "HSET h a 1 b 2 c 3", 1), Reply::Int(3));
        assert_eq!(run(&mut s, "HSET h a 9 d 4", 2), Reply::Int(1));
        assert_eq!(run(&mut s, "HGET h a", 0), b("9"));
        assert_eq!(run(&mut s, "HDEL h b x", 3), Reply::Int(1));
        assert_eq!(
            run(&mut s, "HKEYS h", 0),
            Reply::Array(vec![b("a"), b("c"), b("d")])
        );
        assert_eq!(
            run(&mut s, "HGETALL h", 0),
            Reply::Map(vec![(b("a"), b("9")), (b("c"), b("3")), (b("d"), b("4"))])
        );
        assert_eq!(run(&mut s, "HDEL h a c d", 4), Reply::Int(3));
        assert_eq!(run(&mut s, "HLEN h", 0), Reply::Int(0));
        assert!(s.db(0).get_raw(b"h").is_none());
        assert_eq!(run(&mut s, "HMSET h a 1", 5), Reply::Ok);
        assert_eq!(run(&mut s, "HSETNX h a 2", 6), Reply::Int(0));
        assert_eq!(run(&mut s, "HSETNX h b 2", 7), Reply::Int(1));
        assert_eq!(
            run(&mut s, "HMGET h a z b", 0),
            Reply::Array(vec![b("1"), Reply::Nil, b("2")])
        );
        assert_eq!(run(&mut s, "HSTRLEN h a", 0), Reply::Int(1));
        assert_eq!(run(&mut s, "HEXISTS h z", 0), Reply::Int(0));
    }

    #[test]
    fn hincr_errors_and_wrongtype() {
        let mut s = Shard::new(1);
        assert_eq!(run(&mut s, "HINCRBY h n 5", 1), Reply::Int(5));
        assert_eq!(run(&mut s, "HINCRBYFLOAT h n 0.5", 2), b("5.5"));
        assert_eq!(
            run(&mut s, "HINCRBY h n 1", 3),
            Reply::Error(Status::HashNotInteger.text("x"))
        );
        run(&mut s, "HSET h s abc", 4);
        assert_eq!(
            run(&mut s, "HINCRBYFLOAT h s 1", 5),
            Reply::Error(Status::HashNotFloat.text("x"))
        );
        let mut a: Vec<Vec<u8>> = ["HINCRBYFLOAT", "h", "f", "inf"]
            .iter()
            .map(|p| p.as_bytes().to_vec())
            .collect();
        assert_eq!(
            parse_hincrbyfloat(&mut a, &ParseCtx::test()),
            Err(Reply::Error(Status::HashIncrNanOrInfinity.text("x")))
        );
        s.db_mut(0).insert(
            b"str",
            Entry::new(Value::Str(crate::keyspace::StrVal::new(b"v".to_vec())), 1),
        );
        assert_eq!(
            run(&mut s, "HGET str a", 0),
            Reply::Error(Status::WrongType.text("x"))
        );
        assert_eq!(
            run(&mut s, "HSET str a 1", 6),
            Reply::Error(Status::WrongType.text("x"))
        );
    }

    #[test]
    fn hrandfield_counts() {
        let mut s = Shard::new(1);
        run(&mut s, "HSET h a 1 b 2 c 3", 1);
        match run(&mut s, "HRANDFIELD h 2", 0) {
            Reply::Array(v) => {
                assert_eq!(v.len(), 2);
                assert_ne!(v[0], v[1]);
            }
            r => panic!("{r:?}"),
        }
        match run(&mut s, "HRANDFIELD h -5 WITHVALUES", 0) {
            Reply::Pairs(v) => assert_eq!(v.len(), 5),
            r => panic!("{r:?}"),
        }
        match run(&mut s, "HRANDFIELD h 10", 0) {
            Reply::Array(v) => assert_eq!(v.len(), 3),
            r => panic!("{r:?}"),
        }
        assert_eq!(run(&mut s, "HRANDFIELD nope", 0), Reply::Nil);
    }
}
