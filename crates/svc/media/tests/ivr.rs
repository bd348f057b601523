//! The media role driven over the bus as the call service drives it, with sipp as the
//! caller: answer, a spoken prompt, digits collected from RFC 4733 events, the caller
//! recorded, and hangup.

mod support;

use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caller_hears_prompt_keys_digits_and_is_recorded() {
    let mut h = support::start(17100, 46000).await;
    let beat = h.next("medianode_updated").await;
    assert_eq!(beat["status"], "up");
    assert_eq!(beat["address"], "127.0.0.1:17100");

    let sipp = support::sipp_uac("caller_ivr", 17101, 45100, 17100);
    let created = h.next("leg_created").await;
    assert_eq!(created["direction"], "incoming");
    assert_eq!(created["headers"]["X-Voxbin-Number"], "+15550100");
    let leg = created["id"].as_str().expect("leg id").to_string();

    h.command(&format!("/v1/legs/{leg}/answer"), json!({}))
        .await
        .expect("answer");
    let answered = h.next("leg_answered").await;
    assert_eq!(answered["id"], leg.as_str());

    let talk = h
        .command(
            &format!("/v1/legs/{leg}/talk"),
            json!({"text": "Welcome to Voxbin. Please enter your code.", "language": "en-US"}),
        )
        .await
        .expect("talk");
    let record = h
        .command(
            &format!("/v1/legs/{leg}/record_start"),
            json!({"direction": "in", "max_duration_ms": 20000}),
        )
        .await
        .expect("record");
    let collect = h
        .command(
            &format!("/v1/legs/{leg}/digits_collect"),
            json!({"max_digits": 3, "inter_digit_timeout_ms": 15000, "stop_playback": false}),
        )
        .await
        .expect("collect");

    let played = h.next("playback_finished").await;
    assert_eq!(played["op_id"], talk["op_id"]);
    assert_eq!(played["reason"], "completed");
    assert!(
        played["position_ms"].as_u64().unwrap_or(0) > 1000,
        "{played}"
    );

    let digits = h.next("digits_collected").await;
    assert_eq!(digits["op_id"], collect["op_id"]);
    assert_eq!(digits["digits"], "123");
    assert_eq!(digits["reason"], "max_digits");

    h.command(&format!("/v1/legs/{leg}/record_stop"), json!({}))
        .await
        .expect("record_stop");
    let rec = h.next("recording_finished").await;
    assert_eq!(rec["op_id"], record["op_id"]);
    let path = rec["path"].as_str().expect("path").to_string();

    h.command(
        &format!("/v1/legs/{leg}/hangup"),
        json!({"cause": "normal"}),
    )
    .await
    .expect("hangup");
    let hangup = h.next("leg_hangup").await;
    assert_eq!(hangup["hangup_reason"], "normal");
    assert_eq!(hangup["hangup_by"], "local");
    support::sipp_passes(sipp).await;

    // the recording holds the caller's speech at about the level sipp sent it
    let recorded = support::wav_samples(std::path::Path::new(&path));
    let sent = support::pcap_speech();
    assert!(
        recorded.len() >= 8000 * 6,
        "recording is {} samples",
        recorded.len()
    );
    let (rec_rms, sent_rms) = (
        support::rms(&recorded[..sent.len().min(recorded.len())]),
        support::rms(&sent),
    );
    assert!(
        rec_rms > sent_rms * 0.5 && rec_rms < sent_rms * 1.5,
        "recorded RMS {rec_rms:.0} vs sent {sent_rms:.0}"
    );
    h.node.stop().await;
}
