//! The test network: one namespace per node, each with its own address on
//! a bridge the harness creates (the harness itself talks to the nodes from
//! the bridge's address). Partitions drop packets with nftables inside the
//! namespaces; everything is removed on drop, interrupted or not.

use std::net::Ipv4Addr;
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

pub struct Net {
    pub tag: String,
    pub bridge: String,
    /// Namespace names, node 1 first.
    pub ns: Vec<String>,
    pub ips: Vec<Ipv4Addr>,
    pub host_ip: Ipv4Addr,
    cut: Vec<bool>,
}

fn run(args: &[&str]) -> Result<()> {
    run_stdin(args, None)
}

/// Run a command (feeding it `input`), failing with its stderr.
fn run_stdin(args: &[&str], input: Option<&str>) -> Result<()> {
    use std::io::Write;
    let mut child = Command::new(args[0])
        .args(&args[1..])
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("running {}", args[0]))?;
    if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
        stdin.write_all(text.as_bytes())?;
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!(
            "{} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// The tools the network needs, or why they are missing.
pub fn check_tools() -> Result<()> {
    for (tool, pkg) in [("ip", "iproute2"), ("nft", "nftables")] {
        let found = Command::new(tool)
            .arg("-V")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok();
        if !found {
            bail!("`{tool}` not found: install Debian's {pkg}");
        }
    }
    Ok(())
}

impl Net {
    /// Create the bridge and `n` namespaces. `tag` keeps concurrent runs
    /// apart (names and the subnet derive from it).
    pub fn create(tag: u32, n: usize) -> Result<Net> {
        let tag = tag % 10_000;
        let (a, b) = (100 + (tag % 100) as u8, (tag / 100) as u8);
        let mut net = Net {
            tag: format!("cc{tag}"),
            bridge: format!("cc{tag}br"),
            ns: (1..=n).map(|i| format!("cc{tag}n{i}")).collect(),
            ips: (1..=n).map(|i| Ipv4Addr::new(10, a, b, i as u8)).collect(),
            host_ip: Ipv4Addr::new(10, a, b, 254),
            cut: vec![false; n],
        };
        if let Err(e) = net.build() {
            net.remove();
            return Err(e);
        }
        Ok(net)
    }

    fn build(&mut self) -> Result<()> {
        let br = self.bridge.clone();
        run(&["ip", "link", "add", &br, "type", "bridge"])?;
        run(&[
            "ip",
            "addr",
            "add",
            &format!("{}/24", self.host_ip),
            "dev",
            &br,
        ])?;
        run(&["ip", "link", "set", &br, "up"])?;
        for i in 0..self.ns.len() {
            let ns = self.ns[i].clone();
            let (host, peer) = (
                format!("{}v{}", self.tag, i + 1),
                format!("{}p{}", self.tag, i + 1),
            );
            run(&["ip", "netns", "add", &ns])?;
            run(&[
                "ip", "link", "add", &host, "type", "veth", "peer", "name", &peer,
            ])?;
            run(&["ip", "link", "set", &peer, "netns", &ns])?;
            run(&["ip", "-n", &ns, "link", "set", &peer, "name", "eth0"])?;
            run(&[
                "ip",
                "-n",
                &ns,
                "addr",
                "add",
                &format!("{}/24", self.ips[i]),
                "dev",
                "eth0",
            ])?;
            run(&["ip", "-n", &ns, "link", "set", "eth0", "up"])?;
            run(&["ip", "-n", &ns, "link", "set", "lo", "up"])?;
            run(&["ip", "link", "set", &host, "master", &br])?;
            run(&["ip", "link", "set", &host, "up"])?;
        }
        Ok(())
    }

    /// Drop every packet between node `i` (0-based) and the nodes in
    /// `others`, in both directions, inside `i`'s namespace. The harness's
    /// own address is never cut.
    pub fn cut(&mut self, i: usize, others: &[usize]) -> Result<()> {
        if others.is_empty() {
            return Ok(());
        }
        let set = others
            .iter()
            .map(|&o| self.ips[o].to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let mut rules = String::new();
        if self.cut[i] {
            rules.push_str("delete table inet chaos\n");
        }
        rules.push_str(&format!(
            "table inet chaos {{\n\
             chain in {{ type filter hook input priority 0; policy accept; ip saddr {{ {set} }} drop; }}\n\
             chain out {{ type filter hook output priority 0; policy accept; ip daddr {{ {set} }} drop; }}\n\
             }}\n"
        ));
        run_stdin(
            &["ip", "netns", "exec", &self.ns[i], "nft", "-f", "-"],
            Some(&rules),
        )?;
        self.cut[i] = true;
        Ok(())
    }

    /// Split the nodes into groups that cannot reach each other.
    pub fn partition(&mut self, groups: &[Vec<usize>]) -> Result<()> {
        self.heal()?;
        for g in groups {
            let others: Vec<usize> = (0..self.ns.len()).filter(|o| !g.contains(o)).collect();
            for &i in g {
                self.cut(i, &others)?;
            }
        }
        Ok(())
    }

    pub fn heal(&mut self) -> Result<()> {
        for i in 0..self.ns.len() {
            if self.cut[i] {
                run(&[
                    "ip",
                    "netns",
                    "exec",
                    &self.ns[i],
                    "nft",
                    "delete",
                    "table",
                    "inet",
                    "chaos",
                ])?;
                self.cut[i] = false;
            }
        }
        Ok(())
    }

    fn remove(&mut self) {
        for ns in &self.ns {
            let _ = run(&["ip", "netns", "del", ns]);
        }
        let _ = run(&["ip", "link", "del", &self.bridge]);
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        self.remove();
    }
}
