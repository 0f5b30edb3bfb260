//! A one-node cluster keeps every acknowledged write across `kill -9`:
//! the log is fdatasynced before a write is acknowledged and replayed on
//! start, whatever the thread count; TTL deadlines hold across the restart
//! (logical time never goes back); ROLE and INFO report the node's place.

mod common;

use std::time::Duration;

use common::{encode, Server};

fn int(reply: &str) -> i64 {
    reply[1..]
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("not an integer: {reply:?}"))
}

#[test]
fn acknowledged_writes_survive_kill9_and_replay_on_any_thread_count() {
    let mut s = Server::start(&["--threads", "2"]);
    let mut c = s.client();
    // A pipeline of 2000 writes, all acknowledged before the kill.
    let mut batch = Vec::new();
    for i in 0..1000 {
        batch.extend(encode(&[b"INCR", b"counter"]));
        batch.extend(encode(&[
            b"SET",
            format!("k{i}").as_bytes(),
            format!("v{i}").as_bytes(),
        ]));
    }
    c.send_raw(&batch);
    for i in 0..1000 {
        assert_eq!(int(&c.read_reply()), i + 1);
        assert_eq!(c.read_reply(), "+OK\r\n");
    }
    assert_eq!(c.cmd("MSET a 1 b 2 c 3 d 4"), "+OK\r\n");
    assert_eq!(c.cmd("RPUSH list x y z"), ":3\r\n");
    assert_eq!(c.cmd("SADD set m1 m2"), ":2\r\n");
    assert_eq!(c.cmd("ZADD z 1 one 2 two"), ":2\r\n");
    assert_eq!(c.cmd("HSET h f v"), ":1\r\n");
    assert_eq!(c.cmd("SET long v PX 60000"), "+OK\r\n");
    assert_eq!(c.cmd("SET short v PX 300"), "+OK\r\n");
    assert_eq!(c.cmd("DEL k7"), ":1\r\n");
    assert_eq!(c.cmd("RENAME k8 renamed"), "+OK\r\n");
    assert_eq!(
        c.cmd("EXEC"),
        "-ERR EXEC without MULTI\r\n",
        "errors change nothing"
    );
    assert_eq!(c.cmd("MULTI"), "+OK\r\n");
    assert_eq!(c.cmd("INCRBY counter 10"), "+QUEUED\r\n");
    assert_eq!(c.cmd("LPUSH list w"), "+QUEUED\r\n");
    assert_eq!(c.cmd("EXEC"), "*2\r\n:1010\r\n:4\r\n");
    let dbsize = int(&c.cmd("DBSIZE"));
    drop(c);

    s.kill9_and_restart();
    // Long enough for "short" to pass its deadline in wall time too.
    std::thread::sleep(Duration::from_millis(400));
    let mut c = s.client();
    assert_eq!(c.cmd("GET counter"), "$4\r\n1010\r\n");
    assert_eq!(c.cmd("GET k999"), "$4\r\nv999\r\n");
    assert_eq!(c.cmd("EXISTS k7 k8"), ":0\r\n");
    assert_eq!(c.cmd("GET renamed"), "$2\r\nv8\r\n");
    assert_eq!(
        c.cmd("MGET a b c d"),
        "*4\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n"
    );
    assert_eq!(
        c.cmd("LRANGE list 0 -1"),
        "*4\r\n$1\r\nw\r\n$1\r\nx\r\n$1\r\ny\r\n$1\r\nz\r\n"
    );
    assert_eq!(c.cmd("SCARD set"), ":2\r\n");
    assert_eq!(c.cmd("ZSCORE z two"), "$1\r\n2\r\n");
    assert_eq!(c.cmd("HGET h f"), "$1\r\nv\r\n");
    let pttl = int(&c.cmd("PTTL long"));
    assert!((50_000..=60_000).contains(&pttl), "deadline kept: {pttl}");
    assert_eq!(c.cmd("GET short"), "$-1\r\n", "expired across the restart");
    assert_eq!(int(&c.cmd("DBSIZE")), dbsize - 1);
    drop(c);

    // Another thread count routes keys differently; the log is the same.
    s.kill9_and_restart_with(&["--threads", "1"]);
    let mut c = s.client();
    assert_eq!(c.cmd("GET counter"), "$4\r\n1010\r\n");
    assert_eq!(c.cmd("GET k500"), "$4\r\nv500\r\n");
    assert_eq!(int(&c.cmd("DBSIZE")), dbsize - 1);
    assert_eq!(c.cmd("INCR counter"), ":1011\r\n");
}

#[test]
fn role_and_info_describe_a_one_node_leader() {
    let s = Server::start(&[]);
    let mut c = s.client();
    assert_eq!(c.cmd("SET k v"), "+OK\r\n");
    let role = c.cmd("ROLE");
    assert!(role.starts_with("*3\r\n$6\r\nmaster\r\n:"), "{role}");
    assert!(role.ends_with("*0\r\n"), "{role}");
    let info = c.cmd("INFO replication");
    assert!(info.contains("role:master\r\n"), "{info}");
    assert!(info.contains("connected_slaves:0\r\n"), "{info}");
    let raft = c.cmd("INFO raft");
    for field in [
        "raft_node_id:1\r\n",
        "raft_role:leader\r\n",
        "raft_leader_id:1\r\n",
        &format!("raft_leader_addr:127.0.0.1:{}\r\n", s.port),
    ] {
        assert!(raft.contains(field), "{field} in {raft}");
    }
    let applied: u64 = raft
        .lines()
        .find_map(|l| l.strip_prefix("raft_applied_index:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(applied >= 2, "initial membership, Tick, SET: {applied}");
    assert_eq!(
        c.cmd("CONFIG GET appendfsync"),
        "*2\r\n$11\r\nappendfsync\r\n$6\r\nalways\r\n"
    );
}

/// The power-loss hook (`--features faults`): the node records how much of
/// its log segment is known durable; cutting the segment there (what a
/// power loss may leave) keeps every acknowledged write.
#[cfg(feature = "faults")]
#[test]
fn cutting_the_log_at_the_last_fdatasync_keeps_acknowledged_writes() {
    let sync_file = std::env::temp_dir().join(format!("cachecat-sync-{}", std::process::id()));
    let _ = std::fs::remove_file(&sync_file);
    let flag = sync_file.display().to_string();
    let mut s = Server::start(&["--faults-sync-file", &flag]);
    let mut c = s.client();
    for i in 0..50 {
        assert_eq!(c.cmd(&format!("SET k{i} v{i}")), "+OK\r\n");
    }
    drop(c);
    s.kill9();
    let text = std::fs::read_to_string(&sync_file).unwrap();
    let (seg, offset) = text.trim().rsplit_once(' ').unwrap();
    let offset: u64 = offset.parse().unwrap();
    let f = std::fs::OpenOptions::new().write(true).open(seg).unwrap();
    assert!(f.metadata().unwrap().len() >= offset);
    f.set_len(offset).unwrap();
    drop(f);
    s.restart();
    let mut c = s.client();
    assert_eq!(c.cmd("GET k49"), "$3\r\nv49\r\n");
    assert_eq!(c.cmd("DBSIZE"), ":50\r\n");
    std::fs::remove_file(&sync_file).unwrap();
}

/// With `appendfsync no` the log is written through the page cache: a
/// killed process loses nothing it acknowledged (only a power loss could).
#[test]
fn without_fsync_a_kill9_loses_nothing_either() {
    for mode in ["no", "everysec"] {
        let mut s = Server::start(&["--appendfsync", mode, "--threads", "2"]);
        let mut c = s.client();
        let mut batch = Vec::new();
        for i in 0..500 {
            batch.extend(encode(&[b"SET", format!("k{i}").as_bytes(), b"v"]));
        }
        c.send_raw(&batch);
        for _ in 0..500 {
            assert_eq!(c.read_reply(), "+OK\r\n");
        }
        assert_eq!(c.cmd("INCRBY n 7"), ":7\r\n");
        drop(c);
        s.kill9_and_restart();
        let mut c = s.client();
        assert_eq!(c.cmd("DBSIZE"), ":501\r\n", "{mode}");
        assert_eq!(c.cmd("INCR n"), ":8\r\n");
    }
}
