//! Three callers (sipp, each talking) answered by the media node and put in one conference;
//! the conference recording holds their mixed speech.

mod support;

use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_callers_meet_in_a_recorded_conference() {
    let mut h = support::start(17400, 46600).await;
    let callers: Vec<_> = (0..3u16)
        .map(|i| support::sipp_uac("caller_talks", 17401 + i, 45600 + i * 10, 17400))
        .collect();
    let mut legs = Vec::new();
    for _ in 0..3 {
        let created = h.next("leg_created").await;
        let leg = created["id"].as_str().expect("leg id").to_string();
        h.command(&format!("/v1/legs/{leg}/answer"), json!({}))
            .await
            .expect("answer");
        legs.push(leg);
    }
    let conf = h
        .command("/v1/conferences", json!({"tones": false}))
        .await
        .expect("conference");
    let conf_id = conf["id"].as_str().expect("conference id").to_string();
    for leg in &legs {
        h.command(
            &format!("/v1/conferences/{conf_id}/join"),
            json!({"leg_id": leg}),
        )
        .await
        .expect("join");
    }
    let rec = h
        .command(
            &format!("/v1/conferences/{conf_id}/record_start"),
            json!({"max_duration_ms": 3000}),
        )
        .await
        .expect("record");
    let done = h.next("recording_finished").await;
    assert_eq!(done["op_id"], rec["op_id"]);
    assert_eq!(done["conference_id"], conf_id.as_str());
    let samples = support::wav_samples(std::path::Path::new(done["path"].as_str().unwrap()));
    let rms = support::rms(&samples);
    let sent = support::rms(&support::pcap_speech());
    println!(
        "conference recording: {} samples, RMS {rms:.0} (one caller sent RMS {sent:.0})",
        samples.len()
    );
    assert!(samples.len() >= 8000 * 2, "{} samples", samples.len());
    // three talkers mixed are at least as loud as one
    assert!(
        rms > sent * 0.7,
        "conference RMS {rms:.0}, one caller {sent:.0}"
    );

    // a leg can leave, the others stay; then everybody hangs up
    h.command(
        &format!("/v1/conferences/{conf_id}/leave"),
        json!({"leg_id": legs[0]}),
    )
    .await
    .expect("leave");
    for leg in &legs {
        h.command(&format!("/v1/legs/{leg}/hangup"), json!({}))
            .await
            .expect("hangup");
    }
    for _ in 0..3 {
        h.next("leg_hangup").await;
    }
    for c in callers {
        support::sipp_passes(c).await;
    }
    h.call(
        voxbin_bus::Method::Delete,
        &format!("/v1/conferences/{conf_id}"),
        json!({}),
    )
    .await
    .expect("conference destroyed");
    h.node.stop().await;
}
