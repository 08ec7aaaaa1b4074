"""BOLT 2 messages of channel establishment (v1 and v2), interactive transaction construction,
quiescence and splicing: one class per message, fields in spec order.

Generated once from 02-peer-protocol.md and kept in sync by tests/test_wire_schema_matches_spec.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, ClassVar

from reference_node.wire.message import Message, register
from reference_node.wire.tlv import EmptyTlvs, TlvStreamCodec
from reference_node.wire.tlvs_bolt02 import (
    WITNESS,
    AcceptChannelTlvs,
    AcceptTlvs,
    ChannelReadyTlvs,
    OpenChannelTlvs,
    OpeningTlvs,
    SpliceAckTlvs,
    SpliceInitTlvs,
    TxAckRbfTlvs,
    TxAddInputTlvs,
    TxInitRbfTlvs,
    TxSignaturesTlvs,
    Witness,
)
from reference_node.wire.types import (
    BYTE,
    CHAIN_HASH,
    CHANNEL_ID,
    POINT,
    S64,
    SHA256,
    SIGNATURE,
    U8,
    U16,
    U32,
    U64,
    counted,
    fixed,
)


@register
@dataclass(frozen=True)
class TxAddInput(Message):
    """BOLT 2 `tx_add_input` (type 66)."""

    TYPE: ClassVar[int] = 66
    NAME: ClassVar[str] = "tx_add_input"
    BOLT: ClassVar[int] = 2
    channel_id: Annotated[bytes, CHANNEL_ID]
    serial_id: Annotated[int, U64]
    prevtx: Annotated[bytes, counted("prevtx_len", BYTE, U16)]
    prevtx_vout: Annotated[int, U32]
    sequence: Annotated[int, U32]
    tlvs: Annotated[TxAddInputTlvs, TlvStreamCodec(TxAddInputTlvs)] = field(default_factory=TxAddInputTlvs)


@register
@dataclass(frozen=True)
class TxAddOutput(Message):
    """BOLT 2 `tx_add_output` (type 67)."""

    TYPE: ClassVar[int] = 67
    NAME: ClassVar[str] = "tx_add_output"
    BOLT: ClassVar[int] = 2
    channel_id: Annotated[bytes, CHANNEL_ID]
    serial_id: Annotated[int, U64]
    sats: Annotated[int, U64]
    script: Annotated[bytes, counted("scriptlen", BYTE, U16)]
    tlvs: Annotated[EmptyTlvs, TlvStreamCodec(EmptyTlvs)] = field(default_factory=EmptyTlvs)


@register
@dataclass(frozen=True)
class TxRemoveInput(Message):
    """BOLT 2 `tx_remove_input` (type 68)."""

    TYPE: ClassVar[int] = 68
    NAME: ClassVar[str] = "tx_remove_input"
    BOLT: ClassVar[int] = 2
    channel_id: Annotated[bytes, CHANNEL_ID]
    serial_id: Annotated[int, U64]
    tlvs: Annotated[EmptyTlvs, TlvStreamCodec(EmptyTlvs)] = field(default_factory=EmptyTlvs)


@register
@dataclass(frozen=True)
class TxRemoveOutput(Message):
    """BOLT 2 `tx_remove_output` (type 69)."""

    TYPE: ClassVar[int] = 69
    NAME: ClassVar[str] = "tx_remove_output"
    BOLT: ClassVar[int] = 2
    channel_id: Annotated[bytes, CHANNEL_ID]
    serial_id: Annotated[int, U64]
    tlvs: Annotated[EmptyTlvs, TlvStreamCodec(EmptyTlvs)] = field(default_factory=EmptyTlvs)


@register
@dataclass(frozen=True)
class TxComplete(Message):
    """BOLT 2 `tx_complete` (type 70)."""

    TYPE: ClassVar[int] = 70
    NAME: ClassVar[str] = "tx_complete"
    BOLT: ClassVar[int] = 2
    channel_id: Annotated[bytes, CHANNEL_ID]
    tlvs: Annotated[EmptyTlvs, TlvStreamCodec(EmptyTlvs)] = field(default_factory=EmptyTlvs)


@register
@dataclass(frozen=True)
class TxSignatures(Message):
    """BOLT 2 `tx_signatures` (type 71)."""

    TYPE: ClassVar[int] = 71
    NAME: ClassVar[str] = "tx_signatures"
    BOLT: ClassVar[int] = 2
    channel_id: Annotated[bytes, CHANNEL_ID]
    txid: Annotated[bytes, SHA256]
    witnesses: Annotated[tuple[Witness, ...], counted("num_witnesses", WITNESS, U16)]
    tlvs: Annotated[TxSignaturesTlvs, TlvStreamCodec(TxSignaturesTlvs)] = field(
        default_factory=TxSignaturesTlvs
    )


@register
@dataclass(frozen=True)
class TxInitRbf(Message):
    """BOLT 2 `tx_init_rbf` (type 72)."""

    TYPE: ClassVar[int] = 72
    NAME: ClassVar[str] = "tx_init_rbf"
    BOLT: ClassVar[int] = 2
    channel_id: Annotated[bytes, CHANNEL_ID]
    locktime: Annotated[int, U32]
    feerate: Annotated[int, U32]
    tlvs: Annotated[TxInitRbfTlvs, TlvStreamCodec(TxInitRbfTlvs)] = field(default_factory=TxInitRbfTlvs)


@register
@dataclass(frozen=True)
class TxAckRbf(Message):
    """BOLT 2 `tx_ack_rbf` (type 73)."""

    TYPE: ClassVar[int] = 73
    NAME: ClassVar[str] = "tx_ack_rbf"
    BOLT: ClassVar[int] = 2
    channel_id: Annotated[bytes, CHANNEL_ID]
    tlvs: Annotated[TxAckRbfTlvs, TlvStreamCodec(TxAckRbfTlvs)] = field(default_factory=TxAckRbfTlvs)


@register
@dataclass(frozen=True)
class TxAbort(Message):
    """BOLT 2 `tx_abort` (type 74)."""

    TYPE: ClassVar[int] = 74
    NAME: ClassVar[str] = "tx_abort"
    BOLT: ClassVar[int] = 2
    channel_id: Annotated[bytes, CHANNEL_ID]
    data: Annotated[bytes, counted("len", BYTE, U16)]
    tlvs: Annotated[EmptyTlvs, TlvStreamCodec(EmptyTlvs)] = field(default_factory=EmptyTlvs)


@register
@dataclass(frozen=True)
class OpenChannel(Message):
    """BOLT 2 `open_channel` (type 32)."""

    TYPE: ClassVar[int] = 32
    NAME: ClassVar[str] = "open_channel"
    BOLT: ClassVar[int] = 2
    chain_hash: Annotated[bytes, CHAIN_HASH]
    temporary_channel_id: Annotated[bytes, fixed(32, BYTE)]
    funding_satoshis: Annotated[int, U64]
    push_msat: Annotated[int, U64]
    dust_limit_satoshis: Annotated[int, U64]
    max_htlc_value_in_flight_msat: Annotated[int, U64]
    channel_reserve_satoshis: Annotated[int, U64]
    htlc_minimum_msat: Annotated[int, U64]
    feerate_per_kw: Annotated[int, U32]
    to_self_delay: Annotated[int, U16]
    max_accepted_htlcs: Annotated[int, U16]
    funding_pubkey: Annotated[bytes, POINT]
    revocation_basepoint: Annotated[bytes, POINT]
    payment_basepoint: Annotated[bytes, POINT]
    delayed_payment_basepoint: Annotated[bytes, POINT]
    htlc_basepoint: Annotated[bytes, POINT]
    first_per_commitment_point: Annotated[bytes, POINT]
    channel_flags: Annotated[int, BYTE]
    tlvs: Annotated[OpenChannelTlvs, TlvStreamCodec(OpenChannelTlvs)] = field(default_factory=OpenChannelTlvs)


@register
@dataclass(frozen=True)
class AcceptChannel(Message):
    """BOLT 2 `accept_channel` (type 33)."""

    TYPE: ClassVar[int] = 33
    NAME: ClassVar[str] = "accept_channel"
    BOLT: ClassVar[int] = 2
    temporary_channel_id: Annotated[bytes, fixed(32, BYTE)]
    dust_limit_satoshis: Annotated[int, U64]
    max_htlc_value_in_flight_msat: Annotated[int, U64]
    channel_reserve_satoshis: Annotated[int, U64]
    htlc_minimum_msat: Annotated[int, U64]
    minimum_depth: Annotated[int, U32]
    to_self_delay: Annotated[int, U16]
    max_accepted_htlcs: Annotated[int, U16]
    funding_pubkey: Annotated[bytes, POINT]
    revocation_basepoint: Annotated[bytes, POINT]
    payment_basepoint: Annotated[bytes, POINT]
    delayed_payment_basepoint: Annotated[bytes, POINT]
    htlc_basepoint: Annotated[bytes, POINT]
    first_per_commitment_point: Annotated[bytes, POINT]
    tlvs: Annotated[AcceptChannelTlvs, TlvStreamCodec(AcceptChannelTlvs)] = field(
        default_factory=AcceptChannelTlvs
    )


@register
@dataclass(frozen=True)
class FundingCreated(Message):
    """BOLT 2 `funding_created` (type 34)."""

    TYPE: ClassVar[int] = 34
    NAME: ClassVar[str] = "funding_created"
    BOLT: ClassVar[int] = 2
    temporary_channel_id: Annotated[bytes, fixed(32, BYTE)]
    funding_txid: Annotated[bytes, SHA256]
    funding_output_index: Annotated[int, U16]
    signature: Annotated[bytes, SIGNATURE]
    tlvs: Annotated[EmptyTlvs, TlvStreamCodec(EmptyTlvs)] = field(default_factory=EmptyTlvs)


@register
@dataclass(frozen=True)
class FundingSigned(Message):
    """BOLT 2 `funding_signed` (type 35)."""

    TYPE: ClassVar[int] = 35
    NAME: ClassVar[str] = "funding_signed"
    BOLT: ClassVar[int] = 2
    channel_id: Annotated[bytes, CHANNEL_ID]
    signature: Annotated[bytes, SIGNATURE]
    tlvs: Annotated[EmptyTlvs, TlvStreamCodec(EmptyTlvs)] = field(default_factory=EmptyTlvs)


@register
@dataclass(frozen=True)
class ChannelReady(Message):
    """BOLT 2 `channel_ready` (type 36)."""

    TYPE: ClassVar[int] = 36
    NAME: ClassVar[str] = "channel_ready"
    BOLT: ClassVar[int] = 2
    channel_id: Annotated[bytes, CHANNEL_ID]
    second_per_commitment_point: Annotated[bytes, POINT]
    tlvs: Annotated[ChannelReadyTlvs, TlvStreamCodec(ChannelReadyTlvs)] = field(
        default_factory=ChannelReadyTlvs
    )


@register
@dataclass(frozen=True)
class OpenChannel2(Message):
    """BOLT 2 `open_channel2` (type 64)."""

    TYPE: ClassVar[int] = 64
    NAME: ClassVar[str] = "open_channel2"
    BOLT: ClassVar[int] = 2
    chain_hash: Annotated[bytes, CHAIN_HASH]
    temporary_channel_id: Annotated[bytes, CHANNEL_ID]
    funding_feerate_perkw: Annotated[int, U32]
    commitment_feerate_perkw: Annotated[int, U32]
    funding_satoshis: Annotated[int, U64]
    dust_limit_satoshis: Annotated[int, U64]
    max_htlc_value_in_flight_msat: Annotated[int, U64]
    htlc_minimum_msat: Annotated[int, U64]
    to_self_delay: Annotated[int, U16]
    max_accepted_htlcs: Annotated[int, U16]
    locktime: Annotated[int, U32]
    funding_pubkey: Annotated[bytes, POINT]
    revocation_basepoint: Annotated[bytes, POINT]
    payment_basepoint: Annotated[bytes, POINT]
    delayed_payment_basepoint: Annotated[bytes, POINT]
    htlc_basepoint: Annotated[bytes, POINT]
    first_per_commitment_point: Annotated[bytes, POINT]
    second_per_commitment_point: Annotated[bytes, POINT]
    channel_flags: Annotated[int, BYTE]
    tlvs: Annotated[OpeningTlvs, TlvStreamCodec(OpeningTlvs)] = field(default_factory=OpeningTlvs)


@register
@dataclass(frozen=True)
class AcceptChannel2(Message):
    """BOLT 2 `accept_channel2` (type 65)."""

    TYPE: ClassVar[int] = 65
    NAME: ClassVar[str] = "accept_channel2"
    BOLT: ClassVar[int] = 2
    temporary_channel_id: Annotated[bytes, CHANNEL_ID]
    funding_satoshis: Annotated[int, U64]
    dust_limit_satoshis: Annotated[int, U64]
    max_htlc_value_in_flight_msat: Annotated[int, U64]
    htlc_minimum_msat: Annotated[int, U64]
    minimum_depth: Annotated[int, U32]
    to_self_delay: Annotated[int, U16]
    max_accepted_htlcs: Annotated[int, U16]
    funding_pubkey: Annotated[bytes, POINT]
    revocation_basepoint: Annotated[bytes, POINT]
    payment_basepoint: Annotated[bytes, POINT]
    delayed_payment_basepoint: Annotated[bytes, POINT]
    htlc_basepoint: Annotated[bytes, POINT]
    first_per_commitment_point: Annotated[bytes, POINT]
    second_per_commitment_point: Annotated[bytes, POINT]
    tlvs: Annotated[AcceptTlvs, TlvStreamCodec(AcceptTlvs)] = field(default_factory=AcceptTlvs)


@register
@dataclass(frozen=True)
class Stfu(Message):
    """BOLT 2 `stfu` (type 2)."""

    TYPE: ClassVar[int] = 2
    NAME: ClassVar[str] = "stfu"
    BOLT: ClassVar[int] = 2
    channel_id: Annotated[bytes, CHANNEL_ID]
    initiator: Annotated[int, U8]
    tlvs: Annotated[EmptyTlvs, TlvStreamCodec(EmptyTlvs)] = field(default_factory=EmptyTlvs)


@register
@dataclass(frozen=True)
class SpliceInit(Message):
    """BOLT 2 `splice_init` (type 80)."""

    TYPE: ClassVar[int] = 80
    NAME: ClassVar[str] = "splice_init"
    BOLT: ClassVar[int] = 2
    channel_id: Annotated[bytes, CHANNEL_ID]
    funding_contribution_satoshis: Annotated[int, S64]
    funding_feerate_perkw: Annotated[int, U32]
    locktime: Annotated[int, U32]
    funding_pubkey: Annotated[bytes, POINT]
    tlvs: Annotated[SpliceInitTlvs, TlvStreamCodec(SpliceInitTlvs)] = field(default_factory=SpliceInitTlvs)


@register
@dataclass(frozen=True)
class SpliceAck(Message):
    """BOLT 2 `splice_ack` (type 81)."""

    TYPE: ClassVar[int] = 81
    NAME: ClassVar[str] = "splice_ack"
    BOLT: ClassVar[int] = 2
    channel_id: Annotated[bytes, CHANNEL_ID]
    funding_contribution_satoshis: Annotated[int, S64]
    funding_pubkey: Annotated[bytes, POINT]
    tlvs: Annotated[SpliceAckTlvs, TlvStreamCodec(SpliceAckTlvs)] = field(default_factory=SpliceAckTlvs)


@register
@dataclass(frozen=True)
class SpliceLocked(Message):
    """BOLT 2 `splice_locked` (type 77)."""

    TYPE: ClassVar[int] = 77
    NAME: ClassVar[str] = "splice_locked"
    BOLT: ClassVar[int] = 2
    channel_id: Annotated[bytes, CHANNEL_ID]
    splice_txid: Annotated[bytes, SHA256]
    tlvs: Annotated[EmptyTlvs, TlvStreamCodec(EmptyTlvs)] = field(default_factory=EmptyTlvs)
