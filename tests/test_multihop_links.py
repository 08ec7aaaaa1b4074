"""Forward links (reference_node/forwarding/links.py) live in the node's store: a restarted node still
knows where to send a preimage or a failure back, and recognizes an incoming HTLC it already forwarded."""

from __future__ import annotations

from pathlib import Path

from reference_node.forwarding.links import ForwardLink, ForwardLinks
from reference_node.store import Store

LINK = ForwardLink(
    out_channel_dbid=2,
    out_htlc_id=7,
    in_channel_dbid=1,
    in_htlc_id=3,
    shared_secret=bytes(range(32)),
    in_amount_msat=1_001_010,
    out_amount_msat=1_000_000,
)


def test_a_link_survives_reopening_the_store(tmp_path: Path) -> None:
    store = Store(tmp_path / "node.sqlite3")
    ForwardLinks(store).add(LINK)
    store.close()
    reopened = ForwardLinks(Store(tmp_path / "node.sqlite3"))
    assert reopened.get(2, 7) == LINK


def test_an_incoming_htlc_already_forwarded_is_recognized(tmp_path: Path) -> None:
    links = ForwardLinks(Store(tmp_path / "node.sqlite3"))
    links.add(LINK)
    assert links.of_incoming(1, 3) == LINK
    assert links.of_incoming(1, 4) is None


def test_a_removed_link_is_gone_after_reopening(tmp_path: Path) -> None:
    store = Store(tmp_path / "node.sqlite3")
    links = ForwardLinks(store)
    links.add(LINK)
    links.remove(LINK)
    store.close()
    assert len(ForwardLinks(Store(tmp_path / "node.sqlite3"))) == 0
