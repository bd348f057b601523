//! Sessions by call-id: each has the offerer's tag (side A), the answerer's tag (side B) and one
//! relayed stream per `m=` line. The table decides; the [`DataPlane`] binds and forwards.

use crate::sdp::{remotes, rewrite, Rewrite};
use serde::Serialize;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;
use uuid::Uuid;
use voxbin_core::{Error, ErrorKind, Result};
use voxbin_media::relay::{Side, SideStats};
use voxbin_media::sdp::SessionDescription;

/// Identifies one relayed stream in the data plane.
pub type StreamId = u64;

/// What the table asks of the sockets.
pub trait DataPlane {
    /// Binds a stream's two port pairs and starts relaying; answers the RTP ports facing
    /// side A and side B.
    fn open(
        &mut self,
        stream: StreamId,
        a: Option<SocketAddr>,
        b: Option<SocketAddr>,
    ) -> Result<(u16, u16)>;
    /// Sets where a side's media goes (latching starts again for it).
    fn set_remote(&mut self, stream: StreamId, side: Side, addr: Option<SocketAddr>);
    /// Stops relaying and frees the ports.
    fn close(&mut self, stream: StreamId);
    /// Time of the stream's latest datagram.
    fn activity(&self, stream: StreamId) -> Option<Duration>;
    /// Counters of what arrived from each side, and where each side's media goes now.
    fn stats(&self, stream: StreamId) -> [(SideStats, Option<SocketAddr>); 2];
}

#[derive(Debug, Clone)]
struct Stream {
    id: StreamId,
    a_port: u16,
    b_port: u16,
    a: Option<SocketAddr>,
    b: Option<SocketAddr>,
}

#[derive(Debug, Clone)]
struct Session {
    id: Uuid,
    call_id: String,
    from_tag: String,
    to_tag: Option<String>,
    streams: Vec<Stream>,
    created: Duration,
    touched: Duration,
}

/// One side of a stream as `query` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LegInfo {
    /// The relay's RTP port this side sends to.
    pub local_port: u16,
    /// Where this side's media is sent (latched or from SDP).
    pub remote: Option<String>,
    /// Datagrams from this side forwarded.
    pub packets: u64,
    /// Bytes from this side forwarded.
    pub bytes: u64,
    /// Datagrams from this side dropped (not RTP, wrong source, no destination yet).
    pub dropped: u64,
}

/// One relayed stream as `query` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StreamInfo {
    /// The offerer's side.
    pub a: LegInfo,
    /// The answerer's side.
    pub b: LegInfo,
}

/// A session as the bus and ng protocol report it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionInfo {
    /// Relay-assigned id.
    pub id: Uuid,
    /// The SIP Call-ID.
    pub call_id: String,
    /// The offerer's tag.
    pub from_tag: String,
    /// The answerer's tag, once answered.
    pub to_tag: Option<String>,
    /// Seconds since the first offer.
    pub age_secs: u64,
    /// The streams, in `m=` order.
    pub streams: Vec<StreamInfo>,
}

/// Why a session ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deleted {
    /// The session at its end.
    #[serde(flatten)]
    pub session: SessionInfo,
    /// `deleted` or `timeout`.
    pub reason: &'static str,
}

/// Something the shell publishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableEvent {
    /// A first offer made a session (`rtpsession_created`).
    Created(SessionInfo),
    /// A session ended (`rtpsession_deleted`).
    Deleted(Deleted),
}

/// All sessions of one relay.
#[derive(Debug)]
pub struct Table {
    sessions: HashMap<String, Session>,
    next_stream: StreamId,
    events: Vec<TableEvent>,
}

fn bad_sdp(e: impl std::fmt::Display) -> Error {
    Error::invalid_argument("INVALID_SDP", format!("the SDP does not parse: {e}"))
}

impl Default for Table {
    fn default() -> Self {
        Self::new()
    }
}

impl Table {
    /// An empty table.
    pub fn new() -> Self {
        Table {
            sessions: HashMap::new(),
            next_stream: 1,
            events: Vec::new(),
        }
    }

    /// Sessions held.
    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    /// True when no session is held.
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    /// Events since the last call, oldest first.
    pub fn take_events(&mut self) -> Vec<TableEvent> {
        std::mem::take(&mut self.events)
    }

    /// An offer from the party tagged `from_tag`: makes or updates the session and answers the
    /// SDP to pass on, pointing at the relay.
    pub fn offer(
        &mut self,
        dp: &mut dyn DataPlane,
        call_id: &str,
        from_tag: &str,
        sdp: &str,
        how: Rewrite,
        now: Duration,
    ) -> Result<String> {
        if call_id.is_empty() || from_tag.is_empty() {
            return Err(Error::invalid_argument(
                "INVALID_ARGUMENT",
                "an offer needs a call-id and a from-tag",
            ));
        }
        let mut desc: SessionDescription = sdp.parse().map_err(bad_sdp)?;
        let wanted = remotes(&desc);
        let created = !self.sessions.contains_key(call_id);
        if created {
            self.sessions.insert(
                call_id.to_string(),
                Session {
                    id: Uuid::now_v7(),
                    call_id: call_id.to_string(),
                    from_tag: from_tag.to_string(),
                    to_tag: None,
                    streams: Vec::new(),
                    created: now,
                    touched: now,
                },
            );
        }
        let Some(session) = self.sessions.get_mut(call_id) else {
            return Err(Error::internal("session vanished"));
        };
        // The offerer is side A unless the answerer re-offers (a re-INVITE from the callee).
        let side = if session.from_tag == from_tag {
            Side::A
        } else if session.to_tag.as_deref() == Some(from_tag) {
            Side::B
        } else {
            return Err(Error::new(
                ErrorKind::FailedPrecondition,
                "UNKNOWN_TAG",
                format!("call {call_id} has no party tagged {from_tag:?}"),
            ));
        };
        let result = sync_streams(session, dp, &mut self.next_stream, side, &wanted, now);
        if let Err(e) = result {
            if created {
                if let Some(s) = self.sessions.remove(call_id) {
                    close_all(dp, &s);
                }
            }
            return Err(e);
        }
        let ports = ports_facing(session, side.other());
        rewrite(&mut desc, &ports, how);
        if created {
            let info = info(session, dp, now);
            self.events.push(TableEvent::Created(info));
        }
        Ok(desc.to_string())
    }

    /// The answer of the party tagged `to_tag` to the offer of `from_tag`; answers the SDP to
    /// pass back, pointing at the relay.
    #[allow(clippy::too_many_arguments)]
    pub fn answer(
        &mut self,
        dp: &mut dyn DataPlane,
        call_id: &str,
        from_tag: &str,
        to_tag: &str,
        sdp: &str,
        how: Rewrite,
        now: Duration,
    ) -> Result<String> {
        if to_tag.is_empty() {
            return Err(Error::invalid_argument(
                "INVALID_ARGUMENT",
                "an answer needs a to-tag",
            ));
        }
        let mut desc: SessionDescription = sdp.parse().map_err(bad_sdp)?;
        let wanted = remotes(&desc);
        let session = self
            .sessions
            .get_mut(call_id)
            .ok_or_else(|| Error::not_found("rtp session"))?;
        let answerer = if session.from_tag == from_tag {
            if session.to_tag.is_none() {
                session.to_tag = Some(to_tag.to_string());
            }
            Side::B
        } else if session.to_tag.as_deref() == Some(from_tag) {
            Side::A
        } else {
            return Err(Error::new(
                ErrorKind::FailedPrecondition,
                "UNKNOWN_TAG",
                format!("call {call_id} has no offer from {from_tag:?}"),
            ));
        };
        sync_streams(session, dp, &mut self.next_stream, answerer, &wanted, now)?;
        let ports = ports_facing(session, answerer.other());
        rewrite(&mut desc, &ports, how);
        Ok(desc.to_string())
    }

    /// Ends the session of `call_id` and frees its ports.
    pub fn delete(
        &mut self,
        dp: &mut dyn DataPlane,
        call_id: &str,
        now: Duration,
    ) -> Result<SessionInfo> {
        let session = self
            .sessions
            .remove(call_id)
            .ok_or_else(|| Error::not_found("rtp session"))?;
        Ok(self.end(dp, session, "deleted", now))
    }

    fn end(
        &mut self,
        dp: &mut dyn DataPlane,
        session: Session,
        reason: &'static str,
        now: Duration,
    ) -> SessionInfo {
        let info = info(&session, dp, now);
        close_all(dp, &session);
        self.events.push(TableEvent::Deleted(Deleted {
            session: info.clone(),
            reason,
        }));
        info
    }

    /// The session of `call_id` with its counters.
    pub fn query(&self, dp: &dyn DataPlane, call_id: &str, now: Duration) -> Result<SessionInfo> {
        self.sessions
            .get(call_id)
            .map(|s| info(s, dp, now))
            .ok_or_else(|| Error::not_found("rtp session"))
    }

    /// Call-ids of all sessions, sorted.
    pub fn call_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.sessions.keys().cloned().collect();
        ids.sort();
        ids
    }

    /// Deletes sessions without media (or signalling) for `timeout`; answers how many.
    pub fn expire(&mut self, dp: &mut dyn DataPlane, now: Duration, timeout: Duration) -> usize {
        let idle: Vec<String> = self
            .sessions
            .values()
            .filter(|s| {
                let last = s
                    .streams
                    .iter()
                    .filter_map(|st| dp.activity(st.id))
                    .fold(s.touched, Duration::max);
                now.saturating_sub(last) >= timeout
            })
            .map(|s| s.call_id.clone())
            .collect();
        for call_id in &idle {
            if let Some(s) = self.sessions.remove(call_id) {
                self.end(dp, s, "timeout", now);
            }
        }
        idle.len()
    }

    /// Ends every session (shutdown).
    pub fn clear(&mut self, dp: &mut dyn DataPlane, now: Duration) {
        let all: Vec<Session> = self.sessions.drain().map(|(_, s)| s).collect();
        for s in all {
            self.end(dp, s, "deleted", now);
        }
    }
}

/// Makes `side`'s remote addresses those of `wanted`, opening streams for new `m=` lines.
fn sync_streams(
    session: &mut Session,
    dp: &mut dyn DataPlane,
    next: &mut StreamId,
    side: Side,
    wanted: &[Option<SocketAddr>],
    now: Duration,
) -> Result<()> {
    session.touched = now;
    for (i, addr) in wanted.iter().enumerate() {
        match session.streams.get_mut(i) {
            Some(st) => {
                let current = match side {
                    Side::A => &mut st.a,
                    Side::B => &mut st.b,
                };
                // A retransmitted offer must not undo latching.
                if *current != *addr {
                    *current = *addr;
                    dp.set_remote(st.id, side, *addr);
                }
            }
            None => {
                let id = *next;
                *next += 1;
                let (a, b) = match side {
                    Side::A => (*addr, None),
                    Side::B => (None, *addr),
                };
                let (a_port, b_port) = dp.open(id, a, b)?;
                session.streams.push(Stream {
                    id,
                    a_port,
                    b_port,
                    a,
                    b,
                });
            }
        }
    }
    Ok(())
}

/// The relay's RTP ports that `side` sends to, in `m=` order.
fn ports_facing(session: &Session, side: Side) -> Vec<u16> {
    session
        .streams
        .iter()
        .map(|s| match side {
            Side::A => s.a_port,
            Side::B => s.b_port,
        })
        .collect()
}

fn close_all(dp: &mut dyn DataPlane, session: &Session) {
    for st in &session.streams {
        dp.close(st.id);
    }
}

fn info(s: &Session, dp: &dyn DataPlane, now: Duration) -> SessionInfo {
    let leg = |port: u16, (stats, remote): (SideStats, Option<SocketAddr>)| LegInfo {
        local_port: port,
        remote: remote.map(|r| r.to_string()),
        packets: stats.forwarded,
        bytes: stats.bytes,
        dropped: stats.dropped,
    };
    SessionInfo {
        id: s.id,
        call_id: s.call_id.clone(),
        from_tag: s.from_tag.clone(),
        to_tag: s.to_tag.clone(),
        age_secs: now.saturating_sub(s.created).as_secs(),
        streams: s
            .streams
            .iter()
            .map(|st| {
                let [a, b] = dp.stats(st.id);
                StreamInfo {
                    a: leg(st.a_port, a),
                    b: leg(st.b_port, b),
                }
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::net::IpAddr;

    /// Records what the table asked; ports count up from 50000.
    #[derive(Default)]
    struct FakePlane {
        open: BTreeMap<StreamId, [Option<SocketAddr>; 2]>,
        next_port: u16,
        activity: HashMap<StreamId, Duration>,
        full: bool,
    }

    impl DataPlane for FakePlane {
        fn open(
            &mut self,
            s: StreamId,
            a: Option<SocketAddr>,
            b: Option<SocketAddr>,
        ) -> Result<(u16, u16)> {
            if self.full {
                return Err(Error::unavailable("NO_PORTS", "no free ports"));
            }
            self.open.insert(s, [a, b]);
            let p = 50000 + self.next_port;
            self.next_port += 4;
            Ok((p, p + 2))
        }
        fn set_remote(&mut self, s: StreamId, side: Side, addr: Option<SocketAddr>) {
            if let Some(r) = self.open.get_mut(&s) {
                r[(side == Side::B) as usize] = addr;
            }
        }
        fn close(&mut self, s: StreamId) {
            self.open.remove(&s);
        }
        fn activity(&self, s: StreamId) -> Option<Duration> {
            self.activity.get(&s).copied()
        }
        fn stats(&self, s: StreamId) -> [(SideStats, Option<SocketAddr>); 2] {
            let r = self.open.get(&s).copied().unwrap_or_default();
            [(SideStats::default(), r[0]), (SideStats::default(), r[1])]
        }
    }

    const HOW: Rewrite = Rewrite {
        ip: IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 10)),
        replace_origin: false,
        remove_ice: true,
    };

    fn sdp(ip: &str, port: u16) -> String {
        format!("v=0\r\no=- 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\nm=audio {port} RTP/AVP 0\r\n")
    }

    #[test]
    fn offer_answer_delete_round() {
        let (mut t, mut dp) = (Table::new(), FakePlane::default());
        let out = t
            .offer(
                &mut dp,
                "c1",
                "ft",
                &sdp("10.0.0.1", 4000),
                HOW,
                Duration::ZERO,
            )
            .unwrap();
        assert!(out.contains("m=audio 50002 RTP/AVP 0"), "{out}");
        assert!(out.contains("c=IN IP4 192.0.2.10"), "{out}");
        // a retransmitted offer answers the same ports and opens nothing new
        let again = t
            .offer(
                &mut dp,
                "c1",
                "ft",
                &sdp("10.0.0.1", 4000),
                HOW,
                Duration::ZERO,
            )
            .unwrap();
        assert_eq!(again, out);
        assert_eq!(dp.open.len(), 1);
        let ans = t
            .answer(
                &mut dp,
                "c1",
                "ft",
                "tt",
                &sdp("10.0.0.2", 5000),
                HOW,
                Duration::ZERO,
            )
            .unwrap();
        assert!(ans.contains("m=audio 50000 RTP/AVP 0"), "{ans}");
        assert_eq!(
            dp.open[&1],
            [
                Some("10.0.0.1:4000".parse().unwrap()),
                Some("10.0.0.2:5000".parse().unwrap())
            ]
        );
        // the callee re-offers (re-INVITE): it is side B, its offer carries A's port
        let re = t
            .offer(
                &mut dp,
                "c1",
                "tt",
                &sdp("10.0.0.2", 5002),
                HOW,
                Duration::ZERO,
            )
            .unwrap();
        assert!(re.contains("m=audio 50000 "), "{re}");
        assert_eq!(dp.open[&1][1], Some("10.0.0.2:5002".parse().unwrap()));
        let q = t.query(&dp, "c1", Duration::from_secs(3)).unwrap();
        assert_eq!(
            (q.to_tag.as_deref(), q.age_secs, q.streams[0].a.local_port),
            (Some("tt"), 3, 50000)
        );
        assert!(matches!(&t.take_events()[..], [TableEvent::Created(_)]));
        t.delete(&mut dp, "c1", Duration::from_secs(4)).unwrap();
        assert!(dp.open.is_empty() && t.is_empty());
        assert!(matches!(
            &t.take_events()[..],
            [TableEvent::Deleted(Deleted {
                reason: "deleted",
                ..
            })]
        ));
        assert_eq!(
            t.delete(&mut dp, "c1", Duration::ZERO).unwrap_err().kind,
            ErrorKind::NotFound
        );
    }

    #[test]
    fn bad_requests_are_errors_and_leave_nothing_behind() {
        let (mut t, mut dp) = (Table::new(), FakePlane::default());
        assert_eq!(
            t.offer(&mut dp, "c", "f", "garbage", HOW, Duration::ZERO)
                .unwrap_err()
                .kind,
            ErrorKind::InvalidArgument
        );
        assert_eq!(
            t.offer(&mut dp, "", "f", &sdp("1.2.3.4", 1), HOW, Duration::ZERO)
                .unwrap_err()
                .kind,
            ErrorKind::InvalidArgument
        );
        assert_eq!(
            t.answer(
                &mut dp,
                "nope",
                "f",
                "t",
                &sdp("1.2.3.4", 1),
                HOW,
                Duration::ZERO
            )
            .unwrap_err()
            .kind,
            ErrorKind::NotFound
        );
        t.offer(&mut dp, "c", "f", &sdp("1.2.3.4", 1), HOW, Duration::ZERO)
            .unwrap();
        assert_eq!(
            t.offer(
                &mut dp,
                "c",
                "stranger",
                &sdp("1.2.3.4", 1),
                HOW,
                Duration::ZERO
            )
            .unwrap_err()
            .kind,
            ErrorKind::FailedPrecondition
        );
        dp.full = true;
        assert_eq!(
            t.offer(&mut dp, "d", "f", &sdp("1.2.3.4", 1), HOW, Duration::ZERO)
                .unwrap_err()
                .kind,
            ErrorKind::Unavailable
        );
        assert_eq!(t.call_ids(), vec!["c"]);
    }

    #[test]
    fn idle_sessions_time_out_and_active_ones_stay() {
        let (mut t, mut dp) = (Table::new(), FakePlane::default());
        t.offer(
            &mut dp,
            "idle",
            "f",
            &sdp("1.2.3.4", 1000),
            HOW,
            Duration::ZERO,
        )
        .unwrap();
        t.offer(
            &mut dp,
            "busy",
            "f",
            &sdp("1.2.3.4", 2000),
            HOW,
            Duration::ZERO,
        )
        .unwrap();
        dp.activity.insert(2, Duration::from_secs(50));
        assert_eq!(
            t.expire(&mut dp, Duration::from_secs(59), Duration::from_secs(60)),
            0
        );
        assert_eq!(
            t.expire(&mut dp, Duration::from_secs(60), Duration::from_secs(60)),
            1
        );
        assert_eq!(t.call_ids(), vec!["busy"]);
        let events = t.take_events();
        assert!(
            matches!(&events[2], TableEvent::Deleted(Deleted { reason: "timeout", session }) if session.call_id == "idle")
        );
        t.clear(&mut dp, Duration::from_secs(61));
        assert!(t.is_empty() && dp.open.is_empty());
    }
}
