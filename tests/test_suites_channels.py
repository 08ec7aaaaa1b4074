"""The channel suites load and validate, and the adversarial helpers misbehave exactly as documented.
(The suites themselves run through `pytest suites/` / `boltcheck run`.)"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from coincurve import PublicKey
from coincurve.ecdsa import cdata_to_der, deserialize_compact

from harness.paths import suites_dir
from harness.requirements import load_catalog
from harness.scenarios.loader import ScenarioError, load_scenario, scenario_files
from harness.scenarios.steps.channels import SignatureField, TamperingSigner, wrong_signature
from reference_node.channel.signer import CommitmentSignatures

_HALF_ORDER = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0
CHANNEL_SUITES = sorted([*suites_dir().glob("bolt02_*.yaml"), *suites_dir().glob("bolt11_*.yaml")])


@pytest.mark.parametrize("path", CHANNEL_SUITES, ids=lambda p: p.stem)
def test_channel_suite_loads_and_evidences_what_it_lists(path: Path) -> None:
    scenario = load_scenario(path, load_catalog())
    assert set(scenario.requirements) == scenario.evidenced()
    assert scenario.uses_chain


def test_defect_expectations_are_not_collected_as_scenarios() -> None:
    assert not [p for p in scenario_files(suites_dir()) if "defects" in p.parts]


def test_an_open_channel_step_with_itself_is_refused_at_load(tmp_path: Path) -> None:
    path = tmp_path / "self.yaml"
    path.write_text(
        "name: self-open\ndescription: x\nnodes:\n  target: {implementation: reference}\n"
        "requirements: [bolt02-open_channel-sender-must-01]\nsteps:\n"
        "  - open_channel: {opener: target, to: target}\n"
        "    evidences: [bolt02-open_channel-sender-must-01]\n",
        encoding="utf-8",
    )
    with pytest.raises(ScenarioError, match="itself"):
        load_scenario(path, load_catalog())


def test_wrong_signature_is_well_formed_low_s_and_verifies_for_no_key() -> None:
    signature = wrong_signature(b"x")
    assert len(signature) == 64
    assert int.from_bytes(signature[32:], "big") <= _HALF_ORDER  # LOW-S
    der = cdata_to_der(deserialize_compact(signature))  # parses as a signature
    some_key = PublicKey.from_secret(hashlib.sha256(b"k").digest())
    assert not some_key.verify(der, hashlib.sha256(b"x").digest(), hasher=None)


class _Signer:
    def __init__(self, sigs: CommitmentSignatures) -> None:
        self.sigs = sigs

    def sign_commitment(self, funding: object, view: object) -> CommitmentSignatures:
        return self.sigs


def test_tampering_signer_corrupts_the_next_signature_once() -> None:
    good = CommitmentSignatures(bytes(64), (bytes(64),))
    signer = TamperingSigner(_Signer(good), SignatureField.SIGNATURE)  # type: ignore[arg-type]
    first = signer.sign_commitment(None, None)  # type: ignore[arg-type]
    assert first.signature != good.signature and first.htlc_signatures == good.htlc_signatures
    assert signer.sign_commitment(None, None) == good  # type: ignore[arg-type]


def test_tampering_signer_waits_for_a_commitment_with_an_htlc() -> None:
    without = CommitmentSignatures(bytes(64), ())
    inner = _Signer(without)
    signer = TamperingSigner(inner, SignatureField.HTLC_SIGNATURE)  # type: ignore[arg-type]
    assert signer.sign_commitment(None, None) == without  # type: ignore[arg-type]
    inner.sigs = CommitmentSignatures(bytes(64), (bytes(64), bytes(64)))
    tampered = signer.sign_commitment(None, None)  # type: ignore[arg-type]
    assert tampered.htlc_signatures[0] != bytes(64) and tampered.htlc_signatures[1] == bytes(64)
