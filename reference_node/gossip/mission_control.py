"""What past payment attempts taught us: a penalty store consulted by pathfinding (like lnd's mission
control). Pure: `now` (seconds) is a parameter.

- A temporary channel failure excludes that directed channel for amounts >= the failed amount until it
  expires (`retry_after_seconds`); a permanent one excludes it for every amount.
- A node failure excludes routing through the node (temporary or permanent likewise).
- `learn_from_failure` maps a BOLT 4 failure code from a given hop of a route to the right one of these.
- `policy_from_failure` reads a failure's `channel_update` for retries of the same payment only
  (`RouteRequest.policy_overrides`), never into the graph.
"""

from __future__ import annotations

from dataclasses import dataclass

from reference_node.gossip.announcements import ChannelPolicy
from reference_node.gossip.errors import RouteIndexError
from reference_node.gossip.route import Route
from reference_node.gossip.signing import channel_update_digest, signature_valid
from reference_node.onion.failure_messages import FailureCode, FailureFlag, FailureMessage
from reference_node.wire import ChannelUpdate, ShortChannelId, WireError, decode_message

DEFAULT_RETRY_AFTER_SECONDS = 3600
_FOREVER = None


@dataclass(frozen=True)
class ChannelPenalty:
    """Directed channel `short_channel_id` from `from_node_id` failed for `min_failed_amount_msat`."""

    min_failed_amount_msat: int
    until: int | None  # None: permanent


@dataclass(frozen=True)
class NodePenalty:
    until: int | None


def _active(until: int | None, now: int) -> bool:
    return until is None or now < until


class MissionControl:
    def __init__(self, *, retry_after_seconds: int = DEFAULT_RETRY_AFTER_SECONDS) -> None:
        self.retry_after_seconds = retry_after_seconds
        self._channels: dict[tuple[ShortChannelId, bytes], ChannelPenalty] = {}
        self._nodes: dict[bytes, NodePenalty] = {}

    def report_channel_failure(
        self,
        short_channel_id: ShortChannelId,
        from_node_id: bytes,
        amount_msat: int,
        *,
        now: int,
        permanent: bool = False,
    ) -> None:
        key = (short_channel_id, from_node_id)
        previous = self._channels.get(key)
        amount = 0 if permanent else amount_msat
        if previous is not None and _active(previous.until, now):
            amount = min(amount, previous.min_failed_amount_msat)
        until = (
            _FOREVER
            if permanent or (previous is not None and previous.until is None)
            else now + self.retry_after_seconds
        )
        self._channels[key] = ChannelPenalty(amount, until)

    def report_node_failure(self, node_id: bytes, *, now: int, permanent: bool = False) -> None:
        self._nodes[node_id] = NodePenalty(_FOREVER if permanent else now + self.retry_after_seconds)

    def report_success(self, short_channel_id: ShortChannelId, from_node_id: bytes, amount_msat: int) -> None:
        """A successful amount clears a temporary penalty for amounts up to it."""
        key = (short_channel_id, from_node_id)
        penalty = self._channels.get(key)
        if (
            penalty is not None
            and penalty.until is not None
            and penalty.min_failed_amount_msat <= amount_msat
        ):
            del self._channels[key]

    def channel_allowed(
        self, short_channel_id: ShortChannelId, from_node_id: bytes, amount_msat: int, now: int
    ) -> bool:
        penalty = self._channels.get((short_channel_id, from_node_id))
        if penalty is None or not _active(penalty.until, now):
            return True
        return amount_msat < penalty.min_failed_amount_msat

    def node_allowed(self, node_id: bytes, now: int) -> bool:
        penalty = self._nodes.get(node_id)
        return penalty is None or not _active(penalty.until, now)

    def learn_from_failure(self, route: Route, erring_index: int, failure_code: int, *, now: int) -> None:
        """A failure returned by hop `erring_index` of `route` (0 = the first node after us; the index the
        origin's onion decoding attributes it to). What is blamed (BOLT 4 failure flags):

        - NODE failures: the erring node itself;
        - BADONION (the erring node could not parse the onion it forwarded to): the channel to the next node;
        - UPDATE and channel failures from a forwarding node: its outgoing channel (permanent if PERM);
        - failures from the final node (e.g. incorrect_or_unknown_payment_details, mpp_timeout): nothing in
          the graph: the payment, not the route, failed.
        """
        if not 0 <= erring_index < len(route.hops):
            raise RouteIndexError(f"erring hop {erring_index} is not in a route of {len(route.hops)} hops")
        nodes = route.node_ids()
        erring_node = nodes[erring_index + 1]
        is_final = erring_index == len(route.hops) - 1
        permanent = bool(failure_code & FailureFlag.PERM)
        if failure_code & FailureFlag.NODE:
            self.report_node_failure(erring_node, now=now, permanent=permanent)
            return
        if is_final:
            return
        outgoing_hop = route.hops[erring_index + 1]
        if failure_code == FailureCode.mpp_timeout:
            return
        self.report_channel_failure(
            outgoing_hop.short_channel_id,
            erring_node,
            outgoing_hop.htlc_amount_msat,
            now=now,
            permanent=permanent and not failure_code & FailureFlag.BADONION,
        )


def _decode_failure_update(raw: bytes) -> ChannelUpdate | None:
    """The `channel_update` field of a failure: normally with its 2-byte message type, which some older
    nodes left out."""
    if not raw:
        return None
    data = raw if raw[:2] == _CHANNEL_UPDATE_TYPE else _CHANNEL_UPDATE_TYPE + raw
    try:
        msg = decode_message(data)
    except WireError:
        return None
    return msg if isinstance(msg, ChannelUpdate) else None


_CHANNEL_UPDATE_TYPE = ChannelUpdate.TYPE.to_bytes(2, "big")


def policy_from_failure(
    route: Route, erring_index: int, failure: FailureMessage
) -> tuple[tuple[ShortChannelId, bytes], ChannelPolicy] | None:
    """The forwarding policy a failure's `channel_update` gives for the erring node's outgoing channel, to
    be used only for retries of this payment (BOLT 4 origin node: "if UPDATE is set, AND the
    `channel_update` is valid and more recent than the `channel_update` used to send the payment: MAY
    consider the `channel_update` when calculating routes to retry the payment which failed"; "MUST NOT
    ... apply the `channel_update` to the local network graph"). None when there is nothing usable: no
    UPDATE flag, no or malformed update, another channel, a bad signature, or not more recent."""
    if not failure.code & FailureFlag.UPDATE or failure.channel_update is None:
        return None
    if not 0 <= erring_index < len(route.hops):
        raise RouteIndexError(f"erring hop {erring_index} is not in a route of {len(route.hops)} hops")
    if erring_index + 1 == len(route.hops):
        return None  # the final node has no outgoing channel
    update = _decode_failure_update(failure.channel_update)
    erring_node = route.node_ids()[erring_index + 1]
    edge = route.edges[erring_index + 1]
    if update is None or update.short_channel_id != edge.short_channel_id:
        return None
    if not signature_valid(erring_node, update.signature, channel_update_digest(update)):
        return None
    if edge.update_timestamp is not None and update.timestamp <= edge.update_timestamp:
        return None
    return (edge.short_channel_id, erring_node), ChannelPolicy.of_update(update)
