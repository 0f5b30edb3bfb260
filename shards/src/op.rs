//! The operations the log carries and the one function that applies them.
//!
//! A [`LogOp`] is what a write becomes once parsed and stamped: self-contained
//! (absolute deadlines, no reference to the client), rkyv-serializable, and
//! applied by [`apply`] identically on every replica.

use cachecat_io::Reply;

use crate::cmd::tx::{self, Watch};
use crate::cmd::{execute, Cmd};
use crate::{OpCtx, Shard};

#[derive(Clone, Debug, PartialEq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub enum LogOp {
    /// One command in database `db`.
    Cmd { db: u32, cmd: Cmd },
    /// MULTI/EXEC: the queued commands with their databases, and the WATCHed
    /// keys whose versions must be unchanged.
    Exec {
        items: Vec<(u32, Cmd)>,
        watches: Vec<Watch>,
    },
}

impl LogOp {
    /// Every (database, key) the operation reads or writes, watched keys
    /// included. Empty means "every shard" for whole-database commands.
    pub fn db_keys(&self) -> Vec<(usize, &[u8])> {
        match self {
            LogOp::Cmd { db, cmd } => cmd.db_keys(*db as usize),
            LogOp::Exec { items, watches } => items
                .iter()
                .flat_map(|(db, c)| c.db_keys(*db as usize))
                .chain(watches.iter().map(|w| (w.db as usize, w.key.as_slice())))
                .collect(),
        }
    }

    /// Whether the operation must run on every shard. A transaction with
    /// SCAN does too: the scan walks the whole database (see `whole_dbs`).
    pub fn all_shards(&self) -> bool {
        match self {
            LogOp::Cmd { cmd, .. } => cmd.all_shards(),
            LogOp::Exec { items, .. } => items
                .iter()
                .any(|(_, c)| c.all_shards() || c.shard_hint().is_some()),
        }
    }

    /// The databases a transaction's whole-database commands read or write
    /// (all of them for FLUSHALL), or None when it has no such command.
    /// Such a transaction takes every key of these databases through the
    /// multi-shard barrier.
    pub fn whole_dbs(&self, databases: usize) -> Option<Vec<usize>> {
        let LogOp::Exec { items, .. } = self else {
            return None;
        };
        let mut dbs: Vec<usize> = Vec::new();
        for (db, c) in items {
            match c {
                Cmd::FlushAll | Cmd::KeyspaceInfo => dbs.extend(0..databases),
                // In a transaction SCAN walks the whole database at once.
                Cmd::Scan(c) if c.shard().is_some() => dbs.push(*db as usize),
                c if c.all_shards() => dbs.push(*db as usize),
                _ => {}
            }
        }
        if dbs.is_empty() {
            return None;
        }
        dbs.sort_unstable();
        dbs.dedup();
        Some(dbs)
    }

    pub fn is_write(&self) -> bool {
        match self {
            LogOp::Cmd { cmd, .. } => cmd.is_write(),
            LogOp::Exec { .. } => true,
        }
    }

    /// Rewrite relative expiries as deadlines at the entry's time `ts`.
    pub fn stamp(&mut self, ts: u64) {
        match self {
            LogOp::Cmd { cmd, .. } => cmd.stamp(ts),
            LogOp::Exec { items, .. } => items.iter_mut().for_each(|(_, c)| c.stamp(ts)),
        }
    }
}

/// Apply (or, for reads, evaluate) `op` on `shard`. `watches_ok` is the
/// verdict on an EXEC's watched keys (see [`watches_hold`]); it is ignored
/// for other operations.
///
/// Writes move their values out of `op` into the keyspace (no copy); the op
/// is spent afterwards.
pub fn apply(op: &mut LogOp, shard: &mut Shard, ctx: OpCtx, watches_ok: bool) -> Reply {
    let r = match op {
        LogOp::Cmd { db, cmd } => execute(cmd, shard, *db as usize, ctx),
        LogOp::Exec { items, .. } => tx::exec(items, watches_ok, shard, ctx),
    };
    if ctx.index > shard.applied {
        shard.applied = ctx.index;
    }
    r
}

/// Whether every watched key that `owns` says lives on this shard is
/// unchanged.
pub fn watches_hold(op: &LogOp, shard: &Shard, ctx: OpCtx, owns: impl Fn(&[u8]) -> bool) -> bool {
    match op {
        LogOp::Exec { watches, .. } => watches
            .iter()
            .filter(|w| owns(&w.key))
            .all(|w| tx::watch_holds(shard, w, ctx.now, ctx.index)),
        LogOp::Cmd { .. } => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_ops_roundtrip_through_rkyv() {
        let op = LogOp::Exec {
            items: vec![
                (
                    0,
                    Cmd::Set {
                        key: b"k".to_vec(),
                        val: b"v".to_vec(),
                        exp: crate::cmd::Exp::At(5),
                        cond: crate::cmd::Cond::Nx,
                        get: false,
                    },
                ),
                (
                    3,
                    Cmd::IncrBy {
                        key: b"c".to_vec(),
                        by: -2,
                    },
                ),
            ],
            watches: vec![Watch {
                db: 0,
                key: b"w".to_vec(),
                version: 4,
                seen_at: 9,
            }],
        };
        let bytes = rkyv::to_bytes::<rkyv::rancor::Error>(&op).unwrap();
        let back: LogOp = rkyv::from_bytes::<LogOp, rkyv::rancor::Error>(&bytes).unwrap();
        assert_eq!(back, op);
    }

    #[test]
    fn relative_expiry_becomes_absolute() {
        let mut op = LogOp::Cmd {
            db: 0,
            cmd: Cmd::Expire {
                key: b"k".to_vec(),
                at: crate::cmd::Exp::Rel(1500),
                cond: crate::cmd::Cond::Always,
            },
        };
        op.stamp(1000);
        match op {
            LogOp::Cmd {
                cmd: Cmd::Expire { at, .. },
                ..
            } => assert_eq!(at, crate::cmd::Exp::At(2500)),
            _ => unreachable!(),
        }
    }
}
