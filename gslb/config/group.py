"""What `[sync]` accepts: NATS server URLs, and names that become subject tokens.

[sync]
servers = ["nats://127.0.0.1:4222"]   # one or more NATS servers of the group
node = "cnc-1"                        # unique in the group; default: the host name
"""

from __future__ import annotations

import re
import socket
from urllib.parse import urlsplit

TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")
TOKEN_RULE = "must be 1 to 64 letters, digits, '-' or '_' (it names NATS subjects)"
SCHEMES = ("nats", "tls", "ws", "wss")


def bad_server_url(url: str) -> str:
    """Why `url` is not a NATS server URL ("" when it is one)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"not a URL: {exc}"
    if parts.scheme not in SCHEMES:
        return f"expected a URL like nats://host:4222 (scheme one of {', '.join(SCHEMES)})"
    if not parts.hostname:
        return "no host in the URL"
    if port == 0:
        return "port must be 1..65535"
    return ""


def default_node() -> str:
    """The host name's first label, with anything a subject token may not hold as '-'."""
    label = socket.gethostname().split(".")[0] or "gslb"
    return re.sub(r"[^A-Za-z0-9_-]", "-", label)[:64]
