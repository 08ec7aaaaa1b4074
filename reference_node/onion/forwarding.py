"""Processing the onion of an incoming `update_add_htlc` end to end (BOLT 4 "Onion Decryption",
the payload reader rules, and "Route Blinding" for payments), for the channel and node layers.

Errors inside a blinded route become `invalid_onion_blinding` (BOLT 4 "Failure Messages /
Requirements": an erring node with `path_key` in `update_add_htlc`, or a non-final node with
`current_path_key`, MUST return it).
"""

from __future__ import annotations

from dataclasses import dataclass

from reference_node.onion.crypto import sha256
from reference_node.onion.failure_messages import FailureCode
from reference_node.onion.payload import (
    BlindedFinalPayload,
    BlindedForwardPayload,
    FinalPayload,
    ForwardPayload,
    HopPayload,
    InvalidOnionPayload,
    read_hop_payload,
)
from reference_node.onion.route_blinding import (
    BlindingError,
    EncryptedDataTlv,
    blinded_amt_to_forward,
    blinded_outgoing_cltv_value,
    unblind_hop,
)
from reference_node.onion.sphinx import OnionPacket, OnionProcessingError, process_onion


class HtlcOnionError(Exception):
    """The HTLC must fail with `failure_code`; `sha256_of_onion` for BADONION codes.

    `malformed` says the failure goes back in `update_fail_malformed_htlc` (the sender could not
    share a secret with us, or BOLT 2 asks for it inside a blinded route) rather than as an
    encrypted `update_fail_htlc`.
    """

    def __init__(
        self, message: str, failure_code: FailureCode, sha256_of_onion: bytes, malformed: bool
    ) -> None:
        super().__init__(f"{failure_code.name}: {message}")
        self.failure_code = failure_code
        self.sha256_of_onion = sha256_of_onion
        self.malformed = malformed
        self.tlv_type: int | None = None
        self.offset: int | None = None


@dataclass(frozen=True)
class IncomingHtlcHop:
    """A processed onion. For a forward: `next_onion`, `amt_to_forward_msat`, `outgoing_cltv_value`
    and where to (`short_channel_id` or `next_node_id`), plus `next_path_key` for the outgoing
    `update_add_htlc` inside a blinded route. `shared_secret` is kept to wrap failures later."""

    shared_secret: bytes
    payload: HopPayload
    encrypted_data: EncryptedDataTlv | None
    next_onion: OnionPacket | None
    next_path_key: bytes | None
    amt_to_forward_msat: int
    outgoing_cltv_value: int


def _blinding_error(message: str, onion_hash: bytes, update_add_has_path_key: bool) -> HtlcOnionError:
    # BOLT 2: with path_key in update_add_htlc, update_fail_malformed_htlc; at the introduction
    # node (current_path_key), update_fail_htlc.
    return HtlcOnionError(message, FailureCode.invalid_onion_blinding, onion_hash, update_add_has_path_key)


def _check_encrypted_data(data: EncryptedDataTlv, is_final: bool, amount_msat: int, cltv_expiry: int) -> None:
    """The reader rules on `encrypted_data_tlv` that do not need channel state."""
    if data.short_channel_id is not None and data.next_node_id is not None:
        raise BlindingError("both short_channel_id and next_node_id")
    if data.allowed_features is not None and any(data.allowed_features.features):
        # No feature is defined for use inside blinded payments, so any bit is unknown.
        raise BlindingError("allowed_features has a feature bit this node does not know")
    if data.payment_constraints is not None:
        if cltv_expiry > data.payment_constraints.max_cltv_expiry:
            raise BlindingError(f"cltv_expiry {cltv_expiry} above max_cltv_expiry")
        if amount_msat < data.payment_constraints.htlc_minimum_msat:
            raise BlindingError(f"amount {amount_msat} below htlc_minimum_msat")
    if not is_final:
        if data.short_channel_id is None and data.next_node_id is None:
            raise BlindingError("neither short_channel_id nor next_node_id")
        if data.payment_relay is None:
            raise BlindingError("no payment_relay")


def process_htlc_onion(
    onion_routing_packet: bytes,
    node_private_key: bytes,
    payment_hash: bytes,
    amount_msat: int,
    cltv_expiry: int,
    path_key: bytes | None = None,
) -> IncomingHtlcHop:
    """Peel the onion of an `update_add_htlc` (associated data = `payment_hash`) and read the payload.

    Raises HtlcOnionError with the failure code to return.
    """
    onion_hash = sha256(onion_routing_packet)
    try:
        peeled = process_onion(onion_routing_packet, node_private_key, payment_hash, path_key)
    except OnionProcessingError as exc:
        if path_key is not None:
            raise _blinding_error(str(exc), onion_hash, True) from exc
        raise HtlcOnionError(str(exc), exc.failure_code, onion_hash, malformed=True) from exc
    try:
        payload = read_hop_payload(
            peeled.payload, is_final=peeled.is_final, update_add_has_path_key=path_key is not None
        )
    except InvalidOnionPayload as exc:
        if path_key is not None:
            raise _blinding_error(str(exc), onion_hash, True) from exc
        error = HtlcOnionError(str(exc), exc.failure_code, onion_hash, malformed=False)
        error.tlv_type, error.offset = exc.tlv_type, exc.offset
        raise error from exc

    if isinstance(payload, ForwardPayload | FinalPayload):
        return IncomingHtlcHop(
            peeled.shared_secret,
            payload,
            None,
            peeled.next_onion,
            None,
            payload.amt_to_forward_msat,
            payload.outgoing_cltv_value,
        )
    assert isinstance(payload, BlindedForwardPayload | BlindedFinalPayload)
    blinding_key = payload.current_path_key if payload.current_path_key is not None else path_key
    assert blinding_key is not None  # read_hop_payload requires one of them
    try:
        hop = unblind_hop(node_private_key, blinding_key, payload.encrypted_recipient_data)
        _check_encrypted_data(hop.encrypted_data_tlv, peeled.is_final, amount_msat, cltv_expiry)
    except BlindingError as exc:
        raise _blinding_error(str(exc), onion_hash, path_key is not None) from exc
    data = hop.encrypted_data_tlv
    if isinstance(payload, BlindedFinalPayload):
        return IncomingHtlcHop(
            peeled.shared_secret,
            payload,
            data,
            None,
            None,
            payload.amt_to_forward_msat,
            payload.outgoing_cltv_value,
        )
    assert data.payment_relay is not None
    return IncomingHtlcHop(
        peeled.shared_secret,
        payload,
        data,
        peeled.next_onion,
        hop.next_path_key,
        blinded_amt_to_forward(amount_msat, data.payment_relay),
        blinded_outgoing_cltv_value(cltv_expiry, data.payment_relay),
    )
