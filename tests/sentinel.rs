//! Sentinel compatibility on three-node clusters: every node answers the
//! SENTINEL commands clients use to find the master, in redis-sentinel's
//! shapes, and announces leader changes on its pub/sub bus.

mod common;

use std::time::{Duration, Instant};

use common::{Client, Cluster};

static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// The bulk strings of a flat RESP2 array reply, in order.
fn bulks(reply: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut lines = reply.split("\r\n");
    while let Some(l) = lines.next() {
        if l.starts_with('$') && l != "$-1" {
            out.push(lines.next().unwrap_or_default().to_string());
        }
    }
    out
}

/// `field`'s value in a flat key/value reply.
fn field(reply: &str, name: &str) -> String {
    let b = bulks(reply);
    b.chunks(2)
        .find(|kv| kv[0] == name)
        .map(|kv| kv[1].clone())
        .unwrap_or_else(|| panic!("no {name} in {reply:?}"))
}

fn addr_reply(port: u16) -> String {
    let p = port.to_string();
    format!("*2\r\n$9\r\n127.0.0.1\r\n${}\r\n{p}\r\n", p.len())
}

/// Wait until `f` holds, up to `secs`.
fn eventually(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

const MASTER_FIELDS: [&str; 20] = [
    "name",
    "ip",
    "port",
    "runid",
    "flags",
    "link-pending-commands",
    "link-refcount",
    "last-ping-sent",
    "last-ok-ping-reply",
    "last-ping-reply",
    "down-after-milliseconds",
    "info-refresh",
    "role-reported",
    "role-reported-time",
    "config-epoch",
    "num-slaves",
    "num-other-sentinels",
    "quorum",
    "failover-timeout",
    "parallel-syncs",
];

#[test]
fn every_node_names_the_leader_in_sentinel_shapes() {
    let _serial = serial();
    let cl = Cluster::start(3, &["--sentinel-master-name", "cache"]);
    let l = cl.leader(15);
    let leader_port = cl.nodes[l].port;
    let mut ids = Vec::new();
    for (i, node) in cl.nodes.iter().enumerate() {
        let mut c = node.client();
        eventually(5, "every node to name the leader", || {
            c.cmd("SENTINEL GET-MASTER-ADDR-BY-NAME cache") == addr_reply(leader_port)
        });
        assert_eq!(
            c.cmd("SENTINEL GET-MASTER-ADDR-BY-NAME mymaster"),
            "*-1\r\n"
        );
        let masters = c.cmd("SENTINEL MASTERS");
        assert!(masters.starts_with("*1\r\n*40\r\n"), "{masters:?}");
        let master = c.cmd("SENTINEL MASTER cache");
        let keys: Vec<String> = bulks(&master).chunks(2).map(|kv| kv[0].clone()).collect();
        assert_eq!(keys, MASTER_FIELDS, "node {i}");
        assert_eq!(field(&master, "name"), "cache");
        assert_eq!(field(&master, "port"), leader_port.to_string());
        assert_eq!(field(&master, "flags"), "master");
        assert_eq!(field(&master, "num-other-sentinels"), "2");
        assert_eq!(field(&master, "quorum"), "2");
        assert_eq!(field(&master, "num-slaves"), "0");
        let term = field(&master, "config-epoch");
        assert!(term.parse::<u64>().unwrap() >= 1, "{term}");
        assert_eq!(
            c.cmd("SENTINEL MASTER mymaster"),
            "-ERR No such master with that name\r\n"
        );
        // Followers serve no reads, so no replicas are listed.
        assert_eq!(c.cmd("SENTINEL REPLICAS cache"), "*0\r\n");
        assert_eq!(c.cmd("SENTINEL SLAVES cache"), "*0\r\n");
        let sentinels = c.cmd("SENTINEL SENTINELS cache");
        assert!(sentinels.starts_with("*2\r\n*28\r\n"), "{sentinels:?}");
        let myid = bulks(&c.cmd("SENTINEL MYID")).remove(0);
        assert_eq!(myid.len(), 40);
        assert!(!bulks(&sentinels).contains(&myid), "a node lists itself");
        ids.push((myid, sentinels));
        assert_eq!(
            c.cmd("SENTINEL IS-MASTER-DOWN-BY-ADDR 127.0.0.1 1 0 *"),
            "*3\r\n:0\r\n$1\r\n*\r\n:0\r\n"
        );
        assert_eq!(
            c.cmd("SENTINEL IS-MASTER-DOWN-BY-ADDR 127.0.0.1 x 0 *"),
            "-ERR value is not an integer or out of range\r\n"
        );
        assert_eq!(
            c.cmd("SENTINEL MASTER"),
            "-ERR wrong number of arguments for 'sentinel|master' command\r\n"
        );
        assert_eq!(
            c.cmd("SENTINEL NOPE"),
            "-ERR unknown subcommand 'NOPE'. Try SENTINEL HELP.\r\n"
        );
        assert_eq!(
            c.cmd("SENTINEL CONFIG GET announce-port"),
            "*2\r\n$13\r\nannounce-port\r\n$1\r\n0\r\n"
        );
        // RESP3 clients (redis-py 8) get maps.
        assert!(c.cmd("HELLO 3").starts_with('%'));
        assert!(c.cmd("SENTINEL MASTER cache").starts_with("%20\r\n"));
        assert!(c.cmd("SENTINEL MASTERS").starts_with("*1\r\n%20\r\n"));
        assert_eq!(c.cmd("SENTINEL GET-MASTER-ADDR-BY-NAME nope"), "_\r\n");
    }
    // Each node's fellow sentinels are exactly the others.
    for (i, (_, sentinels)) in ids.iter().enumerate() {
        for (j, (id, _)) in ids.iter().enumerate() {
            assert_eq!(bulks(sentinels).contains(id), i != j);
        }
    }
    let mut c = cl.nodes[l].client();
    eventually(5, "a quorum", || {
        c.cmd("SENTINEL CKQUORUM cache")
            == "+OK 3 usable Sentinels. Quorum and failover authorization can be reached\r\n"
    });
}

/// A subscriber's next message on `channel`, within `secs`.
fn next_message(c: &mut Client, channel: &str, secs: u64) -> String {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        assert!(Instant::now() < deadline, "no {channel} message");
        let m = c.read_reply();
        let parts = bulks(&m);
        if parts.len() == 3 && parts[0] == "message" && parts[1] == channel {
            return parts[2].clone();
        }
    }
}

fn subscribe(port: u16, channels: &str) -> Client {
    let mut c = Client::connect(port);
    c.send_raw(&common::encode(
        &std::iter::once("SUBSCRIBE")
            .chain(channels.split_whitespace())
            .map(|s| s.as_bytes())
            .collect::<Vec<_>>(),
    ));
    for _ in channels.split_whitespace() {
        c.read_reply();
    }
    c
}

#[test]
fn failovers_are_announced_on_every_node() {
    let _serial = serial();
    let mut cl = Cluster::start(3, &[]);
    let l = cl.leader(15);
    let old_port = cl.nodes[l].port;
    for node in &cl.nodes {
        let mut c = node.client();
        eventually(5, "every node to name the leader", || {
            c.cmd("SENTINEL GET-MASTER-ADDR-BY-NAME mymaster") == addr_reply(old_port)
        });
    }
    let followers: Vec<usize> = (0..3).filter(|&i| i != l).collect();
    let mut subs: Vec<Client> = followers
        .iter()
        .map(|&f| subscribe(cl.nodes[f].port, "+failover-end +switch-master +slave"))
        .collect();
    // The old master keeps its subscribers when it steps down.
    let mut on_old = subscribe(old_port, "+role-change");

    // SENTINEL FAILOVER sent to a follower: passed to the leader, which
    // hands leadership to the most up-to-date other node.
    let mut c = cl.nodes[followers[0]].client();
    assert_eq!(c.cmd("SENTINEL FAILOVER mymaster"), "+OK\r\n");
    let l2 = cl.leader_among(&followers, 10);
    let new_port = cl.nodes[l2].port;
    for s in subs.iter_mut() {
        assert_eq!(
            next_message(s, "+failover-end", 10),
            format!("master mymaster 127.0.0.1 {old_port}")
        );
        assert_eq!(
            next_message(s, "+switch-master", 10),
            format!("mymaster 127.0.0.1 {old_port} 127.0.0.1 {new_port}")
        );
        // The other two voters, the old master among them, follow.
        let slaves: Vec<String> = (0..2).map(|_| next_message(s, "+slave", 10)).collect();
        assert!(
            slaves.contains(&format!(
                "slave 127.0.0.1:{old_port} 127.0.0.1 {old_port} @ mymaster 127.0.0.1 {new_port}"
            )),
            "{slaves:?}"
        );
    }
    assert_eq!(
        next_message(&mut on_old, "+role-change", 10),
        format!(
            "slave 127.0.0.1:{old_port} 127.0.0.1 {old_port} @ mymaster 127.0.0.1 {new_port} new reported role is slave"
        )
    );
    for node in &cl.nodes {
        let mut c = node.client();
        eventually(5, "every node to name the new leader", || {
            c.cmd("SENTINEL GET-MASTER-ADDR-BY-NAME mymaster") == addr_reply(new_port)
        });
    }

    // kill -9 of the new leader: the node that survives with the old one
    // announces the next switch.
    cl.nodes[l2].kill9();
    let survivor = followers.iter().position(|&f| f != l2).unwrap();
    let l3 = cl.leader_among(&[l, followers[survivor]], 15);
    let newest = cl.nodes[l3].port;
    assert_eq!(
        next_message(&mut subs[survivor], "+switch-master", 10),
        format!("mymaster 127.0.0.1 {new_port} 127.0.0.1 {newest}")
    );
}

#[test]
fn a_node_that_hears_from_no_leader_reports_the_master_down() {
    let _serial = serial();
    let mut cl = Cluster::start(3, &[]);
    let l = cl.leader(15);
    let port = cl.nodes[l].port;
    let f = (0..3).find(|&i| i != l).unwrap();
    let mut c = cl.nodes[f].client();
    eventually(5, "the follower to name the leader", || {
        c.cmd("SENTINEL GET-MASTER-ADDR-BY-NAME mymaster") == addr_reply(port)
    });
    let mut sub = subscribe(cl.nodes[f].port, "+sdown +odown");
    for i in (0..3).filter(|&i| i != f) {
        cl.nodes[i].kill9();
    }
    assert_eq!(
        next_message(&mut sub, "+sdown", 10),
        format!("master mymaster 127.0.0.1 {port}")
    );
    assert_eq!(
        next_message(&mut sub, "+odown", 10),
        format!("master mymaster 127.0.0.1 {port} #quorum 2/2")
    );
    let master = c.cmd("SENTINEL MASTER mymaster");
    assert_eq!(field(&master, "flags"), "s_down,o_down,master,disconnected");
    assert!(c
        .cmd("SENTINEL IS-MASTER-DOWN-BY-ADDR 127.0.0.1 1 0 *")
        .starts_with("*3\r\n:1\r\n"));
    assert_eq!(
        c.cmd("SENTINEL CKQUORUM mymaster"),
        "-NOQUORUM 1 usable Sentinels. Not enough available Sentinels to reach the specified quorum for this master. Not enough available Sentinels to reach the majority and authorize a failover\r\n"
    );
    // Still the last master it knew, as a Sentinel answers.
    assert_eq!(
        c.cmd("SENTINEL GET-MASTER-ADDR-BY-NAME mymaster"),
        addr_reply(port)
    );
    // With a majority back, a leader is heard from again.
    let back = (0..3).find(|&i| i != f).unwrap();
    cl.nodes[back].restart();
    eventually(20, "the master to be up again", || {
        field(&c.cmd("SENTINEL MASTER mymaster"), "flags") == "master"
    });
}

/// The Rust `redis` crate's Sentinel client, given every node's sentinel
/// port: it finds the leader (checking ROLE, as the crate does), keeps
/// writing across a kill -9 of it and then across SENTINEL FAILOVER (the
/// leader steps down and closes its clients) by asking again, and every
/// acknowledged write is there afterwards.
#[test]
fn the_redis_crate_sentinel_client_follows_the_leader() {
    use redis::sentinel::{SentinelClient, SentinelServerType};
    let _serial = serial();
    // The crate checks that its sentinels answer ROLE with "sentinel", so
    // each node also listens on a sentinel port.
    let sentinel_ports: Vec<u16> = (0..3).map(|_| common::free_port()).collect();
    let mut cl = Cluster::start_with(3, |i| {
        vec!["--sentinel-port".to_string(), sentinel_ports[i].to_string()]
    });
    let l = cl.leader(15);
    let urls: Vec<String> = sentinel_ports
        .iter()
        .map(|p| format!("redis://127.0.0.1:{p}"))
        .collect();
    let mut client =
        SentinelClient::build(urls, "mymaster".into(), None, SentinelServerType::Master).unwrap();
    let mut con = client.get_connection().unwrap();
    let mut acked = Vec::new();
    let mut i = 0u64;
    // Writes through the client until `n` more are acknowledged; on an
    // error it asks the sentinels again, as the crate's docs say.
    let mut write = |n: usize, con: &mut redis::Connection, acked: &mut Vec<(String, u64)>| {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut done = 0;
        while done < n {
            assert!(Instant::now() < deadline, "writes stopped getting through");
            i += 1;
            let key = format!("rs:{i}");
            match redis::cmd("SET").arg(&key).arg(i).query::<()>(con) {
                Ok(()) => {
                    acked.push((key, i));
                    done += 1;
                }
                Err(_) => {
                    std::thread::sleep(Duration::from_millis(20));
                    if let Ok(c) = client.get_connection() {
                        *con = c;
                    }
                }
            }
        }
    };
    write(100, &mut con, &mut acked);
    cl.nodes[l].kill9();
    write(100, &mut con, &mut acked);
    let l1 = cl.leader(15);
    assert_ne!(l1, l);
    let other = (0..3).find(|&i| i != l && i != l1).unwrap();
    assert_eq!(
        cl.nodes[other].client().cmd("SENTINEL FAILOVER mymaster"),
        "+OK\r\n"
    );
    write(100, &mut con, &mut acked);
    let l2 = cl.leader(15);
    assert_eq!(l2, other);
    let mut c = cl.nodes[l2].client();
    for (key, v) in &acked {
        let got = c.cmd(&format!("GET {key}"));
        let v = v.to_string();
        assert_eq!(got, format!("${}\r\n{v}\r\n", v.len()), "{key}");
    }
}
