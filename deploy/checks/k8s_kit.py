#!/usr/bin/env python3
"""Checks the rendered Kubernetes overlays against the seed's deployment pattern and against
the binary itself.

    python3 deploy/checks/k8s_kit.py VOXBIN_BIN RENDERED.yaml [RENDERED.yaml ...]

The first rendered file must hold every role (overlays/gke-voip). For each Deployment: the
seed's replicas, rolling update, resources, probes and ports; the seed's env sources; a
PodDisruptionBudget; an autoscaler with the seed's limits for the non-VoIP roles. Then every
Deployment's arguments and environment are handed to `voxbin config`, which refuses unknown
roles, unknown VOXBIN_* names and bad values, so the manifests cannot drift from the binary.
"""

import json
import pathlib
import re
import subprocess
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
ROLES = json.loads((ROOT / "deploy/k8s/roles.json").read_text())
VOIP = set(ROLES["voip"])
# Stand-ins for secret values: shaped like the real ones so `voxbin config` validates them.
SECRET_VALUES = {
    ("db-credentials", "dsn"): "mysql://voxbin:secret@10.0.3.10:3306/voxbin",
    ("db-credentials", "readers"): "mysql://voxbin:secret@10.0.3.11:3306/voxbin",
    ("bus-credentials", "rabbit_addr"): "amqp://voxbin:secret@rabbitmq.voxbin.internal:5672/voxbin",
    ("api-secrets", "jwt_secret"): "0123456789abcdef0123456789abcdef",
}

failures = []


def fail(msg):
    failures.append(msg)


def expect(cond, msg):
    if not cond:
        fail(msg)


def load(path):
    return [d for d in yaml.safe_load_all(pathlib.Path(path).read_text()) if d]


def by_kind(docs, kind):
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def binary_roles(binary):
    out = subprocess.run([binary, "roles"], check=True, capture_output=True, text=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def check_deployment(name, dep, hpas, pdbs):
    role = name.removeprefix("voxbin-")
    spec = dep["spec"]
    pod = spec["template"]["spec"]
    c = pod["containers"][0]
    where = f"Deployment {name}"
    expect(c["args"][:3] == ["serve", "--role", role], f"{where}: args {c['args']}")
    expect(spec["strategy"] == {"type": "RollingUpdate",
                                "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
           f"{where}: rolling update must be maxSurge 1, maxUnavailable 0")
    live, ready = c.get("livenessProbe", {}), c.get("readinessProbe", {})
    expect(live.get("httpGet", {}).get("path") == "/health"
           and live.get("initialDelaySeconds") == 30 and live.get("periodSeconds") == 10,
           f"{where}: liveness must be /health, 30 s delay, every 10 s")
    expect(ready.get("httpGet", {}).get("path") == "/ready"
           and ready.get("initialDelaySeconds") == 5 and ready.get("periodSeconds") == 5,
           f"{where}: readiness must be /ready, 5 s delay, every 5 s")
    ports = {(p["containerPort"], p.get("protocol", "TCP")) for p in c["ports"]}
    expect({(8080, "TCP"), (2112, "TCP")} <= ports, f"{where}: ports 8080 and 2112")
    if role == "api":
        expect({(443, "TCP"), (9000, "TCP")} <= ports, f"{where}: api needs 443 and 9000")
    if role == "sip-edge":
        expect({(5060, "UDP"), (5060, "TCP"), (5061, "TCP")} <= ports, f"{where}: SIP ports")
    if role in ("media", "rtp-relay"):
        expect(pod.get("hostNetwork") is True, f"{where}: RTP needs the host network")
    expect(pod.get("enableServiceLinks") is False,
           f"{where}: enableServiceLinks must be false (Voxbin refuses unknown VOXBIN_* names)")
    env = {e["name"]: e for e in c["env"]}
    dsn = env.get("DSN", {}).get("valueFrom", {}).get("secretKeyRef", {})
    expect(dsn.get("name") == "db-credentials" and dsn.get("key") == "dsn",
           f"{where}: DSN from secret db-credentials/dsn")
    expect(any(e.get("valueFrom", {}).get("configMapKeyRef", {}).get("name") == "app-config"
               for e in env.values()), f"{where}: env from the app-config ConfigMap")
    drain = int(env["VOXBIN_SHUTDOWN_GRACE_PERIOD_SECS"]["value"])
    expect(pod["terminationGracePeriodSeconds"] > drain,
           f"{where}: termination grace must exceed the drain time ({drain} s)")
    res = c["resources"]
    if role in VOIP:
        expect(res["requests"] == res["limits"], f"{where}: VoIP pods are Guaranteed")
        expect("nodeSelector" in pod and "tolerations" in pod,
               f"{where}: VoIP roles run on their dedicated node pool")
    else:
        expect(spec["replicas"] == 2, f"{where}: 2 replicas")
        expect(res == {"requests": {"cpu": "100m", "memory": "256Mi"},
                       "limits": {"cpu": "500m", "memory": "512Mi"}},
               f"{where}: resources must be the seed's 100m/256Mi, 500m/512Mi; got {res}")
        hpa = hpas.get(name)
        if hpa is None:
            fail(f"{where}: no HorizontalPodAutoscaler")
        else:
            low, high = ROLES["scaling"][role]
            hs = hpa["spec"]
            expect((hs["minReplicas"], hs["maxReplicas"]) == (low, high),
                   f"HPA {name}: {hs['minReplicas']}-{hs['maxReplicas']}, seed says {low}-{high}")
            targets = {m["resource"]["name"]: m["resource"]["target"]["averageUtilization"]
                       for m in hs["metrics"] if m["type"] == "Resource"}
            expect(targets == {"cpu": 70, "memory": 80}, f"HPA {name}: cpu 70%, memory 80%")
            if role != "api":
                ext = [m for m in hs["metrics"] if m["type"] == "External"]
                expect(len(ext) == 1 and ext[0]["external"]["target"]["value"] == "100"
                       and ext[0]["external"]["metric"]["selector"]["matchLabels"]["queue"]
                       == f"bin-manager.{role}-manager.request",
                       f"HPA {name}: queue depth over 100 on its request queue")
            up = hs["behavior"]["scaleUp"]["policies"]
            expect({"type": "Pods", "value": 2, "periodSeconds": 60} in up,
                   f"HPA {name}: scale up by 2 pods")
    expect(any(p["spec"]["selector"]["matchLabels"] == spec["selector"]["matchLabels"]
               for p in pdbs.values()), f"{where}: no PodDisruptionBudget selects it")


def config_accepts(binary, dep, configmaps):
    """Runs `voxbin config` with the Deployment's arguments and environment."""
    c = dep["spec"]["template"]["spec"]["containers"][0]
    env = {"PATH": "/usr/bin:/bin", "VOXBIN_CONFIG": str(ROOT / "deploy/config/production.toml")}
    for e in c["env"]:
        if "value" in e:
            # as the kubelet does: $(NAME) of a variable defined above is expanded
            env[e["name"]] = re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)",
                                    lambda m: env.get(m.group(1), m.group(0)), e["value"])
            continue
        ref = e["valueFrom"]
        if "fieldRef" in ref:
            env[e["name"]] = "10.0.0.7"  # the downward API's pod IP, a stand-in
            continue
        if "secretKeyRef" in ref:
            key = (ref["secretKeyRef"]["name"], ref["secretKeyRef"]["key"])
            if key not in SECRET_VALUES:
                fail(f"{dep['metadata']['name']}: secret {key} is not documented here")
                continue
            env[e["name"]] = SECRET_VALUES[key]
        else:
            cm = ref["configMapKeyRef"]
            data = configmaps.get(cm["name"], {}).get("data", {})
            if cm["key"] not in data:
                fail(f"{dep['metadata']['name']}: ConfigMap {cm['name']} lacks key {cm['key']}")
                continue
            env[e["name"]] = data[cm["key"]]
    args = ["config" if a == "serve" else a for a in c["args"]]
    run = subprocess.run([binary] + args, env=env, capture_output=True, text=True)
    if run.returncode != 0:
        fail(f"{dep['metadata']['name']}: `voxbin {' '.join(args)}` refuses its environment: "
             f"{run.stderr.strip()}")


def main():
    binary, first, *rest = sys.argv[1:]
    rendered = [(first, load(first))] + [(p, load(p)) for p in rest]
    docs = rendered[0][1]
    deployments = by_kind(docs, "Deployment")
    for role in binary_roles(binary):
        expect(f"voxbin-{role}" in deployments,
               f"role {role} (from `voxbin roles`) has no Deployment: add it to "
               f"deploy/k8s/generate.py and run it")
    for path, docs in rendered:
        deps, hpas = by_kind(docs, "Deployment"), by_kind(docs, "HorizontalPodAutoscaler")
        pdbs, cms = by_kind(docs, "PodDisruptionBudget"), by_kind(docs, "ConfigMap")
        for name, dep in deps.items():
            check_deployment(name, dep, hpas, pdbs)
            config_accepts(binary, dep, cms)
        kinds = {d["kind"] for d in docs}
        for needed in ("NetworkPolicy", "Ingress", "Job", "Namespace"):
            expect(needed in kinds, f"{path}: no {needed}")
        ingress = next((d for d in docs if d["kind"] == "Ingress"), None)
        if ingress:
            expect(bool(ingress["spec"].get("tls")), f"{path}: the API Ingress has no TLS")
        policies = by_kind(docs, "NetworkPolicy")
        expect("default-deny" in policies, f"{path}: no default-deny NetworkPolicy")
        sip = [d for d in docs if d["kind"] == "Service" and d["spec"].get("type") == "LoadBalancer"]
        if "voxbin-sip-edge" in deps:
            got = {(p["port"], p["protocol"]) for s in sip for p in s["spec"]["ports"]}
            expect(got == {(5060, "UDP"), (5060, "TCP"), (5061, "TCP")},
                   f"{path}: SIP load balancer must serve 5060 UDP/TCP and 5061; got {got}")
        print(f"  {path}: {len(deps)} Deployments, {len(hpas)} autoscalers, "
              f"{len(pdbs)} disruption budgets, {len(policies)} network policies checked")
    if failures:
        for f in failures:
            print(f"  FAIL {f}")
        return 1
    print("  every Deployment's arguments and environment accepted by `voxbin config`")
    return 0


if __name__ == "__main__":
    sys.exit(main())
