"""The chain-owned faucet key: a P2WPKH output script and BIP 143 signing of its inputs.

The key is derived from the chain's seed, so two chains with the same seed pay from the same key (replayable
runs); it is a test key on regtest and is never logged.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import coincurve
from bitcoin.core import CMutableTransaction, CTxInWitness, CTxWitness, Hash160
from bitcoin.core.script import SIGHASH_ALL, SIGVERSION_WITNESS_V0, CScript, CScriptWitness, SignatureHash

from harness.chain.address import encode_segwit


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
