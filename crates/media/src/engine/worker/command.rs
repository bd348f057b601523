//! Messages from the engine handle to a worker thread. Everything slow (sockets binding, file
//! and network I/O, TTS, SDP) is done by the handle before the command is sent, so a worker
//! only moves prepared state into its tick.

use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;

use crate::player::Source;
use crate::sdp::Negotiated;
use crate::srtp::SrtpSession;

use super::super::ids::{ConferenceId, LegId, OpId};
use super::super::ops::{CollectSpec, MuteDirection, RecordSpec};
use super::leg::Leg;

/// A file a recording streams into (8 KiB buffer: the tick never holds a whole call).
pub(crate) type RecordFile = BufWriter<File>;

/// What a worker is asked to do.
pub(crate) enum Command {
    /// Take a new leg.
    AddLeg(Box<Leg>),
    /// A leg is on its way from another worker: hold its commands until it arrives.
    Expect(LegId),
    /// Hand a leg over to worker `to`.
    Migrate { leg: LegId, to: usize },
    /// A leg handed over by another worker.
    Adopt(Box<Leg>),
    /// New SDP outcome (answer, re-offer).
    Update {
        leg: LegId,
        negotiated: Negotiated,
        srtp: Option<Box<SrtpSession>>,
    },
    /// End a leg (operations finish as stopped, final stats reported).
    Destroy(LegId),
    /// Play a prepared source.
    Play {
        leg: LegId,
        op: OpId,
        source: Source,
    },
    /// Stop the current playback.
    StopPlayback(LegId),
    /// Start or stop echoing the peer back to itself.
    Echo { leg: LegId, op: OpId, on: bool },
    /// Start collecting digits.
    Collect {
        leg: LegId,
        op: OpId,
        spec: CollectSpec,
    },
    /// Stop collecting digits.
    StopCollect(LegId),
    /// Send RFC 4733 digits.
    SendDigits {
        leg: LegId,
        op: OpId,
        digits: String,
        duration_ms: u32,
    },
    /// Start recording into an opened file.
    Record {
        leg: LegId,
        op: OpId,
        spec: RecordSpec,
        file: RecordFile,
        path: PathBuf,
    },
    /// Stop the leg's recording.
    StopRecord(LegId),
    /// Put the leg on hold (it hears music, nobody hears it) or take it off.
    Hold { leg: LegId, on: bool },
    /// Start or stop sending RTP and RTCP to the peer.
    Sending { leg: LegId, on: bool },
    /// Mute or unmute a direction.
    Mute {
        leg: LegId,
        direction: MuteDirection,
        on: bool,
    },
    /// Connect two legs (both on this worker).
    Bridge { a: LegId, b: LegId },
    /// Disconnect a leg from its bridge peer.
    Unbridge(LegId),
    /// Create a conference.
    ConferenceCreate {
        conference: ConferenceId,
        tones: bool,
    },
    /// End a conference (members leave, its recording finishes).
    ConferenceDestroy(ConferenceId),
    /// Add a leg (on this worker) to a conference.
    Join {
        conference: ConferenceId,
        leg: LegId,
        muted: bool,
    },
    /// Take a leg out of its conference.
    Leave(LegId),
    /// Record a conference's mix.
    ConferenceRecord {
        conference: ConferenceId,
        op: OpId,
        spec: RecordSpec,
        file: RecordFile,
        path: PathBuf,
    },
    /// Stop a conference's recording.
    ConferenceStopRecord(ConferenceId),
    /// Attach external media channels to a leg.
    External {
        leg: LegId,
        op: OpId,
        link: super::super::external::ExternalLink,
    },
    /// Detach external media.
    StopExternal(LegId),
    /// Report a leg's counters.
    Stats(LegId),
    /// Stop the worker (everything finishes as stopped).
    Shutdown,
}

impl Command {
    /// The legs the command needs present on the worker.
    pub(crate) fn legs(&self) -> [Option<LegId>; 2] {
        use Command::*;
        match self {
            AddLeg(_) | Adopt(_) | Expect(_) | Shutdown | ConferenceCreate { .. } => [None, None],
            ConferenceDestroy(_) | ConferenceRecord { .. } | ConferenceStopRecord(_) => {
                [None, None]
            }
            Bridge { a, b } => [Some(*a), Some(*b)],
            Migrate { leg, .. }
            | Update { leg, .. }
            | Play { leg, .. }
            | Echo { leg, .. }
            | Collect { leg, .. }
            | SendDigits { leg, .. }
            | Record { leg, .. }
            | Hold { leg, .. }
            | Mute { leg, .. }
            | Sending { leg, .. }
            | Join { leg, .. }
            | External { leg, .. } => [Some(*leg), None],
            Destroy(leg) | StopPlayback(leg) | StopCollect(leg) | StopRecord(leg)
            | Unbridge(leg) | Leave(leg) | StopExternal(leg) | Stats(leg) => [Some(*leg), None],
        }
    }
}
