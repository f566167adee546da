"""The sync group: gslbd nodes sharing LDNS paths, probe requests and health over NATS.

    [sync]
    servers = ["nats://127.0.0.1:4222"]   # no [sync]: a standalone node (the default)
    node = "cnc-1"                        # unique in the group (default: the host name)

One noun per module: `bus` (the connection, made and remade in the
background), `feed` (a key-value bucket read in order and resumed where it
stopped), `paths` (each data center's paths, written by its own nodes),
`requests` (probe requests: an LDNS first seen anywhere is probed by every
node from its own data centers), `roster` (each node's report: who is in the
group, when last heard, its config), `views` (each node's view of member
health, and the rule that combines them) and `group` (the wiring gslbd
holds). Nothing here is on the query path: the hot path reads the same
frozen views as on a standalone node, and a node whose bus is down keeps
answering and probing from its own data centers.

Imported only when `[sync]` is set, so a standalone node needs no NATS.
"""
