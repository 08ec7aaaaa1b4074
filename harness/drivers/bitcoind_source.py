"""The reference node (in-process) on a bitcoind: the harness's `BitcoindChain` seen through the node's
`ChainSource` protocol (reference_node/chain_source.py), for `--chain bitcoind`.

Everything goes over the bitcoind RPC the BitcoindChain already holds (a real bitcoind, or `boltcheck chain`
serving the same methods): blocks as raw bytes (`getblock HASH 0`, what Core Lightning reads too), fee
estimates through BitcoindChain (its fixed schedule when bitcoind has none, so runs stay deterministic),
new blocks by `waitforblockheight` long polls. Errors become the node's own ChainSourceError types.
"""

from __future__ import annotations

from harness.chain.bitcoind import BitcoindChain
from harness.chain.errors import ChainError, ChainTimeout, TxRejected
from reference_node.chain_source import (
    FEERATE_FLOOR_PER_KW,
    ChainBlock,
    ChainSourceError,
    TxBroadcastRejected,
    parse_block,
)


class BitcoindBackendSource:
    """A `ChainSource` over a BitcoindChain (the chain belongs to the harness, which closes it)."""

    def __init__(self, chain: BitcoindChain) -> None:
        self.chain = chain

    def height(self) -> int:
        try:
            return self.chain.height()
        except ChainError as exc:
            raise ChainSourceError(f"getblockcount: {exc}") from exc

    def block_hash(self, height: int) -> str:
        try:
            return str(self.chain.client.call("getblockhash", height))
        except ChainError as exc:
            raise ChainSourceError(f"getblockhash {height}: {exc}") from exc

    def block_at(self, height: int) -> ChainBlock:
        block_hash = self.block_hash(height)
        try:
            raw = bytes.fromhex(str(self.chain.client.call("getblock", block_hash, 0)))
        except ChainError as exc:
            raise ChainSourceError(f"getblock {block_hash}: {exc}") from exc
        # the hash is recomputed from the header: a reorg between the two calls cannot mislabel the block
        return parse_block(raw, height)

    def send_raw(self, raw: bytes) -> str:
        try:
            return self.chain.send_raw(raw)
        except TxRejected as exc:
            raise TxBroadcastRejected(str(exc)) from exc
        except ChainError as exc:
            raise ChainSourceError(f"sendrawtransaction: {exc}") from exc

    def feerate_per_kw(self, target_blocks: int) -> int:
        try:
            sat_per_kvb = self.chain.estimate_fee(target_blocks).feerate_sat_per_kvb
        except ChainError as exc:
            raise ChainSourceError(f"estimatesmartfee {target_blocks}: {exc}") from exc
        return max(FEERATE_FLOOR_PER_KW, sat_per_kvb // 4)  # 1 vbyte = 4 weight units

    def wait_for_block(self, known_height: int, timeout_s: float) -> int:
        try:
            self.chain.wait_for_height(known_height + 1, timeout_s)
        except ChainTimeout:
            pass  # the protocol answers the current height after the timeout
        except ChainError as exc:
            raise ChainSourceError(f"waitforblockheight {known_height + 1}: {exc}") from exc
        return self.height()

    def close(self) -> None:
        """The chain belongs to the harness; it closes it."""
