//! Accepting the address forms operators already use (the Go services' DSNs, bare Redis
//! addresses) and masking secrets inside URLs.

/// Turns a Go MySQL DSN (`user:pass@tcp(host:port)/db?params`) into a `mysql://` URL; other
/// forms are returned unchanged.
pub fn normalize_database_dsn(dsn: &str) -> String {
    let dsn = dsn.trim();
    if dsn.contains("://") || dsn.is_empty() {
        return dsn.to_string();
    }
    let Some((userinfo, rest)) = dsn.rsplit_once("@tcp(") else {
        return dsn.to_string();
    };
    let Some((hostport, path)) = rest.split_once(')') else {
        return dsn.to_string();
    };
    // Go driver parameters such as parseTime mean nothing to sqlx; keep only the database.
    let db = path.trim_start_matches('/').split('?').next().unwrap_or("");
    format!("mysql://{userinfo}@{hostport}/{db}")
}

/// Turns `host:port` into `redis://host:port`; URLs and `memory` are returned unchanged.
pub fn normalize_redis_address(addr: &str) -> String {
    let addr = addr.trim();
    if addr.is_empty() || addr == "memory" || addr.contains("://") {
        addr.to_string()
    } else {
        format!("redis://{addr}")
    }
}

/// Replaces the password of a `scheme://user:password@host` URL with `***`.
pub fn mask_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let Some((userinfo, host)) = rest.rsplit_once('@') else {
        return url.to_string();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_dsn_becomes_url() {
        assert_eq!(
            normalize_database_dsn("bin:secret@tcp(10.0.0.5:3306)/voipbin?parseTime=true"),
            "mysql://bin:secret@10.0.0.5:3306/voipbin"
        );
        assert_eq!(normalize_database_dsn("mysql://a@b/c"), "mysql://a@b/c");
    }

    #[test]
    fn redis_and_masking() {
        assert_eq!(
            normalize_redis_address("127.0.0.1:6379"),
            "redis://127.0.0.1:6379"
        );
        assert_eq!(
            mask_url("amqp://guest:guest@127.0.0.1:5672"),
            "amqp://guest:***@127.0.0.1:5672"
        );
        assert_eq!(
            mask_url("mysql://root@127.0.0.1/x"),
            "mysql://root@127.0.0.1/x"
        );
        assert_eq!(mask_url("inproc"), "inproc");
    }
}
