//! Clients that are broken or hostile: garbage, nested and truncated frames,
//! declared lengths the client never sends, and thousands of idle or
//! half-open connections, and clients that do not read their replies
//! (`client-output-buffer-limit normal`). The server must answer with Redis's errors,
//! disconnect only the offender, and keep serving everyone else with the
//! data intact. (Latency is measured by the benchmarks, not here.)

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use common::{Client, Server};

/// The server's resident memory in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap()
}

fn connected(c: &mut Client) -> u64 {
    let info = c.cmd("INFO clients");
    info.lines()
        .find_map(|l| l.strip_prefix("connected_clients:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// Poll until `f` holds (bounded: 10 s).
fn eventually(mut f: impl FnMut() -> bool, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn garbage_nesting_and_truncation_close_only_the_offender() {
    let s = Server::start(&["--threads", "2"]);
    let mut good = s.client();
    assert_eq!(good.cmd("SET keep me"), "+OK\r\n");

    let mut nested = s.client();
    nested.send_raw(b"*1\r\n*1\r\n$4\r\nPING\r\n");
    assert_eq!(
        nested.read_reply(),
        "-ERR Protocol error: expected '$', got '*'\r\n"
    );
    assert!(nested.closed());

    let mut bad_len = s.client();
    bad_len.send_raw(b"*1\r\n$-5\r\n");
    assert_eq!(
        bad_len.read_reply(),
        "-ERR Protocol error: invalid bulk length\r\n"
    );
    assert!(bad_len.closed());

    // Binary garbage on the inline path is an unknown command, not a crash.
    let mut garbage = s.client();
    garbage.send_raw(b"\xff\xfe\x01 zz\r\n");
    assert!(garbage.read_reply().starts_with("-ERR unknown command"));
    assert_eq!(garbage.cmd("PING"), "+PONG\r\n", "the connection survives");

    // Deterministic pseudo-random garbage on many connections.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..40 {
        let mut c = s.client();
        let bytes: Vec<u8> = (0..2000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect();
        let _ = c.w.write_all(&bytes);
        let _ = c.w.shutdown(Shutdown::Write);
        let mut sink = Vec::new();
        let _ = c.r.read_to_end(&mut sink);
    }

    // A frame cut off mid-argument, then the client goes away.
    let mut cut = TcpStream::connect(("127.0.0.1", s.port)).unwrap();
    cut.write_all(b"*3\r\n$3\r\nSET\r\n$4\r\nkeep\r\n$10\r\nabc")
        .unwrap();
    drop(cut);

    assert_eq!(good.cmd("GET keep"), "$2\r\nme\r\n");
    eventually(|| connected(&mut good) == 2, "offenders disconnected");
}

#[test]
fn declared_lengths_are_not_allocated_up_front() {
    let s = Server::start(&["--threads", "2"]);
    let pid = s.pid();
    let mut good = s.client();
    let before = rss_kib(pid);
    // 64 clients each announce a 500 MB argument (within proto-max-bulk-len)
    // and a 10-million-element multibulk, then send almost nothing.
    let mut liars = Vec::new();
    for i in 0..64 {
        let mut c = TcpStream::connect(("127.0.0.1", s.port)).unwrap();
        if i % 2 == 0 {
            c.write_all(b"*2\r\n$3\r\nGET\r\n$500000000\r\nabc")
                .unwrap();
        } else {
            c.write_all(b"*10000000\r\n$3\r\nGET\r\n").unwrap();
        }
        liars.push(c);
    }
    assert_eq!(good.cmd("PING"), "+PONG\r\n");
    eventually(|| connected(&mut good) == 65, "all connected");
    let grown = rss_kib(pid).saturating_sub(before);
    assert!(grown < 64 * 1024, "RSS grew by {grown} KiB for 64 liars");
    drop(liars);
    eventually(|| connected(&mut good) == 1, "liars gone");
}

#[test]
fn thousands_of_idle_and_half_open_connections() {
    let s = Server::start(&["--threads", "2"]);
    let mut good = s.client();
    assert_eq!(good.cmd("SET k v"), "+OK\r\n");
    let mut idle = Vec::new();
    for i in 0..3000 {
        let mut c = TcpStream::connect(("127.0.0.1", s.port)).unwrap();
        if i % 3 == 1 {
            // Half a request, never finished.
            c.write_all(b"*2\r\n$3\r\nGET\r\n").unwrap();
        }
        idle.push(c);
    }
    eventually(
        || connected(&mut good) == 3001,
        "3000 idle clients accepted",
    );
    for _ in 0..200 {
        assert_eq!(good.cmd("GET k"), "$1\r\nv\r\n");
    }
    // Half-open: a third shut their sending side; the server closes them.
    for c in idle.iter().skip(2).step_by(3) {
        c.shutdown(Shutdown::Write).unwrap();
    }
    eventually(|| connected(&mut good) == 2001, "half-open clients closed");
    for c in idle.iter_mut().skip(2).step_by(3) {
        let mut b = [0u8; 1];
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        assert_eq!(c.read(&mut b).unwrap_or(0), 0, "closed by the server");
    }
    drop(idle);
    eventually(|| connected(&mut good) == 1, "all gone");
    assert_eq!(good.cmd("GET k"), "$1\r\nv\r\n");
}

/// A normal client whose reply exceeds the normal class's hard limit is
/// disconnected; the data and other clients are unaffected.
#[test]
fn normal_output_limit_closes_only_the_offender() {
    let s = Server::start(&[]);
    let mut admin = s.client();
    let big = "v".repeat(200 * 1024);
    assert_eq!(admin.cmd_args(&[b"SET", b"big", big.as_bytes()]), "+OK\r\n");
    assert_eq!(
        admin.cmd_args(&[
            b"CONFIG",
            b"SET",
            b"client-output-buffer-limit",
            b"normal 64kb 0 0"
        ]),
        "+OK\r\n"
    );
    let mut greedy = s.client();
    greedy.send_raw(&common::encode(&[b"GET", b"big"]));
    assert!(
        greedy.closed(),
        "a 200 KB reply over a 64 KB hard limit closes the client"
    );
    assert_eq!(admin.cmd("STRLEN big"), ":204800\r\n");
    assert_eq!(
        admin.cmd_args(&[
            b"CONFIG",
            b"SET",
            b"client-output-buffer-limit",
            b"normal 0 0 0"
        ]),
        "+OK\r\n"
    );
}

/// A normal client that leaves a reply over the normal class's soft limit
/// unread for longer than the soft seconds is disconnected.
#[test]
fn normal_soft_limit_closes_a_client_that_does_not_read() {
    let s = Server::start(&[]);
    let mut admin = s.client();
    let big = "w".repeat(16 << 20);
    assert_eq!(admin.cmd_args(&[b"SET", b"big", big.as_bytes()]), "+OK\r\n");
    assert_eq!(
        admin.cmd_args(&[
            b"CONFIG",
            b"SET",
            b"client-output-buffer-limit",
            b"normal 0 64kb 1"
        ]),
        "+OK\r\n"
    );
    let mut lazy = s.client();
    let start = std::time::Instant::now();
    lazy.send_raw(&common::encode(&[b"GET", b"big"]));
    // Not reading: 16 MB is more than the sockets buffer, so the write
    // stalls past the soft second and the server gives up.
    std::thread::sleep(Duration::from_millis(2500));
    let mut got = Vec::new();
    lazy.w
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let _ = lazy.r.read_to_end(&mut got);
    assert!(
        got.len() < big.len(),
        "the whole reply was delivered ({} bytes)",
        got.len()
    );
    assert!(start.elapsed() >= Duration::from_secs(1));
    assert_eq!(admin.cmd("STRLEN big"), format!(":{}\r\n", 16 << 20));
}
