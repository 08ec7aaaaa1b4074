"""Multi-part payments (BOLT 4 `basic_mpp`): split an amount over several routes, each within what its
channels can carry given the other parts (the amounts already reserved on each directed channel).

Strategy (as lnd's): try the whole amount; when no route can carry a part, halve it, down to
`min_part_msat`, with at most `max_parts` parts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from reference_node.gossip.errors import RouteNotFoundError
from reference_node.gossip.mission_control import MissionControl
from reference_node.gossip.pathfinding import LocalChannel, RouteRequest, find_route
from reference_node.gossip.route import Route, RouteEdge
from reference_node.wire import ShortChannelId

DEFAULT_MAX_PARTS = 16
DEFAULT_MIN_PART_MSAT = 10_000


def split_payment(
    edges: Sequence[RouteEdge],
    request: RouteRequest,
    *,
    local_channels: Sequence[LocalChannel] | None = None,
    mission_control: MissionControl | None = None,
    unroutable: frozenset[bytes] = frozenset(),
    max_parts: int = DEFAULT_MAX_PARTS,
    min_part_msat: int = DEFAULT_MIN_PART_MSAT,
) -> tuple[Route, ...]:
    """Routes whose final amounts sum to `request.amount_msat`; every directed channel carries, in
    total over all parts, no more than its capacity (or our live balance). Raises RouteNotFoundError."""
    reserved: dict[tuple[ShortChannelId, bytes], int] = dict(request.reserved_msat)
    pending = [request.amount_msat]
    routes: list[Route] = []
    while pending:
        part = pending.pop(0)
        part_request = dataclasses.replace(request, amount_msat=part, reserved_msat=dict(reserved))
        try:
            route = find_route(
                edges,
                part_request,
                local_channels=local_channels,
                mission_control=mission_control,
                unroutable=unroutable,
            )
        except RouteNotFoundError:
            half = part // 2
            if half < min_part_msat or len(routes) + len(pending) + 2 > max_parts:
                raise RouteNotFoundError(
                    f"cannot split {request.amount_msat} msat: no route for a part of {part} msat"
                ) from None
            pending[:0] = [part - half, half]
            continue
        for edge, hop in zip(route.edges, route.hops, strict=True):
            key = (edge.short_channel_id, edge.from_node_id)
            reserved[key] = reserved.get(key, 0) + hop.htlc_amount_msat
        routes.append(route)
    return tuple(routes)
