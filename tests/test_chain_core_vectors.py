"""Bitcoin Core's tx_valid.json / tx_invalid.json driven through the embedded chain's mempool acceptance.

What runs: every case goes through `harness.chain.acceptance.evaluate`, the very function `sendrawtransaction`
and `testmempoolaccept` use, with
- a coin view of the vector's prevouts (txid, index, scriptPubKey parsed from Core's test syntax, amount),
- a next-block context (height, median-time-past, MTP of each coin's block) chosen so the transaction's
  nLockTime (BIP 113) and BIP 68 sequence locks are satisfied, so only the vector's subject decides,
- script verification by libbitcoinkernel with the vector's flags mapped onto the kernel's flags,
- standardness and the min relay fee switched off (Core's vectors are mostly non-standard on purpose), and
  inputs that carry no amount in their signature hash (non-witness spends) credited with the value the
  outputs need, so the CheckTxInputs amount rule does not mask the script verdict.
Verdicts compared with Core: tx_valid cases must be accepted; tx_invalid "BADTX" cases must be rejected with a
CheckTransaction reason; the other tx_invalid cases must be rejected by script verification.

Prevouts cannot be created for real: the vectors reference fixed txids and carry signatures over them, so a
funded copy would change every signature hash. Contextual mempool rules (finality, BIP 68, maturity, fees,
standardness) are not what these vectors judge; test_chain_locktime_boundary_* below checks the finality and
BIP 68 code at the boundaries these vectors' locktimes define, and tests/test_chain_mempool.py checks them on
a real chain.

Cases that cannot run (reported as skips with the reason): tx_invalid cases whose failure needs a script flag
libbitcoinkernel does not expose (it exposes only the consensus flags P2SH, DERSIG, NULLDUMMY,
CHECKLOCKTIMEVERIFY, CHECKSEQUENCEVERIFY, WITNESS, TAPROOT): 12 need CONST_SCRIPTCODE (tx_invalid entries
181-184, 186, 188, 190, 192, 194, 195, 197, 199, numbered by position in the file) and 2 need
DISCOURAGE_UPGRADABLE_WITNESS_PROGRAM (entries 131, 157); both are policy-only flags in Bitcoin Core.
All 121 tx_valid cases and the other 79 tx_invalid cases run.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

import pytest
from bitcoin.core import CTransaction, b2lx
from bitcoin.core.script import OPCODES_BY_NAME, CScript

from harness.chain.acceptance import AcceptanceRules, evaluate
from harness.chain.backend import OutPoint
from harness.chain.kernel import CONSENSUS_SCRIPT_FLAGS, FLAG_BY_NAME
from harness.chain.mempool import Mempool
from harness.chain.policy import (
    LOCKTIME_THRESHOLD,
    SEQUENCE_FINAL,
    SEQUENCE_LOCKTIME_DISABLE_FLAG,
    SEQUENCE_LOCKTIME_GRANULARITY,
    SEQUENCE_LOCKTIME_MASK,
    SEQUENCE_LOCKTIME_TYPE_FLAG,
    Coin,
    NextBlock,
    PolicyViolation,
    check_transaction,
)
from harness.paths import vectors_dir

CHECK_TRANSACTION_REASONS = (
    "bad-txns-vin-empty",
    "bad-txns-vout-empty",
    "bad-txns-oversize",
    "bad-txns-vout-negative",
    "bad-txns-vout-toolarge",
    "bad-txns-txouttotal-toolarge",
    "bad-txns-inputs-duplicate",
    "bad-cb-length",
    "bad-txns-prevout-null",
    "bad-txns-kernel-checkblock",
)
COIN_HEIGHT = 1
BASE_MEDIAN_TIME = 1_600_000_000


@dataclass(frozen=True)
class Prevout:
    txid: str
    vout: int
    script_pubkey: bytes
    amount_sat: int


@dataclass(frozen=True)
class CoreCase:
    file: str
    index: int
    prevouts: tuple[Prevout, ...]
    raw: bytes
    flags: frozenset[str]
    comment: str

    @property
    def id(self) -> str:
        return f"{self.file}-{self.index}"


def parse_core_script(text: str) -> bytes:
    """Bitcoin Core's test-script syntax (core_read.cpp ParseScript)."""
    out = b""
    for word in text.split():
        if re.fullmatch(r"-?\d+", word):
            out += bytes(CScript([int(word)]))
        elif word.startswith("0x") and len(word) > 2:
            out += bytes.fromhex(word[2:])
        elif len(word) >= 2 and word[0] == word[-1] == "'":
            out += bytes(CScript([word[1:-1].encode()]))
        else:
            name = word if word.startswith("OP_") else "OP_" + word
            out += bytes([int(OPCODES_BY_NAME[name])])
    return out


def load_cases(file: str) -> list[CoreCase]:
    data = json.loads((vectors_dir() / "bitcoin-core" / f"{file}.json").read_text())
    cases = []
    comment: list[str] = []
    for index, item in enumerate(data):
        if not isinstance(item[0], list):
            comment.append(" ".join(str(part) for part in item))
            continue
        prevouts = tuple(
            Prevout(
                p[0], p[1] if p[1] >= 0 else 0xFFFFFFFF, parse_core_script(p[2]), p[3] if len(p) > 3 else 0
            )
            for p in item[0]
        )
        flags = frozenset(f for f in item[2].split(",") if f and f != "NONE")
        cases.append(CoreCase(file, index, prevouts, bytes.fromhex(item[1]), flags, " ".join(comment)[:200]))
        comment = []
    return cases


def kernel_flags(names: frozenset[str]) -> int:
    return sum(FLAG_BY_NAME[name] for name in names if name in FLAG_BY_NAME)


def satisfying_context(tx: CTransaction) -> NextBlock:
    """A next block at which tx's nLockTime and BIP 68 locks are met (coins confirmed at COIN_HEIGHT)."""
    height = COIN_HEIGHT + 1
    median_time = BASE_MEDIAN_TIME + 1
    if tx.nLockTime and not all(i.nSequence == SEQUENCE_FINAL for i in tx.vin):
        if tx.nLockTime < LOCKTIME_THRESHOLD:
            height = max(height, tx.nLockTime + 1)
        else:
            median_time = max(median_time, tx.nLockTime + 1)
    if tx.nVersion >= 2:
        for txin in tx.vin:
            if txin.nSequence & SEQUENCE_LOCKTIME_DISABLE_FLAG:
                continue
            value = txin.nSequence & SEQUENCE_LOCKTIME_MASK
            # BIP 68: locked while coin height + n - 1 >= block height (MTP: coin MTP + n*512 - 1 >= MTP).
            if txin.nSequence & SEQUENCE_LOCKTIME_TYPE_FLAG:
                relative_s = value << SEQUENCE_LOCKTIME_GRANULARITY
                median_time = max(median_time, BASE_MEDIAN_TIME + relative_s)
            else:
                height = max(height, COIN_HEIGHT + value)
    return NextBlock(height, median_time, lambda _height: BASE_MEDIAN_TIME)


def witness_is_empty(tx: CTransaction, index: int) -> bool:
    # An input without witness data is a legacy spend: its signature hash does not commit to the amount.
    return not tx.has_witness() or not tx.wit.vtxinwit[index].scriptWitness.stack


def coin_view(case: CoreCase, tx: CTransaction) -> dict[OutPoint, Coin]:
    values = [p.amount_sat for p in case.prevouts]
    deficit = sum(o.nValue for o in tx.vout if o.nValue > 0) - sum(values)
    if deficit > 0:
        for i, txin in enumerate(tx.vin):
            prevout = OutPoint(b2lx(txin.prevout.hash), txin.prevout.n)
            position = next(
                (k for k, p in enumerate(case.prevouts) if OutPoint(p.txid, p.vout) == prevout), None
            )
            if position is not None and witness_is_empty(tx, i):
                values[position] += deficit
                break
    return {
        OutPoint(p.txid, p.vout): Coin(value, p.script_pubkey, COIN_HEIGHT, False)
        for p, value in zip(case.prevouts, values, strict=True)
    }


def mempool_verdict(case: CoreCase, flags: int, context: NextBlock | None = None) -> str:
    """'accepted' or the reject reason, from the mempool's own acceptance function."""
    tx = CTransaction.deserialize(case.raw)
    coins = coin_view(case, tx)
    rules = AcceptanceRules(min_relay_fee_sat_per_kvb=0, script_flags=flags, require_standard=False)
    try:
        evaluate(
            case.raw,
            tx,
            coins.get,
            lambda _outpoint: False,
            context or satisfying_context(tx),
            Mempool(),
            rules,
            0,
        )
    except PolicyViolation as exc:
        return exc.reason
    return "accepted"


def expected_valid_verdict(case: CoreCase) -> str:
    """'accepted', except for the coinbase cases: valid for CheckTransaction, refused by any mempool."""
    tx = CTransaction.deserialize(case.raw)
    if tx.is_coinbase():
        check_transaction(tx, case.raw)  # the vector's subject: must not raise
        return "coinbase"  # Bitcoin Core's AcceptToMemoryPool reason
    return "accepted"


VALID = load_cases("tx_valid")
INVALID = load_cases("tx_invalid")


def test_every_vector_file_case_is_loaded() -> None:
    # tx_valid.json and tx_invalid.json as vendored hold 121 and 93 cases.
    assert (len(VALID), len(INVALID)) == (121, 93)


@pytest.mark.parametrize("case", VALID, ids=[c.id for c in VALID])
def test_core_valid_transaction_is_accepted(case: CoreCase) -> None:
    # tx_valid flags are the excluded ones: verify with every kernel flag not excluded.
    flags = CONSENSUS_SCRIPT_FLAGS & ~kernel_flags(case.flags)
    assert mempool_verdict(case, flags) == expected_valid_verdict(case), case.comment


@pytest.mark.parametrize("case", VALID, ids=[c.id for c in VALID])
def test_core_valid_transaction_is_accepted_with_fewer_flags(case: CoreCase) -> None:
    # Core's rule for tx_valid: removing script flags never invalidates a valid transaction.
    assert mempool_verdict(case, 0) == expected_valid_verdict(case), case.comment


def _invalid_case_param(case: CoreCase) -> object:
    missing = sorted(case.flags - set(FLAG_BY_NAME) - {"BADTX"})
    if missing:
        reason = f"fails only under {','.join(missing)}, a policy flag libbitcoinkernel does not expose"
        return pytest.param(case, id=case.id, marks=pytest.mark.skip(reason=reason))
    return pytest.param(case, id=case.id)


@pytest.mark.parametrize("case", [_invalid_case_param(c) for c in INVALID])
def test_core_invalid_transaction_is_rejected(case: CoreCase) -> None:
    if "BADTX" in case.flags:
        verdict = mempool_verdict(case, CONSENSUS_SCRIPT_FLAGS)
        assert verdict.startswith(CHECK_TRANSACTION_REASONS), f"{verdict}: {case.comment}"
        return
    verdict = mempool_verdict(case, kernel_flags(case.flags))
    assert verdict.startswith("mandatory-script-verify-flag-failed"), f"{verdict}: {case.comment}"


@pytest.mark.parametrize("case", [_invalid_case_param(c) for c in INVALID if "BADTX" not in c.flags])
def test_core_invalid_transaction_stays_rejected_with_all_flags(case: CoreCase) -> None:
    # Core's rule for tx_invalid: adding script flags never makes an invalid transaction valid.
    verdict = mempool_verdict(case, CONSENSUS_SCRIPT_FLAGS)
    assert verdict.startswith("mandatory-script-verify-flag-failed"), f"{verdict}: {case.comment}"


def _height_locked(cases: list[CoreCase]) -> list[CoreCase]:
    found = []
    for case in cases:
        tx = CTransaction.deserialize(case.raw)
        if 0 < tx.nLockTime < LOCKTIME_THRESHOLD and any(i.nSequence != SEQUENCE_FINAL for i in tx.vin):
            found.append(case)
    return found


def _relative_locked(cases: list[CoreCase], time_based: bool) -> list[CoreCase]:
    found = []
    for case in cases:
        tx = CTransaction.deserialize(case.raw)
        locks = [
            i.nSequence & SEQUENCE_LOCKTIME_MASK
            for i in tx.vin
            if not i.nSequence & SEQUENCE_LOCKTIME_DISABLE_FLAG
            and bool(i.nSequence & SEQUENCE_LOCKTIME_TYPE_FLAG) == time_based
        ]
        if tx.nVersion >= 2 and any(locks):
            found.append(case)
    return found


HEIGHT_LOCKED = _height_locked(VALID)
RELATIVE_HEIGHT_LOCKED = _relative_locked(VALID, time_based=False)
RELATIVE_TIME_LOCKED = _relative_locked(VALID, time_based=True)


@pytest.mark.parametrize("case", HEIGHT_LOCKED, ids=[c.id for c in HEIGHT_LOCKED])
def test_chain_locktime_boundary_is_non_final_at_the_locktime_height(case: CoreCase) -> None:
    # IsFinalTx: nLockTime must be strictly below the height of the block that includes the tx.
    tx = CTransaction.deserialize(case.raw)
    context = satisfying_context(tx)
    early = NextBlock(tx.nLockTime, context.tip_median_time_past, context.median_time_past_at)
    assert mempool_verdict(case, CONSENSUS_SCRIPT_FLAGS & ~kernel_flags(case.flags), early) == "non-final"


@pytest.mark.parametrize("case", RELATIVE_HEIGHT_LOCKED, ids=[c.id for c in RELATIVE_HEIGHT_LOCKED])
def test_chain_locktime_boundary_is_bip68_locked_one_block_early(case: CoreCase) -> None:
    # BIP 68: an input locked for n blocks needs coin height + n <= the including block's height.
    tx = CTransaction.deserialize(case.raw)
    context = satisfying_context(tx)
    early = NextBlock(context.height - 1, context.tip_median_time_past, context.median_time_past_at)
    verdict = mempool_verdict(case, CONSENSUS_SCRIPT_FLAGS & ~kernel_flags(case.flags), early)
    assert verdict in ("non-BIP68-final", "non-final")


@pytest.mark.parametrize("case", RELATIVE_TIME_LOCKED, ids=[c.id for c in RELATIVE_TIME_LOCKED])
def test_chain_locktime_boundary_is_bip68_locked_one_second_early(case: CoreCase) -> None:
    # BIP 68 + 113: a time-locked input needs MTP(coin's parent) + n * 512 <= MTP of the tip.
    tx = CTransaction.deserialize(case.raw)
    context = satisfying_context(tx)
    early = NextBlock(context.height, context.tip_median_time_past - 1, context.median_time_past_at)
    verdict = mempool_verdict(case, CONSENSUS_SCRIPT_FLAGS & ~kernel_flags(case.flags), early)
    assert verdict in ("non-BIP68-final", "non-final")


@pytest.mark.parametrize("file", ["tx_valid", "tx_invalid", "sighash"])
def test_vector_file_is_the_vendored_bitcoin_core_blob(file: str) -> None:
    # SOURCE.md names each file's git blob id; recompute it from the bytes on disk.
    data = (vectors_dir() / "bitcoin-core" / f"{file}.json").read_bytes()
    blob_id = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
    source = (vectors_dir() / "bitcoin-core" / "SOURCE.md").read_text()
    assert re.search(rf"{file}\.json \(git blob {blob_id}\)", source.replace("\n  ", " "))
