//! Fuzz target: any text as SDP; a parsed description must serialise to text that parses and
//! serialises to itself, and answering it as an offer must give an answer that parses back.

#![no_main]

use libfuzzer_sys::fuzz_target;
use voxbin_media::sdp::{accept_answer, answer, offer, LocalMedia, SessionDescription};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(sdp) = text.parse::<SessionDescription>() else {
        return;
    };
    let once = sdp.to_string();
    let reparsed: SessionDescription = once.parse().expect("serialised sdp parses");
    assert_eq!(reparsed.to_string(), once, "serialisation is not stable");
    for i in 0..sdp.media.len() {
        let _ = (sdp.direction(i), sdp.connection_for(i));
        let m = &sdp.media[i];
        let _ = (m.rtpmaps().count(), m.ptime(), m.crypto().count());
        for pt in m.payload_types() {
            let _ = (m.rtpmap(pt), m.fmtp(pt));
        }
    }
    let mut local = LocalMedia::new("192.0.2.1".parse().expect("ip"), 4000, 1);
    local.crypto = Some("AES_CM_128_HMAC_SHA1_80 inline:a2V5".to_string());
    if let Ok((ans, negotiated)) = answer(&sdp, &local) {
        let text = ans.to_string();
        let back: SessionDescription = text.parse().expect("our answer parses");
        assert_eq!(back.media.len(), sdp.media.len());
        assert_eq!(back.media[negotiated.media_index].port, 4000);
    }
    // the input as an answer to our own offer
    let _ = accept_answer(&offer(&local), &sdp, &local);
});
