#!/usr/bin/env python3
"""Checks that dashboards and alert rules name only metrics a running Voxbin exports.

    python3 deploy/checks/metrics_names.py VOXBIN_BIN

Starts `voxbin serve` (embedded, every role) on free loopback ports with a temporary data
directory, scrapes /metrics, and takes the metric families from its TYPE lines (a histogram
family `x` also stands for `x_bucket`, `x_sum` and `x_count`). Then every PromQL expression of
the Grafana dashboards and of the alert rules is parsed with promtool (so it parses the way
Prometheus parses it) and its metric names are compared with the scrape:
- dashboards: exported metrics only;
- rules: exported metrics, names recorded by the rules themselves, and the names in
  deploy/monitoring/metrics-allowlist.txt, each of which is reported on every run.
"""

import json
import os
import pathlib
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import promql_parser
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
MON = ROOT / "deploy/monitoring"
# Grafana's variables, replaced by values of the same type before parsing.
GRAFANA_VARS = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h",
                "$role": "api"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scrape(binary):
    """The metric families a fresh embedded process lists, from its TYPE lines."""
    with tempfile.TemporaryDirectory() as data:
        ports = {k: free_port() for k in ("api", "tls", "health", "metrics", "sip", "audio")}
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "VOXBIN_DATA_DIR": data,
               "VOXBIN_API_LISTEN": f"127.0.0.1:{ports['api']}",
               "VOXBIN_API_TLS_LISTEN": f"127.0.0.1:{ports['tls']}",
               "VOXBIN_HEALTH_LISTEN": f"127.0.0.1:{ports['health']}",
               "VOXBIN_METRICS_LISTEN": f"127.0.0.1:{ports['metrics']}",
               "VOXBIN_SIP_LISTEN": f"127.0.0.1:{ports['sip']}",
               "VOXBIN_API_AUDIOSOCKET_LISTEN": f"127.0.0.1:{ports['audio']}",
               "VOXBIN_LOG_FORMAT": "json"}
        with open(os.path.join(data, "stderr.log"), "wb") as err:
            proc = subprocess.Popen([binary, "serve"], env=env, stdout=subprocess.DEVNULL,
                                    stderr=err)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    with urllib.request.urlopen(
                            f"http://127.0.0.1:{ports['health']}/ready", timeout=2) as r:
                        if r.status == 200:
                            break
                except OSError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    log = pathlib.Path(data, "stderr.log").read_text(errors="replace")
                    raise SystemExit(f"voxbin did not become ready:\n{log[-3000:]}")
                time.sleep(0.1)
            with urllib.request.urlopen(
                    f"http://127.0.0.1:{ports['metrics']}/metrics", timeout=5) as r:
                text = r.read().decode()
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    families = {}
    for line in text.splitlines():
        m = re.match(r"# TYPE (\S+) (\S+)", line)
        if m:
            families[m.group(1)] = m.group(2)
    names = set(families)
    for name, kind in families.items():
        if kind == "histogram":
            names |= {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
        if kind == "summary":
            names |= {f"{name}_sum", f"{name}_count"}
    return families, names


def metric_names(expr):
    """Metric names an expression selects; a selector without a literal name is an error."""
    found, problems = set(), []

    def visit(node):
        if isinstance(node, promql_parser.VectorSelector):
            name = node.name
            if name is None:
                for m in node.matchers.matchers:
                    if m.name == "__name__" and str(m.op).endswith("Equal") and "Not" not in str(m.op):
                        name = m.value
            if name is None:
                problems.append(f"selector without a literal metric name: {node}")
            else:
                found.add(name)
        return True

    promql_parser.walk(promql_parser.parse(expr), visit)
    return found, problems


def promtool_parses(exprs):
    """Every expression through promtool, as recording rules of a scratch rule file."""
    rules = {"groups": [{"name": "parse-check", "rules": [
        {"record": f"parse_check:expr_{i}", "expr": e} for i, e in enumerate(exprs)]}]}
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
        yaml.safe_dump(rules, f)
        path = f.name
    try:
        run = subprocess.run(["promtool", "check", "rules", path], capture_output=True, text=True)
    finally:
        os.unlink(path)
    return run.returncode == 0, (run.stdout + run.stderr).strip()


def substitute(expr):
    for k, v in sorted(GRAFANA_VARS.items(), key=lambda kv: -len(kv[0])):
        expr = expr.replace(k, v)
    if "$" in expr:
        raise ValueError(f"unknown Grafana variable in {expr!r}")
    return expr


def dashboard_exprs(path, failures):
    """Expressions of one dashboard, after structural checks of the JSON."""
    d = json.loads(path.read_text())
    for key in ("uid", "title", "panels", "templating", "schemaVersion"):
        if key not in d:
            failures.append(f"{path.name}: no {key}")
    ids = [p.get("id") for p in d.get("panels", [])]
    if len(ids) != len(set(ids)) or None in ids:
        failures.append(f"{path.name}: panel ids must be present and unique")
    out = []
    for p in d.get("panels", []):
        gp = p.get("gridPos", {})
        if not all(k in gp for k in "hwxy") or gp["x"] + gp["w"] > 24:
            failures.append(f"{path.name}: panel {p.get('title')!r} has a bad gridPos {gp}")
        if not p.get("targets"):
            failures.append(f"{path.name}: panel {p.get('title')!r} has no query")
        for t in p.get("targets", []):
            out.append((f"{path.name}: {p.get('title')}", t["expr"]))
    for v in d.get("templating", {}).get("list", []):
        q = v.get("query")
        if isinstance(q, dict):
            q = q.get("query", "")
        if v.get("type") == "query":
            m = re.fullmatch(r"label_values\((.+),\s*\w+\)", q or "")
            if not m:
                failures.append(f"{path.name}: variable {v['name']}: unsupported query {q!r}")
            else:
                out.append((f"{path.name}: variable {v['name']}", m.group(1)))
    return out


def main():
    binary = sys.argv[1]
    failures = []
    families, exported = scrape(binary)
    print(f"  live voxbin exports {len(families)} metric families: {', '.join(sorted(families))}")

    allow = {}
    for line in (MON / "metrics-allowlist.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, kind, *source = line.split()
            allow[name] = (kind, " ".join(source))

    dash = []
    for path in sorted((MON / "dashboards").glob("*.json")):
        dash += dashboard_exprs(path, failures)
    rules = []
    recorded = set()
    for path in sorted((MON / "rules").glob("*.yml")):
        for g in yaml.safe_load(path.read_text())["groups"]:
            for r in g["rules"]:
                rules.append((f"{path.name}: {r.get('alert') or r.get('record')}", r["expr"]))
                if "record" in r:
                    recorded.add(r["record"])

    parsed = [(where, substitute(e)) for where, e in dash] + rules
    ok, out = promtool_parses([e for _, e in parsed])
    if not ok:
        failures.append(f"promtool cannot parse every expression:\n{out}")

    used_allow = {}
    for kind, items in (("dashboard", dash), ("rule", rules)):
        for where, expr in items:
            names, problems = metric_names(substitute(expr))
            failures += [f"{where}: {p}" for p in problems]
            for n in sorted(names):
                if n in exported:
                    continue
                if kind == "rule" and n in recorded:
                    continue
                if kind == "rule" and n in allow:
                    used_allow.setdefault(n, set()).add(where)
                    continue
                failures.append(f"{where}: metric {n} is not exported by voxbin"
                                + ("" if kind == "dashboard" else
                                   " and not in deploy/monitoring/metrics-allowlist.txt"))
    print(f"  {len(dash)} dashboard queries and {len(rules)} rule expressions parse (promtool)")
    for n in sorted(allow):
        kind, source = allow[n]
        if n in exported:
            print(f"  NOTE {n} is in the allow-list as {kind} but voxbin now exports it: "
                  f"remove it from metrics-allowlist.txt")
        elif n in used_allow:
            print(f"  allow-listed ({kind}, not exported by voxbin): {n}  [{source}]")
        else:
            failures.append(f"metrics-allowlist.txt: {n} is used by no rule; remove it")
    if failures:
        for f in failures:
            print(f"  FAIL {f}")
        return 1
    print("  dashboards name only exported metrics; rules name exported, recorded or "
          "allow-listed ones")
    return 0


if __name__ == "__main__":
    sys.exit(main())
