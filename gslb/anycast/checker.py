"""The gate's question to gslbd: "does this node answer on the service address?"

One SOA query over UDP to the prefix's listen address, from outside gslbd,
for a name gslbd is authoritative for. Fit means an authoritative NOERROR
answer holding that SOA; backend health plays no part, so a backend outage
seen by every node never withdraws them all. A failure is a result
(`Check(ok=False, detail=...)`), never an exception:

    timeout         no reply within the timeout (gslbd hung, stopped, overloaded)
    refused         ICMP port unreachable (nothing listens: gslbd dead)
    rcode NAME      a reply, but not NOERROR
    not authoritative / no SOA / bad reply / error ERRNO
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import time

from dnslib import QTYPE, RCODE, DNSError, DNSRecord

from gslb.anycast.gate import Check

REPLY_SIZE = 4096


def verdict(query: DNSRecord, wire: bytes) -> str:
    """Why `wire` is not a fit reply to `query`; "ok" when it is."""
    try:
        reply = DNSRecord.parse(wire)
    except (DNSError, ValueError, IndexError):
        return "bad reply"
    if reply.header.id != query.header.id or not reply.header.qr:
        return "bad reply"
    if reply.header.rcode != RCODE.NOERROR:
        return f"rcode {RCODE.get(reply.header.rcode)}"
    if not reply.header.aa:
        return "not authoritative"
    name = query.q.qname
    if not any(rr.rtype == QTYPE.SOA and rr.rname == name for rr in reply.rr):
        return "no SOA"
    return "ok"


async def check(address: str, port: int, name: str, timeout: float) -> Check:
    """Ask `address`:`port` for the SOA of `name`; the result within `timeout`."""
    query = DNSRecord.question(name, "SOA")
    query.header.id = secrets.randbelow(65536)
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    loop = asyncio.get_running_loop()
    start = time.monotonic()
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        try:
            # Connected: the kernel hands us ICMP port unreachable as ECONNREFUSED.
            sock.connect((address, port))
            async with asyncio.timeout(timeout):
                await loop.sock_sendall(sock, query.pack())
                while True:
                    detail = verdict(query, await loop.sock_recv(sock, REPLY_SIZE))
                    if detail != "bad reply":  # a stray datagram: keep waiting
                        break
        except TimeoutError:
            detail = "timeout"
        except ConnectionRefusedError:
            detail = "refused"
        except OSError as exc:
            detail = f"error {exc.errno}"
    return Check(detail == "ok", detail, time.monotonic() - start)
