#!/usr/bin/env python3
"""Writes crates/api/openapi/voxbin-openapi.json: the contract's operations that Voxbin serves
(listed in crates/api/openapi/operations.txt), with every schema they reference, plus the login
route VoIPBIN serves outside the /v1.0 document. Run after changing the served routes:
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
    node = contract["components"][kind][name]
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
