"""BOLT 3 transaction format checks: the node under test's own transactions, read from the chain, against
what BOLT 3 says they must be, rebuilt by its counterparty (a reference node, which knows both sides'
basepoints, the per-commitment point it was given and the channel's state).

    - force_close: {node: target, channel: main}
    - expect_commitment_tx: {node: peer, channel: main}        # byte-exact (witness aside), or a diff
    - mine_synced: {nodes: [target, peer], blocks: 200, until_spend_of: main.offered_htlc}
    - expect_htlc_tx: {node: peer, channel: main, output: offered}
    - expect_closing_tx: {node: peer, channel: main}           # after a mutual close

`expect_commitment_tx` sets `<channel>.offered_htlc` and `<channel>.received_htlc` ("txid:vout" of the
first untrimmed HTLC output the closer offered / received) for the steps that follow.
"""

from __future__ import annotations

import enum
from collections import Counter
from dataclasses import dataclass

from harness.chain.backend import OutPoint as ChainOutPoint
from harness.chain.bitcoind import BitcoindChain
from harness.drivers.bitcoind_source import BitcoindBackendSource
from harness.drivers.peer import ExpectationFailed
from harness.drivers.reference import EmbeddedChainSource
from harness.scenarios.registry import register_step
from harness.scenarios.step import DriverName, Step, StepContext
from harness.scenarios.steps.chain import wait_for_spend
from harness.scenarios.steps.channels import channel_ref, reference_node
from reference_node.bitcoin.tx import Tx
from reference_node.chain_source import ChainSource
from reference_node.channel import ChannelState as RefChannelState
from reference_node.channel.bolt3_signer import Bolt3Signer
from reference_node.channel.params import Side
from reference_node.channel.revocation import remote_secret, revealed_count
from reference_node.node import LightningNode
from reference_node.payments.channels import ChannelSlot
from reference_node.transactions.commitment import commitment_number_from_tx, obscuring_factor
from reference_node.transactions.types import CommitmentTx, HtlcDirection, HtlcTx

DEFAULT_TIMEOUT_S = 30.0
_FINAL_SEQUENCE = 0xFFFFFFFF


def _slot(ctx: StepContext, ln: LightningNode, channel: str) -> ChannelSlot:
    return ln.channels.find(channel_ref(ctx, channel).channel_id.hex())


def _funding_outpoint(slot: ChannelSlot) -> ChainOutPoint:
    funding = slot.channel.funding_info()
    return ChainOutPoint(funding.funding_txid[::-1].hex(), funding.funding_output_index)


def expected_remote_commitment(ln: LightningNode, slot: ChannelSlot) -> CommitmentTx:
    """The counterparty's latest commitment as BOLT 3 builds it: the one this node last signed for it."""
    channel = slot.channel
    view = channel.commitment_view(Side.REMOTE, channel.ledger.remote_ctn)
    return Bolt3Signer(ln.channels.channel_seed(slot.seed_index)).build(channel.funding_info(), view)[0]


async def spender_of(ctx: StepContext, outpoint: ChainOutPoint, timeout_s: float) -> str:
    """The txid spending `outpoint`: already in a block since the output confirmed, in the mempool, or
    (awaited on the chain's notifications) yet to come."""
    chain = ctx.chain
    info = chain.get_tx(outpoint.txid)
    if info.block_height is not None:
        source = _chain_source(ctx)
        wanted = (bytes.fromhex(outpoint.txid)[::-1], outpoint.vout)
        for height in range(info.block_height, chain.height() + 1):
            for tx in source.block_at(height).txs:
                if any((txin.prevout.txid, txin.prevout.index) == wanted for txin in tx.inputs):
                    return tx.txid_hex
    return await wait_for_spend(chain, outpoint, False, timeout_s)


def _chain_source(ctx: StepContext) -> ChainSource:
    chain = ctx.chain
    if isinstance(chain, BitcoindChain):
        return BitcoindBackendSource(chain)
    return EmbeddedChainSource(chain)  # type: ignore[arg-type]


def _outputs(tx: Tx) -> list[tuple[int, str]]:
    return [(out.amount_sat, out.script_pubkey.hex()) for out in tx.outputs]


def commitment_differences(actual: Tx, expected: Tx, factor: int, funding_amount_sat: int) -> list[str]:
    """What differs between the commitment on chain and BOLT 3's, each named after the rule it breaks."""
    problems = []
    if actual.version != expected.version:
        problems.append(f"version {actual.version}, BOLT 3 says {expected.version}")
    if len(actual.inputs) != 1 or actual.inputs[0].prevout != expected.inputs[0].prevout:
        problems.append("the commitment must spend the funding output alone")
    else:
        number = commitment_number_from_tx(actual, factor)
        wanted = commitment_number_from_tx(expected, factor)
        if number != wanted:
            problems.append(f"locktime/sequence encode commitment number {number}, the latest is {wanted}")
        if actual.locktime >> 24 != 0x20 or actual.inputs[0].sequence >> 24 != 0x80:
            problems.append(
                f"locktime {actual.locktime:#x} / sequence {actual.inputs[0].sequence:#x}: upper bytes must "
                "be 0x20 and 0x80"
            )
    got, want = _outputs(actual), _outputs(expected)
    if Counter(got) != Counter(want):
        extra = sorted((Counter(got) - Counter(want)).elements())
        missing = sorted((Counter(want) - Counter(got)).elements())
        problems.append(f"outputs differ: extra {extra}, missing {missing} (amount_sat, script_pubkey)")
    elif got != want:
        problems.append("outputs are BOLT 3's but not in BIP 69 + CLTV order")
    fee = funding_amount_sat - sum(amount for amount, _ in got)
    wanted_fee = funding_amount_sat - sum(amount for amount, _ in want)
    if fee != wanted_fee:
        problems.append(f"fee {fee} sat, BOLT 3's weight formula gives {wanted_fee} sat")
    return problems


@register_step
@dataclass(frozen=True)
class ExpectCommitmentTx(Step):
    """The counterparty of reference node `node` on `channel` closed unilaterally: its commitment
    transaction (waited for on chain) must be BOLT 3's for the channel's latest state, witness aside:
    version, obscured commitment number in locktime and sequence, outputs (to_local, to_remote, anchors,
    HTLCs, trimmed ones left out) with their scripts and amounts, their order, the fee."""

    NAME = "expect_commitment_tx"
    SUMMARY = "the other side's unilateral close: its commitment transaction is BOLT 3's, byte for byte"
    node: DriverName
    channel: str = "channel"
    timeout_s: float = DEFAULT_TIMEOUT_S

    async def run(self, ctx: StepContext) -> str | None:
        ln = reference_node(ctx, self.node, "expect_commitment_tx")
        slot = _slot(ctx, ln, self.channel)
        expected = expected_remote_commitment(ln, slot)
        txid = await spender_of(ctx, _funding_outpoint(slot), self.timeout_s)
        ctx.record_txid(txid)
        actual = Tx.parse(ctx.chain.get_tx(txid).raw)
        ours = slot.channel.commitment_view(Side.LOCAL, slot.channel.ledger.local_ctn)
        own = Bolt3Signer(ln.channels.channel_seed(slot.seed_index)).build(slot.channel.funding_info(), ours)[
            0
        ]
        if actual.txid() == own.tx.txid():
            raise ExpectationFailed(f"{txid} is {self.node}'s own commitment, not the other side's")
        funding = slot.channel.funding_info()
        opener_bp = funding.local_basepoints if funding.opener is Side.LOCAL else funding.remote_basepoints
        accepter_bp = funding.remote_basepoints if funding.opener is Side.LOCAL else funding.local_basepoints
        factor = obscuring_factor(opener_bp.payment_basepoint, accepter_bp.payment_basepoint)
        if actual.serialize_without_witness() != expected.tx.serialize_without_witness():
            problems = commitment_differences(actual, expected.tx, factor, funding.funding_satoshis)
            raise ExpectationFailed("; ".join(problems) or "the transaction differs from BOLT 3's")
        for direction, key in (
            (HtlcDirection.OFFERED, "offered_htlc"),
            (HtlcDirection.RECEIVED, "received_htlc"),
        ):
            output = next(
                (o for o in expected.outputs if o.htlc is not None and o.htlc.direction is direction), None
            )
            if output is not None:
                ctx.set_value(f"{self.channel}.{key}", f"{txid}:{output.index}")
        kinds = ", ".join(o.kind.value for o in expected.outputs)
        number = commitment_number_from_tx(actual, factor)
        return f"{txid} is BOLT 3's commitment {number}: {kinds}; {len(expected.trimmed_htlcs)} trimmed"


class HtlcOutputName(enum.Enum):
    OFFERED = "offered"  # the closer's HTLC-timeout transaction
    RECEIVED = "received"  # the closer's HTLC-success transaction


def htlc_tx_differences(actual: Tx, expected: HtlcTx, anchors: bool) -> list[str]:
    """BOLT 3 "HTLC-Timeout and HTLC-Success Transactions". With anchors the HTLC signature is
    SIGHASH_SINGLE|ANYONECANPAY, so the closer may add inputs and outputs for fees: only the first pair
    is BOLT 3's."""
    problems = []
    want = expected.tx
    if actual.version != want.version:
        problems.append(f"version {actual.version}, BOLT 3 says {want.version}")
    if actual.locktime != want.locktime:
        problems.append(f"locktime {actual.locktime}, BOLT 3 says {want.locktime} (cltv_expiry, or 0)")
    index = next((i for i, txin in enumerate(actual.inputs) if txin.prevout == want.inputs[0].prevout), None)
    if index is None:
        return [*problems, "does not spend the HTLC output"]
    if actual.inputs[index].sequence != want.inputs[0].sequence:
        problems.append(f"sequence {actual.inputs[index].sequence}, BOLT 3 says {want.inputs[0].sequence}")
    if index >= len(actual.outputs) or _outputs(actual)[index] != _outputs(want)[0]:
        problems.append(f"output {index} is not BOLT 3's {_outputs(want)[0]} (amount_sat, script_pubkey)")
    if not anchors and (len(actual.inputs) != 1 or len(actual.outputs) != 1):
        problems.append("without anchors the HTLC transaction has exactly one input and one output")
    return problems


@register_step
@dataclass(frozen=True)
class ExpectHtlcTx(Step):
    """After `expect_commitment_tx`: the closer spends its first untrimmed `offered` (HTLC-timeout) or
    `received` (HTLC-success) HTLC output with BOLT 3's second-stage transaction: version, locktime,
    input sequence, and the to_local-style output with its amount (the HTLC less its fee)."""

    NAME = "expect_htlc_tx"
    SUMMARY = "the other side's HTLC-timeout / HTLC-success transaction is BOLT 3's"
    node: DriverName
    channel: str = "channel"
    output: HtlcOutputName = HtlcOutputName.OFFERED
    timeout_s: float = DEFAULT_TIMEOUT_S

    async def run(self, ctx: StepContext) -> str | None:
        ln = reference_node(ctx, self.node, "expect_htlc_tx")
        slot = _slot(ctx, ln, self.channel)
        expected = expected_remote_commitment(ln, slot)
        direction = HtlcDirection.OFFERED if self.output is HtlcOutputName.OFFERED else HtlcDirection.RECEIVED
        htlc_tx = next((h for h in expected.htlc_txs if h.htlc.direction is direction), None)
        if htlc_tx is None:
            raise ExpectationFailed(f"the commitment has no untrimmed {self.output.value} HTLC")
        commitment_txid = expected.tx.txid_hex
        outpoint = ChainOutPoint(commitment_txid, htlc_tx.commitment_output_index)
        txid = await spender_of(ctx, outpoint, self.timeout_s)
        ctx.record_txid(txid)
        actual = Tx.parse(ctx.chain.get_tx(txid).raw)
        problems = htlc_tx_differences(actual, htlc_tx, slot.channel.data.channel_type.anchors)
        if problems:
            raise ExpectationFailed(f"{txid}: " + "; ".join(problems))
        return f"{txid} is BOLT 3's {htlc_tx.kind.value} for HTLC {htlc_tx.htlc.id}"


def closing_differences(
    actual: Tx, fee_satoshis: int, funder_msat: int, fundee_msat: int, scripts: tuple[bytes, bytes]
) -> list[str]:
    """BOLT 3 "Legacy Closing Transaction": one input, locktime 0, sequence 0xFFFFFFFF, outputs in BIP 69
    order; each output rounded down to whole satoshis; the negotiated `fee_satoshis` comes from the
    funder's output alone (the sub-satoshi remainders rounded away add to the fee actually paid); an
    output below the dust limit is removed. `scripts`: (funder's, fundee's)."""
    problems = []
    if actual.locktime != 0:
        problems.append(f"locktime {actual.locktime}, BOLT 3 says 0")
    if len(actual.inputs) != 1 or actual.inputs[0].sequence != _FINAL_SEQUENCE:
        problems.append("one input with sequence 0xFFFFFFFF")
    by_script = {out.script_pubkey: out.amount_sat for out in actual.outputs}
    funder_sat, fundee_sat = funder_msat // 1000, fundee_msat // 1000
    if scripts[1] in by_script and by_script[scripts[1]] != fundee_sat:
        problems.append(
            f"the non-funder's output is {by_script[scripts[1]]} sat, not its balance {fundee_sat} sat"
        )
    if scripts[0] in by_script and by_script[scripts[0]] != funder_sat - fee_satoshis:
        problems.append(
            f"the funder's output is {by_script[scripts[0]]} sat, "
            f"not {funder_sat} - {fee_satoshis} (fee_satoshis)"
        )
    if set(by_script) - set(scripts):
        problems.append("an output pays neither shutdown scriptpubkey")
    ordered = sorted(actual.outputs, key=lambda out: (out.amount_sat, out.script_pubkey))
    if [o.script_pubkey for o in ordered] != [o.script_pubkey for o in actual.outputs]:
        problems.append("outputs not in BIP 69 order")
    return problems


@register_step
@dataclass(frozen=True)
class ExpectClosingTx(Step):
    """After a mutual close of `channel` between reference node `node` and the node under test: the
    closing transaction on chain (which both signed) is BOLT 3's legacy closing transaction for the
    final balances. `absent` names a side whose output must have been removed as dust (`funder`,
    `fundee`)."""

    NAME = "expect_closing_tx"
    SUMMARY = "the mutual closing transaction is BOLT 3's (rounding, fee from the funder, dust removed)"
    node: DriverName
    channel: str = "channel"
    absent: str | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S

    def check_arguments(self) -> None:
        if self.absent not in (None, "funder", "fundee"):
            raise ValueError("absent is funder or fundee")

    async def run(self, ctx: StepContext) -> str | None:
        ln = reference_node(ctx, self.node, "expect_closing_tx")
        slot = _slot(ctx, ln, self.channel)
        txid = await spender_of(ctx, _funding_outpoint(slot), self.timeout_s)
        ctx.record_txid(txid)
        actual = Tx.parse(ctx.chain.get_tx(txid).raw)
        data = slot.channel.data
        if data.state not in (RefChannelState.CLOSING_BROADCAST, RefChannelState.CLOSED):
            raise ExpectationFailed(f"{self.node} sees the channel {data.state.value}, not mutually closed")
        ours_msat, theirs_msat = slot.channel.balances_msat()
        local_script, remote_script = data.closing.local_scriptpubkey, data.closing.remote_scriptpubkey
        if data.opener is Side.LOCAL:
            funder, fundee, scripts = ours_msat, theirs_msat, (local_script, remote_script)
        else:
            funder, fundee, scripts = theirs_msat, ours_msat, (remote_script, local_script)
        fee_satoshis = data.closing.last_received_fee_satoshis  # the one both signed, in legacy closing
        if fee_satoshis is None:
            raise ExpectationFailed(f"{self.node} negotiated no legacy closing_signed fee on {self.channel}")
        problems = closing_differences(actual, fee_satoshis, funder, fundee, scripts)
        present = {out.script_pubkey for out in actual.outputs}
        if self.absent is not None:
            script = scripts[0] if self.absent == "funder" else scripts[1]
            if script in present:
                problems.append(f"the {self.absent}'s output is below the dust limit yet present")
        if problems:
            raise ExpectationFailed(f"{txid}: " + "; ".join(problems))
        fee = data.funding_satoshis - sum(o.amount_sat for o in actual.outputs)
        return f"{txid}: {len(actual.outputs)} outputs, fee {fee} sat"


@register_step
@dataclass(frozen=True)
class ExpectRevealedSecrets(Step):
    """The other side of reference node `node` on `channel` revealed at least `min_count` per-commitment
    secrets (`revoke_and_ack`), every one accepted: each matched the point it had announced for that
    commitment (BOLT 2) and fits the secrets before it in BOLT 3's storage (the generation algorithm from
    index 2^48 - 1 down, checked on insertion: a secret that does not derive the earlier ones fails the
    channel). Each revealed secret is derived back out of the compact storage here."""

    NAME = "expect_revealed_secrets"
    SUMMARY = "the other side's per-commitment secrets follow BOLT 3's generation and index order"
    node: DriverName
    channel: str = "channel"
    min_count: int = 1

    def check_arguments(self) -> None:
        if self.min_count < 1:
            raise ValueError("min_count must be at least 1")

    async def run(self, ctx: StepContext) -> str | None:
        ln = reference_node(ctx, self.node, "expect_revealed_secrets")
        data = _slot(ctx, ln, self.channel).channel.data
        if data.state is RefChannelState.FAILED:
            raise ExpectationFailed(f"{self.node} failed the channel: {data.failure}")
        count = revealed_count(data)
        if count < self.min_count:
            raise ExpectationFailed(
                f"{count} per-commitment secrets revealed, expected at least {self.min_count}"
            )
        missing = [n for n in range(count) if remote_secret(data, n) is None]
        if missing:
            raise ExpectationFailed(f"secrets of commitments {missing} cannot be derived from the storage")
        return f"{count} per-commitment secrets (commitments 0..{count - 1}), all consistent"
