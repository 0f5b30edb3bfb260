//! Argument documentation for COMMAND DOCS, which redis-cli turns into its
//! typing hints. Each command's syntax is written once, in the notation of
//! Redis's documentation (`key value [NX|XX] [EX seconds|KEEPTTL]`,
//! `key [key ...]`), and parsed into COMMAND DOCS's argument maps.

use cachecat_io::Reply;

/// Syntax of every command's arguments (after the name).
pub fn syntax(name: &str) -> &'static str {
    match name {
        "get" | "getdel" | "incr" | "decr" | "strlen" | "type" | "ttl" | "pttl" | "expiretime"
        | "pexpiretime" | "persist" | "hlen" | "hkeys" | "hvals" | "hgetall" => "key",
        "set" => "key value [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]",
        "setnx" | "getset" | "append" => "key value",
        "setex" => "key seconds value",
        "psetex" => "key milliseconds value",
        "getex" => "key [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|PERSIST]",
        "mget" | "del" | "unlink" | "exists" | "touch" | "watch" => "key [key ...]",
        "mset" | "msetnx" => "key value [key value ...]",
        "incrby" => "key increment",
        "decrby" => "key decrement",
        "incrbyfloat" => "key increment",
        "getrange" => "key start end",
        "setrange" => "key offset value",
        "keys" => "pattern",
        "rename" | "renamenx" => "key newkey",
        "copy" => "source destination [DB destination-db] [REPLACE]",
        "expire" | "pexpire" => "key seconds [NX|XX|GT|LT]",
        "expireat" | "pexpireat" => "key unix-time-seconds [NX|XX|GT|LT]",
        "object" => "subcommand key",
        "memory" => "subcommand key [SAMPLES count]",
        "flushdb" | "flushall" | "function" => "[ASYNC|SYNC]",
        "hset" | "hmset" => "key field value [field value ...]",
        "hsetnx" => "key field value",
        "hget" | "hexists" | "hstrlen" => "key field",
        "hmget" | "hdel" => "key field [field ...]",
        "hincrby" | "hincrbyfloat" => "key field increment",
        "hrandfield" => "key [count [WITHVALUES]]",
        "lpush" | "rpush" | "lpushx" | "rpushx" => "key element [element ...]",
        "lpop" | "rpop" => "key [count]",
        "llen" | "smembers" | "scard" | "zcard" => "key",
        "lrange" | "ltrim" => "key start stop",
        "lindex" => "key index",
        "lset" => "key index element",
        "lrem" => "key count element",
        "linsert" => "key BEFORE|AFTER pivot element",
        "lpos" => "key element [RANK rank] [COUNT num-matches] [MAXLEN len]",
        "lmove" => "source destination LEFT|RIGHT LEFT|RIGHT",
        "rpoplpush" => "source destination",
        "lmpop" => "numkeys key [key ...] LEFT|RIGHT [COUNT count]",
        "sadd" | "srem" | "smismember" => "key member [member ...]",
        "sismember" => "key member",
        "spop" | "srandmember" => "key [count]",
        "sinter" | "sunion" | "sdiff" => "key [key ...]",
        "sinterstore" | "sunionstore" | "sdiffstore" => "destination key [key ...]",
        "sintercard" => "numkeys key [key ...] [LIMIT limit]",
        "smove" => "source destination member",
        "zadd" => "key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]",
        "zincrby" => "key increment member",
        "zrem" | "zmscore" => "key member [member ...]",
        "zscore" | "zrank" | "zrevrank" => "key member",
        "zcount" | "zrangebyscore" | "zremrangebyscore" => "key min max",
        "zlexcount" | "zrangebylex" | "zremrangebylex" => "key min max",
        "zrange" => "key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES]",
        "zrangestore" => "dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]",
        "zrevrange" => "key start stop [WITHSCORES]",
        "zrevrangebyscore" | "zrevrangebylex" => "key max min",
        "zpopmin" | "zpopmax" => "key [count]",
        "zmpop" => "numkeys key [key ...] MIN|MAX [COUNT count]",
        "zremrangebyrank" => "key start stop",
        "zunionstore" | "zinterstore" => "destination numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM|MIN|MAX]",
        "zdiffstore" => "destination numkeys key [key ...]",
        "zunion" | "zinter" => "numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]",
        "zdiff" => "numkeys key [key ...] [WITHSCORES]",
        "zrandmember" => "key [count [WITHSCORES]]",
        "scan" => "cursor [MATCH pattern] [COUNT count] [TYPE type]",
        "hscan" | "sscan" | "zscan" => "key cursor [MATCH pattern] [COUNT count]",
        "subscribe" | "unsubscribe" => "channel [channel ...]",
        "psubscribe" | "punsubscribe" => "pattern [pattern ...]",
        "publish" => "channel message",
        "pubsub" => "subcommand [argument ...]",
        "echo" => "message",
        "ping" => "[message]",
        "hello" => "[protover [AUTH username password] [SETNAME clientname]]",
        "auth" => "[username] password",
        "select" => "index",
        "client" | "config" | "command" | "debug" | "raft" | "sentinel" => "subcommand [argument ...]",
        "info" => "[section [section ...]]",
        _ => "",
    }
}

fn b(s: &str) -> Reply {
    Reply::bulk(s.as_bytes().to_vec())
}

/// One documented argument.
struct Arg {
    name: String,
    kind: &'static str,
    token: Option<String>,
    optional: bool,
    multiple: bool,
    sub: Vec<Arg>,
}

impl Arg {
    fn reply(&self) -> Reply {
        let mut m = vec![(b("name"), b(&self.name)), (b("type"), b(self.kind))];
        if let Some(t) = &self.token {
            m.push((b("token"), b(t)));
        }
        let mut flags = Vec::new();
        if self.optional {
            flags.push(Reply::simple("optional"));
        }
        if self.multiple {
            flags.push(Reply::simple("multiple"));
        }
        if !flags.is_empty() {
            m.push((b("flags"), Reply::Set(flags)));
        }
        if !self.sub.is_empty() {
            m.push((
                b("arguments"),
                Reply::Array(self.sub.iter().map(Arg::reply).collect()),
            ));
        }
        Reply::Map(m)
    }
}

fn is_token(w: &str) -> bool {
    w.chars().all(|c| c.is_ascii_uppercase() || c == '-')
}

fn kind_of(word: &str) -> &'static str {
    match word {
        "key" | "newkey" | "source" | "destination" => "key",
        "pattern" => "pattern",
        w if w.starts_with("unix-time") => "unix-time",
        "seconds" | "milliseconds" | "count" | "start" | "end" | "offset" | "index"
        | "increment" | "decrement" | "protover" | "destination-db" => "integer",
        _ => "string",
    }
}

/// Parse a sequence of items up to a closing `]` or `|` (not consumed).
fn seq(words: &[&str], i: &mut usize) -> Vec<Arg> {
    let mut out: Vec<Arg> = Vec::new();
    while *i < words.len() {
        let w = words[*i];
        if w == "]" || w == "|" {
            break;
        }
        *i += 1;
        if w == "..." {
            if let Some(last) = out.last_mut() {
                last.multiple = true;
            }
            continue;
        }
        if w == "[" {
            let mut alts = vec![seq(words, i)];
            while *i < words.len() && words[*i] == "|" {
                *i += 1;
                alts.push(seq(words, i));
            }
            *i += 1; // "]"
            let mut arg = group(alts);
            arg.optional = true;
            // "key value [key value ...]" repeats the arguments before it:
            // they become one argument (a block when several) that may be
            // given many times, as Redis documents MSET.
            let repeated: Vec<&str> = if arg.sub.is_empty() {
                vec![arg.name.as_str()]
            } else {
                arg.sub.iter().map(|a| a.name.as_str()).collect()
            };
            if arg.multiple && out.len() >= repeated.len() {
                let tail = out.len() - repeated.len();
                if out[tail..]
                    .iter()
                    .map(|a| a.name.as_str())
                    .eq(repeated.iter().copied())
                {
                    let items = out.split_off(tail);
                    let mut rep = block(items);
                    rep.multiple = true;
                    out.push(rep);
                    continue;
                }
            }
            out.push(arg);
            continue;
        }
        if is_token(w) {
            // A token with a value ("EX seconds") or alone ("NX").
            match words
                .get(*i)
                .filter(|n| !is_token(n) && !["[", "]", "|", "..."].contains(n))
            {
                Some(v) => {
                    *i += 1;
                    out.push(Arg {
                        name: v.to_string(),
                        kind: kind_of(v),
                        token: Some(w.to_string()),
                        optional: false,
                        multiple: false,
                        sub: vec![],
                    });
                }
                None => out.push(Arg {
                    name: w.to_ascii_lowercase(),
                    kind: "pure-token",
                    token: Some(w.to_string()),
                    optional: false,
                    multiple: false,
                    sub: vec![],
                }),
            }
            continue;
        }
        out.push(Arg {
            name: w.to_string(),
            kind: kind_of(w),
            token: None,
            optional: false,
            multiple: false,
            sub: vec![],
        });
    }
    out
}

/// One bracketed group: a single argument, a block of several, or a choice.
fn group(mut alts: Vec<Vec<Arg>>) -> Arg {
    if alts.len() > 1 {
        let sub = alts.into_iter().map(block).collect();
        return Arg {
            name: "condition".into(),
            kind: "oneof",
            token: None,
            optional: false,
            multiple: false,
            sub,
        };
    }
    block(alts.pop().unwrap_or_default())
}

fn block(mut items: Vec<Arg>) -> Arg {
    if items.len() == 1 {
        return items.pop().expect("one item");
    }
    let multiple = items.iter().any(|a| a.multiple);
    Arg {
        name: items
            .iter()
            .map(|a| a.name.as_str())
            .collect::<Vec<_>>()
            .join("-"),
        kind: "block",
        token: None,
        optional: false,
        multiple,
        sub: items,
    }
}

/// COMMAND DOCS's `arguments` for a command.
pub fn arguments(name: &str) -> Reply {
    let spaced = syntax(name)
        .replace('[', " [ ")
        .replace(']', " ] ")
        .replace('|', " | ");
    let words: Vec<&str> = spaced.split_whitespace().collect();
    let mut i = 0;
    Reply::Array(seq(&words, &mut i).iter().map(Arg::reply).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(r: &Reply) -> Vec<String> {
        match r {
            Reply::Array(v) => v
                .iter()
                .map(|m| match m {
                    Reply::Map(kv) => match &kv[0].1 {
                        Reply::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
                        _ => String::new(),
                    },
                    _ => String::new(),
                })
                .collect(),
            _ => vec![],
        }
    }

    #[test]
    fn parses_the_documentation_notation() {
        assert_eq!(names(&arguments("get")), ["key"]);
        assert_eq!(
            names(&arguments("set")),
            ["key", "value", "condition", "get", "condition"]
        );
        assert_eq!(names(&arguments("mset")), ["key-value"]);
        assert_eq!(names(&arguments("hset")), ["key", "field-value"]);
        assert_eq!(names(&arguments("del")), ["key"]);
        assert_eq!(
            names(&arguments("copy")),
            ["source", "destination", "destination-db", "replace"]
        );
        let Reply::Array(v) = arguments("del") else {
            panic!()
        };
        assert!(format!("{:?}", v[0]).contains("multiple"));
    }

    #[test]
    fn every_command_has_a_syntax() {
        for s in cachecat_shards::table::COMMANDS {
            let none = [
                "randomkey",
                "dbsize",
                "multi",
                "exec",
                "discard",
                "unwatch",
                "quit",
                "reset",
                "time",
                "lastsave",
                "role",
            ];
            assert!(
                !syntax(s.name).is_empty() || none.contains(&s.name),
                "{} has no syntax",
                s.name
            );
        }
    }
}
