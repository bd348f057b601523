use super::*;
use crate::bindings::BindingStore;
use crate::testing::{directory, realm, request, CUSTOMER, EXT};
use voxbin_cache::MemoryCache;
use voxbin_sip::digest::{respond, Challenge};
use voxbin_sip::{Target, Transport};

const NOW: u64 = 1_700_000_000;

async fn registrar() -> (Registrar, BindingStore, voxbin_bus::Consumer) {
    let (dir, consumer) = directory().await;
    let store = BindingStore::new(Arc::new(MemoryCache::new(100)));
    let auth = Authenticator::new(b"cluster", dir);
    let bounds = Bounds {
        min_expires: 60,
        max_expires: 3600,
        max_contacts: 5,
    };
    let r = Registrar::new(
        auth,
        store.clone(),
        bounds,
        "voxbin.local",
        "127.0.0.1:5060".into(),
    )
    .with_paths(crate::proxy::flow::FlowSigner::new(b"cluster"));
    (r, store, consumer)
}

fn source() -> Target {
    Target::new(Transport::Udp, "198.51.100.4:40000".parse().unwrap())
}

fn register(cseq: u32, expires: u32, auth: Option<String>) -> Request {
    let realm = realm();
    let auth = auth
        .map(|a| format!("Authorization: {a}\n"))
        .unwrap_or_default();
    request(&format!(
        "REGISTER sip:{realm} SIP/2.0
Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK{cseq};rport=40000;received=198.51.100.4
From: <sip:{user}@{realm}>;tag=ph1
To: <sip:{user}@{realm}>
Call-ID: reg-call-1
CSeq: {cseq} REGISTER
Contact: <sip:{user}@192.168.1.20:5060>
{auth}Expires: {expires}
User-Agent: test-phone
Content-Length: 0

",
        user = EXT.0
    ))
}

/// Answers the first challenge of `resp` with `password` (algorithm of that challenge).
fn answer(resp: &Response, password: &str, pick: usize) -> String {
    let values: Vec<&str> = resp.headers.get_all(&HeaderName::WwwAuthenticate).collect();
    let ch = Challenge::parse(values[pick]).unwrap();
    respond(
        &ch,
        "REGISTER",
        &format!("sip:{}", realm()),
        EXT.0,
        password,
        "c0ffee",
        1,
    )
    .to_header_value()
}

#[tokio::test]
async fn register_is_challenged_then_stored_then_removed() {
    let (r, store, _c) = registrar().await;
    let first = r.handle(&register(1, 300, None), source(), NOW).await;
    assert_eq!(first.response.status, 401);
    let challenges: Vec<&str> = first
        .response
        .headers
        .get_all(&HeaderName::WwwAuthenticate)
        .collect();
    assert_eq!(challenges.len(), 2);
    assert!(
        challenges[0].contains("algorithm=MD5"),
        "MD5 first: {challenges:?}"
    );
    assert!(challenges[1].contains("algorithm=SHA-256"));

    let ok = r
        .handle(
            &register(2, 300, Some(answer(&first.response, EXT.1, 0))),
            source(),
            NOW,
        )
        .await;
    assert_eq!(ok.response.status, 200, "{:?}", ok.response);
    assert_eq!(
        ok.response.headers.get(&HeaderName::Contact),
        Some("<sip:1001@192.168.1.20:5060>;expires=300")
    );
    let stored = store.lookup(&aor(EXT.0, &realm()), NOW + 1).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].received, "udp:198.51.100.4:40000");
    assert_eq!(stored[0].edge, "127.0.0.1:5060");
    // The path leads through this node down the phone's flow (where the REGISTER came from).
    let signer = crate::proxy::flow::FlowSigner::new(b"cluster");
    let path = stored[0].path.as_deref().expect("a path");
    let token = path
        .trim_start_matches("<sip:127.0.0.1:5060;lr;ftok=")
        .trim_end_matches('>');
    assert_eq!(signer.decode(token), Some(source()));
    assert_eq!(r.active(NOW + 1), 1);
    assert_eq!(
        r.active(NOW + 301),
        0,
        "expired registrations are not active"
    );

    // Unregister with the same (still fresh) nonce, SHA-256 this time.
    let gone = r
        .handle(
            &register(3, 0, Some(answer(&first.response, EXT.1, 1))),
            source(),
            NOW + 10,
        )
        .await;
    assert_eq!(gone.response.status, 200);
    assert!(gone.response.headers.get(&HeaderName::Contact).is_none());
    assert!(store
        .lookup(&aor(EXT.0, &realm()), NOW + 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(r.active(NOW + 10), 0);
}

#[tokio::test]
async fn wrong_password_is_403_and_counts_as_a_failed_attempt() {
    let (r, _store, _c) = registrar().await;
    let first = r.handle(&register(1, 300, None), source(), NOW).await;
    let wrong = r
        .handle(
            &register(2, 300, Some(answer(&first.response, "guess", 0))),
            source(),
            NOW,
        )
        .await;
    assert_eq!(wrong.response.status, 403);
    assert!(wrong.failed_attempt);
}

#[tokio::test]
async fn stale_nonces_are_challenged_again_with_stale_true() {
    let (r, _store, _c) = registrar().await;
    let first = r.handle(&register(1, 300, None), source(), NOW).await;
    let late = r
        .handle(
            &register(2, 300, Some(answer(&first.response, EXT.1, 0))),
            source(),
            NOW + 3600,
        )
        .await;
    assert_eq!(late.response.status, 401);
    assert!(late
        .response
        .headers
        .get(&HeaderName::WwwAuthenticate)
        .unwrap()
        .contains("stale=true"));
    assert!(!late.failed_attempt);
}

#[tokio::test]
async fn too_brief_registrations_get_423_with_min_expires() {
    let (r, _store, _c) = registrar().await;
    let first = r.handle(&register(1, 10, None), source(), NOW).await;
    let brief = r
        .handle(
            &register(2, 10, Some(answer(&first.response, EXT.1, 0))),
            source(),
            NOW,
        )
        .await;
    assert_eq!(brief.response.status, 423);
    assert_eq!(
        brief.response.headers.get(&HeaderName::MinExpires),
        Some("60")
    );
}

#[tokio::test]
async fn other_domains_and_unknown_users_are_refused() {
    let (r, _store, _c) = registrar().await;
    let other = register(1, 300, None);
    let text = other.to_bytes();
    let text = String::from_utf8(text)
        .unwrap()
        .replace(&format!("{CUSTOMER}.registrar.voxbin.local"), "example.com");
    let req = request(&text.replace("\r\n", "\n"));
    assert_eq!(r.handle(&req, source(), NOW).await.response.status, 404);

    let first = r.handle(&register(1, 300, None), source(), NOW).await;
    let text =
        String::from_utf8(register(2, 300, Some(answer(&first.response, EXT.1, 0))).to_bytes())
            .unwrap()
            .replace("sip:1001@", "sip:1999@")
            .replace("username=\"1001\"", "username=\"1999\"");
    let unknown = r
        .handle(&request(&text.replace("\r\n", "\n")), source(), NOW)
        .await;
    assert_eq!(unknown.response.status, 403);
    assert!(unknown.failed_attempt);
}
