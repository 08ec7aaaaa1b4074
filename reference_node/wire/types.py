"""BOLT 1 "Fundamental Types" and array shapes, each a codec object.

A codec reads from a `Reader`, writes to a bytearray, checks a Python value before encoding, and
converts to and from the JSON-friendly form scenarios and traces use (hex for bytes). Message,
TLV record and subtype classes annotate each field with one of these codecs
(`Annotated[int, U64]`); `struct.py` compiles those annotations into generic encoders/decoders.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeGuard, TypeVar

import coincurve

from reference_node.wire.bigsize import BIGSIZE_MAX, decode_bigsize, encode_bigsize
from reference_node.wire.errors import (
    FieldValueError,
    InvalidPointError,
    InvalidUtf8Error,
    NonMinimalTruncatedIntError,
    TlvLengthError,
    TruncatedError,
)
from reference_node.wire.scid import ShortChannelId

T = TypeVar("T")


class Reader:
    """A cursor over immutable bytes; every short read raises TruncatedError."""

    __slots__ = ("data", "end", "pos")

    def __init__(self, data: bytes, pos: int = 0, end: int | None = None) -> None:
        self.data = data
        self.pos = pos
        self.end = len(data) if end is None else end

    def remaining(self) -> int:
        return self.end - self.pos

    def take(self, size: int, where: str) -> bytes:
        stop = self.pos + size
        if stop > self.end:
            raise TruncatedError(f"needs {size} bytes, {self.end - self.pos} remain", where=where)
        chunk = self.data[self.pos : stop]
        self.pos = stop
        return chunk

    def rest(self) -> bytes:
        chunk = self.data[self.pos : self.end]
        self.pos = self.end
        return chunk

    def bigsize(self, where: str) -> int:
        value, self.pos = decode_bigsize(self.data, self.pos, end=self.end, where=where)
        return value


def hex_to_bytes(raw: Any, where: str) -> bytes:
    if isinstance(raw, bytes | bytearray):
        return bytes(raw)
    if not isinstance(raw, str):
        raise FieldValueError(f"expected a hex string, got {type(raw).__name__}", where=where)
    try:
        return bytes.fromhex(raw.removeprefix("0x"))
    except ValueError as exc:
        raise FieldValueError(f"not valid hex: {raw!r}", where=where) from exc


def _is_int(value: object) -> TypeGuard[int]:
    """An int (IntEnum/IntFlag members included) but not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


class Codec(ABC, Generic[T]):
    """How one field (or array element) is represented on the wire and in Python/JSON."""

    spec_name: str
    size: int | None = None  # encoded size when fixed, else None

    @abstractmethod
    def read(self, reader: Reader, where: str) -> T: ...

    @abstractmethod
    def write(self, value: T, out: bytearray) -> None: ...

    @abstractmethod
    def check(self, value: object, where: str) -> None:
        """Raise FieldValueError unless `value` is encodable by this codec."""

    def to_json(self, value: T) -> Any:
        return value

    @abstractmethod
    def from_json(self, raw: Any, where: str) -> T: ...

    def consumes_rest(self) -> bool:
        """True for codecs that take every remaining byte (tu*, `...*` arrays): last in a record."""
        return False


class UIntCodec(Codec[int]):
    """byte/u8, u16, u32, u64: fixed-width unsigned big-endian (BOLT 1: "unsigned big-endian")."""

    def __init__(self, spec_name: str, size: int) -> None:
        self.spec_name = spec_name
        self.size = size
        self._max = (1 << (8 * size)) - 1

    def read(self, reader: Reader, where: str) -> int:
        return int.from_bytes(reader.take(self.size or 0, where), "big")

    def write(self, value: int, out: bytearray) -> None:
        out += value.to_bytes(self.size or 0, "big")

    def check(self, value: object, where: str) -> None:
        if not _is_int(value) or not 0 <= value <= self._max:
            raise FieldValueError(
                f"{self.spec_name} must be an int in 0..{self._max}, got {value!r}", where=where
            )

    def from_json(self, raw: Any, where: str) -> int:
        if not isinstance(raw, int) or isinstance(raw, bool):
            raise FieldValueError(f"{self.spec_name} must be an integer, got {raw!r}", where=where)
        self.check(raw, where)
        return int(raw)


class SIntCodec(Codec[int]):
    """s8, s16, s32, s64: big-endian two's complement (BOLT 1 Appendix D)."""

    def __init__(self, spec_name: str, size: int) -> None:
        self.spec_name = spec_name
        self.size = size
        self._min = -(1 << (8 * size - 1))
        self._max = (1 << (8 * size - 1)) - 1

    def read(self, reader: Reader, where: str) -> int:
        return int.from_bytes(reader.take(self.size or 0, where), "big", signed=True)

    def write(self, value: int, out: bytearray) -> None:
        out += value.to_bytes(self.size or 0, "big", signed=True)

    def check(self, value: object, where: str) -> None:
        if not _is_int(value) or not self._min <= value <= self._max:
            raise FieldValueError(
                f"{self.spec_name} must be an int in {self._min}..{self._max}, got {value!r}", where=where
            )

    def from_json(self, raw: Any, where: str) -> int:
        if not isinstance(raw, int) or isinstance(raw, bool):
            raise FieldValueError(f"{self.spec_name} must be an integer, got {raw!r}", where=where)
        self.check(raw, where)
        return int(raw)


class TruncatedUIntCodec(UIntCodec):
    """tu16, tu32, tu64: the final value of a TLV record, leading zero bytes omitted (BOLT 1)."""

    def read(self, reader: Reader, where: str) -> int:
        width = reader.remaining()
        if width > (self.size or 0):
            # Only TLV records end in a truncated integer, so the record is longer than its encoding.
            raise TlvLengthError(f"{width} bytes is greater than {self.spec_name}'s {self.size}", where=where)
        raw = reader.rest()
        if raw[:1] == b"\x00":
            raise NonMinimalTruncatedIntError(f"{self.spec_name} has a leading zero byte", where=where)
        return int.from_bytes(raw, "big")

    def write(self, value: int, out: bytearray) -> None:
        out += value.to_bytes((value.bit_length() + 7) // 8, "big")

    def consumes_rest(self) -> bool:
        return True


class BigSizeCodec(Codec[int]):
    spec_name = "bigsize"

    def read(self, reader: Reader, where: str) -> int:
        return reader.bigsize(where)

    def write(self, value: int, out: bytearray) -> None:
        out += encode_bigsize(value)

    def check(self, value: object, where: str) -> None:
        if not _is_int(value) or not 0 <= value <= BIGSIZE_MAX:
            raise FieldValueError(f"bigsize must be an int in 0..2^64-1, got {value!r}", where=where)

    def from_json(self, raw: Any, where: str) -> int:
        if not isinstance(raw, int) or isinstance(raw, bool):
            raise FieldValueError(f"{self.spec_name} must be an integer, got {raw!r}", where=where)
        self.check(raw, where)
        return int(raw)


class FixedBytesCodec(Codec[bytes]):
    """chain_hash, channel_id, sha256, signature, bip340sig, `N*byte`: exactly `size` bytes."""

    def __init__(self, spec_name: str, size: int) -> None:
        self.spec_name = spec_name
        self.size = size

    def read(self, reader: Reader, where: str) -> bytes:
        return reader.take(self.size or 0, where)

    def write(self, value: bytes, out: bytearray) -> None:
        out += value

    def check(self, value: object, where: str) -> None:
        if not isinstance(value, bytes) or len(value) != self.size:
            got = f"{len(value)} bytes" if isinstance(value, bytes) else type(value).__name__
            raise FieldValueError(f"{self.spec_name} must be {self.size} bytes, got {got}", where=where)

    def to_json(self, value: bytes) -> Any:
        return value.hex()

    def from_json(self, raw: Any, where: str) -> bytes:
        value = hex_to_bytes(raw, where)
        self.check(value, where)
        return value


class PointCodec(FixedBytesCodec):
    """`point`: 33-byte compressed SEC1 point, checked to be on secp256k1 when decoded."""

    def __init__(self) -> None:
        super().__init__("point", 33)

    def read(self, reader: Reader, where: str) -> bytes:
        raw = reader.take(33, where)
        if raw[0] not in (2, 3):
            raise InvalidPointError(f"not a compressed point (prefix {raw[0]:#04x})", where=where)
        try:
            coincurve.PublicKey(raw)
        except ValueError as exc:
            raise InvalidPointError("not a point on secp256k1", where=where) from exc
        return raw


class ShortChannelIdCodec(Codec[ShortChannelId]):
    spec_name = "short_channel_id"
    size = 8

    def read(self, reader: Reader, where: str) -> ShortChannelId:
        return ShortChannelId.from_bytes(reader.take(8, where))

    def write(self, value: ShortChannelId, out: bytearray) -> None:
        out += value.to_bytes()

    def check(self, value: object, where: str) -> None:
        if not isinstance(value, ShortChannelId):
            raise FieldValueError(f"short_channel_id must be a ShortChannelId, got {value!r}", where=where)

    def to_json(self, value: ShortChannelId) -> Any:
        return str(value)

    def from_json(self, raw: Any, where: str) -> ShortChannelId:
        try:
            if isinstance(raw, int) and not isinstance(raw, bool):
                return ShortChannelId.from_int(raw)
            if isinstance(raw, str):
                return ShortChannelId.from_str(raw)
        except ValueError as exc:
            raise FieldValueError(str(exc), where=where) from exc
        raise FieldValueError(f"short_channel_id must be 'BxTxO' or an int, got {raw!r}", where=where)


@dataclass(frozen=True)
class ShortChannelIdDir:
    """The 9-byte form of `sciddir_or_pubkey` (BOLT 1): `direction` 0 refers to `node_id_1` of the
    `channel_announcement` for `short_channel_id`, 1 to `node_id_2`."""

    direction: int
    short_channel_id: ShortChannelId


class SciddirOrPubkeyCodec(Codec[Any]):
    """`sciddir_or_pubkey`: a ShortChannelIdDir (first byte 0 or 1, 9 bytes) or a 33-byte point (2 or 3)."""

    spec_name = "sciddir_or_pubkey"

    def read(self, reader: Reader, where: str) -> ShortChannelIdDir | bytes:
        first = reader.take(1, where)[0]
        if first in (0, 1):
            return ShortChannelIdDir(first, ShortChannelId.from_bytes(reader.take(8, where)))
        reader.pos -= 1
        return POINT.read(reader, where)

    def write(self, value: ShortChannelIdDir | bytes, out: bytearray) -> None:
        if isinstance(value, ShortChannelIdDir):
            out.append(value.direction)
            out += value.short_channel_id.to_bytes()
        else:
            out += value

    def check(self, value: object, where: str) -> None:
        if isinstance(value, ShortChannelIdDir):
            if value.direction not in (0, 1) or not isinstance(value.short_channel_id, ShortChannelId):
                raise FieldValueError(f"bad sciddir {value!r}", where=where)
        else:
            POINT.check(value, where)

    def to_json(self, value: ShortChannelIdDir | bytes) -> Any:
        if isinstance(value, ShortChannelIdDir):
            return {"direction": value.direction, "short_channel_id": str(value.short_channel_id)}
        return value.hex()

    def from_json(self, raw: Any, where: str) -> ShortChannelIdDir | bytes:
        if isinstance(raw, Mapping):
            if set(raw) != {"direction", "short_channel_id"}:
                raise FieldValueError(
                    "sciddir is {'direction': 0|1, 'short_channel_id': 'BxTxO'}", where=where
                )
            value: ShortChannelIdDir | bytes = ShortChannelIdDir(
                raw["direction"], SHORT_CHANNEL_ID.from_json(raw["short_channel_id"], where)
            )
        else:
            value = POINT.from_json(raw, where)
        self.check(value, where)
        return value


class Utf8Codec(Codec[str]):
    """One `utf8` byte. Only meaningful in arrays (`len*utf8`, `...*utf8`), which ArrayCodec turns
    into a str; read alone it is a 1-byte string that must itself be valid UTF-8 (ASCII)."""

    spec_name = "utf8"
    size = 1

    def read(self, reader: Reader, where: str) -> str:
        return decode_utf8(reader.take(1, where), where)

    def write(self, value: str, out: bytearray) -> None:
        out += value.encode("utf-8")

    def check(self, value: object, where: str) -> None:
        if not isinstance(value, str) or len(value.encode("utf-8")) != 1:
            raise FieldValueError(f"utf8 must be a one-byte str, got {value!r}", where=where)

    def from_json(self, raw: Any, where: str) -> str:
        self.check(raw, where)
        return str(raw)


def decode_utf8(raw: bytes, where: str) -> str:
    """BOLT 1 `utf8`: "a reader MAY reject any messages containing an array of these which is not a
    valid UTF-8 string"; this reader does, with InvalidUtf8Error."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidUtf8Error(str(exc), where=where) from exc


# --- array shapes: `N*type`, `len*type` (count in a preceding field), `...*type` ---------------


class ArrayCodec(Codec[Any]):
    """A sequence of `element`: bytes when the element is `byte`, str when it is `utf8` (counts are
    then in bytes), else a tuple.

    `count` is an int (N*type), the spec name of a count field written just before the array
    (len*type: `count_codec` encodes it), or None (`...*type`: all remaining bytes).
    """

    def __init__(
        self, element: Codec[Any], count: int | str | None, count_codec: UIntCodec | None = None
    ) -> None:
        self.element = element
        self.count = count
        self.count_codec = count_codec
        self.is_text = isinstance(element, Utf8Codec)
        self.is_bytes = self.is_text or (
            element.spec_name in ("byte", "u8") and isinstance(element, UIntCodec)
        )
        count_text = "..." if count is None else str(count)
        self.spec_name = f"{count_text}*{element.spec_name}"
        if isinstance(count, int) and element.size is not None:
            self.size = count * element.size
        else:
            self.size = None

    def consumes_rest(self) -> bool:
        return self.count is None

    def _read_n(self, reader: Reader, n: int, where: str) -> Any:
        if self.is_bytes:
            return reader.take(n, where)
        return tuple(self.element.read(reader, f"{where}[{i}]") for i in range(n))

    def read(self, reader: Reader, where: str) -> Any:
        value = self._read_value(reader, where)
        return decode_utf8(value, where) if self.is_text else value

    def _read_value(self, reader: Reader, where: str) -> Any:
        if isinstance(self.count, int):
            return self._read_n(reader, self.count, where)
        if isinstance(self.count, str):
            assert self.count_codec is not None
            return self._read_n(reader, self.count_codec.read(reader, f"{where}.{self.count}"), where)
        if self.is_bytes:
            return reader.rest()
        items: list[Any] = []
        while reader.remaining():
            items.append(self.element.read(reader, f"{where}[{len(items)}]"))
        return tuple(items)

    def write(self, value: Any, out: bytearray) -> None:
        if self.is_text:
            value = value.encode("utf-8")
        if isinstance(self.count, str):
            assert self.count_codec is not None
            self.count_codec.write(len(value), out)
        if self.is_bytes:
            out += value
            return
        for item in value:
            self.element.write(item, out)

    def check(self, value: object, where: str) -> None:
        if self.is_text:
            if not isinstance(value, str):
                raise FieldValueError(
                    f"{self.spec_name} must be a str, got {type(value).__name__}", where=where
                )
            value = value.encode("utf-8")
        if self.is_bytes:
            if not isinstance(value, bytes):
                raise FieldValueError(
                    f"{self.spec_name} must be bytes, got {type(value).__name__}", where=where
                )
        elif not isinstance(value, tuple):
            raise FieldValueError(
                f"{self.spec_name} must be a tuple, got {type(value).__name__}", where=where
            )
        assert isinstance(value, bytes | tuple)
        if isinstance(self.count, int) and len(value) != self.count:
            raise FieldValueError(f"{self.spec_name} needs {self.count} items, got {len(value)}", where=where)
        if self.count_codec is not None:
            self.count_codec.check(len(value), f"{where} ({self.count})")
        if not self.is_bytes:
            for i, item in enumerate(value):
                self.element.check(item, f"{where}[{i}]")

    def to_json(self, value: Any) -> Any:
        if self.is_text:
            return value
        if self.is_bytes:
            return bytes(value).hex()
        return [self.element.to_json(item) for item in value]

    def from_json(self, raw: Any, where: str) -> Any:
        if self.is_text:
            value: Any = raw
        elif self.is_bytes:
            value = hex_to_bytes(raw, where)
        else:
            if not isinstance(raw, Sequence) or isinstance(raw, str | bytes):
                raise FieldValueError(
                    f"{self.spec_name} must be a list, got {type(raw).__name__}", where=where
                )
            value = tuple(self.element.from_json(item, f"{where}[{i}]") for i, item in enumerate(raw))
        self.check(value, where)
        return value


# --- the fundamental types, by their spec names ----------------------------------------------

BYTE = UIntCodec("byte", 1)
U8 = UIntCodec("u8", 1)  # BOLT 2 `stfu` writes `u8` for a byte-sized integer
U16 = UIntCodec("u16", 2)
U32 = UIntCodec("u32", 4)
U64 = UIntCodec("u64", 8)
S8 = SIntCodec("s8", 1)
S16 = SIntCodec("s16", 2)
S32 = SIntCodec("s32", 4)
S64 = SIntCodec("s64", 8)
TU16 = TruncatedUIntCodec("tu16", 2)
TU32 = TruncatedUIntCodec("tu32", 4)
TU64 = TruncatedUIntCodec("tu64", 8)
BIGSIZE = BigSizeCodec()
CHAIN_HASH = FixedBytesCodec("chain_hash", 32)
CHANNEL_ID = FixedBytesCodec("channel_id", 32)
SHA256 = FixedBytesCodec("sha256", 32)
SHA256_TRUNC4 = FixedBytesCodec("sha256[..4]", 4)  # BOLT 2 attribution_data: first 4 bytes of an HMAC
SIGNATURE = FixedBytesCodec("signature", 64)
BIP340SIG = FixedBytesCodec("bip340sig", 64)
POINT = PointCodec()
SHORT_CHANNEL_ID = ShortChannelIdCodec()
UTF8 = Utf8Codec()
SCIDDIR_OR_PUBKEY = SciddirOrPubkeyCodec()


def fixed(count: int, element: Codec[Any]) -> ArrayCodec:
    """`count*element`, e.g. fixed(32, BYTE) for [`32*byte`:...]."""
    return ArrayCodec(element, count)


def counted(count_field: str, element: Codec[Any], count_codec: UIntCodec = U16) -> ArrayCodec:
    """`count_field*element` whose count is the spec field `count_field` written just before it."""
    return ArrayCodec(element, count_field, count_codec)


def rest(element: Codec[Any]) -> ArrayCodec:
    """`...*element`: every remaining byte of the TLV record."""
    return ArrayCodec(element, None)
