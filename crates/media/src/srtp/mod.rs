//! SRTP and SRTCP (RFC 3711) with SDES keys (RFC 4568), sans-IO: a [`SrtpSession`] holds the
//! keys and per-stream state of one direction pair and protects or unprotects packets in the
//! caller's buffer, without allocating. Suites: AES_CM_128_HMAC_SHA1_80 and _32.

mod aes_cm;
mod replay;
mod sdes;
mod session;

pub use aes_cm::{derive_session_keys, SessionKeys};
pub use replay::ReplayWindow;
pub use sdes::{CryptoAttribute, MasterKey};
pub use session::SrtpSession;

use thiserror::Error;

/// Master key length of the AES_CM_128 suites, in bytes.
pub const MASTER_KEY_LEN: usize = 16;
/// Master salt length of the AES_CM_128 suites, in bytes.
pub const MASTER_SALT_LEN: usize = 14;
/// Bytes a caller must leave free after an RTP packet for [`SrtpSession::protect_rtp`].
pub const MAX_RTP_TRAILER: usize = 10;
/// Bytes a caller must leave free after an RTCP packet for [`SrtpSession::protect_rtcp`]
/// (4-byte E-flag and index, then the 10-byte tag).
pub const MAX_RTCP_TRAILER: usize = 14;

/// A protection profile named in `a=crypto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Suite {
    /// AES-128 counter mode, HMAC-SHA1 tags of 80 bits.
    AesCm128HmacSha1_80,
    /// AES-128 counter mode, HMAC-SHA1 tags of 32 bits on SRTP (80 bits on SRTCP).
    AesCm128HmacSha1_32,
}

impl Suite {
    /// The SDES name of the suite.
    pub fn name(self) -> &'static str {
        match self {
            Suite::AesCm128HmacSha1_80 => "AES_CM_128_HMAC_SHA1_80",
            Suite::AesCm128HmacSha1_32 => "AES_CM_128_HMAC_SHA1_32",
        }
    }

    /// The suite called `name` in SDES, if supported.
    pub fn from_name(name: &str) -> Option<Suite> {
        match name {
            "AES_CM_128_HMAC_SHA1_80" => Some(Suite::AesCm128HmacSha1_80),
            "AES_CM_128_HMAC_SHA1_32" => Some(Suite::AesCm128HmacSha1_32),
            _ => None,
        }
    }

    /// Length of the SRTP authentication tag.
    pub fn rtp_tag_len(self) -> usize {
        match self {
            Suite::AesCm128HmacSha1_80 => 10,
            Suite::AesCm128HmacSha1_32 => 4,
        }
    }

    /// Length of the SRTCP authentication tag (80 bits for both suites, RFC 4568 6.2).
    pub fn rtcp_tag_len(self) -> usize {
        10
    }
}

/// Why a packet could not be protected or unprotected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum SrtpError {
    /// The packet is shorter than its header plus the SRTP trailer.
    #[error("packet too short")]
    TooShort,
    /// The buffer has no room for the trailer.
    #[error("no room in the buffer for the SRTP trailer")]
    NoRoom,
    /// The packet is not RTP/RTCP version 2 or its header runs past its end.
    #[error("malformed packet header")]
    Malformed,
    /// The authentication tag does not match.
    #[error("authentication failed")]
    AuthFailed,
    /// The packet index was seen before or is behind the replay window.
    #[error("replayed packet")]
    Replayed,
    /// The SRTCP packet has the E flag clear (unencrypted SRTCP is not accepted).
    #[error("unencrypted SRTCP")]
    NotEncrypted,
    /// The index space is exhausted; the keys must be renewed.
    #[error("packet index exhausted")]
    IndexExhausted,
}
