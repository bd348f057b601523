//! A small HTTP/1.1 JSON client for end-to-end API tests, and a server with a customer ready.

#![allow(dead_code)]

use super::Server;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

/// A response: status, headers (lower-case names) and the JSON body (`Null` when empty).
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Value,
    pub raw: String,
}

impl Reply {
    /// A header value by lower-case name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Asserts the status and the error envelope of the contract; returns the `reason`.
    pub fn expect_error(&self, status: u16) -> String {
        assert_eq!(self.status, status, "{}", self.raw);
        let e = &self.body["error"];
        for field in ["status", "reason", "message", "request_id"] {
            assert!(e[field].is_string(), "error.{field} missing: {}", self.raw);
        }
        e["reason"].as_str().unwrap_or_default().to_string()
    }
}

/// Sends one request with `Connection: close`; `body` is sent as given (may be invalid JSON).
pub fn send(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Reply {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(b) = body {
        req.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            b.len()
        ));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    if let Some(b) = body {
        // The server may answer (413) and close before reading a large body.
        let _ = s.write_all(b);
    }
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let raw = String::from_utf8_lossy(&raw).to_string();
    let (head, body_text) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect::<Vec<_>>();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    let text = if chunked {
        dechunk(body_text)
    } else {
        body_text.to_string()
    };
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        body,
        raw,
    }
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// A client authenticated one way or another.
#[derive(Clone)]
pub struct Client {
    pub addr: String,
    /// `?accesskey=` value, when using a key.
    pub accesskey: Option<String>,
    /// Bearer token, when using a login.
    pub bearer: Option<String>,
}

impl Client {
    /// A client using an access key in the query string.
    pub fn with_key(addr: &str, key: &str) -> Client {
        Client {
            addr: addr.to_string(),
            accesskey: Some(key.to_string()),
            bearer: None,
        }
    }

    /// A client using a Bearer token.
    pub fn with_token(addr: &str, token: &str) -> Client {
        Client {
            addr: addr.to_string(),
            accesskey: None,
            bearer: Some(token.to_string()),
        }
    }

    /// The path with the access key appended when the client uses one.
    pub fn path(&self, path: &str) -> String {
        match &self.accesskey {
            Some(k) if path.contains('?') => format!("{path}&accesskey={k}"),
            Some(k) => format!("{path}?accesskey={k}"),
            None => path.to_string(),
        }
    }

    /// Sends raw bytes as the body.
    pub fn raw(&self, method: &str, path: &str, body: Option<&[u8]>) -> Reply {
        let auth = self.bearer.as_ref().map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> =
            auth.iter().map(|a| ("Authorization", a.as_str())).collect();
        send(&self.addr, method, &self.path(path), &headers, body)
    }

    /// Sends a JSON body (or none).
    pub fn call(&self, method: &str, path: &str, body: Option<Value>) -> Reply {
        let bytes = body.map(|b| serde_json::to_vec(&b).unwrap());
        self.raw(method, path, bytes.as_deref())
    }

    /// GET.
    pub fn get(&self, path: &str) -> Reply {
        self.call("GET", path, None)
    }

    /// POST with JSON.
    pub fn post(&self, path: &str, body: Value) -> Reply {
        self.call("POST", path, Some(body))
    }

    /// PUT with JSON.
    pub fn put(&self, path: &str, body: Value) -> Reply {
        self.call("PUT", path, Some(body))
    }

    /// DELETE.
    pub fn delete(&self, path: &str) -> Reply {
        self.call("DELETE", path, None)
    }
}

/// A customer made with `voxbin customer create` against a server's data directory.
pub struct Tenant {
    pub customer_id: String,
    pub accesskey: String,
    pub username: String,
    pub password: String,
}

/// Creates a customer with the operator CLI (same database as the running server).
pub fn create_tenant(server: &Server, name: &str) -> Tenant {
    let username = format!("{name}-{}", uuid_like());
    let password = "correct horse battery".to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_voxbin"))
        .env_clear()
        .env("VOXBIN_DATA_DIR", server.data_dir.path())
        .args([
            "customer",
            "create",
            "--name",
            name,
            "--username",
            &username,
            "--password",
            &password,
        ])
        .args(server.engines.iter().take(2))
        .output()
        .expect("voxbin customer create runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON from customer create");
    Tenant {
        customer_id: v["customer"]["id"].as_str().unwrap().to_string(),
        accesskey: v["accesskey"]["token"].as_str().unwrap().to_string(),
        username,
        password,
    }
}

/// Logs in and returns the token.
pub fn login(server: &Server, username: &str, password: &str) -> String {
    let r = send(
        &server.api,
        "POST",
        "/auth/login",
        &[],
        Some(
            json!({ "username": username, "password": password })
                .to_string()
                .as_bytes(),
        ),
    );
    assert_eq!(r.status, 200, "{}", r.raw);
    r.body["token"].as_str().unwrap().to_string()
}

fn uuid_like() -> String {
    format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}
