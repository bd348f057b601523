//! RTP/RTCP socket pairs from the configured port range: an even port for RTP and the next
//! one for RTCP, handed out round-robin so a just-freed port is not reused at once.

use std::net::{IpAddr, SocketAddr, UdpSocket};

use parking_lot::Mutex;

use super::error::EngineError;

/// The two sockets of one leg.
#[derive(Debug)]
pub(crate) struct SocketPair {
    /// RTP, on the even port.
    pub rtp: UdpSocket,
    /// RTCP, on the next port.
    pub rtcp: UdpSocket,
    /// The RTP port.
    pub port: u16,
}

/// Hands out port pairs within `min..=max`.
#[derive(Debug)]
pub(crate) struct PortPool {
    ip: IpAddr,
    min: u16,
    max: u16,
    cursor: Mutex<u16>,
}

impl PortPool {
    /// A pool over `min..=max` (RTP ports are the even ones with room for RTCP above).
    pub fn new(ip: IpAddr, min: u16, max: u16) -> Self {
        let first = min + (min % 2);
        PortPool {
            ip,
            min: first,
            max,
            cursor: Mutex::new(first),
        }
    }

    /// Binds the next free pair (non-blocking sockets).
    pub fn bind(&self) -> Result<SocketPair, EngineError> {
        let pairs = (u32::from(self.max).saturating_sub(u32::from(self.min)) + 1).div_ceil(2);
        let mut cursor = self.cursor.lock();
        for _ in 0..pairs.max(1) {
            let port = *cursor;
            *cursor = if u32::from(port) + 3 > u32::from(self.max) {
                self.min
            } else {
                port + 2
            };
            if u32::from(port) + 1 > u32::from(self.max) {
                continue;
            }
            let Ok(rtp) = UdpSocket::bind(SocketAddr::new(self.ip, port)) else {
                continue;
            };
            let Ok(rtcp) = UdpSocket::bind(SocketAddr::new(self.ip, port + 1)) else {
                continue;
            };
            rtp.set_nonblocking(true)?;
            rtcp.set_nonblocking(true)?;
            return Ok(SocketPair { rtp, rtcp, port });
        }
        Err(EngineError::NoPorts(self.min, self.max))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_even_and_adjacent_and_run_out() {
        let pool = PortPool::new("127.0.0.1".parse().unwrap(), 44901, 44906);
        let a = pool.bind().unwrap();
        let b = pool.bind().unwrap();
        assert_eq!((a.port, b.port), (44902, 44904));
        assert_eq!(a.rtcp.local_addr().unwrap().port(), 44903);
        // 44906 has no RTCP port left in the range, so the pool is exhausted
        assert!(matches!(
            pool.bind(),
            Err(EngineError::NoPorts(44902, 44906))
        ));
        drop(a);
        assert_eq!(pool.bind().unwrap().port, 44902);
    }
}
