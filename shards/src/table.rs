//! The command table: every command's name, arity, flags and key positions,
//! checked in one place before any handler runs (Redis's arity rule:
//! `arity > 0 ? argc == arity : argc >= -arity`). Keyspace commands carry
//! their parser; the server handles the rest by name.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::cmd::{hash, keys, list, scan, set, string, zrange, zset, Parser};

/// Command flags, named as Redis's COMMAND INFO reports them.
pub mod flag {
    pub const WRITE: u32 = 1;
    pub const READONLY: u32 = 1 << 1;
    pub const DENYOOM: u32 = 1 << 2;
    pub const ADMIN: u32 = 1 << 3;
    pub const PUBSUB: u32 = 1 << 4;
    pub const NOSCRIPT: u32 = 1 << 5;
    pub const LOADING: u32 = 1 << 6;
    pub const STALE: u32 = 1 << 7;
    pub const FAST: u32 = 1 << 8;
    pub const NO_AUTH: u32 = 1 << 9;
    pub const NO_MULTI: u32 = 1 << 10;
    pub const ALLOW_BUSY: u32 = 1 << 11;
    /// Key positions depend on the arguments (a numkeys argument).
    pub const MOVABLEKEYS: u32 = 1 << 12;
    /// Reads or writes user keys: a follower must refuse it (not a Redis flag).
    pub const KEYSPACE: u32 = 1 << 16;

    pub const NAMES: &[(u32, &str)] = &[
        (WRITE, "write"),
        (READONLY, "readonly"),
        (DENYOOM, "denyoom"),
        (ADMIN, "admin"),
        (PUBSUB, "pubsub"),
        (NOSCRIPT, "noscript"),
        (LOADING, "loading"),
        (STALE, "stale"),
        (FAST, "fast"),
        (NO_AUTH, "no_auth"),
        (NO_MULTI, "no_multi"),
        (ALLOW_BUSY, "allow_busy"),
        (MOVABLEKEYS, "movablekeys"),
    ];
}

pub struct Spec {
    pub name: &'static str,
    pub arity: i32,
    pub flags: u32,
    pub first_key: i32,
    pub last_key: i32,
    pub step: i32,
    /// Parser for keyspace commands; None for commands the server handles.
    pub parse: Option<Parser>,
    /// ACL categories, as COMMAND INFO lists them.
    pub acl: &'static str,
    /// COMMAND DOCS group and summary.
    pub group: &'static str,
    pub summary: &'static str,
    pub since: &'static str,
    /// Subcommand names (lower case) for container commands.
    pub subcommands: &'static [&'static str],
}

impl Spec {
    pub fn has(&self, f: u32) -> bool {
        self.flags & f != 0
    }

    /// Redis's arity rule.
    pub fn arity_ok(&self, argc: usize) -> bool {
        if self.arity > 0 {
            argc == self.arity as usize
        } else {
            argc >= (-self.arity) as usize
        }
    }
}

use flag::*;

const KS: u32 = KEYSPACE;
const R: u32 = READONLY | KEYSPACE;
const RF: u32 = READONLY | FAST | KEYSPACE;
const W: u32 = WRITE | DENYOOM | KEYSPACE;
const WF: u32 = WRITE | DENYOOM | FAST | KEYSPACE;
const WD: u32 = WRITE | KEYSPACE;
const WDF: u32 = WRITE | FAST | KEYSPACE;
const WM: u32 = WRITE | MOVABLEKEYS | KEYSPACE;
const RM: u32 = READONLY | MOVABLEKEYS | KEYSPACE;
const CONN: u32 = NOSCRIPT | LOADING | STALE | FAST;

macro_rules! spec {
    ($name:literal, $arity:expr, $flags:expr, $fk:expr, $lk:expr, $st:expr, $parse:expr,
     $acl:literal, $group:literal, $since:literal, $summary:literal $(, [$($sub:literal),*])?) => {
        Spec {
            name: $name,
            arity: $arity,
            flags: $flags,
            first_key: $fk,
            last_key: $lk,
            step: $st,
            parse: $parse,
            acl: $acl,
            group: $group,
            summary: $summary,
            since: $since,
            subcommands: &[$($($sub),*)?],
        }
    };
}

/// Every command Cache-Cat answers.
pub static COMMANDS: &[Spec] = &[
    // strings
    spec!("get", 2, RF, 1, 1, 1, Some(string::parse_get), "@read @string @fast", "string", "1.0.0", "Returns the string value of a key."),
    spec!("set", -3, W, 1, 1, 1, Some(string::parse_set), "@write @string @slow", "string", "1.0.0", "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist."),
    spec!("setnx", 3, WF, 1, 1, 1, Some(string::parse_setnx), "@write @string @fast", "string", "1.0.0", "Set the string value of a key only when the key doesn't exist."),
    spec!("setex", 4, W, 1, 1, 1, Some(string::parse_setex), "@write @string @slow", "string", "2.0.0", "Sets the string value and expiration time of a key. Creates the key if it doesn't exist."),
    spec!("psetex", 4, W, 1, 1, 1, Some(string::parse_psetex), "@write @string @slow", "string", "2.6.0", "Sets both string value and expiration time in milliseconds of a key. The key is created if it doesn't exist."),
    spec!("getset", 3, WF, 1, 1, 1, Some(string::parse_getset), "@write @string @fast", "string", "1.0.0", "Returns the previous string value of a key after setting it to a new value."),
    spec!("getdel", 2, WDF, 1, 1, 1, Some(string::parse_getdel), "@write @string @fast", "string", "6.2.0", "Returns the string value of a key after deleting the key."),
    spec!("getex", -2, WDF, 1, 1, 1, Some(string::parse_getex), "@write @string @fast", "string", "6.2.0", "Returns the string value of a key after setting its expiration time."),
    spec!("mget", -2, RF, 1, -1, 1, Some(string::parse_mget), "@read @string @fast", "string", "1.0.0", "Atomically returns the string values of one or more keys."),
    spec!("mset", -3, W, 1, -1, 2, Some(string::parse_mset), "@write @string @slow", "string", "1.0.1", "Atomically creates or modifies the string values of one or more keys."),
    spec!("msetnx", -3, W, 1, -1, 2, Some(string::parse_msetnx), "@write @string @slow", "string", "1.0.1", "Atomically modifies the string values of one or more keys only when all keys don't exist."),
    spec!("incr", 2, WF, 1, 1, 1, Some(string::parse_incr), "@write @string @fast", "string", "1.0.0", "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist."),
    spec!("decr", 2, WF, 1, 1, 1, Some(string::parse_decr), "@write @string @fast", "string", "1.0.0", "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist."),
    spec!("incrby", 3, WF, 1, 1, 1, Some(string::parse_incrby), "@write @string @fast", "string", "1.0.0", "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist."),
    spec!("decrby", 3, WF, 1, 1, 1, Some(string::parse_decrby), "@write @string @fast", "string", "1.0.0", "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist."),
    spec!("incrbyfloat", 3, WF, 1, 1, 1, Some(string::parse_incrbyfloat), "@write @string @fast", "string", "2.6.0", "Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn't exist."),
    spec!("append", 3, WF, 1, 1, 1, Some(string::parse_append), "@write @string @fast", "string", "2.0.0", "Appends a string to the value of a key. Creates the key if it doesn't exist."),
    spec!("strlen", 2, RF, 1, 1, 1, Some(string::parse_strlen), "@read @string @fast", "string", "2.2.0", "Returns the length of a string value."),
    spec!("getrange", 4, R, 1, 1, 1, Some(string::parse_getrange), "@read @string @slow", "string", "2.4.0", "Returns a substring of the string stored at a key."),
    spec!("setrange", 4, W, 1, 1, 1, Some(string::parse_setrange), "@write @string @slow", "string", "2.2.0", "Overwrites a part of a string value with another by an offset. Creates the key if it doesn't exist."),
    // generic keys
    spec!("del", -2, WD, 1, -1, 1, Some(keys::parse_del), "@keyspace @write @slow", "generic", "1.0.0", "Deletes one or more keys."),
    spec!("unlink", -2, WDF, 1, -1, 1, Some(keys::parse_del), "@keyspace @write @fast", "generic", "4.0.0", "Asynchronously deletes one or more keys."),
    spec!("exists", -2, RF, 1, -1, 1, Some(keys::parse_exists), "@keyspace @read @fast", "generic", "1.0.0", "Determines whether one or more keys exist."),
    spec!("touch", -2, RF, 1, -1, 1, Some(keys::parse_touch), "@keyspace @read @fast", "generic", "3.2.1", "Returns the number of existing keys out of those specified after updating the time they were last accessed."),
    spec!("type", 2, RF, 1, 1, 1, Some(keys::parse_type), "@keyspace @read @fast", "generic", "1.0.0", "Determines the type of value stored at a key."),
    spec!("keys", 2, R, 0, 0, 0, Some(keys::parse_keys), "@keyspace @read @slow @dangerous", "generic", "1.0.0", "Returns all key names that match a pattern."),
    spec!("randomkey", 1, R, 0, 0, 0, Some(keys::parse_randomkey), "@keyspace @read @slow", "generic", "1.0.0", "Returns a random key name from the database."),
    spec!("dbsize", 1, RF, 0, 0, 0, Some(keys::parse_dbsize), "@keyspace @read @fast", "server", "1.0.0", "Returns the number of keys in the database."),
    spec!("rename", 3, WD, 1, 2, 1, Some(keys::parse_rename), "@keyspace @write @slow", "generic", "1.0.0", "Renames a key and overwrites the destination."),
    spec!("renamenx", 3, WDF, 1, 2, 1, Some(keys::parse_renamenx), "@keyspace @write @fast", "generic", "1.0.0", "Renames a key only when the target key name doesn't exist."),
    spec!("copy", -3, W, 1, 2, 1, Some(keys::parse_copy), "@keyspace @write @slow", "generic", "6.2.0", "Copies the value of a key to a new key."),
    spec!("expire", -3, WDF, 1, 1, 1, Some(keys::parse_expire), "@keyspace @write @fast", "generic", "1.0.0", "Sets the expiration time of a key in seconds."),
    spec!("pexpire", -3, WDF, 1, 1, 1, Some(keys::parse_pexpire), "@keyspace @write @fast", "generic", "2.6.0", "Sets the expiration time of a key in milliseconds."),
    spec!("expireat", -3, WDF, 1, 1, 1, Some(keys::parse_expireat), "@keyspace @write @fast", "generic", "1.2.0", "Sets the expiration time of a key to a Unix timestamp."),
    spec!("pexpireat", -3, WDF, 1, 1, 1, Some(keys::parse_pexpireat), "@keyspace @write @fast", "generic", "2.6.0", "Sets the expiration time of a key to a Unix milliseconds timestamp."),
    spec!("persist", 2, WDF, 1, 1, 1, Some(keys::parse_persist), "@keyspace @write @fast", "generic", "2.2.0", "Removes the expiration time of a key."),
    spec!("ttl", 2, RF, 1, 1, 1, Some(keys::parse_ttl), "@keyspace @read @fast", "generic", "1.0.0", "Returns the expiration time in seconds of a key."),
    spec!("pttl", 2, RF, 1, 1, 1, Some(keys::parse_pttl), "@keyspace @read @fast", "generic", "2.6.0", "Returns the expiration time in milliseconds of a key."),
    spec!("expiretime", 2, RF, 1, 1, 1, Some(keys::parse_expiretime), "@keyspace @read @fast", "generic", "7.0.0", "Returns the expiration time of a key as a Unix timestamp."),
    spec!("pexpiretime", 2, RF, 1, 1, 1, Some(keys::parse_pexpiretime), "@keyspace @read @fast", "generic", "7.0.0", "Returns the expiration time of a key as a Unix milliseconds timestamp."),
    spec!("object", -2, R, 2, 2, 1, Some(keys::parse_object), "@keyspace @read @slow", "generic", "2.2.3", "A container for object introspection commands.", ["encoding", "freq", "idletime", "refcount"]),
    spec!("memory", -2, R, 0, 0, 0, None, "@slow", "server", "4.0.0", "A container for memory diagnostics commands.", ["usage"]),
    spec!("flushdb", -1, WD, 0, 0, 0, Some(keys::parse_flushdb), "@keyspace @write @slow @dangerous", "server", "1.0.0", "Removes all keys from the current database."),
    spec!("flushall", -1, WD, 0, 0, 0, Some(keys::parse_flushall), "@keyspace @write @slow @dangerous", "server", "1.0.0", "Removes all keys from all databases."),
    // hashes
    spec!("hset", -4, WF, 1, 1, 1, Some(hash::parse_hset), "@write @hash @fast", "hash", "2.0.0", "Creates or modifies the value of a field in a hash."),
    spec!("hsetnx", 4, WF, 1, 1, 1, Some(hash::parse_hsetnx), "@write @hash @fast", "hash", "2.0.0", "Sets the value of a field in a hash only when the field doesn't exist."),
    spec!("hmset", -4, WF, 1, 1, 1, Some(hash::parse_hmset), "@write @hash @fast", "hash", "2.0.0", "Sets the values of multiple fields."),
    spec!("hget", 3, RF, 1, 1, 1, Some(hash::parse_hget), "@read @hash @fast", "hash", "2.0.0", "Returns the value of a field in a hash."),
    spec!("hmget", -3, RF, 1, 1, 1, Some(hash::parse_hmget), "@read @hash @fast", "hash", "2.0.0", "Returns the values of all fields in a hash."),
    spec!("hdel", -3, WDF, 1, 1, 1, Some(hash::parse_hdel), "@write @hash @fast", "hash", "2.0.0", "Deletes one or more fields and their values from a hash. Deletes the hash if no fields remain."),
    spec!("hexists", 3, RF, 1, 1, 1, Some(hash::parse_hexists), "@read @hash @fast", "hash", "2.0.0", "Determines whether a field exists in a hash."),
    spec!("hlen", 2, RF, 1, 1, 1, Some(hash::parse_hlen), "@read @hash @fast", "hash", "2.0.0", "Returns the number of fields in a hash."),
    spec!("hkeys", 2, R, 1, 1, 1, Some(hash::parse_hkeys), "@read @hash @slow", "hash", "2.0.0", "Returns all fields in a hash."),
    spec!("hvals", 2, R, 1, 1, 1, Some(hash::parse_hvals), "@read @hash @slow", "hash", "2.0.0", "Returns all values in a hash."),
    spec!("hgetall", 2, R, 1, 1, 1, Some(hash::parse_hgetall), "@read @hash @slow", "hash", "2.0.0", "Returns all fields and values in a hash."),
    spec!("hincrby", 4, WF, 1, 1, 1, Some(hash::parse_hincrby), "@write @hash @fast", "hash", "2.0.0", "Increments the integer value of a field in a hash by a number. Uses 0 as initial value if the field doesn't exist."),
    spec!("hincrbyfloat", 4, WF, 1, 1, 1, Some(hash::parse_hincrbyfloat), "@write @hash @fast", "hash", "2.6.0", "Increments the floating point value of a field by a number. Uses 0 as initial value if the field doesn't exist."),
    spec!("hstrlen", 3, RF, 1, 1, 1, Some(hash::parse_hstrlen), "@read @hash @fast", "hash", "3.2.0", "Returns the length of the value of a field."),
    spec!("hrandfield", -2, R, 1, 1, 1, Some(hash::parse_hrandfield), "@read @hash @slow", "hash", "6.2.0", "Returns one or more random fields from a hash."),
    // scans
    spec!("scan", -2, R, 0, 0, 0, Some(scan::parse_scan), "@keyspace @read @slow", "generic", "2.8.0", "Iterates over the key names in the database."),
    spec!("hscan", -3, R, 1, 1, 1, Some(scan::parse_hscan), "@read @hash @slow", "hash", "2.8.0", "Iterates over fields and values of a hash."),
    spec!("sscan", -3, R, 1, 1, 1, Some(scan::parse_sscan), "@read @set @slow", "set", "2.8.0", "Iterates over members of a set."),
    spec!("zscan", -3, R, 1, 1, 1, Some(scan::parse_zscan), "@read @sortedset @slow", "sorted-set", "2.8.0", "Iterates over members and scores of a sorted set."),
    // lists
    spec!("lpush", -3, WF, 1, 1, 1, Some(list::parse_lpush), "@write @list @fast", "list", "1.0.0", "Prepends one or more elements to a list. Creates the key if it doesn't exist."),
    spec!("rpush", -3, WF, 1, 1, 1, Some(list::parse_rpush), "@write @list @fast", "list", "1.0.0", "Appends one or more elements to a list. Creates the key if it doesn't exist."),
    spec!("lpushx", -3, WF, 1, 1, 1, Some(list::parse_lpushx), "@write @list @fast", "list", "2.2.0", "Prepends one or more elements to a list only when the list exists."),
    spec!("rpushx", -3, WF, 1, 1, 1, Some(list::parse_rpushx), "@write @list @fast", "list", "2.2.0", "Appends an element to a list only when the list exists."),
    spec!("lpop", -2, WDF, 1, 1, 1, Some(list::parse_lpop), "@write @list @fast", "list", "1.0.0", "Returns the first elements in a list after removing it. Deletes the list if the last element was popped."),
    spec!("rpop", -2, WDF, 1, 1, 1, Some(list::parse_rpop), "@write @list @fast", "list", "1.0.0", "Returns and removes the last elements of a list. Deletes the list if the last element was popped."),
    spec!("llen", 2, RF, 1, 1, 1, Some(list::parse_llen), "@read @list @fast", "list", "1.0.0", "Returns the length of a list."),
    spec!("lrange", 4, R, 1, 1, 1, Some(list::parse_lrange), "@read @list @slow", "list", "1.0.0", "Returns a range of elements from a list."),
    spec!("lindex", 3, R, 1, 1, 1, Some(list::parse_lindex), "@read @list @slow", "list", "1.0.0", "Returns an element from a list by its index."),
    spec!("lset", 4, W, 1, 1, 1, Some(list::parse_lset), "@write @list @slow", "list", "1.0.0", "Sets the value of an element in a list by its index."),
    spec!("lrem", 4, WD, 1, 1, 1, Some(list::parse_lrem), "@write @list @slow", "list", "1.0.0", "Removes elements from a list. Deletes the list if the last element was removed."),
    spec!("ltrim", 4, WD, 1, 1, 1, Some(list::parse_ltrim), "@write @list @slow", "list", "1.0.0", "Removes elements from both ends a list. Deletes the list if all elements were trimmed."),
    spec!("linsert", 5, W, 1, 1, 1, Some(list::parse_linsert), "@write @list @slow", "list", "2.2.0", "Inserts an element before or after another element in a list."),
    spec!("lpos", -3, R, 1, 1, 1, Some(list::parse_lpos), "@read @list @slow", "list", "6.0.6", "Returns the index of matching elements in a list."),
    spec!("lmove", 5, W, 1, 2, 1, Some(list::parse_lmove), "@write @list @slow", "list", "6.2.0", "Returns an element after popping it from one list and pushing it to another. Deletes the list if the last element was moved."),
    spec!("rpoplpush", 3, W, 1, 2, 1, Some(list::parse_rpoplpush), "@write @list @slow", "list", "1.2.0", "Returns the last element of a list after removing and pushing it to another list. Deletes the list if the last element was popped."),
    spec!("lmpop", -4, WM, 0, 0, 0, Some(list::parse_lmpop), "@write @list @slow", "list", "7.0.0", "Returns multiple elements from a list after removing them. Deletes the list if the last element was popped."),
    // sets
    spec!("sadd", -3, WF, 1, 1, 1, Some(set::parse_sadd), "@write @set @fast", "set", "1.0.0", "Adds one or more members to a set. Creates the key if it doesn't exist."),
    spec!("srem", -3, WDF, 1, 1, 1, Some(set::parse_srem), "@write @set @fast", "set", "1.0.0", "Removes one or more members from a set. Deletes the set if the last member was removed."),
    spec!("smembers", 2, R, 1, 1, 1, Some(set::parse_smembers), "@read @set @slow", "set", "1.0.0", "Returns all members of a set."),
    spec!("sismember", 3, RF, 1, 1, 1, Some(set::parse_sismember), "@read @set @fast", "set", "1.0.0", "Determines whether a member belongs to a set."),
    spec!("smismember", -3, RF, 1, 1, 1, Some(set::parse_smismember), "@read @set @fast", "set", "6.2.0", "Determines whether multiple members belong to a set."),
    spec!("scard", 2, RF, 1, 1, 1, Some(set::parse_scard), "@read @set @fast", "set", "1.0.0", "Returns the number of members in a set."),
    spec!("spop", -2, WDF, 1, 1, 1, Some(set::parse_spop), "@write @set @fast", "set", "1.0.0", "Returns one or more random members from a set after removing them. Deletes the set if the last member was popped."),
    spec!("srandmember", -2, R, 1, 1, 1, Some(set::parse_srandmember), "@read @set @slow", "set", "1.0.0", "Get one or multiple random members from a set"),
    spec!("sinter", -2, R, 1, -1, 1, Some(set::parse_sinter), "@read @set @slow", "set", "1.0.0", "Returns the intersect of multiple sets."),
    spec!("sunion", -2, R, 1, -1, 1, Some(set::parse_sunion), "@read @set @slow", "set", "1.0.0", "Returns the union of multiple sets."),
    spec!("sdiff", -2, R, 1, -1, 1, Some(set::parse_sdiff), "@read @set @slow", "set", "1.0.0", "Returns the difference of multiple sets."),
    spec!("sinterstore", -3, W, 1, -1, 1, Some(set::parse_sinterstore), "@write @set @slow", "set", "1.0.0", "Stores the intersect of multiple sets in a key."),
    spec!("sunionstore", -3, W, 1, -1, 1, Some(set::parse_sunionstore), "@write @set @slow", "set", "1.0.0", "Stores the union of multiple sets in a key."),
    spec!("sdiffstore", -3, W, 1, -1, 1, Some(set::parse_sdiffstore), "@write @set @slow", "set", "1.0.0", "Stores the difference of multiple sets in a key."),
    spec!("sintercard", -3, RM, 0, 0, 0, Some(set::parse_sintercard), "@read @set @slow", "set", "7.0.0", "Returns the number of members of the intersect of multiple sets."),
    spec!("smove", 4, WDF, 1, 2, 1, Some(set::parse_smove), "@write @set @fast", "set", "1.0.0", "Moves a member from one set to another."),
    // sorted sets
    spec!("zadd", -4, WF, 1, 1, 1, Some(zset::parse_zadd), "@write @sortedset @fast", "sorted-set", "1.2.0", "Adds one or more members to a sorted set, or updates their scores. Creates the key if it doesn't exist."),
    spec!("zincrby", 4, WF, 1, 1, 1, Some(zset::parse_zincrby), "@write @sortedset @fast", "sorted-set", "1.2.0", "Increments the score of a member in a sorted set."),
    spec!("zrem", -3, WDF, 1, 1, 1, Some(zset::parse_zrem), "@write @sortedset @fast", "sorted-set", "1.2.0", "Removes one or more members from a sorted set. Deletes the sorted set if all members were removed."),
    spec!("zscore", 3, RF, 1, 1, 1, Some(zset::parse_zscore), "@read @sortedset @fast", "sorted-set", "1.2.0", "Returns the score of a member in a sorted set."),
    spec!("zmscore", -3, RF, 1, 1, 1, Some(zset::parse_zmscore), "@read @sortedset @fast", "sorted-set", "6.2.0", "Returns the score of one or more members in a sorted set."),
    spec!("zcard", 2, RF, 1, 1, 1, Some(zset::parse_zcard), "@read @sortedset @fast", "sorted-set", "1.2.0", "Returns the number of members in a sorted set."),
    spec!("zcount", 4, RF, 1, 1, 1, Some(zset::parse_zcount), "@read @sortedset @fast", "sorted-set", "2.0.0", "Returns the count of members in a sorted set that have scores within a range."),
    spec!("zlexcount", 4, RF, 1, 1, 1, Some(zset::parse_zlexcount), "@read @sortedset @fast", "sorted-set", "2.8.9", "Returns the number of members in a sorted set within a lexicographical range."),
    spec!("zrank", 3, RF, 1, 1, 1, Some(zset::parse_zrank), "@read @sortedset @fast", "sorted-set", "2.0.0", "Returns the index of a member in a sorted set ordered by ascending scores."),
    spec!("zrevrank", 3, RF, 1, 1, 1, Some(zset::parse_zrevrank), "@read @sortedset @fast", "sorted-set", "2.0.0", "Returns the index of a member in a sorted set ordered by descending scores."),
    spec!("zrange", -4, R, 1, 1, 1, Some(zrange::parse_zrange), "@read @sortedset @slow", "sorted-set", "1.2.0", "Returns members in a sorted set within a range of indexes."),
    spec!("zrangestore", -5, W, 1, 2, 1, Some(zrange::parse_zrangestore), "@write @sortedset @slow", "sorted-set", "6.2.0", "Stores a range of members from sorted set in a key."),
    spec!("zrevrange", -4, R, 1, 1, 1, Some(zrange::parse_zrevrange), "@read @sortedset @slow", "sorted-set", "1.2.0", "Returns members in a sorted set within a range of indexes in reverse order."),
    spec!("zrangebyscore", -4, R, 1, 1, 1, Some(zrange::parse_zrangebyscore), "@read @sortedset @slow", "sorted-set", "1.0.5", "Returns members in a sorted set within a range of scores."),
    spec!("zrevrangebyscore", -4, R, 1, 1, 1, Some(zrange::parse_zrevrangebyscore), "@read @sortedset @slow", "sorted-set", "2.2.0", "Returns members in a sorted set within a range of scores in reverse order."),
    spec!("zrangebylex", -4, R, 1, 1, 1, Some(zrange::parse_zrangebylex), "@read @sortedset @slow", "sorted-set", "2.8.9", "Returns members in a sorted set within a lexicographical range."),
    spec!("zrevrangebylex", -4, R, 1, 1, 1, Some(zrange::parse_zrevrangebylex), "@read @sortedset @slow", "sorted-set", "2.8.9", "Returns members in a sorted set within a lexicographical range in reverse order."),
    spec!("zpopmin", -2, WDF, 1, 1, 1, Some(zset::parse_zpopmin), "@write @sortedset @fast", "sorted-set", "5.0.0", "Returns the lowest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped."),
    spec!("zpopmax", -2, WDF, 1, 1, 1, Some(zset::parse_zpopmax), "@write @sortedset @fast", "sorted-set", "5.0.0", "Returns the highest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped."),
    spec!("zmpop", -4, WM, 0, 0, 0, Some(zset::parse_zmpop), "@write @sortedset @slow", "sorted-set", "7.0.0", "Returns the highest- or lowest-scoring members from one or more sorted sets after removing them. Deletes the sorted set if the last member was popped."),
    spec!("zremrangebyrank", 4, WD, 1, 1, 1, Some(zset::parse_zremrangebyrank), "@write @sortedset @slow", "sorted-set", "2.0.0", "Removes members in a sorted set within a range of indexes. Deletes the sorted set if all members were removed."),
    spec!("zremrangebyscore", 4, WD, 1, 1, 1, Some(zset::parse_zremrangebyscore), "@write @sortedset @slow", "sorted-set", "1.2.0", "Removes members in a sorted set within a range of scores. Deletes the sorted set if all members were removed."),
    spec!("zremrangebylex", 4, WD, 1, 1, 1, Some(zset::parse_zremrangebylex), "@write @sortedset @slow", "sorted-set", "2.8.9", "Removes members in a sorted set within a lexicographical range. Deletes the sorted set if all members were removed."),
    spec!("zunionstore", -4, WM | DENYOOM, 1, 1, 1, Some(zset::parse_zunionstore), "@write @sortedset @slow", "sorted-set", "2.0.0", "Stores the union of multiple sorted sets in a key."),
    spec!("zinterstore", -4, WM | DENYOOM, 1, 1, 1, Some(zset::parse_zinterstore), "@write @sortedset @slow", "sorted-set", "2.0.0", "Stores the intersect of multiple sorted sets in a key."),
    spec!("zdiffstore", -4, WM | DENYOOM, 1, 1, 1, Some(zset::parse_zdiffstore), "@write @sortedset @slow", "sorted-set", "6.2.0", "Stores the difference of multiple sorted sets in a key."),
    spec!("zunion", -3, RM, 0, 0, 0, Some(zset::parse_zunion), "@read @sortedset @slow", "sorted-set", "6.2.0", "Returns the union of multiple sorted sets."),
    spec!("zinter", -3, RM, 0, 0, 0, Some(zset::parse_zinter), "@read @sortedset @slow", "sorted-set", "6.2.0", "Returns the intersect of multiple sorted sets."),
    spec!("zdiff", -3, RM, 0, 0, 0, Some(zset::parse_zdiff), "@read @sortedset @slow", "sorted-set", "6.2.0", "Returns the difference between multiple sorted sets."),
    spec!("zrandmember", -2, R, 1, 1, 1, Some(zset::parse_zrandmember), "@read @sortedset @slow", "sorted-set", "6.2.0", "Returns one or more random members from a sorted set."),
    // transactions
    spec!("multi", 1, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY, 0, 0, 0, None, "@fast @transaction", "transactions", "1.2.0", "Starts a transaction."),
    spec!("exec", 1, NOSCRIPT | LOADING | STALE, 0, 0, 0, None, "@slow @transaction", "transactions", "1.2.0", "Executes all commands in a transaction."),
    spec!("discard", 1, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY, 0, 0, 0, None, "@fast @transaction", "transactions", "2.0.0", "Discards a transaction."),
    spec!("watch", -2, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY | NO_MULTI | KS, 1, -1, 1, None, "@fast @transaction", "transactions", "2.2.0", "Monitors changes to keys to determine the execution of a transaction."),
    spec!("unwatch", 1, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY, 0, 0, 0, None, "@fast @transaction", "transactions", "2.2.0", "Forgets about watched keys of a transaction."),
    // connection
    // pub/sub
    spec!("subscribe", -2, PUBSUB | NOSCRIPT | LOADING | STALE, 0, 0, 0, None, "@pubsub @slow", "pubsub", "2.0.0", "Listens for messages published to channels."),
    spec!("unsubscribe", -1, PUBSUB | NOSCRIPT | LOADING | STALE, 0, 0, 0, None, "@pubsub @slow", "pubsub", "2.0.0", "Stops listening to messages posted to channels."),
    spec!("psubscribe", -2, PUBSUB | NOSCRIPT | LOADING | STALE, 0, 0, 0, None, "@pubsub @slow", "pubsub", "2.0.0", "Listens for messages published to channels that match one or more patterns."),
    spec!("punsubscribe", -1, PUBSUB | NOSCRIPT | LOADING | STALE, 0, 0, 0, None, "@pubsub @slow", "pubsub", "2.0.0", "Stops listening to messages published to channels that match one or more patterns."),
    spec!("publish", 3, PUBSUB | LOADING | STALE | FAST, 0, 0, 0, None, "@pubsub @fast", "pubsub", "2.0.0", "Posts a message to a channel."),
    spec!("pubsub", -2, 0, 0, 0, 0, None, "@slow", "pubsub", "2.8.0", "A container for Pub/Sub commands.", ["channels", "numsub", "numpat", "help"]),
    spec!("ping", -1, FAST, 0, 0, 0, None, "@fast @connection", "connection", "1.0.0", "Returns the server's liveliness response."),
    spec!("echo", 2, FAST, 0, 0, 0, None, "@fast @connection", "connection", "1.0.0", "Returns the given string."),
    spec!("hello", -1, CONN | NO_AUTH | ALLOW_BUSY, 0, 0, 0, None, "@fast @connection", "connection", "6.0.0", "Handshakes with the Redis server."),
    spec!("auth", -2, CONN | NO_AUTH | ALLOW_BUSY, 0, 0, 0, None, "@fast @connection", "connection", "1.0.0", "Authenticates the connection."),
    spec!("select", 2, LOADING | STALE | FAST, 0, 0, 0, None, "@fast @connection", "connection", "1.0.0", "Changes the selected database."),
    spec!("quit", -1, CONN | NO_AUTH | ALLOW_BUSY, 0, 0, 0, None, "@fast @connection", "connection", "1.0.0", "Closes the connection."),
    spec!("reset", 1, CONN | NO_AUTH | ALLOW_BUSY, 0, 0, 0, None, "@fast @connection", "connection", "6.2.0", "Resets the connection."),
    spec!("client", -2, NOSCRIPT | LOADING | STALE, 0, 0, 0, None, "@slow @connection", "connection", "2.4.0", "A container for client connection commands.", ["id", "setname", "getname", "setinfo", "list", "info", "kill", "no-evict", "help"]),
    // server
    spec!("command", -1, LOADING | STALE, 0, 0, 0, None, "@slow @connection", "server", "2.8.13", "Returns detailed information about all commands.", ["count", "info", "docs", "list", "help"]),
    spec!("info", -1, LOADING | STALE, 0, 0, 0, None, "@slow @dangerous", "server", "1.0.0", "Returns information and statistics about the server."),
    spec!("config", -2, ADMIN | NOSCRIPT | LOADING | STALE, 0, 0, 0, None, "@admin @slow @dangerous", "server", "2.0.0", "A container for server configuration commands.", ["get", "set", "resetstat", "help"]),
    spec!("time", 1, LOADING | STALE | FAST, 0, 0, 0, None, "@fast", "server", "2.6.0", "Returns the server time."),
    spec!("raft", -2, ADMIN | NOSCRIPT | LOADING | STALE, 0, 0, 0, None, "@admin @slow @dangerous", "server", "7.0.0", "Cluster status and membership: STATUS, ADD-LEARNER, PROMOTE, REMOVE, TRANSFER-LEADER."),
    spec!("sentinel", -2, ADMIN | NOSCRIPT | LOADING | STALE, 0, 0, 0, None, "@admin @slow @dangerous", "sentinel", "2.8.4", "Sentinel discovery: MASTERS, MASTER, GET-MASTER-ADDR-BY-NAME, REPLICAS, SENTINELS, MYID, CKQUORUM, FAILOVER."),
    spec!("role", 1, NOSCRIPT | LOADING | STALE | FAST, 0, 0, 0, None, "@admin @fast @dangerous", "server", "2.8.12", "Returns the replication role."),
    spec!("lastsave", 1, LOADING | STALE | FAST, 0, 0, 0, None, "@fast @dangerous", "server", "1.0.0", "Returns the Unix timestamp of the last successful save to disk."),
    spec!("debug", -2, ADMIN | NOSCRIPT | LOADING | STALE, 0, 0, 0, None, "@admin @slow @dangerous", "server", "1.0.0", "A container for debugging commands.", ["keyshard"]),
    spec!("function", -2, NOSCRIPT | WRITE, 0, 0, 0, None, "@write @slow @scripting", "scripting", "7.0.0", "A container for function commands.", ["flush"]),
];

/// A fixed seed of its own: built once, possibly before the tables' seed is set.
type Index = HashMap<&'static [u8], &'static Spec, foldhash::fast::FixedState>;

fn index() -> &'static Index {
    static INDEX: OnceLock<Index> = OnceLock::new();
    INDEX.get_or_init(|| COMMANDS.iter().map(|s| (s.name.as_bytes(), s)).collect())
}

/// The spec for a command name given in lower case.
pub fn lookup(lower: &[u8]) -> Option<&'static Spec> {
    index().get(lower).copied()
}

/// Case-insensitive lookup without allocating (names are short).
pub fn lookup_any_case(name: &[u8]) -> Option<&'static Spec> {
    let mut buf = [0u8; 24];
    if name.len() > buf.len() {
        return None;
    }
    let lower = &mut buf[..name.len()];
    lower.copy_from_slice(name);
    lower.make_ascii_lowercase();
    lookup(lower)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::ParseCtx;

    #[test]
    fn arity_rule() {
        let get = lookup(b"get").unwrap();
        assert!(get.arity_ok(2));
        assert!(!get.arity_ok(3));
        let set = lookup(b"set").unwrap();
        assert!(set.arity_ok(3) && set.arity_ok(9) && !set.arity_ok(2));
        assert!(lookup_any_case(b"GeT").is_some());
        assert!(lookup_any_case(b"nosuchcommand").is_none());
    }

    #[test]
    fn names_unique_and_flags_consistent() {
        let mut seen = std::collections::HashSet::new();
        for s in COMMANDS {
            assert!(seen.insert(s.name), "duplicate {}", s.name);
            assert!(!(s.has(WRITE) && s.has(READONLY)), "{}", s.name);
            if s.parse.is_some() {
                assert!(s.has(KEYSPACE), "{} parses keyspace ops", s.name);
            }
        }
    }

    /// Every command flagged WRITE that the keyspace parses must become a
    /// write op (and so go through the sequencer and the log), and every op
    /// that writes must come from a WRITE command.
    #[test]
    fn every_write_command_goes_through_the_log() {
        let samples: &[&[&str]] = &[
            &["get", "k"],
            &["set", "k", "v"],
            &["setnx", "k", "v"],
            &["setex", "k", "1", "v"],
            &["psetex", "k", "1", "v"],
            &["getset", "k", "v"],
            &["getdel", "k"],
            &["getex", "k"],
            &["mget", "k"],
            &["mset", "k", "v"],
            &["msetnx", "k", "v"],
            &["incr", "k"],
            &["decr", "k"],
            &["incrby", "k", "1"],
            &["decrby", "k", "1"],
            &["incrbyfloat", "k", "1"],
            &["append", "k", "v"],
            &["strlen", "k"],
            &["getrange", "k", "0", "1"],
            &["setrange", "k", "0", "v"],
            &["del", "k"],
            &["unlink", "k"],
            &["exists", "k"],
            &["touch", "k"],
            &["type", "k"],
            &["keys", "*"],
            &["randomkey"],
            &["dbsize"],
            &["rename", "a", "b"],
            &["renamenx", "a", "b"],
            &["copy", "a", "b"],
            &["expire", "k", "1"],
            &["pexpire", "k", "1"],
            &["expireat", "k", "1"],
            &["pexpireat", "k", "1"],
            &["persist", "k"],
            &["ttl", "k"],
            &["pttl", "k"],
            &["expiretime", "k"],
            &["pexpiretime", "k"],
            &["object", "encoding", "k"],
            &["flushdb"],
            &["flushall"],
            &["hset", "h", "f", "v"],
            &["hsetnx", "h", "f", "v"],
            &["hmset", "h", "f", "v"],
            &["hget", "h", "f"],
            &["hmget", "h", "f"],
            &["hdel", "h", "f"],
            &["hexists", "h", "f"],
            &["hlen", "h"],
            &["hkeys", "h"],
            &["hvals", "h"],
            &["hgetall", "h"],
            &["hincrby", "h", "f", "1"],
            &["hincrbyfloat", "h", "f", "1"],
            &["hstrlen", "h", "f"],
            &["hrandfield", "h"],
            &["lpush", "l", "a"],
            &["rpush", "l", "a"],
            &["lpushx", "l", "a"],
            &["rpushx", "l", "a"],
            &["lpop", "l"],
            &["rpop", "l", "2"],
            &["llen", "l"],
            &["lrange", "l", "0", "-1"],
            &["lindex", "l", "0"],
            &["lset", "l", "0", "v"],
            &["lrem", "l", "0", "v"],
            &["ltrim", "l", "0", "1"],
            &["linsert", "l", "before", "a", "b"],
            &["lpos", "l", "a"],
            &["lmove", "l", "m", "left", "right"],
            &["rpoplpush", "l", "m"],
            &["lmpop", "2", "l", "m", "left"],
            &["sadd", "s", "a"],
            &["srem", "s", "a"],
            &["smembers", "s"],
            &["sismember", "s", "a"],
            &["smismember", "s", "a"],
            &["scard", "s"],
            &["spop", "s"],
            &["srandmember", "s"],
            &["sinter", "s", "t"],
            &["sunion", "s", "t"],
            &["sdiff", "s", "t"],
            &["sinterstore", "d", "s", "t"],
            &["sunionstore", "d", "s", "t"],
            &["sdiffstore", "d", "s", "t"],
            &["sintercard", "2", "s", "t"],
            &["smove", "s", "t", "a"],
            &["zadd", "z", "1", "a"],
            &["zincrby", "z", "1", "a"],
            &["zrem", "z", "a"],
            &["zscore", "z", "a"],
            &["zmscore", "z", "a"],
            &["zcard", "z"],
            &["zcount", "z", "0", "1"],
            &["zlexcount", "z", "-", "+"],
            &["zrank", "z", "a"],
            &["zrevrank", "z", "a"],
            &["zrange", "z", "0", "-1"],
            &["zrangestore", "d", "z", "0", "-1"],
            &["zrevrange", "z", "0", "-1"],
            &["zrangebyscore", "z", "0", "1"],
            &["zrevrangebyscore", "z", "1", "0"],
            &["zrangebylex", "z", "-", "+"],
            &["zrevrangebylex", "z", "+", "-"],
            &["zpopmin", "z"],
            &["zpopmax", "z"],
            &["zmpop", "1", "z", "min"],
            &["zremrangebyrank", "z", "0", "1"],
            &["zremrangebyscore", "z", "0", "1"],
            &["zremrangebylex", "z", "-", "+"],
            &["zunionstore", "d", "1", "z"],
            &["zinterstore", "d", "1", "z"],
            &["zdiffstore", "d", "1", "z"],
            &["zunion", "1", "z"],
            &["zinter", "1", "z"],
            &["zdiff", "1", "z"],
            &["zrandmember", "z"],
            &["scan", "0"],
            &["hscan", "h", "0"],
            &["sscan", "s", "0"],
            &["zscan", "z", "0"],
        ];
        let pc = ParseCtx {
            db: 0,
            databases: 16,
            seed: 1,
            now: 1000,
        };
        let mut covered = std::collections::HashSet::new();
        for argv in samples {
            let spec = lookup(argv[0].as_bytes()).unwrap();
            let mut a: Vec<Vec<u8>> = argv.iter().map(|s| s.as_bytes().to_vec()).collect();
            let cmd = (spec.parse.unwrap())(&mut a, &pc).unwrap();
            assert_eq!(spec.has(WRITE), cmd.is_write(), "{}", spec.name);
            covered.insert(spec.name);
        }
        for s in COMMANDS.iter().filter(|s| s.parse.is_some()) {
            assert!(covered.contains(s.name), "no sample for {}", s.name);
        }
    }
}
