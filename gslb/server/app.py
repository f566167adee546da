"""gslbd: load the configuration, bind the listeners, serve, reload on SIGHUP.

Start-up and `gslbctl check` validate through the same `gslb.config.load()`.
A reload validates and builds a whole new snapshot before swapping it in; on
error the old one keeps serving and the problems are logged.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path

from gslb import __version__
from gslb.answer import Responder
from gslb.config import load
from gslb.errors import ConfigError
from gslb.probes.scheduler import Scheduler
from gslb.proximity import FrozenView, LdnsTable
from gslb.server.tcp import TcpConnection, TcpLimits
from gslb.server.udp import UdpProtocol
from gslb.snapshot import Snapshot, SnapshotHolder

log = logging.getLogger("gslb.server")


@dataclass
class Server:
    config_dir: Path
    holder: SnapshotHolder
    responder: Responder
    transports: list[asyncio.BaseTransport] = field(default_factory=list)
    servers: list[asyncio.AbstractServer] = field(default_factory=list)
    bound: list[tuple[str, str, int]] = field(default_factory=list)  # (proto, host, port)
    # The LDNS table and its probes; also what the control socket asks for
    # `show ldns` (`entries`) and `probe IP` (`probe_now`).
    proximity: Scheduler = field(init=False)
    probing: asyncio.Task[None] | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        config = self.holder.current.config
        table = LdnsTable(max_entries=config.probes.max_entries, ldns_ttl=config.probes.ldns_ttl)
        self.proximity = Scheduler(
            table, config, seen=self.responder.seen, publish=self._publish_proximity
        )
        self.responder.on_probe = self.proximity.offer
        loaded = self.proximity.load()
        log.info("ldns_table: loaded=%d file=%s", loaded, config.probes.state_file or "-")
        self._publish_proximity(table.view())

    def _publish_proximity(self, view: FrozenView) -> None:
        self.holder.publish(self.holder.current.with_proximity(view))

    @classmethod
    def from_directory(cls, config_dir: Path) -> Server:
        config = load(config_dir)
        for w in config.warnings:
            log.warning("config: %s", w)
        holder = SnapshotHolder(Snapshot.build(config))
        return cls(config_dir, holder, Responder(holder))

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        settings = self.holder.current.config.server
        limits = TcpLimits(settings.tcp_idle_timeout, settings.tcp_max_connections)
        for host, port in settings.listen:
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            transport, _ = await loop.create_datagram_endpoint(
                lambda: UdpProtocol(self.responder.answer),
                local_addr=(host, port),
                family=family,
                reuse_port=True,
            )
            self.transports.append(transport)
            bound_port = transport.get_extra_info("sockname")[1]
            server = await loop.create_server(
                lambda: TcpConnection(self.responder.answer, limits),
                host,
                bound_port,
                family=family,
                reuse_port=True,
            )
            self.servers.append(server)
            for proto in ("udp", "tcp"):
                self.bound.append((proto, host, bound_port))
                log.info("listening: proto=%s address=%s port=%d", proto, host, bound_port)
        self.probing = asyncio.create_task(self.proximity.run())

    def reload(self) -> bool:
        """Validate and swap in the configuration; keep the old one on error."""
        old = self.holder.current
        try:
            config = load(self.config_dir)
        except ConfigError as err:
            for p in err.problems:
                log.error("reload: rejected %s", p)
            return False
        self.proximity.configure(config)
        view = self.proximity.table.view()
        self.holder.publish(Snapshot.build(config, old.generation + 1, proximity=view))
        log.info("reload: ok generation=%d", old.generation + 1)
        return True

    async def stop(self) -> None:
        for t in self.transports:
            t.close()
        if self.probing is not None:
            self.probing.cancel()
        await self.proximity.stop()  # saves the LDNS table
        for s in self.servers:
            s.close()
            await s.wait_closed()


async def serve(config_dir: Path) -> int:
    try:
        server = Server.from_directory(config_dir)
    except ConfigError as err:
        for p in err.problems:
            print(p, file=sys.stderr)
        return 1
    await server.start()
    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    loop.add_signal_handler(signal.SIGHUP, server.reload)
    loop.add_signal_handler(signal.SIGTERM, done.set)
    loop.add_signal_handler(signal.SIGINT, done.set)
    log.info("ready: version=%s generation=%d", __version__, server.holder.current.generation)
    await done.wait()
    log.info("stopping: reason=signal")
    await server.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gslbd", description="gslb authoritative GSLB DNS server")
    parser.add_argument("--config", default="etc", type=Path, help="configuration directory")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        return asyncio.run(serve(args.config))
    return uvloop.run(serve(args.config))


if __name__ == "__main__":
    raise SystemExit(main())
