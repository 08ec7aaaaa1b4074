"""Exceptions of the wire layer (BOLT 1, BOLT 9).

Every error raised while decoding or encoding a message, a TLV stream or a feature vector is a
`WireError`, so a connection handler can catch exactly one type and close the connection (BOLT 1:
"upon receiving a known message with insufficient length for the contents: MUST close the
connection"). Subclasses say what went wrong; `where` names the message, field or TLV record.
"""

from __future__ import annotations


class WireError(Exception):
    """Base of every wire-layer error."""

    def __init__(self, message: str, *, where: str = "") -> None:
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


class DecodeError(WireError):
    """Bytes received from a peer are not a valid encoding."""


class TruncatedError(DecodeError):
    """Fewer bytes remain than the field needs ("unexpected EOF")."""


class NonCanonicalBigSizeError(DecodeError):
    """A BigSize value was not minimally encoded (BOLT 1 Appendix A)."""


class NonMinimalTruncatedIntError(DecodeError):
    """A tu16/tu32/tu64 has a leading zero byte (BOLT 1: "Leading zeros ... MUST be omitted")."""


class InvalidPointError(DecodeError):
    """A `point` field is not a valid compressed secp256k1 public key."""


class InvalidUtf8Error(DecodeError):
    """A `utf8` array is not valid UTF-8."""


class TlvError(DecodeError):
    """A TLV stream violates the BOLT 1 TLV requirements."""


class TlvOrderError(TlvError):
    """TLV types are not strictly increasing (BOLT 1: "MUST fail to parse the `tlv_stream`")."""


class TlvDuplicateError(TlvOrderError):
    """The same TLV type appears twice (a special case of non-increasing types)."""


class TlvLengthError(TlvError):
    """A known TLV record's `length` differs from what its encoding requires."""


class UnknownEvenTlvError(TlvError):
    """An unknown even TLV type ("it's OK to be odd": even means the reader must understand it)."""

    def __init__(self, tlv_type: int, *, where: str = "") -> None:
        self.tlv_type = tlv_type
        super().__init__(f"unknown even TLV type {tlv_type}", where=where)


class UnknownEvenMessageError(DecodeError):
    """A message of unknown even type: BOLT 1 says the receiver MUST close the connection."""

    def __init__(self, message_type: int) -> None:
        self.message_type = message_type
        super().__init__(f"unknown even message type {message_type}")


class ForbiddenEncodingError(DecodeError):
    """An encoding the spec forbids or does not define (BOLT 7: zlib "MUST NOT be used")."""


class EncodeError(WireError):
    """A value cannot be encoded by its wire type (out of range, wrong length, wrong Python type)."""


class FieldValueError(EncodeError, ValueError):
    """A field given to `build_message` (or to an encoder) has a bad value; `where` names the field."""


class UnknownFieldError(FieldValueError):
    """A field name that the message or TLV record does not define."""


class UnknownMessageNameError(WireError, KeyError):
    """No message of this name is defined (message_class / build_message)."""

    def __init__(self, name: str) -> None:
        self.name = name
        WireError.__init__(self, f"unknown message name {name!r}")

    def __str__(self) -> str:
        return str(self.args[0])


class FeatureError(WireError):
    """A feature vector a node must reject (BOLT 1 init receipt, BOLT 9)."""


class UnknownRequiredFeatureError(FeatureError):
    """An unknown even feature bit is set: BOLT 1 says "MUST close the connection"."""

    def __init__(self, bits: tuple[int, ...], *, where: str = "") -> None:
        self.bits = bits
        super().__init__(f"unknown required (even) feature bits {list(bits)}", where=where)


class MissingFeatureDependencyError(FeatureError):
    """A feature is set without one of its transitive dependencies (BOLT 9)."""


class FeatureContextError(FeatureError):
    """A feature bit is set in a context where BOLT 9's table does not allow it."""


class BothFeatureBitsError(FeatureError):
    """Both bits of a pair are set (BOLT 9: the origin "MUST NOT set both")."""
