//! One shard's keyspace: databases of entries, each entry a value with its
//! absolute expiry deadline and its version (the log index of its last write).
//!
//! Expired entries are invisible to every lookup at once; they are removed
//! either by a write that touches them or by a replicated conditional delete
//! (`Cmd::DelIfVersion`) that the expiry sweep proposes. Nothing here reads a
//! clock: `now` always comes from the caller's [`crate::OpCtx`].

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use indexmap::IndexMap;

use crate::segmap::SegMap;

use crate::types::{ListVal, SetVal};
use crate::zset::ZSetVal;

/// The seed of every hash table in the state machine (see [`Hasher`]).
static TABLE_SEED: AtomicU64 = AtomicU64::new(0x5EED_CA7C_A75E_ED00);

/// Seed the state machine's hash tables, once, before any table is built.
/// The server derives it from the cluster secret: the same on every replica
/// (so even read-side orders agree) and unknown to clients, who therefore
/// cannot pick keys that collide (hash flooding).
pub fn set_table_seed(seed: u64) {
    TABLE_SEED.store(seed, Relaxed);
}

/// The hasher of every table in the state machine: foldhash with the
/// cluster's seed. Table iteration order never decides replicated state.
#[derive(Clone, Copy, Debug, Default)]
pub struct Hasher;

impl std::hash::BuildHasher for Hasher {
    type Hasher = foldhash::fast::FoldHasher;

    fn build_hasher(&self) -> Self::Hasher {
        foldhash::fast::FixedState::with_seed(TABLE_SEED.load(Relaxed)).build_hasher()
    }
}
pub type Key = Box<[u8]>;

/// How far back (in versions: 65536 log entries) each database remembers
/// deletions for WATCH on absent keys. The window is measured from the
/// EXEC's own position, so every replica decides a watch the same way
/// whatever its thread count.
pub const DELETION_WINDOW: u64 = 1 << 32;
/// A memory guard: past this many remembered deletions in one database of
/// one shard, the oldest are forgotten early (their watches then abort
/// conservatively, and replicas with other thread counts may disagree).
const DELETIONS_CAP: usize = 1 << 20;

/// Recent deletions, for WATCH: the latest version each key was deleted
/// at, within the window.
#[derive(Default)]
pub struct Deletions {
    order: VecDeque<(Key, u64)>,
    last: std::collections::HashMap<Key, u64, Hasher>,
    /// Deletions up to here were forgotten early (the memory guard).
    floor: u64,
}

impl Deletions {
    fn note(&mut self, k: Key, index: u64) {
        while let Some((_, i)) = self.order.front() {
            let aged = i.saturating_add(DELETION_WINDOW) < index;
            if !aged && self.order.len() < DELETIONS_CAP {
                break;
            }
            let (old, i) = self.order.pop_front().expect("front");
            if !aged {
                self.floor = self.floor.max(i);
            }
            if self.last.get(&old) == Some(&i) {
                self.last.remove(&old);
            }
        }
        self.last.insert(k.clone(), index);
        self.order.push_back((k, index));
    }

    /// The latest version at which `key` may have been deleted, as seen by
    /// an operation at version `at`: its deletion when within the window,
    /// else the window's start.
    fn latest(&self, key: &[u8], at: u64) -> u64 {
        let start = at.saturating_sub(DELETION_WINDOW).max(self.floor);
        match self.last.get(key) {
            Some(&i) if i >= start => i,
            _ => start,
        }
    }
}

/// Redis converts a small hash (listpack) to a hashtable past these sizes
/// (Redis 7.0's built-in defaults; its sample redis.conf lowers entries to
/// 128). Fixed, because the encoding decides iteration order, which replicas
/// must agree on.
pub const HASH_MAX_LISTPACK_ENTRIES: usize = 512;
pub const HASH_MAX_LISTPACK_VALUE: usize = 64;

#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub value: Value,
    /// Absolute deadline in ms since the epoch; 0 means no expiry.
    pub expire_at: u64,
    /// Log index of the last write to this key.
    pub version: u64,
    /// Seconds (logical time) of the last access, for OBJECT IDLETIME and,
    /// later, the leader's eviction choices. Not replicated state: a replica
    /// serves no reads, so its value differs; digests and snapshots skip it.
    pub atime: u32,
}

impl Entry {
    pub fn new(value: Value, version: u64) -> Entry {
        Entry {
            value,
            expire_at: 0,
            version,
            atime: 0,
        }
    }

    /// Record an access at logical time `now` (ms).
    pub fn touch(&mut self, now: u64) {
        self.atime = (now / 1000) as u32;
    }

    /// Seconds since the last access, at `now` (ms).
    pub fn idle_seconds(&self, now: u64) -> u64 {
        (now / 1000).saturating_sub(self.atime as u64)
    }

    pub fn is_expired(&self, now: u64) -> bool {
        self.expire_at != 0 && self.expire_at <= now
    }

    /// Estimated bytes this entry occupies, key included.
    pub fn mem_usage(&self, key_len: usize) -> usize {
        const ENTRY_OVERHEAD: usize = 56;
        ENTRY_OVERHEAD + key_len + self.value.mem_usage()
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Str(StrVal),
    /// Boxed: a hash table header is large, and every entry of the keyspace
    /// would otherwise be as big as the largest variant.
    Hash(Box<HashVal>),
    List(Box<ListVal>),
    Set(Box<SetVal>),
    ZSet(Box<ZSetVal>),
}

impl Value {
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::Hash(_) => "hash",
            Value::List(_) => "list",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
        }
    }

    pub fn encoding(&self) -> &'static str {
        match self {
            Value::Str(s) => s.encoding(),
            Value::Hash(h) => {
                if h.big {
                    "hashtable"
                } else {
                    "listpack"
                }
            }
            // Redis 7.0 encodes every list as a quicklist.
            Value::List(_) => "quicklist",
            Value::Set(s) => s.encoding(),
            Value::ZSet(z) => z.encoding(),
        }
    }

    pub fn mem_usage(&self) -> usize {
        match self {
            Value::Str(s) => s.data.capacity(),
            Value::Hash(h) => {
                h.map
                    .iter()
                    .map(|(k, v)| k.len() + v.capacity() + 40)
                    .sum::<usize>()
                    + 64
            }
            Value::List(l) => l.mem_usage(),
            Value::Set(s) => s.mem_usage(),
            Value::ZSet(z) => z.mem_usage(),
        }
    }
}

/// A string value. `raw` remembers that it was modified in place (APPEND,
/// SETRANGE), which Redis reports as the `raw` encoding from then on.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct StrVal {
    pub data: Vec<u8>,
    pub raw: bool,
    /// Written as text that Redis never stores as an integer (INCRBYFLOAT's
    /// result), so OBJECT ENCODING reports embstr or raw even for "3000".
    pub not_int: bool,
}

impl StrVal {
    pub fn new(data: Vec<u8>) -> StrVal {
        StrVal {
            data,
            raw: false,
            not_int: false,
        }
    }

    pub fn encoding(&self) -> &'static str {
        if !self.raw
            && !self.not_int
            && self.data.len() <= 20
            && crate::cmd::args::parse_i64(&self.data).is_ok()
        {
            "int"
        } else if !self.raw && self.data.len() <= 44 {
            "embstr"
        } else {
            "raw"
        }
    }
}

/// A hash value in insertion order, as Redis's listpack keeps small hashes.
/// `big` records the conversion to a hashtable, which Redis never undoes.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct HashVal {
    pub map: IndexMap<Key, Vec<u8>, Hasher>,
    pub big: bool,
}

impl HashVal {
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Insert or overwrite a field; true when the field is new.
    pub fn set(&mut self, field: &[u8], value: Vec<u8>) -> bool {
        if field.len() > HASH_MAX_LISTPACK_VALUE || value.len() > HASH_MAX_LISTPACK_VALUE {
            self.big = true;
        }
        let new = match self.map.get_mut(field) {
            Some(v) => {
                *v = value;
                false
            }
            None => {
                self.map.insert(field.into(), value);
                true
            }
        };
        if self.map.len() > HASH_MAX_LISTPACK_ENTRIES {
            self.big = true;
        }
        new
    }

    pub fn remove(&mut self, field: &[u8]) -> bool {
        if self.big {
            self.map.swap_remove(field).is_some()
        } else {
            self.map.shift_remove(field).is_some()
        }
    }
}

/// One logical database (`SELECT n`) within a shard. Keys live in a
/// [`SegMap`], whose hash-ordered walk gives SCAN its guarantee.
#[derive(Default)]
pub struct Db {
    map: SegMap<Entry>,
    /// Recent deletions, for WATCH on absent keys.
    deleted: Deletions,
}

impl Db {
    /// A live entry, or None when absent or expired at `now`.
    pub fn get(&self, key: &[u8], now: u64) -> Option<&Entry> {
        self.map.get(key).filter(|e| !e.is_expired(now))
    }

    /// The entry for a write at `ctx`: an expired entry is removed first, so
    /// the write sees the key as absent, as Redis's expireIfNeeded does.
    pub fn get_mut(&mut self, key: &[u8], now: u64, index: u64) -> Option<&mut Entry> {
        match self.map.get_mut_unless(key, |e| e.is_expired(now))? {
            Ok(e) => {
                e.touch(now);
                Some(e)
            }
            Err((k, _)) => {
                self.deleted.note(k, index);
                None
            }
        }
    }

    /// A live entry, recording the access (GET's lookup: one probe for both).
    pub fn get_touch(&mut self, key: &[u8], now: u64) -> Option<&Entry> {
        let e = self.map.get_mut(key).filter(|e| !e.is_expired(now))?;
        e.touch(now);
        Some(e)
    }

    /// The entry for a write, created by `make` when absent (an expired one
    /// is removed first, as in `get_mut`). One probe of the table.
    pub fn get_or_insert_with(
        &mut self,
        key: &[u8],
        now: u64,
        index: u64,
        make: impl FnOnce() -> Entry,
    ) -> &mut Entry {
        let Db { map, deleted } = self;
        let (e, expired) = map.upsert_with(key, |e| e.is_expired(now), make);
        if expired.is_some() {
            deleted.note(key.into(), index);
        }
        e.touch(now);
        e
    }

    /// Record a read of a live key at `now` (reads that Redis counts as an
    /// access: GET yes, TTL or TYPE no).
    pub fn touch(&mut self, key: &[u8], now: u64) {
        if let Some(e) = self.map.get_mut(key).filter(|e| !e.is_expired(now)) {
            e.touch(now);
        }
    }

    /// Raw access, expired entries included (sweeps, snapshots, digests).
    pub fn get_raw(&self, key: &[u8]) -> Option<&Entry> {
        self.map.get(key)
    }

    pub fn insert(&mut self, key: &[u8], entry: Entry) {
        self.map.insert(key, entry);
    }

    /// Remove a key (live or expired); `index` is the deleting entry's index.
    pub fn remove(&mut self, key: &[u8], index: u64) -> Option<Entry> {
        let (k, e) = self.map.remove_entry(key)?;
        self.deleted.note(k, index);
        Some(e)
    }

    /// The latest version at which `key` may have been deleted, for a
    /// WATCH checked by an operation at version `at`.
    pub fn last_delete(&self, key: &[u8], at: u64) -> u64 {
        self.deleted.latest(key, at)
    }

    /// Number of entries including expired ones not yet reclaimed.
    pub fn len_raw(&self) -> usize {
        self.map.len()
    }

    /// Number of live keys at `now`.
    pub fn len(&self, now: u64) -> usize {
        self.map.values().filter(|e| !e.is_expired(now)).count()
    }

    pub fn is_empty(&self, now: u64) -> bool {
        self.len(now) == 0
    }

    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &Entry)> {
        self.map.iter()
    }

    pub fn clear(&mut self) {
        self.map.clear();
    }

    /// The deletion window WATCH consults: its floor and (key, version)
    /// pairs, oldest first (snapshots).
    pub fn deletions(&self) -> (u64, impl Iterator<Item = (&[u8], u64)>) {
        (
            self.deleted.floor,
            self.deleted.order.iter().map(|(k, i)| (&**k, *i)),
        )
    }

    /// Restore a deletion window from a snapshot: `list` in any order.
    pub fn restore_deletions(&mut self, floor: u64, mut list: Vec<(Key, u64)>) {
        self.deleted.floor = self.deleted.floor.max(floor);
        list.sort_by_key(|(_, i)| *i);
        for (k, i) in list {
            self.deleted.note(k, i);
        }
    }

    /// Live keys with an expiry at `now`.
    pub fn volatile(&self, now: u64) -> usize {
        self.map
            .values()
            .filter(|e| e.expire_at != 0 && !e.is_expired(now))
            .count()
    }

    /// Up to `max` (key, version) pairs of entries already expired at `now`,
    /// walking from hash position `cursor`; returns the position to go on
    /// from (0 when the walk wrapped). The sweep turns these into
    /// conditional deletes.
    pub fn expired_sample(&self, now: u64, cursor: u64, max: usize) -> (Vec<(Key, u64)>, u64) {
        let mut out = Vec::new();
        let next = self.map.scan(cursor, max * 20, |k, e| {
            if e.is_expired(now) && out.len() < max {
                out.push((Key::from(k), e.version));
            }
        });
        (out, next.unwrap_or(0))
    }

    /// Visit keys in hash order from position `cursor` (SCAN): about
    /// `count` of them; returns the next position, None at the end.
    pub fn scan<'a>(
        &'a self,
        cursor: u64,
        count: usize,
        f: impl FnMut(&'a [u8], &'a Entry),
    ) -> Option<u64> {
        self.map.scan(cursor, count, f)
    }

    /// A key picked at random among live ones (RANDOMKEY): the first live
    /// key at or after a random hash position, wrapping around once.
    pub fn random_key(&self, now: u64, seed: u64) -> Option<&[u8]> {
        for start in [seed, 0] {
            let mut found = None;
            let mut t = Some(start);
            while let (Some(pos), None) = (t, &found) {
                t = self.map.scan(pos, 16, |k, e| {
                    if found.is_none() && !e.is_expired(now) {
                        found = Some(k);
                    }
                });
            }
            if found.is_some() {
                return found;
            }
        }
        None
    }
}

/// The part of the keyspace one core owns: all databases for the keys that hash
/// to this shard.
pub struct Shard {
    pub dbs: Vec<Db>,
    /// Index of the last log entry applied here.
    pub applied: u64,
    /// This shard's place among `of` shards (SCAN's cursor names a shard).
    pub index: usize,
    pub of: usize,
}

impl Shard {
    pub fn new(databases: usize) -> Shard {
        Shard {
            dbs: (0..databases).map(|_| Db::default()).collect(),
            applied: 0,
            index: 0,
            of: 1,
        }
    }

    pub fn db(&self, db: usize) -> &Db {
        &self.dbs[db]
    }

    pub fn db_mut(&mut self, db: usize) -> &mut Db {
        &mut self.dbs[db]
    }

    /// Estimated memory used by all entries.
    pub fn mem_usage(&self) -> usize {
        self.dbs
            .iter()
            .flat_map(|d| d.iter())
            .map(|(k, e)| e.mem_usage(k.len()))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Value {
        Value::Str(StrVal::new(v.as_bytes().to_vec()))
    }

    #[test]
    fn expired_entries_are_invisible_and_removed_on_write() {
        let mut db = Db::default();
        let mut e = Entry::new(s("v"), 1);
        e.expire_at = 100;
        db.insert(b"k", e);
        assert!(db.get(b"k", 99).is_some());
        assert!(db.get(b"k", 100).is_none());
        assert_eq!(db.len(100), 0);
        assert_eq!(db.len_raw(), 1);
        assert!(db.get_mut(b"k", 100, 7).is_none());
        assert_eq!(db.len_raw(), 0);
        assert_eq!(db.last_delete(b"k", 8), 7);
    }

    #[test]
    fn deletions_are_remembered_by_version_window() {
        let w = DELETION_WINDOW;
        let mut db = Db::default();
        for (k, at) in [("a", 10), ("b", 20), ("a", 30)] {
            db.insert(k.as_bytes(), Entry::new(s("v"), 1));
            db.remove(k.as_bytes(), at);
        }
        assert_eq!(db.last_delete(b"a", 40), 30);
        assert_eq!(db.last_delete(b"b", 40), 20);
        assert_eq!(db.last_delete(b"never", 40), 0);
        // Seen from far later, only the window's start is known, whatever
        // is still stored: the same answer on every replica.
        assert_eq!(db.last_delete(b"a", w + 100), 100);
        assert_eq!(db.last_delete(b"never", w + 100), 100);
        // A later deletion prunes what fell out of its window.
        db.insert(b"c", Entry::new(s("v"), 1));
        db.remove(b"c", w + 25);
        assert_eq!(
            db.deleted.order.len(),
            2,
            "a@30 and c stay, a@10 and b@20 go"
        );
        assert_eq!(db.last_delete(b"a", w + 25), 30);
        assert_eq!(db.last_delete(b"b", w + 25), 25);
    }

    #[test]
    fn hash_keeps_insertion_order_until_big() {
        let mut h = HashVal::default();
        assert!(h.set(b"a", b"1".to_vec()));
        assert!(h.set(b"b", b"2".to_vec()));
        assert!(h.set(b"c", b"3".to_vec()));
        assert!(!h.set(b"a", b"9".to_vec()));
        assert!(h.remove(b"b"));
        let keys: Vec<_> = h.map.keys().map(|k| k.to_vec()).collect();
        assert_eq!(keys, vec![b"a".to_vec(), b"c".to_vec()]);
        assert!(!h.big);
        h.set(b"x", vec![b'v'; 65]);
        assert!(h.big);
        assert_eq!(Value::Hash(Box::new(h)).encoding(), "hashtable");
    }

    #[test]
    fn entries_stay_small() {
        // Every key pays this per entry in the table: keep it in check.
        assert!(
            std::mem::size_of::<Entry>() <= 64,
            "{}",
            std::mem::size_of::<Entry>()
        );
    }

    #[test]
    fn string_encodings() {
        assert_eq!(StrVal::new(b"123".to_vec()).encoding(), "int");
        assert_eq!(StrVal::new(b"0123".to_vec()).encoding(), "embstr");
        assert_eq!(StrVal::new(vec![b'a'; 44]).encoding(), "embstr");
        assert_eq!(StrVal::new(vec![b'a'; 45]).encoding(), "raw");
        let mut v = StrVal::new(b"1".to_vec());
        v.raw = true;
        assert_eq!(v.encoding(), "raw");
        let mut f = StrVal::new(b"3000".to_vec());
        f.not_int = true;
        assert_eq!(
            f.encoding(),
            "embstr",
            "INCRBYFLOAT results are never int-encoded"
        );
    }
}
