"""The onion of a routed payment (BOLT 4 "Packet Construction") and the reading of what comes back
(BOLT 4 "Returning Errors", origin node)."""

from __future__ import annotations

from dataclasses import dataclass

from reference_node.gossip.route import Route
from reference_node.onion.failure_messages import FailureMessage, FailureMessageError
from reference_node.onion.failure_packet import FailurePacketError, ReturnedFailure, decode_failure
from reference_node.onion.payload import final_payload_tlvs, forward_payload_tlvs
from reference_node.onion.sphinx import construct_onion, derive_hop_secrets


def route_onion(
    session_key: bytes,
    route: Route,
    payment_hash: bytes,
    payment_secret: bytes | None,
    total_msat: int,
    hop_node_ids: tuple[bytes, ...] | None = None,
) -> bytes:
    """One payload per hop: forwarding hops name the next channel, `amt_to_forward` and
    `outgoing_cltv_value`; the final hop carries `payment_data` (`payment_secret`, `total_msat`: BOLT 4
    "MUST include `payment_secret`" for a multi-part set, "MUST set `total_msat` equal to
    `amt_to_forward`" otherwise). `hop_node_ids` replaces the keys the onion is encrypted to (a harness
    fault: an onion a hop cannot read)."""
    payloads = []
    for index, hop in enumerate(route.hops):
        if index + 1 < len(route.hops):
            next_scid = route.hops[index + 1].short_channel_id
            payloads.append(
                forward_payload_tlvs(
                    hop.amount_to_forward_msat, hop.outgoing_cltv_value, next_scid
                ).to_bytes()
            )
        else:
            payloads.append(
                final_payload_tlvs(
                    hop.amount_to_forward_msat,
                    hop.outgoing_cltv_value,
                    payment_secret=payment_secret,
                    total_msat=total_msat,
                ).to_bytes()
            )
    keys = hop_node_ids if hop_node_ids is not None else tuple(hop.node_id for hop in route.hops)
    return construct_onion(session_key, keys, payloads, associated_data=payment_hash).to_bytes()


@dataclass(frozen=True)
class ReadFailure:
    """Who failed (index into `route.hops`, 0 = our peer) and with what. `erring_index` is None when no
    hop's HMAC matched (the failure cannot be attributed); `message` None when it could not be parsed."""

    erring_index: int | None
    failure_code: int | None
    message: FailureMessage | None
    detail: str


def read_failure(session_key: bytes, route: Route, reason: bytes) -> ReadFailure:
    hop_keys = [hop.node_id for hop in route.hops]
    secrets = [s.shared_secret for s in derive_hop_secrets(session_key, hop_keys)]
    try:
        decoded = decode_failure(secrets, ReturnedFailure(reason, None))
    except FailurePacketError as exc:
        return ReadFailure(None, None, None, f"undecodable failure: {exc}")
    if decoded.failing_hop_index is None or decoded.failure_message is None:
        return ReadFailure(None, None, None, "no hop's HMAC matched")
    raw = decoded.failure_message
    code = int.from_bytes(raw[:2], "big") if len(raw) >= 2 else None
    try:
        message = FailureMessage.from_bytes(raw)
    except FailureMessageError as exc:
        return ReadFailure(decoded.failing_hop_index, code, None, f"unparsable failure message: {exc}")
    return ReadFailure(decoded.failing_hop_index, code, message, message.code.name)
