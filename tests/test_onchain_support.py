"""Two channels back to back (tests/test_channel_support.ChannelPair) funded on a real EmbeddedChain, each
side with its `ChannelMonitor`: every transaction either monitor produces goes through the chain's mempool
and blocks, so Bitcoin Core's consensus code (libbitcoinkernel) validates it. No tests here.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from harness.chain import EmbeddedChain
from harness.chain import OutPoint as ChainOutPoint
from harness.chain.errors import TxRejected, UnknownTransaction
from reference_node.bitcoin.address import p2wpkh_script
from reference_node.bitcoin.ecdsa import public_key_of
from reference_node.bitcoin.tx import OutPoint, Tx
from reference_node.channel import Action, FundingOutputNeeded
from reference_node.onchain import (
    BroadcastTx,
    ChannelMonitor,
    FeeInput,
    FeeInputNeeded,
    MonitorConfig,
    OnchainAction,
)
from tests.test_channel_support import ChannelPair, SideState

FEE_INPUT_SAT = 100_000
SWEEP_FEERATE_PER_KW = 1000


def key_of(label: str) -> bytes:
    return hashlib.sha256(label.encode()).digest()


def script_of(privkey: bytes) -> bytes:
    return p2wpkh_script(public_key_of(privkey))


class ChainFundedPair(ChannelPair):
    """A ChannelPair whose funding transaction is a real faucet payment on `chain`."""

    chain: EmbeddedChain

    def apply(self, side: SideState, actions: list[Action]) -> None:
        rest: list[Action] = []
        for action in actions:
            if isinstance(action, FundingOutputNeeded):
                outpoint = self.chain.fund(action.funding_scriptpubkey, action.funding_satoshis)
                tx = Tx.parse(self.chain.get_tx(outpoint.txid).raw)
                vout = next(
                    i for i, o in enumerate(tx.outputs) if o.script_pubkey == action.funding_scriptpubkey
                )
                self.funding_tx = tx
                self.funding_vout = vout
                super().apply(side, rest)
                rest = []
                self.apply(side, side.channel.funding_tx_built(tx.txid(), vout, tx.serialize()))
            else:
                rest.append(action)
        super().apply(side, rest)

    def confirm_funding(self, depth: int) -> None:
        assert self.funding_tx is not None
        self.chain.mine(depth)
        output = self.funding_tx.outputs[self.funding_vout]
        for side in (self.a, self.b):
            event = side.channel.funding_confirmed(
                depth, self.chain.height() - depth + 1, 1, output.amount_sat, output.script_pubkey
            )
            self.apply(side, event)


@dataclass
class Watcher:
    """One side's node, reduced to what BOLT 5 needs: its monitor, sweep address and fee coins."""

    name: str
    side: SideState
    monitor: ChannelMonitor
    sweep_privkey: bytes
    broadcasts: list[BroadcastTx] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    events: list[OnchainAction] = field(default_factory=list)
    fee_inputs_added: int = 0

    @property
    def sweep_script(self) -> bytes:
        return script_of(self.sweep_privkey)


class OnchainWorld:
    def __init__(
        self,
        anchors: bool = False,
        push_msat: int = 0,
        feerate_per_kw: int = 2500,
        config_a: MonitorConfig | None = None,
        config_b: MonitorConfig | None = None,
        sweep_feerate_per_kw: int = SWEEP_FEERATE_PER_KW,
    ) -> None:
        self.chain = EmbeddedChain(seed=b"onchain tests")
        self.chain.mine(101)
        ChainFundedPair.chain = self.chain
        self.pair = ChainFundedPair(anchors=anchors, push_msat=push_msat, feerate_per_kw=feerate_per_kw)
        self.sweep_feerate_per_kw = sweep_feerate_per_kw
        self.fed_height = self.chain.height()
        self._pending: dict[str, list[int]] = {}
        self.a = self._watcher("A", self.pair.a, config_a)
        self.b = self._watcher("B", self.pair.b, config_b)
        self.sync()

    def _watcher(self, name: str, side: SideState, config: MonitorConfig | None) -> Watcher:
        sweep_privkey = key_of(f"sweep {name}")
        monitor = ChannelMonitor(key_of(f"seed {name}"), script_of(sweep_privkey), config)
        return Watcher(name, side, monitor, sweep_privkey)

    def close(self) -> None:
        self.chain.close()

    @property
    def watchers(self) -> tuple[Watcher, Watcher]:
        return (self.a, self.b)

    def sync(self) -> None:
        """What the node does after every persisted state: the monitor records the channel."""
        for watcher in self.watchers:
            watcher.monitor.absorb_channel(watcher.side.channel)

    # -- chain -------------------------------------------------------------------------------------

    def block_txs(self, height: int) -> list[Tx]:
        block = self.chain.block(self.chain.block_hash(height)).block
        return [Tx.parse(tx.serialize()) for tx in block.vtx]

    def send(self, raw: bytes) -> str | None:
        """Submit to the mempool; None (and the reason kept by the caller) if refused."""
        try:
            return self.chain.send_raw(raw)
        except TxRejected as exc:
            return f"rejected: {exc}"

    def perform(self, watcher: Watcher, actions: list[OnchainAction], offline: bool = False) -> None:
        for action in actions:
            watcher.events.append(action)
            if isinstance(action, BroadcastTx):
                watcher.broadcasts.append(action)
                if offline:
                    continue
                result = self.send(action.tx)
                if result is not None and result.startswith("rejected"):
                    watcher.rejected.append((action.description, result))
            elif isinstance(action, FeeInputNeeded) and not offline:
                self.perform(watcher, watcher.monitor.add_fee_input(self.fee_input(watcher)))

    def fee_input(self, watcher: Watcher) -> FeeInput:
        watcher.fee_inputs_added += 1
        privkey = key_of(f"fee {watcher.name} {watcher.fee_inputs_added}")
        outpoint = self.chain.fund(script_of(privkey), FEE_INPUT_SAT)
        tx = Tx.parse(self.chain.get_tx(outpoint.txid).raw)
        vout = next(i for i, o in enumerate(tx.outputs) if o.script_pubkey == script_of(privkey))
        return FeeInput(OutPoint(tx.txid(), vout), FEE_INPUT_SAT, privkey, watcher.sweep_script)

    def feed_new_blocks(self, offline: tuple[Watcher, ...] = ()) -> None:
        """Give every block not yet seen to the online monitors (offline ones catch up later)."""
        while self.fed_height < self.chain.height():
            self.fed_height += 1
            self.feed_block(self.fed_height, offline)

    def feed_block(self, height: int, offline: tuple[Watcher, ...] = ()) -> None:
        txs = self.block_txs(height)
        for watcher in self.watchers:
            if watcher in offline:
                self._pending.setdefault(watcher.name, []).append(height)
                continue
            self.catch_up(watcher)
            actions = watcher.monitor.block_connected(height, txs, self.sweep_feerate_per_kw)
            self.perform(watcher, actions)

    def mine(self, n: int = 1, offline: tuple[Watcher, ...] = ()) -> None:
        """Mine n blocks one at a time, the monitors reacting between blocks."""
        self.feed_new_blocks(offline)
        for _ in range(n):
            self.chain.mine(1)
            self.feed_new_blocks(offline)

    def catch_up(self, watcher: Watcher) -> None:
        """Feed the blocks a monitor missed; like a node scanning up to the tip, it broadcasts only what the
        last block calls for (earlier claims may already be invalidated by what followed)."""
        missed = self._pending.pop(watcher.name, [])
        for position, height in enumerate(missed):
            actions = watcher.monitor.block_connected(
                height, self.block_txs(height), self.sweep_feerate_per_kw
            )
            self.perform(watcher, actions, offline=position < len(missed) - 1)

    def reorg(self, depth: int) -> None:
        """Replace the last `depth` blocks by `depth + 1` new ones (their transactions go back to the
        mempool and are mined again); the monitors are told and fed the new branch."""
        first_gone = self.chain.height() - depth + 1
        for watcher in self.watchers:
            watcher.monitor.blocks_disconnected(first_gone)
        self.fed_height = first_gone - 1
        self.chain.reorg(depth)
        self.feed_new_blocks()

    def confirmed(self, tx: Tx) -> bool:
        try:
            return self.chain.get_tx(tx.txid_hex).block_height is not None
        except UnknownTransaction:
            return False

    # -- balances ----------------------------------------------------------------------------------

    def balance_sat(self, script: bytes) -> int:
        """Confirmed unspent value paying `script` (the chain's own UTXO set)."""
        total = 0
        for height in range(1, self.chain.height() + 1):
            for tx in self.block_txs(height):
                for index, output in enumerate(tx.outputs):
                    if output.script_pubkey != script:
                        continue
                    utxo = self.chain.get_utxo(_harness_outpoint(OutPoint(tx.txid(), index)), False)
                    if utxo is not None:
                        total += output.amount_sat
        return total

    def fees_paid_sat(self, txids: set[bytes]) -> int:
        """Sum of the fees of the given confirmed transactions (inputs looked up on chain)."""
        total = 0
        for txid in txids:
            tx = Tx.parse(self.chain.get_tx(txid[::-1].hex()).raw)
            inputs = 0
            for txin in tx.inputs:
                parent = Tx.parse(self.chain.get_tx(txin.prevout.txid_hex).raw)
                inputs += parent.outputs[txin.prevout.index].amount_sat
            total += inputs - sum(o.amount_sat for o in tx.outputs)
        return total


def _harness_outpoint(outpoint: OutPoint) -> ChainOutPoint:
    return ChainOutPoint(outpoint.txid_hex, outpoint.index)
