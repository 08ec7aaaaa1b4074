"""The transaction model and legacy sighash against Bitcoin Core's own test data (vectors/bitcoin-core/)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.paths import vectors_dir
from reference_node.bitcoin.sighash import legacy_sighash
from reference_node.bitcoin.tx import Tx


def _rows(name: str) -> list[Any]:
    path: Path = vectors_dir() / "bitcoin-core" / name
    rows = json.loads(path.read_text(encoding="utf-8"))
    return [row for row in rows if len(row) > 1]  # one-element rows are Core's comments


@pytest.mark.parametrize("row", _rows("tx_valid.json"))
def test_core_valid_transaction_round_trips_byte_for_byte(row: list[Any]) -> None:
    tx_hex = row[1]
    assert Tx.from_hex(tx_hex).serialize().hex() == tx_hex


@pytest.mark.parametrize("row", _rows("sighash.json"))
def test_legacy_sighash_matches_core(row: list[Any]) -> None:
    raw_tx, script_hex, input_index, hash_type, expected = row
    digest = legacy_sighash(Tx.from_hex(raw_tx), input_index, bytes.fromhex(script_hex), hash_type)
    assert digest[::-1].hex() == expected  # Core prints uint256 reversed
