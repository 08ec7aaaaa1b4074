"""The BOLT 2 adversarial steps (harness/scenarios/steps/adversary_bolt02.py): each fault breaks exactly
the one rule it names, and the error/warning recorder sees what a node received."""

from __future__ import annotations

import asyncio
import dataclasses
import random
from dataclasses import dataclass, field
from typing import Any, cast

import pytest
from coincurve import PrivateKey, PublicKey

from harness.drivers.base import UnsupportedOperation
from harness.drivers.peer import ExpectationFailed
from harness.scenarios.steps.adversary_bolt02 import (
    HtlcSignatureCount,
    HtlcViolation,
    MiscountingSigner,
    ReestablishFault,
    WrongClosingSigner,
    WrongRevocationSigner,
    apply_reestablish_fault,
    plan_htlc_burst,
    undecryptable_onion,
    wrong_secret,
)
from harness.scenarios.steps.adversary_bolt02_notices import NoticeName, NoticeRecorder, ReceivedNoticeMatch
from reference_node.channel.messages import ChannelReestablish
from reference_node.channel.params import ChannelParams, Side
from reference_node.channel.signer import ChannelSigner, CommitmentSignatures
from reference_node.wire import ErrorMessage, WarningMessage

SECRET = bytes(range(1, 33))
SIG_A, SIG_B, SIG_C = b"\x0a" * 64, b"\x0b" * 64, b"\x0c" * 64


# -- channel_reestablish faults ------------------------------------------------------------------------


def _reestablish() -> ChannelReestablish:
    point = PrivateKey(SECRET).public_key.format()
    return ChannelReestablish(bytes(32), 5, 4, SECRET, point)


def _changed_fields(before: ChannelReestablish, after: ChannelReestablish) -> set[str]:
    return {f.name for f in dataclasses.fields(before) if getattr(before, f.name) != getattr(after, f.name)}


def _revealed(commitment_number: int) -> bytes | None:
    """The secrets the other node revealed, for its commitments 0 to 3 (the reestablish says 4)."""
    return bytes([commitment_number + 1]) * 32 if commitment_number < 4 else None


def _fault(fault: ReestablishFault) -> ChannelReestablish:
    return apply_reestablish_fault(_reestablish(), fault, _revealed)


@pytest.mark.parametrize(
    ("fault", "fields"),
    [
        (ReestablishFault.NEXT_COMMITMENT_NUMBER_ZERO, {"next_commitment_number"}),
        (ReestablishFault.NEXT_COMMITMENT_NUMBER_AHEAD, {"next_commitment_number"}),
        (ReestablishFault.YOUR_LAST_PER_COMMITMENT_SECRET, {"your_last_per_commitment_secret"}),
        (
            ReestablishFault.NEXT_REVOCATION_NUMBER_BEHIND,
            {"next_revocation_number", "your_last_per_commitment_secret"},
        ),
    ],
)
def test_a_reestablish_fault_changes_only_its_fields(fault: ReestablishFault, fields: set[str]) -> None:
    assert _changed_fields(_reestablish(), _fault(fault)) == fields


def test_next_commitment_number_ahead_is_one_more() -> None:
    assert _fault(ReestablishFault.NEXT_COMMITMENT_NUMBER_AHEAD).next_commitment_number == 6


def test_next_commitment_number_zero_is_zero() -> None:
    assert _fault(ReestablishFault.NEXT_COMMITMENT_NUMBER_ZERO).next_commitment_number == 0


def test_two_revocations_behind_comes_with_the_secret_that_matches_it() -> None:
    after = _fault(ReestablishFault.NEXT_REVOCATION_NUMBER_BEHIND)
    assert after.next_revocation_number == 2
    assert after.your_last_per_commitment_secret == _revealed(1)


def test_two_revocations_behind_needs_two_revocations() -> None:
    early = dataclasses.replace(_reestablish(), next_revocation_number=2)
    with pytest.raises(ExpectationFailed):
        apply_reestablish_fault(early, ReestablishFault.NEXT_REVOCATION_NUMBER_BEHIND, _revealed)


def test_a_wrong_secret_is_a_valid_key_of_another_point() -> None:
    wrong = wrong_secret(SECRET)
    assert PrivateKey(wrong).public_key.format() != PrivateKey(SECRET).public_key.format()


def test_a_wrong_secret_of_the_all_zero_secret_is_not_zero() -> None:
    assert wrong_secret(bytes(32)) != bytes(32)


# -- signers that misbehave once ------------------------------------------------------------------------


@dataclass
class FakeSigner:
    htlc_signatures: tuple[bytes, ...] = (SIG_B, SIG_C)
    closing_calls: int = 0

    def sign_commitment(self, funding: object, view: object) -> CommitmentSignatures:
        return CommitmentSignatures(SIG_A, self.htlc_signatures)

    def per_commitment_secret(self, commitment_number: int) -> bytes:
        return SECRET

    def sign_closing(self, funding: object, closing: object) -> bytes:
        self.closing_calls += 1
        return SIG_A

    def basepoints(self) -> str:
        return "delegated"


def _signer(fake: FakeSigner) -> ChannelSigner:
    return cast(ChannelSigner, fake)


def _sign(signer: Any) -> CommitmentSignatures:
    return cast(CommitmentSignatures, signer.sign_commitment(None, None))


def test_too_few_htlc_signatures_drops_the_last_and_keeps_the_commitment_signature() -> None:
    sigs = _sign(MiscountingSigner(_signer(FakeSigner()), HtlcSignatureCount.TOO_FEW))
    assert sigs == CommitmentSignatures(SIG_A, (SIG_B,))


def test_too_many_htlc_signatures_repeats_the_first() -> None:
    sigs = _sign(MiscountingSigner(_signer(FakeSigner()), HtlcSignatureCount.TOO_MANY))
    assert sigs == CommitmentSignatures(SIG_A, (SIG_B, SIG_C, SIG_B))


def test_miscounting_happens_once() -> None:
    signer = MiscountingSigner(_signer(FakeSigner()), HtlcSignatureCount.TOO_FEW)
    _sign(signer)
    assert _sign(signer) == CommitmentSignatures(SIG_A, (SIG_B, SIG_C))


def test_miscounting_waits_for_a_commitment_with_an_htlc() -> None:
    fake = FakeSigner(htlc_signatures=())
    signer = MiscountingSigner(_signer(fake), HtlcSignatureCount.TOO_FEW)
    assert _sign(signer) == CommitmentSignatures(SIG_A, ())
    fake.htlc_signatures = (SIG_B,)
    assert _sign(signer) == CommitmentSignatures(SIG_A, ())


def test_the_wrong_revocation_is_revealed_once() -> None:
    signer = WrongRevocationSigner(_signer(FakeSigner()))
    assert signer.per_commitment_secret(3) == wrong_secret(SECRET)
    assert signer.per_commitment_secret(3) == SECRET


def test_the_wrong_closing_signature_is_made_once() -> None:
    fake = FakeSigner()
    signer = WrongClosingSigner(_signer(fake))
    first = signer.sign_closing(cast(Any, None), cast(Any, None))
    assert first != SIG_A and len(first) == 64
    assert signer.sign_closing(cast(Any, None), cast(Any, None)) == SIG_A
    assert fake.closing_calls == 2


def test_a_misbehaving_signer_delegates_everything_else() -> None:
    signer: Any = WrongRevocationSigner(_signer(FakeSigner()))
    assert signer.basepoints() == "delegated"


# -- HTLC bursts from the peer's view of the channel -----------------------------------------------------


@dataclass
class FakeLedger:
    next_local_htlc_id: int = 7


@dataclass
class FakeChannel:
    remote_params: ChannelParams
    ours_msat: int = 50_000_000
    reserve_sat: int = 1_000
    ledger: FakeLedger = field(default_factory=FakeLedger)

    def balances_msat(self) -> tuple[int, int]:
        return self.ours_msat, 0

    def reserve_msat_of(self, side: Side) -> int:
        assert side is Side.LOCAL
        return self.reserve_sat * 1000


def _params(**changes: int) -> ChannelParams:
    sound = ChannelParams(
        dust_limit_satoshis=546,
        max_htlc_value_in_flight_msat=(1 << 64) - 1,
        channel_reserve_satoshis=1_000,
        htlc_minimum_msat=1,
        to_self_delay=144,
        max_accepted_htlcs=30,
    )
    return dataclasses.replace(sound, **changes)


def _slot(channel: FakeChannel) -> Any:
    @dataclass
    class Slot:
        channel: FakeChannel

    return Slot(channel)


def test_too_many_htlcs_is_max_accepted_within_then_one_more_from_the_next_id() -> None:
    burst = plan_htlc_burst(_slot(FakeChannel(_params())), HtlcViolation.MAX_ACCEPTED_HTLCS)
    assert burst.first_id == 7
    assert burst.legitimate_amounts_msat == (1_000,) * 30
    assert burst.violating_amount_msat == 1_000


def test_too_many_htlcs_are_each_at_least_the_node_minimum() -> None:
    channel = FakeChannel(_params(htlc_minimum_msat=5_000))
    assert plan_htlc_burst(_slot(channel), HtlcViolation.MAX_ACCEPTED_HTLCS).violating_amount_msat == 5_000


def test_too_many_htlcs_the_balance_cannot_reach_is_unsupported() -> None:
    channel = FakeChannel(_params(max_accepted_htlcs=483, htlc_minimum_msat=100_000))
    with pytest.raises(UnsupportedOperation):
        plan_htlc_burst(_slot(channel), HtlcViolation.MAX_ACCEPTED_HTLCS)


def test_an_unaffordable_htlc_is_the_balance_less_the_reserve_plus_one() -> None:
    burst = plan_htlc_burst(_slot(FakeChannel(_params())), HtlcViolation.UNAFFORDABLE)
    assert burst.legitimate_amounts_msat == ()
    assert burst.violating_amount_msat == 50_000_000 - 1_000_000 + 1


def test_an_unaffordable_htlc_above_the_in_flight_limit_is_unsupported() -> None:
    channel = FakeChannel(_params(max_htlc_value_in_flight_msat=10_000_000))
    with pytest.raises(UnsupportedOperation):
        plan_htlc_burst(_slot(channel), HtlcViolation.UNAFFORDABLE)


# -- the error/warning recorder --------------------------------------------------------------------------

PEER_ID = b"\x02" * 33
CHANNEL_ID = b"\x11" * 32


@dataclass
class FakePeer:
    node_id: bytes = PEER_ID


class FakeNode:
    def __init__(self) -> None:
        self.handlers: dict[str, Any] = {}
        self.forwarded: list[str] = []

        async def inner(peer: object, message: Any) -> None:
            self.forwarded.append(message.NAME)

        self.handlers = {"error": inner, "warning": inner}

    def handler_for(self, name: str) -> Any:
        return self.handlers.get(name)

    def register_handler(self, name: str, handler: Any) -> None:
        self.handlers[name] = handler

    async def receive(self, message: Any) -> None:
        await self.handlers[message.NAME](FakePeer(), message)


def _match(*names: NoticeName, channel_id: bytes = CHANNEL_ID) -> ReceivedNoticeMatch:
    return ReceivedNoticeMatch(PEER_ID, frozenset(names), channel_id)


def test_a_received_error_is_recorded_and_still_handled() -> None:
    async def scenario() -> None:
        node = FakeNode()
        recorder = NoticeRecorder(cast(Any, node))
        await node.receive(ErrorMessage(CHANNEL_ID, b"bad"))
        notice = await recorder.wait_for(_match(NoticeName.ERROR), 1.0)
        assert (notice.name, notice.data) == (NoticeName.ERROR, b"bad")
        assert node.forwarded == ["error"]

    asyncio.run(scenario())


def test_ignored_errors_are_recorded_but_not_handled_while_warnings_still_are() -> None:
    async def scenario() -> None:
        node = FakeNode()
        recorder = NoticeRecorder(cast(Any, node))
        recorder.ignore_errors = True
        await node.receive(ErrorMessage(CHANNEL_ID, b"bad"))
        await node.receive(WarningMessage(CHANNEL_ID, b"careful"))
        assert [n.name for n in recorder.notices] == [NoticeName.ERROR, NoticeName.WARNING]
        assert node.forwarded == ["warning"]

    asyncio.run(scenario())


def test_a_notice_before_the_mark_does_not_count() -> None:
    async def scenario() -> None:
        node = FakeNode()
        recorder = NoticeRecorder(cast(Any, node))
        await node.receive(ErrorMessage(CHANNEL_ID, b"old"))
        recorder.mark = len(recorder.notices)
        with pytest.raises(TimeoutError):
            await recorder.wait_for(_match(NoticeName.ERROR), 0.05)

    asyncio.run(scenario())


def test_a_warning_is_not_an_error() -> None:
    async def scenario() -> None:
        node = FakeNode()
        recorder = NoticeRecorder(cast(Any, node))
        await node.receive(WarningMessage(CHANNEL_ID, b"careful"))
        with pytest.raises(TimeoutError):
            await recorder.wait_for(_match(NoticeName.ERROR), 0.05)

    asyncio.run(scenario())


def test_an_error_about_another_channel_does_not_count() -> None:
    async def scenario() -> None:
        node = FakeNode()
        recorder = NoticeRecorder(cast(Any, node))
        await node.receive(ErrorMessage(b"\x22" * 32, b"other"))
        with pytest.raises(TimeoutError):
            await recorder.wait_for(_match(NoticeName.ERROR), 0.05)

    asyncio.run(scenario())


def test_an_error_about_all_channels_counts() -> None:
    async def scenario() -> None:
        node = FakeNode()
        recorder = NoticeRecorder(cast(Any, node))
        await node.receive(ErrorMessage(bytes(32), b"all"))
        assert (await recorder.wait_for(_match(NoticeName.ERROR), 1.0)).data == b"all"

    asyncio.run(scenario())


def test_the_recorder_wakes_on_a_notice_that_arrives_later() -> None:
    async def scenario() -> None:
        node = FakeNode()
        recorder = NoticeRecorder(cast(Any, node))
        waiting = asyncio.ensure_future(recorder.wait_for(_match(NoticeName.WARNING), 5.0))
        done, _ = await asyncio.wait({waiting}, timeout=0.05)
        assert not done  # blocked: nothing has arrived yet
        await node.receive(WarningMessage(CHANNEL_ID, b"late"))
        assert (await waiting).data == b"late"

    asyncio.run(scenario())


# -- the onion of HTLCs offered only to be committed -------------------------------------------------------


def test_an_undecryptable_onion_is_well_formed() -> None:
    @dataclass
    class Ctx:
        rng: random.Random = field(default_factory=lambda: random.Random(5))

    onion = undecryptable_onion(cast(Any, Ctx()))
    assert len(onion) == 1366  # BOLT 4: 1 + 33 + 1300 + 32
    assert onion[0] == 0
    PublicKey(onion[1:34])  # a valid point: only the HMAC can refuse it
