"""A small typed transaction model with segwit (BIP144) serialization, txid/wtxid and weight.

`txid`s are held in internal byte order (as serialized in an outpoint); `OutPoint.from_hex` and
`Tx.txid_hex` convert from/to the reversed hex that explorers and the BOLTs print.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property

from reference_node.bitcoin.encoding import ByteReader, compact_size, var_bytes
from reference_node.bitcoin.errors import TxParseError
from reference_node.bitcoin.hashes import sha256d

SEQUENCE_FINAL = 0xFFFFFFFF
WITNESS_SCALE_FACTOR = 4


@dataclass(frozen=True)
class OutPoint:
    txid: bytes  # internal byte order (reverse of the displayed hex)
    index: int

    @classmethod
    def from_hex(cls, txid_hex: str, index: int) -> OutPoint:
        """Build from the displayed (big-endian) txid hex."""
        return cls(bytes.fromhex(txid_hex)[::-1], index)

    @property
    def txid_hex(self) -> str:
        return self.txid[::-1].hex()

    def serialize(self) -> bytes:
        return self.txid + self.index.to_bytes(4, "little")


@dataclass(frozen=True)
class TxIn:
    prevout: OutPoint
    sequence: int = SEQUENCE_FINAL
    script_sig: bytes = b""
    witness: tuple[bytes, ...] = ()


@dataclass(frozen=True)
class TxOut:
    amount_sat: int
    script_pubkey: bytes

    def serialize(self) -> bytes:
        return self.amount_sat.to_bytes(8, "little", signed=True) + var_bytes(self.script_pubkey)


@dataclass(frozen=True)
class Tx:
    version: int
    inputs: tuple[TxIn, ...]
    outputs: tuple[TxOut, ...]
    locktime: int = 0
    _cache: dict[str, bytes] = field(default_factory=dict, init=False, compare=False, repr=False, hash=False)

    # -- serialization -------------------------------------------------------------------------
    def has_witness(self) -> bool:
        return any(txin.witness for txin in self.inputs)

    def serialize_without_witness(self) -> bytes:
        cached = self._cache.get("legacy")
        if cached is None:
            cached = b"".join(
                [
                    self.version.to_bytes(4, "little", signed=True),
                    self._body(),
                    self.locktime.to_bytes(4, "little"),
                ]
            )
            self._cache["legacy"] = cached
        return cached

    def serialize(self) -> bytes:
        """BIP144 serialization (marker 0x00, flag 0x01) when any input has a witness."""
        if not self.has_witness():
            return self.serialize_without_witness()
        cached = self._cache.get("full")
        if cached is None:
            witnesses = b"".join(
                compact_size(len(txin.witness)) + b"".join(var_bytes(item) for item in txin.witness)
                for txin in self.inputs
            )
            cached = b"".join(
                [
                    self.version.to_bytes(4, "little", signed=True),
                    b"\x00\x01",
                    self._body(),
                    witnesses,
                    self.locktime.to_bytes(4, "little"),
                ]
            )
            self._cache["full"] = cached
        return cached

    def _body(self) -> bytes:
        ins = b"".join(
            txin.prevout.serialize() + var_bytes(txin.script_sig) + txin.sequence.to_bytes(4, "little")
            for txin in self.inputs
        )
        outs = b"".join(txout.serialize() for txout in self.outputs)
        return compact_size(len(self.inputs)) + ins + compact_size(len(self.outputs)) + outs

    # -- identifiers and size ------------------------------------------------------------------
    def txid(self) -> bytes:
        """Internal byte order; use txid_hex for display."""
        return sha256d(self.serialize_without_witness())

    @property
    def txid_hex(self) -> str:
        return self.txid()[::-1].hex()

    def wtxid(self) -> bytes:
        return sha256d(self.serialize())

    @cached_property
    def weight(self) -> int:
        """BIP141 weight: base size x 3 + total size."""
        return len(self.serialize_without_witness()) * (WITNESS_SCALE_FACTOR - 1) + len(self.serialize())

    @property
    def vsize(self) -> int:
        return (self.weight + WITNESS_SCALE_FACTOR - 1) // WITNESS_SCALE_FACTOR

    # -- functional updates --------------------------------------------------------------------
    def with_witness(self, input_index: int, witness: tuple[bytes, ...]) -> Tx:
        inputs = list(self.inputs)
        inputs[input_index] = replace(inputs[input_index], witness=witness)
        return Tx(self.version, tuple(inputs), self.outputs, self.locktime)

    def with_script_sig(self, input_index: int, script_sig: bytes) -> Tx:
        inputs = list(self.inputs)
        inputs[input_index] = replace(inputs[input_index], script_sig=script_sig)
        return Tx(self.version, tuple(inputs), self.outputs, self.locktime)

    # -- parsing -------------------------------------------------------------------------------
    @classmethod
    def parse(cls, data: bytes) -> Tx:
        """Parse a legacy or BIP144 serialization; raises TxParseError on malformed or trailing data."""
        reader = ByteReader(data)
        version = reader.i32()
        segwit = reader.peek(1) == b"\x00"
        if segwit:
            marker_flag = reader.read(2)
            if marker_flag[1] != 0x01:
                raise TxParseError(f"bad segwit flag byte {marker_flag[1]:#04x}")
        inputs = [_parse_input(reader) for _ in range(reader.compact_size())]
        outputs = [TxOut(reader.i64(), reader.var_bytes()) for _ in range(reader.compact_size())]
        if segwit:
            for i, txin in enumerate(inputs):
                items = tuple(reader.var_bytes() for _ in range(reader.compact_size()))
                inputs[i] = replace(txin, witness=items)
            if not any(txin.witness for txin in inputs):
                raise TxParseError("segwit marker present but every witness is empty")
        locktime = reader.u32()
        if not reader.at_end():
            raise TxParseError(f"{len(data) - reader.offset} trailing bytes after the transaction")
        return cls(version, tuple(inputs), tuple(outputs), locktime)

    @classmethod
    def from_hex(cls, tx_hex: str) -> Tx:
        return cls.parse(bytes.fromhex(tx_hex))


def _parse_input(reader: ByteReader) -> TxIn:
    prevout = OutPoint(reader.read(32), reader.u32())
    script_sig = reader.var_bytes()
    return TxIn(prevout, reader.u32(), script_sig)
