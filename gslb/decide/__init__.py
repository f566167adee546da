"""The decision: pool and member choice, compiled plans, persistence, topology."""
