//! String commands: parsing, the shard operations and their replies.

use cachecat_io::Reply;

use super::args::{int, is, take};
use super::{fail, Cmd, Cond, Exp, ParseCtx};
use crate::float::{incr_by_float, IncrFloatError};
use crate::keyspace::{Db, Entry, StrVal, Value};
use crate::{OpCtx, Status};

/// Redis's proto-max-bulk-len default: the largest string SETRANGE/APPEND may build.
pub const MAX_STRING: usize = 512 * 1024 * 1024;

pub fn parse_get(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    Ok(Cmd::Get {
        key: take(&mut a[1]),
    })
}

/// Which expiry option SET/GETEX saw last (Redis's OBJ_EX/PX/EXAT/PXAT,
/// KEEPTTL and PERSIST flags).
#[derive(Clone, Copy, PartialEq, Eq)]
enum ExpOpt {
    None,
    Ex,
    Px,
    ExAt,
    PxAt,
    KeepTtl,
    Persist,
}

/// SET's and GETEX's options, parsed with Redis's rules
/// (`parseExtendedStringArgumentsOrReply`): an option may repeat (the last
/// value wins) but may not combine with a conflicting one; expiry values are
/// validated after the whole line is read.
struct StringOpts {
    cond: Cond,
    get: bool,
    exp: ExpOpt,
    value: Option<Vec<u8>>,
}

fn parse_string_opts(a: &[Vec<u8>], from: usize, is_set: bool) -> Result<StringOpts, Status> {
    let mut o = StringOpts {
        cond: Cond::Always,
        get: false,
        exp: ExpOpt::None,
        value: None,
    };
    let mut i = from;
    while i < a.len() {
        let opt = &a[i];
        let next = a.get(i + 1);
        let timed = o.exp == ExpOpt::None;
        let same = |e: ExpOpt| timed || o.exp == e;
        let exp_opt = [
            ("EX", ExpOpt::Ex),
            ("PX", ExpOpt::Px),
            ("EXAT", ExpOpt::ExAt),
            ("PXAT", ExpOpt::PxAt),
        ]
        .into_iter()
        .find(|(n, _)| is(opt, n))
        .map(|(_, e)| e);
        if is_set && is(opt, "NX") && o.cond != Cond::Xx {
            o.cond = Cond::Nx;
        } else if is_set && is(opt, "XX") && o.cond != Cond::Nx {
            o.cond = Cond::Xx;
        } else if is_set && is(opt, "GET") {
            o.get = true;
        } else if is_set && is(opt, "KEEPTTL") && same(ExpOpt::KeepTtl) {
            o.exp = ExpOpt::KeepTtl;
        } else if !is_set && is(opt, "PERSIST") && same(ExpOpt::Persist) {
            o.exp = ExpOpt::Persist;
        } else if let Some(e) = exp_opt.filter(|e| same(*e) && next.is_some()) {
            o.exp = e;
            o.value = next.cloned();
            i += 1;
        } else {
            return Err(Status::Syntax);
        }
        i += 1;
    }
    Ok(o)
}

/// The expiry of parsed options: Redis's getExpireMillisecondsOrReply (a
/// positive integer, within range once converted to an absolute time at
/// `now`, the time the command is parsed at).
fn resolve_expiry(o: &StringOpts, now: u64) -> Result<Exp, Status> {
    let (seconds, relative) = match o.exp {
        ExpOpt::None | ExpOpt::Persist => return Ok(Exp::Clear),
        ExpOpt::KeepTtl => return Ok(Exp::Keep),
        ExpOpt::Ex => (true, true),
        ExpOpt::Px => (false, true),
        ExpOpt::ExAt => (true, false),
        ExpOpt::PxAt => (false, false),
    };
    let n = int(o.value.as_ref().expect("expiry value"))?;
    if n <= 0 || (seconds && n > i64::MAX / 1000) {
        return Err(Status::InvalidExpire);
    }
    let ms = if seconds { n * 1000 } else { n };
    if relative {
        if ms.checked_add(now as i64).is_none() {
            return Err(Status::InvalidExpire);
        }
        Ok(Exp::Rel(ms))
    } else {
        Ok(Exp::At(ms))
    }
}

pub fn parse_set(a: &mut [Vec<u8>], pc: &ParseCtx) -> Result<Cmd, Reply> {
    let o = parse_string_opts(a, 3, true).map_err(|s| fail(s, "set"))?;
    let exp = resolve_expiry(&o, pc.now).map_err(|s| fail(s, "set"))?;
    Ok(Cmd::Set {
        key: take(&mut a[1]),
        val: take(&mut a[2]),
        exp,
        cond: o.cond,
        get: o.get,
    })
}

pub fn parse_setnx(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    Ok(Cmd::SetNx {
        key: take(&mut a[1]),
        val: take(&mut a[2]),
    })
}

fn parse_setex_like(
    a: &mut [Vec<u8>],
    pc: &ParseCtx,
    opt: ExpOpt,
    name: &str,
) -> Result<Cmd, Reply> {
    let o = StringOpts {
        cond: Cond::Always,
        get: false,
        exp: opt,
        value: Some(a[2].clone()),
    };
    let exp = resolve_expiry(&o, pc.now).map_err(|s| fail(s, name))?;
    Ok(Cmd::Set {
        key: take(&mut a[1]),
        val: take(&mut a[3]),
        exp,
        cond: Cond::Always,
        get: false,
    })
}

pub fn parse_setex(a: &mut [Vec<u8>], pc: &ParseCtx) -> Result<Cmd, Reply> {
    parse_setex_like(a, pc, ExpOpt::Ex, "setex")
}

pub fn parse_psetex(a: &mut [Vec<u8>], pc: &ParseCtx) -> Result<Cmd, Reply> {
    parse_setex_like(a, pc, ExpOpt::Px, "psetex")
}

pub fn parse_getset(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    Ok(Cmd::Set {
        key: take(&mut a[1]),
        val: take(&mut a[2]),
        exp: Exp::Clear,
        cond: Cond::Always,
        get: true,
    })
}

pub fn parse_getdel(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    Ok(Cmd::GetDel {
        key: take(&mut a[1]),
    })
}

/// GETEX checks its syntax now but, like Redis, reports a bad expiry value
/// only for a key that exists and holds a string (`Exp::Invalid`).
pub fn parse_getex(a: &mut [Vec<u8>], pc: &ParseCtx) -> Result<Cmd, Reply> {
    let o = parse_string_opts(a, 2, false).map_err(|s| fail(s, "getex"))?;
    let exp = match o.exp {
        ExpOpt::None => Exp::Keep,
        _ => resolve_expiry(&o, pc.now).unwrap_or_else(Exp::Invalid),
    };
    Ok(Cmd::GetEx {
        key: take(&mut a[1]),
        exp,
    })
}

pub fn parse_mget(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    Ok(Cmd::MGet {
        keys: a[1..].iter_mut().map(take).collect(),
    })
}

/// Key-value pairs as MSET takes them.
type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

fn pairs(a: &mut [Vec<u8>], name: &str) -> Result<Pairs, Reply> {
    if a.len().is_multiple_of(2) {
        return Err(Reply::Error(
            format!("ERR wrong number of arguments for '{name}' command").into(),
        ));
    }
    Ok(a[1..]
        .chunks_mut(2)
        .map(|p| (take(&mut p[0]), take(&mut p[1])))
        .collect())
}

pub fn parse_mset(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    Ok(Cmd::MSet {
        pairs: pairs(a, "mset")?,
    })
}

pub fn parse_msetnx(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    Ok(Cmd::MSetNx {
        pairs: pairs(a, "msetnx")?,
    })
}

pub fn parse_incr(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    Ok(Cmd::IncrBy {
        key: take(&mut a[1]),
        by: 1,
    })
}

pub fn parse_decr(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    Ok(Cmd::IncrBy {
        key: take(&mut a[1]),
        by: -1,
    })
}

pub fn parse_incrby(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    Ok(Cmd::IncrBy {
        key: take(&mut a[1]),
        by: int(&a[2]).map_err(|s| fail(s, "incrby"))?,
    })
}

pub fn parse_decrby(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    let by = int(&a[2]).map_err(|s| fail(s, "decrby"))?;
    if by == i64::MIN {
        return Err(fail(Status::DecrementOverflow, "decrby"));
    }
    Ok(Cmd::IncrBy {
        key: take(&mut a[1]),
        by: -by,
    })
}

pub fn parse_incrbyfloat(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    Ok(Cmd::IncrByFloat {
        key: take(&mut a[1]),
        by: take(&mut a[2]),
    })
}

pub fn parse_append(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    Ok(Cmd::Append {
        key: take(&mut a[1]),
        val: take(&mut a[2]),
    })
}

pub fn parse_strlen(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    Ok(Cmd::Strlen {
        key: take(&mut a[1]),
    })
}

pub fn parse_getrange(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    let e = |s| fail(s, "getrange");
    Ok(Cmd::GetRange {
        key: take(&mut a[1]),
        start: int(&a[2]).map_err(e)?,
        end: int(&a[3]).map_err(e)?,
    })
}

pub fn parse_setrange(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    Ok(Cmd::SetRange {
        key: take(&mut a[1]),
        offset: int(&a[2]).map_err(|s| fail(s, "setrange"))?,
        val: take(&mut a[3]),
    })
}

/// The string at `key` for a read: None when absent, WRONGTYPE otherwise.
pub fn read_str<'a>(db: &'a Db, key: &[u8], now: u64) -> Result<Option<&'a StrVal>, Status> {
    match db.get(key, now) {
        None => Ok(None),
        Some(Entry {
            value: Value::Str(s),
            ..
        }) => Ok(Some(s)),
        Some(_) => Err(Status::WrongType),
    }
}

fn new_str(data: Vec<u8>, ctx: OpCtx) -> Entry {
    let mut e = Entry::new(Value::Str(StrVal::new(data)), ctx.index);
    e.touch(ctx.now);
    e
}

pub fn execute(cmd: &mut Cmd, db: &mut Db, ctx: OpCtx) -> Result<Reply, Status> {
    let now = ctx.now;
    Ok(match cmd {
        // GET records its access in the same lookup (see Cmd::touches).
        Cmd::Get { key } => match db.get_touch(key, now) {
            Some(Entry {
                value: Value::Str(s),
                ..
            }) => Reply::bulk(s.data.clone()),
            Some(_) => return Err(Status::WrongType),
            None => Reply::Nil,
        },
        Cmd::Set {
            key,
            val,
            exp,
            cond,
            get,
        } => set(db, key, std::mem::take(val), exp, *cond, *get, ctx)?,
        Cmd::SetNx { key, val } => {
            if db.get_mut(key, now, ctx.index).is_some() {
                Reply::Int(0)
            } else {
                db.insert(key, new_str(std::mem::take(val), ctx));
                Reply::Int(1)
            }
        }
        Cmd::GetDel { key } => match read_str(db, key, now)? {
            Some(s) => {
                let r = Reply::bulk(s.data.clone());
                db.remove(key, ctx.index);
                r
            }
            None => Reply::Nil,
        },
        Cmd::GetEx { key, exp } => {
            let Some(s) = read_str(db, key, now)? else {
                return Ok(Reply::Nil);
            };
            let r = Reply::bulk(s.data.clone());
            match *exp {
                Exp::Invalid(status) => return Err(status),
                Exp::Keep | Exp::Rel(_) => {}
                Exp::At(at) if at <= now as i64 => {
                    db.remove(key, ctx.index);
                }
                Exp::At(at) => {
                    let e = db.get_mut(key, now, ctx.index).expect("live");
                    e.expire_at = at as u64;
                    e.version = ctx.index;
                }
                Exp::Clear => {
                    let e = db.get_mut(key, now, ctx.index).expect("live");
                    if e.expire_at != 0 {
                        e.expire_at = 0;
                        e.version = ctx.index;
                    }
                }
            }
            r
        }
        Cmd::MGet { keys } => Reply::Array(
            keys.iter()
                .map(|k| match read_str(db, k, now) {
                    Ok(Some(s)) => Reply::bulk(s.data.clone()),
                    _ => Reply::Nil,
                })
                .collect(),
        ),
        Cmd::MSet { pairs } => {
            for (k, v) in pairs.iter_mut() {
                db.insert(k, new_str(std::mem::take(v), ctx));
            }
            Reply::Ok
        }
        Cmd::MSetNx { pairs } => {
            if pairs.iter().any(|(k, _)| db.get(k, now).is_some()) {
                Reply::Int(0)
            } else {
                for (k, v) in pairs.iter_mut() {
                    db.insert(k, new_str(std::mem::take(v), ctx));
                }
                Reply::Int(1)
            }
        }
        Cmd::IncrBy { key, by } => Reply::Int(incr_by(db, key, *by, ctx)?),
        Cmd::IncrByFloat { key, by } => {
            let cur = read_str(db, key, now)?.map(|s| s.data.as_slice());
            let new = incr_by_float(cur, by).map_err(|e| match e {
                IncrFloatError::NanOrInfinity => Status::NanOrInfinity,
                _ => Status::NotFloat,
            })?;
            let r = Reply::bulk(new.clone());
            write_keep_ttl(db, key, new, ctx);
            if let Some(Entry {
                value: Value::Str(s),
                ..
            }) = db.get_mut(key, now, ctx.index)
            {
                s.not_int = true;
            }
            r
        }
        Cmd::Append { key, val } => match db.get_mut(key, now, ctx.index) {
            Some(Entry {
                value: Value::Str(s),
                version,
                ..
            }) => {
                if s.data.len() + val.len() > MAX_STRING {
                    return Err(Status::StringTooLong);
                }
                s.data.extend_from_slice(val);
                s.raw = true;
                *version = ctx.index;
                Reply::Int(s.data.len() as i64)
            }
            Some(_) => return Err(Status::WrongType),
            None => {
                db.insert(key, new_str(val.clone(), ctx));
                Reply::Int(val.len() as i64)
            }
        },
        Cmd::Strlen { key } => {
            Reply::Int(read_str(db, key, now)?.map_or(0, |s| s.data.len()) as i64)
        }
        Cmd::GetRange { key, start, end } => {
            let data = read_str(db, key, now)?.map_or(&[][..], |s| s.data.as_slice());
            Reply::bulk(substr(data, *start, *end).to_vec())
        }
        Cmd::SetRange { key, offset, val } => setrange(db, key, *offset, val, ctx)?,
        _ => unreachable!("not a string command"),
    })
}

#[allow(clippy::too_many_arguments)]
fn set(
    db: &mut Db,
    key: &[u8],
    val: Vec<u8>,
    exp: &Exp,
    cond: Cond,
    get: bool,
    ctx: OpCtx,
) -> Result<Reply, Status> {
    let deadline = |old_ttl: u64| match *exp {
        Exp::Clear | Exp::Rel(_) | Exp::Invalid(_) => 0,
        Exp::Keep => old_ttl,
        Exp::At(at) => at.max(1) as u64,
    };
    // One probe: an existing key is overwritten in place.
    match db.get_mut(key, ctx.now, ctx.index) {
        Some(e) => {
            let old_str = match &e.value {
                Value::Str(s) => Some(s),
                _ => None,
            };
            if get && old_str.is_none() {
                return Err(Status::WrongType);
            }
            if cond == Cond::Nx {
                return Ok(match old_str {
                    Some(s) if get => Reply::bulk(s.data.clone()),
                    _ => Reply::Nil,
                });
            }
            let mut new = new_str(val, ctx);
            new.expire_at = deadline(e.expire_at);
            let old = std::mem::replace(e, new);
            Ok(match old.value {
                Value::Str(s) if get => Reply::bulk(s.data),
                _ if get => Reply::Nil,
                _ => Reply::Ok,
            })
        }
        None => {
            if cond == Cond::Xx {
                return Ok(Reply::Nil);
            }
            let mut new = new_str(val, ctx);
            new.expire_at = deadline(0);
            db.insert(key, new);
            Ok(if get { Reply::Nil } else { Reply::Ok })
        }
    }
}

/// Store a string keeping the key's TTL (INCR family, Redis keeps it).
fn write_keep_ttl(db: &mut Db, key: &[u8], data: Vec<u8>, ctx: OpCtx) {
    match db.get_mut(key, ctx.now, ctx.index) {
        Some(e) => {
            e.value = Value::Str(StrVal::new(data));
            e.version = ctx.index;
        }
        None => db.insert(key, new_str(data, ctx)),
    }
}

/// INCRBY and friends: one lookup, and the digits are rewritten in the
/// value's own buffer (Redis likewise updates an integer in place).
fn incr_by(db: &mut Db, key: &[u8], by: i64, ctx: OpCtx) -> Result<i64, Status> {
    let mut buf = itoa::Buffer::new();
    match db.get_mut(key, ctx.now, ctx.index) {
        Some(Entry {
            value: Value::Str(s),
            version,
            ..
        }) => {
            let new = super::args::parse_i64(&s.data)?
                .checked_add(by)
                .ok_or(Status::Overflow)?;
            s.data.clear();
            s.data.extend_from_slice(buf.format(new).as_bytes());
            s.raw = false;
            s.not_int = false;
            *version = ctx.index;
            Ok(new)
        }
        Some(_) => Err(Status::WrongType),
        None => {
            db.insert(key, new_str(buf.format(by).as_bytes().to_vec(), ctx));
            Ok(by)
        }
    }
}

/// Redis's GETRANGE index arithmetic.
pub fn substr(data: &[u8], start: i64, end: i64) -> &[u8] {
    let len = data.len() as i64;
    if len == 0 || (start < 0 && end < 0 && start > end) {
        return &[];
    }
    let mut s = if start < 0 { len + start } else { start };
    let mut e = if end < 0 { len + end } else { end };
    s = s.max(0);
    e = e.max(0);
    if e >= len {
        e = len - 1;
    }
    if s > e || len == 0 {
        return &[];
    }
    &data[s as usize..=e as usize]
}

fn setrange(db: &mut Db, key: &[u8], offset: i64, val: &[u8], ctx: OpCtx) -> Result<Reply, Status> {
    if offset < 0 {
        return Err(Status::OffsetOutOfRange);
    }
    let cur = read_str(db, key, ctx.now)?;
    let cur_len = cur.map_or(0, |s| s.data.len());
    if val.is_empty() {
        return Ok(Reply::Int(cur_len as i64));
    }
    if offset as u64 + val.len() as u64 > MAX_STRING as u64 {
        return Err(Status::StringTooLong);
    }
    let end = offset as usize + val.len();
    match db.get_mut(key, ctx.now, ctx.index) {
        Some(Entry {
            value: Value::Str(s),
            version,
            ..
        }) => {
            if s.data.len() < end {
                s.data.resize(end, 0);
            }
            s.data[offset as usize..end].copy_from_slice(val);
            s.raw = true;
            *version = ctx.index;
            Ok(Reply::Int(s.data.len() as i64))
        }
        _ => {
            let mut data = vec![0u8; end];
            data[offset as usize..].copy_from_slice(val);
            let mut e = new_str(data, ctx);
            if let Value::Str(s) = &mut e.value {
                s.raw = true;
            }
            db.insert(key, e);
            Ok(Reply::Int(end as i64))
        }
    }
}

#[cfg(test)]
#[path = "string_tests.rs"]
mod tests;
