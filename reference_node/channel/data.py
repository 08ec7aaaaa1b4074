"""The complete, persistable state of one channel."""

from __future__ import annotations

from dataclasses import dataclass, field

from reference_node.channel.ledger import Ledger
from reference_node.channel.messages import FeeRange
from reference_node.channel.params import Basepoints, ChannelParams, ChannelType, PeerFeatures, Side
from reference_node.channel.states import ChannelState


@dataclass
class SecretSlot:
    """One of the 49 slots of the peer's per-commitment secret store (BOLT 3)."""

    slot: int
    index: int
    secret: bytes


@dataclass
class SimpleCloseOffer:
    """The last `closing_complete` we sent, to match the peer's `closing_sig` against."""

    closer_scriptpubkey: bytes
    closee_scriptpubkey: bytes
    fee_satoshis: int
    locktime: int
    closer_output_only: bool
    closee_output_only: bool
    closer_and_closee_outputs: bool


@dataclass
class ClosingState:
    shutdown_sent: bool = False
    shutdown_received: bool = False
    local_scriptpubkey: bytes = b""
    remote_scriptpubkey: bytes = b""
    # legacy closing_signed negotiation
    last_sent_fee_satoshis: int | None = None
    last_received_fee_satoshis: int | None = None
    sent_fee_range: FeeRange | None = None
    received_fee_range: FeeRange | None = None
    # our preferred closing fee (from `shutdown`/`negotiate_closing` commands)
    target_fee_satoshis: int | None = None
    max_fee_satoshis: int | None = None
    # option_simple_close
    simple_offer: SimpleCloseOffer | None = None
    closing_txids: list[bytes] = field(default_factory=list)


@dataclass
class ChannelData:
    state: ChannelState
    opener: Side
    chain_hash: bytes
    temporary_channel_id: bytes
    funding_satoshis: int
    push_msat: int
    initial_feerate_per_kw: int
    channel_type: ChannelType
    channel_flags: int
    features: PeerFeatures
    local_params: ChannelParams
    local_basepoints: Basepoints
    local_upfront_shutdown_script: bytes = b""
    remote_params: ChannelParams | None = None
    remote_basepoints: Basepoints | None = None
    remote_upfront_shutdown_script: bytes = b""
    minimum_depth: int = 0
    channel_id: bytes | None = None
    funding_txid: bytes | None = None
    funding_output_index: int | None = None
    funding_tx: bytes | None = None
    funding_depth: int = 0
    short_channel_id: int | None = None
    local_alias: int | None = None
    remote_alias: int | None = None
    channel_ready_sent: bool = False
    channel_ready_received: bool = False
    ledger: Ledger | None = None
    # the peer's per-commitment points for its current and next commitment
    remote_current_point: bytes | None = None
    remote_next_point: bytes | None = None
    # the peer's signatures on our current commitment (needed to broadcast it)
    remote_commitment_signature: bytes | None = None
    remote_htlc_signatures: list[bytes] = field(default_factory=list)
    remote_secret_slots: list[SecretSlot] = field(default_factory=list)
    remote_secret_next_index: int = (1 << 48) - 1
    # True when our last commitment_signed went out after our last revoke_and_ack (retransmission order)
    commitment_signed_after_revoke: bool = False
    connected: bool = True
    reestablish_sent: bool = False
    reestablish_received: bool = False
    closing: ClosingState = field(default_factory=ClosingState)
    failure: str | None = None
    # the `error` we sent when failing the channel, retransmitted on reconnection (BOLT 2)
    sent_error: bytes | None = None
