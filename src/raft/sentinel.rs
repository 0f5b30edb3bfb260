//! Sentinel compatibility: every node answers the SENTINEL commands that
//! client libraries use to find the master, in the reply shapes of a real
//! redis-sentinel, and publishes the events a Sentinel would on its own
//! pub/sub bus when the leader changes. The Raft leader is the master;
//! followers are not listed as replicas, since they serve no reads (clients
//! that read from replicas then fall back to the master). The other voters
//! are this node's fellow sentinels, and `config-epoch` is the Raft term.
//!
//! A node that has heard from no leader within the maximum election timeout
//! (a follower: no append accepted from one; the leader: no quorum
//! acknowledgement) reports the master as `s_down,o_down`, so clients ask
//! another node instead of trusting a stale answer.
//!
//! Runs on the raft core: other cores forward SENTINEL like RAFT. The events
//! are published by `sentinel_events`.

use std::rc::Rc;
use std::sync::atomic::Ordering::Acquire;

use cachecat_io::Reply;
use openraft::async_runtime::watch::WatchReceiver;

use super::node::RaftNode;
use super::settings::timing;
use crate::core::Core;

/// The master name clients ask for (`--sentinel-master-name`).
pub fn master_name(core: &Core) -> String {
    core.shared
        .config
        .lock()
        .expect("config")
        .sentinel_master_name
        .clone()
}

fn err(text: impl Into<String>) -> Reply {
    Reply::Error(text.into().into())
}

fn bulk(s: impl ToString) -> Reply {
    Reply::bulk(s.to_string().into_bytes())
}

/// A 40-hex-digit id for node `id`, the same on every node, as Sentinel
/// run ids are. `salt` tells a node's sentinel id from its master run id.
pub fn node_hex_id(id: u64, salt: u64) -> String {
    let mut x = id ^ salt.rotate_left(17) ^ 0x6361_6368_6563_6174;
    let mut out = String::with_capacity(40);
    while out.len() < 40 {
        // splitmix64 steps: well spread, deterministic.
        x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        out.push_str(&format!("{z:016x}"));
    }
    out.truncate(40);
    out
}
const SENTINEL_SALT: u64 = 1;
const MASTER_SALT: u64 = 2;

/// `host:port` split, when it is one.
pub(super) fn host_port(addr: &str) -> Option<(&str, &str)> {
    addr.rsplit_once(':')
        .filter(|(h, p)| !h.is_empty() && !p.is_empty())
}

/// The ip and port a reply or an event shows for `addr` (`?` and `0` when
/// it is not `host:port`).
pub(super) fn ip_port(addr: &str) -> (&str, &str) {
    host_port(addr).unwrap_or(("?", "0"))
}

/// The master as this node sees it now.
struct View {
    name: String,
    /// The leader's id and client address: the current one, else the last
    /// announced.
    leader: u64,
    addr: Option<String>,
    down: bool,
    term: u64,
    /// Voters with their client addresses.
    voters: Vec<(u64, String)>,
    /// Milliseconds since a leader was last heard from.
    heard_ms_ago: u64,
    known_ms: u64,
}

pub(super) fn quorum(voters: usize) -> usize {
    voters / 2 + 1
}

/// Whether the leader has been heard from lately, and how long ago.
pub(super) fn heard(core: &Core, node: &RaftNode, now: u64) -> (bool, u64) {
    let st = &core.shared.raft;
    let leader = st.leader.load(Acquire);
    let window = timing().election_max_ms * 1_000_000;
    if leader == 0 {
        return (false, u64::MAX);
    }
    let at = if leader == node.id {
        // The lease runs lease_ms from the last quorum acknowledgement; 0
        // while a new leader awaits its first one, or while it hands
        // leadership away: it is up either way.
        match st.lease_until.load(Acquire) {
            u64::MAX | 0 => now,
            until => until.saturating_sub(timing().lease_ms * 1_000_000),
        }
    } else {
        node.st.borrow().leader_contact
    };
    let ago = now.saturating_sub(at);
    (at != 0 && ago < window, ago / 1_000_000)
}

fn view(core: &Core, node: &RaftNode) -> View {
    let st = &core.shared.raft;
    let m = node.raft.metrics().borrow_watched().clone();
    let membership = m.membership_config.membership();
    let voters: Vec<(u64, String)> = membership
        .voter_ids()
        .map(|id| {
            let addr = membership
                .get_node(&id)
                .map(|n| n.client.clone())
                .unwrap_or_default();
            (id, addr)
        })
        .collect();
    let now = crate::clock::mono_ns();
    let (ok, heard_ms_ago) = heard(core, node, now);
    let leader = st.leader.load(Acquire);
    let seen = &node.st.borrow().sentinel;
    let current = Some(st.leader_addr()).filter(|a| !a.is_empty());
    View {
        name: master_name(core),
        leader,
        addr: current.or_else(|| seen.master.clone()),
        down: !ok,
        term: st.term.load(Acquire),
        voters,
        heard_ms_ago,
        known_ms: now.saturating_sub(seen.since) / 1_000_000,
    }
}

/// SENTINEL MASTER's fields, in redis-sentinel's order.
fn master_entry(v: &View) -> Reply {
    let (ip, port) = v.addr.as_deref().map_or(("?", "0"), ip_port);
    let flags = if v.down {
        "s_down,o_down,master,disconnected"
    } else {
        "master"
    };
    let ping_ms = v.heard_ms_ago.min(i64::MAX as u64);
    let mut kv: Vec<(Reply, Reply)> = Vec::new();
    let mut put = |k: &str, val: Reply| kv.push((bulk(k), val));
    put("name", bulk(&v.name));
    put("ip", bulk(ip));
    put("port", bulk(port));
    put("runid", bulk(node_hex_id(v.leader, MASTER_SALT)));
    put("flags", bulk(flags));
    put("link-pending-commands", bulk(0));
    put("link-refcount", bulk(1));
    put("last-ping-sent", bulk(0));
    put("last-ok-ping-reply", bulk(ping_ms));
    put("last-ping-reply", bulk(ping_ms));
    if v.down {
        put(
            "s-down-time",
            bulk(ping_ms.saturating_sub(timing().election_max_ms)),
        );
        put(
            "o-down-time",
            bulk(ping_ms.saturating_sub(timing().election_max_ms)),
        );
    }
    put("down-after-milliseconds", bulk(timing().election_max_ms));
    put("info-refresh", bulk(ping_ms));
    put("role-reported", bulk("master"));
    put("role-reported-time", bulk(v.known_ms));
    put("config-epoch", bulk(v.term));
    put("num-slaves", bulk(0));
    put(
        "num-other-sentinels",
        bulk(v.voters.len().saturating_sub(1)),
    );
    put("quorum", bulk(quorum(v.voters.len())));
    put("failover-timeout", bulk(2 * timing().election_max_ms));
    put("parallel-syncs", bulk(1));
    Reply::Map(kv)
}

/// SENTINEL SENTINELS: the other voters, as fellow sentinels.
fn sentinels(v: &View, me: u64) -> Reply {
    let entries = v
        .voters
        .iter()
        .filter(|(id, _)| *id != me)
        .map(|(id, addr)| {
            let (ip, port) = ip_port(addr);
            let id_hex = node_hex_id(*id, SENTINEL_SALT);
            let mut kv: Vec<(Reply, Reply)> = Vec::new();
            let mut put = |k: &str, val: Reply| kv.push((bulk(k), val));
            put("name", bulk(&id_hex));
            put("ip", bulk(ip));
            put("port", bulk(port));
            put("runid", bulk(&id_hex));
            put("flags", bulk("sentinel"));
            put("link-pending-commands", bulk(0));
            put("link-refcount", bulk(1));
            put("last-ping-sent", bulk(0));
            put("last-ok-ping-reply", bulk(0));
            put("last-ping-reply", bulk(0));
            put("down-after-milliseconds", bulk(timing().election_max_ms));
            put("last-hello-message", bulk(0));
            put("voted-leader", bulk("?"));
            put("voted-leader-epoch", bulk(0));
            Reply::Map(kv)
        })
        .collect();
    Reply::Array(entries)
}

/// Sentinel's global parameters for SENTINEL CONFIG GET, as a fresh
/// redis-sentinel reports them.
const GLOBALS: [(&str, &str); 6] = [
    ("resolve-hostnames", "no"),
    ("announce-hostnames", "no"),
    ("announce-ip", ""),
    ("announce-port", "0"),
    ("sentinel-user", ""),
    ("sentinel-pass", ""),
];

fn int_arg(a: &[u8]) -> Option<i64> {
    std::str::from_utf8(a).ok()?.parse().ok()
}

/// SENTINEL subcommand [args]: run on the raft core.
pub async fn run(core: &Rc<Core>, node: &Rc<RaftNode>, a: &[Vec<u8>]) -> Reply {
    let sub = String::from_utf8_lossy(&a[1]).to_ascii_lowercase();
    let arity = |n: usize| a.len() == n;
    let wrong = || crate::commands::wrong_arity(&format!("sentinel|{sub}"));
    let v = view(core, node);
    let named = |i: usize| a.get(i).is_some_and(|n| n[..] == *v.name.as_bytes());
    let no_such = || err("ERR No such master with that name");
    match sub.as_str() {
        "masters" if arity(2) => Reply::Array(vec![master_entry(&v)]),
        "master" if arity(3) => {
            if named(2) {
                master_entry(&v)
            } else {
                no_such()
            }
        }
        "get-master-addr-by-name" if arity(3) => {
            match v.addr.as_deref().and_then(host_port).filter(|_| named(2)) {
                Some((ip, port)) => Reply::Array(vec![bulk(ip), bulk(port)]),
                None => Reply::NilArray,
            }
        }
        "replicas" | "slaves" if arity(3) => {
            if named(2) {
                Reply::Array(Vec::new())
            } else {
                no_such()
            }
        }
        "sentinels" if arity(3) => {
            if named(2) {
                sentinels(&v, node.id)
            } else {
                no_such()
            }
        }
        "myid" if arity(2) => bulk(node_hex_id(node.id, SENTINEL_SALT)),
        "ckquorum" if arity(3) => {
            if !named(2) {
                return no_such();
            }
            ckquorum(core, node, &v)
        }
        "failover" if arity(3) => {
            if !named(2) {
                return no_such();
            }
            failover(core, node).await
        }
        "is-master-down-by-addr" if arity(6) => {
            if int_arg(&a[3]).is_none() || int_arg(&a[4]).is_none() {
                return err("ERR value is not an integer or out of range");
            }
            // This node casts no Sentinel votes: Raft elects the leader.
            Reply::Array(vec![Reply::Int(v.down as i64), bulk("*"), Reply::Int(0)])
        }
        "config" if a.len() >= 3 => {
            let op = String::from_utf8_lossy(&a[2]).to_ascii_lowercase();
            match op.as_str() {
                "get" if arity(4) => Reply::Map(
                    GLOBALS
                        .iter()
                        .filter(|(k, _)| {
                            cachecat_shards::cmd::glob::matches(&a[3], k.as_bytes(), true)
                        })
                        .map(|(k, val)| (bulk(k), bulk(val)))
                        .collect(),
                ),
                "set" => err("ERR SENTINEL CONFIG SET is not supported: these settings are fixed"),
                _ => wrong(),
            }
        }
        "masters"
        | "master"
        | "get-master-addr-by-name"
        | "replicas"
        | "slaves"
        | "sentinels"
        | "myid"
        | "ckquorum"
        | "failover"
        | "is-master-down-by-addr"
        | "config" => wrong(),
        "help" if arity(2) => {
            Reply::Array(HELP.iter().map(|l| Reply::Simple((*l).into())).collect())
        }
        _ => err(format!(
            "ERR unknown subcommand '{}'. Try SENTINEL HELP.",
            String::from_utf8_lossy(&a[1])
        )),
    }
}

const HELP: [&str; 21] = [
    "SENTINEL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CKQUORUM <master-name>",
    "    Check if a majority of the cluster's nodes is reachable to elect a leader.",
    "CONFIG GET <param>",
    "    Get global Sentinel configuration parameter.",
    "GET-MASTER-ADDR-BY-NAME <master-name>",
    "    Return the ip and port number of the master (the Raft leader).",
    "FAILOVER <master-name>",
    "    Hand leadership to the most up-to-date other node (a Raft transfer).",
    "IS-MASTER-DOWN-BY-ADDR <ip> <port> <current-epoch> <runid>",
    "    Check if the master is down from this node's point of view.",
    "MASTER <master-name>",
    "    Show the state and info of the master.",
    "MASTERS",
    "    Show the master and its state.",
    "MYID",
    "    Return the ID of this node as a Sentinel.",
    "REPLICAS <master-name>",
    "    Show the replicas that serve reads (none: only the leader serves).",
    "SENTINELS <master-name>",
    "    Show the other nodes of the cluster, as Sentinel instances.",
];

/// CKQUORUM: how many voters this node knows to be up (itself, and the
/// leader or the followers that acknowledged it lately) against a
/// majority.
fn ckquorum(core: &Core, node: &RaftNode, v: &View) -> Reply {
    let m = node.raft.metrics().borrow_watched().clone();
    let now = crate::clock::mono_ns();
    let window = timing().election_max_ms * 1_000_000;
    let usable = if v.leader == node.id {
        let acked = m.heartbeat.as_ref().map_or(0, |h| {
            h.iter()
                .filter(|(id, at)| {
                    **id != node.id
                        && v.voters.iter().any(|(v, _)| v == *id)
                        && at.as_ref().is_some_and(|t| {
                            now.saturating_sub(crate::clock::mono_ns_of(**t)) < window
                        })
                })
                .count()
        });
        1 + acked
    } else if !v.down {
        2
    } else {
        1
    };
    let _ = core;
    let need = quorum(v.voters.len());
    if usable >= need {
        Reply::Simple(
            format!(
                "OK {usable} usable Sentinels. Quorum and failover authorization can be reached"
            )
            .into(),
        )
    } else {
        err(format!(
            "NOQUORUM {usable} usable Sentinels. Not enough available Sentinels to reach the specified quorum for this master. Not enough available Sentinels to reach the majority and authorize a failover"
        ))
    }
}

/// SENTINEL FAILOVER: on the leader, a leadership transfer to the voter
/// with the most of the log; elsewhere it is passed to the leader.
async fn failover(core: &Rc<Core>, node: &Rc<RaftNode>) -> Reply {
    if !node.is_leading() {
        return forward_failover(core).await;
    }
    let m = node.raft.metrics().borrow_watched().clone();
    let best = m.replication.as_ref().and_then(|r| {
        r.iter()
            .filter(|(id, _)| **id != node.id && node.voters().contains(id))
            .max_by_key(|(_, matched)| matched.as_ref().map(|l| l.index))
            .map(|(id, _)| *id)
    });
    match best {
        Some(id) => match super::admin::transfer(core, node, id).await {
            Reply::Ok => Reply::Ok,
            _ => err("INPROG Failover already in progress"),
        },
        None => err("NOGOODSLAVE No suitable replica to promote"),
    }
}

/// A follower passes SENTINEL FAILOVER to the leader's client port (with
/// this node's password, which the cluster shares) and relays the answer.
async fn forward_failover(core: &Rc<Core>) -> Reply {
    use futures_lite::{AsyncReadExt, AsyncWriteExt};
    let addr = core.shared.raft.leader_addr();
    if addr.is_empty() {
        return err("NOGOODSLAVE No leader is known: an election is under way");
    }
    let (name, pass) = {
        let c = core.shared.config.lock().expect("config");
        (c.sentinel_master_name.clone(), c.requirepass.clone())
    };
    let mut req = Vec::new();
    if !pass.is_empty() {
        req.extend(resp_command(&[b"AUTH", pass.as_bytes()]));
    }
    req.extend(resp_command(&[b"SENTINEL", b"FAILOVER", name.as_bytes()]));
    let exchange = async {
        let mut s = glommio::net::TcpStream::connect(addr.as_str())
            .await
            .map_err(|e| e.to_string())?;
        s.write_all(&req).await.map_err(|e| e.to_string())?;
        // Simple and error replies only: one line each.
        let mut lines = Vec::new();
        let mut buf = Vec::new();
        let want = if pass.is_empty() { 1 } else { 2 };
        let mut chunk = [0u8; 512];
        while lines.len() < want {
            let n = s.read(&mut chunk).await.map_err(|e| e.to_string())?;
            if n == 0 {
                return Err("the leader closed the connection".to_string());
            }
            buf.extend_from_slice(&chunk[..n]);
            while let Some(i) = buf.windows(2).position(|w| w == b"\r\n") {
                lines.push(String::from_utf8_lossy(&buf[..i]).into_owned());
                buf.drain(..i + 2);
            }
        }
        Ok::<_, String>(lines.pop().unwrap_or_default())
    };
    let line = futures_lite::future::or(exchange, async {
        glommio::timer::sleep(std::time::Duration::from_secs(10)).await;
        Err("the leader did not answer".to_string())
    })
    .await;
    match line {
        Ok(l) if l.starts_with('+') => Reply::Simple(l[1..].to_string().into()),
        Ok(l) if l.starts_with('-') => err(&l[1..]),
        Ok(l) => err(format!("ERR unexpected answer from the leader: {l}")),
        Err(e) => err(format!(
            "NOGOODSLAVE the leader at {addr} could not be asked: {e}"
        )),
    }
}

fn resp_command(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", parts.len()).into_bytes();
    for p in parts {
        out.extend(format!("${}\r\n", p.len()).into_bytes());
        out.extend_from_slice(p);
        out.extend_from_slice(b"\r\n");
    }
    out
}
