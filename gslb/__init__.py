"""gslb: an authoritative GSLB DNS server modelled on F5 3-DNS / BIG-IP DNS."""

from gslb import compiled

__version__ = "0.1.0"

# Before any other gslb module is imported: the query path's Python sources
# instead of its mypyc build when GSLB_PURE is set or the build is stale.
compiled.choose()
