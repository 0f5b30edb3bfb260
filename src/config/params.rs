//! The parameter table (names, when each may change, the help text) and
//! the parsers of parameter values, beside the `Config` they fill in.

use std::fmt::Write as _;

use super::{println_stdout, ConfigError};

/// When a parameter can change.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Mutability {
    /// Only at startup (flag or file).
    Startup,
    /// Also with CONFIG SET.
    Runtime,
    /// Accepted for compatibility; the value in effect is fixed.
    Fixed(&'static str),
}

pub(super) struct Param {
    pub(super) name: &'static str,
    help: &'static str,
    pub(super) mutability: Mutability,
}

const fn p(name: &'static str, mutability: Mutability, help: &'static str) -> Param {
    Param {
        name,
        help,
        mutability,
    }
}

pub(super) use Mutability::*;

/// Every parameter, in the order `--help` lists them.
pub(super) const PARAMS: &[Param] = &[
    p(
        "bind",
        Startup,
        "addresses to listen on (default 127.0.0.1)",
    ),
    p("port", Startup, "client port (default 6379)"),
    p(
        "dir",
        Startup,
        "data directory, created if missing (default ./data)",
    ),
    p(
        "threads",
        Startup,
        "executors, one per core (default: number of cores)",
    ),
    p(
        "cpus",
        Startup,
        "pin executors to these CPUs, e.g. 1 or 0,2-3 (default: unpinned)",
    ),
    p(
        "requirepass",
        Runtime,
        "password clients must AUTH with (default: none)",
    ),
    p(
        "databases",
        Startup,
        "number of databases for SELECT (default 16)",
    ),
    p(
        "maxclients",
        Runtime,
        "most simultaneous clients (default 10000)",
    ),
    p(
        "timeout",
        Runtime,
        "close clients idle this many seconds, 0 = never (default 0)",
    ),
    p(
        "proto-max-bulk-len",
        Runtime,
        "largest bulk string a client may send (default 512mb)",
    ),
    p(
        "client-output-buffer-limit",
        Runtime,
        "<class> <hard> <soft> <seconds> (normal, replica, pubsub)",
    ),
    p(
        "loglevel",
        Runtime,
        "debug, verbose, notice or warning (default notice)",
    ),
    p(
        "maxmemory",
        Runtime,
        "memory limit; accepted, eviction is not implemented yet (default 0)",
    ),
    p(
        "maxmemory-policy",
        Runtime,
        "accepted; eviction is not implemented yet (default noeviction)",
    ),
    p("hz", Runtime, "background task frequency (default 10)"),
    p(
        "tcp-keepalive",
        Runtime,
        "TCP keepalive seconds (default 300)",
    ),
    p("node-id", Startup, "this node's Raft id, 1 and up (default 1)"),
    p(
        "raft-port",
        Startup,
        "port for peer traffic (default: port + 10000)",
    ),
    p(
        "peer",
        Startup,
        "ID=HOST:CLIENT_PORT:RAFT_PORT, once per initial member (default: a one-node cluster); a node not in the list starts empty and waits to be added",
    ),
    p(
        "appendfsync",
        Startup,
        "always (fdatasync each batch before acknowledging), everysec or no (default always)",
    ),
    p(
        "raft-snapshot-entries",
        Startup,
        "log entries between snapshots; older entries are then dropped (default 20000)",
    ),
    p(
        "raft-heartbeat-ms",
        Startup,
        "interval between the leader's heartbeats, ms (default 100)",
    ),
    p(
        "raft-election-timeout-ms",
        Startup,
        "a follower that hears no leader for a time drawn between this and twice this starts an election, ms; at least 3 heartbeats (default 500)",
    ),
    p(
        "sentinel-port",
        Startup,
        "a second client port whose ROLE says sentinel, for clients that check it (redis-rs); 0: none (default 0)",
    ),
    p(
        "sentinel-master-name",
        Startup,
        "the master name Sentinel clients ask for (default mymaster)",
    ),
    p(
        "save",
        Fixed(""),
        "accepted; snapshots follow raft-snapshot-entries (and RAFT SNAPSHOT)",
    ),
    p(
        "appendonly",
        Fixed("yes"),
        "accepted; every write goes through the replicated log",
    ),
    p(
        "daemonize",
        Fixed("no"),
        "accepted; run under a supervisor instead",
    ),
    p("protected-mode", Fixed("no"), "accepted"),
    p("maxmemory-samples", Fixed("5"), "accepted"),
    p("lazyfree-lazy-user-del", Fixed("no"), "accepted"),
    p("lua-time-limit", Fixed("5000"), "accepted"),
    p("busy-reply-threshold", Fixed("5000"), "accepted"),
    p("slowlog-log-slower-than", Fixed("10000"), "accepted"),
    p("slowlog-max-len", Fixed("128"), "accepted"),
    p("latency-tracking", Fixed("no"), "accepted"),
    p("notify-keyspace-events", Fixed(""), "accepted"),
    p("cluster-enabled", Fixed("no"), "accepted"),
    p("replica-read-only", Fixed("yes"), "accepted"),
    p(
        "io-threads",
        Fixed("1"),
        "accepted; Cache-Cat uses --threads",
    ),
    p("logfile", Fixed(""), "accepted; logs go to standard error"),
];

/// Redis's memory units: k=1000, kb=1024, m, mb, g, gb.
pub fn parse_memory(s: &str) -> Result<u64, ConfigError> {
    let lower = s.to_ascii_lowercase();
    let (num, mul) = [
        ("gb", 1u64 << 30),
        ("mb", 1 << 20),
        ("kb", 1 << 10),
        ("g", 1_000_000_000),
        ("m", 1_000_000),
        ("k", 1_000),
        ("b", 1),
    ]
    .iter()
    .find_map(|(suf, m)| lower.strip_suffix(suf).map(|n| (n.to_string(), *m)))
    .unwrap_or((lower.clone(), 1));
    let n: u64 = num.parse().map_err(|_| ConfigError::NotInteger)?;
    n.checked_mul(mul).ok_or(ConfigError::NotInteger)
}

pub(super) fn parse_u64(s: &str) -> Result<u64, ConfigError> {
    s.parse().map_err(|_| ConfigError::NotInteger)
}

pub(super) fn parse_bool(s: &str) -> Result<bool, ConfigError> {
    match s.to_ascii_lowercase().as_str() {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err(ConfigError::NotBool),
    }
}

/// `0,2-3` → [0, 2, 3].
pub fn parse_cpu_list(s: &str) -> Result<Vec<usize>, ConfigError> {
    let bad = || ConfigError::Invalid(format!("invalid CPU list '{s}'"));
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (usize, usize) =
                    (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
                if a > b {
                    return Err(bad());
                }
                out.extend(a..=b);
            }
            None => out.push(part.parse().map_err(|_| bad())?),
        }
    }
    if out.is_empty() {
        return Err(bad());
    }
    Ok(out)
}

pub(super) fn print_help() {
    let mut s = String::from(
        "Cache-Cat: a Redis-protocol key-value cache.\n\n\
         Usage: cachecat [CONFIG_FILE] [--config FILE] [--NAME VALUE ...]\n\n\
         Every parameter can be given as a flag or as a 'NAME VALUE' line in the\n\
         config file; flags win. Parameters:\n\n",
    );
    for p in PARAMS {
        let _ = writeln!(s, "  --{:<28} {}", p.name, p.help);
    }
    #[cfg(feature = "faults")]
    s.push_str(
        "\nTest-only fault switches (this is a `faults` build):\n\n\
         \x20 --faults-file                  follow this file: drop-peers IDS, clock-offset-ms N\n\
         \x20 --faults-sync-file             record the last fdatasync'd log offset here\n\
         \x20 --faults-no-barrier            multi-shard writes skip the cross-shard barrier\n\
         \x20 --faults-apply-lag-us          operations reach other cores this many microseconds late\n\
         \x20 --faults-ack-before-fsync      planted bug: count entries flushed before fdatasync\n\
         \x20 --faults-follower-reads        planted bug: followers answer reads\n\
         \x20 --faults-reads-before-tick     planted bug: a new leader reads before its first Tick\n\
         \x20 --faults-local-expiry          planted bug: TTLs judged by the local wall clock\n",
    );
    s.push_str("\n  --help                         this text\n  --version                      print the version\n");
    println_stdout(&s);
}
