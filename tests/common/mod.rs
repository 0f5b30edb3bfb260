//! Test support: start a real `cachecat` process on a free loopback port with
//! its own data directory, talk to it over raw RESP, and stop it on drop.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Server {
    pub port: u16,
    pub dir: PathBuf,
    child: Child,
    bin: String,
    args: Vec<String>,
}

/// A port nobody listens on right now, for a node to listen on.
///
/// Picked below the kernel's ephemeral range: `bind(0)` hands out ports from
/// that range, and so does every outgoing connection the tests open, so a
/// port chosen there could become some client's local port before the node
/// binds it (a cluster's ports are all chosen before its nodes start), and
/// the node would fail to start. Below the range only listeners bind, and
/// one counter per test binary keeps its parallel tests apart; each binary
/// starts at a different place, away from ports the previous one used.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::OnceLock;
    const BASE: u32 = 10_000;
    static NEXT: OnceLock<(u32, AtomicU32)> = OnceLock::new();
    let (span, next) = NEXT.get_or_init(|| {
        let low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
            .ok()
            .and_then(|r| r.split_whitespace().next()?.parse::<u32>().ok())
            .unwrap_or(32_768);
        let span = low.saturating_sub(BASE);
        let start = std::process::id().wrapping_mul(7919) % span.max(1);
        (span, AtomicU32::new(start))
    });
    for _ in 0..*span {
        let port = BASE + next.fetch_add(1, Ordering::Relaxed) % span;
        if std::net::TcpListener::bind(("127.0.0.1", port as u16)).is_ok() {
            return port as u16;
        }
    }
    // No room below the ephemeral range on this machine: let the kernel pick.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

impl Server {
    pub fn start(extra: &[&str]) -> Server {
        Self::start_bin(env!("CARGO_BIN_EXE_cachecat"), extra)
    }

    pub fn start_bin(bin: &str, extra: &[&str]) -> Server {
        for _ in 0..5 {
            let port = free_port();
            let dir =
                std::env::temp_dir().join(format!("cachecat-test-{}-{port}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            let mut args = vec![
                "--port".to_string(),
                port.to_string(),
                "--dir".to_string(),
                dir.display().to_string(),
            ];
            if !extra.contains(&"--threads") {
                args.extend(["--threads".into(), "1".into()]);
            }
            if !extra.contains(&"--raft-port") {
                args.extend(["--raft-port".into(), free_port().to_string()]);
            }
            args.extend(extra.iter().map(|s| s.to_string()));
            let child = spawn(bin, &args);
            let mut s = Server {
                port,
                dir,
                child,
                bin: bin.to_string(),
                args,
            };
            if s.wait_ready() {
                return s;
            }
            let _ = s.child.kill();
        }
        panic!("cachecat did not start");
    }

    /// `kill9_and_restart` with some flags replaced (`--threads 1`...).
    pub fn kill9_and_restart_with(&mut self, flags: &[&str]) {
        for pair in flags.chunks(2) {
            match self.args.iter().position(|a| a == pair[0]) {
                Some(i) => self.args[i + 1] = pair[1].to_string(),
                None => self.args.extend(pair.iter().map(|s| s.to_string())),
            }
        }
        self.kill9_and_restart();
    }

    /// Kill the process with SIGKILL (no chance to flush anything) and
    /// start it again on the same port and data directory.
    pub fn kill9_and_restart(&mut self) {
        self.kill9();
        self.restart();
    }

    /// Start a node at a given port and directory (clusters), waiting until
    /// it answers PING.
    pub fn start_at(port: u16, dir: PathBuf, args: Vec<String>) -> Server {
        let bin = env!("CARGO_BIN_EXE_cachecat").to_string();
        let child = spawn(&bin, &args);
        let mut s = Server {
            port,
            dir,
            child,
            bin,
            args,
        };
        assert!(s.wait_ready(), "node on port {port} did not start");
        s
    }

    /// The port given with --raft-port.
    pub fn raft_port(&self) -> u16 {
        let i = self
            .args
            .iter()
            .position(|a| a == "--raft-port")
            .expect("--raft-port");
        self.args[i + 1].parse().unwrap()
    }

    /// Kill with SIGKILL and leave it down.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Start it again after `kill9`.
    pub fn restart(&mut self) {
        for _ in 0..50 {
            self.child = spawn(&self.bin, &self.args);
            if self.wait_ready() {
                return;
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("cachecat did not restart");
    }

    /// Send a signal (SIGSTOP, SIGCONT...) to the process.
    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok, "kill -{sig}");
    }

    fn wait_leading(&self, deadline: Instant) -> bool {
        while Instant::now() < deadline {
            if let Ok(mut c) = Client::try_connect(self.port) {
                let leading = c.cmd("ROLE").starts_with("*3\r\n$6\r\nmaster");
                // Leave no connection behind (tests count clients).
                c.send_raw(b"QUIT\r\n");
                let _ = c.read_reply();
                let _ = c.closed();
                if leading {
                    std::thread::sleep(Duration::from_millis(20));
                    return true;
                }
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }

    fn wait_ready(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            if let Ok(mut c) = TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = c.set_read_timeout(Some(Duration::from_secs(2)));
                if c.write_all(b"PING\r\n").is_ok() {
                    let mut line = String::new();
                    let mut r = BufReader::new(c);
                    if r.read_line(&mut line).is_ok()
                        && (line == "+PONG\r\n" || line.starts_with("-NOAUTH"))
                    {
                        // A one-node cluster is ready once it leads (its
                        // first Tick applied); cluster nodes once they answer.
                        return line.starts_with("-NOAUTH")
                            || self.args.iter().any(|a| a == "--peer")
                            || self.wait_leading(deadline);
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    pub fn client(&self) -> Client {
        Client::connect(self.port)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

/// A cluster of nodes on loopback, each with its own ports and directory,
/// all started with the same peer list.
pub struct Cluster {
    pub nodes: Vec<Server>,
    /// The --peer flags every initial member got.
    peers: Vec<String>,
    extra: Vec<String>,
    /// Flags for one node only, by index.
    per_node: Vec<Vec<String>>,
}

impl Cluster {
    /// `start` with flags of its own for each node.
    pub fn start_with(n: usize, per_node: impl Fn(usize) -> Vec<String>) -> Cluster {
        Cluster::start_inner(n, &[], (0..n).map(per_node).collect())
    }

    pub fn start(n: usize, extra: &[&str]) -> Cluster {
        Cluster::start_inner(n, extra, Vec::new())
    }

    fn start_inner(n: usize, extra: &[&str], per_node: Vec<Vec<String>>) -> Cluster {
        let ports: Vec<(u16, u16)> = (0..n).map(|_| (free_port(), free_port())).collect();
        let mut peers = Vec::new();
        for (i, (cp, rp)) in ports.iter().enumerate() {
            peers.push("--peer".to_string());
            peers.push(format!("{}=127.0.0.1:{cp}:{rp}", i + 1));
        }
        let mut cl = Cluster {
            nodes: Vec::new(),
            peers,
            extra: extra.iter().map(|s| s.to_string()).collect(),
            per_node,
        };
        for (i, (cp, rp)) in ports.iter().enumerate() {
            let s = cl.node(i as u64 + 1, *cp, *rp);
            cl.nodes.push(s);
        }
        cl
    }

    fn node(&self, id: u64, cp: u16, rp: u16) -> Server {
        let dir =
            std::env::temp_dir().join(format!("cachecat-cluster-{}-{cp}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut args: Vec<String> = [
            "--port",
            &cp.to_string(),
            "--raft-port",
            &rp.to_string(),
            "--node-id",
            &id.to_string(),
            "--dir",
            &dir.display().to_string(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        if !self.extra.iter().any(|e| e == "--threads") {
            args.extend(["--threads".into(), "1".into()]);
        }
        if cfg!(feature = "faults") {
            // Runtime faults for `set_faults` (the flag exists only there).
            args.push("--faults-file".into());
            args.push(dir.join("faults").display().to_string());
        }
        args.extend(self.peers.iter().cloned());
        args.extend(self.extra.iter().cloned());
        if let Some(own) = self.per_node.get(id as usize - 1) {
            args.extend(own.iter().cloned());
        }
        Server::start_at(cp, dir, args)
    }

    /// Start a node that is not among the initial members: it waits to be
    /// added (RAFT ADD-LEARNER). Returns its index and its
    /// `host:client-port:raft-port`.
    pub fn start_joiner(&mut self, id: u64) -> (usize, String) {
        let (cp, rp) = (free_port(), free_port());
        let s = self.node(id, cp, rp);
        self.nodes.push(s);
        (self.nodes.len() - 1, format!("127.0.0.1:{cp}:{rp}"))
    }

    /// Write node `i`'s runtime faults (`--features faults` builds): e.g.
    /// `drop-peers 1 3` or `clock-offset-ms 300`; "" heals.
    pub fn set_faults(&self, i: usize, text: &str) {
        let path = self.nodes[i].dir.join("faults");
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, &path).unwrap();
    }

    /// The index of the node whose ROLE says master, among `among`, waiting
    /// up to `secs` for one.
    pub fn leader_among(&self, among: &[usize], secs: u64) -> usize {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            for &i in among {
                if let Ok(mut c) = Client::try_connect(self.nodes[i].port) {
                    if c.cmd("ROLE").starts_with("*3\r\n$6\r\nmaster") {
                        return i;
                    }
                }
            }
            assert!(Instant::now() < deadline, "no leader among {among:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn leader(&self, secs: u64) -> usize {
        let all: Vec<usize> = (0..self.nodes.len()).collect();
        self.leader_among(&all, secs)
    }

    /// A field of INFO raft on node `i`.
    pub fn raft_field(&self, i: usize, field: &str) -> String {
        let info = self.nodes[i].client().cmd("INFO raft");
        info.lines()
            .find_map(|l| l.strip_prefix(&format!("{field}:")))
            .unwrap_or_else(|| panic!("no {field} in {info}"))
            .trim()
            .to_string()
    }

    /// Wait until the given nodes have applied the same index.
    pub fn converge(&self, among: &[usize], secs: u64) -> u64 {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let applied: Vec<u64> = among
                .iter()
                .map(|&i| self.raft_field(i, "raft_applied_index").parse().unwrap())
                .collect();
            if applied.windows(2).all(|w| w[0] == w[1]) {
                return applied[0];
            }
            assert!(Instant::now() < deadline, "no convergence: {applied:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Start a node; its log goes to `$CACHECAT_TEST_LOGS/<port>.log` when that
/// variable names a directory (debugging a test), nowhere otherwise.
fn spawn(bin: &str, args: &[String]) -> Child {
    let log = std::env::var_os("CACHECAT_TEST_LOGS").and_then(|dir| {
        let port = args
            .iter()
            .position(|a| a == "--port")
            .map(|i| args[i + 1].clone())?;
        let path = std::path::Path::new(&dir).join(format!("{port}.log"));
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .ok()
    });
    Command::new(bin)
        .args(args)
        .env("RUST_LOG", "info,openraft=warn,cachecat::raft=debug")
        .stdout(Stdio::null())
        .stderr(log.map_or(Stdio::null(), Stdio::from))
        .spawn()
        .expect("start cachecat")
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A raw RESP client that returns each reply's exact bytes.
pub struct Client {
    pub r: BufReader<TcpStream>,
    pub w: TcpStream,
}

pub fn encode(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

impl Client {
    /// Connect, or fail (a node that is down).
    pub fn try_connect(port: u16) -> std::io::Result<Client> {
        let s = TcpStream::connect(("127.0.0.1", port))?;
        s.set_read_timeout(Some(Duration::from_secs(10)))?;
        s.set_nodelay(true)?;
        Ok(Client {
            r: BufReader::new(s.try_clone()?),
            w: s,
        })
    }

    pub fn connect(port: u16) -> Client {
        let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.set_nodelay(true).unwrap();
        Client {
            r: BufReader::new(s.try_clone().unwrap()),
            w: s,
        }
    }

    /// Send a command given as whitespace-separated words; return the reply.
    pub fn cmd(&mut self, line: &str) -> String {
        let words: Vec<&[u8]> = line.split_whitespace().map(|w| w.as_bytes()).collect();
        self.cmd_args(&words)
    }

    pub fn cmd_args(&mut self, args: &[&[u8]]) -> String {
        self.send_raw(&encode(args));
        self.read_reply()
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.w.write_all(bytes).unwrap();
    }

    /// Read one complete reply and return its raw text.
    pub fn read_reply(&mut self) -> String {
        let mut out = Vec::new();
        self.read_one(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    fn line(&mut self, out: &mut Vec<u8>) -> String {
        let mut l = Vec::new();
        self.r.read_until(b'\n', &mut l).unwrap();
        assert!(!l.is_empty(), "connection closed");
        out.extend_from_slice(&l);
        String::from_utf8_lossy(&l[..l.len() - 2]).into_owned()
    }

    fn read_one(&mut self, out: &mut Vec<u8>) {
        let mut first = [0u8; 1];
        self.r.read_exact(&mut first).unwrap();
        out.push(first[0]);
        let rest = self.line(out);
        match first[0] {
            b'$' | b'=' | b'!' => {
                let n: i64 = rest.parse().unwrap();
                if n >= 0 {
                    let mut data = vec![0u8; n as usize + 2];
                    self.r.read_exact(&mut data).unwrap();
                    out.extend_from_slice(&data);
                }
            }
            b'*' | b'~' | b'>' => {
                let n: i64 = rest.parse().unwrap();
                for _ in 0..n.max(0) {
                    self.read_one(out);
                }
            }
            b'%' => {
                let n: i64 = rest.parse().unwrap();
                for _ in 0..n * 2 {
                    self.read_one(out);
                }
            }
            _ => {}
        }
    }

    /// Whether the server closed the connection (EOF or reset within 3 s;
    /// a read that merely times out means it is still open).
    pub fn closed(&mut self) -> bool {
        let _ = self.w.set_read_timeout(Some(Duration::from_secs(3)));
        let mut b = [0u8; 1];
        let r = self.r.read(&mut b);
        let _ = self.w.set_read_timeout(Some(Duration::from_secs(10)));
        match r {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) => !matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
        }
    }
}
