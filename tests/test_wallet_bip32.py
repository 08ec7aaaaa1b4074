"""BIP32 private derivation against every extended private key of BIP 32's test vectors 1 and 2
(vectors/bip32: the BIP's own text, parsed here)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import bitcoin.base58
import pytest

from harness.paths import project_root
from reference_node.wallet.bip32 import HARDENED, Bip32Error, ExtendedPrivateKey

VECTOR_FILE = project_root() / "vectors" / "bip32" / "bip-0032-test-vectors.mediawiki"


@dataclass(frozen=True)
class Bip32Case:
    seed: bytes
    path: str
    xprv: str


def _cases() -> list[Bip32Case]:
    cases: list[Bip32Case] = []
    seed = b""
    path = ""
    for line in VECTOR_FILE.read_text().splitlines():
        if match := re.match(r"Seed \(hex\): ([0-9a-f]+)$", line):
            seed = bytes.fromhex(match.group(1))
        elif match := re.match(r"\* Chain (\S+)$", line):
            path = match.group(1).replace("<sub>H</sub>", "'")
        elif match := re.match(r"\*\* ext prv: (\w+)$", line):
            cases.append(Bip32Case(seed, path, match.group(1)))
    return cases


CASES = _cases()


def _decode_xprv(xprv: str) -> tuple[bytes, bytes]:
    """(chain code, private key) of a serialized extended private key (BIP32 "Serialization format")."""
    raw = bitcoin.base58.decode(xprv)
    payload, checksum = raw[:-4], raw[-4:]
    assert hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4] == checksum
    assert payload[45] == 0  # private keys are serialized as 0x00 || k
    return payload[13:45], payload[46:78]


def test_every_vector_was_read() -> None:
    # 6 chains in vector 1, 6 in vector 2
    assert len(CASES) == 12
    assert len({c.seed for c in CASES}) == 2


@pytest.mark.parametrize("case", CASES, ids=[f"{c.seed[:2].hex()}-{c.path}" for c in CASES])
def test_derived_key_and_chain_code_match_the_bip(case: Bip32Case) -> None:
    key = ExtendedPrivateKey.from_seed(case.seed).derive(case.path)
    chain_code, secret = _decode_xprv(case.xprv)
    assert key.chain_code == chain_code
    assert key.secret == secret


def test_hardened_marks_are_equivalent() -> None:
    master = ExtendedPrivateKey.from_seed(bytes(16))
    assert master.derive("m/84'/1h") == master.child(84 + HARDENED).child(1 + HARDENED)


@pytest.mark.parametrize("path", ["84'/1'", "m/x", "m/1/", "m/-1"])
def test_malformed_paths_are_refused(path: str) -> None:
    with pytest.raises(Bip32Error):
        ExtendedPrivateKey.from_seed(bytes(16)).derive(path)
