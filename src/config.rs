//! Configuration: command-line flags, config files and CONFIG GET/SET share
//! one table of parameters, named as Redis names them where Redis has one.
//!
//! A flag is `--name value`; a config file holds `name value` lines (`#`
//! starts a comment, quotes as in redis.conf). Flags override the file.
//! Parameters Redis tools like to set but that Cache-Cat does not implement
//! (`save`, `appendonly`...) are accepted and CONFIG GET reports the value in
//! effect, never a value we do not honour.

use std::fmt::Write as _;
use std::path::PathBuf;

use thiserror::Error;

mod params;
use params::{parse_bool, parse_u64, print_help, Fixed, Param, Startup, PARAMS};
pub use params::{parse_cpu_list, parse_memory};

#[derive(Debug, Error, PartialEq)]
pub enum ConfigError {
    #[error("unknown option '{0}'")]
    Unknown(String),
    #[error("argument couldn't be parsed into an integer")]
    NotInteger,
    #[error("argument must be 'yes' or 'no'")]
    NotBool,
    #[error("{0}")]
    Invalid(String),
    #[error("cannot read config file {0}: {1}")]
    File(String, String),
    #[error("option '{0}' needs a value")]
    MissingValue(String),
}

/// Output buffer limits of one client class (`client-output-buffer-limit`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BufferLimit {
    pub hard: u64,
    pub soft: u64,
    pub soft_seconds: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub bind: Vec<String>,
    pub port: u16,
    pub dir: PathBuf,
    pub threads: usize,
    pub cpus: Option<Vec<usize>>,
    pub requirepass: String,
    pub databases: usize,
    pub maxclients: u64,
    pub timeout: u64,
    pub proto_max_bulk_len: u64,
    pub client_output_buffer_limit: [BufferLimit; 3],
    pub loglevel: String,
    pub maxmemory: u64,
    pub maxmemory_policy: String,
    pub hz: u64,
    pub tcp_keepalive: u64,
    /// This node's Raft id (1 and up).
    pub node_id: u64,
    /// Port for peer traffic (default: client port + 10000, as Redis
    /// Cluster's bus).
    pub raft_port: Option<u16>,
    /// The initial members, this node included; empty: a one-node cluster.
    pub peers: Vec<Peer>,
    pub appendfsync: crate::raft::store::Fsync,
    /// Entries applied since the last snapshot that trigger the next one.
    pub raft_snapshot_entries: u64,
    /// The master name Sentinel clients ask for (SENTINEL commands, events).
    pub sentinel_master_name: String,
    /// A second client port where ROLE answers `sentinel` (0: none), for
    /// clients that check that their sentinels are sentinels.
    pub sentinel_port: u16,
    /// Raft heartbeat interval (ms).
    pub raft_heartbeat_ms: u64,
    /// Minimum Raft election timeout (ms); the maximum is twice this.
    pub raft_election_timeout_ms: u64,
    /// Test-only fault switch: apply multi-shard writes without the barrier.
    #[cfg(feature = "faults")]
    pub faults_no_barrier: bool,
    /// Test-only fault: every core but the sequencer's receives sequenced
    /// operations this many microseconds late (an apply lag, as a follower
    /// or a busy core has).
    #[cfg(feature = "faults")]
    pub faults_apply_lag_us: u64,
    /// Test-only: a file of runtime faults (dropped peers, clock offset).
    #[cfg(feature = "faults")]
    pub faults_file: Option<PathBuf>,
    /// Test-only: where to record the last fdatasync'd log offset.
    #[cfg(feature = "faults")]
    pub faults_sync_file: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            bind: vec!["127.0.0.1".into()],
            port: 6379,
            dir: PathBuf::from("./data"),
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpus: None,
            requirepass: String::new(),
            databases: 16,
            maxclients: 10000,
            timeout: 0,
            proto_max_bulk_len: 512 * 1024 * 1024,
            client_output_buffer_limit: [
                BufferLimit {
                    hard: 0,
                    soft: 0,
                    soft_seconds: 0,
                },
                BufferLimit {
                    hard: 256 << 20,
                    soft: 64 << 20,
                    soft_seconds: 60,
                },
                BufferLimit {
                    hard: 32 << 20,
                    soft: 8 << 20,
                    soft_seconds: 60,
                },
            ],
            loglevel: "notice".into(),
            maxmemory: 0,
            maxmemory_policy: "noeviction".into(),
            hz: 10,
            tcp_keepalive: 300,
            node_id: 1,
            raft_port: None,
            peers: Vec::new(),
            appendfsync: crate::raft::store::Fsync::Always,
            raft_snapshot_entries: 20_000,
            sentinel_master_name: "mymaster".into(),
            sentinel_port: 0,
            raft_heartbeat_ms: 100,
            raft_election_timeout_ms: 500,
            #[cfg(feature = "faults")]
            faults_no_barrier: false,
            #[cfg(feature = "faults")]
            faults_apply_lag_us: 0,
            #[cfg(feature = "faults")]
            faults_file: None,
            #[cfg(feature = "faults")]
            faults_sync_file: None,
        }
    }
}

/// An initial member: `ID=HOST:CLIENT_PORT:RAFT_PORT`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Peer {
    pub id: u64,
    pub host: String,
    pub client_port: u16,
    pub raft_port: u16,
}

impl Peer {
    pub fn parse(s: &str) -> Result<Peer, ConfigError> {
        let bad = || {
            ConfigError::Invalid(format!(
                "invalid peer '{s}': expected ID=HOST:CLIENT_PORT:RAFT_PORT"
            ))
        };
        let (id, addr) = s.split_once('=').ok_or_else(bad)?;
        let id: u64 = id.trim().parse().map_err(|_| bad())?;
        let mut parts = addr.rsplitn(3, ':');
        let raft_port = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        let client_port = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        let host = parts.next().filter(|h| !h.is_empty()).ok_or_else(bad)?;
        if id == 0 {
            return Err(ConfigError::Invalid("node ids start at 1".into()));
        }
        Ok(Peer {
            id,
            host: host.to_string(),
            client_port,
            raft_port,
        })
    }
}

impl Config {
    /// The port peers reach this node on.
    pub fn raft_port(&self) -> u16 {
        self.raft_port.unwrap_or(self.port.wrapping_add(10000))
    }

    /// The initial members: the peer list, or this node alone.
    pub fn members(&self) -> Vec<Peer> {
        if !self.peers.is_empty() {
            return self.peers.clone();
        }
        vec![Peer {
            id: self.node_id,
            host: self
                .bind
                .first()
                .cloned()
                .unwrap_or_else(|| "127.0.0.1".into()),
            client_port: self.port,
            raft_port: self.raft_port(),
        }]
    }
}

const CLASSES: [&str; 3] = ["normal", "replica", "pubsub"];

impl Config {
    /// Set one parameter from its text value (flags, file, CONFIG SET).
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), ConfigError> {
        let name = name.to_ascii_lowercase();
        match name.as_str() {
            "bind" => self.bind = value.split_whitespace().map(String::from).collect(),
            "port" => {
                self.port = value.parse().map_err(|_| ConfigError::NotInteger)?;
            }
            "dir" => self.dir = PathBuf::from(value),
            "threads" => {
                let n = parse_u64(value)?;
                if n == 0 || n > 256 {
                    return Err(ConfigError::Invalid("threads must be between 1 and 256".into()));
                }
                self.threads = n as usize;
            }
            "cpus" => self.cpus = Some(parse_cpu_list(value)?),
            "requirepass" => self.requirepass = value.to_string(),
            "databases" => {
                let n = parse_u64(value)?;
                if n == 0 || n > 1_000_000 {
                    return Err(ConfigError::Invalid("databases must be between 1 and 1000000".into()));
                }
                self.databases = n as usize;
            }
            "maxclients" => self.maxclients = parse_u64(value)?.max(1),
            "timeout" => self.timeout = parse_u64(value)?,
            "proto-max-bulk-len" => {
                let n = parse_memory(value)?;
                if n < 1024 * 1024 {
                    return Err(ConfigError::Invalid(
                        "proto-max-bulk-len must be 1mb or greater".into(),
                    ));
                }
                self.proto_max_bulk_len = n;
            }
            "client-output-buffer-limit" => self.set_output_limits(value)?,
            "loglevel" => match value.to_ascii_lowercase().as_str() {
                l @ ("debug" | "verbose" | "notice" | "warning" | "nothing") => self.loglevel = l.into(),
                _ => return Err(ConfigError::Invalid("argument(s) must be one of the following: debug, verbose, notice, warning, nothing".into())),
            },
            "maxmemory" => self.maxmemory = parse_memory(value)?,
            "maxmemory-policy" => match value.to_ascii_lowercase().as_str() {
                p @ ("noeviction" | "allkeys-lru" | "allkeys-lfu" | "volatile-lru" | "volatile-lfu"
                | "volatile-ttl" | "allkeys-random" | "volatile-random") => self.maxmemory_policy = p.into(),
                _ => return Err(ConfigError::Invalid("argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction".into())),
            },
            "hz" => self.hz = parse_u64(value)?.clamp(1, 500),
            "tcp-keepalive" => self.tcp_keepalive = parse_u64(value)?,
            "node-id" => {
                self.node_id = parse_u64(value)?;
                if self.node_id == 0 {
                    return Err(ConfigError::Invalid("node ids start at 1".into()));
                }
            }
            "raft-port" => {
                self.raft_port = Some(value.parse().map_err(|_| ConfigError::NotInteger)?);
            }
            "peer" => {
                for p in value.split_whitespace() {
                    let p = Peer::parse(p)?;
                    if self.peers.iter().any(|q| q.id == p.id) {
                        return Err(ConfigError::Invalid(format!("peer {} given twice", p.id)));
                    }
                    self.peers.push(p);
                }
            }
            "raft-snapshot-entries" => {
                self.raft_snapshot_entries = parse_u64(value)?.max(10);
            }
            "raft-heartbeat-ms" => {
                self.raft_heartbeat_ms = parse_u64(value)?;
                if self.raft_heartbeat_ms < 10 {
                    return Err(ConfigError::Invalid("the heartbeat is at least 10 ms".into()));
                }
            }
            "raft-election-timeout-ms" => self.raft_election_timeout_ms = parse_u64(value)?,
            "sentinel-port" => {
                self.sentinel_port = value.parse().map_err(|_| ConfigError::NotInteger)?;
            }
            "sentinel-master-name" => {
                if value.is_empty() || value.contains(char::is_whitespace) {
                    return Err(ConfigError::Invalid(
                        "the master name must be one word".into(),
                    ));
                }
                self.sentinel_master_name = value.to_string();
            }
            "appendfsync" => {
                self.appendfsync = crate::raft::store::Fsync::parse(value).ok_or_else(|| {
                    ConfigError::Invalid(
                        "argument(s) must be one of the following: always, everysec, no".into(),
                    )
                })?;
            }
            #[cfg(feature = "faults")]
            "faults-no-barrier" => self.faults_no_barrier = parse_bool(value)?,
            #[cfg(feature = "faults")]
            "faults-apply-lag-us" => self.faults_apply_lag_us = parse_u64(value)?,
            #[cfg(feature = "faults")]
            "faults-file" => self.faults_file = Some(PathBuf::from(value)),
            #[cfg(feature = "faults")]
            "faults-ack-before-fsync" => set_bug(&crate::faults::BUGS.ack_before_fsync, value)?,
            #[cfg(feature = "faults")]
            "faults-follower-reads" => set_bug(&crate::faults::BUGS.follower_reads, value)?,
            #[cfg(feature = "faults")]
            "faults-reads-before-tick" => set_bug(&crate::faults::BUGS.reads_before_tick, value)?,
            #[cfg(feature = "faults")]
            "faults-local-expiry" => set_bug(&crate::faults::BUGS.local_expiry, value)?,
            #[cfg(feature = "faults")]
            "faults-sync-file" => self.faults_sync_file = Some(PathBuf::from(value)),
            _ => match PARAMS.iter().find(|p| p.name == name) {
                Some(Param { mutability: Fixed(_), name, .. }) => {
                    // Accepted; yes/no parameters still validate their value.
                    if matches!(*name, "appendonly" | "daemonize" | "protected-mode") {
                        parse_bool(value)?;
                    }
                }
                _ => return Err(ConfigError::Unknown(name)),
            },
        }
        Ok(())
    }

    fn set_output_limits(&mut self, value: &str) -> Result<(), ConfigError> {
        let parts: Vec<&str> = value.split_whitespace().collect();
        if parts.is_empty() || !parts.len().is_multiple_of(4) {
            return Err(ConfigError::Invalid(
                "Wrong number of arguments in buffer limit configuration.".into(),
            ));
        }
        let mut next = self.client_output_buffer_limit;
        for c in parts.chunks(4) {
            let class = match c[0].to_ascii_lowercase().as_str() {
                "normal" => 0,
                "replica" | "slave" => 1,
                "pubsub" => 2,
                _ => {
                    return Err(ConfigError::Invalid(
                        "Invalid client class specified in buffer limit configuration.".into(),
                    ))
                }
            };
            next[class] = BufferLimit {
                hard: parse_memory(c[1])?,
                soft: parse_memory(c[2])?,
                soft_seconds: parse_u64(c[3])?,
            };
        }
        self.client_output_buffer_limit = next;
        Ok(())
    }

    /// The value CONFIG GET reports for a parameter in effect.
    pub fn get(&self, name: &str) -> Option<String> {
        Some(match name {
            "bind" => self.bind.join(" "),
            "port" => self.port.to_string(),
            "dir" => std::fs::canonicalize(&self.dir)
                .unwrap_or_else(|_| self.dir.clone())
                .display()
                .to_string(),
            "threads" => self.threads.to_string(),
            "cpus" => self
                .cpus
                .as_ref()
                .map(|c| {
                    c.iter()
                        .map(|n| n.to_string())
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_default(),
            "requirepass" => self.requirepass.clone(),
            "databases" => self.databases.to_string(),
            "maxclients" => self.maxclients.to_string(),
            "timeout" => self.timeout.to_string(),
            "proto-max-bulk-len" => self.proto_max_bulk_len.to_string(),
            "client-output-buffer-limit" => {
                let mut s = String::new();
                for (i, l) in self.client_output_buffer_limit.iter().enumerate() {
                    let class = if i == 1 { "slave" } else { CLASSES[i] };
                    let sep = if i == 0 { "" } else { " " };
                    let _ = write!(s, "{sep}{class} {} {} {}", l.hard, l.soft, l.soft_seconds);
                }
                s
            }
            "loglevel" => self.loglevel.clone(),
            "maxmemory" => self.maxmemory.to_string(),
            "maxmemory-policy" => self.maxmemory_policy.clone(),
            "hz" => self.hz.to_string(),
            "tcp-keepalive" => self.tcp_keepalive.to_string(),
            "node-id" => self.node_id.to_string(),
            "raft-port" => self.raft_port().to_string(),
            "peer" => self
                .peers
                .iter()
                .map(|p| format!("{}={}:{}:{}", p.id, p.host, p.client_port, p.raft_port))
                .collect::<Vec<_>>()
                .join(" "),
            "appendfsync" => self.appendfsync.name().to_string(),
            "raft-snapshot-entries" => self.raft_snapshot_entries.to_string(),
            "sentinel-master-name" => self.sentinel_master_name.clone(),
            "sentinel-port" => self.sentinel_port.to_string(),
            "raft-heartbeat-ms" => self.raft_heartbeat_ms.to_string(),
            "raft-election-timeout-ms" => self.raft_election_timeout_ms.to_string(),
            other => match PARAMS.iter().find(|p| p.name == other)?.mutability {
                Fixed(v) => v.to_string(),
                _ => return None,
            },
        })
    }

    /// Names of all parameters (CONFIG GET patterns are matched against them).
    pub fn names() -> impl Iterator<Item = &'static str> {
        PARAMS.iter().map(|p| p.name)
    }

    /// Whether CONFIG SET may change the parameter now.
    pub fn runtime_settable(name: &str) -> bool {
        PARAMS
            .iter()
            .any(|p| p.name == name && p.mutability != Startup)
    }

    /// Read a redis.conf-style file into this config.
    pub fn load_file(&mut self, path: &str) -> Result<(), ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::File(path.into(), e.to_string()))?;
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let words = split_config_line(line).ok_or_else(|| {
                ConfigError::Invalid(format!("{path}:{}: unbalanced quotes", n + 1))
            })?;
            let Some((name, rest)) = words.split_first() else {
                continue;
            };
            if name.eq_ignore_ascii_case("include") {
                for f in rest {
                    self.load_file(f)?;
                }
                continue;
            }
            self.set(name, &rest.join(" "))
                .map_err(|e| ConfigError::Invalid(format!("{path}:{}: {name}: {e}", n + 1)))?;
        }
        Ok(())
    }

    /// Parse command-line arguments (program name excluded). Returns None
    /// when `--help` or `--version` was handled.
    pub fn from_args(args: &[String]) -> Result<Option<Config>, ConfigError> {
        let mut cfg = Config::default();
        // A config file given first (as redis-server accepts) or with --config.
        let mut rest: Vec<&String> = args.iter().collect();
        if let Some(first) = rest.first() {
            if !first.starts_with("--") {
                cfg.load_file(first)?;
                rest.remove(0);
            }
        }
        if let Some(pos) = rest.iter().position(|a| *a == "--config") {
            let file = rest
                .get(pos + 1)
                .ok_or_else(|| ConfigError::MissingValue("config".into()))?;
            cfg.load_file(file)?;
            rest.drain(pos..pos + 2);
        }
        let mut i = 0;
        while i < rest.len() {
            let a = rest[i];
            if a == "--help" || a == "-h" {
                print_help();
                return Ok(None);
            }
            if a == "--version" || a == "-v" {
                println_stdout(&format!("cachecat {}", env!("CARGO_PKG_VERSION")));
                return Ok(None);
            }
            let Some(name) = a.strip_prefix("--") else {
                return Err(ConfigError::Unknown(a.clone()));
            };
            // Values run until the next --flag (client-output-buffer-limit and
            // bind take several words).
            let mut vals = Vec::new();
            while i + 1 < rest.len() && !rest[i + 1].starts_with("--") {
                vals.push(rest[i + 1].as_str());
                i += 1;
            }
            if vals.is_empty() {
                return Err(ConfigError::MissingValue(name.into()));
            }
            cfg.set(name, &vals.join(" "))?;
            i += 1;
        }
        if cfg.raft_election_timeout_ms < 3 * cfg.raft_heartbeat_ms {
            return Err(ConfigError::Invalid(format!(
                "raft-election-timeout-ms ({}) must be at least 3 heartbeats ({} ms)",
                cfg.raft_election_timeout_ms,
                3 * cfg.raft_heartbeat_ms
            )));
        }
        Ok(Some(cfg))
    }
}

/// Split a config line into words with redis.conf quoting.
fn split_config_line(line: &str) -> Option<Vec<String>> {
    let bytes = bytes::Bytes::copy_from_slice(line.as_bytes());
    let words = cachecat_io::parse::split_args(&bytes)?;
    Some(
        words
            .iter()
            .map(|w| String::from_utf8_lossy(w).into_owned())
            .collect(),
    )
}

fn println_stdout(s: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout(), "{s}");
}

#[cfg(feature = "faults")]
fn set_bug(flag: &std::sync::atomic::AtomicBool, value: &str) -> Result<(), ConfigError> {
    flag.store(parse_bool(value)?, std::sync::atomic::Ordering::Relaxed);
    Ok(())
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
