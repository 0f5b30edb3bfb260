//! State shared by every core: configuration, the published read clock,
//! per-shard applied indexes, statistics and the client registry. Only
//! atomics are touched on the hot path; the mutexes guard rare admin paths
//! (CONFIG, CLIENT LIST/KILL).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::config::Config;

/// One connected client, as CLIENT LIST / INFO / KILL see it.
/// Output-buffer classes of `client-output-buffer-limit`, in its order.
pub const NORMAL_CLASS: usize = 0;
pub const PUBSUB_CLASS: usize = 2;

pub struct ClientMeta {
    pub id: u64,
    pub addr: String,
    pub laddr: String,
    pub fd: AtomicI32,
    pub created: Instant,
    pub name: Mutex<String>,
    pub lib_name: Mutex<String>,
    pub lib_ver: Mutex<String>,
    pub db: AtomicUsize,
    pub resp: AtomicU64,
    /// Milliseconds (monotonic, since server start) of the last command.
    pub last_ms: AtomicU64,
    /// The last command run, as its position in the command table
    /// (u32::MAX: none yet), for CLIENT LIST's `cmd=`.
    pub last_cmd: std::sync::atomic::AtomicU32,
    pub multi: AtomicI32,
    pub killed: AtomicBool,
    /// Channels and patterns subscribed to (a subscriber is exempt from the
    /// idle timeout).
    pub sub_channels: AtomicUsize,
    pub sub_patterns: AtomicUsize,
}

impl ClientMeta {
    /// Close this client from any core: shut its socket so its read ends.
    pub fn is_subscriber(&self) -> bool {
        self.sub_channels.load(Relaxed) + self.sub_patterns.load(Relaxed) > 0
    }

    pub fn kill(&self) {
        self.killed.store(true, Relaxed);
        let fd = self.fd.load(Relaxed);
        if fd >= 0 {
            // SAFETY: shutdown only changes socket state; if the client
            // already closed it, the call fails harmlessly.
            unsafe {
                libc::shutdown(fd, libc::SHUT_RDWR);
            }
        }
    }
}

pub struct Stats {
    pub connections_received: AtomicU64,
    pub rejected_connections: AtomicU64,
    pub connected_clients: AtomicU64,
    pub expired_keys: AtomicU64,
    /// Counters bumped on every command, one cache line per core.
    pub per_core: Vec<CoreStats>,
}

/// Hot counters of one core. Only that core writes them (a plain load and
/// store, no locked instruction); INFO sums them.
#[repr(align(64))]
#[derive(Default)]
pub struct CoreStats {
    pub commands: AtomicU64,
    pub hits: AtomicU64,
    pub misses: AtomicU64,
    pub net_in: AtomicU64,
    pub net_out: AtomicU64,
}

/// Add to a counter that only the calling core writes.
pub fn bump(c: &AtomicU64, n: u64) {
    c.store(c.load(Relaxed).wrapping_add(n), Relaxed);
}

impl Stats {
    /// Sum one per-core counter over all cores.
    pub fn sum(&self, f: impl Fn(&CoreStats) -> &AtomicU64) -> u64 {
        self.per_core.iter().map(|c| f(c).load(Relaxed)).sum()
    }

    pub fn reset(&self) {
        for c in [
            &self.connections_received,
            &self.rejected_connections,
            &self.expired_keys,
        ] {
            c.store(0, Relaxed);
        }
        for c in &self.per_core {
            for x in [&c.commands, &c.hits, &c.misses, &c.net_in, &c.net_out] {
                x.store(0, Relaxed);
            }
        }
    }
}

pub struct Shared {
    pub config: Mutex<Config>,
    /// Shards (= cores).
    pub n: usize,
    pub databases: usize,
    /// The read clock: the logical time reads are evaluated at. Monotone,
    /// advanced only by the sequencer.
    pub read_clock: AtomicU64,
    /// Last log index applied by each shard.
    pub applied: Vec<AtomicU64>,
    pub stats: Stats,
    pub clients: Mutex<BTreeMap<u64, Arc<ClientMeta>>>,
    pub next_client_id: AtomicU64,
    pub started: Instant,
    pub started_unix: u64,
    pub run_id: String,
    /// Hot copies of runtime-settable limits.
    pub proto_max_bulk_len: AtomicU64,
    pub timeout: AtomicU64,
    pub maxclients: AtomicU64,
    pub requirepass_set: AtomicBool,
    /// client-output-buffer-limit per class: [hard, soft, soft seconds].
    pub obuf: [[AtomicU64; 3]; 3],
    /// This node's role, leader and read lease, published by the raft core.
    pub raft: crate::raft::status::RaftStatus,
    #[cfg(feature = "faults")]
    pub faults_no_barrier: bool,
    #[cfg(feature = "faults")]
    pub faults_apply_lag_us: u64,
}

impl Shared {
    pub fn new(config: Config, run_id: String) -> Shared {
        let n = config.threads;
        Shared {
            n,
            databases: config.databases,
            read_clock: AtomicU64::new(crate::clock::physical_ms()),
            applied: (0..n).map(|_| AtomicU64::new(0)).collect(),
            stats: Stats {
                connections_received: AtomicU64::new(0),
                rejected_connections: AtomicU64::new(0),
                connected_clients: AtomicU64::new(0),
                expired_keys: AtomicU64::new(0),
                per_core: (0..n).map(|_| CoreStats::default()).collect(),
            },
            clients: Mutex::new(BTreeMap::new()),
            next_client_id: AtomicU64::new(1),
            started: crate::clock::monotonic(),
            started_unix: crate::clock::physical_ms() / 1000,
            run_id,
            proto_max_bulk_len: AtomicU64::new(config.proto_max_bulk_len),
            timeout: AtomicU64::new(config.timeout),
            maxclients: AtomicU64::new(config.maxclients),
            requirepass_set: AtomicBool::new(!config.requirepass.is_empty()),
            obuf: config.client_output_buffer_limit.map(|l| {
                [
                    AtomicU64::new(l.hard),
                    AtomicU64::new(l.soft),
                    AtomicU64::new(l.soft_seconds),
                ]
            }),
            raft: Default::default(),
            #[cfg(feature = "faults")]
            faults_no_barrier: config.faults_no_barrier,
            #[cfg(feature = "faults")]
            faults_apply_lag_us: config.faults_apply_lag_us,
            config: Mutex::new(config),
        }
    }

    /// Apply the hot copies after a CONFIG SET.
    pub fn refresh_hot(&self) {
        let c = self.config.lock().expect("config lock");
        self.proto_max_bulk_len.store(c.proto_max_bulk_len, Relaxed);
        self.timeout.store(c.timeout, Relaxed);
        self.maxclients.store(c.maxclients, Relaxed);
        self.requirepass_set
            .store(!c.requirepass.is_empty(), Relaxed);
        for (hot, l) in self.obuf.iter().zip(c.client_output_buffer_limit) {
            hot[0].store(l.hard, Relaxed);
            hot[1].store(l.soft, Relaxed);
            hot[2].store(l.soft_seconds, Relaxed);
        }
    }

    /// (hard, soft, soft seconds) of an output-buffer class.
    pub fn obuf_limit(&self, class: usize) -> (u64, u64, u64) {
        let l = &self.obuf[class];
        (l[0].load(Relaxed), l[1].load(Relaxed), l[2].load(Relaxed))
    }

    /// A snapshot of every connected client.
    pub fn all_clients(&self) -> Vec<Arc<ClientMeta>> {
        self.clients
            .lock()
            .expect("clients")
            .values()
            .cloned()
            .collect()
    }

    /// Milliseconds since start, on the monotonic clock.
    pub fn uptime_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// Microseconds by which sequenced operations reach other cores late (a
    /// test-only fault); 0 in normal builds.
    pub fn apply_lag_us(&self) -> u64 {
        #[cfg(feature = "faults")]
        {
            self.faults_apply_lag_us
        }
        #[cfg(not(feature = "faults"))]
        {
            0
        }
    }

    /// Whether multi-shard writes skip the barrier (a test-only fault).
    pub fn no_barrier(&self) -> bool {
        #[cfg(feature = "faults")]
        {
            self.faults_no_barrier
        }
        #[cfg(not(feature = "faults"))]
        {
            false
        }
    }
}
