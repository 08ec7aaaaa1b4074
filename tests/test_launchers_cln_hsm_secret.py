"""What the process launcher prepares before lightningd starts: a plain 32-byte hsm_secret, kept across
restarts (regtest.new_cln_hsm_secret: v25.12's mnemonic secrets make its wallet miss its own on-chain
sweeps), and a chain past genesis (v25.12 aborts accepting a channel at height 0)."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

from harness.launchers.chain import ChainService
from harness.launchers.ports import PortAllocator
from harness.launchers.process import cln_process_driver
from harness.launchers.regtest import CLN_HSM_SECRET_PATH, BitcoindRpc


class _Chain:
    """The two ChainBackend calls the launcher makes before lightningd starts."""

    def __init__(self, height: int) -> None:
        self.blocks = height

    def height(self) -> int:
        return self.blocks

    def mine(self, count: int) -> None:
        self.blocks += count


_CHAIN = _Chain(0)


async def _no_chain() -> ChainService:
    return ChainService(BitcoindRpc("127.0.0.1", 1, "u", "p"), _CHAIN, "none", lambda: None)  # type: ignore[arg-type]


def _prepared(tmp_path: Path) -> Path:
    driver = cln_process_driver(
        "alice", Path("/bin/true"), tmp_path, PortAllocator.for_this_worker(seed=9), _no_chain, Path("/x")
    )
    asyncio.run(driver.handle.prepare())  # type: ignore[attr-defined]
    return tmp_path / "lightningd" / CLN_HSM_SECRET_PATH


def test_a_plain_32_byte_secret_readable_only_by_its_owner_is_written(tmp_path: Path) -> None:
    secret = _prepared(tmp_path)
    assert len(secret.read_bytes()) == 32
    assert stat.S_IMODE(secret.stat().st_mode) == 0o400


def test_a_restart_keeps_the_secret_it_has(tmp_path: Path) -> None:
    first = _prepared(tmp_path).read_bytes()
    assert _prepared(tmp_path).read_bytes() == first


def test_a_chain_at_genesis_gets_a_block_before_lightningd_starts(tmp_path: Path) -> None:
    _CHAIN.blocks = 0
    _prepared(tmp_path)
    assert _CHAIN.height() == 1
    _prepared(tmp_path)
    assert _CHAIN.height() == 1  # past genesis: nothing mined
