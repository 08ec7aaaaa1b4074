"""Shared plumbing of the channel machine: state, outputs, failure handling, commitment views, limits."""

from __future__ import annotations

from dataclasses import dataclass

from reference_node.channel import fees
from reference_node.channel.actions import (
    Action,
    BroadcastTx,
    ChannelFailed,
    Disconnect,
    PersistState,
    SendMessage,
)
from reference_node.channel.data import ChannelData
from reference_node.channel.errors import ChannelError, PeerViolation, Reaction
from reference_node.channel.ledger import Ledger, LedgerError, LedgerView
from reference_node.channel.messages import ChannelMessage, Error, Warning
from reference_node.channel.params import ChannelParams, Policy, Side
from reference_node.channel.serialize import to_jsonable
from reference_node.channel.signer import (
    ChannelSigner,
    CommitmentSignatures,
    CommitmentView,
    FundingInfo,
    HtlcOutput,
)
from reference_node.channel.states import FUNDED_STATES, ChannelState, check_transition


@dataclass(frozen=True)
class CommitmentFigures:
    """The numbers BOLT 3 derives from one commitment's contents."""

    untrimmed_htlcs: int
    funder_cost_sat: int  # base fee + anchors
    dust_exposure_msat: int


class ChannelCore:
    def __init__(self, data: ChannelData, signer: ChannelSigner, policy: Policy) -> None:
        self.data = data
        self.signer = signer
        self.policy = policy
        self._out: list[Action] = []

    # -- outputs ---------------------------------------------------------------------------------------------

    def _send(self, message: ChannelMessage) -> None:
        self._out.append(SendMessage(message))

    def _persist(self) -> None:
        self._out.append(PersistState(self.to_json()))

    def _emit(self, action: Action) -> None:
        self._out.append(action)

    def _take(self) -> list[Action]:
        out, self._out = self._out, []
        return out

    def to_json(self) -> dict[str, object]:
        value = to_jsonable(self.data)
        assert isinstance(value, dict)
        return value

    def _transition(self, target: ChannelState, cause: str) -> None:
        check_transition(self.data.state, target, cause)
        self.data.state = target

    @property
    def state(self) -> ChannelState:
        return self.data.state

    @property
    def channel_id(self) -> bytes:
        return self.data.channel_id if self.data.channel_id is not None else self.data.temporary_channel_id

    @property
    def ledger(self) -> Ledger:
        if self.data.ledger is None:
            raise LedgerError("channel has no commitment state before funding")
        return self.data.ledger

    @property
    def remote_params(self) -> ChannelParams:
        if self.data.remote_params is None:
            raise LedgerError("peer parameters not known yet")
        return self.data.remote_params

    def params_of(self, side: Side) -> ChannelParams:
        return self.data.local_params if side is Side.LOCAL else self.remote_params

    def reserve_msat_of(self, side: Side) -> int:
        """The reserve `side` must keep, set by the OTHER side's channel_reserve_satoshis."""
        return self.params_of(side.other).channel_reserve_satoshis * 1000

    # -- failure ---------------------------------------------------------------------------------------------

    def _react(self, err: PeerViolation) -> None:
        if err.REACTION is Reaction.WARN_AND_DISCONNECT:
            self._send(Warning(self.channel_id, str(err).encode()))
            self._emit(Disconnect(str(err)))
            return
        self._fail(err, broadcast=err.REACTION is not Reaction.ERROR_WITHOUT_BROADCAST)

    def _fail(self, err: ChannelError, broadcast: bool = True, send_error: bool = True) -> None:
        """BOLT 1/5: send `error`, then fail the channel (broadcast our latest commitment if we have one)."""
        funded = self.data.state in FUNDED_STATES
        if self.data.state is not ChannelState.FAILED:
            self._transition(ChannelState.FAILED, f"failed: {err}")
        self.data.failure = str(err)
        if send_error:
            self.data.sent_error = str(err).encode()
        self._persist()
        if send_error:
            self._send(Error(self.channel_id, str(err).encode()))
        commitment = self._signed_local_commitment() if (broadcast and funded) else None
        if commitment is not None:
            self._emit(BroadcastTx(commitment, "latest local commitment (unilateral close)"))
        self._emit(ChannelFailed(err, send_error, commitment is not None))

    def _signed_local_commitment(self) -> bytes | None:
        if self.data.remote_commitment_signature is None or self.data.ledger is None:
            return None
        view = self.commitment_view(Side.LOCAL, self.ledger.local_ctn)
        sigs = CommitmentSignatures(
            self.data.remote_commitment_signature, tuple(self.data.remote_htlc_signatures)
        )
        return self.signer.signed_local_commitment(self.funding_info(), view, sigs)

    # -- commitments -----------------------------------------------------------------------------------------

    def funding_info(self) -> FundingInfo:
        d = self.data
        if d.funding_txid is None or d.funding_output_index is None or d.remote_basepoints is None:
            raise LedgerError("funding not known yet")
        return FundingInfo(
            funding_txid=d.funding_txid,
            funding_output_index=d.funding_output_index,
            funding_satoshis=d.funding_satoshis,
            opener=d.opener,
            channel_type=d.channel_type,
            local_params=d.local_params,
            remote_params=self.remote_params,
            local_basepoints=d.local_basepoints,
            remote_basepoints=d.remote_basepoints,
        )

    def point_of(self, holder: Side, ctn: int) -> bytes:
        if holder is Side.LOCAL:
            return self.signer.per_commitment_point(ctn)
        ledger = self.ledger
        if ctn == ledger.remote_ctn and self.data.remote_current_point is not None:
            return self.data.remote_current_point
        if ctn == ledger.remote_ctn + 1 and self.data.remote_next_point is not None:
            return self.data.remote_next_point
        raise LedgerError(f"no per-commitment point known for remote commitment {ctn}")

    def to_commitment_view(self, holder: Side, ctn: int, view: LedgerView) -> CommitmentView:
        return CommitmentView(
            holder=holder,
            commitment_number=ctn,
            per_commitment_point=self.point_of(holder, ctn),
            to_local_msat=view.balance_msat(holder),
            to_remote_msat=view.balance_msat(holder.other),
            feerate_per_kw=view.feerate_per_kw,
            htlcs=tuple(
                HtlcOutput(h.htlc_id, h.offerer is holder, h.amount_msat, h.payment_hash, h.cltv_expiry)
                for h in view.htlcs
            ),
        )

    def commitment_view(self, holder: Side, ctn: int) -> CommitmentView:
        return self.to_commitment_view(holder, ctn, self.ledger.view(holder, ctn))

    def figures(self, holder: Side, view: LedgerView, feerate_per_kw: int | None = None) -> CommitmentFigures:
        feerate = view.feerate_per_kw if feerate_per_kw is None else feerate_per_kw
        anchors = self.data.channel_type.anchors
        dust_limit = self.params_of(holder).dust_limit_satoshis
        amounts = [fees.HtlcAmount(h.amount_msat, h.offerer is holder) for h in view.htlcs]
        untrimmed = fees.untrimmed_count(amounts, dust_limit, feerate, anchors)
        return CommitmentFigures(
            untrimmed_htlcs=untrimmed,
            funder_cost_sat=fees.funder_cost_sat(feerate, untrimmed, anchors),
            dust_exposure_msat=fees.dust_exposure_msat(amounts, dust_limit, feerate, anchors),
        )

    def balance_after_fees_msat(self, holder: Side, view: LedgerView, side: Side) -> int:
        """`side`'s balance in `holder`'s commitment once the funder paid fee and anchors
        (may go negative)."""
        balance = view.balance_msat(side)
        if side is self.data.opener:
            balance -= self.figures(holder, view).funder_cost_sat * 1000
        return balance
