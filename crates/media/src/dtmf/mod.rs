//! DTMF both ways: RFC 4733 telephone-events (payload, receiver, sender) and an in-band tone
//! detector for peers that send digits as audio.

pub mod detector;
pub mod event;
pub mod sender;

pub use detector::{DetectorConfig, DtmfDetector, InbandDigit};
pub use event::{digit_of, event_code, DtmfError, DtmfEvent, DtmfReceiver, TelephoneEvent};
pub use sender::{DtmfPacket, DtmfSender};
