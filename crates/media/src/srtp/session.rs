//! One SRTP session: our keys protect what we send, the peer's keys unprotect what we receive.
//! Each direction follows one SSRC at a time (a new SSRC restarts its rollover counter).

use aes::cipher::KeyInit;
use aes::Aes128;
use hmac::{Hmac, Mac};
use sha1::Sha1;

use super::aes_cm::{derive_session_keys, packet_iv, xor_keystream};
use super::replay::ReplayWindow;
use super::{MasterKey, SrtpError, Suite};

type HmacSha1 = Hmac<Sha1>;

/// Keyed primitives of one direction of one of RTP or RTCP.
#[derive(Clone)]
struct Keys {
    cipher: Aes128,
    auth: HmacSha1,
    salt: [u8; 14],
}

/// Both keyed halves of one direction.
#[derive(Clone)]
struct DirectionKeys {
    rtp: Keys,
    rtcp: Keys,
}

impl DirectionKeys {
    fn new(master: &MasterKey) -> Result<DirectionKeys, SrtpError> {
        let k = derive_session_keys(&master.key, &master.salt);
        let auth = |key: &[u8]| HmacSha1::new_from_slice(key).map_err(|_| SrtpError::Malformed);
        Ok(DirectionKeys {
            rtp: Keys {
                cipher: Aes128::new(&k.rtp_cipher.into()),
                auth: auth(&k.rtp_auth)?,
                salt: k.rtp_salt,
            },
            rtcp: Keys {
                cipher: Aes128::new(&k.rtcp_cipher.into()),
                auth: auth(&k.rtcp_auth)?,
                salt: k.rtcp_salt,
            },
        })
    }
}

/// Rollover and replay state of the stream one direction follows.
#[derive(Debug, Clone, Default)]
struct StreamState {
    ssrc: Option<u32>,
    roc: u32,
    /// Highest sequence number sent or authenticated.
    last_seq: u16,
    replay: ReplayWindow,
    /// SRTCP index: last one sent, or the replay window's top on receive.
    rtcp_index: u32,
    rtcp_replay: ReplayWindow,
}

/// SRTP/SRTCP state of one media leg.
#[derive(Clone)]
pub struct SrtpSession {
    suite: Suite,
    tx: DirectionKeys,
    rx: DirectionKeys,
    tx_state: StreamState,
    rx_state: StreamState,
    rx_rtcp_ssrc: Option<u32>,
}

impl std::fmt::Debug for SrtpSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SrtpSession")
            .field("suite", &self.suite)
            .finish_non_exhaustive()
    }
}

/// Bytes of the RTP header including CSRCs and the extension, checked against `len`.
fn rtp_header_len(p: &[u8]) -> Result<usize, SrtpError> {
    if p.len() < 12 {
        return Err(SrtpError::TooShort);
    }
    if p[0] >> 6 != 2 {
        return Err(SrtpError::Malformed);
    }
    let mut n = 12 + 4 * usize::from(p[0] & 0x0f);
    if p[0] & 0x10 != 0 {
        if p.len() < n + 4 {
            return Err(SrtpError::Malformed);
        }
        n += 4 + 4 * usize::from(u16::from_be_bytes([p[n + 2], p[n + 3]]));
    }
    if n > p.len() {
        return Err(SrtpError::Malformed);
    }
    Ok(n)
}

/// Compares tags without an early exit.
fn tags_equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The ROC the sender most likely used for `seq` (RFC 3711 3.3.1).
fn estimate_roc(roc: u32, last: u16, seq: u16) -> u32 {
    if last < 0x8000 {
        if seq > last && seq - last > 0x8000 {
            roc.wrapping_sub(1)
        } else {
            roc
        }
    } else if last - 0x8000 > seq {
        roc.wrapping_add(1)
    } else {
        roc
    }
}

impl SrtpSession {
    /// A session sending with `local` and receiving with `remote` keys.
    pub fn new(suite: Suite, local: &MasterKey, remote: &MasterKey) -> Result<Self, SrtpError> {
        Ok(SrtpSession {
            suite,
            tx: DirectionKeys::new(local)?,
            rx: DirectionKeys::new(remote)?,
            tx_state: StreamState::default(),
            rx_state: StreamState::default(),
            rx_rtcp_ssrc: None,
        })
    }

    /// The suite in use.
    pub fn suite(&self) -> Suite {
        self.suite
    }

    /// Protects the RTP packet in `buf[..len]` in place and appends the tag; returns the new
    /// length. `buf` needs `suite().rtp_tag_len()` free bytes after the packet.
    pub fn protect_rtp(&mut self, buf: &mut [u8], len: usize) -> Result<usize, SrtpError> {
        let tag_len = self.suite.rtp_tag_len();
        if len > buf.len() {
            return Err(SrtpError::TooShort);
        }
        if buf.len() < len + tag_len {
            return Err(SrtpError::NoRoom);
        }
        let hdr = rtp_header_len(&buf[..len])?;
        let seq = u16::from_be_bytes([buf[2], buf[3]]);
        let ssrc = u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]);
        let st = &mut self.tx_state;
        if st.ssrc != Some(ssrc) {
            *st = StreamState {
                ssrc: Some(ssrc),
                last_seq: seq,
                ..StreamState::default()
            };
        } else if seq < st.last_seq && st.last_seq - seq > 0x8000 {
            st.roc = st.roc.checked_add(1).ok_or(SrtpError::IndexExhausted)?;
            st.last_seq = seq;
        } else if seq > st.last_seq {
            st.last_seq = seq;
        }
        let roc = st.roc;
        let index = (u64::from(roc) << 16) | u64::from(seq);
        let keys = &self.tx.rtp;
        xor_keystream(
            &keys.cipher,
            &packet_iv(&keys.salt, ssrc, index),
            &mut buf[hdr..len],
        );
        let mut mac = keys.auth.clone();
        mac.update(&buf[..len]);
        mac.update(&roc.to_be_bytes());
        let full = mac.finalize().into_bytes();
        buf[len..len + tag_len].copy_from_slice(&full[..tag_len]);
        Ok(len + tag_len)
    }

    /// Authenticates and decrypts the SRTP packet in `buf` in place; returns the RTP length.
    /// A packet that fails is left unusable and the state is unchanged.
    pub fn unprotect_rtp(&mut self, buf: &mut [u8]) -> Result<usize, SrtpError> {
        let tag_len = self.suite.rtp_tag_len();
        if buf.len() < 12 + tag_len {
            return Err(SrtpError::TooShort);
        }
        let len = buf.len() - tag_len;
        let hdr = rtp_header_len(&buf[..len])?;
        let seq = u16::from_be_bytes([buf[2], buf[3]]);
        let ssrc = u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]);
        let st = &self.rx_state;
        let known = st.ssrc == Some(ssrc);
        let roc = if known {
            estimate_roc(st.roc, st.last_seq, seq)
        } else {
            0
        };
        let index = (u64::from(roc) << 16) | u64::from(seq);
        if known && !st.replay.check(index) {
            return Err(SrtpError::Replayed);
        }
        let keys = &self.rx.rtp;
        let mut mac = keys.auth.clone();
        mac.update(&buf[..len]);
        mac.update(&roc.to_be_bytes());
        let full = mac.finalize().into_bytes();
        if !tags_equal(&full[..tag_len], &buf[len..]) {
            return Err(SrtpError::AuthFailed);
        }
        xor_keystream(
            &keys.cipher,
            &packet_iv(&keys.salt, ssrc, index),
            &mut buf[hdr..len],
        );
        let st = &mut self.rx_state;
        if !known {
            *st = StreamState {
                ssrc: Some(ssrc),
                last_seq: seq,
                rtcp_index: st.rtcp_index,
                rtcp_replay: std::mem::take(&mut st.rtcp_replay),
                ..StreamState::default()
            };
        } else if roc == st.roc.wrapping_add(1) {
            st.roc = roc;
            st.last_seq = seq;
        } else if roc == st.roc && seq > st.last_seq {
            st.last_seq = seq;
        }
        st.replay.accept(index);
        Ok(len)
    }

    /// Protects the RTCP compound packet in `buf[..len]` in place: encrypts after the sender
    /// SSRC, appends E||index and the tag; returns the new length (`len + 14`).
    pub fn protect_rtcp(&mut self, buf: &mut [u8], len: usize) -> Result<usize, SrtpError> {
        let tag_len = self.suite.rtcp_tag_len();
        if len > buf.len() || len < 8 {
            return Err(SrtpError::TooShort);
        }
        if buf.len() < len + 4 + tag_len {
            return Err(SrtpError::NoRoom);
        }
        if buf[0] >> 6 != 2 {
            return Err(SrtpError::Malformed);
        }
        let st = &mut self.tx_state;
        if st.rtcp_index >= 0x7fff_ffff {
            return Err(SrtpError::IndexExhausted);
        }
        st.rtcp_index += 1;
        let index = st.rtcp_index;
        let ssrc = u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]);
        let keys = &self.tx.rtcp;
        xor_keystream(
            &keys.cipher,
            &packet_iv(&keys.salt, ssrc, u64::from(index)),
            &mut buf[8..len],
        );
        buf[len..len + 4].copy_from_slice(&(index | 0x8000_0000).to_be_bytes());
        let mut mac = keys.auth.clone();
        mac.update(&buf[..len + 4]);
        let full = mac.finalize().into_bytes();
        buf[len + 4..len + 4 + tag_len].copy_from_slice(&full[..tag_len]);
        Ok(len + 4 + tag_len)
    }

    /// Authenticates and decrypts the SRTCP packet in `buf` in place; returns the RTCP length.
    pub fn unprotect_rtcp(&mut self, buf: &mut [u8]) -> Result<usize, SrtpError> {
        let tag_len = self.suite.rtcp_tag_len();
        if buf.len() < 8 + 4 + tag_len {
            return Err(SrtpError::TooShort);
        }
        if buf[0] >> 6 != 2 {
            return Err(SrtpError::Malformed);
        }
        let auth_len = buf.len() - tag_len;
        let len = auth_len - 4;
        let ei = u32::from_be_bytes([buf[len], buf[len + 1], buf[len + 2], buf[len + 3]]);
        let index = ei & 0x7fff_ffff;
        let ssrc = u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]);
        let known = self.rx_rtcp_ssrc == Some(ssrc);
        if known && !self.rx_state.rtcp_replay.check(u64::from(index)) {
            return Err(SrtpError::Replayed);
        }
        let keys = &self.rx.rtcp;
        let mut mac = keys.auth.clone();
        mac.update(&buf[..auth_len]);
        let full = mac.finalize().into_bytes();
        if !tags_equal(&full[..tag_len], &buf[auth_len..]) {
            return Err(SrtpError::AuthFailed);
        }
        if ei & 0x8000_0000 == 0 {
            return Err(SrtpError::NotEncrypted);
        }
        xor_keystream(
            &keys.cipher,
            &packet_iv(&keys.salt, ssrc, u64::from(index)),
            &mut buf[8..len],
        );
        if !known {
            self.rx_rtcp_ssrc = Some(ssrc);
            self.rx_state.rtcp_replay = ReplayWindow::default();
        }
        self.rx_state.rtcp_replay.accept(u64::from(index));
        self.rx_state.rtcp_index = index;
        Ok(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn master(key: &str, salt: &str) -> MasterKey {
        MasterKey {
            key: hex(key).try_into().unwrap(),
            salt: hex(salt).try_into().unwrap(),
        }
    }

    fn libsrtp_key() -> MasterKey {
        master(
            "E1F97A0D3E018BE0D64FA32C06DE4139",
            "0EC675AD498AFEEBB6960B3AABE6",
        )
    }

    fn pair(suite: Suite) -> (SrtpSession, SrtpSession) {
        let a = MasterKey::random();
        let b = MasterKey::random();
        (
            SrtpSession::new(suite, &a, &b).unwrap(),
            SrtpSession::new(suite, &b, &a).unwrap(),
        )
    }

    fn rtp(seq: u16, payload: &[u8]) -> Vec<u8> {
        let mut p = vec![0x80, 0x00];
        p.extend_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(&[0, 0, 0, 160, 0xca, 0xfe, 0xba, 0xbe]);
        p.extend_from_slice(payload);
        p
    }

    #[test]
    fn known_srtp_packet() {
        // the reference packet libsrtp's self-test protects with the RFC 3711 B.3 master key
        let mut s =
            SrtpSession::new(Suite::AesCm128HmacSha1_80, &libsrtp_key(), &libsrtp_key()).unwrap();
        let mut buf = hex("800f1234decafbadcafebabe abababababababababababababababab");
        buf.resize(buf.len() + 10, 0);
        let n = s.protect_rtp(&mut buf, 28).unwrap();
        assert_eq!(
            buf[..n].to_vec(),
            hex("800f1234decafbadcafebabe 4e55dc4ce79978d88ca4d215949d2402 b78d6acc99ea179b8dbb")
        );
        let n = s.unprotect_rtp(&mut buf[..n]).unwrap();
        assert_eq!(
            buf[..n].to_vec(),
            hex("800f1234decafbadcafebabe abababababababababababababababab")
        );
    }

    #[test]
    fn known_srtcp_packet() {
        let mut s =
            SrtpSession::new(Suite::AesCm128HmacSha1_80, &libsrtp_key(), &libsrtp_key()).unwrap();
        let mut buf = hex("81c8000bcafebabe abababababababababababababababab");
        buf.resize(buf.len() + 14, 0);
        let n = s.protect_rtcp(&mut buf, 24).unwrap();
        assert_eq!(
            buf[..n].to_vec(),
            hex("81c8000bcafebabe 7128035be487b9bdbef89041f977a5a8 80000001 993e08cd54d6c1230798")
        );
        let n = s.unprotect_rtcp(&mut buf[..n]).unwrap();
        assert_eq!(
            buf[..n].to_vec(),
            hex("81c8000bcafebabe abababababababababababababababab")
        );
    }

    #[test]
    fn round_trip_both_suites_across_rollover() {
        for suite in [Suite::AesCm128HmacSha1_80, Suite::AesCm128HmacSha1_32] {
            let (mut a, mut b) = pair(suite);
            for i in 0..200u32 {
                let seq = 65_500u16.wrapping_add(i as u16);
                let plain = rtp(seq, &[i as u8; 160]);
                let mut buf = plain.clone();
                buf.resize(plain.len() + suite.rtp_tag_len(), 0);
                let n = a.protect_rtp(&mut buf, plain.len()).unwrap();
                assert_ne!(buf[12..plain.len()], plain[12..]);
                let m = b.unprotect_rtp(&mut buf[..n]).unwrap();
                assert_eq!(buf[..m], plain[..]);
            }
            assert_eq!(a.tx_state.roc, 1);
            assert_eq!(b.rx_state.roc, 1);
            let plain = hex("81c90001cafebabe");
            let mut buf = plain.clone();
            buf.resize(plain.len() + 14, 0);
            let n = b.protect_rtcp(&mut buf, plain.len()).unwrap();
            let m = a.unprotect_rtcp(&mut buf[..n]).unwrap();
            assert_eq!(buf[..m], plain[..]);
        }
    }

    #[test]
    fn tampered_replayed_and_plain_packets_are_rejected() {
        let (mut a, mut b) = pair(Suite::AesCm128HmacSha1_80);
        let plain = rtp(7, &[1; 40]);
        let mut buf = plain.clone();
        buf.resize(plain.len() + 10, 0);
        let n = a.protect_rtp(&mut buf, plain.len()).unwrap();
        let sealed = buf[..n].to_vec();
        for i in 0..n {
            let mut t = sealed.clone();
            t[i] ^= 0x01;
            assert!(b.unprotect_rtp(&mut t).is_err(), "flipped byte {i}");
        }
        let mut ok = sealed.clone();
        assert!(b.unprotect_rtp(&mut ok).is_ok());
        let mut again = sealed.clone();
        assert_eq!(b.unprotect_rtp(&mut again), Err(SrtpError::Replayed));
        // a plain RTP packet whose last 10 bytes are taken as a tag
        let mut p = rtp(8, &[0; 40]);
        assert_eq!(b.unprotect_rtp(&mut p), Err(SrtpError::AuthFailed));
        for len in 0..22 {
            let mut short = vec![0x80; len];
            assert!(b.unprotect_rtp(&mut short).is_err());
            assert!(b.unprotect_rtcp(&mut short).is_err());
        }
        let mut rtcp = hex("81c90001cafebabe0000000000000000000000000000");
        assert_eq!(b.unprotect_rtcp(&mut rtcp), Err(SrtpError::AuthFailed));
        let mut small = vec![0u8; 30];
        assert_eq!(a.protect_rtp(&mut small, 25), Err(SrtpError::NoRoom));
    }

    #[test]
    fn roc_estimate_follows_rfc3711_appendix_a() {
        assert_eq!(estimate_roc(5, 100, 101), 5);
        assert_eq!(estimate_roc(5, 100, 65_000), 4);
        assert_eq!(estimate_roc(5, 65_000, 10), 6);
        assert_eq!(estimate_roc(5, 65_000, 64_000), 5);
    }
}
