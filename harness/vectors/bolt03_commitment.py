"""BOLT 3 Appendix C: legacy (static_remotekey) commitment and HTLC transactions, byte for byte.

Also the obscured commitment number. The shared Appendix C setup (keys, funding, HTLCs) lives here and is
reused by bolt03_anchors.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

from harness.vectors import VectorCase, VectorMismatch, expect_equal, load_json
from reference_node.bitcoin.ecdsa import public_key_of
from reference_node.bitcoin.hashes import sha256
from reference_node.bitcoin.sighash import SighashType
from reference_node.bitcoin.tx import OutPoint
from reference_node.keys.channel_keys import ChannelBasepoints, CommitmentKeys
from reference_node.keys.derivation import derive_privkey
from reference_node.transactions.commitment import build_commitment, obscuring_factor
from reference_node.transactions.signing import (
    finalize_commitment,
    finalize_htlc_tx,
    remote_htlc_sighash_type,
    sign_commitment,
    sign_htlc_tx,
)
from reference_node.transactions.types import (
    ChannelParams,
    ChannelType,
    CommitmentSpec,
    CommitmentTx,
    Htlc,
    HtlcDirection,
    HtlcTxKind,
)

BOLT = 3
LEGACY_FILE = "bolt03/commitment-legacy.json"
_DIRECTIONS = {"remote->local": HtlcDirection.RECEIVED, "local->remote": HtlcDirection.OFFERED}


@dataclass(frozen=True)
class AppendixC:
    """Appendix C's fixed inputs, with the keys derived from its basepoints (and checked against it)."""

    data: Any
    keys: CommitmentKeys
    local_funding_privkey: bytes
    remote_funding_privkey: bytes
    local_htlc_privkey: bytes
    remote_htlc_privkey: bytes
    htlcs: dict[int, Htlc]
    preimages: dict[int, bytes]

    def params(self, channel_type: ChannelType, dust_limit_sat: int) -> ChannelParams:
        p = self.data["params"]
        return ChannelParams(
            funding_outpoint=OutPoint.from_hex(p["funding_tx_id"], p["funding_output_index"]),
            funding_amount_sat=p["funding_amount_satoshi"],
            local_funding_pubkey=bytes.fromhex(p["local_funding_pubkey"]),
            remote_funding_pubkey=bytes.fromhex(p["remote_funding_pubkey"]),
            to_self_delay=p["local_delay"],
            dust_limit_sat=dust_limit_sat,
            holder_is_opener=True,  # "It's assumed that *local* is the opener."
            obscuring_factor=obscuring_factor(
                bytes.fromhex(p["local_payment_basepoint"]), bytes.fromhex(p["remote_payment_basepoint"])
            ),
            channel_type=channel_type,
        )

    def spec(
        self, to_local_msat: int, to_remote_msat: int, feerate_per_kw: int, htlc_ids: list[int]
    ) -> CommitmentSpec:
        return CommitmentSpec(
            commitment_number=self.data["params"]["commitment_number"],
            to_local_msat=to_local_msat,
            to_remote_msat=to_remote_msat,
            feerate_per_kw=feerate_per_kw,
            htlcs=tuple(self.htlcs[i] for i in htlc_ids),
        )


def appendix_c() -> AppendixC:
    data = load_json(LEGACY_FILE)
    p, internal = data["params"], data["internal"]

    def b(hex_value: str) -> bytes:
        return bytes.fromhex(hex_value)

    point = b(internal["local_per_commitment_point"])
    holder = ChannelBasepoints(
        funding_pubkey=b(p["local_funding_pubkey"]),
        revocation_basepoint=b"",  # not used for the holder's own commitment
        payment_basepoint=b(p["local_payment_basepoint"]),
        delayed_payment_basepoint=b(internal["local_delayed_payment_basepoint"]),
        htlc_basepoint=b(p["local_htlc_basepoint"]),
    )
    counterparty = ChannelBasepoints(
        funding_pubkey=b(p["remote_funding_pubkey"]),
        revocation_basepoint=b(internal["remote_revocation_basepoint"]),
        payment_basepoint=b(p["remote_payment_basepoint"]),
        delayed_payment_basepoint=b"",
        htlc_basepoint=b(p["remote_htlc_basepoint"]),
    )
    keys = CommitmentKeys.derive(point, holder, counterparty)
    expect_equal("local_revocation_pubkey", keys.revocation_pubkey, b(p["local_revocation_pubkey"]))
    expect_equal("local_delayedpubkey", keys.local_delayedpubkey, b(p["local_delayedpubkey"]))
    expect_equal("local_htlcpubkey", keys.local_htlcpubkey, b(p["local_htlcpubkey"]))
    expect_equal("remote_htlcpubkey", keys.remote_htlcpubkey, b(p["remote_htlcpubkey"]))
    # The HTLC basepoints equal the payment basepoints ("We use the same values for the HTLC basepoints").
    local_htlc_privkey = derive_privkey(b(internal["local_payment_basepoint_secret"]), point)
    remote_htlc_privkey = derive_privkey(b(internal["remote_payment_basepoint_secret"]), point)
    expect_equal("local_privkey", local_htlc_privkey, b(p["local_privkey"]))
    expect_equal("remote HTLC privkey", public_key_of(remote_htlc_privkey), keys.remote_htlcpubkey)
    htlcs: dict[int, Htlc] = {}
    preimages: dict[int, bytes] = {}
    for h in data["htlcs"]:
        preimages[h["id"]] = b(h["payment_preimage"])
        htlcs[h["id"]] = Htlc(
            id=h["id"],
            direction=_DIRECTIONS[h["direction"]],
            amount_msat=h["amount_msat"],
            payment_hash=sha256(preimages[h["id"]]),
            cltv_expiry=h["expiry"],
        )
    return AppendixC(
        data=data,
        keys=keys,
        local_funding_privkey=b(p["local_funding_privkey"]),
        remote_funding_privkey=b(internal["remote_funding_privkey"]),
        local_htlc_privkey=local_htlc_privkey,
        remote_htlc_privkey=remote_htlc_privkey,
        htlcs=htlcs,
        preimages=preimages,
    )


def signed_commitment(
    setup: AppendixC, commitment: CommitmentTx, params: ChannelParams
) -> tuple[bytes, bytes, bytes]:
    """(local signature, remote signature, signed tx bytes)."""
    local_sig = sign_commitment(commitment, setup.local_funding_privkey)
    remote_sig = sign_commitment(commitment, setup.remote_funding_privkey)
    tx = finalize_commitment(
        commitment, params.local_funding_pubkey, local_sig, params.remote_funding_pubkey, remote_sig
    )
    return local_sig, remote_sig, tx.serialize()


def signed_htlc_tx(
    setup: AppendixC, commitment: CommitmentTx, position: int, channel_type: ChannelType
) -> tuple[bytes, bytes, bytes]:
    """(local signature, remote signature, signed tx bytes) of the position-th HTLC transaction."""
    htlc_tx = commitment.htlc_txs[position]
    remote_sig = sign_htlc_tx(htlc_tx, setup.remote_htlc_privkey, remote_htlc_sighash_type(channel_type))
    local_sig = sign_htlc_tx(htlc_tx, setup.local_htlc_privkey, SighashType.ALL)
    preimage = setup.preimages[htlc_tx.htlc.id] if htlc_tx.kind is HtlcTxKind.SUCCESS else None
    tx = finalize_htlc_tx(htlc_tx, remote_sig, local_sig, channel_type, preimage)
    return local_sig, remote_sig, tx.serialize()


def _check_obscured_number() -> str:
    setup = appendix_c()
    params = setup.params(ChannelType.STATIC_REMOTEKEY, setup.data["params"]["local_dust_limit_satoshi"])
    expect_equal("obscuring factor", params.obscuring_factor, int(setup.data["obscuring_factor"], 16))
    number = setup.data["obscured_commitment_number"]
    for case in setup.data["cases"]:
        commitment = build_commitment(
            params,
            setup.spec(
                case["to_local_msat"], case["to_remote_msat"], case["local_feerate_per_kw"], case["htlc_ids"]
            ),
            setup.keys,
        )
        from reference_node.bitcoin.tx import Tx

        expected = Tx.from_hex(case["commit_tx"])
        expect_equal(f"{case['name']}: locktime", commitment.tx.locktime, expected.locktime)
        expect_equal(
            f"{case['name']}: sequence", commitment.tx.inputs[0].sequence, expected.inputs[0].sequence
        )
    return f"factor {params.obscuring_factor:#x}, commitment number {number}: locktime and sequence match"


def _check_case(index: int) -> str:
    setup = appendix_c()
    case = setup.data["cases"][index]
    name = case["name"]
    params = setup.params(ChannelType.STATIC_REMOTEKEY, setup.data["params"]["local_dust_limit_satoshi"])
    spec = setup.spec(
        case["to_local_msat"], case["to_remote_msat"], case["local_feerate_per_kw"], case["htlc_ids"]
    )
    commitment = build_commitment(params, spec, setup.keys)
    if "base_fee_sat" in case:
        expect_equal("base commitment transaction fee", commitment.base_fee_sat, case["base_fee_sat"])
        expect_equal("actual commitment transaction fee", commitment.fee_sat, case["actual_fee_sat"])
    local_sig, remote_sig, tx_bytes = signed_commitment(setup, commitment, params)
    expect_equal("remote_signature", remote_sig, bytes.fromhex(case["remote_signature"]))
    expect_equal("local_signature", local_sig, bytes.fromhex(case["local_signature"]))
    expect_equal("commit_tx", tx_bytes, bytes.fromhex(case["commit_tx"]))
    expect_equal("num_htlcs", len(commitment.htlc_txs), case["num_htlcs"])
    expected_htlc_txs = case["htlc_txs"]
    if len(expected_htlc_txs) != len(commitment.htlc_txs):
        raise VectorMismatch(
            f"{name}: {len(commitment.htlc_txs)} HTLC txs, expected {len(expected_htlc_txs)}"
        )
    for position, expected in enumerate(expected_htlc_txs):
        htlc_tx = commitment.htlc_txs[position]
        what = f"output #{expected['output_index']} ({expected['kind']} for htlc #{expected['htlc_id']})"
        expect_equal(f"{what}: output index", htlc_tx.commitment_output_index, expected["output_index"])
        expect_equal(f"{what}: htlc id", htlc_tx.htlc.id, expected["htlc_id"])
        local_htlc_sig, remote_htlc_sig, htlc_bytes = signed_htlc_tx(
            setup, commitment, position, ChannelType.STATIC_REMOTEKEY
        )
        expect_equal(
            f"{what}: remote_htlc_signature",
            remote_htlc_sig,
            bytes.fromhex(expected["remote_htlc_signature"]),
        )
        expect_equal(
            f"{what}: local_htlc_signature", local_htlc_sig, bytes.fromhex(expected["local_htlc_signature"])
        )
        expect_equal(f"{what}: tx", htlc_bytes, bytes.fromhex(expected["tx"]))
    return f"commit tx ({len(tx_bytes)} bytes) and {len(expected_htlc_txs)} HTLC txs match"


def cases() -> Iterator[VectorCase]:
    data = load_json(LEGACY_FILE)
    yield VectorCase(BOLT, "appendix-c/obscured-commitment-number", _check_obscured_number)
    for index, case in enumerate(data["cases"]):
        yield VectorCase(BOLT, f"appendix-c/{case['name']}", partial(_check_case, index))
