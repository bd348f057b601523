//! RTP packet header parse and serialise (RFC 3550 section 5.1): a borrowed view over the
//! datagram for reading, and a writer into a caller-provided buffer, so neither allocates.

use thiserror::Error;

/// Length of the fixed RTP header in bytes.
pub const RTP_FIXED_HEADER_LEN: usize = 12;
/// Largest number of CSRC entries a header can carry (the CC field is four bits).
pub const MAX_CSRC: usize = 15;

/// Why an RTP packet could not be parsed or written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum RtpError {
    /// The datagram ends before the header, CSRC list or extension it announces.
    #[error("rtp packet too short: need {need} bytes, have {have}")]
    TooShort {
        /// Bytes the header says are needed.
        need: usize,
        /// Bytes present.
        have: usize,
    },
    /// The version field is not 2.
    #[error("rtp version {0} is not 2")]
    BadVersion(u8),
    /// The padding count is zero or larger than the room after the header.
    #[error("rtp padding length {0} is invalid")]
    BadPadding(u8),
    /// More than 15 CSRCs were given to the writer.
    #[error("rtp header can carry at most 15 csrcs, got {0}")]
    TooManyCsrc(usize),
    /// Extension data given to the writer is not a whole number of 32-bit words.
    #[error("rtp header extension length {0} is not a multiple of 4")]
    ExtensionNotAligned(usize),
    /// The output buffer is smaller than the packet to write.
    #[error("output buffer too small: need {need} bytes, have {have}")]
    BufferTooSmall {
        /// Bytes the packet needs.
        need: usize,
        /// Bytes available.
        have: usize,
    },
}

/// The fields of an RTP header that are not lengths (those follow from the packet layout).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RtpHeader {
    /// Marker bit (start of a talkspurt, start of a DTMF event).
    pub marker: bool,
    /// Payload type (7 bits).
    pub payload_type: u8,
    /// Sequence number.
    pub sequence: u16,
    /// RTP timestamp in clock-rate units.
    pub timestamp: u32,
    /// Synchronisation source.
    pub ssrc: u32,
    /// Number of valid entries in `csrc`.
    pub csrc_count: u8,
    /// Contributing sources; only the first `csrc_count` entries are meaningful.
    pub csrc: [u32; MAX_CSRC],
}

impl RtpHeader {
    /// A header with no CSRCs and the marker bit clear.
    pub fn new(payload_type: u8, sequence: u16, timestamp: u32, ssrc: u32) -> Self {
        RtpHeader {
            payload_type: payload_type & 0x7f,
            sequence,
            timestamp,
            ssrc,
            ..Default::default()
        }
    }

    /// The contributing sources actually present.
    pub fn csrcs(&self) -> &[u32] {
        &self.csrc[..usize::from(self.csrc_count).min(MAX_CSRC)]
    }
}

/// A header extension (RFC 3550 section 5.3.1): profile-defined id and its 32-bit-word data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpExtension<'a> {
    /// The 16-bit profile-defined field (0xBEDE for RFC 8285 one-byte extensions).
    pub profile: u16,
    /// Extension data, a multiple of 4 bytes.
    pub data: &'a [u8],
}

/// A parsed RTP packet borrowing its payload and extension from the datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    /// The header fields.
    pub header: RtpHeader,
    /// The header extension, when the X bit is set.
    pub extension: Option<RtpExtension<'a>>,
    /// The payload without padding.
    pub payload: &'a [u8],
    /// Number of padding bytes at the end (0 when the P bit is clear).
    pub padding: u8,
}

impl<'a> RtpPacket<'a> {
    /// Parses a datagram as an RTP packet; any inconsistency is an error, never a panic.
    pub fn parse(buf: &'a [u8]) -> Result<Self, RtpError> {
        if buf.len() < RTP_FIXED_HEADER_LEN {
            return Err(RtpError::TooShort {
                need: RTP_FIXED_HEADER_LEN,
                have: buf.len(),
            });
        }
        let version = buf[0] >> 6;
        if version != 2 {
            return Err(RtpError::BadVersion(version));
        }
        let has_padding = buf[0] & 0x20 != 0;
        let has_extension = buf[0] & 0x10 != 0;
        let csrc_count = buf[0] & 0x0f;
        let mut header = RtpHeader {
            marker: buf[1] & 0x80 != 0,
            payload_type: buf[1] & 0x7f,
            sequence: u16::from_be_bytes([buf[2], buf[3]]),
            timestamp: u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]),
            ssrc: u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]),
            csrc_count,
            csrc: [0; MAX_CSRC],
        };
        let mut pos = RTP_FIXED_HEADER_LEN;
        let csrc_end = pos + 4 * usize::from(csrc_count);
        if buf.len() < csrc_end {
            return Err(RtpError::TooShort {
                need: csrc_end,
                have: buf.len(),
            });
        }
        for slot in header.csrc.iter_mut().take(usize::from(csrc_count)) {
            *slot = u32::from_be_bytes([buf[pos], buf[pos + 1], buf[pos + 2], buf[pos + 3]]);
            pos += 4;
        }
        let extension = if has_extension {
            if buf.len() < pos + 4 {
                return Err(RtpError::TooShort {
                    need: pos + 4,
                    have: buf.len(),
                });
            }
            let profile = u16::from_be_bytes([buf[pos], buf[pos + 1]]);
            let words = usize::from(u16::from_be_bytes([buf[pos + 2], buf[pos + 3]]));
            let end = pos + 4 + 4 * words;
            if buf.len() < end {
                return Err(RtpError::TooShort {
                    need: end,
                    have: buf.len(),
                });
            }
            let data = &buf[pos + 4..end];
            pos = end;
            Some(RtpExtension { profile, data })
        } else {
            None
        };
        let mut end = buf.len();
        let mut padding = 0;
        if has_padding {
            padding = buf[buf.len() - 1];
            if padding == 0 || usize::from(padding) > end - pos {
                return Err(RtpError::BadPadding(padding));
            }
            end -= usize::from(padding);
        }
        Ok(RtpPacket {
            header,
            extension,
            payload: &buf[pos..end],
            padding,
        })
    }

    /// Bytes this packet occupies on the wire.
    pub fn wire_len(&self) -> usize {
        header_len(&self.header, self.extension.as_ref())
            + self.payload.len()
            + usize::from(self.padding)
    }

    /// Serialises the packet into `out` and returns the number of bytes written.
    pub fn write(&self, out: &mut [u8]) -> Result<usize, RtpError> {
        let head = write_header(&self.header, self.extension.as_ref(), self.padding > 0, out)?;
        let need = head + self.payload.len() + usize::from(self.padding);
        if out.len() < need {
            return Err(RtpError::BufferTooSmall {
                need,
                have: out.len(),
            });
        }
        out[head..head + self.payload.len()].copy_from_slice(self.payload);
        let pad_start = head + self.payload.len();
        if self.padding > 0 {
            out[pad_start..need].fill(0);
            out[need - 1] = self.padding;
        }
        Ok(need)
    }
}

/// Length of the header (fixed part, CSRCs and extension) that `write_header` produces.
pub fn header_len(header: &RtpHeader, extension: Option<&RtpExtension<'_>>) -> usize {
    RTP_FIXED_HEADER_LEN
        + 4 * usize::from(header.csrc_count)
        + extension.map_or(0, |e| 4 + e.data.len())
}

/// Writes only the header into `out` (the payload goes right after) and returns its length;
/// `padding` sets the P bit, the caller then appends the padding bytes itself.
pub fn write_header(
    header: &RtpHeader,
    extension: Option<&RtpExtension<'_>>,
    padding: bool,
    out: &mut [u8],
) -> Result<usize, RtpError> {
    let cc = usize::from(header.csrc_count);
    if cc > MAX_CSRC {
        return Err(RtpError::TooManyCsrc(cc));
    }
    if let Some(ext) = extension {
        if ext.data.len() % 4 != 0 || ext.data.len() / 4 > usize::from(u16::MAX) {
            return Err(RtpError::ExtensionNotAligned(ext.data.len()));
        }
    }
    let need = header_len(header, extension);
    if out.len() < need {
        return Err(RtpError::BufferTooSmall {
            need,
            have: out.len(),
        });
    }
    out[0] =
        0x80 | (u8::from(padding) << 5) | (u8::from(extension.is_some()) << 4) | header.csrc_count;
    out[1] = (u8::from(header.marker) << 7) | (header.payload_type & 0x7f);
    out[2..4].copy_from_slice(&header.sequence.to_be_bytes());
    out[4..8].copy_from_slice(&header.timestamp.to_be_bytes());
    out[8..12].copy_from_slice(&header.ssrc.to_be_bytes());
    let mut pos = RTP_FIXED_HEADER_LEN;
    for csrc in header.csrcs() {
        out[pos..pos + 4].copy_from_slice(&csrc.to_be_bytes());
        pos += 4;
    }
    if let Some(ext) = extension {
        out[pos..pos + 2].copy_from_slice(&ext.profile.to_be_bytes());
        // length fits: checked above
        out[pos + 2..pos + 4].copy_from_slice(&((ext.data.len() / 4) as u16).to_be_bytes());
        out[pos + 4..pos + 4 + ext.data.len()].copy_from_slice(ext.data);
        pos += 4 + ext.data.len();
    }
    Ok(pos)
}

/// Writes a plain packet (no CSRC, extension or padding): the common case on the hot path.
pub fn write_simple(header: &RtpHeader, payload: &[u8], out: &mut [u8]) -> Result<usize, RtpError> {
    let head = write_header(header, None, false, out)?;
    let need = head + payload.len();
    if out.len() < need {
        return Err(RtpError::BufferTooSmall {
            need,
            have: out.len(),
        });
    }
    out[head..need].copy_from_slice(payload);
    Ok(need)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_pcmu_packet() {
        let mut buf = [0u8; 172];
        buf[0] = 0x80;
        buf[1] = 0x80; // marker, PT 0
        buf[2..4].copy_from_slice(&1234u16.to_be_bytes());
        buf[4..8].copy_from_slice(&160_000u32.to_be_bytes());
        buf[8..12].copy_from_slice(&0xdead_beefu32.to_be_bytes());
        buf[12..].fill(0xff);
        let p = RtpPacket::parse(&buf).unwrap();
        assert!(p.header.marker);
        assert_eq!(p.header.payload_type, 0);
        assert_eq!(p.header.sequence, 1234);
        assert_eq!(p.header.timestamp, 160_000);
        assert_eq!(p.header.ssrc, 0xdead_beef);
        assert_eq!(p.payload.len(), 160);
        assert_eq!(p.extension, None);
        assert_eq!(p.padding, 0);
    }

    #[test]
    fn round_trips_csrc_extension_and_padding() {
        let mut header = RtpHeader::new(101, 65535, u32::MAX, 7);
        header.marker = true;
        header.csrc_count = 2;
        header.csrc[0] = 11;
        header.csrc[1] = 22;
        let ext_data = [1u8, 2, 3, 4, 5, 6, 7, 8];
        let packet = RtpPacket {
            header,
            extension: Some(RtpExtension {
                profile: 0xbede,
                data: &ext_data,
            }),
            payload: &[9, 9, 9],
            padding: 5,
        };
        let mut out = [0u8; 64];
        let n = packet.write(&mut out).unwrap();
        assert_eq!(n, packet.wire_len());
        assert_eq!(n, 12 + 8 + 4 + 8 + 3 + 5);
        let back = RtpPacket::parse(&out[..n]).unwrap();
        assert_eq!(back, packet);
        assert_eq!(back.header.csrcs(), &[11, 22]);
    }

    #[test]
    fn rejects_bad_input_with_errors() {
        assert_eq!(
            RtpPacket::parse(&[0x80; 5]),
            Err(RtpError::TooShort { need: 12, have: 5 })
        );
        let mut buf = [0u8; 12];
        buf[0] = 0x40;
        assert_eq!(RtpPacket::parse(&buf), Err(RtpError::BadVersion(1)));
        buf[0] = 0x83; // three CSRCs announced, none present
        assert_eq!(
            RtpPacket::parse(&buf),
            Err(RtpError::TooShort { need: 24, have: 12 })
        );
        buf[0] = 0x90; // extension announced, missing
        assert_eq!(
            RtpPacket::parse(&buf),
            Err(RtpError::TooShort { need: 16, have: 12 })
        );
        let mut padded = [0u8; 14];
        padded[0] = 0xa0;
        padded[13] = 0;
        assert_eq!(RtpPacket::parse(&padded), Err(RtpError::BadPadding(0)));
        padded[13] = 3;
        assert_eq!(RtpPacket::parse(&padded), Err(RtpError::BadPadding(3)));
        padded[13] = 2;
        assert_eq!(RtpPacket::parse(&padded).unwrap().payload.len(), 0);
    }

    #[test]
    fn writer_reports_small_buffers_and_bad_extension() {
        let header = RtpHeader::new(0, 1, 2, 3);
        let mut small = [0u8; 20];
        assert_eq!(
            write_simple(&header, &[0; 160], &mut small),
            Err(RtpError::BufferTooSmall {
                need: 172,
                have: 20
            })
        );
        let ext = RtpExtension {
            profile: 1,
            data: &[1, 2, 3],
        };
        assert_eq!(
            write_header(&header, Some(&ext), false, &mut [0; 64]),
            Err(RtpError::ExtensionNotAligned(3))
        );
        let mut bad = header;
        bad.csrc_count = 16;
        assert_eq!(
            write_header(&bad, None, false, &mut [0; 128]),
            Err(RtpError::TooManyCsrc(16))
        );
        let mut out = [0u8; 200];
        let n = write_simple(&header, &[7; 160], &mut out).unwrap();
        assert_eq!(RtpPacket::parse(&out[..n]).unwrap().payload, &[7; 160][..]);
    }
}
