"""BIP 173 and BIP 350 test vectors (vectors/bech32/), run against reference_node.bitcoin.bech32."""

from __future__ import annotations

from typing import Any

import pytest

from harness.vectors import load_json
from reference_node.bitcoin import bech32
from reference_node.bitcoin.bech32 import Encoding

BIP173 = load_json("bech32/bip173.json")
BIP350 = load_json("bech32/bip350.json")


def _network_hrp(address: str) -> str:
    # A wallet checks addresses against its own network: mainnet for "bc...", testnet otherwise.
    return "bc" if address.lower().startswith("bc") else "tb"


def _script_pubkey(address: bech32.SegwitAddress) -> bytes:
    # BIP 141: OP_0 or OP_1..OP_16 (0x51..0x60), then a direct push of the program.
    opcode = 0 if address.witness_version == 0 else 0x50 + address.witness_version
    return bytes([opcode, len(address.witness_program)]) + address.witness_program


def _ids(items: list[Any], key: str | None = None) -> list[str]:
    return [repr(item[key] if key else item)[:40] for item in items]


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        *[(s, Encoding.BECH32) for s in BIP173["valid"]],
        *[(s, Encoding.BECH32M) for s in BIP350["valid"]],
    ],
)
def test_valid_string_decodes_with_its_encoding_and_reencodes(text: str, encoding: Encoding) -> None:
    decoded = bech32.bech32_decode(text)
    assert decoded.encoding is encoding
    assert bech32.bech32_encode(decoded.hrp, decoded.data, encoding) == text.lower()


@pytest.mark.parametrize(
    "case", BIP173["invalid"] + BIP350["invalid"], ids=_ids(BIP173["invalid"] + BIP350["invalid"], "string")
)
def test_invalid_string_is_rejected_with_specific_error(case: dict[str, str]) -> None:
    with pytest.raises(getattr(bech32, case["error"])):
        bech32.bech32_decode(case["string"])


@pytest.mark.parametrize(
    "case", BIP350["valid_segwit_addresses"], ids=_ids(BIP350["valid_segwit_addresses"], "address")
)
def test_valid_segwit_address_gives_script_pubkey_and_reencodes(case: dict[str, str]) -> None:
    address = bech32.segwit_decode(case["address"], _network_hrp(case["address"]))
    assert _script_pubkey(address).hex() == case["script_pubkey"]
    reencoded = bech32.segwit_encode(address.hrp, address.witness_version, address.witness_program)
    assert reencoded == case["address"].lower()


@pytest.mark.parametrize(
    "case",
    BIP173["invalid_segwit_addresses"] + BIP350["invalid_segwit_addresses"],
    ids=_ids(BIP173["invalid_segwit_addresses"] + BIP350["invalid_segwit_addresses"], "address"),
)
def test_invalid_segwit_address_is_rejected_with_specific_error(case: dict[str, str]) -> None:
    with pytest.raises(getattr(bech32, case["error"])):
        bech32.segwit_decode(case["address"], _network_hrp(case["address"]))


@pytest.mark.parametrize(
    "case", BIP173["valid_segwit_addresses"], ids=_ids(BIP173["valid_segwit_addresses"], "address")
)
def test_bip173_segwit_address_is_valid_only_for_version_0_since_bip350(case: dict[str, str]) -> None:
    # BIP 350 replaces BIP 173's segwit rule: versions 1+ must use bech32m, so these now fail.
    version_char = case["address"].lower()[len(_network_hrp(case["address"])) + 1]
    if version_char == "q":
        address = bech32.segwit_decode(case["address"], _network_hrp(case["address"]))
        assert _script_pubkey(address).hex() == case["script_pubkey"]
    else:
        with pytest.raises(bech32.Bech32ChecksumError):
            bech32.segwit_decode(case["address"], _network_hrp(case["address"]))


def test_length_limit_is_configurable_for_long_strings() -> None:
    long_string = bech32.bech32_encode("lnbc", [0] * 200, Encoding.BECH32, max_length=None)
    with pytest.raises(bech32.Bech32LengthError):
        bech32.bech32_decode(long_string)
    assert bech32.bech32_decode(long_string, max_length=None).data == (0,) * 200


def test_encode_refuses_strings_over_the_limit() -> None:
    with pytest.raises(bech32.Bech32LengthError):
        bech32.bech32_encode("lnbc", [0] * 200, Encoding.BECH32)
