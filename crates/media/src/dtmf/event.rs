//! RFC 4733 telephone-event payloads and the receiver that turns a stream of them into digit
//! start/end events, ignoring the retransmitted end packets (same RTP timestamp).

use std::time::Duration;

use thiserror::Error;

/// Bytes of one telephone-event payload block.
pub const EVENT_PAYLOAD_LEN: usize = 4;

/// Why DTMF input or a DTMF request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum DtmfError {
    /// The payload is shorter than one 4-byte event block.
    #[error("telephone-event payload is {0} bytes, need 4")]
    TooShort(usize),
    /// The event code is not a DTMF digit (0-15).
    #[error("telephone-event code {0} is not a DTMF digit")]
    NotDtmf(u8),
    /// The character is not one of 0-9, *, #, A-D.
    #[error("{0:?} is not a DTMF digit")]
    BadDigit(char),
    /// A digit longer than one event can carry (65535 timestamp units) or of zero length.
    #[error("digit duration {0} ms is out of range")]
    BadDuration(u32),
    /// The stream has no telephone-event payload type (play the tone in-band instead).
    #[error("telephone-event was not negotiated")]
    NotNegotiated,
}

/// Event code (0-15) of a DTMF digit character, case-insensitive for A-D.
pub fn event_code(digit: char) -> Result<u8, DtmfError> {
    match digit {
        '0'..='9' => Ok(digit as u8 - b'0'),
        '*' => Ok(10),
        '#' => Ok(11),
        'A'..='D' => Ok(digit as u8 - b'A' + 12),
        'a'..='d' => Ok(digit as u8 - b'a' + 12),
        other => Err(DtmfError::BadDigit(other)),
    }
}

/// Digit character of an event code (0-15).
pub fn digit_of(code: u8) -> Result<char, DtmfError> {
    match code {
        0..=9 => Ok((b'0' + code) as char),
        10 => Ok('*'),
        11 => Ok('#'),
        12..=15 => Ok((b'A' + code - 12) as char),
        other => Err(DtmfError::NotDtmf(other)),
    }
}

/// One telephone-event block (RFC 4733 section 2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelephoneEvent {
    /// Event code (0-15 for DTMF).
    pub event: u8,
    /// End bit: this is (a retransmission of) the last packet of the event.
    pub end: bool,
    /// Power level in -dBm0 (0-63).
    pub volume: u8,
    /// Duration so far in timestamp units.
    pub duration: u16,
}

impl TelephoneEvent {
    /// Parses the first event block of a payload (redundant blocks after it are ignored).
    pub fn parse(payload: &[u8]) -> Result<Self, DtmfError> {
        if payload.len() < EVENT_PAYLOAD_LEN {
            return Err(DtmfError::TooShort(payload.len()));
        }
        Ok(TelephoneEvent {
            event: payload[0],
            end: payload[1] & 0x80 != 0,
            volume: payload[1] & 0x3f,
            duration: u16::from_be_bytes([payload[2], payload[3]]),
        })
    }

    /// The 4 payload bytes.
    pub fn to_bytes(&self) -> [u8; EVENT_PAYLOAD_LEN] {
        let d = self.duration.to_be_bytes();
        [
            self.event,
            (u8::from(self.end) << 7) | (self.volume & 0x3f),
            d[0],
            d[1],
        ]
    }
}

/// What the receiver reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DtmfEvent {
    /// First packet of a new digit (useful to stop a prompt at once).
    Started {
        /// The digit.
        digit: char,
        /// RTP timestamp of the event.
        timestamp: u32,
    },
    /// The digit is over: reported once, by its end packet or, if those were lost, by the
    /// next event or the timeout.
    Ended {
        /// The digit.
        digit: char,
        /// RTP timestamp of the event.
        timestamp: u32,
        /// Duration in timestamp units (the last one received).
        duration: u16,
        /// False when no end packet arrived (ended by a later event or the timeout).
        end_seen: bool,
    },
}

#[derive(Debug, Clone, Copy)]
struct Current {
    timestamp: u32,
    digit: char,
    duration: u16,
    last_seen: Duration,
}

/// Turns received telephone-event packets into digit events (one `Ended` per digit).
#[derive(Debug, Clone)]
pub struct DtmfReceiver {
    current: Option<Current>,
    last_ended: Option<u32>,
    timeout: Duration,
}

impl Default for DtmfReceiver {
    fn default() -> Self {
        DtmfReceiver::new(Duration::from_millis(500))
    }
}

impl DtmfReceiver {
    /// A receiver that ends a digit whose end packets are lost after `timeout` of silence.
    pub fn new(timeout: Duration) -> Self {
        DtmfReceiver {
            current: None,
            last_ended: None,
            timeout,
        }
    }

    /// Feeds one telephone-event RTP packet (its timestamp and payload) received at `now`;
    /// `emit` receives zero, one or two events.
    pub fn on_packet(
        &mut self,
        timestamp: u32,
        payload: &[u8],
        now: Duration,
        mut emit: impl FnMut(DtmfEvent),
    ) -> Result<(), DtmfError> {
        let ev = TelephoneEvent::parse(payload)?;
        let digit = digit_of(ev.event)?;
        if self.last_ended == Some(timestamp) {
            // retransmitted end packet of a digit already reported
            return Ok(());
        }
        if let Some(cur) = self.current.as_mut().filter(|c| c.timestamp == timestamp) {
            cur.duration = cur.duration.max(ev.duration);
            cur.last_seen = now;
        } else {
            if let Some(old) = self.current {
                // a new event began before the old one's end arrived
                self.finish(old, false, &mut emit);
            }
            self.start(timestamp, digit, ev.duration, now, &mut emit);
        }
        if ev.end {
            if let Some(cur) = self.current {
                self.finish(cur, true, &mut emit);
            }
        }
        Ok(())
    }

    fn start(
        &mut self,
        timestamp: u32,
        digit: char,
        duration: u16,
        now: Duration,
        emit: &mut impl FnMut(DtmfEvent),
    ) {
        self.current = Some(Current {
            timestamp,
            digit,
            duration,
            last_seen: now,
        });
        emit(DtmfEvent::Started { digit, timestamp });
    }

    fn finish(&mut self, cur: Current, end_seen: bool, emit: &mut impl FnMut(DtmfEvent)) {
        self.current = None;
        self.last_ended = Some(cur.timestamp);
        emit(DtmfEvent::Ended {
            digit: cur.digit,
            timestamp: cur.timestamp,
            duration: cur.duration,
            end_seen,
        });
    }

    /// When the driver should call `on_timeout` next, if a digit is in progress.
    pub fn next_timeout(&self) -> Option<Duration> {
        self.current.map(|c| c.last_seen + self.timeout)
    }

    /// Ends a digit whose end packets never came, once its timeout has passed.
    pub fn on_timeout(&mut self, now: Duration, mut emit: impl FnMut(DtmfEvent)) {
        if let Some(cur) = self.current {
            if now >= cur.last_seen + self.timeout {
                self.finish(cur, false, &mut emit);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(event: u8, end: bool, duration: u16) -> [u8; 4] {
        TelephoneEvent {
            event,
            end,
            volume: 10,
            duration,
        }
        .to_bytes()
    }

    fn run(rx: &mut DtmfReceiver, ts: u32, p: [u8; 4], ms: u64) -> Vec<DtmfEvent> {
        let mut out = Vec::new();
        rx.on_packet(ts, &p, Duration::from_millis(ms), |e| out.push(e))
            .unwrap();
        out
    }

    #[test]
    fn digit_codes_round_trip() {
        for (i, d) in "0123456789*#ABCD".chars().enumerate() {
            assert_eq!(event_code(d), Ok(i as u8));
            assert_eq!(digit_of(i as u8), Ok(d));
        }
        assert_eq!(event_code('b'), Ok(13));
        assert_eq!(event_code('x'), Err(DtmfError::BadDigit('x')));
        assert_eq!(digit_of(16), Err(DtmfError::NotDtmf(16)));
    }

    #[test]
    fn payload_round_trips() {
        let ev = TelephoneEvent {
            event: 11,
            end: true,
            volume: 63,
            duration: 1600,
        };
        assert_eq!(ev.to_bytes(), [11, 0xbf, 0x06, 0x40]);
        assert_eq!(TelephoneEvent::parse(&ev.to_bytes()), Ok(ev));
        assert_eq!(TelephoneEvent::parse(&[1, 2]), Err(DtmfError::TooShort(2)));
    }

    #[test]
    fn end_retransmissions_report_one_digit() {
        let mut rx = DtmfReceiver::default();
        assert_eq!(
            run(&mut rx, 800, payload(5, false, 160), 0),
            vec![DtmfEvent::Started {
                digit: '5',
                timestamp: 800
            }]
        );
        assert!(run(&mut rx, 800, payload(5, false, 320), 20).is_empty());
        let ended = DtmfEvent::Ended {
            digit: '5',
            timestamp: 800,
            duration: 800,
            end_seen: true,
        };
        assert_eq!(run(&mut rx, 800, payload(5, true, 800), 40), vec![ended]);
        assert!(run(&mut rx, 800, payload(5, true, 800), 60).is_empty());
        assert!(run(&mut rx, 800, payload(5, true, 800), 80).is_empty());
        assert_eq!(rx.next_timeout(), None);
        // the same digit again is a new event with a new timestamp
        assert_eq!(run(&mut rx, 4800, payload(5, false, 160), 500).len(), 1);
    }

    #[test]
    fn lost_end_is_reported_by_next_event_or_timeout() {
        let mut rx = DtmfReceiver::new(Duration::from_millis(300));
        run(&mut rx, 100, payload(1, false, 320), 0);
        let out = run(&mut rx, 2000, payload(2, true, 400), 200);
        assert_eq!(
            out,
            vec![
                DtmfEvent::Ended {
                    digit: '1',
                    timestamp: 100,
                    duration: 320,
                    end_seen: false
                },
                DtmfEvent::Started {
                    digit: '2',
                    timestamp: 2000
                },
                DtmfEvent::Ended {
                    digit: '2',
                    timestamp: 2000,
                    duration: 400,
                    end_seen: true
                },
            ]
        );
        run(&mut rx, 9000, payload(3, false, 160), 1000);
        assert_eq!(rx.next_timeout(), Some(Duration::from_millis(1300)));
        let mut out = Vec::new();
        rx.on_timeout(Duration::from_millis(1299), |e| out.push(e));
        assert!(out.is_empty());
        rx.on_timeout(Duration::from_millis(1300), |e| out.push(e));
        assert_eq!(
            out,
            vec![DtmfEvent::Ended {
                digit: '3',
                timestamp: 9000,
                duration: 160,
                end_seen: false
            }]
        );
    }

    #[test]
    fn non_dtmf_events_are_errors() {
        let mut rx = DtmfReceiver::default();
        assert_eq!(
            rx.on_packet(1, &payload(32, false, 1), Duration::ZERO, |_| {}),
            Err(DtmfError::NotDtmf(32))
        );
        assert_eq!(
            rx.on_packet(1, &[0], Duration::ZERO, |_| {}),
            Err(DtmfError::TooShort(1))
        );
    }
}
