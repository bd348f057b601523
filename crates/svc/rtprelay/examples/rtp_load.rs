//! Load generator for bench/rtp-relay.sh: sets up N calls on an RTP relay over rtpengine's ng
//! protocol (ours or rtpengine itself), then sends RTP both ways at a fixed rate per stream
//! from two sockets with sendmmsg/recvmmsg, and reports forwarded packets per second, loss and
//! the relay's CPU time per packet (from /proc/<pid>/stat).
//!
//! `rtp_load --ng 127.0.0.1:18510 --pid 1234 --streams 1000 --pps 50 --seconds 10 --label voxbin`

use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};
use voxbin_svc_rtprelay::forward::to_storage;
use voxbin_svc_rtprelay::ng::bencode::{decode, dict, Value};

const PAYLOAD: usize = 160;
const PACKET: usize = 12 + PAYLOAD;
const BATCH: usize = 64;

struct Args {
    ng: SocketAddr,
    pid: u32,
    streams: usize,
    pps: u32,
    warmup: u64,
    seconds: u64,
    label: String,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        ng: "127.0.0.1:18510".parse().map_err(|e| format!("{e}"))?,
        pid: 0,
        streams: 1000,
        pps: 50,
        warmup: 3,
        seconds: 10,
        label: "relay".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let v = it.next().ok_or_else(|| format!("{k} needs a value"))?;
        let num = |v: &str| {
            v.parse::<u64>()
                .map_err(|_| format!("{k}: {v:?} is not a number"))
        };
        match k.as_str() {
            "--ng" => {
                a.ng = v
                    .parse()
                    .map_err(|_| format!("--ng: {v:?} is not host:port"))?
            }
            "--pid" => a.pid = num(&v)? as u32,
            "--streams" => a.streams = num(&v)? as usize,
            "--pps" => a.pps = num(&v)? as u32,
            "--warmup" => a.warmup = num(&v)?,
            "--seconds" => a.seconds = num(&v)?,
            "--label" => a.label = v,
            _ => return Err(format!("unknown option {k}")),
        }
    }
    if a.pid == 0 || a.streams == 0 || a.pps == 0 {
        return Err("--pid, --streams and --pps must be set and positive".into());
    }
    Ok(a)
}

struct Ng {
    socket: UdpSocket,
    n: u64,
}

impl Ng {
    fn call(&mut self, msg: Value) -> Result<Value, String> {
        self.n += 1;
        let cookie = format!("load{}_{}", std::process::id(), self.n);
        let mut out = format!("{cookie} ").into_bytes();
        msg.encode_into(&mut out);
        let mut buf = vec![0u8; 65536];
        for _ in 0..5 {
            self.socket.send(&out).map_err(|e| e.to_string())?;
            match self.socket.recv(&mut buf) {
                Ok(n) if buf[..n].starts_with(cookie.as_bytes()) => {
                    let v = decode(&buf[cookie.len() + 1..n]).map_err(|e| e.to_string())?;
                    if v.get_str("result") == Some("error") {
                        return Err(format!("ng error: {:?}", v.get_str("error-reason")));
                    }
                    return Ok(v);
                }
                _ => continue,
            }
        }
        Err("no ng reply".into())
    }
}

fn sdp(port: u16) -> String {
    format!("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=load\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n")
}

fn media_addr(v: &Value) -> Result<SocketAddr, String> {
    let sdp = v.get_str("sdp").ok_or("reply without sdp")?;
    let ip = sdp
        .lines()
        .find_map(|l| l.strip_prefix("c=IN IP4 "))
        .ok_or("sdp without c=")?
        .trim();
    let port = sdp
        .lines()
        .find_map(|l| l.strip_prefix("m=audio "))
        .and_then(|l| l.split(' ').next())
        .ok_or("sdp without m=audio")?;
    format!("{ip}:{port}")
        .parse()
        .map_err(|_| "bad media address".to_string())
}

fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // fields after the parenthesised command name; utime and stime are fields 14 and 15
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let get = |i: usize| f.get(i).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0);
    get(11) + get(12)
}

fn big_buffers(s: &UdpSocket) {
    let size: libc::c_int = 4 << 20;
    for opt in [
        libc::SO_RCVBUFFORCE,
        libc::SO_SNDBUFFORCE,
        libc::SO_RCVBUF,
        libc::SO_SNDBUF,
    ] {
        // SAFETY: setsockopt with a pointer to a live c_int and its size.
        unsafe {
            libc::setsockopt(
                s.as_raw_fd(),
                libc::SOL_SOCKET,
                opt,
                (&size as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
    }
}

/// One side of every stream: a socket, the relay address per stream, and the packets.
struct Sender {
    socket: UdpSocket,
    dest: Vec<SocketAddr>,
    packets: Vec<[u8; PACKET]>,
}

impl Sender {
    /// Sends one packet on every stream; answers how many the kernel took.
    fn tick(&mut self) -> u64 {
        let n = self.dest.len();
        let mut sent = 0u64;
        let mut start = 0;
        // SAFETY: zeroed C structs are valid; pointers below refer to live locals.
        let mut addrs: [libc::sockaddr_storage; BATCH] = unsafe { std::mem::zeroed() };
        let mut iov: [libc::iovec; BATCH] = unsafe { std::mem::zeroed() };
        let mut msgs: [libc::mmsghdr; BATCH] = unsafe { std::mem::zeroed() };
        while start < n {
            let end = (start + BATCH).min(n);
            for (j, i) in (start..end).enumerate() {
                let p = &mut self.packets[i];
                let seq = u16::from_be_bytes([p[2], p[3]]).wrapping_add(1);
                p[2..4].copy_from_slice(&seq.to_be_bytes());
                let ts = u32::from_be_bytes([p[4], p[5], p[6], p[7]]).wrapping_add(PAYLOAD as u32);
                p[4..8].copy_from_slice(&ts.to_be_bytes());
                iov[j].iov_base = p.as_mut_ptr().cast();
                iov[j].iov_len = PACKET;
                msgs[j].msg_hdr.msg_namelen = to_storage(self.dest[i], &mut addrs[j]);
                msgs[j].msg_hdr.msg_name = (&mut addrs[j] as *mut libc::sockaddr_storage).cast();
                msgs[j].msg_hdr.msg_iov = &mut iov[j];
                msgs[j].msg_hdr.msg_iovlen = 1;
            }
            let mut off = 0;
            let count = end - start;
            while off < count {
                // SAFETY: msgs[off..count] are filled above and point at live buffers.
                let r = unsafe {
                    libc::sendmmsg(
                        self.socket.as_raw_fd(),
                        msgs.as_mut_ptr().add(off),
                        (count - off) as u32,
                        0,
                    )
                };
                if r <= 0 {
                    break;
                }
                off += r as usize;
            }
            sent += off as u64;
            start = end;
        }
        sent
    }
}

/// Receives everything waiting on `s`; answers the datagram count.
fn drain(s: &UdpSocket, bufs: &mut [[u8; 256]; BATCH]) -> u64 {
    let mut total = 0;
    loop {
        // SAFETY: zeroed C structs are valid; pointers refer to live buffers.
        let mut iov: [libc::iovec; BATCH] = unsafe { std::mem::zeroed() };
        let mut msgs: [libc::mmsghdr; BATCH] = unsafe { std::mem::zeroed() };
        for j in 0..BATCH {
            iov[j].iov_base = bufs[j].as_mut_ptr().cast();
            iov[j].iov_len = 256;
            msgs[j].msg_hdr.msg_iov = &mut iov[j];
            msgs[j].msg_hdr.msg_iovlen = 1;
        }
        // SAFETY: as above.
        let r = unsafe {
            libc::recvmmsg(
                s.as_raw_fd(),
                msgs.as_mut_ptr(),
                BATCH as u32,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        if r <= 0 {
            return total;
        }
        total += r as u64;
    }
}

fn run(a: Args) -> Result<(), String> {
    let ng_socket = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    ng_socket
        .set_read_timeout(Some(Duration::from_secs(2)))
        .map_err(|e| e.to_string())?;
    ng_socket.connect(a.ng).map_err(|e| e.to_string())?;
    let mut ng = Ng {
        socket: ng_socket,
        n: 0,
    };
    ng.call(dict([("command", Value::str("ping"))]))?;

    let sa = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let sb = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    for s in [&sa, &sb] {
        big_buffers(s);
        s.set_nonblocking(true).map_err(|e| e.to_string())?;
    }
    let (pa, pb) = (
        sa.local_addr().map_err(|e| e.to_string())?.port(),
        sb.local_addr().map_err(|e| e.to_string())?.port(),
    );
    let tag = format!("{}-{}", a.label, std::process::id());
    let (mut to_a, mut to_b) = (Vec::new(), Vec::new());
    let setup = Instant::now();
    for i in 0..a.streams {
        let call_id = format!("{tag}-{i}");
        let offer = ng.call(dict([
            ("command", Value::str("offer")),
            ("call-id", Value::str(&call_id)),
            ("from-tag", Value::str("a")),
            ("sdp", Value::str(&sdp(pa))),
            ("ICE", Value::str("remove")),
        ]))?;
        to_b.push(media_addr(&offer)?);
        let answer = ng.call(dict([
            ("command", Value::str("answer")),
            ("call-id", Value::str(&call_id)),
            ("from-tag", Value::str("a")),
            ("to-tag", Value::str("b")),
            ("sdp", Value::str(&sdp(pb))),
        ]))?;
        to_a.push(media_addr(&answer)?);
    }
    let setup_ms = setup.elapsed().as_millis();
    let packet = |i: usize, side: u32| {
        let mut p = [0u8; PACKET];
        p[0] = 0x80;
        p[8..12].copy_from_slice(&((i as u32) << 1 | side).to_be_bytes());
        p
    };
    let mut from_a = Sender {
        socket: sa.try_clone().map_err(|e| e.to_string())?,
        dest: to_a,
        packets: (0..a.streams).map(|i| packet(i, 0)).collect(),
    };
    let mut from_b = Sender {
        socket: sb.try_clone().map_err(|e| e.to_string())?,
        dest: to_b,
        packets: (0..a.streams).map(|i| packet(i, 1)).collect(),
    };

    let interval = Duration::from_secs_f64(1.0 / f64::from(a.pps));
    let mut bufs = Box::new([[0u8; 256]; BATCH]);
    let start = Instant::now();
    let measure_at = start + Duration::from_secs(a.warmup);
    let end = measure_at + Duration::from_secs(a.seconds);
    let (mut sent, mut recvd) = (0u64, 0u64);
    let (mut sent0, mut recvd0, mut cpu0, mut t0) = (0u64, 0u64, 0u64, start);
    let mut measuring = false;
    let mut next = start;
    while Instant::now() < end {
        let now = Instant::now();
        if !measuring && now >= measure_at {
            (sent0, recvd0, cpu0, t0) = (sent, recvd, cpu_ticks(a.pid), now);
            measuring = true;
        }
        if now >= next {
            sent += from_a.tick() + from_b.tick();
            next += interval;
            if next < now {
                next = now + interval;
            }
        }
        recvd += drain(&sa, &mut bufs) + drain(&sb, &mut bufs);
        let wait = next.saturating_duration_since(Instant::now());
        if !wait.is_zero() {
            let mut fds = [
                libc::pollfd {
                    fd: sa.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                },
                libc::pollfd {
                    fd: sb.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                },
            ];
            // SAFETY: fds is a live array of two pollfd.
            unsafe { libc::poll(fds.as_mut_ptr(), 2, wait.as_millis().max(1) as libc::c_int) };
        }
    }
    let t1 = Instant::now();
    let cpu1 = cpu_ticks(a.pid);
    let sent_w = sent - sent0;
    // packets in flight at the end still count as delivered
    let settle = Instant::now() + Duration::from_millis(300);
    while Instant::now() < settle {
        recvd += drain(&sa, &mut bufs) + drain(&sb, &mut bufs);
        std::thread::sleep(Duration::from_millis(5));
    }
    let recvd_w = recvd - recvd0;
    let secs = (t1 - t0).as_secs_f64();
    // SAFETY: sysconf is a plain query.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let cpu_secs = (cpu1 - cpu0) as f64 / hz;
    for i in 0..a.streams {
        let _ = ng.call(dict([
            ("command", Value::str("delete")),
            ("call-id", Value::str(&format!("{tag}-{i}"))),
            ("from-tag", Value::str("a")),
        ]));
    }
    let loss = if sent_w == 0 {
        0.0
    } else {
        100.0 * (sent_w.saturating_sub(recvd_w)) as f64 / sent_w as f64
    };
    let us_per_pkt = if recvd_w == 0 {
        f64::NAN
    } else {
        cpu_secs * 1e6 / recvd_w as f64
    };
    println!(
        "RESULT label={} streams={} offered_pps={:.0} forwarded_pps={:.0} loss_pct={:.3} cpu_pct={:.1} us_per_pkt={:.3} setup_ms={}",
        a.label,
        a.streams,
        sent_w as f64 / secs,
        recvd_w as f64 / secs,
        loss,
        100.0 * cpu_secs / secs,
        us_per_pkt,
        setup_ms
    );
    Ok(())
}

fn main() -> std::process::ExitCode {
    match args().and_then(run) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rtp_load: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
