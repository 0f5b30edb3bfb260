//! Tests of the configuration parser beside this file.
use super::*;

fn args(s: &str) -> Vec<String> {
    s.split_whitespace().map(String::from).collect()
}

#[test]
fn flags_override_defaults() {
    let c = Config::from_args(&args(
        "--port 7000 --dir /tmp/x --threads 2 --cpus 0,2-3 --requirepass pw",
    ))
    .unwrap()
    .unwrap();
    assert_eq!(c.port, 7000);
    assert_eq!(c.threads, 2);
    assert_eq!(c.cpus, Some(vec![0, 2, 3]));
    assert_eq!(c.requirepass, "pw");
    assert_eq!(c.get("port").unwrap(), "7000");
}

#[test]
fn multi_word_values_and_units() {
    let c = Config::from_args(&args(
        "--client-output-buffer-limit pubsub 32mb 8mb 60 normal 1kb 0 0 --proto-max-bulk-len 2mb",
    ))
    .unwrap()
    .unwrap();
    assert_eq!(c.client_output_buffer_limit[2].hard, 32 << 20);
    assert_eq!(c.client_output_buffer_limit[0].hard, 1024);
    assert_eq!(c.proto_max_bulk_len, 2 << 20);
    assert_eq!(
        c.get("client-output-buffer-limit").unwrap(),
        "normal 1024 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
    );
}

#[test]
fn unknown_and_bad_values() {
    assert!(matches!(
        Config::from_args(&args("--nope 1")),
        Err(ConfigError::Unknown(_))
    ));
    assert_eq!(
        Config::from_args(&args("--port x")),
        Err(ConfigError::NotInteger)
    );
    assert!(Config::from_args(&args("--port")).is_err());
    assert!(Config::from_args(&args("--cpus 3-1")).is_err());
    let mut c = Config::default();
    assert!(c.set("appendonly", "maybe").is_err());
    c.set("appendonly", "no").unwrap();
    assert_eq!(
        c.get("appendonly").unwrap(),
        "yes",
        "reports what is in effect: every write goes through the log"
    );
}

#[test]
fn cluster_flags() {
    let c = Config::from_args(&args(
        "--node-id 2 --port 7002 --peer 1=127.0.0.1:7001:17001 --peer 2=127.0.0.1:7002:17002 3=localhost:7003:17003 --appendfsync everysec",
    ))
    .unwrap()
    .unwrap();
    assert_eq!(c.node_id, 2);
    assert_eq!(c.peers.len(), 3);
    assert_eq!(c.peers[2].host, "localhost");
    assert_eq!(c.peers[2].raft_port, 17003);
    assert_eq!(c.raft_port(), 17002);
    assert_eq!(c.get("appendfsync").unwrap(), "everysec");
    assert_eq!(c.members(), c.peers);
    let alone = Config::from_args(&args("--port 7005")).unwrap().unwrap();
    assert_eq!(alone.members().len(), 1);
    assert_eq!(alone.members()[0].raft_port, 17005);
    for bad in [
        "--peer 1=127.0.0.1:7001",
        "--peer x=h:1:2",
        "--peer 0=h:1:2",
        "--peer 1=h:1:2 --peer 1=h:3:4",
        "--node-id 0",
        "--appendfsync sometimes",
    ] {
        assert!(Config::from_args(&args(bad)).is_err(), "{bad}");
    }
}

#[test]
fn config_file() {
    let dir = std::env::temp_dir().join(format!("cachecat-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("c.conf");
    std::fs::write(&f, "# comment\nport 7100\nrequirepass \"a b\"\nsave \"\"\n").unwrap();
    let c = Config::from_args(&[f.display().to_string(), "--port".into(), "7200".into()])
        .unwrap()
        .unwrap();
    assert_eq!(c.port, 7200);
    assert_eq!(c.requirepass, "a b");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn raft_timing_and_sentinel_name() {
    let c = Config::from_args(&args(
        "--raft-heartbeat-ms 50 --raft-election-timeout-ms 200 --sentinel-master-name cache",
    ))
    .unwrap()
    .unwrap();
    assert_eq!(c.raft_heartbeat_ms, 50);
    assert_eq!(c.get("raft-election-timeout-ms").unwrap(), "200");
    assert_eq!(c.get("sentinel-master-name").unwrap(), "cache");
    let d = Config::from_args(&[]).unwrap().unwrap();
    assert_eq!(
        (d.raft_heartbeat_ms, d.raft_election_timeout_ms),
        (100, 500)
    );
    assert_eq!(d.sentinel_master_name, "mymaster");
    // An election timeout must leave room for a few heartbeats.
    assert!(Config::from_args(&args("--raft-election-timeout-ms 200")).is_err());
    assert!(Config::from_args(&args("--raft-heartbeat-ms 5")).is_err());
    assert!(Config::from_args(&args("--sentinel-master-name")).is_err());
}
