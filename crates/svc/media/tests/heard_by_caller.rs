//! What a caller hears: baresip (a real softphone, Debian's `baresip-core`) calls the media
//! node, which answers and speaks a TTS prompt; baresip writes what it received to a WAV
//! file, and the test checks that the prompt is in it, as loud speech for about as long as
//! the engine says it played.

mod support;

use std::path::Path;
use std::time::Duration;

use serde_json::json;

/// baresip's configuration: SIP on `port`, silence in, both directions dumped to WAV files
/// in `dumps` (the sndfile module: `dump-<call>-dec.wav` is what the caller heard).
fn baresip_config(dir: &Path, port: u16, dumps: &Path) {
    let silence = dir.join("silence.wav");
    let mut wav = Vec::new();
    let samples: u32 = 8000 * 30;
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + samples * 2).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes());
    wav.extend_from_slice(&8000u32.to_le_bytes());
    wav.extend_from_slice(&16000u32.to_le_bytes());
    wav.extend_from_slice(&2u16.to_le_bytes());
    wav.extend_from_slice(&16u16.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&(samples * 2).to_le_bytes());
    wav.resize(wav.len() + samples as usize * 2, 0);
    std::fs::write(&silence, wav).unwrap();
    let config = format!(
        "poll_method epoll\n\
         sip_listen 127.0.0.1:{port}\n\
         snd_path {dumps}\n\
         audio_source aufile,{silence}\n\
         audio_alert aufile,{alert}\n\
         ausrc_srate 8000\nauplay_srate 8000\nausrc_channels 1\nauplay_channels 1\n\
         rtp_ports 45300-45398\n\
         module_path /usr/lib/baresip/modules\n\
         module g711.so\nmodule aufile.so\nmodule sndfile.so\nmodule menu.so\nmodule account.so\n",
        dumps = dumps.display(),
        silence = silence.display(),
        alert = dir.join("alert.wav").display(),
    );
    std::fs::write(dir.join("config"), config).unwrap();
    std::fs::write(dir.join("accounts"), "<sip:caller@127.0.0.1>;regint=0\n").unwrap();
}

/// The samples of a WAV file baresip wrote (sizes in the header may be unset).
fn samples_after_data_chunk(path: &Path) -> Vec<i16> {
    let bytes = std::fs::read(path).expect("baresip wrote what it heard");
    let at = bytes
        .windows(4)
        .position(|w| w == b"data")
        .expect("a data chunk")
        + 8;
    bytes[at..]
        .chunks_exact(2)
        .map(|c| i16::from_le_bytes([c[0], c[1]]))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn softphone_caller_hears_the_spoken_prompt() {
    let mut h = support::start(17200, 46200).await;
    let phone_dir = tempfile::tempdir().unwrap();
    let dumps = phone_dir.path().join("dumps");
    std::fs::create_dir_all(&dumps).unwrap();
    baresip_config(phone_dir.path(), 17201, &dumps);
    let mut phone = tokio::process::Command::new("baresip")
        .arg("-f")
        .arg(phone_dir.path())
        .args(["-e", "/dial sip:ivr@127.0.0.1:17200", "-t", "40"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("baresip is installed (apt-get install baresip-core)");

    let created = h.next("leg_created").await;
    let leg = created["id"].as_str().expect("leg id").to_string();
    assert!(created["from"].as_str().unwrap_or("").contains("caller"));
    h.command(&format!("/v1/legs/{leg}/answer"), json!({}))
        .await
        .expect("answer");
    h.next("leg_answered").await;
    // the phone starts its audio once it has the 200; a short pause keeps the prompt whole
    h.command(
        &format!("/v1/legs/{leg}/silence"),
        json!({"duration_ms": 500}),
    )
    .await
    .expect("silence");
    h.next("playback_finished").await;
    let talk = h
        .command(
            &format!("/v1/legs/{leg}/talk"),
            json!({"text": "Thank you for calling Voxbin. All our agents are busy. Please hold.", "language": "en-US"}),
        )
        .await
        .expect("talk");
    let played = h.next("playback_finished").await;
    assert_eq!(played["op_id"], talk["op_id"]);
    assert_eq!(played["reason"], "completed");
    let prompt_ms = played["position_ms"].as_u64().expect("position_ms");
    h.command(&format!("/v1/legs/{leg}/hangup"), json!({}))
        .await
        .expect("hangup");
    let hangup = h.next("leg_hangup").await;
    assert_eq!(hangup["hangup_by"], "local");
    // baresip closes the file when the call ends
    tokio::time::sleep(Duration::from_millis(500)).await;
    let _ = phone.kill().await;

    let heard = std::fs::read_dir(&dumps)
        .expect("dump dir")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with("-dec.wav"))
        .expect("baresip dumped what it heard");
    let samples = samples_after_data_chunk(&heard);
    let frames: Vec<f64> = samples.chunks(160).map(support::rms).collect();
    let loud = frames.iter().filter(|&&r| r > 300.0).count() as u64;
    let loud_ms = loud * 20;
    let heard_ms = samples.len() as u64 / 8;
    let speech_rms = support::rms(&samples);
    println!("prompt {prompt_ms} ms, heard {heard_ms} ms, loud {loud_ms} ms, RMS {speech_rms:.0}");
    assert!(prompt_ms > 2000, "the prompt lasted {prompt_ms} ms");
    assert!(
        heard_ms + 200 >= prompt_ms,
        "heard {heard_ms} ms of a {prompt_ms} ms prompt"
    );
    // speech has pauses: at least a third of the prompt is loud, and never more than played
    assert!(
        loud_ms * 3 >= prompt_ms && loud_ms <= prompt_ms + 600,
        "{loud_ms} ms loud of a {prompt_ms} ms prompt"
    );
    assert!(
        speech_rms > 300.0,
        "RMS of what the caller heard: {speech_rms:.0}"
    );
    h.node.stop().await;
}
