"""The chain's own index over what the kernel accepted: blocks, active chain, UTXOs, txindex, undo.

Kept in step with the kernel's active chain by EmbeddedChain (connect/disconnect one block at a time); the
kernel stays the authority on validity, this index answers queries (gettxout, getrawtransaction, MTP...).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bitcoin.core import CBlock, CTransaction, b2lx

from harness.chain.backend import OutPoint
from harness.chain.errors import IndexInconsistent, UnknownBlock
from harness.chain.mempool import outpoints_spent
from harness.chain.policy import Coin

MAX_SCRIPT_SIZE = 10_000
MEDIAN_TIME_SPAN = 11  # blocks in the median-time-past window (consensus)


@dataclass(frozen=True)
class StoredBlock:
    hash: bytes  # internal (little-endian) order
    height: int
    prev_hash: bytes
    time: int
    raw: bytes
    block: CBlock
    txids: tuple[str, ...]

    @property
    def hash_hex(self) -> str:
        return self.hash[::-1].hex()

    @property
    def txs(self) -> tuple[CTransaction, ...]:
        vtx: tuple[CTransaction, ...] = self.block.vtx
        return vtx


def stored_block(raw: bytes, height: int) -> StoredBlock:
    block = CBlock.deserialize(raw)
    return StoredBlock(
        hash=block.GetHash(),
        height=height,
        prev_hash=block.hashPrevBlock,
        time=block.nTime,
        raw=raw,
        block=block,
        txids=tuple(b2lx(tx.GetTxid()) for tx in block.vtx),
    )


@dataclass(frozen=True)
class TxLocation:
    block_hash: bytes
    height: int
    position: int


def is_unspendable(script_pubkey: bytes) -> bool:
    """CScript::IsUnspendable: such outputs never enter the UTXO set."""
    return script_pubkey[:1] == b"\x6a" or len(script_pubkey) > MAX_SCRIPT_SIZE


@dataclass
class ChainIndex:
    blocks: dict[bytes, StoredBlock] = field(default_factory=dict)
    active: list[bytes] = field(default_factory=list)
    utxos: dict[OutPoint, Coin] = field(default_factory=dict)
    undo: dict[bytes, list[tuple[OutPoint, Coin]]] = field(default_factory=dict)
    txindex: dict[str, TxLocation] = field(default_factory=dict)

    @property
    def height(self) -> int:
        return len(self.active) - 1

    def tip(self) -> StoredBlock:
        return self.blocks[self.active[-1]]

    def at(self, height: int) -> StoredBlock:
        return self.blocks[self.active[height]]

    def is_active(self, block_hash: bytes) -> bool:
        block = self.blocks.get(block_hash)
        return block is not None and block.height <= self.height and self.active[block.height] == block_hash

    def median_time_past(self, height: int) -> int:
        times = sorted(self.at(h).time for h in range(max(0, height - MEDIAN_TIME_SPAN + 1), height + 1))
        return times[len(times) // 2]

    def connect(self, block: StoredBlock) -> None:
        if block.prev_hash != (self.active[-1] if self.active else bytes(32)):
            raise ValueError(f"block {block.hash_hex} does not extend the tip")
        spent: list[tuple[OutPoint, Coin]] = []
        if block.height == 0:
            # The genesis coinbase is never in the UTXO set nor indexed (Bitcoin Core special-cases it).
            self.undo[block.hash] = spent
            self.active.append(block.hash)
            return
        for position, (tx, txid) in enumerate(zip(block.txs, block.txids, strict=True)):
            coinbase = position == 0
            if not coinbase:
                for outpoint in outpoints_spent(tx):
                    # Genesis-style missing coins cannot happen: the kernel connected this block.
                    spent.append((outpoint, self.utxos.pop(outpoint)))
            for vout, out in enumerate(tx.vout):
                script = bytes(out.scriptPubKey)
                if not is_unspendable(script):
                    self.utxos[OutPoint(txid, vout)] = Coin(out.nValue, script, block.height, coinbase)
            self.txindex[txid] = TxLocation(block.hash, block.height, position)
        self.undo[block.hash] = spent
        self.active.append(block.hash)

    def disconnect_tip(self) -> StoredBlock:
        block = self.tip()
        undo = self.undo.pop(block.hash)
        # Undo transaction by transaction, last first: a coin created and spent inside this block must be
        # removed by its creator's undo step after its spender's undo step has put it back.
        for position in range(len(block.txs) - 1, -1, -1):
            tx, txid = block.txs[position], block.txids[position]
            for vout in range(len(tx.vout)):
                self.utxos.pop(OutPoint(txid, vout), None)
            location = self.txindex.get(txid)
            if location is not None and location.block_hash == block.hash:
                del self.txindex[txid]
            if position > 0 and block.height > 0:
                for outpoint, coin in undo[len(undo) - len(tx.vin) :]:
                    self.utxos[outpoint] = coin
                del undo[len(undo) - len(tx.vin) :]
        if undo:
            raise ValueError(f"undo data of block {block.hash_hex} has {len(undo)} entries left over")
        self.active.pop()
        return block

    def audit(self, kernel_active: list[bytes]) -> None:
        """Compare with the kernel's active chain and with a from-scratch replay; raise on a difference."""
        if kernel_active != self.active:
            raise IndexInconsistent(f"active chain differs from the kernel's ({len(kernel_active)} blocks)")
        replay = ChainIndex()
        for block_hash in self.active:
            replay.blocks[block_hash] = self.blocks[block_hash]
            replay.connect(self.blocks[block_hash])
        if replay.utxos != self.utxos:
            raise IndexInconsistent("UTXO set differs from a replay of the active chain")
        if replay.txindex != self.txindex:
            raise IndexInconsistent("tx index differs from a replay of the active chain")

    def chain_tips(self, invalid: set[bytes]) -> list[ChainTip]:
        """Every known block without a known child, as bitcoind's getchaintips reports them."""
        parents = {b.prev_hash for b in self.blocks.values()}
        tips = []
        for block in self.blocks.values():
            if block.hash in parents:
                continue
            branch_len = 0
            cursor: StoredBlock | None = block
            status = "active" if block.hash == self.active[-1] else "valid-fork"
            while cursor is not None and not self.is_active(cursor.hash):
                if cursor.hash in invalid:
                    status = "invalid"
                branch_len += 1
                cursor = self.blocks.get(cursor.prev_hash)
            tips.append(ChainTip(block.hash_hex, block.height, branch_len, status))
        return sorted(tips, key=lambda t: (-t.height, t.block_hash))


@dataclass(frozen=True)
class ChainTip:
    block_hash: str
    height: int
    branch_len: int
    status: str  # "active", "valid-fork" or "invalid", as getchaintips names them


def internal_hash(block_hash: str) -> bytes:
    """A display-order block hash (hex) as the internal little-endian bytes."""
    try:
        raw = bytes.fromhex(block_hash)
    except ValueError as exc:
        raise UnknownBlock(f"block hash must be hex: {block_hash!r}") from exc
    if len(raw) != 32:
        raise UnknownBlock(f"block hash must be 32 bytes: {block_hash!r}")
    return raw[::-1]
