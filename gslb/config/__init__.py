"""Configuration: etc/ files -> one immutable, compiled `gslb.model.Config`.

`load(directory)` is the only entry point; `gslbctl check` and server
start-up both call it. It raises `gslb.errors.ConfigError` carrying every
problem found.
"""

from gslb.config.loader import control_socket, load

__all__ = ["control_socket", "load"]
