"""Values a channel is configured with: sides, channel types, per-side parameters, basepoints, policy."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Side(Enum):
    LOCAL = "local"
    REMOTE = "remote"

    @property
    def other(self) -> Side:
        return Side.REMOTE if self is Side.LOCAL else Side.LOCAL


# BOLT 9 bits used in `channel_type` (BOLT 2 "Defined Channel Types")
OPTION_STATIC_REMOTEKEY_BIT = 12
OPTION_ANCHORS_BIT = 22
OPTION_SCID_ALIAS_BIT = 46
OPTION_ZEROCONF_BIT = 50


class ChannelTypeError(ValueError):
    """A `channel_type` bitmap that is not one of the defined types."""


@dataclass(frozen=True)
class ChannelType:
    """One of BOLT 2's defined channel types: `option_static_remotekey`, optionally with `option_anchors`,
    each with the allowed variations `option_scid_alias` and `option_zeroconf`."""

    anchors: bool = False
    scid_alias: bool = False
    zeroconf: bool = False

    def bits(self) -> frozenset[int]:
        bits = {OPTION_STATIC_REMOTEKEY_BIT}
        if self.anchors:
            bits.add(OPTION_ANCHORS_BIT)
        if self.scid_alias:
            bits.add(OPTION_SCID_ALIAS_BIT)
        if self.zeroconf:
            bits.add(OPTION_ZEROCONF_BIT)
        return frozenset(bits)

    def to_bytes(self) -> bytes:
        """Feature bitmap, big-endian, "the smallest bitmap possible"."""
        value = sum(1 << bit for bit in self.bits())
        return value.to_bytes((value.bit_length() + 7) // 8, "big")

    @classmethod
    def from_bytes(cls, data: bytes) -> ChannelType:
        value = int.from_bytes(data, "big")
        bits = {bit for bit in range(value.bit_length()) if value >> bit & 1}
        basic = bits - {OPTION_SCID_ALIAS_BIT, OPTION_ZEROCONF_BIT}
        if basic not in ({OPTION_STATIC_REMOTEKEY_BIT}, {OPTION_STATIC_REMOTEKEY_BIT, OPTION_ANCHORS_BIT}):
            raise ChannelTypeError(f"channel_type bits {sorted(bits)} are not a defined channel type")
        return cls(
            anchors=OPTION_ANCHORS_BIT in bits,
            scid_alias=OPTION_SCID_ALIAS_BIT in bits,
            zeroconf=OPTION_ZEROCONF_BIT in bits,
        )


@dataclass(frozen=True)
class ChannelParams:
    """What one side announced in open_channel/accept_channel; each limit constrains the OTHER side."""

    dust_limit_satoshis: int
    max_htlc_value_in_flight_msat: int
    # the reserve the OTHER side must keep
    channel_reserve_satoshis: int
    htlc_minimum_msat: int
    # the delay the OTHER side's to_self outputs get
    to_self_delay: int
    max_accepted_htlcs: int


@dataclass(frozen=True)
class Basepoints:
    funding_pubkey: bytes
    revocation_basepoint: bytes
    payment_basepoint: bytes
    delayed_payment_basepoint: bytes
    htlc_basepoint: bytes


@dataclass(frozen=True)
class PeerFeatures:
    """Features negotiated in `init` that change what the channel may do (BOLT 9)."""

    option_support_large_channel: bool = False
    option_upfront_shutdown_script: bool = False
    option_shutdown_anysegwit: bool = True
    option_simple_close: bool = False
    option_dual_fund: bool = False
    option_anchors: bool = True
    option_scid_alias: bool = False
    option_zeroconf: bool = False


@dataclass(frozen=True)
class Policy:
    """Local policy: our answer to every "it considers ... too large/small" in BOLT 2."""

    chain_hashes: frozenset[bytes]
    max_to_self_delay: int = 2016
    min_feerate_per_kw: int = 253
    max_feerate_per_kw: int = 100_000
    min_funding_satoshis: int = 1_000
    max_minimum_depth: int = 144
    max_htlc_minimum_msat: int = 1_000_000
    min_max_htlc_value_in_flight_msat: int = 1_000
    max_channel_reserve_ratio_percent: int = 20
    min_max_accepted_htlcs: int = 1
    max_dust_limit_satoshis: int = 50_000
    max_dust_htlc_exposure_msat: int = 5_000_000_000
    supports_large_channel: bool = False
    supports_anchors: bool = True
    trust_zeroconf: bool = False
    # "fee spike buffer": the funder keeps room for a future HTLC at this multiple of the feerate
    fee_spike_multiple: int = 2
    # sign a commitment as soon as the peer's revoke_and_ack/commitment_signed leaves changes to sign
    auto_commit: bool = True
    # adversarial control for the harness (faults.py): False lets `add_htlc` break the sender rules of
    # update_add_htlc (htlc_minimum_msat, max_accepted_htlcs, max_htlc_value_in_flight_msat, reserve, fees,
    # cltv_expiry, amount 0) so a peer's receiver checks can be tested. Never False in a real node.
    enforce_sender_limits: bool = True
    # narrower switches for testing a peer's reserve checks; never False in a real node. BOLT 2
    # update_add_htlc, "while maintaining its channel reserve". `enforce_sender_reserve` off: the HTLCs
    # we offer only have to leave us able to pay the commitment fee (and anchors), not the reserve the
    # peer asked for (sender MUST NOT / MUST / SHOULD NOT, including the fee spike buffer kept above the
    # reserve). `enforce_receiver_reserve` off: the receiver rule "cannot afford at the current
    # `feerate_per_kw` (while maintaining its channel reserve ...)" is not checked; an HTLC beyond the
    # sender's whole balance is still refused (no commitment could hold it).
    enforce_sender_reserve: bool = True
    enforce_receiver_reserve: bool = True
    accepted_channel_types: frozenset[ChannelType] = field(
        default_factory=lambda: frozenset(
            {
                ChannelType(),
                ChannelType(anchors=True),
                ChannelType(scid_alias=True),
                ChannelType(anchors=True, scid_alias=True),
            }
        )
    )


@dataclass(frozen=True)
class ShortChannelId:
    block_height: int
    tx_index: int
    output_index: int

    def to_int(self) -> int:
        return (self.block_height << 40) | (self.tx_index << 16) | self.output_index

    @classmethod
    def from_int(cls, value: int) -> ShortChannelId:
        return cls(value >> 40, (value >> 16) & 0xFFFFFF, value & 0xFFFF)
