//! The keyspace's hash table: extendible hashing over small swiss tables.
//!
//! A key's 64-bit hash picks a directory slot by its top bits; each slot
//! points at a segment, a small `hashbrown` table holding every key whose
//! hash starts with the segment's prefix. A full segment splits in two by the
//! next hash bit (the directory doubles when the segment was as deep as it),
//! so growth moves one segment's keys at a time instead of rehashing the
//! whole keyspace in one stall.
//!
//! Each segment is a contiguous interval of hash space, which gives SCAN its
//! guarantee cheaply: a cursor is a position in hash space, and everything
//! below it has been returned. Splits only add boundaries, so a key present
//! for the whole scan is returned whatever the table does meanwhile.

use std::hash::BuildHasher;

use hashbrown::HashTable;

use crate::keyspace::{Hasher, Key};

/// A segment splits when it holds this many keys.
const SEG_MAX: usize = 1024;
/// Deepest prefix (2^20 segments): leaves the hash bits hashbrown uses
/// inside a segment (see [`inner`]) independent of the prefix.
const MAX_DEPTH: u32 = 20;

/// Where a scan may stop: positions are multiples of this.
pub const SCAN_ALIGN: u64 = 256;

/// The key's hash: its position in hash space.
pub fn hash_of(key: &[u8]) -> u64 {
    Hasher.hash_one(key)
}

/// The hash a segment's swiss table works with. Keys in one segment share
/// their top bits, which the table would use for its control bytes, so the
/// hash is remixed (splitmix64's finalizer) for use inside a segment.
fn inner(h: u64) -> u64 {
    let mut z = h;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn rehash<V>(e: &Slot<V>) -> u64 {
    inner(hash_of(&e.0))
}

/// A key kept inside its table node when short (most keys are), else on
/// the heap.
pub enum KeyBuf {
    Inline { len: u8, bytes: [u8; INLINE_KEY] },
    Heap(Box<[u8]>),
}

/// Keys up to this long live in the node itself.
const INLINE_KEY: usize = 22;

impl From<&[u8]> for KeyBuf {
    fn from(k: &[u8]) -> KeyBuf {
        if k.len() <= INLINE_KEY {
            let mut bytes = [0u8; INLINE_KEY];
            bytes[..k.len()].copy_from_slice(k);
            KeyBuf::Inline {
                len: k.len() as u8,
                bytes,
            }
        } else {
            KeyBuf::Heap(k.into())
        }
    }
}

impl std::ops::Deref for KeyBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            KeyBuf::Inline { len, bytes } => &bytes[..*len as usize],
            KeyBuf::Heap(b) => b,
        }
    }
}

impl KeyBuf {
    fn into_key(self) -> Key {
        match self {
            KeyBuf::Heap(b) => b,
            inline => (*inline).into(),
        }
    }
}

/// A table entry: key and value in one allocation, so a table slot is one
/// pointer. Tables grow by doubling and run between half and seven eighths
/// full; empty slots then cost 8 bytes, not a whole entry.
type Slot<V> = Box<(KeyBuf, V)>;

struct Segment<V> {
    /// How many top bits of the hash all its keys share.
    depth: u32,
    table: HashTable<Slot<V>>,
}

/// A map from byte-string keys to `V`, iterable by hash position.
pub struct SegMap<V> {
    /// Segment index per directory slot; 2^global slots.
    dir: Vec<u32>,
    segs: Vec<Segment<V>>,
    global: u32,
    len: usize,
}

impl<V> Default for SegMap<V> {
    fn default() -> Self {
        SegMap {
            dir: vec![0],
            segs: vec![Segment {
                depth: 0,
                table: HashTable::new(),
            }],
            global: 0,
            len: 0,
        }
    }
}

/// The directory slot of hash `h` at depth `d`.
fn slot(h: u64, d: u32) -> usize {
    if d == 0 {
        0
    } else {
        (h >> (64 - d)) as usize
    }
}

impl<V> SegMap<V> {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn seg_of(&self, h: u64) -> usize {
        self.dir[slot(h, self.global)] as usize
    }

    pub fn get(&self, key: &[u8]) -> Option<&V> {
        let h = hash_of(key);
        let seg = &self.segs[self.seg_of(h)];
        seg.table.find(inner(h), |e| &*e.0 == key).map(|e| &e.1)
    }

    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut V> {
        let h = hash_of(key);
        let s = self.seg_of(h);
        self.segs[s]
            .table
            .find_mut(inner(h), |e| &*e.0 == key)
            .map(|e| &mut e.1)
    }

    /// The value for `key` in one probe, unless `dead` says it must go:
    /// then it is removed and handed back as `Err`.
    pub fn get_mut_unless(
        &mut self,
        key: &[u8],
        dead: impl FnOnce(&V) -> bool,
    ) -> Option<Result<&mut V, (Key, V)>> {
        let h = hash_of(key);
        let s = self.seg_of(h);
        let entry = self.segs[s]
            .table
            .find_entry(inner(h), |e| &*e.0 == key)
            .ok()?;
        if dead(&entry.get().1) {
            self.len -= 1;
            let (k, v) = *entry.remove().0;
            return Some(Err((k.into_key(), v)));
        }
        Some(Ok(&mut entry.into_mut().1))
    }

    /// The value for `key` in one probe, made by `make` when absent or when
    /// `dead` says the present one must go (that one is returned beside).
    pub fn upsert_with(
        &mut self,
        key: &[u8],
        dead: impl FnOnce(&V) -> bool,
        make: impl FnOnce() -> V,
    ) -> (&mut V, Option<V>) {
        let h = hash_of(key);
        let mut s = self.seg_of(h);
        if self.segs[s].table.len() >= SEG_MAX
            && self.segs[s]
                .table
                .find(inner(h), |e| &*e.0 == key)
                .is_none()
            && self.split(s)
        {
            s = self.seg_of(h);
        }
        match self.segs[s]
            .table
            .entry(inner(h), |e| &*e.0 == key, rehash::<V>)
        {
            hashbrown::hash_table::Entry::Occupied(o) => {
                let slot = &mut o.into_mut().1;
                let old = dead(slot).then(|| std::mem::replace(slot, make()));
                (slot, old)
            }
            hashbrown::hash_table::Entry::Vacant(v) => {
                self.len += 1;
                let slot = v.insert(Box::new((KeyBuf::from(key), make())));
                (&mut slot.into_mut().1, None)
            }
        }
    }

    /// The value for `key`, inserted by `make` when absent.
    pub fn get_or_insert_with(&mut self, key: &[u8], make: impl FnOnce() -> V) -> &mut V {
        self.upsert_with(key, |_| false, make).0
    }

    /// Insert or replace (one probe).
    pub fn insert(&mut self, key: &[u8], v: V) {
        let _ = self.upsert_with(key, |_| true, || v);
    }

    pub fn remove_entry(&mut self, key: &[u8]) -> Option<(Key, V)> {
        self.get_mut_unless(key, |_| true)?.err()
    }

    /// Split segment `s` by its next hash bit; false when it is as deep as
    /// allowed (it then simply grows).
    fn split(&mut self, s: usize) -> bool {
        let d = self.segs[s].depth;
        if d >= MAX_DEPTH {
            return false;
        }
        if d == self.global {
            // Double the directory: slot i becomes slots 2i and 2i+1.
            self.dir = self.dir.iter().flat_map(|&x| [x, x]).collect();
            self.global += 1;
        }
        let bit = 1u64 << (63 - d);
        let moved: Vec<Slot<V>> = self.segs[s]
            .table
            .extract_if(|e| hash_of(&e.0) & bit != 0)
            .collect();
        self.segs[s].depth = d + 1;
        self.segs[s].table.shrink_to_fit(rehash::<V>);
        let mut table = HashTable::with_capacity(moved.len().max(SEG_MAX / 2));
        for e in moved {
            table.insert_unique(rehash(&e), e, rehash::<V>);
        }
        let new = self.segs.len() as u32;
        self.segs.push(Segment {
            depth: d + 1,
            table,
        });
        // Slots of the old segment whose bit `d` (from the top) is set move.
        let shift = self.global - (d + 1);
        for (i, x) in self.dir.iter_mut().enumerate() {
            if *x == s as u32 && (i >> shift) & 1 == 1 {
                *x = new;
            }
        }
        true
    }

    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &V)> {
        self.segs
            .iter()
            .flat_map(|s| s.table.iter())
            .map(|e| (&*e.0, &e.1))
    }

    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.iter().map(|(_, v)| v)
    }

    pub fn clear(&mut self) {
        *self = SegMap::default();
    }

    /// The first hash position past the segment holding position `t`.
    fn seg_end(&self, t: u64) -> Option<u64> {
        let d = self.segs[self.seg_of(t)].depth;
        if d == 0 {
            return None;
        }
        let size = 1u64 << (64 - d);
        (t & !(size - 1)).checked_add(size)
    }

    /// Visit entries in hash order from position `t`: at least `count`
    /// entries when that many remain, calling `f` on each. A walk stops only
    /// at a multiple of [`SCAN_ALIGN`] (it takes the rest of the last entry's
    /// 256-wide slice of hash space), so a cursor can drop those low bits.
    /// Returns the position to continue from, or None at the end of hash
    /// space.
    pub fn scan<'a>(
        &'a self,
        mut t: u64,
        count: usize,
        mut f: impl FnMut(&'a [u8], &'a V),
    ) -> Option<u64> {
        let mut seen = 0;
        loop {
            let seg = &self.segs[self.seg_of(t)];
            let mut here: Vec<(u64, &'a Slot<V>)> = seg
                .table
                .iter()
                .map(|e| (hash_of(&e.0), e))
                .filter(|(h, _)| *h >= t)
                .collect();
            here.sort_unstable_by_key(|(h, _)| *h);
            let end = self.seg_end(t);
            let mut i = 0;
            while i < here.len() && seen < count {
                let stop = (here[i].0 | (SCAN_ALIGN - 1)).checked_add(1);
                while i < here.len() && stop.is_none_or(|s| here[i].0 < s) {
                    f(&here[i].1 .0, &here[i].1 .1);
                    seen += 1;
                    i += 1;
                }
                if seen >= count {
                    return if i < here.len() { stop } else { end };
                }
            }
            t = end?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_by_splitting_and_finds_everything() {
        let mut m: SegMap<u32> = SegMap::default();
        for i in 0..20_000u32 {
            m.insert(format!("k{i}").as_bytes(), i);
        }
        assert_eq!(m.len(), 20_000);
        assert!(m.segs.len() > 16, "{} segments", m.segs.len());
        for i in (0..20_000u32).step_by(7) {
            assert_eq!(m.get(format!("k{i}").as_bytes()), Some(&i));
        }
        m.insert(b"k5", 99);
        assert_eq!(m.get(b"k5"), Some(&99));
        assert_eq!(m.len(), 20_000);
        for i in 0..10_000u32 {
            assert!(m.remove_entry(format!("k{i}").as_bytes()).is_some());
        }
        assert_eq!(m.len(), 10_000);
        assert_eq!(m.iter().count(), 10_000);
        assert!(m.get(b"k1").is_none());
        // Every segment's keys share its prefix.
        for (s, seg) in m.segs.iter().enumerate() {
            for e in seg.table.iter() {
                assert_eq!(m.seg_of(hash_of(&e.0)), s);
            }
        }
    }

    /// SCAN's guarantee: with inserts and deletes (and so splits) between
    /// steps, every key present throughout is returned.
    #[test]
    fn scan_returns_every_key_present_throughout() {
        let mut m: SegMap<()> = SegMap::default();
        for i in 0..3000 {
            m.insert(format!("stay{i}").as_bytes(), ());
        }
        let mut seen = std::collections::HashSet::new();
        let mut t = 0u64;
        let mut step = 0;
        loop {
            let next = m.scan(t, 10, |k, _| {
                seen.insert(k.to_vec());
            });
            // Churn: grow the table a lot and delete some transient keys.
            for j in 0..5 {
                m.insert(format!("tmp{step}-{j}").as_bytes(), ());
            }
            if step % 3 == 0 {
                m.remove_entry(format!("tmp{}-0", step / 2).as_bytes());
            }
            step += 1;
            match next {
                Some(n) => {
                    assert!(n > t, "the cursor advances");
                    t = n;
                }
                None => break,
            }
        }
        for i in 0..3000 {
            assert!(
                seen.contains(format!("stay{i}").as_bytes()),
                "stay{i} missed"
            );
        }
        assert!(step < 3000, "steps of about COUNT keys: {step}");
    }

    #[test]
    fn scan_of_empty_and_tiny_maps() {
        let m: SegMap<()> = SegMap::default();
        assert_eq!(m.scan(0, 10, |_, _| panic!("empty")), None);
        let mut m: SegMap<()> = SegMap::default();
        m.insert(b"a", ());
        let mut n = 0;
        assert_eq!(m.scan(0, 10, |_, _| n += 1), None);
        assert_eq!(n, 1);
    }
}
