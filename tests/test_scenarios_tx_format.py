"""The BOLT 3 transaction format steps (harness/scenarios/steps/tx_format.py): their comparisons name each
rule a transaction breaks (checked on the BOLT 3 test vectors' transactions, spoiled one way at a time), and
run against in-process reference nodes, `expect_commitment_tx` fails when the closer broadcasts a commitment
that is not its latest."""

from __future__ import annotations

import asyncio
import dataclasses
import textwrap
from pathlib import Path

import pytest

from harness.drivers.targets import TargetSpec
from harness.requirements import load_catalog
from harness.scenarios import RunSettings, Status, load_scenario, run_scenario
from harness.scenarios.steps.tx_format import closing_differences, commitment_differences, htlc_tx_differences
from harness.vectors import load_json
from reference_node.bitcoin.tx import OutPoint as TxOutPoint
from reference_node.bitcoin.tx import Tx, TxIn, TxOut
from reference_node.transactions.types import Htlc, HtlcDirection, HtlcTx, HtlcTxKind

CATALOG = load_catalog()
LEGACY = load_json("bolt03/commitment-legacy.json")
FACTOR = int(LEGACY["obscuring_factor"], 16)
FUNDING_SAT = LEGACY["params"]["funding_amount_satoshi"]
CASE = LEGACY["cases"][1]  # five untrimmed HTLCs
COMMITMENT = Tx.from_hex(CASE["commit_tx"])


def _with_outputs(tx: Tx, outputs: list[TxOut]) -> Tx:
    return dataclasses.replace(tx, outputs=tuple(outputs))


def test_the_vector_commitment_against_itself_has_no_difference() -> None:
    assert commitment_differences(COMMITMENT, COMMITMENT, FACTOR, FUNDING_SAT) == []


def test_outputs_out_of_order_are_named_as_an_ordering_fault() -> None:
    swapped = _with_outputs(COMMITMENT, list(reversed(COMMITMENT.outputs)))
    problems = commitment_differences(swapped, COMMITMENT, FACTOR, FUNDING_SAT)
    assert problems == ["outputs are BOLT 3's but not in BIP 69 + CLTV order"]


def test_an_output_one_satoshi_short_is_an_output_and_a_fee_fault() -> None:
    outputs = list(COMMITMENT.outputs)
    outputs[-1] = TxOut(outputs[-1].amount_sat - 1, outputs[-1].script_pubkey)
    problems = commitment_differences(_with_outputs(COMMITMENT, outputs), COMMITMENT, FACTOR, FUNDING_SAT)
    assert any(p.startswith("outputs differ") for p in problems)
    assert any(p.startswith("fee ") for p in problems)


def test_a_trimmed_output_left_in_is_an_extra_output() -> None:
    extra = TxOut(600, COMMITMENT.outputs[0].script_pubkey)
    problems = commitment_differences(
        _with_outputs(COMMITMENT, [extra, *COMMITMENT.outputs]), COMMITMENT, FACTOR, FUNDING_SAT
    )
    assert any("extra [(600," in p for p in problems)


def test_an_older_commitment_number_is_named() -> None:
    older = dataclasses.replace(COMMITMENT, locktime=COMMITMENT.locktime ^ 1)
    problems = commitment_differences(older, COMMITMENT, FACTOR, FUNDING_SAT)
    assert any("encode commitment number 43, the latest is 42" in p for p in problems)


def _htlc_tx(tx: Tx) -> HtlcTx:
    htlc = Htlc(0, HtlcDirection.OFFERED, 2_000_000, bytes(32), 502)
    return HtlcTx(HtlcTxKind.TIMEOUT, htlc, tx, 0, 2000, b"", b"")


HTLC_TX = Tx.from_hex(CASE["htlc_txs"][0]["tx"])


def test_the_vector_htlc_tx_against_itself_has_no_difference() -> None:
    assert htlc_tx_differences(HTLC_TX, _htlc_tx(HTLC_TX), anchors=False) == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"locktime": 1}, "locktime 1"),
        ({"version": 1}, "version 1"),
        ({"inputs": (dataclasses.replace(HTLC_TX.inputs[0], sequence=1),)}, "sequence 1"),
        (
            {"outputs": (TxOut(HTLC_TX.outputs[0].amount_sat + 1, HTLC_TX.outputs[0].script_pubkey),)},
            "output 0",
        ),
    ],
)
def test_each_htlc_tx_field_off_bolt3_is_named(change: dict[str, object], problem: str) -> None:
    actual = dataclasses.replace(HTLC_TX, **change)  # type: ignore[arg-type]
    problems = htlc_tx_differences(actual, _htlc_tx(HTLC_TX), anchors=False)
    assert any(problem in p for p in problems), problems


def test_with_anchors_an_htlc_tx_may_carry_a_fee_input_and_output() -> None:
    fee_input = TxIn(TxOutPoint(bytes(range(32)), 1))
    change = TxOut(10_000, HTLC_TX.outputs[0].script_pubkey)
    actual = dataclasses.replace(
        HTLC_TX, inputs=(*HTLC_TX.inputs, fee_input), outputs=(*HTLC_TX.outputs, change)
    )
    assert htlc_tx_differences(actual, _htlc_tx(HTLC_TX), anchors=True) == []
    assert htlc_tx_differences(actual, _htlc_tx(HTLC_TX), anchors=False) != []


FUNDER_SCRIPT = bytes.fromhex("0014") + bytes(20)
FUNDEE_SCRIPT = bytes.fromhex("0014") + bytes([1] * 20)


def _closing(funder_sat: int, fundee_sat: int) -> Tx:
    outputs = sorted(
        [TxOut(funder_sat, FUNDER_SCRIPT), TxOut(fundee_sat, FUNDEE_SCRIPT)],
        key=lambda o: (o.amount_sat, o.script_pubkey),
    )
    return Tx(2, (TxIn(TxOutPoint(bytes(32), 0), 0xFFFFFFFF),), tuple(outputs), 0)


SCRIPTS = (FUNDER_SCRIPT, FUNDEE_SCRIPT)


def test_a_closing_tx_rounding_down_with_the_fee_from_the_funder_passes() -> None:
    # balances 376543.211 / 123456.789 sat, fee_satoshis 1685
    assert closing_differences(_closing(374858, 123456), 1685, 376_543_211, 123_456_789, SCRIPTS) == []


def test_a_closing_tx_rounding_up_or_charging_the_fundee_is_named() -> None:
    rounded_up = closing_differences(_closing(374858, 123457), 1685, 376_543_211, 123_456_789, SCRIPTS)
    assert any("non-funder's output is 123457" in p for p in rounded_up)
    shared_fee = closing_differences(_closing(375700, 122614), 1685, 376_543_211, 123_456_789, SCRIPTS)
    assert len(shared_fee) == 2


def test_closing_outputs_out_of_bip69_order_are_named() -> None:
    tx = _closing(374858, 123456)
    reordered = dataclasses.replace(tx, outputs=tuple(reversed(tx.outputs)))
    assert closing_differences(reordered, 1685, 376_543_211, 123_456_789, SCRIPTS) == [
        "outputs not in BIP 69 order"
    ]


def test_expect_commitment_tx_fails_when_the_closer_broadcasts_a_revoked_commitment(tmp_path: Path) -> None:
    path = tmp_path / "scenario.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            name: revoked-commitment-format
            description: the closer broadcasts a revoked commitment; the format check names it
            nodes:
              target: {implementation: reference}
              peer: {implementation: reference}
            requirements: [bolt03-trimmed_outputs-node-must-02]
            steps:
              - fund: {node: target, amount_sat: 2000000}
              - connect: {peer: target, to: peer}
              - open_channel: {opener: target, to: peer, amount_sat: 1000000, push_msat: 3000000, name: main}
              - pay: {payer: target, payee: peer, amount_msat: 20000000}
              - pay: {payer: target, payee: peer, amount_msat: 20000000}
              - disconnect_nodes: {node: target, peer: peer}
              - breach: {node: target, channel: main, confirm: false}
              - expect_commitment_tx: {node: peer, channel: main, timeout_s: 10}
                evidences: [bolt03-trimmed_outputs-node-must-02]
            """
        )
    )
    scenario = load_scenario(path, CATALOG)
    settings = RunSettings(target=TargetSpec("reference"), seed=9, workdir=tmp_path / "run")
    result = asyncio.run(run_scenario(scenario, settings))
    assert result.status is Status.FAIL
    assert "the latest is" in result.steps[-1].detail


def test_expect_revealed_secrets_fails_below_the_count_asked_for(tmp_path: Path) -> None:
    path = tmp_path / "scenario.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            name: revealed-secrets-count
            description: two payments revoke a few commitments; asking for a hundred secrets fails
            nodes:
              target: {implementation: reference}
              peer: {implementation: reference}
            requirements: [bolt03-per_commitment_secret-node-must-03]
            steps:
              - fund: {node: target, amount_sat: 2000000}
              - connect: {peer: target, to: peer}
              - open_channel: {opener: target, to: peer, amount_sat: 1000000, name: main}
              - pay: {payer: target, payee: peer, amount_msat: 20000000}
              - expect_revealed_secrets: {node: peer, channel: main, min_count: 2}
              - expect_revealed_secrets: {node: peer, channel: main, min_count: 100}
                evidences: [bolt03-per_commitment_secret-node-must-03]
            """
        )
    )
    settings = RunSettings(target=TargetSpec("reference"), seed=9, workdir=tmp_path / "run")
    result = asyncio.run(run_scenario(load_scenario(path, CATALOG), settings))
    assert [s.status for s in result.steps][-2:] == [Status.PASS, Status.FAIL]
    assert "expected at least 100" in result.steps[-1].detail
