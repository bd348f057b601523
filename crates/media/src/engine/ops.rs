//! Arguments of media operations: what to play, how to collect digits and record, which way
//! to mute, and what a leg is created from.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::ids::LegId;

/// What to create a leg from.
#[derive(Debug, Clone, Copy)]
pub struct LegSpec<'a> {
    /// The caller's id for the leg (the call id).
    pub id: LegId,
    /// The peer's SDP offer (incoming INVITE): the leg answers it. `None`: the leg makes
    /// an offer (outgoing INVITE) and waits for `remote_answer`.
    pub remote_offer: Option<&'a str>,
}

/// One piece of audio to play; a play request is a list played back to back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlaySource {
    /// A WAV file on the media node (any rate, PCM/G.711, mono or stereo).
    File(PathBuf),
    /// An `http://` or `https://` URL of a WAV, downloaded once into the media cache.
    Url(String),
    /// Spoken text.
    Speech {
        /// The text.
        text: String,
        /// Voice (`""` for the language's default).
        voice: String,
        /// Language tag, e.g. `en-US`.
        language: String,
    },
    /// A 1 kHz beep of 250 ms.
    Beep,
    /// Ringback (440 + 480 Hz, 2 s on, 4 s off) until stopped; plays alone, not in a list.
    Ringback,
    /// Silence.
    Silence(Duration),
    /// A DTMF tone pair played in-band.
    DtmfTone {
        /// The digit.
        digit: char,
        /// How long.
        duration: Duration,
    },
}

/// How to collect digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectSpec {
    /// Stop after this many digits (0: no limit; then a terminator or timeout ends it).
    pub max_digits: usize,
    /// Keys that end the collection (not included in the digits), e.g. `"#"`.
    pub terminators: String,
    /// Longest wait for the first digit and between digits.
    pub inter_digit_timeout: Option<Duration>,
    /// Longest collection overall.
    pub total_timeout: Option<Duration>,
    /// Stop a running playback on the first digit (barge-in).
    pub stop_playback_on_digit: bool,
}

/// Which audio a recording holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordDirection {
    /// What the peer says.
    In,
    /// What the peer hears.
    Out,
    /// Both, mixed into one mono file.
    Both,
}

/// How to record.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordSpec {
    /// Which audio.
    pub direction: RecordDirection,
    /// Stop after this much continuous silence from the peer.
    pub stop_on_silence: Option<Duration>,
    /// Keys that stop the recording (`""`: none).
    pub stop_keys: String,
    /// Longest recording.
    pub max_duration: Option<Duration>,
    /// Play a beep to the peer before recording starts.
    pub beep: bool,
}

/// Which way a mute applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MuteDirection {
    /// What the peer says reaches nobody (bridge, conference, echo).
    In,
    /// The peer hears silence.
    Out,
    /// Both.
    Both,
}

impl MuteDirection {
    /// Whether it covers the inbound side.
    pub fn inbound(self) -> bool {
        matches!(self, MuteDirection::In | MuteDirection::Both)
    }

    /// Whether it covers the outbound side.
    pub fn outbound(self) -> bool {
        matches!(self, MuteDirection::Out | MuteDirection::Both)
    }
}

/// Where external media (audiosocket: TLV frames of 8 kHz s16le over TCP) goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExternalMediaSpec {
    /// The audiosocket server.
    pub address: SocketAddr,
}

/// What the remote side's re-offer did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reoffer {
    /// Our answer SDP.
    pub answer: String,
    /// The peer put us on hold (it no longer wants to receive our audio).
    pub remote_hold: bool,
}
