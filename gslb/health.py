"""Member and data-center state, as the hot path sees it.

The monitors (control plane) own the checks; what they conclude is published
here as a frozen `Health` inside each snapshot. A member is available when it
is enabled in config, not disabled by hand, its monitors say up (or unknown
and the pool allows it), and its data center and link are up.
"""

from __future__ import annotations

from dataclasses import dataclass

from gslb.model import Config


@dataclass(frozen=True, slots=True)
class Health:
    member_up: tuple[bool, ...]  # per virtual server: monitors say up
    datacenter_up: tuple[bool, ...]  # per data center: link monitor says up
    disabled: frozenset[str] = frozenset()  # member names disabled by hand

    @classmethod
    def initial(cls, config: Config) -> Health:
        """Everything up until a monitor says otherwise."""
        return cls(
            member_up=(True,) * len(config.virtual_servers),
            datacenter_up=(True,) * len(config.datacenters),
        )

    def available(self, config: Config) -> tuple[bool, ...]:
        """Per virtual server: may it be handed out?"""
        out = []
        for i, vs in enumerate(config.virtual_servers):
            dc = config.datacenters[vs.datacenter]
            out.append(
                vs.enabled
                and vs.name not in self.disabled
                and self.member_up[i]
                and dc.enabled
                and self.datacenter_up[vs.datacenter]
            )
        return tuple(out)
