"""Wire codec throughput: `.venv/bin/pytest benchmarks/bench_wire.py --benchmark-only`."""

from __future__ import annotations

from typing import Any

import coincurve
import pytest

from reference_node.wire import (
    RawTlv,
    build_message,
    decode_bigsize,
    decode_message,
    decode_tlv_records,
    encode_bigsize,
    encode_message,
    encode_tlv_records,
)

POINT = coincurve.PrivateKey(bytes(31) + b"\x01").public_key.format().hex()
SIG = "11" * 64

SAMPLES: dict[str, dict[str, Any]] = {
    "ping": {"num_pong_bytes": 8, "ignored": "00" * 8},
    "update_add_htlc": {
        "channel_id": "22" * 32,
        "id": 7,
        "amount_msat": 1_000_000,
        "payment_hash": "33" * 32,
        "cltv_expiry": 800_000,
        "onion_routing_packet": "00" * 1366,
    },
    "commitment_signed": {
        "channel_id": "22" * 32,
        "signature": SIG,
        "htlc_signature": [SIG] * 30,
        "tlvs": {"funding_txid": {"funding_txid": "44" * 32}},
    },
    "open_channel": {
        "chain_hash": "06" * 32,
        "temporary_channel_id": "01" * 32,
        "funding_satoshis": 1_000_000,
        "push_msat": 0,
        "dust_limit_satoshis": 546,
        "max_htlc_value_in_flight_msat": 10**9,
        "channel_reserve_satoshis": 10_000,
        "htlc_minimum_msat": 1,
        "feerate_per_kw": 253,
        "to_self_delay": 144,
        "max_accepted_htlcs": 483,
        "funding_pubkey": POINT,
        "revocation_basepoint": POINT,
        "payment_basepoint": POINT,
        "delayed_payment_basepoint": POINT,
        "htlc_basepoint": POINT,
        "first_per_commitment_point": POINT,
        "channel_flags": 1,
        "tlvs": {
            "upfront_shutdown_script": {"shutdown_scriptpubkey": ""},
            "channel_type": {"type": "401000"},
        },
    },
    "channel_update": {
        "signature": SIG,
        "chain_hash": "06" * 32,
        "short_channel_id": "800000x1x0",
        "timestamp": 1_700_000_000,
        "message_flags": 1,
        "channel_flags": 0,
        "cltv_expiry_delta": 144,
        "htlc_minimum_msat": 1,
        "fee_base_msat": 1000,
        "fee_proportional_millionths": 100,
        "htlc_maximum_msat": 10**9,
    },
}


@pytest.mark.parametrize("name", list(SAMPLES))
def test_decode_message(benchmark: Any, name: str) -> None:
    data = encode_message(build_message(name, SAMPLES[name]))
    benchmark(decode_message, data)


@pytest.mark.parametrize("name", list(SAMPLES))
def test_encode_message(benchmark: Any, name: str) -> None:
    msg = build_message(name, SAMPLES[name])
    benchmark(encode_message, msg)


def test_bigsize_round_trip(benchmark: Any) -> None:
    def run() -> None:
        for value in (1, 300, 70_000, 1 << 40):
            decode_bigsize(encode_bigsize(value))

    benchmark(run)


def test_decode_100_tlv_records(benchmark: Any) -> None:
    data = encode_tlv_records([RawTlv(t, bytes(t % 40)) for t in range(1, 200, 2)])
    benchmark(decode_tlv_records, data)
