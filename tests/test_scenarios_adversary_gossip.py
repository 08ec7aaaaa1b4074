"""The BOLT 7 adversary steps (harness/scenarios/steps/adversary_gossip.py and gossip_observe.py): the
gossip they build is what they claim (signatures checked with libsecp256k1 directly, not with the
reference node's verifier), their checks of the node's replies catch each rule broken, and, run against
the in-process reference node, each expectation step fails when the node did what it should not."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import textwrap
from pathlib import Path

import pytest
from coincurve import PublicKey
from coincurve.ecdsa import cdata_to_der, deserialize_compact

from harness.drivers.targets import TargetSpec
from harness.requirements import load_catalog
from harness.scenarios import RunSettings, Status, load_scenario, run_scenario
from harness.scenarios.steps.adversary_gossip import (
    FOREIGN_CHAIN,
    REGTEST,
    AnnouncementFault,
    GossipChannel,
    NodeAnnouncementFault,
    UpdateFault,
    build_channel_announcement,
    build_gossip_node_announcement,
    build_gossip_update,
    channel_keys,
)
from harness.scenarios.steps.gossip_observe import QueryReply, check_query_reply, check_range_replies
from harness.scenarios.steps.gossip_origin import (
    address_problems,
    channel_announcement_problems,
    channel_update_problems,
    node_announcement_problems,
)
from reference_node.node import Node, NodeConfig
from reference_node.nodekey import Entropy, node_key_from_seed
from reference_node.scripted_peer import ScriptedPeer, ScriptTimeout
from reference_node.wire import (
    ChannelAnnouncement,
    Ping,
    Pong,
    QueryChannelRange,
    ReplyChannelRange,
    ReplyShortChannelIdsEnd,
    ShortChannelId,
    encode_message,
)
from reference_node.wire.gossip_encoding import encode_short_ids

CATALOG = load_catalog()
SCID = ShortChannelId(120, 1, 0)
BASE = 1_700_000_000


def _channel() -> GossipChannel:
    node_secrets, bitcoin_secrets = channel_keys(7, "c")
    return GossipChannel("c", node_secrets, bitcoin_secrets, SCID, 100_000, BASE)


def _verifies(pubkey: bytes, compact: bytes, digest: bytes) -> bool:
    der = cdata_to_der(deserialize_compact(compact))
    return PublicKey(pubkey).verify(der, digest, hasher=None)


def _announcement_digest(msg: ChannelAnnouncement) -> bytes:
    # BOLT 7: double-SHA256 of the message from offset 256 (after the 2-byte type and 4 signatures)
    return hashlib.sha256(hashlib.sha256(encode_message(msg)[2 + 256 :]).digest()).digest()


def _signatures_valid(msg: ChannelAnnouncement) -> list[bool]:
    h = _announcement_digest(msg)
    return [
        _verifies(msg.node_id_1, msg.node_signature_1, h),
        _verifies(msg.node_id_2, msg.node_signature_2, h),
        _verifies(msg.bitcoin_key_1, msg.bitcoin_signature_1, h),
        _verifies(msg.bitcoin_key_2, msg.bitcoin_signature_2, h),
    ]


def test_channel_keys_put_node_id_1_first() -> None:
    channel = _channel()
    assert channel.node_id(0) < channel.node_id(1)


def test_a_sound_channel_announcement_has_four_valid_signatures() -> None:
    msg = build_channel_announcement(_channel(), AnnouncementFault.NONE)
    assert _signatures_valid(msg) == [True, True, True, True]
    assert msg.chain_hash == REGTEST and msg.node_id_1 < msg.node_id_2


@pytest.mark.parametrize(
    ("fault", "valid"),
    [
        (AnnouncementFault.BAD_NODE_SIGNATURE, [True, False, True, True]),
        (AnnouncementFault.BAD_BITCOIN_SIGNATURE, [True, True, False, True]),
        (AnnouncementFault.WRONG_CHAIN_HASH, [True, True, True, True]),
        (AnnouncementFault.UNKNOWN_EVEN_FEATURE, [True, True, True, True]),
        (AnnouncementFault.WRONG_BITCOIN_KEY, [True, True, True, True]),
        (AnnouncementFault.OTHER_NODE_IDS, [True, True, True, True]),
    ],
)
def test_each_announcement_fault_spoils_only_what_it_names(
    fault: AnnouncementFault, valid: list[bool]
) -> None:
    channel = _channel()
    msg = build_channel_announcement(channel, fault)
    assert _signatures_valid(msg) == valid
    assert (msg.chain_hash == FOREIGN_CHAIN) is (fault is AnnouncementFault.WRONG_CHAIN_HASH)
    assert (msg.bitcoin_key_2 != channel.bitcoin_key(1)) is (fault is AnnouncementFault.WRONG_BITCOIN_KEY)
    assert (msg.features != b"") is (fault is AnnouncementFault.UNKNOWN_EVEN_FEATURE)
    strangers = {msg.node_id_1, msg.node_id_2}.isdisjoint({channel.node_id(0), channel.node_id(1)})
    assert strangers is (fault is AnnouncementFault.OTHER_NODE_IDS)
    assert {msg.bitcoin_key_1, msg.bitcoin_key_2} <= {channel.bitcoin_key(0), channel.bitcoin_key(1)} or (
        fault is AnnouncementFault.WRONG_BITCOIN_KEY
    )


def _update_digest_valid(node_id: bytes, raw: bytes) -> bool:
    digest = hashlib.sha256(hashlib.sha256(raw[2 + 64 :]).digest()).digest()
    return _verifies(node_id, raw[2 : 2 + 64], digest)


@pytest.mark.parametrize("node", [1, 2])
def test_a_channel_update_is_signed_by_the_node_its_direction_names(node: int) -> None:
    channel = _channel()
    update = build_gossip_update(channel, node, BASE + 1, 1000, None, UpdateFault.NONE)
    assert update.channel_flags & 1 == node - 1
    assert _update_digest_valid(channel.node_id(node - 1), encode_message(update))
    bad = build_gossip_update(channel, node, BASE + 1, 1000, None, UpdateFault.BAD_SIGNATURE)
    assert not _update_digest_valid(channel.node_id(node - 1), encode_message(bad))


def test_node_announcement_faults() -> None:
    channel = _channel()
    sound = build_gossip_node_announcement(channel, 1, BASE, "x", NodeAnnouncementFault.NONE)
    assert _update_digest_valid(channel.node_id(0), encode_message(sound))
    bad = build_gossip_node_announcement(channel, 1, BASE, "x", NodeAnnouncementFault.BAD_SIGNATURE)
    assert not _update_digest_valid(channel.node_id(0), encode_message(bad))
    short = build_gossip_node_announcement(channel, 1, BASE, "x", NodeAnnouncementFault.ADDRLEN_SHORT)
    assert _update_digest_valid(channel.node_id(0), encode_message(short))
    assert short.addresses[0] == 1 and len(short.addresses) == 5  # type 1 needs 1 + 6 bytes


def _end(full_information: int = 1) -> ReplyShortChannelIdsEnd:
    return ReplyShortChannelIdsEnd(chain_hash=REGTEST, full_information=full_information)


def test_a_query_reply_missing_the_announcement_is_missing_not_wrong() -> None:
    verdict = check_query_reply(
        QueryReply((), _end()),
        _channel(),
        channel_announcement=True,
        update_timestamps=[],
        node_announcement_timestamps=[],
    )
    assert verdict.missing and not verdict.wrong


def test_a_query_reply_with_an_ignored_announcement_is_wrong() -> None:
    channel = _channel()
    announcement = build_channel_announcement(channel, AnnouncementFault.NONE)
    verdict = check_query_reply(
        QueryReply((announcement,), _end()),
        channel,
        channel_announcement=False,
        update_timestamps=[],
        node_announcement_timestamps=[],
    )
    assert verdict.wrong and "should have ignored" in str(verdict)


def test_a_query_reply_without_full_information_or_with_nodes_first_is_wrong() -> None:
    channel = _channel()
    announcement = build_channel_announcement(channel, AnnouncementFault.NONE)
    node = build_gossip_node_announcement(channel, 1, BASE, "x", NodeAnnouncementFault.NONE)
    verdict = check_query_reply(
        QueryReply((node, announcement), _end(0)),
        channel,
        channel_announcement=True,
        update_timestamps=[],
        node_announcement_timestamps=[BASE],
    )
    text = str(verdict)
    assert "full_information = 0" in text and "before channel messages" in text


def _reply(first: int, count: int, complete: int, ids: list[ShortChannelId]) -> ReplyChannelRange:
    return ReplyChannelRange(
        chain_hash=REGTEST,
        first_blocknum=first,
        number_of_blocks=count,
        sync_complete=complete,
        encoded_short_ids=encode_short_ids(ids),
    )


def test_range_replies_covering_the_query_pass_and_list_their_ids() -> None:
    query = QueryChannelRange(REGTEST, 100, 50)
    problems, ids = check_range_replies(query, [_reply(100, 25, 0, [SCID]), _reply(125, 25, 1, [])])
    assert problems == [] and ids == {SCID}


@pytest.mark.parametrize(
    ("replies", "problem"),
    [
        ([_reply(101, 49, 1, [])], "after the query's"),
        ([_reply(100, 40, 1, [])], "before the query's end"),
        ([_reply(100, 50, 0, [])], "sync_complete = 0"),
        ([_reply(100, 25, 1, []), _reply(125, 25, 1, [])], "not the final one"),
        ([_reply(100, 30, 0, []), _reply(90, 60, 1, [])], "went backwards"),
        ([_reply(100, 50, 1, [ShortChannelId(99, 0, 0)])], "outside the reply's blocks"),
    ],
)
def test_each_broken_range_rule_is_reported(replies: list[ReplyChannelRange], problem: str) -> None:
    problems, _ = check_range_replies(QueryChannelRange(REGTEST, 100, 50), replies)
    assert any(problem in p for p in problems), problems


def test_scripted_peer_receive_returns_the_next_item_skipping_the_named_ones() -> None:
    async def main() -> None:
        node = Node(node_key_from_seed(b"target"), NodeConfig(), Entropy(b"target"))
        host, port = await node.start("127.0.0.1", 0)
        try:
            peer = await ScriptedPeer.connect(host, port, node.node_id, entropy=Entropy(b"script"))
            await peer.exchange_init(networks=[REGTEST], timeout_s=5)
            await peer.send(Ping(num_pong_bytes=3, ignored=b""))
            with pytest.raises(ScriptTimeout):
                await peer.receive(0.5)  # the pong is keep-alive: skipped by default
            await peer.send(Ping(num_pong_bytes=3, ignored=b""))
            item = await peer.receive(5, skip=())
            assert isinstance(item, Pong) and len(item.ignored) == 3
            await peer.close()
        finally:
            await node.stop()

    asyncio.run(main())


# -- against the in-process reference node --------------------------------------------------------------

_HEADER = """\
name: gossip-step-check
description: a check of the gossip steps
nodes:
  peer:
    implementation: scripted
    options: {features: "100008805182"}
  target:
    implementation: reference
    options: {gossip: true}
"""


def _run(tmp_path: Path, requirements: list[str], steps: str) -> tuple[Status, list[str]]:
    path = tmp_path / "scenario.yaml"
    body = _HEADER + f"requirements: {requirements}\nsteps:\n" + textwrap.indent(textwrap.dedent(steps), "  ")
    path.write_text(body)
    scenario = load_scenario(path, CATALOG)
    settings = RunSettings(target=TargetSpec("reference"), seed=5, workdir=tmp_path / "run")
    result = asyncio.run(run_scenario(scenario, settings))
    return result.status, [s.detail for s in result.steps]


_ANNOUNCED = """\
- connect: {peer: peer, to: target}
- gossip_channel: {name: chan, node: target}
- send_channel_announcement: {peer: peer, channel: chan}
- send_channel_update: {peer: peer, channel: chan, node: 1}
"""


def test_expect_query_reply_fails_when_the_node_kept_what_it_should_have_ignored(tmp_path: Path) -> None:
    status, details = _run(
        tmp_path,
        ["bolt07-channel_announcement-receiver-must-02"],
        _ANNOUNCED
        + "- expect_query_reply: {peer: peer, channel: chan, channel_announcement: false}\n"
        + "  evidences: [bolt07-channel_announcement-receiver-must-02]\n",
    )
    assert status is Status.FAIL
    assert "should have ignored" in details[-1]


def test_expect_channel_range_reply_fails_when_a_channel_is_listed_that_should_not_be(tmp_path: Path) -> None:
    status, details = _run(
        tmp_path,
        ["bolt07-query_channel_range-receiver-must-01"],
        _ANNOUNCED
        + "- expect_channel_range_reply: {peer: peer, not_listed: [chan]}\n"
        + "  evidences: [bolt07-query_channel_range-receiver-must-01]\n",
    )
    assert status is Status.FAIL
    assert "chan" in details[-1] and "is listed" in details[-1]


def test_expect_gossip_dump_fails_when_a_channel_is_sent_that_should_not_be(tmp_path: Path) -> None:
    status, details = _run(
        tmp_path,
        ["bolt07-gossip_timestamp_filter-receiver-must_not-01"],
        _ANNOUNCED
        + "- expect_gossip_dump: {peer: peer, channels: [chan], not_sent: [chan]}\n"
        + "  evidences: [bolt07-gossip_timestamp_filter-receiver-must_not-01]\n",
    )
    assert status is Status.FAIL
    assert "was sent" in details[-1]


def test_reference_node_warns_and_closes_on_a_channel_update_with_an_invalid_signature(
    tmp_path: Path,
) -> None:
    # BOLT 7 channel_update receiver: "SHOULD send a `warning` and close the connection" (the reference
    # node used to warn only)
    status, details = _run(
        tmp_path,
        ["bolt07-channel_update-receiver-should-02"],
        _ANNOUNCED
        + "- send_channel_update: {peer: peer, channel: chan, node: 2, fault: bad_signature}\n"
        + "- expect_gossip_warning: {peer: peer}\n"
        + "- expect_disconnect: {peer: peer, timeout_s: 5}\n"
        + "  evidences: [bolt07-channel_update-receiver-should-02]\n",
    )
    assert status is Status.PASS, details


# -- origin rules (gossip_origin.py) --------------------------------------------------------------------


def test_sound_gossip_obeys_every_origin_rule() -> None:
    channel = _channel()
    announcement = build_channel_announcement(channel, AnnouncementFault.NONE)
    update = build_gossip_update(channel, 1, BASE, 1000, None, UpdateFault.NONE)
    node = build_gossip_node_announcement(channel, 1, BASE, "alias", NodeAnnouncementFault.NONE)
    assert channel_announcement_problems(announcement) == []
    assert channel_update_problems(update, announcement, channel.node_id(0), 100_000_000) == []
    assert node_announcement_problems(node) == []


def test_origin_channel_announcement_faults_are_named() -> None:
    spoiled = build_channel_announcement(_channel(), AnnouncementFault.BAD_BITCOIN_SIGNATURE)
    assert channel_announcement_problems(spoiled) == ["bitcoin_signature_1 does not sign h"]
    padded = dataclasses.replace(
        build_channel_announcement(_channel(), AnnouncementFault.NONE), features=b"\x00"
    )
    assert any("minimum length" in p for p in channel_announcement_problems(padded))


def test_origin_channel_update_faults_are_named() -> None:
    channel = _channel()
    announcement = build_channel_announcement(channel, AnnouncementFault.NONE)
    from_node_2 = build_gossip_update(channel, 2, BASE, 1000, None, UpdateFault.NONE)
    problems = channel_update_problems(from_node_2, announcement, channel.node_id(0), None)
    assert any("direction bit 1" in p for p in problems) and any("signature" in p for p in problems)
    too_big = build_gossip_update(channel, 1, BASE, 1000, None, UpdateFault.NONE)
    assert any(
        "exceeds the capacity" in p
        for p in channel_update_problems(too_big, announcement, channel.node_id(0), 1)
    )
    flagged = dataclasses.replace(too_big, message_flags=0x81, timestamp=0)
    problems = channel_update_problems(flagged, announcement, channel.node_id(0), None)
    assert any("unassigned flag bits" in p for p in problems) and any("timestamp is 0" in p for p in problems)


@pytest.mark.parametrize(
    ("addresses", "problem"),
    [
        (bytes.fromhex("02") + bytes(16) + b"\x26\x07" + bytes.fromhex("01c00002012607"), "ascending order"),
        (bytes.fromhex("01c0000201") + b"\x00\x00", "port 0"),
        (b"\x05\x01a\x26\x07\x05\x01b\x26\x07", "more than one DNS hostname"),
        (b"\x00", "zero-typed"),
        (b"\x03" + bytes(10) + b"\x26\x07", "Tor v2"),
        (b"\x05\x02\xc3\xa9\x26\x07", "not ASCII"),
        (b"\x01\xc0\x00", "cuts the type 1 descriptor"),
    ],
)
def test_origin_address_faults_are_named(addresses: bytes, problem: str) -> None:
    assert any(problem in p for p in address_problems(addresses)), address_problems(addresses)


def test_origin_alias_with_bytes_after_its_padding_is_named() -> None:
    node = build_gossip_node_announcement(_channel(), 1, BASE, "a", NodeAnnouncementFault.NONE)
    spoiled = dataclasses.replace(node, alias=b"a\x00b" + bytes(29))
    assert any("after the first zero" in p for p in node_announcement_problems(spoiled))


def test_expect_announcement_signatures_fails_when_none_came(tmp_path: Path) -> None:
    path = tmp_path / "scenario.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            name: no-announcement-signatures
            description: a private channel gets no announcement_signatures
            nodes:
              target: {implementation: reference, options: {gossip: true}}
              peer: {implementation: reference, options: {gossip: true}}
            requirements: [bolt07-announcement_signatures-node-must-01]
            steps:
              - fund: {node: peer, amount_sat: 1000000}
              - connect: {peer: peer, to: target}
              - open_channel: {opener: peer, to: target, amount_sat: 300000, announce: false, name: private}
              - mine_synced: {nodes: [target, peer], blocks: 6}
              - expect_announcement_signatures: {node: peer, channel: private, timeout_s: 2}
                evidences: [bolt07-announcement_signatures-node-must-01]
            """
        )
    )
    settings = RunSettings(target=TargetSpec("reference"), seed=5, workdir=tmp_path / "run")
    result = asyncio.run(run_scenario(load_scenario(path, CATALOG), settings))
    assert result.status is Status.FAIL
    assert "no announcement_signatures" in result.steps[-1].detail
