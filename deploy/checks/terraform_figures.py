#!/usr/bin/env python3
"""Parses deploy/terraform/gcp with python-hcl2 and checks the seed's figures in it.

    python3 deploy/checks/terraform_figures.py

Every .tf file must parse. Then: the four subnets and their ranges, the firewall table, the
VoIP groups' machine types and sizes, the Cloud SQL primary (tier, regional HA, daily backups,
1 TB) and its three read replicas, Memorystore 16 GB standard tier, three RabbitMQ nodes, and
a DR region module in us-east1.
"""

import pathlib
import sys

import hcl2

TF = pathlib.Path(__file__).resolve().parents[2] / "deploy/terraform/gcp"


def unquote(v):
    """python-hcl2 keeps the quotes of string literals; figures compare without them."""
    if isinstance(v, str) and len(v) >= 2 and v[0] == v[-1] == '"':
        return v[1:-1]
    if isinstance(v, dict):
        return {unquote(k): unquote(x) for k, x in v.items() if k != "__is_block__"}
    if isinstance(v, list):
        return [unquote(x) for x in v]
    return v


def blocks(docs, kind):
    """{(type, name): body} of resource/module/variable blocks across files."""
    out = {}
    for d in docs:
        for entry in d.get(kind, []):
            for k, body in unquote(entry).items():
                if kind == "resource":
                    for name, b in body.items():
                        out[(k, name)] = b
                else:
                    out[k] = body
    return out


def main():
    failures = []
    docs = []
    files = sorted(TF.rglob("*.tf"))
    for f in files:
        try:
            docs.append(hcl2.loads(f.read_text()))
        except Exception as e:  # the parser raises several exception types
            failures.append(f"{f.relative_to(TF)} does not parse: {e}")
    root = [hcl2.loads(f.read_text()) for f in files if f.parent == TF]
    res, var, mod = blocks(root, "resource"), blocks(root, "variable"), blocks(root, "module")

    def expect(cond, msg):
        if not cond:
            failures.append(msg)

    default = lambda name: var.get(name, {}).get("default")  # noqa: E731
    expect(default("subnets") == {"public": "10.0.0.0/24", "kubernetes": "10.0.1.0/24",
                                  "voip": "10.0.2.0/24", "data": "10.0.3.0/24"},
           f"subnets: {default('subnets')}")
    for s in ("public", "kubernetes", "voip", "data"):
        r = res.get(("google_compute_subnetwork", s), {})
        expect(r.get("ip_cidr_range") == f'${{var.subnets["{s}"]}}', f"subnet {s} range")
    groups = default("voip_groups") or {}
    want = {"sip-edge": ("n1-standard-4", 3, 100), "media": ("n1-standard-8", 3, 200),
            "rtp-relay": ("n1-highcpu-8", 3, 50)}
    for g, (mt, size, disk) in want.items():
        got = groups.get(g, {})
        expect((got.get("machine_type"), got.get("size"), got.get("disk_gb")) == (mt, size, disk),
               f"voip group {g}: {got}, seed says {mt} x{size}, {disk} GB")
    expect(default("db_primary_tier") == "db-custom-8-32768", "Cloud SQL primary tier")
    expect(default("db_replica_tier") == "db-custom-4-16384", "Cloud SQL replica tier")
    expect(default("db_replica_count") == 3, "three read replicas")
    expect(default("db_disk_gb") == 1000, "1 TB SSD per instance")
    expect(default("redis_memory_gb") == 16, "Memorystore 16 GB")
    expect(default("rabbitmq_nodes") == 3, "three RabbitMQ nodes")
    expect(default("region") == "us-central1" and default("dr_region") == "us-east1", "regions")
    primary = res.get(("google_sql_database_instance", "primary"), {})
    settings = (primary.get("settings") or [{}])[0]
    backup = (settings.get("backup_configuration") or [{}])[0]
    expect(settings.get("availability_type") == "REGIONAL", "Cloud SQL primary must be REGIONAL")
    expect(backup.get("enabled") is True and backup.get("binary_log_enabled") is True,
           "Cloud SQL daily backups with binary logs")
    replica = res.get(("google_sql_database_instance", "replica"), {})
    expect(replica.get("count") == "${var.db_replica_count}", "replicas counted by db_replica_count")
    redis = res.get(("google_redis_instance", "cache"), {})
    expect(redis.get("tier") == "STANDARD_HA" and redis.get("memory_size_gb") == "${var.redis_memory_gb}",
           "Memorystore standard tier sized by redis_memory_gb")
    fw = {k[1]: v for k, v in res.items() if k[0] == "google_compute_firewall"}
    ports = lambda name: sorted(p for a in fw.get(name, {}).get("allow", [])  # noqa: E731
                                for p in a.get("ports", []))
    expect(ports("allow_https") == ["443"], "allow-https 443")
    expect(ports("allow_sip") == ["5060-5061", "5060-5061"], "allow-sip 5060-5061 udp+tcp")
    expect(ports("allow_rtp") == ["10000-60000"], "allow-rtp 10000-60000")
    expect(ports("allow_db_access") == ["3306", "6379"], "allow-db-access 3306, 6379")
    expect(ports("allow_rabbit") == ["5672"], "allow-rabbit 5672")
    for name in ("allow_https", "allow_sip", "allow_rtp"):
        expect(fw.get(name, {}).get("source_ranges") == ["0.0.0.0/0"], f"{name} from anywhere")
    for name in ("allow_k8s_internal", "allow_voip_internal"):
        expect(name in fw, f"{name} missing")
    expect("dr" in mod and mod["dr"].get("region") == "${var.dr_region}", "DR module in dr_region")
    expect(("google_compute_forwarding_rule", "sip_udp") in res
           and ("google_compute_global_address", "api") in res, "SIP and HTTPS load balancers")
    if failures:
        for f in failures:
            print(f"  FAIL {f}")
        return 1
    print(f"  {len(files)} Terraform files parse; the seed's figures are in them "
          f"(subnets, firewall, VoIP machine types, Cloud SQL 1+3, Redis 16 GB, RabbitMQ 3, DR)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
