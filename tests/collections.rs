//! Lists, sets, sorted sets and SCAN on a running node with two shards:
//! commands whose keys live on different cores, and scans that must visit
//! every shard.

mod common;

use std::collections::HashSet;

use common::Server;

type Con = redis::Connection;

fn connect(s: &Server) -> Con {
    redis::Client::open(s.url())
        .unwrap()
        .get_connection()
        .unwrap()
}

/// Two keys with the given prefixes that live on different shards.
fn split_pair(c: &mut common::Client, a: &str, b: &str) -> (String, String) {
    let x = format!("{a}0");
    let shard_x = c.cmd(&format!("DEBUG KEYSHARD {x}"));
    for i in 0..100 {
        let y = format!("{b}{i}");
        if c.cmd(&format!("DEBUG KEYSHARD {y}")) != shard_x {
            return (x, y);
        }
    }
    panic!("no key on the other shard")
}

#[test]
fn moves_and_stores_across_shards() {
    let s = Server::start(&["--threads", "2"]);
    let mut raw = s.client();
    let mut con = connect(&s);
    let (src, dst) = split_pair(&mut raw, "src", "dst");

    let _: () = redis::cmd("RPUSH")
        .arg(&src)
        .arg(&["a", "b", "c"])
        .query(&mut con)
        .unwrap();
    let moved: String = redis::cmd("LMOVE")
        .arg(&src)
        .arg(&dst)
        .arg("LEFT")
        .arg("RIGHT")
        .query(&mut con)
        .unwrap();
    assert_eq!(moved, "a");
    let popped: (String, Vec<String>) = redis::cmd("LMPOP")
        .arg(2)
        .arg(&dst)
        .arg(&src)
        .arg("LEFT")
        .arg("COUNT")
        .arg(5)
        .query(&mut con)
        .unwrap();
    assert_eq!(popped, (dst.clone(), vec!["a".to_string()]));

    let (sa, sb) = split_pair(&mut raw, "sa", "sb");
    let _: () = redis::cmd("SADD")
        .arg(&sa)
        .arg(&["1", "2", "3"])
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("SADD")
        .arg(&sb)
        .arg(&["2", "3", "4"])
        .query(&mut con)
        .unwrap();
    let mut inter: Vec<String> = redis::cmd("SINTER")
        .arg(&sa)
        .arg(&sb)
        .query(&mut con)
        .unwrap();
    inter.sort();
    assert_eq!(inter, ["2", "3"]);
    let n: i64 = redis::cmd("SUNIONSTORE")
        .arg(&dst)
        .arg(&sa)
        .arg(&sb)
        .query(&mut con)
        .unwrap();
    assert_eq!(n, 4);
    let m: i64 = redis::cmd("SMOVE")
        .arg(&sa)
        .arg(&sb)
        .arg("1")
        .query(&mut con)
        .unwrap();
    assert_eq!(m, 1);
    let card: i64 = redis::cmd("SCARD").arg(&sb).query(&mut con).unwrap();
    assert_eq!(card, 4);

    let (za, zb) = split_pair(&mut raw, "za", "zb");
    let _: () = redis::cmd("ZADD")
        .arg(&za)
        .arg(&[("1", "x"), ("2", "y")])
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("ZADD")
        .arg(&zb)
        .arg(&[("10", "y"), ("20", "z")])
        .query(&mut con)
        .unwrap();
    let n: i64 = redis::cmd("ZUNIONSTORE")
        .arg(&src)
        .arg(2)
        .arg(&za)
        .arg(&zb)
        .query(&mut con)
        .unwrap();
    assert_eq!(n, 3);
    let top: Vec<(String, f64)> = redis::cmd("ZRANGE")
        .arg(&src)
        .arg(0)
        .arg(-1)
        .arg("WITHSCORES")
        .query(&mut con)
        .unwrap();
    assert_eq!(
        top,
        [("x".into(), 1.0), ("y".into(), 12.0), ("z".into(), 20.0)]
    );
    let stored: i64 = redis::cmd("ZRANGESTORE")
        .arg(&zb)
        .arg(&src)
        .arg(0)
        .arg(1)
        .query(&mut con)
        .unwrap();
    assert_eq!(stored, 2);
}

#[test]
fn scan_visits_every_shard_while_keys_change() {
    let s = Server::start(&["--threads", "2"]);
    let mut con = connect(&s);
    let mut pipe = redis::pipe();
    for i in 0..2000 {
        pipe.cmd("SET").arg(format!("stay:{i}")).arg(i).ignore();
    }
    let _: () = pipe.query(&mut con).unwrap();
    let mut seen = HashSet::new();
    let mut cursor: u64 = 0;
    let mut steps = 0;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("COUNT")
            .arg(50)
            .query(&mut con)
            .unwrap();
        seen.extend(keys);
        // Churn between steps: new keys (splitting segments) and deletions.
        let mut pipe = redis::pipe();
        for j in 0..40 {
            pipe.cmd("SET")
                .arg(format!("tmp:{steps}:{j}"))
                .arg(1)
                .ignore();
        }
        pipe.cmd("DEL").arg(format!("tmp:{}:0", steps / 2)).ignore();
        let _: () = pipe.query(&mut con).unwrap();
        steps += 1;
        assert!(steps < 10_000, "scan did not finish");
        if next == 0 {
            break;
        }
        cursor = next;
    }
    for i in 0..2000 {
        assert!(seen.contains(&format!("stay:{i}")), "stay:{i} missed");
    }
    let typed: (u64, Vec<String>) = redis::cmd("SCAN")
        .arg(0)
        .arg("TYPE")
        .arg("hash")
        .query(&mut con)
        .unwrap();
    assert!(typed.1.is_empty());
    let err = redis::cmd("SCAN")
        .arg("nope")
        .query::<()>(&mut con)
        .unwrap_err();
    assert!(err.to_string().contains("invalid cursor"), "{err}");
}

/// SCAN pipelined behind other commands, and inside MULTI/EXEC, still
/// walks every shard.
#[test]
fn scan_pipelined_and_in_transactions_sees_every_shard() {
    let s = Server::start(&["--threads", "2"]);
    let mut raw = s.client();
    let mut con = connect(&s);
    for i in 0..50 {
        let _: () = redis::cmd("SET")
            .arg(format!("k{i}"))
            .arg(i)
            .query(&mut con)
            .unwrap();
    }
    // Pipelined: each SCAN step goes out with a PING behind it.
    let mut seen = HashSet::new();
    let mut cursor: u64 = 0;
    loop {
        let (scan, _pong): ((u64, Vec<String>), String) = redis::pipe()
            .cmd("SCAN")
            .arg(cursor)
            .arg("COUNT")
            .arg(5)
            .cmd("PING")
            .query(&mut con)
            .unwrap();
        seen.extend(scan.1);
        if scan.0 == 0 {
            break;
        }
        cursor = scan.0;
    }
    assert_eq!(seen.len(), 50, "pipelined SCAN saw {} keys", seen.len());
    // In a transaction the scan covers the whole database at once.
    assert_eq!(raw.cmd("MULTI"), "+OK\r\n");
    assert_eq!(raw.cmd("SET k0 again"), "+QUEUED\r\n");
    assert_eq!(raw.cmd("SCAN 0 COUNT 1000"), "+QUEUED\r\n");
    let exec = raw.cmd("EXEC");
    let found = (0..50)
        .filter(|i| exec.contains(&format!("\r\nk{i}\r\n")))
        .count();
    assert_eq!(found, 50, "{exec}");
}
