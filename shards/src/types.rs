//! The collection values besides hashes: lists and sets. Each keeps an order
//! that depends only on the operations applied (never on table capacity or
//! per-process randomness), so replicas that apply the same log iterate, pop
//! and sample identically.

use std::cmp::Ordering;
use std::collections::VecDeque;

use indexmap::IndexSet;

use crate::cmd::args::parse_i64;
use crate::keyspace::{Hasher, Key};

/// Redis 7.0 keeps a set of integers as an intset up to this many members
/// (`set-max-intset-entries`). Fixed: the encoding decides iteration order.
pub const SET_MAX_INTSET_ENTRIES: usize = 512;

/// A list: a double-ended queue of elements.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ListVal {
    pub items: VecDeque<Key>,
}

impl ListVal {
    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn push(&mut self, v: &[u8], left: bool) {
        if left {
            self.items.push_front(v.into());
        } else {
            self.items.push_back(v.into());
        }
    }

    pub fn pop(&mut self, left: bool) -> Option<Key> {
        if left {
            self.items.pop_front()
        } else {
            self.items.pop_back()
        }
    }

    /// Redis's index rule: negative counts from the tail; None when outside.
    pub fn index(&self, i: i64) -> Option<usize> {
        let len = self.items.len() as i64;
        let i = if i < 0 { i.saturating_add(len) } else { i };
        (0..len).contains(&i).then_some(i as usize)
    }

    pub fn mem_usage(&self) -> usize {
        self.items.iter().map(|v| v.len() + 16).sum::<usize>() + 48
    }
}

/// Redis's range rule (LRANGE, LTRIM, ZRANGE by rank): negative ends count
/// from the tail; the result is clamped, and None means empty.
pub fn range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let start = if start < 0 {
        start.saturating_add(len).max(0)
    } else {
        start
    };
    let end = if end < 0 {
        end.saturating_add(len)
    } else {
        end
    };
    if start > end || start >= len {
        return None;
    }
    Some((start as usize, end.min(len - 1) as usize))
}

/// A set. While every member is an integer and there are at most
/// [`SET_MAX_INTSET_ENTRIES`], members stay in ascending numeric order, as
/// Redis's intset replies; after that (a conversion Redis never undoes) they
/// keep insertion order, with a removal moving the last member into the gap.
#[derive(Clone, Debug, PartialEq)]
pub struct SetVal {
    pub members: IndexSet<Key, Hasher>,
    pub intset: bool,
}

impl Default for SetVal {
    fn default() -> SetVal {
        SetVal {
            members: IndexSet::default(),
            intset: true,
        }
    }
}

impl SetVal {
    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    pub fn contains(&self, m: &[u8]) -> bool {
        self.members.contains(m)
    }

    /// Add a member; true when it is new.
    pub fn add(&mut self, m: &[u8]) -> bool {
        if self.intset {
            match parse_i64(m) {
                Ok(v) => {
                    let pos = self.members.as_slice().binary_search_by(|x| cmp_int(x, v));
                    let Err(pos) = pos else { return false };
                    if self.members.len() < SET_MAX_INTSET_ENTRIES {
                        self.members.shift_insert(pos, m.into());
                        return true;
                    }
                    self.intset = false;
                }
                Err(_) => self.intset = false,
            }
        }
        self.members.insert(m.into())
    }

    /// Remove a member; true when it was there.
    pub fn remove(&mut self, m: &[u8]) -> bool {
        if self.intset {
            self.members.shift_remove(m)
        } else {
            self.members.swap_remove(m)
        }
    }

    /// Remove and return the member at position `i`.
    pub fn remove_at(&mut self, i: usize) -> Option<Key> {
        if self.intset {
            self.members.shift_remove_index(i)
        } else {
            self.members.swap_remove_index(i)
        }
    }

    pub fn get_index(&self, i: usize) -> Option<&Key> {
        self.members.get_index(i)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Key> {
        self.members.iter()
    }

    pub fn encoding(&self) -> &'static str {
        if self.intset {
            "intset"
        } else {
            "hashtable"
        }
    }

    pub fn mem_usage(&self) -> usize {
        self.members.iter().map(|m| m.len() + 40).sum::<usize>() + 64
    }
}

/// Compare an intset member (always a valid integer) with `v`.
fn cmp_int(x: &[u8], v: i64) -> Ordering {
    parse_i64(x).unwrap_or(i64::MIN).cmp(&v)
}

/// A small deterministic generator (splitmix64): seeded by the entry index
/// for writes that pick at random (SPOP), by a per-command seed for reads.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// `k` distinct positions of `0..n` in random order, k <= n: by
    /// rejection when k is small against n (no O(n) work), else a partial
    /// Fisher-Yates shuffle.
    pub fn distinct(&mut self, n: usize, k: usize) -> Vec<usize> {
        if k * 4 <= n {
            let mut seen: hashbrown::HashSet<usize, crate::keyspace::Hasher> =
                hashbrown::HashSet::with_capacity_and_hasher(k, crate::keyspace::Hasher);
            let mut out = Vec::with_capacity(k);
            while out.len() < k {
                let i = self.below(n);
                if seen.insert(i) {
                    out.push(i);
                }
            }
            return out;
        }
        let mut idx: Vec<usize> = (0..n).collect();
        for i in 0..k {
            let j = i + self.below(n - i);
            idx.swap(i, j);
        }
        idx.truncate(k);
        idx
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(s: &SetVal) -> Vec<&[u8]> {
        s.iter().map(|m| &m[..]).collect()
    }

    #[test]
    fn intset_sorted_until_non_integer_or_too_big() {
        let mut s = SetVal::default();
        for m in ["10", "-3", "7", "7", "0"] {
            s.add(m.as_bytes());
        }
        assert_eq!(members(&s), vec![&b"-3"[..], b"0", b"7", b"10"]);
        assert!(s.remove(b"0"));
        assert_eq!(members(&s), vec![&b"-3"[..], b"7", b"10"]);
        assert!(s.add(b"x"));
        assert!(!s.intset);
        assert_eq!(s.encoding(), "hashtable");
        assert!(s.add(b"1"));
        assert_eq!(members(&s), vec![&b"-3"[..], b"7", b"10", b"x", b"1"]);

        let mut big = SetVal::default();
        for i in 0..SET_MAX_INTSET_ENTRIES {
            big.add(i.to_string().as_bytes());
        }
        assert!(big.intset);
        assert!(!big.add(b"5"));
        assert!(big.intset);
        big.add(b"100000");
        assert!(!big.intset);
        assert_eq!(big.len(), SET_MAX_INTSET_ENTRIES + 1);
        // "01" is not an integer by Redis's rule.
        let mut z = SetVal::default();
        z.add(b"01");
        assert!(!z.intset);
    }

    #[test]
    fn range_rule() {
        assert_eq!(range(0, -1, 3), Some((0, 2)));
        assert_eq!(range(-100, 100, 3), Some((0, 2)));
        assert_eq!(range(2, 1, 3), None);
        assert_eq!(range(3, 5, 3), None);
        assert_eq!(range(-1, -1, 3), Some((2, 2)));
        assert_eq!(range(0, -4, 3), None);
        assert_eq!(range(i64::MIN, i64::MAX, 3), Some((0, 2)));
        assert_eq!(range(0, 0, 0), None);
    }

    #[test]
    fn list_index_rule() {
        let mut l = ListVal::default();
        l.push(b"a", false);
        l.push(b"b", false);
        l.push(b"z", true);
        assert_eq!(l.index(0), Some(0));
        assert_eq!(l.index(-1), Some(2));
        assert_eq!(l.index(-4), None);
        assert_eq!(l.index(3), None);
        assert_eq!(l.index(i64::MIN), None);
        assert_eq!(&l.pop(true).unwrap()[..], b"z");
    }

    #[test]
    fn rng_distinct_is_distinct_and_deterministic() {
        let a = Rng(5).distinct(10, 4);
        assert_eq!(a, Rng(5).distinct(10, 4));
        let mut s = a.clone();
        s.sort();
        s.dedup();
        assert_eq!(s.len(), 4);
    }
}
