"""The node under test in a network of reference nodes when it is another implementation (no steps here).

`network` puts any NodeDriver (cln, ldk, ...) at `target_at`: the harness funds it through the chain,
opens its channels with its neighbours through the driver (open_channel, wait_for_channel_state), and
pays from a reference payer to a reference payee through it. What the harness cannot read from a foreign
node it reads from its reference neighbours, which talk BOLT with it:

- its forwarding policy: the `channel_update` it sent for its outgoing channel, as the neighbour at the
  other end received it (BOLT 7 "HTLC Fees": a forwarding node charges what its own channel_update for
  the outgoing channel advertises; Core Lightning and LDK choose their own fees);
- its balance in each channel: the neighbour's view of their common commitment (BOLT 2), which the
  node's own `list_channels` must match to the msat once both sides settled.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from harness.drivers.base import (
    ChainFollowing,
    ChannelInfo,
    DriverError,
    NodeAddress,
    NodeDriver,
    WaitTimeout,
)
from harness.drivers.launched import LaunchedNodeDriver
from harness.drivers.ldk import LdkDriver
from harness.drivers.peer import ExpectationFailed
from harness.launchers.base import poll_until
from reference_node.gossip.announcements import ChannelPolicy
from reference_node.gossip.graph import ChannelGraph
from reference_node.wire import ShortChannelId

T = TypeVar("T")


@dataclass(frozen=True)
class ForeignMember:
    """The node under test at network index `index`: its scenario name, driver, and the address the
    reference nodes connect to."""

    index: int
    name: str
    driver: NodeDriver
    address: NodeAddress

    @property
    def node_id(self) -> bytes:
        return self.address.node_id


class ForeignPolicyUnknown(ExpectationFailed):
    """The node under test's channel_update for a channel never reached the neighbour at its other end."""


class ForeignBalanceMismatch(ExpectationFailed):
    """The node under test reports a channel balance its peer's commitment does not have."""


async def sync_follower(member: ForeignMember | None) -> None:
    """Let a node that reads the chain on its own schedule (ChainFollowing: cln, ldk) process every
    block mined so far (BOLT 2 `minimum_depth` and BOLT 7's 6 confirmations count blocks it has seen)."""
    if member is not None and isinstance(member.driver, ChainFollowing):
        await member.driver.sync()


def advertised_policy(graph: ChannelGraph, short_channel_id: ShortChannelId, node_id: bytes) -> ChannelPolicy:
    """The policy `node_id` advertised for `short_channel_id` in its channel_update, as `graph` (a
    reference node's) holds it."""
    record = graph.channel(short_channel_id)
    if record is None:
        raise ForeignPolicyUnknown(f"channel {short_channel_id} is not in the neighbour's graph")
    policy = record.policy(record.direction_from(node_id))
    if policy is None:
        raise ForeignPolicyUnknown(
            f"no channel_update from {node_id.hex()[:16]}.. for {short_channel_id} reached its neighbour"
        )
    return policy


async def _poll(
    driver: NodeDriver, probe: Callable[[], Awaitable[T | None]], timeout_s: float, what: str
) -> T:
    """Re-read the foreign node until `probe` returns a value, with the driver's own wait: a launched
    process is polled (and a crash reported), LDK re-queried on each of its events."""
    if isinstance(driver, LaunchedNodeDriver):
        return await poll_until(probe, driver.handle, timeout_s, what)
    if isinstance(driver, LdkDriver):
        result: T = await driver.wait_until(what, probe, timeout_s)
        return result
    value = await probe()
    if value is None:
        # an in-process driver answers from the same state its peers settled: nothing left to wait for
        raise WaitTimeout(f"{driver.implementation}: {what} not reached (read once: in-process)")
    return value


async def settled_balance_msat(
    member: ForeignMember, expected_msat: dict[bytes, int], timeout_s: float
) -> int:
    """The node's balance summed over its network channels (`expected_msat`: channel_id -> its balance as
    the peer's settled commitment says), once its `list_channels` reports each one to the msat (it
    processes the last revoke_and_ack after the peer settled). A difference left after `timeout_s`
    fails naming the channel."""
    last: dict[bytes, int] = {}

    async def agrees() -> int | None:
        channels: list[ChannelInfo] = await member.driver.list_channels()
        last.clear()
        last.update({c.channel_id: c.local_balance_msat for c in channels if c.channel_id in expected_msat})
        return sum(last.values()) if last == expected_msat else None

    try:
        return await _poll(member.driver, agrees, timeout_s, "channel balances as the peers see them")
    except DriverError as exc:  # WaitTimeout (or the node exited): reported with the balances
        wrong = [
            f"{cid.hex()[:16]}..: {last.get(cid)} msat, peer says {msat}"
            for cid, msat in expected_msat.items()
            if last.get(cid) != msat
        ]
        raise ForeignBalanceMismatch(
            f"{member.name} ({member.driver.implementation}) balances differ from its peers': "
            + "; ".join(wrong)
            + f" ({exc})"
        ) from exc


def check_paid_by_foreign(
    before: list[int], after: list[int], payer: int, payee: int, amount_msat: int
) -> str:
    """Balance changes (by network index) of a payment the foreign node `payer` made with its own route
    (which the harness does not see): the payee gains exactly `amount_msat`, every other reference node
    gains what it earned forwarding (never less than nothing), and the payer pays all of it (nothing is
    created or lost, to the msat)."""
    changes = [a - b for a, b in zip(after, before, strict=True)]
    if changes[payee] != amount_msat:
        raise ExpectationFailed(f"payee node {payee}: {changes[payee]:+d} msat, expected {amount_msat:+d}")
    losers = [i for i, change in enumerate(changes) if change < 0 and i != payer]
    if losers:
        raise ExpectationFailed(f"nodes {losers} lost msat on a payment they only forwarded")
    fees_msat = sum(changes) - changes[payer] - amount_msat
    if changes[payer] != -(amount_msat + fees_msat):
        raise ExpectationFailed(
            f"payer node {payer}: {changes[payer]:+d} msat, expected {-(amount_msat + fees_msat):+d} "
            f"(amount and {fees_msat} msat of fees)"
        )
    return f"payee +{amount_msat} msat, forwarders +{fees_msat} msat, payer {changes[payer]:+d} msat"
