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
from harness.drivers.base import UnsupportedOperation
from harness.drivers.peer import ExpectationFailed
from harness.drivers.reference import EmbeddedChainSource
from harness.scenarios.registry import register_step
from harness.scenarios.step import DriverName, Step, StepContext
from harness.scenarios.steps.network_chain import SharedBitcoindSource
from reference_node.chain_source import ChainSource
from reference_node.channel import ChannelState
from reference_node.forwarding.policy import ForwardingPolicy
from reference_node.forwarding.relay import RelayConfig
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
    spec: NetworkSpec
    chain: ChainBackend
    nodes: list[LightningNode]
    multihop: list[Multihop]
    channel_ids: list[bytes] = field(default_factory=list)
    adopted: frozenset[int] = frozenset()  # nodes a driver started (and stops)
    shared_source: SharedBitcoindSource | None = None  # the nodes' source on --chain bitcoind

    def index_of(self, node_id: bytes) -> int:
        return next(i for i, n in enumerate(self.nodes) if n.node_id == node_id)

    def balances_msat(self) -> list[int]:
        """Each node's balance summed over its channels (BOLT 2 commitment balances, HTLCs excluded)."""
        return [
            sum(s.channel.balances_msat()[0] for s in node.channels.slots.values() if s.channel.data.ledger)
            for node in self.nodes
        ]

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
        for index, node in enumerate(self.nodes):
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
) -> ReferenceNetwork:
    """Start `spec.nodes` reference nodes (or use the already started ones `adopt` gives by index), open
    every channel, confirm, and return once every channel is normal (gossip may still be spreading:
    `wait_for_gossip`)."""
    adopt = adopt or {}
    loop = asyncio.get_running_loop()
    # Each node long-polls the chain in a worker thread; the default pool (cores + 4) would starve.
    loop.set_default_executor(ThreadPoolExecutor(max_workers=4 * spec.nodes + 8))
    config = MultihopConfig(
        relay=RelayConfig(policy=spec.policy, mpp_timeout_s=spec.mpp_timeout_s),
        gossip=GossipConfig(broadcast_interval_s=spec.broadcast_interval_s, block_poll_s=1.0),
    )
    nodes, multihop = [], []
    source = node_chain_source(chain)
    for index in range(spec.nodes):
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
    network = ReferenceNetwork(spec, chain, nodes, multihop, adopted=frozenset(adopt), shared_source=shared)
    try:
        for index, (node, services) in enumerate(zip(nodes, multihop, strict=True)):
            if index not in adopt:
                await node.start()
            services.start()
        await _open_channels(network)
    except BaseException:
        await network.stop()
        raise
    return network


async def _open_channels(network: ReferenceNetwork) -> None:
    spec, chain, nodes = network.spec, network.chain, network.nodes
    openers = sorted({a for a, _ in spec.channels})
    for index in openers:
        count = sum(1 for a, _ in spec.channels if a == index)
        for _ in range(count):
            address = nodes[index].wallet.new_address()
            # a thread: over bitcoind RPC the call must not hold up the nodes sharing this event loop
            await asyncio.to_thread(chain.fund, address, spec.channel_sat + _FAUCET_EXTRA_SAT)
    await asyncio.to_thread(chain.mine, 1)
    await asyncio.gather(*(n.sync_chain() for n in nodes))
    for opener, accepter in spec.channels:
        host, port = nodes[accepter].node.address
        if nodes[opener].node.peer(nodes[accepter].node_id) is None:
            await nodes[opener].connect(nodes[accepter].node_id, host, port)
    # openers in parallel, each one's channels one at a time (its wallet's coin selection is not concurrent)
    channel_ids: dict[tuple[int, int], bytes] = {}

    async def open_all(opener: int) -> None:
        for a, accepter in spec.channels:
            if a == opener:
                funding = await nodes[a].fund_channel(
                    nodes[accepter].node_id,
                    spec.channel_sat,
                    spec.push_msat,
                    announce=(a, accepter) not in spec.private,
                )
                channel_ids[(a, accepter)] = funding.channel_id

    await asyncio.gather(*(open_all(opener) for opener in openers))
    network.channel_ids.extend(channel_ids[pair] for pair in spec.channels)
    await asyncio.to_thread(chain.mine, ANNOUNCE_BLOCKS)
    await asyncio.gather(*(n.sync_chain() for n in nodes))
    for (opener, accepter), channel_id in zip(spec.channels, network.channel_ids, strict=True):
        for index in (opener, accepter):
            await nodes[index].wait_for_channel(channel_id.hex(), frozenset({ChannelState.NORMAL}), 60.0)


def graph_complete(network: ReferenceNetwork, index: int) -> bool:
    """Node `index` knows every public channel (announced, both updates) and the announcement of every
    node with a public channel."""
    spec = network.spec
    public = [pair for pair in spec.channels if pair not in spec.private]
    graph = network.multihop[index].gossip.graph
    channels = [c for c in graph.channels() if c.public]
    if len(channels) < len(public):
        return False
    if any(c.update(d) is None for c in channels for d in Direction):
        return False
    announced = {node for pair in public for node in pair}
    return sum(1 for n in graph.nodes() if n.announcement is not None) >= len(announced)


async def wait_for_gossip(network: ReferenceNetwork, timeout_s: float) -> None:
    waits = [
        m.gossip.wait_for(functools.partial(graph_complete, network, i), timeout_s)
        for i, m in enumerate(network.multihop)
    ]
    await asyncio.gather(*waits)


def expected_fees_msat(network: ReferenceNetwork, path: tuple[int, ...], amount_msat: int) -> dict[int, int]:
    """Each forwarding node's fee for delivering `amount_msat` along `path` (node indexes, payer first),
    from the configured policy: BOLT 7 "HTLC Fees" fee_base_msat + amount_to_forward *
    fee_proportional_millionths / 1000000, computed backwards from the payee."""
    policy = network.spec.policy
    fees: dict[int, int] = {}
    forward = amount_msat
    for node in reversed(path[1:-1]):
        fee = policy.fee_base_msat + forward * policy.fee_proportional_millionths // 1_000_000
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
    expected = [0] * len(network.nodes)
    for part in parts:
        path = path_of(network, part.route)
        delivered = part.route.final_amount_msat
        fees = expected_fees_msat(network, path, delivered)
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


def _reference_node(ctx: StepContext, name: str, operation: str) -> LightningNode:
    from harness.drivers.reference import ReferenceDriver

    driver = ctx.driver(name)
    if not isinstance(driver, ReferenceDriver) or driver.lightning is None:
        raise UnsupportedOperation(
            driver.implementation, operation, "only an in-process reference node joins"
        )
    return driver.lightning


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
        adopt = {}
        if self.target is not None:
            # the node under test takes place `target_at` (only the reference node runs in-process)
            adopt[self.target_at] = _reference_node(ctx, self.target, self.NAME)
        network = await build_network(
            spec, chain, ctx.workdir / "network", ctx.scenario_seed, self.name, adopt
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
        return f"{len(network.nodes)} graphs hold {len(network.spec.channels)} channels and every node"


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
        payee = network.nodes[self.payee]
        label = f"network-{ctx.rng.getrandbits(64):016x}"
        invoice = payee.payments.create_invoice(self.amount_msat, label, "boltcheck multi-hop")
        await network.settled(self.timeout_s)
        before = network.balances_msat()
        result = await network.multihop[self.payer].payer.pay(invoice.bolt11, None, self.timeout_s)
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
        return f"{len(parts)} part(s) over {hops} hop(s), {len(result.attempts)} attempt(s); {detail}"


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
        payer = network.multihop[self.payer].payer
        payee = network.nodes[self.payee]
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
            keys[self.at_hop] = network.nodes[self.payer].node_id  # a key the hop does not hold
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
        return (
            f"{result.failure_name} from hop {result.erring_index} (node {erring}), attributed by the payer; "
            "no balance moved"
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
        return f"{len(network.nodes)} nodes stopped"
