//! Faults: each nemesis breaks something for a while, then heals it. Every
//! action is logged with its time for the report and the timeline.

use std::fs;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::cluster::Cluster;
use crate::netns::Net;
use crate::resp;
use crate::workload::xorshift;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Kill,
    Pause,
    Partition,
    Clock,
    Member,
    Power,
}

impl Kind {
    pub fn parse(s: &str) -> Option<Kind> {
        Some(match s {
            "kill" => Kind::Kill,
            "pause" => Kind::Pause,
            "partition" => Kind::Partition,
            "clock" => Kind::Clock,
            "member" => Kind::Member,
            "power" => Kind::Power,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Kill => "kill",
            Kind::Pause => "pause",
            Kind::Partition => "partition",
            Kind::Clock => "clock",
            Kind::Member => "member",
            Kind::Power => "power",
        }
    }
}

/// One logged fault action.
#[derive(Clone, Debug)]
pub struct Event {
    /// Nanoseconds since the run started.
    pub at: u64,
    pub nemesis: &'static str,
    /// "start" or "heal" (or "note").
    pub phase: &'static str,
    pub what: String,
}

pub struct Nemesis<'a> {
    pub cluster: &'a mut Cluster,
    pub net: &'a mut Net,
    pub start: Instant,
    pub log: Vec<Event>,
    pub rng: u64,
    /// How long each fault lasts, and the quiet spell after it.
    pub fault_for: Duration,
    pub quiet_for: Duration,
    /// Crashes the nemesis did not cause.
    pub crashes: Vec<String>,
    step: usize,
    partition_variant: usize,
    /// The node taken out by the member nemesis, until it is added back.
    removed: Option<usize>,
}

impl<'a> Nemesis<'a> {
    pub fn new(
        cluster: &'a mut Cluster,
        net: &'a mut Net,
        start: Instant,
        seed: u64,
    ) -> Nemesis<'a> {
        Nemesis {
            cluster,
            net,
            start,
            log: Vec::new(),
            rng: seed | 1,
            fault_for: Duration::from_secs(4),
            quiet_for: Duration::from_secs(3),
            crashes: Vec::new(),
            step: 0,
            partition_variant: 0,
            removed: None,
        }
    }

    fn note(&mut self, nemesis: &'static str, phase: &'static str, what: String) {
        self.log.push(Event {
            at: self.start.elapsed().as_nanos() as u64,
            nemesis,
            phase,
            what,
        });
    }

    fn pick(&mut self, n: usize) -> usize {
        (xorshift(&mut self.rng) % n as u64) as usize
    }

    /// The leader if one is known, else a random node.
    fn leader_or_any(&mut self) -> usize {
        match self.cluster.leader() {
            Some(l) => l,
            None => {
                let n = self.cluster.nodes.len();
                self.pick(n)
            }
        }
    }

    /// Sleep in small steps; false when told to stop.
    fn wait(&mut self, d: Duration, stop: &AtomicBool) -> bool {
        let until = Instant::now() + d;
        while Instant::now() < until {
            if stop.load(Relaxed) {
                return false;
            }
            for (id, status) in self.cluster.exited() {
                let what = format!("node {id} exited by itself: {status}");
                self.note("crash", "note", what.clone());
                self.crashes.push(what);
                // Keep the cluster whole: bring it back.
                let _ = self.cluster.start(id as usize - 1);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        true
    }

    /// Run faults from `kinds` in turn until `until` or `stop`.
    pub fn run(&mut self, kinds: &[Kind], until: Instant, stop: &AtomicBool) -> Result<()> {
        if kinds.is_empty() {
            let left = until.saturating_duration_since(Instant::now());
            self.wait(left, stop);
            return Ok(());
        }
        while Instant::now() + self.fault_for < until && !stop.load(Relaxed) {
            let kind = kinds[self.step % kinds.len()];
            self.step += 1;
            self.inject(kind)?;
            let ok = self.wait(self.fault_for, stop);
            self.heal(kind)?;
            if !ok || !self.wait(self.quiet_for, stop) {
                break;
            }
        }
        Ok(())
    }

    fn inject(&mut self, kind: Kind) -> Result<()> {
        let n = self.cluster.nodes.len();
        match kind {
            Kind::Kill => {
                // Alternate between the leader and a random node.
                let target = if self.step.is_multiple_of(2) {
                    self.leader_or_any()
                } else {
                    self.pick(n)
                };
                self.cluster.kill(target);
                self.note("kill", "start", format!("kill -9 node {}", target + 1));
            }
            Kind::Pause => {
                let target = self.leader_or_any();
                self.cluster.pause(target);
                self.note("pause", "start", format!("SIGSTOP node {}", target + 1));
            }
            Kind::Partition => {
                let leader = self.leader_or_any();
                let variant = self.partition_variant % 3;
                self.partition_variant += 1;
                let what = match variant {
                    0 => {
                        let rest: Vec<usize> = (0..n).filter(|&i| i != leader).collect();
                        self.net.partition(&[vec![leader], rest])?;
                        format!("isolate leader node {}", leader + 1)
                    }
                    1 => {
                        // A random minority against the majority.
                        let mut ids: Vec<usize> = (0..n).collect();
                        for i in (1..n).rev() {
                            let j = self.pick(i + 1);
                            ids.swap(i, j);
                        }
                        let minority = ids[..(n - 1) / 2].to_vec();
                        let majority = ids[(n - 1) / 2..].to_vec();
                        self.net.partition(&[minority.clone(), majority.clone()])?;
                        format!("split {:?} | {:?}", plus1(&minority), plus1(&majority))
                    }
                    _ => {
                        // A bridge: one node sees both halves, which cannot
                        // see each other.
                        let bridge = self.pick(n);
                        let others: Vec<usize> = (0..n).filter(|&i| i != bridge).collect();
                        let (a, b) = others.split_at(others.len() / 2);
                        self.net.heal()?;
                        for &i in a {
                            self.net.cut(i, b)?;
                        }
                        for &i in b {
                            self.net.cut(i, a)?;
                        }
                        format!(
                            "bridge node {} between {:?} and {:?}",
                            bridge + 1,
                            plus1(a),
                            plus1(b)
                        )
                    }
                };
                self.note("partition", "start", what);
            }
            Kind::Member => {
                // Take a follower out of the cluster (joint consensus).
                if let Some(l) = self.cluster.leader() {
                    let x = (l + 1 + self.pick(n - 1)) % n;
                    let id = self.cluster.nodes[x].id.to_string();
                    let r = self.admin(l, &["RAFT", "REMOVE", &id]);
                    if r.starts_with("OK") {
                        self.removed = Some(x);
                    }
                    self.note("member", "start", format!("remove node {}: {r}", x + 1));
                } else {
                    self.note("member", "start", "no leader: nothing removed".into());
                }
            }
            Kind::Power => {
                // Power loss on a majority: kill them, cut each log at a
                // random point at or after its last fdatasync'd offset.
                let mut ids: Vec<usize> = (0..n).collect();
                for i in (1..n).rev() {
                    let j = self.pick(i + 1);
                    ids.swap(i, j);
                }
                let mut what = Vec::new();
                for &i in &ids[..n / 2 + 1] {
                    self.cluster.kill(i);
                    // Half the time exactly at the last fdatasync (the
                    // worst a power loss can do), else a little after it.
                    let r = xorshift(&mut self.rng);
                    let extra = if r.is_multiple_of(2) {
                        0
                    } else {
                        (r >> 1) % (64 << 10)
                    };
                    let cut = crate::power::cut_log(&self.cluster.nodes[i], extra)?;
                    what.push(format!("node {}: {cut}", i + 1));
                }
                self.note("power", "start", format!("power loss: {}", what.join("; ")));
            }
            Kind::Clock => {
                // Skew every node's wall clock by up to +-600 ms, then move
                // leadership to a skewed node.
                let mut offsets = Vec::new();
                for i in 0..n {
                    let off = (xorshift(&mut self.rng) % 1201) as i64 - 600;
                    fs::write(
                        self.cluster.nodes[i].faults_file(),
                        format!("clock-offset-ms {off}\n"),
                    )?;
                    offsets.push(format!("node {} {off:+} ms", i + 1));
                }
                self.note("clock", "start", offsets.join(", "));
                if let Some(l) = self.cluster.leader() {
                    let to = (l + 1 + self.pick(n - 1)) % n;
                    let id = self.cluster.nodes[to].id.to_string();
                    let r = resp::once(
                        self.cluster.nodes[l].addr(),
                        &["RAFT", "TRANSFER-LEADER", &id],
                        Duration::from_secs(5),
                    );
                    self.note(
                        "clock",
                        "note",
                        format!("transfer leadership to node {}: {r:?}", to + 1),
                    );
                }
            }
        }
        Ok(())
    }

    /// Undo every fault of `kind`.
    pub fn heal(&mut self, kind: Kind) -> Result<()> {
        match kind {
            Kind::Member => {
                if let Some(x) = self.removed.take() {
                    let leader = self.cluster.wait_leader(Duration::from_secs(10));
                    let node = &self.cluster.nodes[x];
                    let (id, addr) = (
                        node.id.to_string(),
                        format!(
                            "{}:{}:{}",
                            node.ip,
                            crate::cluster::CLIENT_PORT,
                            crate::cluster::RAFT_PORT
                        ),
                    );
                    let r = match leader {
                        Some(l) => {
                            let add = self.admin(l, &["RAFT", "ADD-LEARNER", &id, &addr]);
                            let promote = self.admin(l, &["RAFT", "PROMOTE", &id]);
                            format!("add-learner: {add}; promote: {promote}")
                        }
                        None => "no leader".into(),
                    };
                    if !r.contains("promote: OK") {
                        // Try again at the next heal.
                        self.removed = Some(x);
                    }
                    self.note("member", "heal", format!("add node {} back: {r}", x + 1));
                }
            }
            Kind::Kill | Kind::Power => {
                for i in 0..self.cluster.nodes.len() {
                    if !self.cluster.nodes[i].running() {
                        self.cluster.start(i)?;
                        self.note(kind.name(), "heal", format!("restart node {}", i + 1));
                    }
                }
            }
            Kind::Pause => {
                for i in 0..self.cluster.nodes.len() {
                    if self.cluster.nodes[i].paused {
                        self.cluster.resume(i);
                        self.note("pause", "heal", format!("SIGCONT node {}", i + 1));
                    }
                }
            }
            Kind::Partition => {
                self.net.heal()?;
                self.note("partition", "heal", "heal the network".into());
            }
            Kind::Clock => {
                for n in &self.cluster.nodes {
                    fs::write(n.faults_file(), "")?;
                }
                self.note("clock", "heal", "clocks back in step".into());
            }
        }
        Ok(())
    }

    /// Heal everything (at the end of the run, or when interrupted).
    pub fn heal_all(&mut self) -> Result<()> {
        for k in [
            Kind::Pause,
            Kind::Partition,
            Kind::Clock,
            Kind::Kill,
            Kind::Member,
        ] {
            self.heal(k)?;
        }
        Ok(())
    }
}

impl Nemesis<'_> {
    /// An admin command on node `i`, its reply as text.
    fn admin(&self, i: usize, args: &[&str]) -> String {
        match resp::once(self.cluster.nodes[i].addr(), args, Duration::from_secs(30)) {
            Ok(v) => v.as_text().unwrap_or_else(|| format!("{v:?}")),
            Err(e) => format!("error: {e}"),
        }
    }
}

fn plus1(v: &[usize]) -> Vec<usize> {
    v.iter().map(|i| i + 1).collect()
}
