//! Connection commands: PING, ECHO, HELLO, AUTH, SELECT, QUIT, RESET, CLIENT.

use std::rc::Rc;
use std::sync::atomic::Ordering::Relaxed;

use bytes::Bytes;
use cachecat_io::{Proto, Reply};
use cachecat_shards::cmd::args::{is, parse_i64};
use cachecat_shards::cmd::keys::unknown_subcommand;
use cachecat_shards::table::Spec;

use super::wrong_arity;
use crate::conn::Conn;
use crate::core::Core;
use crate::shared::ClientMeta;

pub const REDIS_VERSION: &str = "7.0.15";

pub fn run(core: &Rc<Core>, conn: &mut Conn, spec: &Spec, a: &[Vec<u8>]) -> Reply {
    match spec.name {
        // A RESP2 subscriber gets PING's answer as a message.
        "ping"
            if conn.proto == Proto::Resp2 && conn.subs.as_ref().is_some_and(|s| s.count() > 0) =>
        {
            match a.len() {
                1 | 2 => Reply::Array(vec![
                    Reply::bulk(&b"pong"[..]),
                    Reply::bulk(a.get(1).cloned().unwrap_or_default()),
                ]),
                _ => wrong_arity("ping"),
            }
        }
        "ping" => match a.len() {
            1 => Reply::simple("PONG"),
            2 => Reply::bulk(a[1].clone()),
            _ => wrong_arity("ping"),
        },
        "echo" => Reply::bulk(a[1].clone()),
        "hello" => hello(core, conn, a),
        "auth" => auth(core, conn, a),
        "select" => match parse_i64(&a[1]) {
            Err(_) => Reply::err("ERR value is not an integer or out of range"),
            Ok(n) if n < 0 || n >= core.shared.databases as i64 => {
                Reply::err("ERR DB index is out of range")
            }
            Ok(n) => {
                conn.db = n as usize;
                conn.meta.db.store(conn.db, Relaxed);
                Reply::Ok
            }
        },
        "quit" => {
            conn.close = true;
            Reply::Ok
        }
        "reset" => {
            conn.db = 0;
            conn.meta.db.store(0, Relaxed);
            conn.proto = Proto::Resp2;
            conn.meta.resp.store(2, Relaxed);
            conn.multi = None;
            conn.meta.multi.store(-1, Relaxed);
            conn.watches.clear();
            conn.meta.name.lock().expect("name").clear();
            conn.authed = !core.shared.requirepass_set.load(Relaxed);
            // A subscriber's RESET leaves its subscriptions first, waiting
            // for the owners (commands::dispatch); none are left here.
            debug_assert!(conn.subs.is_none());
            Reply::simple("RESET")
        }
        "client" => client(core, conn, a),
        _ => unreachable!(),
    }
}

/// A database index for SELECT (None when invalid).
pub fn parse_db(arg: &[u8], databases: usize) -> Option<usize> {
    parse_i64(arg)
        .ok()
        .filter(|n| *n >= 0 && *n < databases as i64)
        .map(|n| n as usize)
}

fn check_password(core: &Core, user: &[u8], pass: &[u8]) -> bool {
    let cfg = core.shared.config.lock().expect("config");
    user == b"default" && !cfg.requirepass.is_empty() && cfg.requirepass.as_bytes() == pass
}

const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";

fn auth(core: &Core, conn: &mut Conn, a: &[Vec<u8>]) -> Reply {
    if a.len() > 3 {
        return Reply::err("ERR syntax error");
    }
    if !core.shared.requirepass_set.load(Relaxed) && a.len() == 2 {
        return Reply::err("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?");
    }
    let (user, pass) = if a.len() == 3 {
        (&a[1][..], &a[2][..])
    } else {
        (&b"default"[..], &a[1][..])
    };
    if check_password(core, user, pass)
        || (!core.shared.requirepass_set.load(Relaxed) && user == b"default")
    {
        conn.authed = true;
        Reply::Ok
    } else {
        Reply::err(WRONGPASS)
    }
}

fn hello(core: &Core, conn: &mut Conn, a: &[Vec<u8>]) -> Reply {
    let mut proto = conn.proto;
    let mut i = 1;
    if a.len() > 1 {
        match parse_i64(&a[1]) {
            Err(_) => return Reply::err("ERR Protocol version is not an integer or out of range"),
            Ok(2) => proto = Proto::Resp2,
            Ok(3) => proto = Proto::Resp3,
            Ok(_) => return Reply::err("NOPROTO unsupported protocol version"),
        }
        i = 2;
    }
    let mut auth: Option<(&[u8], &[u8])> = None;
    let mut name: Option<&Vec<u8>> = None;
    while i < a.len() {
        let more = a.len() - i - 1;
        if is(&a[i], "AUTH") && more >= 2 {
            auth = Some((&a[i + 1], &a[i + 2]));
            i += 3;
        } else if is(&a[i], "SETNAME") && more >= 1 {
            name = Some(&a[i + 1]);
            i += 2;
        } else {
            return Reply::Error(
                format!(
                    "ERR Syntax error in HELLO option '{}'",
                    String::from_utf8_lossy(&a[i])
                )
                .into(),
            );
        }
    }
    if let Some((user, pass)) = auth {
        let open = !core.shared.requirepass_set.load(Relaxed) && user == b"default";
        if !open && !check_password(core, user, pass) {
            return Reply::err(WRONGPASS);
        }
        conn.authed = true;
    }
    if !conn.authed {
        return Reply::err("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time");
    }
    if let Some(n) = name {
        if let Err(e) = set_name(&conn.meta, n) {
            return e;
        }
    }
    conn.proto = proto;
    conn.meta
        .resp
        .store(if proto == Proto::Resp3 { 3 } else { 2 }, Relaxed);
    let b = |s: &str| Reply::bulk(s.as_bytes().to_vec());
    Reply::Map(vec![
        (b("server"), b("redis")),
        (b("version"), b(REDIS_VERSION)),
        (
            b("proto"),
            Reply::Int(if proto == Proto::Resp3 { 3 } else { 2 }),
        ),
        (b("id"), Reply::Int(conn.id as i64)),
        (b("mode"), b("standalone")),
        (b("role"), b("master")),
        (b("modules"), Reply::Array(vec![])),
    ])
}

/// Names and library info may not contain spaces or control characters.
fn valid_name(s: &[u8]) -> bool {
    s.iter().all(|&c| (b'!'..=b'~').contains(&c))
}

fn set_name(meta: &ClientMeta, name: &[u8]) -> Result<(), Reply> {
    if !valid_name(name) {
        return Err(Reply::err(
            "ERR Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    *meta.name.lock().expect("name") = String::from_utf8_lossy(name).into_owned();
    Ok(())
}

fn client(core: &Core, conn: &mut Conn, a: &[Vec<u8>]) -> Reply {
    let sub = String::from_utf8_lossy(&a[1]).to_ascii_lowercase();
    let arity = |ok: bool| {
        if ok {
            None
        } else {
            Some(wrong_arity(&format!("client|{sub}")))
        }
    };
    let check = match sub.as_str() {
        "id" | "getname" | "info" => arity(a.len() == 2),
        "setname" => arity(a.len() == 3),
        "setinfo" => arity(a.len() == 4),
        "no-evict" => arity(a.len() == 3),
        "list" | "kill" | "help" => arity(a.len() >= 2),
        _ => return unknown_subcommand(&a[1], "CLIENT"),
    };
    if let Some(e) = check {
        return e;
    }
    match sub.as_str() {
        "id" => Reply::Int(conn.id as i64),
        "setname" => match set_name(&conn.meta, &a[2]) {
            Ok(()) => Reply::Ok,
            Err(e) => e,
        },
        "getname" => {
            let n = conn.meta.name.lock().expect("name").clone();
            if n.is_empty() {
                Reply::Nil
            } else {
                Reply::bulk(n.into_bytes())
            }
        }
        "setinfo" => {
            let which = if is(&a[2], "LIB-NAME") {
                &conn.meta.lib_name
            } else if is(&a[2], "LIB-VER") {
                &conn.meta.lib_ver
            } else {
                return Reply::Error(
                    format!(
                        "ERR Unrecognized option '{}'",
                        String::from_utf8_lossy(&a[2])
                    )
                    .into(),
                );
            };
            if !valid_name(&a[3]) {
                return Reply::Error(
                    format!(
                        "ERR {} cannot contain spaces, newlines or special characters.",
                        String::from_utf8_lossy(&a[2]).to_ascii_uppercase()
                    )
                    .into(),
                );
            }
            *which.lock().expect("lib") = String::from_utf8_lossy(&a[3]).into_owned();
            Reply::Ok
        }
        "no-evict" => {
            if is(&a[2], "ON") || is(&a[2], "OFF") {
                Reply::Ok
            } else {
                Reply::err("ERR syntax error")
            }
        }
        "info" => Reply::Verbatim("txt", client_line(core, &conn.meta).into()),
        "list" => client_list(core, a),
        "kill" => client_kill(core, conn, a),
        "help" => Reply::Array(
            [
                "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "ID",
                "    Return the ID of the current connection.",
                "GETNAME",
                "    Return the name of the current connection.",
                "SETNAME <name>",
                "    Assign the name <name> to the current connection.",
                "SETINFO <LIB-NAME|LIB-VER> <value>",
                "    Set client library info.",
                "LIST [TYPE (NORMAL|MASTER|REPLICA|PUBSUB)] [ID <id> [<id> ...]]",
                "    Return information about client connections.",
                "INFO",
                "    Return information about the current client connection.",
                "KILL <ip:port> | KILL <option> <value> [<option> <value> [...]]",
                "    Kill connections (ID, ADDR, LADDR, TYPE, USER, SKIPME).",
                "NO-EVICT (ON|OFF)",
                "    Accepted for compatibility.",
                "HELP",
                "    Print this help.",
            ]
            .iter()
            .map(|s| Reply::simple(s))
            .collect(),
        ),
        _ => unreachable!(),
    }
}

/// One CLIENT LIST line, in Redis 7's field order.
fn client_line(core: &Core, m: &ClientMeta) -> String {
    let now = core.shared.uptime_ms();
    let name = m.name.lock().expect("name").clone();
    let lib_name = m.lib_name.lock().expect("lib").clone();
    let lib_ver = m.lib_ver.lock().expect("lib").clone();
    let cmd = cachecat_shards::table::COMMANDS
        .get(m.last_cmd.load(Relaxed) as usize)
        .map_or("NULL", |s| s.name);
    format!(
        "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub=0 multi={} qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=16384 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd={} user=default redir=-1 resp={} lib-name={} lib-ver={}\n",
        m.id,
        m.addr,
        m.laddr,
        m.fd.load(Relaxed),
        name,
        m.created.elapsed().as_secs(),
        now.saturating_sub(m.last_ms.load(Relaxed)) / 1000,
        if m.is_subscriber() { "P" } else { "N" },
        m.db.load(Relaxed),
        m.sub_channels.load(Relaxed),
        m.sub_patterns.load(Relaxed),
        m.multi.load(Relaxed),
        cmd,
        m.resp.load(Relaxed),
        lib_name,
        lib_ver,
    )
}

fn client_list(core: &Core, a: &[Vec<u8>]) -> Reply {
    let clients = core.shared.all_clients();
    let mut ids: Option<Vec<u64>> = None;
    // TYPE normal / pubsub: Some(want a subscriber).
    let mut kind: Option<bool> = None;
    let mut i = 2;
    while i < a.len() {
        if is(&a[i], "TYPE") && i + 1 < a.len() {
            let t = String::from_utf8_lossy(&a[i + 1]).to_ascii_lowercase();
            match t.as_str() {
                "normal" => kind = Some(false),
                "pubsub" => kind = Some(true),
                "master" | "replica" | "slave" => return Reply::Verbatim("txt", Bytes::new()),
                _ => {
                    return Reply::Error(format!("ERR Unknown client type '{t}'").into());
                }
            }
            i += 2;
        } else if is(&a[i], "ID") && i + 1 < a.len() {
            let mut v = Vec::new();
            for x in &a[i + 1..] {
                match parse_i64(x) {
                    Ok(n) if n > 0 => v.push(n as u64),
                    _ => return Reply::err("ERR Invalid client ID"),
                }
            }
            ids = Some(v);
            i = a.len();
        } else {
            return Reply::err("ERR syntax error");
        }
    }
    let mut s = String::new();
    for m in clients {
        if ids.as_ref().is_some_and(|ids| !ids.contains(&m.id))
            || kind.is_some_and(|sub| sub != m.is_subscriber())
        {
            continue;
        }
        s.push_str(&client_line(core, &m));
    }
    Reply::Verbatim("txt", s.into())
}

fn client_kill(core: &Core, conn: &Conn, a: &[Vec<u8>]) -> Reply {
    let clients = core.shared.all_clients();
    if a.len() == 3 {
        // Old form: CLIENT KILL ip:port.
        let target = String::from_utf8_lossy(&a[2]);
        return match clients.iter().find(|m| m.addr == target) {
            Some(m) => {
                m.kill();
                Reply::Ok
            }
            None => Reply::err("ERR No such client"),
        };
    }
    if !a.len().is_multiple_of(2) {
        return Reply::err("ERR syntax error");
    }
    let mut skipme = true;
    let mut filters: Vec<(String, String)> = Vec::new();
    for p in a[2..].chunks(2) {
        let k = String::from_utf8_lossy(&p[0]).to_ascii_lowercase();
        let v = String::from_utf8_lossy(&p[1]).into_owned();
        match k.as_str() {
            "skipme" => match v.to_ascii_lowercase().as_str() {
                "yes" => skipme = true,
                "no" => skipme = false,
                _ => return Reply::err("ERR syntax error"),
            },
            "id" => {
                if !matches!(parse_i64(v.as_bytes()), Ok(n) if n > 0) {
                    return Reply::err("ERR client-id should be greater than 0");
                }
                filters.push((k, v));
            }
            "addr" | "laddr" | "user" | "type" => filters.push((k, v)),
            _ => return Reply::err("ERR syntax error"),
        }
    }
    let mut killed = 0;
    for m in &clients {
        if skipme && m.id == conn.id {
            continue;
        }
        let hit = filters.iter().all(|(k, v)| match k.as_str() {
            "id" => m.id.to_string() == *v,
            "addr" => m.addr == *v,
            "laddr" => m.laddr == *v,
            "user" => v == "default",
            "type" => v.eq_ignore_ascii_case("normal"),
            _ => false,
        });
        if hit {
            m.kill();
            killed += 1;
        }
    }
    Reply::Int(killed)
}
