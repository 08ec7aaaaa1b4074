"""LndDriver normalization, checked on responses transcribed from lnd's documentation or built from its
REST API definitions (see each file's `source`). Unit tests of our mapping, not interop."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from harness.drivers.base import ChannelState, OutPoint
from harness.drivers.lnd import (
    LndResponseError,
    channel_from_closed,
    channel_from_open,
    channel_id_from_outpoint,
    channels_from_pending,
    channels_from_responses,
    close_is_pending,
    features_bitfield,
    getinfo_ready,
    invoice_from_add,
    node_info_from_getinfo,
    outpoint_from_channel_point,
    p2p_from_getinfo,
    parse_channel_point,
    parse_sat,
    payment_from_router,
    payment_is_final,
    short_channel_id,
)

DATA = Path(__file__).parent / "data" / "api_responses" / "lnd"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / name).read_text())
    return data


def test_every_file_names_its_source_and_says_whether_it_was_constructed() -> None:
    for path in DATA.glob("*.json"):
        source = json.loads(path.read_text())["source"]
        assert source["repository"] == "https://github.com/lightningnetwork/lnd", path.name
        assert len(source["commit"]) == 40, path.name
        assert source.get("constructed", False) == (source["file"] != "docker/README.md"), path.name


def test_channel_id_is_the_funding_txid_xor_the_output_index() -> None:
    # BOLT 2: funding_output_index alters the last 2 bytes, big-endian, of the txid in wire order
    txid = "00" * 31 + "ff"
    assert channel_id_from_outpoint(OutPoint(txid, 0)) == bytes.fromhex("ff" + "00" * 31)
    assert channel_id_from_outpoint(OutPoint(txid, 0x0102)) == bytes.fromhex("ff" + "00" * 29 + "0102")


def test_short_channel_id_splits_block_tx_and_output() -> None:
    # BOLT 7: 3 bytes block height, 3 bytes transaction index, 2 bytes output index
    assert short_channel_id(str((700_000 << 40) | (1234 << 16) | 1)) == "700000x1234x1"
    assert short_channel_id("0") is None


@pytest.mark.parametrize("name", ["listchannels.1.json", "listchannels.2.json"])
def test_open_channels_normalize_field_by_field(name: str) -> None:
    (raw,) = load(name)["response"]["channels"]
    channel = channel_from_open(raw)
    txid, index = raw["channel_point"].split(":")
    assert channel.state is ChannelState.NORMAL
    assert channel.funding_outpoint == OutPoint(txid, int(index))
    assert channel.channel_id == channel_id_from_outpoint(OutPoint(txid, int(index)))
    assert channel.peer_id.hex() == raw["remote_pubkey"]
    assert channel.capacity_sat == int(raw["capacity"])
    assert channel.local_balance_msat == int(raw["local_balance"]) * 1000
    assert channel.remote_balance_msat == int(raw["remote_balance"]) * 1000
    value = int(raw["chan_id"])
    assert channel.short_channel_id == f"{value >> 40}x{(value >> 16) & 0xFFFFFF}x{value & 0xFFFF}"


def test_a_payment_moves_balance_in_whole_satoshis() -> None:
    before = channel_from_open(load("listchannels.1.json")["response"]["channels"][0])
    after = channel_from_open(load("listchannels.2.json")["response"]["channels"][0])
    sent_sat = int(load("listchannels.2.json")["response"]["channels"][0]["total_satoshis_sent"])
    assert before.local_balance_msat - after.local_balance_msat == sent_sat * 1000
    assert after.remote_balance_msat - before.remote_balance_msat == sent_sat * 1000


@pytest.mark.parametrize(
    ("flags", "state"),
    [
        ("ChanStatusDefault", ChannelState.NORMAL),
        ("ChanStatusLocalCloseInitiator", ChannelState.SHUTTING_DOWN),
        ("ChanStatusCoopBroadcasted|ChanStatusLocalCloseInitiator", ChannelState.CLOSING),
        ("ChanStatusCommitBroadcasted", ChannelState.CLOSING),
    ],
)
def test_open_channel_status_flags_refine_the_state(flags: str, state: ChannelState) -> None:
    raw = dict(load("listchannels.1.json")["response"]["channels"][0], chan_status_flags=flags)
    assert channel_from_open(raw).state is state


def test_each_pending_list_has_its_state() -> None:
    raw = load("pendingchannels.json")["response"]
    by_point = {f"{c.funding_outpoint.txid}:{c.funding_outpoint.vout}": c for c in channels_from_pending(raw)}
    expected = {
        "pending_open_channels": ChannelState.AWAITING_LOCKIN,
        "waiting_close_channels": ChannelState.CLOSING,
        "pending_force_closing_channels": ChannelState.CLOSED,
    }
    for list_name, state in expected.items():
        for entry in raw[list_name]:
            channel = by_point[entry["channel"]["channel_point"]]
            assert channel.state is state, list_name
            assert channel.peer_id.hex() == entry["channel"]["remote_node_pub"]
            assert channel.short_channel_id is None  # PendingChannel has no chan_id


def test_closed_channels_report_our_settled_balance() -> None:
    (raw,) = load("closedchannels.json")["response"]["channels"]
    channel = channel_from_closed(raw)
    assert channel.state is ChannelState.CLOSED
    assert channel.local_balance_msat == int(raw["settled_balance"]) * 1000
    assert channel.local_balance_msat + channel.remote_balance_msat == int(raw["capacity"]) * 1000


def test_a_channel_listed_open_and_closed_is_reported_once_closed() -> None:
    open_channels = load("listchannels.2.json")["response"]
    closed = load("closedchannels.json")["response"]  # the same channel point, closed later
    channels = channels_from_responses(open_channels, {}, closed)
    assert [c.state for c in channels] == [ChannelState.CLOSED]


def test_getinfo_normalizes_and_readiness_needs_synced_to_chain() -> None:
    raw = load("getinfo.json")["response"]
    info = node_info_from_getinfo(raw)
    assert info.node_id.hex() == raw["identity_pubkey"] and info.block_height == raw["block_height"]
    assert getinfo_ready(raw) is True
    assert getinfo_ready(load("getinfo.syncing.json")["response"]) is False


def test_getinfo_features_become_a_bolt9_bitfield() -> None:
    raw = load("getinfo.syncing.json")["response"]
    bitfield = int.from_bytes(features_bitfield(raw["features"]), "big")
    assert {bit for bit in range(bitfield.bit_length()) if bitfield >> bit & 1} == {
        int(b) for b in raw["features"]
    }


def test_an_attached_node_is_reached_at_its_first_uri_or_the_default_port() -> None:
    raw = load("getinfo.syncing.json")["response"]
    host_port = raw["uris"][0].split("@")[1]
    assert p2p_from_getinfo(raw, "127.0.0.1") == (host_port.split(":")[0], int(host_port.split(":")[1]))
    assert p2p_from_getinfo(load("getinfo.json")["response"], "10.0.0.5") == ("10.0.0.5", 9735)


def test_open_channel_sync_answer_is_the_funding_outpoint_in_display_order() -> None:
    raw = load("openchannelsync.json")["response"]
    outpoint = outpoint_from_channel_point(raw)
    assert outpoint.txid == base64.b64decode(raw["funding_txid_bytes"])[::-1].hex()
    listed = load("listchannels.1.json")["response"]["channels"][0]["channel_point"]
    assert f"{outpoint.txid}:{outpoint.vout}" == listed


def test_add_invoice_gives_the_payment_hash_bytes() -> None:
    raw = load("addinvoice.json")["response"]
    invoice = invoice_from_add(raw, 10_000_000)
    assert invoice.payment_hash == base64.b64decode(raw["r_hash"]) and len(invoice.payment_hash) == 32
    assert invoice.bolt11 == raw["payment_request"]


def test_the_router_stream_ends_at_a_final_status() -> None:
    stream = [m["result"] for m in load("router_send.succeeded.json")["stream"]]
    assert [payment_is_final(p) for p in stream] == [False, True]
    result = payment_from_router(stream[-1])
    assert result.succeeded and result.preimage is not None
    assert result.payment_hash.hex() == stream[-1]["payment_hash"]


def test_a_failed_payment_carries_lnds_failure_reason() -> None:
    (message,) = load("router_send.failed.json")["stream"]
    result = payment_from_router(message["result"])
    assert not result.succeeded and result.preimage is None
    assert result.failure == message["result"]["failure_reason"]


def test_a_close_is_under_way_once_close_pending_arrives() -> None:
    (message,) = load("closechannel.json")["stream"]
    assert close_is_pending(message["result"]) and not close_is_pending({})


@pytest.mark.parametrize(("raw", "sat"), [("1005000", 1005000), (12, 12), ("-3", -3)])
def test_int64_amounts_are_json_strings_or_numbers(raw: object, sat: int) -> None:
    assert parse_sat(raw, "capacity") == sat


@pytest.mark.parametrize("raw", ["12.5", "", None, True, "1e3"])
def test_anything_else_is_not_an_amount(raw: object) -> None:
    with pytest.raises(LndResponseError, match="capacity"):
        parse_sat(raw, "capacity")


@pytest.mark.parametrize(
    "text", ["3511ae8a", "3511ae8a52c97d957eaf65f828504e68d0991f0276adff94c6ba91c7f6cd4275", ":0"]
)
def test_a_malformed_channel_point_is_a_response_error(text: str) -> None:
    with pytest.raises(LndResponseError, match="channel point"):
        parse_channel_point(text)
