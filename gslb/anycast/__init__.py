"""The anycast gate: a process beside gslbd that announces the node's service
prefixes through the routing daemon only while gslbd answers on them
(`gslb-anycast --config DIR`, gslb/anycast/runner.py; DESIGN §8)."""
