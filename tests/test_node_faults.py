"""Deliberate defects and adversarial controls of the reference node (reference_node/faults.py)."""

from __future__ import annotations

import asyncio
import functools
import hashlib
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from harness.chain.embedded import EmbeddedChain
from harness.drivers.reference import EmbeddedChainSource
from reference_node.channel import ChannelState
from reference_node.channel.bolt3_signer import Bolt3Signer
from reference_node.channel.params import Policy
from reference_node.channel.signer import CommitmentSignatures, CommitmentView, FundingInfo
from reference_node.faults import (
    NOT_YET_APPLICABLE,
    Defect,
    DefectiveSigner,
    Faults,
    UnknownDefect,
    UnsupportedDefect,
)
from reference_node.node import LightningNode
from reference_node.nodekey import Entropy, NodeKey
from reference_node.store import InvoiceStatus, PaymentStatus

TIMEOUT_S = 30.0


def test_defect_names_parse_to_their_enum() -> None:
    faults = Faults.parse(["withhold-preimage", "wrong-htlc-ordering"])
    assert faults.defects == {Defect.WITHHOLD_PREIMAGE, Defect.WRONG_HTLC_ORDERING}


def test_an_unknown_defect_name_is_refused_with_the_known_ones() -> None:
    with pytest.raises(UnknownDefect, match="accept-bad-commitment-sig"):
        Faults.parse(["no-such-defect"])


def test_a_defect_without_its_hook_is_refused_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    # every defect has its hook today: stand one in as not yet applicable
    monkeypatch.setitem(NOT_YET_APPLICABLE, Defect.NO_PENALTY, "no hook in this test")
    with pytest.raises(UnsupportedDefect, match="no-penalty"):
        Faults.parse(["no-penalty"]).check_applicable()


def test_skip_reserve_check_switches_off_both_reserve_checks_of_the_channel_policy() -> None:
    faults = Faults.parse(["skip-reserve-check"])
    faults.check_applicable()
    policy = faults.channel_policy(Policy(chain_hashes=frozenset({bytes(32)})))
    assert (policy.enforce_sender_reserve, policy.enforce_receiver_reserve) == (False, False)
    assert policy.enforce_sender_limits  # only the reserve part


def test_a_correct_node_keeps_the_channel_policy_unchanged() -> None:
    policy = Policy(chain_hashes=frozenset({bytes(32)}))
    assert Faults().channel_policy(policy) is policy


class _RecordingSigner:
    """Stands in for the real signer where only the call pattern matters."""

    def __init__(self) -> None:
        self.verified = 0

    def sign_commitment(self, funding: FundingInfo, view: CommitmentView) -> CommitmentSignatures:
        return CommitmentSignatures(b"s" * 64, (b"1" * 64, b"2" * 64, b"3" * 64))

    def verify_commitment(
        self, funding: FundingInfo, view: CommitmentView, sigs: CommitmentSignatures
    ) -> None:
        self.verified += 1
        raise AssertionError("the real check would have refused this signature")


def test_wrong_htlc_ordering_reverses_the_htlc_signatures() -> None:
    inner = _RecordingSigner()
    signer = DefectiveSigner(inner, Faults(frozenset({Defect.WRONG_HTLC_ORDERING})))  # type: ignore[arg-type]
    sigs = signer.sign_commitment(None, None)  # type: ignore[arg-type]
    assert sigs.htlc_signatures == (b"3" * 64, b"2" * 64, b"1" * 64)


def test_accept_bad_commitment_sig_skips_the_verification() -> None:
    inner = _RecordingSigner()
    signer = DefectiveSigner(inner, Faults(frozenset({Defect.ACCEPT_BAD_COMMITMENT_SIG})))  # type: ignore[arg-type]
    signer.verify_commitment(None, None, CommitmentSignatures(bytes(64), ()))  # type: ignore[arg-type]
    assert inner.verified == 0


def test_a_correct_node_uses_the_signer_unwrapped() -> None:
    signer = Bolt3Signer(bytes(32))
    assert Faults().wrap_signer(signer) is signer


def _pair_test(tmp_path: Path, payee_faults: Faults, body: Callable[..., Awaitable[None]]) -> None:
    async def scenario() -> None:
        with EmbeddedChain(tmp_path / "chain") as chain:
            chain.mine(101)
            payer = LightningNode(
                NodeKey.from_secret(hashlib.sha256(b"payer").digest()),
                EmbeddedChainSource(chain),
                tmp_path / "payer",
                entropy=Entropy(b"payer"),
            )
            payee = LightningNode(
                NodeKey.from_secret(hashlib.sha256(b"payee").digest()),
                EmbeddedChainSource(chain),
                tmp_path / "payee",
                entropy=Entropy(b"payee"),
                faults=payee_faults,
            )
            for node in (payer, payee):
                await node.start()
            try:
                chain.fund(payer.wallet.new_address(), 1_000_000, confirm=True)
                await payer.sync_chain()
                host, port = payee.node.address
                await payer.connect(payee.node_id, host, port)
                funding = await payer.fund_channel(payee.node_id, 500_000)
                chain.mine(3)
                for node in (payer, payee):
                    await node.sync_chain()
                    await node.wait_for_channel(
                        funding.channel_id.hex(), frozenset({ChannelState.NORMAL}), TIMEOUT_S
                    )
                await body(payer, payee)
            finally:
                for node in (payer, payee):
                    await node.stop()

    asyncio.run(scenario())


def test_withhold_preimage_defect_leaves_the_payment_pending(tmp_path: Path) -> None:
    async def body(payer: LightningNode, payee: LightningNode) -> None:
        invoice = payee.payments.create_invoice(20_000, "held", "x")
        row = await payer.payments.pay(invoice.bolt11, None, 2.0)
        assert row.status is PaymentStatus.PENDING
        held = payee.store.invoice(invoice.payment_hash)
        assert held is not None and held.status is InvoiceStatus.UNPAID
        [slot] = payee.channels.slots.values()
        assert [h.amount_msat for h in slot.channel.ledger.all_view().htlcs] == [20_000]

    _pair_test(tmp_path, Faults(frozenset({Defect.WITHHOLD_PREIMAGE})), body)


def test_withhold_control_can_be_switched_off_and_later_htlcs_settle(tmp_path: Path) -> None:
    async def body(payer: LightningNode, payee: LightningNode) -> None:
        payee.controls.withhold_preimages = True
        first = payee.payments.create_invoice(20_000, "first", "x")
        assert (await payer.payments.pay(first.bolt11, None, 2.0)).status is PaymentStatus.PENDING
        payee.controls.withhold_preimages = False
        second = payee.payments.create_invoice(30_000, "second", "x")
        assert (await payer.payments.pay(second.bolt11, None, TIMEOUT_S)).status is PaymentStatus.COMPLETE

    _pair_test(tmp_path, Faults(), body)


def test_dropping_revoke_and_ack_stalls_the_payee_side(tmp_path: Path) -> None:
    async def body(payer: LightningNode, payee: LightningNode) -> None:
        payee.controls.drop_message_types = {"revoke_and_ack"}
        invoice = payee.payments.create_invoice(20_000, "dropped", "x")
        row = await payer.payments.pay(invoice.bolt11, None, 2.0)
        # the payer never gets the revocation it needs, so the HTLC never becomes irrevocable at the payee
        assert row.status is PaymentStatus.PENDING
        [slot] = payer.channels.slots.values()
        assert slot.channel.data.ledger is not None and slot.channel.data.ledger.remote_pending

    _pair_test(tmp_path, Faults(), body)


def test_ignore_payment_secret_defect_accepts_a_wrong_secret(tmp_path: Path) -> None:
    async def body(payer: LightningNode, payee: LightningNode) -> None:
        row = payee.payments.create_invoice(20_000, "secret", "x")
        invoice = payer.payments.decode(row.bolt11)
        forged = functools.partial(
            payer.payments._send_htlc,
            invoice=invoice.__class__(**{**invoice.__dict__, "payment_secret": bytes(32)}),
        )
        [slot] = payer.channels.slots.values()
        await forged(slot=slot, amount_msat=20_000, bolt11=row.bolt11, replace_failed=False)
        paid = await payer.payments.wait_payment(row.payment_hash, TIMEOUT_S)
        assert paid.status is PaymentStatus.COMPLETE

    _pair_test(tmp_path, Faults(frozenset({Defect.IGNORE_PAYMENT_SECRET})), body)


def test_a_correct_node_refuses_a_wrong_payment_secret(tmp_path: Path) -> None:
    async def body(payer: LightningNode, payee: LightningNode) -> None:
        row = payee.payments.create_invoice(20_000, "secret", "x")
        invoice = payer.payments.decode(row.bolt11)
        forged = invoice.__class__(**{**invoice.__dict__, "payment_secret": bytes(32)})
        [slot] = payer.channels.slots.values()
        await payer.payments._send_htlc(slot, forged, 20_000, row.bolt11, replace_failed=False)
        failed = await payer.payments.wait_payment(row.payment_hash, TIMEOUT_S)
        assert failed.status is PaymentStatus.FAILED
        assert failed.failure == "incorrect_or_unknown_payment_details"

    _pair_test(tmp_path, Faults(), body)
