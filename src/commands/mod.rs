//! Command dispatch: the command table is checked here, in one place (name,
//! arity, authentication, MULTI queueing), then the command runs: keyspace
//! commands are parsed into a `Cmd` and routed to their shard(s); the others
//! are handled by the family files beside this one.

pub mod connection;
pub mod docs;
pub mod info;
pub mod introspect;
pub mod keyspace;
pub mod multi;
pub mod role;
pub mod server;

use std::rc::Rc;

use cachecat_io::Reply;
use cachecat_shards::cmd::ParseCtx;
use cachecat_shards::table::{self, flag, Spec};

use crate::conn::{Conn, Queued};
use crate::core::Core;

/// Redis's reply to an unknown command.
fn unknown_command(argv: &[Vec<u8>]) -> Reply {
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

pub fn wrong_arity(name: &str) -> Reply {
    Reply::Error(format!("ERR wrong number of arguments for '{name}' command").into())
}

/// What remains to do for a command after its synchronous part.
pub enum Step {
    /// Answered already.
    Reply(Reply),
    /// A parsed keyspace command that must wait for another core.
    Keyspace(u32, cachecat_shards::cmd::Cmd),
    /// A server command with an asynchronous part (EXEC, WATCH, INFO...).
    Other(&'static Spec, Vec<Vec<u8>>),
}

/// Run what can run at once: the command-table checks (name, arity,
/// authentication), MULTI queueing, parsing, and the command itself when its
/// keys live on this core and nothing is queued ahead of it there.
///
/// `behind` says earlier commands of this connection are still in flight: a
/// read must then not run ahead of them on the local shard.
pub fn begin(core: &Rc<Core>, conn: &mut Conn, mut argv: Vec<Vec<u8>>, behind: bool) -> Step {
    let shared = &core.shared;
    crate::shared::bump(&shared.stats.per_core[core.id].commands, 1);
    let Some(spec) = table::lookup_any_case(&argv[0]) else {
        flag_multi_error(conn);
        return Step::Reply(unknown_command(&argv));
    };
    // Its position in the table: a store, no allocation on the hot path.
    let pos = (spec as *const Spec as usize - table::COMMANDS.as_ptr() as usize)
        / std::mem::size_of::<Spec>();
    conn.meta
        .last_cmd
        .store(pos as u32, std::sync::atomic::Ordering::Relaxed);
    if !spec.arity_ok(argv.len()) {
        flag_multi_error(conn);
        return Step::Reply(wrong_arity(spec.name));
    }
    if !conn.authed && !spec.has(flag::NO_AUTH) {
        flag_multi_error(conn);
        return Step::Reply(Reply::err("NOAUTH Authentication required."));
    }
    if conn.proto == cachecat_io::Proto::Resp2
        && conn.subs.as_ref().is_some_and(|s| s.count() > 0)
        && !matches!(
            spec.name,
            "subscribe" | "unsubscribe" | "psubscribe" | "punsubscribe" | "ping" | "quit" | "reset"
        )
    {
        return Step::Reply(Reply::Error(
            format!(
                "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
                spec.name
            )
            .into(),
        ));
    }
    if conn.multi.is_some()
        && !matches!(
            spec.name,
            "exec" | "discard" | "multi" | "watch" | "quit" | "reset"
        )
    {
        return Step::Reply(queue(core, conn, spec, argv));
    }
    let Some(parse) = spec.parse else {
        return match spec.name {
            // Leaving subscriptions waits for their owners' counts.
            "reset" if conn.subs.is_some() => Step::Other(spec, argv),
            "ping" | "echo" | "hello" | "auth" | "select" | "quit" | "reset" | "client" => {
                Step::Reply(connection::run(core, conn, spec, &argv))
            }
            "command" => Step::Reply(introspect::command(conn, &argv)),
            _ => Step::Other(spec, argv),
        };
    };
    let pc = ParseCtx {
        db: conn.db,
        databases: shared.databases,
        seed: keyspace::seed(),
        now: core.read_now(),
    };
    match parse(&mut argv, &pc) {
        Ok(cmd) => keyspace::try_local(core, conn.db as u32, cmd, behind),
        Err(e) => Step::Reply(e),
    }
}

/// Finish a command that could not complete at once.
pub async fn finish(core: &Rc<Core>, conn: &mut Conn, step: Step) -> Reply {
    match step {
        Step::Reply(r) => r,
        Step::Keyspace(db, cmd) => keyspace::run(core, db, cmd).await,
        Step::Other(spec, argv) => dispatch(core, conn, spec, argv).await,
    }
}

fn flag_multi_error(conn: &mut Conn) {
    if let Some(m) = &mut conn.multi {
        m.failed = true;
    }
}

/// Queue a command inside MULTI. Keyspace commands are parsed now, in the
/// database selected at this point of the transaction.
fn queue(core: &Core, conn: &mut Conn, spec: &'static Spec, mut argv: Vec<Vec<u8>>) -> Reply {
    let m = conn.multi.as_mut().expect("in multi");
    let item = match spec.parse {
        Some(parse) => {
            let pc = ParseCtx {
                db: m.queue_db,
                databases: core.shared.databases,
                seed: keyspace::seed(),
                now: core.read_now(),
            };
            match parse(&mut argv, &pc) {
                Ok(cmd) => Queued::Key {
                    db: m.queue_db as u32,
                    cmd,
                },
                Err(e) => Queued::Failed(e),
            }
        }
        None => {
            if spec.name == "select" {
                if let Some(db) = connection::parse_db(&argv[1], core.shared.databases) {
                    m.queue_db = db;
                }
            }
            Queued::Server(argv)
        }
    };
    m.items.push(item);
    Reply::simple("QUEUED")
}

/// Run a server command (one without a keyspace parser: those go through
/// `begin`), outside MULTI or queued and now run by EXEC.
pub async fn dispatch(
    core: &Rc<Core>,
    conn: &mut Conn,
    spec: &'static Spec,
    argv: Vec<Vec<u8>>,
) -> Reply {
    debug_assert!(spec.parse.is_none(), "{} is a keyspace command", spec.name);
    match spec.name {
        "reset" if conn.subs.is_some() => {
            let mut subs = conn.subs.take().expect("subscribed");
            let mut late = crate::pubsub::leave_counted(core, &mut subs, conn.id).await;
            late.push(connection::run(core, conn, spec, &argv));
            Reply::Seq(late)
        }
        "ping" | "echo" | "hello" | "auth" | "select" | "quit" | "reset" | "client" => {
            connection::run(core, conn, spec, &argv)
        }
        "multi" | "exec" | "discard" | "watch" | "unwatch" => {
            multi::run(core, conn, spec, argv).await
        }
        "info" => info::run(core, conn, &argv).await,
        "command" => introspect::command(conn, &argv),
        "role" => role::role(core, conn),
        "raft" | "sentinel" => {
            let req = core.raft_admin(argv);
            core.pending.wait(req).await
        }
        "config" | "time" | "lastsave" | "function" | "memory" | "debug" => {
            server::run(core, conn, spec, &argv).await
        }
        "subscribe" | "psubscribe" | "unsubscribe" | "punsubscribe" => {
            let pattern = spec.name.starts_with('p');
            let unsub = spec.name.contains("unsub");
            if unsub && conn.subs.is_none() {
                return crate::pubsub::unsubscribe_none(pattern);
            }
            let subs = conn
                .subs
                .get_or_insert_with(|| crate::pubsub::Subs::new(conn.meta.clone()));
            let mut r = if unsub {
                crate::pubsub::unsubscribe(core, subs, conn.id, &argv[1..], pattern).await
            } else {
                crate::pubsub::subscribe(core, subs, conn.id, &argv[1..], pattern).await
            };
            // Out of subscribed mode: the mailbox goes, with any message
            // that arrived meanwhile delivered first.
            if subs.count() == 0 {
                let late = subs.mailbox.take_all();
                if let Reply::Seq(items) = &mut r {
                    items.splice(0..0, late);
                }
                conn.subs = None;
            }
            r
        }
        "publish" => crate::pubsub::publish(core, &argv[1], &argv[2]).await,
        "pubsub" => crate::pubsub::pubsub_cmd(core, &argv).await,
        other => Reply::Error(format!("ERR command '{other}' is not available").into()),
    }
}
