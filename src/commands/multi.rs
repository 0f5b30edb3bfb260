//! MULTI, EXEC, DISCARD, WATCH, UNWATCH. A transaction's keyspace commands
//! become one log operation (`LogOp::Exec`) that carries the watched keys'
//! versions; the shards owning them check the versions at apply time.

use std::rc::Rc;
use std::sync::atomic::Ordering::Relaxed;

use cachecat_io::Reply;
use cachecat_shards::cmd::tx::Watch;
use cachecat_shards::cmd::Cmd;
use cachecat_shards::op::LogOp;
use cachecat_shards::table::{self, Spec};

use crate::conn::{Conn, Multi, Queued};
use crate::core::Core;

pub async fn run(core: &Rc<Core>, conn: &mut Conn, spec: &Spec, a: Vec<Vec<u8>>) -> Reply {
    match spec.name {
        "multi" => {
            if conn.multi.is_some() {
                return Reply::err("ERR MULTI calls can not be nested");
            }
            conn.multi = Some(Multi {
                items: Vec::new(),
                failed: false,
                queue_db: conn.db,
            });
            conn.meta.multi.store(0, Relaxed);
            Reply::Ok
        }
        "discard" => {
            if conn.multi.take().is_none() {
                return Reply::err("ERR DISCARD without MULTI");
            }
            conn.meta.multi.store(-1, Relaxed);
            conn.watches.clear();
            Reply::Ok
        }
        "watch" => {
            if conn.multi.is_some() {
                // Rejected by the command itself, as Redis does: the
                // transaction is not flagged.
                return Reply::err("ERR WATCH inside MULTI is not allowed");
            }
            if let Err(refused) = core.shared.raft.admit().await {
                return refused;
            }
            for key in &a[1..] {
                let owner = core.owner(key);
                let r = core
                    .read(owner, conn.db as u32, Cmd::Version { key: key.to_vec() })
                    .await;
                let (version, seen_at) = match r {
                    Reply::Array(v) => match (&v[0], &v[1]) {
                        (Reply::Int(a), Reply::Int(b)) => (*a as u64, *b as u64),
                        _ => (0, 0),
                    },
                    _ => (0, 0),
                };
                conn.watches.push(Watch {
                    db: conn.db as u32,
                    key: key.to_vec(),
                    version,
                    seen_at,
                });
            }
            Reply::Ok
        }
        "unwatch" => {
            conn.watches.clear();
            Reply::Ok
        }
        "exec" => exec(core, conn).await,
        _ => unreachable!(),
    }
}

async fn exec(core: &Rc<Core>, conn: &mut Conn) -> Reply {
    let Some(multi) = conn.multi.take() else {
        return Reply::err("ERR EXEC without MULTI");
    };
    conn.meta.multi.store(-1, Relaxed);
    let watches = std::mem::take(&mut conn.watches);
    if multi.failed {
        return Reply::err("EXECABORT Transaction discarded because of previous errors.");
    }
    let keyspace: Vec<(u32, Cmd)> = multi
        .items
        .iter()
        .filter_map(|q| match q {
            Queued::Key { db, cmd } => Some((*db, cmd.clone())),
            _ => None,
        })
        .collect();
    let mut results = std::collections::VecDeque::new();
    if !keyspace.is_empty() || !watches.is_empty() {
        if let Err(refused) = core.shared.raft.admit().await {
            return refused;
        }
        let op = LogOp::Exec {
            items: keyspace,
            watches,
        };
        match core.propose(op).await {
            Reply::Array(v) => results.extend(v),
            Reply::NilArray => return Reply::NilArray,
            other => return other,
        }
    }
    let mut out = Vec::with_capacity(multi.items.len());
    for q in multi.items {
        out.push(match q {
            Queued::Key { .. } => results.pop_front().unwrap_or(Reply::Nil),
            Queued::Failed(e) => e,
            Queued::Server(argv) => {
                let spec = table::lookup_any_case(&argv[0]).expect("queued commands exist");
                Box::pin(super::dispatch(core, conn, spec, argv)).await
            }
        });
    }
    Reply::Array(out)
}
