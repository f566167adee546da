"""Transports (UDP, TCP) and the process wiring of gslbd."""
