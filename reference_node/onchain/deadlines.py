"""BOLT 2 "cltv_expiry_delta Selection" deadlines: when an HTLC forces the channel on chain.

- an HTLC we offered, still in either side's current commitment, past `cltv_expiry + G`: fail the channel
  (and time it out on chain);
- an HTLC we received and know the preimage of (we have fulfilled it, or can), still in either current
  commitment, at `cltv_expiry - fulfillment_deadline_blocks`: fail the channel (and claim it on chain before
  the offerer can time it out).
"""

from __future__ import annotations

from reference_node.channel.params import Side
from reference_node.channel.signer import CommitmentView
from reference_node.onchain.model import GoOnchain
from reference_node.onchain.records import ChannelRecords

REQ_OFFERER = "bolt02-cltv_expiry_delta-offerer-must-02"
REQ_FULFILLER = "bolt02-cltv_expiry_delta-fulfiller-must-03"


def _current_views(records: ChannelRecords) -> list[CommitmentView]:
    views = []
    local = records.local_record(records.local_current_number)
    if local is not None:
        views.append(local.view)
    remote = records.remote_view(records.remote_current_number)
    if remote is not None:
        views.append(remote)
    return views


def check_deadlines(
    records: ChannelRecords, height: int, grace_blocks: int, fulfillment_deadline_blocks: int
) -> list[GoOnchain]:
    out: list[GoOnchain] = []
    seen: set[tuple[bool, int]] = set()
    for view in _current_views(records):
        for htlc in view.htlcs:
            offered_by_us = htlc.offered == (view.holder is Side.LOCAL)
            key = (offered_by_us, htlc.htlc_id)
            if key in seen:
                continue
            seen.add(key)
            if offered_by_us and height >= htlc.cltv_expiry + grace_blocks:
                out.append(
                    GoOnchain(
                        f"offered HTLC {htlc.htlc_id} is past its timeout deadline "
                        f"(cltv_expiry {htlc.cltv_expiry} + {grace_blocks})",
                        REQ_OFFERER,
                    )
                )
            elif (
                not offered_by_us
                and records.preimage_for(htlc.payment_hash) is not None
                and height >= htlc.cltv_expiry - fulfillment_deadline_blocks
            ):
                out.append(
                    GoOnchain(
                        f"received HTLC {htlc.htlc_id} is past its fulfillment deadline "
                        f"(cltv_expiry {htlc.cltv_expiry} - {fulfillment_deadline_blocks})",
                        REQ_FULFILLER,
                    )
                )
    return out
