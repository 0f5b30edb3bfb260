//! Keyspace commands as typed values: parsed from argv once ([`parse`]),
//! carried to the owning shard (and, for writes, through the log), then run by
//! [`execute`] against a [`Shard`] to produce the client's reply.
//!
//! A [`Cmd`] that writes is a log operation: relative TTLs are rewritten to
//! absolute deadlines by [`Cmd::stamp`] before it is sequenced, so applying it
//! needs nothing but the entry's [`OpCtx`].

pub mod access;
pub mod args;
pub mod glob;
pub mod hash;
pub mod keys;
pub mod list;
mod names;
pub mod scan;
pub mod set;
pub mod string;
#[cfg(test)]
pub mod testutil;
pub mod tx;
pub mod zrange;
pub mod zset;
mod zset_exec;

use cachecat_io::Reply;

use crate::{OpCtx, Shard, Status};

pub use names::name_of;

pub type Key = Vec<u8>;

/// An expiry as the client gave it (`Rel`), as the log carries it (`At`), or
/// one of SET's other choices.
#[derive(Clone, Debug, PartialEq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub enum Exp {
    /// Remove any TTL (plain SET, GETEX PERSIST).
    Clear,
    /// Keep the current TTL (KEEPTTL, or GETEX without options).
    Keep,
    /// Relative milliseconds from the entry's time; replaced by `At` in stamp.
    Rel(i64),
    /// Absolute deadline in ms since the epoch (may be in the past).
    At(i64),
    /// GETEX's invalid expiry, reported only if the key holds a string.
    Invalid(Status),
}

/// SET's NX / XX condition, EXPIRE's NX / XX / GT / LT.
#[derive(Clone, Copy, Debug, PartialEq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub enum Cond {
    Always,
    Nx,
    Xx,
    Gt,
    Lt,
    /// EXPIRE ... XX LT: a TTL must exist and the new one be smaller.
    XxLt,
}

/// Which clock reading a TTL-family read reports.
#[derive(Clone, Copy, Debug, PartialEq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub enum TtlKind {
    Ttl,
    Pttl,
    ExpireTime,
    PexpireTime,
}

#[derive(Clone, Copy, Debug, PartialEq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub enum ObjectSub {
    Encoding,
    Freq,
    IdleTime,
    RefCount,
}

/// A keyspace command, parsed. Keys and values are owned bytes so the value
/// can cross cores and be written to the log.
#[derive(Clone, Debug, PartialEq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub enum Cmd {
    // strings
    Get {
        key: Key,
    },
    Set {
        key: Key,
        val: Vec<u8>,
        exp: Exp,
        cond: Cond,
        get: bool,
    },
    SetNx {
        key: Key,
        val: Vec<u8>,
    },
    GetDel {
        key: Key,
    },
    GetEx {
        key: Key,
        exp: Exp,
    },
    MGet {
        keys: Vec<Key>,
    },
    MSet {
        pairs: Vec<(Key, Vec<u8>)>,
    },
    MSetNx {
        pairs: Vec<(Key, Vec<u8>)>,
    },
    IncrBy {
        key: Key,
        by: i64,
    },
    IncrByFloat {
        key: Key,
        by: Vec<u8>,
    },
    Append {
        key: Key,
        val: Vec<u8>,
    },
    Strlen {
        key: Key,
    },
    GetRange {
        key: Key,
        start: i64,
        end: i64,
    },
    SetRange {
        key: Key,
        offset: i64,
        val: Vec<u8>,
    },
    // generic keys
    Del {
        keys: Vec<Key>,
    },
    Exists {
        keys: Vec<Key>,
    },
    Touch {
        keys: Vec<Key>,
    },
    Type {
        key: Key,
    },
    Rename {
        src: Key,
        dst: Key,
        nx: bool,
    },
    Copy {
        src: Key,
        dst: Key,
        dst_db: u32,
        replace: bool,
    },
    Expire {
        key: Key,
        at: Exp,
        cond: Cond,
    },
    Persist {
        key: Key,
    },
    Ttl {
        key: Key,
        kind: TtlKind,
    },
    Object {
        key: Key,
        sub: ObjectSub,
    },
    MemoryUsage {
        key: Key,
    },
    /// Replicated reclaim of expired keys: delete each key whose version is
    /// unchanged and whose deadline is at or before the entry's time.
    DelIfVersion {
        keys: Vec<(Key, u64)>,
    },
    // whole-database commands: run on every shard, replies merged
    Keys {
        pattern: Vec<u8>,
    },
    DbSize,
    RandomKey {
        seed: u64,
    },
    FlushDb,
    FlushAll,
    /// INFO keyspace: per database [keys, volatile keys] (internal).
    KeyspaceInfo,
    // hashes
    HSet {
        key: Key,
        pairs: Vec<(Key, Vec<u8>)>,
        hmset: bool,
    },
    HSetNx {
        key: Key,
        field: Key,
        val: Vec<u8>,
    },
    HGet {
        key: Key,
        field: Key,
    },
    HMGet {
        key: Key,
        fields: Vec<Key>,
    },
    HDel {
        key: Key,
        fields: Vec<Key>,
    },
    HExists {
        key: Key,
        field: Key,
    },
    HLen {
        key: Key,
    },
    HKeys {
        key: Key,
    },
    HVals {
        key: Key,
    },
    HGetAll {
        key: Key,
    },
    HIncrBy {
        key: Key,
        field: Key,
        by: i64,
    },
    HIncrByFloat {
        key: Key,
        field: Key,
        by: Vec<u8>,
    },
    HStrlen {
        key: Key,
        field: Key,
    },
    HRandField {
        key: Key,
        count: Option<i64>,
        with_values: bool,
        seed: u64,
    },
    /// WATCH's read: the key's version, or the absent marker (internal).
    Version {
        key: Key,
    },
    /// Boxed, as the sorted-set and scan commands: an archived `Cmd` is as
    /// large as its largest variant inline, and every logged write pays
    /// that size (with these three boxed, 28 bytes instead of 43).
    Lists(Box<list::ListCmd>),
    Sets(set::SetCmd),
    ZSets(Box<zset::ZCmd>),
    Scan(Box<scan::ScanCmd>),
}

/// How replies from several shards combine for a whole-database command.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Merge {
    /// One shard, or a keyed multi-shard op run by a coordinator.
    Single,
    /// Concatenate arrays (KEYS).
    Concat,
    /// Sum integers (DBSIZE).
    Sum,
    /// One of the non-nil replies, picked at random with this seed, each
    /// equally likely (RANDOMKEY: shards hold about as many keys each).
    AnyNonNil(u64),
    /// All replied OK (FLUSHDB, FLUSHALL).
    Ok,
    /// Add arrays of integers element by element (INFO keyspace).
    SumEach,
}

impl Cmd {
    /// Whether this command changes state (goes through the sequencer and log).
    pub fn is_write(&self) -> bool {
        use Cmd::*;
        matches!(
            self,
            Set { .. }
                | SetNx { .. }
                | GetDel { .. }
                | GetEx { .. }
                | MSet { .. }
                | MSetNx { .. }
                | IncrBy { .. }
                | IncrByFloat { .. }
                | Append { .. }
                | SetRange { .. }
                | Del { .. }
                | Rename { .. }
                | Copy { .. }
                | Expire { .. }
                | Persist { .. }
                | DelIfVersion { .. }
                | FlushDb
                | FlushAll
                | HSet { .. }
                | HSetNx { .. }
                | HDel { .. }
                | HIncrBy { .. }
                | HIncrByFloat { .. }
        ) || match self {
            Lists(c) => c.is_write(),
            Sets(c) => c.is_write(),
            ZSets(c) => c.is_write(),
            _ => false,
        }
    }

    /// The keys this command touches, in argument order (duplicates kept).
    /// Empty for whole-database commands, which run on every shard.
    pub fn keys(&self) -> Vec<&[u8]> {
        use Cmd::*;
        match self {
            MGet { keys } | Del { keys } | Exists { keys } | Touch { keys } => {
                keys.iter().map(|k| k.as_slice()).collect()
            }
            MSet { pairs } | MSetNx { pairs } => pairs.iter().map(|(k, _)| k.as_slice()).collect(),
            Rename { src, dst, .. } | Copy { src, dst, .. } => vec![src, dst],
            DelIfVersion { keys } => keys.iter().map(|(k, _)| k.as_slice()).collect(),
            Lists(c) => c.keys(),
            Sets(c) => c.keys(),
            ZSets(c) => c.keys(),
            _ => self.single_key().into_iter().collect(),
        }
    }

    /// The key of a command that touches exactly one key (no allocation, for
    /// the hot path); None for multi-key and whole-database commands.
    pub fn single_key(&self) -> Option<&[u8]> {
        use Cmd::*;
        match self {
            Get { key }
            | Set { key, .. }
            | SetNx { key, .. }
            | GetDel { key }
            | GetEx { key, .. }
            | IncrBy { key, .. }
            | IncrByFloat { key, .. }
            | Append { key, .. }
            | Strlen { key }
            | GetRange { key, .. }
            | SetRange { key, .. }
            | Type { key }
            | Expire { key, .. }
            | Persist { key }
            | Ttl { key, .. }
            | Object { key, .. }
            | MemoryUsage { key }
            | HSet { key, .. }
            | HSetNx { key, .. }
            | HGet { key, .. }
            | HMGet { key, .. }
            | HDel { key, .. }
            | HExists { key, .. }
            | HLen { key }
            | HKeys { key }
            | HVals { key }
            | HGetAll { key }
            | HIncrBy { key, .. }
            | HIncrByFloat { key, .. }
            | HStrlen { key, .. }
            | HRandField { key, .. }
            | Version { key } => Some(key),
            MGet { keys } | Del { keys } | Exists { keys } | Touch { keys } => {
                (keys.len() == 1).then(|| keys[0].as_slice())
            }
            MSet { pairs } | MSetNx { pairs } => (pairs.len() == 1).then(|| pairs[0].0.as_slice()),
            Rename { .. } | Copy { .. } | DelIfVersion { .. } => None,
            Keys { .. } | DbSize | RandomKey { .. } | FlushDb | FlushAll | KeyspaceInfo => None,
            Lists(c) => c.single_key(),
            Sets(c) => c.single_key(),
            ZSets(c) => c.single_key(),
            Scan(c) => c.single_key(),
        }
    }

    /// Whether this read must record an access of its keys after it runs:
    /// Redis counts GET and the like as accesses, not TTL, TYPE, EXISTS,
    /// OBJECT or MEMORY USAGE. GET records its own while it looks the key up.
    pub fn touches(&self) -> bool {
        use Cmd::*;
        matches!(
            self,
            MGet { .. }
                | Strlen { .. }
                | GetRange { .. }
                | Touch { .. }
                | HGet { .. }
                | HMGet { .. }
                | HExists { .. }
                | HLen { .. }
                | HKeys { .. }
                | HVals { .. }
                | HGetAll { .. }
                | HStrlen { .. }
                | HRandField { .. }
        ) || match self {
            Lists(c) => !c.is_write(),
            Sets(c) => !c.is_write(),
            ZSets(c) => !c.is_write(),
            Scan(c) => c.single_key().is_some(),
            _ => false,
        }
    }

    /// Keys with the database each lives in, for a command run in `db`
    /// (COPY's destination may be another database).
    pub fn db_keys(&self, db: usize) -> Vec<(usize, &[u8])> {
        match self {
            Cmd::Copy {
                src, dst, dst_db, ..
            } => vec![(db, src), (*dst_db as usize, dst)],
            _ => self.keys().into_iter().map(|k| (db, k)).collect(),
        }
    }

    /// How replies combine when the command runs on every shard.
    pub fn merge(&self) -> Merge {
        match self {
            Cmd::Keys { .. } => Merge::Concat,
            Cmd::DbSize => Merge::Sum,
            Cmd::RandomKey { seed } => Merge::AnyNonNil(*seed),
            Cmd::FlushDb | Cmd::FlushAll => Merge::Ok,
            Cmd::KeyspaceInfo => Merge::SumEach,
            _ => Merge::Single,
        }
    }

    /// The shard a keyless command must run on (SCAN's cursor names it).
    pub fn shard_hint(&self) -> Option<usize> {
        match self {
            Cmd::Scan(c) => c.shard(),
            _ => None,
        }
    }

    /// Whether it runs on every shard (no keys, whole database).
    pub fn all_shards(&self) -> bool {
        self.merge() != Merge::Single
    }

    /// Rewrite relative expiries as absolute deadlines at the entry's time
    /// `ts` (what the log carries). Parsing already rejected values that
    /// overflow at parse time; the entry's time is later by a few ms at most,
    /// so the sum saturates.
    pub fn stamp(&mut self, ts: u64) {
        if let Cmd::Set { exp, .. } | Cmd::GetEx { exp, .. } | Cmd::Expire { at: exp, .. } = self {
            if let Exp::Rel(ms) = *exp {
                *exp = Exp::At(ms.saturating_add(ts as i64));
            }
        }
    }
}

/// Run `cmd` against `shard` in database `db`. Reads never modify the shard
/// (they may run with `ctx.index == 0`); writes stamp every key they change
/// with `ctx.index`.
pub fn execute(cmd: &mut Cmd, shard: &mut Shard, db: usize, ctx: OpCtx) -> Reply {
    let name = name_of(cmd);
    let r = match cmd {
        Cmd::Get { .. }
        | Cmd::Set { .. }
        | Cmd::SetNx { .. }
        | Cmd::GetDel { .. }
        | Cmd::GetEx { .. }
        | Cmd::MGet { .. }
        | Cmd::MSet { .. }
        | Cmd::MSetNx { .. }
        | Cmd::IncrBy { .. }
        | Cmd::IncrByFloat { .. }
        | Cmd::Append { .. }
        | Cmd::Strlen { .. }
        | Cmd::GetRange { .. }
        | Cmd::SetRange { .. } => string::execute(cmd, shard.db_mut(db), ctx),
        Cmd::HSet { .. }
        | Cmd::HSetNx { .. }
        | Cmd::HGet { .. }
        | Cmd::HMGet { .. }
        | Cmd::HDel { .. }
        | Cmd::HExists { .. }
        | Cmd::HLen { .. }
        | Cmd::HKeys { .. }
        | Cmd::HVals { .. }
        | Cmd::HGetAll { .. }
        | Cmd::HIncrBy { .. }
        | Cmd::HIncrByFloat { .. }
        | Cmd::HStrlen { .. }
        | Cmd::HRandField { .. } => hash::execute(cmd, shard.db_mut(db), ctx),
        Cmd::Version { key } => return tx::version_reply(shard, db, key, ctx.now),
        Cmd::Lists(c) => list::execute(c, shard.db_mut(db), ctx),
        Cmd::Sets(c) => set::execute(c, shard.db_mut(db), ctx),
        Cmd::ZSets(c) => zset_exec::execute(c, shard.db_mut(db), ctx),
        Cmd::Scan(c) if matches!(**c, scan::ScanCmd::Keys { .. }) => {
            return scan::scan_keys(c, shard.db(db), shard.index, shard.of, ctx.now)
        }
        Cmd::Scan(c) => scan::scan_coll(c, shard.db(db), ctx.now),
        _ => keys::execute(cmd, shard, db, ctx),
    };
    r.unwrap_or_else(|s| Reply::Error(s.text(name)))
}

/// What a parser may need besides argv: the client's database, the number of
/// databases, and a random seed for the commands that pick at random (reads
/// only: their choice never decides replicated state).
#[derive(Clone, Copy, Debug)]
pub struct ParseCtx {
    pub db: usize,
    pub databases: usize,
    pub seed: u64,
    /// The time the command is parsed at (ms), for Redis's overflow checks
    /// of relative expiries; the entry's own time is stamped later.
    pub now: u64,
}

impl ParseCtx {
    #[cfg(test)]
    pub fn test() -> ParseCtx {
        ParseCtx {
            db: 0,
            databases: crate::DEFAULT_DATABASES,
            seed: 7,
            now: 1000,
        }
    }
}

/// Parse a keyspace command from its argv (argv[0] is the name; arity is
/// already checked by the command table).
pub type Parser = fn(&mut [Vec<u8>], &ParseCtx) -> Result<Cmd, Reply>;

/// An error reply from a status, for parsers.
pub fn fail(s: Status, cmd: &str) -> Reply {
    Reply::Error(s.text(cmd))
}

/// A bulk reply holding a copy of `v`.
pub fn bulk(v: &[u8]) -> Reply {
    Reply::bulk(v.to_vec())
}
