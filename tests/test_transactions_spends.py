"""Every BOLT 3/5 spend path, proven valid by Bitcoin Core's script interpreter, and wrong spends rejected."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from reference_node.bitcoin.address import p2wpkh_script, p2wsh_script
from reference_node.bitcoin.hashes import sha256
from reference_node.bitcoin.sighash import SighashType
from reference_node.bitcoin.tx import OutPoint, Tx
from reference_node.keys.channel_keys import ChannelKeys, CommitmentKeys
from reference_node.keys.derivation import derive_privkey
from reference_node.transactions import spends
from reference_node.transactions.closing import build_legacy_closing_tx
from reference_node.transactions.commitment import build_commitment, obscuring_factor
from reference_node.transactions.signing import (
    finalize_commitment,
    finalize_htlc_tx,
    funding_witness,
    remote_htlc_sighash_type,
    sign_commitment,
    sign_funding_spend,
    sign_htlc_tx,
)
from reference_node.transactions.spends import SpentOutput
from reference_node.transactions.types import (
    ChannelParams,
    ChannelType,
    CommitmentOutput,
    CommitmentSpec,
    CommitmentTx,
    Htlc,
    HtlcDirection,
    HtlcTx,
    OutputKind,
)
from tests.kernel_check import kernel_accepts

TO_SELF_DELAY = 144
FUNDING_SAT = 1_000_000
OFFERED_PREIMAGE = bytes([0x11]) * 32
RECEIVED_PREIMAGE = bytes([0x22]) * 32
OFFERED_CLTV = 600
RECEIVED_CLTV = 610
COMMITMENT_NUMBER = 7
FEE_SAT = 500
DESTINATION = p2wpkh_script(
    bytes.fromhex("0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")
)


@dataclass(frozen=True)
class Channel:
    """Alice's commitment of an Alice(opener)-Bob channel with one HTLC each way."""

    channel_type: ChannelType
    alice: ChannelKeys
    bob: ChannelKeys
    params: ChannelParams
    point: bytes
    commitment: CommitmentTx
    signed_commitment: Tx

    def output(self, kind: OutputKind) -> CommitmentOutput:
        found = self.commitment.output_of(kind)
        assert found is not None, kind
        return found

    def spent(self, kind: OutputKind) -> SpentOutput:
        output = self.output(kind)
        return SpentOutput(
            OutPoint(self.commitment.tx.txid(), output.index), output.amount_sat, output.witness_script
        )

    def htlc_tx(self, direction: HtlcDirection) -> HtlcTx:
        return next(h for h in self.commitment.htlc_txs if h.htlc.direction is direction)

    def signed_htlc_tx(self, direction: HtlcDirection, preimage: bytes | None) -> Tx:
        htlc_tx = self.htlc_tx(direction)
        remote_sig = sign_htlc_tx(
            htlc_tx, self.bob.htlc_privkey(self.point), remote_htlc_sighash_type(self.channel_type)
        )
        local_sig = sign_htlc_tx(htlc_tx, self.alice.htlc_privkey(self.point), SighashType.ALL)
        return finalize_htlc_tx(htlc_tx, remote_sig, local_sig, self.channel_type, preimage)

    def htlc_script_pubkey(self, direction: HtlcDirection) -> bytes:
        kind = OutputKind.OFFERED_HTLC if direction is HtlcDirection.OFFERED else OutputKind.RECEIVED_HTLC
        return self.output(kind).script_pubkey

    def revocation_privkey(self) -> bytes:
        return self.bob.revocation_privkey(self.alice.per_commitment_secret(COMMITMENT_NUMBER))


def make_channel(channel_type: ChannelType) -> Channel:
    alice, bob = ChannelKeys.from_seed(b"alice" * 6 + b"!!"), ChannelKeys.from_seed(b"bob" * 10 + b"!!")
    alice_points, bob_points = alice.basepoints(), bob.basepoints()
    params = ChannelParams(
        funding_outpoint=OutPoint(sha256(b"funding"), 1),
        funding_amount_sat=FUNDING_SAT,
        local_funding_pubkey=alice_points.funding_pubkey,
        remote_funding_pubkey=bob_points.funding_pubkey,
        to_self_delay=TO_SELF_DELAY,
        dust_limit_sat=546,
        holder_is_opener=True,
        obscuring_factor=obscuring_factor(alice_points.payment_basepoint, bob_points.payment_basepoint),
        channel_type=channel_type,
    )
    htlcs = (
        Htlc(0, HtlcDirection.OFFERED, 50_000_000, sha256(OFFERED_PREIMAGE), OFFERED_CLTV),
        Htlc(0, HtlcDirection.RECEIVED, 60_000_000, sha256(RECEIVED_PREIMAGE), RECEIVED_CLTV),
    )
    spec = CommitmentSpec(COMMITMENT_NUMBER, 600_000_000, 290_000_000, 2500, htlcs)
    point = alice.per_commitment_point(COMMITMENT_NUMBER)
    keys = CommitmentKeys.derive(point, alice_points, bob_points)
    commitment = build_commitment(params, spec, keys)
    signed = finalize_commitment(
        commitment,
        alice_points.funding_pubkey,
        sign_commitment(commitment, alice.funding_privkey),
        bob_points.funding_pubkey,
        sign_commitment(commitment, bob.funding_privkey),
    )
    return Channel(channel_type, alice, bob, params, point, commitment, signed)


@pytest.fixture(params=list(ChannelType), ids=lambda t: t.name.lower())
def channel(request: pytest.FixtureRequest) -> Channel:
    return make_channel(request.param)


@pytest.fixture
def anchors_channel() -> Channel:
    return make_channel(ChannelType.ANCHORS)


def funding_script_pubkey(ch: Channel) -> bytes:
    return p2wsh_script(ch.commitment.funding_witness_script)


def resign_with_sequence(spent: SpentOutput, privkey: bytes, sequence: int) -> tuple[Tx, bytes]:
    """An unsigned sweep with the given sequence, and its signature (for deliberately early spends)."""
    tx = spends.sweep_tx(spent, DESTINATION, FEE_SAT, sequence=sequence)
    return tx, spends.sign_sweep(tx, spent, privkey)


# -- funding output ------------------------------------------------------------------------------
def test_commitment_spends_the_funding_output(channel: Channel) -> None:
    assert kernel_accepts(funding_script_pubkey(channel), FUNDING_SAT, channel.signed_commitment)


def test_commitment_signed_by_a_wrong_funding_key_is_rejected(channel: Channel) -> None:
    wrong = sign_commitment(channel.commitment, channel.alice.htlc_basepoint_secret)
    tx = finalize_commitment(
        channel.commitment,
        channel.params.local_funding_pubkey,
        wrong,
        channel.params.remote_funding_pubkey,
        sign_commitment(channel.commitment, channel.bob.funding_privkey),
    )
    assert not kernel_accepts(funding_script_pubkey(channel), FUNDING_SAT, tx)


def test_legacy_closing_tx_spends_the_funding_output(channel: Channel) -> None:
    closing = build_legacy_closing_tx(
        channel.params.funding_outpoint,
        FUNDING_SAT,
        channel.params.local_funding_pubkey,
        channel.params.remote_funding_pubkey,
        700_000_000,
        300_000_000,
        DESTINATION,
        p2wpkh_script(channel.bob.basepoints().payment_basepoint),
        fee_sat=1000,
        local_is_opener=True,
        dust_limit_sat=546,
    )
    witness = funding_witness(
        closing.funding_witness_script,
        channel.params.local_funding_pubkey,
        sign_funding_spend(
            closing.tx, closing.funding_witness_script, FUNDING_SAT, channel.alice.funding_privkey
        ),
        channel.params.remote_funding_pubkey,
        sign_funding_spend(
            closing.tx, closing.funding_witness_script, FUNDING_SAT, channel.bob.funding_privkey
        ),
    )
    assert kernel_accepts(funding_script_pubkey(channel), FUNDING_SAT, closing.tx.with_witness(0, witness))


# -- to_local ------------------------------------------------------------------------------------
def test_to_local_is_spendable_after_to_self_delay(channel: Channel) -> None:
    spent = channel.spent(OutputKind.TO_LOCAL)
    tx = spends.spend_to_local_delayed(
        spent, TO_SELF_DELAY, channel.alice.delayed_privkey(channel.point), DESTINATION, FEE_SAT
    )
    assert kernel_accepts(channel.output(OutputKind.TO_LOCAL).script_pubkey, spent.amount_sat, tx)


def test_to_local_before_to_self_delay_is_rejected(channel: Channel) -> None:
    spent = channel.spent(OutputKind.TO_LOCAL)
    tx, sig = resign_with_sequence(spent, channel.alice.delayed_privkey(channel.point), TO_SELF_DELAY - 1)
    tx = tx.with_witness(0, spends.witness_to_local_delayed(sig, spent.witness_script or b""))
    assert not kernel_accepts(channel.output(OutputKind.TO_LOCAL).script_pubkey, spent.amount_sat, tx)


def test_to_local_with_the_revocation_key_is_spendable_at_once(channel: Channel) -> None:
    spent = channel.spent(OutputKind.TO_LOCAL)
    tx = spends.spend_revoked_to_local(spent, channel.revocation_privkey(), DESTINATION, FEE_SAT)
    assert kernel_accepts(channel.output(OutputKind.TO_LOCAL).script_pubkey, spent.amount_sat, tx)


def test_to_local_revocation_branch_with_a_wrong_key_is_rejected(channel: Channel) -> None:
    spent = channel.spent(OutputKind.TO_LOCAL)
    tx = spends.spend_revoked_to_local(
        spent, channel.alice.delayed_privkey(channel.point), DESTINATION, FEE_SAT
    )
    assert not kernel_accepts(channel.output(OutputKind.TO_LOCAL).script_pubkey, spent.amount_sat, tx)


# -- to_remote -----------------------------------------------------------------------------------
def test_to_remote_is_spendable_by_the_remote_payment_key(channel: Channel) -> None:
    spent = channel.spent(OutputKind.TO_REMOTE)
    tx = spends.spend_to_remote(
        spent, channel.bob.payment_basepoint_secret, channel.channel_type, DESTINATION, FEE_SAT
    )
    assert kernel_accepts(channel.output(OutputKind.TO_REMOTE).script_pubkey, spent.amount_sat, tx)


def test_to_remote_with_a_wrong_key_is_rejected(channel: Channel) -> None:
    spent = channel.spent(OutputKind.TO_REMOTE)
    tx = spends.spend_to_remote(
        spent, channel.alice.payment_basepoint_secret, channel.channel_type, DESTINATION, 0
    )
    assert not kernel_accepts(channel.output(OutputKind.TO_REMOTE).script_pubkey, spent.amount_sat, tx)


def test_anchors_to_remote_in_the_same_block_is_rejected(anchors_channel: Channel) -> None:
    spent = anchors_channel.spent(OutputKind.TO_REMOTE)
    tx, sig = resign_with_sequence(spent, anchors_channel.bob.payment_basepoint_secret, 0)
    tx = tx.with_witness(0, spends.witness_to_remote_anchors(sig, spent.witness_script or b""))
    assert not kernel_accepts(
        anchors_channel.output(OutputKind.TO_REMOTE).script_pubkey, spent.amount_sat, tx
    )


# -- anchors -------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", [OutputKind.LOCAL_ANCHOR, OutputKind.REMOTE_ANCHOR])
def test_anchor_is_spendable_by_its_owner_funding_key(anchors_channel: Channel, kind: OutputKind) -> None:
    owner = anchors_channel.alice if kind is OutputKind.LOCAL_ANCHOR else anchors_channel.bob
    spent = anchors_channel.spent(kind)
    tx = spends.spend_anchor_by_owner(spent, owner.funding_privkey, DESTINATION, 0)
    assert kernel_accepts(anchors_channel.output(kind).script_pubkey, spent.amount_sat, tx)


def test_anchor_with_the_other_funding_key_is_rejected(anchors_channel: Channel) -> None:
    spent = anchors_channel.spent(OutputKind.LOCAL_ANCHOR)
    tx = spends.spend_anchor_by_owner(spent, anchors_channel.bob.funding_privkey, DESTINATION, 0)
    assert not kernel_accepts(
        anchors_channel.output(OutputKind.LOCAL_ANCHOR).script_pubkey, spent.amount_sat, tx
    )


@pytest.mark.parametrize("kind", [OutputKind.LOCAL_ANCHOR, OutputKind.REMOTE_ANCHOR])
def test_anchor_is_spendable_by_anyone_after_16_blocks(anchors_channel: Channel, kind: OutputKind) -> None:
    spent = anchors_channel.spent(kind)
    tx = spends.spend_anchor_by_anyone(spent, DESTINATION, 0)
    assert kernel_accepts(anchors_channel.output(kind).script_pubkey, spent.amount_sat, tx)


def test_anchor_by_anyone_before_16_blocks_is_rejected(anchors_channel: Channel) -> None:
    spent = anchors_channel.spent(OutputKind.LOCAL_ANCHOR)
    tx = spends.sweep_tx(spent, DESTINATION, 0, sequence=15)
    tx = tx.with_witness(0, spends.witness_anchor_anyone(spent.witness_script or b""))
    assert not kernel_accepts(
        anchors_channel.output(OutputKind.LOCAL_ANCHOR).script_pubkey, spent.amount_sat, tx
    )


# -- offered HTLC (Alice -> Bob) ------------------------------------------------------------------
def test_offered_htlc_is_claimed_by_the_remote_with_the_preimage(channel: Channel) -> None:
    spent = channel.spent(OutputKind.OFFERED_HTLC)
    tx = spends.spend_offered_htlc_by_preimage(
        spent,
        channel.bob.htlc_privkey(channel.point),
        OFFERED_PREIMAGE,
        channel.channel_type,
        DESTINATION,
        FEE_SAT,
    )
    assert kernel_accepts(channel.htlc_script_pubkey(HtlcDirection.OFFERED), spent.amount_sat, tx)


def test_offered_htlc_with_a_wrong_preimage_is_rejected(channel: Channel) -> None:
    spent = channel.spent(OutputKind.OFFERED_HTLC)
    tx = spends.spend_offered_htlc_by_preimage(
        spent,
        channel.bob.htlc_privkey(channel.point),
        RECEIVED_PREIMAGE,
        channel.channel_type,
        DESTINATION,
        FEE_SAT,
    )
    assert not kernel_accepts(channel.htlc_script_pubkey(HtlcDirection.OFFERED), spent.amount_sat, tx)


def test_anchors_offered_htlc_preimage_claim_in_the_same_block_is_rejected(anchors_channel: Channel) -> None:
    spent = anchors_channel.spent(OutputKind.OFFERED_HTLC)
    tx, sig = resign_with_sequence(spent, anchors_channel.bob.htlc_privkey(anchors_channel.point), 0)
    tx = tx.with_witness(
        0, spends.witness_offered_htlc_preimage(sig, OFFERED_PREIMAGE, spent.witness_script or b"")
    )
    assert not kernel_accepts(anchors_channel.htlc_script_pubkey(HtlcDirection.OFFERED), spent.amount_sat, tx)


def test_offered_htlc_times_out_through_the_htlc_timeout_tx(channel: Channel) -> None:
    tx = channel.signed_htlc_tx(HtlcDirection.OFFERED, None)
    assert tx.locktime == OFFERED_CLTV
    amount = channel.htlc_tx(HtlcDirection.OFFERED).input_amount_sat
    assert kernel_accepts(channel.htlc_script_pubkey(HtlcDirection.OFFERED), amount, tx)


def test_htlc_timeout_tx_with_an_earlier_locktime_breaks_the_remote_signature(channel: Channel) -> None:
    tx = channel.signed_htlc_tx(HtlcDirection.OFFERED, None)
    early = Tx(tx.version, tx.inputs, tx.outputs, OFFERED_CLTV - 1)
    amount = channel.htlc_tx(HtlcDirection.OFFERED).input_amount_sat
    assert not kernel_accepts(channel.htlc_script_pubkey(HtlcDirection.OFFERED), amount, early)


# -- received HTLC (Bob -> Alice) -----------------------------------------------------------------
def test_received_htlc_is_claimed_through_the_htlc_success_tx(channel: Channel) -> None:
    tx = channel.signed_htlc_tx(HtlcDirection.RECEIVED, RECEIVED_PREIMAGE)
    amount = channel.htlc_tx(HtlcDirection.RECEIVED).input_amount_sat
    assert kernel_accepts(channel.htlc_script_pubkey(HtlcDirection.RECEIVED), amount, tx)


def test_htlc_success_tx_with_a_wrong_preimage_is_rejected(channel: Channel) -> None:
    tx = channel.signed_htlc_tx(HtlcDirection.RECEIVED, OFFERED_PREIMAGE)
    amount = channel.htlc_tx(HtlcDirection.RECEIVED).input_amount_sat
    assert not kernel_accepts(channel.htlc_script_pubkey(HtlcDirection.RECEIVED), amount, tx)


def test_received_htlc_is_taken_back_by_the_remote_after_cltv_expiry(channel: Channel) -> None:
    spent = channel.spent(OutputKind.RECEIVED_HTLC)
    tx = spends.spend_received_htlc_by_timeout(
        spent,
        channel.bob.htlc_privkey(channel.point),
        RECEIVED_CLTV,
        channel.channel_type,
        DESTINATION,
        FEE_SAT,
    )
    assert kernel_accepts(channel.htlc_script_pubkey(HtlcDirection.RECEIVED), spent.amount_sat, tx)


def test_received_htlc_timeout_before_cltv_expiry_is_rejected(channel: Channel) -> None:
    spent = channel.spent(OutputKind.RECEIVED_HTLC)
    tx = spends.spend_received_htlc_by_timeout(
        spent,
        channel.bob.htlc_privkey(channel.point),
        RECEIVED_CLTV - 1,
        channel.channel_type,
        DESTINATION,
        FEE_SAT,
    )
    assert not kernel_accepts(channel.htlc_script_pubkey(HtlcDirection.RECEIVED), spent.amount_sat, tx)


def test_received_htlc_timeout_with_a_wrong_key_is_rejected(channel: Channel) -> None:
    spent = channel.spent(OutputKind.RECEIVED_HTLC)
    tx = spends.spend_received_htlc_by_timeout(
        spent,
        channel.alice.htlc_privkey(channel.point),
        RECEIVED_CLTV,
        channel.channel_type,
        DESTINATION,
        FEE_SAT,
    )
    assert not kernel_accepts(channel.htlc_script_pubkey(HtlcDirection.RECEIVED), spent.amount_sat, tx)


# -- revoked HTLC outputs --------------------------------------------------------------------------
@pytest.mark.parametrize("kind", [OutputKind.OFFERED_HTLC, OutputKind.RECEIVED_HTLC])
def test_revoked_htlc_output_is_spendable_with_the_revocation_key(channel: Channel, kind: OutputKind) -> None:
    spent = channel.spent(kind)
    tx = spends.spend_htlc_revoked(spent, channel.revocation_privkey(), DESTINATION, FEE_SAT)
    assert kernel_accepts(channel.output(kind).script_pubkey, spent.amount_sat, tx)


@pytest.mark.parametrize("kind", [OutputKind.OFFERED_HTLC, OutputKind.RECEIVED_HTLC])
def test_revoked_htlc_output_with_a_wrong_key_is_rejected(channel: Channel, kind: OutputKind) -> None:
    spent = channel.spent(kind)
    tx = spends.spend_htlc_revoked(spent, channel.bob.htlc_privkey(channel.point), DESTINATION, FEE_SAT)
    assert not kernel_accepts(channel.output(kind).script_pubkey, spent.amount_sat, tx)


# -- HTLC transaction outputs ----------------------------------------------------------------------
def htlc_tx_output(channel: Channel, direction: HtlcDirection) -> tuple[SpentOutput, bytes]:
    preimage = RECEIVED_PREIMAGE if direction is HtlcDirection.RECEIVED else None
    tx = channel.signed_htlc_tx(direction, preimage)
    htlc_tx = channel.htlc_tx(direction)
    spent = SpentOutput(OutPoint(tx.txid(), 0), tx.outputs[0].amount_sat, htlc_tx.output_witness_script)
    return spent, tx.outputs[0].script_pubkey


@pytest.mark.parametrize("direction", list(HtlcDirection))
def test_htlc_tx_output_is_spendable_after_to_self_delay(channel: Channel, direction: HtlcDirection) -> None:
    spent, script_pubkey = htlc_tx_output(channel, direction)
    tx = spends.spend_to_local_delayed(
        spent, TO_SELF_DELAY, channel.alice.delayed_privkey(channel.point), DESTINATION, FEE_SAT
    )
    assert kernel_accepts(script_pubkey, spent.amount_sat, tx)


@pytest.mark.parametrize("direction", list(HtlcDirection))
def test_htlc_tx_output_before_to_self_delay_is_rejected(channel: Channel, direction: HtlcDirection) -> None:
    spent, script_pubkey = htlc_tx_output(channel, direction)
    tx, sig = resign_with_sequence(spent, channel.alice.delayed_privkey(channel.point), TO_SELF_DELAY - 1)
    tx = tx.with_witness(0, spends.witness_to_local_delayed(sig, spent.witness_script or b""))
    assert not kernel_accepts(script_pubkey, spent.amount_sat, tx)


@pytest.mark.parametrize("direction", list(HtlcDirection))
def test_htlc_tx_output_is_spendable_with_the_revocation_key(
    channel: Channel, direction: HtlcDirection
) -> None:
    spent, script_pubkey = htlc_tx_output(channel, direction)
    tx = spends.spend_revoked_to_local(spent, channel.revocation_privkey(), DESTINATION, FEE_SAT)
    assert kernel_accepts(script_pubkey, spent.amount_sat, tx)


def test_revocation_key_of_another_commitment_is_rejected(channel: Channel) -> None:
    other_secret = channel.alice.per_commitment_secret(COMMITMENT_NUMBER + 1)
    wrong = channel.bob.revocation_privkey(other_secret)
    spent = channel.spent(OutputKind.TO_LOCAL)
    tx = spends.spend_revoked_to_local(spent, wrong, DESTINATION, FEE_SAT)
    assert not kernel_accepts(channel.output(OutputKind.TO_LOCAL).script_pubkey, spent.amount_sat, tx)


def test_static_remotekey_to_remote_pays_the_payment_basepoint(channel: Channel) -> None:
    # option_static_remotekey: remotepubkey is the counterparty's payment_basepoint, not a derived key.
    derived = derive_privkey(channel.bob.payment_basepoint_secret, channel.point)
    spent = channel.spent(OutputKind.TO_REMOTE)
    tx = spends.spend_to_remote(spent, derived, channel.channel_type, DESTINATION, FEE_SAT)
    assert not kernel_accepts(channel.output(OutputKind.TO_REMOTE).script_pubkey, spent.amount_sat, tx)


def test_htlc_txs_use_sequence_one_only_with_anchors(channel: Channel) -> None:
    expected = 1 if channel.channel_type is ChannelType.ANCHORS else 0
    assert {h.tx.inputs[0].sequence for h in channel.commitment.htlc_txs} == {expected}
