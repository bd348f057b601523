//! RTP and RTCP on the wire (RFC 3550): packet views and writers that never allocate, and the
//! per-source reception statistics that feed receiver reports.

pub mod packet;
pub mod rtcp;
pub mod stats;

pub use packet::{write_header, write_simple, RtpError, RtpExtension, RtpHeader, RtpPacket};
pub use rtcp::{
    parse_compound, validate_compound, ReportBlock, RtcpError, RtcpPacket, RtcpWriter, SenderInfo,
};
pub use stats::{ntp_from_unix, ReceiverStats, SeqOutcome};
