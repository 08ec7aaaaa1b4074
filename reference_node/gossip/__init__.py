"""BOLT 7 gossip: announcements, the graph, gossip queries; and pathfinding over the graph.

Pure (no sockets, no clocks): timestamps, "now", block heights and the chain lookup are parameters.
See the module docstrings for the public API.
"""
