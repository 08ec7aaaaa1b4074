"""A network of in-process reference nodes in one call (as pyln-testing's `node_factory.line_graph`), and
the multi-hop steps that use it (BOLT 4 forwarding and failures, BOLT 7 gossip, multi-part payments).

    - network: {name: line, nodes: 21, topology: line}     # or ring, or channels: [[0, 1], [1, 2], ...]
    - network_pay: {network: line, payer: 0, payee: 20, amount_msat: 100000}
    - network_sendpay: {network: line, payer: 0, payee: 3, amount_msat: 5000, fault: fee_short, at_hop: 1,
                        expect_failure: fee_insufficient, expect_erring_hop: 1}
    - network_wait_gossip: {network: line}
    - network_stop: {network: line}                       # last step: stops the nodes

Nodes are numbered from 0; node i's key comes from the scenario seed. Every node forwards with the same
policy (`fee_base_msat`, `fee_proportional_millionths`, `cltv_expiry_delta`); payments check each node's
balance change to the msat against fees computed here from that policy (BOLT 7 "HTLC Fees"), not from
the payer's route. Everything runs in the scenario's event loop on the scenario's chain (any ChainBackend:
the embedded chain in-process, or a bitcoind over RPC with `--chain bitcoind`); nothing sleeps.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import functools
import hashlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from harness.chain import ChainBackend
from harness.chain.bitcoind import BitcoindChain
from harness.chain.embedded import EmbeddedChain
from harness.drivers.base import ChannelState as DriverChannelState
from harness.drivers.base import NodeAddress, OpenChannelOptions, UnsupportedOperation
from harness.drivers.peer import ExpectationFailed
from harness.drivers.reference import EmbeddedChainSource
from harness.scenarios.registry import register_step
from harness.scenarios.step import DriverName, Step, StepContext
from harness.scenarios.steps.network_chain import SharedBitcoindSource
from harness.scenarios.steps.network_foreign import (
    ForeignMember,
    advertised_policy,
    check_paid_by_foreign,
    settled_balance_msat,
    sync_follower,
)
from reference_node.chain_source import ChainSource
from reference_node.channel import ChannelState
from reference_node.forwarding.policy import ForwardingPolicy
from reference_node.forwarding.relay import RelayConfig
from reference_node.gossip.announcements import ChannelPolicy
from reference_node.gossip.flags import Direction
from reference_node.gossip.route import Route, build_route
from reference_node.gossip_sync import GossipConfig
from reference_node.node import LIGHTNING_FEATURES, LightningNode, NodeConfig
from reference_node.nodekey import Entropy, NodeKey
from reference_node.pay import Multihop, MultihopConfig, enable_multihop
from reference_node.pay.payer import AttemptResult, AttemptStatus
from reference_node.payments.channels import ChannelConfig
from reference_node.store import PaymentStatus
from reference_node.wire import ShortChannelId
from reference_node.wire.features import Feature

DEFAULT_TIMEOUT_S = 120.0
ANNOUNCE_BLOCKS = 6  # BOLT 7: channel_announcement needs 6 confirmations
_FAUCET_EXTRA_SAT = 200_000  # on top of the channels' funding: the funding transactions' fees
MULTIHOP_FEATURES = LIGHTNING_FEATURES.set(Feature.gossip_queries)


class Topology(enum.Enum):
    LINE = "line"  # 0-1, 1-2, ..., (n-2)-(n-1)
    RING = "ring"  # a line closed by (n-1)-0


@dataclass(frozen=True)
class NetworkSpec:
    nodes: int
    channels: tuple[tuple[int, int], ...]  # (opener, accepter)
    channel_sat: int = 1_000_000
    private: frozenset[tuple[int, int]] = frozenset()  # channels opened without announce_channel
    push_msat: int = 0
    policy: ForwardingPolicy = field(default_factory=ForwardingPolicy)
    broadcast_interval_s: float = 0.02
    mpp_timeout_s: float = 60.0

    @classmethod
    def of_topology(cls, nodes: int, topology: Topology, **options: object) -> NetworkSpec:
        pairs = [(i, i + 1) for i in range(nodes - 1)]
        if topology is Topology.RING and nodes > 2:
            pairs.append((nodes - 1, 0))
        return cls(nodes, tuple(pairs), **options)  # type: ignore[arg-type]


@dataclass
class ReferenceNetwork:
    """The network's nodes: `nodes` and `multihop` hold the reference nodes in network order; `indexes`
    gives each one's network index (0..n-1 when every node is a reference node); `foreign` is the node of
    another implementation at the remaining index, if any. Steps address nodes by network index
    (`node`, `services`)."""

    spec: NetworkSpec
    chain: ChainBackend
    nodes: list[LightningNode]
    multihop: list[Multihop]
    channel_ids: list[bytes] = field(default_factory=list)
    adopted: frozenset[int] = frozenset()  # nodes a driver started (and stops)
    shared_source: SharedBitcoindSource | None = None  # the nodes' source on --chain bitcoind
    foreign: ForeignMember | None = None  # the node under test when it is not an in-process reference node
    indexes: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.indexes:
            self.indexes = list(range(len(self.nodes)))

    def _position(self, index: int, operation: str) -> int:
        if self.foreign is not None and index == self.foreign.index:
            raise UnsupportedOperation(
                self.foreign.driver.implementation,
                operation,
                f"node {index} is the node under test; only a reference node can {operation} here",
            )
        return self.indexes.index(index)

    def node(self, index: int, operation: str = "take this part") -> LightningNode:
        return self.nodes[self._position(index, operation)]

    def services(self, index: int, operation: str = "take this part") -> Multihop:
        return self.multihop[self._position(index, operation)]

    def node_id(self, index: int) -> bytes:
        if self.foreign is not None and index == self.foreign.index:
            return self.foreign.node_id
        return self.node(index).node_id

    def index_of(self, node_id: bytes) -> int:
        if self.foreign is not None and node_id == self.foreign.node_id:
            return self.foreign.index
        return next(self.indexes[i] for i, n in enumerate(self.nodes) if n.node_id == node_id)

    def foreign_channels_msat(self) -> dict[bytes, int]:
        """The foreign node's balance in each of its channels (channel_id -> msat), as its reference
        peer's commitment says (BOLT 2; the peer's `theirs`)."""
        if self.foreign is None:
            return {}
        found: dict[bytes, int] = {}
        for node in self.nodes:
            for slot in node.channels.slots.values():
                data = slot.channel.data
                if (
                    data.ledger is not None
                    and data.channel_id in self.channel_ids
                    and (slot.peer_id == self.foreign.node_id)
                ):
                    found[data.channel_id] = slot.channel.balances_msat()[1]
        return found

    def balances_msat(self) -> list[int]:
        """Each node's balance summed over its channels (BOLT 2 commitment balances, HTLCs excluded), by
        network index; the foreign node's as its peers' commitments say (`check_foreign_balance` checks
        it reports the same)."""
        balances = [0] * self.spec.nodes
        for index, node in zip(self.indexes, self.nodes, strict=True):
            balances[index] = sum(
                s.channel.balances_msat()[0] for s in node.channels.slots.values() if s.channel.data.ledger
            )
        if self.foreign is not None:
            balances[self.foreign.index] = sum(self.foreign_channels_msat().values())
        return balances

    async def check_foreign_balance(self, timeout_s: float) -> str:
        """The foreign node's own `list_channels` balances equal its peers' view, to the msat."""
        if self.foreign is None:
            return ""
        expected = self.foreign_channels_msat()
        total = await settled_balance_msat(self.foreign, expected, timeout_s)
        return f"; {self.foreign.name} reports {total} msat over {len(expected)} channels, as its peers do"

    async def settled(self, timeout_s: float) -> None:
        """Wait until no channel has an update left to fold into both commitments."""
        for node in self.nodes:
            slots = list(node.channels.slots.values())
            await node.channels.changes.wait_for(
                lambda slots=slots: all(  # type: ignore[misc]
                    s.channel.data.ledger is None or not s.channel.data.ledger.updates for s in slots
                ),
                timeout_s,
            )

    async def stop(self) -> None:
        for multihop in self.multihop:
            await multihop.stop()
        for index, node in zip(self.indexes, self.nodes, strict=True):
            if index not in self.adopted:
                await node.stop()
        if self.shared_source is not None:
            self.shared_source.detach()


def _key(seed: int, name: str, index: int) -> NodeKey:
    secret = hashlib.sha256(f"boltcheck-network/{seed}/{name}/{index}".encode()).digest()
    return NodeKey.from_secret(secret)


def node_chain_source(chain: ChainBackend) -> ChainSource:
    """The nodes' view of the scenario's chain: in-process calls on the embedded chain; for `--chain
    bitcoind`, one RPC source all the nodes share (one long poll, bounded calls: network_chain.py)."""
    if isinstance(chain, EmbeddedChain):
        return EmbeddedChainSource(chain)
    if isinstance(chain, BitcoindChain):
        return SharedBitcoindSource(chain)
    raise UnsupportedOperation("reference", "network", f"no node chain source for a {type(chain).__name__}")


async def build_network(
    spec: NetworkSpec,
    chain: ChainBackend,
    workdir: Path,
    seed: int = 0,
    name: str = "net",
    adopt: dict[int, LightningNode] | None = None,
    foreign: ForeignMember | None = None,
) -> ReferenceNetwork:
    """Start `spec.nodes` reference nodes (or use the already started ones `adopt` gives by index; the
    `foreign` node, started by its launcher, takes its index), open every channel, confirm, and return
    once every channel is normal (gossip may still be spreading: `wait_for_gossip`)."""
    adopt = adopt or {}
    loop = asyncio.get_running_loop()
    # Each node long-polls the chain in a worker thread; the default pool (cores + 4) would starve.
    loop.set_default_executor(ThreadPoolExecutor(max_workers=4 * spec.nodes + 8))
    config = MultihopConfig(
        relay=RelayConfig(policy=spec.policy, mpp_timeout_s=spec.mpp_timeout_s),
        gossip=GossipConfig(broadcast_interval_s=spec.broadcast_interval_s, block_poll_s=1.0),
    )
    nodes, multihop, indexes = [], [], []
    source = node_chain_source(chain)
    for index in range(spec.nodes):
        if foreign is not None and index == foreign.index:
            continue
        indexes.append(index)
        if index in adopt:
            node = adopt[index]
            # multi-hop nodes negotiate gossip_queries (BOLT 7 queries and timestamp filters); the adopted
            # node has no peer yet, so its next `init` says so
            node.node.config = dataclasses.replace(node.node.config, features=MULTIHOP_FEATURES)
            multihop.append(enable_multihop(node, config))
            nodes.append(node)
            continue
        node = LightningNode(
            _key(seed, name, index),
            source,
            workdir / f"{name}-{index}",
            config=NodeConfig(features=MULTIHOP_FEATURES),
            entropy=Entropy(f"{seed}/{name}/{index}".encode()),
            channel_config=ChannelConfig(minimum_depth=1),
            alias=f"{name}-{index}",
        )
        multihop.append(enable_multihop(node, config))
        nodes.append(node)
    shared = source if isinstance(source, SharedBitcoindSource) else None
    network = ReferenceNetwork(
        spec,
        chain,
        nodes,
        multihop,
        adopted=frozenset(adopt),
        shared_source=shared,
        foreign=foreign,
        indexes=indexes,
    )
    try:
        for index, node, services in zip(indexes, nodes, multihop, strict=True):
            if index not in adopt:
                await node.start()
            services.start()
        await _open_channels(network)
    except BaseException:
        await network.stop()
        raise
    return network


async def _mine(network: ReferenceNetwork, blocks: int) -> None:
    """Mine one block at a time; every reference node and the foreign node (when it follows the chain on
    its own) process each block before the next."""
    for _ in range(blocks):
        await asyncio.to_thread(network.chain.mine, 1)
        await asyncio.gather(*(n.sync_chain() for n in network.nodes))
        await sync_follower(network.foreign)


async def _open_channels(network: ReferenceNetwork) -> None:
    spec, chain, foreign = network.spec, network.chain, network.foreign
    openers = sorted({a for a, _ in spec.channels})
    for index in openers:
        count = sum(1 for a, _ in spec.channels if a == index)
        for _ in range(count):
            if foreign is not None and index == foreign.index:
                address = await foreign.driver.new_address()
            else:
                address = network.node(index).wallet.new_address()
            # a thread: over bitcoind RPC the call must not hold up the nodes sharing this event loop
            await asyncio.to_thread(chain.fund, address, spec.channel_sat + _FAUCET_EXTRA_SAT)
    await _mine(network, 1)
    for opener, accepter in spec.channels:
        await _connect(network, opener, accepter)
    # openers in parallel, each one's channels one at a time (its wallet's coin selection is not concurrent)
    channel_ids: dict[tuple[int, int], bytes] = {}

    async def open_all(opener: int) -> None:
        for a, accepter in spec.channels:
            if a != opener:
                continue
            announce = (a, accepter) not in spec.private
            if foreign is not None and a == foreign.index:
                options = OpenChannelOptions(announce=announce)
                info = await foreign.driver.open_channel(
                    network.node_id(accepter), spec.channel_sat, spec.push_msat, options
                )
                channel_ids[(a, accepter)] = info.channel_id
                continue
            funding = await network.node(a).fund_channel(
                network.node_id(accepter), spec.channel_sat, spec.push_msat, announce=announce
            )
            channel_ids[(a, accepter)] = funding.channel_id

    await asyncio.gather(*(open_all(opener) for opener in openers))
    network.channel_ids.extend(channel_ids[pair] for pair in spec.channels)
    await _mine(network, ANNOUNCE_BLOCKS)
    for (opener, accepter), channel_id in zip(spec.channels, network.channel_ids, strict=True):
        for index in (opener, accepter):
            if foreign is not None and index == foreign.index:
                await foreign.driver.wait_for_channel_state(channel_id, DriverChannelState.NORMAL, 60.0)
            else:
                await network.node(index).wait_for_channel(
                    channel_id.hex(), frozenset({ChannelState.NORMAL}), 60.0
                )


async def _connect(network: ReferenceNetwork, opener: int, accepter: int) -> None:
    """The opener connects to the accepter (BOLT 8), unless they are connected already."""
    foreign = network.foreign
    if foreign is not None and opener == foreign.index:
        node = network.node(accepter)
        if node.node.peer(foreign.node_id) is None:
            host, port = node.node.address
            await foreign.driver.connect(NodeAddress(node.node_id, host, port), 30.0)
        return
    node = network.node(opener)
    if foreign is not None and accepter == foreign.index:
        if node.node.peer(foreign.node_id) is None:
            await node.connect(foreign.node_id, foreign.address.host, foreign.address.port)
        return
    host, port = network.node(accepter).node.address
    if node.node.peer(network.node_id(accepter)) is None:
        await node.connect(network.node_id(accepter), host, port)


def graph_complete(network: ReferenceNetwork, position: int) -> bool:
    """The reference node at `position` (in `network.nodes`) knows every public channel (announced, both
    updates) and the announcement of every reference node with a public channel. A foreign node's own
    node_announcement is not required: BOLT 7 lets a node announce itself or not (LDK sends none
    unless asked), and routing through it needs only its channels' updates."""
    spec = network.spec
    public = [pair for pair in spec.channels if pair not in spec.private]
    graph = network.multihop[position].gossip.graph
    channels = [c for c in graph.channels() if c.public]
    if len(channels) < len(public):
        return False
    if any(c.update(d) is None for c in channels for d in Direction):
        return False
    announced = {node for pair in public for node in pair} & set(network.indexes)
    wanted = {network.node_id(i) for i in announced}
    have = {n.node_id for n in graph.nodes() if n.announcement is not None}
    return wanted <= have


async def wait_for_gossip(network: ReferenceNetwork, timeout_s: float) -> None:
    """Every reference node's graph is complete (the foreign node's graph is its own: not required)."""
    waits = [
        m.gossip.wait_for(functools.partial(graph_complete, network, i), timeout_s)
        for i, m in enumerate(network.multihop)
    ]
    await asyncio.gather(*waits)


def forwarding_policy(
    network: ReferenceNetwork, index: int, outgoing: ShortChannelId | None, next_index: int
) -> ChannelPolicy:
    """The fee policy node `index` forwards with over `outgoing` (to node `next_index`): the configured
    one for a reference node; for the foreign node, what its channel_update for `outgoing` advertises, as
    the reference node at the channel's other end received it (BOLT 7 "HTLC Fees": the forwarding node's
    own channel_update for the outgoing channel)."""
    foreign = network.foreign
    if foreign is None or index != foreign.index:
        policy = network.spec.policy
        return ChannelPolicy(
            cltv_expiry_delta=policy.cltv_expiry_delta,
            htlc_minimum_msat=policy.htlc_minimum_msat,
            htlc_maximum_msat=0,  # not a fee input
            fee_base_msat=policy.fee_base_msat,
            fee_proportional_millionths=policy.fee_proportional_millionths,
        )
    if outgoing is None:
        raise ExpectationFailed(f"node {index} forwards on an unknown channel: no policy to check its fee")
    graph = network.services(next_index, "hold the foreign node's channel_update").gossip.graph
    return advertised_policy(graph, outgoing, foreign.node_id)


def expected_fees_msat(
    network: ReferenceNetwork,
    path: tuple[int, ...],
    amount_msat: int,
    outgoing: tuple[ShortChannelId, ...] = (),
) -> dict[int, int]:
    """Each forwarding node's fee for delivering `amount_msat` along `path` (node indexes, payer first),
    from its policy (`forwarding_policy`; `outgoing[k]` is the channel from path[k] to path[k+1]): BOLT 7
    "HTLC Fees" fee_base_msat + amount_to_forward * fee_proportional_millionths / 1000000, computed
    backwards from the payee."""
    fees: dict[int, int] = {}
    forward = amount_msat
    for position in range(len(path) - 2, 0, -1):
        node = path[position]
        scid = outgoing[position] if position < len(outgoing) else None
        fee = forwarding_policy(network, node, scid, path[position + 1]).fee_msat(forward)
        fees[node] = fee
        forward += fee
    return fees


def path_of(network: ReferenceNetwork, route: Route) -> tuple[int, ...]:
    return tuple(network.index_of(n) for n in route.node_ids())


def check_balance_changes(
    network: ReferenceNetwork, before: list[int], after: list[int], parts: list[AttemptResult]
) -> str:
    """Every node's balance change to the msat: the payee gets what each part delivers, each forwarder
    its fee, the payer pays both; nobody else moves."""
    expected = [0] * network.spec.nodes
    for part in parts:
        path = path_of(network, part.route)
        delivered = part.route.final_amount_msat
        # hops[k] is reached over hops[k].short_channel_id: the channel from path[k] to path[k + 1]
        outgoing = tuple(hop.short_channel_id for hop in part.route.hops)
        fees = expected_fees_msat(network, path, delivered, outgoing)
        expected[path[-1]] += delivered
        for node, fee in fees.items():
            expected[node] += fee
        expected[path[0]] -= delivered + sum(fees.values())
    actual = [a - b for a, b in zip(after, before, strict=True)]
    if actual != expected:
        wrong = [
            f"node {i}: {actual[i]:+d} msat, expected {expected[i]:+d}"
            for i in range(len(actual))
            if actual[i] != expected[i]
        ]
        raise ExpectationFailed("balance changes differ: " + "; ".join(wrong))
    moved = sum(1 for change in actual if change)
    return f"{moved} node balances changed exactly as the fees say"


# -- steps -------------------------------------------------------------------------------------------------


def _member(ctx: StepContext, name: str, index: int) -> tuple[LightningNode | None, ForeignMember | None]:
    """The node under test as the network's node `index`: the in-process reference node itself (adopted),
    or any other driver (cln, ldk, an out-of-process reference node) as a foreign member."""
    from harness.drivers.reference import ReferenceDriver

    driver = ctx.driver(name)
    if isinstance(driver, ReferenceDriver) and driver.lightning is not None:
        return driver.lightning, None
    return None, ForeignMember(index, name, driver, ctx.address(name))


def _network(ctx: StepContext, name: str) -> ReferenceNetwork:
    value = ctx.get_value(f"network/{name}")
    assert isinstance(value, ReferenceNetwork)
    return value


@register_step
@dataclass(frozen=True)
class BuildNetwork(Step):
    """Start `nodes` reference nodes with channels (a line, a ring, or the `channels` pairs), confirmed and
    announced; stored under `name`."""

    NAME = "network"
    SUMMARY = "build a network of reference nodes with channels"
    name: str
    nodes: int
    topology: Topology = Topology.LINE
    channels: list[list[int]] = field(default_factory=list)
    channel_sat: int = 1_000_000
    push_msat: int = 0
    fee_base_msat: int = 1000
    fee_proportional_millionths: int = 10
    cltv_expiry_delta: int = 34
    mpp_timeout_s: float = 60.0
    target: DriverName | None = None
    target_at: int = 0
    timeout_s: float = DEFAULT_TIMEOUT_S

    def check_arguments(self) -> None:
        if self.target is not None and not 0 <= self.target_at < self.nodes:
            raise ValueError(f"target_at {self.target_at} is not a node of {self.nodes}")
        if self.nodes < 2:
            raise ValueError("a network needs at least 2 nodes")
        for pair in self.channels:
            if len(pair) != 2 or not all(0 <= i < self.nodes for i in pair) or pair[0] == pair[1]:
                raise ValueError(f"channel {pair} must name two different nodes below {self.nodes}")

    async def run(self, ctx: StepContext) -> str | None:
        chain = ctx.chain
        policy = ForwardingPolicy(
            fee_base_msat=self.fee_base_msat,
            fee_proportional_millionths=self.fee_proportional_millionths,
            cltv_expiry_delta=self.cltv_expiry_delta,
        )
        options = {
            "channel_sat": self.channel_sat,
            "push_msat": self.push_msat,
            "policy": policy,
            "mpp_timeout_s": self.mpp_timeout_s,
        }
        if self.channels:
            spec = NetworkSpec(self.nodes, tuple((a, b) for a, b in self.channels), **options)  # type: ignore[arg-type]
        else:
            spec = NetworkSpec.of_topology(self.nodes, self.topology, **options)
        adopt, foreign = {}, None
        if self.target is not None:
            # the node under test takes place `target_at`: adopted when it is an in-process reference node,
            # driven through its NodeDriver otherwise
            lightning, foreign = _member(ctx, self.target, self.target_at)
            if lightning is not None:
                adopt[self.target_at] = lightning
        network = await build_network(
            spec, chain, ctx.workdir / "network", ctx.scenario_seed, self.name, adopt, foreign
        )
        ctx.set_value(f"network/{self.name}", network)
        where = f"; {self.target} is node {self.target_at}" if self.target is not None else ""
        return f"{spec.nodes} nodes, {len(spec.channels)} channels normal{where}"


@register_step
@dataclass(frozen=True)
class WaitGossip(Step):
    """Every node's graph holds every channel (both updates) and every node_announcement."""

    NAME = "network_wait_gossip"
    SUMMARY = "wait until gossip reached every node"
    network: str
    timeout_s: float = DEFAULT_TIMEOUT_S

    async def run(self, ctx: StepContext) -> str | None:
        network = _network(ctx, self.network)
        await wait_for_gossip(network, self.timeout_s)
        detail = f"{len(network.nodes)} reference graphs hold {len(network.spec.channels)} channels"
        if network.foreign is None:
            return detail + " and every node"
        foreign = network.foreign
        announced = sum(
            1
            for m in network.multihop
            if (record := m.gossip.graph.node(foreign.node_id)) is not None
            and record.announcement is not None
        )
        return (
            f"{detail} and every reference node; {foreign.name}'s node_announcement reached "
            f"{announced} of them (its own graph is not read)"
        )


class Outcome(enum.Enum):
    SUCCESS = "success"
    FAILURE = "failure"


@register_step
@dataclass(frozen=True)
class NetworkPay(Step):
    """`payee` creates an invoice, `payer` pays it over routes it finds (retries, multi-part); on success
    every node's balance change is checked to the msat. `min_parts` asks for a multi-part payment."""

    NAME = "network_pay"
    SUMMARY = "pay across the network, checking every node's balance change"
    network: str
    payer: int
    payee: int
    amount_msat: int
    expect: Outcome = Outcome.SUCCESS
    min_parts: int = 1
    min_hops: int = 1
    timeout_s: float = DEFAULT_TIMEOUT_S

    async def run(self, ctx: StepContext) -> str | None:
        network = _network(ctx, self.network)
        payee = network.node(self.payee, "be the network's payee")
        label = f"network-{ctx.rng.getrandbits(64):016x}"
        invoice = payee.payments.create_invoice(self.amount_msat, label, "boltcheck multi-hop")
        if network.foreign is not None and self.payer == network.foreign.index:
            return await self._foreign_pays(network, network.foreign, invoice.bolt11)
        payer = network.services(self.payer, "pay from the network's payer")
        await network.settled(self.timeout_s)
        before = network.balances_msat()
        result = await payer.payer.pay(invoice.bolt11, None, self.timeout_s)
        if self.expect is Outcome.FAILURE:
            if result.status is PaymentStatus.COMPLETE:
                raise ExpectationFailed("the payment succeeded; it had to fail")
            return f"failed as expected: {result.failure}"
        if result.status is not PaymentStatus.COMPLETE:
            raise ExpectationFailed(f"payment failed: {result.failure}")
        parts = [a for a in result.attempts if a.status is AttemptStatus.COMPLETE]
        if len(parts) < self.min_parts:
            raise ExpectationFailed(f"{len(parts)} part(s), {self.min_parts} expected")
        hops = max(len(p.route.hops) for p in parts)
        if hops < self.min_hops:
            raise ExpectationFailed(f"longest route has {hops} hops, {self.min_hops} expected")
        await network.settled(self.timeout_s)
        paid = payee.store.invoice(invoice.payment_hash)
        if paid is None or paid.received_msat is None or paid.received_msat < self.amount_msat:
            raise ExpectationFailed("the payee's invoice is not paid in full")
        detail = check_balance_changes(network, before, network.balances_msat(), parts)
        detail += await network.check_foreign_balance(self.timeout_s)
        return f"{len(parts)} part(s) over {hops} hop(s), {len(result.attempts)} attempt(s); {detail}"

    async def _foreign_pays(self, network: ReferenceNetwork, foreign: ForeignMember, bolt11: str) -> str:
        """The node under test pays through its driver, over a route of its own choosing."""
        if self.min_parts > 1 or self.min_hops > 1 or self.expect is Outcome.FAILURE:
            raise UnsupportedOperation(
                foreign.driver.implementation,
                "network_pay",
                "min_parts, min_hops and expect: failure need the payer's routes; node under test pays alone",
            )
        await network.settled(self.timeout_s)
        before = network.balances_msat()
        result = await foreign.driver.pay(bolt11, self.timeout_s)
        if not result.succeeded:
            raise ExpectationFailed(f"{foreign.name} could not pay: {result.failure}")
        await network.settled(self.timeout_s)
        detail = check_paid_by_foreign(
            before, network.balances_msat(), self.payer, self.payee, self.amount_msat
        )
        detail += await network.check_foreign_balance(self.timeout_s)
        return f"{foreign.name} paid; {detail}"


class RouteFault(enum.Enum):
    """How `network_sendpay` spoils the route it sends (each makes one hop fail in a known way)."""

    NONE = "none"
    FEE_SHORT = "fee_short"  # hop `at_hop` receives 1 msat less than its fee asks
    CLTV_SHORT = "cltv_short"  # hop `at_hop` gets a cltv_expiry 1 block short of its delta
    EXPIRY_TOO_SOON = "expiry_too_soon"  # hop `at_hop`'s outgoing HTLC would expire a block from now
    UNKNOWN_CHANNEL = "unknown_channel"  # hop `at_hop` is asked to forward over a channel it does not have
    BAD_ONION = "bad_onion"  # the onion layer of hop `at_hop` is encrypted to another key
    UNKNOWN_PAYMENT_HASH = "unknown_payment_hash"  # a hash the payee has no invoice for
    UNDERPAY = "underpay"  # the payee receives less than the invoice asks


@register_step
@dataclass(frozen=True)
class NetworkSendpay(Step):
    """`payer` sends one HTLC to `payee` along the line between them (Core Lightning's sendpay), spoiled by
    `fault`; then checks which hop failed (`expect_erring_hop`, counted from the payer's peer = 0) and
    with which BOLT 4 failure (`expect_failure`, the spec's name), as the payer decodes it."""

    NAME = "network_sendpay"
    SUMMARY = "send along a given route and check the failure's code and origin"
    network: str
    payer: int
    payee: int
    amount_msat: int
    fault: RouteFault = RouteFault.NONE
    at_hop: int = 0
    expect_failure: str | None = None
    expect_erring_hop: int | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S

    async def run(self, ctx: StepContext) -> str | None:
        network = _network(ctx, self.network)
        payer = network.services(self.payer, "send from the network's payer").payer
        payee = network.node(self.payee, "be the network's payee")
        label = f"sendpay-{ctx.rng.getrandbits(64):016x}"
        invoice_amount = self.amount_msat + (1 if self.fault is RouteFault.UNDERPAY else 0)
        row = payee.payments.create_invoice(invoice_amount, label, "boltcheck sendpay")
        invoice = payer.decode(row.bolt11)
        payment_hash = invoice.payment_hash
        if self.fault is RouteFault.UNKNOWN_PAYMENT_HASH:
            payment_hash = hashlib.sha256(b"no such invoice" + payment_hash).digest()
        route = _spoil(
            network,
            payer.get_route(
                invoice.payee_node_id, self.amount_msat, invoice.min_final_cltv_expiry_delta, invoice
            ),
            self,
        )
        onion_keys = None
        if self.fault is RouteFault.BAD_ONION:
            keys = [hop.node_id for hop in route.hops]
            keys[self.at_hop] = network.node_id(self.payer)  # a key the hop does not hold
            onion_keys = tuple(keys)
        await network.settled(self.timeout_s)
        before = network.balances_msat()
        attempt = await payer.send_route(
            route, payment_hash, invoice.payment_secret, route.final_amount_msat, onion_keys=onion_keys
        )
        result = await payer.wait_attempt(payment_hash, attempt.partid, self.timeout_s)
        if self.expect_failure is None:
            if result.status is not AttemptStatus.COMPLETE:
                raise ExpectationFailed(f"failed at hop {result.erring_index}: {result.failure_name}")
            return "complete"
        if result.status is AttemptStatus.COMPLETE:
            raise ExpectationFailed(f"complete; expected {self.expect_failure}")
        foreign = network.foreign
        if (
            self.fault is RouteFault.EXPIRY_TOO_SOON
            and foreign is not None
            and result.erring_index is not None
            and result.erring_index > self.at_hop
            and path_of(network, route)[self.at_hop + 1] == foreign.index
        ):
            # BOLT 4 "Failure Messages": a forwarding node MAY return expiry_too_soon when the cltv_expiry
            # is unreasonably near the present; forwarding instead is allowed, so this is no failure
            raise UnsupportedOperation(
                foreign.driver.implementation,
                "network_sendpay expiry_too_soon",
                f"the node under test forwarded an HTLC expiring a block from now (a MAY not taken: "
                f"{result.failure_name} came from hop {result.erring_index})",
            )
        if result.failure_name != self.expect_failure:
            raise ExpectationFailed(
                f"failure {result.failure_name} ({result.detail}) from hop {result.erring_index}, "
                f"expected {self.expect_failure}"
            )
        if self.expect_erring_hop is not None and result.erring_index != self.expect_erring_hop:
            raise ExpectationFailed(
                f"{result.failure_name} attributed to hop {result.erring_index}, "
                f"expected {self.expect_erring_hop}"
            )
        assert result.erring_node is not None
        erring = network.index_of(result.erring_node)
        await network.settled(self.timeout_s)
        if network.balances_msat() != before:
            # a failed HTLC is removed from every channel it crossed: nobody gains or loses anything
            raise ExpectationFailed(f"balances moved after a failure: {before} -> {network.balances_msat()}")
        agreed = await network.check_foreign_balance(self.timeout_s)
        return (
            f"{result.failure_name} from hop {result.erring_index} (node {erring}), attributed by the payer; "
            f"no balance moved{agreed}"
        )


def _spoil(network: ReferenceNetwork, route: Route, step: NetworkSendpay) -> Route:
    """The route with the step's fault applied (hop amounts and expiries recomputed as a payer would)."""
    hops, edges = list(route.hops), list(route.edges)
    at = step.at_hop
    fault = step.fault
    if fault in (
        RouteFault.FEE_SHORT,
        RouteFault.CLTV_SHORT,
        RouteFault.UNKNOWN_CHANNEL,
        RouteFault.EXPIRY_TOO_SOON,
    ) and not (0 <= at < len(hops) - 1):
        raise ValueError(f"at_hop {at} must be a forwarding hop of a {len(hops)}-hop route")
    if fault is RouteFault.FEE_SHORT:
        # the HTLCs up to hop `at` carry 1 msat less, its payload still asks the same: 1 msat short of its fee
        hops[: at + 1] = [
            dataclasses.replace(h, htlc_amount_msat=h.htlc_amount_msat - 1) for h in hops[: at + 1]
        ]
        hops[:at] = [
            dataclasses.replace(h, amount_to_forward_msat=h.amount_to_forward_msat - 1) for h in hops[:at]
        ]
    elif fault is RouteFault.CLTV_SHORT:
        hops[: at + 1] = [
            dataclasses.replace(h, htlc_cltv_expiry=h.htlc_cltv_expiry - 1) for h in hops[: at + 1]
        ]
        hops[:at] = [dataclasses.replace(h, outgoing_cltv_value=h.outgoing_cltv_value - 1) for h in hops[:at]]
    elif fault is RouteFault.EXPIRY_TOO_SOON:
        # hop `at` forwards with outgoing_cltv_value = height + 1: the final value less the deltas after it
        height = network.nodes[0].current_height()
        later_deltas = sum(edge.policy.cltv_expiry_delta for edge in edges[at + 2 :])
        rebuilt = build_route(edges, route.final_amount_msat, height + 1 - later_deltas)
        return Route(route.source_node_id, rebuilt.hops, rebuilt.edges)
    elif fault is RouteFault.UNKNOWN_CHANNEL:
        bogus = ShortChannelId(1, 0xFFFFFF, 0xFFFF)
        hops[at + 1] = dataclasses.replace(hops[at + 1], short_channel_id=bogus)
    return Route(route.source_node_id, tuple(hops), tuple(edges))


@register_step
@dataclass(frozen=True)
class StopNetwork(Step):
    """Stop every node of the network (the last step of a scenario that built one)."""

    NAME = "network_stop"
    SUMMARY = "stop the network's nodes"
    network: str

    async def run(self, ctx: StepContext) -> str | None:
        network = _network(ctx, self.network)
        await network.stop()
        return f"{len(network.nodes)} reference nodes stopped"
