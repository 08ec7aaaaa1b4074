"""BOLT 3 Appendix E (key derivation) and Appendix D (per-commitment secret generation and storage)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

from harness.vectors import VectorCase, VectorMismatch, expect_equal, load_json
from reference_node.keys.derivation import (
    derive_privkey,
    derive_pubkey,
    derive_revocation_privkey,
    derive_revocation_pubkey,
    per_commitment_point,
)
from reference_node.keys.shachain import InconsistentSecretError, PerCommitmentSecretStore, generate_from_seed

BOLT = 3


def _derivations(data: Any) -> dict[str, Callable[[], bytes]]:
    b = bytes.fromhex
    base_secret, commitment_secret = b(data["base_secret"]), b(data["per_commitment_secret"])
    base_point, point = b(data["base_point"]), b(data["per_commitment_point"])
    return {
        "localpubkey": lambda: derive_pubkey(base_point, point),
        "localprivkey": lambda: derive_privkey(base_secret, point),
        "revocationpubkey": lambda: derive_revocation_pubkey(base_point, point),
        "revocationprivkey": lambda: derive_revocation_privkey(base_secret, commitment_secret),
    }


def _check_derivation(index: int) -> str:
    data = load_json("bolt03/key-derivation.json")
    expect_equal(
        "per_commitment_point",
        per_commitment_point(bytes.fromhex(data["per_commitment_secret"])),
        bytes.fromhex(data["per_commitment_point"]),
    )
    case = data["cases"][index]
    derive = _derivations(data)[case["output_name"]]
    expect_equal(case["output_name"], derive(), bytes.fromhex(case["output"]))
    return f"{case['output_name']} = {case['output'][:16]}..."


def _check_generation(index: int) -> str:
    case = load_json("bolt03/shachain-generation.json")["cases"][index]
    expect_equal(
        "output", generate_from_seed(bytes.fromhex(case["seed"]), case["I"]), bytes.fromhex(case["output"])
    )
    return f"I={case['I']}"


def _check_storage(index: int) -> str:
    case = load_json("bolt03/shachain-storage.json")["cases"][index]
    store = PerCommitmentSecretStore()
    for step_number, step in enumerate(case["steps"]):
        try:
            store.insert_secret(bytes.fromhex(step["secret"]), step["I"])
            outcome = "OK"
        except InconsistentSecretError:
            outcome = "ERROR"
        expect_equal(f"step {step_number} (I={step['I']})", outcome, step["output"])
        if outcome == "ERROR":
            if step_number != len(case["steps"]) - 1:
                raise VectorMismatch(f"step {step_number} failed but the vector continues")
            return f"{step_number + 1} inserts, rejected the inconsistent one"
    return f"{len(case['steps'])} inserts accepted"


def cases() -> Iterator[VectorCase]:
    for i, c in enumerate(load_json("bolt03/key-derivation.json")["cases"]):
        yield VectorCase(BOLT, f"appendix-e/{c['name']}", partial(_check_derivation, i))
    for i, c in enumerate(load_json("bolt03/shachain-generation.json")["cases"]):
        yield VectorCase(BOLT, f"appendix-d/{c['name']}", partial(_check_generation, i))
    for i, c in enumerate(load_json("bolt03/shachain-storage.json")["cases"]):
        yield VectorCase(BOLT, f"appendix-d/{c['name']}", partial(_check_storage, i))
