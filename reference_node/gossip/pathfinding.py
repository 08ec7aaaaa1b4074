"""Pathfinding: Dijkstra from the destination backwards (as lnd, CLN and LDK do), so each node's label is
the amount (and CLTV) the HTLC arriving at it must carry, fees computed exactly on the amount forwarded.

Cost of using directed channel u->v: the fee u charges (0 when u is us) + `cltv_risk_msat_per_block` x
its `cltv_expiry_delta`. With `htlc_minimum_msat` not binding and the hop limit not reached, the route
has the least cost (fees are non-decreasing in the amount, so the cheapest label dominates).
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from reference_node.gossip.announcements import ChannelPolicy, update_disabled
from reference_node.gossip.errors import RouteNotFoundError
from reference_node.gossip.flags import Direction
from reference_node.gossip.graph import ChannelGraph
from reference_node.gossip.mission_control import MissionControl
from reference_node.gossip.route import MAX_HOPS, Route, RouteEdge, build_route
from reference_node.invoice.route_hint import RouteHintHop
from reference_node.wire import ShortChannelId

# Route hint channels have no announced limits: they are assumed to carry any amount.
_UNLIMITED_MSAT = (1 << 64) - 1


@dataclass(frozen=True)
class LocalChannel:
    """One of our channels as pathfinding sees it: `spendable_msat` is its live outbound balance."""

    short_channel_id: ShortChannelId
    remote_node_id: bytes
    spendable_msat: int


def edges_from_graph(graph: ChannelGraph) -> list[RouteEdge]:
    """Every directed channel of the graph usable for routing. Left out: directions without an update
    or disabled; channels with an unknown even feature ("MUST NOT attempt to route messages through the
    channel"); policies with `htlc_maximum_msat` < `htlc_minimum_msat` or above the capacity ("SHOULD
    ignore this channel during route considerations"); spent channels."""
    edges = []
    for record in graph.channels():
        if record.spent or record.has_unknown_even_feature():
            continue
        capacity_msat = None if record.capacity_sat is None else record.capacity_sat * 1000
        for direction in Direction:
            update = record.update(direction)
            if update is None or update_disabled(update):
                continue
            policy = ChannelPolicy.of_update(update)
            if policy.htlc_maximum_msat < policy.htlc_minimum_msat:
                continue
            if capacity_msat is not None and policy.htlc_maximum_msat > capacity_msat:
                continue
            edges.append(
                RouteEdge(
                    record.short_channel_id,
                    record.node_id(direction),
                    record.node_id(direction.other),
                    policy,
                    capacity_msat,
                    update_timestamp=update.timestamp,
                )
            )
    return edges


def unroutable_nodes(graph: ChannelGraph) -> frozenset[bytes]:
    """Nodes announcing an unknown even feature: "MUST NOT route a payment _through_ the node"."""
    return frozenset(n.node_id for n in graph.nodes() if n.has_unknown_even_feature())


def edges_from_route_hints(
    route_hints: Iterable[Sequence[RouteHintHop]], destination: bytes
) -> list[RouteEdge]:
    """BOLT 11 `r`: each hop's `pubkey` is the start of its channel, which leads to the next hop's pubkey
    (or to the payee for the last one)."""
    edges = []
    for hint in route_hints:
        for index, hop in enumerate(hint):
            to_node = hint[index + 1].pubkey if index + 1 < len(hint) else destination
            policy = ChannelPolicy(
                cltv_expiry_delta=hop.cltv_expiry_delta,
                htlc_minimum_msat=0,
                htlc_maximum_msat=_UNLIMITED_MSAT,
                fee_base_msat=hop.fee_base_msat,
                fee_proportional_millionths=hop.fee_proportional_millionths,
            )
            edges.append(
                RouteEdge(ShortChannelId.from_int(hop.short_channel_id), hop.pubkey, to_node, policy)
            )
    return edges


@dataclass(frozen=True)
class RouteRequest:
    """What to pay: `final_cltv_value` is current height + `min_final_cltv_expiry_delta` + any shadow
    route offset (BOLT 7 "Recommendations for Routing")."""

    source: bytes
    destination: bytes
    amount_msat: int
    final_cltv_value: int
    max_hops: int = MAX_HOPS
    cltv_risk_msat_per_block: int = 0
    excluded_channels: frozenset[ShortChannelId] = frozenset()
    excluded_nodes: frozenset[bytes] = frozenset()
    now: int = 0
    reserved_msat: Mapping[tuple[ShortChannelId, bytes], int] = field(default_factory=dict)
    # Policies learned from failures of this payment (BOLT 4: "MAY consider the `channel_update` when
    # calculating routes to retry the payment which failed"), by (short_channel_id, from_node_id).
    policy_overrides: Mapping[tuple[ShortChannelId, bytes], ChannelPolicy] = field(default_factory=dict)


@dataclass(frozen=True)
class _Label:
    cost: int
    amount_msat: int  # the HTLC amount arriving at the node
    cltv: int  # the HTLC cltv_expiry arriving at the node
    hops: int
    path: tuple[RouteEdge, ...]  # from this node to the destination


def find_route(
    edges: Iterable[RouteEdge],
    request: RouteRequest,
    *,
    local_channels: Sequence[LocalChannel] | None = None,
    mission_control: MissionControl | None = None,
    unroutable: frozenset[bytes] = frozenset(),
) -> Route:
    """The least-cost route for `request`. When `local_channels` is given, the source's own channels are
    exactly those, limited by their live balances (gossip may not know private ones and does not know
    balances). Raises RouteNotFoundError."""
    if request.source == request.destination:
        raise RouteNotFoundError("source and destination are the same node")
    if request.policy_overrides:
        edges = [_with_override(edge, request.policy_overrides) for edge in edges]
    incoming = _incoming_edges(edges, request.source, local_channels)
    counter = itertools.count()
    start = _Label(0, request.amount_msat, request.final_cltv_value, 0, ())
    best: dict[bytes, _Label] = {request.destination: start}
    queue: list[tuple[int, int, int, bytes]] = [(0, 0, next(counter), request.destination)]
    done: set[bytes] = set()
    while queue:
        _, _, _, node = heapq.heappop(queue)
        if node in done:
            continue
        done.add(node)
        label = best[node]
        if node == request.source:
            return build_route(label.path, request.amount_msat, request.final_cltv_value)
        if label.hops >= request.max_hops:
            continue
        for edge in incoming.get(node, ()):
            candidate = _relax(edge, label, request, mission_control, unroutable)
            if candidate is None or edge.from_node_id in done:
                continue
            current = best.get(edge.from_node_id)
            if current is None or (candidate.cost, candidate.hops) < (current.cost, current.hops):
                best[edge.from_node_id] = candidate
                heapq.heappush(queue, (candidate.cost, candidate.hops, next(counter), edge.from_node_id))
    raise RouteNotFoundError(
        f"no route for {request.amount_msat} msat from {request.source.hex()} to {request.destination.hex()}"
    )


def _with_override(
    edge: RouteEdge, overrides: Mapping[tuple[ShortChannelId, bytes], ChannelPolicy]
) -> RouteEdge:
    policy = overrides.get((edge.short_channel_id, edge.from_node_id))
    return edge if policy is None else dataclasses.replace(edge, policy=policy)


def _incoming_edges(
    edges: Iterable[RouteEdge], source: bytes, local_channels: Sequence[LocalChannel] | None
) -> dict[bytes, list[RouteEdge]]:
    incoming: dict[bytes, list[RouteEdge]] = {}
    gossip_policies: dict[ShortChannelId, ChannelPolicy] = {}
    for edge in edges:
        if edge.from_node_id == source:
            gossip_policies[edge.short_channel_id] = edge.policy
            if local_channels is not None:
                continue
        incoming.setdefault(edge.to_node_id, []).append(edge)
    for local in local_channels or ():
        # Our own fee and delta are never charged; the policy is kept only for completeness.
        policy = gossip_policies.get(local.short_channel_id, ChannelPolicy(0, 0, _UNLIMITED_MSAT, 0, 0))
        edge = RouteEdge(
            local.short_channel_id, source, local.remote_node_id, policy, liquidity_msat=local.spendable_msat
        )
        incoming.setdefault(local.remote_node_id, []).append(edge)
    return incoming


def _relax(
    edge: RouteEdge,
    label: _Label,
    request: RouteRequest,
    mission_control: MissionControl | None,
    unroutable: frozenset[bytes],
) -> _Label | None:
    """The label of `edge.from_node_id` reached through `edge`, or None if the edge cannot be used."""
    sender = edge.from_node_id
    from_source = sender == request.source
    if edge.short_channel_id in request.excluded_channels:
        return None
    if not from_source and (sender in request.excluded_nodes or sender in unroutable):
        return None
    if (
        mission_control is not None
        and not from_source
        and not mission_control.node_allowed(sender, request.now)
    ):
        return None
    amount = label.amount_msat
    reserved = request.reserved_msat.get((edge.short_channel_id, sender), 0)
    if not edge.can_carry(amount, reserved_msat=reserved, check_policy=not from_source):
        return None
    if mission_control is not None and not mission_control.channel_allowed(
        edge.short_channel_id, sender, amount, request.now
    ):
        return None
    if from_source:
        fee, delta = 0, 0
    else:
        fee, delta = edge.policy.fee_msat(amount), edge.policy.cltv_expiry_delta
    cost = label.cost + fee + delta * request.cltv_risk_msat_per_block
    return _Label(cost, amount + fee, label.cltv + delta, label.hops + 1, (edge, *label.path))
