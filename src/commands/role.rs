//! ROLE, INFO replication and INFO raft: this node's place in the cluster,
//! in Redis's shapes where Redis has them.
//!
//! The leader reports `master` once its first Tick is applied (it serves
//! from then on) and lists no replicas: followers serve no reads, so
//! clients that read from replicas fall back to the master. Every other
//! node reports `slave` of the leader it knows (link `down` when it knows
//! none).

use std::sync::atomic::Ordering::Acquire;

use cachecat_io::Reply;

use crate::conn::Conn;
use crate::core::Core;
use crate::raft::status::{self, RaftStatus};

/// The known leader's client address as (host, port); None when unknown.
fn leader_host_port(st: &RaftStatus) -> Option<(String, u16)> {
    let addr = st.leader_addr();
    let (host, port) = addr.rsplit_once(':')?;
    Some((host.to_string(), port.parse().ok()?))
}

fn is_master(st: &RaftStatus) -> bool {
    st.role() == status::LEADER
}

pub fn role(core: &Core, conn: &Conn) -> Reply {
    let st = &core.shared.raft;
    let sentinel_port = core.shared.config.lock().expect("config").sentinel_port;
    if sentinel_port != 0 && conn.meta.laddr.ends_with(&format!(":{sentinel_port}")) {
        // On the sentinel port this node is a Sentinel of one master.
        let name = crate::raft::sentinel::master_name(core);
        return Reply::Array(vec![
            Reply::bulk(b"sentinel".to_vec()),
            Reply::Array(vec![Reply::bulk(name.into_bytes())]),
        ]);
    }
    let offset = st.applied_index.load(Acquire) as i64;
    if is_master(st) {
        return Reply::Array(vec![
            Reply::bulk(b"master".to_vec()),
            Reply::Int(offset),
            Reply::Array(Vec::new()),
        ]);
    }
    let (host, port, state) = match leader_host_port(st) {
        Some((h, p)) if st.leader.load(Acquire) != st.me.load(Acquire) => (h, p, "connected"),
        _ => ("?".to_string(), 0, "connect"),
    };
    Reply::Array(vec![
        Reply::bulk(b"slave".to_vec()),
        Reply::bulk(host.into_bytes()),
        Reply::Int(port as i64),
        Reply::bulk(state.as_bytes().to_vec()),
        Reply::Int(offset),
    ])
}

/// The fields of INFO replication, in Redis's order.
pub fn replication_info(core: &Core, kv: &mut dyn FnMut(&str, &dyn std::fmt::Display)) {
    let st = &core.shared.raft;
    let offset = st.applied_index.load(Acquire);
    if is_master(st) {
        kv("role", &"master");
    } else {
        kv("role", &"slave");
        let known = leader_host_port(st).filter(|_| st.leader.load(Acquire) != st.me.load(Acquire));
        let (host, port) = known.clone().unwrap_or(("?".into(), 0));
        kv("master_host", &host);
        kv("master_port", &port);
        kv(
            "master_link_status",
            &if known.is_some() { "up" } else { "down" },
        );
        kv(
            "master_last_io_seconds_ago",
            &if known.is_some() { 0 } else { -1 },
        );
        kv("master_sync_in_progress", &0);
        kv("slave_read_repl_offset", &offset);
        kv("slave_repl_offset", &offset);
        kv("slave_priority", &100);
        kv("slave_read_only", &1);
        kv("replica_announced", &1);
    }
    kv("connected_slaves", &0);
    kv("master_failover_state", &"no-failover");
    kv("master_replid", &core.shared.run_id);
    kv(
        "master_replid2",
        &"0000000000000000000000000000000000000000",
    );
    kv("master_repl_offset", &offset);
    kv("second_repl_offset", &-1);
    kv("repl_backlog_active", &0);
}

/// INFO raft: the node's Raft state.
pub fn raft_info(core: &Core, kv: &mut dyn FnMut(&str, &dyn std::fmt::Display)) {
    let st = &core.shared.raft;
    let role = match st.role() {
        status::LEADER => "leader",
        status::LEADER_PENDING => "leader-pending",
        _ if st.leader.load(Acquire) != 0 => "follower",
        _ => "candidate",
    };
    kv("raft_node_id", &st.me.load(Acquire));
    kv("raft_role", &role);
    kv("raft_term", &st.term.load(Acquire));
    kv("raft_leader_id", &st.leader.load(Acquire));
    kv("raft_leader_addr", &st.leader_addr());
    kv("raft_commit_index", &st.commit_index.load(Acquire));
    kv("raft_applied_index", &st.applied_index.load(Acquire));
    kv("raft_read_clock", &core.read_now());
    kv("raft_last_tick_ts", &st.last_tick_ts.load(Acquire));
    kv("raft_proposals", &st.proposals.load(Acquire));
    kv("raft_proposed_ops", &st.proposed_ops.load(Acquire));
    kv(
        "raft_log_appends",
        &crate::raft::store::APPENDS.load(std::sync::atomic::Ordering::Relaxed),
    );
    kv(
        "raft_log_fsyncs",
        &crate::raft::store::FSYNCS.load(std::sync::atomic::Ordering::Relaxed),
    );
    let lease = st.lease_until.load(Acquire);
    let left = lease.saturating_sub(crate::clock::mono_ns()) / 1_000_000;
    kv(
        "raft_lease_ms_left",
        &if lease == u64::MAX {
            -1i64
        } else {
            left as i64
        },
    );
}
