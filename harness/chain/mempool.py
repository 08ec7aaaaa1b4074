"""The mempool as a container: entries, who spends what, parents and children, block-template order.

Acceptance rules live in policy.py and embedded.py; this module only keeps the graph consistent.
"""

from __future__ import annotations

from dataclasses import dataclass

from bitcoin.core import CTransaction, CTxOut, b2lx

from harness.chain.backend import OutPoint


@dataclass(frozen=True)
class MempoolEntry:
    txid: str
    wtxid: str
    tx: CTransaction
    raw: bytes
    fee_sat: int
    vsize: int
    weight: int
    time: int  # UNIX seconds when it entered
    height: int  # chain height when it entered
    spends: tuple[OutPoint, ...]

    @property
    def feerate_sat_per_kvb(self) -> int:
        return self.fee_sat * 1000 // self.vsize

    @property
    def signals_rbf(self) -> bool:
        # BIP 125: any input with nSequence below 0xfffffffe signals replaceability.
        return any(txin.nSequence < 0xFFFFFFFE for txin in self.tx.vin)


def outpoints_spent(tx: CTransaction) -> tuple[OutPoint, ...]:
    return tuple(OutPoint(b2lx(txin.prevout.hash), txin.prevout.n) for txin in tx.vin)


class Mempool:
    def __init__(self) -> None:
        self._entries: dict[str, MempoolEntry] = {}
        self._spent_by: dict[OutPoint, str] = {}

    def __contains__(self, txid: str) -> bool:
        return txid in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, txid: str) -> MempoolEntry | None:
        return self._entries.get(txid)

    def txids(self) -> list[str]:
        return list(self._entries)

    def entries(self) -> list[MempoolEntry]:
        return list(self._entries.values())

    def spender_of(self, outpoint: OutPoint) -> str | None:
        return self._spent_by.get(outpoint)

    def output(self, outpoint: OutPoint) -> CTxOut | None:
        entry = self._entries.get(outpoint.txid)
        if entry is None or outpoint.vout >= len(entry.tx.vout):
            return None
        out: CTxOut = entry.tx.vout[outpoint.vout]
        return out

    def add(self, entry: MempoolEntry) -> None:
        for outpoint in entry.spends:
            if outpoint in self._spent_by:
                raise ValueError(f"{outpoint} already spent in the mempool by {self._spent_by[outpoint]}")
        self._entries[entry.txid] = entry
        for outpoint in entry.spends:
            self._spent_by[outpoint] = entry.txid

    def parents(self, txid: str) -> set[str]:
        entry = self._entries[txid]
        return {o.txid for o in entry.spends if o.txid in self._entries}

    def children(self, txid: str) -> set[str]:
        entry = self._entries[txid]
        found: set[str] = set()
        for vout in range(len(entry.tx.vout)):
            spender = self._spent_by.get(OutPoint(txid, vout))
            if spender is not None:
                found.add(spender)
        return found

    def descendants(self, txid: str) -> set[str]:
        """txid and everything that spends it, directly or not."""
        found = {txid}
        stack = [txid]
        while stack:
            for child in self.children(stack.pop()):
                if child not in found:
                    found.add(child)
                    stack.append(child)
        return found

    def ancestors(self, txid: str) -> set[str]:
        """Every in-mempool transaction txid depends on (not txid itself)."""
        found: set[str] = set()
        stack = [txid]
        while stack:
            for parent in self.parents(stack.pop()):
                if parent not in found:
                    found.add(parent)
                    stack.append(parent)
        return found

    def remove_with_descendants(self, txid: str) -> list[MempoolEntry]:
        if txid not in self._entries:
            return []
        return [self._remove_one(t) for t in self.descendants(txid)]

    def remove_mined(self, tx: CTransaction, txid: str) -> list[MempoolEntry]:
        """Drop a tx a block confirmed and every mempool tx conflicting with it (with descendants)."""
        removed: list[MempoolEntry] = []
        if txid in self._entries:
            removed.append(self._remove_one(txid))
        for outpoint in outpoints_spent(tx):
            spender = self._spent_by.get(outpoint)
            if spender is not None:
                removed.extend(self.remove_with_descendants(spender))
        return removed

    def _remove_one(self, txid: str) -> MempoolEntry:
        entry = self._entries.pop(txid)
        for outpoint in entry.spends:
            if self._spent_by.get(outpoint) == txid:
                del self._spent_by[outpoint]
        return entry

    def topological(self) -> list[MempoolEntry]:
        """Every entry, parents before children (arrival order otherwise)."""
        placed: set[str] = set()
        ordered: list[MempoolEntry] = []

        def place(txid: str) -> None:
            # Iterative DFS over parents keeps deep chains off the Python stack.
            stack: list[tuple[str, bool]] = [(txid, False)]
            while stack:
                current, expanded = stack.pop()
                if current in placed:
                    continue
                if expanded:
                    placed.add(current)
                    ordered.append(self._entries[current])
                    continue
                stack.append((current, True))
                stack.extend((p, False) for p in self.parents(current) if p not in placed)

        for txid in self._entries:
            place(txid)
        return ordered

    def clear(self) -> list[MempoolEntry]:
        entries = self.topological()
        self._entries.clear()
        self._spent_by.clear()
        return entries
