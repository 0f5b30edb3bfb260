//! INFO: Redis's sections and field names, filled with Cache-Cat's values.

use std::fmt::Write as _;
use std::rc::Rc;
use std::sync::atomic::Ordering::Relaxed;

use cachecat_io::Reply;
use cachecat_shards::cmd::Cmd;
use cachecat_shards::op::LogOp;

use super::connection::REDIS_VERSION;
use crate::conn::Conn;
use crate::core::Core;

const DEFAULT: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "errorstats",
    "cluster",
    "raft",
    "keyspace",
];

/// Which sections the arguments select, in Redis's order.
fn selected(args: &[Vec<u8>]) -> Vec<&'static str> {
    if args.is_empty() {
        return DEFAULT.to_vec();
    }
    let mut want = Vec::new();
    for a in args {
        let a = String::from_utf8_lossy(a).to_ascii_lowercase();
        match a.as_str() {
            "all" | "everything" | "default" => want.extend_from_slice(DEFAULT),
            s => {
                if let Some(known) = DEFAULT.iter().find(|d| **d == s) {
                    want.push(*known);
                }
            }
        }
    }
    DEFAULT
        .iter()
        .copied()
        .filter(|s| want.contains(s))
        .collect()
}

pub fn human(bytes: u64) -> String {
    let b = bytes as f64;
    if b < 1024.0 {
        format!("{bytes}B")
    } else if b < 1024.0 * 1024.0 {
        format!("{:.2}K", b / 1024.0)
    } else if b < 1024.0 * 1024.0 * 1024.0 {
        format!("{:.2}M", b / 1024.0 / 1024.0)
    } else {
        format!("{:.2}G", b / 1024.0 / 1024.0 / 1024.0)
    }
}

fn cpu_times() -> (f64, f64) {
    // SAFETY: getrusage fills the zeroed struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe {
        libc::getrusage(libc::RUSAGE_SELF, &mut ru);
    }
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    (t(ru.ru_stime), t(ru.ru_utime))
}

pub async fn run(core: &Rc<Core>, _conn: &mut Conn, a: &[Vec<u8>]) -> Reply {
    let text = render(core, &a[1..]).await;
    Reply::Verbatim("txt", text.into())
}

/// The INFO text for the given section arguments.
pub async fn render(core: &Rc<Core>, args: &[Vec<u8>]) -> String {
    let sh = &core.shared;
    let st = &sh.stats;
    let cfg = sh.config.lock().expect("config").clone();
    let mut s = String::new();
    let sections = selected(args);
    let (channels, patterns) = if sections.contains(&"stats") {
        crate::pubsub::info_counts(core).await
    } else {
        (0, 0)
    };
    for (i, section) in sections.into_iter().enumerate() {
        if i > 0 {
            s.push_str("\r\n");
        }
        let title = match section {
            "errorstats" => "Errorstats".to_string(),
            other => {
                let mut c = other.chars();
                c.next()
                    .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                    .unwrap_or_default()
            }
        };
        let _ = write!(
            s,
            "# {}\r\n",
            if section == "cpu" {
                "CPU".to_string()
            } else {
                title
            }
        );
        let mut kv = |k: &str, v: &dyn std::fmt::Display| {
            let _ = write!(s, "{k}:{v}\r\n");
        };
        match section {
            "server" => {
                let up = sh.uptime_ms() / 1000;
                kv("redis_version", &REDIS_VERSION);
                kv("redis_git_sha1", &"00000000");
                kv("redis_git_dirty", &0);
                kv("redis_build_id", &"0");
                kv("redis_mode", &"standalone");
                kv(
                    "os",
                    &format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
                );
                kv("arch_bits", &64);
                kv("monotonic_clock", &"POSIX clock_gettime");
                kv("multiplexing_api", &"io_uring");
                kv("atomicvar_api", &"c11-builtin");
                kv("process_id", &std::process::id());
                kv("process_supervised", &"no");
                kv("run_id", &sh.run_id);
                kv("tcp_port", &cfg.port);
                kv("server_time_usec", &crate::clock::physical_us());
                kv("uptime_in_seconds", &up);
                kv("uptime_in_days", &(up / 86400));
                kv("hz", &cfg.hz);
                kv("configured_hz", &cfg.hz);
                kv(
                    "executable",
                    &std::env::current_exe()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default(),
                );
                kv("config_file", &"");
                kv("io_threads_active", &0);
                kv("cachecat_version", &env!("CARGO_PKG_VERSION"));
                kv("cachecat_threads", &sh.n);
            }
            "clients" => {
                kv("connected_clients", &st.connected_clients.load(Relaxed));
                kv("cluster_connections", &0);
                kv("maxclients", &cfg.maxclients);
                kv("client_recent_max_input_buffer", &0);
                kv("client_recent_max_output_buffer", &0);
                kv("blocked_clients", &0);
                kv("tracking_clients", &0);
                kv("clients_in_timeout_table", &0);
            }
            "memory" => {
                let used = crate::alloc::used_memory();
                let rss = crate::alloc::rss();
                kv("used_memory", &used);
                kv("used_memory_human", &human(used));
                kv("used_memory_rss", &rss);
                kv("used_memory_rss_human", &human(rss));
                kv("maxmemory", &cfg.maxmemory);
                kv("maxmemory_human", &human(cfg.maxmemory));
                kv("maxmemory_policy", &cfg.maxmemory_policy);
                kv(
                    "mem_fragmentation_ratio",
                    &format!("{:.2}", rss as f64 / used.max(1) as f64),
                );
                kv("mem_allocator", &"libc");
            }
            "persistence" => {
                kv("loading", &0);
                kv("async_loading", &0);
                kv("rdb_changes_since_last_save", &0);
                kv("rdb_bgsave_in_progress", &0);
                kv("rdb_last_save_time", &sh.started_unix);
                kv("rdb_last_bgsave_status", &"ok");
                kv("aof_enabled", &0);
                kv("aof_rewrite_in_progress", &0);
                kv("aof_last_write_status", &"ok");
            }
            "stats" => {
                kv(
                    "total_connections_received",
                    &st.connections_received.load(Relaxed),
                );
                kv("total_commands_processed", &st.sum(|c| &c.commands));
                kv("instantaneous_ops_per_sec", &0);
                kv("total_net_input_bytes", &st.sum(|c| &c.net_in));
                kv("total_net_output_bytes", &st.sum(|c| &c.net_out));
                kv(
                    "rejected_connections",
                    &st.rejected_connections.load(Relaxed),
                );
                kv("expired_keys", &st.expired_keys.load(Relaxed));
                kv("evicted_keys", &0);
                kv("keyspace_hits", &st.sum(|c| &c.hits));
                kv("keyspace_misses", &st.sum(|c| &c.misses));
                kv("pubsub_channels", &channels);
                kv("pubsub_patterns", &patterns);
            }
            "replication" => super::role::replication_info(core, &mut kv),
            "raft" => super::role::raft_info(core, &mut kv),
            "cpu" => {
                let (sys, user) = cpu_times();
                kv("used_cpu_sys", &format!("{sys:.6}"));
                kv("used_cpu_user", &format!("{user:.6}"));
                kv("used_cpu_sys_children", &"0.000000");
                kv("used_cpu_user_children", &"0.000000");
            }
            "cluster" => kv("cluster_enabled", &0),
            _ => {}
        }
        if section == "keyspace" {
            let r = core
                .propose(LogOp::Cmd {
                    db: 0,
                    cmd: Cmd::KeyspaceInfo,
                })
                .await;
            if let Reply::Array(v) = r {
                for (db, pair) in v.chunks(2).enumerate() {
                    if let [Reply::Int(keys), Reply::Int(expires)] = pair {
                        if *keys > 0 {
                            let _ = write!(s, "db{db}:keys={keys},expires={expires},avg_ttl=0\r\n");
                        }
                    }
                }
            }
        }
    }
    s
}
