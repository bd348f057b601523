//! Batched datagram I/O: `recvmmsg` fills up to [`BATCH`] preallocated buffers in one system
//! call and `sendmmsg` sends the forwarded ones in one more, so a busy socket costs two system
//! calls per batch and no allocation per packet.

use std::io;
use std::net::SocketAddr;
use std::os::fd::RawFd;

// the kernel's address form, shared with the SIP edge's batched I/O
pub use voxbin_sip::transport::mmsg::{from_storage, to_storage};

/// Datagrams per system call.
pub const BATCH: usize = 64;
/// Largest datagram relayed whole (RTP over Ethernet stays under 1500).
pub const MAX_DATAGRAM: usize = 2048;

/// Receive and send buffers of one worker; boxed so the kernel-facing pointers stay valid.
pub struct Batch {
    bufs: Vec<[u8; MAX_DATAGRAM]>,
    in_iov: Vec<libc::iovec>,
    in_addrs: Vec<libc::sockaddr_storage>,
    in_msgs: Vec<libc::mmsghdr>,
    out_iov: Vec<libc::iovec>,
    out_addrs: Vec<libc::sockaddr_storage>,
    out_msgs: Vec<libc::mmsghdr>,
    queued: usize,
}

fn zeroed<T>() -> T {
    // SAFETY: only used for libc structs (iovec, sockaddr_storage, mmsghdr) where all-zero bytes are valid.
    unsafe { std::mem::zeroed() }
}

impl Batch {
    /// Buffers for [`BATCH`] datagrams each way.
    pub fn new() -> Box<Batch> {
        let mut b = Box::new(Batch {
            bufs: vec![[0u8; MAX_DATAGRAM]; BATCH],
            in_iov: (0..BATCH).map(|_| zeroed()).collect(),
            in_addrs: (0..BATCH).map(|_| zeroed()).collect(),
            in_msgs: (0..BATCH).map(|_| zeroed()).collect(),
            out_iov: (0..BATCH).map(|_| zeroed()).collect(),
            out_addrs: (0..BATCH).map(|_| zeroed()).collect(),
            out_msgs: (0..BATCH).map(|_| zeroed()).collect(),
            queued: 0,
        });
        for i in 0..BATCH {
            b.in_iov[i].iov_base = b.bufs[i].as_mut_ptr().cast();
            b.in_iov[i].iov_len = MAX_DATAGRAM;
            let iov: *mut libc::iovec = &mut b.in_iov[i];
            let addr: *mut libc::sockaddr_storage = &mut b.in_addrs[i];
            let h = &mut b.in_msgs[i].msg_hdr;
            h.msg_iov = iov;
            h.msg_iovlen = 1;
            h.msg_name = addr.cast();
            let iov: *mut libc::iovec = &mut b.out_iov[i];
            let addr: *mut libc::sockaddr_storage = &mut b.out_addrs[i];
            let h = &mut b.out_msgs[i].msg_hdr;
            h.msg_iov = iov;
            h.msg_iovlen = 1;
            h.msg_name = addr.cast();
        }
        b
    }

    /// Receives up to [`BATCH`] datagrams from `fd` without blocking; answers how many.
    pub fn recv(&mut self, fd: RawFd) -> io::Result<usize> {
        for m in self.in_msgs.iter_mut() {
            m.msg_hdr.msg_namelen =
                std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            m.msg_len = 0;
        }
        // SAFETY: every header points at buffers owned by this boxed batch, sized as declared.
        let n = unsafe {
            libc::recvmmsg(
                fd,
                self.in_msgs.as_mut_ptr(),
                BATCH as libc::c_uint,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            return match e.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => Ok(0),
                _ => Err(e),
            };
        }
        Ok(n as usize)
    }

    /// Datagram `i` of the last receive and its source.
    pub fn received(&self, i: usize) -> (Option<SocketAddr>, &[u8]) {
        let len = (self.in_msgs[i].msg_len as usize).min(MAX_DATAGRAM);
        (from_storage(&self.in_addrs[i]), &self.bufs[i][..len])
    }

    /// Queues received datagram `i` to be sent to `to`.
    pub fn queue(&mut self, i: usize, to: SocketAddr) {
        let j = self.queued;
        let len = (self.in_msgs[i].msg_len as usize).min(MAX_DATAGRAM);
        self.out_iov[j].iov_base = self.bufs[i].as_mut_ptr().cast();
        self.out_iov[j].iov_len = len;
        self.out_msgs[j].msg_hdr.msg_namelen = to_storage(to, &mut self.out_addrs[j]);
        self.queued += 1;
    }

    /// Sends the queued datagrams from `fd`; answers how many left (the rest are dropped).
    pub fn flush(&mut self, fd: RawFd) -> usize {
        let total = self.queued;
        self.queued = 0;
        let (mut next, mut sent) = (0, 0);
        while next < total {
            // SAFETY: headers `next..total` point at live buffers of this batch.
            let n = unsafe {
                libc::sendmmsg(
                    fd,
                    self.out_msgs.as_mut_ptr().add(next),
                    (total - next) as libc::c_uint,
                    libc::MSG_DONTWAIT,
                )
            };
            if n > 0 {
                next += n as usize;
                sent += n as usize;
                continue;
            }
            match io::Error::last_os_error().kind() {
                io::ErrorKind::Interrupted => {}
                // a full socket buffer: drop the rest, as a congested UDP path does
                io::ErrorKind::WouldBlock => break,
                // an error tied to the first datagram (e.g. an ICMP refusal): drop just it
                _ => next += 1,
            }
        }
        sent
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn addresses_survive_the_kernel_form() {
        for a in ["192.0.2.1:5004", "[2001:db8::1]:6000"] {
            let a: SocketAddr = a.parse().unwrap();
            let mut s = zeroed();
            to_storage(a, &mut s);
            assert_eq!(from_storage(&s), Some(a));
        }
    }

    #[test]
    fn a_batch_receives_and_forwards_several_datagrams() {
        let rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let out = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let sink = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let peer = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        for i in 0..3u8 {
            peer.send_to(&[i; 20], rx.local_addr().unwrap()).unwrap();
        }
        let mut b = Batch::new();
        let mut got = 0;
        while got < 3 {
            let n = b.recv(rx.as_raw_fd()).unwrap();
            for i in 0..n {
                let (from, data) = b.received(i);
                assert_eq!((from, data.len()), (Some(peer.local_addr().unwrap()), 20));
                b.queue(i, sink.local_addr().unwrap());
            }
            assert_eq!(b.flush(out.as_raw_fd()), n);
            got += n;
        }
        let mut buf = [0u8; 64];
        for i in 0..3u8 {
            let (n, from) = sink.recv_from(&mut buf).unwrap();
            assert_eq!((n, from, buf[0]), (20, out.local_addr().unwrap(), i));
        }
    }
}
