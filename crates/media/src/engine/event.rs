//! What the engine reports: DTMF, operation completions, RTP timeouts and statistics, each
//! stamped with the wall-clock time and naming the leg or conference and the operation.

use std::path::PathBuf;
use std::time::SystemTime;

use super::ids::{ConferenceId, LegId, OpId};

/// One report from the engine (delivered on [`super::Engine::subscribe`]).
#[derive(Debug, Clone, PartialEq)]
pub struct EngineEvent {
    /// When it happened.
    pub at: SystemTime,
    /// The leg concerned (conference recordings have none).
    pub leg: Option<LegId>,
    /// The conference concerned, for conference operations.
    pub conference: Option<ConferenceId>,
    /// The operation it completes, if any.
    pub op: Option<OpId>,
    /// What happened.
    pub kind: EventKind,
}

/// What happened.
#[derive(Debug, Clone, PartialEq)]
pub enum EventKind {
    /// A digit was received: RFC 4733, reported once when it ends, or, from peers without
    /// telephone-event, heard in-band (tone pair), reported once it has lasted about 50 ms.
    DtmfReceived {
        /// `0-9`, `*`, `#`, `A-D`.
        digit: char,
        /// How long it was held, in ms (0 for in-band digits: the length is not known).
        duration_ms: u32,
    },
    /// A digit collection ended.
    DigitsCollected {
        /// The digits, without the terminator.
        digits: String,
        /// Why it ended.
        reason: CollectReason,
    },
    /// Every digit of a `send_digits` went out.
    DigitsSent {
        /// The digits sent.
        digits: String,
    },
    /// A play, talk, beep or silence ended.
    PlaybackFinished {
        /// Why it ended.
        reason: PlaybackReason,
        /// How far it got, in ms.
        position_ms: u64,
    },
    /// A recording ended and its file is complete.
    RecordingFinished {
        /// The WAV file.
        path: PathBuf,
        /// Its length in ms.
        duration_ms: u64,
        /// Why it ended.
        reason: RecordReason,
    },
    /// An echo operation ended (stopped or the leg went away).
    EchoFinished,
    /// No RTP arrived for the configured timeout (reported once until RTP flows again).
    RtpTimeout,
    /// The peer sent RTCP BYE.
    RemoteBye,
    /// An external media (audiosocket) session ended.
    ExternalMediaFinished {
        /// Why it ended (`"stopped"`, `"peer closed"`, or the error).
        reason: String,
    },
    /// Counters of a leg, on request and when it is destroyed.
    LegStats(LegStats),
    /// The leg's media ended (after `destroy_leg`); nothing more comes for it.
    LegDestroyed,
}

/// Why a digit collection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CollectReason {
    /// The maximum number of digits was reached.
    MaxDigits,
    /// The terminator key was pressed.
    Terminator(char),
    /// Too long between two digits (or before the first one).
    InterDigitTimeout,
    /// The overall timeout passed.
    TotalTimeout,
    /// Stopped by the caller, replaced, or the leg went away.
    Stopped,
}

/// Why a playback ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlaybackReason {
    /// Played to the end.
    Completed,
    /// Stopped by the caller, replaced by another playback, or the leg went away.
    Stopped,
}

/// Why a recording ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordReason {
    /// The caller was silent for the configured time.
    Silence,
    /// A stop key was pressed.
    Key(char),
    /// The maximum duration was reached.
    MaxDuration,
    /// Stopped by the caller, or the leg/conference went away.
    Stopped,
    /// Writing the file failed (the file holds what was written before).
    Failed(String),
}

/// Counters of a leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LegStats {
    /// RTP packets sent.
    pub packets_sent: u64,
    /// RTP packets received and accepted.
    pub packets_received: u64,
    /// Packets lost per RTP sequence numbers.
    pub packets_lost: i64,
    /// Interarrival jitter, in ms.
    pub jitter_ms: u32,
    /// Datagrams that were not RTP.
    pub malformed: u64,
    /// Frames the jitter buffer had to conceal or skip.
    pub frames_missing: u64,
    /// Packets dropped on an SRTP leg: failed authentication, replayed, or unprotected.
    pub srtp_rejected: u64,
}
