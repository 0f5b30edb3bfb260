//! Startup: the data directory, the executor pool (one glommio executor per
//! core, optionally pinned with --cpus), the channel mesh between cores, and
//! each core's tasks (listener, message receivers, expiry sweep, and on core
//! 0 the read-clock ticker).

use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use cachecat_shards::cmd::Cmd;
use cachecat_shards::op::LogOp;
use futures_lite::StreamExt;
use glommio::channels::channel_mesh::MeshBuilder;
use glommio::{CpuSet, LocalExecutorPoolBuilder, PoolPlacement};

use crate::config::Config;
use crate::core::{Core, Msg};
use crate::shared::Shared;

/// Capacity of each core-to-core channel; overflow waits in an outbox.
const CHANNEL_CAPACITY: usize = 4096;

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        use std::io::Read;
        let _ = f.read_exact(&mut b);
    }
    b
}

/// The secret that seeds key routing. Created once with the data directory
/// and reused, so a node keeps its key placement across restarts.
fn routing_seed(dir: &std::path::Path) -> Result<u64> {
    let path = dir.join("cluster-secret");
    if let Ok(text) = std::fs::read_to_string(&path) {
        return u64::from_str_radix(text.trim(), 16)
            .with_context(|| format!("corrupt {}", path.display()));
    }
    let seed = u64::from_le_bytes(random_bytes::<8>());
    let tmp = dir.join("cluster-secret.tmp");
    std::fs::write(&tmp, format!("{seed:016x}\n"))?;
    std::fs::rename(&tmp, &path)?;
    Ok(seed)
}

fn placement(cfg: &Config) -> Result<PoolPlacement> {
    let Some(cpus) = &cfg.cpus else {
        return Ok(PoolPlacement::Unbound(cfg.threads));
    };
    let online = CpuSet::online().map_err(|e| anyhow::anyhow!("reading the CPU topology: {e}"))?;
    let mut sets = Vec::new();
    for i in 0..cfg.threads {
        let cpu = cpus[i % cpus.len()];
        let set = online.clone().filter(|l| l.cpu == cpu);
        if set.is_empty() {
            bail!("--cpus: CPU {cpu} is not online");
        }
        sets.push(set);
    }
    Ok(PoolPlacement::Custom(sets))
}

/// Whether some socket listens on TCP `port` (any address), per the
/// kernel's tables.
fn listening_on(port: u16) -> bool {
    let want = format!(":{port:04X}");
    ["/proc/net/tcp", "/proc/net/tcp6"].iter().any(|f| {
        std::fs::read_to_string(f).is_ok_and(|t| {
            t.lines().skip(1).any(|l| {
                let cols: Vec<&str> = l.split_whitespace().collect();
                // local_address is column 1, st (0A = LISTEN) column 3.
                cols.len() > 3 && cols[1].ends_with(&want) && cols[3] == "0A"
            })
        })
    })
}

/// Fail early, as Redis does, when a port is taken: our listeners use
/// SO_REUSEPORT and would otherwise silently share it. Connections of a
/// killed predecessor that linger do not count, only a listener does.
fn check_port_free(cfg: &Config) -> Result<()> {
    for port in [cfg.port, cfg.raft_port(), cfg.sentinel_port] {
        if port != 0 && listening_on(port) {
            bail!("cannot listen on port {port}: Address already in use");
        }
    }
    Ok(())
}

pub fn run(cfg: Config) -> Result<()> {
    std::fs::create_dir_all(&cfg.dir).with_context(|| format!("creating {}", cfg.dir.display()))?;
    let seed = routing_seed(&cfg.dir)?;
    // The state machine's tables take a seed of their own from the same
    // secret, before any of them exists.
    cachecat_shards::keyspace::set_table_seed(seed.rotate_left(29) ^ 0x9E37_79B9_7F4A_7C15);
    check_port_free(&cfg)?;
    #[cfg(feature = "faults")]
    {
        if let Some(f) = &cfg.faults_file {
            crate::faults::watch(f.clone());
        }
        if let Some(f) = &cfg.faults_sync_file {
            crate::faults::set_sync_file(f.clone());
        }
    }
    let run_id: String = random_bytes::<20>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let shared = Arc::new(Shared::new(cfg.clone(), run_id));
    let mesh = MeshBuilder::<Msg, _>::full(cfg.threads, CHANNEL_CAPACITY);
    let handles = LocalExecutorPoolBuilder::new(placement(&cfg)?)
        .name("cachecat")
        .io_memory(2 << 20)
        // Each time an executor parks, glommio issues a process-wide memory
        // barrier (membarrier), which interrupts every other core running an
        // executor. Spinning briefly first keeps the short gaps between
        // requests and cross-core messages from paying that; a quiet core
        // still parks after 20 us.
        .spin_before_park(Duration::from_micros(20))
        .on_all_shards(move || async move {
            if let Err(e) = core_main(shared, mesh, seed).await {
                tracing::error!("{e:#}");
                std::process::exit(1);
            }
        })
        .map_err(|e| anyhow::anyhow!("starting executors: {e}"))?;
    for r in handles.join_all() {
        r.map_err(|e| anyhow::anyhow!("executor failed: {e}"))?;
    }
    Ok(())
}

async fn core_main(
    shared: Arc<Shared>,
    mesh: MeshBuilder<Msg, glommio::channels::channel_mesh::Full>,
    seed: u64,
) -> Result<()> {
    let (senders, mut receivers) = mesh
        .join()
        .await
        .map_err(|_| anyhow::anyhow!("joining the core mesh"))?;
    let core = Rc::new(Core::new(shared.clone(), senders, seed));
    crate::commands::keyspace::init_core(u64::from_le_bytes(random_bytes::<8>()));
    for (peer, mut stream) in receivers.streams() {
        let c = core.clone();
        glommio::spawn_local(async move {
            while let Some(msg) = stream.next().await {
                c.handle(msg);
            }
        })
        .detach();
        glommio::spawn_local(core.clone().flush_outbox(peer)).detach();
    }
    if core.sequencer.is_some() {
        let cfg = shared.config.lock().expect("config").clone();
        let node = crate::raft::node::RaftNode::start(
            &core,
            &cfg,
            u64::from_le_bytes(random_bytes::<8>()),
        )
        .await
        .context("starting the Raft node")?;
        let _ = core.raft.set(node);
        let c = core.clone();
        glommio::spawn_local(async move {
            // The read clock follows physical time to the millisecond while
            // clients are active; an idle server ticks every 100 ms, and a
            // connection that finds the clock behind asks for a tick before
            // it evaluates reads (Core::fresh_read_clock).
            let mut seen = 0;
            loop {
                c.advance_read_clock();
                let now = c.shared.stats.sum(|s| &s.commands);
                let period = if now != seen { 1 } else { 100 };
                seen = now;
                glommio::timer::sleep(Duration::from_millis(period)).await;
            }
        })
        .detach();
    }
    glommio::spawn_local(expiry_sweep(core.clone())).detach();
    if core.id == 0 {
        glommio::spawn_local(crate::conn::close_idle_clients(core.clone())).detach();
    }
    let (bind, ports) = {
        let c = shared.config.lock().expect("config");
        let mut ports = vec![c.port];
        if c.sentinel_port != 0 {
            ports.push(c.sentinel_port);
        }
        (c.bind.clone(), ports)
    };
    let reactor = crate::net::Reactor::new().context("creating the epoll reactor")?;
    glommio::spawn_local(reactor.clone().run()).detach();
    let mut accepts = Vec::new();
    for (addr, port) in bind
        .iter()
        .flat_map(|a| ports.iter().map(move |p| (a.clone(), *p)))
    {
        let sockaddr = std::net::ToSocketAddrs::to_socket_addrs(&(addr.as_str(), port))
            .ok()
            .and_then(|mut a| a.next())
            .with_context(|| format!("resolving {addr}:{port}"))?;
        let listener = crate::net::Listener::bind(&reactor, sockaddr)
            .with_context(|| format!("binding {addr}:{port}"))?;
        accepts.push(glommio::spawn_local(crate::conn::accept_loop(
            core.clone(),
            listener,
        )));
    }
    if core.id == 0 {
        let c = shared.config.lock().expect("config").clone();
        tracing::info!(
            port = c.port,
            threads = c.threads,
            dir = %c.dir.display(),
            "Cache-Cat {} ready to accept connections",
            env!("CARGO_PKG_VERSION")
        );
    }
    for a in accepts {
        a.await;
    }
    Ok(())
}

/// Keys with the versions they had when found expired.
type Versioned = Vec<(Vec<u8>, u64)>;

/// Reclaim expired keys: find entries already expired at the read clock and
/// propose conditional deletes (key, version), so a write that lands between
/// the decision and the delete survives. Runs `hz` times a second.
async fn expiry_sweep(core: Rc<Core>) {
    let mut cursors = vec![0u64; core.shared.databases];
    loop {
        let hz = core.shared.config.lock().map(|c| c.hz).unwrap_or(10).max(1);
        glommio::timer::sleep(Duration::from_millis(1000 / hz)).await;
        // Deletes are the leader's decision (followers apply its Expire ops).
        if !core.shared.raft.serving() {
            continue;
        }
        let now = core.read_now();
        let batches: Vec<(usize, Versioned)> = {
            let shard = core.shard.borrow();
            cursors
                .iter_mut()
                .enumerate()
                .filter_map(|(db, cursor)| {
                    let (found, next) = shard.db(db).expired_sample(now, *cursor, 64);
                    *cursor = next;
                    (!found.is_empty()).then(|| {
                        (
                            db,
                            found.into_iter().map(|(k, v)| (k.into_vec(), v)).collect(),
                        )
                    })
                })
                .collect()
        };
        for (db, keys) in batches {
            let r = core
                .propose(LogOp::Cmd {
                    db: db as u32,
                    cmd: Cmd::DelIfVersion { keys },
                })
                .await;
            if let cachecat_io::Reply::Int(n) = r {
                core.shared
                    .stats
                    .expired_keys
                    .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
            }
        }
    }
}
