"""What the channel machine asks its caller to do, and what it reports to the payment layer.

Ordering contract: a `PersistState` is always emitted BEFORE any `SendMessage` or `BroadcastTx` that
depends on the state it carries (revocation secrets, signatures, HTLCs, per-commitment points), so a node
that persists each `PersistState` before acting on the next action can be killed at any point and recover.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reference_node.channel.errors import ChannelError
from reference_node.channel.messages import ChannelMessage


@dataclass(frozen=True)
class Action:
    pass


@dataclass(frozen=True)
class SendMessage(Action):
    message: ChannelMessage


@dataclass(frozen=True)
class PersistState(Action):
    """The whole channel state, JSON-compatible (see `Channel.to_json`)."""

    state: dict[str, Any]


@dataclass(frozen=True)
class BroadcastTx(Action):
    tx: bytes
    description: str


@dataclass(frozen=True)
class Disconnect(Action):
    """Close the connection (the channel survives): "send a `warning` and close the connection"."""

    reason: str


@dataclass(frozen=True)
class FundingOutputNeeded(Action):
    """The opener must now build (not broadcast) a funding transaction paying `funding_satoshis` to
    `funding_scriptpubkey`, then call `Channel.funding_tx_built`."""

    temporary_channel_id: bytes
    funding_satoshis: int
    funding_scriptpubkey: bytes


@dataclass(frozen=True)
class WatchFunding(Action):
    """Tell the chain watcher which output to report depth for (`Channel.funding_confirmed`)."""

    funding_txid: bytes
    funding_output_index: int
    funding_scriptpubkey: bytes
    minimum_depth: int


@dataclass(frozen=True)
class ChannelFailed(Action):
    """The channel failed (BOLT 5 "Failing a Channel"). `send_error_msg` tells whether an `error` went out;
    `broadcast_commitment` is False when we must not broadcast (we are the one behind)."""

    error: ChannelError
    send_error_msg: bool
    broadcast_commitment: bool


@dataclass(frozen=True)
class ChannelOpened(Action):
    """Both `channel_ready` sent and received: normal operation."""

    channel_id: bytes
    short_channel_id: int | None
    local_alias: int | None
    remote_alias: int | None


@dataclass(frozen=True)
class HtlcReceived(Action):
    """An incoming HTLC is irrevocably committed in both commitments: the payment layer may now forward,
    fulfil or fail it. `exceeds_dust_exposure` is set when BOLT 2's `max_dust_htlc_exposure_msat`
    rule says the HTLC SHOULD be failed and its preimage not revealed."""

    htlc_id: int
    amount_msat: int
    payment_hash: bytes
    cltv_expiry: int
    onion_routing_packet: bytes
    path_key: bytes | None
    exceeds_dust_exposure: bool


@dataclass(frozen=True)
class HtlcFulfilled(Action):
    """One of our offered HTLCs was fulfilled; the preimage may be used at once
    (BOLT 2 disconnection note)."""

    htlc_id: int
    payment_hash: bytes
    payment_preimage: bytes


@dataclass(frozen=True)
class HtlcFailed(Action):
    """One of our offered HTLCs failed, irrevocably removed from both commitments (safe to fail upstream).
    `reason` is the onion error (update_fail_htlc) or None with `failure_code`/`sha256_of_onion` for a
    malformed failure."""

    htlc_id: int
    payment_hash: bytes
    reason: bytes | None
    failure_code: int | None
    sha256_of_onion: bytes | None


@dataclass(frozen=True)
class HtlcResolved(Action):
    """An HTLC's removal is folded into both commitments for good (either direction)."""

    htlc_id: int
    offered_by_us: bool
    fulfilled: bool


@dataclass(frozen=True)
class ChannelClosed(Action):
    closing_txid: bytes
