//! A developer who codes against VoIPBIN's published OpenAPI contract points the client at
//! Voxbin: every operation the gateway serves must answer bodies that the contract's own JSON
//! schemas accept (strictly: no undeclared fields). Each test starts one real server, calls
//! the operations of a few resources with valid input, and checks every real response with
//! `voxbin_contract::Contract::validate_response_strict`, never with a hand-written copy.
//!
//! [`EXERCISED`] lists which test covers which operation; each test proves its share by
//! recording what it validated, and `every_served_operation_has_a_contract_test` fails when
//! the gateway serves an operation that no test here validates.

mod support;

use std::collections::BTreeSet;

use base64::Engine;
use serde_json::{json, Value};
use support::api::{create_tenant, login, send, Client, Reply};
use support::Server;

/// The operations each test validates against the contract, as `METHOD /template`.
const EXERCISED: &[(&str, &[&str])] = &[
    (
        "accounts",
        &[
            "GET /customer",
            "PUT /customer",
            "GET /customers",
            "POST /customers",
            "GET /customers/{id}",
            "PUT /customers/{id}",
            "DELETE /customers/{id}",
            "POST /auth/signup",
        ],
    ),
    (
        "credentials",
        &[
            "GET /accesskeys",
            "POST /accesskeys",
            "GET /accesskeys/{id}",
            "PUT /accesskeys/{id}",
            "DELETE /accesskeys/{id}",
            "PUT /agents/{id}/password",
        ],
    ),
    (
        "flows",
        &[
            "GET /flows",
            "POST /flows",
            "GET /flows/{id}",
            "PUT /flows/{id}",
            "DELETE /flows/{id}",
            "GET /activeflows",
            "GET /activeflows/{id}",
            "POST /activeflows/{id}/stop",
        ],
    ),
    (
        "numbers_and_tags",
        &[
            "GET /numbers",
            "POST /numbers",
            "GET /numbers/{id}",
            "PUT /numbers/{id}",
            "PUT /numbers/{id}/flow_ids",
            "DELETE /numbers/{id}",
            "GET /tags",
            "POST /tags",
            "GET /tags/{id}",
            "PUT /tags/{id}",
            "DELETE /tags/{id}",
        ],
    ),
    (
        "registrar",
        &[
            "GET /extensions",
            "POST /extensions",
            "GET /extensions/{id}",
            "PUT /extensions/{id}",
            "DELETE /extensions/{id}",
            "GET /trunks",
            "POST /trunks",
            "GET /trunks/{id}",
            "PUT /trunks/{id}",
            "DELETE /trunks/{id}",
        ],
    ),
    (
        "routing",
        &[
            "GET /providers",
            "POST /providers",
            "GET /providers/{id}",
            "PUT /providers/{id}",
            "DELETE /providers/{id}",
            "GET /routes",
            "POST /routes",
            "GET /routes/{id}",
            "PUT /routes/{id}",
            "DELETE /routes/{id}",
            "GET /outplans",
            "POST /outplans",
            "GET /outplans/{id}",
            "PUT /outplans/{id}",
            "DELETE /outplans/{id}",
        ],
    ),
    (
        "timelines",
        &[
            "GET /timelines/{resource_type}/{resource_id}/events",
            "GET /aggregated-events",
        ],
    ),
    (
        "calls",
        &[
            "GET /calls",
            "POST /calls",
            "GET /calls/{id}",
            "GET /calls/{id}/media_stream",
            "DELETE /calls/{id}",
            "POST /calls/{id}/hangup",
            "POST /calls/{id}/talk",
            "POST /calls/{id}/hold",
            "DELETE /calls/{id}/hold",
            "POST /calls/{id}/moh",
            "DELETE /calls/{id}/moh",
            "POST /calls/{id}/mute",
            "DELETE /calls/{id}/mute",
            "POST /calls/{id}/silence",
            "DELETE /calls/{id}/silence",
            "POST /calls/{id}/recording_start",
            "POST /calls/{id}/recording_stop",
            "GET /recordings",
            "GET /recordings/{id}",
            "DELETE /recordings/{id}",
            "GET /recordingfiles/{id}",
        ],
    ),
    (
        "groupcalls",
        &[
            "GET /groupcalls",
            "POST /groupcalls",
            "GET /groupcalls/{id}",
            "DELETE /groupcalls/{id}",
            "POST /groupcalls/{id}/hangup",
        ],
    ),
];

/// Operations only checked through an error answer: no public path creates an activeflow yet
/// (the flow service's `POST /v1/activeflows` is internal), so there is none to read or stop.
/// Aggregated events gather an activeflow's run, so they too have no success case yet.
const ERROR_ONLY: &[&str] = &[
    "GET /activeflows/{id}",
    "POST /activeflows/{id}/stop",
    "GET /aggregated-events",
    // a websocket: its upgrade is tested with real audio in media_stream.rs
    "GET /calls/{id}/media_stream",
];

/// An id no resource has.
const UNKNOWN_ID: &str = "0b7f3c7e-5d1a-4c1e-9a51-3f1f2b0c9d4e";

/// Calls operations and checks each answer against the contract, remembering what it checked.
/// Tests named in [`EXERCISED`] end with [`Checker::finish`]; the others only check answers.
struct Checker {
    group: &'static str,
    seen: BTreeSet<String>,
}

impl Checker {
    fn new(group: &'static str) -> Checker {
        Checker {
            group,
            seen: BTreeSet::new(),
        }
    }

    fn contract() -> &'static voxbin_contract::Contract {
        voxbin_contract::Contract::shared().expect("the contract loads")
    }

    /// Sends `method path` (below `/v1.0`) as `client`, asserts the status and validates the
    /// body strictly against the contract's response for `template` and that status. A body
    /// sent with a 2xx expectation must itself be a valid request of the contract.
    fn call(
        &mut self,
        client: &Client,
        method: &str,
        template: &str,
        path: &str,
        body: Option<Value>,
        want: u16,
    ) -> Reply {
        let contract = Self::contract();
        if let (Some(b), true) = (&body, (200..300).contains(&want)) {
            if let Err(errors) = contract.validate_request_strict(method, template, b) {
                panic!(
                    "test bug: the body sent to {method} {template} is not a valid request of the contract:\n  {}\n{b:#}",
                    errors.join("\n  ")
                );
            }
        }
        let reply = client.call(method, &format!("/v1.0{path}"), body);
        assert_eq!(
            reply.status, want,
            "{method} {path}: unexpected status\n{}",
            reply.raw
        );
        self.check(method, template, &reply);
        reply
    }

    /// Validates a reply already received.
    fn check(&mut self, method: &str, template: &str, reply: &Reply) {
        let contract = Self::contract();
        assert!(
            contract.operation_exists(method, template),
            "test bug: {method} {template} is not in the contract"
        );
        if let Err(errors) =
            contract.validate_response_strict(method, template, reply.status, &reply.body)
        {
            panic!(
                "{method} {template} answered {} with a body the contract rejects:\n  {}\nbody: {:#}",
                reply.status,
                errors.join("\n  "),
                reply.body
            );
        }
        if reply.status >= 400 {
            // Error answers also carry the contract's envelope (`ErrorResponse`), even where
            // the operation declares no schema for that status.
            reply.expect_error(reply.status);
            if let Err(errors) = contract.validate_schema_strict("ErrorResponse", &reply.body) {
                panic!(
                    "{method} {template} answered {} with a body that is not an ErrorResponse:\n  {}\nbody: {:#}",
                    reply.status,
                    errors.join("\n  "),
                    reply.body
                );
            }
        }
        self.seen.insert(format!("{method} {template}"));
    }

    /// Asserts that every operation listed for this test in [`EXERCISED`] was validated.
    fn finish(self) {
        let listed = EXERCISED
            .iter()
            .find(|(g, _)| *g == self.group)
            .map(|(_, ops)| *ops)
            .unwrap_or_else(|| panic!("no EXERCISED entry for {}", self.group));
        let missing: Vec<&&str> = listed
            .iter()
            .filter(|op| !self.seen.contains(**op))
            .collect();
        assert!(
            missing.is_empty(),
            "{}: listed in EXERCISED but never validated: {missing:?}",
            self.group
        );
    }
}

/// The `id` of an answer.
fn id_of(reply: &Reply) -> String {
    reply.body["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {}", reply.raw))
        .to_string()
}

/// The ids in a list answer's `result`.
fn ids_in(reply: &Reply) -> Vec<String> {
    reply.body["result"]
        .as_array()
        .unwrap_or_else(|| panic!("no result array in {}", reply.raw))
        .iter()
        .filter_map(|item| item["id"].as_str().map(str::to_string))
        .collect()
}

/// The project super-admin, logged in.
fn super_admin(s: &Server) -> Client {
    let (_, user, password) = s.bootstrap();
    Client::with_token(&s.api, &login(s, &user, &password))
}

/// The agent a login token was issued to (the JWT's `sub` claim, as any JWT client reads it).
fn agent_of(token: &str) -> String {
    let payload = token.split('.').nth(1).expect("a JWT has a payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("the JWT payload is base64url");
    let claims: Value = serde_json::from_slice(&bytes).expect("the JWT payload is JSON");
    claims["sub"].as_str().expect("a sub claim").to_string()
}

/// A flow the contract accepts: answer, then say hello.
fn flow_body(name: &str) -> Value {
    json!({
        "name": name,
        "detail": "greets the caller",
        "actions": [
            {"id": "5f0c6a52-8d4e-4b7a-9a0e-3c2b1d4e5f60", "type": "answer"},
            {
                "id": "5f0c6a52-8d4e-4b7a-9a0e-3c2b1d4e5f61",
                "type": "talk",
                "option": {"text": "Hello"},
            },
        ],
    })
}

#[test]
fn account_operations_answer_the_contract_shapes() {
    let s = Server::start(&[]);
    let mut t = Checker::new("accounts");
    let tenant = create_tenant(&s, "acme");
    let key = Client::with_key(&s.api, &tenant.accesskey);

    let me = t.call(&key, "GET", "/customer", "/customer", None, 200);
    assert_eq!(id_of(&me), tenant.customer_id);
    let update = json!({
        "name": "Acme Corp",
        "detail": "updated through the API",
        "email": "ops@acme.example",
        "phone_number": "+14155550100",
        "address": "1 Main St",
        "webhook_method": "POST",
        "webhook_uri": "https://hooks.acme.example/voipbin",
    });
    let me = t.call(&key, "PUT", "/customer", "/customer", Some(update), 200);
    assert_eq!(me.body["name"], "Acme Corp");
    assert_eq!(me.body["webhook_method"], "POST");

    let admin = super_admin(&s);
    let all = t.call(&admin, "GET", "/customers", "/customers", None, 200);
    assert!(ids_in(&all).contains(&tenant.customer_id), "{}", all.raw);
    let create = json!({
        "name": "Globex",
        "detail": "made by the super-admin",
        "email": "admin@globex.example",
        "phone_number": "+14155550101",
        "address": "2 Side St",
        "webhook_method": "",
        "webhook_uri": "",
    });
    let created = t.call(
        &admin,
        "POST",
        "/customers",
        "/customers",
        Some(create),
        200,
    );
    let id = id_of(&created);
    let path = format!("/customers/{id}");
    let got = t.call(&admin, "GET", "/customers/{id}", &path, None, 200);
    assert_eq!(got.body["email"], "admin@globex.example");
    let update = json!({
        "name": "Globex Inc",
        "detail": "renamed",
        "email": "admin@globex.example",
        "phone_number": "+14155550101",
        "address": "2 Side St",
        "webhook_method": "GET",
        "webhook_uri": "https://globex.example/hook",
    });
    let updated = t.call(&admin, "PUT", "/customers/{id}", &path, Some(update), 200);
    assert_eq!(updated.body["name"], "Globex Inc");
    let deleted = t.call(&admin, "DELETE", "/customers/{id}", &path, None, 200);
    assert!(deleted.body["tm_delete"].is_string(), "{}", deleted.raw);
    t.call(&admin, "GET", "/customers/{id}", &path, None, 404);

    // Self-service signup: the customer and an access key that works at once.
    let anon = Client {
        addr: s.api.clone(),
        accesskey: None,
        bearer: None,
    };
    let signup = json!({
        "name": "Initech",
        "detail": "signed up alone",
        "email": "founder@initech.example",
        "phone_number": "+14155550102",
        "address": "3 Office Park",
        "webhook_method": "POST",
        "webhook_uri": "https://initech.example/hook",
        "accepted_tos": true,
    });
    let result = t.call(
        &anon,
        "POST",
        "/auth/signup",
        "/auth/signup",
        Some(signup.clone()),
        200,
    );
    let token = result.body["accesskey"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("signup gives the access key token: {}", result.raw))
        .to_string();
    let signed_up = t.call(
        &Client::with_key(&s.api, &token),
        "GET",
        "/customer",
        "/customer",
        None,
        200,
    );
    assert_eq!(signed_up.body["id"], result.body["customer"]["id"]);
    // The same email again: 200 with `{}` (no enumeration), still the contract's result type.
    let again = t.call(
        &anon,
        "POST",
        "/auth/signup",
        "/auth/signup",
        Some(signup),
        200,
    );
    assert_eq!(again.body, json!({}), "{}", again.raw);
    let refused = t.call(
        &anon,
        "POST",
        "/auth/signup",
        "/auth/signup",
        Some(json!({"email": "late@initech.example", "accepted_tos": false})),
        400,
    );
    assert!(refused.body["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .contains("accepted_tos"));
    t.finish();
}

#[test]
fn super_admin_sees_its_own_account_through_customer_in_the_plain_customer_shape() {
    let s = Server::start(&[]);
    let mut t = Checker::new("super_admin_customer");
    let admin = super_admin(&s);
    // `/customer` answers `CustomerManagerCustomer` to everyone; the admin-only fields
    // (`terms_agreed_*`) belong to `/customers` alone, even for the super-admin.
    let me = t.call(&admin, "GET", "/customer", "/customer", None, 200);
    let update = json!({
        "name": me.body["name"],
        "detail": "the operator's own account",
        "email": "",
        "phone_number": "",
        "address": "",
        "webhook_method": "",
        "webhook_uri": "",
    });
    let updated = t.call(&admin, "PUT", "/customer", "/customer", Some(update), 200);
    assert_eq!(updated.body["detail"], "the operator's own account");
}

#[test]
fn a_customer_asking_for_the_customer_list_is_denied_as_the_contract_declares() {
    let s = Server::start(&[]);
    let mut t = Checker::new("customers_denied");
    let tenant = create_tenant(&s, "acme");
    let key = Client::with_key(&s.api, &tenant.accesskey);
    // `GET|POST /customers` declare 401, 403 and 500 as their errors: a customer's admin key
    // lacks the permission, which the contract spells 403 PERMISSION_DENIED.
    let listed = t.call(&key, "GET", "/customers", "/customers", None, 403);
    assert_eq!(listed.body["error"]["status"], "PERMISSION_DENIED");
    let create = json!({
        "name": "Rogue",
        "detail": "",
        "email": "",
        "phone_number": "",
        "address": "",
        "webhook_method": "",
        "webhook_uri": "",
    });
    let created = t.call(&key, "POST", "/customers", "/customers", Some(create), 403);
    assert_eq!(created.body["error"]["status"], "PERMISSION_DENIED");
}

#[test]
fn access_key_and_agent_password_operations_answer_the_contract_shapes() {
    let s = Server::start(&[]);
    let mut t = Checker::new("credentials");
    let tenant = create_tenant(&s, "acme");
    let key = Client::with_key(&s.api, &tenant.accesskey);

    let keys = t.call(&key, "GET", "/accesskeys", "/accesskeys", None, 200);
    assert_eq!(ids_in(&keys).len(), 1, "{}", keys.raw);
    assert!(
        keys.body["result"][0].get("token").is_none(),
        "{}",
        keys.raw
    );

    let create = json!({"name": "ci", "detail": "for the build server", "expire": 86400});
    let created = t.call(
        &key,
        "POST",
        "/accesskeys",
        "/accesskeys",
        Some(create),
        200,
    );
    let token = created.body["token"]
        .as_str()
        .unwrap_or_else(|| panic!("the create answer shows the token once: {}", created.raw))
        .to_string();
    assert!(created.body["tm_expire"].is_string(), "{}", created.raw);
    let id = id_of(&created);
    let path = format!("/accesskeys/{id}");
    let got = t.call(&key, "GET", "/accesskeys/{id}", &path, None, 200);
    assert!(got.body.get("token").is_none(), "{}", got.raw);
    assert_eq!(got.body["token_prefix"].as_str(), token.get(..11));
    let update = json!({"name": "ci-renamed", "detail": "still for the build server"});
    let updated = t.call(&key, "PUT", "/accesskeys/{id}", &path, Some(update), 200);
    assert_eq!(updated.body["name"], "ci-renamed");
    let new_key = Client::with_key(&s.api, &token);
    t.call(&new_key, "GET", "/customer", "/customer", None, 200);
    t.call(&key, "DELETE", "/accesskeys/{id}", &path, None, 200);
    t.call(&new_key, "GET", "/customer", "/customer", None, 401);

    // The admin changes its own password; the new one logs in, the old one no longer does.
    let agent_id = agent_of(&login(&s, &tenant.username, &tenant.password));
    let new_password = "a brand new passphrase";
    let path = format!("/agents/{agent_id}/password");
    let agent = t.call(
        &key,
        "PUT",
        "/agents/{id}/password",
        &path,
        Some(json!({"password": new_password})),
        200,
    );
    assert_eq!(id_of(&agent), agent_id);
    assert_eq!(agent.body["username"], tenant.username.as_str());
    login(&s, &tenant.username, new_password);
    let old = send(
        &s.api,
        "POST",
        "/auth/login",
        &[],
        Some(
            json!({"username": tenant.username, "password": tenant.password})
                .to_string()
                .as_bytes(),
        ),
    );
    old.expect_error(401);
    t.finish();
}

#[test]
fn flow_and_activeflow_operations_answer_the_contract_shapes() {
    let s = Server::start(&[]);
    let mut t = Checker::new("flows");
    let tenant = create_tenant(&s, "acme");
    let key = Client::with_key(&s.api, &tenant.accesskey);

    let first = t.call(
        &key,
        "POST",
        "/flows",
        "/flows",
        Some(flow_body("hello")),
        200,
    );
    let first_id = id_of(&first);
    let second = t.call(
        &key,
        "POST",
        "/flows",
        "/flows",
        Some(flow_body("goodbye")),
        200,
    );
    let id = id_of(&second);
    let list = t.call(&key, "GET", "/flows", "/flows", None, 200);
    assert_eq!(
        ids_in(&list),
        vec![id.clone(), first_id.clone()],
        "newest first"
    );
    // One flow a page: the token leads to the second and last page.
    let page = t.call(&key, "GET", "/flows", "/flows?page_size=1", None, 200);
    assert_eq!(ids_in(&page), vec![id.clone()]);
    let token = page.body["next_page_token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(!token.is_empty(), "{}", page.raw);
    let path = format!("/flows?page_size=1&page_token={token}");
    let page = t.call(&key, "GET", "/flows", &path, None, 200);
    assert_eq!(ids_in(&page), vec![first_id.clone()]);
    let path = format!("/flows/{id}");
    let got = t.call(&key, "GET", "/flows/{id}", &path, None, 200);
    assert_eq!(got.body, second.body);
    let mut update = flow_body("goodbye, then hello");
    update["on_complete_flow_id"] = json!(first_id);
    let updated = t.call(&key, "PUT", "/flows/{id}", &path, Some(update), 200);
    assert_eq!(updated.body["on_complete_flow_id"], first_id.as_str());
    let deleted = t.call(&key, "DELETE", "/flows/{id}", &path, None, 200);
    assert!(deleted.body["tm_delete"].is_string(), "{}", deleted.raw);
    t.call(&key, "GET", "/flows/{id}", &path, None, 404);

    // No public operation starts an activeflow yet: the list is empty, and reading or stopping
    // one that does not exist answers the contract's 404.
    let list = t.call(&key, "GET", "/activeflows", "/activeflows", None, 200);
    assert_eq!(ids_in(&list), Vec::<String>::new());
    let path = format!("/activeflows/{UNKNOWN_ID}");
    t.call(&key, "GET", "/activeflows/{id}", &path, None, 404);
    let path = format!("/activeflows/{UNKNOWN_ID}/stop");
    t.call(&key, "POST", "/activeflows/{id}/stop", &path, None, 404);
    t.finish();
}

#[test]
fn timeline_operations_answer_the_contract_shapes() {
    let s = Server::start(&[]);
    let mut t = Checker::new("timelines");
    let tenant = create_tenant(&s, "acme");
    let key = Client::with_key(&s.api, &tenant.accesskey);
    let id = id_of(&key.post("/v1.0/flows", flow_body("hello")));
    let template = "/timelines/{resource_type}/{resource_id}/events";
    let path = format!("/timelines/flows/{id}/events");
    // The timeline records events as they arrive from the event stream.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while key.get(&format!("/v1.0{path}")).status != 200 {
        assert!(
            std::time::Instant::now() < deadline,
            "flow_created never recorded"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let events = t.call(&key, "GET", template, &path, None, 200);
    assert_eq!(events.body["result"][0]["event_type"], "flow_created");
    let unknown = format!("/timelines/flows/{UNKNOWN_ID}/events");
    t.call(&key, "GET", template, &unknown, None, 404);
    let path = format!("/aggregated-events?activeflow_id={UNKNOWN_ID}");
    t.call(&key, "GET", "/aggregated-events", &path, None, 404);
    t.call(
        &key,
        "GET",
        "/aggregated-events",
        "/aggregated-events",
        None,
        400,
    );
    t.finish();
}

#[test]
fn number_and_tag_operations_answer_the_contract_shapes() {
    let s = Server::start(&[]);
    let mut t = Checker::new("numbers_and_tags");
    let tenant = create_tenant(&s, "acme");
    let key = Client::with_key(&s.api, &tenant.accesskey);
    let calls = id_of(&t.call(
        &key,
        "POST",
        "/flows",
        "/flows",
        Some(flow_body("calls")),
        200,
    ));
    let texts = id_of(&t.call(
        &key,
        "POST",
        "/flows",
        "/flows",
        Some(flow_body("texts")),
        200,
    ));

    let create = json!({
        "number": "+14155550123",
        "type": "normal",
        "call_flow_id": calls,
        "message_flow_id": texts,
        "name": "front desk",
        "detail": "main line",
    });
    let created = t.call(&key, "POST", "/numbers", "/numbers", Some(create), 200);
    let id = id_of(&created);
    let list = t.call(&key, "GET", "/numbers", "/numbers", None, 200);
    assert_eq!(ids_in(&list), vec![id.clone()]);
    let path = format!("/numbers/{id}");
    let got = t.call(&key, "GET", "/numbers/{id}", &path, None, 200);
    assert_eq!(got.body["number"], "+14155550123");
    let update = json!({
        "call_flow_id": texts,
        "message_flow_id": calls,
        "name": "back office",
        "detail": "swapped flows",
    });
    let updated = t.call(&key, "PUT", "/numbers/{id}", &path, Some(update), 200);
    assert_eq!(updated.body["name"], "back office");
    let flows = json!({"call_flow_id": calls, "message_flow_id": texts});
    let path_flows = format!("/numbers/{id}/flow_ids");
    let updated = t.call(
        &key,
        "PUT",
        "/numbers/{id}/flow_ids",
        &path_flows,
        Some(flows),
        200,
    );
    assert_eq!(updated.body["call_flow_id"], calls.as_str());
    let deleted = t.call(&key, "DELETE", "/numbers/{id}", &path, None, 200);
    assert_eq!(deleted.body["status"], "deleted");

    let create = json!({"name": "vip", "detail": "our best customers"});
    let created = t.call(&key, "POST", "/tags", "/tags", Some(create), 200);
    let id = id_of(&created);
    let list = t.call(&key, "GET", "/tags", "/tags", None, 200);
    assert_eq!(ids_in(&list), vec![id.clone()]);
    let path = format!("/tags/{id}");
    t.call(&key, "GET", "/tags/{id}", &path, None, 200);
    let update = json!({"name": "vvip", "detail": "even better"});
    let updated = t.call(&key, "PUT", "/tags/{id}", &path, Some(update), 200);
    assert_eq!(updated.body["name"], "vvip");
    t.call(&key, "DELETE", "/tags/{id}", &path, None, 200);
    t.call(&key, "GET", "/tags/{id}", &path, None, 404);
    t.finish();
}

#[test]
fn extension_and_trunk_operations_answer_the_contract_shapes() {
    let s = Server::start(&[]);
    let mut t = Checker::new("registrar");
    let tenant = create_tenant(&s, "acme");
    let key = Client::with_key(&s.api, &tenant.accesskey);

    let create = json!({
        "extension": "1001",
        "password": "desk-phone-secret",
        "name": "reception",
        "detail": "the desk phone",
    });
    let created = t.call(
        &key,
        "POST",
        "/extensions",
        "/extensions",
        Some(create),
        200,
    );
    let id = id_of(&created);
    let list = t.call(&key, "GET", "/extensions", "/extensions", None, 200);
    assert_eq!(ids_in(&list), vec![id.clone()]);
    let path = format!("/extensions/{id}");
    let got = t.call(&key, "GET", "/extensions/{id}", &path, None, 200);
    assert_eq!(got.body["extension"], "1001");
    let update = json!({"name": "lobby", "detail": "moved", "password": "another-secret"});
    let updated = t.call(&key, "PUT", "/extensions/{id}", &path, Some(update), 200);
    assert_eq!(updated.body["name"], "lobby");
    t.call(&key, "DELETE", "/extensions/{id}", &path, None, 200);

    let create = json!({
        "name": "carrier",
        "detail": "our PBX",
        "domain_name": "acme-pbx",
        "auth_types": ["basic", "ip"],
        "username": "acmepbx",
        "password": "trunk-secret-1",
        "allowed_ips": ["203.0.113.7", "198.51.100.0/24"],
    });
    let created = t.call(&key, "POST", "/trunks", "/trunks", Some(create), 200);
    let id = id_of(&created);
    let list = t.call(&key, "GET", "/trunks", "/trunks", None, 200);
    assert_eq!(ids_in(&list), vec![id.clone()]);
    let path = format!("/trunks/{id}");
    let got = t.call(&key, "GET", "/trunks/{id}", &path, None, 200);
    assert_eq!(got.body["domain_name"], "acme-pbx");
    let update = json!({
        "name": "carrier 2",
        "detail": "IP only now",
        "auth_types": ["ip"],
        "username": "",
        "password": "",
        "allowed_ips": ["203.0.113.8"],
    });
    let updated = t.call(&key, "PUT", "/trunks/{id}", &path, Some(update), 200);
    assert_eq!(updated.body["auth_types"], json!(["ip"]));
    t.call(&key, "DELETE", "/trunks/{id}", &path, None, 200);
    t.call(&key, "GET", "/trunks/{id}", &path, None, 404);
    t.finish();
}

#[test]
fn provider_route_and_outplan_operations_answer_the_contract_shapes() {
    let s = Server::start(&[]);
    let mut t = Checker::new("routing");
    let tenant = create_tenant(&s, "acme");
    let key = Client::with_key(&s.api, &tenant.accesskey);
    let admin = super_admin(&s);

    // Providers are the platform's: the super-admin manages them, customers read them.
    let provider = json!({
        "type": "sip",
        "hostname": "sip.carrier.example:5060",
        "tech_prefix": "",
        "tech_postfix": "",
        "tech_headers": {},
        "name": "carrier",
        "detail": "wholesale termination",
        "codecs": "PCMU,PCMA",
    });
    let created = t.call(
        &admin,
        "POST",
        "/providers",
        "/providers",
        Some(provider.clone()),
        200,
    );
    let provider_id = id_of(&created);
    t.call(
        &key,
        "POST",
        "/providers",
        "/providers",
        Some(provider),
        403,
    );
    let list = t.call(&key, "GET", "/providers", "/providers", None, 200);
    assert_eq!(ids_in(&list), vec![provider_id.clone()]);
    let provider_path = format!("/providers/{provider_id}");
    t.call(&key, "GET", "/providers/{id}", &provider_path, None, 200);
    let update = json!({
        "type": "sip",
        "hostname": "sip2.carrier.example",
        "tech_prefix": "00",
        "tech_postfix": "",
        "tech_headers": {"X-Account": "acme"},
        "name": "carrier",
        "detail": "moved host",
    });
    let updated = t.call(
        &admin,
        "PUT",
        "/providers/{id}",
        &provider_path,
        Some(update),
        200,
    );
    assert_eq!(updated.body["hostname"], "sip2.carrier.example");

    let create = json!({
        "customer_id": tenant.customer_id,
        "name": "default",
        "detail": "everything through the carrier",
        "provider_id": provider_id,
        "priority": 1,
        "target": "all",
    });
    let created = t.call(&key, "POST", "/routes", "/routes", Some(create), 200);
    let id = id_of(&created);
    let list = t.call(&key, "GET", "/routes", "/routes", None, 200);
    assert_eq!(ids_in(&list), vec![id.clone()]);
    let path = format!("/routes/{id}");
    t.call(&key, "GET", "/routes/{id}", &path, None, 200);
    let update = json!({
        "name": "korea",
        "detail": "only +82",
        "provider_id": provider_id,
        "priority": 2,
        "target": "82",
    });
    let updated = t.call(&key, "PUT", "/routes/{id}", &path, Some(update), 200);
    assert_eq!(updated.body["target"], "82");
    t.call(&key, "DELETE", "/routes/{id}", &path, None, 200);
    t.call(
        &admin,
        "DELETE",
        "/providers/{id}",
        &provider_path,
        None,
        200,
    );

    let create = json!({
        "name": "weekday",
        "detail": "three tries",
        "source": {
            "type": "tel",
            "target": "+14155550123",
            "target_name": "Acme",
            "name": "main",
            "detail": "caller id",
        },
        "dial_timeout": 30000,
        "try_interval": 60000,
        "max_try_count_0": 3,
        "max_try_count_1": 3,
        "max_try_count_2": 2,
        "max_try_count_3": 1,
        "max_try_count_4": 0,
    });
    let created = t.call(&key, "POST", "/outplans", "/outplans", Some(create), 200);
    let id = id_of(&created);
    let list = t.call(&key, "GET", "/outplans", "/outplans", None, 200);
    assert_eq!(ids_in(&list), vec![id.clone()]);
    let path = format!("/outplans/{id}");
    t.call(&key, "GET", "/outplans/{id}", &path, None, 200);
    let update = json!({"name": "weekend", "detail": "renamed"});
    let updated = t.call(&key, "PUT", "/outplans/{id}", &path, Some(update), 200);
    assert_eq!(updated.body["name"], "weekend");
    assert_eq!(updated.body["dial_timeout"], 30000);
    t.call(&key, "DELETE", "/outplans/{id}", &path, None, 200);
    t.call(&key, "GET", "/outplans/{id}", &path, None, 404);
    t.finish();
}

/// A sipp callee (`crates/svc/call/tests/sipp/callee_answers.xml`) answering one call on a
/// free UDP port; the port.
fn sipp_callee() -> (std::process::Child, u16) {
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .unwrap();
    let scenario = format!(
        "{}/../svc/call/tests/sipp/callee_answers.xml",
        env!("CARGO_MANIFEST_DIR")
    );
    let child = std::process::Command::new("sipp")
        .args(["-sf", &scenario, "-i", "127.0.0.1", "-p", &port.to_string()])
        .args([
            "-mp",
            &support::free_port_block().to_string(),
            "-m",
            "1",
            "-nostdin",
        ])
        .args(["-timeout", "60s"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("sipp runs (apt-get install sip-tester)");
    (child, port)
}

#[test]
fn call_operations_answer_the_contract_shapes() {
    let media = std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .unwrap();
    let ng = format!("rtp_relay.ng_listen=127.0.0.1:{}", media + 1);
    let s = Server::start(&[
        "--set",
        &format!("media.sip_listen=127.0.0.1:{media}"),
        "--set",
        &ng,
    ]);
    let mut t = Checker::new("calls");
    let tenant = create_tenant(&s, "acme");
    let key = Client::with_key(&s.api, &tenant.accesskey);
    let (mut callee, port) = sipp_callee();
    let body = json!({
        "actions": [{"id": "00000000-0000-4000-8000-000000000001", "type": "sleep",
                     "option": {"duration": 60000}}],
        "source": {"type": "tel", "target": "+15550100"},
        "destinations": [{"type": "sip", "target": format!("sip:bob@127.0.0.1:{port}")}],
    });
    let made = t.call(&key, "POST", "/calls", "/calls", Some(body), 200);
    let id = made.body["calls"][0]["id"].as_str().unwrap().to_owned();
    let path = format!("/calls/{id}");
    let stream = format!("/v1.0{path}/media_stream?encapsulation=sln");
    let anon = send(&s.api, "GET", &stream, &[], None);
    assert_eq!(anon.status, 401, "{}", anon.raw);
    t.check("GET", "/calls/{id}/media_stream", &anon);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while key.get(&format!("/v1.0{path}")).body["status"] != "progressing" {
        assert!(std::time::Instant::now() < deadline, "never answered");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let list = t.call(&key, "GET", "/calls", "/calls", None, 200);
    assert_eq!(ids_in(&list), vec![id.clone()]);
    t.call(&key, "GET", "/calls/{id}", &path, None, 200);
    let talk = json!({"text": "hello", "language": "en-US"});
    let p = format!("{path}/talk");
    t.call(&key, "POST", "/calls/{id}/talk", &p, Some(talk), 200);
    for op in ["mute", "silence", "hold", "moh"] {
        let p = format!("{path}/{op}");
        let template = format!("/calls/{{id}}/{op}");
        t.call(&key, "POST", &template, &p, None, 200);
        t.call(&key, "DELETE", &template, &p, None, 200);
    }
    let rec = json!({"format": "wav", "end_of_silence": 0, "end_of_key": "", "duration": 0,
                     "on_end_flow_id": ""});
    let p = format!("{path}/recording_start");
    let started = t.call(
        &key,
        "POST",
        "/calls/{id}/recording_start",
        &p,
        Some(rec),
        200,
    );
    let rec_id = started.body["recording_id"].as_str().unwrap().to_owned();
    let p = format!("{path}/recording_stop");
    t.call(&key, "POST", "/calls/{id}/recording_stop", &p, None, 200);
    let list = t.call(&key, "GET", "/recordings", "/recordings", None, 200);
    assert_eq!(ids_in(&list), vec![rec_id.clone()]);
    let rec_path = format!("/recordings/{rec_id}");
    while key.get(&format!("/v1.0{rec_path}")).body["status"] != "ended" {
        assert!(
            std::time::Instant::now() < deadline,
            "recording never ended"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    t.call(&key, "GET", "/recordings/{id}", &rec_path, None, 200);
    let file = format!("/recordingfiles/{rec_id}");
    t.call(&key, "GET", "/recordingfiles/{id}", &file, None, 307);
    t.call(&key, "DELETE", "/recordings/{id}", &rec_path, None, 200);
    // a live call is not deleted
    t.call(&key, "DELETE", "/calls/{id}", &path, None, 409);
    let p = format!("{path}/hangup");
    t.call(&key, "POST", "/calls/{id}/hangup", &p, None, 200);
    while key.get(&format!("/v1.0{path}")).body["status"] != "hangup" {
        assert!(std::time::Instant::now() < deadline, "never hung up");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    t.call(&key, "DELETE", "/calls/{id}", &path, None, 200);
    t.call(&key, "GET", "/calls/{id}", &path, None, 404);
    let _ = callee.wait();
    t.finish();
}

#[test]
fn groupcall_operations_answer_the_contract_shapes() {
    let media = std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .unwrap();
    let ng = format!("rtp_relay.ng_listen=127.0.0.1:{}", media + 1);
    let s = Server::start(&[
        "--set",
        &format!("media.sip_listen=127.0.0.1:{media}"),
        "--set",
        &ng,
    ]);
    let mut t = Checker::new("groupcalls");
    let tenant = create_tenant(&s, "acme");
    let key = Client::with_key(&s.api, &tenant.accesskey);
    let (mut callee, port) = sipp_callee();
    let body = json!({
        "actions": [{"id": "00000000-0000-4000-8000-000000000001", "type": "sleep",
                     "option": {"duration": 60000}}],
        "source": {"type": "tel", "target": "+15550100"},
        "destinations": [{"type": "sip", "target": format!("sip:bob@127.0.0.1:{port}")}],
        "ring_method": "ring_all",
        "answer_method": "hangup_others",
    });
    let made = t.call(&key, "POST", "/groupcalls", "/groupcalls", Some(body), 200);
    let id = id_of(&made);
    let path = format!("/groupcalls/{id}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    // answered once answer_call_id is set (the POST's answer may already show it)
    let nil = "00000000-0000-0000-0000-000000000000";
    while key.get(&format!("/v1.0{path}")).body["answer_call_id"] == nil {
        assert!(std::time::Instant::now() < deadline, "never answered");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let list = t.call(&key, "GET", "/groupcalls", "/groupcalls", None, 200);
    assert_eq!(ids_in(&list), vec![id.clone()]);
    t.call(&key, "GET", "/groupcalls/{id}", &path, None, 200);
    // a live group call is not deleted
    t.call(&key, "DELETE", "/groupcalls/{id}", &path, None, 409);
    let p = format!("{path}/hangup");
    t.call(&key, "POST", "/groupcalls/{id}/hangup", &p, None, 200);
    while key.get(&format!("/v1.0{path}")).body["status"] != "hangup" {
        assert!(std::time::Instant::now() < deadline, "never hung up");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    t.call(&key, "DELETE", "/groupcalls/{id}", &path, None, 200);
    t.call(&key, "GET", "/groupcalls/{id}", &path, None, 404);
    let _ = callee.wait();
    t.finish();
}

#[test]
fn error_answers_match_the_contract_error_responses() {
    let s = Server::start(&[]);
    let mut t = Checker::new("errors");
    let tenant = create_tenant(&s, "acme");
    let key = Client::with_key(&s.api, &tenant.accesskey);
    let admin = super_admin(&s);

    // 404 for ids nobody has.
    for (client, method, template, body) in [
        (&key, "GET", "/flows/{id}", None),
        (&key, "GET", "/numbers/{id}", None),
        (
            &key,
            "PUT",
            "/tags/{id}",
            Some(json!({"name": "x", "detail": ""})),
        ),
        (&key, "DELETE", "/extensions/{id}", None),
        (&key, "GET", "/accesskeys/{id}", None),
        (&key, "GET", "/routes/{id}", None),
        (&key, "GET", "/outplans/{id}", None),
        (&admin, "GET", "/customers/{id}", None),
        (&admin, "DELETE", "/providers/{id}", None),
    ] {
        let path = template.replace("{id}", UNKNOWN_ID);
        let reply = t.call(client, method, template, &path, body, 404);
        assert_eq!(reply.body["error"]["status"], "NOT_FOUND", "{}", reply.raw);
    }

    // 400 for bodies the operation cannot take.
    for (method, template, path, body) in [
        (
            "POST",
            "/flows",
            "/flows",
            json!({"name": "no actions", "detail": ""}),
        ),
        (
            "POST",
            "/numbers",
            "/numbers",
            json!({"number": "555-0100", "name": "", "detail": ""}),
        ),
        (
            "POST",
            "/tags",
            "/tags",
            json!({"name": "  ", "detail": ""}),
        ),
        (
            "PUT",
            "/customer",
            "/customer",
            json!({"webhook_method": "PATCH"}),
        ),
        (
            "POST",
            "/trunks",
            "/trunks",
            json!({"name": "t", "detail": "", "domain_name": "x", "auth_types": ["magic"],
                   "username": "", "password": "", "allowed_ips": []}),
        ),
        (
            "POST",
            "/outplans",
            "/outplans",
            json!({"name": "o", "detail": "", "source": {"type": "tel", "target": "+14155550123"},
                   "dial_timeout": 30, "try_interval": 0, "max_try_count_0": 1,
                   "max_try_count_1": 0, "max_try_count_2": 0, "max_try_count_3": 0,
                   "max_try_count_4": 0}),
        ),
        ("GET", "/flows/{id}", "/flows/not-a-uuid", Value::Null),
    ] {
        let body = (!body.is_null()).then_some(body);
        let reply = t.call(&key, method, template, path, body, 400);
        assert_eq!(
            reply.body["error"]["status"], "INVALID_ARGUMENT",
            "{}",
            reply.raw
        );
    }
    let garbage = key.raw("POST", "/v1.0/flows", Some(b"{\"name\": "));
    assert_eq!(garbage.status, 400, "{}", garbage.raw);
    t.check("POST", "/flows", &garbage);

    // 401 without a credential.
    let anon = send(&s.api, "GET", "/v1.0/flows", &[], None);
    assert_eq!(anon.status, 401, "{}", anon.raw);
    t.check("GET", "/flows", &anon);
}

#[test]
fn every_served_operation_has_a_contract_test() {
    let listed: BTreeSet<String> = include_str!("../../api/openapi/operations.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    // Voxbin's additions are not VoIPBIN's: their own tests check them against our document.
    let additions: BTreeSet<String> = voxbin_api::voxbin_additions()
        .into_iter()
        .map(|(m, p)| format!("{m} {p}"))
        .collect();
    let listed: BTreeSet<String> = listed.difference(&additions).cloned().collect();
    let served: BTreeSet<String> = voxbin_api::served_operations()
        .into_iter()
        .map(|(m, p)| format!("{m} {p}"))
        .filter(|op| !additions.contains(op))
        .collect();
    let tested: BTreeSet<String> = EXERCISED
        .iter()
        .flat_map(|(_, ops)| ops.iter().map(|op| op.to_string()))
        .collect();
    for op in ERROR_ONLY {
        assert!(
            tested.contains(*op),
            "{op} is in ERROR_ONLY but not in EXERCISED"
        );
    }
    let untested: Vec<&String> = listed
        .union(&served)
        .filter(|op| !tested.contains(*op))
        .collect();
    assert!(
        untested.is_empty(),
        "served operations without a contract test in this file: {untested:?}"
    );
    let stale: Vec<&String> = tested.difference(&served).collect();
    assert!(
        stale.is_empty(),
        "EXERCISED lists operations the gateway does not serve: {stale:?}"
    );
    let contract = voxbin_contract::Contract::shared().expect("the contract loads");
    for op in &additions {
        let (method, path) = op.split_once(' ').unwrap();
        assert!(
            !contract.operation_exists(method, path),
            "{op} is in the contract now: drop it from voxbin_api::voxbin_additions"
        );
    }
    for op in &tested {
        let (method, path) = op.split_once(' ').unwrap();
        assert!(
            contract.operation_exists(method, path),
            "{op} is not an operation of the contract"
        );
    }
}
