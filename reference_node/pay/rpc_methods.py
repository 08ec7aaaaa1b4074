"""Core Lightning's multi-hop RPC methods for the reference node (`boltcheck node`): `getroute`,
`listchannels`, `listnodes`, `sendpay`, `waitsendpay`, and `pay` across hops. Shapes follow Core
Lightning's documentation (lightning-getroute(7), lightning-sendpay(7), lightning-waitsendpay(7), ...):
`erring_index` counts from us (0) as Core Lightning does, `failcodename` is `WIRE_` + the BOLT 4 name."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from reference_node.channel import ChannelState
from reference_node.gossip.announcements import ChannelPolicy, decode_alias, update_direction
from reference_node.gossip.errors import RouteNotFoundError
from reference_node.gossip.flags import Direction
from reference_node.gossip.route import Route, RouteEdge, RouteHop
from reference_node.pay import Multihop, enable_multihop
from reference_node.pay.payer import AttemptResult, AttemptStatus, PayError
from reference_node.payments.channels import scid_text
from reference_node.payments.service import PaymentError
from reference_node.rpc import INVALID_PARAMS, PAY_STOPPED_RETRYING, RpcError, parse_msat
from reference_node.store import PaymentStatus
from reference_node.wire import ShortChannelId

if TYPE_CHECKING:
    from reference_node.node import LightningNode

# Core Lightning's pay error codes (common/jsonrpc_errors.h)
PAY_IN_PROGRESS = 200
PAY_UNPARSEABLE_ONION = 202
PAY_DESTINATION_PERM_FAIL = 203
PAY_TRY_OTHER_ROUTE = 204
PAY_ROUTE_NOT_FOUND = 205
DEFAULT_CLTV = 9  # getroute's default final `cltv`
# a given route's hops carry their own amounts; the policy is not consulted
_GIVEN_POLICY = ChannelPolicy(0, 0, (1 << 64) - 1, 0, 0)

Handler = Callable[[dict[str, Any]], Awaitable[Any]]


class RpcFailure(RpcError):
    """An RPC error with Core Lightning's `data` object (waitsendpay failures)."""

    def __init__(self, code: int, message: str, data: dict[str, Any]) -> None:
        super().__init__(code, message)
        self.data = data


def _node_id(value: object, name: str) -> bytes:
    try:
        raw = bytes.fromhex(str(value))
    except ValueError as exc:
        raise RpcError(INVALID_PARAMS, f"{name}: not hex") from exc
    if len(raw) != 33:
        raise RpcError(INVALID_PARAMS, f"{name}: not a 33-byte node id")
    return raw


class MultihopRpc:
    def __init__(self, node: LightningNode, multihop: Multihop | None = None) -> None:
        self.node = node
        if multihop is None:
            multihop = enable_multihop(node)
            multihop.start()
        self.multihop = multihop

    def methods(self) -> dict[str, tuple[tuple[str, ...], Handler]]:
        return {
            "getroute": (
                ("id", "amount_msat", "riskfactor", "cltv", "fromid", "fuzzpercent", "exclude", "maxhops"),
                self.getroute,
            ),
            "listchannels": (("short_channel_id", "source", "destination"), self.listchannels),
            "listnodes": (("id",), self.listnodes),
            "sendpay": (
                (
                    "route",
                    "payment_hash",
                    "label",
                    "amount_msat",
                    "bolt11",
                    "payment_secret",
                    "partid",
                    "groupid",
                ),
                self.sendpay,
            ),
            "waitsendpay": (("payment_hash", "timeout", "partid", "groupid"), self.waitsendpay),
            "pay": (("bolt11", "amount_msat", "label", "riskfactor", "maxfeepercent", "retry_for"), self.pay),
        }

    async def stop(self) -> None:
        await self.multihop.stop()

    # -- getroute / sendpay / waitsendpay --------------------------------------------------------------

    async def getroute(self, params: dict[str, Any]) -> dict[str, Any]:
        destination = _node_id(params.get("id"), "id")
        amount_msat = parse_msat(params.get("amount_msat"))
        cltv = int(params.get("cltv", DEFAULT_CLTV))
        try:
            route = self.multihop.payer.get_route(destination, amount_msat, cltv - 1)
        except RouteNotFoundError as exc:
            raise RpcError(PAY_ROUTE_NOT_FOUND, f"Could not find a route: {exc}") from exc
        return {"route": [_hop_json(route, i) for i in range(len(route.hops))]}

    def _route_from_json(self, raw: object) -> Route:
        """Core Lightning's route: per hop `id`, `channel`, `amount_msat` (arriving at that hop) and `delay`
        (its HTLC's cltv_expiry), taken as given (no policy is assumed: sendpay sends what it is told)."""
        if not isinstance(raw, list) or not raw:
            raise RpcError(INVALID_PARAMS, "route: should be a non-empty array")
        hops: list[RouteHop] = []
        edges: list[RouteEdge] = []
        previous = self.node.node_id
        try:
            for index, entry in enumerate(raw):
                following = raw[index + 1] if index + 1 < len(raw) else entry
                node_id = _node_id(entry["id"], "route id")
                scid = ShortChannelId.from_str(str(entry["channel"]))
                htlc_amount_msat = parse_msat(entry["amount_msat"])
                forward_msat = parse_msat(following["amount_msat"])
                hops.append(
                    RouteHop(
                        node_id=node_id,
                        short_channel_id=scid,
                        amount_to_forward_msat=forward_msat,
                        outgoing_cltv_value=int(following["delay"]),
                        fee_msat=htlc_amount_msat - forward_msat,
                        htlc_amount_msat=htlc_amount_msat,
                        htlc_cltv_expiry=int(entry["delay"]),
                    )
                )
                edges.append(RouteEdge(scid, previous, node_id, _GIVEN_POLICY))
                previous = node_id
        except (KeyError, TypeError, ValueError) as exc:
            raise RpcError(INVALID_PARAMS, f"route: {type(exc).__name__}: {exc}") from exc
        return Route(self.node.node_id, tuple(hops), tuple(edges))

    async def sendpay(self, params: dict[str, Any]) -> dict[str, Any]:
        route = self._route_from_json(params.get("route"))
        payment_hash = bytes.fromhex(str(params.get("payment_hash", "")))
        secret_hex = params.get("payment_secret")
        payment_secret = bytes.fromhex(secret_hex) if isinstance(secret_hex, str) else None
        total = parse_msat(params["amount_msat"]) if "amount_msat" in params else route.final_amount_msat
        partid = int(params.get("partid", 0))
        try:
            attempt = await self.multihop.payer.send_route(
                route, payment_hash, payment_secret, total, partid, bolt11=str(params.get("bolt11", ""))
            )
        except PayError as exc:
            raise RpcError(PAY_TRY_OTHER_ROUTE, str(exc)) from exc
        return {
            "id": attempt.htlc_id,
            "payment_hash": payment_hash.hex(),
            "partid": partid,
            "status": "pending",
            "created_at": int(time.time()),
            "amount_msat": route.final_amount_msat,
            "amount_sent_msat": route.amount_msat,
            "destination": route.hops[-1].node_id.hex(),
            "message": "Monitor status with listpays or waitsendpay",
        }

    async def waitsendpay(self, params: dict[str, Any]) -> dict[str, Any]:
        payment_hash = bytes.fromhex(str(params.get("payment_hash", "")))
        partid = int(params.get("partid", 0))
        timeout_s = float(params.get("timeout", 3600))
        try:
            result = await self.multihop.payer.wait_attempt(payment_hash, partid, timeout_s)
        except PayError as exc:
            raise RpcError(INVALID_PARAMS, str(exc)) from exc
        except TimeoutError as exc:
            raise RpcError(PAY_IN_PROGRESS, "Timed out while waiting") from exc
        if result.status is AttemptStatus.COMPLETE:
            assert result.preimage is not None
            return _attempt_json(payment_hash, result)
        raise _failure(result)

    # -- pay -------------------------------------------------------------------------------------------

    async def pay(self, params: dict[str, Any]) -> dict[str, Any]:
        bolt11 = params.get("bolt11")
        if not isinstance(bolt11, str):
            raise RpcError(INVALID_PARAMS, "bolt11: should be a string")
        amount = params.get("amount_msat")
        amount_msat = None if amount is None else parse_msat(amount)
        retry_for = float(params.get("retry_for", 60))
        payer = self.multihop.payer
        try:
            invoice = payer.decode(bolt11)
        except PayError as exc:
            raise RpcError(INVALID_PARAMS, str(exc)) from exc
        if self._direct(invoice.payee_node_id):
            # a payee we have a channel with: the payment service's direct payment (its own semantics)
            try:
                row = await self.node.payments.pay(bolt11, amount_msat, retry_for)
            except PaymentError as exc:
                raise RpcError(PAY_STOPPED_RETRYING, str(exc)) from exc
            if row.status is PaymentStatus.FAILED:
                raise RpcError(PAY_STOPPED_RETRYING, f"Ran out of routes to try: {row.failure}")
            return _pay_json(
                row.payment_hash,
                bolt11,
                row.destination,
                row.amount_msat,
                row.amount_msat,
                1,
                row.status,
                row.preimage,
            )
        try:
            result = await payer.pay(bolt11, amount_msat, retry_for)
        except (PayError, TimeoutError) as exc:
            raise RpcError(PAY_STOPPED_RETRYING, str(exc) or "timed out") from exc
        if result.status is not PaymentStatus.COMPLETE:
            raise RpcError(PAY_STOPPED_RETRYING, f"Ran out of routes to try: {result.failure}")
        return _pay_json(
            result.payment_hash,
            bolt11,
            invoice.payee_node_id,
            result.amount_msat,
            result.amount_sent_msat,
            result.parts,
            result.status,
            result.preimage,
        )

    def _direct(self, node_id: bytes) -> bool:
        return any(
            s.channel.state is ChannelState.NORMAL and s.channel.data.ledger is not None
            for s in self.node.channels.slots_of(node_id)
        )

    # -- listchannels / listnodes ----------------------------------------------------------------------

    async def listchannels(self, params: dict[str, Any]) -> dict[str, Any]:
        wanted_scid = params.get("short_channel_id")
        source = params.get("source")
        destination = params.get("destination")
        channels = []
        for record in self.multihop.gossip.graph.channels():
            for direction in Direction:
                update = record.update(direction)
                if update is None:
                    continue
                entry = {
                    "source": record.node_id(direction).hex(),
                    "destination": record.node_id(direction.other).hex(),
                    "short_channel_id": str(record.short_channel_id),
                    "direction": int(update_direction(update)),
                    "public": record.public,
                    "amount_msat": (record.capacity_sat or 0) * 1000,
                    "message_flags": update.message_flags,
                    "channel_flags": update.channel_flags,
                    "active": not update.channel_flags & 2,
                    "last_update": update.timestamp,
                    "base_fee_millisatoshi": update.fee_base_msat,
                    "fee_per_millionth": update.fee_proportional_millionths,
                    "delay": update.cltv_expiry_delta,
                    "htlc_minimum_msat": update.htlc_minimum_msat,
                    "htlc_maximum_msat": update.htlc_maximum_msat,
                    "features": record.features.to_bytes().hex(),
                }
                if wanted_scid is not None and entry["short_channel_id"] != str(wanted_scid):
                    continue
                if source is not None and entry["source"] != source:
                    continue
                if destination is not None and entry["destination"] != destination:
                    continue
                channels.append(entry)
        return {"channels": channels}

    async def listnodes(self, params: dict[str, Any]) -> dict[str, Any]:
        wanted = params.get("id")
        nodes = []
        for record in self.multihop.gossip.graph.nodes():
            if wanted is not None and record.node_id.hex() != wanted:
                continue
            announcement = record.announcement
            nodes.append(
                {
                    "nodeid": record.node_id.hex(),
                    "alias": decode_alias(announcement.alias),
                    "color": announcement.rgb_color.hex(),
                    "last_timestamp": announcement.timestamp,
                    "features": announcement.features.hex(),
                    "addresses": [str(a) for a in record.addresses.addresses],
                }
            )
        return {"nodes": nodes}


def _hop_json(route: Route, index: int) -> dict[str, Any]:
    hop, edge = route.hops[index], route.edges[index]
    return {
        "id": hop.node_id.hex(),
        "channel": scid_text(hop.short_channel_id.to_int()),
        "direction": 0 if edge.from_node_id < edge.to_node_id else 1,
        "amount_msat": hop.htlc_amount_msat,
        "delay": hop.htlc_cltv_expiry,
        "style": "tlv",
    }


def _attempt_json(payment_hash: bytes, result: AttemptResult) -> dict[str, Any]:
    assert result.preimage is not None
    return {
        "payment_hash": payment_hash.hex(),
        "partid": result.partid,
        "status": "complete",
        "amount_msat": result.route.final_amount_msat,
        "amount_sent_msat": result.route.amount_msat,
        "destination": result.route.hops[-1].node_id.hex(),
        "payment_preimage": result.preimage.hex(),
    }


def _failure(result: AttemptResult) -> RpcFailure:
    data: dict[str, Any] = {"status": "failed", "partid": result.partid}
    if result.erring_index is None:
        return RpcFailure(PAY_UNPARSEABLE_ONION, f"Malformed error reply: {result.detail}", data)
    route = result.route
    final = result.erring_index == len(route.hops) - 1
    data.update(
        {
            # Core Lightning counts from us: 0 is the local node, 1 our peer
            "erring_index": result.erring_index + 1,
            "failcode": result.failure_code,
            "failcodename": f"WIRE_{(result.failure_name or 'unknown').upper()}",
            "erring_node": result.erring_node.hex() if result.erring_node else None,
        }
    )
    if not final:
        data["erring_channel"] = scid_text(route.hops[result.erring_index + 1].short_channel_id.to_int())
    code = PAY_DESTINATION_PERM_FAIL if final else PAY_TRY_OTHER_ROUTE
    return RpcFailure(code, f"failed: {data['failcodename']} (reply from remote)", data)


def _pay_json(
    payment_hash: bytes,
    bolt11: str,
    destination: bytes,
    amount_msat: int,
    amount_sent_msat: int,
    parts: int,
    status: PaymentStatus,
    preimage: bytes | None,
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "payment_hash": payment_hash.hex(),
        "bolt11": bolt11,
        "destination": destination.hex(),
        "created_at": int(time.time()),
        "parts": parts,
        "amount_msat": amount_msat,
        "amount_sent_msat": amount_sent_msat,
        "status": status.value,
    }
    if preimage is not None:
        result["payment_preimage"] = preimage.hex()
    return result
