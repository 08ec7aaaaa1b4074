"""BOLT 3 "Legacy Closing Transaction" (closing_signed) and "Closing Transaction" (option_simple_close)."""

from __future__ import annotations

from dataclasses import dataclass

from reference_node.bitcoin.script import Op
from reference_node.bitcoin.tx import OutPoint, Tx, TxIn, TxOut
from reference_node.transactions.scripts import funding_script
from reference_node.transactions.types import TransactionBuildError

CLOSING_TX_VERSION = 2
LEGACY_CLOSING_SEQUENCE = 0xFFFFFFFF
SIMPLE_CLOSING_SEQUENCE = 0xFFFFFFFD


@dataclass(frozen=True)
class ClosingTx:
    """An unsigned closing transaction; sign with signing.sign_funding_spend, finish with funding_witness."""

    tx: Tx
    funding_witness_script: bytes
    funding_amount_sat: int


def _bip69(outputs: list[TxOut]) -> tuple[TxOut, ...]:
    return tuple(sorted(outputs, key=lambda o: (o.amount_sat, o.script_pubkey)))


def build_legacy_closing_tx(
    funding_outpoint: OutPoint,
    funding_amount_sat: int,
    local_funding_pubkey: bytes,
    remote_funding_pubkey: bytes,
    to_local_msat: int,
    to_remote_msat: int,
    local_scriptpubkey: bytes,
    remote_scriptpubkey: bytes,
    fee_sat: int,
    local_is_opener: bool,
    dust_limit_sat: int,
) -> ClosingTx:
    """Outputs rounded down to whole satoshis, `fee_satoshis` taken from the opener's output, and any
    output below the signer's own `dust_limit_satoshis` removed. Outputs in BIP69 order."""
    to_local_sat, to_remote_sat = to_local_msat // 1000, to_remote_msat // 1000
    if local_is_opener:
        to_local_sat -= fee_sat
    else:
        to_remote_sat -= fee_sat
    if (to_local_sat if local_is_opener else to_remote_sat) < 0:
        raise TransactionBuildError(f"closing fee {fee_sat} sat exceeds the opener's balance")
    outputs = [
        TxOut(amount, script)
        for amount, script in ((to_local_sat, local_scriptpubkey), (to_remote_sat, remote_scriptpubkey))
        if amount >= dust_limit_sat
    ]
    if not outputs:
        raise TransactionBuildError("every closing output is below the dust limit")
    tx = Tx(
        CLOSING_TX_VERSION,
        (TxIn(funding_outpoint, LEGACY_CLOSING_SEQUENCE),),
        _bip69(outputs),
        locktime=0,
    )
    return ClosingTx(tx, funding_script(local_funding_pubkey, remote_funding_pubkey), funding_amount_sat)


def build_simple_closing_tx(
    funding_outpoint: OutPoint,
    funding_amount_sat: int,
    local_funding_pubkey: bytes,
    remote_funding_pubkey: bytes,
    closer_amount_msat: int,
    closee_amount_msat: int,
    closer_scriptpubkey: bytes | None,
    closee_scriptpubkey: bytes | None,
    fee_sat: int,
    locktime: int,
) -> ClosingTx:
    """option_simple_close: the closer pays `fee_satoshis`; an output whose script starts with OP_RETURN has
    amount 0; a `None` script omits that side's output (the side with lesser funds may omit its own)."""
    closer_sat = closer_amount_msat // 1000 - fee_sat
    if closer_sat < 0:
        raise TransactionBuildError(f"closing fee {fee_sat} sat exceeds the closer's balance")
    outputs = []
    for amount, script in (
        (closer_sat, closer_scriptpubkey),
        (closee_amount_msat // 1000, closee_scriptpubkey),
    ):
        if script is None:
            continue
        outputs.append(TxOut(0 if script[:1] == bytes((Op.OP_RETURN,)) else amount, script))
    if not outputs:
        raise TransactionBuildError("a closing transaction needs at least one output")
    tx = Tx(CLOSING_TX_VERSION, (TxIn(funding_outpoint, SIMPLE_CLOSING_SEQUENCE),), _bip69(outputs), locktime)
    return ClosingTx(tx, funding_script(local_funding_pubkey, remote_funding_pubkey), funding_amount_sat)
