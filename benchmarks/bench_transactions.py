"""Commitment transactions built and signed per second, with 0, 10 and 483 HTLCs.

One round = what a node does to send `commitment_signed`: build the peer's commitment, sign it, and sign
every HTLC transaction. Run: .venv/bin/pytest benchmarks/bench_transactions.py --benchmark-only
"""

from __future__ import annotations

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from reference_node.bitcoin.hashes import sha256
from reference_node.bitcoin.tx import OutPoint
from reference_node.keys.channel_keys import ChannelKeys, CommitmentKeys
from reference_node.transactions.commitment import build_commitment, obscuring_factor
from reference_node.transactions.signing import remote_htlc_sighash_type, sign_commitment, sign_htlc_tx
from reference_node.transactions.types import ChannelParams, ChannelType, CommitmentSpec, Htlc, HtlcDirection

ALICE = ChannelKeys.from_seed(sha256(b"bench alice"))
BOB = ChannelKeys.from_seed(sha256(b"bench bob"))
# BOLT 2: max_accepted_htlcs is at most 483.
MAX_HTLCS = 483


def channel(
    channel_type: ChannelType, num_htlcs: int
) -> tuple[ChannelParams, CommitmentSpec, CommitmentKeys]:
    params = ChannelParams(
        funding_outpoint=OutPoint(sha256(b"funding"), 0),
        funding_amount_sat=16_777_215,
        local_funding_pubkey=ALICE.basepoints().funding_pubkey,
        remote_funding_pubkey=BOB.basepoints().funding_pubkey,
        to_self_delay=144,
        dust_limit_sat=546,
        holder_is_opener=True,
        obscuring_factor=obscuring_factor(
            ALICE.basepoints().payment_basepoint, BOB.basepoints().payment_basepoint
        ),
        channel_type=channel_type,
    )
    htlcs = tuple(
        Htlc(
            i,
            HtlcDirection.OFFERED if i % 2 else HtlcDirection.RECEIVED,
            10_000_000 + i,
            sha256(bytes([i % 256, i // 256])),
            500 + i,
        )
        for i in range(num_htlcs)
    )
    htlc_msat = sum(h.amount_msat for h in htlcs)
    spec = CommitmentSpec(1, 10_000_000_000 - htlc_msat, 6_777_215_000, 2500, htlcs)
    point = ALICE.per_commitment_point(1)
    return params, spec, CommitmentKeys.derive(point, ALICE.basepoints(), BOB.basepoints())


@pytest.mark.parametrize("num_htlcs", [0, 10, MAX_HTLCS])
@pytest.mark.parametrize("channel_type", list(ChannelType), ids=lambda t: t.name.lower())
def test_build_and_sign_commitment(
    benchmark: BenchmarkFixture, channel_type: ChannelType, num_htlcs: int
) -> None:
    params, spec, keys = channel(channel_type, num_htlcs)
    htlc_privkey = BOB.htlc_privkey(keys.per_commitment_point)
    sighash_type = remote_htlc_sighash_type(channel_type)

    def round_trip() -> int:
        commitment = build_commitment(params, spec, keys)
        sign_commitment(commitment, BOB.funding_privkey)
        for htlc_tx in commitment.htlc_txs:
            sign_htlc_tx(htlc_tx, htlc_privkey, sighash_type)
        return len(commitment.htlc_txs)

    assert benchmark(round_trip) == num_htlcs
