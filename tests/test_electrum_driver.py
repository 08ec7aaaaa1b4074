"""ElectrumDriver pieces that need no Electrum process: the deterministic seed, amounts, the registry path."""

from __future__ import annotations

import hashlib
import hmac
import shutil
from pathlib import Path

import pytest

from harness.chain import EmbeddedChain
from harness.drivers.base import DriverError, UnsupportedOperation
from harness.drivers.electrum import ELECTRUM_WORDLIST, ElectrumDriver, _btc, _sat, electrum_seed
from harness.drivers.registry import NodeSetup, create_driver
from harness.drivers.targets import TargetSpec

needs_wordlist = pytest.mark.skipif(
    not ELECTRUM_WORDLIST.exists(), reason="Electrum is not installed (scripts/install-electrum.sh)"
)


@needs_wordlist
@pytest.mark.parametrize("key", [b"\x00" * 32, b"\x01" * 32, hashlib.sha256(b"x").digest()])
def test_seed_is_an_electrum_segwit_seed_of_12_known_words(key: bytes) -> None:
    seed = electrum_seed(key)
    words = seed.split(" ")
    assert len(words) == 12
    assert set(words) <= set(ELECTRUM_WORDLIST.read_text(encoding="utf-8").split())
    # Electrum's seed version: HMAC-SHA512 keyed "Seed version" over the phrase; "100" = segwit.
    assert hmac.new(b"Seed version", seed.encode(), hashlib.sha512).hexdigest().startswith("100")


@needs_wordlist
def test_seed_depends_only_on_the_node_key() -> None:
    assert electrum_seed(b"\x05" * 32) == electrum_seed(b"\x05" * 32)
    assert electrum_seed(b"\x05" * 32) != electrum_seed(b"\x06" * 32)


@pytest.mark.parametrize(
    ("amount_sat", "text"), [(0, "0"), (1, "1E-8"), (150_000_000, "1.5"), (2_100, "0.000021")]
)
def test_amounts_round_trip_between_satoshis_and_electrum_btc_strings(amount_sat: int, text: str) -> None:
    assert _sat(_btc(amount_sat)) == amount_sat
    assert _sat(text) == amount_sat


def test_a_fraction_of_a_satoshi_is_refused() -> None:
    with pytest.raises(DriverError, match="whole number of satoshis"):
        _sat("0.000000001")


def test_electrum_is_a_known_target() -> None:
    assert TargetSpec.parse("electrum").implementation == "electrum"


def test_registry_makes_an_electrum_driver_on_the_scenario_chain(tmp_path: Path) -> None:
    with EmbeddedChain(seed=b"registry") as chain:
        driver = create_driver(NodeSetup("carol", "electrum", b"\x07" * 32, tmp_path, chain=chain))
        assert isinstance(driver, ElectrumDriver)
        assert driver.chain is chain and driver.config.name == "carol"


def test_registry_takes_an_electrum_server_address_instead_of_a_chain(tmp_path: Path) -> None:
    setup = NodeSetup(
        "carol", "electrum", b"\x07" * 32, tmp_path, options={"electrum_server": "127.0.0.1:1:t"}
    )
    driver = create_driver(setup)
    assert isinstance(driver, ElectrumDriver) and driver.electrum_server == "127.0.0.1:1:t"


def test_without_chain_or_server_the_driver_will_serve_a_private_chain(tmp_path: Path) -> None:
    driver = create_driver(NodeSetup("carol", "electrum", b"\x07" * 32, tmp_path))
    assert (
        isinstance(driver, ElectrumDriver) and driver.chain is None and driver.config.electrum_server is None
    )


@pytest.mark.skipif(shutil.which("electrum") is not None, reason="Electrum is installed here")
def test_start_without_electrum_installed_is_unsupported(tmp_path: Path) -> None:
    import asyncio

    setup = NodeSetup(
        "carol", "electrum", b"\x07" * 32, tmp_path, options={"electrum_server": "127.0.0.1:1:t"}
    )
    with pytest.raises(UnsupportedOperation, match="not installed"):
        asyncio.run(create_driver(setup).start())
