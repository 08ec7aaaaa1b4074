"""BOLT 4 final-node rules on an incoming HTLC, one per requirement, with onions built by the payer's code
and peeled by reference_node.onion (04-onion-routing.md "Payload for the Last Node", "Failure Messages")."""

from __future__ import annotations

import hashlib

import pytest

from reference_node.onion.failure_messages import FailureCode
from reference_node.onion.forwarding import process_htlc_onion
from reference_node.onion.payload import final_payload_tlvs
from reference_node.onion.sphinx import construct_onion
from reference_node.payments.final_node import HtlcAccepted, HtlcRejected, check_final_htlc, one_hop_onion
from reference_node.store import InvoiceRow, InvoiceStatus

NODE_SECRET = hashlib.sha256(b"payee").digest()
SESSION_KEY = hashlib.sha256(b"session").digest()
PREIMAGE = hashlib.sha256(b"preimage").digest()
PAYMENT_HASH = hashlib.sha256(PREIMAGE).digest()
SECRET = hashlib.sha256(b"payment secret").digest()
AMOUNT_MSAT = 50_000
HEIGHT = 500
MIN_FINAL = 18
CLTV = HEIGHT + MIN_FINAL + 1


def _payee_id() -> bytes:
    from coincurve import PrivateKey

    return PrivateKey(NODE_SECRET).public_key.format(compressed=True)


def _invoice(
    amount_msat: int | None = AMOUNT_MSAT, status: InvoiceStatus = InvoiceStatus.UNPAID
) -> InvoiceRow:
    return InvoiceRow(
        PAYMENT_HASH, "l", "lnbcrt", PREIMAGE, SECRET, amount_msat, "d", 10**10, status, None, None, None
    )


def _check(
    onion_amount_msat: int = AMOUNT_MSAT,
    htlc_amount_msat: int = AMOUNT_MSAT,
    onion_cltv: int = CLTV,
    htlc_cltv: int = CLTV,
    secret: bytes = SECRET,
    invoice: InvoiceRow | None = None,
) -> HtlcAccepted | HtlcRejected:
    onion = one_hop_onion(SESSION_KEY, _payee_id(), PAYMENT_HASH, onion_amount_msat, onion_cltv, secret)
    hop = process_htlc_onion(onion, NODE_SECRET, PAYMENT_HASH, htlc_amount_msat, htlc_cltv)
    return check_final_htlc(hop, htlc_amount_msat, htlc_cltv, invoice or _invoice(), MIN_FINAL, HEIGHT)


def _code(decision: HtlcAccepted | HtlcRejected) -> FailureCode:
    assert isinstance(decision, HtlcRejected), decision
    return decision.failure.code


def test_a_correct_htlc_is_accepted_with_the_invoice_preimage() -> None:
    assert _check() == HtlcAccepted(PREIMAGE)


def test_wrong_payment_secret_fails_with_incorrect_or_unknown_payment_details() -> None:
    decision = _check(secret=bytes(32))
    assert _code(decision) is FailureCode.incorrect_or_unknown_payment_details
    assert isinstance(decision, HtlcRejected)
    assert decision.failure.htlc_msat == AMOUNT_MSAT and decision.failure.height == HEIGHT


def test_unknown_payment_hash_fails_with_incorrect_or_unknown_payment_details() -> None:
    onion = one_hop_onion(SESSION_KEY, _payee_id(), PAYMENT_HASH, AMOUNT_MSAT, CLTV, SECRET)
    hop = process_htlc_onion(onion, NODE_SECRET, PAYMENT_HASH, AMOUNT_MSAT, CLTV)
    decision = check_final_htlc(hop, AMOUNT_MSAT, CLTV, None, MIN_FINAL, HEIGHT)
    assert _code(decision) is FailureCode.incorrect_or_unknown_payment_details


def test_amount_paid_below_the_invoice_fails() -> None:
    decision = _check(AMOUNT_MSAT - 1, AMOUNT_MSAT - 1)
    assert _code(decision) is FailureCode.incorrect_or_unknown_payment_details


def test_amount_paid_above_twice_the_invoice_fails() -> None:
    decision = _check(2 * AMOUNT_MSAT + 1, 2 * AMOUNT_MSAT + 1)
    assert _code(decision) is FailureCode.incorrect_or_unknown_payment_details


def test_amount_up_to_twice_the_invoice_is_accepted() -> None:
    assert isinstance(_check(2 * AMOUNT_MSAT, 2 * AMOUNT_MSAT), HtlcAccepted)


def test_htlc_amount_below_amt_to_forward_fails_with_final_incorrect_htlc_amount() -> None:
    decision = _check(onion_amount_msat=AMOUNT_MSAT, htlc_amount_msat=AMOUNT_MSAT - 1)
    assert _code(decision) is FailureCode.final_incorrect_htlc_amount
    assert isinstance(decision, HtlcRejected) and decision.failure.incoming_htlc_amt_msat == AMOUNT_MSAT - 1


def test_cltv_below_outgoing_cltv_value_fails_with_final_incorrect_cltv_expiry() -> None:
    decision = _check(onion_cltv=CLTV + 1, htlc_cltv=CLTV)
    assert _code(decision) is FailureCode.final_incorrect_cltv_expiry


def test_cltv_too_near_the_present_fails() -> None:
    decision = _check(onion_cltv=HEIGHT + MIN_FINAL - 1, htlc_cltv=HEIGHT + MIN_FINAL - 1)
    assert _code(decision) is FailureCode.incorrect_or_unknown_payment_details


def test_already_paid_invoice_is_treated_as_unknown() -> None:
    decision = _check(invoice=_invoice(status=InvoiceStatus.PAID))
    assert _code(decision) is FailureCode.incorrect_or_unknown_payment_details


def test_any_amount_invoice_accepts_any_amount() -> None:
    assert isinstance(_check(7, 7, invoice=_invoice(amount_msat=None)), HtlcAccepted)


@pytest.mark.parametrize("total_delta_msat", [1, -1])
def test_total_msat_different_from_amt_to_forward_fails_without_mpp(total_delta_msat: int) -> None:
    payload = final_payload_tlvs(AMOUNT_MSAT, CLTV, SECRET, total_msat=AMOUNT_MSAT + total_delta_msat)
    onion = construct_onion(SESSION_KEY, [_payee_id()], [payload.to_bytes()], associated_data=PAYMENT_HASH)
    hop = process_htlc_onion(onion.to_bytes(), NODE_SECRET, PAYMENT_HASH, AMOUNT_MSAT, CLTV)
    decision = check_final_htlc(hop, AMOUNT_MSAT, CLTV, _invoice(), MIN_FINAL, HEIGHT)
    assert _code(decision) is FailureCode.incorrect_or_unknown_payment_details
