"""The anycast test's client: 20 queries a second to one address, each one's fate.

Run in the client's namespace as `python anycast_client.py SERVER SECONDS OUT`:
every 50 ms a new SOA query (EDNS, NSID asked) leaves one UDP socket; each
query's line is appended to OUT (JSON) once it is answered or 1 s has passed:

    {"seq": 12, "sent": <CLOCK_MONOTONIC>, "node": "node1" | null, "source": "198.51.100.53"}

`node` is the NSID of the server that answered, null for a query not
answered within 1 s. A reply that still comes within LATE seconds adds a
second line for the same seq with "late": its delay, so a reply slowed by
a busy machine can be told from a query the routing lost. The clock is the
system-wide monotonic clock, the test's too. It stops after SECONDS (a
bound) or on SIGTERM.
"""

from __future__ import annotations

import json
import select
import signal
import socket
import sys
import time

import dns.edns
import dns.message

PERIOD = 0.05  # 20 queries a second
TIMEOUT = 1.0  # an answer later than this is a lost query
LATE = 5.0  # ... unless it comes within this: then it is a late one


def main() -> None:
    server, seconds, out_path = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("0.0.0.0", 0))
    pending: dict[int, tuple[int, float]] = {}  # DNS id -> (seq, sent)
    overdue: dict[int, tuple[int, float]] = {}  # recorded lost, a reply may still come
    start = time.monotonic()
    next_send = start
    seq = 0
    with open(out_path, "a", encoding="utf-8") as out:

        def record(seq: int, sent: float, node: str | None, source: str | None, **more) -> None:
            line = {"seq": seq, "sent": sent, "node": node, "source": source, **more}
            out.write(json.dumps(line) + "\n")
            out.flush()

        while not stop and time.monotonic() - start < seconds:
            now = time.monotonic()
            if now >= next_send:
                query = dns.message.make_query(
                    "gslb.example.", "SOA", use_edns=0, options=[dns.edns.NSIDOption(b"")]
                )
                query.id = seq % 65536
                pending[query.id] = (seq, now)
                sock.sendto(query.to_wire(), (server, 53))
                seq += 1
                next_send += PERIOD
            for qid, (n, sent) in list(pending.items()):
                if now - sent > TIMEOUT:
                    overdue[qid] = pending.pop(qid)
                    record(n, sent, None, None)
            for qid, (_, sent) in list(overdue.items()):
                if now - sent > LATE:
                    del overdue[qid]
            readable, _, _ = select.select([sock], [], [], max(0.0, next_send - time.monotonic()))
            if not readable:
                continue
            wire, (source, _) = sock.recvfrom(4096)
            try:
                reply = dns.message.from_wire(wire)
            except Exception:
                continue
            nsid = next((o for o in reply.options if isinstance(o, dns.edns.NSIDOption)), None)
            node = nsid.nsid.decode() if nsid else "?"
            if reply.id in pending:
                n, sent = pending.pop(reply.id)
                record(n, sent, node, source)
            elif reply.id in overdue:
                n, sent = overdue.pop(reply.id)
                record(n, sent, node, source, late=round(time.monotonic() - sent, 3))


if __name__ == "__main__":
    main()
