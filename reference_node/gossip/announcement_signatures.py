"""The `announcement_signatures` exchange (BOLT 7), pure.

Both sides construct the same `channel_announcement` from the channel's funding information, sign its
hash `h` with their node and funding secrets, and exchange the two signatures. `make_announcement_signatures`
produces ours; `complete_channel_announcement` checks the peer's and assembles the full announcement.
"""

from __future__ import annotations

from dataclasses import dataclass

from reference_node.bitcoin.ecdsa import public_key_of
from reference_node.gossip.announcements import unsigned_channel_announcement
from reference_node.gossip.errors import (
    AnnouncementSignaturesError,
    InvalidSignatureError,
    NotEnoughConfirmationsError,
    ShortChannelIdMismatchError,
)
from reference_node.gossip.flags import ANNOUNCEMENT_MIN_CONFIRMATIONS
from reference_node.gossip.signing import channel_announcement_digest, sign, signature_valid
from reference_node.wire import AnnouncementSignatures, ChannelAnnouncement, ShortChannelId
from reference_node.wire.features import Features


@dataclass(frozen=True)
class AnnouncementInfo:
    """What both sides know about a confirmed channel when it is to be announced."""

    channel_id: bytes
    short_channel_id: ShortChannelId
    chain_hash: bytes
    local_node_id: bytes
    remote_node_id: bytes
    local_funding_pubkey: bytes
    remote_funding_pubkey: bytes
    features: Features
    funding_confirmations: int

    def unsigned_announcement(self) -> ChannelAnnouncement:
        return unsigned_channel_announcement(
            chain_hash=self.chain_hash,
            short_channel_id=self.short_channel_id,
            node_id_a=self.local_node_id,
            node_id_b=self.remote_node_id,
            bitcoin_key_a=self.local_funding_pubkey,
            bitcoin_key_b=self.remote_funding_pubkey,
            features=self.features,
        )

    @property
    def local_is_node_1(self) -> bool:
        return self.local_node_id < self.remote_node_id


def make_announcement_signatures(
    info: AnnouncementInfo, *, node_secret: bytes, funding_secret: bytes
) -> AnnouncementSignatures:
    """Ours. BOLT 7: sent "After `channel_ready` has been sent and received AND the funding transaction has
    enough confirmations"; we use the 6 confirmations a `channel_announcement` needs."""
    if info.funding_confirmations < ANNOUNCEMENT_MIN_CONFIRMATIONS:
        raise NotEnoughConfirmationsError(
            f"funding has {info.funding_confirmations} confirmations, {ANNOUNCEMENT_MIN_CONFIRMATIONS} needed"
        )
    if public_key_of(node_secret) != info.local_node_id:
        raise AnnouncementSignaturesError("node_secret does not match local_node_id")
    if public_key_of(funding_secret) != info.local_funding_pubkey:
        raise AnnouncementSignaturesError("funding_secret does not match local_funding_pubkey")
    h = channel_announcement_digest(info.unsigned_announcement())
    return AnnouncementSignatures(
        channel_id=info.channel_id,
        short_channel_id=info.short_channel_id,
        node_signature=sign(node_secret, h),
        bitcoin_signature=sign(funding_secret, h),
    )


def check_remote_announcement_signatures(info: AnnouncementInfo, theirs: AnnouncementSignatures) -> None:
    """Receiver rules: a `short_channel_id` that is not our funding transaction's raises
    ShortChannelIdMismatchError ("SHOULD send a `warning`"); a wrong `node_signature` or `bitcoin_signature`
    raises InvalidSignatureError ("MAY send a `warning` and close the connection, or send an `error`")."""
    if theirs.channel_id != info.channel_id:
        raise ShortChannelIdMismatchError(f"channel_id {theirs.channel_id.hex()} is not this channel")
    if theirs.short_channel_id != info.short_channel_id:
        raise ShortChannelIdMismatchError(
            f"short_channel_id {theirs.short_channel_id} is not our funding output {info.short_channel_id}"
        )
    h = channel_announcement_digest(info.unsigned_announcement())
    if not signature_valid(info.remote_node_id, theirs.node_signature, h):
        raise InvalidSignatureError(theirs.NAME, "node_signature")
    if not signature_valid(info.remote_funding_pubkey, theirs.bitcoin_signature, h):
        raise InvalidSignatureError(theirs.NAME, "bitcoin_signature")


def complete_channel_announcement(
    info: AnnouncementInfo, ours: AnnouncementSignatures, theirs: AnnouncementSignatures
) -> ChannelAnnouncement:
    """The full `channel_announcement` once both `announcement_signatures` are in hand ("If it has sent AND
    received a valid `announcement_signatures` message ... SHOULD queue the `channel_announcement`")."""
    check_remote_announcement_signatures(info, theirs)
    if info.funding_confirmations < ANNOUNCEMENT_MIN_CONFIRMATIONS:
        raise NotEnoughConfirmationsError(
            f"funding has {info.funding_confirmations} confirmations, {ANNOUNCEMENT_MIN_CONFIRMATIONS} needed"
        )
    unsigned = info.unsigned_announcement()
    first, second = (ours, theirs) if info.local_is_node_1 else (theirs, ours)
    return ChannelAnnouncement(
        node_signature_1=first.node_signature,
        node_signature_2=second.node_signature,
        bitcoin_signature_1=first.bitcoin_signature,
        bitcoin_signature_2=second.bitcoin_signature,
        features=unsigned.features,
        chain_hash=unsigned.chain_hash,
        short_channel_id=unsigned.short_channel_id,
        node_id_1=unsigned.node_id_1,
        node_id_2=unsigned.node_id_2,
        bitcoin_key_1=unsigned.bitcoin_key_1,
        bitcoin_key_2=unsigned.bitcoin_key_2,
    )
