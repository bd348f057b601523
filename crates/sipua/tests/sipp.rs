//! The user agent against sipp: sipp calls us (answer, early media, re-INVITE, BYE both
//! ways, CANCEL, session timer refresh and expiry) and we call sipp (407 challenge, busy,
//! CANCEL). sipp's exit status says whether every message it expected came.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;
use voxbin_sip::{Target, Transport, Uri};
use voxbin_sipua::{
    CallEvent, DigestCredentials, HangupCause, IncomingCall, Originate, Party, UaConfig, UaEvent,
    UserAgent,
};

/// Our SDP (RTP port 45000 is never read; only signalling is under test here).
const SDP: &str = "v=0\r\no=voxbin 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 45000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n";

fn scenario(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/scenarios")
        .join(format!("{name}.xml"))
}

/// A user agent on a fixed test port (session timers allowed down to 1 s).
async fn ua(port: u16) -> (UserAgent, mpsc::Receiver<UaEvent>) {
    let cfg = UaConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], port)),
        min_se: 1,
        ..UaConfig::default()
    };
    UserAgent::start(cfg).await.expect("bind the user agent")
}

/// Runs sipp with `scenario` (a UAC toward `remote`, or a UAS when `remote` is `None`).
fn sipp(name: &str, local_port: u16, remote: Option<u16>) -> tokio::process::Child {
    let dir = std::env::temp_dir().join(format!("voxbin-sipua-{name}-{local_port}"));
    let _ = std::fs::create_dir_all(&dir);
    let mut cmd = tokio::process::Command::new("sipp");
    if let Some(port) = remote {
        cmd.arg(format!("127.0.0.1:{port}"));
    }
    cmd.arg("-sf")
        .arg(scenario(name))
        .args(["-m", "1", "-i", "127.0.0.1", "-p"])
        .arg(local_port.to_string())
        .args([
            "-s",
            "service",
            "-nostdin",
            "-timeout",
            "30s",
            "-timeout_error",
        ])
        .args(["-trace_err"])
        .current_dir(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd.spawn()
        .expect("sipp is installed (apt-get install sip-tester)")
}

/// Waits for sipp and fails the test with its error log unless every call passed.
async fn sipp_passes(child: tokio::process::Child, name: &str, local_port: u16) {
    let out = tokio::time::timeout(Duration::from_secs(40), child.wait_with_output())
        .await
        .expect("sipp finished")
        .expect("sipp ran");
    if !out.status.success() {
        let dir = std::env::temp_dir().join(format!("voxbin-sipua-{name}-{local_port}"));
        let mut log = String::from_utf8_lossy(&out.stderr).to_string();
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for e in entries.flatten() {
                log.push_str(&std::fs::read_to_string(e.path()).unwrap_or_default());
            }
        }
        panic!("sipp {name} failed ({:?}):\n{log}", out.status);
    }
}

/// The next incoming call.
async fn next_call(events: &mut mpsc::Receiver<UaEvent>) -> IncomingCall {
    match tokio::time::timeout(Duration::from_secs(10), events.recv()).await {
        Ok(Some(UaEvent::Incoming(call))) => call,
        other => panic!("expected an incoming call, got {other:?}"),
    }
}

/// The next event of a leg.
async fn next_event(events: &mut mpsc::UnboundedReceiver<CallEvent>) -> CallEvent {
    tokio::time::timeout(Duration::from_secs(15), events.recv())
        .await
        .expect("a call event in time")
        .expect("the leg's events go on")
}

/// Skips events until `Terminated` and returns it.
async fn terminated(events: &mut mpsc::UnboundedReceiver<CallEvent>) -> CallEvent {
    loop {
        let ev = next_event(events).await;
        if matches!(ev, CallEvent::Terminated { .. }) {
            return ev;
        }
    }
}

#[tokio::test]
async fn caller_hangs_up_after_answer() {
    let (_ua, mut events) = ua(17010).await;
    let child = sipp("uac_answer", 17011, Some(17010));
    let mut call = next_call(&mut events).await;
    assert!(call.info.offer.starts_with(b"v=0"));
    assert!(call.info.from.contains("sipp"));
    call.call.ringing().await.unwrap();
    call.call
        .answer(Bytes::from_static(SDP.as_bytes()))
        .await
        .unwrap();
    assert_eq!(next_event(&mut call.events).await, CallEvent::Confirmed);
    assert_eq!(
        terminated(&mut call.events).await,
        CallEvent::Terminated {
            cause: HangupCause::Normal,
            by: Party::Remote,
            status: 200
        }
    );
    sipp_passes(child, "uac_answer", 17011).await;
}

#[tokio::test]
async fn early_media_then_answer_then_we_hang_up_busy() {
    let (_ua, mut events) = ua(17020).await;
    let child = sipp("uac_early_media", 17021, Some(17020));
    let mut call = next_call(&mut events).await;
    call.call
        .progress(Bytes::from_static(SDP.as_bytes()))
        .await
        .unwrap();
    // the 183's SDP is the answer
    call.call.answer(Bytes::new()).await.unwrap();
    assert_eq!(next_event(&mut call.events).await, CallEvent::Confirmed);
    call.call.hangup(HangupCause::Busy).await.unwrap();
    assert_eq!(
        terminated(&mut call.events).await,
        CallEvent::Terminated {
            cause: HangupCause::Busy,
            by: Party::Local,
            status: 200
        }
    );
    sipp_passes(child, "uac_early_media", 17021).await;
}

#[tokio::test]
async fn caller_reinvite_is_answered_by_the_owner() {
    let (_ua, mut events) = ua(17030).await;
    let child = sipp("uac_reinvite", 17031, Some(17030));
    let mut call = next_call(&mut events).await;
    call.call
        .answer(Bytes::from_static(SDP.as_bytes()))
        .await
        .unwrap();
    assert_eq!(next_event(&mut call.events).await, CallEvent::Confirmed);
    match next_event(&mut call.events).await {
        CallEvent::RemoteOffer { offer } => {
            assert!(String::from_utf8_lossy(&offer).contains("a=sendonly"))
        }
        other => panic!("expected the hold offer, got {other:?}"),
    }
    let held = SDP.replace("a=sendrecv", "a=recvonly");
    call.call.answer_offer(Bytes::from(held)).await.unwrap();
    assert_eq!(
        terminated(&mut call.events).await,
        CallEvent::Terminated {
            cause: HangupCause::Normal,
            by: Party::Remote,
            status: 200
        }
    );
    sipp_passes(child, "uac_reinvite", 17031).await;
}

#[tokio::test]
async fn caller_cancels_while_ringing() {
    let (_ua, mut events) = ua(17040).await;
    let child = sipp("uac_cancel", 17041, Some(17040));
    let mut call = next_call(&mut events).await;
    call.call.ringing().await.unwrap();
    assert_eq!(
        terminated(&mut call.events).await,
        CallEvent::Terminated {
            cause: HangupCause::Cancel,
            by: Party::Remote,
            status: 487
        }
    );
    sipp_passes(child, "uac_cancel", 17041).await;
}

#[tokio::test]
async fn we_refresh_the_session_when_the_caller_asks_us_to() {
    let (_ua, mut events) = ua(17050).await;
    let child = sipp("uac_session_refresh", 17051, Some(17050));
    let mut call = next_call(&mut events).await;
    call.call
        .answer(Bytes::from_static(SDP.as_bytes()))
        .await
        .unwrap();
    assert_eq!(next_event(&mut call.events).await, CallEvent::Confirmed);
    assert_eq!(
        next_event(&mut call.events).await,
        CallEvent::SessionRefreshed
    );
    assert!(matches!(
        terminated(&mut call.events).await,
        CallEvent::Terminated {
            by: Party::Remote,
            ..
        }
    ));
    sipp_passes(child, "uac_session_refresh", 17051).await;
}

#[tokio::test]
async fn we_hang_up_when_the_caller_stops_refreshing() {
    let (_ua, mut events) = ua(17060).await;
    let child = sipp("uac_session_expiry", 17061, Some(17060));
    let mut call = next_call(&mut events).await;
    call.call
        .answer(Bytes::from_static(SDP.as_bytes()))
        .await
        .unwrap();
    assert_eq!(next_event(&mut call.events).await, CallEvent::Confirmed);
    assert_eq!(
        next_event(&mut call.events).await,
        CallEvent::SessionExpired
    );
    assert_eq!(
        terminated(&mut call.events).await,
        CallEvent::Terminated {
            cause: HangupCause::Timeout,
            by: Party::Local,
            status: 200
        }
    );
    sipp_passes(child, "uac_session_expiry", 17061).await;
}

/// An outgoing call to the sipp UAS on `port`.
fn originate_to(port: u16, credentials: Option<DigestCredentials>) -> Originate {
    let uri = Uri::parse(&format!("sip:+15550100@127.0.0.1:{port}")).unwrap();
    Originate {
        uri,
        target: Target::new(Transport::Udp, SocketAddr::from(([127, 0, 0, 1], port))),
        from: "\"Voxbin\" <sip:alice@voxbin.test>".into(),
        to: None,
        pai: Some("<sip:+15550199@voxbin.test>".into()),
        headers: vec![("X-Voxbin-Leg".into(), "test".into())],
        offer: Bytes::from_static(SDP.as_bytes()),
        credentials,
    }
}

#[tokio::test]
async fn originate_answers_a_407_challenge_then_hangs_up() {
    let child = sipp("uas_auth", 17071, None);
    // sipp needs a moment to bind; the INVITE is retransmitted anyway
    let (ua, _events) = ua(17070).await;
    let creds = DigestCredentials {
        username: "alice".into(),
        password: "s3cret".into(),
    };
    let (call, mut events) = ua
        .originate(originate_to(17071, Some(creds)))
        .await
        .unwrap();
    let ringing = next_event(&mut events).await;
    assert!(
        matches!(ringing, CallEvent::Provisional { status: 180, .. }),
        "{ringing:?}"
    );
    match next_event(&mut events).await {
        CallEvent::Answered { sdp } => assert!(sdp.starts_with(b"v=0")),
        other => panic!("expected the answer, got {other:?}"),
    }
    call.hangup(HangupCause::Normal).await.unwrap();
    assert_eq!(
        terminated(&mut events).await,
        CallEvent::Terminated {
            cause: HangupCause::Normal,
            by: Party::Local,
            status: 200
        }
    );
    sipp_passes(child, "uas_auth", 17071).await;
}

#[tokio::test]
async fn originate_to_a_busy_callee_reports_busy() {
    let child = sipp("uas_busy", 17081, None);
    let (ua, _events) = ua(17080).await;
    let (_call, mut events) = ua.originate(originate_to(17081, None)).await.unwrap();
    assert!(matches!(
        next_event(&mut events).await,
        CallEvent::Provisional { status: 180, .. }
    ));
    assert_eq!(
        terminated(&mut events).await,
        CallEvent::Terminated {
            cause: HangupCause::Busy,
            by: Party::Remote,
            status: 486
        }
    );
    sipp_passes(child, "uas_busy", 17081).await;
}

#[tokio::test]
async fn hanging_up_a_ringing_outgoing_call_cancels_it() {
    let child = sipp("uas_cancel", 17091, None);
    let (ua, _events) = ua(17090).await;
    let (call, mut events) = ua.originate(originate_to(17091, None)).await.unwrap();
    assert!(matches!(
        next_event(&mut events).await,
        CallEvent::Provisional { status: 180, .. }
    ));
    call.hangup(HangupCause::Noanswer).await.unwrap();
    assert_eq!(
        terminated(&mut events).await,
        CallEvent::Terminated {
            cause: HangupCause::Noanswer,
            by: Party::Local,
            status: 487
        }
    );
    sipp_passes(child, "uas_cancel", 17091).await;
}
