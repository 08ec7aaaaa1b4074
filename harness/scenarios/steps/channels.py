"""Channel-level steps (BOLT 2): fund a node, open, close and force-close channels, wait for states,
update_fee, disconnect and kill nodes.

Channels are named in the scenario (`name: main`); a step that opens one stores its channel id under
that name and its funding outpoint under `<name>.funding` (usable by `expect_spend`). Steps that need
more than the NodeDriver interface (update_fee, kill) use the reference node's own controls and are
UnsupportedOperation (a skip) for other implementations. Adversarial steps a correct reference peer
performs on purpose (bad signatures, raw channel messages, dropped messages) are at the end.
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
from dataclasses import dataclass, field

from coincurve import PrivateKey

from harness.drivers.base import (
    ChannelInfo,
    ChannelState,
    DriverError,
    NodeDriver,
    OpenChannelOptions,
    UnsupportedOperation,
)
from harness.drivers.peer import Direction, ExpectationFailed
from harness.scenarios.fields import build_complete
from harness.scenarios.registry import register_step
from harness.scenarios.step import DriverName, HexBytes, MessageFields, NodeName, PeerName, Step, StepContext
from harness.scenarios.steps.chain import resolve_outpoint, wait_for_spend
from reference_node.channel import ChannelState as RefState
from reference_node.channel.params import Side
from reference_node.channel.signer import ChannelSigner, CommitmentSignatures, CommitmentView, FundingInfo
from reference_node.node import LightningNode, Network
from reference_node.wire import UnknownMessageNameError, WireError, encode_message

DEFAULT_TIMEOUT_S = 30.0
REGTEST_CHAIN_HASH = Network.REGTEST.chain_hash
# BOLT 2 `minimum_depth` the reference node asks for is 3; six blocks satisfy common defaults too.
CONFIRM_BLOCKS = 6


class ChannelTypeName(enum.Enum):
    """BOLT 2 channel types the drivers can open (BOLT 9 bits 12 and 22)."""

    STATIC_REMOTEKEY = "static_remotekey"
    ANCHORS = "anchors"


class ChannelStateName(enum.Enum):
    OPENING = "opening"
    AWAITING_LOCKIN = "awaiting_lockin"
    NORMAL = "normal"
    SHUTTING_DOWN = "shutting_down"
    CLOSING = "closing"
    CLOSED = "closed"

    def normalized(self) -> ChannelState:
        return ChannelState(self.value)


@dataclass(frozen=True)
class ChannelRef:
    """What `open_channel` stores under the channel's name."""

    channel_id: bytes
    opener: str
    accepter: str


def channel_ref(ctx: StepContext, name: str) -> ChannelRef:
    value = ctx.get_value(name)
    if not isinstance(value, ChannelRef):
        raise ValueError(f"{name!r} does not name a channel opened by an earlier open_channel step")
    return value


def reference_node(ctx: StepContext, name: str, operation: str) -> LightningNode:
    """The complete reference node behind a driven node, for steps beyond the NodeDriver interface."""
    from harness.drivers.reference import ReferenceDriver

    driver = ctx.driver(name)
    if not isinstance(driver, ReferenceDriver):
        raise UnsupportedOperation(driver.implementation, operation, "only the reference node has it")
    if driver.lightning is None:
        raise UnsupportedOperation("reference", operation, "the node runs without a chain")
    return driver.lightning


async def find_channel(driver: NodeDriver, channel_id: bytes) -> ChannelInfo:
    for info in await driver.list_channels():
        if info.channel_id == channel_id:
            return info
    raise ExpectationFailed(f"no channel {channel_id.hex()} on the node")


async def wait_state(
    ctx: StepContext, node: str, channel_id: bytes, states: tuple[ChannelState, ...], timeout_s: float
) -> ChannelInfo:
    """Wait until the node's channel is in one of `states` (the first to be reached)."""
    driver = ctx.driver(node)
    waits = [
        asyncio.ensure_future(driver.wait_for_channel_state(channel_id, state, timeout_s)) for state in states
    ]
    try:
        done, _ = await asyncio.wait(waits, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task.exception() is None:
                return task.result()
        info = await find_channel(driver, channel_id)
        wanted = " or ".join(s.value for s in states)
        raise ExpectationFailed(
            f"{node}: channel {channel_id.hex()[:16]}.. is {info.state.value}, not {wanted}, "
            f"after {timeout_s:g}s"
        )
    finally:
        for task in waits:
            task.cancel()
        await asyncio.gather(*waits, return_exceptions=True)


@register_step
@dataclass(frozen=True)
class Fund(Step):
    """Send `amount_sat` from the chain's faucet to a new address of the node, confirmed in a block."""

    NAME = "fund"
    SUMMARY = "give a driven node confirmed on-chain funds"
    node: DriverName
    amount_sat: int = 1_000_000

    def check_arguments(self) -> None:
        if self.amount_sat <= 0:
            raise ValueError("amount_sat must be positive")

    async def run(self, ctx: StepContext) -> str | None:
        driver = ctx.driver(self.node)
        address = await driver.new_address()
        chain = ctx.chain
        outpoint = await asyncio.to_thread(chain.fund, address, self.amount_sat)
        await asyncio.to_thread(chain.mine, 1)
        ctx.record_txid(outpoint.txid)
        balance_sat = await driver.onchain_balance_sat()
        if balance_sat < self.amount_sat:
            raise ExpectationFailed(f"{self.node}: on-chain balance {balance_sat} sat after funding")
        return f"{self.node} funded with {self.amount_sat} sat ({outpoint.txid}:{outpoint.vout})"


@register_step
@dataclass(frozen=True)
class DisconnectNodes(Step):
    """A driven node closes its connection to another node (the channel stays; reestablish follows a
    later `connect`)."""

    NAME = "disconnect_nodes"
    SUMMARY = "a driven node disconnects from a peer"
    node: DriverName
    peer: NodeName
    timeout_s: float = 10.0

    async def run(self, ctx: StepContext) -> str | None:
        peer_id = ctx.driver(self.peer).node_id if not ctx.is_peer(self.peer) else None
        if peer_id is None:
            raise UnsupportedOperation("scenario", "disconnect_nodes", "use `disconnect` for a scripted peer")
        await ctx.driver(self.node).disconnect(peer_id, self.timeout_s)
        return f"{self.node} disconnected from {self.peer}"


@register_step
@dataclass(frozen=True)
class OpenChannel(Step):
    """`opener` opens a channel to `to` (BOLT 2 v1 establishment). With `confirm` (the default) the
    funding transaction is mined `CONFIRM_BLOCKS` deep and both sides must reach `normal`."""

    NAME = "open_channel"
    SUMMARY = "open a channel between two driven nodes"
    opener: DriverName
    to: DriverName
    amount_sat: int = 500_000
    push_msat: int = 0
    channel_type: ChannelTypeName = ChannelTypeName.STATIC_REMOTEKEY
    announce: bool = False
    name: str = "channel"
    confirm: bool = True
    timeout_s: float = DEFAULT_TIMEOUT_S

    def check_arguments(self) -> None:
        if self.opener == self.to:
            raise ValueError("a node cannot open a channel to itself")
        if self.amount_sat <= 0 or self.push_msat < 0:
            raise ValueError("amount_sat must be positive and push_msat not negative")

    async def run(self, ctx: StepContext) -> str | None:
        opener, accepter = ctx.driver(self.opener), ctx.driver(self.to)
        options = OpenChannelOptions(announce=self.announce, channel_type=self.channel_type.value)
        try:
            info = await opener.open_channel(accepter.node_id, self.amount_sat, self.push_msat, options)
        except UnsupportedOperation:
            raise
        except DriverError as exc:
            raise ExpectationFailed(f"open_channel failed: {exc}") from exc
        ctx.set_value(self.name, ChannelRef(info.channel_id, self.opener, self.to))
        if info.funding_outpoint is not None:
            outpoint = f"{info.funding_outpoint.txid}:{info.funding_outpoint.vout}"
            ctx.set_value(f"{self.name}.funding", outpoint)
            ctx.record_txid(info.funding_outpoint.txid)
        if not self.confirm:
            return f"channel {info.channel_id.hex()} opening"
        await asyncio.to_thread(ctx.chain.mine, CONFIRM_BLOCKS)
        for node in (self.opener, self.to):
            await wait_state(ctx, node, info.channel_id, (ChannelState.NORMAL,), self.timeout_s)
        return f"channel {info.channel_id.hex()} ({self.channel_type.value}) normal on both sides"


@register_step
@dataclass(frozen=True)
class WaitFor(Step):
    """Wait for one condition: a channel `state` (or `local_balance_msat`) as `node` sees it, a chain
    `height`, or a spend of an outpoint (`spend_of`, e.g. `main.funding`) in the mempool or a block."""

    NAME = "wait_for"
    SUMMARY = "wait for a channel state or balance, a height, or a transaction"
    node: DriverName | None = None
    channel: str | None = None
    state: ChannelStateName | None = None
    local_balance_msat: int | None = None
    height: int | None = None
    spend_of: str | None = None
    confirmed: bool = False
    timeout_s: float = DEFAULT_TIMEOUT_S

    def check_arguments(self) -> None:
        conditions = [self.state, self.local_balance_msat, self.height, self.spend_of]
        if sum(c is not None for c in conditions) != 1:
            raise ValueError("give exactly one of state, local_balance_msat, height, spend_of")
        if (self.state is not None or self.local_balance_msat is not None) and (
            self.node is None or self.channel is None
        ):
            raise ValueError("state and local_balance_msat need node and channel")

    async def run(self, ctx: StepContext) -> str | None:
        if self.height is not None:
            await asyncio.to_thread(ctx.chain.wait_for_height, self.height, self.timeout_s)
            return f"height {ctx.chain.height()}"
        if self.spend_of is not None:
            outpoint = resolve_outpoint(ctx, self.spend_of)
            txid = await wait_for_spend(ctx.chain, outpoint, self.confirmed, self.timeout_s)
            ctx.record_txid(txid)
            return f"{txid} spends {outpoint}"
        assert self.node is not None and self.channel is not None
        ref = channel_ref(ctx, self.channel)
        if self.state is not None:
            wanted = (self.state.normalized(),)
            info = await wait_state(ctx, self.node, ref.channel_id, wanted, self.timeout_s)
            return f"{self.node}: {self.channel} is {info.state.value}"
        return await self._balance(ctx, ref)

    async def _balance(self, ctx: StepContext, ref: ChannelRef) -> str:
        driver = ctx.driver(self.node or "")
        info = await find_channel(driver, ref.channel_id)
        if info.local_balance_msat != self.local_balance_msat:
            raise ExpectationFailed(
                f"{self.node}: local balance {info.local_balance_msat} msat, "
                f"expected {self.local_balance_msat}"
            )
        return f"{self.node}: local balance {info.local_balance_msat} msat"


async def _close(ctx: StepContext, node: str, channel: str, force: bool, timeout_s: float) -> str:
    ref = channel_ref(ctx, channel)
    try:
        await ctx.driver(node).close(ref.channel_id, force)
    except UnsupportedOperation:
        raise
    except DriverError as exc:
        raise ExpectationFailed(f"close failed: {exc}") from exc
    outpoint = resolve_outpoint(ctx, f"{channel}.funding")
    txid = await wait_for_spend(ctx.chain, outpoint, False, timeout_s)
    ctx.record_txid(txid)
    ctx.set_value(f"{channel}.closing_txid", txid)
    return txid


@register_step
@dataclass(frozen=True)
class Close(Step):
    """Mutual close (BOLT 2 `shutdown`, then `closing_signed` or `closing_complete`): the closing
    transaction must reach the mempool, and with `confirm` a block; both sides then report `closed`
    or `closing`."""

    NAME = "close"
    SUMMARY = "mutual close of a channel"
    node: DriverName
    channel: str = "channel"
    confirm: bool = True
    timeout_s: float = DEFAULT_TIMEOUT_S

    async def run(self, ctx: StepContext) -> str | None:
        txid = await _close(ctx, self.node, self.channel, False, self.timeout_s)
        if self.confirm:
            await asyncio.to_thread(ctx.chain.mine, 1)
        return f"closing transaction {txid}"


@register_step
@dataclass(frozen=True)
class ForceClose(Step):
    """Unilateral close: the node broadcasts its latest commitment transaction."""

    NAME = "force_close"
    SUMMARY = "unilateral close of a channel"
    node: DriverName
    channel: str = "channel"
    confirm: bool = True
    timeout_s: float = DEFAULT_TIMEOUT_S

    async def run(self, ctx: StepContext) -> str | None:
        txid = await _close(ctx, self.node, self.channel, True, self.timeout_s)
        if self.confirm:
            await asyncio.to_thread(ctx.chain.mine, 1)
        return f"commitment transaction {txid}"


@register_step
@dataclass(frozen=True)
class UpdateFee(Step):
    """The node (the channel's opener, who pays the fee) sends `update_fee` and commits it."""

    NAME = "update_fee"
    SUMMARY = "the opener changes the commitment feerate"
    node: DriverName
    feerate_per_kw: int
    channel: str = "channel"
    timeout_s: float = DEFAULT_TIMEOUT_S

    def check_arguments(self) -> None:
        if self.feerate_per_kw <= 0:
            raise ValueError("feerate_per_kw must be positive")

    async def run(self, ctx: StepContext) -> str | None:
        ln = reference_node(ctx, self.node, "update_fee")
        ref = channel_ref(ctx, self.channel)
        slot = ln.channels.find(ref.channel_id.hex())
        await ln.channels.command(slot, lambda: slot.channel.update_fee(self.feerate_per_kw))

        def settled() -> bool:
            # committed in both commitments (BOLT 2: an update_fee applies once irrevocably committed)
            ledger = slot.channel.data.ledger
            return ledger is not None and all(
                ledger.current_view(side).feerate_per_kw == self.feerate_per_kw for side in Side
            )

        try:
            await ln.channels.changes.wait_for(settled, self.timeout_s)
        except TimeoutError as exc:
            raise ExpectationFailed(f"update_fee to {self.feerate_per_kw} not settled") from exc
        return f"feerate_per_kw {self.feerate_per_kw} committed"


@register_step
@dataclass(frozen=True)
class Kill(Step):
    """Stop a node abruptly: SIGKILL for a process node; in-process, every task is cancelled and every
    socket dropped without a clean shutdown. `start` or `restart` brings it back from its store."""

    NAME = "kill"
    SUMMARY = "kill a node (no clean shutdown)"
    node: DriverName

    async def run(self, ctx: StepContext) -> str | None:
        driver = ctx.driver(self.node)
        kill = getattr(driver, "kill", None)
        if kill is None:
            raise UnsupportedOperation(driver.implementation, "kill", "the driver has no kill")
        await kill()
        return f"{self.node} killed"


# -- adversarial steps: a correct reference peer misbehaves once, on purpose -----------------------------


class SignatureField(enum.Enum):
    SIGNATURE = "signature"
    HTLC_SIGNATURE = "htlc_signature"


def wrong_signature(label: bytes) -> bytes:
    """A well-formed (64-byte compact, LOW-S) signature by an unrelated key over an unrelated digest:
    parses everywhere, verifies nowhere."""
    key = PrivateKey(hashlib.sha256(b"boltcheck/wrong-key/" + label).digest())
    return key.sign_recoverable(hashlib.sha256(label).digest(), hasher=None)[:64]


class TamperingSigner:
    """Delegates to the channel's signer, but corrupts one field of the next commitment signatures it
    produces (the DESIGN's "sign with a wrong key" fault), then behaves again."""

    def __init__(self, inner: ChannelSigner, field: SignatureField) -> None:
        self._inner = inner
        self._field: SignatureField | None = field

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)

    def sign_commitment(self, funding: FundingInfo, view: CommitmentView) -> CommitmentSignatures:
        sigs = self._inner.sign_commitment(funding, view)
        field, self._field = self._field, None
        if field is SignatureField.SIGNATURE:
            return CommitmentSignatures(wrong_signature(sigs.signature), sigs.htlc_signatures)
        if field is SignatureField.HTLC_SIGNATURE and sigs.htlc_signatures:
            first, *rest = sigs.htlc_signatures
            return CommitmentSignatures(sigs.signature, (wrong_signature(first), *rest))
        self._field = field  # nothing to corrupt in this one (no HTLC): wait for the next
        return sigs


def _baseline_key(node: str, peer: str) -> str:
    return f"disconnects:{node}:{peer}"


def _remember_baseline(ctx: StepContext, ln: LightningNode, node: str, peer: str) -> None:
    ctx.set_value(_baseline_key(node, peer), len(ln.node.disconnects(ctx.driver(peer).node_id)))


@register_step
@dataclass(frozen=True)
class CorruptNextCommitmentSigned(Step):
    """The reference node `node` puts a wrong `signature` (or first `htlc_signature`) in the next
    `commitment_signed` it sends on `channel` (the next one with an HTLC, for `htlc_signature`)."""

    NAME = "corrupt_next_commitment_signed"
    SUMMARY = "a reference peer signs its next commitment with a wrong key"
    node: DriverName
    peer: DriverName
    channel: str = "channel"
    field: SignatureField = SignatureField.SIGNATURE

    async def run(self, ctx: StepContext) -> str | None:
        ln = reference_node(ctx, self.node, "corrupt_next_commitment_signed")
        slot = ln.channels.find(channel_ref(ctx, self.channel).channel_id.hex())
        slot.channel.signer = TamperingSigner(slot.channel.signer, self.field)  # type: ignore[assignment]
        _remember_baseline(ctx, ln, self.node, self.peer)
        return f"{self.node}: next commitment_signed carries a wrong {self.field.value}"


@register_step
@dataclass(frozen=True)
class SendChannelMessage(Step):
    """The reference node `node` sends `to` one BOLT 2 message on `channel`, built from `fields` (with
    `channel_id` filled in), outside its own state machine: out-of-order or forbidden on purpose."""

    NAME = "send_channel_message"
    SUMMARY = "a reference peer sends a raw channel message"
    node: DriverName
    to: DriverName
    message: str
    channel: str = "channel"
    fields: MessageFields = field(default_factory=dict)

    def check_arguments(self) -> None:
        try:
            build_complete(self.message, self.fields)
        except (WireError, UnknownMessageNameError) as exc:
            raise ValueError(f"bad message {self.message!r}: {exc}") from exc

    async def run(self, ctx: StepContext) -> str | None:
        ln = reference_node(ctx, self.node, "send_channel_message")
        channel_id = channel_ref(ctx, self.channel).channel_id
        message = build_complete(self.message, {**self.fields, "channel_id": channel_id.hex()})
        _remember_baseline(ctx, ln, self.node, self.to)
        await ln.send_raw(ctx.driver(self.to).node_id, encode_message(message))
        return f"{self.node} sent {self.message} on {self.channel}"


@register_step
@dataclass(frozen=True)
class SendRawFrom(Step):
    """The reference node `node` sends `to` raw message bytes (type included) on its live connection."""

    NAME = "send_raw_from"
    SUMMARY = "a reference peer sends raw message bytes mid-channel"
    node: DriverName
    to: DriverName
    hex: HexBytes

    def check_arguments(self) -> None:
        if not 2 <= len(self.hex) <= 65535:
            raise ValueError("a Lightning message is 2 to 65535 bytes, type included")

    async def run(self, ctx: StepContext) -> str | None:
        ln = reference_node(ctx, self.node, "send_raw_from")
        _remember_baseline(ctx, ln, self.node, self.to)
        await ln.send_raw(ctx.driver(self.to).node_id, self.hex)
        return f"{self.node} sent {len(self.hex)} raw bytes (type {int.from_bytes(self.hex[:2], 'big')})"


_REJECTED = frozenset({RefState.FAILED, RefState.CLOSING_BROADCAST, RefState.CLOSED})


@register_step
@dataclass(frozen=True)
class ExpectRejection(Step):
    """After a misbehaviour of the reference node `node`, `peer` reacts as BOLT 2 asks ("send a
    `warning` and close the connection, or send an `error` and fail the channel"): the channel fails
    at `node` (an `error` arrived) or `peer` closes the connection; with `disconnect_only`, only the
    latter counts (BOLT 1 rules for unknown even messages)."""

    NAME = "expect_rejection"
    SUMMARY = "the node fails the channel or closes the connection"
    node: DriverName
    peer: DriverName
    channel: str = "channel"
    disconnect_only: bool = False
    timeout_s: float = 10.0

    async def run(self, ctx: StepContext) -> str | None:
        ln = reference_node(ctx, self.node, "expect_rejection")
        peer_id = ctx.driver(self.peer).node_id
        baseline = ctx.get_value(_baseline_key(self.node, self.peer))
        assert isinstance(baseline, int)
        slot = ln.channels.find(channel_ref(ctx, self.channel).channel_id.hex())

        def disconnected() -> bool:
            return len(ln.node.disconnects(peer_id)) > baseline

        def rejected() -> bool:
            return disconnected() or (not self.disconnect_only and slot.channel.state in _REJECTED)

        try:
            await ln.channels.changes.wait_for(rejected, self.timeout_s)
        except TimeoutError as exc:
            raise ExpectationFailed(
                f"{self.peer} neither failed the channel nor closed the connection "
                f"within {self.timeout_s:g}s "
                f"(channel {slot.channel.state.value} at {self.node})"
            ) from exc
        if disconnected():
            return f"{self.peer} closed the connection"
        return f"{self.peer} failed the channel ({slot.channel.data.failure or slot.channel.state.value})"


class _DropRecorder(set[str]):
    """The reference node's `drop_message_types` control, as a connection that dies at a chosen step:
    from the first message of a listed type on, every channel message is lost (a live BOLT 8
    connection never loses one message and delivers the next). Each listed type it dropped is noted,
    so a step can wait for the drop (an event, not a sleep)."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(names)
        self.dropped: dict[str, asyncio.Event] = {name: asyncio.Event() for name in names}
        self.dead = False

    def __contains__(self, name: object) -> bool:
        hit = super().__contains__(name)
        if hit and isinstance(name, str):
            self.dropped[name].set()
            self.dead = True
        return self.dead


@register_step
@dataclass(frozen=True)
class DropMessages(Step):
    """From the next channel message of one of these types on, the reference node sends nothing more
    (lost, as when a connection breaks at that step of the dance); with an empty list it sends again."""

    NAME = "drop_messages"
    SUMMARY = "a reference node drops outgoing channel messages of some types"
    node: DriverName
    messages: list[str] = field(default_factory=list)

    async def run(self, ctx: StepContext) -> str | None:
        ln = reference_node(ctx, self.node, "drop_messages")
        ln.controls.drop_message_types = _DropRecorder(self.messages)
        return f"{self.node} drops {', '.join(self.messages) or 'nothing'}"


@register_step
@dataclass(frozen=True)
class WaitDropped(Step):
    """Wait until the reference node has dropped a `message` (set with `drop_messages`)."""

    NAME = "wait_dropped"
    SUMMARY = "wait until a reference node dropped a message"
    node: DriverName
    message: str
    timeout_s: float = 10.0

    async def run(self, ctx: StepContext) -> str | None:
        ln = reference_node(ctx, self.node, "wait_dropped")
        recorder = ln.controls.drop_message_types
        if not isinstance(recorder, _DropRecorder) or self.message not in recorder.dropped:
            raise ValueError(f"{self.node} was not told to drop {self.message} (drop_messages first)")
        try:
            await asyncio.wait_for(recorder.dropped[self.message].wait(), self.timeout_s)
        except TimeoutError as exc:
            raise ExpectationFailed(f"{self.node} sent no {self.message} within {self.timeout_s:g}s") from exc
        return f"{self.node} dropped a {self.message}"


# -- message level: a scripted peer opens a channel with the node, with chosen (bad) parameters --------

# BOLT 9 bits of the channel types (BOLT 2 `channel_type`): static_remotekey 12, anchors 22.
_CHANNEL_TYPE_HEX = {ChannelTypeName.STATIC_REMOTEKEY: "1000", ChannelTypeName.ANCHORS: "401000"}


_POINT_FIELDS = (
    "funding_pubkey",
    "revocation_basepoint",
    "payment_basepoint",
    "delayed_payment_basepoint",
    "htlc_basepoint",
    "first_per_commitment_point",
)


def _points(ctx: StepContext, count: int) -> list[str]:
    return [PrivateKey(ctx.rng.randbytes(32)).public_key.format().hex() for _ in range(count)]


@register_step
@dataclass(frozen=True)
class SendOpenChannel(Step):
    """The scripted `peer` sends `open_channel` with sound values (regtest, valid points, a reserve
    above the dust limit, the given `channel_type`), overridden by `fields`: the way to test each
    receiver check. The node under test needs its chain for channels, hence USES_CHAIN."""

    NAME = "send_open_channel"
    SUMMARY = "the scripted peer sends open_channel (sound values overridden by fields)"
    peer: PeerName
    channel_type: ChannelTypeName = ChannelTypeName.STATIC_REMOTEKEY
    fields: MessageFields = field(default_factory=dict)

    def check_arguments(self) -> None:
        try:
            build_complete("open_channel", self.fields)
        except WireError as exc:
            raise ValueError(f"bad open_channel fields: {exc}") from exc

    async def run(self, ctx: StepContext) -> str | None:
        names = _POINT_FIELDS
        sound: dict[str, object] = {
            "chain_hash": REGTEST_CHAIN_HASH.hex(),
            "temporary_channel_id": ctx.rng.randbytes(32).hex(),
            "funding_satoshis": 200_000,
            "push_msat": 0,
            "dust_limit_satoshis": 546,
            "max_htlc_value_in_flight_msat": 200_000_000,
            "channel_reserve_satoshis": 2_000,
            "htlc_minimum_msat": 1_000,
            "feerate_per_kw": 2_500,
            "to_self_delay": 144,
            "max_accepted_htlcs": 30,
            **dict(zip(names, _points(ctx, len(names)), strict=True)),
            "channel_flags": 0,
            "tlvs": {"channel_type": {"type": _CHANNEL_TYPE_HEX[self.channel_type]}},
        }
        await ctx.peer(self.peer).send("open_channel", {**sound, **self.fields})
        changed = ", ".join(sorted(self.fields)) or "nothing"
        return f"sent open_channel ({self.channel_type.value}; changed: {changed})"


@register_step
@dataclass(frozen=True)
class OpenChannelTo(Step):
    """The driven node starts opening a channel to the scripted `peer` and does not wait: the script
    then answers (`expect: open_channel`, `send_accept_channel` with chosen values)."""

    NAME = "open_channel_to_peer"
    SUMMARY = "a driven node starts opening a channel to a scripted peer"
    opener: DriverName
    peer: PeerName
    amount_sat: int = 200_000
    channel_type: ChannelTypeName = ChannelTypeName.STATIC_REMOTEKEY

    async def run(self, ctx: StepContext) -> str | None:
        opener = ctx.driver(self.opener)
        from harness.drivers.reference import ScriptedPeerSession

        session = ctx.peer(self.peer)
        if not isinstance(session, ScriptedPeerSession):
            raise UnsupportedOperation(
                "scenario", "open_channel_to_peer", "needs the reference scripted peer"
            )
        peer_id = session.key.public_key.format()
        options = OpenChannelOptions(announce=False, channel_type=self.channel_type.value)
        task = asyncio.ensure_future(opener.open_channel(peer_id, self.amount_sat, 0, options))
        task.add_done_callback(lambda t: t.cancelled() or t.exception())  # failure is the point
        ctx.set_value(f"opening:{self.opener}", task)
        return f"{self.opener} is opening a channel to {self.peer}"


@register_step
@dataclass(frozen=True)
class SendAcceptChannel(Step):
    """The scripted `peer` answers the last `open_channel` it received with `accept_channel`: sound
    values (the same temporary_channel_id and channel_type, valid points) overridden by `fields`."""

    NAME = "send_accept_channel"
    SUMMARY = "the scripted peer answers open_channel (sound values overridden by fields)"
    peer: PeerName
    fields: MessageFields = field(default_factory=dict)

    def check_arguments(self) -> None:
        try:
            build_complete("accept_channel", self.fields)
        except WireError as exc:
            raise ValueError(f"bad accept_channel fields: {exc}") from exc

    async def run(self, ctx: StepContext) -> str | None:
        session = ctx.peer(self.peer)
        received = [
            e for e in session.trace() if e.direction is Direction.RECEIVED and e.name == "open_channel"
        ]
        if not received:
            raise ExpectationFailed(f"{self.peer} has received no open_channel to answer")
        opened = received[-1].fields
        names = _POINT_FIELDS
        sound: dict[str, object] = {
            "temporary_channel_id": opened["temporary_channel_id"],
            "dust_limit_satoshis": 546,
            "max_htlc_value_in_flight_msat": 200_000_000,
            "channel_reserve_satoshis": max(2_000, int(opened["dust_limit_satoshis"])),
            "htlc_minimum_msat": 1_000,
            "minimum_depth": 3,
            "to_self_delay": 144,
            "max_accepted_htlcs": 30,
            **dict(zip(names, _points(ctx, len(names)), strict=True)),
            "tlvs": {"channel_type": dict(opened.get("tlvs", {}).get("channel_type", {}))},
        }
        await session.send("accept_channel", {**sound, **self.fields})
        changed = ", ".join(sorted(self.fields)) or "nothing"
        return f"sent accept_channel (changed: {changed})"
