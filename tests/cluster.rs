//! Three-node clusters on loopback, real processes: election, replication,
//! what followers refuse and what they still serve, leader kill and
//! re-election, restart of one node and of all, and a paused leader that
//! loses its place.

mod common;

use std::time::{Duration, Instant};

use common::{encode, Client, Cluster};

const READONLY: &str = "-READONLY You can't write against a read only replica.\r\n";

/// One cluster at a time: on a 2-core machine several clusters side by side
/// starve each other's heartbeats into elections these tests do not expect.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn int(reply: &str) -> i64 {
    reply[1..]
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("not an integer: {reply:?}"))
}

fn others(n: usize, but: usize) -> Vec<usize> {
    (0..n).filter(|&i| i != but).collect()
}

/// INCR `key` `n` times in one pipeline; every reply must be the next count.
fn incr_pipeline(c: &mut Client, key: &str, n: i64, from: i64) {
    let mut batch = Vec::new();
    for _ in 0..n {
        batch.extend(encode(&[b"INCR", key.as_bytes()]));
    }
    c.send_raw(&batch);
    for i in 0..n {
        assert_eq!(int(&c.read_reply()), from + i + 1);
    }
}

#[test]
fn three_nodes_elect_replicate_refuse_on_followers_and_fail_over() {
    let _serial = serial();
    let mut cl = Cluster::start(3, &[]);
    let l = cl.leader(15);
    let mut c = cl.nodes[l].client();
    assert_eq!(c.cmd("SET k v"), "+OK\r\n");
    incr_pipeline(&mut c, "n", 200, 0);
    assert_eq!(c.cmd("MSET a 1 b 2 c 3"), "+OK\r\n");
    assert_eq!(c.cmd("SET t v PX 60000"), "+OK\r\n");

    // Followers: keyspace commands, reads included, are refused; the rest
    // works, and ROLE names the leader.
    let leader_port = cl.nodes[l].port;
    for f in others(3, l) {
        let mut c = cl.nodes[f].client();
        assert_eq!(c.cmd("GET k"), READONLY);
        assert_eq!(c.cmd("SET k w"), READONLY);
        assert_eq!(c.cmd("DBSIZE"), READONLY);
        assert_eq!(c.cmd("MULTI"), "+OK\r\n");
        assert_eq!(c.cmd("INCR n"), "+QUEUED\r\n");
        assert_eq!(c.cmd("EXEC"), READONLY);
        assert_eq!(c.cmd("PING"), "+PONG\r\n");
        assert_eq!(c.cmd("ECHO hi"), "$2\r\nhi\r\n");
        assert_eq!(c.cmd("SELECT 2"), "+OK\r\n");
        assert_eq!(c.cmd("CLIENT SETNAME x"), "+OK\r\n");
        assert!(c.cmd("HELLO 2").starts_with("*14\r\n"));
        assert!(c.cmd("COMMAND COUNT").starts_with(':'));
        assert!(c
            .cmd("CONFIG GET port")
            .contains(&cl.nodes[f].port.to_string()));
        assert!(c.cmd("INFO server").contains("redis_version"));
        let role = c.cmd("ROLE");
        assert!(
            role.starts_with(&format!(
                "*5\r\n$5\r\nslave\r\n$9\r\n127.0.0.1\r\n:{leader_port}\r\n$9\r\nconnected\r\n:"
            )),
            "{role}"
        );
        let info = c.cmd("INFO replication");
        assert!(info.contains("role:slave\r\n"), "{info}");
        assert!(
            info.contains(&format!("master_port:{leader_port}\r\n")),
            "{info}"
        );
        assert_eq!(
            c.cmd("SUBSCRIBE ch"),
            "*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n"
        );
    }
    cl.converge(&[0, 1, 2], 10);

    // Kill the leader: another takes over with every acknowledged write.
    cl.nodes[l].kill9();
    let rest = others(3, l);
    let l2 = cl.leader_among(&rest, 15);
    let mut c = cl.nodes[l2].client();
    assert_eq!(c.cmd("GET k"), "$1\r\nv\r\n");
    assert_eq!(c.cmd("GET n"), "$3\r\n200\r\n");
    assert_eq!(
        c.cmd("MGET a b c"),
        "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n"
    );
    let pttl = int(&c.cmd("PTTL t"));
    assert!((40_000..=60_000).contains(&pttl), "deadline kept: {pttl}");
    incr_pipeline(&mut c, "n", 50, 200);

    // The old leader comes back as a follower and catches up.
    cl.nodes[l].restart();
    cl.converge(&[0, 1, 2], 15);
    assert_eq!(cl.nodes[l].client().cmd("GET n"), READONLY);
    assert_eq!(cl.raft_field(l, "raft_role"), "follower");

    // Kill every node and start them all again: nothing acknowledged lost.
    for n in cl.nodes.iter_mut() {
        n.kill9();
    }
    for n in cl.nodes.iter_mut() {
        n.restart();
    }
    let l3 = cl.leader(20);
    let mut c = cl.nodes[l3].client();
    assert_eq!(c.cmd("GET n"), "$3\r\n250\r\n");
    assert_eq!(c.cmd("GET k"), "$1\r\nv\r\n");
    assert_eq!(c.cmd("INCR n"), ":251\r\n");
    cl.converge(&[0, 1, 2], 15);
}

#[test]
fn a_paused_leader_is_replaced_serves_nothing_after_and_drops_its_clients() {
    let _serial = serial();
    let cl = Cluster::start(3, &[]);
    let l = cl.leader(15);
    let mut old = cl.nodes[l].client();
    assert_eq!(old.cmd("SET k before"), "+OK\r\n");
    cl.nodes[l].signal("STOP");
    let rest = others(3, l);
    let l2 = cl.leader_among(&rest, 15);
    let mut c = cl.nodes[l2].client();
    assert_eq!(c.cmd("GET k"), "$6\r\nbefore\r\n");
    assert_eq!(c.cmd("SET k after"), "+OK\r\n");
    // A read sent to the paused leader is answered only once it runs
    // again, and never with the value it held before being deposed.
    old.send_raw(&encode(&[b"GET", b"k"]));
    cl.nodes[l].signal("CONT");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut r = std::io::Read::by_ref(&mut old.r);
    let mut got = Vec::new();
    let _ = old.w.set_read_timeout(Some(Duration::from_secs(10)));
    let mut buf = [0u8; 256];
    while Instant::now() < deadline {
        match std::io::Read::read(&mut r, &mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    let got = String::from_utf8_lossy(&got);
    assert!(
        !got.contains("before"),
        "a deposed leader served a stale read: {got:?}"
    );
    // Its normal clients are disconnected so they look for the leader.
    assert!(
        got.is_empty()
            || got.starts_with("-READONLY")
            || got.starts_with("-MASTERDOWN")
            || got == "$5\r\nafter\r\n",
        "{got:?}"
    );
    let mut again = cl.nodes[l].client();
    assert_eq!(again.cmd("GET k"), READONLY);
    cl.converge(&[0, 1, 2], 15);
}

/// What a client that retries INCR across failovers saw.
#[derive(Default, Debug)]
struct Tally {
    acked: i64,
    /// Replies that leave the outcome open (connection lost while waiting,
    /// "outcome unknown").
    unknown: i64,
    last: i64,
}

/// INCR `key` through whichever node leads, until `stop`: refusals (a
/// follower, no leader) are retried elsewhere; anything else is counted.
fn incr_writer(
    ports: Vec<u16>,
    key: &'static str,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> Tally {
    use std::io::{BufRead, BufReader, Write};
    let mut t = Tally::default();
    let cmd = encode(&[b"INCR", key.as_bytes()]);
    let mut next = 0;
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        let port = ports[next % ports.len()];
        next += 1;
        let Ok(s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
            continue;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
        let mut w = s.try_clone().unwrap();
        let mut r = BufReader::new(s);
        loop {
            if stop.load(std::sync::atomic::Ordering::Relaxed) {
                break;
            }
            if w.write_all(&cmd).is_err() {
                break;
            }
            let mut line = String::new();
            match r.read_line(&mut line) {
                Ok(0) | Err(_) => {
                    t.unknown += 1;
                    break;
                }
                Ok(_) => {}
            }
            if let Some(n) = line.strip_prefix(':') {
                let n: i64 = n.trim().parse().unwrap();
                assert!(n > t.last, "counter went back: {n} after {}", t.last);
                t.last = n;
                t.acked += 1;
            } else if line.starts_with("-READONLY") || line.starts_with("-MASTERDOWN") {
                std::thread::sleep(Duration::from_millis(20));
                break;
            } else if line.contains("outcome unknown") {
                t.unknown += 1;
                break;
            } else {
                panic!("unexpected reply {line:?}");
            }
        }
    }
    t
}

#[test]
fn membership_changes_under_load_keep_every_acknowledged_write() {
    let _serial = serial();
    let mut cl = Cluster::start(3, &[]);
    let l = cl.leader(15);
    let (joiner, addr) = cl.start_joiner(4);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let ports: Vec<u16> = cl.nodes.iter().map(|n| n.port).collect();
    let writer = {
        let stop = stop.clone();
        std::thread::spawn(move || incr_writer(ports, "c", stop))
    };
    std::thread::sleep(Duration::from_millis(300));
    let mut admin = cl.nodes[l].client();
    assert_eq!(admin.cmd(&format!("RAFT ADD-LEARNER 4 {addr}")), "+OK\r\n");
    assert_eq!(admin.cmd("RAFT PROMOTE 4"), "+OK\r\n");
    let status = admin.cmd("RAFT STATUS");
    assert!(status.contains("$7\r\nmembers\r\n*4\r\n"), "{status}");
    // A follower leaves; then leadership moves to the new node.
    let gone = others(3, l)[0];
    assert_eq!(admin.cmd(&format!("RAFT REMOVE {}", gone + 1)), "+OK\r\n");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(admin.cmd("RAFT TRANSFER-LEADER 4"), "+OK\r\n");
    assert_eq!(cl.leader_among(&[joiner], 10), joiner);
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let t = writer.join().unwrap();
    assert!(t.acked > 20, "{t:?}");
    let mut c = cl.nodes[joiner].client();
    let final_count: i64 = c.cmd("GET c").lines().nth(1).unwrap().parse().unwrap();
    assert!(
        final_count >= t.acked && final_count <= t.acked + t.unknown,
        "count {final_count} for {t:?}"
    );
    // The removed node no longer takes part; the others agree.
    let rest: Vec<usize> = (0..4).filter(|&i| i != gone).collect();
    cl.converge(&rest, 15);
    // Errors keep Redis's shape and leave the cluster as it was.
    assert!(c
        .cmd("RAFT NOPE")
        .starts_with("-ERR unknown subcommand 'NOPE'"));
    assert!(c.cmd("RAFT PROMOTE x").starts_with("-ERR invalid node id"));
    assert!(c
        .cmd("RAFT ADD-LEARNER 9 nohost")
        .starts_with("-ERR invalid address"));
    assert!(c
        .cmd("RAFT TRANSFER-LEADER 77")
        .starts_with("-ERR node 77 is not a voter"));
    let follower = rest.iter().copied().find(|&i| i != joiner).unwrap();
    assert!(cl.nodes[follower]
        .client()
        .cmd("RAFT PROMOTE 4")
        .starts_with("-ERR this node is not the leader: send cluster changes to 127.0.0.1:"));
}

/// What a power failure may leave of a log that was never fdatasynced: the
/// segment cut in the middle of its records (torn there).
fn lose_unsynced_log(dir: &std::path::Path) {
    let seg = dir.join("raft/log/00000000000000000000.seg");
    let bytes = std::fs::read(&seg).unwrap();
    let used = bytes.iter().rposition(|&b| b != 0).unwrap() as u64 + 1;
    assert!(used > 8192, "the follower had written its records: {used}");
    let f = std::fs::OpenOptions::new().write(true).open(&seg).unwrap();
    f.set_len(4096 + (used - 4096) / 3).unwrap();
}

/// With `appendfsync no` a follower acknowledges entries it has only
/// written. After a power failure on both followers their logs end earlier
/// than what they acknowledged; the leader, which kept its log, refills
/// them instead of retrying them forever, writes go on, and every replica
/// ends with the same data.
#[test]
fn followers_that_lost_unsynced_log_entries_are_refilled_by_the_leader() {
    let _serial = serial();
    let mut cl = Cluster::start(3, &["--appendfsync", "no"]);
    let l = cl.leader(20);
    let mut c = cl.nodes[l].client();
    incr_pipeline(&mut c, "n", 400, 0);
    for i in 0..200 {
        assert_eq!(c.cmd(&format!("SET k{i} {i}")), "+OK\r\n");
    }
    cl.converge(&[0, 1, 2], 15);
    let followers = others(3, l);
    for &f in &followers {
        cl.nodes[f].kill9();
        lose_unsynced_log(&cl.nodes[f].dir);
    }
    for &f in &followers {
        cl.nodes[f].restart();
    }
    // The leader needs a follower back for each write.
    incr_pipeline(&mut c, "n", 100, 400);
    assert_eq!(cl.leader(5), l, "the leader kept its place");
    cl.converge(&[0, 1, 2], 20);
    let d = digests_agree(&cl, &[0, 1, 2]);
    assert!(!d.is_empty());
    // Either follower can take over with everything.
    cl.nodes[l].kill9();
    let l2 = cl.leader_among(&followers, 15);
    let mut c = cl.nodes[l2].client();
    assert_eq!(c.cmd("GET n"), "$3\r\n500\r\n");
    assert_eq!(c.cmd("DBSIZE"), ":201\r\n");
}

/// `RAFT DIGEST` of node `i`: (applied index, digest).
fn digest(cl: &Cluster, i: usize) -> (i64, String) {
    let r = cl.nodes[i].client().cmd("RAFT DIGEST");
    let lines: Vec<&str> = r.lines().collect();
    (int(lines[1]), lines[3].to_string())
}

/// Wait until every node in `among` reports the same digest.
fn digests_agree(cl: &Cluster, among: &[usize]) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let d: Vec<(i64, String)> = among.iter().map(|&i| digest(cl, i)).collect();
        if d.windows(2).all(|w| w[0].1 == w[1].1) {
            return d[0].1.clone();
        }
        assert!(Instant::now() < deadline, "digests differ: {d:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn snapshot_index(cl: &Cluster, i: usize) -> i64 {
    let s = cl.nodes[i].client().cmd("RAFT STATUS");
    let lines: Vec<&str> = s.lines().collect();
    let at = lines
        .iter()
        .position(|l| *l == "snapshot-index")
        .expect("snapshot-index");
    int(lines[at + 1])
}

#[test]
fn a_new_node_catches_up_from_a_snapshot_and_replicas_agree_on_the_digest() {
    let _serial = serial();
    let mut cl = Cluster::start(3, &["--raft-snapshot-entries", "20"]);
    let l = cl.leader(15);
    let mut c = cl.nodes[l].client();
    for i in 0..300 {
        assert_eq!(c.cmd(&format!("SET k{i} v{i}")), "+OK\r\n");
    }
    assert_eq!(c.cmd("RPUSH l a b c"), ":3\r\n");
    assert_eq!(c.cmd("SADD s x y z"), ":3\r\n");
    assert_eq!(c.cmd("SREM s y"), ":1\r\n");
    assert_eq!(c.cmd("ZADD z 3 c 1 a 2 b"), ":3\r\n");
    assert_eq!(c.cmd("HSET h f1 1 f2 2"), ":2\r\n");
    assert_eq!(c.cmd("SET t v PX 60000"), "+OK\r\n");
    assert_eq!(c.cmd("DEL k0"), ":1\r\n");
    let deadline = Instant::now() + Duration::from_secs(10);
    while snapshot_index(&cl, l) < 250 {
        assert!(Instant::now() < deadline, "no snapshot taken");
        std::thread::sleep(Duration::from_millis(50));
    }
    // The log before the snapshot is gone: the new node needs the snapshot.
    let (joiner, addr) = cl.start_joiner(4);
    assert_eq!(c.cmd(&format!("RAFT ADD-LEARNER 4 {addr}")), "+OK\r\n");
    assert!(
        snapshot_index(&cl, joiner) > 0,
        "caught up without a snapshot: {} / leader {}",
        cl.nodes[joiner].client().cmd("RAFT STATUS"),
        c.cmd("RAFT STATUS")
    );
    assert_eq!(c.cmd("RAFT PROMOTE 4"), "+OK\r\n");
    let all = [0, 1, 2, joiner];
    cl.converge(&all, 15);
    let d = digests_agree(&cl, &all);
    assert_eq!(c.cmd("RAFT TRANSFER-LEADER 4"), "+OK\r\n");
    assert_eq!(cl.leader_among(&[joiner], 10), joiner);
    let mut c4 = cl.nodes[joiner].client();
    assert_eq!(c4.cmd("GET k123"), "$4\r\nv123\r\n");
    assert_eq!(c4.cmd("EXISTS k0"), ":0\r\n");
    assert_eq!(
        c4.cmd("LRANGE l 0 -1"),
        "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n"
    );
    assert_eq!(c4.cmd("SMEMBERS s"), "*2\r\n$1\r\nx\r\n$1\r\nz\r\n");
    assert_eq!(
        c4.cmd("ZRANGE z 0 -1"),
        "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n"
    );
    assert_eq!(c4.cmd("DBSIZE"), ":304\r\n");
    let pttl = int(&c4.cmd("PTTL t"));
    assert!((30_000..=60_000).contains(&pttl), "{pttl}");
    // Restarted from its snapshot and log, it still agrees.
    cl.nodes[joiner].kill9();
    cl.nodes[joiner].restart();
    cl.converge(&all, 20);
    assert_eq!(digests_agree(&cl, &all), d);
}

/// A leader cut off from its peers (test-only `drop-peers` fault) stops
/// serving reads once its lease runs out, before the others can elect a
/// new leader, and takes no write; healed, it follows the new leader.
#[cfg(feature = "faults")]
#[test]
fn an_isolated_leader_stops_serving_reads_and_writes() {
    let _serial = serial();
    let cl = Cluster::start(3, &[]);
    let l = cl.leader(15);
    let rest = others(3, l);
    let mut c = cl.nodes[l].client();
    assert_eq!(c.cmd("SET k v1"), "+OK\r\n");
    let ids = |v: &[usize]| {
        v.iter()
            .map(|i| (i + 1).to_string())
            .collect::<Vec<_>>()
            .join(" ")
    };
    cl.set_faults(l, &format!("drop-peers {}", ids(&rest)));
    for &i in &rest {
        cl.set_faults(i, &format!("drop-peers {}", l + 1));
    }
    std::thread::sleep(Duration::from_millis(600));
    let isolated_read = c.cmd("GET k");
    assert!(
        isolated_read.starts_with("-MASTERDOWN"),
        "an isolated leader answered a read: {isolated_read:?}"
    );
    let l2 = cl.leader_among(&rest, 15);
    let mut c2 = cl.nodes[l2].client();
    assert_eq!(c2.cmd("SET k v2"), "+OK\r\n");
    let w = c.cmd("SET k v3");
    assert!(
        w.starts_with("-MASTERDOWN") || w.contains("outcome unknown"),
        "an isolated leader took a write: {w:?}"
    );
    assert!(!c.cmd("GET k").contains("v1"), "stale read");
    for i in 0..3 {
        cl.set_faults(i, "");
    }
    cl.converge(&[0, 1, 2], 15);
    assert_eq!(cl.leader_among(&rest, 5), l2);
    assert_eq!(c2.cmd("GET k"), "$2\r\nv2\r\n");
    assert_eq!(cl.nodes[l].client().cmd("GET k"), READONLY);
    digests_agree(&cl, &[0, 1, 2]);
}

#[test]
fn garbage_on_the_raft_port_drops_only_that_connection() {
    let _serial = serial();
    use std::io::Write;
    let cl = Cluster::start(3, &[]);
    let l = cl.leader(15);
    // Every node's raft port gets garbage: no frame, a huge length, a
    // valid length with bytes that are no message.
    for n in &cl.nodes {
        let port = n.raft_port();
        for bad in [
            b"GET / HTTP/1.1\r\n\r\n".to_vec(),
            vec![0xff, 0xff, 0xff, 0x7f, 1, 2, 3],
            vec![8, 0, 0, 0, 9, 9, 9, 9, 9, 9, 9, 9],
        ] {
            let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
            let _ = s.write_all(&bad);
            let _ = s.set_read_timeout(Some(Duration::from_millis(300)));
            let mut buf = [0u8; 16];
            // The node hangs up without answering.
            assert!(matches!(
                std::io::Read::read(&mut s, &mut buf),
                Ok(0) | Err(_)
            ));
        }
    }
    let mut c = cl.nodes[l].client();
    incr_pipeline(&mut c, "n", 100, 0);
    cl.converge(&[0, 1, 2], 10);
    assert_eq!(cl.leader(5), l, "no election was caused");
}
