"""EmbeddedChain: a regtest chain in-process, every block validated by Bitcoin Core's kernel.

One re-entrant lock guards all state, so the RPC server's threads and in-process users can share a chain.
Subscribers are called after the lock is released. See DESIGN.md, "The embedded chain".
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from bitcoin.core import CTransaction, b2lx

from harness.chain.acceptance import AcceptancePlan, AcceptanceRules, TestAcceptResult, decode_tx, evaluate
from harness.chain.address import script_for
from harness.chain.backend import (
    BlockCallback,
    BlockEvent,
    FeeEstimate,
    MempoolCallback,
    MempoolEvent,
    OutPoint,
    Subscription,
    TxInfo,
    Utxo,
)
from harness.chain.blocks import COINBASE_RESERVED_WEIGHT, MAX_BLOCK_WEIGHT, build_block
from harness.chain.errors import (
    RPC_VERIFY_ERROR,
    BlockRejected,
    ChainTimeout,
    IndexInconsistent,
    InsufficientFunds,
    MempoolConsensusMismatch,
    TxRejected,
    UnknownBlock,
    UnknownTransaction,
)
from harness.chain.faucet import FaucetKey
from harness.chain.fees import FeeSchedule
from harness.chain.kernel import KernelChain
from harness.chain.mempool import Mempool, MempoolEntry
from harness.chain.notify import Accepted, Connected, Disconnected, HeightWaiters, Notification, Notifier
from harness.chain.policy import COINBASE_MATURITY, Coin, NextBlock, PolicyViolation, dust_threshold_sat
from harness.chain.store import ChainIndex, ChainTip, StoredBlock, TxLocation, internal_hash, stored_block

log = logging.getLogger(__name__)

FAUCET_FEERATE_SAT_PER_KVB = 2000


class EmbeddedChain:
    def __init__(
        self,
        data_dir: Path | None = None,
        *,
        seed: bytes = b"",
        rules: AcceptanceRules | None = None,
        fee_schedule: FeeSchedule | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._owns_dir = data_dir is None
        self.data_dir = Path(tempfile.mkdtemp(prefix="boltcheck-chain-")) if data_dir is None else data_dir
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # The chain lives in memory for one process; a previous run's kernel state would not match it.
        for stale in self.data_dir.glob("kernel-*"):
            shutil.rmtree(stale)
        self.rules = rules or AcceptanceRules()
        self.fee_schedule = fee_schedule or FeeSchedule()
        self._clock = clock
        self._clock_offset_s = 0
        self._lock = threading.RLock()
        self._tip_changed = threading.Condition(self._lock)
        self._generation = itertools.count()
        self._extra_nonce = itertools.count()
        self._kernel = KernelChain(self._kernel_dir())
        self._index = ChainIndex()
        self._mempool = Mempool()
        self._invalid: set[bytes] = set()
        self._pending: list[Notification] = []
        self._depth = 0
        self._notifier = Notifier()
        self._async_waiters = HeightWaiters()
        self.faucet = FaucetKey(seed)
        self.dropped_on_reorg: list[tuple[str, str]] = []  # (txid, reason) of txs a reorg could not re-admit
        self.started_at = time.time()
        self._closed = False
        genesis = stored_block(self._kernel.block_bytes_at(0), 0)
        self._index.blocks[genesis.hash] = genesis
        self._index.connect(genesis)

    def _kernel_dir(self) -> Path:
        return self.data_dir / f"kernel-{next(self._generation)}"

    # ----- notifications and locking
    @contextmanager
    def _mutating(self) -> Iterator[None]:
        pending: list[Notification] = []
        with self._lock:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0:
                    pending, self._pending = self._pending, []
        # Only the outermost call dispatches, and only once the lock is released.
        self._notifier.dispatch(pending)

    def subscribe_blocks(self, callback: BlockCallback) -> Subscription:
        return self._notifier.blocks.add(callback)

    def subscribe_disconnects(self, callback: BlockCallback) -> Subscription:
        return self._notifier.disconnects.add(callback)

    def subscribe_mempool(self, callback: MempoolCallback) -> Subscription:
        return self._notifier.mempool.add(callback)

    # ----- queries
    def height(self) -> int:
        with self._lock:
            return self._index.height

    def tip(self) -> str:
        with self._lock:
            return self._index.tip().hash_hex

    def block_hash(self, height: int) -> str:
        with self._lock:
            if not 0 <= height <= self._index.height:
                raise UnknownBlock(f"Block height out of range: {height}")
            return self._index.at(height).hash_hex

    def block(self, block_hash: str) -> StoredBlock:
        with self._lock:
            stored = self._index.blocks.get(internal_hash(block_hash))
            if stored is None:
                raise UnknownBlock(f"Block not found: {block_hash}")
            return stored

    def block_confirmations(self, block_hash: str) -> int:
        """bitcoind's `confirmations` of a block: -1 when it is not on the active chain."""
        with self._lock:
            stored = self.block(block_hash)
            if not self._index.is_active(stored.hash):
                return -1
            return self._index.height - stored.height + 1

    def next_block_hash(self, block_hash: str) -> str | None:
        with self._lock:
            stored = self.block(block_hash)
            if self._index.is_active(stored.hash) and stored.height < self._index.height:
                return self._index.at(stored.height + 1).hash_hex
            return None

    def median_time_past(self, height: int | None = None) -> int:
        with self._lock:
            return self._index.median_time_past(self._index.height if height is None else height)

    def chain_tips(self) -> list[ChainTip]:
        with self._lock:
            return self._index.chain_tips(self._invalid)

    def is_invalidated(self, block_hash: str) -> bool:
        with self._lock:
            return internal_hash(block_hash) in self._invalid

    def get_tx(self, txid: str) -> TxInfo:
        with self._lock:
            entry = self._mempool.get(txid)
            if entry is not None:
                return TxInfo(entry.txid, entry.wtxid, entry.raw, None, None, 0)
            location = self._index.txindex.get(txid)
            if location is None:
                raise UnknownTransaction(f"No such mempool or blockchain transaction: {txid}")
            tx = self._index.blocks[location.block_hash].txs[location.position]
            return TxInfo(
                txid,
                b2lx(tx.GetHash()),
                tx.serialize(),
                location.block_hash[::-1].hex(),
                location.height,
                self._index.height - location.height + 1,
            )

    def tx_location(self, txid: str) -> TxLocation | None:
        with self._lock:
            return self._index.txindex.get(txid)

    def get_utxo(self, outpoint: OutPoint, include_mempool: bool = True) -> Utxo | None:
        with self._lock:
            if include_mempool and self._mempool.spender_of(outpoint) is not None:
                return None
            coin = self._index.utxos.get(outpoint)
            if coin is not None:
                confirmations = self._index.height - coin.height + 1
                return Utxo(
                    outpoint, coin.value_sat, coin.script_pubkey, coin.height, coin.is_coinbase, confirmations
                )
            if include_mempool:
                out = self._mempool.output(outpoint)
                if out is not None:
                    return Utxo(outpoint, out.nValue, bytes(out.scriptPubKey), None, False, 0)
            return None

    def mempool(self) -> list[str]:
        with self._lock:
            return self._mempool.txids()

    def mempool_entry(self, txid: str) -> MempoolEntry:
        with self._lock:
            entry = self._mempool.get(txid)
            if entry is None:
                raise UnknownTransaction("Transaction not in mempool")
            return entry

    def mempool_relatives(self, txid: str) -> tuple[set[str], set[str]]:
        """(ancestors, descendants) of a mempool transaction, neither including itself."""
        with self._lock:
            if txid not in self._mempool:
                raise UnknownTransaction("Transaction not in mempool")
            return self._mempool.ancestors(txid), self._mempool.descendants(txid) - {txid}

    def estimate_fee(self, target_blocks: int) -> FeeEstimate:
        rate, target = self.fee_schedule.feerate_sat_per_kvb(target_blocks)
        return FeeEstimate(max(rate, self.rules.min_relay_fee_sat_per_kvb), target)

    # ----- waiting
    def wait_for_height(self, height: int, timeout: float) -> None:
        with self._tip_changed:
            if not self._tip_changed.wait_for(lambda: self._index.height >= height, timeout):
                raise ChainTimeout(f"height {height} not reached in {timeout}s (tip {self._index.height})")

    async def wait_for_height_async(self, height: int, timeout: float) -> None:
        with self._lock:
            if self._index.height >= height:
                return
            waiter = self._async_waiters.add(height)
        try:
            await asyncio.wait_for(asyncio.shield(waiter.future), timeout)
        except TimeoutError as exc:
            raise ChainTimeout(f"height {height} not reached in {timeout}s (tip {self.height()})") from exc
        finally:
            self._async_waiters.discard(waiter)

    # ----- time
    def advance_clock(self, seconds: int) -> None:
        """Move new block timestamps forward (the kernel refuses > 2 hours past real time)."""
        with self._lock:
            self._clock_offset_s += seconds

    def _next_block_time(self) -> int:
        return max(
            self._index.median_time_past(self._index.height) + 1, int(self._clock()) + self._clock_offset_s
        )

    def _next_block(self) -> NextBlock:
        height = self._index.height
        return NextBlock(height + 1, self._index.median_time_past(height), self._index.median_time_past)

    # ----- mempool
    def send_raw(self, tx: bytes | str, max_feerate_sat_per_kvb: int | None = None) -> str:
        """Submit to the mempool; with max_feerate_sat_per_kvb, refuse a fee rate above it (bitcoind's
        sendrawtransaction maxfeerate), reason "max-fee-exceeded"."""
        raw = bytes.fromhex(tx) if isinstance(tx, str) else bytes(tx)
        with self._mutating():
            parsed = decode_tx(raw)
            txid = b2lx(parsed.GetTxid())
            if txid in self._mempool:
                return txid  # bitcoind answers a resubmission with the txid
            self._accept(raw, parsed, max_feerate_sat_per_kvb)
            return txid

    def test_accept(self, tx: bytes | str) -> TestAcceptResult:
        result = self.test_accept_package([tx])[0]
        if result is None:
            raise AssertionError("the first transaction of a package is always evaluated")
        return result

    def test_accept_package(self, txs: list[bytes | str]) -> list[TestAcceptResult | None]:
        """testmempoolaccept: evaluate txs in order, each seeing the ones before it as if accepted.

        After the first rejection the rest are not evaluated (None), as bitcoind leaves them "not fully
        validated". Nothing changes in the real mempool.
        """
        raws = [bytes.fromhex(t) if isinstance(t, str) else bytes(t) for t in txs]
        with self._lock:
            scratch = Mempool()
            for entry in self._mempool.topological():
                scratch.add(entry)
            results: list[TestAcceptResult | None] = []
            for raw in raws:
                if results and (results[-1] is None or not results[-1].allowed):
                    results.append(None)
                    continue
                parsed = decode_tx(raw)
                txid, wtxid = b2lx(parsed.GetTxid()), b2lx(parsed.GetHash())
                try:
                    plan = self._evaluate(raw, parsed, scratch)
                except PolicyViolation as exc:
                    results.append(TestAcceptResult(txid, wtxid, False, exc.reason, None, None))
                    continue
                for old in plan.replaced:
                    scratch.remove_with_descendants(old.txid)
                scratch.add(plan.entry)
                results.append(
                    TestAcceptResult(txid, wtxid, True, None, plan.entry.fee_sat, plan.entry.vsize)
                )
            return results

    def _evaluate(self, raw: bytes, tx: CTransaction, mempool: Mempool | None = None) -> AcceptancePlan:
        pool = self._mempool if mempool is None else mempool
        return evaluate(
            raw,
            tx,
            lambda outpoint: self._coin_for_mempool(outpoint, pool),
            lambda o: o in self._index.utxos,
            self._next_block(),
            pool,
            self.rules,
            int(self._clock()),
        )

    def _coin_for_mempool(self, outpoint: OutPoint, mempool: Mempool) -> Coin | None:
        coin = self._index.utxos.get(outpoint)
        if coin is not None:
            return coin
        out = mempool.output(outpoint)
        if out is None:
            return None
        # A mempool parent counts as confirmed in the next block (Core's MEMPOOL_HEIGHT for BIP 68).
        return Coin(out.nValue, bytes(out.scriptPubKey), self._index.height + 1, False)

    def _accept(
        self, raw: bytes, tx: CTransaction, max_feerate_sat_per_kvb: int | None = None
    ) -> MempoolEntry:
        try:
            plan = self._evaluate(raw, tx)
        except PolicyViolation as exc:
            raise TxRejected(b2lx(tx.GetTxid()), exc.reason, exc.rpc_code) from exc
        if max_feerate_sat_per_kvb and plan.entry.fee_sat * 1000 > max_feerate_sat_per_kvb * plan.entry.vsize:
            raise TxRejected(plan.entry.txid, "max-fee-exceeded", RPC_VERIFY_ERROR)
        for old in plan.replaced:
            self._mempool.remove_with_descendants(old.txid)
        self._mempool.add(plan.entry)
        self._pending.append(Accepted(MempoolEvent(plan.entry.txid, raw)))
        return plan.entry

    # ----- mining
    def mine(self, n: int, address: str | bytes | None = None) -> list[str]:
        script = self.faucet.script_pubkey if address is None else script_for(address)
        with self._mutating():
            return [self._mine_from_mempool(script) for _ in range(n)]

    def generate_block(self, address: str | bytes, txs: list[bytes | str]) -> str:
        """Mine one block with exactly these transactions (raw bytes/hex, or txids of mempool entries)."""
        script = script_for(address)
        with self._mutating():
            chosen: list[CTransaction] = []
            for item in txs:
                if isinstance(item, str) and len(item) == 64 and item in self._mempool:
                    chosen.append(self.mempool_entry(item).tx)
                else:
                    chosen.append(decode_tx(bytes.fromhex(item) if isinstance(item, str) else item))
            fees_sat = self._fees_in_block(chosen)
            return self._connect_new_block(script, chosen, fees_sat, from_mempool=False)

    def _fees_in_block(self, txs: list[CTransaction]) -> int:
        created: dict[OutPoint, int] = {}
        fees_sat = 0
        for tx in txs:
            txid = b2lx(tx.GetTxid())
            value_in_sat = 0
            for txin in tx.vin:
                outpoint = OutPoint(b2lx(txin.prevout.hash), txin.prevout.n)
                coin = self._index.utxos.get(outpoint)
                if coin is not None:
                    value_in_sat += coin.value_sat
                elif outpoint in created:
                    value_in_sat += created.pop(outpoint)
                else:
                    raise BlockRejected("(not built)", f"bad-txns-inputs-missingorspent in {txid}")
            fees_sat += value_in_sat - sum(out.nValue for out in tx.vout)
            created.update({OutPoint(txid, n): out.nValue for n, out in enumerate(tx.vout)})
        return fees_sat

    def _mine_from_mempool(self, script: bytes) -> str:
        budget = MAX_BLOCK_WEIGHT - COINBASE_RESERVED_WEIGHT
        included: set[str] = set()
        chosen: list[MempoolEntry] = []
        for entry in self._mempool.topological():
            parents = {o.txid for o in entry.spends if o.txid in self._mempool}
            if entry.weight > budget or not parents <= included:
                continue
            budget -= entry.weight
            included.add(entry.txid)
            chosen.append(entry)
        fees_sat = sum(e.fee_sat for e in chosen)
        return self._connect_new_block(script, [e.tx for e in chosen], fees_sat, from_mempool=True)

    def _connect_new_block(
        self, script: bytes, txs: list[CTransaction], fees_sat: int, from_mempool: bool
    ) -> str:
        tip = self._index.tip()
        built = build_block(
            tip.hash, tip.height + 1, self._next_block_time(), txs, script, fees_sat, next(self._extra_nonce)
        )
        if built.hash in self._invalid:
            raise BlockRejected(built.hash_hex, "duplicate-invalid")
        stored = stored_block(built.raw, tip.height + 1)
        self._index.blocks[stored.hash] = stored
        try:
            self._kernel.process_block(built.raw, built.hash)
            if self._kernel.tip_hash() != built.hash:
                raise BlockRejected(built.hash_hex, "the kernel did not make it the tip")
        except BlockRejected as exc:
            del self._index.blocks[stored.hash]
            if from_mempool and txs:
                raise MempoolConsensusMismatch(built.hash_hex, [b2lx(t.GetTxid()) for t in txs]) from exc
            raise
        self._sync_with_kernel()
        return built.hash_hex

    def _sync_with_kernel(self) -> None:
        """Bring the index to the kernel's active chain: disconnect to the fork point, connect the rest."""
        kernel_height = self._kernel.height()
        fork = min(kernel_height, self._index.height)
        while fork > 0 and self._kernel.hash_at(fork) != self._index.active[fork]:
            fork -= 1
        disconnected: list[StoredBlock] = []
        while self._index.height > fork:
            block = self._index.disconnect_tip()
            disconnected.append(block)
            self._pending.append(Disconnected(_event(block)))
        for height in range(fork + 1, kernel_height + 1):
            block = self._index.blocks[self._kernel.hash_at(height)]
            self._index.connect(block)
            for tx, txid in zip(block.txs[1:], block.txids[1:], strict=True):
                self._mempool.remove_mined(tx, txid)
            self._pending.append(Connected(_event(block)))
        if disconnected:
            self._readmit_after_reorg(list(reversed(disconnected)))
        self._tip_changed.notify_all()
        self._async_waiters.tip_moved(self._index.height)

    def _readmit_after_reorg(self, disconnected: list[StoredBlock]) -> None:
        # Like Bitcoin Core: disconnected transactions go back to the mempool first, then everything that was
        # already there is re-checked against the new tip; what fails is dropped (and recorded).
        previous = self._mempool.clear()
        candidates = [
            (tx, txid) for b in disconnected for tx, txid in zip(b.txs[1:], b.txids[1:], strict=True)
        ]
        candidates += [(e.tx, e.txid) for e in previous]
        for tx, txid in candidates:
            if txid in self._mempool or txid in self._index.txindex:
                continue
            try:
                self._accept(tx.serialize(), tx)
            except TxRejected as exc:
                log.info("reorg dropped %s from the mempool: %s", txid, exc.reason)
                self.dropped_on_reorg.append((txid, exc.reason))

    # ----- reorgs
    def invalidate_block(self, block_hash: str) -> None:
        """bitcoind's invalidateblock: the active chain goes back to the block's parent.

        The kernel API has no invalidate, so a fresh kernel chainstate replays the retained blocks up to the
        parent (cheap for test chains); the block stays known, marked invalid.
        """
        with self._mutating():
            target = self.block(block_hash)
            if target.height == 0:
                raise BlockRejected(block_hash, "cannot invalidate the genesis block")
            self._invalid.add(target.hash)
            if not self._index.is_active(target.hash):
                return
            replacement = KernelChain(self._kernel_dir())
            for height in range(1, target.height):
                block = self._index.at(height)
                replacement.process_block(block.raw, block.hash)
            old, self._kernel = self._kernel, replacement
            old_dir = old.data_dir
            old.close()
            shutil.rmtree(old_dir, ignore_errors=True)
            self._sync_with_kernel()

    def reorg(
        self, depth: int, new_blocks: int | None = None, address: str | bytes | None = None
    ) -> list[str]:
        """Replace the last `depth` blocks with `new_blocks` (default depth + 1) new ones from the mempool."""
        with self._mutating():
            if not 1 <= depth <= self._index.height:
                raise BlockRejected(self.tip(), f"cannot reorg {depth} blocks at height {self._index.height}")
            self.invalidate_block(self._index.at(self._index.height - depth + 1).hash_hex)
            return self.mine(depth + 1 if new_blocks is None else new_blocks, address)

    # ----- faucet
    def fund(self, address: str | bytes, amount_sat: int, confirm: bool = False) -> OutPoint:
        """Pay amount_sat to address from the faucet (mining first when it has no mature coin)."""
        script = script_for(address)
        if amount_sat < dust_threshold_sat(script):
            raise InsufficientFunds(f"amount {amount_sat} sat is below the dust threshold of its script")
        with self._mutating():
            coins = self._faucet_coins()
            if not coins:
                self._mature_a_faucet_coin()
                coins = self._faucet_coins()
            tx = self.faucet.build_payment(coins, script, amount_sat, FAUCET_FEERATE_SAT_PER_KVB)
            entry = self._accept(tx.serialize(), tx)
            if confirm:
                self._mine_from_mempool(self.faucet.script_pubkey)
            return OutPoint(entry.txid, 0)

    def _faucet_coins(self) -> list[tuple[OutPoint, int]]:
        spend_height = self._index.height + 1
        found: list[tuple[OutPoint, int]] = []
        for outpoint, coin in self._index.utxos.items():
            if coin.script_pubkey != self.faucet.script_pubkey or self._mempool.spender_of(outpoint):
                continue
            if coin.is_coinbase and spend_height - coin.height < COINBASE_MATURITY:
                continue
            found.append((outpoint, coin.value_sat))
        for entry in self._mempool.entries():
            for vout, out in enumerate(entry.tx.vout):
                outpoint = OutPoint(entry.txid, vout)
                if bytes(out.scriptPubKey) == self.faucet.script_pubkey and not self._mempool.spender_of(
                    outpoint
                ):
                    found.append((outpoint, out.nValue))
        confirmed = {o for o, _ in found if o in self._index.utxos}
        # Confirmed coins first (keeps unconfirmed chains short), then the largest.
        return sorted(found, key=lambda c: (c[0] not in confirmed, -c[1]))

    def _mature_a_faucet_coin(self) -> None:
        immature = [
            coin.height
            for coin in self._index.utxos.values()
            if coin.script_pubkey == self.faucet.script_pubkey and coin.is_coinbase
        ]
        needed = (
            COINBASE_MATURITY + 1
            if not immature
            else min(immature) + COINBASE_MATURITY - 1 - self._index.height
        )
        for _ in range(max(needed, 1)):
            self._mine_from_mempool(self.faucet.script_pubkey)

    # ----- self-check
    def audit(self) -> None:
        """Check the index against the kernel and a replay of the active blocks; raise on a difference.

        The UTXO set, tx index and active chain are maintained incrementally (connect/disconnect with undo
        data); this rebuilds them from scratch, so a bug in the incremental path cannot hide.
        """
        with self._lock:
            kernel_hashes = [self._kernel.hash_at(h) for h in range(self._kernel.height() + 1)]
            self._index.audit(kernel_hashes)
            for entry in self._mempool.entries():
                for outpoint in entry.spends:
                    if outpoint not in self._index.utxos and self._mempool.output(outpoint) is None:
                        raise IndexInconsistent(f"mempool tx {entry.txid} spends missing {outpoint}")

    # ----- lifetime
    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._kernel.close()
        if self._owns_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> EmbeddedChain:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _event(block: StoredBlock) -> BlockEvent:
    return BlockEvent(block.hash_hex, block.height, tuple(tx.serialize() for tx in block.txs), block.txids)
