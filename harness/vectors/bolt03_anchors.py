"""BOLT 3 Appendix F: option_anchors (zero-fee HTLC) commitment and HTLC transactions, byte for byte."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

from harness.vectors import VectorCase, VectorMismatch, expect_equal, load_json
from harness.vectors.bolt03_commitment import appendix_c, signed_commitment, signed_htlc_tx
from reference_node.transactions.commitment import build_commitment
from reference_node.transactions.types import ChannelType

BOLT = 3
ANCHORS_FILE = "bolt03/commitment-anchors.json"


def _check_case(index: int) -> str:
    setup = appendix_c()
    case = load_json(ANCHORS_FILE)["cases"][index]
    params = setup.params(ChannelType.ANCHORS, case["DustLimitSatoshis"])
    spec = setup.spec(case["LocalBalance"], case["RemoteBalance"], case["FeePerKw"], case["htlc_ids"])
    commitment = build_commitment(params, spec, setup.keys)
    _, remote_sig, tx_bytes = signed_commitment(setup, commitment, params)
    expect_equal("RemoteSigHex", remote_sig, bytes.fromhex(case["RemoteSigHex"]))
    expect_equal("ExpectedCommitmentTxHex", tx_bytes, bytes.fromhex(case["ExpectedCommitmentTxHex"]))
    descs = case["HtlcDescs"]
    if len(descs) != len(commitment.htlc_txs):
        raise VectorMismatch(f"{len(commitment.htlc_txs)} HTLC txs, expected {len(descs)}")
    for position, desc in enumerate(descs):
        _, remote_htlc_sig, htlc_bytes = signed_htlc_tx(setup, commitment, position, ChannelType.ANCHORS)
        what = f"HtlcDescs[{position}]"
        expect_equal(f"{what}.RemoteSigHex", remote_htlc_sig, bytes.fromhex(desc["RemoteSigHex"]))
        expect_equal(f"{what}.ResolutionTxHex", htlc_bytes, bytes.fromhex(desc["ResolutionTxHex"]))
    return f"commit tx ({len(tx_bytes)} bytes) and {len(descs)} HTLC txs match"


def cases() -> Iterator[VectorCase]:
    for index, case in enumerate(load_json(ANCHORS_FILE)["cases"]):
        yield VectorCase(BOLT, f"appendix-f/{case['Name']}", partial(_check_case, index))
