//! [`Http11Client`]: HTTP/1.1 over TCP or TLS (webpki roots), one connection per request, with
//! a connect timeout, a total timeout, a bounded answer, and the SSRF guard applied to the
//! address actually connected to (the name is resolved once and every address is checked).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{forbidden_target, HttpRequest, HttpResponse};

/// Largest answer read, headers included.
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// How a client behaves; each caller maps its own configuration keys onto it.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Longest wait for the TCP connection.
    pub connect_timeout: Duration,
    /// Longest wait for the whole exchange (resolve, connect, send, answer).
    pub timeout: Duration,
    /// Whether private, loopback and link-local targets may be reached.
    pub allow_private: bool,
    /// The configuration key that allows them, named in refusals.
    pub allow_private_key: &'static str,
    /// The configuration key of the total timeout, named in timeouts.
    pub timeout_key: &'static str,
    /// The `User-Agent` header.
    pub user_agent: &'static str,
}

/// An HTTP/1.1 client with the SSRF guard.
pub struct Http11Client {
    settings: HttpSettings,
    tls: Result<tokio_rustls::TlsConnector, String>,
}

impl Http11Client {
    /// A client that behaves as `settings` say.
    pub fn new(settings: HttpSettings) -> Http11Client {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        // The ring provider supports the default protocol versions, so this cannot fail; if
        // it ever did, https requests would be refused with the reason instead of crashing.
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map(|b| {
                let config = b.with_root_certificates(roots).with_no_client_auth();
                tokio_rustls::TlsConnector::from(Arc::new(config))
            })
            .map_err(|e| e.to_string());
        Http11Client { settings, tls }
    }

    /// Sends `request` and reads the whole answer; errors are one-line reasons (refused
    /// target, timeout, ...).
    pub async fn send(&self, request: &HttpRequest) -> Result<HttpResponse, String> {
        match tokio::time::timeout(self.settings.timeout, self.exchange(request)).await {
            Ok(answer) => answer,
            Err(_) => Err(format!(
                "no answer within {} ms ({})",
                self.settings.timeout.as_millis(),
                self.settings.timeout_key
            )),
        }
    }

    /// The address to connect to for `host:port`: every resolved address must pass the
    /// guard (unless private targets are allowed), and the first one is used.
    pub async fn resolve(&self, host: &str, port: u16) -> Result<SocketAddr, String> {
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| format!("cannot resolve {host}: {e}"))?
            .collect();
        let addr = *addrs
            .first()
            .ok_or_else(|| format!("{host} resolves to no address"))?;
        if !self.settings.allow_private {
            for a in &addrs {
                if let Some(why) = forbidden_target(a.ip()) {
                    return Err(format!(
                        "refused: {host} resolves to {}, {why} (set {} to allow it)",
                        a.ip(),
                        self.settings.allow_private_key
                    ));
                }
            }
        }
        Ok(addr)
    }

    async fn exchange(&self, request: &HttpRequest) -> Result<HttpResponse, String> {
        let url = Url::parse(&request.url)?;
        let addr = self.resolve(&url.host, url.port).await?;
        let tcp = tokio::time::timeout(self.settings.connect_timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| {
                format!(
                    "cannot connect to {addr} within {} ms",
                    self.settings.connect_timeout.as_millis()
                )
            })?
            .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
        let head = head(request, &url, self.settings.user_agent);
        if url.tls {
            let name = rustls::pki_types::ServerName::try_from(url.host.clone())
                .map_err(|e| format!("bad TLS name {}: {e}", url.host))?;
            let connector = self
                .tls
                .as_ref()
                .map_err(|e| format!("TLS is unavailable: {e}"))?;
            let tls = connector
                .connect(name, tcp)
                .await
                .map_err(|e| format!("TLS with {} failed: {e}", url.host))?;
            round_trip(tls, &head, request.body.as_deref()).await
        } else {
            round_trip(tcp, &head, request.body.as_deref()).await
        }
    }
}

/// The parts of an `http(s)://host[:port]/path?query` URL the client needs.
#[derive(Debug, PartialEq, Eq)]
struct Url {
    tls: bool,
    host: String,
    port: u16,
    /// Path and query, starting with `/`.
    target: String,
}

impl Url {
    fn parse(text: &str) -> Result<Url, String> {
        let bad = |why: &str| format!("bad URL {text:?}: {why}");
        let (tls, rest) = if let Some(r) = text.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = text.strip_prefix("http://") {
            (false, r)
        } else {
            return Err(bad("only http:// and https:// are allowed"));
        };
        let (authority, target) = match rest.find(['/', '?']) {
            Some(i) if rest.as_bytes()[i] == b'/' => (&rest[..i], rest[i..].to_owned()),
            Some(i) => (&rest[..i], format!("/{}", &rest[i..])),
            None => (rest, "/".to_owned()),
        };
        if authority.contains('@') {
            return Err(bad("credentials in the URL are not allowed"));
        }
        let default_port = if tls { 443 } else { 80 };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (h, after) = v6.split_once(']').ok_or_else(|| bad("unclosed ["))?;
            let port = match after.strip_prefix(':') {
                Some(p) => p.parse().map_err(|_| bad("bad port"))?,
                None if after.is_empty() => default_port,
                None => return Err(bad("junk after the address")),
            };
            (h.to_owned(), port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_owned(), p.parse().map_err(|_| bad("bad port"))?),
                None => (authority.to_owned(), default_port),
            }
        };
        if host.is_empty() || target.contains(char::is_whitespace) {
            return Err(bad("no host, or spaces in the path"));
        }
        Ok(Url {
            tls,
            host,
            port,
            target,
        })
    }
}

/// The request line and headers.
fn head(request: &HttpRequest, url: &Url, user_agent: &str) -> String {
    let host = if url.host.contains(':') {
        format!("[{}]", url.host)
    } else {
        url.host.clone()
    };
    let mut head = format!(
        "{} {} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {user_agent}\r\nAccept: application/json\r\nConnection: close\r\n",
        request.method.replace(['\r', '\n', ' '], ""),
        url.target
    );
    for (name, value) in &request.headers {
        let clean = |s: &str| s.replace(['\r', '\n'], "");
        head.push_str(&format!("{}: {}\r\n", clean(name), clean(value)));
    }
    if let Some(body) = &request.body {
        let content_type = request
            .content_type
            .as_deref()
            .unwrap_or("application/json")
            .replace(['\r', '\n'], "");
        head.push_str(&format!(
            "Content-Type: {content_type}\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    head.push_str("\r\n");
    head
}

async fn round_trip<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    head: &str,
    body: Option<&str>,
) -> Result<HttpResponse, String> {
    let write = |e: std::io::Error| format!("sending failed: {e}");
    stream.write_all(head.as_bytes()).await.map_err(write)?;
    if let Some(body) = body {
        stream.write_all(body.as_bytes()).await.map_err(write)?;
    }
    stream.flush().await.map_err(write)?;
    let mut raw = Vec::new();
    let mut limited = (&mut stream).take(MAX_RESPONSE_BYTES as u64 + 1);
    // A TLS peer that closes without close_notify still gave us its whole answer.
    if let Err(e) = limited.read_to_end(&mut raw).await {
        if raw.is_empty() {
            return Err(format!("reading the answer failed: {e}"));
        }
    }
    if raw.len() > MAX_RESPONSE_BYTES {
        return Err(format!("the answer is over {MAX_RESPONSE_BYTES} bytes"));
    }
    parse_response(&raw)
}

/// Parses a whole HTTP/1.1 answer (Content-Length, chunked, or read to the end).
fn parse_response(raw: &[u8]) -> Result<HttpResponse, String> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("the answer has no header end")?;
    let head = String::from_utf8_lossy(&raw[..split]);
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let mut chunked = false;
    let mut length = None;
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            let value = value.trim();
            if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value.to_ascii_lowercase().contains("chunked");
            } else if name.eq_ignore_ascii_case("content-length") {
                length = value.parse::<usize>().ok();
            }
        }
    }
    let rest = &raw[split + 4..];
    let body = if chunked {
        dechunk(rest)?
    } else {
        match length {
            Some(n) => rest
                .get(..n)
                .ok_or("the answer is shorter than its Content-Length")?
                .to_vec(),
            None => rest.to_vec(),
        }
    };
    Ok(HttpResponse {
        status,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn dechunk(mut rest: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("a chunk size line has no end")?;
        let size_text = String::from_utf8_lossy(&rest[..end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| format!("bad chunk size {size_text:?}"))?;
        rest = &rest[end + 2..];
        if size == 0 {
            return Ok(out);
        }
        let chunk = rest.get(..size).ok_or("a chunk is cut short")?;
        out.extend_from_slice(chunk);
        rest = rest.get(size + 2..).unwrap_or_default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(allow_private: bool) -> HttpSettings {
        HttpSettings {
            connect_timeout: Duration::from_secs(3),
            timeout: Duration::from_secs(5),
            allow_private,
            allow_private_key: "test.allow_private_targets",
            timeout_key: "test.timeout_ms",
            user_agent: "voxbin-test",
        }
    }

    #[test]
    fn urls_parse_and_junk_is_refused() {
        let u = Url::parse("https://api.example.com/flow?x=1").unwrap();
        assert_eq!(
            u,
            Url {
                tls: true,
                host: "api.example.com".into(),
                port: 443,
                target: "/flow?x=1".into()
            }
        );
        let u = Url::parse("http://[::1]:8080?a=b").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.target.as_str()),
            ("::1", 8080, "/?a=b")
        );
        for bad in [
            "ftp://x/",
            "http://user:pw@x/",
            "http://:80/",
            "http://x:y/",
            "x",
        ] {
            assert!(Url::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn answers_parse_with_length_chunks_or_eof() {
        let r = parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n[]junk").unwrap();
        assert_eq!((r.status, r.body.as_str()), (200, "[]"));
        let r = parse_response(
            b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n[1,\r\n2\r\n2]\r\n0\r\n\r\n",
        )
        .unwrap();
        assert_eq!((r.status, r.body.as_str()), (201, "[1,2]"));
        let r = parse_response(b"HTTP/1.0 500 Oops\r\n\r\nboom").unwrap();
        assert_eq!((r.status, r.body.as_str()), (500, "boom"));
        assert!(parse_response(b"garbage").is_err());
        assert!(parse_response(b"HTTP/1.1 xx\r\n\r\n").is_err());
    }

    #[tokio::test]
    async fn loopback_is_refused_unless_allowed_and_served_when_allowed() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            let n = sock.read(&mut buf).await.unwrap();
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            sock.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n[ ]\n")
                .await
                .unwrap();
            text
        });
        let request = HttpRequest {
            method: "POST".into(),
            url: format!("http://127.0.0.1:{port}/actions"),
            headers: vec![("X-Test".into(), "a\r\nb".into())],
            content_type: Some("application/json".into()),
            body: Some("{}".into()),
        };
        let strict = Http11Client::new(settings(false));
        let e = strict.send(&request).await.unwrap_err();
        assert!(
            e.contains("loopback") && e.contains("test.allow_private_targets"),
            "{e}"
        );
        // A name that resolves to a loopback address is refused the same way.
        let named = HttpRequest {
            url: format!("http://localhost:{port}/actions"),
            ..request.clone()
        };
        let e = strict.send(&named).await.unwrap_err();
        assert!(
            e.contains("localhost resolves to") && e.contains("loopback"),
            "{e}"
        );
        let open = Http11Client::new(settings(true));
        let r = open.send(&request).await.unwrap();
        assert_eq!((r.status, r.body.as_str()), (200, "[ ]\n"));
        let seen = server.await.unwrap();
        assert!(seen.starts_with("POST /actions HTTP/1.1\r\n"), "{seen}");
        assert!(seen.contains("X-Test: ab\r\n"), "{seen}");
        assert!(
            seen.contains("Content-Length: 2\r\n") && seen.ends_with("\r\n\r\n{}"),
            "{seen}"
        );
    }
}
