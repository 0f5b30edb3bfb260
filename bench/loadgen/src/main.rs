//! loadgen: drive writes at a server and report throughput and latency.
//!
//! `loadgen --proto resp|etcd|etcd-grpc --port P [--host H] [--clients 50]
//!  [--pipeline 1] [--requests 100000] [--keyspace 100000] [--value-size 3]`
//!
//! Each client is a thread with one connection that keeps `--pipeline`
//! requests in flight: it writes a batch, then reads its replies. A
//! request's latency runs from its batch's write to its reply, as
//! redis-benchmark counts it. `resp` sends `SET key:N value`; `etcd` sends
//! pipelined HTTP/1.1 `POST /v3/kv/put` to etcd's JSON gateway;
//! `etcd-grpc` makes the same puts as gRPC calls, `--pipeline` concurrent
//! streams on one HTTP/2 connection (see grpc.rs). Both systems see the same
//! number of writes in flight. One JSON line goes to stdout: rps,
//! p50/p99/p99.9 in microseconds, errors.

mod grpc;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use hdrhistogram::Histogram;

struct Opts {
    proto: String,
    host: String,
    port: u16,
    clients: usize,
    pipeline: usize,
    requests: u64,
    keyspace: u64,
    value_size: usize,
}

fn parse() -> Result<Opts, String> {
    let mut o = Opts {
        proto: "resp".into(),
        host: "127.0.0.1".into(),
        port: 0,
        clients: 50,
        pipeline: 1,
        requests: 100_000,
        keyspace: 100_000,
        value_size: 3,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let v = args
            .get(i + 1)
            .ok_or(format!("{} needs a value", args[i]))?;
        let num = |v: &str| v.parse::<u64>().map_err(|_| format!("bad number {v}"));
        match args[i].as_str() {
            "--proto" => o.proto = v.clone(),
            "--host" => o.host = v.clone(),
            "--port" => o.port = num(v)? as u16,
            "--clients" => o.clients = num(v)? as usize,
            "--pipeline" => o.pipeline = num(v)?.max(1) as usize,
            "--requests" => o.requests = num(v)?,
            "--keyspace" => o.keyspace = num(v)?.max(1),
            "--value-size" => o.value_size = num(v)? as usize,
            other => return Err(format!("unknown option {other}")),
        }
        i += 2;
    }
    if o.port == 0 || !matches!(o.proto.as_str(), "resp" | "etcd" | "etcd-grpc") {
        return Err("usage: loadgen --proto resp|etcd|etcd-grpc --port P [...]".into());
    }
    Ok(o)
}

/// A small xorshift generator per client (keys only; nothing statistical).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in data.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for k in 0..4 {
            if k <= c.len() {
                out.push(T[(n >> (18 - 6 * k) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn request(o: &Opts, key: u64, value: &[u8]) -> Vec<u8> {
    let key = format!("key:{key:012}");
    if o.proto == "resp" {
        let mut r = format!(
            "*3\r\n$3\r\nSET\r\n${}\r\n{key}\r\n${}\r\n",
            key.len(),
            value.len()
        )
        .into_bytes();
        r.extend_from_slice(value);
        r.extend_from_slice(b"\r\n");
        return r;
    }
    let body = format!(
        "{{\"key\":\"{}\",\"value\":\"{}\"}}",
        base64(key.as_bytes()),
        base64(value)
    );
    format!(
        "POST /v3/kv/put HTTP/1.1\r\nHost: {}:{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        o.host,
        o.port,
        body.len()
    )
    .into_bytes()
}

/// Read one reply; true when it reports success.
fn read_reply(o: &Opts, r: &mut BufReader<TcpStream>) -> std::io::Result<bool> {
    let mut line = String::new();
    if o.proto == "resp" {
        if r.read_line(&mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        return Ok(line.starts_with('+'));
    }
    if r.read_line(&mut line)? == 0 {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    let ok = line.split_whitespace().nth(1) == Some("200");
    let mut len = 0usize;
    loop {
        let mut h = String::new();
        if r.read_line(&mut h)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body)?;
    Ok(ok)
}

/// One client's results: latencies (microseconds, from its batch's write)
/// and failed requests.
pub struct Tally {
    hist: Histogram<u64>,
    errors: u64,
}

impl Tally {
    const MAX_US: u64 = 60_000_000;

    fn new() -> Tally {
        Tally {
            hist: Histogram::new_with_bounds(1, Self::MAX_US, 3).expect("histogram"),
            errors: 0,
        }
    }

    /// Count one reply: success, a refusal, or a broken connection (fatal).
    fn reply<E: std::fmt::Display>(&mut self, outcome: Result<bool, E>, start: Instant) {
        match outcome {
            Ok(true) => {}
            Ok(false) => self.errors += 1,
            Err(e) => panic!("connection failed: {e}"),
        }
        let us = start.elapsed().as_micros().max(1) as u64;
        let _ = self.hist.record(us.min(Self::MAX_US));
    }

    fn add(&mut self, other: &Tally) {
        self.hist.add(&other.hist).expect("merge");
        self.errors += other.errors;
    }
}

/// Claim up to `want` of the requests left; 0 when none are.
fn take(left: &AtomicU64, want: u64) -> u64 {
    left.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
        (n > 0).then(|| n - want.min(n))
    })
    .map(|n| want.min(n))
    .unwrap_or(0)
}

fn client(o: Arc<Opts>, left: Arc<AtomicU64>, seed: u64) -> Tally {
    let mut tally = Tally::new();
    let s = TcpStream::connect((o.host.as_str(), o.port)).expect("connect");
    s.set_nodelay(true).expect("nodelay");
    let mut w = s.try_clone().expect("clone");
    let mut r = BufReader::with_capacity(1 << 16, s);
    let mut rng = Rng(seed | 1);
    let value = vec![b'x'; o.value_size];
    let mut batch = Vec::new();
    loop {
        let got = take(&left, o.pipeline as u64);
        if got == 0 {
            break;
        }
        batch.clear();
        for _ in 0..got {
            batch.extend(request(&o, rng.next() % o.keyspace, &value));
        }
        let start = Instant::now();
        w.write_all(&batch).expect("write");
        for _ in 0..got {
            tally.reply(read_reply(&o, &mut r), start);
        }
    }
    tally
}

fn main() {
    let o = match parse() {
        Ok(o) => Arc::new(o),
        Err(e) => {
            eprintln!("loadgen: {e}");
            std::process::exit(2);
        }
    };
    let left = Arc::new(AtomicU64::new(o.requests));
    let start = Instant::now();
    let threads: Vec<_> = (0..o.clients)
        .map(|i| {
            let (o, left) = (o.clone(), left.clone());
            std::thread::spawn(move || {
                let seed = 0x9E37_79B9_7F4A_7C15 ^ ((i as u64 + 1) * 7919);
                if o.proto == "etcd-grpc" {
                    grpc::client(o, left, seed)
                } else {
                    client(o, left, seed)
                }
            })
        })
        .collect();
    let mut all = Tally::new();
    for t in threads {
        all.add(&t.join().expect("client thread"));
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{{\"rps\":{:.0},\"p50_us\":{},\"p99_us\":{},\"p999_us\":{},\"requests\":{},\"errors\":{}}}",
        all.hist.len() as f64 / secs,
        all.hist.value_at_quantile(0.5),
        all.hist.value_at_quantile(0.99),
        all.hist.value_at_quantile(0.999),
        all.hist.len(),
        all.errors
    );
}
