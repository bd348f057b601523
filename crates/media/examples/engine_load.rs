//! Load for the media engine, driven by bench/media.sh; two processes on two cores:
//! - `engine_load engine N SECS WARMUP DIR`: an engine with N calls; each call plays a prompt
//!   in a loop and records both directions (mixed) to DIR. After WARMUP seconds of load it
//!   measures its own CPU (utime+stime) and RSS over SECS seconds and prints them per call.
//! - `engine_load load N SECS WARMUP DIR`: the far ends of the N calls: sends 20 ms PCMU to
//!   every leg on a steady clock from a few sockets and timestamps every packet the engine
//!   sends, printing the p50/p99/max of |inter-arrival - 20 ms| per stream over SECS seconds.
//!
//! Set WORKERS for more engine worker threads (default 1). The engine side also counts heap
//! allocations in the window (the only ones expected are the prompt restarts, one per call
//! every 10 s, made by this driver through the async API).

use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use uuid::Uuid;
use voxbin_media::engine::{
    Engine, EngineConfig, EventKind, LegId, LegSpec, OpId, PlaySource, PlaybackReason,
    RecordDirection, RecordSpec,
};
use voxbin_media::g711::{encode_pcmu, FRAME_SAMPLES};
use voxbin_media::rtp::{write_simple, RtpHeader};
use voxbin_media::tts::EspeakTts;
use voxbin_media::wav::{wav_to_vec, WavFormat};

/// Sockets of the load process (legs are spread over them).
const LOAD_SOCKETS: usize = 16;
const LOAD_PORT: u16 = 43000;
const ENGINE_PORTS: (u16, u16) = (40000, 42999);

type Failure = Box<dyn std::error::Error>;

/// Counts heap allocations, to show the media path does not allocate per packet.
struct Counting;

static ALLOCATIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts
unsafe impl std::alloc::GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as ours
        unsafe { std::alloc::System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        // SAFETY: same contract as ours
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as ours
        unsafe { std::alloc::System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn speech_like(i: usize) -> i16 {
    let t = i as f64 / 8000.0;
    let env = 0.5 + 0.5 * (t * 2.0 * std::f64::consts::PI * 3.0).sin();
    (env * ((t * 2.0 * std::f64::consts::PI * 300.0).sin() * 6000.0
        + (t * 2.0 * std::f64::consts::PI * 1170.0).sin() * 2000.0)) as i16
}

/// (utime + stime) in clock ticks and RSS in KiB of this process.
fn usage() -> Result<(u64, u64), Failure> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // fields after the parenthesised command name; utime and stime are fields 14 and 15
    let rest = stat.rsplit_once(')').ok_or("odd /proc/self/stat")?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let cpu = f[11].parse::<u64>()? + f[12].parse::<u64>()?;
    let status = std::fs::read_to_string("/proc/self/status")?;
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .ok_or("no VmRSS")?
        .parse::<u64>()?;
    Ok((cpu, rss))
}

/// RT=<priority> runs the engine workers and the load's threads under SCHED_FIFO.
fn realtime() -> Option<u8> {
    std::env::var("RT")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|p| *p > 0)
}

/// Puts the calling thread under SCHED_FIFO when RT is set.
fn raise_priority() {
    if let Some(p) = realtime() {
        let param = libc::sched_param {
            sched_priority: i32::from(p),
        };
        // SAFETY: pid 0 is the calling thread; `param` is valid for the call
        if unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) } != 0 {
            eprintln!(
                "load: SCHED_FIFO refused: {}",
                std::io::Error::last_os_error()
            );
        }
    }
}

/// Maps CLOCK_REALTIME stamps (what SO_TIMESTAMPNS gives) onto `Instant`.
struct Clock {
    instant: Instant,
    realtime: Duration,
}

impl Clock {
    fn new() -> Clock {
        Clock {
            instant: Instant::now(),
            realtime: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default(),
        }
    }

    fn instant(&self, realtime: Duration) -> Instant {
        match realtime.checked_sub(self.realtime) {
            Some(d) => self.instant + d,
            None => self.instant,
        }
    }
}

/// One datagram with its source port and kernel arrival stamp (CLOCK_REALTIME).
fn recv_stamped(fd: i32, buf: &mut [u8]) -> Option<(usize, u16, Option<Duration>)> {
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: zeroed sockaddr_in/msghdr are valid; the pointers outlive the call
    let mut from: libc::sockaddr_in = unsafe { std::mem::zeroed() };
    let mut control = [0u64; 16];
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_name = (&mut from as *mut libc::sockaddr_in).cast();
    msg.msg_namelen = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control) as _;
    // SAFETY: msg points at live buffers of the stated sizes
    let n = unsafe { libc::recvmsg(fd, &mut msg, libc::MSG_DONTWAIT) };
    if n < 0 {
        return None;
    }
    let mut stamp = None;
    // SAFETY: walking the control messages the kernel wrote into `control`
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_TIMESTAMPNS {
                let ts = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast::<libc::timespec>());
                stamp = Some(Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32));
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    Some((n as usize, u16::from_be(from.sin_port), stamp))
}

fn wait_file(path: &Path) {
    while !path.exists() {
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn offer(port: u16) -> String {
    format!(
        "v=0\r\no=load 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio {port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n\
         a=ptime:20\r\na=sendrecv\r\n"
    )
}

fn engine_side(n: usize, secs: u64, warmup: u64, dir: &Path) -> Result<(), Failure> {
    let workers = std::env::var("WORKERS")
        .ok()
        .and_then(|w| w.parse().ok())
        .unwrap_or(1);
    let clk_tck: f64 = std::env::var("CLK_TCK")
        .ok()
        .and_then(|w| w.parse().ok())
        .unwrap_or(100.0);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut config = EngineConfig::new(
        "127.0.0.1".parse()?,
        "127.0.0.1".parse()?,
        ENGINE_PORTS,
        Arc::new(EspeakTts::default()),
        dir.join("media"),
        dir.join("recordings"),
    );
    config.workers = workers;
    config.event_capacity = 65536;
    config.realtime_priority = realtime();
    let engine = Engine::start(config)?;
    let prompt = dir.join("prompt.wav");
    let pcm: Vec<i16> = (0..8000 * 10).map(speech_like).collect();
    std::fs::write(&prompt, wav_to_vec(&pcm, WavFormat::Pcm16, 8000)?)?;
    let (_, rss_before) = usage()?;
    let mut legs = Vec::with_capacity(n);
    let mut ports = String::new();
    for i in 0..n {
        let (leg, answer) = engine.create_leg(LegSpec {
            id: LegId(Uuid::new_v4()),
            remote_offer: Some(&offer(LOAD_PORT + (i % LOAD_SOCKETS) as u16)),
        })?;
        let port = answer
            .lines()
            .find_map(|l| l.strip_prefix("m=audio "))
            .and_then(|l| l.split_whitespace().next())
            .ok_or("no m= line")?;
        ports.push_str(port);
        ports.push('\n');
        legs.push(leg);
    }
    std::fs::write(dir.join("legs.tmp"), ports)?;
    std::fs::rename(dir.join("legs.tmp"), dir.join("ready"))?;
    wait_file(&dir.join("load-started"));
    let record = RecordSpec {
        direction: RecordDirection::Both,
        stop_on_silence: None,
        stop_keys: String::new(),
        max_duration: None,
        beep: false,
    };
    let source = [PlaySource::File(prompt)];
    let result = rt.block_on(async {
        let mut events = engine.subscribe();
        for leg in &legs {
            engine.record(*leg, OpId(Uuid::new_v4()), record.clone())?;
            engine.play(*leg, OpId(Uuid::new_v4()), &source).await?;
        }
        // replay prompts as they end, until the measurement is over
        let replay = async {
            loop {
                match events.recv().await {
                    Ok(e) => {
                        if let (
                            Some(leg),
                            EventKind::PlaybackFinished {
                                reason: PlaybackReason::Completed,
                                ..
                            },
                        ) = (e.leg, &e.kind)
                        {
                            let _ = engine.play(leg, OpId(Uuid::new_v4()), &source).await;
                        }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(_) => return,
                }
            }
        };
        let measure = async {
            tokio::time::sleep(Duration::from_secs(warmup)).await;
            let (cpu0, _) = usage()?;
            let allocs0 = ALLOCATIONS.load(Ordering::Relaxed);
            let t0 = Instant::now();
            tokio::time::sleep(Duration::from_secs(secs)).await;
            let (cpu1, rss) = usage()?;
            let allocs = ALLOCATIONS.load(Ordering::Relaxed) - allocs0;
            Ok::<_, Failure>((cpu1 - cpu0, t0.elapsed(), rss, allocs))
        };
        tokio::select! {
            () = replay => Err::<_, Failure>("event channel closed".into()),
            r = measure => r,
        }
    });
    let (cpu_ticks, elapsed, rss_after, allocs) = result?;
    let cpu_s = cpu_ticks as f64 / clk_tck;
    let call_seconds = n as f64 * elapsed.as_secs_f64();
    println!(
        "engine calls={n} workers={workers} cpu_core_pct={:.1} cpu_us_per_call_s={:.1} rss_kib_per_call={:.1} rss_total_mib={:.1} allocs_per_call_s={:.2}",
        100.0 * cpu_s / elapsed.as_secs_f64(),
        cpu_s * 1e6 / call_seconds,
        rss_after.saturating_sub(rss_before) as f64 / n as f64,
        rss_after as f64 / 1024.0,
        allocs as f64 / call_seconds,
    );
    engine.shutdown();
    Ok(())
}

fn load_side(n: usize, secs: u64, warmup: u64, dir: &Path) -> Result<(), Failure> {
    wait_file(&dir.join("ready"));
    let ports: Vec<u16> = std::fs::read_to_string(dir.join("ready"))?
        .lines()
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    if ports.len() != n {
        return Err(format!("{} legs announced, {n} expected", ports.len()).into());
    }
    let mut sockets = Vec::new();
    for k in 0..LOAD_SOCKETS {
        let s = UdpSocket::bind(("127.0.0.1", LOAD_PORT + k as u16))?;
        sockets.push(s);
    }
    std::fs::write(dir.join("load-started"), b"")?;
    let start = Instant::now();
    let window = (
        start + Duration::from_secs(warmup),
        start + Duration::from_secs(warmup + secs),
    );
    let stop = Arc::new(AtomicBool::new(false));
    // one receiver polling every socket each millisecond: the engine's sends never have to
    // wake a blocked reader (as with a remote peer); kernel arrival stamps keep the measure
    // exact whenever the poll runs. Per stream: |inter-arrival - 20 ms| in 10 us buckets.
    let mut fds = Vec::new();
    for s in &sockets {
        let fd = s.as_raw_fd();
        let on: libc::c_int = 1;
        // SAFETY: valid fd and option value
        let ok = unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_TIMESTAMPNS,
                (&on as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        } == 0;
        if !ok {
            return Err(format!("SO_TIMESTAMPNS: {}", std::io::Error::last_os_error()).into());
        }
        fds.push(fd);
    }
    let receiver = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut hist = vec![0u64; 5000];
            let mut last: std::collections::HashMap<u16, Instant> = Default::default();
            let mut buf = [0u8; 1500];
            let mut packets = 0u64;
            let clock = Clock::new();
            while !stop.load(Ordering::Relaxed) {
                for &fd in &fds {
                    while let Some((len, port, kernel)) = recv_stamped(fd, &mut buf) {
                        let Some(t) = kernel else { continue };
                        let now = clock.instant(t);
                        // RTP only (RTCP lands on the neighbouring socket)
                        if len < 12 || buf[1] & 0x7f != 0 {
                            continue;
                        }
                        let prev = last.insert(port, now);
                        if now < window.0 || now > window.1 {
                            continue;
                        }
                        packets += 1;
                        if let Some(prev) = prev {
                            let d = now.saturating_duration_since(prev).as_micros() as i64 - 20_000;
                            let b = (d.unsigned_abs() / 10).min(hist.len() as u64 - 1) as usize;
                            hist[b] += 1;
                        }
                    }
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            (hist, packets)
        })
    };
    // sender: one packet per leg every 20 ms, absolute deadlines
    let targets: Vec<SocketAddr> = ports
        .iter()
        .map(|p| SocketAddr::from(([127, 0, 0, 1], *p)))
        .collect();
    raise_priority();
    let mut deadline = Instant::now();
    let mut seq: u16 = 0;
    let mut sample = 0usize;
    let mut wire = [0u8; 200];
    while Instant::now() < window.1 {
        let pcm: Vec<i16> = (sample..sample + FRAME_SAMPLES).map(speech_like).collect();
        sample += FRAME_SAMPLES;
        let mut payload = [0u8; FRAME_SAMPLES];
        encode_pcmu(&pcm, &mut payload);
        for (i, to) in targets.iter().enumerate() {
            let h = RtpHeader::new(0, seq, u32::from(seq) * 160, 0x1000 + i as u32);
            let len = write_simple(&h, &payload, &mut wire)?;
            let _ = sockets[i % LOAD_SOCKETS].send_to(&wire[..len], to);
        }
        seq = seq.wrapping_add(1);
        deadline += Duration::from_millis(20);
        if let Some(wait) = deadline.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
    stop.store(true, Ordering::Relaxed);
    let mut hist = vec![0u64; 5000];
    let mut packets = 0;
    {
        let (h, p) = receiver.join().map_err(|_| "receiver panicked")?;
        hist.iter_mut().zip(h).for_each(|(a, b)| *a += b);
        packets += p;
    }
    let total: u64 = hist.iter().sum();
    let pct = |q: f64| {
        let target = (total as f64 * q).ceil() as u64;
        let mut seen = 0;
        for (i, c) in hist.iter().enumerate() {
            seen += c;
            if seen >= target.max(1) {
                return i as f64 * 0.01;
            }
        }
        hist.len() as f64 * 0.01
    };
    let max = hist.iter().rposition(|c| *c > 0).unwrap_or(0) as f64 * 0.01;
    let expected = n as f64 * secs as f64 * 50.0;
    println!(
        "load calls={n} packets_received={packets} of_expected_pct={:.1} jitter_ms_p50={:.2} p99={:.2} max={:.2}",
        100.0 * packets as f64 / expected,
        pct(0.5),
        pct(0.99),
        max
    );
    Ok(())
}

fn main() -> Result<(), Failure> {
    let args: Vec<String> = std::env::args().collect();
    let usage_line = "usage: engine_load engine|load CALLS SECS WARMUP DIR";
    if args.len() != 6 {
        return Err(usage_line.into());
    }
    let n: usize = args[2].parse()?;
    let secs: u64 = args[3].parse()?;
    let warmup: u64 = args[4].parse()?;
    let dir = PathBuf::from(&args[5]);
    match args[1].as_str() {
        "engine" => engine_side(n, secs, warmup, &dir),
        "load" => load_side(n, secs, warmup, &dir),
        _ => Err(usage_line.into()),
    }
}
