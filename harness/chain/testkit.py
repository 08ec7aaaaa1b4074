"""Building spends for chain tests and scenarios: P2WPKH with a test key, P2WSH with a given witness script.

Independent of the reference node's transaction code (python-bitcoinlib + coincurve), so a chain test can
produce the transactions it needs without trusting the code under test.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from bitcoin.core import (
    CMutableTransaction,
    COutPoint,
    CTransaction,
    CTxIn,
    CTxInWitness,
    CTxOut,
    CTxWitness,
    lx,
)
from bitcoin.core.script import CScript, CScriptWitness

from harness.chain.backend import OutPoint
from harness.chain.faucet import FaucetInput, FaucetKey

SEQUENCE_FINAL = 0xFFFFFFFF


def p2wsh_script_pubkey(witness_script: bytes) -> bytes:
    return b"\x00\x20" + hashlib.sha256(witness_script).digest()


@dataclass(frozen=True)
class SpendOutput:
    script_pubkey: bytes
    value_sat: int


class TestKey(FaucetKey):
    """A P2WPKH key for tests (same derivation as the faucet's, from its own seed)."""

    __test__ = False  # not a pytest test class

    def spend(
        self,
        inputs: list[tuple[OutPoint, int]],
        outputs: list[SpendOutput],
        *,
        sequence: int = SEQUENCE_FINAL,
        locktime: int = 0,
        version: int = 2,
    ) -> bytes:
        """A signed transaction spending P2WPKH outputs of this key (each given with its value in sat)."""
        tx = CMutableTransaction(
            [CTxIn(COutPoint(lx(o.txid), o.vout), CScript(), sequence) for o, _ in inputs],
            [CTxOut(out.value_sat, CScript(out.script_pubkey)) for out in outputs],
            nLockTime=locktime,
            nVersion=version,
        )
        self.sign_all(tx, [FaucetInput(value) for _, value in inputs])
        raw: bytes = CTransaction.from_tx(tx).serialize()
        return raw


def spend_p2wsh(
    outpoint: OutPoint,
    witness_script: bytes,
    outputs: list[SpendOutput],
    *,
    witness_prefix: tuple[bytes, ...] = (),
    sequence: int = SEQUENCE_FINAL,
    locktime: int = 0,
    version: int = 2,
) -> bytes:
    """Spend a P2WSH output whose witness script needs no signature: witness = prefix items + script."""
    tx = CTransaction(
        [CTxIn(COutPoint(lx(outpoint.txid), outpoint.vout), CScript(), sequence)],
        [CTxOut(out.value_sat, CScript(out.script_pubkey)) for out in outputs],
        nLockTime=locktime,
        nVersion=version,
        witness=CTxWitness([CTxInWitness(CScriptWitness([*witness_prefix, witness_script]))]),
    )
    raw: bytes = tx.serialize()
    return raw
