"""Routes: the channels a payment takes and the per-hop values BOLT 4 puts in each onion payload.

Amounts and CLTVs are computed backwards from the destination (BOLT 7 "Routing Example": "amounts and
expiries for HTLCs need to be calculated backward from the destination to the source"):
- the final hop's payload: `amt_to_forward` = the amount paid, `outgoing_cltv_value` = the final CLTV;
- a forwarding node's payload: what it sends on its outgoing channel; the HTLC it receives adds the fee
  and `cltv_expiry_delta` of its own `channel_update` for that outgoing channel;
- the sender pays itself no fee and adds no delta on its first channel.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from reference_node.gossip.announcements import ChannelPolicy
from reference_node.gossip.errors import RouteNotFoundError
from reference_node.wire import ShortChannelId

# BOLT 4: a route has at most 20 hops (the 1300-byte onion holds 20 legacy 65-byte hop payloads).
MAX_HOPS = 20


@dataclass(frozen=True)
class RouteEdge:
    """One directed channel usable for routing: from `from_node_id` to `to_node_id` with the policy
    `from_node_id` announced. `capacity_msat` is None when unknown (route hints); `liquidity_msat` is what
    can be sent now on our own channels (live balance), None elsewhere."""

    short_channel_id: ShortChannelId
    from_node_id: bytes
    to_node_id: bytes
    policy: ChannelPolicy
    capacity_msat: int | None = None
    liquidity_msat: int | None = None
    update_timestamp: int | None = None  # of the channel_update the policy came from, when known

    def can_carry(self, amount_msat: int, *, reserved_msat: int = 0, check_policy: bool = True) -> bool:
        """Whether an HTLC of `amount_msat` fits this edge (policy limits; capacity or live balance after
        what other parts of the same payment already use). The sender's own first channel is limited by
        its balance, not by its own announced policy (`check_policy=False`)."""
        if check_policy and not (
            self.policy.htlc_minimum_msat <= amount_msat <= self.policy.htlc_maximum_msat
        ):
            return False
        limit = self.liquidity_msat if self.liquidity_msat is not None else self.capacity_msat
        return limit is None or amount_msat + reserved_msat <= limit


@dataclass(frozen=True)
class RouteHop:
    """One hop of a route: `node_id` is reached over `short_channel_id`; `amount_to_forward_msat` and
    `outgoing_cltv_value` are its onion payload's `amt_to_forward` and `outgoing_cltv_value`; `fee_msat`
    is what it charges (0 for the final hop); `htlc_amount_msat`/`htlc_cltv_expiry` are the HTLC it
    receives."""

    node_id: bytes
    short_channel_id: ShortChannelId
    amount_to_forward_msat: int
    outgoing_cltv_value: int
    fee_msat: int
    htlc_amount_msat: int
    htlc_cltv_expiry: int


@dataclass(frozen=True)
class Route:
    """A route from `source_node_id`; `amount_msat`/`cltv_expiry` are the first `update_add_htlc`'s."""

    source_node_id: bytes
    hops: tuple[RouteHop, ...]
    edges: tuple[RouteEdge, ...]

    @property
    def amount_msat(self) -> int:
        return self.hops[0].htlc_amount_msat

    @property
    def cltv_expiry(self) -> int:
        return self.hops[0].htlc_cltv_expiry

    @property
    def final_amount_msat(self) -> int:
        return self.hops[-1].amount_to_forward_msat

    @property
    def total_fee_msat(self) -> int:
        return self.amount_msat - self.final_amount_msat

    @property
    def total_cltv_delta(self) -> int:
        return self.cltv_expiry - self.hops[-1].outgoing_cltv_value

    def node_ids(self) -> tuple[bytes, ...]:
        return (self.source_node_id, *(hop.node_id for hop in self.hops))


def build_route(edges: Sequence[RouteEdge], amount_msat: int, final_cltv_value: int) -> Route:
    """The per-hop values for a given path (no feasibility checks: see `route_is_feasible`)."""
    if not edges:
        raise RouteNotFoundError("a route needs at least one channel")
    for previous, following in itertools.pairwise(edges):
        if previous.to_node_id != following.from_node_id:
            raise RouteNotFoundError(
                f"{previous.short_channel_id} does not lead to {following.short_channel_id}"
            )
    hops: list[RouteHop] = []
    amount, cltv = amount_msat, final_cltv_value
    fee = 0
    for index in range(len(edges) - 1, -1, -1):
        edge = edges[index]
        if index == len(edges) - 1:
            htlc_amount, htlc_cltv = amount, cltv
        else:
            outgoing = edges[index + 1].policy
            fee = outgoing.fee_msat(amount)
            htlc_amount, htlc_cltv = amount + fee, cltv + outgoing.cltv_expiry_delta
        hops.append(
            RouteHop(edge.to_node_id, edge.short_channel_id, amount, cltv, fee, htlc_amount, htlc_cltv)
        )
        amount, cltv = htlc_amount, htlc_cltv
    hops.reverse()
    return Route(edges[0].from_node_id, tuple(hops), tuple(edges))


def route_is_feasible(route: Route) -> bool:
    """Every HTLC fits its channel (the first one by balance only: we do not pay our own policy)."""
    return all(
        edge.can_carry(hop.htlc_amount_msat, check_policy=index > 0)
        for index, (edge, hop) in enumerate(zip(route.edges, route.hops, strict=True))
    )
