//! The events a Sentinel publishes on its pub/sub bus, derived from what
//! this node sees of the Raft group: the master going down or coming back,
//! and a new leader once its term's first Tick is applied here.

use std::rc::Rc;
use std::sync::atomic::Ordering::Acquire;

use openraft::async_runtime::watch::WatchReceiver;

use super::node::RaftNode;
use super::sentinel::{heard, ip_port, master_name, quorum};
use super::status;
use crate::core::Core;

/// What this node last announced, to publish each change once.
#[derive(Default)]
pub struct Seen {
    /// The term whose leader was last announced.
    term: u64,
    /// That leader's client address.
    pub(super) master: Option<String>,
    /// `mono_ns` when it was announced (role-reported-time).
    pub(super) since: u64,
    /// Whether the master is announced as down.
    down: bool,
}

/// `master <name> <ip> <port>`: how events name the master.
fn master_tag(name: &str, addr: &str) -> String {
    let (ip, port) = ip_port(addr);
    format!("master {name} {ip} {port}")
}

/// `slave <ip>:<port> <ip> <port> @ <name> <master-ip> <master-port>`.
fn slave_tag(addr: &str, name: &str, master: &str) -> String {
    let (ip, port) = ip_port(addr);
    let (mip, mport) = ip_port(master);
    format!("slave {ip}:{port} {ip} {port} @ {name} {mip} {mport}")
}

/// Publish what changed since the last call, as a Sentinel would: the
/// master going down or coming back (`+sdown`/`+odown`, `-sdown`/`-odown`),
/// and a new leader once its term's first Tick is applied here
/// (`-role-change` for the promoted node, `+failover-end`, `+switch-master`,
/// `+slave` for each other voter and `+convert-to-slave` for the old
/// master). Called after each applied
/// Tick and every few dozen milliseconds.
pub fn check(core: &Rc<Core>, node: &Rc<RaftNode>) {
    let st = &core.shared.raft;
    let now = crate::clock::mono_ns();
    let (ok, _) = heard(core, node, now);
    let term = st.term.load(Acquire);
    let leader = st.leader.load(Acquire);
    let mut events: Vec<(&'static str, String)> = Vec::new();
    let name = master_name(core);
    let q = quorum(node.voters().len());
    {
        let mut ns = node.st.borrow_mut();
        let serving = leader != node.id || st.role() == status::LEADER;
        let tick_term = ns.tick_term;
        let seen = &mut ns.sentinel;
        if let Some(master) = seen.master.clone() {
            // Back up only if the same master is heard again; a new one is
            // announced by the switch below, which clears the down state.
            if seen.down == ok && (!ok || st.leader_addr() == master) {
                let tag = master_tag(&name, &master);
                events.push((if ok { "-sdown" } else { "+sdown" }, tag.clone()));
                events.push((
                    if ok { "-odown" } else { "+odown" },
                    if ok {
                        tag
                    } else {
                        format!("{tag} #quorum {q}/{q}")
                    },
                ));
                seen.down = !ok;
            }
        }
        if leader != 0 && tick_term == term && term > seen.term && serving {
            let new = st.leader_addr();
            if let Some(old) = seen.master.clone().filter(|o| *o != new && !new.is_empty()) {
                events.push((
                    "-role-change",
                    format!(
                        "{} new reported role is master",
                        slave_tag(&new, &name, &old)
                    ),
                ));
                events.push(("+failover-end", master_tag(&name, &old)));
                let (oip, oport) = ip_port(&old);
                let (nip, nport) = ip_port(&new);
                events.push((
                    "+switch-master",
                    format!("{name} {oip} {oport} {nip} {nport}"),
                ));
                pending_slaves(node, leader, &name, &new, &old, &mut events);
            }
            seen.term = term;
            if !new.is_empty() {
                seen.master = Some(new);
            }
            seen.since = now;
            seen.down = !ok;
        }
    }
    if events.is_empty() {
        return;
    }
    let core = core.clone();
    glommio::spawn_local(async move {
        for (channel, msg) in events {
            crate::pubsub::publish(&core, channel.as_bytes(), msg.as_bytes()).await;
        }
    })
    .detach();
}

/// `+slave` for every voter but the new leader, then `+convert-to-slave`
/// for the old master if it is still a member (and, on the old master
/// itself, `+role-change`).
fn pending_slaves(
    node: &RaftNode,
    leader: u64,
    name: &str,
    new: &str,
    old: &str,
    events: &mut Vec<(&'static str, String)>,
) {
    let m = node.raft.metrics().borrow_watched().clone();
    let membership = m.membership_config.membership();
    let mut old_is_member = false;
    for id in membership.voter_ids().filter(|id| *id != leader) {
        let Some(addr) = membership.get_node(&id).map(|n| n.client.clone()) else {
            continue;
        };
        old_is_member |= addr == old;
        events.push(("+slave", slave_tag(&addr, name, new)));
    }
    if old_is_member {
        events.push(("+convert-to-slave", slave_tag(old, name, new)));
        // The old master itself says that it follows now.
        if membership
            .get_node(&node.id)
            .is_some_and(|n| n.client == old)
        {
            events.push((
                "+role-change",
                format!("{} new reported role is slave", slave_tag(old, name, new)),
            ));
        }
    }
}

/// Runs `check` every 50 ms on the raft core, so a master going down is
/// announced within the election timeout plus that.
pub async fn watch(core: std::rc::Weak<Core>, node: Rc<RaftNode>) {
    loop {
        glommio::timer::sleep(std::time::Duration::from_millis(50)).await;
        let Some(c) = core.upgrade() else { return };
        check(&c, &node);
    }
}
