"""BOLT 2 TLV records, TLV streams and subtypes used by the message classes of messages_bolt02_*.py.

Generated once from 02-peer-protocol.md and kept in sync by tests/test_wire_schema_matches_spec.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from reference_node.wire.scid import ShortChannelId
from reference_node.wire.struct import SubtypeCodec
from reference_node.wire.tlv import TlvRecord, TlvStream, TlvType
from reference_node.wire.types import (
    BYTE,
    POINT,
    S64,
    SHA256,
    SHA256_TRUNC4,
    SHORT_CHANNEL_ID,
    SIGNATURE,
    U16,
    U32,
    U64,
    counted,
    fixed,
    rest,
)


@dataclass(frozen=True)
class Witness:
    """BOLT 2 subtype `witness`."""

    witness_data: Annotated[bytes, counted("len", BYTE, U16)]


WITNESS = SubtypeCodec(Witness, "witness")


@dataclass(frozen=True)
class SharedInputTxidTlv(TlvRecord):
    """TLV record `shared_input_txid`."""

    funding_txid: Annotated[bytes, SHA256]


@dataclass(frozen=True)
class SharedInputSignatureTlv(TlvRecord):
    """TLV record `shared_input_signature`."""

    signature: Annotated[bytes, SIGNATURE]


@dataclass(frozen=True)
class FundingOutputContributionTlv(TlvRecord):
    """TLV record `funding_output_contribution`."""

    satoshis: Annotated[int, S64]


@dataclass(frozen=True)
class RequireConfirmedInputsTlv(TlvRecord):
    """TLV record `require_confirmed_inputs`."""

    # No data: the record's presence is the signal.


@dataclass(frozen=True)
class UpfrontShutdownScriptTlv(TlvRecord):
    """TLV record `upfront_shutdown_script`."""

    shutdown_scriptpubkey: Annotated[bytes, rest(BYTE)]


@dataclass(frozen=True)
class ChannelTypeTlv(TlvRecord):
    """TLV record `channel_type`."""

    type: Annotated[bytes, rest(BYTE)]


@dataclass(frozen=True)
class ShortChannelIdTlv(TlvRecord):
    """TLV record `short_channel_id`."""

    alias: Annotated[ShortChannelId, SHORT_CHANNEL_ID]


@dataclass(frozen=True)
class CloserOutputOnlyTlv(TlvRecord):
    """TLV record `closer_output_only`."""

    sig: Annotated[bytes, SIGNATURE]


@dataclass(frozen=True)
class CloseeOutputOnlyTlv(TlvRecord):
    """TLV record `closee_output_only`."""

    sig: Annotated[bytes, SIGNATURE]


@dataclass(frozen=True)
class CloserAndCloseeOutputsTlv(TlvRecord):
    """TLV record `closer_and_closee_outputs`."""

    sig: Annotated[bytes, SIGNATURE]


@dataclass(frozen=True)
class FeeRangeTlv(TlvRecord):
    """TLV record `fee_range`."""

    min_fee_satoshis: Annotated[int, U64]
    max_fee_satoshis: Annotated[int, U64]


@dataclass(frozen=True)
class BlindedPathTlv(TlvRecord):
    """TLV record `blinded_path`."""

    path_key: Annotated[bytes, POINT]


@dataclass(frozen=True)
class AttributionDataTlv(TlvRecord):
    """TLV record `attribution_data`."""

    htlc_hold_times: Annotated[tuple[int, ...], fixed(20, U32)]
    truncated_hmacs: Annotated[tuple[bytes, ...], fixed(210, SHA256_TRUNC4)]


@dataclass(frozen=True)
class MessageTypeTlv(TlvRecord):
    """TLV record `message_type`."""

    message_type: Annotated[int, U16]


@dataclass(frozen=True)
class FundingTxidTlv(TlvRecord):
    """TLV record `funding_txid`."""

    funding_txid: Annotated[bytes, SHA256]


@dataclass(frozen=True)
class NextFundingTlv(TlvRecord):
    """TLV record `next_funding`."""

    next_funding_txid: Annotated[bytes, SHA256]
    retransmit_flags: Annotated[int, BYTE]


@dataclass(frozen=True)
class MyCurrentFundingLockedTlv(TlvRecord):
    """TLV record `my_current_funding_locked`."""

    my_current_funding_locked_txid: Annotated[bytes, SHA256]
    retransmit_flags: Annotated[int, BYTE]


@dataclass(frozen=True)
class TxAddInputTlvs(TlvStream):
    """BOLT 2 `tlv_stream` `tx_add_input_tlvs`."""

    shared_input_txid: Annotated[SharedInputTxidTlv | None, TlvType(0)] = None


@dataclass(frozen=True)
class TxSignaturesTlvs(TlvStream):
    """BOLT 2 `tlv_stream` `tx_signatures_tlvs`."""

    shared_input_signature: Annotated[SharedInputSignatureTlv | None, TlvType(0)] = None


@dataclass(frozen=True)
class TxInitRbfTlvs(TlvStream):
    """BOLT 2 `tlv_stream` `tx_init_rbf_tlvs`."""

    funding_output_contribution: Annotated[FundingOutputContributionTlv | None, TlvType(0)] = None
    require_confirmed_inputs: Annotated[RequireConfirmedInputsTlv | None, TlvType(2)] = None


@dataclass(frozen=True)
class TxAckRbfTlvs(TlvStream):
    """BOLT 2 `tlv_stream` `tx_ack_rbf_tlvs`."""

    funding_output_contribution: Annotated[FundingOutputContributionTlv | None, TlvType(0)] = None
    require_confirmed_inputs: Annotated[RequireConfirmedInputsTlv | None, TlvType(2)] = None


@dataclass(frozen=True)
class OpenChannelTlvs(TlvStream):
    """BOLT 2 `tlv_stream` `open_channel_tlvs`."""

    upfront_shutdown_script: Annotated[UpfrontShutdownScriptTlv | None, TlvType(0)] = None
    channel_type: Annotated[ChannelTypeTlv | None, TlvType(1)] = None


@dataclass(frozen=True)
class AcceptChannelTlvs(TlvStream):
    """BOLT 2 `tlv_stream` `accept_channel_tlvs`."""

    upfront_shutdown_script: Annotated[UpfrontShutdownScriptTlv | None, TlvType(0)] = None
    channel_type: Annotated[ChannelTypeTlv | None, TlvType(1)] = None


@dataclass(frozen=True)
class ChannelReadyTlvs(TlvStream):
    """BOLT 2 `tlv_stream` `channel_ready_tlvs`."""

    short_channel_id: Annotated[ShortChannelIdTlv | None, TlvType(1)] = None


@dataclass(frozen=True)
class OpeningTlvs(TlvStream):
    """BOLT 2 `tlv_stream` `opening_tlvs`."""

    upfront_shutdown_script: Annotated[UpfrontShutdownScriptTlv | None, TlvType(0)] = None
    channel_type: Annotated[ChannelTypeTlv | None, TlvType(1)] = None
    require_confirmed_inputs: Annotated[RequireConfirmedInputsTlv | None, TlvType(2)] = None


@dataclass(frozen=True)
class AcceptTlvs(TlvStream):
    """BOLT 2 `tlv_stream` `accept_tlvs`."""

    upfront_shutdown_script: Annotated[UpfrontShutdownScriptTlv | None, TlvType(0)] = None
    channel_type: Annotated[ChannelTypeTlv | None, TlvType(1)] = None
    require_confirmed_inputs: Annotated[RequireConfirmedInputsTlv | None, TlvType(2)] = None


@dataclass(frozen=True)
class SpliceInitTlvs(TlvStream):
    """BOLT 2 `tlv_stream` `splice_init_tlvs`."""

    require_confirmed_inputs: Annotated[RequireConfirmedInputsTlv | None, TlvType(2)] = None


@dataclass(frozen=True)
class SpliceAckTlvs(TlvStream):
    """BOLT 2 `tlv_stream` `splice_ack_tlvs`."""

    require_confirmed_inputs: Annotated[RequireConfirmedInputsTlv | None, TlvType(2)] = None


@dataclass(frozen=True)
class ClosingTlvs(TlvStream):
    """BOLT 2 `tlv_stream` `closing_tlvs`."""

    closer_output_only: Annotated[CloserOutputOnlyTlv | None, TlvType(1)] = None
    closee_output_only: Annotated[CloseeOutputOnlyTlv | None, TlvType(2)] = None
    closer_and_closee_outputs: Annotated[CloserAndCloseeOutputsTlv | None, TlvType(3)] = None


@dataclass(frozen=True)
class ClosingSignedTlvs(TlvStream):
    """BOLT 2 `tlv_stream` `closing_signed_tlvs`."""

    fee_range: Annotated[FeeRangeTlv | None, TlvType(1)] = None


@dataclass(frozen=True)
class UpdateAddHtlcTlvs(TlvStream):
    """BOLT 2 `tlv_stream` `update_add_htlc_tlvs`."""

    blinded_path: Annotated[BlindedPathTlv | None, TlvType(0)] = None


@dataclass(frozen=True)
class UpdateFulfillHtlcTlvs(TlvStream):
    """BOLT 2 `tlv_stream` `update_fulfill_htlc_tlvs`."""

    attribution_data: Annotated[AttributionDataTlv | None, TlvType(1)] = None


@dataclass(frozen=True)
class UpdateFailHtlcTlvs(TlvStream):
    """BOLT 2 `tlv_stream` `update_fail_htlc_tlvs`."""

    attribution_data: Annotated[AttributionDataTlv | None, TlvType(1)] = None


@dataclass(frozen=True)
class StartBatchTlvs(TlvStream):
    """BOLT 2 `tlv_stream` `start_batch_tlvs`."""

    message_type: Annotated[MessageTypeTlv | None, TlvType(1)] = None


@dataclass(frozen=True)
class CommitmentSignedTlvs(TlvStream):
    """BOLT 2 `tlv_stream` `commitment_signed_tlvs`."""

    funding_txid: Annotated[FundingTxidTlv | None, TlvType(1)] = None


@dataclass(frozen=True)
class ChannelReestablishTlvs(TlvStream):
    """BOLT 2 `tlv_stream` `channel_reestablish_tlvs`."""

    next_funding: Annotated[NextFundingTlv | None, TlvType(1)] = None
    my_current_funding_locked: Annotated[MyCurrentFundingLockedTlv | None, TlvType(5)] = None
