"""A thin wrapper over py-bitcoinkernel (Bitcoin Core's libbitcoinkernel): blocks, scripts, CheckBlock.

Only the kernel decides whether a block connects and whether a script passes. Two facts of the 0.1.0a5
API shape this module: `process_block` returns normally for an invalid block (so acceptance is read from
the active tip and from the `block_checked` callback), and script verification accepts only the consensus
flags it exposes (any other bit aborts the process), so those are the only flags ever passed.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import pbk
from pbk.script import PrecomputedTransactionData

from harness.chain.errors import BlockRejected

# The kernel exposes exactly these; together they are Bitcoin Core's consensus script flags since taproot.
CONSENSUS_SCRIPT_FLAGS = int(pbk.ScriptVerificationFlags.ALL)
FLAG_BY_NAME: dict[str, int] = {
    "P2SH": int(pbk.ScriptVerificationFlags.P2SH),
    "DERSIG": int(pbk.ScriptVerificationFlags.DERSIG),
    "NULLDUMMY": int(pbk.ScriptVerificationFlags.NULLDUMMY),
    "CHECKLOCKTIMEVERIFY": int(pbk.ScriptVerificationFlags.CHECKLOCKTIMEVERIFY),
    "CHECKSEQUENCEVERIFY": int(pbk.ScriptVerificationFlags.CHECKSEQUENCEVERIFY),
    "WITNESS": int(pbk.ScriptVerificationFlags.WITNESS),
    "TAPROOT": int(pbk.ScriptVerificationFlags.TAPROOT),
}


@dataclass(frozen=True)
class SpentOutput:
    """What an input spends: the amount and scriptPubKey the script check needs."""

    value_sat: int
    script_pubkey: bytes


class ScriptCheckFailed(Exception):
    """An input's script did not verify under the given flags."""

    def __init__(self, input_index: int, detail: str) -> None:
        super().__init__(f"input {input_index}: {detail}")
        self.input_index = input_index
        self.detail = detail


def verify_input_scripts(
    raw_tx: bytes, spent: list[SpentOutput], flags: int = CONSENSUS_SCRIPT_FLAGS
) -> None:
    """Verify every input of raw_tx against what it spends; raise ScriptCheckFailed on the first failure."""
    if flags & ~CONSENSUS_SCRIPT_FLAGS:
        raise ValueError(f"flags {flags:#x} include bits the kernel does not expose")
    tx = pbk.Transaction(raw_tx)
    outputs = [pbk.TransactionOutput(pbk.ScriptPubkey(s.script_pubkey), s.value_sat) for s in spent]
    precomputed = PrecomputedTransactionData(tx, outputs)
    for index, prevout in enumerate(spent):
        script = pbk.ScriptPubkey(prevout.script_pubkey)
        try:
            ok = script.verify(prevout.value_sat, tx, precomputed, index, flags)
        except pbk.ScriptVerifyException as exc:
            raise ScriptCheckFailed(index, str(exc)) from exc
        if not ok:
            raise ScriptCheckFailed(index, "script evaluated to false or failed a check")


def context_free_block_check(raw_block: bytes) -> bool:
    """The kernel's CheckBlock minus PoW and merkle: size, coinbase shape, CheckTransaction, sigops."""
    block = pbk.Block(raw_block)
    state = block.check(_REGTEST_PARAMS.consensus_params, pbk.BlockCheckFlags.BASE)
    return bool(state.validation_mode == pbk.ValidationMode.VALID)


_REGTEST_PARAMS = pbk.ChainParameters(pbk.ChainType.REGTEST)


class KernelChain:
    """One regtest ChainstateManager in its own directory.

    Not thread safe by itself; EmbeddedChain serializes every call under its lock.
    """

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir = data_dir
        self._checked: dict[bytes, pbk.ValidationMode] = {}
        self._checked_lock = threading.Lock()
        callbacks = pbk.ValidationInterfaceCallbacks(block_checked=self._on_block_checked)
        context = pbk.make_context(pbk.ChainType.REGTEST, validation_callbacks=callbacks)
        blocks_dir = data_dir / "blocks"
        options = pbk.ChainstateManagerOptions(context, str(data_dir.absolute()), str(blocks_dir.absolute()))
        # Test chains are small: keep the block index and UTXO set in memory for speed.
        options.update_block_tree_db_in_memory(True)
        options.update_chainstate_db_in_memory(True)
        options.set_worker_threads_num(0)
        self._chainman = pbk.ChainstateManager(options)
        self._callbacks = callbacks

    def _on_block_checked(
        self, _user_data: object, block: pbk.Block, state: pbk.BlockValidationState
    ) -> None:
        with self._checked_lock:
            self._checked[bytes(block.block_hash)] = state.validation_mode

    def height(self) -> int:
        return int(self._chainman.get_active_chain().height)

    def hash_at(self, height: int) -> bytes:
        """Internal-order (little-endian) hash of the active block at height."""
        entry = self._chainman.get_active_chain().block_tree_entries[height]
        return bytes(entry.block_hash)

    def tip_hash(self) -> bytes:
        return self.hash_at(self.height())

    def block_bytes_at(self, height: int) -> bytes:
        entry = self._chainman.get_active_chain().block_tree_entries[height]
        return bytes(self._chainman.blocks[entry])

    def process_block(self, raw_block: bytes, block_hash: bytes) -> None:
        """Give a block to the kernel; raise BlockRejected unless it ends up valid (connected or stored).

        A block on a side branch with less work is stored unconnected; it counts as accepted here.
        """
        block = pbk.Block(raw_block)
        display = block_hash[::-1].hex()
        with self._checked_lock:
            self._checked.clear()
        try:
            self._chainman.process_block(block)
        except pbk.ProcessBlockException as exc:
            raise BlockRejected(display, f"process_block failed: {exc}") from exc
        finally:
            # Verdicts belong to this call only; a stale one would condemn the next block.
            with self._checked_lock:
                checked = dict(self._checked)
                self._checked.clear()
        for checked_hash, checked_mode in checked.items():
            if checked_mode != pbk.ValidationMode.VALID:
                # In a reorg the failing block may be an earlier block of the branch.
                raise BlockRejected(checked_hash[::-1].hex(), f"kernel validation: {checked_mode.name}")
        mode = checked.get(block_hash)
        entries = self._chainman.block_tree_entries
        key = pbk.BlockHash(block_hash)
        if key not in entries:
            raise BlockRejected(display, "kernel did not store the block (failed its header or block checks)")
        if mode is None and self.tip_hash() != block_hash:
            # Not connected, never checked: fine only for a side-branch block without more work.
            entry = entries[key]
            if entry.height > self.height():
                raise BlockRejected(display, "block has more work than the tip but was not connected")

    def close(self) -> None:
        del self._chainman
