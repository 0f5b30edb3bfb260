//! Server commands: CONFIG, TIME, LASTSAVE, FUNCTION FLUSH, MEMORY USAGE and
//! DEBUG (KEYSHARD for tests and operators).

use std::rc::Rc;

use cachecat_io::Reply;
use cachecat_shards::cmd::args::is;
use cachecat_shards::cmd::glob;
use cachecat_shards::cmd::keys::{parse_memory_usage, unknown_subcommand};
use cachecat_shards::table::Spec;

use super::wrong_arity;
use crate::config::Config;
use crate::conn::Conn;
use crate::core::Core;

pub async fn run(core: &Rc<Core>, conn: &mut Conn, spec: &Spec, a: &[Vec<u8>]) -> Reply {
    match spec.name {
        "config" => config(core, a),
        "time" => {
            let us = crate::clock::physical_us();
            Reply::Array(vec![
                Reply::bulk((us / 1_000_000).to_string().into_bytes()),
                Reply::bulk((us % 1_000_000).to_string().into_bytes()),
            ])
        }
        "lastsave" => Reply::Int(core.shared.started_unix as i64),
        "function" => {
            if is(&a[1], "FLUSH") {
                match a.len() {
                    2 => Reply::Ok,
                    3 if is(&a[2], "ASYNC") || is(&a[2], "SYNC") => Reply::Ok,
                    _ => Reply::err("ERR syntax error"),
                }
            } else {
                unknown_subcommand(&a[1], "FUNCTION")
            }
        }
        "memory" => {
            if is(&a[1], "USAGE") {
                if a.len() < 3 {
                    return wrong_arity("memory|usage");
                }
                let pc = cachecat_shards::cmd::ParseCtx {
                    db: conn.db,
                    databases: core.shared.databases,
                    seed: 0,
                    now: core.read_now(),
                };
                match parse_memory_usage(&mut a.to_vec(), &pc) {
                    Ok(cmd) => super::keyspace::run(core, conn.db as u32, cmd).await,
                    Err(e) => e,
                }
            } else {
                unknown_subcommand(&a[1], "MEMORY")
            }
        }
        "debug" => {
            if is(&a[1], "KEYSHARD") && a.len() == 3 {
                Reply::Int(core.owner(&a[2]) as i64)
            } else {
                unknown_subcommand(&a[1], "DEBUG")
            }
        }
        _ => unreachable!(),
    }
}

fn config(core: &Core, a: &[Vec<u8>]) -> Reply {
    let sub = String::from_utf8_lossy(&a[1]).to_ascii_lowercase();
    match sub.as_str() {
        "get" => {
            if a.len() < 3 {
                return wrong_arity("config|get");
            }
            let cfg = core.shared.config.lock().expect("config");
            let mut out = Vec::new();
            for name in Config::names() {
                if a[2..]
                    .iter()
                    .any(|p| glob::matches(p, name.as_bytes(), true))
                {
                    if let Some(v) = cfg.get(name) {
                        out.push((
                            Reply::bulk(name.as_bytes().to_vec()),
                            Reply::bulk(v.into_bytes()),
                        ));
                    }
                }
            }
            Reply::Map(out)
        }
        "set" => {
            if a.len() < 4 || !a.len().is_multiple_of(2) {
                return wrong_arity("config|set");
            }
            let mut next = core.shared.config.lock().expect("config").clone();
            for p in a[2..].chunks(2) {
                let name = String::from_utf8_lossy(&p[0]).to_ascii_lowercase();
                let value = String::from_utf8_lossy(&p[1]).into_owned();
                if !Config::runtime_settable(&name) {
                    let known = Config::names().any(|n| n == name);
                    return Reply::Error(if known {
                        format!("ERR CONFIG SET failed (possibly related to argument '{name}') - can't set immutable config").into()
                    } else {
                        format!(
                            "ERR Unknown option or number of arguments for CONFIG SET - '{name}'"
                        )
                        .into()
                    });
                }
                if let Err(e) = next.set(&name, &value) {
                    return Reply::Error(
                        format!(
                            "ERR CONFIG SET failed (possibly related to argument '{name}') - {e}"
                        )
                        .into(),
                    );
                }
            }
            *core.shared.config.lock().expect("config") = next;
            core.shared.refresh_hot();
            Reply::Ok
        }
        "resetstat" => {
            if a.len() != 2 {
                return wrong_arity("config|resetstat");
            }
            core.shared.stats.reset();
            Reply::Ok
        }
        "rewrite" => Reply::err("ERR The server is running without a config file"),
        "help" => Reply::Array(
            [
                "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "GET <pattern>",
                "    Return parameters matching the glob-like <pattern> and their values.",
                "SET <directive> <value>",
                "    Set the configuration <directive> to <value>.",
                "RESETSTAT",
                "    Reset statistics reported by the INFO command.",
                "HELP",
                "    Print this help.",
            ]
            .iter()
            .map(|s| Reply::simple(s))
            .collect(),
        ),
        _ => unknown_subcommand(&a[1], "CONFIG"),
    }
}
