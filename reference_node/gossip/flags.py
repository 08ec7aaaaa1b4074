"""BOLT 7 constants and bit fields of `channel_update`, with the chain hashes we know."""

from __future__ import annotations

import enum

# BOLT 7 `channel_announcement`: "for the _Bitcoin blockchain_: MUST set `chain_hash` value (encoded in
# hex) equal to 6fe28c0a...". It is the genesis block hash in internal (little-endian) byte order.
BITCOIN_CHAIN_HASH = bytes.fromhex("6fe28c0ab6f1b372c1a6a246ae63f74f931e8365e15a089c68d6190000000000")
# The regtest genesis block hash, in the same byte order as BITCOIN_CHAIN_HASH.
REGTEST_CHAIN_HASH = bytes.fromhex("06226e46111a0b59caaf126043eb5bbf28c34f3a5e332a1fc7b2b73cf188910f")

# BOLT 7 "Recommendation on Pruning Stale Entries": "older than two weeks (1209600 seconds)".
STALE_CHANNEL_AGE_SECONDS = 1_209_600
# BOLT 7 "Pruning the Network View": forget a spent channel after 72 block confirmations.
SPENT_CHANNEL_FORGET_DELAY_BLOCKS = 72
# BOLT 7 announcement_signatures / channel_announcement: "less than 6 confirmations: MUST NOT send".
ANNOUNCEMENT_MIN_CONFIRMATIONS = 6


class ChannelFlag(enum.IntFlag):
    """`channel_flags` of `channel_update` (BOLT 7 table)."""

    DIRECTION = 1 << 0
    DISABLE = 1 << 1


class MessageFlag(enum.IntFlag):
    """`message_flags` of `channel_update` (BOLT 7 table)."""

    MUST_BE_ONE = 1 << 0
    DONT_FORWARD = 1 << 1


class Direction(enum.IntEnum):
    """The `direction` bit: 0 when the update comes from `node_id_1`, 1 from `node_id_2`."""

    FROM_NODE_1 = 0
    FROM_NODE_2 = 1

    @property
    def other(self) -> Direction:
        return Direction(1 - self.value)
