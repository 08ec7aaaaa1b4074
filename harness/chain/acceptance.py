"""Mempool acceptance (Bitcoin Core's MemPoolAccept::PreChecks, ReplacementChecks, PolicyScriptChecks), pure.

`evaluate` takes the transaction, a view of spendable coins and the next block's context, and returns what
would change (the new entry, the entries it replaces) or raises PolicyViolation. It never mutates anything,
so `testmempoolaccept` and the Bitcoin Core vector tests run exactly the code `sendrawtransaction` runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pbk
from bitcoin.core import CTransaction, b2lx

from harness.chain.backend import OutPoint
from harness.chain.errors import RPC_VERIFY_ALREADY_IN_CHAIN, RPC_VERIFY_ERROR, TxDecodeError
from harness.chain.kernel import CONSENSUS_SCRIPT_FLAGS, ScriptCheckFailed, SpentOutput, verify_input_scripts
from harness.chain.mempool import Mempool, MempoolEntry, outpoints_spent
from harness.chain.policy import (
    Coin,
    NextBlock,
    PolicyViolation,
    check_final,
    check_inputs,
    check_min_relay_fee,
    check_sequence_locks,
    check_standard,
    check_transaction,
    vsize,
)

# BIP 125 rule 5 and Core's incremental relay fee default (policy.h)
MAX_REPLACEMENT_CANDIDATES = 100
DEFAULT_INCREMENTAL_RELAY_FEE_SAT_PER_KVB = 1000

CoinLookup = Callable[[OutPoint], Coin | None]


@dataclass(frozen=True)
class AcceptancePlan:
    entry: MempoolEntry
    replaced: tuple[MempoolEntry, ...]


@dataclass(frozen=True)
class TestAcceptResult:
    """testmempoolaccept's verdict on one transaction."""

    __test__ = False  # not a pytest test class

    txid: str
    wtxid: str
    allowed: bool
    reject_reason: str | None
    fee_sat: int | None
    vsize: int | None


@dataclass(frozen=True)
class AcceptanceRules:
    min_relay_fee_sat_per_kvb: int = 1000
    incremental_relay_fee_sat_per_kvb: int = DEFAULT_INCREMENTAL_RELAY_FEE_SAT_PER_KVB
    script_flags: int = CONSENSUS_SCRIPT_FLAGS
    require_standard: bool = True


def decode_tx(raw: bytes) -> CTransaction:
    """Parse with the kernel (Core's deserializer) and python-bitcoinlib; both must agree."""
    try:
        pbk.Transaction(raw)
    except (RuntimeError, ValueError) as exc:
        raise TxDecodeError(f"TX decode failed: {exc}") from exc
    try:
        tx = CTransaction.deserialize(raw)
    except Exception as exc:  # python-bitcoinlib raises assorted types on malformed input
        raise TxDecodeError(f"TX decode failed: {type(exc).__name__}: {exc}") from exc
    if tx.serialize() != raw:
        raise TxDecodeError("TX decode failed: does not re-serialize to the same bytes")
    return tx


def evaluate(
    raw: bytes,
    tx: CTransaction,
    coin_of: CoinLookup,
    is_confirmed_tx_output: Callable[[OutPoint], bool],
    next_block: NextBlock,
    mempool: Mempool,
    rules: AcceptanceRules,
    now: int,
) -> AcceptancePlan:
    txid = b2lx(tx.GetTxid())
    check_transaction(tx, raw)
    if tx.is_coinbase():
        raise PolicyViolation("coinbase")
    if rules.require_standard:
        check_standard(tx)
    check_final(tx, next_block)
    if txid in mempool:
        raise PolicyViolation("txn-already-in-mempool", RPC_VERIFY_ALREADY_IN_CHAIN)

    spends = outpoints_spent(tx)
    direct_conflicts = {s for o in spends if (s := mempool.spender_of(o)) is not None}
    coins: list[Coin] = []
    for outpoint in spends:
        coin = coin_of(outpoint)
        if coin is None:
            if any(is_confirmed_tx_output(OutPoint(txid, n)) for n in range(len(tx.vout))):
                raise PolicyViolation("txn-already-known", RPC_VERIFY_ALREADY_IN_CHAIN)
            raise PolicyViolation("bad-txns-inputs-missingorspent", RPC_VERIFY_ERROR)
        coins.append(coin)

    check_sequence_locks(tx, coins, next_block)
    fee_sat = check_inputs(tx, coins, next_block.height)
    size_vbytes = vsize(tx)
    check_min_relay_fee(fee_sat, size_vbytes, rules.min_relay_fee_sat_per_kvb)
    entry = MempoolEntry(
        txid=txid,
        wtxid=b2lx(tx.GetHash()),
        tx=tx,
        raw=raw,
        fee_sat=fee_sat,
        vsize=size_vbytes,
        weight=tx.calc_weight(),
        time=now,
        height=next_block.height - 1,
        spends=spends,
    )
    replaced = _replacement_checks(entry, direct_conflicts, mempool, rules) if direct_conflicts else ()

    spent = [SpentOutput(c.value_sat, c.script_pubkey) for c in coins]
    try:
        verify_input_scripts(raw, spent, rules.script_flags)
    except ScriptCheckFailed as exc:
        raise PolicyViolation(f"mandatory-script-verify-flag-failed ({exc})") from exc
    return AcceptancePlan(entry, replaced)


def _replacement_checks(
    entry: MempoolEntry, direct: set[str], mempool: Mempool, rules: AcceptanceRules
) -> tuple[MempoolEntry, ...]:
    """BIP 125 as Bitcoin Core applies it with full RBF (the default since 28.0): no opt-in signal needed."""
    all_conflicts: set[str] = set()
    for txid in direct:
        all_conflicts |= mempool.descendants(txid)
    if len(all_conflicts) > MAX_REPLACEMENT_CANDIDATES:
        raise PolicyViolation(f"too many potential replacements, rejecting replacement {entry.txid}")
    if any(o.txid in all_conflicts for o in entry.spends):
        raise PolicyViolation("bad-txns-spends-conflicting-tx")
    # Rule 2: no unconfirmed input that none of the replaced transactions already had.
    original_parents = {o.txid for t in direct for o in _entry(mempool, t).spends}
    for outpoint in entry.spends:
        if outpoint.txid in mempool and outpoint.txid not in original_parents:
            raise PolicyViolation(
                f"replacement-adds-unconfirmed, replacement {entry.txid} adds unconfirmed input"
            )
    for txid in direct:
        old = _entry(mempool, txid)
        if entry.fee_sat * old.vsize <= old.fee_sat * entry.vsize:
            raise PolicyViolation(
                f"insufficient fee, rejecting replacement {entry.txid}; new feerate "
                f"{entry.feerate_sat_per_kvb} <= old feerate {old.feerate_sat_per_kvb} (sat/kvB)"
            )
    replaced = tuple(_entry(mempool, t) for t in all_conflicts)
    replaced_fees_sat = sum(e.fee_sat for e in replaced)
    if entry.fee_sat < replaced_fees_sat:
        raise PolicyViolation(
            f"insufficient fee, rejecting replacement {entry.txid}, less fees than conflicting txs; "
            f"{entry.fee_sat} < {replaced_fees_sat}"
        )
    relay_sat = rules.incremental_relay_fee_sat_per_kvb * entry.vsize // 1000
    if entry.fee_sat - replaced_fees_sat < relay_sat:
        raise PolicyViolation(
            f"insufficient fee, rejecting replacement {entry.txid}, not enough additional fees to relay; "
            f"{entry.fee_sat - replaced_fees_sat} < {relay_sat}"
        )
    return replaced


def _entry(mempool: Mempool, txid: str) -> MempoolEntry:
    entry = mempool.get(txid)
    if entry is None:
        raise KeyError(f"mempool lost {txid} during a replacement check")
    return entry
