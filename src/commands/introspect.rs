//! COMMAND (COUNT, INFO, DOCS, LIST): the command table as Redis 7 reports it,
//! enough for redis-cli hints and client libraries.

use cachecat_io::Reply;
use cachecat_shards::cmd::args::is;
use cachecat_shards::cmd::keys::unknown_subcommand;
use cachecat_shards::table::{self, flag, Spec, COMMANDS};

use crate::conn::Conn;

fn b(s: &str) -> Reply {
    Reply::bulk(s.as_bytes().to_vec())
}

fn info_entry(s: &Spec, name: &str) -> Reply {
    let flags = flag::NAMES
        .iter()
        .filter(|(f, _)| s.has(*f))
        .map(|(_, n)| Reply::simple(n))
        .collect();
    let acl = s
        .acl
        .split_whitespace()
        .map(|c| Reply::Simple(c.to_string().into()))
        .collect();
    let subs = s
        .subcommands
        .iter()
        .map(|sub| {
            let full = format!("{}|{}", s.name, sub);
            Reply::Array(vec![
                b(&full),
                Reply::Int(-2),
                Reply::Set(vec![]),
                Reply::Int(0),
                Reply::Int(0),
                Reply::Int(0),
                Reply::Set(vec![]),
                Reply::Array(vec![]),
                Reply::Array(vec![]),
                Reply::Array(vec![]),
            ])
        })
        .collect();
    Reply::Array(vec![
        b(name),
        Reply::Int(s.arity as i64),
        Reply::Set(flags),
        Reply::Int(s.first_key as i64),
        Reply::Int(s.last_key as i64),
        Reply::Int(s.step as i64),
        Reply::Set(acl),
        Reply::Array(vec![]),
        Reply::Array(vec![]),
        Reply::Array(subs),
    ])
}

fn docs_entry(s: &Spec) -> Reply {
    Reply::Map(vec![
        (b("summary"), b(s.summary)),
        (b("since"), b(s.since)),
        (b("group"), b(s.group)),
        (b("arguments"), super::docs::arguments(s.name)),
    ])
}

pub fn command(_conn: &mut Conn, a: &[Vec<u8>]) -> Reply {
    if a.len() == 1 {
        return Reply::Array(COMMANDS.iter().map(|s| info_entry(s, s.name)).collect());
    }
    let sub = &a[1];
    if is(sub, "COUNT") && a.len() == 2 {
        Reply::Int(COMMANDS.len() as i64)
    } else if is(sub, "INFO") {
        if a.len() == 2 {
            return Reply::Array(COMMANDS.iter().map(|s| info_entry(s, s.name)).collect());
        }
        Reply::Array(
            a[2..]
                .iter()
                .map(|n| match table::lookup_any_case(n) {
                    Some(s) => info_entry(s, s.name),
                    None => Reply::NilArray,
                })
                .collect(),
        )
    } else if is(sub, "DOCS") {
        let specs: Vec<&Spec> = if a.len() == 2 {
            COMMANDS.iter().collect()
        } else {
            a[2..]
                .iter()
                .filter_map(|n| table::lookup_any_case(n))
                .collect()
        };
        Reply::Map(
            specs
                .into_iter()
                .map(|s| (b(s.name), docs_entry(s)))
                .collect(),
        )
    } else if is(sub, "LIST") {
        Reply::Array(COMMANDS.iter().map(|s| b(s.name)).collect())
    } else if is(sub, "HELP") && a.len() == 2 {
        Reply::Array(
            [
                "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "(no subcommand)",
                "    Return details about all commands.",
                "COUNT",
                "    Return the total number of commands in this server.",
                "LIST",
                "    Return a list of all commands in this server.",
                "INFO [<command-name> ...]",
                "    Return details about multiple commands.",
                "DOCS [<command-name> ...]",
                "    Return documentation details about multiple commands.",
                "HELP",
                "    Print this help.",
            ]
            .iter()
            .map(|s| Reply::simple(s))
            .collect(),
        )
    } else if is(sub, "COUNT") || is(sub, "HELP") {
        super::wrong_arity(&format!(
            "command|{}",
            String::from_utf8_lossy(sub).to_ascii_lowercase()
        ))
    } else {
        unknown_subcommand(sub, "COMMAND")
    }
}
