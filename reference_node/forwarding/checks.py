"""BOLT 4 forwarding-node checks of an incoming HTLC against our outgoing channel (pure).

The order follows the failure list of BOLT 4 "Failure Messages / Requirements" for a _forwarding node_:
unknown_next_peer, amount_below_minimum, fee_insufficient, incorrect_cltv_expiry, expiry_too_soon,
expiry_too_far, channel_disabled; then what only the channel itself can say (temporary_channel_failure:
"an otherwise unspecified, transient error occurs in the outgoing channel (e.g. channel capacity reached
...)"). Every UPDATE failure carries our current `channel_update` for the outgoing channel.
"""

from __future__ import annotations

from dataclasses import dataclass

from reference_node.gossip.announcements import ChannelPolicy
from reference_node.onion.failure_messages import FailureCode, FailureMessage

# BOLT 4 "if the `cltv_expiry` is more than `max_htlc_cltv` in the future": two weeks of blocks, the
# limit Core Lightning and LND use (max-locktime-blocks).
DEFAULT_MAX_HTLC_CLTV_BLOCKS = 2016
# BOLT 4 "if the `cltv_expiry` is unreasonably near the present": the outgoing HTLC must leave us blocks
# to go on chain before it expires (BOLT 2 "cltv_expiry_delta Selection": the deadline R of a forwarded
# HTLC); fewer than this many blocks left is too near.
DEFAULT_MIN_BLOCKS_TO_EXPIRY = 6


@dataclass(frozen=True)
class OutgoingChannel:
    """Our channel named by the onion's `short_channel_id`, as the forwarding decision needs it.

    `usable`: in normal state with the peer connected and reestablished; `disabled`: our own
    `channel_update` has the disable bit; `channel_update`: that update serialized with its 2-byte type
    (BOLT 4: the `channel_update` field "MUST include the 2-byte message type")."""

    short_channel_id: int
    policy: ChannelPolicy
    usable: bool
    disabled: bool
    spendable_msat: int
    channel_update: bytes


@dataclass(frozen=True)
class IncomingForward:
    """The incoming HTLC and what its onion asks us to forward."""

    amount_msat: int
    cltv_expiry: int
    amt_to_forward_msat: int
    outgoing_cltv_value: int


@dataclass(frozen=True)
class ForwardLimits:
    min_blocks_to_expiry: int = DEFAULT_MIN_BLOCKS_TO_EXPIRY
    max_htlc_cltv_blocks: int = DEFAULT_MAX_HTLC_CLTV_BLOCKS


def check_forward(
    htlc: IncomingForward,
    outgoing: OutgoingChannel | None,
    current_height: int,
    limits: ForwardLimits = ForwardLimits(),
) -> FailureMessage | None:
    """The failure to return for this forward, or None when it may be offered on `outgoing`."""
    if outgoing is None:
        # "if the receiving peer specified by the onion is NOT known: return an `unknown_next_peer` error."
        return FailureMessage(FailureCode.unknown_next_peer)
    update = outgoing.channel_update
    policy = outgoing.policy
    if htlc.amt_to_forward_msat < policy.htlc_minimum_msat:
        # "report the amount of the outgoing HTLC and the current channel setting"
        return FailureMessage(
            FailureCode.amount_below_minimum, htlc_msat=htlc.amt_to_forward_msat, channel_update=update
        )
    # BOLT 4: "incoming `amount_msat` - `fee` < `amt_to_forward`" with `fee` the advertised fee (BOLT 7
    # "HTLC Fees"), computed on the amount forwarded.
    if htlc.amount_msat - policy.fee_msat(htlc.amt_to_forward_msat) < htlc.amt_to_forward_msat:
        # "report the amount of the incoming HTLC and the current channel setting"
        return FailureMessage(FailureCode.fee_insufficient, htlc_msat=htlc.amount_msat, channel_update=update)
    if htlc.cltv_expiry - htlc.outgoing_cltv_value < policy.cltv_expiry_delta:
        # "report the `cltv_expiry` of the outgoing HTLC and the current channel setting"
        return FailureMessage(
            FailureCode.incorrect_cltv_expiry, cltv_expiry=htlc.outgoing_cltv_value, channel_update=update
        )
    if htlc.outgoing_cltv_value < current_height + limits.min_blocks_to_expiry:
        return FailureMessage(FailureCode.expiry_too_soon, channel_update=update)
    if htlc.cltv_expiry > current_height + limits.max_htlc_cltv_blocks:
        return FailureMessage(FailureCode.expiry_too_far)
    if outgoing.disabled:
        return FailureMessage(FailureCode.channel_disabled, disabled_flags=0, channel_update=update)
    if not outgoing.usable or htlc.amt_to_forward_msat > outgoing.spendable_msat:
        return FailureMessage(FailureCode.temporary_channel_failure, channel_update=update)
    return None
