//! `voxbin demo`: a whole call on a fresh embedded platform, narrated.
//!
//! The command starts a child `voxbin serve` on free loopback ports with its own data
//! directory, creates a customer and access key (`voxbin customer create`), an IVR flow and a
//! number through the REST API, then calls the number from a built-in phone (voxbin-sipua for
//! SIP, a voxbin-media engine for the phone's RTP, the digit sent as RFC 4733 events). When
//! the platform hangs up it prints the call, its timeline, the digits and the recording.

use crate::cli::DemoArgs;
use bytes::Bytes;
use serde_json::{json, Value};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;
use voxbin_media::engine::{Engine, EngineConfig, LegId, LegSpec, OpId};
use voxbin_media::tts::EspeakTts;
use voxbin_sip::{Target, Transport, Uri};
use voxbin_sipua::{CallEvent, HangupCause, Originate, UaConfig, UserAgent};

/// The number the demo flow answers.
const NUMBER: &str = "+15550100";
/// Id of the flow's `digits_receive` action (the phone presses its digit once it is reached).
const DIGITS_ID: &str = "00000000-0000-4000-8000-0000000000d1";
/// Id of the "sales" branch.
const SALES_ID: &str = "00000000-0000-4000-8000-0000000000a1";
/// Id of the "support" branch.
const SUPPORT_ID: &str = "00000000-0000-4000-8000-0000000000a2";
/// Id of the part every branch ends in: beep, record, hang up.
const RECORD_ID: &str = "00000000-0000-4000-8000-0000000000b1";
/// How long any one step may take before the demo gives up.
const STEP: Duration = Duration::from_secs(60);

/// Runs the demo; exit 0 when the call went through and was recorded.
pub async fn run(args: DemoArgs) -> ExitCode {
    if !matches!(args.digit.as_str(), "1" | "2") {
        eprintln!("voxbin demo: --digit must be 1 (sales) or 2 (support)");
        return ExitCode::from(super::EXIT_CONFIG);
    }
    let data_dir = match &args.data_dir {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!("voxbin-demo-{}", Uuid::new_v4())),
    };
    if let Err(e) = std::fs::create_dir_all(&data_dir) {
        eprintln!("voxbin demo: cannot create {}: {e}", data_dir.display());
        return ExitCode::FAILURE;
    }
    let mut platform = match Platform::start_retrying(&data_dir).await {
        Ok(p) => p,
        Err(e) => {
            eprintln!("voxbin demo: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = demo(&platform, &args.digit).await;
    platform.stop();
    match outcome {
        Ok(()) => {
            println!(
                "\nThe platform's data (database, recordings, log) stays in {}",
                data_dir.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("voxbin demo: {e}");
            eprintln!(
                "voxbin demo: the platform's log is {}",
                platform.log.display()
            );
            ExitCode::FAILURE
        }
    }
}

/// A child `voxbin serve` on free loopback ports.
struct Platform {
    child: Child,
    env: Vec<(String, String)>,
    api: String,
    media_sip: SocketAddr,
    data_dir: PathBuf,
    log: PathBuf,
}

impl Platform {
    /// Starts the platform, again on new ports when one picked was taken meanwhile.
    async fn start_retrying(data_dir: &Path) -> Result<Platform, String> {
        let mut attempt = 1;
        loop {
            match Platform::start(data_dir).await {
                Err(e) if e.contains("Address already in use") && attempt < 3 => attempt += 1,
                other => return other,
            }
        }
    }

    async fn start(data_dir: &Path) -> Result<Platform, String> {
        let exe = std::env::current_exe().map_err(|e| format!("cannot find voxbin itself: {e}"))?;
        let api = format!("127.0.0.1:{}", free_tcp()?);
        let health = format!("127.0.0.1:{}", free_tcp()?);
        let media_sip: SocketAddr = format!("127.0.0.1:{}", free_udp()?)
            .parse()
            .map_err(|e| format!("media SIP address: {e}"))?;
        let env = vec![
            ("VOXBIN_DATA_DIR".into(), data_dir.display().to_string()),
            ("VOXBIN_API_LISTEN".into(), api.clone()),
            ("VOXBIN_HEALTH_LISTEN".into(), health.clone()),
            (
                "VOXBIN_METRICS_LISTEN".into(),
                format!("127.0.0.1:{}", free_tcp()?),
            ),
            (
                "VOXBIN_API_TLS_LISTEN".into(),
                format!("127.0.0.1:{}", free_tcp()?),
            ),
            (
                "VOXBIN_API_AUDIOSOCKET_LISTEN".into(),
                format!("127.0.0.1:{}", free_tcp()?),
            ),
            (
                "VOXBIN_SIP_LISTEN".into(),
                format!("127.0.0.1:{}", free_udp()?),
            ),
            ("VOXBIN_MEDIA_SIP_LISTEN".into(), media_sip.to_string()),
            (
                "VOXBIN_RTP_RELAY_NG_LISTEN".into(),
                format!("127.0.0.1:{}", free_udp()?),
            ),
        ];
        let log = data_dir.join("serve.log");
        let file = std::fs::File::create(&log)
            .map_err(|e| format!("cannot create {}: {e}", log.display()))?;
        let mut cmd = command(&exe, &env);
        let child = cmd
            .arg("serve")
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .map_err(|e| format!("cannot start voxbin serve: {e}"))?;
        let mut p = Platform {
            child,
            env,
            api,
            media_sip,
            data_dir: data_dir.to_path_buf(),
            log,
        };
        println!("Starting the platform (data in {}) ...", data_dir.display());
        let deadline = Instant::now() + STEP;
        loop {
            if let Ok(r) = http(&health, "GET", "/ready", None).await {
                if r.0 == 200 {
                    break;
                }
            }
            if let Ok(Some(status)) = p.child.try_wait() {
                let log = std::fs::read_to_string(&p.log).unwrap_or_default();
                let last = log.lines().rev().take(5).collect::<Vec<_>>();
                return Err(format!(
                    "voxbin serve exited ({status}); its log is {}; it ends with:\n{}",
                    p.log.display(),
                    last.into_iter().rev().collect::<Vec<_>>().join("\n")
                ));
            }
            if Instant::now() > deadline {
                p.stop();
                return Err(format!(
                    "voxbin serve was not ready within {}s; its log is {}",
                    STEP.as_secs(),
                    p.log.display()
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        println!("  API  http://{}  SIP (media node) {}", p.api, p.media_sip);
        Ok(p)
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `voxbin` with the demo's environment only (no VOXBIN_* of the caller's shell).
fn command(exe: &Path, env: &[(String, String)]) -> std::process::Command {
    let mut cmd = std::process::Command::new(exe);
    for (k, _) in std::env::vars() {
        if k.starts_with("VOXBIN_") {
            cmd.env_remove(k);
        }
    }
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    cmd
}

fn free_tcp() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free TCP port: {e}"))
}

fn free_udp() -> Result<u16, String> {
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free UDP port: {e}"))
}

/// The IVR: greet, take one digit, say it, branch to sales or support, beep, record, hang up.
fn flow() -> Value {
    json!({
        "name": "voxbin demo", "detail": "press 1 for sales, 2 for support",
        "actions": [
            {"type": "answer"},
            {"type": "talk", "option": {"language": "en-US",
             "text": "Welcome to Voxbin. Press 1 for sales, 2 for support."}},
            {"id": DIGITS_ID, "type": "digits_receive",
             "option": {"length": 1, "duration": 20000}},
            // Before the branch, which consumes the variable.
            {"type": "talk", "option": {"text": "You pressed ${voipbin.call.digits}.",
             "language": "en-US"}},
            {"type": "branch", "option": {"variable": "voipbin.call.digits",
             "default_target_id": RECORD_ID,
             "target_ids": {"1": SALES_ID, "2": SUPPORT_ID}}},
            {"id": SALES_ID, "type": "talk", "next_id": RECORD_ID,
             "option": {"text": "Sales. Leave a message after the beep.", "language": "en-US"}},
            {"id": SUPPORT_ID, "type": "talk",
             "option": {"text": "Support. Leave a message after the beep.", "language": "en-US"}},
            {"id": RECORD_ID, "type": "beep"},
            {"type": "recording_start", "option": {"format": "wav", "duration": 10}},
            {"type": "sleep", "option": {"duration": 2000}},
            {"type": "recording_stop"},
            {"type": "hangup"}
        ]
    })
}

/// The REST API with the customer's access key.
struct Api {
    addr: String,
    key: String,
}

impl Api {
    fn path(&self, path: &str) -> String {
        let sep = if path.contains('?') { '&' } else { '?' };
        format!("{path}{sep}accesskey={}", self.key)
    }

    /// A 200 answer's JSON, or an error naming the request.
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        let (status, text) = http(&self.addr, method, &self.path(path), body).await?;
        if status != 200 {
            return Err(format!("{method} {path} answered {status}: {text}"));
        }
        serde_json::from_str(&text).map_err(|e| format!("{method} {path}: bad JSON ({e}): {text}"))
    }

    /// Reads `path` until `done` holds for its body.
    async fn wait(
        &self,
        path: &str,
        what: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Result<Value, String> {
        let deadline = Instant::now() + STEP;
        loop {
            if let Ok(v) = self.call("GET", path, None).await {
                if done(&v) {
                    return Ok(v);
                }
            }
            if Instant::now() > deadline {
                return Err(format!("{what} did not happen within {}s", STEP.as_secs()));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// One HTTP/1.1 request with `Connection: close`: status and body text.
async fn http(
    addr: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Result<(u16, String), String> {
    let mut s = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect {addr}: {e}"))?;
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let io = async {
        s.write_all(req.as_bytes()).await?;
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).await?;
        Ok::<_, std::io::Error>(raw)
    };
    let raw = tokio::time::timeout(Duration::from_secs(30), io)
        .await
        .map_err(|_| format!("{method} {path}: no answer within 30s"))?
        .map_err(|e| format!("{method} {path}: {e}"))?;
    let raw = String::from_utf8_lossy(&raw);
    let (head, text) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("{method} {path}: not an HTTP answer"))?;
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    Ok((
        status,
        if chunked {
            dechunk(text)
        } else {
            text.to_string()
        },
    ))
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// The customer, flow and number, then the call and its report.
async fn demo(p: &Platform, digit: &str) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find voxbin itself: {e}"))?;
    let password = format!("demo-{}", Uuid::new_v4().simple());
    let out = command(&exe, &p.env)
        .args([
            "customer",
            "create",
            "--name",
            "demo",
            "--username",
            "demo-admin",
        ])
        .args(["--password", &password])
        .output()
        .map_err(|e| format!("cannot run voxbin customer create: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "voxbin customer create failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let made: Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("voxbin customer create printed no JSON: {e}"))?;
    let key = made["accesskey"]["token"]
        .as_str()
        .ok_or("voxbin customer create printed no access key")?;
    let api = Api {
        addr: p.api.clone(),
        key: key.to_string(),
    };
    println!("Customer {} with access key {key}", made["customer"]["id"]);
    let flow = api.call("POST", "/v1.0/flows", Some(flow())).await?;
    let flow_id = flow["id"]
        .as_str()
        .ok_or("the new flow has no id")?
        .to_string();
    println!(
        "Flow {flow_id}: answer, talk, digits_receive, talk, branch, talk, beep, record, hangup"
    );
    api.call(
        "POST",
        "/v1.0/numbers",
        Some(json!({"number": NUMBER, "call_flow_id": flow_id, "name": "demo", "detail": ""})),
    )
    .await?;
    println!("Number {NUMBER} runs the flow\n");

    let phone = Phone::start(&p.data_dir).await?;
    let result = phone.call(&api, p.media_sip, digit).await;
    phone.stop();
    let (af_id, call_id) = result?;
    report(&api, &p.data_dir, &call_id, &af_id, digit).await
}

/// The built-in test phone: a SIP user agent and a media engine for its RTP.
struct Phone {
    ua: UserAgent,
    engine: Engine,
}

impl Phone {
    async fn start(data_dir: &Path) -> Result<Phone, String> {
        let ua = UaConfig {
            listen: "127.0.0.1:0"
                .parse()
                .map_err(|e| format!("phone address: {e}"))?,
            user_agent: "voxbin-demo-phone".into(),
            session_expires: None,
            ..UaConfig::default()
        };
        // The phone takes no calls: with the receiver dropped the agent refuses them (503).
        let (ua, _) = UserAgent::start(ua)
            .await
            .map_err(|e| format!("the phone's SIP socket: {e}"))?;
        let dir = data_dir.join("phone");
        let config = EngineConfig::new(
            [127, 0, 0, 1].into(),
            [127, 0, 0, 1].into(),
            (60000, 60999),
            Arc::new(EspeakTts::default()),
            dir.join("media"),
            dir.join("recordings"),
        );
        let engine = Engine::start(config).map_err(|e| format!("the phone's media: {e}"))?;
        Ok(Phone { ua, engine })
    }

    /// Calls the number, presses `digit` at the menu, waits for the platform's hangup;
    /// the activeflow and call ids.
    async fn call(
        &self,
        api: &Api,
        media_sip: SocketAddr,
        digit: &str,
    ) -> Result<(String, String), String> {
        let leg = LegId(Uuid::new_v4());
        let (leg, offer) = self
            .engine
            .create_leg(LegSpec {
                id: leg,
                remote_offer: None,
            })
            .map_err(|e| format!("the phone's SDP offer: {e}"))?;
        let uri = Uri::parse(&format!("sip:{NUMBER}@pstn.voxbin.local"))
            .map_err(|e| format!("request URI: {e}"))?;
        let local = self.ua.advertised();
        let (handle, mut events) = self
            .ua
            .originate(Originate {
                uri,
                target: Target::new(Transport::Udp, media_sip),
                from: format!("\"Demo phone\" <sip:+15550199@{local}>"),
                to: None,
                pai: None,
                headers: Vec::new(),
                offer: Bytes::from(offer),
                credentials: None,
            })
            .await
            .map_err(|e| format!("the INVITE: {e}"))?;
        println!("Phone +15550199 calls {NUMBER} ...");
        let deadline = tokio::time::Instant::now() + STEP;
        loop {
            match next(&mut events, deadline).await? {
                CallEvent::Answered { sdp } => {
                    let sdp = String::from_utf8_lossy(&sdp).into_owned();
                    self.engine
                        .remote_answer(leg, &sdp)
                        .map_err(|e| format!("the platform's SDP answer: {e}"))?;
                    println!("  answered");
                    break;
                }
                CallEvent::Terminated { cause, status, .. } => {
                    return Err(format!("the call was refused: {status} ({cause:?})"));
                }
                _ => {}
            }
        }
        let calls = api
            .wait("/v1.0/calls", "the call's record", |b| {
                b["result"][0]["activeflow_id"].is_string()
            })
            .await?;
        let call_id = calls["result"][0]["id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let af_id = calls["result"][0]["activeflow_id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        // The greeting ends before digits are collected: press once the menu waits for one.
        let waiting = api
            .wait(&format!("/v1.0/activeflows/{af_id}"), "the menu", |af| {
                af["current_action"].to_string().contains(DIGITS_ID) || af["status"] == "ended"
            })
            .await;
        if waiting.is_ok() {
            self.engine
                .send_digits(leg, OpId(Uuid::new_v4()), digit, 160)
                .map_err(|e| format!("pressing {digit}: {e}"))?;
            println!("  pressed {digit} (RFC 4733)");
        }
        let ended = loop {
            match next(&mut events, deadline).await {
                Ok(CallEvent::Terminated { cause, by, status }) => break (cause, by, status),
                Ok(_) => {}
                Err(e) => {
                    let _ = handle.hangup(HangupCause::Normal).await;
                    return Err(e);
                }
            }
        };
        // `by` is seen from the phone: `Remote` is the platform.
        println!(
            "  call ended by the {:?} side: {:?} (SIP {})\n",
            ended.1, ended.0, ended.2
        );
        let _ = self.engine.destroy_leg(leg);
        Ok((af_id, call_id))
    }

    fn stop(&self) {
        self.engine.shutdown();
        self.ua.shutdown();
    }
}

/// The leg's next SIP event, or an error once `deadline` passes.
async fn next(
    events: &mut tokio::sync::mpsc::UnboundedReceiver<CallEvent>,
    deadline: tokio::time::Instant,
) -> Result<CallEvent, String> {
    tokio::time::timeout_at(deadline, events.recv())
        .await
        .map_err(|_| format!("the call did not end within {}s", STEP.as_secs()))?
        .ok_or_else(|| "the phone's call ended without a cause".to_string())
}

/// Prints the call, its timeline, the digits and the recording.
async fn report(
    api: &Api,
    data_dir: &Path,
    call_id: &str,
    af_id: &str,
    digit: &str,
) -> Result<(), String> {
    let call = api
        .wait(
            &format!("/v1.0/calls/{call_id}"),
            "the call's hangup",
            |c| c["status"] == "hangup",
        )
        .await?;
    println!("Call {call_id}");
    println!(
        "  status: {}  hangup_by: {}  hangup_reason: {}",
        call["status"], call["hangup_by"], call["hangup_reason"]
    );
    // The timeline is written from the call's events, a moment after the call row.
    let tl = api
        .wait(
            &format!("/v1.0/timelines/calls/{call_id}/events?page_size=100"),
            "the call_hangup event in the timeline",
            |t| {
                t["result"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|e| e["event_type"] == "call_hangup"))
            },
        )
        .await?;
    println!("Timeline (GET /v1.0/timelines/calls/{call_id}/events):");
    let mut events: Vec<&Value> = tl["result"]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    events.reverse();
    for e in events {
        println!(
            "  {}  {}",
            e["timestamp"].as_str().unwrap_or(""),
            e["event_type"].as_str().unwrap_or("?")
        );
    }
    let af = api
        .wait(
            &format!("/v1.0/activeflows/{af_id}"),
            "the flow's end",
            |a| a["status"] == "ended",
        )
        .await?;
    let ran: Vec<&str> = af["executed_actions"]
        .as_array()
        .map(|a| a.iter().filter_map(|x| x["type"].as_str()).collect())
        .unwrap_or_default();
    println!("Flow events (activeflow {af_id}): {}", ran.join(" -> "));
    let took = |id: &str| {
        af["executed_actions"]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x["id"] == id))
    };
    let branch = if took(SALES_ID) {
        "sales"
    } else if took(SUPPORT_ID) {
        "support"
    } else {
        "none"
    };
    let digits = pressed(&af).unwrap_or_default();
    println!("Digits: {digits} (voipbin.call.digits; branch taken: {branch})");
    let recs = api
        .wait("/v1.0/recordings", "the recording's end", |b| {
            b["result"].as_array().is_some_and(|a| {
                a.iter()
                    .any(|r| r["reference_id"] == call_id && r["status"] == "ended")
            })
        })
        .await?;
    let rec = recs["result"]
        .as_array()
        .and_then(|a| a.iter().find(|r| r["reference_id"] == call_id))
        .ok_or("the call has no recording")?;
    let rec_id = rec["id"].as_str().unwrap_or_default();
    println!("Recording {rec_id}");
    println!(
        "  download: http://{}/v1.0/recordingfiles/{rec_id}?accesskey={}  (307 to the WAV)",
        api.addr, api.key
    );
    // The demo's platform stops when the command ends; the same data can be served again.
    println!(
        "  (that platform stops now; `voxbin serve --data-dir {}` serves this data again,\n   \
         at GET /v1.0/recordingfiles/{rec_id} on its own API address)",
        data_dir.display()
    );
    match find_file(&data_dir.join("recordings"), rec_id) {
        Some(f) => println!("  file: {}", f.display()),
        None => println!("  file: under {}", data_dir.join("recordings").display()),
    }
    let expected = if digit == "1" { "sales" } else { "support" };
    if digits != digit || branch != expected {
        return Err(format!(
            "the phone pressed {digit} but the flow collected {digits:?} and took branch {branch}"
        ));
    }
    Ok(())
}

/// The digits as the flow saw them: a talk says `${voipbin.call.digits}`, and
/// the activeflow keeps the substituted copy of each action it ran.
fn pressed(af: &Value) -> Option<String> {
    af["executed_actions"].as_array()?.iter().find_map(|a| {
        let text = a["option"]["text"].as_str()?;
        let rest = text.split_once("You pressed ")?.1;
        Some(rest.split('.').next()?.to_string())
    })
}

/// A file under `dir` (recursively) whose name holds `id`.
fn find_file(dir: &Path, id: &str) -> Option<PathBuf> {
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if let Some(f) = find_file(&path, id) {
                return Some(f);
            }
        } else if path.file_name()?.to_string_lossy().contains(id) {
            return Some(path);
        }
    }
    None
}
