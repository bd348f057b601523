//! Network faults for tests: a TCP relay in front of a real server (MariaDB, Redis, RabbitMQ)
//! that a test can cut, so the dependency really goes away for the code under test, and
//! restore. Plain threads and std sockets, so it works from sync and async tests alike.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// A relay on a loopback port to a target address.
pub struct Relay {
    /// The loopback port to connect to instead of the target.
    pub port: u16,
    up: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<TcpStream>>>,
}

impl Relay {
    /// Starts relaying to `target` (`host:port`); `up` false starts it cut.
    pub fn start(target: impl Into<String>, up: bool) -> Relay {
        let target = target.into();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let port = listener.local_addr().expect("local address").port();
        let up = Arc::new(AtomicBool::new(up));
        let conns = Arc::new(Mutex::new(Vec::new()));
        let (up2, conns2) = (up.clone(), conns.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if !up2.load(Ordering::SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(&target) else {
                    continue;
                };
                let (Ok(c2), Ok(s2)) = (client.try_clone(), server.try_clone()) else {
                    continue;
                };
                if let Ok(mut list) = conns2.lock() {
                    list.extend([c2, s2]);
                }
                if let (Ok(c3), Ok(s3)) = (client.try_clone(), server.try_clone()) {
                    pipe(c3, s3);
                    pipe(server, client);
                }
            }
        });
        Relay { port, up, conns }
    }

    /// Drops every open connection and refuses new ones.
    pub fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        if let Ok(mut list) = self.conns.lock() {
            for c in list.drain(..) {
                let _ = c.shutdown(Shutdown::Both);
            }
        }
    }

    /// Accepts and relays connections again.
    pub fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 16384];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 || to.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Both);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relays_then_cuts_then_restores() {
        let echo = TcpListener::bind("127.0.0.1:0").unwrap();
        let target = echo.local_addr().unwrap().to_string();
        std::thread::spawn(move || {
            for mut s in echo.incoming().flatten() {
                std::thread::spawn(move || {
                    let mut buf = [0u8; 64];
                    while let Ok(n) = s.read(&mut buf) {
                        if n == 0 || s.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                });
            }
        });
        let relay = Relay::start(target, true);
        let round_trip = || -> std::io::Result<Vec<u8>> {
            let mut c = TcpStream::connect(("127.0.0.1", relay.port))?;
            c.set_read_timeout(Some(std::time::Duration::from_secs(2)))?;
            c.write_all(b"ping")?;
            let mut buf = [0u8; 4];
            c.read_exact(&mut buf)?;
            Ok(buf.to_vec())
        };
        assert_eq!(round_trip().unwrap(), b"ping");
        relay.cut();
        assert!(round_trip().is_err());
        relay.restore();
        assert_eq!(round_trip().unwrap(), b"ping");
    }
}
