"""Which incoming HTLC each forwarded outgoing HTLC came from, persisted before the outgoing
`update_add_htlc` leaves (a preimage learnt downstream after a restart must still reach upstream: BOLT 2
"A node ... that receives a preimage MUST ... fulfill the incoming HTLC")."""

from __future__ import annotations

import json
from dataclasses import dataclass

from reference_node.store import Store

_META_KEY = "forwarding/links"


@dataclass(frozen=True)
class ForwardLink:
    """Outgoing HTLC (`out_channel_dbid`, `out_htlc_id`) forwards incoming (`in_channel_dbid`,
    `in_htlc_id`); `shared_secret` is the incoming onion's, to wrap failures on their way back
    (BOLT 4 "Returning Errors")."""

    out_channel_dbid: int
    out_htlc_id: int
    in_channel_dbid: int
    in_htlc_id: int
    shared_secret: bytes
    in_amount_msat: int
    out_amount_msat: int


class ForwardLinks:
    """The live links, kept in the node's store (a JSON list under one meta key)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._links: dict[tuple[int, int], ForwardLink] = {}
        raw = store.get_meta(_META_KEY)
        for entry in json.loads(raw) if raw else []:
            link = ForwardLink(
                entry["out_channel_dbid"],
                entry["out_htlc_id"],
                entry["in_channel_dbid"],
                entry["in_htlc_id"],
                bytes.fromhex(entry["shared_secret"]),
                entry["in_amount_msat"],
                entry["out_amount_msat"],
            )
            self._links[(link.out_channel_dbid, link.out_htlc_id)] = link

    def add(self, link: ForwardLink) -> None:
        self._links[(link.out_channel_dbid, link.out_htlc_id)] = link
        self._save()

    def get(self, out_channel_dbid: int, out_htlc_id: int) -> ForwardLink | None:
        return self._links.get((out_channel_dbid, out_htlc_id))

    def of_incoming(self, in_channel_dbid: int, in_htlc_id: int) -> ForwardLink | None:
        """The link of an incoming HTLC already forwarded (an HTLC replayed after a restart)."""
        for link in self._links.values():
            if (link.in_channel_dbid, link.in_htlc_id) == (in_channel_dbid, in_htlc_id):
                return link
        return None

    def remove(self, link: ForwardLink) -> None:
        self._links.pop((link.out_channel_dbid, link.out_htlc_id), None)
        self._save()

    def __len__(self) -> int:
        return len(self._links)

    def _save(self) -> None:
        entries = [
            {
                "out_channel_dbid": link.out_channel_dbid,
                "out_htlc_id": link.out_htlc_id,
                "in_channel_dbid": link.in_channel_dbid,
                "in_htlc_id": link.in_htlc_id,
                "shared_secret": link.shared_secret.hex(),
                "in_amount_msat": link.in_amount_msat,
                "out_amount_msat": link.out_amount_msat,
            }
            for link in self._links.values()
        ]
        self._store.set_meta(_META_KEY, json.dumps(entries))
