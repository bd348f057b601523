//! The RFC 4733 packet sequence for sending one digit: updates every packet interval with a
//! growing duration, the first with the marker bit, then the end packet three times. The RTP
//! session stamps sequence numbers and sends each packet at its offset.

use std::time::Duration;

use super::event::{event_code, DtmfError, TelephoneEvent};

/// Times the final (end) packet is sent, as RFC 4733 recommends.
pub const END_REPEATS: u32 = 3;

/// One telephone-event packet to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DtmfPacket {
    /// When to send it, relative to the start of the digit.
    pub offset: Duration,
    /// RTP marker bit (set on the first packet only).
    pub marker: bool,
    /// RTP timestamp: the same for every packet of the event.
    pub timestamp: u32,
    /// The 4-byte payload.
    pub payload: [u8; 4],
}

/// Iterator over the packets that send one digit.
#[derive(Debug, Clone)]
pub struct DtmfSender {
    event: u8,
    volume: u8,
    timestamp: u32,
    total: u16,
    step: u16,
    interval: Duration,
    index: u32,
    updates: u32,
}

impl DtmfSender {
    /// Packets for `digit` lasting `duration_ms` at 8 kHz, starting at RTP timestamp
    /// `timestamp`, one every `interval_ms` (20 is usual), at `volume` -dBm0 (0-63).
    pub fn new(
        digit: char,
        duration_ms: u32,
        volume: u8,
        timestamp: u32,
        interval_ms: u32,
    ) -> Result<Self, DtmfError> {
        let event = event_code(digit)?;
        let total = duration_ms * 8;
        if duration_ms == 0 || total > u32::from(u16::MAX) {
            return Err(DtmfError::BadDuration(duration_ms));
        }
        let interval_ms = interval_ms.clamp(10, 100);
        let step = (interval_ms * 8) as u16;
        let total = total as u16;
        Ok(DtmfSender {
            event,
            volume: volume.min(63),
            timestamp,
            total,
            step,
            interval: Duration::from_millis(u64::from(interval_ms)),
            index: 0,
            // updates before the end: every interval whose duration is still below the total
            updates: u32::from(total.div_ceil(step)) - 1,
        })
    }

    /// Number of packets the digit takes (updates plus the repeated end).
    pub fn packet_count(&self) -> u32 {
        self.updates + END_REPEATS
    }
}

impl Iterator for DtmfSender {
    type Item = DtmfPacket;

    fn next(&mut self) -> Option<DtmfPacket> {
        let i = self.index;
        if i >= self.packet_count() {
            return None;
        }
        self.index += 1;
        // end packets carry the full duration, one interval apart after the last update
        let (end, duration) = if i < self.updates {
            (false, self.step * (i as u16 + 1))
        } else {
            (true, self.total)
        };
        let payload = TelephoneEvent {
            event: self.event,
            end,
            volume: self.volume,
            duration,
        }
        .to_bytes();
        Some(DtmfPacket {
            offset: self.interval * i,
            marker: i == 0,
            timestamp: self.timestamp,
            payload,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtmf::event::{DtmfEvent, DtmfReceiver};

    #[test]
    fn hundred_ms_digit_sequence() {
        let packets: Vec<_> = DtmfSender::new('#', 100, 10, 4242, 20).unwrap().collect();
        // 800 units in steps of 160: updates at 160..640, then three ends at 800
        assert_eq!(packets.len(), 4 + 3);
        assert!(packets[0].marker && packets[1..].iter().all(|p| !p.marker));
        assert!(packets.iter().all(|p| p.timestamp == 4242));
        let events: Vec<_> = packets
            .iter()
            .map(|p| TelephoneEvent::parse(&p.payload).unwrap())
            .collect();
        assert_eq!(
            events.iter().map(|e| e.duration).collect::<Vec<_>>(),
            vec![160, 320, 480, 640, 800, 800, 800]
        );
        assert_eq!(events.iter().filter(|e| e.end).count(), 3);
        assert!(events.iter().all(|e| e.event == 11 && e.volume == 10));
        assert_eq!(packets[6].offset, Duration::from_millis(120));
        assert!(packets.windows(2).all(|w| w[0].offset < w[1].offset));
    }

    #[test]
    fn receiver_sees_one_digit_from_sender_output() {
        let mut rx = DtmfReceiver::default();
        let mut ended = Vec::new();
        for p in DtmfSender::new('7', 250, 10, 0, 20).unwrap() {
            rx.on_packet(p.timestamp, &p.payload, p.offset, |e| {
                if let DtmfEvent::Ended {
                    digit,
                    duration,
                    end_seen,
                    ..
                } = e
                {
                    ended.push((digit, duration, end_seen));
                }
            })
            .unwrap();
        }
        assert_eq!(ended, vec![('7', 2000, true)]);
    }

    #[test]
    fn short_and_bad_requests() {
        // shorter than one interval: no updates, just the three ends
        let packets: Vec<_> = DtmfSender::new('1', 10, 0, 0, 20).unwrap().collect();
        assert_eq!(packets.len(), 3);
        assert!(packets[0].marker);
        assert_eq!(
            TelephoneEvent::parse(&packets[0].payload).unwrap().duration,
            80
        );
        assert_eq!(
            DtmfSender::new('1', 0, 0, 0, 20).err(),
            Some(DtmfError::BadDuration(0))
        );
        assert_eq!(
            DtmfSender::new('1', 9000, 0, 0, 20).err(),
            Some(DtmfError::BadDuration(9000))
        );
        assert_eq!(
            DtmfSender::new('z', 100, 0, 0, 20).err(),
            Some(DtmfError::BadDigit('z'))
        );
    }
}
