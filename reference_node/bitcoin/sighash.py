"""Signature hashes: BIP143 (segwit v0) for every sighash type, and the legacy algorithm.

The legacy algorithm is needed for P2PKH inputs (BOLT 3 Appendix B funds from a P2PKH coinbase).
"""

from __future__ import annotations

from enum import IntEnum

from reference_node.bitcoin.encoding import ByteReader, compact_size, var_bytes
from reference_node.bitcoin.errors import TxParseError
from reference_node.bitcoin.hashes import sha256d
from reference_node.bitcoin.script import Op
from reference_node.bitcoin.tx import Tx, TxOut

SIGHASH_MASK = 0x1F
_ZERO32 = bytes(32)
# Bitcoin Core returns uint256(1) for SIGHASH_SINGLE without a matching output (the "SINGLE bug").
_LEGACY_SINGLE_BUG_HASH = (1).to_bytes(32, "little")


class SighashType(IntEnum):
    ALL = 0x01
    NONE = 0x02
    SINGLE = 0x03
    ALL_ANYONECANPAY = 0x81
    NONE_ANYONECANPAY = 0x82
    SINGLE_ANYONECANPAY = 0x83


ANYONECANPAY = 0x80


def bip143_sighash(tx: Tx, input_index: int, script_code: bytes, amount_sat: int, hash_type: int) -> bytes:
    """BIP143 digest for input `input_index` spending `amount_sat` with `script_code` (the witness script
    for P2WSH). Returned in the order ECDSA signs it (not reversed)."""
    base_type = hash_type & SIGHASH_MASK
    anyone_can_pay = bool(hash_type & ANYONECANPAY)
    if anyone_can_pay:
        hash_prevouts = _ZERO32
    else:
        hash_prevouts = sha256d(b"".join(txin.prevout.serialize() for txin in tx.inputs))
    if anyone_can_pay or base_type in (SighashType.SINGLE, SighashType.NONE):
        hash_sequence = _ZERO32
    else:
        hash_sequence = sha256d(b"".join(txin.sequence.to_bytes(4, "little") for txin in tx.inputs))
    if base_type not in (SighashType.SINGLE, SighashType.NONE):
        hash_outputs = sha256d(b"".join(txout.serialize() for txout in tx.outputs))
    elif base_type == SighashType.SINGLE and input_index < len(tx.outputs):
        hash_outputs = sha256d(tx.outputs[input_index].serialize())
    else:
        hash_outputs = _ZERO32
    txin = tx.inputs[input_index]
    preimage = b"".join(
        [
            tx.version.to_bytes(4, "little", signed=True),
            hash_prevouts,
            hash_sequence,
            txin.prevout.serialize(),
            var_bytes(script_code),
            amount_sat.to_bytes(8, "little"),
            txin.sequence.to_bytes(4, "little"),
            hash_outputs,
            tx.locktime.to_bytes(4, "little"),
            (hash_type & 0xFFFFFFFF).to_bytes(4, "little"),
        ]
    )
    return sha256d(preimage)


def legacy_sighash(tx: Tx, input_index: int, script_code: bytes, hash_type: int) -> bytes:
    """Bitcoin Core's original SignatureHash (pre-segwit), SINGLE bug and OP_CODESEPARATOR removal included.
    Returned in signing order; sighash.json prints it reversed."""
    base_type = hash_type & SIGHASH_MASK
    if base_type == SighashType.SINGLE and input_index >= len(tx.outputs):
        return _LEGACY_SINGLE_BUG_HASH
    anyone_can_pay = bool(hash_type & ANYONECANPAY)
    code = _without_codeseparators(script_code)
    indices = [input_index] if anyone_can_pay else range(len(tx.inputs))
    parts = [tx.version.to_bytes(4, "little", signed=True), compact_size(len(indices))]
    for i in indices:
        txin = tx.inputs[i]
        parts.append(txin.prevout.serialize())
        parts.append(var_bytes(code) if i == input_index else b"\x00")
        zero_sequence = i != input_index and base_type in (SighashType.SINGLE, SighashType.NONE)
        parts.append((0 if zero_sequence else txin.sequence).to_bytes(4, "little"))
    if base_type == SighashType.NONE:
        outputs: list[TxOut] = []
    elif base_type == SighashType.SINGLE:
        blank = TxOut(-1, b"")
        outputs = [blank] * input_index + [tx.outputs[input_index]]
    else:
        outputs = list(tx.outputs)
    parts.append(compact_size(len(outputs)))
    parts.extend(txout.serialize() for txout in outputs)
    parts.append(tx.locktime.to_bytes(4, "little"))
    parts.append((hash_type & 0xFFFFFFFF).to_bytes(4, "little"))
    return sha256d(b"".join(parts))


def _without_codeseparators(script: bytes) -> bytes:
    """Drop OP_CODESEPARATOR opcodes (not bytes inside pushes), as Core's SerializeScriptCode does.
    Parsing stops at a truncated push; the rest of the script is then kept unchanged."""
    reader = ByteReader(script)
    kept = bytearray()
    start = 0
    try:
        while not reader.at_end():
            opcode = reader.read(1)[0]
            if 0 < opcode < Op.OP_PUSHDATA1:
                reader.read(opcode)
            elif opcode == Op.OP_PUSHDATA1:
                reader.read(reader.read(1)[0])
            elif opcode == Op.OP_PUSHDATA2:
                reader.read(int.from_bytes(reader.read(2), "little"))
            elif opcode == Op.OP_PUSHDATA4:
                reader.read(reader.u32())
            elif opcode == Op.OP_CODESEPARATOR:
                kept += script[start : reader.offset - 1]
                start = reader.offset
    except TxParseError:
        pass  # a truncated final push: Core stops scanning there and keeps the remaining bytes
    kept += script[start:]
    return bytes(kept)
