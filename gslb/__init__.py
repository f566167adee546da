"""gslb: an authoritative GSLB DNS server modelled on F5 3-DNS / BIG-IP DNS."""

__version__ = "0.1.0"
