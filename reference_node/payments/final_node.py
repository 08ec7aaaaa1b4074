"""BOLT 4 final-node checks of an incoming HTLC, and the one-hop onion a payer builds for a direct peer.

Pure functions: the node gives them the processed onion, the HTLC, the invoice and the block height.
"""

from __future__ import annotations

from dataclasses import dataclass

from reference_node.onion.failure_messages import FailureCode, FailureMessage
from reference_node.onion.forwarding import IncomingHtlcHop
from reference_node.onion.payload import FinalPayload, final_payload_tlvs
from reference_node.onion.sphinx import construct_onion
from reference_node.store import InvoiceRow, InvoiceStatus


@dataclass(frozen=True)
class HtlcAccepted:
    preimage: bytes = b""


@dataclass(frozen=True)
class HtlcRejected:
    failure: FailureMessage
    reason: str


FinalDecision = HtlcAccepted | HtlcRejected


def _unknown_details(amount_msat: int, height: int, reason: str) -> HtlcRejected:
    # BOLT 4: `incorrect_or_unknown_payment_details` carries htlc_msat and the current height.
    failure = FailureMessage(
        FailureCode.incorrect_or_unknown_payment_details, htlc_msat=amount_msat, height=height
    )
    return HtlcRejected(failure, reason)


def check_final_htlc(
    hop: IncomingHtlcHop,
    amount_msat: int,
    cltv_expiry: int,
    invoice: InvoiceRow | None,
    min_final_cltv_expiry_delta: int,
    current_height: int,
) -> FinalDecision:
    """BOLT 4 "Payload for the Last Node" reader rules, "Basic Multi-Part Payments" (we do not support
    basic_mpp), and the final-node failure requirements, in the order the spec lists them."""
    payload = hop.payload
    if not isinstance(payload, FinalPayload):
        return _unknown_details(amount_msat, current_height, "not a final payload (we do not forward)")
    # "incoming `amount_msat` < `amt_to_forward`" -> final_incorrect_htlc_amount
    if amount_msat < payload.amt_to_forward_msat:
        failure = FailureMessage(FailureCode.final_incorrect_htlc_amount, incoming_htlc_amt_msat=amount_msat)
        return HtlcRejected(failure, f"amount {amount_msat} < amt_to_forward {payload.amt_to_forward_msat}")
    # "incoming `cltv_expiry` < `outgoing_cltv_value`" -> final_incorrect_cltv_expiry
    if cltv_expiry < payload.outgoing_cltv_value:
        failure = FailureMessage(FailureCode.final_incorrect_cltv_expiry, cltv_expiry=cltv_expiry)
        return HtlcRejected(
            failure, f"cltv_expiry {cltv_expiry} < outgoing_cltv_value {payload.outgoing_cltv_value}"
        )
    # "if it does not support `basic_mpp`: MUST fail the HTLC if `total_msat` is not exactly equal to
    # `amt_to_forward`."
    if payload.total_msat != payload.amt_to_forward_msat:
        return _unknown_details(
            amount_msat, current_height, "total_msat differs from amt_to_forward (no MPP)"
        )
    if invoice is None:
        return _unknown_details(amount_msat, current_height, "unknown payment_hash")
    if invoice.status is not InvoiceStatus.UNPAID:
        # "if the payment hash has already been paid: MAY treat the payment hash as unknown."
        return _unknown_details(amount_msat, current_height, f"invoice is {invoice.status.value}")
    if payload.payment_secret is None or payload.payment_secret != invoice.payment_secret:
        return _unknown_details(amount_msat, current_height, "payment_secret missing or wrong")
    # "amount paid" is `total_msat` here
    if invoice.amount_msat is not None:
        if payload.total_msat < invoice.amount_msat:
            return _unknown_details(
                amount_msat, current_height, "amount paid is less than the amount expected"
            )
        if payload.total_msat > 2 * invoice.amount_msat:
            return _unknown_details(
                amount_msat, current_height, "amount paid is more than twice the amount expected"
            )
    # "incoming `cltv_expiry` < `current_block_height` + `min_final_cltv_expiry_delta`"
    if cltv_expiry < current_height + min_final_cltv_expiry_delta:
        return _unknown_details(amount_msat, current_height, "cltv_expiry is unreasonably near the present")
    return HtlcAccepted(invoice.preimage)


def one_hop_onion(
    session_key: bytes,
    payee_node_id: bytes,
    payment_hash: bytes,
    amount_msat: int,
    cltv_expiry: int,
    payment_secret: bytes,
) -> bytes:
    """The onion for a payment to a direct peer: one final hop (BOLT 4 "Packet Construction", with the
    final-node payload: amt_to_forward, outgoing_cltv_value, payment_data with total_msat = amount)."""
    payload = final_payload_tlvs(
        amount_msat, cltv_expiry, payment_secret=payment_secret, total_msat=amount_msat
    )
    packet = construct_onion(session_key, [payee_node_id], [payload.to_bytes()], associated_data=payment_hash)
    return packet.to_bytes()
