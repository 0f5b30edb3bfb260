//! Generic key commands (DEL, EXISTS, TTLs, RENAME, COPY, KEYS...): parsing,
//! shard operations and replies.

use cachecat_io::Reply;

use super::args::{int, is, take};
use super::{fail, glob, Cmd, Cond, Exp, ObjectSub, ParseCtx, TtlKind};
use crate::keyspace::Entry;
use crate::{OpCtx, Shard, Status};

pub fn parse_del(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    Ok(Cmd::Del {
        keys: a[1..].iter_mut().map(take).collect(),
    })
}

pub fn parse_exists(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    Ok(Cmd::Exists {
        keys: a[1..].iter_mut().map(take).collect(),
    })
}

pub fn parse_touch(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    Ok(Cmd::Touch {
        keys: a[1..].iter_mut().map(take).collect(),
    })
}

pub fn parse_type(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    Ok(Cmd::Type {
        key: take(&mut a[1]),
    })
}

pub fn parse_rename(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    Ok(Cmd::Rename {
        src: take(&mut a[1]),
        dst: take(&mut a[2]),
        nx: false,
    })
}

pub fn parse_renamenx(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    Ok(Cmd::Rename {
        src: take(&mut a[1]),
        dst: take(&mut a[2]),
        nx: true,
    })
}

/// COPY src dst [DB n] [REPLACE].
pub fn parse_copy(a: &mut [Vec<u8>], pc: &ParseCtx) -> Result<Cmd, Reply> {
    let (db, databases) = (pc.db, pc.databases);
    let mut dst_db = db as u32;
    let mut replace = false;
    let mut i = 3;
    while i < a.len() {
        if is(&a[i], "REPLACE") {
            replace = true;
        } else if is(&a[i], "DB") && i + 1 < a.len() {
            let n = int(&a[i + 1]).map_err(|s| fail(s, "copy"))?;
            if n < 0 || n >= databases as i64 || n > i32::MAX as i64 {
                return Err(fail(Status::DbIndexOutOfRange, "copy"));
            }
            dst_db = n as u32;
            i += 1;
        } else {
            return Err(fail(Status::Syntax, "copy"));
        }
        i += 1;
    }
    if a[1] == a[2] && dst_db as usize == db {
        return Err(fail(Status::SameObject, "copy"));
    }
    Ok(Cmd::Copy {
        src: take(&mut a[1]),
        dst: take(&mut a[2]),
        dst_db,
        replace,
    })
}

fn parse_expire_like(
    a: &mut [Vec<u8>],
    pc: &ParseCtx,
    name: &str,
    unit_ms: i64,
    absolute: bool,
) -> Result<Cmd, Reply> {
    let mut nx = false;
    let mut xx = false;
    let mut gt = false;
    let mut lt = false;
    for o in &a[3..] {
        if is(o, "NX") {
            nx = true;
        } else if is(o, "XX") {
            xx = true;
        } else if is(o, "GT") {
            gt = true;
        } else if is(o, "LT") {
            lt = true;
        } else {
            return Err(Reply::Error(
                format!("ERR Unsupported option {}", String::from_utf8_lossy(o)).into(),
            ));
        }
    }
    if nx && (xx || gt || lt) {
        return Err(fail(Status::ExpireOptionsConflict, name));
    }
    if gt && lt {
        return Err(fail(Status::GtLtConflict, name));
    }
    // XX+GT is GT (GT already fails without a TTL); XX+LT needs both checks.
    let cond = match (nx, xx, gt, lt) {
        (true, ..) => Cond::Nx,
        (_, _, true, _) => Cond::Gt,
        (_, true, _, true) => Cond::XxLt,
        (_, _, _, true) => Cond::Lt,
        (_, true, ..) => Cond::Xx,
        _ => Cond::Always,
    };
    let mut when = int(&a[2]).map_err(|s| fail(s, name))?;
    if unit_ms == 1000 {
        if !(i64::MIN / 1000..=i64::MAX / 1000).contains(&when) {
            return Err(fail(Status::InvalidExpire, name));
        }
        when *= 1000;
    }
    if !absolute && when > i64::MAX - pc.now as i64 {
        return Err(fail(Status::InvalidExpire, name));
    }
    let at = if absolute {
        Exp::At(when)
    } else {
        Exp::Rel(when)
    };
    Ok(Cmd::Expire {
        key: take(&mut a[1]),
        at,
        cond,
    })
}

pub fn parse_expire(a: &mut [Vec<u8>], pc: &ParseCtx) -> Result<Cmd, Reply> {
    parse_expire_like(a, pc, "expire", 1000, false)
}

pub fn parse_pexpire(a: &mut [Vec<u8>], pc: &ParseCtx) -> Result<Cmd, Reply> {
    parse_expire_like(a, pc, "pexpire", 1, false)
}

pub fn parse_expireat(a: &mut [Vec<u8>], pc: &ParseCtx) -> Result<Cmd, Reply> {
    parse_expire_like(a, pc, "expireat", 1000, true)
}

pub fn parse_pexpireat(a: &mut [Vec<u8>], pc: &ParseCtx) -> Result<Cmd, Reply> {
    parse_expire_like(a, pc, "pexpireat", 1, true)
}

pub fn parse_persist(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    Ok(Cmd::Persist {
        key: take(&mut a[1]),
    })
}

fn ttl(a: &mut [Vec<u8>], kind: TtlKind) -> Result<Cmd, Reply> {
    Ok(Cmd::Ttl {
        key: take(&mut a[1]),
        kind,
    })
}

pub fn parse_ttl(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    ttl(a, TtlKind::Ttl)
}

pub fn parse_pttl(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    ttl(a, TtlKind::Pttl)
}

pub fn parse_expiretime(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    ttl(a, TtlKind::ExpireTime)
}

pub fn parse_pexpiretime(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    ttl(a, TtlKind::PexpireTime)
}

pub fn parse_keys(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    Ok(Cmd::Keys {
        pattern: take(&mut a[1]),
    })
}

pub fn parse_dbsize(_: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    Ok(Cmd::DbSize)
}

pub fn parse_randomkey(_: &mut [Vec<u8>], pc: &ParseCtx) -> Result<Cmd, Reply> {
    Ok(Cmd::RandomKey { seed: pc.seed })
}

/// FLUSHDB / FLUSHALL [ASYNC|SYNC]: both modes free synchronously here.
fn parse_flush(a: &mut [Vec<u8>], cmd: Cmd) -> Result<Cmd, Reply> {
    match a.len() {
        1 => Ok(cmd),
        2 if is(&a[1], "ASYNC") || is(&a[1], "SYNC") => Ok(cmd),
        _ => Err(fail(Status::Syntax, "flush")),
    }
}

pub fn parse_flushdb(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    parse_flush(a, Cmd::FlushDb)
}

pub fn parse_flushall(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    parse_flush(a, Cmd::FlushAll)
}

/// OBJECT ENCODING|FREQ|IDLETIME|REFCOUNT key.
pub fn parse_object(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    let sub = if is(&a[1], "ENCODING") {
        ObjectSub::Encoding
    } else if is(&a[1], "FREQ") {
        ObjectSub::Freq
    } else if is(&a[1], "IDLETIME") {
        ObjectSub::IdleTime
    } else if is(&a[1], "REFCOUNT") {
        ObjectSub::RefCount
    } else {
        return Err(unknown_subcommand(&a[1], "OBJECT"));
    };
    if a.len() != 3 {
        return Err(Reply::Error(
            format!(
                "ERR wrong number of arguments for 'object|{}' command",
                String::from_utf8_lossy(&a[1]).to_lowercase()
            )
            .into(),
        ));
    }
    Ok(Cmd::Object {
        key: take(&mut a[2]),
        sub,
    })
}

/// MEMORY USAGE key [SAMPLES n].
pub fn parse_memory_usage(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    match a.len() {
        3 => {}
        5 if is(&a[3], "SAMPLES") => {
            int(&a[4]).map_err(|s| fail(s, "memory"))?;
        }
        _ => return Err(fail(Status::Syntax, "memory")),
    }
    Ok(Cmd::MemoryUsage {
        key: take(&mut a[2]),
    })
}

/// Redis's reply to an unknown subcommand.
pub fn unknown_subcommand(sub: &[u8], cmd: &str) -> Reply {
    Reply::Error(
        format!(
            "ERR unknown subcommand '{}'. Try {} HELP.",
            String::from_utf8_lossy(sub),
            cmd
        )
        .into(),
    )
}

pub fn execute(cmd: &mut Cmd, shard: &mut Shard, dbi: usize, ctx: OpCtx) -> Result<Reply, Status> {
    let now = ctx.now;
    let db = shard.db_mut(dbi);
    Ok(match cmd {
        Cmd::Del { keys } => {
            let mut n = 0;
            for k in keys {
                if db.get_mut(k, now, ctx.index).is_some() {
                    db.remove(k, ctx.index);
                    n += 1;
                }
            }
            Reply::Int(n)
        }
        Cmd::Exists { keys } | Cmd::Touch { keys } => {
            Reply::Int(keys.iter().filter(|k| db.get(k, now).is_some()).count() as i64)
        }
        Cmd::Type { key } => {
            Reply::simple(db.get(key, now).map_or("none", |e| e.value.type_name()))
        }
        Cmd::Rename { src, dst, nx } => {
            let Some(e) = db.get(src, now) else {
                return Err(Status::NoSuchKey);
            };
            if src == dst {
                return Ok(if *nx { Reply::Int(0) } else { Reply::Ok });
            }
            if *nx && db.get(dst, now).is_some() {
                return Ok(Reply::Int(0));
            }
            let _ = e;
            let mut e = db.remove(src, ctx.index).expect("live");
            e.version = ctx.index;
            db.get_mut(dst, now, ctx.index);
            db.insert(dst, e);
            if *nx {
                Reply::Int(1)
            } else {
                Reply::Ok
            }
        }
        Cmd::Copy {
            src,
            dst,
            dst_db,
            replace,
        } => {
            let Some(e) = db.get(src, now) else {
                return Ok(Reply::Int(0));
            };
            let mut e: Entry = e.clone();
            e.version = ctx.index;
            let target = shard.db_mut(*dst_db as usize);
            if target.get_mut(dst, now, ctx.index).is_some() {
                if !*replace {
                    return Ok(Reply::Int(0));
                }
                target.remove(dst, ctx.index);
            }
            target.insert(dst, e);
            Reply::Int(1)
        }
        Cmd::Expire { key, at, cond } => {
            let Exp::At(when) = *at else {
                unreachable!("expire is stamped before it runs")
            };
            let Some(e) = db.get_mut(key, now, ctx.index) else {
                return Ok(Reply::Int(0));
            };
            let cur = e.expire_at;
            let pass = match cond {
                Cond::Always => true,
                Cond::Nx => cur == 0,
                Cond::Xx => cur != 0,
                Cond::Gt => cur != 0 && when > cur as i64,
                Cond::Lt => cur == 0 || when < cur as i64,
                Cond::XxLt => cur != 0 && when < cur as i64,
            };
            if !pass {
                return Ok(Reply::Int(0));
            }
            if when <= now as i64 {
                db.remove(key, ctx.index);
            } else {
                e.expire_at = when as u64;
                e.version = ctx.index;
            }
            Reply::Int(1)
        }
        Cmd::Persist { key } => match db.get_mut(key, now, ctx.index) {
            Some(e) if e.expire_at != 0 => {
                e.expire_at = 0;
                e.version = ctx.index;
                Reply::Int(1)
            }
            _ => Reply::Int(0),
        },
        Cmd::Ttl { key, kind } => Reply::Int(match db.get(key, now) {
            None => -2,
            Some(e) if e.expire_at == 0 => -1,
            Some(e) => {
                let abs = matches!(kind, TtlKind::ExpireTime | TtlKind::PexpireTime);
                let t = if abs {
                    e.expire_at as i64
                } else {
                    (e.expire_at as i64 - now as i64).max(0)
                };
                match kind {
                    TtlKind::Pttl | TtlKind::PexpireTime => t,
                    _ => ((t as i128 + 500) / 1000) as i64,
                }
            }
        }),
        Cmd::Object { key, sub } => {
            let Some(e) = db.get(key, now) else {
                return Ok(Reply::Nil);
            };
            match sub {
                ObjectSub::Encoding => Reply::bulk(e.value.encoding().as_bytes().to_vec()),
                ObjectSub::RefCount => Reply::Int(1),
                ObjectSub::IdleTime => Reply::Int(e.idle_seconds(now) as i64),
                ObjectSub::Freq => return Ok(Reply::err(
                    "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
                )),
            }
        }
        Cmd::MemoryUsage { key } => match db.get(key, now) {
            Some(e) => Reply::Int(e.mem_usage(key.len()) as i64),
            None => Reply::Nil,
        },
        Cmd::DelIfVersion { keys } => {
            let mut n = 0;
            for (k, v) in keys {
                let hit = db
                    .get_raw(k)
                    .is_some_and(|e| e.version == *v && e.is_expired(now));
                if hit {
                    db.remove(k, ctx.index);
                    n += 1;
                }
            }
            Reply::Int(n)
        }
        Cmd::Keys { pattern } => Reply::Array(
            db.iter()
                .filter(|(k, e)| !e.is_expired(now) && glob::matches(pattern, k, false))
                .map(|(k, _)| Reply::bulk(k.to_vec()))
                .collect(),
        ),
        Cmd::DbSize => Reply::Int(db.len(now) as i64),
        Cmd::RandomKey { seed } => match db.random_key(now, *seed) {
            None => Reply::Nil,
            Some(k) => Reply::bulk(k.to_vec()),
        },
        Cmd::FlushDb => {
            db.clear();
            Reply::Ok
        }
        Cmd::KeyspaceInfo => Reply::Array(
            shard
                .dbs
                .iter()
                .flat_map(|d| {
                    [
                        Reply::Int(d.len(now) as i64),
                        Reply::Int(d.volatile(now) as i64),
                    ]
                })
                .collect(),
        ),
        Cmd::FlushAll => {
            for d in &mut shard.dbs {
                d.clear();
            }
            Reply::Ok
        }
        _ => unreachable!("not a key command"),
    })
}

#[cfg(test)]
#[path = "keys_tests.rs"]
mod tests;
