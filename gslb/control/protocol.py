"""gslbctl <-> gslbd: one JSON object per line over a Unix socket.

    request   {"command": "show", "args": {"what": "members"}}
    response  {"ok": true, "result": ...}
           or {"ok": false, "error": "one line saying what is wrong"}

The socket's file permissions are the access control (mode 0600 by default:
only gslbd's user, and root). `request()` is the client side gslbctl uses;
every way of failing is a ControlError with a one-line message.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

from gslb.errors import GslbError

MAX_LINE = 16 * 1024 * 1024  # an answer (show ldns of a big table) may be large
MAX_REQUEST = 1024 * 1024  # a request is a command and a few short arguments
DEFAULT_TIMEOUT = 60.0
LDNS_SHOWN = 1000  # `show ldns` entries when no --limit is given


class ControlError(GslbError):
    """The control request failed."""


def encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":"), default=str).encode() + b"\n"


def decode(line: bytes) -> dict[str, Any]:
    """One message; ValueError (one line) when it is not a JSON object."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("not UTF-8") from None
    try:
        message = json.loads(text)
    except RecursionError:
        raise ValueError("JSON nested too deep") from None
    except ValueError as exc:
        raise ValueError(f"not JSON: {str(exc).splitlines()[0][:200]}") from None
    if not isinstance(message, dict):
        raise ValueError("a message is a JSON object")
    return message


def _connect(path: Path, timeout: float) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    target = str(path)
    if len(os.fsencode(target)) > 100:
        # A Unix socket path is limited to ~107 bytes; connect through the
        # directory's file descriptor instead (Linux /proc).
        fd = os.open(path.parent, os.O_RDONLY)
        target = f"/proc/self/fd/{fd}/{path.name}"
        try:
            sock.connect(target)
        finally:
            os.close(fd)
        return sock
    sock.connect(target)
    return sock


def request(
    path: str | Path,
    command: str,
    args: dict[str, Any] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Any:
    """Send one command to gslbd; its result, or ControlError."""
    socket_path = Path(path)
    try:
        sock = _connect(socket_path, timeout)
    except FileNotFoundError:
        raise ControlError(f"gslbd is not running (no control socket at {socket_path})") from None
    except ConnectionRefusedError:
        raise ControlError(f"gslbd is not running (nobody listens on {socket_path})") from None
    except PermissionError:
        raise ControlError(f"permission denied on {socket_path}") from None
    except OSError as exc:
        raise ControlError(f"cannot connect to {socket_path}: {exc.strerror or exc}") from None
    with sock:
        try:
            sock.sendall(encode({"command": command, "args": args or {}}))
            data = b""
            while not data.endswith(b"\n"):
                chunk = sock.recv(1 << 16)
                if not chunk:
                    break
                data += chunk
                if len(data) > MAX_LINE:
                    raise ControlError("answer too large")
        except TimeoutError:
            raise ControlError(f"gslbd did not answer within {timeout:g} s") from None
        except OSError as exc:
            raise ControlError(f"control socket: {exc.strerror or exc}") from None
    if not data:
        raise ControlError("gslbd closed the connection without an answer")
    try:
        reply = decode(data)
    except ValueError:
        raise ControlError("gslbd sent an unreadable answer") from None
    if not reply.get("ok"):
        raise ControlError(str(reply.get("error", "failed")))
    return reply.get("result")
