//! SCAN, HSCAN, SSCAN and ZSCAN, with Redis's guarantee: every element
//! present for the whole scan is returned, whatever the tables do between
//! calls (elements may come twice).
//!
//! SCAN's cursor names a shard and a position in that shard's hash space
//! (see [`crate::segmap`]); a shard is walked in hash order, then the next
//! one. A collection small enough for Redis's compact encodings is returned
//! whole with cursor 0, as Redis does. A bigger one is an insertion-ordered
//! map whose removals only ever move an element to a lower position, so its
//! cursor walks positions from the top down: an element not yet returned
//! never moves above the cursor.

use cachecat_io::reply::format_double_g17;
use cachecat_io::Reply;

use super::args::{is, parse_i64, take};
use super::{bulk, fail, glob, Cmd, Key, ParseCtx};
use crate::keyspace::{Db, Value};
use crate::segmap::SCAN_ALIGN;
use crate::types::SetVal;
use crate::zset::ZSetVal;
use crate::Status;

/// Which collection an xSCAN walks.
#[derive(Clone, Copy, Debug, PartialEq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub enum Of {
    Hash,
    Set,
    ZSet,
}

#[derive(Clone, Debug, PartialEq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub enum ScanCmd {
    Keys {
        cursor: u64,
        pattern: Option<Vec<u8>>,
        count: usize,
        kind: Option<Vec<u8>>,
    },
    /// HSCAN, SSCAN, ZSCAN. Redis checks the key before the options, so an
    /// option error waits in `error` until the key's type is known good.
    Coll {
        key: Key,
        of: Of,
        cursor: u64,
        pattern: Option<Vec<u8>>,
        count: usize,
        error: Option<Status>,
    },
}

impl ScanCmd {
    pub fn name(&self) -> &'static str {
        match self {
            ScanCmd::Keys { .. } => "scan",
            ScanCmd::Coll { of: Of::Hash, .. } => "hscan",
            ScanCmd::Coll { of: Of::Set, .. } => "sscan",
            ScanCmd::Coll { of: Of::ZSet, .. } => "zscan",
        }
    }

    pub fn single_key(&self) -> Option<&[u8]> {
        match self {
            ScanCmd::Keys { .. } => None,
            ScanCmd::Coll { key, .. } => Some(key),
        }
    }

    /// The shard a SCAN cursor points into.
    pub fn shard(&self) -> Option<usize> {
        match self {
            ScanCmd::Keys { cursor, .. } => Some(decode(*cursor).0),
            ScanCmd::Coll { .. } => None,
        }
    }
}

/// Fold one shard's SCAN reply into `acc`. When that shard was finished
/// with fewer than COUNT keys found and another shard follows, `cmd` is
/// pointed at it and None returned: the caller runs it there too, so a
/// small database comes back whole in one call, as from Redis. Otherwise
/// returns the reply to send.
pub fn fold_step(cmd: &mut Cmd, reply: Reply, acc: &mut Vec<Reply>) -> Option<Reply> {
    let Cmd::Scan(scan) = cmd else {
        return Some(reply);
    };
    let ScanCmd::Keys { cursor, count, .. } = &mut **scan else {
        return Some(reply);
    };
    let Reply::Array(mut parts) = reply else {
        return Some(reply);
    };
    let (Some(Reply::Array(items)), Some(Reply::Bulk(next))) = (parts.pop(), parts.pop()) else {
        unreachable!("a SCAN reply is [cursor, items]")
    };
    acc.extend(items);
    let next_cursor = std::str::from_utf8(&next)
        .ok()
        .and_then(|t| t.parse::<u64>().ok());
    match next_cursor {
        Some(c) if c != 0 && decode(c).1 == 0 && acc.len() < *count => {
            *cursor = c;
            None
        }
        _ => Some(Reply::Array(vec![
            Reply::Bulk(next),
            Reply::Array(std::mem::take(acc)),
        ])),
    }
}

/// A SCAN cursor as (shard, position); 0 is the start of shard 0.
fn decode(cursor: u64) -> (usize, u64) {
    match cursor.checked_sub(1) {
        None => (0, 0),
        Some(c) => ((c >> 56) as usize, (c & ((1 << 56) - 1)) * SCAN_ALIGN),
    }
}

fn encode(shard: usize, pos: u64) -> u64 {
    1 + (((shard as u64) << 56) | (pos / SCAN_ALIGN))
}

/// Redis's cursor rule (strtoul): decimal digits, an optional sign (a minus
/// wraps around), nothing else; the empty string is 0.
fn parse_cursor(s: &[u8]) -> Option<u64> {
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() && !s.is_empty() {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

/// A scan's MATCH pattern (None: everything), COUNT and TYPE.
type Options = (Option<Vec<u8>>, usize, Option<Vec<u8>>);

/// MATCH / COUNT / TYPE from argv[from..]; TYPE only for SCAN.
fn options(a: &mut [Vec<u8>], from: usize, allow_type: bool) -> Result<Options, Status> {
    let (mut pattern, mut count, mut kind) = (None, 10usize, None);
    let mut i = from;
    while i < a.len() {
        let more = i + 1 < a.len();
        if is(&a[i], "COUNT") && more {
            count = match parse_i64(&a[i + 1])? {
                n if n < 1 => return Err(Status::Syntax),
                n => n as usize,
            };
        } else if is(&a[i], "MATCH") && more {
            let p = take(&mut a[i + 1]);
            pattern = (p != b"*").then_some(p);
        } else if is(&a[i], "TYPE") && allow_type && more {
            kind = Some(take(&mut a[i + 1]));
        } else {
            return Err(Status::Syntax);
        }
        i += 2;
    }
    Ok((pattern, count, kind))
}

fn invalid_cursor() -> Reply {
    Reply::err("ERR invalid cursor")
}

pub fn parse_scan(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    let cursor = parse_cursor(&a[1]).ok_or_else(invalid_cursor)?;
    let (pattern, count, kind) = options(a, 2, true).map_err(|s| fail(s, "scan"))?;
    Ok(Cmd::Scan(Box::new(ScanCmd::Keys {
        cursor,
        pattern,
        count,
        kind,
    })))
}

fn coll(a: &mut [Vec<u8>], of: Of) -> Result<Cmd, Reply> {
    let cursor = parse_cursor(&a[2]).ok_or_else(invalid_cursor)?;
    let (pattern, count, error) = match options(a, 3, false) {
        Ok((p, c, _)) => (p, c, None),
        Err(s) => (None, 10, Some(s)),
    };
    Ok(Cmd::Scan(Box::new(ScanCmd::Coll {
        key: take(&mut a[1]),
        of,
        cursor,
        pattern,
        count,
        error,
    })))
}

pub fn parse_hscan(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    coll(a, Of::Hash)
}
pub fn parse_sscan(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    coll(a, Of::Set)
}
pub fn parse_zscan(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    coll(a, Of::ZSet)
}

fn reply(cursor: u64, items: Vec<Reply>) -> Reply {
    let mut buf = itoa::Buffer::new();
    Reply::Array(vec![
        bulk(buf.format(cursor).as_bytes()),
        Reply::Array(items),
    ])
}

fn matches(pattern: &Option<Vec<u8>>, s: &[u8]) -> bool {
    pattern.as_ref().is_none_or(|p| glob::matches(p, s, false))
}

/// SCAN on this shard's database `db`.
pub fn scan_keys(cmd: &ScanCmd, db: &Db, shard: usize, shards: usize, now: u64) -> Reply {
    let ScanCmd::Keys {
        cursor,
        pattern,
        count,
        kind,
    } = cmd
    else {
        unreachable!("keyspace scan")
    };
    let (target, pos) = decode(*cursor);
    if target != shard {
        // A cursor past the last shard (or from another configuration).
        return reply(0, vec![]);
    }
    let mut items = Vec::new();
    let next = db.scan(pos, *count, |k, e| {
        if !e.is_expired(now)
            && matches(pattern, k)
            && kind
                .as_ref()
                .is_none_or(|t| t.eq_ignore_ascii_case(e.value.type_name().as_bytes()))
        {
            items.push(bulk(k));
        }
    });
    let cursor = match next {
        Some(p) => encode(shard, p),
        None if shard + 1 < shards => encode(shard + 1, 0),
        None => 0,
    };
    reply(cursor, items)
}

/// Walk positions `pos-1, pos-2, ...` of an insertion-ordered collection
/// of `len` elements (cursor 0: from the top); returns the next cursor.
fn walk_down(len: usize, cursor: u64, count: usize, mut f: impl FnMut(usize)) -> u64 {
    let top = if cursor == 0 {
        len
    } else {
        (cursor as usize).min(len)
    };
    let bottom = top.saturating_sub(count);
    (bottom..top).rev().for_each(&mut f);
    bottom as u64
}

/// HSCAN, SSCAN or ZSCAN on `db`.
pub fn scan_coll(cmd: &ScanCmd, db: &Db, now: u64) -> Result<Reply, Status> {
    let ScanCmd::Coll {
        key,
        of,
        cursor,
        pattern,
        count,
        error,
    } = cmd
    else {
        unreachable!("collection scan")
    };
    let value = db.get(key, now).map(|e| &e.value);
    let mut items = Vec::new();
    let mut next = 0;
    match (of, value) {
        (_, None) => {}
        (Of::Hash, Some(Value::Hash(h))) => {
            error.map_or(Ok(()), Err)?;
            let mut put = |f: &[u8], v: &[u8]| {
                if matches(pattern, f) {
                    items.push(bulk(f));
                    items.push(bulk(v));
                }
            };
            if h.big {
                next = walk_down(h.map.len(), *cursor, *count, |i| {
                    let (f, v) = h.map.get_index(i).expect("in range");
                    put(f, v)
                });
            } else {
                h.map.iter().for_each(|(f, v)| put(f, v));
            }
        }
        (Of::Set, Some(Value::Set(s))) => {
            error.map_or(Ok(()), Err)?;
            next = scan_set(s, pattern, *cursor, *count, &mut items);
        }
        (Of::ZSet, Some(Value::ZSet(z))) => {
            error.map_or(Ok(()), Err)?;
            next = scan_zset(z, pattern, *cursor, *count, &mut items);
        }
        (_, Some(_)) => return Err(Status::WrongType),
    }
    Ok(reply(next, items))
}

fn scan_set(
    s: &SetVal,
    pattern: &Option<Vec<u8>>,
    cursor: u64,
    count: usize,
    out: &mut Vec<Reply>,
) -> u64 {
    let mut put = |m: &[u8]| {
        if matches(pattern, m) {
            out.push(bulk(m));
        }
    };
    if s.intset {
        s.iter().for_each(|m| put(m));
        return 0;
    }
    walk_down(s.len(), cursor, count, |i| {
        put(s.get_index(i).expect("in range"))
    })
}

fn scan_zset(
    z: &ZSetVal,
    pattern: &Option<Vec<u8>>,
    cursor: u64,
    count: usize,
    out: &mut Vec<Reply>,
) -> u64 {
    let mut put = |m: &[u8], score: f64| {
        if matches(pattern, m) {
            out.push(bulk(m));
            let mut text = Vec::new();
            format_double_g17(score, &mut text);
            out.push(Reply::bulk(text));
        }
    };
    if !z.big {
        z.order.iter().for_each(|(s, m)| put(m, *s));
        return 0;
    }
    walk_down(z.len(), cursor, count, |i| {
        let (m, s) = z.dict.get_index(i).expect("in range");
        put(m, *s)
    })
}

#[cfg(test)]
#[path = "scan_tests.rs"]
mod tests;
