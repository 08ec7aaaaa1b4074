"""`ChannelMonitor`: BOLT 5 for one channel, sans I/O.

    monitor = ChannelMonitor(channel_seed, sweep_script, MonitorConfig())
    monitor.absorb_channel(channel)            # after every persisted channel state
    actions = monitor.block_connected(height, txs, feerate_per_kw)   # every block, in order
    monitor.blocks_disconnected(from_height)   # a reorg: blocks >= from_height are gone
    actions = monitor.add_preimage(preimage)   # learned off chain (e.g. from the payment layer)
    monitor.add_fee_input(FeeInput(...))       # a wallet coin for zero-fee HTLC txs and anchor CPFP
    actions = monitor.bump_local_commitment(target_feerate_per_kw)   # CPFP our commitment via its anchor
    signed = monitor.signed_local_commitment(number)                  # dev fault: a revoked one too
    state = monitor.to_json(); ChannelMonitor.from_json(state, channel_seed, archive=archive)

Actions (model.py): BroadcastTx, FeeInputNeeded, ChannelCloseSeen, PreimageLearned, HtlcResolvedOnchain,
ChannelResolved, GoOnchain. The monitor never reads a clock or the network; the node calls it with chain
events and performs what it returns. Its state is JSON (no secrets: keys come from the channel seed) of a
bounded size; every commitment ever recorded goes once to its `CommitmentArchive` (records.py), which the
node keeps in its store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reference_node.bitcoin.ecdsa import compact_to_der
from reference_node.bitcoin.tx import OutPoint, Tx
from reference_node.channel.bolt3_signer import Bolt3Signer
from reference_node.channel.channel import Channel
from reference_node.channel.fees import tx_channel_type
from reference_node.channel.serialize import load, to_jsonable
from reference_node.keys.channel_keys import ChannelKeys
from reference_node.onchain.claims import build_anchor_cpfp, signed_input
from reference_node.onchain.classify import build
from reference_node.onchain.deadlines import check_deadlines
from reference_node.onchain.model import (
    DEFAULT_FULFILLMENT_DEADLINE_BLOCKS,
    DEFAULT_GRACE_BLOCKS,
    FEE_INPUT_MIN_SAT,
    IRREVOCABLE_DEPTH,
    BroadcastTx,
    ChannelCloseSeen,
    ChannelResolved,
    ClaimKind,
    FeeInput,
    FeeInputError,
    FeeInputNeeded,
    NotRevoked,
    OnchainAction,
    PreimageLearned,
    UnknownCommitment,
)
from reference_node.onchain.plan import PlanContext, htlc_resolutions, plan_claims
from reference_node.onchain.records import ChannelRecords, CommitmentArchive, LocalCommitmentRecord
from reference_node.onchain.resolve import Evaluation, apply_tx, is_relevant, replay
from reference_node.transactions import ChannelType, OutputKind, finalize_commitment, sign_commitment
from reference_node.transactions.spends import SpentOutput, witness_anchor_owner

REQ_ANCHOR_CPFP = (
    "bolt05-failing_channel-node-must-01",
    "bolt05-failing_channel-node-must-02",
)


@dataclass(frozen=True)
class MonitorConfig:
    irrevocable_depth: int = IRREVOCABLE_DEPTH
    # "once the resolving transaction has reached reasonable depth" (failing HTLCs upstream)
    reasonable_depth: int = 3
    grace_blocks: int = DEFAULT_GRACE_BLOCKS
    fulfillment_deadline_blocks: int = DEFAULT_FULFILLMENT_DEADLINE_BLOCKS
    # harness defects (reference_node.faults): never punish a breach; never use a preimage on chain
    no_penalty: bool = False
    withhold_preimages: bool = False
    no_htlc_timeout: bool = False


@dataclass(frozen=True)
class HistoryEntry:
    height: int
    tx: bytes


@dataclass
class MonitorState:
    records: ChannelRecords = field(default_factory=ChannelRecords)
    history: list[HistoryEntry] = field(default_factory=list)
    tip: int = 0
    sweep_feerate_per_kw: int = 0  # fixed when the close is seen: rebroadcasts stay identical
    fee_inputs: list[FeeInput] = field(default_factory=list)
    # the claim each fee input is lent to ("cpfp", or the "txid:vout" of the output the claim spends),
    # parallel to fee_inputs; "" for a free one. A rebuilt claim reuses its coin.
    fee_input_claims: list[str] = field(default_factory=list)
    reported: list[str] = field(default_factory=list)
    local_commitment_broadcast: bool = False
    cpfp_target_feerate_per_kw: int = 0


class ChannelMonitor:
    def __init__(
        self,
        channel_seed: bytes,
        sweep_script: bytes,
        config: MonitorConfig | None = None,
        state: MonitorState | None = None,
        archive: CommitmentArchive | None = None,
    ) -> None:
        self._keys = ChannelKeys.from_seed(channel_seed)
        self._builder = Bolt3Signer(channel_seed)
        self.sweep_script = sweep_script
        self.config = config or MonitorConfig()
        self.state = state or MonitorState()
        if archive is not None:
            # where every recorded commitment is written once and revoked ones are looked up
            self.state.records.archive = archive
        self._evaluation = self._replay()

    def __repr__(self) -> str:
        return f"ChannelMonitor(tip={self.state.tip}, close={self.close_kind})"

    # -- persistence ---------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        value = to_jsonable(self.state)
        assert isinstance(value, dict)
        value["sweep_script"] = self.sweep_script.hex()
        return value

    @classmethod
    def from_json(
        cls,
        value: dict[str, Any],
        channel_seed: bytes,
        config: MonitorConfig | None = None,
        archive: CommitmentArchive | None = None,
    ) -> ChannelMonitor:
        """`archive` holds the commitments recorded before (`to_json` keeps only the current ones)."""
        body = {k: v for k, v in value.items() if k != "sweep_script"}
        return cls(
            channel_seed, bytes.fromhex(value["sweep_script"]), config, load(MonitorState, body), archive
        )

    # -- queries -------------------------------------------------------------------------------------

    @property
    def records(self) -> ChannelRecords:
        return self.state.records

    @property
    def evaluation(self) -> Evaluation:
        return self._evaluation

    @property
    def close_kind(self) -> str | None:
        close = self._evaluation.close
        return None if close is None else close.kind.value

    @property
    def channel_type(self) -> ChannelType:
        funding = self.records.funding
        return tx_channel_type(funding.channel_type.anchors if funding else False)

    def is_resolved(self) -> bool:
        """Every output irrevocably resolved (BOLT 5: "until all outputs are *irrevocably resolved*")."""
        return self._irrevocably_resolved(self._evaluation, self.state.tip)

    def signed_local_commitment(self, commitment_number: int) -> Tx:
        """Our commitment `commitment_number`, signed by both: the latest one for a unilateral close, or
        a revoked one for the harness's `breach` fault (BOLT 5 forbids broadcasting it: that is the point)."""
        record = self.records.local_record(commitment_number)
        funding = self.records.funding
        if record is None or funding is None:
            raise UnknownCommitment("local", commitment_number)
        return self._signed(record)

    def revoked_local_commitment(self, commitment_number: int) -> Tx:
        """The harness's `breach` fault: one of our revoked commitments, signed (BOLT 5 "MUST NOT broadcast
        a commitment transaction for which *it* has exposed the `per_commitment_secret`": a defect on
        purpose)."""
        if commitment_number >= self.records.local_current_number:
            raise NotRevoked(
                f"local commitment {commitment_number} is not revoked "
                f"(current is {self.records.local_current_number})"
            )
        return self.signed_local_commitment(commitment_number)

    def local_commitment_numbers(self) -> list[int]:
        return self.records.archive.local_numbers()

    def _signed(self, record: LocalCommitmentRecord) -> Tx:
        funding = self.records.funding
        assert funding is not None
        built = build(self._builder, funding, record.view)
        return finalize_commitment(
            built.commitment,
            funding.local_basepoints.funding_pubkey,
            sign_commitment(built.commitment, self._keys.funding_privkey),
            funding.remote_basepoints.funding_pubkey,
            compact_to_der(record.remote_signature),
        )

    # -- inputs: channel state -----------------------------------------------------------------------

    def absorb_channel(self, channel: Channel) -> None:
        self.records.absorb_channel(channel)

    def add_preimage(self, preimage: bytes) -> list[OnchainAction]:
        if not self.records.add_preimage(preimage):
            return []
        return self._actions()

    def add_fee_input(self, fee_input: FeeInput) -> list[OnchainAction]:
        if fee_input.outpoint not in {f.outpoint for f in self.state.fee_inputs}:
            self.state.fee_inputs.append(fee_input)
            self.state.fee_input_claims.append("")
        if self.state.local_commitment_broadcast and self._evaluation.close is None:
            return self.bump_local_commitment(self.state.cpfp_target_feerate_per_kw)
        return self._actions()

    # -- inputs: chain -------------------------------------------------------------------------------

    def block_connected(
        self, height: int, txs: tuple[Tx, ...] | list[Tx], feerate_per_kw: int
    ) -> list[OnchainAction]:
        """Feed every block in order. Returns what to broadcast and what became known or final."""
        out: list[OnchainAction] = []
        evaluation = self._evaluation
        for tx in txs:
            if not is_relevant(tx, evaluation, self.records):
                continue
            self.state.history.append(HistoryEntry(height, tx.serialize()))
            before = evaluation.close
            apply_tx(evaluation, height, tx, self.records, self._builder)
            if before is None and evaluation.close is not None:
                self.state.sweep_feerate_per_kw = feerate_per_kw
                close = evaluation.close
                out.append(ChannelCloseSeen(close.kind, close.tx.txid(), close.commitment_number))
        self.state.tip = height
        if evaluation.close is None:
            out += self._deadline_actions(height)
            if self.state.local_commitment_broadcast:
                out += self.bump_local_commitment(max(self.state.cpfp_target_feerate_per_kw, feerate_per_kw))
        return out + self._actions()

    def blocks_disconnected(self, from_height: int) -> None:
        """A reorg removed every block at `from_height` and above: forget what they held and resolve
        again from what remains (the next `block_connected` calls bring the new branch)."""
        self.state.history = [e for e in self.state.history if e.height < from_height]
        self.state.tip = from_height - 1
        if not self.state.history:
            self.state.sweep_feerate_per_kw = 0
        self._evaluation = self._replay()

    def _replay(self) -> Evaluation:
        return replay([(e.height, Tx.parse(e.tx)) for e in self.state.history], self.records, self._builder)

    # -- anchors: CPFP of our own commitment ---------------------------------------------------------

    def bump_local_commitment(self, target_feerate_per_kw: int) -> list[OnchainAction]:
        """Our latest commitment was broadcast: (re)send it with a child spending our anchor so the pair
        pays `target_feerate_per_kw`. Without option_anchors there is no anchor: the commitment alone."""
        self.state.local_commitment_broadcast = True
        self.state.cpfp_target_feerate_per_kw = target_feerate_per_kw
        record = self.records.local_record(self.records.local_current_number)
        funding = self.records.funding
        if record is None or funding is None or self._evaluation.close is not None:
            return []
        commitment = self._signed(record)
        out: list[OnchainAction] = [
            BroadcastTx(
                commitment.serialize(), "latest local commitment", ("bolt05-failing_channel-node-must-01",)
            )
        ]
        built = build(self._builder, funding, record.view)
        anchor = built.commitment.output_of(OutputKind.LOCAL_ANCHOR)
        if anchor is None or anchor.witness_script is None:
            return out
        fee_sat = built.commitment.fee_sat
        if fee_sat * 1000 >= target_feerate_per_kw * commitment.weight:
            return out  # already pays enough
        fee_input = self._fee_input_for("cpfp")
        if fee_input is None:
            return [*out, FeeInputNeeded(FEE_INPUT_MIN_SAT, "anchor CPFP of our commitment")]
        script = anchor.witness_script
        claim = signed_input(
            SpentOutput(OutPoint(commitment.txid(), anchor.index), anchor.amount_sat, script),
            0xFFFFFFFD,
            self._keys.funding_privkey,
            lambda s: witness_anchor_owner(s, script),
        )
        try:
            child = build_anchor_cpfp(claim, fee_input, commitment.weight, fee_sat, target_feerate_per_kw)
        except FeeInputError:
            return [*out, FeeInputNeeded(FEE_INPUT_MIN_SAT, "anchor CPFP of our commitment")]
        return [*out, BroadcastTx(child.serialize(), "anchor CPFP", REQ_ANCHOR_CPFP)]

    # -- outputs -------------------------------------------------------------------------------------

    def _fee_input_for(self, label: str) -> FeeInput | None:
        """The coin lent to claim `label`: its own if still unspent, else a free one, or one lent to a claim
        that no longer needs it (a CPFP once the commitment confirmed; a claim whose output is resolved)
        and that no confirmed transaction spent."""
        state = self.state
        consumed = {i.prevout for entry in state.history for i in Tx.parse(entry.tx).inputs}
        usable = [i for i, f in enumerate(state.fee_inputs) if f.outpoint not in consumed]
        for index in usable:
            if state.fee_input_claims[index] == label:
                return state.fee_inputs[index]
        for index in usable:
            if not self._claim_pending(state.fee_input_claims[index]):
                state.fee_input_claims[index] = label
                return state.fee_inputs[index]
        return None

    def _claim_pending(self, label: str) -> bool:
        if label == "":
            return False
        evaluation = self._evaluation
        if label == "cpfp":
            return evaluation.close is None
        return any(
            f"{o.txid_hex}:{o.index}" == label and o not in evaluation.spends for o in evaluation.watched
        )

    def _context(self) -> PlanContext:
        return PlanContext(
            records=self.records,
            keys=self._keys,
            sweep_script=self.sweep_script,
            channel_type=self.channel_type,
            tip=self.state.tip,
            feerate_per_kw=self.state.sweep_feerate_per_kw or 253,
            no_penalty=self.config.no_penalty,
            withhold_preimages=self.config.withhold_preimages,
            no_htlc_timeout=self.config.no_htlc_timeout,
        )

    def _report_once(self, key: str) -> bool:
        if key in self.state.reported:
            return False
        self.state.reported.append(key)
        return True

    def _actions(self) -> list[OnchainAction]:
        evaluation = self._evaluation
        if evaluation.close is None:
            return []
        out: list[OnchainAction] = []
        for payment_hash, preimage in evaluation.learned.items():
            self.records.add_preimage(preimage)
            if self._report_once("preimage:" + payment_hash.hex()):
                out.append(PreimageLearned(payment_hash, preimage))
        for resolution in htlc_resolutions(
            evaluation, self.records, self.state.tip, self.config.reasonable_depth
        ):
            if self._report_once(f"htlc:{resolution.offered_by_us}:{resolution.htlc_id}"):
                out.append(resolution)
        plan = plan_claims(self._context(), evaluation, self._fee_input_for)
        out += [BroadcastTx(p.tx_bytes, p.description, p.requirements) for p in plan.txs]
        for label in plan.fee_inputs_needed:
            out.append(FeeInputNeeded(FEE_INPUT_MIN_SAT, f"zero-fee HTLC transaction for {label}"))
        if self._irrevocably_resolved(evaluation, self.state.tip, plan.uneconomical):
            close = evaluation.close
            if self._report_once("resolved"):
                out.append(ChannelResolved(close.tx.txid(), close.kind))
        return out

    def _irrevocably_resolved(
        self, evaluation: Evaluation, tip: int, uneconomical: set[str] | None = None
    ) -> bool:
        if evaluation.close is None:
            return False
        depth = self.config.irrevocable_depth
        if tip - evaluation.close_height + 1 < depth:
            return False
        skipped = uneconomical or set()
        for outpoint, watched in evaluation.watched.items():
            if watched.claim is ClaimKind.NONE:
                continue
            spend = evaluation.spends.get(outpoint)
            if spend is None:
                if f"{outpoint.txid_hex}:{outpoint.index}" in skipped:
                    continue
                return False
            if tip - spend.height + 1 < depth:
                return False
        return True

    def _deadline_actions(self, height: int) -> list[OnchainAction]:
        actions = check_deadlines(
            self.records, height, self.config.grace_blocks, self.config.fulfillment_deadline_blocks
        )
        return [a for a in actions if self._report_once(f"deadline:{a.reason}")]


__all__ = ["ChannelMonitor", "HistoryEntry", "MonitorConfig", "MonitorState"]
