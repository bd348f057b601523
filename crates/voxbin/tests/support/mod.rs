//! Starting a real `voxbin` process on free ports and talking plain HTTP/1.1 to it.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// A running voxbin process with its addresses; killed on drop.
pub struct Server {
    pub child: Child,
    pub api: String,
    pub health: String,
    pub metrics: String,
    pub https: String,
    pub data_dir: tempfile::TempDir,
    pub stderr_path: PathBuf,
    /// The engine arguments of the distributed shape (empty when embedded).
    pub engines: Vec<String>,
    /// The RabbitMQ vhost made for this server, removed on drop.
    vhost: Option<String>,
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A UDP port with the three above it free a moment ago, below the kernel's ephemeral range
/// (no socket the kernel picks can take it meanwhile) and between Voxbin's RTP ranges in
/// tests (media 10000-20000, relay 30000-39999): for sipp, whose media port (`-mp`) takes
/// the port and the one two above, and for listeners a test names itself.
pub fn free_port_block() -> u16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let start = (std::process::id() % 2000) as u16 * 4;
    for _ in 0..2000 {
        let p = 21000 + start.wrapping_add(NEXT.fetch_add(4, Ordering::SeqCst)) % 8000;
        if (p..p + 4).all(|p| std::net::UdpSocket::bind(("127.0.0.1", p)).is_ok()) {
            return p;
        }
    }
    panic!("no four free ports in a row in 21000-28999");
}

/// A port that was free a moment ago for UDP and for TCP alike (a SIP listener takes both;
/// outgoing TCP connections hold ports that UDP shows free).
pub fn free_udp_port() -> u16 {
    loop {
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = udp.local_addr().unwrap().port();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// The voxbin command with an isolated data dir, free ports and JSON logs to a file.
pub fn command(data_dir: &tempfile::TempDir, api: &str, health: &str, metrics: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_voxbin"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("VOXBIN_DATA_DIR", data_dir.path())
        .env("VOXBIN_API_LISTEN", api)
        .env("VOXBIN_HEALTH_LISTEN", health)
        .env("VOXBIN_METRICS_LISTEN", metrics)
        .env(
            "VOXBIN_API_TLS_LISTEN",
            format!("127.0.0.1:{}", free_port()),
        )
        .env("VOXBIN_SIP_LISTEN", format!("127.0.0.1:{}", free_port()))
        .env(
            "VOXBIN_MEDIA_SIP_LISTEN",
            format!("127.0.0.1:{}", free_port()),
        )
        .env(
            "VOXBIN_RTP_RELAY_NG_LISTEN",
            format!("127.0.0.1:{}", free_port()),
        )
        .env(
            "VOXBIN_API_AUDIOSOCKET_LISTEN",
            format!("127.0.0.1:{}", free_port()),
        )
        .env("VOXBIN_LOG_FORMAT", "json");
    cmd
}

impl Server {
    /// Starts `voxbin serve` with extra arguments and waits until `/ready` is 200. A port
    /// picked as free can be taken by another process before voxbin binds it; then it starts
    /// again on fresh ports.
    pub fn start(args: &[&str]) -> Server {
        // The engines first: making a vhost takes a while, and ports are best picked last.
        let (engines, vhost) = shape::engines(args);
        let mut vhost = vhost;
        for attempt in 1..=5 {
            let mut s = Server::spawn(args, engines.clone(), vhost.take());
            match s.wait_ready_or_exit(Duration::from_secs(60)) {
                Ok(()) => return s,
                Err(logs) if logs.contains("Address already in use") && attempt < 5 => {
                    vhost = s.vhost.take();
                }
                Err(logs) => panic!("voxbin did not become ready; stderr:\n{logs}"),
            }
        }
        unreachable!("the loop returns or panics")
    }

    fn spawn(args: &[&str], engines: Vec<String>, vhost: Option<String>) -> Server {
        let data_dir = tempfile::tempdir().unwrap();
        let api = format!("127.0.0.1:{}", free_port());
        let health = format!("127.0.0.1:{}", free_port());
        let metrics = format!("127.0.0.1:{}", free_port());
        let stderr_path = data_dir.path().join("stderr.log");
        let stderr = std::fs::File::create(&stderr_path).unwrap();
        let https = format!("127.0.0.1:{}", free_port());
        let child = command(&data_dir, &api, &health, &metrics)
            .env("VOXBIN_API_TLS_LISTEN", &https)
            .arg("serve")
            .args(args)
            .args(&engines)
            .stdout(std::fs::File::create(data_dir.path().join("stdout.log")).unwrap())
            .stderr(stderr)
            .spawn()
            .expect("voxbin starts");
        Server {
            child,
            api,
            health,
            metrics,
            https,
            data_dir,
            stderr_path,
            engines,
            vhost,
        }
    }

    /// Polls `/ready` until 200; `Err(stderr)` if the process exits or time runs out first.
    fn wait_ready_or_exit(&mut self, within: Duration) -> Result<(), String> {
        let deadline = Instant::now() + within;
        loop {
            if let Ok((200, _)) = get(&self.health, "/ready") {
                return Ok(());
            }
            if self.child.try_wait().ok().flatten().is_some() || Instant::now() >= deadline {
                return Err(self.stderr());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Polls `/ready` until 200.
    pub fn wait_ready(&self, within: Duration) {
        self.wait_ready_status(200, within);
    }

    /// Polls `/ready` until it answers `status`; its body, or a panic after `within`.
    pub fn wait_ready_status(&self, status: u16, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            if let Ok((code, body)) = get(&self.health, "/ready") {
                if code == status {
                    return body;
                }
            }
            assert!(
                Instant::now() < deadline,
                "/ready never answered {status} within {within:?}; stderr:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends SIGTERM.
    pub fn sigterm(&self) {
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for exit, up to `within`.
    pub fn wait_exit(&mut self, within: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "did not exit in {within:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The first-start credentials printed on stdout: (access key, admin username, password).
    /// The admin is the project super-admin.
    pub fn bootstrap(&self) -> (String, String, String) {
        let out =
            std::fs::read_to_string(self.data_dir.path().join("stdout.log")).unwrap_or_default();
        let key = out
            .lines()
            .find_map(|l| {
                l.trim()
                    .strip_prefix("access key")
                    .map(|k| k.trim().to_string())
            })
            .expect("first-start access key on stdout");
        let login = out
            .lines()
            .find_map(|l| l.trim().strip_prefix("login").map(|k| k.trim().to_string()))
            .expect("first-start login on stdout");
        let mut parts = login.split_whitespace();
        let user = parts.next().unwrap().to_string();
        let _slash = parts.next();
        let password = parts.next().unwrap().to_string();
        (key, user, password)
    }

    /// Everything the process logged so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(vhost) = self.vhost.take() {
            shape::drop_vhost(&vhost);
        }
    }
}

/// One GET with `Connection: close`; returns status and body.
pub fn get(addr: &str, path: &str) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut text = String::new();
    s.read_to_string(&mut text)?;
    parse_response(&text).ok_or_else(|| std::io::Error::other(format!("bad response: {text:?}")))
}

/// Splits a whole HTTP/1.1 response into status and body (no chunked decoding needed for
/// `Connection: close` answers with Content-Length).
pub fn parse_response(text: &str) -> Option<(u16, String)> {
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Some((status, body))
}

/// Reads one response from a keep-alive connection: the status, or `None` when the server
/// closed the connection before sending any byte of a response.
pub fn read_one(reader: &mut BufReader<TcpStream>) -> std::io::Result<Option<u16>> {
    let mut status_line = String::new();
    if reader.read_line(&mut status_line)? == 0 {
        return Ok(None);
    }
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line {status_line:?}")))?;
    let mut len = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Err(std::io::Error::other("truncated headers"));
        }
        if line == "\r\n" {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0; len];
    reader
        .read_exact(&mut body)
        .map_err(|e| std::io::Error::other(format!("truncated body: {e}")))?;
    Ok(Some(status))
}

pub mod api;
pub mod engines;

/// The shape tests run in: embedded by default, distributed with `VOXBIN_TEST_SHAPE=distributed`.
pub mod shape {
    use std::process::Command;
    use std::sync::atomic::{AtomicUsize, Ordering};

    static NEXT: AtomicUsize = AtomicUsize::new(0);

    /// True when the tests run against MariaDB, RabbitMQ and Redis.
    pub fn distributed() -> bool {
        std::env::var("VOXBIN_TEST_SHAPE").as_deref() == Ok("distributed")
    }

    /// Engine flags for one server: its own database and RabbitMQ vhost, the shared Redis.
    /// Flags the test already gives win.
    pub fn engines(given: &[&str]) -> (Vec<String>, Option<String>) {
        if !distributed() {
            return (vec![], None);
        }
        let var = |name: &str| {
            std::env::var(name)
                .unwrap_or_else(|_| panic!("{name} is needed for the distributed shape"))
        };
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let tag = format!("{}_{n}", std::process::id());
        let mut out = Vec::new();
        let mut vhost = None;
        if !given.contains(&"--database") {
            let dsn = var("VOXBIN_TEST_MYSQL_DSN");
            let server = dsn
                .rsplit_once('/')
                .map(|(s, _)| s.to_string())
                .unwrap_or(dsn);
            out.extend([
                "--database".to_string(),
                format!("{server}/voxbin_e2e_{tag}"),
            ]);
        }
        if !given.contains(&"--bus") {
            // A vhost per server keeps parallel tests from consuming each other's requests.
            let name = format!("voxbin-e2e-{tag}");
            rabbitmqctl(&["add_vhost", &name]);
            rabbitmqctl(&["set_permissions", "-p", &name, "guest", ".*", ".*", ".*"]);
            let url = var("VOXBIN_TEST_AMQP_URL");
            let base = url
                .rsplit_once('/')
                .map(|(b, _)| b.to_string())
                .unwrap_or(url);
            out.extend(["--bus".to_string(), format!("{base}/{name}")]);
            vhost = Some(name);
        }
        if !given.contains(&"--cache") {
            // Own key prefix: parallel servers from 127.0.0.1 must not share rate limits.
            out.extend([
                "--cache".to_string(),
                var("VOXBIN_TEST_REDIS_URL"),
                "--set".to_string(),
                format!("cache.prefix=voxbin-e2e-{tag}:"),
            ]);
        }
        (out, vhost)
    }

    /// Removes a vhost made by [`engines`].
    pub fn drop_vhost(name: &str) {
        rabbitmqctl(&["delete_vhost", name]);
    }

    fn rabbitmqctl(args: &[&str]) {
        let out = Command::new("rabbitmqctl")
            .arg("-q")
            .args(args)
            .output()
            .expect("rabbitmqctl runs");
        assert!(
            out.status.success(),
            "rabbitmqctl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
