"""Dump a `ChannelGraph` to a JSON-compatible value and load it back (the node persists it).

Messages are kept as the hex of their wire encoding, so a loaded graph re-serves exactly the bytes it
received (signatures included). Format version 1:
{"version": 1, "chain_hash": hex, "blacklist": [hex], "channels": [{"short_channel_id": "BxTxO",
 "node_id_1": hex, "node_id_2": hex, "capacity_sat": int|null, "features": hex, "announcement": hex|null,
 "updates": [hex|null, hex|null], "received_at": int, "spent_at_height": int|null}],
 "nodes": [{"announcement": hex}]}
"""

from __future__ import annotations

from typing import Any, TypeVar

from reference_node.gossip.addresses import parse_addresses
from reference_node.gossip.errors import GossipError, GraphFormatError
from reference_node.gossip.graph import ChannelGraph
from reference_node.gossip.records import ChannelRecord, NodeRecord
from reference_node.wire import (
    ChannelAnnouncement,
    ChannelUpdate,
    Message,
    NodeAnnouncement,
    ShortChannelId,
    WireError,
    decode_message,
    encode_message,
)
from reference_node.wire.features import Features

FORMAT_VERSION = 1
_M = TypeVar("_M", bound=Message)


def dump_graph(graph: ChannelGraph) -> dict[str, Any]:
    """A JSON-compatible snapshot of the whole graph."""
    return {
        "version": FORMAT_VERSION,
        "chain_hash": graph.chain_hash.hex(),
        "blacklist": sorted(node_id.hex() for node_id in graph.blacklisted()),
        "channels": [_dump_channel(record) for record in graph.channels()],
        "nodes": [{"announcement": encode_message(n.announcement).hex()} for n in graph.nodes()],
    }


def _hex_or_none(msg: Message | None) -> str | None:
    return None if msg is None else encode_message(msg).hex()


def _dump_channel(record: ChannelRecord) -> dict[str, Any]:
    return {
        "short_channel_id": str(record.short_channel_id),
        "node_id_1": record.node_id_1.hex(),
        "node_id_2": record.node_id_2.hex(),
        "capacity_sat": record.capacity_sat,
        "features": record.features.to_bytes().hex(),
        "announcement": _hex_or_none(record.announcement),
        "updates": [_hex_or_none(update) for update in record.updates],
        "received_at": record.received_at,
        "spent_at_height": record.spent_at_height,
    }


def load_graph(data: dict[str, Any], **graph_options: int) -> ChannelGraph:
    """The graph `dump_graph` produced; GraphFormatError says which entry is bad."""
    try:
        if data.get("version") != FORMAT_VERSION:
            raise GraphFormatError(f"unsupported graph format version {data.get('version')!r}")
        graph = ChannelGraph(bytes.fromhex(data["chain_hash"]), **graph_options)
        channels = [_load_channel(entry) for entry in data["channels"]]
        nodes = []
        for entry in data["nodes"]:
            announcement = _decode(entry["announcement"], NodeAnnouncement)
            nodes.append(
                NodeRecord(announcement.node_id, announcement, parse_addresses(announcement.addresses))
            )
        blacklist = [bytes.fromhex(node_id) for node_id in data["blacklist"]]
    except GraphFormatError:
        raise
    except (KeyError, TypeError, ValueError, WireError, GossipError) as exc:
        raise GraphFormatError(f"bad graph snapshot: {type(exc).__name__}: {exc}") from exc
    graph._restore(channels, nodes, blacklist)
    return graph


def _decode(hex_text: str, cls: type[_M]) -> _M:
    msg = decode_message(bytes.fromhex(hex_text))
    if not isinstance(msg, cls):
        raise GraphFormatError(f"expected {cls.NAME}, found {type(msg).__name__}")
    return msg


def _load_channel(entry: dict[str, Any]) -> ChannelRecord:
    announcement = entry["announcement"]
    update_1, update_2 = (None if u is None else _decode(u, ChannelUpdate) for u in entry["updates"])
    return ChannelRecord(
        short_channel_id=ShortChannelId.from_str(entry["short_channel_id"]),
        node_id_1=bytes.fromhex(entry["node_id_1"]),
        node_id_2=bytes.fromhex(entry["node_id_2"]),
        capacity_sat=entry["capacity_sat"],
        features=Features.from_bytes(bytes.fromhex(entry["features"])),
        announcement=None if announcement is None else _decode(announcement, ChannelAnnouncement),
        updates=(update_1, update_2),
        received_at=int(entry["received_at"]),
        spent_at_height=entry["spent_at_height"],
    )
