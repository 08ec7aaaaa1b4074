"""Subcommands of `boltcheck`, one module each (see harness/cli.py)."""
