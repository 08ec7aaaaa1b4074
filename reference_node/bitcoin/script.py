"""Script building: opcodes, minimal pushes and script numbers (BIP62 minimal encodings)."""

from __future__ import annotations

from enum import IntEnum

from reference_node.bitcoin.encoding import ByteReader
from reference_node.bitcoin.errors import ScriptError, TxParseError


class Op(IntEnum):
    """The opcodes the BOLT scripts and standard outputs use."""

    OP_0 = 0x00
    OP_PUSHDATA1 = 0x4C
    OP_PUSHDATA2 = 0x4D
    OP_PUSHDATA4 = 0x4E
    OP_1NEGATE = 0x4F
    OP_1 = 0x51
    OP_2 = 0x52
    OP_3 = 0x53
    OP_16 = 0x60
    OP_NOP = 0x61
    OP_IF = 0x63
    OP_NOTIF = 0x64
    OP_ELSE = 0x67
    OP_ENDIF = 0x68
    OP_VERIFY = 0x69
    OP_RETURN = 0x6A
    OP_IFDUP = 0x73
    OP_DROP = 0x75
    OP_DUP = 0x76
    OP_SWAP = 0x7C
    OP_SIZE = 0x82
    OP_EQUAL = 0x87
    OP_EQUALVERIFY = 0x88
    OP_RIPEMD160 = 0xA6
    OP_SHA256 = 0xA8
    OP_HASH160 = 0xA9
    OP_CODESEPARATOR = 0xAB
    OP_CHECKSIG = 0xAC
    OP_CHECKSIGVERIFY = 0xAD
    OP_CHECKMULTISIG = 0xAE
    OP_CHECKLOCKTIMEVERIFY = 0xB1
    OP_CHECKSEQUENCEVERIFY = 0xB2


ScriptItem = Op | bytes | int


def push_data(data: bytes) -> bytes:
    """The minimal push of `data` as bytes (not as a number)."""
    n = len(data)
    if n < Op.OP_PUSHDATA1:
        return bytes((n,)) + data
    if n <= 0xFF:
        return bytes((Op.OP_PUSHDATA1, n)) + data
    if n <= 0xFFFF:
        return bytes((Op.OP_PUSHDATA2,)) + n.to_bytes(2, "little") + data
    if n <= 0xFFFFFFFF:
        return bytes((Op.OP_PUSHDATA4,)) + n.to_bytes(4, "little") + data
    raise ScriptError(f"push of {n} bytes is too large")


def script_num(n: int) -> bytes:
    """CScriptNum encoding: little-endian magnitude, sign bit in the last byte."""
    if n == 0:
        return b""
    negative = n < 0
    magnitude = -n if negative else n
    out = bytearray()
    while magnitude:
        out.append(magnitude & 0xFF)
        magnitude >>= 8
    if out[-1] & 0x80:
        out.append(0x80 if negative else 0x00)
    elif negative:
        out[-1] |= 0x80
    return bytes(out)


def push_int(n: int) -> bytes:
    """The minimal push of the number n (OP_0, OP_1NEGATE, OP_1..OP_16, else a script number push)."""
    if n == 0:
        return bytes((Op.OP_0,))
    if n == -1:
        return bytes((Op.OP_1NEGATE,))
    if 1 <= n <= 16:
        return bytes((Op.OP_1 + n - 1,))
    return push_data(script_num(n))


def build_script(*items: ScriptItem) -> bytes:
    """Concatenate opcodes, data pushes (bytes) and number pushes (int, not Op)."""
    out = bytearray()
    for item in items:
        if isinstance(item, Op):
            out.append(item)
        elif isinstance(item, bytes):
            out += push_data(item)
        elif isinstance(item, int):
            out += push_int(item)
        else:
            raise ScriptError(f"cannot put {type(item).__name__} in a script")
    return bytes(out)


def parse_pushes(script: bytes) -> list[bytes | int]:
    """Split a script into pushed data (bytes) and opcodes (int); raises ScriptError if truncated."""
    reader = ByteReader(script)
    items: list[bytes | int] = []
    try:
        while not reader.at_end():
            opcode = reader.read(1)[0]
            if opcode < Op.OP_PUSHDATA1:  # OP_0 pushes the empty vector
                items.append(reader.read(opcode))
            elif opcode == Op.OP_PUSHDATA1:
                items.append(reader.read(reader.read(1)[0]))
            elif opcode == Op.OP_PUSHDATA2:
                items.append(reader.read(int.from_bytes(reader.read(2), "little")))
            elif opcode == Op.OP_PUSHDATA4:
                items.append(reader.read(reader.u32()))
            else:
                items.append(opcode)
    except TxParseError as exc:
        raise ScriptError(f"truncated script: {exc}") from exc
    return items
