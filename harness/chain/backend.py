"""The ChainBackend interface every chain (embedded, bitcoind) implements, and the values it passes.

Amounts are satoshis (`_sat`), fee rates satoshis per 1000 virtual bytes (`_sat_per_kvb`, bitcoind's unit
once BTC/kvB is multiplied by 1e8). Hashes and txids are hex strings in bitcoind's display (reversed) order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class OutPoint:
    txid: str
    vout: int

    def __str__(self) -> str:
        return f"{self.txid}:{self.vout}"


@dataclass(frozen=True)
class Utxo:
    """An unspent output; `height` is None while its transaction is only in the mempool."""

    outpoint: OutPoint
    value_sat: int
    script_pubkey: bytes
    height: int | None
    is_coinbase: bool
    confirmations: int


@dataclass(frozen=True)
class TxInfo:
    """A transaction known to the chain: confirmed (block_hash/block_height set) or in the mempool."""

    txid: str
    wtxid: str
    raw: bytes
    block_hash: str | None
    block_height: int | None
    confirmations: int

    @property
    def confirmed(self) -> bool:
        return self.block_height is not None


@dataclass(frozen=True)
class BlockEvent:
    """A block connected to or disconnected from the active chain, with its transactions (raw, in order)."""

    block_hash: str
    height: int
    txs: tuple[bytes, ...]
    txids: tuple[str, ...]


@dataclass(frozen=True)
class MempoolEvent:
    """A transaction accepted into the mempool."""

    txid: str
    raw: bytes


@dataclass(frozen=True)
class FeeEstimate:
    """A fee-rate estimate for confirmation within `blocks` blocks."""

    feerate_sat_per_kvb: int
    blocks: int

    @property
    def feerate_sat_per_vbyte(self) -> float:
        return self.feerate_sat_per_kvb / 1000


BlockCallback = Callable[[BlockEvent], None]
MempoolCallback = Callable[[MempoolEvent], None]


class Subscription(Protocol):
    def cancel(self) -> None: ...


@runtime_checkable
class ChainBackend(Protocol):
    """What the harness and nodes need from a regtest chain (see DESIGN.md, "Interfaces").

    `address` arguments take an address string (regtest: bcrt1..., m/n/2...) or raw scriptPubKey bytes.
    """

    def height(self) -> int: ...

    def tip(self) -> str: ...

    def mine(self, n: int, address: str | bytes | None = None) -> list[str]:
        """Mine n blocks paying the coinbase to address (the faucet when None); return their hashes."""
        ...

    def send_raw(self, tx: bytes | str) -> str:
        """Submit a raw transaction to the mempool; return its txid or raise TxRejected."""
        ...

    def get_tx(self, txid: str) -> TxInfo: ...

    def get_utxo(self, outpoint: OutPoint, include_mempool: bool = True) -> Utxo | None: ...

    def mempool(self) -> list[str]: ...

    def fund(self, address: str | bytes, amount_sat: int) -> OutPoint:
        """Pay amount_sat to address from the chain's faucet; the payment is left in the mempool."""
        ...

    def estimate_fee(self, target_blocks: int) -> FeeEstimate: ...

    def invalidate_block(self, block_hash: str) -> None:
        """bitcoind's invalidateblock: the tip goes back to the block's parent, its txs to the mempool."""
        ...

    def reorg(
        self, depth: int, new_blocks: int | None = None, address: str | bytes | None = None
    ) -> list[str]:
        """Replace the last `depth` blocks by `new_blocks` (default depth + 1) new ones."""
        ...

    def wait_for_height(self, height: int, timeout: float) -> None:
        """Return once the tip is at least `height`; raise ChainTimeout after `timeout` seconds."""
        ...

    async def wait_for_height_async(self, height: int, timeout: float) -> None: ...

    def subscribe_blocks(self, callback: BlockCallback) -> Subscription: ...

    def subscribe_disconnects(self, callback: BlockCallback) -> Subscription: ...

    def subscribe_mempool(self, callback: MempoolCallback) -> Subscription: ...

    def close(self) -> None: ...
