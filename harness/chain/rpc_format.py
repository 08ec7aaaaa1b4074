"""bitcoind's JSON for blocks, headers, transactions, scripts (src/rpc/blockchain.cpp, core_write.cpp).

Amounts are emitted in BTC as bitcoind does; fields this chain cannot know (descriptors, sizes on disk...)
are left out rather than invented.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

from bitcoin.core import CTransaction, CTxOut, b2lx, b2x
from bitcoin.core.script import (
    OP_0,
    OP_1NEGATE,
    OP_16,
    OP_PUSHDATA4,
    CScript,
    CScriptInvalidError,
    CScriptOp,
)

from harness.chain.address import script_to_address
from harness.chain.blocks import REGTEST_NBITS, target_from_nbits
from harness.chain.policy import script_type
from harness.chain.store import StoredBlock

COIN = 100_000_000
MAX_MONEY_SAT = 21_000_000 * COIN
JsonObject = dict[str, Any]

# Core names these NOPs after the soft forks that gave them meaning (script.cpp GetOpName).
_OP_RENAMES = {0xB1: "OP_CHECKLOCKTIMEVERIFY", 0xB2: "OP_CHECKSEQUENCEVERIFY"}


class BtcAmount(float):
    """A BTC amount in an RPC reply: a float for Python callers, written as bitcoind writes it.

    bitcoind's ValueFromAmount writes a fixed-point number with 8 decimals (`0.00001000`), never an
    exponent; Core Lightning's bcli plugin parses amounts with json_to_bitcoin_amount, which rejects
    the `1e-05` that json.dumps writes for such a float (lightningd then stops at start).
    """

    amount_sat: int

    def __new__(cls, amount_sat: int) -> BtcAmount:
        value = super().__new__(cls, float(Decimal(amount_sat) / COIN))
        value.amount_sat = amount_sat
        return value

    def json_literal(self) -> str:
        whole, fraction = divmod(abs(self.amount_sat), COIN)
        sign = "-" if self.amount_sat < 0 else ""
        return f"{sign}{whole}.{fraction:08d}"


def btc(amount_sat: int) -> BtcAmount:
    """Satoshis as the BTC number bitcoind prints (8 decimals; exact once multiplied back and rounded)."""
    return BtcAmount(amount_sat)


def dumps_rpc(value: object) -> str:
    """JSON text of an RPC reply, with every BtcAmount in bitcoind's fixed-point form."""
    if isinstance(value, BtcAmount):
        return value.json_literal()
    if isinstance(value, dict):
        items = (f"{json.dumps(str(key))}: {dumps_rpc(item)}" for key, item in value.items())
        return "{" + ", ".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(dumps_rpc(item) for item in value) + "]"
    return json.dumps(value)


def sat_from_btc(value: object) -> int:
    """A JSON amount in BTC (number or string) to satoshis; raises ValueError if not a whole satoshi."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"amount is not a number: {value!r}")
    try:
        amount = Decimal(str(value)) * COIN
    except InvalidOperation as exc:
        raise ValueError(f"invalid amount: {value!r}") from exc
    if not amount.is_finite() or amount != amount.to_integral_value() or not 0 <= amount <= MAX_MONEY_SAT:
        raise ValueError(f"invalid amount: {value!r}")
    return int(amount)


def script_asm(script: bytes) -> str:
    """ScriptToAsmStr (without signature-hash decoding)."""
    parts: list[str] = []
    try:
        for op, data, _index in CScript(script).raw_iter():
            if data is not None and op <= OP_PUSHDATA4:
                parts.append(str(_script_num(data)) if len(data) <= 4 else data.hex())
            elif op == OP_0:
                parts.append("0")
            elif op == OP_1NEGATE:
                parts.append("-1")
            elif 0x51 <= op <= OP_16:
                parts.append(str(op - 0x50))
            else:
                parts.append(_OP_RENAMES.get(op, str(CScriptOp(op))))
    except CScriptInvalidError:
        parts.append("[error]")
    return " ".join(parts)


def _script_num(data: bytes) -> int:
    if not data:
        return 0
    value = int.from_bytes(data, "little")
    if data[-1] & 0x80:
        return -(value & ~(0x80 << (8 * (len(data) - 1))))
    return value


def script_pubkey_json(script: bytes) -> JsonObject:
    result: JsonObject = {"asm": script_asm(script), "hex": script.hex(), "type": script_type(script)}
    address = script_to_address(script)
    if address is not None:
        result["address"] = address
    return result


def txout_json(out: CTxOut, n: int) -> JsonObject:
    return {"value": btc(out.nValue), "n": n, "scriptPubKey": script_pubkey_json(bytes(out.scriptPubKey))}


def tx_json(tx: CTransaction) -> JsonObject:
    """TxToUniv: the decoded transaction as getrawtransaction/decoderawtransaction print it."""
    raw = tx.serialize()
    stripped_size = len(tx.serialize({"include_witness": False}))
    weight = stripped_size * 3 + len(raw)
    vin: list[JsonObject] = []
    for index, txin in enumerate(tx.vin):
        item: JsonObject
        if tx.is_coinbase():
            item = {"coinbase": bytes(txin.scriptSig).hex()}
        else:
            item = {
                "txid": b2lx(txin.prevout.hash),
                "vout": txin.prevout.n,
                "scriptSig": {"asm": script_asm(bytes(txin.scriptSig)), "hex": bytes(txin.scriptSig).hex()},
            }
        if tx.has_witness() and index < len(tx.wit.vtxinwit):
            stack = list(tx.wit.vtxinwit[index].scriptWitness.stack)
            if stack:
                item["txinwitness"] = [b2x(element) for element in stack]
        item["sequence"] = txin.nSequence
        vin.append(item)
    return {
        "txid": b2lx(tx.GetTxid()),
        "hash": b2lx(tx.GetHash()),
        "version": tx.nVersion,
        "size": len(raw),
        "vsize": (weight + 3) // 4,
        "weight": weight,
        "locktime": tx.nLockTime,
        "vin": vin,
        "vout": [txout_json(out, n) for n, out in enumerate(tx.vout)],
        "hex": raw.hex(),
    }


def chainwork_hex(height: int) -> str:
    # Every regtest block has the same work, 2**256 // (target + 1).
    work_per_block = 2**256 // (target_from_nbits(REGTEST_NBITS) + 1)
    return f"{work_per_block * (height + 1):064x}"


def difficulty(nbits: int) -> float:
    return target_from_nbits(0x1D00FFFF) / target_from_nbits(nbits)


def header_json(
    block: StoredBlock, confirmations: int, median_time: int, next_hash: str | None
) -> JsonObject:
    header = block.block
    result: JsonObject = {
        "hash": block.hash_hex,
        "confirmations": confirmations,
        "height": block.height,
        "version": header.nVersion,
        "versionHex": f"{header.nVersion & 0xFFFFFFFF:08x}",
        "merkleroot": b2lx(header.hashMerkleRoot),
        "time": header.nTime,
        "mediantime": median_time,
        "nonce": header.nNonce,
        "bits": f"{header.nBits:08x}",
        "target": f"{target_from_nbits(header.nBits):064x}",
        "difficulty": difficulty(header.nBits),
        "chainwork": chainwork_hex(block.height),
        "nTx": len(block.txs),
    }
    if block.height > 0:
        result["previousblockhash"] = b2lx(header.hashPrevBlock)
    if next_hash is not None:
        result["nextblockhash"] = next_hash
    return result


def block_json(block: StoredBlock, header: JsonObject, verbosity: int) -> JsonObject:
    result = dict(header)
    stripped = len(block.block.serialize({"include_witness": False}))
    result["strippedsize"] = stripped
    result["size"] = len(block.raw)
    result["weight"] = stripped * 3 + len(block.raw)
    if verbosity >= 2:
        result["tx"] = [tx_json(tx) for tx in block.txs]
    else:
        result["tx"] = list(block.txids)
    return result
