//! Tests of the module beside this file.
use super::*;
use crate::cmd::testutil::{b, err, Fixture};

/// Run a SCAN-family command to completion, with `between` run after every
/// step; returns every element seen (fields/members only, scores dropped).
fn full_scan(
    f: &mut Fixture,
    first: &str,
    rest: &str,
    mut between: impl FnMut(&mut Fixture, usize),
) -> Vec<Vec<u8>> {
    let mut cursor = "0".to_string();
    let mut seen = Vec::new();
    for step in 0..100_000 {
        let line = format!("{first} {cursor} {rest}");
        let Reply::Array(parts) = f.r(line.trim()) else {
            panic!("not an array")
        };
        let (Reply::Bulk(c), Reply::Array(items)) = (&parts[0], &parts[1]) else {
            panic!("bad shape")
        };
        let stride = if first.starts_with("HSCAN") || first.starts_with("ZSCAN") {
            2
        } else {
            1
        };
        for it in items.iter().step_by(stride) {
            let Reply::Bulk(x) = it else { panic!() };
            seen.push(x.to_vec());
        }
        cursor = String::from_utf8(c.to_vec()).unwrap();
        if cursor == "0" {
            return seen;
        }
        between(f, step);
    }
    panic!("scan did not finish")
}

fn has_all(seen: &[Vec<u8>], prefix: &str, n: usize) {
    let set: std::collections::HashSet<&[u8]> = seen.iter().map(|v| &v[..]).collect();
    for i in 0..n {
        let k = format!("{prefix}{i}");
        assert!(set.contains(k.as_bytes()), "{k} missed");
    }
}

#[test]
fn cursor_rules() {
    assert_eq!(parse_cursor(b"0"), Some(0));
    assert_eq!(parse_cursor(b""), Some(0));
    assert_eq!(parse_cursor(b"+7"), Some(7));
    assert_eq!(parse_cursor(b"-1"), Some(u64::MAX));
    assert_eq!(parse_cursor(b"18446744073709551615"), Some(u64::MAX));
    for bad in [
        &b"18446744073709551616"[..],
        b"x",
        b" 1",
        b"1 ",
        b"-",
        b"1.0",
    ] {
        assert_eq!(parse_cursor(bad), None, "{bad:?}");
    }
    for (shard, pos) in [(0, 0), (0, 256), (3, 1 << 40), (127, u64::MAX - 255)] {
        assert_eq!(decode(encode(shard, pos)), (shard, pos));
    }
}

#[test]
fn scan_keeps_its_guarantee_while_the_keyspace_grows_and_shrinks() {
    let mut f = Fixture::new();
    for i in 0..3000 {
        f.w(&format!("SET stay{i} v"));
    }
    let seen = full_scan(&mut f, "SCAN", "COUNT 25", |f, step| {
        for j in 0..30 {
            f.w(&format!("SET tmp{step}-{j} v"));
        }
        f.w(&format!("DEL tmp{}-3", step / 2));
    });
    has_all(&seen, "stay", 3000);
    assert!(!seen.iter().any(|k| k.starts_with(b"gone")));
}

#[test]
fn scan_filters_match_type_and_expired() {
    let mut f = Fixture::new();
    f.w("SET a1 v");
    f.w("SET a2 v");
    f.w("HSET a3 f v");
    f.w("SET b1 v");
    f.w("SET gone v PX 5");
    f.now += 10;
    let mut all = full_scan(&mut f, "SCAN", "", |_, _| {});
    all.sort();
    assert_eq!(
        all,
        vec![
            b"a1".to_vec(),
            b"a2".to_vec(),
            b"a3".to_vec(),
            b"b1".to_vec()
        ]
    );
    let mut a = full_scan(&mut f, "SCAN", "MATCH a* TYPE string", |_, _| {});
    a.sort();
    assert_eq!(a, vec![b"a1".to_vec(), b"a2".to_vec()]);
    assert_eq!(
        full_scan(&mut f, "SCAN", "TYPE nosuch", |_, _| {}),
        Vec::<Vec<u8>>::new()
    );
    assert_eq!(f.r("SCAN 0 COUNT 0"), err("ERR syntax error"));
    assert_eq!(
        f.r("SCAN 0 COUNT x"),
        err("ERR value is not an integer or out of range")
    );
    assert_eq!(f.r("SCAN x"), err("ERR invalid cursor"));
    assert_eq!(f.r("SCAN 0 MATCH"), err("ERR syntax error"));
}

#[test]
fn hscan_of_a_big_hash_survives_deletes() {
    let mut f = Fixture::new();
    for i in 0..1000 {
        f.w(&format!("HSET h stay{i} v"));
    }
    for i in 0..500 {
        f.w(&format!("HSET h tmp{i} v"));
    }
    let seen = full_scan(&mut f, "HSCAN h", "COUNT 7", |f, step| {
        f.w(&format!("HDEL h tmp{step}"));
        f.w(&format!("HSET h new{step} v"));
    });
    has_all(&seen, "stay", 1000);
}

#[test]
fn small_collections_come_whole() {
    let mut f = Fixture::new();
    f.w("SADD s 3 1 2");
    assert_eq!(
        f.r("SSCAN s 0 COUNT 1"),
        Reply::Array(vec![b("0"), Reply::Array(vec![b("1"), b("2"), b("3")])])
    );
    f.w("ZADD z 2 b 1.5 a");
    assert_eq!(
        f.r("ZSCAN z 0"),
        Reply::Array(vec![
            b("0"),
            Reply::Array(vec![b("a"), b("1.5"), b("b"), b("2")])
        ])
    );
    f.w("HSET h f v g w");
    assert_eq!(
        f.r("HSCAN h 0 MATCH g*"),
        Reply::Array(vec![b("0"), Reply::Array(vec![b("g"), b("w")])])
    );
    assert_eq!(
        f.r("HSCAN nokey 0 COUNT 0"),
        Reply::Array(vec![b("0"), Reply::Array(vec![])])
    );
    f.w("SET str v");
    assert_eq!(
        f.r("HSCAN str 0 COUNT 0"),
        err("WRONGTYPE Operation against a key holding the wrong kind of value")
    );
    assert_eq!(f.r("HSCAN h 0 COUNT 0"), err("ERR syntax error"));
    assert_eq!(f.r("SSCAN s 0 TYPE set"), err("ERR syntax error"));
    assert_eq!(f.r("ZSCAN z x"), err("ERR invalid cursor"));
}

#[test]
fn sscan_and_zscan_of_big_ones() {
    let mut f = Fixture::new();
    for i in 0..600 {
        f.w(&format!("SADD s m{i}"));
        f.w(&format!("ZADD z {i} m{i}"));
    }
    let s = full_scan(&mut f, "SSCAN s", "COUNT 10", |f, _| {
        f.w("SPOP s 1");
    });
    // SPOP removes members during the scan: only their absence is allowed.
    assert!(s.len() >= 300, "{}", s.len());
    let z = full_scan(&mut f, "ZSCAN z", "COUNT 10", |f, step| {
        f.w(&format!("ZREM z m{}", 599 - step));
    });
    has_all(&z, "m", 300);
}
