//! Process-level tests of one node: commands, errors, protocol handling.

mod common;

use common::{encode, Server};

#[test]
fn strings_keys_and_errors_over_resp2() {
    let s = Server::start(&[]);
    let mut c = s.client();
    assert_eq!(c.cmd("PING"), "+PONG\r\n");
    assert_eq!(c.cmd("SET k v"), "+OK\r\n");
    assert_eq!(c.cmd("GET k"), "$1\r\nv\r\n");
    assert_eq!(c.cmd("GET nope"), "$-1\r\n");
    assert_eq!(
        c.cmd("INCR k"),
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(
        c.cmd("HSET k f v"),
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    );
    assert_eq!(
        c.cmd("GET"),
        "-ERR wrong number of arguments for 'get' command\r\n"
    );
    assert_eq!(c.cmd("SET k v NX XX"), "-ERR syntax error\r\n");
    assert_eq!(
        c.cmd("SET k v EX 0"),
        "-ERR invalid expire time in 'set' command\r\n"
    );
    assert_eq!(
        c.cmd("INCRBYFLOAT f abc"),
        "-ERR value is not a valid float\r\n"
    );
    assert_eq!(
        c.cmd("NOSUCH a b"),
        "-ERR unknown command 'NOSUCH', with args beginning with: 'a' 'b' \r\n"
    );
    assert_eq!(c.cmd("MSET a 1 b 2"), "+OK\r\n");
    assert_eq!(
        c.cmd("MGET a b k x"),
        "*4\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\nv\r\n$-1\r\n"
    );
    assert_eq!(c.cmd("DEL a b x"), ":2\r\n");
    assert_eq!(c.cmd("EXISTS k k x"), ":2\r\n");
    assert_eq!(c.cmd("TYPE k"), "+string\r\n");
    assert_eq!(c.cmd("RENAME k k2"), "+OK\r\n");
    assert_eq!(c.cmd("RENAME k k2"), "-ERR no such key\r\n");
    assert_eq!(c.cmd("OBJECT ENCODING k2"), "$6\r\nembstr\r\n");
    assert_eq!(c.cmd("SELECT 16"), "-ERR DB index is out of range\r\n");
    assert_eq!(c.cmd("SELECT 1"), "+OK\r\n");
    assert_eq!(c.cmd("GET k2"), "$-1\r\n");
    assert_eq!(c.cmd("DBSIZE"), ":0\r\n");
    assert_eq!(c.cmd("SELECT 0"), "+OK\r\n");
    assert_eq!(c.cmd("DBSIZE"), ":1\r\n");
    // The connection and the data survive every error above.
    assert_eq!(c.cmd("GET k2"), "$1\r\nv\r\n");
}

#[test]
fn ttls_expire_and_are_reclaimed() {
    let s = Server::start(&[]);
    let mut c = s.client();
    assert_eq!(c.cmd("SET t v PX 100"), "+OK\r\n");
    let pttl: i64 = c.cmd("PTTL t")[1..].trim().parse().unwrap();
    assert!((0..=100).contains(&pttl), "{pttl}");
    assert_eq!(c.cmd("TTL nokey"), ":-2\r\n");
    assert_eq!(c.cmd("SET p v"), "+OK\r\n");
    assert_eq!(c.cmd("TTL p"), ":-1\r\n");
    assert_eq!(c.cmd("EXPIRE p 100 XX"), ":0\r\n");
    assert_eq!(c.cmd("EXPIRE p 100 NX"), ":1\r\n");
    assert_eq!(c.cmd("EXPIRE p 50 GT"), ":0\r\n");
    assert_eq!(c.cmd("EXPIRE p 50 LT"), ":1\r\n");
    assert_eq!(c.cmd("TTL p"), ":50\r\n");
    assert_eq!(c.cmd("PERSIST p"), ":1\r\n");
    assert_eq!(
        c.cmd("EXPIRE p 1 NX XX"),
        "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n"
    );
    std::thread::sleep(std::time::Duration::from_millis(150));
    assert_eq!(c.cmd("GET t"), "$-1\r\n");
    // The sweep reclaims it through a replicated conditional delete.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let info = c.cmd("INFO stats");
        if info.contains("expired_keys:1\r\n") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not reclaimed: {info}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(c.cmd("EXPIRE p -1"), ":1\r\n");
    assert_eq!(c.cmd("EXISTS p"), ":0\r\n");
}

#[test]
fn hashes_keep_order_and_resp3_maps() {
    let s = Server::start(&[]);
    let mut c = s.client();
    assert_eq!(c.cmd("HSET h b 1 a 2"), ":2\r\n");
    assert_eq!(
        c.cmd("HGETALL h"),
        "*4\r\n$1\r\nb\r\n$1\r\n1\r\n$1\r\na\r\n$1\r\n2\r\n"
    );
    let hello = c.cmd("HELLO 3");
    assert!(
        hello.starts_with("%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n"),
        "{hello}"
    );
    assert_eq!(
        c.cmd("HGETALL h"),
        "%2\r\n$1\r\nb\r\n$1\r\n1\r\n$1\r\na\r\n$1\r\n2\r\n"
    );
    assert_eq!(c.cmd("GET nope"), "_\r\n");
    assert_eq!(c.cmd("HINCRBYFLOAT h a 0.5"), "$3\r\n2.5\r\n");
    assert_eq!(
        c.cmd("HINCRBY h b x"),
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(
        c.cmd("HELLO 4"),
        "-NOPROTO unsupported protocol version\r\n"
    );
    assert!(c.cmd("HELLO 2").starts_with("*14\r\n"));
}

#[test]
fn pipelines_and_inline_commands() {
    let s = Server::start(&[]);
    let mut c = s.client();
    let mut batch = Vec::new();
    for i in 0..100 {
        batch.extend(encode(&[b"INCR", b"ctr"]));
        batch.extend(encode(&[b"SET", format!("k{i}").as_bytes(), b"v"]));
    }
    c.send_raw(&batch);
    for i in 0..100 {
        assert_eq!(c.read_reply(), format!(":{}\r\n", i + 1));
        assert_eq!(c.read_reply(), "+OK\r\n");
    }
    c.send_raw(b"SET \"a b\" 'c d'\r\nGET \"a b\"\r\n");
    assert_eq!(c.read_reply(), "+OK\r\n");
    assert_eq!(c.read_reply(), "$3\r\nc d\r\n");
}

#[test]
fn protocol_errors_close_only_the_offender() {
    let s = Server::start(&[]);
    let mut good = s.client();
    good.cmd("SET keep me");
    let mut bad = s.client();
    bad.send_raw(b"SET \"unbalanced\r\n");
    assert_eq!(
        bad.read_reply(),
        "-ERR Protocol error: unbalanced quotes in request\r\n"
    );
    assert!(bad.closed());
    let mut bad = s.client();
    bad.send_raw(b"*1\r\n$999999999999\r\n");
    assert_eq!(
        bad.read_reply(),
        "-ERR Protocol error: invalid bulk length\r\n"
    );
    assert!(bad.closed());
    let mut bad = s.client();
    bad.send_raw(b"*3000000000\r\n");
    assert_eq!(
        bad.read_reply(),
        "-ERR Protocol error: invalid multibulk length\r\n"
    );
    assert!(bad.closed());
    assert_eq!(good.cmd("GET keep"), "$2\r\nme\r\n");
}

#[test]
fn proto_max_bulk_len_is_enforced() {
    let s = Server::start(&["--proto-max-bulk-len", "1mb"]);
    let mut c = s.client();
    c.send_raw(format!("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n${}\r\n", 2 << 20).as_bytes());
    assert_eq!(
        c.read_reply(),
        "-ERR Protocol error: invalid bulk length\r\n"
    );
    let mut c = s.client();
    assert_eq!(
        c.cmd("CONFIG GET proto-max-bulk-len"),
        "*2\r\n$18\r\nproto-max-bulk-len\r\n$7\r\n1048576\r\n"
    );
}

#[test]
fn auth_and_hello_auth() {
    let s = Server::start(&["--requirepass", "secret"]);
    let mut c = s.client();
    assert_eq!(c.cmd("GET k"), "-NOAUTH Authentication required.\r\n");
    assert_eq!(
        c.cmd("AUTH wrong"),
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    assert_eq!(c.cmd("AUTH secret"), "+OK\r\n");
    assert_eq!(c.cmd("SET k v"), "+OK\r\n");
    let mut c2 = s.client();
    assert!(c2
        .cmd("HELLO 3 AUTH default secret SETNAME app")
        .starts_with("%7\r\n"));
    assert_eq!(c2.cmd("CLIENT GETNAME"), "$3\r\napp\r\n");
    assert_eq!(c2.cmd("GET k"), "$1\r\nv\r\n");
}

#[test]
fn transactions_and_watch() {
    let s = Server::start(&[]);
    let mut a = s.client();
    let mut b = s.client();
    assert_eq!(a.cmd("MULTI"), "+OK\r\n");
    assert_eq!(a.cmd("SET x 1"), "+QUEUED\r\n");
    assert_eq!(a.cmd("INCR x"), "+QUEUED\r\n");
    assert_eq!(a.cmd("HSET x f v"), "+QUEUED\r\n");
    assert_eq!(
        a.cmd("EXEC"),
        "*3\r\n+OK\r\n:2\r\n-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    );
    assert_eq!(a.cmd("MULTI"), "+OK\r\n");
    assert_eq!(
        a.cmd("NOSUCH"),
        "-ERR unknown command 'NOSUCH', with args beginning with: \r\n"
    );
    assert_eq!(
        a.cmd("EXEC"),
        "-EXECABORT Transaction discarded because of previous errors.\r\n"
    );
    assert_eq!(a.cmd("WATCH x"), "+OK\r\n");
    assert_eq!(b.cmd("SET x 10"), "+OK\r\n");
    assert_eq!(a.cmd("MULTI"), "+OK\r\n");
    assert_eq!(a.cmd("INCR x"), "+QUEUED\r\n");
    assert_eq!(a.cmd("EXEC"), "*-1\r\n");
    assert_eq!(a.cmd("WATCH x"), "+OK\r\n");
    assert_eq!(a.cmd("MULTI"), "+OK\r\n");
    assert_eq!(a.cmd("INCR x"), "+QUEUED\r\n");
    assert_eq!(a.cmd("EXEC"), "*1\r\n:11\r\n");
    // WATCH of an absent key that another client creates and deletes.
    assert_eq!(a.cmd("WATCH ghost"), "+OK\r\n");
    assert_eq!(b.cmd("SET ghost 1"), "+OK\r\n");
    assert_eq!(b.cmd("DEL ghost"), ":1\r\n");
    assert_eq!(a.cmd("MULTI"), "+OK\r\n");
    assert_eq!(a.cmd("GET x"), "+QUEUED\r\n");
    assert_eq!(a.cmd("EXEC"), "*-1\r\n");
    assert_eq!(a.cmd("EXEC"), "-ERR EXEC without MULTI\r\n");
    assert_eq!(a.cmd("DISCARD"), "-ERR DISCARD without MULTI\r\n");
}

#[test]
fn info_config_client_and_command() {
    let s = Server::start(&[]);
    let mut c = s.client();
    let info = c.cmd("INFO");
    for section in [
        "# Server",
        "# Clients",
        "# Memory",
        "# Stats",
        "# Replication",
        "# CPU",
        "# Keyspace",
    ] {
        assert!(info.contains(section), "{section} missing");
    }
    assert!(info.contains("role:master\r\n"));
    let two = c.cmd("INFO replication cpu");
    assert!(two.contains("role:") && two.contains("used_cpu_sys:") && !two.contains("# Server"));
    assert_eq!(c.cmd("CONFIG SET timeout 30"), "+OK\r\n");
    assert_eq!(
        c.cmd("CONFIG GET timeout"),
        "*2\r\n$7\r\ntimeout\r\n$2\r\n30\r\n"
    );
    assert_eq!(c.cmd("CONFIG SET appendonly yes"), "+OK\r\n");
    assert_eq!(
        c.cmd("CONFIG GET appendonly"),
        "*2\r\n$10\r\nappendonly\r\n$3\r\nyes\r\n"
    );
    assert!(c
        .cmd("CONFIG SET nosuch 1")
        .starts_with("-ERR Unknown option"));
    assert_eq!(c.cmd("CLIENT SETNAME me"), "+OK\r\n");
    assert!(c.cmd("CLIENT LIST").contains("name=me "));
    assert!(c.cmd("CLIENT ID").starts_with(':'));
    let count: usize = c.cmd("COMMAND COUNT")[1..].trim().parse().unwrap();
    assert!(count > 70);
    assert!(c
        .cmd("COMMAND INFO get")
        .starts_with("*1\r\n*10\r\n$3\r\nget\r\n:2\r\n"));
    assert_eq!(c.cmd("FUNCTION FLUSH"), "+OK\r\n");
    assert_eq!(c.cmd("SET k v"), "+OK\r\n");
    assert!(c.cmd("MEMORY USAGE k").starts_with(':'));
    let mut victim = s.client();
    let id = victim.cmd("CLIENT ID");
    let id = id[1..].trim();
    assert_eq!(c.cmd(&format!("CLIENT KILL ID {id}")), ":1\r\n");
    assert!(victim.closed());
    assert_eq!(c.cmd("QUIT"), "+OK\r\n");
    assert!(c.closed());
}

#[test]
fn real_client_library_works() {
    let s = Server::start(&["--threads", "2"]);
    let client = redis::Client::open(s.url()).unwrap();
    let mut con = client.get_connection().unwrap();
    let _: () = redis::cmd("SET")
        .arg("lib")
        .arg(42)
        .query(&mut con)
        .unwrap();
    let v: i64 = redis::cmd("INCRBY")
        .arg("lib")
        .arg(8)
        .query(&mut con)
        .unwrap();
    assert_eq!(v, 50);
    let (a, b): (i64, Option<String>) = redis::pipe()
        .cmd("GET")
        .arg("lib")
        .cmd("GET")
        .arg("missing")
        .query(&mut con)
        .unwrap();
    assert_eq!((a, b), (50, None));
}

#[test]
fn idle_timeout_and_maxclients_are_enforced() {
    let s = Server::start(&["--maxclients", "2"]);
    assert!(s.dir.join("cluster-secret").exists(), "--dir is created");
    let mut a = s.client();
    let mut b = s.client();
    assert_eq!(a.cmd("PING"), "+PONG\r\n");
    assert_eq!(b.cmd("PING"), "+PONG\r\n");
    let mut c = s.client();
    assert_eq!(c.read_reply(), "-ERR max number of clients reached\r\n");
    assert!(c.closed());
    assert_eq!(a.cmd("CONFIG SET timeout 1"), "+OK\r\n");
    // b stays idle past the timeout and is closed; a keeps talking.
    for _ in 0..6 {
        std::thread::sleep(std::time::Duration::from_millis(400));
        assert_eq!(a.cmd("PING"), "+PONG\r\n");
    }
    assert!(b.closed(), "idle client closed after timeout");
    assert!(
        s.client().cmd("PING").starts_with("+PONG"),
        "a slot is free again"
    );
}

#[test]
fn help_lists_the_parameters() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cachecat"))
        .arg("--help")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for p in [
        "--port",
        "--bind",
        "--dir",
        "--threads",
        "--cpus",
        "--requirepass",
        "--config",
    ] {
        assert!(text.contains(p), "{p} missing from --help");
    }
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_cachecat"))
        .args(["--nosuch", "1"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn pipelines_keep_their_order_across_cores() {
    let s = Server::start(&["--threads", "2"]);
    let mut c = s.client();
    // Keys on both shards, so some commands wait for the other core while
    // later ones could run locally.
    // Routing is seeded per data directory: pick four keys of each shard.
    let mut by_shard: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for i in 0..200 {
        let k = format!("key{i}");
        let shard = c.cmd(&format!("DEBUG KEYSHARD {k}"));
        by_shard.entry(shard).or_default().push(k);
    }
    assert_eq!(by_shard.len(), 2, "keys spread over both shards");
    let keys: Vec<String> = by_shard.values().flat_map(|v| v[..4].to_vec()).collect();
    let mut batch = Vec::new();
    let mut expect = Vec::new();
    for round in 0..20 {
        for k in &keys {
            batch.extend(encode(&[
                b"SET",
                k.as_bytes(),
                format!("{round}").as_bytes(),
            ]));
            expect.push("+OK\r\n".to_string());
            batch.extend(encode(&[b"GET", k.as_bytes()]));
            let v = round.to_string();
            expect.push(format!("${}\r\n{v}\r\n", v.len()));
            batch.extend(encode(&[b"INCR", format!("n-{k}").as_bytes()]));
            expect.push(format!(":{}\r\n", round + 1));
        }
        batch.extend(encode(&[b"PING"]));
        expect.push("+PONG\r\n".to_string());
    }
    c.send_raw(&batch);
    for (i, e) in expect.iter().enumerate() {
        assert_eq!(&c.read_reply(), e, "reply {i}");
    }
}

/// `--cpus` pins every executor thread to the listed CPUs (glommio's own
/// placement ignores taskset, so this is the only way to confine them).
#[test]
fn cpus_pins_the_executors() {
    let s = Server::start(&["--threads", "2", "--cpus", "0"]);
    let tasks = std::fs::read_dir(format!("/proc/{}/task", s.pid())).unwrap();
    let mut executors = 0;
    for t in tasks {
        let dir = t.unwrap().path();
        let comm = std::fs::read_to_string(dir.join("comm")).unwrap();
        // Executor threads (and the helpers they start) are named
        // cachecat-*; the main thread only waits for them.
        if !comm.starts_with("cachecat-") {
            continue;
        }
        let status = std::fs::read_to_string(dir.join("status")).unwrap();
        let allowed = status
            .lines()
            .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
            .unwrap()
            .trim()
            .to_string();
        assert_eq!(
            allowed, "0",
            "executor thread {comm:?} runs on CPUs {allowed}"
        );
        executors += 1;
    }
    assert!(executors >= 2, "executor threads found: {executors}");
}

#[test]
fn randomkey_draws_from_every_shard() {
    let s = Server::start(&["--threads", "2"]);
    let mut c = s.client();
    for i in 0..20 {
        c.cmd(&format!("SET k{i} v"));
    }
    let mut shards = std::collections::HashSet::new();
    for _ in 0..200 {
        let r = c.cmd("RANDOMKEY");
        let key = r.split("\r\n").nth(1).unwrap().to_string();
        shards.insert(c.cmd(&format!("DEBUG KEYSHARD {key}")));
    }
    assert_eq!(shards.len(), 2, "RANDOMKEY picked keys of both shards");
    assert_eq!(c.cmd("FLUSHALL"), "+OK\r\n");
    assert_eq!(c.cmd("RANDOMKEY"), "$-1\r\n");
}

#[test]
fn object_idletime_counts_from_the_last_access() {
    let s = Server::start(&[]);
    let mut c = s.client();
    assert_eq!(c.cmd("SET k v"), "+OK\r\n");
    std::thread::sleep(std::time::Duration::from_millis(2100));
    assert_eq!(c.cmd("TTL k"), ":-1\r\n", "TTL is not an access");
    let idle: i64 = c.cmd("OBJECT IDLETIME k")[1..].trim().parse().unwrap();
    assert!(idle >= 2, "idle {idle}");
    assert_eq!(c.cmd("GET k"), "$1\r\nv\r\n");
    assert_eq!(c.cmd("OBJECT IDLETIME k"), ":0\r\n");
}

#[test]
fn whole_database_commands_inside_multi_across_cores() {
    let s = Server::start(&["--threads", "2"]);
    let mut c = s.client();
    for i in 0..6 {
        c.cmd(&format!("SET pre{i} v"));
    }
    assert_eq!(c.cmd("SELECT 1"), "+OK\r\n");
    assert_eq!(c.cmd("SET other v"), "+OK\r\n");
    assert_eq!(c.cmd("SELECT 0"), "+OK\r\n");
    assert_eq!(c.cmd("MULTI"), "+OK\r\n");
    for cmd in [
        "SET a 1",
        "DBSIZE",
        "FLUSHDB",
        "DBSIZE",
        "SET b 2",
        "SET c 3",
        "DBSIZE",
        "RANDOMKEY",
    ] {
        assert_eq!(c.cmd(cmd), "+QUEUED\r\n");
    }
    let r = c.cmd("EXEC");
    assert!(
        r.starts_with("*8\r\n+OK\r\n:7\r\n+OK\r\n:0\r\n+OK\r\n+OK\r\n:2\r\n$1\r\n"),
        "{r}"
    );
    assert_eq!(c.cmd("DBSIZE"), ":2\r\n");
    assert_eq!(c.cmd("GET pre0"), "$-1\r\n");
    assert_eq!(c.cmd("MGET b c"), "*2\r\n$1\r\n2\r\n$1\r\n3\r\n");
    assert_eq!(c.cmd("SELECT 1"), "+OK\r\n");
    assert_eq!(
        c.cmd("GET other"),
        "$1\r\nv\r\n",
        "FLUSHDB left database 1 alone"
    );
    assert_eq!(c.cmd("MULTI"), "+OK\r\n");
    assert_eq!(c.cmd("FLUSHALL"), "+QUEUED\r\n");
    assert_eq!(c.cmd("EXEC"), "*1\r\n+OK\r\n");
    assert_eq!(c.cmd("DBSIZE"), ":0\r\n");
    assert_eq!(c.cmd("SELECT 0"), "+OK\r\n");
    assert_eq!(c.cmd("DBSIZE"), ":0\r\n");
}
