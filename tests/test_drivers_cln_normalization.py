"""ClnDriver normalization, checked on responses transcribed from Core Lightning's own API documentation
(the `examples` of doc/schemas/*.json, see each file's `source`). Unit tests of our mapping, not interop."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.drivers.base import ChannelState, OutPoint
from harness.drivers.cln import (
    CLN_STATES,
    PAY_FAILURE_CODES,
    ClnResponseError,
    ClnRpcError,
    channel_from_closedchannel,
    channel_from_peerchannel,
    channel_state,
    channels_from_responses,
    node_info_from_getinfo,
    onchain_balance_from_listfunds,
    p2p_from_getinfo,
    parse_msat,
    payment_from_pay,
    payment_from_pay_error,
)

DATA = Path(__file__).parent / "data" / "api_responses" / "cln"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / name).read_text())
    return data


def peer_channels() -> list[dict[str, Any]]:
    return [
        c
        for name in ("listpeerchannels.1.json", "listpeerchannels.2.json")
        for c in load(name)["response"]["channels"]
    ]


def test_every_transcribed_file_names_its_source() -> None:
    for path in DATA.glob("*.json"):
        source = json.loads(path.read_text())["source"]
        assert source["repository"] == "https://github.com/ElementsProject/lightning", path.name
        assert len(source["commit"]) == 40 and source["file"].startswith("doc/schemas/"), path.name


def test_every_documented_channel_state_has_a_normalized_state() -> None:
    documented = set(load("listpeerchannels.states.json")["states"])
    assert documented <= set(CLN_STATES), sorted(documented - set(CLN_STATES))


@pytest.mark.parametrize(
    ("cln_state", "expected"),
    [
        ("CHANNELD_AWAITING_LOCKIN", ChannelState.AWAITING_LOCKIN),
        ("CHANNELD_NORMAL", ChannelState.NORMAL),
        ("CHANNELD_SHUTTING_DOWN", ChannelState.SHUTTING_DOWN),
        ("CLOSINGD_COMPLETE", ChannelState.CLOSING),
        ("AWAITING_UNILATERAL", ChannelState.CLOSING),
        ("FUNDING_SPEND_SEEN", ChannelState.CLOSING),
        ("ONCHAIN", ChannelState.CLOSED),
    ],
)
def test_lifecycle_states_map_to_bolt2_states(cln_state: str, expected: ChannelState) -> None:
    assert channel_state(cln_state) is expected


def test_an_unknown_state_is_a_response_error_naming_it() -> None:
    with pytest.raises(ClnResponseError, match="CHANNELD_TELEPORTING"):
        channel_state("CHANNELD_TELEPORTING")


@pytest.mark.parametrize("raw", peer_channels(), ids=lambda c: f"{c['short_channel_id']}-{c['state']}")
def test_listpeerchannels_entries_normalize_field_by_field(raw: dict[str, Any]) -> None:
    channel = channel_from_peerchannel(raw)
    assert channel.peer_id.hex() == raw["peer_id"]
    assert channel.channel_id.hex() == raw["channel_id"]  # taken as reported (v2 ids are not txid XOR index)
    assert channel.state is CLN_STATES[raw["state"]]
    assert channel.funding_outpoint == OutPoint(raw["funding_txid"], raw["funding_outnum"])
    assert channel.short_channel_id == raw["short_channel_id"]
    assert channel.capacity_sat * 1000 == raw["total_msat"]
    assert channel.local_balance_msat == raw["to_us_msat"]
    assert channel.local_balance_msat + channel.remote_balance_msat == raw["total_msat"]


def test_a_channel_whose_close_was_negotiated_is_closing() -> None:
    states = {
        channel_from_peerchannel(c).state for c in load("listpeerchannels.2.json")["response"]["channels"]
    }
    assert ChannelState.CLOSING in states and ChannelState.NORMAL in states


def test_forgotten_channels_come_from_listclosedchannels_as_closed() -> None:
    for raw in load("listclosedchannels.json")["response"]["closedchannels"]:
        channel = channel_from_closedchannel(raw)
        assert channel.state is ChannelState.CLOSED
        assert channel.local_balance_msat == raw["final_to_us_msat"]
        assert channel.capacity_sat * 1000 == raw["total_msat"]


def test_a_channel_in_both_lists_is_reported_once_in_its_live_state() -> None:
    live = load("listpeerchannels.1.json")["response"]
    closed = {
        "closedchannels": [
            dict(
                load("listclosedchannels.json")["response"]["closedchannels"][0],
                channel_id=live["channels"][0]["channel_id"],
            )
        ]
    }
    channels = channels_from_responses(live, closed)
    assert [c.state for c in channels] == [ChannelState.NORMAL]


def test_getinfo_normalizes_to_node_info() -> None:
    raw = load("getinfo.json")["response"]
    info = node_info_from_getinfo(raw)
    assert info.node_id.hex() == raw["id"]
    assert (info.implementation, info.version, info.block_height) == (
        "cln",
        raw["version"],
        raw["blockheight"],
    )
    assert info.features.hex() == raw["our_features"]["node"]


def test_an_attached_node_is_reached_at_its_first_ip_binding() -> None:
    raw = load("getinfo.json")["response"]
    binding = raw["binding"][0]
    assert p2p_from_getinfo(raw) == (binding["address"], binding["port"])


def test_onchain_balance_counts_confirmed_unreserved_outputs_only() -> None:
    raw = load("listfunds.json")["response"]
    counted = [o for o in raw["outputs"] if o["status"] == "confirmed" and not o["reserved"]]
    assert len(counted) < len(raw["outputs"])  # the example has unconfirmed outputs too
    assert onchain_balance_from_listfunds(raw) == sum(o["amount_msat"] for o in counted) // 1000


def test_a_complete_pay_is_a_succeeded_payment_with_its_preimage() -> None:
    raw = load("pay.1.json")["response"]
    result = payment_from_pay(raw)
    assert result.succeeded and result.failure is None
    assert result.payment_hash.hex() == raw["payment_hash"]
    assert result.preimage is not None and result.preimage.hex() == raw["payment_preimage"]


@pytest.mark.parametrize("code", sorted(PAY_FAILURE_CODES))
def test_documented_pay_error_codes_are_failed_payments(code: int) -> None:
    result = payment_from_pay_error(ClnRpcError("pay", code, "Ran out of routes"), b"\x01" * 32)
    assert not result.succeeded and result.preimage is None
    assert result.failure == f"{code}: Ran out of routes"


def test_other_pay_errors_propagate() -> None:
    error = ClnRpcError("pay", -32602, "Invalid bolt11")
    with pytest.raises(ClnRpcError, match="Invalid bolt11"):
        payment_from_pay_error(error, b"\x01" * 32)


@pytest.mark.parametrize(("raw", "msat"), [(1000, 1000), ("1000msat", 1000), ("0msat", 0)])
def test_msat_amounts_are_integers_or_legacy_msat_strings(raw: object, msat: int) -> None:
    assert parse_msat(raw, "amount_msat") == msat


@pytest.mark.parametrize("raw", ["1000", "1000sat", "-5msat", 1.5, True, None])
def test_anything_else_is_not_an_amount(raw: object) -> None:
    with pytest.raises(ClnResponseError, match="amount_msat"):
        parse_msat(raw, "amount_msat")
