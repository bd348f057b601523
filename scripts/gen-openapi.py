#!/usr/bin/env python3
"""Writes crates/api/openapi/voxbin-openapi.json: the contract's operations that Voxbin serves
(listed in crates/api/openapi/operations.txt), with every schema they reference, plus the login
route VoIPBIN serves outside the /v1.0 document and Voxbin's additions (ADDITIONS below). Run after changing the served routes:
    python3 scripts/gen-openapi.py [path/to/voipbin-openapi.yaml]
"""
import json
import os
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
contract_path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "..", "shared", "contract", "voipbin-openapi.yaml")
with open(contract_path) as f:
    contract = yaml.safe_load(f)

ops = []
with open(os.path.join(ROOT, "crates/api/openapi/operations.txt")) as f:
    for line in f:
        line = line.strip()
        if line and not line.startswith("#"):
            method, path = line.split()
            ops.append((method.lower(), path))

paths = {}
for method, path in ops:
    op = contract["paths"].get(path, {}).get(method)
    if op is None:
        continue  # Voxbin-only operations are added below.
    paths.setdefault(path, {})[method] = op

paths["/auth/login"] = {"post": {
    "summary": "Log in with username and password",
    "description": "Served at the API root as well as under /v1.0. Returns a JWT for the token cookie, query parameter or Bearer header.",
    "tags": ["Auth"],
    "requestBody": {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "required": ["username", "password"],
        "properties": {"username": {"type": "string"}, "password": {"type": "string"}}}}}},
    "responses": {
        "200": {"description": "Logged in.", "content": {"application/json": {"schema": {
            "type": "object", "properties": {"username": {"type": "string"}, "token": {"type": "string"}}}}}},
        "400": {"$ref": "#/components/responses/BadRequest"},
        "401": {"$ref": "#/components/responses/Unauthenticated"}}}}

# Voxbin additions (listed in operations.txt too, absent from VoIPBIN's contract).
ERRORS = {code: {"$ref": f"#/components/responses/{name}"} for code, name in [
    ("400", "BadRequest"), ("401", "Unauthenticated"), ("403", "PermissionDenied"),
    ("404", "NotFound"), ("500", "InternalError"), ("503", "Unavailable")]}
ID_PARAM = {"name": "id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}
DELIVERY_REF = {"$ref": "#/components/schemas/VoxbinWebhookDelivery"}
ADDITIONS = {
    ("get", "/webhook_deliveries"): {
        "summary": "List webhook deliveries",
        "description": "A Voxbin addition: the webhook deliveries of the caller's customer, newest first, "
                       "one per event and destination (the customer's webhook_uri, or an activeflow's own).",
        "tags": ["Webhook"],
        "parameters": [
            {"$ref": "#/components/parameters/PageSize"},
            {"$ref": "#/components/parameters/PageToken"},
            {"name": "status", "in": "query", "required": False, "description": "Only deliveries in this status.",
             "schema": {"type": "string", "enum": ["pending", "delivering", "delivered", "dead"]}},
            {"name": "resource_id", "in": "query", "required": False,
             "description": "Only deliveries of events about this resource.", "schema": {"type": "string"}}],
        "responses": {"200": {"description": "A page of deliveries.", "content": {"application/json": {"schema": {
            "type": "object", "required": ["result"], "properties": {
                "result": {"type": "array", "items": DELIVERY_REF},
                "next_page_token": {"type": "string"}}}}}}, **ERRORS}},
    ("get", "/webhook_deliveries/{id}"): {
        "summary": "Get a webhook delivery",
        "description": "A Voxbin addition: one webhook delivery of the caller's customer.",
        "tags": ["Webhook"],
        "parameters": [ID_PARAM],
        "responses": {"200": {"description": "The delivery.", "content": {"application/json": {"schema": DELIVERY_REF}}},
                      **ERRORS}},
    ("get", "/recordingfiles/{id}/wav"): {
        "summary": "Download a recording file's audio",
        "description": "A Voxbin addition: the WAV that GET /recordingfiles/{id} redirects to.",
        "tags": ["Recording"],
        "parameters": [ID_PARAM],
        "responses": {"200": {"description": "The recording.", "content": {"audio/wav": {"schema": {
            "type": "string", "format": "binary"}}}}, **ERRORS}},
}
for (method, path), op in ADDITIONS.items():
    if (method, path) not in ops:
        sys.exit(f"{method.upper()} {path} is described here but missing from operations.txt")
    if contract["paths"].get(path, {}).get(method) is not None:
        sys.exit(f"{method.upper()} {path} is in the contract now: drop it from ADDITIONS")
    paths.setdefault(path, {})[method] = op
missing = [f"{m.upper()} {p}" for m, p in ops if m not in paths.get(p, {})]
if missing:
    sys.exit(f"operations.txt lists operations with no description: {missing}")

TIME = {"type": "string", "description": "Timestamp, e.g. 2026-01-02 03:04:05.678901."}
EXTRA_SCHEMAS = {
    "VoxbinWebhookDelivery": {
        "type": "object",
        "description": "One event on its way to one webhook destination, and how that is going.",
        "required": ["id", "customer_id", "event_type", "resource_id", "destination", "uri", "method",
                     "status", "attempts", "last_error", "last_status_code", "tm_create"],
        "properties": {
            "id": {"type": "string", "format": "uuid", "description": "Delivery id, also sent as X-VoIPBIN-Delivery."},
            "customer_id": {"type": "string", "format": "uuid"},
            "event_type": {"type": "string", "description": "<resource>_<verb>, e.g. call_created."},
            "resource_id": {"type": "string", "description": "The resource the event is about."},
            "destination": {"type": "string", "enum": ["customer", "activeflow"]},
            "uri": {"type": "string", "description": "Target URI (empty until the customer's is known)."},
            "method": {"type": "string"},
            "status": {"type": "string", "enum": ["pending", "delivering", "delivered", "dead"]},
            "attempts": {"type": "integer"},
            "last_error": {"type": "string", "description": "Why the last attempt failed; empty when none did."},
            "last_status_code": {"type": "integer", "description": "HTTP status of the last answer; 0 when none."},
            "next_try_at": {**TIME, "nullable": True, "description": "When the next attempt is due (pending and delivering only)."},
            "tm_create": TIME,
            "tm_update": {**TIME, "nullable": True}}},
}


def refs(node, out):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                out.add(v)
            else:
                refs(v, out)
    elif isinstance(node, list):
        for v in node:
            refs(v, out)


components = {}
pending = set()
refs(paths, pending)
seen = set()
while pending:
    ref = pending.pop()
    if ref in seen:
        continue
    seen.add(ref)
    _, _, kind, name = ref.split("/", 3)
    node = EXTRA_SCHEMAS[name] if kind == "schemas" and name in EXTRA_SCHEMAS else contract["components"][kind][name]
    components.setdefault(kind, {})[name] = node
    refs(node, pending)

components["securitySchemes"] = {
    "bearer": {"type": "http", "scheme": "bearer", "description": "JWT from /auth/login, or an access key (vb_...)"},
    "accesskey": {"type": "apiKey", "in": "query", "name": "accesskey"},
    "token": {"type": "apiKey", "in": "query", "name": "token"},
}
doc = {
    "openapi": contract["openapi"],
    "info": {"title": "Voxbin REST API", "version": "1.0",
             "description": "The VoIPBIN-compatible REST API v1.0 operations this Voxbin build serves."},
    "servers": [{"url": "/v1.0"}],
    "security": [{"bearer": []}, {"accesskey": []}, {"token": []}],
    "paths": dict(sorted(paths.items())),
    "components": {k: dict(sorted(v.items())) for k, v in sorted(components.items())},
}
out = os.path.join(ROOT, "crates/api/openapi/voxbin-openapi.json")
with open(out, "w") as f:
    json.dump(doc, f, indent=1, sort_keys=False)
    f.write("\n")
print(f"wrote {out}: {sum(len(v) for v in paths.values())} operations, {sum(len(v) for v in components.values())} components")
