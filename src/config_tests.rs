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
    c.set("appendonly", "yes").unwrap();
    assert_eq!(
        c.get("appendonly").unwrap(),
        "no",
        "reports what is in effect"
    );
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
