//! The cluster under test: one `cachecat` process per namespace, started,
//! killed (-9), paused (SIGSTOP) and resumed by pid, and asked about
//! leadership and state over RESP.

use std::fs;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::resp::{self, Val};

pub const CLIENT_PORT: u16 = 6379;
pub const RAFT_PORT: u16 = 16379;

pub struct Node {
    pub id: u64,
    pub ns: String,
    pub ip: Ipv4Addr,
    pub dir: PathBuf,
    child: Option<Child>,
    pub paused: bool,
}

impl Node {
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((self.ip, CLIENT_PORT))
    }

    pub fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    pub fn faults_file(&self) -> PathBuf {
        self.dir.join("faults")
    }

    pub fn sync_file(&self) -> PathBuf {
        self.dir.join("synced")
    }

    pub fn running(&self) -> bool {
        self.child.is_some()
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }
}

pub struct Cluster {
    pub server: PathBuf,
    pub nodes: Vec<Node>,
    /// `--peer` arguments naming the initial members.
    peers: Vec<String>,
    threads: usize,
    /// Extra arguments for every node.
    pub extra_args: Vec<String>,
}

fn signal(pid: u32, sig: libc::c_int) {
    // SAFETY: signalling a child this harness started, by its pid.
    unsafe {
        libc::kill(pid as i32, sig);
    }
}

/// Whether `server` has the switches the harness needs (a `faults` build).
pub fn check_server(server: &Path) -> Result<()> {
    let out = Command::new(server)
        .arg("--help")
        .output()
        .with_context(|| format!("running {} --help", server.display()))?;
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in ["--faults-file", "--faults-sync-file"] {
        if !help.contains(flag) {
            bail!(
                "{} has no {flag}: build it with `cargo build --release --features faults`",
                server.display()
            );
        }
    }
    Ok(())
}

impl Cluster {
    pub fn new(
        server: PathBuf,
        ns: &[String],
        ips: &[Ipv4Addr],
        out: &Path,
        threads: usize,
    ) -> Result<Cluster> {
        let mut nodes = Vec::new();
        let mut peers = Vec::new();
        for (i, (ns, ip)) in ns.iter().zip(ips).enumerate() {
            let id = i as u64 + 1;
            let dir = out.join(format!("n{id}"));
            fs::create_dir_all(dir.join("data"))?;
            peers.push(format!("{id}={ip}:{CLIENT_PORT}:{RAFT_PORT}"));
            nodes.push(Node {
                id,
                ns: ns.clone(),
                ip: *ip,
                dir,
                child: None,
                paused: false,
            });
        }
        Ok(Cluster {
            server,
            nodes,
            peers,
            threads,
            extra_args: Vec::new(),
        })
    }

    /// Start node `i` (0-based) from its data directory.
    pub fn start(&mut self, i: usize) -> Result<()> {
        let n = &mut self.nodes[i];
        if n.child.is_some() {
            return Ok(());
        }
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(n.dir.join("log"))?;
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &n.ns])
            .arg(&self.server)
            .args(["--bind", "0.0.0.0"])
            .args(["--port", &CLIENT_PORT.to_string()])
            .args(["--raft-port", &RAFT_PORT.to_string()])
            .args(["--node-id", &n.id.to_string()])
            .args(["--threads", &self.threads.to_string()])
            .arg("--dir")
            .arg(n.data())
            .arg("--faults-file")
            .arg(n.faults_file())
            .arg("--faults-sync-file")
            .arg(n.sync_file());
        for p in &self.peers {
            cmd.args(["--peer", p]);
        }
        cmd.args(&self.extra_args);
        cmd.stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .env("RUST_LOG", "info");
        // `ip netns exec` execs the server: the child's pid is the node's.
        n.child = Some(cmd.spawn().context("starting a node")?);
        n.paused = false;
        Ok(())
    }

    pub fn kill(&mut self, i: usize) {
        let n = &mut self.nodes[i];
        if let Some(mut c) = n.child.take() {
            signal(c.id(), libc::SIGKILL);
            let _ = c.wait();
        }
        n.paused = false;
    }

    pub fn pause(&mut self, i: usize) {
        let n = &mut self.nodes[i];
        if let Some(pid) = n.pid() {
            signal(pid, libc::SIGSTOP);
            n.paused = true;
        }
    }

    pub fn resume(&mut self, i: usize) {
        let n = &mut self.nodes[i];
        if let Some(pid) = n.pid() {
            signal(pid, libc::SIGCONT);
        }
        n.paused = false;
    }

    /// A node that exited by itself (a crash) since the last look.
    pub fn exited(&mut self) -> Vec<(u64, String)> {
        let mut gone = Vec::new();
        for n in &mut self.nodes {
            if let Some(c) = n.child.as_mut() {
                if let Ok(Some(status)) = c.try_wait() {
                    gone.push((n.id, status.to_string()));
                    n.child = None;
                }
            }
        }
        gone
    }

    /// The index of the node that says it is the master (first Tick applied).
    pub fn leader(&self) -> Option<usize> {
        self.nodes.iter().position(|n| {
            n.running()
                && !n.paused
                && matches!(
                    resp::once(n.addr(), &["ROLE"], Duration::from_millis(300)),
                    Ok(Val::Array(Some(ref a))) if a.first().and_then(Val::as_text).as_deref() == Some("master")
                )
        })
    }

    pub fn wait_leader(&self, within: Duration) -> Option<usize> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(l) = self.leader() {
                return Some(l);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn stop_all(&mut self) {
        for i in 0..self.nodes.len() {
            self.kill(i);
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop_all();
    }
}
