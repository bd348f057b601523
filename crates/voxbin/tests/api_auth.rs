//! Signing in and staying (or stopping being) signed in, as an API user sees it: login tokens
//! and access keys in every place VoIPBIN accepts them, refusals of wrong and forged
//! credentials, immediate revocation by logout, password change and key deletion, expiry,
//! signup switched off, and the per-IP and per-customer rate limits.

mod support;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use support::api::{create_tenant, login, send, Client, Reply, Tenant};
use support::Server;

/// POSTs a JSON body without credentials.
fn post_anon(s: &Server, path: &str, body: Value) -> Reply {
    send(&s.api, "POST", path, &[], Some(body.to_string().as_bytes()))
}

/// `GET /v1.0/customer` with extra headers: who the credential says the caller is.
fn whoami(s: &Server, path_suffix: &str, headers: &[(&str, &str)]) -> Reply {
    send(
        &s.api,
        "GET",
        &format!("/v1.0/customer{path_suffix}"),
        headers,
        None,
    )
}

/// Asserts the credential opened the account of `t`.
fn is_tenant(r: &Reply, t: &Tenant) {
    assert_eq!(r.status, 200, "{}", r.raw);
    assert_eq!(r.body["id"], t.customer_id.as_str(), "{}", r.raw);
}

/// Asserts a 401 with the envelope.
fn refused(r: &Reply) -> String {
    r.expect_error(401)
}

/// The claims of a JWT, decoded without checking anything.
fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT has a payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url payload")).unwrap()
}

/// The agent a login token was issued to.
fn agent_id(token: &str) -> String {
    claims(token)["sub"]
        .as_str()
        .expect("sub claim")
        .to_string()
}

#[test]
fn a_login_token_and_an_access_key_work_wherever_voipbin_accepts_them() {
    let s = Server::start(&[]);
    let t = create_tenant(&s, "acme");

    for path in ["/auth/login", "/v1.0/auth/login"] {
        let r = post_anon(
            &s,
            path,
            json!({"username": t.username, "password": t.password}),
        );
        assert_eq!(r.status, 200, "{path}: {}", r.raw);
        assert_eq!(r.body["username"], t.username.as_str());
        let token = r.body["token"].as_str().unwrap().to_string();
        assert_eq!(token.split('.').count(), 3, "a compact JWT: {token}");
        let cookie = r.header("set-cookie").expect("login sets the token cookie");
        assert!(cookie.starts_with(&format!("token={token};")), "{cookie}");
        assert!(cookie.contains("HttpOnly"), "{cookie}");
        assert_eq!(claims(&token)["customer_id"], t.customer_id.as_str());

        is_tenant(
            &whoami(&s, "", &[("Authorization", &format!("Bearer {token}"))]),
            &t,
        );
        is_tenant(&whoami(&s, &format!("?token={token}"), &[]), &t);
        is_tenant(
            &whoami(&s, "", &[("Cookie", &format!("lang=en; token={token}"))]),
            &t,
        );
    }

    let key = &t.accesskey;
    assert!(key.starts_with("vb_"), "{key}");
    is_tenant(&whoami(&s, &format!("?accesskey={key}"), &[]), &t);
    is_tenant(
        &whoami(&s, "", &[("Cookie", &format!("accesskey={key}"))]),
        &t,
    );
    is_tenant(
        &whoami(&s, "", &[("Authorization", &format!("Bearer {key}"))]),
        &t,
    );

    // No credential at all, or an empty one.
    assert_eq!(refused(&whoami(&s, "", &[])), "UNAUTHENTICATED");
    assert_eq!(refused(&whoami(&s, "?token=", &[])), "UNAUTHENTICATED");
    assert_eq!(refused(&whoami(&s, "?accesskey=", &[])), "UNAUTHENTICATED");
    assert_eq!(
        refused(&whoami(&s, "", &[("Authorization", "Bearer ")])),
        "UNAUTHENTICATED"
    );

    // Self-service signup is open by default and gives a working access key.
    let r = post_anon(
        &s,
        "/v1.0/auth/signup",
        json!({"email": "new@example.com", "accepted_tos": true, "username": "newbie", "password": "a long enough pw"}),
    );
    assert_eq!(r.status, 200, "{}", r.raw);
    let signed_up = r.body["accesskey"]["token"]
        .as_str()
        .expect("signup returns a key")
        .to_string();
    let me = Client::with_key(&s.api, &signed_up).get("/v1.0/customer");
    assert_eq!(me.status, 200, "{}", me.raw);
    assert_eq!(me.body["id"], r.body["customer"]["id"]);
    login(&s, "newbie", "a long enough pw");
}

#[test]
fn wrong_unknown_forged_and_garbage_credentials_get_401() {
    let s = Server::start(&[]);
    let t = create_tenant(&s, "acme");

    // A wrong password and an unknown user look the same.
    let wrong = post_anon(
        &s,
        "/auth/login",
        json!({"username": t.username, "password": "not the password"}),
    );
    let unknown = post_anon(
        &s,
        "/v1.0/auth/login",
        json!({"username": "nobody-here", "password": "whatever pw"}),
    );
    assert_eq!(refused(&wrong), "INVALID_CREDENTIALS");
    assert_eq!(refused(&unknown), "INVALID_CREDENTIALS");
    assert_eq!(
        wrong.body["error"]["message"],
        unknown.body["error"]["message"]
    );
    assert!(
        wrong.header("set-cookie").is_none(),
        "no cookie for a failed login"
    );
    // A login body that is not one.
    for body in [
        json!({"username": t.username}),
        json!({"password": "x"}),
        json!([]),
    ] {
        let r = post_anon(&s, "/auth/login", body);
        assert_eq!(r.expect_error(400), "INVALID_BODY", "{}", r.raw);
    }
    let r = send(&s.api, "POST", "/auth/login", &[], Some(b"{nope"));
    assert_eq!(r.expect_error(400), "INVALID_JSON");

    let token = login(&s, &t.username, &t.password);
    let [header, payload, signature]: [&str; 3] =
        token.split('.').collect::<Vec<_>>().try_into().unwrap();

    // The payload rewritten to claim the super-admin bit, with the original signature.
    let mut escalated = claims(&token);
    escalated["permission"] = json!(1);
    let escalated = URL_SAFE_NO_PAD.encode(escalated.to_string());
    // The signature of a different token.
    let other = login(&s, &t.username, &t.password);
    let other_sig = other.split('.').nth(2).unwrap();
    let none_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let hs512_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS512","typ":"JWT"}"#);
    let mut flipped = signature.to_string();
    let last = if flipped.ends_with('A') { "B" } else { "A" };
    flipped.replace_range(flipped.len() - 1.., last);
    let forged = [
        "garbage".to_string(),
        "a.b.c".to_string(),
        format!("{header}.{payload}"),
        format!("{header}.{payload}.{signature}.x"),
        format!("{header}.{escalated}.{signature}"),
        format!("{header}.{payload}.{flipped}"),
        format!("{header}.{payload}.{}", &signature[..signature.len() - 2]),
        format!("{header}.{escalated}.{other_sig}"),
        format!("{none_header}.{escalated}."),
        format!("{none_header}.{payload}."),
        format!("{hs512_header}.{payload}.{signature}"),
    ];
    for bad in &forged {
        for r in [
            whoami(&s, "", &[("Authorization", &format!("Bearer {bad}"))]),
            whoami(&s, &format!("?token={bad}"), &[]),
            whoami(&s, "", &[("Cookie", &format!("token={bad}"))]),
        ] {
            assert_eq!(refused(&r), "UNAUTHENTICATED", "{bad}: {}", r.raw);
        }
        // Nor does a forged token open the super-admin's routes.
        let r = send(
            &s.api,
            "GET",
            "/v1.0/customers",
            &[("Authorization", &format!("Bearer {bad}"))],
            None,
        );
        refused(&r);
    }
    // The genuine token still works.
    is_tenant(
        &whoami(&s, "", &[("Authorization", &format!("Bearer {token}"))]),
        &t,
    );

    // Access keys that do not exist, in each place.
    for bad in [
        "vb_0000000000000000000000000000000",
        "vb_",
        "not-a-key",
        &format!("{}x", t.accesskey),
    ] {
        for r in [
            whoami(&s, &format!("?accesskey={bad}"), &[]),
            whoami(&s, "", &[("Cookie", &format!("accesskey={bad}"))]),
        ] {
            refused(&r);
        }
    }
    let r = whoami(
        &s,
        "",
        &[("Authorization", "Bearer vb_0000000000000000000000000000000")],
    );
    refused(&r);
}

#[test]
fn logout_revokes_the_token_at_once_and_a_new_login_works() {
    let s = Server::start(&[]);
    let t = create_tenant(&s, "acme");
    let token = login(&s, &t.username, &t.password);
    let other_session = login(&s, &t.username, &t.password);
    let bearer = format!("Bearer {token}");
    is_tenant(&whoami(&s, "", &[("Authorization", &bearer)]), &t);

    let r = send(
        &s.api,
        "POST",
        "/auth/logout",
        &[("Authorization", &bearer)],
        None,
    );
    assert_eq!(r.status, 200, "{}", r.raw);
    assert_eq!(r.body["revoked"], true);
    assert_eq!(r.body["id"], agent_id(&token).as_str());
    let cookie = r.header("set-cookie").expect("logout clears the cookie");
    assert!(
        cookie.starts_with("token=;") && cookie.contains("Max-Age=0"),
        "{cookie}"
    );

    // The token is refused at once, in every place, and so is the agent's other session.
    refused(&whoami(&s, "", &[("Authorization", &bearer)]));
    refused(&whoami(&s, &format!("?token={token}"), &[]));
    refused(&whoami(&s, "", &[("Cookie", &format!("token={token}"))]));
    refused(&whoami(
        &s,
        "",
        &[("Authorization", &format!("Bearer {other_session}"))],
    ));
    let again = send(
        &s.api,
        "POST",
        "/auth/logout",
        &[("Authorization", &bearer)],
        None,
    );
    refused(&again);

    // A new login works, and logs out under /v1.0 too.
    let fresh = login(&s, &t.username, &t.password);
    is_tenant(
        &whoami(&s, "", &[("Authorization", &format!("Bearer {fresh}"))]),
        &t,
    );
    let r = send(
        &s.api,
        "POST",
        "/v1.0/auth/logout",
        &[("Cookie", &format!("token={fresh}"))],
        None,
    );
    assert_eq!(r.status, 200, "{}", r.raw);
    refused(&whoami(
        &s,
        "",
        &[("Authorization", &format!("Bearer {fresh}"))],
    ));

    // Logging out needs a login: an access key is told to delete the key instead, nothing
    // at all is a 401; the key keeps working.
    let r = send(
        &s.api,
        "POST",
        &format!("/auth/logout?accesskey={}", t.accesskey),
        &[],
        None,
    );
    assert_eq!(r.expect_error(400), "NOT_A_LOGIN", "{}", r.raw);
    refused(&send(&s.api, "POST", "/auth/logout", &[], None));
    is_tenant(&whoami(&s, &format!("?accesskey={}", t.accesskey), &[]), &t);
}

#[test]
fn a_password_change_revokes_old_tokens_and_the_old_password() {
    let s = Server::start(&[]);
    let t = create_tenant(&s, "acme");
    let other = create_tenant(&s, "other");
    let token = login(&s, &t.username, &t.password);
    let second = login(&s, &t.username, &t.password);
    let agent = agent_id(&token);
    let me = Client::with_token(&s.api, &token);
    let path = format!("/v1.0/agents/{agent}/password");

    // Another customer cannot change it (the agent is not found for them), nor can a bad
    // password be set; the old password still works after both.
    let r =
        Client::with_key(&s.api, &other.accesskey).put(&path, json!({"password": "hijacked pw 1"}));
    assert_eq!(r.expect_error(404), "AGENT_NOT_FOUND", "{}", r.raw);
    let r = me.put(&path, json!({"password": "short"}));
    assert_eq!(r.expect_error(400), "INVALID_ARGUMENT", "{}", r.raw);
    let r = me.put(&path, json!({"password": 12345678}));
    r.expect_error(400);
    let r = me.put(&path, json!({}));
    r.expect_error(400);
    is_tenant(&me.get("/v1.0/customer"), &t);
    login(&s, &t.username, &t.password);

    let new_password = "a brand new password";
    let r = me.put(&path, json!({"password": new_password}));
    assert_eq!(r.status, 200, "{}", r.raw);
    assert_eq!(r.body["id"], agent.as_str());
    assert!(
        r.body.get("password").is_none() && !r.raw.contains(new_password),
        "{}",
        r.raw
    );

    // Every token issued before the change is refused at once.
    refused(&me.get("/v1.0/customer"));
    refused(&Client::with_token(&s.api, &second).get("/v1.0/customer"));
    let old = post_anon(
        &s,
        "/auth/login",
        json!({"username": t.username, "password": t.password}),
    );
    assert_eq!(refused(&old), "INVALID_CREDENTIALS");
    let fresh = login(&s, &t.username, new_password);
    is_tenant(
        &Client::with_token(&s.api, &fresh).get("/v1.0/customer"),
        &t,
    );
    // Access keys are not login tokens: they keep working.
    is_tenant(
        &Client::with_key(&s.api, &t.accesskey).get("/v1.0/customer"),
        &t,
    );
    // The other customer's sessions are untouched.
    let theirs = login(&s, &other.username, &other.password);
    is_tenant(
        &Client::with_token(&s.api, &theirs).get("/v1.0/customer"),
        &other,
    );
}

#[test]
fn a_deleted_access_key_is_refused_at_once() {
    let s = Server::start(&[]);
    let t = create_tenant(&s, "acme");
    let main = Client::with_key(&s.api, &t.accesskey);
    let created = main.post("/v1.0/accesskeys", json!({"name": "ci", "detail": "robot"}));
    assert_eq!(created.status, 200, "{}", created.raw);
    let id = created.body["id"].as_str().unwrap().to_string();
    let key = created.body["token"].as_str().unwrap().to_string();
    // Used (and so cached by the gateway) in every form first.
    let forms = |key: &str| {
        [
            whoami(&s, &format!("?accesskey={key}"), &[]),
            whoami(&s, "", &[("Cookie", &format!("accesskey={key}"))]),
            whoami(&s, "", &[("Authorization", &format!("Bearer {key}"))]),
        ]
    };
    for r in forms(&key) {
        is_tenant(&r, &t);
    }
    let listed = main.get(&format!("/v1.0/accesskeys/{id}"));
    assert_eq!(listed.status, 200, "{}", listed.raw);
    assert!(
        !listed.raw.contains(&key),
        "the token is shown only at creation: {}",
        listed.raw
    );

    let r = main.delete(&format!("/v1.0/accesskeys/{id}"));
    assert_eq!(r.status, 200, "{}", r.raw);
    for r in forms(&key) {
        refused(&r);
    }
    let r = main.get(&format!("/v1.0/accesskeys/{id}"));
    assert_eq!(r.expect_error(404), "ACCESSKEY_NOT_FOUND");
    // The other key is unaffected; a key may also delete itself.
    is_tenant(&main.get("/v1.0/customer"), &t);
    let self_id = main.get("/v1.0/accesskeys").body["result"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        main.delete(&format!("/v1.0/accesskeys/{self_id}")).status,
        200
    );
    refused(&main.get("/v1.0/customer"));
}

#[test]
fn deleting_a_customer_revokes_its_keys_and_logins_at_once() {
    let s = Server::start(&[]);
    let t = create_tenant(&s, "doomed");
    let other = create_tenant(&s, "other");
    let (_, user, password) = s.bootstrap();
    let admin = Client::with_token(&s.api, &login(&s, &user, &password));
    let key = Client::with_key(&s.api, &t.accesskey);
    let session = Client::with_token(&s.api, &login(&s, &t.username, &t.password));
    // Both are used first, so the gateway has verified them recently.
    for c in [&key, &session] {
        is_tenant(&c.get("/v1.0/customer"), &t);
        assert_eq!(c.get("/v1.0/flows").status, 200);
    }

    let r = admin.delete(&format!("/v1.0/customers/{}", t.customer_id));
    assert_eq!(r.status, 200, "{}", r.raw);
    assert_eq!(r.body["status"], "deleted", "{}", r.raw);

    let still_working: Vec<String> = [("access key", &key), ("login token", &session)]
        .into_iter()
        .map(|(what, c)| (what, c.get("/v1.0/flows")))
        .filter(|(_, r)| r.status != 401)
        .map(|(what, r)| format!("{what}: {}", r.raw))
        .collect();
    assert!(
        still_working.is_empty(),
        "the deleted customer's credentials still work: {still_working:#?}"
    );
    refused(&key.get("/v1.0/customer"));
    let r = post_anon(
        &s,
        "/auth/login",
        json!({"username": t.username, "password": t.password}),
    );
    assert_eq!(refused(&r), "INVALID_CREDENTIALS");
    is_tenant(
        &Client::with_key(&s.api, &other.accesskey).get("/v1.0/customer"),
        &other,
    );
}

#[test]
fn an_access_key_and_a_login_token_stop_working_when_they_expire() {
    let s = Server::start(&["--set", "auth.token_ttl_secs=2"]);
    let t = create_tenant(&s, "acme");
    let main = Client::with_key(&s.api, &t.accesskey);

    // The customer service takes `expire` in seconds from now (0 means never).
    for bad in [json!(-1), json!("2"), json!(1.5), json!(10_000_000_000i64)] {
        let r = main.post("/v1.0/accesskeys", json!({"name": "bad", "expire": bad}));
        assert_eq!(
            r.expect_error(400),
            "INVALID_ARGUMENT",
            "expire {bad}: {}",
            r.raw
        );
        assert!(r.raw.contains("expire"), "{}", r.raw);
    }
    let forever = main.post("/v1.0/accesskeys", json!({"name": "forever", "expire": 0}));
    assert_eq!(forever.status, 200, "{}", forever.raw);
    assert_eq!(forever.body["tm_expire"], Value::Null);

    let created = main.post("/v1.0/accesskeys", json!({"name": "short", "expire": 2}));
    assert_eq!(created.status, 200, "{}", created.raw);
    assert!(created.body["tm_expire"].is_string(), "{}", created.raw);
    let short = Client::with_key(&s.api, created.body["token"].as_str().unwrap());
    is_tenant(&short.get("/v1.0/customer"), &t);
    let token = login(&s, &t.username, &t.password);
    let claims = claims(&token);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        2
    );
    let session = Client::with_token(&s.api, &token);
    is_tenant(&session.get("/v1.0/customer"), &t);
    // Both were issued before this instant, each for at most 2 seconds.
    let start = Instant::now();

    // The one sleep of this file: just past both lifetimes.
    std::thread::sleep(Duration::from_millis(3100).saturating_sub(start.elapsed()));
    refused(&short.get("/v1.0/customer"));
    refused(&short.get("/v1.0/flows"));
    refused(&session.get("/v1.0/customer"));
    // Unexpired credentials are unaffected.
    is_tenant(&main.get("/v1.0/customer"), &t);
    let forever = Client::with_key(&s.api, forever.body["token"].as_str().unwrap());
    is_tenant(&forever.get("/v1.0/customer"), &t);
}

#[test]
fn signup_switched_off_is_refused_and_creates_nothing() {
    let s = Server::start(&["--set", "auth.signup_enabled=false"]);
    let body = json!({"email": "new@example.com", "accepted_tos": true, "username": "newbie", "password": "a long enough pw"});
    let r = post_anon(&s, "/v1.0/auth/signup", body);
    assert_eq!(r.expect_error(403), "PERMISSION_DENIED", "{}", r.raw);
    let r = post_anon(
        &s,
        "/auth/login",
        json!({"username": "newbie", "password": "a long enough pw"}),
    );
    assert_eq!(refused(&r), "INVALID_CREDENTIALS");
    let (_, user, password) = s.bootstrap();
    let admin = Client::with_token(&s.api, &login(&s, &user, &password));
    let customers = admin.get("/v1.0/customers");
    assert_eq!(customers.status, 200, "{}", customers.raw);
    assert_eq!(
        customers.body["result"].as_array().unwrap().len(),
        1,
        "only the first customer"
    );
}

/// Sends `n` requests as fast as possible and returns the answers.
fn burst(n: usize, mut one: impl FnMut() -> Reply) -> Vec<Reply> {
    (0..n).map(|_| one()).collect()
}

/// Asserts the answer is a 429 with `Retry-After` and the envelope.
fn rate_limited(r: &Reply) {
    assert_eq!(r.expect_error(429), "RATE_LIMITED", "{}", r.raw);
    let after: u64 = r
        .header("retry-after")
        .expect("429 carries Retry-After")
        .parse()
        .expect("Retry-After in whole seconds");
    assert!((1..=60).contains(&after), "Retry-After {after}");
    let rid = r.header("x-request-id").expect("a request id");
    assert_eq!(r.body["error"]["request_id"], rid, "{}", r.raw);
}

#[test]
fn too_many_requests_from_one_ip_get_429_with_retry_after() {
    let s = Server::start(&[
        "--set",
        "api.rate_limit_ip_per_sec=5",
        "--set",
        "api.rate_limit_ip_burst=5",
    ]);
    let replies = burst(10, || send(&s.api, "GET", "/v1.0/ping", &[], None));
    for (i, r) in replies.iter().take(5).enumerate() {
        assert_eq!(r.status, 200, "request {} of the burst: {}", i + 1, r.raw);
    }
    let limited: Vec<&Reply> = replies.iter().skip(5).filter(|r| r.status == 429).collect();
    assert!(!limited.is_empty(), "no 429 after the burst of 5");
    for r in &limited {
        rate_limited(r);
    }
    // The address is the connection's: a forged X-Forwarded-For does not reset the count.
    for i in 0..3 {
        let forwarded = format!("198.51.100.{i}");
        let r = send(
            &s.api,
            "GET",
            "/v1.0/ping",
            &[("X-Forwarded-For", &forwarded)],
            None,
        );
        rate_limited(&r);
    }
    // The limit is counted before authentication: credentials do not help.
    let t_key = "vb_0000000000000000000000000000000";
    let r = send(
        &s.api,
        "GET",
        &format!("/v1.0/flows?accesskey={t_key}"),
        &[],
        None,
    );
    rate_limited(&r);
}

#[test]
fn too_many_requests_from_one_customer_get_429_while_others_go_on() {
    let s = Server::start(&[
        "--set",
        "api.rate_limit_customer_per_sec=1",
        "--set",
        "api.rate_limit_customer_burst=5",
    ]);
    let ta = create_tenant(&s, "alpha");
    let tb = create_tenant(&s, "bravo");
    let a_token = login(&s, &ta.username, &ta.password);
    let a = Client::with_key(&s.api, &ta.accesskey);
    let a_session = Client::with_token(&s.api, &a_token);
    let b = Client::with_key(&s.api, &tb.accesskey);

    let replies = burst(5, || a.get("/v1.0/flows"));
    for (i, r) in replies.iter().enumerate() {
        assert_eq!(r.status, 200, "request {} of the burst: {}", i + 1, r.raw);
    }
    // The sixth in the same second is refused, whichever credential of A's customer is used.
    rate_limited(&a.get("/v1.0/flows"));
    rate_limited(&a_session.get("/v1.0/customer"));
    // Another customer is not slowed down by A.
    for _ in 0..5 {
        let r = b.get("/v1.0/flows");
        assert_eq!(r.status, 200, "{}", r.raw);
    }
    // The limit is per customer, behind authentication: logging in is not counted.
    login(&s, &ta.username, &ta.password);
}
