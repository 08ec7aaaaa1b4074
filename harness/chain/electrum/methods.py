"""The Electrum protocol 1.4 methods, answered from the embedded chain and the scripthash index.

Per-session state (negotiated version, subscriptions) lives in the server; everything here is a pure
question to the chain. Amounts in replies are satoshis except fee rates, which protocol 1.4 gives in
BTC per kilobyte (estimatefee, relayfee) or sat/vbyte (the fee histogram).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from bitcoin.core import CTransaction

from harness.chain.electrum.index import ScripthashIndex
from harness.chain.electrum.merkle import display_hex, double_sha256, merkle_branch_and_root
from harness.chain.electrum.protocol import (
    BAD_REQUEST,
    DAEMON_ERROR,
    INVALID_PARAMS,
    PROTOCOL_VERSION,
    SERVER_SOFTWARE,
    ElectrumRpcError,
    JsonValue,
)
from harness.chain.embedded import EmbeddedChain
from harness.chain.errors import TxDecodeError, TxRejected, UnknownTransaction
from harness.chain.rpc_format import tx_json

HEADER_BYTES = 80
MAX_HEADERS_PER_REQUEST = 2016  # protocol: "max" of blockchain.block.headers; Electrum needs >= 2016
SAT_PER_BTC = 100_000_000
_HASH_HEX = re.compile(r"^[0-9a-fA-F]{64}$")


@dataclass(frozen=True)
class ServerIdentity:
    banner: str = "boltcheck Electrum server on the embedded regtest chain"
    donation_address: str = ""


def _int(value: JsonValue, name: str, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ElectrumRpcError(INVALID_PARAMS, f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


def _hash(value: JsonValue, name: str) -> str:
    if not isinstance(value, str) or not _HASH_HEX.match(value):
        raise ElectrumRpcError(INVALID_PARAMS, f"{name} must be a 32-byte hash in hex, got {value!r}")
    return value.lower()


def _bool(value: JsonValue, name: str) -> bool:
    if not isinstance(value, bool):
        raise ElectrumRpcError(INVALID_PARAMS, f"{name} must be true or false, got {value!r}")
    return value


def arity(method: str, params: tuple[JsonValue, ...], required: int, optional: int = 0) -> None:
    if not required <= len(params) <= required + optional:
        expected = str(required) if not optional else f"{required} to {required + optional}"
        raise ElectrumRpcError(INVALID_PARAMS, f"{method} takes {expected} parameters, got {len(params)}")


def negotiate_version(params: tuple[JsonValue, ...]) -> str:
    """server.version: the client's version is a string or [min, max]; only 1.4 is spoken here."""
    arity("server.version", params, 0, 2)
    wanted = params[1] if len(params) > 1 else PROTOCOL_VERSION
    if isinstance(wanted, str):
        low = high = wanted
    elif isinstance(wanted, list) and len(wanted) == 2 and all(isinstance(v, str) for v in wanted):
        low, high = wanted
    else:
        raise ElectrumRpcError(INVALID_PARAMS, f"bad protocol version {wanted!r}")
    if not _version_key(low) <= _version_key(PROTOCOL_VERSION) <= _version_key(high):
        raise ElectrumRpcError(
            BAD_REQUEST, f"unsupported protocol version: {wanted!r} (server: {PROTOCOL_VERSION})"
        )
    return PROTOCOL_VERSION


def _version_key(version: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in version.split("."))
    except ValueError as exc:
        raise ElectrumRpcError(INVALID_PARAMS, f"bad protocol version {version!r}") from exc


class ChainMethods:
    """Stateless methods; `table()` maps method names to handlers taking the positional params."""

    def __init__(self, chain: EmbeddedChain, index: ScripthashIndex, identity: ServerIdentity) -> None:
        self.chain = chain
        self.index = index
        self.identity = identity

    def table(self) -> dict[str, Callable[[tuple[JsonValue, ...]], JsonValue]]:
        return {
            "server.banner": lambda p: self._no_params("server.banner", p, self.identity.banner),
            "server.donation_address": lambda p: self._no_params(
                "server.donation_address", p, self.identity.donation_address
            ),
            "server.peers.subscribe": lambda p: self._no_params("server.peers.subscribe", p, []),
            "server.ping": lambda p: self._no_params("server.ping", p, None),
            "server.features": self.features,
            "blockchain.block.header": self.block_header,
            "blockchain.block.headers": self.block_headers,
            "blockchain.estimatefee": self.estimatefee,
            "blockchain.relayfee": self.relayfee,
            "blockchain.scripthash.get_balance": self.get_balance,
            "blockchain.scripthash.get_history": self.get_history,
            "blockchain.scripthash.get_mempool": self.get_mempool,
            "blockchain.scripthash.listunspent": self.listunspent,
            "blockchain.transaction.broadcast": self.broadcast,
            "blockchain.transaction.get": self.transaction_get,
            "blockchain.transaction.get_merkle": self.get_merkle,
            "blockchain.transaction.id_from_pos": self.id_from_pos,
            "mempool.get_fee_histogram": self.fee_histogram,
        }

    @staticmethod
    def _no_params(method: str, params: tuple[JsonValue, ...], answer: JsonValue) -> JsonValue:
        arity(method, params, 0)
        return answer

    # ----- server
    def features(self, params: tuple[JsonValue, ...]) -> JsonValue:
        arity("server.features", params, 0)
        return {
            "genesis_hash": self.chain.block_hash(0),
            "hosts": {},
            "protocol_max": PROTOCOL_VERSION,
            "protocol_min": PROTOCOL_VERSION,
            "pruning": None,
            "server_version": SERVER_SOFTWARE,
            "hash_function": "sha256",
        }

    # ----- headers
    def header(self, height: int) -> bytes:
        if height > self.index.height:
            raise ElectrumRpcError(
                BAD_REQUEST, f"height {height:,d} out of range (tip {self.index.height:,d})"
            )
        return self.chain.block(self.index.block_hash_at(height)).raw[:HEADER_BYTES]

    def tip_header(self) -> dict[str, JsonValue]:
        """blockchain.headers.subscribe's result and notification payload."""
        height = self.index.height
        return {"hex": self.header(height).hex(), "height": height}

    def _checkpoint_proof(self, height: int, cp_height: int) -> dict[str, JsonValue]:
        # Protocol 1.4 "cp_height": the branch of header `height` in the tree of header hashes 0..cp_height.
        if cp_height > self.index.height:
            raise ElectrumRpcError(
                BAD_REQUEST, f"cp_height {cp_height:,d} beyond the tip {self.index.height:,d}"
            )
        if height > cp_height:
            raise ElectrumRpcError(BAD_REQUEST, f"height {height:,d} beyond cp_height {cp_height:,d}")
        leaves = [double_sha256(self.header(h)) for h in range(cp_height + 1)]
        branch, root = merkle_branch_and_root(leaves, height)
        return {"branch": [display_hex(node) for node in branch], "root": display_hex(root)}

    def block_header(self, params: tuple[JsonValue, ...]) -> JsonValue:
        arity("blockchain.block.header", params, 1, 1)
        height = _int(params[0], "height")
        cp_height = _int(params[1], "cp_height") if len(params) > 1 else 0
        header_hex = self.header(height).hex()
        if cp_height == 0:
            return header_hex
        return {"header": header_hex, **self._checkpoint_proof(height, cp_height)}

    def block_headers(self, params: tuple[JsonValue, ...]) -> JsonValue:
        arity("blockchain.block.headers", params, 2, 1)
        start_height = _int(params[0], "start_height")
        count = min(_int(params[1], "count"), MAX_HEADERS_PER_REQUEST)
        cp_height = _int(params[2], "cp_height") if len(params) > 2 else 0
        end = min(start_height + count, self.index.height + 1)
        headers = b"".join(self.header(h) for h in range(start_height, end))
        count = max(end - start_height, 0)
        result: dict[str, JsonValue] = {"count": count, "hex": headers.hex(), "max": MAX_HEADERS_PER_REQUEST}
        if cp_height and count:
            result.update(self._checkpoint_proof(start_height + count - 1, cp_height))
        return result

    # ----- fees
    def estimatefee(self, params: tuple[JsonValue, ...]) -> JsonValue:
        arity("blockchain.estimatefee", params, 1, 1)  # 1.4.2 adds an optional estimate mode; ignored
        target_blocks = _int(params[0], "number", minimum=1)
        return self.chain.estimate_fee(target_blocks).feerate_sat_per_kvb / SAT_PER_BTC

    def relayfee(self, params: tuple[JsonValue, ...]) -> JsonValue:
        arity("blockchain.relayfee", params, 0)
        return self.chain.rules.min_relay_fee_sat_per_kvb / SAT_PER_BTC

    def fee_histogram(self, params: tuple[JsonValue, ...]) -> JsonValue:
        arity("mempool.get_fee_histogram", params, 0)
        return [[b.feerate_sat_per_vbyte, b.vsize_vbytes] for b in self.index.fee_histogram()]

    # ----- scripthashes
    def get_balance(self, params: tuple[JsonValue, ...]) -> JsonValue:
        arity("blockchain.scripthash.get_balance", params, 1)
        balance = self.index.balance(_hash(params[0], "scripthash"))
        return {"confirmed": balance.confirmed_sat, "unconfirmed": balance.unconfirmed_sat}

    def get_history(self, params: tuple[JsonValue, ...]) -> JsonValue:
        arity("blockchain.scripthash.get_history", params, 1)
        result: list[JsonValue] = []
        for item in self.index.history(_hash(params[0], "scripthash")):
            entry: dict[str, JsonValue] = {"height": item.height, "tx_hash": item.txid}
            if item.fee_sat is not None:
                entry["fee"] = item.fee_sat
            result.append(entry)
        return result

    def get_mempool(self, params: tuple[JsonValue, ...]) -> JsonValue:
        arity("blockchain.scripthash.get_mempool", params, 1)
        history = self.index.history(_hash(params[0], "scripthash"))
        return [{"height": i.height, "tx_hash": i.txid, "fee": i.fee_sat} for i in history if i.height <= 0]

    def listunspent(self, params: tuple[JsonValue, ...]) -> JsonValue:
        arity("blockchain.scripthash.listunspent", params, 1)
        return [
            {"height": u.height, "tx_hash": u.outpoint.txid, "tx_pos": u.outpoint.vout, "value": u.value_sat}
            for u in self.index.unspent(_hash(params[0], "scripthash"))
        ]

    # ----- transactions
    def broadcast(self, params: tuple[JsonValue, ...]) -> JsonValue:
        arity("blockchain.transaction.broadcast", params, 1)
        raw_hex = params[0]
        if not isinstance(raw_hex, str):
            raise ElectrumRpcError(INVALID_PARAMS, f"raw_tx must be a hex string, got {raw_hex!r}")
        try:
            raw = bytes.fromhex(raw_hex)
        except ValueError as exc:
            raise ElectrumRpcError(INVALID_PARAMS, f"raw_tx is not hex: {exc}") from exc
        try:
            return self.chain.send_raw(raw)
        except (TxRejected, TxDecodeError) as exc:
            # ElectrumX's wording; Electrum shows the daemon's reason to the user.
            raise ElectrumRpcError(
                BAD_REQUEST, f"the transaction was rejected by network rules.\n\n{exc}\n[{raw_hex}]"
            ) from exc

    def transaction_get(self, params: tuple[JsonValue, ...]) -> JsonValue:
        arity("blockchain.transaction.get", params, 1, 1)
        txid = _hash(params[0], "tx_hash")
        verbose = _bool(params[1], "verbose") if len(params) > 1 else False
        try:
            info = self.chain.get_tx(txid)
        except UnknownTransaction as exc:
            raise ElectrumRpcError(DAEMON_ERROR, f"daemon error: {exc}") from exc
        if not verbose:
            return info.raw.hex()
        # ElectrumX passes verbose through to bitcoind's getrawtransaction; the same fields here.
        decoded = tx_json(CTransaction.deserialize(info.raw))
        if info.block_hash is not None:
            block_time = self.chain.block(info.block_hash).time
            decoded.update(
                blockhash=info.block_hash,
                confirmations=info.confirmations,
                time=block_time,
                blocktime=block_time,
            )
        return decoded

    def _block_txids(self, height: int) -> tuple[str, ...]:
        if height > self.index.height:
            raise ElectrumRpcError(
                BAD_REQUEST, f"height {height:,d} out of range (tip {self.index.height:,d})"
            )
        return self.chain.block(self.index.block_hash_at(height)).txids

    def get_merkle(self, params: tuple[JsonValue, ...]) -> JsonValue:
        arity("blockchain.transaction.get_merkle", params, 2)
        txid = _hash(params[0], "tx_hash")
        height = _int(params[1], "height")
        txids = self._block_txids(height)
        if txid not in txids:
            raise ElectrumRpcError(BAD_REQUEST, f"tx {txid} not in block at height {height:,d}")
        position = txids.index(txid)
        branch, _root = merkle_branch_and_root([bytes.fromhex(t)[::-1] for t in txids], position)
        return {"block_height": height, "merkle": [display_hex(node) for node in branch], "pos": position}

    def id_from_pos(self, params: tuple[JsonValue, ...]) -> JsonValue:
        arity("blockchain.transaction.id_from_pos", params, 2, 1)
        height = _int(params[0], "height")
        tx_pos = _int(params[1], "tx_pos")
        want_merkle = _bool(params[2], "merkle") if len(params) > 2 else False
        txids = self._block_txids(height)
        if tx_pos >= len(txids):
            raise ElectrumRpcError(
                BAD_REQUEST, f"no tx at position {tx_pos:,d} in block at height {height:,d}"
            )
        if not want_merkle:
            return txids[tx_pos]
        branch, _root = merkle_branch_and_root([bytes.fromhex(t)[::-1] for t in txids], tx_pos)
        return {"tx_hash": txids[tx_pos], "merkle": [display_hex(node) for node in branch]}
