//! Routing of keyspace commands: single-key reads go to the owning shard;
//! writes, multi-shard reads and whole-database commands go through the
//! sequencer.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::atomic::Ordering::Relaxed;

use cachecat_io::Reply;
use cachecat_shards::cmd::Cmd;
use cachecat_shards::op::LogOp;

use crate::core::Core;

thread_local! {
    static SEED: Cell<u64> = const { Cell::new(0x853c_49e6_748f_ea9b) };
    static DATABASES: Cell<usize> = const { Cell::new(16) };
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

/// Seed this core's generator (at startup, from the OS) and record the number
/// of databases for parsers that run outside a connection's context.
pub fn init_core(seed: u64, databases: usize) {
    SEED.with(|s| s.set(seed | 1));
    DATABASES.with(|d| d.set(databases));
}

pub fn databases() -> usize {
    DATABASES.with(|d| d.get())
}

/// Run a parsed keyspace command in database `db`.
pub async fn run(core: &Rc<Core>, db: u32, cmd: Cmd) -> Reply {
    let reply = if cmd.is_write() || cmd.all_shards() {
        core.propose(LogOp::Cmd { db, cmd }).await
    } else {
        let keys = cmd.keys();
        let owner = core.owner(keys[0]);
        if keys.iter().all(|k| core.owner(k) == owner) {
            let hit = matches!(cmd, Cmd::Get { .. });
            let r = core.read(owner, db, cmd).await;
            if hit {
                let s = &core.shared.stats;
                if matches!(r, Reply::Nil) {
                    &s.keyspace_misses
                } else {
                    &s.keyspace_hits
                }
                .fetch_add(1, Relaxed);
            }
            r
        } else {
            core.propose(LogOp::Cmd { db, cmd }).await
        }
    };
    reply
}
