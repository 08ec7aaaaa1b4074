"""boltcheck's reference Lightning node: spec-exact BOLT 1-11, and a scriptable adversary.

Nothing in this package imports `harness`.
"""
