//! Routing of keyspace commands: single-key reads go to the owning shard;
//! writes, multi-shard reads and whole-database commands go through the
//! sequencer.

use std::cell::Cell;
use std::rc::Rc;

use cachecat_io::Reply;
use cachecat_shards::cmd::Cmd;
use cachecat_shards::op::LogOp;

use super::Step;
use crate::core::Core;

thread_local! {
    static SEED: Cell<u64> = const { Cell::new(0x853c_49e6_748f_ea9b) };
}

/// A fresh seed for commands that pick at random (reads only).
pub fn seed() -> u64 {
    SEED.with(|s| {
        let mut x = s.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.set(x);
        x
    })
}

/// Seed this core's generator (at startup, from the OS).
pub fn init_core(seed: u64) {
    SEED.with(|s| s.set(seed | 1));
}

/// Run a keyspace command at once when it can: on a leader holding its
/// lease, a read whose key lives on this core and is not held by a
/// multi-shard write (and not behind this connection's earlier commands,
/// `behind`). Writes always go through the log (`Step::Keyspace`), as does
/// anything else that must wait.
pub fn try_local(core: &Rc<Core>, db: u32, mut cmd: Cmd, behind: bool) -> Step {
    if !core.serving() {
        // Not (yet) a leader holding its lease: `run` waits or refuses.
        return Step::Keyspace(db, cmd);
    }
    if cmd.is_write() || cmd.all_shards() {
        return match core.try_apply_local(LogOp::Cmd { db, cmd }) {
            Ok(r) => Step::Reply(r),
            Err(LogOp::Cmd { db, cmd }) => Step::Keyspace(db, cmd),
            Err(_) => unreachable!("the op is returned as given"),
        };
    }
    if cmd.shard_hint().is_some() {
        // SCAN may go on to the next shard: one core runs it only alone.
        if core.n > 1 || behind {
            return Step::Keyspace(db, cmd);
        }
        return Step::Reply(core.eval_read(db, &mut cmd));
    }
    let local = match cmd.single_key() {
        Some(k) => core.owner(k) == core.id,
        None => cmd.keys().iter().all(|k| core.owner(k) == core.id),
    } && !core.touches_locked(&cmd);
    if !local || behind {
        return Step::Keyspace(db, cmd);
    }
    let r = core.eval_read(db, &mut cmd);
    count_hit(core, matches!(cmd, Cmd::Get { .. }), &r);
    Step::Reply(r)
}

/// Count a GET's hit or miss for INFO (`is_get` false: nothing to count).
pub fn count_hit(core: &Core, is_get: bool, r: &Reply) {
    if is_get {
        let s = &core.shared.stats.per_core[core.id];
        crate::shared::bump(
            if matches!(r, Reply::Nil) {
                &s.misses
            } else {
                &s.hits
            },
            1,
        );
    }
}

/// Run a parsed keyspace command in database `db`, waiting for other cores.
pub async fn run(core: &Rc<Core>, db: u32, cmd: Cmd) -> Reply {
    let read_anywhere = crate::faults::follower_reads() && !cmd.is_write() && !cmd.all_shards();
    if !read_anywhere {
        if let Err(refused) = core.shared.raft.admit().await {
            return refused;
        }
    }
    if cmd.is_write() || cmd.all_shards() {
        return core.propose(LogOp::Cmd { db, cmd }).await;
    }
    if cmd.shard_hint().is_some() {
        return scan(core, db, cmd).await;
    }
    let owner = match cmd.single_key() {
        Some(k) => Some(core.owner(k)),
        None => {
            let keys = cmd.keys();
            let first = core.owner(keys[0]);
            keys.iter().all(|k| core.owner(k) == first).then_some(first)
        }
    };
    match owner {
        Some(owner) => {
            let counted = matches!(cmd, Cmd::Get { .. });
            let r = core.read(owner, db, cmd).await;
            if counted {
                count_hit(core, true, &r);
            }
            r
        }
        None => core.propose(LogOp::Cmd { db, cmd }).await,
    }
}

/// SCAN: run on the shard its cursor names, and on the following ones while
/// they finish with fewer keys than asked for.
async fn scan(core: &Rc<Core>, db: u32, mut cmd: Cmd) -> Reply {
    let mut acc = Vec::new();
    loop {
        let shard = cmd.shard_hint().unwrap_or(0).min(core.n - 1);
        let r = core.read(shard, db, cmd.clone()).await;
        if let Some(done) = cachecat_shards::cmd::scan::fold_step(&mut cmd, r, &mut acc) {
            return done;
        }
    }
}
