//! Downloads prompt files over HTTP/1.1 (plain or TLS with the webpki roots) into the media
//! cache, once per URL: the file is named by the URL's SHA-256 and written through a temporary
//! name, so concurrent plays of a new URL never read half a file. Bodies are `Content-Length`
//! or read to close, capped at `max_download`; redirects are not followed (a 3xx is an error).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::error::EngineError;

/// Longest a download may take (connect to last byte).
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest response head accepted.
const MAX_HEAD: usize = 16 * 1024;

/// A parsed `http(s)://host[:port]/path` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Url {
    pub tls: bool,
    pub host: String,
    pub port: u16,
    pub path: String,
}

/// Parses the URL forms the fetcher supports.
pub(crate) fn parse_url(url: &str) -> Result<Url, EngineError> {
    let bad = |why: &str| EngineError::BadRequest(format!("url {url:?}: {why}"));
    let (tls, rest) = if let Some(r) = url.strip_prefix("https://") {
        (true, r)
    } else if let Some(r) = url.strip_prefix("http://") {
        (false, r)
    } else {
        return Err(bad("only http:// and https:// are supported"));
    };
    if url.chars().any(|c| c.is_ascii_control() || c == ' ') {
        return Err(bad("contains spaces or control characters"));
    }
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let path = path.split('#').next().unwrap_or("/");
    if authority.contains('@') {
        return Err(bad("credentials in URLs are not supported"));
    }
    let (host, port) = if let Some(h) = authority.strip_prefix('[') {
        let (h, after) = h
            .split_once(']')
            .ok_or_else(|| bad("unclosed IPv6 bracket"))?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return Err(bad("junk after the IPv6 address")),
        };
        (h.to_string(), port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (authority.to_string(), None),
        }
    };
    if host.is_empty() {
        return Err(bad("no host"));
    }
    let port = match port {
        Some(p) => p.parse::<u16>().map_err(|_| bad("bad port"))?,
        None if tls => 443,
        None => 80,
    };
    Ok(Url {
        tls,
        host,
        port,
        path: path.to_string(),
    })
}

/// Downloads URLs into the cache directory.
pub(crate) struct Fetcher {
    dir: PathBuf,
    max: usize,
    tls: Option<tokio_rustls::TlsConnector>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Fetcher {
    /// A fetcher caching into `dir`, refusing bodies over `max` bytes.
    pub fn new(dir: PathBuf, max: usize) -> Result<Self, EngineError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        // without TLS support https URLs are refused with a reason, http still works
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .ok()
            .map(|b| {
                let config = b.with_root_certificates(roots).with_no_client_auth();
                tokio_rustls::TlsConnector::from(Arc::new(config))
            });
        Ok(Fetcher { dir, max, tls })
    }

    /// Where a URL is cached.
    pub fn path_for(&self, url: &str) -> PathBuf {
        self.dir
            .join(format!("url-{}.wav", hex(&Sha256::digest(url.as_bytes()))))
    }

    /// The cached file of `url`, downloading it first if needed.
    pub async fn fetch(&self, url: &str) -> Result<PathBuf, EngineError> {
        let path = self.path_for(url);
        if tokio::fs::metadata(&path).await.is_ok() {
            return Ok(path);
        }
        let parsed = parse_url(url)?;
        let body = tokio::time::timeout(DOWNLOAD_TIMEOUT, self.download(&parsed))
            .await
            .map_err(|_| EngineError::Media(format!("{url}: download timed out")))?
            .map_err(|e| EngineError::Media(format!("{url}: {e}")))?;
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        tokio::fs::write(&tmp, &body)
            .await
            .map_err(|e| EngineError::Media(format!("{}: {e}", tmp.display())))?;
        tokio::fs::rename(&tmp, &path)
            .await
            .map_err(|e| EngineError::Media(format!("{}: {e}", path.display())))?;
        Ok(path)
    }

    async fn download(&self, url: &Url) -> Result<Vec<u8>, String> {
        let tcp = TcpStream::connect((url.host.as_str(), url.port))
            .await
            .map_err(|e| format!("connect {}:{}: {e}", url.host, url.port))?;
        if url.tls {
            let tls = self.tls.as_ref().ok_or("TLS is unavailable")?;
            let name = rustls::pki_types::ServerName::try_from(url.host.clone())
                .map_err(|e| format!("server name {}: {e}", url.host))?;
            let stream = tls
                .connect(name, tcp)
                .await
                .map_err(|e| format!("TLS: {e}"))?;
            self.exchange(stream, url).await
        } else {
            self.exchange(tcp, url).await
        }
    }

    async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        mut stream: S,
        url: &Url,
    ) -> Result<Vec<u8>, String> {
        let host = if url.host.contains(':') {
            format!("[{}]", url.host)
        } else {
            url.host.clone()
        };
        let request = format!(
            "GET {} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: voxbin-media\r\nAccept: audio/wav, */*\r\nConnection: close\r\n\r\n",
            url.path
        );
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut buf = Vec::with_capacity(64 * 1024);
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            if buf.len() > MAX_HEAD {
                return Err("response head too long".into());
            }
            let mut chunk = [0u8; 8192];
            let n = stream.read(&mut chunk).await.map_err(|e| e.to_string())?;
            if n == 0 {
                return Err("connection closed before the response head".into());
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let head =
            std::str::from_utf8(&buf[..head_end]).map_err(|_| "response head is not UTF-8")?;
        let mut lines = head.split("\r\n");
        let status: u16 = lines
            .next()
            .and_then(|l| l.split_ascii_whitespace().nth(1))
            .and_then(|s| s.parse().ok())
            .ok_or("bad status line")?;
        if status != 200 {
            return Err(format!("HTTP status {status}"));
        }
        let mut length = None;
        for line in lines {
            if let Some((k, v)) = line.split_once(':') {
                let (k, v) = (k.trim(), v.trim());
                if k.eq_ignore_ascii_case("content-length") {
                    length = Some(v.parse::<usize>().map_err(|_| "bad Content-Length")?);
                } else if k.eq_ignore_ascii_case("transfer-encoding")
                    && !v.eq_ignore_ascii_case("identity")
                {
                    return Err(format!("transfer-encoding {v} is not supported"));
                }
            }
        }
        if length.is_some_and(|l| l > self.max) {
            return Err(format!("body larger than {} bytes", self.max));
        }
        let mut body = buf.split_off(head_end);
        let mut chunk = [0u8; 16384];
        loop {
            if length.is_some_and(|l| body.len() >= l) {
                break;
            }
            let n = stream.read(&mut chunk).await.map_err(|e| e.to_string())?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
            if body.len() > self.max {
                return Err(format!("body larger than {} bytes", self.max));
            }
        }
        if let Some(l) = length {
            if body.len() < l {
                return Err(format!("body cut short at {} of {l} bytes", body.len()));
            }
            body.truncate(l);
        }
        Ok(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = parse_url("https://example.com/a/b.wav?x=1#frag").unwrap();
        assert_eq!(
            (u.tls, u.host.as_str(), u.port, u.path.as_str()),
            (true, "example.com", 443, "/a/b.wav?x=1")
        );
        let u = parse_url("http://[::1]:8080").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("::1", 8080, "/")
        );
        for bad in [
            "ftp://x/y",
            "http://",
            "http://u:p@h/",
            "http://h:99999/",
            "http://h/a b",
        ] {
            assert!(
                matches!(parse_url(bad), Err(EngineError::BadRequest(_))),
                "{bad}"
            );
        }
    }
}
