//! The types openraft is instantiated with, and how a log entry and the
//! vote are laid out on disk.
//!
//! - One leader per term (`leader_id_std`): a log id is `(term, index)`,
//!   exactly what a record header holds, so a record's payload is only the
//!   entry's payload.
//! - A normal entry carries a [`Proposal`]: a batch of operations sharing one
//!   logical time, stamped by the leader. A proposal with no operations is a
//!   Tick: it only moves the clock.
//! - A node record ([`PeerAddr`]) holds the node's client address and peer
//!   address, so every node can name the leader to clients.
//!
//! Payloads are rkyv archives behind a one-byte tag; membership goes through
//! a plain mirror struct so openraft's types need no serialization support.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io;

use cachecat_shards::op::LogOp;
use openraft::{EntryPayload, Membership};

use super::runtime::GlommioRuntime;

/// A node's addresses as members see them: `host:port` for clients (what
/// ROLE, INFO and Sentinel report) and for peer traffic.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeerAddr {
    pub client: String,
    pub raft: String,
}

impl fmt::Display for PeerAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "client={} raft={}", self.client, self.raft)
    }
}

/// What a normal log entry carries: operations proposed together, with one
/// logical time.
///
/// The operations travel archived (`Vec<LogOp>` in rkyv form): they are
/// archived once, when proposed, and the same bytes are then written to
/// the log, kept in its cache and sent to followers without another copy.
/// The proposer applies the operations it kept; other nodes decode them.
#[derive(Debug, Clone, PartialEq)]
pub struct Proposal {
    /// The proposing process (a random id per start) and its running number
    /// for this proposal: on apply, the proposer finds the clients waiting
    /// for it. Other nodes ignore both.
    pub instance: u64,
    pub seq: u64,
    /// Logical time (ms): `now` for every operation in it.
    pub ts: u64,
    /// Archived operations; empty for a Tick.
    pub ops: bytes::Bytes,
}

impl Proposal {
    pub fn is_tick(&self) -> bool {
        self.ops.is_empty()
    }
}

impl fmt::Display for Proposal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_tick() {
            write!(f, "tick@{}", self.ts)
        } else {
            write!(f, "{} bytes of ops@{}", self.ops.len(), self.ts)
        }
    }
}

/// Archive a proposal's operations (none: a Tick, empty bytes). Archived
/// as a `Vec`, which is what `unarchive_ops` reads back.
#[allow(clippy::ptr_arg)]
pub fn archive_ops(ops: &Vec<LogOp>) -> bytes::Bytes {
    if ops.is_empty() {
        return bytes::Bytes::new();
    }
    let v: Vec<u8> = rkyv::api::high::to_bytes_in::<_, rkyv::rancor::Error>(ops, Vec::new())
        .expect("archiving in memory cannot fail");
    bytes::Bytes::from(v)
}

/// The operations of a proposal made elsewhere.
pub fn unarchive_ops(bytes: &[u8]) -> io::Result<Vec<LogOp>> {
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    unarchive(bytes, "log entry operations")
}

openraft::declare_raft_types!(
    /// Cache-Cat's openraft configuration.
    pub TypeConfig:
        D = Proposal,
        R = (),
        NodeId = u64,
        Node = PeerAddr,
        Term = u64,
        LeaderId = openraft::impls::leader_id_std::LeaderId<u64, u64>,
        Vote = openraft::impls::Vote<openraft::impls::leader_id_std::LeaderId<u64, u64>>,
        AsyncRuntime = GlommioRuntime,
);

pub type Entry = openraft::alias::EntryOf<TypeConfig>;
pub type LogId = openraft::alias::LogIdOf<TypeConfig>;
pub type Vote = openraft::alias::VoteOf<TypeConfig>;
pub type StoredMembership = openraft::alias::StoredMembershipOf<TypeConfig>;
pub type SnapshotMeta = openraft::alias::SnapshotMetaOf<TypeConfig>;

pub fn log_id(term: u64, index: u64) -> LogId {
    LogId::new_term_index(term, index)
}

pub fn term_of(id: &LogId) -> u64 {
    id.leader_id.term
}

const TAG_BLANK: u8 = 0;
const TAG_NORMAL: u8 = 1;
const TAG_MEMBERSHIP: u8 = 2;

/// Membership as stored: the joint configs and every node's addresses.
#[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
struct MembershipRec {
    configs: Vec<Vec<u64>>,
    nodes: Vec<(u64, String, String)>,
}

fn corrupt(what: &str, e: impl fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("{what}: {e}"))
}

fn archive<T>(v: &T) -> Vec<u8>
where
    T: for<'a> rkyv::Serialize<
        rkyv::api::high::HighSerializer<
            rkyv::util::AlignedVec,
            rkyv::ser::allocator::ArenaHandle<'a>,
            rkyv::rancor::Error,
        >,
    >,
{
    rkyv::to_bytes::<rkyv::rancor::Error>(v)
        .expect("archiving in memory cannot fail")
        .to_vec()
}

fn unarchive<T>(bytes: &[u8], what: &str) -> io::Result<T>
where
    T: rkyv::Archive,
    T::Archived: for<'a> rkyv::bytecheck::CheckBytes<rkyv::api::high::HighValidator<'a, rkyv::rancor::Error>>
        + rkyv::Deserialize<T, rkyv::api::high::HighDeserializer<rkyv::rancor::Error>>,
{
    // Unaligned archives (the crate's rkyv feature): validated and read where
    // they lie, at whatever offset the record put them.
    rkyv::from_bytes::<T, rkyv::rancor::Error>(bytes).map_err(|e| corrupt(what, e))
}

pub fn encode_membership(m: &Membership<u64, PeerAddr>) -> Vec<u8> {
    let rec = MembershipRec {
        configs: m
            .get_joint_config()
            .iter()
            .map(|c| c.iter().copied().collect())
            .collect(),
        nodes: m
            .nodes()
            .map(|(id, n)| (*id, n.client.clone(), n.raft.clone()))
            .collect(),
    };
    archive(&rec)
}

pub fn decode_membership(bytes: &[u8]) -> io::Result<Membership<u64, PeerAddr>> {
    let rec: MembershipRec = unarchive(bytes, "membership")?;
    let configs: Vec<BTreeSet<u64>> = rec
        .configs
        .into_iter()
        .map(|c| c.into_iter().collect())
        .collect();
    let nodes: BTreeMap<u64, PeerAddr> = rec
        .nodes
        .into_iter()
        .map(|(id, client, raft)| (id, PeerAddr { client, raft }))
        .collect();
    Membership::new(configs, nodes).map_err(|e| corrupt("membership", e))
}

/// A log entry's payload as a record stores it (its log id is in the
/// record header).
pub fn encode_payload(p: &EntryPayload<Proposal, u64, PeerAddr>) -> Vec<u8> {
    let (tag, body) = match p {
        EntryPayload::Blank => (TAG_BLANK, Vec::new()),
        EntryPayload::Normal(d) => {
            let mut b = Vec::with_capacity(24 + d.ops.len());
            for x in [d.instance, d.seq, d.ts] {
                b.extend_from_slice(&x.to_le_bytes());
            }
            b.extend_from_slice(&d.ops);
            (TAG_NORMAL, b)
        }
        EntryPayload::Membership(m) => (TAG_MEMBERSHIP, encode_membership(m)),
    };
    let mut out = Vec::with_capacity(1 + body.len());
    out.push(tag);
    out.extend_from_slice(&body);
    out
}

pub fn decode_entry(index: u64, term: u64, bytes: &[u8]) -> io::Result<Entry> {
    let payload = match bytes.split_first() {
        Some((&TAG_BLANK, _)) => EntryPayload::Blank,
        Some((&TAG_NORMAL, body)) if body.len() >= 24 => {
            let u = |at: usize| u64::from_le_bytes(body[at..at + 8].try_into().expect("8 bytes"));
            EntryPayload::Normal(Proposal {
                instance: u(0),
                seq: u(8),
                ts: u(16),
                ops: bytes::Bytes::copy_from_slice(&body[24..]),
            })
        }
        Some((&TAG_MEMBERSHIP, body)) => EntryPayload::Membership(decode_membership(body)?),
        _ => return Err(corrupt("log entry", format!("bad tag at index {index}"))),
    };
    Ok(Entry {
        log_id: log_id(term, index),
        payload,
    })
}

/// What the vote file keeps: the vote (fsynced before any reply that
/// depends on it) and the last log id purged after a snapshot.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Meta {
    pub vote: Option<Vote>,
    pub purged: Option<LogId>,
}

impl Meta {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(42);
        match &self.vote {
            Some(v) => {
                out.push(1 + v.committed as u8);
                out.extend_from_slice(&v.leader_id.term.to_le_bytes());
                out.extend_from_slice(&v.leader_id.voted_for.to_le_bytes());
            }
            None => out.extend_from_slice(&[0; 17]),
        }
        match &self.purged {
            Some(p) => {
                out.push(1);
                out.extend_from_slice(&term_of(p).to_le_bytes());
                out.extend_from_slice(&p.index.to_le_bytes());
            }
            None => out.extend_from_slice(&[0; 17]),
        }
        out
    }

    pub fn decode(b: &[u8]) -> io::Result<Meta> {
        if b.len() != 34 {
            return Err(corrupt("vote file", "wrong length"));
        }
        let u = |at: usize| u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"));
        let vote = match b[0] {
            0 => None,
            1 => Some(Vote::new(u(1), u(9))),
            2 => Some(Vote::new_committed(u(1), u(9))),
            _ => return Err(corrupt("vote file", "bad vote flag")),
        };
        let purged = match b[17] {
            0 => None,
            1 => Some(log_id(u(18), u(26))),
            _ => return Err(corrupt("vote file", "bad purge flag")),
        };
        Ok(Meta { vote, purged })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cachecat_shards::cmd::Cmd;

    #[test]
    fn entries_and_meta_round_trip() {
        let nodes: BTreeMap<u64, PeerAddr> = (1..=3)
            .map(|i| {
                (
                    i,
                    PeerAddr {
                        client: format!("127.0.0.1:{}", 6378 + i),
                        raft: format!("127.0.0.1:{}", 7378 + i),
                    },
                )
            })
            .collect();
        let m = Membership::new(
            vec![BTreeSet::from([1, 2]), BTreeSet::from([1, 2, 3])],
            nodes,
        )
        .unwrap();
        let ops = vec![LogOp::Cmd {
            db: 3,
            cmd: Cmd::DelIfVersion {
                keys: vec![(b"k".to_vec(), 4)],
            },
        }];
        let prop = Proposal {
            instance: 7,
            seq: 9,
            ts: 1_700_000_000_000,
            ops: archive_ops(&ops),
        };
        for (i, p) in [
            EntryPayload::Blank,
            EntryPayload::Normal(prop),
            EntryPayload::Membership(m),
        ]
        .into_iter()
        .enumerate()
        {
            let bytes = encode_payload(&p);
            // Decoding must not depend on the bytes' alignment.
            let mut shifted = vec![0u8; 3];
            shifted.extend_from_slice(&bytes);
            let e = decode_entry(10 + i as u64, 4, &shifted[3..]).unwrap();
            assert_eq!(e.log_id, log_id(4, 10 + i as u64));
            assert_eq!(e.payload, p);
        }
        // Decoding must not depend on the bytes' alignment either.
        let mut shifted_ops = vec![0u8; 5];
        shifted_ops.extend_from_slice(&archive_ops(&ops));
        assert_eq!(unarchive_ops(&shifted_ops[5..]).unwrap(), ops);
        assert!(unarchive_ops(&[1, 2, 3]).is_err());
        assert!(decode_entry(1, 1, &[9]).is_err());
        assert!(decode_entry(1, 1, &[TAG_NORMAL, 1, 2, 3]).is_err());

        let v = Vote::new_committed(5, 2);
        for meta in [
            Meta::default(),
            Meta {
                vote: Some(Vote::new(3, 1)),
                purged: None,
            },
            Meta {
                vote: Some(v),
                purged: Some(log_id(4, 100)),
            },
        ] {
            assert_eq!(Meta::decode(&meta.encode()).unwrap(), meta);
        }
    }
}
