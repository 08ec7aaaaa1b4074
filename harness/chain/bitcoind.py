"""BitcoindChain: the ChainBackend interface over a bitcoind-compatible JSON-RPC.

Works against a real bitcoind (regtest, -txindex, a wallet for the faucet) and against `boltcheck chain`,
whose faucet it uses through the `boltcheck_fund` extension. Fee estimates come from `estimatesmartfee`;
when bitcoind has none (usual on regtest), from a fixed FeeSchedule, so runs stay deterministic.

Notifications: a watcher thread blocks in `waitfornewblock` (long poll, no sleeping) and diffs the active
chain to report connected and disconnected blocks; the mempool is diffed on every wake-up (at least once
per `poll_interval`), since bitcoind offers no mempool long poll over RPC (only ZMQ).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from decimal import Decimal
from typing import Any

from bitcoin.core import CTransaction, b2lx

from harness.chain.address import script_for, script_to_address
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
from harness.chain.errors import (
    RPC_INVALID_ADDRESS_OR_KEY,
    ChainError,
    ChainTimeout,
    RpcError,
    TxRejected,
    UnknownTransaction,
)
from harness.chain.fees import FeeSchedule
from harness.chain.notify import Notifier
from harness.chain.rpc_client import RpcClient

log = logging.getLogger(__name__)

COIN = 100_000_000


def sat(value: Any) -> int:
    return int(Decimal(str(value)) * COIN)


class BitcoindChain:
    def __init__(
        self,
        client: RpcClient,
        *,
        wallet_client: RpcClient | None = None,
        fee_schedule: FeeSchedule | None = None,
        poll_interval: float = 1.0,
    ) -> None:
        self.client = client
        self.wallet = wallet_client or client
        self.fee_schedule = fee_schedule or FeeSchedule()
        self.poll_interval = poll_interval
        self.is_boltcheck = "boltcheck" in str(client.call("getnetworkinfo").get("subversion", ""))
        self._faucet_address: str | None = None
        self._notifier = Notifier()
        self._watch_lock = threading.Lock()
        self._watcher: threading.Thread | None = None
        self._stop = threading.Event()

    # ----- queries
    def height(self) -> int:
        return int(self.client.call("getblockcount"))

    def tip(self) -> str:
        return str(self.client.call("getbestblockhash"))

    def faucet_address(self) -> str:
        if self._faucet_address is None:
            self._faucet_address = str(self.wallet.call("getnewaddress", "", "bech32"))
        return self._faucet_address

    def mine(self, n: int, address: str | bytes | None = None) -> list[str]:
        if isinstance(address, bytes):
            return self._generate_to_script(n, address)
        target = self.faucet_address() if address is None else address
        return [str(h) for h in self.client.call("generatetoaddress", n, target)]

    def _generate_to_script(self, n: int, script_pubkey: bytes) -> list[str]:
        """Coinbases paying exactly `script_pubkey`. A real bitcoind takes any script as the descriptor
        `raw(HEX)` (generatetodescriptor, Core >= 0.20), a bare or OP_RETURN script too; `boltcheck chain`
        mines to addresses only."""
        if not self.is_boltcheck:
            descriptor = f"raw({script_pubkey.hex()})"
            return [str(h) for h in self.client.call("generatetodescriptor", n, descriptor)]
        address = script_to_address(script_pubkey)
        if address is None:
            raise ChainError("boltcheck chain can only mine to a script that has an address")
        return [str(h) for h in self.client.call("generatetoaddress", n, address)]

    def send_raw(self, tx: bytes | str) -> str:
        raw_hex = tx if isinstance(tx, str) else bytes(tx).hex()
        try:
            return str(self.client.call("sendrawtransaction", raw_hex))
        except RpcError as exc:
            raise TxRejected(_txid_of(raw_hex), exc.message, exc.rpc_code) from exc

    def get_tx(self, txid: str) -> TxInfo:
        try:
            result = self.client.call("getrawtransaction", txid, True)
        except RpcError as exc:
            if exc.rpc_code == RPC_INVALID_ADDRESS_OR_KEY:
                raise UnknownTransaction(exc.message) from exc
            raise
        block_hash = result.get("blockhash")
        confirmations = int(result.get("confirmations", 0))
        height = None
        if block_hash is not None and confirmations > 0:
            height = self.height() - confirmations + 1
        return TxInfo(txid, result["hash"], bytes.fromhex(result["hex"]), block_hash, height, confirmations)

    def get_utxo(self, outpoint: OutPoint, include_mempool: bool = True) -> Utxo | None:
        result = self.client.call("gettxout", outpoint.txid, outpoint.vout, include_mempool)
        if result is None:
            return None
        confirmations = int(result["confirmations"])
        height = self.height() - confirmations + 1 if confirmations > 0 else None
        script = bytes.fromhex(result["scriptPubKey"]["hex"])
        return Utxo(outpoint, sat(result["value"]), script, height, bool(result["coinbase"]), confirmations)

    def mempool(self) -> list[str]:
        return [str(t) for t in self.client.call("getrawmempool")]

    def fund(self, address: str | bytes, amount_sat: int, confirm: bool = False) -> OutPoint:
        if isinstance(address, bytes):
            text = script_to_address(address)
            if text is None:
                raise ChainError("the faucet can only pay a script that has an address")
            address = text
        amount_btc = str(Decimal(amount_sat) / COIN)
        if self.is_boltcheck:
            result = self.client.call("boltcheck_fund", address, amount_btc, confirm)
            return OutPoint(result["txid"], int(result["vout"]))
        txid = str(self.wallet.call("sendtoaddress", address, amount_btc))
        raw = self.client.call("getrawtransaction", txid, True)
        script = script_for(address)
        for out in raw["vout"]:
            if bytes.fromhex(out["scriptPubKey"]["hex"]) == script and sat(out["value"]) == amount_sat:
                if confirm:
                    self.mine(1)
                return OutPoint(txid, int(out["n"]))
        raise ChainError(f"sendtoaddress {txid} has no output paying {amount_sat} sat to {address}")

    def estimate_fee(self, target_blocks: int) -> FeeEstimate:
        result = self.client.call("estimatesmartfee", target_blocks)
        if "feerate" in result:
            return FeeEstimate(sat(result["feerate"]), int(result["blocks"]))
        rate, target = self.fee_schedule.feerate_sat_per_kvb(target_blocks)
        return FeeEstimate(rate, target)

    # ----- reorgs
    def invalidate_block(self, block_hash: str) -> None:
        self.client.call("invalidateblock", block_hash)

    def reorg(
        self, depth: int, new_blocks: int | None = None, address: str | bytes | None = None
    ) -> list[str]:
        """Replace the last `depth` blocks with `new_blocks` (default depth + 1) new ones."""
        height = self.height()
        self.invalidate_block(str(self.client.call("getblockhash", height - depth + 1)))
        return self.mine(depth + 1 if new_blocks is None else new_blocks, address)

    # ----- waiting
    def wait_for_height(self, height: int, timeout: float) -> None:
        # waitforblockheight blocks in bitcoind until the height or the timeout (milliseconds).
        timeout_ms = max(int(timeout * 1000), 1)
        result = self.client.call("waitforblockheight", height, timeout_ms, timeout=timeout + 30)
        if int(result["height"]) < height:
            raise ChainTimeout(f"height {height} not reached in {timeout}s (tip {result['height']})")

    async def wait_for_height_async(self, height: int, timeout: float) -> None:
        await asyncio.to_thread(self.wait_for_height, height, timeout)

    # ----- notifications
    def subscribe_blocks(self, callback: BlockCallback) -> Subscription:
        self._ensure_watcher()
        return self._notifier.blocks.add(callback)

    def subscribe_disconnects(self, callback: BlockCallback) -> Subscription:
        self._ensure_watcher()
        return self._notifier.disconnects.add(callback)

    def subscribe_mempool(self, callback: MempoolCallback) -> Subscription:
        self._ensure_watcher()
        return self._notifier.mempool.add(callback)

    def _ensure_watcher(self) -> None:
        with self._watch_lock:
            if self._watcher is None:
                active = {self.height(): self.tip()}
                mempool = set(self.mempool())
                self._watcher = threading.Thread(
                    target=self._watch, args=(active, mempool), name="bitcoind-watch", daemon=True
                )
                self._watcher.start()

    def _watch(self, known: dict[int, str], mempool: set[str]) -> None:
        while not self._stop.is_set():
            try:
                self.client.call(
                    "waitfornewblock", int(self.poll_interval * 1000), timeout=self.poll_interval + 30
                )
                if self._stop.is_set():
                    return
                self._diff_chain(known)
                mempool = self._diff_mempool(mempool)
            except ChainError:
                if self._stop.is_set():
                    return
                log.exception("bitcoind watcher: RPC failed; retrying")
                self._stop.wait(self.poll_interval)

    def _diff_chain(self, known: dict[int, str]) -> None:
        height = self.height()
        fork = min(max(known), height)
        while fork >= 0 and fork in known and self.client.call("getblockhash", fork) != known[fork]:
            fork -= 1
        for h in sorted((h for h in known if h > fork), reverse=True):
            # bitcoind still serves a block it disconnected, so the event carries its transactions.
            self._notifier.disconnects.emit(self._block_event(known.pop(h), h))
        for h in range(fork + 1, height + 1):
            block_hash = str(self.client.call("getblockhash", h))
            known[h] = block_hash
            self._notifier.blocks.emit(self._block_event(block_hash, h))

    def _block_event(self, block_hash: str, height: int) -> BlockEvent:
        block = self.client.call("getblock", block_hash, 2)
        txs = tuple(bytes.fromhex(t["hex"]) for t in block["tx"])
        txids = tuple(str(t["txid"]) for t in block["tx"])
        return BlockEvent(block_hash, height, txs, txids)

    def _diff_mempool(self, previous: set[str]) -> set[str]:
        current = set(self.mempool())
        for txid in sorted(current - previous):
            try:
                raw = bytes.fromhex(self.client.call("getrawtransaction", txid))
            except RpcError:
                continue  # mined or evicted between the two calls: nothing to announce
            self._notifier.mempool.emit(MempoolEvent(txid, raw))
        return current

    def close(self) -> None:
        self._stop.set()
        watcher = self._watcher
        if watcher is not None:
            watcher.join(timeout=self.poll_interval + 35)


def _txid_of(raw_hex: str) -> str:
    """The txid of a raw transaction for error messages ("?" when it does not even parse)."""
    try:
        return str(b2lx(CTransaction.deserialize(bytes.fromhex(raw_hex)).GetTxid()))
    except Exception:  # a rejected transaction may be any bytes at all; the error names it "?"
        return "?"
