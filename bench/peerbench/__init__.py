"""The peer benchmark: gslbd beside gdnsd, PowerDNS and Knot under dnsperf.

`bench/peers.py` is the entry point; the modules here are its parts:
`install` (Debian packages, their daemons kept stopped), `servers` (one
launcher per server, configs rendered into a temp dir), `procstat` (CPU time
from /proc), `dnsperf` (runs and parses the load generator) and `report`
(the table and the JSON).
"""
