"""Deterministic fee estimates: a fixed table from confirmation target to fee rate, never learned.

Regtest bitcoind usually has no estimate at all ("Insufficient data"), so Lightning nodes fall back to
implementation-specific defaults; a fixed table keeps every run identical and every node on the same rates.
"""

from __future__ import annotations

from dataclasses import dataclass

# estimatesmartfee's accepted conf_target range (policy/fees.h: MAX_BLOCK_CONFIRMS for the long horizon)
MIN_CONF_TARGET = 1
MAX_CONF_TARGET = 1008


@dataclass(frozen=True)
class FeeSchedule:
    """Rows of (max target in blocks, fee rate in sat/kvB), targets increasing; the last covers the rest."""

    rows: tuple[tuple[int, int], ...] = (
        (2, 25_000),
        (6, 10_000),
        (12, 5_000),
        (144, 2_000),
        (MAX_CONF_TARGET, 1_000),
    )

    def __post_init__(self) -> None:
        if not self.rows:
            raise ValueError("a fee schedule needs at least one row")
        targets = [t for t, _ in self.rows]
        if targets != sorted(targets) or len(set(targets)) != len(targets):
            raise ValueError(f"fee schedule targets must strictly increase: {targets}")
        if any(rate <= 0 for _, rate in self.rows):
            raise ValueError("fee rates must be positive")

    def feerate_sat_per_kvb(self, target_blocks: int) -> tuple[int, int]:
        """(fee rate, the target actually used), with the target clamped to 1..1008 as bitcoind does."""
        target = min(max(target_blocks, MIN_CONF_TARGET), MAX_CONF_TARGET)
        for max_target, rate in self.rows:
            if target <= max_target:
                return rate, target
        return self.rows[-1][1], target
