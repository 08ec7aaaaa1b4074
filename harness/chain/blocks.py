"""Building regtest blocks for the kernel to validate: coinbase, witness commitment, proof of work.

Rules followed (Bitcoin Core consensus, regtest parameters from chainparams.cpp):
- BIP 34: the coinbase scriptSig starts with the block height as `CScript() << height` pushes it, and is
  2..100 bytes long (an extra push pads heights 1..16, which encode as a single OP_n).
- BIP 141: the coinbase carries a witness commitment output (OP_RETURN, 0xaa21a9ed, SHA256d(witness merkle
  root || reserved value)) and a 32-byte reserved value as its only witness item.
- Regtest proof of work: nBits 0x207fffff, no retargeting; the nonce is ground until the hash meets it.
- Subsidy: 50 BTC halving every 150 blocks (regtest nSubsidyHalvingInterval).
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

from bitcoin.core import (
    CBlock,
    COutPoint,
    CTransaction,
    CTxIn,
    CTxInWitness,
    CTxOut,
    CTxWitness,
    Hash,
)
from bitcoin.core.script import OP_RETURN, CScript, CScriptWitness

COIN = 100_000_000
REGTEST_NBITS = 0x207FFFFF
REGTEST_HALVING_INTERVAL = 150
COINBASE_MATURITY = 100
BLOCK_VERSION = 0x20000000  # BIP 9 top bits, no deployment signalled
WITNESS_COMMITMENT_HEADER = bytes.fromhex("aa21a9ed")
WITNESS_RESERVED_VALUE = bytes(32)
MAX_BLOCK_WEIGHT = 4_000_000
# Room kept for the coinbase when filling a block from the mempool (Core keeps 4000 weight units).
COINBASE_RESERVED_WEIGHT = 4_000


def block_subsidy_sat(height: int) -> int:
    halvings = height // REGTEST_HALVING_INTERVAL
    if halvings >= 64:
        return 0
    return (50 * COIN) >> halvings


def target_from_nbits(nbits: int) -> int:
    exponent = nbits >> 24
    mantissa = nbits & 0x007FFFFF
    return mantissa << (8 * (exponent - 3))


@dataclass(frozen=True)
class BuiltBlock:
    block: CBlock
    raw: bytes
    hash: bytes  # internal (little-endian) order

    @property
    def hash_hex(self) -> str:
        return self.hash[::-1].hex()


def build_coinbase(
    height: int, script_pubkey: bytes, value_sat: int, witness_root: bytes, extra_nonce: int = 0
) -> CTransaction:
    # The extra pushes keep the scriptSig >= 2 bytes and, with a per-chain counter as extra nonce, make a
    # block rebuilt at the same height (after invalidateblock) differ from the one it replaces.
    script_sig = CScript([height, b"boltcheck", extra_nonce])
    commitment = Hash(witness_root + WITNESS_RESERVED_VALUE)
    outputs = [
        CTxOut(value_sat, CScript(script_pubkey)),
        CTxOut(0, CScript([OP_RETURN, WITNESS_COMMITMENT_HEADER + commitment])),
    ]
    witness = CTxWitness([CTxInWitness(CScriptWitness([WITNESS_RESERVED_VALUE]))])
    return CTransaction(
        [CTxIn(COutPoint(), script_sig, 0xFFFFFFFF)], outputs, nLockTime=0, nVersion=2, witness=witness
    )


def witness_merkle_root(txs: list[CTransaction]) -> bytes:
    """BIP 141 witness root over [coinbase, *txs] with the coinbase's wtxid taken as zero."""
    hashes = [bytes(32)] + [tx.GetHash() for tx in txs]
    root: bytes = CBlock.build_merkle_tree_from_txids(hashes)[-1]
    return root


def build_block(
    prev_hash: bytes,
    height: int,
    time: int,
    txs: list[CTransaction],
    coinbase_script_pubkey: bytes,
    fees_sat: int,
    extra_nonce: int = 0,
) -> BuiltBlock:
    coinbase = build_coinbase(
        height,
        coinbase_script_pubkey,
        block_subsidy_sat(height) + fees_sat,
        witness_merkle_root(txs),
        extra_nonce,
    )
    vtx = [coinbase, *txs]
    template = CBlock(
        nVersion=BLOCK_VERSION, hashPrevBlock=prev_hash, nTime=time, nBits=REGTEST_NBITS, nNonce=0, vtx=vtx
    )
    nonce = _grind_nonce(template.get_header().serialize()[:76], target_from_nbits(REGTEST_NBITS))
    block = CBlock(
        nVersion=BLOCK_VERSION,
        hashPrevBlock=prev_hash,
        hashMerkleRoot=template.hashMerkleRoot,
        nTime=time,
        nBits=REGTEST_NBITS,
        nNonce=nonce,
        vtx=vtx,
    )
    return BuiltBlock(block=block, raw=block.serialize(), hash=block.GetHash())


def _grind_nonce(header_without_nonce: bytes, target: int) -> int:
    for nonce in range(2**32):
        header = header_without_nonce + struct.pack("<I", nonce)
        digest = hashlib.sha256(hashlib.sha256(header).digest()).digest()
        if int.from_bytes(digest, "little") <= target:
            return nonce
    raise RuntimeError("no nonce meets the regtest target (impossible for nBits 0x207fffff)")
