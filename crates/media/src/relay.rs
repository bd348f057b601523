//! The forwarding decision of an RTP relay (the `rtp-relay` role's core), sans-IO: for each
//! datagram arriving on side A's or side B's socket it says where to send it, latching each
//! side onto the address its media really comes from (NAT traversal). Payloads are never
//! copied or parsed beyond the version byte: the shell forwards its own receive buffer.

use std::net::SocketAddr;
use std::time::Duration;

/// One of the two endpoints of a relayed stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The offerer's side.
    A,
    /// The answerer's side.
    B,
}

impl Side {
    /// The other side.
    pub fn other(self) -> Side {
        match self {
            Side::A => Side::B,
            Side::B => Side::A,
        }
    }
}

/// Why a datagram was not forwarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// Not RTP/RTCP version 2 or too short.
    NotRtp,
    /// The other side's address is not known yet.
    NoDestination,
    /// From an address other than the one this side latched onto.
    WrongSource,
}

/// What to do with a datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Send it, unchanged, to this address from the other side's socket.
    Forward(SocketAddr),
    /// Drop it.
    Drop(DropReason),
}

/// Counters of one side (what arrived from it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SideStats {
    /// Datagrams forwarded.
    pub forwarded: u64,
    /// Bytes forwarded.
    pub bytes: u64,
    /// Datagrams dropped.
    pub dropped: u64,
}

#[derive(Debug, Clone, Default)]
struct Endpoint {
    rtp: Option<SocketAddr>,
    rtcp: Option<SocketAddr>,
    rtp_latched: bool,
    rtcp_latched: bool,
    last_seen: Option<Duration>,
    stats: SideStats,
}

/// Relay state of one stream between two endpoints.
#[derive(Debug, Clone)]
pub struct Relay {
    a: Endpoint,
    b: Endpoint,
    latch: bool,
}

fn next_port(addr: SocketAddr) -> SocketAddr {
    SocketAddr::new(addr.ip(), addr.port().wrapping_add(1))
}

impl Relay {
    /// A relay between the addresses the SDP gave (`None` until known); with `latch` each
    /// side switches to the source of its first datagram and then accepts only that source.
    pub fn new(a: Option<SocketAddr>, b: Option<SocketAddr>, latch: bool) -> Self {
        let endpoint = |rtp: Option<SocketAddr>| Endpoint {
            rtp,
            rtcp: rtp.map(next_port),
            ..Endpoint::default()
        };
        Relay {
            a: endpoint(a),
            b: endpoint(b),
            latch,
        }
    }

    fn side(&mut self, side: Side) -> &mut Endpoint {
        match side {
            Side::A => &mut self.a,
            Side::B => &mut self.b,
        }
    }

    /// Sets a side's address from a new offer or answer (latching starts again for it).
    pub fn set_remote(&mut self, side: Side, rtp: Option<SocketAddr>) {
        let e = self.side(side);
        e.rtp = rtp;
        e.rtcp = rtp.map(next_port);
        e.rtp_latched = false;
        e.rtcp_latched = false;
    }

    /// Where a side's RTP currently goes.
    pub fn remote(&self, side: Side) -> Option<SocketAddr> {
        match side {
            Side::A => self.a.rtp,
            Side::B => self.b.rtp,
        }
    }

    /// Counters of what arrived from a side.
    pub fn stats(&self, side: Side) -> SideStats {
        match side {
            Side::A => self.a.stats,
            Side::B => self.b.stats,
        }
    }

    /// Time of the latest datagram from either side, for idle-stream cleanup.
    pub fn last_activity(&self) -> Option<Duration> {
        self.a.last_seen.max(self.b.last_seen)
    }

    /// An RTP datagram arrived on `side`'s socket from `from`.
    pub fn on_rtp(&mut self, side: Side, from: SocketAddr, data: &[u8], now: Duration) -> Decision {
        self.decide(side, from, data, now, false)
    }

    /// An RTCP datagram arrived on `side`'s RTCP socket from `from`.
    pub fn on_rtcp(
        &mut self,
        side: Side,
        from: SocketAddr,
        data: &[u8],
        now: Duration,
    ) -> Decision {
        self.decide(side, from, data, now, true)
    }

    fn decide(
        &mut self,
        side: Side,
        from: SocketAddr,
        data: &[u8],
        now: Duration,
        rtcp: bool,
    ) -> Decision {
        let min_len = if rtcp { 8 } else { 12 };
        let latch = self.latch;
        let decision = 'decide: {
            if data.len() < min_len || data[0] >> 6 != 2 {
                break 'decide Decision::Drop(DropReason::NotRtp);
            }
            let src = self.side(side);
            let (addr, latched) = if rtcp {
                (&mut src.rtcp, &mut src.rtcp_latched)
            } else {
                (&mut src.rtp, &mut src.rtp_latched)
            };
            if latch && !*latched {
                *addr = Some(from);
                *latched = true;
                if !rtcp && !src.rtcp_latched {
                    // until its RTCP shows up, expect it next to the latched RTP port
                    src.rtcp = Some(next_port(from));
                }
            } else if latch && *addr != Some(from) {
                break 'decide Decision::Drop(DropReason::WrongSource);
            }
            src.last_seen = Some(now);
            let dst = self.side(side.other());
            match if rtcp { dst.rtcp } else { dst.rtp } {
                Some(to) => Decision::Forward(to),
                None => Decision::Drop(DropReason::NoDestination),
            }
        };
        let stats = &mut self.side(side).stats;
        match decision {
            Decision::Forward(_) => {
                stats.forwarded += 1;
                stats.bytes += data.len() as u64;
            }
            Decision::Drop(_) => stats.dropped += 1,
        }
        decision
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RTP: [u8; 12] = [0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1];

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn latches_both_sides_behind_nat() {
        // the SDP says private addresses; the packets come from the NATs' public ones
        let mut r = Relay::new(
            Some(addr("10.0.0.1:4000")),
            Some(addr("10.0.0.2:5000")),
            true,
        );
        let a_pub = addr("198.51.100.1:30000");
        let b_pub = addr("203.0.113.2:40000");
        assert_eq!(
            r.on_rtp(Side::A, a_pub, &RTP, Duration::ZERO),
            Decision::Forward(addr("10.0.0.2:5000"))
        );
        assert_eq!(
            r.on_rtp(Side::B, b_pub, &RTP, Duration::from_millis(5)),
            Decision::Forward(a_pub)
        );
        assert_eq!(
            r.on_rtp(Side::A, a_pub, &RTP, Duration::from_millis(20)),
            Decision::Forward(b_pub)
        );
        // a third party cannot hijack a latched side
        assert_eq!(
            r.on_rtp(
                Side::A,
                addr("192.0.2.66:1"),
                &RTP,
                Duration::from_millis(21)
            ),
            Decision::Drop(DropReason::WrongSource)
        );
        // RTCP follows the latched RTP address until its own packets latch
        assert_eq!(
            r.on_rtcp(
                Side::A,
                addr("198.51.100.1:30001"),
                &RTP[..8],
                Duration::from_millis(30)
            ),
            Decision::Forward(addr("203.0.113.2:40001"))
        );
        assert_eq!(
            r.stats(Side::A),
            SideStats {
                forwarded: 3,
                bytes: 32,
                dropped: 1
            }
        );
        assert_eq!(r.last_activity(), Some(Duration::from_millis(30)));
    }

    #[test]
    fn drops_junk_and_waits_for_a_destination() {
        let mut r = Relay::new(None, None, true);
        assert_eq!(
            r.on_rtp(Side::A, addr("1.2.3.4:5"), &[0x40; 12], Duration::ZERO),
            Decision::Drop(DropReason::NotRtp)
        );
        assert_eq!(
            r.on_rtp(Side::A, addr("1.2.3.4:5"), &[0x80; 4], Duration::ZERO),
            Decision::Drop(DropReason::NotRtp)
        );
        assert_eq!(
            r.on_rtp(Side::A, addr("1.2.3.4:5"), &RTP, Duration::ZERO),
            Decision::Drop(DropReason::NoDestination)
        );
        r.set_remote(Side::B, Some(addr("5.6.7.8:9000")));
        assert_eq!(
            r.on_rtp(Side::A, addr("1.2.3.4:5"), &RTP, Duration::ZERO),
            Decision::Forward(addr("5.6.7.8:9000"))
        );
        assert_eq!(r.remote(Side::A), Some(addr("1.2.3.4:5")));
    }

    #[test]
    fn without_latching_any_source_is_forwarded() {
        let mut r = Relay::new(
            Some(addr("10.0.0.1:4000")),
            Some(addr("10.0.0.2:5000")),
            false,
        );
        assert_eq!(
            r.on_rtp(Side::A, addr("9.9.9.9:1"), &RTP, Duration::ZERO),
            Decision::Forward(addr("10.0.0.2:5000"))
        );
        assert_eq!(
            r.on_rtp(Side::B, addr("8.8.8.8:1"), &RTP, Duration::ZERO),
            Decision::Forward(addr("10.0.0.1:4000"))
        );
        assert_eq!(Side::A.other(), Side::B);
    }
}
