"""The node key file: created 0600, refused when others can read it, replayable from a seed."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from reference_node.nodekey import (
    NODE_KEY_FILE,
    Entropy,
    InsecureNodeKeyFile,
    MalformedNodeKeyFile,
    NodeKeySeedMismatch,
    load_or_create_node_key,
    node_key_from_seed,
)


def test_created_key_file_has_mode_0600(tmp_path: Path) -> None:
    key = load_or_create_node_key(tmp_path / "data")
    path = tmp_path / "data" / NODE_KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(key.node_id) == 33


def test_existing_key_is_loaded_not_replaced(tmp_path: Path) -> None:
    first = load_or_create_node_key(tmp_path)
    assert load_or_create_node_key(tmp_path).node_id == first.node_id


@pytest.mark.parametrize("mode", [0o644, 0o604, 0o640, 0o660, 0o606])
def test_key_readable_by_others_is_refused(tmp_path: Path, mode: int) -> None:
    load_or_create_node_key(tmp_path)
    os.chmod(tmp_path / NODE_KEY_FILE, mode)
    with pytest.raises(InsecureNodeKeyFile, match="chmod 600"):
        load_or_create_node_key(tmp_path)


@pytest.mark.parametrize("content", [b"not hex\n", b"00" * 31, b"00" * 32, b"\xff\xfe"])
def test_malformed_key_file_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / NODE_KEY_FILE
    path.write_bytes(content)
    os.chmod(path, 0o600)
    with pytest.raises(MalformedNodeKeyFile):
        load_or_create_node_key(tmp_path)


def test_seed_gives_the_same_node_id_every_run(tmp_path: Path) -> None:
    one = load_or_create_node_key(tmp_path / "a", seed=b"seed-1")
    two = load_or_create_node_key(tmp_path / "b", seed=b"seed-1")
    other = load_or_create_node_key(tmp_path / "c", seed=b"seed-2")
    assert one.node_id == two.node_id == node_key_from_seed(b"seed-1").node_id
    assert other.node_id != one.node_id


def test_seed_that_does_not_match_the_key_on_disk_is_refused(tmp_path: Path) -> None:
    load_or_create_node_key(tmp_path, seed=b"seed-1")
    with pytest.raises(NodeKeySeedMismatch):
        load_or_create_node_key(tmp_path, seed=b"seed-2")


def test_repr_never_shows_the_secret() -> None:
    key = node_key_from_seed(b"seed")
    assert key.private_key.secret.hex() not in repr(key)


def test_seeded_entropy_replays_and_labels_are_independent() -> None:
    a, b = Entropy(b"s"), Entropy(b"s")
    assert [a.random_bytes("x") for _ in range(3)] == [b.random_bytes("x") for _ in range(3)]
    assert Entropy(b"s").random_bytes("x") != Entropy(b"s").random_bytes("y")
    assert Entropy(b"s").child("peer").random_bytes("x") != Entropy(b"s").random_bytes("x")
    assert not Entropy(None).seeded
