"""Payments over channels: the channel layer (channels.py: runs each BOLT 2 channel against its peer, the
store, the wallet and the chain), invoices and direct payments (service.py), and the BOLT 4 final-node
rules (final_node.py)."""
