//! Batched UDP I/O for a blocking socket on a thread of its own: `recvmmsg` takes every
//! datagram waiting (after blocking for the first) in one system call, and the answers they
//! caused are written into one arena and sent with one `sendmmsg`. Under load this turns two
//! system calls per datagram into two per batch, and sends several answers to a peer in one
//! go, so the peer is woken once for all of them.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::RawFd;

/// Datagrams per `recvmmsg`.
pub const RECV_BATCH: usize = 16;

/// Largest datagram received whole (the largest UDP payload).
pub const MAX_DATAGRAM: usize = 65_535;

/// Most datagrams queued before [`SendBatch::flush`] must run.
pub const SEND_BATCH: usize = 64;

/// The kernel-facing part of a batch: one header per message, each pointing at its own iovec
/// and address (the vectors' heap memory stays put when the struct moves, and they are never
/// resized).
pub struct Headers {
    /// Where each message's bytes are.
    pub iov: Vec<libc::iovec>,
    /// Each message's peer address.
    pub addrs: Vec<libc::sockaddr_storage>,
    /// The headers handed to `recvmmsg`/`sendmmsg`.
    pub msgs: Vec<libc::mmsghdr>,
}

impl Headers {
    /// `n` headers, each wired to its iovec and address.
    pub fn new(n: usize) -> Headers {
        let mut h = Headers {
            iov: (0..n).map(|_| zeroed()).collect(),
            addrs: (0..n).map(|_| zeroed()).collect(),
            msgs: (0..n).map(|_| zeroed()).collect(),
        };
        for i in 0..n {
            let iov: *mut libc::iovec = &mut h.iov[i];
            let addr: *mut libc::sockaddr_storage = &mut h.addrs[i];
            let m = &mut h.msgs[i].msg_hdr;
            m.msg_iov = iov;
            m.msg_iovlen = 1;
            m.msg_name = addr.cast();
        }
        h
    }

    /// Readies every header for `recvmmsg` (room for any address, nothing received yet).
    fn ready_to_receive(&mut self) {
        for m in self.msgs.iter_mut() {
            m.msg_hdr.msg_namelen =
                std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            m.msg_len = 0;
        }
    }

    /// Receives into every header with one `recvmmsg`; answers how many datagrams arrived.
    ///
    /// # Safety
    /// Every iovec must point at a live buffer of at least its `iov_len` bytes.
    pub unsafe fn receive(&mut self, fd: RawFd, flags: libc::c_int) -> io::Result<usize> {
        self.ready_to_receive();
        // SAFETY: the headers point at their own iovecs and addresses; the caller vouches for
        // the buffers.
        let n = unsafe {
            libc::recvmmsg(
                fd,
                self.msgs.as_mut_ptr(),
                self.msgs.len() as libc::c_uint,
                flags,
                std::ptr::null_mut(),
            )
        };
        usize::try_from(n).map_err(|_| io::Error::last_os_error())
    }

    /// Sends headers `0..total` with as few `sendmmsg` calls as the kernel allows; answers how
    /// many went out. A call that fails names its first datagram: `refused` hears its index and
    /// the error and says whether to skip just it and go on (else the rest are not sent).
    ///
    /// # Safety
    /// Headers `0..total` must point at live buffers and hold their destinations.
    pub unsafe fn send(
        &mut self,
        fd: RawFd,
        total: usize,
        flags: libc::c_int,
        mut refused: impl FnMut(usize, io::Error) -> bool,
    ) -> usize {
        let (mut next, mut sent) = (0, 0);
        while next < total {
            // SAFETY: headers `next..total` are wired up, as the caller vouches.
            let n = unsafe {
                libc::sendmmsg(
                    fd,
                    self.msgs.as_mut_ptr().add(next),
                    (total - next) as libc::c_uint,
                    flags,
                )
            };
            if n > 0 {
                next += n as usize;
                sent += n as usize;
                continue;
            }
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            if !refused(next, e) {
                break;
            }
            next += 1;
        }
        sent
    }
}

/// Receive buffers of one socket's loop.
pub struct RecvBatch {
    bufs: Vec<u8>,
    h: Headers,
    received: usize,
}

/// Datagrams written into one arena, waiting to be sent by one `sendmmsg`.
pub struct SendBatch {
    arena: Vec<u8>,
    /// Start, length and destination of each queued datagram in `arena`.
    queued: Vec<(usize, usize, SocketAddr)>,
    h: Headers,
}

fn zeroed<T>() -> T {
    // SAFETY: only used for libc structs (iovec, sockaddr_storage, mmsghdr) where all-zero
    // bytes are valid.
    unsafe { std::mem::zeroed() }
}

impl RecvBatch {
    /// Buffers for [`RECV_BATCH`] datagrams.
    pub fn new() -> Box<RecvBatch> {
        let mut b = Box::new(RecvBatch {
            bufs: vec![0u8; RECV_BATCH * MAX_DATAGRAM],
            h: Headers::new(RECV_BATCH),
            received: 0,
        });
        let base = b.bufs.as_mut_ptr();
        for (i, iov) in b.h.iov.iter_mut().enumerate() {
            // SAFETY: `bufs` holds RECV_BATCH * MAX_DATAGRAM bytes and is never resized.
            iov.iov_base = unsafe { base.add(i * MAX_DATAGRAM) }.cast();
            iov.iov_len = MAX_DATAGRAM;
        }
        b
    }

    /// Receives what is waiting on `fd`, blocking for the first datagram as long as the
    /// socket's read timeout allows (`wait`) or not at all; answers how many arrived (0 on a
    /// timeout, an interrupted call, or an ICMP error report of an earlier send).
    pub fn recv(&mut self, fd: RawFd, wait: bool) -> usize {
        let flags = if wait {
            libc::MSG_WAITFORONE
        } else {
            libc::MSG_DONTWAIT
        };
        // SAFETY: every iovec points into `bufs`, owned by this boxed batch, sized as declared.
        self.received = unsafe { self.h.receive(fd, flags) }.unwrap_or(0);
        self.received
    }

    /// Datagram `i` of the last receive and its source (`None` for an unknown family).
    pub fn get(&self, i: usize) -> (Option<SocketAddr>, &[u8]) {
        if i >= self.received {
            return (None, &[]);
        }
        let len = (self.h.msgs[i].msg_len as usize).min(MAX_DATAGRAM);
        let start = i * MAX_DATAGRAM;
        (
            from_storage(&self.h.addrs[i]),
            &self.bufs[start..start + len],
        )
    }
}

impl SendBatch {
    /// An empty queue for up to [`SEND_BATCH`] datagrams.
    pub fn new() -> Box<SendBatch> {
        Box::new(SendBatch {
            arena: Vec::with_capacity(64 * 1024),
            queued: Vec::with_capacity(SEND_BATCH),
            h: Headers::new(SEND_BATCH),
        })
    }

    /// Queues one datagram for `to`, written by `write` at the end of the arena; answers
    /// false (nothing queued) when the queue is full and must be flushed first.
    pub fn queue(&mut self, to: SocketAddr, write: impl FnOnce(&mut Vec<u8>)) -> bool {
        if self.queued.len() >= SEND_BATCH {
            return false;
        }
        let start = self.arena.len();
        write(&mut self.arena);
        self.queued.push((start, self.arena.len() - start, to));
        true
    }

    /// Datagrams waiting for [`SendBatch::flush`].
    pub fn pending(&self) -> usize {
        self.queued.len()
    }

    /// Sends every queued datagram from `fd` (blocking while the socket buffer is full) and
    /// empties the queue; `failed` hears the destination of each datagram the kernel refused.
    pub fn flush(&mut self, fd: RawFd, mut failed: impl FnMut(SocketAddr, io::Error)) {
        let total = self.queued.len();
        // The arena is complete now, so its pointers stay valid through the calls below.
        let base = self.arena.as_mut_ptr();
        for (j, (start, len, to)) in self.queued.iter().enumerate() {
            // SAFETY: `start + len` lies within the arena, which is not touched until cleared.
            self.h.iov[j].iov_base = unsafe { base.add(*start) }.cast();
            self.h.iov[j].iov_len = *len;
            self.h.msgs[j].msg_hdr.msg_namelen = to_storage(*to, &mut self.h.addrs[j]);
        }
        let queued = &self.queued;
        // SAFETY: headers `0..total` point into the arena and hold their destinations.
        unsafe {
            self.h.send(fd, total, 0, |j, e| {
                failed(queued[j].2, e);
                true
            })
        };
        self.queued.clear();
        self.arena.clear();
    }
}

/// A socket address from the kernel's form.
pub fn from_storage(s: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match s.ss_family as libc::c_int {
        libc::AF_INET => {
            // SAFETY: the family says this storage holds a sockaddr_in.
            let a = unsafe { &*(s as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            Some(SocketAddr::V4(SocketAddrV4::new(
                Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr)),
                u16::from_be(a.sin_port),
            )))
        }
        libc::AF_INET6 => {
            // SAFETY: the family says this storage holds a sockaddr_in6.
            let a = unsafe { &*(s as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>() };
            Some(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(a.sin6_addr.s6_addr),
                u16::from_be(a.sin6_port),
                a.sin6_flowinfo,
                a.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

/// Writes `addr` in the kernel's form; answers its length.
pub fn to_storage(addr: SocketAddr, s: &mut libc::sockaddr_storage) -> libc::socklen_t {
    match addr {
        SocketAddr::V4(a) => {
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
            let out =
                unsafe { &mut *(s as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            out.sin_family = libc::AF_INET as libc::sa_family_t;
            out.sin_port = a.port().to_be();
            out.sin_addr.s_addr = u32::from(*a.ip()).to_be();
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t
        }
        SocketAddr::V6(a) => {
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in6.
            let out =
                unsafe { &mut *(s as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in6>() };
            out.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            out.sin6_port = a.port().to_be();
            out.sin6_addr.s6_addr = a.ip().octets();
            out.sin6_flowinfo = a.flowinfo();
            out.sin6_scope_id = a.scope_id();
            std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn addresses_survive_the_kernel_form() {
        for a in ["192.0.2.1:5060", "[2001:db8::1]:5062"] {
            let a: SocketAddr = a.parse().unwrap();
            let mut s = zeroed();
            to_storage(a, &mut s);
            assert_eq!(from_storage(&s), Some(a));
        }
    }

    #[test]
    fn a_batch_takes_every_waiting_datagram_and_sends_its_answers_at_once() {
        let rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        rx.set_read_timeout(Some(std::time::Duration::from_millis(200)))
            .unwrap();
        let peer = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        for i in 0..3u8 {
            peer.send_to(&[i; 20], rx.local_addr().unwrap()).unwrap();
        }
        let (mut b, mut out) = (RecvBatch::new(), SendBatch::new());
        let mut got = 0;
        while got < 3 {
            let n = b.recv(rx.as_raw_fd(), true);
            assert!(n > 0, "the datagrams are waiting");
            for i in 0..n {
                let (from, data) = b.get(i);
                assert_eq!((from, data.len()), (Some(peer.local_addr().unwrap()), 20));
                let first = data[0];
                assert!(out.queue(peer.local_addr().unwrap(), |w| w
                    .extend_from_slice(&[first + 10; 5])));
            }
            got += n;
        }
        assert_eq!(b.get(got), (None, &[][..]));
        assert_eq!(out.pending(), 3);
        let mut refused = Vec::new();
        out.flush(rx.as_raw_fd(), |to, _| refused.push(to));
        assert!(refused.is_empty());
        assert_eq!(out.pending(), 0);
        let mut buf = [0u8; 64];
        for i in 0..3u8 {
            let (n, from) = peer.recv_from(&mut buf).unwrap();
            assert_eq!((n, from, buf[0]), (5, rx.local_addr().unwrap(), i + 10));
        }
        // Nothing waiting and no wait asked: an empty batch at once.
        assert_eq!(b.recv(rx.as_raw_fd(), false), 0);
    }
}
