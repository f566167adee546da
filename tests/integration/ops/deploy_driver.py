"""Run one gslbd the way a deployment recipe does, inside a network namespace
of its own (so port 53 and wildcard addresses clash with nothing), as user
nobody with the recipe's capabilities; ask it one DNS question; stop it.

    unshare --net python -m tests.integration.ops.deploy_driver SPEC-JSON

SPEC: {"argv": [...], "caps": "net_bind_service,net_raw" | "", "notify": path
| null, "watchdog_usec": "30000000" | null, "query": ["127.0.0.5", 53]}.
Prints one JSON object: the notifications, the answer, gslbd's exit code.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import dns.message
import dns.query

from tests.integration.conftest import NOBODY


def main() -> int:
    spec = json.loads(sys.argv[1])
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    prefix = list(NOBODY)  # the driver runs as root inside the namespace
    if spec["caps"]:
        caps = ",".join(f"+{c}" for c in spec["caps"].split(","))
        prefix += [f"--inh-caps={caps}", f"--ambient-caps={caps}"]
    env = dict(os.environ)
    notify = None
    if spec["notify"]:
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(spec["notify"])
        os.chmod(spec["notify"], 0o777)  # gslbd runs as nobody
        env["NOTIFY_SOCKET"] = spec["notify"]
        if spec.get("watchdog_usec"):
            env["WATCHDOG_USEC"] = spec["watchdog_usec"]
    proc = subprocess.Popen([*prefix, *spec["argv"]], env=env, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    messages: list[str] = []
    deadline = time.monotonic() + 30
    ready = False
    if notify is not None:
        while not ready:
            notify.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                messages.append(notify.recv(4096).decode())
            except TimeoutError:
                break
            ready = messages[-1].startswith("READY=1")
    else:
        for line in proc.stderr:
            messages.append(line)
            if '"event": "ready"' in line or "ready:" in line:
                ready = True
                break
    answer: list[str] = []
    host, port = spec["query"]
    if ready:
        query = dns.message.make_query("mail.gslb.example.", "A")
        reply = dns.query.udp(query, host, port=port, timeout=3)
        answer = [str(r) for rrset in reply.answer for r in rrset]
        if notify is not None and spec.get("watchdog_usec"):
            notify.settimeout(5)
            messages.append(notify.recv(4096).decode())
        proc.terminate()
    try:
        _, rest = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, rest = proc.communicate()
    print(json.dumps({"messages": messages, "answer": answer, "code": proc.returncode,
                      "stderr": rest}))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
