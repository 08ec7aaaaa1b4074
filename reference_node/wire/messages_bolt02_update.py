"""BOLT 2 messages of closing, normal operation (HTLCs, commitments, fees) and reestablishment:
one class per message, fields in spec order.

Generated once from 02-peer-protocol.md and kept in sync by tests/test_wire_schema_matches_spec.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, ClassVar

from reference_node.wire.message import Message, register
from reference_node.wire.tlv import EmptyTlvs, TlvStreamCodec
from reference_node.wire.tlvs_bolt02 import (
    ChannelReestablishTlvs,
    ClosingSignedTlvs,
    ClosingTlvs,
    CommitmentSignedTlvs,
    StartBatchTlvs,
    UpdateAddHtlcTlvs,
    UpdateFailHtlcTlvs,
    UpdateFulfillHtlcTlvs,
)
from reference_node.wire.types import (
    BYTE,
    CHANNEL_ID,
    POINT,
    SHA256,
    SIGNATURE,
    U16,
    U32,
    U64,
    counted,
    fixed,
)


@register
@dataclass(frozen=True)
class Shutdown(Message):
    """BOLT 2 `shutdown` (type 38)."""

    TYPE: ClassVar[int] = 38
    NAME: ClassVar[str] = "shutdown"
    BOLT: ClassVar[int] = 2
    channel_id: Annotated[bytes, CHANNEL_ID]
    scriptpubkey: Annotated[bytes, counted("len", BYTE, U16)]
    tlvs: Annotated[EmptyTlvs, TlvStreamCodec(EmptyTlvs)] = field(default_factory=EmptyTlvs)


@register
@dataclass(frozen=True)
class ClosingComplete(Message):
    """BOLT 2 `closing_complete` (type 40)."""

    TYPE: ClassVar[int] = 40
    NAME: ClassVar[str] = "closing_complete"
    BOLT: ClassVar[int] = 2
    channel_id: Annotated[bytes, CHANNEL_ID]
    closer_scriptpubkey: Annotated[bytes, counted("closer_scriptpubkey_len", BYTE, U16)]
    closee_scriptpubkey: Annotated[bytes, counted("closee_scriptpubkey_len", BYTE, U16)]
    fee_satoshis: Annotated[int, U64]
    locktime: Annotated[int, U32]
    tlvs: Annotated[ClosingTlvs, TlvStreamCodec(ClosingTlvs)] = field(default_factory=ClosingTlvs)


@register
@dataclass(frozen=True)
class ClosingSig(Message):
    """BOLT 2 `closing_sig` (type 41)."""

    TYPE: ClassVar[int] = 41
    NAME: ClassVar[str] = "closing_sig"
    BOLT: ClassVar[int] = 2
    channel_id: Annotated[bytes, CHANNEL_ID]
    closer_scriptpubkey: Annotated[bytes, counted("closer_scriptpubkey_len", BYTE, U16)]
    closee_scriptpubkey: Annotated[bytes, counted("closee_scriptpubkey_len", BYTE, U16)]
    fee_satoshis: Annotated[int, U64]
    locktime: Annotated[int, U32]
    tlvs: Annotated[ClosingTlvs, TlvStreamCodec(ClosingTlvs)] = field(default_factory=ClosingTlvs)


@register
@dataclass(frozen=True)
class ClosingSigned(Message):
    """BOLT 2 `closing_signed` (type 39)."""

    TYPE: ClassVar[int] = 39
    NAME: ClassVar[str] = "closing_signed"
    BOLT: ClassVar[int] = 2
    channel_id: Annotated[bytes, CHANNEL_ID]
    fee_satoshis: Annotated[int, U64]
    signature: Annotated[bytes, SIGNATURE]
    tlvs: Annotated[ClosingSignedTlvs, TlvStreamCodec(ClosingSignedTlvs)] = field(
        default_factory=ClosingSignedTlvs
    )


@register
@dataclass(frozen=True)
class UpdateAddHtlc(Message):
    """BOLT 2 `update_add_htlc` (type 128)."""

    TYPE: ClassVar[int] = 128
    NAME: ClassVar[str] = "update_add_htlc"
    BOLT: ClassVar[int] = 2
    channel_id: Annotated[bytes, CHANNEL_ID]
    id: Annotated[int, U64]
    amount_msat: Annotated[int, U64]
    payment_hash: Annotated[bytes, SHA256]
    cltv_expiry: Annotated[int, U32]
    onion_routing_packet: Annotated[bytes, fixed(1366, BYTE)]
    tlvs: Annotated[UpdateAddHtlcTlvs, TlvStreamCodec(UpdateAddHtlcTlvs)] = field(
        default_factory=UpdateAddHtlcTlvs
    )


@register
@dataclass(frozen=True)
class UpdateFulfillHtlc(Message):
    """BOLT 2 `update_fulfill_htlc` (type 130)."""

    TYPE: ClassVar[int] = 130
    NAME: ClassVar[str] = "update_fulfill_htlc"
    BOLT: ClassVar[int] = 2
    channel_id: Annotated[bytes, CHANNEL_ID]
    id: Annotated[int, U64]
    payment_preimage: Annotated[bytes, fixed(32, BYTE)]
    tlvs: Annotated[UpdateFulfillHtlcTlvs, TlvStreamCodec(UpdateFulfillHtlcTlvs)] = field(
        default_factory=UpdateFulfillHtlcTlvs
    )


@register
@dataclass(frozen=True)
class UpdateFailHtlc(Message):
    """BOLT 2 `update_fail_htlc` (type 131)."""

    TYPE: ClassVar[int] = 131
    NAME: ClassVar[str] = "update_fail_htlc"
    BOLT: ClassVar[int] = 2
    channel_id: Annotated[bytes, CHANNEL_ID]
    id: Annotated[int, U64]
    reason: Annotated[bytes, counted("len", BYTE, U16)]
    tlvs: Annotated[UpdateFailHtlcTlvs, TlvStreamCodec(UpdateFailHtlcTlvs)] = field(
        default_factory=UpdateFailHtlcTlvs
    )


@register
@dataclass(frozen=True)
class UpdateFailMalformedHtlc(Message):
    """BOLT 2 `update_fail_malformed_htlc` (type 135)."""

    TYPE: ClassVar[int] = 135
    NAME: ClassVar[str] = "update_fail_malformed_htlc"
    BOLT: ClassVar[int] = 2
    channel_id: Annotated[bytes, CHANNEL_ID]
    id: Annotated[int, U64]
    sha256_of_onion: Annotated[bytes, SHA256]
    failure_code: Annotated[int, U16]
    tlvs: Annotated[EmptyTlvs, TlvStreamCodec(EmptyTlvs)] = field(default_factory=EmptyTlvs)


@register
@dataclass(frozen=True)
class StartBatch(Message):
    """BOLT 2 `start_batch` (type 127)."""

    TYPE: ClassVar[int] = 127
    NAME: ClassVar[str] = "start_batch"
    BOLT: ClassVar[int] = 2
    channel_id: Annotated[bytes, CHANNEL_ID]
    batch_size: Annotated[int, U16]
    tlvs: Annotated[StartBatchTlvs, TlvStreamCodec(StartBatchTlvs)] = field(default_factory=StartBatchTlvs)


@register
@dataclass(frozen=True)
class CommitmentSigned(Message):
    """BOLT 2 `commitment_signed` (type 132)."""

    TYPE: ClassVar[int] = 132
    NAME: ClassVar[str] = "commitment_signed"
    BOLT: ClassVar[int] = 2
    channel_id: Annotated[bytes, CHANNEL_ID]
    signature: Annotated[bytes, SIGNATURE]
    htlc_signature: Annotated[tuple[bytes, ...], counted("num_htlcs", SIGNATURE, U16)]
    tlvs: Annotated[CommitmentSignedTlvs, TlvStreamCodec(CommitmentSignedTlvs)] = field(
        default_factory=CommitmentSignedTlvs
    )


@register
@dataclass(frozen=True)
class RevokeAndAck(Message):
    """BOLT 2 `revoke_and_ack` (type 133)."""

    TYPE: ClassVar[int] = 133
    NAME: ClassVar[str] = "revoke_and_ack"
    BOLT: ClassVar[int] = 2
    channel_id: Annotated[bytes, CHANNEL_ID]
    per_commitment_secret: Annotated[bytes, fixed(32, BYTE)]
    next_per_commitment_point: Annotated[bytes, POINT]
    tlvs: Annotated[EmptyTlvs, TlvStreamCodec(EmptyTlvs)] = field(default_factory=EmptyTlvs)


@register
@dataclass(frozen=True)
class UpdateFee(Message):
    """BOLT 2 `update_fee` (type 134)."""

    TYPE: ClassVar[int] = 134
    NAME: ClassVar[str] = "update_fee"
    BOLT: ClassVar[int] = 2
    channel_id: Annotated[bytes, CHANNEL_ID]
    feerate_per_kw: Annotated[int, U32]
    tlvs: Annotated[EmptyTlvs, TlvStreamCodec(EmptyTlvs)] = field(default_factory=EmptyTlvs)


@register
@dataclass(frozen=True)
class ChannelReestablish(Message):
    """BOLT 2 `channel_reestablish` (type 136)."""

    TYPE: ClassVar[int] = 136
    NAME: ClassVar[str] = "channel_reestablish"
    BOLT: ClassVar[int] = 2
    channel_id: Annotated[bytes, CHANNEL_ID]
    next_commitment_number: Annotated[int, U64]
    next_revocation_number: Annotated[int, U64]
    your_last_per_commitment_secret: Annotated[bytes, fixed(32, BYTE)]
    my_current_per_commitment_point: Annotated[bytes, POINT]
    tlvs: Annotated[ChannelReestablishTlvs, TlvStreamCodec(ChannelReestablishTlvs)] = field(
        default_factory=ChannelReestablishTlvs
    )
