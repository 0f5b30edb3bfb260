//! `chaos`: start a real cluster of `cachecat` processes, each in its own
//! network namespace, load it with concurrent clients, break it (kill -9,
//! SIGSTOP, partitions, clock skew, membership changes, power loss), heal
//! it, and check the history.
//!
//! ```text
//! cargo run --release --bin chaos -- --nodes 3 --time 60 \
//!     --nemesis kill,pause,partition,clock,member,power \
//!     --workload register,list-append,set,counter,txn,ttl --out DIR
//! ```
//!
//! Exit status: 0 when every check passes, 1 when any anomaly is found, 2
//! when the run could not be made (missing tools, a server without the
//! `faults` switches, not root). Everything it starts (processes by pid,
//! namespaces, the bridge) is removed at the end, also on Ctrl-C.

mod check;
mod cluster;
mod digests;
mod history;
mod nemesis;
mod netns;
mod power;
mod report;
mod resp;
mod serial;
mod wgl;
mod workload;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    INTERRUPTED.store(true, Relaxed);
}

struct Opts {
    nodes: usize,
    time: u64,
    nemeses: Vec<nemesis::Kind>,
    workloads: Vec<workload::Kind>,
    out: PathBuf,
    server: PathBuf,
    threads: usize,
    workers: usize,
    seed: u64,
    /// Extra arguments for every node (planted-bug switches, say).
    server_args: Vec<String>,
    /// How long each fault lasts, and the quiet spell after it.
    fault_ms: u64,
    quiet_ms: u64,
}

const USAGE: &str =
    "usage: chaos [--nodes N] [--time SECS] [--nemesis kill,pause,partition,clock,member,power] \
[--workload register,counter,list-append,set,txn,ttl] [--out DIR] [--server PATH] [--threads N] \
[--workers-per-workload N] [--seed N] [--server-args \"--flag value ...\"] [--fault-ms MS] [--quiet-ms MS]";

fn parse() -> Result<Opts> {
    let mut o = Opts {
        nodes: 3,
        time: 60,
        nemeses: vec![
            nemesis::Kind::Kill,
            nemesis::Kind::Pause,
            nemesis::Kind::Partition,
            nemesis::Kind::Clock,
            nemesis::Kind::Member,
            nemesis::Kind::Power,
        ],
        workloads: vec![
            workload::Kind::Register,
            workload::Kind::Counter,
            workload::Kind::ListAppend,
            workload::Kind::Set,
            workload::Kind::Txn,
            workload::Kind::Ttl,
        ],
        out: PathBuf::from("chaos-out"),
        server: PathBuf::from("target/release/cachecat"),
        threads: 2,
        workers: 2,
        seed: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64),
        server_args: Vec::new(),
        fault_ms: 4000,
        quiet_ms: 3000,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--help" || a == "-h" {
            println!("{USAGE}");
            std::process::exit(0);
        }
        let v = args
            .next()
            .with_context(|| format!("{a} needs a value\n{USAGE}"))?;
        match a.as_str() {
            "--nodes" => o.nodes = v.parse().context("--nodes")?,
            "--time" => o.time = v.parse().context("--time")?,
            "--nemesis" => {
                o.nemeses = v
                    .split(',')
                    .filter(|s| !s.is_empty() && *s != "none")
                    .map(|s| {
                        nemesis::Kind::parse(s).with_context(|| format!("unknown nemesis {s}"))
                    })
                    .collect::<Result<_>>()?
            }
            "--workload" => {
                o.workloads = v
                    .split(',')
                    .map(|s| {
                        workload::Kind::parse(s).with_context(|| format!("unknown workload {s}"))
                    })
                    .collect::<Result<_>>()?
            }
            "--out" => o.out = PathBuf::from(v),
            "--server" => o.server = PathBuf::from(v),
            "--threads" => o.threads = v.parse().context("--threads")?,
            "--workers-per-workload" => o.workers = v.parse().context("--workers-per-workload")?,
            "--seed" => o.seed = v.parse().context("--seed")?,
            "--fault-ms" => o.fault_ms = v.parse().context("--fault-ms")?,
            "--quiet-ms" => o.quiet_ms = v.parse().context("--quiet-ms")?,
            "--server-args" => o.server_args = v.split_whitespace().map(String::from).collect(),
            _ => bail!("unknown option {a}\n{USAGE}"),
        }
    }
    if !(1..=9).contains(&o.nodes) {
        bail!("--nodes must be 1 to 9");
    }
    Ok(o)
}

fn main() {
    let o = match parse() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("chaos: {e:#}");
            std::process::exit(2);
        }
    };
    // Setup problems (tools, permissions, binary) exit 2; anomalies exit 1.
    if let Err(e) = preflight(&o) {
        eprintln!("chaos: cannot run: {e:#}");
        std::process::exit(2);
    }
    // SAFETY: installing a handler that only stores to an atomic.
    unsafe {
        libc::signal(libc::SIGINT, on_signal as *const () as usize);
        libc::signal(libc::SIGTERM, on_signal as *const () as usize);
    }
    match run(&o) {
        Ok(anomalies) if anomalies.is_empty() => {
            println!("chaos: valid: every check passed ({})", o.out.display());
        }
        Ok(anomalies) => {
            println!(
                "chaos: {} anomalies (see {}/anomalies.txt):",
                anomalies.len(),
                o.out.display()
            );
            for a in anomalies.iter().take(20) {
                println!("  {a}");
            }
            std::process::exit(1);
        }
        Err(e) => {
            eprintln!("chaos: run failed: {e:#}");
            std::process::exit(2);
        }
    }
}

fn preflight(o: &Opts) -> Result<()> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        bail!("network namespaces need root");
    }
    netns::check_tools()?;
    cluster::check_server(&o.server)?;
    std::fs::create_dir_all(&o.out).with_context(|| format!("creating {}", o.out.display()))?;
    Ok(())
}

fn run(o: &Opts) -> Result<Vec<String>> {
    let out = o.out.canonicalize()?;
    let tag = std::process::id();
    let mut net = netns::Net::create(tag, o.nodes)?;
    let server = o.server.canonicalize()?;
    let mut cluster = cluster::Cluster::new(server, &net.ns, &net.ips, &out, o.threads)?;
    cluster.extra_args = o.server_args.clone();
    for i in 0..o.nodes {
        cluster.start(i)?;
    }
    let start = Instant::now();
    println!(
        "chaos: {} nodes on {}, seed {}",
        o.nodes, net.bridge, o.seed
    );
    if cluster.wait_leader(Duration::from_secs(30)).is_none() {
        bail!(
            "no leader within 30 s of starting (node logs are in {})",
            out.display()
        );
    }

    let addrs = cluster.nodes.iter().map(|n| n.addr()).collect();
    let shared = Arc::new(workload::Shared::new(start, addrs, Duration::from_secs(1)));
    let mut handles = Vec::new();
    let mut id = 0;
    for &kind in &o.workloads {
        for _ in 0..o.workers {
            let (sh, seed) = (shared.clone(), o.seed.wrapping_add(id as u64 * 7919));
            handles.push(std::thread::spawn(move || {
                workload::worker(id, kind, sh, seed)
            }));
            id += 1;
        }
    }

    let samples = Arc::new(std::sync::Mutex::new(digests::Samples::default()));
    let sampler_stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (nodes, stop, out) = (shared.nodes.clone(), sampler_stop.clone(), samples.clone());
        std::thread::spawn(move || digests::sampler(nodes, stop, out))
    };

    let until = Instant::now() + Duration::from_secs(o.time);
    let mut nem = nemesis::Nemesis::new(&mut cluster, &mut net, start, o.seed);
    nem.fault_for = Duration::from_millis(o.fault_ms);
    nem.quiet_for = Duration::from_millis(o.quiet_ms);
    let result = nem.run(&o.nemeses, until, &INTERRUPTED);
    nem.heal_all()?;
    result?;
    let (mut faults, crashes) = (
        std::mem::take(&mut nem.log),
        std::mem::take(&mut nem.crashes),
    );
    drop(nem);

    // Let the healed cluster settle under load, then stop the clients.
    let settle = Instant::now() + Duration::from_secs(5);
    while Instant::now() < settle && !INTERRUPTED.load(Relaxed) {
        std::thread::sleep(Duration::from_millis(100));
    }
    shared.stop.store(true, Relaxed);
    for h in handles {
        let _ = h.join();
    }
    if INTERRUPTED.load(Relaxed) {
        bail!("interrupted");
    }
    let secs = start.elapsed().as_secs_f64();

    let mut anomalies: Vec<String> = crashes;
    let leader = cluster.wait_leader(Duration::from_secs(30));
    match leader {
        None => anomalies.push("no leader within 30 s after healing".into()),
        Some(l) => {
            if let Err(e) = workload::final_reads(&shared, cluster.nodes[l].addr()) {
                anomalies.push(format!("final reads failed: {e}"));
            }
        }
    }
    let addrs: Vec<std::net::SocketAddr> = cluster.nodes.iter().map(|n| n.addr()).collect();
    match digests::settled(&addrs) {
        Ok(what) => faults.push(nemesis::Event {
            at: start.elapsed().as_nanos() as u64,
            nemesis: "check",
            phase: "note",
            what,
        }),
        Err(a) => {
            anomalies.push(a);
            // For a person to look at the stuck cluster.
            if let Some(secs) = std::env::var("CHAOS_HOLD_SECS")
                .ok()
                .and_then(|v| v.parse().ok())
            {
                println!("chaos: holding the cluster for {secs} s (CHAOS_HOLD_SECS)");
                let until = Instant::now() + Duration::from_secs(secs);
                while Instant::now() < until && !INTERRUPTED.load(Relaxed) {
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
    }
    sampler_stop.store(true, Relaxed);
    let _ = sampler.join();
    let samples = std::mem::take(&mut *samples.lock().expect("samples"));
    anomalies.extend(samples.anomalies);

    let history = shared.history.lock().expect("history").clone();
    anomalies.extend(check::registers(&history));
    anomalies.extend(check::counters(&history));
    anomalies.extend(check::lists(&history));
    anomalies.extend(serial::list_txns(&history));
    anomalies.extend(check::sets(&history));
    anomalies.extend(check::txns(&history));
    anomalies.extend(check::ttls(&history));

    let extra = vec![
        ("nodes".to_string(), o.nodes.to_string()),
        ("seed".to_string(), o.seed.to_string()),
        (
            "digest_samples_agreed".to_string(),
            samples.agreed.to_string(),
        ),
        (
            "server_args".to_string(),
            history::json_string(&o.server_args.join(" ")),
        ),
        (
            "nemeses".to_string(),
            history::json_string(
                &o.nemeses
                    .iter()
                    .map(|k| k.name())
                    .collect::<Vec<_>>()
                    .join(","),
            ),
        ),
    ];
    report::write_all(&out, &history, &faults, &anomalies, secs, &extra)?;
    println!(
        "chaos: {} operations, {} faults, longest stretch without an acknowledged write {:.2} s",
        history.len(),
        faults.iter().filter(|f| f.phase == "start").count(),
        report::longest_write_outage(&history) as f64 / 1e9
    );
    cluster.stop_all();
    Ok(anomalies)
}
