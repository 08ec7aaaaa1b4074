"""The BOLT 2 messages as the channel machine sees them.

Field names are the spec's. TLV records the machine uses are flattened into optional attributes named after
the TLV record (`channel_type`, `upfront_shutdown_script`, `alias`, `fee_range`, ...). `wire_adapter` converts
these to and from `reference_node.wire` messages, so this package never depends on the codec's internals.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True)
class ChannelMessage:
    NAME: ClassVar[str] = ""


@dataclass(frozen=True)
class OpenChannel(ChannelMessage):
    NAME: ClassVar[str] = "open_channel"
    chain_hash: bytes
    temporary_channel_id: bytes
    funding_satoshis: int
    push_msat: int
    dust_limit_satoshis: int
    max_htlc_value_in_flight_msat: int
    channel_reserve_satoshis: int
    htlc_minimum_msat: int
    feerate_per_kw: int
    to_self_delay: int
    max_accepted_htlcs: int
    funding_pubkey: bytes
    revocation_basepoint: bytes
    payment_basepoint: bytes
    delayed_payment_basepoint: bytes
    htlc_basepoint: bytes
    first_per_commitment_point: bytes
    channel_flags: int
    upfront_shutdown_script: bytes | None = None
    channel_type: bytes | None = None


@dataclass(frozen=True)
class AcceptChannel(ChannelMessage):
    NAME: ClassVar[str] = "accept_channel"
    temporary_channel_id: bytes
    dust_limit_satoshis: int
    max_htlc_value_in_flight_msat: int
    channel_reserve_satoshis: int
    htlc_minimum_msat: int
    minimum_depth: int
    to_self_delay: int
    max_accepted_htlcs: int
    funding_pubkey: bytes
    revocation_basepoint: bytes
    payment_basepoint: bytes
    delayed_payment_basepoint: bytes
    htlc_basepoint: bytes
    first_per_commitment_point: bytes
    upfront_shutdown_script: bytes | None = None
    channel_type: bytes | None = None


@dataclass(frozen=True)
class FundingCreated(ChannelMessage):
    NAME: ClassVar[str] = "funding_created"
    temporary_channel_id: bytes
    funding_txid: bytes
    funding_output_index: int
    signature: bytes


@dataclass(frozen=True)
class FundingSigned(ChannelMessage):
    NAME: ClassVar[str] = "funding_signed"
    channel_id: bytes
    signature: bytes


@dataclass(frozen=True)
class ChannelReady(ChannelMessage):
    NAME: ClassVar[str] = "channel_ready"
    channel_id: bytes
    second_per_commitment_point: bytes
    # channel_ready_tlvs type 1 `short_channel_id`
    alias: int | None = None


@dataclass(frozen=True)
class UpdateAddHtlc(ChannelMessage):
    NAME: ClassVar[str] = "update_add_htlc"
    channel_id: bytes
    id: int
    amount_msat: int
    payment_hash: bytes
    cltv_expiry: int
    onion_routing_packet: bytes
    # update_add_htlc_tlvs type 0 `blinded_path`
    path_key: bytes | None = None


@dataclass(frozen=True)
class UpdateFulfillHtlc(ChannelMessage):
    NAME: ClassVar[str] = "update_fulfill_htlc"
    channel_id: bytes
    id: int
    payment_preimage: bytes


@dataclass(frozen=True)
class UpdateFailHtlc(ChannelMessage):
    NAME: ClassVar[str] = "update_fail_htlc"
    channel_id: bytes
    id: int
    reason: bytes


@dataclass(frozen=True)
class UpdateFailMalformedHtlc(ChannelMessage):
    NAME: ClassVar[str] = "update_fail_malformed_htlc"
    channel_id: bytes
    id: int
    sha256_of_onion: bytes
    failure_code: int


@dataclass(frozen=True)
class UpdateFee(ChannelMessage):
    NAME: ClassVar[str] = "update_fee"
    channel_id: bytes
    feerate_per_kw: int


@dataclass(frozen=True)
class CommitmentSigned(ChannelMessage):
    NAME: ClassVar[str] = "commitment_signed"
    channel_id: bytes
    signature: bytes
    htlc_signature: tuple[bytes, ...]


@dataclass(frozen=True)
class RevokeAndAck(ChannelMessage):
    NAME: ClassVar[str] = "revoke_and_ack"
    channel_id: bytes
    per_commitment_secret: bytes
    next_per_commitment_point: bytes


@dataclass(frozen=True)
class ChannelReestablish(ChannelMessage):
    NAME: ClassVar[str] = "channel_reestablish"
    channel_id: bytes
    next_commitment_number: int
    next_revocation_number: int
    your_last_per_commitment_secret: bytes
    my_current_per_commitment_point: bytes


@dataclass(frozen=True)
class Shutdown(ChannelMessage):
    NAME: ClassVar[str] = "shutdown"
    channel_id: bytes
    scriptpubkey: bytes


@dataclass(frozen=True)
class FeeRange:
    min_fee_satoshis: int
    max_fee_satoshis: int


@dataclass(frozen=True)
class ClosingSigned(ChannelMessage):
    NAME: ClassVar[str] = "closing_signed"
    channel_id: bytes
    fee_satoshis: int
    signature: bytes
    fee_range: FeeRange | None = None


@dataclass(frozen=True)
class ClosingComplete(ChannelMessage):
    NAME: ClassVar[str] = "closing_complete"
    channel_id: bytes
    closer_scriptpubkey: bytes
    closee_scriptpubkey: bytes
    fee_satoshis: int
    locktime: int
    closer_output_only: bytes | None = None
    closee_output_only: bytes | None = None
    closer_and_closee_outputs: bytes | None = None


@dataclass(frozen=True)
class ClosingSig(ChannelMessage):
    NAME: ClassVar[str] = "closing_sig"
    channel_id: bytes
    closer_scriptpubkey: bytes
    closee_scriptpubkey: bytes
    fee_satoshis: int
    locktime: int
    closer_output_only: bytes | None = None
    closee_output_only: bytes | None = None
    closer_and_closee_outputs: bytes | None = None


@dataclass(frozen=True)
class Error(ChannelMessage):
    NAME: ClassVar[str] = "error"
    channel_id: bytes
    data: bytes


@dataclass(frozen=True)
class Warning(ChannelMessage):
    NAME: ClassVar[str] = "warning"
    channel_id: bytes
    data: bytes


UpdateMessage = UpdateAddHtlc | UpdateFulfillHtlc | UpdateFailHtlc | UpdateFailMalformedHtlc | UpdateFee
