//! Tests against the real contract file (found like [`Contract::load`] finds it).

use super::*;
use serde_json::json;

fn contract() -> &'static Contract {
    Contract::shared().expect("the contract loads")
}

fn flow() -> Value {
    json!({
        "id": "a1b2c3d4-e5f6-7890-1234-567890abcdef",
        "customer_id": "7c4d2f3a-1b8e-4f5c-9a6d-3e2f1a0b4c5d",
        "type": "flow",
        "name": "Inbound Call Handler",
        "detail": "Main flow",
        "actions": [
            {
                "id": "550e8400-e29b-41d4-a716-446655440000",
                "next_id": "00000000-0000-0000-0000-000000000000",
                "type": "talk",
                "option": {"text": "hello", "language": "en-US"}
            }
        ],
        "direct_hash": "direct.a1b2c3d4e5f6",
        "on_complete_flow_id": "00000000-0000-0000-0000-000000000000",
        "tm_create": "2026-01-15T09:30:00.000000Z",
        "tm_update": "2026-01-15T09:30:00.000000Z",
        "tm_delete": null
    })
}

fn has_error_at(errors: &[String], pointer: &str) -> bool {
    errors
        .iter()
        .any(|e| e.starts_with(&format!("{pointer}: ")))
}

#[test]
fn real_contract_loads_with_all_operations_and_schemas() {
    let start = std::time::Instant::now();
    let fresh = Contract::load().unwrap();
    eprintln!("loading the contract took {:?}", start.elapsed());
    let start = std::time::Instant::now();
    fresh.validate_schema("FlowManagerFlow", &flow()).unwrap();
    eprintln!(
        "first FlowManagerFlow validation (compile) took {:?}",
        start.elapsed()
    );
    let c = contract();
    assert!(c.path().ends_with(CONTRACT_RELATIVE_PATH), "{:?}", c.path());
    let ops = c.operations();
    assert_eq!(ops.len(), 410, "README says 410 operations");
    assert_eq!(c.schema_names().len(), 237, "README says 237 schemas");
    assert!(ops.contains(&("GET".to_string(), "/flows/{id}".to_string())));
    assert!(c.operation_exists("GET", "/flows/{id}"));
    assert!(c.operation_exists("post", "/flows"));
    assert!(!c.operation_exists("PATCH", "/flows"));
    assert!(!c.operation_exists("GET", "/nope"));
}

#[test]
fn paths_resolve_from_templates_and_concrete_paths() {
    let c = contract();
    let id = "a1b2c3d4-e5f6-7890-1234-567890abcdef";
    assert_eq!(
        c.resolve_path("GET", &format!("/v1.0/flows/{id}?x=1"))
            .as_deref(),
        Some("/flows/{id}")
    );
    assert_eq!(
        c.resolve_path("GET", "/flows/{flow_id}").as_deref(),
        Some("/flows/{id}")
    );
    assert_eq!(c.resolve_path("GET", "/flows/").as_deref(), Some("/flows"));
    // A literal segment beats a parameter.
    assert_eq!(
        c.resolve_path("GET", "/contacts/lookup").as_deref(),
        Some("/contacts/lookup")
    );
    assert_eq!(
        c.resolve_path("POST", &format!("/flows/{id}/direct-hash-regenerate"))
            .as_deref(),
        Some("/flows/{id}/direct-hash-regenerate")
    );
    c.validate_response("GET", &format!("/v1.0/flows/{id}"), 200, &flow())
        .unwrap();
}

#[test]
fn valid_flow_passes_get_flow_200() {
    contract()
        .validate_response("GET", "/flows/{id}", 200, &flow())
        .unwrap();
    contract()
        .validate_response_strict("GET", "/flows/{id}", 200, &flow())
        .unwrap();
    contract()
        .validate_schema("FlowManagerFlow", &flow())
        .unwrap();
}

#[test]
fn wrong_typed_fields_fail_with_pointers() {
    let mut body = flow();
    body["name"] = json!(5);
    body["actions"][0]["type"] = json!("dance");
    body["actions"][0]["option"] = json!("not an object");
    let errors = contract()
        .validate_response("GET", "/flows/{id}", 200, &body)
        .unwrap_err();
    assert!(has_error_at(&errors, "/name"), "{errors:#?}");
    assert!(has_error_at(&errors, "/actions/0/type"), "{errors:#?}");
    assert!(has_error_at(&errors, "/actions/0/option"), "{errors:#?}");
    assert_eq!(errors.len(), 3, "{errors:#?}");

    let errors = contract()
        .validate_response("GET", "/flows/{id}", 200, &json!([]))
        .unwrap_err();
    assert!(has_error_at(&errors, "(root)"), "{errors:#?}");
}

#[test]
fn nullable_fields_accept_null() {
    let c = contract();
    // `nullable: true` in the contract.
    let groupcall = json!({"id": "4d5e6f7a-8b9c-0123-def0-123456789012", "master_call_id": null,
        "master_groupcall_id": null, "dial_index": null, "tm_delete": null});
    c.validate_schema("CallManagerGroupcall", &groupcall)
        .unwrap();
    // Not nullable: null is refused.
    let errors = c
        .validate_schema("CallManagerGroupcall", &json!({"id": null}))
        .unwrap_err();
    assert!(has_error_at(&errors, "/id"), "{errors:#?}");
    // Timestamps admit null by default (tm_delete of a live flow).
    let mut body = flow();
    body["tm_update"] = Value::Null;
    c.validate_response("GET", "/flows/{id}", 200, &body)
        .unwrap();
}

#[test]
fn timestamps_are_checked() {
    let c = contract();
    let mut body = flow();
    body["tm_create"] = json!("2026-01-15 09:30:00");
    body["tm_update"] = json!("2026-01-15T09:30:00Z");
    let errors = c
        .validate_response("GET", "/flows/{id}", 200, &body)
        .unwrap_err();
    // The first is not RFC 3339 (format) nor our form; the second is RFC 3339 but lacks micros.
    assert!(has_error_at(&errors, "/tm_create"), "{errors:#?}");
    assert!(has_error_at(&errors, "/tm_update"), "{errors:#?}");
    assert!(!has_error_at(&errors, "/tm_delete"), "{errors:#?}");
    // Undeclared tm_* fields deep in the body are held to the same form.
    let mut body = flow();
    body["actions"][0]["option"]["tm_x"] = json!("yesterday");
    let errors = c
        .validate_response("GET", "/flows/{id}", 200, &body)
        .unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(
        has_error_at(&errors, "/actions/0/option/tm_x"),
        "{errors:#?}"
    );
}

#[test]
fn unknown_operations_and_statuses_are_errors() {
    let c = contract();
    let errors = c
        .validate_response("GET", "/nope", 200, &json!({}))
        .unwrap_err();
    assert_eq!(errors.len(), 1);
    assert!(errors[0].contains("not in the contract"), "{errors:?}");
    let errors = c
        .validate_response("PATCH", "/flows/{id}", 200, &json!({}))
        .unwrap_err();
    assert!(errors[0].contains("not in the contract"), "{errors:?}");
    let errors = c
        .validate_response("GET", "/flows", 418, &json!({}))
        .unwrap_err();
    assert!(
        errors[0].contains("does not declare status 418"),
        "{errors:?}"
    );
    let errors = c.validate_schema("NoSuchSchema", &json!({})).unwrap_err();
    assert!(errors[0].contains("NoSuchSchema"), "{errors:?}");
}

#[test]
fn error_response_schema_checks_status_enum() {
    let c = contract();
    let good = json!({"error": {"status": "NOT_FOUND", "reason": "FLOW_NOT_FOUND",
        "message": "x", "request_id": "r"}});
    c.validate_schema("ErrorResponse", &good).unwrap();
    // Through `$ref: '#/components/responses/NotFound'`.
    c.validate_response("GET", "/flows/{id}", 404, &good)
        .unwrap();
    let mut bad = good.clone();
    bad["error"]["status"] = json!("NOPE");
    let errors = c.validate_schema("ErrorResponse", &bad).unwrap_err();
    assert!(has_error_at(&errors, "/error/status"), "{errors:#?}");
    let errors = c
        .validate_response("GET", "/flows/{id}", 404, &bad)
        .unwrap_err();
    assert!(has_error_at(&errors, "/error/status"), "{errors:#?}");
    let errors = c
        .validate_schema("ErrorResponse", &json!({"error": {"status": "INTERNAL"}}))
        .unwrap_err();
    assert_eq!(
        errors.len(),
        3,
        "reason, message, request_id are required: {errors:#?}"
    );
}

#[test]
fn list_responses_use_result_and_next_page_token() {
    let c = contract();
    c.validate_response_strict(
        "GET",
        "/flows",
        200,
        &json!({"result": [], "next_page_token": ""}),
    )
    .unwrap();
    c.validate_response(
        "GET",
        "/flows",
        200,
        &json!({"result": [flow()], "next_page_token": "2026-01-15T09:30:00.000000Z"}),
    )
    .unwrap();
    let errors = c
        .validate_response("GET", "/flows", 200, &json!({"result": [{"name": 1}]}))
        .unwrap_err();
    assert!(has_error_at(&errors, "/result/0/name"), "{errors:#?}");
    // A Go nil slice would serialize as null, which the contract does not allow.
    let errors = c
        .validate_response(
            "GET",
            "/flows",
            200,
            &json!({"result": null, "next_page_token": ""}),
        )
        .unwrap_err();
    assert!(has_error_at(&errors, "/result"), "{errors:#?}");
    // The wrapper is allOf [CommonPagination, {result: [..]}] with no required keys.
    let schema = c
        .response_json_schema("GET", "/flows", 200)
        .unwrap()
        .unwrap();
    assert_eq!(
        schema["allOf"][0],
        json!({"$ref": "#/$defs/CommonPagination"})
    );
    assert_eq!(
        schema["allOf"][1]["properties"]["result"]["items"],
        json!({"$ref": "#/$defs/FlowManagerFlow"})
    );
}

#[test]
fn strict_mode_reports_undeclared_and_write_only_fields() {
    let c = contract();
    let mut body = flow();
    body["internal_secret"] = json!("leak");
    body["actions"][0]["db_row"] = json!(1);
    // Plain validation allows extra fields, as the contract is written.
    c.validate_response("GET", "/flows/{id}", 200, &body)
        .unwrap();
    let errors = c
        .validate_response_strict("GET", "/flows/{id}", 200, &body)
        .unwrap_err();
    assert!(has_error_at(&errors, "/internal_secret"), "{errors:#?}");
    assert!(has_error_at(&errors, "/actions/0/db_row"), "{errors:#?}");
    assert_eq!(errors.len(), 2, "{errors:#?}");
    // `option` is additionalProperties: true, so anything goes there.
    let list = json!({"result": [body], "next_page_token": "", "extra": true});
    let errors = c
        .validate_response_strict("GET", "/flows", 200, &list)
        .unwrap_err();
    assert!(has_error_at(&errors, "/extra"), "{errors:#?}");
    assert!(
        has_error_at(&errors, "/result/0/internal_secret"),
        "{errors:#?}"
    );
    // writeOnly fields must not come back in responses.
    let account = json!({"id": "550e8400-e29b-41d4-a716-446655440000", "secret": "s"});
    c.validate_schema("ConversationManagerAccount", &account)
        .unwrap();
    let errors = c
        .validate_schema_strict("ConversationManagerAccount", &account)
        .unwrap_err();
    assert!(has_error_at(&errors, "/secret"), "{errors:#?}");
}

#[test]
fn request_bodies_are_validated() {
    let c = contract();
    let body = json!({"name": "f", "detail": "d",
        "actions": [{"id": "550e8400-e29b-41d4-a716-446655440000", "type": "answer"}]});
    c.validate_request("POST", "/flows", &body).unwrap();
    c.validate_request_strict("POST", "/flows", &body).unwrap();
    let errors = c
        .validate_request("POST", "/flows", &json!({"detail": "d", "actions": []}))
        .unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(errors[0].contains("name"), "{errors:#?}");
    let errors = c
        .validate_request("POST", "/flows", &Value::Null)
        .unwrap_err();
    assert!(errors[0].contains("requires a request body"), "{errors:?}");
    let mut typo = body.clone();
    typo["nmae"] = json!("x");
    let errors = c
        .validate_request_strict("POST", "/flows", &typo)
        .unwrap_err();
    assert!(has_error_at(&errors, "/nmae"), "{errors:#?}");
    c.validate_request("GET", "/flows", &Value::Null).unwrap();
    let errors = c.validate_request("GET", "/flows", &json!({})).unwrap_err();
    assert!(errors[0].contains("declares no request body"), "{errors:?}");
}

#[test]
fn every_schema_and_json_body_of_the_contract_compiles() {
    let c = contract();
    for name in c.schema_names() {
        // Any value will do: we only want compilation to succeed.
        if let Err(errors) = c.validate_schema(&name, &json!(null)) {
            assert!(
                !errors.iter().any(|e| e.contains("cannot compile")),
                "{name}: {errors:?}"
            );
        }
    }
    let mut checked = 0;
    for (method, path) in c.operations() {
        let op = c.path_item(&path).unwrap()[method.to_ascii_lowercase()].clone();
        for status in op["responses"].as_object().unwrap().keys() {
            let Ok(code) = status.parse::<u16>() else {
                continue;
            };
            if let Err(errors) = c.validate_response(&method, &path, code, &json!(null)) {
                assert!(
                    !errors.iter().any(|e| e.contains("cannot compile")),
                    "{method} {path} {code}: {errors:?}"
                );
            }
            checked += 1;
        }
        if op.get("requestBody").is_some() {
            if let Err(errors) = c.validate_request(&method, &path, &json!(0)) {
                assert!(
                    !errors.iter().any(|e| e.contains("cannot compile")),
                    "{method} {path} request: {errors:?}"
                );
            }
        }
    }
    assert!(checked > 2000, "{checked}");
}

#[test]
fn default_and_range_statuses_are_used_when_declared() {
    let yaml = r#"
openapi: 3.0.0
info: {title: t, version: '1'}
paths:
  /things:
    get:
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Thing'}
        '4XX':
          description: client error
          content:
            application/json:
              schema: {type: object, required: [code], properties: {code: {type: integer}}}
        default:
          description: other
          content:
            application/json:
              schema: {type: object, required: [error]}
    delete:
      responses:
        '200': {description: no body}
components:
  schemas:
    Thing:
      type: object
      properties:
        n: {type: integer, nullable: true, x-go-type: int}
"#;
    let c = Contract::from_yaml_str(yaml, Options::default()).unwrap();
    c.validate_response("GET", "/things", 200, &json!({"n": null}))
        .unwrap();
    c.validate_response("GET", "/things", 404, &json!({"code": 1}))
        .unwrap();
    assert!(c
        .validate_response("GET", "/things", 404, &json!({"error": 1}))
        .is_err());
    c.validate_response("GET", "/things", 503, &json!({"error": 1}))
        .unwrap();
    let errors = c
        .validate_response("GET", "/things", 503, &json!({}))
        .unwrap_err();
    assert!(has_error_at(&errors, "(root)"), "{errors:?}");
    // No body schema: anything is accepted.
    c.validate_response("DELETE", "/things", 200, &json!({"x": 1}))
        .unwrap();
    assert_eq!(
        c.operations(),
        vec![
            ("DELETE".to_string(), "/things".to_string()),
            ("GET".to_string(), "/things".to_string())
        ]
    );
}

#[test]
fn options_can_make_timestamps_and_formats_stricter() {
    let yaml = r#"
openapi: 3.0.1
info: {title: t, version: '1'}
paths: {}
components:
  schemas:
    T:
      type: object
      properties:
        id: {type: string, format: uuid}
        tm_delete: {type: string, format: date-time}
"#;
    let lenient = Contract::from_yaml_str(yaml, Options::default()).unwrap();
    let body = json!({"id": "not-a-uuid", "tm_delete": null});
    lenient.validate_schema("T", &body).unwrap();
    let strict = Contract::from_yaml_str(
        yaml,
        Options {
            nullable_timestamps: false,
            formats: FormatCheck::All,
            check_tm_fields: true,
        },
    )
    .unwrap();
    let errors = strict.validate_schema("T", &body).unwrap_err();
    assert!(has_error_at(&errors, "/id"), "{errors:?}");
    assert!(has_error_at(&errors, "/tm_delete"), "{errors:?}");
    assert!(Contract::from_yaml_str("openapi: 3.1.0\npaths: {}\n", Options::default()).is_err());
}

#[test]
fn from_path_reports_missing_files() {
    let err = Contract::from_path("/nonexistent/contract.yaml").unwrap_err();
    assert!(err.contains("/nonexistent/contract.yaml"), "{err}");
}

#[test]
fn a_thousand_validations_complete_after_warm_up() {
    let c = contract();
    let list = json!({"result": [flow(), flow(), flow()], "next_page_token": ""});
    c.validate_response("GET", "/flows", 200, &list).unwrap();
    c.validate_response("GET", "/flows/{id}", 200, &flow())
        .unwrap();
    let start = std::time::Instant::now();
    for i in 0..1000 {
        if i % 2 == 0 {
            c.validate_response("GET", "/flows", 200, &list).unwrap();
        } else {
            c.validate_response_strict("GET", "/flows/{id}", 200, &flow())
                .unwrap();
        }
    }
    // Timing belongs in benchmarks; this only shows the figure.
    eprintln!("1000 validations took {:?}", start.elapsed());
}

#[test]
fn contract_is_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Contract>();
    let c = contract();
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                c.validate_response("GET", "/flows/{id}", 200, &flow())
                    .unwrap()
            });
        }
    });
}
