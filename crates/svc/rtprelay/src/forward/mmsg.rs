//! Batched datagram I/O: `recvmmsg` fills up to [`BATCH`] preallocated buffers in one system
//! call and `sendmmsg` sends the forwarded ones in one more, so a busy socket costs two system
//! calls per batch and no allocation per packet.

use std::io;
use std::net::SocketAddr;
use std::os::fd::RawFd;

// the kernel's address form, shared with the SIP edge's batched I/O
use voxbin_sip::transport::mmsg::Headers;
pub use voxbin_sip::transport::mmsg::{from_storage, to_storage};

/// Datagrams per system call.
pub const BATCH: usize = 64;
/// Largest datagram relayed whole (RTP over Ethernet stays under 1500).
pub const MAX_DATAGRAM: usize = 2048;

/// Receive and send buffers of one worker.
pub struct Batch {
    bufs: Vec<[u8; MAX_DATAGRAM]>,
    rx: Headers,
    tx: Headers,
    queued: usize,
}

impl Batch {
    /// Buffers for [`BATCH`] datagrams each way.
    pub fn new() -> Box<Batch> {
        let mut b = Box::new(Batch {
            bufs: vec![[0u8; MAX_DATAGRAM]; BATCH],
            rx: Headers::new(BATCH),
            tx: Headers::new(BATCH),
            queued: 0,
        });
        for (iov, buf) in b.rx.iov.iter_mut().zip(b.bufs.iter_mut()) {
            iov.iov_base = buf.as_mut_ptr().cast();
            iov.iov_len = MAX_DATAGRAM;
        }
        b
    }

    /// Receives up to [`BATCH`] datagrams from `fd` without blocking; answers how many.
    pub fn recv(&mut self, fd: RawFd) -> io::Result<usize> {
        // SAFETY: every iovec points at one of `bufs`, owned by this boxed batch.
        match unsafe { self.rx.receive(fd, libc::MSG_DONTWAIT) } {
            Ok(n) => Ok(n),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                ) =>
            {
                Ok(0)
            }
            Err(e) => Err(e),
        }
    }

    /// Datagram `i` of the last receive and its source.
    pub fn received(&self, i: usize) -> (Option<SocketAddr>, &[u8]) {
        let len = (self.rx.msgs[i].msg_len as usize).min(MAX_DATAGRAM);
        (from_storage(&self.rx.addrs[i]), &self.bufs[i][..len])
    }

    /// Queues received datagram `i` to be sent to `to`.
    pub fn queue(&mut self, i: usize, to: SocketAddr) {
        let j = self.queued;
        let len = (self.rx.msgs[i].msg_len as usize).min(MAX_DATAGRAM);
        self.tx.iov[j].iov_base = self.bufs[i].as_mut_ptr().cast();
        self.tx.iov[j].iov_len = len;
        self.tx.msgs[j].msg_hdr.msg_namelen = to_storage(to, &mut self.tx.addrs[j]);
        self.queued += 1;
    }

    /// Sends the queued datagrams from `fd`; answers how many left (the rest are dropped).
    pub fn flush(&mut self, fd: RawFd) -> usize {
        let total = self.queued;
        self.queued = 0;
        // SAFETY: headers `0..total` point at received buffers and hold their destinations.
        unsafe {
            self.tx.send(fd, total, libc::MSG_DONTWAIT, |_, e| {
                // a full socket buffer: drop the rest, as a congested UDP path does; another
                // error is tied to the first datagram (e.g. an ICMP refusal): drop just it
                e.kind() != io::ErrorKind::WouldBlock
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

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
