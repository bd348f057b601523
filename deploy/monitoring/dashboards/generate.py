#!/usr/bin/env python3
"""Writes the Grafana dashboards of deploy/monitoring/dashboards (the seed's four: Service
Health, Call Metrics, Queue Depths, Error Rates) from the panel lists below.

Every query names only metrics a running Voxbin exports (the six voipbin_* families and the
process_* ones); scripts/check-deploy scrapes a live process and fails otherwise.

    python3 deploy/monitoring/dashboards/generate.py           # rewrite the JSON files
    python3 deploy/monitoring/dashboards/generate.py --check   # exit 1 if one is out of date
"""

import argparse
import json
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
VOXBIN = 'job=~"voxbin.*", role=~"$role"'
RI = "$__rate_interval"


def timeseries(title, exprs, unit="short", description="", width=12, stack=False):
    return {"type": "timeseries", "title": title, "description": description, "unit": unit,
            "exprs": exprs, "width": width, "stack": stack}


def stat(title, expr, unit="short", description="", width=6):
    return {"type": "stat", "title": title, "description": description, "unit": unit,
            "exprs": [(expr, "")], "width": width, "stack": False}


DASHBOARDS = {
    "service-health": ("Voxbin / Service Health", "Every role's processes: up, restarts, CPU, memory, traffic.", [
        stat("Processes", f"count(process_start_time_seconds{{{VOXBIN}}})",
             description="Voxbin processes answering /metrics."),
        stat("Restarts (1 h)", f"sum(changes(process_start_time_seconds{{{VOXBIN}}}[1h]))",
             description="Process starts seen in the last hour, all roles."),
        stat("HTTP requests/s", f"sum(rate(voipbin_http_requests_total{{{VOXBIN}}}[{RI}]))",
             unit="reqps"),
        stat("Bus RPCs/s", f"sum(rate(voipbin_rpc_requests_total{{{VOXBIN}}}[{RI}]))",
             unit="reqps"),
        timeseries("Processes by role", [(f"count by (role) (process_start_time_seconds{{{VOXBIN}}})", "{{role}}")]),
        timeseries("Uptime by process", [(f"time() - process_start_time_seconds{{{VOXBIN}}}", "{{role}} {{instance}}")],
                   unit="s", description="Drops to zero on every restart."),
        timeseries("CPU by role", [(f"sum by (role) (rate(process_cpu_seconds_total{{{VOXBIN}}}[{RI}]))", "{{role}}")],
                   unit="short", description="Cores used (the seed's limit is 0.5 core per pod).", stack=True),
        timeseries("Resident memory by process", [(f"process_resident_memory_bytes{{{VOXBIN}}}", "{{role}} {{instance}}")],
                   unit="bytes", description="The seed's limit is 512 MiB per pod; the HPA scales at 80% of the request."),
        timeseries("Open file descriptors (share of the limit)",
                   [(f"process_open_fds{{{VOXBIN}}} / process_max_fds{{{VOXBIN}}}", "{{role}} {{instance}}")],
                   unit="percentunit"),
        timeseries("Threads by process", [(f"process_threads{{{VOXBIN}}}", "{{role}} {{instance}}")]),
    ]),
    "call-metrics": ("Voxbin / Call Metrics", "Calls up and the call service's work.", [
        stat("Active calls", f"sum(voipbin_active_calls_gauge{{{VOXBIN}}})",
             description="Calls currently up, all nodes."),
        stat("Call RPCs/s", f'sum(rate(voipbin_rpc_requests_total{{{VOXBIN}, service="call"}}[{RI}]))',
             unit="reqps"),
        stat("Call API requests/s",
             f'sum(rate(voipbin_http_requests_total{{{VOXBIN}, route=~"/v1.0/calls.*"}}[{RI}]))', unit="reqps"),
        stat("Call RPC p99",
             f'histogram_quantile(0.99, sum by (le) (rate(voipbin_rpc_request_duration_seconds_bucket{{{VOXBIN}, service="call"}}[{RI}])))',
             unit="s"),
        timeseries("Active calls by node", [(f"sum by (role, instance) (voipbin_active_calls_gauge{{{VOXBIN}}})", "{{role}} {{instance}}")],
                   description="A media node carries about 500 calls (the seed's Asterisk figure); the alert fires at 400."),
        timeseries("Active calls by service", [(f"sum by (service) (voipbin_active_calls_gauge{{{VOXBIN}}})", "{{service}}")]),
        timeseries("Call service RPCs by uri",
                   [(f'sum by (method, uri) (rate(voipbin_rpc_requests_total{{{VOXBIN}, service="call"}}[{RI}]))', "{{method}} {{uri}}")],
                   unit="reqps"),
        timeseries("Call API requests by route and status",
                   [(f'sum by (method, route, status) (rate(voipbin_http_requests_total{{{VOXBIN}, route=~"/v1.0/calls.*"}}[{RI}]))',
                     "{{method}} {{route}} {{status}}")], unit="reqps"),
    ]),
    "queue-depths": ("Voxbin / Queue Depths", "Work waiting per service and queue, and how fast services drain it.", [
        stat("Deepest queue", f"max(voipbin_queue_depth_gauge{{{VOXBIN}}})",
             description="The autoscalers add 2 pods while a service's queue is over 100."),
        stat("Queues over 100", f"count(voipbin_queue_depth_gauge{{{VOXBIN}}} > 100)"),
        timeseries("Queue depth by service and queue",
                   [(f"max by (service, queue) (voipbin_queue_depth_gauge{{{VOXBIN}}})", "{{service}} {{queue}}")],
                   width=24),
        timeseries("RPCs handled by service",
                   [(f"sum by (service) (rate(voipbin_rpc_requests_total{{{VOXBIN}}}[{RI}]))", "{{service}}")],
                   unit="reqps", description="How fast each service drains its request queue.", stack=True),
        timeseries("RPC handling p99 by service",
                   [(f"histogram_quantile(0.99, sum by (service, le) (rate(voipbin_rpc_request_duration_seconds_bucket{{{VOXBIN}}}[{RI}])))",
                     "{{service}}")], unit="s"),
    ]),
    "error-rates": ("Voxbin / Error Rates", "Failed HTTP requests and bus RPCs, and latency.", [
        stat("HTTP 5xx share",
             f'sum(rate(voipbin_http_requests_total{{{VOXBIN}, status=~"5.."}}[{RI}])) / sum(rate(voipbin_http_requests_total{{{VOXBIN}}}[{RI}]))',
             unit="percentunit", description="The page fires over 5% for 5 minutes."),
        stat("RPC 5xx share",
             f'sum(rate(voipbin_rpc_requests_total{{{VOXBIN}, status=~"5.."}}[{RI}])) / sum(rate(voipbin_rpc_requests_total{{{VOXBIN}}}[{RI}]))',
             unit="percentunit"),
        stat("HTTP 429/s", f'sum(rate(voipbin_http_requests_total{{{VOXBIN}, status="429"}}[{RI}]))',
             unit="reqps", description="Rate-limited requests."),
        stat("HTTP p99",
             f"histogram_quantile(0.99, sum by (le) (rate(voipbin_http_request_duration_seconds_bucket{{{VOXBIN}}}[{RI}])))",
             unit="s"),
        timeseries("HTTP 5xx share by role",
                   [(f'sum by (role) (rate(voipbin_http_requests_total{{{VOXBIN}, status=~"5.."}}[{RI}])) / sum by (role) (rate(voipbin_http_requests_total{{{VOXBIN}}}[{RI}]))',
                     "{{role}}")], unit="percentunit"),
        timeseries("HTTP errors by route and status",
                   [(f'sum by (route, status) (rate(voipbin_http_requests_total{{{VOXBIN}, status=~"[45].."}}[{RI}]))',
                     "{{status}} {{route}}")], unit="reqps"),
        timeseries("RPC 5xx share by service",
                   [(f'sum by (service) (rate(voipbin_rpc_requests_total{{{VOXBIN}, status=~"5.."}}[{RI}])) / sum by (service) (rate(voipbin_rpc_requests_total{{{VOXBIN}}}[{RI}]))',
                     "{{service}}")], unit="percentunit"),
        timeseries("RPC errors by service and uri",
                   [(f'sum by (service, uri, status) (rate(voipbin_rpc_requests_total{{{VOXBIN}, status=~"[45].."}}[{RI}]))',
                     "{{service}} {{status}} {{uri}}")], unit="reqps"),
        timeseries("HTTP latency by route (p50, p99)",
                   [(f"histogram_quantile(0.5, sum by (route, le) (rate(voipbin_http_request_duration_seconds_bucket{{{VOXBIN}}}[{RI}])))", "p50 {{route}}"),
                    (f"histogram_quantile(0.99, sum by (route, le) (rate(voipbin_http_request_duration_seconds_bucket{{{VOXBIN}}}[{RI}])))", "p99 {{route}}")],
                   unit="s", width=24),
    ]),
}


def panel(pid, spec, x, y):
    height = 4 if spec["type"] == "stat" else 8
    targets = [{"datasource": {"type": "prometheus", "uid": "${datasource}"}, "expr": expr,
                "legendFormat": legend, "refId": chr(ord("A") + i), "range": True}
               for i, (expr, legend) in enumerate(spec["exprs"])]
    defaults = {"unit": spec["unit"]}
    options = {}
    if spec["type"] == "timeseries":
        defaults["custom"] = {"stacking": {"mode": "normal" if spec["stack"] else "none",
                                           "group": "A"}}
        options = {"legend": {"displayMode": "table", "placement": "bottom", "calcs": ["max", "lastNotNull"]},
                   "tooltip": {"mode": "multi"}}
    else:
        options = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                   "colorMode": "value", "graphMode": "area"}
    return {"id": pid, "type": spec["type"], "title": spec["title"],
            "description": spec["description"],
            "datasource": {"type": "prometheus", "uid": "${datasource}"},
            "gridPos": {"h": height, "w": spec["width"], "x": x, "y": y},
            "fieldConfig": {"defaults": defaults, "overrides": []},
            "options": options, "targets": targets}


def dashboard(uid, title, description, specs):
    panels, x, y, row_h = [], 0, 0, 0
    for pid, spec in enumerate(specs, start=1):
        p = panel(pid, spec, x, y)
        w, h = p["gridPos"]["w"], p["gridPos"]["h"]
        if x + w > 24:
            x, y = 0, y + row_h
            row_h = 0
            p["gridPos"].update(x=x, y=y)
        panels.append(p)
        x += w
        row_h = max(row_h, h)
    return {
        "uid": f"voxbin-{uid}", "title": title, "description": description,
        "tags": ["voxbin"], "editable": True, "schemaVersion": 39, "version": 1,
        "time": {"from": "now-6h", "to": "now"}, "refresh": "30s", "timezone": "utc",
        "templating": {"list": [
            {"name": "datasource", "label": "Data source", "type": "datasource",
             "query": "prometheus", "current": {}, "hide": 0},
            {"name": "role", "label": "Role", "type": "query",
             "datasource": {"type": "prometheus", "uid": "${datasource}"},
             "query": {"query": 'label_values(process_start_time_seconds{job=~"voxbin.*"}, role)',
                       "refId": "roles"},
             "definition": 'label_values(process_start_time_seconds{job=~"voxbin.*"}, role)',
             "includeAll": True, "multi": True, "allValue": ".*", "refresh": 2, "sort": 1,
             "current": {"text": "All", "value": "$__all"}, "hide": 0},
        ]},
        "annotations": {"list": []},
        "panels": panels,
    }


def files():
    return {f"{uid}.json": json.dumps(dashboard(uid, *spec), indent=2) + "\n"
            for uid, spec in DASHBOARDS.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args()
    stale = []
    for name, text in files().items():
        path = HERE / name
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
        else:
            path.write_text(text)
    if stale:
        print("deploy/monitoring/dashboards: out of date (run generate.py): " + ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
