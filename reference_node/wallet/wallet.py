"""The node's on-chain wallet: BIP84-style P2WPKH keys from the node's wallet seed, UTXOs learnt from the
blocks the node scans, coin selection (largest first), funding and sweep transactions with change.

Keys: m/84'/1'/0'/0/i (BIP84 with regtest/testnet coin type 1). Every issued key is stored with its
scriptPubKey, and a lookahead of `GAP_LIMIT` keys is always watched so funds sent to a not yet recorded
address after a crash are still found.
"""

from __future__ import annotations

from dataclasses import dataclass

from reference_node.bitcoin.address import (
    Network,
    address_to_script,
    p2pkh_script,
    p2wpkh_script,
    script_to_address,
)
from reference_node.bitcoin.ecdsa import sign_digest
from reference_node.bitcoin.sighash import SighashType, bip143_sighash
from reference_node.bitcoin.tx import OutPoint, Tx, TxIn, TxOut
from reference_node.store import Store, UtxoRow
from reference_node.wallet.bip32 import ExtendedPrivateKey

GAP_LIMIT = 20
ACCOUNT_PATH = "m/84'/1'/0'/0"
# Sequence 0xFFFFFFFD: final for locktime purposes, signals BIP125 replaceability.
WALLET_SEQUENCE = 0xFFFF_FFFD
# Weights (BIP141 weight units) for fee estimation; a DER signature is at most 72 bytes with its sighash byte.
TX_OVERHEAD_WU = 4 * (4 + 1 + 1 + 4) + 2  # version, input/output counts, locktime; segwit marker+flag
P2WPKH_INPUT_WU = 4 * (36 + 1 + 4) + (1 + 1 + 72 + 1 + 33)
MIN_CHANGE_SAT = 546  # below this, change goes to the fee (P2WPKH dust is 294; keep a margin)


class WalletError(Exception):
    """A wallet operation cannot be done (bad address, no funds)."""


class InsufficientFunds(WalletError):
    def __init__(self, needed_sat: int, available_sat: int) -> None:
        super().__init__(f"need {needed_sat} sat, only {available_sat} sat available")
        self.needed_sat = needed_sat
        self.available_sat = available_sat


@dataclass(frozen=True)
class BuiltTx:
    tx: Tx
    fee_sat: int
    inputs: tuple[UtxoRow, ...]
    change_vout: int | None


def output_weight(script_pubkey: bytes) -> int:
    return 4 * (8 + 1 + len(script_pubkey))


class Wallet:
    def __init__(self, seed: bytes, store: Store, network: Network) -> None:
        self._account = ExtendedPrivateKey.from_seed(seed).derive(ACCOUNT_PATH)
        self._store = store
        self.network = network
        self._secrets: dict[int, bytes] = {}
        self._scripts: dict[bytes, int] = store.wallet_scripts()
        issued = max(self._scripts.values(), default=-1)
        for index in range(issued + 1 + GAP_LIMIT):
            self._scripts.setdefault(self._script(index), index)
        self._next_index = int(store.get_meta("wallet/next_index") or 0)

    # -- keys --------------------------------------------------------------------------------------------

    def _secret(self, index: int) -> bytes:
        if index not in self._secrets:
            self._secrets[index] = self._account.child(index).secret
        return self._secrets[index]

    def _pubkey(self, index: int) -> bytes:
        return self._account.child(index).public_key

    def _script(self, index: int) -> bytes:
        return p2wpkh_script(self._pubkey(index))

    def new_script(self) -> bytes:
        """A fresh P2WPKH scriptPubKey (persisted before it is handed out)."""
        index = self._next_index
        self._next_index += 1
        script = self._script(index)
        self._store.add_wallet_key(index, script)
        self._store.set_meta("wallet/next_index", str(self._next_index))
        self._scripts[script] = index
        lookahead = index + GAP_LIMIT
        self._scripts.setdefault(self._script(lookahead), lookahead)
        return script

    def new_address(self) -> str:
        return script_to_address(self.new_script(), self.network)

    def is_mine(self, script_pubkey: bytes) -> bool:
        return script_pubkey in self._scripts

    def script_for(self, address: str) -> bytes:
        try:
            return address_to_script(address, self.network)
        except ValueError as exc:
            raise WalletError(f"not a {self.network.name} segwit address: {address!r}: {exc}") from exc

    # -- chain -------------------------------------------------------------------------------------------

    def add_transaction(self, tx: Tx, height: int | None) -> bool:
        """Learn from a transaction (in a block, or our own broadcast when `height` is None): outputs paying
        us become UTXOs, inputs spending ours mark them spent. True if it touched the wallet."""
        touched = False
        txid = tx.txid()
        ours = {(u.txid, u.vout) for u in self._store.utxos(include_spent=False)}
        for txin in tx.inputs:
            key = (txin.prevout.txid, txin.prevout.index)
            if key in ours:
                self._store.spend_utxo(key[0], key[1], txid)
                touched = True
        for vout, out in enumerate(tx.outputs):
            index = self._scripts.get(out.script_pubkey)
            if index is None:
                continue
            self._store.add_utxo(
                UtxoRow(txid, vout, out.amount_sat, out.script_pubkey, index, height, None, False)
            )
            if index >= self._next_index:  # a lookahead key was used: issue up to it
                while self._next_index <= index:
                    self.new_script()
            touched = True
        return touched

    def utxos(self) -> list[UtxoRow]:
        return self._store.utxos()

    def balance_sat(self, confirmed_only: bool = False) -> int:
        return sum(u.value_sat for u in self.utxos() if u.height is not None or not confirmed_only)

    # -- spending ----------------------------------------------------------------------------------------

    def build(self, outputs: list[TxOut], feerate_per_kw: int, *, sweep: bool = False) -> BuiltTx:
        """Pay `outputs` (or, with `sweep`, everything to `outputs[0]`'s script) and reserve the inputs.
        Largest coins first; change above `MIN_CHANGE_SAT` goes to a fresh address."""
        available = [u for u in self.utxos() if not u.reserved]
        available.sort(key=lambda u: (u.height is None, -u.value_sat))
        total_available = sum(u.value_sat for u in available)
        if sweep:
            if len(outputs) != 1:
                raise WalletError("a sweep pays exactly one output")
            weight = (
                TX_OVERHEAD_WU + len(available) * P2WPKH_INPUT_WU + output_weight(outputs[0].script_pubkey)
            )
            fee_sat = feerate_per_kw * weight // 1000
            amount_sat = total_available - fee_sat
            if not available or amount_sat < MIN_CHANGE_SAT:
                raise InsufficientFunds(fee_sat + MIN_CHANGE_SAT, total_available)
            return self._finish(available, [TxOut(amount_sat, outputs[0].script_pubkey)], None, fee_sat)
        wanted_sat = sum(o.amount_sat for o in outputs)
        base_weight = TX_OVERHEAD_WU + sum(output_weight(o.script_pubkey) for o in outputs)
        chosen: list[UtxoRow] = []
        for utxo in available:
            chosen.append(utxo)
            fee_sat = feerate_per_kw * (base_weight + len(chosen) * P2WPKH_INPUT_WU) // 1000
            if sum(u.value_sat for u in chosen) >= wanted_sat + fee_sat:
                break
        else:
            fee_sat = feerate_per_kw * (base_weight + len(available) * P2WPKH_INPUT_WU) // 1000
            raise InsufficientFunds(wanted_sat + fee_sat, total_available)
        change_script = self.new_script()
        weight_with_change = base_weight + len(chosen) * P2WPKH_INPUT_WU + output_weight(change_script)
        fee_with_change_sat = feerate_per_kw * weight_with_change // 1000
        change_sat = sum(u.value_sat for u in chosen) - wanted_sat - fee_with_change_sat
        if change_sat >= MIN_CHANGE_SAT:
            return self._finish(
                chosen, [*outputs, TxOut(change_sat, change_script)], len(outputs), fee_with_change_sat
            )
        return self._finish(chosen, outputs, None, sum(u.value_sat for u in chosen) - wanted_sat)

    def _finish(
        self, inputs: list[UtxoRow], outputs: list[TxOut], change_vout: int | None, fee_sat: int
    ) -> BuiltTx:
        unsigned = Tx(
            2,
            tuple(TxIn(OutPoint(u.txid, u.vout), WALLET_SEQUENCE) for u in inputs),
            tuple(outputs),
            0,
        )
        tx = unsigned
        for i, utxo in enumerate(inputs):
            secret = self._secret(utxo.key_index)
            pubkey = self._pubkey(utxo.key_index)
            # BIP143: the scriptCode of a P2WPKH input is the P2PKH script of its key.
            digest = bip143_sighash(unsigned, i, p2pkh_script(pubkey), utxo.value_sat, SighashType.ALL)
            signature = sign_digest(secret, digest) + bytes([SighashType.ALL])
            tx = tx.with_witness(i, (signature, pubkey))
        self._store.reserve_utxos([(u.txid, u.vout) for u in inputs], True)
        return BuiltTx(tx, fee_sat, tuple(inputs), change_vout)

    def release(self, built: BuiltTx) -> None:
        """The transaction will never be broadcast (the channel open failed): free its inputs."""
        self._store.reserve_utxos([(u.txid, u.vout) for u in built.inputs], False)

    def reserve_fee_coin(self, min_sat: int) -> tuple[UtxoRow, bytes] | None:
        """A coin of at least `min_sat` (smallest such, confirmed first), reserved, with its private key:
        BOLT 5 zero-fee HTLC transactions and anchor CPFP spend it as an extra input, their change coming
        back to this wallet. None if no coin is big enough."""
        candidates = [u for u in self.utxos() if not u.reserved and u.value_sat >= min_sat]
        if not candidates:
            return None
        coin = min(candidates, key=lambda u: (u.height is None, u.value_sat))
        self._store.reserve_utxos([(coin.txid, coin.vout)], True)
        return coin, self._secret(coin.key_index)
