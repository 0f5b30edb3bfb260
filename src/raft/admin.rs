//! The RAFT command family: cluster status and membership changes, run on
//! the raft core (other cores forward them).
//!
//! - `RAFT STATUS`: this node's view (any node).
//! - `RAFT SNAPSHOT`: cut a snapshot now (any node; replies once written).
//! - `RAFT DIGEST [index]`: [applied index, replica digest at that index]
//!   (any node): replicas that applied the same log agree, whatever their
//!   thread counts. With an index not yet applied, waits for it and answers
//!   right after the first operation entry at or past it, so replicas under
//!   load can be compared at one index.
//! - `RAFT ADD-LEARNER id host:client-port:raft-port`: add a node that
//!   receives the log (by snapshot, then entries) without voting; replies
//!   once it has caught up.
//! - `RAFT PROMOTE id [id ...]`: make learners voters (joint consensus).
//! - `RAFT REMOVE id`: take a node out (a voter first stops voting).
//! - `RAFT TRANSFER-LEADER id`: hand leadership to a voter.
//!
//! Changes are made on the leader; elsewhere they are refused with the
//! leader's address. Before handing leadership away (a transfer, or the
//! leader removing itself) the read lease is revoked on every core, since
//! the new leader may serve writes before our lease would have run out.

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::time::Duration;

use cachecat_io::Reply;
use openraft::async_runtime::watch::WatchReceiver;
use openraft::ChangeMembers;

use super::node::RaftNode;
use super::types::PeerAddr;
use crate::core::Core;
use crate::raft::node::Origin;

/// How long a leadership transfer may take before it is reported failed.
const TRANSFER_WAIT: Duration = Duration::from_secs(5);
/// How long RAFT SNAPSHOT waits for the snapshot to be written.
const SNAPSHOT_WAIT: Duration = Duration::from_secs(600);
/// How long ADD-LEARNER waits for the new node to catch up.
const CATCH_UP_WAIT: Duration = Duration::from_secs(60);

/// Run `argv` (RAFT ...) on the raft core and deliver the reply.
pub fn spawn(core: Rc<Core>, origin: Origin, argv: Vec<Vec<u8>>) {
    glommio::spawn_local(async move {
        let reply = match core.raft.get().cloned() {
            Some(node) if argv[0].eq_ignore_ascii_case(b"sentinel") => {
                super::sentinel::run(&core, &node, &argv).await
            }
            Some(node) => run(&core, &node, &argv).await,
            None => Reply::err("ERR the Raft node is not running yet"),
        };
        core.deliver(origin, reply);
    })
    .detach();
}

fn arg(a: &[u8]) -> String {
    String::from_utf8_lossy(a).to_ascii_uppercase()
}

fn node_id(a: &[u8]) -> Option<u64> {
    std::str::from_utf8(a).ok()?.parse().ok().filter(|&n| n > 0)
}

fn err(text: String) -> Reply {
    Reply::Error(text.into())
}

async fn run(core: &Rc<Core>, node: &Rc<RaftNode>, a: &[Vec<u8>]) -> Reply {
    let sub = arg(&a[1]);
    let wrong = || crate::commands::wrong_arity(&format!("raft|{}", sub.to_lowercase()));
    if sub == "STATUS" {
        return if a.len() == 2 {
            status(core, node)
        } else {
            wrong()
        };
    }
    if sub == "SNAPSHOT" {
        return if a.len() == 2 {
            snapshot(node).await
        } else {
            wrong()
        };
    }
    if sub == "DIGEST" {
        let (index, digest) = match a.len() {
            // Routed right behind the last applied entry: the digest is
            // the state at exactly this index.
            2 => (node.applied_index(), core.digest().await),
            3 => {
                let Some(at) = std::str::from_utf8(&a[2]).ok().and_then(|s| s.parse().ok()) else {
                    return err("ERR value is not an integer or out of range".into());
                };
                match node.digest_at(at).await {
                    Ok(r) => r,
                    Err(e) => return err(e),
                }
            }
            _ => return wrong(),
        };
        return Reply::Array(vec![
            Reply::Int(index as i64),
            Reply::bulk(format!("{digest:016x}").into_bytes()),
        ]);
    }
    if !matches!(
        sub.as_str(),
        "ADD-LEARNER" | "PROMOTE" | "REMOVE" | "TRANSFER-LEADER"
    ) {
        return err(format!(
            "ERR unknown subcommand '{}'. Try RAFT STATUS, SNAPSHOT, DIGEST, ADD-LEARNER, PROMOTE, REMOVE, TRANSFER-LEADER.",
            String::from_utf8_lossy(&a[1])
        ));
    }
    if !node.is_leading() {
        let st = &core.shared.raft;
        let at = st.leader_addr();
        return err(if at.is_empty() {
            "ERR no leader is known: cluster changes go to the leader".to_string()
        } else {
            format!("ERR this node is not the leader: send cluster changes to {at}")
        });
    }
    let ids: Option<Vec<u64>> = a[2..].iter().map(|x| node_id(x)).collect();
    match sub.as_str() {
        "ADD-LEARNER" => {
            if a.len() != 4 {
                return wrong();
            }
            let Some(id) = node_id(&a[2]) else {
                return err("ERR invalid node id".into());
            };
            let Some(addr) = parse_addr(&a[3]) else {
                return err("ERR invalid address, expected host:client-port:raft-port".into());
            };
            let added = match node.raft.add_learner(id, addr, false).await {
                Ok(r) => r.log_id.index,
                Err(e) => return err(format!("ERR {e}")),
            };
            if caught_up(node, id, added, CATCH_UP_WAIT).await {
                Reply::Ok
            } else {
                err(format!(
                    "ERR node {id} was added as a learner but has not caught up yet; RAFT STATUS shows its progress"
                ))
            }
        }
        "PROMOTE" => {
            let Some(ids) = ids.filter(|v| !v.is_empty()) else {
                return if a.len() < 3 {
                    wrong()
                } else {
                    err("ERR invalid node id".into())
                };
            };
            let ids: BTreeSet<u64> = ids.into_iter().collect();
            match node
                .raft
                .change_membership(ChangeMembers::AddVoterIds(ids), false)
                .await
            {
                Ok(_) => Reply::Ok,
                Err(e) => err(format!("ERR {e}")),
            }
        }
        "REMOVE" => {
            if a.len() != 3 {
                return wrong();
            }
            let Some(id) = node_id(&a[2]) else {
                return err("ERR invalid node id".into());
            };
            remove(core, node, id).await
        }
        "TRANSFER-LEADER" => {
            if a.len() != 3 {
                return wrong();
            }
            let Some(id) = node_id(&a[2]) else {
                return err("ERR invalid node id".into());
            };
            transfer(core, node, id).await
        }
        _ => unreachable!("checked above"),
    }
}

/// Cut a snapshot now (as Redis's SAVE: replies when it is written) and
/// let the log before it go.
async fn snapshot(node: &Rc<RaftNode>) -> Reply {
    let target = node.applied_index();
    if let Err(e) = node.raft.trigger().snapshot().await {
        return err(format!("ERR {e}"));
    }
    let done = until(node, SNAPSHOT_WAIT, |m| {
        m.snapshot.is_some_and(|s| s.index >= target)
    })
    .await;
    if done {
        Reply::Ok
    } else {
        err("ERR the snapshot did not complete in time; RAFT STATUS shows the last one".into())
    }
}

/// Wait until the leader has replicated to `id` up to `index`.
async fn caught_up(node: &Rc<RaftNode>, id: u64, index: u64, wait: Duration) -> bool {
    until(node, wait, |m| {
        m.replication
            .as_ref()
            .and_then(|r| r.get(&id).cloned().flatten())
            .is_some_and(|l| l.index >= index)
    })
    .await
}

/// Wait until openraft's metrics satisfy `done`, at most `wait`.
async fn until(
    node: &Rc<RaftNode>,
    wait: Duration,
    done: impl Fn(&openraft::RaftMetrics<super::types::TypeConfig>) -> bool,
) -> bool {
    let mut rx = node.raft.metrics();
    futures_lite::future::or(
        async {
            loop {
                if done(&rx.borrow_watched()) {
                    return true;
                }
                if rx.changed().await.is_err() {
                    return false;
                }
            }
        },
        async {
            glommio::timer::sleep(wait).await;
            false
        },
    )
    .await
}

/// `host:client-port:raft-port`.
fn parse_addr(a: &[u8]) -> Option<PeerAddr> {
    let s = std::str::from_utf8(a).ok()?;
    let mut parts = s.rsplitn(3, ':');
    let raft: u16 = parts.next()?.parse().ok()?;
    let client: u16 = parts.next()?.parse().ok()?;
    let host = parts.next().filter(|h| !h.is_empty())?;
    Some(PeerAddr {
        client: format!("{host}:{client}"),
        raft: format!("{host}:{raft}"),
    })
}

async fn remove(core: &Rc<Core>, node: &Rc<RaftNode>, id: u64) -> Reply {
    let me = id == node.id;
    if me {
        node.revoke_lease(core).await;
    }
    let r = if node.voters().contains(&id) {
        node.raft
            .change_membership(ChangeMembers::RemoveVoters(BTreeSet::from([id])), false)
            .await
    } else {
        node.raft
            .change_membership(ChangeMembers::RemoveNodes(BTreeSet::from([id])), false)
            .await
    };
    match r {
        Ok(_) => Reply::Ok,
        Err(e) => {
            if me {
                node.release_lease();
            }
            err(format!("ERR {e}"))
        }
    }
}

pub(super) async fn transfer(core: &Rc<Core>, node: &Rc<RaftNode>, id: u64) -> Reply {
    if id == node.id {
        return Reply::Ok;
    }
    if !node.voters().contains(&id) {
        return err(format!("ERR node {id} is not a voter"));
    }
    node.revoke_lease(core).await;
    if let Err(e) = node.raft.trigger().transfer_leader(id).await {
        node.release_lease();
        return err(format!("ERR {e}"));
    }
    let done = until(node, TRANSFER_WAIT, |m| m.current_leader == Some(id)).await;
    if done {
        Reply::Ok
    } else {
        node.release_lease();
        err(format!(
            "ERR leadership transfer to node {id} did not complete; this node still leads"
        ))
    }
}

/// RAFT STATUS: a map of this node's view.
fn status(core: &Rc<Core>, node: &Rc<RaftNode>) -> Reply {
    let m = node.raft.metrics().borrow_watched().clone();
    let st = &core.shared.raft;
    let mut out: Vec<(Reply, Reply)> = Vec::new();
    let mut kv = |k: &str, v: Reply| out.push((Reply::bulk(k.as_bytes().to_vec()), v));
    let text = |s: String| Reply::bulk(s.into_bytes());
    kv("node-id", Reply::Int(node.id as i64));
    kv(
        "role",
        text(
            match (m.state, st.role()) {
                (openraft::ServerState::Leader, super::status::LEADER) => "leader",
                (openraft::ServerState::Leader, _) => "leader-pending",
                (openraft::ServerState::Candidate, _) => "candidate",
                (openraft::ServerState::Learner, _) => "learner",
                _ => "follower",
            }
            .into(),
        ),
    );
    kv("term", Reply::Int(m.current_term as i64));
    kv(
        "leader-id",
        Reply::Int(m.current_leader.unwrap_or(0) as i64),
    );
    kv("leader-addr", text(st.leader_addr()));
    kv(
        "commit-index",
        Reply::Int(m.local_committed.map_or(0, |l| l.index) as i64),
    );
    kv(
        "applied-index",
        Reply::Int(m.last_applied.map_or(0, |l| l.index) as i64),
    );
    kv(
        "snapshot-index",
        Reply::Int(m.snapshot.map_or(0, |l| l.index) as i64),
    );
    kv(
        "purged-index",
        Reply::Int(m.purged.map_or(-1, |l| l.index as i64)),
    );
    let membership = m.membership_config.membership();
    let voters: BTreeSet<u64> = membership.voter_ids().collect();
    let nodes: BTreeMap<u64, PeerAddr> =
        membership.nodes().map(|(id, n)| (*id, n.clone())).collect();
    kv(
        "joint",
        Reply::Bool(membership.get_joint_config().len() > 1),
    );
    let list = nodes
        .iter()
        .map(|(id, n)| {
            Reply::Map(vec![
                (Reply::bulk(b"id".to_vec()), Reply::Int(*id as i64)),
                (
                    Reply::bulk(b"voter".to_vec()),
                    Reply::Bool(voters.contains(id)),
                ),
                (
                    Reply::bulk(b"client-addr".to_vec()),
                    Reply::bulk(n.client.clone().into_bytes()),
                ),
                (
                    Reply::bulk(b"raft-addr".to_vec()),
                    Reply::bulk(n.raft.clone().into_bytes()),
                ),
            ])
        })
        .collect();
    kv("members", Reply::Array(list));
    Reply::Map(out)
}
