"""BOLT 2 channel state machine (sans I/O).

    channel, actions = Channel.new_outbound(signer=..., policy=..., ...)   # funder: open_channel to send
    channel = Channel.new_inbound(signer=..., policy=..., ...)  # fundee: then .handle(open_channel)
    actions = channel.handle(message)             # peer message in (messages.py dataclasses)
    actions = channel.funding_tx_built(txid, vout, tx)
    actions = channel.funding_confirmed(depth, height, tx_index, value, spk)
    htlc_id, actions = channel.add_htlc(...); channel.fulfill_htlc / fail_htlc / fail_malformed_htlc
    channel.update_fee(feerate); channel.commit(); channel.shutdown(script)
    channel.closing_confirmed(txid)
    channel.peer_disconnected() ; channel.peer_reconnected()  # -> channel_reestablish
    state = channel.to_json() ; Channel.from_json(state, signer, policy)

Actions (actions.py): SendMessage, PersistState (always before what depends on it), BroadcastTx, Disconnect,
FundingOutputNeeded, WatchFunding, ChannelOpened, ChannelFailed, HtlcReceived, HtlcFulfilled, HtlcFailed,
HtlcResolved, ChannelClosed. States and the transition table: states.py. Receiver checks:
errors.py (one class per BOLT 2 requirement). BOLT 3 work goes through
the `ChannelSigner` protocol (signer.py); `Bolt3Signer`
implements it over reference_node.keys/transactions. `wire_adapter` converts messages
to/from reference_node.wire.
"""

from reference_node.channel.actions import (
    Action,
    BroadcastTx,
    ChannelClosed,
    ChannelFailed,
    ChannelOpened,
    Disconnect,
    FundingOutputNeeded,
    HtlcFailed,
    HtlcFulfilled,
    HtlcReceived,
    HtlcResolved,
    PersistState,
    SendMessage,
    WatchFunding,
)
from reference_node.channel.channel import Channel
from reference_node.channel.params import ChannelParams, ChannelType, PeerFeatures, Policy, Side
from reference_node.channel.states import TRANSITIONS, ChannelState, IllegalTransition

__all__ = [
    "TRANSITIONS",
    "Action",
    "BroadcastTx",
    "Channel",
    "ChannelClosed",
    "ChannelFailed",
    "ChannelOpened",
    "ChannelParams",
    "ChannelState",
    "ChannelType",
    "Disconnect",
    "FundingOutputNeeded",
    "HtlcFailed",
    "HtlcFulfilled",
    "HtlcReceived",
    "HtlcResolved",
    "IllegalTransition",
    "PeerFeatures",
    "PersistState",
    "Policy",
    "SendMessage",
    "Side",
    "WatchFunding",
]
