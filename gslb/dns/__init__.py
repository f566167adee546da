"""The DNS side: wire format, the static zone, the responder, reply cache and rate limit."""
