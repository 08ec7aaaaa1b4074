"""BOLT 2 channel lifecycle: every state and every allowed transition, in one table.

The table is the single authority: `check_transition` raises `IllegalTransition` for any move it
does not list, so a bug (or a peer driving us out of order) can never put a channel in a state the
spec does not allow from where it is.
"""

from __future__ import annotations

from enum import Enum


class ChannelState(Enum):
    # Establishment v1 (BOLT 2 "Channel Establishment v1"), opener side
    OPENER_INIT = "opener_init"
    OPEN_CHANNEL_SENT = "open_channel_sent"
    AWAITING_FUNDING_TX = "awaiting_funding_tx"
    FUNDING_CREATED_SENT = "funding_created_sent"
    # accepter side
    ACCEPTER_INIT = "accepter_init"
    ACCEPT_CHANNEL_SENT = "accept_channel_sent"
    # both: funding signed, waiting for `minimum_depth` and the peer's `channel_ready`
    AWAITING_CHANNEL_READY = "awaiting_channel_ready"
    # "After both sides have sent the `channel_ready` message, the channel is established"
    NORMAL = "normal"
    # `shutdown` sent and/or received; HTLCs may still be pending (BOLT 2 "Closing Initiation")
    SHUTTING_DOWN = "shutting_down"
    # no HTLCs left, both `shutdown`s exchanged: fee negotiation (closing_signed or closing_complete)
    NEGOTIATING_CLOSING = "negotiating_closing"
    # a mutual closing transaction is fully signed and was broadcast
    CLOSING_BROADCAST = "closing_broadcast"
    # the closing transaction confirmed
    CLOSED = "closed"
    # the channel failed (BOLT 5 "Failing a Channel" takes over on chain)
    FAILED = "failed"


S = ChannelState

TRANSITIONS: dict[ChannelState, frozenset[ChannelState]] = {
    S.OPENER_INIT: frozenset({S.OPEN_CHANNEL_SENT, S.FAILED}),
    S.OPEN_CHANNEL_SENT: frozenset({S.AWAITING_FUNDING_TX, S.FAILED}),
    S.AWAITING_FUNDING_TX: frozenset({S.FUNDING_CREATED_SENT, S.FAILED}),
    S.FUNDING_CREATED_SENT: frozenset({S.AWAITING_CHANNEL_READY, S.FAILED}),
    S.ACCEPTER_INIT: frozenset({S.ACCEPT_CHANNEL_SENT, S.FAILED}),
    S.ACCEPT_CHANNEL_SENT: frozenset({S.AWAITING_CHANNEL_READY, S.FAILED}),
    # "MAY send a `shutdown` before a `channel_ready`"
    S.AWAITING_CHANNEL_READY: frozenset({S.NORMAL, S.SHUTTING_DOWN, S.FAILED}),
    S.NORMAL: frozenset({S.SHUTTING_DOWN, S.FAILED}),
    S.SHUTTING_DOWN: frozenset({S.NEGOTIATING_CLOSING, S.FAILED}),
    S.NEGOTIATING_CLOSING: frozenset({S.CLOSING_BROADCAST, S.FAILED}),
    # closing_complete may be repeated (RBF) after a broadcast; a confirmation ends it
    S.CLOSING_BROADCAST: frozenset({S.CLOSED, S.NEGOTIATING_CLOSING, S.FAILED}),
    S.CLOSED: frozenset(),
    S.FAILED: frozenset(),
}

# States in which the channel has a funding output and commitment transactions both sides signed.
FUNDED_STATES: frozenset[ChannelState] = frozenset(
    {S.AWAITING_CHANNEL_READY, S.NORMAL, S.SHUTTING_DOWN, S.NEGOTIATING_CLOSING, S.CLOSING_BROADCAST}
)


class IllegalTransition(Exception):
    """A move between two states the transition table does not allow."""

    def __init__(self, source: ChannelState, target: ChannelState, cause: str) -> None:
        super().__init__(f"illegal channel transition {source.value} -> {target.value} ({cause})")
        self.source = source
        self.target = target
        self.cause = cause


def check_transition(source: ChannelState, target: ChannelState, cause: str) -> None:
    if target not in TRANSITIONS[source]:
        raise IllegalTransition(source, target, cause)
