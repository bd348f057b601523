//! One forwarding thread: an epoll set over the sockets of its streams, a batch of buffers,
//! and a command channel (woken through an eventfd) to add and remove streams.

use super::mmsg::{Batch, BATCH};
use super::{Counters, Stream};
use std::collections::HashMap;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, TryRecvError};
use std::sync::Arc;
use std::time::Instant;
use voxbin_media::relay::{Decision, Side};

/// The token of the wake-up eventfd in the epoll set.
const WAKE: u64 = u64::MAX;
/// Rounds of receive on one ready socket before serving the others (fairness).
const ROUNDS: usize = 4;

/// What the control side tells a worker.
pub enum Cmd {
    /// Start serving a stream's sockets.
    Add(Arc<Stream>),
    /// Stop serving a stream.
    Remove(u64),
    /// Leave the loop.
    Stop,
}

/// An eventfd to wake a worker blocked in `epoll_wait`.
pub struct Wake(OwnedFd);

impl Wake {
    /// A non-blocking eventfd.
    pub fn new() -> io::Result<Wake> {
        // SAFETY: plain system call; the returned descriptor is owned below.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd is a fresh descriptor nobody else owns.
        Ok(Wake(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    /// Wakes the worker.
    pub fn wake(&self) {
        let one = 1u64.to_ne_bytes();
        // SAFETY: writes 8 bytes from a live buffer to our eventfd.
        unsafe { libc::write(self.0.as_raw_fd(), one.as_ptr().cast(), 8) };
    }

    fn drain(&self) {
        let mut buf = [0u8; 8];
        // SAFETY: reads at most 8 bytes into a live buffer.
        unsafe { libc::read(self.0.as_raw_fd(), buf.as_mut_ptr().cast(), 8) };
    }
}

struct Epoll(OwnedFd);

impl Epoll {
    fn new() -> io::Result<Epoll> {
        // SAFETY: plain system call; the returned descriptor is owned below.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd is a fresh descriptor nobody else owns.
        Ok(Epoll(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    fn add(&self, fd: RawFd, token: u64) -> io::Result<()> {
        let mut ev = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: token,
        };
        // SAFETY: ev lives across the call; fd is a socket we hold open.
        let r = unsafe { libc::epoll_ctl(self.0.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut ev) };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    fn remove(&self, fd: RawFd) {
        // SAFETY: a null event is allowed for EPOLL_CTL_DEL.
        unsafe {
            libc::epoll_ctl(
                self.0.as_raw_fd(),
                libc::EPOLL_CTL_DEL,
                fd,
                std::ptr::null_mut(),
            )
        };
    }
}

/// The streams a worker serves, by slot (the epoll token is `slot << 2 | socket`).
#[derive(Default)]
struct Slots {
    slots: Vec<Option<Arc<Stream>>>,
    free: Vec<usize>,
    by_id: HashMap<u64, usize>,
}

/// Runs a worker until [`Cmd::Stop`] or the channel closes.
pub fn run(rx: Receiver<Cmd>, wake: Arc<Wake>, counters: Arc<Counters>, epoch: Instant) {
    let epoll = match Epoll::new().and_then(|e| e.add(wake.0.as_raw_fd(), WAKE).map(|_| e)) {
        Ok(e) => e,
        Err(e) => {
            tracing::error!(error = %e, "rtp-relay worker could not start epoll");
            return;
        }
    };
    let mut batch = Batch::new();
    let mut slots = Slots::default();
    // SAFETY: epoll_event is a plain C struct; all-zero is valid.
    let mut events: Vec<libc::epoll_event> =
        (0..256).map(|_| unsafe { std::mem::zeroed() }).collect();
    loop {
        // SAFETY: the events buffer outlives the call and its length is passed.
        let n = unsafe {
            libc::epoll_wait(
                epoll.0.as_raw_fd(),
                events.as_mut_ptr(),
                events.len() as libc::c_int,
                500,
            )
        };
        if n < 0 {
            if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            }
            tracing::error!(error = %io::Error::last_os_error(), "rtp-relay worker epoll_wait failed");
            return;
        }
        let now = epoch.elapsed();
        let mut commands = false;
        let (mut forwarded, mut dropped) = (0u64, 0u64);
        for ev in &events[..n as usize] {
            let token = ev.u64;
            if token == WAKE {
                commands = true;
                continue;
            }
            let (slot, socket) = ((token >> 2) as usize, (token & 3) as usize);
            let Some(Some(stream)) = slots.slots.get(slot) else {
                continue;
            };
            let side = if socket < 2 { Side::A } else { Side::B };
            let rtcp = socket % 2 == 1;
            let in_fd = stream.sockets[socket].as_raw_fd();
            let out_fd = stream.sockets[(socket + 2) % 4].as_raw_fd();
            for _ in 0..ROUNDS {
                // a socket error (e.g. an ICMP refusal reported on receive) just ends this round
                let got = batch.recv(in_fd).unwrap_or_default();
                if got == 0 {
                    break;
                }
                {
                    let mut relay = stream.relay.lock();
                    for i in 0..got {
                        let (from, data) = batch.received(i);
                        let Some(from) = from else {
                            dropped += 1;
                            continue;
                        };
                        let decision = if rtcp {
                            relay.on_rtcp(side, from, data, now)
                        } else {
                            relay.on_rtp(side, from, data, now)
                        };
                        match decision {
                            Decision::Forward(to) => batch.queue(i, to),
                            Decision::Drop(_) => dropped += 1,
                        }
                    }
                }
                let sent = batch.flush(out_fd) as u64;
                forwarded += sent;
                if got < BATCH {
                    break;
                }
            }
        }
        if forwarded > 0 {
            counters.forwarded.fetch_add(forwarded, Ordering::Relaxed);
        }
        if dropped > 0 {
            counters.dropped.fetch_add(dropped, Ordering::Relaxed);
        }
        if commands {
            wake.drain();
            loop {
                match rx.try_recv() {
                    Ok(Cmd::Add(stream)) => add(&epoll, &mut slots, stream),
                    Ok(Cmd::Remove(id)) => remove(&epoll, &mut slots, id),
                    Ok(Cmd::Stop) | Err(TryRecvError::Disconnected) => return,
                    Err(TryRecvError::Empty) => break,
                }
            }
        }
    }
}

fn add(epoll: &Epoll, slots: &mut Slots, stream: Arc<Stream>) {
    let slot = slots.free.pop().unwrap_or_else(|| {
        slots.slots.push(None);
        slots.slots.len() - 1
    });
    for (k, s) in stream.sockets.iter().enumerate() {
        if let Err(e) = epoll.add(s.as_raw_fd(), (slot as u64) << 2 | k as u64) {
            tracing::warn!(error = %e, stream = stream.id, "rtp-relay could not watch a socket");
        }
    }
    slots.by_id.insert(stream.id, slot);
    slots.slots[slot] = Some(stream);
}

fn remove(epoll: &Epoll, slots: &mut Slots, id: u64) {
    let Some(slot) = slots.by_id.remove(&id) else {
        return;
    };
    if let Some(stream) = slots.slots[slot].take() {
        for s in &stream.sockets {
            epoll.remove(s.as_raw_fd());
        }
    }
    slots.free.push(slot);
}
