//! Offer/answer (RFC 3264) for one audio stream of PCMU/PCMA plus telephone-event: build our
//! offer, answer a peer's offer from local capabilities, and read a peer's answer to ours.
//! Hold is a direction (sendonly/inactive, or the old c=0.0.0.0 form) in either role.

use std::net::{IpAddr, SocketAddr};

use thiserror::Error;

use super::session::{
    Attribute, Connection, Direction, MediaDescription, Origin, SessionDescription,
};
use crate::g711::G711;
use crate::srtp::CryptoAttribute;

/// Why no media could be agreed (answer the INVITE with 488).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NegotiationError {
    /// No usable audio section (none, all disabled, or an unsupported transport).
    #[error("no audio stream with a supported transport")]
    NoAudio,
    /// The audio sections offer no codec we have.
    #[error("no common codec")]
    NoCommonCodec,
    /// The audio sections ask for SRTP (RTP/SAVP) with no crypto suite and key we support.
    #[error("no supported SRTP crypto suite")]
    NoCryptoSuite,
    /// The audio section has no connection address.
    #[error("audio stream has no usable connection address")]
    NoConnection,
}

/// What this side can do, and where it receives.
#[derive(Clone, PartialEq, Eq)]
pub struct LocalMedia {
    /// Address peers send RTP to.
    pub address: IpAddr,
    /// Port peers send RTP to (RTCP on port + 1).
    pub port: u16,
    /// Codecs in order of preference.
    pub codecs: Vec<G711>,
    /// Whether RFC 4733 telephone-events are supported.
    pub telephone_event: bool,
    /// Payload type used for telephone-event in our offers.
    pub dtmf_payload_type: u8,
    /// Packetisation time in ms.
    pub ptime: u32,
    /// What this side wants: `SendRecv` normally, `SendOnly` to hold the peer.
    pub direction: Direction,
    /// `o=` user name.
    pub username: String,
    /// `o=` session id.
    pub session_id: u64,
    /// `o=` session version (bump it for every new offer in the dialog).
    pub session_version: u64,
    /// Our SDES crypto attribute value without the tag (`AES_CM_128_HMAC_SHA1_80 inline:...`);
    /// when set, RTP/SAVP streams are offered and accepted.
    pub crypto: Option<String>,
}

impl LocalMedia {
    /// PCMU then PCMA, telephone-event on 101, 20 ms, sendrecv, no SRTP.
    pub fn new(address: IpAddr, port: u16, session_id: u64) -> Self {
        LocalMedia {
            address,
            port,
            codecs: vec![G711::Pcmu, G711::Pcma],
            telephone_event: true,
            dtmf_payload_type: 101,
            ptime: 20,
            direction: Direction::SendRecv,
            username: "voxbin".to_string(),
            session_id,
            session_version: 1,
            crypto: None,
        }
    }

    fn protocol(&self) -> &'static str {
        if self.crypto.is_some() {
            "RTP/SAVP"
        } else {
            "RTP/AVP"
        }
    }

    fn session(&self) -> SessionDescription {
        let conn = Connection::from_ip(self.address);
        SessionDescription {
            origin: Origin {
                username: self.username.clone(),
                session_id: self.session_id.to_string(),
                session_version: self.session_version.to_string(),
                addr_type: conn.addr_type.clone(),
                address: conn.address.clone(),
            },
            session_name: "voxbin".to_string(),
            connection: Some(conn),
            bandwidths: Vec::new(),
            timing: (0, 0),
            attributes: Vec::new(),
            media: Vec::new(),
            other: Vec::new(),
        }
    }
}

/// The media agreed for the audio stream.
#[derive(Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// Index of the audio section in the SDP.
    pub media_index: usize,
    /// The codec both sides use.
    pub codec: G711,
    /// Its payload type on the wire.
    pub payload_type: u8,
    /// Telephone-event payload type, when both sides support it.
    pub dtmf_payload_type: Option<u8>,
    /// Where to send RTP; `None` when the peer does not want media (port 0 or 0.0.0.0 hold).
    pub remote_rtp: Option<SocketAddr>,
    /// What this side does: send, receive, both or neither.
    pub direction: Direction,
    /// Packetisation time in ms.
    pub ptime: u32,
    /// The peer's chosen SDES crypto attribute value (with its tag), for SRTP streams.
    pub remote_crypto: Option<String>,
}

/// Shows whether an SDES key is set, never the key: Debug output reaches logs.
fn redacted(crypto: &Option<String>) -> &'static str {
    if crypto.is_some() {
        "Some(..)"
    } else {
        "None"
    }
}

impl std::fmt::Debug for LocalMedia {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalMedia")
            .field("address", &self.address)
            .field("port", &self.port)
            .field("codecs", &self.codecs)
            .field("telephone_event", &self.telephone_event)
            .field("dtmf_payload_type", &self.dtmf_payload_type)
            .field("ptime", &self.ptime)
            .field("direction", &self.direction)
            .field("username", &self.username)
            .field("session_id", &self.session_id)
            .field("session_version", &self.session_version)
            .field("crypto", &format_args!("{}", redacted(&self.crypto)))
            .finish()
    }
}

impl std::fmt::Debug for Negotiated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Negotiated")
            .field("media_index", &self.media_index)
            .field("codec", &self.codec)
            .field("payload_type", &self.payload_type)
            .field("dtmf_payload_type", &self.dtmf_payload_type)
            .field("remote_rtp", &self.remote_rtp)
            .field("direction", &self.direction)
            .field("ptime", &self.ptime)
            .field(
                "remote_crypto",
                &format_args!("{}", redacted(&self.remote_crypto)),
            )
            .finish()
    }
}

fn is_unspecified(conn: &Connection) -> bool {
    conn.ip().is_some_and(|ip| ip.is_unspecified())
}

/// Codec of one payload type in a media section: static numbers or rtpmap names at 8 kHz.
fn codec_of(m: &MediaDescription, pt: u8) -> Option<G711> {
    match m.rtpmap(pt) {
        Some(map) if map.clock_rate == 8000 => match map.encoding.to_ascii_uppercase().as_str() {
            "PCMU" => Some(G711::Pcmu),
            "PCMA" => Some(G711::Pcma),
            _ => None,
        },
        Some(_) => None,
        None => G711::from_payload_type(pt),
    }
}

fn telephone_event_pt(m: &MediaDescription) -> Option<u8> {
    m.rtpmaps()
        .find(|r| r.encoding.eq_ignore_ascii_case("telephone-event") && r.clock_rate == 8000)
        .map(|r| r.payload_type)
        .filter(|pt| m.payload_types().any(|p| p == *pt))
}

fn audio_section(
    local: &LocalMedia,
    formats: &[(u8, G711)],
    dtmf: Option<(u8, String)>,
    direction: Direction,
) -> MediaDescription {
    let mut attributes = Vec::new();
    let mut list: Vec<String> = Vec::new();
    for (pt, codec) in formats {
        list.push(pt.to_string());
        attributes.push(Attribute::new(
            "rtpmap",
            format!("{pt} {}/8000", codec.name()),
        ));
    }
    if let Some((pt, fmtp)) = dtmf {
        list.push(pt.to_string());
        attributes.push(Attribute::new(
            "rtpmap",
            format!("{pt} telephone-event/8000"),
        ));
        attributes.push(Attribute::new("fmtp", format!("{pt} {fmtp}")));
    }
    attributes.push(Attribute::new("ptime", local.ptime.to_string()));
    attributes.push(Attribute::flag(direction.as_str()));
    MediaDescription {
        media: "audio".to_string(),
        port: local.port,
        port_count: None,
        protocol: local.protocol().to_string(),
        formats: list,
        connection: None,
        bandwidths: Vec::new(),
        attributes,
        other: Vec::new(),
    }
}

/// Our offer: one audio stream with every local codec (static payload types) and
/// telephone-event, in the local direction, with our crypto line when SRTP is on.
pub fn offer(local: &LocalMedia) -> SessionDescription {
    let mut sdp = local.session();
    let formats: Vec<(u8, G711)> = local
        .codecs
        .iter()
        .map(|c| (c.payload_type(), *c))
        .collect();
    let dtmf = local
        .telephone_event
        .then(|| (local.dtmf_payload_type, "0-16".to_string()));
    let mut m = audio_section(local, &formats, dtmf, local.direction);
    if let Some(key) = &local.crypto {
        m.attributes
            .push(Attribute::new("crypto", format!("1 {key}")));
    }
    sdp.media.push(m);
    sdp
}

/// Whether this side accepts the section's transport.
fn transport_ok(local: &LocalMedia, m: &MediaDescription) -> bool {
    match m.protocol.as_str() {
        "RTP/AVP" => true,
        "RTP/SAVP" => local.crypto.is_some(),
        _ => false,
    }
}

/// Picks the peer's first crypto line with a suite and key we support (any suite when
/// answering; our offered suite when reading an answer).
fn matching_crypto<'a>(
    local: &LocalMedia,
    m: &'a MediaDescription,
    only_ours: bool,
) -> Option<&'a str> {
    let ours = local.crypto.as_deref()?.split_ascii_whitespace().next()?;
    m.crypto()
        .find(|c| CryptoAttribute::parse(c).is_some_and(|a| !only_ours || a.suite.name() == ours))
}

/// Our crypto value moved to the peer's suite: `<tag> <suite> inline:<our key>`.
fn answer_crypto(ours: &str, theirs: &str) -> String {
    let mut t = theirs.split_ascii_whitespace();
    let tag = t.next().unwrap_or("1");
    let suite = t.next().unwrap_or_default();
    let key = ours.split_ascii_whitespace().nth(1).unwrap_or_default();
    format!("{tag} {suite} {key}")
}

/// Answers a peer's offer: the first acceptable audio stream gets the peer's most preferred
/// codec we share (and telephone-event if both have it); every other section is refused with
/// port 0, as RFC 3264 requires one answer section per offered one.
pub fn answer(
    offer: &SessionDescription,
    local: &LocalMedia,
) -> Result<(SessionDescription, Negotiated), NegotiationError> {
    let mut chosen = None;
    let mut saw_audio = false;
    let mut saw_savp = false;
    for (i, m) in offer.media.iter().enumerate() {
        saw_savp |= m.media == "audio" && m.port != 0 && m.protocol == "RTP/SAVP";
        if m.media != "audio" || m.port == 0 || !transport_ok(local, m) {
            continue;
        }
        let crypto = if m.protocol == "RTP/SAVP" {
            match matching_crypto(local, m, false) {
                Some(c) => Some(c),
                None => continue,
            }
        } else {
            None
        };
        saw_audio = true;
        let codec = m.payload_types().find_map(|pt| {
            codec_of(m, pt)
                .filter(|c| local.codecs.contains(c))
                .map(|c| (pt, c))
        });
        if let Some(codec) = codec {
            chosen = Some((i, codec, crypto));
            break;
        }
    }
    let Some((index, (pt, codec), crypto)) = chosen else {
        return Err(if saw_audio {
            NegotiationError::NoCommonCodec
        } else if saw_savp {
            NegotiationError::NoCryptoSuite
        } else {
            NegotiationError::NoAudio
        });
    };
    let m = &offer.media[index];
    let conn = offer
        .connection_for(index)
        .ok_or(NegotiationError::NoConnection)?;
    let held_by_address = is_unspecified(conn);
    let remote_ip = conn.ip().ok_or(NegotiationError::NoConnection)?;
    let offered = offer.direction(index);
    // the peer sends what it offers to send; it receives only at a real address
    let peer_sends = offered.sends();
    let peer_receives = offered.receives() && !held_by_address;
    let direction = Direction::from_flags(
        local.direction.sends() && peer_receives,
        local.direction.receives() && peer_sends,
    );
    let dtmf = if local.telephone_event {
        telephone_event_pt(m)
    } else {
        None
    };
    let dtmf_line = dtmf.map(|pt| (pt, m.fmtp(pt).unwrap_or("0-15").to_string()));

    let mut sdp = local.session();
    for (i, om) in offer.media.iter().enumerate() {
        if i == index {
            let mut am = audio_section(local, &[(pt, codec)], dtmf_line.clone(), direction);
            am.protocol = om.protocol.clone();
            if let (Some(c), Some(key)) = (crypto, &local.crypto) {
                am.attributes
                    .push(Attribute::new("crypto", answer_crypto(key, c)));
            }
            sdp.media.push(am);
        } else {
            sdp.media.push(MediaDescription {
                media: om.media.clone(),
                port: 0,
                port_count: None,
                protocol: om.protocol.clone(),
                formats: om.formats.first().cloned().into_iter().collect(),
                connection: None,
                bandwidths: Vec::new(),
                attributes: Vec::new(),
                other: Vec::new(),
            });
        }
    }
    let negotiated = Negotiated {
        media_index: index,
        codec,
        payload_type: pt,
        dtmf_payload_type: dtmf,
        remote_rtp: (!held_by_address).then_some(SocketAddr::new(remote_ip, m.port)),
        direction,
        ptime: m.ptime().unwrap_or(20),
        remote_crypto: crypto.map(str::to_string),
    };
    Ok((sdp, negotiated))
}

/// Reads the peer's answer to `our_offer` (made by [`offer`] with `local`).
pub fn accept_answer(
    our_offer: &SessionDescription,
    answer: &SessionDescription,
    local: &LocalMedia,
) -> Result<Negotiated, NegotiationError> {
    let index = answer
        .media
        .iter()
        .enumerate()
        .position(|(i, m)| {
            m.media == "audio"
                && m.port != 0
                && transport_ok(local, m)
                && our_offer.media.get(i).is_some_and(|o| {
                    // RFC 3264: the answer keeps the offered transport (no SRTP downgrade)
                    o.media == "audio" && o.port != 0 && o.protocol == m.protocol
                })
        })
        .ok_or(NegotiationError::NoAudio)?;
    let m = &answer.media[index];
    let (pt, codec) = m
        .payload_types()
        .find_map(|pt| {
            codec_of(m, pt)
                .filter(|c| local.codecs.contains(c))
                .map(|c| (pt, c))
        })
        .ok_or(NegotiationError::NoCommonCodec)?;
    let conn = answer
        .connection_for(index)
        .ok_or(NegotiationError::NoConnection)?;
    let held_by_address = is_unspecified(conn);
    let remote_ip = conn.ip().ok_or(NegotiationError::NoConnection)?;
    let answered = answer.direction(index);
    let direction = Direction::from_flags(
        local.direction.sends() && answered.receives() && !held_by_address,
        local.direction.receives() && answered.sends(),
    );
    let crypto = if m.protocol == "RTP/SAVP" {
        Some(
            matching_crypto(local, m, true)
                .ok_or(NegotiationError::NoCryptoSuite)?
                .to_string(),
        )
    } else {
        None
    };
    Ok(Negotiated {
        media_index: index,
        codec,
        payload_type: pt,
        dtmf_payload_type: if local.telephone_event {
            telephone_event_pt(m)
        } else {
            None
        },
        remote_rtp: (!held_by_address).then_some(SocketAddr::new(remote_ip, m.port)),
        direction,
        ptime: m.ptime().unwrap_or(20),
        remote_crypto: crypto,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFER: &str =
        "v=0\r\no=user1 1 1 IN IP4 10.0.0.5\r\ns=-\r\nc=IN IP4 10.0.0.5\r\nt=0 0\r\n\
m=video 5000 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\n\
m=audio 6000 RTP/AVP 8 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n";

    fn local() -> LocalMedia {
        LocalMedia::new("192.0.2.10".parse().unwrap(), 20000, 42)
    }

    fn parse(s: &str) -> SessionDescription {
        s.parse().unwrap()
    }

    #[test]
    fn debug_output_hides_sdes_keys() {
        let mut l = local();
        l.crypto =
            Some("AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR".into());
        let shown = format!("{l:?}");
        assert!(!shown.contains("inline"), "{shown}");
        assert!(shown.contains("crypto: Some(..)"), "{shown}");
    }

    #[test]
    fn answers_with_peer_preferred_codec_and_dtmf() {
        let (ans, neg) = answer(&parse(OFFER), &local()).unwrap();
        assert_eq!(neg.codec, G711::Pcma);
        assert_eq!(neg.payload_type, 8);
        assert_eq!(neg.dtmf_payload_type, Some(101));
        assert_eq!(neg.remote_rtp, Some("10.0.0.5:6000".parse().unwrap()));
        assert_eq!(neg.direction, Direction::SendRecv);
        assert_eq!(neg.media_index, 1);
        let text = ans.to_string();
        assert!(text.contains("m=video 0 RTP/AVP 96\r\n"), "{text}");
        assert!(text.contains("m=audio 20000 RTP/AVP 8 101\r\n"), "{text}");
        assert!(text.contains("a=fmtp:101 0-16\r\n"));
        assert!(text.contains("c=IN IP4 192.0.2.10\r\n"));
        assert!(text.contains("a=sendrecv\r\n"));
        // the answer parses back
        assert_eq!(parse(&text), ans);
    }

    #[test]
    fn local_preference_limits_codecs() {
        let mut l = local();
        l.codecs = vec![G711::Pcmu];
        l.telephone_event = false;
        let (ans, neg) = answer(&parse(OFFER), &l).unwrap();
        assert_eq!(
            (neg.codec, neg.payload_type, neg.dtmf_payload_type),
            (G711::Pcmu, 0, None)
        );
        assert_eq!(ans.media[1].formats, vec!["0"]);
        // dynamic payload type mapped to PCMU by name
        let dynamic = OFFER
            .replace("8 0 101", "96 101")
            .replace("a=rtpmap:101", "a=rtpmap:96 pcmu/8000\r\na=rtpmap:101");
        assert_eq!(answer(&parse(&dynamic), &l).unwrap().1.payload_type, 96);
    }

    #[test]
    fn hold_directions() {
        let cases = [
            ("a=sendonly", Direction::RecvOnly),
            ("a=recvonly", Direction::SendOnly),
            ("a=inactive", Direction::Inactive),
            ("a=sendrecv", Direction::SendRecv),
        ];
        for (attr, want) in cases {
            let text = format!("{OFFER}{attr}\r\n");
            let (ans, neg) = answer(&parse(&text), &local()).unwrap();
            assert_eq!(neg.direction, want, "{attr}");
            assert_eq!(ans.direction(1), want);
        }
        // old-style hold: c=0.0.0.0, no address to send to
        let old = OFFER.replace("c=IN IP4 10.0.0.5", "c=IN IP4 0.0.0.0");
        let (_, neg) = answer(&parse(&old), &local()).unwrap();
        assert_eq!((neg.direction, neg.remote_rtp), (Direction::RecvOnly, None));
        // we hold the peer: our sendonly answer to its sendrecv
        let mut l = local();
        l.direction = Direction::SendOnly;
        assert_eq!(
            answer(&parse(OFFER), &l).unwrap().1.direction,
            Direction::SendOnly
        );
    }

    #[test]
    fn refusals() {
        let no_audio = "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=video 5000 RTP/AVP 96\r\n";
        assert_eq!(
            answer(&parse(no_audio), &local()).err(),
            Some(NegotiationError::NoAudio)
        );
        let g729 = OFFER.replace("8 0 101", "18 101");
        assert_eq!(
            answer(&parse(&g729), &local()).err(),
            Some(NegotiationError::NoCommonCodec)
        );
        let savp = OFFER.replace("m=audio 6000 RTP/AVP", "m=audio 6000 RTP/SAVP");
        assert_eq!(
            answer(&parse(&savp), &local()).err(),
            Some(NegotiationError::NoCryptoSuite)
        );
        let no_conn = OFFER.replace("c=IN IP4 10.0.0.5\r\n", "");
        assert_eq!(
            answer(&parse(&no_conn), &local()).err(),
            Some(NegotiationError::NoConnection)
        );
    }

    #[test]
    fn sdes_crypto_is_matched_by_suite() {
        const KEY: &str = "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR";
        let mut l = local();
        l.crypto = Some(format!("AES_CM_128_HMAC_SHA1_80 inline:{KEY}"));
        let text = OFFER.replace("m=audio 6000 RTP/AVP", "m=audio 6000 RTP/SAVP")
            + "a=crypto:1 F8_128_HMAC_SHA1_80 inline:"
            + KEY
            + "\r\na=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:"
            + KEY
            + "|2^31\r\n";
        let (ans, neg) = answer(&parse(&text), &l).unwrap();
        assert_eq!(
            neg.remote_crypto,
            Some(format!("2 AES_CM_128_HMAC_SHA1_32 inline:{KEY}|2^31"))
        );
        assert_eq!(ans.media[1].protocol, "RTP/SAVP");
        assert_eq!(
            ans.media[1].crypto().collect::<Vec<_>>(),
            vec![format!("2 AES_CM_128_HMAC_SHA1_32 inline:{KEY}")]
        );
    }

    #[test]
    fn an_answer_dropping_our_srtp_offer_is_refused() {
        let mut l = local();
        l.crypto =
            Some("AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR".into());
        let ours = offer(&l);
        let plain = "v=0\r\no=- 1 1 IN IP4 10.0.0.5\r\ns=-\r\nc=IN IP4 10.0.0.5\r\nt=0 0\r\n\
m=audio 6000 RTP/AVP 0\r\n";
        assert_eq!(
            accept_answer(&ours, &parse(plain), &l).err(),
            Some(NegotiationError::NoAudio)
        );
        let srtp = plain.replace("RTP/AVP 0\r\n", "RTP/SAVP 0\r\n")
            + "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n";
        let neg = accept_answer(&ours, &parse(&srtp), &l).unwrap();
        assert!(neg
            .remote_crypto
            .is_some_and(|c| c.starts_with("1 AES_CM_128_HMAC_SHA1_80 ")));
    }

    #[test]
    fn savp_offer_without_supported_suite_is_refused() {
        let savp = OFFER.replace("m=audio 6000 RTP/AVP", "m=audio 6000 RTP/SAVP");
        let bad = savp.clone()
            + "a=crypto:1 F8_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR\r\n";
        let mut l = local();
        assert_eq!(
            answer(&parse(&bad), &l).unwrap_err(),
            NegotiationError::NoCryptoSuite
        );
        l.crypto =
            Some("AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR".into());
        assert_eq!(
            answer(&parse(&bad), &l).unwrap_err(),
            NegotiationError::NoCryptoSuite
        );
        assert_eq!(
            answer(&parse(&savp), &l).unwrap_err(),
            NegotiationError::NoCryptoSuite
        );
    }

    #[test]
    fn offer_then_answer_round_trip() {
        let mut caller = local();
        caller.session_version = 7;
        let our_offer = offer(&caller);
        let text = our_offer.to_string();
        assert!(text.contains("m=audio 20000 RTP/AVP 0 8 101\r\n"), "{text}");
        assert!(text.contains("o=voxbin 42 7 IN IP4 192.0.2.10\r\n"));
        // the callee is another voxbin that only has PCMA and puts us on hold
        let mut callee = LocalMedia::new("198.51.100.7".parse().unwrap(), 30000, 9);
        callee.codecs = vec![G711::Pcma];
        callee.direction = Direction::SendOnly;
        let (their_answer, theirs) = answer(&parse(&text), &callee).unwrap();
        assert_eq!(theirs.codec, G711::Pcma);
        let ours = accept_answer(&our_offer, &their_answer, &caller).unwrap();
        assert_eq!(ours.codec, G711::Pcma);
        assert_eq!(ours.dtmf_payload_type, Some(101));
        assert_eq!(ours.remote_rtp, Some("198.51.100.7:30000".parse().unwrap()));
        assert_eq!(ours.direction, Direction::RecvOnly);
        let mut rejected = their_answer.clone();
        rejected.media[0].port = 0;
        assert_eq!(
            accept_answer(&our_offer, &rejected, &caller).err(),
            Some(NegotiationError::NoAudio)
        );
    }
}
