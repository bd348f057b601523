//! How to reach the database: [`DbOptions`] (from configuration) and the [`Dialect`] it implies.

use std::fmt;
use std::time::Duration;
use voxbin_core::{Error, Result};

/// The SQL engine behind a [`crate::Db`]; queries are shared, DDL and introspection are not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// SQLite file (embedded mode).
    Sqlite,
    /// MySQL 8 or MariaDB (distributed mode).
    MySql,
}

impl Dialect {
    /// The dialect of a DSN, from its scheme (`sqlite:` or `mysql:`).
    pub fn of_dsn(dsn: &str) -> Result<Dialect> {
        if dsn.starts_with("sqlite:") {
            Ok(Dialect::Sqlite)
        } else if dsn.starts_with("mysql:") {
            Ok(Dialect::MySql)
        } else {
            // Never echo the DSN: it may hold a password.
            Err(Error::invalid_argument(
                "INVALID_DSN",
                "The database DSN must start with sqlite:// or mysql://.",
            ))
        }
    }

    /// Lower-case name for logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::Sqlite => "sqlite",
            Dialect::MySql => "mysql",
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Connection settings: the writer DSN, optional read-replica DSNs, pool size and timeout.
#[derive(Clone, PartialEq, Eq)]
pub struct DbOptions {
    /// Writer DSN: `sqlite://<path>` or `mysql://user:pass@host:port/db`.
    pub dsn: String,
    /// Read-replica DSNs; empty means reads use the writer (MySQL) or a reader pool on the same
    /// file (SQLite).
    pub readers: Vec<String>,
    /// Connections per pool (the SQLite writer always has exactly one).
    pub max_connections: u32,
    /// How long to wait for a connection, at start-up and when borrowing one from a pool.
    pub connect_timeout: Duration,
}

impl DbOptions {
    /// Options for a DSN with no replicas, 10 connections per pool and a 5 s timeout.
    pub fn new(dsn: impl Into<String>) -> Self {
        DbOptions {
            dsn: dsn.into(),
            readers: Vec::new(),
            max_connections: 10,
            connect_timeout: Duration::from_secs(5),
        }
    }
}

impl fmt::Debug for DbOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DbOptions")
            .field("dsn", &redact(&self.dsn))
            .field(
                "readers",
                &self.readers.iter().map(|r| redact(r)).collect::<Vec<_>>(),
            )
            .field("max_connections", &self.max_connections)
            .field("connect_timeout", &self.connect_timeout)
            .finish()
    }
}

/// The DSN with any password replaced by `***`, safe for logs and error messages.
pub fn redact(dsn: &str) -> String {
    let Some(scheme_end) = dsn.find("://") else {
        return dsn.to_string();
    };
    let rest_start = scheme_end + 3;
    let authority_end = dsn[rest_start..]
        .find(['/', '?', '#'])
        .map_or(dsn.len(), |i| rest_start + i);
    let authority = &dsn[rest_start..authority_end];
    let Some(at) = authority.rfind('@') else {
        return dsn.to_string();
    };
    let userinfo = &authority[..at];
    match userinfo.find(':') {
        Some(colon) => format!(
            "{}{}:***{}",
            &dsn[..rest_start],
            &userinfo[..colon],
            &dsn[rest_start + at..]
        ),
        None => dsn.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dialect_comes_from_the_scheme() {
        assert_eq!(
            Dialect::of_dsn("sqlite://data/voxbin.db").unwrap(),
            Dialect::Sqlite
        );
        assert_eq!(
            Dialect::of_dsn("mysql://u:p@h:3306/db").unwrap(),
            Dialect::MySql
        );
        let err = Dialect::of_dsn("postgres://u:secret@h/db").unwrap_err();
        assert_eq!(err.reason, "INVALID_DSN");
        assert!(!err.message.contains("secret"));
    }

    #[test]
    fn passwords_never_reach_debug_output() {
        assert_eq!(
            redact("mysql://u:s3cr3t@db:3306/x"),
            "mysql://u:***@db:3306/x"
        );
        assert_eq!(redact("mysql://root@db/x"), "mysql://root@db/x");
        assert_eq!(redact("sqlite:///tmp/a.db"), "sqlite:///tmp/a.db");
        let mut o = DbOptions::new("mysql://u:s3cr3t@db/x");
        o.readers.push("mysql://u:s3cr3t@replica/x".into());
        let shown = format!("{o:?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("replica"), "{shown}");
    }
}
