"""BitcoindChain.mine to a scriptPubKey: the coinbase pays exactly that script. A real bitcoind (marker
`bitcoind`, skipped without a binary) takes any script (`generatetodescriptor` with `raw(HEX)`);
`boltcheck chain` takes scripts that have an address and refuses the others by name."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.chain.bitcoind import BitcoindChain
from harness.chain.bitcoind_launcher import find_bitcoind, launch_bitcoind
from harness.chain.errors import ChainError
from harness.chain.process import launch_chain_process
from harness.chain.testkit import TestKey

BARE_SCRIPT = bytes([0x51])  # OP_TRUE: standard nowhere, no address
OP_RETURN_SCRIPT = bytes([0x6A, 0x04]) + b"bolt"


@pytest.fixture
def stand_in(tmp_path: Path) -> Iterator[BitcoindChain]:
    process = launch_chain_process(tmp_path / "chain")
    chain = BitcoindChain(process.client())
    yield chain
    chain.close()
    process.stop()


@pytest.fixture
def real(tmp_path: Path) -> Iterator[BitcoindChain]:
    if find_bitcoind() is None:
        pytest.skip("needs bitcoind (BOLTCHECK_BITCOIND_BIN, $BITCOIND or PATH)")
    launched = launch_bitcoind(data_dir=tmp_path / "bitcoind")
    yield launched.chain
    launched.stop()


def coinbase_scripts(chain: BitcoindChain, block_hash: str) -> list[bytes]:
    coinbase = chain.client.call("getblock", block_hash, 2)["tx"][0]
    return [bytes.fromhex(out["scriptPubKey"]["hex"]) for out in coinbase["vout"]]


def test_the_stand_in_mines_to_a_script_through_its_address(stand_in: BitcoindChain) -> None:
    script = TestKey(b"mining-key").script_pubkey
    [block_hash] = stand_in.mine(1, script)
    assert script in coinbase_scripts(stand_in, block_hash)


def test_the_stand_in_refuses_a_script_without_an_address(stand_in: BitcoindChain) -> None:
    height = stand_in.height()
    with pytest.raises(ChainError, match="only mine to a script that has an address"):
        stand_in.mine(1, BARE_SCRIPT)
    assert stand_in.height() == height


@pytest.mark.bitcoind
@pytest.mark.parametrize(
    "script",
    [TestKey(b"mining-key").script_pubkey, BARE_SCRIPT, OP_RETURN_SCRIPT],
    ids=["p2wpkh", "bare", "op_return"],
)
def test_a_real_bitcoind_mines_n_blocks_to_any_script(real: BitcoindChain, script: bytes) -> None:
    height = real.height()
    hashes = real.mine(2, script)
    assert real.height() == height + 2 and real.tip() == hashes[-1]
    for block_hash in hashes:
        assert script in coinbase_scripts(real, block_hash)
