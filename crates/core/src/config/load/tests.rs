use super::*;
use std::io::Write;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

fn file(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f
}

#[test]
fn defaults_are_embedded_loopback() {
    let c = load(&Sources::default()).unwrap();
    assert_eq!(c.api.listen, "127.0.0.1:8000");
    assert_eq!(c.health.listen, "127.0.0.1:8080");
    assert_eq!(c.metrics.listen, "127.0.0.1:2112");
    assert_eq!(c.sip.listen, "127.0.0.1:5060");
    assert_eq!(c.api.audiosocket_listen, "127.0.0.1:9000");
    assert_eq!((c.rtp.port_min, c.rtp.port_max), (10000, 20000));
    assert_eq!(c.database_dsn(), "sqlite://./voxbin-data/voxbin.db");
}

#[test]
fn production_profile_uses_seed_ports() {
    let c = load(&Sources {
        env: env(&[("VOXBIN_PROFILE", "production")]),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(c.api.tls_listen, "0.0.0.0:443");
    assert_eq!(c.health.listen, "0.0.0.0:8080");
    assert_eq!(c.metrics.listen, "0.0.0.0:2112");
    assert_eq!(c.sip.tls_listen, "0.0.0.0:5061");
    assert_eq!(c.rtp.port_max, 60000);
}

#[test]
fn precedence_file_then_env_then_flags() {
    let f = file("[api]\nlisten = \"127.0.0.1:7001\"\n[health]\nlisten = \"127.0.0.1:7002\"\n[metrics]\nlisten = \"127.0.0.1:7003\"\n");
    let sources = Sources {
        file: Some(f.path().to_path_buf()),
        env: env(&[
            ("VOXBIN_HEALTH_LISTEN", "127.0.0.1:7102"),
            ("VOXBIN_METRICS_LISTEN", "127.0.0.1:7103"),
        ]),
        flags: vec![("metrics.listen".into(), "127.0.0.1:7203".into())],
    };
    let c = load(&sources).unwrap();
    assert_eq!(c.api.listen, "127.0.0.1:7001");
    assert_eq!(c.health.listen, "127.0.0.1:7102");
    assert_eq!(c.metrics.listen, "127.0.0.1:7203");
}

#[test]
fn seed_environment_names_are_accepted() {
    let c = load(&Sources {
        env: env(&[
            ("DSN", "bin:pw@tcp(127.0.0.1:3306)/voipbin?parseTime=true"),
            ("RABBIT_ADDR", "amqp://guest:guest@127.0.0.1:5672"),
            ("REDIS_ADDRESS", "127.0.0.1:6379"),
        ]),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(c.database.dsn, "mysql://bin:pw@127.0.0.1:3306/voipbin");
    assert_eq!(c.bus.address, "amqp://guest:guest@127.0.0.1:5672");
    assert_eq!(c.cache.address, "redis://127.0.0.1:6379");
    let m = c.masked();
    assert_eq!(m.database.dsn, "mysql://bin:***@127.0.0.1:3306/voipbin");
    assert_eq!(m.bus.address, "amqp://guest:***@127.0.0.1:5672");
}

#[test]
fn voxbin_names_beat_seed_aliases() {
    let c = load(&Sources {
        env: env(&[
            ("DATABASE_DSN", "mysql://a@h/x"),
            ("VOXBIN_DATABASE_DSN", "sqlite:///tmp/v.db"),
        ]),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(c.database.dsn, "sqlite:///tmp/v.db");
}

#[test]
fn unknown_key_in_file_names_file_line_and_key() {
    let f = file("data_dir = \"./x\"\n\n[api]\nlisten = \"127.0.0.1:1\"\nlissten = \"oops\"\n");
    let e = load(&Sources {
        file: Some(f.path().to_path_buf()),
        ..Default::default()
    })
    .unwrap_err();
    let text = e.to_string();
    assert!(text.contains(&f.path().display().to_string()), "{text}");
    assert!(text.contains("line 5"), "{text}");
    assert_eq!(e.key.as_deref(), Some("api.lissten"), "{text}");
    assert!(text.contains("unknown key"), "{text}");
}

#[test]
fn malformed_file_names_line() {
    let f = file("[api\nlisten = 1\n");
    let e = load(&Sources {
        file: Some(f.path().to_path_buf()),
        ..Default::default()
    })
    .unwrap_err();
    assert!(e.origin.contains("line 1"), "{e}");
}

#[test]
fn wrong_type_in_file_names_key() {
    let f = file("[rtp]\nport_min = \"ten\"\n");
    let e = load(&Sources {
        file: Some(f.path().to_path_buf()),
        ..Default::default()
    })
    .unwrap_err();
    assert_eq!(e.key.as_deref(), Some("rtp.port_min"), "{e}");
    assert!(e.origin.contains("line 2"), "{e}");
}

#[test]
fn bad_values_name_the_key() {
    let cases = [
        ("VOXBIN_API_LISTEN", "nonsense", "api.listen"),
        ("VOXBIN_RTP_PORT_MIN", "x", "rtp.port_min"),
        ("VOXBIN_DATABASE_DSN", "postgres://x", "database.dsn"),
        ("VOXBIN_BUS_ADDRESS", "kafka://x", "bus.address"),
        ("VOXBIN_LOG_FORMAT", "xml", "log.format"),
        ("VOXBIN_PROFILE", "cloud", "profile"),
        (
            "VOXBIN_CALL_RING_TIMEOUT_SECS",
            "0",
            "call.ring_timeout_secs",
        ),
        (
            "VOXBIN_CALL_RING_TIMEOUT_SECS",
            "7200",
            "call.ring_timeout_secs",
        ),
    ];
    for (var, value, key) in cases {
        let e = load(&Sources {
            env: env(&[(var, value)]),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(e.key.as_deref(), Some(key), "{var}: {e}");
    }
}

#[test]
fn unknown_voxbin_variable_is_refused() {
    let e = load(&Sources {
        env: env(&[("VOXBIN_API_LISTN", "x")]),
        ..Default::default()
    })
    .unwrap_err();
    assert!(e.to_string().contains("VOXBIN_API_LISTN"), "{e}");
    assert!(load(&Sources {
        env: env(&[("VOXBIN_TEST_MYSQL_DSN", "x")]),
        ..Default::default()
    })
    .is_ok());
}

#[test]
fn every_key_has_an_env_name() {
    let keys = leaf_keys(&Value::try_from(Config::default()).unwrap());
    for k in [
        "data_dir",
        "api.listen",
        "health.listen",
        "metrics.listen",
        "sip.listen",
        "sip.domain",
    ] {
        assert!(keys.iter().any(|x| x == k), "{k}");
    }
    assert_eq!(env_name("data_dir"), "VOXBIN_DATA_DIR");
    assert_eq!(env_name("sip.domain"), "VOXBIN_SIP_DOMAIN");
    let c = load(&Sources {
        env: env(&[("VOXBIN_ROLES", "api, call")]),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(c.roles, vec!["api", "call"]);
}
