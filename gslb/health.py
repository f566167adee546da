"""Member and data-center state, as the hot path sees it.

The monitors (control plane) own the checks; what they conclude is published
here as a frozen `Health` inside each snapshot. A member is available when it
is enabled in config, not disabled by hand, its monitors say up (or unknown
and the pool allows it), and its data center and link are up.

A member without monitors is up. A member with monitors starts `unknown`
(`member_up` false, index in `unknown`) until its first check completes;
pools with `available_when_unknown = true` hand it out meanwhile, the others
do not (the default: nobody has seen it answer yet).
"""

from __future__ import annotations

from dataclasses import dataclass

from gslb.model import Config


@dataclass(frozen=True, slots=True)
class Health:
    member_up: tuple[bool, ...]  # per virtual server: monitors say up
    datacenter_up: tuple[bool, ...]  # per data center: link monitor says up
    disabled: frozenset[str] = frozenset()  # member names disabled by hand
    unknown: frozenset[int] = frozenset()  # virtual servers not checked yet

    @classmethod
    def initial(cls, config: Config) -> Health:
        """Every member and link up: the state of a configuration without monitors
        (the monitor runner starts monitored members as unknown)."""
        return cls(
            member_up=(True,) * len(config.virtual_servers),
            datacenter_up=(True,) * len(config.datacenters),
        )

    def available(self, config: Config, *, unknown_up: bool = False) -> tuple[bool, ...]:
        """Per virtual server: may it be handed out? `unknown_up`: count unknown as up."""
        out = []
        for i, vs in enumerate(config.virtual_servers):
            dc = config.datacenters[vs.datacenter]
            out.append(
                vs.enabled
                and vs.name not in self.disabled
                and (self.member_up[i] or (unknown_up and i in self.unknown))
                and dc.enabled
                and self.datacenter_up[vs.datacenter]
            )
        return tuple(out)
