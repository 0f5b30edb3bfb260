//! Helpers for the command families' unit tests: run a command line against
//! a shard as the apply path would.

use cachecat_io::Reply;

use super::{execute, ParseCtx};
use crate::{OpCtx, Shard};

/// Parse and run one command line (space-separated) in database 0 at time
/// `now` with log index `index` (0 for reads). A parse error is the reply.
pub fn run(shard: &mut Shard, line: &str, now: u64, index: u64) -> Reply {
    let mut a: Vec<Vec<u8>> = line.split(' ').map(|p| p.as_bytes().to_vec()).collect();
    let spec = crate::table::lookup(&a[0].to_ascii_lowercase()).expect("command");
    assert!(spec.arity_ok(a.len()), "arity of {line}");
    let pc = ParseCtx {
        now,
        ..ParseCtx::test()
    };
    let mut cmd = match (spec.parse.expect("keyspace command"))(&mut a, &pc) {
        Ok(c) => c,
        Err(e) => return e,
    };
    cmd.stamp(now);
    execute(&mut cmd, shard, 0, OpCtx { now, index })
}

pub fn b(s: &str) -> Reply {
    Reply::bulk(s.as_bytes().to_vec())
}

/// An array of bulk strings.
pub fn arr(items: &[&str]) -> Reply {
    Reply::Array(items.iter().map(|s| b(s)).collect())
}

pub fn err(text: &str) -> Reply {
    Reply::Error(text.to_string().into())
}

/// A one-database shard with a running log index: `w` applies a write at
/// the next index, `r` evaluates a read.
pub struct Fixture {
    pub shard: Shard,
    pub index: u64,
    pub now: u64,
}

impl Default for Fixture {
    fn default() -> Fixture {
        Fixture::new()
    }
}

impl Fixture {
    pub fn new() -> Fixture {
        Fixture {
            shard: Shard::new(1),
            index: 0,
            now: 1000,
        }
    }

    pub fn w(&mut self, line: &str) -> Reply {
        self.index += 1;
        run(&mut self.shard, line, self.now, self.index)
    }

    pub fn r(&mut self, line: &str) -> Reply {
        run(&mut self.shard, line, self.now, 0)
    }

    pub fn exists(&self, key: &str) -> bool {
        self.shard.db(0).get(key.as_bytes(), self.now).is_some()
    }
}
