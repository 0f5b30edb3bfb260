//! Command dispatch: the command table is checked here, in one place (name,
//! arity, authentication, MULTI queueing), then the command runs: keyspace
//! commands are parsed into a `Cmd` and routed to their shard(s); the others
//! are handled by the family files beside this one.

pub mod connection;
pub mod info;
pub mod introspect;
pub mod keyspace;
pub mod multi;
pub mod server;

use std::rc::Rc;
use std::sync::atomic::Ordering::Relaxed;

use bytes::Bytes;
use cachecat_io::Reply;
use cachecat_shards::cmd::ParseCtx;
use cachecat_shards::table::{self, flag, Spec};

use crate::conn::{Conn, Queued};
use crate::core::Core;

/// Redis's reply to an unknown command.
fn unknown_command(argv: &[Bytes]) -> Reply {
    let mut args = String::new();
    for a in &argv[1..] {
        if args.len() >= 128 {
            break;
        }
        let room = 128 - args.len();
        let s = String::from_utf8_lossy(a);
        let s: String = s.chars().take(room).collect();
        args.push_str(&format!("'{s}' "));
    }
    let name: String = String::from_utf8_lossy(&argv[0])
        .chars()
        .take(128)
        .collect();
    Reply::Error(format!("ERR unknown command '{name}', with args beginning with: {args}").into())
}

/// The time a command is parsed at, for Redis's expiry overflow checks.
fn core_now() -> u64 {
    crate::clock::physical_ms()
}

pub fn wrong_arity(name: &str) -> Reply {
    Reply::Error(format!("ERR wrong number of arguments for '{name}' command").into())
}

/// Run one command from a client and return its reply.
pub async fn run(core: &Rc<Core>, conn: &mut Conn, argv: Vec<Bytes>) -> Reply {
    let shared = &core.shared;
    shared.stats.commands_processed.fetch_add(1, Relaxed);
    let Some(spec) = table::lookup_any_case(&argv[0]) else {
        flag_multi_error(conn);
        return unknown_command(&argv);
    };
    conn.meta.last_ms.store(shared.uptime_ms(), Relaxed);
    if !spec.arity_ok(argv.len()) {
        flag_multi_error(conn);
        return wrong_arity(spec.name);
    }
    if !conn.authed && !spec.has(flag::NO_AUTH) {
        flag_multi_error(conn);
        return Reply::err("NOAUTH Authentication required.");
    }
    if conn.multi.is_some()
        && !matches!(
            spec.name,
            "exec" | "discard" | "multi" | "watch" | "quit" | "reset"
        )
    {
        return queue(conn, spec, argv);
    }
    dispatch(core, conn, spec, argv).await
}

fn flag_multi_error(conn: &mut Conn) {
    if let Some(m) = &mut conn.multi {
        m.failed = true;
    }
}

/// Queue a command inside MULTI. Keyspace commands are parsed now, in the
/// database selected at this point of the transaction.
fn queue(conn: &mut Conn, spec: &'static Spec, argv: Vec<Bytes>) -> Reply {
    let m = conn.multi.as_mut().expect("in multi");
    let item = match spec.parse {
        Some(parse) => {
            let pc = ParseCtx {
                db: m.queue_db,
                databases: crate::commands::keyspace::databases(),
                seed: keyspace::seed(),
                now: core_now(),
            };
            match parse(&argv, &pc) {
                Ok(cmd) => Queued::Key {
                    db: m.queue_db as u32,
                    cmd,
                },
                Err(e) => Queued::Failed(e),
            }
        }
        None => {
            if spec.name == "select" {
                if let Some(db) = connection::parse_db(&argv[1], keyspace::databases()) {
                    m.queue_db = db;
                }
            }
            Queued::Server(argv)
        }
    };
    m.items.push(item);
    Reply::simple("QUEUED")
}

/// Run a command outside MULTI (or a queued server command at EXEC time).
pub async fn dispatch(
    core: &Rc<Core>,
    conn: &mut Conn,
    spec: &'static Spec,
    argv: Vec<Bytes>,
) -> Reply {
    if let Some(parse) = spec.parse {
        let pc = ParseCtx {
            db: conn.db,
            databases: core.shared.databases,
            seed: keyspace::seed(),
            now: core_now(),
        };
        return match parse(&argv, &pc) {
            Ok(cmd) => keyspace::run(core, conn.db as u32, cmd).await,
            Err(e) => e,
        };
    }
    match spec.name {
        "ping" | "echo" | "hello" | "auth" | "select" | "quit" | "reset" | "client" => {
            connection::run(core, conn, spec, &argv)
        }
        "multi" | "exec" | "discard" | "watch" | "unwatch" => {
            multi::run(core, conn, spec, argv).await
        }
        "info" => info::run(core, conn, &argv).await,
        "command" => introspect::command(conn, &argv),
        "config" | "time" | "lastsave" | "function" | "memory" | "debug" => {
            server::run(core, conn, spec, &argv).await
        }
        other => Reply::Error(format!("ERR command '{other}' is not available").into()),
    }
}
