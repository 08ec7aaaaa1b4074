"""Mempool acceptance checks that the kernel only applies inside blocks, or not at all (policy).

Each check raises `PolicyViolation` with Bitcoin Core's reject reason. Sources in Bitcoin Core:
consensus/tx_check.cpp (CheckTransaction), consensus/tx_verify.cpp (IsFinalTx, CalculateSequenceLocks,
CheckTxInputs), policy/policy.cpp (IsStandardTx, GetDustThreshold), validation.cpp (PreChecks).
Script checks go to the kernel (see kernel.py); this module only decides what to ask it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bitcoin.core import CTransaction
from bitcoin.core.script import CScript, CScriptInvalidError

from harness.chain.address import witness_program
from harness.chain.blocks import MAX_BLOCK_WEIGHT
from harness.chain.errors import RPC_VERIFY_REJECTED
from harness.chain.kernel import context_free_block_check

COIN = 100_000_000
MAX_MONEY_SAT = 21_000_000 * COIN
LOCKTIME_THRESHOLD = 500_000_000  # below: a height; at or above: a UNIX time (consensus)
SEQUENCE_FINAL = 0xFFFFFFFF
# BIP 68 relative lock-time encoding in nSequence
SEQUENCE_LOCKTIME_DISABLE_FLAG = 1 << 31
SEQUENCE_LOCKTIME_TYPE_FLAG = 1 << 22
SEQUENCE_LOCKTIME_MASK = 0x0000FFFF
SEQUENCE_LOCKTIME_GRANULARITY = 9  # time locks count units of 512 seconds
COINBASE_MATURITY = 100
# policy.h defaults
TX_MAX_STANDARD_VERSION = 3
MAX_STANDARD_TX_WEIGHT = 400_000
MIN_STANDARD_TX_NONWITNESS_SIZE = 65
MAX_STANDARD_SCRIPTSIG_SIZE = 1650
MAX_OP_RETURN_RELAY = 83
DUST_RELAY_TX_FEE_SAT_PER_KVB = 3000
DEFAULT_MIN_RELAY_TX_FEE_SAT_PER_KVB = 1000
WITNESS_SCALE_FACTOR = 4

OP_RETURN = 0x6A
OP_CHECKSIG = 0xAC
OP_CHECKMULTISIG = 0xAE
OP_1 = 0x51
OP_16 = 0x60


class PolicyViolation(Exception):
    """A transaction fails a mempool check; `reason` is Bitcoin Core's reject reason."""

    def __init__(self, reason: str, rpc_code: int = RPC_VERIFY_REJECTED) -> None:
        super().__init__(reason)
        self.reason = reason
        self.rpc_code = rpc_code


@dataclass(frozen=True)
class Coin:
    """An output a transaction spends; `height` is the next block's height for a mempool parent."""

    value_sat: int
    script_pubkey: bytes
    height: int
    is_coinbase: bool


@dataclass(frozen=True)
class NextBlock:
    """Where a mempool transaction would be mined: the next block's height and its parent's chain times."""

    height: int
    tip_median_time_past: int
    median_time_past_at: Callable[[int], int]


def vsize(tx: CTransaction) -> int:
    weight: int = tx.calc_weight()
    return (weight + WITNESS_SCALE_FACTOR - 1) // WITNESS_SCALE_FACTOR


def check_transaction(tx: CTransaction, raw: bytes) -> None:
    """CheckTransaction (consensus, context free), then the kernel's CheckBlock over it as a cross-check."""
    if not tx.vin:
        raise PolicyViolation("bad-txns-vin-empty")
    if not tx.vout:
        raise PolicyViolation("bad-txns-vout-empty")
    if len(tx.serialize({"include_witness": False})) * WITNESS_SCALE_FACTOR > MAX_BLOCK_WEIGHT:
        raise PolicyViolation("bad-txns-oversize")
    total_sat = 0
    for out in tx.vout:
        if out.nValue < 0:
            raise PolicyViolation("bad-txns-vout-negative")
        if out.nValue > MAX_MONEY_SAT:
            raise PolicyViolation("bad-txns-vout-toolarge")
        total_sat += out.nValue
        if total_sat > MAX_MONEY_SAT:
            raise PolicyViolation("bad-txns-txouttotal-toolarge")
    prevouts = [(txin.prevout.hash, txin.prevout.n) for txin in tx.vin]
    if len(set(prevouts)) != len(prevouts):
        raise PolicyViolation("bad-txns-inputs-duplicate")
    if tx.is_coinbase():
        if not 2 <= len(tx.vin[0].scriptSig) <= 100:
            raise PolicyViolation("bad-cb-length")
    elif any(txin.prevout.is_null() for txin in tx.vin):
        raise PolicyViolation("bad-txns-prevout-null")
    if not tx.is_coinbase() and not context_free_block_check(_wrap_in_block(raw)):
        raise PolicyViolation("bad-txns-kernel-checkblock")


# A minimal coinbase (height push + padding, one OP_TRUE output) for wrapping a tx in a block for CheckBlock.
_DUMMY_COINBASE = bytes.fromhex(
    "0100000001" + "00" * 32 + "ffffffff03510100ffffffff01" + "00" * 8 + "015100000000"
)


def _wrap_in_block(raw_tx: bytes) -> bytes:
    return bytes(80) + b"\x02" + _DUMMY_COINBASE + raw_tx


def is_final(tx: CTransaction, block_height: int, block_time: int) -> bool:
    """IsFinalTx: nLockTime is satisfied at (height, time) or every input opts out with a final sequence."""
    if tx.nLockTime == 0:
        return True
    cutoff = block_height if tx.nLockTime < LOCKTIME_THRESHOLD else block_time
    if tx.nLockTime < cutoff:
        return True
    return all(txin.nSequence == SEQUENCE_FINAL for txin in tx.vin)


def check_final(tx: CTransaction, next_block: NextBlock) -> None:
    # BIP 113: time locks compare against the median time past of the block before.
    if not is_final(tx, next_block.height, next_block.tip_median_time_past):
        raise PolicyViolation("non-final")


def check_sequence_locks(tx: CTransaction, coins: list[Coin], next_block: NextBlock) -> None:
    """BIP 68 relative lock-times (CalculateSequenceLocks + EvaluateSequenceLocks) for the next block."""
    if tx.nVersion < 2:
        return
    min_height = -1
    min_time = -1
    for txin, coin in zip(tx.vin, coins, strict=True):
        sequence = txin.nSequence
        if sequence & SEQUENCE_LOCKTIME_DISABLE_FLAG:
            continue
        value = sequence & SEQUENCE_LOCKTIME_MASK
        if sequence & SEQUENCE_LOCKTIME_TYPE_FLAG:
            coin_time = next_block.median_time_past_at(max(coin.height - 1, 0))
            min_time = max(min_time, coin_time + (value << SEQUENCE_LOCKTIME_GRANULARITY) - 1)
        else:
            min_height = max(min_height, coin.height + value - 1)
    if min_height >= next_block.height or min_time >= next_block.tip_median_time_past:
        raise PolicyViolation("non-BIP68-final")


def check_inputs(tx: CTransaction, coins: list[Coin], spend_height: int) -> int:
    """CheckTxInputs: coinbase maturity and amounts; returns the fee in satoshis."""
    value_in_sat = 0
    for coin in coins:
        if coin.is_coinbase and spend_height - coin.height < COINBASE_MATURITY:
            raise PolicyViolation("bad-txns-premature-spend-of-coinbase")
        value_in_sat += coin.value_sat
        if not 0 <= coin.value_sat <= MAX_MONEY_SAT or value_in_sat > MAX_MONEY_SAT:
            raise PolicyViolation("bad-txns-inputvalues-outofrange")
    value_out_sat = sum(out.nValue for out in tx.vout)
    if value_in_sat < value_out_sat:
        raise PolicyViolation(
            f"bad-txns-in-belowout, value in ({value_in_sat}) < value out ({value_out_sat})"
        )
    return value_in_sat - value_out_sat


def check_min_relay_fee(fee_sat: int, tx_vsize: int, min_relay_sat_per_kvb: int) -> None:
    required_sat = min_relay_sat_per_kvb * tx_vsize // 1000
    if fee_sat < required_sat:
        raise PolicyViolation(f"min relay fee not met, {fee_sat} < {required_sat}")


def check_standard(tx: CTransaction) -> None:
    """IsStandardTx with Core's default settings (one OP_RETURN of up to 83 bytes, bare multisig ok)."""
    if not 1 <= tx.nVersion <= TX_MAX_STANDARD_VERSION:
        raise PolicyViolation("version")
    if tx.calc_weight() > MAX_STANDARD_TX_WEIGHT:
        raise PolicyViolation("tx-size")
    for txin in tx.vin:
        if len(txin.scriptSig) > MAX_STANDARD_SCRIPTSIG_SIZE:
            raise PolicyViolation("scriptsig-size")
        if not _is_push_only(bytes(txin.scriptSig)):
            raise PolicyViolation("scriptsig-not-pushonly")
    data_outputs = 0
    for out in tx.vout:
        script = bytes(out.scriptPubKey)
        kind = script_type(script)
        if kind == "nonstandard":
            raise PolicyViolation("scriptpubkey")
        if kind == "nulldata":
            data_outputs += 1
        elif out.nValue < dust_threshold_sat(script):
            raise PolicyViolation("dust")
    if data_outputs > 1:
        raise PolicyViolation("multi-op-return")
    if len(tx.serialize({"include_witness": False})) < MIN_STANDARD_TX_NONWITNESS_SIZE:
        raise PolicyViolation("tx-size-small")


def dust_threshold_sat(script_pubkey: bytes) -> int:
    """GetDustThreshold at the default dust relay fee (3000 sat/kvB)."""
    if script_pubkey[:1] == bytes([OP_RETURN]) or len(script_pubkey) > 10_000:
        return 0
    txout_size = 8 + _compact_size_len(len(script_pubkey)) + len(script_pubkey)
    if witness_program(script_pubkey) is not None:
        spend_size = 32 + 4 + 1 + (107 // WITNESS_SCALE_FACTOR) + 4
    else:
        spend_size = 32 + 4 + 1 + 107 + 4
    return (txout_size + spend_size) * DUST_RELAY_TX_FEE_SAT_PER_KVB // 1000


def script_type(script_pubkey: bytes) -> str:
    """Bitcoin Core's Solver() type name for a scriptPubKey (as `getrawtransaction` reports it)."""
    s = script_pubkey
    if len(s) == 25 and s[:3] == b"\x76\xa9\x14" and s[23:] == b"\x88\xac":
        return "pubkeyhash"
    if len(s) == 23 and s[:2] == b"\xa9\x14" and s[22] == 0x87:
        return "scripthash"
    program = witness_program(s)
    if program is not None:
        version, data = program
        if version == 0 and len(data) == 20:
            return "witness_v0_keyhash"
        if version == 0 and len(data) == 32:
            return "witness_v0_scripthash"
        if version == 1 and len(data) == 32:
            return "witness_v1_taproot"
        if version == 1 and data == b"\x4e\x73":
            return "anchor"
        if version != 0:
            return "witness_unknown"
        return "nonstandard"
    if ((len(s) == 35 and s[0] == 33) or (len(s) == 67 and s[0] == 65)) and s[-1] == OP_CHECKSIG:
        return "pubkey"
    if s[:1] == bytes([OP_RETURN]):
        return "nulldata" if len(s) <= MAX_OP_RETURN_RELAY and _is_push_only(s[1:]) else "nonstandard"
    if _is_standard_multisig(s):
        return "multisig"
    return "nonstandard"


def _is_standard_multisig(s: bytes) -> bool:
    if len(s) < 3 or s[-1] != OP_CHECKMULTISIG:
        return False
    if not (OP_1 <= s[0] <= OP_16 and OP_1 <= s[-2] <= OP_16):
        return False
    required, total = s[0] - OP_1 + 1, s[-2] - OP_1 + 1
    keys = 0
    position = 1
    while position < len(s) - 2:
        size = s[position]
        if size not in (33, 65):
            return False
        position += 1 + size
        keys += 1
    return position == len(s) - 2 and keys == total and 1 <= required <= total <= 3


def _is_push_only(script: bytes) -> bool:
    try:
        for op, _data, _index in CScript(script).raw_iter():
            if op > OP_16:
                return False
    except CScriptInvalidError:
        return False
    return True


def _compact_size_len(n: int) -> int:
    if n < 0xFD:
        return 1
    if n <= 0xFFFF:
        return 3
    return 5 if n <= 0xFFFFFFFF else 9
