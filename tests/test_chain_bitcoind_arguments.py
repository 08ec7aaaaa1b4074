"""The flags every launched bitcoind gets (local process, container, and the chain tests' launcher) pin its
relay fee floors to the embedded chain's policy, whatever the bitcoind version's defaults are."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from harness.chain.acceptance import DEFAULT_INCREMENTAL_RELAY_FEE_SAT_PER_KVB
from harness.chain.bitcoind_launcher import btc_per_kvb, find_bitcoind, relay_policy_arguments
from harness.chain.policy import DEFAULT_MIN_RELAY_TX_FEE_SAT_PER_KVB
from harness.launchers.regtest import bitcoind_arguments

COIN = 100_000_000


def option_values(arguments: list[str]) -> dict[str, str]:
    return dict(arg.split("=", 1) for arg in arguments if "=" in arg)


@pytest.mark.parametrize("sat_per_kvb", [1, 100, 1000, 2500, 123_456_789])
def test_a_feerate_is_written_in_btc_per_kvb_with_eight_decimals(sat_per_kvb: int) -> None:
    text = btc_per_kvb(sat_per_kvb)
    assert len(text.split(".")[1]) == 8
    assert Decimal(text) * COIN == sat_per_kvb


def test_the_relay_floors_are_the_embedded_chains() -> None:
    values = option_values(relay_policy_arguments())
    assert Decimal(values["-minrelaytxfee"]) * COIN == DEFAULT_MIN_RELAY_TX_FEE_SAT_PER_KVB
    assert Decimal(values["-incrementalrelayfee"]) * COIN == DEFAULT_INCREMENTAL_RELAY_FEE_SAT_PER_KVB


@pytest.mark.parametrize("bind_all", [False, True])
def test_local_and_container_bitcoind_get_the_pinned_relay_floors(bind_all: bool) -> None:
    arguments = bitcoind_arguments(data_dir="/d", rpc_port=1, p2p_port=2, rpcauth="u:s$h", bind_all=bind_all)
    assert set(relay_policy_arguments()) <= set(arguments)


def test_find_bitcoind_prefers_the_boltcheck_variable_then_bitcoind_then_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def executable(name: str) -> Path:
        path = tmp_path / name / "bitcoind"
        path.parent.mkdir()
        path.write_text("#!/bin/sh\n")
        path.chmod(0o755)
        return path

    on_path, from_bitcoind, from_boltcheck = executable("path"), executable("env"), executable("boltcheck")
    monkeypatch.setenv("PATH", str(on_path.parent))
    monkeypatch.delenv("BITCOIND", raising=False)
    monkeypatch.delenv("BOLTCHECK_BITCOIND_BIN", raising=False)
    assert find_bitcoind() == str(on_path)
    monkeypatch.setenv("BITCOIND", str(from_bitcoind))
    assert find_bitcoind() == str(from_bitcoind)
    monkeypatch.setenv("BOLTCHECK_BITCOIND_BIN", str(from_boltcheck))
    assert find_bitcoind() == str(from_boltcheck)
    assert find_bitcoind(str(on_path)) == str(on_path)


def test_find_bitcoind_is_none_when_the_named_file_is_not_executable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOLTCHECK_BITCOIND_BIN", str(tmp_path / "missing-bitcoind"))
    assert find_bitcoind() is None
