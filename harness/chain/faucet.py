"""The chain-owned faucet key: a P2WPKH output script and BIP 143 signing of its inputs.

The key is derived from the chain's seed, so two chains with the same seed pay from the same key (replayable
runs); it is a test key on regtest and is never logged.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import coincurve
from bitcoin.core import (
    CMutableTransaction,
    COutPoint,
    CTransaction,
    CTxIn,
    CTxInWitness,
    CTxOut,
    CTxWitness,
    Hash160,
    lx,
)
from bitcoin.core.script import SIGHASH_ALL, SIGVERSION_WITNESS_V0, CScript, CScriptWitness, SignatureHash

from harness.chain.address import encode_segwit
from harness.chain.backend import OutPoint
from harness.chain.errors import InsufficientFunds
from harness.chain.policy import dust_threshold_sat

FAUCET_SEQUENCE = 0xFFFFFFFD  # BIP 125 signalling, as bitcoind's wallet does
# Gather at least this much above the amount before stopping coin selection, so the fee is covered.
FEE_HEADROOM_SAT = 10_000


@dataclass(frozen=True)
class FaucetInput:
    value_sat: int


class FaucetKey:
    def __init__(self, seed: bytes) -> None:
        secret = hashlib.sha256(b"boltcheck/chain/faucet" + seed).digest()
        self._key = coincurve.PrivateKey(secret)
        self.pubkey: bytes = self._key.public_key.format(compressed=True)
        self.pubkey_hash: bytes = Hash160(self.pubkey)
        self.script_pubkey: bytes = b"\x00\x14" + self.pubkey_hash
        self.address: str = encode_segwit(0, self.pubkey_hash)

    def __repr__(self) -> str:
        return f"FaucetKey(address={self.address})"

    def sign_all(self, tx: CMutableTransaction, inputs: list[FaucetInput]) -> None:
        """Give every input (all paying to this key's P2WPKH script) its BIP 143 SIGHASH_ALL witness."""
        # BIP 143: the scriptCode of a P2WPKH input is the P2PKH script of its key hash.
        script_code = CScript(b"\x76\xa9\x14" + self.pubkey_hash + b"\x88\xac")
        witnesses = []
        for index, spent in enumerate(inputs):
            sighash = SignatureHash(
                script_code, tx, index, SIGHASH_ALL, amount=spent.value_sat, sigversion=SIGVERSION_WITNESS_V0
            )
            signature = self._key.sign(sighash, hasher=None) + bytes([SIGHASH_ALL])
            witnesses.append(CTxInWitness(CScriptWitness([signature, self.pubkey])))
        tx.wit = CTxWitness(witnesses)

    def build_payment(
        self,
        coins: list[tuple[OutPoint, int]],
        script_pubkey: bytes,
        amount_sat: int,
        feerate_sat_per_kvb: int,
    ) -> CTransaction:
        """Pay amount_sat to script_pubkey from these coins (in order), change back to this key."""
        chosen: list[tuple[OutPoint, int]] = []
        for coin in coins:
            chosen.append(coin)
            if sum(v for _, v in chosen) >= amount_sat + FEE_HEADROOM_SAT:
                break
        total_sat = sum(v for _, v in chosen)
        fee_sat = 0
        for _ in range(2):  # the first pass measures the size, the second pays for it
            change_sat = total_sat - amount_sat - fee_sat
            if change_sat < 0:
                raise InsufficientFunds(f"faucet has {total_sat} sat spendable, {amount_sat} sat + fee asked")
            outputs = [CTxOut(amount_sat, CScript(script_pubkey))]
            if change_sat >= dust_threshold_sat(self.script_pubkey):
                outputs.append(CTxOut(change_sat, CScript(self.script_pubkey)))
            inputs = [CTxIn(COutPoint(lx(o.txid), o.vout), CScript(), FAUCET_SEQUENCE) for o, _ in chosen]
            tx = CMutableTransaction(inputs, outputs, nLockTime=0, nVersion=2)
            self.sign_all(tx, [FaucetInput(v) for _, v in chosen])
            vsize_vbytes = (tx.calc_weight() + 3) // 4 + 1  # +1: a signature may come out a byte longer
            fee_sat = feerate_sat_per_kvb * vsize_vbytes // 1000
        return CTransaction.from_tx(tx)
