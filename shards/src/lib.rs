//! The state machine of Cache-Cat: the keyspace of one shard, its values and the
//! pure operations on them.
//!
//! Nothing here performs I/O, reads a clock or draws randomness: every operation
//! receives the logical time and log position it runs at in an [`OpCtx`], so two
//! replicas that apply the same operations hold byte-identical state. The
//! command layer ([`cmd`]) turns a client's argv into a typed [`cmd::Cmd`], and
//! [`cmd::execute`] runs it against a [`Shard`] and produces the client's reply.

pub mod cmd;
pub mod dump;
pub mod float;
pub mod keyspace;
pub mod op;
pub mod segmap;
pub mod status;
pub mod table;
pub mod types;
pub mod zset;

pub use keyspace::{Db, Entry, Shard, Value};
pub use status::Status;

/// Where and when an operation runs: the logical time `now` (milliseconds since
/// the Unix epoch, issued by the sequencer) and the log index of the entry that
/// carries it (0 for reads, which change nothing).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpCtx {
    pub now: u64,
    pub index: u64,
}

/// Number of logical databases (`SELECT 0..15`), as Redis's default.
pub const DEFAULT_DATABASES: usize = 16;
