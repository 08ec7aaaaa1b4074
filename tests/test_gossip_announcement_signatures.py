"""announcement_signatures exchange: each side produces its own, checks the peer's, and both assemble
the same, fully valid channel_announcement."""

from __future__ import annotations

import dataclasses

import pytest

from reference_node.gossip.announcement_signatures import (
    AnnouncementInfo,
    complete_channel_announcement,
    make_announcement_signatures,
)
from reference_node.gossip.errors import (
    AnnouncementSignaturesError,
    InvalidSignatureError,
    NotEnoughConfirmationsError,
    ShortChannelIdMismatchError,
)
from reference_node.gossip.graph import ChannelGraph
from reference_node.gossip.signing import verify_channel_announcement
from reference_node.wire import AnnouncementSignatures, ShortChannelId, decode_message, encode_message
from reference_node.wire.features import Features
from tests.test_gossip_support import CHAIN, NOW, FakeChain, Party

ALICE, BOB = Party("alice"), Party("bob")
SCID = ShortChannelId(700_000, 12, 1)
CHANNEL_ID = bytes(range(32))


def _info(local: Party, remote: Party, confirmations: int = 6) -> AnnouncementInfo:
    return AnnouncementInfo(
        channel_id=CHANNEL_ID,
        short_channel_id=SCID,
        chain_hash=CHAIN,
        local_node_id=local.node_id,
        remote_node_id=remote.node_id,
        local_funding_pubkey=local.funding_pubkey,
        remote_funding_pubkey=remote.funding_pubkey,
        features=Features(),
        funding_confirmations=confirmations,
    )


def _sigs(local: Party, remote: Party) -> AnnouncementSignatures:
    return make_announcement_signatures(
        _info(local, remote), node_secret=local.node_secret, funding_secret=local.funding_secret
    )


def test_both_sides_assemble_the_same_valid_announcement() -> None:
    alice_sigs, bob_sigs = _sigs(ALICE, BOB), _sigs(BOB, ALICE)
    on_alice = complete_channel_announcement(_info(ALICE, BOB), alice_sigs, bob_sigs)
    on_bob = complete_channel_announcement(_info(BOB, ALICE), bob_sigs, alice_sigs)
    assert encode_message(on_alice) == encode_message(on_bob)
    verify_channel_announcement(on_alice)


def test_assembled_announcement_is_accepted_by_another_node() -> None:
    announcement = complete_channel_announcement(_info(ALICE, BOB), _sigs(ALICE, BOB), _sigs(BOB, ALICE))
    chain = FakeChain()
    chain.fund(ALICE, BOB, SCID)
    graph = ChannelGraph(CHAIN)
    wire_copy = decode_message(encode_message(announcement))
    assert graph.receive_channel_announcement(wire_copy, lookup=chain.lookup, now=NOW).accepted  # type: ignore[arg-type]


def test_no_signatures_before_six_confirmations() -> None:
    with pytest.raises(NotEnoughConfirmationsError):
        make_announcement_signatures(
            _info(ALICE, BOB, confirmations=5),
            node_secret=ALICE.node_secret,
            funding_secret=ALICE.funding_secret,
        )


def test_secrets_must_match_our_keys() -> None:
    with pytest.raises(AnnouncementSignaturesError):
        make_announcement_signatures(
            _info(ALICE, BOB), node_secret=BOB.node_secret, funding_secret=ALICE.funding_secret
        )


def test_peer_signatures_for_another_short_channel_id_are_refused() -> None:
    theirs = dataclasses.replace(_sigs(BOB, ALICE), short_channel_id=ShortChannelId(1, 1, 1))
    with pytest.raises(ShortChannelIdMismatchError):
        complete_channel_announcement(_info(ALICE, BOB), _sigs(ALICE, BOB), theirs)


@pytest.mark.parametrize("field", ["node_signature", "bitcoin_signature"])
def test_wrong_peer_signature_is_named(field: str) -> None:
    theirs = _sigs(BOB, ALICE)
    if field == "node_signature":
        swapped = dataclasses.replace(theirs, node_signature=theirs.bitcoin_signature)
    else:
        swapped = dataclasses.replace(theirs, bitcoin_signature=theirs.node_signature)
    with pytest.raises(InvalidSignatureError) as info:
        complete_channel_announcement(_info(ALICE, BOB), _sigs(ALICE, BOB), swapped)
    assert info.value.which == field
