"""Scripthash index over the embedded chain: per-scripthash history, status, UTXOs, balance, fee histogram.

The Electrum protocol (1.4, "Script Hashes") names an output script by the SHA-256 of its bytes, printed
reversed. A scripthash's history is every transaction that pays to it or spends from it: confirmed ones in
block order (height, then position in the block), then mempool ones at height 0 (every input confirmed) or
-1 (some input spends a mempool transaction). Its status is sha256 of "txid:height:" for each, in order.

`sync()` brings the index to the chain (following reorgs block by block, then re-reading the mempool) and
says which scripthashes changed; the server calls it on every chain event and before every query, so a
reply is never older than the chain at the time it was asked.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field

from bitcoin.core import CTransaction

from harness.chain.backend import OutPoint
from harness.chain.embedded import EmbeddedChain
from harness.chain.errors import UnknownBlock, UnknownTransaction
from harness.chain.mempool import MempoolEntry, outpoints_spent

log = logging.getLogger(__name__)

# ElectrumX's histogram compaction: bins of at least this many vbytes, each 10% larger than the last.
FEE_HISTOGRAM_FIRST_BIN_VBYTES = 100_000
FEE_HISTOGRAM_BIN_GROWTH = 1.1


def script_hash(script_pubkey: bytes) -> str:
    """The protocol's scripthash: sha256(scriptPubKey), hex in reversed byte order."""
    return hashlib.sha256(script_pubkey).digest()[::-1].hex()


@dataclass(frozen=True)
class HistoryItem:
    txid: str
    height: int  # block height; 0: mempool with confirmed inputs; -1: mempool with a mempool parent
    fee_sat: int | None  # mempool transactions only (the protocol's `fee`)


@dataclass(frozen=True)
class UnspentOutput:
    outpoint: OutPoint
    height: int  # 0 while in the mempool
    value_sat: int


@dataclass(frozen=True)
class Balance:
    confirmed_sat: int
    unconfirmed_sat: int  # net effect of mempool transactions (may be negative)


@dataclass(frozen=True)
class FeeHistogramBin:
    feerate_sat_per_vbyte: float
    vsize_vbytes: int


@dataclass(frozen=True)
class _Output:
    script_hash: str
    value_sat: int


@dataclass(frozen=True)
class _Confirmed:
    height: int
    position: int
    txid: str


@dataclass(frozen=True)
class _MempoolTx:
    txid: str
    fee_sat: int
    vsize: int
    spends: tuple[OutPoint, ...]
    touched: frozenset[str]


@dataclass(frozen=True)
class SyncResult:
    tip_changed: bool
    changed: frozenset[str] = field(default_factory=frozenset)


def history_status(items: list[HistoryItem]) -> str | None:
    """Protocol 1.4 "Status": None for an empty history."""
    if not items:
        return None
    text = "".join(f"{item.txid}:{item.height}:" for item in items)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


class ScripthashIndex:
    """Not thread-safe: the server uses it from its event loop only."""

    def __init__(self, chain: EmbeddedChain) -> None:
        self.chain = chain
        self._outputs: dict[str, tuple[_Output, ...]] = {}
        self._confirmed: dict[str, list[_Confirmed]] = {}
        self._active: list[str] = []  # block hashes (display order) by height
        self._touched_by_block: list[frozenset[str]] = []
        self._mempool: dict[str, _MempoolTx] = {}
        self._mempool_parent: dict[str, bool] = {}

    @property
    def height(self) -> int:
        return len(self._active) - 1

    @property
    def tip_hash(self) -> str:
        return self._active[-1]

    def block_hash_at(self, height: int) -> str:
        """The indexed active chain's block at `height` (what replies are consistent with)."""
        return self._active[height]

    # ----- following the chain
    def sync(self) -> SyncResult:
        changed: set[str] = set()
        tip_before = self._active[-1] if self._active else None
        while True:
            try:
                self._follow_blocks(changed)
                break
            except UnknownBlock:
                continue  # the chain reorganized under us between two reads: walk again
        self._follow_mempool(changed)
        return SyncResult(self._active[-1] != tip_before, frozenset(changed))

    def _follow_blocks(self, changed: set[str]) -> None:
        chain_height = self.chain.height()
        while self._active and (
            self.height > chain_height or self.chain.block_hash(self.height) != self._active[-1]
        ):
            changed |= self._disconnect_tip()
        for height in range(len(self._active), chain_height + 1):
            changed |= self._connect(height, self.chain.block_hash(height))

    def _connect(self, height: int, block_hash: str) -> frozenset[str]:
        block = self.chain.block(block_hash)
        touched: set[str] = set()
        if height > 0:  # the genesis coinbase is in no UTXO set and no index (as in Bitcoin Core)
            for position, (tx, txid) in enumerate(zip(block.txs, block.txids, strict=True)):
                hashes = self._register(tx, txid, coinbase=position == 0)
                for sh in hashes:
                    self._confirmed.setdefault(sh, []).append(_Confirmed(height, position, txid))
                touched |= hashes
        self._active.append(block_hash)
        self._touched_by_block.append(frozenset(touched))
        return frozenset(touched)

    def _disconnect_tip(self) -> frozenset[str]:
        height = self.height
        touched = self._touched_by_block.pop()
        self._active.pop()
        for sh in touched:
            remaining = [item for item in self._confirmed.get(sh, []) if item.height != height]
            if remaining:
                self._confirmed[sh] = remaining
            else:
                self._confirmed.pop(sh, None)
        return touched

    def _register(self, tx: CTransaction, txid: str, coinbase: bool) -> set[str]:
        """Remember the outputs of tx; return every scripthash it pays or spends."""
        outputs = tuple(_Output(script_hash(bytes(out.scriptPubKey)), out.nValue) for out in tx.vout)
        self._outputs[txid] = outputs
        touched = {o.script_hash for o in outputs}
        if not coinbase:
            touched |= {self._output(outpoint).script_hash for outpoint in outpoints_spent(tx)}
        return touched

    def _output(self, outpoint: OutPoint) -> _Output:
        outputs = self._outputs.get(outpoint.txid)
        if outputs is None:
            # Not seen yet (a mempool parent read in the same pass): read it from the chain.
            tx = CTransaction.deserialize(self.chain.get_tx(outpoint.txid).raw)
            outputs = tuple(_Output(script_hash(bytes(out.scriptPubKey)), out.nValue) for out in tx.vout)
            self._outputs[outpoint.txid] = outputs
        return outputs[outpoint.vout]

    def _follow_mempool(self, changed: set[str]) -> None:
        current = set(self.chain.mempool())
        for txid in set(self._mempool) - current:
            changed |= self._mempool.pop(txid).touched
            self._mempool_parent.pop(txid, None)
        for txid in sorted(current - set(self._mempool)):
            try:
                entry = self.chain.mempool_entry(txid)
            except UnknownTransaction:
                continue  # mined or replaced since mempool() was read; the next sync sees the block
            self._mempool[txid] = self._mempool_tx(entry)
            changed |= self._mempool[txid].touched
        for txid, mtx in self._mempool.items():
            # A parent confirming moves a child from height -1 to 0: its status changes.
            has_parent = any(o.txid in self._mempool for o in mtx.spends)
            if self._mempool_parent.get(txid) != has_parent:
                self._mempool_parent[txid] = has_parent
                changed |= mtx.touched

    def _mempool_tx(self, entry: MempoolEntry) -> _MempoolTx:
        touched = self._register(entry.tx, entry.txid, coinbase=False)
        return _MempoolTx(entry.txid, entry.fee_sat, entry.vsize, entry.spends, frozenset(touched))

    # ----- queries (call sync() first)
    def history(self, sh: str) -> list[HistoryItem]:
        confirmed = sorted(self._confirmed.get(sh, []), key=lambda c: (c.height, c.position))
        items = [HistoryItem(c.txid, c.height, None) for c in confirmed]
        pending = [
            HistoryItem(m.txid, -1 if self._mempool_parent.get(m.txid) else 0, m.fee_sat)
            for m in self._mempool.values()
            if sh in m.touched
        ]
        # Mempool order is not fixed by protocol 1.4; ElectrumX lists height 0 before -1, then by txid.
        items += sorted(pending, key=lambda item: (-item.height, item.txid))
        return items

    def status(self, sh: str) -> str | None:
        return history_status(self.history(sh))

    def _paid_to(self, sh: str, txids: list[str]) -> list[tuple[OutPoint, int]]:
        found: list[tuple[OutPoint, int]] = []
        for txid in txids:
            for vout, out in enumerate(self._outputs[txid]):
                if out.script_hash == sh:
                    found.append((OutPoint(txid, vout), out.value_sat))
        return found

    def unspent(self, sh: str) -> list[UnspentOutput]:
        """Outputs to sh spent neither in a block nor in the mempool (ElectrumX's listunspent)."""
        result: list[UnspentOutput] = []
        for outpoint, value_sat in self._paid_to(sh, [item.txid for item in self.history(sh)]):
            utxo = self.chain.get_utxo(outpoint, include_mempool=True)
            if utxo is not None:
                result.append(UnspentOutput(outpoint, utxo.height or 0, value_sat))
        return result

    def balance(self, sh: str) -> Balance:
        confirmed_txids = [c.txid for c in self._confirmed.get(sh, [])]
        confirmed_sat = sum(
            value_sat
            for outpoint, value_sat in self._paid_to(sh, confirmed_txids)
            if self.chain.get_utxo(outpoint, include_mempool=False) is not None
        )
        unconfirmed_sat = 0
        for mtx in self._mempool.values():
            if sh not in mtx.touched:
                continue
            unconfirmed_sat += sum(o.value_sat for o in self._outputs[mtx.txid] if o.script_hash == sh)
            spent = (self._output(outpoint) for outpoint in mtx.spends)
            unconfirmed_sat -= sum(o.value_sat for o in spent if o.script_hash == sh)
        return Balance(confirmed_sat, unconfirmed_sat)

    def mempool_txids_touching(self, sh: str) -> list[str]:
        return [m.txid for m in self._mempool.values() if sh in m.touched]

    def fee_histogram(self) -> list[FeeHistogramBin]:
        """mempool.get_fee_histogram: (fee rate, vsize) bins, fee rates strictly decreasing."""
        by_rate: dict[float, int] = {}
        for mtx in self._mempool.values():
            rate = mtx.fee_sat / mtx.vsize
            by_rate[rate] = by_rate.get(rate, 0) + mtx.vsize
        bins: list[FeeHistogramBin] = []
        bin_vbytes = float(FEE_HISTOGRAM_FIRST_BIN_VBYTES)
        accumulated = 0
        rates = sorted(by_rate, reverse=True)
        for position, rate in enumerate(rates):
            accumulated += by_rate[rate]
            if accumulated >= bin_vbytes or position == len(rates) - 1:
                bins.append(FeeHistogramBin(rate, accumulated))
                accumulated = 0
                bin_vbytes *= FEE_HISTOGRAM_BIN_GROWTH
        return bins
