"""ChannelGraph: every BOLT 7 receiver rule for channel_announcement, channel_update and
node_announcement, each with a message that violates it; pruning; dump/load."""

from __future__ import annotations

import dataclasses
import json

import pytest

from reference_node.gossip.addresses import AddressDescriptor
from reference_node.gossip.announcements import build_node_announcement
from reference_node.gossip.errors import AddressDescriptorError, GraphFormatError, InvalidSignatureError
from reference_node.gossip.flags import BITCOIN_CHAIN_HASH, STALE_CHANNEL_AGE_SECONDS
from reference_node.gossip.graph import ChannelGraph
from reference_node.gossip.persist import dump_graph, load_graph
from reference_node.gossip.records import IgnoreReason
from reference_node.gossip.signing import node_announcement_digest, sign
from reference_node.wire import NodeAnnouncement, ShortChannelId
from reference_node.wire.features import Features
from tests.test_gossip_support import (
    CHAIN,
    NOW,
    FakeChain,
    Party,
    announce,
    direction,
    policy,
    public_channel,
    update,
)

ALICE, BOB, CAROL, DAVE = Party("alice"), Party("bob"), Party("carol"), Party("dave")
SCID = ShortChannelId(700_000, 12, 1)


@pytest.fixture
def chain() -> FakeChain:
    chain = FakeChain()
    chain.fund(ALICE, BOB, SCID)
    return chain


@pytest.fixture
def graph() -> ChannelGraph:
    return ChannelGraph(CHAIN)


def _node_announcement(party: Party, timestamp: int = NOW, alias: str = "") -> NodeAnnouncement:
    return build_node_announcement(
        node_secret=party.node_secret,
        node_id=party.node_id,
        timestamp=timestamp,
        features=Features(),
        alias=alias,
    )


# -- channel_announcement -------------------------------------------------------------------------------


def test_valid_channel_announcement_is_stored_with_the_output_amount(
    graph: ChannelGraph, chain: FakeChain
) -> None:
    result = graph.receive_channel_announcement(announce(ALICE, BOB, SCID), lookup=chain.lookup, now=NOW)
    assert result.accepted
    record = graph.channel(SCID)
    assert record is not None and record.capacity_sat == 1_000_000 and record.public


def test_announcement_is_relayed_only_with_its_first_update(graph: ChannelGraph, chain: FakeChain) -> None:
    msg = announce(ALICE, BOB, SCID)
    assert graph.receive_channel_announcement(msg, lookup=chain.lookup, now=NOW).to_relay == ()
    first = update(ALICE, BOB, SCID)
    assert graph.receive_channel_update(first, now=NOW).to_relay == (msg, first)
    second = update(BOB, ALICE, SCID)
    assert graph.receive_channel_update(second, now=NOW).to_relay == (second,)


def test_unknown_chain_hash_is_ignored(graph: ChannelGraph, chain: FakeChain) -> None:
    msg = announce(ALICE, BOB, SCID, chain_hash=BITCOIN_CHAIN_HASH)
    result = graph.receive_channel_announcement(msg, lookup=chain.lookup, now=NOW)
    assert result.reason == IgnoreReason.UNKNOWN_CHAIN


def test_missing_funding_output_is_ignored(graph: ChannelGraph) -> None:
    result = graph.receive_channel_announcement(
        announce(ALICE, BOB, SCID), lookup=FakeChain().lookup, now=NOW
    )
    assert result.reason == IgnoreReason.FUNDING_OUTPUT_NOT_FOUND


def test_output_not_paying_the_bitcoin_keys_is_ignored(graph: ChannelGraph) -> None:
    chain = FakeChain()
    chain.fund(ALICE, CAROL, SCID)  # the output is a 2-of-2 of other keys
    result = graph.receive_channel_announcement(announce(ALICE, BOB, SCID), lookup=chain.lookup, now=NOW)
    assert result.reason == IgnoreReason.NOT_FUNDING_OUTPUT


def test_spent_output_is_ignored(graph: ChannelGraph, chain: FakeChain) -> None:
    chain.outputs[SCID] = dataclasses.replace(chain.outputs[SCID], spent=True)
    result = graph.receive_channel_announcement(announce(ALICE, BOB, SCID), lookup=chain.lookup, now=NOW)
    assert result.reason == IgnoreReason.FUNDING_SPENT


def test_fewer_than_six_confirmations_is_ignored_unless_within_slack(chain: FakeChain) -> None:
    chain.outputs[SCID] = dataclasses.replace(chain.outputs[SCID], confirmations=5)
    strict = ChannelGraph(CHAIN)
    result = strict.receive_channel_announcement(announce(ALICE, BOB, SCID), lookup=chain.lookup, now=NOW)
    assert result.reason == IgnoreReason.TOO_FEW_CONFIRMATIONS
    lenient = ChannelGraph(CHAIN, confirmation_slack=1)
    assert lenient.receive_channel_announcement(
        announce(ALICE, BOB, SCID), lookup=chain.lookup, now=NOW
    ).accepted


def test_bad_signature_raises_a_warning(graph: ChannelGraph, chain: FakeChain) -> None:
    msg = announce(ALICE, BOB, SCID)
    bad = dataclasses.replace(msg, node_signature_1=msg.node_signature_2)
    with pytest.raises(InvalidSignatureError):
        graph.receive_channel_announcement(bad, lookup=chain.lookup, now=NOW)
    assert graph.channel(SCID) is None


def test_misordered_node_ids_are_ignored(graph: ChannelGraph, chain: FakeChain) -> None:
    msg = announce(ALICE, BOB, SCID)
    swapped = dataclasses.replace(
        msg,
        node_id_1=msg.node_id_2,
        node_id_2=msg.node_id_1,
        bitcoin_key_1=msg.bitcoin_key_2,
        bitcoin_key_2=msg.bitcoin_key_1,
    )
    result = graph.receive_channel_announcement(swapped, lookup=chain.lookup, now=NOW)
    assert result.reason == IgnoreReason.NODE_IDS_NOT_ORDERED


def test_second_announcement_of_the_same_channel_is_a_duplicate(
    graph: ChannelGraph, chain: FakeChain
) -> None:
    msg = announce(ALICE, BOB, SCID)
    assert graph.receive_channel_announcement(msg, lookup=chain.lookup, now=NOW).accepted
    result = graph.receive_channel_announcement(msg, lookup=chain.lookup, now=NOW)
    assert result.reason == IgnoreReason.DUPLICATE_ANNOUNCEMENT


def test_conflicting_announcement_blacklists_all_four_nodes_and_forgets_their_channels(
    graph: ChannelGraph,
) -> None:
    # The same output announced by two node pairs: only possible if keys leaked (the chain reports the
    # output as paying whichever pair asks, like a lookup that was tricked).
    chain = FakeChain()
    chain.fund(ALICE, BOB, SCID)
    other_scid = ShortChannelId(700_001, 1, 0)
    public_channel(graph, chain, ALICE, DAVE, other_scid)
    assert graph.receive_channel_announcement(
        announce(ALICE, BOB, SCID), lookup=chain.lookup, now=NOW
    ).accepted
    chain.fund(CAROL, DAVE, SCID)
    result = graph.receive_channel_announcement(announce(CAROL, DAVE, SCID), lookup=chain.lookup, now=NOW)
    assert result.reason == IgnoreReason.CONFLICTING_ANNOUNCEMENT
    assert all(graph.is_blacklisted(p.node_id) for p in (ALICE, BOB, CAROL, DAVE))
    assert graph.channel(SCID) is None and graph.channel(other_scid) is None
    again = graph.receive_channel_announcement(
        announce(ALICE, DAVE, other_scid), lookup=chain.lookup, now=NOW
    )
    assert again.reason == IgnoreReason.BLACKLISTED_NODE


def test_unknown_even_feature_makes_the_channel_unroutable(graph: ChannelGraph, chain: FakeChain) -> None:
    msg = announce(ALICE, BOB, SCID, features=Features.from_bits([200]))
    assert graph.receive_channel_announcement(msg, lookup=chain.lookup, now=NOW).accepted
    record = graph.channel(SCID)
    assert record is not None and record.has_unknown_even_feature()


# -- channel_update -------------------------------------------------------------------------------------


@pytest.fixture
def announced(graph: ChannelGraph, chain: FakeChain) -> ChannelGraph:
    assert graph.receive_channel_announcement(
        announce(ALICE, BOB, SCID), lookup=chain.lookup, now=NOW
    ).accepted
    return graph


def test_update_for_unknown_channel_is_ignored(graph: ChannelGraph) -> None:
    result = graph.receive_channel_update(update(ALICE, BOB, SCID), now=NOW)
    assert result.reason == IgnoreReason.UNKNOWN_CHANNEL


def test_update_signed_by_the_other_end_raises_a_warning(announced: ChannelGraph) -> None:
    forged = dataclasses.replace(update(ALICE, BOB, SCID), signature=update(BOB, ALICE, SCID).signature)
    with pytest.raises(InvalidSignatureError):
        announced.receive_channel_update(forged, now=NOW)


def test_update_is_stored_by_direction(announced: ChannelGraph) -> None:
    msg = update(ALICE, BOB, SCID, channel_policy=policy(base=7))
    assert announced.receive_channel_update(msg, now=NOW).accepted
    record = announced.channel(SCID)
    assert record is not None
    stored = record.policy(direction(ALICE, BOB))
    assert stored is not None and stored.fee_base_msat == 7
    assert record.policy(direction(BOB, ALICE)) is None


def test_update_for_another_chain_is_ignored(announced: ChannelGraph) -> None:
    msg = update(ALICE, BOB, SCID, chain_hash=BITCOIN_CHAIN_HASH)
    assert announced.receive_channel_update(msg, now=NOW).reason == IgnoreReason.UNKNOWN_CHAIN


def test_same_timestamp_same_fields_is_ignored(announced: ChannelGraph) -> None:
    msg = update(ALICE, BOB, SCID)
    assert announced.receive_channel_update(msg, now=NOW).accepted
    assert announced.receive_channel_update(msg, now=NOW).reason == IgnoreReason.SAME_TIMESTAMP


def test_same_timestamp_different_fields_is_ignored(announced: ChannelGraph) -> None:
    assert announced.receive_channel_update(update(ALICE, BOB, SCID), now=NOW).accepted
    changed = update(ALICE, BOB, SCID, channel_policy=policy(base=1))
    assert (
        announced.receive_channel_update(changed, now=NOW).reason
        == IgnoreReason.SAME_TIMESTAMP_DIFFERENT_FIELDS
    )


def test_older_update_is_ignored_and_newer_replaces(announced: ChannelGraph) -> None:
    assert announced.receive_channel_update(update(ALICE, BOB, SCID, timestamp=NOW), now=NOW).accepted
    older = update(ALICE, BOB, SCID, timestamp=NOW - 1)
    assert announced.receive_channel_update(older, now=NOW).reason == IgnoreReason.OLDER_TIMESTAMP
    newer = update(ALICE, BOB, SCID, timestamp=NOW + 1, channel_policy=policy(base=5))
    assert announced.receive_channel_update(newer, now=NOW).accepted
    record = announced.channel(SCID)
    assert record is not None and record.update(direction(ALICE, BOB)) == newer


def test_update_far_in_the_future_is_discarded(announced: ChannelGraph) -> None:
    msg = update(ALICE, BOB, SCID, timestamp=NOW + 10 * 24 * 3600)
    assert announced.receive_channel_update(msg, now=NOW).reason == IgnoreReason.FUTURE_TIMESTAMP


def test_spent_channel_accepts_only_disabling_updates(announced: ChannelGraph) -> None:
    announced.mark_spent(SCID, 800_000)
    enabled = update(ALICE, BOB, SCID)
    assert announced.receive_channel_update(enabled, now=NOW).reason == IgnoreReason.SPENT_NOT_DISABLED
    disabled = update(ALICE, BOB, SCID, disabled=True)
    result = announced.receive_channel_update(disabled, now=NOW)
    assert result.accepted and result.to_relay == (disabled,)


def test_dont_forward_update_is_kept_but_not_relayed(announced: ChannelGraph) -> None:
    result = announced.receive_channel_update(update(ALICE, BOB, SCID, dont_forward=True), now=NOW)
    assert result.accepted and result.to_relay == ()


def test_updates_for_our_private_channel_are_accepted_and_not_relayed(graph: ChannelGraph) -> None:
    graph.add_local_channel(SCID, ALICE.node_id, BOB.node_id, 1_000_000)
    result = graph.receive_channel_update(update(BOB, ALICE, SCID, dont_forward=True), now=NOW)
    assert result.accepted and result.to_relay == ()


# -- node_announcement ----------------------------------------------------------------------------------


def test_node_announcement_for_a_node_without_channel_is_ignored(graph: ChannelGraph) -> None:
    assert graph.receive_node_announcement(_node_announcement(ALICE)).reason == IgnoreReason.UNKNOWN_NODE


def test_node_announcement_needs_a_newer_timestamp(announced: ChannelGraph) -> None:
    assert announced.receive_node_announcement(_node_announcement(ALICE, NOW)).accepted
    same = _node_announcement(ALICE, NOW, alias="changed")
    assert announced.receive_node_announcement(same).reason == IgnoreReason.OLDER_TIMESTAMP
    newer = _node_announcement(ALICE, NOW + 1, alias="changed")
    assert announced.receive_node_announcement(newer).accepted
    node = announced.node(ALICE.node_id)
    assert node is not None and node.announcement == newer


def test_node_announcement_with_a_bad_signature_raises_a_warning(announced: ChannelGraph) -> None:
    forged = dataclasses.replace(_node_announcement(ALICE), timestamp=NOW + 5)
    with pytest.raises(InvalidSignatureError):
        announced.receive_node_announcement(forged)


def test_node_announcement_with_truncated_addresses_raises_a_warning(announced: ChannelGraph) -> None:
    msg = _node_announcement(ALICE)
    bad = dataclasses.replace(msg, addresses=AddressDescriptor.ipv4("203.0.113.5", 9735).encode()[:-1])
    # Re-signed: the signature is valid, the descriptor is not.
    resigned = dataclasses.replace(bad, signature=sign(ALICE.node_secret, node_announcement_digest(bad)))
    with pytest.raises(AddressDescriptorError):
        announced.receive_node_announcement(resigned)


def test_node_announcement_with_two_dns_names_is_kept_but_not_forwarded(announced: ChannelGraph) -> None:
    two = AddressDescriptor.dns("a.example", 1).encode() + AddressDescriptor.dns("b.example", 1).encode()
    unsigned = dataclasses.replace(_node_announcement(ALICE), addresses=two)
    msg = dataclasses.replace(unsigned, signature=sign(ALICE.node_secret, node_announcement_digest(unsigned)))
    result = announced.receive_node_announcement(msg)
    assert result.accepted and result.to_relay == ()


# -- pruning and persistence ----------------------------------------------------------------------------


def test_spent_channel_is_forgotten_after_72_confirmations(announced: ChannelGraph) -> None:
    announced.mark_spent(SCID, 800_000)
    assert announced.forget_spent(800_070) == []
    assert announced.forget_spent(800_071) == [SCID]
    assert announced.channel(SCID) is None


def test_stale_channel_is_pruned_when_either_direction_is_two_weeks_old(chain: FakeChain) -> None:
    graph = ChannelGraph(CHAIN)
    public_channel(graph, chain, ALICE, BOB, SCID, timestamp=NOW)
    assert graph.receive_channel_update(update(ALICE, BOB, SCID, timestamp=NOW + 100), now=NOW + 100).accepted
    assert graph.prune_stale(NOW + STALE_CHANNEL_AGE_SECONDS) == []
    assert graph.prune_stale(NOW + STALE_CHANNEL_AGE_SECONDS + 1) == [SCID]


def test_nodes_without_channels_are_pruned(announced: ChannelGraph) -> None:
    assert announced.receive_node_announcement(_node_announcement(ALICE)).accepted
    announced.remove_channel(SCID)
    assert announced.node(ALICE.node_id) is None


def test_dump_and_load_round_trip_through_json(chain: FakeChain) -> None:
    graph = ChannelGraph(CHAIN)
    public_channel(graph, chain, ALICE, BOB, SCID)
    assert graph.receive_node_announcement(_node_announcement(ALICE)).accepted
    graph.add_local_channel(ShortChannelId(1, 2, 3), ALICE.node_id, CAROL.node_id, 5000)
    graph.mark_spent(SCID, 800_000)
    dumped = json.loads(json.dumps(dump_graph(graph)))
    loaded = load_graph(dumped)
    assert list(loaded.channels()) == list(graph.channels())
    assert list(loaded.nodes()) == list(graph.nodes())
    assert dump_graph(loaded) == dumped


def test_load_rejects_a_corrupt_snapshot(chain: FakeChain) -> None:
    graph = ChannelGraph(CHAIN)
    public_channel(graph, chain, ALICE, BOB, SCID)
    dumped = dump_graph(graph)
    dumped["channels"][0]["announcement"] = "0102"
    with pytest.raises(GraphFormatError):
        load_graph(dumped)


def test_same_update_with_flipped_s_is_a_plain_duplicate(announced: ChannelGraph) -> None:
    msg = update(ALICE, BOB, SCID)
    assert announced.receive_channel_update(msg, now=NOW).accepted
    order = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    s = int.from_bytes(msg.signature[32:], "big")
    flipped = dataclasses.replace(msg, signature=msg.signature[:32] + (order - s).to_bytes(32, "big"))
    assert announced.receive_channel_update(flipped, now=NOW).reason == IgnoreReason.SAME_TIMESTAMP
