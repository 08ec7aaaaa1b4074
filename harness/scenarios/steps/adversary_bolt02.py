"""Adversarial BOLT 2 steps: the reference node, as a peer of the node under test, breaks one receiver
rule of "Normal Operation", "Channel Close" or "Message Retransmission" on purpose, and the scenario
checks the node's reaction (an `error` or `warning` it sent, a closed connection, a failed channel).

Every fault here is computed from what the reference peer knows of the channel (the limits the node
under test announced, the balances, the commitment numbers), so it breaks exactly one rule whatever the
implementation under test: a node that rejects for another reason is caught where it matters (the
legitimate messages before the faulty one go through a ping barrier first).

- `offer_raw_htlcs`: `update_add_htlc`s beyond the node's `max_accepted_htlcs`, or one its sender cannot
  afford; `offer_same_hash_htlcs`: two HTLCs with one `payment_hash`, committed;
  `wait_shutdown_received`: the other side's `shutdown` arrived.
- `miscount_next_htlc_signatures`: a `commitment_signed` with one `htlc_signature` too few or too many;
  `corrupt_next_revoke_and_ack`: a `per_commitment_secret` that does not generate the point;
  `corrupt_next_closing_signed`: a wrong `closing_signed` signature; `begin_close`: the reference node
  sends `shutdown` and does not wait.
- `corrupt_next_channel_reestablish`: one wrong field in the next `channel_reestablish`.
- The reactions (`expect_notice`, `expect_no_rejection`, ...) are in adversary_bolt02_notices.py.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from coincurve import PrivateKey

from harness.drivers.base import UnsupportedOperation
from harness.drivers.peer import ExpectationFailed
from harness.scenarios.fields import build_complete
from harness.scenarios.registry import register_step
from harness.scenarios.step import DriverName, Step, StepContext
from harness.scenarios.steps.adversary_bolt02_notices import (
    BARRIER_TIMEOUT_S,
    before_misbehaviour,
    channel_slot,
    ping_barrier,
)
from harness.scenarios.steps.channels import (
    reference_node,
    wrong_signature,
)
from reference_node.channel.actions import Action
from reference_node.channel.ledger import REMOVALS
from reference_node.channel.messages import ChannelReestablish
from reference_node.channel.params import Side
from reference_node.channel.revocation import remote_secret
from reference_node.channel.signer import (
    ChannelSigner,
    ClosingTxSpec,
    CommitmentSignatures,
    CommitmentView,
    FundingInfo,
)
from reference_node.node import LightningNode
from reference_node.payments.channels import ChannelSlot
from reference_node.wire import encode_message

# BOLT 2 `update_add_htlc`: "MUST set `cltv_expiry` less than 500000000"; a plausible expiry instead
CLTV_EXPIRY_DELTA_BLOCKS = 144


# -- update_add_htlc beyond the receiver's limits --------------------------------------------------------


class HtlcViolation(enum.Enum):
    # BOLT 2: "if a sending node adds more than receiver `max_accepted_htlcs` HTLCs to its local
    # commitment transaction"
    MAX_ACCEPTED_HTLCS = "max_accepted_htlcs"
    # BOLT 2: "receiving an `amount_msat` that the sending node cannot afford at the current
    # `feerate_per_kw` (while maintaining its channel reserve ...)"
    UNAFFORDABLE = "unaffordable"


@dataclass(frozen=True)
class HtlcBurst:
    """The `update_add_htlc`s to send: `legitimate` within every limit, then the one `violating`."""

    first_id: int
    legitimate_amounts_msat: tuple[int, ...]
    violating_amount_msat: int


def plan_htlc_burst(slot: ChannelSlot, violation: HtlcViolation) -> HtlcBurst:
    """From the reference peer's view of the channel: its next HTLC id, its balance and reserve, and the
    limits the node under test announced (`remote_params`). UnsupportedOperation when the node's limits
    leave no room to break the rule alone (e.g. a max_accepted_htlcs the balance cannot reach)."""
    channel = slot.channel
    limits = channel.remote_params
    ledger = channel.ledger
    ours_msat, _ = channel.balances_msat()
    # the most the sender may offer in total without touching its reserve (fees only lower it)
    spendable_msat = ours_msat - channel.reserve_msat_of(Side.LOCAL)
    if violation is HtlcViolation.MAX_ACCEPTED_HTLCS:
        amount_msat = max(limits.htlc_minimum_msat, 1_000)
        count = limits.max_accepted_htlcs + 1
        if count * amount_msat > min(spendable_msat, limits.max_htlc_value_in_flight_msat) // 2:
            raise UnsupportedOperation(
                "scenario",
                "offer_raw_htlcs",
                f"{count} HTLCs of {amount_msat} msat would break another limit first",
            )
        return HtlcBurst(ledger.next_local_htlc_id, (amount_msat,) * (count - 1), amount_msat)
    amount_msat = spendable_msat + 1
    if not limits.htlc_minimum_msat <= amount_msat <= limits.max_htlc_value_in_flight_msat:
        raise UnsupportedOperation(
            "scenario",
            "offer_raw_htlcs",
            f"an unaffordable {amount_msat} msat is outside the node's HTLC limits",
        )
    return HtlcBurst(ledger.next_local_htlc_id, (), amount_msat)


@register_step
@dataclass(frozen=True)
class OfferRawHtlcs(Step):
    """The reference node `node` offers `to` HTLCs outside its own state machine (`update_add_htlc`
    only, never committed): those within `to`'s limits first, then, after a ping barrier proving `to`
    kept the channel, the one that breaks `violation`."""

    NAME = "offer_raw_htlcs"
    SUMMARY = "a reference peer offers HTLCs beyond the node's max_accepted_htlcs or its own means"
    node: DriverName
    to: DriverName
    violation: HtlcViolation
    channel: str = "channel"

    async def run(self, ctx: StepContext) -> str | None:
        ln = reference_node(ctx, self.node, "offer_raw_htlcs")
        slot = channel_slot(ctx, ln, self.channel)
        burst = plan_htlc_burst(slot, self.violation)
        to_id = ctx.driver(self.to).node_id
        cltv_expiry = ctx.chain.height() + CLTV_EXPIRY_DELTA_BLOCKS
        htlc_id = burst.first_id
        for amount_msat in burst.legitimate_amounts_msat:
            await self._add(ctx, ln, to_id, slot, htlc_id, amount_msat, cltv_expiry)
            htlc_id += 1
        try:
            await ping_barrier(ln, to_id, slot, self.to, BARRIER_TIMEOUT_S)
        except ExpectationFailed as exc:
            sent = htlc_id - burst.first_id
            raise ExpectationFailed(f"after {sent} HTLC(s) within its limits: {exc}") from exc
        before_misbehaviour(ctx, ln, self.node, self.to)
        await self._add(ctx, ln, to_id, slot, htlc_id, burst.violating_amount_msat, cltv_expiry)
        return (
            f"{self.node} offered {len(burst.legitimate_amounts_msat)} HTLC(s) within the limits, then "
            f"id {htlc_id} of {burst.violating_amount_msat} msat ({self.violation.value})"
        )

    async def _add(
        self,
        ctx: StepContext,
        ln: LightningNode,
        to_id: bytes,
        slot: ChannelSlot,
        htlc_id: int,
        amount_msat: int,
        cltv_expiry: int,
    ) -> None:
        fields = {
            "channel_id": slot.channel.channel_id.hex(),
            "id": htlc_id,
            "amount_msat": amount_msat,
            "payment_hash": hashlib.sha256(ctx.rng.randbytes(32)).hexdigest(),
            "cltv_expiry": cltv_expiry,
        }
        await ln.send_raw(to_id, encode_message(build_complete("update_add_htlc", fields)))


# BOLT 4 `onion_routing_packet`: version (1) + public_key (33) + hop_payloads (1300) + hmac (32)
ONION_HOP_PAYLOADS_LEN = 1300


def undecryptable_onion(ctx: StepContext) -> bytes:
    """A well-formed onion (version 0, a valid point) whose HMAC cannot verify: the final node fails
    the HTLC (BADONION) once it is committed, after the commitment dance this step is about."""
    point = PrivateKey(ctx.rng.randbytes(32)).public_key.format()
    return b"\x00" + point + ctx.rng.randbytes(ONION_HOP_PAYLOADS_LEN) + ctx.rng.randbytes(32)


@register_step
@dataclass(frozen=True)
class OfferSameHashHtlcs(Step):
    """The reference node `node` offers `count` HTLCs with one `payment_hash` through its own state
    machine (one `commitment_signed` for all) and waits until they are irrevocably committed in both
    commitments: BOLT 2 "MUST allow multiple HTLCs with the same `payment_hash`"."""

    NAME = "offer_same_hash_htlcs"
    SUMMARY = "a reference peer offers several HTLCs with one payment_hash"
    node: DriverName
    to: DriverName
    channel: str = "channel"
    count: int = 2
    amount_msat: int = 5_000_000
    timeout_s: float = 15.0

    def check_arguments(self) -> None:
        if self.count < 2 or self.amount_msat <= 0:
            raise ValueError("count must be 2 or more and amount_msat positive")

    async def run(self, ctx: StepContext) -> str | None:
        ln = reference_node(ctx, self.node, "offer_same_hash_htlcs")
        slot = channel_slot(ctx, ln, self.channel)
        channel = slot.channel
        payment_hash = hashlib.sha256(ctx.rng.randbytes(32)).digest()
        cltv_expiry = ctx.chain.height() + CLTV_EXPIRY_DELTA_BLOCKS
        before_misbehaviour(ctx, ln, self.node, self.to)
        first_id = channel.ledger.next_local_htlc_id
        for _ in range(self.count):
            onion = undecryptable_onion(ctx)

            def add(onion: bytes = onion) -> list[Action]:
                return channel.add_htlc(self.amount_msat, payment_hash, cltv_expiry, onion)[1]

            await ln.channels.run(slot, add)
        await ln.channels.commit_if_possible(slot)
        ids = set(range(first_id, first_id + self.count))

        def committed() -> bool:
            # every one of them in both current commitments, nothing left to sign or to revoke
            ledger = channel.data.ledger
            if ledger is None or ledger.remote_pending or ledger.has_changes_for(Side.REMOTE):
                return False
            return all(
                ids <= {h.htlc_id for h in ledger.current_view(side).htlcs if h.offerer is Side.LOCAL}
                for side in Side
            )

        try:
            await ln.channels.changes.wait_for(
                lambda: committed() or channel.data.failure is not None, self.timeout_s
            )
        except TimeoutError as exc:
            raise ExpectationFailed(
                f"{self.to} did not commit {self.count} HTLCs with one payment_hash "
                f"within {self.timeout_s:g}s"
            ) from exc
        if not committed():
            raise ExpectationFailed(f"the channel failed: {channel.data.failure}")
        return f"{self.to} committed HTLCs {sorted(ids)}, all paying {payment_hash.hex()[:16]}.."


@register_step
@dataclass(frozen=True)
class WaitShutdownReceived(Step):
    """Wait until the reference node `node` has received the other side's `shutdown` on `channel`."""

    NAME = "wait_shutdown_received"
    SUMMARY = "wait until a reference node received shutdown"
    node: DriverName
    channel: str = "channel"
    timeout_s: float = 15.0

    async def run(self, ctx: StepContext) -> str | None:
        ln = reference_node(ctx, self.node, "wait_shutdown_received")
        data = channel_slot(ctx, ln, self.channel).channel.data
        try:
            await ln.channels.changes.wait_for(lambda: data.closing.shutdown_received, self.timeout_s)
        except TimeoutError as exc:
            raise ExpectationFailed(
                f"no shutdown received on {self.channel} within {self.timeout_s:g}s"
            ) from exc
        return f"{self.node} received shutdown on {self.channel}"


@register_step
@dataclass(frozen=True)
class ExpectNoHtlcRemoval(Step):
    """For `window_s`, `peer` removes none of the reference node's HTLCs on `channel` (no
    `update_fulfill_htlc`, `update_fail_htlc` or `update_fail_malformed_htlc` arrives): BOLT 2 "until
    the corresponding HTLC is irrevocably committed in both sides' commitment transactions: MUST NOT
    send" them. A wait for something that must not happen: it ends on the first removal, else at
    `window_s`."""

    NAME = "expect_no_htlc_removal"
    SUMMARY = "the node removes none of the reference peer's HTLCs for a while"
    node: DriverName
    peer: DriverName
    channel: str = "channel"
    window_s: float = 3.0

    def check_arguments(self) -> None:
        if self.window_s <= 0:
            raise ValueError("window_s must be positive")

    async def run(self, ctx: StepContext) -> str | None:
        ln = reference_node(ctx, self.node, "expect_no_htlc_removal")
        channel = channel_slot(ctx, ln, self.channel).channel

        def removals() -> list[str]:
            ledger = channel.data.ledger
            if ledger is None:
                return []
            return [
                f"{u.kind.value} of HTLC {u.htlc_id}"
                for u in ledger.updates
                if u.proposer is Side.REMOTE and u.kind in REMOVALS
            ]

        try:
            await ln.channels.changes.wait_for(lambda: bool(removals()), self.window_s)
        except TimeoutError:
            return f"{self.peer} removed no HTLC within {self.window_s:g}s"
        raise ExpectationFailed(f"{self.peer} sent {', '.join(removals())} within {self.window_s:g}s")


# -- signatures and secrets, wrong on purpose ------------------------------------------------------------


class HtlcSignatureCount(enum.Enum):
    TOO_FEW = "too_few"
    TOO_MANY = "too_many"


class MiscountingSigner:
    """Delegates to the channel's signer, but the next commitment signatures carrying an HTLC get one
    `htlc_signature` too few (the last dropped) or too many (the first repeated); every signature
    present stays valid, so only `num_htlcs` is wrong."""

    def __init__(self, inner: ChannelSigner, count: HtlcSignatureCount) -> None:
        self._inner = inner
        self._count: HtlcSignatureCount | None = count

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)

    def sign_commitment(self, funding: FundingInfo, view: CommitmentView) -> CommitmentSignatures:
        sigs = self._inner.sign_commitment(funding, view)
        if self._count is None or not sigs.htlc_signatures:
            return sigs
        count, self._count = self._count, None
        if count is HtlcSignatureCount.TOO_FEW:
            return CommitmentSignatures(sigs.signature, sigs.htlc_signatures[:-1])
        return CommitmentSignatures(sigs.signature, (*sigs.htlc_signatures, sigs.htlc_signatures[0]))


class WrongRevocationSigner:
    """Delegates to the channel's signer, but the next `per_commitment_secret` it reveals (the one a
    `revoke_and_ack` carries) is a valid secret key that does not generate the revoked commitment's
    `per_commitment_point`."""

    def __init__(self, inner: ChannelSigner) -> None:
        self._inner = inner
        self._armed = True

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)

    def per_commitment_secret(self, commitment_number: int) -> bytes:
        secret = self._inner.per_commitment_secret(commitment_number)
        if not self._armed:
            return secret
        self._armed = False
        return wrong_secret(secret)


def wrong_secret(secret: bytes) -> bytes:
    """A valid secp256k1 secret key unrelated to `secret` (so only the point check can refuse it)."""
    candidate = hashlib.sha256(b"boltcheck/wrong-secret/" + secret).digest()
    PrivateKey(candidate)  # ValueError in the ~2^-128 case of an invalid key
    return candidate


class WrongClosingSigner:
    """Delegates to the channel's signer, but its next closing transaction signature is wrong."""

    def __init__(self, inner: ChannelSigner) -> None:
        self._inner = inner
        self._armed = True

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)

    def sign_closing(self, funding: FundingInfo, closing: ClosingTxSpec) -> bytes:
        signature = self._inner.sign_closing(funding, closing)
        if not self._armed:
            return signature
        self._armed = False
        return wrong_signature(signature)


@register_step
@dataclass(frozen=True)
class MiscountNextHtlcSignatures(Step):
    """The reference node's next `commitment_signed` carrying an HTLC on `channel` has one
    `htlc_signature` too few or too many (`num_htlcs` wrong, every signature valid)."""

    NAME = "miscount_next_htlc_signatures"
    SUMMARY = "a reference peer sends a commitment_signed with a wrong num_htlcs"
    node: DriverName
    peer: DriverName
    count: HtlcSignatureCount
    channel: str = "channel"

    async def run(self, ctx: StepContext) -> str | None:
        ln = reference_node(ctx, self.node, "miscount_next_htlc_signatures")
        slot = channel_slot(ctx, ln, self.channel)
        slot.channel.signer = MiscountingSigner(slot.channel.signer, self.count)  # type: ignore[assignment]
        before_misbehaviour(ctx, ln, self.node, self.peer)
        return f"{self.node}: next commitment_signed with an HTLC has {self.count.value.replace('_', ' ')}"


@register_step
@dataclass(frozen=True)
class CorruptNextRevokeAndAck(Step):
    """The reference node's next `revoke_and_ack` on `channel` carries a `per_commitment_secret` that
    does not generate the revoked commitment's point."""

    NAME = "corrupt_next_revoke_and_ack"
    SUMMARY = "a reference peer reveals a wrong per_commitment_secret"
    node: DriverName
    peer: DriverName
    channel: str = "channel"

    async def run(self, ctx: StepContext) -> str | None:
        ln = reference_node(ctx, self.node, "corrupt_next_revoke_and_ack")
        slot = channel_slot(ctx, ln, self.channel)
        slot.channel.signer = WrongRevocationSigner(slot.channel.signer)  # type: ignore[assignment]
        before_misbehaviour(ctx, ln, self.node, self.peer)
        return f"{self.node}: next revoke_and_ack carries a wrong per_commitment_secret"


@register_step
@dataclass(frozen=True)
class CorruptNextClosingSigned(Step):
    """The reference node's next `closing_signed` on `channel` carries a wrong signature."""

    NAME = "corrupt_next_closing_signed"
    SUMMARY = "a reference peer signs its next closing_signed with a wrong key"
    node: DriverName
    peer: DriverName
    channel: str = "channel"

    async def run(self, ctx: StepContext) -> str | None:
        ln = reference_node(ctx, self.node, "corrupt_next_closing_signed")
        slot = channel_slot(ctx, ln, self.channel)
        slot.channel.signer = WrongClosingSigner(slot.channel.signer)  # type: ignore[assignment]
        before_misbehaviour(ctx, ln, self.node, self.peer)
        return f"{self.node}: next closing_signed carries a wrong signature"


@register_step
@dataclass(frozen=True)
class BeginClose(Step):
    """The reference node sends `shutdown` on `channel` and returns at once (the close negotiation goes
    on, or fails, in the background)."""

    NAME = "begin_close"
    SUMMARY = "a reference node starts a mutual close without waiting"
    node: DriverName
    channel: str = "channel"

    async def run(self, ctx: StepContext) -> str | None:
        ln = reference_node(ctx, self.node, "begin_close")
        slot = channel_slot(ctx, ln, self.channel)
        await ln.channels.command(slot, slot.channel.shutdown)
        return f"{self.node} sent shutdown"


@register_step
@dataclass(frozen=True)
class WaitChannelQuiet(Step):
    """Both sides agree on the channel's state: the reference node `node` has nothing unsigned and no
    revocation awaited, and `peer` has read everything it sent (ping barrier), twice over (so a last
    `revoke_and_ack` answering a `commitment_signed` that crossed the first barrier has arrived too).
    Before a `disconnect_nodes` whose `channel_reestablish` must say exactly where the channel is."""

    NAME = "wait_channel_quiet"
    SUMMARY = "wait until nothing is in flight on a channel, on either side"
    node: DriverName
    peer: DriverName
    channel: str = "channel"
    timeout_s: float = 15.0

    async def run(self, ctx: StepContext) -> str | None:
        ln = reference_node(ctx, self.node, "wait_channel_quiet")
        slot = channel_slot(ctx, ln, self.channel)
        try:
            for _ in range(2):
                await ln.flush_channel(slot, self.timeout_s)
        except TimeoutError as exc:
            raise ExpectationFailed(f"{self.channel} still busy after {self.timeout_s:g}s") from exc
        await ping_barrier(ln, ctx.driver(self.peer).node_id, slot, self.peer, self.timeout_s)
        return f"nothing in flight on {self.channel}"


# -- channel_reestablish with one wrong field -------------------------------------------------------------


class ReestablishFault(enum.Enum):
    # "if `next_commitment_number` is zero: MUST immediately fail the channel and broadcast"
    NEXT_COMMITMENT_NUMBER_ZERO = "next_commitment_number_zero"
    # one more than the commitment number of the next `commitment_signed` the node would send
    NEXT_COMMITMENT_NUMBER_AHEAD = "next_commitment_number_ahead"
    # "if `your_last_per_commitment_secret` does not match the expected values"
    YOUR_LAST_PER_COMMITMENT_SECRET = "your_last_per_commitment_secret"
    # two revocations behind (one behind asks for a retransmission), with the secret that matches it: only
    # "if `next_revocation_number` is not equal to 1 greater than the commitment number of the last
    # `revoke_and_ack` the receiving node has sent" is broken
    NEXT_REVOCATION_NUMBER_BEHIND = "next_revocation_number_behind"


def apply_reestablish_fault(
    message: ChannelReestablish, fault: ReestablishFault, revealed_secret: Callable[[int], bytes | None]
) -> ChannelReestablish:
    """`message` (as the channel's state says) with the one field of `fault` wrong; `revealed_secret(n)`
    is the secret the other node revealed for its commitment `n` (None if not revealed)."""
    if fault is ReestablishFault.NEXT_COMMITMENT_NUMBER_ZERO:
        return dataclasses.replace(message, next_commitment_number=0)
    if fault is ReestablishFault.NEXT_COMMITMENT_NUMBER_AHEAD:
        return dataclasses.replace(message, next_commitment_number=message.next_commitment_number + 1)
    if fault is ReestablishFault.NEXT_REVOCATION_NUMBER_BEHIND:
        behind = message.next_revocation_number - 2
        secret = revealed_secret(behind - 1) if behind >= 1 else None
        if secret is None:
            raise ExpectationFailed(
                f"next_revocation_number {message.next_revocation_number}: too few revocations to go two back"
            )
        return dataclasses.replace(
            message, next_revocation_number=behind, your_last_per_commitment_secret=secret
        )
    return dataclasses.replace(
        message, your_last_per_commitment_secret=wrong_secret(message.your_last_per_commitment_secret)
    )


@register_step
@dataclass(frozen=True)
class CorruptNextChannelReestablish(Step):
    """The next `channel_reestablish` the reference node sends on `channel` (at the next connection)
    has one field wrong, every other field as the channel's state says."""

    NAME = "corrupt_next_channel_reestablish"
    SUMMARY = "a reference peer sends its next channel_reestablish with one wrong field"
    node: DriverName
    peer: DriverName
    fault: ReestablishFault
    channel: str = "channel"

    async def run(self, ctx: StepContext) -> str | None:
        ln = reference_node(ctx, self.node, "corrupt_next_channel_reestablish")
        channel = channel_slot(ctx, ln, self.channel).channel
        if ln.node.peer(ctx.driver(self.peer).node_id) is not None:
            raise ValueError(f"{self.node} is still connected to {self.peer}: disconnect_nodes first")
        # built now: while disconnected the channel's state (its commitment numbers) cannot change
        message = apply_reestablish_fault(
            channel._reestablish_message(), self.fault, lambda n: remote_secret(channel.data, n)
        )

        def corrupted() -> ChannelReestablish:
            # one-shot: the channel's own builder again from the next reconnection on
            del channel._reestablish_message
            return message

        channel._reestablish_message = corrupted  # type: ignore[method-assign]
        before_misbehaviour(ctx, ln, self.node, self.peer)
        changed = f"next_commitment_number {message.next_commitment_number}, next_revocation_number "
        changed += f"{message.next_revocation_number}"
        return f"{self.node}: next channel_reestablish with a wrong {self.fault.value} ({changed})"
