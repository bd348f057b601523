//! Two customers share one installation and never see each other's data: for every resource
//! type of the REST API, one customer's objects cannot be read, listed, changed or deleted by
//! the other (the answer is the same 404 as for an id that does not exist, so ids do not leak),
//! while the owner, its access keys and the project super-admin keep working.

mod support;

use serde_json::{json, Value};
use support::api::{create_tenant, login, Client, Reply, Tenant};
use support::Server;

/// A well-formed id that names nothing.
const NO_SUCH_ID: &str = "01900000-0000-7000-8000-00000000abcd";

/// One customer-owned resource type: where it lives, how to make one, a valid update, and the
/// reason of its 404.
struct Kind {
    plural: &'static str,
    update: Value,
    reason: &'static str,
}

/// Asserts a 200 and returns the body.
fn ok(r: Reply) -> Value {
    assert_eq!(r.status, 200, "{}", r.raw);
    r.body
}

/// The ids in a list answer (asserting it is a list answer).
fn ids(r: Reply) -> Vec<String> {
    assert_eq!(r.status, 200, "{}", r.raw);
    r.body["result"]
        .as_array()
        .unwrap_or_else(|| panic!("no result array: {}", r.raw))
        .iter()
        .map(|o| o["id"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Creates an object and returns its id.
fn create(c: &Client, plural: &str, body: Value) -> String {
    let created = ok(c.post(&format!("/v1.0/{plural}"), body));
    created["id"]
        .as_str()
        .expect("created object has an id")
        .to_string()
}

/// The 404 of `r` with its reason and message (the request id differs between requests).
fn not_found(r: &Reply) -> (String, String) {
    let reason = r.expect_error(404);
    (
        reason,
        r.body["error"]["message"].as_str().unwrap().to_string(),
    )
}

/// `intruder` cannot get, update or delete `owner`'s object `id`, and does not find it in its
/// list, even when it names the owner's customer in the query; the owner's object is unchanged
/// afterwards and still listed for the owner.
fn assert_isolated(owner: &Client, owner_customer: &str, intruder: &Client, kind: &Kind, id: &str) {
    let one = format!("/v1.0/{}/{id}", kind.plural);
    let missing = format!("/v1.0/{}/{NO_SUCH_ID}", kind.plural);
    let before = ok(owner.get(&one));

    let attempts = [
        ("GET", intruder.get(&one), intruder.get(&missing)),
        (
            "PUT",
            intruder.put(&one, kind.update.clone()),
            intruder.put(&missing, kind.update.clone()),
        ),
        ("DELETE", intruder.delete(&one), intruder.delete(&missing)),
    ];
    for (method, theirs, nothing) in attempts {
        let got = not_found(&theirs);
        assert_eq!(got.0, kind.reason, "{method} {one}: {}", theirs.raw);
        assert_eq!(
            got,
            not_found(&nothing),
            "{method} {one}: another customer's object must look exactly like no object"
        );
    }
    // Naming the owner's customer in the query does not widen the intruder's view either.
    let scoped = intruder.get(&format!("{one}?customer_id={owner_customer}"));
    assert_eq!(not_found(&scoped).0, kind.reason, "{}", scoped.raw);
    let widened = intruder.put(
        &format!("{one}?customer_id={owner_customer}"),
        kind.update.clone(),
    );
    assert_eq!(not_found(&widened).0, kind.reason, "{}", widened.raw);

    for list in [
        format!("/v1.0/{}", kind.plural),
        format!("/v1.0/{}?customer_id={owner_customer}", kind.plural),
        format!("/v1.0/{}?page_size=1000", kind.plural),
    ] {
        assert!(
            !ids(intruder.get(&list)).contains(&id.to_string()),
            "{list} shows another customer's {}",
            kind.plural
        );
    }

    assert_eq!(
        ok(owner.get(&one)),
        before,
        "{one} changed by another customer"
    );
    assert!(ids(owner.get(&format!("/v1.0/{}", kind.plural))).contains(&id.to_string()));
}

fn flow_body(name: &str) -> Value {
    json!({"name": name, "detail": "mine", "actions": [{"type": "answer"}, {"type": "hangup"}]})
}

fn flow_update() -> Value {
    json!({"name": "stolen", "detail": "", "actions": [{"type": "hangup"}]})
}

/// A tenant's access-key client and its login-token client.
fn clients(s: &Server, t: &Tenant) -> (Client, Client) {
    (
        Client::with_key(&s.api, &t.accesskey),
        Client::with_token(&s.api, &login(s, &t.username, &t.password)),
    )
}

#[test]
fn flows_numbers_tags_and_access_keys_stay_with_their_customer() {
    let s = Server::start(&[]);
    let ta = create_tenant(&s, "alpha");
    let tb = create_tenant(&s, "bravo");
    let (a, a_login) = clients(&s, &ta);
    let (b, b_login) = clients(&s, &tb);

    // Flows, in both directions and with both kinds of credentials.
    let flows = Kind {
        plural: "flows",
        update: flow_update(),
        reason: "FLOW_NOT_FOUND",
    };
    let a_flow = create(&a, "flows", flow_body("a-flow"));
    let b_flow = create(&b, "flows", flow_body("b-flow"));
    assert_isolated(&a, &ta.customer_id, &b, &flows, &a_flow);
    assert_isolated(&b, &tb.customer_id, &a, &flows, &b_flow);
    assert_isolated(&a_login, &ta.customer_id, &b_login, &flows, &a_flow);
    assert_isolated(&b_login, &tb.customer_id, &a, &flows, &b_flow);
    // Each sees exactly its own flow.
    assert_eq!(ids(a.get("/v1.0/flows")), vec![a_flow.clone()]);
    assert_eq!(ids(b.get("/v1.0/flows")), vec![b_flow.clone()]);

    // Numbers, including the flow-assignment sub-resource.
    let numbers = Kind {
        plural: "numbers",
        update: json!({"name": "stolen", "detail": ""}),
        reason: "NUMBER_NOT_FOUND",
    };
    let a_number = create(
        &a,
        "numbers",
        json!({"number": "+15550100001", "name": "a-line", "call_flow_id": a_flow}),
    );
    let a_number_before = ok(a.get(&format!("/v1.0/numbers/{a_number}")));
    let r = b.put(
        &format!("/v1.0/numbers/{a_number}/flow_ids"),
        json!({"call_flow_id": b_flow}),
    );
    assert_eq!(not_found(&r).0, "NUMBER_NOT_FOUND");
    assert_eq!(
        ok(a.get(&format!("/v1.0/numbers/{a_number}"))),
        a_number_before
    );
    assert_isolated(&a, &ta.customer_id, &b, &numbers, &a_number);
    let b_number = create(
        &b,
        "numbers",
        json!({"number": "+15550100002", "name": "b-line"}),
    );
    assert_isolated(&b, &tb.customer_id, &a, &numbers, &b_number);

    // Tags.
    let tags = Kind {
        plural: "tags",
        update: json!({"name": "stolen", "detail": ""}),
        reason: "TAG_NOT_FOUND",
    };
    let a_tag = create(&a, "tags", json!({"name": "vip", "detail": "a's"}));
    assert_isolated(&a, &ta.customer_id, &b, &tags, &a_tag);
    // The same tag name is free for the other customer.
    let b_tag = create(&b, "tags", json!({"name": "vip", "detail": "b's"}));
    assert_isolated(&b, &tb.customer_id, &a, &tags, &b_tag);

    // Access keys: B cannot see, rename or delete A's key, and A's key keeps working.
    let keys = Kind {
        plural: "accesskeys",
        update: json!({"name": "stolen", "detail": ""}),
        reason: "ACCESSKEY_NOT_FOUND",
    };
    let created = ok(a.post(
        "/v1.0/accesskeys",
        json!({"name": "ci", "detail": "a's robot"}),
    ));
    let a_key = created["id"].as_str().unwrap().to_string();
    let a_key_token = created["token"].as_str().unwrap().to_string();
    assert_isolated(&a, &ta.customer_id, &b, &keys, &a_key);
    assert_isolated(&a_login, &ta.customer_id, &b_login, &keys, &a_key);
    let a_robot = Client::with_key(&s.api, &a_key_token);
    assert_eq!(
        ok(a_robot.get("/v1.0/customer"))["id"],
        ta.customer_id.as_str()
    );
    // A's new key opens A's objects and nothing of B's.
    assert_eq!(
        ok(a_robot.get(&format!("/v1.0/flows/{a_flow}")))["id"],
        a_flow.as_str()
    );
    assert_eq!(
        ok(a_robot.get(&format!("/v1.0/numbers/{a_number}")))["id"],
        a_number.as_str()
    );
    assert_eq!(
        not_found(&a_robot.get(&format!("/v1.0/flows/{b_flow}"))).0,
        "FLOW_NOT_FOUND"
    );
    assert_eq!(ids(a_robot.get("/v1.0/flows")), vec![a_flow.clone()]);
    let b_keys = ids(b.get("/v1.0/accesskeys"));
    assert_eq!(b_keys.len(), 1, "B sees only its first key: {b_keys:?}");

    // Activeflows: there are none to create through the API yet; what is reachable is that
    // lists are scoped and unknown ids are 404 for get and stop alike.
    assert_eq!(ids(b.get("/v1.0/activeflows")), Vec::<String>::new());
    assert_eq!(
        ids(b.get(&format!("/v1.0/activeflows?customer_id={}", ta.customer_id))),
        Vec::<String>::new()
    );
    let r = b.get(&format!("/v1.0/activeflows/{NO_SUCH_ID}"));
    assert_eq!(not_found(&r).0, "ACTIVEFLOW_NOT_FOUND");
    let r = b.call(
        "POST",
        &format!("/v1.0/activeflows/{NO_SUCH_ID}/stop"),
        None,
    );
    assert_eq!(not_found(&r).0, "ACTIVEFLOW_NOT_FOUND");
}

#[test]
fn extensions_trunks_routes_and_outplans_stay_with_their_customer() {
    let s = Server::start(&[]);
    let ta = create_tenant(&s, "alpha");
    let tb = create_tenant(&s, "bravo");
    let a = Client::with_key(&s.api, &ta.accesskey);
    let b = Client::with_key(&s.api, &tb.accesskey);
    let (_, user, password) = s.bootstrap();
    let admin = Client::with_token(&s.api, &login(&s, &user, &password));

    let extensions = Kind {
        plural: "extensions",
        update: json!({"name": "mine", "detail": "", "password": "stolen-pass"}),
        reason: "EXTENSION_NOT_FOUND",
    };
    let body = json!({"extension": "1001", "password": "s3cur3P@ss", "name": "Reception", "detail": "Desk A"});
    let a_ext = create(&a, "extensions", body.clone());
    assert_isolated(&a, &ta.customer_id, &b, &extensions, &a_ext);
    // B may use the same extension number in its own realm.
    let b_ext = create(&b, "extensions", body);
    assert_isolated(&b, &tb.customer_id, &a, &extensions, &b_ext);

    let trunk = |domain: &str| {
        json!({
            "name": "Office PBX", "detail": "Main trunk", "domain_name": domain,
            "auth_types": ["basic", "ip"], "username": "pbx", "password": "tr0nk-pass",
            "allowed_ips": ["203.0.113.10"]
        })
    };
    let trunks = Kind {
        plural: "trunks",
        update: json!({
            "name": "Carrier", "detail": "", "auth_types": ["ip"], "username": "",
            "password": "", "allowed_ips": ["198.51.100.7"]
        }),
        reason: "TRUNK_NOT_FOUND",
    };
    let a_trunk = create(&a, "trunks", trunk("alpha-pbx"));
    assert_isolated(&a, &ta.customer_id, &b, &trunks, &a_trunk);
    let b_trunk = create(&b, "trunks", trunk("bravo-pbx"));
    assert_isolated(&b, &tb.customer_id, &a, &trunks, &b_trunk);

    // Routes point at a platform-wide provider that only the super-admin can create.
    let provider = create(
        &admin,
        "providers",
        json!({
            "type": "sip", "hostname": "sip.carrier.example.com:5060", "tech_prefix": "",
            "tech_postfix": "", "tech_headers": {}, "name": "Carrier", "detail": ""
        }),
    );
    let route = |target: &str| json!({"name": "out", "detail": "", "provider_id": provider, "priority": 1, "target": target});
    let routes = Kind {
        plural: "routes",
        update: route("1"),
        reason: "ROUTE_NOT_FOUND",
    };
    let a_route = create(&a, "routes", route("82"));
    assert_isolated(&a, &ta.customer_id, &b, &routes, &a_route);
    let b_route = create(&b, "routes", route("82"));
    assert_isolated(&b, &tb.customer_id, &a, &routes, &b_route);

    let outplan = |name: &str| {
        json!({
            "name": name, "detail": "weekday calls",
            "source": {"type": "tel", "target": "+15559876543"},
            "dial_timeout": 30000, "try_interval": 60000,
            "max_try_count_0": 3, "max_try_count_1": 2, "max_try_count_2": 1,
            "max_try_count_3": 1, "max_try_count_4": 0
        })
    };
    let outplans = Kind {
        plural: "outplans",
        update: json!({"name": "stolen", "detail": ""}),
        reason: "OUTPLAN_NOT_FOUND",
    };
    let a_plan = create(&a, "outplans", outplan("a-plan"));
    assert_isolated(&a, &ta.customer_id, &b, &outplans, &a_plan);
    let b_plan = create(&b, "outplans", outplan("b-plan"));
    assert_isolated(&b, &tb.customer_id, &a, &outplans, &b_plan);

    // The super-admin reads both customers' objects of every kind.
    for (plural, ids_of_both) in [
        ("extensions", [&a_ext, &b_ext]),
        ("trunks", [&a_trunk, &b_trunk]),
        ("routes", [&a_route, &b_route]),
        ("outplans", [&a_plan, &b_plan]),
    ] {
        let listed = ids(admin.get(&format!("/v1.0/{plural}")));
        for id in ids_of_both {
            assert_eq!(
                ok(admin.get(&format!("/v1.0/{plural}/{id}")))["id"],
                id.as_str()
            );
            assert!(
                listed.contains(id),
                "super-admin list of {plural} misses {id}"
            );
        }
    }
}

#[test]
fn customers_cannot_read_or_change_each_other_and_the_super_admin_sees_both() {
    let s = Server::start(&[]);
    let ta = create_tenant(&s, "alpha");
    let tb = create_tenant(&s, "bravo");
    let (a, a_login) = clients(&s, &ta);
    let (b, b_login) = clients(&s, &tb);
    let (bootstrap_key, user, password) = s.bootstrap();
    let admin = Client::with_token(&s.api, &login(&s, &user, &password));

    // Each customer's own record is `/customer`, with either credential.
    let a_self = ok(a.get("/v1.0/customer"));
    assert_eq!(a_self["id"], ta.customer_id.as_str());
    assert_eq!(ok(a_login.get("/v1.0/customer")), a_self);
    assert_eq!(ok(b.get("/v1.0/customer"))["id"], tb.customer_id.as_str());

    // `/customers/{id}` is the super-admin's: a customer gets the 404 of a customer that does
    // not exist, for the other's id as for a made-up one, and nothing changes.
    for intruder in [&b, &b_login] {
        let one = format!("/v1.0/customers/{}", ta.customer_id);
        let missing = format!("/v1.0/customers/{NO_SUCH_ID}");
        let update = json!({"name": "stolen", "webhook_uri": "https://evil.example/hook"});
        for (theirs, nothing) in [
            (intruder.get(&one), intruder.get(&missing)),
            (
                intruder.put(&one, update.clone()),
                intruder.put(&missing, update.clone()),
            ),
            (intruder.delete(&one), intruder.delete(&missing)),
        ] {
            assert_eq!(not_found(&theirs).0, "CUSTOMER_NOT_FOUND", "{}", theirs.raw);
            assert_eq!(not_found(&theirs), not_found(&nothing));
        }
        // The collection itself is refused outright (as the contract declares).
        let list = intruder.get("/v1.0/customers");
        assert_eq!(list.expect_error(403), "PERMISSION_DENIED", "{}", list.raw);
        let r = intruder.get(&format!("/v1.0/customers?customer_id={}", ta.customer_id));
        assert_eq!(r.expect_error(403), "PERMISSION_DENIED", "{}", r.raw);
        let r = intruder.post("/v1.0/customers", json!({"name": "mine now"}));
        assert_eq!(r.expect_error(403), "PERMISSION_DENIED", "{}", r.raw);
    }
    // `/customer` always means the caller: B's update changes B only, even naming A.
    let renamed = ok(b.put(
        &format!("/v1.0/customer?customer_id={}", ta.customer_id),
        json!({"name": "bravo renamed"}),
    ));
    assert_eq!(renamed["id"], tb.customer_id.as_str());
    assert_eq!(renamed["name"], "bravo renamed");
    let r = b.get(&format!("/v1.0/customer?customer_id={}", ta.customer_id));
    assert_eq!(ok(r)["id"], tb.customer_id.as_str());
    assert_eq!(ok(a.get("/v1.0/customer")), a_self, "A's record changed");

    // The super-admin reads both customers and both customers' flows.
    let a_flow = create(&a, "flows", flow_body("a-flow"));
    let b_flow = create(&b, "flows", flow_body("b-flow"));
    let customers = ids(admin.get("/v1.0/customers"));
    for t in [&ta, &tb] {
        assert!(customers.contains(&t.customer_id), "{customers:?}");
        let got = ok(admin.get(&format!("/v1.0/customers/{}", t.customer_id)));
        assert_eq!(got["id"], t.customer_id.as_str());
    }
    let flows = ids(admin.get("/v1.0/flows"));
    for id in [&a_flow, &b_flow] {
        assert!(flows.contains(id), "{flows:?}");
        assert_eq!(
            ok(admin.get(&format!("/v1.0/flows/{id}")))["id"],
            id.as_str()
        );
    }
    // The first customer's access key acts as that customer's admin, not as the super-admin.
    let first = Client::with_key(&s.api, &bootstrap_key);
    assert_eq!(
        not_found(&first.get(&format!("/v1.0/flows/{a_flow}"))).0,
        "FLOW_NOT_FOUND"
    );
    assert!(!ids(first.get("/v1.0/flows")).contains(&a_flow));
    let r = first.get(&format!("/v1.0/customers/{}", ta.customer_id));
    assert_eq!(not_found(&r).0, "CUSTOMER_NOT_FOUND");
}

#[test]
fn a_customer_cannot_widen_its_scope_or_reference_another_customers_objects() {
    let s = Server::start(&[]);
    let ta = create_tenant(&s, "alpha");
    let tb = create_tenant(&s, "bravo");
    let a = Client::with_key(&s.api, &ta.accesskey);
    let b = Client::with_key(&s.api, &tb.accesskey);
    let a_flow = create(&a, "flows", flow_body("a-flow"));
    let b_flow = create(&b, "flows", flow_body("b-flow"));

    // `customer_id` in the query is ignored for customers: B still sees only B's flows.
    let widened = b.get(&format!("/v1.0/flows?customer_id={}", ta.customer_id));
    assert_eq!(ids(widened), vec![b_flow.clone()]);
    let r = b.get(&format!(
        "/v1.0/flows?customer_id={}&customer_id={}",
        tb.customer_id, ta.customer_id
    ));
    assert_eq!(ids(r), vec![b_flow.clone()]);
    let r = b.get(&format!(
        "/v1.0/flows?customer_id=&page_size=10&customer_id={}",
        ta.customer_id
    ));
    assert_eq!(ids(r), vec![b_flow.clone()]);
    let r = b.delete(&format!(
        "/v1.0/flows/{a_flow}?customer_id={}",
        ta.customer_id
    ));
    assert_eq!(not_found(&r).0, "FLOW_NOT_FOUND");

    // A `customer_id` in a create body does not make the object someone else's.
    let planted = ok(b.post(
        &format!("/v1.0/flows?customer_id={}", ta.customer_id),
        json!({"customer_id": ta.customer_id, "name": "planted", "detail": "", "actions": []}),
    ));
    assert_eq!(planted["customer_id"], tb.customer_id.as_str());
    assert_eq!(ids(a.get("/v1.0/flows")), vec![a_flow.clone()]);
    let planted_id = planted["id"].as_str().unwrap().to_string();
    assert_eq!(
        not_found(&a.get(&format!("/v1.0/flows/{planted_id}"))).0,
        "FLOW_NOT_FOUND"
    );

    // B cannot point its own objects at A's flow: it is as unknown to B as a missing one.
    let r = b.post(
        "/v1.0/numbers",
        json!({"number": "+15550100003", "call_flow_id": a_flow}),
    );
    let reason = r.expect_error(400);
    assert_eq!(reason, "INVALID_ARGUMENT", "{}", r.raw);
    assert!(r.raw.contains("call_flow_id"), "{}", r.raw);
    let b_number = create(&b, "numbers", json!({"number": "+15550100004"}));
    let r = b.put(
        &format!("/v1.0/numbers/{b_number}/flow_ids"),
        json!({"call_flow_id": a_flow, "message_flow_id": NO_SUCH_ID}),
    );
    r.expect_error(400);
    let r = b.put(
        &format!("/v1.0/flows/{b_flow}"),
        json!({"name": "b", "detail": "", "actions": [], "on_complete_flow_id": a_flow}),
    );
    r.expect_error(400);
    assert!(r.raw.contains("on_complete_flow_id"), "{}", r.raw);
    let r = b.post(
        "/v1.0/flows",
        json!({"name": "b", "detail": "", "actions": [], "on_complete_flow_id": a_flow}),
    );
    r.expect_error(400);
    assert_eq!(ids(b.get("/v1.0/numbers")), vec![b_number.clone()]);
    assert_eq!(
        ids(b.get("/v1.0/flows")).len(),
        2,
        "B's flow and the planted one only"
    );

    // A route may not be created for another customer.
    let (_, user, password) = s.bootstrap();
    let admin = Client::with_token(&s.api, &login(&s, &user, &password));
    let provider = create(
        &admin,
        "providers",
        json!({
            "type": "sip", "hostname": "sip.carrier.example.com", "tech_prefix": "",
            "tech_postfix": "", "tech_headers": {}, "name": "Carrier", "detail": ""
        }),
    );
    let r = b.post(
        "/v1.0/routes",
        json!({"customer_id": ta.customer_id, "name": "x", "detail": "", "provider_id": provider, "priority": 1, "target": "82"}),
    );
    assert_eq!(r.expect_error(403), "PERMISSION_DENIED");
    assert!(ids(a.get("/v1.0/routes")).is_empty());
    assert!(ids(b.get("/v1.0/routes")).is_empty());
}

#[test]
fn providers_are_shared_read_only_for_customers_and_managed_by_the_super_admin() {
    let s = Server::start(&[]);
    let ta = create_tenant(&s, "alpha");
    let (a, a_login) = clients(&s, &ta);
    let (_, user, password) = s.bootstrap();
    let admin = Client::with_token(&s.api, &login(&s, &user, &password));
    let body = json!({
        "type": "sip", "hostname": "sip.carrier.example.com:5060", "tech_prefix": "9",
        "tech_postfix": "", "tech_headers": {"X-Account": "acme"}, "name": "Carrier", "detail": ""
    });

    // A customer cannot add a provider, with either credential; nothing is created.
    for c in [&a, &a_login] {
        let r = c.post("/v1.0/providers", body.clone());
        assert_eq!(r.expect_error(403), "PERMISSION_DENIED", "{}", r.raw);
    }
    assert!(ids(a.get("/v1.0/providers")).is_empty());

    let id = create(&admin, "providers", body.clone());
    let one = format!("/v1.0/providers/{id}");
    let before = ok(admin.get(&one));
    // Customers can read it (it is platform-wide) but not change or delete it.
    assert_eq!(ok(a.get(&one)), before);
    assert_eq!(ids(a.get("/v1.0/providers")), vec![id.clone()]);
    let mut changed = body.clone();
    changed["hostname"] = json!("evil.example.com");
    for c in [&a, &a_login] {
        let r = c.put(&one, changed.clone());
        assert_eq!(r.expect_error(403), "PERMISSION_DENIED", "{}", r.raw);
        let r = c.delete(&one);
        assert_eq!(r.expect_error(403), "PERMISSION_DENIED", "{}", r.raw);
    }
    assert_eq!(ok(admin.get(&one)), before, "a customer changed a provider");

    // The super-admin updates and deletes it.
    let updated = ok(admin.put(&one, changed));
    assert_eq!(updated["hostname"], "evil.example.com");
    ok(admin.delete(&one));
    assert_eq!(not_found(&a.get(&one)).0, "PROVIDER_NOT_FOUND");
    assert!(ids(a.get("/v1.0/providers")).is_empty());
}
