"""BOLT 1 messages (Setup, Control, Peer Storage): the schema rows for `init`, `error`, `warning`,
`ping`, `pong`, `peer_storage` and `peer_storage_retrieval`, with their TLV streams.

Generated once from 01-messaging.md and kept in sync by tests/test_wire_schema_matches_spec.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, ClassVar

from reference_node.wire.message import Message, register
from reference_node.wire.tlv import EmptyTlvs, TlvRecord, TlvStream, TlvStreamCodec, TlvType
from reference_node.wire.types import BYTE, CHAIN_HASH, CHANNEL_ID, U16, counted, rest


@dataclass(frozen=True)
class NetworksTlv(TlvRecord):
    """TLV record `networks`."""

    chains: Annotated[tuple[bytes, ...], rest(CHAIN_HASH)]


@dataclass(frozen=True)
class RemoteAddrTlv(TlvRecord):
    """TLV record `remote_addr`."""

    data: Annotated[bytes, rest(BYTE)]


@dataclass(frozen=True)
class InitTlvs(TlvStream):
    """BOLT 1 `tlv_stream` `init_tlvs`."""

    networks: Annotated[NetworksTlv | None, TlvType(1)] = None
    remote_addr: Annotated[RemoteAddrTlv | None, TlvType(3)] = None


@register
@dataclass(frozen=True)
class Init(Message):
    """BOLT 1 `init` (type 16)."""

    TYPE: ClassVar[int] = 16
    NAME: ClassVar[str] = "init"
    BOLT: ClassVar[int] = 1
    globalfeatures: Annotated[bytes, counted("gflen", BYTE, U16)]
    features: Annotated[bytes, counted("flen", BYTE, U16)]
    tlvs: Annotated[InitTlvs, TlvStreamCodec(InitTlvs)] = field(default_factory=InitTlvs)


@register
@dataclass(frozen=True)
class ErrorMessage(Message):
    """BOLT 1 `error` (type 17)."""

    TYPE: ClassVar[int] = 17
    NAME: ClassVar[str] = "error"
    BOLT: ClassVar[int] = 1
    channel_id: Annotated[bytes, CHANNEL_ID]
    data: Annotated[bytes, counted("len", BYTE, U16)]
    tlvs: Annotated[EmptyTlvs, TlvStreamCodec(EmptyTlvs)] = field(default_factory=EmptyTlvs)


@register
@dataclass(frozen=True)
class WarningMessage(Message):
    """BOLT 1 `warning` (type 1)."""

    TYPE: ClassVar[int] = 1
    NAME: ClassVar[str] = "warning"
    BOLT: ClassVar[int] = 1
    channel_id: Annotated[bytes, CHANNEL_ID]
    data: Annotated[bytes, counted("len", BYTE, U16)]
    tlvs: Annotated[EmptyTlvs, TlvStreamCodec(EmptyTlvs)] = field(default_factory=EmptyTlvs)


@register
@dataclass(frozen=True)
class Ping(Message):
    """BOLT 1 `ping` (type 18)."""

    TYPE: ClassVar[int] = 18
    NAME: ClassVar[str] = "ping"
    BOLT: ClassVar[int] = 1
    num_pong_bytes: Annotated[int, U16]
    ignored: Annotated[bytes, counted("byteslen", BYTE, U16)]
    tlvs: Annotated[EmptyTlvs, TlvStreamCodec(EmptyTlvs)] = field(default_factory=EmptyTlvs)


@register
@dataclass(frozen=True)
class Pong(Message):
    """BOLT 1 `pong` (type 19)."""

    TYPE: ClassVar[int] = 19
    NAME: ClassVar[str] = "pong"
    BOLT: ClassVar[int] = 1
    ignored: Annotated[bytes, counted("byteslen", BYTE, U16)]
    tlvs: Annotated[EmptyTlvs, TlvStreamCodec(EmptyTlvs)] = field(default_factory=EmptyTlvs)


@register
@dataclass(frozen=True)
class PeerStorage(Message):
    """BOLT 1 `peer_storage` (type 7)."""

    TYPE: ClassVar[int] = 7
    NAME: ClassVar[str] = "peer_storage"
    BOLT: ClassVar[int] = 1
    blob: Annotated[bytes, counted("length", BYTE, U16)]
    tlvs: Annotated[EmptyTlvs, TlvStreamCodec(EmptyTlvs)] = field(default_factory=EmptyTlvs)


@register
@dataclass(frozen=True)
class PeerStorageRetrieval(Message):
    """BOLT 1 `peer_storage_retrieval` (type 9)."""

    TYPE: ClassVar[int] = 9
    NAME: ClassVar[str] = "peer_storage_retrieval"
    BOLT: ClassVar[int] = 1
    blob: Annotated[bytes, counted("length", BYTE, U16)]
    tlvs: Annotated[EmptyTlvs, TlvStreamCodec(EmptyTlvs)] = field(default_factory=EmptyTlvs)
