//! Fuzz target: any bytes as a compound RTCP packet; every view is walked, and every SR, RR,
//! SDES CNAME and BYE that parsed is rebuilt with the writer and must parse back equal.

#![no_main]

use libfuzzer_sys::fuzz_target;
use voxbin_media::rtp::{parse_compound, RtcpPacket, RtcpWriter};

fuzz_target!(|data: &[u8]| {
    for packet in parse_compound(data) {
        let Ok(packet) = packet else { break };
        let mut buf = [0u8; 2048];
        let mut w = RtcpWriter::new(&mut buf);
        match packet {
            RtcpPacket::SenderReport {
                ssrc,
                info,
                reports,
            } => {
                let blocks: Vec<_> = reports.iter().collect();
                w.sender_report(ssrc, &info, &blocks)
                    .expect("at most 31 blocks");
                let n = w.finish();
                match parse_compound(&buf[..n]).next() {
                    Some(Ok(RtcpPacket::SenderReport {
                        ssrc: s2,
                        info: i2,
                        reports: r2,
                    })) => {
                        assert_eq!((s2, i2), (ssrc, info));
                        assert!(r2.iter().eq(blocks.iter().copied()));
                    }
                    other => panic!("rebuilt SR parsed as {other:?}"),
                }
            }
            RtcpPacket::ReceiverReport { ssrc, reports } => {
                let blocks: Vec<_> = reports.iter().collect();
                w.receiver_report(ssrc, &blocks).expect("at most 31 blocks");
                let n = w.finish();
                match parse_compound(&buf[..n]).next() {
                    Some(Ok(RtcpPacket::ReceiverReport {
                        ssrc: s2,
                        reports: r2,
                    })) => {
                        assert_eq!(s2, ssrc);
                        assert!(r2.iter().eq(blocks.iter().copied()));
                    }
                    other => panic!("rebuilt RR parsed as {other:?}"),
                }
            }
            RtcpPacket::Sdes(chunks) => {
                let first = chunks.iter().next();
                if let (Some((ssrc, _)), Some(cname)) = (first, chunks.cname()) {
                    w.sdes_cname(ssrc, cname).expect("cname fits");
                    let n = w.finish();
                    match parse_compound(&buf[..n]).next() {
                        Some(Ok(RtcpPacket::Sdes(c2))) => assert_eq!(c2.cname(), Some(cname)),
                        other => panic!("rebuilt SDES parsed as {other:?}"),
                    }
                }
                for (_, items) in chunks.iter() {
                    assert!(items.iter().all(|i| i.kind != 0));
                }
            }
            RtcpPacket::Bye { sources, reason } => {
                let list: Vec<u32> = sources.iter().collect();
                w.bye(&list, reason).expect("bye fits");
                let n = w.finish();
                match parse_compound(&buf[..n]).next() {
                    Some(Ok(RtcpPacket::Bye {
                        sources: s2,
                        reason: r2,
                    })) => {
                        assert!(s2.iter().eq(list.iter().copied()));
                        assert_eq!(r2, reason);
                    }
                    other => panic!("rebuilt BYE parsed as {other:?}"),
                }
            }
            RtcpPacket::Other { body, .. } => assert!(body.len() < data.len()),
        }
    }
});
