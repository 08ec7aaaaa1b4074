"""Verify a transaction input with Bitcoin Core's script interpreter (libbitcoinkernel through pbk).

Flags: P2SH|WITNESS|CHECKLOCKTIMEVERIFY|CHECKSEQUENCEVERIFY|DERSIG|NULLDUMMY. CLTV and CSV are checked
against the spending transaction's own locktime and sequence (script-level timelocks), not a chain.
"""

from __future__ import annotations

import pbk

from reference_node.bitcoin.tx import Tx

SPEND_FLAGS = (
    pbk.ScriptVerificationFlags.P2SH
    | pbk.ScriptVerificationFlags.WITNESS
    | pbk.ScriptVerificationFlags.CHECKLOCKTIMEVERIFY
    | pbk.ScriptVerificationFlags.CHECKSEQUENCEVERIFY
    | pbk.ScriptVerificationFlags.DERSIG
    | pbk.ScriptVerificationFlags.NULLDUMMY
)


def kernel_accepts(script_pubkey: bytes, amount_sat: int, spending_tx: Tx, input_index: int = 0) -> bool:
    """True if Core's interpreter accepts the input, False if it rejects it (any script error)."""
    try:
        return bool(
            pbk.ScriptPubkey(script_pubkey).verify(
                amount_sat, pbk.Transaction(spending_tx.serialize()), None, input_index, SPEND_FLAGS
            )
        )
    except pbk.ScriptVerifyException:
        return False
