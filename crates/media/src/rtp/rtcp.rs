//! RTCP (RFC 3550 section 6): parse compound packets into borrowed views (SR, RR, SDES, BYE,
//! anything else kept raw) and build compound packets into a caller-provided buffer.

use thiserror::Error;

/// Packet type of a sender report.
pub const PT_SR: u8 = 200;
/// Packet type of a receiver report.
pub const PT_RR: u8 = 201;
/// Packet type of source description.
pub const PT_SDES: u8 = 202;
/// Packet type of goodbye.
pub const PT_BYE: u8 = 203;
/// SDES item type of the canonical name.
pub const SDES_CNAME: u8 = 1;
/// Largest number of report blocks or BYE sources in one packet (5-bit count).
pub const MAX_COUNT: usize = 31;
const REPORT_BLOCK_LEN: usize = 24;

/// Why an RTCP packet could not be parsed or built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum RtcpError {
    /// The buffer ends before the header or the length it announces.
    #[error("rtcp packet too short: need {need} bytes, have {have}")]
    TooShort {
        /// Bytes needed.
        need: usize,
        /// Bytes present.
        have: usize,
    },
    /// The version field is not 2.
    #[error("rtcp version {0} is not 2")]
    BadVersion(u8),
    /// Padding on a packet that is not the last of the compound, or an impossible pad count.
    #[error("rtcp padding is invalid")]
    BadPadding,
    /// The body does not match the packet type's layout (count vs length, SDES items, BYE reason).
    #[error("rtcp packet type {0} has a malformed body")]
    Malformed(u8),
    /// More than 31 report blocks or sources, or an SDES text over 255 bytes.
    #[error("rtcp item count or length out of range")]
    TooMany,
    /// The output buffer is too small.
    #[error("output buffer too small: need {need} bytes, have {have}")]
    BufferTooSmall {
        /// Bytes needed.
        need: usize,
        /// Bytes available.
        have: usize,
    },
}

/// Sender information of an SR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SenderInfo {
    /// NTP timestamp (seconds since 1900 in the high 32 bits, fraction in the low).
    pub ntp: u64,
    /// RTP timestamp matching `ntp`.
    pub rtp_timestamp: u32,
    /// Packets sent since the start.
    pub packet_count: u32,
    /// Payload octets sent since the start.
    pub octet_count: u32,
}

/// One reception report block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReportBlock {
    /// Source this block reports on.
    pub ssrc: u32,
    /// Fraction lost since the previous report, in 1/256.
    pub fraction_lost: u8,
    /// Cumulative packets lost (24-bit signed on the wire, clamped when built).
    pub cumulative_lost: i32,
    /// Extended highest sequence number received.
    pub highest_seq: u32,
    /// Interarrival jitter in timestamp units.
    pub jitter: u32,
    /// Middle 32 bits of the last SR's NTP timestamp (0 if none).
    pub last_sr: u32,
    /// Delay since that SR in 1/65536 s (0 if none).
    pub delay_since_last_sr: u32,
}

/// Report blocks of an SR or RR, decoded on iteration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportBlocks<'a> {
    raw: &'a [u8],
}

impl<'a> ReportBlocks<'a> {
    /// Number of blocks.
    pub fn len(&self) -> usize {
        self.raw.len() / REPORT_BLOCK_LEN
    }

    /// True when there are no blocks.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// The blocks in order.
    pub fn iter(&self) -> impl Iterator<Item = ReportBlock> + 'a {
        self.raw.chunks_exact(REPORT_BLOCK_LEN).map(|b| {
            let word = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
            // sign-extend the 24-bit cumulative loss
            let lost = (word(4) << 8) as i32 >> 8;
            ReportBlock {
                ssrc: word(0),
                fraction_lost: b[4],
                cumulative_lost: lost,
                highest_seq: word(8),
                jitter: word(12),
                last_sr: word(16),
                delay_since_last_sr: word(20),
            }
        })
    }
}

/// One SDES item (type and text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SdesItem<'a> {
    /// Item type (1 = CNAME, 2 = NAME, ...).
    pub kind: u8,
    /// Item text as sent (UTF-8 by the RFC, not checked).
    pub text: &'a [u8],
}

/// SDES chunks (source plus items), validated at parse time and decoded on iteration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SdesChunks<'a> {
    raw: &'a [u8],
    count: u8,
}

impl<'a> SdesChunks<'a> {
    /// Number of chunks.
    pub fn len(&self) -> usize {
        usize::from(self.count)
    }

    /// True when there are no chunks.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The chunks in order: (SSRC/CSRC, items).
    pub fn iter(&self) -> impl Iterator<Item = (u32, Vec<SdesItem<'a>>)> + 'a {
        let mut rest = self.raw;
        (0..self.count).map_while(move |_| {
            let (ssrc, items, used) = sdes_chunk(rest).ok()?;
            rest = &rest[used..];
            Some((ssrc, items))
        })
    }

    /// The first CNAME in the packet, if any.
    pub fn cname(&self) -> Option<&'a [u8]> {
        self.iter()
            .flat_map(|(_, items)| items)
            .find(|i| i.kind == SDES_CNAME)
            .map(|i| i.text)
    }
}

/// Reads one SDES chunk: (source, items, bytes used including the 32-bit alignment).
fn sdes_chunk(buf: &[u8]) -> Result<(u32, Vec<SdesItem<'_>>, usize), RtcpError> {
    if buf.len() < 4 {
        return Err(RtcpError::Malformed(PT_SDES));
    }
    let ssrc = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
    let mut pos = 4;
    let mut items = Vec::new();
    loop {
        let kind = *buf.get(pos).ok_or(RtcpError::Malformed(PT_SDES))?;
        if kind == 0 {
            pos += 1;
            break;
        }
        let len = usize::from(*buf.get(pos + 1).ok_or(RtcpError::Malformed(PT_SDES))?);
        let text = buf
            .get(pos + 2..pos + 2 + len)
            .ok_or(RtcpError::Malformed(PT_SDES))?;
        items.push(SdesItem { kind, text });
        pos += 2 + len;
    }
    let used = pos.div_ceil(4) * 4;
    if used > buf.len() {
        return Err(RtcpError::Malformed(PT_SDES));
    }
    Ok((ssrc, items, used))
}

/// Sources leaving, in a BYE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SsrcList<'a> {
    raw: &'a [u8],
}

impl<'a> SsrcList<'a> {
    /// Number of sources.
    pub fn len(&self) -> usize {
        self.raw.len() / 4
    }

    /// True when there are no sources.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// The sources in order.
    pub fn iter(&self) -> impl Iterator<Item = u32> + 'a {
        self.raw
            .chunks_exact(4)
            .map(|w| u32::from_be_bytes([w[0], w[1], w[2], w[3]]))
    }
}

/// One RTCP packet of a compound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RtcpPacket<'a> {
    /// Sender report.
    SenderReport {
        /// Sender's SSRC.
        ssrc: u32,
        /// What the sender sent.
        info: SenderInfo,
        /// Reception reports.
        reports: ReportBlocks<'a>,
    },
    /// Receiver report.
    ReceiverReport {
        /// Reporter's SSRC.
        ssrc: u32,
        /// Reception reports.
        reports: ReportBlocks<'a>,
    },
    /// Source description.
    Sdes(SdesChunks<'a>),
    /// Goodbye.
    Bye {
        /// Sources leaving.
        sources: SsrcList<'a>,
        /// Optional reason text.
        reason: Option<&'a [u8]>,
    },
    /// Any other packet type (APP, feedback, XR), kept raw.
    Other {
        /// Packet type.
        packet_type: u8,
        /// The 5-bit count/subtype field.
        count: u8,
        /// Body after the 4-byte header, without padding.
        body: &'a [u8],
    },
}

/// Iterator over the packets of a compound RTCP datagram; stops after the first error.
#[derive(Debug, Clone)]
pub struct RtcpIter<'a> {
    rest: &'a [u8],
    failed: bool,
}

/// Parses a compound RTCP datagram lazily: each item is one packet or the error that ends it.
pub fn parse_compound(buf: &[u8]) -> RtcpIter<'_> {
    RtcpIter {
        rest: buf,
        failed: false,
    }
}

/// Parses a whole compound packet, failing if any packet is bad; `visit` sees each packet.
pub fn validate_compound<'a>(
    buf: &'a [u8],
    mut visit: impl FnMut(RtcpPacket<'a>),
) -> Result<usize, RtcpError> {
    if buf.is_empty() {
        return Err(RtcpError::TooShort { need: 4, have: 0 });
    }
    let mut n = 0;
    for packet in parse_compound(buf) {
        visit(packet?);
        n += 1;
    }
    Ok(n)
}

impl<'a> Iterator for RtcpIter<'a> {
    type Item = Result<RtcpPacket<'a>, RtcpError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.rest.is_empty() {
            return None;
        }
        match parse_one(self.rest) {
            Ok((packet, used)) => {
                self.rest = &self.rest[used..];
                Some(Ok(packet))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

fn parse_one(buf: &[u8]) -> Result<(RtcpPacket<'_>, usize), RtcpError> {
    if buf.len() < 4 {
        return Err(RtcpError::TooShort {
            need: 4,
            have: buf.len(),
        });
    }
    let version = buf[0] >> 6;
    if version != 2 {
        return Err(RtcpError::BadVersion(version));
    }
    let padded = buf[0] & 0x20 != 0;
    let count = buf[0] & 0x1f;
    let pt = buf[1];
    let total = 4 * (usize::from(u16::from_be_bytes([buf[2], buf[3]])) + 1);
    if buf.len() < total {
        return Err(RtcpError::TooShort {
            need: total,
            have: buf.len(),
        });
    }
    let mut end = total;
    if padded {
        // padding is only allowed on the last packet of the compound
        if total != buf.len() {
            return Err(RtcpError::BadPadding);
        }
        let pad = usize::from(buf[total - 1]);
        if pad == 0 || pad > total - 4 {
            return Err(RtcpError::BadPadding);
        }
        end -= pad;
    }
    let body = &buf[4..end];
    let word = |b: &[u8], i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    let packet = match pt {
        PT_SR => {
            let need = 24 + REPORT_BLOCK_LEN * usize::from(count);
            if body.len() < need {
                return Err(RtcpError::Malformed(pt));
            }
            let info = SenderInfo {
                ntp: (u64::from(word(body, 4)) << 32) | u64::from(word(body, 8)),
                rtp_timestamp: word(body, 12),
                packet_count: word(body, 16),
                octet_count: word(body, 20),
            };
            RtcpPacket::SenderReport {
                ssrc: word(body, 0),
                info,
                reports: ReportBlocks {
                    raw: &body[24..need],
                },
            }
        }
        PT_RR => {
            let need = 4 + REPORT_BLOCK_LEN * usize::from(count);
            if body.len() < need {
                return Err(RtcpError::Malformed(pt));
            }
            RtcpPacket::ReceiverReport {
                ssrc: word(body, 0),
                reports: ReportBlocks {
                    raw: &body[4..need],
                },
            }
        }
        PT_SDES => {
            let mut rest = body;
            for _ in 0..count {
                let (_, _, used) = sdes_chunk(rest)?;
                rest = &rest[used..];
            }
            RtcpPacket::Sdes(SdesChunks { raw: body, count })
        }
        PT_BYE => {
            let list = 4 * usize::from(count);
            if body.len() < list {
                return Err(RtcpError::Malformed(pt));
            }
            let reason = match body.get(list) {
                None => None,
                Some(&len) => {
                    let text = body
                        .get(list + 1..list + 1 + usize::from(len))
                        .ok_or(RtcpError::Malformed(pt))?;
                    Some(text)
                }
            };
            RtcpPacket::Bye {
                sources: SsrcList { raw: &body[..list] },
                reason,
            }
        }
        _ => RtcpPacket::Other {
            packet_type: pt,
            count,
            body,
        },
    };
    Ok((packet, total))
}

/// Builds a compound RTCP packet into a caller-provided buffer, one packet per call.
#[derive(Debug)]
pub struct RtcpWriter<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> RtcpWriter<'a> {
    /// Starts an empty compound in `buf`.
    pub fn new(buf: &'a mut [u8]) -> Self {
        RtcpWriter { buf, len: 0 }
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when nothing has been written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The compound built so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    fn reserve(&mut self, size: usize) -> Result<&mut [u8], RtcpError> {
        let need = self.len + size;
        if self.buf.len() < need {
            return Err(RtcpError::BufferTooSmall {
                need,
                have: self.buf.len(),
            });
        }
        let start = self.len;
        self.len = need;
        Ok(&mut self.buf[start..need])
    }

    fn header(out: &mut [u8], count: usize, pt: u8, size: usize) {
        out[0] = 0x80 | (count as u8 & 0x1f);
        out[1] = pt;
        out[2..4].copy_from_slice(&((size / 4 - 1) as u16).to_be_bytes());
    }

    fn blocks(out: &mut [u8], reports: &[ReportBlock]) {
        for (chunk, r) in out.chunks_exact_mut(REPORT_BLOCK_LEN).zip(reports) {
            let lost = r.cumulative_lost.clamp(-0x80_0000, 0x7f_ffff) as u32 & 0x00ff_ffff;
            chunk[0..4].copy_from_slice(&r.ssrc.to_be_bytes());
            chunk[4..8].copy_from_slice(&((u32::from(r.fraction_lost) << 24) | lost).to_be_bytes());
            chunk[8..12].copy_from_slice(&r.highest_seq.to_be_bytes());
            chunk[12..16].copy_from_slice(&r.jitter.to_be_bytes());
            chunk[16..20].copy_from_slice(&r.last_sr.to_be_bytes());
            chunk[20..24].copy_from_slice(&r.delay_since_last_sr.to_be_bytes());
        }
    }

    /// Appends a sender report with up to 31 report blocks.
    pub fn sender_report(
        &mut self,
        ssrc: u32,
        info: &SenderInfo,
        reports: &[ReportBlock],
    ) -> Result<(), RtcpError> {
        if reports.len() > MAX_COUNT {
            return Err(RtcpError::TooMany);
        }
        let size = 28 + REPORT_BLOCK_LEN * reports.len();
        let out = self.reserve(size)?;
        Self::header(out, reports.len(), PT_SR, size);
        out[4..8].copy_from_slice(&ssrc.to_be_bytes());
        out[8..16].copy_from_slice(&info.ntp.to_be_bytes());
        out[16..20].copy_from_slice(&info.rtp_timestamp.to_be_bytes());
        out[20..24].copy_from_slice(&info.packet_count.to_be_bytes());
        out[24..28].copy_from_slice(&info.octet_count.to_be_bytes());
        Self::blocks(&mut out[28..], reports);
        Ok(())
    }

    /// Appends a receiver report with up to 31 report blocks.
    pub fn receiver_report(&mut self, ssrc: u32, reports: &[ReportBlock]) -> Result<(), RtcpError> {
        if reports.len() > MAX_COUNT {
            return Err(RtcpError::TooMany);
        }
        let size = 8 + REPORT_BLOCK_LEN * reports.len();
        let out = self.reserve(size)?;
        Self::header(out, reports.len(), PT_RR, size);
        out[4..8].copy_from_slice(&ssrc.to_be_bytes());
        Self::blocks(&mut out[8..], reports);
        Ok(())
    }

    /// Appends an SDES packet with one chunk holding a CNAME (the item every compound needs).
    pub fn sdes_cname(&mut self, ssrc: u32, cname: &[u8]) -> Result<(), RtcpError> {
        if cname.len() > 255 {
            return Err(RtcpError::TooMany);
        }
        // chunk: ssrc, type, len, text, at least one null, padded to a word
        let chunk = (4 + 2 + cname.len() + 1).div_ceil(4) * 4;
        let size = 4 + chunk;
        let out = self.reserve(size)?;
        Self::header(out, 1, PT_SDES, size);
        out[4..8].copy_from_slice(&ssrc.to_be_bytes());
        out[8] = SDES_CNAME;
        out[9] = cname.len() as u8;
        out[10..10 + cname.len()].copy_from_slice(cname);
        out[10 + cname.len()..].fill(0);
        Ok(())
    }

    /// Appends a BYE for up to 31 sources with an optional reason (at most 255 bytes).
    pub fn bye(&mut self, sources: &[u32], reason: Option<&[u8]>) -> Result<(), RtcpError> {
        if sources.len() > MAX_COUNT || reason.is_some_and(|r| r.len() > 255) {
            return Err(RtcpError::TooMany);
        }
        let reason_len = reason.map_or(0, |r| 1 + r.len());
        let size = (4 + 4 * sources.len() + reason_len).div_ceil(4) * 4;
        let out = self.reserve(size)?;
        Self::header(out, sources.len(), PT_BYE, size);
        let mut pos = 4;
        for s in sources {
            out[pos..pos + 4].copy_from_slice(&s.to_be_bytes());
            pos += 4;
        }
        if let Some(r) = reason {
            out[pos] = r.len() as u8;
            out[pos + 1..pos + 1 + r.len()].copy_from_slice(r);
            pos += 1 + r.len();
        }
        out[pos..].fill(0);
        Ok(())
    }

    /// Ends the compound and returns its length.
    pub fn finish(self) -> usize {
        self.len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(ssrc: u32, lost: i32) -> ReportBlock {
        ReportBlock {
            ssrc,
            fraction_lost: 25,
            cumulative_lost: lost,
            highest_seq: 0x0001_0005,
            jitter: 42,
            last_sr: 0x1234_5678,
            delay_since_last_sr: 65536,
        }
    }

    #[test]
    fn compound_sr_sdes_bye_round_trips() {
        let mut buf = [0u8; 256];
        let mut w = RtcpWriter::new(&mut buf);
        let info = SenderInfo {
            ntp: 0xe000_0000_8000_0000,
            rtp_timestamp: 8000,
            packet_count: 50,
            octet_count: 8000,
        };
        w.sender_report(0xaaaa, &info, &[block(0xbbbb, -3)])
            .unwrap();
        w.sdes_cname(0xaaaa, b"leg-1@voxbin").unwrap();
        w.bye(&[0xaaaa], Some(b"hangup")).unwrap();
        let n = w.finish();
        assert_eq!(n % 4, 0);
        let mut seen = Vec::new();
        assert_eq!(validate_compound(&buf[..n], |p| seen.push(p)).unwrap(), 3);
        match seen[0] {
            RtcpPacket::SenderReport {
                ssrc,
                info: got,
                reports,
            } => {
                assert_eq!(ssrc, 0xaaaa);
                assert_eq!(got, info);
                assert_eq!(reports.iter().collect::<Vec<_>>(), vec![block(0xbbbb, -3)]);
            }
            other => panic!("expected SR, got {other:?}"),
        }
        match seen[1] {
            RtcpPacket::Sdes(chunks) => {
                assert_eq!(chunks.len(), 1);
                assert_eq!(chunks.cname(), Some(&b"leg-1@voxbin"[..]));
            }
            other => panic!("expected SDES, got {other:?}"),
        }
        match seen[2] {
            RtcpPacket::Bye { sources, reason } => {
                assert_eq!(sources.iter().collect::<Vec<_>>(), vec![0xaaaa]);
                assert_eq!(reason, Some(&b"hangup"[..]));
            }
            other => panic!("expected BYE, got {other:?}"),
        }
    }

    #[test]
    fn receiver_report_and_unknown_types() {
        let mut buf = [0u8; 128];
        let mut w = RtcpWriter::new(&mut buf);
        w.receiver_report(7, &[block(1, 0x7f_ffff), block(2, i32::MIN)])
            .unwrap();
        let n = w.finish();
        // append an APP packet by hand: the parser keeps it raw
        buf[n..n + 12].copy_from_slice(&[0x81, 204, 0, 2, 0, 0, 0, 7, b'v', b'o', b'x', b'b']);
        let packets: Vec<_> = parse_compound(&buf[..n + 12])
            .collect::<Result<_, _>>()
            .unwrap();
        match packets[0] {
            RtcpPacket::ReceiverReport { ssrc, reports } => {
                assert_eq!(ssrc, 7);
                let blocks: Vec<_> = reports.iter().collect();
                assert_eq!(blocks[0].cumulative_lost, 0x7f_ffff);
                assert_eq!(blocks[1].cumulative_lost, -0x80_0000);
            }
            other => panic!("expected RR, got {other:?}"),
        }
        assert!(
            matches!(packets[1], RtcpPacket::Other { packet_type: 204, count: 1, body } if body.len() == 8)
        );
    }

    #[test]
    fn malformed_input_is_an_error() {
        assert_eq!(
            validate_compound(&[], |_| {}),
            Err(RtcpError::TooShort { need: 4, have: 0 })
        );
        assert_eq!(
            validate_compound(&[0x40, 200, 0, 0], |_| {}),
            Err(RtcpError::BadVersion(1))
        );
        // length says 8 words, only one present
        assert_eq!(
            validate_compound(&[0x80, 201, 0, 7], |_| {}),
            Err(RtcpError::TooShort { need: 32, have: 4 })
        );
        // RR announcing one block but carrying none
        assert_eq!(
            validate_compound(&[0x81, 201, 0, 1, 0, 0, 0, 1], |_| {}),
            Err(RtcpError::Malformed(201))
        );
        // SDES item running past the end
        assert_eq!(
            validate_compound(&[0x81, 202, 0, 2, 0, 0, 0, 1, 1, 9, b'a', b'b'], |_| {}),
            Err(RtcpError::Malformed(202))
        );
        // padded packet that is not last
        let mut two = [0u8; 16];
        two[..8].copy_from_slice(&[0xa0, 201, 0, 1, 0, 0, 0, 4]);
        two[8..].copy_from_slice(&[0x80, 201, 0, 1, 0, 0, 0, 1]);
        assert_eq!(validate_compound(&two, |_| {}), Err(RtcpError::BadPadding));
        // BYE reason longer than the packet
        assert_eq!(
            validate_compound(&[0x81, 203, 0, 2, 0, 0, 0, 1, 9, b'x', 0, 0], |_| {}),
            Err(RtcpError::Malformed(203))
        );
    }

    #[test]
    fn writer_limits() {
        let mut tiny = [0u8; 8];
        let mut w = RtcpWriter::new(&mut tiny);
        assert_eq!(
            w.sender_report(1, &SenderInfo::default(), &[]),
            Err(RtcpError::BufferTooSmall { need: 28, have: 8 })
        );
        assert!(w.is_empty());
        let mut buf = [0u8; 2048];
        let mut w = RtcpWriter::new(&mut buf);
        assert_eq!(
            w.receiver_report(1, &[ReportBlock::default(); 32]),
            Err(RtcpError::TooMany)
        );
        assert_eq!(w.sdes_cname(1, &[b'a'; 256]), Err(RtcpError::TooMany));
        w.sdes_cname(1, b"abcd").unwrap();
        assert_eq!(w.len(), 16);
        assert_eq!(validate_compound(w.as_bytes(), |_| {}), Ok(1));
    }
}
