"""Compiling `[anycast]`: the prefixes the gate announces and how.

Each prefix must hold a `[server] listen` address: that is where the gate
asks gslbd, and binding the service address explicitly is what makes replies
leave from the address the query was sent to. The routing's own fields
belong to it alone (`ospf_area` only with `routing = "frr_ospf"`, ...), and
`check_zone` must be a configured zone: the gate expects its SOA,
authoritative, which no backend's health can change.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from ipaddress import ip_address, ip_network

from gslb.config import schema
from gslb.config.source import FieldPath
from gslb.config.zonefile import absolute_name
from gslb.model import AnycastPrefix, AnycastSettings, IPNetwork, Zone

Report = Callable[[FieldPath, object, str], None]

# The fields each routing takes; a field set for another routing is a mistake.
ROUTING_FIELDS = {
    "shell": ("announce", "withdraw"),
    "frr_ospf": ("ospf_area", "vtysh"),
    "bird": ("bird_protocol", "birdc"),
    "exabgp": (),
}
REQUIRED = {"shell": ("announce", "withdraw"), "bird": ("bird_protocol",)}
_PATH = ("anycast",)


def _prefixes(
    a: schema.Anycast, listen: Sequence[tuple[str, int]], report: Report
) -> tuple[AnycastPrefix, ...]:
    found: list[AnycastPrefix] = []
    seen: list[IPNetwork] = []
    for k, text in enumerate(a.prefixes):
        path = (*_PATH, "prefixes", k)
        try:
            prefix = ip_network(text)
        except ValueError as exc:
            report(path, text, f"not a prefix: {exc}")
            continue
        if any(prefix.overlaps(other) for other in seen):
            report(path, text, "overlaps another prefix of the list")
            continue
        seen.append(prefix)
        inside = [(h, p) for h, p in listen if ip_address(h) in prefix]
        if not inside:
            report(
                path,
                text,
                "no [server] listen address inside it: bind the service address "
                "explicitly, so replies leave from the address asked",
            )
            continue
        host, port = inside[0]
        found.append(AnycastPrefix(prefix, host, port))
    return tuple(found)


def _check_zone(a: schema.Anycast, zones: Sequence[Zone], report: Report) -> str:
    path = (*_PATH, "check_zone")
    if a.check_zone is None:
        if not zones:
            report(path, None, "no [[zone]] whose SOA the gate could ask for")
            return ""
        return zones[0].origin
    name = absolute_name(a.check_zone)
    if not any(name == z.origin for z in zones):
        report(path, a.check_zone, "not a configured zone (the gate asks for its SOA)")
    return name


def _is_area(text: str) -> bool:
    if text.isdigit():
        return int(text) < 2**32
    try:
        ip_address(text)
    except ValueError:
        return False
    return "." in text


def compile_anycast(
    a: schema.Anycast | None,
    listen: Sequence[tuple[str, int]],
    zones: Sequence[Zone],
    report: Report,
    path: Callable[[str], str] = lambda p: p,
) -> AnycastSettings | None:
    """`path` places a configured file (relative ones under the config directory)."""
    if a is None:
        return None
    given = a.model_fields_set
    own = ROUTING_FIELDS[a.routing]
    for routing, names in ROUTING_FIELDS.items():
        for name in names:
            if name in given and name not in own:
                report((*_PATH, name), getattr(a, name), f"only for routing = {routing!r}")
    for name in REQUIRED.get(a.routing, ()):
        if getattr(a, name) is None:
            report((*_PATH, name), None, f"required with routing = {a.routing!r}")
    if a.routing == "bird" and len(a.prefixes) > 1:
        # One gate per prefix, one protocol for all: a prefix that fails would
        # disable what another announced, and the two would flap at every reassert.
        report(
            (*_PATH, "prefixes"),
            list(a.prefixes),
            "routing = 'bird' gates one protocol: one prefix only (or routing = 'shell')",
        )
    if a.ospf_area is not None and not _is_area(a.ospf_area):
        report((*_PATH, "ospf_area"), a.ospf_area, "an OSPF area is a number or a dotted quad")
    defaults = AnycastSettings(prefixes=())
    return AnycastSettings(
        prefixes=_prefixes(a, listen, report),
        routing=a.routing,
        announce=a.announce or "",
        withdraw=a.withdraw or "",
        ospf_area=a.ospf_area or defaults.ospf_area,
        vtysh=tuple(a.vtysh) if a.vtysh else defaults.vtysh,
        bird_protocol=a.bird_protocol or "",
        birdc=tuple(a.birdc) if a.birdc else defaults.birdc,
        check_zone=_check_zone(a, zones, report),
        interval=a.interval,
        timeout=a.timeout,
        rise=a.rise,
        fall=a.fall,
        command_timeout=a.command_timeout,
        reassert=a.reassert,
        drain_file=path(a.drain_file),
        shutdown_drain=a.shutdown_drain,
        stopping_file=path(a.stopping_file),
        state_file=path(a.state_file),
        http=a.http,
    )
