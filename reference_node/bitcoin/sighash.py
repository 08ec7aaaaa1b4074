"""Signature hashes: BIP143 (segwit v0) for every sighash type, and the legacy algorithm.

The legacy algorithm is needed for P2PKH inputs (BOLT 3 Appendix B funds from a P2PKH coinbase).
"""

from __future__ import annotations

from enum import IntEnum

from reference_node.bitcoin.encoding import compact_size, var_bytes
from reference_node.bitcoin.hashes import sha256d
from reference_node.bitcoin.script import Op
from reference_node.bitcoin.tx import Tx, TxOut

SIGHASH_MASK = 0x1F
_ZERO32 = bytes(32)
# Bitcoin Core returns uint256(1) for SIGHASH_SINGLE without a matching output (the "SINGLE bug").
_LEGACY_SINGLE_BUG_HASH = (1).to_bytes(32, "little")


_PUSHDATA_WIDTH: dict[int, int] = {Op.OP_PUSHDATA1: 1, Op.OP_PUSHDATA2: 2, Op.OP_PUSHDATA4: 4}


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
    code = _script_code_serialization(script_code)
    indices = [input_index] if anyone_can_pay else range(len(tx.inputs))
    parts = [tx.version.to_bytes(4, "little", signed=True), compact_size(len(indices))]
    for i in indices:
        txin = tx.inputs[i]
        parts.append(txin.prevout.serialize())
        parts.append(code if i == input_index else b"\x00")
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


def _script_code_serialization(script: bytes) -> bytes:
    """Core's SerializeScriptCode: the script without OP_CODESEPARATOR opcodes (bytes inside pushes stay),
    prefixed by its length. Core declares len(script) - separators but, at a truncated push, writes only up
    to the truncated opcode's length field; that quirk is reproduced so the digest is Core's."""
    kept = bytearray()
    start = 0
    offset = 0
    separators = 0
    end = len(script)
    while offset < end:
        opcode = script[offset]
        offset += 1
        push_len, width = _push_length(script, offset, opcode)
        if width < 0:
            break  # truncated length field: Core stops right after the opcode
        if offset + width + push_len > end:
            offset += width  # truncated data: Core stops after the length field
            break
        offset += width + push_len
        if opcode == Op.OP_CODESEPARATOR:
            separators += 1
            kept += script[start : offset - 1]
            start = offset
    kept += script[start:offset]
    return compact_size(end - separators) + bytes(kept)


def _push_length(script: bytes, offset: int, opcode: int) -> tuple[int, int]:
    """(data length, size of the length field) of a push opcode; (0, 0) for other opcodes; width -1 if the
    length field itself is truncated."""
    if opcode < Op.OP_PUSHDATA1:
        return opcode, 0
    width = _PUSHDATA_WIDTH.get(opcode, 0)
    if width == 0:
        return 0, 0
    if offset + width > len(script):
        return 0, -1
    return int.from_bytes(script[offset : offset + width], "little"), width
