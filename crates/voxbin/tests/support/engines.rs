//! The real engines of the distributed shape for tests that run their own processes: the
//! machine's MariaDB, RabbitMQ and Redis (from scripts/test's variables), a RabbitMQ vhost per
//! test, and a private RabbitMQ node or Redis server a test may stop and start.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// MariaDB DSN, AMQP URL and Redis URL, when this machine's test setup provides them.
pub fn from_env() -> Option<(String, String, String)> {
    let db = std::env::var("VOXBIN_TEST_MYSQL_DSN").ok()?;
    let bus = std::env::var("VOXBIN_TEST_AMQP_URL").ok()?;
    let cache = std::env::var("VOXBIN_TEST_REDIS_URL").ok()?;
    Some((db, bus, cache))
}

/// The engines, or `None` with a note; in CI their absence is a failure. Tests that pick
/// their own engines run once, in the first (embedded) pass of scripts/test.
pub fn required(test: &str) -> Option<(String, String, String)> {
    if super::shape::distributed() {
        eprintln!("{test} sets up its own engines and ran in the first pass; skipped");
        return None;
    }
    let engines = from_env();
    if engines.is_none() {
        assert!(
            std::env::var("CI").is_err(),
            "CI provides MariaDB, RabbitMQ and Redis (scripts/test)"
        );
        eprintln!("MariaDB/RabbitMQ/Redis test variables not set; {test} skipped");
    }
    engines
}

/// `dsn` pointed at database `name` on the same server.
pub fn database(dsn: &str, name: &str) -> String {
    match dsn.rsplit_once('/') {
        Some((server, _)) => format!("{server}/{name}"),
        None => panic!("bad VOXBIN_TEST_MYSQL_DSN {dsn}"),
    }
}

/// `mariadb` client arguments (`-h -P -u -p`) for a `mysql://user:pass@host:port/db` DSN.
fn mariadb_args(dsn: &str) -> Vec<String> {
    let rest = dsn.strip_prefix("mysql://").expect("mysql:// DSN");
    let (userinfo, hostpath) = rest.split_once('@').expect("user@host");
    let hostport = hostpath.split('/').next().unwrap();
    let (host, port) = hostport.split_once(':').unwrap_or((hostport, "3306"));
    let (user, pass) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    let mut args = vec![
        format!("-h{host}"),
        format!("-P{port}"),
        format!("-u{user}"),
    ];
    if !pass.is_empty() {
        args.push(format!("-p{pass}"));
    }
    args
}

/// Creates database `name` on the writer of `dsn` and waits until the replica at `replica`
/// (a DSN) has it too.
pub fn create_database_and_wait_for_replica(dsn: &str, replica: &str, name: &str) {
    let out = Command::new("mariadb")
        .args(mariadb_args(dsn))
        .arg("-e")
        .arg(format!("CREATE DATABASE IF NOT EXISTS `{name}`"))
        .output()
        .expect("the mariadb client runs");
    assert!(
        out.status.success(),
        "CREATE DATABASE {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let there = Command::new("mariadb")
            .args(mariadb_args(replica))
            .arg("-e")
            .arg(format!("USE `{name}`"))
            .output()
            .is_ok_and(|o| o.status.success());
        if there {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{name} never reached the replica"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A RabbitMQ vhost of this test on the machine's broker, deleted on drop.
pub struct Vhost(pub String);

impl Vhost {
    /// Makes vhost `name` with full rights for guest.
    pub fn create(name: &str) -> Vhost {
        rabbitmqctl(&["add_vhost", name]);
        let vhost = Vhost(name.to_string());
        rabbitmqctl(&["set_permissions", "-p", name, "guest", ".*", ".*", ".*"]);
        vhost
    }

    /// `url` (the machine's AMQP URL) pointed at this vhost.
    pub fn url(&self, url: &str) -> String {
        match url.rsplit_once('/') {
            Some((base, _)) => format!("{base}/{}", self.0),
            None => panic!("bad VOXBIN_TEST_AMQP_URL {url}"),
        }
    }
}

impl Drop for Vhost {
    fn drop(&mut self) {
        // No assertion here: a panic while unwinding would abort the test binary.
        let _ = Command::new("rabbitmqctl")
            .args(["-q", "delete_vhost", &self.0])
            .output();
    }
}

/// Runs `rabbitmqctl -q args` and asserts it succeeded.
pub fn rabbitmqctl(args: &[&str]) {
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

/// A RabbitMQ node of this test alone (own name, ports and data directory), so the test can
/// stop and restart a real broker without disturbing anyone else. Stopped and removed on drop.
pub struct PrivateBroker {
    /// Erlang node name, e.g. `voxbin-test-123@localhost`.
    pub node: String,
    /// AMQP port on 127.0.0.1.
    pub port: u16,
    dist_port: u16,
    dir: PathBuf,
}

impl PrivateBroker {
    /// Starts a node and waits until it accepts connections.
    pub fn start(tag: &str) -> PrivateBroker {
        let dir = std::env::temp_dir().join(format!("voxbin-rabbit-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let port = super::free_port();
        let dist_port = super::free_port();
        std::fs::write(
            dir.join("rabbitmq.conf"),
            format!("listeners.tcp.local = 127.0.0.1:{port}\nloopback_users = none\n"),
        )
        .unwrap();
        std::fs::write(dir.join("enabled_plugins"), "[].\n").unwrap();
        // The server script runs the node as the rabbitmq user when started by root.
        let _ = Command::new("chown")
            .args(["-R", "rabbitmq:rabbitmq"])
            .arg(&dir)
            .status();
        let broker = PrivateBroker {
            node: format!("voxbin-test-{tag}-{}@localhost", std::process::id()),
            port,
            dist_port,
            dir,
        };
        broker.boot();
        broker
    }

    /// The AMQP URL of the default vhost.
    pub fn url(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:{}/%2f", self.port)
    }

    /// Starts the node (again) and waits until it has started.
    pub fn boot(&self) {
        let d = |name: &str| self.dir.join(name);
        let status = Command::new("rabbitmq-server")
            .arg("-detached")
            .env("RABBITMQ_NODENAME", &self.node)
            .env("RABBITMQ_NODE_PORT", self.port.to_string())
            .env("RABBITMQ_DIST_PORT", self.dist_port.to_string())
            .env("RABBITMQ_CONFIG_FILE", d("rabbitmq.conf"))
            .env("RABBITMQ_ENABLED_PLUGINS_FILE", d("enabled_plugins"))
            .env("RABBITMQ_MNESIA_BASE", d("mnesia"))
            .env("RABBITMQ_LOG_BASE", d("log"))
            .env("RABBITMQ_PID_FILE", d("pid"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("rabbitmq-server runs");
        assert!(status.success(), "rabbitmq-server -detached: {status}");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let up = Command::new("rabbitmqctl")
                .args(["-q", "-n", &self.node, "await_startup", "--timeout", "5"])
                .output()
                .is_ok_and(|o| o.status.success());
            if up && std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "private RabbitMQ {} did not start",
                self.node
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Stops the node (the whole Erlang VM) and waits until it is gone.
    pub fn stop(&self) {
        let out = Command::new("rabbitmqctl")
            .args(["-q", "-n", &self.node, "stop"])
            .output()
            .expect("rabbitmqctl runs");
        assert!(
            out.status.success(),
            "stopping {}: {}",
            self.node,
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for PrivateBroker {
    fn drop(&mut self) {
        let _ = Command::new("rabbitmqctl")
            .args(["-q", "-n", &self.node, "stop"])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A Redis server of this test alone on a free port, without persistence; killed on drop.
pub struct PrivateRedis {
    /// Port on 127.0.0.1.
    pub port: u16,
    child: Option<Child>,
}

impl PrivateRedis {
    /// Starts a server and waits until it answers.
    pub fn start() -> PrivateRedis {
        let mut redis = PrivateRedis {
            port: super::free_port(),
            child: None,
        };
        redis.boot();
        redis
    }

    /// The URL of database 0.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Starts the server (again) on the same port.
    pub fn boot(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server runs");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "private Redis did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL: the server vanishes with everything it held.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.kill();
    }
}
