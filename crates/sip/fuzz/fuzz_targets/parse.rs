//! Fuzz target: any bytes through the datagram and stream parsers, every typed accessor, the
//! digest header parsers and the transaction layer; a parsed message must survive
//! serialise -> parse unchanged.

#![no_main]

use std::time::Instant;

use libfuzzer_sys::fuzz_target;
use voxbin_sip::digest::{Challenge, Credentials};
use voxbin_sip::transaction::{Input, TimerConfig, Transactions};
use voxbin_sip::{parse_datagram, parse_stream, HeaderName, Message, Parsed, Target, Transport};

/// Calls everything that parses header values on demand.
fn touch(msg: &Message) {
    let h = msg.headers();
    let _ = (h.vias(), h.from_hdr(), h.to_hdr(), h.call_id(), h.cseq());
    let _ = (
        h.contacts(),
        h.routes(),
        h.record_routes(),
        h.max_forwards(),
        h.expires(),
    );
    let _ = msg.validate();
    for v in h.get_all(&HeaderName::Authorization) {
        let _ = Credentials::parse(v);
    }
    for v in h.get_all(&HeaderName::WwwAuthenticate) {
        let _ = Challenge::parse(v);
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(msg) = parse_datagram(data) {
        touch(&msg);
        let wire = msg.to_bytes();
        let again = parse_datagram(&wire).expect("serialised message parses");
        assert_eq!(again, msg, "serialise -> parse changed the message");
        let mut txs = Transactions::new(TimerConfig::default());
        let from = Target::new(Transport::Udp, "192.0.2.1:5060".parse().expect("address"));
        let _ = txs.handle(Input::Received { msg, from }, Instant::now());
        while txs.poll().is_some() {}
    }
    let mut rest = data;
    while let Ok(parsed) = parse_stream(rest) {
        let used = match parsed {
            Parsed::Message { msg, consumed } => {
                touch(&msg);
                consumed
            }
            Parsed::KeepAlive { consumed, .. } => consumed,
            Parsed::Incomplete => break,
        };
        rest = &rest[used.min(rest.len())..];
    }
});
