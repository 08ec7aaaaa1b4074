"""The bitcoind RPC methods `boltcheck chain` serves, over an EmbeddedChain.

Names, parameters, result shapes and error codes follow bitcoind. Extensions (not in bitcoind):
- `boltcheck_fund address amount [confirm]`: pay `amount` BTC from the chain's faucet; returns
  {"txid", "vout"}; with confirm=true a block is mined on top.
- `sendtoaddress address amount` and `getnewaddress` answer from the faucet, so tools that expect a
  bitcoind wallet can fund themselves; `getnewaddress` returns the faucet's own address.
"""

from __future__ import annotations

import contextlib
import inspect
import time
from collections.abc import Callable
from typing import Any

from bitcoin.core import CTransaction, b2lx

from harness.chain.acceptance import decode_tx
from harness.chain.address import address_to_script
from harness.chain.backend import OutPoint
from harness.chain.blocks import REGTEST_NBITS, target_from_nbits
from harness.chain.embedded import EmbeddedChain
from harness.chain.errors import (
    RPC_DESERIALIZATION_ERROR,
    RPC_INVALID_ADDRESS_OR_KEY,
    RPC_INVALID_PARAMETER,
    RPC_METHOD_NOT_FOUND,
    RPC_MISC_ERROR,
    RPC_TYPE_ERROR,
    RPC_VERIFY_ALREADY_IN_CHAIN,
    RPC_VERIFY_ERROR,
    ChainError,
    ChainTimeout,
    InvalidAddress,
    TxRejected,
    UnknownBlock,
)
from harness.chain.fees import MAX_CONF_TARGET, MIN_CONF_TARGET
from harness.chain.rpc_format import (
    JsonObject,
    block_json,
    btc,
    chainwork_hex,
    difficulty,
    header_json,
    sat_from_btc,
    script_pubkey_json,
    tx_json,
)

VERSION = 280000  # reported as bitcoind 28.0, the RPC behaviour followed here
DEFAULT_MAX_FEERATE_BTC_PER_KVB = 0.10
MAX_PACKAGE_COUNT = 25  # policy/packages.h
ESTIMATE_MODES = ("unset", "economical", "conservative")  # bitcoind's FeeEstimateMode names


class RpcMethodError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise RpcMethodError(
            RPC_TYPE_ERROR, f"JSON value of type {type(value).__name__} for {name} is not int"
        )
    return value


def _str(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise RpcMethodError(
            RPC_TYPE_ERROR, f"JSON value of type {type(value).__name__} for {name} is not string"
        )
    return value


def _hash(value: object, name: str) -> str:
    text = _str(value, name)
    if len(text) != 64 or any(c not in "0123456789abcdefABCDEF" for c in text):
        raise RpcMethodError(
            RPC_INVALID_PARAMETER, f"{name} must be of length 64 (not {len(text)}, for '{text}')"
        )
    return text.lower()


def _verbosity(value: object) -> int:
    if isinstance(value, bool):
        return int(value)
    return _int(value, "verbosity")


def _sat(value: object) -> int:
    try:
        return sat_from_btc(value)
    except ValueError as exc:
        raise RpcMethodError(RPC_TYPE_ERROR, "Invalid amount") from exc


class ChainRpc:
    """Every public `rpc_<name>` method is the bitcoind RPC `<name>`."""

    def __init__(self, chain: EmbeddedChain, request_stop: Callable[[], None]) -> None:
        self.chain = chain
        self._request_stop = request_stop
        self._started = time.monotonic()

    def call(self, method: str, params: list[Any] | dict[str, Any]) -> Any:
        handler = getattr(self, f"rpc_{method}", None) if method.isidentifier() else None
        if handler is None:
            raise RpcMethodError(RPC_METHOD_NOT_FOUND, "Method not found")
        signature = inspect.signature(handler)
        try:
            bound = signature.bind(*params) if isinstance(params, list) else signature.bind(**params)
        except TypeError as exc:
            raise RpcMethodError(RPC_MISC_ERROR, f"{method}: wrong parameters: {exc}") from exc
        try:
            return handler(*bound.args, **bound.kwargs)
        except TxRejected as exc:
            if exc.reason == "max-fee-exceeded":
                message = "Fee exceeds maximum configured by user (e.g. -maxtxfee, maxfeerate)"
                raise RpcMethodError(RPC_VERIFY_ERROR, message) from exc
            if exc.reason == "txn-already-known":
                raise RpcMethodError(
                    RPC_VERIFY_ALREADY_IN_CHAIN, "Transaction outputs already in utxo set"
                ) from exc
            raise RpcMethodError(exc.rpc_code, exc.reason) from exc
        except ChainError as exc:
            raise RpcMethodError(exc.rpc_code, str(exc)) from exc

    # ----- chain state
    def rpc_getblockchaininfo(self) -> JsonObject:
        height = self.chain.height()
        tip = self.chain.block(self.chain.tip())
        return {
            "chain": "regtest",
            "blocks": height,
            "headers": height,
            "bestblockhash": tip.hash_hex,
            "bits": f"{REGTEST_NBITS:08x}",
            "target": f"{target_from_nbits(REGTEST_NBITS):064x}",
            "difficulty": difficulty(REGTEST_NBITS),
            "time": tip.time,
            "mediantime": self.chain.median_time_past(),
            "verificationprogress": 1,
            "initialblockdownload": False,
            "chainwork": chainwork_hex(height),
            "size_on_disk": 0,
            "pruned": False,
            "warnings": [],
        }

    def rpc_getnetworkinfo(self) -> JsonObject:
        relay_btc_per_kvb = btc(self.chain.rules.min_relay_fee_sat_per_kvb)
        return {
            "version": VERSION,
            "subversion": "/boltcheck-chain:0.1.0/",
            "protocolversion": 70016,
            "localservices": "0000000000000409",
            "localservicesnames": ["NETWORK", "WITNESS", "NETWORK_LIMITED"],
            "localrelay": True,
            "timeoffset": 0,
            "networkactive": True,
            "connections": 0,
            "connections_in": 0,
            "connections_out": 0,
            "networks": [],
            "relayfee": relay_btc_per_kvb,
            "incrementalfee": btc(self.chain.rules.incremental_relay_fee_sat_per_kvb),
            "localaddresses": [],
            "warnings": [],
        }

    def rpc_getblockcount(self) -> int:
        return self.chain.height()

    def rpc_getbestblockhash(self) -> str:
        return self.chain.tip()

    def rpc_getblockhash(self, height: object) -> str:
        h = _int(height, "height")
        if not 0 <= h <= self.chain.height():
            raise RpcMethodError(RPC_INVALID_PARAMETER, "Block height out of range")
        return self.chain.block_hash(h)

    def _header(self, block_hash: str) -> JsonObject:
        block = self._block(block_hash)
        return header_json(
            block,
            self.chain.block_confirmations(block_hash),
            self.chain.median_time_past(block.height)
            if self.chain.block_confirmations(block_hash) > 0
            else 0,
            self.chain.next_block_hash(block_hash),
        )

    def _block(self, block_hash: str) -> Any:
        try:
            return self.chain.block(block_hash)
        except UnknownBlock as exc:
            raise RpcMethodError(exc.rpc_code, "Block not found") from exc

    def rpc_getblockheader(self, blockhash: object, verbose: object = True) -> JsonObject | str:
        block_hash = _hash(blockhash, "blockhash")
        if not verbose:
            return str(self._block(block_hash).raw[:80].hex())
        return self._header(block_hash)

    def rpc_getblock(self, blockhash: object, verbosity: object = 1) -> JsonObject | str:
        block_hash = _hash(blockhash, "blockhash")
        level = _verbosity(verbosity)
        block = self._block(block_hash)
        if level == 0:
            return str(block.raw.hex())
        return block_json(block, self._header(block_hash), level)

    # ----- transactions
    def rpc_getrawtransaction(self, txid: object, verbose: object = False, blockhash: object = None) -> Any:
        tx_hash = _hash(txid, "parameter 1")
        try:
            info = self.chain.get_tx(tx_hash)
        except ChainError as exc:
            raise RpcMethodError(
                exc.rpc_code,
                "No such mempool or blockchain transaction. Use gettransaction for wallet transactions.",
            ) from exc
        if blockhash is not None and info.block_hash != _hash(blockhash, "parameter 3"):
            raise RpcMethodError(
                RPC_INVALID_ADDRESS_OR_KEY, "No such transaction found in the provided block."
            )
        if not _verbosity(verbose):
            return info.raw.hex()
        result = tx_json(CTransaction.deserialize(info.raw))
        if info.block_hash is not None:
            block = self.chain.block(info.block_hash)
            result.update(
                blockhash=info.block_hash,
                confirmations=info.confirmations,
                time=block.time,
                blocktime=block.time,
            )
        return result

    def rpc_sendrawtransaction(
        self, hexstring: object, maxfeerate: object = DEFAULT_MAX_FEERATE_BTC_PER_KVB
    ) -> str:
        raw = _hex(hexstring)
        max_sat_per_kvb = _sat(maxfeerate)
        return self.chain.send_raw(raw, max_sat_per_kvb)

    def rpc_testmempoolaccept(
        self, rawtxs: object, maxfeerate: object = DEFAULT_MAX_FEERATE_BTC_PER_KVB
    ) -> list[JsonObject]:
        if not isinstance(rawtxs, list) or not rawtxs:
            raise RpcMethodError(RPC_TYPE_ERROR, "rawtxs must be a non-empty array")
        if len(rawtxs) > MAX_PACKAGE_COUNT:
            raise RpcMethodError(RPC_INVALID_PARAMETER, "Array must contain between 1 and 25 transactions.")
        max_sat_per_kvb = _sat(maxfeerate)
        raws = [_hex(item) for item in rawtxs]
        results = self.chain.test_accept_package(list(raws))
        replies: list[JsonObject] = []
        for raw, result in zip(raws, results, strict=True):
            if result is None:
                tx = decode_tx(raw)
                replies.append({"txid": b2lx(tx.GetTxid()), "wtxid": b2lx(tx.GetHash())})
                continue
            item: JsonObject = {"txid": result.txid, "wtxid": result.wtxid, "allowed": result.allowed}
            if result.allowed and result.fee_sat is not None and result.vsize is not None:
                if max_sat_per_kvb and result.fee_sat * 1000 > max_sat_per_kvb * result.vsize:
                    item.update({"allowed": False, "reject-reason": "max-fee-exceeded"})
                else:
                    item.update(vsize=result.vsize, fees={"base": btc(result.fee_sat)})
            else:
                item["reject-reason"] = result.reject_reason
            replies.append(item)
        return replies

    def rpc_gettxout(self, txid: object, n: object, include_mempool: object = True) -> JsonObject | None:
        outpoint = OutPoint(_hash(txid, "txid"), _int(n, "n"))
        utxo = self.chain.get_utxo(outpoint, include_mempool=bool(include_mempool))
        if utxo is None:
            return None
        return {
            "bestblock": self.chain.tip(),
            "confirmations": utxo.confirmations,
            "value": btc(utxo.value_sat),
            "scriptPubKey": script_pubkey_json(utxo.script_pubkey),
            "coinbase": utxo.is_coinbase,
        }

    # ----- mempool
    def rpc_getrawmempool(self, verbose: object = False, mempool_sequence: object = False) -> Any:
        txids = self.chain.mempool()
        if not verbose:
            return txids
        return {txid: self._mempool_entry(txid) for txid in txids}

    def rpc_getmempoolentry(self, txid: object) -> JsonObject:
        return self._mempool_entry(_hash(txid, "txid"))

    def _mempool_entry(self, txid: str) -> JsonObject:
        entry = self.chain.mempool_entry(txid)
        ancestors, descendants = self.chain.mempool_relatives(txid)
        ancestor_entries = [self.chain.mempool_entry(t) for t in ancestors]
        descendant_entries = [self.chain.mempool_entry(t) for t in descendants]
        parents = sorted({o.txid for o in entry.spends} & ancestors)
        children = sorted(
            t for t in descendants if any(o.txid == txid for o in self.chain.mempool_entry(t).spends)
        )
        return {
            "vsize": entry.vsize,
            "weight": entry.weight,
            "time": entry.time,
            "height": entry.height,
            "descendantcount": len(descendants) + 1,
            "descendantsize": entry.vsize + sum(e.vsize for e in descendant_entries),
            "ancestorcount": len(ancestors) + 1,
            "ancestorsize": entry.vsize + sum(e.vsize for e in ancestor_entries),
            "wtxid": entry.wtxid,
            "fees": {
                "base": btc(entry.fee_sat),
                "modified": btc(entry.fee_sat),
                "ancestor": btc(entry.fee_sat + sum(e.fee_sat for e in ancestor_entries)),
                "descendant": btc(entry.fee_sat + sum(e.fee_sat for e in descendant_entries)),
            },
            "depends": parents,
            "spentby": children,
            # Replaceable anyway under full RBF (Core 28's default); this reports the BIP 125 signal.
            "bip125-replaceable": entry.signals_rbf or any(e.signals_rbf for e in ancestor_entries),
            "unbroadcast": False,
        }

    def rpc_gettxspendingprevout(self, outputs: object, options: object = None) -> list[JsonObject]:
        """Which mempool transaction spends each outpoint (bitcoind 24+). btcwallet, and so lnd's bitcoind
        backend, asks this instead of keeping its own mempool once getnetworkinfo reports >= 240000."""
        if not isinstance(outputs, list) or not outputs:
            raise RpcMethodError(RPC_INVALID_PARAMETER, "Invalid parameter, outputs are missing")
        spenders = {
            (spent.txid, spent.vout): txid
            for txid in self.chain.mempool()
            for spent in self.chain.mempool_entry(txid).spends
        }
        replies: list[JsonObject] = []
        for item in outputs:
            if not isinstance(item, dict) or "txid" not in item or "vout" not in item:
                raise RpcMethodError(
                    RPC_INVALID_PARAMETER, "Invalid parameter, each output needs txid and vout"
                )
            txid, vout = _hash(item["txid"], "txid"), _int(item["vout"], "vout")
            if vout < 0:
                raise RpcMethodError(RPC_INVALID_PARAMETER, "Invalid parameter, vout cannot be negative")
            reply: JsonObject = {"txid": txid, "vout": vout}
            spender = spenders.get((txid, vout))
            if spender is not None:
                reply["spendingtxid"] = spender
            replies.append(reply)
        return replies

    def rpc_getmempoolinfo(self) -> JsonObject:
        entries = [self.chain.mempool_entry(t) for t in self.chain.mempool()]
        min_relay = btc(self.chain.rules.min_relay_fee_sat_per_kvb)
        return {
            "loaded": True,
            "size": len(entries),
            "bytes": sum(e.vsize for e in entries),
            "usage": sum(len(e.raw) for e in entries),
            "total_fee": btc(sum(e.fee_sat for e in entries)),
            "maxmempool": 300_000_000,
            "mempoolminfee": min_relay,
            "minrelaytxfee": min_relay,
            "incrementalrelayfee": btc(self.chain.rules.incremental_relay_fee_sat_per_kvb),
            "unbroadcastcount": 0,
            "fullrbf": True,
        }

    def rpc_estimatesmartfee(self, conf_target: object, estimate_mode: object = "economical") -> JsonObject:
        target = _int(conf_target, "conf_target")
        # Core Lightning's bcli asks with "CONSERVATIVE" / "ECONOMICAL", lnd with its bitcoind.estimatemode;
        # bitcoind accepts the three mode names in any case and refuses anything else (FeeModeFromString).
        # The estimate is the same for every mode here: the fee schedule is fixed (deterministic runs).
        if _str(estimate_mode, "estimate_mode").lower() not in ESTIMATE_MODES:
            raise RpcMethodError(
                RPC_INVALID_PARAMETER,
                'Invalid estimate_mode parameter, must be one of: "unset", "economical", "conservative"',
            )
        if not MIN_CONF_TARGET <= target <= MAX_CONF_TARGET:
            raise RpcMethodError(
                RPC_INVALID_PARAMETER,
                f"Invalid conf_target, must be between {MIN_CONF_TARGET} and {MAX_CONF_TARGET}",
            )
        estimate = self.chain.estimate_fee(target)
        return {"feerate": btc(estimate.feerate_sat_per_kvb), "blocks": estimate.blocks}

    # ----- mining and reorgs
    def rpc_generatetoaddress(
        self, nblocks: object, address: object, maxtries: object = 1_000_000
    ) -> list[str]:
        count = _int(nblocks, "nblocks")
        if count < 0:
            raise RpcMethodError(RPC_INVALID_PARAMETER, "nblocks must be non-negative")
        return self.chain.mine(count, _address(address))

    def rpc_generateblock(self, output: object, transactions: object, submit: object = True) -> JsonObject:
        if not isinstance(transactions, list) or not all(isinstance(t, str) for t in transactions):
            raise RpcMethodError(RPC_TYPE_ERROR, "transactions must be an array of strings")
        if submit is False:
            raise RpcMethodError(RPC_INVALID_PARAMETER, "submit=false is not supported by this chain")
        try:
            block_hash = self.chain.generate_block(_address(output), list(transactions))
        except ChainError as exc:
            raise RpcMethodError(RPC_VERIFY_ERROR, f"TestBlockValidity failed: {exc}") from exc
        return {"hash": block_hash}

    def rpc_invalidateblock(self, blockhash: object) -> None:
        block_hash = _hash(blockhash, "blockhash")
        self._block(block_hash)
        self.chain.invalidate_block(block_hash)

    def rpc_waitforblockheight(self, height: object, timeout: object = 0) -> JsonObject:
        target, timeout_ms = _int(height, "height"), _int(timeout, "timeout")
        # bitcoind answers with the current tip when the wait times out.
        with contextlib.suppress(ChainTimeout):
            self.chain.wait_for_height(target, timeout_ms / 1000 if timeout_ms > 0 else 3600)
        return {"hash": self.chain.tip(), "height": self.chain.height()}

    def rpc_waitfornewblock(self, timeout: object = 0) -> JsonObject:
        return self.rpc_waitforblockheight(self.chain.height() + 1, timeout)

    def rpc_getchaintips(self) -> list[JsonObject]:
        return [
            {"height": t.height, "hash": t.block_hash, "branchlen": t.branch_len, "status": t.status}
            for t in self.chain.chain_tips()
        ]

    def rpc_getdeploymentinfo(self, blockhash: object = None) -> JsonObject:
        # Regtest buries every soft fork this chain knows at height 1 (BIP 34/65/66/CSV) or 0 (segwit,
        # taproot), as Bitcoin Core's regtest parameters do.
        buried = {"bip34": 1, "bip66": 1, "bip65": 1, "csv": 1, "segwit": 0, "taproot": 0}
        return {
            "hash": self.chain.tip(),
            "height": self.chain.height(),
            "deployments": {
                name: {"type": "buried", "active": self.chain.height() + 1 >= height, "height": height}
                for name, height in buried.items()
            },
        }

    def rpc_getmininginfo(self) -> JsonObject:
        return {
            "blocks": self.chain.height(),
            "difficulty": difficulty(REGTEST_NBITS),
            "networkhashps": 0,
            "pooledtx": len(self.chain.mempool()),
            "chain": "regtest",
            "warnings": [],
        }

    def rpc_getindexinfo(self, index_name: object = None) -> JsonObject:
        return {"txindex": {"synced": True, "best_block_height": self.chain.height()}}

    def rpc_getzmqnotifications(self) -> list[JsonObject]:
        return []

    def rpc_decoderawtransaction(self, hexstring: object, iswitness: object = None) -> JsonObject:
        try:
            tx = decode_tx(_hex(hexstring))
        except ChainError as exc:
            raise RpcMethodError(RPC_DESERIALIZATION_ERROR, "TX decode failed") from exc
        result = tx_json(tx)
        del result["hex"]
        return result

    def rpc_getdifficulty(self) -> float:
        return difficulty(REGTEST_NBITS)

    # ----- node (a chain with no peers)
    def rpc_getpeerinfo(self) -> list[JsonObject]:
        return []

    def rpc_getconnectioncount(self) -> int:
        return 0

    def rpc_echo(self, *args: object) -> list[object]:
        return list(args)

    def rpc_uptime(self) -> int:
        return int(time.monotonic() - self._started)

    def rpc_stop(self) -> str:
        self._request_stop()
        return "boltcheck chain stopping"

    def rpc_help(self, command: object = None) -> str:
        names = sorted(name[4:] for name in dir(self) if name.startswith("rpc_"))
        return "\n".join(names)

    # ----- faucet (extensions, see the module docstring)
    def rpc_boltcheck_fund(self, address: object, amount: object, confirm: object = False) -> JsonObject:
        outpoint = self.chain.fund(_address(address), _sat(amount), confirm=bool(confirm))
        return {"txid": outpoint.txid, "vout": outpoint.vout}

    def rpc_sendtoaddress(self, address: object, amount: object, *_wallet_options: object) -> str:
        return self.chain.fund(_address(address), _sat(amount)).txid

    def rpc_getnewaddress(self, label: object = "", address_type: object = None) -> str:
        return self.chain.faucet.address


def _address(value: object) -> str:
    text = _str(value, "address")
    try:
        address_to_script(text)
    except InvalidAddress as exc:
        raise RpcMethodError(exc.rpc_code, "Error: Invalid address") from exc
    return text


def _hex(value: object) -> bytes:
    text = _str(value, "hexstring")
    try:
        return bytes.fromhex(text)
    except ValueError as exc:
        raise RpcMethodError(RPC_DESERIALIZATION_ERROR, "TX decode failed") from exc
