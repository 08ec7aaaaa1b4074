"""One chain source shared by every node of an in-process network on `--chain bitcoind` (no steps here).

Each reference node long-polls its chain source for the next block. Twenty-one nodes doing that over RPC
would hold twenty-one `waitforblockheight` calls open at once and burst forty-odd connections at every new
block: more than bitcoind serves (`-rpcthreads` 4, `-rpcworkqueue` 16 by default: HTTP 503 beyond) and
more than `boltcheck chain`'s listen backlog takes (connections reset). So the network's nodes share this
source: one long poll (the BitcoindChain's own block watcher) wakes them all, at most
`RPC_CALLS_AT_ONCE` calls are in flight, and a block is fetched once (`getblock HASH 0`) for all of them.
"""

from __future__ import annotations

import threading

from harness.chain.backend import BlockEvent, Subscription
from harness.chain.bitcoind import BitcoindChain
from harness.chain.errors import ChainError
from harness.drivers.bitcoind_source import BitcoindBackendSource
from reference_node.chain_source import ChainBlock, ChainSourceError, parse_block

RPC_CALLS_AT_ONCE = 4  # bitcoind's default -rpcthreads
_CACHED_BLOCKS = 256


class SharedBitcoindSource:
    """A `ChainSource` (reference_node/chain_source.py) over a BitcoindChain for many nodes at once.
    `detach` (when the network stops) cancels its block subscriptions; `close` is the nodes' call and
    leaves the source to the network."""

    def __init__(self, chain: BitcoindChain, calls_at_once: int = RPC_CALLS_AT_ONCE) -> None:
        self.chain = chain
        self._inner = BitcoindBackendSource(chain)
        self._calls = threading.BoundedSemaphore(calls_at_once)
        self._tip = threading.Condition()
        self._tip_height = -1
        self._fetch = threading.Lock()
        self._blocks: dict[str, ChainBlock] = {}  # by block hash, oldest first
        # subscribe first: the watcher reports every block after its own first look at the tip, and the
        # height read below is at least that tip, so no block falls between the two
        self._subscriptions: list[Subscription] = [
            chain.subscribe_blocks(self._connected),
            chain.subscribe_disconnects(self._disconnected),
        ]
        height = self.height()
        with self._tip:
            self._tip_height = max(self._tip_height, height)

    def _connected(self, event: BlockEvent) -> None:
        with self._tip:
            self._tip_height = event.height
            self._tip.notify_all()

    def _disconnected(self, event: BlockEvent) -> None:
        with self._tip:
            self._tip_height = event.height - 1
            self._tip.notify_all()

    def height(self) -> int:
        with self._calls:
            return self._inner.height()

    def block_hash(self, height: int) -> str:
        with self._calls:
            return self._inner.block_hash(height)

    def block_at(self, height: int) -> ChainBlock:
        block_hash = self.block_hash(height)
        with self._fetch:
            cached = self._blocks.get(block_hash)
            if cached is not None and cached.height == height:
                return cached
            try:
                with self._calls:
                    raw = bytes.fromhex(str(self.chain.client.call("getblock", block_hash, 0)))
            except ChainError as exc:
                raise ChainSourceError(f"getblock {block_hash}: {exc}") from exc
            block = parse_block(raw, height)
            self._blocks[block.block_hash] = block
            while len(self._blocks) > _CACHED_BLOCKS:
                del self._blocks[next(iter(self._blocks))]
            return block

    def send_raw(self, raw: bytes) -> str:
        with self._calls:
            return self._inner.send_raw(raw)

    def feerate_per_kw(self, target_blocks: int) -> int:
        with self._calls:
            return self._inner.feerate_per_kw(target_blocks)

    def wait_for_block(self, known_height: int, timeout_s: float) -> int:
        """The height once a block above `known_height` is connected, or the height after `timeout_s`
        (the ChainSource contract), woken by the shared watcher instead of a long poll per node."""
        with self._tip:
            self._tip.wait_for(lambda: self._tip_height > known_height, timeout_s)
        return self.height()

    def close(self) -> None:
        """Each node closes its source when it stops; the network detaches this one once, at the end."""

    def detach(self) -> None:
        for subscription in self._subscriptions:
            subscription.cancel()
        self._subscriptions.clear()
